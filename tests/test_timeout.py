"""geventc.Timeout and with_timeout."""
import re
import time

import pytest

import geventc as gevent
from geventc import Timeout, with_timeout
from geventc.event import AsyncResult, Event

pytestmark = pytest.mark.filterwarnings('error')

ADDR = r'0x[0-9a-f]+'


class MyError(Exception):
    pass


class TestAsException:

    def test_is_base_exception_not_exception(self):
        assert issubclass(Timeout, BaseException)
        assert not issubclass(Timeout, Exception)

    def test_raise_and_catch(self):
        with pytest.raises(Timeout):
            raise Timeout
        try:
            raise Timeout(1)
        except Timeout as e:
            assert e.seconds == 1
            assert not e.pending  # never started

    def test_timeout_raises_itself(self):
        t = Timeout(0.02)
        t.start()
        try:
            gevent.sleep(5)
        except Timeout as e:
            assert e is t
        else:  # pragma: no cover
            pytest.fail('timeout did not fire')
        assert not t.pending

    def test_duration(self):
        start = time.monotonic()
        with pytest.raises(Timeout):
            with Timeout(0.05):
                gevent.sleep(5)
        elapsed = time.monotonic() - start
        assert 0.04 <= elapsed < 2, elapsed


class TestStrRepr:

    @pytest.mark.parametrize('args, text', [
        ((0.05,), '0.05 seconds'),
        ((1,), '1 second'),
        ((2,), '2 seconds'),
        ((None,), ''),
        ((), ''),
        ((0.05, False), '0.05 seconds (silent)'),
        ((1, False), '1 second (silent)'),
        ((0.05, 'custom message'), '0.05 seconds: custom message'),
        ((0.05, ValueError('boom')), '0.05 seconds: boom'),
    ])
    def test_str(self, args, text):
        t = Timeout(*args)
        try:
            assert str(t) == text
        finally:
            t.close()

    def test_str_with_exception_class(self):
        t = Timeout(0.05, ValueError)
        assert str(t) == "0.05 seconds: <class 'ValueError'>"
        t.close()

    def test_repr(self):
        t = Timeout(0.05)
        assert re.match(r'^<Timeout at %s seconds=0\.05>$' % ADDR, repr(t)), repr(t)
        t.start()
        assert re.match(r'^<Timeout at %s seconds=0\.05 pending>$' % ADDR, repr(t)), repr(t)
        t.cancel()
        t2 = Timeout(1, ValueError('x'))
        assert re.match(r"^<Timeout at %s seconds=1 exception=ValueError\('x'\)>$" % ADDR, repr(t2)), repr(t2)
        t2.close()

    def test_repr_subclass(self):
        class MyTimeout(Timeout):
            pass

        t = MyTimeout(3)
        assert re.match(r'^<MyTimeout at %s seconds=3>$' % ADDR, repr(t)), repr(t)
        t.close()

    def test_fired_timeout_message(self):
        try:
            with Timeout(0.01):
                gevent.sleep(5)
        except Timeout as e:
            assert str(e) == '0.01 seconds'


class TestLifecycle:

    def test_start_pending_cancel(self):
        t = Timeout(0.02)
        assert not t.pending
        t.start()
        assert t.pending
        t.cancel()
        assert not t.pending
        gevent.sleep(0.05)  # cancelled: nothing fires

    def test_start_twice_is_assertion_error(self):
        t = Timeout(1)
        t.start()
        try:
            with pytest.raises(AssertionError, match='is already started; to restart it, cancel it first'):
                t.start()
        finally:
            t.cancel()

    def test_restart_after_cancel(self):
        t = Timeout(0.02)
        t.start()
        t.cancel()
        t.start()
        assert t.pending
        with pytest.raises(Timeout):
            gevent.sleep(5)

    def test_close(self):
        t = Timeout(0.02)
        t.start()
        t.close()
        assert not t.pending
        gevent.sleep(0.05)

    def test_start_new(self):
        t = Timeout.start_new(0.02)
        assert isinstance(t, Timeout)
        assert t.pending
        with pytest.raises(Timeout) as exc:
            gevent.sleep(5)
        assert exc.value is t

    def test_start_new_with_exception(self):
        t = Timeout.start_new(0.01, MyError)
        with pytest.raises(MyError):
            gevent.sleep(5)
        assert not t.pending

    def test_start_new_passes_through_timeout_instance(self):
        t = Timeout(0.02)
        assert Timeout.start_new(t) is t
        assert t.pending
        t.cancel()

    def test_seconds_attribute(self):
        assert Timeout(0.5).seconds == 0.5
        assert Timeout().seconds is None

    def test_none_never_fires(self):
        t = Timeout(None)
        t.start()
        assert not t.pending
        gevent.sleep(0.02)
        with Timeout(None):
            gevent.sleep(0.02)

    def test_zero_and_negative_fire_immediately(self):
        for secs in (0, -1):
            t = Timeout(secs)
            t.start()
            with pytest.raises(Timeout) as exc:
                gevent.sleep(1)
            assert exc.value is t

    def test_comparison(self):
        assert Timeout(1) < Timeout(2)
        assert Timeout(1) < 2
        assert not (Timeout(3) < 2)


