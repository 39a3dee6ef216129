"""pywsgi and StreamServer under load and abuse, on loopback.

Server and clients run in this one process, on cooperative sockets: many
concurrent keep-alive connections; waves of clients that reset the
connection (SO_LINGER 0) at every stage of a request; waves of slowloris
clients; a graceful stop() with requests in flight. Each abuse test also
runs a well-behaved client throughout and checks that it keeps being
served, and compares what the process holds (gc-tracked objects, memory
traced by tracemalloc, descriptors, RSS) after the first wave and after
the last one, once every handler of the wave has ended.

The bounds are generous: timing belongs in perf/ (perf/wsgi_hold.py holds
10,000 connections). What is asserted is that nothing is lost, nothing
leaks in proportion to the clients and nobody is starved.
"""
import gc
import os
import random
import resource
import struct
import time
import tracemalloc

import pytest

import geventc
from geventc import pywsgi
from geventc import socket
from geventc.pool import Pool
from geventc.server import StreamServer

from _helpers import IMPL_IS_GEVENT

pytestmark = pytest.mark.slow
geventc_only = pytest.mark.geventc_only

#: Seconds any single client operation may take before the test calls it a
#: hang (CI has 2 busy cores; nothing here needs more than a fraction).
PATIENCE = 10


# --- process-level measurements ---------------------------------------------------

@pytest.fixture
def fd_room():
    """``fd_room(connections)``: room for both ends of that many connections
    in this process (or skip); the soft RLIMIT_NOFILE is put back after."""
    original = resource.getrlimit(resource.RLIMIT_NOFILE)

    def make_room(connections):
        needed = 2 * connections + 256
        soft, hard = original
        if soft < needed:
            if hard != resource.RLIM_INFINITY and hard < needed:
                pytest.skip('%d connections need %d descriptors; RLIMIT_NOFILE hard limit is %d'
                            % (connections, needed, hard))
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))

    yield make_room
    resource.setrlimit(resource.RLIMIT_NOFILE, original)


def rss_bytes():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def open_fds():
    return len(os.listdir('/proc/self/fd'))


#: Blocks allocated with no Python frame running are left out: chiefly the
#: 2 KiB first frame-stack chunks geventc keeps for reuse (up to 2 MiB, see
#: _arena.pxi), which fill up to the peak number of greenlets over a few waves.
_NO_FRAME = tracemalloc.Filter(False, '<unknown>')


def traced_bytes():
    snapshot = tracemalloc.take_snapshot().filter_traces([_NO_FRAME])
    return sum(stat.size for stat in snapshot.statistics('filename'))


class Footprint(object):
    """What the process holds once the handlers of a wave are gone."""

    def __init__(self):
        gc.collect()
        self.objects = len(gc.get_objects())
        self.fds = open_fds()
        self.rss = rss_bytes()
        self.traced = traced_bytes()

    def __repr__(self):
        return 'Footprint(objects=%d, fds=%d, rss=%.1f MiB, traced=%.1f KiB)' % (
            self.objects, self.fds, self.rss / 2.0 ** 20, self.traced / 1024.0)


@pytest.fixture
def traced():
    """tracemalloc on for the test: Python allocations still held, exactly
    (RSS also moves with heap fragmentation and freed-but-kept pages)."""
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


def assert_no_growth(footprints, clients_per_wave):
    """The footprint after the last wave against the one after the first,
    which paid for what is kept at the high-water mark (allocator pools,
    free lists, grown tables). A leak of one object per four clients,
    64 bytes per client or a page per client would exceed these."""
    first, last = footprints[1], footprints[-1]
    clients = clients_per_wave * (len(footprints) - 2)
    # (The bystander may hold a second connection at either moment.)
    assert last.fds <= first.fds + 2, footprints
    assert last.objects - first.objects < clients // 4, footprints
    assert last.traced - first.traced < clients * 64, footprints
    assert last.rss - first.rss < clients * 4096, footprints


def reset(sock):
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    sock.close()


def wait_until(predicate, timeout=PATIENCE, what='condition'):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError('timed out waiting for ' + what)
        geventc.sleep(0.01)


# --- HTTP client pieces ---------------------------------------------------------------

def read_response(sock, buf=b''):
    """One response with a Content-Length body: (status line, body, rest)."""
    while b'\r\n\r\n' not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError('closed before the response head (%r)' % buf[:80])
        buf += chunk
    head, _, rest = buf.partition(b'\r\n\r\n')
    lines = head.split(b'\r\n')
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b':')
        if name.strip().lower() == b'content-length':
            length = int(value)
    assert length is not None, head
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError('closed in the response body')
        rest += chunk
    return lines[0], rest[:length], rest[length:]


