# cython: auto_pickle=False, binding=False, embedsignature.format=clinic
"""Queues across greenlets, compiled (re-exported by ``geventc.queue``).

Design notes
------------
* Same algorithm and wake-up order as gevent 26.9.0: an item goes straight
  into the container when there is room; blocked getters and putters wait
  in FIFO lists and are woken by one ``_unlock`` notification per batch,
  which hands putters' items over and switches into the waiters. The item
  a getter receives is taken by the getter itself after it is switched
  to, so a getter killed or timed out while waiting never loses an item
  (it is still in the queue).
* The unlock is a ``Wakeable`` (see _core.pxd): written as steps, one per
  switch, so a greenlet that blocks while the hub waits on one of them
  switches straight to the next waiter. A ping-pong over ``Queue(1)`` is
  then two greenlet switches per round trip instead of gevent's four, in
  the same order.
* Waiters are this module's own ``ItemWaiter`` linked into an intrusive
  doubly-linked list: append, popleft and the remove a timeout needs are
  O(1), with no deque method call on the hot path.
* ``binding=False``: methods are plain method descriptors, not
  cyfunctions, so ``q.put(x)`` skips a call layer (about a fifth of an
  uncontended put+get). ``embedsignature.format=clinic`` keeps
  ``inspect.signature`` working on them (self shows as positional-only).
* Exact ``SimpleQueue``/``Queue`` objects (``_fast``) put and get on their
  deque inline, without the overridable ``_put``/``_get``/``_qsize``.
* ``queue`` stays a ``collections.deque`` (a list for Lifo/Priority), as
  gevent's, so code reading ``q.queue`` keeps working; its bound
  ``append``/``popleft`` are cached.
* Subclasses may override ``_init``/``_create_queue``/``_qsize``/``_put``/
  ``_get``/``_peek`` as with the standard library's queue (cpdef methods:
  the compiled classes pay no lookup, Python subclasses are honoured).
* ``Queue`` is joinable (``task_done``/``join``/``unfinished_tasks``) and
  has Python 3.13's ``shutdown()``; ``JoinableQueue`` is an alias, and
  ``SimpleQueue`` is the base without them, as in gevent >= 25.4.
"""

cimport cython
from cpython.ref cimport PyObject, Py_DECREF
from cpython.object cimport Py_SIZE
from geventc.includes.python cimport PyMethodDescrObject, METH_O, METH_NOARGS
from geventc.includes.greenlet cimport (
    greenlet, PyGreenlet_Import, PyGreenlet_GetCurrent, PyGreenlet_Switch)
from geventc._core cimport loop, callback, Wakeable, wake_inline, WAKE_DONE, WAKE_SWITCH, WAKE_NEED_HUB
from geventc._hub cimport HubBase, Timeout, Event, get_hub, _get_hub_c, _hub_run_callback, _start_timeout

import collections as _collections
import heapq as _heapq
import queue as _stdlib_queue
import sys as _sys
import types as _types
import warnings as _warnings

from geventc._hub import InvalidSwitchError, Waiter

PyGreenlet_Import()


# deque.append/popleft called through their C functions, found once in the
# method descriptors (METH_O / METH_NOARGS): no bound method, no lookup.

ctypedef PyObject* (*_cfunc)(PyObject*, PyObject*) except? NULL

cdef _cfunc _deque_append = NULL
cdef _cfunc _deque_popleft = NULL


cdef int _find_deque_methods() except -1:
    global _deque_append, _deque_popleft
    import collections
    append = collections.deque.__dict__['append']
    popleft = collections.deque.__dict__['popleft']
    if (type(append).__name__ == 'method_descriptor'
            and type(popleft).__name__ == 'method_descriptor'):
        if (<PyMethodDescrObject*>append).d_method.ml_flags == METH_O \
                and (<PyMethodDescrObject*>popleft).d_method.ml_flags == METH_NOARGS:
            _deque_append = <_cfunc>(<PyMethodDescrObject*>append).d_method.ml_meth
            _deque_popleft = <_cfunc>(<PyMethodDescrObject*>popleft).d_method.ml_meth
    return 0

_find_deque_methods()


cdef inline int _deque_append_item(object dq, object item) except -1:
    cdef PyObject* r = _deque_append(<PyObject*>dq, <PyObject*>item)
    Py_DECREF(<object>r)
    return 0


