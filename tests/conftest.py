"""Shared pytest configuration for the geventc suite.

``GEVENTC_TEST_IMPL=gevent`` runs the whole suite against real gevent
26.9.0 through an import alias (see ``_alias.py``); tests marked
``geventc_only`` (spellings gevent dropped, or places where gevent itself
aborts/hangs) are skipped in that mode, unless ``GEVENTC_TEST_NO_SKIP=1``
(used to check that those tests do fail on gevent, i.e. are not vacuous).
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _alias  # noqa: E402

_alias.install_if_requested()

from _helpers import IMPL_IS_GEVENT  # noqa: E402


def pytest_report_header(config):  # noqa: ARG001
    if IMPL_IS_GEVENT:
        return 'geventc tests: running against REAL gevent (GEVENTC_TEST_IMPL=gevent alias)'
    return 'geventc tests: running against geventc'


def pytest_collection_modifyitems(config, items):  # noqa: ARG001
    if not IMPL_IS_GEVENT:
        return
    if os.environ.get('GEVENTC_TEST_NO_SKIP') == '1':
        # Meta-check: run the geventc_only tests against gevent too, to see
        # that they really detect gevent's (missing/broken) behaviour.
        return
    skip = pytest.mark.skip(reason='geventc_only: gevent 26.9.0 lacks this spelling/behaviour')
    for item in items:
        if 'geventc_only' in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _back_in_main_greenlet():
    """Every test must end where it started: in this thread's main greenlet."""
    yield
    try:
        from greenlet import getcurrent
    except ImportError:  # pragma: no cover
        return
    cur = getcurrent()
    assert cur.parent is None, 'test left the main thread inside greenlet %r' % (cur,)


@pytest.fixture
def hub():
    import geventc
    return geventc.get_hub()


@pytest.fixture
def loop():
    """A fresh non-default loop, destroyed afterwards."""
    from geventc import core
    lp = core.loop(default=False)
    yield lp
    try:
        lp.destroy()
    except Exception:  # a test may already have destroyed it
        pass


@pytest.fixture
def pipe():
    """A real pipe (read fd, write fd), both closed afterwards if still open."""
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass
