"""geventc.core.loop and its watchers: the libev-level API gevent exposes.

Reference behaviour is gevent 26.9.0's libev-cext loop (run with
GEVENTC_TEST_IMPL=gevent to check it).
"""
import errno
import os
import signal
import sys
import tempfile
import threading
import time

import pytest

import geventc as gevent
from geventc import core
from geventc.hub import get_hub

from _helpers import assert_not_killed_by_signal, assert_ok, describe, run_python

pytestmark = pytest.mark.filterwarnings('error')


# ---------------------------------------------------------------------------
# The loop object
# ---------------------------------------------------------------------------

class TestLoopBasics:

    def test_hub_loop_is_default_loop(self):
        lp = get_hub().loop
        assert lp.default is True
        assert isinstance(lp.backend, str) and lp.backend
        assert lp.backend in core.supported_backends()

    def test_nondefault_loop(self, loop):
        assert loop.default is False
        assert loop is not get_hub().loop
        assert isinstance(loop.backend, str)
        assert loop.backend in core.supported_backends()

    def test_module_level_helpers(self):
        assert isinstance(core.supported_backends(), list)
        assert 'select' in core.supported_backends()
        assert set(core.recommended_backends()) <= set(core.supported_backends())
        version = core.get_version()
        assert isinstance(version, str) and version.startswith('libev-')
        assert abs(core.time() - time.time()) < 5

    @pytest.mark.parametrize('flags, expected', [
        ('select', 'select'),
        ('poll', 'poll'),
        (['epoll'], 'epoll'),
        ('SELECT', 'select'),
        (['poll'], 'poll'),
        (1, 'select'),
        (2, 'poll'),
    ])
    def test_backend_flags(self, flags, expected):
        if expected not in core.supported_backends():  # pragma: no cover
            pytest.skip('%s not supported here' % expected)
        lp = core.loop(flags, default=False)
        try:
            assert lp.backend == expected
            assert lp.default is False
            # The loop really works with that backend.
            fired = []
            t = lp.timer(0.001)
            t.start(fired.append, expected)
            lp.run()
            assert fired == [expected]
        finally:
            lp.destroy()

    def test_fileno(self):
        ep = core.loop('epoll', default=False)
        sel = core.loop('select', default=False)
        try:
            fd = ep.fileno()
            assert isinstance(fd, int) and fd >= 0
            os.fstat(fd)  # a real, open descriptor
            assert sel.fileno() is None  # select has no kernel object
        finally:
            ep.destroy()
            sel.destroy()

    def test_first_default_loop_honours_flags(self):
        res = run_python("""
            from geventc import core
            lp = core.loop('select')
            print(lp.default, lp.backend)
            lp2 = core.loop(['poll'], default=False)
            print(lp2.default, lp2.backend)
        """)
        assert_ok(res)
        assert res.stdout.split() == ['True', 'select', 'False', 'poll']

    def test_gevent_backend_env_var_selects_hub_backend(self):
        for name in ('select', 'poll'):
            res = run_python("""
                import geventc as gevent
                print(gevent.get_hub().loop.backend)
            """, extra_env={'GEVENT_BACKEND': name})
            assert_ok(res)
            assert res.stdout.strip() == name, describe(res)

    @pytest.mark.geventc_only
    def test_libev_flags_env_var_selects_backend(self):
        # The issue asks for LIBEV_FLAGS (libev's bit mask, or backend names)
        # to choose the backend; gevent 26.9.0 ignores it (EVFLAG_NOENV).
        code = """
            import geventc as gevent
            print(gevent.get_hub().loop.backend)
        """
        clean = {'LIBEV_FLAGS': None, 'GEVENT_BACKEND': None, 'GEVENTC_BACKEND': None}
        plain = run_python(code, extra_env=clean)
        assert_ok(plain)
        assert plain.stdout.strip() == 'epoll'
        for value, expected in (('1', 'select'), ('2', 'poll'), ('select', 'select'), ('poll', 'poll')):
            res = run_python(code, extra_env=dict(clean, LIBEV_FLAGS=value))
            assert_ok(res)
            assert res.stdout.strip() == expected, (value, describe(res))

    @pytest.mark.geventc_only
    def test_bad_libev_flags_is_a_clear_error(self):
        res = run_python("""
            import geventc as gevent
            try:
                gevent.get_hub()
            except ValueError as e:
                print('ValueError', 'bogus' in str(e))
        """, extra_env={'LIBEV_FLAGS': 'bogus', 'GEVENT_BACKEND': None, 'GEVENTC_BACKEND': None})
        assert_ok(res)
        assert res.stdout.strip() == 'ValueError True'


# ---------------------------------------------------------------------------
# Callbacks
# ---------------------------------------------------------------------------

