"""geventc.subprocess: the stdlib's API, with only the waiting greenlet blocked.

Real children throughout. Cases that fork, install SIGCHLD handlers or call
waitpid(-1) run in a child interpreter; the rest run here.
"""
import errno
import hashlib
import os
import signal
import sys
import textwrap
import threading
import time

import pytest

import geventc as gevent
from geventc import subprocess

from _helpers import assert_ok, describe, run_python, zombies

pytestmark = pytest.mark.filterwarnings('error')

PY = sys.executable


def py(code):
    return [PY, '-c', textwrap.dedent(code)]


@pytest.fixture
def ticks():
    """A greenlet ticking every 10 ms: proof that the hub kept running."""
    count = []

    def run():
        while True:
            count.append(1)
            gevent.sleep(0.01)

    g = gevent.spawn(run)
    yield count
    g.kill()


@pytest.fixture(autouse=True)
def _no_zombies_left():
    yield
    gevent.sleep(0)  # let a watcher that is due run
    assert zombies() == []


# -- the hub keeps running ------------------------------------------------------------------

def test_a_timer_fires_while_a_child_runs(ticks):
    fired = []
    gevent.spawn_later(0.1, fired.append, 'timer')
    start = time.monotonic()
    p = subprocess.Popen(['sleep', '0.4'])
    assert p.wait() == 0
    assert fired == ['timer']
    assert len(ticks) >= 15
    assert time.monotonic() - start >= 0.35


def test_communicate_lets_the_hub_run(ticks):
    out, err = subprocess.Popen(py("""
        import sys, time
        time.sleep(0.3)
        sys.stdout.write('out')
        sys.stderr.write('err')
    """), stdout=subprocess.PIPE, stderr=subprocess.PIPE).communicate()
    assert (out, err) == (b'out', b'err')
    assert len(ticks) >= 10


def test_reading_a_pipe_line_by_line_lets_the_hub_run(ticks):
    p = subprocess.Popen(py("""
        import time
        for i in range(3):
            print('line', i, flush=True)
            time.sleep(0.1)
    """), stdout=subprocess.PIPE, text=True)
    with p:
        lines = list(p.stdout)
    assert lines == ['line 0\n', 'line 1\n', 'line 2\n']
    assert p.returncode == 0
    assert len(ticks) >= 10


def test_children_run_concurrently():
    start = time.monotonic()
    jobs = [gevent.spawn(subprocess.run, ['sleep', '0.3']) for _ in range(10)]
    gevent.joinall(jobs, raise_error=True)
    assert [j.value.returncode for j in jobs] == [0] * 10
    assert time.monotonic() - start < 2.5  # 10 x 0.3 s one after the other would be 3 s


def test_gevent_wait_on_popen():
    p = subprocess.Popen([PY, '-c', 'import sys; sys.exit(11)'])
    assert gevent.wait([p], timeout=10) == [p]
    assert p.poll() == 11


def test_poll_sees_the_exit_without_yielding():
    # gevent's test__subprocess_poll: a loop that never yields to the hub.
    p = subprocess.Popen(['true'])
    deadline = time.monotonic() + 10
    while p.poll() is None:
        assert time.monotonic() < deadline
    assert p.returncode == 0


# -- timeouts keep the output -------------------------------------------------------------

SLOW_WRITER = """
import sys, time
sys.stdout.write('first;'); sys.stdout.flush()
sys.stderr.write('e1;'); sys.stderr.flush()
time.sleep(0.5)
sys.stdout.write('second'); sys.stdout.flush()
sys.stderr.write('e2')
"""


