"""The monkey-patching metadata: ``_patcher.MAPPING`` and each green module's
``__all__`` / ``__implements__`` / ``__imports__`` / ``__extensions__``
against the standard library module it stands for."""
import importlib
import sys

import pytest

from geventc._patcher import MAPPING

from _helpers import IMPL_IS_GEVENT

PACKAGE = 'gevent' if IMPL_IS_GEVENT else 'geventc'


def _provided():
    # (green module, stdlib module) for the MAPPING entries this package has.
    pairs = []
    for gevent_name, stdlib_name in sorted(MAPPING.items()):
        name = PACKAGE + gevent_name[len('gevent'):]
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as ex:
            if ex.name != name:
                raise
            continue
        pairs.append(pytest.param(module, importlib.import_module(stdlib_name), id=name))
    return pairs


def test_mapping_names_gevent_modules_and_importable_stdlib_modules():
    assert MAPPING['gevent.socket'] == 'socket'
    assert MAPPING['gevent.thread'] == '_thread'
    assert MAPPING['gevent.local'] == '_threading_local'
    for gevent_name, stdlib_name in MAPPING.items():
        assert gevent_name.startswith('gevent.')
        importlib.import_module(stdlib_name)


def test_the_modules_there_are_so_far():
    provided = {p.id.split('.', 1)[1] for p in _provided()}
    assert {'socket', 'select', 'selectors', 'ssl', 'thread', 'os', 'signal', 'queue',
            'local'} <= provided


@pytest.mark.parametrize('module, stdlib', _provided())
def test_all_is_what_star_import_gives(module, stdlib):
    if not hasattr(module, '__all__'):
        pytest.skip('no __all__ (gevent.threading has none)')
    names = {}
    exec('from %s import *' % module.__name__, names)
    names.pop('__builtins__')
    assert sorted(names) == sorted(module.__all__)


@pytest.mark.parametrize('module, stdlib', _provided())
def test_implements_replaces_stdlib_names(module, stdlib):
    for name in getattr(module, '__implements__', None) or ():
        if not hasattr(stdlib, name):
            continue   # optional on this platform/version (gevent's COULD_BE_MISSING)
        assert getattr(module, name) is not getattr(stdlib, name), name


@pytest.mark.parametrize('module, stdlib', _provided())
def test_imports_are_the_stdlib_objects(module, stdlib):
    for name in getattr(module, '__imports__', ()):
        assert getattr(module, name) is getattr(stdlib, name), name


@pytest.mark.parametrize('module, stdlib', _provided())
def test_extensions_are_new_names(module, stdlib):
    for name in getattr(module, '__extensions__', ()):
        assert not hasattr(stdlib, name), name


def test_thread_deprecated_aliases_stay_native():
    import _thread
    thread = sys.modules.get(PACKAGE + '.thread') or importlib.import_module(PACKAGE + '.thread')
    for name in ('allocate', 'exit_thread', 'start_new'):
        if hasattr(_thread, name):
            assert getattr(thread, name) is getattr(_thread, name)
            assert name in thread.__imports__


@pytest.mark.geventc_only
def test_geventc_names_for_the_mapping():
    from geventc._patcher import available, geventc_module_name
    assert geventc_module_name('gevent.socket') == 'geventc.socket'
    with pytest.raises(ValueError):
        geventc_module_name('socket')
    found = available()
    import geventc.socket
    assert found['socket'] is geventc.socket
    # Entries without a geventc module yet are left out, not errors.
    assert all(module.__name__.startswith('geventc.') for module in found.values())
