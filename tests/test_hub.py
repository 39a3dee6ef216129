"""The Hub: per-thread hubs, error handling, Waiter, LoopExit, wake-ups."""
import re
import sys
import threading
import time

import pytest

import geventc as gevent
from geventc import GreenletExit, Timeout
from geventc.event import Event
from geventc.exceptions import (BlockingSwitchOutError, ConcurrentObjectUseError,
                                HubDestroyed, InvalidSwitchError, LoopExit)
from geventc.hub import Hub, Waiter, get_hub, set_hub

from _helpers import assert_ok, describe, run_python

pytestmark = pytest.mark.filterwarnings('error')

STAMP = r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ'


def in_thread(fn, timeout=20):
    """Run *fn* in a fresh real thread (its own hub); return its result or re-raise."""
    box = {}

    def target():
        try:
            box['result'] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised below
            box['error'] = e

    th = threading.Thread(target=target)
    th.start()
    th.join(timeout)
    assert not th.is_alive(), 'thread wedged'
    if 'error' in box:
        raise box['error']
    return box.get('result')


def destroy_thread_hub():
    from geventc.hub import _get_hub
    h = _get_hub()
    if h is not None:
        h.destroy(destroy_loop=True)


# ---------------------------------------------------------------------------
# Getting hubs
# ---------------------------------------------------------------------------

class TestGetHub:

    def test_same_object(self):
        h = get_hub()
        assert h is get_hub()
        assert isinstance(h, Hub)
        assert gevent.get_hub() is h
        assert h.parent is gevent.getcurrent()  # main greenlet is the parent

    def test_repr(self):
        r = repr(get_hub())
        assert r.startswith('<Hub ')
        assert 'thread_ident=0x' in r
        assert r.endswith('>')

    def test_each_thread_has_its_own_hub(self):
        main_hub = get_hub()
        results = {}
        errors = []

        def worker(i):
            try:
                h = get_hub()
                assert h is get_hub()
                g = gevent.spawn(lambda: i * 10)
                gevent.sleep(0.01)
                results[i] = (h, g.get(), h.loop.default, gevent.getcurrent().parent is None)
                h.destroy(destroy_loop=True)
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert not errors, errors
        assert len(results) == 4
        hubs = [r[0] for r in results.values()]
        assert len({id(h) for h in hubs}) == 4
        assert main_hub not in hubs
        for i, (h, value, default, in_main) in results.items():
            assert value == i * 10
            assert default is False  # thread hubs get non-default loops
            assert in_main

    def test_get_hub_if_exists(self):
        from geventc.hub import _get_hub

        def body():
            before = _get_hub()
            h = get_hub()
            after = _get_hub()
            h.destroy(destroy_loop=True)
            gone = _get_hub()
            return before, after is h, gone

        before, same, gone = in_thread(body)
        assert before is None
        assert same
        assert gone is None
        assert _get_hub() is get_hub()

    def test_set_hub(self):
        class MyHub(Hub):
            pass

        def body():
            mine = MyHub()
            set_hub(mine)
            try:
                assert get_hub() is mine
                out = []
                gevent.spawn(out.append, 'ran')
                gevent.sleep(0.01)
                return out, type(get_hub()).__name__
            finally:
                mine.destroy(destroy_loop=True)

        assert in_thread(body) == (['ran'], 'MyHub')

    def test_destroy_and_recreate(self):
        from geventc.hub import _get_hub

        def body():
            h1 = get_hub()
            lp = h1.loop
            h1.destroy(destroy_loop=False)
            assert h1.loop is None
            assert _get_hub() is None
            h2 = get_hub()
            reused = h2.loop is lp  # the surviving loop is reused
            gevent.sleep(0.01)
            h2.destroy(destroy_loop=True)
            h3 = get_hub()
            fresh = h3 is not h2 and h3.loop is not lp
            gevent.sleep(0.01)
            h3.destroy(destroy_loop=True)
            return h2 is not h1, reused, fresh

        assert in_thread(body) == (True, True, True)

    def test_destroy_another_threads_hub_after_it_ended(self):
        # The hub cannot be unwound from another thread; destroying it from
        # here still releases its loop and raises nothing (as gevent's).
        hubs = []

        def body():
            gevent.spawn(lambda: 0).join()
            hub = get_hub()
            hub.join()
            hubs.append(hub)

        for _ in range(5):
            in_thread(body)
            hub = hubs.pop()
            lp = hub.loop
            hub.destroy(destroy_loop=True)
            assert hub.loop is None and not lp.ptr

    def test_threads_that_join_and_destroy_their_hub_leave_no_greenlets(self):
        import gc
        from geventc._greenlet_primitives import get_reachable_greenlets

        def body():
            g = gevent.Greenlet(run=lambda: 0)
            g.start()
            g.join()
            hub = get_hub()
            hub.join()
            hub.destroy(destroy_loop=True)

        def count():
            for _ in range(2):
                while gc.collect():
                    pass
            return len(get_reachable_greenlets())

        before = count()
        for _ in range(5):
            in_thread(body)
        # As gevent's own test allows, one may stay behind (the first time);
        # a leak would be a hub and a greenlet per thread.
        assert count() <= before + 1

    def test_hub_join(self):
        def body():
            hub = get_hub()
            g = gevent.spawn(gevent.sleep, 0.05)
            start = time.monotonic()
            r1 = hub.join()
            elapsed = time.monotonic() - start
            g2 = gevent.spawn(gevent.sleep, 10)
            r2 = hub.join(timeout=0.05)
            g2.kill()
            hub.destroy(destroy_loop=True)
            return r1, g.dead, elapsed, r2

        r1, dead, elapsed, r2 = in_thread(body)
        assert r1 is True and dead
        assert 0.04 <= elapsed < 5
        assert r2 is False

    def test_wait_none_waits_for_everything(self):
        def body():
            out = []
            gevent.spawn_later(0.02, out.append, 'late')
            r = gevent.wait()
            destroy_thread_hub()
            return r, out

        assert in_thread(body) == (True, ['late'])


