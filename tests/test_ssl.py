"""geventc.ssl: a real TLS server and clients over loopback, with a test
certificate made here by the ``openssl`` command. Cooperative handshakes,
reads, writes and unwrap; timeouts; verification failures; peers that
vanish; closing a TLS socket another greenlet reads. The same tests run
against gevent 26.9.0."""
import errno
import shutil
import ssl as stdssl
import struct
import time
import warnings

import pytest

from _helpers import make_cert

import geventc as gevent
from geventc import socket as gsocket
from geventc import ssl as gssl

pytestmark = [
    pytest.mark.filterwarnings('error'),
    pytest.mark.skipif(shutil.which('openssl') is None, reason='needs the openssl command'),
]


@pytest.fixture(scope='module')
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp('certs')
    return {'server': make_cert(d, 'server'), 'other': make_cert(d, 'other', 'someone-else')}


@pytest.fixture
def server_ctx(certs):
    ctx = gssl.SSLContext(gssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*certs['server'])
    return ctx


@pytest.fixture
def client_ctx(certs):
    ctx = gssl.SSLContext(gssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(certs['server'][0])
    return ctx


class TLSServer:
    """Accepts TCP connections and runs ``handler(tls_socket)`` in a greenlet
    per connection (the handshake happens in that greenlet)."""

    def __init__(self, ctx, handler):
        self.listener = gsocket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(128)
        self.address = self.listener.getsockname()
        self.ctx = ctx
        self.handler = handler
        self.greenlets = []
        self.errors = []
        self.acceptor = gevent.spawn(self._accept_loop)

    def _accept_loop(self):
        while True:
            conn, _ = self.listener.accept()
            self.greenlets.append(gevent.spawn(self._serve, conn))

    def _serve(self, conn):
        try:
            with self.ctx.wrap_socket(conn, server_side=True) as tls:
                return self.handler(tls)
        except OSError as ex:
            self.errors.append(ex)
            conn.close()

    def close(self):
        self.acceptor.kill()
        self.listener.close()
        gevent.joinall(self.greenlets, timeout=10)
        gevent.killall(self.greenlets)

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()


def echo(tls):
    while True:
        data = tls.recv(65536)
        if not data:
            return
        tls.sendall(data)


def recv_exactly(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(65536, n - len(buf)))
        if not chunk:
            raise AssertionError('EOF after %d of %d bytes' % (len(buf), n))
        buf += chunk
    return bytes(buf)


def connect(client_ctx, address, timeout=None):
    raw = gsocket.create_connection(address)
    raw.settimeout(timeout)
    return client_ctx.wrap_socket(raw, server_hostname='localhost')


class TestModule:

    def test_names(self):
        for name in ('SSLContext', 'SSLSocket', 'wrap_socket', 'get_server_certificate',
                     'create_default_context', 'PROTOCOL_TLS_CLIENT', 'PROTOCOL_TLS_SERVER',
                     'CERT_REQUIRED', 'CERT_NONE', 'SSLObject', 'MemoryBIO', 'TLSVersion',
                     'DER_cert_to_PEM_cert', 'PEM_cert_to_DER_cert', 'OPENSSL_VERSION'):
            assert hasattr(gssl, name), name
        assert gssl.SSLError is stdssl.SSLError
        assert gssl.SSLWantReadError is stdssl.SSLWantReadError
        assert gssl.SSLCertVerificationError is stdssl.SSLCertVerificationError
        assert issubclass(gssl.SSLContext, stdssl.SSLContext)
        assert issubclass(gssl.SSLSocket, gsocket.socket)

    def test_context_settings_still_work(self):
        ctx = gssl.SSLContext(gssl.PROTOCOL_TLS_CLIENT)
        ctx.verify_mode = gssl.CERT_REQUIRED
        ctx.options |= gssl.OP_NO_COMPRESSION
        ctx.minimum_version = gssl.TLSVersion.TLSv1_2
        assert ctx.verify_mode == gssl.CERT_REQUIRED
        assert ctx.options & gssl.OP_NO_COMPRESSION
        assert ctx.minimum_version == gssl.TLSVersion.TLSv1_2


class TestTLS:

    def test_handshake_and_echo(self, server_ctx, client_ctx):
        with TLSServer(server_ctx, echo) as server:
            with connect(client_ctx, server.address) as tls:
                assert isinstance(tls, gssl.SSLSocket)
                assert isinstance(tls, gsocket.socket)
                assert tls.version() in ('TLSv1.2', 'TLSv1.3')
                assert tls.cipher() is not None
                cert = tls.getpeercert()
                assert dict(x[0] for x in cert['subject'])['commonName'] == 'localhost'
                assert tls.getpeercert(binary_form=True)
                for msg in (b'a', b'hello tls', b'x' * 100000):
                    tls.sendall(msg)
                    assert recv_exactly(tls, len(msg)) == msg
                buf = bytearray(5)
                tls.sendall(b'12345')
                got = 0
                while got < 5:
                    got += tls.recv_into(memoryview(buf)[got:])
                assert buf == b'12345'
            assert server.errors == []

    def test_concurrent_clients(self, server_ctx, client_ctx):
        with TLSServer(server_ctx, echo) as server:
            def client(i):
                with connect(client_ctx, server.address) as tls:
                    for k in range(10):
                        msg = b'%d:%d:' % (i, k) + b'.' * (i * 97 % 5000)
                        tls.sendall(msg)
                        assert recv_exactly(tls, len(msg)) == msg
                return i
            clients = [gevent.spawn(client, i) for i in range(25)]
            gevent.joinall(clients, timeout=40, raise_error=True)
            assert [g.value for g in clients] == list(range(25))
            assert server.errors == []

    def test_large_transfers(self, server_ctx, client_ctx):
        size = 8 * 1024 * 1024
        data = bytes(range(256)) * (size // 256)

        def sink_then_send(tls):
            got = recv_exactly(tls, size)
            tls.sendall(got[::-1])

        with TLSServer(server_ctx, sink_then_send) as server:
            with connect(client_ctx, server.address) as tls:
                tls.sendall(data)
                assert recv_exactly(tls, size) == data[::-1]

    def test_sendfile_sends_encrypted(self, server_ctx, client_ctx, tmp_path):
        # sendfile(2) on a TLS socket would write the file's plain bytes
        # under the TLS stream (CPython's test_ssl ThreadedTests.test_sendfile).
        data = bytes(range(256)) * 400
        path = tmp_path / 'payload'
        path.write_bytes(data)
        with TLSServer(server_ctx, echo) as server:
            with connect(client_ctx, server.address, timeout=10) as tls:
                with open(path, 'rb') as f:
                    assert tls.sendfile(f, 100, 50000) == 50000
                    assert f.tell() == 50100
                assert recv_exactly(tls, 50000) == data[100:50100]
                assert tls.version() is not None

    def test_waiting_read_lets_others_run(self, server_ctx, client_ctx):
        def slow(tls):
            gevent.sleep(0.1)
            tls.sendall(b'late')
            tls.recv(1)

        ticks = []
        with TLSServer(server_ctx, slow) as server:
            with connect(client_ctx, server.address) as tls:
                g = gevent.spawn(lambda: [ticks.append(1) or gevent.sleep(0.01) for _ in range(5)])
                assert tls.recv(10) == b'late'
                assert len(ticks) == 5
                g.join()

    def test_makefile(self, server_ctx, client_ctx):
        def lines(tls):
            f = tls.makefile('rwb')
            for line in f:
                f.write(line[::-1].strip() + b'\n')
                f.flush()
            f.close()

        with TLSServer(server_ctx, lines) as server:
            with connect(client_ctx, server.address) as tls:
                f = tls.makefile('rwb')
                f.write(b'abc\n')
                f.flush()
                assert f.readline() == b'cba\n'
                f.close()

    def test_unwrap(self, server_ctx, client_ctx):
        def server_side(tls):
            assert tls.recv(100) == b'secret'
            plain = tls.unwrap()
            plain.sendall(b'in clear')
            return plain.recv(100)

        with TLSServer(server_ctx, server_side) as server:
            tls = connect(client_ctx, server.address)
            tls.sendall(b'secret')
            plain = tls.unwrap()
            assert recv_exactly(plain, 8) == b'in clear'
            plain.sendall(b'bye')
            gevent.joinall(server.greenlets, timeout=10)
            assert server.greenlets[0].value == b'bye'
            plain.close()

    def test_reads_after_close_notify_answer_eof_at_once(self, server_ctx, client_ctx):
        # The peer's close_notify arrived but its TCP connection stays open
        # (it waits for our unwrap, as ftplib's TLS data channel does): every
        # read, also the ones after the first EOF, answers EOF from OpenSSL's
        # state, though the socket never turns readable again.
        def server_side(tls):
            tls.sendall(b'line one\n')
            plain = tls.unwrap()
            return plain.recv(100)

        with TLSServer(server_ctx, server_side) as server:
            tls = connect(client_ctx, server.address, timeout=5)
            assert recv_exactly(tls, 9) == b'line one\n'
            start = time.monotonic()
            assert tls.recv(100) == b''
            assert tls.recv(100) == b''
            assert tls.recv_into(bytearray(10)) == 0
            with tls.makefile('r', encoding='ascii') as f:
                assert f.readline() == ''
            assert time.monotonic() - start < 4
            plain = tls.unwrap()
            plain.sendall(b'bye')
            gevent.joinall(server.greenlets, timeout=10)
            assert server.greenlets[0].value == b'bye'
            plain.close()

    def test_get_server_certificate(self, server_ctx, certs):
        # gevent 26.9.0's default ssl_version (PROTOCOL_SSLv23) warns on 3.10+.
        warnings.simplefilter('ignore', DeprecationWarning)
        with TLSServer(server_ctx, lambda tls: None) as server:
            pem = gssl.get_server_certificate(server.address)
        with open(certs['server'][0]) as f:
            expected = f.read()
        assert gssl.PEM_cert_to_DER_cert(pem) == gssl.PEM_cert_to_DER_cert(expected)

    def test_sni_callback_gets_the_tls_socket(self, server_ctx, client_ctx):
        seen = []

        def sni(sslsock, name, ctx):
            seen.append((type(sslsock), name))
        server_ctx.sni_callback = sni
        with TLSServer(server_ctx, echo) as server:
            with connect(client_ctx, server.address) as tls:
                tls.sendall(b'x')
                assert tls.recv(1) == b'x'
        assert seen and seen[0][1] == 'localhost'
        assert issubclass(seen[0][0], gssl.SSLSocket)

    def test_legacy_wrap_socket(self, certs):
        # The old API defaults to PROTOCOL_TLS, which warns on 3.10+.
        warnings.simplefilter('ignore', DeprecationWarning)
        cert, key = certs['server']
        lst = gsocket.socket()
        lst.bind(('127.0.0.1', 0))
        lst.listen()

        def serve():
            conn, _ = lst.accept()
            with gssl.wrap_socket(conn, server_side=True, certfile=cert, keyfile=key) as tls:
                tls.sendall(tls.recv(100).upper())

        g = gevent.spawn(serve)
        with gssl.wrap_socket(gsocket.create_connection(lst.getsockname())) as tls:
            tls.sendall(b'legacy')
            assert tls.recv(100) == b'LEGACY'
        g.get(timeout=10)
        lst.close()


class TestTimeoutsAndErrors:

    def test_read_timeout(self, server_ctx, client_ctx):
        def silent(tls):
            tls.recv(1)

        with TLSServer(server_ctx, silent) as server:
            with connect(client_ctx, server.address, timeout=0.1) as tls:
                start = time.monotonic()
                with pytest.raises(gsocket.timeout) as info:
                    tls.recv(10)
                assert 0.08 <= time.monotonic() - start < 3
                assert 'timed out' in str(info.value)

    def test_handshake_timeout(self, client_ctx):
        lst = gsocket.socket()
        lst.bind(('127.0.0.1', 0))
        lst.listen()
        try:
            raw = gsocket.create_connection(lst.getsockname())
            raw.settimeout(0.1)
            with pytest.raises(gsocket.timeout) as info:
                client_ctx.wrap_socket(raw, server_hostname='localhost')
            assert 'handshake' in str(info.value)
            raw.close()
        finally:
            lst.close()

    def test_sendall_timeout(self, server_ctx, client_ctx):
        def idle(tls):
            gevent.sleep(3)

        with TLSServer(server_ctx, idle) as server:
            with connect(client_ctx, server.address, timeout=0.3) as tls:
                start = time.monotonic()
                with pytest.raises(gsocket.timeout):
                    tls.sendall(b's' * (64 * 1024 * 1024))
                assert time.monotonic() - start < 5
            gevent.killall(server.greenlets)

    def test_records_split_byte_by_byte(self, server_ctx, client_ctx):
        # A proxy forwards every byte on its own, so reads find partial
        # TLS records (OpenSSL wants more) again and again.
        def pump(src, dst):
            try:
                while True:
                    data = src.recv(1)
                    if not data:
                        break
                    dst.sendall(data)
                    gevent.sleep(0)
            except OSError:
                pass
            finally:
                try:
                    dst.shutdown(gsocket.SHUT_WR)
                except OSError:
                    pass

        with TLSServer(server_ctx, echo) as server:
            front = gsocket.socket()
            front.bind(('127.0.0.1', 0))
            front.listen()
            pumps = []

            def proxy():
                inner, _ = front.accept()
                outer = gsocket.create_connection(server.address)
                pumps.extend([gevent.spawn(pump, inner, outer), gevent.spawn(pump, outer, inner)])
                gevent.joinall(pumps)
                inner.close()
                outer.close()

            p = gevent.spawn(proxy)
            with connect(client_ctx, front.getsockname(), timeout=20) as tls:
                for msg in (b'tiny', b'm' * 3000):
                    tls.sendall(msg)
                    assert recv_exactly(tls, len(msg)) == msg
            p.join(10)
            gevent.killall(pumps)
            p.kill()
            front.close()

    def test_verification_failure(self, certs, server_ctx):
        wrong = gssl.SSLContext(gssl.PROTOCOL_TLS_CLIENT)
        wrong.load_verify_locations(certs['other'][0])
        with TLSServer(server_ctx, echo) as server:
            raw = gsocket.create_connection(server.address)
            with pytest.raises(gssl.SSLCertVerificationError):
                wrong.wrap_socket(raw, server_hostname='localhost')
            raw.close()
        # the server side failed its handshake cleanly, with an error
        assert len(server.errors) == 1

    def test_plaintext_peer(self, server_ctx):
        with TLSServer(server_ctx, echo) as server:
            with gsocket.create_connection(server.address) as raw:
                raw.sendall(b'GET / HTTP/1.0\r\n\r\n')
                raw.settimeout(5)
                try:
                    raw.recv(100)
                except ConnectionResetError:
                    pass
            gevent.joinall(server.greenlets, timeout=5)
            assert len(server.errors) == 1 and isinstance(server.errors[0], OSError)

    def test_peer_vanishes_mid_transfer(self, server_ctx, client_ctx):
        result = []

        def flood(tls):
            try:
                tls.sendall(b'f' * (64 * 1024 * 1024))
            except OSError as ex:
                result.append(ex)

        with TLSServer(server_ctx, flood) as server:
            tls = connect(client_ctx, server.address)
            recv_exactly(tls, 100000)
            tls.setsockopt(gsocket.SOL_SOCKET, gsocket.SO_LINGER, struct.pack('ii', 1, 0))
            tls.close()
            gevent.joinall(server.greenlets, timeout=10)
        assert len(result) == 1

    def test_peer_closes_without_close_notify(self, server_ctx, client_ctx):
        def rude(tls):
            tls.sendall(b'partial')
            # close the TCP connection under TLS, no close_notify
            tls._sock.shutdown(gsocket.SHUT_RDWR)

        with TLSServer(server_ctx, rude) as server:
            with connect(client_ctx, server.address) as tls:
                assert recv_exactly(tls, 7) == b'partial'
                assert tls.recv(100) == b''  # suppress_ragged_eofs

    def test_close_while_another_greenlet_reads(self, server_ctx, client_ctx):
        def hold(tls):
            tls.recv(1)

        with TLSServer(server_ctx, hold) as server:
            tls = connect(client_ctx, server.address)
            g = gevent.spawn(tls.recv, 100)
            gevent.sleep(0.02)
            tls.close()
            with pytest.raises(OSError) as info:
                g.get(timeout=5)
            assert info.value.errno == errno.EBADF
            with pytest.raises((OSError, ValueError)):
                tls.recv(10)

    def test_nonblocking_read_raises_want_read(self, server_ctx, client_ctx):
        with TLSServer(server_ctx, echo) as server:
            with connect(client_ctx, server.address) as tls:
                tls.setblocking(False)
                with pytest.raises(gssl.SSLWantReadError):
                    tls.recv(10)
                tls.setblocking(True)
                tls.sendall(b'ok')
                assert tls.recv(10) == b'ok'


@pytest.mark.geventc_only
def test_create_default_context_makes_cooperative_sockets(certs, server_ctx):
    # gevent 26.9.0 re-exports the stdlib's factory, whose context wraps
    # into a blocking stdlib SSLSocket.
    ctx = gssl.create_default_context(cafile=certs['server'][0])
    assert isinstance(ctx, gssl.SSLContext)
    with TLSServer(server_ctx, echo) as server:
        with connect(ctx, server.address) as tls:
            assert isinstance(tls, gssl.SSLSocket)
            ticks = []
            g = gevent.spawn(lambda: ticks.append(1))
            gevent.spawn_later(0.02, tls.sendall, b'coop')
            assert tls.recv(10) == b'coop'
            assert ticks and g.ready()
