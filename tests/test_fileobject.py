"""geventc.fileobject: FileObjectPosix, FileObjectThread, FileObjectBlock and
FileObject, on real pipes, ttys, regular files and child processes.

Each file object is checked against what Python's own open() does with the
same arguments (the result, its type, the error), and the cooperative ones
against the hub: other greenlets and timers run while one blocks on a pipe
or a tty.
"""
import errno
import gc
import hashlib
import io
import os
import random
import subprocess
import sys
import time
import warnings

import pytest

import geventc as gevent
from geventc import fileobject
from geventc._fileobjectcommon import FileObjectClosed, cancel_wait_ex
from geventc.fileobject import FileObjectBlock, FileObjectPosix, FileObjectThread
from geventc.lock import Semaphore

from _helpers import assert_ok, describe, run_python, script, _env, REPO_ROOT

pytestmark = pytest.mark.filterwarnings('error')

ALL = [FileObjectPosix, FileObjectThread, FileObjectBlock]
COOPERATIVE = [FileObjectPosix, FileObjectThread]
MIB = 1024 * 1024


def ids(cls):
    return cls.__name__


def ticking():
    """A greenlet appending to a list every 10 ms: proof the hub keeps running."""
    ticks = []

    def run():
        while True:
            ticks.append(time.monotonic())
            gevent.sleep(0.01)

    return ticks, gevent.spawn(run)


def fd_is_open(fd):
    try:
        os.fstat(fd)
    except OSError as ex:
        assert ex.errno == errno.EBADF
        return False
    return True


@pytest.fixture
def text_file(tmp_path):
    """A file of mixed line endings and non-ASCII text."""
    path = tmp_path / 'lines.txt'
    path.write_bytes('one\ntwo\r\nthree\rfour \N{SNOWMAN}\n\nlast'.encode('utf-8'))
    return path


# -- reading: the same as open() ---------------------------------------------------

READ_ARGS = [
    ('r', {}),
    ('rb', {}),
    ('rt', {'encoding': 'utf-8'}),
    ('r', {'encoding': 'utf-8', 'newline': ''}),
    ('r', {'encoding': 'utf-8', 'newline': '\r\n'}),
    ('r', {'encoding': 'utf-8', 'newline': '\r'}),
    ('r', {'encoding': 'latin-1'}),
    ('r', {'encoding': 'ascii', 'errors': 'replace'}),
    ('r', {'encoding': 'utf-8', 'buffering': 5}),
    ('rb', {'buffering': 0}),
    ('rb', {'buffering': 3}),
]


def _read_all_ways(f):
    first = f.read(3)
    line = f.readline()
    rest = f.readlines()
    return first, line, rest


@pytest.mark.parametrize('cls', ALL, ids=ids)
@pytest.mark.parametrize('mode, kwargs', READ_ARGS)
def test_reads_what_open_reads(cls, mode, kwargs, text_file):
    with open(text_file, mode, **kwargs) as native:
        expected = _read_all_ways(native)
    with cls(text_file, mode, **kwargs) as f:
        got = _read_all_ways(f)
    assert got == expected
    assert [type(x) for x in got[2]] == [type(x) for x in expected[2]]
    with open(text_file, mode, **kwargs) as native, cls(text_file, mode, **kwargs) as f:
        assert list(f) == list(native)
    with open(text_file, mode, **kwargs) as native, cls(text_file, mode, **kwargs) as f:
        assert f.read() == native.read()
        assert f.read() == native.read()  # at EOF: empty, of the same type


@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_strict_decoding_error_is_opens(cls, text_file):
    with open(text_file, 'r', encoding='ascii') as native:
        with pytest.raises(UnicodeDecodeError) as native_err:
            native.read()
    with cls(text_file, 'r', encoding='ascii') as f:
        with pytest.raises(UnicodeDecodeError) as err:
            f.read()
    assert str(err.value) == str(native_err.value)


@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_readinto_regular_file(cls, tmp_path):
    path = tmp_path / 'data'
    path.write_bytes(b'hello world')
    buf = bytearray(32)
    view = memoryview(buf)
    with cls(path, 'rb') as f:
        assert f.readinto(view[:2]) == 2
        assert f.readinto(view[2:3]) == 1
        assert f.readinto(view[3:]) == 8
        assert f.readinto(view) == 0
    assert bytes(buf[:11]) == b'hello world'