class TestContextManager:

    def test_returns_self_and_cancels_on_exit(self):
        with Timeout(0.05) as t:
            assert isinstance(t, Timeout) and t.pending
        assert not t.pending
        gevent.sleep(0.08)  # must not fire after the block

    def test_false_is_silent(self):
        start = time.monotonic()
        with Timeout(0.02, False):
            gevent.sleep(5)
        assert time.monotonic() - start < 2

    def test_silent_runs_code_after_block(self):
        reached = []
        with Timeout(0.01, False):
            gevent.sleep(5)
            reached.append('inside')  # pragma: no cover
        reached.append('after')
        assert reached == ['after']

    def test_custom_exception_class(self):
        with pytest.raises(MyError):
            with Timeout(0.01, MyError):
                gevent.sleep(5)

    def test_custom_exception_instance(self):
        err = MyError('inst')
        with pytest.raises(MyError) as exc:
            with Timeout(0.01, err):
                gevent.sleep(5)
        assert exc.value is err

    def test_string_exception_raises_timeout(self):
        with pytest.raises(Timeout) as exc:
            with Timeout(0.01, 'msg'):
                gevent.sleep(5)
        assert str(exc.value) == '0.01 seconds: msg'

    def test_other_exception_passes_through(self):
        with pytest.raises(KeyError):
            with Timeout(5):
                raise KeyError('k')


class TestNesting:

    def test_inner_fires_first(self):
        with Timeout(5) as outer:
            with pytest.raises(Timeout) as exc:
                with Timeout(0.02):
                    gevent.sleep(10)
            assert exc.value is not outer
            assert outer.pending

    def test_outer_fires_through_inner(self):
        with pytest.raises(Timeout) as exc:
            with Timeout(0.02) as outer:
                with Timeout(5) as inner:
                    gevent.sleep(10)
        assert exc.value is outer
        assert not inner.pending

    def test_catching_only_my_timeout(self):
        caught = []
        with pytest.raises(Timeout):
            with Timeout(0.02) as outer:
                t = Timeout(5)
                t.start()
                try:
                    gevent.sleep(10)
                except Timeout as e:
                    if e is not t:
                        caught.append('not mine')
                        raise
                finally:
                    t.cancel()
        assert caught == ['not mine']
        assert not outer.pending


class TestGreenletTargeting:

    def test_raised_only_in_starting_greenlet(self):
        events = []

        def with_timeout_g():
            try:
                with Timeout(0.02):
                    gevent.sleep(10)
            except Timeout:
                events.append('timed out')

        def bystander():
            gevent.sleep(0.1)
            events.append('bystander ok')

        a = gevent.spawn(with_timeout_g)
        b = gevent.spawn(bystander)
        gevent.sleep(0.05)  # main is not hit either
        gevent.joinall([a, b], timeout=5)
        assert events == ['timed out', 'bystander ok']
        assert a.successful() and b.successful()

    def test_timeout_started_in_main_hits_main_only(self):
        other = gevent.spawn(gevent.sleep, 0.1)
        with pytest.raises(Timeout):
            with Timeout(0.01):
                gevent.sleep(5)
        other.join()
        assert other.successful()


class TestAsTimeoutArgument:

    def test_join(self):
        g = gevent.spawn(gevent.sleep, 10)
        start = time.monotonic()
        g.join(timeout=0.02)
        assert time.monotonic() - start < 2
        assert not g.dead
        g.kill()

    def test_greenlet_get(self):
        g = gevent.spawn(gevent.sleep, 10)
        with pytest.raises(Timeout):
            g.get(timeout=0.02)
        g.kill()

    def test_event_wait(self):
        start = time.monotonic()
        assert Event().wait(timeout=0.02) is False
        assert time.monotonic() - start < 2

    def test_async_result_get(self):
        with pytest.raises(Timeout) as exc:
            AsyncResult().get(timeout=0.02)
        assert exc.value.seconds == 0.02
        assert str(exc.value) == '0.02 seconds'

    def test_with_timeout(self):
        assert with_timeout(1, lambda a, b=0: a + b, 1, b=2) == 3
        assert with_timeout(0.01, gevent.sleep, 10, timeout_value='tv') == 'tv'
        assert with_timeout(0.01, gevent.sleep, 10, timeout_value=None) is None
        with pytest.raises(Timeout) as exc:
            with_timeout(0.01, gevent.sleep, 10)
        assert str(exc.value) == '0.01 seconds'

    def test_with_timeout_does_not_swallow_other_timeouts(self):
        def inner():
            with Timeout(0.01):
                gevent.sleep(10)

        # The inner Timeout is not with_timeout's own: it propagates.
        with pytest.raises(Timeout):
            with_timeout(5, inner, timeout_value='tv')

    def test_bad_seconds_type(self):
        with pytest.raises(TypeError):
            Timeout('x')
        with pytest.raises(TypeError):
            with_timeout('x', lambda: 1)
