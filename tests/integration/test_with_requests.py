"""requests / urllib3 under ``monkey.patch_all()`` against geventc's pywsgi.

50 greenlets each do ``requests.get`` against a local pywsgi server whose
application does not answer until all 50 requests have arrived. A client or
server that serialised them (a blocking socket call somewhere) could never
let the 50th arrive before the 1st is answered: the child would wedge and
the test fail on its time limit. So concurrency is shown by order, not by
wall time.
"""
import pytest

from _integ import IMPL, require, run_child

pytestmark = pytest.mark.timeout(120)

N = 50

CHILD = '''
import requests
import urllib3
from geventc import pywsgi
from geventc.event import Event
import geventc.pool

N = %(n)d
arrived = []
all_arrived = Event()
events = []


def app(environ, start_response):
    arrived.append(environ['QUERY_STRING'])
    events.append('arrive')
    if len(arrived) == N:
        all_arrived.set()
    # Cooperative wait: only other greenlets' requests can end it.
    if not all_arrived.wait(timeout=30):
        start_response('500 Internal Server Error', [('Content-Type', 'text/plain')])
        return [b'only %%d arrived' %% len(arrived)]
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('%%s seen=%%d' %% (environ['QUERY_STRING'], len(arrived))).encode()]


server = pywsgi.WSGIServer(('127.0.0.1', 0), app, log=None)
server.start()
url = 'http://127.0.0.1:%%d/' %% server.server_port


def get(i):
    r = requests.get(url, params={'i': i}, timeout=60)
    events.append('answer')
    return r.status_code, r.text


pool = geventc.pool.Pool(N)
results = pool.map(get, range(N))
server.stop()
assert all(status == 200 for status, _ in results), results
assert [text for _, text in results] == ['i=%%d seen=%%d' %% (i, N) for i in range(N)], results
assert sorted(arrived) == sorted('i=%%d' %% i for i in range(N)), arrived
# Every request arrived before the first answer was read.
assert events == ['arrive'] * N + ['answer'] * N, events
# The stdlib really was patched under requests (not merely imported first).
import socket
assert socket.socket.__module__.startswith('%(impl)s'), socket.socket
print('ok', len(results), urllib3.__version__, requests.__version__)
'''


def test_fifty_concurrent_gets_all_arrive_before_any_answer():
    require('requests', 'urllib3')
    lines = run_child(CHILD % {'n': N, 'impl': IMPL})
    assert lines[-1].startswith('ok %d ' % N), lines
