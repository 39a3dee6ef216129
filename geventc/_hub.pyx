"""The hub, greenlets, waiters, timeouts, events and async results, compiled.

Design notes
------------
* The hub is a greenlet running the loop; every blocking call switches to
  it and is switched back by a callback or a watcher. One hub per native
  thread; the main thread's hub is cached in a C global so ``get_hub()`` on
  the hot path is a thread-id compare.
* ``sleep(0)`` and ``Greenlet.start`` queue a *switch* on the loop
  (``loop.run_switch``): the hub switches through greenlet's C API without a
  bound method or a Waiter.
* ``Timeout`` is an exception *and* embeds its libev timer: creating,
  starting and cancelling one makes no other Python object.
* Links (Greenlet, Event, AsyncResult) are notified from a hub callback in
  FIFO order, only links present when notification starts, as gevent does.
* Hub.SYSTEM_ERROR / NOT_ERROR must be reassignable by users, so ``Hub``
  itself is a Python subclass of the compiled ``HubBase``.
"""

cimport cython
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from cpython.pythread cimport PyThread_get_thread_ident
from cpython.tuple cimport PyTuple_GET_SIZE
from cpython.float cimport PyFloat_CheckExact
from cpython.long cimport PyLong_CheckExact
from cpython.object cimport PyObject_RichCompareBool, Py_EQ
cdef extern from "Python.h":
    # Cython's cpython.method still declares Python 2's three arguments.
    object PyMethod_New(object func, object self)
    # _instance_attr: attribute lookups that raise nothing.
    ctypedef struct PyTypeObject
    PyTypeObject* Py_TYPE(object)
    # _compiled_watcher: a Python subclass (heap type) may override methods.
    bint PyType_HasFeature(PyTypeObject*, unsigned long)
    unsigned long Py_TPFLAGS_HEAPTYPE
    PyObject* _PyType_Lookup(PyTypeObject*, PyObject*)
    PyObject** _PyObject_GetDictPtr(PyObject*)
    PyObject* PyDict_GetItemWithError(object, object) except? NULL
    ctypedef struct PyFrameObject
    PyFrameObject* PyEval_GetFrame()
    PyObject* PyFrame_GetCode(PyFrameObject*)
    PyFrameObject* PyFrame_GetBack(PyFrameObject*)
    int PyFrame_GetLasti(PyFrameObject*)
    int PyCode_Addr2Line(PyObject*, int)
from cpython.weakref cimport PyWeakref_NewRef
from geventc.includes.python cimport geventc_capture_stack, geventc_same_stack, geventc_call_run

from geventc.includes cimport libev
from geventc.includes.greenlet cimport (
    greenlet, PyGreenlet_Import, PyGreenlet_GetCurrent, PyGreenlet_Switch,
    PyGreenlet_Throw, PyGreenlet_SetParent, PyGreenlet_Check, PyGreenlet_STARTED, PyGreenlet_ACTIVE,
    PyGreenlet_MAIN, geventc_start_switch)
from geventc._core cimport (loop, callback as core_callback, timer as core_timer, watcher as core_watcher,
                            Wakeable, wake_inline,
                            SWITCH_KIND, WAKE_DONE, WAKE_SWITCH, WAKE_NEED_HUB)

import _heapq  # heapq itself only re-exports it
from operator import index as _operator_index
import os as _os
import sys as _sys
import time as _time
# Not traceback, threading, weakref: `import geventc` must stay cheap
# (issue 12); traceback is imported where an error is printed.
from _thread import _local as _native_local
import _weakref

from greenlet import greenlet as _greenlet_type, getcurrent, GreenletExit, error as greenlet_error

import geventc._core as _core_mod
from geventc._config import config as _config_instance
cdef object _config = _config_instance


cdef object _traceback():
    import traceback
    return traceback

PyGreenlet_Import()

include "_arena.pxi"
_install_chunk_cache()

__all__ = [
    'Hub', 'HubBase', 'Waiter', 'Greenlet', 'Timeout', 'Event', 'AsyncResult',
    'get_hub', 'set_hub', 'spawn', 'spawn_later', 'spawn_raw', 'sleep', 'idle',
    'kill', 'killall', 'joinall', 'wait', 'iwait', 'with_timeout', 'getcurrent',
    'signal_handler', 'reinit', 'GreenletExit',
    'LoopExit', 'BlockingSwitchOutError', 'ConcurrentObjectUseError',
    'InvalidSwitchError', 'HubDestroyed', 'InvalidThreadUseError',
    'LinkedExited', 'LinkedCompleted', 'LinkedKilled', 'LinkedFailed',
]


# -- exceptions --------------------------------------------------------------

