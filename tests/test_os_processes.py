"""geventc.os: fork, waitpid, posix_spawn and fork safety, with real processes.

Each case runs in a child interpreter: it forks, waits for "any child", and
must not see (or reap) the pytest process's own children.
"""
import textwrap

import pytest

from _helpers import assert_ok, describe, run_python

pytestmark = pytest.mark.filterwarnings('error')

# Prepended to the scripts: a ticker proves the hub kept running while a
# greenlet waited, and zombies() lists this process's unreaped children.
COMMON = """
import os, sys, time, errno
import geventc as gevent
from geventc import os as gos
from _helpers import zombies

def ticker():
    ticks = []
    def run():
        while True:
            ticks.append(1)
            gevent.sleep(0.01)
    return ticks, gevent.spawn(run)

def child_exits(code, after=0.0):
    # fork_and_watch child that exits with *code* after *after* seconds.
    pid = gos.fork_and_watch()
    if pid == 0:
        time.sleep(after)
        os._exit(code)
    return pid
"""


def run(code):
    res = run_python(COMMON + textwrap.dedent(code))
    assert_ok(res)
    return res.stdout.split('\n')[:-1]


@pytest.mark.geventc_only
def test_waitpid_on_one_child_lets_the_hub_run():
    out = run("""
        ticks, t = ticker()
        pid = child_exits(7, after=0.3)
        print(gos.waitpid(pid, os.WNOHANG))
        wpid, status = gos.waitpid(pid, 0)
        print(wpid == pid, os.waitstatus_to_exitcode(status), len(ticks) >= 10)
        try:
            gos.waitpid(pid, 0)
        except ChildProcessError:
            print('reaped already')
        print(zombies())
    """)
    assert out == ['(0, 0)', 'True 7 True', 'reaped already', '[]']


@pytest.mark.parametrize('how', ['-1', pytest.param('0', marks=pytest.mark.geventc_only), '-pgid'])
def test_waitpid_on_any_child_lets_the_hub_run(how):
    # Also for a child that geventc does not watch (a raw os.fork).
    out = run("""
        how = %r
        ticks, t = ticker()
        pid = os.fork()
        if pid == 0:
            if how == '-pgid':
                os.setpgid(0, 0)
            time.sleep(0.3)
            os._exit(5)
        if how == '-pgid':
            gevent.sleep(0.1)  # let it leave our group
        target = {'-1': -1, '0': 0, '-pgid': -pid}[how]
        wpid, status = gos.waitpid(target, 0)
        print(wpid == pid, os.waitstatus_to_exitcode(status), len(ticks) >= 10, zombies())
    """ % how)
    assert out == ['True 5 True []']


@pytest.mark.parametrize('pid', [1, -2, 'unborn'])
def test_waitpid_bad_pid_is_child_process_error(pid):
    out = run("""
        pid = %r
        if pid == 'unborn':
            pid = 2 ** 22 - 3
        for options in (0, os.WNOHANG):
            try:
                gos.waitpid(pid, options)
            except ChildProcessError as ex:
                print(ex.errno == errno.ECHILD)
    """ % pid)
    assert out == ['True', 'True']


@pytest.mark.geventc_only
def test_waitpid_minus_1_sees_a_child_geventc_also_watches():
    # The watcher reaped it (no zombie), yet waitpid(-1) gets its status,
    # once: gevent's test__monkey_sigchld scenario.
    out = run("""
        pid = child_exits(3)
        gevent.sleep(0.3)
        print(zombies())
        wpid, status = gos.waitpid(-1, os.WNOHANG)
        print(wpid == pid, os.waitstatus_to_exitcode(status))
        try:
            gos.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            print('no more children')
    """)
    assert out == ['[]', 'True 3', 'no more children']


@pytest.mark.geventc_only
def test_waitpid_minus_1_and_the_watcher_both_get_the_status():
    # waitpid(-1) reaps first (the watcher had no turn to): the watcher's
    # callback still gets the real status, not ECHILD's 0.
    out = run("""
        seen = []
        pid = gos.fork_and_watch(lambda w: seen.append(os.waitstatus_to_exitcode(w.rstatus)))
        if pid == 0:
            os._exit(12)
        time.sleep(0.3)  # blocking: the hub does not run, the watcher cannot reap
        wpid, status = gos.waitpid(-1, 0)
        print(wpid == pid, os.waitstatus_to_exitcode(status))
        gevent.sleep(0.1)
        print(seen, zombies())
    """)
    assert out == ['True 12', '[12] []']


def test_fork_and_watch_callback_and_ref():
    out = run("""
        seen = []
        pid = gos.fork_and_watch(lambda w: seen.append((w.rpid == pid, os.waitstatus_to_exitcode(w.rstatus))),
                                 ref=True)
        if pid == 0:
            time.sleep(0.2)
            os._exit(4)
        gevent.get_hub().join(timeout=10)  # ref=True: the loop ran until the child exited
        print(seen, zombies())
    """)
    assert out == ['[(True, 4)] []']


