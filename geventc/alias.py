"""Run code written for gevent on geventc, unchanged: geventc under the name ``gevent``.

After :func:`install_as_gevent`, ``import gevent``, ``import gevent.X`` and
``from gevent import X`` give geventc's own module objects (the very same
objects as ``geventc`` and ``geventc.X``, at any depth), so a library that
looks for gevent by name finds geventc.

A module that geventc does not provide stays missing (``ModuleNotFoundError:
No module named 'gevent.X'``): nothing falls back to a real gevent installed
beside it, so what runs is geventc and nothing else.

For processes you do not start yourself, set ``GEVENTC_AS_GEVENT=1`` in
their environment: the ``geventc_as_gevent.pth`` file a regular (wheel)
install puts in site-packages installs the alias at interpreter start
(unset the variable, or set it to ``0``, to turn it off; when it is unset
the file costs one environment lookup).

From the command line::

    python -m geventc.alias script.py [args...]
    python -m geventc.alias -m package.module [args...]
"""
import importlib
import importlib.abc
import importlib.util
import sys

__all__ = ['install_as_gevent', 'install_at_startup', 'uninstall', 'is_installed', 'main']

_ALIAS = 'gevent'
_REAL = 'geventc'


class AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``gevent[.X]`` -> the already-imported or freshly imported ``geventc[.X]``."""

    def __init__(self):
        self._specs = {}

    @staticmethod
    def _real_name(fullname):
        if fullname == _ALIAS:
            return _REAL
        if not fullname.startswith(_ALIAS + '.'):
            return None
        parent = sys.modules.get(fullname.rpartition('.')[0])
        # Only children of aliased packages: a package someone else put under
        # the gevent name (the suite runner's gevent.testing) keeps its own.
        if parent is None or not getattr(parent, '__name__', '').startswith(_REAL):
            return None
        return _REAL + fullname[len(_ALIAS):]

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith(_REAL + '.'):
            return self._real_spec_also_aliased(fullname, path, target)
        real_name = self._real_name(fullname)
        if real_name is None:
            return None
        real = sys.modules.get(real_name)
        if real is not None:
            real_spec = getattr(real, '__spec__', None)
        else:
            try:
                real_spec = importlib.util.find_spec(real_name)
            except ModuleNotFoundError:
                real_spec = None
        if real_spec is None:
            return None
        return importlib.util.spec_from_loader(
            fullname, self, is_package=real_spec.submodule_search_locations is not None)

    def _real_spec_also_aliased(self, fullname, path, target):
        # ``from gevent import X`` imports geventc.X by its real name (the
        # import system uses the parent's __name__): find it as the other
        # finders would, and register it as gevent.X too once loaded.
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and not isinstance(spec.loader, _AlsoAsGevent):
                    spec.loader = _AlsoAsGevent(spec.loader)
                return spec
        return None

    def create_module(self, spec):
        module = importlib.import_module(self._real_name(spec.name))
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module):
        # The import machinery stamped the alias's spec on geventc's module;
        # give it its own back (reload, pickling and pkgutil read it).
        alias_spec = module.__spec__
        real_spec = self._specs.pop(alias_spec.name, None)
        if real_spec is not None:
            module.__spec__ = real_spec


    # ``python -m gevent.X`` (runpy) asks the alias's loader for the code
    # to run as __main__: it is geventc.X's code.
    def _real_loader(self, fullname):
        real_name = self._real_name(fullname)
        real = sys.modules.get(real_name)
        spec = getattr(real, '__spec__', None) if real is not None else importlib.util.find_spec(real_name)
        if spec is None or spec.loader is None:
            raise ImportError('no loader for %s' % (real_name,), name=fullname)
        loader = spec.loader
        return getattr(loader, 'loader', loader), real_name

    def get_code(self, fullname):
        loader, real_name = self._real_loader(fullname)
        return loader.get_code(real_name)

    def get_source(self, fullname):
        loader, real_name = self._real_loader(fullname)
        return loader.get_source(real_name)

    def get_filename(self, fullname):
        loader, real_name = self._real_loader(fullname)
        return loader.get_filename(real_name)

    def is_package(self, fullname):
        loader, real_name = self._real_loader(fullname)
        return loader.is_package(real_name)


class _AlsoAsGevent(importlib.abc.Loader):
    """A geventc module's own loader, which also names the module gevent.X."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        name = module.__name__
        if _finder() is not None:
            sys.modules.setdefault(_ALIAS + name[len(_REAL):], module)

    def __getattr__(self, name):
        # get_data, get_filename, is_package... as the real loader has them.
        return getattr(self.loader, name)


