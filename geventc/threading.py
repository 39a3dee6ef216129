"""Greenlet-based pieces of the standard :mod:`threading` (gevent.threading).

A helper for ``monkey.patch_thread``: its ``__implements__`` replace
``threading``'s names, so a ``threading.Thread`` runs as a greenlet, locks
are geventc's, and a greenlet that ``threading`` did not start appears as
a cheap :class:`_DummyThread`. Application code should spawn greenlets
directly. Importing this module changes nothing in ``threading``: the
main thread's bookkeeping is adjusted only when patching (see
``_gevent_will_monkey_patch``).
"""
import os
import sys

import threading as __threading__

from geventc._hub import sleep as _sleep, getcurrent
from geventc.local import local
from geventc.lock import RLock
from geventc.thread import (
    allocate_lock as _allocate_lock,
    get_ident as _get_ident,
    start_new_thread as _start_new_thread,
    start_joinable_thread,
    _ThreadHandle,
    _make_thread_handle,
)

PY313 = sys.version_info[:2] >= (3, 13)

# The stdlib's classes, before anything replaces them.
_DummyThread_ = __threading__._DummyThread
_MainThread_ = __threading__._MainThread

__implements__ = ['local', '_allocate_lock', 'Lock', '_DummyThread']
if PY313:
    __implements__ += ['_start_joinable_thread', '_ThreadHandle', '_make_thread_handle']
else:
    __implements__ += ['_start_new_thread']
__implements__ += ['Thread', 'Timer']
__implements__ += ['_set_sentinel'] if not PY313 else []
__implements__ += ['get_ident']
if hasattr(__threading__, '_CRLock'):
    __implements__ += ['_CRLock']

#: Names this module offers beyond what it patches into ``threading``.
__extensions__ = ['_set_sentinel'] if PY313 else []

start_new_thread = _start_new_thread
_start_joinable_thread = start_joinable_thread
allocate_lock = _allocate_lock
Lock = _allocate_lock
get_ident = _get_ident
# The thread-state sentinel ``Thread.join`` waits on must be a greenlet
# lock: greenlets never get the interpreter's end-of-thread release.
_set_sentinel = _allocate_lock
# None makes threading.RLock() fall back to its Python implementation,
# which is built from the (patched) _allocate_lock and get_ident; the C
# RLock would bypass both.
_CRLock = None


def main_native_thread():
    """The ``threading`` object of the process's main native thread."""
    return __threading__.main_thread()


def _forget_greenlet(glet):
    __threading__._active.pop(_get_ident(glet), None)


def _forget_ident_callback(ident):
    def forget(_ref):
        __threading__._active.pop(ident, None)
    return forget


# Python 3.11.8+/3.12.2+ turn the current _DummyThread into a _MainThread
# in the fork child; ours lacks the instance state a _MainThread needs, so
# that swap is refused and the fork hooks below install a real one.
_REFUSES_MAIN_THREAD_SWAP = (
    (sys.version_info[:2] == (3, 11) and sys.version_info[:3] >= (3, 11, 8))
    or sys.version_info[:3] >= (3, 12, 2))


def _stdlib_handle_attribute():
    # 3.13 keeps a ``_handle`` on each Thread (3.14: ``_os_thread_handle``).
    main = __threading__.main_thread()
    for name in ('_handle', '_os_thread_handle'):
        if hasattr(main, name):
            return name
    return None


class _DummyThread(_DummyThread_):
    """What ``threading.current_thread()`` returns in a greenlet that
    ``threading`` did not start.

    Made for every such greenlet that asks (logging asks on every record),
    so the stdlib constructor, which allocates locks and an Event, is not
    run: the state it would set is shared class data, and the instance
    only gets its name and ident. Its ``threading._active`` entry goes away
    with its greenlet.
    """

    _is_stopped = _stopped = False
    _initialized = True
    _daemonic = True
    _args = ()
    _kwargs = None
    _target = None
    _ident = None
    _tstate_lock = None
    _started = __threading__.Event()
    _started.set()

    #: Which stdlib attribute holds a thread handle (None before 3.13).
    _G_HANDLE_NAME = _stdlib_handle_attribute()
    _NEEDS_CLASS_FORK_FIXUP = _REFUSES_MAIN_THREAD_SWAP

    def __init__(self):  # pylint:disable=super-init-not-called
        # Third-party code recognises dummy threads by this name pattern.
        self._name = __threading__._newname('Dummy-%d')
        self._set_ident()
        # Private name, reached through the stdlib's attribute name when it
        # has one (_G_HANDLE_NAME); the fork hooks rely on it being set.
        self._DummyThread__ghandle = _make_thread_handle(self._ident)
        try:
            self._native_id = __threading__.get_native_id()
        except AttributeError:
            pass
        glet = getcurrent()
        ident = _get_ident(glet)
        __threading__._active[ident] = self
        rawlink = getattr(glet, 'rawlink', None)
        if rawlink is not None:
            rawlink(_forget_greenlet)
        else:
            # Raw greenlets cannot be linked: a weak reference notices the end.
            import weakref
            self._DummyThread__raw_ref = weakref.ref(glet, _forget_ident_callback(ident))

    def _stop(self):
        pass

    def _wait_for_tstate_lock(self, *args, **kwargs):
        pass

    if _REFUSES_MAIN_THREAD_SWAP:
        @property
        def __class__(self):
            return type(self)

        @__class__.setter
        def __class__(self, new_class):
            if new_class is not _MainThread_:
                object.__dict__['__class__'].__set__(self, new_class)


