"""Signals, Ctrl-C, threads and fork.

Everything that can kill or wedge the interpreter runs in a child process
(see _helpers.Child / run_python); the parent asserts on its output and
exit status and bounds every wait.
"""
import signal
import threading
import time

import pytest

import geventc as gevent
from geventc import Timeout
from geventc.hub import Waiter, get_hub

from _helpers import Child, assert_ok, describe, run_python

pytestmark = pytest.mark.filterwarnings('error')


# ---------------------------------------------------------------------------
# gevent.signal_handler
# ---------------------------------------------------------------------------

class TestSignalHandler:

    def test_handler_runs_in_greenlet_with_args(self):
        res = run_python("""
            import os, signal
            import geventc as gevent
            from greenlet import getcurrent
            got = []
            def handler(arg, kw=None):
                cur = getcurrent()
                got.append((arg, kw, isinstance(cur, gevent.Greenlet), cur is gevent.get_hub()))
            h = gevent.signal_handler(signal.SIGUSR1, handler, 'arg', kw='k')
            print(h.ref)
            os.kill(os.getpid(), signal.SIGUSR1)
            gevent.sleep(0.05)
            os.kill(os.getpid(), signal.SIGUSR1)
            gevent.sleep(0.05)
            print(got)
            h.cancel()
        """)
        assert_ok(res)
        assert res.stdout.splitlines() == [
            'False', "[('arg', 'k', True, False), ('arg', 'k', True, False)]"]

    def test_handler_wakes_blocked_hub_promptly(self):
        with Child("""
            import signal, time
            import geventc as gevent
            got = []
            def handler():
                got.append(time.monotonic())
                print('handled', flush=True)
            h = gevent.signal_handler(signal.SIGUSR1, handler)
            print('ready', flush=True)
            with gevent.Timeout(30, False):
                while not got:
                    gevent.sleep(60)
            print('main resumed' if not got else 'done')
        """) as child:
            assert child.readline() == 'ready'
            time.sleep(0.2)
            start = time.monotonic()
            child.send_signal(signal.SIGUSR1)
            assert child.readline(timeout=10) == 'handled'
            assert time.monotonic() - start < 1.0
            child.kill()

    def test_handler_error_is_printed_and_raised_in_main(self):
        # gevent reports handler errors with context None, i.e. as a system
        # error: printed, then thrown into the main greenlet.
        res = run_python("""
            import os, signal
            import geventc as gevent
            from greenlet import getcurrent
            def handler():
                raise ValueError('in signal handler')
            h = gevent.signal_handler(signal.SIGUSR1, handler)
            os.kill(os.getpid(), signal.SIGUSR1)
            try:
                gevent.sleep(5)
            except ValueError as e:
                print('main got', e, getcurrent().parent is None)
            h.cancel()
        """)
        assert_ok(res)
        assert res.stdout.strip() == 'main got in signal handler True'
        assert 'ValueError: in signal handler' in res.stderr

    def test_non_callable_handler(self):
        with pytest.raises(TypeError):
            gevent.signal_handler(signal.SIGUSR1, 5)

    def test_bad_signal_number(self):
        with pytest.raises(ValueError):
            gevent.signal_handler(1000, print)

    def test_cancelled_handler_not_called(self):
        res = run_python("""
            import os, signal
            import geventc as gevent
            py = []
            got = []
            h = gevent.signal_handler(signal.SIGUSR2, got.append, 'gevent')
            h.cancel()
            # keep the process alive: a Python handler to fall back to
            signal.signal(signal.SIGUSR2, lambda s, f: py.append(s))
            os.kill(os.getpid(), signal.SIGUSR2)
            gevent.sleep(0.05)
            print(got, len(py))
        """)
        assert_ok(res)
        assert res.stdout.strip() == '[] 1'

    @pytest.mark.geventc_only
    def test_previous_python_handler_restored_after_cancel(self):
        # gevent 26.9.0: libev resets the disposition to SIG_DFL on cancel,
        # so the next SIGUSR1 kills the process.
        res = run_python("""
            import os, signal
            import geventc as gevent
            py = []
            signal.signal(signal.SIGUSR1, lambda s, f: py.append(s))
            got = []
            h = gevent.signal_handler(signal.SIGUSR1, got.append, 'gevent')
            os.kill(os.getpid(), signal.SIGUSR1)
            gevent.sleep(0.05)
            h.cancel()
            os.kill(os.getpid(), signal.SIGUSR1)
            gevent.sleep(0.05)
            print(got, py == [signal.SIGUSR1])
        """)
        assert_ok(res)
        assert res.stdout.strip() == "['gevent'] True"


