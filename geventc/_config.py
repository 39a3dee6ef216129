"""geventc's tunables: ``geventc.config`` (gevent's ``gevent.config``).

Each setting is read from its environment variable the first time it is
used (gevent's names: ``GEVENT_RESOLVER``, ``GEVENT_LOOP``, ...; a
``GEVENTC_*`` variable of the same suffix wins over the ``GEVENT_*`` one),
or set in code before use::

    geventc.config.resolver = 'block'           # a short name
    geventc.config.set('loop', 'geventc.core.loop')  # or a dotted path, a class

Importable settings (``loop``, ``resolver``, ``threadpool``, ``fileobject``,
``format_context``) return the chosen object, so ``config.loop(default=False)``
makes a loop and ``config.resolver`` is a resolver class. A ``gevent.X`` dotted
path names geventc's ``geventc.X``: a program written for gevent configures
geventc unchanged.

``python -m geventc._config`` lists the settings and their variables.
"""
import os

__all__ = ['config']

#: Every setting class, in definition order.
ALL_SETTINGS = []


def validate_invalid(value):
    raise ValueError('Not a valid value: %r' % (value,))


def validate_bool(value):
    """
    This is a boolean value.

    In the environment variable, it may be given as ``1``, ``true``,
    ``on`` or ``yes`` for `True`, or ``0``, ``false``, ``off``, or
    ``no`` for `False`.
    """
    if isinstance(value, str):
        value = value.lower().strip()
        if value in ('1', 'true', 'on', 'yes'):
            return True
        if value in ('0', 'false', 'off', 'no', ''):
            return False
        raise ValueError('Invalid boolean string: %r' % (value,))
    return bool(value)


def validate_anything(value):
    return value


convert_str_value_as_is = validate_anything


def _environ(key):
    """The value of environment variable *key* (``GEVENT_X``), a ``GEVENTC_X``
    beside it taking precedence; None when neither is set."""
    if key.startswith('GEVENT_'):
        value = os.environ.get('GEVENTC_' + key[len('GEVENT_'):])
        if value is not None:
            return value
    return os.environ.get(key)


class SettingType(type):
    """Registers each setting and gives :class:`Config` a property for it."""

    def __new__(mcs, name, bases, cls_dict):
        if name == 'Setting':
            return type.__new__(mcs, name, bases, cls_dict)
        cls_dict['order'] = len(ALL_SETTINGS)
        cls_dict.setdefault('name', name.lower())
        cls_dict.setdefault('environment_key', 'GEVENT_' + cls_dict['name'].upper())
        cls = type.__new__(mcs, name, bases, cls_dict)
        cls.fmt_desc(cls_dict.get('desc', ''))
        ALL_SETTINGS.append(cls)
        if cls.document:
            setattr(Config, cls.name, _config_property(cls.name, cls.__doc__))
        return cls

    def fmt_desc(cls, desc):
        # Runs for every setting as `import geventc` runs: no textwrap (re).
        desc = _dedent(desc)
        if hasattr(cls, 'shortname_map'):
            desc += ('\n\nThis is an importable value: a string naming an importable object, '
                     'or a list of them in preference order (the first that imports is used; '
                     'separate them with commas in the environment variable), or the object '
                     'itself (in code).')
            if cls.shortname_map:
                desc += ' Short names: %r' % (list(cls.shortname_map),)
        if getattr(cls.validate, '__doc__', None):
            desc += '\n\n' + _dedent(cls.validate.__doc__)
        desc += '\n\nThe default value is `%s`' % (
            cls.default if isinstance(cls.default, str) and hasattr(cls, 'shortname_map')
            else repr(cls.default),)
        desc += '\n\nThe environment variable ``%s`` can be used to control this.' % (
            cls.environment_key,)
        cls.desc = cls.__doc__ = desc
        return desc


def _dedent(text):
    lines = text.strip('\n').splitlines()
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents) if indents else 0
    return '\n'.join(line[cut:] for line in lines).strip()


def _config_property(name, doc):
    def getter(self):
        return self.settings[name].get()

    def setter(self, value):
        self.settings[name].set(value)
    return property(getter, setter, doc=doc)


