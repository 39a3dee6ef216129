"""A resolver over the system's c-ares library (``GEVENT_RESOLVER=ares``).

c-ares speaks DNS itself, on sockets the hub watches, so a lookup costs no
thread. Names and addresses of the hosts file, numeric addresses and bad
arguments are answered by the C library, and the addresses c-ares finds are
formatted by it too (see :mod:`geventc.resolver`), so the answers match the
stdlib's wherever the system resolver would ask DNS the same question.

Settings (gevent's): the keyword arguments of
:class:`geventc.resolver.cares.channel`, or with *use_environ* (the default)
the environment: ``GEVENTARES_SERVERS``, ``GEVENTARES_TIMEOUT``,
``GEVENTARES_TRIES``, ``GEVENTARES_NDOTS``, ``GEVENTARES_UDP_PORT``,
``GEVENTARES_TCP_PORT``, ``GEVENTARES_FLAGS``, and
``GEVENT_RESOLVER_NAMESERVERS`` / ``GEVENT_RESOLVER_TIMEOUT``.
"""
import os
import warnings
from _socket import gaierror, herror

from geventc import _ares
from geventc._hub import Waiter, get_hub
from geventc.resolver import AbstractResolver, LookupFailed, setting, split_servers
from geventc._ares import (
    channel, AresError, InvalidIP,
    ARES_ENOTFOUND, ARES_ENODATA, ARES_ENONAME, ARES_EBADNAME,
    ARES_EDESTRUCTION, ARES_ECANCELLED,
)

__all__ = ['Resolver']

_NOT_FOUND = (ARES_ENOTFOUND, ARES_ENONAME, ARES_EBADNAME)

_STATUS_NAMES = {getattr(_ares, name): name for name in dir(_ares) if name.startswith('ARES_E')}

# Bumped in a forked child: a channel's sockets belong to the parent.
_generation = [0]

if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=lambda: _generation.__setitem__(0, _generation[0] + 1))


def _environ_options():
    options = {}
    for key in ('flags', 'timeout', 'tries', 'ndots', 'udp_port', 'tcp_port', 'servers'):
        # config.ares_<key>, else GEVENTARES_<KEY>
        value = setting('ares_' + key)
        if value:
            options[key] = value
    servers = setting('resolver_nameservers')
    if servers:
        options.setdefault('servers', servers)
    timeout = setting('resolver_timeout')
    if timeout:
        options.setdefault('timeout', timeout)
    for key in ('flags', 'tries', 'ndots', 'udp_port', 'tcp_port'):
        if key in options:
            options[key] = int(options[key])
    if 'timeout' in options:
        options['timeout'] = float(options['timeout'])
    if 'servers' in options:
        options['servers'] = split_servers(options['servers'])
    return options


class Resolver(AbstractResolver):
    """Name resolution with c-ares, on the hub's loop (see the module's docstring).

    ``close()`` it when done (the hub does so when destroyed).
    """

    cares_class = channel

    def __init__(self, hub=None, use_environ=True, **kwargs):
        if hub is None:
            hub = get_hub()
        self.hub = hub
        if use_environ:
            for key, value in _environ_options().items():
                kwargs.setdefault(key, value)
        self.params = kwargs
        self.cares = self.cares_class(hub.loop, **kwargs)
        self._generation = _generation[0]
        self.pid = os.getpid()

    def __repr__(self):
        return '<geventc.resolver.ares.Resolver at 0x%x ares=%r>' % (id(self), self.cares)

    def close(self):
        cares = self.cares
        self.cares = None
        if cares is not None:
            cares.destroy()

    def __del__(self):
        if getattr(self, 'cares', None) is not None:
            warnings.warn('c-ares Resolver destroyed while not closed', ResourceWarning)
            try:
                self.close()
            except Exception:
                pass

    def _channel(self):
        if self._generation != _generation[0]:
            # In a forked child: the parent's channel is not ours to use.
            old = self.cares
            self.cares = self.cares_class(self.hub.loop, **self.params)
            self._generation = _generation[0]
            self.pid = os.getpid()
            if old is not None:
                try:
                    old.destroy()
                except Exception:
                    pass
        if self.cares is None:
            raise ValueError('the resolver is closed')
        return self.cares

    def _ask(self, method, *args):
        # One query, waited for in this greenlet; retried once if the channel
        # was replaced (fork) while it was in flight.
        for _ in range(2):
            waiter = Waiter(self.hub)
            cares = self._channel()
            getattr(cares, method)(waiter, *args)
            try:
                return waiter.get()
            except AresError as ex:
                if ex.status in (ARES_EDESTRUCTION, ARES_ECANCELLED) and cares is not self.cares:
                    continue
                if ex.status in _NOT_FOUND:
                    raise LookupFailed('noname', ex) from None
                if ex.status == ARES_ENODATA:
                    raise LookupFailed('nodata', ex) from None
                raise LookupFailed('again', ex) from None
        raise LookupFailed('again')

    # A lookup c-ares gave up on (timeout, server failure) is reported in
    # c-ares's words, with gevent's exception for each function.

    @staticmethod
    def _ares_words(failure):
        detail = failure.detail
        if failure.kind != 'again' or not isinstance(detail, AresError):
            return None
        return detail.status, '%s: %s' % (_STATUS_NAMES.get(detail.status, detail.status), detail.args[1])

    def _addrinfo_error(self, failure):
        words = self._ares_words(failure)
        return gaierror(*words) if words else AbstractResolver._addrinfo_error(self, failure)

    def _hostname_error(self, failure):
        words = self._ares_words(failure)
        return herror(*words) if words else AbstractResolver._hostname_error(self, failure)

    def _hostaddr_error(self, failure):
        words = self._ares_words(failure)
        return herror(*words) if words else AbstractResolver._hostaddr_error(self, failure)

    def _lookup(self, name_bytes, family):
        result = self._ask('getaddrinfo', name_bytes, None, family, 0, 0, 0)
        seen = set()
        addresses = []
        for entry in result:
            address = entry[4][0]
            if entry[0] == family and address not in seen:
                seen.add(address)
                addresses.append(address)
        if not addresses:
            raise LookupFailed('nodata')
        canonical = result.canonical or name_bytes.decode('ascii', 'replace')
        return canonical, list(result.aliases), addresses

    def _lookup_reverse(self, address):
        try:
            name, aliases, _addresses = self._ask('gethostbyaddr', address)
        except InvalidIP:
            raise LookupFailed('noname') from None
        # c-ares lists the PTR name among the aliases too; the C library does not.
        return name, [a for a in aliases if a != name]
