"""Event and AsyncResult (gevent.event)."""
from geventc._hub import Event, AsyncResult, Timeout

__all__ = ['Event', 'AsyncResult']
