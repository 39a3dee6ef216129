"""`import geventc` loads only what the hub needs (issue 12, Speed); what
gevent leaves on its package after `import gevent` is still there."""
import json

import pytest

from _helpers import assert_ok, run_python

# Each costs a millisecond or more at import and is needed only by some uses.
NOT_AT_IMPORT = ['socket', 'ssl', 'subprocess', 'threading', 'traceback', 'signal', 'selectors',
                 'weakref', 'heapq', 'zope.interface', 'geventc.socket', 'geventc.ssl',
                 'geventc.threadpool', 'geventc.resolver', 'geventc.signal', 'geventc.events',
                 'geventc.monkey', 'geventc.hub']


def imported_by(code):
    res = assert_ok(run_python('''
        import json, sys
        before = set(sys.modules)
        %s
        print(json.dumps(sorted(set(sys.modules) - before)))
    ''' % code))
    return set(json.loads(res.stdout.strip().splitlines()[-1]))


@pytest.mark.geventc_only
def test_import_geventc_leaves_the_expensive_modules_alone():
    new = imported_by('import geventc')
    assert 'geventc._hub' in new  # the probe works
    assert not new & set(NOT_AT_IMPORT), sorted(new & set(NOT_AT_IMPORT))


def test_package_attributes_gevent_has_after_a_bare_import():
    res = assert_ok(run_python('''
        import importlib, sys
        import geventc
        for name in ['hub', 'event', 'timeout', 'greenlet', 'exceptions', 'os', '_config']:
            mod = getattr(geventc, name)
            assert mod is importlib.import_module('geventc.' + name), name
            assert name in dir(geventc), name
        assert geventc.hub.Hub.__name__ == 'Hub'
        assert geventc.event.Event().wait(0) is False
        from geventc import *
        assert spawn is geventc.spawn and fork is geventc.fork
        print('ok')
    '''))
    assert res.stdout.strip() == 'ok'


def test_unknown_names_are_attribute_errors():
    res = assert_ok(run_python('''
        import geventc
        for name in ['no_such_thing', 'socket', '__wrapped__']:
            try:
                getattr(geventc, name)
            except AttributeError as e:
                print(name, 'AttributeError', repr(name) in str(e))
            else:
                print(name, 'found')
    '''))
    assert res.stdout.split('\n')[:3] == ['no_such_thing AttributeError True',
                                          'socket AttributeError True',
                                          '__wrapped__ AttributeError True']


@pytest.mark.geventc_only
def test_signal_is_a_callable_module_on_first_use():
    res = assert_ok(run_python('''
        import signal, sys
        import geventc
        assert 'geventc.signal' not in sys.modules
        fired = []
        geventc.signal(signal.SIGUSR1, fired.append, 'usr1')
        import geventc.signal as module
        assert module is geventc.signal and module.getsignal is not None
        import os
        os.kill(os.getpid(), signal.SIGUSR1)
        geventc.sleep(0.2)
        print(fired)
    '''))
    assert res.stdout.strip() == "['usr1']"


@pytest.mark.geventc_only
def test_monkey_is_reachable_from_the_package():
    # `import geventc; geventc.monkey.patch_all()`, as issue 12 spells it.
    res = assert_ok(run_python('''
        import sys
        import geventc
        assert 'geventc.monkey' not in sys.modules
        print(geventc.monkey.__name__, hasattr(geventc.monkey, 'get_original'))
    '''))
    assert res.stdout.strip() == 'geventc.monkey True'


def test_what_is_left_for_later_still_works_when_needed():
    # The hub's loop (threading, socketpair for signals) and the error
    # printer (traceback) import their modules when first used.
    res = run_python('''
        import sys
        import geventc
        def fail():
            raise ValueError('printed by the hub')
        g = geventc.spawn(fail)
        g.join()
        print(type(g.exception).__name__, geventc.get_hub().loop.default)
    ''')
    assert_ok(res)
    assert res.stdout.strip() == 'ValueError True'
    assert 'Traceback (most recent call last)' in res.stderr
    assert "ValueError: printed by the hub" in res.stderr


@pytest.mark.parametrize('starter', ['monitor', 'threadpool'])
def test_threading_imported_later_still_knows_the_main_thread(starter):
    # threading takes whichever thread imports it first for the main thread;
    # if that were one of geventc's native threads, the interpreter would
    # wait for it forever at exit.
    res = assert_ok(run_python('''
        import sys, time, _thread
        import geventc
        main = _thread.get_ident()
        if sys.argv[1] == 'monitor':
            geventc.spawn(time.sleep, 0.3).join()   # the monitor reports, in its thread
            geventc.sleep(0.05)
        else:
            geventc.get_hub().threadpool.apply(__import__, ('threading',))
        import threading
        print(threading.main_thread().ident == main, threading.current_thread() is threading.main_thread())
    ''', args=[starter], extra_env={'GEVENT_MONITOR_THREAD_ENABLE': '1',
                                   'GEVENT_MAX_BLOCKING_TIME': '0.1'}))
    assert res.stdout.strip().splitlines()[-1] == 'True True'
    if starter == 'monitor':
        assert 'appears to be blocked' in res.stdout + res.stderr  # the monitor did run
