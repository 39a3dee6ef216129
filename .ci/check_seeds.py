"""Run ../shared/seed-examples/run.py and fail if an expected scenario fails.

Scenarios not yet listed in .ci/seed-scenarios.txt are reported, not judged.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RUN = os.path.join(ROOT, '..', 'shared', 'seed-examples', 'run.py')


def expected():
    with open(os.path.join(HERE, 'seed-scenarios.txt')) as f:
        return {line.strip() for line in f if line.strip() and not line.startswith('#')}


def main():
    python = os.path.join(ROOT, '.venv', 'bin', 'python')
    proc = subprocess.run([python, RUN, '--python', python, '-v'],
                          capture_output=True, text=True, timeout=900)
    want = expected()
    bad = []
    seen = set()
    for line in proc.stdout.splitlines():
        m = re.match(r'(PASS|FAIL) (\d\d_\w+)\.py', line)
        if not m:
            continue
        status, name = m.groups()
        seen.add(name)
        judged = name in want
        print('%s %s%s' % (status, name, '' if judged else '  (not yet expected)'))
        if judged and status == 'FAIL':
            bad.append(name)
    missing = want - seen
    if bad or missing:
        print(proc.stdout[-4000:])
        print('expected seed scenarios failing: %s; missing: %s' % (sorted(bad), sorted(missing)))
        return 1
    print('all %d expected seed scenarios pass' % len(want))
    return 0


if __name__ == '__main__':
    sys.exit(main())
