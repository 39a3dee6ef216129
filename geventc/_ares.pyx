# cython: freethreading_compatible=False
"""A c-ares channel driven by a geventc loop (``geventc.resolver.cares``).

Design notes
------------
* c-ares tells us which sockets to watch through ``ARES_OPT_SOCK_STATE_CB``;
  each gets an io watcher of the loop (unref'd: an idle channel's open
  socket must not keep the loop alive). A readiness event calls
  ``ares_process_fd``; after every call into c-ares the next timeout
  (``ares_timeout``) re-arms one timer, which is ref'd: while a query is
  pending, the loop stays alive for it.
* A query's callback object is INCREF'd while c-ares holds it; c-ares calls
  the C callback exactly once (answer, error, cancel or destroy), which
  takes the reference back.
* c-ares calls those callbacks from inside its own functions (even from the
  query function, for an answer it has at once). The Python callback is
  never called there: its result is queued with ``loop.run_callback``, so a
  greenlet never switches in the middle of c-ares, and a callback may start
  new queries or destroy the channel.
* A channel belongs to one loop and so to one thread.
"""
cimport cython
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from libc.string cimport memset, memcpy
from posix.time cimport timeval

from geventc.includes cimport ares

import _socket

__all__ = ['channel', 'Result', 'AresError', 'InvalidIP']

cdef int _init_status = ares.ares_library_init(ares.ARES_LIB_INIT_ALL)

_READ = 1
_WRITE = 2
_AF_INET = _socket.AF_INET
_AF_INET6 = _socket.AF_INET6


def version():
    """c-ares's version string."""
    return ares.ares_version(NULL).decode('ascii')


class AresError(Exception):
    """A c-ares failure: ``status`` is c-ares's code (``ARES_E*``)."""

    def __init__(self, status, message=None):
        if message is None:
            message = ares.ares_strerror(status).decode('utf-8', 'replace')
        Exception.__init__(self, status, message)
        self.status = status


error = AresError


class InvalidIP(ValueError):
    """The address given to ``gethostbyaddr``/``getnameinfo`` is not an IP address."""


# c-ares status codes, for the resolver's error mapping.
ARES_SUCCESS = ares.ARES_SUCCESS
ARES_ENODATA = ares.ARES_ENODATA
ARES_EFORMERR = ares.ARES_EFORMERR
ARES_ESERVFAIL = ares.ARES_ESERVFAIL
ARES_ENOTFOUND = ares.ARES_ENOTFOUND
ARES_ENOTIMP = ares.ARES_ENOTIMP
ARES_EREFUSED = ares.ARES_EREFUSED
ARES_EBADNAME = ares.ARES_EBADNAME
ARES_EBADFAMILY = ares.ARES_EBADFAMILY
ARES_EBADRESP = ares.ARES_EBADRESP
ARES_ECONNREFUSED = ares.ARES_ECONNREFUSED
ARES_ETIMEOUT = ares.ARES_ETIMEOUT
ARES_EOF = ares.ARES_EOF
ARES_ENOMEM = ares.ARES_ENOMEM
ARES_EDESTRUCTION = ares.ARES_EDESTRUCTION
ARES_ECANCELLED = ares.ARES_ECANCELLED
ARES_ESERVICE = ares.ARES_ESERVICE
ARES_ENONAME = ares.ARES_ENONAME

ARES_FLAG_USEVC = ares.ARES_FLAG_USEVC
ARES_FLAG_PRIMARY = ares.ARES_FLAG_PRIMARY
ARES_FLAG_IGNTC = ares.ARES_FLAG_IGNTC
ARES_FLAG_NORECURSE = ares.ARES_FLAG_NORECURSE
ARES_FLAG_STAYOPEN = ares.ARES_FLAG_STAYOPEN
ARES_FLAG_NOSEARCH = ares.ARES_FLAG_NOSEARCH
ARES_FLAG_NOALIASES = ares.ARES_FLAG_NOALIASES
ARES_FLAG_NOCHECKRESP = ares.ARES_FLAG_NOCHECKRESP


