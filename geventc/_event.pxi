# The linkable base (AbstractLinkable) and its Event and AsyncResult (part of the _hub extension).
# Included by _hub.pyx; its cdef classes are declared in _hub.pxd.

cdef class AbstractLinkable:
    """Something greenlets wait on; links are called from the hub in FIFO order."""

    def __init__(self, hub=None):
        self.hub = hub
        self._links = []
        self._notifier = None

    cpdef bint ready(self):
        return False

    def _at_fork_reinit(self):
        """Detach from the parent's hub in a fork child: ``threading``'s
        ``_after_fork`` calls this on a thread's ``_started`` Event."""
        self.hub = None
        self._notifier = None

    def linkcount(self):
        # A notification in progress leaves None where it called a link
        # (see next_wake): those are gone, as gevent pops them.
        return len(self._links) - self._links.count(None)

    cpdef rawlink(self, callback):
        """Call ``callback(self)`` from the hub when this becomes ready."""
        if not callable(callback):
            raise TypeError('Expected callable: %r' % (callback,))
        self._links.append(callback)
        self._check_and_notify()

    cpdef unlink(self, callback):
        try:
            self._links.remove(callback)
        except ValueError:
            pass
        if not self._links and not self._arrived and self._notifier is not None:
            if type(self._notifier) is core_callback:
                (<core_callback>self._notifier).stop()
            self._notifier = None

    cdef object _capture_hub(self):
        cdef HubBase current = _get_hub_c()
        if self.hub is None:
            if current is None:
                current = get_hub()
            self.hub = current
        return current

    cdef int _check_and_notify(self) except -1:
        cdef HubBase hub
        if self._links and self._notifier is None and self.ready():
            current = self._capture_hub()
            hub = self.hub
            if hub._loop is None:
                return 0
            if current is not hub:
                # Set from another thread: hand the notification to the
                # hub's own thread.
                self._notifier = hub._loop.run_callback_threadsafe(self._notify_links, [])
            elif hub._cloop is not None:
                self._notifier = hub._cloop.run_wake(self, ())
            else:
                self._notifier = hub._loop.run_callback(self._notify_links, [])
        return 0

    # -- the notification, as steps the loop runs (see Wakeable) -----------------
    #
    # The one walk over the links: FIFO, only while ready unless
    # _notify_all, stopping at the link that was last when it began; called
    # entries become None (a concurrent unlink() can only remove entries not
    # yet reached) and the prefix is deleted at the end, with no pop(0)
    # memmove per link. A greenlet link is a switch the runner makes
    # (possibly a greenlet handing off); a callable link runs in the hub.

    cdef bint begin_wake(self, object args) except -1:
        if self._notifier is None:
            self._check_and_notify()
            return False
        self._walk_begin()
        return True

    cdef int _walk_begin(self) except -1:
        # Made per walk, not kept: (self,) held by self would be a cycle.
        self._walk_args = (self,)
        self._walk_start(self._links)
        return 0

    cdef int _walk_start(self, list links) except -1:
        self._walk_list = links
        self._walk_i = 0
        self._walk_last = False
        self._walk_called = None
        self._walk_final = links[-1] if links else None
        return 0

    cdef int next_wake(self, bint in_hub) except -1:
        cdef list links
        cdef Py_ssize_t i
        while True:
            links = self._walk_list
            i = self._walk_i
            if (links is None or self._walk_last or self._walk_final is None or i >= len(links)
                    or (not self._notify_all and not self.ready())):
                if self._walk_next_list():
                    continue
                return self._walk_end()
            link = links[i]
            if link is None:
                self._walk_i = i + 1
                continue
            if PyGreenlet_Check(link):
                links[i] = None
                self._walk_i = i + 1
                self._walk_last = link is self._walk_final
                self.wake_target = link
                self.wake_args = self._walk_args
                return WAKE_SWITCH
            if not in_hub:
                return WAKE_NEED_HUB
            links[i] = None
            self._walk_i = i + 1
            self._walk_last = link is self._walk_final
            if self._walk_called is None:
                self._walk_called = set()
            id_link = id(link)
            if id_link not in self._walk_called:
                self._walk_called.add(id_link)
                _call_link(self, link)

    cdef bint _walk_next_list(self) except -1:
        # The walked list is done: drop its called prefix. After _links come
        # the greenlets that arrived (see _wait_turn) while this ran; those
        # still waiting after theirs go to _links for the next notification.
        cdef list links = self._walk_list
        cdef Py_ssize_t i = self._walk_i
        self._walk_i = 0
        if links is not None and i:
            del links[:i]
        if links is self._links and self._arrived:
            self._walk_start(self._arrived)
            return True
        if links is not None and links is self._arrived:
            self._links.extend([g for g in links if g is not None])
            del links[:]
        return False

    cdef int _walk_reset(self) except -1:
        self._walk_list = None
        self._walk_i = 0
        self._walk_final = None
        self._walk_last = False
        self._walk_called = None
        self._walk_args = None
        return 0

    cdef int _walk_end(self) except -1:
        self._walk_reset()
        self._notifier = None
        self._check_and_notify()
        return WAKE_DONE

    cdef int _wait_turn(self) except -1:
        # Ready, but a notification is queued or running: as in gevent, a
        # greenlet arriving now waits until it has gone through the
        # greenlets already waiting, instead of running ahead of them.
        cdef HubBase hub = _get_hub_c()
        cdef object glet = <object>PyGreenlet_GetCurrent()
        if hub is None or glet is hub or self.hub is not hub:
            return 0
        if self._arrived is None:
            self._arrived = []
        self._arrived.append(glet)
        try:
            result = hub.switch_c()
            if result is not self:
                raise InvalidSwitchError('Invalid switch into %s.wait(): %r' % (
                    type(self).__name__, result))
        except BaseException:
            for waiting in (self._arrived, self._links):
                try:
                    waiting.remove(glet)
                except ValueError:
                    pass
            raise
        return 0

    cdef int wake_error(self, object target) noexcept:
        _report_link_error(self, target)
        return 0

    cdef int _walk_inline(self) except -1:
        # The whole walk from a plain callback (another thread's notify).
        self._walk_begin()
        return wake_inline(self)

    def _notify_links(self, arrived_while_waiting):
        if self._notifier is None:
            self._check_and_notify()
            return
        self._walk_inline()

    cdef object _wait_core(self, timeout, bint catch=True):
        # Link the current greenlet itself and switch to the hub. A
        # notification pops the link, so only a timeout or an error needs the
        # O(n) unlink.
        cdef HubBase hub = self._capture_hub()
        if hub is None:
            hub = get_hub()
        cdef object glet = <object>PyGreenlet_GetCurrent()
        self._links.append(glet)
        self._check_and_notify()
        if timeout is not None:
            return _wait_linked_timed(self, hub, glet, timeout, catch)
        # The frames live across the switch are copied to the heap while we
        # wait: the untimed wait (the common one) keeps this one small.
        try:
            result = hub.switch_c()
            if result is not self:
                _raise_invalid_wait_switch(self, result)
        except BaseException:
            self.unlink(glet)
            raise
        return True

    def _wait(self, timeout=None):
        if self.ready():
            result = self.ready()
            if self._notifier is not None:
                self._wait_turn()
            return result
        self._wait_core(timeout)
        return self.ready()


