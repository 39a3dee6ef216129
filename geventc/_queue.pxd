# Layout and typed entry points of the queues, so other compiled modules
# (pool, threadpool, servers) put and get without Python dispatch.

from geventc._core cimport Wakeable
from geventc._hub cimport HubBase, Event


cdef class ItemWaiter:
    # One blocked get() or put(); linked into its queue's getters/putters.
    cdef object greenlet
    cdef public object item
    cdef ItemWaiter prev
    cdef ItemWaiter next
    cdef bint linked
    # A putter's item that the queue's container refused (raised in put()).
    cdef object exc_info

    cdef object wait(self, HubBase hub, object current)
    cdef int switch_c(self, value) except -1


cdef class _WaiterList:
    # A FIFO of ItemWaiters: O(1) append, popleft and remove (a timed-out
    # waiter leaves from the middle).
    cdef ItemWaiter head
    cdef ItemWaiter tail
    cdef Py_ssize_t count

    cdef int append(self, ItemWaiter w) except -1
    cdef ItemWaiter popleft(self)
    cdef int remove(self, ItemWaiter w) except -1
    cdef list to_list(self)
    cdef int clear(self) except -1


cdef enum:
    # SimpleQueue._fast: which inlined put/get path applies.
    FAST_NONE = 0
    FAST_SIMPLE = 1
    FAST_JOINABLE = 2


cdef class _WaitingRoom(Wakeable):
    # What queues and channels share: their hub, the FIFOs of blocked
    # getters and putters, and the unlock notification that wakes them.
    cdef readonly HubBase hub
    cdef _WaiterList _getters
    cdef _WaiterList _putters
    cdef object _event_unlock
    cdef object __weakref__

    cpdef get(self, block=*, timeout=*)
    cdef object _wait_in(self, _WaiterList line, _WaiterList other, ItemWaiter waiter,
                         object current, timeout, exception)
    cdef int _schedule_unlock(self) except -1


cdef class SimpleQueue(_WaitingRoom):
    # The container: read and replaced through the ``queue`` property, which
    # keeps _is_deque and _fast true to it.
    cdef object _queue
    cdef readonly bint is_shutdown
    cdef Py_ssize_t _maxsize
    # queue is exactly a deque: append/popleft through their C functions.
    cdef bint _is_deque
    # An exact compiled queue type: its container code may run in a greenlet
    # handing off (see next_wake), not only in the hub.
    cdef bint _plain
    cdef int _fast
    # Where the unlock in progress is: 0 putter step, 1 getter step, 2 end
    # of a round; and whether this round moved anything.
    cdef int _unlock_phase
    cdef bint _unlock_repeat

    cpdef _create_queue(self, items=*)
    cpdef Py_ssize_t _qsize(self) except? -1
    cpdef _put(self, item)
    cpdef _get(self)
    cpdef _peek(self)
    cpdef put(self, item, block=*, timeout=*)
    cpdef put_nowait(self, item)
    cpdef get(self, block=*, timeout=*)
    cpdef get_nowait(self)
    cpdef peek(self, block=*, timeout=*)
    cpdef peek_nowait(self)
    cdef object _get_or_peek(self, bint peek, block, timeout)
    cdef inline bint _has_room(self) except -1
    cdef int _set_queue(self, container) except -1


cdef class Queue(SimpleQueue):
    cdef readonly Event _cond
    cdef public Py_ssize_t unfinished_tasks

    cdef int _did_put_task(self) except -1
    cpdef task_done(self)


cdef class UnboundQueue(Queue):
    pass


cdef class PriorityQueue(Queue):
    pass


cdef class LifoQueue(Queue):
    pass


cdef class Channel(_WaitingRoom):
    # The putter whose item the unlock in progress just gave a getter.
    cdef ItemWaiter _unlock_putter

    cpdef put(self, item, block=*, timeout=*)
    cpdef get(self, block=*, timeout=*)
