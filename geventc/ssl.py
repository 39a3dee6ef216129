"""Cooperative TLS sockets (gevent.ssl).

The API is the stdlib's :mod:`ssl`. :class:`SSLSocket` subclasses the
cooperative :class:`geventc.socket.socket`: the handshake, reads, writes and
unwrap run OpenSSL on the non-blocking descriptor and, on
``SSLWantReadError``/``SSLWantWriteError``, wait on the socket's read or
write watcher, so only the calling greenlet blocks. :class:`SSLContext`
makes these sockets, and so do ``create_default_context()`` and the other
context factories here (the stdlib's would make blocking ones).

The OpenSSL object is created with the ``SSLSocket`` itself as its owner, so
SNI and message callbacks receive the ``SSLSocket``.
"""
from geventc._util import copy_globals
import errno as _errno
import os as _os
import ssl as __ssl__
import sys as _sys
import types as _types

from geventc.socket import socket, create_connection, timeout_default
from geventc._socket import _ssl_call, _ssl_read, _ssl_sendall
from geventc.socket import timeout as _socket_timeout

_ssl = __ssl__._ssl

__implements__ = ['SSLContext', 'SSLSocket', 'get_server_certificate',
                  'create_default_context', '_create_unverified_context',
                  '_create_default_https_context', '_create_stdlib_context']
# The stdlib dropped ssl.wrap_socket in 3.12; we keep it (as gevent does).
if hasattr(__ssl__, 'wrap_socket'):
    __implements__.append('wrap_socket')
    __extra__ = []
else:
    __extra__ = ['wrap_socket']

# Everything else (constants, exceptions, SSLObject, MemoryBIO ...) is the
# stdlib's; `socket` stays ours.
__imports__ = copy_globals(__ssl__, globals(),
                           names_to_ignore=__implements__ + __extra__ + ['socket', 'create_connection'],
                           dunder_names_to_keep=())

__all__ = [n for n in __implements__ + __extra__ if not n.startswith('_')] + \
    [n for n in __imports__ if not n.startswith('_') and n != 'namedtuple']

from ssl import (  # noqa: E402 (re-exported above; named here for readers)
    SSLError, SSLWantReadError, SSLWantWriteError, SSLEOFError, SSLZeroReturnError,
    SSL_ERROR_EOF, CERT_NONE, CERT_REQUIRED, PROTOCOL_TLS, PROTOCOL_TLS_CLIENT,
    PROTOCOL_TLS_SERVER, Purpose, DER_cert_to_PEM_cert, CHANNEL_BINDING_TYPES,
)
from socket import SOL_SOCKET, SO_TYPE, SOCK_STREAM, AF_INET  # noqa: E402

orig_SSLContext = __ssl__.SSLContext


def _stdlib_setter(fset):
    # The stdlib's property setters find their base through the module
    # global `ssl.SSLContext` (super(SSLContext, SSLContext)); once
    # monkey-patching makes that global this class, they would recurse
    # (gevent#1016). This is the same function over a copy of the module's
    # globals in which `SSLContext` stays the stdlib's class: nothing is
    # swapped in the module, so no other thread can see the wrong class.
    namespace = dict(vars(__ssl__))
    namespace['SSLContext'] = orig_SSLContext
    return _types.FunctionType(fset.__code__, namespace, fset.__name__,
                               fset.__defaults__, fset.__closure__)


def _patch_safe_property(name):
    prop = getattr(orig_SSLContext, name)
    return property(prop.fget, _stdlib_setter(prop.fset), None, prop.__doc__)


class SSLContext(orig_SSLContext):
    """The stdlib's ``SSLContext`` whose ``wrap_socket`` makes cooperative
    :class:`SSLSocket` objects."""

    __slots__ = ()

    sslsocket_class = None  # SSLSocket, assigned below

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True,
                    suppress_ragged_eofs=True, server_hostname=None, session=None):
        return self.sslsocket_class(
            sock=sock, server_side=server_side,
            do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs,
            server_hostname=server_hostname, _context=self, _session=session)


