"""A release by a native thread while the main thread is on its way to block.

The main thread's first blocking acquire creates the hub; a release landing
between the counter check and the waiter's link saw nobody to notify, and the
acquire timed out with the counter left positive. Each round here destroys
the hub, so every acquire is a "first" one, and a native thread spinning for
the GIL releases at a varying moment of it.
"""
import pytest

from _helpers import assert_ok, run_python

_CHILD = r'''
import sys, threading
import geventc.lock as L
from geventc.hub import get_hub

kind = sys.argv[1]
make = {
    'Semaphore': lambda: L.Semaphore(0),
    'BoundedSemaphore': lambda: L.BoundedSemaphore(1),
    'DummySemaphore': lambda: L.DummySemaphore(),
    # gevent spells it gevent.thread.LockType (what threading.Lock becomes)
    'Lock': lambda: (getattr(L, 'Lock', None) or __import__('geventc.thread').thread.LockType)(),
    'RLock': L.RLock,
}[kind]
rounds = 80
lost = []
for it in range(rounds):
    obj = make()
    if kind == 'BoundedSemaphore':
        assert obj.acquire(blocking=False)
    go = []
    held = threading.Event()
    spin = (it % 20) * 40

    def releaser():
        if kind in ('Lock', 'RLock'):
            obj.acquire()           # the native thread holds it
        held.set()
        while not go:
            pass
        for _ in range(spin):
            pass
        obj.release()

    t = threading.Thread(target=releaser)
    t.start()
    held.wait()
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)     # let the spinning thread in anywhere
    go.append(1)
    ok = obj.acquire(timeout=0.5)
    sys.setswitchinterval(old)
    t.join()
    if not ok:
        lost.append((it, getattr(obj, 'counter', None)))
    get_hub().destroy(destroy_loop=True)
print('lost', lost)
assert not lost, lost
'''


@pytest.mark.parametrize('kind', ['Semaphore', 'BoundedSemaphore', 'DummySemaphore', 'Lock', 'RLock'])
def test_release_from_a_thread_during_the_first_acquire_is_not_lost(kind):
    res = run_python(_CHILD, timeout=120, args=[kind])
    assert_ok(res)
