"""Groups and pools of greenlets (gevent.pool).

A :class:`Group` tracks running greenlets (each leaves the group when it
dies) so they can be joined or killed together, and maps functions over
iterables in parallel (``map``, ``imap``, ``imap_unordered``, ``apply*``).
A :class:`Pool` is a Group with at most *size* members: ``spawn`` and
``add`` block while it is full.
"""
from geventc._hub import (
    DummySemaphore, Event, Greenlet, GreenletExit, Semaphore, SpawnedLink, Timeout, getcurrent,
    joinall,
    kill as _kill,
)
from geventc._imap import IMap, IMapUnordered
from geventc._queue import Full as QueueFull

__all__ = [
    'Group',
    'Pool',
    'PoolFull',
]


class GroupMappingMixin(object):
    # The mapping methods, for anything with spawn() and the three
    # decisions below (Group, Pool; gevent's ThreadPool too).

    __slots__ = ()

    def spawn(self, func, *args, **kwargs):
        """Run ``func(*args, **kwargs)`` (maybe asynchronously); return
        something with ``get()`` and ``rawlink()``. May block while full."""
        raise NotImplementedError()

    def _apply_immediately(self):
        """Whether apply() should call the function right here."""
        raise NotImplementedError()

    def _apply_async_use_greenlet(self):
        """Whether apply_async() must go through a fresh greenlet (spawn would block)."""
        raise NotImplementedError()

    def _apply_async_cb_spawn(self, callback, result):
        """Run *callback(result)*, possibly asynchronously."""
        raise NotImplementedError()

    def apply_cb(self, func, args=None, kwds=None, callback=None):
        """apply() *func*, then pass its result to *callback* (if given)."""
        result = self.apply(func, args, kwds)
        if callback is not None:
            self._apply_async_cb_spawn(callback, result)
        return result

    def apply_async(self, func, args=None, kwds=None, callback=None):
        """Start ``func(*args, **kwds)`` and return its greenlet; never blocks.

        *callback*, if given, gets the result when it succeeds. When the
        group is full the work goes through an untracked greenlet.
        """
        if args is None:
            args = ()
        if kwds is None:
            kwds = {}
        if self._apply_async_use_greenlet():
            # spawn() would block: let a fresh greenlet wait for the slot.
            return Greenlet.spawn(self.apply_cb, func, args, kwds, callback)
        greenlet = self.spawn(func, *args, **kwds)
        if callback is not None:
            greenlet.link(pass_value(callback))
        return greenlet

    def apply(self, func, args=None, kwds=None):
        """Call ``func(*args, **kwds)`` in the group and return (or raise) its result.

        Called from one of the group's own greenlets, the function runs
        right here (a full pool could otherwise deadlock).
        """
        if args is None:
            args = ()
        if kwds is None:
            kwds = {}
        if self._apply_immediately():
            return func(*args, **kwds)
        return self.spawn(func, *args, **kwds).get()

    def __map(self, func, iterable):
        return [g.get() for g in [self.spawn(func, i) for i in iterable]]

    def map(self, func, iterable):
        """``[func(x) for x in iterable]``, computed in parallel (at most
        *size* at a time in a Pool); the first failure is raised."""
        # In a greenlet of its own, as imap runs, so both use the loop alike.
        return Greenlet.spawn(self.__map, func, iterable).get()

    def map_cb(self, func, iterable, callback=None):
        result = self.map(func, iterable)
        if callback is not None:
            callback(result)
        return result

    def map_async(self, func, iterable, callback=None):
        """Start map() in a new greenlet and return it; *callback* gets the list."""
        return Greenlet.spawn(self.map_cb, func, iterable, callback)

    def __imap(self, cls, func, *iterables, **kwargs):
        maxsize = kwargs.pop('maxsize', None)
        if kwargs:
            raise TypeError('Unsupported keyword arguments')
        return cls.spawn(func, zip(*iterables), spawn=self.spawn, _zipped=True, maxsize=maxsize)

    def imap(self, func, *iterables, **kwargs):
        """imap(func, *iterables, maxsize=None) -> iterable

        Like ``map(func, *iterables)`` in parallel, yielding results in
        order as they become available. With *maxsize*, at most that many
        finished results wait for the reader before tasks stop starting.
        """
        return self.__imap(IMap, func, *iterables, **kwargs)

    def imap_unordered(self, func, *iterables, **kwargs):
        """imap_unordered(func, *iterables, maxsize=None) -> iterable

        Like imap(), but yields results in the order they finish.
        """
        return self.__imap(IMapUnordered, func, *iterables, **kwargs)


