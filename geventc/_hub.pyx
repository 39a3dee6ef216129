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
cdef extern from "Python.h":
    # Cython's cpython.method still declares Python 2's three arguments.
    object PyMethod_New(object func, object self)
    # _instance_attr: attribute lookups that raise nothing.
    ctypedef struct PyTypeObject
    PyTypeObject* Py_TYPE(object)
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
from geventc.includes.python cimport geventc_capture_stack, geventc_same_stack

from geventc.includes cimport libev
from geventc.includes.greenlet cimport (
    greenlet, PyGreenlet_Import, PyGreenlet_GetCurrent, PyGreenlet_Switch,
    PyGreenlet_Throw, PyGreenlet_SetParent, PyGreenlet_Check, PyGreenlet_STARTED, PyGreenlet_ACTIVE,
    PyGreenlet_MAIN)
from geventc._core cimport (loop, callback as core_callback, timer as core_timer, Wakeable,
                            SWITCH_KIND, WAKE_DONE, WAKE_SWITCH, WAKE_NEED_HUB)

import heapq as _heapq
from operator import index as _operator_index
import os as _os
import sys as _sys
import time as _time
import traceback as _traceback
import threading as _threading
import weakref as _weakref

from greenlet import greenlet as _greenlet_type, getcurrent, GreenletExit, error as greenlet_error

import geventc._core as _core_mod
from geventc._config import config as _config_instance
cdef object _config = _config_instance

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

class _HubLocal(_threading.local):
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
        cdef greenlet cur = PyGreenlet_GetCurrent()
        if cur is self:
            raise BlockingSwitchOutError('Impossible to call blocking function in the event loop callback')
        if type(cur) is not Greenlet and not PyGreenlet_MAIN(cur):
            switch_out = getattr(cur, 'switch_out', None)
            if switch_out is not None:
                switch_out()
        cdef loop lp = self._cloop
        if lp is not None and lp._handoff_ok:
            # The hub waits in a switch that ended its callback: go straight
            # to what it would run next.
            try:
                target = lp.next_handoff()
            except BaseException:
                lp._handle_error_now(lp._wake_current)
                lp._end_wake()
                target = None
            if target is not None:
                args = lp._next_args
                lp._next_args = None
                if not PyGreenlet_STARTED(<greenlet>target):
                    return lp.start_handed_off(target, args)
                return PyGreenlet_Switch(<greenlet>target, <PyObject*>args, NULL)
        return PyGreenlet_Switch(self, NULL, NULL)

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
        watcher.start(waiter.switch, waiter)
        try:
            result = waiter.get()
            if result is not waiter:
                raise InvalidSwitchError('Invalid switch into %s: got %r (expected %r; waiting on %r with %r)' % (
                    getcurrent(), result, waiter, self, watcher))
        finally:
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
                _traceback.print_exc(file=self.exception_stream)
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
            _traceback.print_exception(t, v, tb, file=errstream)
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
                    _traceback.print_exc(file=errstream)
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

cdef class _NoneType:
    def __repr__(self):
        return '<default value>'

cdef object _NONE = _NoneType()


@cython.freelist(256)
cdef class Waiter:
    """A one-shot rendezvous between a greenlet and the hub (gevent's Waiter)."""

    def __init__(self, hub=None):
        self.hub = get_hub() if hub is None else hub
        self.greenlet = None
        self.value = None
        self._exception = _NONE

    def clear(self):
        self.greenlet = None
        self.value = None
        self._exception = _NONE

    def __str__(self):
        if self._exception is _NONE:
            return '<%s greenlet=%s>' % (type(self).__name__, self.greenlet)
        if self._exception is None:
            return '<%s greenlet=%s value=%r>' % (type(self).__name__, self.greenlet, self.value)
        return '<%s greenlet=%s exc_info=%r>' % (type(self).__name__, self.greenlet, self.exc_info)

    def ready(self):
        return self._exception is not _NONE

    def successful(self):
        if self._exception is not _NONE:
            return self._exception is None

    @property
    def exc_info(self):
        if self._exception is not _NONE:
            return self._exception

    cpdef switch(self, value):
        """Switch to the waiting greenlet with *value* (or store it if none waits yet)."""
        cdef object glet = self.greenlet
        if glet is None:
            self.value = value
            self._exception = None
            return
        if PyGreenlet_GetCurrent() is not self.hub:
            raise AssertionError('Can only use Waiter.switch method from the Hub greenlet')
        cdef tuple args = (value,)
        try:
            PyGreenlet_Switch(<greenlet>glet, <PyObject*>args, NULL)
        except BaseException:
            self.hub.handle_error(glet.switch, *_sys.exc_info())

    def switch_args(self, *args):
        return self.switch(args)

    def throw(self, *throw_args):
        glet = self.greenlet
        if glet is None:
            self._exception = throw_args
            return
        if getcurrent() is not self.hub:
            raise AssertionError('Can only use Waiter.switch method from the Hub greenlet')
        try:
            glet.throw(*throw_args)
        except BaseException:
            self.hub.handle_error(glet.throw, *_sys.exc_info())

    cpdef get(self):
        """Return the value switched in, blocking until there is one."""
        if self._exception is not _NONE:
            if self._exception is None:
                return self.value
            getcurrent().throw(*self._exception)
            return None
        if self.greenlet is not None:
            raise ConcurrentObjectUseError('This Waiter is already used by %r' % (self.greenlet,))
        if self.hub is None:
            # Made by __new__, or a subclass skipped our __init__.
            self.hub = get_hub()
        self.greenlet = PyGreenlet_GetCurrent()
        try:
            return self.hub.switch_c()
        finally:
            self.greenlet = None

    def __call__(self, source):
        if source.exception is None:
            self.switch(source.value)
        else:
            self.throw(source.exception)


# -- Timeout -------------------------------------------------------------------

cdef void _timeout_cb(libev.ev_loop* ptr, libev.ev_timer* w, int revents) noexcept:
    cdef Timeout self = <Timeout>w.data
    self._expired()


cdef class _FakeTimer:
    # What gevent's Timeout(None) and join(timeout=None) use: never fires.
    @property
    def pending(self):
        return False

    @property
    def active(self):
        return False

    @property
    def seconds(self):
        return None

    def start(self, *args, **kwargs):
        pass

    def stop(self):
        pass

    cancel = stop
    close = stop

    def __enter__(self):
        return self

    def __exit__(self, t, v, tb):
        pass

cdef _FakeTimer _fake_timer = _FakeTimer()


