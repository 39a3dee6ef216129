"""The hub's periodic monitoring thread (gevent's ``gevent._monitor``).

With ``config.monitor_thread`` on, each hub starts one native thread when its
loop starts (:meth:`Hub.start_periodic_monitoring_thread`). Every so often it
calls its monitoring functions with the hub, in the monitor thread:

- :meth:`PeriodicMonitoringThread.monitor_blocking`, every
  ``config.max_blocking_time`` seconds: a greenlet switch tracer
  (:class:`geventc._tracer.GreenletTracer`, installed in the hub's thread)
  counts switches; none since the last look while a greenlet other than the
  hub is running means that greenlet has held the loop at least that long.
  The event :class:`~geventc.events.EventLoopBlocked` is emitted and a report
  is printed to the hub's ``exception_stream``.
- :meth:`PeriodicMonitoringThread.monitor_memory_usage`, every
  ``config.memory_monitor_period`` seconds (main hub, with psutil): emits
  :class:`~geventc.events.MemoryUsageThresholdExceeded` /
  :class:`~geventc.events.MemoryUsageUnderThreshold` around
  ``config.max_memory_usage``.

Nothing here runs unless monitoring is on: with it off no tracer is
installed, so greenlet switches cost what they always do.
"""
import os
import sys
from weakref import ref as wref

from greenlet import getcurrent

from geventc._compat import get_this_psutil_process, perf_counter, thread_mod_name
from geventc._config import config as GEVENT_CONFIG
from geventc._tracer import GreenletTracer
from geventc._util import import_threading_here
from geventc.events import (
    EventLoopBlocked, IPeriodicMonitorThread, MemoryUsageThresholdExceeded, MemoryUsageUnderThreshold,
    implementer, notify,
)
from geventc.monkey import get_original

__all__ = [
    'PeriodicMonitoringThread',
]

# Module globals, looked up at each use: gevent's tests replace them.
get_thread_ident = get_original(thread_mod_name, 'get_ident')
start_new_thread = get_original(thread_mod_name, 'start_new_thread')
thread_sleep = get_original('time', 'sleep')


class MonitorWarning(RuntimeWarning):
    """The type of warnings the monitor emits."""


class _MonitorEntry(object):
    # A monitoring function, how often it wants to run, and when it last did.
    __slots__ = ('function', 'period', 'last_run_time')

    def __init__(self, function, period):
        self.function = function
        self.period = period
        self.last_run_time = 0

    def __eq__(self, other):
        return self.function == other.function and self.period == other.period

    def __hash__(self):
        return hash((self.function, self.period))

    def __repr__(self):
        return repr((self.function, self.period, self.last_run_time))


