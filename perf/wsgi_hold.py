#!/usr/bin/env python
"""10,000 concurrent keep-alive connections to pywsgi, held with no error.

    .venv/bin/python perf/wsgi_hold.py                       # 10,000 connections, geventc then gevent
    .venv/bin/python perf/wsgi_hold.py -c 2000 --impl geventc --hold 5
    .venv/bin/python perf/wsgi_hold.py --json perf/results/hold.json

The server (``pywsgi.WSGIServer``, a hello-world application, handlers in
a ``Pool``, logging counted not printed) runs in a child process, on
127.0.0.1, with geventc or with gevent 26.9.0 (through perf/_alias.py).
This process is the clients, on geventc's cooperative sockets:

1. open N connections (at most ``--parallel`` connecting at once), each
   sending one request and reading its response on the kept-alive
   connection;
2. with all N open, every connection sends a second request at once (the
   round's requests per second are reported);
3. all N stay idle for ``--hold`` seconds, then a third round;
4. all close; the server must let every handler go.

Any failed connect, short or wrong response, or connection closed by the
server counts as an error (by kind, in the report): the run's result is
``errors: 0``. The server reports through ``GET /_stats`` on a connection
of its own: its RSS (VmRSS; VmHWM for the peak), descriptors, live
handlers, requests served and lines written to its error log. RSS per
connection is (RSS with N held - RSS before the first) / N.

Both processes raise RLIMIT_NOFILE's soft limit to the hard limit (N
connections need N descriptors on each side).
"""
import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FD_MARGIN = 64
HELLO = b'Hello, World!'


def raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        raise SystemExit('%d descriptors needed; the hard RLIMIT_NOFILE is %d' % (needed, target))


