#!/usr/bin/env python
"""Turn a suite run (the JSON written by ``run.py --json``) into a table,
a markdown report and a bar chart of the geventc/gevent ratios.

    .venv/bin/python perf/report.py perf/results/run.json \\
        [--markdown perf/results/report.md] [--chart perf/results/ratios.png]

run.py uses the same functions to report the run it just did.
"""
import argparse
import json
import math
import os
import statistics
import sys
from dataclasses import dataclass

IMPLS = ('geventc', 'gevent')


# --------------------------------------------------------------------------
# summarising

@dataclass
class Cell:
    """What one implementation's column shows for one benchmark."""
    status: str                 # ok | n/a | error | timeout | not run
    median: float = None
    low: float = None
    high: float = None
    succeeded: int = 0
    runs: int = 0
    reason: str = ''

    @property
    def ok(self):
        return self.status == 'ok'


@dataclass
class Row:
    name: str
    title: str
    op: str
    unit: str
    n: int
    cells: dict

    @property
    def ratio(self):
        c, g = self.cells['geventc'], self.cells['gevent']
        return c.median / g.median if c.ok and g.ok and g.median else None

    @property
    def best_ratio(self):
        """min / min: on a noisy machine, a ratio far from ``ratio`` flags noise."""
        c, g = self.cells['geventc'], self.cells['gevent']
        return c.low / g.low if c.ok and g.ok and g.low else None

    @property
    def ratio_range(self):
        """Most pessimistic spread of the ratio: (min c / max g, max c / min g)."""
        c, g = self.cells['geventc'], self.cells['gevent']
        if self.ratio is None or not g.low:
            return None
        return c.low / g.high, c.high / g.low


def summarize_cell(runs):
    if not runs:
        return Cell('not run')   # the run was interrupted before this benchmark
    values = [r['value'] for r in runs if r.get('status') == 'ok']
    failures = [r for r in runs if r.get('status') != 'ok']
    reason = failures[0].get('reason', '') if failures else ''
    if values:
        return Cell('ok', statistics.median(values), min(values), max(values),
                    len(values), len(runs), reason)
    statuses = {r.get('status') for r in failures}
    for status in ('n/a', 'timeout', 'error'):
        if status in statuses:
            return Cell(status, runs=len(runs), reason=reason)
    return Cell('error', runs=len(runs), reason=reason or 'no runs')


def rows_from(results):
    return [Row(b['name'], b['title'], b['op'], b['unit'], b['n'],
                {impl: summarize_cell(b['runs'].get(impl, [])) for impl in IMPLS})
            for b in results['benchmarks']]


# --------------------------------------------------------------------------
# formatting numbers

TIME_SCALES = ((1e-9, 'ns'), (1e-6, 'µs'), (1e-3, 'ms'), (1.0, 's'))
BYTE_SCALES = ((1, 'B'), (1024, 'KiB'), (1024 ** 2, 'MiB'))


def scale_for(unit, reference):
    scales = TIME_SCALES if unit == 's' else BYTE_SCALES
    chosen = scales[0]
    for factor, name in scales:
        if reference is not None and abs(reference) >= factor:
            chosen = (factor, name)
    return chosen


def number(value, factor):
    x = value / factor
    return '%.0f' % x if abs(x) >= 100 else '%.3g' % x


def row_scale(row):
    medians = [c.median for c in row.cells.values() if c.ok]
    return scale_for(row.unit, min(medians) if medians else None)


def cell_texts(row, impl):
    """(median, 'min–max') texts of one cell, in the row's unit."""
    cell = row.cells[impl]
    if not cell.ok:
        return cell.status, ''
    factor, name = row_scale(row)
    median = '%s %s' % (number(cell.median, factor), name)
    if cell.succeeded < cell.runs:
        median += ' (%d/%d ok)' % (cell.succeeded, cell.runs)
    spread = '%s–%s' % (number(cell.low, factor), number(cell.high, factor))
    return median, spread


def ratio_text(row):
    if row.ratio is None:
        statuses = {c.status for c in row.cells.values() if not c.ok}
        return 'n/a' if statuses == {'n/a'} else '/'.join(sorted(statuses))
    return '%.2f' % row.ratio


def table_rows(rows, geventc_label):
    header = ['benchmark', 'per', geventc_label, 'min–max', 'gevent', 'min–max',
              'ratio c/g', 'best c/g']
    body = []
    for row in rows:
        c_med, c_spread = cell_texts(row, 'geventc')
        g_med, g_spread = cell_texts(row, 'gevent')
        best = '%.2f' % row.best_ratio if row.best_ratio else ''
        body.append([row.name, row.op, c_med, c_spread, g_med, g_spread, ratio_text(row), best])
    return header, body


def geventc_label(meta):
    return 'geventc*' if meta.get('geventc_aliased') else 'geventc'


def text_table(rows, meta):
    header, body = table_rows(rows, geventc_label(meta))
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    right = {2, 3, 4, 5, 6, 7}

    def line(cells):
        return '  '.join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    out = [line(header), line(['-' * w for w in widths])] + [line(r) for r in body]
    return '\n'.join(out)


