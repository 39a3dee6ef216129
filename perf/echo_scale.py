#!/usr/bin/env python
"""Loopback echo at scale: memory and throughput, geventc and gevent side by side.

    .venv/bin/python perf/echo_scale.py                      # 10,000 connections, recv(65536), 3 reps
    .venv/bin/python perf/echo_scale.py -c 2000,5000 -c 5000:4096 --reps 5
    .venv/bin/python perf/echo_scale.py --json perf/results/echo.json

Each row is N client greenlets and N handler greenlets exchanging 50 messages
of 120 bytes (``sendall``, then ``recv(bufsize)`` until the echo is complete;
see _echo.py), every byte compared with what was sent.  Every measurement is a
fresh process; the two implementations alternate (ABBA) within each
repetition, and the table shows medians and the ratio geventc/gevent.

Reported per implementation:

* peak RSS: the highest resident set during connect + exchange + close (the
  interpreter and the imports included), summed over the processes;
* RSS/conn: (peak RSS - RSS before the first connection) / N;
* msg/s: round trips per second during the exchange (all N clients at once);
* verified: bytes echoed back identical to what was sent (the run fails on
  any difference).

Both sides of N connections need 2N descriptors.  The soft RLIMIT_NOFILE is
raised to the hard limit; when 2N do not fit in one process, the server
(acceptor + handlers) and the clients run in two processes (``split`` in the
table) and their peaks are added.  ``--processes`` forces one layout.
Everything is on 127.0.0.1 and every worker has a deadline (--timeout).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import _launch

HERE = os.path.abspath(__file__)
DEFAULT_CASES = ['10000']
#: as _echo.FD_MARGIN (the runner does not import _echo: it imports geventc)
FD_MARGIN = 64


# --------------------------------------------------------------------------
# worker side (a fresh process per role)

def worker_main(args):
    import _alias
    _alias.select(args.impl)
    import _echo
    per_process = args.connections * (2 if args.worker == 'both' else 1)
    _echo.raise_fd_limit(per_process + _echo.FD_MARGIN)
    import geventc as gevent
    with gevent.Timeout(args.timeout, _echo.EchoError('no result after %ss' % args.timeout)):
        if args.worker == 'both':
            out = _echo.run_both(args.connections, args.bufsize)
        elif args.worker == 'server':
            out = serve(_echo, args)
        else:
            out = run_clients(_echo, args)
    out.update(status='ok', role=args.worker, impl=args.impl, module=gevent.__file__)
    print(json.dumps(out), flush=True)


def serve(_echo, args):
    import geventc as gevent
    server = _echo.Server(args.connections, args.bufsize)
    gevent.sleep(0)
    base = _echo.current_rss()
    peak_reset = _echo.reset_peak_rss()
    print(json.dumps({'port': server.port}), flush=True)
    server.wait_done()
    return _echo.result(args.connections, args.bufsize, base, peak_reset)


def run_clients(_echo, args):
    base = _echo.current_rss()
    peak_reset = _echo.reset_peak_rss()
    socks = _echo.connect_all(args.port, args.connections)
    elapsed, verified = _echo.exchange(socks, args.bufsize)
    return _echo.result(args.connections, args.bufsize, base, peak_reset, elapsed, verified)


# --------------------------------------------------------------------------
# runner side (imports neither gevent nor geventc)

def worker_cmd(impl, role, case, args, port=None):
    cmd = [sys.executable, HERE, '--worker', role, '--impl', impl,
           '--connections', str(case['connections']), '--bufsize', str(case['bufsize']),
           '--timeout', str(args.timeout)]
    if port is not None:
        cmd += ['--port', str(port)]
    return cmd


def parse_result(proc_stdout, proc_stderr, code):
    result = _launch.last_json_line(proc_stdout)
    if not result or result.get('status') != 'ok':
        return {'status': 'error',
                'reason': 'exit %s: %s' % (code, _launch.tail(proc_stderr or proc_stdout, 800))}
    return result


def run_one_process(impl, case, args):
    try:
        proc = subprocess.run(worker_cmd(impl, 'both', case, args), capture_output=True,
                              text=True, timeout=args.timeout + 30, env=_launch.worker_env())
    except subprocess.TimeoutExpired:
        return {'status': 'timeout'}
    res = parse_result(proc.stdout, proc.stderr, proc.returncode)
    if res['status'] == 'ok':
        res['processes'] = 1
    return res


def run_two_processes(impl, case, args):
    server = subprocess.Popen(worker_cmd(impl, 'server', case, args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=_launch.worker_env())
    try:
        line = server.stdout.readline()
        try:
            port = json.loads(line)['port']
        except (ValueError, KeyError, TypeError):
            server.kill()
            out, err = server.communicate()
            return parse_result(line + out, err, server.returncode)
        try:
            cproc = subprocess.run(worker_cmd(impl, 'client', case, args, port),
                                   capture_output=True, text=True,
                                   timeout=args.timeout + 30, env=_launch.worker_env())
        except subprocess.TimeoutExpired:
            return {'status': 'timeout'}
        client = parse_result(cproc.stdout, cproc.stderr, cproc.returncode)
        try:
            out, err = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            return {'status': 'timeout', 'reason': 'the server did not finish'}
        srv = parse_result(out, err, server.returncode)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    if client['status'] != 'ok':
        return client
    if srv['status'] != 'ok':
        return srv
    combined = dict(client)
    combined.update(processes=2, base_rss=client['base_rss'] + srv['base_rss'],
                    peak_rss=client['peak_rss'] + srv['peak_rss'],
                    server_peak_rss=srv['peak_rss'], client_peak_rss=client['peak_rss'])
    return combined


def processes_for(case, args):
    if args.processes:
        return args.processes
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    fits = hard == resource.RLIM_INFINITY or 2 * case['connections'] + FD_MARGIN <= hard
    return 1 if fits else 2


def measure(impl, case, args):
    runner = run_one_process if processes_for(case, args) == 1 else run_two_processes
    res = runner(impl, case, args)
    if res.get('status') == 'ok':
        res['rss_per_conn'] = (res['peak_rss'] - res['base_rss']) / case['connections']
    return res


def parse_case(text):
    conns, _, bufsize = text.partition(':')
    return {'connections': int(conns), 'bufsize': int(bufsize or 65536)}


# --------------------------------------------------------------------------
# reporting

def mb(x):
    return '%.0f MB' % (x / 1e6)


def kb(x):
    return '%.1f KB' % (x / 1e3)


def kmsg(x):
    return '%.1fk' % (x / 1e3)


def summary(results, key):
    values = [r[key] for r in results if r.get('status') == 'ok']
    return statistics.median(values) if values else None


def table(cases, runs):
    header = ['connections', 'recv()', 'layout',
              'geventc peak RSS', 'gevent peak RSS', 'ratio',
              'geventc RSS/conn', 'gevent RSS/conn',
              'geventc msg/s', 'gevent msg/s', 'ratio', 'verified (each run)']
    rows = []
    for case in cases:
        key = (case['connections'], case['bufsize'])
        c, g = runs[key]['geventc'], runs[key]['gevent']
        cp, gp = summary(c, 'peak_rss'), summary(g, 'peak_rss')
        cr, gr = summary(c, 'rss_per_conn'), summary(g, 'rss_per_conn')
        cm, gm = summary(c, 'msgs_per_s'), summary(g, 'msgs_per_s')
        ok = [r for r in c + g if r.get('status') == 'ok']
        layout = sorted({'one process' if r['processes'] == 1 else 'split' for r in ok})
        verified = sorted({r['verified'] for r in ok})
        failed = len(c) + len(g) - len(ok)
        rows.append(['{:,}'.format(case['connections']), str(case['bufsize']),
                     '/'.join(layout) or '-',
                     mb(cp) if cp else 'error', mb(gp) if gp else 'error',
                     '%.2f' % (cp / gp) if cp and gp else '-',
                     kb(cr) if cr is not None else '-', kb(gr) if gr is not None else '-',
                     kmsg(cm) if cm else '-', kmsg(gm) if gm else '-',
                     '%.2f' % (cm / gm) if cm and gm else '-',
                     ('{:,} B'.format(verified[0]) if len(verified) == 1 else str(verified))
                     + (' (%d failed)' % failed if failed else '')])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ['| ' + ' | '.join(str(x).ljust(w) for x, w in zip(r, widths)) + ' |'
             for r in [header] + rows]
    lines.insert(1, '|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    return '\n'.join(lines)


def spreads(cases, runs):
    out = []
    for case in cases:
        key = (case['connections'], case['bufsize'])
        for impl in _launch.IMPLS:
            ok = [r for r in runs[key][impl] if r.get('status') == 'ok']
            bad = [r for r in runs[key][impl] if r.get('status') != 'ok']
            out.append('  %6d recv(%d) %-8s peak %s  msg/s %s%s' % (
                case['connections'], case['bufsize'], impl,
                ' '.join(mb(r['peak_rss']) for r in ok),
                ' '.join(kmsg(r['msgs_per_s']) for r in ok),
                ''.join('\n      %s: %s' % (r.get('status'), r.get('reason', ''))
                        for r in bad)))
    return '\n'.join(out)


# --------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('-c', '--case', action='append', metavar='N[:BUFSIZE]',
                   help='connections (and recv size, default 65536); comma-separated '
                   'or repeated (default: %s)' % ','.join(DEFAULT_CASES))
    p.add_argument('--reps', type=int, default=3, help='runs per implementation (default 3)')
    p.add_argument('--processes', type=int, choices=(1, 2),
                   help='force one process, or server and clients in two')
    p.add_argument('--timeout', type=float, default=300,
                   help='seconds a worker may take (default %(default)s)')
    p.add_argument('--json', metavar='FILE', help='write every run here')
    # worker mode (internal)
    p.add_argument('--worker', choices=('both', 'server', 'client'), help=argparse.SUPPRESS)
    p.add_argument('--impl', choices=_launch.IMPLS, help=argparse.SUPPRESS)
    p.add_argument('--connections', type=int, help=argparse.SUPPRESS)
    p.add_argument('--bufsize', type=int, default=65536, help=argparse.SUPPRESS)
    p.add_argument('--port', type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.worker:
        worker_main(args)
        return 0
    cases = [parse_case(x) for arg in (args.case or DEFAULT_CASES)
             for x in arg.split(',') if x]
    runs = {(c['connections'], c['bufsize']): {i: [] for i in _launch.IMPLS} for c in cases}
    started = time.monotonic()
    for rep in range(args.reps):
        order = _launch.IMPLS if rep % 2 == 0 else tuple(reversed(_launch.IMPLS))
        for case in cases:
            for impl in order:
                res = measure(impl, case, args)
                runs[(case['connections'], case['bufsize'])][impl].append(res)
                print('rep %d %6d recv(%d) %-8s %s' % (
                    rep + 1, case['connections'], case['bufsize'], impl,
                    'peak %s, %s msg/s' % (mb(res['peak_rss']), kmsg(res['msgs_per_s']))
                    if res.get('status') == 'ok' else '%s %s' % (res.get('status'),
                                                                 res.get('reason', ''))),
                    file=sys.stderr, flush=True)
    info = _launch.machine_info()
    print('\nLoopback echo, %d messages x %d B per connection; medians of %d runs each '
          '(ABBA); %s, %s cores, load %s' % (
              50, 120, args.reps, info['cpu'], info['cores'],
              ' '.join('%.1f' % x for x in info['loadavg'] or ())))
    print(table(cases, runs))
    print('\nper run:\n' + spreads(cases, runs))
    print('\n%.0f s' % (time.monotonic() - started))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump({'machine': info, 'cases': cases,
                       'runs': {'%d:%d' % k: v for k, v in runs.items()}}, f, indent=1)
    failed = any(r.get('status') != 'ok' for v in runs.values() for rs in v.values() for r in rs)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