def test_unwaited_watched_child_leaves_no_zombie():
    out = run("""
        pids = [child_exits(0) for _ in range(5)]
        gevent.sleep(0.5)
        print(zombies())
        gos._reap_children(0)
        try:
            gos.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            print('forgotten')
    """)
    assert out == ['[]', 'forgotten']


@pytest.mark.geventc_only
def test_forkpty_and_watch():
    out = run("""
        pid, master = gos.forkpty_and_watch()
        if pid == 0:
            print('in the pty', flush=True)
            os._exit(2)
        gos.make_nonblocking(master)
        data = b''
        while b'in the pty' not in data:
            try:
                chunk = gos.nb_read(master, 100)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        wpid, status = gos.waitpid(pid, 0)
        print(b'in the pty' in data, os.waitstatus_to_exitcode(status))
    """)
    assert out == ['True 2']


@pytest.mark.parametrize('func', ['posix_spawn', 'posix_spawnp'])
def test_posix_spawn_child_is_watched(func):
    out = run("""
        ticks, t = ticker()
        exe = sys.executable if %r == 'posix_spawn' else os.path.basename(sys.executable)
        env = dict(os.environ, PATH=os.path.dirname(sys.executable) + ':' + os.environ.get('PATH', ''))
        pid = getattr(gos, %r)(exe, [exe, '-c', 'import time, sys; time.sleep(0.3); sys.exit(6)'], env)
        wpid, status = gos.waitpid(-1, 0)
        print(wpid == pid, os.waitstatus_to_exitcode(status), len(ticks) >= 10, zombies())
    """ % (func, func))
    assert out == ['True 6 True []']


@pytest.mark.geventc_only
def test_waitpid_reports_a_stopped_child_with_wuntraced():
    out = run("""
        pid = os.fork()
        if pid == 0:
            time.sleep(10)
            os._exit(0)
        gevent.spawn_later(0.2, os.kill, pid, 19)  # SIGSTOP
        wpid, status = gos.waitpid(pid, os.WUNTRACED)
        print(wpid == pid, os.WIFSTOPPED(status))
        os.kill(pid, 9)
        wpid, status = gos.waitpid(pid, 0)
        print(os.WIFSIGNALED(status), zombies())
    """)
    assert out == ['True True', 'True []']


def test_fork_is_fork_and_watch_and_geventc_fork():
    out = run("""
        print(gevent.fork is gos.fork)
        pid = gos.fork()
        if pid == 0:
            gevent.sleep(0.1)
            os._exit(8)
        print(os.waitstatus_to_exitcode(gos.waitpid(pid, 0)[1]))
    """)
    assert out == ['True', '8']


# -- fork safety ------------------------------------------------------------------

def test_fork_with_a_live_thread_pool():
    # gevent#154: the pool's threads are gone in the child; it gets a fresh
    # pool that starts new ones. The parent's pool keeps working.
    out = run("""
        import threading
        pool = gevent.get_hub().threadpool
        print(pool.apply(threading.get_ident) != threading.get_ident())
        pid = gos.fork()
        if pid == 0:
            ok = pool.apply(lambda: 40 + 2) == 42 and len(pool) == 0
            os._exit(0 if ok else 1)
        print(os.waitstatus_to_exitcode(gos.waitpid(pid, 0)[1]), pool.apply(lambda: 'parent ok'))
    """)
    assert out == ['True', "0 parent ok"]


@pytest.mark.geventc_only
def test_at_fork_hook_may_use_the_pool():
    # gevent#2023: an after-fork hook registered by the application runs
    # after geventc reset the pool, so it can use it.
    out = run("""
        # Registered before the pool exists (before geventc.threadpool
        # registers its own hook): it runs first among those two.
        def hook():
            print('hook', pool.apply(lambda: 'ran in the pool'), flush=True)
        os.register_at_fork(after_in_child=hook)
        pool = gevent.get_hub().threadpool
        pool.apply(lambda: None)
        pid = gos.fork()
        if pid == 0:
            os._exit(0)
        print(os.waitstatus_to_exitcode(gos.waitpid(pid, 0)[1]))
    """)
    assert out == ['hook ran in the pool', '0']


def test_fork_with_blocked_greenlets_and_from_a_greenlet():
    # Greenlets blocked on a timer, an event and a pipe before the fork keep
    # working in the child (gevent's documented behaviour); the fork itself
    # happens in a greenlet that is not the main one.
    out = run("""
        from geventc.event import Event
        ev = Event()
        r, w = os.pipe()
        gos.make_nonblocking(r)
        woke = []
        sleeper = gevent.spawn(lambda: (gevent.sleep(0.2), woke.append('timer')))
        waiter = gevent.spawn(lambda: (ev.wait(), woke.append('event')))
        reader = gevent.spawn(lambda: woke.append(gos.nb_read(r, 10).decode()))
        gevent.sleep(0.01)
        def forker():
            pid = gos.fork()
            if pid == 0:
                ev.set()
                gevent.sleep(0.1)  # the parent's reader is gone by then
                os.write(w, b'pipe')
                gevent.joinall([sleeper, waiter, reader], timeout=5)
                os._exit(0 if sorted(woke) == ['event', 'pipe', 'timer'] else 1)
            # The pipe is shared: leave its data to the child's reader.
            reader.kill()
            return pid
        pid = gevent.spawn(forker).get()
        code = os.waitstatus_to_exitcode(gos.waitpid(pid, 0)[1])
        ev.set()
        gevent.joinall([sleeper, waiter], timeout=5)
        print(code, sorted(woke))
    """)
    assert out == ["0 ['event', 'timer']"]


