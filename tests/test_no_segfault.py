"""Half-built objects and misused watchers give Python errors, never a crash.

Each probe runs in a child process; a child killed by a signal fails the test.
"""
import importlib

import pytest

from _helpers import IMPL_IS_GEVENT, assert_not_killed_by_signal, assert_ok, run_python

_COMPILED = ['geventc._core', 'geventc._hub', 'geventc._queue', 'geventc._socket',
             'geventc._local', 'geventc._ares']


def _extension_classes():
    if IMPL_IS_GEVENT:
        return []
    found = []
    for modname in _COMPILED:
        mod = importlib.import_module(modname)
        for name in sorted(dir(mod)):
            cls = getattr(mod, name)
            if not isinstance(cls, type) or not cls.__module__.startswith('geventc'):
                continue
            if cls.__flags__ & (1 << 9):    # Py_TPFLAGS_HEAPTYPE: a Python class
                continue
            found.append((modname, name))
    return found


# Every public attribute of an object made by __new__ alone: read it, call it
# with a few argument shapes, set it to odd values, then use it all again.
_SWEEP = r'''
import importlib, sys
from geventc import Timeout
modname, clsname = sys.argv[1], sys.argv[2]
cls = getattr(importlib.import_module(modname), clsname)
KEEP = {'__repr__', '__str__', '__len__', '__iter__', '__next__', '__bool__', '__hash__',
        '__enter__', '__exit__', '__call__', '__getitem__', '__contains__', '__reduce__',
        '__reduce_ex__', '__sizeof__'}
names = [n for n in dir(cls) if not n.startswith('__') or n in KEEP]
ARGS = [(), (None,), (1,), (lambda *a: None,), (1, 2)]
VALUES = [None, 1, -1, 2 ** 40, 'x', (), lambda *a: None]

def fresh():
    try:
        return cls.__new__(cls)
    except Exception:
        return None

def use(obj, name):
    try:
        value = getattr(obj, name)
    except BaseException:
        return
    if callable(value) and not isinstance(value, type):
        for args in ARGS:
            try:
                with Timeout(0.02):
                    value(*args)
            except BaseException:
                pass

for n in names:
    use(fresh(), n)
obj = fresh()
if obj is not None:
    for n in names:
        use(obj, n)
    for n in names:
        for v in VALUES:
            try:
                setattr(obj, n, v)
            except BaseException:
                pass
    for n in names:
        use(obj, n)
    for op in (repr, str, bool, hash, len, iter):
        try:
            op(obj)
        except BaseException:
            pass
del obj
import gc; gc.collect()
print('done')
'''


@pytest.mark.geventc_only
@pytest.mark.parametrize('modname,clsname', _extension_classes())
def test_every_attribute_of_an_object_made_by_new_alone(modname, clsname):
    res = run_python(_SWEEP, timeout=60, args=[modname, clsname])
    assert_not_killed_by_signal(res)
    assert_ok(res)


@pytest.mark.geventc_only
def test_watcher_made_by_new_alone():
    res = run_python("""
        import geventc.core as core
        for name in ('timer', 'io', 'signal', 'idle', 'prepare', 'check', 'fork',
                     'async_', 'child', 'stat', 'watcher'):
            cls = getattr(core, name)
            w = cls.__new__(cls)
            try:
                w.priority
                print(name, 'read')
            except TypeError as e:
                print(name, 'TypeError')
            try:
                w.priority = 1
            except (TypeError, AttributeError):
                pass
        lp = core.loop.__new__(core.loop)
        for name in ('now', 'update_now', 'run', 'break_', 'destroy', 'verify'):
            try:
                getattr(lp, name)()
            except Exception:
                pass
        print('ok')
    """)
    assert_ok(res)
    assert res.stdout.splitlines()[0] == 'timer TypeError'
    assert res.stdout.splitlines()[-1] == 'ok'


@pytest.mark.geventc_only
def test_waiter_made_by_new_alone_and_a_subclass_skipping_init():
    res = run_python("""
        import geventc
        from geventc.hub import Waiter
        w = Waiter.__new__(Waiter)
        w.clear()
        w.switch(1)            # nobody waits: stored
        print(w.get())
        w = Waiter.__new__(Waiter)
        w.clear()
        w.throw(ValueError('x'))
        try:
            w.get()
        except ValueError as e:
            print('raised', e)
        class MyWaiter(Waiter):
            def __init__(self):
                pass
        w = MyWaiter()
        w.clear()
        geventc.get_hub().loop.run_callback(w.switch, 'from hub')
        print(w.get())
        w = Waiter.__new__(Waiter)
        w.clear()
        with geventc.Timeout(0.05, False):
            w.get()
        print('timed out')
    """)
    assert_ok(res)
    assert res.stdout.splitlines() == ['1', 'raised x', 'from hub', 'timed out']


@pytest.mark.geventc_only
def test_priority_of_a_pending_watcher_cannot_be_changed():
    res = run_python("""
        import geventc
        lp = geventc.get_hub().loop
        t = lp.timer(10)
        t.feed(1, lambda: None)
        print(t.pending, t.active)
        try:
            t.priority = 2
            print('changed')
        except AttributeError:
            print('AttributeError')
        t.close()
        geventc.sleep(0.01)
        print('ok')
    """)
    assert_not_killed_by_signal(res)
    assert_ok(res)
    assert res.stdout.splitlines() == ['True False', 'AttributeError', 'ok']
