"""The benchmark harness shared by every benchmark: registry, timing, warm-up, JSON.

A benchmark is a function ``f(n, m)`` registered with ``@benchmark(...)``.  It
does ``n`` logical operations and wraps the part to be measured in
``with m.timing():`` (set-up and tear-down stay outside).  Benchmarks that
measure something else than elapsed time (memory, a time measured in a child
process) call ``m.record(value)`` instead.  The harness divides by ``n``, so
every result is "per operation".

Optional features are looked up inside ``with feature():`` -- an ImportError or
AttributeError there means "this implementation does not have it", and the
result is reported as ``n/a`` rather than as an error.

Run protocol for one process (see run_benchmark):
    1 warm-up call with the benchmark's warm-up size (not measured),
    ``inner`` measured calls with size n; the per-op value of each is reported,
    and the process's value is the minimum of them (the least disturbed run).
"""
import contextlib
import gc
import json
import time
from dataclasses import dataclass

REGISTRY = {}

#: --quick measures each process at most this many times.
QUICK_MAX_INNER = 2


class Unavailable(Exception):
    """The implementation under test lacks a feature the benchmark needs."""


@contextlib.contextmanager
def feature():
    """Turn ImportError/AttributeError raised in the block into Unavailable."""
    try:
        yield
    except (ImportError, AttributeError) as exc:
        raise Unavailable('%s: %s' % (type(exc).__name__, exc)) from exc


class Measure:
    """Collects what one call of a benchmark measured.

    ``marker``: called right before and right after the timed section.  The
    callgrind mode uses os.getppid, whose libc function triggers a counter
    dump (valgrind --dump-before=getppid), so the instructions of exactly the
    timed section land in a dump of their own.
    """

    def __init__(self, marker=None):
        self.value = None
        self.marker = marker

    @contextlib.contextmanager
    def timing(self):
        # Start every measured section with generation 0 empty: otherwise
        # whether a collection falls inside a short section depends on how
        # many objects happened to be allocated before it (a few hundred
        # thousand instructions, +18% on fileobject_pipe_64k's CI workload).
        gc.collect()
        if self.marker:
            self.marker()
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        if self.marker:
            self.marker()
        self.record(elapsed)

    def record(self, value):
        if self.value is not None:
            raise RuntimeError('a benchmark must measure exactly one section')
        self.value = value


@dataclass
class Benchmark:
    name: str
    func: object
    title: str
    #: workload per size name: the ``n`` passed to func.
    sizes: dict
    #: what n counts ("sleep(0)", "greenlet", ...): the result is per one of these.
    op: str
    #: 's' (seconds per op) or 'B' (bytes per op).
    unit: str = 's'
    #: measured calls per process (memory benchmarks must use 1).
    inner: int = 3
    #: warm-up size as a fraction of n (at least 1).
    warmup: float = 0.1
    #: part of the CI (callgrind) subset.
    ci: bool = False

    def n_for(self, size):
        return self.sizes[size]

    def inner_for(self, size):
        """Measured calls per process: fewer for --quick."""
        return min(self.inner, QUICK_MAX_INNER) if size == 'quick' else self.inner

    def warmup_n(self, n):
        return max(1, int(n * self.warmup))


def benchmark(name, *, title, op, default, quick=None, ci=None, **kwargs):
    """Register ``f(n, m)`` as benchmark ``name``.

    ``default``/``quick``/``ci`` are the workload sizes (n) for the normal run,
    the ``--quick`` run and the callgrind CI run.  ``ci=None`` keeps the
    benchmark out of the CI subset.
    """
    def register(func):
        sizes = {'default': default,
                 'quick': quick if quick is not None else max(1, default // 5)}
        if ci is not None:
            sizes['ci'] = ci
        if name in REGISTRY:
            raise ValueError('duplicate benchmark %r' % name)
        REGISTRY[name] = Benchmark(name=name, func=func, title=title, op=op,
                                   sizes=sizes, ci=ci is not None, **kwargs)
        return func
    return register


def measure_once(bench, n, marker=None):
    m = Measure(marker)
    bench.func(n, m)
    if m.value is None:
        raise RuntimeError('benchmark %s measured nothing' % bench.name)
    return m.value / n


def run_benchmark(bench, n, inner=None, warmup_n=None, marker=None):
    """Warm up, then measure ``inner`` times; return a JSON-able result dict.

    ``warmup_n``: size of the warm-up call (None: the benchmark's fraction of
    n; 0: no warm-up).  ``marker``: see Measure (measured calls only).
    """
    inner = bench.inner if inner is None else inner
    warmup_n = bench.warmup_n(n) if warmup_n is None else warmup_n
    if warmup_n > 0:
        measure_once(bench, warmup_n)
    samples = [measure_once(bench, n, marker) for _ in range(inner)]
    return {'status': 'ok', 'value': min(samples), 'samples': samples,
            'n': n, 'unit': bench.unit, 'op': bench.op}


def emit(result):
    """Print the machine-readable result: one JSON object on the last line."""
    print(json.dumps(result, sort_keys=True), flush=True)
