"""Imported at start-up by every interpreter the gevent-suite runner starts
(it puts this folder on PYTHONPATH), including the ones gevent's tests start
themselves: ``gevent`` is geventc, and ``gevent.testing`` / ``gevent.tests``
are gevent 26.9.0's own, loaded unchanged from the unpacked sdist.
"""
import os
import sys

# No importlib.abc/machinery at start-up (they cost children ~10 ms each):
# the finders and loader below are duck-typed, and import what they need
# when first used.


class _SuiteFinder(object):
    """``gevent.testing`` and ``gevent.tests`` from gevent's sdist, as they ship."""

    def __init__(self, src):
        self.src = src

    def find_spec(self, fullname, path=None, target=None):
        if fullname in ('gevent.testing', 'gevent.tests'):
            import importlib.machinery
            return importlib.machinery.PathFinder.find_spec(fullname, [self.src])
        if fullname in ('geventc.testing', 'geventc.tests'):
            import importlib.machinery
            # ``from gevent import testing`` asks for geventc.testing (the
            # import system uses the parent module's real __name__).
            return importlib.machinery.ModuleSpec(fullname, _SameModule('gevent' + fullname[len('geventc'):]))
        return None


class _SameModule(object):
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


class _AliasOnFirstUse(object):
    """Installs the alias when something first imports ``gevent``.

    Every interpreter the suite starts runs this file, including the many
    plain ``python -c ...`` children gevent's tests start; importing
    geventc in each of them up front would slow every child (tests time
    their children) and load modules gevent itself would not have loaded.
    ``gevent.X`` always imports ``gevent`` first, so only that name is seen.
    """

    def __init__(self, suite_finder):
        self.suite_finder = suite_finder

    def find_spec(self, fullname, path=None, target=None):
        if fullname != 'gevent':
            return None
        sys.meta_path.remove(self)
        import importlib.machinery
        # Installing imports gevent: done by the loader, not here (an import
        # finished inside find_spec makes the import system reload the
        # module from its real spec, a second geventc).
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        from geventc.alias import install_as_gevent
        install_as_gevent()
        # The suite finder stays ahead of the alias finder: geventc has no
        # testing package of its own.
        sys.meta_path.remove(self.suite_finder)
        sys.meta_path.insert(0, self.suite_finder)
        module = sys.modules['gevent']
        self._real_spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self._real_spec


def _install():
    src = os.environ.get('GEVENTC_SUITE_SRC')
    if not src:
        return
    suite_finder = _SuiteFinder(src)
    sys.meta_path.insert(0, suite_finder)
    sys.meta_path.insert(1, _AliasOnFirstUse(suite_finder))


_install()