class LoopExit(Exception):
    """Raised when the hub's loop would block forever (nothing left to wait on).

    ``args`` from the hub are ``(message, hub, handles)``."""

    @property
    def hub(self):
        if len(self.args) == 3:
            return self.args[1]

    #: Where the main greenlet was blocked (file:line and code), when known.
    waiting_at = None

    def __repr__(self):
        if len(self.args) == 3:
            import pprint
            text = '%s\n\tHub: %s\n\tHandles:\n%s' % (
                self.args[0], self.args[1], pprint.pformat(self.args[2]))
            if self.waiting_at:
                text += '\n\tThe main greenlet was waiting at %s' % (self.waiting_at,)
            return text
        return Exception.__repr__(self)

    def __str__(self):
        return repr(self)


class BlockingSwitchOutError(AssertionError):
    """A blocking call was made from the hub itself (e.g. in a loop callback)."""


class InvalidSwitchError(AssertionError):
    """A waiting greenlet was switched to with an unexpected value."""


class ConcurrentObjectUseError(AssertionError):
    """Two greenlets tried to wait on an object meant for one."""


class InvalidThreadUseError(RuntimeError):
    """An object bound to one thread's hub was used from another thread."""


class HubDestroyed(GreenletExit):
    """Thrown into the hub when it is destroyed while running."""

    def __init__(self, destroy_loop):
        GreenletExit.__init__(self, destroy_loop)
        self.destroy_loop = destroy_loop


# The 0.13-era notifications raised in a linked parent (spawn_link*).
class LinkedExited(Exception):
    pass


class LinkedCompleted(LinkedExited):
    """Raised when a linked greenlet finishes the execution cleanly"""
    msg = '%r completed successfully'

    def __init__(self, source):
        assert source.ready(), source
        assert source.successful(), source
        LinkedExited.__init__(self, self.msg % source)


class LinkedKilled(LinkedCompleted):
    """Raised when a linked greenlet returns GreenletExit instance"""
    msg = '%r returned %s'

    def __init__(self, source):
        try:
            result = source.value.__class__.__name__
        except BaseException:
            result = str(source) or repr(source)
        LinkedExited.__init__(self, self.msg % (source, result))


class LinkedFailed(LinkedExited):
    """Raised when a linked greenlet dies because of unhandled exception"""
    msg = '%r failed with %s'

    def __init__(self, exception_source):
        exception = exception_source.exception
        try:
            excname = exception.__class__.__name__
        except BaseException:
            excname = str(exception) or repr(exception)
        LinkedExited.__init__(self, self.msg % (exception_source, excname))


# -- the hub -----------------------------------------------------------------

class _HubLocal(_native_local):
    # Class defaults: in a thread without a hub, reading one is a lookup,
    # not a raised-and-caught AttributeError (~0.5 us in each pool worker task).
    hub = None
    loop = None


cdef object _threadlocal = _HubLocal()
cdef unsigned long _main_ident = PyThread_get_thread_ident()
# The main thread's hub: get_hub() there is a compare, not a thread-local
# lookup. Other threads use _threadlocal.
cdef HubBase _main_hub = None
cdef object _hub_class = None


cdef inline HubBase _get_hub_c():
    if PyThread_get_thread_ident() == _main_ident:
        return _main_hub
    return _threadlocal.hub


cdef int _set_hub_c(object hub) except -1:
    global _main_hub
    if PyThread_get_thread_ident() == _main_ident:
        _main_hub = hub
    else:
        _threadlocal.hub = hub
    return 0


def get_hub_class():
    """The class a new hub is made from (``set_default_hub_class`` changes it)."""
    return _hub_class if _hub_class is not None else Hub


def set_default_hub_class(hubtype):
    global _hub_class
    if hubtype is not None and not (isinstance(hubtype, type) and issubclass(hubtype, HubBase)):
        raise TypeError('hub class must be a subclass of geventc.hub.Hub, not %r' % (hubtype,))
    _hub_class = hubtype


cpdef HubBase get_hub():
    """Return the hub of the current thread, creating it if needed."""
    cdef HubBase hub = _get_hub_c()
    if hub is None:
        hub = get_hub_class()()
        _set_hub_c(hub)
    return hub


def _get_hub():
    """The current thread's hub, or None (gevent's name)."""
    return _get_hub_c()


get_hub_if_exists = _get_hub
_get_hub_noargs = get_hub


def set_hub(hub):
    if hub is not None and not isinstance(hub, HubBase):
        raise TypeError('expected a Hub, not %r' % (hub,))
    _set_hub_c(hub)


def get_loop():
    return _threadlocal.loop


def set_loop(lp):
    _threadlocal.loop = lp


cdef object _hub_run_callback(HubBase hub, object func, tuple args):
    # loop.run_callback(func, *args), typed when hub.loop is a geventc loop.
    if hub._cloop is not None:
        return hub._cloop.run_callback_c(func, args)
    return hub._loop.run_callback(func, *args)


cdef str _gmctime():
    return _time.strftime('%Y-%m-%dT%H:%M:%SZ', _time.gmtime())


