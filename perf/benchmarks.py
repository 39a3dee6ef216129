"""Every benchmark of the suite, written once against geventc.

The worker selects the implementation *before* importing this module: for the
gevent column, ``geventc*`` imports are aliased to ``gevent*`` (see _alias.py),
so each function below does the identical logical work on both.  Only public
gevent APIs are used.

Each function is ``f(n, m)``: do ``n`` operations (the unit is the ``op`` of its
registration), timing only the ``with m.timing():`` block.  Features that may
not exist yet in geventc are imported inside ``with feature():`` so that a
missing one reports ``n/a`` instead of failing.
"""
import functools
import gc
import os
import subprocess
import sys
import textwrap

import geventc as gevent

import _alias
from _harness import benchmark, feature

PERF_DIR = os.path.dirname(os.path.abspath(__file__))


# --------------------------------------------------------------------------
# helpers

def noop():
    pass


def spawn_all(func, args_list):
    return [gevent.spawn(func, *args) for args in args_list]


def join_all(greenlets):
    gevent.joinall(greenlets, raise_error=True)


def split(n, parts):
    """n operations spread over ``parts`` greenlets (at least 1 each)."""
    return max(1, n // parts)


# --------------------------------------------------------------------------
# greenlet life cycle

@benchmark('spawn_join_all', title='spawn N greenlets (all alive), then joinall',
           op='greenlet', default=100_000, quick=20_000, inner=1)
def spawn_join_all(n, m):
    with m.timing():
        join_all([gevent.spawn(noop) for _ in range(n)])


SPAWN_BATCH = 1000


@benchmark('spawn_join_batch1000', title='spawn + joinall in batches of 1000',
           op='greenlet', default=30_000, quick=6_000, ci=2_000, inner=2)
def spawn_join_batches(n, m):
    with m.timing():
        left = n
        while left > 0:
            batch = min(SPAWN_BATCH, left)
            join_all([gevent.spawn(noop) for _ in range(batch)])
            left -= batch


# --------------------------------------------------------------------------
# switching

def sleep0_loop(count):
    sleep = gevent.sleep
    for _ in range(count):
        sleep(0)


def sleep0_switching(n, m, greenlets):
    per = split(n, greenlets)
    with m.timing():
        join_all(spawn_all(sleep0_loop, [(per,)] * greenlets))


@benchmark('sleep0_2_greenlets', title='sleep(0) switching between 2 greenlets',
           op='sleep(0)', default=200_000, quick=40_000, ci=4_000)
def sleep0_2(n, m):
    sleep0_switching(n, m, 2)


@benchmark('sleep0_100_greenlets', title='sleep(0) switching between 100 greenlets',
           op='sleep(0)', default=200_000, quick=40_000, ci=4_000)
def sleep0_100(n, m):
    sleep0_switching(n, m, 100)


# --------------------------------------------------------------------------
# Event

EVENT_WAITERS = 1000


@benchmark('event_1000_waiters', title='Event.set() waking 1000 waiters, repeated',
           op='wake-up', default=100_000, quick=20_000, ci=4_000)
def event_wakeups(n, m):
    from geventc.event import Event
    rounds = split(n, EVENT_WAITERS)
    go = [Event() for _ in range(rounds)]
    done = [Event() for _ in range(rounds)]
    passed = [0] * rounds

    def waiter():
        for r in range(rounds):
            go[r].wait()
            passed[r] += 1
            if passed[r] == EVENT_WAITERS:
                done[r].set()

    waiters = spawn_all(waiter, [()] * EVENT_WAITERS)
    gevent.sleep(0)  # every waiter is now blocked on go[0]
    with m.timing():
        for r in range(rounds):
            go[r].set()
            done[r].wait()
    join_all(waiters)


# --------------------------------------------------------------------------
# Timeout

@benchmark('timeout_start_cancel', title='t = Timeout(10); t.start(); t.cancel()',
           op='timeout', default=150_000, quick=30_000, ci=5_000)
def timeout_start_cancel(n, m):
    Timeout = gevent.Timeout
    with m.timing():
        for _ in range(n):
            t = Timeout(10)
            t.start()
            t.cancel()


@benchmark('timeout_with', title='with Timeout(10): pass',
           op='timeout', default=150_000, quick=30_000, ci=5_000)
def timeout_with(n, m):
    Timeout = gevent.Timeout
    with m.timing():
        for _ in range(n):
            with Timeout(10):
                pass


# --------------------------------------------------------------------------
# queues

@benchmark('queue_put_get', title='unbounded Queue: put(x); get() in one greenlet',
           op='put+get', default=1_000_000, quick=200_000, ci=5_000)
def queue_put_get(n, m):
    with feature():
        from geventc.queue import Queue
    q = Queue()
    put, get = q.put, q.get
    with m.timing():
        for i in range(n):
            put(i)
            get()


@benchmark('queue1_pingpong', title='Queue(1) ping-pong between 2 greenlets',
           op='round trip', default=50_000, quick=10_000, ci=2_000)
def queue_pingpong(n, m):
    with feature():
        from geventc.queue import Queue
    ping, pong = Queue(1), Queue(1)

    def echo():
        for _ in range(n):
            pong.put(ping.get())

    echoer = gevent.spawn(echo)
    with m.timing():
        for i in range(n):
            ping.put(i)
            pong.get()
    join_all([echoer])


# --------------------------------------------------------------------------
# locks

@benchmark('semaphore_uncontended', title='Semaphore(1): acquire(); release()',
           op='acquire+release', default=1_000_000, quick=200_000, ci=10_000)
def semaphore_uncontended(n, m):
    with feature():
        from geventc.lock import Semaphore
    acquire_release(Semaphore(1), n, m)


SEMAPHORE_WORKERS = 10


@benchmark('semaphore_contended', title='Semaphore(1) shared by 10 greenlets, sleep(0) while held',
           op='acquire+release', default=100_000, quick=20_000, ci=2_000)
def semaphore_contended(n, m):
    with feature():
        from geventc.lock import Semaphore
    sem = Semaphore(1)
    sleep = gevent.sleep

    def worker(count):
        for _ in range(count):
            with sem:
                sleep(0)

    per = split(n, SEMAPHORE_WORKERS)
    with m.timing():
        join_all(spawn_all(worker, [(per,)] * SEMAPHORE_WORKERS))


@benchmark('lock_uncontended', title='thread.allocate_lock() (= patched threading.Lock): acquire(); release()',
           op='acquire+release', default=1_000_000, quick=200_000, ci=10_000)
def lock_uncontended(n, m):
    with feature():
        from geventc.thread import allocate_lock
    acquire_release(allocate_lock(), n, m)


@benchmark('rlock_uncontended', title='lock.RLock: acquire(); release()',
           op='acquire+release', default=600_000, quick=120_000, ci=5_000)
def rlock_uncontended(n, m):
    with feature():
        from geventc.lock import RLock
    acquire_release(RLock(), n, m)


def acquire_release(lock, n, m):
    acquire, release = lock.acquire, lock.release
    with m.timing():
        for _ in range(n):
            acquire()
            release()


# --------------------------------------------------------------------------
# greenlet-local storage

@benchmark('local_getset', title='local.local(): set attribute, get attribute',
           op='set+get', default=1_000_000, quick=200_000, ci=10_000)
def local_getset(n, m):
    with feature():
        from geventc.local import local
    loc = local()
    with m.timing():
        for i in range(n):
            loc.value = i
            loc.value


# --------------------------------------------------------------------------
# network

ECHO_CLIENTS = 100
ECHO_MESSAGE = b'x' * 64


def recv_exactly(sock, size):
    data = b''
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError('peer closed the connection')
        data += chunk
    return data


def echo_handler(conn):
    with conn:
        while True:
            data = conn.recv(4096)
            if not data:
                return
            conn.sendall(data)


class LoopbackServer:
    """A cooperative accept loop on 127.0.0.1:<ephemeral> spawning ``handler(conn)``."""

    def __init__(self, gsocket, handler):
        self.listener = gsocket.socket(gsocket.AF_INET, gsocket.SOCK_STREAM)
        self.listener.setsockopt(gsocket.SOL_SOCKET, gsocket.SO_REUSEADDR, 1)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(1024)
        self.address = self.listener.getsockname()
        self.handlers = []
        self.acceptor = gevent.spawn(self.accept_loop, handler)

    def accept_loop(self, handler):
        while True:
            conn, _ = self.listener.accept()
            self.handlers.append(gevent.spawn(handler, conn))

    def close(self):
        self.acceptor.kill()
        self.listener.close()
        join_all(self.handlers)


@benchmark('socket_echo_100_clients', title='TCP echo over loopback, 100 concurrent clients, 64 B messages',
           op='round trip', default=20_000, quick=5_000, inner=2)
def socket_echo(n, m):
    with feature():
        from geventc import socket as gsocket
    server = LoopbackServer(gsocket, echo_handler)
    clients = [gsocket.create_connection(server.address) for _ in range(ECHO_CLIENTS)]

    def client(sock, count):
        for _ in range(count):
            sock.sendall(ECHO_MESSAGE)
            recv_exactly(sock, len(ECHO_MESSAGE))

    per = split(n, ECHO_CLIENTS)
    with m.timing():
        join_all(spawn_all(client, [(sock, per) for sock in clients]))
    for sock in clients:
        sock.close()
    server.close()


HTTP_CLIENTS = 10
HTTP_REQUEST = b'GET / HTTP/1.1\r\nHost: bench\r\n\r\n'
HTTP_BODY = b'Hello, World!'


def hello_app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(HTTP_BODY)))])
    return [HTTP_BODY]