_SAFE_PROPERTIES = [name for name in ('options', 'verify_flags', 'verify_mode',
                                       'minimum_version', 'maximum_version', '_msg_callback')
                    if isinstance(getattr(orig_SSLContext, name, None), property)]
for _name in _SAFE_PROPERTIES:
    setattr(SSLContext, _name, _patch_safe_property(_name))
del _name


class SSLSocket(socket):
    """A cooperative TLS socket (the stdlib's ``ssl.SSLSocket`` API).

    Made by :meth:`SSLContext.wrap_socket` or :func:`wrap_socket`; the
    constructor also accepts gevent's (and the old stdlib's) arguments.
    When *sock* is given, its descriptor is taken over and *sock* detached.
    """

    def __init__(self, sock=None, keyfile=None, certfile=None, server_side=False,
                 cert_reqs=CERT_NONE, ssl_version=PROTOCOL_TLS, ca_certs=None,
                 do_handshake_on_connect=True, family=AF_INET, type=SOCK_STREAM, proto=0,
                 fileno=None, suppress_ragged_eofs=True, npn_protocols=None, ciphers=None,
                 server_hostname=None, _session=None, _context=None):
        if _context is not None:
            self._context = _context
        else:
            if server_side and not certfile:
                raise ValueError('certfile must be specified for server-side operations')
            if keyfile and not certfile:
                raise ValueError('certfile must be specified')
            if certfile and not keyfile:
                keyfile = certfile
            ctx = SSLContext(ssl_version)
            ctx.verify_mode = cert_reqs
            if ca_certs:
                ctx.load_verify_locations(ca_certs)
            if certfile:
                ctx.load_cert_chain(certfile, keyfile)
            if npn_protocols:
                ctx.set_npn_protocols(npn_protocols)
            if ciphers:
                ctx.set_ciphers(ciphers)
            self._context = ctx
            self.keyfile = keyfile
            self.certfile = certfile
            self.cert_reqs = cert_reqs
            self.ssl_version = ssl_version
            self.ca_certs = ca_certs
            self.ciphers = ciphers
        if sock is not None and sock.getsockopt(SOL_SOCKET, SO_TYPE) != SOCK_STREAM:
            raise NotImplementedError('only stream sockets are supported')
        if server_side:
            if server_hostname:
                raise ValueError('server_hostname can only be specified in client mode')
            if _session is not None:
                raise ValueError('session can only be specified in client mode')
        if self._context.check_hostname and not server_hostname:
            raise ValueError('check_hostname requires server_hostname')
        self._session = _session
        self.server_side = server_side
        encode = getattr(self._context, '_encode_hostname', None)
        self.server_hostname = encode(server_hostname) if encode is not None else server_hostname
        self.do_handshake_on_connect = do_handshake_on_connect
        self.suppress_ragged_eofs = suppress_ragged_eofs
        self._sslobj = None
        self._connected = False

        sock_timeout = None
        if sock is not None:
            sock_timeout = sock.gettimeout()
            socket.__init__(self, family=sock.family, type=sock.type, proto=sock.proto,
                            fileno=sock.fileno())
            # Only now that we own the descriptor: on an error above, the
            # caller still has a socket to close.
            sock.detach()
        elif fileno is not None:
            socket.__init__(self, fileno=fileno)
        else:
            socket.__init__(self, family=family, type=type, proto=proto)
        self._closed = False

        try:
            self._sock.getpeername()
        except OSError as e:
            if e.errno != _errno.ENOTCONN:
                self.close()
                raise
            self._refuse_data_before_handshake()
            connected = False
        else:
            connected = True

        self.settimeout(sock_timeout)
        self._connected = connected
        if connected:
            try:
                self._sslobj = self._create_sslobj(server_side, _session)
                if do_handshake_on_connect:
                    if self.gettimeout() == 0.0:
                        raise ValueError('do_handshake_on_connect should not be specified '
                                         'for non-blocking sockets')
                    self.do_handshake()
            except (OSError, ValueError):
                self.close()
                raise

    @classmethod
    def _create(cls, sock, server_side=False, do_handshake_on_connect=True,
                suppress_ragged_eofs=True, server_hostname=None, context=None, session=None):
        # What the stdlib's SSLContext.wrap_socket calls (e.g. when patched).
        return cls(sock=sock, server_side=server_side,
                   do_handshake_on_connect=do_handshake_on_connect,
                   suppress_ragged_eofs=suppress_ragged_eofs,
                   server_hostname=server_hostname, _context=context, _session=session)

    def _refuse_data_before_handshake(self):
        # A socket that is not connected must not carry data the peer sent
        # before closing: it would look as if it came over TLS (CVE-2023-40217,
        # the stdlib's check).
        try:
            data = self._sock.recv(1)
        except OSError as e:
            if e.errno not in (_errno.ENOTCONN, _errno.EINVAL, _errno.EAGAIN):
                raise
            data = b''
        if data:
            reason = 'Closed before TLS handshake with data in recv buffer.'
            error = SSLError(_errno.ENOTCONN, reason)
            error.reason = reason
            error.library = None
            try:
                self.close()
            except OSError:
                pass
            raise error

    def _create_sslobj(self, server_side=False, session=None):
        return self._context._wrap_socket(self._sock, server_side, self.server_hostname,
                                          owner=self, session=session)

    def _extra_repr(self):
        return ' server=%s, cipher=%r' % (
            self.server_side, self._sslobj.cipher() if self._sslobj is not None else '')

    @property
    def context(self):
        return self._context

    @context.setter
    def context(self, ctx):
        self._context = ctx
        self._sslobj.context = ctx

    @property
    def session(self):
        """The SSLSession of a client socket."""
        if self._sslobj is not None:
            return self._sslobj.session

    @session.setter
    def session(self, session):
        self._session = session
        if self._sslobj is not None:
            self._sslobj.session = session

    @property
    def session_reused(self):
        if self._sslobj is not None:
            return self._sslobj.session_reused

    def dup(self):
        raise NotImplementedError("Can't dup() %s instances" % type(self).__name__)

    def _checkClosed(self, msg=None):
        pass

    def _check_connected(self):
        if not self._connected:
            # Raises ENOTCONN if we really are not connected (connect()
            # may have returned EAGAIN without setting _connected).
            self.getpeername()

    # -- OpenSSL on the non-blocking fd, waiting on Want* (loops in _socket) ------

    def do_handshake(self, block=False):
        """Perform the TLS handshake (cooperatively)."""
        self._check_connected()
        _ssl_call(self, 'handshake', self._sslobj.do_handshake, ())

    def read(self, len=1024, buffer=None):
        """Read up to *len* bytes (into *buffer* if given: return the count).
        An empty result means EOF."""
        nbytes = len
        sslobj = self._sslobj
        if not sslobj:
            raise ValueError('Read on closed or unwrapped SSL socket.')
        if nbytes == 0:
            return b'' if buffer is None else 0
        try:
            return _ssl_read(self, sslobj, nbytes, buffer)
        except SSLError as ex:
            if ex.args[0] == SSL_ERROR_EOF and self.suppress_ragged_eofs:
                return b'' if buffer is None else 0
            raise

    def write(self, data):
        """Write *data*; return the number of bytes written."""
        if not self._sslobj:
            raise ValueError('Write on closed or unwrapped SSL socket.')
        return _ssl_call(self, 'write', self._sslobj.write, (data,))

    def getpeercert(self, binary_form=False):
        self._checkClosed()
        self._check_connected()
        return self._sslobj.getpeercert(binary_form)

    def selected_npn_protocol(self):
        if not self._sslobj or not getattr(_ssl, 'HAS_NPN', False):
            return None
        return self._sslobj.selected_npn_protocol()

    def selected_alpn_protocol(self):
        if not self._sslobj or not _ssl.HAS_ALPN:
            return None
        return self._sslobj.selected_alpn_protocol()

    def cipher(self):
        if not self._sslobj:
            return None
        return self._sslobj.cipher()

    def shared_ciphers(self):
        if not self._sslobj:
            return None
        return self._sslobj.shared_ciphers()

    def compression(self):
        if not self._sslobj:
            return None
        return self._sslobj.compression()

    def version(self):
        if not self._sslobj:
            return None
        return self._sslobj.version()

    def pending(self):
        if self._sslobj:
            return self._sslobj.pending()
        return 0

    def get_channel_binding(self, cb_type='tls-unique'):
        if self._sslobj is not None:
            return self._sslobj.get_channel_binding(cb_type)
        if cb_type not in CHANNEL_BINDING_TYPES:
            raise ValueError('{0} channel binding type not implemented'.format(cb_type))
        return None

    def verify_client_post_handshake(self):
        if self._sslobj:
            return self._sslobj.verify_client_post_handshake()
        raise ValueError('No SSL wrapper around ' + str(self))

    if hasattr(__ssl__.SSLSocket, 'get_verified_chain'):
        def get_verified_chain(self):
            chain = self._sslobj.get_verified_chain()
            return [] if chain is None else [c.public_bytes(_ssl.ENCODING_DER) for c in chain]

        def get_unverified_chain(self):
            chain = self._sslobj.get_unverified_chain()
            return [] if chain is None else [c.public_bytes(_ssl.ENCODING_DER) for c in chain]

    # -- the socket API over TLS ----------------------------------------------------

    def send(self, data, flags=0, timeout=timeout_default):
        if self._sslobj:
            if flags != 0:
                raise ValueError('non-zero flags not allowed in calls to send() on %s' % type(self))
            return self.write(data)
        return socket.send(self, data, flags, timeout)

    def sendto(self, data, flags_or_addr, addr=None):
        if self._sslobj:
            raise ValueError('sendto not allowed on instances of %s' % type(self))
        if addr is None:
            return socket.sendto(self, data, flags_or_addr)
        return socket.sendto(self, data, flags_or_addr, addr)

    def sendmsg(self, *args, **kwargs):
        # Never send unencrypted data by accident.
        raise NotImplementedError('sendmsg not allowed on instances of %s' % type(self))

    def sendall(self, data, flags=0):
        if self._sslobj:
            if flags != 0:
                raise ValueError('non-zero flags not allowed in calls to sendall() on %s' % type(self))
            return _ssl_sendall(self, self._sslobj, data)
        return socket.sendall(self, data, flags)

    def recv(self, buflen=1024, flags=0):
        if self._sslobj:
            if flags != 0:
                raise ValueError('non-zero flags not allowed in calls to recv() on %s' % type(self))
            if buflen == 0:
                return b''
            return self.read(buflen)
        return socket.recv(self, buflen, flags)

    def recv_into(self, buffer, nbytes=None, flags=0):
        if nbytes is None:
            if buffer is not None:
                with memoryview(buffer) as view:
                    nbytes = view.nbytes
            if not nbytes:
                nbytes = 1024
        if self._sslobj:
            if flags != 0:
                raise ValueError('non-zero flags not allowed in calls to recv_into() on %s' % type(self))
            return self.read(nbytes, buffer)
        return socket.recv_into(self, buffer, nbytes, flags)

    def recvfrom(self, buflen=1024, flags=0):
        if self._sslobj:
            raise ValueError('recvfrom not allowed on instances of %s' % type(self))
        return socket.recvfrom(self, buflen, flags)

    def recvfrom_into(self, buffer, nbytes=None, flags=0):
        if self._sslobj:
            raise ValueError('recvfrom_into not allowed on instances of %s' % type(self))
        return socket.recvfrom_into(self, buffer, nbytes or 0, flags)

    def recvmsg(self, *args, **kwargs):
        raise NotImplementedError('recvmsg not allowed on instances of %s' % type(self))

    def recvmsg_into(self, *args, **kwargs):
        raise NotImplementedError('recvmsg_into not allowed on instances of %s' % type(self))

    def sendfile(self, file, offset=0, count=None):
        """sendfile(file[, offset[, count]]) -> sent

        Over TLS the file is read and sent encrypted: sendfile(2) would put
        its plain bytes on the wire (as the stdlib's SSLSocket does)."""
        if self._sslobj is not None:
            return self._sendfile_use_send(file, offset, count)
        return socket.sendfile(self, file, offset, count)

    def shutdown(self, how):
        self._sslobj = None
        socket.shutdown(self, how)

    def unwrap(self):
        """Shut TLS down (cooperatively) and return this socket, now plain."""
        if not self._sslobj:
            raise ValueError('No SSL wrapper around ' + str(self))
        try:
            _ssl_call(self, 'write', self._sslobj.shutdown, ())
        except (SSLEOFError, SSLZeroReturnError):
            # The peer closed the connection, cleanly or not: nothing to undo.
            pass
        except OSError as ex:
            if ex.errno != 0:
                raise
        self._sslobj = None
        return self

    def _real_close(self):
        self._sslobj = None
        socket._real_close(self)

    # -- connecting and accepting -----------------------------------------------

    def _real_connect(self, addr, connect_ex):
        if self.server_side:
            raise ValueError("can't connect in server-side mode")
        if self._connected or self._sslobj is not None:
            raise ValueError('attempt to connect already-connected SSLSocket!')
        self._sslobj = self._create_sslobj(False, self._session)
        try:
            if connect_ex:
                rc = socket.connect_ex(self, addr)
            else:
                rc = None
                socket.connect(self, addr)
            if not rc:
                self._connected = True
                if self.do_handshake_on_connect:
                    self.do_handshake()
            return rc
        except (OSError, ValueError):
            self._sslobj = None
            raise

    def connect(self, addr):
        """Connect to *addr*, then do the TLS handshake (if asked to)."""
        self._real_connect(addr, False)

    def connect_ex(self, addr):
        return self._real_connect(addr, True)

    def accept(self):
        """accept() -> (SSLSocket, address): the connection wrapped server-side."""
        newsock, addr = socket.accept(self)
        try:
            newsock = self._context.wrap_socket(
                newsock, do_handshake_on_connect=self.do_handshake_on_connect,
                suppress_ragged_eofs=self.suppress_ragged_eofs, server_side=True)
            return newsock, addr
        except BaseException:
            newsock.close()
            raise


