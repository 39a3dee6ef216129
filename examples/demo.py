"""geventc's main job in one screen: greenlets sleeping concurrently and
handing results to each other, timed.

Run with:  bash dev.sh demo
"""
import time

import geventc as gevent
from geventc.event import AsyncResult


def fetch(n, delay):
    """Pretend to do I/O for `delay` seconds, then return a result."""
    gevent.sleep(delay)
    return n * n


def relay(source, result):
    """Wait for another greenlet's result and pass it on, doubled."""
    result.set(source.get() * 2)


def main():
    print('geventc %s: 10 tasks of 0.2 s each' % gevent.__version__)

    t0 = time.perf_counter()
    serial = [fetch(n, 0.02) for n in range(10)]
    t_serial = time.perf_counter() - t0
    print('  serially (0.02 s each):      %.3f s -> %s' % (t_serial, serial))

    t0 = time.perf_counter()
    jobs = [gevent.spawn(fetch, n, 0.2) for n in range(10)]
    gevent.joinall(jobs)
    t_conc = time.perf_counter() - t0
    print('  concurrently (0.2 s each):   %.3f s -> %s' % (t_conc, [j.value for j in jobs]))

    results = [AsyncResult() for _ in jobs]
    relays = [gevent.spawn(relay, gevent.spawn(fetch, n, 0.1), r) for n, r in enumerate(results)]
    gevent.joinall(relays)
    print('  relayed through AsyncResult: %s' % [r.get() for r in results])

    t0 = time.perf_counter()
    n = 100000

    def ping():
        for _ in range(n):
            gevent.sleep(0)

    gevent.joinall([gevent.spawn(ping), gevent.spawn(ping)])
    dt = time.perf_counter() - t0
    print('  %d context switches in %.3f s (%.0f ns each)' % (2 * n, dt, dt / (2 * n) * 1e9))

    try:
        with gevent.Timeout(0.05):
            gevent.sleep(1)
    except gevent.Timeout as t:
        print('  a Timeout interrupted a 1 s sleep after %s' % t)


if __name__ == '__main__':
    main()