def read_http_response(sock, buf):
    """Read one keep-alive response; return (body, bytes already read beyond it)."""
    while b'\r\n\r\n' not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError('server closed the connection')
        buf += chunk
    head, _, rest = buf.partition(b'\r\n\r\n')
    if not head.startswith(b'HTTP/1.1 200'):
        raise AssertionError('bad response: %r' % head[:80])
    length = content_length(head)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError('server closed the connection')
        rest += chunk
    return rest[:length], rest[length:]


def content_length(head):
    for line in head.split(b'\r\n')[1:]:
        name, _, value = line.partition(b':')
        if name.strip().lower() == b'content-length':
            return int(value)
    raise AssertionError('response without Content-Length')


def nodelay_listener(gsocket):
    """A listening socket whose accepted connections inherit TCP_NODELAY.

    pywsgi sends the headers and the body in two writes; with Nagle on, the
    body would wait for the client's delayed ACK (~40 ms) and the benchmark
    would measure the kernel's timers instead of the server.
    """
    sock = gsocket.socket(gsocket.AF_INET, gsocket.SOCK_STREAM)
    sock.setsockopt(gsocket.SOL_SOCKET, gsocket.SO_REUSEADDR, 1)
    sock.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
    sock.bind(('127.0.0.1', 0))
    sock.listen(1024)
    return sock


