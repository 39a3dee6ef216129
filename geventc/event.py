"""Event and AsyncResult (gevent.event); compiled in ``_event.pxi`` (part of ``_hub``)."""
from geventc._hub import Event, AsyncResult, Timeout

__all__ = ['Event', 'AsyncResult']