@cython.final
@cython.freelist(16)
cdef class Result:
    """What a channel hands its callbacks: a ``value`` or an ``exception``
    (gevent's link protocol, so a ``Waiter`` is a valid callback)."""

    def __init__(self, value=None, exception=None):
        self.value = value
        self.exception = exception

    def successful(self):
        return self.exception is None

    def get(self):
        if self.exception is not None:
            raise self.exception
        return self.value

    def __repr__(self):
        if self.exception is not None:
            return '<Result exception=%r>' % (self.exception,)
        return '<Result value=%r>' % (self.value,)


class AddrInfoList(list):
    """``getaddrinfo``'s answer: a list of ``(family, type, proto, canonname,
    sockaddr)``, plus ``canonical`` (the canonical name) and ``aliases`` (the
    names that led to it through CNAMEs)."""
    canonical = None
    aliases = ()


@cython.final
cdef class _Request:
    # One query in flight: what to call with its Result, on which channel.

    cdef int deliver(self, object value, object exception) except -1:
        ch = self.ch
        callback = self.callback
        self.ch = None
        self.callback = None
        ch._pending -= 1
        ch.loop.run_callback(callback, Result(value, exception))
        return 0


cdef object _str(const char* s):
    if s == NULL:
        return None
    return (<bytes>s).decode('utf-8', 'replace')


cdef list _str_list(char** items):
    cdef list out = []
    cdef int i = 0
    if items == NULL:
        return out
    while items[i] != NULL:
        out.append((<bytes>items[i]).decode('utf-8', 'replace'))
        i += 1
    return out


cdef object _ntop(int family, const void* addr):
    cdef char buf[64]
    if ares.ares_inet_ntop(family, addr, buf, sizeof(buf)) == NULL:
        return None
    return (<bytes>buf).decode('ascii')


cdef tuple _hostent_tuple(ares.hostent* host):
    cdef list addresses = []
    cdef int i = 0
    if host.h_addr_list != NULL:
        while host.h_addr_list[i] != NULL:
            text = _ntop(host.h_addrtype, host.h_addr_list[i])
            if text is not None:
                addresses.append(text)
            i += 1
    return (_str(host.h_name), _str_list(host.h_aliases), addresses)


cdef object _sockaddr_tuple(ares.sockaddr* sa):
    cdef ares.sockaddr_in* sin
    cdef ares.sockaddr_in6* sin6
    if sa.sa_family == _AF_INET:
        sin = <ares.sockaddr_in*>sa
        return (_ntop(_AF_INET, &sin.sin_addr), ares.ntohs(sin.sin_port))
    if sa.sa_family == _AF_INET6:
        sin6 = <ares.sockaddr_in6*>sa
        return (_ntop(_AF_INET6, &sin6.sin6_addr), ares.ntohs(sin6.sin6_port),
                ares.ntohl(sin6.sin6_flowinfo), sin6.sin6_scope_id)
    return None


# -- the C callbacks (each takes back the reference c-ares held) -----------------

cdef void _sock_state_cb(void* data, ares.ares_socket_t fd, int readable, int writable) noexcept with gil:
    cdef channel ch = <channel>data
    if ch._dealloc:
        return
    try:
        ch._sock_state(fd, readable, writable)
    except BaseException as ex:
        ch._report(ex)


cdef void _host_cb(void* arg, int status, int timeouts, ares.hostent* host) noexcept with gil:
    cdef _Request req = <_Request>arg
    Py_DECREF(req)
    try:
        if status != ares.ARES_SUCCESS or host == NULL:
            req.deliver(None, AresError(status if status != ares.ARES_SUCCESS else ares.ARES_ENODATA))
        else:
            req.deliver(_hostent_tuple(host), None)
    except BaseException:
        pass  # the loop is gone: nobody is left to tell


cdef void _nameinfo_cb(void* arg, int status, int timeouts, char* node, char* service) noexcept with gil:
    cdef _Request req = <_Request>arg
    Py_DECREF(req)
    try:
        if status != ares.ARES_SUCCESS:
            req.deliver(None, AresError(status))
        else:
            req.deliver((_str(node), _str(service)), None)
    except BaseException:
        pass