cdef inline object _deque_popleft_item(object dq):
    cdef PyObject* r = _deque_popleft(<PyObject*>dq, NULL)
    result = <object>r
    Py_DECREF(result)
    return result

__all__ = ['Queue', 'PriorityQueue', 'LifoQueue', 'SimpleQueue', 'JoinableQueue',
           'Channel', 'ShutDown', 'Empty', 'Full']

# The standard library's exceptions, so `except queue.Empty` works too.
Full = _stdlib_queue.Full
Empty = _stdlib_queue.Empty
if hasattr(_stdlib_queue, 'ShutDown'):  # Python 3.13
    ShutDown = _stdlib_queue.ShutDown
else:
    class ShutDown(Exception):
        """Raised by put/get on a queue that was shut down (Python 3.13's queue.ShutDown)."""

cdef object _Full = Full
cdef object _Empty = Empty
cdef object _ShutDown = ShutDown
cdef object _deque = _collections.deque
cdef object _heappush = _heapq.heappush
cdef object _heappop = _heapq.heappop
cdef object _heapify = _heapq.heapify
cdef object _StopIteration = StopIteration


# What a queue switches into a waiting greenlet to say "your turn" (one
# shared tuple: no allocation per wake-up); wait() turns it into the waiter.
cdef object _WOKEN = object()
cdef tuple _WOKEN_ARGS = (_WOKEN,)


cdef inline HubBase _current_hub():
    cdef HubBase hub = _get_hub_c()
    if hub is None:
        hub = get_hub()
    return hub


cdef inline int _check_timeout(block, timeout) except -1:
    # CPython's check, applied where gevent applies it.
    if block and timeout is not None and timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")
    return 0


cdef int _report_wake_error(object glet) noexcept:
    # A switch into a waiter failed: its hub reports it.
    try:
        hub = getattr(glet, 'parent', None)
        if hub is None or not hasattr(hub, 'handle_error'):
            hub = _current_hub()
        hub.handle_error(glet, *_sys.exc_info())
    except BaseException:
        pass
    return 0


# -- waiters -------------------------------------------------------------------

# no_gc_clear here and on the lists and queues: a blocked greenlet that is
# garbage is killed by the collector and its get()/put() unlinks its waiter
# while the collector runs; the links must still be intact then.
@cython.final
@cython.no_gc_clear
@cython.freelist(64)
cdef class ItemWaiter:
    """A greenlet blocked in a queue's get() or put() (and a putter's item)."""

    def __init__(self, item=None, queue=None):
        self.item = item

    def __repr__(self):
        return '<%s greenlet=%r item=%r>' % (type(self).__name__, self.greenlet, self.item)

    cdef object wait(self, HubBase hub, object current):
        # Block *current* until switch_c()/throw(); return the value switched
        # in (this waiter itself when woken by its queue).
        self.greenlet = current
        try:
            result = hub.switch_c()
        finally:
            self.greenlet = None
        if result is _WOKEN:
            return self
        return result

    cdef int switch_c(self, value) except -1:
        # Wake the waiting greenlet with *value* (called in the hub).
        cdef object glet = self.greenlet
        cdef tuple args
        if glet is None:
            return 0
        # Waking with the waiter itself (what get()/put() expect) reuses
        # one tuple instead of making one per switch.
        args = _WOKEN_ARGS if value is self else (value,)
        try:
            PyGreenlet_Switch(<greenlet>glet, <PyObject*>args, NULL)
        except BaseException:
            _report_wake_error(glet)
        return 0

    def switch(self, value):
        self.switch_c(value)

    def throw(self, *args):
        """Raise in the waiting greenlet (if it still waits)."""
        glet = self.greenlet
        if glet is not None:
            try:
                glet.throw(*args)
            except BaseException:
                _current_hub().handle_error(glet, *_sys.exc_info())

    def put_and_switch(self, queue):
        # gevent's name: put our item on behalf of the blocked putter, wake it.
        (<SimpleQueue?>queue)._put(self.item)
        self.item = None
        self.switch_c(self)


