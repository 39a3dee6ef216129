"""Greenlet-based replacements for the ``_thread`` module (gevent.thread).

Used by ``monkey.patch_thread``: a "thread" is a :class:`geventc.Greenlet`
(so ``threading`` can link to its end), and locks are geventc's compiled
``Lock``. Application code should spawn greenlets directly instead.
"""
import sys
import _thread as __thread__

from geventc._hub import Lock as LockType, getcurrent, GreenletExit, sleep, Greenlet
from geventc.local import local as _local

__target__ = '_thread'

__implements__ = ['allocate_lock', 'get_ident', 'exit', 'LockType', 'stack_size',
                  'start_new_thread', '_local', '_count']
if sys.version_info[:2] >= (3, 13):
    __implements__ += ['start_joinable_thread', 'lock', '_ThreadHandle', '_make_thread_handle']

# The stdlib's own, as gevent's: the deprecated aliases (allocate,
# exit_thread, start_new) and the native ids stay native after patching.
__imports__ = [name for name in ('error', 'TIMEOUT_MAX', 'allocate', 'exit_thread',
                                 'interrupt_main', 'start_new', 'get_native_id',
                                 'daemon_threads_allowed', 'RLock', 'set_name')
               if hasattr(__thread__, name)]
__all__ = __implements__ + __imports__
__all__.remove('_local')
__all__.remove('_count')

for _name in __imports__:
    globals()[_name] = getattr(__thread__, _name)
del _name

# The smallest stack the stdlib documents accepting (other than 0).
_MIN_STACK_SIZE = 32768
_native_stack_size = __thread__.stack_size


def get_ident(gr=None):
    """The id of greenlet *gr* (default: the current one), as thread ids are used."""
    if gr is None:
        try:
            gr = getcurrent()
        except RuntimeError:
            # Very late in interpreter shutdown there may be no current
            # greenlet; lock-ownership checks then still need some answer.
            gr = None
    return id(gr)


# The "threads" start_new_thread started that have not ended (_count()).
_running = 0


def _thread_ended(_glet):
    global _running
    _running -= 1


def _count():
    """How many threads started with :func:`start_new_thread` (greenlets
    here) are still running, as the stdlib's counts its native ones.
    Native threads of geventc's own (the threadpool's) are not counted:
    code that waits for the count to drop (CPython's test support) would
    otherwise wait for an idle worker to retire."""
    return _running


def _start_new_greenlet(function, args=(), kwargs=None):
    global _running
    if kwargs is not None:
        glet = Greenlet.spawn(function, *args, **kwargs)
    else:
        glet = Greenlet.spawn(function, *args)
    _running += 1
    glet.rawlink(_thread_ended)
    return glet


def start_new_thread(function, args=(), kwargs=None):
    """Run ``function(*args, **kwargs)`` in a new greenlet; return its ident."""
    return get_ident(_start_new_greenlet(function, args, kwargs))


allocate_lock = lock = LockType


def exit():
    """End the current "thread" (greenlet)."""
    raise GreenletExit


def stack_size(size=None):
    """The native thread stack size; greenlets have none of their own, so
    asking for a smaller one than the current is accepted and ignored."""
    if size is None:
        return _native_stack_size()
    if size > _native_stack_size():
        return _native_stack_size(size)
    if size == 0:
        return 0
    if size < _MIN_STACK_SIZE:
        raise ValueError(size)
    # Shrinking would starve the greenlets already running in this thread.
    return None


class _ThreadHandle(object):
    """The handle ``threading`` 3.13+ keeps for a started thread, here for
    a greenlet. Holds the greenlet weakly: ``threading._active`` cleanup
    relies on greenlets being collected."""

    _greenlet_ref = None
    # Whether a greenlet was ever attached (join() before start() is an error).
    _had_greenlet = False

    def __init__(self, *_args, **_kwargs):
        # The stdlib's constructor accepts and ignores anything.
        pass

    def _set_greenlet(self, glet):
        import weakref
        self._greenlet_ref = weakref.ref(glet)
        self._had_greenlet = True

    def _get_greenlet(self):
        return self._greenlet_ref() if self._greenlet_ref is not None else None

    def join(self, timeout=-1):
        timeout = None if timeout == -1 else timeout
        if not self._had_greenlet:
            raise RuntimeError('thread not started')
        glet = self._get_greenlet()
        if glet is None:
            return None
        if glet is getcurrent():
            raise RuntimeError('Cannot join current thread')
        if hasattr(glet, 'join'):
            return glet.join(timeout)
        # A raw greenlet (the main one, or a dummy's) cannot be linked to: poll.
        _poll_until(lambda: self.is_done(), timeout)
        return None

    @property
    def ident(self):
        glet = self._get_greenlet()
        return get_ident(glet) if glet is not None else None

    def is_done(self):
        glet = self._get_greenlet()
        return glet is None or glet.dead

    def _set_done(self, enter_hub=True):
        """Forget the greenlet; with *enter_hub*, let joiners see it first."""
        if not self._had_greenlet:
            raise RuntimeError('thread not started')
        self._greenlet_ref = None
        if enter_hub:
            sleep(0.001)

    def __repr__(self):
        return '<%s.%s at 0x%x greenlet=%r>' % (
            type(self).__module__, type(self).__name__, id(self), self._get_greenlet())


def _poll_until(done, timeout, interval=0.001):
    """Sleep cooperatively until ``done()`` or *timeout* seconds (None: forever)."""
    from time import monotonic
    end = None if not timeout else monotonic() + timeout
    while not done():
        if end is not None and monotonic() > end:
            return False
        sleep(interval)
    return True


def start_joinable_thread(function, handle=None, daemon=True):  # noqa: ARG001
    """``_thread.start_joinable_thread`` (3.13+, for ``threading`` only):
    start *function* in a greenlet and return its :class:`_ThreadHandle`.
    *daemon* is ignored: the process never waits for greenlets by itself."""
    if handle is None:
        handle = _ThreadHandle()
    elif not isinstance(handle, _ThreadHandle):
        raise TypeError('handle must be a %s' % (_ThreadHandle.__name__,))
    elif handle._had_greenlet:
        raise RuntimeError('thread already started')
    handle._set_greenlet(_start_new_greenlet(function))
    return handle


def _make_thread_handle(*_args):
    """A handle for the current greenlet (``threading`` 3.13+ after fork)."""
    handle = _ThreadHandle()
    handle._set_greenlet(getcurrent())
    return handle
