"""geventc.time: the standard library's time module with a cooperative sleep."""
import time

import pytest

import geventc
import geventc.time

from _helpers import assert_ok, run_python


def test_sleep_is_geventc_sleep():
    assert geventc.time.sleep is geventc.sleep
    assert geventc.time.sleep is not time.sleep


def test_sleep_lets_other_greenlets_run():
    order = []

    def sleeper():
        order.append('sleeper starts')
        geventc.time.sleep(0.05)
        order.append('sleeper wakes')

    def other():
        order.append('other runs while the sleeper sleeps')

    a = geventc.spawn(sleeper)
    b = geventc.spawn(other)
    geventc.joinall([a, b], timeout=10)
    assert order == ['sleeper starts', 'other runs while the sleeper sleeps', 'sleeper wakes']


def test_every_other_name_is_the_stdlibs_own():
    public = [n for n in dir(time) if not n.startswith('__')]
    assert 'monotonic' in public and 'struct_time' in public
    for name in public:
        if name == 'sleep':
            continue
        assert getattr(geventc.time, name) is getattr(time, name), name


def test_module_lists():
    assert geventc.time.__implements__ == ['sleep']
    assert geventc.time.__all__ == ['sleep']
    assert 'sleep' not in geventc.time.__imports__
    assert 'time' in geventc.time.__imports__ and 'perf_counter' in geventc.time.__imports__
    # copy_globals is an implementation detail, not left behind as a name.
    assert not hasattr(geventc.time, 'copy_globals')


@pytest.mark.parametrize('bad', ['1', None, []])
def test_sleep_rejects_what_time_sleep_rejects(bad):
    with pytest.raises((TypeError, ValueError)):
        time.sleep(bad)
    with pytest.raises((TypeError, ValueError)):
        geventc.time.sleep(bad)


def test_patching_time_with_it_makes_stdlib_callers_cooperative():
    # What monkey.patch_time does: time.sleep becomes geventc's, and a
    # library calling time.sleep no longer blocks the other greenlets.
    res = assert_ok(run_python('''
        import time
        original = time.sleep
        import geventc, geventc.time
        from geventc import monkey
        monkey.patch_module(time, geventc.time)
        assert time.sleep is geventc.sleep, time.sleep
        assert monkey.get_original('time', 'sleep') is original
        assert time.monotonic is geventc.time.monotonic
        order = []
        def library_call():
            time.sleep(0.05)      # the stdlib name, as a library would call it
            order.append('library done')
        g = geventc.spawn(library_call)
        h = geventc.spawn(order.append, 'other greenlet ran')
        geventc.joinall([g, h])
        print(order)
    '''))
    assert res.stdout.strip() == "['other greenlet ran', 'library done']"
