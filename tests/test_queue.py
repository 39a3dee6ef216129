"""geventc.queue: one contract over every queue type, then each type's own.

``GEVENTC_TEST_IMPL=gevent`` runs the same cases against gevent 26.9.0.
"""
import random
import time

import pytest

import geventc as gevent
from geventc import GreenletExit
from geventc.hub import get_hub
from geventc.queue import (
    Channel, Empty, Full, JoinableQueue, LifoQueue, PriorityQueue, Queue, ShutDown, SimpleQueue,
)

pytestmark = pytest.mark.filterwarnings('error')

QUEUES = [Queue, SimpleQueue, LifoQueue, PriorityQueue, JoinableQueue]
JOINABLE = [Queue, LifoQueue, PriorityQueue, JoinableQueue]


def expected_order(cls, items):
    """The order in which *cls* gives back *items* put in that order."""
    if cls is LifoQueue:
        return list(reversed(items))
    if cls is PriorityQueue:
        return sorted(items)
    return list(items)


def drain(q):
    out = []
    while q.qsize():
        out.append(q.get_nowait())
    return out


@pytest.fixture(params=QUEUES, ids=lambda c: c.__name__)
def qcls(request):
    return request.param


# -- a replaced container -------------------------------------------------------------

@pytest.mark.parametrize('qcls', [Queue, SimpleQueue, JoinableQueue])
def test_replacing_the_deque_later_is_used_by_put_and_get(qcls):
    class Box(object):
        # Not a deque: put and get must go through its methods.
        def __init__(self, items):
            self.items = list(items)

        def append(self, item):
            self.items.append(('boxed', item))

        def popleft(self):
            return self.items.pop(0)

        def __len__(self):
            return len(self.items)

    q = qcls()
    q.put(1)
    box = Box([('old', 0)])
    q.queue = box
    assert q.queue is box
    q.put(8)
    assert box.items == [('old', 0), ('boxed', 8)]
    assert q.qsize() == 2
    assert q.get() == ('old', 0)
    assert q.get() == ('boxed', 8)
    assert q.empty()


# -- the contract --------------------------------------------------------------------