cdef void _addrinfo_cb(void* arg, int status, int timeouts, ares.ares_addrinfo* res) noexcept with gil:
    cdef _Request req = <_Request>arg
    cdef ares.ares_addrinfo_node* node
    cdef ares.ares_addrinfo_cname* cname
    Py_DECREF(req)
    try:
        try:
            if status != ares.ARES_SUCCESS or res == NULL:
                req.deliver(None, AresError(status if status != ares.ARES_SUCCESS else ares.ARES_ENODATA))
                return
            result = AddrInfoList()
            aliases = []
            canonical = _str(res.name)
            cname = res.cnames
            while cname != NULL:
                if cname.alias != NULL:
                    aliases.append(_str(cname.alias))
                if cname.name != NULL:
                    canonical = _str(cname.name)
                cname = cname.next
            node = res.nodes
            while node != NULL:
                if node.ai_addr != NULL:
                    sockaddr = _sockaddr_tuple(node.ai_addr)
                    if sockaddr is not None:
                        result.append((node.ai_family, node.ai_socktype, node.ai_protocol,
                                       '', sockaddr))
                node = node.ai_next
            result.canonical = canonical
            result.aliases = aliases
            req.deliver(result, None)
        finally:
            if res != NULL:
                ares.ares_freeaddrinfo(res)
    except BaseException:
        pass


cdef dict _AI_FLAGS = {
    _socket.AI_CANONNAME: ares.ARES_AI_CANONNAME,
    _socket.AI_NUMERICHOST: ares.ARES_AI_NUMERICHOST,
    _socket.AI_PASSIVE: ares.ARES_AI_PASSIVE,
    _socket.AI_NUMERICSERV: ares.ARES_AI_NUMERICSERV,
    _socket.AI_V4MAPPED: ares.ARES_AI_V4MAPPED,
    _socket.AI_ALL: ares.ARES_AI_ALL,
    _socket.AI_ADDRCONFIG: ares.ARES_AI_ADDRCONFIG,
}

cdef dict _NI_FLAGS = {
    _socket.NI_NOFQDN: ares.ARES_NI_NOFQDN,
    _socket.NI_NUMERICHOST: ares.ARES_NI_NUMERICHOST,
    _socket.NI_NAMEREQD: ares.ARES_NI_NAMEREQD,
    _socket.NI_NUMERICSERV: ares.ARES_NI_NUMERICSERV,
    _socket.NI_DGRAM: ares.ARES_NI_DGRAM,
}


cdef int _map_flags(object flags, dict table) except? -1:
    cdef int out = 0
    cdef int f = flags
    for py_flag, c_flag in table.items():
        if f & py_flag:
            out |= c_flag
    return out


cdef bytes _name_bytes(object name):
    if isinstance(name, str):
        return (<str>name).encode('idna')
    if isinstance(name, (bytes, bytearray)):
        return bytes(name)
    raise TypeError('Expected str, bytes or bytearray, not %s' % type(name).__name__)


# c-ares before 1.20 waits 5 s for a try and tries 4 times, doubling the wait
# each round: 75 s before a silent nameserver is given up. The c-ares gevent
# bundles waits 2 s and tries 3 times (14 s at most); a channel uses those
# wherever neither its caller nor resolv.conf chose.
cdef int _OLD_TIMEOUT_MS = 5000
cdef int _OLD_TRIES = 4
cdef int _TIMEOUT_MS = 2000
cdef int _TRIES = 3


cdef int _library_version() noexcept:
    cdef int number = 0
    ares.ares_version(&number)
    return number


cdef bint _old_library = _library_version() < 0x011400


