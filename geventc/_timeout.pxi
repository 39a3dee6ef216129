# Timeout: an exception that embeds its libev timer (part of the _hub extension).
# Included by _hub.pyx; its cdef classes are declared in _hub.pxd.

cdef void _timeout_cb(libev.ev_loop* ptr, libev.ev_timer* w, int revents) noexcept:
    cdef Timeout self = <Timeout>w.data
    self._expired()


cdef class _FakeTimer:
    # What gevent's Timeout(None) and join(timeout=None) use: never fires.
    @property
    def pending(self):
        return False

    @property
    def active(self):
        return False

    @property
    def seconds(self):
        return None

    def start(self, *args, **kwargs):
        pass

    def stop(self):
        pass

    cancel = stop
    close = stop

    def __enter__(self):
        return self

    def __exit__(self, t, v, tb):
        pass

cdef _FakeTimer _fake_timer = _FakeTimer()


cdef class Timeout(BaseException):
    """Raise an exception in the current greenlet after *seconds*.

    Also an exception (``except Timeout``), a context manager, and the
    ``timeout=`` argument of ``join``/``get``/``wait``. ``exception=False``
    makes ``with Timeout(...)`` silent; another exception class or instance
    is raised instead of the Timeout itself.
    """

    def __init__(self, seconds=None, exception=None, ref=True, priority=-1, _one_shot=False):
        cdef double after = 0.0
        BaseException.__init__(self)
        if seconds is not None:
            try:
                after = seconds
            except TypeError:
                raise TypeError('a float is required for Timeout seconds, not %r'
                                % (type(seconds).__name__,))
            if after != after:
                raise ValueError('Timeout seconds must not be NaN')
            hub = get_hub()
            self._loop = hub._cloop
            if self._loop is None:
                self._watcher = hub.loop.timer(seconds or 0.0, ref=ref, priority=priority)
            else:
                libev.ev_timer_init(&self._timer, _timeout_cb, after, 0.0)
                self._timer.data = <void*>self
                if priority is not None:
                    libev.ev_set_priority(&self._timer, priority)
        self.seconds = seconds
        self.exception = exception
        self._one_shot = _one_shot
        self._ref = bool(ref)

    cdef bint _pending_c(self) except -1:
        if self._watcher is not None:
            return bool(self._watcher.pending or self._watcher.active)
        return self._timer.active or self._timer.pending

    cdef bint _active_c(self) except -1:
        if self._watcher is not None:
            return bool(self._watcher.active)
        return self._timer.active

    cdef int _start_watcher(self) except -1:
        # gevent's own Timeout.start, on whatever hub.loop.timer() made.
        if self._pending_c():
            raise AssertionError('%r is already started; to restart it, cancel it first' % (self,))
        if self._closed:
            return 0
        exc = self.exception
        throws = self if (exc is None or exc is False or isinstance(exc, str)) else exc
        self._watcher.start(self._on_expiration, getcurrent(), throws, update=True)
        return 0

    cdef int start_c(self) except -1:
        if self._watcher is not None:
            return self._start_watcher()
        if self._timer.active:
            raise AssertionError('%r is already started; to restart it, cancel it first' % (self,))
        if self.seconds is None or self._loop is None:
            return 0
        if self._closed:
            return 0
        if self._loop._ptr == NULL:
            raise ValueError('operation on destroyed loop')
        exc = self.exception
        self._throws = self if (exc is None or exc is False or isinstance(exc, str)) else exc
        self._target = <object>PyGreenlet_GetCurrent()
        # Measure from now, not from the loop's cached time.
        libev.ev_now_update(self._loop._ptr)
        libev.ev_timer_start(self._loop._ptr, &self._timer)
        if not self._ref:
            libev.ev_unref(self._loop._ptr)
        else:
            self._loop._activecnt += 1
        Py_INCREF(self)
        self._self_ref = True
        return 0

    def start(self):
        # Returns None, as gevent's does (code relies on it, e.g. passing
        # the result on as a `timeout=` that then means "no timeout").
        self.start_c()

    cdef int _release(self) noexcept:
        # Undo start_c's bookkeeping once libev no longer holds the timer.
        if self._self_ref:
            if self._loop._ptr != NULL:
                if not self._ref:
                    libev.ev_ref(self._loop._ptr)
                else:
                    self._loop._activecnt -= 1
            self._target = None
            self._throws = None
            self._self_ref = False
            Py_DECREF(self)
        return 0

    cdef int _expired(self) noexcept:
        cdef object keep = self
        target = self._target
        throws = self._throws
        self._release()
        try:
            self._on_expiration(target, throws)
        except BaseException:
            try:
                self._loop._handle_error_now(self)
            except BaseException:
                pass
        return 0

    def _on_expiration(self, prev_greenlet, ex):
        # Hook for subclasses (gevent's name).
        prev_greenlet.throw(ex)

    @classmethod
    def start_new(cls, timeout=None, exception=None, ref=True, _one_shot=False):
        """Make a Timeout and start it; a Timeout passed in is started if needed."""
        cdef Timeout t
        if isinstance(timeout, Timeout):
            t = timeout
            if not t._active_c():
                t.start_c()
            return t
        if cls is Timeout:
            t = Timeout.__new__(Timeout)
            Timeout.__init__(t, timeout, exception, ref, -1, _one_shot)
        else:
            t = cls(timeout, exception, ref=ref, _one_shot=_one_shot)
        t.start_c()
        return t

    @staticmethod
    def _start_new_or_dummy(timeout, exception=None, ref=True):
        cdef Timeout t = _start_timeout(timeout, exception, ref)
        return _fake_timer if t is None else t

    @property
    def pending(self):
        return self._pending_c()

    @property
    def active(self):
        return self._active_c()

    @property
    def timer(self):
        # gevent exposes the watcher; this one lives inside the Timeout.
        if self.seconds is None or self._closed:
            return _fake_timer
        return self._watcher if self._watcher is not None else self

    cpdef cancel(self):
        """Stop the timer if it is pending; a one-shot Timeout is also closed."""
        if self._watcher is not None:
            self._watcher.stop()
            if self._one_shot:
                self.close()
            return
        if self._loop is not None and (self._timer.active or self._timer.pending):
            if self._loop._ptr != NULL:
                libev.ev_timer_stop(self._loop._ptr, &self._timer)
            else:
                self._timer.active = 0
                self._timer.pending = 0
            self._release()
        if self._one_shot:
            self._closed = True

    stop = cancel

    def close(self):
        if self._watcher is not None:
            if not self._closed:
                self._closed = True
                self._watcher.stop()
                self._watcher.close()
            return
        self.cancel()
        self._closed = True

    def __enter__(self):
        # The timer's own flags first: _pending_c is a call, for the
        # watcher of a proxy loop.
        if self._watcher is None:
            if not (self._timer.active or self._timer.pending):
                self.start_c()
        elif not self._pending_c():
            self.start_c()
        return self

    def __exit__(self, typ, value, tb):
        # As gevent: leaving the block closes the timer for good.
        self.close()
        if value is self and self.exception is False:
            return True
        return None

    def __lt__(self, other):
        # gevent lets timeouts be compared with each other and with numbers.
        try:
            return self.seconds < other.seconds
        except AttributeError:
            try:
                return self.seconds < other
            except TypeError:
                return NotImplemented

    def __repr__(self):
        classname = type(self).__name__
        pending = ' pending' if self.pending else ''
        exception = '' if self.exception is None else ' exception=%r' % (self.exception,)
        return '<%s at %s seconds=%s%s%s>' % (classname, hex(id(self)), self.seconds, exception, pending)

    def __str__(self):
        if self.seconds is None:
            return ''
        suffix = '' if self.seconds == 1 else 's'
        if self.exception is None:
            return '%s second%s' % (self.seconds, suffix)
        if self.exception is False:
            return '%s second%s (silent)' % (self.seconds, suffix)
        return '%s second%s: %s' % (self.seconds, suffix, self.exception)

    def __dealloc__(self):
        # A started timer holds a reference to us, so we only get here
        # stopped; make sure libev has no pointer left to this memory.
        if self._timer.active and self._loop is not None and self._loop._ptr != NULL:
            libev.ev_timer_stop(self._loop._ptr, &self._timer)


cdef Timeout _start_timeout(timeout, exception=None, ref=True):
    # _start_new_or_dummy for compiled callers: None stands for the dummy,
    # so that they cancel a typed Timeout (or nothing).
    cdef Timeout t
    if timeout is None:
        return None
    if isinstance(timeout, Timeout):
        t = timeout
        if not t._active_c():
            t.start_c()
        return t
    t = Timeout.__new__(Timeout)
    Timeout.__init__(t, timeout, exception, ref, -1, True)
    t.start_c()
    return t


def with_timeout(seconds, function, *args, **kwds):
    """Call ``function(*args, **kwds)``; on timeout return ``timeout_value`` if given, else raise."""
    timeout_value = kwds.pop('timeout_value', _NONE)
    t = Timeout.start_new(seconds, _one_shot=True)
    try:
        try:
            return function(*args, **kwds)
        except Timeout as ex:
            if ex is t and timeout_value is not _NONE:
                return timeout_value
            raise
    finally:
        t.cancel()
