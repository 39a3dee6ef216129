# cython: freethreading_compatible=False
"""The libev event loop and its watchers, compiled (``geventc.core``).

Design notes
------------
* One ``loop`` object owns one ``ev_loop`` made with ``ev_loop_new``, also
  for the process's default loop: libev's real default loop installs a
  SIGCHLD handler that reaps every child behind ``subprocess``'s back.
* The callback queue (``run_callback``) is a singly linked list of
  ``callback`` objects drained *before* libev polls; libev is only polled
  (without blocking) when callbacks remain after a drain bounded by the
  interpreter's switch interval. Polling after every switch cost ~400 ns.
* The GIL is released only around libev's poll (``ev_set_loop_release_cb``),
  so watcher callbacks run without re-taking it and a cross-thread
  ``ev_async_send`` wakes the loop promptly.
* libev's asserts are compiled in: every argument is checked here and a
  Python error raised before libev sees it.
* A started watcher holds a reference to itself: libev keeps a raw pointer
  to the struct embedded in the object until the watcher stops.
* In the main thread the default loop owns ``signal.set_wakeup_fd`` (unless
  someone else already does), so a Python signal handler runs promptly even
  when the signal was delivered while libev blocked, or to another thread.
"""

cimport cython
from cpython.ref cimport PyObject, PyTypeObject, Py_INCREF, Py_DECREF
from cpython.exc cimport PyErr_CheckSignals
from cpython.tuple cimport PyTuple_GET_SIZE
from libc.errno cimport errno, EBADF
from libc.stdlib cimport realloc, free
from cpython.pythread cimport PyThread_get_thread_ident
from posix.fcntl cimport fcntl, F_GETFD
from posix.signal cimport sigaction_t, sigaction

from geventc.includes cimport libev
from geventc.includes.libc cimport NSIG
from geventc.includes.python cimport (
    PyEval_SaveThread, PyEval_RestoreThread)
from geventc.includes.greenlet cimport (
    greenlet, PyGreenlet_Import, PyGreenlet_Switch, geventc_recursion_get)

import os as _os
import sys as _sys
# The C modules, not signal/socket/threading/traceback/weakref: `import
# geventc` must stay cheap (issue 12), and those are needed only when a loop
# is made or an error is printed; they are imported there.
import _signal as _signal_mod
import _weakref
from _weakrefset import WeakSet as _WeakSet
from greenlet import GreenletExit as _GreenletExit, getcurrent as _getcurrent
from geventc import _children


cdef object _traceback():
    import traceback
    return traceback


# The main thread, natively: threading may not be importable when a loop is
# made (monkey.patch_thread imports it after patching _thread, and its import
# takes a lock, which makes the hub). As threading does, the thread that
# forked is the child's main thread.
cdef unsigned long _main_ident = PyThread_get_thread_ident()


cdef inline bint _in_main_thread():
    return PyThread_get_thread_ident() == _main_ident

PyGreenlet_Import()

__all__ = [
    'get_version', 'get_header_version', 'supported_backends',
    'recommended_backends', 'embeddable_backends', 'time', 'loop',
    'callback', 'watcher', 'io', 'timer', 'signal', 'idle', 'prepare',
    'check', 'fork', 'async_', 'child', 'stat',
    'READ', 'WRITE', 'NONE', 'UNDEF', 'MAXPRI', 'MINPRI', 'EVENTS',
]

READ = libev.EV_READ
WRITE = libev.EV_WRITE
NONE = libev.EV_NONE
UNDEF = libev.EV_UNDEF
ERROR = libev.EV_ERROR
MAXPRI = libev.EV_MAXPRI
MINPRI = libev.EV_MINPRI

cdef int _IO_EVENTS_MASK = libev.EV_READ | libev.EV_WRITE
# Hand-offs (greenlet to greenlet, see loop.next_handoff) allowed per switch
# of the hub, and steps (callbacks and hand-offs) between looks at the clock.
cdef enum:
    _DIRECT_BUDGET = 64
    _STEPS_PER_CLOCK_CHECK = 64

# gevent.core's names for libev's event bits, backends and flags.
READWRITE = libev.EV_READ | libev.EV_WRITE
TIMER = libev.EV_TIMER
PERIODIC = libev.EV_PERIODIC
SIGNAL = libev.EV_SIGNAL
CHILD = libev.EV_CHILD
STAT = libev.EV_STAT
IDLE = libev.EV_IDLE
PREPARE = libev.EV_PREPARE
CHECK = libev.EV_CHECK
EMBED = libev.EV_EMBED
FORK = libev.EV_FORK
CLEANUP = libev.EV_CLEANUP
ASYNC = libev.EV_ASYNC
CUSTOM = libev.EV_CUSTOM
BACKEND_SELECT = libev.EVBACKEND_SELECT
BACKEND_POLL = libev.EVBACKEND_POLL
BACKEND_EPOLL = libev.EVBACKEND_EPOLL
BACKEND_KQUEUE = libev.EVBACKEND_KQUEUE
BACKEND_DEVPOLL = libev.EVBACKEND_DEVPOLL
BACKEND_PORT = libev.EVBACKEND_PORT
BACKEND_LINUXAIO = libev.EVBACKEND_LINUXAIO
BACKEND_IOURING = libev.EVBACKEND_IOURING
FORKCHECK = libev.EVFLAG_FORKCHECK
NOINOTIFY = libev.EVFLAG_NOINOTIFY
SIGNALFD = libev.EVFLAG_SIGNALFD
NOSIGMASK = libev.EVFLAG_NOSIGMASK


@cython.final
cdef class _EVENTSType:
    def __repr__(self):
        return 'gevent.core.EVENTS'

# Passed in a watcher's args, replaced by the revents of the call.
EVENTS = GEVENT_CORE_EVENTS = _EVENTSType()


def get_version():
    return 'libev-%d.%02d' % (libev.ev_version_major(), libev.ev_version_minor())


def get_header_version():
    return 'libev-%d.%02d' % (libev.EV_VERSION_MAJOR, libev.EV_VERSION_MINOR)


def time():
    """The current time as libev sees it (``ev_time``)."""
    return libev.ev_time()


# The order libev tries backends in; the names are gevent's.
_flags = (
    (libev.EVBACKEND_PORT, 'port'),
    (libev.EVBACKEND_KQUEUE, 'kqueue'),
    (libev.EVBACKEND_IOURING, 'linux_iouring'),
    (libev.EVBACKEND_LINUXAIO, 'linux_aio'),
    (libev.EVBACKEND_EPOLL, 'epoll'),
    (libev.EVBACKEND_POLL, 'poll'),
    (libev.EVBACKEND_SELECT, 'select'),
    (libev.EVFLAG_NOENV, 'noenv'),
    (libev.EVFLAG_FORKCHECK, 'forkcheck'),
    (libev.EVFLAG_NOINOTIFY, 'noinotify'),
    (libev.EVFLAG_SIGNALFD, 'signalfd'),
    (libev.EVFLAG_NOSIGMASK, 'nosigmask'),
)
_flags_str2int = dict((name, value) for (value, name) in _flags)

_events = (
    (libev.EV_READ, 'READ'),
    (libev.EV_WRITE, 'WRITE'),
    (libev.EV__IOFDSET, '_IOFDSET'),
    (libev.EV_PERIODIC, 'PERIODIC'),
    (libev.EV_SIGNAL, 'SIGNAL'),
    (libev.EV_CHILD, 'CHILD'),
    (libev.EV_STAT, 'STAT'),
    (libev.EV_IDLE, 'IDLE'),
    (libev.EV_PREPARE, 'PREPARE'),
    (libev.EV_CHECK, 'CHECK'),
    (libev.EV_EMBED, 'EMBED'),
    (libev.EV_FORK, 'FORK'),
    (libev.EV_CLEANUP, 'CLEANUP'),
    (libev.EV_ASYNC, 'ASYNC'),
    (libev.EV_CUSTOM, 'CUSTOM'),
    (libev.EV_ERROR, 'ERROR'),
)


def _flags_to_list(unsigned int flags):
    """The names of the bits set in *flags*; unnamed bits last, as one int."""
    result = []
    for code, name in _flags:
        if flags & code:
            result.append(name)
            flags &= ~code
        if not flags:
            break
    if flags:
        result.append(flags)
    return result


