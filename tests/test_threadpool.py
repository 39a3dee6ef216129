"""geventc.threadpool: real worker threads, results handed back to greenlets."""
import concurrent.futures
import sys
import threading
import time

import pytest

import geventc as gevent
from geventc import Timeout
from geventc.hub import get_hub
from geventc.threadpool import ThreadPool, ThreadPoolExecutor

from _helpers import assert_ok, run_python

pytestmark = pytest.mark.filterwarnings('error')


@pytest.fixture
def pool():
    p = ThreadPool(4)
    yield p
    p.kill()


class Ticker(object):
    """A greenlet counting its wake-ups: proof the hub kept running."""

    def __init__(self, interval=0.01):
        self.ticks = 0
        self.interval = interval
        self.greenlet = gevent.spawn(self._run)

    def _run(self):
        while True:
            self.ticks += 1
            gevent.sleep(self.interval)

    def stop(self):
        self.greenlet.kill()
        return self.ticks


def test_apply_runs_in_another_thread(pool):
    main = threading.get_ident()
    assert pool.apply(threading.get_ident) != main
    assert pool.apply(divmod, (17, 5)) == (3, 2)
    assert pool.apply(dict, (), {'a': 1}) == {'a': 1}


def test_spawn_returns_an_async_result(pool):
    from geventc.event import AsyncResult
    result = pool.spawn(pow, 2, 10)
    assert isinstance(result, AsyncResult)
    assert result.get() == 1024
    assert result.successful()


def test_the_hub_keeps_running_while_a_thread_blocks(pool):
    ticker = Ticker()
    start = time.monotonic()
    pool.apply(time.sleep, (0.3,))
    elapsed = time.monotonic() - start
    assert ticker.stop() >= 10
    assert 0.25 <= elapsed < 2


def test_tasks_run_in_parallel(pool):
    start = time.monotonic()
    results = [pool.spawn(time.sleep, 0.3) for _ in range(4)]
    for r in results:
        r.get()
    assert time.monotonic() - start < 0.9
    assert pool.size == 4


def test_threads_start_on_demand_up_to_maxsize():
    pool = ThreadPool(3)
    try:
        assert pool.size == 0
        pool.apply(int)
        assert pool.size == 1
        gevent.joinall([gevent.spawn(pool.apply, time.sleep, (0.1,)) for _ in range(6)])
        assert pool.size == 3
        assert pool.maxsize == 3
    finally:
        pool.kill()


def test_worker_errors_are_reraised_and_reported(pool, capsys):
    def fail():
        raise ValueError('from the worker')

    with pytest.raises(ValueError, match='from the worker'):
        pool.apply(fail)
    result = pool.spawn(fail)
    with pytest.raises(ValueError):
        result.get()
    assert not result.successful()
    assert isinstance(result.exception, ValueError)
    err = capsys.readouterr().err
    # As gevent: the hub prints the worker's error too.
    assert 'ValueError: from the worker' in err
    assert 'failed with ValueError' in err
    # The pool still works.
    assert pool.apply(int, ('7',)) == 7


def test_len_and_join(pool):
    assert len(pool) == 0
    assert not pool
    for _ in range(3):
        pool.spawn(time.sleep, 0.1)
    assert len(pool) == 3
    start = time.monotonic()
    pool.join()
    assert len(pool) == 0
    assert time.monotonic() - start >= 0.05


def test_map_and_imap(pool):
    assert pool.map(lambda x: x * x, range(10)) == [x * x for x in range(10)]
    assert list(pool.imap(lambda x: x + 1, range(20))) == list(range(1, 21))
    assert list(pool.imap(pow, [2, 3], [5, 2])) == [32, 9]
    assert sorted(pool.imap_unordered(lambda x: -x, range(20))) == sorted(-x for x in range(20))


def test_imap_keeps_order_with_uneven_durations(pool):
    def work(x):
        time.sleep(0.05 * (3 - x))
        return x
    assert list(pool.imap(work, range(4))) == [0, 1, 2, 3]
    assert list(pool.imap_unordered(work, range(4)))[-1] == 0


