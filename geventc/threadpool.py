"""Native worker threads for calls that would block the hub (gevent.threadpool).

Design: a task crosses into the workers through a C-level
``_queue.SimpleQueue`` (never monkey-patched; its ``get`` releases the GIL).
Results come back through ONE ``async_`` watcher per pool: the worker appends
the finished task to a deque (atomic under the GIL) and sends the watcher;
the hub drains the deque and wakes the greenlets waiting on the results.
gevent makes and starts an async watcher per task; one watcher per pool
drops that cost from every round trip.

Invariants (all bookkeeping is done in the hub's thread, never in a worker):

- The watcher exists while the pool has threads (a pool without threads
  holds nothing on the loop, so a dropped pool can be collected); it is
  ``ref``'d (keeps the loop alive) exactly while tasks are outstanding or
  workers are being stopped, so a greenlet waiting on a result never sees
  ``LoopExit``, and an idle pool never keeps the program running.
- ``_unfinished`` counts tasks from submission until their result has been
  delivered in the hub; ``_free`` counts the slots left: gevent allows
  ``maxsize + 1`` outstanding tasks before ``spawn`` blocks, and so do we.
- A worker (a ``_WorkerGreenlet`` its thread runs in) leaving (stopped,
  idle past ``idle_task_timeout``, or failed around a task) reports
  through the same deque, so the pool learns of it in the hub and replaces
  it while tasks wait.
- Killing a greenlet that waits on a result only abandons its Waiter: the
  task still runs, its result is dropped, and its slot comes back.
"""
import collections
import concurrent.futures
import concurrent.futures.thread
import os
import sys
import weakref
from _queue import Empty, SimpleQueue

from greenlet import greenlet as RawGreenlet

from geventc._hub import (
    AsyncResult, InvalidThreadUseError, Waiter, get_hub, get_hub_if_exists, getcurrent,
)
from geventc.pool import GroupMappingMixin
from geventc._util import import_threading_here

__all__ = ['ThreadPool', 'ThreadResult', 'ThreadPoolExecutor']


def _original(module_name, name):
    # The unpatched function, even after monkey-patching (geventc.monkey
    # keeps the originals; before it exists, the module still holds them).
    try:
        from geventc.monkey import get_original
    except ImportError:
        return getattr(__import__(module_name), name)
    return get_original(module_name, name)


_start_new_thread = _original('_thread', 'start_new_thread')
_get_ident = _original('_thread', 'get_ident')


def _format_hub(hub):
    if hub is None:
        return '<missing>'
    return '<%s at 0x%x thread_ident=0x%x>' % (
        type(hub).__name__, id(hub), hub.thread_ident or 0)


def _get_thread_profile(_sys=sys):
    """The hook ``threading.setprofile`` installed (None without threading)."""
    threading = _sys.modules.get('threading')
    if threading is not None:
        return getattr(threading, '_profile_hook', None)
    return None


def _get_thread_trace(_sys=sys):
    """The hook ``threading.settrace`` installed (None without threading)."""
    threading = _sys.modules.get('threading')
    if threading is not None:
        return getattr(threading, '_trace_hook', None)
    return None


def _original_stderr():
    # Read once, in the hub's thread: a worker must not import (the import
    # lock may be held by the very code waiting on it).
    monkey = sys.modules.get('geventc.monkey')
    if monkey is not None and monkey.is_module_patched('sys'):
        return monkey.get_original('sys', 'stderr')
    return sys.stderr


class _Task(object):
    # One call handed to a worker. `receiver` is a Waiter (apply), an
    # AsyncResult (spawn) or a ThreadResult; the worker fills value/exc_info.
    __slots__ = ('func', 'args', 'kwargs', 'receiver', 'value', 'exc_info', 'worker')

    def __init__(self, func, args, kwargs, receiver):
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.receiver = receiver
        self.value = None
        self.exc_info = None
        self.worker = None

    def __repr__(self):
        return '<task %r>' % (self.func,)


