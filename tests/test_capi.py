"""The C API (include/geventc.h), used by a real C extension built here.

The extension includes only the public header and imports the capsule; the
tests drive geventc through it and check what a Python caller would see.
"""
import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

import geventc as gevent

pytestmark = pytest.mark.geventc_only

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope='module')
def capi_user(tmp_path_factory):
    build = tmp_path_factory.mktemp('capi')
    src = os.path.join(HERE, 'capi', 'capi_user.c')
    shutil.copy(src, build)
    suffix = sysconfig.get_config_var('EXT_SUFFIX')
    target = build / ('capi_user' + suffix)
    cc = sysconfig.get_config_var('CC').split()
    cmd = cc + ['-shared', '-fPIC', '-O1',
                '-I' + gevent.get_include(), '-I' + sysconfig.get_paths()['include'],
                str(build / 'capi_user.c'), '-o', str(target)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    sys.path.insert(0, str(build))
    try:
        import capi_user
        yield capi_user
    finally:
        sys.path.remove(str(build))


def test_version_and_hub(capi_user):
    assert capi_user.version() == 1
    assert capi_user.get_hub() is gevent.get_hub()


def test_sleep_lets_other_greenlets_run(capi_user):
    order = []
    g = gevent.spawn(order.append, 'other')
    capi_user.sleep(0)
    order.append('after sleep')
    assert order == ['other', 'after sleep']
    g.join()


def test_spawn_returns_a_greenlet_with_the_result(capi_user):
    g = capi_user.spawn(lambda a, b: a + b, 2, 3)
    assert isinstance(g, gevent.Greenlet)
    assert g.get() == 5


def test_wait_read_on_a_pipe(capi_user):
    r, w = os.pipe()
    try:
        gevent.spawn_later(0.01, os.write, w, b'x')
        capi_user.wait_read(r, 5.0)
        assert os.read(r, 1) == b'x'
    finally:
        os.close(r)
        os.close(w)


def test_wait_read_timeout_raises_timeout(capi_user):
    r, w = os.pipe()
    try:
        with pytest.raises(gevent.Timeout):
            capi_user.wait_read(r, 0.01)
    finally:
        os.close(r)
        os.close(w)


def test_errors_come_back_as_exceptions(capi_user):
    with pytest.raises(TypeError):
        capi_user.spawn(42)
    with pytest.raises(OSError):
        capi_user.wait_read(987654, 0.01)
    with pytest.raises(gevent.GreenletExit):
        # a kill reaches C code blocked in sleep as an exception
        def victim():
            capi_user.sleep(10)
        g = gevent.spawn(victim)
        gevent.sleep(0)
        g.kill()
        raise g.value


def test_run_callback_queues_a_call(capi_user):
    seen = []
    cb = capi_user.run_callback(seen.append, 1)
    capi_user.run_callback(seen.append, 2).stop()
    gevent.sleep(0)
    assert seen == [1]
    assert not cb.pending