cdef class Timeout(BaseException):
    """Raise an exception in the current greenlet after *seconds*.

    Also an exception (``except Timeout``), a context manager, and the
    ``timeout=`` argument of ``join``/``get``/``wait``. ``exception=False``
    makes ``with Timeout(...)`` silent; another exception class or instance
    is raised instead of the Timeout itself.
    """

    def __init__(self, seconds=None, exception=None, ref=True, priority=-1, _one_shot=False):
        cdef double after = 0.0
        BaseException.__init__(self)
        if seconds is not None:
            try:
                after = seconds
            except TypeError:
                raise TypeError('a float is required for Timeout seconds, not %r'
                                % (type(seconds).__name__,))
            if after != after:
                raise ValueError('Timeout seconds must not be NaN')
            hub = get_hub()
            self._loop = hub._cloop
            if self._loop is None:
                self._watcher = hub.loop.timer(seconds or 0.0, ref=ref, priority=priority)
            else:
                libev.ev_timer_init(&self._timer, _timeout_cb, after, 0.0)
                self._timer.data = <void*>self
                if priority is not None:
                    libev.ev_set_priority(&self._timer, priority)
        self.seconds = seconds
        self.exception = exception
        self._one_shot = _one_shot
        self._ref = bool(ref)

    cdef bint _pending_c(self) except -1:
        if self._watcher is not None:
            return bool(self._watcher.pending or self._watcher.active)
        return self._timer.active or self._timer.pending

    cdef bint _active_c(self) except -1:
        if self._watcher is not None:
            return bool(self._watcher.active)
        return self._timer.active

    cdef int _start_watcher(self) except -1:
        # gevent's own Timeout.start, on whatever hub.loop.timer() made.
        if self._pending_c():
            raise AssertionError('%r is already started; to restart it, cancel it first' % (self,))
        if self._closed:
            return 0
        exc = self.exception
        throws = self if (exc is None or exc is False or isinstance(exc, str)) else exc
        self._watcher.start(self._on_expiration, getcurrent(), throws, update=True)
        return 0

    cdef int start_c(self) except -1:
        if self._watcher is not None:
            return self._start_watcher()
        if self._timer.active:
            raise AssertionError('%r is already started; to restart it, cancel it first' % (self,))
        if self.seconds is None or self._loop is None:
            return 0
        if self._closed:
            return 0
        if self._loop._ptr == NULL:
            raise ValueError('operation on destroyed loop')
        exc = self.exception
        self._throws = self if (exc is None or exc is False or isinstance(exc, str)) else exc
        self._target = <object>PyGreenlet_GetCurrent()
        # Measure from now, not from the loop's cached time.
        libev.ev_now_update(self._loop._ptr)
        libev.ev_timer_start(self._loop._ptr, &self._timer)
        if not self._ref:
            libev.ev_unref(self._loop._ptr)
        else:
            self._loop._activecnt += 1
        Py_INCREF(self)
        self._self_ref = True
        return 0

    def start(self):
        # Returns None, as gevent's does (code relies on it, e.g. passing
        # the result on as a `timeout=` that then means "no timeout").
        self.start_c()

    cdef int _release(self) noexcept:
        # Undo start_c's bookkeeping once libev no longer holds the timer.
        if self._self_ref:
            if self._loop._ptr != NULL:
                if not self._ref:
                    libev.ev_ref(self._loop._ptr)
                else:
                    self._loop._activecnt -= 1
            self._target = None
            self._throws = None
            self._self_ref = False
            Py_DECREF(self)
        return 0

    cdef int _expired(self) noexcept:
        cdef object keep = self
        target = self._target
        throws = self._throws
        self._release()
        try:
            self._on_expiration(target, throws)
        except BaseException:
            try:
                self._loop._handle_error_now(self)
            except BaseException:
                pass
        return 0

    def _on_expiration(self, prev_greenlet, ex):
        # Hook for subclasses (gevent's name).
        prev_greenlet.throw(ex)

    @classmethod
    def start_new(cls, timeout=None, exception=None, ref=True, _one_shot=False):
        """Make a Timeout and start it; a Timeout passed in is started if needed."""
        cdef Timeout t
        if isinstance(timeout, Timeout):
            t = timeout
            if not t._active_c():
                t.start_c()
            return t
        if cls is Timeout:
            t = Timeout.__new__(Timeout)
            Timeout.__init__(t, timeout, exception, ref, -1, _one_shot)
        else:
            t = cls(timeout, exception, ref=ref, _one_shot=_one_shot)
        t.start_c()
        return t

    @staticmethod
    def _start_new_or_dummy(timeout, exception=None, ref=True):
        return _start_new_or_dummy(timeout, exception, ref)

    @property
    def pending(self):
        return self._pending_c()

    @property
    def active(self):
        return self._active_c()

    @property
    def timer(self):
        # gevent exposes the watcher; this one lives inside the Timeout.
        if self.seconds is None or self._closed:
            return _fake_timer
        return self._watcher if self._watcher is not None else self

    cpdef cancel(self):
        """Stop the timer if it is pending; a one-shot Timeout is also closed."""
        if self._watcher is not None:
            self._watcher.stop()
            if self._one_shot:
                self.close()
            return
        if self._loop is not None and (self._timer.active or self._timer.pending):
            if self._loop._ptr != NULL:
                libev.ev_timer_stop(self._loop._ptr, &self._timer)
            else:
                self._timer.active = 0
                self._timer.pending = 0
            self._release()
        if self._one_shot:
            self._closed = True

    stop = cancel

    def close(self):
        if self._watcher is not None:
            if not self._closed:
                self._closed = True
                self._watcher.stop()
                self._watcher.close()
            return
        self.cancel()
        self._closed = True

    def __enter__(self):
        if not self._pending_c():
            self.start_c()
        return self

    def __exit__(self, typ, value, tb):
        # As gevent: leaving the block closes the timer for good.
        self.close()
        if value is self and self.exception is False:
            return True
        return None

    def __lt__(self, other):
        # gevent lets timeouts be compared with each other and with numbers.
        try:
            return self.seconds < other.seconds
        except AttributeError:
            try:
                return self.seconds < other
            except TypeError:
                return NotImplemented

    def __repr__(self):
        classname = type(self).__name__
        pending = ' pending' if self.pending else ''
        exception = '' if self.exception is None else ' exception=%r' % (self.exception,)
        return '<%s at %s seconds=%s%s%s>' % (classname, hex(id(self)), self.seconds, exception, pending)

    def __str__(self):
        if self.seconds is None:
            return ''
        suffix = '' if self.seconds == 1 else 's'
        if self.exception is None:
            return '%s second%s' % (self.seconds, suffix)
        if self.exception is False:
            return '%s second%s (silent)' % (self.seconds, suffix)
        return '%s second%s: %s' % (self.seconds, suffix, self.exception)

    def __dealloc__(self):
        # A started timer holds a reference to us, so we only get here
        # stopped; make sure libev has no pointer left to this memory.
        if self._timer.active and self._loop is not None and self._loop._ptr != NULL:
            libev.ev_timer_stop(self._loop._ptr, &self._timer)


cdef object _start_new_or_dummy(timeout, exception=None, ref=True):
    cdef Timeout t
    if timeout is None:
        return _fake_timer
    if isinstance(timeout, Timeout):
        t = timeout
        if not t._active_c():
            t.start_c()
        return t
    t = Timeout.__new__(Timeout)
    Timeout.__init__(t, timeout, exception, ref, -1, True)
    t.start_c()
    return t


