"""Cooperative signal handling (gevent.signal).

This module object is also callable: ``geventc.signal(SIGNUM, handler)`` is
the pre-1.0 spelling of ``geventc.signal_handler``, which the gevent articles
use and modern gevent dropped.
"""
import signal as _signal
import sys as _sys
import types as _types

from geventc._hub import signal_handler as _signal_handler

getsignal = _signal.getsignal
set_wakeup_fd = _signal.set_wakeup_fd


def signal(signalnum, handler):
    """Install a Python-level handler (``signal.signal``), returning the old one."""
    return _signal.signal(signalnum, handler)


__all__ = ['signal', 'getsignal', 'set_wakeup_fd']


class _CallableModule(_types.ModuleType):
    def __call__(self, signalnum, handler, *args, **kwargs):
        return _signal_handler(signalnum, handler, *args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
