"""Misuse must give a clear Python error (gevent's type) and never crash.

Anything that might abort the interpreter runs in a child process whose
exit status must not be a signal.
"""
import signal
import threading

import pytest

import geventc as gevent
from geventc import Greenlet, GreenletExit, Timeout
from geventc.event import AsyncResult, Event
from geventc.hub import get_hub

from _helpers import assert_not_killed_by_signal, assert_ok, describe, run_python

pytestmark = pytest.mark.filterwarnings('error')


def _noop(*args, **kwargs):
    return None


TYPE_ERRORS = {
    'spawn(1)': lambda: gevent.spawn(1),
    'Greenlet(1)': lambda: Greenlet(1),
    'Greenlet.spawn(1)': lambda: Greenlet.spawn(1),
    'spawn_later(0, 1)': lambda: gevent.spawn_later(0, 1),
    'spawn_raw(1)': lambda: gevent.spawn_raw(1),
    'spawn_later("x", f)': lambda: gevent.spawn_later('x', _noop),
    'sleep("x")': lambda: gevent.sleep('x'),
    'sleep(None)': lambda: gevent.sleep(None),
    'Timeout("x")': lambda: Timeout('x'),
    'Timeout.start_new("x")': lambda: Timeout.start_new('x'),
    'with_timeout("x", f)': lambda: gevent.with_timeout('x', _noop),
    'Event().wait("x")': lambda: Event().wait('x'),
    'AsyncResult().get(timeout="x")': lambda: AsyncResult().get(timeout='x'),
    'idle("x")': lambda: gevent.idle('x'),
    'signal_handler(SIGUSR1, 5)': lambda: gevent.signal_handler(signal.SIGUSR1, 5),
    'killall(None)': lambda: gevent.killall(None),
    'Event().rawlink(5)': lambda: Event().rawlink(5),
}


@pytest.mark.parametrize('name', sorted(TYPE_ERRORS))
def test_type_errors(name):
    with pytest.raises(TypeError):
        TYPE_ERRORS[name]()


def test_join_bad_timeout_type():
    g = gevent.spawn(gevent.sleep, 0.01)
    with pytest.raises(TypeError):
        g.join('x')
    with pytest.raises(TypeError):
        g.get(timeout='x')
    g.join()


def test_link_non_callable():
    g = gevent.spawn(_noop)
    with pytest.raises(TypeError):
        g.link(5)
    with pytest.raises(TypeError):
        g.rawlink(None)
    with pytest.raises(TypeError):
        g.link_value('x')
    g.join()
    assert g.successful()


def test_signal_handler_bad_number():
    with pytest.raises(ValueError):
        gevent.signal_handler(1000, _noop)


# gevent raises AttributeError for these (it just calls a method on the
# argument); a compiled implementation may type-check instead.
NOT_A_GREENLET = (AttributeError, TypeError)


def test_joinall_non_greenlet():
    with pytest.raises(NOT_A_GREENLET):
        gevent.joinall([1])


def test_wait_non_waitable():
    with pytest.raises(NOT_A_GREENLET):
        gevent.wait([1])


def test_kill_none():
    with pytest.raises(NOT_A_GREENLET):
        gevent.kill(None)


def test_hub_wait_none():
    with pytest.raises(NOT_A_GREENLET):
        get_hub().wait(None)
    # the hub is still fine
    gevent.sleep(0.001)


def test_joinall_none_waits_for_the_whole_hub():
    # joinall(None) == wait(None): wait until the hub has nothing left to do.
    box = {}

    def body():
        out = []
        gevent.spawn_later(0.02, out.append, 'done')
        box['r'] = gevent.joinall(None)
        box['out'] = out
        get_hub().destroy(destroy_loop=True)

    th = threading.Thread(target=body)
    th.start()
    th.join(20)
    assert not th.is_alive()
    assert box == {'r': True, 'out': ['done']}


# ---------------------------------------------------------------------------
# Dead / killed greenlets
# ---------------------------------------------------------------------------

