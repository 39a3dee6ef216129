"""The loopback echo at scale, shared by echo_scale.py and benchmarks.py.

N client greenlets each exchange MESSAGES messages of MESSAGE_SIZE bytes with
N handler greenlets: the client ``sendall``s one message and reads the echo
with ``recv(bufsize)`` before it sends the next; the handler ``recv(bufsize)``s
and ``sendall``s what it got until EOF.  So at any moment almost all 2N
greenlets are blocked in ``recv(bufsize)``: the workload shows what a
greenlet waiting for data costs.  Every echoed message is compared with the
one sent (it names its connection and sequence number), so a lost, duplicated,
reordered or misdirected byte fails the run.

Written against ``import geventc as gevent``; the caller selects the
implementation first (perf/_alias.py).  Memory is the peak resident set of the
process during the run (VmHWM after resetting it through /proc/self/clear_refs).
"""
import os
import resource
import time

import geventc as gevent
from geventc import socket as gsocket
from geventc.event import Event

MESSAGE_SIZE = 120
MESSAGES = 50
DEFAULT_BUFSIZE = 65536
#: Descriptors a worker needs besides its connections (listener, epoll, stdio, ...).
FD_MARGIN = 64


class EchoError(Exception):
    """An echoed message differed from the one sent, or a peer vanished."""


def message(conn_id, seq):
    head = b'%d:%d:' % (conn_id, seq)
    return head + b'.' * (MESSAGE_SIZE - len(head))


# --------------------------------------------------------------------------
# process-level measurements

def raise_fd_limit(needed):
    """Raise RLIMIT_NOFILE's soft limit to the hard limit; fail early if short."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        raise SystemExit('%d connections need %d descriptors here; the hard limit '
                         '(RLIMIT_NOFILE) is %d' % (needed - FD_MARGIN, needed, target))


def fd_hard_limit():
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def _status_kb(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    raise RuntimeError('no %s in /proc/self/status' % field)


def current_rss():
    return _status_kb('VmRSS')


def reset_peak_rss():
    """Start a new peak: VmHWM becomes the current RSS (Linux >= 4.0)."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def peak_rss():
    return _status_kb('VmHWM')


# --------------------------------------------------------------------------
# the two sides

def handler(conn, bufsize):
    recv, sendall = conn.recv, conn.sendall
    try:
        while True:
            data = recv(bufsize)
            if not data:
                return
            sendall(data)
    finally:
        conn.close()


class Server:
    """Accepts ``expected`` connections on 127.0.0.1, one handler greenlet each."""

    def __init__(self, expected, bufsize):
        self.expected = expected
        self.bufsize = bufsize
        self.listener = gsocket.socket(gsocket.AF_INET, gsocket.SOCK_STREAM)
        self.listener.setsockopt(gsocket.SOL_SOCKET, gsocket.SO_REUSEADDR, 1)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(min(expected, 4096) or 1)
        self.port = self.listener.getsockname()[1]
        self.all_accepted = Event()
        self.handlers = []
        self.acceptor = gevent.spawn(self._accept_all)

    def _accept_all(self):
        spawn, accept, bufsize = gevent.spawn, self.listener.accept, self.bufsize
        while len(self.handlers) < self.expected:
            conn, _ = accept()
            self.handlers.append(spawn(handler, conn, bufsize))
        self.all_accepted.set()
        self.listener.close()

    def wait_done(self):
        self.all_accepted.wait()
        gevent.joinall(self.handlers, raise_error=True)


def connect_all(port, count):
    socks = []
    try:
        for _ in range(count):
            sock = gsocket.socket(gsocket.AF_INET, gsocket.SOCK_STREAM)
            socks.append(sock)
            sock.connect(('127.0.0.1', port))
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


def client(sock, conn_id, bufsize, start):
    """Exchange MESSAGES messages; return the number of bytes verified."""
    recv, sendall = sock.recv, sock.sendall
    verified = 0
    start.wait()
    try:
        for seq in range(MESSAGES):
            sent = message(conn_id, seq)
            sendall(sent)
            got = recv(bufsize)
            while len(got) < MESSAGE_SIZE:
                more = recv(bufsize)
                if not more:
                    raise EchoError('connection %d: EOF after %d bytes of message %d'
                                    % (conn_id, len(got), seq))
                got += more
            if got != sent:
                raise EchoError('connection %d, message %d: sent %r..., got %r...'
                                % (conn_id, seq, sent[:24], got[:24]))
            verified += len(got)
    finally:
        sock.close()
    return verified


def exchange(socks, bufsize, first_id=0):
    """Run every client at once; return (seconds, bytes verified)."""
    start = Event()
    clients = [gevent.spawn(client, sock, first_id + i, bufsize, start)
               for i, sock in enumerate(socks)]
    gevent.sleep(0)          # every client is waiting for the start
    began = time.perf_counter()
    start.set()
    gevent.joinall(clients, raise_error=True)
    elapsed = time.perf_counter() - began
    return elapsed, sum(g.value for g in clients)


# --------------------------------------------------------------------------
# one process doing both sides, or one side

def run_both(connections, bufsize):
    """Server and clients in this process: a dict of measurements."""
    server = Server(connections, bufsize)
    gevent.sleep(0)
    base = current_rss()
    peak_reset = reset_peak_rss()
    socks = connect_all(server.port, connections)
    server.all_accepted.wait()
    elapsed, verified = exchange(socks, bufsize)
    server.wait_done()
    return result(connections, bufsize, base, peak_reset, elapsed, verified)


def result(connections, bufsize, base, peak_reset, elapsed=None, verified=None):
    peak = peak_rss()
    out = {'connections': connections, 'bufsize': bufsize, 'messages': MESSAGES,
           'message_size': MESSAGE_SIZE, 'base_rss': base, 'peak_rss': peak,
           'peak_reset': peak_reset, 'pid': os.getpid()}
    if elapsed is not None:
        expected = connections * MESSAGES * MESSAGE_SIZE
        if verified != expected:
            raise EchoError('verified %d bytes, expected %d' % (verified, expected))
        out.update(seconds=elapsed, verified=verified,
                   msgs_per_s=connections * MESSAGES / elapsed)
    return out