class Setting(metaclass=SettingType):
    name = None
    value = None
    validate = staticmethod(validate_invalid)
    default = None
    environment_key = None
    document = True
    desc = ''

    def _convert(self, value):
        # A string from the environment may be a comma-separated list.
        if isinstance(value, str):
            return value.split(',')
        return value

    def _default(self):
        value = _environ(self.environment_key)
        return self._convert(self.default if value is None else value)

    def get(self):
        if 'value' in self.__dict__:
            return self.value
        # Read once: later reads agree even if the environment changes.
        self.value = self.validate(self._default())
        return self.value

    def set(self, val):
        self.value = self.validate(self._convert(val))
        for callback in self.__dict__.get('_on_set', ()):
            callback(self.value)

    def on_set(self, callback):
        """Call ``callback(value)`` whenever the value is set: compiled code
        that reads a setting on a hot path keeps a C copy of it."""
        self.__dict__.setdefault('_on_set', []).append(callback)


def make_settings():
    """Fresh instances of every setting class, by name."""
    settings = {}
    for kind in ALL_SETTINGS:
        setting = kind()
        assert setting.name not in settings
        settings[setting.name] = setting
    return settings


class Config(object):
    """The process's settings; the one instance is ``geventc.config``.

    Change a setting in code before the part of geventc that reads it is
    used (the hub reads ``loop`` when it is created, ``resolver`` and
    ``threadpool`` when first used)."""

    def __init__(self):
        self.settings = make_settings()

    def __getattr__(self, name):
        # Reached only for names that are not documented settings' properties.
        settings = self.__dict__.get('settings')
        if settings is None or name not in settings:
            raise AttributeError('No configuration setting for: %r' % (name,))
        return settings[name].get()

    def __setattr__(self, name, value):
        if name != 'settings' and name in self.settings:
            self.set(name, value)
        else:
            object.__setattr__(self, name, value)

    def set(self, name, value):
        if name not in self.settings:
            raise AttributeError('No configuration setting for: %r' % (name,))
        self.settings[name].set(value)

    def __dir__(self):
        return list(self.settings)

    def print_help(self):
        import textwrap
        for name, setting in self.settings.items():
            print(name)
            print(textwrap.indent(setting.__doc__.lstrip(), ' ' * 4))
            print()


class ImportableSetting(object):
    """A setting naming an object to import (or being the object)."""

    shortname_map = {}

    def _import_one_of(self, candidates):
        if not candidates:
            raise ImportError('Cannot import from empty list')
        for item in candidates[:-1]:
            try:
                return self._import_one(item)
            except ImportError:
                pass
        return self._import_one(candidates[-1])

    def _import_one(self, path, _MISSING=object()):
        if not isinstance(path, str):
            return path
        if '.' not in path or '/' in path:
            raise ImportError('Cannot import %r. Required format: [package.]module.class. '
                              'Or choose from %r' % (path, list(self.shortname_map)))
        module_name, item = path.strip().rsplit('.', 1)
        if module_name == 'gevent' or module_name.startswith('gevent.'):
            # gevent's spellings name gevent's modules: use ours.
            module_name = 'geventc' + module_name[len('gevent'):]
        import importlib
        module = importlib.import_module(module_name)
        found = getattr(module, item, _MISSING)
        if found is _MISSING:
            raise ImportError('Cannot import %r from %r' % (item, module))
        return found

    def validate(self, value):
        if isinstance(value, type):
            return value
        if not isinstance(value, (list, tuple)):
            # A callable given in code (a factory function).
            return value
        return self._import_one_of([self.shortname_map.get(x.strip(), x.strip())
                                    if isinstance(x, str) else x for x in value])

    def get_options(self):
        """Short name -> the object it imports, or the ImportError it raised."""
        options = {}
        for name, path in self.shortname_map.items():
            try:
                options[name] = self._import_one(path)
            except ImportError as ex:
                options[name] = ex
        return options


class BoolSettingMixin(object):
    validate = staticmethod(validate_bool)
    _convert = staticmethod(convert_str_value_as_is)


class IntSettingMixin(object):
    def _convert(self, value):
        if value:
            return int(value)

    validate = staticmethod(validate_anything)


class _PositiveValueMixin(object):
    def validate(self, value):
        if value is not None and value <= 0:
            raise ValueError('Must be positive')
        return value