def _flags_to_int(flags):
    """Accept an int, 'epoll', 'select,poll', ['select', 'poll'] or a mix."""
    if not flags:
        return 0
    if isinstance(flags, bool):
        raise TypeError('flags must be a string, int or sequence, not bool')
    if isinstance(flags, int):
        if flags < 0 or flags > 0xffffffff:
            raise OverflowError('flags out of range for an unsigned int: %r' % (flags,))
        return flags
    if isinstance(flags, (bytes, bytearray)):
        flags = flags.decode('ascii')
    if isinstance(flags, str):
        flags = flags.split(',')
    result = 0
    for value in flags:
        if isinstance(value, int) and not isinstance(value, bool):
            result |= value
            continue
        if not isinstance(value, str):
            raise TypeError('flags must be strings or ints, not %r' % (value,))
        value = value.strip().lower()
        if not value:
            continue
        code = _flags_str2int.get(value)
        if code is None:
            raise ValueError('Invalid backend or flag: %r\nPossible values: %s'
                             % (value, ', '.join(sorted(_flags_str2int))))
        result |= code
    return result


def _str_hex(flag):
    if isinstance(flag, int):
        return hex(flag)
    return str(flag)


def _check_flags(unsigned int flags):
    # Like libev, a set of backends is fine when any of them is supported.
    flags &= libev.EVBACKEND_MASK
    if not flags:
        return
    if not (flags & libev.EVBACKEND_ALL):
        raise ValueError('Invalid value for backend: 0x%x' % flags)
    if not (flags & libev.ev_supported_backends()):
        raise ValueError('Unsupported backend: %s'
                         % '|'.join([_str_hex(x) for x in _flags_to_list(flags)]))


def _events_to_str(int events):
    """``'READ|WRITE'`` for a watcher's event mask; unnamed bits in hex."""
    result = []
    cdef int code
    for flag, name in _events:
        code = flag
        if events & code:
            result.append(name)
            events &= ~code
        if not events:
            break
    if events:
        result.append(hex(events))
    return '|'.join(result)


def supported_backends():
    return _flags_to_list(libev.ev_supported_backends())


def recommended_backends():
    return _flags_to_list(libev.ev_recommended_backends())


def embeddable_backends():
    return _flags_to_list(libev.ev_embeddable_backends())


# libev calls this instead of abort() when a system call fails; the loop
# raises it as SystemError once ev_run returns.
cdef object _pending_syserr = None

cdef void _syserr_cb(const char* msg) noexcept with gil:
    global _pending_syserr
    try:
        _pending_syserr = '%s: %s' % (msg.decode('utf-8', 'replace'), _os.strerror(errno))
    except BaseException:
        pass

libev.ev_set_syserr_cb(_syserr_cb)


cdef void _release_gil(libev.ev_loop* ptr) noexcept nogil:
    (<loop_state*>libev.ev_userdata(ptr)).tstate = PyEval_SaveThread()


cdef void _acquire_gil(libev.ev_loop* ptr) noexcept nogil:
    cdef loop_state* state = <loop_state*>libev.ev_userdata(ptr)
    PyEval_RestoreThread(state.tstate)
    state.tstate = NULL


cdef class Wakeable:
    """Base of the compiled objects whose notifications the loop steps
    (see _core.pxd); the default has nothing to wake."""

    cdef bint begin_wake(self, object args) except -1:
        return True

    cdef int next_wake(self, bint in_hub) except -1:
        return WAKE_DONE

    cdef int wake_error(self, object target) noexcept:
        _traceback().print_exc()
        return 0


cdef int wake_inline(Wakeable w) except -1:
    # The one walk that wakes waiters in the caller (the loop's own runner
    # steps the same Wakeable one switch at a time instead). A failed
    # switch is the Wakeable's to report; the walk goes on.
    cdef object target
    cdef object args
    while w.next_wake(True) == WAKE_SWITCH:
        target = w.wake_target
        args = w.wake_args
        w.wake_target = None
        w.wake_args = None
        try:
            PyGreenlet_Switch(<greenlet>target, <PyObject*>args, NULL)
        except BaseException:
            w.wake_error(target)
    return 0


@cython.freelist(1024)
cdef class callback:
    """A call queued with ``loop.run_callback``; ``stop()`` cancels it."""

    def __cinit__(self, callback=None, args=None):
        self.callback = callback
        self.args = args

    cpdef stop(self):
        self.callback = None
        self.args = None

    close = stop

    # As gevent's: `pending` is cleared when the callback starts running,
    # but it stays true until it has finished; code deciding whether to
    # queue another (a queue's unlock) asks the latter.
    @property
    def pending(self):
        return self.callback is not None

    def __bool__(self):
        return self.args is not None

    def __repr__(self):
        if self.callback is not None:
            state = 'pending'
        elif self.args is not None:
            state = 'running'
        else:
            state = 'stopped'
        return '<%s at 0x%x %s>' % (type(self).__name__, id(self), state)


cdef object _live_loops = _WeakSet()
cdef object _default_loop_ref = None


