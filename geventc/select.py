"""Waiting for I/O completion, cooperatively (gevent.select).

``select()`` and ``poll`` block only the current greenlet. Readiness is
asked of the kernel with a zero-timeout ``poll(2)`` (exact results: POLLHUP,
POLLNVAL, POLLPRI, EBADF for closed descriptors, no FD_SETSIZE limit); only
when nothing is ready does the greenlet wait on libev watchers, and the
kernel is asked again when one fires.

.. caution:: waiting cannot see exceptional conditions (*xlist*,
   ``POLLPRI``) by themselves: they are reported when present at the check
   before waiting or when another event wakes the wait, as in gevent.
"""
from geventc._util import copy_globals
import errno as _errno
import os as _os
import select as __select__

from geventc._hub import sleep as _sleep
from geventc._socket import _wait_any

__implements__ = ['select', 'poll']
__all__ = ['error'] + __implements__

#: The stdlib's; kept for compatibility (it is OSError).
error = __select__.error

# Everything else (constants, epoll ...) is the stdlib's.
__imports__ = copy_globals(__select__, globals(), names_to_ignore=__all__, dunder_names_to_keep=())

_original_poll = __select__.poll
_POLLIN = __select__.POLLIN
_POLLPRI = __select__.POLLPRI
_POLLOUT = __select__.POLLOUT
_POLLERR = __select__.POLLERR
_POLLHUP = __select__.POLLHUP
_POLLNVAL = __select__.POLLNVAL

# What Linux's select() counts as readable / writable / exceptional.
_SELECT_READ = _POLLIN | _POLLHUP | _POLLERR
_SELECT_WRITE = _POLLOUT | _POLLERR
_SELECT_EXCEPT = _POLLPRI

_EV_READ = 1
_EV_WRITE = 2


def _fileno(obj):
    # select.select's own rules and messages.
    if isinstance(obj, int):
        fd = obj
    else:
        try:
            meth = obj.fileno
        except AttributeError:
            raise TypeError('argument must be an int, or have a fileno() method.') from None
        fd = meth()
        if not isinstance(fd, int):
            raise TypeError('fileno() returned a non-integer')
    if fd < 0:
        raise ValueError('file descriptor cannot be a negative integer (%d)' % fd)
    return fd


def get_fileno(fileobj):
    """gevent's helper: the descriptor of an int or of an object with
    ``fileno()``; ValueError for anything else or a negative number."""
    if isinstance(fileobj, int):
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())
        except (AttributeError, TypeError, ValueError):
            raise ValueError('Invalid file object: {!r}'.format(fileobj)) from None
    if fd < 0:
        raise ValueError('Invalid file descriptor: {}'.format(fd))
    return fd


def _poll_now(masks):
    """One zero-timeout poll(2) of ``{fd: mask}``: ``{fd: revents}``."""
    p = _original_poll()
    for fd, mask in masks.items():
        p.register(fd, mask)
    return dict(p.poll(0))


def _ev_flags(mask):
    flags = 0
    if mask & (_POLLIN | _POLLPRI):
        flags |= _EV_READ
    if mask & _POLLOUT:
        flags |= _EV_WRITE
    return flags


