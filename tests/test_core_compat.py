"""Core behaviours that must match gevent 26.9.0 in detail: a default
``Greenlet._run``, tracebacks that do not grow, a proxied ``hub.loop``,
``iwait``'s iterator, non-exception timeouts, system errors and the
spawn tree."""
import socket
import sys
import threading
import traceback

import pytest

import geventc as gevent
from geventc import Greenlet, Timeout
from geventc.event import AsyncResult, Event
from geventc.hub import get_hub
from geventc.lock import Semaphore
from geventc.queue import Queue, Channel


# -- 1. Greenlet() without run ------------------------------------------------

def test_greenlet_without_run_runs_the_default_run():
    g = Greenlet()
    g.start()
    g.join()
    assert g.dead and g.successful()
    assert g.value is None


def test_greenlet_without_run_given_args_fails_in_the_greenlet(hub):
    # The default _run takes no arguments: the error belongs to the greenlet.
    hub.exception_stream = None
    try:
        g = Greenlet(None, 1)
        g.start()
        g.join()
    finally:
        del hub.exception_stream
    assert isinstance(g.exception, TypeError)


def test_subclass_run_is_called_with_the_arguments():
    class Sub(Greenlet):
        def _run(self, a, b=0):
            return a + b

    g = Sub(None, 40, b=2)
    g.start()
    g.join()
    assert g.value == 42


def test_non_callable_run_is_refused():
    with pytest.raises(TypeError):
        Greenlet(42)

    class Bad(Greenlet):
        _run = 5
    with pytest.raises(TypeError):
        Bad()


# -- 2. tracebacks of stored exceptions ----------------------------------------

def _tb_lengths(getter, n):
    lengths = []
    for _ in range(n):
        try:
            getter()
        except ValueError as e:
            lengths.append(len(traceback.extract_tb(e.__traceback__)))
        else:
            raise AssertionError('must raise')
    return lengths


def _raise_value_error():
    raise ValueError('stored')


def test_asyncresult_get_does_not_grow_the_traceback():
    r = AsyncResult()
    try:
        _raise_value_error()
    except ValueError as e:
        r.set_exception(e)
    lengths = _tb_lengths(r.get, 10)
    assert lengths[0] == lengths[-1], lengths


def test_asyncresult_get_with_exc_info_does_not_grow_the_traceback():
    r = AsyncResult()
    try:
        _raise_value_error()
    except ValueError as e:
        r.set_exception(e, sys.exc_info())
    lengths = _tb_lengths(r.get, 10)
    assert lengths[0] == lengths[-1], lengths
    assert lengths[0] >= 2      # the frame that raised is kept


def test_greenlet_get_and_joinall_do_not_grow_the_traceback(hub):
    hub.exception_stream = None
    try:
        g = gevent.spawn(_raise_value_error)
        g.join()
    finally:
        del hub.exception_stream
    lengths = _tb_lengths(g.get, 10)
    assert lengths[0] == lengths[-1], lengths
    raised = _tb_lengths(lambda: gevent.joinall([g], raise_error=True), 5)
    assert raised[0] == raised[-1], raised


# -- 3. hub.loop replaced by a proxy -----------------------------------------------

class _Proxy(object):
    """Forwards everything to the real loop, counting what it is asked for."""

    def __init__(self, real):
        self.real = real
        self.asked = []

    def __getattr__(self, name):
        self.asked.append(name)
        return getattr(self.real, name)


class _UpdateNowProxy(_Proxy):
    update_now_calls = 0

    def update_now(self):
        self.update_now_calls += 1
        self.real.update_now()


class _FakeTimer(object):
    pending = active = False

    def __init__(self, loop):
        self.loop = loop

    def start(self, *args, **kwargs):
        if kwargs.get('update'):
            self.loop.update_now()
        self.pending = self.active = True

    def stop(self):
        self.pending = self.active = False

    def close(self):
        pass


