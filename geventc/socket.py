"""Cooperative low-level networking interface (gevent.socket).

The API matches the stdlib's :mod:`socket`: blocking calls block only the
current greenlet. The socket class and the waits are compiled
(``geventc._socket``); this module adds the stdlib's constants, exceptions
and helper functions, and the connection helpers built on our class.

Exceptions (``error``, ``timeout``, ``gaierror``, ``herror``) are the
stdlib's own, so ``except socket.timeout`` catches the same thing either way.
"""
import socket as __socket__
import _socket

from geventc._socket import (
    socket, SocketType, wait, wait_read, wait_write, wait_readwrite, cancel_wait,
    cancel_wait_ex, getaddrinfo, gethostbyname, gethostbyname_ex, gethostbyaddr,
    getnameinfo, getfqdn, timeout_default, _resolve_addr, _wrefsocket, _closedsocket,
)

# standard functions and classes this module re-implements cooperatively
__implements__ = [
    'create_connection', 'socket', 'SocketType', 'fromfd', 'socketpair',
    'getaddrinfo', 'gethostbyname', 'gethostbyname_ex', 'gethostbyaddr',
    'getnameinfo', 'getfqdn',
]

__dns__ = ['getaddrinfo', 'gethostbyname', 'gethostbyname_ex', 'gethostbyaddr',
           'getnameinfo', 'getfqdn']

# non-standard functions this module provides
__extensions__ = ['cancel_wait', 'wait_read', 'wait_write', 'wait_readwrite']

# standard names re-exported unchanged
__imports__ = []
_IMPORTS = [
    'error', 'gaierror', 'herror', 'htonl', 'htons', 'ntohl', 'ntohs', 'inet_aton',
    'inet_ntoa', 'inet_pton', 'inet_ntop', 'timeout', 'gethostname', 'getprotobyname',
    'getservbyname', 'getservbyport', 'getdefaulttimeout', 'setdefaulttimeout',
    'errorTab', 'AddressFamily', 'SocketKind', 'CMSG_LEN', 'CMSG_SPACE', 'dup',
    'if_indextoname', 'if_nameindex', 'if_nametoindex', 'sethostname',
    'has_dualstack_ipv6', 'recv_fds', 'send_fds', 'close', 'SocketIO',
]
for _name in _IMPORTS:
    if hasattr(__socket__, _name):
        globals()[_name] = getattr(__socket__, _name)
        __imports__.append(_name)
# Every constant (AF_*, SOCK_*, SO_*, MSG_*, ...) and has_ipv6.
for _name in __socket__.__all__:
    _value = getattr(__socket__, _name)
    if isinstance(_value, (int, str)) and not isinstance(_value, bool) or _name == 'has_ipv6':
        globals()[_name] = _value
        if _name not in __imports__:
            __imports__.append(_name)
del _name, _value

# create_server is re-implemented (the stdlib's makes a blocking socket).
__implements__.append('create_server')

__all__ = __implements__ + __extensions__ + [n for n in __imports__ if n != 'SocketIO']

_GLOBAL_DEFAULT_TIMEOUT = getattr(__socket__, '_GLOBAL_DEFAULT_TIMEOUT', object())

# Names gevent's module also has, which gevent code imports from it.
from errno import (  # noqa: E402,F401
    EAGAIN, EALREADY, EBADF, ECONNREFUSED, EHOSTUNREACH, EINPROGRESS, EINVAL, EISCONN, EWOULDBLOCK)
from os import strerror  # noqa: E402,F401
from geventc._hub import get_hub, Timeout  # noqa: E402,F401
_realsocket = _socket.socket


def create_connection(address, timeout=_GLOBAL_DEFAULT_TIMEOUT, source_address=None, *,
                      all_errors=False):
    """Connect to *address* ``(host, port)`` and return the cooperative socket.

    As the stdlib's: each address getaddrinfo returns is tried in turn;
    *timeout* (default: ``getdefaulttimeout()``) is set before connecting;
    *source_address* is bound first. With *all_errors*, an ExceptionGroup
    of every attempt's error is raised when all fail, else the last error.
    """
    host, port = address
    exceptions = []
    addrs = list(getaddrinfo(host, port, 0, SOCK_STREAM))  # noqa: F821 (re-exported constant)
    if not addrs:
        raise error('getaddrinfo returns an empty list')  # noqa: F821
    for res in addrs:
        af, socktype, proto, _canonname, sa = res
        sock = None
        try:
            sock = socket(af, socktype, proto)
            if timeout is not _GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sa)
        except OSError as exc:
            if not all_errors:
                exceptions = [exc]
            else:
                exceptions.append(exc)
            del exc
            if sock is not None:
                sock.close()
            sock = None
            if res is addrs[-1]:
                if not all_errors:
                    del exceptions[:]
                    raise
                try:
                    raise ExceptionGroup('create_connection failed', exceptions)
                finally:
                    del exceptions[:]
        except BaseException:
            # Timeout, GreenletExit, KeyboardInterrupt: close and propagate.
            if sock is not None:
                sock.close()
            raise
        else:
            exceptions = []
            return sock


def create_server(address, *, family=AF_INET, backlog=None, reuse_port=False,  # noqa: F821
                  dualstack_ipv6=False):
    """A cooperative listening TCP socket bound to *address* (as the stdlib's
    ``create_server``, whose socket would block the whole process)."""
    if reuse_port and not hasattr(_socket, 'SO_REUSEPORT'):
        raise ValueError('SO_REUSEPORT not supported on this platform')
    if dualstack_ipv6:
        if not __socket__.has_dualstack_ipv6():
            raise ValueError('dualstack_ipv6 not supported on this platform')
        if family != AF_INET6:  # noqa: F821
            raise ValueError('dualstack_ipv6 requires AF_INET6 family')
    sock = socket(family, SOCK_STREAM)  # noqa: F821
    try:
        # Lets a restarted server bind its port while old connections linger
        # in TIME_WAIT (POSIX semantics; the stdlib does the same).
        try:
            sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)  # noqa: F821
        except OSError:
            pass
        if reuse_port:
            sock.setsockopt(SOL_SOCKET, _socket.SO_REUSEPORT, 1)  # noqa: F821
        if has_ipv6 and family == AF_INET6:  # noqa: F821
            if dualstack_ipv6:
                sock.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0)  # noqa: F821
            elif hasattr(_socket, 'IPV6_V6ONLY') and hasattr(_socket, 'IPPROTO_IPV6'):
                sock.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1)  # noqa: F821
        try:
            sock.bind(address)
        except OSError as err:
            msg = '%s (while attempting to bind on address %r)' % (err.strerror, address)
            raise OSError(err.errno, msg) from None
        if backlog is None:
            sock.listen()
        else:
            sock.listen(backlog)
        return sock
    except BaseException:
        sock.close()
        raise


def fromfd(fd, family, type, proto=0):
    """fromfd(fd, family, type[, proto]) -> socket on a duplicate of *fd*"""
    return socket(family, type, proto, dup(fd))  # noqa: F821


def socketpair(family=None, type=SOCK_STREAM, proto=0):  # noqa: F821
    """socketpair([family[, type[, proto]]]) -> (socket, socket)

    A connected pair of cooperative sockets (AF_UNIX by default)."""
    if family is None:
        family = getattr(_socket, 'AF_UNIX', AF_INET)  # noqa: F821
    a, b = _socket.socketpair(family, type, proto)
    a = socket(family, type, proto, a.detach())
    b = socket(family, type, proto, b.detach())
    return a, b