class TestRunCallback:

    def test_fifo_order_and_stop(self, loop):
        out = []
        cbs = [loop.run_callback(out.append, i) for i in range(6)]
        assert all(cb.pending for cb in cbs)
        cbs[2].stop()
        assert not cbs[2].pending
        cbs[4].stop()
        loop.run()
        assert out == [0, 1, 3, 5]
        assert not any(cb.pending for cb in cbs)

    def test_callback_scheduled_from_callback_runs_after(self, loop):
        out = []

        def first():
            out.append('first')
            loop.run_callback(out.append, 'nested')

        loop.run_callback(first)
        loop.run_callback(out.append, 'second')
        loop.run()
        assert out == ['first', 'second', 'nested']

    def test_running_callback_is_true_but_not_pending(self, loop):
        # gevent's contract: bool() says "pending or running" (used to decide
        # whether to queue another), .pending only "not started yet".
        seen = []

        def f():
            seen.append((bool(cb), cb.pending))

        cb = loop.run_callback(f)
        assert cb and cb.pending
        loop.run()
        assert seen == [(True, False)]
        assert not cb and not cb.pending
        stopped = loop.run_callback(f)
        stopped.stop()
        assert not stopped and not stopped.pending

    def test_callbacks_on_hub_loop_run_before_sleep_returns(self):
        hub = get_hub()
        out = []
        hub.loop.run_callback(out.append, 1)
        hub.loop.run_callback(out.append, 2)
        gevent.sleep(0)
        assert out == [1, 2]

    def test_run_callback_threadsafe_wakes_blocked_loop(self, loop):
        keepalive = loop.timer(10)
        keepalive.start(lambda: None)
        got = []

        def cb(value):
            got.append((value, threading.current_thread() is threading.main_thread()))
            keepalive.stop()

        def poster():
            time.sleep(0.1)
            loop.run_callback_threadsafe(cb, 'from-thread')

        th = threading.Thread(target=poster)
        start = time.monotonic()
        th.start()
        loop.run()  # blocks in the backend until the thread wakes it
        elapsed = time.monotonic() - start
        th.join()
        assert got == [('from-thread', True)]
        assert elapsed < 2.0, elapsed

    def test_run_callback_threadsafe_returns_stoppable_callback(self, loop):
        out = []
        cb = loop.run_callback_threadsafe(out.append, 1)
        assert cb.pending
        cb.stop()
        loop.run()
        assert out == []


# ---------------------------------------------------------------------------
# run / break_ / now / counters
# ---------------------------------------------------------------------------

class TestRunControl:

    def test_run_returns_when_nothing_active(self, loop):
        start = time.monotonic()
        loop.run()
        assert time.monotonic() - start < 1

    def test_break(self, loop):
        t = loop.timer(0.001, 0.001)
        hits = []

        def cb():
            hits.append(1)
            if len(hits) == 3:
                loop.break_()

        t.start(cb)
        loop.run()
        assert len(hits) == 3
        assert t.active  # break_ leaves the repeating timer running
        t.stop()

    def test_run_nowait(self, loop):
        t = loop.timer(5)
        t.start(lambda: None)
        start = time.monotonic()
        loop.run(nowait=True)
        assert time.monotonic() - start < 1
        assert t.active
        t.stop()

    def test_run_once(self, loop):
        out = []
        quick = loop.timer(0.01)
        quick.start(out.append, 'quick')
        slow = loop.timer(5)
        slow.start(out.append, 'slow')
        start = time.monotonic()
        loop.run(once=True)
        assert time.monotonic() - start < 2
        assert out == ['quick']
        assert slow.active
        slow.stop()

    def test_now_is_cached_until_update_now(self, loop):
        n1 = loop.now()
        time.sleep(0.05)
        assert loop.now() == n1
        loop.update_now()
        n2 = loop.now()
        assert n2 - n1 >= 0.04
        assert abs(n2 - time.time()) < 1

    def test_depth_and_iteration(self, loop):
        assert loop.depth == 0
        seen = []
        t = loop.timer(0)
        t.start(lambda: seen.append(loop.depth))
        it0 = loop.iteration
        loop.run()
        assert seen == [1]
        assert loop.depth == 0
        assert loop.iteration > it0

    def test_activecnt_counts_referenced_active_watchers(self, loop):
        base = loop.activecnt
        t = loop.timer(5)
        t.start(lambda: None)
        assert loop.activecnt == base + 1
        t.ref = False
        assert loop.activecnt == base
        t.ref = True
        assert loop.activecnt == base + 1
        t.stop()
        assert loop.activecnt == base

    def test_pendingcnt(self, loop):
        assert loop.pendingcnt == 0
        rec = []
        t1 = loop.timer(0)
        t2 = loop.timer(0)
        t1.start(lambda: rec.append(loop.pendingcnt))
        t2.start(lambda: rec.append(loop.pendingcnt))
        loop.run()
        assert sorted(rec) == [0, 1]
        assert loop.pendingcnt == 0

    def test_unref_watcher_does_not_keep_loop_alive(self, loop):
        t = loop.timer(10)
        t.ref = False
        t.start(lambda: None)
        start = time.monotonic()
        loop.run()
        assert time.monotonic() - start < 1
        assert t.active
        t.stop()

    def test_reinit_keeps_loop_usable(self, loop):
        loop.reinit()
        fired = []
        t = loop.timer(0.001)
        t.start(fired.append, 'ok')
        loop.run()
        assert fired == ['ok']

    def test_destroy(self):
        lp = core.loop(default=False)
        t = lp.timer(0.01)
        lp.destroy()
        with pytest.raises(ValueError):
            lp.run_callback(lambda: None)
        with pytest.raises(ValueError):
            lp.now()
        with pytest.raises(ValueError):
            t.start(lambda: None)
        lp.destroy()  # destroying twice is harmless


