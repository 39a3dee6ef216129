"""Child watchers: a pidfd per watcher, one reaped status shared by all.

Each case runs in a child interpreter (it forks, and a reaping bug there
must not eat the pytest process's own children).
"""
import pytest

from _helpers import assert_ok, describe, run_python

pytestmark = pytest.mark.filterwarnings('error')


def test_two_watchers_of_one_child_both_see_its_status():
    # libev dispatches one reaped status to every watcher of the pid; with
    # one pidfd each, the second used to find it reaped (status 0).
    res = run_python("""
        import os
        import geventc as gevent
        from geventc.event import AsyncResult
        hub = gevent.get_hub()
        pid = os.fork()
        if pid == 0:
            gevent.sleep(0.1)
            os._exit(5)
        results = []
        for _ in range(3):
            w = hub.loop.child(pid)
            r = AsyncResult()
            w.start(lambda w=w, r=r: r.set((w.rpid, w.rstatus)))
            results.append(r)
        print([(p == pid, os.waitstatus_to_exitcode(s)) for p, s in (r.get(timeout=10) for r in results)])
    """)
    assert_ok(res)
    assert res.stdout.strip() == '[(True, 5), (True, 5), (True, 5)]', describe(res)


@pytest.mark.geventc_only
def test_watcher_started_after_the_reap_gets_the_recorded_status():
    res = run_python("""
        import os
        import geventc as gevent
        hub = gevent.get_hub()
        pid = os.fork()
        if pid == 0:
            os._exit(9)
        first = hub.loop.child(pid)
        with gevent.Timeout(10):
            hub.wait(first)
        late = hub.loop.child(pid)
        with gevent.Timeout(10):
            hub.wait(late)
        print(os.waitstatus_to_exitcode(first.rstatus), os.waitstatus_to_exitcode(late.rstatus))
    """)
    assert_ok(res)
    assert res.stdout.split() == ['9', '9'], describe(res)


@pytest.mark.geventc_only
def test_child_reaped_behind_geventc_reports_status_0_and_does_not_hang():
    # A raw os.waitpid took the status first: the stdlib Popen's rule.
    res = run_python("""
        import os, time
        import geventc as gevent
        hub = gevent.get_hub()
        pid = os.fork()
        if pid == 0:
            time.sleep(0.2)
            os._exit(3)
        w = hub.loop.child(pid)
        print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
        with gevent.Timeout(10):
            hub.wait(w)
        print(w.rpid == pid, w.rstatus)
    """)
    assert_ok(res)
    assert res.stdout.split() == ['3', 'True', '0'], describe(res)


@pytest.mark.geventc_only
def test_watcher_in_a_native_threads_loop():
    # gevent#688: libev child watchers exist only in the default loop.
    res = run_python("""
        import os, threading
        import geventc as gevent
        from geventc._core import _child_watcher
        out = []
        def in_thread():
            hub = gevent.get_hub()
            assert not hub.loop.default
            pid = os.fork()
            if pid == 0:
                os._exit(4)
            w = _child_watcher(hub.loop, pid)
            with gevent.Timeout(10):
                hub.wait(w)
            out.append(os.waitstatus_to_exitcode(w.rstatus))
        t = threading.Thread(target=in_thread)
        t.start()
        t.join()
        print(out)
    """)
    assert_ok(res)
    assert res.stdout.strip() == '[4]', describe(res)


@pytest.mark.geventc_only
def test_forked_process_does_not_wait_for_its_parents_children():
    # The watcher is copied into the forked process, but the child it
    # watches is its sibling: reported gone at once (status 0) instead of
    # keeping that process's loop running until the sibling exits.
    res = run_python("""
        import os, time
        import geventc as gevent
        hub = gevent.get_hub()
        sibling = os.fork()
        if sibling == 0:
            time.sleep(3)
            os._exit(0)
        w = hub.loop.child(sibling)
        w.start(lambda: None)
        pid = os.fork()
        if pid == 0:
            seen = []
            w.callback = lambda: seen.append(w.rstatus)
            start = time.monotonic()
            hub.join(timeout=10)
            took = time.monotonic() - start
            os._exit(0 if seen == [0] and took < 2 else 1)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), w.active)
        os.kill(sibling, 9)
        with gevent.Timeout(10):
            hub.wait(w)
        print(os.WIFSIGNALED(w.rstatus))
    """)
    assert_ok(res)
    assert res.stdout.split() == ['0', 'True', 'True'], describe(res)


@pytest.mark.geventc_only
def test_stopped_watcher_does_not_fire():
    res = run_python("""
        import os
        import geventc as gevent
        hub = gevent.get_hub()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        seen = []
        w = hub.loop.child(pid)
        w.start(seen.append, 'fired')
        w.stop()
        gevent.sleep(0.3)
        # Nor reaped it: gevent's SIGCHLD handler reaps every child.
        print(seen, os.waitpid(pid, 0)[0] == pid)
    """)
    assert_ok(res)
    assert res.stdout.strip() == '[] True', describe(res)


@pytest.mark.geventc_only
def test_recorded_statuses_stay_bounded():
    # Thousands of children must not leave thousands of statuses behind.
    res = run_python("""
        import os
        import geventc as gevent
        from geventc import _children
        hub = gevent.get_hub()
        for i in range(_children.KEEP_OTHERS + 200):
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            w = hub.loop.child(pid)
            hub.wait(w)
        print(len(_children._exits) <= _children.KEEP_OTHERS)
    """, timeout=120)
    assert_ok(res)
    assert res.stdout.strip() == 'True', describe(res)
