"""Several signal_handlers on one signal, cancel order, and other threads."""
import itertools

import pytest

from _helpers import assert_ok, run_python


def test_two_handlers_on_one_signal_both_fire():
    res = run_python("""
        import os, signal
        import geventc as gevent
        got = []
        a = gevent.signal_handler(signal.SIGUSR1, got.append, 'a')
        b = gevent.signal_handler(signal.SIGUSR1, got.append, 'b')
        os.kill(os.getpid(), signal.SIGUSR1)
        gevent.sleep(0.1)
        print(sorted(got))
        a.cancel()
        os.kill(os.getpid(), signal.SIGUSR1)
        gevent.sleep(0.1)
        print(sorted(got))
        b.cancel()
    """)
    assert_ok(res)
    assert res.stdout.splitlines() == ["['a', 'b']", "['a', 'b', 'b']"]


@pytest.mark.geventc_only
@pytest.mark.parametrize('order', list(itertools.permutations('abc')))
def test_cancel_in_any_order_restores_python_sigint(order):
    # gevent 26.9.0 leaves SIG_DFL behind (Ctrl-C then kills the process).
    res = run_python("""
        import os, signal, sys
        import geventc as gevent
        hs = {n: gevent.signal_handler(signal.SIGINT, print, n) for n in 'abc'}
        for n in sys.argv[1]:
            hs[n].cancel()
        print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)
        try:
            os.kill(os.getpid(), signal.SIGINT)
            gevent.sleep(0.5)
            print('not interrupted')
        except KeyboardInterrupt:
            print('KeyboardInterrupt')
    """, args=[''.join(order)])
    assert_ok(res)
    assert res.stdout.splitlines() == ['True', 'KeyboardInterrupt']


@pytest.mark.geventc_only
def test_previous_python_handler_chain_survives_nesting():
    res = run_python("""
        import os, signal
        import geventc as gevent
        py = []
        signal.signal(signal.SIGUSR2, lambda s, f: py.append('py'))
        got = []
        a = gevent.signal_handler(signal.SIGUSR2, got.append, 'a')
        b = gevent.signal_handler(signal.SIGUSR2, got.append, 'b')
        a.cancel()
        os.kill(os.getpid(), signal.SIGUSR2)
        gevent.sleep(0.1)
        b.cancel()
        os.kill(os.getpid(), signal.SIGUSR2)
        gevent.sleep(0.1)
        print(got, py)
    """)
    assert_ok(res)
    assert res.stdout.strip() == "['b'] ['py']"


def test_handler_created_in_another_thread_runs_in_that_threads_hub():
    res = run_python("""
        import os, signal, threading
        import geventc as gevent
        got = []
        out = []
        def thread_main():
            h = gevent.signal_handler(
                signal.SIGUSR1, lambda: got.append(threading.current_thread().name))
            gevent.sleep(0.05)
            os.kill(os.getpid(), signal.SIGUSR1)
            with gevent.Timeout(5, False):
                while not got:
                    gevent.sleep(0.01)
            h.cancel()
            out.append(list(got))
        t = threading.Thread(target=thread_main, name='T')
        t.start()
        t.join()
        print(out)
    """)
    assert_ok(res)
    assert res.stdout.strip() == "[['T']]"


@pytest.mark.geventc_only
def test_main_and_thread_handlers_on_one_signal_both_fire():
    # gevent 26.9.0 refuses a second loop on one signal (libev's limit).
    res = run_python("""
        import os, signal, threading
        import geventc as gevent
        got = []
        m = gevent.signal_handler(signal.SIGUSR1, got.append, 'main')
        ready = threading.Event()
        done = threading.Event()
        def thread_main():
            h = gevent.signal_handler(signal.SIGUSR1, got.append, 'thread')
            ready.set()
            with gevent.Timeout(5, False):
                while 'thread' not in got:
                    gevent.sleep(0.01)
            h.cancel()
            done.set()
        t = threading.Thread(target=thread_main)
        t.start()
        ready.wait()
        os.kill(os.getpid(), signal.SIGUSR1)
        with gevent.Timeout(5, False):
            while len(got) < 2:
                gevent.sleep(0.01)
        t.join()
        m.cancel()
        print(sorted(got))
    """)
    assert_ok(res)
    assert res.stdout.strip() == "['main', 'thread']"
