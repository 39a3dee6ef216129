"""asyncio together with patch_all: an asyncio loop in the main thread and
one in a native (unpatched) thread, each handing work to a
ThreadPoolExecutor (run_in_executor with an explicit executor and with the
default one, asyncio.to_thread, loop.getaddrinfo), while the main thread's
hub keeps running greenlets.

gevent#2213: on CPython >= 3.13.12 / 3.14.3 an executor job's result can
sit undelivered until some unrelated timer wakes the asyncio loop (the
patched executor's workers are greenlets in the loop's own OS thread, so
asyncio sets the result without waking its selector). Each loop here arms
such an unrelated timer (20 s) and every await has a 30 s wait_for: a
stalled delivery shows up as the timer having fired (or a TimeoutError),
never as a timing measurement. On older CPythons the scenario still checks
that asyncio under patch_all completes in both kinds of thread.
"""
import sys

import pytest

from _integ import run_child

pytestmark = pytest.mark.timeout(180)

CHILD = '''
import asyncio
import concurrent.futures
import socket
import threading
import time

from geventc import monkey

# threading.Thread is green under patch_all: a real OS thread is started
# with the original _thread.start_new_thread.
start_native_thread = monkey.get_original('_thread', 'start_new_thread')


def work(x):
    time.sleep(0.001)   # patched: a cooperative sleep in a worker greenlet
    return x * 2


async def amain(tag):
    loop = asyncio.get_running_loop()
    unrelated = []
    loop.call_later(20, unrelated.append, 'unrelated timer fired')
    with concurrent.futures.ThreadPoolExecutor(4) as executor:
        futures = [loop.run_in_executor(executor, work, i) for i in range(8)]
        explicit = await asyncio.wait_for(asyncio.gather(*futures), 30)
    default = await asyncio.wait_for(loop.run_in_executor(None, work, 50), 30)
    to_thread = await asyncio.wait_for(asyncio.to_thread(work, 21), 30)
    infos = await asyncio.wait_for(
        loop.getaddrinfo('localhost', 80, family=socket.AF_INET, type=socket.SOCK_STREAM), 30)
    assert not unrelated, (tag, unrelated)
    return tag, explicit, default, to_thread, infos[0][4]


EXPECTED = ([i * 2 for i in range(8)], 100, 42, ('127.0.0.1', 80))

got = asyncio.run(amain('main'))
assert got == ('main',) + EXPECTED, got
print('main thread ok')

result = {}


def native():
    result['ident'] = threading.get_ident()
    try:
        result['value'] = asyncio.run(amain('native'))
    except BaseException as exc:  # reported by the main thread
        result['error'] = repr(exc)
    finally:
        result['done'] = True


ticks = []
ticker = geventc.spawn(lambda: [ticks.append(geventc.sleep(0.005)) for _ in iter(int, 1)])
start_native_thread(native, ())
# Cooperative polling: the main hub keeps running the ticker meanwhile.
for _ in range(9000):
    if result.get('done'):
        break
    geventc.sleep(0.01)
ticker.kill()
assert result.get('done'), ('the native thread did not finish', result)
assert result['ident'] != threading.get_ident(), result
assert 'error' not in result, result
assert result['value'] == ('native',) + EXPECTED, result
assert ticks, 'the main hub did not run greenlets while the native thread worked'
print('native thread ok')
'''


def test_asyncio_loops_with_thread_pool_executors_do_not_stall():
    lines = run_child(CHILD, timeout=120)
    assert lines[-2:] == ['main thread ok', 'native thread ok'], (sys.version, lines)