@benchmark('http_pywsgi_keepalive', title='pywsgi.WSGIServer, 10 keep-alive clients (raw sockets)',
           op='request', default=3_000, quick=1_000, inner=2)
def http_requests(n, m):
    with feature():
        from geventc import socket as gsocket
        from geventc.pywsgi import WSGIServer
    server = WSGIServer(nodelay_listener(gsocket), hello_app, log=None)
    server.start()
    clients = [gsocket.create_connection(server.address) for _ in range(HTTP_CLIENTS)]

    def client(sock, count):
        buf = b''
        for _ in range(count):
            sock.sendall(HTTP_REQUEST)
            body, buf = read_http_response(sock, buf)
            if body != HTTP_BODY:
                raise AssertionError('bad body %r' % body)

    per = split(n, HTTP_CLIENTS)
    with m.timing():
        join_all(spawn_all(client, [(sock, per) for sock in clients]))
    for sock in clients:
        sock.close()
    server.stop(timeout=5)


def stream_echo(sock, address):  # noqa: ARG001
    recv, sendall = sock.recv, sock.sendall
    while True:
        data = recv(4096)
        if not data:
            return
        sendall(data)


@benchmark('streamserver_echo_100_clients',
           title='server.StreamServer echo over loopback, 100 concurrent clients, 64 B messages',
           op='round trip', default=20_000, quick=5_000, inner=2)
