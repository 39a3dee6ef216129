"""python-socketio / python-engineio in ``async_mode='gevent'`` (engineio
imports ``gevent`` by name: on geventc through ``install_as_gevent()``),
served by pywsgi with gevent-websocket's handler, under patch_all.

Two clients at once: python-socketio's own Client over long-polling (its
background reader is a patched thread, i.e. a greenlet, parked in a
long-poll GET that a server greenlet holds open) and a raw ws:// engine.io
session. The websocket client asks for a broadcast; the polling client
receives it through its pending long poll. Acknowledged calls go both ways.
"""
import pytest

from _integ import AS_GEVENT, WS_CLIENT, require, run_child

pytestmark = pytest.mark.timeout(120)

CHILD = AS_GEVENT + WS_CLIENT + '''
import json

import engineio
import socketio
from geventc import pywsgi
from geventc.event import Event
from geventwebsocket.handler import WebSocketHandler

sio = socketio.Server(async_mode='gevent')
assert sio.async_mode == 'gevent', sio.async_mode
server_log = []


@sio.event
def connect(sid, environ):
    server_log.append('connect ' + environ['QUERY_STRING'].split('transport=')[1].split('&')[0])


@sio.event
def echo(sid, data):
    return dict(data, echoed=True)


@sio.event
def broadcast(sid, data):
    # From a background task (a greenlet in gevent mode), as apps do.
    sio.start_background_task(sio.emit, 'pushed', data)


server = pywsgi.WSGIServer(('127.0.0.1', 0), socketio.WSGIApp(sio),
                           handler_class=WebSocketHandler, log=None)
server.start()
port = server.server_port

client = socketio.Client()
pushed = Event()
received = []


@client.on('pushed')
def on_pushed(data):
    received.append(data)
    pushed.set()


client.connect('http://127.0.0.1:%d' % port, transports=['polling'], wait_timeout=30)
assert client.transport() == 'polling', client.transport()
assert client.call('echo', {'n': 1}, timeout=30) == {'n': 1, 'echoed': True}

ws = ws_connect(port, '/socket.io/?EIO=4&transport=websocket')
opcode, payload = ws.recv()
assert opcode == 1 and payload[:1] == b'0', payload              # engine.io open
assert json.loads(payload[1:])['upgrades'] == [], payload
ws.send('40')                                                     # socket.io connect
opcode, payload = ws.recv()
assert payload[:2] == b'40' and 'sid' in json.loads(payload[2:]), payload
ws.send('421["echo",{"n":2}]')                                    # event with ack id 1
assert ws.recv() == (1, b'431[{"n":2,"echoed":true}]')
ws.send('42["broadcast","over ws"]')
assert pushed.wait(timeout=30), received
# The websocket client got the broadcast too, as an event frame.
assert ws.recv() == (1, b'42["pushed","over ws"]')
assert received == ['over ws'], received

client.disconnect()
ws.close()
server.stop()
assert sorted(server_log) == ['connect polling', 'connect websocket'], server_log
print('ok socketio', socketio.__version__ if hasattr(socketio, '__version__') else '')
'''


def test_socketio_gevent_mode_polling_and_websocket_clients():
    require('socketio', 'engineio', 'geventwebsocket', 'requests')
    lines = run_child(CHILD)
    assert lines[-1].startswith('ok socketio'), lines
