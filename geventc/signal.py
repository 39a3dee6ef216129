"""Cooperative signal handling (gevent.signal).

:func:`signal` and :func:`getsignal` are the stdlib's, except for
``SIGCHLD``: a handler installed through them runs in a greenlet of its own
when the signal arrives (gevent's rule), so it may block cooperatively,
for instance in :func:`geventc.os.waitpid`; an exception it raises is
reported and does not reach the code the signal interrupted. The kernel
still delivers the signal (geventc watches children through pidfds, not a
``SIGCHLD`` handler), so the handler runs for every child, also those
geventc does not watch, and ``set_wakeup_fd`` sees the signal as usual.

This module object is also callable: ``geventc.signal(SIGNUM, handler)`` is
the pre-1.0 spelling of ``geventc.signal_handler``, which the gevent articles
use and modern gevent dropped.
"""
import signal as _signal
import sys as _sys
import types as _types

from geventc._hub import Greenlet as _Greenlet, _get_hub, signal_handler as _signal_handler

__implements__ = []
__extensions__ = []

# The originals, also once these functions are patched into signal.
_signal_signal = _signal.signal
_signal_getsignal = _signal.getsignal
_signal_set_wakeup_fd = _signal.set_wakeup_fd
_SIGCHLD = getattr(_signal, 'SIGCHLD', None)

#: The SIGCHLD handler as the application set it (SIG_DFL, SIG_IGN or a
#: callable), when it is not the one Python has (see _run_child_handler).
_child_handler = None


def _run_child_handler(signum, frame):
    # Python calls this in the main thread between two bytecodes, perhaps in
    # the hub or inside a greenlet switch: start the application's handler in
    # a new greenlet instead of running it here (gevent passes no frame).
    # Without a hub (none yet, or this interrupted the making of it) nothing
    # cooperative can be waiting: run it here, as the stdlib would, rather
    # than make a hub from inside a signal handler.
    handler = _child_handler
    if not callable(handler):
        return
    if _get_hub() is None:
        handler(signum, None)
    else:
        _Greenlet.spawn(handler, signum, None)


def getsignal(signalnum):
    """``signal.getsignal``; for ``SIGCHLD``, the handler given to :func:`signal`."""
    current = _signal_getsignal(signalnum)
    if signalnum == _SIGCHLD and current is _run_child_handler:
        return _child_handler
    return current


def signal(signalnum, handler):
    """``signal.signal``, returning the old handler; a ``SIGCHLD`` handler
    runs in a greenlet of its own (see the module's notes)."""
    if signalnum != _SIGCHLD:
        return _signal_signal(signalnum, handler)
    if handler not in (_signal.SIG_IGN, _signal.SIG_DFL) and not callable(handler):
        raise TypeError('signal handler must be signal.SIG_IGN, signal.SIG_DFL, or a callable object')
    global _child_handler
    old = getsignal(signalnum)
    if handler in (_signal.SIG_IGN, _signal.SIG_DFL):
        _signal_signal(signalnum, handler)
        _child_handler = None
    else:
        _signal_signal(signalnum, _run_child_handler)
        _child_handler = handler
    return old


def set_wakeup_fd(fd, /, *, warn_on_full_buffer=True):
    """``signal.set_wakeup_fd``. Note that the hub's loop uses the wakeup fd
    to run Python signal handlers promptly; an application taking it over
    makes them run at the loop's next turn instead."""
    return _signal_set_wakeup_fd(fd, warn_on_full_buffer=warn_on_full_buffer)


_names = ['signal', 'getsignal', 'set_wakeup_fd']
if _SIGCHLD is not None:
    from geventc import os as _gos
    if 'waitpid' in _gos.__implements__:
        __implements__ += _names
    else:
        __extensions__ += _names
    del _gos
else:  # pragma: no cover - not POSIX
    __extensions__ += _names
del _names


def _copy_signal_names():
    g = globals()
    for name in dir(_signal):
        if not name.startswith('__') and name not in g:
            g[name] = getattr(_signal, name)


_copy_signal_names()
del _copy_signal_names

__all__ = __implements__ + __extensions__


class _CallableModule(_types.ModuleType):
    def __call__(self, signalnum, handler, *args, **kwargs):
        return _signal_handler(signalnum, handler, *args, **kwargs)


def _make_callable():
    # Only as the module is imported: this source may also run in other
    # globals (gevent's test__execmodules exec()s every module's source).
    module = _sys.modules.get(__name__)
    if module is not None and vars(module) is globals():
        module.__class__ = _CallableModule


_make_callable()
del _make_callable
