"""Thread patching for :func:`geventc.monkey.patch_thread` (first slice:
``_thread`` only; ``threading`` follows)."""
from geventc.monkey import _patch_module, patch_item

__all__ = ["patch_thread"]


def patch_thread(threading=True, _threading_local=True, Event=True, logging=True,
                 existing_locks=True, _warnings=None):
    _patch_module('thread', _warnings=_warnings)
    if threading and Event:
        import threading as threading_mod
        from geventc.event import Event as cooperative_event
        patch_item(threading_mod, 'Event', cooperative_event)
    if _threading_local:
        import _threading_local
        from geventc.local import local
        patch_item(_threading_local, 'local', local)