cdef class loop:
    """A libev event loop, with gevent's ``loop`` API."""

    MAXPRI = libev.EV_MAXPRI
    MINPRI = libev.EV_MINPRI
    # gevent's name for the watcher that wakes the loop from other threads.
    approx_timer_resolution = 0.00001

    def __cinit__(self, flags=None, default=None):
        self._ptr = NULL
        self._backend_fd = -1

    def __init__(self, flags=None, default=None):
        global _default_loop_ref
        cdef unsigned int c_flags
        if self._ptr != NULL:
            raise RuntimeError('loop already initialised')
        if flags is None:
            # gevent's variable names a backend; libev's own is a bit mask
            # (or, here, names too).
            env = (_os.environ.get('GEVENTC_BACKEND') or _os.environ.get('GEVENT_BACKEND')
                   or _os.environ.get('LIBEV_FLAGS'))
            flags = env if env else 0
            if isinstance(flags, str) and flags.strip().isdigit():
                flags = int(flags)
        c_flags = _flags_to_int(flags)
        _check_flags(c_flags)
        self._origflags = c_flags
        # libev would re-read LIBEV_FLAGS as a number; it was parsed above.
        c_flags |= libev.EVFLAG_NOENV
        if default is None:
            default = _in_main_thread()
        if default:
            current = _default_loop_ref() if _default_loop_ref is not None else None
            if current is not None and (<loop>current)._ptr != NULL \
                    and not (<loop>current)._destroyed:
                self._share_default(<loop>current)
                return
        before = _fd_snapshot()
        self._ptr = libev.ev_loop_new(c_flags)
        if self._ptr == NULL:
            raise SystemError('ev_loop_new(%s) failed' % (_flags_to_list(c_flags),))
        self._backend_fd = _find_new_epoll_fd(before)
        self._default = bool(default)
        if self._default:
            _default_loop_ref = _weakref.ref(self)
        self._state.tstate = NULL
        _fd_check_init(&self._state.fds)
        libev.ev_set_userdata(self._ptr, &self._state)
        libev.ev_set_loop_release_cb(self._ptr, _release_gil, _acquire_gil)
        self._threadsafe_queue = None
        # Cross-thread wake-ups: unref'd so it never keeps the loop alive.
        libev.ev_async_init(&self._threadsafe_async, <libev.ev_async_cb>_noop_cb)
        libev.ev_async_start(self._ptr, &self._threadsafe_async)
        libev.ev_unref(self._ptr)
        self._sigwake_sockets = None
        self._old_wakeup_fd = None
        if self._default and _in_main_thread():
            self._install_signal_wakeup()
        _live_loops.add(self)

    cdef int _share_default(self, loop owner) except -1:
        # As gevent's loop(default=True): another object over the same libev
        # default loop. It owns no libev state (the owner does, and outlives
        # it), has its own callback queue, and destroying either one
        # destroys the loop for both.
        self._owner = owner
        self._ptr = owner._ptr
        self._backend_fd = owner._backend_fd
        self._origflags = owner._origflags
        self._default = True
        if owner._aliases is None:
            owner._aliases = _WeakSet()
        owner._aliases.add(self)
        return 0

    cdef int _forget_aliases(self) noexcept:
        # The libev loop is going away: no alias may keep its pointer.
        cdef loop alias
        if self._aliases is None:
            return 0
        for obj in list(self._aliases):
            alias = <loop>obj
            alias._destroyed = True
            alias._ptr = NULL
            alias._backend_fd = -1
            alias._cb_head = None
            alias._cb_tail = None
            alias._cb_count = 0
        self._aliases = None
        return 0

    def __dealloc__(self):
        if self._owner is not None:
            # The owner frees the libev loop.
            self._ptr = NULL
            return
        if self._ptr != NULL:
            self._remove_signal_wakeup()
            libev.ev_loop_destroy(self._ptr)
            self._ptr = NULL
        _fd_check_free(&self._state.fds)

    cdef int _check(self) except -1:
        if self._ptr == NULL or self._destroyed:
            raise ValueError('operation on destroyed loop')
        return 0

    # -- Python signals ---------------------------------------------------

    cdef int _install_signal_wakeup(self) except -1:
        # The C module's: cheaper to import, and never a monkey-patched one.
        import _socket
        rsock, wsock = _socket.socketpair()
        rsock.setblocking(False)
        wsock.setblocking(False)
        try:
            old = _signal_mod.set_wakeup_fd(wsock.fileno(), warn_on_full_buffer=False)
        except (ValueError, OSError):
            rsock.close()
            wsock.close()
            return 0
        if old != -1:
            # Someone (asyncio, an application) owns it already: be polite,
            # give it back and rely on the post-poll check instead.
            _signal_mod.set_wakeup_fd(old)
            rsock.close()
            wsock.close()
            return 0
        self._sigwake_sockets = (rsock, wsock)
        self._old_wakeup_fd = old
        libev.ev_io_init(&self._sigwake_io, <libev.ev_io_cb>_sigwake_cb, rsock.fileno(), libev.EV_READ)
        self._sigwake_io.data = <void*>self
        libev.ev_io_start(self._ptr, &self._sigwake_io)
        libev.ev_unref(self._ptr)
        return 0

    cdef int _remove_signal_wakeup(self) noexcept:
        if self._sigwake_sockets is None:
            return 0
        try:
            if self._ptr != NULL:
                libev.ev_ref(self._ptr)
                libev.ev_io_stop(self._ptr, &self._sigwake_io)
            rsock, wsock = self._sigwake_sockets
            self._sigwake_sockets = None
            try:
                if _signal_mod.set_wakeup_fd(-1) != wsock.fileno():
                    pass
            except (ValueError, OSError):
                pass
            rsock.close()
            wsock.close()
        except BaseException:
            pass
        return 0

    cdef int _check_signals(self) noexcept:
        try:
            PyErr_CheckSignals()
        except BaseException:
            self._handle_error_now(None)
        return 0

    cdef int _after_fork(self) except -1:
        if self._ptr == NULL:
            return 0
        libev.ev_loop_fork(self._ptr)
        # libev gives every fd to the new kernel state: check them all.
        self._state.fds.check_all = True
        _fd_touch(self._ptr, &self._state.fds, -1)
        if self._sigwake_sockets is not None:
            # The parent still owns the old pair: a signal in the child must
            # not wake the parent's loop.
            self._remove_signal_wakeup()
            self._install_signal_wakeup()
        return 0

    # -- errors -------------------------------------------------------------

    cdef int _handle_error_now(self, object context) noexcept:
        # Called inside an `except` block: hand the active exception over.
        try:
            t, v, tb = _sys.exc_info()
            self.handle_error(context, t, v, tb)
        except _GreenletExit:
            # HubDestroyed and friends unwinding a hub through libev's
            # frames: nothing to report.
            pass
        except BaseException:
            try:
                _traceback().print_exc()
            except BaseException:
                pass
        return 0

    cpdef handle_error(self, context, t, v, tb):
        handler = self.error_handler
        if handler is not None:
            handle = getattr(handler, 'handle_error', handler)
            handle(context, t, v, tb)
        else:
            self._default_handle_error(context, t, v, tb)

    def _default_handle_error(self, context, type, value, tb):
        _traceback().print_exception(type, value, tb)
        if self._ptr != NULL:
            self._break_requested = True
            libev.ev_break(self._ptr, libev.EVBREAK_ONE)

    # -- callbacks ------------------------------------------------------------

    cdef callback _append(self, callback cb):
        if self._cb_tail is None:
            self._cb_head = cb
        else:
            self._cb_tail.next = cb
        self._cb_tail = cb
        self._cb_count += 1
        return cb

    def run_callback(self, func, *args):
        """Run ``func(*args)`` in the loop's next turn, before it polls."""
        return self.run_callback_c(func, args)

    cdef callback run_callback_c(self, object func, tuple args):
        return self._enqueue(CALL_KIND, func, args)

    cdef callback run_call1(self, object func, object arg):
        """Queue ``func(arg)``."""
        return self._enqueue(CALL1_KIND, func, arg)

    cdef callback run_switch(self, object glet, tuple args):
        """Queue ``glet.switch(*args)`` with no bound method: sleep(0), start()."""
        return self._enqueue(SWITCH_KIND, glet, args)

    cdef callback run_start(self, object glet):
        """Queue the first switch into *glet*: start(), spawn()."""
        return self._enqueue(START_KIND, glet, ())

    cdef callback run_wake(self, Wakeable w, object args):
        """Queue the stepping of *w*'s notification (begun with *args*)."""
        return self._enqueue(WAKE_KIND, w, args)

    cdef callback _enqueue(self, int kind, object func, object args):
        if self._destroyed or self._ptr == NULL:
            raise ValueError('operation on destroyed loop')
        cdef callback cb = callback.__new__(callback)
        cb.callback = func
        cb.args = args
        cb.kind = kind
        return self._append(cb)

    cdef bint _has_callbacks(self):
        # Queued callbacks, or a notification that is still being stepped.
        return self._cb_head is not None or self._wake_current is not None

    cdef callback _pop_head(self):
        cdef callback cb = self._cb_head
        self._cb_head = cb.next
        if self._cb_head is None:
            self._cb_tail = None
        cb.next = None
        self._cb_count -= 1
        return cb

    cdef object next_handoff(self):
        """_next_handoff, its errors reported as the hub would (None then)."""
        try:
            return self._next_handoff()
        except BaseException:
            self._handle_error_now(self._wake_current)
            self._end_wake()
            return None

    cdef object _next_handoff(self):
        """Dequeue what the hub would switch to next and return that greenlet.

        For a greenlet about to block while the hub waits in a tail switch
        (``_handoff_ok``): switching straight there runs exactly what the
        hub would run next, with one greenlet switch instead of two. The
        switch's args are left in ``_next_args``. None when the next step is
        not a switch (a call, a step that needs the hub, nothing queued) or
        the budget is spent: the caller then switches to the hub."""
        cdef callback cb
        cdef Wakeable w
        cdef int r
        if self._direct_budget <= 0 or self._break_requested or self._destroyed:
            return None
        while True:
            w = self._wake_current
            if w is not None:
                r = w.next_wake(False)
                if r == WAKE_SWITCH:
                    self._direct_budget -= 1
                    # A wake target is a greenlet that linked itself while
                    # blocking: started.
                    self._next_starts = False
                    self._next_args = w.wake_args
                    target = w.wake_target
                    w.wake_target = None
                    w.wake_args = None
                    return target
                if r == WAKE_NEED_HUB:
                    return None
                self._end_wake()
            cb = self._cb_head
            if cb is None:
                return None
            if cb.callback is None:
                self._pop_head()
                continue
            if cb.kind == CALL_KIND or cb.kind == CALL1_KIND:
                return None
            self._pop_head()
            target = cb.callback
            args = cb.args
            cb.callback = None
            if cb.kind == SWITCH_KIND or cb.kind == START_KIND:
                cb.args = None
                self._direct_budget -= 1
                self._next_starts = cb.kind == START_KIND
                self._next_args = <tuple>args
                return target
            self._begin_wake(cb, <Wakeable>target, args)

    cdef int _begin_wake(self, callback cb, Wakeable w, object args) except -1:
        # cb stays true (running) until the notification is over.
        self._wake_cb = cb
        self._wake_current = w
        try:
            started = w.begin_wake(args)
        except BaseException:
            self._end_wake()
            raise
        if not started:
            self._end_wake()
        return 0

    cdef int _end_wake(self) except -1:
        cdef callback cb = self._wake_cb
        self._wake_current = None
        self._wake_cb = None
        if cb is not None:
            cb.args = None
        return 0

    cdef int _tail_switch(self, object target, object args, object context) except -1:
        # A switch after which the hub has nothing left of its callback.
        self._direct_budget = _DIRECT_BUDGET
        self._handoff_ok = True
        geventc_recursion_get(&self._hub_py_remaining, &self._hub_c_remaining)
        try:
            PyGreenlet_Switch(<greenlet>target, <PyObject*>args, NULL)
        except BaseException:
            self._handoff_ok = False
            if isinstance(context, Wakeable):
                (<Wakeable>context).wake_error(target)
            else:
                self._handle_error_now(context)
        self._handoff_ok = False
        return 0

    def run_callback_threadsafe(self, func, *args):
        """``run_callback`` that may be called from any thread; wakes the loop."""
        cdef callback cb = self.run_callback_c(func, args)
        cdef loop base = self._owner if self._owner is not None else self
        if self._ptr != NULL and not self._destroyed:
            libev.ev_async_send(base._ptr, &base._threadsafe_async)
        return cb

    cdef int _drain_threadsafe(self) except -1:
        return 0

    cdef int _run_callbacks(self) except -1:
        cdef callback cb
        cdef Wakeable w
        cdef object func
        cdef object args
        cdef int count = 0
        cdef int r
        cdef double deadline = 0
        # The switch interval counts from libev's last poll (its cached time),
        # as gevent's does: timers and I/O due meanwhile wait no longer.
        cdef double polled = libev.ev_now(self._ptr)
        self._running_callbacks = True
        try:
            while True:
                w = self._wake_current
                if w is not None:
                    # A notification in progress goes on before anything else.
                    try:
                        r = w.next_wake(True)
                    except BaseException:
                        r = WAKE_DONE
                        self._end_wake()
                        self._handle_error_now(w)
                    if r == WAKE_SWITCH:
                        target = w.wake_target
                        args = w.wake_args
                        w.wake_target = None
                        w.wake_args = None
                        self._tail_switch(target, args, w)
                        count += _DIRECT_BUDGET - self._direct_budget
                    else:
                        self._end_wake()
                        continue
                else:
                    cb = self._cb_head
                    if cb is None:
                        break
                    self._pop_head()
                    func = cb.callback
                    if func is None:
                        continue
                    args = cb.args
                    cb.callback = None
                    if cb.kind == SWITCH_KIND or cb.kind == START_KIND:
                        cb.args = None
                        self._tail_switch(func, args, cb)
                        count += _DIRECT_BUDGET - self._direct_budget
                    elif cb.kind == WAKE_KIND:
                        try:
                            self._begin_wake(cb, <Wakeable>func, args)
                        except BaseException:
                            self._handle_error_now(func)
                        continue
                    else:
                        try:
                            if cb.kind == CALL1_KIND:
                                func(args)
                            else:
                                func(*args)
                        except BaseException:
                            self._handle_error_now(cb)
                        cb.args = None
                if self._break_requested or self._destroyed:
                    break
                # Steps: this callback and the hand-offs made during its
                # switch, each of which ran a greenlet the hub would have.
                count += 1
                if count >= _STEPS_PER_CLOCK_CHECK:
                    count = 0
                    if deadline == 0:
                        deadline = polled + _sys.getswitchinterval()
                    if libev.ev_time() >= deadline:
                        break
        finally:
            self._running_callbacks = False
        return 0

    # -- running --------------------------------------------------------------

    def run(self, nowait=False, once=False):
        """Run until there is nothing left to do, ``break_()``, or one turn.

        Queued callbacks run first; libev is then polled, without blocking
        when callbacks remain.
        """
        global _pending_syserr
        cdef int active
        cdef bint c_nowait = nowait
        cdef bint c_once = once
        self._check()
        self._break_requested = False
        outer_runner = self._runner
        self._runner = _getcurrent()
        try:
            while True:
                if self._has_callbacks():
                    self._run_callbacks()
                if self._break_requested or self._destroyed:
                    break
                # Fed events (feed(), closing_fd()) are pending already:
                # libev would still block in its poll before running them.
                if c_nowait or self._has_callbacks() or libev.ev_pending_count(self._ptr):
                    active = libev.ev_run(self._ptr, libev.EVRUN_NOWAIT)
                else:
                    active = libev.ev_run(self._ptr, libev.EVRUN_ONCE)
                if self._destroyed:
                    break
                self._check_signals()
                if _pending_syserr is not None:
                    msg = _pending_syserr
                    _pending_syserr = None
                    raise SystemError(msg)
                if self._break_requested or self._destroyed:
                    break
                if c_once or c_nowait:
                    if self._has_callbacks():
                        self._run_callbacks()
                    break
                if not active and not self._has_callbacks():
                    break
        finally:
            self._runner = outer_runner
            self._break_requested = False
            if self._destroyed and self._ptr != NULL and libev.ev_depth(self._ptr) == 0:
                self._really_destroy()

    def break_(self, int how=libev.EVBREAK_ONE):
        self._check()
        if how not in (libev.EVBREAK_CANCEL, libev.EVBREAK_ONE, libev.EVBREAK_ALL):
            raise ValueError('how must be EVBREAK_CANCEL, EVBREAK_ONE or EVBREAK_ALL: %r' % how)
        self._break_requested = how != libev.EVBREAK_CANCEL
        libev.ev_break(self._ptr, how)

    def destroy(self):
        """Release libev's loop; further use raises ValueError.

        Called from inside the loop (a callback, or a greenlet the loop
        switched to), libev's frames are still on the hub's stack: the loop
        is freed when ev_run returns, never under it."""
        if self._ptr == NULL or self._destroyed:
            return False
        if self._owner is not None:
            return self._owner.destroy()
        if self._runner is not None and self._runner is _getcurrent():
            raise RuntimeError('a loop cannot be destroyed from its own callbacks; '
                               'destroy it from another greenlet (e.g. hub.destroy())')
        self._destroyed = True
        self._remove_signal_wakeup()
        self._wake_current = None
        self._wake_cb = None
        self._cb_head = None
        self._cb_tail = None
        self._cb_count = 0
        _live_loops.discard(self)
        self._forget_aliases()
        if libev.ev_depth(self._ptr) > 0:
            libev.ev_break(self._ptr, libev.EVBREAK_ALL)
        else:
            self._really_destroy()
        return True

    cdef int _really_destroy(self) noexcept:
        if self._ptr == NULL:
            return 0
        libev.ev_ref(self._ptr)
        libev.ev_async_stop(self._ptr, &self._threadsafe_async)
        libev.ev_loop_destroy(self._ptr)
        self._ptr = NULL
        self._backend_fd = -1
        _fd_check_free(&self._state.fds)
        return 0

    def reinit(self):
        """Re-create libev's kernel state, as needed in a forked child."""
        if self._owner is not None:
            return self._owner.reinit()
        if self._ptr != NULL and not self._destroyed:
            self._after_fork()

    def verify(self):
        self._check()
        libev.ev_verify(self._ptr)

    cpdef double now(self) except? -1:
        self._check()
        return libev.ev_now(self._ptr)

    cpdef int update_now(self) except -1:
        self._check()
        libev.ev_now_update(self._ptr)
        return 0

    def update(self):
        import warnings
        warnings.warn("'update' is deprecated; use 'update_now'", DeprecationWarning, stacklevel=2)
        self.update_now()

    def fileno(self):
        if self._ptr == NULL or self._destroyed:
            return None
        return self._backend_fd if self._backend_fd >= 0 else None

    def closing_fd(self, int fd):
        """*fd* is about to be closed: wake every io watcher on it (they see
        READ|WRITE and find it closed). True if some were queued to run; the
        close should then wait for the next turn of the loop."""
        self._check()
        if fd < 0:
            return False
        cdef unsigned int before = libev.ev_pending_count(self._ptr)
        libev.ev_feed_fd_event(self._ptr, fd, libev.EV_READ | libev.EV_WRITE)
        return libev.ev_pending_count(self._ptr) > before

    def install_sigchld(self):
        pass

    def reset_sigchld(self):
        pass

    @property
    def ptr(self):
        # A destroyed loop may still be freeing itself (ev_run on the stack).
        return 0 if self._destroyed else <size_t>self._ptr

    @property
    def default(self):
        return self._default if (self._ptr != NULL and not self._destroyed) else False

    @property
    def backend_int(self):
        self._check()
        return libev.ev_backend(self._ptr)

    @property
    def backend(self):
        self._check()
        cdef unsigned int b = libev.ev_backend(self._ptr)
        for code, name in _flags:
            if b == code:
                return name
        return b

    @property
    def origflags(self):
        return ', '.join(str(x) for x in _flags_to_list(self._origflags))

    @property
    def origflags_int(self):
        return self._origflags

    @property
    def iteration(self):
        self._check()
        return libev.ev_iteration(self._ptr)

    @property
    def depth(self):
        self._check()
        return libev.ev_depth(self._ptr)

    @property
    def pendingcnt(self):
        self._check()
        return libev.ev_pending_count(self._ptr)

    @property
    def activecnt(self):
        self._check()
        return self._activecnt

    @property
    def sig_pending(self):
        return False

    @property
    def sigfd(self):
        return -1

    @property
    def _callbacks(self):
        # gevent exposes its callback deque; tests and tools use len() of it.
        result = []
        cb = self._cb_head
        while cb is not None:
            if (<callback>cb).callback is not None:
                result.append(cb)
            cb = (<callback>cb).next
        return result

    def __repr__(self):
        if self._ptr == NULL or self._destroyed:
            detail = 'destroyed'
        else:
            detail = 'backend=%s ptr=%#x%s pending=%s ref=%s fileno=%s callbacks=%s' % (
                self.backend, <size_t>self._ptr, ' default' if self._default else '',
                libev.ev_pending_count(self._ptr), self._activecnt,
                self.fileno(), self._cb_count)
        return '<%s.%s at 0x%x %s>' % (type(self).__module__, type(self).__name__, id(self), detail)

    # -- watcher factories (gevent's names and signatures) --------------------

    def io(self, fd, events, ref=True, priority=None):
        return io(self, fd, events, ref, priority)

    def timer(self, after, repeat=0.0, ref=True, priority=None):
        return timer(self, after, repeat, ref, priority)

    def signal(self, signum, ref=True, priority=None):
        return signal(self, signum, ref, priority)

    def idle(self, ref=True, priority=None):
        return idle(self, ref, priority)

    def prepare(self, ref=True, priority=None):
        return prepare(self, ref, priority)

    def check(self, ref=True, priority=None):
        return check(self, ref, priority)

    def fork(self, ref=True, priority=None):
        return fork(self, ref, priority)

    def async_(self, ref=True, priority=None):
        return async_(self, ref, priority)

    def child(self, pid, trace=0, ref=True):
        return child(self, pid, trace, ref)

    def stat(self, path, interval=0.0, ref=True, priority=None):
        return stat(self, path, interval, ref, priority)

    def callback(self, priority=None):
        return callback()


