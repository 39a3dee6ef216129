# Semaphores and locks (gevent.lock), compiled into the _hub module
# (included at the end of _hub.pyx; their cdef classes are declared in
# _hub.pxd).
#
# Design note
# -----------
# A Semaphore is an AbstractLinkable that wakes its waiters in FIFO order,
# and only while it is ready (``_notify_all`` false), as gevent >= 1.5 does.
# acquire() takes a positive counter at once, even ahead of a waiter whose
# notification is still queued (gevent does the same; the waiter then goes
# back to sleep without being switched to).
#
# Threads. ``self.hub`` (the owner) is the hub whose loop runs the
# notifications of ``_links``; only greenlets of the owner's thread link
# themselves there (``_hub_links`` counts them), so a notification never
# switches across threads. A waiter in another thread instead puts a
# wake-up in ``_wakers`` (an async watcher's send for a thread with a hub, a
# native lock's release for a plain thread): whoever makes the counter
# positive calls up to ``counter`` of them at once, in any thread, so no
# wake-up depends on another thread's loop running (its thread may have
# ended). A release in another thread hands the ``_links`` notification to
# the owner's loop (run_callback_threadsafe); with no hub anywhere (plain
# threads) the links are called synchronously. When no greenlet of the
# owner waits any more, another thread may take ownership; a notification
# scheduled in the old owner's loop is then stale (``_notify_gen``) and
# reschedules itself.
#
# All of this runs holding the GIL: no Python code (and so no GIL release)
# runs between seeing a positive counter and taking it.

from libc.limits cimport INT_MAX
import _thread as _native_thread

# Captured before any monkey-patching: native waits need the real thing.
cdef object _allocate_native_lock = _native_thread.allocate_lock
cdef double _NATIVE_TIMEOUT_MAX = _native_thread.TIMEOUT_MAX
cdef object _monotonic = _time.monotonic


cdef inline bint _is_main_thread():
    return PyThread_get_thread_ident() == _main_ident


cdef class _ThreadWake:
    # A waiter in another thread; wake() may be called from any thread.
    cdef int wake(self) except -1:
        return 0


@cython.final
@cython.freelist(8)
cdef class _NativeWake(_ThreadWake):
    # A plain (hub-less) thread blocked on a native lock.
    cdef object lock

    cdef int wake(self) except -1:
        lock = self.lock
        if lock.locked():
            lock.release()
        return 0


@cython.final
cdef class _AsyncWake(_ThreadWake):
    # A greenlet of another thread's hub, waiting on an async watcher of
    # that hub (ev_async_send is safe from any thread).
    cdef object watcher

    cdef int wake(self) except -1:
        self.watcher.send()
        return 0


def _semaphore_notify(Semaphore sem, unsigned long gen):
    # The loop callback that notifies a semaphore's links.
    sem._run_notify(gen)


