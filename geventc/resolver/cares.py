"""The c-ares channel the ``ares`` resolver drives (gevent.resolver.cares)."""
from geventc._ares import (  # noqa: F401
    channel, Result, AresError, InvalidIP, AddrInfoList, error, version,
)

__all__ = ['channel', 'Result', 'AresError', 'InvalidIP']