cdef int _old_defaults_in_use(ares.ares_channel ptr, int optmask, ares.ares_options* options) noexcept:
    # The ARES_OPT_* bits to add to *optmask* (their values set in *options*)
    # for the newer defaults; 0 when the channel has its values from elsewhere.
    cdef ares.ares_options saved
    cdef int saved_mask = 0
    cdef int extra = 0
    if not _old_library or (optmask & (ares.ARES_OPT_TIMEOUTMS | ares.ARES_OPT_TIMEOUT)
                            and optmask & ares.ARES_OPT_TRIES):
        return 0
    memset(&saved, 0, sizeof(saved))
    if ares.ares_save_options(ptr, &saved, &saved_mask) != ares.ARES_SUCCESS:
        return 0
    if not optmask & (ares.ARES_OPT_TIMEOUTMS | ares.ARES_OPT_TIMEOUT) and saved.timeout == _OLD_TIMEOUT_MS:
        options.timeout = _TIMEOUT_MS
        extra |= ares.ARES_OPT_TIMEOUTMS
    if not optmask & ares.ARES_OPT_TRIES and saved.tries == _OLD_TRIES:
        options.tries = _TRIES
        extra |= ares.ARES_OPT_TRIES
    ares.ares_destroy_options(&saved)
    return extra