cdef set _fd_snapshot():
    # The epoll descriptors open now (fd numbers alone are not enough: the
    # descriptor used to list /proc/self/fd is reused by the next open).
    result = set()
    try:
        for name in _os.listdir('/proc/self/fd'):
            try:
                if 'eventpoll' in _os.readlink('/proc/self/fd/' + name):
                    result.add(name)
            except OSError:
                pass
    except OSError:
        return None
    return result


cdef int _find_new_epoll_fd(set before):
    # libev does not publish its backend fd; find the epoll fd it just made.
    if before is None:
        return -1
    after = _fd_snapshot()
    if not after:
        return -1
    new = after - before
    if len(new) == 1:
        return int(new.pop())
    return -1


cdef void _noop_cb(libev.ev_loop* ptr, libev.ev_watcher* w, int revents) noexcept:
    # Waking the loop is all the async watcher is for: run() drains the queue.
    pass


cdef void _sigwake_cb(libev.ev_loop* ptr, libev.ev_io* w, int revents) noexcept:
    cdef loop self = <loop>w.data
    try:
        rsock = self._sigwake_sockets[0]
        while True:
            if not rsock.recv(4096):
                break
    except BaseException:
        pass
    self._check_signals()


def _after_fork_in_child():
    global _main_ident
    _main_ident = PyThread_get_thread_ident()
    for lp in list(_live_loops):
        try:
            (<loop>lp)._after_fork()
        except BaseException:
            _traceback().print_exc()
    try:
        _disown_children()
    except BaseException:
        _traceback().print_exc()

