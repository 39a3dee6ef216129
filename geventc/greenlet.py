"""Greenlet and the functions over groups of greenlets (gevent.greenlet);
Greenlet is compiled in ``_greenlet.pxi`` (part of ``_hub``)."""
from geventc._hub import (
    Greenlet, joinall, killall, SpawnedLink, SuccessSpawnedLink, FailureSpawnedLink,
    LinkedExited, LinkedCompleted, LinkedKilled, LinkedFailed, GreenletExit,
    spawn_link, spawn_link_value, spawn_link_exception,
)

__all__ = ['Greenlet', 'joinall', 'killall']