def footnotes(rows, meta):
    notes = []
    if meta.get('geventc_aliased'):
        notes.append('geventc*: this column ran gevent through the import alias '
                     '(harness self-test), so the ratios should be about 1.00.')
    notes.append('Values are medians over %s fresh processes per implementation '
                 '(each process: warm-up, then the best of its measured calls); '
                 'ratio = geventc median / gevent median, below 1.00 means geventc '
                 'is faster (or smaller, for memory); best = geventc min / gevent min, '
                 'far from the ratio when the machine was noisy.' % meta.get('reps', '?'))
    for row in rows:
        for impl in IMPLS:
            cell = row.cells[impl]
            if cell.status != 'not run' and (not cell.ok or cell.succeeded < cell.runs):
                what = cell.status if not cell.ok else 'some runs failed'
                notes.append('%s on %s: %s: %s' % (row.name, impl, what, cell.reason))
    return notes


# --------------------------------------------------------------------------
# markdown

def markdown_table(rows, meta):
    header, body = table_rows(rows, geventc_label(meta))
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join(['---', '---'] + ['---:'] * (len(header) - 2)) + '|']
    for cells, row in zip(body, rows):
        cells = ['`%s`' % cells[0]] + cells[1:]
        lines.append('| ' + ' | '.join(c.replace('|', '\\|') for c in cells) + ' |')
    return '\n'.join(lines)


def loadavg_text(loadavg):
    return ' '.join('%.2f' % x for x in loadavg) if loadavg else 'n/a'


def markdown_report(rows, meta, chart_path=None, markdown_path=None):
    m = meta
    out = ['# geventc vs gevent benchmarks', '',
           '- date: %s' % m.get('date'),
           '- machine: %s, %s cores, %s' % (m.get('cpu'), m.get('cores'), m.get('os')),
           '- python: %s' % m.get('python'),
           '- versions: %s' % ', '.join('%s %s' % kv for kv in sorted(m.get('versions', {}).items())),
           '- git: %s' % (m.get('git') or 'n/a'),
           '- mode: %s, %s repetitions, interleaved fresh processes, total %.0f s'
           % (m.get('mode'), m.get('reps'), m.get('duration_s', 0)),
           '- load average at start: %s' % loadavg_text(m.get('loadavg')),
           '', markdown_table(rows, meta), '']
    out += ['- %s' % note for note in footnotes(rows, meta)]
    if chart_path:
        rel = chart_path
        if markdown_path:
            rel = os.path.relpath(chart_path, os.path.dirname(os.path.abspath(markdown_path)))
        out += ['', '![geventc/gevent ratios](%s)' % rel]
    out += ['', 'Benchmarks:', '']
    out += ['- `%s`: %s (n = %s per measured call)' % (r.name, r.title, r.n) for r in rows]
    return '\n'.join(out) + '\n'


# --------------------------------------------------------------------------
# chart

RATIO_TICKS = (0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 2, 3, 4, 5, 10)


def write_chart(rows, meta, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rows = list(reversed(rows))  # first benchmark on top
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(rows) + 1.8))
    ratios = [r.ratio for r in rows]
    known = [x for x in ratios if x] or [1.0]
    spreads = [r.ratio_range for r in rows]
    extreme = max([abs(math.log(x)) for x in known] +
                  [abs(math.log(v)) for s in spreads if s for v in s] + [math.log(1.5)])
    lo, hi = math.exp(-extreme * 1.25), math.exp(extreme * 1.25)
    for y, (row, ratio, spread) in enumerate(zip(rows, ratios, spreads)):
        if ratio is None:
            ax.text(1.0, y, '  ' + ratio_text(row), va='center', ha='left', color='grey')
            continue
        color = '#2e7d32' if ratio < 1 else '#c62828'
        ax.barh(y, ratio - 1.0, left=1.0, color=color, alpha=0.8, height=0.6)
        if spread:
            ax.plot(spread, [y, y], color='black', linewidth=1)
        if row.best_ratio:
            ax.plot([row.best_ratio], [y], 'o', color='black', markersize=3.5)
        ax.text(hi, y, ' %.2f' % ratio, va='center', ha='left', fontsize=9)
    ax.axvline(1.0, color='black', linewidth=1)
    ax.set_xscale('log')
    ax.set_xlim(lo, hi)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r.name for r in rows], fontsize=9)
    ax.set_xlabel('geventc / gevent per op, median (log scale): < 1 = geventc faster; '
                  'whisker = min–max spread; dot = best / best')
    title = 'geventc vs gevent (%s, %s reps)' % (meta.get('date', '')[:10], meta.get('reps'))
    if meta.get('geventc_aliased'):
        title += ' — geventc ALIASED to gevent (self-test)'
    ax.set_title(title, fontsize=11)
    ticks = [t for t in RATIO_TICKS if lo <= t <= hi]
    ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: '%g' % x))
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.grid(axis='x', which='both', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------
# entry points

def write_outputs(results, markdown=None, chart=None, json_path=None):
    """Print the table and write the requested files; used by run.py too."""
    rows = rows_from(results)
    meta = results['meta']
    print(text_table(rows, meta))
    print()
    for note in footnotes(rows, meta):
        print(note)
    for path in (markdown, chart, json_path):
        if path and os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
    if json_path:
        with open(json_path, 'w') as f:
            json.dump(results, f, indent=1, sort_keys=True)
        print('wrote', json_path)
    if chart:
        write_chart(rows, meta, chart)
        print('wrote', chart)
    if markdown:
        with open(markdown, 'w') as f:
            f.write(markdown_report(rows, meta, chart, markdown))
        print('wrote', markdown)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('results', help='JSON written by run.py --json')
    p.add_argument('--markdown', metavar='FILE')
    p.add_argument('--chart', metavar='FILE.png')
    args = p.parse_args(argv)
    with open(args.results) as f:
        results = json.load(f)
    write_outputs(results, markdown=args.markdown, chart=args.chart)
    return 0


if __name__ == '__main__':
    sys.exit(main())
