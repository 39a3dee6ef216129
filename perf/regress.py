#!/usr/bin/env python
"""CI performance regression check that does not depend on wall-clock noise.

    .venv/bin/python perf/regress.py                    # check geventc against perf/baseline.json
    .venv/bin/python perf/run.py --ci                   # the same
    .venv/bin/python perf/regress.py --threshold 5 -k sleep0
    .venv/bin/python perf/regress.py --update-baseline  # record new counts on purpose
    .venv/bin/python perf/regress.py --impl gevent      # test the workflow against gevent

For each benchmark of the CI subset (registered with a ``ci=`` size), one
fresh worker runs under ``valgrind --tool=callgrind``: warm-up, then one
measured call with the CI workload N.  The worker calls os.getppid() right
before and right after the timed section, and callgrind is started with
``--dump-before=getppid``, so the counters are dumped at both points: the
second dump holds the instructions of exactly the timed section -- no
interpreter start-up, imports, warm-up or set-up.  (--toggle-collect is not
used: it relies on matching calls with returns, which greenlet's stack
switching breaks; a dump only needs the entry into getppid.)

Instruction counts do not depend on the machine's load and repeat from run to
run to within 0.1%.  What does move them by a few percent is an unrelated
change of the process's layout (CPython's type-attribute cache is indexed by
version tags and addresses), so each benchmark runs in --variants (3)
processes with slightly different layouts and the median is kept:

    instructions per op = median over variants of Ir(timed section) / N

It is compared with the committed baseline for the same implementation; any
benchmark more than --threshold percent worse fails the check (exit 1), and
improvements are listed so the baseline can be lowered on purpose.

Memory benchmarks of the CI subset (unit bytes: peak RSS growth per
operation, e.g. per echo connection) run without valgrind, in --variants
plain processes, median kept, and are compared against the baseline's
``memory`` entries with --memory-threshold: RSS is almost as repeatable as
instruction counts (within 0.5% here), and what it guards against -- a
buffer held by every waiting greenlet -- multiplies it.

Exit status: 0 ok, 1 regression / error / benchmark lost, 2 usage problem
(no valgrind, no baseline for this implementation, ...).
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import _launch

DEFAULT_BASELINE = os.path.join(_launch.PERF_DIR, 'baseline.json')
VALGRIND_OPTIONS = ('--tool=callgrind', '--dump-line=no', '--dump-instr=no',
                    '--compress-strings=no', '--compress-pos=no')
FORMAT = 1


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--impl', choices=_launch.IMPLS, default='geventc',
                   help="implementation to measure (default geventc; 'gevent' uses the "
                   'import alias and the baseline\'s gevent section)')
    p.add_argument('--threshold', type=float, default=10.0, metavar='PERCENT',
                   help='fail when instructions/op grew by more than this (default %(default)s)')
    p.add_argument('--memory-threshold', type=float, default=15.0, metavar='PERCENT',
                   help='fail when a memory benchmark\'s bytes/op grew by more than this '
                   '(default %(default)s)')
    p.add_argument('--improvement', type=float, default=3.0, metavar='PERCENT',
                   help='report an improvement when instructions/op shrank by more than '
                   'this (default %(default)s)')
    p.add_argument('--baseline', default=DEFAULT_BASELINE, metavar='FILE',
                   help='default: %(default)s')
    p.add_argument('--update-baseline', action='store_true',
                   help="write this run's counts into the baseline (this implementation's "
                   'section, these benchmarks); exit 0 unless something failed to run')
    p.add_argument('-k', dest='patterns', action='append', metavar='PATTERN',
                   help='only CI benchmarks matching PATTERN (substring or glob)')
    p.add_argument('--variants', type=int, default=3, metavar='K',
                   help='layout variants per benchmark; the median counts '
                   '(default %(default)s; see _worker.perturb_layout)')
    p.add_argument('--jobs', type=int, default=os.cpu_count() or 1,
                   help='callgrind processes at once (default: cores = %(default)s)')
    p.add_argument('--timeout', type=float, default=600,
                   help='seconds per callgrind process (default %(default)s)')
    p.add_argument('--valgrind', default='valgrind', help='valgrind executable')
    p.add_argument('--json', metavar='FILE', help='also write the measured counts here')
    return p.parse_args(argv)


# --------------------------------------------------------------------------
# measuring

MARKER = 'getppid'   # the libc function behind os.getppid(): see _worker --callgrind-marker


class Metric:
    """What a CI benchmark is checked by: where its baseline lives, how it is
    named in tables, which threshold applies."""

    def __init__(self, section, field, label, unit, threshold):
        self.section = section        # key in a baseline implementation section
        self.field = field            # per-op key in an entry
        self.label = label            # table header unit
        self.unit = unit              # in sentences
        self.threshold = threshold    # the args attribute with the limit

    def limit(self, args):
        return getattr(args, self.threshold)


INSTRUCTIONS = Metric('benchmarks', 'ir_per_op', 'Ir/op', 'instructions/op', 'threshold')
MEMORY = Metric('memory', 'bytes_per_op', 'B/op', 'bytes/op', 'memory_threshold')


def metric_of(bench):
    return MEMORY if bench['unit'] == 'B' else INSTRUCTIONS


def ci_workload(bench):
    n = bench['sizes']['ci']
    return n, max(1, int(n * bench['warmup']))


def callgrind_command(bench, variant, impl, valgrind, outfile):
    n, warmup_n = ci_workload(bench)
    worker = _launch.worker_command(impl, bench['name'], n=n, inner=1, warmup_n=warmup_n,
                                    callgrind_marker=True, layout_variant=variant)
    return [valgrind, *VALGRIND_OPTIONS, '--dump-before=' + MARKER,
            '--callgrind-out-file=' + outfile] + worker


def read_total_instructions(path):
    with open(path) as f:
        for line in f:
            if line.startswith(('totals:', 'summary:')):
                return int(line.split()[1])
    raise ValueError('no totals in %s' % path)


def section_instructions(outfile):
    """Instructions between the two markers: callgrind's 2nd dump (OUT.2).

    OUT.1 is everything before the first marker, OUT the rest after the
    second.  Any other dump means something else called getppid().
    """
    parts = sorted(f for f in os.listdir(os.path.dirname(outfile))
                   if f.startswith(os.path.basename(outfile) + '.'))
    expected = [os.path.basename(outfile) + suffix for suffix in ('.1', '.2')]
    if parts != expected:
        raise ValueError('expected dumps %s, got %s: getppid() called outside the '
                         'markers?' % (expected, parts))
    return read_total_instructions(outfile + '.2')


def measure_variant(bench, variant, args, workdir):
    """One run: {'status': 'ok', 'per_op': ...} or a failure."""
    if metric_of(bench) is MEMORY:
        return measure_memory(bench, variant, args)
    outfile = os.path.join(workdir, '%s-%d' % (bench['name'], variant), 'callgrind.out')
    os.makedirs(os.path.dirname(outfile))
    cmd = callgrind_command(bench, variant, args.impl, args.valgrind, outfile)
    result = _launch.run_worker(cmd, timeout=args.timeout)
    if result.get('status') != 'ok':
        return {'status': result.get('status'), 'reason': result.get('reason', '')}
    try:
        return {'status': 'ok', 'per_op': section_instructions(outfile) / ci_workload(bench)[0]}
    except (OSError, ValueError) as exc:
        return {'status': 'error', 'reason': 'callgrind output: %s' % exc}


def measure_memory(bench, variant, args):
    """A memory benchmark in a plain process (valgrind would change the heap)."""
    n, warmup_n = ci_workload(bench)
    cmd = _launch.worker_command(args.impl, bench['name'], n=n, inner=1, warmup_n=warmup_n,
                                 layout_variant=variant)
    result = _launch.run_worker(cmd, timeout=args.timeout)
    if result.get('status') != 'ok':
        return {'status': result.get('status'), 'reason': result.get('reason', '')}
    return {'status': 'ok', 'per_op': result['value']}


def combine(bench, runs):
    """Median per-op value over the variants of one benchmark."""
    for run in runs:
        if run['status'] != 'ok':
            return run
    per_op = [run['per_op'] for run in runs]
    metric = metric_of(bench)
    return {'status': 'ok', 'n': ci_workload(bench)[0], metric.field: round(statistics.median(per_op), 1),
            'variants': [round(x, 1) for x in per_op]}


def measure_all(benchmarks, args):
    variants = range(max(1, args.variants))
    with tempfile.TemporaryDirectory(prefix='geventc-callgrind-') as workdir, \
            concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [[pool.submit(measure_variant, b, v, args, workdir) for v in variants]
                   for b in benchmarks]
        measured = {}
        for bench, runs in zip(benchmarks, futures):
            measured[bench['name']] = combine(bench, [f.result() for f in runs])
            measured[bench['name']]['metric'] = metric_of(bench).section
            print('measured %-26s %s' % (bench['name'], describe(measured[bench['name']])),
                  file=sys.stderr, flush=True)
    return measured


def describe(m):
    if m['status'] == 'ok':
        metric = METRICS[m['metric']]
        return '%.0f %s (variants: %s)' % (
            m[metric.field], metric.unit, ' '.join('%.0f' % x for x in m['variants']))
    return '%s: %s' % (m['status'], m.get('reason', ''))


METRICS = {m.section: m for m in (INSTRUCTIONS, MEMORY)}


# --------------------------------------------------------------------------
# comparing

def verdict(current, base, args):
    """(status, change) for one benchmark; change is the relative growth or None."""
    if current['status'] == 'n/a':
        return ('LOST (was measured, now n/a)' if base else 'n/a'), None
    if current['status'] != 'ok':
        return 'ERROR', None
    if not base:
        return 'new (no baseline)', None
    metric = METRICS[current['metric']]
    change = current[metric.field] / base[metric.field] - 1.0
    if change * 100 > metric.limit(args):
        return 'REGRESSION', change
    if change * 100 < -args.improvement:
        return 'improved', change
    return 'ok', change


FAILING = ('REGRESSION', 'ERROR', 'LOST')


def compare(measured, section, reference, args):
    rows = []
    for name, current in measured.items():
        metric = METRICS[current['metric']]
        base = section.get(metric.section, {}).get(name)
        status, change = verdict(current, base, args)
        ref = reference.get(metric.section, {}).get(name) if reference else None
        rows.append({'name': name, 'status': status, 'change': change, 'metric': metric.section,
                     'current': current.get(metric.field),
                     'baseline': base[metric.field] if base else None,
                     'vs_gevent': (current[metric.field] / ref[metric.field]
                                   if ref and current['status'] == 'ok' else None),
                     'workload_changed': bool(base and current.get('n') and
                                              base.get('n') != current.get('n')),
                     'reason': current.get('reason', '')})
    return rows


def fmt(value, pattern):
    return pattern % value if value is not None else '-'


def print_tables(rows, args):
    for metric in (INSTRUCTIONS, MEMORY):
        chosen = [r for r in rows if r['metric'] == metric.section]
        if chosen:
            if metric is MEMORY:
                print('\nMemory (plain processes, not callgrind):')
            print_table(chosen, metric, args)


def print_table(rows, metric, args):
    header = ('benchmark', 'baseline %s' % metric.label, 'now %s' % metric.label, 'change',
              'vs gevent', 'status')
    lines = [(r['name'], fmt(r['baseline'], '%.0f'), fmt(r['current'], '%.0f'),
              fmt(r['change'] and r['change'] * 100, '%+.1f%%'),
              fmt(r['vs_gevent'], '%.2f'),
              r['status'] + (' (workload changed)' if r['workload_changed'] else ''))
             for r in rows]
    widths = [max(len(x[i]) for x in [header] + lines) for i in range(len(header))]
    for line in [header, tuple('-' * w for w in widths)] + lines:
        print('  '.join(c.ljust(w) if i in (0, 5) else c.rjust(w)
                        for i, (c, w) in enumerate(zip(line, widths))).rstrip())
    print('(threshold +%g%%, improvements below -%g%%; "vs gevent": %s '
          'relative to the baseline\'s gevent section)' % (metric.limit(args), args.improvement,
                                                           metric.unit))


def print_summary(rows):
    for title, keep in (('Improvements', lambda r: r['status'] == 'improved'),
                        ('Regressions', lambda r: r['status'] == 'REGRESSION'),
                        ('Failures', lambda r: r['status'].startswith(('ERROR', 'LOST')))):
        chosen = [r for r in rows if keep(r)]
        if chosen:
            print('\n%s:' % title)
            for r in chosen:
                detail = ('%+.1f%% %s' % (r['change'] * 100, METRICS[r['metric']].unit)
                          if r['change'] is not None else r['reason'] or r['status'])
                print('  %s: %s' % (r['name'], detail))


# --------------------------------------------------------------------------
# the baseline file

def load_baseline(path):
    if not os.path.exists(path):
        return {'format': FORMAT, 'impls': {}}
    with open(path) as f:
        data = json.load(f)
    if data.get('format') != FORMAT:
        raise SystemExit('%s: unknown baseline format %r' % (path, data.get('format')))
    return data


def environment(impl, valgrind):
    version = subprocess.run([valgrind, '--version'], capture_output=True, text=True).stdout
    impl_version = _launch.module_version(impl, 'geventc') or '?'
    return {'python': '%s, %s' % (platform.python_version(), platform.python_compiler()),
            'greenlet': (_launch.module_version('gevent', 'greenlet') or '?').split()[0],
            'implementation': ('gevent %s (alias)' if impl == 'gevent' else 'geventc %s')
            % impl_version.split()[0],
            'valgrind': version.strip(),
            'machine': platform.machine()}


def warn_environment(section, env):
    recorded = section.get('environment', {})
    for key, value in env.items():
        if recorded.get(key) not in (None, value):
            print('warning: baseline was recorded with %s %s, this run uses %s: counts '
                  'may shift for that reason alone' % (key, recorded[key], value))


def update_baseline(path, data, impl, measured, env):
    section = data['impls'].setdefault(impl, {'benchmarks': {}})
    for name, m in measured.items():
        if m['status'] == 'ok':
            metric = METRICS[m['metric']]
            section.setdefault(metric.section, {})[name] = {
                'n': m['n'], metric.field: m[metric.field], 'variants': m['variants']}
    section['environment'] = env
    section['updated'] = datetime.datetime.now().astimezone().isoformat(timespec='seconds')
    data['note'] = ('Callgrind instructions per operation, written by perf/regress.py '
                    '--update-baseline; see perf/README.md.')
    with open(path, 'w') as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write('\n')
    print('updated the %s section of %s (%d benchmarks)' % (
        impl, path, sum(m['status'] == 'ok' for m in measured.values())))


# --------------------------------------------------------------------------

def preflight(args):
    if shutil.which(args.valgrind) is None:
        print('valgrind not found (%s): install it to run the regression check' % args.valgrind)
        sys.exit(2)
    problem = _launch.check_importable(args.impl)
    if problem:
        print('%s cannot be imported:\n%s' % (args.impl, problem))
        sys.exit(2)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    preflight(args)
    benchmarks = [b for b in _launch.select(_launch.list_benchmarks(), args.patterns) if b['ci']]
    if not benchmarks:
        print('no CI benchmark matches %s' % args.patterns)
        return 2
    data = load_baseline(args.baseline)
    section = data['impls'].get(args.impl)
    if section is None and not args.update_baseline:
        print('%s has no baseline for %s: create it with\n  %s perf/regress.py --impl %s '
              '--update-baseline' % (args.baseline, args.impl, sys.executable, args.impl))
        return 2
    env = environment(args.impl, args.valgrind)
    warn_environment(section or {}, env)

    started = time.monotonic()
    measured = measure_all(benchmarks, args)
    elapsed = time.monotonic() - started
    reference = data['impls'].get('gevent') if args.impl != 'gevent' else None
    rows = compare(measured, section or {}, reference, args)
    print()
    print_tables(rows, args)
    print_summary(rows)
    memory = sum(metric_of(b) is MEMORY for b in benchmarks)
    print('\n%d benchmarks under callgrind, %d memory benchmarks, in %.0f s'
          % (len(benchmarks) - memory, memory, elapsed))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'impl': args.impl, 'environment': env, 'measured': measured,
                       'rows': rows}, f, indent=1, sort_keys=True)
    errors = [r for r in rows if r['status'].startswith(('ERROR',))]
    if args.update_baseline:
        update_baseline(args.baseline, data, args.impl, measured, env)
        return 1 if errors else 0
    failed = [r for r in rows if r['status'].startswith(FAILING)]
    if failed:
        print('\nFAILED: %s' % ', '.join(r['name'] for r in failed))
        print('If a slowdown is intended, record it with: perf/regress.py --update-baseline')
        return 1
    print('\nOK: no benchmark more than %g%% (memory: %g%%) worse than the baseline'
          % (args.threshold, args.memory_threshold))
    return 0


if __name__ == '__main__':
    sys.exit(main())