class _TimerProxy(_UpdateNowProxy):
    def timer(self, *args, **kwargs):
        return _FakeTimer(self)


@pytest.fixture
def proxied_loop(hub):
    real = hub.loop
    proxy = _Proxy(real)
    hub.loop = proxy
    try:
        yield proxy
    finally:
        hub.loop = real
    assert hub.loop is real


def test_proxied_loop_spawn_sleep_join_kill(proxied_loop):
    results = []
    g = gevent.spawn(results.append, 1)
    gevent.sleep(0)
    gevent.sleep(0.001)
    g.join()
    g2 = gevent.spawn(gevent.sleep, 10)
    gevent.sleep(0)
    g2.kill()
    g3 = Greenlet(results.append, 3)
    g3.start()
    g3.join()
    assert results == [1, 3]
    assert g2.dead
    assert 'run_callback' in proxied_loop.asked


def test_proxied_loop_timeouts(proxied_loop):
    with pytest.raises(Timeout):
        with Timeout(0.01):
            gevent.sleep(1)
    assert gevent.with_timeout(0.01, gevent.sleep, 1, timeout_value='late') == 'late'
    t = Timeout.start_new(0.01)
    assert t.pending
    t.cancel()
    assert not t.pending


def test_proxied_loop_event_asyncresult_semaphore_queue(proxied_loop):
    ev = Event()
    ar = AsyncResult()
    sem = Semaphore(0)
    q = Queue()
    ch = Channel()
    got = []

    def waiter():
        got.append(ev.wait(1))
        got.append(ar.get(timeout=1))
        got.append(sem.acquire(timeout=1))
        got.append(q.get(timeout=1))
        got.append(ch.get(timeout=1))

    g = gevent.spawn(waiter)
    gevent.sleep(0)
    ev.set()
    gevent.sleep(0)
    ar.set('v')
    gevent.sleep(0)
    sem.release()
    gevent.sleep(0)
    q.put('q')
    ch.put('c')
    g.join(1)
    assert got == [True, 'v', True, 'q', 'c']


def test_proxied_loop_socket_wait(proxied_loop):
    from geventc import socket as gsocket
    a, b = gsocket.socketpair()
    try:
        gevent.spawn(lambda: (gevent.sleep(0.01), b.sendall(b'x')))
        assert a.recv(1) == b'x'
    finally:
        a.close()
        b.close()


def test_sleep_with_a_proxied_loop_updates_its_time_once(hub):
    real = hub.loop
    proxy = _UpdateNowProxy(real)
    hub.loop = proxy
    try:
        gevent.sleep(0.01)
    finally:
        hub.loop = real
    assert proxy.update_now_calls == 1


def test_timeout_uses_the_proxied_loops_timer(hub):
    # As gevent's test__api_timeout: the proxy's timer is started with update=True.
    real = hub.loop
    proxy = _TimerProxy(real)
    hub.loop = proxy
    try:
        with Timeout(0.02) as t:
            assert t.pending
    finally:
        hub.loop = real
    assert not t.pending
    assert proxy.update_now_calls == 1


# -- 4. iwait's iterator -----------------------------------------------------------

def test_iwait_context_manager_unlinks_what_it_did_not_yield():
    events = [Event() for _ in range(4)]
    events[1].set()
    with gevent.iwait(events) as it:
        first = next(it)
        assert first is events[1]
        for ev in events:
            assert ev.linkcount() <= 1
    assert [ev.linkcount() for ev in events] == [0, 0, 0, 0]


def test_iwait_count_and_timeout():
    events = [Event() for _ in range(3)]
    gevent.spawn_later(0.01, events[2].set)
    gevent.spawn_later(0.02, events[0].set)
    got = list(gevent.iwait(events, count=1))
    assert got == [events[2]]
    got = list(gevent.iwait(events, timeout=0.1))
    assert set(got) == {events[0], events[2]}
    assert [ev.linkcount() for ev in events] == [0, 0, 0]