def with_timeout(seconds, function, *args, **kwds):
    """Call ``function(*args, **kwds)``; on timeout return ``timeout_value`` if given, else raise."""
    timeout_value = kwds.pop('timeout_value', _NONE)
    t = Timeout.start_new(seconds, _one_shot=True)
    try:
        try:
            return function(*args, **kwds)
        except Timeout as ex:
            if ex is t and timeout_value is not _NONE:
                return timeout_value
            raise
    finally:
        t.cancel()


# -- links: Event, AsyncResult -------------------------------------------------

cdef class AbstractLinkable:
    """Something greenlets wait on; links are called from the hub in FIFO order."""

    def __init__(self, hub=None):
        self.hub = hub
        self._links = []
        self._notifier = None

    cpdef bint ready(self):
        return False

    def linkcount(self):
        # A notification in progress leaves None where it called a link
        # (see next_wake): those are gone, as gevent pops them.
        return len(self._links) - self._links.count(None)

    cpdef rawlink(self, callback):
        """Call ``callback(self)`` from the hub when this becomes ready."""
        if not callable(callback):
            raise TypeError('Expected callable: %r' % (callback,))
        self._links.append(callback)
        self._check_and_notify()

    cpdef unlink(self, callback):
        try:
            self._links.remove(callback)
        except ValueError:
            pass
        if not self._links and not self._arrived and self._notifier is not None:
            if type(self._notifier) is core_callback:
                (<core_callback>self._notifier).stop()
            self._notifier = None

    cdef object _capture_hub(self):
        cdef HubBase current = _get_hub_c()
        if self.hub is None:
            if current is None:
                current = get_hub()
            self.hub = current
        return current

    cdef int _check_and_notify(self) except -1:
        cdef HubBase hub
        if self._links and self._notifier is None and self.ready():
            current = self._capture_hub()
            hub = self.hub
            if hub._loop is None:
                return 0
            if current is not hub:
                # Set from another thread: hand the notification to the
                # hub's own thread.
                self._notifier = hub._loop.run_callback_threadsafe(self._notify_links, [])
            elif hub._cloop is not None:
                self._notifier = hub._cloop.run_wake(self, ())
            else:
                self._notifier = hub._loop.run_callback(self._notify_links, [])
        return 0

    # -- the notification, as steps the loop runs (see Wakeable) -----------------
    #
    # The same walk as _notify_link_list: FIFO, only while ready unless
    # _notify_all, stopping at the link that was last when it began; called
    # entries become None and the prefix is deleted at the end. A greenlet
    # link is a switch the runner makes (possibly a greenlet handing off);
    # a callable link runs in the hub.

    cdef bint begin_wake(self, object args) except -1:
        if self._notifier is None:
            self._check_and_notify()
            return False
        self._walk_begin()
        return True

    cdef int _walk_begin(self) except -1:
        # Made per walk, not kept: (self,) held by self would be a cycle.
        self._walk_args = (self,)
        self._walk_start(self._links)
        return 0

    cdef int _walk_start(self, list links) except -1:
        self._walk_list = links
        self._walk_i = 0
        self._walk_last = False
        self._walk_called = None
        self._walk_final = links[-1] if links else None
        return 0

    cdef int next_wake(self, bint in_hub) except -1:
        cdef list links
        cdef Py_ssize_t i
        while True:
            links = self._walk_list
            i = self._walk_i
            if (links is None or self._walk_last or self._walk_final is None or i >= len(links)
                    or (not self._notify_all and not self.ready())):
                if self._walk_next_list():
                    continue
                return self._walk_end()
            link = links[i]
            if link is None:
                self._walk_i = i + 1
                continue
            if PyGreenlet_Check(link):
                links[i] = None
                self._walk_i = i + 1
                self._walk_last = link is self._walk_final
                self.wake_target = link
                self.wake_args = self._walk_args
                return WAKE_SWITCH
            if not in_hub:
                return WAKE_NEED_HUB
            links[i] = None
            self._walk_i = i + 1
            self._walk_last = link is self._walk_final
            if self._walk_called is None:
                self._walk_called = set()
            id_link = id(link)
            if id_link not in self._walk_called:
                self._walk_called.add(id_link)
                _call_link(self, link)

    cdef bint _walk_next_list(self) except -1:
        # The walked list is done: drop its called prefix. After _links come
        # the greenlets that arrived (see _wait_turn) while this ran; those
        # still waiting after theirs go to _links for the next notification.
        cdef list links = self._walk_list
        cdef Py_ssize_t i = self._walk_i
        self._walk_i = 0
        if links is not None and i:
            del links[:i]
        if links is self._links and self._arrived:
            self._walk_start(self._arrived)
            return True
        if links is not None and links is self._arrived:
            self._links.extend([g for g in links if g is not None])
            del links[:]
        return False

    cdef int _walk_reset(self) except -1:
        self._walk_list = None
        self._walk_i = 0
        self._walk_final = None
        self._walk_last = False
        self._walk_called = None
        self._walk_args = None
        return 0

    cdef int _walk_end(self) except -1:
        self._walk_reset()
        self._notifier = None
        self._check_and_notify()
        return WAKE_DONE

    cdef int _wait_turn(self) except -1:
        # Ready, but a notification is queued or running: as in gevent, a
        # greenlet arriving now waits until it has gone through the
        # greenlets already waiting, instead of running ahead of them.
        cdef HubBase hub = _get_hub_c()
        cdef object glet = <object>PyGreenlet_GetCurrent()
        if hub is None or glet is hub or self.hub is not hub:
            return 0
        if self._arrived is None:
            self._arrived = []
        self._arrived.append(glet)
        try:
            result = hub.switch_c()
            if result is not self:
                raise InvalidSwitchError('Invalid switch into %s.wait(): %r' % (
                    type(self).__name__, result))
        except BaseException:
            for waiting in (self._arrived, self._links):
                try:
                    waiting.remove(glet)
                except ValueError:
                    pass
            raise
        return 0

    cdef int wake_error(self, object target) noexcept:
        _report_link_error(self, target)
        return 0

    cdef int _walk_inline(self) except -1:
        # The whole walk from a plain callback (another thread's notify).
        cdef object target
        self._walk_begin()
        while self.next_wake(True) == WAKE_SWITCH:
            target = self.wake_target
            args = self.wake_args
            self.wake_target = None
            self.wake_args = None
            _switch_link(self, target, args)
        return 0

    cdef list _notify_link_list(self, list links):
        # Walk by index instead of pop(0) (a memmove per link: O(n^2) for an
        # Event with many waiters). Called entries become None, so a
        # concurrent unlink() can only remove entries not yet reached, which
        # never moves the cursor's target. Stop at the link that was last
        # when we began: links added meanwhile wait for the next round.
        cdef bint only_while_ready = not self._notify_all
        cdef Py_ssize_t i = 0
        cdef set done = None
        cdef tuple switch_args = (self,)
        if not links:
            return []
        final_link = links[-1]
        try:
            while i < len(links):
                if only_while_ready and not self.ready():
                    break
                link = links[i]
                links[i] = None
                i += 1
                if link is None:
                    continue
                if PyGreenlet_Check(link):
                    # A greenlet waits on one object once: no duplicate check.
                    _switch_link(self, link, switch_args)
                else:
                    if done is None:
                        done = set()
                    id_link = id(link)
                    if id_link not in done:
                        done.add(id_link)
                        _call_link(self, link)
                if link is final_link:
                    break
        finally:
            del links[:i]
        return []

    def _notify_links(self, arrived_while_waiting):
        if self._notifier is None:
            self._check_and_notify()
            return
        self._walk_inline()

    cdef object _wait_core(self, timeout, bint catch=True):
        # Link the current greenlet itself and switch to the hub. A
        # notification pops the link, so only a timeout or an error needs the
        # O(n) unlink.
        cdef HubBase hub = self._capture_hub()
        if hub is None:
            hub = get_hub()
        cdef object glet = <object>PyGreenlet_GetCurrent()
        self._links.append(glet)
        self._check_and_notify()
        t = _start_new_or_dummy(timeout) if timeout is not None else None
        try:
            result = hub.switch_c()
            if result is not self:
                raise InvalidSwitchError('Invalid switch into %s.wait(): %r' % (
                    type(self).__name__, result))
            return True
        except Timeout as ex:
            self.unlink(glet)
            if ex is not t or not catch:
                raise
            return False
        except BaseException:
            self.unlink(glet)
            raise
        finally:
            if t is not None:
                t.cancel()

    def _wait(self, timeout=None):
        if self.ready():
            result = self.ready()
            if self._notifier is not None:
                self._wait_turn()
            return result
        self._wait_core(timeout)
        return self.ready()


