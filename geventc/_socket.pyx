# cython: freethreading_compatible=False
"""The cooperative socket, compiled (public as ``geventc.socket``).

Design notes
------------
* A ``socket`` wraps a real ``_socket.socket`` (``_sock``) kept in
  non-blocking mode, as gevent's does: ``ssl`` and the servers that want the
  raw object get it, and the wrapper can be subclassed (``SSLSocket``).
* recv/send/accept/connect make the system call on the descriptor first and
  wait on the socket's io watcher only on EAGAIN: no BlockingIOError is made
  and caught on the way (gevent 26.9.0 raises one per message received).
  The descriptor is read from the real socket's struct at each call, never
  cached, so a ``_sock.close()`` behind our back gives EBADF, not a stray fd.
* One read and one write watcher per socket, made on the first wait and
  kept. A wait starts the watcher with the waiting greenlet's ``switch``
  and stops it afterwards, so ``Hub.cancel_wait`` (which throws into
  ``callback.__self__``) reaches the waiter.
* ``close()`` while other greenlets wait: their waits get
  ``cancel_wait_ex`` from a hub callback, and the descriptor is closed only
  after that, so libev never watches a closed (or reused) descriptor.
* No receive call holds memory while it waits: it makes the system call
  first and waits with nothing allocated on EAGAIN. The bytes land in one
  scratch area and are copied out at their real size (a socket whose reads
  are big reads into a fresh object instead); a caller's buffer
  (recv_into) is released during the wait; makefile() streams read what
  arrived (see "makefile() streams").
* recvmsg/sendmsg/sendto make the system call themselves too (no
  BlockingIOError per EAGAIN). Addresses in the common forms (numeric
  AF_INET/AF_INET6 tuples, AF_UNIX paths) are converted here as the stdlib
  would; any other form, and any other family, goes to the stdlib's call,
  which converts it or raises its own error.
* Names not defined here (``getsockopt``, ``bind`` ...) go to the real
  socket.
"""

cimport cython
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, _PyBytes_Resize
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_WRITABLE
from cpython.exc cimport PyErr_CheckSignals, PyErr_WarnEx
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from cpython.sequence cimport PySequence_Fast
from libc.limits cimport INT_MAX, INT_MIN
from libc.string cimport memcpy
from posix.unistd cimport close as _close_fd
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from libc.errno cimport errno, EAGAIN, EINTR, EBADF, EINPROGRESS, EALREADY, EISCONN
from libc.string cimport memset
from posix.types cimport off_t

from geventc.includes cimport sockets as c
from geventc.includes.libc cimport EWOULDBLOCK, strnlen
from geventc.includes.python cimport (
    PyUnicode_DecodeFSDefaultAndSize, PyArg_Parse, PyArg_ParseTuple, PySys_Audit)
from geventc.includes.sockets cimport MSG_DONTWAIT
from geventc.includes cimport libev
from geventc.includes.greenlet cimport greenlet, PyGreenlet_Import, PyGreenlet_GetCurrent
from geventc._core cimport io, loop
from geventc._hub cimport HubBase, Timeout, get_hub, _hub_run_callback

import io as _io
import os as _os
import time as _time
import _socket
import socket as __socket__

from geventc._hub import ConcurrentObjectUseError, InvalidSwitchError
from geventc._core import EVENTS as _EVENTS

PyGreenlet_Import()

__all__ = [
    'socket', 'SocketType', 'wait', 'wait_read', 'wait_write', 'wait_readwrite',
    'cancel_wait', 'cancel_wait_ex', 'getaddrinfo', 'gethostbyname', 'gethostbyname_ex',
    'gethostbyaddr', 'getnameinfo', 'getfqdn',
]

cdef object _timeout_error = __socket__.timeout
cdef int _SOCK_NONBLOCK = _socket.SOCK_NONBLOCK
cdef int _SOCK_CLOEXEC = _socket.SOCK_CLOEXEC
cdef object _SocketError = OSError
cdef object _RealSocket = _socket.socket
cdef object AddressFamily = __socket__.AddressFamily
cdef object SocketKind = __socket__.SocketKind
cdef object _SocketIO = __socket__.SocketIO
cdef object _GiveupOnSendfile = __socket__._GiveupOnSendfile
cdef object _strerror = _os.strerror

#: ``send(..., timeout=timeout_default)`` means "the socket's own timeout".
timeout_default = object()

# "No argument given" for wait()'s timeout_exc (None has a meaning there).
_NONE = object()


# -- the descriptor inside CPython's socket object ---------------------------

cdef bint _FD_FROM_STRUCT = False


cdef int _check_struct_layout() except -1:
    # sockets.pxd reads the fd from the head of CPython's socket struct; trust
    # it only if it agrees with fileno() here (else fall back to fileno()).
    global _FD_FROM_STRUCT
    probe = _RealSocket(_socket.AF_INET, _socket.SOCK_STREAM)
    try:
        _FD_FROM_STRUCT = (<c.geventc_PySocketSockObject_head*><PyObject*>probe).sock_fd == probe.fileno()
    finally:
        probe.close()
    if _FD_FROM_STRUCT:
        detached = _RealSocket(_socket.AF_INET, _socket.SOCK_STREAM)
        _os.close(detached.detach())
        _FD_FROM_STRUCT = (<c.geventc_PySocketSockObject_head*><PyObject*>detached).sock_fd == -1
    return 0

_check_struct_layout()


cdef int _raise_errno(int err) except -1:
    # The stdlib's error for the errno: OSError(errno, strerror) picks the
    # subclass (BlockingIOError, ConnectionResetError ...) as CPython does.
    raise OSError(err, _strerror(err))


cdef inline int _retry_after_eintr() except -1:
    # What CPython does on EINTR: run the Python signal handlers, then retry.
    PyErr_CheckSignals()
    return 0


cdef inline bint _must_wait(int flags, double timeout) except -1:
    # Right after a socket call failed (errno is its error): False to call
    # again at once (EINTR, once the signal handlers ran), True to wait for
    # the socket (EAGAIN on a socket that waits, without MSG_DONTWAIT);
    # anything else is raised.
    cdef int err = errno
    if err == EINTR:
        _retry_after_eintr()
        return False
    if (err == EAGAIN or err == EWOULDBLOCK) and timeout != 0.0 and not (flags & MSG_DONTWAIT):
        return True
    _raise_errno(err)


cdef int _get_writable_buffer(object buffer, Py_buffer* view) except -1:
    # The stdlib's TypeError (not BufferError) for a read-only buffer.
    try:
        PyObject_GetBuffer(buffer, view, PyBUF_WRITABLE)
    except BufferError:
        raise TypeError('argument 1 must be read-write bytes-like object, not %s'
                        % (type(buffer).__name__,)) from None
    return 0


cdef object _intenum_converter(value, enum_klass):
    try:
        return enum_klass(value)
    except ValueError:
        return value


# -- waiting -------------------------------------------------------------------

# What a wait's watcher switches the waiter back with: one constant tuple,
# so that a wait allocates no arguments.
cdef object _IO_READY = object()
cdef tuple _IO_READY_ARGS = (_IO_READY,)

# Every frame between a greenlet's start and its switch is copied to the heap
# while it waits (its saved stack slice): the waits below keep the frames
# that stay live across the switch small, and their error reports apart.

cdef int _wait_on_io(HubBase hub, io w) except -1:
    """Block the current greenlet until *w* fires; the watcher is started
    here with the greenlet's switch (what cancel_wait throws into)."""
    if w._callback is not None:
        _raise_in_use(w)
    w._start((<object>PyGreenlet_GetCurrent()).switch, _IO_READY_ARGS)
    try:
        result = hub.switch_c()
    finally:
        w._stop()
    if result is not _IO_READY:
        _raise_invalid_switch(result, w, hub)
    return 0


cdef int _raise_in_use(io w) except -1:
    raise ConcurrentObjectUseError('This socket is already used by another greenlet: %r'
                                   % (w._callback,))


cdef int _raise_invalid_switch(object result, io w, HubBase hub) except -1:
    raise InvalidSwitchError('Invalid switch into %s: got %r (expected a wake-up of %r; '
                             'waiting on %r)' % (<object>PyGreenlet_GetCurrent(), result, w, hub))


cdef inline int _sock_wait(socket s, io w, object timeout_exc) except -1:
    # A socket's wait within its own timeout (recv/send/accept...).
    if s._timeout > 0.0:
        return s._wait_timed(w, timeout_exc)
    return _sock_wait_untimed(s, w)


cdef inline int _sock_wait_untimed(socket s, io w) except -1:
    _wait_on_io(s.hub, w)
    if w is not s._read_io and w is not s._write_io:
        # close() dropped our watcher while we slept; its wake-up of the
        # descriptor's watchers may reach us before its cancel_wait does.
        _raise_cancel_wait()
    return 0


cdef int _raise_cancel_wait() except -1:
    raise cancel_wait_ex()


# A stream recv that returned less than it asked for emptied the kernel's
# queue. In request/response traffic the next recv on that socket, made at
# once, fails with EAGAIN (the peer has not answered yet): that recv waits
# for readability first instead of making the system call (half of the
# recv calls of an echo). If data is there, the wait returns at once.

cdef inline int _wait_if_drained(socket s, int flags) except -1:
    if s._drained:
        s._drained = False
        if s._timeout != 0.0 and not (flags & MSG_DONTWAIT):
            _sock_wait(s, s._get_read_io(), None)
    return 0


cdef inline void _note_drained(socket s, Py_ssize_t n, Py_ssize_t asked, int flags) noexcept:
    if s._stream and flags == 0 and 0 < n < asked:
        s._drained = True