class TestQueueContract:

    def test_put_get_order(self, qcls):
        q = qcls()
        items = [3, 1, 4, 1, 5, 9, 2, 6]
        for item in items:
            assert q.put(item) is None
        assert q.qsize() == len(q) == len(items)
        assert [q.get() for _ in items] == expected_order(qcls, items)
        assert q.empty()

    def test_bound_method_signatures(self, qcls):
        import inspect
        q = qcls()
        assert list(inspect.signature(q.put).parameters) == ['item', 'block', 'timeout']
        assert list(inspect.signature(q.get).parameters) == ['block', 'timeout']
        assert inspect.signature(q.get).parameters['block'].default is True

    @pytest.mark.parametrize('qcls', JOINABLE, ids=lambda c: c.__name__)
    def test_joinable_counts_tasks_put_on_every_path(self, qcls):
        q = qcls(1)
        q.put('a')                      # room: straight in
        got = []

        def putter():
            q.put('b')                  # full: waits, the unlock puts it

        g = gevent.spawn(putter)
        gevent.sleep(0)
        assert q.unfinished_tasks == 1
        got.append(q.get())
        g.join(timeout=5)
        got.append(q.get())
        assert sorted(got) == ['a', 'b']
        assert q.unfinished_tasks == 2
        assert not q.join(timeout=0.01)
        q.task_done()
        q.task_done()
        assert q.join(timeout=1)

    def test_sizes(self, qcls):
        q = qcls(2)
        assert q.maxsize == 2
        assert q.empty() and not q.full()
        assert bool(q) is True and len(q) == 0
        q.put(1)
        q.put(2)
        assert q.full() and not q.empty()
        assert q.qsize() == 2
        assert qcls().maxsize is None
        assert not qcls().full()

    def test_nowait(self, qcls):
        q = qcls(1)
        with pytest.raises(Empty):
            q.get_nowait()
        with pytest.raises(Empty):
            q.get(block=False)
        q.put_nowait(5)
        with pytest.raises(Full):
            q.put_nowait(6)
        with pytest.raises(Full):
            q.put(6, block=False)
        assert q.get_nowait() == 5

    def test_get_timeout(self, qcls):
        q = qcls()
        start = time.monotonic()
        with pytest.raises(Empty):
            q.get(timeout=0.02)
        assert 0.015 <= time.monotonic() - start < 2
        with pytest.raises(Empty):
            q.get(True, 0)

    def test_put_timeout_on_full_queue(self, qcls):
        q = qcls(1)
        q.put('a')
        start = time.monotonic()
        with pytest.raises(Full):
            q.put('b', timeout=0.02)
        assert 0.015 <= time.monotonic() - start < 2
        assert drain(q) == ['a']

    def test_blocked_getters_served_in_order(self, qcls):
        q = qcls()
        got = []
        gs = [gevent.spawn(lambda i=i: got.append((i, q.get()))) for i in range(4)]
        gevent.sleep(0)
        assert got == []
        for item in (10, 20, 30, 40):
            q.put(item)
        gevent.joinall(gs, timeout=5)
        assert [i for i, _ in got] == [0, 1, 2, 3]
        assert sorted(v for _, v in got) == [10, 20, 30, 40]

    def test_bounded_putters_block_and_are_served_in_order(self, qcls):
        q = qcls(1)
        q.put(0)
        done = []
        gs = [gevent.spawn(lambda i=i: (q.put(i), done.append(i))) for i in range(1, 4)]
        gevent.sleep(0)
        assert done == [] and q.qsize() == 1
        got = [q.get(timeout=5) for _ in range(4)]
        gevent.joinall(gs, timeout=5)
        assert done == [1, 2, 3]
        assert sorted(got) == [0, 1, 2, 3]
        if qcls in (Queue, SimpleQueue, JoinableQueue):
            assert got == [0, 1, 2, 3]

    def test_killed_getters_lose_nothing(self, qcls):
        rnd = random.Random(4)
        for _round in range(5):
            q = qcls()
            getters = [gevent.spawn(q.get) for _ in range(20)]
            gevent.sleep(0)
            items = list(range(20))
            for i in items:
                q.put(i)
                if rnd.random() < 0.4:
                    getters[rnd.randrange(len(getters))].kill(block=False)
                if rnd.random() < 0.3:
                    gevent.sleep(0)
            gevent.sleep(0.01)
            gevent.killall(getters, timeout=5)
            delivered = [g.value for g in getters
                         if g.successful() and not isinstance(g.value, GreenletExit)]
            assert sorted(delivered + drain(q)) == items

    def test_killed_putters_put_nothing(self, qcls):
        q = qcls(1)
        q.put(-1)
        putters = [gevent.spawn(q.put, i) for i in range(6)]
        gevent.sleep(0)
        for i in (1, 3, 4):
            putters[i].kill()
        got = [q.get(timeout=5) for _ in range(4)]
        gevent.joinall(putters, timeout=5)
        assert sorted(got) == [-1, 0, 2, 5]
        assert q.empty()

    def test_timed_out_getter_leaves_item_for_next(self, qcls):
        q = qcls()
        results = []

        def getter(name, timeout):
            try:
                results.append((name, q.get(timeout=timeout)))
            except Empty:
                results.append((name, 'Empty'))

        g1 = gevent.spawn(getter, 'short', 0.01)
        g2 = gevent.spawn(getter, 'long', 5)
        gevent.sleep(0.05)
        q.put('x')
        gevent.joinall([g1, g2], timeout=5)
        assert results == [('short', 'Empty'), ('long', 'x')]

    def test_peek(self, qcls):
        q = qcls()
        with pytest.raises(Empty):
            q.peek_nowait()
        with pytest.raises(Empty):
            q.peek(block=False)
        with pytest.raises(Empty):
            q.peek(timeout=0.01)
        q.put(2)
        q.put(1)
        first = expected_order(qcls, [2, 1])[0]
        assert q.peek() == first
        assert q.peek_nowait() == first
        assert q.qsize() == 2

    def test_blocking_peek_woken_by_put(self, qcls):
        q = qcls()
        g = gevent.spawn(q.peek)
        gevent.sleep(0)
        q.put('p')
        assert g.get(timeout=5) == 'p'
        assert q.qsize() == 1

    def test_iteration_stops_at_stopiteration_class(self, qcls):
        items = [1, 2, StopIteration, 3] if qcls is Queue or qcls is SimpleQueue or qcls is JoinableQueue else None
        if items is None:
            pytest.skip('ordering makes the marker position type-specific')
        q = qcls()
        for item in items:
            q.put(item)
        assert list(q) == [1, 2]
        assert q.get() == 3
        assert iter(q) is q

    def test_copy(self, qcls):
        q = qcls(5)
        for item in (3, 1, 2):
            q.put(item)
        c = q.copy()
        assert type(c) is qcls
        assert c.maxsize == 5
        assert drain(c) == expected_order(qcls, [3, 1, 2]) or qcls is PriorityQueue
        assert q.qsize() == 3

    def test_items_argument(self, qcls):
        q = qcls(None, [5, 3, 4])
        assert q.qsize() == 3
        assert q.get() == expected_order(qcls, [5, 3, 4])[0] or qcls is PriorityQueue

    def test_subclass_may_assign_its_own_container(self, qcls):
        # The standard library's hook: _init(maxsize) sets self.queue.
        mine = []

        class Q(qcls):
            def _init(self, maxsize):
                self.queue = mine

            def _put(self, item):
                self.queue.append(item)

            def _get(self):
                return self.queue.pop(0)

        q = Q()
        assert q.queue is mine
        q.put(1)
        q.put(2)
        assert mine == [1, 2]
        assert q.get() == 1 and q.get() == 2

    def test_maxsize_setter(self, qcls):
        q = qcls(1)
        q.put(1)
        q.maxsize = 2
        assert q.maxsize == 2
        q.put_nowait(2)
        q.maxsize = None
        assert q.maxsize is None
        q.maxsize = 0
        assert q.maxsize is None
        q.put_nowait(3)
        assert q.qsize() == 3

    def test_negative_maxsize_is_unbounded(self, qcls):
        assert qcls(-1).maxsize is None

    def test_zero_maxsize_warns_and_is_unbounded(self, qcls):
        with pytest.warns(DeprecationWarning):
            q = qcls(0)
        assert q.maxsize is None

    @pytest.mark.parametrize('bad', ['x', 1.5, object()])
    def test_bad_maxsize(self, qcls, bad):
        with pytest.raises(TypeError):
            qcls(bad)

    def test_bad_timeouts(self, qcls):
        q = qcls(1)
        with pytest.raises(TypeError):
            q.get(timeout='x')
        with pytest.raises(ValueError):
            q.get(timeout=-1)
        with pytest.raises(ValueError):
            q.peek(timeout=-1)
        with pytest.raises(Empty):
            q.get(False, -1)        # not blocking: the timeout is not looked at
        with pytest.raises(ValueError):
            q.put(1, timeout=-1)
        with pytest.raises(TypeError):
            q.put(1, timeout='x')
        assert q.empty()
        q.put(1)
        # Full: gevent starts a timer that fires at once.
        with pytest.raises(Full):
            q.put(2, timeout=-1)
        with pytest.raises(TypeError):
            q.put(2, timeout='x')
        # An item there: get() returns it without looking at the timeout.
        assert q.get(timeout='x') == 1

    def test_put_needs_an_item(self, qcls):
        with pytest.raises(TypeError):
            qcls().put()

    def test_hub_can_hand_item_to_waiting_getter(self, qcls):
        q = qcls(1)
        q.put('first')
        got = []
        g = gevent.spawn(lambda: got.append(q.get()))
        # g takes 'first' at once; make it wait for the next one.
        gevent.sleep(0)
        g2 = gevent.spawn(lambda: got.append(q.get()))
        gevent.sleep(0)
        # In the hub (a callback), put() on a full queue cannot wait.
        q.put('second')
        errors = []

        def in_hub():
            try:
                q.put_nowait('third')
            except Full:
                errors.append('Full')

        get_hub().loop.run_callback(in_hub)
        gevent.sleep(0.01)
        gevent.joinall([g, g2], timeout=5)
        assert got == ['first', 'second']
        assert errors == []
        assert drain(q) == ['third']

    def test_hub_get_nowait_takes_from_blocked_putter(self, qcls):
        q = qcls(1)
        q.put('a')
        putter = gevent.spawn(q.put, 'b')
        gevent.sleep(0)
        results = []

        def in_hub():
            results.append(q.get_nowait())
            results.append(q.get_nowait())

        get_hub().loop.run_callback(in_hub)
        gevent.sleep(0.01)
        putter.join(timeout=5)
        assert sorted(results) == ['a', 'b']
        assert putter.successful()

    def test_stdlib_style_subclass(self, qcls):
        if qcls is not Queue:
            pytest.skip('once is enough')

        class ListQueue(Queue):
            def _init(self, maxsize, items=()):
                Queue._init(self, maxsize, items)
                self.log = []

            def _put(self, item):
                self.log.append(('put', item))
                Queue._put(self, item)

            def _get(self):
                item = Queue._get(self)
                self.log.append(('get', item))
                return item

        q = ListQueue()
        q.put(1)
        gevent.spawn(q.put, 2).join()
        assert q.get() == 1 and q.get() == 2
        assert q.log == [('put', 1), ('put', 2), ('get', 1), ('get', 2)]

    def test_str_and_repr(self, qcls):
        q = qcls(3)
        assert str(q).startswith('<%s maxsize=3' % qcls.__name__)
        assert repr(q).startswith('<%s at 0x' % qcls.__name__)
        assert str(qcls()) == '<%s>' % qcls.__name__
        q.put(1)
        assert 'queue=' in str(q)

    def test_generic_alias(self, qcls):
        alias = qcls[int]
        assert alias.__origin__ is qcls

    def test_weakref(self, qcls):
        import weakref
        q = qcls()
        assert weakref.ref(q)() is q

    def test_hub_attribute(self, qcls):
        assert qcls().hub is get_hub()