cdef object _wait_linked_timed(AbstractLinkable self, HubBase hub, object glet, timeout, bint catch):
    # _wait_core with a timeout; glet is linked already.
    cdef Timeout t = _start_timeout(timeout)
    try:
        result = hub.switch_c()
        if result is not self:
            _raise_invalid_wait_switch(self, result)
        return True
    except Timeout as ex:
        self.unlink(glet)
        if ex is not t or not catch:
            raise
        return False
    except BaseException:
        self.unlink(glet)
        raise
    finally:
        if t is not None:
            t.cancel()


cdef int _raise_invalid_wait_switch(object source, object result) except -1:
    raise InvalidSwitchError('Invalid switch into %s.wait(): %r' % (type(source).__name__, result))


cdef int _report_link_error(object source, object link) noexcept:
    try:
        hub = getattr(source, 'hub', None)
        if hub is None:
            hub = _get_hub_c()
        if hub is not None:
            hub.handle_error((link, source), *_sys.exc_info())
        else:
            _traceback().print_exc()
    except BaseException:
        pass
    return 0


cdef inline int _switch_link(object source, object glet, tuple args) noexcept:
    # A waiting greenlet links itself, not a bound method: switch through
    # the C API.
    try:
        PyGreenlet_Switch(<greenlet>glet, <PyObject*>args, NULL)
    except BaseException:
        _report_link_error(source, glet)
    return 0


