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
    """The 0.13 ``gevent.shutdown``: run what is pending until the loop has
    nothing left, then destroy the current thread's hub and its loop."""
    hub = _get_hub()
    if hub is None:
        return
    if not hub.dead:
        hub.join()
    hub.destroy(destroy_loop=True)


def copy_globals(source, namespace, skip=()):
    """Copy *source* module's public names we do not implement into *namespace*.

    A facade module (select, selectors, ssl) replaces some names of the
    stdlib module it stands for and re-exports the rest unchanged; this
    returns the re-exported names (the module's ``__imports__``)."""
    copied = []
    for name in dir(source):
        if name.startswith('__') or name in skip:
            continue
        namespace[name] = getattr(source, name)
        copied.append(name)
    return copied
