"""monkey.patch_thread: threading on greenlets, each case in a fresh interpreter.

What must hold after patching: a Thread is a greenlet in the same native
thread, threading's primitives block cooperatively, the main thread keeps
its identity, exit waits for non-daemon greenlet-threads (and never hangs
on ones that cannot finish), and what existed before patching (an imported
threading, a running native thread, logging's locks, held locks) still works.
"""
import textwrap

import pytest

from _helpers import IMPL_IS_GEVENT, assert_ok, describe, run_python

PATCH = 'from geventc import monkey; monkey.patch_thread()\n'


def run_ok(code, timeout=30, patch=False, clean_stderr=True):
    code = textwrap.dedent(code)
    if patch:
        code = PATCH + code
    res = assert_ok(run_python(code, timeout=timeout))
    if clean_stderr:
        assert 'Traceback' not in res.stderr, describe(res)
    return res


# gevent prints a KeyError traceback when a thread that was running while
# patching ends (geventc does not: see the geventc_only test below).
_GEVENT_KEYERROR = IMPL_IS_GEVENT


def lines(res):
    return res.stdout.split()


def test_thread_runs_as_greenlet_in_the_same_native_thread():
    res = run_ok(patch=True, code='''
        import threading, greenlet, _thread
        import geventc
        main_native = threading.get_native_id()
        order = []

        def work(name):
            me = greenlet.getcurrent()
            assert isinstance(me, geventc.Greenlet), me
            assert threading.get_ident() == _thread.get_ident() == id(me)
            assert threading.get_native_id() == main_native
            assert threading.current_thread().name == name
            for i in range(3):
                order.append('%s%d' % (name, i))
                geventc.sleep(0.001)

        threads = [threading.Thread(target=work, args=(n,), name=n) for n in 'ab']
        for t in threads:
            t.start()
        for t in threads:
            t.join()
            assert not t.is_alive()
        print(' '.join(order))
    ''')
    # start() waits for the thread to begin, so 'a' runs first, then both alternate.
    assert lines(res) == ['a0', 'b0', 'a1', 'b1', 'a2', 'b2']


def test_lock_rlock_condition_semaphore_event_between_threads():
    res = run_ok(patch=True, code='''
        import threading
        import geventc

        # Lock: a blocked acquire lets the holder run; a timed acquire gives up.
        lock = threading.Lock()
        assert type(lock).__module__.startswith(('geventc', 'gevent')), type(lock)
        lock.acquire()
        progress = []
        holder = threading.Thread(target=lambda: (progress.append('ran'), lock.release()))
        assert lock.acquire(timeout=0.05) is False
        holder.start()
        assert lock.acquire(timeout=5) is True and progress == ['ran']
        lock.release()

        # RLock: re-entrant for its owner, refused to another thread.
        rlock = threading.RLock()
        with rlock:
            with rlock:
                errors = []
                def steal():
                    try:
                        rlock.release()
                    except RuntimeError:
                        errors.append('refused')
                t = threading.Thread(target=steal); t.start(); t.join()
                assert errors == ['refused']
                assert rlock.acquire(blocking=False)
                rlock.release()

        # Condition: a consumer waits until the producer notifies.
        cond = threading.Condition()
        items, got = [], []
        def consume():
            with cond:
                while len(got) < 3:
                    while not items:
                        cond.wait()
                    got.append(items.pop(0))
        consumer = threading.Thread(target=consume); consumer.start()
        for i in range(3):
            with cond:
                items.append(i)
                cond.notify()
            geventc.sleep(0.01)
        consumer.join(5)
        assert got == [0, 1, 2], got

        # Semaphore: at most two inside at once.
        sem = threading.BoundedSemaphore(2)
        inside, peak = [0], [0]
        def limited():
            with sem:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
                geventc.sleep(0.01)
                inside[0] -= 1
        ts = [threading.Thread(target=limited) for _ in range(5)]
        [t.start() for t in ts]; [t.join() for t in ts]
        assert peak[0] == 2, peak
        try:
            sem.release()
        except ValueError:
            pass
        else:
            raise AssertionError('over-release accepted')

        # Event: wait(timeout) times out, set() wakes every waiter.
        ev = threading.Event()
        assert ev.wait(0.01) is False
        woke = []
        ws = [threading.Thread(target=lambda: woke.append(ev.wait(5))) for _ in range(3)]
        [t.start() for t in ws]
        ev.set()
        [t.join() for t in ws]
        assert woke == [True, True, True], woke
        print('ok')
    ''')
    assert lines(res) == ['ok']


