"""The standard library's :mod:`time`, with a cooperative :func:`sleep`
(gevent's ``gevent.time``).

``sleep`` is :func:`geventc.sleep`: it blocks only the calling greenlet.
Every other name is the standard library's own object.
"""
import time as __time__

from geventc._util import copy_globals
from geventc._hub import sleep

__implements__ = ['sleep']
__all__ = __implements__

__imports__ = copy_globals(__time__, globals(), names_to_ignore=__implements__)
