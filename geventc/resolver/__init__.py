"""Name resolution for the cooperative socket functions (gevent.resolver).

The hub's resolver (``get_hub().resolver``) answers ``getaddrinfo``,
``gethostbyname``, ``gethostbyname_ex``, ``gethostbyaddr`` and
``getnameinfo`` for :mod:`geventc.socket`. Which class it is comes from
``GEVENT_RESOLVER`` / ``GEVENTC_RESOLVER`` (or ``geventc.config.resolver``):
a short name (``thread``, the default; ``block``; ``dnspython``; ``ares``),
a dotted ``module.Class`` path, a class, or a comma-separated list tried in
order (the first one that imports wins) -- see :func:`get_resolver_class`.

``thread`` and ``block`` call the C library, so their answers are the
stdlib's by construction. The DNS resolvers (``ares``, ``dnspython``) share
:class:`AbstractResolver`, which keeps their answers equal to the stdlib's:
everything that needs no DNS query (``None``, numeric addresses, names and
addresses in the hosts file, bad arguments) goes to the C library, which
answers without blocking; for the rest, the subclass finds the addresses and
the C library formats them (``getaddrinfo(address, port, ...,
AI_NUMERICHOST)``), so ports, service names, socket types, flags and their
errors are the stdlib's too.
"""
import os
import _socket
from _socket import (
    AF_INET, AF_INET6, AF_UNSPEC, AI_CANONNAME, AI_NUMERICHOST,
    AI_V4MAPPED, AI_ALL, EAI_AGAIN, EAI_FAIL, EAI_NONAME, EAI_SERVICE,
    NI_NAMEREQD, NI_NUMERICHOST, SOCK_DGRAM, SOCK_STREAM, error, gaierror, herror,
)

__all__ = ['get_resolver_class', 'AbstractResolver']

native_getaddrinfo = _socket.getaddrinfo
native_getnameinfo = _socket.getnameinfo
native_gethostbyname = _socket.gethostbyname
native_gethostbyname_ex = _socket.gethostbyname_ex
native_gethostbyaddr = _socket.gethostbyaddr
native_getservbyname = _socket.getservbyname

EAI_NODATA = getattr(_socket, 'EAI_NODATA', -5)

# glibc's gai_strerror()/hstrerror() texts, which the stdlib's errors carry.
EAI_MESSAGES = {
    EAI_NONAME: 'Name or service not known',
    EAI_NODATA: 'No address associated with hostname',
    EAI_AGAIN: 'Temporary failure in name resolution',
    EAI_FAIL: 'Non-recoverable failure in name resolution',
    EAI_SERVICE: 'Servname not supported for ai_socktype',
}
HOST_NOT_FOUND = 1
TRY_AGAIN = 2
NO_RECOVERY = 3
H_MESSAGES = {
    HOST_NOT_FOUND: 'Unknown host',
    TRY_AGAIN: 'Host name lookup failure',
    NO_RECOVERY: 'Unknown server error',
}

# Encoding idna at import: a first use inside a worker thread imports the
# codec there (gevent issue 349).
'x'.encode('idna')


# -- which resolver ----------------------------------------------------------------

SHORT_NAMES = {
    'thread': 'geventc.resolver.thread.Resolver',
    'block': 'geventc.resolver.blocking.Resolver',
    'blocking': 'geventc.resolver.blocking.Resolver',
    'dnspython': 'geventc.resolver.dnspython.Resolver',
    'ares': 'geventc.resolver.ares.Resolver',
}


def _import_one(path):
    if not isinstance(path, str):
        return path
    path = SHORT_NAMES.get(path.strip(), path.strip())
    # gevent's spellings name gevent's modules: use ours.
    if path.startswith('gevent.'):
        path = 'geventc.' + path[len('gevent.'):]
    if '.' not in path or '/' in path:
        raise ImportError('Cannot import %r. Required format: [package.]module.class. Or choose from %r'
                          % (path, sorted(SHORT_NAMES)))
    module_name, name = path.rsplit('.', 1)
    module = __import__(module_name, fromlist=[name])
    try:
        return getattr(module, name)
    except AttributeError:
        raise ImportError('Cannot import %r from %r' % (name, module))