class TestHandleError:

    def test_error_without_handler_prints_and_breaks_run(self, loop, capfd):
        # A bare loop (no error_handler) prints the traceback and breaks out
        # of run(); the other watchers stay active and run on the next run().
        out = []

        def boom():
            raise ValueError('boom-in-callback')

        t = loop.timer(0)
        t.start(boom)
        t2 = loop.timer(0.01)
        t2.start(out.append, 'after')
        loop.run()
        err = capfd.readouterr().err
        assert 'ValueError: boom-in-callback' in err
        assert 'Traceback' in err
        assert out == []
        assert t2.active
        loop.run()
        assert out == ['after']

    def test_error_handler_object_receives_errors(self, loop):
        seen = []

        class Handler:
            def handle_error(self, context, typ, value, tb):
                seen.append((context, typ, value, tb is not None))

        loop.error_handler = Handler()
        try:
            t = loop.timer(0)
            err = KeyError('k')

            def boom():
                raise err

            t.start(boom)
            loop.run()
        finally:
            loop.error_handler = None
        assert len(seen) == 1
        context, typ, value, has_tb = seen[0]
        assert context is t
        assert typ is KeyError and value is err and has_tb

    def test_handle_error_method_prints(self, loop, capfd):
        loop.handle_error(None, ValueError, ValueError('direct-call'), None)
        assert 'ValueError: direct-call' in capfd.readouterr().err

    def test_error_in_hub_loop_watcher_reported_with_context(self, capfd):
        hub = get_hub()

        def boom():
            raise ValueError('boom-hub-watcher')

        t = hub.loop.timer(0)
        t.start(boom)
        gevent.sleep(0.01)
        err = capfd.readouterr().err
        assert 'ValueError: boom-hub-watcher' in err
        assert ' failed with ValueError' in err
        t.close()


# ---------------------------------------------------------------------------
# Watchers
# ---------------------------------------------------------------------------

def _factories(r_fd):
    tmpdir = tempfile.gettempdir()
    return {
        'timer': lambda lp: lp.timer(10),
        'idle': lambda lp: lp.idle(),
        'prepare': lambda lp: lp.prepare(),
        'check': lambda lp: lp.check(),
        'io': lambda lp: lp.io(r_fd, core.READ),
        'async_': lambda lp: lp.async_(),
        'fork': lambda lp: lp.fork(),
        'stat': lambda lp: lp.stat(tmpdir),
    }


WATCHER_KINDS = ['timer', 'idle', 'prepare', 'check', 'io', 'async_', 'fork', 'stat']


