"""geventc.alias: geventc under the name ``gevent`` (each case in a fresh interpreter)."""
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.geventc_only

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(code, *args):
    env = dict(os.environ)
    env.pop('GEVENTC_TEST_IMPL', None)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (ROOT, env.get('PYTHONPATH')) if p)
    return subprocess.run([sys.executable, *args] if not code else [sys.executable, '-c', textwrap.dedent(code), *args],
                          capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)


def test_same_module_objects_every_spelling_and_depth():
    r = run('''
        import sys, geventc
        geventc.install_as_gevent()
        import gevent, gevent.hub
        from gevent import queue, _socket
        from gevent.resolver import ares
        import geventc.queue, geventc.resolver.ares
        assert gevent is geventc and gevent.hub is sys.modules['geventc.hub']
        assert queue is geventc.queue and ares is geventc.resolver.ares
        for name in ('queue', '_socket', 'resolver', 'resolver.ares', 'hub'):
            assert sys.modules['gevent.' + name] is sys.modules['geventc.' + name], name
        assert queue.__spec__.name == 'geventc.queue'
        print('ok')
    ''')
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == 'ok'


def test_missing_module_stays_missing():
    r = run('''
        import geventc
        geventc.install_as_gevent()
        try:
            import gevent.no_such_module
        except ModuleNotFoundError as e:
            print(e.name)
    ''')
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == 'gevent.no_such_module'


def test_refuses_when_real_gevent_is_imported():
    pytest.importorskip('gevent')
    r = run('''
        import gevent, geventc
        try:
            geventc.install_as_gevent()
        except RuntimeError as e:
            print('refused:', 'already imported' in str(e))
    ''')
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == 'refused: True'


def test_command_line_runs_a_script_with_its_arguments(tmp_path):
    script = tmp_path / 'app.py'
    script.write_text(textwrap.dedent('''
        import sys, gevent
        print(gevent.__name__, sys.argv[1:], __name__)
        raise SystemExit(3)
    '''))
    r = run(None, '-m', 'geventc.alias', str(script), 'a', 'b')
    assert r.returncode == 3, r.stderr
    assert r.stdout.strip() == "geventc ['a', 'b'] __main__"


def test_command_line_missing_script_is_one_clear_line(tmp_path):
    r = run(None, '-m', 'geventc.alias', str(tmp_path / 'nope.py'))
    assert r.returncode == 2
    assert r.stderr.strip().startswith('geventc.alias: no such script')


def test_dash_m_gevent_monkey_runs_geventc_monkey_once(tmp_path):
    # `python -m gevent.monkey` with the alias on (as gevent's own tests and
    # gunicorn-style launchers do): runpy asks the alias for the code.
    (tmp_path / 'prog.py').write_text(
        'import sys, socket, gevent.monkey, geventc.monkey, geventc.socket\n'
        'assert gevent.monkey is geventc.monkey is sys.modules["gevent.monkey"]\n'
        'print(__name__, sys.argv[1:], socket.socket is geventc.socket.socket)\n')
    r = run('''
        import runpy, sys, geventc
        geventc.install_as_gevent()
        sys.argv[:] = ['gevent.monkey', sys.argv[1], 'x']
        runpy.run_module('gevent.monkey', run_name='__main__', alter_sys=True)
    ''', str(tmp_path / 'prog.py'))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "__main__ ['x'] True"


def test_environment_switch_through_the_pth_file(tmp_path):
    # What a regular install puts in site-packages, processed as site does.
    import shutil
    shutil.copy(os.path.join(ROOT, 'geventc_as_gevent.pth'), str(tmp_path))
    code = ('import site, sys; site.addsitedir(%r); '
            'import gevent, geventc; print(gevent is geventc, "gevent" in sys.modules)' % str(tmp_path))
    env = dict(os.environ)
    env.pop('GEVENTC_TEST_IMPL', None)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (ROOT, env.get('PYTHONPATH')) if p)
    for value, expected in (('1', 'True True'), ('0', None), (None, None)):
        if value is None:
            env.pop('GEVENTC_AS_GEVENT', None)
        else:
            env['GEVENTC_AS_GEVENT'] = value
        probe = ('import site, sys; site.addsitedir(%r); print("gevent" in sys.modules)' % str(tmp_path))
        r = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == ('True' if expected else 'False'), (value, r.stdout, r.stderr)
        if expected:
            r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, timeout=60)
            assert r.stdout.strip() == expected, (r.stdout, r.stderr)


def test_a_built_package_carries_the_pth_file(tmp_path):
    # build_py (no compiling) puts the .pth at the top of the installed tree.
    r = subprocess.run([sys.executable, 'setup.py', '-q', 'build_py', '--build-lib', str(tmp_path)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / 'geventc_as_gevent.pth').read_text().startswith('import os;')
    assert (tmp_path / 'geventc' / 'alias.py').exists()
