"""The hub's periodic monitoring thread (geventc._monitor, config.monitor_thread).

Each scenario runs in a child interpreter: the monitor is a real native
thread and its switch tracer is per-thread state of the process.
"""
import pytest

from _helpers import assert_ok, run_python

ON = {'GEVENT_MONITOR_THREAD_ENABLE': '1', 'GEVENT_MAX_BLOCKING_TIME': '0.1'}


def test_off_by_default_nothing_is_installed():
    res = assert_ok(run_python('''
        import greenlet
        import geventc as gevent
        gevent.sleep(0.01)
        hub = gevent.get_hub()
        print(hub.periodic_monitoring_thread, hub.start_periodic_monitoring_thread(),
              greenlet.gettrace())
    '''))
    assert res.stdout.split() == ['None', 'None', 'None']


def test_a_blocking_greenlet_is_reported_with_an_event():
    res = assert_ok(run_python('''
        import io, time, threading
        import geventc as gevent
        from geventc import events
        seen = []
        events.subscribers.append(seen.append)
        hub = gevent.get_hub()
        hub.exception_stream = stream = io.StringIO()

        def blocker():
            time.sleep(0.5)     # holds the loop, never switches

        g = gevent.spawn(blocker)
        g.name = 'the-blocker'
        g.join()
        gevent.sleep(0.3)       # switching: no further reports
        monitor = hub.periodic_monitoring_thread
        blocked = [e for e in seen if isinstance(e, events.EventLoopBlocked)]
        started = [e for e in seen if isinstance(e, events.PeriodicMonitorThreadStartedEvent)]
        print('started', len(started), started[0].monitor is monitor)
        print('events', len(blocked) >= 1, blocked[0].greenlet is g, blocked[0].hub is hub,
              blocked[0].blocking_time)
        text = stream.getvalue()
        print('report', 'appears to be blocked' in text, 'the-blocker' in text,
              'PeriodicMonitoringThread' in text, 'Blocked Stack' in text,
              'in blocker' in text)
        # The report is what the event carried, printed line by line.
        print('same', all(line in text for line in blocked[0].info[:3]))
        print('other thread', monitor.monitor_thread_ident != threading.get_ident())
    ''', extra_env=ON))
    lines = res.stdout.splitlines()
    assert lines == [
        'started 1 True',
        'events True True True 0.1',
        'report True True True True True',
        'same True',
        'other thread True',
    ], res.stdout + res.stderr


def test_greenlets_that_keep_switching_are_not_reported():
    res = assert_ok(run_python('''
        import io, time
        import geventc as gevent
        hub = gevent.get_hub()
        hub.exception_stream = stream = io.StringIO()

        def busy_but_cooperative():
            end = time.monotonic() + 0.6
            while time.monotonic() < end:
                time.sleep(0.01)
                gevent.sleep(0)

        gevent.joinall([gevent.spawn(busy_but_cooperative) for _ in range(2)])
        gevent.sleep(0.3)     # idle in the hub: not blocked either
        print(repr(stream.getvalue()))
    ''', extra_env=ON))
    assert res.stdout.strip() == "''"


def test_reports_can_be_silenced_but_events_still_come():
    env = dict(ON, GEVENT_MONITOR_PRINT_BLOCKING_REPORTS='false')
    res = assert_ok(run_python('''
        import io, time
        import geventc as gevent
        from geventc import events
        seen = []
        events.subscribers.append(seen.append)
        hub = gevent.get_hub()
        hub.exception_stream = stream = io.StringIO()
        gevent.spawn(time.sleep, 0.4).join()
        gevent.sleep(0.05)
        print(any(isinstance(e, events.EventLoopBlocked) for e in seen), repr(stream.getvalue()))
    ''', extra_env=env))
    assert res.stdout.split() == ['True', "''"]


def test_a_pool_worker_waiting_for_work_is_not_blocked():
    res = assert_ok(run_python('''
        import io, time
        import geventc as gevent
        from geventc.hub import get_hub
        stream = io.StringIO()
        pool = gevent.get_hub().threadpool

        def make_a_hub_here():
            hub = get_hub()
            hub.exception_stream = stream
            gevent.sleep(0.01)           # runs the worker's hub: it starts a monitor
            return hub.periodic_monitoring_thread

        monitor = pool.apply(make_a_hub_here)
        print('monitor', monitor is not None)
        pool.apply(time.sleep, (0.4,))   # a task that blocks, alone in its thread
        gevent.sleep(0.4)                # and the worker idles in the queue
        print('quiet', repr(stream.getvalue()))

        def spawn_and_block():
            gevent.spawn(time.sleep, 0.4).join()
        pool.apply(spawn_and_block)      # a greenlet blocking that thread's loop
        gevent.sleep(0.05)
        print('reported', 'appears to be blocked' in stream.getvalue())
    ''', extra_env=ON))
    assert res.stdout.split() == ['monitor', 'True', 'quiet', "''", 'reported', 'True'], res.stderr


def test_destroying_the_hub_stops_the_monitor_and_its_tracer():
    res = assert_ok(run_python('''
        import sys, time
        import greenlet
        import geventc as gevent
        hub = gevent.get_hub()
        gevent.sleep(0.01)
        monitor = hub.periodic_monitoring_thread
        ident = monitor.monitor_thread_ident
        print('tracing', greenlet.gettrace() is monitor._greenlet_tracer)
        hub.destroy(destroy_loop=True)
        print('after', hub.periodic_monitoring_thread, monitor.should_run, greenlet.gettrace())
        deadline = time.monotonic() + 5
        while ident in sys._current_frames() and time.monotonic() < deadline:
            time.sleep(0.02)
        print('thread gone', ident not in sys._current_frames())
    ''', extra_env=ON))
    assert res.stdout.split() == ['tracing', 'True', 'after', 'None', 'False', 'None',
                                  'thread', 'gone', 'True'], res.stderr


