"""Greenlet-switch tracers (gevent's ``gevent._tracer``): installed with
``greenlet.settrace``, they notice whether, and how long, the code being
watched ran without switching. :class:`geventc.util.assert_switches` uses them.

Each tracer chains to the trace function installed before it and puts it
back when killed."""
import sys
import traceback

from greenlet import getcurrent, gettrace, settrace

from geventc._compat import perf_counter
from geventc._util import gmctime

__all__ = ['GreenletTracer', 'HubSwitchTracer', 'MaxSwitchTracer']


def _get_ident():
    # The native thread (greenlet.settrace is per native thread), even
    # with threading monkey-patched.
    from geventc.monkey import get_original
    return get_original('_thread', 'get_ident')()


class GreenletTracer(object):
    """Counts switches and remembers the greenlet switched to last.

    Installed in (and traces) the thread that makes it. ``kill()`` from
    another thread (the monitor thread, or a weakref callback anywhere)
    cannot reach that thread's trace function: the tracer then takes
    itself out at the traced thread's next switch."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # greenlet calls the tracer on every switch: one call, not two.
        cls.__call__ = cls._trace

    def __init__(self):
        self.greenlet_switch_counter = 0
        self.active_greenlet = None
        self._killed = False
        self._thread_ident = _get_ident()
        self.previous_trace_function = settrace(self)

    def kill(self):
        """Uninstall: the previous trace function is the current one again."""
        if self._killed:
            return
        self._killed = True
        if _get_ident() == self._thread_ident:
            settrace(self.previous_trace_function)
            self.previous_trace_function = None

    def _uninstall_late(self, event, args):
        # Killed from another thread; this is the traced one.
        previous = self.previous_trace_function
        self.previous_trace_function = None
        if gettrace() is self:
            settrace(previous)
        if previous is not None:
            previous(event, args)

    def _trace(self, event, args):
        if self._killed:
            return self._uninstall_late(event, args)
        self.greenlet_switch_counter += 1
        # args is (origin, target) for 'switch' and 'throw'.
        self.active_greenlet = args[1] if event in ('switch', 'throw') else None
        if self.previous_trace_function is not None:
            self.previous_trace_function(event, args)

    __call__ = _trace

    def did_block_hub(self, hub):
        """``(True, greenlet)`` when a greenlet other than *hub* stayed
        active without a single switch since the last call; else False."""
        active = self.active_greenlet
        did_switch = self.greenlet_switch_counter != 0
        self.greenlet_switch_counter = 0
        if did_switch or active is None or active is hub:
            return False
        return True, active

    def ignore_current_greenlet_blocking(self):
        self.active_greenlet = None

    def monitor_current_greenlet_blocking(self):
        self.active_greenlet = getcurrent()

    def did_block_hub_report(self, hub, active_greenlet, format_kwargs):
        """Lines describing the block: the hub thread's stack and the run info."""
        from geventc.util import format_run_info
        report = ['=' * 80,
                  '\n%s : Greenlet %s appears to be blocked' % (gmctime(), active_greenlet),
                  '    Reported by %s' % (self,)]
        frame = sys._current_frames().get(hub.thread_ident)
        if frame is None:
            stack = ['Unknown: No thread found for hub %r\n' % (hub,)]
        else:
            stack = traceback.format_stack(frame)
        del frame
        report.append('Blocked Stack (for thread id %s):' % (hex(hub.thread_ident),))
        report.append(''.join(stack))
        report.append('Info:')
        report.extend(format_run_info(**format_kwargs))
        return report


class _HubTracer(GreenletTracer):

    def __init__(self, hub, max_blocking_time):
        GreenletTracer.__init__(self)
        self.max_blocking_time = max_blocking_time
        self.hub = hub

    def kill(self):
        self.hub = None
        GreenletTracer.kill(self)


class HubSwitchTracer(_HubTracer):
    """Blocked: the hub was not switched to for more than *max_blocking_time*."""

    def __init__(self, hub, max_blocking_time):
        _HubTracer.__init__(self, hub, max_blocking_time)
        self.last_entered_hub = 0

    def _trace(self, event, args):
        GreenletTracer._trace(self, event, args)
        if self.active_greenlet is self.hub:
            self.last_entered_hub = perf_counter()

    def did_block_hub(self, hub):
        if perf_counter() - self.last_entered_hub > self.max_blocking_time:
            return True, self.active_greenlet
        return False


class MaxSwitchTracer(_HubTracer):
    """Blocked: some greenlet other than the hub ran for more than
    *max_blocking_time* between two switches."""

    def __init__(self, hub, max_blocking_time):
        _HubTracer.__init__(self, hub, max_blocking_time)
        self.last_switch = perf_counter()
        self.max_blocking = 0

    def _trace(self, event, args):
        leaving = self.active_greenlet
        GreenletTracer._trace(self, event, args)
        now = perf_counter()
        if leaving is not self.hub and leaving is not None:
            self.max_blocking = max(self.max_blocking, now - self.last_switch)
        self.last_switch = now

    def did_block_hub(self, hub):
        # The stretch still running counts too.
        running = 0
        if self.active_greenlet is not self.hub:
            running = perf_counter() - self.last_switch
        if max(self.max_blocking, running) > self.max_blocking_time:
            return True, self.active_greenlet
        return False
