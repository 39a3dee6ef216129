# Waiter: a one-shot rendezvous between a greenlet and whoever wakes it (part of the _hub extension).
# Included by _hub.pyx; its cdef classes are declared in _hub.pxd.

cdef class _NoneType:
    def __repr__(self):
        return '<default value>'

cdef object _NONE = _NoneType()


@cython.freelist(256)
cdef class Waiter:
    """A one-shot rendezvous between a greenlet and the hub (gevent's Waiter)."""

    def __init__(self, hub=None):
        self.hub = get_hub() if hub is None else hub
        self.greenlet = None
        self.value = None
        self._exception = _NONE

    def clear(self):
        self.greenlet = None
        self.value = None
        self._exception = _NONE

    def __str__(self):
        if self._exception is _NONE:
            return '<%s greenlet=%s>' % (type(self).__name__, self.greenlet)
        if self._exception is None:
            return '<%s greenlet=%s value=%r>' % (type(self).__name__, self.greenlet, self.value)
        return '<%s greenlet=%s exc_info=%r>' % (type(self).__name__, self.greenlet, self.exc_info)

    def ready(self):
        return self._exception is not _NONE

    def successful(self):
        if self._exception is not _NONE:
            return self._exception is None

    @property
    def exc_info(self):
        if self._exception is not _NONE:
            return self._exception

    cpdef switch(self, value):
        """Switch to the waiting greenlet with *value* (or store it if none waits yet)."""
        cdef object glet = self.greenlet
        if glet is None:
            self.value = value
            self._exception = None
            return
        if PyGreenlet_GetCurrent() is not self.hub:
            raise AssertionError('Can only use Waiter.switch method from the Hub greenlet')
        cdef tuple args = (value,)
        try:
            PyGreenlet_Switch(<greenlet>glet, <PyObject*>args, NULL)
        except BaseException:
            self.hub.handle_error(glet.switch, *_sys.exc_info())

    def switch_args(self, *args):
        return self.switch(args)

    def throw(self, *throw_args):
        glet = self.greenlet
        if glet is None:
            self._exception = throw_args
            return
        if getcurrent() is not self.hub:
            raise AssertionError('Can only use Waiter.switch method from the Hub greenlet')
        try:
            glet.throw(*throw_args)
        except BaseException:
            self.hub.handle_error(glet.throw, *_sys.exc_info())

    cpdef get(self):
        """Return the value switched in, blocking until there is one."""
        if self._exception is not _NONE:
            if self._exception is None:
                return self.value
            getcurrent().throw(*self._exception)
            return None
        if self.greenlet is not None:
            raise ConcurrentObjectUseError('This Waiter is already used by %r' % (self.greenlet,))
        if self.hub is None:
            # Made by __new__, or a subclass skipped our __init__.
            self.hub = get_hub()
        self.greenlet = PyGreenlet_GetCurrent()
        try:
            return self.hub.switch_c()
        finally:
            self.greenlet = None

    def __call__(self, source):
        if source.exception is None:
            self.switch(source.value)
        else:
            self.throw(source.exception)