def test_monitoring_functions_run_in_the_monitor_thread_with_the_hub():
    res = assert_ok(run_python('''
        import threading
        import geventc as gevent
        hub = gevent.get_hub()
        gevent.sleep(0.001)
        monitor = hub.periodic_monitoring_thread
        calls = []
        done = threading.Event()

        def watch(h):
            calls.append((h, threading.get_ident()))
            if len(calls) >= 3:
                done.set()

        monitor.add_monitoring_function(watch, 0.02)
        while not done.is_set():
            gevent.sleep(0.01)
        monitor.add_monitoring_function(watch, None)
        print(all(h is hub for h, _ in calls),
              {t for _, t in calls} == {monitor.monitor_thread_ident},
              [e.function for e in monitor.monitoring_functions()] == [monitor.monitor_blocking])
        for bad in ((None, 1), (watch, 0), (watch, -1)):
            try:
                monitor.add_monitoring_function(*bad)
            except ValueError:
                print('ValueError')
    ''', extra_env=ON))
    assert res.stdout.split() == ['True', 'True', 'True', 'ValueError', 'ValueError', 'ValueError']


def test_sleep_time_follows_the_shortest_period_and_max_blocking_time():
    res = assert_ok(run_python('''
        import geventc as gevent
        hub = gevent.get_hub()
        gevent.sleep(0.001)
        monitor = hub.periodic_monitoring_thread
        print(monitor.calculate_sleep_time())
        gevent.config.max_blocking_time = 0.3
        monitor.monitoring_functions()
        print(monitor.calculate_sleep_time())
        monitor.add_monitoring_function(lambda h: None, 0.001)
        print(monitor.calculate_sleep_time())       # never below min_sleep_time
    ''', extra_env=ON))
    assert res.stdout.split() == ['0.1', '0.3', '0.005']


_REAL_MEMORY = '''
import os

class ProcMemory(object):
    # Our resident set size, read from /proc: real numbers, no psutil.
    def memory_full_info(self):
        with open('/proc/self/statm') as f:
            pages = int(f.read().split()[1])
        self.rss = pages * os.sysconf('SC_PAGE_SIZE')
        return self
'''


def test_memory_events_around_the_limit():
    res = assert_ok(run_python(_REAL_MEMORY + '''
import geventc as gevent
from geventc import events
hub = gevent.get_hub()
gevent.sleep(0.001)
monitor = hub.periodic_monitoring_thread
monitor._get_process = ProcMemory
print('no limit', monitor.monitor_memory_usage(hub))
gevent.config.max_memory_usage = 1024          # far below: exceeded
first = monitor.monitor_memory_usage(hub)
print(type(first).__name__, first.max_allowed, first.mem_usage > 1024)
print('no growth', monitor.monitor_memory_usage(hub))
gevent.config.max_memory_usage = 1 << 40       # far above: back under
under = monitor.monitor_memory_usage(hub)
print(type(under).__name__, under.max_memory_usage == first.mem_usage)
print('still under', monitor.monitor_memory_usage(hub))
''', extra_env=ON))
    assert res.stdout.splitlines() == [
        'no limit -1',
        'MemoryUsageThresholdExceeded 1024 True',
        'no growth None',
        'MemoryUsageUnderThreshold True',
        'still under None',
    ], res.stderr


def test_main_hub_without_psutil_warns_once_and_monitors_blocking_only():
    res = assert_ok(run_python('''
        import warnings
        warnings.simplefilter('always')
        with warnings.catch_warnings(record=True) as caught:
            import geventc as gevent
            gevent.sleep(0.001)
        monitor = gevent.get_hub().periodic_monitoring_thread
        try:
            import psutil  # noqa: F401
            print('psutil')
        except ImportError:
            print([w.category.__name__ for w in caught], len(monitor.monitoring_functions()))
    ''', extra_env=ON))
    if res.stdout.strip() != 'psutil':
        assert res.stdout.strip() == "['MonitorWarning'] 1"


@pytest.mark.geventc_only
def test_a_kill_from_another_thread_uninstalls_the_tracer_at_the_next_switch():
    # gevent's kill() calls greenlet.settrace in whatever thread runs it: from
    # the monitor thread it leaves the hub thread's tracer installed for good.
    res = assert_ok(run_python('''
        import threading
        import greenlet
        import geventc as gevent
        hub = gevent.get_hub()
        gevent.sleep(0.001)
        monitor = hub.periodic_monitoring_thread
        t = threading.Thread(target=monitor.kill)
        t.start(); t.join()
        print(monitor.should_run, greenlet.gettrace() is monitor._greenlet_tracer)
        gevent.sleep(0)
        print(greenlet.gettrace())
    ''', extra_env=ON))
    assert res.stdout.split() == ['False', 'True', 'None']


def test_the_monitor_restarts_its_thread_in_a_forked_child():
    res = assert_ok(run_python('''
        import os, sys
        import geventc as gevent
        from geventc.os import fork_gevent
        gevent.sleep(0.001)
        monitor = gevent.get_hub().periodic_monitoring_thread
        parent_thread = monitor.monitor_thread_ident
        pid = fork_gevent()
        if pid == 0:
            gevent.sleep(0.01)
            ok = (monitor.pid == os.getpid()
                  and monitor.monitor_thread_ident in sys._current_frames())
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        print('child', os.waitstatus_to_exitcode(status))
    ''', extra_env=ON))
    assert res.stdout.split() == ['child', '0'], res.stderr
