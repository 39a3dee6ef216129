"""pywsgi's compiled request loop stands in for WSGIHandler's own methods
only: a subclass's override (as gunicorn, gevent-websocket and engineio
write them) or a method patched onto the class is called, with the
attributes gevent's handler has at that point. And bytes read off the
socket past a request head are never lost, whoever reads them next."""
import io
from unittest import mock

from geventc import socket
from geventc import pywsgi

from test_pywsgi import Server, hello


def exchange(port, data, expect_responses):
    """Send *data* on one connection; read until *expect_responses*
    responses have started and the last one is complete (or the close)."""
    conn = socket.create_connection(('127.0.0.1', port), timeout=10)
    with conn:
        conn.sendall(data)
        out = b''
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return out
            out += chunk
            if out.count(b'HTTP/1.1 ') >= expect_responses and out.endswith(b'/end'):
                return out


def test_gunicorn_style_log_request_and_get_environ_overrides_are_called():
    seen = []

    class Handler(pywsgi.WSGIHandler):
        def get_environ(self):
            env = super().get_environ()
            env['RAW_URI'] = self.path
            return env

        def log_request(self):
            seen.append((self.status, list(self.response_headers), self.response_length,
                         self.time_finish >= self.time_start > 0, self.headers.get('X-A'),
                         self.environ['RAW_URI'], self.requestline))

    def app(environ, start_response):
        start_response('200 OK', [('X-Raw', environ['RAW_URI'])])
        return [b'hi']

    with Server(app, handler_class=Handler) as srv:
        client = srv.client()
        for path in ('/a?x=1', '/b'):
            client.request('GET', path, headers={'X-A': 'v'})
            response = client.getresponse()
            assert response.read() == b'hi' and response.getheader('X-Raw') == path
        client.close()
    assert len(seen) == 2
    status, headers, length, timed, x_a, raw_uri, requestline = seen[0]
    assert status == b'200 OK' and timed and x_a == 'v' and raw_uri == '/a?x=1'
    assert requestline == 'GET /a?x=1 HTTP/1.1'
    assert [name for name, _ in headers] == [b'X-Raw', b'Date', b'Content-Length']
    assert headers[2] == (b'Content-Length', b'2')
    assert length > len(b'hi')   # headers and body counted
    assert seen[1][5] == '/b'


def test_websocket_style_run_application_and_start_response_overrides_are_called():
    calls = []

    class Handler(pywsgi.WSGIHandler):
        def run_application(self):
            calls.append('run_application')
            super().run_application()

        def start_response(self, status, headers, exc_info=None):
            calls.append(('start_response', status))
            writer = super().start_response(status, headers, exc_info)
            # gevent-websocket sets these after the base reset them.
            self.provided_date = True
            return writer

    with Server(hello, handler_class=Handler) as srv:
        client = srv.client()
        client.request('GET', '/')
        response = client.getresponse()
        assert response.read() == b'hello'
        assert response.getheader('Date') is None   # the subclass said it provided one
        client.close()
    assert calls == ['run_application', ('start_response', '200 OK')]


def test_methods_patched_onto_the_class_are_called():
    real = pywsgi.WSGIHandler.get_environ
    patched_calls = []

    def get_environ(self):
        patched_calls.append(self.path)
        env = real(self)
        env['PATCHED'] = '1'
        return env

    def app(environ, start_response):
        start_response('200 OK', [])
        return [environ.get('PATCHED', '0').encode()]

    with Server(app) as srv:
        with mock.patch.object(pywsgi.WSGIHandler, 'get_environ', get_environ):
            client = srv.client()
            client.request('GET', '/p')
            assert client.getresponse().read() == b'1'
            client.close()
        client = srv.client()
        client.request('GET', '/q')
        assert client.getresponse().read() == b'0'   # unpatched again: the compiled one
        client.close()
    assert patched_calls == ['/p']


def test_default_access_log_is_written_when_logging_is_on():
    log = io.StringIO()
    with Server(hello, log=log) as srv:
        client = srv.client()
        client.request('GET', '/logged')
        client.getresponse().read()
        client.close()
    line = log.getvalue()
    assert '"GET /logged HTTP/1.1" 200 ' in line and line.endswith('\n')


def test_pipelined_requests_with_bodies_lose_no_bytes():
    def app(environ, start_response):
        body = environ['wsgi.input'].read()
        start_response('200 OK', [])
        return [environ['PATH_INFO'].encode() + b'=' + body + b'\n']

    requests = (b'POST /len HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde'
                b'POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
                b'3\r\nxyz\r\n0\r\n\r\n'
                b'GET /plain HTTP/1.1\r\nHost: x\r\n\r\n'
                b'GET /end HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    with Server(app) as srv:
        # All at once, then byte by byte: heads split anywhere.
        whole = exchange(srv.port, requests, 4)
        conn = socket.create_connection(('127.0.0.1', srv.port), timeout=10)
        with conn:
            for i in range(len(requests)):
                conn.sendall(requests[i:i + 1])
            split = b''
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                split += chunk
    for out in (whole, split):
        bodies = [part.split(b'\r\n\r\n', 1)[1] for part in out.split(b'HTTP/1.1 200 OK')[1:]]
        assert bodies == [b'/len=abcde\n', b'/chunked=xyz\n', b'/plain=\n', b'/end=\n'], out


def test_upgrade_request_reads_what_followed_the_head_from_rfile():
    got = []

    def app(environ, start_response):
        # An upgrade gets the connection's stream itself (gevent's choice).
        stream = environ['wsgi.input']
        got.append(stream.read(6))
        start_response('200 OK', [('Connection', 'close')])
        return [b'done']

    with Server(app) as srv:
        out = srv.raw(b'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n'
                      b'Upgrade: websocket\r\n\r\nFRAME!')
    assert got == [b'FRAME!'] and out.endswith(b'done')


def test_handler_rfile_is_a_socket_makefile_stream():
    kinds = []

    class Handler(pywsgi.WSGIHandler):
        def log_request(self):
            # What simple-websocket reaches for.
            kinds.append((type(self.rfile).__name__, self.rfile.raw._sock is self.socket))

    with Server(hello, handler_class=Handler) as srv:
        client = srv.client()
        client.request('GET', '/')
        client.getresponse().read()
        client.close()
    with socket.socket() as sock, sock.makefile('rb', -1) as stream:
        expected = type(stream).__name__
    assert kinds == [(expected, True)]
