"""What ``geventc.monkey.patch_thread`` does (gevent's thread patcher for
Python before 3.13).

Patches ``_thread`` with :mod:`geventc.thread` and ``threading`` with
:mod:`geventc.threading`, then repairs the state ``threading`` built before
it was patched: the main thread's ident and exit (``threading._shutdown``),
locks already created or held, logging's locks, threads already running.
"""
import sys

from geventc.monkey import (
    _notify_patch, _patch_module, _queue_warning, is_object_patched, patch_item,
)

__all__ = ['patch_thread']

_NOT_MAIN_THREAD_WARNING = ("Monkey-patching not on the main thread; "
                            "threading.main_thread().join() will hang from a greenlet")


def patch_thread(threading=True, _threading_local=True, Event=True, logging=True,
                 existing_locks=True, _warnings=None):
    """Make ``_thread`` (and, with *threading*, ``threading``) greenlet-based.

    *_threading_local*: also ``_threading_local.local``; *Event*: also
    ``threading.Event``; *logging*: re-make the locks of an already
    imported ``logging``; *existing_locks*: while the process has one
    thread, make held locks releasable by the main greenlet and replace
    internal locks that would block the only native thread."""
    if sys.version_info[:2] >= (3, 13):
        raise NotImplementedError('geventc patches threads on Python < 3.13 only')
    _ThreadPatcher(threading, _threading_local, Event, logging, existing_locks, _warnings).run()


class _ThreadPatcher(object):

    def __init__(self, threading, threading_local, event, logging, existing_locks, warnings):
        self.patch_threading = threading
        self.patch_threading_local = threading_local
        self.patch_event = event
        self.patch_logging = logging
        self.patch_existing_locks = existing_locks
        self.warnings = warnings
        self.geventc_threading = None

    def run(self):
        # threading copies _thread's functions when first imported: import
        # it before _thread is patched so the originals are what it saved.
        import threading
        self.threading = threading
        # Taken before current_thread() can start answering with dummies.
        self.orig_current_thread = threading.current_thread()
        self.main_thread = threading.main_thread()
        self.orig_shutdown = threading._shutdown

        geventc_thread, thread_mod = _patch_module(
            'thread', _warnings=self.warnings, _notify_did_subscribers=False)
        if self.patch_threading:
            self._patch_threading()
        if self.patch_threading_local:
            self._patch_threading_local()
        if self.patch_threading:
            self._patch_running_threads_join()
        self._patch_shutdown()

        from geventc import events
        _notify_patch(events.GeventDidPatchModuleEvent('thread', geventc_thread, thread_mod))
        if self.geventc_threading is not None:
            _notify_patch(events.GeventDidPatchModuleEvent(
                'threading', self.geventc_threading, threading))

    # -- threading and what depends on it ------------------------------------

    def _patch_threading(self):
        self.geventc_threading, _ = _patch_module(
            'threading', _warnings=self.warnings, _notify_did_subscribers=False)
        if self.patch_event:
            from geventc.event import Event
            patch_item(self.threading, 'Event', Event)
        if self.patch_existing_locks:
            _replace_existing_locks(self.threading)
        if self.patch_logging and 'logging' in sys.modules:
            _replace_logging_locks(sys.modules['logging'], self.threading)

    def _patch_threading_local(self):
        import _threading_local
        from geventc.local import local
        patch_item(_threading_local, 'local', local)

    def _patch_running_threads_join(self):
        # Native threads started before patching end by native means, not a
        # greenlet link: their join() polls, cooperatively.
        from geventc.threading import main_native_thread
        main = main_native_thread()
        for thread in list(self.threading._active.values()):
            if thread is not main:
                thread.join = _polling_join(thread, self.threading)
                if not isinstance(thread, self.threading._DummyThread):
                    thread._delete = _native_delete(thread, self.threading)

    # -- exit ----------------------------------------------------------------

    def _patch_shutdown(self):
        if is_object_patched('threading', '_shutdown'):
            return
        if self.orig_current_thread == self.threading.main_thread():
            self._patch_shutdown_on_main_thread()
            self._fix_main_thread_ident()
        else:
            self._patch_shutdown_off_main_thread()

    def _patch_shutdown_on_main_thread(self):
        # Greenlets may join() the main thread, so until exit its sentinel
        # is a greenlet lock; the interpreter's native one (which it also
        # holds in C) is put back for the stdlib's _shutdown.
        import greenlet
        from geventc._hub import sleep, get_hub
        from geventc.exceptions import LoopExit
        threading, main_thread, orig_shutdown = self.threading, self.main_thread, self.orig_shutdown
        main_greenlet = main_thread._greenlet = greenlet.getcurrent()
        main_thread._gevent_real_tstate_lock = main_thread._tstate_lock
        main_thread._tstate_lock = threading.Lock()
        main_thread._tstate_lock.acquire()

        def _shutdown():
            if main_thread._tstate_lock is None:
                return
            # Wake the greenlets joining the main thread, and let them run.
            main_thread._tstate_lock.release()
            try:
                sleep()
            except:  # noqa: E722 pylint:disable=bare-except
                # A greenlet killed or threw into the main greenlet: nowhere
                # else for it to go.
                get_hub().print_exception(main_greenlet, *sys.exc_info())
            # A joiner's join() marked the main thread stopped; the stdlib
            # _shutdown expects it still running, with its native lock held.
            main_thread._is_stopped = False
            main_thread._tstate_lock = main_thread._gevent_real_tstate_lock
            main_thread._gevent_real_tstate_lock = None
            try:
                # Joins the non-daemon greenlet-threads (cooperatively).
                orig_shutdown()
            except LoopExit:
                # Those left can never finish: nothing else will run.
                pass
            patch_item(threading, '_shutdown', orig_shutdown)

        patch_item(threading, '_shutdown', _shutdown)

    def _fix_main_thread_ident(self):
        threading, main_thread = self.threading, self.main_thread
        # The patched _shutdown and the main thread refer to each other;
        # keep the main thread out of the leak report that uses _dangling.
        threading._dangling.discard(main_thread)
        old_ident = main_thread.ident
        main_thread._ident = threading.get_ident()
        if old_ident != main_thread.ident and old_ident in threading._active:
            threading._active[main_thread.ident] = threading._active.pop(old_ident)

    def _patch_shutdown_off_main_thread(self):
        from geventc.exceptions import LoopExit
        _queue_warning(_NOT_MAIN_THREAD_WARNING, self.warnings)
        threading, main_thread, orig_shutdown = self.threading, self.main_thread, self.orig_shutdown
        get_ident = threading.get_ident

        def _shutdown():
            # The stdlib stops the main thread object (and releases its
            # shutdown lock, else exit hangs) only when its ident is the
            # caller's, which after patching is a greenlet's.
            main_thread._ident = get_ident()
            try:
                orig_shutdown()
            except LoopExit:
                pass
            patch_item(threading, '_shutdown', orig_shutdown)

        patch_item(threading, '_shutdown', _shutdown)


