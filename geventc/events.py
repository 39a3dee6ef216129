"""Publish/subscribe of the interesting things that happen in the process
(gevent's ``gevent.events``).

An event is an object; :func:`notify` hands it to every callable in
:data:`subscribers`, in order. When :mod:`zope.event` is installed, these
are zope.event's own ``subscribers`` list and ``notify``, so subscribers
registered through zope.event (or zope.component) see geventc's events too.
The ``I*`` names are zope.interface interfaces when zope.interface is
installed (the event classes then declare them); without it they are plain
classes documenting the same attributes.

Events geventc emits: the module patch events, from
:func:`geventc.monkey.patch_module`. The monitor-thread events
(``PeriodicMonitorThreadStartedEvent``, ``EventLoopBlocked``, the memory
events) are defined for subscribers' sake, but geventc has no monitor
thread yet, so nothing emits them.
"""
__all__ = [
    'subscribers',
    # monitor thread
    'IEventLoopBlocked', 'EventLoopBlocked',
    'IMemoryUsageThresholdExceeded', 'MemoryUsageThresholdExceeded',
    'IMemoryUsageUnderThreshold', 'MemoryUsageUnderThreshold',
    # hub
    'IPeriodicMonitorThread', 'IPeriodicMonitorThreadStartedEvent',
    'PeriodicMonitorThreadStartedEvent',
    # monkey
    'IGeventPatchEvent', 'GeventPatchEvent',
    'IGeventWillPatchEvent', 'DoNotPatch', 'GeventWillPatchEvent',
    'IGeventDidPatchEvent',
    'IGeventWillPatchModuleEvent', 'GeventWillPatchModuleEvent',
    'IGeventDidPatchModuleEvent', 'GeventDidPatchModuleEvent',
    'IGeventWillPatchAllEvent', 'GeventWillPatchAllEvent',
    'IGeventDidPatchBuiltinModulesEvent', 'GeventDidPatchBuiltinModulesEvent',
    'IGeventDidPatchAllEvent', 'GeventDidPatchAllEvent',
]

import sys

try:
    from zope.event import notify, subscribers
except ImportError:
    #: The callables :func:`notify` calls with each event, in order.
    subscribers = []

    def notify(event):
        """Call every subscriber with *event*."""
        for subscriber in subscribers:
            subscriber(event)

try:
    from zope.interface import Attribute, Interface, implementer
except ImportError:
    class Interface(object):
        """Base of the documenting interfaces when zope.interface is absent."""

    class Attribute(object):
        """A documented attribute of an interface."""

        def __init__(self, doc):
            self.__doc__ = doc

    def implementer(*interfaces):
        """Record *interfaces* on the class (``__implemented__``)."""
        def declare(cls):
            cls.__implemented__ = interfaces
            return cls
        return declare


def notify_and_call_entry_points(event):
    """:func:`notify`, then call the plugins registered for the event's
    ``ENTRY_POINT_NAME`` entry-point group (gevent's plugin names)."""
    notify(event)
    for entry_point in _plugins(event.ENTRY_POINT_NAME):
        entry_point.load()(event)


_plugin_groups = None


class _EntryPoint(object):
    """One ``name = module:attr [extras]`` line of an ``entry_points.txt``
    (what :mod:`importlib.metadata` would give, without its 20 ms import)."""
    __slots__ = ('name', 'value', 'group')

    def __init__(self, name, value, group):
        self.name = name
        self.value = value
        self.group = group

    @property
    def module(self):
        return self.value.split(':', 1)[0].strip()

    @property
    def attr(self):
        return self.value.partition(':')[2].split('[', 1)[0].strip()

    def load(self):
        import importlib
        obj = importlib.import_module(self.module)
        for name in filter(None, self.attr.split('.')):
            obj = getattr(obj, name)
        return obj

    def __repr__(self):
        return 'EntryPoint(name=%r, value=%r, group=%r)' % (self.name, self.value, self.group)


def _plugins(group):
    # patch_all sends some thirty events: the installed plugins are read
    # once. gevent's own plugins (installed beside geventc) would import the
    # real gevent; geventc does their work itself.
    global _plugin_groups
    if _plugin_groups is None:
        groups = {}
        for entry_point in _plugin_entry_points():
            if entry_point.module.split('.')[0] != 'gevent':
                groups.setdefault(entry_point.group, []).append(entry_point)
        _plugin_groups = groups
    return _plugin_groups.get(group, ())


