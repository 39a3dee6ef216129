"""Run order when greenlets wake each other through the hub's queue.

A greenlet that blocks while the hub waits on a switch it made may switch
straight to what the hub would run next (see ``Wakeable`` in _core.pxd).
These tests pin the observable order, which must be gevent's: every
expected list here is what gevent 26.9.0 prints (the suite runs against it
with GEVENTC_TEST_IMPL=gevent).
"""
import sys

import pytest

import geventc
from geventc.event import Event, AsyncResult
from geventc.lock import Semaphore
from geventc.queue import Queue, Channel, PriorityQueue


@pytest.fixture
def tiny_switch_interval():
    # The hub stops draining its callbacks after the switch interval, and
    # resumes a notification half done on its next turn.
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def test_sleep0_of_a_woken_waiter_waits_for_the_rest_of_the_notification():
    ev = Event()
    log = []

    def waiter(name):
        ev.wait()
        log.append(name + ' woke')
        geventc.sleep(0)
        log.append(name + ' again')

    def other():
        log.append('D')

    gs = [geventc.spawn(waiter, n) for n in 'ABC']
    geventc.sleep(0)
    ev.set()
    gs.append(geventc.spawn(other))
    geventc.joinall(gs)
    assert log == ['A woke', 'B woke', 'C woke', 'D', 'A again', 'B again', 'C again']


def test_event_rounds_with_many_waiters_lose_no_wakeup(tiny_switch_interval):
    # Each waiter goes straight on to wait for the next round while the
    # current round is still being notified.
    waiters, rounds = 300, 4
    go = [Event() for _ in range(rounds)]
    done = [Event() for _ in range(rounds)]
    passed = [0] * rounds

    def waiter():
        for r in range(rounds):
            go[r].wait()
            passed[r] += 1
            if passed[r] == waiters:
                done[r].set()

    gs = [geventc.spawn(waiter) for _ in range(waiters)]
    geventc.sleep(0)
    for r in range(rounds):
        go[r].set()
        assert done[r].wait(timeout=10)
    geventc.joinall(gs)
    assert passed == [waiters] * rounds


def test_queue1_pingpong_interleaves_with_other_greenlets():
    ping, pong = Queue(1), Queue(1)
    log = []

    def echo():
        for _ in range(3):
            item = ping.get()
            log.append('echo got %s' % item)
            pong.put(item)
            log.append('echo put %s' % item)

    def bystander():
        for i in range(4):
            log.append('bystander %d' % i)
            geventc.sleep(0)

    gs = [geventc.spawn(echo), geventc.spawn(bystander)]
    for i in range(3):
        ping.put(i)
        log.append('main put %d' % i)
        log.append('main got %s' % pong.get())
    geventc.joinall(gs)
    assert log == [
        'main put 0', 'echo got 0', 'echo put 0', 'bystander 0', 'main got 0',
        'main put 1', 'bystander 1', 'echo got 1', 'echo put 1', 'bystander 2',
        'main got 1', 'main put 2', 'bystander 3', 'echo got 2', 'echo put 2',
        'main got 2',
    ]


def test_bounded_queue_producer_and_consumers_order():
    q = Queue(2)
    log = []

    def consumer(name):
        while True:
            item = q.get()
            if item is None:
                log.append('%s done' % name)
                return
            log.append('%s got %s' % (name, item))
            geventc.sleep(0)

    def producer():
        for i in range(6):
            q.put(i)
            log.append('put %d' % i)
        for _ in range(2):
            q.put(None)

    gs = [geventc.spawn(consumer, 'a'), geventc.spawn(consumer, 'b'), geventc.spawn(producer)]
    geventc.joinall(gs)
    # 'b got 3' before 'put 4': the unlock that woke the producer was still
    # running (so true) when it blocked again, and no second one was queued.
    assert log == [
        'put 0', 'put 1', 'a got 0', 'put 2', 'b got 1', 'put 3', 'a got 2',
        'b got 3', 'put 4', 'put 5', 'a got 4', 'b got 5', 'a done', 'b done',
    ]


def test_semaphore_waiters_run_in_fifo_order_between_other_work():
    sem = Semaphore(1)
    log = []

    def worker(name):
        with sem:
            log.append(name + ' in')
            geventc.sleep(0)
            log.append(name + ' out')

    def bystander():
        for i in range(3):
            log.append('bystander %d' % i)
            geventc.sleep(0)

    gs = [geventc.spawn(worker, n) for n in 'ABC'] + [geventc.spawn(bystander)]
    geventc.joinall(gs)
    assert log == [
        'A in', 'bystander 0', 'A out', 'bystander 1', 'B in', 'bystander 2',
        'B out', 'C in', 'C out',
    ]


