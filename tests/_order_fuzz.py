"""Random greenlet programs over queues, channels, semaphores and events.

``python _order_fuzz.py IMPL FIRST_SEED COUNT`` runs COUNT programs (seeds
FIRST_SEED...) on IMPL (geventc or gevent) and prints a log of everything
each greenlet did, in the order it happened. The programs use no clock
except the final join's timeout (JOIN_TIMEOUT, far longer than a program
runs), which only fires once every greenlet is blocked, so the log depends
only on the scheduler: geventc must print exactly what gevent prints.
"""
import importlib
import random
import sys

GREENLETS = 6
OPS = 12
JOIN_TIMEOUT = 0.05


def make_program(rnd):
    # The operations of each greenlet, drawn before anything runs.
    kinds = ['put', 'get', 'put_nowait', 'get_nowait', 'sleep0', 'with_sem',
             'ev_set', 'ev_clear', 'ev_wait', 'ch_put', 'ch_get', 'ar_set',
             'ar_get', 'kill', 'spawn']
    program = []
    for _ in range(GREENLETS):
        ops = []
        for _ in range(rnd.randint(1, OPS)):
            kind = rnd.choice(kinds)
            ops.append((kind, rnd.randint(0, GREENLETS - 1), rnd.randint(0, 99)))
        program.append(ops)
    setup = (rnd.choice([None, 1, 2, 3]), rnd.randint(1, 2), rnd.random() < 0.5)
    return setup, program


def run_one(impl, seed):
    gevent = importlib.import_module(impl)
    queue = importlib.import_module(impl + '.queue')
    lock = importlib.import_module(impl + '.lock')
    event = importlib.import_module(impl + '.event')
    rnd = random.Random(seed)
    (maxsize, sem_value, joinable), program = make_program(rnd)
    q = queue.JoinableQueue(maxsize) if joinable else queue.Queue(maxsize)
    ch = queue.Channel()
    sem = lock.BoundedSemaphore(sem_value)
    ev = event.Event()
    ar = event.AsyncResult()
    log = []
    glets = []

    def child(i, v):
        log.append((i, 'child', v))
        gevent.sleep(0)
        log.append((i, 'child done', v))

    def body(i, ops):
        try:
            for n, (kind, other, v) in enumerate(ops):
                log.append((i, n, kind, 'begin'))
                if kind == 'put':
                    q.put(v)
                    res = None
                elif kind == 'get':
                    res = q.get()
                elif kind == 'put_nowait':
                    try:
                        q.put_nowait(v)
                        res = 'ok'
                    except queue.Full:
                        res = 'Full'
                elif kind == 'get_nowait':
                    try:
                        res = q.get_nowait()
                    except queue.Empty:
                        res = 'Empty'
                elif kind == 'sleep0':
                    res = gevent.sleep(0)
                elif kind == 'with_sem':
                    with sem:
                        log.append((i, n, 'holding'))
                        gevent.sleep(0)
                    res = sem.counter
                elif kind == 'ev_set':
                    res = ev.set()
                elif kind == 'ev_clear':
                    res = ev.clear()
                elif kind == 'ev_wait':
                    # Never on a set Event: a wait() there may wait its turn
                    # behind a notification, and gevent loses that wake-up
                    # when the last linked waiter is killed meanwhile
                    # (test_handoff.py, geventc_only); geventc does not.
                    res = ev.wait() if not ev.is_set() else 'set'
                elif kind == 'ch_put':
                    res = ch.put(v)
                elif kind == 'ch_get':
                    res = ch.get()
                elif kind == 'ar_set':
                    res = ar.set(v) if not ar.ready() else 'ready'
                elif kind == 'ar_get':
                    res = ar.get()
                elif kind == 'kill':
                    target = glets[other]
                    res = None if target is gevent.getcurrent() else target.kill(block=False)
                elif kind == 'spawn':
                    res = type(gevent.spawn(child, i, v)).__name__
                log.append((i, n, kind, 'end', res))
        except gevent.GreenletExit:
            log.append((i, 'killed'))
            raise

    for i, ops in enumerate(program):
        glets.append(gevent.spawn(body, i, ops))
    gevent.joinall(glets, timeout=JOIN_TIMEOUT)
    log.append(('left', [g.dead for g in glets], q.qsize(), sem.counter, ev.is_set()))
    gevent.killall(glets)
    log.append(('killed all', [g.dead for g in glets]))
    return log


def main():
    impl, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for seed in range(first, first + count):
        print(seed, run_one(impl, seed), flush=True)


if __name__ == '__main__':
    main()