def get_resolver_class(choice=None):
    """The resolver class the hub should make.

    *choice* defaults to ``geventc.config.resolver`` (from ``GEVENTC_RESOLVER``
    or ``GEVENT_RESOLVER``, else ``thread``): a class, a short name or dotted
    path, or a list (or comma-separated string) of them tried in order; the
    last one's ImportError is raised if none imports.
    """
    if choice is None:
        from geventc._config import config
        choice = getattr(config, 'resolver', None) or 'thread'
    if isinstance(choice, type):
        return choice
    if isinstance(choice, str):
        choice = [c for c in choice.split(',') if c.strip()] or ['thread']
    choice = list(choice)
    for candidate in choice[:-1]:
        try:
            return _import_one(candidate)
        except ImportError:
            pass
    return _import_one(choice[-1])


def setting(name, default=None):
    """A resolver setting: ``geventc.config.<name>``, else the environment
    (``GEVENTC_<NAME>`` or ``GEVENT_<NAME>``), else *default*."""
    from geventc._config import config
    value = getattr(config, name, None)
    if value is not None:
        return value
    for prefix in ('GEVENTC_', 'GEVENT_'):
        value = os.environ.get(prefix + name.upper())
        if value:
            return value
    return default


def split_servers(value):
    """A list of nameservers from a list or a comma-separated string."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split(',')
    return [v.strip() for v in value if v and v.strip()]


# -- the hosts file ------------------------------------------------------------------

class HostsFile(object):
    """The names and addresses in ``/etc/hosts``, re-read when the file changes.

    Lookups of these go to the C library: it answers them from the file,
    without a DNS query, exactly as the stdlib would."""

    def __init__(self, path='/etc/hosts'):
        self.path = path
        self._stamp = None
        self.names = frozenset()
        self.addresses = frozenset()

    def _refresh(self):
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        if stamp == self._stamp:
            return
        names = set()
        addresses = set()
        if stamp is not None:
            try:
                with open(self.path, 'rb') as f:
                    data = f.read()
            except OSError:
                data = b''
            for line in data.splitlines():
                fields = line.split(b'#', 1)[0].split()
                if len(fields) < 2:
                    continue
                addresses.add(fields[0].decode('ascii', 'replace').split('%')[0])
                names.update(n.lower() for n in fields[1:])
        self.names = frozenset(names)
        self.addresses = frozenset(addresses)
        self._stamp = stamp

    def has_name(self, name_bytes):
        self._refresh()
        return name_bytes.lower().rstrip(b'.') in self.names

    def has_address(self, address):
        self._refresh()
        return address in self.addresses


# -- helpers -------------------------------------------------------------------------

def _is_numeric_host(host):
    # Whether the C library reads *host* as an address (no lookup).
    if isinstance(host, (bytes, bytearray)):
        try:
            host = bytes(host).decode('ascii')
        except UnicodeDecodeError:
            return False
    try:
        native_getaddrinfo(host, None, AF_UNSPEC, SOCK_DGRAM, 0, AI_NUMERICHOST)
        return True
    except (error, UnicodeError, ValueError, TypeError):
        return False


def _lookup_port(port, socktype):
    """(port number, [socket types]) for *port* as getaddrinfo reads it (gevent's helper)."""
    socktypes = []
    if isinstance(port, (str, bytes)):
        if isinstance(port, bytes):
            port = port.decode('ascii', 'replace')
        try:
            port = int(port)
        except ValueError:
            try:
                if socktype == 0:
                    name = port
                    try:
                        port = native_getservbyname(name, 'tcp')
                        socktypes.append(SOCK_STREAM)
                        try:
                            if native_getservbyname(name, 'udp') == port:
                                socktypes.append(SOCK_DGRAM)
                        except error:
                            pass
                    except error:
                        port = native_getservbyname(name, 'udp')
                        socktypes.append(SOCK_DGRAM)
                elif socktype == SOCK_STREAM:
                    port = native_getservbyname(port, 'tcp')
                elif socktype == SOCK_DGRAM:
                    port = native_getservbyname(port, 'udp')
                else:
                    raise gaierror(EAI_SERVICE, EAI_MESSAGES[EAI_SERVICE])
            except gaierror:
                raise
            except error:
                raise gaierror(EAI_SERVICE, EAI_MESSAGES[EAI_SERVICE])
    elif port is None:
        port = 0
    elif not isinstance(port, int):
        raise error('Int or String expected', port, type(port))
    port = int(port % 65536)
    if not socktypes and socktype:
        socktypes.append(socktype)
    return port, socktypes


class LookupFailed(Exception):
    """Raised by a resolver's lookups: *kind* is ``'noname'`` (no such name),
    ``'nodata'`` (the name has no address of that family) or ``'again'``
    (no answer: timeout, server failure)."""

    def __init__(self, kind, detail=None):
        Exception.__init__(self, kind, detail)
        self.kind = kind
        self.detail = detail


def _gaierror(kind):
    code = {'noname': EAI_NONAME, 'nodata': EAI_NODATA, 'again': EAI_AGAIN}.get(kind, EAI_FAIL)
    return gaierror(code, EAI_MESSAGES[code])


def _herror(kind):
    code = {'noname': HOST_NOT_FOUND, 'nodata': HOST_NOT_FOUND, 'again': TRY_AGAIN}.get(kind, NO_RECOVERY)
    return herror(code, H_MESSAGES[code])


# -- the shared base of the DNS resolvers -------------------------------------------

class AbstractResolver(object):
    """The five functions on top of two lookups a DNS resolver provides:

    - ``_lookup(name_bytes, family)``: ``(canonical_name, aliases, [address, ...])``
      for ``AF_INET`` or ``AF_INET6``;
    - ``_lookup_reverse(address)``: ``(host_name, aliases)``;

    both raising :class:`LookupFailed`. Everything else is the C library's
    answer (see the module's docstring).
    """

    HOSTNAME_ENCODING = 'idna'
    EAI_NONAME_MSG = EAI_MESSAGES[EAI_NONAME]

    # gevent hands these to the C library whatever the hosts file says.
    _LOCAL_NAMES = frozenset([b'localhost', b'ip6-localhost', b'::1', b'127.0.0.1',
                              b'255.255.255.255', b'<broadcast>', b''])

    hosts_file = HostsFile()

    def close(self):
        """Release what the resolver holds (sockets, channels)."""

    # -- how a failed lookup is reported: the stdlib's errors, unless a
    # subclass's gevent counterpart reports it in its own words --------------------

    def _addrinfo_error(self, failure):
        """The error of ``getaddrinfo``/``getnameinfo`` for a :class:`LookupFailed`."""
        return _gaierror(failure.kind)

    def _hostname_error(self, failure):
        """The error of ``gethostbyname``/``gethostbyname_ex``."""
        return _gaierror(failure.kind)

    def _hostaddr_error(self, failure):
        """The error of ``gethostbyaddr``."""
        return _herror(failure.kind)

    # -- to be provided ------------------------------------------------------------

    def _lookup(self, name_bytes, family):
        raise NotImplementedError

    def _lookup_reverse(self, address):
        raise NotImplementedError

    # -- helpers ---------------------------------------------------------------------

    def _hostname_to_bytes(self, hostname):
        if isinstance(hostname, str):
            return hostname.encode(self.HOSTNAME_ENCODING)
        if isinstance(hostname, (bytes, bytearray)):
            return bytes(hostname)
        raise TypeError('Expected str, bytes or bytearray, not %s' % type(hostname).__name__)

    def _is_local(self, host):
        # True when the C library answers for *host* without a DNS query
        # (or fails at once on a bad argument).
        if not isinstance(host, (str, bytes, bytearray)):
            return True
        try:
            name = self._hostname_to_bytes(host)
        except UnicodeError:
            return True
        if name in self._LOCAL_NAMES or self.hosts_file.has_name(name):
            return True
        return _is_numeric_host(name)

    def _addresses(self, name, family):
        # [(family, address)] for *name*; AF_UNSPEC asks for both families.
        canonical = None
        found = []
        failures = []
        families = (AF_INET, AF_INET6) if family == AF_UNSPEC else (family,)
        for af in families:
            try:
                canon, _aliases, addrs = self._lookup(name, af)
            except LookupFailed as ex:
                if ex.kind == 'again':
                    # No answer (a silent or failing server): asking again for
                    # the other family would double the wait, and the C
                    # library, asking for both at once, gives up here too.
                    raise
                failures.append(ex.kind)
                continue
            if canonical is None:
                canonical = canon
            found.extend((af, a) for a in addrs)
        if not found:
            raise LookupFailed('noname' if failures and all(f == 'noname' for f in failures) else 'nodata')
        return canonical, found

    # -- the five functions ------------------------------------------------------------

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        if host is None or (flags & AI_NUMERICHOST) or self._is_local(host):
            return native_getaddrinfo(host, port, family, type, proto, flags)
        # Arguments first, as the C library checks them before any lookup:
        # a bad family, socket type or service fails here, without a query.
        probe = '::1' if family == AF_INET6 else '127.0.0.1'
        native_getaddrinfo(probe, port, family, type, proto, (flags & ~AI_CANONNAME) | AI_NUMERICHOST)
        name = self._hostname_to_bytes(host)
        try:
            if family == AF_INET6 and flags & AI_V4MAPPED:
                canonical, found = self._v4mapped(name, flags)
            else:
                canonical, found = self._addresses(name, family)
        except LookupFailed as ex:
            raise self._addrinfo_error(ex) from None
        result = []
        numeric_flags = (flags & ~(AI_CANONNAME | AI_V4MAPPED | AI_ALL)) | AI_NUMERICHOST
        for af, address in found:
            result.extend(native_getaddrinfo(address, port, af, type, proto, numeric_flags))
        if flags & AI_CANONNAME and result:
            first = result[0]
            result[0] = (first[0], first[1], first[2], canonical or '', first[4])
        return result

    def _v4mapped(self, name, flags):
        canonical = None
        found = []
        try:
            canonical, _aliases, addrs = self._lookup(name, AF_INET6)
            found.extend((AF_INET6, a) for a in addrs)
        except LookupFailed as ex:
            if ex.kind == 'again':
                raise
        if not found or flags & AI_ALL:
            try:
                canon4, _aliases, addrs = self._lookup(name, AF_INET)
                canonical = canonical or canon4
                found.extend((AF_INET6, '::ffff:' + a) for a in addrs)
            except LookupFailed:
                if not found:
                    raise
        return canonical, found

    def gethostbyname(self, hostname):
        if self._is_local(hostname):
            return native_gethostbyname(hostname)
        return self.gethostbyname_ex(hostname)[2][0]

    def gethostbyname_ex(self, hostname):
        if self._is_local(hostname):
            return native_gethostbyname_ex(hostname)
        name = self._hostname_to_bytes(hostname)
        try:
            canonical, aliases, addrs = self._lookup(name, AF_INET)
        except LookupFailed as ex:
            raise self._hostname_error(ex) from None
        if not addrs:
            raise _gaierror('nodata')
        return (canonical or name.decode('ascii', 'replace'), list(aliases), list(addrs))

    def _address_of(self, host):
        # gethostbyaddr() takes a name too: its first address, as the stdlib picks it.
        if _is_numeric_host(host) or self._is_local(host):
            return native_getaddrinfo(host, None, AF_UNSPEC, SOCK_DGRAM, 0, 0)[0][4][0]
        name = self._hostname_to_bytes(host)
        try:
            return self._addresses(name, AF_UNSPEC)[1][0][1]
        except LookupFailed as ex:
            raise self._addrinfo_error(ex) from None

    def gethostbyaddr(self, ip_address):
        if not isinstance(ip_address, (str, bytes, bytearray)) or ip_address in ('', b''):
            return native_gethostbyaddr(ip_address)
        if self._hostname_to_bytes(ip_address) in self._LOCAL_NAMES:
            return native_gethostbyaddr(ip_address)
        address = self._address_of(ip_address)
        if self.hosts_file.has_address(address.split('%')[0]):
            return native_gethostbyaddr(address)
        try:
            name, aliases = self._lookup_reverse(address)
        except LookupFailed as ex:
            raise self._hostaddr_error(ex) from None
        return (name, list(aliases), [address])

    def getnameinfo(self, sockaddr, flags):
        if flags & NI_NUMERICHOST:
            return native_getnameinfo(sockaddr, flags)
        # The C library checks the arguments and gives the service's name.
        numeric_host, service = native_getnameinfo(sockaddr, (flags & ~NI_NAMEREQD) | NI_NUMERICHOST)
        address = numeric_host.split('%')[0]
        if self.hosts_file.has_address(address) or \
                self._hostname_to_bytes(address) in self._LOCAL_NAMES:
            return native_getnameinfo(sockaddr, flags)
        try:
            name, _aliases = self._lookup_reverse(address)
        except LookupFailed as ex:
            if ex.kind == 'again':
                raise self._addrinfo_error(ex) from None
            if flags & NI_NAMEREQD:
                raise _gaierror('noname') from None
            return numeric_host, service
        return name, service