def test_channel_handoffs_in_order():
    ch = Channel()
    log = []

    def getter(name):
        log.append('%s got %s' % (name, ch.get()))

    def putter(item):
        ch.put(item)
        log.append('put %s returned' % item)

    gs = [geventc.spawn(getter, 'g1'), geventc.spawn(getter, 'g2'),
          geventc.spawn(putter, 'x'), geventc.spawn(putter, 'y')]
    geventc.joinall(gs)
    assert log == ['g1 got x', 'put x returned', 'g2 got y', 'put y returned']


def test_queue_subclass_container_code_runs_in_the_hub():
    # A Python subclass's _put runs where gevent runs it: in the putter's own
    # put() when there is room, else in the hub's unlock, never in a greenlet
    # that blocks while the unlock is under way (the consumer here).
    where = []
    names = {}

    class Recording(PriorityQueue):
        def _put(self, item):
            cur = geventc.getcurrent()
            where.append('hub' if cur is geventc.get_hub() else names.get(cur, '?'))
            PriorityQueue._put(self, item)

    q = Recording(1)
    got = []

    def consumer():
        for _ in range(4):
            got.append(q.get())

    def producer():
        for i in (3, 1, 2, 0):
            q.put(i)

    gs = [geventc.spawn(consumer), geventc.spawn(producer)]
    names[gs[0]], names[gs[1]] = 'consumer', 'producer'
    geventc.joinall(gs)
    assert got == [3, 1, 2, 0]
    assert set(where) == {'producer', 'hub'}, where


def test_failing_container_put_raises_in_the_blocked_putter():
    class Refusing(Queue):
        def _put(self, item):
            if item == 'bad':
                raise KeyError(item)
            Queue._put(self, item)

    q = Refusing(1)
    q.put('first')
    errors = []

    def putter():
        try:
            q.put('bad')
        except KeyError as ex:
            errors.append(ex.args[0])

    g = geventc.spawn(putter)
    geventc.sleep(0)            # the putter now waits for room
    assert q.get() == 'first'   # room: the unlock tries to add 'bad'
    g.join(timeout=5)
    assert errors == ['bad']
    assert q.qsize() == 0


def test_asyncresult_callable_links_run_in_the_hub_amid_greenlet_waiters():
    ar = AsyncResult()
    log = []

    def waiter(name):
        log.append('%s got %s' % (name, ar.get()))

    def link(source):
        log.append('link in hub: %s' % (geventc.getcurrent() is geventc.get_hub()))

    g1 = geventc.spawn(waiter, 'w1')
    geventc.sleep(0)
    ar.rawlink(link)
    g2 = geventc.spawn(waiter, 'w2')
    geventc.sleep(0)
    ar.set(42)
    geventc.joinall([g1, g2])
    assert log == ['w1 got 42', 'link in hub: True', 'w2 got 42']


def test_wait_on_a_set_event_waits_for_the_notification_in_progress():
    # gevent: a greenlet calling wait() on an Event that is set while its
    # notification still runs goes after the greenlets already waiting.
    ev = Event()
    log = []

    def late():
        log.append('late start')
        assert ev.wait() is True
        log.append('late done')

    def waiter(n):
        ev.wait()
        log.append('w%d' % n)
        if n == 0:
            geventc.spawn(late)
            assert ev.wait() is True
            log.append('w0 again')

    gs = [geventc.spawn(waiter, i) for i in range(3)]
    geventc.sleep(0)
    ev.set()
    geventc.joinall(gs)
    geventc.sleep(0.01)
    assert log == ['w0', 'w1', 'w2', 'w0 again', 'late start', 'late done']


def test_asyncresult_wait_while_notifying_waits_its_turn():
    ar = AsyncResult()
    log = []

    def waiter(n):
        log.append('w%d %s' % (n, ar.wait()))
        if n == 0:
            log.append('w0 again %s' % ar.wait())

    gs = [geventc.spawn(waiter, i) for i in range(2)]
    geventc.sleep(0)
    ar.set('v')
    geventc.joinall(gs)
    assert log == ['w0 v', 'w1 v', 'w0 again v']


@pytest.mark.geventc_only  # gevent 26.9.0 stops the notification: the greenlet never wakes
def test_unlinking_the_last_link_keeps_waking_a_greenlet_waiting_its_turn():
    ev = Event()
    log = []

    def link(source):
        log.append('link called')

    def arrives():
        geventc.sleep(0)            # runs again after set(), before its notification
        assert ev.wait() is True    # set, notification queued: waits its turn
        log.append('arrived woke')

    def unlinker():
        geventc.sleep(0)
        ev.unlink(link)             # the only link goes away
        log.append('unlinked')

    ev.rawlink(link)
    gs = [geventc.spawn(arrives), geventc.spawn(unlinker)]
    geventc.sleep(0)
    ev.set()
    geventc.joinall(gs, timeout=5)
    assert log == ['unlinked', 'arrived woke']