def test_imap_maxsize(pool):
    assert list(pool.imap(lambda x: x, range(30), maxsize=2)) == list(range(30))


def test_imap_error(pool):
    def maybe_fail(x):
        if x == 2:
            raise KeyError(x)
        return x
    it = pool.imap(maybe_fail, range(5))
    assert next(it) == 0
    assert next(it) == 1
    with pytest.raises(KeyError):
        next(it)


def test_apply_async_and_callbacks(pool):
    got = []
    g = pool.apply_async(pow, (3, 3), callback=got.append)
    assert g.get() == 27
    assert got == [27]
    assert pool.apply_cb(pow, (2, 2), callback=got.append) == 4
    assert got == [27, 4]
    g = pool.map_async(str, range(3), callback=got.append)
    assert g.get() == ['0', '1', '2']
    assert got[-1] == ['0', '1', '2']


def test_killed_waiter_does_not_break_the_pool(pool):
    started = threading.Event()

    def slow():
        started.set()
        time.sleep(0.3)
        return 'late'

    g = gevent.spawn(pool.apply, slow)
    gevent.sleep(0.01)
    while not started.is_set():
        gevent.sleep(0.01)
    g.kill()
    assert g.dead and g.successful()  # killed: value is the GreenletExit
    assert pool.apply(int, ('5',)) == 5
    pool.join()
    assert len(pool) == 0
    # Every slot came back: maxsize + 1 tasks can be outstanding again.
    results = [pool.spawn(int, str(i)) for i in range(pool.maxsize + 1)]
    assert [r.get() for r in results] == list(range(pool.maxsize + 1))


def test_timeout_while_waiting(pool):
    with pytest.raises(Timeout):
        with Timeout(0.05):
            pool.apply(time.sleep, (0.3,))
    assert pool.apply(str, (1,)) == '1'


def test_spawn_waits_for_a_free_slot():
    pool = ThreadPool(1)
    try:
        # gevent lets maxsize + 1 tasks be outstanding before spawn waits.
        first = pool.spawn(time.sleep, 0.2)
        second = pool.spawn(time.sleep, 0.2)
        spawned = []
        g = gevent.spawn(lambda: spawned.append(pool.spawn(int, '3')))
        gevent.sleep(0.05)
        assert not spawned
        first.get()
        g.join()
        assert spawned[0].get() == 3
        second.get()
    finally:
        pool.kill()


def test_size_and_maxsize_setters():
    pool = ThreadPool(2)
    try:
        pool.size = 2
        assert pool.size == 2
        pool.size = 1
        assert pool.size == 1
        with pytest.raises(ValueError):
            pool.size = 3
        with pytest.raises(ValueError):
            pool.size = -1
        pool.maxsize = 5
        pool.size = 4
        assert pool.size == 4
        with pytest.raises(ValueError):
            pool.maxsize = -1
        with pytest.raises(TypeError):
            pool.maxsize = 1.5
    finally:
        pool.kill()
    assert pool.size == 0


def test_idle_threads_leave_after_idle_task_timeout():
    pool = ThreadPool(2, idle_task_timeout=0.1)
    try:
        assert pool.apply(abs, (-1,)) == 1
        assert pool.size == 1
        deadline = time.monotonic() + 5
        while pool.size and time.monotonic() < deadline:
            gevent.sleep(0.05)
        assert pool.size == 0
        assert pool.apply(abs, (-2,)) == 2
    finally:
        pool.kill()


def test_kill_then_reuse():
    pool = ThreadPool(2)
    pool.apply(int)
    pool.kill()
    assert pool.size == 0
    assert pool.apply(int, ('9',)) == 9
    pool.kill()


def test_from_another_thread():
    from geventc.exceptions import InvalidThreadUseError
    pool = get_hub().threadpool
    errors = []

    def other():
        try:
            pool.spawn(int)
        except InvalidThreadUseError as ex:
            errors.append(ex)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert len(errors) == 1


def test_apply_inside_a_worker_runs_immediately(pool):
    assert pool.apply(lambda: pool.apply(threading.get_ident) == threading.get_ident())


