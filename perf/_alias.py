"""Make ``import geventc...`` resolve to the matching ``gevent...`` module.

The benchmarks are written once, as ``import geventc as gevent``.  To run the
very same code against gevent, the worker process installs this finder first:
``geventc`` becomes ``gevent``, ``geventc.queue`` becomes ``gevent.queue`` and
so on.  A ``geventc.X`` whose ``gevent.X`` does not exist raises ImportError,
exactly as a missing geventc module would.

Deliberately tiny and stdlib-only: it is imported (but only *installed* for the
gevent side) before the import-time benchmark starts its clock, so both sides
pay the same cost for it.
"""
import importlib
import importlib.util
import os
import sys

SOURCE = 'geventc'
TARGET = 'gevent'


def _target_name(name):
    return TARGET + name[len(SOURCE):]


class GeventAlias:
    """sys.meta_path finder + loader: ``geventc*`` -> the real ``gevent*`` module."""

    def __init__(self):
        self._real_specs = {}

    def find_spec(self, name, path=None, target=None):
        if name == SOURCE or name.startswith(SOURCE + '.'):
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        module = importlib.import_module(_target_name(spec.name))
        # The import system overwrites module.__spec__ with our alias spec
        # after create_module(); remember the real one so exec_module can put
        # it back and gevent's own (relative, lazy) imports keep working.
        self._real_specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module):
        real = self._real_specs.pop(module.__spec__.name, None)
        if real is not None:
            module.__spec__ = real



#: Which implementation this process runs: 'geventc' (the real one) or
#: 'gevent' (geventc* aliased to gevent*).  Set by select().
current = None

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def select(impl):
    """Prepare this process to run ``impl``; call before anything imports geventc.

    'gevent': install the alias.  'geventc': make an in-place build in the
    repository importable (appended, so an installed geventc still wins).
    """
    global current
    if impl == 'gevent':
        install()
    elif impl == 'geventc':
        if REPO_ROOT not in sys.path:
            sys.path.append(REPO_ROOT)
    else:
        raise ValueError('unknown implementation %r' % (impl,))
    current = impl


def install():
    """Install the alias (idempotent).  Must run before anything imports geventc."""
    if not any(isinstance(f, GeventAlias) for f in sys.meta_path):
        sys.meta_path.insert(0, GeventAlias())


def is_installed():
    return any(isinstance(f, GeventAlias) for f in sys.meta_path)
