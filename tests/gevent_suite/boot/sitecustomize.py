"""Imported at start-up by every interpreter the gevent-suite runner starts
(it puts this folder on PYTHONPATH), including the ones gevent's tests start
themselves: ``gevent`` is geventc, and ``gevent.testing`` / ``gevent.tests``
are gevent 26.9.0's own, loaded unchanged from the unpacked sdist.
"""
import importlib.abc
import importlib.machinery
import os
import sys


class _SuiteFinder(importlib.abc.MetaPathFinder):
    """``gevent.testing`` and ``gevent.tests`` from gevent's sdist, as they ship."""

    def __init__(self, src):
        self.src = src

    def find_spec(self, fullname, path=None, target=None):
        if fullname in ('gevent.testing', 'gevent.tests'):
            return importlib.machinery.PathFinder.find_spec(fullname, [self.src])
        if fullname in ('geventc.testing', 'geventc.tests'):
            # ``from gevent import testing`` asks for geventc.testing (the
            # import system uses the parent module's real __name__).
            return importlib.machinery.ModuleSpec(fullname, _SameModule('gevent' + fullname[len('geventc'):]))
        return None


class _SameModule(importlib.abc.Loader):
    """Loads a name as the module already known by another name."""

    def __init__(self, real_name):
        self.real_name = real_name

    def create_module(self, spec):
        import importlib
        module = importlib.import_module(self.real_name)
        self._real_spec = module.__spec__
        return module

    def exec_module(self, module):
        # The import system stamped our spec on the module: give its own back.
        module.__spec__ = self._real_spec


def _install():
    src = os.environ.get('GEVENTC_SUITE_SRC')
    if not src:
        return
    from geventc.alias import install_as_gevent
    install_as_gevent()
    # Before the alias finder: geventc has no testing package of its own.
    sys.meta_path.insert(0, _SuiteFinder(src))


_install()
