"""High-level I/O multiplexing that blocks only the current greenlet
(gevent.selectors).

:class:`GeventSelector` (also :data:`DefaultSelector`) has the API of the
stdlib's selectors. Registered descriptors are mirrored in a kernel
``poll`` object, asked with a zero timeout first and again after waking, so
``select()`` returns exactly what the kernel reports; the greenlet waits on
libev watchers in between.

.. caution:: as with every selector, unregister a file object before
   closing it (or close the selector first).
"""
from geventc._util import copy_globals
import selectors as __selectors__
import select as __select__

from geventc._hub import get_hub
from geventc.select import _wait_for_ready

__implements__ = ['DefaultSelector']
__extra__ = ['GeventSelector']
__all__ = __implements__ + __extra__

# Everything else is the stdlib's.
__imports__ = copy_globals(__selectors__, globals(), names_to_ignore=__all__, dunder_names_to_keep=())

EVENT_READ = __selectors__.EVENT_READ
EVENT_WRITE = __selectors__.EVENT_WRITE
SelectorKey = __selectors__.SelectorKey

_BaseSelectorImpl = __selectors__._BaseSelectorImpl
_POLLIN = __select__.POLLIN
_POLLOUT = __select__.POLLOUT


class GeventSelector(_BaseSelectorImpl):
    """A selector whose ``select()`` blocks only the current greenlet."""

    def __init__(self, hub=None):
        super().__init__()
        self._hub = hub
        self._poller = __select__.poll()
        # fd -> libev flags for the wait (1 read, 2 write).
        self._flags = {}

    @property
    def hub(self):
        if self._hub is None:
            self._hub = get_hub()
        return self._hub

    def register(self, fileobj, events, data=None):
        """Register *fileobj* for *events*; ValueError for an invalid descriptor."""
        key = super().register(fileobj, events, data)
        mask = (_POLLIN if events & EVENT_READ else 0) | (_POLLOUT if events & EVENT_WRITE else 0)
        try:
            # Fails (EBADF) now rather than reporting POLLNVAL forever.
            self.hub.loop.io(key.fd, 0).close()
            self._poller.register(key.fd, mask)
        except (OSError, ValueError) as ex:
            super().unregister(fileobj)
            raise ValueError('Invalid file descriptor: %r' % (key.fd,)) from ex
        self._flags[key.fd] = (1 if events & EVENT_READ else 0) | (2 if events & EVENT_WRITE else 0)
        return key

    def unregister(self, fileobj):
        key = super().unregister(fileobj)
        self._flags.pop(key.fd, None)
        try:
            self._poller.unregister(key.fd)
        except KeyError:
            pass
        return key

    def modify(self, fileobj, events, data=None):
        # The base class re-registers when the events change.
        return super().modify(fileobj, events, data)

    def _ready_now(self):
        ready = []
        for fd, revents in self._poller.poll(0):
            events = 0
            # The stdlib PollSelector's reading of poll(2)'s answer: anything
            # but plain POLLIN wakes a writer, anything but POLLOUT a reader.
            if revents & ~_POLLIN:
                events |= EVENT_WRITE
            if revents & ~_POLLOUT:
                events |= EVENT_READ
            key = self._fd_to_key.get(fd)
            if key is not None and events & key.events:
                ready.append((key, events & key.events))
        return ready

    def select(self, timeout=None):
        """Wait until some registered file objects are ready, or *timeout*
        seconds (None: forever; <= 0: just look) pass.

        Returns a list of ``(key, events)``. As the stdlib's, it blocks
        forever when nothing is registered and no timeout is given."""
        if self._flags is None:
            raise RuntimeError('selector is closed')
        if timeout is not None:
            timeout = max(timeout, 0)

        def check():
            return self._ready_now() or None

        def seen(fired):
            # What libev saw, as gevent reports it: a closed fd's error is not an event.
            events = {}
            for fd, revents in fired:
                if revents > 0:
                    events[fd] = events.get(fd, 0) | (
                        (EVENT_READ if revents & 1 else 0) | (EVENT_WRITE if revents & 2 else 0))
            ready = []
            for fd, ev in events.items():
                key = self._fd_to_key.get(fd)
                if key is not None and ev & key.events:
                    ready.append((key, ev & key.events))
            return ready

        return _wait_for_ready(check, list(self._flags.items()), timeout, seen, [])

    def close(self):
        self._flags = None
        self._poller = None
        self._hub = None
        super().close()


DefaultSelector = GeventSelector


def _gevent_do_monkey_patch(patch_request):
    patch_request.default_patch_items()
    selectors = patch_request.target_module
    # SelectSelector calls ``self._select(...)``; a plain function stored
    # there would be bound as a method, so wrap the cooperative select.
    original_select = patch_request.get_original('select', 'select')
    if getattr(selectors.SelectSelector, '_select', None) in (original_select, __select__.select):
        from geventc.select import select as cooperative_select

        def _select(self, *args, **kwargs):  # noqa: ARG001
            return cooperative_select(*args, **kwargs)
        _select._gevent_monkey = True
        selectors.SelectSelector._select = _select
    if patch_request.patch_kwargs.get('aggressive', True):
        # Defined (when selectors was imported before select was patched)
        # over the blocking epoll/kqueue/devpoll: they would block.
        patch_request.remove_item(selectors, 'EpollSelector', 'KqueueSelector', 'DevpollSelector')
        selectors.DefaultSelector = GeventSelector
    if hasattr(selectors, 'PollSelector') and hasattr(selectors.PollSelector, '_selector_cls'):
        from geventc.select import poll
        selectors.PollSelector._selector_cls = poll
