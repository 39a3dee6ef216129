"""An expired timer is not starved by greenlets looping on sleep(0).

The hub runs queued callbacks (sleep(0) wake-ups, and the greenlet-to-greenlet
hand-offs they allow) for at most the switch interval since libev was last
polled, then polls, so that timers and I/O get their turn. Counted in
iterations of the sleep(0) loopers, not in wall time: with gevent 26.9.0 an
overdue zero-delay timer fires after about a dozen iterations of each of
four loopers (its drain stops at the first check, every 50 callbacks).
"""
import sys
import time

import pytest

import geventc as gevent
from geventc.event import Event

LOOPERS = 4
# gevent: ~13. The bound leaves room for a few checks, and is far below the
# thousands of iterations of a drain that ignores how long ago libev polled.
MAX_ITERATIONS = 200


@pytest.fixture(autouse=True)
def _switch_interval():
    old = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield
    sys.setswitchinterval(old)


class Loopers(object):

    def __init__(self, hog=None):
        self.counts = [0] * LOOPERS
        self.stop = False
        self.greenlets = [gevent.spawn(self._loop, i) for i in range(LOOPERS)]
        if hog is not None:
            self.greenlets.append(gevent.spawn(hog))

    def _loop(self, i):
        while not self.stop:
            self.counts[i] += 1
            gevent.sleep(0)

    def finish(self):
        self.stop = True
        gevent.joinall(self.greenlets, timeout=5)
        assert all(g.dead for g in self.greenlets)


def _start_zero_timer(how, func):
    if how == 'spawn_later':
        g = gevent.spawn_later(0, func)
        return g.kill
    t = gevent.get_hub().loop.timer(0)
    t.start(func)
    return t.close


@pytest.mark.parametrize('how', ['spawn_later', 'loop.timer'])
def test_overdue_zero_timer_fires_soon_after_the_hub_resumes(how):
    # The hub has not polled for longer than the switch interval (the main
    # greenlet was busy): the timer is overdue and must not wait a whole
    # further switch interval of sleep(0) loops.
    loopers = Loopers()
    fired = []
    done = Event()

    def on_timer():
        fired.append(list(loopers.counts))
        done.set()

    cancel = _start_zero_timer(how, on_timer)
    try:
        time.sleep(0.02)
        # No timeout: starting its timer would refresh the loop's time. The
        # zero timer fires at the latest once the callbacks run dry.
        done.wait()
    finally:
        cancel()
        loopers.finish()
    assert max(fired[0]) <= MAX_ITERATIONS, fired


@pytest.mark.parametrize('how', ['spawn_later', 'loop.timer'])
def test_zero_timer_fires_soon_after_a_greenlet_hogs_the_cpu(how):
    # One greenlet runs for longer than the switch interval between two
    # sleep(0)s while the others loop: the timer that expired meanwhile
    # fires soon after, not after another switch interval of loops.
    fired = []
    done = Event()
    hogged = []

    def on_timer():
        fired.append([c - b for c, b in zip(loopers.counts, hogged[0])])
        done.set()

    def hog():
        gevent.sleep(0)
        _start_zero_timer(how, on_timer)
        time.sleep(0.02)
        hogged.append(list(loopers.counts))

    loopers = Loopers(hog)
    try:
        done.wait()
    finally:
        loopers.finish()
    assert max(fired[0]) <= MAX_ITERATIONS, fired
