"""What gevent keeps in ``gevent._socketcommon`` (private: gevent's own tests
and some libraries reach into it): the stdlib socket module as
``__socket__``, its constants, and the address resolution the socket class
uses before connecting. The implementations live in :mod:`geventc.socket`
and :mod:`geventc._socket`; this module only names them where gevent does.
"""
import socket as __socket__  # noqa: F401 (gevent's name for it)

from geventc import socket as _gsocket
from geventc._socket import _resolve_addr  # noqa: F401

__dns__ = list(_gsocket.__dns__)
# Not ``__implements__``: nothing is patched from here (gevent's test of
# module shapes requires that of modules without a stdlib counterpart).
_implements = list(_gsocket.__implements__)

for _name in _implements + _gsocket.__extensions__ + _gsocket.__imports__:
    globals()[_name] = getattr(_gsocket, _name)
del _name