cdef int _report_link_error(object source, object link) noexcept:
    try:
        hub = getattr(source, 'hub', None)
        if hub is None:
            hub = _get_hub_c()
        if hub is not None:
            hub.handle_error((link, source), *_sys.exc_info())
        else:
            _traceback.print_exc()
    except BaseException:
        pass
    return 0


cdef inline int _switch_link(object source, object glet, tuple args) noexcept:
    # A waiting greenlet links itself, not a bound method: switch through
    # the C API.
    try:
        PyGreenlet_Switch(<greenlet>glet, <PyObject*>args, NULL)
    except BaseException:
        _report_link_error(source, glet)
    return 0


cdef inline int _call_link(object source, object link) noexcept:
    try:
        if PyGreenlet_Check(link):
            _switch_link(source, link, (source,))
        else:
            link(source)
    except BaseException:
        _report_link_error(source, link)
    return 0


cdef class Event(AbstractLinkable):
    """A flag that greenlets wait on; ``set()`` wakes them all."""

    def __init__(self):
        AbstractLinkable.__init__(self)
        self._flag = False
        self._notify_all = True

    def __str__(self):
        return '<%s %s _links[%s]>' % (type(self).__name__, 'set' if self._flag else 'clear', len(self._links))

    cpdef bint ready(self):
        return self._flag

    def is_set(self):
        return self._flag

    isSet = is_set

    def __bool__(self):
        return self._flag

    cpdef set(self):
        self._flag = True
        self._check_and_notify()

    cpdef clear(self):
        self._flag = False

    def wait(self, timeout=None):
        """Block until set (True) or *timeout* passes (the flag, False)."""
        if self._flag:
            if self._notifier is not None:
                self._wait_turn()
            return True
        if self._wait_core(timeout, True):
            # Woken by set(), even if clear() came before we ran.
            return True
        return self._flag

    def _reset_internal_locks(self):
        pass


cdef class AsyncResult(AbstractLinkable):
    """A value or an exception delivered later, to any number of waiters."""

    def __init__(self):
        AbstractLinkable.__init__(self)
        self._value = _NONE
        self._exc_info = ()
        self._notify_all = True

    @property
    def _exception(self):
        return self._exc_info[1] if self._exc_info else _NONE

    @property
    def value(self):
        return self._value if self._value is not _NONE else None

    @property
    def exc_info(self):
        if self._exc_info:
            return self._exc_info
        return ()

    @property
    def exception(self):
        if self._exc_info:
            return self._exc_info[1]
        return None

    def __str__(self):
        result = '<%s ' % (type(self).__name__,)
        if self._value is not _NONE or self._exc_info:
            result += 'value=%r ' % (self.value,)
        if self._exc_info:
            result += 'exception=%r ' % (self._exc_info[1],)
        if not self.ready():
            result += 'unset '
        return result + ' _links[%s]>' % len(self._links)

    cpdef bint ready(self):
        return self._value is not _NONE or bool(self._exc_info)

    def successful(self):
        return self._value is not _NONE

    def set(self, value=None):
        self._value = value
        self._check_and_notify()

    def set_exception(self, exception, exc_info=None):
        if exc_info:
            self._exc_info = (exc_info[0], exc_info[1], exc_info[2])
        else:
            self._exc_info = (type(exception), exception, None)
        self._check_and_notify()

    def _raise_exception(self):
        t, v, tb = self._exc_info
        if v is None:
            v = t()
        # Always reset: a bare `raise v` would append this frame to the
        # traceback v keeps from the previous get().
        raise v.with_traceback(tb)

    def get(self, block=True, timeout=None):
        """Return the value or raise the exception, waiting if *block*."""
        if self._value is not _NONE:
            return self._value
        if self._exc_info:
            return self._raise_exception()
        if not block:
            raise Timeout()
        self._wait_core(timeout, False)
        if self._value is not _NONE:
            return self._value
        if self._exc_info:
            return self._raise_exception()
        raise Timeout()

    def get_nowait(self):
        return self.get(block=False)

    def wait(self, timeout=None):
        """Wait until ready (or timeout) and return the value (None if not ready)."""
        if not self.ready():
            self._wait_core(timeout)
        elif self._notifier is not None:
            self._wait_turn()
        return self.value

    def __call__(self, source):
        if source.successful():
            self.set(source.value)
        else:
            self.set_exception(source.exception, getattr(source, 'exc_info', None))

    # Python 3 concurrent.futures names
    def result(self, timeout=None):
        return self.get(timeout=timeout)

    set_result = set

    def done(self):
        return self.ready()

    def cancel(self):
        return False

    def cancelled(self):
        return False


# -- Greenlet ------------------------------------------------------------------

cdef class _StartEvent:
    # Markers for Greenlet._start_event: started, or cancelled by kill().
    cdef str name

    def __init__(self, name):
        self.name = name

    def stop(self):
        pass

    close = stop

    @property
    def pending(self):
        return False

    def __repr__(self):
        return '<%s>' % self.name

cdef _StartEvent _start_completed_event = _StartEvent('start completed')
cdef _StartEvent _cancelled_start_event = _StartEvent('start cancelled')