class FloatSettingMixin(_PositiveValueMixin):
    def _convert(self, value):
        if value:
            return float(value)


class ByteCountSettingMixin(_PositiveValueMixin):
    _MULTIPLES = {'kb': 1024, 'mb': 1024 ** 2, 'gb': 1024 ** 3}

    def _convert(self, value):
        if not value or not isinstance(value, str):
            return value
        value = value.lower().strip()
        multiple = self._MULTIPLES.get(value[-2:])
        if multiple is not None:
            return int(value[:-2]) * multiple
        return int(value)


class Resolver(ImportableSetting, Setting):
    desc = """\
    The callable that will be used to create :attr:`geventc.hub.Hub.resolver`.
    """
    default = ['thread', 'dnspython', 'ares', 'block']
    shortname_map = {
        'ares': 'geventc.resolver.ares.Resolver',
        'thread': 'geventc.resolver.thread.Resolver',
        'block': 'geventc.resolver.blocking.Resolver',
        'blocking': 'geventc.resolver.blocking.Resolver',
        'dnspython': 'geventc.resolver.dnspython.Resolver',
    }


class Threadpool(ImportableSetting, Setting):
    desc = """\
    The kind of threadpool we use.
    """
    default = 'geventc.threadpool.ThreadPool'


class ThreadpoolIdleTaskTimeout(FloatSettingMixin, Setting):
    name = 'threadpool_idle_task_timeout'
    environment_key = 'GEVENT_THREADPOOL_IDLE_TASK_TIMEOUT'
    desc = """\
    How long threads in the default threadpool (used for DNS by default)
    are allowed to be idle before exiting. Use -1 for no timeout.
    """
    default = 5.0

    def validate(self, value):
        # -1 means "never": gevent documents it, so it is not rejected.
        if value is not None and value <= 0 and value != -1:
            raise ValueError('Must be positive (or -1)')
        return value


class Loop(ImportableSetting, Setting):
    desc = """\
    The kind of the loop we use. geventc has one: libev's, compiled
    (``libev-cext``). The CFFI and libuv loops of gevent are not available.
    """
    default = ['libev-cext', 'libev-cffi', 'libuv-cffi']
    shortname_map = {
        'libev-cext': 'geventc.core.loop',
        'libev-cffi': 'geventc.libev.corecffi.loop',
        'libuv-cffi': 'geventc.libuv.loop.loop',
        'libuv': 'geventc.libuv.loop.loop',
    }


class FormatContext(ImportableSetting, Setting):
    name = 'format_context'
    # pprint.pformat would bypass a dict or list subclass's own __repr__,
    # which may hide secrets on purpose.
    default = 'pprint.saferepr'


class LibevBackend(Setting):
    name = 'libev_backend'
    environment_key = 'GEVENT_BACKEND'
    desc = """\
    The backend for libev, such as 'select'.
    """
    default = None
    validate = staticmethod(validate_anything)


class FileObject(ImportableSetting, Setting):
    desc = """\
    The kind of ``FileObject`` we will use.
    """
    environment_key = 'GEVENT_FILE'
    default = ['posix', 'thread']
    shortname_map = {
        'thread': 'geventc._fileobjectcommon.FileObjectThread',
        'posix': 'geventc._fileobjectposix.FileObjectPosix',
        'block': 'geventc._fileobjectcommon.FileObjectBlock',
    }


class WatchChildren(BoolSettingMixin, Setting):
    desc = """\
    Should we *not* watch children with the event loop watchers?
    """
    name = 'disable_watch_children'
    environment_key = 'GEVENT_NOWAITPID'
    default = False


class TraceMalloc(IntSettingMixin, Setting):
    name = 'trace_malloc'
    environment_key = 'PYTHONTRACEMALLOC'
    default = False
    desc = """\
    Should FFI objects track their allocation? (Low-level debugging only.)
    """


class TrackGreenletTree(BoolSettingMixin, Setting):
    name = 'track_greenlet_tree'
    environment_key = 'GEVENT_TRACK_GREENLET_TREE'
    default = True
    desc = """\
    Should `Greenlet` objects track their spawning tree (``spawning_greenlet``,
    ``spawn_tree_locals``, ``spawning_stack``)? False makes spawning faster.
    """