# -- joinable queues ------------------------------------------------------------------

@pytest.mark.parametrize('cls', JOINABLE, ids=lambda c: c.__name__)
class TestJoinable:

    def test_task_done_and_join(self, cls):
        q = cls()
        assert q.unfinished_tasks == 0
        assert q.join() is True
        q.put(1)
        q.put(2)
        assert q.unfinished_tasks == 2
        assert q.join(timeout=0.01) is False
        done = []

        def worker():
            while True:
                item = q.get()
                done.append(item)
                q.task_done()

        w = gevent.spawn(worker)
        assert q.join(timeout=5) is True
        assert sorted(done) == [1, 2]
        assert q.unfinished_tasks == 0
        w.kill()

    def test_task_done_too_often(self, cls):
        q = cls()
        with pytest.raises(ValueError):
            q.task_done()
        q.put(1)
        q.get()
        q.task_done()
        with pytest.raises(ValueError):
            q.task_done()

    def test_items_are_unfinished_tasks(self, cls):
        q = cls(items=[1, 2])
        assert q.unfinished_tasks == 2
        assert q.join(0.001) is False
        q2 = cls(None, [1], 7)
        assert q2.unfinished_tasks == 7
        assert q2.copy().unfinished_tasks == 7

    def test_shutdown_lets_gets_drain_then_raises(self, cls):
        q = cls()
        q.put(1)
        q.shutdown()
        assert q.is_shutdown
        with pytest.raises(ShutDown):
            q.put(2)
        assert q.get() == 1
        with pytest.raises(ShutDown):
            q.get()
        with pytest.raises(ShutDown):
            q.get_nowait()

    def test_shutdown_immediate(self, cls):
        q = cls()
        for i in range(3):
            q.put(i)
        q.shutdown(immediate=True)
        assert q.qsize() == 0
        assert q.unfinished_tasks == 0
        assert q.join(0) is True
        with pytest.raises(ShutDown):
            q.get()

    def test_shutdown_wakes_blocked_callers(self, cls):
        q = cls(1)
        getter = gevent.spawn(q.get)
        gevent.sleep(0)
        q2 = cls(1)
        q2.put(0)
        putter = gevent.spawn(q2.put, 1)
        gevent.sleep(0)
        q.shutdown()
        q2.shutdown()
        gevent.joinall([getter, putter], timeout=5)
        assert isinstance(getter.exception, ShutDown)
        assert isinstance(putter.exception, ShutDown)
        assert drain(q2) == [0]

    def test_str_shows_tasks(self, cls):
        q = cls()
        q.put(1)
        assert 'tasks=1' in str(q)