cdef Timeout _start_timeout(double seconds, object exc):
    cdef Timeout t = Timeout(seconds, exc, True, -1, True)
    t.start_c()
    return t


cdef int _wait_on_io_for(HubBase hub, io w, timeout, timeout_exc) except -1:
    # gevent's wait_on_watcher semantics: timeout None waits forever;
    # timeout_exc is as for Timeout, defaulting to socket.timeout('timed out').
    cdef Timeout t = None
    if timeout is not None:
        if timeout_exc is _NONE:
            timeout_exc = _timeout_error('timed out')
        t = Timeout(timeout, timeout_exc, True, -1, True)
        t.start_c()
    try:
        _wait_on_io(hub, w)
    finally:
        if t is not None:
            t.cancel()
    return 0


def wait(watcher, timeout=None, timeout_exc=_NONE, hub=None):
    """wait(watcher, timeout=None, [timeout_exc=None]) -> None

    Block the current greenlet until *watcher* is ready. After *timeout*
    seconds raise *timeout_exc* (as for ``Timeout``; by default
    ``socket.timeout('timed out')``). If another greenlet calls
    :func:`cancel_wait` on *watcher*, its error is raised here.
    """
    if hub is None:
        hub = get_hub()
    if watcher.callback is not None:
        raise ConcurrentObjectUseError('This socket is already used by another greenlet: %r'
                                       % (watcher.callback,))
    if type(watcher) is io and isinstance(hub, HubBase):
        _wait_on_io_for(<HubBase>hub, <io>watcher, timeout, timeout_exc)
        return
    if timeout is None:
        hub.wait(watcher)
        return
    t = Timeout._start_new_or_dummy(
        timeout, timeout_exc if timeout_exc is not _NONE else _timeout_error('timed out'))
    with t:
        hub.wait(watcher)


cdef io _new_io(HubBase hub, fd, int events):
    # hub.loop may be a proxy of a geventc loop: ask it for the watcher.
    if hub._cloop is not None:
        return io(hub._cloop, fd, events)
    return <io?>hub.loop.io(fd, events)


cdef _wait_fd(fileno, int events, timeout, timeout_exc):
    cdef HubBase hub = get_hub()
    cdef io w = _new_io(hub, fileno, events)
    try:
        _wait_on_io_for(hub, w, timeout, timeout_exc)
    finally:
        w.close()


def wait_read(fileno, timeout=None, timeout_exc=_NONE):
    """Block the current greenlet until *fileno* is readable (see :func:`wait`)."""
    _wait_fd(fileno, 1, timeout, timeout_exc)


def wait_write(fileno, timeout=None, timeout_exc=_NONE, event=_NONE):
    """Block the current greenlet until *fileno* is writable (see :func:`wait`).

    *event* is ignored (deprecated in gevent 1.1)."""
    _wait_fd(fileno, 2, timeout, timeout_exc)


def wait_readwrite(fileno, timeout=None, timeout_exc=_NONE, event=_NONE):
    """Block the current greenlet until *fileno* is readable or writable (see :func:`wait`)."""
    _wait_fd(fileno, 3, timeout, timeout_exc)


@cython.final
cdef class _AnyWaiter:
    # Switches its greenlet back on the first event; the waiting side stops
    # every watcher before it returns, so later events are simply dropped
    # (select/poll re-poll the kernel for the full, exact answer anyway).
    cdef object glet
    cdef list fired

    def fire(self, int revents, fd):
        self.fired.append((fd, revents))
        if len(self.fired) == 1:
            self.glet.switch(self)


def _wait_any(fd_flags, timeout=None):
    """Block until one of the ``(fd, flags)`` (flags: 1 read, 2 write, 3
    both) is ready, or *timeout* seconds pass. Return ``[(fd, revents)]``
    of what woke us (only the first event), or None on timeout.

    Raises OSError(EBADF) for a descriptor that is not open."""
    cdef HubBase hub = get_hub()
    cdef _AnyWaiter waiter = _AnyWaiter.__new__(_AnyWaiter)
    cdef list watchers = []
    cdef io w
    cdef Timeout t = None
    waiter.glet = <object>PyGreenlet_GetCurrent()
    waiter.fired = []
    try:
        for fd, flags in fd_flags:
            w = _new_io(hub, fd, flags)
            watchers.append(w)
            w._start(waiter.fire, (_EVENTS, fd))
        if timeout is not None:
            t = Timeout(timeout, None, True, -1, True)
            t.start_c()
        try:
            result = hub.switch_c()
        except Timeout as ex:
            if ex is not t:
                raise
            return None
        if result is not waiter:
            raise InvalidSwitchError('Invalid switch into %s: got %r (expected %r)'
                                     % (waiter.glet, result, waiter))
        return waiter.fired
    finally:
        if t is not None:
            t.cancel()
        for w in watchers:
            w.close()


class cancel_wait_ex(OSError):
    """What a greenlet waiting on a socket gets when another one closes it."""

    def __init__(self):
        OSError.__init__(self, EBADF, 'File descriptor was closed in another greenlet')


def cancel_wait(watcher, error=cancel_wait_ex):
    """Make the greenlet waiting on *watcher* raise *error* (see ``Hub.cancel_wait``)."""
    get_hub().cancel_wait(watcher, error)


def _cancel_waits_then_close(HubBase hub, list watchers, error, sock):
    # A hub callback: wake every waiter with *error*, close the watchers,
    # and only then close the descriptor they were watching.
    for w in watchers:
        hub._cancel_wait(w, error, True)
    if sock is not None:
        try:
            sock.close()
        except OSError:
            pass


# -- name resolution (through the hub's resolver) -------------------------------

cdef inline object _resolver():
    return get_hub().resolver


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    """Resolve *host* and *port* into a list of ``(family, type, proto,
    canonname, sockaddr)``, as the stdlib's, through the hub's resolver."""
    addrlist = _resolver().getaddrinfo(host, port, family, type, proto, flags)
    return [(_intenum_converter(af, AddressFamily), _intenum_converter(socktype, SocketKind),
             pr, canonname, sa)
            for af, socktype, pr, canonname, sa in addrlist]


def gethostbyname(hostname):
    """Return the IPv4 address (a string) of *hostname*."""
    return _resolver().gethostbyname(hostname)


def gethostbyname_ex(hostname):
    """Return ``(name, aliaslist, addresslist)`` for *hostname*."""
    return _resolver().gethostbyname_ex(hostname)


def gethostbyaddr(ip_address):
    """Return ``(name, aliaslist, addresslist)`` for *ip_address*."""
    return _resolver().gethostbyaddr(ip_address)


def getnameinfo(sockaddr, flags):
    """Return ``(host, port)`` for *sockaddr*."""
    return _resolver().getnameinfo(sockaddr, flags)


def getfqdn(name=''):
    """Return a fully qualified domain name for *name* (default: this host)."""
    name = name.strip()
    if not name or name in ('0.0.0.0', '::'):
        name = _socket.gethostname()
    try:
        hostname, aliases, _ = gethostbyaddr(name)
    except OSError:
        pass
    else:
        aliases.insert(0, hostname)
        for candidate in aliases:
            if (b'.' if isinstance(candidate, bytes) else '.') in candidate:
                name = candidate
                break
        else:
            name = hostname
    return name


cdef tuple _RESOLVABLE_FAMILIES = (_socket.AF_INET, _socket.AF_INET6) if _socket.has_ipv6 else (_socket.AF_INET,)


def _resolve_addr(sock, address):
    """An AF_INET[6] ``(host, port[, flowinfo, scope_id])`` whose host is a
    name, resolved cooperatively (the stdlib would block in getaddrinfo)."""
    if not isinstance(address, tuple) or len(address) < 2:
        return address
    host = address[0]
    if not isinstance(host, str) or host in ('', '<broadcast>'):
        return address
    family = sock.family
    if family not in _RESOLVABLE_FAMILIES:
        return address
    try:
        _socket.inet_pton(family, host)
        return address
    except ValueError:
        # An embedded NUL: the stdlib call refuses it with its own error.
        return address
    except OSError:
        pass
    port = address[1]
    r = getaddrinfo(host, None, family)
    resolved = r[0][-1]
    if len(resolved) == 2:
        return (resolved[0], port)
    return (resolved[0], port, resolved[2], resolved[3])


# -- addresses as CPython returns them -------------------------------------------

cdef bint _family_has_address(int family) noexcept:
    return family == c.AF_INET or family == c.AF_INET6 or family == c.AF_UNIX


cdef object _makesockaddr(c.sockaddr* addr, c.socklen_t addrlen):
    # CPython's makesockaddr() for the families _family_has_address() accepts.
    cdef char buf[64]
    cdef c.sockaddr_in* sin
    cdef c.sockaddr_in6* sin6
    cdef c.sockaddr_un* sun
    cdef Py_ssize_t pathlen
    if addrlen == 0:
        return None
    if addr.sa_family == c.AF_INET:
        sin = <c.sockaddr_in*>addr
        if c.inet_ntop(c.AF_INET, &sin.sin_addr, buf, sizeof(buf)) == NULL:
            _raise_errno(errno)
        return (buf.decode('ascii'), c.ntohs(sin.sin_port))
    if addr.sa_family == c.AF_INET6:
        sin6 = <c.sockaddr_in6*>addr
        if c.inet_ntop(c.AF_INET6, &sin6.sin6_addr, buf, sizeof(buf)) == NULL:
            _raise_errno(errno)
        return (buf.decode('ascii'), c.ntohs(sin6.sin6_port), c.ntohl(sin6.sin6_flowinfo),
                sin6.sin6_scope_id)
    if addr.sa_family == c.AF_UNIX:
        sun = <c.sockaddr_un*>addr
        pathlen = <Py_ssize_t>addrlen - c.GEVENTC_SUN_PATH_OFFSET
        if pathlen > <Py_ssize_t>sizeof(sun.sun_path):
            pathlen = sizeof(sun.sun_path)
        if pathlen > 0 and sun.sun_path[0] == 0:
            # Linux's abstract namespace: the raw bytes.
            return PyBytes_FromStringAndSize(sun.sun_path, pathlen)
        if pathlen < 0:
            pathlen = 0
        return PyUnicode_DecodeFSDefaultAndSize(sun.sun_path, strnlen(sun.sun_path, pathlen))
    return (addr.sa_family, PyBytes_FromStringAndSize(addr.sa_data, sizeof(addr.sa_data)))