class _ValuedWeakRef(_weakref.ref):
    # The ident rides on the weak reference, so the callback returning it
    # needs no search.
    __slots__ = ('value',)


cdef class _IdentRegistry:
    """Small non-negative integers for live objects (``minimal_ident``):
    no two live objects share one; a dead object's ident is reused, smallest
    first (gevent's ``gevent._ident.IdentRegistry``)."""
    cdef object _registry
    cdef list _available_idents

    def __init__(self):
        self._registry = _weakref.WeakKeyDictionary()
        self._available_idents = []

    def get_ident(self, obj):
        """The ident of *obj*, assigning one the first time."""
        try:
            return self._registry[obj][0]
        except KeyError:
            pass
        if self._available_idents:
            ident = _heapq.heappop(self._available_idents)
        else:
            ident = len(self._registry)
        vref = _ValuedWeakRef(obj, self._return_ident)
        vref.value = ident
        self._registry[obj] = (ident, vref)
        return ident

    def _return_ident(self, vref):
        _heapq.heappush(self._available_idents, vref.value)

    def __len__(self):
        return len(self._registry)



cdef class SpawnedLink:
    """A link that runs its callback in a new greenlet (gevent's ``link``)."""
    cdef public object callback

    def __init__(self, callback):
        if not callable(callback):
            raise TypeError('Expected callable: %r' % (callback,))
        self.callback = callback

    def __call__(self, source):
        g = _greenlet_type(self.callback, get_hub())
        g.switch(source)

    def __hash__(self):
        return hash(self.callback)

    def __eq__(self, other):
        return self.callback == getattr(other, 'callback', other)

    def __str__(self):
        return str(self.callback)

    def __repr__(self):
        return repr(self.callback)

    def __getattr__(self, item):
        assert item != 'callback'
        return getattr(self.callback, item)


cdef class SuccessSpawnedLink(SpawnedLink):
    def __call__(self, source):
        if source.successful():
            return SpawnedLink.__call__(self, source)


cdef class FailureSpawnedLink(SpawnedLink):
    def __call__(self, source):
        if not source.successful():
            return SpawnedLink.__call__(self, source)


cdef class _GreenletLink:
    # 0.13's link(receiver=greenlet): raise LinkedExited in the receiver.
    cdef object receiver
    cdef int mode   # 0: any, 1: success only, 2: failure only

    def __init__(self, receiver, int mode):
        self.receiver = receiver
        self.mode = mode

    def __call__(self, source):
        if source.successful():
            if self.mode == 2:
                return
            if isinstance(source.value, GreenletExit):
                error = LinkedKilled(source)
            else:
                error = LinkedCompleted(source)
        else:
            if self.mode == 1:
                return
            error = LinkedFailed(source)
        self.receiver.throw(error)

    def __eq__(self, other):
        return self.receiver is getattr(other, 'receiver', other)

    def __hash__(self):
        return hash(self.receiver)


def _default_run(self):
    return None


# Never in a cycle (code objects do not point back at it): kept out of
# the garbage collector, which would otherwise walk every live greenlet's
# stack at each collection.
@cython.no_gc
@cython.freelist(64)
cdef class _Frame:
    @property
    def f_lineno(self):
        # Computed when read: mapping the instruction to a line at every
        # spawn would cost more than the rest of the capture.
        if self._lineno < 0:
            self._lineno = PyCode_Addr2Line(<PyObject*>self.f_code, self._lasti)
        return self._lineno

    @property
    def f_globals(self):
        return None

    def __repr__(self):
        return '<_Frame %s:%d in %s>' % (self.f_code.co_filename, self.f_lineno, self.f_code.co_name)


cdef _Frame _extract_stack(int limit):
    # The innermost *limit* Python frames (negative: all of them), as
    # gevent's _extract_stack, for a subclass's spawning_stack_limit that a
    # _SpawnStack does not hold.
    cdef PyFrameObject* frame = PyEval_GetFrame()
    cdef PyFrameObject* back
    cdef _Frame newest = None
    cdef _Frame newer = None
    cdef _Frame older
    if frame == NULL:
        return None
    Py_INCREF(<object>frame)
    while limit != 0 and frame != NULL:
        limit -= 1
        older = _new_frame(<object>PyFrame_GetCode(frame), PyFrame_GetLasti(frame))
        Py_DECREF(older.f_code)     # PyFrame_GetCode returned a new reference
        if newer is None:
            newest = older
        else:
            newer.f_back = older
        newer = older
        back = PyFrame_GetBack(frame)
        Py_DECREF(<object>frame)
        frame = back
    if frame != NULL:
        Py_DECREF(<object>frame)
    return newest


cdef inline _Frame _new_frame(object code, int lasti):
    cdef _Frame frame = _Frame.__new__(_Frame)
    frame.f_code = code
    frame._lasti = lasti
    frame._lineno = -1
    return frame


# Only code objects: never in a cycle. One per place greenlets are spawned
# from (see _spawning_stack_now), so usually few.
@cython.no_gc
@cython.freelist(256)
cdef class _SpawnStack:
    def __dealloc__(self):
        for i in range(self.n):
            Py_DECREF(<object>self.codes[i])
        self.n = 0

    cdef _Frame _frames(self):
        cdef _Frame newest = None
        cdef _Frame newer = None
        cdef _Frame older
        for i in range(self.n):
            older = _new_frame(<object>self.codes[i], self.lasti[i])
            if newer is None:
                newest = older
            else:
                newer.f_back = older
            newer = older
        return newest


# The last stack captured: the next spawn from the same place (a loop
# spawning greenlets) shares it.
cdef _SpawnStack _last_spawn_stack = None


cdef object _spawning_stack_now(int limit):
    # What Greenlet.spawning_stack will show, captured cheaply for the
    # default limit (gevent's is 10; 0 captures nothing).
    global _last_spawn_stack
    cdef _SpawnStack st = _last_spawn_stack
    if limit == 0:
        return None
    if limit < 0 or limit > 10:
        return _extract_stack(limit)
    if st is not None and geventc_same_stack(st.codes, st.lasti, st.n, limit):
        return st
    st = _SpawnStack.__new__(_SpawnStack)
    st.n = geventc_capture_stack(st.codes, st.lasti, limit)
    if not st.n:
        return None
    _last_spawn_stack = st
    return st


cdef object _instance_attr(object obj, str name):
    # getattr(obj, name, _NONE) for an attribute kept in the instance's
    # __dict__ (a raw greenlet's), without raising AttributeError inside
    # (that costs more than a spawn) when there is none.
    if _PyType_Lookup(Py_TYPE(obj), <PyObject*>name) != NULL:
        return getattr(obj, name, _NONE)
    return _dict_attr(obj, name)


cdef object _dict_attr(object obj, str name):
    # The instance __dict__'s *name*, or _NONE.
    cdef PyObject** dictptr
    cdef PyObject* value
    dictptr = _PyObject_GetDictPtr(<PyObject*>obj)
    if dictptr == NULL or dictptr[0] == NULL:
        return _NONE
    value = PyDict_GetItemWithError(<object>dictptr[0], name)
    if value == NULL:
        return _NONE
    return <object>value