def select(rlist, wlist, xlist, timeout=None):
    """select(rlist, wlist, xlist[, timeout]) -> (rlist, wlist, xlist)

    The stdlib's ``select.select`` that blocks only the current greenlet.
    The lists returned hold the objects passed in, in their order.
    """
    if timeout is not None and timeout < 0:
        raise ValueError('timeout must be non-negative')
    rlist = rlist if isinstance(rlist, (list, tuple)) else list(rlist)
    wlist = wlist if isinstance(wlist, (list, tuple)) else list(wlist)
    xlist = xlist if isinstance(xlist, (list, tuple)) else list(xlist)
    rfds = [_fileno(o) for o in rlist]
    wfds = [_fileno(o) for o in wlist]
    xfds = [_fileno(o) for o in xlist]
    masks = {}
    for fds, bit in ((rfds, _POLLIN), (wfds, _POLLOUT), (xfds, _POLLPRI)):
        for fd in fds:
            masks[fd] = masks.get(fd, 0) | bit

    def results(revents):
        for fd, ev in revents.items():
            if ev & _POLLNVAL:
                raise OSError(_errno.EBADF, _os.strerror(_errno.EBADF))
        return ([o for o, fd in zip(rlist, rfds) if revents.get(fd, 0) & _SELECT_READ],
                [o for o, fd in zip(wlist, wfds) if revents.get(fd, 0) & _SELECT_WRITE],
                [o for o, fd in zip(xlist, xfds) if revents.get(fd, 0) & _SELECT_EXCEPT])

    ready = results(_poll_now(masks)) if masks else ([], [], [])
    if ready[0] or ready[1] or ready[2] or timeout == 0:
        # Let the others run: a loop of always-ready selects must not starve them.
        _sleep()
        return ready
    watch = [(fd, _ev_flags(mask & (_POLLIN | _POLLOUT))) for fd, mask in masks.items()
             if mask & (_POLLIN | _POLLOUT)]
    fired = _wait_any(watch, timeout)
    if fired is None:
        return [], [], []
    ready = results(_poll_now(masks))
    if ready[0] or ready[1] or ready[2]:
        return ready
    # Readiness went away again (another greenlet consumed it): report what
    # libev saw, as gevent does.
    seen = {}
    for fd, revents in fired:
        seen[fd] = seen.get(fd, 0) | (_POLLIN if revents & _EV_READ else 0) | (_POLLOUT if revents & _EV_WRITE else 0)
    return results(seen)


def _checked_mask(eventmask):
    # The stdlib's checks (an unsigned short), made at register time: a bad
    # mask stored here would make every later poll() raise.
    if not isinstance(eventmask, int):
        try:
            eventmask = eventmask.__index__()
        except AttributeError:
            raise TypeError('an integer is required') from None
    if eventmask < 0:
        raise ValueError('value must be positive')
    if eventmask > 0xFFFF:
        raise OverflowError('Python int too large for C unsigned short')
    return eventmask


class poll(object):
    """The stdlib's ``select.poll`` that blocks only the current greenlet.

    ``poll()``'s results are the kernel's (POLLHUP, POLLERR, POLLNVAL
    included); waiting itself sees POLLIN and POLLOUT only.
    """

    def __init__(self):
        # {fd: eventmask}; no watchers are kept between calls, because
        # callers commonly drop poll objects without unregistering.
        self.fds = {}

    def register(self, fd, eventmask=_POLLIN | _POLLPRI | _POLLOUT):
        """Register *fd* (an int or an object with ``fileno()``) for *eventmask*."""
        self.fds[_fileno(fd)] = _checked_mask(eventmask)

    def modify(self, fd, eventmask):
        """Change the events watched on the registered *fd*."""
        fileno = _fileno(fd)
        eventmask = _checked_mask(eventmask)
        if fileno not in self.fds:
            raise FileNotFoundError(_errno.ENOENT, _os.strerror(_errno.ENOENT))
        self.fds[fileno] = eventmask

    def unregister(self, fd):
        """Stop watching *fd*; KeyError if it was not registered."""
        del self.fds[_fileno(fd)]

    def poll(self, timeout=None):
        """poll([timeout]) -> list of (fd, event)

        *timeout* is in milliseconds; None or negative blocks."""
        if timeout is not None:
            if timeout < 0:
                timeout = None
            else:
                timeout = timeout / 1000.0
        masks = dict(self.fds)
        ready = list(_poll_now(masks).items())
        if ready or timeout == 0:
            _sleep()
            return ready
        watch = [(fd, _ev_flags(mask)) for fd, mask in masks.items() if _ev_flags(mask)]
        fired = _wait_any(watch, timeout)
        if fired is None:
            return []
        ready = list(_poll_now(masks).items())
        if ready:
            return ready
        result = {}
        for fd, revents in fired:
            ev = 0
            if revents & _EV_READ:
                ev |= _POLLIN
            if revents & _EV_WRITE:
                ev |= _POLLOUT
            result[fd] = result.get(fd, 0) | (ev & masks.get(fd, 0))
        return [(fd, ev) for fd, ev in result.items() if ev]
