"""geventc.socket over real loopback TCP/UDP/Unix sockets and pipes.

Cooperation (other greenlets run while one waits), timeouts, peers that
reset or vanish, closing a socket another greenlet waits on, closed and
invalid descriptors, large transfers and the name functions. The same tests
run against gevent 26.9.0 (GEVENTC_TEST_IMPL=gevent).
"""
import errno
import hashlib
import os
import pickle
import socket as stdsocket
import struct
import time

import pytest

import geventc as gevent
from geventc import socket as gsocket
from geventc.exceptions import ConcurrentObjectUseError

from _helpers import IMPL_IS_GEVENT

pytestmark = pytest.mark.filterwarnings('error')

HAS_IPV6 = False
if stdsocket.has_ipv6:
    try:
        with stdsocket.socket(stdsocket.AF_INET6) as _probe:
            _probe.bind(('::1', 0))
        HAS_IPV6 = True
    except OSError:
        pass


def listener(family=gsocket.AF_INET, host='127.0.0.1', backlog=128):
    sock = gsocket.socket(family, gsocket.SOCK_STREAM)
    sock.setsockopt(gsocket.SOL_SOCKET, gsocket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(backlog)
    return sock


def tcp_pair(family=gsocket.AF_INET, host='127.0.0.1'):
    """A connected (client, server) pair of cooperative TCP sockets."""
    with listener(family, host) as lst:
        client = gsocket.socket(family, gsocket.SOCK_STREAM)
        client.connect(lst.getsockname())
        server, _ = lst.accept()
    return client, server


def recv_exactly(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(65536, n - len(buf)))
        if not chunk:
            raise AssertionError('EOF after %d of %d bytes' % (len(buf), n))
        buf += chunk
    return bytes(buf)


def recv_all(sock):
    buf = bytearray()
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(buf)
        buf += chunk


def join_ok(greenlets, timeout=20):
    gevent.joinall(greenlets, timeout=timeout)
    for g in greenlets:
        assert g.ready(), '%r did not finish in time' % (g,)
    for g in greenlets:
        if g.exception is not None:
            raise g.exception
    return [g.value for g in greenlets]


def payload(n, seed=b'geventc'):
    """n deterministic, non-repeating-looking bytes."""
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(seed + struct.pack('!Q', counter)).digest()
        counter += 1
    return bytes(out[:n])


# ---------------------------------------------------------------------------
# The module and the socket object
# ---------------------------------------------------------------------------

class TestModule:

    def test_stdlib_names_are_there(self):
        for name in ('AF_INET', 'AF_INET6', 'AF_UNIX', 'SOCK_STREAM', 'SOCK_DGRAM', 'SOL_SOCKET',
                     'SO_REUSEADDR', 'IPPROTO_TCP', 'TCP_NODELAY', 'SHUT_RDWR', 'MSG_PEEK',
                     'has_ipv6', 'htons', 'inet_aton', 'inet_pton', 'gethostname',
                     'getdefaulttimeout', 'setdefaulttimeout', 'AddressFamily', 'SocketKind',
                     'create_connection', 'create_server', 'socketpair', 'fromfd', 'SocketType',
                     'wait_read', 'wait_write', 'wait_readwrite', 'cancel_wait',
                     'getaddrinfo', 'gethostbyname', 'gethostbyname_ex', 'gethostbyaddr',
                     'getnameinfo', 'getfqdn', 'send_fds', 'recv_fds'):
            assert hasattr(gsocket, name), name
        assert gsocket.AF_INET == stdsocket.AF_INET
        assert gsocket.SOMAXCONN == stdsocket.SOMAXCONN

    def test_exceptions_are_the_stdlibs(self):
        assert gsocket.timeout is stdsocket.timeout is TimeoutError
        assert gsocket.error is OSError
        assert gsocket.gaierror is stdsocket.gaierror
        assert gsocket.herror is stdsocket.herror

    def test_new_socket_defaults(self):
        with gsocket.socket() as s:
            assert isinstance(s, gsocket.SocketType)
            assert isinstance(s, gsocket.socket)
            assert s.family == gsocket.AF_INET
            assert s.type == gsocket.SOCK_STREAM
            assert s.proto == 0
            assert s.gettimeout() is None
            assert s.timeout is None
            assert s.getblocking()
            assert s.fileno() >= 0
            assert isinstance(s._sock, stdsocket.socket.__mro__[1])  # a real _socket.socket

    def test_timeouts_and_blocking_flags(self):
        with gsocket.socket() as s:
            s.settimeout(1.5)
            assert s.gettimeout() == 1.5
            assert s.getblocking()
            s.setblocking(False)
            assert s.gettimeout() == 0.0
            assert not s.getblocking()
            s.setblocking(True)
            assert s.gettimeout() is None
            with pytest.raises(ValueError):
                s.settimeout(-1)
            with pytest.raises(TypeError):
                s.settimeout('soon')
            assert s.gettimeout() is None

    def test_default_timeout_applies_to_new_sockets(self):
        old = gsocket.getdefaulttimeout()
        gsocket.setdefaulttimeout(2.5)
        try:
            with gsocket.socket() as s:
                assert s.gettimeout() == 2.5
        finally:
            gsocket.setdefaulttimeout(old)

    def test_context_manager_closes(self):
        with gsocket.socket() as s:
            pass
        assert s.fileno() == -1
        assert 'closed' in repr(s)

    def test_repr_open_and_closed(self):
        s = gsocket.socket()
        r = repr(s)
        assert 'fd=%d' % s.fileno() in r
        s.close()
        repr(s)

    def test_cannot_pickle(self):
        with gsocket.socket() as s:
            with pytest.raises(TypeError):
                pickle.dumps(s)

    def test_socketpair_defaults_to_unix(self):
        a, b = gsocket.socketpair()
        with a, b:
            assert a.family == gsocket.AF_UNIX
            a.sendall(b'ping')
            assert b.recv(10) == b'ping'


# ---------------------------------------------------------------------------
# TCP
# ---------------------------------------------------------------------------

class TestTCP:

    def test_roundtrip_all_receive_calls(self):
        client, server = tcp_pair()
        with client, server:
            assert client.send(b'hello') == 5
            assert recv_exactly(server, 5) == b'hello'
            client.sendall(b'0123456789')
            buf = bytearray(4)
            assert server.recv_into(buf) == 4
            assert buf == b'0123'
            view = memoryview(bytearray(10))
            assert server.recv_into(view, 3) == 3
            assert bytes(view[:3]) == b'456'
            data, addr = server.recvfrom(100)
            assert data == b'789'
            client.sendall(b'xyz')
            buf = bytearray(10)
            nbytes, addr = server.recvfrom_into(buf)
            assert buf[:nbytes] == b'xyz'

    def test_recv_zero_and_eof(self):
        client, server = tcp_pair()
        with server:
            assert server.recv(0) == b''
            client.sendall(b'last words')
            client.close()
            assert recv_all(server) == b'last words'
            assert server.recv(10) == b''

    def test_accept_returns_the_peer_address(self):
        with listener() as lst:
            client = gsocket.socket()
            client.connect(lst.getsockname())
            conn, addr = lst.accept()
            with client, conn:
                assert addr == client.getsockname()
                assert conn.getpeername() == client.getsockname()
                assert isinstance(conn, gsocket.socket)
                assert conn.gettimeout() is None

    @pytest.mark.skipif(not HAS_IPV6, reason='no IPv6 loopback')
    def test_ipv6_accept_address(self):
        with listener(gsocket.AF_INET6, '::1') as lst:
            client = gsocket.socket(gsocket.AF_INET6)
            client.connect(lst.getsockname()[:2])
            conn, addr = lst.accept()
            with client, conn:
                assert addr == client.getsockname()
                assert len(addr) == 4
                client.sendall(b'v6')
                assert conn.recv(2) == b'v6'

    def test_create_connection_by_name(self):
        with listener() as lst:
            port = lst.getsockname()[1]
            g = gevent.spawn(lst.accept)
            with gsocket.create_connection(('localhost', port), timeout=5) as c:
                assert c.gettimeout() == 5
                assert c.getpeername() == ('127.0.0.1', port)
            conn, _ = g.get(timeout=5)
            conn.close()

    def test_create_connection_source_address(self):
        with listener() as lst:
            with gsocket.create_connection(lst.getsockname(), source_address=('127.0.0.1', 0)) as c:
                conn, addr = lst.accept()
                conn.close()
                assert addr == c.getsockname()

    def test_connection_refused(self):
        with listener() as lst:
            addr = lst.getsockname()
        with gsocket.socket() as s:
            with pytest.raises(ConnectionRefusedError):
                s.connect(addr)
        with gsocket.socket() as s:
            assert s.connect_ex(addr) == errno.ECONNREFUSED
        with pytest.raises(ConnectionRefusedError):
            gsocket.create_connection(addr)
        with pytest.raises(ExceptionGroup) as info:
            gsocket.create_connection(addr, all_errors=True)
        assert all(isinstance(e, ConnectionRefusedError) for e in info.value.exceptions)

    def test_shutdown_write_gives_peer_eof(self):
        client, server = tcp_pair()
        with client, server:
            client.sendall(b'request')
            client.shutdown(gsocket.SHUT_WR)
            assert recv_all(server) == b'request'
            server.sendall(b'response')
            server.close()
            assert recv_all(client) == b'response'

    def test_makefile(self):
        client, server = tcp_pair()
        with client, server:
            def serve():
                rf = server.makefile('rb')
                wf = server.makefile('wb')
                for line in rf:
                    wf.write(line.upper())
                    wf.flush()
                rf.close()
                wf.close()
                server.close()
            g = gevent.spawn(serve)
            f = client.makefile('rw', encoding='ascii', newline='\n')
            for word in ('alpha', 'beta', 'gamma'):
                f.write(word + '\n')
                f.flush()
                assert f.readline() == word.upper() + '\n'
            client.shutdown(gsocket.SHUT_WR)
            assert f.read() == ''
            f.close()
            join_ok([g])

    def test_makefile_reader_repr_is_the_stdlibs(self):
        with gsocket.socket() as s, stdsocket.socket() as plain:
            f, expected = s.makefile('rb'), plain.makefile('rb')
            assert repr(f) == '<_io.BufferedReader name=%d>' % s.fileno()
            for stream in (f, expected):
                stream.close()
            assert repr(f) == repr(expected) == '<_io.BufferedReader name=-1>'

    def test_close_waits_for_makefile(self):
        client, server = tcp_pair()
        with server:
            f = client.makefile('wb')
            client.close()
            f.write(b'still open')
            f.flush()
            assert recv_exactly(server, 10) == b'still open'
            f.close()
            assert client.fileno() == -1
            assert server.recv(10) == b''

    def test_dup_detach_fromfd(self):
        client, server = tcp_pair()
        with server:
            dup = client.dup()
            client.close()
            with dup:
                dup.sendall(b'via dup')
                assert recv_exactly(server, 7) == b'via dup'
                fd = dup.detach()
                assert dup.fileno() == -1
            with gsocket.fromfd(fd, gsocket.AF_INET, gsocket.SOCK_STREAM) as again:
                os.close(fd)
                again.sendall(b'via fromfd')
                assert recv_exactly(server, 10) == b'via fromfd'

    def test_sendfile(self, tmp_path):
        data = payload(3 * 1024 * 1024 + 17)
        path = tmp_path / 'blob'
        path.write_bytes(data)
        client, server = tcp_pair()
        with client, server:
            reader = gevent.spawn(recv_exactly, server, len(data))
            with open(path, 'rb') as f:
                assert client.sendfile(f) == len(data)
                assert f.tell() == len(data)
            assert reader.get(timeout=20) == data
            reader = gevent.spawn(recv_exactly, server, 1000)
            with open(path, 'rb') as f:
                assert client.sendfile(f, offset=500, count=1000) == 1000
                assert f.tell() == 1500
            assert reader.get(timeout=20) == data[500:1500]

    def test_nonblocking_mode(self):
        with listener() as lst:
            lst.setblocking(False)
            with pytest.raises(BlockingIOError):
                lst.accept()
            client = gsocket.socket()
            client.setblocking(False)
            with pytest.raises(BlockingIOError) as info:
                client.connect(lst.getsockname())
            assert info.value.errno == errno.EINPROGRESS
            gsocket.wait_write(client.fileno(), timeout=5)
            lst.setblocking(True)
            conn, _ = lst.accept()
            with client, conn:
                conn.setblocking(False)
                with pytest.raises(BlockingIOError):
                    conn.recv(10)
                with pytest.raises(BlockingIOError):
                    conn.recv_into(bytearray(10))

    def test_create_server_listens(self):
        with gsocket.create_server(('127.0.0.1', 0)) as srv:
            addr = srv.getsockname()
            with gsocket.create_connection(addr) as c:
                conn, _ = srv.accept()
                with conn:
                    conn.sendall(b'hi')
                    assert c.recv(2) == b'hi'

    @pytest.mark.geventc_only
    def test_create_server_is_cooperative(self):
        with gsocket.create_server(('127.0.0.1', 0), backlog=5) as srv:
            assert isinstance(srv, gsocket.socket)
            srv.settimeout(0.05)
            ticks = []
            g = gevent.spawn(lambda: ticks.append(1))
            with pytest.raises(gsocket.timeout):
                srv.accept()
            assert ticks and g.ready()


# ---------------------------------------------------------------------------
# Cooperation and concurrency
# ---------------------------------------------------------------------------

class TestConcurrency:

    def test_100_clients_echo(self):
        nclients = 100
        with listener(backlog=nclients) as lst:
            handlers = []

            def handle(conn):
                with conn:
                    while True:
                        data = conn.recv(65536)
                        if not data:
                            return
                        conn.sendall(data)

            def accept_loop():
                for _ in range(nclients):
                    conn, _ = lst.accept()
                    handlers.append(gevent.spawn(handle, conn))

            def client(i):
                msgs = [payload(1 + (i * 7919 + k * 104729) % 9000, seed=b'%d-%d' % (i, k)) for k in range(20)]
                with gsocket.create_connection(lst.getsockname()) as c:
                    for m in msgs:
                        c.sendall(m)
                        assert recv_exactly(c, len(m)) == m
                return len(msgs)

            acceptor = gevent.spawn(accept_loop)
            clients = [gevent.spawn(client, i) for i in range(nclients)]
            assert join_ok(clients, timeout=40) == [20] * nclients
            join_ok([acceptor])
            join_ok(handlers)

    def test_waiting_recv_lets_others_run(self):
        client, server = tcp_pair()
        with client, server:
            ticks = []

            def ticker():
                for _ in range(10):
                    ticks.append(time.monotonic())
                    gevent.sleep(0.01)
                client.sendall(b'done')

            g = gevent.spawn(ticker)
            assert server.recv(10) == b'done'
            assert len(ticks) == 10
            join_ok([g])

    def test_two_readers_on_one_socket(self):
        client, server = tcp_pair()
        with client, server:
            first = gevent.spawn(server.recv, 10)
            gevent.sleep(0.01)
            with pytest.raises(ConcurrentObjectUseError):
                server.recv(10)
            client.sendall(b'one')
            assert first.get(timeout=5) == b'one'

    def test_reader_and_writer_on_one_socket(self):
        client, server = tcp_pair()
        with client, server:
            data = payload(8 * 1024 * 1024)
            writer = gevent.spawn(client.sendall, data)
            reader = gevent.spawn(recv_exactly, client, len(data))
            echo_in = gevent.spawn(recv_exactly, server, len(data))
            received = echo_in.get(timeout=30)
            server.sendall(received)
            assert reader.get(timeout=30) == data
            join_ok([writer])


# ---------------------------------------------------------------------------
# Timeouts
# ---------------------------------------------------------------------------

class TestTimeouts:

    def test_recv_timeout(self):
        client, server = tcp_pair()
        with client, server:
            server.settimeout(0.1)
            start = time.monotonic()
            with pytest.raises(gsocket.timeout) as info:
                server.recv(10)
            assert 0.08 <= time.monotonic() - start < 2
            assert str(info.value) == 'timed out'
            assert isinstance(info.value, TimeoutError)
            # still usable
            client.sendall(b'late')
            assert server.recv(10) == b'late'
            with pytest.raises(gsocket.timeout):
                server.recv_into(bytearray(10))
            with pytest.raises(gsocket.timeout):
                server.recvfrom(10)

    def test_accept_timeout(self):
        with listener() as lst:
            lst.settimeout(0.05)
            with pytest.raises(gsocket.timeout):
                lst.accept()

    def test_sendall_timeout_bounds_the_whole_call(self):
        client, server = tcp_pair()
        with client, server:
            client.settimeout(0.3)
            start = time.monotonic()
            with pytest.raises(gsocket.timeout):
                client.sendall(b'x' * (64 * 1024 * 1024))
            assert time.monotonic() - start < 5

    def test_connect_timeout(self):
        # A listener with a full accept queue drops further SYNs, so a
        # connect to it hangs until its timeout.
        lst = gsocket.socket()
        lst.bind(('127.0.0.1', 0))
        lst.listen(0)
        fillers = []
        try:
            for _ in range(8):
                f = stdsocket.socket()
                f.setblocking(False)
                f.connect_ex(lst.getsockname())
                fillers.append(f)
            with gsocket.socket() as s:
                s.settimeout(0.2)
                start = time.monotonic()
                try:
                    s.connect(lst.getsockname())
                except gsocket.timeout:
                    assert time.monotonic() - start < 3
                else:  # pragma: no cover - a kernel that accepts anyway
                    pytest.skip('the kernel did not drop the SYN')
        finally:
            for f in fillers:
                f.close()
            lst.close()

    def test_gevent_timeout_around_a_blocking_recv(self):
        client, server = tcp_pair()
        with client, server:
            with pytest.raises(gevent.Timeout):
                with gevent.Timeout(0.05):
                    server.recv(10)
            # The watcher was released: the socket works afterwards.
            client.sendall(b'again')
            assert server.recv(10) == b'again'

    def test_timeout_does_not_fire_when_data_comes_first(self):
        client, server = tcp_pair()
        with client, server:
            server.settimeout(0.5)
            g = gevent.spawn_later(0.05, client.sendall, b'quick')
            assert server.recv(10) == b'quick'
            gevent.sleep(0.6)  # a leaked timer would throw into us here
            join_ok([g])

    @pytest.mark.geventc_only
    def test_sendall_nonblocking_raises_blockingioerror(self):
        # The stdlib's behaviour (gevent 26.9.0 raises socket.timeout).
        a, b = gsocket.socketpair()
        with a, b:
            a.setblocking(False)
            with pytest.raises(BlockingIOError):
                a.sendall(b'x' * (32 * 1024 * 1024))

    @pytest.mark.geventc_only
    @pytest.mark.skipif(not hasattr(stdsocket, 'SOCK_NONBLOCK'), reason='Linux only')
    def test_sock_nonblock_type_makes_a_nonblocking_socket(self):
        # The stdlib's: SOCK_NONBLOCK in the type means timeout 0.0, whatever
        # the default timeout (gevent 26.9.0 ignores the flag).
        previous = gsocket.getdefaulttimeout()
        gsocket.setdefaulttimeout(3.0)
        try:
            with gsocket.socket(gsocket.AF_INET, gsocket.SOCK_STREAM | gsocket.SOCK_NONBLOCK) as s:
                assert s.gettimeout() == 0.0
                assert not s.getblocking()
                assert s.type == gsocket.SOCK_STREAM
                s.bind(('127.0.0.1', 0))
                s.listen(1)
                with pytest.raises(BlockingIOError):
                    s.accept()
            with gsocket.socket() as s:
                assert s.gettimeout() == 3.0
        finally:
            gsocket.setdefaulttimeout(previous)


# ---------------------------------------------------------------------------
# Peers that reset or vanish; closing under a waiter; bad descriptors
# ---------------------------------------------------------------------------

def reset(sock):
    """Close *sock* with an RST instead of a FIN."""
    sock.setsockopt(gsocket.SOL_SOCKET, gsocket.SO_LINGER, struct.pack('ii', 1, 0))
    sock.close()


class TestErrors:

    def test_peer_reset_while_waiting(self):
        client, server = tcp_pair()
        with server:
            gevent.spawn_later(0.05, reset, client)
            with pytest.raises(ConnectionResetError):
                server.recv(10)

    def test_peer_vanishes_mid_transfer(self):
        client, server = tcp_pair()
        with server:
            def reader():
                got = recv_exactly(client, 1024 * 1024)
                reset(client)
                return len(got)

            g = gevent.spawn(reader)
            with pytest.raises(OSError) as info:
                server.sendall(b'z' * (256 * 1024 * 1024))
            assert info.value.errno in (errno.EPIPE, errno.ECONNRESET)
            assert g.get(timeout=10) == 1024 * 1024

    def test_send_after_peer_closed(self):
        client, server = tcp_pair()
        with server:
            reset(client)
            gevent.sleep(0.01)
            with pytest.raises(OSError) as info:
                for _ in range(100):
                    server.send(b'x' * 1024)
                    gevent.sleep(0.001)
            assert info.value.errno in (errno.EPIPE, errno.ECONNRESET)

    def test_close_while_another_greenlet_recvs(self):
        client, server = tcp_pair()
        with client:
            g = gevent.spawn(server.recv, 10)
            gevent.sleep(0.01)
            server.close()
            with pytest.raises(OSError) as info:
                g.get(timeout=5)
            assert info.value.errno == errno.EBADF
            assert 'closed in another greenlet' in str(info.value)
            # and the descriptor really was closed
            assert client.recv(10) == b''

    def test_close_while_another_greenlet_accepts(self):
        lst = listener()
        g = gevent.spawn(lst.accept)
        gevent.sleep(0.01)
        lst.close()
        with pytest.raises(OSError) as info:
            g.get(timeout=5)
        assert info.value.errno == errno.EBADF

    def test_close_wakes_reader_and_blocked_writer(self):
        client, server = tcp_pair()
        with server:
            reader = gevent.spawn(client.recv, 10)
            writer = gevent.spawn(client.sendall, b'w' * (64 * 1024 * 1024))
            gevent.sleep(0.05)
            client.close()
            for g in (reader, writer):
                with pytest.raises(OSError) as info:
                    g.get(timeout=5)
                assert info.value.errno == errno.EBADF

    def test_operations_on_a_closed_socket(self):
        client, server = tcp_pair()
        server.close()
        client.close()
        client.close()  # twice is fine
        assert client.fileno() == -1
        for call in (lambda: client.recv(1), lambda: client.send(b'x'), lambda: client.sendall(b'x'),
                     lambda: client.recv_into(bytearray(1)), lambda: client.recvfrom(1),
                     lambda: client.getpeername()):
            with pytest.raises(OSError) as info:
                call()
            assert info.value.errno == errno.EBADF
        with pytest.raises(OSError):
            client.connect(('127.0.0.1', 9))

    def test_descriptor_closed_behind_our_back(self):
        client, server = tcp_pair()
        with client:
            os.close(server.fileno())
            with pytest.raises(OSError) as info:
                server.recv(10)
            assert info.value.errno == errno.EBADF
            try:
                server.close()
            except OSError as ex:  # the stdlib reports EBADF on close too
                assert ex.errno == errno.EBADF

    def test_invalid_descriptors(self):
        gevent.get_hub().loop  # the hub's own descriptors exist before we pick a free number
        r, w = os.pipe()
        os.close(r)
        os.close(w)
        with pytest.raises(OSError) as info:
            gsocket.socket(fileno=r)
        assert info.value.errno == errno.EBADF
        with pytest.raises(OSError):
            gsocket.wait_read(r, timeout=0.1)
        with pytest.raises(ValueError):
            gsocket.wait_read(-1)

    def test_bad_arguments(self):
        client, server = tcp_pair()
        with client, server:
            with pytest.raises(ValueError):
                server.recv(-1)
            with pytest.raises(TypeError):
                server.recv('10')
            with pytest.raises(TypeError):
                client.send('text is not bytes')
            with pytest.raises(TypeError):
                client.sendall(12)
            with pytest.raises(ValueError):
                server.recv_into(bytearray(2), 10)
            with pytest.raises(TypeError):
                server.recv_into(b'read-only bytes')
        with gsocket.socket() as s:
            with pytest.raises(TypeError):
                s.connect(('127.0.0.1',))
            with pytest.raises(gsocket.gaierror):
                s.connect(('no-such-host.invalid', 80))


# ---------------------------------------------------------------------------
# UDP and Unix sockets
# ---------------------------------------------------------------------------

class TestUDP:

    def test_sendto_recvfrom(self):
        rx = gsocket.socket(gsocket.AF_INET, gsocket.SOCK_DGRAM)
        tx = gsocket.socket(gsocket.AF_INET, gsocket.SOCK_DGRAM)
        with rx, tx:
            rx.bind(('127.0.0.1', 0))
            tx.bind(('127.0.0.1', 0))
            g = gevent.spawn(rx.recvfrom, 100)
            gevent.sleep(0.01)
            assert tx.sendto(b'datagram', rx.getsockname()) == 8
            assert g.get(timeout=5) == (b'datagram', tx.getsockname())
            tx.sendto(b'second', 0, rx.getsockname())
            buf = bytearray(100)
            n, addr = rx.recvfrom_into(buf)
            assert (bytes(buf[:n]), addr) == (b'second', tx.getsockname())
            tx.sendto(b'by name', ('localhost', rx.getsockname()[1]))
            assert rx.recv(100) == b'by name'

    def test_datagram_boundaries(self):
        rx = gsocket.socket(gsocket.AF_INET, gsocket.SOCK_DGRAM)
        tx = gsocket.socket(gsocket.AF_INET, gsocket.SOCK_DGRAM)
        with rx, tx:
            rx.bind(('127.0.0.1', 0))
            tx.connect(rx.getsockname())
            sizes = [1, 100, 1400, 9000, 60000]
            for n in sizes:
                tx.send(payload(n))
            for n in sizes:
                assert rx.recv(65536) == payload(n)

    def test_recvfrom_timeout(self):
        with gsocket.socket(gsocket.AF_INET, gsocket.SOCK_DGRAM) as rx:
            rx.bind(('127.0.0.1', 0))
            rx.settimeout(0.05)
            with pytest.raises(gsocket.timeout):
                rx.recvfrom(10)


class TestUnix:

    def test_stream_over_a_path(self, tmp_path):
        path = str(tmp_path / 'sock')
        with gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM) as lst:
            lst.bind(path)
            lst.listen()
            g = gevent.spawn(lst.accept)
            with gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM) as c:
                c.connect(path)
                conn, addr = g.get(timeout=5)
                with conn:
                    assert addr == ''
                    assert conn.getsockname() == path
                    c.sendall(b'unix')
                    assert conn.recv(10) == b'unix'

    def test_datagram_addresses(self):
        tag = b'\0geventc-test-%d' % os.getpid()
        rx = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_DGRAM)
        tx = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_DGRAM)
        with rx, tx:
            rx.bind(tag + b'-rx')
            tx.sendto(b'anonymous', rx.getsockname())
            data, addr = rx.recvfrom(100)
            assert data == b'anonymous'
            assert addr in (None, '')
            tx.bind(tag + b'-tx')
            tx.sendto(b'named', rx.getsockname())
            assert rx.recvfrom(100) == (b'named', tag + b'-tx')

    def test_pass_descriptors(self):
        a, b = gsocket.socketpair()
        r, w = os.pipe()
        with a, b:
            try:
                g = gevent.spawn(gsocket.recv_fds, b, 100, 4)
                gevent.sleep(0.01)
                gsocket.send_fds(a, [b'fds'], [r])
                msg, fds, flags, addr = g.get(timeout=5)
                assert msg == b'fds'
                assert len(fds) == 1
                os.write(w, b'through the copy')
                assert os.read(fds[0], 100) == b'through the copy'
                os.close(fds[0])
            finally:
                os.close(r)
                os.close(w)