def test_one_pool_per_hub():
    hub = get_hub()
    assert hub.threadpool is hub.threadpool
    assert isinstance(hub.threadpool, ThreadPool)
    assert hub.threadpool.maxsize == 10
    others = []

    def other_thread():
        others.append(get_hub().threadpool)
        get_hub().destroy(destroy_loop=True)

    t = threading.Thread(target=other_thread)
    t.start()
    t.join()
    assert others[0] is not hub.threadpool


def test_greenlets_inside_a_worker():
    # A task may use geventc in its own thread (it gets its own hub).
    def task():
        out = []
        gevent.joinall([gevent.spawn(out.append, i) for i in range(3)])
        return out

    assert get_hub().threadpool.apply(task) == [0, 1, 2]


def test_many_round_trips(pool):
    assert sum(pool.apply(abs, (-i,)) for i in range(2000)) == sum(range(2000))


def test_waiting_on_the_pool_alone_is_not_a_loop_exit():
    # Nothing but the pending result keeps the loop alive here.
    res = assert_ok(run_python('''
        import time
        import geventc
        from geventc.threadpool import ThreadPool
        pool = ThreadPool(2)
        print(pool.apply(lambda: (time.sleep(0.2), 'done')[1]))
        print(pool.spawn(time.sleep, 0.1).get())
    '''))
    assert res.stdout.split() == ['done', 'None']


def test_pool_works_in_a_forked_child():
    res = assert_ok(run_python('''
        import os
        import geventc
        from geventc.os import fork_gevent
        pool = geventc.get_hub().threadpool
        print(pool.apply(abs, (-1,)))
        pid = fork_gevent()
        if pid == 0:
            ok = pool.apply(abs, (-2,)) == 2 and pool.map(abs, [-3, -4]) == [3, 4]
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        print('child', os.waitstatus_to_exitcode(status))
    '''))
    assert res.stdout.split() == ['1', 'child', '0']


# -- concurrent.futures ----------------------------------------------------------------

def test_executor_submit_and_result():
    with ThreadPoolExecutor(2) as ex:
        f = ex.submit(pow, 2, 8)
        assert f.result() == 256
        assert f.done() and not f.cancelled()
        f = ex.submit(int, 'x')
        with pytest.raises(ValueError):
            f.result()
    with pytest.raises(RuntimeError):
        ex.submit(int)


@pytest.mark.geventc_only
def test_executor_futures_are_concurrent_futures():
    # gevent's futures are proxies lacking running(), cancel() ...
    with ThreadPoolExecutor(1) as ex:
        f = ex.submit(time.sleep, 0.1)
        assert isinstance(f, concurrent.futures.Future)
        assert f.running() and not f.done()
        assert f.cancel() is False
        f.result()
        assert not f.running() and f.done()
        # gevent's exception() raises the exception instead of returning it.
        f = ex.submit(int, 'x')
        assert isinstance(f.exception(), ValueError)


def test_executor_result_waits_cooperatively(capsys):
    with ThreadPoolExecutor(2) as ex:
        ticker = Ticker()
        f = ex.submit(time.sleep, 0.3)
        assert f.result() is None
        assert ticker.stop() >= 10


def test_executor_result_timeout():
    with ThreadPoolExecutor(1) as ex:
        f = ex.submit(time.sleep, 0.3)
        with pytest.raises(concurrent.futures.TimeoutError):
            f.result(timeout=0.01)
        assert f.result() is None


def test_executor_done_callback():
    got = []
    with ThreadPoolExecutor(1) as ex:
        f = ex.submit(pow, 3, 2)
        f.add_done_callback(lambda fut: got.append(fut.result()))
        f.result()
        gevent.sleep(0)
    assert got == [9]


def test_executor_map():
    with ThreadPoolExecutor(3) as ex:
        assert list(ex.map(abs, [-1, -2, -3])) == [1, 2, 3]


def test_executor_futures_with_gevent_wait():
    with ThreadPoolExecutor(3) as ex:
        futures = [ex.submit(time.sleep, 0.05 * i) for i in range(3)]
        done = gevent.wait(futures, timeout=5)
        assert len(done) == 3
        assert all(f.done() for f in futures)


