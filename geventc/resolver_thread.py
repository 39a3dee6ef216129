"""Old name of :mod:`geventc.resolver.thread` (deprecated in gevent 1.3)."""
import warnings

warnings.warn(
    'geventc.resolver_thread is deprecated; use geventc.resolver.thread instead.',
    DeprecationWarning, stacklevel=2)
del warnings

from geventc.resolver.thread import *  # noqa: E402,F401,F403
from geventc.resolver.thread import __all__  # noqa: E402,F401