# -- writing: the same bytes as open() --------------------------------------------

WRITE_ARGS = [
    ('w', {'encoding': 'utf-8'}),
    ('w', {'encoding': 'utf-8', 'newline': '\r\n'}),
    ('w', {'encoding': 'utf-8', 'newline': ''}),
    ('w', {'encoding': 'utf-16'}),
    ('w', {'encoding': 'ascii', 'errors': 'xmlcharrefreplace'}),
    ('wb', {}),
    ('wb', {'buffering': 0}),
    ('w', {'encoding': 'utf-8', 'buffering': 1}),
    ('x', {'encoding': 'utf-8'}),
    ('a', {'encoding': 'utf-8'}),
    ('ab', {}),
    ('w+', {'encoding': 'utf-8'}),
]


def _write_all_ways(f, binary):
    parts = ['alpha\n', 'beta\r\n', 'gam\N{SNOWMAN}a\n', 'no newline']
    if binary:
        parts = [p.encode('utf-8') for p in parts]
    counts = [f.write(parts[0])]
    f.writelines(parts[1:3])
    f.flush()
    counts.append(f.write(parts[3]))
    return counts


@pytest.mark.parametrize('cls', ALL, ids=ids)
@pytest.mark.parametrize('mode, kwargs', WRITE_ARGS)
def test_writes_what_open_writes(cls, mode, kwargs, tmp_path):
    ours, theirs = tmp_path / 'ours', tmp_path / 'theirs'
    if 'a' in mode:
        ours.write_bytes(b'before\n')
        theirs.write_bytes(b'before\n')
    with open(theirs, mode, **kwargs) as native:
        expected = _write_all_ways(native, 'b' in mode)
    with cls(ours, mode, **kwargs) as f:
        got = _write_all_ways(f, 'b' in mode)
    assert got == expected
    assert ours.read_bytes() == theirs.read_bytes()


@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_default_text_mode_writes_linesep(cls, tmp_path):
    path = tmp_path / 'nl'
    with cls(path, 'w', encoding='utf-8') as f:
        f.write('\n')
    assert path.read_bytes() == os.linesep.encode('ascii')


@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_exclusive_create_of_existing_file_is_opens_error(cls, tmp_path):
    path = tmp_path / 'there'
    path.write_bytes(b'')
    with pytest.raises(FileExistsError):
        open(path, 'x')
    with pytest.raises(FileExistsError):
        cls(path, 'x')


# -- seek, tell, truncate where the file can ------------------------------------------------

def geventc_only_for(*classes):
    """ALL, where gevent 26.9.0 fails with *classes* (geventc fixes)."""
    return [pytest.param(cls, marks=pytest.mark.geventc_only) if cls in classes else cls
            for cls in ALL]


@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_seek_tell_on_a_regular_file(cls, tmp_path):
    path = tmp_path / 'seek'
    with cls(path, 'w+b') as f:
        assert f.seekable()
        f.write(b'0123456789')
        assert f.tell() == 10
        assert f.seek(2) == 2
        assert f.read(3) == b'234'
        assert f.seek(-2, os.SEEK_END) == 8
        assert f.read() == b'89'
        assert f.tell() == 10


# gevent's FileObjectPosix: io.UnsupportedOperation (its raw stream has no truncate)
@pytest.mark.parametrize('cls', geventc_only_for(FileObjectPosix), ids=ids)
def test_truncate_on_a_regular_file(cls, tmp_path):
    path = tmp_path / 'truncate'
    with cls(path, 'w+b') as f:
        f.write(b'0123456789')
        f.seek(4)
        assert f.truncate() == 4
        assert f.truncate(2) == 2
        f.seek(0)
        assert f.read() == b'01'
    assert path.read_bytes() == b'01'


@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_seek_on_a_pipe_is_opens_error(cls, pipe):
    r, w = pipe
    with open(r, 'rb', closefd=False) as native:
        assert not native.seekable()
        with pytest.raises(io.UnsupportedOperation):
            native.seek(0)
    with cls(r, 'rb', closefd=False) as f:
        assert not f.seekable()
        with pytest.raises(io.UnsupportedOperation):
            f.seek(0)


