"""Python frames of greenlets: each greenlet's interpreter frames live in its
own frame stack (CPython 3.11+), which geventc starts small for a Greenlet
running Python code (geventc/_arena.pxi). Whatever the depth -- inside that
first chunk, beyond it, back and forth across its end -- frames, results,
tracebacks and introspection must be exactly Python's, and greenlets that die
in any way (return, raise, kill, garbage collection, their thread ending)
must give their frame stack back without a crash. The memory it saves is
measured in perf/ (echo_rss_1000_connections). The same tests run against
gevent 26.9.0."""
import gc
import sys
import threading
import traceback

import pytest

import geventc as gevent
from geventc.event import Event

from _helpers import assert_ok, run_python

pytestmark = pytest.mark.filterwarnings('error')


def depth_sum(n):
    """Recursion that needs n frames; the sum 0..n, checked by callers."""
    if n == 0:
        return 0
    return n + depth_sum(n - 1)


def frames_down(n, event=None):
    """At depth n: the names of the caller frames, after waiting on *event*."""
    if n:
        return frames_down(n - 1, event)
    if event is not None:
        event.wait()
    names = []
    frame = sys._getframe()
    while frame is not None and len(names) < 1000:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    return names


def test_depths_inside_and_beyond_the_first_chunk():
    # 0-400 frames: inside a 2 KiB chunk, at its end, and far beyond it.
    depths = [0, 1, 2, 5, 8, 10, 12, 15, 20, 50, 100, 400]
    greenlets = [gevent.spawn(depth_sum, d) for d in depths]
    gevent.joinall(greenlets, raise_error=True)
    assert [g.value for g in greenlets] == [d * (d + 1) // 2 for d in depths]


def test_frames_blocked_at_many_depths_interleaved():
    # Greenlets wait at different depths while others run deeper and return
    # across the chunk boundaries; each sees exactly its own callers.
    event = Event()
    depths = [0, 3, 9, 14, 30, 120] * 5
    greenlets = [gevent.spawn(frames_down, d, event) for d in depths]
    gevent.sleep(0)
    churn = [gevent.spawn(depth_sum, d) for d in (7, 70, 13, 300)]
    gevent.joinall(churn, raise_error=True)
    event.set()
    gevent.joinall(greenlets, raise_error=True)
    for d, g in zip(depths, greenlets):
        assert g.value == ['frames_down'] * (d + 1), (d, g.value[:5])


def test_crossing_the_chunk_end_repeatedly():
    # A call at the edge of the first chunk, made many times: each call may
    # push and pop a further chunk.
    def at_depth(n, calls):
        if n:
            return at_depth(n - 1, calls)
        return sum(depth_sum(3) for _ in range(calls))

    greenlets = [gevent.spawn(at_depth, d, 200) for d in range(0, 24)]
    gevent.joinall(greenlets, raise_error=True)
    assert all(g.value == 200 * 6 for g in greenlets)


def test_traceback_and_generators_deep_in_a_greenlet():
    def gen(n):
        for i in range(n):
            yield depth_sum(i)

    def deep_raise(n):
        if n:
            return deep_raise(n - 1)
        list(gen(30))
        raise KeyError('deep')

    g = gevent.spawn(deep_raise, 25)
    with pytest.raises(KeyError):
        g.get()
    tb = traceback.extract_tb(g.exception.__traceback__)
    assert [f.name for f in tb].count('deep_raise') == 26
    assert list(gen(5)) == [0, 1, 3, 6, 10]


def test_greenlet_killed_or_collected_while_deep():
    event = Event()
    waiters = [gevent.spawn(frames_down, d, event) for d in (0, 10, 50)]
    gevent.sleep(0)
    gevent.killall(waiters)
    assert all(isinstance(g.value, gevent.GreenletExit) for g in waiters)

    # Nothing references these: each is destroyed while waiting at depth.
    for d in (0, 6, 40):
        g = gevent.spawn(frames_down, d, Event())
        gevent.sleep(0)
        assert not g.dead
        del g
    gc.collect()
    # The stacks given back are reused by new greenlets, deep and shallow.
    again = [gevent.spawn(depth_sum, d) for d in (0, 11, 90)]
    gevent.joinall(again, raise_error=True)
    assert [g.value for g in again] == [0, 66, 4095]


def test_greenlets_in_other_threads():
    results = []

    def thread_main(k):
        event = Event()
        blocked = gevent.spawn(frames_down, 12, event)
        work = [gevent.spawn(depth_sum, d) for d in (k, 40, 3)]
        gevent.joinall(work, raise_error=True)
        event.set()
        blocked.join()
        results.append((k, [g.value for g in work], len(blocked.value)))

    threads = [threading.Thread(target=thread_main, args=(k,)) for k in (5, 17)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [(5, [15, 820, 6], 13), (17, [153, 820, 6], 13)]


def test_thread_ends_with_greenlets_still_waiting():
    # The thread's greenlets never finish; their frame stacks are freed when
    # the thread's greenlets are torn down, then the process goes on using
    # frame stacks.
    res = run_python('''
        import threading, gc
        import geventc as gevent
        from geventc.event import Event

        def deep(n, ev):
            if n:
                return deep(n - 1, ev)
            ev.wait()

        def thread_main():
            ev = Event()
            gs = [gevent.spawn(deep, d, ev) for d in (0, 8, 60)]
            gevent.sleep(0)
            assert not any(g.dead for g in gs)

        for _ in range(3):
            t = threading.Thread(target=thread_main)
            t.start()
            t.join()
        gc.collect()
        def depth_sum(n):
            return n + depth_sum(n - 1) if n else 0
        gs = [gevent.spawn(depth_sum, d) for d in (0, 9, 200)]
        gevent.joinall(gs, raise_error=True)
        print([g.value for g in gs])
    ''')
    assert_ok(res)
    assert res.stdout.strip() == '[0, 45, 20100]'


def test_run_called_directly_in_a_running_greenlet():
    # Greenlet.run() called by hand runs in the caller's frame stack, which
    # is not empty: nothing must replace it.
    g = gevent.Greenlet(depth_sum, 30)
    g.run()
    assert g.value == 465
    assert depth_sum(40) == 820


def _traced_per_greenlet(prepare, start_all, n):
    """Traced bytes per greenlet for *n* greenlets started by start_all(n)
    and left waiting (their saved C stacks are most of it); prepare() runs
    before the count starts."""
    import tracemalloc
    event = Event()
    # Traced from before prepare(): a block saved then and freed later must
    # count both ways.
    tracemalloc.start()
    try:
        state = prepare(event)
        gevent.sleep(0)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        greenlets = start_all(n, event, state)
        gevent.sleep(0)
        gevent.sleep(0)
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(greenlets) == n and not any(g.dead for g in greenlets)
    event.set()
    gevent.joinall(greenlets + state.get('others', []))
    return used / n


def test_greenlets_started_from_a_deep_stack_keep_only_their_own():
    # A greenlet's saved stack is its own frames, wherever it was started:
    # started while another greenlet waits 40 C-level calls deep (a hand-off
    # start), it must not keep those calls' frames (~200 KiB).
    def nothing(event):
        return {}

    def one_by_one(n, event, state):
        out = []
        for _ in range(n):
            out.append(gevent.spawn(event.wait))
            gevent.sleep(0)
        return out

    def deep_spawner(event):
        # Its own deep stack is saved before the count starts; when it goes
        # on, it spawns the n greenlets and waits again at the same depth.
        state = {'go': Event(), 'spawned': []}

        def deep(k):
            if k == 0:
                state['go'].wait()
                state['spawned'].extend(gevent.spawn(event.wait) for _ in range(state['n']))
                event.wait()
                return 0
            return sorted([k, k - 1], key=lambda x: deep(k - 1) if x == k else x)[0]

        state['others'] = [gevent.spawn(deep, 40)]
        gevent.sleep(0)
        return state

    def from_deep(n, event, state):
        state['n'] = n
        state['go'].set()
        gevent.sleep(0)
        return state['spawned']

    hub_started = _traced_per_greenlet(nothing, one_by_one, 100)
    deep_started = _traced_per_greenlet(deep_spawner, from_deep, 100)
    assert deep_started < hub_started + 1024, (deep_started, hub_started)
