"""Old name of :mod:`geventc.resolver.ares` (deprecated in gevent 1.3)."""
import warnings

warnings.warn(
    'geventc.resolver_ares is deprecated; use geventc.resolver.ares instead.',
    DeprecationWarning, stacklevel=2)
del warnings

from geventc.resolver.ares import *  # noqa: E402,F401,F403
from geventc.resolver.ares import __all__  # noqa: E402,F401
