"""The libev loop and watchers (gevent.core)."""
from geventc._core import (
    get_version, get_header_version, supported_backends, recommended_backends,
    embeddable_backends, time, loop, callback, watcher, io, timer, signal, idle,
    prepare, check, fork, async_, child, stat, READ, WRITE, NONE, UNDEF, ERROR,
    MAXPRI, MINPRI, EVENTS, GEVENT_CORE_EVENTS,
)

__all__ = ['get_version', 'get_header_version', 'supported_backends',
           'recommended_backends', 'embeddable_backends', 'time', 'loop']