def streamserver_echo(n, m):
    """socket_echo_100_clients with the server side written as a StreamServer
    handler: the accept loop, spawn and close are the server's."""
    with feature():
        from geventc import socket as gsocket
        from geventc.server import StreamServer
    server = StreamServer(('127.0.0.1', 0), stream_echo, backlog=1024)
    server.start()
    clients = [gsocket.create_connection(('127.0.0.1', server.server_port))
               for _ in range(ECHO_CLIENTS)]

    def client(sock, count):
        for _ in range(count):
            sock.sendall(ECHO_MESSAGE)
            recv_exactly(sock, len(ECHO_MESSAGE))

    per = split(n, ECHO_CLIENTS)
    with m.timing():
        join_all(spawn_all(client, [(sock, per) for sock in clients]))
    for sock in clients:
        sock.close()
    server.stop(timeout=5)


@benchmark('http_pywsgi_keepalive_1_client',
           title='pywsgi.WSGIServer, one keep-alive raw-socket client, request after request',
           op='request', default=5_000, quick=1_000, ci=300)
def http_requests_one_client(n, m):
    """One request/response cycle: a single client, so that the order of
    events (and the instruction count under callgrind) repeats exactly."""
    with feature():
        from geventc import socket as gsocket
        from geventc.pywsgi import WSGIServer
    server = WSGIServer(nodelay_listener(gsocket), hello_app, log=None)
    server.start()
    sock = gsocket.create_connection(server.address)
    buf = b''
    with m.timing():
        for _ in range(n):
            sock.sendall(HTTP_REQUEST)
            body, buf = read_http_response(sock, buf)
            if body != HTTP_BODY:
                raise AssertionError('bad body %r' % body)
    sock.close()
    server.stop(timeout=5)


#: A Chrome request for a script: 14 header lines, a cookie, 632 bytes.
HTTP_BROWSER_REQUEST = (
    b'GET /static/app/main.js?v=1234567 HTTP/1.1\r\n'
    b'Host: www.example.com\r\n'
    b'Connection: keep-alive\r\n'
    b'sec-ch-ua: "Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"\r\n'
    b'sec-ch-ua-mobile: ?0\r\n'
    b'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) '
    b'Chrome/124.0.0.0 Safari/537.36\r\n'
    b'sec-ch-ua-platform: "Linux"\r\n'
    b'Accept: */*\r\n'
    b'Sec-Fetch-Site: same-origin\r\n'
    b'Sec-Fetch-Mode: no-cors\r\n'
    b'Sec-Fetch-Dest: script\r\n'
    b'Referer: https://www.example.com/\r\n'
    b'Accept-Encoding: gzip, deflate, br, zstd\r\n'
    b'Accept-Language: en-US,en;q=0.9\r\n'
    b'Cookie: session=0123456789abcdef0123456789abcdef; theme=dark; _ga=GA1.1.123456789.1700000000\r\n'
    b'\r\n')


@benchmark('http_parse_browser_get',
           title='geventc._http: a browser GET (14 headers) parsed into a WSGI environ',
           op='request', default=200_000, quick=50_000, ci=3_000)
def http_parse_browser(n, m):
    """The compiled parser alone, bytes to environ entries, as pywsgi uses it.
    geventc only: gevent's parser is pywsgi's pure Python, with nothing of
    this shape to call, so the gevent column is n/a (perf/http_parse.py
    compares the two, and httptools)."""
    with feature():
        from geventc._http import RequestParser
        parser = RequestParser()
        parse = parser.parse
        parse(HTTP_BROWSER_REQUEST).environ_into({})
    raw = HTTP_BROWSER_REQUEST
    with m.timing():
        for _ in range(n):
            parse(raw).environ_into({})


# --------------------------------------------------------------------------
# thread pool and resolver