cdef str _describe_wait(object glet):
    # Where a greenlet is suspended, for LoopExit's message: Cython code has
    # no frames, so the innermost frame is the user's blocking call.
    frame = getattr(glet, 'gr_frame', None)
    if frame is None:
        return ''
    import linecache
    code = frame.f_code
    line = linecache.getline(code.co_filename, frame.f_lineno).strip()
    where = '%s:%d in %s' % (code.co_filename, frame.f_lineno, code.co_name)
    return '%s: %s' % (where, line) if line else where


# How many hubs were made: each one's minimal_ident (as gevent's, there may
# be holes; hubs are few).
cdef long _hub_counter = 0


cdef class HubBase(greenlet):
    """The compiled part of the hub: switching and waiting."""

    # In the instance dict, not C slots, as in gevent: a subclass that sets
    # them on its class (gevent's test QuietHub: ``_threadpool = None``)
    # still reads what the instance holds.
    _resolver = None
    _threadpool = None

    def __init__(self, loop=None, default=None):
        lp = loop
        if lp is not None and not isinstance(lp, _core_mod.loop):
            # gevent accepts flags in place of a loop object.
            flags = lp
            lp = None
        else:
            flags = None
        if lp is None:
            if default is None:
                default = PyThread_get_thread_ident() == _main_ident
            saved = get_loop()
            if saved is not None and saved.ptr and flags is None:
                lp = saved
            else:
                # gevent.hub.Hub's: the class is config.loop, the flags
                # default to config.libev_backend (GEVENT_BACKEND).
                loop_class = getattr(self, 'loop_class', None) or _core_mod.loop
                if flags is None:
                    flags = getattr(self, 'backend', None)
                lp = loop_class(flags, default)
        self.loop = lp
        self.thread_ident = PyThread_get_thread_ident()
        self.format_context = None
        self.name = ''
        global _hub_counter
        _hub_counter += 1
        self.minimal_ident = _hub_counter
        _track_tree(self)

    @property
    def ident_registry(self):
        if self._ident_registry is None:
            self._ident_registry = _IdentRegistry()
        return self._ident_registry

    @ident_registry.setter
    def ident_registry(self, value):
        self._ident_registry = value

    @property
    def main_hub(self):
        return self.thread_ident == _main_ident

    @property
    def loop(self):
        return self._loop

    @loop.setter
    def loop(self, value):
        self._loop = value
        self._cloop = <loop>value if isinstance(value, _core_mod.loop) else None

    cdef object switch_c(self):
        # The frame of every blocked greenlet's switch, saved with its stack
        # while it waits: what is not the switch itself is in helpers.
        cdef greenlet cur = PyGreenlet_GetCurrent()
        cdef loop lp
        if cur is self:
            raise BlockingSwitchOutError('Impossible to call blocking function in the event loop callback')
        if type(cur) is not Greenlet and not PyGreenlet_MAIN(cur):
            self._call_switch_out(cur)
        lp = self._cloop
        if lp is not None and lp._handoff_ok:
            # The hub waits in a switch that ended its callback: go straight
            # to what it would run next.
            target = lp.next_handoff()
            if target is not None:
                args = lp._next_args
                lp._next_args = None
                if lp._next_starts:
                    # The hub's recursion budget, as if the hub started it
                    # (a blocker's would add up along chains of starts).
                    return geventc_start_switch(<greenlet>target, <PyObject*>args,
                                                lp._hub_py_remaining, lp._hub_c_remaining)
                return PyGreenlet_Switch(<greenlet>target, <PyObject*>args, NULL)
        return PyGreenlet_Switch(self, NULL, NULL)

    cdef int _call_switch_out(self, object cur) except -1:
        # A method, so called through the vtable: never inlined into
        # switch_c's frame.
        switch_out = getattr(cur, 'switch_out', None)
        if switch_out is not None:
            switch_out()
        return 0

    cpdef switch(self):
        return self.switch_c()

    def switch_out(self):
        raise BlockingSwitchOutError('Impossible to call blocking function in the event loop callback')

    cpdef wait(self, watcher):
        """Block the current greenlet until *watcher* fires (it is started and stopped here)."""
        if watcher is None:
            raise TypeError('wait() needs a watcher, not None')
        cdef Waiter waiter = Waiter.__new__(Waiter)
        waiter.hub = self
        waiter._exception = _NONE
        cdef core_watcher w = _compiled_watcher(watcher)
        if w is not None:
            w.start_c(waiter.switch, (waiter,))
        else:
            watcher.start(waiter.switch, waiter)
        try:
            result = waiter.get()
            if result is not waiter:
                raise InvalidSwitchError('Invalid switch into %s: got %r (expected %r; waiting on %r with %r)' % (
                    getcurrent(), result, waiter, self, watcher))
        finally:
            if w is not None:
                w._stop()
            else:
                watcher.stop()

    def cancel_wait(self, watcher, error, close_watcher=False):
        if watcher.callback is not None:
            self.loop.run_callback(self._cancel_wait, watcher, error, close_watcher)
        elif close_watcher:
            watcher.close()

    def _cancel_wait(self, watcher, error, close_watcher):
        active = watcher.active
        cb = watcher.callback
        if close_watcher:
            watcher.close()
        if active and cb is not None:
            glet = getattr(cb, '__self__', None)
            if glet is not None:
                glet.throw(error)

    def run(self):
        """Run the loop; when nothing is left, raise LoopExit in the parent."""
        assert self is getcurrent(), 'Do not call Hub.run() directly'
        self.start_periodic_monitoring_thread()
        while True:
            lp = self.loop
            if lp is None:
                return
            lp.error_handler = self
            try:
                lp.run()
            except BaseException:
                # Never let an error end the hub: the main greenlet gets it,
                # and the loop runs again when switched back to.
                if self.loop is None or self._destroyed:
                    return
                lp.error_handler = None
                self.parent.throw(*_sys.exc_info())
                continue
            finally:
                lp.error_handler = None
            if self.loop is None or self._destroyed:
                # destroy() unwound us: end, returning to whoever destroyed.
                return
            error = LoopExit('This operation would block forever', self, [])
            error.waiting_at = _describe_wait(self.parent)
            self.parent.throw(error)

    # -- the monitoring thread (geventc._monitor) ----------------------------------

    def start_periodic_monitoring_thread(self):
        """Start this hub's monitoring thread if ``config.monitor_thread`` is
        on and it has none; return it (or None). Called when the loop starts."""
        if self.periodic_monitoring_thread is None:
            from geventc._config import config
            if config.monitor_thread:
                from geventc._monitor import start_periodic_monitoring_thread
                start_periodic_monitoring_thread(self)
        return self.periodic_monitoring_thread

    def join(self, timeout=None):
        """Wait for the loop to finish (True) or *timeout* to pass (False)."""
        assert getcurrent() is self.parent, 'only possible from the MAIN greenlet'
        if self.dead:
            return True
        cdef Waiter waiter = Waiter(self)
        t = None
        if timeout is not None:
            t = self.loop.timer(timeout, ref=False)
            t.start(waiter.switch, None)
        try:
            try:
                waiter.get()
            except LoopExit:
                return True
        finally:
            if t is not None:
                t.stop()
                t.close()
        return False

    def destroy(self, destroy_loop=None):
        if self._destroyed:
            return
        self._destroyed = True
        if self.periodic_monitoring_thread is not None:
            try:
                self.periodic_monitoring_thread.kill()
            except BaseException:
                pass
            self.periodic_monitoring_thread = None
        if self._threadpool is not None:
            try:
                self._threadpool.kill()
            except BaseException:
                pass
            self._threadpool = None
        if self._resolver is not None:
            try:
                self._resolver.close()
            except BaseException:
                pass
            self._resolver = None
        lp = self.loop
        if lp is not None:
            if destroy_loop is None:
                destroy_loop = not lp.default
            if destroy_loop:
                if get_loop() is lp:
                    set_loop(None)
                lp.destroy()
            else:
                # The default loop outlives its hub, for the next one.
                set_loop(lp)
        self.loop = None
        if _get_hub_c() is self:
            _set_hub_c(None)
        if not self.dead and getcurrent() is not self and PyGreenlet_STARTED(self):
            # Unwind the hub (its loop finishes destroying when ev_run
            # returns); it then ends and control comes back here.
            try:
                greenlet.throw(self, HubDestroyed(destroy_loop))
            except HubDestroyed:
                pass
            except greenlet_error:
                # The hub belongs to another thread (that thread may have
                # ended): it cannot be unwound from here, as in gevent.
                pass

    # -- errors ----------------------------------------------------------------

    def _normalize_exception(self, t, v, tb):
        if t is None:
            t = v.__class__
        if isinstance(t, BaseException):
            v = t
            t = type(v)
        if v is None or not isinstance(v, BaseException):
            try:
                v = t(v) if v is not None else t()
            except BaseException:
                pass
        return t, v, tb

    def handle_error(self, context, type, value, tb):
        """Print the error (unless NOT_ERROR); SYSTEM_ERRORs and context=None go to the main greenlet."""
        type, value, tb = self._normalize_exception(type, value, tb)
        if type is HubDestroyed:
            raise value
        if not issubclass(type, self.NOT_ERROR):
            self.print_exception(context, type, value, tb)
        if context is None or issubclass(type, self.SYSTEM_ERROR):
            self.handle_system_error(type, value, tb)

    def handle_system_error(self, type, value, tb=None):
        current = getcurrent()
        if current is self or current is self.parent or self.loop is None:
            self.parent.throw(type, value, tb)
        else:
            cb = None
            try:
                cb = self.loop.run_callback(current.switch)
            except BaseException:
                _traceback().print_exc(file=self.exception_stream)
            try:
                self.parent.throw(type, value, tb)
            finally:
                if cb is not None:
                    cb.stop()

    @property
    def exception_stream(self):
        if self._exception_stream is not None:
            return self._exception_stream if self._exception_stream is not False else None
        stderr = _sys.stderr if _sys else None
        if type(stderr).__name__ == 'FileObjectThread':
            # monkey.patch_sys wraps stderr in a thread-backed file object,
            # which cannot be used from the hub: write to what it wraps.
            stderr = stderr.io
        return stderr

    @exception_stream.setter
    def exception_stream(self, value):
        self._exception_stream = value if value else False

    @exception_stream.deleter
    def exception_stream(self):
        # Back to following sys.stderr, as deleting gevent's instance value does.
        self._exception_stream = None

    def print_exception(self, context, t, v, tb):
        errstream = self.exception_stream
        if not errstream:
            return
        t, v, tb = self._normalize_exception(t, v, tb)
        if v is None:
            errstream.write('%s\n' % t.__name__)
        else:
            _traceback().print_exception(t, v, tb, file=errstream)
        try:
            errstream.write(_gmctime())
            errstream.write(' ' if context is not None else '\n')
        except BaseException:
            pass
        if context is not None:
            if not isinstance(context, str):
                try:
                    if self.format_context is not None:
                        context = self.format_context(context)
                    elif isinstance(context, _greenlet_type):
                        # The seed articles promise that a greenlet's
                        # __str__ names it in this line.
                        context = str(context)
                    else:
                        import pprint
                        context = pprint.saferepr(context)
                except BaseException:
                    _traceback().print_exc(file=errstream)
                    context = repr(context)
            errstream.write('%s failed with %s\n\n' % (context, getattr(t, '__name__', 'exception')))

    # -- resolver and thread pool (filled in by later modules) -----------------

    @property
    def resolver(self):
        if self._resolver is None:
            # helper 5 (issue 5): the class comes from GEVENT(C)_RESOLVER /
            # config.resolver (thread, block, dnspython, ares or a dotted path);
            # a Hub subclass may set `resolver_class` instead.
            cls = getattr(self, 'resolver_class', None)
            if cls is None:
                from geventc.resolver import get_resolver_class
                cls = get_resolver_class()
            self._resolver = cls(hub=self)
        return self._resolver

    @resolver.setter
    def resolver(self, value):
        self._resolver = value

    @resolver.deleter
    def resolver(self):
        self._resolver = None

    @property
    def threadpool(self):
        if self._threadpool is None:
            from geventc._config import config
            cls = getattr(self, 'threadpool_class', None)
            if cls is None:
                from geventc.threadpool import ThreadPool as cls
            size = getattr(self, 'threadpool_size', 10)
            # Idle workers exit after a while, as in gevent (5 s default).
            self._threadpool = cls(size, hub=self, idle_task_timeout=config.threadpool_idle_task_timeout)
        return self._threadpool

    @threadpool.setter
    def threadpool(self, value):
        self._threadpool = value

    @threadpool.deleter
    def threadpool(self):
        # The next use makes a new pool (gevent's Lazy attribute).
        self._threadpool = None

    def __repr__(self):
        if self.loop is None:
            info = 'destroyed'
        else:
            try:
                info = self.loop._format() if hasattr(self.loop, '_format') else repr(self.loop)
            except Exception as ex:
                info = str(ex) or repr(ex) or 'error'
        return '<%s %r at 0x%x %s thread_ident=%#x>' % (
            type(self).__name__, self.name, id(self), info, self.thread_ident or 0)


