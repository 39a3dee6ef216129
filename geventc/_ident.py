"""Small integer identifiers for live objects (gevent's ``gevent._ident``).

The registry is the compiled one behind ``Greenlet.minimal_ident``."""
from geventc._hub import _IdentRegistry as IdentRegistry

__all__ = ['IdentRegistry']
