"""Shared pieces of the integration tests (not a test module itself).

Every scenario runs in a fresh interpreter (``_helpers.run_python``) that
calls ``monkey.patch_all()`` before importing the library under test, as a
gevent user's program does. ``GEVENTC_TEST_IMPL=gevent`` runs the very same
child code on real gevent 26.9.0 through the reverse alias (tests/_alias.py).

Servers (redis-server, PostgreSQL) are started by the tests themselves on
loopback; a scenario whose server or library cannot be had is skipped with
a reason starting with ``!!!`` so that it stands out in the summary.
"""
import importlib.util
import os
import socket
import sys
import textwrap

import pytest

_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from _helpers import IMPL_IS_GEVENT, assert_ok, run_python  # noqa: E402

IMPL = 'gevent' if IMPL_IS_GEVENT else 'geventc'

#: First lines of every child: patch the standard library before anything
#: else is imported, then the library under test may be imported.
PATCH_ALL = '''
from geventc import monkey
monkey.patch_all()
import geventc
'''

#: For libraries that import ``gevent`` by name (gevent-websocket, zmq.green,
#: engineio's gevent mode, psycopg's gevent detection): on geventc the
#: ``gevent`` name must be geventc's (install_as_gevent); on real gevent
#: (GEVENTC_TEST_IMPL=gevent) it already is gevent itself.
AS_GEVENT = '''
import _alias
if not _alias.alias_requested():
    geventc.install_as_gevent()
'''


def missing(*modules):
    """The first of *modules* that cannot be imported, or None."""
    for name in modules:
        if importlib.util.find_spec(name) is None:
            return name
    return None


def require(*modules):
    """Skip loudly unless every one of *modules* is importable."""
    name = missing(*modules)
    if name is not None:
        pytest.skip('!!! %s is not importable: this integration scenario did NOT run '
                    '(it is in pyproject.toml\'s test extras)' % (name,))


def free_port():
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_child(code, timeout=60, extra_env=None):
    """Run *code* (PATCH_ALL is prepended) in a child; return its stdout lines.

    The child must exit 0; its stdout is returned split into lines.
    """
    res = assert_ok(run_python(PATCH_ALL + textwrap.dedent(code), timeout=timeout, extra_env=extra_env))
    return res.stdout.splitlines()
