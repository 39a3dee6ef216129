"""Request-head parsing: geventc._http against gevent's pywsgi and httptools.

Bytes in, WSGI environ out, per request, for three requests (a curl GET, a
browser GET with a dozen headers, a form POST):

- ``gevent``: gevent 26.9.0's pure-Python path, ``read_requestline`` +
  ``read_request`` + ``get_environ`` on a WSGIHandler reading a BytesIO
  (what each request costs gevent's pywsgi before the application runs).
- ``geventc``: ``RequestParser.parse`` + ``Request.environ_into``.
- ``httptools`` (when importable): llhttp with the Python callbacks a server
  needs to get the same facts (url, headers list, keep-alive), and, as
  ``httptools+env``, building the same environ from them in Python.
  The ``parse only`` rows compare the bare parsers: httptools with
  callbacks that only collect, gevent without ``get_environ``.

Run from the repository root after an in-place build:

    .venv/bin/python perf/http_parse.py [--runs 15] [--number 20000]
    .venv/bin/python perf/http_parse.py --httptools-path /tmp/venv/lib/python3.11/site-packages

httptools is not a dependency: install it in a separate venv and point
``--httptools-path`` at that venv's site-packages (same Python version).
Prints microseconds per request (median of the runs) and the ratios
other/geventc (above 1: geventc is faster).
"""
import argparse
import io
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

REQUESTS = {
    'curl GET': (
        b'GET /index.html?x=1 HTTP/1.1\r\n'
        b'Host: localhost:8080\r\n'
        b'User-Agent: curl/8.5.0\r\n'
        b'Accept: */*\r\n'
        b'\r\n'),
    'browser GET': (
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
        b'\r\n'),
    'form POST': (
        b'POST /api/v1/items HTTP/1.1\r\n'
        b'Host: api.example.com\r\n'
        b'Content-Type: application/x-www-form-urlencoded\r\n'
        b'Content-Length: 27\r\n'
        b'Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123456789\r\n'
        b'X-Request-Id: 5f2b8c1e-8a8e-4c1b-9a55-1b2c3d4e5f60\r\n'
        b'\r\n'
        b'name=widget&color=blue&n=42'),   # the body: httptools parses it too
}


def make_geventc():
    from geventc._http import RequestParser
    parser = RequestParser()

    def parse_env(raw):
        req = parser.parse(raw)
        env = {}
        req.environ_into(env)
        return env

    def parse_only(raw):
        return parser.parse(raw)
    return parse_env, parse_only


def make_gevent():
    from gevent import pywsgi

    class Server(object):
        def get_environ(self):
            return {}
    server = Server()

    def handler_for(raw):
        h = pywsgi.WSGIHandler.__new__(pywsgi.WSGIHandler)
        h.rfile = io.BytesIO(raw)
        h.socket = None
        h.client_address = ('127.0.0.1', 50000)
        h.server = server
        return h

    def parse_env(raw):
        h = handler_for(raw)
        h.read_request(h.read_requestline())
        return h.get_environ()

    def parse_only(raw):
        h = handler_for(raw)
        h.read_request(h.read_requestline())
        return h
    return parse_env, parse_only


def make_httptools():
    import httptools
    from urllib.parse import unquote

    class Protocol(object):
        # What a server has to collect from llhttp's callbacks.
        __slots__ = ('url', 'headers', 'complete')

        def __init__(self):
            self.url = None
            self.headers = []
            self.complete = False

        def on_url(self, url):
            self.url = url

        def on_header(self, name, value):
            self.headers.append((name, value))

        def on_headers_complete(self):
            self.complete = True

    proto = Protocol()
    parser = httptools.HttpRequestParser(proto)

    def parse_only(raw):
        proto.headers = []
        parser.feed_data(raw)
        return proto

    def parse_env(raw):
        parse_only(raw)
        url = httptools.parse_url(proto.url)
        env = {
            'REQUEST_METHOD': parser.get_method().decode('ascii'),
            'PATH_INFO': unquote(url.path.decode('latin-1'), encoding='latin-1'),
            'QUERY_STRING': url.query.decode('latin-1') if url.query else '',
            'SERVER_PROTOCOL': 'HTTP/' + parser.get_http_version(),
        }
        parser.should_keep_alive()
        for name, value in proto.headers:
            key = name.decode('latin-1').upper().replace('-', '_')
            value = value.decode('latin-1')
            if '_' in name.decode('latin-1'):
                continue
            if key == 'CONTENT_TYPE' or key == 'CONTENT_LENGTH':
                env[key] = value
                continue
            key = 'HTTP_' + key
            if key in env:
                env[key] += (', ' if 'COOKIE' in key else ',') + value
            else:
                env[key] = value
        return env
    return parse_env, parse_only


def measure(fn, raw, number, runs):
    fn(raw)  # a failure shows before timing starts
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(number):
            fn(raw)
        samples.append((time.perf_counter() - t0) / number * 1e6)
    return statistics.median(samples)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--runs', type=int, default=15, help='timed runs; the median is reported')
    ap.add_argument('--number', type=int, default=20000, help='requests parsed per run')
    ap.add_argument('--httptools-path', help='a site-packages holding httptools (not installed here)')
    args = ap.parse_args(argv)
    if args.httptools_path:
        sys.path.append(args.httptools_path)

    impls = {'geventc': make_geventc()}
    gevent_number = max(1, args.number // 10)   # about 10x slower: keep the run short
    try:
        impls['gevent'] = make_gevent()
    except ImportError as ex:
        print('gevent not importable (%s): its column is skipped' % ex)
    try:
        impls['httptools'] = make_httptools()
    except ImportError as ex:
        print('httptools not importable (%s): its column is skipped' % ex)

    print('microseconds per request, median of %d runs' % args.runs)
    header = '%-13s %-11s %9s %9s %10s %13s %13s' % (
        'request', 'work', 'geventc', 'gevent', 'httptools', 'gevent/gc', 'httptools/gc')
    print(header)
    print('-' * len(header))
    for name, raw in REQUESTS.items():
        for work, idx in (('to environ', 0), ('parse only', 1)):
            row = {}
            for impl, fns in impls.items():
                number = gevent_number if impl == 'gevent' else args.number
                row[impl] = measure(fns[idx], raw, number, args.runs)
            gc = row['geventc']

            def cell(impl):
                return '%9.2f' % row[impl] if impl in row else '%9s' % '-'

            def ratio(impl):
                return '%12.1fx' % (row[impl] / gc) if impl in row else '%13s' % '-'
            print('%-13s %-11s %s %s %10s %s %s' % (
                name, work, cell('geventc'), cell('gevent'), cell('httptools'), ratio('gevent'), ratio('httptools')))


if __name__ == '__main__':
    main()