cdef class Semaphore(AbstractLinkable):
    """Semaphore(value=1, hub=None)

    A counter of ``release()`` calls minus ``acquire()`` calls, plus an
    initial *value*; ``acquire()`` blocks while it would make the counter
    negative. Waiters are woken in the order they waited. Any greenlet (or
    thread) may release it. A context manager. See BoundedSemaphore for a
    version that refuses to be released too often.
    """

    def __cinit__(self, *args, **kwargs):
        # Never None lists, even if __init__ is skipped.
        self._links = []
        self._wakers = []

    def __init__(self, value=1, hub=None):
        self.counter = value
        if self.counter < 0:
            raise ValueError('semaphore initial value must be >= 0')
        if hub is not None and not isinstance(hub, HubBase):
            raise TypeError('hub must be a Hub or None, not %r' % (hub,))
        AbstractLinkable.__init__(self, hub)
        self._notify_all = False

    def __str__(self):
        return '<%s at 0x%x counter=%s _links[%s]>' % (
            type(self).__name__, id(self), self.counter, self.linkcount())

    def linkcount(self):
        return len(self._links) + len(self._wakers)

    def locked(self):
        """True if ``acquire()`` would block."""
        return self.counter <= 0

    cpdef bint ready(self):
        """True if ``acquire()`` would not block."""
        return self.counter > 0

    def _start_notify(self):
        self._check_and_notify()

    # -- releasing and notifying -------------------------------------------------

    cpdef release(self):
        """Add one to the counter, waking a waiter; return the new counter.

        May be used to release more times than acquired (see
        BoundedSemaphore for a semaphore that refuses).
        """
        if self.counter == INT_MAX:
            raise OverflowError('semaphore counter would overflow')
        self.counter += 1
        self._check_and_notify()
        return self.counter

    cdef HubBase _owner_hub(self):
        # The hub notifications run in; a destroyed or dead one is dropped.
        cdef HubBase hub
        if self.hub is None:
            return None
        hub = <HubBase?>self.hub
        if hub._loop is None or (PyGreenlet_STARTED(hub) and not PyGreenlet_ACTIVE(hub)):
            self.hub = None
            return None
        return hub

    cdef int _wake_threads(self) except -1:
        # Wake up to `counter` waiters of other threads, first come first.
        cdef Py_ssize_t n = self.counter
        cdef _ThreadWake waker
        while n > 0 and self._wakers:
            waker = <_ThreadWake>self._wakers.pop(0)
            waker.wake()
            n -= 1
        return 0

    cdef int _check_and_notify(self) except -1:
        # Every uncontended release() comes here: kept small, so that the
        # C compiler does not set up the notification's frame for nothing.
        if self.counter <= 0 or (not self._wakers and not self._links):
            return 0
        return self._notify()

    cdef int _notify(self) except -1:
        cdef HubBase owner, current
        if self._wakers:
            self._wake_threads()
        if not self._links:
            return 0
        current = _get_hub_c()
        if current is not None and self.hub is current:
            owner = current         # the common case: released in the owner
        else:
            owner = self._owner_hub()
            if owner is not current and (owner is None or self._hub_links == 0):
                # No greenlet of an owner is linked: notify from here.
                owner = current
                self.hub = current
        if self._notifier is not None:
            if self._notifier_hub is owner:
                return 0            # already queued where it must run
            self._notifier = None   # queued in a former owner's loop: stale
        self._notify_gen += 1
        if owner is None:
            # No hub anywhere: the links are plain callables; call them now,
            # with the walk the hub steps. Its end checks again, as
            # gevent's does, for links added meanwhile.
            self._notifier = True
            self._notifier_hub = None
            self._walk_gen = self._notify_gen
            try:
                self._walk_inline()
            except BaseException:
                self._walk_reset()
                self._notifier = None
                raise
            return 0
        self._notifier_hub = owner
        if owner is not current:
            self._notifier = owner._loop.run_callback_threadsafe(_semaphore_notify, self, self._notify_gen)
        elif owner._cloop is not None:
            self._notifier = owner._cloop.run_wake(self, self._notify_gen)
        else:
            self._notifier = owner._loop.run_callback(_semaphore_notify, self, self._notify_gen)
        return 0

    cdef int _run_notify(self, unsigned long gen) except -1:
        # A notification queued from another thread: the whole walk here.
        if self.begin_wake(gen):
            self._walk_inline()
        return 0

    cdef bint begin_wake(self, object args) except -1:
        cdef unsigned long gen = args
        if gen != self._notify_gen or self._notifier is None:
            return False            # superseded or cancelled
        if self.hub is not _get_hub_c():
            # Ownership moved since this was queued: queue it again there.
            self._notifier = None
            self._check_and_notify()
            return False
        if self.counter <= 0:
            # Taken again before we ran (a release/acquire loop): nobody to
            # wake, and _check_and_notify would find nothing either.
            self._notifier = None
            return False
        self._walk_begin()
        self._walk_gen = gen
        return True

    cdef int next_wake(self, bint in_hub) except -1:
        if self._walk_gen != self._notify_gen:
            # Superseded mid-walk (another thread took the semaphore over
            # and queued its own): stop, leaving _notifier to that one.
            self._walk_reset()
            return WAKE_DONE
        return AbstractLinkable.next_wake(self, in_hub)

    # -- acquiring ---------------------------------------------------------------

    cdef bint _try_acquire(self) noexcept:
        if self.counter > 0:
            self.counter -= 1
            return True
        return False

    cpdef acquire(self, blocking=True, timeout=None):
        """acquire(blocking=True, timeout=None) -> bool

        Take one from the counter, blocking (if *blocking*) until it is
        positive or *timeout* seconds pass. Return whether it was taken.
        """
        if self.counter > 0:
            self.counter -= 1
            return True
        if not blocking:
            return False
        return self._block(timeout, True)

    def wait(self, timeout=None):
        """Wait until the semaphore could be acquired, or *timeout* passes.

        Return the counter (which may be 0 again by then)."""
        if self.counter > 0:
            return self.counter
        self._block(timeout, False)
        return self.counter

    def __enter__(self):
        self.acquire()

    def __exit__(self, t, v, tb):
        self.release()

    cdef object _block(self, timeout, bint take):
        # Wait until the counter is positive (taking one if *take*); False
        # on our own timeout. Picks the way to wait from the threads involved.
        cdef HubBase current = _get_hub_c()
        cdef HubBase owner = self._owner_hub()
        if owner is not None and owner is not current and self._hub_links == 0:
            owner = None            # nobody waits in the owner: take it over
        if owner is None or owner is current:
            if current is None:
                if not _is_main_thread():
                    # A plain thread: nothing else could run here.
                    return self._block_native(timeout, take)
                current = get_hub()
            if owner is None:
                self.hub = current
            return self._block_in_hub(current, timeout, take)
        # Owned by another thread's hub, whose greenlets wait.
        if current is None:
            if not _is_main_thread():
                return self._block_native(timeout, take)
            current = get_hub()
        return self._block_across_hubs(current, timeout, take)

    cdef object _block_in_hub(self, HubBase hub, timeout, bint take):
        # The common case: link this greenlet and switch to our own hub. A
        # notification unlinks it and switches back only while ready.
        cdef object glet = <object>PyGreenlet_GetCurrent()
        cdef Timeout t = None
        cdef bint loop_exited = False
        self._links.append(glet)
        self._hub_links += 1
        if self.counter > 0:
            # Released while we got here (another thread, during the first
            # get_hub()): that release saw no link to notify.
            self._hub_links -= 1
            self.unlink(glet)
            if take:
                self.counter -= 1
            return True
        try:
            if timeout is not None:
                t = _start_timeout(timeout)
            result = hub.switch_c()
            if result is not self:
                raise InvalidSwitchError('Invalid switch into %s.acquire(): %r' % (
                    type(self).__name__, result))
        except Timeout as ex:
            self.unlink(glet)
            if ex is not t:
                raise
            return False
        except LoopExit:
            self.unlink(glet)
            if self.counter <= 0:
                if hub.thread_ident == _main_ident:
                    raise
                # This thread's loop has nothing to run: wait for another
                # thread's release on a watcher that keeps the loop alive.
                loop_exited = True
        except BaseException:
            self.unlink(glet)
            raise
        finally:
            self._hub_links -= 1
            if t is not None:
                t.cancel()
        if loop_exited:
            return self._block_across_hubs(hub, timeout, take)
        if take:
            self.counter -= 1
        return True

    cdef int _drop_waker(self, _ThreadWake waker) except -1:
        try:
            self._wakers.remove(waker)
        except ValueError:
            pass
        return 0

    cdef object _block_across_hubs(self, HubBase hub, timeout, bint take):
        # Our thread has a hub, but greenlets of another thread's hub are
        # linked: wait in our loop on an async watcher that any releaser may
        # send. The watcher is ref'd, so our loop stays alive while we wait.
        cdef Timeout t = None
        cdef _AsyncWake waker = _AsyncWake.__new__(_AsyncWake)
        watcher = hub.loop.async_()
        waker.watcher = watcher
        watcher.start(getcurrent().switch, self)
        try:
            if timeout is not None:
                t = _start_timeout(timeout)
            while True:
                if self.counter > 0:
                    if take:
                        self.counter -= 1
                    return True
                self._wakers.append(waker)
                hub.switch_c()
                # Woken (or spuriously): the counter may be gone again.
                self._drop_waker(waker)
        except Timeout as ex:
            if ex is not t:
                raise
            return False
        finally:
            if t is not None:
                t.cancel()
            self._drop_waker(waker)
            watcher.stop()
            watcher.close()

    cdef object _block_native(self, timeout, bint take):
        # A thread without a hub: block the whole thread on a native lock
        # that our waker releases.
        cdef double deadline = 0, remaining
        cdef bint has_deadline = False
        cdef _NativeWake waker = _NativeWake.__new__(_NativeWake)
        if timeout is not None:
            if isinstance(timeout, Timeout):
                timeout = (<Timeout>timeout).seconds
            if timeout is not None:
                remaining = timeout
                if remaining != remaining:
                    raise ValueError('timeout must not be NaN')
                deadline = _monotonic() + remaining
                has_deadline = True
        lock = _allocate_native_lock()
        lock.acquire()
        waker.lock = lock
        try:
            while True:
                if self.counter > 0:
                    if take:
                        self.counter -= 1
                    return True
                self._wakers.append(waker)
                if has_deadline:
                    remaining = deadline - _monotonic()
                    if remaining <= 0:
                        return False
                    if remaining > _NATIVE_TIMEOUT_MAX:
                        remaining = _NATIVE_TIMEOUT_MAX
                    lock.acquire(True, remaining)
                else:
                    lock.acquire()
                self._drop_waker(waker)
        finally:
            self._drop_waker(waker)

    def _at_fork_reinit(self):
        """Detach from the hub after fork (called by threading/logging)."""
        self.hub = None
        self._notifier = None
        self._notifier_hub = None
        self._notify_gen += 1
        self._hub_links = 0
        del self._wakers[:]