# ---------------------------------------------------------------------------
# Python-level signal handlers and Ctrl-C while the hub is blocked
# ---------------------------------------------------------------------------

SIGINT_CHILD = """
    import sys, threading, time
    import geventc as gevent
    from greenlet import getcurrent
    mode = %r
    if mode == 'busy-thread':
        stop = []
        def spin():
            x = 0
            while not stop:
                x += 1
        threading.Thread(target=spin, daemon=True).start()
    print('ready', flush=True)
    try:
        if mode == 'join':
            g = gevent.spawn(gevent.sleep, 60)
            g.join()
        else:
            gevent.sleep(60)
    except KeyboardInterrupt:
        print('KeyboardInterrupt in main', getcurrent().parent is None, flush=True)
    else:
        print('sleep returned', flush=True)
"""


class TestCtrlC:

    @pytest.mark.parametrize('mode', ['sleep', 'join', 'busy-thread'])
    def test_sigint_raises_keyboardinterrupt_in_main_promptly(self, mode):
        with Child(SIGINT_CHILD % mode) as child:
            assert child.readline() == 'ready'
            time.sleep(0.2)  # let it block in the loop
            start = time.monotonic()
            child.send_signal(signal.SIGINT)
            line = child.readline(timeout=10)
            elapsed = time.monotonic() - start
            assert line == 'KeyboardInterrupt in main True', child.lines
            assert elapsed < 1.0, elapsed
            rc, out, err = child.wait()
            assert rc == 0, (rc, out, err)

    def test_uncaught_sigint_exits_with_keyboardinterrupt(self):
        with Child("""
            import geventc as gevent
            print('ready', flush=True)
            gevent.sleep(60)
        """) as child:
            assert child.readline() == 'ready'
            time.sleep(0.2)
            child.send_signal(signal.SIGINT)
            rc, out, err = child.wait(timeout=10)
            assert rc != 0
            assert 'KeyboardInterrupt' in err

    def test_python_handler_runs_promptly_and_sleep_continues(self):
        res = run_python("""
            import os, signal, threading, time
            import geventc as gevent
            got = []
            signal.signal(signal.SIGUSR1, lambda s, f: got.append(time.monotonic()))
            sent = []
            def killer():
                time.sleep(0.1)
                sent.append(time.monotonic())
                os.kill(os.getpid(), signal.SIGUSR1)
            th = threading.Thread(target=killer)
            th.start()
            start = time.monotonic()
            gevent.sleep(0.5)
            slept = time.monotonic() - start
            th.join()
            print(len(got), round(got[0] - sent[0], 3) < 0.5, slept >= 0.45)
        """)
        assert_ok(res)
        assert res.stdout.split() == ['1', 'True', 'True']

    def test_exception_from_python_handler_reaches_main(self):
        res = run_python("""
            import os, signal, threading, time
            import geventc as gevent
            from greenlet import getcurrent
            class Alarm(Exception):
                pass
            def handler(s, f):
                raise Alarm('sig')
            signal.signal(signal.SIGUSR1, handler)
            threading.Thread(target=lambda: (time.sleep(0.1), os.kill(os.getpid(), signal.SIGUSR1))).start()
            start = time.monotonic()
            try:
                gevent.sleep(60)
            except Alarm:
                print('Alarm in main', getcurrent().parent is None, time.monotonic() - start < 1.5)
        """)
        assert_ok(res)
        assert res.stdout.strip() == 'Alarm in main True True'

    def test_signal_from_other_thread_while_it_runs_python(self):
        # Another thread is busy in Python code (and may receive the signal at
        # the OS level); the main thread's hub, blocked in a 60 s sleep, must
        # still run the handler quickly (here it raises into main).
        res = run_python("""
            import os, signal, threading, time
            import geventc as gevent
            class Alarm(Exception):
                pass
            def handler(s, f):
                raise Alarm()
            signal.signal(signal.SIGUSR2, handler)
            stop = []
            sent = []
            def busy_then_kill():
                x = 0
                deadline = time.monotonic() + 0.1
                while time.monotonic() < deadline:
                    x += 1
                sent.append(time.monotonic())
                os.kill(os.getpid(), signal.SIGUSR2)
                while not stop:
                    x += 1
            th = threading.Thread(target=busy_then_kill)
            th.start()
            try:
                gevent.sleep(60)
            except Alarm:
                print('Alarm', time.monotonic() - sent[0] < 1.0)
            stop.append(1)
            th.join()
        """)
        assert_ok(res)
        assert res.stdout.strip() == 'Alarm True'


# ---------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------

