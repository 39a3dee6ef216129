"""Differential check of scheduling order: random programs over queues,
channels, semaphores, events and kills (see _order_fuzz.py) must log
exactly the same on geventc as on gevent 26.9.0.

GEVENTC_FUZZ_SEEDS sets how many programs (default 100).
"""
import os
import subprocess
import sys

import pytest

from _helpers import IMPL_IS_GEVENT

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = int(os.environ.get('GEVENTC_FUZZ_SEEDS', '100'))


def _gevent_available():
    try:
        import importlib.util
        return importlib.util.find_spec('gevent') is not None
    except ValueError:
        return False


@pytest.mark.skipif(IMPL_IS_GEVENT, reason='compares geventc with gevent')
@pytest.mark.skipif(not _gevent_available(), reason='gevent 26.9.0 is not installed')
def test_random_programs_run_in_gevents_order():
    env = dict(os.environ)
    env.pop('GEVENTC_TEST_IMPL', None)
    procs = {
        impl: subprocess.Popen(
            [sys.executable, os.path.join(HERE, '_order_fuzz.py'), impl, '0', str(SEEDS)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=HERE, text=True)
        for impl in ('gevent', 'geventc')
    }
    out = {}
    for impl, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, (impl, stderr[-2000:])
        out[impl] = stdout.splitlines()
    assert len(out['gevent']) == len(out['geventc']) == SEEDS
    for theirs, ours in zip(out['gevent'], out['geventc']):
        assert ours == theirs, 'first program that differs (seed %s)' % theirs.split()[0]