_os.register_at_fork(after_in_child=_after_fork_in_child)


# -- closed fds and libev -------------------------------------------------------
#
# libev hands a started (or, with others left on the fd, stopped) io
# watcher's fd to the kernel at the start of its next iteration, and its
# asserts abort the process when the fd was closed meanwhile (os.close() in
# another greenlet, say). The io watchers' start and stop below keep the
# list of fds to look at; a prepare watcher, which libev runs right before
# that step, checks them and kills a closed fd's watchers first.

cdef void _fd_check_init(fd_check* fc) noexcept:
    fc.active = NULL
    fc.counts = NULL
    fc.counts_len = 0
    fc.touched = NULL
    fc.ntouched = 0
    fc.touched_cap = 0
    fc.check_all = False
    libev.ev_prepare_init(&fc.prepare, <libev.ev_prepare_cb>_fd_check_cb)
    # After every other prepare and fed event, which may close fds too.
    libev.ev_set_priority(&fc.prepare, libev.EV_MINPRI)


cdef void _fd_check_free(fd_check* fc) noexcept:
    # The libev loop is gone: its watchers' links go with it.
    free(fc.counts)
    free(fc.touched)
    fc.counts = NULL
    fc.touched = NULL
    fc.counts_len = 0
    fc.touched_cap = 0
    fc.ntouched = 0
    fc.active = NULL


cdef int _fd_count_add(fd_check* fc, int fd, int delta) noexcept nogil:
    # The number of active io watchers left on *fd*, or -1 if unknown.
    cdef int n
    cdef int i
    cdef int* grown
    if fd >= fc.counts_len:
        if delta < 0:
            return -1
        n = fc.counts_len * 2 if fc.counts_len else 64
        while n <= fd:
            n *= 2
        grown = <int*>realloc(fc.counts, n * sizeof(int))
        if grown == NULL:
            return -1
        for i in range(fc.counts_len, n):
            grown[i] = 0
        fc.counts = grown
        fc.counts_len = n
    fc.counts[fd] += delta
    return fc.counts[fd]


cdef void _fd_touch(libev.ev_loop* ptr, fd_check* fc, int fd) noexcept nogil:
    cdef int* grown
    cdef int n
    if fc.ntouched == fc.touched_cap:
        n = fc.touched_cap * 2 if fc.touched_cap else 16
        grown = <int*>realloc(fc.touched, n * sizeof(int))
        if grown == NULL:
            fc.check_all = True
        else:
            fc.touched = grown
            fc.touched_cap = n
    if fc.ntouched < fc.touched_cap:
        fc.touched[fc.ntouched] = fd
        fc.ntouched += 1
    if not libev.ev_is_active(&fc.prepare):
        libev.ev_prepare_start(ptr, &fc.prepare)
        libev.ev_unref(ptr)


cdef void _io_start_checked(libev.ev_loop* ptr, libev.ev_watcher* w) noexcept nogil:
    cdef io_link* link = <io_link*>w
    cdef fd_check* fc = &(<loop_state*>libev.ev_userdata(ptr)).fds
    libev.ev_io_start(ptr, &link.io)
    link.prev = NULL
    link.next = fc.active
    if fc.active != NULL:
        fc.active.prev = link
    fc.active = link
    if _fd_count_add(fc, link.io.fd, 1) < 0:
        fc.check_all = True
    _fd_touch(ptr, fc, link.io.fd)


cdef void _io_unlink(fd_check* fc, io_link* link) noexcept nogil:
    if link.prev != NULL:
        link.prev.next = link.next
    else:
        fc.active = link.next
    if link.next != NULL:
        link.next.prev = link.prev
    link.prev = NULL
    link.next = NULL


cdef void _io_stop_checked(libev.ev_loop* ptr, libev.ev_watcher* w) noexcept nogil:
    cdef io_link* link = <io_link*>w
    cdef fd_check* fc = &(<loop_state*>libev.ev_userdata(ptr)).fds
    cdef int left
    if libev.ev_is_active(&link.io):
        _io_unlink(fc, link)
        left = _fd_count_add(fc, link.io.fd, -1)
        if left != 0:
            # Others stay on the fd: libev changes its kernel mask.
            _fd_touch(ptr, fc, link.io.fd)
    libev.ev_io_stop(ptr, &link.io)


cdef bint _fd_closed(int fd) noexcept nogil:
    return fcntl(fd, F_GETFD) == -1 and errno == EBADF


cdef void _kill_fd(libev.ev_loop* ptr, fd_check* fc, int fd) noexcept:
    # libev's own fd_kill: stop each watcher, then tell it READ|WRITE|ERROR.
    # Its callback runs (and drops the watcher's reference to itself) when
    # libev invokes the pending watchers.
    cdef io_link* link = fc.active
    cdef io_link* nxt
    cdef io w
    while link != NULL:
        nxt = link.next
        if link.io.fd == fd:
            w = <io>link.io.data
            _io_unlink(fc, link)
            _fd_count_add(fc, fd, -1)
            if w._unrefed:
                libev.ev_ref(ptr)
                w._unrefed = False
            libev.ev_io_stop(ptr, &link.io)
            libev.ev_feed_event(ptr, &link.io, libev.EV_READ | libev.EV_WRITE | libev.EV_ERROR)
        link = nxt


cdef void _fd_check_cb(libev.ev_loop* ptr, libev.ev_prepare* p, int revents) noexcept:
    cdef fd_check* fc = &(<loop_state*>libev.ev_userdata(ptr)).fds
    cdef io_link* link
    cdef int fd
    cdef int i
    cdef bint killed = False
    if fc.check_all:
        fc.check_all = False
        link = fc.active
        while link != NULL:
            fd = link.io.fd
            link = link.next
            if _fd_closed(fd):
                _kill_fd(ptr, fc, fd)
                killed = True
                link = fc.active
    else:
        for i in range(fc.ntouched):
            fd = fc.touched[i]
            if 0 <= fd < fc.counts_len and fc.counts[fd] > 0 and _fd_closed(fd):
                _kill_fd(ptr, fc, fd)
                killed = True
    fc.ntouched = 0
    if fc.active == NULL:
        # Kept running while io watchers are active: a loop that restarts
        # them every turn (a stream read in chunks) does not pay for
        # starting and stopping this watcher each time as well.
        libev.ev_ref(ptr)
        libev.ev_prepare_stop(ptr, &fc.prepare)
    if killed:
        # The killed watchers' callbacks run next, before libev would poll:
        # the greenlets they wake may queue callbacks, which must not wait
        # for that poll. End this iteration; run() goes round again.
        libev.ev_break(ptr, libev.EVBREAK_ONE)