class _WorkerGreenlet(RawGreenlet):
    """What a worker thread runs in: ``getcurrent()`` inside a task.

    Made in the hub's thread; the new thread adopts it and switches into it,
    so the greenlet tree shows the worker (and a hub a task makes there)
    under one ``<ThreadPoolWorker ...>`` root. It touches no pool state: it takes
    tasks from the queue and appends finished ones (and, on leaving, itself)
    to the pool's results deque.

    ``_before_run_task`` / ``_after_run_task`` bracket each task; a subclass
    (``ThreadPool._WorkerGreenlet``) may extend them. If either raises, the
    worker reports it on ``_stderr`` and leaves (the pool replaces it while
    tasks wait); an error before the task also goes to that task's caller.
    """

    # For geventc.util's greenlet tree: this is where a thread's tree starts.
    greenlet_tree_is_root = True

    _thread_ident = 0
    _hub = None
    # A hub a task made in this thread, once it runs a monitoring thread.
    _hub_of_worker = None
    # Left because the pool asked (a stop sentinel), not on its own.
    _stopped = False

    def __init__(self, threadpool):
        RawGreenlet.__init__(self)
        self._hub = threadpool.hub
        self._stderr = _original_stderr()
        self._tasks = threadpool._tasks
        self._done = threadpool._done
        self._send = threadpool._async.send
        self._idle_task_timeout = threadpool._idle_task_timeout
        workers = threadpool._workers
        workers.add(self)
        import_threading_here()
        try:
            _start_new_thread(self._begin, ())
        except BaseException:
            workers.discard(self)
            raise

    def _begin(self, _getcurrent=getcurrent, _get_ident=_get_ident):
        # In the new thread, in its root greenlet: adopt this greenlet.
        root = _getcurrent()
        self.parent = root
        self._thread_ident = _get_ident()
        # The root stays out of the greenlet tree: we stand for the thread.
        root.greenlet_tree_is_ignored = True
        try:
            self.switch()
        except BaseException:  # noqa: S110
            # run() reports what it can; at interpreter exit printing may be
            # impossible, and an error here would only be noise.
            pass

    def _before_run_task(self, func, args, kwargs, thread_result,
                         _sys=sys,
                         _get_thread_profile=_get_thread_profile,
                         _get_thread_trace=_get_thread_trace):
        # The hooks are read for each task (they may change while the
        # worker lives); a setter is called only for a hook that is set
        # (the setters raise audit events even for None).
        profile = _get_thread_profile()
        if profile is not None:
            _sys.setprofile(profile)
        trace = _get_thread_trace()
        if trace is not None:
            _sys.settrace(trace)

    def _after_run_task(self, func, args, kwargs, thread_result, _sys=sys):
        # Whatever the task (or _before_run_task) installed ends with it.
        if _sys.getprofile() is not None:
            _sys.setprofile(None)
        if _sys.gettrace() is not None:
            _sys.settrace(None)

    def _adopt_hub(self, hub):
        # A hub a task made in this thread started a monitoring thread (see
        # geventc._monitor): from now on, before each wait for work, it is
        # told that this greenlet blocking is no news. (Found this way, not
        # by looking up the thread's hub before every wait: that lookup
        # would cost every task ~0.1 us for a feature that is usually off.)
        hub.name = 'ThreadPool Worker Hub'
        self._hub_of_worker = hub

    def _forget_blocking(self):
        # Waiting for work is what a worker is for.
        monitor = self._hub_of_worker.periodic_monitoring_thread
        if monitor is not None:
            monitor.ignore_current_greenlet_blocking()

    def _hooks_overridden(self):
        cls = type(self)
        return (cls._before_run_task is not _WorkerGreenlet._before_run_task
                or cls._after_run_task is not _WorkerGreenlet._after_run_task)

    def run(self):
        get = self._tasks.get
        append = self._done.append
        send = self._send
        idle_timeout = self._idle_task_timeout
        before = self._before_run_task
        after = self._after_run_task
        # The default hooks do nothing while no hook is set, so the checks
        # below (inline, no calls) skip them then; overridden ones always run.
        always_hook = self._hooks_overridden()
        modules = sys.modules
        getprofile = sys.getprofile
        gettrace = sys.gettrace
        exc_info = sys.exc_info
        task = None
        try:
            while True:
                if self._hub_of_worker is not None:
                    self._forget_blocking()
                # Read by geventc.util.format_run_info in the blocked frame.
                gevent_threadpool_worker_idle = True  # noqa: F841
                try:
                    task = get() if idle_timeout < 0 else get(True, idle_timeout)
                except Empty:
                    break
                gevent_threadpool_worker_idle = False  # noqa: F841
                if task is None:
                    self._stopped = True
                    break
                func = task.func
                args = task.args
                kwargs = task.kwargs
                threading = modules.get('threading')
                try:
                    hooked = (always_hook or threading._profile_hook is not None
                              or threading._trace_hook is not None)
                except AttributeError:
                    # No threading module (None) or one without the hooks.
                    hooked = always_hook
                if hooked:
                    try:
                        before(func, args, kwargs, task)
                    except BaseException:
                        # The caller must hear of it (and get its slot
                        # back); the worker then leaves, its hooks maybe
                        # half set.
                        task.exc_info = exc_info()
                        task.worker = self
                        task.args = task.kwargs = None
                        append(task)
                        _send_quietly(send)
                        raise
                threading = None
                try:
                    task.value = func(*args, **kwargs)
                    task.func = None
                except BaseException:
                    task.exc_info = exc_info()
                    task.worker = self
                try:
                    # Before the hand-over: after send() the hub's thread
                    # wants the GIL, and get() is what gives it up.
                    if always_hook or getprofile() is not None or gettrace() is not None:
                        after(func, args, kwargs, task)
                finally:
                    task.args = task.kwargs = None
                    func = args = kwargs = None
                    # From here on the task belongs to the hub's thread.
                    append(task)
                    task = None
                    try:
                        send()
                    except BaseException:  # noqa: S110
                        pass  # the loop is gone; nobody waits any more
        except Exception as ex:
            self._report_failure(task, ex, exc_info()[2])
        finally:
            self._leave()

    def _report_failure(self, task, ex, tb):
        stderr = self._stderr
        try:
            print('Failed to run worker thread. Task=%r Exception=%r' % (task, ex), file=stderr)
            # By hand, not with traceback: this may run at interpreter exit.
            while tb is not None:
                code = tb.tb_frame.f_code
                print('  File "%s", line %d, in %s' % (code.co_filename, tb.tb_lineno, code.co_name),
                      file=stderr)
                tb = tb.tb_next
        except BaseException:  # noqa: S110
            pass

    def _leave(self):
        # A task may have made a hub in this thread: it dies with the thread.
        hub = get_hub_if_exists()
        if hub is not None:
            try:
                hub.destroy(True)
            except BaseException:  # noqa: S110
                pass
        self._hub_of_worker = None
        self._done.append(self)
        _send_quietly(self._send)

    def __repr__(self):
        return '<ThreadPoolWorker at 0x%x thread_ident=0x%x threadpool-hub=%s>' % (
            id(self), self._thread_ident, _format_hub(self._hub))