def status_bytes(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    raise RuntimeError('no %s in /proc/self/status' % field)


# --------------------------------------------------------------------------
# the server process

class CountingLog(object):
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


def serve(args):
    sys.path.insert(0, HERE)
    import _alias
    _alias.select(args.impl)
    raise_fd_limit(args.connections + FD_MARGIN)
    import geventc
    from geventc import pywsgi
    from geventc.event import Event
    from geventc.pool import Pool

    pool = Pool()
    error_log = CountingLog()
    served = [0]
    done = Event()

    def app(environ, start_response):
        path = environ['PATH_INFO']
        if path == '/_stats':
            gc.collect()
            body = json.dumps({
                'rss': status_bytes('VmRSS'), 'peak_rss': status_bytes('VmHWM'),
                'fds': len(os.listdir('/proc/self/fd')), 'handlers': len(pool),
                'requests': served[0], 'logged_lines': error_log.lines,
                'logged': ''.join(error_log.first)[:2000]}).encode('ascii')
        else:
            if path == '/_quit':
                done.set()
            else:
                served[0] += 1
            body = HELLO
        start_response('200 OK', [('Content-Type', 'text/plain'),
                                  ('Content-Length', str(len(body)))])
        return [body]

    server = pywsgi.WSGIServer(('127.0.0.1', 0), app, spawn=pool, backlog=4096,
                               log=None, error_log=error_log)
    server.start()
    print(json.dumps({'port': server.server_port, 'module': geventc.__file__}), flush=True)
    done.wait(timeout=args.timeout)
    server.stop(timeout=1)


# --------------------------------------------------------------------------
# the clients (this process)

def request(path, close=False):
    return ('GET %s HTTP/1.1\r\nHost: hold\r\n%s\r\n'
            % (path, 'Connection: close\r\n' if close else '')).encode('ascii')


def read_response(sock):
    buf = b''
    while b'\r\n\r\n' not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError('closed by the server before a response')
        buf += chunk
    head, _, body = buf.partition(b'\r\n\r\n')
    if not head.startswith(b'HTTP/1.1 200 '):
        raise ValueError('bad status %r' % head[:40])
    length = None
    for line in head.split(b'\r\n')[1:]:
        name, _, value = line.partition(b':')
        if name.strip().lower() == b'content-length':
            length = int(value)
    if length is None:
        raise ValueError('no Content-Length')
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError('closed by the server in a response body')
        body += chunk
    if len(body) != length:
        raise ValueError('more than the response on a keep-alive connection')
    return body


class Clients(object):
    def __init__(self, port):
        import geventc
        from geventc import socket
        self.geventc = geventc
        self.socket = socket
        self.address = ('127.0.0.1', port)
        self.socks = []
        self.errors = {}

    def error(self, ex):
        key = type(ex).__name__ + (': %s' % ex if not isinstance(ex, OSError) else '')
        self.errors[key] = self.errors.get(key, 0) + 1

    def stats(self):
        with self.socket.create_connection(self.address, timeout=30) as sock:
            sock.sendall(request('/_stats', close=True))
            return json.loads(read_response(sock))

    def quit(self):
        with self.socket.create_connection(self.address, timeout=30) as sock:
            sock.sendall(request('/_quit', close=True))
            read_response(sock)

    def _open_one(self):
        try:
            sock = self.socket.create_connection(self.address, timeout=60)
        except OSError as ex:
            self.error(ex)
            return
        self.socks.append(sock)
        self._ask(sock)

    def _ask(self, sock):
        try:
            sock.sendall(request('/'))
            if read_response(sock) != HELLO:
                raise ValueError('wrong body')
            return True
        except (OSError, ValueError) as ex:
            self.error(ex)
            return False

    def open(self, count, parallel):
        from geventc.pool import Pool
        pool = Pool(parallel)
        for _ in range(count):
            pool.spawn(self._open_one)
        pool.join()

    def round(self):
        """Every open connection asks once, all at once: (seconds, answered)."""
        start = time.perf_counter()
        greenlets = [self.geventc.spawn(self._ask, sock) for sock in self.socks]
        self.geventc.joinall(greenlets)
        return time.perf_counter() - start, sum(1 for g in greenlets if g.value)

    def close(self):
        for sock in self.socks:
            sock.close()
        self.socks = []


def run_one(impl, args):
    """One server process: the measurements, as a dict."""
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), '--serve', impl,
                              '-c', str(args.connections), '--timeout', str(args.timeout)],
                             stdout=subprocess.PIPE, text=True)
    try:
        hello = json.loads(child.stdout.readline())
        clients = Clients(hello['port'])
        n = args.connections
        out = {'impl': impl, 'connections': n, 'server_module': hello['module']}
        before = clients.stats()
        client_rss_before = status_bytes('VmRSS')

        start = time.perf_counter()
        clients.open(n, args.parallel)
        out['open_seconds'] = time.perf_counter() - start
        out['open'] = len(clients.socks)

        held = clients.stats()
        seconds, answered = clients.round()
        out['round2_rps'] = answered / seconds if seconds else None
        out['round2_answered'] = answered
        clients.geventc.sleep(args.hold)
        seconds, answered = clients.round()
        out['round3_rps'] = answered / seconds if seconds else None
        out['round3_answered'] = answered
        out['client_rss_per_conn'] = (status_bytes('VmRSS') - client_rss_before) / max(1, n)
        after_rounds = clients.stats()

        clients.close()
        deadline = time.monotonic() + 30
        while True:
            closed = clients.stats()
            if closed['handlers'] <= 1 or time.monotonic() > deadline:
                break
            clients.geventc.sleep(0.1)
        clients.quit()
        child.wait(timeout=30)

        out.update(
            errors=sum(clients.errors.values()), error_kinds=clients.errors,
            server_rss_before=before['rss'], server_rss_held=held['rss'],
            server_rss_after_rounds=after_rounds['rss'], server_rss_closed=closed['rss'],
            server_peak_rss=closed['peak_rss'],
            server_rss_per_conn=(held['rss'] - before['rss']) / n,
            # The /_stats request's own connection is one of the handlers.
            handlers_held=held['handlers'] - 1, handlers_after_close=closed['handlers'] - 1,
            fds_before=before['fds'], fds_held=held['fds'], fds_closed=closed['fds'],
            requests=closed['requests'], server_logged_lines=closed['logged_lines'],
            server_logged=closed['logged'])
        # Held with no error: every connection answered three times and was
        # still open for the server while the others were.
        out['ok'] = (out['errors'] == 0 and out['open'] == n and out['handlers_held'] == n
                     and out['round2_answered'] == n and out['round3_answered'] == n
                     and out['requests'] == 3 * n and out['handlers_after_close'] == 0)
        return out
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def report(results):
    rows = [
        ('connections held', lambda r: '%d / %d' % (r['handlers_held'], r['connections'])),
        ('errors', lambda r: '%d %s' % (r['errors'], r['error_kinds'] or '')),
        ('requests served', lambda r: '%d' % r['requests']),
        ('open (connect + 1st request)', lambda r: '%.2f s' % r['open_seconds']),
        ('round, all at once', lambda r: '%.0f req/s' % r['round2_rps']),
        ('round after --hold', lambda r: '%.0f req/s' % r['round3_rps']),
        ('server RSS before', lambda r: '%.1f MiB' % (r['server_rss_before'] / 2.0 ** 20)),
        ('server RSS, N held', lambda r: '%.1f MiB' % (r['server_rss_held'] / 2.0 ** 20)),
        ('server RSS / connection', lambda r: '%.0f B' % r['server_rss_per_conn']),
        ('server RSS after close', lambda r: '%.1f MiB' % (r['server_rss_closed'] / 2.0 ** 20)),
        ('server peak RSS', lambda r: '%.1f MiB' % (r['server_peak_rss'] / 2.0 ** 20)),
        ('server fds before/held/closed', lambda r: '%d / %d / %d' % (
            r['fds_before'], r['fds_held'], r['fds_closed'])),
        ('server error-log lines', lambda r: '%d' % r['server_logged_lines']),
        ('client RSS / connection', lambda r: '%.0f B' % r['client_rss_per_conn']),
        ('held with no error', lambda r: 'yes' if r['ok'] else 'NO'),
    ]
    width = max(len(name) for name, _ in rows)
    print('%-*s  %s' % (width, '', '  '.join('%-22s' % r['impl'] for r in results)))
    for name, cell in rows:
        print('%-*s  %s' % (width, name, '  '.join('%-22s' % cell(r) for r in results)))
    for r in results:
        if r['server_logged']:
            print('\n%s server error log (first lines):\n%s' % (r['impl'], r['server_logged']))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('-c', '--connections', type=int, default=10000)
    parser.add_argument('--impl', default='geventc,gevent',
                        help='server implementations, comma-separated (default: geventc,gevent)')
    parser.add_argument('--hold', type=float, default=2.0,
                        help='seconds all connections stay idle before the third round')
    parser.add_argument('--parallel', type=int, default=500,
                        help='connections being opened at once')
    parser.add_argument('--timeout', type=float, default=300,
                        help='the server process stops itself after this many seconds')
    parser.add_argument('--json', help='write the results here')
    parser.add_argument('--serve', metavar='IMPL', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        args.impl = args.serve
        return serve(args)

    sys.path.insert(0, HERE)
    import _alias
    _alias.select('geventc')        # the clients: this repository's geventc
    raise_fd_limit(args.connections + FD_MARGIN)
    results = [run_one(impl, args) for impl in args.impl.split(',')]
    report(results)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)
    return 0 if all(r['ok'] for r in results) else 1


if __name__ == '__main__':
    sys.exit(main())
