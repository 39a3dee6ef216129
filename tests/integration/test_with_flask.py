"""Flask on geventc's pywsgi under ``monkey.patch_all()``.

* a plain route, with Flask's request context kept apart per greenlet:
  10 requests are held until all 10 are inside the view, then each answers
  with what ``flask.request`` says about *its* request (Flask keeps the
  request in a contextvar: a shared one would give every view the last
  request's arguments);
* a streaming response: the generator yields its first chunk and then
  waits until the client has read it, so the client can only see chunk 2
  if chunk 1 left the server on its own (not buffered until the end).
"""
import pytest

from _integ import require, run_child

pytestmark = pytest.mark.timeout(120)

CHILD = '''
import http.client
import json

import flask
from geventc import pywsgi
from geventc.event import Event
import geventc

N = 10
app = flask.Flask('integ')
inside = []
all_inside = Event()
first_read = Event()
log = []


@app.route('/hello/<name>')
def hello(name):
    inside.append(name)
    if len(inside) == N:
        all_inside.set()
    assert all_inside.wait(timeout=30), inside
    return flask.jsonify(name=name, arg=flask.request.args['tag'],
                         path=flask.request.path)


@app.route('/stream')
def stream():
    tag = flask.request.args['tag']

    @flask.stream_with_context
    def generate():
        log.append('server: chunk 1')
        yield 'chunk 1 %s\\n' % flask.request.args['tag']
        if not first_read.wait(timeout=30):
            yield 'client never read chunk 1\\n'
            return
        log.append('server: chunk 2')
        yield 'chunk 2 %s\\n' % tag

    return flask.Response(generate(), mimetype='text/plain')


server = pywsgi.WSGIServer(('127.0.0.1', 0), app, log=None)
server.start()
port = server.server_port


def hello(i):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
    conn.request('GET', '/hello/n%d?tag=t%d' % (i, i))
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, json.loads(body)


greenlets = [geventc.spawn(hello, i) for i in range(N)]
geventc.joinall(greenlets, raise_error=True)
for i, g in enumerate(greenlets):
    assert g.value == (200, {'name': 'n%d' % i, 'arg': 't%d' % i,
                             'path': '/hello/n%d' % i}), (i, g.value)

conn = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
conn.request('GET', '/stream?tag=s')
resp = conn.getresponse()
assert resp.status == 200, resp.status
assert resp.getheader('Transfer-Encoding') == 'chunked', resp.getheaders()
line = resp.readline()
log.append('client: %s' % line.decode().strip())
first_read.set()
rest = resp.read()
log.append('client: %s' % rest.decode().strip())
conn.close()
server.stop()
assert log == ['server: chunk 1', 'client: chunk 1 s',
               'server: chunk 2', 'client: chunk 2 s'], log
print('ok', flask.__version__ if hasattr(flask, '__version__') else 'flask')
'''


def test_flask_route_and_streaming_response_on_pywsgi():
    require('flask')
    lines = run_child(CHILD)
    assert lines[-1].startswith('ok'), lines