def _send_quietly(send):
    try:
        send()
    except BaseException:  # noqa: S110
        pass  # the loop is gone; nobody waits any more


_live_pools = weakref.WeakSet()


def _after_fork_in_child():
    for pool in list(_live_pools):
        pool._on_fork()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _Result(AsyncResult):
    # What spawn() returns: an AsyncResult that imap can tag with its index.
    pass


class ThreadPool(GroupMappingMixin):
    """A pool of native worker threads, for functions that block or don't cooperate.

    Use the hub's pool rather than making one: ``get_hub().threadpool``.
    ``spawn`` returns an :class:`~geventc.event.AsyncResult`; ``apply`` waits
    for the result (an exception raised by the function is re-raised, after
    the hub has reported it, as gevent does). Threads are started on demand,
    up to *maxsize*. Use an instance only from its hub's thread.

    ``len(pool)`` is the number of unfinished tasks (so an idle pool is false).
    *idle_task_timeout* (seconds, -1 for never) lets idle threads exit.
    The mapping methods (``map``, ``imap``, ``imap_unordered``, ``apply_async``
    ...) are :class:`geventc.pool.GroupMappingMixin`'s, over ``spawn``.

    Each worker thread runs in a :attr:`_WorkerGreenlet` (a subclass may
    replace it); ``threading.setprofile``/``settrace`` hooks are installed
    in the worker for the duration of each task.
    """

    _WorkerGreenlet = _WorkerGreenlet

    def __init__(self, maxsize, hub=None, idle_task_timeout=-1):
        if hub is None:
            hub = get_hub()
        self.hub = hub
        self.pid = os.getpid()
        self.manager = None
        self._idle_task_timeout = idle_task_timeout
        self._maxsize = 0
        self._free = 1
        self._slot_waiters = collections.deque()
        self._join_waiters = []
        self._exit_waiters = []
        self._workers = set()
        self._stops = 0
        self._unfinished = 0
        self._tasks = SimpleQueue()
        self._done = collections.deque()
        self._async = None
        self._ref = False
        self._set_maxsize(maxsize)
        _live_pools.add(self)

    # -- size ------------------------------------------------------------------

    def _get_maxsize(self):
        return self._maxsize

    def _set_maxsize(self, maxsize):
        if not isinstance(maxsize, int):
            raise TypeError('maxsize must be integer: %r' % (maxsize,))
        if maxsize < 0:
            raise ValueError('maxsize must not be negative: %r' % (maxsize,))
        self._free += maxsize - self._maxsize
        self._maxsize = maxsize
        self.adjust()
        self._wake_slot_waiters()

    maxsize = property(_get_maxsize, _set_maxsize, doc="""\
    The most worker threads the pool runs; about the most tasks that may be
    outstanding before ``spawn`` blocks (gevent allows ``maxsize + 1``).""")

    def _get_size(self):
        return len(self._workers) - self._stops

    def _set_size(self, size):
        if size < 0:
            raise ValueError('Size of the pool cannot be negative: %r' % (size,))
        if size > self._maxsize:
            raise ValueError('Size of the pool cannot be bigger than maxsize: %r > %r'
                             % (size, self._maxsize))
        live = len(self._workers) - self._stops
        while live < size:
            self._add_thread()
            live += 1
        if live > size:
            self._stop_threads(live - size)
        self._wait_for_exits(size)

    size = property(_get_size, _set_size, doc="""\
    The number of running worker threads. Setting it starts or stops threads
    (a stopped thread finishes the tasks queued before it first); it waits
    for stopped threads to leave unless called from the hub.""")

    def __len__(self):
        return self._unfinished

    def __repr__(self):
        return '<%s at 0x%x tasks=%s size=%s maxsize=%s hub=%s>' % (
            type(self).__name__, id(self), self._unfinished, self.size,
            self._maxsize, _format_hub(self.hub))

    def adjust(self):
        """Start threads for waiting tasks (up to maxsize); stop any above maxsize."""
        live = len(self._workers) - self._stops
        while live < self._maxsize and self._unfinished > live:
            self._add_thread()
            live += 1
        if live > self._maxsize:
            self._stop_threads(live - self._maxsize)

    def _add_thread(self):
        if self._async is None:
            self._async = self.hub.loop.async_(ref=self._ref)
            self._async.start(self._on_results)
        self._WorkerGreenlet(self)

    def _stop_threads(self, count):
        # A sentinel per thread, behind the tasks already queued.
        for _ in range(count):
            self._tasks.put(None)
        self._stops += count
        self._update_ref()

    def _wait_for_exits(self, size):
        hub = self.hub
        while len(self._workers) > size:
            if hub is None or hub.dead or hub.loop is None or getcurrent() is hub \
                    or get_hub_if_exists() is not hub:
                return
            # Other greenlets may have spawned (and so grown the pool) since
            # the last look: every thread above *size* gets its stop.
            live = len(self._workers) - self._stops
            if live > size:
                self._stop_threads(live - size)
            waiter = Waiter(hub)
            self._exit_waiters.append(waiter)
            try:
                waiter.get()
            finally:
                if waiter in self._exit_waiters:
                    self._exit_waiters.remove(waiter)

    def join(self):
        """Wait until every task submitted so far has finished."""
        while self._unfinished > 0:
            waiter = Waiter(self.hub)
            self._join_waiters.append(waiter)
            try:
                waiter.get()
            finally:
                if waiter in self._join_waiters:
                    self._join_waiters.remove(waiter)

    def kill(self):
        """Stop every thread (each finishes the tasks queued before it first)."""
        self.size = 0

    # -- the hub side ------------------------------------------------------------

    def _update_ref(self):
        want = self._unfinished > 0 or self._stops > 0
        if want != self._ref:
            self._ref = want
            if self._async is not None:
                self._async.ref = want

    def _on_results(self):
        # In the hub: deliver what the workers finished.
        done = self._done
        popleft = done.popleft
        hub = self.hub
        try:
            while done:
                item = popleft()
                if type(item) is not _Task:
                    self._on_worker_exit(item)
                    continue
                self._unfinished -= 1
                self._free += 1
                if self._unfinished <= 0:
                    self._unfinished = 0
                    self._update_ref()
                    if self._join_waiters:
                        self._wake_all(self._join_waiters)
                if self._slot_waiters:
                    self._wake_slot_waiters()
                receiver = item.receiver
                item.receiver = None
                exc_info = item.exc_info
                if exc_info is None:
                    value = item.value
                    item.value = None
                    if type(receiver) is Waiter:
                        receiver.switch(value)
                    elif receiver is not None:
                        receiver.set(value)
                else:
                    context = (item.worker, item.func)
                    item.exc_info = item.func = item.worker = None
                    try:
                        hub.handle_error(context, *exc_info)
                    finally:
                        if type(receiver) is Waiter:
                            receiver.throw(*exc_info)
                        elif receiver is not None:
                            receiver.set_exception(exc_info[1], exc_info)
        finally:
            if done and self._async is not None:
                # Interrupted by an error: come back for the rest.
                self._async.send()

    def _on_worker_exit(self, worker):
        self._workers.discard(worker)
        if worker._stopped:
            self._stops -= 1
        if not self._workers and self._stops:
            # A thread that timed out as a stop was queued for it left that
            # sentinel behind: with no thread left, drop the stale ones.
            old, self._tasks = self._tasks, SimpleQueue()
            while True:
                try:
                    item = old.get_nowait()
                except Empty:
                    break
                if item is not None:
                    self._tasks.put(item)
            self._stops = 0
        self._update_ref()
        if self._exit_waiters:
            self._wake_all(self._exit_waiters)
        # A thread that left on its own (idle timeout), or the last one, may
        # leave queued tasks without a thread. (Not on every stop: a thread
        # asked to stop may still be running a task, counted as unfinished.)
        if (not worker._stopped or not self._workers) \
                and self._unfinished > len(self._workers) - self._stops:
            self.adjust()
        if not self._workers:
            # Not from inside the watcher's own callback.
            self.hub.loop.run_callback(self._close_watcher_if_idle)

    def _close_watcher_if_idle(self):
        watcher = self._async
        if watcher is not None and not self._workers and not self._done:
            self._async = None
            watcher.stop()
            watcher.close()

    def _wake_all(self, waiters):
        hub_loop = self.hub.loop
        for waiter in waiters[:]:
            hub_loop.run_callback(waiter.switch, None)
        del waiters[:]

    def _wake_slot_waiters(self):
        count = self._free
        run_callback = self.hub.loop.run_callback
        while count > 0 and self._slot_waiters:
            run_callback(self._slot_waiters.popleft().switch, None)
            count -= 1

    def _on_fork(self):
        # hub.reinit() calls this after fork; os.register_at_fork may
        # already have: only the first call in a new process resets.
        if self.pid != os.getpid():
            self._reset_after_fork()

    def _reset_after_fork(self):
        # The threads did not survive fork(): start again with none.
        self.pid = os.getpid()
        self._tasks = SimpleQueue()
        self._done = collections.deque()
        self._workers = set()
        self._stops = 0
        self._unfinished = 0
        self._free = self._maxsize + 1
        self._slot_waiters.clear()
        del self._join_waiters[:]
        del self._exit_waiters[:]
        try:
            self._update_ref()
        except BaseException:
            pass

    # -- submitting --------------------------------------------------------------

    def _acquire_slot(self):
        while self._free <= 0:
            waiter = Waiter(self.hub)
            self._slot_waiters.append(waiter)
            try:
                waiter.get()
            except BaseException:
                try:
                    self._slot_waiters.remove(waiter)
                except ValueError:
                    # Woken, then interrupted: hand the wake-up on.
                    self._wake_slot_waiters()
                raise
        self._free -= 1

    def _submit(self, task):
        self._acquire_slot()
        self._unfinished += 1
        if self._unfinished > len(self._workers) - self._stops:
            try:
                self.adjust()
            except BaseException:
                # No new thread (say, "can't start new thread"): queue the
                # task for the threads there are, or give it up if none.
                if len(self._workers) - self._stops <= 0:
                    self._unfinished -= 1
                    self._free += 1
                    raise
        self._update_ref()
        self._tasks.put(task)

    def _check_thread(self):
        if get_hub_if_exists() is not self.hub:
            raise InvalidThreadUseError(
                'A ThreadPool may be used only from its hub\'s thread; pool hub=%s'
                % (_format_hub(self.hub),))

    def spawn(self, func, *args, **kwargs):
        """Run ``func(*args, **kwargs)`` in a worker thread; return an AsyncResult.

        Waits (cooperatively) for a free slot. Only from the hub's thread:
        raises :class:`~geventc.exceptions.InvalidThreadUseError` otherwise.
        """
        self._check_thread()
        result = _Result()
        self._submit(_Task(func, args, kwargs, result))
        return result

    def _apply_immediately(self):
        # From a worker (or any other thread) waiting on this hub is
        # impossible: run the function right there.
        return get_hub_if_exists() is not self.hub

    def _apply_async_use_greenlet(self):
        return True

    def _apply_async_cb_spawn(self, callback, result):
        callback(result)

    def apply(self, func, args=None, kwds=None):
        """Run ``func(*args, **kwds)`` in a worker thread and return its result."""
        if args is None:
            args = ()
        if kwds is None:
            kwds = {}
        if self._apply_immediately():
            return func(*args, **kwds)
        waiter = Waiter(self.hub)
        self._submit(_Task(func, args, kwds, waiter))
        return waiter.get()