def test_raw_seek_on_a_pipe_is_lseeks_error(pipe):
    r, _w = pipe
    with pytest.raises(OSError) as native:
        os.lseek(r, 0, os.SEEK_SET)
    f = FileObjectPosix(r, 'rb', closefd=False)
    with pytest.raises(OSError) as err:
        f.fileio.seek(0)
    assert err.value.args == native.value.args
    f.close()


# -- attributes, close, closefd, context manager ----------------------------------------------

@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_attributes_like_open(cls, pipe):
    r, w = pipe
    with cls(r, 'rb', closefd=False) as f, open(r, 'rb', closefd=False) as native:
        assert f.fileno() == r
        assert f.name == native.name == r
        assert f.mode == native.mode == 'rb'
        assert f.readable() and not f.writable()
        assert not f.isatty()
        assert not f.closed
    with cls(w, 'w', encoding='utf-8', closefd=False) as f:
        assert f.mode == 'w'
        assert f.encoding == 'utf-8'
        assert f.writable() and not f.readable()


@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_path_kinds(cls, tmp_path):
    path = tmp_path / 'p'
    path.write_bytes(b'data')
    for arg in (path, str(path), os.fsencode(path)):
        with cls(arg, 'rb') as f, open(arg, 'rb') as native:
            assert f.read() == b'data'
            assert f.name == native.name


@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_closefd(cls, pipe):
    r, w = pipe
    f = cls(r, 'rb', closefd=False)
    f.close()
    assert f.closed
    assert fd_is_open(r)
    with cls(r, 'rb') as f:
        pass
    assert f.closed
    assert not fd_is_open(r)
    g = cls(w, 'wb', close=False)  # gevent's older spelling
    g.close()
    assert fd_is_open(w)
    with pytest.raises(TypeError):
        cls(w, 'wb', close=False, closefd=False)


@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_after_close(cls, pipe):
    r, _w = pipe
    f = cls(r, 'rb')
    f.close()
    f.close()  # twice is fine, as for io objects
    assert f.closed
    assert f.name == r
    with pytest.raises(FileObjectClosed) as err:
        f.read()
    assert isinstance(err.value, OSError) and err.value.errno == errno.EBADF
    with pytest.raises(FileObjectClosed):
        f.fileno()


# gevent's FileObjectPosix and FileObjectBlock close the caller's file even with closefd=False
@pytest.mark.parametrize('cls', geventc_only_for(FileObjectPosix, FileObjectBlock), ids=ids)
def test_wraps_an_open_file_object(cls, tmp_path):
    path = tmp_path / 'obj'
    path.write_bytes(b'line 1\nline 2\n')
    with open(path, 'rb') as native:
        with cls(native, 'rb', closefd=False) as f:
            assert f.readline() == b'line 1\n'
            assert f.name == str(path)
        assert not native.closed
    native = open(path, 'rb')
    with cls(native, 'rb') as f:
        assert f.read() == b'line 1\nline 2\n'
    assert native.closed


@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_del_closes_the_descriptor(cls, pipe):
    r, w = pipe
    f = cls(w, 'wb')
    f.write(b'x')
    with warnings.catch_warnings():
        # io.FileIO (under FileObjectThread and FileObjectBlock) warns when
        # collected open, as it does under open().
        warnings.simplefilter('ignore', ResourceWarning)
        del f
        gc.collect()
    if cls is FileObjectThread:
        # The io object is closed when collected; a worker may still hold it
        # an instant after its last call returned.
        deadline = time.monotonic() + 5
        while fd_is_open(w) and time.monotonic() < deadline:
            gevent.sleep(0.01)
    assert not fd_is_open(w)
    with cls(r, 'rb') as reader:
        assert reader.read() == b'x'


def test_read1_only_in_binary_mode(pipe):
    r, w = pipe
    with FileObjectPosix(r, 'rb', closefd=False) as f:
        assert hasattr(f, 'read1')
    with FileObjectPosix(r, 'r', closefd=False) as f:
        assert not hasattr(f, 'read1')


# -- pipes: lines, buffering, cooperation ----------------------------------------------------------

