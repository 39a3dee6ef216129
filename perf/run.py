#!/usr/bin/env python
"""Run the geventc vs gevent benchmark suite (wall clock).

    .venv/bin/python perf/run.py                      # full run, 5 repetitions
    .venv/bin/python perf/run.py --quick              # smaller workloads, 3 repetitions
    .venv/bin/python perf/run.py -k sleep0,event --reps 9
    .venv/bin/python perf/run.py --markdown perf/results/report.md \\
        --chart perf/results/ratios.png --json perf/results/run.json
    .venv/bin/python perf/run.py --geventc-impl gevent  # self-test: both columns gevent
    .venv/bin/python perf/run.py --ci [...]            # = perf/regress.py [...] (callgrind)

Every measurement is a fresh process (perf/_worker.py).  Repetitions are
interleaved: for each repetition, every benchmark runs on both implementations
back to back, alternating which goes first (ABBA), so slow drifts of a noisy
machine hit both columns alike.  The ratio of the two medians is the result.
"""
import argparse
import os
import sys
import time

import _launch
import report

DEFAULT_JSON = os.path.join(_launch.PERF_DIR, 'results', 'latest.json')


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--reps', type=int, help='fresh processes per benchmark and '
                   'implementation (default 5, --quick: 3)')
    p.add_argument('-k', dest='patterns', action='append', metavar='PATTERN',
                   help='only benchmarks whose name contains PATTERN or matches the glob; '
                   'comma-separated or repeated')
    p.add_argument('--quick', action='store_true',
                   help='smaller workloads, at most 2 measured calls per process, 3 repetitions')
    p.add_argument('--markdown', metavar='FILE', help='write a markdown report')
    p.add_argument('--chart', metavar='FILE.png', help='write a bar chart of the ratios')
    p.add_argument('--json', metavar='FILE', default=DEFAULT_JSON,
                   help='raw results for perf/report.py (default: %(default)s)')
    p.add_argument('--timeout', type=float,
                   help='seconds before a worker is killed (default 180, --quick: 60)')
    p.add_argument('--geventc-impl', choices=_launch.IMPLS, default='geventc',
                   help="what runs in the geventc column; 'gevent' aliases geventc to "
                   'gevent, to test the harness before geventc is built (ratios ~1)')
    p.add_argument('--list', action='store_true', help='list the benchmarks and exit')
    args = p.parse_args(argv)
    args.size = 'quick' if args.quick else 'default'
    args.reps = args.reps or (3 if args.quick else 5)
    args.timeout = args.timeout or (60 if args.quick else 180)
    return args


def measurement_plan(benchmarks, reps):
    """(rep, benchmark) pairs, each with the implementations in ABBA order."""
    for rep in range(reps):
        order = _launch.IMPLS if rep % 2 == 0 else tuple(reversed(_launch.IMPLS))
        for bench in benchmarks:
            yield rep, bench, order


def column_impl(column, args):
    """The implementation a column really runs."""
    return args.geventc_impl if column == 'geventc' else 'gevent'


def measure(bench, column, args):
    cmd = _launch.worker_command(column_impl(column, args), bench['name'],
                                 size=args.size)
    return _launch.run_worker(cmd, timeout=args.timeout)


def short(result):
    if result.get('status') != 'ok':
        return result.get('status')
    factor, name = report.scale_for(result['unit'], result['value'])
    return '%s %s' % (report.number(result['value'], factor), name)


def run_suite(benchmarks, args):
    """Measure everything; Ctrl-C stops early and reports what was measured."""
    runs = {b['name']: {impl: [] for impl in _launch.IMPLS} for b in benchmarks}
    try:
        for rep, bench, order in measurement_plan(benchmarks, args.reps):
            got = {column: measure(bench, column, args) for column in order}
            for column, result in got.items():
                runs[bench['name']][column].append(result)
            print('[%d/%d] %-26s geventc %-12s gevent %s' % (
                rep + 1, args.reps, bench['name'], short(got['geventc']), short(got['gevent'])),
                file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print('interrupted: reporting the measurements done so far', file=sys.stderr)
    return [dict(name=b['name'], title=b['title'], op=b['op'], unit=b['unit'],
                 n=b['sizes'][args.size], runs=runs[b['name']]) for b in benchmarks]


def versions(args):
    found = {'gevent': _launch.module_version('gevent', 'gevent'),
             'greenlet': _launch.module_version('gevent', 'greenlet')}
    if args.geventc_impl == 'geventc':
        found['geventc'] = _launch.module_version('geventc', 'geventc')
    else:
        found['geventc'] = 'aliased to gevent'
    return {k: (v or 'missing').split(' ')[0] for k, v in found.items()}


def preflight(args):
    if args.geventc_impl == 'geventc':
        problem = _launch.check_importable('geventc')
        if problem:
            sys.exit('geventc cannot be imported:\n%s\n\nBuild it first (pip install -e . or '
                     'python setup.py build_ext --inplace), or test the harness with '
                     '--geventc-impl gevent.' % problem)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if '--ci' in argv:
        import regress
        return regress.main([a for a in argv if a != '--ci'])
    args = parse_args(argv)
    benchmarks = _launch.select(_launch.list_benchmarks(), args.patterns)
    if args.list:
        for b in benchmarks:
            print('%-26s %s%s' % (b['name'], b['title'], '  [ci]' if b['ci'] else ''))
        return 0
    if not benchmarks:
        sys.exit('no benchmark matches %s' % args.patterns)
    preflight(args)
    meta = _launch.machine_info()
    started = time.monotonic()
    results = {'benchmarks': run_suite(benchmarks, args)}
    meta.update(mode=args.size, reps=args.reps, duration_s=round(time.monotonic() - started, 1),
                geventc_aliased=args.geventc_impl == 'gevent', versions=versions(args))
    results['meta'] = meta
    print()
    report.write_outputs(results, markdown=args.markdown, chart=args.chart, json_path=args.json)
    print('total %.0f s' % meta['duration_s'])
    return 0


if __name__ == '__main__':
    sys.exit(main())