def test_iwait_is_its_own_iterator_and_count_zero_yields_nothing():
    events = [Event(), Event()]
    events[0].set()
    assert list(gevent.iwait(events, count=0)) == []
    assert [ev.linkcount() for ev in events] == [0, 0]
    it = gevent.iwait(events)
    assert iter(it) is it
    assert next(it) is events[0]
    gevent.spawn(events[1].set)
    assert next(it) is events[1]
    with pytest.raises(StopIteration):
        next(it)
    assert [ev.linkcount() for ev in events] == [0, 0]


def test_iwait_none_joins_the_hub_and_returns_a_list():
    result = gevent.iwait(None, timeout=0.01)
    assert isinstance(result, list) and len(result) == 1


def test_iwait_values_arriving_while_busy_are_all_yielded():
    # Several objects become ready while the iterating greenlet does
    # something else: none is lost, each comes once.
    events = [Event() for _ in range(3)]
    it = gevent.iwait(events)
    gevent.spawn(events[0].set)
    assert next(it) is events[0]
    events[1].set()
    events[2].set()
    gevent.sleep(0.01)
    assert [next(it), next(it)] == [events[1], events[2]]


def test_iwait_timeout_stops_iteration_without_raising():
    ev = Event()
    assert list(gevent.iwait([ev], timeout=0.01)) == []
    assert ev.linkcount() == 0


# -- 5. a Timeout whose exception is not an exception ---------------------------

class _OldStyle:
    pass


@pytest.mark.parametrize('exc', [object(), _OldStyle, _OldStyle()], ids=['object', 'class', 'instance'])
def test_timeout_with_a_non_exception_raises_type_error_when_system_error(hub, exc):
    # gevent's test__timeout: the hub reports the failed throw; with every
    # error a system error (as gevent.testing sets) it reaches the waiter.
    hub_class = type(hub)
    saved = hub_class.SYSTEM_ERROR
    hub.exception_stream = None
    hub_class.SYSTEM_ERROR = object
    try:
        t = Timeout(0.01, exc)
        t.start()
        with pytest.raises(TypeError) as info:
            hub.switch()
        assert 'exceptions must' in str(info.value)
        t.close()
    finally:
        hub_class.SYSTEM_ERROR = saved
        del hub.exception_stream


def test_timeout_with_a_non_exception_is_reported_by_the_hub(hub):
    import io
    stream = io.StringIO()
    hub.exception_stream = stream
    try:
        def sleeper():
            with Timeout(0.01, object()):
                gevent.sleep(0.05)
            return 'slept'
        g = gevent.spawn(sleeper)
        g.join()
    finally:
        del hub.exception_stream
    assert g.value == 'slept'
    assert 'TypeError' in stream.getvalue()
    assert 'failed with TypeError' in stream.getvalue()


# -- 7. the spawn tree -------------------------------------------------------------

def test_spawn_tree_locals_and_spawning_greenlet():
    from greenlet import getcurrent
    seen = []

    def child_of(parent_locals):
        child = Greenlet()
        seen.append((child.spawn_tree_locals is getcurrent().spawn_tree_locals,
                     child.spawning_greenlet() is getcurrent(),
                     getcurrent().spawn_tree_locals is not parent_locals))

    g = Greenlet(child_of, None)
    g2 = Greenlet(child_of, None)
    # Children of the main greenlet each start a tree; main gets no dict.
    assert not hasattr(getcurrent(), 'spawn_tree_locals')
    assert isinstance(g.spawn_tree_locals, dict)
    assert g.spawn_tree_locals is not g2.spawn_tree_locals
    assert g.spawning_greenlet() is getcurrent()
    g.start()
    g.join()
    assert seen == [(True, True, True)]

    raw = gevent.spawn_raw(child_of, None)
    assert isinstance(raw.spawn_tree_locals, dict)
    assert raw.spawn_tree_locals is not g.spawn_tree_locals
    assert raw.spawning_greenlet() is getcurrent()
    gevent.sleep(0.01)
    assert raw.dead and len(seen) == 2 and seen[1] == (True, True, True)


