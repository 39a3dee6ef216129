"""pyzmq's ``zmq.green`` (which imports ``gevent`` by name: on geventc through
``install_as_gevent()``) under patch_all: REQ/REP, PUB/SUB and the green
Poller over tcp://127.0.0.1.

Each receiver greenlet is parked in ``recv()`` before its peers are even
spawned: a recv that blocked the thread would wedge the child (the test
then fails on its time limit), so cooperation is shown by order.
"""
import pytest

from _integ import AS_GEVENT, require, run_child

pytestmark = pytest.mark.timeout(120)

CHILD = AS_GEVENT + '''
import gevent
from gevent.event import Event
import zmq.green as zmq

ctx = zmq.Context()
log = []

# --- REQ/REP: one REP server, three REQ clients in their own greenlets.
rep = ctx.socket(zmq.REP)
rep_port = rep.bind_to_random_port('tcp://127.0.0.1')


def serve(n):
    for _ in range(n):
        log.append('rep waits')
        msg = rep.recv_string()
        rep.send_string(msg.upper())


def ask(i):
    req = ctx.socket(zmq.REQ)
    req.connect('tcp://127.0.0.1:%d' % rep_port)
    req.send_string('hello %d' % i)
    answer = req.recv_string()
    req.close(linger=0)
    return answer


server = gevent.spawn(serve, 3)
gevent.sleep(0)
assert log == ['rep waits'], log
askers = [gevent.spawn(ask, i) for i in range(3)]
gevent.joinall(askers + [server], raise_error=True, timeout=30)
assert [g.value for g in askers] == ['HELLO %d' % i for i in range(3)]
rep.close(linger=0)

# --- PUB/SUB with a topic filter; the publisher repeats a 'sync' message
# until the subscriber has seen one (a subscription takes effect only once
# it has travelled to the publisher).
pub = ctx.socket(zmq.PUB)
pub_port = pub.bind_to_random_port('tcp://127.0.0.1')
subscribed = Event()
received = []


def subscriber():
    sub = ctx.socket(zmq.SUB)
    sub.connect('tcp://127.0.0.1:%d' % pub_port)
    for topic in (b'sync', b'a', b'end'):
        sub.setsockopt(zmq.SUBSCRIBE, topic)
    while True:
        msg = sub.recv_string()
        if msg == 'sync':
            subscribed.set()
            continue
        if msg == 'end':
            break
        received.append(msg)
    sub.close(linger=0)


sub_g = gevent.spawn(subscriber)
for _ in range(3000):
    pub.send_string('sync')
    if subscribed.wait(timeout=0.01):
        break
assert subscribed.is_set(), 'the subscription never reached the publisher'
for msg in ('a 1', 'b 2', 'a 3', 'end'):
    pub.send_string(msg)
sub_g.join(timeout=30)
assert sub_g.successful(), sub_g.exception
assert received == ['a 1', 'a 3'], received
pub.close(linger=0)

# --- the green Poller: a pull socket polled while a greenlet pushes later.
pull = ctx.socket(zmq.PULL)
pull_port = pull.bind_to_random_port('tcp://127.0.0.1')
push = ctx.socket(zmq.PUSH)
push.connect('tcp://127.0.0.1:%d' % pull_port)
poller = zmq.Poller()
poller.register(pull, zmq.POLLIN)
assert poller.poll(timeout=50) == []
pusher = gevent.spawn(push.send_string, 'pushed')
events = dict(poller.poll(timeout=30000))
assert events.get(pull) == zmq.POLLIN, events
assert pull.recv_string() == 'pushed'
pusher.join()
push.close(linger=0)
pull.close(linger=0)
ctx.term()
print('ok pyzmq', zmq.pyzmq_version(), 'libzmq', zmq.zmq_version())
'''


def test_zmq_green_req_rep_pub_sub_and_poller():
    require('zmq')
    lines = run_child(CHILD)
    assert lines[-1].startswith('ok pyzmq'), lines
