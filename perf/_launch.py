"""Runner-side helpers shared by run.py and regress.py.

Nothing here imports gevent or geventc: every measurement happens in a fresh
worker process (_worker.py), started and parsed by run_worker().
"""
import datetime
import fnmatch
import json
import os
import platform
import subprocess
import sys

PERF_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(PERF_DIR)
WORKER = os.path.join(PERF_DIR, '_worker.py')
IMPLS = ('geventc', 'gevent')

#: The same environment for every worker: a fixed hash seed removes one source
#: of run-to-run variation (set/dict layouts), and matters for callgrind.
WORKER_ENV = {'PYTHONHASHSEED': '0'}


def worker_env(extra=None):
    env = dict(os.environ)
    env.update(WORKER_ENV)
    env.update(extra or {})
    return env


def worker_command(impl, bench=None, *, size=None, n=None, inner=None,
                   warmup_n=None, callgrind_marker=False, layout_variant=None,
                   python=sys.executable):
    cmd = [python, WORKER, '--impl', impl]
    if bench is None:
        return cmd + ['--list']
    cmd += ['--bench', bench]
    for flag, value in (('--size', size), ('--n', n), ('--inner', inner),
                        ('--warmup-n', warmup_n), ('--layout-variant', layout_variant)):
        if value is not None:
            cmd += [flag, str(value)]
    if callgrind_marker:
        cmd.append('--callgrind-marker')
    return cmd


def last_json_line(text):
    for line in reversed(text.splitlines()):
        if line.startswith('{'):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def tail(text, limit=600):
    text = (text or '').strip()
    return text if len(text) <= limit else '...' + text[-limit:]


def run_worker(cmd, timeout, env=None):
    """Run a worker command; always return a result dict with a 'status'."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout, env=worker_env(env))
    except subprocess.TimeoutExpired:
        return {'status': 'timeout', 'reason': 'no result after %ss' % timeout}
    result = last_json_line(proc.stdout)
    if result is None:
        return {'status': 'error',
                'reason': 'exit code %s, no result; stderr: %s' % (proc.returncode, tail(proc.stderr))}
    if result.get('status') == 'error':
        result['reason'] = '%s; stderr: %s' % (result.get('reason'), tail(proc.stderr))
    return result


def list_benchmarks():
    """The registry, read through a gevent worker (metadata does not depend on impl)."""
    result = run_worker(worker_command('gevent'), timeout=120)
    if result.get('status') != 'ok':
        raise SystemExit('cannot list the benchmarks: %s' % result.get('reason'))
    return result['benchmarks']


def select(benchmarks, patterns):
    """Keep benchmarks whose name matches any pattern (substring or glob)."""
    if not patterns:
        return benchmarks
    pats = [p for arg in patterns for p in arg.split(',') if p]

    def matches(name):
        return any(p in name or fnmatch.fnmatchcase(name, p) for p in pats)
    return [b for b in benchmarks if matches(b['name'])]


def check_importable(impl):
    """None if ``impl`` imports in a fresh worker-like process, else the reason."""
    code = ('import sys; sys.path.insert(0, %r); import _alias; _alias.select(%r); '
            'import geventc; assert getattr(geventc, "__file__", None), '
            '"namespace package: geventc is not built"' % (PERF_DIR, impl))
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=120, env=worker_env())
    return None if proc.returncode == 0 else tail(proc.stderr, 400)


def module_version(impl, module):
    """Version string of ``module`` as a worker for ``impl`` sees it (or None)."""
    code = ('import sys; sys.path.insert(0, %r); import _alias; _alias.select(%r); '
            'import %s as m; print(getattr(m, "__version__", "?"), m.__file__)'
            % (PERF_DIR, impl, module))
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=120, env=worker_env())
    return proc.stdout.strip() if proc.returncode == 0 else None


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_revision():
    try:
        out = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
    return out.stdout.strip() + ('+dirty' if dirty.stdout.strip() else '')


def machine_info():
    return {
        'date': datetime.datetime.now().astimezone().isoformat(timespec='seconds'),
        'host': platform.node(),
        'cpu': cpu_model(),
        'cores': os.cpu_count(),
        'os': platform.platform(),
        'python': '%s (%s)' % (platform.python_version(), platform.python_implementation()),
        'python_executable': sys.executable,
        'loadavg': os.getloadavg() if hasattr(os, 'getloadavg') else None,
        'git': git_revision(),
    }