SSLContext.sslsocket_class = SSLSocket


def _gevent_did_monkey_patch(target_module, *_args, **_kwargs):
    # Modules imported before patching may hold the stdlib's SSLContext
    # (``from ssl import SSLContext``) or subclass it. Retrofit the stdlib
    # class itself: its contexts wrap into cooperative sockets, and its
    # property setters no longer recurse through the patched module global
    # (gevent#1016). Classes that choose their own socket class are left as
    # they are; monkey.patch_ssl names them.
    if orig_SSLContext.sslsocket_class is not SSLSocket:
        orig_SSLContext.sslsocket_class = SSLSocket
        for name in _SAFE_PROPERTIES:
            setattr(orig_SSLContext, name, getattr(SSLContext, name))


def _retrofit_subclass(cls):
    # Whether *cls* (a subclass of the stdlib's SSLContext made before
    # patching) now wraps into cooperative sockets.
    return (cls.sslsocket_class is SSLSocket
            and getattr(cls, 'wrap_socket', None) in (orig_SSLContext.wrap_socket,
                                                      SSLContext.wrap_socket))


def wrap_socket(sock, keyfile=None, certfile=None, server_side=False, cert_reqs=CERT_NONE,
                ssl_version=PROTOCOL_TLS, ca_certs=None, do_handshake_on_connect=True,
                suppress_ragged_eofs=True, ciphers=None):
    """Wrap *sock* in a cooperative :class:`SSLSocket` (the old stdlib
    function; prefer ``SSLContext.wrap_socket``)."""
    return SSLSocket(sock=sock, keyfile=keyfile, certfile=certfile, server_side=server_side,
                     cert_reqs=cert_reqs, ssl_version=ssl_version, ca_certs=ca_certs,
                     do_handshake_on_connect=do_handshake_on_connect,
                     suppress_ragged_eofs=suppress_ragged_eofs, ciphers=ciphers)


