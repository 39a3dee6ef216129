"""Run gevent 26.9.0's own test modules against geventc, through the ``gevent`` alias.

    python tests/gevent_suite/run.py [-j N] [--timeout S] [module ...]

gevent's sdist is downloaded from PyPI once and unpacked into a cache outside
the repository (``$GEVENTC_SUITE_CACHE``, default ``~/.cache/geventc``); its
test files run unchanged. Each ``src/gevent/tests/test__*.py`` module runs in
a fresh interpreter (``python -u -m gevent.tests.MODULE``, from gevent's
tests folder, as gevent's own runner does) with ``boot/`` on PYTHONPATH, so
``gevent`` is geventc there and in every process the tests start themselves.

``expected_failures.txt`` names each module that is expected to fail, with
its reason. The run fails when any other module fails, crashes or times out;
a listed module that passes is reported so the list can shrink.
"""
import argparse
import concurrent.futures
import glob
import os
import re
import signal
import subprocess
import sys
import tarfile
import time

VERSION = '26.9.0'
HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED = os.path.join(HERE, 'expected_failures.txt')
DEFAULT_TIMEOUT = 150


def cache_dir():
    return os.environ.get('GEVENTC_SUITE_CACHE') or os.path.join(
        os.path.expanduser('~'), '.cache', 'geventc')


def gevent_src():
    """The unpacked sdist's ``src/gevent`` folder, downloading it the first time."""
    root = os.path.join(cache_dir(), 'gevent-' + VERSION)
    src = os.path.join(root, 'src', 'gevent')
    if os.path.isdir(os.path.join(src, 'tests')):
        return src
    os.makedirs(cache_dir(), exist_ok=True)
    tarball = os.path.join(cache_dir(), 'gevent-%s.tar.gz' % VERSION)
    if not os.path.exists(tarball):
        print('gevent suite: downloading gevent %s sdist from PyPI' % VERSION, flush=True)
        subprocess.run(
            [sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '--no-binary', ':all:',
             '--disable-pip-version-check', '-d', cache_dir(), 'gevent==' + VERSION],
            check=True, stdout=subprocess.DEVNULL)
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith('gevent-%s/src/gevent/' % VERSION)]
        tar.extractall(cache_dir(), members=members, filter='data')
    return src


def read_expected():
    """module -> (reason, cases) from expected_failures.txt.

    A line ``module: reason`` expects the whole module to fail; a line
    ``module[Class.test_a, Class.test_b]: reason`` expects exactly those
    cases to fail and the rest of the module to pass. Several case lines
    for one module (each with its own reason) add up."""
    expected = {}
    with open(EXPECTED) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            head, _, reason = line.partition(':')
            name, _, cases = head.partition('[')
            name = name.strip()
            cases = frozenset(c.strip() for c in cases.rstrip(']').split(',') if c.strip())
            if name in expected and cases and expected[name][1]:
                earlier_reason, earlier_cases = expected[name]
                expected[name] = (earlier_reason + '; ' + reason.strip(), earlier_cases | cases)
            else:
                expected[name] = (reason.strip(), cases)
    return expected


def judge(result, expected):
    """'pass', 'xfail' (failed as listed), 'XPASS' (listed, passed) or 'FAIL'."""
    entry = expected.get(result.module)
    if entry is None:
        return 'pass' if result.ok else 'FAIL'
    _, cases = entry
    if not cases:
        return 'XPASS' if result.ok else 'xfail'
    if result.ok:
        return 'XPASS'
    # Only the listed cases may fail, and the module must otherwise have run.
    if result.status == 'fail' and result.failing and set(result.failing) <= cases \
            and len(result.failing) == result.failures + result.errors:
        return 'xfail'
    return 'FAIL'


def environment(src):
    env = dict(os.environ)
    boot = os.path.join(HERE, 'boot')
    env['PYTHONPATH'] = os.pathsep.join(p for p in (boot, env.get('PYTHONPATH')) if p)
    env['GEVENTC_SUITE_SRC'] = src
    # As gevent's own runner sets them (testing/testrunner.py _setup_environ).
    env.setdefault('PYTHONWARNINGS', ','.join([
        'default', 'default::DeprecationWarning', 'default::ResourceWarning',
        'ignore:::site:', 'ignore:::pkgutil:', 'ignore:::importlib._bootstrap:',
        'ignore:::importlib._bootstrap_external:', 'ignore:::dns.namedict:',
        'ignore:::dns.hash:', 'ignore:::dns.zone:']))
    env.setdefault('PYTHONFAULTHANDLER', 'true')
    env.setdefault('PYTHONDEVMODE', '1')
    # No external network here: gevent's tests that need it skip themselves.
    env.setdefault('GEVENTTEST_USE_RESOURCES', '-network')
    env.setdefault('GEVENTTEST_QUIET', '1')
    env.pop('PYTHONSAFEPATH', None)
    return env


class Result:
    def __init__(self, module):
        self.module = module
        self.status = 'fail'    # 'pass', 'fail', 'timeout', 'crash'
        self.ran = self.failures = self.errors = self.skipped = 0
        self.failing = []        # names of the first failing cases
        self.seconds = 0.0
        self.output = ''
        self.returncode = None

    @property
    def ok(self):
        return self.status == 'pass'

    def counts(self):
        if not self.ran:
            return '-'
        passed = self.ran - self.failures - self.errors - self.skipped
        text = '%d/%d' % (passed, self.ran)
        if self.skipped:
            text += ' (%d skipped)' % self.skipped
        return text


