"""StreamServer / DatagramServer over real loopback sockets."""
import shutil
import socket as stdsocket

import pytest

import geventc
from geventc import socket
from geventc.pool import Pool
from geventc.server import StreamServer, DatagramServer
from geventc.baseserver import parse_address

from _helpers import make_cert


def echo(sock, address):
    while True:
        data = sock.recv(1024)
        if not data:
            break
        sock.sendall(data)


def talk(address, payload=b'hello'):
    with socket.create_connection(address, timeout=10) as client:
        client.sendall(payload)
        client.shutdown(stdsocket.SHUT_WR)
        chunks = []
        while True:
            data = client.recv(1024)
            if not data:
                return b''.join(chunks)
            chunks.append(data)


@pytest.mark.parametrize('listener', [('127.0.0.1', 0), '127.0.0.1:0', ('', 0), ':0'])
def test_echo_with_every_listener_spelling(listener):
    with StreamServer(listener, echo) as server:
        server.start()
        assert server.started and not server.closed
        port = server.server_port
        assert isinstance(port, int) and port > 0
        host = '127.0.0.1' if server.family == stdsocket.AF_INET else '::1'
        results = [geventc.spawn(talk, (host, port), b'n%d' % i) for i in range(10)]
        assert sorted(g.get() for g in results) == sorted(b'n%d' % i for i in range(10))
    assert server.closed and not server.started


def test_listener_socket_handle_method_and_repr():
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(5)

    class Upper(StreamServer):
        def handle(self, sock, address):
            sock.sendall(sock.recv(100).upper())

    server = Upper(listener)
    assert server.address == listener.getsockname()
    assert repr(server).startswith('<Upper at 0x') and 'address=127.0.0.1:' in repr(server)
    assert 'handle=<function echo' in repr(StreamServer(listener, echo))
    other = socket.socket()
    other.bind(('127.0.0.1', 0))
    with pytest.raises(TypeError):
        StreamServer(other, echo, backlog=5)   # backlog only for sockets the server makes
    assert other.fileno() == -1                # and the failed server closed it
    server.start()
    try:
        assert talk(server.address, b'abc') == b'ABC'
    finally:
        server.stop()


def test_parse_address_and_bad_input():
    assert parse_address(('127.0.0.1', 80)) == (stdsocket.AF_INET, ('127.0.0.1', 80))
    assert parse_address('[::1]:80') == (stdsocket.AF_INET6, ('::1', 80))
    assert parse_address('*:80') == (stdsocket.AF_INET, ('', 80))
    assert parse_address(8080) == (stdsocket.AF_INET6, ('', 8080))
    with pytest.raises(ValueError, match='Failed to parse address'):
        parse_address('host:port')
    with pytest.raises(TypeError):
        StreamServer(object(), echo)
    with pytest.raises(TypeError, match="'handle' must be provided"):
        StreamServer(('127.0.0.1', 0))


def test_pool_full_stops_accepting_until_a_slot_frees():
    started, release = [], geventc.event.Event()

    def handle(sock, address):
        started.append(address)
        release.wait()
        sock.sendall(b'done')

    pool = Pool(2)
    with StreamServer(('127.0.0.1', 0), handle, spawn=pool) as server:
        server.start()
        clients = [socket.create_connection(server.address) for _ in range(4)]
        geventc.sleep(0.2)
        assert len(started) == 2 and pool.full()
        release.set()
        for client in clients:
            client.settimeout(10)
            assert client.recv(10) == b'done'
            client.close()
        assert len(started) == 4


def test_stop_waits_for_the_pool_then_kills():
    finished, killed = [], []

    def handle(sock, address):
        try:
            geventc.sleep(sock.recv(10) == b'slow' and 30 or 0.05)
            finished.append(1)
        except geventc.GreenletExit:
            killed.append(1)
            raise

    server = StreamServer(('127.0.0.1', 0), handle, spawn=10)
    server.start()
    quick = socket.create_connection(server.address)
    quick.sendall(b'quick')
    slow = socket.create_connection(server.address)
    slow.sendall(b'slow')
    geventc.sleep(0.02)
    server.stop(timeout=0.5)
    assert finished == [1] and killed == [1]
    quick.close()
    slow.close()


def test_handler_error_is_reported_and_the_server_keeps_serving():
    calls = []

    def handle(sock, address):
        calls.append(1)
        if len(calls) == 1:
            raise ValueError('handler failed')
        sock.sendall(b'ok')

    with StreamServer(('127.0.0.1', 0), handle) as server:
        server.start()
        with socket.create_connection(server.address) as first:
            first.settimeout(10)
            assert first.recv(10) == b''     # closed after the failing handler
        with socket.create_connection(server.address) as second:
            second.settimeout(10)
            assert second.recv(10) == b'ok'


def test_serve_forever_returns_after_stop():
    server = StreamServer(('127.0.0.1', 0), echo)
    runner = geventc.spawn(server.serve_forever)
    geventc.sleep(0.05)
    assert server.started
    assert talk(server.address) == b'hello'
    server.stop()
    runner.join(timeout=10)
    assert runner.dead


def test_datagram_server_echo():
    def handle(data, address):
        server.sendto(data.upper(), address)

    server = DatagramServer(('127.0.0.1', 0), handle)
    server.start()
    try:
        client = socket.socket(type=stdsocket.SOCK_DGRAM)
        client.settimeout(10)
        for payload in (b'a', b'bc', b'def'):
            client.sendto(payload, server.address)
            data, address = client.recvfrom(100)
            assert data == payload.upper() and address == server.address
        client.close()
    finally:
        server.stop()


@pytest.mark.skipif(shutil.which('openssl') is None, reason='needs the openssl command')
def test_ssl_server_handshake_runs_in_the_handler(tmp_path):
    from geventc import ssl
    cert, key = make_cert(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    for kwargs in ({'ssl_context': context}, {'certfile': cert, 'keyfile': key}):
        with StreamServer(('127.0.0.1', 0), echo, **kwargs) as server:
            server.start()
            assert server.ssl_enabled
            # A client that connects and never starts the handshake must not
            # hold up the others.
            silent = socket.create_connection(server.address)
            client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            client_ctx.load_verify_locations(cert)
            with client_ctx.wrap_socket(socket.create_connection(server.address, timeout=10),
                                        server_hostname='localhost') as tls:
                tls.sendall(b'secret')
                assert tls.recv(100) == b'secret'
            silent.close()
