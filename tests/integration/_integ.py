"""Shared pieces of the integration tests (not a test module itself).

Every scenario runs in a fresh interpreter (``_helpers.run_python``) that
calls ``monkey.patch_all()`` before importing the library under test, as a
gevent user's program does. ``GEVENTC_TEST_IMPL=gevent`` runs the very same
child code on real gevent 26.9.0 through the reverse alias (tests/_alias.py).

Servers (redis-server, PostgreSQL) are started by the tests themselves on
loopback; a scenario whose server or library cannot be had is skipped with
a reason starting with ``!!!`` so that it stands out in the summary.
"""
import importlib.util
import os
import socket
import sys
import textwrap

import pytest

_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from _helpers import IMPL_IS_GEVENT, assert_ok, run_python  # noqa: E402

IMPL = 'gevent' if IMPL_IS_GEVENT else 'geventc'

#: First lines of every child: patch the standard library before anything
#: else is imported, then the library under test may be imported.
PATCH_ALL = '''
from geventc import monkey
monkey.patch_all()
import geventc
'''

#: For libraries that import ``gevent`` by name (gevent-websocket, zmq.green,
#: engineio's gevent mode, psycopg's gevent detection): on geventc the
#: ``gevent`` name must be geventc's (install_as_gevent); on real gevent
#: (GEVENTC_TEST_IMPL=gevent) it already is gevent itself.
AS_GEVENT = '''
import _alias
if not _alias.alias_requested():
    geventc.install_as_gevent()
'''


def missing(*modules):
    """The first of *modules* that cannot be imported, or None."""
    for name in modules:
        if importlib.util.find_spec(name) is None:
            return name
    return None


def require(*modules):
    """Skip loudly unless every one of *modules* is importable."""
    name = missing(*modules)
    if name is not None:
        pytest.skip('!!! %s is not importable: this integration scenario did NOT run '
                    '(it is in pyproject.toml\'s test extras)' % (name,))


def free_port():
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_child(code, timeout=60, extra_env=None):
    """Run *code* (PATCH_ALL is prepended) in a child; return its stdout lines.

    The child must exit 0; its stdout is returned split into lines.
    """
    res = assert_ok(run_python(PATCH_ALL + textwrap.dedent(code), timeout=timeout, extra_env=extra_env))
    return res.stdout.splitlines()


#: A minimal RFC 6455 client for the children (text frames, close), so the
#: websocket servers are driven by bytes we control rather than by another
#: library's threads. ``ws_connect(port, path)`` returns a connection with
#: ``send(text)``, ``recv() -> (opcode, bytes)`` and ``close()``.
WS_CLIENT = '''
import base64 as _b64
import hashlib as _hashlib
import os as _os
import socket as _socket
import struct as _struct

_WS_GUID = b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11'


class WSConn(object):
    def __init__(self, port, path):
        self.sock = _socket.create_connection(('127.0.0.1', port), timeout=60)
        key = _b64.b64encode(_os.urandom(16))
        self.sock.sendall(b'GET ' + path.encode() + b' HTTP/1.1\\r\\n'
                          b'Host: 127.0.0.1\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n'
                          b'Sec-WebSocket-Key: ' + key + b'\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n')
        self.rfile = self.sock.makefile('rb')
        status = self.rfile.readline()
        assert status.split()[1] == b'101', status
        headers = {}
        while True:
            line = self.rfile.readline()
            if line in (b'\\r\\n', b''):
                break
            name, _, value = line.decode('latin-1').partition(':')
            headers[name.strip().lower()] = value.strip()
        accept = _b64.b64encode(_hashlib.sha1(key + _WS_GUID).digest()).decode()
        assert headers.get('sec-websocket-accept') == accept, headers

    def send_frame(self, opcode, payload):
        mask = _os.urandom(4)
        n = len(payload)
        if n < 126:
            head = _struct.pack('!BB', 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = _struct.pack('!BBH', 0x80 | opcode, 0x80 | 126, n)
        else:
            head = _struct.pack('!BBQ', 0x80 | opcode, 0x80 | 127, n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def send(self, text):
        self.send_frame(1, text.encode('utf-8'))

    def recv(self):
        b1, b2 = self.rfile.read(2)
        n = b2 & 0x7f
        if n == 126:
            n, = _struct.unpack('!H', self.rfile.read(2))
        elif n == 127:
            n, = _struct.unpack('!Q', self.rfile.read(8))
        return b1 & 0x0f, self.rfile.read(n)

    def close(self):
        self.send_frame(8, _struct.pack('!H', 1000))
        opcode, payload = self.recv()
        assert opcode == 8, (opcode, payload)
        self.rfile.close()
        self.sock.close()
        return payload


def ws_connect(port, path):
    return WSConn(port, path)
'''