class TestDeadGreenlets:

    def test_get_on_killed_greenlet_returns_greenletexit(self):
        g = gevent.spawn(gevent.sleep, 10)
        gevent.sleep(0)
        g.kill()
        v = g.get()
        assert isinstance(v, GreenletExit)
        assert g.get(block=False) is v

    def test_get_on_greenlet_killed_before_start(self):
        g = Greenlet(_noop)
        g.kill()
        assert isinstance(g.get(), GreenletExit)
        assert isinstance(g.get(timeout=0.01), GreenletExit)

    def test_operations_on_dead_greenlet_are_noops(self):
        g = gevent.spawn(lambda: 1)
        g.join()
        assert g.throw(ValueError) is None
        assert g.kill() is None
        g.kill(ValueError)
        g.start()
        gevent.sleep(0.01)
        assert g.successful() and g.get() == 1

    def test_switch_into_dead_greenlet(self):
        res = run_python("""
            import geventc as gevent
            from geventc.hub import LoopExit
            g = gevent.spawn(lambda: 1)
            g.join()
            try:
                g.switch()
            except LoopExit:
                print('LoopExit')
            gevent.sleep(0.01)
            print('alive', g.get())
        """)
        assert_ok(res)
        assert res.stdout.splitlines() == ['LoopExit', 'alive 1']

    def test_kill_greenlet_waiting_on_async_result(self):
        a = AsyncResult()
        got = []
        victim = gevent.spawn(a.get)
        survivor = gevent.spawn(lambda: got.append(a.get()))
        gevent.sleep(0)
        victim.kill()
        assert victim.dead and isinstance(victim.value, GreenletExit)
        a.set('value')
        survivor.join(timeout=5)
        assert got == ['value']

    def test_kill_greenlet_waiting_on_event_then_set(self):
        e = Event()
        woke = []
        gs = [gevent.spawn(lambda i=i: (e.wait(), woke.append(i))) for i in range(4)]
        gevent.sleep(0)
        gs[0].kill()
        gs[2].kill()
        e.set()
        gevent.joinall(gs, timeout=5)
        assert woke == [1, 3]
        # the event can be cleared and reused
        e.clear()
        g = gevent.spawn(e.wait, 5)
        gevent.sleep(0)
        e.set()
        assert g.get(timeout=5) is True


# ---------------------------------------------------------------------------
# Misbehaving user code inside greenlets
# ---------------------------------------------------------------------------

class TestMisbehavingCode:

    def test_greenlet_with_broken_repr_fails(self, capfd):
        class BadRepr(Greenlet):
            def __repr__(self):
                raise RuntimeError('repr broken')

            def _run(self):
                raise KeyError('k')

        g = BadRepr()
        g.start()
        g.join()
        assert g.dead
        assert isinstance(g.exception, KeyError)
        gevent.sleep(0.01)
        capfd.readouterr()

    def test_exception_with_broken_str(self, capfd):
        class BadStr(Exception):
            def __str__(self):
                raise RuntimeError('str broken')

        def f():
            raise BadStr()

        g = gevent.spawn(f)
        g.join()
        assert isinstance(g.exception, BadStr)
        assert 'failed with BadStr' in capfd.readouterr().err

    def test_recursion_error_in_greenlet(self, capfd):
        def rec(n=0):
            return rec(n + 1)

        g = gevent.spawn(rec)
        g.join()
        assert isinstance(g.exception, RecursionError)
        assert g.exc_info[0] is RecursionError
        assert 'failed with RecursionError' in capfd.readouterr().err

    def test_link_callback_raising(self, capfd):
        g = gevent.spawn(_noop)

        def bad_link(source):
            raise ValueError('bad link')

        after = []
        g.rawlink(bad_link)
        g.rawlink(after.append)
        g.join()
        gevent.sleep(0.01)
        assert after == [g]  # later links still run
        assert 'ValueError: bad link' in capfd.readouterr().err

    def test_blocking_inside_rawlink_is_reported(self, capfd):
        e = Event()

        def blocking_link(ev):
            gevent.sleep(0.01)  # illegal: runs in the hub

        e.rawlink(blocking_link)
        e.set()
        gevent.sleep(0.01)
        err = capfd.readouterr().err
        assert 'BlockingSwitchOutError' in err

    def test_timeout_exception_swallowed_then_reused(self):
        t = Timeout(0.01)
        t.start()
        try:
            gevent.sleep(1)
        except Timeout:
            pass
        t.start()  # re-arming an expired timeout is allowed
        with pytest.raises(Timeout):
            gevent.sleep(1)


# ---------------------------------------------------------------------------
# Watchers / loops: crash-prone misuse, in a child process
# ---------------------------------------------------------------------------