# ---------------------------------------------------------------------------
# Large transfers
# ---------------------------------------------------------------------------

class TestLargeTransfers:

    def test_tcp_both_directions_at_once(self):
        client, server = tcp_pair()
        up = payload(24 * 1024 * 1024, seed=b'up')
        down = payload(24 * 1024 * 1024, seed=b'down')
        with client, server:
            def digest_of(sock, n):
                h = hashlib.sha256()
                buf = bytearray(100000)
                got = 0
                while got < n:
                    k = sock.recv_into(buf, min(len(buf), n - got))
                    assert k, 'EOF'
                    h.update(memoryview(buf)[:k])
                    got += k
                return h.hexdigest()

            greenlets = [gevent.spawn(client.sendall, up), gevent.spawn(server.sendall, down),
                         gevent.spawn(digest_of, server, len(up)),
                         gevent.spawn(digest_of, client, len(down))]
            results = join_ok(greenlets, timeout=50)
            assert results[2] == hashlib.sha256(up).hexdigest()
            assert results[3] == hashlib.sha256(down).hexdigest()

    def test_many_small_sends_no_byte_lost(self):
        a, b = gsocket.socketpair()
        with a, b:
            chunks = [payload(1 + i % 700, seed=b'%d' % i) for i in range(5000)]

            def send_all():
                for c in chunks:
                    a.sendall(c)
                a.shutdown(gsocket.SHUT_WR)

            g = gevent.spawn(send_all)
            assert recv_all(b) == b''.join(chunks)
            join_ok([g])