@pytest.mark.geventc_only
def test_fork_with_active_child_watchers():
    # The parent's watched child is not the forked process's: its waitpid
    # sees no such child, its hub is not held by the watcher; the parent
    # still gets the real status.
    out = run("""
        sibling = child_exits(9, after=0.5)
        pid = gos.fork()
        if pid == 0:
            try:
                gos.waitpid(sibling, os.WNOHANG)
                ok = False
            except ChildProcessError:
                ok = True
            start = time.monotonic()
            gevent.get_hub().join(timeout=5)
            os._exit(0 if ok and time.monotonic() - start < 0.4 else 1)
        print(os.waitstatus_to_exitcode(gos.waitpid(pid, 0)[1]))
        print(os.waitstatus_to_exitcode(gos.waitpid(sibling, 0)[1]), zombies())
    """)
    assert out == ['0', '9 []']


@pytest.mark.geventc_only
def test_fork_in_a_native_thread_is_watched_by_that_threads_hub():
    out = run("""
        import threading
        result = []
        def in_thread():
            pid = gos.fork()
            if pid == 0:
                os._exit(11)
            result.append(os.waitstatus_to_exitcode(gos.waitpid(pid, 0)[1]))
        t = threading.Thread(target=in_thread)
        t.start()
        t.join()
        print(result, zombies())
    """)
    assert out == ['[11] []']


# -- close ------------------------------------------------------------------------

@pytest.mark.geventc_only
def test_close_wakes_a_greenlet_waiting_on_the_descriptor():
    out = run("""
        r, w = os.pipe()
        gos.make_nonblocking(r)
        def read():
            try:
                return gos.nb_read(r, 10)
            except OSError as ex:
                return errno.errorcode[ex.errno]
        g = gevent.spawn(read)
        gevent.sleep(0.05)
        gos.close(r)
        print(g.get(timeout=5))
        try:
            gos.close(r)
        except OSError as ex:
            print(errno.errorcode[ex.errno])
        os.close(w)
    """)
    assert out[-1] == 'EBADF', out
    assert out[0] in ('EBADF', "b''"), out


@pytest.mark.geventc_only
def test_close_plain_descriptors(tmp_path):
    out = run("""
        r, w = os.pipe()
        gos.close(w)
        print(os.read(r, 1) == b'')
        fd = os.open(%r, os.O_WRONLY | os.O_CREAT)
        gos.close(fd)
        for bad in (fd, -1):
            try:
                gos.close(bad)
            except OSError as ex:
                print(errno.errorcode[ex.errno])
    """ % str(tmp_path / 'f'))
    assert out == ['True', 'EBADF', 'EBADF']


def test_close_does_not_close_the_descriptor_number_once_reused():
    # close() closes late, once the greenlets it woke have run. Here the
    # woken select() returns, the socket's own close() may close the number
    # first and a new socket gets it: the late close must leave that
    # socket alone (gevent's own suite does exactly this between cases).
    out = run("""
        import socket
        from geventc import select as gselect
        a, b = socket.socketpair()
        fd = a.fileno()
        closer = gevent.spawn(gos.close, fd)
        print(gselect.select([fd], [], [], 3)[0] == [fd])
        try:
            a.close()
        except OSError:
            pass  # gevent's order: the late close came first
        c, d = socket.socketpair()
        print(c.fileno() == fd)
        closer.join()
        gevent.sleep(0.05)
        c.sendall(b'still open')
        print(d.recv(100))
        for s in (b, c, d):
            s.close()
    """)
    assert out == ['True', 'True', "b'still open'"], out


def test_close_of_a_reused_descriptor_number_is_a_first_close():
    # Same start as above; close() of the new socket's descriptor, while the
    # late close of the old one may still be pending, closes it (no EBADF).
    out = run("""
        import socket
        from geventc import select as gselect
        a, b = socket.socketpair()
        fd = a.fileno()
        gevent.spawn(gos.close, fd)
        gselect.select([fd], [], [], 3)
        try:
            a.close()
        except OSError:
            pass
        c = socket.socket()
        print(c.fileno() == fd)
        gos.close(fd)
        c.detach()
        gevent.sleep(0.05)
        try:
            os.fstat(fd)
        except OSError as ex:
            print(errno.errorcode[ex.errno])
        b.close()
    """)
    assert out == ['True', 'EBADF'], out