def get(path, close=False):
    return ('GET %s HTTP/1.1\r\nHost: test\r\n%s\r\n'
            % (path, 'Connection: close\r\n' if close else '')).encode('ascii')


#: More than the client's receive window (see reset_mid_response).
BIG = b'b' * (1 << 20)


class App(object):
    """A WSGI application with the paths the clients below need, counting
    what reached it."""

    def __init__(self):
        self.calls = {}
        self.upload_errors = 0

    def __call__(self, environ, start_response):
        path = environ['PATH_INFO']
        self.calls[path] = self.calls.get(path, 0) + 1
        if path == '/upload':
            body = self._read_upload(environ)
        elif path == '/slow':
            geventc.sleep(0.05)
            body = b's' * 65536
        elif path == '/big':
            body = BIG
        else:
            body = ('%s %s' % (path, environ['REMOTE_PORT'])).encode('ascii')
        start_response('200 OK', [('Content-Type', 'text/plain'),
                                  ('Content-Length', str(len(body)))])
        return [body]

    def _read_upload(self, environ):
        try:
            data = environ['wsgi.input'].read()
        except OSError:
            self.upload_errors += 1
            raise
        if len(data) < int(environ['CONTENT_LENGTH']):
            # The body ended early (the connection went away).
            self.upload_errors += 1
        return b'%d' % len(data)