# ---------------------------------------------------------------------------
# wait_read / wait_write / cancel_wait
# ---------------------------------------------------------------------------

class TestWaits:

    def test_wait_read_and_write_on_a_pipe(self):
        r, w = os.pipe()
        try:
            ticks = []
            g = gevent.spawn(lambda: (ticks.append(1), gevent.sleep(0.05), os.write(w, b'x')))
            gsocket.wait_read(r)
            assert ticks
            assert os.read(r, 1) == b'x'
            gsocket.wait_write(w)
            gsocket.wait_readwrite(w)
            join_ok([g])
        finally:
            os.close(r)
            os.close(w)

    def test_wait_timeouts(self):
        r, w = os.pipe()
        try:
            with pytest.raises(gsocket.timeout) as info:
                gsocket.wait_read(r, timeout=0.05)
            assert str(info.value) == 'timed out'

            class Custom(Exception):
                pass
            with pytest.raises(Custom):
                gsocket.wait_read(r, timeout=0.05, timeout_exc=Custom)
            with pytest.raises(gevent.Timeout):
                gsocket.wait_read(r, timeout=0.05, timeout_exc=None)
        finally:
            os.close(r)
            os.close(w)

    def test_cancel_wait(self):
        r, w = os.pipe()
        try:
            watcher = gevent.get_hub().loop.io(r, 1)
            g = gevent.spawn(gsocket.wait, watcher)
            gevent.sleep(0.01)
            gsocket.cancel_wait(watcher)
            with pytest.raises(OSError) as info:
                g.get(timeout=5)
            assert info.value.errno == errno.EBADF
            watcher.close()
        finally:
            os.close(r)
            os.close(w)

    def test_wait_on_a_watcher(self):
        r, w = os.pipe()
        try:
            watcher = gevent.get_hub().loop.io(r, 1)
            with pytest.raises(gsocket.timeout):
                gsocket.wait(watcher, timeout=0.02)
            os.write(w, b'!')
            gsocket.wait(watcher, timeout=5)
            watcher.close()
        finally:
            os.close(r)
            os.close(w)


# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------

class TestNames:

    def test_getaddrinfo_matches_the_stdlib(self):
        args = ('localhost', 80, gsocket.AF_INET, gsocket.SOCK_STREAM)
        ours = gsocket.getaddrinfo(*args)
        assert ours == stdsocket.getaddrinfo(*args)
        assert isinstance(ours[0][0], gsocket.AddressFamily)
        assert isinstance(ours[0][1], gsocket.SocketKind)

    def test_host_functions(self):
        assert gsocket.gethostbyname('localhost') == '127.0.0.1'
        assert gsocket.gethostbyname('127.0.0.1') == '127.0.0.1'
        assert gsocket.gethostbyname_ex('127.0.0.1')[2] == ['127.0.0.1']
        assert gsocket.gethostbyaddr('127.0.0.1') == stdsocket.gethostbyaddr('127.0.0.1')
        flags = gsocket.NI_NUMERICHOST | gsocket.NI_NUMERICSERV
        assert gsocket.getnameinfo(('127.0.0.1', 80), flags) == ('127.0.0.1', '80')
        assert gsocket.getfqdn('127.0.0.1') == stdsocket.getfqdn('127.0.0.1')

    def test_unknown_name(self):
        with pytest.raises(gsocket.gaierror):
            gsocket.gethostbyname('no-such-host.invalid')
        with pytest.raises(gsocket.gaierror):
            gsocket.getaddrinfo('no-such-host.invalid', 80)

    def test_lookups_run_concurrently_with_other_greenlets(self):
        jobs = [gevent.spawn(gsocket.getaddrinfo, 'localhost', 80 + i, gsocket.AF_INET,
                             gsocket.SOCK_STREAM) for i in range(10)]
        results = join_ok(jobs, timeout=20)
        assert [r[0][4][1] for r in results] == [80 + i for i in range(10)]