# -- watchers -------------------------------------------------------------------

ctypedef void (*_ev_startstop)(libev.ev_loop*, libev.ev_watcher*) noexcept nogil


cdef void _watcher_cb(libev.ev_loop* ptr, libev.ev_watcher* w, int revents) noexcept:
    # One trampoline for every watcher type: the struct's data pointer is the
    # watcher object, which holds a reference to itself while active.
    cdef watcher self = <watcher>w.data
    self._invoke(revents)


cdef class watcher:
    """Base of every watcher: start/stop, ref, priority, context manager."""

    def __cinit__(self, *args, **kwargs):
        self._ref = True
        self._w = NULL

    cdef int _init_common(self, loop lp, ref, priority) except -1:
        if lp is None:
            raise TypeError('loop must not be None')
        lp._check()
        self.loop = lp
        self._w.data = <void*>self
        self._ref = bool(ref)
        if priority is not None:
            libev.ev_set_priority(self._w, priority)
        return 0

    cdef int _check_startable(self) except -1:
        if self._closed:
            raise ValueError('operation on closed watcher %r' % (self,))
        if self.loop is None or self.loop._ptr == NULL or self.loop._destroyed:
            raise ValueError('operation on destroyed loop')
        return 0

    cdef int _start(self, object callback, tuple args) except -1:
        self._check_startable()
        if not callable(callback):
            raise TypeError('Expected callable, not %r' % (callback,))
        self._callback = callback
        self._args = args
        if not libev.ev_is_active(self._w):
            self._ev_start(self.loop._ptr, self._w)
            self._on_started()
        return 0

    cdef int _on_started(self) except -1:
        if not self._self_ref:
            Py_INCREF(self)
            self._self_ref = True
            if self._ref:
                self.loop._activecnt += 1
        if not self._ref and not self._unrefed:
            libev.ev_unref(self.loop._ptr)
            self._unrefed = True
        return 0

    cdef int _on_stopped(self) noexcept:
        if self._unrefed:
            if self.loop._ptr != NULL:
                libev.ev_ref(self.loop._ptr)
            self._unrefed = False
        if self._self_ref:
            self._self_ref = False
            if self._ref:
                self.loop._activecnt -= 1
            Py_DECREF(self)
        return 0

    cdef int _stop(self) except -1:
        if self.loop is None:
            return 0
        if self.loop._ptr != NULL:
            # Also while a destroy() waits for ev_run to return: libev must
            # forget this struct before the object can go away.
            if self._unrefed:
                libev.ev_ref(self.loop._ptr)
                self._unrefed = False
            self._ev_stop(self.loop._ptr, self._w)
        else:
            # The loop is gone: libev's memory with it. Just forget.
            self._w.active = 0
            self._w.pending = 0
            self._unrefed = False
        self._callback = None
        self._args = None
        self._on_stopped()
        if self.loop._destroyed:
            raise ValueError('operation on destroyed loop')
        return 0

    cdef int _invoke(self, int revents) noexcept:
        cdef object cb = self._callback
        cdef tuple args = self._args
        # Keep ourselves alive through the call even if libev just stopped us.
        cdef object keep = self
        if not libev.ev_is_active(self._w):
            # libev stopped it (a one-shot timer): it no longer holds us.
            self._callback = None
            self._args = None
            self._on_stopped()
        if cb is None:
            return 0
        try:
            if args is None:
                cb()
            elif PyTuple_GET_SIZE(args) and args[0] is GEVENT_CORE_EVENTS:
                cb(revents, *args[1:])
            else:
                cb(*args)
        except BaseException:
            self.loop._handle_error_now(self)
            if revents & _IO_EVENTS_MASK:
                # A failing I/O callback would fire again at once, forever.
                try:
                    self._stop()
                except BaseException:
                    pass
        return 0

    cdef int start_c(self, object callback, tuple args) except -1:
        # What start(callback, *args) does, for compiled callers; a kind
        # that does more before starting overrides this, not start().
        return self._start(callback, args)

    def start(self, callback, *args):
        self.start_c(callback, args)

    def stop(self):
        self._stop()

    def close(self):
        try:
            self._stop()
        finally:
            self._closed = True

    def feed(self, int revents, callback, *args):
        self._check_startable()
        self._callback = callback
        self._args = args
        libev.ev_feed_event(self.loop._ptr, self._w, revents)
        if not self._self_ref:
            Py_INCREF(self)
            self._self_ref = True
            if self._ref:
                self.loop._activecnt += 1

    def __enter__(self):
        return self

    def __exit__(self, t, v, tb):
        self.close()
        return False

    @property
    def callback(self):
        return self._callback

    @callback.setter
    def callback(self, value):
        if value is not None and not callable(value):
            raise TypeError('Expected callable, not %r' % (value,))
        self._callback = value

    @property
    def args(self):
        return self._args

    @args.setter
    def args(self, value):
        if value is not None and not isinstance(value, tuple):
            raise TypeError('args must be a tuple, not %r' % (type(value).__name__,))
        self._args = value

    @property
    def active(self):
        return self._w != NULL and libev.ev_is_active(self._w)

    @property
    def pending(self):
        return self._w != NULL and libev.ev_is_pending(self._w)

    @property
    def ref(self):
        return self._ref

    @ref.setter
    def ref(self, value):
        cdef bint new = bool(value)
        if new == self._ref:
            return
        if self._self_ref:
            self.loop._activecnt += 1 if new else -1
        self._ref = new
        if self.loop is None or self.loop._ptr == NULL:
            return
        if libev.ev_is_active(self._w):
            if not new and not self._unrefed:
                libev.ev_unref(self.loop._ptr)
                self._unrefed = True
            elif new and self._unrefed:
                libev.ev_ref(self.loop._ptr)
                self._unrefed = False

    cdef int _check_init(self) except -1:
        # A watcher made by __new__ alone has no libev struct to look at.
        if self._w == NULL:
            raise TypeError('%s.__init__ was not called' % (type(self).__name__,))
        return 0

    @property
    def priority(self):
        self._check_init()
        return libev.ev_priority(self._w)

    @priority.setter
    def priority(self, int value):
        self._check_init()
        if libev.ev_is_active(self._w):
            raise AttributeError('Cannot set priority of an active watcher')
        if libev.ev_is_pending(self._w):
            # libev files a pending watcher under its priority: changing it
            # now corrupts the loop's pending queue.
            raise AttributeError('Cannot set priority of a pending watcher')
        libev.ev_set_priority(self._w, value)

    @property
    def closed(self):
        return self._closed

    def _format(self):
        return ''

    def __repr__(self):
        result = '<%s at 0x%x' % (type(self).__name__, id(self))
        if self.active:
            result += ' active'
        if self.pending:
            result += ' pending'
        if self._callback is not None:
            result += ' callback=%r' % (self._callback,)
        if self._args:
            result += ' args=%r' % (self._args,)
        if not self._ref:
            result += ' ref=False'
        return result + self._format() + '>'


cdef inline void _set_ops(watcher w, void* start, void* stop) noexcept:
    w._ev_start = <_ev_startstop>start
    w._ev_stop = <_ev_startstop>stop


cdef int _check_fd(object fd) except -1:
    cdef long value
    if isinstance(fd, bool) or not isinstance(fd, int):
        raise TypeError('fd must be an int, not %r' % (type(fd).__name__,))
    value = fd
    if value < 0:
        raise ValueError('fd must be non-negative: %r' % (fd,))
    if value > 0x7fffffff:
        if value > 0xffffffff:
            raise OverflowError('fd is too large: %r' % (fd,))
        raise ValueError('fd must be non-negative: %r' % (fd,))
    if fcntl(<int>value, F_GETFD) == -1:
        raise OSError(EBADF, 'Bad file descriptor: %d' % value)
    return 0


