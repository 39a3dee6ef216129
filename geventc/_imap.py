"""The iterators behind ``Group.imap`` and ``Group.imap_unordered``.

Each is a greenlet that walks the input, spawns one task per item through
the group's ``spawn`` (so a full Pool throttles it), and feeds results to
an unbounded queue the reader's ``next()`` takes them from. A task's
failure, or the walker's own, is delivered to the reader as an exception
in the result's place; the end is a ``StopIteration`` marker. With
*maxsize*, a semaphore stops new tasks from starting while that many
results wait unread.
"""
from geventc._hub import Greenlet, Semaphore
from geventc._queue import UnboundQueue

__all__ = ['IMapUnordered', 'IMap']


class Failure(object):
    """An exception in the result stream (raised by the reader's next())."""
    __slots__ = ('exc', 'raise_exception')

    def __init__(self, exc, raise_exception=None):
        self.exc = exc
        self.raise_exception = raise_exception

    def reraise(self):
        if self.raise_exception:
            self.raise_exception()
        raise self.exc


class IMapUnordered(Greenlet):
    """An iterator over ``func(item)`` results, in the order they finish."""

    def __init__(self, func, iterable, spawn, maxsize=None, _zipped=False):
        Greenlet.__init__(self)
        self.spawn = spawn
        self._zipped = _zipped
        self.func = func
        self.iterable = iterable
        self.queue = UnboundQueue()
        # Bounding the queue alone would not stop finished results piling
        # up (each waits in its greenlet); instead tasks take a slot of
        # this semaphore before they start and the reader gives it back.
        self._result_semaphore = Semaphore(maxsize) if maxsize else None
        self._outstanding_tasks = 0
        # The index of the last task started (-1: none yet).
        self._max_index = -1
        self.finished = False

    def __iter__(self):
        return self

    def __next__(self):
        if self._result_semaphore is not None:
            self._result_semaphore.release()
        value = self._inext()
        if isinstance(value, Failure):
            value.reraise()
        return value

    next = __next__

    def _inext(self):
        return self.queue.get()

    def _ispawn(self, func, item, item_index):
        if self._result_semaphore is not None:
            self._result_semaphore.acquire()
        self._outstanding_tasks += 1
        g = self.spawn(func, *item) if self._zipped else self.spawn(func, item)
        g._imap_task_index = item_index
        g.rawlink(self._on_result)
        return g

    def _run(self):  # pylint:disable=method-hidden
        try:
            func = self.func
            for item in self.iterable:
                self._max_index += 1
                self._ispawn(func, item, self._max_index)
            self._on_finish(None)
        except BaseException as e:
            self._on_finish(e)
            raise
        finally:
            self.spawn = None
            self.func = None
            self.iterable = None
            self._result_semaphore = None

    def _on_result(self, greenlet):
        # In the hub (a rawlink): must not block.
        self._outstanding_tasks -= 1
        put_finished = False
        if self.ready() and self._outstanding_tasks <= 0 and not self.finished:
            self.finished = True
            put_finished = True
        if greenlet.successful():
            self.queue.put(self._iqueue_value_for_success(greenlet))
        else:
            self.queue.put(self._iqueue_value_for_failure(greenlet))
        if put_finished:
            self.queue.put(self._iqueue_value_for_self_finished())

    def _on_finish(self, exception):
        # In this greenlet, when the input is exhausted (or failed).
        if self.finished:
            return
        if exception is not None:
            self.finished = True
            self.queue.put(self._iqueue_value_for_self_failure(exception))
            return
        if self._outstanding_tasks <= 0:
            self.finished = True
            self.queue.put(self._iqueue_value_for_self_finished())

    def _iqueue_value_for_success(self, greenlet):
        return greenlet.value

    def _iqueue_value_for_failure(self, greenlet):
        return Failure(greenlet.exception, getattr(greenlet, '_raise_exception'))

    def _iqueue_value_for_self_finished(self):
        return Failure(StopIteration())

    def _iqueue_value_for_self_failure(self, exception):
        return Failure(exception, self._raise_exception)


class IMap(IMapUnordered):
    """An iterator over ``func(item)`` results, in input order."""

    def __init__(self, *args, **kwargs):
        # Results that finished ahead of their turn: {index: value}.
        self._results = {}
        self.index = 0
        IMapUnordered.__init__(self, *args, **kwargs)

    def _inext(self):
        try:
            value = self._results.pop(self.index)
        except KeyError:
            while True:
                index, value = self.queue.get()
                if index == self.index:
                    break
                self._results[index] = value
        self.index += 1
        return value

    def _iqueue_value_for_success(self, greenlet):
        return (greenlet._imap_task_index, IMapUnordered._iqueue_value_for_success(self, greenlet))

    def _iqueue_value_for_failure(self, greenlet):
        return (greenlet._imap_task_index, IMapUnordered._iqueue_value_for_failure(self, greenlet))

    def _iqueue_value_for_self_finished(self):
        return (self._max_index + 1, IMapUnordered._iqueue_value_for_self_finished(self))

    def _iqueue_value_for_self_failure(self, exception):
        return (self._max_index + 1, IMapUnordered._iqueue_value_for_self_failure(self, exception))
