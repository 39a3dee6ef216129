"""Waiting for greenlets does not keep them alive after the wait returns.

Once joinall/wait/iwait/join/killall return and the caller drops its
references, the finished greenlets can be freed without another switch.
One exception, in gevent 26.9.0 as here: the greenlet whose link woke the
caller. The hub is still inside that link (it switched to the caller from
there), so its frames hold that greenlet until the hub next runs.
"""
import gc
import weakref

import pytest

import geventc as gevent

N = 5


def _work(i):
    # Finishing in order, over a few loop turns.
    for _ in range(i + 1):
        gevent.sleep(0)
    return i


def _joinall_count(gs):
    gevent.joinall(gs, count=2)
    gevent.joinall(gs)


def _iwait_with_timeout(gs):
    assert len(list(gevent.iwait(gs, timeout=5))) == N


WAYS = {
    'joinall': gevent.joinall,
    'joinall-raise_error': lambda gs: gevent.joinall(gs, raise_error=True),
    'joinall-timeout': lambda gs: gevent.joinall(gs, timeout=5),
    'joinall-count': _joinall_count,
    'wait': gevent.wait,
    'iwait': lambda gs: list(gevent.iwait(gs)),
    'iwait-timeout': _iwait_with_timeout,
    'killall': gevent.killall,
    'join-each': lambda gs: [g.join() for g in gs],
    'get-each': lambda gs: [g.get() for g in gs],
}


@pytest.mark.parametrize('way', sorted(WAYS))
def test_finished_greenlets_are_freed_when_the_caller_drops_them(way):
    gs = [gevent.spawn(_work, i) for i in range(N)]
    refs = [weakref.ref(g) for g in gs]
    WAYS[way](gs)
    assert all(g.dead for g in gs)
    del gs
    gc.collect()
    alive = [i for i, r in enumerate(refs) if r() is not None]
    # At most the last to finish (its link woke us; killall wakes from a
    # callback of its own, so none there).
    assert alive in ([], [N - 1]), alive
    if way == 'killall':
        assert alive == []
    gevent.sleep(0)
    gc.collect()
    assert [i for i, r in enumerate(refs) if r() is not None] == []
