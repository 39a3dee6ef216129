# Layout and typed entry points of the libev loop and its watchers, so that
# _hub and the other compiled modules call them without Python dispatch.

from cpython.ref cimport PyObject
from cpython.pystate cimport PyThreadState
from geventc.includes cimport libev


cdef struct io_link:
    # An io watcher's libev struct (first: libev's pointer to the watcher is
    # a pointer to this) linked into its loop's list of active io watchers.
    libev.ev_io io
    io_link* prev
    io_link* next


cdef struct fd_check:
    # What libev will hand to the kernel (epoll_ctl) at the start of its
    # next iteration: the fds whose io watchers were started or stopped
    # since. libev aborts on a closed fd there, so they are checked first,
    # by the `prepare` watcher, and a closed fd's watchers are killed (as
    # libev itself does without its asserts: stopped, told READ|WRITE|ERROR).
    libev.ev_prepare prepare
    io_link* active             # every active io watcher of the loop
    int* counts                 # active io watchers per fd
    int counts_len
    int* touched                # fds to check, in no order, maybe repeated
    int ntouched
    int touched_cap
    # An allocation failed: check every active watcher's fd instead.
    bint check_all


cdef struct loop_state:
    # Reached from libev's release/acquire callbacks, which run without the
    # GIL and so cannot touch the Python object that owns this struct.
    PyThreadState* tstate
    fd_check fds


cdef enum:
    # callback.kind: call `callback(*args)`; switch into the greenlet
    # `callback` with `args` through greenlet's C API; or step the Wakeable
    # `callback` (begun with `args`) through its series of switches.
    # START_KIND is a switch that starts its greenlet (start(), spawn()):
    # a hand-off must give it the hub's recursion budget (geventc_start_switch),
    # and knowing it from the kind spares every other hand-off greenlet's
    # PyGreenlet_STARTED, a call into greenlet's module.
    CALL_KIND = 0
    SWITCH_KIND = 1
    WAKE_KIND = 2
    START_KIND = 3
    # `callback(args)`: one argument kept as is, with no tuple and no bound
    # method made (a greenlet's link notification: run_call1).
    CALL1_KIND = 4

    # What Wakeable.next_wake asks its runner to do.
    WAKE_DONE = 0
    WAKE_SWITCH = 1
    WAKE_NEED_HUB = 2


cdef class Wakeable:
    # Something whose queued notification (a queue's unlock, a linkable's
    # notify) is a series of greenlet switches, each chosen only when the
    # previous one is over, as a loop over waiters that switches into each
    # would. Written as steps, the hub runs it one switch at a time and a
    # greenlet that blocks while the hub waits on a switch it made may take
    # the next step itself: one greenlet switch instead of two.
    #
    # begin_wake(args) starts a queued notification (False: stale, skip it);
    # next_wake(in_hub) sets wake_target/wake_args and returns WAKE_SWITCH,
    # returns WAKE_DONE when finished, or, outside the hub, WAKE_NEED_HUB
    # (having consumed nothing) when the next step runs user callables that
    # expect to run in the hub. wake_error reports a switch that failed.
    cdef object wake_target
    cdef tuple wake_args

    cdef bint begin_wake(self, object args) except -1
    cdef int next_wake(self, bint in_hub) except -1
    cdef int wake_error(self, object target) noexcept


# A whole notification run at once, in the caller (gevent's `_unlock()` or
# `_notify_links()` called directly): every step's switch made here.
cdef int wake_inline(Wakeable w) except -1


cdef class callback:
    # A queued call. `callback is None` means it was run or stopped.
    cdef public object callback
    cdef public object args
    cdef callback next
    # SWITCH_KIND: `callback` is a greenlet switched to with `args` (a
    # 1-tuple) through greenlet's C API, with no bound method made.
    cdef int kind

    cpdef stop(self)