# ---------------------------------------------------------------------------
# geventc's design promises
# ---------------------------------------------------------------------------

@pytest.mark.geventc_only
def test_recv_and_send_never_call_the_real_socket_methods(monkeypatch):
    """recv/send/accept make the system call themselves and wait on EAGAIN:
    the wrapped socket's Python-level methods (which raise BlockingIOError
    on EAGAIN) are not on the path."""
    from geventc import _socket

    def forbidden(*args):
        raise AssertionError('the real socket method was called')

    for name in ('recv', 'recv_into', 'send', 'sendall', 'recvfrom', '_accept'):
        monkeypatch.setattr(_socket._wrefsocket, name, forbidden, raising=False)
    client, server = tcp_pair()
    with client, server:
        g = gevent.spawn_later(0.02, client.sendall, b'x' * 100000)
        assert recv_exactly(server, 100000) == b'x' * 100000
        join_ok([g])
        g = gevent.spawn_later(0.02, server.send, b'y')
        assert client.recv_into(bytearray(1)) == 1
        join_ok([g])


@pytest.mark.skipif(IMPL_IS_GEVENT, reason='geventc only')
def test_descriptor_is_read_from_the_real_socket():
    # A _sock closed directly (servers unwrap sockets) gives EBADF, never a
    # stale descriptor number that may belong to something else by now.
    client, server = tcp_pair()
    with client:
        server._sock.close()
        with pytest.raises(OSError) as info:
            server.recv(1)
        assert info.value.errno == errno.EBADF
        server.close()