class ErrorLog(object):
    """The server's error_log: counts the lines and keeps the first few
    (keeping all would make the footprint grow with the clients)."""

    def __init__(self):
        self.lines = 0
        self.first = []

    def write(self, text):
        self.lines += text.count('\n')
        if len(self.first) < 5:
            self.first.append(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def getvalue(self):
        return ''.join(self.first)


class Server(object):
    """A WSGIServer on an ephemeral loopback port, its handlers in a Pool
    (so that how many connections it holds can be read off)."""

    def __init__(self, app, **kwargs):
        kwargs.setdefault('log', None)
        self.errors = ErrorLog()
        kwargs.setdefault('error_log', self.errors)
        self.pool = Pool()
        self.server = pywsgi.WSGIServer(('127.0.0.1', 0), app, spawn=self.pool,
                                        backlog=2048, **kwargs)

    def __enter__(self):
        self.server.start()
        return self

    def __exit__(self, *args):
        self.server.stop(timeout=1)

    @property
    def address(self):
        return ('127.0.0.1', self.server.server_port)

    def connect(self):
        return socket.create_connection(self.address, timeout=PATIENCE)

    def wait_idle(self):
        wait_until(lambda: len(self.pool) == 0, what='every handler to finish')


class Bystander(object):
    """A well-behaved client making requests for as long as it runs: on one
    keep-alive connection, and a new connection for every tenth request.
    Records the slowest request."""

    def __init__(self, server):
        self.server = server
        self.served = 0
        self.slowest = 0.0
        self.greenlet = geventc.spawn(self._run)

    def _run(self):
        sock = self.server.connect()
        try:
            while True:
                start = time.monotonic()
                if self.served % 10 == 9:
                    path = b'/fresh'
                    with self.server.connect() as fresh:
                        fresh.sendall(get(path.decode(), close=True))
                        status, body, _ = read_response(fresh)
                else:
                    path = b'/bystander'
                    sock.sendall(get(path.decode()))
                    status, body, _ = read_response(sock)
                assert status == b'HTTP/1.1 200 OK', status
                assert body.split()[0] == path, body
                self.slowest = max(self.slowest, time.monotonic() - start)
                self.served += 1
                geventc.sleep(0.005)
        finally:
            sock.close()

    def stop(self):
        """Stop; raise what went wrong in it, if anything."""
        if self.greenlet.dead:
            self.greenlet.get()
        self.greenlet.kill()
        return self


# --- many keep-alive connections ------------------------------------------------------

def test_1000_keepalive_connections_held(fd_room):
    n = 1000
    fd_room(n)
    app = App()
    with Server(app) as server:
        socks = [None] * n
        first = [None] * n

        def open_and_ask(i):
            sock = socks[i] = server.connect()
            sock.sendall(get('/first'))
            first[i] = read_response(sock)

        geventc.joinall([geventc.spawn(open_and_ask, i) for i in range(n)], raise_error=True)
        # Every connection is open and has been served once, at the same time.
        assert len(server.pool) == n
        ports = set()
        for status, body, rest in first:
            assert status == b'HTTP/1.1 200 OK' and rest == b''
            ports.add(body.split()[1])
        assert len(ports) == n

        def ask_again(i):
            socks[i].sendall(get('/again'))
            status, body, rest = read_response(socks[i])
            assert status == b'HTTP/1.1 200 OK' and rest == b''
            # Answered on the same connection as the first request.
            assert body == b'/again ' + first[i][1].split()[1]

        geventc.joinall([geventc.spawn(ask_again, i) for i in range(n)], raise_error=True)
        assert app.calls == {'/first': n, '/again': n}
        assert len(server.pool) == n
        for sock in socks:
            sock.close()
        server.wait_idle()
        assert server.errors.getvalue() == ''


# --- clients that reset mid-request ---------------------------------------------------

def reset_before_sending(sock, rng):  # noqa: ARG001
    pass


def reset_mid_head(sock, rng):
    # Never the whole head: its blank line is not there to send.
    head = b'GET /never HTTP/1.1\r\nHost: test\r\nX-Padding: ' + b'p' * rng.randrange(1, 3000)
    sock.sendall(head[:rng.randrange(1, len(head) + 1)])
    geventc.sleep(rng.random() * 0.02)


def reset_mid_body(sock, rng):
    sock.sendall(b'POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\n'
                 + b'u' * rng.randrange(0, 5000))
    geventc.sleep(rng.random() * 0.02)


def reset_before_response(sock, rng):  # noqa: ARG001
    # The application sleeps before answering /slow: the reset arrives
    # while it runs, and its response is written to a dead connection.
    sock.sendall(get('/slow'))


def reset_mid_response(sock, rng):
    # The receive window was made small: the server is still writing.
    sock.sendall(get('/big'))
    sock.recv(rng.randrange(1, 65536))


RESETS = [reset_before_sending, reset_mid_head, reset_mid_body,
          reset_before_response, reset_mid_response]


def test_1000_resetting_clients_do_not_stop_others_or_grow_memory(fd_room, traced):  # noqa: ARG001
    n, waves = 1000, 5
    fd_room(n + 50)
    app = App()
    rng = random.Random(1313)
    with Server(app) as server:
        bystander = Bystander(server)
        footprints = [Footprint()]

        def client(kind):
            sock = socket.socket()
            if kind is reset_mid_response:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(PATIENCE)
            sock.connect(server.address)
            kind(sock, rng)
            reset(sock)

        for _ in range(waves):
            geventc.joinall([geventc.spawn(client, RESETS[i % len(RESETS)]) for i in range(n)],
                            raise_error=True)
            wait_until(lambda: len(server.pool) <= 2, what='the reset connections to be let go')
            footprints.append(Footprint())
        served = bystander.stop().served

    per_kind = n // len(RESETS) * waves
    # Every application-level reset reached the application.
    assert app.calls['/slow'] == per_kind
    assert app.calls['/big'] == per_kind
    assert app.calls['/upload'] == per_kind == app.upload_errors
    assert '/never' not in app.calls
    if not IMPL_IS_GEVENT:
        # A client gone away is no server error. (gevent logs "Invalid
        # request ... Connection reset by peer" for the mid-body ones, and
        # the hub prints their handlers dying of BrokenPipeError.)
        assert server.errors.lines == 0, server.errors.getvalue()
    assert served > 20, served
    assert bystander.slowest < PATIENCE / 2, bystander.slowest
    assert_no_growth(footprints, n)


# --- slowloris ------------------------------------------------------------------------

HEADER_TIMEOUT = 0.5


def slowloris_idle(sock):
    """Connect and send nothing."""
    return sock.recv(4096)


def slowloris_trickle(sock):
    """A request head that never ends: one more byte every 0.1 s."""
    sock.sendall(b'GET / HTTP/1.1\r\nHost: test\r\nX-Slow: ')
    sock.settimeout(0.1)
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        try:
            return sock.recv(4096)
        except socket.timeout:
            pass
        try:
            sock.sendall(b's')
        except OSError:     # closed (and reset, as more came in)
            return b''
    return b'never cut off'


@geventc_only  # header_timeout: gevent never times out a slow request head
def test_1000_slowloris_clients_are_cut_off_without_starving_others(fd_room, traced):  # noqa: ARG001
    n, waves = 1000, 5
    fd_room(n + 50)
    app = App()
    with Server(app, header_timeout=HEADER_TIMEOUT) as server:
        bystander = Bystander(server)
        footprints = [Footprint()]
        # Counted, not kept: the footprint must show only the server's objects.
        outcomes = {}
        longest = [0.0]

        def client(kind):
            start = time.monotonic()
            with server.connect() as sock:
                answer = kind(sock).split(b'\r\n', 1)[0]
            longest[0] = max(longest[0], time.monotonic() - start)
            key = (kind.__name__, answer)
            outcomes[key] = outcomes.get(key, 0) + 1

        for _ in range(waves):
            kinds = [slowloris_idle, slowloris_trickle] * (n // 2)
            geventc.joinall([geventc.spawn(client, kind) for kind in kinds], raise_error=True)
            wait_until(lambda: len(server.pool) <= 2, what='the slow connections to be let go')
            footprints.append(Footprint())
        served = bystander.stop().served

    # The trickling ones get a 408, the silent ones are simply closed; all
    # by the server (the clients would wait forever).
    assert outcomes == {('slowloris_idle', b''): n // 2 * waves,
                        ('slowloris_trickle', b'HTTP/1.1 408 Request Timeout'): n // 2 * waves}
    assert longest[0] < 2 * HEADER_TIMEOUT + PATIENCE / 2
    assert app.calls.get('/', 0) == 0
    assert served > 20, served
    assert bystander.slowest < PATIENCE / 2, bystander.slowest
    assert_no_growth(footprints, n)


# --- a graceful stop --------------------------------------------------------------------

STOP_DELAY = 0.3


def slow_reply(environ, start_response):
    geventc.sleep(STOP_DELAY)
    body = environ['PATH_INFO'].encode('ascii')
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]


def test_graceful_stop_loses_no_accepted_request(fd_room):
    """stop(timeout) with handlers in a Pool: every connection accepted
    before it gets its response, whatever stage its request was at, and
    connections still idle at the timeout are closed."""
    fd_room(300)
    with Server(slow_reply) as server:
        in_app = [server.connect() for _ in range(100)]        # request being answered
        silent = [server.connect() for _ in range(50)]         # request not sent yet
        halfway = [server.connect() for _ in range(50)]        # half a request head sent
        for i, sock in enumerate(in_app):
            sock.sendall(get('/in-app/%d' % i))
        for i, sock in enumerate(halfway):
            sock.sendall(get('/halfway/%d' % i)[:12])
        total = len(in_app) + len(silent) + len(halfway)
        wait_until(lambda: len(server.pool) == total, what='every connection to be accepted')

        started = time.monotonic()
        stopper = geventc.spawn(server.server.stop, timeout=3 * STOP_DELAY + 2)
        geventc.sleep(0)
        assert server.server.closed
        with pytest.raises(ConnectionRefusedError):
            server.connect()
        for i, sock in enumerate(silent):
            sock.sendall(get('/silent/%d' % i))
        for i, sock in enumerate(halfway):
            sock.sendall(get('/halfway/%d' % i)[12:])

        def answer(sock):
            status, body, rest = read_response(sock)
            assert status == b'HTTP/1.1 200 OK' and rest == b''
            return body.decode('ascii')

        bodies = [g.get() for g in [geventc.spawn(answer, s) for s in in_app + silent + halfway]]
        assert bodies == (['/in-app/%d' % i for i in range(len(in_app))]
                          + ['/silent/%d' % i for i in range(len(silent))]
                          + ['/halfway/%d' % i for i in range(len(halfway))])
        answered = time.monotonic() - started
        # Kept alive and idle now: stop() closes them when its time is up.
        stopper.join(PATIENCE)
        assert stopper.dead and stopper.successful()
        for sock in in_app + silent + halfway:
            assert sock.recv(100) == b''
            sock.close()
        assert answered < 3 * STOP_DELAY + 2 <= time.monotonic() - started
        assert len(server.pool) == 0
        assert server.errors.getvalue() == ''


def test_graceful_stop_of_a_stream_server_loses_no_accepted_connection(fd_room):
    def handle(sock, address):  # noqa: ARG001
        line = sock.makefile('rb').readline()
        geventc.sleep(STOP_DELAY)
        sock.sendall(b'done ' + line)

    fd_room(300)
    pool = Pool()
    server = StreamServer(('127.0.0.1', 0), handle, spawn=pool, backlog=1024)
    server.start()
    address = ('127.0.0.1', server.server_port)
    try:
        early = [socket.create_connection(address, timeout=PATIENCE) for _ in range(100)]
        late = [socket.create_connection(address, timeout=PATIENCE) for _ in range(100)]
        for i, sock in enumerate(early):
            sock.sendall(b'early %d\n' % i)
        wait_until(lambda: len(pool) == len(early) + len(late),
                   what='every connection to be accepted')
        stopper = geventc.spawn(server.stop, timeout=PATIENCE)
        geventc.sleep(0)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(address, timeout=PATIENCE)
        for i, sock in enumerate(late):
            sock.sendall(b'late %d\n' % i)

        def answer(sock):
            data = b''
            while True:
                chunk = sock.recv(100)
                if not chunk:
                    return data
                data += chunk

        replies = [g.get() for g in [geventc.spawn(answer, s) for s in early + late]]
        assert replies == ([b'done early %d\n' % i for i in range(len(early))]
                           + [b'done late %d\n' % i for i in range(len(late))])
        stopper.join(PATIENCE)
        assert stopper.dead and stopper.successful()
        assert len(pool) == 0
        for sock in early + late:
            sock.close()
    finally:
        server.close()