class Hub(HubBase):
    """A greenlet that runs the event loop (``geventc.hub.Hub``).

    ``SYSTEM_ERROR`` and ``NOT_ERROR`` may be reassigned on the class, a
    subclass or an instance to change which errors reach the main greenlet.
    """
    SYSTEM_ERROR = (KeyboardInterrupt, SystemExit, SystemError)
    NOT_ERROR = (GreenletExit, SystemExit)
    #: The thread pool's size for this hub.
    threadpool_size = 10

    # As gevent's: read from geventc.config each time (a subclass may
    # replace them with plain class attributes).
    @property
    def loop_class(self):
        from geventc._config import config
        return config.loop

    @property
    def backend(self):
        from geventc._config import config
        return config.libev_backend

    @property
    def resolver_class(self):
        from geventc._config import config
        return config.resolver

    @property
    def threadpool_class(self):
        from geventc._config import config
        return config.threadpool


# -- Waiter --------------------------------------------------------------------

include "_waiter.pxi"


# -- Timeout -------------------------------------------------------------------

include "_timeout.pxi"


# -- links: Event, AsyncResult -------------------------------------------------

include "_event.pxi"


# -- Greenlet ------------------------------------------------------------------

include "_greenlet.pxi"


# -- sleeping and waiting ------------------------------------------------------