def _plugin_entry_points():
    import os
    seen = set()
    for directory in sys.path:
        try:
            names = os.listdir(directory or '.')
        except OSError:
            continue
        for name in names:
            if not name.endswith(('.dist-info', '.egg-info')):
                continue
            # The first distribution of a name on sys.path wins, as in
            # importlib.metadata.
            # importlib.metadata; names are compared normalized (PEP 503).
            project = name.rsplit('.', 1)[0].split('-', 1)[0].lower()
            project = project.replace('_', '-').replace('.', '-')
            if project in seen:
                continue
            seen.add(project)
            try:
                with open(os.path.join(directory or '.', name, 'entry_points.txt'),
                          encoding='utf-8') as f:
                    text = f.read()
            except OSError:
                continue
            if 'gevent.plugins.' in text:
                for entry_point in _parse_entry_points(text):
                    if entry_point.group.startswith('gevent.plugins.'):
                        yield entry_point


def _parse_entry_points(text):
    group = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(('#', ';')):
            continue
        if line.startswith('[') and line.endswith(']'):
            group = line[1:-1].strip()
            continue
        name, sep, value = line.partition('=')
        if group is not None and sep:
            yield _EntryPoint(name.strip(), value.strip(), group)


# -- the hub and its monitor thread ------------------------------------------

class IPeriodicMonitorThread(Interface):
    """The monitoring thread a hub may start."""

    def add_monitoring_function(function, period):
        """Call ``function(hub)`` about every *period* seconds, in the monitor
        thread (never using geventc's blocking API). A *period* of None
        removes it; a period <= 0 is not allowed."""


class IPeriodicMonitorThreadStartedEvent(Interface):
    """A hub started its periodic monitoring thread."""

    monitor = Attribute('The `IPeriodicMonitorThread` that was started.')


@implementer(IPeriodicMonitorThreadStartedEvent)
class PeriodicMonitorThreadStartedEvent(object):
    """Implements :class:`IPeriodicMonitorThreadStartedEvent`."""

    #: The entry point group called when this event is emitted.
    ENTRY_POINT_NAME = 'gevent.plugins.hub.periodic_monitor_thread_started'

    def __init__(self, monitor):
        self.monitor = monitor


class IEventLoopBlocked(Interface):
    """The loop was blocked (emitted in the monitor thread)."""

    greenlet = Attribute('The greenlet that appeared to be blocking the loop.')
    blocking_time = Attribute('About how long, in seconds, the loop has been blocked.')
    info = Attribute('A list of lines of extra information (may be modified).')
    hub = Attribute('If not None, the hub being blocked.')


@implementer(IEventLoopBlocked)
class EventLoopBlocked(object):
    """Implements :class:`IEventLoopBlocked`."""

    def __init__(self, greenlet, blocking_time, info, *, hub=None):
        self.greenlet = greenlet
        self.blocking_time = blocking_time
        self.info = info
        self.hub = hub


class IMemoryUsageThresholdExceeded(Interface):
    """Memory usage grew above the threshold (emitted while it keeps growing)."""

    mem_usage = Attribute('The current process memory usage, in bytes.')
    max_allowed = Attribute('The maximum allowed memory usage, in bytes.')
    memory_info = Attribute('The memory statistics psutil returned.')


class _AbstractMemoryEvent(object):

    def __init__(self, mem_usage, max_allowed, memory_info):
        self.mem_usage = mem_usage
        self.max_allowed = max_allowed
        self.memory_info = memory_info

    def __repr__(self):
        return '<%s used=%d max=%d details=%r>' % (
            type(self).__name__, self.mem_usage, self.max_allowed, self.memory_info)


@implementer(IMemoryUsageThresholdExceeded)
class MemoryUsageThresholdExceeded(_AbstractMemoryEvent):
    """Implements :class:`IMemoryUsageThresholdExceeded`."""


class IMemoryUsageUnderThreshold(Interface):
    """Memory usage fell back below the threshold after exceeding it."""

    mem_usage = Attribute('The current process memory usage, in bytes.')
    max_allowed = Attribute('The maximum allowed memory usage, in bytes.')
    max_memory_usage = Attribute('The usage that caused the previous '
                                 'IMemoryUsageThresholdExceeded event.')
    memory_info = Attribute('The memory statistics psutil returned.')


@implementer(IMemoryUsageUnderThreshold)
class MemoryUsageUnderThreshold(_AbstractMemoryEvent):
    """Implements :class:`IMemoryUsageUnderThreshold`."""

    def __init__(self, mem_usage, max_allowed, memory_info, max_usage):
        _AbstractMemoryEvent.__init__(self, mem_usage, max_allowed, memory_info)
        self.max_memory_usage = max_usage


# -- monkey-patching -----------------------------------------------------------

class IGeventPatchEvent(Interface):
    """The root of the monkey-patch events."""

    source = Attribute('The source object containing the patches.')
    target = Attribute('The destination object to be patched.')


@implementer(IGeventPatchEvent)
class GeventPatchEvent(object):
    """Implements :class:`IGeventPatchEvent`."""

    def __init__(self, source, target):
        self.source = source
        self.target = target

    def __repr__(self):
        return '<%s source=%r target=%r at %x>' % (
            type(self).__name__, self.source, self.target, id(self))


