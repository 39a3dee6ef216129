"""geventc.pool: Group and Pool (as gevent 26.9.0's)."""
import time

import pytest

import geventc as gevent
from geventc import Greenlet, GreenletExit
from geventc.pool import Group, Pool, PoolFull
from geventc.queue import Full

pytestmark = pytest.mark.filterwarnings('error')

GROUPS = {
    'Group': Group,
    'Pool': Pool,
    'Pool(5)': lambda: Pool(5),
}


@pytest.fixture(params=sorted(GROUPS))
def group(request):
    return GROUPS[request.param]()


def sleeper(t, value=None):
    gevent.sleep(t)
    return value


def boom(msg='boom'):
    raise ValueError(msg)


class TestGroupContract:

    def test_spawn_tracks_until_death(self, group):
        g = group.spawn(sleeper, 0.01, 'v')
        assert isinstance(g, Greenlet)
        assert g in group and len(group) == 1
        assert list(group) == [g]
        assert group
        assert group.join(timeout=5) is True
        assert g.value == 'v'
        assert len(group) == 0 and g not in group
        assert not group

    def test_join_timeout(self, group):
        group.spawn(sleeper, 5)
        start = time.monotonic()
        assert group.join(timeout=0.02) is False
        assert time.monotonic() - start < 2
        group.kill()

    def test_join_empty(self, group):
        assert group.join() is True

    def test_join_raise_error(self, group):
        group.spawn(boom, 'first')
        group.spawn(sleeper, 0.01)
        with pytest.raises(ValueError, match='first'):
            group.join(raise_error=True)

    def test_add_discard(self, group):
        g = Greenlet(sleeper, 0.01)
        group.add(g)
        assert g in group
        group.discard(g)
        assert g not in group
        g.start()
        g.join()
        assert len(group) == 0

    def test_start(self, group):
        g = Greenlet(sleeper, 0, 3)
        group.start(g)
        assert g in group
        group.join(timeout=5)
        assert g.value == 3

    def test_kill(self, group):
        gs = [group.spawn(sleeper, 5) for _ in range(3)]
        group.kill()
        assert len(group) == 0
        assert all(g.dead for g in gs)
        assert all(isinstance(g.value, GreenletExit) for g in gs)

    def test_kill_nonblocking_and_exception(self, group):
        gs = [group.spawn(sleeper, 5) for _ in range(2)]
        group.kill(exception=KeyError, block=False)
        gevent.joinall(gs, timeout=5)
        assert all(isinstance(g.exception, KeyError) for g in gs)
        assert len(group) == 0

    def test_killone(self, group):
        a = group.spawn(sleeper, 5)
        b = group.spawn(sleeper, 0.01, 'b')
        group.killone(a)
        assert a.dead
        assert group.join(timeout=5)
        assert b.value == 'b'
        group.killone(a)   # not a member any more: nothing happens

    def test_map(self, group):
        assert group.map(lambda x: x * 2, range(5)) == [0, 2, 4, 6, 8]
        assert group.map(lambda x: x, []) == []

    def test_map_raises(self, group):
        def f(x):
            if x == 2:
                raise ValueError(x)
            return x

        with pytest.raises(ValueError):
            group.map(f, range(4))

    def test_map_async_and_cb(self, group):
        got = []
        g = group.map_async(lambda x: x + 1, range(3), callback=got.append)
        assert g.get(timeout=5) == [1, 2, 3]
        assert got == [[1, 2, 3]]
        assert group.map_cb(lambda x: -x, [1, 2], callback=got.append) == [-1, -2]
        assert got[-1] == [-1, -2]

    def test_imap_keeps_order(self, group):
        def f(n):
            gevent.sleep(0.01 * (3 - n))
            return n

        assert list(group.imap(f, range(4))) == [0, 1, 2, 3]

    def test_imap_unordered_in_finish_order(self, group):
        def f(n):
            gevent.sleep(0.02 * (3 - n))
            return n

        assert list(group.imap_unordered(f, range(4))) == [3, 2, 1, 0]

    def test_imap_several_iterables(self, group):
        assert list(group.imap(lambda a, b: a + b, [1, 2, 3], [10, 20, 30])) == [11, 22, 33]
        assert sorted(group.imap_unordered(pow, [2, 3], [2, 2])) == [4, 9]

    def test_imap_bad_keyword(self, group):
        with pytest.raises(TypeError):
            group.imap(abs, [1], bogus=1)

    def test_imap_raises_in_place(self, group):
        def f(x):
            if x == 2:
                raise ValueError(x)
            return x

        it = group.imap(f, range(4))
        assert next(it) == 0
        assert next(it) == 1
        with pytest.raises(ValueError):
            next(it)

    def test_imap_empty(self, group):
        assert list(group.imap(abs, [])) == []
        assert list(group.imap_unordered(abs, [])) == []

    def test_imap_iterable_error(self, group):
        def items():
            yield 1
            raise KeyError('input')

        it = group.imap_unordered(lambda x: x, items())
        results = []
        with pytest.raises(KeyError):
            for x in it:
                results.append(x)
        # The walker's failure is queued as soon as the input fails, ahead
        # of the result of the task already started.
        assert results == []

    def test_imap_maxsize_bounds_unread_results(self, group):
        started = []

        def f(x):
            started.append(x)
            return x

        it = group.imap_unordered(f, range(10), maxsize=2)
        gevent.sleep(0.05)
        assert len(started) == 2
        assert next(it) in (0, 1)
        gevent.sleep(0.05)
        assert len(started) == 3
        assert sorted([started[0], started[1], started[2]]) == [0, 1, 2]
        assert len(list(it)) == 9

    def test_apply(self, group):
        assert group.apply(lambda a, b: a * b, (6, 7)) == 42
        assert group.apply(lambda **kw: kw, kwds={'a': 1}) == {'a': 1}
        with pytest.raises(ValueError):
            group.apply(boom)

    def test_apply_inside_member_runs_synchronously(self, group):
        def outer():
            return group.apply(gevent.getcurrent)

        g = group.spawn(outer)
        assert g.get(timeout=5) is g

    def test_apply_async(self, group):
        got = []
        g = group.apply_async(lambda x: x + 1, (1,), callback=got.append)
        assert g.get(timeout=5) == 2
        gevent.sleep(0.01)
        assert got == [2]
        assert group.apply_async(lambda: 'x').get(timeout=5) == 'x'

    def test_apply_cb(self, group):
        got = []
        assert group.apply_cb(lambda x: x * 3, (2,), callback=got.append) == 6
        gevent.sleep(0.01)
        assert got == [6]

    def test_greenlet_class(self, group):
        class MyGreenlet(Greenlet):
            pass

        group.greenlet_class = MyGreenlet
        g = group.spawn(sleeper, 0)
        assert type(g) is MyGreenlet
        group.join()

    def test_repr(self, group):
        assert repr(group).startswith('<%s at 0x' % type(group).__name__)