@pytest.mark.geventc_only
def test_communicate_timeout_keeps_the_output_and_can_be_called_again():
    p = subprocess.Popen(py(SLOW_WRITER), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with pytest.raises(subprocess.TimeoutExpired) as info:
        p.communicate(timeout=0.25)
    assert info.value.timeout == 0.25
    assert info.value.output == b'first;'
    assert info.value.stderr == b'e1;'
    assert p.returncode is None
    assert p.communicate() == (b'first;second', b'e1;e2')
    assert p.returncode == 0


@pytest.mark.geventc_only
def test_communicate_timeout_with_input_then_again_in_text_mode():
    p = subprocess.Popen(py("""
        import sys, time
        data = sys.stdin.read()
        time.sleep(0.4)
        sys.stdout.write(data.upper())
    """), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    with pytest.raises(subprocess.TimeoutExpired):
        p.communicate('some input\r\n', timeout=0.1)
    with pytest.raises(ValueError):
        p.communicate('more input')  # as the stdlib: input only once
    assert p.communicate() == ('SOME INPUT\n', None)


def test_wait_timeout():
    p = subprocess.Popen(['sleep', '5'])
    with pytest.raises(subprocess.TimeoutExpired) as info:
        p.wait(timeout=0.1)
    assert info.value.cmd == ['sleep', '5']
    p.kill()
    assert p.wait() == -signal.SIGKILL


def test_run_timeout_kills_and_reports_the_output_so_far():
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as info:
        subprocess.run(py(SLOW_WRITER.replace('0.5', '30')), capture_output=True, timeout=0.3)
    assert info.value.stdout == b'first;'
    assert info.value.stderr == b'e1;'
    assert time.monotonic() - start < 5


@pytest.mark.geventc_only
def test_run_timeout_does_not_wait_for_a_grandchild_holding_the_pipes():
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run('sleep 5', shell=True, timeout=0.1, capture_output=True)
    assert time.monotonic() - start < 3


# -- what gets reported ---------------------------------------------------------------------

def test_missing_program_is_file_not_found():
    with pytest.raises(FileNotFoundError) as info:
        subprocess.Popen(['/no/such/program', 'x'])
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == '/no/such/program'
    with pytest.raises(FileNotFoundError):
        subprocess.run(['no-such-program-on-the-path'])


def test_bad_cwd_is_reported_with_the_cwd():
    with pytest.raises(FileNotFoundError) as info:
        subprocess.Popen(['true'], cwd='/no/such/dir')
    assert info.value.filename == '/no/such/dir'


@pytest.mark.geventc_only
def test_preexec_fn_failure_is_subprocess_error():
    def fail():
        raise RuntimeError('no')
    with pytest.raises(subprocess.SubprocessError):
        subprocess.Popen(['true'], preexec_fn=fail)


def test_communicate_after_kill_returns_what_was_written():
    p = subprocess.Popen(py("""
        import sys, time
        sys.stdout.write('written before the kill'); sys.stdout.flush()
        time.sleep(30)
    """), stdout=subprocess.PIPE)
    assert p.stdout.read(len('written')) == b'written'
    p.kill()
    assert p.communicate() == (b' before the kill', None)
    assert p.returncode == -signal.SIGKILL


def test_wait_on_a_reaped_child_returns_its_code():
    p = subprocess.Popen([PY, '-c', 'raise SystemExit(3)'])
    assert p.wait() == 3
    assert p.wait() == 3
    assert p.poll() == 3
    p.send_signal(signal.SIGTERM)  # a no-op once it exited
    with pytest.raises(ChildProcessError):
        os.waitpid(p.pid, 0)


@pytest.mark.geventc_only
def test_wait_on_a_child_reaped_behind_popens_back_is_0_as_the_stdlibs():
    p = subprocess.Popen(['sh', '-c', 'exit 5'])
    pid, status = os.waitpid(p.pid, 0)  # raw and blocking: the watcher had no turn
    assert (pid, os.waitstatus_to_exitcode(status)) == (p.pid, 5)
    assert p.wait(timeout=10) == 0


def test_writing_to_a_child_that_closed_its_input_is_broken_pipe():
    p = subprocess.Popen(['true'], stdin=subprocess.PIPE)
    p.wait()
    with pytest.raises(BrokenPipeError):
        p.stdin.write(b'x' * 100000)
        p.stdin.flush()
    p.stdin.close()  # as the stdlib's: the failed data is dropped
    assert p.stdin.closed


def test_communicate_ignores_a_child_that_does_not_read():
    p = subprocess.Popen(['true'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert p.communicate(b'x' * 1000000) == (b'', None)
    assert p.returncode == 0


@pytest.mark.geventc_only
def test_undecodable_output_raises_from_communicate(capfd):
    with subprocess.Popen([PY, '-c', 'import os; os.write(1, b"\\xff")'],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as p:
        with pytest.raises(UnicodeDecodeError):
            p.communicate()
    assert 'UnicodeDecodeError' not in capfd.readouterr().err  # not printed by the hub too


def test_100_mb_through_a_pipe_arrive_byte_for_byte():
    data = os.urandom(1 << 20) * 100
    p = subprocess.Popen(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out, _ = p.communicate(data)
    assert len(out) == len(data)
    assert hashlib.sha256(out).digest() == hashlib.sha256(data).digest()


def test_pipe_between_two_children():
    producer = subprocess.Popen(py("""
        import sys
        block = bytes(range(256)) * 4096
        for _ in range(40):
            sys.stdout.buffer.write(block)
    """), stdout=subprocess.PIPE)
    consumer = subprocess.Popen(py("""
        import hashlib, sys
        print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())
    """), stdin=producer.stdout, stdout=subprocess.PIPE)
    producer.stdout.close()
    out, _ = consumer.communicate()
    assert producer.wait() == 0
    assert out.decode().strip() == hashlib.sha256(bytes(range(256)) * 4096 * 40).hexdigest()


# -- the API ----------------------------------------------------------------------------------

def test_call_check_call_check_output():
    assert subprocess.call(['sh', '-c', 'exit 4']) == 4
    assert subprocess.check_call(['true']) == 0
    with pytest.raises(subprocess.CalledProcessError) as info:
        subprocess.check_call(['sh', '-c', 'exit 5'])
    assert info.value.returncode == 5
    assert subprocess.check_output(['echo', 'hi']) == b'hi\n'
    assert subprocess.check_output(['cat'], input=b'in') == b'in'
    assert subprocess.check_output('echo out; echo err >&2', shell=True,
                                   stderr=subprocess.STDOUT, text=True) == 'out\nerr\n'
    with pytest.raises(subprocess.CalledProcessError) as info:
        subprocess.check_output('echo partial; exit 6', shell=True)
    assert (info.value.returncode, info.value.output) == (6, b'partial\n')
    with pytest.raises(ValueError):
        subprocess.check_output(['true'], stdout=subprocess.PIPE)
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.call(['sleep', '5'], timeout=0.1)


def test_run_arguments():
    cp = subprocess.run(['cat'], input='héllo', capture_output=True, encoding='utf-8')
    assert (cp.returncode, cp.stdout, cp.stderr) == (0, 'héllo', '')
    assert isinstance(cp, subprocess.CompletedProcess)
    cp = subprocess.run('echo x; echo y >&2; exit 2', shell=True, capture_output=True, text=True)
    assert (cp.returncode, cp.stdout, cp.stderr) == (2, 'x\n', 'y\n')
    with pytest.raises(subprocess.CalledProcessError) as info:
        subprocess.run(['sh', '-c', 'echo no; exit 1'], stdout=subprocess.PIPE, check=True)
    assert info.value.stdout == b'no\n'
    assert subprocess.run(['true'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    with pytest.raises(ValueError):
        subprocess.run(['cat'], input=b'x', stdin=subprocess.PIPE)
    with pytest.raises(ValueError):
        subprocess.run(['true'], capture_output=True, stdout=subprocess.PIPE)


def test_getoutput_getstatusoutput():
    assert subprocess.getoutput('echo one; echo two >&2') == 'one\ntwo'
    assert subprocess.getstatusoutput('echo bad; exit 3') == (3, 'bad')


def test_popen_arguments(tmp_path):
    env = {'ONLY_THIS': 'yes', 'PATH': os.environ.get('PATH', '')}
    r, w = os.pipe()
    try:
        out = subprocess.check_output(py("""
            import os, sys
            os.write(int(sys.argv[1]), b'via pass_fds')
            print(os.getcwd(), os.environ.get('ONLY_THIS'), 'HOME' in os.environ,
                  os.getsid(0) == os.getpid(), oct(os.umask(0)))
        """) + [str(w)], cwd=str(tmp_path), env=env, pass_fds=[w],
            start_new_session=True, umask=0o27, text=True)
        assert os.read(r, 100) == b'via pass_fds'
    finally:
        os.close(r)
        os.close(w)
    assert out.split() == [str(tmp_path), 'yes', 'False', 'True', '0o27']


def test_process_group_and_preexec_fn():
    out = subprocess.check_output(py("""
        import os
        print(os.getpgid(0) == os.getpid(), os.environ['SET_IN_PREEXEC'])
    """), process_group=0, preexec_fn=lambda: os.environ.__setitem__('SET_IN_PREEXEC', 'ok'),
        text=True)
    os.environ.pop('SET_IN_PREEXEC', None)
    assert out.split() == ['True', 'ok']


def test_close_fds_and_restore_signals():
    r, w = os.pipe()
    try:
        os.set_inheritable(w, True)
        code = 'import os; os.fstat(%d)' % w
        with pytest.raises(subprocess.CalledProcessError):
            subprocess.check_call([PY, '-c', code], stderr=subprocess.DEVNULL)  # closed
        assert subprocess.check_call([PY, '-c', code], close_fds=False) == 0
    finally:
        os.close(r)
        os.close(w)

    def sigpipe_ignored(**kwargs):
        # Python ignores SIGPIPE; restore_signals gives the child the default.
        status = subprocess.check_output(['cat', '/proc/self/status'], text=True, **kwargs)
        mask = int([line for line in status.splitlines() if line.startswith('SigIgn:')][0].split()[1], 16)
        return bool(mask & (1 << (signal.SIGPIPE - 1)))
    assert not sigpipe_ignored()
    assert sigpipe_ignored(restore_signals=False)


def test_text_modes_and_buffering():
    for kwargs in ({'text': True}, {'universal_newlines': True}, {'encoding': 'latin-1'},
                   {'errors': 'replace'}):
        p = subprocess.Popen([PY, '-c', 'print("a", end="\\r\\n")'], stdout=subprocess.PIPE, **kwargs)
        out, _ = p.communicate()
        assert out == 'a\n', kwargs
    with subprocess.Popen(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0) as p:
        p.stdin.write(b'unbuffered\n')
        assert p.stdout.readline() == b'unbuffered\n'
        p.stdin.close()
    with subprocess.Popen(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          bufsize=1, text=True) as p:
        p.stdin.write('line buffered\n')
        assert p.stdout.readline() == 'line buffered\n'
        p.stdin.close()
    with pytest.raises(subprocess.SubprocessError):
        subprocess.Popen(['true'], text=True, universal_newlines=False)
    with pytest.raises(TypeError):
        subprocess.Popen(['true'], bufsize='big')


def test_bad_arguments_are_the_stdlibs_errors():
    with pytest.raises(ValueError):
        subprocess.Popen(['true'], stdout=subprocess.STDOUT)
    with pytest.raises(ValueError):
        subprocess.Popen(['true'], startupinfo=object())
    with pytest.raises(ValueError):
        subprocess.Popen(['true'], creationflags=1)
    with pytest.raises(ValueError):
        subprocess.Popen(['true'], env={'A=B': 'c'})
    with pytest.raises(TypeError):
        subprocess.Popen(['true'], user=1.5)
    with pytest.raises(ValueError):
        subprocess.Popen(['true'], group=-1)
    with pytest.warns(RuntimeWarning):
        subprocess.run(['true'], pass_fds=[2], close_fds=False)


def test_signals():
    for method, code in (('terminate', -signal.SIGTERM), ('kill', -signal.SIGKILL)):
        p = subprocess.Popen(['sleep', '10'])
        getattr(p, method)()
        assert p.wait() == code
    p = subprocess.Popen(['sleep', '10'])
    p.send_signal(signal.SIGINT)
    assert p.wait() == -signal.SIGINT


def test_context_manager_waits_and_closes():
    with subprocess.Popen(['sh', '-c', 'exit 2'], stdout=subprocess.PIPE,
                          stdin=subprocess.PIPE, stderr=subprocess.PIPE) as p:
        pass
    assert p.returncode == 2
    assert p.stdout.closed and p.stdin.closed and p.stderr.closed


def test_no_descriptor_leaks():
    before = len(os.listdir('/proc/self/fd'))
    for _ in range(20):
        subprocess.run(['echo', 'x'], capture_output=True, input=b'')
        with pytest.raises(FileNotFoundError):
            subprocess.run(['/no/such'], capture_output=True, input=b'')
    assert len(os.listdir('/proc/self/fd')) == before


def test_exports_the_stdlib_names():
    import subprocess as stdlib
    for name in stdlib.__all__:
        assert hasattr(subprocess, name), name
    assert subprocess.TimeoutExpired is stdlib.TimeoutExpired
    assert subprocess.CalledProcessError is stdlib.CalledProcessError


# -- threads, forks, SIGCHLD -------------------------------------------------------------------

@pytest.mark.geventc_only
def test_popen_in_a_native_thread():
    # gevent#688: gevent raises TypeError (child watchers need the default loop).
    out = []

    def in_thread():
        out.append(subprocess.run(['sh', '-c', 'echo from a thread; exit 3'], capture_output=True))

    t = threading.Thread(target=in_thread)
    t.start()
    t.join(30)
    assert [(cp.returncode, cp.stdout) for cp in out] == [(3, b'from a thread\n')]


def run_script(code):
    res = run_python(textwrap.dedent(code))
    assert_ok(res)
    return res


@pytest.mark.geventc_only
def test_a_cooperative_waitpid_minus_1_and_popen_both_get_the_status():
    res = run_script("""
        import os, time
        import geventc as gevent
        from geventc import os as gos, subprocess
        p = subprocess.Popen(['sh', '-c', 'exit 7'])
        time.sleep(0.3)  # blocking: the watcher cannot reap it first
        pid, status = gos.waitpid(-1, 0)
        print(pid == p.pid, os.waitstatus_to_exitcode(status), p.wait())
    """)
    assert res.stdout.split() == ['True', '7', '7'], describe(res)


@pytest.mark.geventc_only
def test_an_application_handler_reaping_every_child():
    # A SIGCHLD handler of the application's own doing os.waitpid(-1): Popen
    # still finishes; the status is the handler's, Popen reports 0 (the
    # stdlib's rule for a child reaped behind its back) when it lost the race.
    res = run_script("""
        import os, signal
        import geventc as gevent
        from geventc import subprocess
        reaped = []
        def handler(signum, frame):
            try:
                while True:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                    if not pid:
                        break
                    reaped.append(os.waitstatus_to_exitcode(status))
            except ChildProcessError:
                pass
        signal.signal(signal.SIGCHLD, handler)
        codes = [subprocess.run(['sh', '-c', 'exit 9']).returncode for _ in range(5)]
        print(all(c in (0, 9) for c in codes), reaped.count(9) + codes.count(9) >= 5)
    """)
    assert res.stdout.split() == ['True', 'True'], describe(res)


@pytest.mark.geventc_only
def test_sigchld_reaches_the_applications_wakeup_fd_once():
    # gevent's test__monkey_sigchld_wakeup_fd, through geventc.signal.
    res = run_script("""
        import os, sys, signal
        import geventc as gevent
        from geventc import os as gos, signal as gsignal, subprocess
        r, w = os.pipe()
        gos.make_nonblocking(r)
        gos.make_nonblocking(w)
        gsignal.signal(signal.SIGCHLD, lambda *a: None)
        gsignal.set_wakeup_fd(w, warn_on_full_buffer=True)
        with subprocess.Popen([sys.executable, '-c', 'pass']):
            pass
        with gevent.Timeout(5):
            print(gos.nb_read(r, 65535) == bytes([signal.SIGCHLD]))
    """)
    assert res.stdout.split() == ['True'], describe(res)


def test_popen_after_a_forked_child_resets_sigchld():
    # gevent's test__monkey_sigchld_2 and _3: the parent watches the forked
    # child; the child resets SIGCHLD and runs a Popen of its own.
    res = run_script("""
        import os, signal, sys
        import geventc as gevent
        from geventc import os as gos, signal as gsignal, subprocess
        gsignal.signal(signal.SIGCHLD, lambda *a: None)
        pid = gos.fork()
        if pid == 0:
            gsignal.signal(signal.SIGCHLD, signal.SIG_DFL)
            p = subprocess.Popen([sys.executable, '-c', 'import sys'],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            p.stdout.read()
            p.stderr.read()
            os._exit(p.wait())
        print(gos.waitpid(pid, 0)[1])
    """)
    assert res.stdout.split() == ['0'], describe(res)


@pytest.mark.geventc_only
def test_forked_copy_of_a_popen_does_not_hang():
    res = run_script("""
        import os, time
        import geventc as gevent
        from geventc import os as gos, subprocess
        p = subprocess.Popen(['sleep', '2'])
        pid = gos.fork()
        if pid == 0:
            start = time.monotonic()
            code = p.wait()  # the parent's child: not ours to wait for
            os._exit(0 if code == 0 and time.monotonic() - start < 1 else 1)
        print(os.waitstatus_to_exitcode(gos.waitpid(pid, 0)[1]))
        p.kill()
        print(p.wait())
    """)
    assert res.stdout.split() == ['0', '-9'], describe(res)


@pytest.mark.geventc_only
@pytest.mark.parametrize('main_hub', [True, False])
def test_child_left_running_by_an_ended_thread_is_reaped(main_hub):
    # The thread's loop never runs again: the child is handed to the main
    # thread's loop, or (no hub there) reaped when geventc next starts one.
    res = run_script("""
        import os, threading, time
        import geventc as gevent
        from geventc import subprocess
        main_hub = %r
        if main_hub:
            gevent.get_hub()
        def fire_and_forget():
            subprocess.Popen(['sleep', '0.2'])
        t = threading.Thread(target=fire_and_forget)
        t.start()
        t.join()
        if main_hub:
            gevent.sleep(1)
        else:
            time.sleep(1)
            t = threading.Thread(target=subprocess.run, args=(['true'],))
            t.start()
            t.join()
        from _helpers import child_states
        print(list(child_states().values()))
    """ % main_hub)
    assert res.stdout.split('\n')[0] == '[]', describe(res)


@pytest.mark.geventc_only
def test_child_of_a_pool_worker_is_reaped_while_the_worker_idles():
    # A worker thread lives on but its loop does not run between tasks: the
    # default loop reaps the child it started.
    res = run_script("""
        import os
        import geventc as gevent
        from geventc import subprocess
        pool = gevent.get_hub().threadpool
        p = pool.apply(subprocess.Popen, (['sleep', '0.2'],))
        gevent.sleep(1)
        from _helpers import child_states
        print(list(child_states().values()), pool.apply(p.wait))
    """)
    assert res.stdout.split('\n')[0] == '[] 0', describe(res)


@pytest.mark.geventc_only
@pytest.mark.parametrize('how', ['wait', 'communicate'])
def test_ctrl_c_while_waiting_gives_the_child_a_moment_then_raises(how):
    # The stdlib's rule: on KeyboardInterrupt, wait up to 0.25 s more for
    # the child (which got the SIGINT too), once per Popen, then re-raise.
    # (Under gevent 26.9.0 this script dies of the interrupt instead.)
    res = run_script("""
        import os, signal, sys, time
        import geventc as gevent
        from geventc import subprocess
        how = %r
        pipes = {'stdout': subprocess.PIPE, 'stderr': subprocess.PIPE} if how == 'communicate' else {}
        p = subprocess.Popen(['sleep', '5'], **pipes)
        gevent.spawn_later(0.1, os.kill, os.getpid(), signal.SIGINT)
        start = time.monotonic()
        try:
            getattr(p, how)()
        except KeyboardInterrupt:
            took = time.monotonic() - start
            print('KeyboardInterrupt', 0.3 <= took < 3, p.returncode, p._sigint_wait_secs)
        p.kill()
        p.wait()
        p.stdout and p.stdout.close()
        p.stderr and p.stderr.close()
    """ % how)
    assert res.stdout.split('\n')[0] == 'KeyboardInterrupt True None 0', describe(res)