@cython.final
cdef class io(watcher):
    """Watch a file descriptor for READ and/or WRITE."""

    def __init__(self, loop lp, fd, int events, ref=True, priority=None):
        _check_fd(fd)
        if lp._backend_fd >= 0 and fd == lp._backend_fd:
            # libev asserts (aborts the process) on its own epoll fd.
            raise ValueError("fd %d is the event loop's own descriptor" % (fd,))
        if events < 0 or events & ~(_IO_EVENTS_MASK | libev.EV__IOFDSET):
            raise ValueError('illegal event mask: %r' % (events,))
        self._w = <libev.ev_watcher*>&self._link.io
        libev.ev_io_init(&self._link.io, <libev.ev_io_cb>_watcher_cb, fd, events & _IO_EVENTS_MASK)
        _set_ops(self, <void*>_io_start_checked, <void*>_io_stop_checked)
        self._init_common(lp, ref, priority)

    def start(self, callback, *args, pass_events=False):
        if pass_events:
            args = (GEVENT_CORE_EVENTS,) + args
        self.start_c(callback, args)

    @property
    def fd(self):
        return self._link.io.fd

    @fd.setter
    def fd(self, value):
        if libev.ev_is_active(&self._link.io):
            raise AttributeError("'io' watcher attribute 'fd' is read-only while watcher is active")
        _check_fd(value)
        libev.ev_io_set(&self._link.io, value, self._link.io.events & _IO_EVENTS_MASK)

    @property
    def events(self):
        # As gevent's: libev's own field, with its _IOFDSET bit until the
        # loop has taken note of a new fd or mask.
        return self._link.io.events

    @events.setter
    def events(self, int value):
        if libev.ev_is_active(&self._link.io):
            raise AttributeError("'io' watcher attribute 'events' is read-only while watcher is active")
        if value < 0 or value & ~(_IO_EVENTS_MASK | libev.EV__IOFDSET):
            raise ValueError('illegal event mask: %r' % (value,))
        libev.ev_io_set(&self._link.io, self._link.io.fd, value & _IO_EVENTS_MASK)

    @property
    def events_str(self):
        return _events_to_str(self._link.io.events)

    def _format(self):
        return ' fd=%s events=%s' % (self._link.io.fd, self.events_str)


cdef double _check_seconds(object value, str name) except? -1:
    cdef double result
    try:
        result = value
    except TypeError:
        raise TypeError('%s must be a number, not %r' % (name, type(value).__name__))
    if result != result:
        raise ValueError('%s must not be NaN' % name)
    return result


@cython.final
cdef class timer(watcher):
    """Fire once after ``after`` seconds, then every ``repeat`` seconds if set."""

    def __init__(self, loop lp, after=0.0, repeat=0.0, ref=True, priority=None):
        self._after = _check_seconds(after, 'after')
        self._repeat = _check_seconds(repeat, 'repeat')
        if self._repeat < 0.0:
            raise ValueError('repeat must be positive or zero: %r' % (repeat,))
        self._w = <libev.ev_watcher*>&self._timer
        libev.ev_timer_init(&self._timer, <libev.ev_timer_cb>_watcher_cb, self._after, self._repeat)
        _set_ops(self, <void*>libev.ev_timer_start, <void*>libev.ev_timer_stop)
        self._init_common(lp, ref, priority)

    def start(self, callback, *args, update=None):
        self._check_startable()
        if update is None:
            self.start_c(callback, args)
        else:
            self._start_updating(callback, args, update)

    cdef int start_c(self, object callback, tuple args) except -1:
        self._check_startable()
        # As gevent: the cached time is stale only after a run of
        # callbacks (greenlets run from them); otherwise it is the time
        # of the last poll, and the clock is not read again.
        return self._start_updating(callback, args, self.loop._running_callbacks)

    cdef int _start_updating(self, object callback, tuple args, bint update) except -1:
        if update:
            libev.ev_now_update(self.loop._ptr)
        if not libev.ev_is_active(&self._timer):
            libev.ev_timer_set(&self._timer, self._after, self._repeat)
        return self._start(callback, args)

    def again(self, callback, *args, update=True):
        self._check_startable()
        if not callable(callback):
            raise TypeError('Expected callable, not %r' % (callback,))
        self._callback = callback
        self._args = args
        if update:
            libev.ev_now_update(self.loop._ptr)
        cdef bint was_active = libev.ev_is_active(&self._timer)
        if not was_active:
            # ev_timer_again uses `repeat` only: emulate gevent, which
            # restarts with `after` when the watcher is not running.
            self._timer.repeat = self._repeat if self._repeat > 0 else self._after
        libev.ev_timer_again(self.loop._ptr, &self._timer)
        self._timer.repeat = self._repeat
        if libev.ev_is_active(&self._timer):
            self._on_started()
        else:
            self._on_stopped()

    @property
    def at(self):
        self._check_startable()
        return libev.ev_now(self.loop._ptr) + libev.ev_timer_remaining(self.loop._ptr, &self._timer)

    @property
    def after(self):
        return self._after

    @property
    def repeat(self):
        return self._repeat

    def _format(self):
        return ' after=%r repeat=%r' % (self._after, self._repeat)


# Which loop watches each signal: libev aborts if two loops share one.
cdef dict _signal_owners = {}


@cython.final
cdef class _Disposition:
    # A signal's action from before its first active watcher, put back when
    # the last one stops (whatever the order): a watcher starting while
    # another is active would only see libev's handler.
    cdef sigaction_t saved
    cdef int active

# signum -> _Disposition, while any watcher of that signal is active.
cdef dict _signal_dispositions = {}


@cython.final
cdef class signal(watcher):
    """libev's signal watcher. The handler that was installed before start
    (usually Python's own) is put back on stop: libev leaves SIG_DFL behind,
    which would kill the process on the next signal."""

    def __init__(self, loop lp, int signalnum, ref=True, priority=None):
        if signalnum < 1 or signalnum >= NSIG:
            raise ValueError('illegal signal number: %r' % (signalnum,))
        if signalnum in (_signal_mod.SIGKILL, _signal_mod.SIGSTOP):
            raise ValueError('illegal signal number: %r' % (signalnum,))
        self._signum = signalnum
        self._w = <libev.ev_watcher*>&self._signal
        libev.ev_signal_init(&self._signal, <libev.ev_signal_cb>_watcher_cb, signalnum)
        _set_ops(self, <void*>libev.ev_signal_start, <void*>libev.ev_signal_stop)
        self._init_common(lp, ref, priority)

    cdef int start_c(self, object callback, tuple args) except -1:
        self._check_startable()
        owner = _signal_owners.get(self._signum)
        if owner is not None and owner() is not None and owner() is not self.loop \
                and (<loop>owner())._ptr != NULL:
            raise ValueError('signal %d is already watched by another loop' % self._signum)
        cdef _Disposition d = None
        if not libev.ev_is_active(&self._signal) and not self._counted:
            d = _signal_dispositions.get(self._signum)
            if d is None:
                d = _Disposition.__new__(_Disposition)
                sigaction(self._signum, NULL, &d.saved)
        self._start(callback, args)
        if d is not None:
            d.active += 1
            _signal_dispositions[self._signum] = d
            self._counted = True
        _signal_owners[self._signum] = _weakref.ref(self.loop)
        return 0

    cdef int _stop(self) except -1:
        cdef _Disposition d
        try:
            watcher._stop(self)
        finally:
            if self._counted:
                self._counted = False
                d = _signal_dispositions[self._signum]
                d.active -= 1
                if d.active == 0:
                    # After libev's stop, which left SIG_DFL behind.
                    del _signal_dispositions[self._signum]
                    sigaction(self._signum, &d.saved, NULL)
        return 0

    @property
    def signum(self):
        return self._signum

    def _format(self):
        return ' signum=%d' % self._signum


@cython.final
cdef class idle(watcher):
    def __init__(self, loop lp, ref=True, priority=None):
        self._w = <libev.ev_watcher*>&self._idle
        libev.ev_idle_init(&self._idle, <libev.ev_idle_cb>_watcher_cb)
        _set_ops(self, <void*>libev.ev_idle_start, <void*>libev.ev_idle_stop)
        self._init_common(lp, ref, priority)


@cython.final
cdef class prepare(watcher):
    def __init__(self, loop lp, ref=True, priority=None):
        self._w = <libev.ev_watcher*>&self._prepare
        libev.ev_prepare_init(&self._prepare, <libev.ev_prepare_cb>_watcher_cb)
        _set_ops(self, <void*>libev.ev_prepare_start, <void*>libev.ev_prepare_stop)
        self._init_common(lp, ref, priority)


@cython.final
cdef class check(watcher):
    def __init__(self, loop lp, ref=True, priority=None):
        self._w = <libev.ev_watcher*>&self._check_w
        libev.ev_check_init(&self._check_w, <libev.ev_check_cb>_watcher_cb)
        _set_ops(self, <void*>libev.ev_check_start, <void*>libev.ev_check_stop)
        self._init_common(lp, ref, priority)