# ---------------------------------------------------------------------------
# Error handling
# ---------------------------------------------------------------------------

class TestErrorHandling:

    def test_handle_error_string_context_format(self, capfd):
        hub = get_hub()
        try:
            raise ValueError('he')
        except ValueError:
            hub.handle_error('CTX', *sys.exc_info())
        err = capfd.readouterr().err
        assert 'Traceback (most recent call last):' in err
        assert 'ValueError: he' in err
        assert re.search(r'^%s CTX failed with ValueError\n\n\Z' % STAMP, err, re.M), repr(err)

    def test_handle_error_object_context_uses_repr(self, capfd):
        class Ctx:
            def __repr__(self):
                return '<my context>'

        get_hub().handle_error(Ctx(), KeyError, KeyError('k'), None)
        err = capfd.readouterr().err
        assert "KeyError: 'k'" in err
        assert re.search(r'^%s <my context> failed with KeyError$' % STAMP, err, re.M), repr(err)

    def test_handle_error_not_error_is_silent(self, capfd):
        get_hub().handle_error('ctx', GreenletExit, GreenletExit(), None)
        assert capfd.readouterr().err == ''

    def test_handle_error_without_context_is_system_error(self, capfd):
        # context None -> printed, then raised in the main greenlet.
        with pytest.raises(ValueError, match='sys-err'):
            get_hub().handle_error(None, ValueError, ValueError('sys-err'), None)
        err = capfd.readouterr().err
        assert 'ValueError: sys-err' in err
        assert 'failed with' not in err

    def test_handle_error_system_error_types_propagate(self, capfd):
        with pytest.raises(KeyboardInterrupt):
            get_hub().handle_error('ctx', KeyboardInterrupt, KeyboardInterrupt(), None)
        with pytest.raises(SystemExit):
            get_hub().handle_error('ctx', SystemExit, SystemExit(3), None)
        err = capfd.readouterr().err
        assert 'ctx failed with KeyboardInterrupt' in err
        assert 'SystemExit' not in err  # SystemExit is a NOT_ERROR: not printed

    def test_print_exception(self, capfd):
        hub = get_hub()
        try:
            raise ValueError('pe')
        except ValueError:
            hub.print_exception('CTX', *sys.exc_info())
        hub.print_exception(None, KeyError, None, None)
        err = capfd.readouterr().err
        assert 'ValueError: pe' in err
        assert re.search(r'^%s CTX failed with ValueError$' % STAMP, err, re.M), repr(err)
        assert re.search(r'^KeyError\n%s\n\Z' % STAMP, err, re.M), repr(err)

    def test_error_in_greenlet_does_not_stop_hub(self, capfd):
        def bad():
            raise ValueError('in greenlet')

        gevent.spawn(bad)
        out = []
        gevent.spawn(out.append, 'next')
        gevent.sleep(0.01)
        assert out == ['next']
        assert 'failed with ValueError' in capfd.readouterr().err

    def test_system_error_class_attributes(self):
        assert KeyboardInterrupt in Hub.SYSTEM_ERROR
        assert SystemExit in Hub.SYSTEM_ERROR
        assert SystemError in Hub.SYSTEM_ERROR
        assert GreenletExit in Hub.NOT_ERROR
        assert SystemExit in Hub.NOT_ERROR

    def test_system_error_reassigned_on_instance(self, capfd):
        def body():
            hub = get_hub()

            def bad():
                raise ValueError('now-a-system-error')

            hub.SYSTEM_ERROR = Hub.SYSTEM_ERROR + (ValueError,)
            gevent.spawn(bad)
            try:
                gevent.sleep(0.05)
                first = 'not raised'
            except ValueError as e:
                first = str(e)
            del hub.SYSTEM_ERROR
            gevent.spawn(bad)
            try:
                gevent.sleep(0.05)
                second = 'not raised'
            except ValueError:
                second = 'raised'
            hub.destroy(destroy_loop=True)
            return first, second

        assert in_thread(body) == ('now-a-system-error', 'not raised')
        capfd.readouterr()

    def test_system_and_not_error_on_subclass(self, capfd):
        class MyHub(Hub):
            SYSTEM_ERROR = (KeyError,)
            NOT_ERROR = (GreenletExit, SystemExit, KeyError, TypeError)

        def body():
            h = MyHub()
            set_hub(h)

            def bad(e):
                raise e

            gevent.spawn(bad, KeyError('k'))
            try:
                gevent.sleep(0.05)
                first = 'not raised'
            except KeyError:
                first = 'raised'
            g = gevent.spawn(bad, TypeError('quiet'))
            gevent.sleep(0.02)
            h.destroy(destroy_loop=True)
            return first, g.dead, isinstance(g.exception, TypeError)

        assert in_thread(body) == ('raised', True, True)
        err = capfd.readouterr().err
        assert 'failed with' not in err  # both were NOT_ERRORs: nothing printed