def _spawned_here():
    return gevent.spawn(lambda: None)


def test_spawning_stack_is_a_frame_summary_of_the_spawner():
    g = _spawned_here()
    frame = g.spawning_stack
    assert frame.f_code is _spawned_here.__code__
    assert frame.f_lineno == _spawned_here.__code__.co_firstlineno + 1
    assert frame.f_back.f_code is test_spawning_stack_is_a_frame_summary_of_the_spawner.__code__
    depth = 0
    while frame is not None:
        depth += 1
        frame = frame.f_back
    assert depth <= Greenlet.spawning_stack_limit
    summary = traceback.extract_stack(g.spawning_stack)
    assert summary[-1].name == '_spawned_here'
    g.join()


def test_spawning_stack_limit_of_a_subclass():
    class Short(Greenlet):
        spawning_stack_limit = 1

    g = Short(lambda: None)
    assert g.spawning_stack is not None and g.spawning_stack.f_back is None


def _spawn_in_loop(n):
    return [Greenlet(lambda: None) for _ in range(n)]


def _spawn_here():
    return Greenlet(lambda: None)


def test_spawning_stacks_from_one_place_and_from_two():
    in_loop = _spawn_in_loop(3) + _spawn_in_loop(1)
    lines = {g.spawning_stack.f_lineno for g in in_loop}
    assert len(lines) == 1
    codes = {g.spawning_stack.f_code for g in in_loop}
    assert len(codes) == 1
    # Each greenlet has a chain of its own, once read.
    assert in_loop[0].spawning_stack is not in_loop[1].spawning_stack
    other = _spawn_here()
    assert other.spawning_stack.f_code is _spawn_here.__code__
    assert other.spawning_stack.f_back.f_lineno != in_loop[0].spawning_stack.f_back.f_lineno


def test_spawning_stack_limit_above_ten_and_negative():
    def depth(frame):
        n = 0
        while frame is not None:
            n += 1
            frame = frame.f_back
        return n

    class Deep(Greenlet):
        spawning_stack_limit = 12

    class All(Greenlet):
        spawning_stack_limit = -1   # as gevent: no limit

    def nest(k):
        if k:
            return nest(k - 1)
        return Deep(lambda: None), All(lambda: None), Greenlet(lambda: None)

    deep, every, default = nest(15)
    assert depth(deep.spawning_stack) == 12
    assert depth(default.spawning_stack) == 10
    assert depth(every.spawning_stack) > 16


def test_spawn_tree_locals_is_a_dict_or_none():
    g = Greenlet(lambda: None)
    mine = {'a': 1}
    g.spawn_tree_locals = mine
    assert g.spawn_tree_locals is mine
    g.spawn_tree_locals = None
    assert g.spawn_tree_locals is None
    with pytest.raises(TypeError):
        g.spawn_tree_locals = [1]


def test_track_greenlet_tree_off_captures_nothing():
    saved = gevent.config.track_greenlet_tree
    gevent.config.track_greenlet_tree = False
    try:
        g = gevent.spawn(lambda: None)
        raw = gevent.spawn_raw(lambda: None)
    finally:
        gevent.config.track_greenlet_tree = saved
    assert g.spawning_greenlet is None and g.spawn_tree_locals is None and g.spawning_stack is None
    assert not hasattr(raw, 'spawn_tree_locals')
    g.join()
    gevent.sleep(0)


def test_track_greenlet_tree_defaults_on_and_reads_the_environment():
    from _helpers import run_python, assert_ok
    code = ('import geventc as gevent; import sys\n'
            'print(gevent.config.track_greenlet_tree)\n')
    unset = {'GEVENT_TRACK_GREENLET_TREE': None, 'GEVENTC_TRACK_GREENLET_TREE': None}
    on = run_python(code, extra_env=unset)
    assert_ok(on)
    assert on.stdout.strip() == 'True'
    off = run_python(code, extra_env=dict(unset, GEVENT_TRACK_GREENLET_TREE='false'))
    assert_ok(off)
    assert off.stdout.strip() == 'False'


