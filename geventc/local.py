"""Greenlet-local objects (gevent.local).

``local()`` is to greenlets what ``threading.local()`` is to threads: each
greenlet sees its own attributes. Subclasses may define defaults, methods,
properties and an ``__init__`` (re-run, with the original arguments, in
each greenlet that uses the object); ``__slots__`` are shared by all
greenlets. A greenlet's attributes are released when it dies. Compiled, in
``geventc._local``.
"""
from greenlet import getcurrent

from geventc._local import all_local_dicts_for_greenlet, local

__all__ = ['local']
