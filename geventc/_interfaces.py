"""Interfaces of the loop, its watchers and callbacks (gevent's
``gevent._interfaces``), for documentation and for tests verifying that an
object provides them (``zope.interface.verify``).

They are zope.interface interfaces; this module needs zope.interface, as
gevent's does (geventc's other modules do not import it)."""
import sys

from zope.interface import Attribute, Interface

try:
    from zope import schema
except ImportError:
    class _Field(Attribute):
        # A stand-in for zope.schema's fields: a described attribute.
        def __init__(self, description, required=False, readonly=False, min=None):
            Attribute.__init__(self, '%s (required? %s)' % (description, required))

    class schema(object):
        Bool = _Field
        Float = _Field

__all__ = ['ILoop', 'IWatcher', 'ICallback']


class ILoop(Interface):
    """An event loop: runs callbacks and makes watchers (``io``, ``timer``,
    ``signal``, ``idle``, ``prepare``, ``check``, ``fork``, ``async_``,
    ``child``, ``stat``). *ref* says whether an active watcher keeps the
    loop running; *priority* is loop specific."""

    default = schema.Bool(description='Whether this is the default loop',
                          required=True, readonly=True)
    approx_timer_resolution = schema.Float(
        description='About the shortest time a timer (and so a sleep) can wait, in seconds',
        required=True, min=0.0, readonly=True)

    def run(nowait=False, once=False):
        """Run the loop (normally the hub does this)."""

    def now():
        """The loop's notion of the current time, in seconds."""

    def update_now():
        """Refresh the loop's notion of the current time."""

    def destroy():
        """Release the loop's resources."""

    def io(fd, events, ref=True, priority=None):
        """A watcher of *fd* for *events* (1 read, 2 write); a bad *fd* raises OSError."""

    def closing_fd(fd):
        """*fd* is about to be closed: queue its active watchers. True when some were."""

    def timer(after, repeat=0.0, ref=True, priority=None):
        """A watcher firing after *after* seconds, then every *repeat* seconds if given."""

    def signal(signum, ref=True, priority=None):
        """A watcher of signal *signum*."""

    def idle(ref=True, priority=None):
        """A watcher firing when the loop has nothing else to do."""

    def prepare(ref=True, priority=None):
        """A watcher firing before the loop polls for I/O."""

    def check(ref=True, priority=None):
        """A watcher firing after the loop polled for I/O."""

    def fork(ref=True, priority=None):
        """A watcher firing in the child after a fork."""

    def async_(ref=True, priority=None):
        """A watcher that any thread can trigger with ``send()``."""

    if sys.platform != 'win32':
        def child(pid, trace=0, ref=True):
            """A watcher of child process *pid*."""

    def stat(path, interval=0.0, ref=True, priority=None):
        """A watcher of file system item *path*, polled every *interval* if need be."""

    def run_callback(func, *args):
        """Run ``func(*args)`` soon, in the loop; returns an :class:`ICallback`."""

    def run_callback_threadsafe(func, *args):
        """:meth:`run_callback` from another thread, waking the loop."""


class IWatcher(Interface):
    """A loop watcher: calls its callback when its event happens.
    Call :meth:`close` when done with it."""

    def start(callback, *args, **kwargs):
        """Start watching; call ``callback(*args)`` on each event."""

    def stop():
        """Stop watching (``start`` may be called again)."""

    def close():
        """Stop and release native resources."""


class ICallback(Interface):
    """A function the loop will run soon, in the hub."""

    pending = schema.Bool(description='Has this callback not run yet?', readonly=True)

    def stop():
        """Cancel the call if it is still pending."""

    def close():
        """Same as :meth:`stop`."""


def _declare_core_classes():
    # Declared here rather than in the compiled core, so `import geventc`
    # does not load zope.interface; anyone asking providedBy() imports this.
    from zope.interface import classImplements
    from geventc import _core
    classImplements(_core.loop, ILoop)
    classImplements(_core.callback, ICallback)
    for name in ('io', 'timer', 'signal', 'idle', 'prepare', 'check', 'fork', 'async_', 'child', 'stat'):
        kind = getattr(_core, name, None)
        if isinstance(kind, type):
            classImplements(kind, IWatcher)


_declare_core_classes()
