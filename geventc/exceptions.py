"""The exceptions gevent defines (gevent.exceptions)."""
from geventc._hub import (
    LoopExit, BlockingSwitchOutError, ConcurrentObjectUseError, InvalidSwitchError,
    HubDestroyed, InvalidThreadUseError, GreenletExit,
)

__all__ = ['LoopExit']
