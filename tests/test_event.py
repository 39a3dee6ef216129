"""geventc.event.Event and AsyncResult."""
import sys
import threading
import time

import pytest

import geventc as gevent
from geventc import Timeout
from geventc.event import AsyncResult, Event
from geventc.hub import get_hub

pytestmark = pytest.mark.filterwarnings('error')


class TestEvent:

    def test_initial_state(self):
        e = Event()
        assert e.is_set() is False
        assert e.isSet() is False
        assert e.ready() is False

    def test_always_true_as_a_condition(self):
        # As gevent's and threading's: code such as CPython's
        # test.ssl_servers does ``if self.flag: self.flag.set()`` with a
        # clear Event, and must set it (it hung under patch_all).
        e = Event()
        assert bool(e) is True
        e.set()
        assert bool(e) is True

    def test_set_clear(self):
        e = Event()
        assert e.set() is None
        assert e.is_set() and e.isSet() and e.ready()
        e.clear()
        assert not e.is_set()

    def test_wait_returns_flag(self):
        e = Event()
        assert e.wait(0.01) is False
        assert e.wait(timeout=0) is False
        e.set()
        assert e.wait() is True
        assert e.wait(0) is True

    def test_wait_on_set_event_does_not_yield(self):
        e = Event()
        e.set()
        out = []
        g = gevent.spawn(out.append, 1)
        assert e.wait() is True
        assert out == []
        g.join()

    def test_wait_timeout_duration(self):
        start = time.monotonic()
        assert Event().wait(0.05) is False
        elapsed = time.monotonic() - start
        assert 0.04 <= elapsed < 2, elapsed

    def test_waiters_woken_fifo_after_set_returns(self):
        e = Event()
        order = []

        def waiter(i):
            order.append(('start', i))
            order.append(('woke', i, e.wait()))

        gs = [gevent.spawn(waiter, i) for i in range(5)]
        gevent.sleep(0)
        e.set()
        order.append('set returned')
        gevent.joinall(gs, timeout=5)
        assert order == ([('start', i) for i in range(5)] + ['set returned'] +
                         [('woke', i, True) for i in range(5)])

    def test_set_then_clear_still_wakes_current_waiters_with_true(self):
        e = Event()
        results = []
        gs = [gevent.spawn(lambda: results.append(e.wait())) for _ in range(3)]
        gevent.sleep(0)
        e.set()
        e.clear()
        gevent.joinall(gs, timeout=5)
        assert results == [True, True, True]
        assert not e.is_set()

    def test_wait_with_timeout_then_set(self):
        e = Event()
        g = gevent.spawn(e.wait, 5)
        gevent.spawn_later(0.02, e.set)
        assert g.get(timeout=5) is True

    def test_rawlink_called_in_hub_after_set(self):
        e = Event()
        calls = []
        e.rawlink(lambda ev: calls.append(('first', ev, gevent.getcurrent() is get_hub())))
        e.rawlink(lambda ev: calls.append(('second', ev)))
        e.set()
        assert calls == []  # asynchronous
        gevent.sleep(0)
        assert calls == [('first', e, True), ('second', e)]

    def test_rawlink_on_already_set_event(self):
        e = Event()
        e.set()
        calls = []
        e.rawlink(calls.append)
        gevent.sleep(0)
        assert calls == [e]

    def test_unlink(self):
        e = Event()
        calls = []
        e.rawlink(calls.append)
        e.unlink(calls.append)
        e.unlink(calls.append)  # unknown: ignored
        e.set()
        gevent.sleep(0.01)
        assert calls == []

    def test_rawlink_requires_callable(self):
        with pytest.raises(TypeError):
            Event().rawlink(5)

    def test_killed_waiter_does_not_corrupt_event(self):
        e = Event()
        woke = []

        def waiter(name):
            e.wait()
            woke.append(name)

        a = gevent.spawn(waiter, 'a')
        b = gevent.spawn(waiter, 'b')
        c = gevent.spawn(waiter, 'c')
        gevent.sleep(0)
        b.kill()
        assert b.dead
        e.set()
        gevent.joinall([a, c], timeout=5)
        assert woke == ['a', 'c']

    def test_timed_out_waiter_does_not_corrupt_event(self):
        e = Event()
        results = []
        g1 = gevent.spawn(lambda: results.append(('short', e.wait(0.01))))
        g2 = gevent.spawn(lambda: results.append(('long', e.wait(5))))
        gevent.sleep(0.05)
        e.set()
        gevent.joinall([g1, g2], timeout=5)
        assert results == [('short', False), ('long', True)]

    def test_set_from_another_thread(self):
        e = Event()
        th = threading.Thread(target=lambda: (time.sleep(0.05), e.set()))
        th.start()
        start = time.monotonic()
        try:
            assert e.wait(5) is True
        finally:
            th.join()
        assert time.monotonic() - start < 2


