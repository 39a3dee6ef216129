"""The default resolver: the C library's functions, run in the hub's thread pool.

Its answers are the stdlib's by construction (the same calls, in a worker
thread), and a slow lookup blocks only the greenlet that asked. Lookups the
C library answers without a query (numeric addresses, ``None``) are made
right away, without the round trip to a worker.
"""
import _socket

from geventc._hub import get_hub

__all__ = ['Resolver']

_AF_UNSPEC = _socket.AF_UNSPEC
_SOCK_DGRAM = _socket.SOCK_DGRAM
_AI_NUMERICHOST = _socket.AI_NUMERICHOST
_inet_pton = _socket.inet_pton
_AF_INET = _socket.AF_INET
_AF_INET6 = _socket.AF_INET6


def _is_address(host):
    # A plain IPv4/IPv6 address: the C library reads it without a lookup.
    if isinstance(host, str):
        try:
            _inet_pton(_AF_INET, host)
            return True
        except (OSError, ValueError):
            pass
        if ':' in host:
            try:
                _inet_pton(_AF_INET6, host.split('%', 1)[0])
                return True
            except (OSError, ValueError):
                pass
    return False


class Resolver(object):
    """The C library's resolver functions, run in ``hub.threadpool``.

    The results and errors are exactly the stdlib's; lookup failures
    (``gaierror``, ``herror``) are added to the hub's ``NOT_ERROR`` so the
    hub does not print them, as gevent does.
    """

    def __init__(self, hub=None):
        if hub is None:
            hub = get_hub()
        self.hub = hub
        self.pool = hub.threadpool
        not_error = getattr(hub, 'NOT_ERROR', ())
        if _socket.gaierror not in not_error:
            hub.NOT_ERROR = tuple(not_error) + (_socket.gaierror, _socket.herror)

    def __repr__(self):
        return '<%s.%s at 0x%x pool=%r>' % (type(self).__module__, type(self).__name__,
                                            id(self), self.pool)

    def close(self):
        pass

    def gethostbyname(self, *args):
        if args and _is_address(args[0]):
            return _socket.gethostbyname(*args)
        return self.pool.apply(_socket.gethostbyname, args)

    def gethostbyname_ex(self, *args):
        return self.pool.apply(_socket.gethostbyname_ex, args)

    def getaddrinfo(self, *args, **kwargs):
        if (args and (args[0] is None or _is_address(args[0]))) or kwargs.get('host', 1) is None:
            return _socket.getaddrinfo(*args, **kwargs)
        return self.pool.apply(_socket.getaddrinfo, args, kwargs)

    def gethostbyaddr(self, *args, **kwargs):
        return self.pool.apply(_socket.gethostbyaddr, args, kwargs)

    def getnameinfo(self, *args, **kwargs):
        if len(args) > 1 and isinstance(args[1], int) and args[1] & _socket.NI_NUMERICHOST:
            return _socket.getnameinfo(*args, **kwargs)
        return self.pool.apply(_socket.getnameinfo, args, kwargs)