cdef inline core_watcher _compiled_watcher(object w):
    # *w* as one of _core's watchers, to start and stop it without Python
    # calls; None for anything else (gevent lets hub.loop be any object,
    # making watchers of its own) or a Python subclass, which may override
    # start() and stop().
    if isinstance(w, core_watcher) and not PyType_HasFeature(Py_TYPE(w), Py_TPFLAGS_HEAPTYPE):
        return <core_watcher>w
    return None


def sleep(seconds=0, ref=True):
    """Pause the current greenlet; ``sleep(0)`` just lets the others run."""
    # Only sleep(0) stays in this frame: it is under every switch of a
    # sleep(0) loop, and greenlet copies it to the heap at each one.
    cdef HubBase hub = get_hub()
    cdef loop lp = hub._cloop
    cdef double secs
    cdef core_callback cb
    if PyLong_CheckExact(seconds) or PyFloat_CheckExact(seconds):
        secs = seconds
        if secs != secs:
            _sleep_seconds(seconds)     # raises
    else:
        secs = _sleep_seconds(seconds)
    if lp is None or secs > 0:
        return _sleep_timed(hub, lp, secs, ref)
    glet = <object>PyGreenlet_GetCurrent()
    if glet is hub:
        _raise_blocking_in_hub()
    cb = lp.run_switch(glet, ())
    try:
        hub.switch_c()
    except BaseException:
        cb.stop()
        raise


