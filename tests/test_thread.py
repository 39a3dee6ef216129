"""geventc.thread: the _thread replacement monkey-patching will install."""
import geventc as gevent
import geventc.thread as gthread


def test_allocate_lock_behaves_like_a_thread_lock():
    lock = gthread.allocate_lock()
    assert isinstance(lock, gthread.LockType)
    assert lock.acquire() is True
    assert lock.locked()
    assert lock.acquire(False) is False
    assert lock.acquire(True, 0.01) is False
    lock.release()
    assert not lock.locked()
    with lock:
        assert lock.locked()
    assert not lock.locked()


def test_lock_hands_over_between_greenlets_in_order():
    lock = gthread.allocate_lock()
    order = []

    def worker(n):
        with lock:
            order.append(('in', n))
            gevent.sleep(0)
            order.append(('out', n))

    gevent.joinall([gevent.spawn(worker, n) for n in range(3)])
    assert order == [('in', 0), ('out', 0), ('in', 1), ('out', 1), ('in', 2), ('out', 2)]


def test_start_new_thread_runs_in_a_greenlet_and_get_ident_differs():
    seen = []
    ident = gthread.start_new_thread(lambda a, b=0: seen.append((a, b, gthread.get_ident())), (1,), {'b': 2})
    gevent.sleep(0)
    assert seen and seen[0][:2] == (1, 2)
    assert seen[0][2] == ident
    assert ident != gthread.get_ident()
