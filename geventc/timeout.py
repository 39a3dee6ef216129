"""Timeouts (gevent.timeout)."""
from geventc._hub import Timeout, with_timeout, _FakeTimer

__all__ = ['Timeout', 'with_timeout']
