# Declarations of the cdef classes in _locks.pxi (included by _hub.pxd), so
# other compiled modules (pool, threadpool, fileobject ...) call them typed.

cdef class _ThreadWake:
    cdef int wake(self) except -1


cdef class Semaphore(AbstractLinkable):
    # A C int, as gevent's: Semaphore(2**40) raises OverflowError.
    cdef public int counter
    # Wake-ups of waiters in other threads (see _locks.pxi).
    cdef list _wakers
    # How many greenlets of self.hub are linked in _links.
    cdef Py_ssize_t _hub_links
    # Where self._notifier is queued, and which notification is current.
    cdef HubBase _notifier_hub
    cdef unsigned long _notify_gen
    # The notification the walk in progress belongs to.
    cdef unsigned long _walk_gen

    cpdef acquire(self, blocking=*, timeout=*)
    cpdef release(self)
    cdef bint _try_acquire(self) noexcept
    cdef HubBase _owner_hub(self)
    cdef int _wake_threads(self) except -1
    cdef int _drop_waker(self, _ThreadWake waker) except -1
    cdef object _block(self, timeout, bint take)
    cdef object _block_in_hub(self, HubBase hub, timeout, bint take)
    cdef object _block_across_hubs(self, HubBase hub, timeout, bint take)
    cdef object _block_native(self, timeout, bint take)
    cdef int _run_notify(self, unsigned long gen) except -1


cdef class BoundedSemaphore(Semaphore):
    cdef readonly int _initial_value

    cpdef release(self)


cdef class Lock(BoundedSemaphore):
    cpdef acquire(self, blocking=*, timeout=*)


cdef class DummySemaphore:
    cdef object __weakref__


cdef class RLock:
    cdef readonly Semaphore _block
    cdef public object _owner
    cdef public int _count
    cdef object __weakref__

    cdef int _check_init(self) except -1
    cpdef acquire(self, blocking=*, timeout=*)
    cpdef release(self)