@benchmark('threadpool_apply', title='get_hub().threadpool.apply(f): round trip to a worker thread',
           op='apply', default=20_000, quick=4_000, ci=500)
def threadpool_apply(n, m):
    apply = gevent.get_hub().threadpool.apply
    apply(noop)  # the worker thread exists before the timing starts
    with m.timing():
        for _ in range(n):
            apply(noop)


THREADPOOL_GREENLETS = 10


@benchmark('threadpool_apply_10_greenlets', title='threadpool.apply(f) from 10 greenlets at once',
           op='apply', default=40_000, quick=8_000)
def threadpool_apply_concurrent(n, m):
    apply = gevent.get_hub().threadpool.apply

    def worker(count):
        for _ in range(count):
            apply(noop)

    per = split(n, THREADPOOL_GREENLETS)
    join_all(spawn_all(worker, [(1,)] * THREADPOOL_GREENLETS))  # start the threads
    with m.timing():
        join_all(spawn_all(worker, [(per,)] * THREADPOOL_GREENLETS))


# --------------------------------------------------------------------------
# child processes

@benchmark('subprocess_run_true', title="subprocess.run(['true']): start, wait, reap",
           op='run', default=400, quick=100)
def subprocess_run_true(n, m):
    with feature():
        from geventc.subprocess import run
    run(['true'])
    with m.timing():
        for _ in range(n):
            run(['true'])


@benchmark('subprocess_check_output', title="subprocess.check_output(['echo', 'x']): one pipe read to its end",
           op='run', default=300, quick=80)
def subprocess_check_output(n, m):
    with feature():
        from geventc.subprocess import check_output
    check_output(['echo', 'x'])
    with m.timing():
        for _ in range(n):
            check_output(['echo', 'x'])


@benchmark('subprocess_communicate_1mb', title='Popen(cat).communicate(1 MB): both pipes, in greenlets',
           op='run', default=100, quick=30)
def subprocess_communicate(n, m):
    with feature():
        from geventc.subprocess import Popen, PIPE
    data = b'x' * (1 << 20)
    with m.timing():
        for _ in range(n):
            out, _ = Popen(['cat'], stdin=PIPE, stdout=PIPE, stderr=PIPE).communicate(data)
            assert len(out) == len(data)


@benchmark('resolver_getaddrinfo_localhost', title="thread resolver: getaddrinfo('localhost', 80)",
           op='lookup', default=10_000, quick=2_000)
def resolver_getaddrinfo(n, m):
    getaddrinfo = gevent.get_hub().resolver.getaddrinfo
    getaddrinfo('localhost', 80)
    with m.timing():
        for _ in range(n):
            getaddrinfo('localhost', 80)


# --------------------------------------------------------------------------
# file objects

MIB = 1024 * 1024
PIPE_BLOCK = 64 * 1024


