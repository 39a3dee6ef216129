"""Start-up cost: ``import geventc`` and ``patch_all()``, geventc vs gevent.

Every sample is a fresh interpreter that times one statement with
``time.perf_counter()`` around it, so the interpreter's own start-up (and
``site``, which both sides pay alike) is left out. The runs of the two
implementations alternate (ABBA) so that a drifting machine affects both
columns the same; the table shows medians, the min-max spread and the ratio
geventc median / gevent median, against issue 12's targets.

    .venv/bin/python perf/import_time.py               # 21 runs per cell
    .venv/bin/python perf/import_time.py --runs 51
    .venv/bin/python perf/import_time.py --breakdown   # plus a -X importtime tree
    .venv/bin/python perf/import_time.py --json out.json

geventc is imported from this repository (its root goes first on the child's
``PYTHONPATH``); gevent from the venv. The children may write bytecode
caches (``PYTHONDONTWRITEBYTECODE`` is dropped, and an uncounted warm-up run
per cell writes them) so that a checkout is measured as an installed package
would run, as gevent's is. ``patch_all`` is ``n/a`` for geventc
while ``geventc.monkey`` has no ``patch_all``.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Where geventc is imported from (--geventc-root: another checkout, to compare).
GEVENTC_ROOT = REPO_ROOT

# name, title, statement per implementation, target ratio (issue 12, Speed)
SCENARIOS = [
    ('import', 'import X', {
        'geventc': 'import geventc',
        'gevent': 'import gevent',
    }, 0.5),
    ('patch_all', 'import X; X.monkey.patch_all()', {
        'geventc': 'import geventc.monkey; geventc.monkey.patch_all()',
        'gevent': 'import gevent.monkey; gevent.monkey.patch_all()',
    }, 0.6),
]

IMPLS = ('geventc', 'gevent')

# The marker lets --breakdown drop what the interpreter imported before the
# timed statement; stderr is flushed so it lands between importtime's lines.
CHILD = '''\
import sys, time
sys.stderr.write('@@timed\\n'); sys.stderr.flush()
start = time.perf_counter()
{statement}
elapsed = time.perf_counter() - start
sys.stdout.write(repr(elapsed) + '\\n')
'''

PATCH_ALL_PROBE = "import geventc.monkey; print(hasattr(geventc.monkey, 'patch_all'))"


def child_env(impl):
    env = dict(os.environ)
    if impl == 'geventc':
        env['PYTHONPATH'] = os.pathsep.join(filter(None, [GEVENTC_ROOT, env.get('PYTHONPATH')]))
    else:
        # A PYTHONPATH naming a geventc checkout must not matter to gevent.
        env.pop('PYTHONPATH', None)
    # The gevent alias or a hub set up by the environment would change what is imported.
    for var in ('GEVENT_LOOP', 'GEVENT_RESOLVER', 'GEVENTC_ALIAS'):
        env.pop(var, None)
    # An installed package has its bytecode compiled (gevent's, in the venv,
    # does); without this a checkout would compile every module on every run.
    env.pop('PYTHONDONTWRITEBYTECODE', None)
    return env


def run_child(impl, statement, extra_args=()):
    proc = subprocess.run([sys.executable, *extra_args, '-c', CHILD.format(statement=statement)],
                          capture_output=True, text=True, env=child_env(impl), timeout=120,
                          cwd='/')
    if proc.returncode != 0:
        raise RuntimeError('%s: %r failed:\n%s' % (impl, statement, proc.stderr.strip()[-2000:]))
    return float(proc.stdout.strip().splitlines()[-1]), proc.stderr


def unavailable(scenario, impl):
    """Why *impl* cannot run *scenario* yet, or None."""
    if scenario == 'patch_all' and impl == 'geventc':
        proc = subprocess.run([sys.executable, '-c', PATCH_ALL_PROBE], capture_output=True,
                              text=True, env=child_env(impl), timeout=60, cwd='/')
        if proc.stdout.strip() != 'True':
            return 'geventc.monkey has no patch_all yet'
    return None


def measure(scenario, statements, runs):
    samples = {impl: [] for impl in IMPLS}
    missing = {impl: unavailable(scenario, impl) for impl in IMPLS}
    for impl in IMPLS:  # warm-up, not counted: writes the bytecode caches
        if missing[impl] is None:
            run_child(impl, statements[impl])
    order = list(IMPLS)
    for _ in range(runs):
        for impl in order:
            if missing[impl] is None:
                samples[impl].append(run_child(impl, statements[impl])[0])
        order.reverse()
    return samples, missing


# -- -X importtime ---------------------------------------------------------------

def importtime_tree(impl, statement):
    """[(depth, self_us, cumulative_us, module)] of the timed statement, in
    the order -X importtime reports (children before their parent)."""
    _, err = run_child(impl, statement, extra_args=('-X', 'importtime'))
    rows = []
    started = False
    for line in err.splitlines():
        if line == '@@timed':
            started = True
            continue
        if not started or not line.startswith('import time:'):
            continue
        fields = line[len('import time:'):].split('|')
        try:
            self_us, cumulative = int(fields[0]), int(fields[1])
        except ValueError:  # the header line
            continue
        name = fields[2]
        stripped = name.lstrip(' ')
        depth = (len(name) - len(stripped) - 1) // 2
        rows.append((depth, self_us, cumulative, stripped))
    return rows


def print_breakdown(impl, statement, threshold_us, top):
    rows = importtime_tree(impl, statement)
    total = sum(r[2] for r in rows if r[0] == 0)
    print('\n%s: %s  (-X importtime, sum of top-level cumulative: %.1f ms, %d modules)'
          % (impl, statement, total / 1000, len(rows)))
    print('  tree (cumulative >= %.1f ms):' % (threshold_us / 1000))
    # importtime prints a parent after its children; reverse to read top-down.
    for depth, self_us, cumulative, name in reversed(rows):
        if cumulative >= threshold_us:
            print('    %8.2f ms %8.2f self  %s%s' % (cumulative / 1000, self_us / 1000,
                                                    '  ' * depth, name))
    print('  top %d by self time:' % top)
    for depth, self_us, cumulative, name in sorted(rows, key=lambda r: -r[1])[:top]:
        print('    %8.2f ms  %s' % (self_us / 1000, name))


# -- the table ---------------------------------------------------------------------

def ms(seconds):
    return '%.1f' % (seconds * 1000)


def summarize(samples):
    if not samples:
        return None
    return {'median': statistics.median(samples), 'min': min(samples), 'max': max(samples),
            'runs': len(samples), 'samples': samples}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--runs', type=int, default=21, help='fresh processes per cell (default 21)')
    parser.add_argument('-k', '--only', choices=[s[0] for s in SCENARIOS], action='append',
                        help='only this scenario (repeatable)')
    parser.add_argument('--breakdown', action='store_true',
                        help='also print a -X importtime tree for each cell')
    parser.add_argument('--threshold', type=float, default=0.5,
                        help='breakdown: show modules whose cumulative time is at least this many ms')
    parser.add_argument('--top', type=int, default=12, help='breakdown: the N largest self times')
    parser.add_argument('--json', metavar='FILE', help='write the samples and summary here')
    parser.add_argument('--geventc-root', metavar='DIR', default=REPO_ROOT,
                        help='import geventc from this checkout (built in place); default: this one')
    args = parser.parse_args(argv)
    global GEVENTC_ROOT
    GEVENTC_ROOT = os.path.abspath(args.geventc_root)
    if args.runs < 1:
        parser.error('--runs must be at least 1')

    results = {}
    header = '%-34s %22s %22s %7s %7s' % ('scenario (fresh process)', 'geventc ms median',
                                          'gevent ms median', 'ratio', 'target')
    lines = []
    for name, title, statements, target in SCENARIOS:
        if args.only and name not in args.only:
            continue
        samples, missing = measure(name, statements, args.runs)
        summary = {impl: summarize(samples[impl]) for impl in IMPLS}
        cells = []
        for impl in IMPLS:
            s = summary[impl]
            cells.append('n/a' if s is None else '%s (%s-%s)' % (ms(s['median']), ms(s['min']),
                                                                 ms(s['max'])))
        if summary['geventc'] and summary['gevent']:
            ratio = summary['geventc']['median'] / summary['gevent']['median']
            ratio_cell = '%.2f%s' % (ratio, '' if ratio <= target else ' !')
        else:
            ratio = None
            ratio_cell = 'n/a'
        lines.append('%-34s %22s %22s %7s %7s' % (title, cells[0], cells[1], ratio_cell,
                                                 '<=%.1f' % target))
        for impl in IMPLS:
            if missing[impl]:
                lines.append('    %s: n/a, %s' % (impl, missing[impl]))
        results[name] = {'statements': statements, 'target': target, 'ratio': ratio,
                         'missing': missing, **summary}

    print('%d runs per cell, medians (min-max), ratio = geventc / gevent; "!" misses the target'
          % args.runs)
    print('geventc from %s' % GEVENTC_ROOT)
    print(header)
    for line in lines:
        print(line)

    if args.breakdown:
        for name, title, statements, target in SCENARIOS:
            if name not in results:
                continue
            for impl in IMPLS:
                if not results[name]['missing'][impl]:
                    print_breakdown(impl, statements[impl], args.threshold * 1000, args.top)

    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'runs': args.runs, 'python': sys.version, 'results': results}, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
