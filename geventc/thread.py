"""Greenlet-based replacements for the ``_thread`` module (gevent.thread).

Used by ``monkey.patch_thread``: a "thread" is a greenlet, and locks are
geventc's compiled ``Lock``.
"""
import _thread as __thread__

from geventc._hub import Lock as LockType, getcurrent, GreenletExit, get_hub, spawn_raw
from geventc.local import local as _local

__target__ = '_thread'

__implements__ = ['allocate_lock', 'get_ident', 'exit', 'LockType', 'stack_size',
                  'start_new_thread', '_local']
# The stdlib's own, as gevent's: the deprecated aliases (allocate,
# exit_thread, start_new) stay native after patching, as in gevent.
__imports__ = [name for name in ('error', 'TIMEOUT_MAX', 'allocate', 'exit_thread',
                                 'interrupt_main', 'start_new', 'get_native_id',
                                 'daemon_threads_allowed', 'RLock', 'set_name')
               if hasattr(__thread__, name)]
__all__ = __implements__ + __imports__
__all__.remove('_local')

for _name in __imports__:
    globals()[_name] = getattr(__thread__, _name)
del _name


def get_ident(gr=None):
    """The id of greenlet *gr* (default: the current one), as thread ids are used."""
    if gr is None:
        gr = getcurrent()
    return id(gr)


def start_new_thread(function, args=(), kwargs=None):
    """Run ``function(*args, **kwargs)`` in a new greenlet; return its ident."""
    if kwargs is not None:
        greenlet = spawn_raw(function, *args, **kwargs)
    else:
        greenlet = spawn_raw(function, *args)
    return get_ident(greenlet)


allocate_lock = LockType


def exit():
    raise GreenletExit


def stack_size(size=None):
    if size is None:
        return 0
    if size > __thread__.stack_size():
        return __thread__.stack_size(size)
    # Greenlets have no stack size of their own.
    return None