# -- addresses the way CPython's getsockaddrarg() reads them ------------------------

cdef int _sockaddr_from(int family, object address, c.sockaddr_storage* out,
                        c.socklen_t* outlen) except -1:
    """1 when *address* is one of the common forms, converted into *out*
    exactly as the stdlib would; 0 for anything else (the caller lets the
    stdlib convert it, or raise its own error). Host names are resolved
    before this (_resolve_addr): only numeric hosts are taken here."""
    cdef c.sockaddr_in* sin
    cdef c.sockaddr_in6* sin6
    cdef c.sockaddr_un* sun
    cdef Py_ssize_t n, size
    cdef bytes host, path
    memset(out, 0, sizeof(out[0]))
    if family == c.AF_INET or family == c.AF_INET6:
        if type(address) is not tuple:
            return 0
        size = len(<tuple>address)
        if size < 2 or size > (2 if family == c.AF_INET else 4):
            return 0
        host = _numeric_host(address[0])
        port = address[1]
        if host is None or type(port) is not int or not 0 <= port <= 0xffff:
            return 0
        if family == c.AF_INET:
            sin = <c.sockaddr_in*>out
            if c.inet_pton(c.AF_INET, host, &sin.sin_addr) != 1:
                return 0
            sin.sin_family = c.AF_INET
            sin.sin_port = c.htons(port)
            outlen[0] = sizeof(c.sockaddr_in)
            return 1
        flowinfo = address[2] if size > 2 else 0
        scope_id = address[3] if size > 3 else 0
        if (type(flowinfo) is not int or not 0 <= flowinfo <= 0xfffff
                or type(scope_id) is not int or not 0 <= scope_id <= 0xffffffff
                or b'%' in host):
            return 0
        sin6 = <c.sockaddr_in6*>out
        if c.inet_pton(c.AF_INET6, host, &sin6.sin6_addr) != 1:
            return 0
        sin6.sin6_family = c.AF_INET6
        sin6.sin6_port = c.htons(port)
        sin6.sin6_flowinfo = c.htonl(flowinfo)
        sin6.sin6_scope_id = scope_id
        outlen[0] = sizeof(c.sockaddr_in6)
        return 1
    if family == c.AF_UNIX:
        if type(address) is str:
            path = _os.fsencode(address)
        elif type(address) is bytes:
            path = address
        else:
            return 0
        sun = <c.sockaddr_un*>out
        n = len(path)
        if n == 0 or n > <Py_ssize_t>sizeof(sun.sun_path):
            return 0
        if path[0] != 0:
            # A file name: NUL-terminated, and the terminator counted.
            if n == <Py_ssize_t>sizeof(sun.sun_path):
                return 0
            outlen[0] = <c.socklen_t>(c.GEVENTC_SUN_PATH_OFFSET + n + 1)
        else:
            # Linux's abstract namespace: exactly these bytes.
            outlen[0] = <c.socklen_t>(c.GEVENTC_SUN_PATH_OFFSET + n)
        sun.sun_family = c.AF_UNIX
        memcpy(sun.sun_path, <char*>path, n)
        return 1
    return 0


cdef bytes _numeric_host(object host):
    # An ASCII str host without NULs (what inet_pton can judge), or None.
    if type(host) is not str or not (<str>host).isascii():
        return None
    encoded = (<str>host).encode('ascii')
    if b'\0' in encoded:
        return None
    return encoded


# -- ancillary data (recvmsg/sendmsg), read and built as CPython does -------------------

cdef bint _cmsg_fits(c.msghdr* msg, c.cmsghdr* h, size_t space) noexcept:
    # Whether *space* bytes from *h*, and at least its cmsg_len field, lie
    # inside the control buffer.
    cdef size_t offset, len_end
    if h == NULL or msg.msg_control == NULL:
        return False
    len_end = <size_t>(<char*>&h.cmsg_len - <char*>h) + sizeof(h.cmsg_len)
    if space < len_end:
        space = len_end
    offset = <size_t>(<char*>h - <char*>msg.msg_control)
    return offset <= <size_t>-1 - space and offset + space <= msg.msg_controllen


cdef int _cmsg_data_len(c.msghdr* msg, c.cmsghdr* h, size_t* data_len) noexcept:
    # 0: the item's data is whole (*data_len bytes); 1: it was cut to
    # *data_len bytes (MSG_CTRUNC); -1: no usable header.
    cdef size_t full, offset
    if not _cmsg_fits(msg, h, c.CMSG_LEN(0)) or h.cmsg_len < c.CMSG_LEN(0):
        return -1
    full = h.cmsg_len - c.CMSG_LEN(0)
    offset = <size_t>(<char*>c.CMSG_DATA(h) - <char*>msg.msg_control)
    if offset > msg.msg_controllen:
        return -1
    data_len[0] = msg.msg_controllen - offset
    if data_len[0] >= full:
        data_len[0] = full
        return 0
    return 1


cdef list _ancillary_items(c.msghdr* msg):
    # [(level, type, data)]; a malformed or cut item ends the list with a
    # RuntimeWarning, as the stdlib's.
    cdef list items = []
    cdef c.cmsghdr* h = c.CMSG_FIRSTHDR(msg) if msg.msg_controllen > 0 else NULL
    cdef size_t data_len = 0
    cdef int status
    while h != NULL:
        status = _cmsg_data_len(msg, h, &data_len)
        if status != 0:
            PyErr_WarnEx(RuntimeWarning,
                         'received malformed or improperly-truncated ancillary data', 1)
        if status < 0:
            break
        items.append((h.cmsg_level, h.cmsg_type,
                      PyBytes_FromStringAndSize(<char*>c.CMSG_DATA(h), data_len)))
        if status != 0:
            break
        h = c.CMSG_NXTHDR(msg, h)
    return items


