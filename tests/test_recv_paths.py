"""Every receive path of the cooperative socket: byte-exact data over real
loopback sockets, and no memory held by a greenlet while it waits.

A greenlet blocked in ``recv(65536)`` (or recvfrom, recvmsg, an ssl read,
``makefile().read``) must not keep a buffer of the size it asked for: with
10,000 connections that was 64 KiB each. The memory checks count what
``tracemalloc`` sees while N greenlets wait, with a bound (16 KiB per
greenlet) far above what a waiting greenlet costs (a few KiB: its saved stack
and objects) and far below a held 64 KiB buffer. The sendto/sendmsg/recvmsg
checks make sure the native calls (no exception per EAGAIN) are the ones used.
The same tests run against gevent 26.9.0, except the ones marked geventc_only.
"""
import array
import gc
import hashlib
import os
import socket as stdsocket
import tracemalloc
import warnings

import pytest

import geventc as gevent
from geventc import socket as gsocket

pytestmark = pytest.mark.filterwarnings('error')

BIG = 65536
WAITERS = 40
#: Traced bytes a waiting greenlet may add: a held BIG buffer would exceed it.
WAITER_BUDGET = 16 * 1024


def payload(size, seed=0):
    """Deterministic bytes in which a lost, repeated or moved block shows."""
    out = bytearray()
    block = 0
    while len(out) < size:
        out += hashlib.sha256(b'%d:%d' % (seed, block)).digest()
        block += 1
    return bytes(out[:size])


def tcp_pair():
    with gsocket.socket() as lst:
        lst.bind(('127.0.0.1', 0))
        lst.listen(16)
        client = gsocket.create_connection(lst.getsockname())
        server, _ = lst.accept()
    return client, server


def udp_pair():
    a = gsocket.socket(gsocket.AF_INET, gsocket.SOCK_DGRAM)
    b = gsocket.socket(gsocket.AF_INET, gsocket.SOCK_DGRAM)
    a.bind(('127.0.0.1', 0))
    b.bind(('127.0.0.1', 0))
    return a, b


def traced_growth_per_waiter(wait_calls):
    """Spawn one greenlet per call in *wait_calls* (each blocks receiving);
    return (traced bytes added per greenlet, the greenlets)."""
    gevent.sleep(0)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        greenlets = [gevent.spawn(call) for call in wait_calls]
        gevent.sleep(0)
        gevent.sleep(0)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert not any(g.dead for g in greenlets), 'the receivers must still be waiting'
    return (after - before) / len(wait_calls), greenlets


def close_all(*groups):
    for group in groups:
        for sock in group:
            sock.close()


# ------------------------------------------------------------------------------
# nothing held while waiting

