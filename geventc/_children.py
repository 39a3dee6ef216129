"""The exit statuses of this process's children, reaped in one place.

The kernel reports a child's exit once, to whichever wait comes first. Every
geventc child watcher (a pidfd in any loop), ``geventc.os.waitpid`` and the
code that started the child (``Popen``, ``fork_and_watch``) need that one
status, so every reap geventc does goes through here and is recorded:

* :func:`reap` gives the status of a child that has exited, reaping it if
  nobody has yet. Through its pidfd when the caller has one, so a recycled
  pid can never be reaped by mistake.
* Children started through ``geventc.os`` (``fork_and_watch``,
  ``posix_spawn``) are *tracked*: their status also waits, for up to
  :data:`KEEP` seconds as in gevent, for a ``waitpid(pid)`` or
  ``waitpid(-1)`` that takes it once.
* Other statuses are kept as long for the remaining watchers of that pid;
  a pid naming a live process again (reuse) drops them.
* A child someone outside geventc reaped first (a raw ``os.waitpid``,
  ``SIGCHLD`` ignored) has an unknown status: reported as 0, the stdlib
  ``Popen``'s rule.

Native threads reap their own children, so the table is shared under a
native re-entrant lock (re-entrant: a Python signal handler may call
``waitpid`` while the thread it interrupted holds it).
"""
import os
import time
from _thread import RLock

__all__ = []

#: Seconds a tracked child's status waits for a ``waitpid`` to take it.
KEEP = 60.0
#: At most this many other statuses are kept (for late watchers of the same
#: pid), the oldest dropped first: a process starting thousands of children
#: a second must not hold a minute of them.
KEEP_OTHERS = 1024

_WNOHANG = os.WNOHANG
_waitpid = os.waitpid
_waitid = getattr(os, 'waitid', None)
_P_PIDFD = getattr(os, 'P_PIDFD', None)
_WEXITED = getattr(os, 'WEXITED', 4)
_CLD_EXITED = getattr(os, 'CLD_EXITED', 1)
_CLD_KILLED = getattr(os, 'CLD_KILLED', 2)
_CLD_DUMPED = getattr(os, 'CLD_DUMPED', 3)
_WCOREFLAG = 0x80
_monotonic = time.monotonic


class _Exit(object):
    __slots__ = ('status', 'when', 'for_waitpid', 'pgid')

    def __init__(self, status, for_waitpid, pgid):
        self.status = status
        self.when = _monotonic()
        self.for_waitpid = for_waitpid
        self.pgid = pgid


_lock = RLock()
#: pid -> _Exit, oldest first (dicts keep insertion order).
_exits = {}
#: pids started through geventc.os whose status a waitpid may ask for.
_tracked = set()
_last_sweep = _monotonic()


def _status_from_waitid(res):
    # waitid reports the pieces; everything else here speaks wait statuses.
    if res.si_code == _CLD_EXITED:
        return (res.si_status & 0xff) << 8
    if res.si_code == _CLD_DUMPED:
        return res.si_status | _WCOREFLAG
    return res.si_status


def _pgid_of(pid):
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def _record(pid, status, pgid=None):
    # Caller holds _lock.
    for_waitpid = pid in _tracked
    _tracked.discard(pid)
    _exits.pop(pid, None)  # re-inserted last: the dict stays oldest first
    _exits[pid] = _Exit(status, for_waitpid, pgid)
    if len(_exits) > KEEP_OTHERS:
        _drop_oldest_others()
    _sweep_now_and_then()


def _drop_oldest_others():
    # Down to half the limit at once: a scan per child would cost O(limit).
    excess = len(_exits) - KEEP_OTHERS // 2
    for pid in [pid for pid, e in _exits.items() if not e.for_waitpid][:excess]:
        del _exits[pid]


def _sweep_now_and_then():
    global _last_sweep
    now = _monotonic()
    if now - _last_sweep > KEEP / 6:
        _last_sweep = now
        sweep(KEEP)


def sweep(max_age):
    """Forget statuses recorded more than *max_age* seconds ago."""
    oldest_allowed = _monotonic() - max_age
    with _lock:
        for pid in [pid for pid, e in _exits.items() if e.when <= oldest_allowed]:
            del _exits[pid]


def track(pid):
    """*pid* was just started through geventc.os: keep its status for waitpid."""
    with _lock:
        _exits.pop(pid, None)
        _tracked.add(pid)


def alive_again(pid):
    """A pidfd was just opened on *pid*: a status recorded for that number
    belongs to an earlier process."""
    if pid in _exits:
        with _lock:
            _exits.pop(pid, None)


def reap(pid, pidfd=-1):
    """The wait status of child *pid* if it has exited, else None.

    Reaps it unless someone already has (then the recorded status, or 0
    when nobody inside geventc saw it)."""
    with _lock:
        e = _exits.get(pid)
        if e is not None:
            return e.status
        pgid = _pgid_of(pid) if pid in _tracked else None
        try:
            if pidfd >= 0 and _P_PIDFD is not None:
                res = _waitid(_P_PIDFD, pidfd, _WEXITED | _WNOHANG)
                if res is None:
                    return None
                status = _status_from_waitid(res)
            else:
                wpid, status = _waitpid(pid, _WNOHANG)
                if not wpid:
                    return None
        except ChildProcessError:
            _tracked.discard(pid)
            return 0
        _record(pid, status, pgid)
        return status


def take(pid):
    """Remove and return the recorded status of *pid*, or None."""
    with _lock:
        e = _exits.pop(pid, None)
    return None if e is None else e.status


def take_any(pid):
    """``(pid, status)`` of the oldest tracked child that exited and whose
    status nobody took, among those ``waitpid(pid)`` (-1, 0 or -pgid) would
    wait for; None if there is none."""
    if pid == -1:
        wanted = None
    elif pid == 0:
        wanted = os.getpgrp()
    else:
        wanted = -pid
    with _lock:
        for child, e in _exits.items():
            if e.for_waitpid and (wanted is None or e.pgid == wanted):
                del _exits[child]
                return child, e.status
    return None


def waited(pid, status):
    """A raw waitpid in geventc just returned *pid*'s *status*: record an
    exit for the watchers of *pid* that have not seen it (the caller
    consumes it, so no later waitpid will)."""
    if not (os.WIFEXITED(status) or os.WIFSIGNALED(status)):
        return
    with _lock:
        _record(pid, status)
        _exits[pid].for_waitpid = False


#: pids whose watcher's thread ended before they exited, and no loop took
#: over: reaped whenever geventc next starts a child.
_orphans = set()


def orphan(pid):
    with _lock:
        _orphans.add(pid)


def reap_orphans():
    if not _orphans:
        return
    with _lock:
        for pid in list(_orphans):
            if reap(pid) is not None:
                _orphans.discard(pid)


def _after_fork_in_child():
    # The parent's children are not this process's: nothing to wait for.
    # The lock may have been held by a thread that no longer exists.
    global _lock
    _lock = RLock()
    _exits.clear()
    _tracked.clear()
    _orphans.clear()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_after_fork_in_child)
