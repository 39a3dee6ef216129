# Declarations of the cdef classes in _locks.pxi (included by _hub.pxd), so
# other compiled modules (pool, threadpool, fileobject ...) call them typed.

cdef class Semaphore(AbstractLinkable):
    # A C int, as gevent's: Semaphore(2**40) raises OverflowError.
    cdef public int counter

    cpdef acquire(self, blocking=*, timeout=*)
    cpdef release(self)
    cdef bint _try_acquire(self) noexcept
    cdef HubBase _owner_hub(self)
    cdef object _block(self, timeout, bint take)
    cdef object _block_in_hub(self, HubBase hub, timeout, bint take)
    cdef object _block_across_hubs(self, HubBase hub, timeout, bint take)
    cdef object _block_native(self, timeout, bint take)
    cdef int _schedule_notify(self, HubBase hub, HubBase current) except -1
    cdef int _run_notify(self) except -1


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