if _DummyThread._G_HANDLE_NAME is not None:
    # Assignable and deletable, as the stdlib attribute is.
    setattr(_DummyThread, _DummyThread._G_HANDLE_NAME, property(
        lambda self: self._DummyThread__ghandle,
        lambda self, value: setattr(self, '_DummyThread__ghandle', value),
        lambda self: delattr(self, '_DummyThread__ghandle')))


class Thread(__threading__.Thread):
    """``threading.Thread`` whose end is noticed when its greenlet ends.

    A real thread's sentinel lock is released by the interpreter when the
    thread state goes away; a greenlet has no thread state, so a link on
    the greenlet releases it (and ``join()`` returns)."""

    if not PY313:
        def _set_tstate_lock(self):
            super(Thread, self)._set_tstate_lock()
            getcurrent().rawlink(self.__greenlet_finished)

    def __greenlet_finished(self, _glet):
        lock = self._tstate_lock
        if lock is not None:
            lock.release()
            self._stop()


class Timer(Thread, __threading__.Timer):  # pylint:disable=abstract-method
    """``threading.Timer`` running as a greenlet."""


class _ForkHooks(object):
    """After ``os.fork()`` in a patched process, the child's only thread is
    the greenlet that forked: make it a real ``_MainThread`` (the stdlib
    would keep a _DummyThread, or swap its class) and mark the other
    greenlet-threads finished."""

    _registered = False
    _before_fork_active = None
    _before_fork_current_thread = None
    _before_fork_ident = None

    def register(self):
        # Once per process, however many times patching runs.
        if not self._registered and hasattr(os, 'register_at_fork'):
            os.register_at_fork(before=self.before_fork_in_parent,
                                after_in_child=self.after_fork_in_child)
            self._registered = True

    def before_fork_in_parent(self):
        self._before_fork_active = dict(__threading__._active)
        self._before_fork_current_thread = __threading__.current_thread()
        self._before_fork_ident = get_ident()

    def _mark_others_done(self):
        # 3.13+ joins through handles; before that the stdlib's own
        # _after_fork already stopped them.
        if _DummyThread._G_HANDLE_NAME is None:
            return
        current = get_ident()
        for ident, thread in self._before_fork_active.items():
            if ident == current:
                continue
            handle = getattr(thread, '_DummyThread__ghandle', None)
            if handle is None:
                handle = getattr(thread, _DummyThread._G_HANDLE_NAME)
            # No trip to the hub in the middle of a fork.
            handle._set_done(enter_hub=False)

    def after_fork_in_child(self):
        # Runs after threading's own _after_fork (registered earlier).
        self._mark_others_done()
        main = __threading__._MainThread()
        main._ident = get_ident()
        __threading__._active[__threading__.get_ident()] = main
        __threading__._main_thread = main


_fork_hooks = _ForkHooks()


def _gevent_will_monkey_patch(native_module, items, warn):  # pylint:disable=unused-argument
    # The main thread must be found under the main greenlet's ident, or
    # current_thread() there would make an unjoinable _DummyThread.
    main_thread = main_native_thread()
    if __threading__.current_thread() != main_thread:
        warn('Monkey-patching outside the main native thread. Some APIs '
             'will not be available. Expect a KeyError to be printed at shutdown.')
        return
    ident = _get_ident()
    if ident not in __threading__._active:
        del __threading__._active[main_thread.ident]
        main_thread._ident = ident
        __threading__._active[ident] = main_thread
    _fork_hooks.register()