def test_concurrent_futures_wait_needs_patched_threading_while_pending():
    # As gevent 26.9.0: without threading monkey-patched, wait()/as_completed()
    # would block the hub on a native lock, so a pending future refuses them.
    with ThreadPoolExecutor(2) as ex:
        pending = ex.submit(time.sleep, 0.2)
        with pytest.raises(AttributeError):
            concurrent.futures.wait([pending])
        with pytest.raises(AttributeError):
            list(concurrent.futures.as_completed([pending]))
        assert pending.result() is None


def test_concurrent_futures_wait_on_done_futures():
    with ThreadPoolExecutor(2) as ex:
        futures = [ex.submit(pow, 2, i) for i in range(3)]
        assert [f.result() for f in futures] == [1, 2, 4]
        done, not_done = concurrent.futures.wait(futures)
        assert done == set(futures) and not not_done
        assert set(concurrent.futures.as_completed(futures)) == set(futures)


@pytest.mark.geventc_only
def test_concurrent_futures_wait_first_exception():
    # gevent's future.exception() raises the exception, so wait() does too.
    with ThreadPoolExecutor(1) as ex:
        failed = ex.submit(int, 'x')
        assert isinstance(failed.exception(), ValueError)
        done, _ = concurrent.futures.wait([failed], return_when=concurrent.futures.FIRST_EXCEPTION)
        assert done == {failed}


def test_executor_callback_errors_are_printed_not_raised(capsys):
    with ThreadPoolExecutor(1) as ex:
        f = ex.submit(time.sleep, 0.05)
        calls = []

        def bad(fut):
            calls.append(fut)
            raise KeyError('from the callback')

        f.add_done_callback(bad)
        assert f.result() is None
        gevent.sleep(0.01)
        assert calls == [f]
    assert "KeyError: 'from the callback'" in capsys.readouterr().err


@pytest.mark.geventc_only
def test_executor_result_lets_a_callers_timeout_through():
    # gevent turns any Timeout raised while waiting into TimeoutError.
    with ThreadPoolExecutor(1) as ex:
        f = ex.submit(time.sleep, 0.3)
        with pytest.raises(Timeout):
            with Timeout(0.02):
                f.result(timeout=5)
        assert f.result() is None


# -- worker greenlets, hooks, failures --------------------------------------------------

def test_tasks_run_in_a_worker_greenlet(pool):
    from greenlet import getcurrent
    from geventc.threadpool import _WorkerGreenlet
    from geventc.util import format_run_info
    worker = pool.apply(getcurrent)
    assert isinstance(worker, _WorkerGreenlet)
    assert ThreadPool._WorkerGreenlet is _WorkerGreenlet
    text = repr(worker)
    assert text.startswith('<ThreadPoolWorker at ') and 'thread_ident=0x' in text
    assert 'threadpool-hub=<' in text
    assert '<ThreadPoolWorker' in '\n'.join(format_run_info())


@pytest.mark.geventc_only
def test_an_idle_worker_is_named_in_run_info():
    # gevent's compiled task queue leaves no frame local to recognise it by.
    from geventc.util import format_run_info
    pool = ThreadPool(1)
    try:
        pool.apply(int)
        info = '\n'.join(format_run_info())
        assert 'idle threadpool worker' in info
    finally:
        pool.kill()


@pytest.mark.parametrize('kind', ['profile', 'trace'])
def test_threading_hooks_are_installed_for_each_task_only(kind):
    setter = getattr(threading, 'set' + kind)
    getter = getattr(sys, 'get' + kind)
    calls = []

    def hook(*args):
        calls.append(args[1])
        return None

    pool = ThreadPool(1)
    try:
        pool.size = 1     # the thread exists before the hook is set
        setter(hook)
        try:
            assert pool.apply(getter) is hook
            assert calls  # it saw the task run
        finally:
            setter(None)
        # Cleared after the task, and not installed for the next one.
        assert pool.apply(getter) is None
    finally:
        pool.kill()


def test_a_hook_a_task_installs_does_not_outlive_it(pool):
    def sets_profile():
        sys.setprofile(lambda *args: None)
    pool.apply(sets_profile)
    assert pool.apply(sys.getprofile) is None


