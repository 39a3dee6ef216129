"""The gevent 0.13 name of the synchronisation module (``gevent.coros``).

Old programs ``from gevent.coros import Semaphore`` (or ``BoundedSemaphore``,
``RLock``, ``Event``, ``AsyncResult``, ``Queue``); these are the very same
classes as in :mod:`geventc.lock`, :mod:`geventc.event` and
:mod:`geventc.queue`.
"""
from geventc._hub import AsyncResult, BoundedSemaphore, DummySemaphore, Event, RLock, Semaphore
from geventc.queue import JoinableQueue, Queue

__all__ = [
    'Semaphore',
    'BoundedSemaphore',
    'DummySemaphore',
    'RLock',
    'Event',
    'AsyncResult',
    'Queue',
    'JoinableQueue',
]