# A Greenlet whose spawner is a root (a thread's main greenlet) starts a
# tree of its own: its dict is made when someone reads it or it spawns.
cdef object _NEW_TREE = object()


cdef object _spawner_tree_locals(object spawner):
    # As gevent: a greenlet shares its spawner's tree locals; the children
    # of a root (parentless, e.g. main) greenlet each start a new tree
    # (_NEW_TREE, for a caller that can make the dict later).
    if type(spawner) is _greenlet_type:
        # A plain greenlet (main, spawn_raw's): its type has no such name.
        tree_locals = _dict_attr(spawner, 'spawn_tree_locals')
    elif isinstance(spawner, Greenlet):
        return _tree_locals_of(<Greenlet>spawner)
    elif isinstance(spawner, HubBase):
        tree_locals = (<HubBase>spawner).spawn_tree_locals
        if tree_locals is None:
            tree_locals = (<HubBase>spawner).spawn_tree_locals = {}
        return tree_locals
    else:
        tree_locals = _instance_attr(spawner, 'spawn_tree_locals')
    if tree_locals is _NONE:
        if PyGreenlet_MAIN(<greenlet>spawner):
            return _NEW_TREE
        tree_locals = {}
        spawner.spawn_tree_locals = tree_locals
    return tree_locals


cdef inline object _tree_locals_of(Greenlet glet):
    if glet._tree_locals is _NEW_TREE:
        glet._tree_locals = {}
    return glet._tree_locals


cdef inline object _made_tree_locals(object tree_locals):
    return {} if tree_locals is _NEW_TREE else tree_locals


cdef int _track_tree(HubBase hub) except -1:
    cdef object spawner = <object>PyGreenlet_GetCurrent()
    hub.spawning_greenlet = PyWeakref_NewRef(spawner, None)
    hub.spawn_tree_locals = _made_tree_locals(_spawner_tree_locals(spawner))
    return 0


cdef int _track_spawn(Greenlet glet, int limit) except -1:
    # A weak reference without a callback is shared by all who ask for one:
    # spawning many greenlets from one makes it once.
    cdef object spawner = <object>PyGreenlet_GetCurrent()
    glet.spawning_greenlet = PyWeakref_NewRef(spawner, None)
    glet._tree_locals = _spawner_tree_locals(spawner)
    glet._spawning_stack = _spawning_stack_now(limit)
    return 0


# config.track_greenlet_tree, kept here: reading the setting costs more
# than the spawn it decides about. -1: not read yet (the environment is
# read when the first greenlet is made, as gevent does).
cdef int _track_tree_flag = -1


cdef inline bint _tracking_tree() except -1:
    global _track_tree_flag
    if _track_tree_flag < 0:
        _track_tree_flag = 1 if _config.track_greenlet_tree else 0
    return _track_tree_flag


def _on_track_greenlet_tree_set(value):
    global _track_tree_flag
    _track_tree_flag = 1 if value else 0

_config.settings['track_greenlet_tree'].on_set(_on_track_greenlet_tree_set)


