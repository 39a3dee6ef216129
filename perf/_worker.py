"""Run one benchmark on one implementation, in this (fresh) process.

    python perf/_worker.py --impl {geventc,gevent} --bench NAME
                           [--size default|quick|ci] [--n N] [--inner K] [--warmup-n W]
                           [--callgrind-marker] [--layout-variant K]
    python perf/_worker.py --impl gevent --list

Prints exactly one JSON object on its last stdout line:
    {"status": "ok", "value": <per op>, "samples": [...], "n": N, "unit": "s"|"B", ...}
    {"status": "n/a", "reason": "..."}     the implementation lacks a feature
    {"status": "error", "reason": "..."}   anything else went wrong (exit code 1)

The runners (run.py, regress.py) start one of these per measurement.
"""
import argparse
import os
import sys
import traceback

import _alias


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--impl', required=True, choices=('geventc', 'gevent'))
    p.add_argument('--bench', help='the benchmark to run')
    p.add_argument('--list', action='store_true',
                   help='print the registry (names, sizes, ...) as JSON and exit')
    p.add_argument('--size', default='default', help='workload size name (default, quick, ci)')
    p.add_argument('--n', type=int, help='override the workload size')
    p.add_argument('--inner', type=int, help='override the number of measured calls')
    p.add_argument('--warmup-n', type=int,
                   help='size of the warm-up call (default: a fraction of n; 0: none)')
    p.add_argument('--callgrind-marker', action='store_true',
                   help='call os.getppid() right before and after each timed section '
                   '(for valgrind --tool=callgrind --dump-before=getppid)')
    p.add_argument('--layout-variant', type=int, default=0, metavar='K',
                   help='perturb type version tags and heap layout by K steps first')
    return p.parse_args(argv)


_LAYOUT_PADDING = []


def perturb_layout(k):
    """Shift CPython's type version tags and the small-object heap by k steps.

    Instruction counts are exactly repeatable for one build, but whether two
    hot names collide in CPython's type-attribute cache depends on version
    tags and addresses, so an unrelated change (a package installed, a file
    edited) can move a benchmark by a few percent.  regress.py measures a few
    variants and takes the median, which such accidents hardly move.
    """
    for i in range(k):
        pad = type('LayoutPad%d' % i, (), {})
        getattr(pad, 'attribute', None)   # assigns the type a version tag
        _LAYOUT_PADDING.append((pad, [object() for _ in range(7)]))


def implementation_info(impl):
    """Where geventc* really came from: catches an unbuilt (namespace) package."""
    import geventc
    path = getattr(geventc, '__file__', None)
    if path is None:
        raise RuntimeError('geventc imported as a namespace package (%s): '
                           'it is not built/installed' % list(getattr(geventc, '__path__', [])))
    return {'impl': impl, 'module_file': path,
            'version': getattr(geventc, '__version__', None),
            'aliased': _alias.is_installed()}


def run(args):
    import _harness
    info = implementation_info(args.impl)
    import benchmarks  # noqa: F401  (fills the registry; imports geventc)
    bench = _harness.REGISTRY.get(args.bench)
    if bench is None:
        raise KeyError('unknown benchmark %r' % args.bench)
    n = args.n if args.n is not None else bench.n_for(args.size)
    inner = args.inner if args.inner is not None else bench.inner_for(args.size)
    marker = os.getppid if args.callgrind_marker else None
    result = _harness.run_benchmark(bench, n, inner=inner,
                                    warmup_n=args.warmup_n, marker=marker)
    result.update(info)
    return result


def list_registry():
    import _harness
    import benchmarks  # noqa: F401
    return {'status': 'ok', 'benchmarks': [
        {'name': b.name, 'title': b.title, 'op': b.op, 'unit': b.unit,
         'sizes': b.sizes, 'inner': b.inner, 'warmup': b.warmup, 'ci': b.ci}
        for b in _harness.REGISTRY.values()]}


def main(argv=None):
    args = parse_args(argv)
    perturb_layout(args.layout_variant)
    _alias.select(args.impl)
    import _harness
    if args.list:
        _harness.emit(list_registry())
        return 0
    try:
        result = run(args)
        code = 0
    except _harness.Unavailable as exc:
        result, code = {'status': 'n/a', 'reason': str(exc)}, 0
    except BaseException as exc:  # report anything, including SystemExit from a benchmark
        traceback.print_exc()
        result = {'status': 'error', 'reason': '%s: %s' % (type(exc).__name__, exc)}
        code = 1
    result.update(bench=args.bench, pid=os.getpid())
    _harness.emit(result)
    return code


if __name__ == '__main__':
    sys.exit(main())