def _set_keylog(context):
    # OpenSSL's key log for debugging tools, as the stdlib's factories honour it.
    if hasattr(context, 'keylog_filename'):
        keylogfile = _os.environ.get('SSLKEYLOGFILE')
        if keylogfile and not _sys.flags.ignore_environment:
            context.keylog_filename = keylogfile


def create_default_context(purpose=Purpose.SERVER_AUTH, *, cafile=None, capath=None, cadata=None):
    """The stdlib's ``create_default_context`` (secure defaults: certificate
    and host name checks for servers we connect to), returning our
    :class:`SSLContext`, whose sockets are cooperative."""
    if not isinstance(purpose, __ssl__._ASN1Object):
        raise TypeError(purpose)
    if purpose == Purpose.SERVER_AUTH:
        context = SSLContext(PROTOCOL_TLS_CLIENT)
        context.verify_mode = CERT_REQUIRED
        context.check_hostname = True
    elif purpose == Purpose.CLIENT_AUTH:
        context = SSLContext(PROTOCOL_TLS_SERVER)
    else:
        raise ValueError(purpose)
    if cafile or capath or cadata:
        context.load_verify_locations(cafile, capath, cadata)
    elif context.verify_mode != CERT_NONE:
        context.load_default_certs(purpose)
    _set_keylog(context)
    return context