cdef void _close_passed_fds(c.msghdr* msg) noexcept:
    # Descriptors that arrived with SCM_RIGHTS but will not reach the caller.
    cdef c.cmsghdr* h = c.CMSG_FIRSTHDR(msg) if msg.msg_controllen > 0 else NULL
    cdef size_t data_len = 0, i
    cdef int status
    cdef int* fds
    while h != NULL:
        status = _cmsg_data_len(msg, h, &data_len)
        if status < 0:
            break
        if h.cmsg_level == c.SOL_SOCKET and h.cmsg_type == c.SCM_RIGHTS:
            fds = <int*>c.CMSG_DATA(h)
            for i in range(data_len // sizeof(int)):
                _close_fd(fds[i])
        if status != 0:
            break
        h = c.CMSG_NXTHDR(msg, h)


cdef int _start_msghdr(c.msghdr* msg, c.sockaddr_storage* addr, c.iovec* iov,
                       Py_ssize_t iovcnt, Py_ssize_t ancbufsize) except -1:
    # One recvmsg() attempt's header; the control buffer is made here and
    # freed (PyMem_Free(msg.msg_control)) before any wait.
    memset(msg, 0, sizeof(msg[0]))
    memset(addr, 0, sizeof(addr[0]))
    addr.ss_family = c.AF_UNSPEC
    msg.msg_name = addr
    msg.msg_namelen = sizeof(addr[0])
    msg.msg_iov = iov
    msg.msg_iovlen = iovcnt
    if ancbufsize > 0:
        msg.msg_control = PyMem_Malloc(ancbufsize)
        if msg.msg_control == NULL:
            raise MemoryError()
        msg.msg_controllen = ancbufsize
    return 0


cdef tuple _recvmsg_result(c.msghdr* msg, object value):
    # (value, ancdata, msg_flags, address); on failure the descriptors
    # passed with the message are closed, so none leaks.
    cdef c.socklen_t namelen
    try:
        ancdata = _ancillary_items(msg)
        namelen = msg.msg_namelen
        if namelen > sizeof(c.sockaddr_storage):
            namelen = sizeof(c.sockaddr_storage)
        return (value, ancdata, msg.msg_flags, _makesockaddr(<c.sockaddr*>msg.msg_name, namelen))
    except BaseException:
        _close_passed_fds(msg)
        raise


cdef int _check_ancbufsize(Py_ssize_t ancbufsize) except -1:
    if ancbufsize < 0 or ancbufsize > INT_MAX:
        raise ValueError('invalid ancillary data buffer length')
    return 0


# -- where received bytes land first ------------------------------------------------

cdef enum:
    # Reads up to this size go through the scratch area (and so do larger
    # ones on a socket whose recent reads were small).
    _SCRATCH_SIZE = 65536
    # Copying a read out of the scratch area costs less than the allocation
    # it saves up to about this size; a socket whose reads return more
    # switches to reading straight into a fresh object of the requested size,
    # and back when a read returns no more than this.
    _COPY_MAX = 8192
    _SCRATCH_WORDS = _SCRATCH_SIZE // 8

# The scratch area: recv()/recvfrom()/recvmsg() read into it and copy out
# exactly the bytes that arrived, so a greenlet waiting for data holds no
# buffer and a 120-byte message costs one 120-byte object, whatever the
# requested size. One area serves every greenlet and thread: it is used only
# between a system call and the copy right after it, with the GIL held
# throughout and no switch possible (the module runs with the GIL: see the
# freethreading directive above). 8-byte elements keep it aligned for cmsghdr.
cdef unsigned long long _scratch_words[_SCRATCH_WORDS]
cdef char* _scratch = <char*>_scratch_words


# -- the placeholders -------------------------------------------------------------

class _wrefsocket(_socket.socket):
    # The real socket we wrap: stdlib sockets can be weakly referenced and
    # the ssl module counts on it.
    __slots__ = ('__weakref__',)


class _closedsocket(object):
    """What ``_sock`` becomes on close/detach: every operation raises EBADF."""
    __slots__ = ('family', 'type', 'proto', 'orig_fileno', 'description')

    def __init__(self, family, type, proto, orig_fileno, description):
        self.family = family
        self.type = type
        self.proto = proto
        self.orig_fileno = orig_fileno
        self.description = description

    def fileno(self):
        return -1

    def close(self):
        pass

    detach = fileno

    def _dummy(*args, **kwargs):
        raise OSError(EBADF, 'Bad file descriptor')

    send = recv = recv_into = sendto = recvfrom = recvfrom_into = _dummy
    getsockname = getpeername = _dummy

    def __bool__(self):
        return False

    __getattr__ = _dummy

    def __repr__(self):
        return '<socket object [closed proxy at 0x%x fd=%s %s]>' % (
            id(self), self.orig_fileno, self.description)


# -- makefile() streams ------------------------------------------------------------
#
# The stdlib's streams allocate the size asked for and then wait for the
# socket with it (RawIOBase.read, BufferedReader.read/read1); these read what
# arrived instead, so a reader blocked in makefile().read() holds only the
# stream's own buffer.

cdef frozenset _BLOCKING_ERRNOS = frozenset((EAGAIN, EWOULDBLOCK))
# readall() asks for this much per recv(): big reads skip the scratch copy.
cdef Py_ssize_t _READALL_CHUNK = 65536


class _ReadingSocketIO(_SocketIO):
    """The stdlib's raw socket stream, whose read()/readall() are recv()s."""

    def read(self, size=-1):
        if size is None or size < 0:
            return self.readall()
        self._checkClosed()
        self._checkReadable()
        if self._timeout_occurred:
            raise OSError('cannot read from timed out object')
        try:
            return self._sock.recv(size)
        except _timeout_error:
            self._timeout_occurred = True
            raise
        except OSError as e:
            if e.errno in _BLOCKING_ERRNOS:
                return None
            raise

    def readall(self):
        chunks = []
        while True:
            data = self.read(_READALL_CHUNK)
            if data is None:
                if not chunks:
                    return None
                break
            if not data:
                break
            chunks.append(data)
        return b''.join(chunks)


class _ReadsWhatArrived(object):
    # read1()/read() for the buffered streams over a _ReadingSocketIO
    # (``_sockio``): wait by filling the stream's own buffer (peek), then
    # take bytes that are there; beyond the buffer, recv() directly.

    def read1(self, size=-1):
        if size:
            self.peek()
        return super().read1(size)

    def read(self, size=-1):
        if size is None or size <= 0:
            return super().read(size)
        data = self.read1(size)
        if not data:
            # EOF, or nothing yet on a non-blocking socket: the stream's own
            # answer (b'' or None), with no wait.
            return super().read(size)
        if len(data) >= size:
            return data
        # read1() returned all that was buffered: the buffer is empty now.
        chunks = [data]
        left = size - len(data)
        raw = self._sockio
        while left > 0:
            more = raw.read(left)
            if not more:
                break
            chunks.append(more)
            left -= len(more)
        return b''.join(chunks)


class _SocketReader(_ReadsWhatArrived, _io.BufferedReader):

    def __repr__(self):
        # The stdlib's makefile() returns a plain BufferedReader: its repr
        # (the type named _io.BufferedReader) is what callers see and print.
        try:
            name = self.name
        except ValueError:
            # Detached: the stdlib's repr leaves the name out.
            return '<_io.BufferedReader>'
        return '<_io.BufferedReader name=%r>' % (name,)


class _SocketRWPair(_ReadsWhatArrived, _io.BufferedRWPair):
    pass


# -- the socket ------------------------------------------------------------------

cdef object _base_send = None
cdef object _base_recv_into = None


@cython.auto_pickle(False)
cdef class socket:
    """A cooperative socket with the stdlib's ``socket.socket`` API.

    Blocking calls block only the calling greenlet. ``timeout`` works as the
    stdlib's: None blocks, 0.0 is non-blocking (BlockingIOError), a number
    raises ``socket.timeout('timed out')`` after that many seconds.
    """

    #: The class of the real socket wrapped; subclasses may override (it must
    #: subclass _socket.socket and allow weak references).
    _gevent_sock_class = _wrefsocket

    def __cinit__(self, *args, **kwargs):
        self._timeout = -1.0
        self._timeout_obj = None
        self._ref = True
        self._real = False

    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        if fileno is None:
            if family == -1:
                family = _socket.AF_INET
            if type == -1:
                type = _socket.SOCK_STREAM
            if proto == -1:
                proto = 0
        self._closed = False
        self._io_refs = 0
        self.hub = get_hub()
        sock = self._gevent_sock_class(family, type, proto, fileno)
        _RealSocket.setblocking(sock, False)
        self._read_io = None
        self._write_io = None
        self._set_sock(sock)
        if type != -1 and _SOCK_NONBLOCK and (<object>type) & _SOCK_NONBLOCK:
            # As the stdlib's: a socket asked for non-blocking is one
            # (timeout 0.0), whatever the default timeout.
            self._set_timeout(0.0)
        else:
            self._set_timeout(_socket.getdefaulttimeout())

    cdef int _set_sock(self, object sock) except -1:
        self._sock_obj = sock
        self._real = _FD_FROM_STRUCT and isinstance(sock, _RealSocket)
        self._stream = self._real and (sock.type & ~(_SOCK_NONBLOCK | _SOCK_CLOEXEC)) == c.SOCK_STREAM
        self._drained = False
        return 0

    cdef int _fd(self) except -1:
        cdef int fd
        if self._real:
            fd = (<c.geventc_PySocketSockObject_head*><PyObject*>self._sock_obj).sock_fd
        elif self._sock_obj is None:
            fd = -1
        else:
            fd = self._sock_obj.fileno()
        if fd < 0:
            _raise_errno(EBADF)
        return fd

    # -- attributes gevent code reads ------------------------------------------

    @property
    def _sock(self):
        return self._sock_obj

    @_sock.setter
    def _sock(self, value):
        self._set_sock(value)

    cdef int _check_hub(self) except -1:
        # Typed access through a None hub would crash, not raise.
        if self.hub is None:
            raise ValueError('socket.__init__() was not called')
        return 0

    cdef io _get_read_io(self):
        if self._read_io is None:
            self._check_hub()
            self._read_io = _new_io(self.hub, self._fd(), 1)
            if not self._ref:
                self._read_io.ref = False
        return self._read_io

    cdef io _get_write_io(self):
        if self._write_io is None:
            self._check_hub()
            self._write_io = _new_io(self.hub, self._fd(), 2)
            if not self._ref:
                self._write_io.ref = False
        return self._write_io

    @property
    def _read_event(self):
        # Made on first use; None once the socket is closed (as gevent's).
        if self._read_io is None and not self._sock_obj:
            return None
        return self._get_read_io()

    @_read_event.setter
    def _read_event(self, io value):
        self._read_io = value

    @property
    def _write_event(self):
        if self._write_io is None and not self._sock_obj:
            return None
        return self._get_write_io()

    @_write_event.setter
    def _write_event(self, io value):
        self._write_io = value

    @property
    def ref(self):
        """False: waiting on this socket does not keep the loop alive."""
        return self._ref

    @ref.setter
    def ref(self, value):
        self._ref = bool(value)
        if self._read_io is not None:
            self._read_io.ref = self._ref
        if self._write_io is not None:
            self._write_io.ref = self._ref

    @property
    def family(self):
        return _intenum_converter(self._sock_obj.family, AddressFamily)

    @property
    def type(self):
        return _intenum_converter(self._sock_obj.type & ~_socket.SOCK_NONBLOCK, SocketKind)

    @property
    def proto(self):
        return self._sock_obj.proto

    @property
    def closed(self):
        return self._closed

    def __getattr__(self, name):
        # Everything else is the real socket's (it raises EBADF once closed).
        sock = self._sock_obj
        if sock is None:
            raise AttributeError(name)
        return getattr(sock, name)

    def __enter__(self):
        return self

    def __exit__(self, *args):
        if not self._closed:
            self.close()

    def __repr__(self):
        try:
            s = repr(self._sock_obj)
        except Exception as ex:
            s = '<socket [%r]>' % (ex,)
        if s.startswith('<socket object'):
            s = '<%s.%s%s at 0x%x%s%s' % (
                type(self).__module__, type(self).__name__,
                ' [closed]' if self._closed else '',
                id(self), self._extra_repr(), s[7:])
        return s

    def _extra_repr(self):
        return ''

    def __getstate__(self):
        raise TypeError('Cannot serialize socket object')

    # -- timeouts ----------------------------------------------------------------

    cdef int _set_timeout(self, howlong) except -1:
        cdef double value
        if howlong is None:
            self._timeout = -1.0
            self._timeout_obj = None
            return 0
        try:
            f = howlong.__float__
        except AttributeError:
            raise TypeError('a float is required', howlong, type(howlong))
        value = f()
        if value < 0.0 or value != value:
            raise ValueError('Timeout value out of range')
        self._timeout = value
        self._timeout_obj = value
        return 0

    @property
    def timeout(self):
        """None (blocking), 0.0 (non-blocking) or the timeout in seconds."""
        return self._timeout_obj

    @timeout.setter
    def timeout(self, value):
        self._set_timeout(value)

    def settimeout(self, howlong):
        self._set_timeout(howlong)

    def gettimeout(self):
        return self._timeout_obj

    def setblocking(self, flag):
        # Only our timeout changes: the real socket stays non-blocking.
        self._set_timeout(None if flag else 0.0)

    def getblocking(self):
        return self._timeout != 0.0

    # -- waiting -----------------------------------------------------------------

    cdef int _wait_c(self, io w, object timeout_exc) except -1:
        # Wait within the socket's own timeout.
        return _sock_wait(self, w, timeout_exc)

    cdef int _wait_timed(self, io w, object timeout_exc) except -1:
        cdef Timeout t = _start_timeout(
            self._timeout, _timeout_error('timed out') if timeout_exc is None else timeout_exc)
        try:
            _sock_wait_untimed(self, w)
        finally:
            t.cancel()
        return 0

    cdef int _wait_untimed(self, io w) except -1:
        # The caller handles timeouts (sendall/connect bound the whole call).
        return _sock_wait_untimed(self, w)

    def _wait(self, io watcher, timeout_exc=None):
        """Wait on *watcher* (``_read_event``/``_write_event``) within this
        socket's timeout, raising *timeout_exc* (default socket.timeout)."""
        if watcher is None:
            if not self._sock_obj:
                raise cancel_wait_ex()
            raise ConcurrentObjectUseError('The socket has already been closed by another greenlet')
        self._wait_c(watcher, timeout_exc)

    # -- receiving ---------------------------------------------------------------
    #
    # No receive path holds memory while it waits: the system call is made
    # first, and on EAGAIN the greenlet waits with nothing allocated (a
    # caller's buffer is released during the wait, as gevent's calls do), then
    # tries again. Bytes arrive in the scratch area and are copied out at
    # their real size, or, on a socket whose reads are big (_COPY_MAX), straight
    # into an object allocated for this one attempt.

    cdef Py_ssize_t _recv_nowait(self, char* buf, Py_ssize_t nbytes, int flags,
                                 c.sockaddr_storage* addr, c.socklen_t* addrlen) except -2:
        # One recv/recvfrom (addr != NULL): the byte count, or -1 when the
        # caller should wait for the socket to become readable.
        cdef Py_ssize_t n
        cdef int fd
        while True:
            fd = self._fd()
            if addr == NULL:
                n = c.recv(fd, buf, nbytes, flags)
            else:
                addrlen[0] = sizeof(addr[0])
                memset(addr, 0, sizeof(addr[0]))
                n = c.recvfrom(fd, buf, nbytes, flags, <c.sockaddr*>addr, addrlen)
            if n >= 0:
                # MSG_TRUNC reports a datagram's full length: only nbytes are ours.
                return n if n <= nbytes else nbytes
            if _must_wait(flags, self._timeout):
                return -1

    cdef object _recv_bytes(self, Py_ssize_t bufsize, int flags,
                            c.sockaddr_storage* addr, c.socklen_t* addrlen):
        cdef Py_ssize_t n
        cdef PyObject* raw
        _wait_if_drained(self, flags)
        if bufsize <= _COPY_MAX or (bufsize <= _SCRATCH_SIZE and not self._big_reads):
            while True:
                n = self._recv_nowait(_scratch, bufsize, flags, addr, addrlen)
                if n >= 0:
                    break
                _sock_wait(self, self._get_read_io(), None)
            if n > _COPY_MAX:
                self._big_reads = True
            _note_drained(self, n, bufsize, flags)
            return PyBytes_FromStringAndSize(_scratch, n)
        while True:
            buf = PyBytes_FromStringAndSize(NULL, bufsize)
            n = self._recv_nowait(PyBytes_AS_STRING(buf), bufsize, flags, addr, addrlen)
            if n >= 0:
                break
            buf = None
            _sock_wait(self, self._get_read_io(), None)
        _note_drained(self, n, bufsize, flags)
        if n <= _COPY_MAX:
            self._big_reads = False
            if n == 0:
                return b''
        if n == bufsize:
            return buf
        # Shrink in place, as CPython does: we hold the only reference.
        Py_INCREF(buf)
        raw = <PyObject*>buf
        buf = None
        _PyBytes_Resize(&raw, n)
        buf = <object>raw
        Py_DECREF(buf)
        return buf

    cdef object _recv_c(self, Py_ssize_t bufsize, int flags):
        if bufsize <= 0:
            if bufsize == 0:
                # As CPython: no system call (TCP's recv of 0 bytes would wait).
                return b''
            raise ValueError('negative buffersize in recv')
        return self._recv_bytes(bufsize, flags, NULL, NULL)

    def recv(self, Py_ssize_t bufsize, int flags=0):
        """recv(bufsize[, flags]) -> data"""
        if bufsize <= 0:
            return self._recv_c(bufsize, flags)
        return self._recv_bytes(bufsize, flags, NULL, NULL)

    cdef Py_ssize_t _recv_into_c(self, buffer, Py_ssize_t nbytes, int flags,
                                 c.sockaddr_storage* addr, c.socklen_t* addrlen,
                                 bint from_) except -1:
        # recv_into/recvfrom_into: the caller's buffer is taken for each
        # attempt and released while we wait.
        cdef Py_buffer view
        cdef Py_ssize_t n, want = 0
        _wait_if_drained(self, flags)
        while True:
            _get_writable_buffer(buffer, &view)
            try:
                if nbytes < 0:
                    raise ValueError('negative buffersize in recvfrom_into' if from_
                                     else 'negative buffersize in recv_into')
                want = nbytes if nbytes else view.len
                if view.len < want:
                    raise ValueError('nbytes is greater than the length of the buffer' if from_
                                     else 'buffer too small for requested bytes')
                n = self._recv_nowait(<char*>view.buf, want, flags, addr, addrlen)
            finally:
                PyBuffer_Release(&view)
            if n >= 0:
                _note_drained(self, n, want, flags)
                return n
            self._wait_c(self._get_read_io(), None)

    def recv_into(self, buffer, Py_ssize_t nbytes=0, int flags=0):
        """recv_into(buffer, [nbytes[, flags]]) -> nbytes_read"""
        return self._recv_into_c(buffer, nbytes, flags, NULL, NULL, False)

    cdef object _retry_read(self, method, tuple args):
        # For the families whose addresses only the stdlib decodes: call, wait on EAGAIN.
        while True:
            try:
                return method(*args)
            except BlockingIOError:
                if self._timeout == 0.0:
                    raise
            self._wait_c(self._get_read_io(), None)

    def recvfrom(self, Py_ssize_t bufsize, int flags=0):
        """recvfrom(buffersize[, flags]) -> (data, address info)"""
        cdef c.sockaddr_storage addr
        cdef c.socklen_t addrlen = 0
        if bufsize < 0:
            raise ValueError('negative buffersize in recvfrom')
        if not _family_has_address(self._sock_obj.family):
            return self._retry_read(self._sock_obj.recvfrom, (bufsize, flags))
        data = self._recv_bytes(bufsize, flags, &addr, &addrlen)
        return data, _makesockaddr(<c.sockaddr*>&addr, addrlen)

    def recvfrom_into(self, buffer, Py_ssize_t nbytes=0, int flags=0):
        """recvfrom_into(buffer[, nbytes[, flags]]) -> (nbytes, address info)"""
        cdef c.sockaddr_storage addr
        cdef c.socklen_t addrlen = 0
        cdef Py_ssize_t n
        if not _family_has_address(self._sock_obj.family):
            return self._retry_read(self._sock_obj.recvfrom_into, (buffer, nbytes, flags))
        n = self._recv_into_c(buffer, nbytes, flags, &addr, &addrlen, True)
        return n, _makesockaddr(<c.sockaddr*>&addr, addrlen)

    # recvmsg/recvmsg_into/sendmsg exist on every POSIX platform geventc
    # builds on (libev, greenlet.h): no conditional definitions needed.

    cdef Py_ssize_t _recvmsg_nowait(self, c.msghdr* msg, int flags) except -2:
        # One recvmsg(): the byte count, or -1 when the caller should wait.
        cdef Py_ssize_t n
        while True:
            n = c.recvmsg(self._fd(), msg, flags)
            if n >= 0:
                return n
            if _must_wait(flags, self._timeout):
                return -1

    def recvmsg(self, *args):
        """recvmsg(bufsize[, ancbufsize[, flags]]) -> (data, ancdata, msg_flags, address)"""
        cdef Py_ssize_t bufsize = 0, ancbufsize = 0, n
        cdef int flags = 0
        cdef c.iovec iov
        cdef c.msghdr msg
        cdef c.sockaddr_storage addr
        cdef bint in_scratch
        cdef PyObject* raw
        PyArg_ParseTuple(args, 'n|ni:recvmsg', &bufsize, &ancbufsize, &flags)
        if bufsize < 0:
            raise ValueError('negative buffer size in recvmsg()')
        _check_ancbufsize(ancbufsize)
        if not _family_has_address(self._sock_obj.family):
            return self._retry_read(self._sock_obj.recvmsg, args)
        in_scratch = bufsize <= _SCRATCH_SIZE
        buf = None
        while True:
            if in_scratch:
                iov.iov_base = _scratch
            else:
                buf = PyBytes_FromStringAndSize(NULL, bufsize)
                iov.iov_base = PyBytes_AS_STRING(buf)
            iov.iov_len = bufsize
            _start_msghdr(&msg, &addr, &iov, 1, ancbufsize)
            try:
                n = self._recvmsg_nowait(&msg, flags)
                if n >= 0:
                    if n > bufsize:
                        n = bufsize
                    if in_scratch:
                        # Out of the scratch area before any Python code runs.
                        try:
                            data = PyBytes_FromStringAndSize(_scratch, n)
                        except BaseException:
                            _close_passed_fds(&msg)
                            raise
                    elif n == bufsize:
                        data = buf
                    else:
                        Py_INCREF(buf)
                        raw = <PyObject*>buf
                        buf = None
                        _PyBytes_Resize(&raw, n)
                        data = <object>raw
                        Py_DECREF(data)
                    return _recvmsg_result(&msg, data)
            finally:
                PyMem_Free(msg.msg_control)
            buf = None
            self._wait_c(self._get_read_io(), None)

    def recvmsg_into(self, *args):
        """recvmsg_into(buffers[, ancbufsize[, flags]]) -> (nbytes, ancdata, msg_flags, address)"""
        cdef PyObject* buffers = NULL
        cdef Py_ssize_t ancbufsize = 0, nitems, taken, i, n
        cdef int flags = 0
        cdef c.msghdr msg
        cdef c.sockaddr_storage addr
        cdef c.iovec* iovs = NULL
        cdef Py_buffer* views = NULL
        PyArg_ParseTuple(args, 'O|ni:recvmsg_into', &buffers, &ancbufsize, &flags)
        if not _family_has_address(self._sock_obj.family):
            return self._retry_read(self._sock_obj.recvmsg_into, args)
        items = PySequence_Fast(<object>buffers, 'recvmsg_into() argument 1 must be an iterable')
        nitems = len(items)
        if nitems > INT_MAX:
            raise OSError('recvmsg_into() argument 1 is too long')
        while True:
            # The caller's buffers are taken for each attempt, not across a wait.
            taken = 0
            msg.msg_control = NULL
            iovs = <c.iovec*>PyMem_Malloc(sizeof(c.iovec) * nitems + 1)
            views = <Py_buffer*>PyMem_Malloc(sizeof(Py_buffer) * nitems + 1)
            try:
                if iovs == NULL or views == NULL:
                    raise MemoryError()
                while taken < nitems:
                    PyArg_Parse(items[taken], 'w*;recvmsg_into() argument 1 must be an '
                                'iterable of single-segment read-write buffers', &views[taken])
                    iovs[taken].iov_base = views[taken].buf
                    iovs[taken].iov_len = views[taken].len
                    taken += 1
                _check_ancbufsize(ancbufsize)
                _start_msghdr(&msg, &addr, iovs, nitems, ancbufsize)
                n = self._recvmsg_nowait(&msg, flags)
                if n >= 0:
                    return _recvmsg_result(&msg, n)
            finally:
                PyMem_Free(msg.msg_control)
                for i in range(taken):
                    PyBuffer_Release(&views[i])
                PyMem_Free(views)
                PyMem_Free(iovs)
            self._wait_c(self._get_read_io(), None)

    # -- sending -----------------------------------------------------------------

    cdef Py_ssize_t _send_c(self, const char* buf, Py_ssize_t n, int flags, double timeout) except -1:
        cdef Py_ssize_t sent
        cdef int fd
        cdef Timeout t
        while True:
            fd = self._fd()
            sent = c.send(fd, buf, n, flags)
            if sent >= 0:
                return sent
            if _must_wait(flags, timeout):
                t = _start_timeout(timeout, _timeout_error('timed out')) if timeout > 0.0 else None
                try:
                    self._wait_untimed(self._get_write_io())
                finally:
                    if t is not None:
                        t.cancel()

    def send(self, data, int flags=0, timeout=timeout_default):
        """send(data[, flags]) -> count

        *timeout* (a gevent extension) overrides the socket's timeout."""
        cdef Py_buffer view
        cdef double seconds
        if timeout is timeout_default:
            seconds = self._timeout
        elif timeout is None:
            seconds = -1.0
        else:
            seconds = timeout
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            return self._send_c(<const char*>view.buf, view.len, flags, seconds)
        finally:
            PyBuffer_Release(&view)

    cdef int _sendall_c(self, const char* buf, Py_ssize_t n, int flags) except -1:
        # The timeout bounds the whole call, as the stdlib's since 3.5.
        cdef Py_ssize_t sent = 0, r
        cdef int fd
        cdef Timeout t = None
        cdef double deadline = 0.0, left
        if self._timeout > 0.0:
            deadline = _time.monotonic() + self._timeout
        try:
            while sent < n:
                fd = self._fd()
                r = c.send(fd, buf + sent, n - sent, flags)
                if r >= 0:
                    sent += r
                    continue
                if _must_wait(flags, self._timeout):
                    if deadline and t is None:
                        left = deadline - _time.monotonic()
                        if left <= 0.0:
                            raise _timeout_error('timed out')
                        t = _start_timeout(left, _timeout_error('timed out'))
                    self._wait_untimed(self._get_write_io())
        finally:
            if t is not None:
                t.cancel()
        return 0

    def sendall(self, data, int flags=0):
        """sendall(data[, flags])

        Send all of *data*, blocking this greenlet as needed."""
        cdef Py_buffer view
        if type(self) is not socket and type(self).send is not _base_send:
            # A subclass (SSLSocket) sends its own way: go through its send().
            return self._sendall_through_send(data, flags)
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            self._sendall_c(<const char*>view.buf, view.len, flags)
        finally:
            PyBuffer_Release(&view)

    def _sendall_through_send(self, data, int flags=0):
        # sendall() for subclasses with their own send(): the timeout bounds
        # the whole call; non-blocking sockets get send()'s own error.
        cdef double deadline = 0.0, left
        cdef Py_ssize_t sent = 0, length
        with memoryview(data) as view, view.cast('B') as mem:
            length = len(mem)
            timeout = self._timeout_obj
            if timeout:
                deadline = _time.monotonic() + timeout
            while sent < length:
                if not timeout:
                    sent += self.send(mem[sent:], flags)
                    continue
                left = deadline - _time.monotonic()
                if sent and left <= 0.0:
                    raise _timeout_error('timed out')
                sent += self.send(mem[sent:], flags, timeout=max(left, 0.0))
        return None

    cdef object _send_retrying(self, method, tuple args, int flags):
        # For the addresses only the stdlib converts: call, wait on EAGAIN.
        while True:
            try:
                return method(*args)
            except BlockingIOError:
                if self._timeout == 0.0 or flags & MSG_DONTWAIT:
                    raise
            self._wait_c(self._get_write_io(), None)

    cdef Py_ssize_t _sendmsg_c(self, c.msghdr* msg, int flags) except -1:
        cdef Py_ssize_t n
        while True:
            n = c.sendmsg(self._fd(), msg, flags)
            if n >= 0:
                return n
            if _must_wait(flags, self._timeout):
                self._wait_c(self._get_write_io(), None)

    def sendto(self, *args):
        """sendto(data[, flags], address) -> count"""
        cdef c.sockaddr_storage addr
        cdef c.socklen_t addrlen = 0
        cdef Py_buffer view
        cdef Py_ssize_t n
        cdef int iflags = 0
        if len(args) == 2:
            data, address = args
            flags = 0
        elif len(args) == 3:
            data, flags, address = args
        else:
            return self._sock_obj.sendto(*args)   # the stdlib's TypeError
        address = _resolve_addr(self, address)
        if (type(flags) is not int or not INT_MIN <= flags <= INT_MAX
                or not _sockaddr_from(self._sock_obj.family, address, &addr, &addrlen)):
            return self._send_retrying(self._sock_obj.sendto, args[:-1] + (address,),
                                       flags if type(flags) is int and INT_MIN <= flags <= INT_MAX else 0)
        iflags = flags
        PyArg_Parse(data, 'y*:sendto', &view)
        try:
            PySys_Audit('socket.sendto', 'OO', <PyObject*>self._sock_obj, <PyObject*>address)
            while True:
                n = c.sendto(self._fd(), view.buf, view.len, iflags, <c.sockaddr*>&addr, addrlen)
                if n >= 0:
                    return n
                if _must_wait(iflags, self._timeout):
                    self._wait_c(self._get_write_io(), None)
        finally:
            PyBuffer_Release(&view)

    def sendmsg(self, buffers, ancdata=(), int flags=0, address=None):
        """sendmsg(buffers[, ancdata[, flags[, address]]]) -> count"""
        cdef c.sockaddr_storage addr
        cdef c.socklen_t addrlen = 0
        cdef c.msghdr msg
        cdef Py_ssize_t ndata, ncmsgs, i
        cdef Py_ssize_t nviews = 0, ncviews = 0
        cdef size_t controllen = 0, space
        cdef c.iovec* iovs = NULL
        cdef Py_buffer* views = NULL
        cdef Py_buffer* cviews = NULL
        cdef int* levels = NULL
        cdef c.cmsghdr* h = NULL
        if address is not None:
            address = _resolve_addr(self, address)
            if not _sockaddr_from(self._sock_obj.family, address, &addr, &addrlen):
                return self._send_retrying(self._sock_obj.sendmsg,
                                           (buffers, ancdata, flags, address), flags)
        PySys_Audit('socket.sendmsg', 'OO', <PyObject*>self._sock_obj, <PyObject*>address)
        memset(&msg, 0, sizeof(msg))
        if address is not None:
            msg.msg_name = &addr
            msg.msg_namelen = addrlen
        data_items = PySequence_Fast(buffers, 'sendmsg() argument 1 must be an iterable')
        ndata = len(data_items)
        cmsg_items = PySequence_Fast(ancdata, 'sendmsg() argument 2 must be an iterable')
        ncmsgs = len(cmsg_items)
        try:
            iovs = <c.iovec*>PyMem_Malloc(sizeof(c.iovec) * ndata + 1)
            views = <Py_buffer*>PyMem_Malloc(sizeof(Py_buffer) * ndata + 1)
            cviews = <Py_buffer*>PyMem_Malloc(sizeof(Py_buffer) * ncmsgs + 1)
            levels = <int*>PyMem_Malloc(sizeof(int) * 2 * ncmsgs + 1)
            if iovs == NULL or views == NULL or cviews == NULL or levels == NULL:
                raise MemoryError()
            while nviews < ndata:
                PyObject_GetBuffer(data_items[nviews], &views[nviews], PyBUF_SIMPLE)
                iovs[nviews].iov_base = views[nviews].buf
                iovs[nviews].iov_len = views[nviews].len
                nviews += 1
            msg.msg_iov = iovs
            msg.msg_iovlen = ndata
            while ncviews < ncmsgs:
                PyArg_Parse(cmsg_items[ncviews], '(iiy*):[sendmsg() ancillary data items]',
                            &levels[2 * ncviews], &levels[2 * ncviews + 1], &cviews[ncviews])
                ncviews += 1
                space = c.CMSG_SPACE(cviews[ncviews - 1].len)
                if space < <size_t>cviews[ncviews - 1].len:
                    raise OSError('ancillary data item too large')
                if controllen + space > INT_MAX or controllen + space < controllen:
                    raise OSError('too much ancillary data')
                controllen += space
            if ncmsgs > 0:
                # Zeroed: glibc's CMSG_NXTHDR reads the next header's cmsg_len.
                msg.msg_control = PyMem_Malloc(controllen)
                if msg.msg_control == NULL:
                    raise MemoryError()
                memset(msg.msg_control, 0, controllen)
                msg.msg_controllen = controllen
                for i in range(ncmsgs):
                    h = c.CMSG_FIRSTHDR(&msg) if i == 0 else c.CMSG_NXTHDR(&msg, h)
                    if h == NULL:
                        raise RuntimeError('unexpected NULL result from %s()'
                                           % ('CMSG_FIRSTHDR' if i == 0 else 'CMSG_NXTHDR'))
                    if not _cmsg_fits(&msg, h, c.CMSG_LEN(cviews[i].len)):
                        raise RuntimeError('ancillary data does not fit in calculated space')
                    h.cmsg_len = c.CMSG_LEN(cviews[i].len)
                    h.cmsg_level = levels[2 * i]
                    h.cmsg_type = levels[2 * i + 1]
                    memcpy(c.CMSG_DATA(h), cviews[i].buf, cviews[i].len)
            return self._sendmsg_c(&msg, flags)
        finally:
            PyMem_Free(msg.msg_control)
            for i in range(nviews):
                PyBuffer_Release(&views[i])
            for i in range(ncviews):
                PyBuffer_Release(&cviews[i])
            PyMem_Free(levels)
            PyMem_Free(cviews)
            PyMem_Free(views)
            PyMem_Free(iovs)

    # -- sendfile ----------------------------------------------------------------

    def _check_sendfile_params(self, file, offset, count):
        if 'b' not in getattr(file, 'mode', 'b'):
            raise ValueError('file should be opened in binary mode')
        if not self.type & _socket.SOCK_STREAM:
            raise ValueError('only SOCK_STREAM type sockets are supported')
        if count is not None:
            if not isinstance(count, int):
                raise TypeError('count must be a positive integer (got {!r})'.format(count))
            if count <= 0:
                raise ValueError('count must be a positive integer (got {!r})'.format(count))

    def _sendfile_use_sendfile(self, file, offset=0, count=None):
        # os.sendfile(2) on the non-blocking socket, waiting on EAGAIN.
        cdef off_t off
        cdef Py_ssize_t sent, blocksize
        cdef Py_ssize_t total_sent = 0
        cdef int in_fd, err
        self._check_sendfile_params(file, offset, count)
        try:
            in_fd = file.fileno()
        except (AttributeError, _io.UnsupportedOperation) as err_:
            raise _GiveupOnSendfile(err_)
        try:
            fsize = _os.fstat(in_fd).st_size
        except OSError as err_:
            raise _GiveupOnSendfile(err_)
        if not fsize:
            return 0
        if self._timeout == 0.0:
            raise ValueError('non-blocking sockets are not supported')
        blocksize = min(count or fsize, 2 ** 30)
        off = offset
        try:
            while True:
                if count:
                    blocksize = min(count - total_sent, blocksize)
                    if blocksize <= 0:
                        break
                sent = c.sendfile(self._fd(), in_fd, &off, blocksize)
                if sent < 0:
                    err = errno
                    if err == EINTR:
                        _retry_after_eintr()
                        continue
                    if err == EAGAIN or err == EWOULDBLOCK:
                        self._wait_c(self._get_write_io(), None)
                        continue
                    if total_sent == 0:
                        # Not a file sendfile(2) can read: let the caller use send().
                        raise _GiveupOnSendfile(OSError(err, _strerror(err)))
                    _raise_errno(err)
                if sent == 0:
                    break
                total_sent += sent
            return total_sent
        finally:
            if total_sent > 0 and hasattr(file, 'seek'):
                file.seek(offset + total_sent)

    def _sendfile_use_send(self, file, offset=0, count=None):
        self._check_sendfile_params(file, offset, count)
        if self.gettimeout() == 0:
            raise ValueError('non-blocking sockets are not supported')
        if offset:
            file.seek(offset)
        blocksize = min(count, 8192) if count else 8192
        total_sent = 0
        try:
            while True:
                if count:
                    blocksize = min(count - total_sent, blocksize)
                    if blocksize <= 0:
                        break
                data = memoryview(file.read(blocksize))
                if not data:
                    break
                self.sendall(data)
                total_sent += len(data)
            return total_sent
        finally:
            if total_sent > 0 and hasattr(file, 'seek'):
                file.seek(offset + total_sent)

    def sendfile(self, file, offset=0, count=None):
        """sendfile(file[, offset[, count]]) -> sent

        Send a binary file until EOF (or *count* bytes from *offset*), with
        sendfile(2) where the file allows it, else read()+send()."""
        try:
            return self._sendfile_use_sendfile(file, offset, count)
        except _GiveupOnSendfile:
            return self._sendfile_use_send(file, offset, count)

    # -- connections -------------------------------------------------------------

    def _accept(self):
        return self._sock_obj._accept()

    def accept(self):
        """accept() -> (socket object, address info)"""
        cdef c.sockaddr_storage addr
        cdef c.socklen_t addrlen
        cdef int fd, newfd, err
        if not _family_has_address(self._sock_obj.family):
            while True:
                try:
                    newfd, address = self._sock_obj._accept()
                    break
                except BlockingIOError:
                    if self._timeout == 0.0:
                        raise
                self._wait_c(self._get_read_io(), None)
        else:
            while True:
                fd = self._fd()
                addrlen = sizeof(addr)
                memset(&addr, 0, sizeof(addr))
                newfd = c.accept4(fd, <c.sockaddr*>&addr, &addrlen, c.SOCK_CLOEXEC)
                if newfd >= 0:
                    break
                err = errno
                if err == EINTR:
                    _retry_after_eintr()
                    continue
                if (err == EAGAIN or err == EWOULDBLOCK) and self._timeout != 0.0:
                    self._wait_c(self._get_read_io(), None)
                    continue
                _raise_errno(err)
            try:
                address = _makesockaddr(<c.sockaddr*>&addr, addrlen)
            except BaseException:
                _os.close(newfd)
                raise
        try:
            sock = socket(self._sock_obj.family, self._sock_obj.type, self._sock_obj.proto, fileno=newfd)
        except BaseException:
            _os.close(newfd)
            raise
        if _socket.getdefaulttimeout() is None and self._timeout_obj:
            sock.setblocking(True)
        return sock, address

    def connect(self, address):
        """connect(address)

        Host names are resolved cooperatively (through the hub's resolver)."""
        self._internal_connect(address)

    def connect_ex(self, address):
        """connect_ex(address) -> errno (0 when connected)"""
        try:
            return self._internal_connect(address) or 0
        except _timeout_error:
            return EAGAIN
        except __socket__.gaierror:
            raise
        except OSError as ex:
            if ex.errno:
                return ex.errno
            raise

    def _internal_connect(self, address):
        # One non-overridable connect for both connect() and connect_ex(),
        # as the C socket module has.
        cdef Timeout t = None
        cdef int err = 0
        cdef c.socklen_t errlen
        address = _resolve_addr(self, address)
        if self._timeout == 0.0:
            return self._sock_obj.connect(address)
        if self._timeout > 0.0:
            t = _start_timeout(self._timeout, _timeout_error('timed out'))
        cdef bint had_write_io = self._write_io is not None
        try:
            while True:
                errlen = sizeof(err)
                if c.getsockopt(self._fd(), c.SOL_SOCKET, c.SO_ERROR, &err, &errlen) < 0:
                    _raise_errno(errno)
                if err:
                    raise OSError(err, _strerror(err))
                result = self._sock_obj.connect_ex(address)
                if not result or result == EISCONN:
                    break
                if result == EWOULDBLOCK or result == EINPROGRESS or result == EALREADY:
                    self._wait_untimed(self._get_write_io())
                else:
                    raise OSError(result, _strerror(result))
        finally:
            if t is not None:
                t.cancel()
            if not had_write_io and self._write_io is not None and self._write_io._callback is None:
                # Made only to wait for the connection: most connected
                # sockets never wait to write, and a watcher is ~170 bytes.
                self._write_io.close()
                self._write_io = None

    # -- delegated plain calls (explicit: faster than __getattr__) ---------------

    def fileno(self):
        return self._sock_obj.fileno()

    def getsockname(self):
        return self._sock_obj.getsockname()

    def getpeername(self):
        return self._sock_obj.getpeername()

    def bind(self, address):
        return self._sock_obj.bind(address)

    def listen(self, *args):
        return self._sock_obj.listen(*args)

    def getsockopt(self, *args):
        return self._sock_obj.getsockopt(*args)

    def setsockopt(self, *args):
        return self._sock_obj.setsockopt(*args)

    def get_inheritable(self):
        """Get the inheritable flag of the socket"""
        return _os.get_inheritable(self.fileno())

    def set_inheritable(self, inheritable):
        """Set the inheritable flag of the socket"""
        _os.set_inheritable(self.fileno(), inheritable)

    # -- shutdown, close, detach, dup ---------------------------------------------

    def shutdown(self, how):
        """shutdown(how): also wakes the greenlets waiting in that direction
        with cancel_wait_ex (as gevent's)."""
        hub = self.hub
        if how != 1 and self._read_io is not None:
            hub.cancel_wait(self._read_io, cancel_wait_ex)
        if how != 0 and self._write_io is not None:
            hub.cancel_wait(self._write_io, cancel_wait_ex)
        self._sock_obj.shutdown(how)

    def _drop_events_and_close(self, closefd=True, _cancel_wait_ex=cancel_wait_ex):
        cdef list deferred = []
        cdef loop lp = self.hub._cloop if self.hub is not None else None
        sock = self._sock_obj
        if closefd and self._real and lp is not None and lp._ptr != NULL:
            # Wake every other watcher on this descriptor (a select() or
            # poll() in another greenlet): it sees EBADF/POLLNVAL when it
            # looks again, instead of waiting forever on a closed fd.
            libev.ev_feed_fd_event(lp._ptr, (<c.geventc_PySocketSockObject_head*><PyObject*>sock).sock_fd,
                               1 | 2)
        for w in (self._read_io, self._write_io):
            if w is None:
                continue
            if (<io>w)._callback is None:
                w.close()
            else:
                deferred.append(w)
        self._read_io = None
        self._write_io = None
        if deferred:
            # Someone waits: wake them first, close the descriptor after.
            _hub_run_callback(self.hub, _cancel_waits_then_close,
                              (self.hub, deferred, _cancel_wait_ex, sock if closefd else None))
        elif closefd:
            sock.close()

    def _detach_socket(self, reason):
        sock = self._sock_obj
        if not sock:
            return
        family = type_ = proto = -1
        fileno = None
        try:
            family = sock.family
            type_ = sock.type
            proto = sock.proto
            fileno = sock.fileno()
        except OSError:
            pass
        self._drop_events_and_close(closefd=(reason == 'closed'))
        self._set_sock(_closedsocket(family, type_, proto, fileno, reason))

    def _real_close(self):
        if not self._sock_obj:
            return
        self._detach_socket('closed')

    def close(self):
        """Close the socket (once no makefile() object uses it). Greenlets
        waiting on it raise ``OSError(EBADF, 'File descriptor was closed in
        another greenlet')``."""
        self._closed = True
        if self._io_refs <= 0:
            self._real_close()

    def detach(self):
        """detach() -> file descriptor

        Forget the descriptor without closing it; return it."""
        self._closed = True
        sock = self._sock_obj
        if sock is None:
            return -1
        self._detach_socket('detached')
        return sock.detach()

    def dup(self):
        """dup() -> socket object on a duplicate of the descriptor"""
        fd = _os.dup(self.fileno())
        sock = type(self)(self.family, self.type, self.proto, fileno=fd)
        sock.settimeout(self.gettimeout())
        return sock

    def makefile(self, mode='r', buffering=None, *, encoding=None, errors=None, newline=None):
        """Return an I/O stream connected to the socket (as the stdlib's)."""
        for ch in mode:
            if ch not in {'r', 'w', 'b'}:
                raise ValueError('invalid mode %r (only r, w, b allowed)' % (mode,))
        writing = 'w' in mode
        reading = 'r' in mode or not writing
        binary = 'b' in mode
        rawmode = ''
        if reading:
            rawmode += 'r'
        if writing:
            rawmode += 'w'
        raw = _ReadingSocketIO(self, rawmode)
        self._io_refs += 1
        if buffering is None:
            buffering = -1
        if buffering < 0:
            buffering = _io.DEFAULT_BUFFER_SIZE
        if buffering == 0:
            if not binary:
                raise ValueError('unbuffered streams must be binary')
            return raw
        if reading and writing:
            buffer = _SocketRWPair(raw, raw, buffering)
            buffer._sockio = raw
        elif reading:
            buffer = _SocketReader(raw, buffering)
            buffer._sockio = raw
        else:
            buffer = _io.BufferedWriter(raw, buffering)
        if binary:
            return buffer
        text = _io.TextIOWrapper(buffer, encoding, errors, newline)
        text.mode = mode
        return text

    def _decref_socketios(self):
        # SocketIO.close() calls this.
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._closed:
            self.close()


_base_send = socket.send


# -- TLS over the cooperative socket (used by geventc.ssl.SSLSocket) ---------------

# Looked up on first use: importing ssl maps OpenSSL (3-4 MB of RSS and
# milliseconds of import time) into every process that imports the socket.
cdef object _SSLWantReadError = None
cdef object _SSLWantWriteError = None


cdef int _import_ssl_errors() except -1:
    global _SSLWantReadError, _SSLWantWriteError
    if _SSLWantWriteError is None:
        from ssl import SSLWantReadError, SSLWantWriteError
        _SSLWantReadError = SSLWantReadError
        _SSLWantWriteError = SSLWantWriteError
    return 0


cdef object _ssl_timeout_exc(socket self, str what):
    # Only made when there is a timeout to raise it.
    if self._timeout > 0.0:
        return _timeout_error('The %s operation timed out' % what)
    return None


def _ssl_call(socket self, str what, func, tuple args):
    """``func(*args)`` (an OpenSSL call on the non-blocking socket), waiting
    on the read or write watcher while it wants to read or write."""
    _import_ssl_errors()
    while True:
        try:
            return func(*args)
        except _SSLWantReadError:
            if self._timeout == 0.0:
                raise
            self._wait_c(self._get_read_io(), _ssl_timeout_exc(self, what))
        except _SSLWantWriteError:
            if self._timeout == 0.0:
                raise
            self._wait_c(self._get_write_io(), _ssl_timeout_exc(self, what))


def _ssl_read(socket self, sslobj, Py_ssize_t nbytes, buffer):
    """``sslobj.read(nbytes[, buffer])``, cooperatively.

    When OpenSSL holds no decrypted bytes and the kernel none either
    (FIONREAD), wait for the socket first: the read that would only raise
    SSLWantReadError is not made. Once the peer's close_notify has been
    read, OpenSSL answers EOF from its own state while the peer may keep
    the connection open (waiting for ours): no wait then."""
    cdef int avail = 0
    if (self._timeout != 0.0 and sslobj is not self._tls_eof_of
            and not sslobj.pending()):
        if c.ioctl(self._fd(), c.FIONREAD, &avail) == 0 and avail == 0:
            self._wait_c(self._get_read_io(), _ssl_timeout_exc(self, 'read'))
    if buffer is None:
        result = _ssl_call(self, 'read', sslobj.read, (nbytes,))
    else:
        result = _ssl_call(self, 'read', sslobj.read, (nbytes, buffer))
    if not result:
        self._tls_eof_of = sslobj
    return result


def _ssl_sendall(socket self, sslobj, data):
    """Write all of *data* through OpenSSL; the socket's timeout bounds the
    whole call, as the plain sendall's does."""
    cdef Py_ssize_t sent = 0, length
    cdef double deadline = 0.0
    cdef Timeout t = None
    _import_ssl_errors()
    with memoryview(data) as view, view.cast('B') as mem:
        length = len(mem)
        if self._timeout > 0.0:
            deadline = _time.monotonic() + self._timeout
        try:
            while sent < length:
                try:
                    sent += sslobj.write(mem[sent:] if sent else mem)
                    continue
                except _SSLWantReadError:
                    if self._timeout == 0.0:
                        raise
                    w = self._get_read_io()
                except _SSLWantWriteError:
                    if self._timeout == 0.0:
                        raise
                    w = self._get_write_io()
                if deadline and t is None:
                    left = deadline - _time.monotonic()
                    if left <= 0.0:
                        raise _timeout_error('The write operation timed out')
                    t = _start_timeout(left, _timeout_error('The write operation timed out'))
                self._wait_untimed(w)
        finally:
            if t is not None:
                t.cancel()

SocketType = socket