@cython.final
@cython.no_gc_clear
cdef class _WaiterList:

    cdef int append(self, ItemWaiter w) except -1:
        if w.linked:
            return 0
        w.prev = self.tail
        w.next = None
        if self.tail is None:
            self.head = w
        else:
            self.tail.next = w
        self.tail = w
        w.linked = True
        self.count += 1
        return 0

    cdef ItemWaiter popleft(self):
        cdef ItemWaiter w = self.head
        if w is None:
            return None
        self.head = w.next
        if self.head is None:
            self.tail = None
        else:
            self.head.prev = None
        w.next = None
        w.prev = None
        w.linked = False
        self.count -= 1
        return w

    cdef int remove(self, ItemWaiter w) except -1:
        # No-op when *w* was already popped (woken).
        if not w.linked:
            return 0
        if w.prev is None:
            self.head = w.next
        else:
            w.prev.next = w.next
        if w.next is None:
            self.tail = w.prev
        else:
            w.next.prev = w.prev
        w.next = None
        w.prev = None
        w.linked = False
        self.count -= 1
        return 0

    cdef list to_list(self):
        cdef list result = []
        cdef ItemWaiter w = self.head
        while w is not None:
            result.append(w)
            w = w.next
        return result

    cdef int clear(self) except -1:
        while self.head is not None:
            self.popleft()
        return 0


cdef _WaiterList _new_list():
    return _WaiterList.__new__(_WaiterList)


cdef tuple _PLAIN_QUEUES


# -- what queues and channels share ---------------------------------------------

@cython.no_gc_clear
cdef class _WaitingRoom(Wakeable):
    # Base of SimpleQueue and Channel (see _queue.pxd).

    def __cinit__(self, *args, **kwargs):
        self._getters = _new_list()
        self._putters = _new_list()

    cpdef get(self, block=True, timeout=None):
        raise NotImplementedError

    cdef object _wait_in(self, _WaiterList line, _WaiterList other, ItemWaiter waiter,
                         object current, timeout, exception):
        # Block *current* in *line* (getters or putters) until an unlock
        # switches to it, at most *timeout* seconds (then *exception*), and
        # return what the unlock switched in. A waiter already waiting on
        # the *other* side means an unlock can pair them now. The waiter
        # always leaves the line (a no-op when an unlock popped it).
        cdef HubBase hub = _current_hub()
        cdef Timeout t = None
        if timeout is not None:
            t = _start_timeout(timeout, exception)
        try:
            line.append(waiter)
            if other.count:
                self._schedule_unlock()
            return waiter.wait(hub, current)
        finally:
            if t is not None:
                t.cancel()
            line.remove(waiter)

    cdef int _schedule_unlock(self) except -1:
        # At most one unlock pending: the current one while it is queued or
        # still running (true), as with gevent's ``_event_unlock``.
        cdef HubBase hub = self.hub
        cb = self._event_unlock
        if cb is not None:
            if type(cb) is callback:
                if (<callback>cb).args is not None:
                    return 0
            elif cb.pending:
                return 0
        if hub is None or hub._loop is None:
            raise RuntimeError('the hub of %r was destroyed' % (self,))
        if hub._cloop is not None:
            self._event_unlock = hub._cloop.run_wake(self, ())
        else:
            self._event_unlock = hub._loop.run_callback(self._unlock)
        return 0

    cdef int wake_error(self, object target) noexcept:
        _report_wake_error(target)
        return 0

    def __iter__(self):
        return self

    def __next__(self):
        result = self.get()
        if result is _StopIteration:
            raise result
        return result


# -- SimpleQueue -----------------------------------------------------------------