class _SetupFails(Exception):
    pass


def _failing_setup_pool(maxsize, failing):
    import io

    class Pool(ThreadPool):
        class _WorkerGreenlet(ThreadPool._WorkerGreenlet):
            def __init__(self, threadpool):
                ThreadPool._WorkerGreenlet.__init__(self, threadpool)
                self._stderr = failing['stderr'] = failing.get('stderr') or io.StringIO()

            def _before_run_task(self, *args):
                if failing['on']:
                    raise _SetupFails()
                ThreadPool._WorkerGreenlet._before_run_task(self, *args)

    return Pool(maxsize)


def test_a_task_setup_failure_reaches_the_caller_and_frees_its_slot(capsys):
    failing = {'on': True}
    pool = _failing_setup_pool(2, failing)
    try:
        # More failures than slots: a slot leaked per failure would hang here.
        for _ in range(pool.maxsize + 2):
            with pytest.raises(_SetupFails):
                pool.apply(int)
        failing['on'] = False
        assert pool.apply(int, ('42',)) == 42
        assert 'Failed to run worker thread' in failing['stderr'].getvalue()
        # The hub reported each failure as a worker error.
        assert 'failed with _SetupFails' in capsys.readouterr().err
    finally:
        pool.kill()


def test_queued_tasks_outlive_workers_whose_setup_failed(capsys):
    failing = {'on': True}
    pool = _failing_setup_pool(2, failing)
    try:
        results = [pool.spawn(int) for _ in range(pool.maxsize + 1)]
        for result in results:
            with pytest.raises(_SetupFails):
                result.get()
        pool.join()
        assert len(pool) == 0
    finally:
        pool.kill()
    capsys.readouterr()


def test_kill_while_another_greenlet_keeps_spawning():
    pool = ThreadPool(2)
    done = pool.map_async(time.sleep, [0.1] * 4)
    gevent.sleep(0.1)
    start = time.monotonic()
    pool.kill()
    # The queued tasks finish first, then every thread (even ones started
    # meanwhile for the mapping greenlet) leaves.
    assert time.monotonic() - start < 2
    assert pool.size == 0
    done.join()
    assert done.get() == [None] * 4


def test_thread_result_delivers_once_in_the_hub():
    from geventc.threadpool import ThreadResult
    hub = get_hub()
    got = []
    ready = []
    result = ThreadResult(got.append, hub, lambda: ready.append(threading.get_ident()))
    t = threading.Thread(target=result.set, args=('value',))
    t.start()
    t.join()
    while not got:
        gevent.sleep(0.01)
    assert got == [result]
    assert ready == [threading.get_ident()]     # called in the hub's thread
    assert result.successful() and result.exception is None
    # Used up: the value is dropped; the receiver is an inert stand-in.
    assert result.value is None
    assert result.receiver is not None and not result.receiver
    result.set('again')   # nothing fires any more
    gevent.sleep(0.01)
    assert got == [result]


def test_thread_result_error_goes_to_the_hub_then_the_receiver(capsys):
    from geventc.threadpool import ThreadResult
    hub = get_hub()
    got = []
    result = ThreadResult(got.append, hub, lambda: None)
    try:
        raise KeyError('in a thread')
    except KeyError:
        exc_info = sys.exc_info()
    t = threading.Thread(target=result.handle_error, args=('the context', exc_info))
    t.start()
    t.join()
    while not got:
        gevent.sleep(0.01)
    assert not result.successful()
    assert isinstance(result.exception, KeyError)
    assert result.exc_info[2] is None        # the traceback is not kept
    err = capsys.readouterr().err
    assert "KeyError: 'in a thread'" in err and 'the context failed with KeyError' in err


def test_a_destroyed_thread_result_never_fires():
    from geventc.threadpool import ThreadResult
    got = []
    result = ThreadResult(got.append, get_hub(), lambda: got.append('ready'))
    result.destroy_in_main_thread()
    result.set(1)
    gevent.sleep(0.02)
    assert got == []
    assert not result.receiver and not result.async_watcher