# ---------------------------------------------------------------------------
# hub.wait / switching rules
# ---------------------------------------------------------------------------

class TestSwitching:

    def test_hub_wait_watcher(self):
        hub = get_hub()
        hub.loop.update_now()
        start = time.monotonic()
        with hub.loop.timer(0.03) as t:
            assert hub.wait(t) is None
        assert 0.02 <= time.monotonic() - start < 2

    def test_hub_wait_on_an_object_that_only_looks_like_a_watcher(self):
        # gevent lets hub.loop be any object whose watchers forward to the
        # real ones: wait() starts and stops them through their methods.
        hub = get_hub()
        real = hub.loop.timer(0.01)
        calls = []

        class Forwarding(object):
            def start(self, callback, *args):
                calls.append('start')
                real.start(callback, *args)

            def stop(self):
                calls.append('stop')
                real.stop()

        try:
            hub.wait(Forwarding())
        finally:
            real.close()
        assert calls == ['start', 'stop']

    def test_blocking_in_hub_raises_blocking_switch_out_error(self):
        hub = get_hub()
        seen = []

        def in_hub():
            try:
                hub.switch()
            except BlockingSwitchOutError as e:
                seen.append(('switch', str(e)))
            try:
                gevent.sleep(0)
            except BlockingSwitchOutError as e:
                seen.append(('sleep', str(e)))

        hub.loop.run_callback(in_hub)
        gevent.sleep(0.01)
        msg = 'Impossible to call blocking function in the event loop callback'
        assert seen == [('switch', msg), ('sleep', msg)]
        assert issubclass(BlockingSwitchOutError, AssertionError)

    def test_invalid_switch_into_join(self):
        main = gevent.getcurrent()
        hub = get_hub()
        g = gevent.spawn(gevent.sleep, 10)
        hub.loop.run_callback(main.switch, 'bogus')
        with pytest.raises(InvalidSwitchError) as exc:
            g.join()
        assert str(exc.value) == "Invalid switch into Greenlet.join(): 'bogus'"
        assert issubclass(InvalidSwitchError, AssertionError)
        g.kill()

    def test_invalid_switch_into_sleep(self):
        main = gevent.getcurrent()
        hub = get_hub()
        hub.loop.run_callback(main.switch, 'bogus2')
        with pytest.raises(InvalidSwitchError) as exc:
            gevent.sleep(10)
        assert "got 'bogus2'" in str(exc.value)
        gevent.sleep(0.01)  # the abandoned timer does not come back to haunt us

    def test_invalid_switch_into_event_wait(self):
        main = gevent.getcurrent()
        hub = get_hub()
        hub.loop.run_callback(main.switch, 'bogus3')
        with pytest.raises(InvalidSwitchError) as exc:
            Event().wait(10)
        assert str(exc.value) == "Invalid switch into Event.wait(): 'bogus3'"

    def test_hub_destroyed_exception(self):
        assert issubclass(HubDestroyed, GreenletExit)
        e = HubDestroyed(True)
        assert e.destroy_loop is True