class TestAsyncResult:

    def test_initial_state(self):
        a = AsyncResult()
        assert not a.ready()
        assert not a.successful()
        assert a.value is None
        assert a.exception is None
        assert not a.exc_info

    def test_get_nonblocking_raises_timeout(self):
        a = AsyncResult()
        with pytest.raises(Timeout) as exc:
            a.get(block=False)
        assert exc.value.seconds is None
        with pytest.raises(Timeout):
            a.get_nowait()

    def test_get_with_timeout(self):
        a = AsyncResult()
        start = time.monotonic()
        with pytest.raises(Timeout) as exc:
            a.get(timeout=0.02)
        assert exc.value.seconds == 0.02
        assert time.monotonic() - start < 2

    def test_set_and_get(self):
        a = AsyncResult()
        gevent.spawn_later(0.01, a.set, 5)
        assert a.get(timeout=5) == 5
        assert a.ready() and a.successful()
        assert a.value == 5
        assert a.get_nowait() == 5
        assert a.get(block=False) == 5
        assert a.wait() == 5
        assert a.exception is None

    def test_set_no_value(self):
        a = AsyncResult()
        a.set()
        assert a.ready() and a.successful()
        assert a.get() is None

    def test_set_twice_last_wins(self):
        a = AsyncResult()
        a.set(1)
        a.set(2)
        assert a.get() == 2

    def test_wait_timeout_returns_none(self):
        assert AsyncResult().wait(0.01) is None

    def test_set_exception(self):
        a = AsyncResult()
        err = ValueError('x')
        a.set_exception(err)
        assert a.ready() and not a.successful()
        assert a.exception is err
        assert a.value is None
        assert a.exc_info[0] is ValueError and a.exc_info[1] is err
        with pytest.raises(ValueError, match='x'):
            a.get()
        assert a.wait() is None

    def test_set_exception_with_exc_info(self):
        a = AsyncResult()
        try:
            1 / 0
        except ZeroDivisionError as ex:
            a.set_exception(ex, exc_info=sys.exc_info())
        assert a.exc_info[0] is ZeroDivisionError
        assert a.exc_info[2] is not None
        with pytest.raises(ZeroDivisionError):
            a.get()

    def test_all_waiters_get_value(self):
        a = AsyncResult()
        results = []
        gs = [gevent.spawn(lambda: results.append(a.get())) for _ in range(3)]
        gevent.sleep(0)
        a.set('v')
        gevent.joinall(gs, timeout=5)
        assert results == ['v', 'v', 'v']

    def test_exception_to_all_waiters(self):
        a = AsyncResult()
        results = []

        def getter():
            try:
                a.get()
            except KeyError as e:
                results.append(e.args[0])

        gs = [gevent.spawn(getter) for _ in range(3)]
        gevent.sleep(0)
        a.set_exception(KeyError('k'))
        gevent.joinall(gs, timeout=5)
        assert results == ['k', 'k', 'k']

    def test_rawlink(self):
        a = AsyncResult()
        calls = []
        a.rawlink(calls.append)
        a.set(1)
        assert calls == []
        gevent.sleep(0)
        assert calls == [a]

    def test_as_link_target_value(self):
        a = AsyncResult()
        g = gevent.spawn(lambda: 3)
        g.link(a)
        assert a.get(timeout=5) == 3
        assert a.successful()

    def test_as_link_target_exception(self, capfd):
        a = AsyncResult()
        g = gevent.spawn(lambda: 1 / 0)
        g.link(a)
        with pytest.raises(ZeroDivisionError):
            a.get(timeout=5)
        assert isinstance(a.exception, ZeroDivisionError)
        capfd.readouterr()

    def test_set_from_another_thread(self):
        a = AsyncResult()
        th = threading.Thread(target=lambda: (time.sleep(0.05), a.set('from thread')))
        th.start()
        try:
            assert a.get(timeout=5) == 'from thread'
        finally:
            th.join()
