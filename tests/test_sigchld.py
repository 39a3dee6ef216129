"""An application's SIGCHLD handler and waitpid calls next to geventc's
child watching (gevent's test__monkey_sigchld* scenarios, written against
geventc.signal and geventc.os directly, since they do not need monkey).
"""
import textwrap

import pytest

from _helpers import assert_ok, describe, run_python

pytestmark = pytest.mark.filterwarnings('error')


def run(code):
    res = run_python(textwrap.dedent(code))
    assert_ok(res)
    return res


@pytest.mark.parametrize('forker', ['fork', 'forkpty'])
def test_handler_runs_in_a_greenlet_and_waitpid_finds_the_child(forker):
    res = run("""
        import errno, os, signal, sys
        import geventc as gevent
        from geventc import os as gos, signal as gsignal

        calls = []
        def handler(signum, frame):
            gevent.sleep(0.01)  # may block: it runs in its own greenlet
            calls.append((signum, frame))
            raise TypeError('reported, not raised into the main greenlet')

        assert gsignal.getsignal(signal.SIGCHLD) == signal.SIG_DFL
        assert gsignal.signal(signal.SIGCHLD, handler) == signal.SIG_DFL
        assert gsignal.getsignal(signal.SIGCHLD) is handler

        if %r == 'fork':
            pid = gos.fork()
        else:
            pid = gos.forkpty()[0]
        if pid == 0:
            gevent.sleep(0.2)
            os._exit(0)
        with gevent.Timeout(5):
            while not calls:
                gevent.sleep(0.01)
        wpid, status = gos.waitpid(-1, os.WNOHANG)
        print(wpid == pid, status, calls)
        try:
            gos.waitpid(-1, os.WNOHANG)
        except ChildProcessError as ex:
            print('ECHILD', ex.errno == errno.ECHILD)
    """ % forker)
    assert res.stdout.split('\n')[:2] == ['True 0 [(%d, None)]' % 17, 'ECHILD True'], describe(res)
    assert 'TypeError: reported, not raised into the main greenlet' in res.stderr, describe(res)


@pytest.mark.geventc_only
def test_handler_for_a_child_geventc_does_not_watch():
    # The kernel delivers SIGCHLD for every child: the handler runs for a
    # raw os.fork() child too, and its own os.waitpid gets the status.
    res = run("""
        import os, signal
        import geventc as gevent
        from geventc import signal as gsignal
        got = []
        def handler(signum, frame):
            got.append(os.waitpid(-1, os.WNOHANG))
        gsignal.signal(signal.SIGCHLD, handler)
        pid = os.fork()
        if pid == 0:
            os._exit(3)
        with gevent.Timeout(5):
            while not got:
                gevent.sleep(0.01)
        print(got[0][0] == pid, os.waitstatus_to_exitcode(got[0][1]))
    """)
    assert res.stdout.split() == ['True', '3'], describe(res)


def test_resetting_to_sig_dfl_and_sig_ign():
    res = run("""
        import signal
        from geventc import signal as gsignal
        handler = lambda *a: None
        gsignal.signal(signal.SIGCHLD, handler)
        print(gsignal.signal(signal.SIGCHLD, signal.SIG_IGN) is handler,
              signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN,
              gsignal.signal(signal.SIGCHLD, signal.SIG_DFL) == signal.SIG_IGN,
              gsignal.getsignal(signal.SIGCHLD) == signal.SIG_DFL)
        try:
            gsignal.signal(signal.SIGCHLD, 'not a handler')
        except TypeError:
            print('TypeError')
        print(gsignal.signal(signal.SIGUSR1, handler) == signal.SIG_DFL,
              gsignal.getsignal(signal.SIGUSR1) is handler)
    """)
    assert res.stdout.split() == ['True'] * 4 + ['TypeError', 'True', 'True'], describe(res)


@pytest.mark.geventc_only
def test_raw_handler_and_raw_waitpid_of_the_application_keep_working():
    # No geventc cooperation asked for: the application's own handler (the
    # stdlib's signal.signal) reaps its raw children with os.waitpid while
    # geventc watches one of its own; each gets the right status.
    res = run("""
        import os, signal, time
        import geventc as gevent
        from geventc import os as gos
        raw = []
        def handler(signum, frame):
            while True:
                try:
                    pid, status = os.waitpid(raw_pid, os.WNOHANG)
                except ChildProcessError:
                    return
                if not pid:
                    return
                raw.append(os.waitstatus_to_exitcode(status))
        signal.signal(signal.SIGCHLD, handler)
        raw_pid = os.fork()
        if raw_pid == 0:
            time.sleep(0.1)
            os._exit(21)
        watched = gos.fork()
        if watched == 0:
            time.sleep(0.2)
            os._exit(22)
        _, status = gos.waitpid(watched, 0)
        with gevent.Timeout(5):
            while not raw:
                gevent.sleep(0.01)
        print(os.waitstatus_to_exitcode(status), raw)
    """)
    assert res.stdout.split('\n')[0] == '22 [21]', describe(res)


@pytest.mark.geventc_only
def test_handler_runs_directly_while_there_is_no_hub():
    # A signal handler must not make a hub (it may have interrupted the
    # making of one): without a hub the handler runs at once, as the stdlib's.
    res = run("""
        import os, signal, time
        from geventc import signal as gsignal
        from geventc.hub import _get_hub
        got = []
        gsignal.signal(signal.SIGCHLD, lambda signum, frame: got.append((signum, frame)))
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
        print(got, _get_hub() is None, os.waitpid(pid, 0)[0] == pid)
    """)
    assert res.stdout.strip() == '[(17, None)] True True', describe(res)
