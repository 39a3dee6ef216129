"""redis-py under ``monkey.patch_all()`` against a real ``redis-server``.

The test starts redis-server on a free loopback port (no persistence, in a
temporary directory). In the child, one greenlet blocks in BLPOP on an
empty list while five others INCR a counter 100 times each through the same
client (its connection pool hands each greenlet its own connection). The
INCRs can only finish while the BLPOP is pending if the BLPOP blocks just
its own greenlet; the server confirms it is still blocked (INFO
``blocked_clients``), then an RPUSH wakes it with the pushed value.
"""
import shutil
import socket
import subprocess
import time

import pytest

from _integ import free_port, require, run_child

pytestmark = pytest.mark.timeout(120)

REDIS_SERVER = shutil.which('redis-server')
NO_REDIS_SERVER = ('!!! redis-server is not installed: the redis-py integration test did NOT run '
                   '(apt-get install redis-server; bash dev.sh test installs it)')


def _wait_for_port(port, proc, log, limit=30):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError('redis-server exited with %s:\n%s' % (proc.returncode, log.read_text()))
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1) as s:
                s.sendall(b'PING\r\n')
                if s.recv(16).startswith(b'+PONG'):
                    return
        except OSError:
            time.sleep(0.05)
    raise AssertionError('redis-server did not answer PING within %ss:\n%s' % (limit, log.read_text()))


@pytest.fixture(scope='module')
def redis_port(tmp_path_factory):
    if REDIS_SERVER is None:
        pytest.skip(NO_REDIS_SERVER)
    require('redis')
    workdir = tmp_path_factory.mktemp('redis')
    log = workdir / 'redis.log'
    port = free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER, '--port', str(port), '--bind', '127.0.0.1', '--save', '',
         '--appendonly', 'no', '--dir', str(workdir), '--logfile', str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=str(workdir))
    try:
        _wait_for_port(port, proc, log)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


CHILD = '''
import redis
import geventc

r = redis.Redis(host='127.0.0.1', port=%(port)d, socket_timeout=60)
r.delete('integ:q', 'integ:counter')
log = []


def blocked_clients():
    return r.info('clients')['blocked_clients']


def waiter():
    log.append('blpop')
    log.append(('woke', r.blpop(['integ:q'], timeout=30)))


def incr(k):
    for _ in range(100):
        r.incr('integ:counter')
    log.append('incr %%d done' %% k)


w = geventc.spawn(waiter)
# Wait (cooperatively, bounded) until the server holds the BLPOP.
for _ in range(3000):
    if blocked_clients() == 1:
        break
    geventc.sleep(0.01)
assert blocked_clients() == 1, 'BLPOP never reached the server'

incrs = [geventc.spawn(incr, k) for k in range(5)]
geventc.joinall(incrs, raise_error=True)
assert not w.ready(), log
assert blocked_clients() == 1
assert int(r.get('integ:counter')) == 500, r.get('integ:counter')

r.rpush('integ:q', 'wake up')
w.join(timeout=30)
assert w.successful(), w.exception
assert log[0] == 'blpop', log
assert sorted(log[1:6]) == ['incr %%d done' %% k for k in range(5)], log
assert log[6] == ('woke', (b'integ:q', b'wake up')), log
assert len(log) == 7, log
print('ok', redis.__version__)
'''


def test_blpop_blocks_only_its_greenlet_while_others_incr(redis_port):
    lines = run_child(CHILD % {'port': redis_port})
    assert lines[-1].startswith('ok'), lines