def pipe_transfer(n, m, write_size, reader):
    """n MiB from a writer greenlet to ``reader(fileobject)`` through a pipe,
    FileObjectPosix at both ends; only the transfer is timed."""
    with feature():
        from geventc.fileobject import FileObjectPosix
    total = n * MIB
    block = b'x' * write_size
    r, w = os.pipe()
    source = FileObjectPosix(r, 'rb')
    sink = FileObjectPosix(w, 'wb')

    def writer():
        write = sink.write
        for _ in range(total // write_size):
            write(block)
        sink.close()

    with m.timing():
        feeder = gevent.spawn(writer)
        received = reader(source)
        join_all([feeder])
    source.close()
    if received != total:
        raise AssertionError('received %d bytes of %d' % (received, total))


def read_blocks(source, size=PIPE_BLOCK):
    read = source.read
    received = 0
    while True:
        data = read(size)
        if not data:
            return received
        received += len(data)


@benchmark('fileobject_pipe_64k', title='FileObjectPosix pipe, 64 KiB write()s and read(65536)s, 100 MiB',
           op='MiB', default=100, quick=20, ci=4)
def fileobject_pipe_blocks(n, m):
    pipe_transfer(n, m, PIPE_BLOCK, read_blocks)


@benchmark('fileobject_pipe_8k', title='FileObjectPosix pipe, 8 KiB write()s and read(8192)s, 100 MiB',
           op='MiB', default=100, quick=20)
def fileobject_pipe_small_blocks(n, m):
    pipe_transfer(n, m, 8 * 1024, functools.partial(read_blocks, size=8 * 1024))


@benchmark('fileobject_pipe_readall', title='new pipe, one 1 MiB write(), close, read() to EOF (as communicate())',
           op='pipe', default=300, quick=60)
def fileobject_pipe_readall(n, m):
    with feature():
        from geventc.fileobject import FileObjectPosix
    block = b'x' * MIB

    def feed(sink):
        sink.write(block)
        sink.close()

    with m.timing():
        for _ in range(n):
            r, w = os.pipe()
            source = FileObjectPosix(r, 'rb')
            feeder = gevent.spawn(feed, FileObjectPosix(w, 'wb'))
            received = len(source.read())
            source.close()
            feeder.join()
            if received != MIB:
                raise AssertionError('received %d bytes of %d' % (received, MIB))


# --------------------------------------------------------------------------
# start-up costs, each measured in a fresh child process

CHILD_TEMPLATE = textwrap.dedent('''\
    import sys, time
    sys.path.insert(0, {perf_dir!r})
    import _alias
    _alias.select({impl!r})
    {setup}
    start = time.perf_counter()
    {timed}
    print(repr(time.perf_counter() - start))
''')


def child_seconds(setup, timed):
    """Run ``timed`` after ``setup`` in a fresh interpreter; return its duration."""
    code = CHILD_TEMPLATE.format(perf_dir=PERF_DIR, impl=_alias.current,
                                 setup=setup, timed=timed)
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError('child failed: %s' % proc.stderr.strip()[-2000:])
    return float(proc.stdout.strip().splitlines()[-1])


def child_benchmark(n, m, setup, timed):
    """Start n children; the result per op is the best child.

    Start-up times have a long tail (page cache, a busy core), and the harness
    divides by n, hence min * n.
    """
    m.record(min(child_seconds(setup, timed) for _ in range(n)) * n)


@benchmark('import_time', title='import geventc (fresh process, best of n)',
           op='import', default=8, quick=3, inner=1)
def import_time(n, m):
    child_benchmark(n, m, 'pass', 'import geventc')


@benchmark('patch_all_time', title='monkey.patch_all() (fresh process after `from geventc import monkey`, best of n)',
           op='patch_all', default=5, quick=2, inner=1)
def patch_all_time(n, m):
    with feature():
        import geventc.monkey  # noqa: F401  (only to report n/a early)
    child_benchmark(n, m, 'from geventc import monkey', 'monkey.patch_all()')


# --------------------------------------------------------------------------
# memory

def rss_bytes():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


@benchmark('memory_blocked_greenlet', title='RSS per greenlet blocked on an Event (10k)',
           op='greenlet', unit='B', default=10_000, quick=10_000, ci=10_000, inner=1, warmup=0.01)
def memory_blocked(n, m):
    from geventc.event import Event
    event = Event()
    gevent.sleep(0)
    gc.collect()
    before = rss_bytes()
    blocked = spawn_all(event.wait, [()] * n)
    gevent.sleep(0)  # every greenlet has started and is blocked in wait()
    gc.collect()
    m.record(rss_bytes() - before)
    event.set()
    join_all(blocked)


@benchmark('echo_rss_1000_connections',
           title='loopback echo, 50 x 120 B per connection, recv(65536): peak RSS per connection (1000)',
           op='connection', unit='B', default=1000, quick=1000, ci=1000, inner=1, warmup=0.01)
def echo_rss(n, m):
    """The small variant of echo_scale.py, in one process: every greenlet
    blocked in recv(65536) must cost its stack and objects, not 64 KiB."""
    with feature():
        from geventc import socket  # noqa: F401
    import _echo
    _echo.raise_fd_limit(2 * n + _echo.FD_MARGIN)
    result = _echo.run_both(n, _echo.DEFAULT_BUFSIZE)
    m.record(result['peak_rss'] - result['base_rss'])
