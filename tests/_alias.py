"""Make ``geventc`` / ``geventc.X`` imports resolve to ``gevent`` / ``gevent.X``.

Used when ``GEVENTC_TEST_IMPL=gevent`` so that the very same test suite runs
against real gevent 26.9.0 (the reference behaviour geventc must copy).

``install_if_requested()`` is called by ``tests/conftest.py`` for the pytest
process and by the prelude of every child script started through
``_helpers.run_python`` / ``_helpers.start_python``.
"""
import importlib
import importlib.abc
import importlib.util
import os
import sys

ENV_VAR = 'GEVENTC_TEST_IMPL'


def alias_requested():
    return os.environ.get(ENV_VAR, '').strip().lower() == 'gevent'


class GeventcAliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """A meta-path finder + loader: ``geventc[.X]`` -> ``gevent[.X]``."""

    def __init__(self):
        self._real_specs = {}

    @staticmethod
    def _is_ours(name):
        return name == 'geventc' or name.startswith('geventc.')

    def find_spec(self, name, path=None, target=None):  # noqa: ARG002
        if not self._is_ours(name):
            return None
        real_name = 'gevent' + name[len('geventc'):]
        try:
            real_spec = importlib.util.find_spec(real_name)
        except (ImportError, ValueError):
            real_spec = None
        if real_spec is None:
            # Let the normal machinery report "No module named 'geventc.X'".
            return None
        return importlib.util.spec_from_loader(
            name, self,
            is_package=real_spec.submodule_search_locations is not None)

    def create_module(self, spec):
        real = importlib.import_module('gevent' + spec.name[len('geventc'):])
        self._real_specs[spec.name] = getattr(real, '__spec__', None)
        return real

    def exec_module(self, module):
        # The import system stamped the alias spec onto the real module;
        # put gevent's own spec back so gevent's internals are unaffected.
        alias_name = getattr(module.__spec__, 'name', None)
        real_spec = self._real_specs.pop(alias_name, None)
        if real_spec is not None:
            module.__spec__ = real_spec


def install():
    for finder in sys.meta_path:
        if isinstance(finder, GeventcAliasFinder) or type(finder).__name__ == 'GeventcAliasFinder':
            return finder
    finder = GeventcAliasFinder()
    sys.meta_path.insert(0, finder)
    return finder


def install_if_requested():
    if alias_requested():
        return install()
    return None
