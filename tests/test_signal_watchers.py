"""Several ``loop.signal`` watchers of one signal, stopped in any order.

While any of them is active, the active ones (only) get the signal; once the
last one stops, the signal's action from before the first one started is
back: a Python handler gets the signal again, SIG_IGN ignores it, SIG_DFL is
the default again. Real signals, in a child process; the C-level action is
read with sigaction(2) through ctypes (Python's getsignal() only knows its
own table).

geventc_only: gevent 26.9.0 leaves SIG_DFL behind when a watcher stops while
another one of the same signal is active, and the next signal kills the
process.
"""
import pytest

from _helpers import assert_ok, run_python

pytestmark = pytest.mark.geventc_only

_CHILD = r'''
import ctypes, itertools, os, signal, sys
import geventc as gevent

libc = ctypes.CDLL(None, use_errno=True)

class sigaction_t(ctypes.Structure):
    # glibc's struct sigaction (Linux).
    _fields_ = [('handler', ctypes.c_void_p), ('mask', ctypes.c_ulong * 16),
                ('flags', ctypes.c_int), ('restorer', ctypes.c_void_p)]

def action_of(signum):
    sa = sigaction_t()
    assert libc.sigaction(signum, None, ctypes.byref(sa)) == 0, ctypes.get_errno()
    return sa.handler or 0

S = signal.SIGUSR1
python_got = []
ORIGINAL = {'python': lambda *a: python_got.append(1), 'ignore': signal.SIG_IGN,
            'default': signal.SIG_DFL}[sys.argv[1]]
loop = gevent.get_hub().loop

def deliver():
    del python_got[:]
    os.kill(os.getpid(), S)
    gevent.sleep(0.02)

problems = []
rounds = 0
for n in (2, 3):
    for order in itertools.permutations(range(n)):
        signal.signal(S, ORIGINAL)
        before = action_of(S)
        watchers = [loop.signal(S) for _ in range(n)]
        fired = []
        for i, w in enumerate(watchers):
            w.start(fired.append, i)
        active = set(range(n))
        for i in order:
            watchers[i].stop()
            active.discard(i)
            if not active and ORIGINAL is signal.SIG_DFL:
                break  # the signal would end this process
            del fired[:]
            deliver()
            if sorted(fired) != sorted(active):
                problems.append((order, 'after stopping %d: fired %r' % (i, fired)))
            if active and python_got:
                problems.append((order, 'the Python handler ran while watchers are active'))
        if action_of(S) != before:
            problems.append((order, 'action %#x, was %#x' % (action_of(S), before)))
        if ORIGINAL not in (signal.SIG_IGN, signal.SIG_DFL) and not python_got:
            problems.append((order, 'the Python handler did not get the signal back'))
        for w in watchers:
            w.close()
        rounds += 1
print(rounds, problems)
'''


@pytest.mark.parametrize('original', ['python', 'ignore', 'default'])
def test_last_watcher_to_stop_puts_back_the_original_action(original):
    res = assert_ok(run_python(_CHILD, args=[original]))
    assert res.stdout.strip() == '8 []'