cdef class BoundedSemaphore(Semaphore):
    """BoundedSemaphore(value=1, hub=None)

    A Semaphore that raises ValueError when released more times than
    acquired (its counter may never exceed its initial value).
    """

    #: The error an over-release raises.
    _OVER_RELEASE_ERROR = ValueError

    def __init__(self, *args, **kwargs):
        Semaphore.__init__(self, *args, **kwargs)
        self._initial_value = self.counter

    cpdef release(self):
        """Like Semaphore.release, but raise ValueError on over-release."""
        if self.counter >= self._initial_value:
            raise self._OVER_RELEASE_ERROR('Semaphore released too many times')
        counter = Semaphore.release(self)
        # Nobody holds it: float free of the hub, which helps threads. Only
        # when no one waits, or a greenlet link could go to a foreign hub.
        if self.counter == self._initial_value and not self._links:
            self.hub = None
        return counter

    def _at_fork_reinit(self):
        Semaphore._at_fork_reinit(self)
        self.counter = self._initial_value


@cython.final
cdef class Lock(BoundedSemaphore):
    """A mutex with ``threading.Lock``'s API, for greenlets.

    The same as gevent's ``gevent.thread.LockType`` (what monkey-patched
    ``threading.Lock()`` returns): ``acquire(blocking=True, timeout=-1)``,
    over-release raises RuntimeError, a failed non-blocking acquire lets
    other greenlets run (spin loops work). Not subclassable.
    """

    _OVER_RELEASE_ERROR = RuntimeError
    _TIMEOUT_MAX = _native_thread.TIMEOUT_MAX

    def __init__(self):
        BoundedSemaphore.__init__(self, 1)

    cpdef acquire(self, blocking=True, timeout=None):
        """acquire(blocking=True, timeout=-1) -> bool

        ``timeout`` -1 (threading's default) or None waits forever."""
        if self.counter > 0 and (timeout is None or timeout == -1):
            # The uncontended case, checked first.
            self.counter -= 1
            return True
        if timeout is not None and timeout == -1:
            timeout = None
        if not blocking and timeout is not None:
            raise ValueError("can't specify a timeout for a non-blocking call")
        if timeout is not None:
            if timeout < 0:
                raise ValueError('timeout value must be positive')
            if timeout > _NATIVE_TIMEOUT_MAX:
                raise OverflowError('timeout value is too large')
        try:
            acquired = BoundedSemaphore.acquire(self, blocking, timeout)
        except LoopExit:
            if blocking:
                raise
            acquired = False
        if not acquired and not blocking and <object>PyGreenlet_GetCurrent() is not _get_hub_c():
            # Let the holder run: spin loops over acquire(False) must progress.
            sleep()
        return acquired