def test_spawn_callbacks_run_for_every_way_of_starting():
    called = []

    def cb(glet):
        called.append(glet)

    Greenlet.add_spawn_callback(cb)
    try:
        g1 = gevent.spawn(lambda: None)
        g2 = gevent.spawn_later(1e-5, lambda: None)
        g3 = Greenlet(lambda: None)
        assert called == [g1, g2]
        g3.start()
        g4 = Greenlet.spawn(lambda: None)
        assert called == [g1, g2, g3, g4]
        Greenlet.remove_spawn_callback(cb)
        g5 = gevent.spawn(lambda: None)
        assert g5 not in called
    finally:
        Greenlet.remove_spawn_callback(cb)
    gevent.joinall([g1, g2, g3, g4, g5])


# -- 8. the stat watcher's results ---------------------------------------------------

def _stat_after_append(tmp_path):
    import os
    import time
    path = tmp_path / 'watched'
    path.write_bytes(b'x')
    w = get_hub().loop.stat(str(path), 0.01)
    try:
        assert w.path == str(path)
        assert abs(w.interval - 0.01) < 1e-6
        assert w.attr is None and w.prev is None
        fired = []
        w.start(fired.append, 1)
        time.sleep(0.02)
        with open(str(path), 'ab') as f:
            f.write(b'yy')
        with Timeout(2):
            while not fired:
                gevent.sleep(0.01)
        attr, real = w.attr, os.stat(str(path))
        assert w.prev is not None and w.prev.st_size == 1
        assert attr.st_size == 3 == real.st_size
        assert isinstance(attr.st_mtime, float) and isinstance(attr.st_atime, float)
        assert attr.st_mtime == real.st_mtime and attr.st_ctime == real.st_ctime
        assert isinstance(attr[8], int) and attr[8] == int(real.st_mtime)
        assert tuple(attr)[:7] == tuple(real)[:7]
        return attr, real
    finally:
        w.close()


def test_stat_watcher_attributes_and_results_match_os_stat(tmp_path):
    _stat_after_append(tmp_path)


@pytest.mark.geventc_only
def test_stat_watcher_ns_times_are_right(tmp_path):
    # gevent 26.9.0's st_*_ns come out of the wrong struct fields (st_mtime_ns
    # is st_blocks there); geventc's are os.stat()'s.
    attr, real = _stat_after_append(tmp_path)
    assert attr.st_mtime_ns == real.st_mtime_ns
    assert attr.st_ctime_ns == real.st_ctime_ns


# -- 6. system errors reach the main greenlet ---------------------------------------

def _raise(exc):
    raise exc


@pytest.mark.parametrize('exc_type', [KeyboardInterrupt, SystemExit, SystemError])
@pytest.mark.parametrize('where', ['greenlet', 'callback'])
def test_system_errors_reach_main_even_with_stderr_replaced(hub, exc_type, where, monkeypatch):
    import io
    from geventc.hub import Hub
    assert exc_type in Hub.SYSTEM_ERROR
    stream = io.StringIO()
    monkeypatch.setattr(sys, 'stderr', stream)
    if where == 'greenlet':
        gevent.spawn(_raise, exc_type('boom'))
    else:
        hub.loop.run_callback(_raise, exc_type('boom'))
    with pytest.raises(exc_type):
        gevent.sleep(0.01)
    # NOT_ERROR (SystemExit) is not printed; the others go to the replaced stderr.
    assert ('boom' in stream.getvalue()) == (not issubclass(exc_type, Hub.NOT_ERROR))
    gevent.sleep(0.01)      # the hub carries on afterwards


# -- 8. minimal_ident per hub, repr, kill with exc_info, dead while switching ------

