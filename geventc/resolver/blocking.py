"""A resolver that calls the C library directly (not cooperative).

The cheapest resolver, and the stdlib's answers; a slow lookup blocks every
greenlet of the thread. Choose it with ``GEVENT_RESOLVER=block``.
"""
import _socket

__all__ = ['Resolver']


class Resolver(object):
    """The stdlib's functions, called in the calling greenlet."""

    def __init__(self, hub=None):
        pass

    def close(self):
        pass

    gethostbyname = staticmethod(_socket.gethostbyname)
    gethostbyname_ex = staticmethod(_socket.gethostbyname_ex)
    getaddrinfo = staticmethod(_socket.getaddrinfo)
    gethostbyaddr = staticmethod(_socket.gethostbyaddr)
    getnameinfo = staticmethod(_socket.getnameinfo)