class TestWatcherCommon:

    @pytest.mark.parametrize('kind', WATCHER_KINDS)
    def test_lifecycle(self, kind, loop, pipe):
        w = _factories(pipe[0])[kind](loop)
        assert w.active is False
        assert not w.pending
        assert w.ref is True
        assert w.priority == 0
        assert w.callback is None

        def cb(*args):
            pass

        w.start(cb, 1, 'two')
        assert w.active is True
        assert w.callback is cb
        assert w.args == (1, 'two')
        w.stop()
        assert w.active is False
        w.start(cb)
        assert w.active
        w.close()
        assert not w.active
        w.close()  # idempotent
        w.stop()   # harmless after close

    @pytest.mark.parametrize('kind', WATCHER_KINDS)
    def test_context_manager_closes(self, kind, loop, pipe):
        with _factories(pipe[0])[kind](loop) as w:
            w.start(lambda *a: None)
            assert w.active
        assert not w.active

    @pytest.mark.parametrize('kind', WATCHER_KINDS)
    def test_start_requires_callable(self, kind, loop, pipe):
        w = _factories(pipe[0])[kind](loop)
        with pytest.raises(TypeError):
            w.start(None)
        with pytest.raises(TypeError):
            w.start(5)
        assert not w.active
        w.close()

    def test_callback_and_args_attributes_are_validated(self, loop):
        t = loop.timer(10)
        t.start(lambda *a: None)
        with pytest.raises(TypeError):
            t.callback = 5
        with pytest.raises(TypeError):
            t.callback = False
        t.args = (1, 2, 3)
        assert t.args == (1, 2, 3)
        with pytest.raises(TypeError):
            t.args = [4, 5]
        with pytest.raises(TypeError):
            t.args = 5
        assert t.args == (1, 2, 3)
        t.stop()

    def test_callback_and_args_cleared_after_one_shot_fires(self, loop):
        out = []
        t = loop.timer(0.001)
        t.start(out.append, 'x')
        loop.run()
        assert out == ['x']
        assert not t.active
        assert not t.pending
        assert t.callback is None
        assert t.args is None

    def test_watcher_restarted_from_its_own_callback(self, loop):
        out = []
        t = loop.timer(0.001)

        def cb(n):
            out.append(n)
            if n < 3:
                t.start(cb, n + 1)

        t.start(cb, 1)
        loop.run()
        assert out == [1, 2, 3]

    def test_ref_false_and_back(self, loop):
        t = loop.timer(10)
        t.ref = False
        assert t.ref is False
        t.ref = True
        assert t.ref is True

    def test_priority_settable_only_when_inactive(self, loop):
        t = loop.timer(10)
        t.priority = core.MAXPRI
        assert t.priority == core.MAXPRI
        t.start(lambda: None)
        with pytest.raises(AttributeError):
            t.priority = 0
        assert t.priority == core.MAXPRI
        t.stop()
        t.priority = core.MINPRI
        assert t.priority == core.MINPRI

    def test_higher_priority_runs_first(self, loop):
        order = []
        lo = loop.timer(0)
        lo.priority = core.MINPRI
        hi = loop.timer(0)
        hi.priority = core.MAXPRI
        lo.start(order.append, 'lo')
        hi.start(order.append, 'hi')
        loop.run()
        assert order == ['hi', 'lo']

    def test_lower_priority_idle_starves_while_higher_idle_active(self, loop):
        hi = loop.idle()
        hi.priority = core.MAXPRI
        lo = loop.idle()
        lo.priority = core.MINPRI
        hi_calls = []
        lo_saw = []

        def on_hi():
            hi_calls.append(1)
            if len(hi_calls) == 3:
                hi.stop()

        def on_lo():
            lo_saw.append(len(hi_calls))
            lo.stop()

        lo.start(on_lo)
        hi.start(on_hi)
        loop.run()
        assert lo_saw == [3]

    def test_pending_is_visible_between_expiry_and_callback(self, loop):
        seen = []
        t1 = loop.timer(0)
        t2 = loop.timer(0)
        t1.start(lambda: seen.append(bool(t2.pending)))
        t2.start(lambda: seen.append(bool(t1.pending)))
        loop.run()
        # Whichever runs first sees the other still pending.
        assert sorted(seen) == [False, True]


class TestTimer:

    def test_timer_via_hub_wait(self):
        hub = get_hub()
        hub.loop.update_now()  # timers count from the loop's cached 'now'
        start = time.monotonic()
        with hub.loop.timer(0.05) as t:
            hub.wait(t)
        elapsed = time.monotonic() - start
        assert 0.04 <= elapsed < 2, elapsed

    def test_repeat(self, loop):
        t = loop.timer(0.001, 0.001)
        hits = []

        def cb():
            hits.append(1)
            if len(hits) == 4:
                t.stop()

        t.start(cb)
        loop.run()
        assert len(hits) == 4

    def test_again_uses_repeat_interval(self, loop):
        # again() (re)arms with the *repeat* value, not the initial delay.
        t = loop.timer(30, 0.02)
        hits = []

        def cb():
            hits.append(time.monotonic())
            if len(hits) == 3:
                t.stop()

        start = time.monotonic()
        t.again(cb)
        assert t.active
        assert t.args == ()
        loop.run()
        assert len(hits) == 3
        assert hits[-1] - start < 5

    def test_again_restarts_running_timer(self, loop):
        fired = []
        t = loop.timer(0.2, 0.2)
        t.start(lambda: (fired.append(time.monotonic()), t.stop()))
        kick = loop.timer(0.1)
        kick.start(lambda: t.again(lambda: (fired.append(time.monotonic()), t.stop())))
        start = time.monotonic()
        loop.run()
        # Restarted at ~0.1 with repeat 0.2: fires once, at ~0.3, not at 0.2.
        assert len(fired) == 1
        assert fired[0] - start >= 0.25

    def test_negative_after_fires_immediately(self, loop):
        fired = []
        t = loop.timer(-1)
        t.start(fired.append, 'neg')
        start = time.monotonic()
        loop.run()
        assert fired == ['neg']
        assert time.monotonic() - start < 1

    def test_negative_repeat_is_value_error(self, loop):
        with pytest.raises(ValueError):
            loop.timer(1, -1)

    def test_wrong_type(self, loop):
        with pytest.raises(TypeError):
            loop.timer('x')
        with pytest.raises(TypeError):
            loop.timer(None)


