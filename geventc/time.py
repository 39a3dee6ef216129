"""The standard library's :mod:`time` with a cooperative :func:`sleep`
(gevent.time)."""
import time as __time__

from geventc._util import copy_globals

__implements__ = ['sleep']
__all__ = __implements__

__imports__ = copy_globals(__time__, globals(), names_to_ignore=__implements__)

from geventc._hub import sleep  # noqa: E402