class TestSimpleQueue:

    def test_no_task_tracking_or_shutdown(self):
        q = SimpleQueue()
        assert not hasattr(q, 'task_done')
        assert not hasattr(q, 'join')
        assert not hasattr(q, 'shutdown')
        assert q.is_shutdown is False

    def test_joinable_alias(self):
        assert JoinableQueue is Queue
        assert issubclass(Queue, SimpleQueue)
        assert issubclass(LifoQueue, Queue) and issubclass(PriorityQueue, Queue)

    def test_exceptions_are_the_stdlib_ones(self):
        import queue
        assert Empty is queue.Empty and Full is queue.Full


class TestPriorityAndLifo:

    def test_priority_tuples(self):
        q = PriorityQueue()
        for item in [(3, 'c'), (1, 'a'), (2, 'b')]:
            q.put(item)
        assert [q.get() for _ in range(3)] == [(1, 'a'), (2, 'b'), (3, 'c')]

    def test_priority_items_heapified(self):
        q = PriorityQueue(items=[5, 1, 4, 2])
        assert [q.get() for _ in range(4)] == [1, 2, 4, 5]

    def test_uncomparable_item_raised_in_putter(self):
        q = PriorityQueue()
        q.put(1)
        with pytest.raises(TypeError):
            q.put('a')

    def test_uncomparable_item_raised_in_blocked_putter(self):
        q = PriorityQueue(2)
        q.put(1)
        q.put(2)
        putter = gevent.spawn(q.put, 'x')
        gevent.sleep(0)
        assert q.get() == 1
        putter.join(timeout=5)
        # The hub puts the item for the blocked putter; the error is thrown
        # into it. heappush has already appended the item when it fails, so
        # (as in gevent) the item is in the queue anyway.
        assert isinstance(putter.exception, TypeError)
        assert drain(q) == [2, 'x']

    def test_lifo_peek(self):
        q = LifoQueue()
        q.put(1)
        q.put(2)
        assert q.peek() == 2