class TestIO:

    def test_io_read_via_hub_wait(self, pipe):
        r, w = pipe
        hub = get_hub()
        io = hub.loop.io(r, core.READ)
        assert io.fd == r
        assert io.events & core.READ
        writer = gevent.spawn_later(0.02, os.write, w, b'x')
        try:
            with gevent.Timeout(5):
                hub.wait(io)
            assert os.read(r, 1) == b'x'
            assert not io.active
        finally:
            io.close()
            writer.kill()

    def test_io_callback_and_pass_events(self, loop, pipe):
        r, w = pipe
        got = []
        io = loop.io(w, core.WRITE)

        def cb(*args):
            got.append(args)
            io.stop()

        io.start(cb, 'a')
        loop.run()
        assert got == [('a',)]
        got.clear()
        io.start(cb, pass_events=True)
        loop.run()
        assert len(got) == 1
        assert got[0][0] & core.WRITE

    def test_negative_fd(self, loop):
        with pytest.raises(ValueError):
            loop.io(-1, 1)

    def test_closed_fd(self, loop):
        r, w = os.pipe()
        os.close(r)
        os.close(w)
        with pytest.raises(OSError) as exc:
            loop.io(r, core.READ)
        assert exc.value.errno == errno.EBADF

    @pytest.mark.parametrize('events', [8, 123, -1, core.READ | 8])
    def test_bad_event_mask(self, loop, pipe, events):
        with pytest.raises(ValueError):
            loop.io(pipe[0], events)

    def test_zero_event_mask_is_accepted_and_harmless(self):
        # gevent accepts events=0; starting such a watcher must not abort.
        res = run_python("""
            import os
            import geventc as gevent
            hub = gevent.get_hub()
            r, w = os.pipe()
            io = hub.loop.io(r, 0)
            io.start(lambda *a: print('called'))
            os.write(w, b'x')
            gevent.sleep(0.05)
            io.close()
            print('done')
        """)
        assert_ok(res)
        assert res.stdout.split() == ['done']

    def test_wrong_fd_type(self, loop):
        with pytest.raises(TypeError):
            loop.io('x', core.READ)
        with pytest.raises(TypeError):
            loop.io(1.5, core.READ)


class TestOtherWatchers:

    def test_prepare_runs_before_check_each_iteration(self, loop):
        order = []
        p = loop.prepare()
        c = loop.check()
        i = loop.idle()
        p.start(order.append, 'P')
        c.start(order.append, 'C')

        def on_idle():
            order.append('I')
            if order.count('I') == 3:
                p.stop()
                c.stop()
                i.stop()

        i.start(on_idle)
        loop.run()
        pc = [x for x in order if x in 'PC']
        assert pc[:6] == ['P', 'C', 'P', 'C', 'P', 'C']
        assert order.count('I') == 3
        # Each idle callback comes after the prepare of its iteration.
        assert order.index('I') > order.index('P')

    def test_idle_via_hub_wait(self):
        hub = get_hub()
        with hub.loop.idle() as w:
            with gevent.Timeout(5):
                hub.wait(w)

    def test_async_send_from_thread_wakes_blocked_loop(self, loop):
        keepalive = loop.timer(10)
        keepalive.start(lambda: None)
        a = loop.async_()
        got = []

        def cb():
            got.append(threading.current_thread() is threading.main_thread())
            keepalive.stop()
            a.stop()

        a.start(cb)
        th = threading.Thread(target=lambda: (time.sleep(0.1), a.send()))
        start = time.monotonic()
        th.start()
        loop.run()
        elapsed = time.monotonic() - start
        th.join()
        assert got == [True]
        assert elapsed < 2.0, elapsed
        a.close()

    def test_async_via_hub_wait(self):
        hub = get_hub()
        a = hub.loop.async_()
        th = threading.Thread(target=lambda: (time.sleep(0.05), a.send()))
        th.start()
        start = time.monotonic()
        try:
            with gevent.Timeout(10):
                hub.wait(a)
        finally:
            th.join()
            a.close()
        assert time.monotonic() - start < 2

    def test_async_send_before_run_is_delivered(self, loop):
        a = loop.async_()
        got = []
        a.start(lambda: (got.append(1), a.stop()))
        a.send()
        loop.run()
        assert got == [1]

    def test_stat_watcher_sees_file_creation(self, tmp_path):
        hub = get_hub()
        path = str(tmp_path / 'watched')
        st = hub.loop.stat(path, 0.01)
        assert st.path == path
        assert st.attr is None  # does not exist yet

        def create():
            with open(path, 'w') as f:
                f.write('x')

        g = gevent.spawn_later(0.05, create)
        try:
            with gevent.Timeout(5):
                hub.wait(st)
            assert st.attr is not None
        finally:
            st.close()
            g.kill()

    def test_stat_requires_str_path(self, loop):
        with pytest.raises(TypeError):
            loop.stat(1)

    def test_signal_watcher(self):
        res = run_python("""
            import os, signal
            import geventc as gevent
            hub = gevent.get_hub()
            s = hub.loop.signal(signal.SIGUSR1)
            gevent.spawn_later(0.05, os.kill, os.getpid(), signal.SIGUSR1)
            with gevent.Timeout(5):
                hub.wait(s)
            print('got signal')
            got = []
            s.start(got.append, 'cb')
            os.kill(os.getpid(), signal.SIGUSR1)
            gevent.sleep(0.05)
            print(got)
            s.close()
        """)
        assert_ok(res)
        assert res.stdout.splitlines() == ['got signal', "['cb']"]

    @pytest.mark.parametrize('signum', [0, -1, 1000])
    def test_signal_bad_number(self, loop, signum):
        with pytest.raises(ValueError):
            loop.signal(signum)

    def test_signal_wrong_type(self, loop):
        with pytest.raises(TypeError):
            loop.signal('x')

    def test_child_watcher_on_default_loop(self):
        res = run_python("""
            import os, sys
            import geventc as gevent
            hub = gevent.get_hub()
            pid = os.posix_spawn(sys.executable,
                                 [sys.executable, '-c', 'import time, sys; time.sleep(0.3); sys.exit(3)'],
                                 dict(os.environ))
            ch = hub.loop.child(pid)
            assert ch.pid == pid, (ch.pid, pid)
            with gevent.Timeout(10):
                hub.wait(ch)
            print(ch.rpid == pid, os.WIFEXITED(ch.rstatus), os.WEXITSTATUS(ch.rstatus))
        """)
        assert_ok(res)
        assert res.stdout.split() == ['True', 'True', '3']

    def test_child_watcher_requires_default_loop(self, loop):
        with pytest.raises(TypeError):
            loop.child(os.getpid())

    def test_fork_watcher_fires_in_child_only(self):
        res = run_python("""
            import os
            import geventc as gevent
            hub = gevent.get_hub()
            seen = []
            fw = hub.loop.fork()
            fw.start(seen.append, 'fork')
            gevent.sleep(0.01)
            pid = os.fork()
            if pid == 0:
                gevent.reinit()
                gevent.sleep(0.01)
                gevent.sleep(0.01)
                os._exit(0 if seen == ['fork'] else 1)
            _, status = os.waitpid(pid, 0)
            gevent.sleep(0.01)
            print(os.WEXITSTATUS(status), seen)
        """)
        assert_ok(res)
        assert res.stdout.strip() == '0 []'


