"""Platform facts and small helpers gevent's code and tests import from
``gevent._compat`` (with gevent 26.9.0's names).

Imports nothing from geventc: anything may import it first.
"""
import os
import sys
from abc import ABC  # noqa: F401 (gevent's name)
from os import PathLike, fsdecode, fsencode, fspath  # noqa: F401
from time import get_clock_info, monotonic, perf_counter  # noqa: F401

PY311 = sys.version_info[:2] >= (3, 11)
PY312 = sys.version_info[:2] >= (3, 12)
PY313 = sys.version_info[:2] >= (3, 13)
PY314 = sys.version_info[:2] >= (3, 14)
PYPY = hasattr(sys, 'pypy_version_info')
WIN = sys.platform.startswith('win')
LINUX = sys.platform.startswith('linux')
OSX = MAC = sys.platform == 'darwin'

# geventc is compiled and has no pure-Python fallback: these stay False
# unless asked for, as in gevent (its tests skip C-only checks on them).
_PURE_PYTHON_ENV = os.environ.get('GEVENT_PURE_PYTHON')
GLOBAL_PURE_PYTHON = bool(PYPY or os.environ.get('PURE_PYTHON')
                          or (_PURE_PYTHON_ENV and 'gevent.' not in _PURE_PYTHON_ENV))
PURE_PYTHON = GLOBAL_PURE_PYTHON


def pure_python_module(mod_name):
    """Whether *mod_name* was asked to run without its C accelerator."""
    if GLOBAL_PURE_PYTHON:
        return True
    if not _PURE_PYTHON_ENV:
        return False
    return mod_name in _PURE_PYTHON_ENV.split(',')


string_types = (str,)
integer_types = (int,)
text_type = str
native_path_types = (str, bytes)
thread_mod_name = '_thread'
hostname_types = (str, bytes, bytearray)

iteritems = dict.items
itervalues = dict.values
xrange = range
izip = zip
_fspath = fspath


def NativeStrIO():
    """A file collecting ``str`` (what ``print`` writes)."""
    import io
    return io.StringIO()


def reraise(t, value, tb=None):  # noqa: ARG001 (gevent's signature)
    """Raise *value* with traceback *tb*."""
    if value.__traceback__ is not tb:
        raise value.with_traceback(tb)
    raise value


def exc_clear():
    """Python 2's ``sys.exc_clear``: nothing to do on Python 3."""


import _imp  # noqa: E402

imp_acquire_lock = _imp.acquire_lock
imp_release_lock = _imp.release_lock


def get_this_psutil_process():
    """A fresh ``psutil.Process()`` for this process, or None without psutil
    (or when the OS denies reading our own memory)."""
    try:
        from psutil import AccessDenied, Process
    except ImportError:
        return None
    try:
        proc = Process()
        proc.memory_full_info()
    except AccessDenied:
        return None
    return proc
