"""TCP, TLS and UDP servers (gevent.server).

:class:`StreamServer` accepts connections and calls ``handle(socket,
address)`` in a new greenlet for each; :class:`DatagramServer` calls
``handle(data, address)`` for each datagram. See
:class:`geventc.baseserver.BaseServer` for the common arguments.
"""
import sys

from _socket import error as SocketError
from _socket import SOL_SOCKET, SO_REUSEADDR, AF_INET, SOCK_DGRAM

from geventc.baseserver import BaseServer
from geventc.socket import EWOULDBLOCK
from geventc.socket import socket as GeventSocket

__all__ = ['StreamServer', 'DatagramServer']

DEFAULT_REUSE_ADDR = None if sys.platform == 'win32' else 1


class StreamServer(BaseServer):
    """StreamServer(listener, handle=None, backlog=None, spawn='default', **ssl_args)

    A TCP server: ``handle(client_socket, address)`` runs for each
    connection; the socket is closed when it returns.

    With *ssl_args*, the server speaks TLS: either ``ssl_context=`` (a
    :class:`geventc.ssl.SSLContext`; the remaining arguments go to its
    ``wrap_socket``) or the arguments of :func:`geventc.ssl.wrap_socket`
    (``keyfile``, ``certfile``, ``cert_reqs``, ``ssl_version``, ``ca_certs``,
    ``ciphers``, ``suppress_ragged_eofs``, ``do_handshake_on_connect``).
    The handshake runs in the handler's greenlet, so a slow client delays
    only itself.

    Errors from accepting or spawning pause accepting for :attr:`min_delay`
    (doubling up to :attr:`max_delay`); a failing handler affects only its
    own connection.
    """

    #: The listen(2) backlog for sockets the server creates.
    backlog = 128

    #: SO_REUSEADDR for sockets the server creates (None: leave as is).
    reuse_addr = DEFAULT_REUSE_ADDR

    def __init__(self, listener, handle=None, backlog=None, spawn='default', **ssl_args):
        BaseServer.__init__(self, listener, handle=handle, spawn=spawn)
        try:
            if ssl_args:
                ssl_args.setdefault('server_side', True)
                if 'ssl_context' in ssl_args:
                    ssl_context = ssl_args.pop('ssl_context')
                    self.wrap_socket = ssl_context.wrap_socket
                else:
                    from geventc.ssl import wrap_socket
                    self.wrap_socket = wrap_socket
                self.ssl_args = ssl_args
            else:
                self.ssl_args = None
            if backlog is not None:
                if hasattr(self, 'socket'):
                    raise TypeError('backlog must be None when a socket instance is passed')
                self.backlog = backlog
        except:
            self.close()
            raise

    @property
    def ssl_enabled(self):
        return self.ssl_args is not None

    def init_socket(self):
        if not hasattr(self, 'socket'):
            self.socket = self.get_listener(self.address, self.backlog, self.family)
            self.address = self.socket.getsockname()
        if self.ssl_args:
            self._handle = self.wrap_socket_and_handle
        else:
            self._handle = self.handle

    @classmethod
    def get_listener(cls, address, backlog=None, family=None):
        if backlog is None:
            backlog = cls.backlog
        return _tcp_listener(address, backlog=backlog, reuse_addr=cls.reuse_addr, family=family)

    def do_read(self):
        sock = self.socket
        try:
            fd, address = sock._accept()
        except BlockingIOError:
            if not sock.timeout:
                return None
            raise
        return GeventSocket(sock.family, sock.type, sock.proto, fileno=fd), address

    def do_close(self, sock, *args):
        sock.close()

    def wrap_socket_and_handle(self, client_socket, address):
        # The TLS socket replaces the plain one, which do_close then closes
        # too (harmless: wrapping detached it).
        with self.wrap_socket(client_socket, **self.ssl_args) as ssl_socket:
            return self.handle(ssl_socket, address)


class DatagramServer(BaseServer):
    """A UDP server: ``handle(data, address)`` for each datagram (up to
    8 KiB); reply with :meth:`sendto`."""

    reuse_addr = DEFAULT_REUSE_ADDR

    def __init__(self, *args, **kwargs):
        self._socket = None
        BaseServer.__init__(self, *args, **kwargs)
        from geventc.lock import Semaphore
        self._writelock = Semaphore()

    def init_socket(self):
        if not hasattr(self, 'socket'):
            self.socket = self.get_listener(self.address, self.family)
            self.address = self.socket.getsockname()
        self._socket = self.socket
        try:
            self._socket = self._socket._sock
        except AttributeError:
            pass

    @classmethod
    def get_listener(cls, address, family=None):
        return _udp_socket(address, reuse_addr=cls.reuse_addr, family=family)

    def do_read(self):
        try:
            data, address = self._socket.recvfrom(8192)
        except SocketError as err:
            if err.args[0] == EWOULDBLOCK:
                return None
            raise
        return data, address

    def sendto(self, *args):
        # One datagram at a time: handlers run concurrently.
        with self._writelock:
            self.socket.sendto(*args)


def _bind(sock, address, reuse_addr):
    if reuse_addr is not None:
        sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, reuse_addr)
    try:
        sock.bind(address)
    except SocketError as ex:
        strerror = getattr(ex, 'strerror', None)
        if strerror is not None:
            ex.strerror = strerror + ': ' + repr(address)
        sock.close()
        raise


def _tcp_listener(address, backlog=50, reuse_addr=None, family=AF_INET):
    """A TCP socket bound to *address* and listening."""
    sock = GeventSocket(family=family)
    _bind(sock, address, reuse_addr)
    sock.listen(backlog)
    sock.setblocking(0)
    return sock


def _udp_socket(address, backlog=50, reuse_addr=None, family=AF_INET):  # noqa: ARG001
    """A UDP socket bound to *address*."""
    sock = GeventSocket(family=family, type=SOCK_DGRAM)
    _bind(sock, address, reuse_addr)
    return sock