# ---------------------------------------------------------------------------
# Bad arguments that must become Python errors
# ---------------------------------------------------------------------------

class TestBadLoopArguments:

    def test_unknown_backend_name(self):
        with pytest.raises(ValueError, match='Invalid backend or flag'):
            core.loop('nosuchbackend')

    def test_unknown_backend_in_list(self):
        with pytest.raises(ValueError):
            core.loop(['epoll', 'blabla'], default=False)

    def test_unsupported_backend(self):
        if 'port' in core.supported_backends():  # pragma: no cover
            pytest.skip('port backend supported here')
        with pytest.raises(ValueError, match='Unsupported backend'):
            core.loop('port', default=False)

    def test_non_iterable_flags(self):
        with pytest.raises(TypeError):
            core.loop(object())

    def test_watcher_start_after_loop_destroyed(self):
        lp = core.loop(default=False)
        t = lp.timer(0.01)
        i = lp.idle()
        lp.destroy()
        with pytest.raises(ValueError):
            t.start(lambda: None)
        with pytest.raises(ValueError):
            i.start(lambda: None)
        assert not t.active

    def test_destroyed_loop_in_subprocess_never_crashes(self):
        res = run_python("""
            from geventc import core
            lp = core.loop(default=False)
            t = lp.timer(0.01)
            t.start(lambda: None)
            lp.destroy()
            for name, f in [('run', lp.run), ('run_callback', lambda: lp.run_callback(print)),
                            ('now', lp.now), ('update_now', lp.update_now),
                            ('break_', lp.break_), ('stop', t.stop), ('close', t.close),
                            ('start', lambda: t.start(print))]:
                try:
                    f()
                except ValueError:
                    pass
            lp.destroy()
            print('survived')
        """)
        assert_ok(res)
        assert res.stdout.strip() == 'survived'