cdef class loop:
    cdef libev.ev_loop* _ptr
    cdef loop_state _state
    cdef callback _cb_head
    cdef callback _cb_tail
    cdef Py_ssize_t _cb_count
    cdef bint _default
    cdef bint _break_requested
    # destroy() was called; libev's loop is freed once ev_run is off the stack.
    cdef bint _destroyed
    # The greenlet inside run(), if any (destroy() may not come from it).
    cdef object _runner
    cdef bint _running_callbacks
    # True while the hub is suspended in a switch that ends its current
    # callback (a SWITCH_KIND, or one step of a Wakeable): anything the
    # hub does next is the next step, so a greenlet that blocks may take it.
    cdef bint _handoff_ok
    # The Wakeable whose notification is being stepped (hub or hand-off).
    cdef Wakeable _wake_current
    cdef callback _wake_cb
    cdef tuple _next_args
    # The greenlet next_handoff returned is one to start (START_KIND).
    cdef bint _next_starts
    cdef public object error_handler
    cdef object _origflags
    cdef int _backend_fd
    # Active watchers that keep the loop alive, counted by the watchers.
    cdef Py_ssize_t _activecnt
    # How many more switches blocking greenlets may hand control to
    # directly, without a round trip through the hub; renewed each time
    # the hub switches, so the hub still polls within its budget.
    cdef int _direct_budget
    # The hub's recursion budget at its last tail switch (geventc_start_switch).
    cdef int _hub_py_remaining
    cdef int _hub_c_remaining
    # Cross-thread wake-up and the Python-signal wake-up (main thread only).
    cdef libev.ev_async _threadsafe_async
    cdef libev.ev_io _sigwake_io
    cdef libev.ev_prepare _signal_prepare
    cdef object _threadsafe_queue
    cdef object _sigwake_sockets
    cdef object _old_wakeup_fd
    # Set on a second object over the default loop (loop(default=True)
    # while one exists): the object that owns the libev loop.
    cdef loop _owner
    # The owner's weak set of such objects.
    cdef object _aliases
    cdef object __weakref__

    cdef int _check(self) except -1
    cdef int _share_default(self, loop owner) except -1
    cdef int _forget_aliases(self) noexcept
    cdef int _really_destroy(self) noexcept
    cdef callback _append(self, callback cb)
    cdef callback run_callback_c(self, object func, tuple args)
    cdef callback run_call1(self, object func, object arg)
    cdef callback run_switch(self, object glet, tuple args)
    cdef callback run_start(self, object glet)
    cdef callback run_wake(self, Wakeable w, object args)
    cdef callback _enqueue(self, int kind, object func, object args)
    cdef callback _pop_head(self)
    cdef bint _has_callbacks(self)
    cdef object next_handoff(self)
    cdef object _next_handoff(self)
    cdef int _begin_wake(self, callback cb, Wakeable w, object args) except -1
    cdef int _end_wake(self) except -1
    cdef int _tail_switch(self, object target, object args, object context) except -1
    cdef int _run_callbacks(self) except -1
    cdef int _drain_threadsafe(self) except -1
    cdef int _check_signals(self) noexcept
    cdef int _handle_error_now(self, object context) noexcept
    cpdef handle_error(self, context, t, v, tb)
    cdef int _install_signal_wakeup(self) except -1
    cdef int _remove_signal_wakeup(self) noexcept
    cdef int _after_fork(self) except -1
    cpdef int update_now(self) except -1
    cpdef double now(self) except? -1


cdef class watcher:
    cdef readonly loop loop
    cdef object _callback
    cdef tuple _args
    cdef libev.ev_watcher* _w
    # libev start/stop for the concrete type, set by each subclass.
    cdef void (*_ev_start)(libev.ev_loop*, libev.ev_watcher*) noexcept nogil
    cdef void (*_ev_stop)(libev.ev_loop*, libev.ev_watcher*) noexcept nogil
    cdef bint _ref
    cdef bint _closed
    # True while the loop's refcount has been lowered for this watcher.
    cdef bint _unrefed
    # True while this object holds a reference to itself (libev holds a raw
    # pointer to the embedded struct while the watcher is active).
    cdef bint _self_ref

    cdef int _start(self, object callback, tuple args) except -1
    cdef int _stop(self) except -1
    cdef int start_c(self, object callback, tuple args) except -1
    cdef int _on_started(self) except -1
    cdef int _on_stopped(self) noexcept
    cdef int _invoke(self, int revents) noexcept
    cdef int _check_startable(self) except -1
    cdef int _check_init(self) except -1
    cdef int _init_common(self, loop lp, ref, priority) except -1


cdef class io(watcher):
    cdef io_link _link


cdef class timer(watcher):
    cdef libev.ev_timer _timer
    cdef double _after
    cdef double _repeat
    cdef int _start_updating(self, object callback, tuple args, bint update) except -1


cdef class signal(watcher):
    cdef libev.ev_signal _signal
    cdef int _signum
    # Counted among its signal's active watchers (see _Disposition).
    cdef bint _counted


cdef class idle(watcher):
    cdef libev.ev_idle _idle


cdef class prepare(watcher):
    cdef libev.ev_prepare _prepare


cdef class check(watcher):
    cdef libev.ev_check _check_w


cdef class fork(watcher):
    cdef libev.ev_fork _fork


cdef class async_(watcher):
    cdef libev.ev_async _async


cdef class child(watcher):
    # libev's own child watcher needs the default loop's SIGCHLD handler,
    # which reaps every child behind subprocess's back: watch a pidfd instead.
    cdef libev.ev_io _io
    cdef int _pid
    cdef int _pidfd
    cdef bint _trace
    cdef bint _gone
    cdef bint _foreign
    cdef public int rpid
    cdef public int rstatus
    cdef int _setup(self, loop lp, int pid, trace, ref) except -1
    cdef int _close_pidfd(self) noexcept
    cdef int _disown(self) except -1


cdef class stat(watcher):
    cdef libev.ev_stat _stat
    cdef bytes _cpath
    cdef object _path
