"""Run CPython's own ``test`` suites with geventc's ``monkey.patch_all()`` first.

    python tests/stdlib_suite/run.py [-j N] [--timeout S] [--logs DIR] [-v] [suite ...]

Each suite (``test.test_socket``...) runs in a fresh interpreter as
``python -m geventc.monkey suite_main.py test_socket`` (patched before the
test module is imported), from an empty temporary folder, under unittest's
runner. ``excluded.txt`` names the cases that are not run, each with its
reason, and the cases still pending on other work, which run and may fail.
The run fails when any other case fails, or a suite crashes or times out;
a pending case that passes is reported so the list can shrink.

``GEVENTC_STDLIB_IMPL=gevent`` runs the same through ``python -m
gevent.monkey`` (real gevent), to compare.
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXCLUDED = os.path.join(HERE, 'excluded.txt')
SUITE_MAIN = os.path.join(HERE, 'suite_main.py')
# Seconds a suite may take before it counts as hung: several times what it
# takes on a 2-core machine running two suites at once (the slowest there:
# test_socket ~40 s, test_subprocess and test_signal ~17 s, the rest < 12 s).
DEFAULT_TIMEOUT = 90
TIMEOUTS = {'test_socket': 240, 'test_subprocess': 150, 'test_signal': 150}

SUITES = [
    'test_asyncore', 'test_context', 'test_ftplib', 'test_httplib', 'test_queue',
    'test_select', 'test_selectors', 'test_signal', 'test_smtpd', 'test_smtplib',
    'test_socket', 'test_socketserver', 'test_ssl', 'test_subprocess', 'test_thread',
    'test_threading', 'test_urllib2', 'test_urllib2_localnet', 'test_wsgiref',
]

# The section of excluded.txt whose cases run and may fail (see its header).
PENDING_SECTION = re.compile(r'^\[pending: (.+)\]$')


class Listing:
    """excluded.txt: ``suite Class.method: reason`` skips a case,
    ``suite: reason`` a whole suite; under a ``[pending: why]`` header the
    cases named still run, and may fail."""

    def __init__(self):
        self.excluded = {}      # suite -> {case: reason}; case None is the whole suite
        self.pending = {}       # suite -> {case: why}

    @classmethod
    def read(cls, path=EXCLUDED):
        listing = cls()
        section = None
        with open(path) as f:
            for number, line in enumerate(f, 1):
                line = line.split('#', 1)[0].strip()
                if not line:
                    continue
                header = PENDING_SECTION.match(line)
                if header:
                    section = header.group(1)
                    continue
                head, sep, reason = line.partition(':')
                words = head.split()
                if not sep or not reason.strip() or len(words) not in (1, 2):
                    raise SystemExit('%s:%d: expected "suite [Class.method]: reason", got %r'
                                     % (path, number, line))
                suite, case = words[0], (words[1] if len(words) == 2 else None)
                table = listing.pending if section else listing.excluded
                table.setdefault(suite, {})[case] = section or reason.strip()
        return listing

    def whole_suite_excluded(self, suite):
        return self.excluded.get(suite, {}).get(None)

    def skips(self, suite):
        return {case: reason for case, reason in self.excluded.get(suite, {}).items() if case}

    def pending_cases(self, suite):
        return self.pending.get(suite, {})


class Result:
    def __init__(self, suite):
        self.suite = suite
        self.status = 'fail'    # 'pass', 'fail', 'timeout', 'crash', 'excluded'
        self.ran = self.failures = self.errors = self.skipped = self.excluded = 0
        self.failing = []       # 'Class.method' of each failing case, in order
        self.unknown_exclusions = []
        self.seconds = 0.0
        self.output = ''
        self.returncode = None
        self.last_started = None

    def counts(self):
        if not self.ran:
            return '-'
        passed = self.ran - len(self.failing) - self.skipped
        text = '%d/%d' % (passed, self.ran)
        if self.skipped:
            text += ' (%d skipped, %d excluded)' % (self.skipped - self.excluded, self.excluded)
        return text


def environment(skips, timeout):
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (REPO, env.get('PYTHONPATH')) if p)
    env['GEVENTC_STDLIB_SKIP'] = json.dumps(skips)
    env.setdefault('PYTHONFAULTHANDLER', '1')
    # Before the runner kills it, the suite prints where every thread is.
    env['GEVENTC_STDLIB_TIMEOUT'] = str(timeout)
    env.pop('PYTHONSAFEPATH', None)
    return env


_STARTED = re.compile(r'^(\w+) \(([\w.]+)\)(?: \S.*)? \.\.\. ?', re.M)


def run_suite(suite, listing, timeout):
    result = Result(suite)
    reason = listing.whole_suite_excluded(suite)
    if reason:
        result.status = 'excluded'
        result.output = reason
        return result
    skips = listing.skips(suite)
    result.excluded = len(skips)
    impl = os.environ.get('GEVENTC_STDLIB_IMPL', 'geventc')
    workdir = tempfile.mkdtemp(prefix='stdlib-%s-' % suite)
    result_path = os.path.join(workdir, 'result.json')
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, '-u', '-m', impl + '.monkey', SUITE_MAIN, suite, result_path, '-v'],
        cwd=workdir, env=environment(skips, timeout), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        result.status = 'timeout'
    else:
        result.returncode = proc.returncode
        if proc.returncode < 0:
            result.status = 'crash'
    finally:
        # Whatever the suite started and left behind goes with it.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    result.seconds = time.monotonic() - start
    result.output = out.decode('utf-8', 'replace')
    started = _STARTED.findall(result.output)
    if started:
        case, test_id = started[-1]
        result.last_started = '%s.%s' % (test_id.split('.')[-2], case)
    try:
        with open(result_path) as f:
            outcome = json.load(f)
    except (OSError, ValueError):
        outcome = None
        if result.status == 'fail':
            result.status = 'crash'     # exited without a result: at import, or at exit
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if outcome:
        result.ran = outcome['ran']
        result.failures, result.errors = outcome['failures'], outcome['errors']
        result.skipped = outcome['skipped']
        result.failing = outcome['failing']
        result.unknown_exclusions = outcome['unknown_exclusions']
        if result.status == 'fail' and proc.returncode == 0:
            result.status = 'pass'
        elif result.status == 'timeout':
            result.status = 'hung at exit'
    return result


def judge(result, listing):
    """(mark, unexpected failures, pending cases that passed)."""
    if result.status == 'excluded':
        return 'excluded', [], []
    pending = listing.pending_cases(result.suite)
    if result.status in ('timeout', 'crash', 'hung at exit'):
        if None in pending:
            return 'pending', [], []
        return result.status.upper(), [result.status], []
    if None in pending:
        return ('XPASS' if result.status == 'pass' else 'pending'), [], (['(whole suite)'] if result.status == 'pass' else [])
    unexpected = [c for c in result.failing if c not in pending]
    passed_now = [c for c in pending if c not in result.failing]
    if unexpected:
        return 'FAIL', unexpected, passed_now
    if result.failing:
        return 'pending', [], passed_now
    return 'pass', [], passed_now


def describe(result, unexpected):
    if result.status == 'excluded':
        return result.output
    if result.status in ('timeout', 'hung at exit'):
        return '%s (last started: %s)' % (result.status, result.last_started or 'none')
    if result.status == 'crash':
        if result.returncode is not None and result.returncode < 0:
            try:
                return 'killed by %s' % signal.Signals(-result.returncode).name
            except ValueError:
                return 'killed by signal %d' % -result.returncode
        lines = [l for l in result.output.strip().splitlines() if l.strip()]
        return 'no result: ' + (lines[-1][:100] if lines else 'exit %s' % result.returncode)
    shown = unexpected or result.failing
    if shown:
        more = len(shown) - 3
        return ', '.join(shown[:3]) + (' (+%d more)' % more if more > 0 else '')
    return ''


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('suites', nargs='*', help='test_x suite names (default: %d of them)' % len(SUITES))
    parser.add_argument('-j', '--jobs', type=int, default=2)
    parser.add_argument('--timeout', type=float, default=None,
                        help='seconds per suite (default %d, more for the slow ones)' % DEFAULT_TIMEOUT)
    parser.add_argument('--logs', help='folder to write each suite\'s output to')
    parser.add_argument('-v', '--verbose', action='store_true',
                        help='print the end of the output of every failing suite')
    args = parser.parse_args(argv)

    try:
        import test.support  # noqa: F401
    except ImportError:
        print('stdlib suite: this Python has no test package (Debian: apt install libpython3.11-testsuite)')
        return 2
    listing = Listing.read()
    suites = args.suites or SUITES
    impl = os.environ.get('GEVENTC_STDLIB_IMPL', 'geventc')
    def timeout_of(suite):
        return args.timeout or TIMEOUTS.get(suite, DEFAULT_TIMEOUT)
    print('stdlib suite: %d CPython %s suites under %s.monkey.patch_all(), %d at a time, %ds each at most'
          % (len(suites), '.'.join(map(str, sys.version_info[:3])), impl, args.jobs,
             max(timeout_of(s) for s in suites)),
          flush=True)
    started = time.monotonic()
    # The longest first, so the two slowest do not end up one after the other.
    order = sorted(suites, key=lambda s: s not in ('test_socket', 'test_subprocess', 'test_signal'))
    if args.logs:
        os.makedirs(args.logs, exist_ok=True)

    def run_and_log(suite):
        result = run_suite(suite, listing, timeout_of(suite))
        if args.logs:
            # Written as each suite ends, to be read while the others run.
            with open(os.path.join(args.logs, suite + '.log'), 'w') as f:
                f.write(result.output)
        return result

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {s: pool.submit(run_and_log, s) for s in order}
        results = [futures[s].result() for s in suites]

    width = max(len(s) for s in suites)
    failed, xpassed = [], []
    print()
    print('%-*s  %-8s %6s  %-30s %s' % (width, 'suite', 'result', 'secs', 'cases passed', 'failing cases'))
    for r in results:
        mark, unexpected, passed_now = judge(r, listing)
        if unexpected:
            failed.append((r, unexpected))
        if passed_now:
            xpassed.append((r, passed_now))
        print('%-*s  %-8s %6.1f  %-30s %s' % (width, r.suite, mark, r.seconds, r.counts(),
                                               describe(r, unexpected)))
    if args.verbose:
        for r, _ in failed:
            print('\n===== %s (%s) =====' % (r.suite, r.status))
            print(r.output[-8000:])
    print()
    excluded = sum(r.excluded for r in results)
    print('stdlib suite: %.0f s; %d cases excluded, %d pending (tests/stdlib_suite/excluded.txt)'
          % (time.monotonic() - started, excluded,
             sum(len(listing.pending_cases(r.suite)) for r in results)))
    for r, cases in xpassed:
        print('stdlib suite: %s: pending cases pass now, remove them from excluded.txt: %s'
              % (r.suite, ', '.join(cases)))
    for r in results:
        if r.unknown_exclusions:
            # A note only: another 3.11.x (Debian's) may lack a case this one has.
            print('stdlib suite: %s: excluded.txt names cases this Python does not have: %s'
                  % (r.suite, ', '.join(r.unknown_exclusions)))
    for r, unexpected in failed:
        print('stdlib suite: %s: unexpected %s' % (r.suite, ', '.join(unexpected)))
    passed = sum(1 for r in results if r.status == 'pass' and not r.failing)
    print('%d passed, %d failed' % (passed, len(failed)))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
