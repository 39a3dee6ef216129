"""A resolver speaking DNS with dnspython's messages (``GEVENT_RESOLVER=dnspython``).

Needs the ``dnspython`` package (importing this module without it raises
ImportError, so ``GEVENT_RESOLVER=dnspython,thread`` falls back). dnspython
builds and parses the messages; the queries go over plain ``_socket``
sockets in non-blocking mode, waited on with the hub's io watchers, so no
monkey-patching (and no private copy of dnspython) is needed.

The configuration is ``/etc/resolv.conf``'s as dnspython reads it
(nameservers, search list, ndots, timeout), overridden by
``GEVENT_RESOLVER_NAMESERVERS`` (a comma-separated list; ``host:port`` and
``[v6host]:port`` are accepted) and ``GEVENT_RESOLVER_TIMEOUT`` (the total
time a lookup may take). The hosts file and numeric addresses are answered
by the C library (see :mod:`geventc.resolver`).
"""
import time
import _socket
from _socket import AF_INET, AF_INET6, SOCK_DGRAM, SOCK_STREAM

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.reversename

from geventc._hub import Timeout, get_hub
from geventc.resolver import AbstractResolver, LookupFailed, setting, split_servers

__all__ = ['Resolver']

_READ = 1
_WRITE = 2
_MAX_CNAMES = 16


def _parse_server(text):
    # 'ip', 'ip:port', '[v6]:port' or a bare IPv6 address -> (ip, port or None)
    text = text.strip()
    if text.startswith('['):
        host, _, rest = text[1:].partition(']')
        return host, int(rest[1:]) if rest.startswith(':') else None
    if text.count(':') == 1:
        host, port = text.split(':')
        return host, int(port)
    return text, None


def _text(name):
    return name.to_text(omit_final_dot=True)


class _Answer(object):
    __slots__ = ('rcode', 'response')

    def __init__(self, rcode, response):
        self.rcode = rcode
        self.response = response


