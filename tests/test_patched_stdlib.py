"""Bugs found by running CPython's own test suites under patch_all
(tests/stdlib_suite), each reduced to a fresh patched interpreter here."""
from _helpers import assert_ok, run_python


def ok(code, **kwargs):
    res = run_python(code, **kwargs)
    assert_ok(res)
    return res.stdout


def test_hub_made_after_patch_all_is_the_only_one_and_runs_threads():
    # The loop's signal wake-up pair used socket.socketpair: patched, it
    # made cooperative sockets while the first hub was being built, hence a
    # second hub on the same libev loop, and a started thread (greenlet)
    # that never ran (CPython's test_httplib HTTPSTest hung in flag.wait()).
    out = ok('''
        from geventc import monkey
        monkey.patch_all()
        import gc, threading, selectors, socket
        from geventc.hub import Hub, get_hub
        get_hub()
        print(sum(1 for o in gc.get_objects() if isinstance(o, Hub)))
        started = threading.Event()
        def serve():
            started.set()
            with selectors.DefaultSelector() as sel:
                a, b = socket.socketpair()
                sel.register(a, selectors.EVENT_READ)
                print('poll', sel.select(0.05))
        t = threading.Thread(target=serve)
        t.start()
        print('woken', started.wait(5))
        t.join(5)
        print('alive', t.is_alive())
    ''', timeout=20)
    assert out.split('\n') == ['1', 'woken True', 'poll []', 'alive False', '']