# ---------------------------------------------------------------------------
# LoopExit
# ---------------------------------------------------------------------------

class TestLoopExit:

    def test_event_wait_in_main_with_nothing_else(self):
        res = run_python("""
            import geventc as gevent
            from geventc.event import Event
            from geventc.hub import LoopExit, get_hub
            try:
                Event().wait()
            except LoopExit as e:
                print(e.args[0])
                print(e.hub is get_hub())
                print(str(e).startswith('This operation would block forever'))
                print('Hub:' in str(e))
            # the hub survives: more work can be done afterwards
            gevent.sleep(0.01)
            print('still usable')
        """)
        assert_ok(res)
        assert res.stdout.splitlines() == [
            'This operation would block forever', 'True', 'True', 'True', 'still usable']

    def test_uncaught_loop_exit_exits_with_traceback(self):
        res = run_python("""
            from geventc.event import Event
            Event().wait()
        """)
        assert res.returncode == 1, describe(res)
        assert 'LoopExit: This operation would block forever' in res.stderr

    def test_greenlet_join_that_can_never_finish(self):
        res = run_python("""
            import geventc as gevent
            from geventc.event import Event
            from geventc.hub import LoopExit
            ev = Event()
            g = gevent.spawn(ev.wait)
            try:
                g.join()
            except LoopExit:
                print('LoopExit')
        """)
        assert_ok(res)
        assert res.stdout.strip() == 'LoopExit'

    def test_waiter_in_thread(self):
        def body():
            try:
                Waiter().get()
            except LoopExit as e:
                r = str(e).startswith('This operation would block forever')
            else:  # pragma: no cover
                r = 'no LoopExit'
            destroy_thread_hub()
            return r

        assert in_thread(body) is True

    def test_loop_exit_is_exception(self):
        assert issubclass(LoopExit, Exception)
        assert LoopExit is gevent.hub.LoopExit