cdef double _sleep_seconds(seconds) except? -1.0:
    # Any number: TypeError for what is none, ValueError for NaN.
    cdef double secs
    try:
        secs = seconds
    except TypeError:
        raise TypeError('a float is required, not %r' % (type(seconds).__name__,))
    if secs != secs:
        raise ValueError('sleep length must not be NaN')
    return secs


cdef int _raise_blocking_in_hub() except -1:
    raise BlockingSwitchOutError('Impossible to call blocking function in the event loop callback')


cdef object _sleep_timed(HubBase hub, loop lp, double secs, ref):
    cdef core_timer t
    if lp is None:
        return _sleep_any_loop(hub, secs, ref)
    t = core_timer(lp, secs, 0.0, ref)
    # As gevent's: a sleep is measured from now, not from the loop's
    # cached time (the time of its last poll).
    lp.update_now()
    # wait() stops the timer however it ends, and only this frame holds
    # it: there is nothing for a close() to release.
    hub.wait(t)
    return None


cdef object _sleep_any_loop(HubBase hub, double secs, ref):
    # hub.loop is not a geventc loop (a proxy): gevent's sleep, through
    # the loop's Python API.
    if secs != secs:
        raise ValueError('sleep length must not be NaN')
    lp = hub._loop
    if secs <= 0:
        waiter = Waiter(hub)
        lp.run_callback(waiter.switch, None)
        waiter.get()
        return None
    t = lp.timer(secs, ref=ref)
    try:
        lp.update_now()
        hub.wait(t)
    finally:
        t.close()
    return None


def idle(priority=0):
    """Wait until the loop has nothing else to do."""
    hub = get_hub()
    watcher = hub.loop.idle()
    if priority:
        watcher.priority = priority
    hub.wait(watcher)


def kill(greenlet, exception=GreenletExit):
    """Kill a greenlet without waiting (a Greenlet's kill(block=False))."""
    if not greenlet.dead:
        if hasattr(greenlet, 'kill'):
            greenlet.kill(exception=exception, block=False)
        else:
            get_hub().loop.run_callback(greenlet.throw, exception)


def _killall(greenlets, exception):
    for g in greenlets:
        if not g.dead:
            try:
                g.throw(exception)
            except BaseException:
                g.parent.handle_error(g, *_sys.exc_info())


def killall(greenlets, exception=GreenletExit, block=True, timeout=None):
    """Kill all *greenlets*; wait for them to die if *block*.

    Greenlets that never started are killed at once, before returning."""
    cdef Timeout t
    need_killed = []
    for glet in greenlets:
        if isinstance(glet, Greenlet):
            if not (<Greenlet>glet)._maybe_kill_before_start(exception):
                need_killed.append(glet)
        else:
            need_killed.append(glet)
    if not need_killed:
        return
    lp = need_killed[0].loop if hasattr(need_killed[0], 'loop') else get_hub().loop
    if block:
        waiter = Waiter()
        lp.run_callback(_killall3, need_killed, exception, waiter)
        t = _start_timeout(timeout)
        try:
            alive = waiter.get()
            if alive:
                joinall(alive, raise_error=False)
        finally:
            if t is not None:
                t.cancel()
    else:
        lp.run_callback(_killall, need_killed, exception)


