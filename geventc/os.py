"""Cooperative versions of some :mod:`os` functions (gevent.os).

- ``nb_read``/``nb_write``: read and write a file descriptor in non-blocking
  mode (``make_nonblocking``), waiting on the hub's io watcher when it would
  block;
- ``tp_read``/``tp_write``: ``os.read``/``os.write`` run in the hub's thread
  pool (works on any descriptor, regular files included);
- ``fork``/``forkpty``: ``os.fork``/``os.forkpty`` whose child gets a working
  hub (``fork_gevent``/``forkpty_gevent``).

None of these is monkey-patched into :mod:`os`. Every other name of
:mod:`os` is re-exported unchanged, so ``geventc.os.getpid`` works.
"""
import errno as _errno
import os as _os

try:
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - not POSIX
    _fcntl = None

# get_hub is looked up here at each call, as in gevent.os (tools patch it).
from geventc._hub import get_hub, reinit as _reinit

__implements__ = ['fork']
__extensions__ = ['tp_read', 'tp_write']

_read = _os.read
_write = _os.write
_READ = 1
_WRITE = 2

#: errno values meaning "try again once the descriptor is ready".
ignored_errors = [_errno.EAGAIN, _errno.EINTR]


if _fcntl is not None:
    __extensions__ += ['make_nonblocking', 'nb_read', 'nb_write']

    def make_nonblocking(fd):
        """Put *fd* in non-blocking mode; True if it was blocking before."""
        flags = _fcntl.fcntl(fd, _fcntl.F_GETFL, 0)
        if not flags & _os.O_NONBLOCK:
            _fcntl.fcntl(fd, _fcntl.F_SETFL, flags | _os.O_NONBLOCK)
            return True

    def _retry_on_block(fd, event, func, arg):
        # func(fd, arg) on the non-blocking fd, waiting for *event* while it
        # would block (one watcher for all the waits).
        hub = None
        watcher = None
        try:
            while True:
                try:
                    return func(fd, arg)
                except OSError as ex:
                    if ex.errno not in ignored_errors:
                        raise
                if hub is None:
                    hub = get_hub()
                    watcher = hub.loop.io(fd, event)
                hub.wait(watcher)
        finally:
            if watcher is not None:
                watcher.close()

    def nb_read(fd, n):
        """Read up to *n* bytes from the non-blocking *fd* (b'' at end of file),
        letting other greenlets run while nothing is there."""
        return _retry_on_block(fd, _READ, _read, n)

    def nb_write(fd, buf):
        """Write some of *buf* to the non-blocking *fd*; return how many bytes,
        letting other greenlets run while it is full."""
        return _retry_on_block(fd, _WRITE, _write, buf)


def tp_read(fd, n):
    """``os.read(fd, n)`` in the hub's thread pool."""
    return get_hub().threadpool.apply(_read, (fd, n))


def tp_write(fd, buf):
    """``os.write(fd, buf)`` in the hub's thread pool; the number of bytes written."""
    return get_hub().threadpool.apply(_write, (fd, buf))


if hasattr(_os, 'fork'):
    _raw_fork = _os.fork
    __extensions__ += ['fork_gevent']

    def fork_gevent():
        """``os.fork()``; the child re-initialises the hub (and its loop) first."""
        pid = _raw_fork()
        if not pid:
            _reinit()
        return pid

    def fork():
        """``os.fork()`` for greenlet programs (see :func:`fork_gevent`)."""
        return fork_gevent()

    if hasattr(_os, 'forkpty'):
        _raw_forkpty = _os.forkpty
        __implements__.append('forkpty')
        __extensions__.append('forkpty_gevent')

        def forkpty_gevent():
            """``os.forkpty()``; the child re-initialises the hub first.
            The master descriptor is left blocking."""
            pid, master_fd = _raw_forkpty()
            if not pid:
                _reinit()
            return pid, master_fd

        forkpty = forkpty_gevent
else:  # pragma: no cover - not POSIX
    __implements__.remove('fork')


def _copy_os_names():
    ours = set(__implements__ + __extensions__)
    g = globals()
    for name in dir(_os):
        if name.startswith('__') or name in ours or name in g:
            continue
        g[name] = getattr(_os, name)


_copy_os_names()
del _copy_os_names

__all__ = list(set(__implements__ + __extensions__))