_RAN = re.compile(r'^Ran (\d+) tests? in', re.M)
_SUMMARY = re.compile(r'^(OK|FAILED|NO TESTS RAN)(?: \((.*)\))?\s*$', re.M)
# unittest on Python 3.12+ exits with this when a module ran no test (all
# skipped, say); 3.11 says OK and exits 0 for the same module.
_NO_TESTS_EXIT = 5
_CASE = re.compile(r'^(?:FAIL|ERROR): (\S+) \(([\w.]+)\)', re.M)


def parse(result):
    out = result.output
    ran = _RAN.findall(out)
    result.ran = sum(int(n) for n in ran)
    for _, details in _SUMMARY.findall(out):
        for part in (details or '').split(','):
            key, _, value = part.strip().partition('=')
            if value.isdigit() and key in ('failures', 'errors', 'skipped'):
                setattr(result, key, getattr(result, key) + int(value))
    seen = []
    for case, test_id in _CASE.findall(out):
        # Python 3.11 prints "test_x (module.Class.test_x)".
        parts = test_id.split('.')
        if parts[-1] == case and len(parts) > 1:
            parts.pop()
        name = '%s.%s' % (parts[-1], case)
        if name not in seen:
            seen.append(name)
    result.failing = seen


def run_module(module, src, env, timeout):
    result = Result(module)
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, '-u', '-m', 'gevent.tests.' + module],
        cwd=os.path.join(src, 'tests'), env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        result.status = 'timeout'
    else:
        result.returncode = proc.returncode
        if proc.returncode == 0 or (proc.returncode == _NO_TESTS_EXIT
                                    and b'\nNO TESTS RAN' in out):
            result.status = 'pass'
        elif proc.returncode < 0:
            result.status = 'crash'
    finally:
        # Whatever the module started and left behind goes with it.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    result.seconds = time.monotonic() - start
    result.output = out.decode('utf-8', 'replace')
    parse(result)
    return result


def describe(result):
    if result.status == 'timeout':
        return 'timed out'
    if result.status == 'crash':
        try:
            return 'killed by %s' % signal.Signals(-result.returncode).name
        except ValueError:
            return 'killed by signal %d' % -result.returncode
    if result.failing:
        more = len(result.failing) - 3
        return ', '.join(result.failing[:3]) + (' (+%d more)' % more if more > 0 else '')
    if not result.ok:
        lines = [l for l in result.output.strip().splitlines() if l.strip()]
        return lines[-1][:100] if lines else 'exit %s, no output' % result.returncode
    return ''


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('modules', nargs='*', help='test__x module names (default: all)')
    parser.add_argument('-j', '--jobs', type=int, default=os.cpu_count() or 2)
    parser.add_argument('--timeout', type=float, default=DEFAULT_TIMEOUT,
                        help='seconds per module (default %(default)s)')
    parser.add_argument('--logs', help='folder to write each module\'s output to')
    parser.add_argument('-v', '--verbose', action='store_true',
                        help='print the output of every failing module')
    args = parser.parse_args(argv)

    src = gevent_src()
    expected = read_expected()
    available = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(src, 'tests', 'test__*.py')))
    unknown = sorted(set(expected) - set(available))
    if unknown:
        print('gevent suite: expected_failures.txt names modules gevent does not have: %s'
              % ', '.join(unknown))
        return 2
    modules = args.modules or available
    missing = [m for m in modules if m not in available]
    if missing:
        print('gevent suite: no such module: %s' % ', '.join(missing))
        return 2

    env = environment(src)
    print('gevent suite: %d modules of gevent %s, %d at a time, %ds each at most'
          % (len(modules), VERSION, args.jobs, args.timeout), flush=True)
    results = []
    started = time.monotonic()
    # Longest first would be better for wall time; alphabetical keeps logs readable.
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_module, m, src, env, args.timeout) for m in modules]
        for future in futures:
            results.append(future.result())

    if args.logs:
        os.makedirs(args.logs, exist_ok=True)
        for r in results:
            with open(os.path.join(args.logs, r.module + '.log'), 'w') as f:
                f.write(r.output)

    width = max(len(m) for m in modules)
    unexpected, xpassed, xfailed = [], [], []
    print()
    print('%-*s  %-8s %6s  %-22s %s' % (width, 'module', 'result', 'secs', 'tests passed', 'first failing cases'))
    for r in results:
        mark = judge(r, expected)
        {'XPASS': xpassed, 'xfail': xfailed, 'FAIL': unexpected}.get(mark, []).append(r)
        if mark == 'FAIL' and r.status != 'fail':
            mark = r.status.upper()
        print('%-*s  %-8s %6.1f  %-22s %s' % (width, r.module, mark, r.seconds, r.counts(), describe(r)))

    if args.verbose:
        for r in unexpected:
            print('\n===== %s (%s) =====' % (r.module, r.status))
            print(r.output[-6000:])
    print()
    print('gevent suite: %.0f s; %d expected failures (tests/gevent_suite/expected_failures.txt)'
          % (time.monotonic() - started, len(xfailed)))
    for r in xpassed:
        print('gevent suite: %s passes now: remove it (or its passing cases) from expected_failures.txt'
              % r.module)
    for r in unexpected:
        print('gevent suite: unexpected %s: %s' % (r.status, r.module))
    passed = sum(1 for r in results if r.ok)
    print('%d passed, %d failed' % (passed, len(unexpected)))
    return 1 if unexpected else 0


if __name__ == '__main__':
    sys.exit(main())