class TestNothingHeldWhileWaiting:

    def check(self, receivers, feed, expect):
        """receivers: objects with the receive call; feed(i) sends the data
        receiver i gets; expect(i, result) checks what it got."""
        per_waiter, greenlets = traced_growth_per_waiter(receivers)
        try:
            assert per_waiter < WAITER_BUDGET, (
                '%d bytes traced per waiting greenlet: a receive buffer is held' % per_waiter)
            for i in range(len(greenlets)):
                feed(i)
            gevent.joinall(greenlets, timeout=10, raise_error=True)
            for i, g in enumerate(greenlets):
                assert g.ready()
                expect(i, g.value)
        finally:
            gevent.killall(greenlets)

    def test_recv(self):
        pairs = [tcp_pair() for _ in range(WAITERS)]
        try:
            self.check([lambda s=pair[1]: s.recv(BIG) for pair in pairs],
                       lambda i: pairs[i][0].sendall(payload(120, i)),
                       lambda i, got: (got == payload(120, i)) or pytest.fail(repr(got)))
        finally:
            close_all(*pairs)

    def test_recvfrom(self):
        pairs = [udp_pair() for _ in range(WAITERS)]
        try:
            self.check([lambda s=pair[1]: s.recvfrom(BIG) for pair in pairs],
                       lambda i: pairs[i][0].sendto(payload(120, i), pairs[i][1].getsockname()),
                       lambda i, got: got == (payload(120, i), pairs[i][0].getsockname())
                       or pytest.fail(repr(got)))
        finally:
            close_all(*pairs)

    def test_recvmsg(self):
        pairs = [gsocket.socketpair() for _ in range(WAITERS)]
        try:
            self.check([lambda s=pair[1]: s.recvmsg(BIG, 1024) for pair in pairs],
                       lambda i: pairs[i][0].sendall(payload(120, i)),
                       lambda i, got: got[:3] == (payload(120, i), [], 0) or pytest.fail(repr(got)))
        finally:
            close_all(*pairs)

    @pytest.mark.geventc_only   # the stdlib's BufferedReader allocates, then waits
    @pytest.mark.parametrize('method', ['read', 'read1'])
    def test_makefile_read(self, method):
        pairs = [tcp_pair() for _ in range(WAITERS)]
        files = [pair[1].makefile('rb') for pair in pairs]
        try:
            self.check([lambda f=f: getattr(f, method)(BIG) for f in files],
                       lambda i: pairs[i][0].sendall(payload(120, i)) or pairs[i][0].shutdown(1),
                       lambda i, got: got == payload(120, i) or pytest.fail(repr(got)))
        finally:
            close_all(files, *pairs)

    @pytest.mark.geventc_only   # the stdlib's RawIOBase.read allocates, then waits
    def test_unbuffered_makefile_read(self):
        pairs = [tcp_pair() for _ in range(WAITERS)]
        files = [pair[1].makefile('rb', buffering=0) for pair in pairs]
        try:
            self.check([lambda f=f: f.read(BIG) for f in files],
                       lambda i: pairs[i][0].sendall(payload(120, i)),
                       lambda i, got: got == payload(120, i) or pytest.fail(repr(got)))
        finally:
            close_all(files, *pairs)

    def test_recv_into_releases_the_buffer_while_waiting(self):
        # The caller's bytearray is not exported during the wait: it can be
        # resized, and the data lands in it as it is when the bytes arrive.
        a, b = tcp_pair()
        buf = bytearray(16)
        with a, b:
            g = gevent.spawn(b.recv_into, buf)
            gevent.sleep(0)
            buf.extend(b'.' * 16)          # BufferError if still exported
            a.sendall(b'abc')
            assert g.get(timeout=5) == 3
            assert buf == b'abc' + b'\0' * 13 + b'.' * 16