@implementer(IPeriodicMonitorThread)
class PeriodicMonitoringThread(object):
    """A native thread calling monitoring functions with a hub, periodically.

    Made in the hub's thread (the switch tracer must be installed there).
    A raw thread, not ``threading.Thread``: that may be monkey-patched, and
    the monitor must run whatever the hub does. It holds the hub weakly and
    stops when the hub is collected, destroyed, or dead.
    """

    # How long to sleep when no function wants to run.
    inactive_sleep_time = 2.0
    # Never sleep less than this, whatever the functions ask.
    min_sleep_time = 0.005
    # Reading memory usage is expensive: not more often than this.
    min_memory_monitor_period = 2

    # The memory usage when we last found it above the limit; 0 below.
    _memory_exceeded = 0

    def __init__(self, hub):
        self._hub_wref = wref(hub, self._on_hub_gc)
        self.should_run = True
        if get_thread_ident() != hub.thread_ident:
            raise RuntimeError('a PeriodicMonitoringThread must be made in its hub\'s thread')
        # The first entry is always monitor_blocking.
        self._monitoring_functions = [_MonitorEntry(self.monitor_blocking,
                                                    GEVENT_CONFIG.max_blocking_time)]
        self._calculated_sleep_time = GEVENT_CONFIG.max_blocking_time
        self._greenlet_tracer = GreenletTracer()
        import_threading_here()
        try:
            self.monitor_thread_ident = start_new_thread(self, ())
        except BaseException:
            self._greenlet_tracer.kill()
            raise
        # After fork the thread is gone: _on_fork starts another.
        self.pid = os.getpid()

    def _on_fork(self):
        # Called by hub.reinit() after fork (like the pool's and resolvers').
        pid = os.getpid()
        if pid != self.pid:
            self.pid = pid
            import_threading_here()
            self.monitor_thread_ident = start_new_thread(self, ())

    @property
    def hub(self):
        return self._hub_wref()

    # -- the functions ------------------------------------------------------------

    def monitoring_functions(self):
        """The list of :class:`_MonitorEntry` (monitor_blocking's first),
        its period refreshed from ``config.max_blocking_time``."""
        blocking_period = GEVENT_CONFIG.max_blocking_time
        first = self._monitoring_functions[0]
        if blocking_period != first.period:
            first.period = blocking_period
            self._calculated_sleep_time = min(x.period for x in self._monitoring_functions)
        return self._monitoring_functions

    def add_monitoring_function(self, function, period):
        """Call ``function(hub)`` about every *period* seconds in the monitor
        thread; a new period replaces the old, None removes it."""
        if not callable(function):
            raise ValueError('function must be callable')
        if period is None:
            self._monitoring_functions = [x for x in self._monitoring_functions
                                          if x.function != function]
        elif period <= 0:
            raise ValueError('Period must be positive.')
        else:
            entry = _MonitorEntry(function, period)
            replaced = [entry if x.function == function else x for x in self._monitoring_functions]
            if entry not in replaced:
                replaced.append(entry)
            self._monitoring_functions = replaced
        self._calculated_sleep_time = min(x.period for x in self._monitoring_functions)

    def calculate_sleep_time(self):
        """The shortest period wanted (at least ``min_sleep_time``), or
        ``inactive_sleep_time`` when every function is disabled."""
        shortest = self._calculated_sleep_time
        if shortest <= 0:
            return self.inactive_sleep_time
        return max(shortest, self.min_sleep_time)

    # -- running and stopping ------------------------------------------------------

    def kill(self):
        """Stop the thread (at its next wake-up) and uninstall the tracer."""
        if not self.should_run:
            # Once: a second uninstall would clobber a later trace function.
            return
        self.should_run = False
        self._greenlet_tracer.kill()

    def _on_hub_gc(self, _ref):
        self.kill()

    def __call__(self):
        # The monitor thread. Not threading.current_thread(): that would
        # make an immortal _DummyThread for this raw thread.
        getcurrent().gevent_monitoring_thread = wref(self)
        try:
            while self.should_run:
                functions = self.monitoring_functions()
                thread_sleep(self.calculate_sleep_time())
                hub = self.hub
                if not hub:
                    # Collected, or no longer running.
                    self.kill()
                if self.should_run:
                    now = perf_counter()
                    for entry in functions:
                        period = entry.period
                        if period and entry.last_run_time + period <= now:
                            entry.last_run_time = now
                            entry.function(hub)
                # No reference to the hub while sleeping.
                del hub
        except SystemExit:
            pass
        except:  # noqa: E722
            # A daemon thread: at interpreter exit sys may be half gone.
            if sys and sys.stderr:
                hub = self.hub
                if hub is not None:
                    hub.handle_error(self, *sys.exc_info())

    # -- blocking -----------------------------------------------------------------

    def monitor_blocking(self, hub):
        """Report a greenlet that ran without switching since the last call.

        Returns ``(greenlet, report_lines)`` when it reported one (for tests),
        else a false value."""
        did_block = self._greenlet_tracer.did_block_hub(hub)
        if not did_block:
            return None
        active_greenlet = did_block[1]
        report = self._greenlet_tracer.did_block_hub_report(
            hub, active_greenlet,
            dict(greenlet_stacks=False, current_thread_ident=self.monitor_thread_ident))
        # Subscribers first: they may edit the (mutable) report.
        notify(EventLoopBlocked(active_greenlet, GEVENT_CONFIG.max_blocking_time, report, hub=hub))
        return self._show_blocking_report(hub, report, active_greenlet)

    def _show_blocking_report(self, hub, report, active_greenlet):
        # A separate method so it can be replaced (say, to log elsewhere).
        if GEVENT_CONFIG.print_blocking_reports:
            stream = hub.exception_stream
            for line in report:
                # Line by line: one huge print could be a reentrant call.
                print(line, file=stream)
        return (active_greenlet, report)

    def ignore_current_greenlet_blocking(self):
        """The running greenlet is meant to block (a pool worker waiting)."""
        self._greenlet_tracer.ignore_current_greenlet_blocking()

    def monitor_current_greenlet_blocking(self):
        self._greenlet_tracer.monitor_current_greenlet_blocking()

    # -- memory -------------------------------------------------------------------

    def _get_process(self):  # pylint:disable=method-hidden
        # psutil's Process for us, looked up once (None without psutil).
        process = get_this_psutil_process()
        self._get_process = lambda: process
        return process

    def can_monitor_memory_usage(self):
        return self._get_process() is not None

    def install_monitor_memory_usage(self):
        """Add :meth:`monitor_memory_usage`, or warn (MonitorWarning) that
        memory cannot be read (psutil missing)."""
        if not self.can_monitor_memory_usage():
            import warnings
            warnings.warn('Unable to monitor memory usage. Install psutil.', MonitorWarning)
            return
        self.add_monitoring_function(self.monitor_memory_usage,
                                     max(GEVENT_CONFIG.memory_monitor_period,
                                         self.min_memory_monitor_period))

    def monitor_memory_usage(self, _hub):
        """Emit an event when usage rises above ``config.max_memory_usage``
        (again, each time it grows further) or falls back under it.

        Returns the event emitted (None if none), or -1 when no limit is set."""
        max_allowed = GEVENT_CONFIG.max_memory_usage
        if not max_allowed:
            return -1
        memory_info = self._get_process().memory_full_info()
        # uss (memory only we use) where the platform has it, else rss.
        mem_usage = getattr(memory_info, 'uss', 0) or memory_info.rss
        event = None
        if mem_usage > max_allowed:
            if mem_usage > self._memory_exceeded:
                event = MemoryUsageThresholdExceeded(mem_usage, max_allowed, memory_info)
                notify(event)
            self._memory_exceeded = mem_usage
        else:
            if self._memory_exceeded:
                event = MemoryUsageUnderThreshold(mem_usage, max_allowed, memory_info,
                                                  self._memory_exceeded)
                notify(event)
            self._memory_exceeded = 0
        return event

    def __repr__(self):
        return '<%s at %s in thread %s greenlet %r for %r>' % (
            type(self).__name__, hex(id(self)), hex(self.monitor_thread_ident),
            getcurrent(), self._hub_wref())


def start_periodic_monitoring_thread(hub):
    """What ``Hub.start_periodic_monitoring_thread`` does once the config
    says yes: make the monitor, watch memory from the main hub, announce it."""
    from geventc.events import PeriodicMonitorThreadStartedEvent, notify_and_call_entry_points
    monitor = hub.periodic_monitoring_thread = PeriodicMonitoringThread(hub)
    # A hub made by a thread-pool task: its worker must keep the monitor
    # from reporting it blocked while it waits for work.
    adopt = getattr(hub.parent, '_adopt_hub', None)
    if adopt is not None:
        adopt(hub)
    if hub.main_hub:
        monitor.install_monitor_memory_usage()
    notify_and_call_entry_points(PeriodicMonitorThreadStartedEvent(monitor))
    return monitor
