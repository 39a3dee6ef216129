"""The libev loop and watchers (gevent.core).

As gevent's, this module is the loop implementation's module namespace:
its watcher classes, event and backend constants, and the helpers gevent's
tools use (``_flags_to_int``, ``_events_to_str``, ...).
"""
from geventc import _core

globals().update((name, value) for (name, value) in vars(_core).items()
                 if not name.startswith('__'))

__all__ = ['get_version', 'get_header_version', 'supported_backends',
           'recommended_backends', 'embeddable_backends', 'time', 'loop']