@cython.no_gc_clear
cdef class SimpleQueue(_WaitingRoom):
    """SimpleQueue(maxsize=None, items=())

    A FIFO queue of at most *maxsize* items (None, or <= 0, for no limit)
    that greenlets share; ``put`` blocks while it is full and ``get``
    while it is empty. ``len(q)`` is the number of items, but a queue is
    always true. Iterating calls ``get()`` until it returns the
    ``StopIteration`` class. Blocked getters and putters are served in the
    order they arrived.
    """

    __class_getitem__ = classmethod(_types.GenericAlias)

    def __cinit__(self, *args, **kwargs):
        self._maxsize = -1

    def __init__(self, maxsize=None, items=(), _warn_depth=2):
        if maxsize is not None and maxsize <= 0:
            if maxsize == 0:
                _warnings.warn(
                    'Queue(0) now equivalent to Queue(None); if you want a channel, use Channel',
                    DeprecationWarning, stacklevel=1)
            maxsize = None
        self._maxsize = maxsize if maxsize is not None else -1
        self.hub = get_hub()
        self._event_unlock = None
        self.is_shutdown = False
        self._set_queue(None)
        self._plain = type(self) in _PLAIN_QUEUES
        if items:
            self._init(maxsize, items)
        else:
            self._init(maxsize)

    # -- the container (the standard library's overridable hooks) ----------------

    def _init(self, maxsize, items=()):
        # A def, not cpdef: stdlib-style subclasses define _init(self, maxsize).
        self._set_queue(self._create_queue(items))

    @property
    def queue(self):
        """The container of the items (a deque, unless a subclass's
        ``_init`` or ``_create_queue`` made another one)."""
        return self._queue

    @queue.setter
    def queue(self, container):
        # A subclass may replace the container (the standard library's
        # queues allow it): the inlined deque paths must then stand aside.
        self._set_queue(container)

    cdef int _set_queue(self, container) except -1:
        self._queue = container
        self._is_deque = type(container) is _deque and _deque_append != NULL
        # put/get's own fast paths, for the exact deque-backed types.
        if self._is_deque and type(self) is SimpleQueue:
            self._fast = FAST_SIMPLE
        elif self._is_deque and type(self) is Queue:
            self._fast = FAST_JOINABLE
        else:
            self._fast = FAST_NONE
        return 0

    cpdef _create_queue(self, items=()):
        return _deque(items)

    cpdef Py_ssize_t _qsize(self) except? -1:
        return len(self._queue)

    cpdef _put(self, item):
        if self._is_deque:
            _deque_append_item(self._queue, item)
        else:
            self._queue.append(item)

    cpdef _get(self):
        if self._is_deque:
            return _deque_popleft_item(self._queue)
        return self._queue.popleft()

    cpdef _peek(self):
        return self._queue[0]

    # -- size -------------------------------------------------------------------

    @property
    def maxsize(self):
        return self._maxsize if self._maxsize > 0 else None

    @maxsize.setter
    def maxsize(self, nv):
        if nv is None or nv <= 0:
            self._maxsize = -1
        else:
            self._maxsize = nv

    def qsize(self):
        """The number of items in the queue."""
        return self._qsize()

    def __len__(self):
        return self._qsize()

    def __bool__(self):
        return True

    def empty(self):
        """True if the queue holds no item."""
        return not self._qsize()

    def full(self):
        """True if the queue holds maxsize items (never, without a maxsize)."""
        return self._maxsize > 0 and self._qsize() >= self._maxsize

    cdef inline bint _has_room(self) except -1:
        return self._maxsize == -1 or self._qsize() < self._maxsize

    def copy(self):
        """A new queue of the same type, maxsize and items (no waiters)."""
        return type(self)(self.maxsize, self._queue)

    def __repr__(self):
        return '<%s at %s%s>' % (type(self).__name__, hex(id(self)), self._format())

    def __str__(self):
        return '<%s%s>' % (type(self).__name__, self._format())

    def _format(self):
        result = []
        if self.maxsize is not None:
            result.append('maxsize=%r' % (self.maxsize,))
        if self._queue:
            result.append('queue=%r' % (self._queue,))
        if self._getters.count:
            result.append('getters[%s]' % (self._getters.count,))
        if self._putters.count:
            result.append('putters[%s]' % (self._putters.count,))
        if result:
            return ' ' + ' '.join(result)
        return ''

    # -- putting -----------------------------------------------------------------

    cpdef put(self, item, block=True, timeout=None):
        """Put *item* in the queue, blocking while it is full.

        With *block* false, or when *timeout* seconds pass first, raise
        Full instead. A negative *timeout* is a ValueError.
        """
        cdef ItemWaiter waiter
        if self.is_shutdown:
            raise _ShutDown
        if self._fast and (self._maxsize == -1 or Py_SIZE(self._queue) < self._maxsize):
            # _put of our own deque-backed types, inlined.
            _check_timeout(block, timeout)
            _deque_append_item(self._queue, item)
            if self._fast == FAST_JOINABLE:
                (<Queue>self)._did_put_task()
            if self._getters.count:
                self._schedule_unlock()
            return
        if self._maxsize == -1 or self._qsize() < self._maxsize:
            _check_timeout(block, timeout)
            self._put(item)
            if self._getters.count:
                self._schedule_unlock()
            return
        current = <object>PyGreenlet_GetCurrent()
        if current is self.hub:
            # In the hub we cannot wait, but we can let getters make room.
            while self._getters.count and self._qsize() and self._qsize() >= self._maxsize:
                waiter = self._getters.popleft()
                waiter.switch_c(waiter)
            if self._qsize() < self._maxsize:
                self._put(item)
                return
            raise _Full
        if not block:
            raise _Full
        waiter = ItemWaiter.__new__(ItemWaiter)
        waiter.item = item
        try:
            result = self._wait_in(self._putters, self._getters, waiter, current, timeout, _Full)
            if result is not waiter:
                raise InvalidSwitchError('Invalid switch into Queue.put: %r' % (result,))
            if waiter.exc_info is not None:
                # The unlock could not add our item: its error is ours.
                exc = waiter.exc_info[1]
                waiter.exc_info = None
                raise exc
        finally:
            waiter.item = None

    cpdef put_nowait(self, item):
        """Put *item* if there is room now, else raise Full."""
        self.put(item, False)

    # -- getting -----------------------------------------------------------------

    cpdef get(self, block=True, timeout=None):
        """Remove and return an item, blocking while the queue is empty.

        With *block* false, or when *timeout* seconds pass first, raise
        Empty instead. A negative *timeout* is a ValueError (only checked
        when the queue is empty, as in gevent).
        """
        if self._fast:
            if Py_SIZE(self._queue):
                if self._putters.count:
                    self._schedule_unlock()
                return _deque_popleft_item(self._queue)
        elif self._qsize():
            if self._putters.count:
                self._schedule_unlock()
            return self._get()
        return self._get_or_peek(False, block, timeout)

    cpdef get_nowait(self):
        """Remove and return an item if one is there now, else raise Empty."""
        return self.get(False)

    cpdef peek(self, block=True, timeout=None):
        """Return the next item without removing it; blocks like get()."""
        if self._qsize():
            return self._peek()
        return self._get_or_peek(True, block, timeout)

    cpdef peek_nowait(self):
        """Return the next item if there is one now, else raise Empty."""
        return self.peek(False)

    cdef object _get_or_peek(self, bint peek, block, timeout):
        # The queue is empty (when we were called).
        cdef ItemWaiter waiter
        if self.is_shutdown:
            raise _ShutDown
        _check_timeout(block, timeout)
        current = <object>PyGreenlet_GetCurrent()
        if current is self.hub:
            # In the hub: let blocked putters fill the queue instead of waiting.
            while self._putters.count:
                waiter = self._putters.popleft()
                waiter.put_and_switch(self)
                if self._qsize():
                    return self._peek() if peek else self._get()
            raise _Empty
        if not block:
            raise _Empty
        waiter = ItemWaiter.__new__(ItemWaiter)
        result = self._wait_in(self._getters, self._putters, waiter, current, timeout, _Empty)
        if result is not waiter:
            raise InvalidSwitchError('Invalid switch into Queue.get: %r' % (result,))
        return self._peek() if peek else self._get()

    # -- waking waiters ----------------------------------------------------------

    def _unlock(self):
        self._unlock_phase = 0
        wake_inline(self)

    cdef bint begin_wake(self, object args) except -1:
        self._unlock_phase = 0
        return True

    cdef int next_wake(self, bint in_hub) except -1:
        # gevent's _unlock loop as steps: in each round, move one putter's
        # item in (if there is room) and wake it, then wake one getter (if
        # there is an item); rounds go on while either moved.
        cdef ItemWaiter putter, getter
        if not in_hub and not self._plain:
            return WAKE_NEED_HUB    # a subclass's container code: in the hub
        while True:
            if self._unlock_phase == 0:
                self._unlock_phase = 1
                self._unlock_repeat = False
                if self._putters.count and (self._maxsize == -1 or self._qsize() < self._maxsize):
                    self._unlock_repeat = True
                    putter = self._putters.popleft()
                    try:
                        self._put(putter.item)
                    except BaseException:
                        putter.exc_info = _sys.exc_info()
                    if putter.greenlet is not None:
                        self.wake_target = putter.greenlet
                        self.wake_args = _WOKEN_ARGS
                        return WAKE_SWITCH
            if self._unlock_phase == 1:
                self._unlock_phase = 2
                if self._getters.count and self._qsize():
                    self._unlock_repeat = True
                    getter = self._getters.popleft()
                    if getter.greenlet is not None:
                        self.wake_target = getter.greenlet
                        self.wake_args = _WOKEN_ARGS
                        return WAKE_SWITCH
            self._unlock_phase = 0
            if not self._unlock_repeat:
                return WAKE_DONE