# -- ThreadResult ----------------------------------------------------------------

class _Spent(object):
    # Stands in for a ThreadResult's watcher, receiver and callback once
    # they are used up or destroyed: every call is a no-op, and it is
    # false, so "is there still a receiver?" reads naturally.
    __slots__ = ()

    def send(self):
        pass

    stop = close = send

    def __call__(self, *args):
        pass

    def __bool__(self):
        return False

    def __repr__(self):
        return '<spent>'


_SPENT = _Spent()


class ThreadResult(object):
    """A one-shot result handed from another thread to a hub (gevent's API).

    Make it (and destroy it) in the hub's thread: it starts an async watcher
    on the hub's loop. ``set(value)`` or ``handle_error(context, exc_info)``
    may then be called from any thread; in the hub, ``call_when_ready()``
    runs, the error (if any) goes to ``hub.handle_error``, and
    ``receiver(self)`` is called. Afterwards ``value`` is None, the
    traceback is dropped from ``exc_info``, and the watcher, receiver and
    callback are inert (false) placeholders."""

    __slots__ = ('exc_info', 'async_watcher', '_call_when_ready', 'value',
                 'context', 'hub', 'receiver')

    def __init__(self, receiver, hub, call_when_ready):
        self.receiver = receiver
        self.hub = hub
        self.context = None
        self.value = None
        self.exc_info = ()
        self._call_when_ready = call_when_ready
        self.async_watcher = hub.loop.async_()
        self.async_watcher.start(self._on_async)

    @property
    def exception(self):
        return self.exc_info[1] if self.exc_info else None

    def successful(self):
        return self.exception is None

    def _on_async(self):
        # In the hub. The watcher goes first: whatever the callbacks raise,
        # it must not fire (or be touched) again.
        watcher = self.async_watcher
        self.async_watcher = _SPENT
        watcher.stop()
        watcher.close()
        try:
            self._call_when_ready()
            if self.exc_info:
                self.hub.handle_error(self.context, *self.exc_info)
            self.context = None
            self.hub = None
            self._call_when_ready = _SPENT
            self.receiver(self)
        finally:
            self.receiver = _SPENT
            self.value = None
            if self.exc_info:
                self.exc_info = (self.exc_info[0], self.exc_info[1], None)

    def destroy_in_main_thread(self):
        """Stop and close the watcher and drop the references (hub thread only)."""
        self.async_watcher.stop()
        self.async_watcher.close()
        self.async_watcher = _SPENT
        self.context = None
        self.hub = None
        self._call_when_ready = _SPENT
        self.receiver = _SPENT

    def set(self, value):
        self.value = value
        self.async_watcher.send()

    def handle_error(self, context, exc_info):
        self.context = context
        self.exc_info = exc_info
        self.async_watcher.send()


