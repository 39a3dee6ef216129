"""Locking primitives (gevent.lock); compiled in ``_lock.pxi`` (part of ``_hub``).

Semaphores with a bound (:class:`Semaphore`, and :class:`BoundedSemaphore`
which refuses to be over-released), an unbounded :class:`DummySemaphore`,
the re-entrant :class:`RLock`, and :class:`Lock`, a ``threading.Lock``
for greenlets (an extension: gevent spells it ``gevent.thread.LockType``).
All are compiled, in ``geventc._hub``.
"""
from geventc._hub import BoundedSemaphore, DummySemaphore, Lock, RLock, Semaphore, getcurrent

#: gevent's flag for its pure-Python fallback; geventc is always compiled.
PURE_PYTHON = False

__all__ = [
    'Semaphore',
    'BoundedSemaphore',
    'DummySemaphore',
    'RLock',
]
