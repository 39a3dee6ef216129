"""Reading a hosts file (``/etc/hosts``) into name/address maps
(gevent's private ``gevent.resolver._hostsfile``).

A line is ``address canonical-name [alias ...]``, ``#`` starts a comment.
IPv6 link-local addresses (``fe80...``) are skipped: they need a scope that
a name lookup cannot carry. Names are lower-cased.
"""
import os
import sys
from _socket import AF_INET, AF_INET6, inet_pton



def _is_ipv4(text):
    try:
        inet_pton(AF_INET, text)
    except (OSError, ValueError):
        return False
    return True


def _is_ipv6(text):
    # A scope (``fe80::1%lo0``) is not part of the address.
    try:
        inet_pton(AF_INET6, text.split('%', 1)[0])
    except (OSError, ValueError):
        return False
    return True


def _reverse_name(ip, v4):
    # The PTR name an address is looked up by.
    if v4:
        return '.'.join(reversed(ip.split('.'))) + '.in-addr.arpa'
    packed = inet_pton(AF_INET6, ip.split('%', 1)[0])
    nibbles = ''.join('%02x' % byte for byte in packed)
    return '.'.join(reversed(nibbles)) + '.ip6.arpa'


def _default_path():
    if os.name == 'nt':  # pragma: no cover
        return os.path.expandvars(r'%SystemRoot%\system32\drivers\etc\hosts')
    return '/etc/hosts'


class HostsFile(object):
    """The contents of a hosts file, read (again) by :meth:`load` when the
    file's modification time moves on.

    After a load: ``v4`` / ``v6`` map each name and alias to its address
    (the last line naming it wins), ``aliases`` maps an alias to its
    canonical name, and ``reverse`` maps a PTR name (``4.3.2.1.in-addr.arpa``)
    to the first canonical name given for that address.
    """

    def __init__(self, fname=None):
        self.v4 = {}
        self.v6 = {}
        self.aliases = {}
        self.reverse = {}
        self.fname = fname if fname is not None else _default_path()
        if not self.fname:
            raise ValueError('a hosts file name is required')
        self._last_load = 0

    def _readlines(self):
        # The non-empty lines without their comments. Blocking disk I/O.
        with open(self.fname, 'rb') as f:
            text = f.read().decode(errors='ignore')
        lines = []
        for line in text.splitlines():
            line = line.split('#', 1)[0].strip()
            if line:
                lines.append(line)
        return lines

    def load(self):
        """Read the file if it changed since the last load. A file that
        cannot be read is reported to the hub and the old contents kept."""
        try:
            mtime = os.stat(self.fname).st_mtime
        except OSError:
            from geventc._hub import get_hub
            get_hub().handle_error(self, *sys.exc_info())
            return
        if mtime <= self._last_load:
            return
        v4 = {}
        v6 = {}
        aliases = {}
        reverse = {}
        for line in self._readlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            ip = parts[0]
            if _is_ipv4(ip):
                names = v4
            elif _is_ipv6(ip) and not ip.lower().startswith('fe80'):
                names = v6
            else:
                continue
            canonical = parts[1].lower()
            names[canonical] = ip
            for alias in parts[2:]:
                alias = alias.lower()
                names[alias] = ip
                aliases[alias] = canonical
            reverse.setdefault(_reverse_name(ip, names is v4), canonical)
        self._last_load = mtime
        self.v4 = v4
        self.v6 = v6
        self.aliases = aliases
        self.reverse = reverse

    def iter_all_host_addr_pairs(self):
        """``(name, address)`` for every name and alias, IPv4 first (after a :meth:`load`)."""
        self.load()
        yield from self.v4.items()
        yield from self.v6.items()