def _create_unverified_context(protocol=None, *, cert_reqs=CERT_NONE, check_hostname=False,
                               purpose=Purpose.SERVER_AUTH, certfile=None, keyfile=None,
                               cafile=None, capath=None, cadata=None):
    """A context for the stdlib's internal uses (no verification by default)."""
    if not isinstance(purpose, __ssl__._ASN1Object):
        raise TypeError(purpose)
    if protocol is None:
        protocol = PROTOCOL_TLS_CLIENT if purpose == Purpose.SERVER_AUTH else PROTOCOL_TLS_SERVER
    context = SSLContext(protocol)
    if not check_hostname:
        context.check_hostname = False
    if cert_reqs is not None:
        context.verify_mode = cert_reqs
    if check_hostname:
        context.check_hostname = True
    if keyfile and not certfile:
        raise ValueError('certfile must be specified')
    if certfile or keyfile:
        context.load_cert_chain(certfile, keyfile)
    if cafile or capath or cadata:
        context.load_verify_locations(cafile, capath, cadata)
    elif context.verify_mode != CERT_NONE:
        context.load_default_certs(purpose)
    _set_keylog(context)
    return context


_create_default_https_context = create_default_context
_create_stdlib_context = _create_unverified_context

_GLOBAL_DEFAULT_TIMEOUT = getattr(__import__('socket'), '_GLOBAL_DEFAULT_TIMEOUT', object())


def get_server_certificate(addr, ssl_version=PROTOCOL_TLS_CLIENT, ca_certs=None,
                           timeout=_GLOBAL_DEFAULT_TIMEOUT):
    """Connect to *addr* ``(host, port)`` and return the server's certificate
    as a PEM string, verified against *ca_certs* if given."""
    host, port = addr
    cert_reqs = CERT_REQUIRED if ca_certs is not None else CERT_NONE
    context = _create_stdlib_context(ssl_version, cert_reqs=cert_reqs, cafile=ca_certs)
    with create_connection(addr, timeout=timeout) as sock:
        with context.wrap_socket(sock, server_hostname=host) as sslsock:
            dercert = sslsock.getpeercert(True)
    return DER_cert_to_PEM_cert(dercert)