class MonitorThread(BoolSettingMixin, Setting):
    name = 'monitor_thread'
    environment_key = 'GEVENT_MONITOR_THREAD_ENABLE'
    default = False
    desc = """\
    Should each hub start a native OS thread to monitor for problems
    (a loop blocked longer than `max_blocking_time`)?
    """


class MaxBlockingTime(FloatSettingMixin, Setting):
    name = 'max_blocking_time'
    environment_key = 'GEVENT_MAX_BLOCKING_TIME'
    default = 0.1
    desc = """\
    If the `monitor_thread` is enabled, approximately how long (in seconds)
    the event loop may block before a warning is issued.
    """


class PrintBlockingReports(BoolSettingMixin, Setting):
    name = 'print_blocking_reports'
    environment_key = 'GEVENT_MONITOR_PRINT_BLOCKING_REPORTS'
    default = True
    desc = """\
    If `monitor_thread` is enabled and the hub blocks for longer than
    `max_blocking_time`, should the report be printed?
    """


class MonitorMemoryPeriod(FloatSettingMixin, Setting):
    name = 'memory_monitor_period'
    environment_key = 'GEVENT_MONITOR_MEMORY_PERIOD'
    default = 5
    desc = """\
    If `monitor_thread` is enabled, approximately how long (in seconds)
    between checks of the process's memory usage.
    """


class MonitorMemoryMaxUsage(ByteCountSettingMixin, Setting):
    name = 'max_memory_usage'
    environment_key = 'GEVENT_MONITOR_MEMORY_MAX'
    default = None
    desc = """\
    If `monitor_thread` is enabled and memory usage exceeds this many bytes,
    events are emitted (see `geventc.events`). The environment variable
    accepts a 'kb', 'mb' or 'gb' suffix.
    """


class AresSettingMixin(object):
    # Passed through to the ares resolver, which checks them.
    document = False
    validate = staticmethod(validate_anything)
    _convert = staticmethod(convert_str_value_as_is)

    @property
    def kwarg_name(self):
        return self.name[len('ares_'):]


class AresFlags(AresSettingMixin, Setting):
    name = 'ares_flags'
    environment_key = 'GEVENTARES_FLAGS'


class AresTimeout(AresSettingMixin, Setting):
    document = True
    name = 'ares_timeout'
    environment_key = 'GEVENTARES_TIMEOUT'
    desc = """\
    Deprecated: prefer `resolver_timeout`.
    """


class AresTries(AresSettingMixin, Setting):
    name = 'ares_tries'
    environment_key = 'GEVENTARES_TRIES'


class AresNdots(AresSettingMixin, Setting):
    name = 'ares_ndots'
    environment_key = 'GEVENTARES_NDOTS'


class AresUDPPort(AresSettingMixin, Setting):
    name = 'ares_udp_port'
    environment_key = 'GEVENTARES_UDP_PORT'


class AresTCPPort(AresSettingMixin, Setting):
    name = 'ares_tcp_port'
    environment_key = 'GEVENTARES_TCP_PORT'


class AresServers(AresSettingMixin, Setting):
    document = True
    name = 'ares_servers'
    environment_key = 'GEVENTARES_SERVERS'
    desc = """\
    Nameserver addresses for the ares resolver (comma-separated in the
    environment). Deprecated: prefer `resolver_nameservers`.
    """


class ResolverNameservers(AresSettingMixin, Setting):
    document = True
    name = 'resolver_nameservers'
    environment_key = 'GEVENT_RESOLVER_NAMESERVERS'
    desc = """\
    Nameserver addresses for the DNS resolvers (dnspython, ares), replacing
    those of ``/etc/resolv.conf``. Comma-separated in the environment.
    """
    _convert = Setting._convert

    @property
    def kwarg_name(self):
        return 'servers'


class ResolverTimeout(FloatSettingMixin, AresSettingMixin, Setting):
    document = True
    name = 'resolver_timeout'
    environment_key = 'GEVENT_RESOLVER_TIMEOUT'
    desc = """\
    The total time the DNS resolvers (dnspython, ares) spend on a query.
    """

    @property
    def kwarg_name(self):
        return 'timeout'


config = Config()


if __name__ == '__main__':
    config.print_help()