@pytest.mark.parametrize('cls', COOPERATIVE, ids=ids)
def test_lines_through_a_pipe(cls, pipe):
    r, w = pipe
    lines = ['first\n', 'second \N{SNOWMAN}\n', '\n', 'last without newline']
    writer = cls(w, 'w', encoding='utf-8')
    reader = cls(r, 'r', encoding='utf-8')

    def write():
        for line in lines:
            writer.write(line)
            writer.flush()
            gevent.sleep(0.001)
        writer.writelines(['x\n', 'y\n'])
        writer.close()

    g = gevent.spawn(write)
    assert reader.readline() == lines[0]
    assert list(reader) == lines[1:-1] + ['last without newlinex\n', 'y\n']
    assert reader.read() == ''
    g.get(timeout=5)
    reader.close()


@pytest.mark.parametrize('cls', COOPERATIVE, ids=ids)
def test_line_buffering(cls, pipe):
    r, w = pipe
    writer = cls(w, 'w', buffering=1, encoding='utf-8')
    reader = cls(r, 'rb', buffering=0)
    writer.write('no newline yet')
    assert not _readable_now(r)
    writer.write(' ...done\n')
    assert reader.read(100) == b'no newline yet ...done\n'
    writer.close()
    reader.close()


def _readable_now(fd):
    import select
    return bool(select.select([fd], [], [], 0.05)[0])


@pytest.mark.parametrize('cls', COOPERATIVE, ids=ids)
def test_unbuffered_pipe(cls, pipe):
    r, w = pipe
    reader = cls(r, 'rb', bufsize=0)
    writer = cls(w, 'wb', bufsize=0)
    writer.write(b'a')
    assert reader.read(1) == b'a'
    writer.writelines([b'2'])
    assert reader.read(1) == b'2'
    writer.close()
    assert reader.read() == b''
    reader.close()


@pytest.mark.parametrize('cls', COOPERATIVE, ids=ids)
def test_timer_fires_while_a_greenlet_blocks_reading_a_pipe(cls, pipe):
    r, w = pipe
    reader = cls(r, 'rb')
    events = []
    timer = gevent.get_hub().loop.timer(0.05)
    timer.start(events.append, 'timer')
    gevent.spawn_later(0.2, os.write, w, b'hello')
    gevent.spawn_later(0.25, os.close, w)
    start = time.monotonic()
    data = reader.read()  # to EOF: blocks the main greenlet on the pipe
    events.append('read')
    assert data == b'hello'
    assert events == ['timer', 'read']
    assert time.monotonic() - start >= 0.2
    timer.close()
    reader.close()


@pytest.mark.parametrize('cls', COOPERATIVE, ids=ids)
def test_readinto_waits_cooperatively(cls, pipe):
    r, w = pipe
    reader = cls(r, 'rb')
    writer = cls(w, 'wb')
    ticks, ticker = ticking()

    def write():
        gevent.sleep(0.1)
        writer.write(b'hello')
        writer.close()

    g = gevent.spawn(write)
    buf = bytearray(32)
    assert reader.readinto(buf) == 5
    assert bytes(buf[:5]) == b'hello'
    assert reader.readinto(buf) == 0
    assert len(ticks) >= 3
    ticker.kill()
    g.get(timeout=5)
    reader.close()


