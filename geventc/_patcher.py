"""Which geventc module stands in for which standard library module
(gevent's private ``gevent._patcher``).

:data:`MAPPING` is keyed by gevent's module names (``'gevent.socket'``), as
gevent publishes it and as its tests and tools read it; under the ``gevent``
alias those names are geventc's modules. Code inside geventc must not import
by these names (without the alias they may find a real gevent installed
beside it): :func:`geventc_module_name` gives geventc's own name.

Some entries name modules geventc does not provide yet (``subprocess``,
``threading``, ``builtins``, ``time``, ``contextvars``): they are part of
the mapping monkey-patching works from, and :func:`available` leaves them out.
"""
import importlib

#: gevent module name -> the standard library module it replaces.
MAPPING = {
    'gevent.local': '_threading_local',
    'gevent.socket': 'socket',
    'gevent.select': 'select',
    'gevent.selectors': 'selectors',
    'gevent.ssl': 'ssl',
    'gevent.thread': '_thread',
    'gevent.subprocess': 'subprocess',
    'gevent.os': 'os',
    'gevent.threading': 'threading',
    'gevent.builtins': 'builtins',
    'gevent.signal': 'signal',
    'gevent.time': 'time',
    'gevent.queue': 'queue',
    'gevent.contextvars': 'contextvars',
}

#: Standard library modules that may be missing on some platforms.
OPTIONAL_STDLIB_MODULES = frozenset()

_GEVENT_PREFIX = 'gevent.'


def geventc_module_name(gevent_name):
    """``'gevent.socket'`` -> ``'geventc.socket'``."""
    if not gevent_name.startswith(_GEVENT_PREFIX):
        raise ValueError('not a gevent module name: %r' % (gevent_name,))
    return 'geventc.' + gevent_name[len(_GEVENT_PREFIX):]


def available():
    """stdlib name -> geventc module, for the entries geventc provides (imported)."""
    result = {}
    for gevent_name, stdlib_name in MAPPING.items():
        name = geventc_module_name(gevent_name)
        try:
            result[stdlib_name] = importlib.import_module(name)
        except ModuleNotFoundError as ex:
            if ex.name != name:
                raise   # the module exists but something it needs does not
    return result