@cython.no_gc_clear
cdef class channel:
    """A c-ares channel whose sockets and timeouts the loop *lp* watches.

    Keyword options (gevent's): *flags* (``ARES_FLAG_*``), *timeout* (seconds
    per try), *tries*, *ndots*, *udp_port*, *tcp_port* and *servers* (a list,
    or a comma-separated string, of ``host``, ``host:port`` or
    ``[v6host]:port``). Each query method takes a *callback* first, called
    later in the loop with a :class:`Result`.
    """
    def __init__(self, lp, flags=None, timeout=None, tries=None, ndots=None,
                 udp_port=None, tcp_port=None, servers=None):
        cdef ares.ares_options options
        cdef int optmask = ares.ARES_OPT_SOCK_STATE_CB
        cdef int status
        if _init_status != ares.ARES_SUCCESS:
            raise AresError(_init_status)
        if self._ptr != NULL:
            raise RuntimeError('channel already initialised')
        memset(&options, 0, sizeof(options))
        options.sock_state_cb = _sock_state_cb
        options.sock_state_cb_data = <void*>self
        if flags is not None:
            options.flags = int(flags)
            optmask |= ares.ARES_OPT_FLAGS
        if timeout is not None:
            timeout = float(timeout)
            if timeout < 0:
                raise ValueError('timeout must not be negative: %r' % (timeout,))
            options.timeout = <int>(timeout * 1000)
            optmask |= ares.ARES_OPT_TIMEOUTMS
        if tries is not None:
            options.tries = int(tries)
            optmask |= ares.ARES_OPT_TRIES
        if ndots is not None:
            options.ndots = int(ndots)
            optmask |= ares.ARES_OPT_NDOTS
        if udp_port is not None:
            options.udp_port = int(udp_port)
            optmask |= ares.ARES_OPT_UDP_PORT
        if tcp_port is not None:
            options.tcp_port = int(tcp_port)
            optmask |= ares.ARES_OPT_TCP_PORT
        self.loop = lp
        self._watchers = {}
        self._timer = None
        self._pending = 0
        status = ares.ares_init_options(&self._ptr, &options, optmask)
        if status == ares.ARES_SUCCESS:
            extra = _old_defaults_in_use(self._ptr, optmask, &options)
            if extra:
                ares.ares_destroy(self._ptr)
                self._ptr = NULL
                status = ares.ares_init_options(&self._ptr, &options, optmask | extra)
        if status != ares.ARES_SUCCESS:
            self._ptr = NULL
            raise AresError(status)
        if servers is not None:
            try:
                self.set_servers(servers)
            except BaseException:
                self.destroy()
                raise

    def __dealloc__(self):
        if self._ptr != NULL:
            # No query is pending (each holds the channel): this only
            # closes the sockets; the state callback must not touch us.
            self._dealloc = True
            ares.ares_destroy(self._ptr)
            self._ptr = NULL

    def __repr__(self):
        return '<%s at 0x%x _timer=%r _watchers[%d] pending=%d>' % (
            type(self).__name__, id(self), self._timer, len(self._watchers or ()), self._pending)

    cdef int _check(self) except -1:
        if self._ptr == NULL:
            raise ValueError('channel is destroyed')
        return 0

    def set_servers(self, servers=None):
        """Use *servers* (see the class's docstring) instead of resolv.conf's."""
        self._check()
        if servers is None:
            servers = []
        if isinstance(servers, (str, bytes)):
            text = servers if isinstance(servers, str) else servers.decode('ascii')
        else:
            text = ','.join(str(s).strip() for s in servers)
        status = ares.ares_set_servers_ports_csv(self._ptr, text.encode('ascii'))
        if status != ares.ARES_SUCCESS:
            raise ValueError('bad nameservers %r: %s' % (servers, AresError(status).args[1]))

    def destroy(self):
        """Cancel every query (their callbacks get ``ARES_EDESTRUCTION``) and
        close the channel's sockets and watchers."""
        if self._ptr != NULL:
            ares.ares_destroy(self._ptr)
            self._ptr = NULL
        self._stop_timer()
        watchers = self._watchers
        self._watchers = {}
        if watchers:
            for w in watchers.values():
                w.stop()
                w.close()

    def cancel(self):
        """Cancel every pending query (their callbacks get ``ARES_ECANCELLED``)."""
        self._check()
        ares.ares_cancel(self._ptr)
        self._update_timer()

    # -- watching sockets and timeouts ---------------------------------------------

    cdef int _report(self, ex) except -1:
        try:
            self.loop.handle_error(self, type(ex), ex, ex.__traceback__)
        except BaseException:
            pass
        return 0

    def _sock_state(self, fd, readable, writable):
        events = (_READ if readable else 0) | (_WRITE if writable else 0)
        watcher = self._watchers.get(fd)
        if not events:
            if watcher is not None:
                del self._watchers[fd]
                watcher.stop()
                watcher.close()
            return
        if watcher is None:
            watcher = self.loop.io(fd, events, ref=False)
            self._watchers[fd] = watcher
        elif watcher.events != events:
            watcher.stop()
            watcher.events = events
        if not watcher.active:
            watcher.start(self._process_fd, fd, pass_events=True)

    def _process_fd(self, events, fd):
        if self._ptr == NULL:
            return
        ares.ares_process_fd(self._ptr,
                             fd if events & _READ else ares.ARES_SOCKET_BAD,
                             fd if events & _WRITE else ares.ARES_SOCKET_BAD)
        self._update_timer()

    def _on_timer(self):
        self._timer = None
        if self._ptr == NULL:
            return
        ares.ares_process_fd(self._ptr, ares.ARES_SOCKET_BAD, ares.ARES_SOCKET_BAD)
        self._update_timer()

    cdef int _stop_timer(self) except -1:
        timer = self._timer
        self._timer = None
        if timer is not None:
            timer.stop()
            timer.close()
        return 0

    cdef int _update_timer(self) except -1:
        cdef timeval tv
        cdef timeval* left
        if self._ptr == NULL:
            self._stop_timer()
            return 0
        left = ares.ares_timeout(self._ptr, NULL, &tv)
        self._stop_timer()
        if left == NULL:
            return 0
        # A timer of the loop, ref'd: a pending query keeps the loop alive.
        seconds = left.tv_sec + left.tv_usec / 1e6
        timer = self.loop.timer(seconds)
        timer.start(self._on_timer)
        self._timer = timer
        return 0

    cdef _Request _request(self, callback):
        self._check()
        if not callable(callback):
            raise TypeError('callback must be callable, not %r' % (callback,))
        cdef _Request req = _Request.__new__(_Request)
        req.callback = callback
        req.ch = self
        self._pending += 1
        # c-ares holds this reference until the C callback gives it back.
        Py_INCREF(req)
        return req

    # -- queries -----------------------------------------------------------------------

    def gethostbyname(self, callback, name, int family=_AF_INET):
        """``callback(Result((name, aliases, addresses)))`` for *name* (hosts file, then DNS)."""
        cdef bytes cname = _name_bytes(name)
        cdef _Request req = self._request(callback)
        ares.ares_gethostbyname(self._ptr, cname, family, _host_cb, <void*>req)
        self._update_timer()

    def gethostbyaddr(self, callback, addr):
        """``callback(Result((name, aliases, [addr])))``, the reverse lookup of *addr*."""
        cdef unsigned char buf[16]
        cdef int family
        cdef int length
        cdef bytes baddr = _name_bytes(addr)
        if ares.ares_inet_pton(_AF_INET, baddr, buf) > 0:
            family, length = _AF_INET, 4
        elif ares.ares_inet_pton(_AF_INET6, baddr, buf) > 0:
            family, length = _AF_INET6, 16
        else:
            raise InvalidIP(repr(addr))
        cdef _Request req = self._request(callback)
        ares.ares_gethostbyaddr(self._ptr, buf, length, family, _host_cb, <void*>req)
        self._update_timer()

    def getaddrinfo(self, callback, name, service=None, int family=0, int socktype=0,
                    int proto=0, int flags=0):
        """``callback(Result(AddrInfoList))``: the addresses of *name* (``AI_*``
        flags of the socket module). c-ares leaves ``type``/``proto`` 0 unless
        given as hints."""
        cdef ares.ares_addrinfo_hints hints
        cdef bytes cname = _name_bytes(name)
        cdef bytes cservice = None
        cdef const char* c_service = NULL
        if service is not None:
            cservice = str(service).encode('ascii') if not isinstance(service, bytes) else service
            c_service = cservice
        memset(&hints, 0, sizeof(hints))
        hints.ai_family = family
        hints.ai_socktype = socktype
        hints.ai_protocol = proto
        hints.ai_flags = _map_flags(flags, _AI_FLAGS)
        cdef _Request req = self._request(callback)
        ares.ares_getaddrinfo(self._ptr, cname, c_service, &hints, _addrinfo_cb, <void*>req)
        self._update_timer()

    def getnameinfo(self, callback, sockaddr, int flags):
        """``callback(Result((node, service)))`` for *sockaddr* ``(host, port[, flowinfo, scope_id])``
        (``NI_*`` flags of the socket module)."""
        cdef ares.sockaddr_in sin
        cdef ares.sockaddr_in6 sin6
        cdef ares.sockaddr* sa
        cdef int salen
        if not isinstance(sockaddr, tuple) or len(sockaddr) < 2:
            raise TypeError('getnameinfo() argument 1 must be a tuple')
        cdef bytes host = _name_bytes(sockaddr[0])
        cdef int port = sockaddr[1]
        memset(&sin, 0, sizeof(sin))
        memset(&sin6, 0, sizeof(sin6))
        if ares.ares_inet_pton(_AF_INET, host, &sin.sin_addr) > 0:
            sin.sin_family = _AF_INET
            sin.sin_port = ares.htons(port)
            sa = <ares.sockaddr*>&sin
            salen = sizeof(sin)
        elif ares.ares_inet_pton(_AF_INET6, host, &sin6.sin6_addr) > 0:
            sin6.sin6_family = _AF_INET6
            sin6.sin6_port = ares.htons(port)
            if len(sockaddr) > 2:
                sin6.sin6_flowinfo = ares.htonl(sockaddr[2])
            if len(sockaddr) > 3:
                sin6.sin6_scope_id = sockaddr[3]
            sa = <ares.sockaddr*>&sin6
            salen = sizeof(sin6)
        else:
            raise InvalidIP(repr(sockaddr[0]))
        cdef int cflags = _map_flags(flags, _NI_FLAGS) | ares.ARES_NI_LOOKUPHOST | ares.ARES_NI_LOOKUPSERVICE
        cdef _Request req = self._request(callback)
        ares.ares_getnameinfo(self._ptr, sa, salen, cflags, _nameinfo_cb, <void*>req)
        self._update_timer()
