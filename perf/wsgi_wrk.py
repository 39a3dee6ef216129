"""Hello-world WSGI under wrk: geventc's pywsgi against gevent's, one run.

Each server runs alone in its own process (``python perf/wsgi_wrk.py
--serve IMPL PORT``), TCP_NODELAY on for both, logging off; wrk (one
thread, keep-alive, 100 connections by default) loads it for a few
seconds, several rounds, alternating implementations. Reported per
implementation: requests per second and the server's CPU time per request
(utime + stime of the server process over the round, from /proc), medians
over rounds, and the ratios geventc/gevent.

    .venv/bin/python perf/wsgi_wrk.py                   # 3 rounds of 5 s each
    .venv/bin/python perf/wsgi_wrk.py --rounds 5 --duration 10 --connections 100
    .venv/bin/python perf/wsgi_wrk.py --app flask      # a one-route Flask app

Needs ``wrk`` (apt-get install wrk). Loopback only.
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def hello_app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'Hello, World!']


def flask_app():
    from flask import Flask
    app = Flask(__name__)

    @app.route('/')
    def index():
        return 'Hello, World!'
    return app


def serve(impl, port, app_name, as_shipped=False):
    # A server process: the listener first (with TCP_NODELAY inherited by
    # accepted sockets), then serve until killed.
    if impl == 'gevent':
        from gevent import monkey
        monkey.patch_all()
        from gevent import pywsgi, socket as gsocket
    else:
        from geventc import monkey
        monkey.patch_all()
        from geventc import pywsgi, socket as gsocket
    app = flask_app() if app_name == 'flask' else hello_app
    listener = gsocket.socket(gsocket.AF_INET, gsocket.SOCK_STREAM)
    listener.setsockopt(gsocket.SOL_SOCKET, gsocket.SO_REUSEADDR, 1)
    if not as_shipped:
        listener.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
    listener.bind(('127.0.0.1', port))
    listener.listen(1024)
    server = pywsgi.WSGIServer(listener, app, log=None)
    print('ready', flush=True)
    server.serve_forever()


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    ticks = os.sysconf('SC_CLK_TCK')
    return (int(fields[11]) + int(fields[12])) / ticks   # utime + stime


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def one_round(impl, args):
    port = free_port()
    env = dict(os.environ, PYTHONPATH=ROOT)
    server = subprocess.Popen([sys.executable, __file__, '--serve', impl, str(port), '--app', args.app]
                              + (['--as-shipped'] if args.as_shipped else []),
                              stdout=subprocess.PIPE, env=env, cwd=ROOT, text=True)
    try:
        if server.stdout.readline().strip() != 'ready':
            raise RuntimeError('%s server did not start' % impl)
        url = 'http://127.0.0.1:%d/' % port
        # Warm up, then measure.
        subprocess.run(['wrk', '-t1', '-c%d' % args.connections, '-d1s', url],
                       capture_output=True, check=True)
        before = cpu_seconds(server.pid)
        out = subprocess.run(['wrk', '-t1', '-c%d' % args.connections, '-d%ds' % args.duration,
                              '--latency', url], capture_output=True, text=True, check=True).stdout
        cpu = cpu_seconds(server.pid) - before
    finally:
        server.kill()
        server.wait()
    requests = int(re.search(r'(\d+) requests in', out).group(1))
    errors = re.search(r'Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)', out)
    if errors:
        raise RuntimeError('%s: wrk reported errors:\n%s' % (impl, out))
    rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
    return rps, cpu / requests * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--serve', nargs=2, metavar=('IMPL', 'PORT'), help=argparse.SUPPRESS)
    parser.add_argument('--app', choices=('hello', 'flask'), default='hello')
    parser.add_argument('--as-shipped', action='store_true',
                        help='no TCP_NODELAY on the listener: each server as it ships '
                             "(geventc's pywsgi sets it per connection, gevent's does not)")
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--duration', type=int, default=5)
    parser.add_argument('--connections', type=int, default=100)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.app, args.as_shipped)
        return 0
    if shutil.which('wrk') is None:
        sys.exit('wsgi_wrk.py needs wrk (apt-get install wrk)')
    results = {'geventc': [], 'gevent': []}
    for _ in range(args.rounds):
        for impl in ('geventc', 'gevent'):
            results[impl].append(one_round(impl, args))
    print('%s app, wrk -t1 -c%d, %d rounds of %d s (medians), %s'
          % (args.app, args.connections, args.rounds, args.duration,
             'as each ships' if args.as_shipped else 'TCP_NODELAY on both'))
    print('%-8s %12s %18s' % ('impl', 'req/s', 'server CPU/req'))
    medians = {}
    for impl, rounds in results.items():
        rps = statistics.median(r[0] for r in rounds)
        cpu = statistics.median(r[1] for r in rounds)
        medians[impl] = (rps, cpu)
        print('%-8s %12.0f %15.1f µs' % (impl, rps, cpu))
    print('ratio geventc/gevent: req/s %.2fx, CPU per request %.2fx'
          % (medians['geventc'][0] / medians['gevent'][0], medians['geventc'][1] / medians['gevent'][1]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