class IGeventWillPatchEvent(IGeventPatchEvent):
    """Emitted before patching something; a subscriber raising
    :class:`DoNotPatch` cancels that patch."""


class DoNotPatch(BaseException):
    """Raised by a will-patch subscriber to cancel that patch."""


@implementer(IGeventWillPatchEvent)
class GeventWillPatchEvent(GeventPatchEvent):
    """Implements :class:`IGeventWillPatchEvent`."""


class IGeventDidPatchEvent(IGeventPatchEvent):
    """Emitted after something was patched."""


@implementer(IGeventDidPatchEvent)
class GeventDidPatchEvent(GeventPatchEvent):
    """Implements :class:`IGeventDidPatchEvent`."""


class IGeventWillPatchModuleEvent(IGeventWillPatchEvent):
    """Emitted before patching a module (*source* and *target* are modules)."""

    module_name = Attribute('The name of the module being patched (``target.__name__``).')
    target_item_names = Attribute('The names of the items to patch (may be modified, carefully).')


@implementer(IGeventWillPatchModuleEvent)
class GeventWillPatchModuleEvent(GeventWillPatchEvent):
    """Implements :class:`IGeventWillPatchModuleEvent`."""

    ENTRY_POINT_NAME = 'gevent.plugins.monkey.will_patch_module'

    def __init__(self, module_name, source, target, items):
        GeventWillPatchEvent.__init__(self, source, target)
        self.module_name = module_name
        self.target_item_names = items


class IGeventDidPatchModuleEvent(IGeventDidPatchEvent):
    """Emitted after a module was patched."""

    module_name = Attribute('The name of the module being patched (``target.__name__``).')


@implementer(IGeventDidPatchModuleEvent)
class GeventDidPatchModuleEvent(GeventDidPatchEvent):
    """Implements :class:`IGeventDidPatchModuleEvent`."""

    ENTRY_POINT_NAME = 'gevent.plugins.monkey.did_patch_module'

    def __init__(self, module_name, source, target):
        GeventDidPatchEvent.__init__(self, source, target)
        self.module_name = module_name


class IGeventWillPatchAllEvent(IGeventWillPatchEvent):
    """Emitted before ``patch_all`` patches anything; :class:`DoNotPatch`
    from a subscriber cancels all of it. *source* and *target* are undefined."""

    patch_all_arguments = Attribute("A copy of ``patch_all``'s arguments.")
    patch_all_kwargs = Attribute("A copy of ``patch_all``'s extra keyword arguments.")

    def will_patch_module(module_name):
        """Whether the module named *module_name* will be patched."""


class _PatchAllMixin(object):

    def __init__(self, patch_all_arguments, patch_all_kwargs):
        super(_PatchAllMixin, self).__init__(None, None)
        self._patch_all_arguments = patch_all_arguments
        self._patch_all_kwargs = patch_all_kwargs

    @property
    def patch_all_arguments(self):
        return self._patch_all_arguments.copy()

    @property
    def patch_all_kwargs(self):
        return self._patch_all_kwargs.copy()

    def __repr__(self):
        return '<%s %r at %x>' % (type(self).__name__, self._patch_all_arguments, id(self))


@implementer(IGeventWillPatchAllEvent)
class GeventWillPatchAllEvent(_PatchAllMixin, GeventWillPatchEvent):
    """Implements :class:`IGeventWillPatchAllEvent`."""

    ENTRY_POINT_NAME = 'gevent.plugins.monkey.will_patch_all'

    def will_patch_module(self, module_name):
        return self.patch_all_arguments.get(module_name)


class IGeventDidPatchBuiltinModulesEvent(IGeventDidPatchEvent):
    """Emitted after ``patch_all`` patched the standard library modules: the
    time to patch third-party libraries. *source* and *target* are undefined."""

    patch_all_arguments = Attribute("A copy of ``patch_all``'s arguments.")
    patch_all_kwargs = Attribute("A copy of ``patch_all``'s extra keyword arguments.")


@implementer(IGeventDidPatchBuiltinModulesEvent)
class GeventDidPatchBuiltinModulesEvent(_PatchAllMixin, GeventDidPatchEvent):
    """Implements :class:`IGeventDidPatchBuiltinModulesEvent`."""

    ENTRY_POINT_NAME = 'gevent.plugins.monkey.did_patch_builtins'


class IGeventDidPatchAllEvent(IGeventDidPatchEvent):
    """Emitted after ``patch_all`` finished (builtin and plugin modules)."""


@implementer(IGeventDidPatchAllEvent)
class GeventDidPatchAllEvent(_PatchAllMixin, GeventDidPatchEvent):
    """Implements :class:`IGeventDidPatchAllEvent`."""

    ENTRY_POINT_NAME = 'gevent.plugins.monkey.did_patch_all'
