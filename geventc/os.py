"""Cooperative versions of some :mod:`os` functions (gevent.os).

- ``nb_read``/``nb_write``: read and write a file descriptor in non-blocking
  mode (``make_nonblocking``), waiting on the hub's io watcher when it would
  block;
- ``tp_read``/``tp_write``: ``os.read``/``os.write`` run in the hub's thread
  pool (works on any descriptor, regular files included);
- ``close``: closes a descriptor without pulling it from under a greenlet
  waiting on it;
- ``fork``/``forkpty``: the child gets a working hub; the parent watches the
  child (``fork_and_watch``) so that :func:`waitpid` can wait for it
  cooperatively; ``posix_spawn``/``posix_spawnp`` watch theirs too;
- ``waitpid``: waits without blocking the hub, for one child, any child
  (-1) or a process group (0, -pgid), with any options.

How children are reaped (see :mod:`geventc._children`): each watched child
has a pidfd in the loop of the thread that started it, so native threads
reap their own children and no ``SIGCHLD`` handler is installed: an
application's own handler and its ``os.waitpid`` calls keep working. The
status is recorded wherever the child is reaped, so a ``waitpid(-1)`` that
gets there first and the watcher both see it.

None of these is monkey-patched into :mod:`os` here. Every other name of
:mod:`os` is re-exported unchanged, so ``geventc.os.getpid`` works.
"""
import errno
import os
from _thread import _local as _native_local
from builtins import open as _open_file  # this module's open is os.open
import sys as _sys
from stat import S_ISREG as _S_ISREG

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

from geventc import _children
from geventc._config import config
from geventc._core import _child_watcher, _default_loop
from geventc._hub import (
    _get_hub, get_hub, reinit, Waiter as _Waiter, Timeout as _Timeout,
)

__implements__ = ['fork']
__extensions__ = ['tp_read', 'tp_write']

_read = os.read
_write = os.write
_close = os.close
_fstat = os.fstat
_getpid = os.getpid
_READ = 1
_WRITE = 2

EAGAIN = getattr(errno, 'EAGAIN', 11)

#: errno values meaning "try again once the descriptor is ready".
ignored_errors = [EAGAIN, errno.EINTR]


if fcntl is not None:
    __implements__ += ['close']
    __extensions__ += ['make_nonblocking', 'nb_read', 'nb_write']

    #: fd -> Event set once a deferred close() of it has happened.
    _closing_fd_to_event = {}
    #: fd -> (st_dev, st_ino) of what the deferred close() is to close.
    _closing_fd_identity = {}

    def _identity(st):
        return (st.st_dev, st.st_ino)

    def close(fd):
        """``os.close(fd)``, but not from under greenlets waiting on *fd*:
        they are woken (their next read or write fails cleanly) and the
        descriptor is closed once they have run, so its number cannot be
        reused under them. Regular files are closed at once."""
        if fd < 0:
            return _close(fd)  # the stdlib's EBADF
        fcntl.fcntl(fd, fcntl.F_GETFD)  # EBADF now, not later
        st = _fstat(fd)
        if _S_ISREG(st.st_mode):
            return _close(fd)
        identity = _identity(st)
        if fd in _closing_fd_to_event:
            if _closing_fd_identity.get(fd) == identity:
                _raise_closed()  # closed twice
            # Closed by other means and the number reused: this is a new
            # descriptor (the pending close will leave it alone).
            _forget_closing(fd, _closing_fd_to_event[fd])
        hub = _get_hub()
        if hub is None:
            return _close(fd)
        loop = hub.loop
        if not loop.closing_fd(fd):
            return _close(fd)
        _defer_close(loop, fd, identity)

    def _defer_close(loop, fd, identity):
        # The woken greenlets run before this check watcher and may close
        # the number themselves (a socket's own close()) and get it back
        # from socket() or open(): close only the file close() was given.
        from geventc.event import Event
        event = Event()
        _closing_fd_to_event[fd] = event
        _closing_fd_identity[fd] = identity
        check = loop.check()

        def close_after_wakeups():
            check.close()
            try:
                if _identity(_fstat(fd)) == identity:
                    _close(fd)
            except OSError:
                pass  # already closed by other means
            finally:
                _forget_closing(fd, event)
                event.set()
        check.start(close_after_wakeups)

    def _forget_closing(fd, event):
        if _closing_fd_to_event.get(fd) is event:
            del _closing_fd_to_event[fd]
            del _closing_fd_identity[fd]

    def _raise_closed():
        # Woken by close(): the descriptor is about to go, do not wait on it again.
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))

    def make_nonblocking(fd):
        """Put *fd* in non-blocking mode; True if it was blocking before."""
        flags = fcntl.fcntl(fd, fcntl.F_GETFL, 0)
        if not flags & os.O_NONBLOCK:
            fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
            return True

    def _retry_on_block(fd, event, func, arg):
        # func(fd, arg) on the non-blocking fd, waiting for *event* while it
        # would block (one watcher for all the waits); close() of the fd
        # wakes the wait and ends it with EBADF.
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
                if fd in _closing_fd_to_event:
                    _raise_closed()
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