def test_minimal_ident_comes_from_the_hubs_registry():
    # Each hub numbers its own greenlets from 0: a greenlet's ident is
    # unique in its hub, not in the process.
    idents = {}
    keep = []   # both greenlets stay alive: a shared registry would number them 0 and 1

    def in_thread(key):
        hub = get_hub()
        g = gevent.spawn(lambda: None)
        keep.append(g)
        idents[key] = (g.minimal_ident, hub.minimal_ident, len(hub.ident_registry))
        g.join()

    threads = [threading.Thread(target=in_thread, args=(k,)) for k in 'ab']
    for t in threads:
        t.start()
        t.join()
    assert idents['a'][0] == idents['b'][0] == 0
    assert idents['a'][2] == idents['b'][2] == 1
    # Hubs are numbered as they are made (a positive int each).
    assert 0 < idents['a'][1] < idents['b'][1]
    assert get_hub().minimal_ident >= 1


def test_minimal_ident_with_a_parent_that_is_not_a_hub():
    from greenlet import getcurrent
    g = gevent.spawn(lambda: None)
    g.parent = getcurrent()
    try:
        with pytest.raises((TypeError, AttributeError)):
            g.minimal_ident
    finally:
        g.parent = get_hub()
        g.kill()


def test_repr_shows_the_name_once_minimal_ident_is_made():
    g = Greenlet(lambda: None)
    assert '"' not in repr(g)
    ident = g.minimal_ident
    assert repr(g).startswith('<Greenlet "Greenlet-%d" at ' % ident)
    # Reading the generated name does not make it an assigned one.
    assert 'name' not in g.__dict__


def test_killing_an_unstarted_greenlet_with_exc_info():
    class Boom(Exception):
        pass
    g = gevent.spawn(lambda: None)
    try:
        raise Boom('x')
    except Boom:
        g.kill(sys.exc_info())
    assert g.dead and not g.successful()
    with pytest.raises(Boom):
        g.get()


def test_with_suite_that_raises_kills_the_greenlet_with_its_error():
    class Boom(Exception):
        pass
    with pytest.raises(Boom):
        with gevent.spawn(gevent.sleep, 0.01) as g:
            raise Boom()
    assert g.dead
    with pytest.raises(Boom):
        g.get()


def test_greenlet_is_not_dead_when_a_switch_tracer_sees_it_start():
    import greenlet
    seen = []

    def tracer(event, args):
        if event == 'switch':
            seen.append((args[1], args[1].dead))

    old = greenlet.settrace(tracer)
    try:
        g = gevent.spawn(lambda: 42)
        g.join()
    finally:
        greenlet.settrace(old)
    assert any(target is g for target, _ in seen)
    assert not any(dead for _, dead in seen)


def test_the_hub_is_in_the_spawn_tree():
    from greenlet import getcurrent
    hub = get_hub()
    assert hub.spawning_greenlet() is getcurrent()
    assert isinstance(hub.spawn_tree_locals, dict)
    # The main greenlet is a root: the hub's locals are its own.
    assert not hasattr(getcurrent(), 'spawn_tree_locals')
    from_hub = []
    hub.loop.run_callback(lambda: from_hub.append(Greenlet()))
    gevent.sleep(0)
    assert from_hub[0].spawn_tree_locals is hub.spawn_tree_locals
    assert from_hub[0].spawning_greenlet() is hub


def test_spawn_raw_makes_a_tracked_raw_greenlet():
    from greenlet import getcurrent
    from geventc._greenlet_primitives import TrackedRawGreenlet, get_reachable_greenlets
    g = gevent.spawn_raw(lambda: None)
    assert isinstance(g, TrackedRawGreenlet)
    assert g.spawning_greenlet() is getcurrent()
    assert g in get_reachable_greenlets()
    g.greenlet_tree_is_ignored = True
    assert g not in get_reachable_greenlets()
    gevent.sleep(0)
    assert g.dead