cdef inline int _call_link(object source, object link) noexcept:
    try:
        if PyGreenlet_Check(link):
            _switch_link(source, link, (source,))
        else:
            link(source)
    except BaseException:
        _report_link_error(source, link)
    return 0


cdef class Event(AbstractLinkable):
    """A flag that greenlets wait on; ``set()`` wakes them all."""

    def __init__(self):
        AbstractLinkable.__init__(self)
        self._flag = False
        self._notify_all = True

    def __str__(self):
        return '<%s %s _links[%s]>' % (type(self).__name__, 'set' if self._flag else 'clear', len(self._links))

    cpdef bint ready(self):
        return self._flag

    def is_set(self):
        return self._flag

    isSet = is_set

    cpdef set(self):
        self._flag = True
        self._check_and_notify()

    cpdef clear(self):
        self._flag = False

    def wait(self, timeout=None):
        """Block until set (True) or *timeout* passes (the flag, False)."""
        if self._flag:
            if self._notifier is not None:
                self._wait_turn()
            return True
        if self._wait_core(timeout, True):
            # Woken by set(), even if clear() came before we ran.
            return True
        return self._flag

    def _reset_internal_locks(self):
        pass


cdef class AsyncResult(AbstractLinkable):
    """A value or an exception delivered later, to any number of waiters."""

    def __init__(self):
        AbstractLinkable.__init__(self)
        self._value = _NONE
        self._exc_info = ()
        self._notify_all = True

    @property
    def _exception(self):
        return self._exc_info[1] if self._exc_info else _NONE

    @property
    def value(self):
        return self._value if self._value is not _NONE else None

    @property
    def exc_info(self):
        if self._exc_info:
            return self._exc_info
        return ()

    @property
    def exception(self):
        if self._exc_info:
            return self._exc_info[1]
        return None

    def __str__(self):
        result = '<%s ' % (type(self).__name__,)
        if self._value is not _NONE or self._exc_info:
            result += 'value=%r ' % (self.value,)
        if self._exc_info:
            result += 'exception=%r ' % (self._exc_info[1],)
        if not self.ready():
            result += 'unset '
        return result + ' _links[%s]>' % len(self._links)

    cpdef bint ready(self):
        return self._value is not _NONE or bool(self._exc_info)

    def successful(self):
        return self._value is not _NONE

    def set(self, value=None):
        self._value = value
        self._check_and_notify()

    def set_exception(self, exception, exc_info=None):
        if exc_info:
            self._exc_info = (exc_info[0], exc_info[1], exc_info[2])
        else:
            self._exc_info = (type(exception), exception, None)
        self._check_and_notify()

    def _raise_exception(self):
        t, v, tb = self._exc_info
        if v is None:
            v = t()
        # Always reset: a bare `raise v` would append this frame to the
        # traceback v keeps from the previous get().
        raise v.with_traceback(tb)

    def get(self, block=True, timeout=None):
        """Return the value or raise the exception, waiting if *block*."""
        if self._value is not _NONE:
            return self._value
        if self._exc_info:
            return self._raise_exception()
        if not block:
            raise Timeout()
        self._wait_core(timeout, False)
        if self._value is not _NONE:
            return self._value
        if self._exc_info:
            return self._raise_exception()
        raise Timeout()

    def get_nowait(self):
        return self.get(block=False)

    def wait(self, timeout=None):
        """Wait until ready (or timeout) and return the value (None if not ready)."""
        if not self.ready():
            self._wait_core(timeout)
        elif self._notifier is not None:
            self._wait_turn()
        return self.value

    def __call__(self, source):
        if source.successful():
            self.set(source.value)
        else:
            self.set_exception(source.exception, getattr(source, 'exc_info', None))

    # Python 3 concurrent.futures names
    def result(self, timeout=None):
        return self.get(timeout=timeout)

    set_result = set

    def done(self):
        return self.ready()

    def cancel(self):
        return False

    def cancelled(self):
        return False