# -- fork --------------------------------------------------------------------------

def _reset_pools_in_child():
    # The pools' threads did not survive fork(). Reset them before the
    # application's own after-fork hooks run (they run in registration order,
    # and this one is registered when geventc is imported), so a hook may use
    # the hub's pool (gevent#2023). The pool's own hook runs again later: a
    # pool resets once per process (it remembers its pid).
    tp = _sys.modules.get('geventc.threadpool')
    if tp is None:
        return
    try:
        tp._after_fork_in_child()
    except BaseException:  # pragma: no cover - must not break fork()
        pass


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_reset_pools_in_child)


if hasattr(os, 'fork'):
    _raw_fork = os.fork
    __extensions__ += ['fork_gevent']

    def _quiet(func):
        # 3.12 warns about forking a process with threads; the child's
        # hub is re-initialised, which is the point of these functions.
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            return func()

    def fork_gevent():
        """``os.fork()``; the child re-initialises the hub (and its loop) first.

        The parent does not watch the child: use :func:`fork_and_watch` (the
        default :func:`fork`) to wait for it with :func:`waitpid`."""
        pid = _quiet(_raw_fork)
        if not pid:
            reinit()
        return pid

    if hasattr(os, 'forkpty'):
        _raw_forkpty = os.forkpty
        __implements__.append('forkpty')
        __extensions__.append('forkpty_gevent')

        def forkpty_gevent():
            """``os.forkpty()``; the child re-initialises the hub first.
            Returns ``(pid, master_fd)``; the master is left blocking."""
            pid, master_fd = _quiet(_raw_forkpty)
            if not pid:
                reinit()
            return pid, master_fd

    # -- watching children ---------------------------------------------------------

    _WNOHANG = os.WNOHANG
    _raw_waitpid = os.waitpid
    # waitpid options under which a child may report without exiting: a pidfd
    # only signals the exit, so those waits also poll.
    _STOP_OPTIONS = getattr(os, 'WUNTRACED', 0) | getattr(os, 'WCONTINUED', 0)
    #: seconds between re-scans while waitpid(-1 / 0 / -pgid) waits (children
    #: started meanwhile by another thread, or stopped ones, show up then).
    _RESCAN = 0.5

    def _on_child(watcher, callback):
        watcher.stop()
        try:
            if callback is not None:
                callback(watcher)
        finally:
            watcher.close()

    def _watch_child(pid, callback=None, loop=None, ref=False):
        _children.track(pid)
        loop = loop or get_hub().loop
        watcher = _child_watcher(loop, pid, ref)
        watcher.start(_on_child, watcher, callback)
        _watched_from_this_thread(watcher)
        return watcher

    class _ThreadChildren(object):
        # The child watchers started in the loop of a native thread while no
        # default loop exists, kept in a native thread-local so that __del__
        # runs as the thread ends: that loop will not run again, so children
        # still running are reaped when geventc next starts a child.
        __slots__ = ('watchers',)

        def __init__(self):
            self.watchers = []

        def add(self, watcher):
            if len(self.watchers) >= 32:
                self.watchers = [w for w in self.watchers if w.active]
            self.watchers.append(watcher)

        def __del__(self):
            for watcher in self.watchers:
                try:
                    if watcher.active:
                        _children.orphan(watcher.pid)
                        watcher.stop()
                except ValueError:
                    pass  # its loop was destroyed first

    _this_thread = _native_local()

    def _watched_from_this_thread(watcher):
        """A child watcher geventc started in this thread's loop. In a native
        thread, whose loop runs only while one of its greenlets waits, the
        default loop watches the child too, to reap it when it exits even if
        nobody here waits for it (a thread pool's worker, a thread that ends
        first); the status is recorded for this thread's watcher."""
        _children.reap_orphans()
        if watcher.loop.default:
            return
        default = _default_loop()
        if default is not None:
            default.run_callback_threadsafe(_reap_from_the_default_loop, watcher.pid)
            return
        mine = getattr(_this_thread, 'children', None)
        if mine is None:
            mine = _this_thread.children = _ThreadChildren()
        mine.add(watcher)

    def _reap_from_the_default_loop(pid):
        loop = _default_loop()
        if loop is None:
            _children.orphan(pid)
            return
        watcher = _child_watcher(loop, pid, False)
        watcher.start(watcher.close)  # reaping (and recording) is all it does

    def _reap_children(timeout=60):
        """Forget the statuses of watched children that exited more than
        *timeout* seconds ago and that no :func:`waitpid` took."""
        _children.sweep(timeout)

    def _children_matching(pid):
        # This process's children that waitpid(pid) would wait for, from
        # /proc (no list of children is kept for those geventc did not start).
        me = _getpid()
        if pid == -1:
            group = None
        elif pid == 0:
            group = os.getpgrp()
        else:
            group = -pid
        found = []
        try:
            names = os.listdir('/proc')
        except OSError:
            return found
        for name in names:
            if not name.isdigit():
                continue
            try:
                with _open_file('/proc/%s/stat' % name, 'rb') as f:
                    data = f.read()
                fields = data[data.rindex(b')') + 2:].split()
                ppid, pgrp = int(fields[1]), int(fields[2])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == me and (group is None or pgrp == group):
                found.append(int(name))
        return found

    def _wait_for_an_exit(pids, timeout):
        # Park this greenlet until one of *pids* exits (its pidfd becomes
        # readable) or *timeout* seconds pass (None: no limit).
        hub = get_hub()
        waiter = _Waiter(hub)
        watchers = []
        fds = []
        try:
            for pid in pids:
                try:
                    fd = os.pidfd_open(pid)
                except ProcessLookupError:
                    return  # gone already: look again
                fds.append(fd)
                watcher = hub.loop.io(fd, _READ)
                watchers.append(watcher)
                watcher.start(waiter.switch, None)
            timer = _Timeout._start_new_or_dummy(timeout) if timeout is not None else None
            try:
                waiter.get()
            except _Timeout as ex:
                if ex is not timer:
                    raise
            finally:
                if timer is not None:
                    timer.close()
        finally:
            for watcher in watchers:
                watcher.close()
            for fd in fds:
                _close(fd)

    def _waitpid_now(pid, options):
        # One non-blocking attempt: a status geventc recorded for waitpid,
        # else the kernel's (recorded for the watchers of that child).
        with _children._lock:
            if pid > 0:
                status = _children.take(pid)
                if status is not None:
                    return pid, status
            else:
                found = _children.take_any(pid)
                if found is not None:
                    return found
            wpid, status = _raw_waitpid(pid, options | _WNOHANG)
            if wpid:
                _children.waited(wpid, status)
            return wpid, status

    def waitpid(pid, options):
        """``os.waitpid(pid, options)`` that lets other greenlets run while it waits.

        *pid* may be a child's pid, -1 (any child), 0 (any child in this
        process group) or -pgid; a status that geventc's watchers collected
        for a child started by :func:`fork_and_watch` or :func:`posix_spawn`
        is returned once, as if the child had just been reaped. Errors are
        the stdlib's (``ChildProcessError`` when there is no such child)."""
        while True:
            wpid, status = _waitpid_now(pid, options)
            if wpid or options & _WNOHANG:
                return wpid, status
            if pid > 0:
                pids = [pid]
                timeout = _RESCAN if options & _STOP_OPTIONS else None
            else:
                pids = _children_matching(pid)
                timeout = _RESCAN
            _wait_for_an_exit(pids, timeout)

    def fork_and_watch(callback=None, loop=None, ref=False, fork=fork_gevent):
        """Fork, and in the parent watch the child: :func:`waitpid` then waits
        for it cooperatively, and *callback* (if given) is called with the
        child watcher (``rpid``, ``rstatus``) once it exits. *ref* says
        whether the watcher keeps the loop running. The child gets a working
        hub (``fork`` defaults to :func:`fork_gevent`). Returns the pid, 0 in
        the child."""
        pid = fork()
        if pid:
            _watch_child(pid, callback, loop, ref)
        return pid

    __extensions__ += ['fork_and_watch']

    if 'forkpty' in __implements__:
        def forkpty_and_watch(callback=None, loop=None, ref=False, forkpty=forkpty_gevent):
            """:func:`fork_and_watch` with :func:`forkpty_gevent`; returns ``(pid, master_fd)``."""
            result = []

            def _fork():
                pid_and_fd = forkpty()
                result.append(pid_and_fd)
                return pid_and_fd[0]
            fork_and_watch(callback, loop, ref, _fork)
            return result[0]

        __extensions__.append('forkpty_and_watch')

    if not config.disable_watch_children:
        def fork(*args, **kwargs):
            """Fork a child with a working hub and watch it from the parent
            (:func:`fork_and_watch`), so that :func:`waitpid` works as expected.
            Setting ``GEVENT_NOWAITPID`` makes this :func:`fork_gevent`."""
            return fork_and_watch(*args, **kwargs)

        if 'forkpty' in __implements__:
            def forkpty(*args, **kwargs):
                """Like :func:`fork`, with :func:`forkpty_and_watch`."""
                return forkpty_and_watch(*args, **kwargs)

        __implements__.append('waitpid')

        if hasattr(os, 'posix_spawn'):
            _raw_posix_spawn = os.posix_spawn
            _raw_posix_spawnp = os.posix_spawnp

            def posix_spawn(*args, **kwargs):
                """``os.posix_spawn``; the child is watched for :func:`waitpid`."""
                pid = _raw_posix_spawn(*args, **kwargs)
                _watch_child(pid)
                return pid

            def posix_spawnp(*args, **kwargs):
                """``os.posix_spawnp``; the child is watched for :func:`waitpid`."""
                pid = _raw_posix_spawnp(*args, **kwargs)
                _watch_child(pid)
                return pid

            __implements__ += ['posix_spawn', 'posix_spawnp']
    else:
        def fork():
            """``GEVENT_NOWAITPID`` is set: :func:`fork_gevent` (the parent does
            not watch the child)."""
            return fork_gevent()

        if 'forkpty' in __implements__:
            def forkpty():
                """``GEVENT_NOWAITPID`` is set: :func:`forkpty_gevent`."""
                return forkpty_gevent()

        __extensions__.append('waitpid')
else:  # pragma: no cover - not POSIX
    __implements__.remove('fork')


def _copy_os_names():
    ours = set(__implements__ + __extensions__)
    g = globals()
    for name in dir(os):
        if name.startswith('__') or name in ours or name in g:
            continue
        g[name] = getattr(os, name)


_copy_os_names()
del _copy_os_names

__all__ = list(set(__implements__ + __extensions__))
