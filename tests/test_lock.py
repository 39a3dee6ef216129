"""geventc.lock: Semaphore, BoundedSemaphore, DummySemaphore, RLock (and Lock).

One contract runs over every mutex-like lock type (a semaphore of 1 is a
mutex too); then what is specific to each. ``GEVENTC_TEST_IMPL=gevent``
runs the same cases against gevent 26.9.0. ``Lock`` (gevent's
``gevent.thread.LockType`` under a name in geventc.lock) is geventc's.
"""
import sys
import threading
import time

import pytest

import geventc as gevent
from _helpers import IMPL_IS_GEVENT
from geventc import lock as lock_mod
from geventc.hub import get_hub
from geventc.lock import BoundedSemaphore, DummySemaphore, RLock, Semaphore

pytestmark = pytest.mark.filterwarnings('error')


def _make_lock_cls():
    # geventc.lock.Lock; under the gevent alias, the same class by gevent's name.
    lock_cls = getattr(lock_mod, 'Lock', None)
    if lock_cls is None:
        from geventc.thread import LockType as lock_cls
    return lock_cls


MUTEXES = {
    'Semaphore': lambda: Semaphore(1),
    'BoundedSemaphore': lambda: BoundedSemaphore(1),
    'RLock': RLock,
    'Lock': lambda: _make_lock_cls()(),
}


@pytest.fixture(params=sorted(MUTEXES))
def mutex(request):
    return MUTEXES[request.param]()


def _is_rlock(lock):
    return isinstance(lock, RLock)


# -- the contract, for every lock type -------------------------------------------------

