"""Queues shared by greenlets (gevent.queue).

FIFO :class:`Queue` (joinable, with Python 3.13's ``shutdown()``; also
spelled :class:`JoinableQueue`), :class:`SimpleQueue` (no task tracking),
:class:`LifoQueue`, :class:`PriorityQueue`, and the rendezvous
:class:`Channel`. :exc:`Empty` and :exc:`Full` are the standard library's
``queue.Empty`` and ``queue.Full``. Iterating a queue gets items until the
``StopIteration`` class comes out. All compiled, in ``geventc._queue``.
"""
from geventc._queue import (
    Channel, Empty, Full, ItemWaiter, JoinableQueue, LifoQueue, PriorityQueue, Queue, ShutDown,
    SimpleQueue, UnboundQueue,
)
from geventc._hub import Waiter, getcurrent

__implements__ = ['Queue', 'PriorityQueue', 'LifoQueue', 'SimpleQueue']
__extensions__ = ['JoinableQueue', 'Channel', 'ShutDown']
__imports__ = ['Empty', 'Full']

__all__ = __implements__ + __extensions__ + __imports__