def test_timer_fires_and_cancel_prevents_it():
    res = run_ok(patch=True, code='''
        import threading, time
        fired = []
        t = threading.Timer(0.05, fired.append, args=('fired',))
        start = time.monotonic()
        t.start()
        t.join(5)
        assert time.monotonic() - start >= 0.04
        c = threading.Timer(0.05, fired.append, args=('cancelled',))
        c.start(); c.cancel(); c.join(5)
        print(' '.join(fired), c.is_alive())
    ''')
    assert lines(res) == ['fired', 'False']


def test_local_is_per_thread_and_threading_local_is_patched():
    res = run_ok(patch=True, code='''
        import threading, _threading_local
        import geventc.local
        assert threading.local is geventc.local.local
        assert _threading_local.local is geventc.local.local
        data = threading.local()
        data.x = 'main'
        seen = []
        def work(n):
            seen.append(hasattr(data, 'x'))
            data.x = n
            threading.Event().wait(0.01)
            seen.append(data.x)
        ts = [threading.Thread(target=work, args=(n,)) for n in (1, 2)]
        [t.start() for t in ts]; [t.join() for t in ts]
        print(seen, data.x)
    ''')
    assert res.stdout.strip() == "[False, False, 1, 2] main"


def test_current_thread_main_thread_and_dummy_threads():
    res = run_ok(patch=True, code='''
        import threading, greenlet
        import geventc
        main = threading.main_thread()
        assert threading.current_thread() is main
        assert main.ident == threading.get_ident() == id(greenlet.getcurrent())
        assert main.is_alive() and 'MainThread' in repr(main)

        inside = []
        t = threading.Thread(target=lambda: inside.append(threading.current_thread()))
        t.start(); t.join()
        assert inside == [t]

        before = len(threading._active)
        def in_greenlet():
            me = threading.current_thread()
            assert isinstance(me, threading._DummyThread), me
            assert me.name.startswith('Dummy-') and me.daemon and me.is_alive()
            assert threading.current_thread() is me
            assert len(threading._active) == before + 1
        g = geventc.spawn(in_greenlet)
        g.join()
        assert g.successful(), g.exception
        # The entry goes in a link that may run after join()'s.
        geventc.sleep(0.01)
        print(len(threading._active) == before)
    ''')
    # The dummy's entry in threading._active went away with its greenlet.
    assert lines(res) == ['True']


def test_join_with_timeout_returns_while_thread_runs():
    res = run_ok(patch=True, code='''
        import threading, time
        stop = threading.Event()
        t = threading.Thread(target=stop.wait, daemon=True)
        t.start()
        start = time.monotonic()
        t.join(0.05)
        waited = time.monotonic() - start
        assert t.is_alive()
        assert 0.04 <= waited < 5, waited
        stop.set()
        t.join(5)
        print(t.is_alive())
    ''')
    assert lines(res) == ['False']


def test_exit_waits_for_non_daemon_threads_not_for_daemons():
    res = run_ok(patch=True, code='''
        import threading
        import geventc
        def late(msg, delay):
            geventc.sleep(delay)
            print(msg, flush=True)
        threading.Thread(target=late, args=('non-daemon-done', 0.1)).start()
        threading.Thread(target=late, args=('daemon-done', 60), daemon=True).start()
        threading.Thread(target=threading.Event().wait, daemon=True).start()
        print('main-done', flush=True)
    ''', timeout=20)
    assert lines(res) == ['main-done', 'non-daemon-done']