cdef class Greenlet(greenlet):
    """A greenlet with a result, links, kill and join (gevent's ``Greenlet``).

    Subclass it and override ``_run``, or pass the function to run.
    """

    def __init__(self, run=None, *args, **kwargs):
        cdef HubBase hub = get_hub()
        PyGreenlet_SetParent(self, hub)
        if run is not None:
            self._run = run
        if self._run_callable is not None:
            if not callable(self._run_callable):
                raise TypeError('The run argument or self._run must be callable')
        elif not callable(getattr(self, '_run', None)):
            raise TypeError('The run argument or self._run must be callable')
        self.args = args
        self.kwargs = kwargs
        self.value = None
        self._start_event = None
        self._notifier = None
        self._formatted_info = None
        self._links = []
        self._ident = None
        self._exc_info = None
        if _tracking_tree():
            limit = 10 if type(self) is Greenlet else type(self).spawning_stack_limit
            _track_spawn(self, limit)

    #: How many frames ``spawning_stack`` keeps (a subclass may change it).
    spawning_stack_limit = 10

    @property
    def spawn_tree_locals(self):
        """The dict shared by the greenlets of this spawn tree (None when
        the tree is not tracked)."""
        return _tree_locals_of(self)

    @spawn_tree_locals.setter
    def spawn_tree_locals(self, value):
        if value is not None and not isinstance(value, dict):
            raise TypeError('Expected dict, got %s' % (type(value).__name__,))
        self._tree_locals = value

    @property
    def spawning_stack(self):
        """Where this greenlet was made: the innermost frame (``f_code``,
        ``f_lineno``, ``f_back``), as ``traceback`` reads frames."""
        st = self._spawning_stack
        if type(st) is _SpawnStack:
            st = self._spawning_stack = (<_SpawnStack>st)._frames()
        return st

    @property
    def _run(self):
        if self._run_callable is None:
            # As gevent's Greenlet._run: a subclass overrides it, and a
            # Greenlet made without one runs this and returns None.
            return PyMethod_New(_default_run, self)
        return self._run_callable

    @_run.setter
    def _run(self, value):
        self._run_callable = value

    @_run.deleter
    def _run(self):
        self._run_callable = None

    @property
    def loop(self):
        return self.parent.loop

    @property
    def minimal_ident(self):
        # Unique among the greenlets of our hub (gevent: of the parent,
        # which must be a hub: anything else raises TypeError).
        if self._ident is None:
            self._ident = (<HubBase?>self.parent).ident_registry.get_ident(self)
        return self._ident

    @property
    def name(self):
        name = self.__dict__.get('name')
        if name is None:
            return 'Greenlet-%d' % (self.minimal_ident,)
        return name

    @name.setter
    def name(self, value):
        self.__dict__['name'] = value

    def __bool__(self):
        return self._start_event is not None and self._exc_info is None

    cdef bint _dead(self):
        if self._start_event is _cancelled_start_event:
            return True
        if self._start_event is not None and self._start_event is not _start_completed_event \
                and not _event_pending(self._start_event):
            # Started but its start was stopped before it ran; or running,
            # between its start callback and run() (a switch tracer sees
            # that moment).
            return PyGreenlet_GetCurrent() is not self
        return PyGreenlet_STARTED(self) and not PyGreenlet_ACTIVE(self)

    @property
    def dead(self):
        return self._dead()

    @property
    def started(self):
        return bool(self)

    cpdef bint ready(self):
        return self._exc_info is not None or self._dead()

    cpdef bint successful(self):
        return self._exc_info is not None and self._exc_info[1] is None

    @property
    def exception(self):
        return self._exc_info[1] if self._exc_info is not None else None

    @property
    def exc_info(self):
        ei = self._exc_info
        if ei is not None and ei[0] is not None:
            return (ei[0], ei[1], ei[2])
        return None

    def __repr__(self):
        classname = type(self).__name__
        # As gevent: the name shows once assigned or once minimal_ident
        # was made (making one just for the repr would cost a weakref).
        if self._ident is None and 'name' not in self.__dict__:
            result = '<%s at %s' % (classname, hex(id(self)))
        else:
            result = '<%s "%s" at %s' % (classname, self.name, hex(id(self)))
        formatted = self._formatinfo()
        if formatted:
            result += ': ' + formatted
        return result + '>'

    def _formatinfo(self):
        info = self._formatted_info
        if info is not None:
            return info
        try:
            func = self._run
        except AttributeError:
            return ''
        im_self = getattr(func, '__self__', None)
        if im_self is self:
            funcname = '_run'
        elif im_self is not None:
            funcname = repr(func)
        else:
            funcname = getattr(func, '__name__', '') or repr(func)
        result = funcname
        args = []
        if self.args:
            args = [repr(x)[:50] for x in self.args]
        if self.kwargs:
            args.extend(['%s=%s' % (key, repr(value)[:50]) for (key, value) in self.kwargs.items()])
        if args:
            result += '(' + ', '.join(args) + ')'
        self._formatted_info = result
        return result

    # -- starting ----------------------------------------------------------------

    cpdef start(self):
        """Schedule the greenlet to run in the hub's next turn."""
        cdef HubBase hub
        if self._start_event is None:
            if _spawn_callbacks:
                _call_spawn_callbacks(self)
            hub = <HubBase?>self.parent
            if hub._cloop is not None:
                self._start_event = hub._cloop.run_switch(self, ())
            else:
                self._start_event = hub._loop.run_callback(self.switch)

    def start_later(self, seconds):
        """Schedule the greenlet to run after *seconds*."""
        if self._start_event is None:
            if _spawn_callbacks:
                _call_spawn_callbacks(self)
            t = (<HubBase?>self.parent).loop.timer(seconds)
            t.start(self.switch)
            self._start_event = t

    @classmethod
    def spawn(cls, *args, **kwargs):
        """Create a greenlet of this class and start it."""
        g = cls(*args, **kwargs)
        (<Greenlet>g).start()
        return g

    @classmethod
    def spawn_later(cls, seconds, *args, **kwargs):
        """Create a greenlet of this class and start it after *seconds*."""
        g = cls(*args, **kwargs)
        g.start_later(seconds)
        return g

    cdef int _cancel_start(self) except -1:
        if self._start_event is None:
            self._start_event = _cancelled_start_event
        ev = self._start_event
        if type(ev) is core_callback:
            (<core_callback>ev).stop()
        elif ev is not _cancelled_start_event and ev is not _start_completed_event:
            ev.stop()
            ev.close()
        return 0

    # -- running -----------------------------------------------------------------

    def run(self):
        self._start_event = _start_completed_event
        try:
            try:
                if self._run_callable is not None and type(self) is Greenlet:
                    result = self._run_callable(*self.args, **self.kwargs)
                else:
                    result = self._run(*self.args, **self.kwargs)
            except BaseException:
                self._report_error(_sys.exc_info())
                return
            self._report_result(result)
        finally:
            self._run_callable = None
            self.__dict__.pop('_run', None)
            self.args = ()
            self.kwargs = None

    cdef int _report_result(self, result) except -1:
        self._exc_info = (None, None, None)
        self.value = result
        self._schedule_notify()
        return 0

    cdef int _report_error(self, exc_info) except -1:
        if isinstance(exc_info[1], GreenletExit):
            self._report_result(exc_info[1])
            return 0
        self._exc_info = (exc_info[0], exc_info[1], exc_info[2])
        self._schedule_notify()
        try:
            self.parent.handle_error(self, *exc_info)
        finally:
            del exc_info
        return 0

    cdef int _schedule_notify(self) except -1:
        if self._links and self._notifier is None:
            self._notifier = _hub_run_callback(<HubBase?>self.parent, self._notify_links, ())
        return 0

    def _notify_links(self):
        while self._links:
            link = self._links.pop(0)
            try:
                link(self)
            except BaseException:
                self.parent.handle_error((link, self), *_sys.exc_info())
        self._notifier = None

    # -- links -------------------------------------------------------------------

    cpdef rawlink(self, callback):
        """Call ``callback(self)`` in the hub when this greenlet finishes."""
        if not callable(callback):
            raise TypeError('Expected callable: %r' % (callback,))
        self._links.append(callback)
        if self.ready() and self._links and self._notifier is None:
            self._notifier = _hub_run_callback(<HubBase?>self.parent, self._notify_links, ())

    def link(self, callback=None, SpawnedLink=SpawnedLink):
        """Run ``callback(self)`` in a new greenlet when this one finishes.

        With no callback (the 0.13 spelling), raise a ``LinkedExited``
        subclass in the current greenlet instead."""
        if callback is None:
            callback = _GreenletLink(getcurrent(), 0)
        elif isinstance(callback, _greenlet_type) and not isinstance(callback, Greenlet):
            callback = _GreenletLink(callback, 0)
        else:
            callback = SpawnedLink(callback)
        self.rawlink(callback)

    def link_value(self, callback=None, SpawnedLink=SuccessSpawnedLink):
        """Like link(), but only when the greenlet succeeded."""
        if callback is None:
            self.rawlink(_GreenletLink(getcurrent(), 1))
        else:
            self.link(callback, SpawnedLink=SpawnedLink)

    def link_exception(self, callback=None, SpawnedLink=FailureSpawnedLink):
        """Like link(), but only when the greenlet failed."""
        if callback is None:
            self.rawlink(_GreenletLink(getcurrent(), 2))
        else:
            self.link(callback, SpawnedLink=SpawnedLink)

    cpdef unlink(self, callback):
        try:
            self._links.remove(callback)
        except ValueError:
            pass

    def unlink_all(self):
        del self._links[:]

    def has_links(self):
        return len(self._links)

    # -- waiting -----------------------------------------------------------------

    cpdef join(self, timeout=None):
        """Wait until the greenlet finishes or *timeout* passes."""
        if self.ready():
            return
        switch = getcurrent().switch
        self.rawlink(switch)
        try:
            t = _start_new_or_dummy(timeout)
            try:
                result = (<HubBase?>self.parent).switch_c()
                if result is not self:
                    raise InvalidSwitchError('Invalid switch into Greenlet.join(): %r' % (result,))
            finally:
                t.cancel()
        except Timeout as ex:
            self.unlink(switch)
            if ex is not t:
                raise
        except BaseException:
            self.unlink(switch)
            raise

    def get(self, block=True, timeout=None):
        """Return the result, or raise the greenlet's exception; wait if *block*."""
        if self.ready():
            if self.successful():
                return self.value
            self._raise_exception()
        if not block:
            raise Timeout()
        switch = getcurrent().switch
        self.rawlink(switch)
        try:
            t = Timeout._start_new_or_dummy(timeout)
            try:
                result = (<HubBase?>self.parent).switch_c()
                if result is not self:
                    raise InvalidSwitchError('Invalid switch into Greenlet.get(): %r' % (result,))
            finally:
                t.cancel()
        except BaseException:
            self.unlink(switch)
            raise
        if self.ready():
            if self.successful():
                return self.value
            self._raise_exception()

    def _raise_exception(self):
        t, v, tb = self._exc_info
        if v is None:
            v = t()
        raise v.with_traceback(tb)

    # -- killing -----------------------------------------------------------------

    cdef int _handle_death_before_start(self, tuple args) except -1:
        if self._exc_info is None and self._dead():
            if len(args) == 1:
                arg = args[0]
                if isinstance(arg, type) and issubclass(arg, BaseException):
                    args = (arg, arg(), None)
                else:
                    args = (type(arg), arg, None)
            elif not args:
                args = (GreenletExit, GreenletExit(), None)
            if not issubclass(args[0], BaseException):
                args = (BaseException, BaseException(args), None)
            self._report_error(args)
        return 0

    cpdef bint _maybe_kill_before_start(self, exception) except -1:
        self._cancel_start()
        if self._dead():
            if isinstance(exception, tuple) and len(exception) == 3:
                self._handle_death_before_start(exception)
            else:
                self._handle_death_before_start((exception,))
            return True
        return False

    def throw(self, *args):
        """Raise in the greenlet now; if it never started it is marked dead."""
        self._cancel_start()
        try:
            if not self._dead():
                greenlet.throw(self, *args)
        finally:
            self._handle_death_before_start(args)

    def kill(self, exception=GreenletExit, block=True, timeout=None):
        """Raise *exception* in the greenlet; wait for it to die if *block*."""
        cdef Waiter waiter
        if not self._maybe_kill_before_start(exception):
            if self.ready():
                return
            waiter = Waiter(self.parent) if block else None
            _hub_run_callback(<HubBase?>self.parent, _kill, (self, exception, waiter))
            if block:
                waiter.get()
                self.join(timeout)

    def __enter__(self):
        return self

    def __exit__(self, t, v, tb):
        if t is None:
            try:
                self.join()
            finally:
                self.kill()
        else:
            self.kill((t, v, tb))

    @classmethod
    def add_spawn_callback(cls, callback):
        _spawn_callbacks.add(callback)

    @classmethod
    def remove_spawn_callback(cls, callback):
        _spawn_callbacks.discard(callback)