@pytest.mark.parametrize('cls', COOPERATIVE, ids=ids)
def test_writer_blocked_on_a_full_pipe_lets_others_run(cls, pipe):
    r, w = pipe
    writer = cls(w, 'wb')
    data = bytes(range(256)) * (4 * MIB // 256)  # far more than a pipe holds
    ticks, ticker = ticking()
    done = gevent.spawn(lambda: (writer.write(data), writer.close()))
    gevent.sleep(0.1)
    assert not done.ready()  # the pipe is full; the writer waits
    assert len(ticks) >= 3
    with cls(r, 'rb') as reader:
        assert reader.read() == data
    done.get(timeout=10)
    ticker.kill()


def test_many_greenlets_each_on_its_own_pipe():
    pairs = [os.pipe() for _ in range(20)]
    try:
        def echo(i, r):
            with FileObjectPosix(r, 'rb') as f:
                return i, f.read()

        readers = [gevent.spawn(echo, i, r) for i, (r, _w) in enumerate(pairs)]
        for i, (_r, w) in reversed(list(enumerate(pairs))):
            with FileObjectPosix(w, 'wb') as f:
                f.write(b'%d' % i * 1000)
        results = [g.get(timeout=10) for g in readers]
        assert results == [(i, b'%d' % i * 1000) for i in range(20)]
    finally:
        for r, w in pairs:
            for fd in (r, w):
                try:
                    os.close(fd)
                except OSError:
                    pass


# -- ttys --------------------------------------------------------------------------------------

@pytest.fixture
def pty():
    master, slave = os.openpty()
    yield master, slave
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass


@pytest.mark.parametrize('cls', COOPERATIVE, ids=ids)
def test_tty_read_is_cooperative(cls, pty):
    master, slave = pty
    reader = cls(slave, 'rb', buffering=0, closefd=False)
    assert reader.isatty()
    ticks, ticker = ticking()
    gevent.spawn_later(0.1, os.write, master, b'typed line\n')
    assert reader.read(100) == b'typed line\n'
    assert len(ticks) >= 3
    ticker.kill()
    reader.close()


@pytest.mark.parametrize('cls', COOPERATIVE, ids=ids)
def test_tty_write_blocked_lets_others_run(cls, pty):
    master, slave = pty
    data = b'x' * (256 * 1024)  # far more than a tty buffers
    writer = cls(slave, 'wb', closefd=False)
    ticks, ticker = ticking()
    done = gevent.spawn(lambda: (writer.write(data), writer.flush()))
    gevent.sleep(0.1)
    assert not done.ready()  # nobody reads the other side: the write waits
    assert len(ticks) >= 3
    received = 0
    with FileObjectPosix(master, 'rb', buffering=0, closefd=False) as terminal:
        while received < len(data):
            received += len(terminal.read(65536))
    assert received == len(data)
    assert done.get(timeout=10) == (len(data), None)
    ticker.kill()
    writer.close()


@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_tty_text_is_line_buffered_as_open(cls, pty):
    master, slave = pty
    with cls(slave, 'w', encoding='utf-8', closefd=False) as f:
        assert f.isatty()
        assert f.line_buffering
        f.write('prompt> \n')
        # No flush: a tty's text stream is line buffered, as open() makes it.
        assert os.read(master, 100) == b'prompt> \r\n'


# -- bad input: the stdlib's errors ------------------------------------------------------------

@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_closed_descriptor(cls, pipe):
    r, w = pipe
    os.close(r)
    with pytest.raises(OSError) as native:
        open(r, 'rb')
    with pytest.raises(OSError) as err:
        cls(r, 'rb')
    assert err.value.errno == native.value.errno == errno.EBADF


@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_negative_descriptor(cls):
    with pytest.raises(ValueError):
        open(-1, 'rb')
    with pytest.raises(ValueError):
        cls(-1, 'rb')


@pytest.mark.parametrize('cls', ALL, ids=ids)
@pytest.mark.parametrize('fobj', [1.5, None, object(), [3]])
def test_not_a_file(cls, fobj):
    with pytest.raises(TypeError):
        open(fobj, 'rb')
    with pytest.raises(TypeError):
        cls(fobj, 'rb')


@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_missing_path(cls, tmp_path):
    with pytest.raises(FileNotFoundError):
        cls(tmp_path / 'missing', 'rb')


BAD_MODES = ['rw', 'rtb', 'q', 'rr', '', '+', 'wU', 'rb+x', 'aw', 'bb', 'r ']


@pytest.mark.parametrize('cls', ALL, ids=ids)
@pytest.mark.parametrize('mode', BAD_MODES)
def test_mode_python_rejects(cls, mode, pipe):
    r, _w = pipe
    with pytest.raises(ValueError):
        open(r, mode, closefd=False)
    with pytest.raises(ValueError):
        cls(r, mode, closefd=False)
    assert fd_is_open(r)


BAD_ARGS = [
    (TypeError, {'mode': 42}),
    (TypeError, {'mode': 'rb', 'buffering': 'big'}),
    (TypeError, {'mode': 'r', 'encoding': 42}),
    (TypeError, {'mode': 'r', 'errors': 42}),
    (LookupError, {'mode': 'r', 'encoding': 'no-such-codec'}),
    (ValueError, {'mode': 'r', 'newline': 'x'}),
    (ValueError, {'mode': 'rb', 'encoding': 'ascii'}),
    (ValueError, {'mode': 'rb', 'errors': 'strict'}),
    (ValueError, {'mode': 'rb', 'newline': '\n'}),
]


@pytest.mark.parametrize('cls', ALL, ids=ids)
@pytest.mark.parametrize('kind, kwargs', BAD_ARGS)
def test_arguments_python_rejects(cls, kind, kwargs, pipe):
    r, _w = pipe
    with pytest.raises(kind):
        open(r, closefd=False, **kwargs)
    with pytest.raises(kind):
        cls(r, closefd=False, **kwargs)


@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_binary_line_buffering_warns_as_open(cls, pipe):
    r, _w = pipe
    with pytest.warns(RuntimeWarning, match='line buffering'):
        open(r, 'rb', buffering=1, closefd=False).close()
    with pytest.warns(RuntimeWarning, match='line buffering'):
        cls(r, 'rb', buffering=1, closefd=False).close()


@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_read_write_on_the_wrong_end(cls, pipe):
    r, w = pipe
    with cls(r, 'rb', closefd=False) as reader, cls(w, 'wb', closefd=False) as writer:
        with pytest.raises(io.UnsupportedOperation):
            reader.write(b'x')
        with pytest.raises(io.UnsupportedOperation):
            writer.read()


@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_update_mode_on_a_pipe_is_opens_error(cls, pipe):
    r, _w = pipe
    with pytest.raises(io.UnsupportedOperation):
        open(os.dup(r), 'r+b')
    with pytest.raises(io.UnsupportedOperation):
        cls(r, 'r+b')
    assert not fd_is_open(r)  # closefd: closed on the failure, as open() does


@pytest.mark.parametrize('cls', ALL, ids=ids)
def test_write_to_a_closed_pipe_is_broken_pipe(cls, pipe):
    r, w = pipe
    os.close(r)
    writer = cls(w, 'wb')
    with pytest.raises(BrokenPipeError):
        writer.write(b'x' * 100)
        writer.flush()
    with pytest.raises(BrokenPipeError):
        writer.close()  # flushing what is left fails again; the fd is closed anyway
    assert not fd_is_open(w)


@pytest.mark.parametrize('cls', ['FileObjectPosix', 'FileObjectThread'])
def test_broken_pipe_in_a_child_is_an_exception_not_a_signal(cls):
    res = run_python('''
        import os
        from geventc.fileobject import %s as cls
        r, w = os.pipe()
        os.close(r)
        with cls(w, 'wb', buffering=0) as f:
            try:
                f.write(b'x' * 100000)
            except BrokenPipeError as ex:
                print('BrokenPipeError', ex.errno)
    ''' % cls)
    assert_ok(res)
    assert res.stdout.split() == ['BrokenPipeError', '32']


@pytest.mark.parametrize('cls', [FileObjectPosix], ids=ids)
def test_close_while_another_greenlet_reads_unbuffered(cls, pipe):
    r, w = pipe
    reader = cls(r, 'rb', buffering=0)
    g = gevent.spawn(reader.read, 10)
    gevent.sleep(0.01)
    reader.close()
    with pytest.raises(cancel_wait_ex) as err:
        g.get(timeout=5)
    assert err.value.errno == errno.EBADF
    assert not fd_is_open(r)


@pytest.mark.geventc_only  # gevent: RuntimeError "reentrant call", and the reader waits forever
@pytest.mark.parametrize('mode, size, outcome', [
    ('rb', 10, cancel_wait_ex),
    ('r', 10, cancel_wait_ex),
    # Reading to EOF hands back what had arrived, as a buffered reader does.
    ('rb', -1, b''),
    ('r', -1, ''),
])
def test_close_while_another_greenlet_reads_buffered(mode, size, outcome, pipe):
    r, w = pipe
    reader = FileObjectPosix(r, mode)
    g = gevent.spawn(reader.read, size)
    gevent.sleep(0.01)
    reader.close()
    assert reader.closed
    if isinstance(outcome, type):
        with pytest.raises(outcome):
            g.get(timeout=5)
    else:
        assert g.get(timeout=5) == outcome
    gevent.sleep(0)  # the buffered layer is closed in the next callback
    assert not fd_is_open(r)


# -- FileObjectThread's own arguments ----------------------------------------------------------

def test_thread_lock_arguments(pipe):
    r, w = pipe
    sem = Semaphore()
    with FileObjectThread(w, 'wb', lock=sem, closefd=False) as f:
        assert f.lock is sem
        f.write(b'a')
    with FileObjectThread(w, 'wb', lock=False, closefd=False) as f:
        f.write(b'b')
        f.flush()
    with pytest.raises(TypeError):
        FileObjectThread(w, 'wb', lock=42, closefd=False)
    pool = gevent.get_hub().threadpool
    with FileObjectThread(r, 'rb', threadpool=pool, closefd=False) as f:
        assert f.threadpool is pool
        assert f.read(2) == b'ab'


# -- FileObject: the configured default ---------------------------------------------------------

def test_default_is_posix():
    assert fileobject.FileObject is FileObjectPosix
    assert set(fileobject.__all__) == {'FileObjectPosix', 'FileObjectThread', 'FileObjectBlock',
                                       'FileObject'}


@pytest.mark.parametrize('setting, expected', [
    ('thread', 'FileObjectThread'),
    ('block', 'FileObjectBlock'),
    ('posix', 'FileObjectPosix'),
])
def test_GEVENT_FILE_chooses(setting, expected):
    res = assert_ok(run_python('''
        from geventc.fileobject import FileObject
        print(FileObject.__name__)
    ''', extra_env={'GEVENT_FILE': setting}))
    assert res.stdout.strip() == expected


def test_config_fileobject_set_in_code():
    res = assert_ok(run_python('''
        import geventc
        geventc.config.fileobject = 'thread'
        from geventc.fileobject import FileObject
        print(FileObject.__name__)
    '''))
    assert res.stdout.strip() == 'FileObjectThread'


def test_bad_GEVENT_FILE_is_an_import_error():
    res = run_python('''
        try:
            import geventc.fileobject
        except ImportError as ex:
            print('ImportError')
    ''', extra_env={'GEVENT_FILE': 'nonesuch'})
    assert_ok(res)
    assert res.stdout.strip() == 'ImportError'


# -- 100 MB between two processes ----------------------------------------------------------------

TRANSFER_MIB = 100
SEED = 20260611


def expected_digest():
    rng = random.Random(SEED)
    digest = hashlib.sha256()
    for _ in range(TRANSFER_MIB):
        digest.update(rng.randbytes(MIB))
    return digest.hexdigest()


def _child(code, **popen):
    return subprocess.Popen([sys.executable, '-c', script(code)], cwd=REPO_ROOT, env=_env(),
                            **popen)


def test_100mb_from_a_child_process_arrive_byte_for_byte():
    child = _child('''
        import random, sys
        from geventc.fileobject import FileObjectPosix
        rng = random.Random(%d)
        with FileObjectPosix(sys.stdout.fileno(), 'wb', closefd=False) as out:
            for _ in range(%d):
                out.write(rng.randbytes(%d))
    ''' % (SEED, TRANSFER_MIB, MIB), stdout=subprocess.PIPE)
    ticks, ticker = ticking()
    digest = hashlib.sha256()
    received = 0
    try:
        with FileObjectPosix(child.stdout.fileno(), 'rb', closefd=False) as f:
            while True:
                block = f.read(256 * 1024)
                if not block:
                    break
                received += len(block)
                digest.update(block)
        assert child.wait(timeout=60) == 0
    finally:
        ticker.kill()
        child.kill()
        child.stdout.close()
        child.wait()
    assert received == TRANSFER_MIB * MIB
    assert digest.hexdigest() == expected_digest()
    assert len(ticks) >= 2  # the hub ran while this greenlet waited on the pipe


def test_100mb_to_a_child_process_arrive_byte_for_byte():
    child = _child('''
        import hashlib, sys
        from geventc.fileobject import FileObjectPosix
        digest = hashlib.sha256()
        received = 0
        with FileObjectPosix(sys.stdin.fileno(), 'rb', closefd=False) as f:
            for line in iter(lambda: f.read(100000), b''):
                received += len(line)
                digest.update(line)
        print(received, digest.hexdigest())
    ''', stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rng = random.Random(SEED)
    try:
        with FileObjectPosix(child.stdin.fileno(), 'wb', closefd=False) as f:
            for _ in range(TRANSFER_MIB):
                f.write(rng.randbytes(MIB))
        child.stdin.close()
        child.wait(timeout=60)
        out, err = child.stdout.read(), child.stderr.read()
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == 0, err
    received, digest = out.decode().split()
    assert int(received) == TRANSFER_MIB * MIB
    assert digest == expected_digest()