def test_ssl_read_holds_nothing_while_waiting(tmp_path):
    ssl_mod = pytest.importorskip('geventc.ssl')
    from test_ssl import make_cert
    cert, key = make_cert(tmp_path, 'server')
    server_ctx = ssl_mod.SSLContext(ssl_mod.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl_mod.SSLContext(ssl_mod.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(cert)
    pairs = []
    for _ in range(WAITERS // 4):
        a, b = tcp_pair()
        hs = gevent.spawn(server_ctx.wrap_socket, b, server_side=True)
        client = client_ctx.wrap_socket(a, server_hostname='localhost')
        pairs.append((hs.get(timeout=10), client))
    try:
        per_waiter, greenlets = traced_growth_per_waiter(
            [lambda s=client: s.read(BIG) for _, client in pairs])
        assert per_waiter < WAITER_BUDGET, per_waiter
        for i, (server, _) in enumerate(pairs):
            server.sendall(payload(120, i))
        gevent.joinall(greenlets, timeout=10, raise_error=True)
        assert [g.value for g in greenlets] == [payload(120, i) for i in range(len(pairs))]
    finally:
        close_all(*pairs)


# ------------------------------------------------------------------------------
# byte-exact transfers through every path

STREAM_CHUNKS = [1, 119, 120, 8191, 8192, 8193, 65535, 65536, 65537, 200_000, 120, 3, 100_000, 7]


def send_chunks(sock, chunks, seed=0):
    """Send the chunks in order (another greenlet), then shut down writing."""
    def run():
        for i, size in enumerate(chunks):
            sock.sendall(payload(size, seed * 1000 + i))
            gevent.sleep(0)
        sock.shutdown(gsocket.SHUT_WR)
    return gevent.spawn(run)


def expected_stream(chunks, seed=0):
    return b''.join(payload(size, seed * 1000 + i) for i, size in enumerate(chunks))


def drain(read_some):
    """Call read_some() until it returns b''; the concatenation."""
    parts = []
    while True:
        data = read_some()
        if not data:
            return b''.join(parts)
        parts.append(data)


class TestByteExact:

    @pytest.mark.parametrize('bufsize', [1, 100, 8192, 8193, 65536, 65537, 1 << 20])
    def test_recv_stream(self, bufsize):
        chunks = STREAM_CHUNKS if bufsize > 1 else [1, 119, 5000, 3]
        a, b = tcp_pair()
        with a, b:
            sender = send_chunks(a, chunks)
            assert drain(lambda: b.recv(bufsize)) == expected_stream(chunks)
            sender.get(timeout=10)

    def test_recv_switches_between_small_and_big_reads(self):
        # Big reads, then small ones, then big again, on one socket; every
        # byte in order whichever way each read lands.
        a, b = tcp_pair()
        with a, b:
            for rnd, size in enumerate([200_000, 120, 50_000, 7, 120, 300_000, 1]):
                data = payload(size, rnd)
                a.sendall(data)
                got = b''
                while len(got) < size:
                    got += b.recv(BIG)
                assert got == data, (rnd, size)

    @pytest.mark.parametrize('kind', ['bytearray', 'memoryview', 'memoryview-nbytes'])
    def test_recv_into(self, kind):
        a, b = tcp_pair()
        store = bytearray(70_000)
        with a, b:
            sender = send_chunks(a, STREAM_CHUNKS)
            parts = []
            while True:
                if kind == 'bytearray':
                    n = b.recv_into(store)
                    parts.append(bytes(store[:n]))
                elif kind == 'memoryview':
                    view = memoryview(store)[5:5 + 9000]
                    n = b.recv_into(view)
                    parts.append(bytes(view[:n]))
                else:
                    n = b.recv_into(memoryview(store), 333)
                    assert n <= 333
                    parts.append(bytes(store[:n]))
                if not n:
                    break
            assert b''.join(parts) == expected_stream(STREAM_CHUNKS)
            sender.get(timeout=10)

    def test_recvfrom_udp(self):
        a, b = udp_pair()
        with a, b:
            sizes = [0, 1, 120, 8192, 8193, 60_000, 120]
            for i, size in enumerate(sizes):
                a.sendto(payload(size, i), b.getsockname())
            for i, size in enumerate(sizes):
                assert b.recvfrom(BIG) == (payload(size, i), a.getsockname())
            # A datagram bigger than the request: cut to the request, as the stdlib does.
            a.sendto(payload(1000, 9), b.getsockname())
            assert b.recvfrom(100) == (payload(1000, 9)[:100], a.getsockname())
            store = bytearray(200)
            a.sendto(payload(150, 10), b.getsockname())
            assert b.recvfrom_into(store) == (150, a.getsockname())
            assert store[:150] == payload(150, 10)

    def test_recvfrom_waits_for_the_datagram(self):
        a, b = udp_pair()
        with a, b:
            g = gevent.spawn(b.recvfrom, BIG)
            gevent.sleep(0.01)
            assert not g.ready()
            a.sendto(b'late', b.getsockname())
            assert g.get(timeout=5) == (b'late', a.getsockname())

    def test_recvmsg_with_descriptors(self):
        a, b = gsocket.socketpair()
        r, w = os.pipe()
        try:
            with a, b:
                fds = array.array('i', [r, w])
                g = gevent.spawn(b.recvmsg, BIG, stdsocket.CMSG_SPACE(fds.itemsize * 2))
                gevent.sleep(0.01)
                assert not g.ready()
                assert a.sendmsg([b'with ', b'fds'], [(stdsocket.SOL_SOCKET, stdsocket.SCM_RIGHTS,
                                                       fds)]) == 8
                data, ancdata, flags, _ = g.get(timeout=5)
                assert data == b'with fds' and flags == 0
                [(level, kind, raw)] = ancdata
                assert (level, kind) == (stdsocket.SOL_SOCKET, stdsocket.SCM_RIGHTS)
                got = array.array('i')
                got.frombytes(raw)
                assert len(got) == 2
                os.write(got[1], b'through the passed pipe')
                assert os.read(got[0], 100) == b'through the passed pipe'
                for fd in got:
                    os.close(fd)
        finally:
            os.close(r)
            os.close(w)

    def test_recvmsg_big_stream_and_truncation(self):
        a, b = gsocket.socketpair()
        with a, b:
            sender = send_chunks(a, STREAM_CHUNKS)
            assert drain(lambda: b.recvmsg(BIG + 10)[0]) == expected_stream(STREAM_CHUNKS)
            sender.get(timeout=10)
        a, b = gsocket.socketpair(gsocket.AF_UNIX, gsocket.SOCK_DGRAM)
        with a, b:
            a.send(payload(300, 1))
            data, _, flags, _ = b.recvmsg(100)
            assert data == payload(300, 1)[:100]
            assert flags & stdsocket.MSG_TRUNC

    def test_recvmsg_into(self):
        a, b = gsocket.socketpair()
        with a, b:
            first, second = bytearray(7), memoryview(bytearray(100))
            g = gevent.spawn(b.recvmsg_into, [first, second])
            gevent.sleep(0.01)
            a.sendall(payload(50, 3))
            assert g.get(timeout=5)[:3] == (50, [], 0)
            assert bytes(first) + bytes(second[:43]) == payload(50, 3)

    def test_makefile_reads(self):
        a, b = tcp_pair()
        text = b''.join(b'line %d %s\n' % (i, b'x' * (i * 37 % 3000)) for i in range(300))
        with a, b:
            sender = send_chunks(a, [len(text)])
            a_data = payload(len(text), 0)  # what send_chunks sends
            f = b.makefile('rb')
            got = [f.readline(), f.read(10), f.read1(5000), f.read(100_000), f.read(7)]
            got.append(f.read())
            assert b''.join(got) == a_data
            assert f.read() == b'' and f.read(10) == b'' and f.read1(10) == b''
            f.close()
            sender.get(timeout=10)

    def test_makefile_text_and_unbuffered(self):
        a, b = tcp_pair()
        with a, b:
            lines = ['ligne %d é\n' % i for i in range(2000)]
            sender = gevent.spawn(lambda: (a.sendall(''.join(lines).encode('utf-8')),
                                           a.shutdown(gsocket.SHUT_WR)))
            with b.makefile('r', encoding='utf-8') as f:
                assert f.readline() == lines[0]
                assert f.read() == ''.join(lines[1:])
            sender.get(timeout=10)
        a, b = tcp_pair()
        with a, b:
            sender = send_chunks(a, STREAM_CHUNKS)
            with b.makefile('rb', buffering=0) as raw:
                head = raw.read(1000)
                assert head and len(head) <= 1000
                assert head + raw.readall() == expected_stream(STREAM_CHUNKS)
            sender.get(timeout=10)

    def test_makefile_rw(self):
        a, b = tcp_pair()
        with a, b:
            f = b.makefile('rwb')
            sender = send_chunks(a, STREAM_CHUNKS)
            assert f.read(5) + f.read(100_000) + f.read() == expected_stream(STREAM_CHUNKS)
            f.write(b'reply')
            f.flush()
            assert a.recv(10) == b'reply'
            f.close()
            sender.get(timeout=10)

    def test_makefile_nonblocking_read_without_data(self):
        a, b = tcp_pair()
        with a, b:
            b.setblocking(False)
            f = b.makefile('rb')
            assert f.read(10) is None
            a.sendall(b'now')
            gevent.sleep(0.01)
            assert f.read(10) == b'now'
            f.close()


# ------------------------------------------------------------------------------
# sendto / sendmsg / recvmsg: the native calls, exactly the stdlib's results

class _NoStdlibCalls(gsocket._wrefsocket):
    """A real socket whose stdlib recvmsg/sendmsg/sendto must not be called."""

    def _refuse(self, *args):
        raise AssertionError('the stdlib call (an exception per EAGAIN) was used')

    recvmsg = recvmsg_into = sendmsg = sendto = _refuse


class _NativeSocket(gsocket.socket):
    _gevent_sock_class = _NoStdlibCalls


def fill_send_buffer(sock):
    """Make the kernel refuse sends on *sock* (EAGAIN) for now."""
    sock.setblocking(False)
    try:
        while True:
            sock.send(b'\0' * 65536)
    except BlockingIOError:
        pass
    sock.setblocking(True)


@pytest.mark.geventc_only   # gevent calls the stdlib's and catches BlockingIOError
class TestNativeCalls:

    def unix_pair(self, kind):
        a, b = stdsocket.socketpair(stdsocket.AF_UNIX, kind)
        return (_NativeSocket(fileno=a.detach()), _NativeSocket(fileno=b.detach()))

    def test_sendmsg_waits_then_completes(self):
        a, b = self.unix_pair(stdsocket.SOCK_STREAM)
        with a, b:
            fill_send_buffer(a)
            data = payload(100_000, 4)
            g = gevent.spawn(a.sendmsg, [data[:10], data[10:]])
            gevent.sleep(0.01)
            assert not g.ready()
            received = b''
            while True:
                received += b.recv(BIG)
                if g.ready():
                    break
                gevent.sleep(0)
            sent = g.get(timeout=5)
            assert 0 < sent <= len(data)
            a.close()
            received += drain(lambda: b.recv(BIG))
            assert received.lstrip(b'\0') == data[:sent]

    def test_sendto_waits_then_completes(self, tmp_path):
        b = _NativeSocket(gsocket.AF_UNIX, gsocket.SOCK_DGRAM)
        a = _NativeSocket(gsocket.AF_UNIX, gsocket.SOCK_DGRAM)
        path = str(tmp_path / 'dgram')
        with a, b:
            b.bind(path)
            a.setblocking(False)
            queued = 0
            try:
                while True:
                    a.sendto(b'q', path)
                    queued += 1
            except BlockingIOError:
                pass
            a.setblocking(True)
            g = gevent.spawn(a.sendto, b'last', path)
            gevent.sleep(0.01)
            assert not g.ready()
            got = [b.recvfrom(10)[0] for _ in range(queued)]
            assert got == [b'q'] * queued
            assert g.get(timeout=5) == 4
            assert b.recvmsg(10)[0] == b'last'

    def test_recvmsg_into_and_udp(self):
        a, b = self.unix_pair(stdsocket.SOCK_STREAM)
        with a, b:
            a.sendmsg([b'abc'])
            buf = bytearray(3)
            assert b.recvmsg_into([buf]) == (3, [], 0, None)
        u1 = _NativeSocket(gsocket.AF_INET, gsocket.SOCK_DGRAM)
        u2 = _NativeSocket(gsocket.AF_INET, gsocket.SOCK_DGRAM)
        with u1, u2:
            u1.bind(('127.0.0.1', 0))
            u2.bind(('127.0.0.1', 0))
            assert u2.sendto(b'one', u1.getsockname()) == 3
            assert u2.sendto(b'two', 0, u1.getsockname()) == 3
            assert u2.sendmsg([b'th', b'ree'], [], 0, u1.getsockname()) == 5
            assert [u1.recvmsg(10)[0] for _ in range(3)] == [b'one', b'two', b'three']


# The address forms sendto converts itself, and neighbours the stdlib converts
# or refuses: both sockets must end the same way.
def _udp_addresses(port):
    return [('127.0.0.1', port), ('localhost', port), ('127.0.0.1', 70000),
            ('127.0.0.1', -1), ('127.0.0.1', 'port'), ('127.0.0.1',), ('127.0.0.1', port, 0),
            ('999.1.1.1', port), (b'127.0.0.1', port), 'bad', None, ('127.0.0.1\0', port)]


def _outcome(call):
    try:
        return ('ok', call())
    except Exception as ex:   # noqa: BLE001 (the kind and text are the result)
        return (type(ex).__name__, str(ex))


def test_sendto_addresses_as_the_stdlib():
    receiver = stdsocket.socket(stdsocket.AF_INET, stdsocket.SOCK_DGRAM)
    receiver.bind(('127.0.0.1', 0))
    port = receiver.getsockname()[1]
    ours = gsocket.socket(gsocket.AF_INET, gsocket.SOCK_DGRAM)
    theirs = stdsocket.socket(stdsocket.AF_INET, stdsocket.SOCK_DGRAM)
    with receiver, ours, theirs:
        for address in _udp_addresses(port):
            assert _outcome(lambda: ours.sendto(b'x', address)) == \
                _outcome(lambda: theirs.sendto(b'x', address)), address
            assert _outcome(lambda: ours.sendto(b'x', 0, address)) == \
                _outcome(lambda: theirs.sendto(b'x', 0, address)), address
        for args in [(b'x',), (b'x', 0, ('127.0.0.1', port), 1), ('text', ('127.0.0.1', port)),
                     (b'x', 'flags', ('127.0.0.1', port))]:
            assert _outcome(lambda: ours.sendto(*args)) == _outcome(lambda: theirs.sendto(*args))


@pytest.mark.skipif(not stdsocket.has_ipv6, reason='no IPv6')
def test_sendto_ipv6_addresses_as_the_stdlib():
    try:
        receiver = stdsocket.socket(stdsocket.AF_INET6, stdsocket.SOCK_DGRAM)
        receiver.bind(('::1', 0))
    except OSError:
        pytest.skip('no IPv6 loopback')
    port = receiver.getsockname()[1]
    ours = gsocket.socket(gsocket.AF_INET6, gsocket.SOCK_DGRAM)
    theirs = stdsocket.socket(stdsocket.AF_INET6, stdsocket.SOCK_DGRAM)
    with receiver, ours, theirs:
        for address in [('::1', port), ('::1', port, 0, 0), ('::1', port, 0xfffff, 0),
                        ('::1', port, 0x100000, 0), ('::1', port, 0, 2 ** 32), ('::1', 70000),
                        ('::1%lo', port), ('::1', port, 0, 0, 0), ('1::2::3', port)]:
            assert _outcome(lambda: ours.sendto(b'x', address)) == \
                _outcome(lambda: theirs.sendto(b'x', address)), address
        received = set()
        while True:
            try:
                received.add(receiver.recvfrom(10, stdsocket.MSG_DONTWAIT)[0])
            except BlockingIOError:
                break
        assert received == {b'x'}


def test_unix_addresses_as_the_stdlib(tmp_path):
    path = str(tmp_path / 'u')
    receiver = stdsocket.socket(stdsocket.AF_UNIX, stdsocket.SOCK_DGRAM)
    receiver.bind(path)
    abstract = b'\0geventc-test-%d' % os.getpid()
    receiver2 = stdsocket.socket(stdsocket.AF_UNIX, stdsocket.SOCK_DGRAM)
    receiver2.bind(abstract)
    ours = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_DGRAM)
    theirs = stdsocket.socket(stdsocket.AF_UNIX, stdsocket.SOCK_DGRAM)
    with receiver, receiver2, ours, theirs:
        for address in [path, path.encode(), abstract, abstract.decode('latin-1'), 'x' * 200,
                        '', b'', str(tmp_path / 'missing'), 5]:
            assert _outcome(lambda: ours.sendto(b'u', address)) == \
                _outcome(lambda: theirs.sendto(b'u', address)), address
            assert _outcome(lambda: ours.sendmsg([b'm'], [], 0, address)) == \
                _outcome(lambda: theirs.sendmsg([b'm'], [], 0, address)), address
        got = []
        for sock in (receiver, receiver2):
            while True:
                try:
                    got.append(sock.recv(10, stdsocket.MSG_DONTWAIT))
                except BlockingIOError:
                    break
        # four reachable addresses, each sent to by both sockets with both calls
        assert sorted(got) == sorted([b'u', b'm'] * 8)


def test_bad_msg_arguments_as_the_stdlib():
    ours_a, ours_b = gsocket.socketpair()
    std_a, std_b = stdsocket.socketpair()
    with ours_a, ours_b, std_a, std_b:
        calls = [
            lambda s: s.recvmsg(-1), lambda s: s.recvmsg(10, -1), lambda s: s.recvmsg('x'),
            lambda s: s.recvmsg(1, 2, 3, 4), lambda s: s.recvmsg(),
            lambda s: s.recvmsg_into(5), lambda s: s.recvmsg_into([b'read-only']),
            lambda s: s.recvmsg_into([bytearray(1)], -1),
            lambda s: s.sendmsg(5), lambda s: s.sendmsg(['text']), lambda s: s.sendmsg([b'x'], 5),
            lambda s: s.sendmsg([b'x'], [(1, 2)]), lambda s: s.sendmsg([b'x'], [(1, 2, 'x')]),
            lambda s: s.sendmsg([b'x'] * 2000),
        ]
        for call in calls:
            ours, theirs = _outcome(lambda: call(ours_a)), _outcome(lambda: call(std_a))
            assert ours[0] != 'ok' and ours == theirs


def test_truncated_ancillary_data_warns_and_closes_nothing_given():
    a, b = gsocket.socketpair()
    r, w = os.pipe()
    try:
        with a, b:
            a.sendmsg([b'x'], [(stdsocket.SOL_SOCKET, stdsocket.SCM_RIGHTS,
                                array.array('i', [r, w, r]))])
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                data, ancdata, flags, _ = b.recvmsg(10, stdsocket.CMSG_LEN(4) + 2)
            assert data == b'x'
            assert flags & stdsocket.MSG_CTRUNC
            for _, _, raw in ancdata:
                got = array.array('i')
                got.frombytes(raw[:len(raw) - len(raw) % got.itemsize])
                for fd in got:
                    os.close(fd)
    finally:
        os.close(r)
        os.close(w)


# ------------------------------------------------------------------------------
# after a recv that emptied the queue, the next one waits first: same results

class TestAfterAQueueEmptyingRecv:

    def test_data_already_there_is_returned_at_once(self):
        a, b = tcp_pair()
        with a, b:
            a.sendall(b'first')
            assert b.recv(BIG) == b'first'      # less than asked: queue emptied
            a.sendall(b'second')
            gevent.sleep(0.01)                   # arrived before the next recv
            with gevent.Timeout(2):
                assert b.recv(BIG) == b'second'
            a.sendall(b'third')
            store = bytearray(100)
            with gevent.Timeout(2):
                assert b.recv_into(store) == 5
            assert store[:5] == b'third'

    def test_nonblocking_socket_still_raises_at_once(self):
        a, b = tcp_pair()
        with a, b:
            a.sendall(b'x')
            assert b.recv(BIG) == b'x'
            b.setblocking(False)
            with pytest.raises(BlockingIOError):
                b.recv(BIG)
            with pytest.raises(BlockingIOError):
                b.recv_into(bytearray(10))

    def test_timeout_and_eof(self):
        a, b = tcp_pair()
        with a, b:
            a.sendall(b'x')
            assert b.recv(BIG) == b'x'
            b.settimeout(0.05)
            with pytest.raises(gsocket.timeout):
                b.recv(BIG)
            a.sendall(b'y')
            assert b.recv(BIG) == b'y'
            a.shutdown(gsocket.SHUT_WR)
            with gevent.Timeout(2):
                assert b.recv(BIG) == b''
                assert b.recv(BIG) == b''

    def test_peek_leaves_the_data(self):
        a, b = tcp_pair()
        with a, b:
            a.sendall(b'peek')
            gevent.sleep(0.01)
            assert b.recv(BIG, gsocket.MSG_PEEK) == b'peek'
            with gevent.Timeout(2):
                assert b.recv(BIG) == b'peek'

    @pytest.mark.geventc_only   # gevent waits on EAGAIN even with MSG_DONTWAIT
    def test_dontwait_does_not_wait(self):
        a, b = tcp_pair()
        with a, b:
            a.sendall(b'x')
            assert b.recv(BIG) == b'x'
            with pytest.raises(BlockingIOError):
                b.recv(BIG, gsocket.MSG_DONTWAIT)

    def test_close_while_waiting_first(self):
        a, b = tcp_pair()
        with a:
            a.sendall(b'x')
            assert b.recv(BIG) == b'x'
            g = gevent.spawn(b.recv, BIG)
            gevent.sleep(0.01)
            b.close()
            with pytest.raises(OSError):
                g.get(timeout=2)