# -- concurrent.futures ------------------------------------------------------------

def _threading_is_patched():
    monkey = sys.modules.get('geventc.monkey')
    return monkey is not None and monkey.is_module_patched('threading')


_NO_CONDITION = ('_condition: concurrent.futures.wait() and as_completed() on a pending '
                 'geventc future need threading to be monkey-patched')


class _Future(concurrent.futures.Future):
    """A ``concurrent.futures.Future`` for a task of a :class:`ThreadPoolExecutor`:
    a view of the task's :class:`~geventc.event.AsyncResult`.

    ``result()``/``exception()`` wait cooperatively (other greenlets run);
    ``rawlink``/``unlink`` (and the rest of AsyncResult's API) let
    ``gevent.wait``/``iwait`` wait on it. As in gevent,
    ``concurrent.futures.wait``/``as_completed`` work on it only when
    ``threading`` is monkey-patched (their native locks and events would
    block the hub) or once it is done; otherwise they raise AttributeError.
    """

    # Future.__init__ is not called: the AsyncResult holds the state.
    def __init__(self, async_result):
        self.asyncresult = async_result
        self._links = {}

    @property
    def _state(self):
        return concurrent.futures._base.FINISHED if self.done() else concurrent.futures._base.RUNNING

    @property
    def _condition(self):
        try:
            return self.__dict__['_cf_condition']
        except KeyError:
            pass
        if not (self.done() or _threading_is_patched()):
            raise AttributeError(_NO_CONDITION)
        import threading
        condition = self.__dict__['_cf_condition'] = threading.Condition()
        return condition

    @property
    def _waiters(self):
        # concurrent.futures' waiters for this future: told when it is done.
        try:
            return self.__dict__['_cf_waiters']
        except KeyError:
            waiters = self.__dict__['_cf_waiters'] = []
            self.asyncresult.rawlink(self._tell_waiters)
            return waiters

    def _tell_waiters(self, _source):
        for waiter in list(self.__dict__.get('_cf_waiters', ())):
            if self.successful():
                waiter.add_result(self)
            else:
                waiter.add_exception(self)

    def set_running_or_notify_cancel(self):
        # Running from the start: there is no cancelling a pool task.
        return True

    def running(self):
        return not self.done()

    def done(self):
        return self.asyncresult.ready()

    def cancel(self):
        return False

    def cancelled(self):
        return False

    def _wait(self, timeout):
        # A caller's own Timeout passes through; only *timeout* running
        # out becomes concurrent.futures' TimeoutError.
        async_result = self.asyncresult
        if not async_result.ready():
            async_result.wait(timeout)
            if not async_result.ready():
                raise concurrent.futures.TimeoutError()
        return async_result

    def result(self, timeout=None):
        return self._wait(timeout).get()

    def exception(self, timeout=None):
        return self._wait(timeout).exception

    def add_done_callback(self, fn):
        """Call ``fn(future)`` once done (now, if it is); an exception *fn*
        raises later is printed by the hub, not raised."""
        if self.done():
            fn(self)
            return
        future = self

        def call(_source):
            try:
                fn(future)
            except Exception:
                hub = get_hub_if_exists()
                if hub is not None:
                    hub.print_exception((fn, future), *sys.exc_info())

        self.asyncresult.rawlink(call)

    # gevent's names: the future can be waited on with gevent.wait/iwait.
    def rawlink(self, callback):
        def link(_source, callback=callback, future=self):
            callback(future)
        self._links[callback] = link
        self.asyncresult.rawlink(link)

    def unlink(self, callback):
        link = self._links.pop(callback, None)
        if link is not None:
            self.asyncresult.unlink(link)

    def __getattr__(self, name):
        # The rest of AsyncResult's API (get, ready, successful, value, ...).
        if name == '_condition':
            # The property raised it (Python then asks here): keep its word.
            raise AttributeError(_NO_CONDITION)
        if name.startswith('__') or name == 'asyncresult':
            raise AttributeError(name)
        return getattr(self.asyncresult, name)

    def __str__(self):
        return str(self.asyncresult)

    def __repr__(self):
        return '<%s at 0x%x state=%s>' % (type(self).__name__, id(self), self._state.lower())