def _polling_join(thread, threading):
    def join(timeout=None):
        if threading.current_thread() is thread:
            raise RuntimeError('Cannot join current thread')
        from geventc.thread import _poll_until
        _poll_until(lambda: not thread.is_alive(), timeout, interval=0.01)
    return join


def _native_delete(thread, threading):
    # The stdlib's _delete looks the ending thread up by get_ident(), which
    # in a native thread now answers with its greenlet's id: use the ident
    # it registered under (gevent prints a KeyError here).
    def _delete():
        with threading._active_limbo_lock:
            threading._active.pop(thread._ident, None)
    return _delete


def _replace_existing_locks(threading):
    """With one thread running, locks made before patching can be swapped
    or re-owned safely; with more, another thread may hold them."""
    if len(threading.enumerate()) != 1:
        return
    _replace_global_shutdown_lock(threading)
    # Taken around every thread start and stop; a native one held across a
    # greenlet switch would block the only native thread.
    threading._active_limbo_lock = threading._allocate_lock()
    _reown_held_locks(threading)


def _replace_global_shutdown_lock(threading):
    # concurrent.futures.thread registers its _global_shutdown_lock's
    # acquire/release as fork handlers, and submit() holds it across
    # Thread.start(), where greenlets switch: a greenlet forking meanwhile
    # would block (native lock) or switch inside fork() (ours). The handlers
    # keep the registered lock; the module gets a fresh one, so the
    # registered one is never contended. Imported now because after
    # patching is when applications import it.
    import concurrent.futures.thread as cf_thread
    if hasattr(cf_thread, '_global_shutdown_lock'):
        cf_thread._global_shutdown_lock = threading._allocate_lock()


def _reown_held_locks(threading):
    # Locks held by the (only) native thread record its native ident as
    # owner; the main greenlet now has another ident and must be able to
    # release them. C RLocks are invisible to gc and keep the native ident,
    # which their C code also uses, so they need nothing.
    import gc
    ident = threading.get_ident()
    py_rlock = type(threading.RLock())
    try:
        from importlib._bootstrap import _ModuleLock
    except ImportError:  # pragma: no cover
        _ModuleLock = ()
    for obj in gc.get_objects():
        if isinstance(obj, py_rlock):
            if obj._owner is not None:
                obj._owner = ident
        elif isinstance(obj, _ModuleLock):
            if obj.owner is not None:
                obj.owner = ident


def _replace_logging_locks(logging, threading):
    patch_item(logging, '_lock', threading.RLock())
    for ref in logging._handlerList:
        handler = ref()
        if handler is None:
            continue
        if not hasattr(handler, 'lock'):
            raise TypeError('Unknown/unsupported handler %r' % (handler,))
        handler.lock = threading.RLock()