def _finder():
    for finder in sys.meta_path:
        if isinstance(finder, AliasFinder):
            return finder
    return None


def is_installed():
    """True when ``gevent`` names geventc in this interpreter."""
    return _finder() is not None


def install_as_gevent():
    """Make ``gevent`` and every ``gevent.X`` import give geventc's modules.

    Idempotent. Raises :exc:`RuntimeError` when the real gevent is already
    imported: two event loops in one process would each think it owns the
    thread, and objects of one would be handed to the other.
    """
    existing = sys.modules.get(_ALIAS)
    if existing is not None and not getattr(existing, '__name__', '').startswith(_REAL):
        raise RuntimeError(
            'geventc.install_as_gevent(): the real gevent is already imported (%s); '
            'call install_as_gevent() before anything imports gevent'
            % (getattr(existing, '__file__', None) or existing,))
    finder = _finder()
    if finder is None:
        finder = AliasFinder()
        sys.meta_path.insert(0, finder)
    # Submodules imported before the alias was installed are aliased now, so
    # ``sys.modules['gevent.hub'] is sys.modules['geventc.hub']`` from here on.
    for name, module in list(sys.modules.items()):
        if module is not None and (name == _REAL or name.startswith(_REAL + '.')):
            sys.modules.setdefault(_ALIAS + name[len(_REAL):], module)
    importlib.import_module(_ALIAS)
    return finder


def install_at_startup():
    """What ``geventc_as_gevent.pth`` calls at interpreter start when
    ``GEVENTC_AS_GEVENT`` is set (and not ``0``): the alias for processes
    you do not start yourself (gunicorn workers, celery, a test runner).
    Unset the variable (or set it to ``0``) to turn it off."""
    try:
        install_as_gevent()
    except RuntimeError:
        pass   # the real gevent came first (a sitecustomize): leave it


def uninstall():
    """Undo :func:`install_as_gevent` (for tests): drop the finder and the aliases."""
    finder = _finder()
    if finder is not None:
        sys.meta_path.remove(finder)
    for name, module in list(sys.modules.items()):
        if (name == _ALIAS or name.startswith(_ALIAS + '.')) and \
                getattr(module, '__name__', '').startswith(_REAL):
            del sys.modules[name]


_USAGE = 'usage: python -m geventc.alias (script.py | -m module) [args...]'


def main(argv=None):
    """Run a script or module with the alias installed (``python -m geventc.alias``)."""
    import os
    import runpy
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ('-h', '--help'):
        print(_USAGE, file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    install_as_gevent()
    if argv[0] == '-m':
        if len(argv) < 2:
            print(_USAGE, file=sys.stderr)
            return 2
        sys.argv[:] = argv[1:]
        runpy.run_module(argv[1], run_name='__main__', alter_sys=True)
        return 0
    path = argv[0]
    if not os.path.exists(path):
        print('geventc.alias: no such script: %s' % (path,), file=sys.stderr)
        return 2
    sys.argv[:] = argv
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    runpy.run_path(path, run_name='__main__')
    return 0


if __name__ == '__main__':
    # Run the copy importable as geventc.alias, so the finder class is one.
    from geventc.alias import main as _main
    sys.exit(_main())