cdef class DummySemaphore:
    """DummySemaphore(value=None)

    The Semaphore API with an infinite counter: nothing ever blocks. Use it
    where a real Semaphore would guard an unlimited resource.
    """

    def __init__(self, value=None):
        pass

    def __str__(self):
        return '<%s>' % (type(self).__name__,)

    def locked(self):
        """Never locked: False."""
        return False

    def ready(self):
        """Always ready: True."""
        return True

    def release(self):
        """Does nothing."""

    def rawlink(self, callback):
        pass

    def unlink(self, callback):
        pass

    def wait(self, timeout=None):
        """Returns 1 at once."""
        return 1

    def acquire(self, blocking=True, timeout=None):
        """Returns True at once."""
        return True

    def __enter__(self):
        pass

    def __exit__(self, typ, val, tb):
        pass


cdef class RLock:
    """A mutex that the greenlet holding it may acquire again.

    Every ``acquire`` needs a matching ``release`` from the same greenlet;
    releasing from another greenlet raises RuntimeError. A context manager,
    usable by ``threading.Condition``.
    """

    def __init__(self, hub=None):
        self._block = Semaphore(1, hub)
        self._owner = None
        self._count = 0

    def __repr__(self):
        return '<%s at 0x%x _block=%s _count=%r _owner=%r)>' % (
            type(self).__name__, id(self), self._block, self._count, self._owner)

    cdef int _check_init(self) except -1:
        if self._block is None:
            raise RuntimeError('%s.__init__ was not called' % (type(self).__name__,))
        return 0

    cpdef acquire(self, blocking=True, timeout=None):
        """Acquire the mutex (again, if this greenlet holds it); see Semaphore.acquire."""
        cdef object me = <object>PyGreenlet_GetCurrent()
        if self._owner is me:
            self._count += 1
            return 1
        self._check_init()
        rc = self._block.acquire(blocking, timeout)
        if rc:
            self._owner = me
            self._count = 1
        return rc

    def __enter__(self):
        return self.acquire()

    cpdef release(self):
        """Release once; the last matching release frees the mutex."""
        cdef object me = <object>PyGreenlet_GetCurrent()
        if self._owner is not me:
            raise RuntimeError('cannot release un-acquired lock. Owner: %r Current: %r' % (
                self._owner, me))
        self._check_init()
        self._count -= 1
        if self._count == 0:
            self._owner = None
            self._block.release()

    def __exit__(self, typ, value, tb):
        self.release()

    def locked(self):
        """Whether some greenlet holds the mutex now."""
        return self._count > 0

    # threading.Condition's protocol

    def _acquire_restore(self, count_owner):
        count, owner = count_owner
        self._check_init()
        self._block.acquire()
        self._count = count
        self._owner = owner

    def _release_save(self):
        self._check_init()
        count = self._count
        self._count = 0
        owner = self._owner
        self._owner = None
        self._block.release()
        return (count, owner)

    def _is_owned(self):
        return self._owner is <object>PyGreenlet_GetCurrent()

    def _at_fork_reinit(self):
        self._check_init()
        self._block._at_fork_reinit()
        self._block.counter = 1
        self._owner = None
        self._count = 0