class Group(GroupMappingMixin):
    """A set of running greenlets, joined or killed together; each leaves when it dies.

    ``len(group)``, ``greenlet in group`` and iteration (in no order) work
    on the members; an empty group is false. ``greenlet_class`` (a class
    or instance attribute) is what ``spawn`` creates.
    """

    greenlet_class = Greenlet

    def __init__(self, *args):
        assert len(args) <= 1, args
        self.greenlets = set(*args)
        if args:
            for greenlet in args[0]:
                greenlet.rawlink(self._discard)
        # What kill() already killed, so that it kills each only once.
        self.dying = set()
        self._empty_event = Event()
        self._empty_event.set()

    def __repr__(self):
        return '<%s at 0x%x %s>' % (type(self).__name__, id(self), self.greenlets)

    def __len__(self):
        return len(self.greenlets)

    def __contains__(self, item):
        return item in self.greenlets

    def __iter__(self):
        return iter(self.greenlets)

    def add(self, greenlet):
        """Track *greenlet* (unstarted, preferably) until it dies."""
        rawlink = getattr(greenlet, 'rawlink', None)
        if rawlink is not None:  # not for a raw greenlet such as the main one
            rawlink(self._discard)
        self.greenlets.add(greenlet)
        self._empty_event.clear()

    def _discard(self, greenlet):
        self.greenlets.discard(greenlet)
        self.dying.discard(greenlet)
        if not self.greenlets:
            self._empty_event.set()

    def discard(self, greenlet):
        """Stop tracking *greenlet*."""
        self._discard(greenlet)
        unlink = getattr(greenlet, 'unlink', None)
        if unlink is not None:
            unlink(self._discard)

    def start(self, greenlet):
        """Add the unstarted *greenlet*, then start it."""
        self.add(greenlet)
        greenlet.start()

    def spawn(self, *args, **kwargs):
        """Create a ``greenlet_class(*args, **kwargs)``, add and start it; return it."""
        greenlet = self.greenlet_class(*args, **kwargs)
        self.start(greenlet)
        return greenlet

    def join(self, timeout=None, raise_error=False):
        """Wait until the group has been empty at least once; False if *timeout* passed first.

        With *raise_error*, re-raise the exception of a member (one
        present when join was called) that failed.
        """
        greenlets = list(self.greenlets) if raise_error else ()
        result = self._empty_event.wait(timeout=timeout)
        for greenlet in greenlets:
            if greenlet.exception is not None:
                if hasattr(greenlet, '_raise_exception'):
                    greenlet._raise_exception()
                raise greenlet.exception
        return result

    def kill(self, exception=GreenletExit, block=True, timeout=None):
        """Kill every member (each once); wait for them to die if *block*."""
        timer = Timeout._start_new_or_dummy(timeout)
        try:
            while self.greenlets:
                for greenlet in list(self.greenlets):
                    if greenlet in self.dying:
                        continue
                    kill = getattr(greenlet, 'kill', None)
                    if kill is None:
                        _kill(greenlet, exception)
                    else:
                        kill(exception, block=False)
                    self.dying.add(greenlet)
                if not block:
                    break
                joinall(self.greenlets)
        except Timeout as ex:
            if ex is not timer:
                raise
        finally:
            timer.cancel()

    def killone(self, greenlet, exception=GreenletExit, block=True, timeout=None):
        """Kill *greenlet* if it is a live member; wait for it if *block*."""
        if greenlet not in self.dying and greenlet in self.greenlets:
            greenlet.kill(exception, block=False)
            self.dying.add(greenlet)
            if block:
                greenlet.join(timeout)

    def full(self):
        """A Group is never full: False."""
        return False

    def wait_available(self, timeout=None):
        """A Group always has room: returns at once."""

    def _apply_immediately(self):
        # From one of our own greenlets: a new one could deadlock a full pool.
        return getcurrent() in self

    def _apply_async_cb_spawn(self, callback, result):
        Greenlet.spawn(callback, result)

    def _apply_async_use_greenlet(self):
        return self.full()


class PoolFull(QueueFull):
    """A full Pool refused a greenlet (``add``/``start`` with ``blocking=False`` or a timeout)."""


class Pool(Group):
    """Pool(size=None, greenlet_class=None)

    A Group of at most *size* running greenlets (None: no limit; 0: none
    ever, useful only with ``wait_available(timeout)``).
    """

    def __init__(self, size=None, greenlet_class=None):
        if size is not None and size < 0:
            raise ValueError('size must not be negative: %r' % (size,))
        Group.__init__(self)
        self.size = size
        if greenlet_class is not None:
            self.greenlet_class = greenlet_class
        self._semaphore = DummySemaphore() if size is None else Semaphore(size)

    def wait_available(self, timeout=None):
        """Wait until a greenlet could be added; return how many could (0 on timeout)."""
        return self._semaphore.wait(timeout=timeout)

    def full(self):
        """True if ``add`` would block."""
        return self.free_count() <= 0

    def free_count(self):
        """About how many more members fit (1 when unlimited)."""
        if self.size is None:
            return 1
        return max(0, self.size - len(self))

    def start(self, greenlet, *args, **kwargs):
        """start(greenlet, blocking=True, timeout=None): add, then start it."""
        self.add(greenlet, *args, **kwargs)
        greenlet.start()

    def add(self, greenlet, blocking=True, timeout=None):
        """Track *greenlet*, waiting for room if *blocking* (at most *timeout*).

        Raise PoolFull if there is no room (not *blocking*, or timed out).
        """
        if not self._semaphore.acquire(blocking=blocking, timeout=timeout):
            raise PoolFull()
        try:
            Group.add(self, greenlet)
        except:
            self._semaphore.release()
            raise

    def _discard(self, greenlet):
        Group._discard(self, greenlet)
        self._semaphore.release()


class pass_value(SpawnedLink):
    # A link that calls *callback* with the value of a successful greenlet
    # (in the hub, not a new greenlet); equality, hashing and repr are
    # SpawnedLink's, so unlink(callback) finds it.

    def __call__(self, source):
        if source.successful():
            self.callback(source.value)
