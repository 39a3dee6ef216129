"""Timeouts (gevent.timeout); compiled in ``_timeout.pxi`` (part of ``_hub``)."""
from geventc._hub import Timeout, with_timeout, _FakeTimer

__all__ = ['Timeout', 'with_timeout']