def _killall3(greenlets, exception, waiter):
    diehards = []
    try:
        for g in greenlets:
            try:
                if not g.dead:
                    g.throw(exception)
                    if not g.dead:
                        diehards.append(g)
            except BaseException:
                get_hub().handle_error(g, *_sys.exc_info())
    finally:
        # Whatever went wrong above, the killer must not wait forever.
        waiter.switch(diehards)


cdef class _WaitIterator:
    """What ``iwait`` returns: an iterator over the objects as they become
    ready, and a context manager that unlinks from the ones not yielded."""
    cdef HubBase _hub
    cdef Waiter _waiter
    # Values switched in by links and the timer, oldest first: several may
    # arrive while the iterating greenlet is busy elsewhere.
    cdef list _values
    # One bound method for every rawlink, so that unlink finds it.
    cdef object _switch
    cdef object _timeout
    cdef object _objects
    cdef object _timer
    cdef bint _begun
    cdef Py_ssize_t _count

    def __init__(self, objects, HubBase hub, timeout, count):
        self._hub = hub
        self._waiter = Waiter(hub)
        self._values = []
        self._switch = self._on_ready
        self._timeout = timeout
        self._objects = objects
        self._timer = None
        self._begun = False
        # Every object is linked even with a count: any of them may come first.
        self._count = len(objects) if count is None else min(count, len(objects))

    def _on_ready(self, value):
        self._values.append(value)
        self._waiter.switch(True)

    cdef int _begin(self) except -1:
        if self._begun:
            return 0
        self._begun = True
        for obj in self._objects:
            obj.rawlink(self._switch)
        if self._timeout is not None:
            self._timer = self._hub.loop.timer(self._timeout, priority=-1)
            self._timer.start(self._switch, self)
        return 0

    def __iter__(self):
        return self

    def __next__(self):
        self._begin()
        if self._count == 0:
            self._cleanup()
            raise StopIteration()
        self._count -= 1
        try:
            if not self._values:
                self._waiter.get()
                self._waiter.clear()
            item = self._values.pop(0)
            if item is self:
                # The timer fired: no more.
                self._cleanup()
                raise StopIteration()
            return item
        except BaseException:
            self._cleanup()
            raise

    next = __next__

    def _cleanup(self):
        if self._timer is not None:
            self._timer.close()
            self._timer = None
        objs = self._objects
        self._objects = ()
        for obj in objs:
            unlink = getattr(obj, 'unlink', None)
            if unlink is not None:
                try:
                    unlink(self._switch)
                except BaseException:
                    _traceback().print_exc()
        # The hub may still hold _on_ready (it is inside the link that woke
        # us until its next pass): let go of what we hold, so that the
        # caller's last reference frees the objects.
        obj = objs = unlink = None
        del self._values[:]

    def __enter__(self):
        return self

    def __exit__(self, typ, value, tb):
        self._cleanup()


def iwait(objects, timeout=None, count=None):
    """Iterate over *objects* as they become ready (at most *count*, until *timeout*).

    Use the result in a ``with`` block when not consuming it all, so that
    the objects not yielded are unlinked."""
    cdef HubBase hub = get_hub()
    if objects is None:
        return [hub.join(timeout=timeout)]
    if not hasattr(objects, '__len__'):
        objects = list(objects)
    return _WaitIterator(objects, hub, timeout, count)


def wait(objects=None, timeout=None, count=None):
    """Wait for *objects* (or the whole loop when None); return the ready ones."""
    if objects is None:
        return get_hub().join(timeout=timeout)
    return list(iwait(objects, timeout, count))


def joinall(greenlets, timeout=None, raise_error=False, count=None):
    """Wait for *greenlets*; return those that finished (in finishing order)."""
    if greenlets is None:
        return wait(None, timeout=timeout)
    greenlets = list(greenlets)
    if not raise_error:
        # The common case: skip the generator when all are already done.
        return wait(greenlets, timeout=timeout, count=count)
    done = []
    for obj in iwait(greenlets, timeout=timeout, count=count):
        if getattr(obj, 'exception', None) is not None:
            if hasattr(obj, '_raise_exception'):
                obj._raise_exception()
            else:
                raise obj.exception
        done.append(obj)
    return done


# -- signals -------------------------------------------------------------------

