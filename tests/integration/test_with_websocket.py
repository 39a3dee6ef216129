"""gevent-websocket (which imports ``gevent`` by name: run on geventc
through ``install_as_gevent()``) echoing over ws:// under patch_all.

Three clients complete their handshakes first, so three handler greenlets
sit in ``ws.receive()``; then the clients send in reverse order and each
gets its own echo back at once. Were a receive blocking, the last client's
message could never be answered while the first handler waits. A 100 kB
message (extended 64-bit length) and the close handshake are checked too.
"""
import pytest

from _integ import AS_GEVENT, WS_CLIENT, require, run_child

pytestmark = pytest.mark.timeout(120)

CHILD = AS_GEVENT + WS_CLIENT + '''
import gevent
from geventwebsocket import WebSocketServer, WebSocketError
import geventwebsocket

log = []


def app(environ, start_response):
    ws = environ.get('wsgi.websocket')
    if ws is None:
        start_response('400 Bad Request', [('Content-Type', 'text/plain')])
        return [b'websocket only']
    name = environ['PATH_INFO']
    log.append('open ' + name)
    while True:
        message = ws.receive()
        if message is None:
            break
        log.append('echo %s %d' % (name, len(message)))
        ws.send('%s:%s' % (name, message))
    log.append('closed ' + name)
    return []


server = WebSocketServer(('127.0.0.1', 0), app, log=None)
server.start()
port = server.server_port
assert gevent.__name__ == ('gevent' if _alias.alias_requested() else 'geventc'), gevent

clients = [ws_connect(port, '/c%d' % i) for i in range(3)]
for _ in range(100):
    if len(log) == 3:
        break
    gevent.sleep(0.01)
assert sorted(log) == ['open /c0', 'open /c1', 'open /c2'], log
for i in reversed(range(3)):
    clients[i].send('hello %d' % i)
    assert clients[i].recv() == (1, ('/c%d:hello %d' % (i, i)).encode())

big = 'x' * 100000
clients[0].send(big)
opcode, payload = clients[0].recv()
assert opcode == 1 and payload == ('/c0:' + big).encode(), (opcode, len(payload))

for c in clients:
    # gevent-websocket answers a close with an empty close frame (it drops
    # the status code it is given): close() checks the opcode only.
    c.close()
for _ in range(100):
    if sum(1 for e in log if e.startswith('closed')) == 3:
        break
    gevent.sleep(0.01)
server.stop()
assert log[3:6] == ['echo /c2 7', 'echo /c1 7', 'echo /c0 7'], log
assert sorted(e for e in log if e.startswith('closed')) == ['closed /c0', 'closed /c1', 'closed /c2'], log
print('ok', geventwebsocket.get_version() if hasattr(geventwebsocket, 'get_version') else '')
'''


def test_gevent_websocket_echo_over_ws():
    require('geventwebsocket')
    lines = run_child(CHILD)
    assert lines[-1].startswith('ok'), lines
