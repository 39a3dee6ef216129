"""One CPython ``test`` suite, run by ``python -m geventc.monkey`` (so patched).

    python -u -m geventc.monkey suite_main.py test_socket RESULT.json [-v]

``GEVENTC_STDLIB_SKIP`` holds a JSON object ``{"Class.method": reason}``: those
cases are reported as skipped instead of run. The outcome (counts and the
ids of failing cases) is written as JSON to RESULT.json for the runner.
"""
import json
import os
import sys
import time
import unittest


def _check_patched():
    # The whole point: a suite that ran unpatched must not look like a pass.
    # (GEVENTC_STDLIB_IMPL=gevent: the runner compares with real gevent.)
    import importlib
    monkey = importlib.import_module(os.environ.get('GEVENTC_STDLIB_IMPL', 'geventc') + '.monkey')
    for name in ('socket', 'select', 'time', 'os', 'subprocess', 'signal', 'ssl'):
        if not monkey.is_module_patched(name):
            raise SystemExit('stdlib suite: %s is not patched: run me through python -m %s'
                             % (name, monkey.__name__))


# Suites that ask for the 'network' resource but use only localhost.
_LOCAL_NETWORK_SUITES = frozenset(['test_socketserver'])


def _configure_support(suite_name):
    """What CPython's regrtest would set up, for a run outside regrtest."""
    from test import support
    # Quiet: several suites print pages when verbose (regrtest's default too).
    support.verbose = 0
    # None would enable every resource, including the external network this
    # machine does not have; 'subprocess' is the one these suites need.
    support.use_resources = ['subprocess']
    if suite_name in _LOCAL_NETWORK_SUITES:
        support.use_resources.append('network')
    support.failfast = False


def _report_before(seconds):
    """Shortly before the runner kills a hung suite, print where every
    thread and greenlet is, from a real thread: the hub may be asleep in
    the loop, and faulthandler alone shows no greenlet."""
    import importlib
    impl = os.environ.get('GEVENTC_STDLIB_IMPL', 'geventc')
    monkey = importlib.import_module(impl + '.monkey')
    util = importlib.import_module(impl + '.util')
    start_thread = monkey.get_original('_thread', 'start_new_thread')
    sleep = monkey.get_original('time', 'sleep')

    def report():
        sleep(seconds)
        sys.stderr.write('\n===== still running after %ds: threads and greenlets =====\n' % seconds)
        try:
            sys.stderr.write('\n'.join(util.format_run_info()) + '\n')
            _print_greenlet_stacks()
        finally:
            import faulthandler
            faulthandler.dump_traceback(all_threads=True)
            sys.stderr.flush()

    start_thread(report, ())


def _print_greenlet_stacks():
    # format_run_info() leaves out the stack of a suspended main greenlet,
    # which is where a hung test case waits.
    import gc
    import traceback
    from greenlet import greenlet
    for glet in gc.get_objects():
        if isinstance(glet, greenlet) and glet.gr_frame is not None:
            sys.stderr.write('--- %r\n%s' % (glet, ''.join(traceback.format_stack(glet.gr_frame))))


def _skipper(reason):
    def skipped(*args, **kwargs):
        raise unittest.SkipTest(reason)
    skipped.__unittest_skip__ = True
    skipped.__unittest_skip_why__ = reason
    return skipped


def case_name(test):
    """'Class.method' for a loaded test case (the key of excluded.txt)."""
    return '%s.%s' % (type(test).__name__, getattr(test, '_testMethodName', test.id()))


def _iter_cases(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _iter_cases(item)
        else:
            yield item


def apply_exclusions(suite, skip):
    """Mark excluded cases skipped, on the instance only: test classes are
    shared by several suites' subclasses, and the key names the exact class."""
    used = set()
    for test in _iter_cases(suite):
        reason = skip.get(case_name(test))
        if reason is not None:
            used.add(case_name(test))
            setattr(test, test._testMethodName, _skipper('excluded under geventc: ' + reason))
    return sorted(set(skip) - used)


class _Recorder(unittest.TextTestResult):
    """Remembers the failing case ids as 'Class.method' for the runner."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.failing = []
        self.durations = []     # (seconds, 'Class.method'), to find the slow cases

    def startTest(self, test):
        self._started_at = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self.durations.append((time.monotonic() - self._started_at, case_name(test)))

    def _note(self, test):
        name = case_name(test) if isinstance(test, unittest.TestCase) else str(test)
        if name not in self.failing:
            self.failing.append(name)

    def addError(self, test, err):
        super().addError(test, err)
        self._note(test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._note(test)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._note(test)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._note(test)


def main():
    suite_name, result_path = sys.argv[1], sys.argv[2]
    verbosity = 2 if '-v' in sys.argv[3:] else 1
    _check_patched()
    _configure_support(suite_name)
    timeout = float(os.environ.get('GEVENTC_STDLIB_TIMEOUT') or 0)
    if timeout > 10:
        _report_before(timeout - 5)
    skip = json.loads(os.environ.get('GEVENTC_STDLIB_SKIP') or '{}')
    outcome = {'ran': 0, 'failures': 0, 'errors': 0, 'skipped': 0, 'failing': [], 'unknown_exclusions': []}
    try:
        suite = unittest.defaultTestLoader.loadTestsFromName('test.' + suite_name)
    except unittest.SkipTest as exc:
        # A module that skips itself at import (a missing platform feature).
        print('suite skipped: %s' % exc)
        outcome['module_skipped'] = str(exc)
        suite = None
    if suite is not None:
        outcome['unknown_exclusions'] = apply_exclusions(suite, skip)
        runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=verbosity, resultclass=_Recorder)
        result = runner.run(suite)
        slowest = sorted(result.durations, reverse=True)[:5]
        print('slowest cases: ' + ', '.join('%s %.1fs' % (name, secs) for secs, name in slowest),
              file=sys.stderr)
        outcome.update(ran=result.testsRun, failures=len(result.failures), errors=len(result.errors),
                       skipped=len(result.skipped), failing=result.failing,
                       unexpected_successes=len(result.unexpectedSuccesses))
    with open(result_path, 'w') as f:
        json.dump(outcome, f)
    sys.stderr.flush()
    ok = not outcome['failing']
    # A normal exit: threading's shutdown and atexit handlers run, so a hang
    # there is seen (the runner reports it as one).
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