class _SignalSlot(object):
    # Every signal_handler of one signal number, and what delivers it.
    #
    # One delivery source per signal, so that several handlers all fire and
    # cancelling them in any order puts back what was there before:
    # - created in the main thread: a Python-level handler (signal.signal),
    #   which keeps Python's handler chain: the previous handler is put back
    #   when the last one is cancelled;
    # - created in another thread (signal.signal only works in the main
    #   thread): a libev signal watcher in that thread's loop, as gevent
    #   does; it saves the C-level disposition and puts it back on stop.
    def __init__(self, signalnum):
        self.signalnum = signalnum
        self.handlers = []
        self.previous = None        # the Python handler we replaced
        self.python = False         # delivered by our Python handler
        self.watcher = None         # or by a libev watcher of some loop

    def install(self, hub):
        import signal as signal_module
        if PyThread_get_thread_ident() == _main_ident:
            self.previous = signal_module.signal(self.signalnum, self.on_python_signal)
            self.python = True
        else:
            watcher = hub.loop.signal(self.signalnum, ref=False)
            watcher.start(self.deliver)
            self.watcher = watcher

    def uninstall(self):
        import signal as signal_module
        if self.python:
            if PyThread_get_thread_ident() != _main_ident:
                # Only the main thread may; on_python_signal does it there.
                return
            self.python = False
            if signal_module.getsignal(self.signalnum) == self.on_python_signal:
                previous = self.previous
                signal_module.signal(self.signalnum, previous if previous is not None else signal_module.SIG_DFL)
            self.previous = None
        watcher = self.watcher
        if watcher is not None:
            self.watcher = None
            lp = watcher.loop
            if lp is None or lp is getattr(_get_hub_c(), 'loop', None):
                watcher.close()
            else:
                # libev's watcher calls belong to the thread running its loop.
                lp.run_callback_threadsafe(watcher.close)
        if _signal_slots.get(self.signalnum) is self:
            del _signal_slots[self.signalnum]

    def on_python_signal(self, signum, frame):
        if self.handlers:
            self.deliver()
            return
        # Everything was cancelled from another thread: put the previous
        # handler back now and let it see this signal.
        import signal as signal_module
        previous = self.previous
        self.uninstall()
        if callable(previous):
            previous(signum, frame)
        elif previous in (None, signal_module.SIG_DFL):
            _os.kill(_os.getpid(), signum)

    def deliver(self):
        for handler in list(self.handlers):
            handler._schedule()


# signalnum -> _SignalSlot, for the whole process.
cdef dict _signal_slots = {}


class signal_handler(object):
    """Run ``handler(*args, **kwargs)`` in a new greenlet when *signalnum* arrives.

    Several handlers of one signal all run, each in the hub of the thread
    that created it. Cancelling the last one puts back the handler that was
    installed before the first (see _SignalSlot)."""

    greenlet_class = None

    def __init__(self, signalnum, handler, *args, **kwargs):
        import signal as signal_module
        if not callable(handler):
            raise TypeError('signal handler must be callable: %r' % (handler,))
        signalnum = _operator_index(signalnum)
        if signalnum < 1 or signalnum >= signal_module.NSIG or \
                signalnum in (signal_module.SIGKILL, signal_module.SIGSTOP):
            raise ValueError('illegal signal number: %r' % (signalnum,))
        self.hub = get_hub()
        self.signalnum = signalnum
        self.handler = handler
        self.args = args
        self.kwargs = kwargs
        self.ref = False
        if self.greenlet_class is None:
            self.greenlet_class = Greenlet
        slot = _signal_slots.get(signalnum)
        if slot is None:
            slot = _SignalSlot(signalnum)
            slot.install(self.hub)
            _signal_slots[signalnum] = slot
        self._slot = slot
        slot.handlers.append(self)
        self._active = True

    def _schedule(self):
        # From the delivering thread: start our greenlet in our own hub.
        lp = self.hub.loop
        if not self._active or lp is None:
            return
        if self.hub is _get_hub_c():
            lp.run_callback(self._start)
        else:
            lp.run_callback_threadsafe(self._start)

    def _start(self):
        if not self._active:
            return
        try:
            g = self.greenlet_class(self.handle)
            g.switch()
        except BaseException:
            self.hub.handle_error(None, *_sys.exc_info())

    def handle(self):
        try:
            self.handler(*self.args, **self.kwargs)
        except BaseException:
            self.hub.handle_error(None, *_sys.exc_info())

    def cancel(self):
        if not self._active:
            return
        self._active = False
        slot = self._slot
        try:
            slot.handlers.remove(self)
        except ValueError:
            pass
        if not slot.handlers:
            slot.uninstall()

    def __repr__(self):
        return '<%s at 0x%x signalnum=%r handler=%r>' % (type(self).__name__, id(self), self.signalnum, self.handler)


def reinit(hub=None):
    """Prepare the hub for use after fork (done automatically by os.fork)."""
    if hub is None:
        hub = _get_hub_c()
    if hub is None:
        return
    if hub.loop is not None:
        hub.loop.reinit()
    # Their threads did not survive fork: each restarts its own (the fork
    # watchers would too, but only after a loop iteration).
    for obj in (getattr(hub, '_threadpool', None), getattr(hub, '_resolver', None),
                getattr(hub, 'periodic_monitoring_thread', None)):
        on_fork = getattr(obj, '_on_fork', None)
        if on_fork is not None:
            on_fork()


# -- the C API -------------------------------------------------------------------

include "_capi.pxi"


# -- semaphores and locks ------------------------------------------------------

include "_lock.pxi"