def test_watcher_misuse_never_crashes():
    res = run_python("""
        import os, signal, sys
        import geventc as gevent
        from geventc import core

        results = []
        def attempt(name, fn):
            try:
                fn()
                results.append((name, 'ok'))
            except Exception as e:
                results.append((name, type(e).__name__))

        hub = gevent.get_hub()
        lp = hub.loop

        # watchers after close()
        t = lp.timer(0.01)
        t.close()
        attempt('closed stop', t.stop)
        attempt('closed close', t.close)
        attempt('closed start', lambda: t.start(lambda: None))
        gevent.sleep(0.03)
        attempt('closed stop again', t.stop)
        attempt('closed close again', t.close)

        r, w = os.pipe()
        io = lp.io(r, core.READ)
        io.close()
        attempt('io closed start', lambda: io.start(lambda: None))
        os.write(w, b'x')
        gevent.sleep(0.01)
        attempt('io closed stop', io.stop)

        # destroyed loops
        dl = core.loop(default=False)
        dt = dl.timer(0.01)
        dt.start(lambda: None)
        di = dl.idle()
        dl.destroy()
        for name, fn in [('d start', lambda: di.start(lambda: None)), ('d stop', dt.stop),
                         ('d close', dt.close), ('d run', dl.run), ('d break', dl.break_),
                         ('d now', dl.now), ('d run_callback', lambda: dl.run_callback(print)),
                         ('d threadsafe', lambda: dl.run_callback_threadsafe(print)),
                         ('d timer', lambda: dl.timer(1)), ('d destroy', dl.destroy),
                         ('d reinit', dl.reinit), ('d repr', lambda: repr(dl))]:
            attempt(name, fn)

        # odd values
        attempt('timer inf', lambda: lp.timer(float('inf')).start(lambda: None))
        attempt('timer 1e300', lambda: lp.timer(1e300).start(lambda: None))
        attempt('io fd 2**31', lambda: lp.io(2 ** 31, 1))
        attempt('io fd unopened', lambda: lp.io(100000, 1))
        attempt('signal 2**40', lambda: lp.signal(2 ** 40))
        attempt('child 2**40', lambda: lp.child(2 ** 40))
        attempt('priority huge', lambda: setattr(lp.idle(), 'priority', 2 ** 40))
        attempt('loop -1', lambda: core.loop(-1, default=False))
        attempt('loop 2**40', lambda: core.loop(2 ** 40, default=False))
        attempt('stat bytes', lambda: lp.stat(b'/tmp'))
        attempt('run_callback None', lambda: lp.run_callback(None))
        gevent.sleep(0.01)

        # many watchers and callbacks created and dropped
        for i in range(2000):
            x = lp.timer(0.001 * (i % 7))
            x.start(lambda: None)
            if i % 3:
                x.stop()
            lp.run_callback(lambda: None).stop() if i % 2 else lp.run_callback(lambda: None)
        gevent.sleep(0.02)

        for name, outcome in results:
            print(name, outcome)
        print('END')
    """)
    assert_not_killed_by_signal(res)
    assert res.returncode == 0, describe(res)
    out = dict(line.rsplit(' ', 1) for line in res.stdout.splitlines() if line != 'END')
    assert res.stdout.rstrip().endswith('END')
    # Things gevent reports as Python errors, whose type geventc must match.
    assert out['d start'] == 'ValueError'
    assert out['d run'] == 'ValueError'
    assert out['d now'] == 'ValueError'
    assert out['d run_callback'] == 'ValueError'
    assert out['d destroy'] == 'ok'
    assert out['closed stop'] == 'ok'
    assert out['closed close'] == 'ok'
    assert out['io fd unopened'] == 'OSError'
    assert out['signal 2**40'] == 'OverflowError'
    assert out['child 2**40'] == 'OverflowError'
    assert out['loop -1'] == 'OverflowError'
    assert out['loop 2**40'] == 'OverflowError'
    assert out['stat bytes'] == 'TypeError'
    assert out['timer inf'] == 'ok'


def test_loop_exit_in_thread_does_not_wedge_process():
    res = run_python("""
        import threading
        import geventc as gevent
        from geventc.event import Event
        from geventc.hub import LoopExit
        out = []
        def body():
            try:
                Event().wait()
            except LoopExit:
                out.append('LoopExit')
        th = threading.Thread(target=body)
        th.start()
        th.join(10)
        print(out, th.is_alive())
    """)
    assert_ok(res)
    assert res.stdout.strip() == "['LoopExit'] False"


@pytest.mark.geventc_only
def test_sleep_nan_raises_instead_of_hanging():
    # gevent 26.9.0: gevent.sleep(float('nan')) never returns.
    res = run_python("""
        import geventc as gevent
        try:
            gevent.sleep(float('nan'))
        except Exception as e:
            print('raised', type(e).__name__)
        else:
            print('returned')
    """, timeout=10)
    assert_not_killed_by_signal(res)
    assert res.stdout.startswith('raised'), describe(res)