class TestThreads:

    def test_threads_run_gevent_concurrently(self):
        results = {}
        errors = []

        def worker(i):
            try:
                hub = get_hub()
                gs = [gevent.spawn(lambda n=n: (gevent.sleep(0.5), n)[1]) for n in range(3)]
                gevent.joinall(gs)
                results[i] = ([g.value for g in gs], id(hub))
                hub.destroy(destroy_loop=True)
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        start = time.monotonic()
        for t in threads:
            t.start()
        gevent.sleep(0.2)  # the main hub works at the same time
        for t in threads:
            t.join(20)
        elapsed = time.monotonic() - start
        assert not errors, errors
        assert all(v[0] == [0, 1, 2] for v in results.values())
        assert len({v[1] for v in results.values()}) == 4
        assert elapsed < 1.5, elapsed  # 4 x 0.5 s sequentially would be 2 s

    def test_main_wakes_thread_hub_blocked_in_long_wait(self):
        ready = threading.Event()
        box = {}

        def worker():
            hub = get_hub()
            w = Waiter()
            box['hub'] = hub
            box['waiter'] = w
            ready.set()
            try:
                with Timeout(10):
                    box['result'] = w.get()
                box['woke'] = time.monotonic()
            finally:
                hub.destroy(destroy_loop=True)

        th = threading.Thread(target=worker)
        th.start()
        assert ready.wait(10)
        time.sleep(0.1)  # the thread's hub is now blocked in its backend
        sent = time.monotonic()
        box['hub'].loop.run_callback_threadsafe(box['waiter'].switch, 'wake')
        th.join(10)
        assert not th.is_alive()
        assert box['result'] == 'wake'
        assert box['woke'] - sent < 1.0

    def test_thread_hub_does_not_block_main_hub(self):
        # A thread blocked in its own hub must not stop the main hub.
        stop = threading.Event()

        def worker():
            hub = get_hub()
            while not stop.is_set():
                gevent.sleep(0.01)
            hub.destroy(destroy_loop=True)

        th = threading.Thread(target=worker)
        th.start()
        try:
            start = time.monotonic()
            out = []
            gevent.spawn(out.append, 'main ok')
            gevent.sleep(0.05)
            assert out == ['main ok']
            assert time.monotonic() - start < 2
        finally:
            stop.set()
            th.join(10)


# ---------------------------------------------------------------------------
# fork
# ---------------------------------------------------------------------------

FORK_CHILD = """
    import os, sys, time
    import geventc as gevent
    mode = %r
    gevent.sleep(0.01)                       # hub + loop exist before forking
    bg = gevent.spawn(gevent.sleep, 0.2)     # something pending in the parent
    fork_seen = []
    fw = gevent.get_hub().loop.fork()
    fw.start(fork_seen.append, 'forked')
    pid = gevent.fork() if mode == 'gevent.fork' else os.fork()
    if pid == 0:
        code = 3
        try:
            if mode == 'os.fork+reinit':
                gevent.reinit()
            start = time.monotonic()
            gevent.sleep(0.05)
            fired = []
            t = gevent.get_hub().loop.timer(0.02)
            t.start(fired.append, 'timer')
            g = gevent.spawn(lambda x: x * 2, 21)
            value = g.get(timeout=5)
            gevent.sleep(0.05)
            with gevent.Timeout(5):
                gevent.joinall([gevent.spawn(gevent.sleep, 0.01) for _ in range(3)])
            ok = (value == 42 and fired == ['timer'] and fork_seen == ['forked']
                  and time.monotonic() - start < 5)
            print('child', value, fired, fork_seen, flush=True)
            code = 0 if ok else 1
        except BaseException as e:
            print('child error', repr(e), flush=True)
            code = 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    bg.join()
    print('parent', os.WIFEXITED(status), os.WEXITSTATUS(status), fork_seen, bg.dead, flush=True)
"""


class TestFork:

    @pytest.mark.parametrize('mode', ['os.fork', 'os.fork+reinit', 'gevent.fork'])
    def test_gevent_works_in_forked_child(self, mode):
        res = run_python(FORK_CHILD % mode)
        assert_ok(res)
        lines = res.stdout.splitlines()
        assert lines == ["child 42 ['timer'] ['forked']", 'parent True 0 [] True'], describe(res)

    def test_fork_in_a_greenlet(self):
        res = run_python("""
            import os
            import geventc as gevent
            def forker():
                pid = gevent.fork()
                if pid == 0:
                    gevent.sleep(0.01)
                    os._exit(7)
                return pid
            g = gevent.spawn(forker)
            pid = g.get(timeout=5)
            _, status = os.waitpid(pid, 0)
            print(os.WEXITSTATUS(status))
        """)
        assert_ok(res)
        assert res.stdout.strip() == '7'
