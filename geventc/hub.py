"""The hub and its primitives (gevent.hub)."""
from geventc._hub import (
    Hub, HubBase, Waiter, getcurrent, GreenletExit, spawn_raw, sleep, kill, reinit,
    get_hub, set_hub, _get_hub, get_hub_if_exists, _get_hub_noargs, get_hub_class,
    set_default_hub_class, get_loop, set_loop, signal_handler, idle, iwait, wait,
    LoopExit, BlockingSwitchOutError, ConcurrentObjectUseError, InvalidSwitchError,
    HubDestroyed, InvalidThreadUseError,
)
from greenlet import greenlet

signal = signal_handler

__all__ = ['getcurrent', 'GreenletExit', 'spawn_raw', 'sleep', 'kill', 'signal',
           'reinit', 'get_hub', 'Hub', 'Waiter']