# ---------------------------------------------------------------------------
# Waiter
# ---------------------------------------------------------------------------

class TestWaiter:

    def test_switch_before_get(self):
        w = Waiter()
        assert not w.ready() and not w.successful() and w.value is None
        w.switch(5)
        assert w.ready() and w.successful() and w.value == 5
        assert w.exc_info is None
        assert w.get() == 5

    def test_get_before_switch(self):
        hub = get_hub()
        w = Waiter()
        hub.loop.run_callback(w.switch, 7)
        assert w.get() == 7

    def test_switch_from_timer(self):
        hub = get_hub()
        w = Waiter()
        t = hub.loop.timer(0.01)
        t.start(w.switch, 'from timer')
        try:
            assert w.get() == 'from timer'
        finally:
            t.close()

    def test_throw_before_get(self):
        w = Waiter()
        err = ValueError('v')
        w.throw(ValueError, err)
        assert w.ready() and not w.successful()
        assert w.exc_info == (ValueError, err)
        with pytest.raises(ValueError, match='v'):
            w.get()

    def test_throw_while_waiting(self):
        hub = get_hub()
        w = Waiter()
        hub.loop.run_callback(w.throw, KeyError('kk'))
        with pytest.raises(KeyError):
            w.get()

    def test_two_getters(self):
        hub = get_hub()
        w = Waiter()
        errors = []

        def second():
            try:
                w.get()
            except ConcurrentObjectUseError as e:
                errors.append(str(e))

        first = gevent.spawn(w.get)
        other = gevent.spawn(second)
        gevent.sleep(0.01)
        assert other.dead and not first.dead
        assert len(errors) == 1 and errors[0].startswith('This Waiter is already used by')
        hub.loop.run_callback(w.switch, 1)
        assert first.get(timeout=5) == 1

    def test_switch_from_non_hub_greenlet_is_refused(self):
        w = Waiter()
        g = gevent.spawn(w.get)
        gevent.sleep(0)
        with pytest.raises(AssertionError):
            w.switch(1)  # we are the main greenlet, not the hub
        get_hub().loop.run_callback(w.switch, 2)
        assert g.get(timeout=5) == 2


# ---------------------------------------------------------------------------
# Cross-thread wake-ups of a blocked hub
# ---------------------------------------------------------------------------

class TestCrossThreadWakeup:

    def test_run_callback_threadsafe_wakes_hub_blocked_in_long_sleep(self):
        hub = get_hub()
        w = Waiter()
        sent = []

        def poster():
            time.sleep(0.1)
            sent.append(time.monotonic())
            hub.loop.run_callback_threadsafe(w.switch, 'woken')

        th = threading.Thread(target=poster)
        th.start()
        try:
            with Timeout(10):
                result = w.get()
            woke = time.monotonic()
        finally:
            th.join()
        assert result == 'woken'
        assert woke - sent[0] < 1.0

    def test_async_send_wakes_hub(self):
        hub = get_hub()
        a = hub.loop.async_()
        w = Waiter()
        a.start(w.switch, 'async')
        sent = []

        def sender():
            time.sleep(0.1)
            sent.append(time.monotonic())
            a.send()

        th = threading.Thread(target=sender)
        th.start()
        try:
            with Timeout(10):
                result = w.get()
            woke = time.monotonic()
        finally:
            th.join()
            a.close()
        assert result == 'async'
        assert woke - sent[0] < 1.0

    def test_sleeping_greenlet_unaffected_by_wakeup(self):
        # A wake-up from another thread must not cut a gevent.sleep short.
        hub = get_hub()
        th = threading.Thread(target=lambda: (time.sleep(0.02),
                                              hub.loop.run_callback_threadsafe(lambda: None)))
        th.start()
        start = time.monotonic()
        gevent.sleep(0.15)
        th.join()
        assert time.monotonic() - start >= 0.14