cdef set _spawn_callbacks = set()


cdef int _call_spawn_callbacks(object glet) except -1:
    for cb in list(_spawn_callbacks):
        cb(glet)
    return 0


cdef bint _event_pending(object ev):
    if type(ev) is core_callback:
        return (<core_callback>ev).callback is not None
    return bool(getattr(ev, 'pending', False) or getattr(ev, 'active', False))


def _kill(glet, exception, waiter):
    try:
        if isinstance(exception, tuple) and len(exception) == 3:
            glet.throw(*exception)
        else:
            glet.throw(exception)
    except BaseException:
        glet.parent.handle_error(glet, *_sys.exc_info())
    if waiter is not None:
        waiter.switch(None)


cpdef Greenlet spawn_c(object func, tuple args, dict kwargs):
    cdef Greenlet g = Greenlet.__new__(Greenlet)
    cdef HubBase hub = get_hub()
    if not callable(func):
        raise TypeError('The run argument or self._run must be callable')
    PyGreenlet_SetParent(g, hub)
    g._run_callable = func
    g.args = args
    g.kwargs = kwargs
    g._links = []
    if _tracking_tree():
        _track_spawn(g, 10)
    if _spawn_callbacks:
        _call_spawn_callbacks(g)
    if hub._cloop is not None:
        g._start_event = hub._cloop.run_switch(g, ())
    else:
        g._start_event = hub._loop.run_callback(g.switch)
    return g


def spawn(function, *args, **kwargs):
    """Create a Greenlet running ``function(*args, **kwargs)`` and start it."""
    return spawn_c(function, args, kwargs)


def spawn_later(seconds, function, *args, **kwargs):
    return Greenlet.spawn_later(seconds, function, *args, **kwargs)


def spawn_raw(function, *args, **kwargs):
    """Start a plain greenlet (no links, no result) in the hub's next turn."""
    if not callable(function):
        raise TypeError('function must be callable')
    hub = get_hub()
    if kwargs:
        import functools
        function = functools.partial(function, *args, **kwargs)
        args = ()
    if _tracking_tree():
        g = TrackedRawGreenlet(function, hub)
    else:
        g = _greenlet_type(function, hub)
    hub.loop.run_callback(g.switch, *args)
    g.loop = hub.loop
    return g


cdef class TrackedRawGreenlet(greenlet):
    """A plain greenlet in the spawn tree: ``spawning_greenlet`` and
    ``spawn_tree_locals``, but no ``spawning_stack`` (too costly for
    ``spawn_raw``), as gevent's."""

    def __init__(self, function, parent):
        greenlet.__init__(self, function, parent)
        spawner = <object>PyGreenlet_GetCurrent()
        self.spawning_greenlet = PyWeakref_NewRef(spawner, None)
        self.spawn_tree_locals = _made_tree_locals(_spawner_tree_locals(spawner))


def spawn_link(function, *args, **kwargs):
    """0.13 API: spawn and raise LinkedExited here when it finishes."""
    g = spawn(function, *args, **kwargs)
    g.link()
    return g


def spawn_link_value(function, *args, **kwargs):
    g = spawn(function, *args, **kwargs)
    g.link_value()
    return g


def spawn_link_exception(function, *args, **kwargs):
    g = spawn(function, *args, **kwargs)
    g.link_exception()
    return g


# -- sleeping and waiting ------------------------------------------------------

def sleep(seconds=0, ref=True):
    """Pause the current greenlet; ``sleep(0)`` just lets the others run."""
    cdef HubBase hub = get_hub()
    cdef loop lp = hub._cloop
    cdef double secs
    cdef core_callback cb
    try:
        secs = seconds
    except TypeError:
        raise TypeError('a float is required, not %r' % (type(seconds).__name__,))
    if lp is None:
        return _sleep_any_loop(hub, secs, ref)
    if secs <= 0 or secs != secs:
        if secs != secs:
            raise ValueError('sleep length must not be NaN')
        glet = <object>PyGreenlet_GetCurrent()
        if glet is hub:
            raise BlockingSwitchOutError('Impossible to call blocking function in the event loop callback')
        cb = lp.run_switch(glet, ())
        try:
            hub.switch_c()
        except BaseException:
            cb.stop()
            raise
    else:
        t = core_timer(lp, secs, 0.0, ref)
        try:
            # As gevent's: a sleep is measured from now, not from the loop's
            # cached time (the time of its last poll).
            lp.update_now()
            hub.wait(t)
        finally:
            t.close()


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
        t = Timeout._start_new_or_dummy(timeout)
        try:
            alive = waiter.get()
            if alive:
                joinall(alive, raise_error=False)
        finally:
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
                    _traceback.print_exc()
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

include "_locks.pxi"