# -- the seed tutorial's bounded queue, line for line ------------------------------------

def test_bounded_queue_tutorial_order():
    tasks = Queue(maxsize=3)
    out = []

    def worker(name):
        try:
            while True:
                task = tasks.get(timeout=0.2)
                out.append('%s got task %s' % (name, task))
                gevent.sleep(0)
        except Empty:
            out.append('%s quits' % name)

    def boss():
        for i in range(1, 10):
            tasks.put(i)
        out.append('boss assigned round 1')
        for i in range(10, 20):
            tasks.put(i)
        out.append('boss assigned round 2')

    gevent.joinall([gevent.spawn(boss), gevent.spawn(worker, 'ann'),
                    gevent.spawn(worker, 'bob'), gevent.spawn(worker, 'cat')])
    names = ['ann', 'bob', 'cat']
    expected = ['%s got task %s' % (names[(i - 1) % 3], i) for i in range(1, 7)]
    expected += ['boss assigned round 1']
    expected += ['%s got task %s' % (names[(i - 1) % 3], i) for i in range(7, 19)]
    expected += ['boss assigned round 2', 'ann got task 19', 'bob quits', 'cat quits', 'ann quits']
    assert out == expected


def test_workers_take_turns():
    tasks = Queue()
    out = []

    def worker(name):
        while not tasks.empty():
            out.append((name, tasks.get()))
            gevent.sleep(0)

    for i in range(1, 7):
        tasks.put_nowait(i)
    gevent.joinall([gevent.spawn(worker, n) for n in 'abc'])
    assert out == [('a', 1), ('b', 2), ('c', 3), ('a', 4), ('b', 5), ('c', 6)]