class TestMutexContract:

    def test_acquire_release(self, mutex):
        assert mutex.acquire()
        mutex.release()
        assert mutex.acquire()
        mutex.release()

    def test_nonblocking_acquire_fails_while_held_elsewhere(self, mutex):
        assert mutex.acquire()
        other = gevent.spawn(mutex.acquire, False)
        assert other.get(timeout=5) is False
        mutex.release()
        assert gevent.spawn(mutex.acquire, False).get(timeout=5) is True

    def test_timeout_returns_false(self, mutex):
        mutex.acquire()
        start = time.monotonic()
        got = gevent.spawn(mutex.acquire, True, 0.02).get(timeout=5)
        assert got is False
        assert 0.015 <= time.monotonic() - start < 2
        mutex.release()

    def test_context_manager(self, mutex):
        with mutex:
            assert gevent.spawn(mutex.acquire, False).get(timeout=5) is False
        assert gevent.spawn(lambda: mutex.acquire(False)).get(timeout=5) is True

    def test_context_manager_releases_on_error(self, mutex):
        with pytest.raises(ZeroDivisionError):
            with mutex:
                1 / 0
        assert gevent.spawn(mutex.acquire, False).get(timeout=5) is True

    def test_mutual_exclusion_and_fifo_order(self, mutex):
        log = []

        def worker(i):
            with mutex:
                log.append(('in', i))
                gevent.sleep(0.001)
                log.append(('out', i))

        gs = [gevent.spawn(worker, i) for i in range(5)]
        gevent.joinall(gs, timeout=5)
        assert all(g.successful() for g in gs)
        expected = []
        for i in range(5):
            expected += [('in', i), ('out', i)]
        assert log == expected

    def test_waiter_killed_while_waiting_loses_nothing(self, mutex):
        mutex.acquire()
        got = []
        waiters = [gevent.spawn(lambda i=i: (mutex.acquire(), got.append(i), mutex.release()))
                   for i in range(3)]
        gevent.sleep(0)
        waiters[1].kill()
        assert waiters[1].dead
        mutex.release()
        gevent.joinall(waiters, timeout=5)
        assert got == [0, 2]
        # Still usable, and free.
        assert mutex.acquire(False) is True
        mutex.release()

    def test_waiter_timed_out_then_others_still_woken(self, mutex):
        mutex.acquire()
        results = []
        g1 = gevent.spawn(lambda: results.append(('short', bool(mutex.acquire(timeout=0.01)))))
        g2 = gevent.spawn(lambda: results.append(('long', bool(mutex.acquire(timeout=5)))))
        gevent.sleep(0.05)
        mutex.release()
        gevent.joinall([g1, g2], timeout=5)
        assert results == [('short', False), ('long', True)]

    def test_release_wakes_greenlet_in_main_thread_from_real_thread(self, mutex):
        if _is_rlock(mutex):
            pytest.skip('an RLock is released by its owner only')
        mutex.acquire()
        th = threading.Thread(target=lambda: (time.sleep(0.05), mutex.release()))
        th.start()
        try:
            start = time.monotonic()
            assert mutex.acquire(timeout=5)
            assert time.monotonic() - start < 2
        finally:
            th.join()
        mutex.release()

    def test_plain_thread_acquires_what_a_greenlet_holds(self, mutex):
        mutex.acquire()
        result = []

        def in_thread():
            result.append(bool(mutex.acquire(True, 5)))
            mutex.release()

        th = threading.Thread(target=in_thread)
        th.start()
        gevent.sleep(0.05)
        assert not result
        mutex.release()
        # Keep this loop running while the thread finishes.
        deadline = time.monotonic() + 5
        while th.is_alive() and time.monotonic() < deadline:
            gevent.sleep(0.005)
        th.join(1)
        assert result == [True]
        assert mutex.acquire(False)
        mutex.release()

    def test_plain_threads_contend(self, mutex):
        if IMPL_IS_GEVENT and type(mutex).__name__ == 'LockType':
            # gevent 26.9.0 loses a wake-up here: a thread waits forever.
            pytest.skip('gevent.thread.LockType deadlocks between hub-less threads')
        counter = [0]

        def in_thread():
            for _ in range(200):
                with mutex:
                    value = counter[0]
                    time.sleep(0)
                    counter[0] = value + 1

        threads = [threading.Thread(target=in_thread) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(20)
        assert not any(th.is_alive() for th in threads)
        assert counter[0] == 800

    def test_bad_timeout_type(self, mutex):
        mutex.acquire()
        with pytest.raises(TypeError):
            gevent.spawn(mutex.acquire, True, 'x').get(timeout=5)
        mutex.release()
        assert mutex.acquire(False)
        mutex.release()


# -- Semaphore and BoundedSemaphore ---------------------------------------------------

SEMAPHORES = [Semaphore, BoundedSemaphore]


@pytest.mark.parametrize('cls', SEMAPHORES)
class TestSemaphore:

    def test_counter(self, cls):
        s = cls(3)
        assert s.counter == 3
        assert s.acquire() is True
        assert s.counter == 2
        assert not s.locked() and s.ready()
        s.acquire()
        s.acquire()
        assert s.locked() and not s.ready()
        assert s.acquire(blocking=False) is False
        assert s.release() == 1
        assert s.counter == 1

    def test_default_value_is_one(self, cls):
        s = cls()
        assert s.counter == 1

    def test_negative_value(self, cls):
        with pytest.raises(ValueError):
            cls(-1)

    @pytest.mark.parametrize('bad', ['x', None, object()])
    def test_non_integer_value(self, cls, bad):
        with pytest.raises(TypeError):
            cls(bad)

    def test_huge_value(self, cls):
        with pytest.raises(OverflowError):
            cls(2 ** 40)

    def test_zero_blocks(self, cls):
        s = cls(0)
        assert s.acquire(timeout=0.01) is False
        assert s.wait(0.01) == 0

    def test_negative_timeout_is_a_zero_wait(self, cls):
        s = cls(0)
        assert s.acquire(timeout=-1) is False

    def test_nonblocking_ignores_timeout(self, cls):
        s = cls(0)
        assert s.acquire(False, 5) is False

    def test_wait_does_not_take(self, cls):
        s = cls(2)
        assert s.wait() == 2
        assert s.counter == 2
        s.acquire()
        s.acquire()
        gevent.spawn_later(0.01, s.release)
        assert s.wait(5) == 1
        assert s.counter == 1

    def test_context_manager_returns_none(self, cls):
        s = cls(1)
        with s as value:
            assert value is None
            assert s.counter == 0
        assert s.counter == 1

    def test_str(self, cls):
        s = cls(2)
        text = str(s)
        assert text.startswith('<%s at 0x' % cls.__name__)
        assert text.endswith('counter=2 _links[0]>')

    def test_waiters_woken_in_order(self, cls):
        s = cls(0) if cls is Semaphore else cls(3)
        if cls is BoundedSemaphore:
            for _ in range(3):
                s.acquire()
        order = []
        gs = [gevent.spawn(lambda i=i: (s.acquire(), order.append(i))) for i in range(5)]
        gevent.sleep(0)
        assert order == []
        s.release()
        s.release()
        gevent.sleep(0)
        assert order == [0, 1]
        s.release()
        gevent.joinall(gs[:3], timeout=5)
        assert order == [0, 1, 2]
        gevent.killall(gs)

    def test_release_wakes_only_as_many_as_counter(self, cls):
        s = cls(0) if cls is Semaphore else cls(2)
        if cls is BoundedSemaphore:
            s.acquire()
            s.acquire()
        woken = []
        gs = [gevent.spawn(lambda i=i: (s.acquire(), woken.append(i))) for i in range(4)]
        gevent.sleep(0)
        s.release()
        gevent.sleep(0.01)
        assert woken == [0]
        assert s.linkcount() == 3
        gevent.killall(gs)
        assert s.linkcount() == 0

    def test_newcomer_may_take_ahead_of_queued_notification(self, cls):
        # gevent's semantics: a positive counter is taken at once, even if
        # a waiter's wake-up is already queued; that waiter keeps waiting.
        s = cls(1)
        s.acquire()
        woken = []
        g = gevent.spawn(lambda: (s.acquire(), woken.append('waiter')))
        gevent.sleep(0)
        s.release()
        assert s.acquire(blocking=False) is True   # taken before the hub ran
        gevent.sleep(0.01)
        assert woken == []
        s.release()
        g.join(timeout=5)
        assert woken == ['waiter']

    def test_rawlink_and_unlink(self, cls):
        s = cls(1)
        s.acquire()
        calls = []
        s.rawlink(calls.append)
        assert s.linkcount() == 1
        s.release()
        assert calls == []          # called from the hub, later
        gevent.sleep(0)
        assert calls == [s]
        assert s.linkcount() == 0   # unlinked before being called
        s.acquire()
        s.rawlink(calls.append)
        s.unlink(calls.append)
        s.unlink(calls.append)      # not linked: ignored
        s.release()
        gevent.sleep(0)
        assert calls == [s]

    def test_rawlink_requires_callable(self, cls):
        with pytest.raises(TypeError):
            cls().rawlink(3)

    def test_release_from_thread_wakes_greenlets(self, cls):
        s = cls(0) if cls is Semaphore else cls(2)
        if cls is BoundedSemaphore:
            s.acquire()
            s.acquire()

        def releaser():
            time.sleep(0.05)
            s.release()
            s.release()

        th = threading.Thread(target=releaser)
        th.start()
        keep_alive = gevent.spawn(gevent.sleep, 5)
        try:
            gs = [gevent.spawn(s.acquire) for _ in range(2)]
            assert gevent.joinall(gs, timeout=5) and all(g.value is True for g in gs)
        finally:
            keep_alive.kill()
            th.join()

    def test_greenlet_in_other_thread_woken_by_release_here(self, cls):
        s = cls(0) if cls is Semaphore else cls(1)
        if cls is BoundedSemaphore:
            s.acquire()
        result = []

        def in_thread():
            keep_alive = gevent.spawn(gevent.sleep, 5)
            g = gevent.spawn(s.acquire, True, 5)
            result.append(g.get())
            keep_alive.kill()

        th = threading.Thread(target=in_thread)
        th.start()
        time.sleep(0.05)
        start = time.monotonic()
        s.release()
        deadline = time.monotonic() + 5
        while th.is_alive() and time.monotonic() < deadline:
            gevent.sleep(0.005)
        th.join(1)
        assert result == [True]
        assert time.monotonic() - start < 3

    def test_main_greenlet_blocking_forever_raises_loop_exit(self, cls):
        from _helpers import assert_ok, run_python
        res = run_python('''
            import geventc as gevent
            from geventc.hub import LoopExit
            from geventc.lock import %s
            s = %s(1)
            s.acquire()
            try:
                s.acquire()
            except LoopExit:
                print('LoopExit')
        ''' % (cls.__name__, cls.__name__))
        assert_ok(res)
        assert res.stdout.strip() == 'LoopExit'


class TestBoundedSemaphore:

    def test_over_release(self):
        s = BoundedSemaphore(2)
        with pytest.raises(ValueError):
            s.release()
        s.acquire()
        assert s.release() == 2
        with pytest.raises(ValueError):
            s.release()
        assert s.counter == 2

    def test_initial_value(self):
        assert BoundedSemaphore(3)._initial_value == 3

    def test_plain_semaphore_may_over_release(self):
        s = Semaphore(1)
        assert s.release() == 2
        assert s.counter == 2


class TestDummySemaphore:

    def test_never_blocks(self):
        d = DummySemaphore()
        for _ in range(5):
            assert d.acquire() is True
        assert d.acquire(False, 0) is True
        assert d.wait() == 1
        assert d.wait(0) == 1
        assert d.release() is None
        assert d.locked() is False
        assert d.ready() is True
        with d as value:
            assert value is None
        d.rawlink(None)
        d.unlink(None)
        assert str(d) == '<DummySemaphore>'

    def test_accepts_value(self):
        DummySemaphore(10)


class TestRLock:

    def test_reentrant(self):
        r = RLock()
        assert r.acquire() is True
        assert r.acquire() == 1
        assert r.locked()
        r.release()
        assert r.locked()
        assert gevent.spawn(r.acquire, False).get(timeout=5) is False
        r.release()
        assert not r.locked()
        assert gevent.spawn(r.acquire, False).get(timeout=5) is True

    def test_enter_returns_acquire_result(self):
        r = RLock()
        with r as value:
            assert value is True
            with r as inner:
                assert inner == 1

    def test_release_unowned(self):
        r = RLock()
        with pytest.raises(RuntimeError):
            r.release()
        r.acquire()
        g = gevent.spawn(r.release)
        g.join(timeout=5)
        assert isinstance(g.exception, RuntimeError)
        r.release()

    def test_owner_is_the_greenlet(self):
        r = RLock()
        results = []

        def other():
            results.append(r.acquire(timeout=0.01))

        r.acquire()
        gevent.spawn(other).join(timeout=5)
        r.release()
        assert results == [False]

    def test_condition_protocol(self):
        r = RLock()
        r.acquire()
        r.acquire()
        assert r._is_owned()
        state = r._release_save()
        assert not r.locked()
        assert not r._is_owned()
        r._acquire_restore(state)
        assert r._is_owned()
        r.release()
        r.release()
        assert not r.locked()

    def test_repr(self):
        r = RLock()
        assert repr(r).startswith('<RLock at 0x')

    def test_timeout(self):
        r = RLock()
        r.acquire()
        assert gevent.spawn(r.acquire, True, 0.01).get(timeout=5) is False
        r.release()

    def test_weakref_and_subclass(self):
        import weakref

        class MyRLock(RLock):
            pass

        r = MyRLock()
        assert weakref.ref(r)() is r
        with r:
            pass

    def test_hub_argument(self):
        r = RLock(get_hub())
        with r:
            pass


@pytest.mark.geventc_only
class TestLock:
    """geventc.lock.Lock: threading.Lock's API for greenlets."""

    def test_api(self):
        from geventc.lock import Lock
        lk = Lock()
        assert lk.acquire() is True
        assert lk.locked()
        assert lk.acquire(False) is False
        assert lk.acquire(True, 0.01) is False
        lk.release()
        assert not lk.locked()
        assert lk.acquire(timeout=-1) is True
        lk.release()

    def test_errors(self):
        from geventc.lock import Lock
        lk = Lock()
        with pytest.raises(RuntimeError):
            lk.release()
        with pytest.raises(ValueError):
            lk.acquire(False, 1)
        with pytest.raises(ValueError):
            lk.acquire(True, -2)
        with pytest.raises(OverflowError):
            lk.acquire(True, 1e100)
        with pytest.raises(TypeError):
            Lock(1)

    def test_not_subclassable(self):
        from geventc.lock import Lock
        with pytest.raises(TypeError):
            type('MyLock', (Lock,), {})

    def test_spin_on_nonblocking_acquire_lets_holder_run(self):
        from geventc.lock import Lock
        lk = Lock()

        def holder():
            lk.acquire()
            gevent.sleep(0)
            lk.release()

        g = gevent.spawn(holder)
        gevent.sleep(0)
        spins = 0
        while not lk.acquire(False):
            spins += 1
            assert spins < 1000
        lk.release()
        g.join(timeout=5)

    def test_is_a_bounded_semaphore(self):
        from geventc.lock import Lock
        assert issubclass(Lock, BoundedSemaphore)


class TestModules:

    def test_lock_all(self):
        assert set(lock_mod.__all__) == {'Semaphore', 'BoundedSemaphore', 'DummySemaphore', 'RLock'}

    @pytest.mark.geventc_only
    def test_coros_is_the_old_name(self):
        from geventc import coros
        assert coros.Semaphore is Semaphore
        assert coros.BoundedSemaphore is BoundedSemaphore
        assert coros.RLock is RLock
        assert coros.DummySemaphore is DummySemaphore
        from geventc.event import AsyncResult, Event
        assert coros.Event is Event
        assert coros.AsyncResult is AsyncResult
        from geventc.queue import Queue
        assert coros.Queue is Queue

    def test_semaphore_is_linkable_subclass(self):
        assert issubclass(BoundedSemaphore, Semaphore)
        s = Semaphore()
        import weakref
        assert weakref.ref(s)() is s

    def test_no_segfault_on_uninitialised_objects(self):
        for cls in (Semaphore, BoundedSemaphore, RLock):
            obj = cls.__new__(cls)
            try:
                obj.acquire(False)
                obj.release()
            except Exception:
                pass
        assert True


def test_fork_reinit():
    s = BoundedSemaphore(2)
    s.acquire()
    s._at_fork_reinit()
    assert s.counter == 2


@pytest.mark.geventc_only
@pytest.mark.parametrize('kind', ['BoundedSemaphore', 'Semaphore', 'RLock'])
def test_threads_with_and_without_hubs_share_a_lock(kind):
    # Greenlets in the main thread and in threads with their own hubs, and
    # hub-less threads, all contend for one lock; threads finish (and their
    # hubs stop running) at different times. No update may be lost and no
    # one may wait forever. (gevent 26.9.0 often hangs here.)
    from _helpers import assert_ok, run_python
    res = run_python('''
        import random, sys, threading, time
        import geventc as gevent
        from geventc.lock import BoundedSemaphore, RLock, Semaphore
        kind = sys.argv[1]
        for seed in range(8):
            lock = {'BoundedSemaphore': lambda: BoundedSemaphore(1),
                    'Semaphore': lambda: Semaphore(1), 'RLock': RLock}[kind]()
            counter = [0]

            def work(n):
                for _ in range(n):
                    with lock:
                        v = counter[0]
                        gevent.sleep(0)
                        counter[0] = v + 1

            def thread_with_hub(n, nglets):
                keep = gevent.spawn(gevent.sleep, 60)
                gevent.joinall([gevent.spawn(work, n) for _ in range(nglets)])
                keep.kill()

            def plain_thread(n):
                for _ in range(n):
                    with lock:
                        v = counter[0]
                        time.sleep(0)
                        counter[0] = v + 1

            rnd = random.Random(seed)
            total = 300
            threads = []
            for _ in range(6):
                n = rnd.randint(10, 200)
                if rnd.random() < 0.5:
                    g = rnd.randint(1, 4)
                    threads.append(threading.Thread(target=thread_with_hub, args=(n, g)))
                    total += n * g
                else:
                    threads.append(threading.Thread(target=plain_thread, args=(n,)))
                    total += n
            for th in threads:
                th.start()
            keep = gevent.spawn(gevent.sleep, 60)
            gevent.joinall([gevent.spawn(work, 100) for _ in range(3)])
            while any(th.is_alive() for th in threads):
                gevent.sleep(0.001)
            keep.kill()
            assert counter[0] == total, (seed, counter[0], total)
        print('ok')
    ''', args=[kind], timeout=60)
    assert_ok(res)
    assert res.stdout.strip() == 'ok'


def test_release_without_any_hub_calls_links_added_while_notifying():
    # No hub in the process: release() calls the links itself. A link that
    # links another while the semaphore is still free gets that one called
    # too, before release() returns (gevent checks again after the walk).
    from _helpers import assert_ok, run_python
    res = run_python('''
        from geventc.lock import Semaphore
        from geventc.hub import _get_hub
        calls = []
        sem = Semaphore(0)
        def second(s):
            calls.append('second')
        def first(s):
            calls.append('first')
            s.rawlink(second)
        sem.rawlink(first)
        sem.release()
        print(calls, _get_hub() is None, sem.counter)
    ''')
    assert_ok(res)
    assert res.stdout.strip() == "['first', 'second'] True 1"