class TestGeventcOnlyHardening:
    """Inputs on which gevent 26.9.0 aborts, hangs or silently misbehaves."""

    @pytest.mark.geventc_only
    def test_nan_repeat_raises_instead_of_libev_abort(self):
        # gevent: libev assertion "negative timer repeat value" -> SIGABRT.
        res = run_python("""
            import geventc as gevent
            lp = gevent.get_hub().loop
            try:
                t = lp.timer(0.01, float('nan'))
                t.start(lambda: None)
                gevent.sleep(0.05)
            except Exception as e:
                print('raised', type(e).__name__)
            else:
                print('no error')
        """)
        assert_not_killed_by_signal(res)
        assert res.stdout.startswith('raised'), describe(res)

    @pytest.mark.geventc_only
    def test_huge_fd_raises_instead_of_truncating(self, loop):
        # gevent silently watches fd 0 for loop.io(2**40, 1).
        with pytest.raises(Exception):
            loop.io(2 ** 40, core.READ)

    @pytest.mark.geventc_only
    def test_destroy_default_loop_from_its_own_callback(self):
        # gevent: segfault.
        res = run_python("""
            import geventc as gevent
            hub = gevent.get_hub()
            result = []
            def cb():
                try:
                    hub.loop.destroy()
                except Exception as e:
                    result.append(type(e).__name__)
                else:
                    result.append('no error')
            hub.loop.run_callback(cb)
            try:
                gevent.sleep(0.05)
            except BaseException as e:
                result.append('sleep: ' + type(e).__name__)
            print(result[0])
        """)
        assert_not_killed_by_signal(res)
        assert res.stdout.strip() not in ('', 'no error'), describe(res)


class TestOwnDescriptorAndClosingFd:

    @pytest.mark.geventc_only
    def test_io_on_the_loops_own_epoll_fd_is_an_error(self):
        # gevent: libev's assert aborts the process.
        lp = core.loop('epoll', default=False)
        try:
            with pytest.raises(ValueError):
                lp.io(lp.fileno(), core.READ)
        finally:
            lp.destroy()

    @pytest.mark.geventc_only
    def test_closing_fd_wakes_the_watchers_of_that_fd(self, loop):
        r, w = os.pipe()
        try:
            seen = []
            watcher = loop.io(r, core.READ)
            watcher.start(seen.append, 'woken')
            assert loop.closing_fd(r) is True
            loop.run(once=True)
            assert seen == ['woken']
            watcher.stop()
            assert loop.closing_fd(w) is False  # nobody watches w
        finally:
            os.close(r)
            os.close(w)


# ---------------------------------------------------------------------------
# gevent.core's module helpers and constants, the shared default loop
# ---------------------------------------------------------------------------

def test_events_to_str_names_every_bit_and_hex_for_the_rest():
    assert core._events_to_str(core.READ | core.WRITE) == 'READ|WRITE'
    assert core._events_to_str(core.SIGNAL | core.ASYNC) == 'SIGNAL|ASYNC'
    assert core._events_to_str(0) == ''
    # A bit libev has no name for is shown in hex, after the named ones.
    assert core._events_to_str(core.READ | 0x40000000) == 'READ|0x40000000'


def test_flags_to_int_and_list_use_gevents_names():
    assert core._flags_to_int(None) == 0
    assert core._flags_to_int('') == 0
    assert core._flags_to_int(['kqueue', 'SELECT']) == core.BACKEND_KQUEUE | core.BACKEND_SELECT
    assert core._flags_to_int(' epoll, poll') == core.BACKEND_EPOLL | core.BACKEND_POLL
    assert core._flags_to_int(7) == 7
    assert core._flags_to_list(core.BACKEND_PORT | core.BACKEND_POLL) == ['port', 'poll']
    assert core._flags_to_list(core.BACKEND_IOURING | core.BACKEND_LINUXAIO) == ['linux_iouring', 'linux_aio']
    with pytest.raises(ValueError):
        core._flags_to_int(['port', 'blabla'])
    with pytest.raises(TypeError):
        core._flags_to_int(object())


def test_check_flags_accepts_a_set_with_one_supported_backend():
    # libev uses whichever of the named backends it has.
    core._check_flags(core.BACKEND_PORT | core.BACKEND_POLL)
    with pytest.raises(ValueError, match='Unsupported backend: port'):
        core._check_flags(core.BACKEND_PORT)
    lp = core.loop('port,poll', default=False)
    try:
        assert lp.backend == 'poll'
    finally:
        lp.destroy()


def test_io_events_show_libevs_fd_set_bit_until_the_loop_runs():
    lp = core.loop(default=False)
    r, w = os.pipe()
    try:
        io = lp.io(w, core.READ)
        io.events = core.WRITE
        assert core._events_to_str(io.events) == 'WRITE|_IOFDSET'
        assert io.events_str == 'WRITE|_IOFDSET'
        io.start(lambda: io.stop())
        lp.run()
        assert io.events == core.WRITE
        io.close()
    finally:
        lp.destroy()
        os.close(r)
        os.close(w)


def test_loop_has_the_old_async_name():
    lp = core.loop(default=False)
    try:
        assert isinstance(getattr(lp, 'async')(), core.async_)
    finally:
        lp.destroy()
    assert getattr(core, 'async') is core.async_


def _run_in_child(code):
    assert_ok(run_python(code, timeout=60))


