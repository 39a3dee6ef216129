"""Greenlet primitives under gevent's module name (``gevent._greenlet_primitives``).

``TrackedRawGreenlet`` is what :func:`geventc.spawn_raw` makes while
``config.track_greenlet_tree`` is on; ``get_reachable_greenlets`` lists
every greenlet the garbage collector knows of (there is no other registry),
leaving out those marked ``greenlet_tree_is_ignored``.
"""
import gc

from greenlet import greenlet as _raw_greenlet

from geventc._hub import TrackedRawGreenlet

__all__ = ['TrackedRawGreenlet', 'get_reachable_greenlets']


def get_reachable_greenlets():
    # type(), not isinstance(): isinstance reads __class__, and reading any
    # attribute of a greenlet-local object gives the current greenlet a dict in it.
    return [g for g in gc.get_objects()
            if issubclass(type(g), _raw_greenlet) and not getattr(g, 'greenlet_tree_is_ignored', False)]