def test_exit_with_a_thread_that_can_never_finish_does_not_hang():
    # Nothing can ever set the event: the stdlib would wait forever; with
    # nothing left to run, patched shutdown gives up and the process exits.
    res = run_ok(patch=True, code='''
        import threading
        threading.Thread(target=threading.Event().wait).start()
        print('main-done', flush=True)
    ''', timeout=20)
    assert lines(res) == ['main-done']


def test_greenlet_joining_the_main_thread_wakes_at_exit():
    res = run_ok(patch=True, code='''
        import threading
        import geventc
        def waiter():
            threading.main_thread().join()
            print('main joined', flush=True)
        threading.Thread(target=waiter).start()
        geventc.sleep(0.01)
        print('main-done', flush=True)
    ''', timeout=20)
    assert lines(res) == ['main-done', 'main', 'joined']


def test_threading_imported_before_patching_keeps_its_main_thread():
    res = run_ok('''
        import threading
        before = threading.current_thread()
        from geventc import monkey; monkey.patch_thread()
        import greenlet
        current = threading.current_thread()
        assert current is before is threading.main_thread(), (current, before)
        assert not isinstance(current, threading._DummyThread)
        assert isinstance(current, monkey.get_original('threading', 'Thread'))
        assert current.ident == threading.get_ident() == id(greenlet.getcurrent())
        repr(current)
        t = threading.Thread(target=lambda: None)
        t.start(); t.join()
        print(len(threading._active))
    ''')
    assert lines(res) == ['1']


NATIVE_BEFORE_PATCH = textwrap.dedent('''
    import threading, sys
    from time import sleep as native_sleep
    ticks = []
    class Native(threading.Thread):
        running = True
        def run(self):
            while self.running:
                ticks.append(1)
                native_sleep(0.005)
    native = Native(daemon=True)
    native.start()
    from geventc import monkey; monkey.patch_thread()
    import geventc
    # The native thread keeps running while the main greenlet waits cooperatively.
    seen = len(ticks)
    deadline = 0
    while len(ticks) < seen + 3 and deadline < 1000:
        geventc.sleep(0.005); deadline += 1
    assert len(ticks) >= seen + 3, (seen, len(ticks))
    assert threading.current_thread() is threading.main_thread()
    native.running = False
    native.join(5)
    print(native.is_alive())
    native_sleep(0.1)
''')


def test_native_thread_started_before_patching_keeps_working():
    res = run_ok(NATIVE_BEFORE_PATCH, clean_stderr=not _GEVENT_KEYERROR)
    assert lines(res) == ['False']


@pytest.mark.geventc_only
def test_native_thread_started_before_patching_ends_without_a_keyerror():
    # gevent prints "Exception ignored in thread started by..." KeyError:
    # the ending native thread looks itself up by its (now patched) ident.
    res = run_ok(NATIVE_BEFORE_PATCH + textwrap.dedent('''
    print(len(threading._active))
    '''))
    assert lines(res) == ['False', '1']
    assert 'KeyError' not in res.stderr, describe(res)


def test_patching_off_the_main_thread_warns():
    res = run_ok('''
        import threading, warnings
        from geventc import monkey
        caught = []
        def patch():
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter('always')
                monkey.patch_thread()
            caught.extend(str(x.message) for x in w
                          if issubclass(x.category, monkey.MonkeyPatchWarning))
        t = threading.Thread(target=patch)
        t.start(); t.join()
        for message in caught:
            print(message)
    ''', clean_stderr=not _GEVENT_KEYERROR)
    assert res.stdout.splitlines() == [
        'Monkey-patching outside the main native thread. Some APIs will not be '
        'available. Expect a KeyError to be printed at shutdown.',
        'Monkey-patching not on the main thread; threading.main_thread().join() '
        'will hang from a greenlet']


def test_logging_locks_imported_before_patching_are_replaced():
    res = run_ok('''
        import logging, sys
        logging.basicConfig(stream=sys.stdout, format='%(threadName)s %(message)s')
        native_lock_type = type(logging._lock)
        from geventc import monkey; monkey.patch_thread()
        import threading
        import geventc.thread
        assert type(logging._lock) is not native_lock_type
        handler = logging.getLogger().handlers[0]
        for lock in (logging._lock, handler.lock):
            assert isinstance(lock._block, geventc.thread.LockType), lock
        t = threading.Thread(target=logging.warning, args=('from-thread',), name='T1')
        t.start(); t.join()
        logging.warning('from-main')
    ''')
    assert res.stdout.splitlines() == ['T1 from-thread', 'MainThread from-main']