class Resolver(AbstractResolver):
    """DNS lookups with dnspython's messages over the hub's io watchers.

    ``self.resolver`` is the ``dns.resolver.Resolver`` holding the settings
    (``nameservers``, ``port``, ``nameserver_ports``, ``search``, ``ndots``,
    ``timeout`` per query, ``lifetime`` per lookup); change them there.
    """

    def __init__(self, hub=None, nameservers=None, timeout=None):
        if hub is None:
            hub = get_hub()
        self.hub = hub
        resolver = dns.resolver.Resolver(configure=False)
        try:
            resolver.read_resolv_conf('/etc/resolv.conf')
        except (dns.exception.DNSException, OSError, ValueError):
            resolver.nameservers = ['127.0.0.1']
        if nameservers is None:
            nameservers = split_servers(setting('resolver_nameservers'))
        if nameservers:
            ips = []
            for entry in nameservers:
                ip, port = _parse_server(entry)
                ips.append(ip)
                if port is not None:
                    resolver.nameserver_ports[ip] = port
            resolver.nameservers = ips
        if timeout is None:
            timeout = setting('resolver_timeout')
        if timeout is not None:
            resolver.lifetime = float(timeout)
            resolver.timeout = min(resolver.timeout, resolver.lifetime)
        self.resolver = resolver

    def __repr__(self):
        return '<geventc.resolver.dnspython.Resolver at 0x%x nameservers=%r>' % (
            id(self), self.resolver.nameservers)

    # -- the wire --------------------------------------------------------------------

    def _wait(self, fd, event, seconds):
        watcher = self.hub.loop.io(fd, event)
        timeout = Timeout(seconds)
        timeout.start()
        try:
            self.hub.wait(watcher)
            return True
        except Timeout as ex:
            if ex is not timeout:
                raise
            return False
        finally:
            timeout.cancel()
            watcher.close()

    def _udp(self, query, wire, address, port, seconds):
        family = AF_INET6 if ':' in address else AF_INET
        sock = _socket.socket(family, SOCK_DGRAM)
        try:
            sock.setblocking(False)
            # Connected: only this server's answers arrive, and an ICMP
            # "port unreachable" fails the query at once.
            sock.connect((address, port))
            sock.send(wire)
            deadline = time.monotonic() + seconds
            while True:
                try:
                    data = sock.recv(65535)
                except BlockingIOError:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self._wait(sock.fileno(), _READ, left):
                        return None
                    continue
                try:
                    response = dns.message.from_wire(data)
                except dns.exception.DNSException:
                    continue
                if query.is_response(response):
                    return response
        finally:
            sock.close()

    def _recv_exactly(self, sock, size, deadline):
        data = b''
        while len(data) < size:
            try:
                chunk = sock.recv(size - len(data))
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0 or not self._wait(sock.fileno(), _READ, left):
                    raise OSError('timed out')
                continue
            if not chunk:
                raise OSError('connection closed')
            data += chunk
        return data

    def _tcp(self, query, wire, address, port, seconds):
        family = AF_INET6 if ':' in address else AF_INET
        deadline = time.monotonic() + seconds
        sock = _socket.socket(family, SOCK_STREAM)
        try:
            sock.setblocking(False)
            err = sock.connect_ex((address, port))
            if err:
                if not self._wait(sock.fileno(), _WRITE, seconds):
                    return None
                if sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR):
                    return None
            out = len(wire).to_bytes(2, 'big') + wire
            while out:
                try:
                    out = out[sock.send(out):]
                except BlockingIOError:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self._wait(sock.fileno(), _WRITE, left):
                        return None
            size = int.from_bytes(self._recv_exactly(sock, 2, deadline), 'big')
            response = dns.message.from_wire(self._recv_exactly(sock, size, deadline))
            return response if query.is_response(response) else None
        except (OSError, dns.exception.DNSException):
            return None
        finally:
            sock.close()

    def _ask(self, qname, rdtype, deadline):
        # One name, every server until one answers NOERROR or NXDOMAIN.
        resolver = self.resolver
        query = dns.message.make_query(qname, rdtype)
        wire = query.to_wire()
        servers = list(resolver.nameservers)
        for _attempt in range(3):
            for address in servers:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                port = resolver.nameserver_ports.get(address, resolver.port)
                try:
                    response = self._udp(query, wire, address, port, min(resolver.timeout, left))
                except OSError:
                    response = None
                if response is not None and response.flags & dns.flags.TC:
                    response = self._tcp(query, wire, address, port, max(deadline - time.monotonic(), 0.001))
                if response is None:
                    continue
                rcode = response.rcode()
                if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                    return _Answer(rcode, response)
        return None

    def _candidates(self, name_bytes):
        resolver = self.resolver
        text = name_bytes.decode('ascii', 'replace')
        if text.endswith('.'):
            return [dns.name.from_text(text)]
        relative = dns.name.from_text(text, origin=None)
        searched = [relative.concatenate(s) for s in (resolver.search or [])]
        as_is = relative.concatenate(dns.name.root)
        ndots = resolver.ndots if resolver.ndots is not None else 1
        if len(relative.labels) - 1 >= ndots:
            return [as_is] + searched
        return searched + [as_is]

    def _query(self, name_bytes, rdtype):
        """(canonical, aliases, rdatas) for *name_bytes*, raising LookupFailed."""
        deadline = time.monotonic() + self.resolver.lifetime
        failures = []
        for qname in self._candidates(name_bytes):
            answer = self._ask(qname, rdtype, deadline)
            if answer is None:
                failures.append('again')
                continue
            if answer.rcode == dns.rcode.NXDOMAIN:
                failures.append('noname')
                continue
            canonical, aliases, rdatas = self._follow(answer.response, qname, rdtype)
            if rdatas:
                return canonical, aliases, rdatas
            failures.append('nodata')
        if 'nodata' in failures:
            raise LookupFailed('nodata')
        if 'again' in failures:
            raise LookupFailed('again')
        raise LookupFailed('noname')

    @staticmethod
    def _follow(response, qname, rdtype):
        # Follow the CNAME chain from qname in the answer section.
        name = qname
        aliases = []
        for _ in range(_MAX_CNAMES):
            rrset = _find(response.answer, name, rdtype)
            if rrset is not None:
                return _text(name), aliases, list(rrset)
            cname = _find(response.answer, name, dns.rdatatype.CNAME)
            if cname is None:
                break
            aliases.append(_text(name))
            name = cname[0].target
        return _text(name), aliases, []

    # -- AbstractResolver ---------------------------------------------------------------

    def _lookup(self, name_bytes, family):
        rdtype = dns.rdatatype.AAAA if family == AF_INET6 else dns.rdatatype.A
        try:
            canonical, aliases, rdatas = self._query(name_bytes, rdtype)
        except dns.exception.DNSException:
            raise LookupFailed('noname')
        return canonical, aliases, [r.address for r in rdatas]

    def _lookup_reverse(self, address):
        try:
            name = dns.reversename.from_address(address)
        except (dns.exception.DNSException, ValueError):
            raise LookupFailed('noname')
        canonical, aliases, rdatas = self._query(name.to_text().encode('ascii'), dns.rdatatype.PTR)
        return _text(rdatas[0].target), aliases


def _find(section, name, rdtype):
    for rrset in section:
        if rrset.rdtype == rdtype and rrset.name == name:
            return rrset
    return None
