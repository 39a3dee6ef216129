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
import fcntl as _fcntl
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
# libev's EV_ERROR, as a C int: what a watcher of a closed fd is told.
_EV_ERROR = -0x80000000
_EV_ERROR_RW = _EV_ERROR | _EV_READ | _EV_WRITE


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


def _poll_now(masks, timeout=0):
    """One poll(2) of ``{fd: mask}`` (*timeout* in seconds, None: forever):
    ``{fd: revents}``. Blocks the thread, not just the greenlet."""
    p = _original_poll()
    for fd, mask in masks.items():
        p.register(fd, mask)
    return dict(p.poll(None if timeout is None else timeout * 1000.0))


def _ev_flags(mask):
    flags = 0
    if mask & (_POLLIN | _POLLPRI):
        flags |= _EV_READ
    if mask & _POLLOUT:
        flags |= _EV_WRITE
    return flags


def _fd_closed(fd):
    try:
        _fcntl.fcntl(fd, _fcntl.F_GETFD)
    except OSError as ex:
        return ex.errno == _errno.EBADF
    return False


def _wait_for_ready(check, watch, timeout, seen, nothing, recheck=None):
    """The wait of ``select()``, ``poll.poll()`` and the selectors' ``select()``.

    *check()* is the kernel's answer now, None when nothing is ready.
    Otherwise the greenlet waits until libev sees one of *watch*
    (``[(fd, libev flags)]``) or *timeout* passes (*nothing* is returned
    then), and asks *recheck()* (default: *check*); if the kernel has
    nothing any more (another greenlet took it), ``seen(fired)`` makes the
    answer from what libev saw: ``[(fd, revents)]``, revents negative
    (``_EV_ERROR``) for a closed fd, as libev reports one.
    """
    ready = check()
    if ready is not None or timeout == 0:
        # Let the others run: a loop of always-ready selects must not starve them.
        _sleep()
        return ready if ready is not None else nothing
    try:
        fired = _wait_any(watch, timeout)
    except OSError as ex:
        # Closed since check(): reported as libev reports an fd that
        # turns out closed, ready with an error.
        if ex.errno != _errno.EBADF:
            raise
        fired = [(fd, _EV_ERROR_RW) for fd, _ in watch if _fd_closed(fd)]
        if not fired:
            raise
        _sleep()
        return seen(fired)
    if fired is None:
        return nothing
    ready = (recheck or check)()
    if ready is not None:
        return ready
    return seen(fired)


def _select_fds(lists, fdlists, timeout, closed_is_ready):
    # select() of the objects in *lists* = (r, w, x), whose descriptors are
    # *fdlists*: as the stdlib's, a closed one is EBADF, unless it was closed
    # while we waited: then, as gevent (and libev) report it, it is ready.
    masks = {}
    for fds, bit in zip(fdlists, (_POLLIN, _POLLOUT, _POLLPRI)):
        for fd in fds:
            masks[fd] = masks.get(fd, 0) | bit
    revents = _poll_now(masks, timeout)
    closed = 0
    for ev in revents.values():
        if ev & _POLLNVAL:
            if not closed_is_ready:
                raise OSError(_errno.EBADF, _os.strerror(_errno.EBADF))
            closed = _POLLNVAL
    return tuple([o for o, fd in zip(objs, fds) if revents.get(fd, 0) & wanted]
                 for objs, fds, wanted in zip(lists, fdlists, (_SELECT_READ | closed,
                                                               _SELECT_WRITE | closed,
                                                               _SELECT_EXCEPT)))


def _original_select(rlist, wlist, xlist, timeout=None):
    """The standard library's ``select.select``, blocking the thread.

    Asked of poll(2), so no FD_SETSIZE limit; the results and errors are
    select's (EBADF for a closed descriptor). ``select()`` asks it first
    with a zero timeout (the name is gevent's, and replaceable as there).
    """
    if timeout is not None and timeout < 0:
        raise ValueError('timeout must be non-negative')
    lists = (list(rlist), list(wlist), list(xlist))
    return _select_fds(lists, [[_fileno(o) for o in objs] for objs in lists], timeout, False)


_stdlib_select = _original_select


def _objects_and_fds(objects):
    # As the stdlib's: a fileno() that shrinks the list being read ends the
    # reading there, and each object is paired with the one descriptor it gave.
    objs, fds = [], []
    for obj in objects:
        fds.append(_fileno(obj))
        objs.append(obj)
    return objs, fds


def select(rlist, wlist, xlist, timeout=None):
    """select(rlist, wlist, xlist[, timeout]) -> (rlist, wlist, xlist)

    The stdlib's ``select.select`` that blocks only the current greenlet.
    The lists returned hold the objects passed in, in their order.
    """
    if timeout is not None and timeout < 0:
        raise ValueError('timeout must be non-negative')
    # The descriptors now, each fileno() called once: an object closed
    # while we wait says -1 later.
    (rlist, rfds), (wlist, wfds), (xlist, xfds) = map(_objects_and_fds, (rlist, wlist, xlist))
    fdlists = (rfds, wfds, xfds)
    flags = {}
    for fds, bit in zip(fdlists, (_EV_READ, _EV_WRITE)):
        for fd in fds:
            flags[fd] = flags.get(fd, 0) | bit

    def some(ready):
        return ready if (ready[0] or ready[1] or ready[2]) else None

    def check():
        if _original_select is not _stdlib_select:
            # Replaced (gevent's own tests do that): its answer is the one asked.
            return some(_original_select(rlist, wlist, xlist, 0))
        # fileno() is not asked again: the stdlib calls it once per object.
        return some(_select_fds((rlist, wlist, xlist), fdlists, 0, False))

    def recheck():
        return some(_select_fds((rlist, wlist, xlist), fdlists, 0, True))

    def seen(fired):
        revents = {}
        for fd, ev in fired:
            revents[fd] = revents.get(fd, 0) | ev
        return ([o for o, fd in zip(rlist, fdlists[0]) if revents.get(fd, 0) & _EV_READ],
                [o for o, fd in zip(wlist, fdlists[1]) if revents.get(fd, 0) & _EV_WRITE],
                [])

    return _wait_for_ready(check, list(flags.items()), timeout, seen, ([], [], []), recheck)


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

        def check():
            return list(_poll_now(masks).items()) or None

        def seen(fired):
            result = {}
            for fd, revents in fired:
                if revents < 0:
                    ev = _POLLNVAL
                else:
                    ev = 0
                    if revents & _EV_READ:
                        ev |= _POLLIN
                    if revents & _EV_WRITE:
                        ev |= _POLLOUT
                    ev &= masks.get(fd, 0)
                result[fd] = result.get(fd, 0) | ev
            return [(fd, ev) for fd, ev in result.items() if ev]

        watch = [(fd, _ev_flags(mask)) for fd, mask in masks.items() if _ev_flags(mask)]
        return _wait_for_ready(check, watch, timeout, seen, [])


def _gevent_do_monkey_patch(patch_request):
    patch_request.default_patch_items()
    if patch_request.patch_kwargs.get('aggressive', True):
        # Blocking multiplexers go: code that probes for them (asyncore,
        # selectors) then falls back to the cooperative select/poll.
        patch_request.remove_item('epoll', 'kqueue', 'kevent', 'devpoll')