def test_ping_pong_order():
    ping, pong = Queue(1), Queue(1)
    log = []

    def echo():
        for _ in range(3):
            x = ping.get()
            log.append(('echo', x))
            pong.put(x * 10)

    g = gevent.spawn(echo)
    for i in range(3):
        ping.put(i)
        log.append(('main', pong.get()))
    g.join(timeout=5)
    assert log == [('echo', 0), ('main', 0), ('echo', 1), ('main', 10), ('echo', 2), ('main', 20)]


# -- Channel -----------------------------------------------------------------------------

class TestChannel:

    def test_rendezvous(self):
        ch = Channel()
        log = []

        def putter():
            log.append('put start')
            ch.put('x')
            log.append('put done')

        g = gevent.spawn(putter)
        gevent.sleep(0.01)
        assert log == ['put start']
        assert ch.balance == 1
        assert ch.get() == 'x'
        g.join(timeout=5)
        assert log == ['put start', 'put done']
        assert ch.balance == 0

    def test_get_waits_for_putter(self):
        ch = Channel()
        g = gevent.spawn(ch.get)
        gevent.sleep(0)
        assert ch.balance == -1
        ch.put(5)
        assert g.get(timeout=5) == 5

    def test_sizes(self):
        ch = Channel()
        assert ch.qsize() == 0
        assert ch.empty() is True
        assert ch.full() is True
        with pytest.raises(ValueError):
            Channel(2)
        assert Channel(1).balance == 0

    def test_nowait(self):
        ch = Channel()
        with pytest.raises(Empty):
            ch.get_nowait()
        with pytest.raises(Full):
            ch.put_nowait(1)
        assert ch.balance == 0

    def test_put_nowait_to_waiting_getter(self):
        ch = Channel()
        g = gevent.spawn(ch.get)
        gevent.sleep(0)
        ch.put_nowait('y')
        assert g.get(timeout=5) == 'y'

    def test_timeouts(self):
        ch = Channel()
        with pytest.raises(Empty):
            ch.get(timeout=0.01)
        with pytest.raises(Full):
            ch.put(1, timeout=0.01)
        with pytest.raises(TypeError):
            ch.get(timeout='x')
        assert ch.balance == 0

    def test_killed_getter_gets_nothing(self):
        ch = Channel()
        g1 = gevent.spawn(ch.get)
        g2 = gevent.spawn(ch.get)
        gevent.sleep(0)
        g1.kill()
        ch.put('z')
        assert g2.get(timeout=5) == 'z'

    def test_iteration(self):
        ch = Channel()

        def producer():
            for item in (1, 2, StopIteration):
                ch.put(item)

        gevent.spawn(producer)
        assert list(ch) == [1, 2]

    def test_str(self):
        assert str(Channel()).startswith('<Channel')
        assert repr(Channel()).startswith('<Channel at 0x')


def test_garbage_blocked_waiters_are_collected_safely():
    # A greenlet blocked in get()/put() that becomes garbage with its queue
    # is killed by the collector; its clean-up must find the queue intact.
    from _helpers import assert_ok, run_python
    res = run_python('''
        import gc
        import geventc as gevent
        from geventc.queue import Channel, LifoQueue, PriorityQueue, Queue, SimpleQueue
        from geventc.lock import Semaphore
        for _ in range(3):
            for cls in (Queue, SimpleQueue, LifoQueue, PriorityQueue, Channel):
                q = cls()
                gs = [gevent.spawn(q.get) for _ in range(3)]
                gevent.sleep(0)
                del gs, q
                gc.collect()
            q = Queue(1)
            q.put(0)
            gs = [gevent.spawn(q.put, 1) for _ in range(3)]
            gevent.sleep(0)
            del gs, q
            gc.collect()
            s = Semaphore(0)
            gs = [gevent.spawn(s.acquire) for _ in range(3)]
            gevent.sleep(0)
            del gs, s
            gc.collect()
        print('ok')
    ''')
    assert_ok(res)
    assert res.stdout.strip() == 'ok'
