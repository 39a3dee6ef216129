"""geventc.os: cooperative reads and writes on real pipes and files."""
import errno
import fcntl
import os
import threading
import time

import pytest

import geventc as gevent
from geventc import os as gos

from _helpers import assert_ok, run_python

pytestmark = pytest.mark.filterwarnings('error')


@pytest.fixture
def nb_pipe(pipe):
    r, w = pipe
    gos.make_nonblocking(r)
    gos.make_nonblocking(w)
    return r, w


def ticking():
    ticks = []

    def run():
        while True:
            ticks.append(1)
            gevent.sleep(0.01)

    return ticks, gevent.spawn(run)


def test_make_nonblocking(pipe):
    r, _w = pipe
    assert not fcntl.fcntl(r, fcntl.F_GETFL) & os.O_NONBLOCK
    assert gos.make_nonblocking(r) is True
    assert fcntl.fcntl(r, fcntl.F_GETFL) & os.O_NONBLOCK
    assert not gos.make_nonblocking(r)


def test_nb_read_waits_for_data_cooperatively(nb_pipe):
    r, w = nb_pipe
    ticks, ticker = ticking()
    writer = gevent.spawn_later(0.2, os.write, w, b'hello')
    start = time.monotonic()
    assert gos.nb_read(r, 100) == b'hello'
    assert time.monotonic() - start >= 0.15
    ticker.kill()
    writer.join()
    assert len(ticks) >= 10


def test_nb_read_returns_what_is_there(nb_pipe):
    r, w = nb_pipe
    os.write(w, b'abc')
    assert gos.nb_read(r, 2) == b'ab'
    assert gos.nb_read(r, 100) == b'c'


def test_nb_read_at_end_of_file(nb_pipe):
    r, w = nb_pipe
    os.write(w, b'x')
    os.close(w)
    assert gos.nb_read(r, 10) == b'x'
    assert gos.nb_read(r, 10) == b''


def test_nb_read_from_another_thread(nb_pipe):
    r, w = nb_pipe
    t = threading.Timer(0.1, os.write, (w, b'from a thread'))
    t.start()
    assert gos.nb_read(r, 100) == b'from a thread'
    t.join()


def test_nb_write_waits_while_the_pipe_is_full(nb_pipe):
    r, w = nb_pipe
    chunk = b'x' * 65536
    filled = 0
    while True:
        try:
            filled += os.write(w, chunk)
        except BlockingIOError:
            break
    got = []

    def reader():
        gevent.sleep(0.1)
        total = 0
        while total < filled + 10:
            data = gos.nb_read(r, 65536)
            if not data:
                break
            total += len(data)
        got.append(total)

    g = gevent.spawn(reader)
    start = time.monotonic()
    written = gos.nb_write(w, b'0123456789')
    assert written == 10
    assert time.monotonic() - start >= 0.05
    g.join(timeout=5)
    assert got == [filled + 10]


def test_nb_errors_propagate(nb_pipe):
    r, w = nb_pipe
    os.close(r)
    with pytest.raises(OSError) as info:
        gos.nb_read(r, 1)
    assert info.value.errno == errno.EBADF
    with pytest.raises(OSError) as info:
        gos.nb_write(w, b'x')  # the reading end is gone
    assert info.value.errno == errno.EPIPE


def test_ping_pong_between_greenlets(nb_pipe):
    r, w = nb_pipe
    out = []

    def reader():
        for _ in range(50):
            out.append(gos.nb_read(r, 1))

    g = gevent.spawn(reader)
    for i in range(50):
        gos.nb_write(w, b'%d' % (i % 10))
        gevent.sleep(0)
    g.join(timeout=5)
    assert b''.join(out) == b''.join(b'%d' % (i % 10) for i in range(50))


def test_tp_read_blocks_only_its_greenlet(pipe):
    r, w = pipe  # blocking descriptors
    ticks, ticker = ticking()
    t = threading.Timer(0.2, os.write, (w, b'data'))
    t.start()
    assert gos.tp_read(r, 10) == b'data'
    ticker.kill()
    t.join()
    assert len(ticks) >= 10


def test_tp_write_and_read_a_regular_file(tmp_path):
    path = tmp_path / 'f.bin'
    fd = os.open(str(path), os.O_RDWR | os.O_CREAT)
    try:
        assert gos.tp_write(fd, b'hello file') == 10
        os.lseek(fd, 0, os.SEEK_SET)
        assert gos.tp_read(fd, 100) == b'hello file'
    finally:
        os.close(fd)


def test_tp_read_error(pipe):
    r, w = pipe
    os.close(w)
    os.close(r)
    with pytest.raises(OSError) as info:
        gos.tp_read(r, 1)
    assert info.value.errno == errno.EBADF


def test_reexports_os():
    assert gos.getpid is os.getpid
    assert gos.O_NONBLOCK == os.O_NONBLOCK
    for name in ('make_nonblocking', 'nb_read', 'nb_write', 'tp_read', 'tp_write', 'fork'):
        assert name in gos.__all__


def test_fork_gevent_child_has_a_working_hub():
    res = assert_ok(run_python('''
        import os
        import geventc
        from geventc import os as gos
        geventc.sleep(0.01)
        r, w = os.pipe()
        pid = gos.fork_gevent()
        if pid == 0:
            os.close(r)
            gos.make_nonblocking(w)
            geventc.sleep(0.05)
            gos.nb_write(w, b'child ok')
            os._exit(0)
        os.close(w)
        gos.make_nonblocking(r)
        print(gos.nb_read(r, 100).decode())
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
    '''))
    assert res.stdout.split('\n')[:2] == ['child ok', '0']