# -- Queue (joinable) ---------------------------------------------------------------

cdef class Queue(SimpleQueue):
    """Queue(maxsize=None, items=(), unfinished_tasks=None)

    A SimpleQueue that also counts unfinished tasks: every put adds one,
    ``task_done()`` removes one, ``join()`` waits for none to be left. Has
    Python 3.13's ``shutdown()``. (``JoinableQueue`` is the same class.)
    """

    def __init__(self, maxsize=None, items=(), unfinished_tasks=None):
        SimpleQueue.__init__(self, maxsize, items, _warn_depth=3)
        self._cond = Event()
        self._cond.set()
        if unfinished_tasks:
            self.unfinished_tasks = unfinished_tasks
        elif items:
            self.unfinished_tasks = len(items)
        else:
            self.unfinished_tasks = 0
        if self.unfinished_tasks:
            self._cond.clear()

    def copy(self):
        return type(self)(self.maxsize, self._queue, self.unfinished_tasks)

    def _format(self):
        result = SimpleQueue._format(self)
        if self.unfinished_tasks:
            result += ' tasks=%s _cond=%s' % (self.unfinished_tasks, self._cond)
        return result

    cpdef _put(self, item):
        if self._is_deque:
            _deque_append_item(self._queue, item)
        else:
            self._queue.append(item)
        self._did_put_task()

    cdef int _did_put_task(self) except -1:
        self.unfinished_tasks += 1
        if self._cond is not None:
            self._cond._flag = False    # Event.clear(), without the call
        return 0

    cpdef task_done(self):
        """Mark one task (an item got earlier) done; raise ValueError if none is pending."""
        if self.unfinished_tasks <= 0:
            raise ValueError('task_done() called too many times')
        self.unfinished_tasks -= 1
        if self.unfinished_tasks == 0 and self._cond is not None:
            self._cond.set()

    def join(self, timeout=None):
        """Wait until every task put has been marked done; False if *timeout* passed first."""
        if self._cond is None:
            raise RuntimeError('%s.__init__ was not called' % (type(self).__name__,))
        return self._cond.wait(timeout=timeout)

    def shutdown(self, immediate=False):
        """Make later puts (and gets, once empty) raise ShutDown; wake every blocked caller.

        With *immediate*, drop the items left (marking their tasks done) so
        gets raise at once too.
        """
        cdef ItemWaiter waiter
        self.is_shutdown = True
        if immediate:
            while self._qsize():
                self.get()
                self.task_done()
        waiters = self._getters.to_list() + self._putters.to_list()
        self._getters.clear()
        self._putters.clear()
        for waiter in waiters:
            self.hub.loop.run_callback(waiter.throw, _ShutDown)


