"""geventc: a faster, drop-in replacement for gevent.

Layering: the compiled core (``_core``: libev loop and watchers; ``_hub``:
hub, greenlets, timeouts, events) does the work; the Python modules here
(``geventc.hub``, ``geventc.greenlet``, ...) only re-export it under gevent's
module names, so ``import geventc as gevent`` runs gevent programs unchanged.
Names are re-exported explicitly; ``__all__`` matches gevent 26.9.0's, plus
the old spellings the gevent articles use (``spawn_link*``, ``signal(...)``,
``shutdown``).
"""
import sys as _sys

from collections import namedtuple as _namedtuple

#: geventc's own release.
__geventc_version__ = '0.1.0'
#: The gevent release whose API geventc provides, with geventc's release as
#: the PEP 440 local label. Libraries that look for gevent by name compare
#: ``gevent.__version__`` with the gevent release they need (gunicorn:
#: ``>= 24.10.1``); under the ``gevent`` alias they get this, and
#: ``packaging.version.parse`` orders it as 26.9.0.
__version__ = '26.9.0+geventc.' + __geventc_version__
#: ``gevent.version_info``'s shape, for the same gevent release.
version_info = _namedtuple('version_info', 'major minor micro releaselevel serial')(26, 9, 0, 'final', 0)

from geventc._config import config
from geventc._hub import (
    Greenlet, GreenletExit, Timeout, get_hub, getcurrent, idle, iwait, joinall,
    kill, killall, reinit, signal_handler, sleep, spawn, spawn_later, spawn_raw,
    wait, with_timeout, spawn_link, spawn_link_value, spawn_link_exception,
)
from geventc._util import shutdown
from geventc.os import fork
from geventc._hub import _C_API  # the capsule behind include/geventc.h


def get_include():
    """The folder holding geventc.h, for C extensions using geventc's C API."""
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.path.join(here, 'include'), os.path.join(os.path.dirname(here), 'include')):
        if os.path.exists(os.path.join(candidate, 'geventc.h')):
            return candidate
    return os.path.join(here, 'include')

def install_as_gevent():
    """Make ``import gevent`` (and every ``gevent.X``) give geventc's modules.

    See :mod:`geventc.alias`."""
    from geventc.alias import install_as_gevent as install
    return install()


getswitchinterval = _sys.getswitchinterval
setswitchinterval = _sys.setswitchinterval

__all__ = [
    'Greenlet', 'GreenletExit', 'Timeout', 'config', 'fork', 'get_hub',
    'getcurrent', 'getswitchinterval', 'idle', 'iwait', 'joinall', 'kill',
    'killall', 'reinit', 'setswitchinterval', 'signal_handler', 'sleep',
    'spawn', 'spawn_later', 'spawn_raw', 'wait', 'with_timeout',
]

# Submodules that are attributes of the package without being imported by
# name: those `import gevent` leaves on gevent (the code written for it says
# `gevent.hub.Hub` after a bare `import gevent`), plus `signal` and `monkey`.
# They are imported on first use, so `import geventc` stays cheap (issue 12).
# `geventc.signal` is both a module (gevent's cooperative signal API) and, as
# in gevent 0.13, a callable installing a handler: the module's class makes
# it callable.
_LAZY_SUBMODULES = frozenset([
    'hub', 'event', 'timeout', 'greenlet', 'exceptions',
    '_compat', '_greenlet_primitives', '_hub_local', '_ident', '_interfaces',
    'signal', 'monkey',
])


def __getattr__(name):
    if name not in _LAZY_SUBMODULES:
        raise AttributeError("module 'geventc' has no attribute %r" % (name,))
    fullname = __name__ + '.' + name
    __import__(fullname)
    return _sys.modules[fullname]


def __dir__():
    return sorted(set(globals()) | _LAZY_SUBMODULES)