@cython.final
cdef class fork(watcher):
    def __init__(self, loop lp, ref=True, priority=None):
        self._w = <libev.ev_watcher*>&self._fork
        libev.ev_fork_init(&self._fork, <libev.ev_fork_cb>_watcher_cb)
        _set_ops(self, <void*>libev.ev_fork_start, <void*>libev.ev_fork_stop)
        self._init_common(lp, ref, priority)


@cython.final
cdef class async_(watcher):
    """Wake the loop from any thread with ``send()``."""

    def __init__(self, loop lp, ref=True, priority=None):
        self._w = <libev.ev_watcher*>&self._async
        libev.ev_async_init(&self._async, <libev.ev_async_cb>_watcher_cb)
        _set_ops(self, <void*>libev.ev_async_start, <void*>libev.ev_async_stop)
        self._init_common(lp, ref, priority)

    def send(self):
        if self.loop is None or self.loop._ptr == NULL:
            raise ValueError('operation on destroyed loop')
        libev.ev_async_send(self.loop._ptr, &self._async)

    def send_ignoring_arg(self, _ignored):
        self.send()

    @property
    def pending(self):
        return libev.ev_async_pending(&self._async)


# Child watchers that have started, for the forked child to disown them.
cdef set _active_children = set()
# The real close(), even once geventc.os.close is patched into os.
cdef object _os_close = _os.close


@cython.final
cdef class child(watcher):
    """Report when process ``pid`` exits (``rpid``, ``rstatus``).

    A pidfd watched like any descriptor, so it works in any loop and never
    needs SIGCHLD; the status comes from :mod:`geventc._children`, which
    reaps the child once for every watcher and ``waitpid`` that wants it.
    A child that cannot be waited for (reaped outside geventc, or the
    parent's child in a forked process) is reported with status 0.

    Public instances (``loop.child``) need the default loop, as in gevent;
    geventc's own process code watches children from any thread's loop."""

    def __init__(self, loop lp, int pid, trace=0, ref=True):
        if not lp.default:
            raise TypeError('child watchers are only available on the default loop')
        self._setup(lp, pid, trace, ref)

    cdef int _setup(self, loop lp, int pid, trace, ref) except -1:
        if pid <= 0:
            raise ValueError('geventc child watchers need a specific pid > 0, not %r' % (pid,))
        self._pid = pid
        self._pidfd = -1
        self._trace = bool(trace)
        self._w = <libev.ev_watcher*>&self._io
        libev.ev_io_init(&self._io, <libev.ev_io_cb>_watcher_cb, 0, libev.EV_READ)
        _set_ops(self, <void*>libev.ev_io_start, <void*>libev.ev_io_stop)
        self._init_common(lp, ref, None)
        return 0

    cdef int start_c(self, object callback, tuple args) except -1:
        self._check_startable()
        if not callable(callback):
            raise TypeError('Expected callable, not %r' % (callback,))
        if self._pidfd < 0 and not self._gone:
            try:
                self._pidfd = _os.pidfd_open(self._pid)
            except ProcessLookupError:
                # Exited and reaped already (by a watcher of ours, or by
                # someone else): report it at the next turn of the loop.
                self._gone = True
            else:
                _children.alive_again(self._pid)
                libev.ev_io_set(&self._io, self._pidfd, libev.EV_READ)
        if self._gone:
            self._callback = callback
            self._args = args
            libev.ev_feed_event(self.loop._ptr, self._w, libev.EV_READ)
            self._on_started()
        else:
            self._start(callback, args)
        _active_children.add(self)
        return 0

    cdef int _stop(self) except -1:
        _active_children.discard(self)
        try:
            watcher._stop(self)
        finally:
            self._close_pidfd()
        return 0

    cdef int _close_pidfd(self) noexcept:
        if self._pidfd >= 0:
            if self.loop is not None and self.loop._ptr != NULL:
                libev.ev_io_stop(self.loop._ptr, &self._io)
            try:
                _os_close(self._pidfd)
            except OSError:
                pass
            self._pidfd = -1
        return 0

    cdef int _disown(self) except -1:
        # In a forked child: this is the parent's child, never ours to wait
        # for. Report it gone at once rather than keep the loop alive for it.
        self._close_pidfd()
        self._gone = True
        self._foreign = True
        if self.loop is not None and self.loop._ptr != NULL and self._callback is not None:
            libev.ev_feed_event(self.loop._ptr, self._w, libev.EV_READ)
        return 0

    cdef int _invoke(self, int revents) noexcept:
        cdef object keep = self
        if not self._self_ref:
            return 0  # stopped while an event was queued
        try:
            if self._foreign:
                status = 0
            else:
                status = _children.reap(self._pid, self._pidfd)
                if status is None:
                    return 0
            self.rpid = self._pid
            self.rstatus = status
            cb = self._callback
            args = self._args
            self._stop()
            if cb is not None:
                cb(*args)
        except BaseException:
            if self.loop is not None:
                self.loop._handle_error_now(self)
        return 0

    @property
    def pid(self):
        return self._pid

    @property
    def pidfd(self):
        """The pidfd watched while active (-1 otherwise): signalling through
        it can never reach a process that took over a recycled pid."""
        return self._pidfd

    def _format(self):
        return ' pid=%r rstatus=%r' % (self._pid, self.rstatus)


def _default_loop():
    """The live default loop, or None (for handing over children, see geventc.os)."""
    current = _default_loop_ref() if _default_loop_ref is not None else None
    if current is None or (<loop>current)._ptr == NULL or (<loop>current)._destroyed:
        return None
    return current


def _child_watcher(loop lp, int pid, ref=True):
    """A child watcher in any loop (geventc's process code, not the public API)."""
    cdef child w = child.__new__(child)
    w._setup(lp, pid, 0, ref)
    return w


cdef int _disown_children() except -1:
    for w in list(_active_children):
        (<child>w)._disown()
    return 0


@cython.final
cdef class stat(watcher):
    """Watch a path's stat() result (inotify where available, else polling)."""

    def __init__(self, loop lp, path, interval=0.0, ref=True, priority=None):
        path = _os.fspath(path)
        if not isinstance(path, str):
            raise TypeError('path must be a str, not %r' % (type(path).__name__,))
        self._path = path
        self._cpath = _os.fsencode(path)
        if b'\0' in self._cpath:
            raise ValueError('embedded null byte in path')
        # gevent takes the interval as a C float: report the same value.
        cdef double c_interval = <float>_check_seconds(interval, 'interval')
        self._w = <libev.ev_watcher*>&self._stat
        libev.ev_stat_init(&self._stat, <libev.ev_stat_cb>_watcher_cb, self._cpath, c_interval)
        _set_ops(self, <void*>libev.ev_stat_start, <void*>libev.ev_stat_stop)
        self._init_common(lp, ref, priority)

    @property
    def path(self):
        return self._path

    @property
    def interval(self):
        # libev raises a too-small interval when the watcher starts.
        return self._stat.interval

    @property
    def _paths(self):
        return self._cpath

    @property
    def attr(self):
        return _stat_result(&self._stat.attr)

    @property
    def prev(self):
        return _stat_result(&self._stat.prev)


cdef object _stat_ns(libev.ev_timespec* ts):
    return ts.tv_sec * 1000000000 + ts.tv_nsec


cdef double _stat_float(libev.ev_timespec* ts):
    return ts.tv_sec + ts.tv_nsec * 1e-9


cdef object _stat_result(libev.ev_statdata* st):
    # As gevent's stat watcher builds it: float and _ns times besides the
    # ten visible fields (st_blksize, st_blocks and st_rdev stay None there).
    if not st.st_nlink:
        return None
    return _os.stat_result(
        (st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid,
         st.st_gid, st.st_size, st.st_atim.tv_sec, st.st_mtim.tv_sec, st.st_ctim.tv_sec),
        {'st_atime': _stat_float(&st.st_atim), 'st_mtime': _stat_float(&st.st_mtim),
         'st_ctime': _stat_float(&st.st_ctim), 'st_atime_ns': _stat_ns(&st.st_atim),
         'st_mtime_ns': _stat_ns(&st.st_mtim), 'st_ctime_ns': _stat_ns(&st.st_ctim)})


# ``async`` is a keyword since Python 3.7; gevent still offers the old name
# (``loop.async``, ``core.async``) beside ``async_``. Cython cannot spell the
# attribute in a class body, so it goes into the finished type's dict.
cdef extern from "Python.h":
    void PyType_Modified(PyTypeObject* t)

(<object>(<PyTypeObject*>loop).tp_dict)['async'] = loop.__dict__['async_']
PyType_Modified(<PyTypeObject*>loop)
globals()['async'] = async_