JoinableQueue = Queue


cdef class UnboundQueue(Queue):
    # A Queue that can never be bounded (what imap uses).

    def __init__(self, maxsize=None, items=()):
        if maxsize is not None:
            raise ValueError('UnboundQueue has no maxsize')
        Queue.__init__(self, maxsize, items)

    cpdef put(self, item, block=True, timeout=None):
        self._put(item)
        if self._getters.count:
            self._schedule_unlock()


cdef class PriorityQueue(Queue):
    """A Queue that returns the lowest item first (``(priority, data)`` tuples, say).

    Items given to the constructor are heapified.
    """

    cpdef _create_queue(self, items=()):
        q = list(items)
        _heapify(q)
        return q

    cpdef _put(self, item):
        _heappush(self._queue, item)
        self._did_put_task()

    cpdef _get(self):
        return _heappop(self._queue)


cdef class LifoQueue(Queue):
    """A Queue that returns the most recently added item first."""

    cpdef _create_queue(self, items=()):
        return list(items)

    cpdef _put(self, item):
        (<list?>self._queue).append(item)
        self._did_put_task()

    cpdef _get(self):
        return (<list?>self._queue).pop()

    cpdef _peek(self):
        return self._queue[-1]


# -- Channel -----------------------------------------------------------------------

@cython.no_gc_clear
cdef class Channel(_WaitingRoom):
    """Channel(maxsize=1)

    A rendezvous: ``put`` blocks until a getter takes the item, ``get``
    until a putter brings one. Holds no item itself.
    """

    __class_getitem__ = classmethod(_types.GenericAlias)

    def __init__(self, maxsize=1):
        if maxsize != 1:
            raise ValueError('Channels have a maxsize of 1')
        self.hub = get_hub()
        self._event_unlock = None

    def __repr__(self):
        return '<%s at %s %s>' % (type(self).__name__, hex(id(self)), self._format())

    def __str__(self):
        return '<%s %s>' % (type(self).__name__, self._format())

    def _format(self):
        result = ''
        if self._getters.count:
            result += ' getters[%s]' % (self._getters.count,)
        if self._putters.count:
            result += ' putters[%s]' % (self._putters.count,)
        return result

    @property
    def getters(self):
        """The blocked getters, first first (a snapshot)."""
        return _deque(self._getters.to_list())

    @property
    def putters(self):
        """The blocked putters as ``(item, waiter)`` pairs, first first (a snapshot)."""
        return _deque([(w.item, w) for w in self._putters.to_list()])

    @property
    def balance(self):
        """Blocked putters minus blocked getters."""
        return self._putters.count - self._getters.count

    def qsize(self):
        return 0

    def empty(self):
        return True

    def full(self):
        return True

    cpdef put(self, item, block=True, timeout=None):
        """Hand *item* to a getter, blocking until one takes it (Full on timeout or if not *block*)."""
        cdef ItemWaiter waiter
        current = <object>PyGreenlet_GetCurrent()
        if current is self.hub:
            if self._getters.count:
                waiter = self._getters.popleft()
                waiter.switch_c(item)
                return
            raise _Full
        if not block:
            timeout = 0
        waiter = ItemWaiter.__new__(ItemWaiter)
        waiter.item = item
        try:
            result = self._wait_in(self._putters, self._getters, waiter, current, timeout, _Full)
        finally:
            waiter.item = None
        if result is not waiter:
            raise InvalidSwitchError('Invalid switch into Channel.put: %r' % (result,))

    def put_nowait(self, item):
        self.put(item, False)

    cpdef get(self, block=True, timeout=None):
        """Take an item from a putter, blocking until one comes (Empty on timeout or if not *block*)."""
        cdef ItemWaiter waiter
        current = <object>PyGreenlet_GetCurrent()
        if current is self.hub:
            if self._putters.count:
                waiter = self._putters.popleft()
                if self.hub._loop is None:
                    raise RuntimeError('the hub of %r was destroyed' % (self,))
                _hub_run_callback(self.hub, waiter.switch, (waiter,))
                return waiter.item
        if not block:
            timeout = 0
        waiter = ItemWaiter.__new__(ItemWaiter)
        # The unlock switches the putter's item in, not the waiter.
        return self._wait_in(self._getters, self._putters, waiter, current, timeout, _Empty)

    def get_nowait(self):
        return self.get(False)

    def _unlock(self):
        self._unlock_putter = None
        wake_inline(self)

    cdef bint begin_wake(self, object args) except -1:
        self._unlock_putter = None
        return True

    cdef int next_wake(self, bint in_hub) except -1:
        # Pair the first getter with the first putter: switch the item to
        # the getter, then wake the putter; while both are there.
        cdef ItemWaiter getter, putter
        while True:
            putter = self._unlock_putter
            if putter is not None:
                self._unlock_putter = None
                if putter.greenlet is not None:
                    self.wake_target = putter.greenlet
                    self.wake_args = _WOKEN_ARGS
                    return WAKE_SWITCH
            if not (self._putters.count and self._getters.count):
                return WAKE_DONE
            getter = self._getters.popleft()
            putter = self._putters.popleft()
            self._unlock_putter = putter
            if getter.greenlet is not None:
                self.wake_target = getter.greenlet
                self.wake_args = (putter.item,)
                return WAKE_SWITCH

    def next(self):
        return self.__next__()


_PLAIN_QUEUES = (SimpleQueue, Queue, UnboundQueue, PriorityQueue, LifoQueue)
