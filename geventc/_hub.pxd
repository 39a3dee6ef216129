# Layout and typed entry points of the hub and its primitives, so that
# _queue and other compiled modules wait, switch and link without Python
# dispatch.

from cpython.ref cimport PyObject
from geventc.includes cimport libev
from geventc.includes.greenlet cimport greenlet
from geventc._core cimport loop, Wakeable


cdef class HubBase(greenlet):
    # ``hub.loop`` as assigned: usually a geventc loop, but any object that
    # forwards to one (a proxy in a test) is allowed.
    cdef object _loop
    # The same object when it is a geventc loop, else None: the typed fast
    # paths use it and fall back to Python calls on _loop when it is None.
    cdef loop _cloop
    cdef public object name
    cdef public object thread_ident
    cdef public object format_context
    cdef public object periodic_monitoring_thread
    # _resolver and _threadpool live in the instance dict (see HubBase).
    cdef object _exception_stream
    cdef bint _destroyed
    # As gevent's hub: a number per hub made, and the registry behind the
    # minimal_ident of the greenlets it runs (made when first needed).
    cdef public object minimal_ident
    cdef object _ident_registry
    # As gevent's TrackedRawGreenlet, the hub is part of the spawn tree.
    cdef public object spawning_greenlet
    cdef public object spawn_tree_locals

    cpdef switch(self)
    cpdef wait(self, watcher)
    cdef int _call_switch_out(self, object cur) except -1
    cdef object switch_c(self)


cdef class Waiter:
    cdef readonly HubBase hub
    cdef public object greenlet
    cdef public object value
    cdef object _exception

    cpdef switch(self, value)
    cpdef get(self)


cdef class Timeout(BaseException):
    cdef libev.ev_timer _timer
    cdef loop _loop
    # The timer watcher made by hub.loop.timer() when hub.loop was not a
    # geventc loop at creation (then _timer is unused), else None.
    cdef object _watcher
    cdef public object seconds
    cdef public object exception
    cdef object _target
    cdef object _throws
    cdef bint _one_shot
    cdef bint _ref
    cdef bint _self_ref
    cdef bint _closed

    cdef int start_c(self) except -1
    cdef int _start_watcher(self) except -1
    cdef bint _pending_c(self) except -1
    cdef bint _active_c(self) except -1
    cpdef cancel(self)
    cdef int _expired(self) noexcept
    cdef int _release(self) noexcept


cdef class AbstractLinkable(Wakeable):
    cdef public object hub
    cdef list _links
    cdef object _notifier
    cdef bint _notify_all
    # A notification walking _links (see _walk_step): the next index, the
    # link that was last when it began (None: no walk), whether that one
    # was reached, callables already called, and the args a link gets.
    cdef list _walk_list
    cdef Py_ssize_t _walk_i
    cdef object _walk_final
    cdef bint _walk_last
    cdef set _walk_called
    cdef tuple _walk_args
    # Greenlets that called wait() on a ready object while its notification
    # was queued or running: woken after that notification's links.
    cdef list _arrived
    cdef object __weakref__

    cpdef bint ready(self)
    cpdef rawlink(self, callback)
    cpdef unlink(self, callback)
    cdef int _check_and_notify(self) except -1
    cdef int _walk_begin(self) except -1
    cdef int _walk_start(self, list links) except -1
    cdef bint _walk_next_list(self) except -1
    cdef int _walk_reset(self) except -1
    cdef int _walk_end(self) except -1
    cdef int _wait_turn(self) except -1
    cdef int _walk_inline(self) except -1
    cdef object _wait_core(self, timeout, bint catch=*)
    cdef object _capture_hub(self)


cdef class Event(AbstractLinkable):
    cdef bint _flag
    cpdef set(self)
    cpdef clear(self)


cdef class AsyncResult(AbstractLinkable):
    cdef public object _value
    cdef public object _exc_info
    cdef object _imap_task_index


cdef class _Frame:
    # A frame of Greenlet.spawning_stack: what tracebacks read, without
    # keeping the frame (and its locals) alive.
    cdef readonly object f_code
    cdef readonly _Frame f_back
    cdef int _lasti
    cdef int _lineno


cdef class _SpawnStack:
    # The spawner's innermost frames, as code objects (references held)
    # and instruction offsets; _frames() makes the chain gevent exposes.
    cdef int n
    cdef PyObject* codes[10]
    cdef int lasti[10]

    cdef _Frame _frames(self)


cdef class Greenlet(greenlet):
    cdef readonly tuple args
    # None while there are none: an empty dict per greenlet is 64 B and a
    # garbage-collector allocation (read through the kwargs property).
    cdef dict _kwargs
    cdef public object value
    cdef object _run_callable
    cdef object _start_event
    cdef object _notifier
    # The first link in a field of its own and the rest in a list: most
    # greenlets get one link (joinall, a Pool's discard) and no list.
    # New links go to the list once it has entries, so order holds.
    cdef object _link1
    cdef list _links
    cdef object _exc_info
    cdef object _formatted_info
    cdef object _ident
    # The spawn tree (config.track_greenlet_tree): a weakref to the
    # spawner, the locals shared down the tree, where it was spawned.
    cdef readonly object spawning_greenlet
    # What the spawn_tree_locals property gives: a dict, None (not
    # tracked), or _NEW_TREE: a dict of its own, made when first needed.
    cdef object _tree_locals
    # What the spawning_stack property gives: None, a _Frame chain, or a
    # _SpawnStack that becomes one when first read.
    cdef object _spawning_stack

    cdef object _run_target(self)
    cdef int _run_failed(self) except -1
    cpdef start(self)
    cpdef bint ready(self)
    cpdef bint successful(self)
    cpdef rawlink(self, callback)
    cpdef unlink(self, callback)
    cpdef join(self, timeout=*)
    cdef bint _dead(self)
    cdef int _cancel_start(self) except -1
    cdef int _report_result(self, result) except -1
    cdef int _report_error(self, exc_info) except -1
    cdef int _schedule_notify(self) except -1
    cdef bint _has_links(self)
    cdef int _notify_links_c(self) except -1
    cdef int _call_link(self, link) except -1
    cdef int _handle_death_before_start(self, tuple args) except -1
    cpdef bint _maybe_kill_before_start(self, exception) except -1


cpdef HubBase get_hub()
cdef object _hub_run_callback(HubBase hub, object func, tuple args)
cdef HubBase _get_hub_c()
cpdef Greenlet spawn_c(object func, tuple args, dict kwargs)
cdef Timeout _start_timeout(timeout, exception=*, ref=*)

# -- semaphores and locks (_lock.pxi) --

cdef class _ThreadWake:
    cdef int wake(self) except -1


cdef class Semaphore(AbstractLinkable):
    # A C int, as gevent's: Semaphore(2**40) raises OverflowError.
    cdef public int counter
    # Wake-ups of waiters in other threads (see _lock.pxi).
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
    cdef int _notify(self) except -1
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
