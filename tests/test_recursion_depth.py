"""Every greenlet gets the whole recursion limit, whoever switched into it first.

A new greenlet starts with the recursion depth (and the C stack position) of
the greenlet that first switches into it. When a greenlet about to block
switches straight to the hub's next step, a greenlet started that way would
inherit the blocker's depth, and depths would add up along a chain of starts.
"""
import sys

import geventc
from geventc.event import Event


def _room_left():
    """How many more Python frames fit below the current one."""
    def down(n):
        try:
            return down(n + 1)
        except RecursionError:
            return n
    return down(0)


def test_greenlet_started_by_a_deep_blocker_gets_the_full_limit():
    rooms = {}

    def probe(name):
        rooms[name] = _room_left()

    def deep_spawner(n):
        if n:
            return deep_spawner(n - 1)
        g = geventc.spawn(probe, 'from deep')
        geventc.sleep(0)  # blocks 300 frames down, the probe's start is next
        return g

    shallow = geventc.spawn(probe, 'from hub')
    shallow.join()
    deep = geventc.spawn(deep_spawner, 300)
    deep.join()
    deep.value.join()
    assert rooms['from deep'] > rooms['from hub'] - 20, rooms


def test_greenlets_parked_deep_do_not_exhaust_each_other():
    # 100 greenlets each parked 100 frames deep (half in sleep(0), half on
    # an Event): none may hit RecursionError.
    limit = sys.getrecursionlimit()
    assert limit >= 1000
    ev = Event()
    errors = []

    def deep(n, how):
        if n:
            return deep(n - 1, how)
        if how:
            geventc.sleep(0)
        else:
            ev.wait()

    def worker(i):
        try:
            deep(100, i % 2)
        except RecursionError:
            errors.append(i)

    gs = [geventc.spawn(worker, i) for i in range(100)]
    geventc.sleep(0.01)
    ev.set()
    geventc.joinall(gs)
    assert errors == []