def test_default_loop_objects_share_one_loop_and_die_together():
    # As gevent's: loop(default=True) is the libev default loop each time;
    # destroying any of the objects destroys it for all.
    _run_in_child('''
import geventc as gevent
from geventc import core
hub = gevent.get_hub()
assert hub.loop.default
other = gevent.config.loop(default=True)
assert other.default and other.ptr == hub.loop.ptr
fired = []
t = other.timer(0.01)
t.start(fired.append, 1)
gevent.sleep(0.05)
assert fired == [1], fired
other.destroy()
assert not other.default and not other.ptr
hub.destroy(destroy_loop=True)
assert gevent.get_hub().loop.default
hub = gevent.get_hub()
a = core.loop(default=True)
b = core.loop(default=True)
assert a.default and b.default
a.destroy()
assert not a.default
b.destroy()
assert not b.default and not b.ptr
hub.destroy(destroy_loop=True)
assert gevent.get_hub().loop.ptr
gevent.sleep(0.01)
print('ok')
''')


@pytest.mark.geventc_only
def test_destroying_another_default_loop_object_destroys_the_hubs():
    # gevent leaves the hub's object claiming a live loop whose libev loop
    # is gone (using it then crashes); here it reports itself destroyed.
    _run_in_child('''
import geventc as gevent
hub = gevent.get_hub()
gevent.sleep(0.001)
gevent.config.loop(default=True).destroy()
assert not hub.loop.default and not hub.loop.ptr
try:
    hub.loop.timer(1)
except ValueError:
    pass
else:
    raise AssertionError('a destroyed loop made a watcher')
hub.destroy(destroy_loop=True)
gevent.sleep(0.001)
''')


def test_stat_interval_is_libevs_once_started(tmp_path):
    path = tmp_path / 'f'
    path.write_bytes(b'')
    lp = core.loop(default=False)
    try:
        st = lp.stat(str(path), interval=-1)
        assert st.interval == -1
        st.start(lambda: None)
        # libev raises an interval below its minimum when it starts.
        assert st.interval > 0
        st.close()
    finally:
        lp.destroy()


def test_timer_start_reads_the_clock_only_from_callbacks():
    # As gevent's: outside the loop's callbacks the loop time is that of its
    # last poll, and a timer starts from it; inside them it is updated.
    lp = core.loop(default=False)
    try:
        seen = []

        def start_timer():
            before = lp.now()
            time.sleep(0.02)
            t = lp.timer(10)
            t.start(lambda: None)
            seen.append(lp.now() - before)
            t.close()

        start_timer()
        assert seen[0] == 0
        lp.run_callback(start_timer)
        lp.run()
        assert seen[1] >= 0.015
    finally:
        lp.destroy()


# ---------------------------------------------------------------------------
# A watched fd closed behind libev's back: no abort, the watchers are told
# ---------------------------------------------------------------------------
# libev (built with its asserts, as the system's is) aborts the process when
# it hands a closed fd to epoll_ctl. gevent's build aborts in these cases;
# libev without asserts stops the fd's watchers and tells them
# READ|WRITE|ERROR, which is what geventc does.

@pytest.mark.geventc_only
def test_fd_closed_before_the_loop_polls_kills_its_watchers():
    res = run_python('''
import os
import geventc as gevent
from geventc import core
from geventc.socket import wait_read
hub = gevent.get_hub()
r, w = os.pipe()
gevent.spawn(os.close, r)
wait_read(r, timeout=5)         # woken, not timed out
print('woken')

# Two watchers on one fd, one stopped after the close: libev would change
# the fd's kernel mask.
r, w = os.pipe()
seen = []
a = hub.loop.io(w, core.WRITE)
b = hub.loop.io(w, core.READ)
a.start(lambda events: seen.append(('a', events)), pass_events=True)
b.start(lambda events: seen.append(('b', events)), pass_events=True)
gevent.sleep(0.01)              # both are in the kernel now
os.close(w)
a.stop()
gevent.sleep(0.01)
assert [name for name, _ in seen if name == 'b'] == ['b'], seen
events = [e for name, e in seen if name == 'b'][0]
assert events < 0 and events & core.READ and events & core.WRITE, events
assert not b.active
assert core._events_to_str(events).endswith('ERROR')
os.close(r)
print('ok')
''')
    assert_not_killed_by_signal(res)
    assert_ok(res)
    assert res.stdout.split() == ['woken', 'ok']


@pytest.mark.geventc_only
def test_fd_closed_in_a_forked_child_before_its_loop_runs():
    # After fork libev hands every watched fd to the child's new epoll.
    res = run_python('''
import os
import geventc as gevent
from geventc import core
hub = gevent.get_hub()
r, w = os.pipe()
seen = []
io = hub.loop.io(r, core.READ)
io.start(lambda events: seen.append(events), pass_events=True)
gevent.sleep(0.01)
pid = os.fork()
if pid == 0:
    os.close(r)
    gevent.sleep(0.01)
    os._exit(0 if seen and seen[0] < 0 else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
''')
    assert_not_killed_by_signal(res)
    assert_ok(res)
    assert res.stdout.strip() == '0'