def test_locks_held_while_patching_can_be_released():
    res = run_ok('''
        import threading
        py_rlock = threading._PyRLock()
        c_rlock = threading.RLock()
        py_rlock.acquire(); c_rlock.acquire()
        from geventc import monkey; monkey.patch_thread()
        py_rlock.release(); c_rlock.release()
        with threading.RLock():
            monkey.patch_thread()
        print('released')
    ''')
    assert lines(res) == ['released']


def test_fork_child_has_a_real_main_thread():
    res = run_ok(patch=True, code='''
        import os, threading
        import geventc
        def fork_in_greenlet():
            assert isinstance(threading.current_thread(), threading._DummyThread)
            pid = os.fork()
            if pid == 0:
                main = threading.main_thread()
                ok = (type(main).__name__ == '_MainThread'
                      and threading.current_thread() is main
                      and main.ident == threading.get_ident())
                os._exit(0 if ok else 3)
            return pid
        g = geventc.spawn(fork_in_greenlet)
        g.join()
        _, status = os.waitpid(g.value, 0)
        print(os.waitstatus_to_exitcode(status))
    ''')
    assert lines(res) == ['0']


def test_patch_thread_emits_did_patch_events_for_thread_and_threading():
    res = run_ok('''
        from geventc import events, monkey
        seen = []
        events.subscribers.append(
            lambda e: seen.append((type(e).__name__, getattr(e, 'module_name', None))))
        monkey.patch_thread()
        for name, module in seen:
            print(name, module)
    ''')
    assert res.stdout.splitlines() == [
        'GeventWillPatchModuleEvent _thread',
        'GeventWillPatchModuleEvent threading',
        'GeventDidPatchModuleEvent thread',
        'GeventDidPatchModuleEvent threading',
    ]


def test_stdlib_copies_in_threading_are_patched_and_originals_kept():
    res = run_ok(patch=True, code='''
        import threading, _thread
        from geventc import monkey
        import geventc.thread, geventc.threading
        assert _thread.start_new_thread is geventc.thread.start_new_thread
        assert threading._start_new_thread is geventc.thread.start_new_thread
        assert threading.Lock is geventc.thread.allocate_lock
        assert threading.get_ident is geventc.thread.get_ident
        assert threading.Thread is geventc.threading.Thread
        assert threading._CRLock is None
        orig = monkey.get_original('threading', 'Thread')
        assert orig is not threading.Thread and issubclass(threading.Thread, orig)
        assert monkey.get_original('_thread', 'allocate_lock')().__class__.__module__ == '_thread'
        assert monkey.is_module_patched('threading') and monkey.is_module_patched('_thread')
        print('ok')
    ''')
    assert lines(res) == ['ok']


@pytest.mark.geventc_only
def test_thread_count_counts_the_greenlet_threads_only():
    # _thread._count() is what CPython's test support waits on for started
    # threads to end. gevent 26.9.0 leaves it native: greenlet-threads are
    # not counted, and the threadpool's idle native worker is until it
    # retires, so the wait lasts seconds.
    run_ok('''
        import _thread, threading, time
        import geventc
        from geventc import monkey
        before = _thread._count()
        geventc.get_hub().threadpool.apply(time.sleep, (0,))   # a native worker now
        assert _thread._count() == before, (_thread._count(), before)
        release = threading.Event()
        threads = [threading.Thread(target=release.wait) for _ in range(3)]
        for t in threads:
            t.start()
        _thread.start_new_thread(release.wait, ())
        assert _thread._count() == before + 4, _thread._count()
        release.set()
        for t in threads:
            t.join()
        deadline = time.monotonic() + 5
        while _thread._count() != before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _thread._count() == before, _thread._count()
        assert monkey.get_original('_thread', '_count')() >= 1   # the worker, natively
        print('ok')
    ''', patch=True)