class ThreadPoolExecutor(concurrent.futures.ThreadPoolExecutor):
    """``concurrent.futures.ThreadPoolExecutor`` running its tasks in a geventc
    :class:`ThreadPool` of real threads (even when threading is patched).

    Its futures' ``result()``/``exception()`` wait cooperatively inside a
    greenlet, and ``gevent.wait`` waits on them. Arguments other than
    *max_workers* are accepted and ignored.
    """

    def __init__(self, *args, **kwargs):
        concurrent.futures.ThreadPoolExecutor.__init__(self, *args, **kwargs)
        self._threadpool = ThreadPool(self._max_workers)

    def submit(self, fn, *args, **kwargs):
        with self._shutdown_lock:
            if self._broken:
                raise concurrent.futures.thread.BrokenThreadPool(self._broken)
            if self._shutdown:
                raise RuntimeError('cannot schedule new futures after shutdown')
            pool = self._threadpool
        return _Future(pool.spawn(fn, *args, **kwargs))

    def shutdown(self, wait=True, **kwargs):
        concurrent.futures.ThreadPoolExecutor.shutdown(self, wait, **kwargs)
        pool = self._threadpool
        if pool is not None:
            if wait:
                pool.join()
                pool.kill()
            else:
                pool._stop_threads(pool.size)
        self._threadpool = None

    kill = shutdown

    def _adjust_thread_count(self):
        # Our ThreadPool starts the threads.
        pass
