"""Process-level helpers: fork with a working child hub, and shutdown."""
import os as _os

from geventc._hub import _get_hub, reinit


def fork():
    """``os.fork()``; the child's loops are re-initialised (libev's ev_loop_fork).

    geventc's loops are re-initialised by an ``os.register_at_fork`` hook, so
    a plain ``os.fork()`` works too; this also re-initialises the hub."""
    pid = _os.fork()
    if pid == 0:
        reinit()
    return pid


def shutdown():
    """Destroy the current thread's hub and loop (the 0.13 ``gevent.shutdown``)."""
    hub = _get_hub()
    if hub is not None and not hub.dead:
        hub.destroy(destroy_loop=True)
    elif hub is not None:
        hub.destroy(destroy_loop=True)