class TestGroup:

    def test_initial_greenlets(self):
        a = gevent.spawn(sleeper, 0.01)
        b = gevent.spawn(sleeper, 0.02)
        group = Group([a, b])
        assert len(group) == 2
        # gevent's quirk: initial members do not clear the "empty" event,
        # so join() returns at once.
        assert group.join(timeout=5) is True
        assert len(group) == 2
        gevent.joinall([a, b], timeout=5)
        gevent.sleep(0)
        assert len(group) == 0

    def test_never_full(self):
        group = Group()
        assert not group.full()
        assert group.wait_available() is None

    def test_add_raw_greenlet(self):
        group = Group()
        main = gevent.getcurrent()
        group.add(main)
        assert main in group
        group.discard(main)
        assert main not in group

    def test_map_uses_distinct_greenlets(self):
        group = Group()
        seen = []

        def hello(n):
            seen.append((len(group), id(gevent.getcurrent())))

        group.map(hello, range(3))
        assert [size for size, _ in seen] == [3, 3, 3]
        assert len(set(i for _, i in seen)) == 3


class TestPool:

    def test_size_bounds_concurrency(self):
        pool = Pool(2)
        sizes = []
        pool.map(lambda n: sizes.append(len(pool)), range(3))
        assert sizes == [2, 2, 1]

    def test_spawn_blocks_while_full(self):
        pool = Pool(2)
        log = []
        pool.spawn(sleeper, 0.02)
        pool.spawn(sleeper, 0.02)
        assert pool.full() and pool.free_count() == 0
        start = time.monotonic()
        pool.spawn(log.append, 'third')
        assert time.monotonic() - start >= 0.015
        pool.join(timeout=5)
        assert log == ['third']

    def test_free_count_and_wait_available(self):
        pool = Pool(3)
        assert pool.free_count() == 3 and not pool.full()
        sleepers = [pool.spawn(sleeper, 0.02) for _ in range(3)]
        assert pool.free_count() == 0 and pool.full()
        assert pool.wait_available(timeout=0.001) == 0
        assert pool.wait_available(timeout=5) >= 1
        pool.join()
        assert pool.free_count() == 3
        assert all(g.dead for g in sleepers)

    def test_add_nonblocking_and_timeout(self):
        pool = Pool(1)
        pool.spawn(sleeper, 5)
        with pytest.raises(PoolFull):
            pool.add(Greenlet(sleeper, 0), blocking=False)
        with pytest.raises(PoolFull):
            pool.add(Greenlet(sleeper, 0), timeout=0.01)
        with pytest.raises(PoolFull):
            pool.start(Greenlet(sleeper, 0), blocking=False)
        assert issubclass(PoolFull, Full)
        pool.kill()
        assert pool.free_count() == 1

    def test_unlimited(self):
        pool = Pool()
        assert pool.size is None
        assert pool.free_count() == 1
        gs = [pool.spawn(sleeper, 0.01) for _ in range(20)]
        assert len(pool) == 20 and not pool.full()
        pool.join(timeout=5)
        assert all(g.dead for g in gs)

    def test_size_zero(self):
        pool = Pool(0)
        assert pool.full()
        assert pool.free_count() == 0
        assert pool.wait_available(timeout=0.01) == 0
        with pytest.raises(PoolFull):
            pool.add(Greenlet(sleeper, 0), blocking=False)

    def test_bad_size(self):
        with pytest.raises(ValueError):
            Pool(-1)
        with pytest.raises(TypeError):
            Pool('x')

    def test_greenlet_class_argument(self):
        class MyGreenlet(Greenlet):
            pass

        pool = Pool(2, greenlet_class=MyGreenlet)
        assert type(pool.spawn(sleeper, 0)) is MyGreenlet
        pool.join()

    def test_apply_async_when_full_does_not_block(self):
        pool = Pool(1)
        pool.spawn(sleeper, 0.02)
        start = time.monotonic()
        g = pool.apply_async(lambda: 'later')
        assert time.monotonic() - start < 0.015
        assert g.get(timeout=5) == 'later'

    def test_kill_then_reuse(self):
        pool = Pool(3)
        long = pool.spawn(sleeper, 10)
        pool.kill()
        assert len(pool) == 0 and long.dead
        assert pool.apply(lambda a, b: a * b, (6, 7)) == 42
        assert list(pool.imap(lambda x: x * x, range(5))) == [0, 1, 4, 9, 16]

    def test_imap_unordered_is_deterministic(self):
        def echo(i):
            time.sleep(0.001)
            return i

        pool = Pool(10)
        runs = [list(pool.imap_unordered(echo, range(10))) for _ in range(3)]
        assert runs[0] == runs[1] == runs[2]
        assert sorted(runs[0]) == list(range(10))

    def test_imap_through_small_pool(self):
        pool = Pool(2)
        active = []
        peak = [0]

        def f(x):
            active.append(x)
            peak[0] = max(peak[0], len(active))
            gevent.sleep(0.001)
            active.remove(x)
            return x * 10

        assert list(pool.imap(f, range(8))) == [x * 10 for x in range(8)]
        assert peak[0] <= 2
