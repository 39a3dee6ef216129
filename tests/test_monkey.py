"""geventc.monkey: patch_all and the patch_* functions, each checked with a
real standard-library consumer in a fresh interpreter (patching is
process-wide and cannot be undone)."""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from _helpers import IMPL_IS_GEVENT, REPO_ROOT, assert_ok, describe, make_cert, run_python

geventc_only = pytest.mark.geventc_only


def ok(code, **kwargs):
    res = run_python(code, **kwargs)
    assert_ok(res)
    return res.stdout


def test_patch_all_replaces_the_blocking_names_and_keeps_the_originals():
    out = ok('''
        import socket, select, selectors, ssl, time, subprocess, queue, os, signal
        originals = (socket.socket, socket.create_connection, socket.getaddrinfo,
                     select.select, time.sleep, subprocess.Popen, queue.Queue, os.fork)
        from geventc import monkey
        import geventc, geventc.socket, geventc.select, geventc.subprocess, geventc.queue
        assert monkey.patch_all() is True
        assert socket.socket is geventc.socket.socket
        assert socket.create_connection is geventc.socket.create_connection
        assert socket.getaddrinfo is geventc.socket.getaddrinfo
        assert select.select is geventc.select.select and select.poll is geventc.select.poll
        assert not hasattr(select, 'epoll'), 'aggressive patching removes epoll'
        assert selectors.DefaultSelector.__module__.endswith('selectors')
        assert not hasattr(selectors, 'EpollSelector')
        assert time.sleep is geventc.sleep
        assert subprocess.Popen is geventc.subprocess.Popen
        assert queue.Queue is geventc.queue.Queue and queue.SimpleQueue is geventc.queue.SimpleQueue
        assert os.fork is geventc.fork
        assert ssl.SSLContext.__module__.endswith('.ssl') and ssl.SSLContext.__module__ != 'ssl'
        for name in ('socket', 'select', 'selectors', 'ssl', 'time', 'subprocess', 'queue', 'os',
                     'signal', '_thread'):
            assert monkey.is_module_patched(name), name
        assert monkey.is_object_patched('socket', 'create_connection')
        assert not monkey.is_object_patched('socket', 'AF_INET')
        got = (monkey.get_original('socket', 'socket'), monkey.get_original('socket', 'create_connection'),
               monkey.get_original('socket', 'getaddrinfo'), monkey.get_original('select', 'select'),
               monkey.get_original('time', 'sleep'), monkey.get_original('subprocess', 'Popen'),
               monkey.get_original('queue', 'Queue'), monkey.get_original('os', 'fork'))
        assert got == originals, (got, originals)
        assert monkey.get_original('time', ['sleep', 'time']) == [originals[4], time.time]
        print('ok')
    ''')
    assert out.strip() == 'ok'


def test_patching_twice_adds_only_and_warns_when_the_arguments_differ():
    out = ok('''
        import warnings, socket
        from geventc import monkey
        kept = {'original': socket.socket}   # not a module global: patching warns about those
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            assert monkey.patch_all(socket=False) is True
            assert socket.socket is kept['original']
            assert monkey.patch_all(socket=False) is None      # nothing new: no warning
            assert [w for w in caught if issubclass(w.category, monkey.MonkeyPatchWarning)] == []
            assert monkey.patch_all() is True                  # adds socket
            assert socket.socket is not kept['original']
            assert monkey.patch_all(socket=False) is None      # cannot un-patch
            assert socket.socket is not kept['original']
        texts = [str(w.message) for w in caught if issubclass(w.category, monkey.MonkeyPatchWarning)]
        assert len(texts) == 2 and all('union of all True' in t for t in texts), texts
        print('ok')
    ''')
    assert out.strip() == 'ok'


def test_events_in_order_and_DoNotPatch():
    out = ok('''
        from geventc import monkey, events
        seen = []
        def subscriber(event):
            name = type(event).__name__
            if isinstance(event, (events.GeventWillPatchModuleEvent, events.GeventDidPatchModuleEvent)):
                name += ':' + event.module_name
                if isinstance(event, events.GeventWillPatchModuleEvent) and event.module_name == 'socket':
                    raise events.DoNotPatch
            seen.append(name)
        events.subscribers.append(subscriber)
        import socket
        original = socket.socket
        assert monkey.patch_all() is True
        assert socket.socket is original, 'a DoNotPatch for socket leaves socket alone'
        assert monkey.is_module_patched('select')
        assert seen[0] == 'GeventWillPatchAllEvent', seen
        assert seen[-2:] == ['GeventDidPatchBuiltinModulesEvent', 'GeventDidPatchAllEvent'], seen
        assert seen.index('GeventWillPatchModuleEvent:select') < seen.index('GeventDidPatchModuleEvent:select')
        assert 'GeventDidPatchModuleEvent:socket' not in seen
        print('ok')
    ''')
    assert out.strip() == 'ok'


def test_DoNotPatch_before_patch_all_cancels_everything():
    out = ok('''
        from geventc import monkey, events
        def veto(event):
            if isinstance(event, events.GeventWillPatchAllEvent):
                assert event.will_patch_module('socket')
                raise events.DoNotPatch
        events.subscribers.append(veto)
        assert monkey.patch_all() is False
        assert not monkey.is_module_patched('socket') and not monkey.is_module_patched('time')
        print('ok')
    ''')
    assert out.strip() == 'ok'


def test_patched_stdlib_http_client_and_time_sleep_are_cooperative():
    # A server greenlet and urllib clients in one thread: with blocking
    # sockets the first urlopen would wait forever on its own server.
    out = ok('''
        from geventc import monkey; monkey.patch_all()
        import socket, time, urllib.request
        import geventc
        listener = socket.socket()
        listener.bind(('127.0.0.1', 0)); listener.listen(16)
        port = listener.getsockname()[1]
        def serve():
            while True:
                conn, _ = listener.accept()
                geventc.spawn(handle, conn)
        def handle(conn):
            data = b''
            while b'\\r\\n\\r\\n' not in data:
                data += conn.recv(1024)
            time.sleep(0.05)       # cooperative: the other requests go on meanwhile
            conn.sendall(b'HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nhi')
            conn.close()
        geventc.spawn(serve)
        order = []
        def get(i):
            body = urllib.request.urlopen('http://127.0.0.1:%d/%d' % (port, i), timeout=10).read()
            order.append((i, body))
        def ticker():
            for _ in range(3):
                order.append('tick'); time.sleep(0.01)
        jobs = [geventc.spawn(get, i) for i in range(5)] + [geventc.spawn(ticker)]
        geventc.joinall(jobs, raise_error=True)
        assert sorted(o for o in order if o != 'tick') == [(i, b'hi') for i in range(5)]
        assert order.index('tick') == 0 and order[1] == 'tick', order   # ticks ran while requests waited
        print('ok')
    ''')
    assert out.strip() == 'ok'


def test_patched_subprocess_and_selectors_are_cooperative():
    out = ok('''
        from geventc import monkey; monkey.patch_all()
        import selectors, socket, subprocess, sys, time
        import geventc
        order = []
        def child():
            r = subprocess.run([sys.executable, '-c', 'import time; time.sleep(0.2); print("child")'],
                               capture_output=True, text=True, check=True)
            order.append(r.stdout.strip())
        def ticker():
            order.append('tick')
        g = geventc.spawn(child); geventc.sleep(0); geventc.spawn(ticker).join(); g.get()
        assert order == ['tick', 'child'], order
        a, b = socket.socketpair()
        sel = selectors.DefaultSelector()
        sel.register(a, selectors.EVENT_READ, 'a')
        geventc.spawn_later(0.05, b.send, b'x')
        ready = sel.select(timeout=5)
        assert [(key.data, mask) for key, mask in ready] == [('a', selectors.EVENT_READ)]
        # SelectSelector bound the blocking select at import; patching replaces it too.
        sel2 = selectors.SelectSelector()
        sel2.register(a, selectors.EVENT_READ)
        assert getattr(selectors.SelectSelector._select, '_gevent_monkey', False)
        assert len(sel2.select(timeout=1)) == 1
        print('ok')
    ''')
    assert out.strip() == 'ok'


# gevent 26.9.0 raises RecursionError here (gevent#1016): geventc only.
@geventc_only
@pytest.mark.skipif(shutil.which('openssl') is None, reason='needs the openssl command')
def test_ssl_imported_first_no_recursion_and_cooperative(tmp_path):
    cert, key = make_cert(tmp_path)
    out = ok('''
        import ssl, warnings
        from ssl import SSLContext as HeldContext      # a reference made before patching
        class MyContext(ssl.SSLContext):               # and a subclass
            pass
        from geventc import monkey
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            monkey.patch_all()
        texts = [str(w.message) for w in caught if issubclass(w.category, monkey.MonkeyPatchWarning)]
        assert len(texts) == 1, texts
        assert 'Subclasses' in texts[0] and 'MyContext' in texts[0], texts
        import socket, geventc
        for cls in (HeldContext, MyContext, ssl.SSLContext):
            ctx = cls(ssl.PROTOCOL_TLS_CLIENT)
            ctx.options |= ssl.OP_NO_COMPRESSION          # gevent#1016: RecursionError here
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.verify_mode = ssl.CERT_REQUIRED
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(%r, %r)
        listener = socket.socket(); listener.bind(('127.0.0.1', 0)); listener.listen(4)
        def serve():
            conn, _ = listener.accept()
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(tls.recv(100).upper())
        server = geventc.spawn(serve)
        client_ctx = MyContext(ssl.PROTOCOL_TLS_CLIENT)   # the subclass made before patching
        client_ctx.load_verify_locations(%r)
        with client_ctx.wrap_socket(socket.create_connection(listener.getsockname()),
                                    server_hostname='localhost') as tls:
            assert type(tls).__module__ != 'ssl', type(tls)   # cooperative, not the stdlib's
            tls.sendall(b'hello')
            assert tls.recv(100) == b'HELLO'
        server.get()
        print('ok')
    ''' % (str(cert), str(key), str(cert)))
    assert out.strip() == 'ok'


@geventc_only
def test_ssl_property_setters_leave_the_module_global_alone():
    # The setters once swapped ssl.SSLContext back to the stdlib class while
    # they ran: another thread could see it. A setter that calls back into
    # Python code (the message callback's check) looks at it from inside.
    out = ok('''
        import ssl
        from geventc import monkey
        monkey.patch_all()
        import geventc.ssl
        seen = []
        class Callback:
            @property
            def __call__(self):
                seen.append(ssl.SSLContext)
                return lambda *args: None
        for cls in (ssl.SSLContext, geventc.ssl.orig_SSLContext):
            ctx = cls(ssl.PROTOCOL_TLS_CLIENT)
            ctx._msg_callback = Callback()
            ctx.options |= ssl.OP_NO_COMPRESSION
            ctx.verify_mode = ssl.CERT_REQUIRED
            assert ctx.options & ssl.OP_NO_COMPRESSION and ctx.verify_mode == ssl.CERT_REQUIRED
        assert seen == [geventc.ssl.SSLContext] * 2, seen
        print('ok')
    ''')
    assert out.strip() == 'ok'


# -- python -m geventc.monkey ----------------------------------------------------------

def run_monkey(tmp_path, *args, script=None, timeout=60):
    if script is not None:
        (tmp_path / 'prog.py').write_text(textwrap.dedent(script))
    env = dict(os.environ)
    env.pop('GEVENTC_TEST_IMPL', None)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (REPO_ROOT, env.get('PYTHONPATH')) if p)
    return subprocess.run([sys.executable, '-m', 'geventc.monkey', *args], capture_output=True,
                          text=True, env=env, cwd=str(tmp_path), timeout=timeout)


@geventc_only
def test_monkey_main_runs_a_script_patched(tmp_path):
    res = run_monkey(tmp_path, 'prog.py', 'a', '--b', script='''
        import sys, socket, time
        import geventc.socket
        print(__name__, __file__, sys.argv)
        print(socket.socket is geventc.socket.socket, time.sleep.__module__)
        import gevent, geventc
        print(gevent is geventc)
        sys.exit(3)
    ''')
    assert res.returncode == 3, describe(res)
    lines = res.stdout.splitlines()
    assert lines[0] == "__main__ prog.py ['prog.py', 'a', '--b']", lines
    assert lines[1].startswith('True'), lines
    assert lines[2] == 'True', lines


@geventc_only
def test_monkey_main_options_and_errors(tmp_path):
    script = '''
        import socket, time, sys
        from geventc import monkey
        print(monkey.is_module_patched('socket'), monkey.is_module_patched('time'))
        if sys.argv[1:] == ['boom']:
            raise ValueError('boom!')
    '''
    res = run_monkey(tmp_path, '--no-socket', 'prog.py', script=script)
    assert res.returncode == 0 and res.stdout.split() == ['False', 'True'], describe(res)
    res = run_monkey(tmp_path, '--socket', 'prog.py')
    assert res.returncode == 0 and res.stdout.split() == ['True', 'False'], describe(res)
    res = run_monkey(tmp_path, 'prog.py', 'boom')
    assert res.returncode == 1 and 'ValueError: boom!' in res.stderr and 'prog.py' in res.stderr, describe(res)
    res = run_monkey(tmp_path, '--bogus', 'prog.py')
    assert res.returncode != 0 and "Cannot patch 'bogus'" in res.stderr, describe(res)
    res = run_monkey(tmp_path, 'missing.py')
    assert res.returncode == 2 and res.stdout == '', describe(res)
    assert len(res.stderr.strip().splitlines()) == 1 and 'missing.py' in res.stderr, describe(res)
    (tmp_path / 'pkgmod.py').write_text('import sys, socket, geventc.socket\n'
                                        'print(__name__, sys.argv[1:], socket.socket is geventc.socket.socket)\n')
    res = run_monkey(tmp_path, '--module', 'pkgmod', 'x')
    assert res.returncode == 0 and res.stdout.strip() == "__main__ ['x'] True", describe(res)
    res = run_monkey(tmp_path)
    assert res.returncode == 0 and 'USAGE' in res.stdout, describe(res)


def test_one_monkey_module_when_run_with_dash_m(tmp_path):
    if IMPL_IS_GEVENT:
        pytest.skip('checks geventc.monkey run as __main__')
    res = run_monkey(tmp_path, 'prog.py', script='''
        import sys
        import geventc.monkey
        assert sys.modules['geventc.monkey'].saved is geventc.monkey.saved
        assert geventc.monkey.is_module_patched('socket')
        print('ok')
    ''')
    assert res.returncode == 0 and res.stdout.strip() == 'ok', describe(res)


@geventc_only
def test_requests_imported_before_patch_all_is_cooperative():
    # Each handler waits until all ten requests have arrived: only clients
    # that run concurrently can get there (a blocking client would time out).
    pytest.importorskip('requests')
    out = ok('''
        import requests                         # imported first, as applications often do
        from time import sleep as saved_sleep   # the application's own reference
        import warnings
        from geventc import monkey
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            monkey.patch_all()
        texts = [str(w.message) for w in caught if issubclass(w.category, monkey.MonkeyPatchWarning)]
        assert len(texts) == 1 and '__main__.saved_sleep (time.sleep)' in texts[0], texts
        assert ('urllib3.util.ssl_', 'SSLContext') in monkey.retrofitted, monkey.retrofitted
        import socket, geventc
        from geventc.event import Event
        listener = socket.socket(); listener.bind(('127.0.0.1', 0)); listener.listen(32)
        port = listener.getsockname()[1]
        arrived, all_here = [], Event()
        def handle(conn):
            data = b''
            while b'\\r\\n\\r\\n' not in data:
                data += conn.recv(4096)
            arrived.append(data.split()[1])
            if len(arrived) == 10:
                all_here.set()
            assert all_here.wait(10), 'requests did not run concurrently'
            conn.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok')
            conn.close()
        def serve():
            while True:
                conn, _ = listener.accept()
                geventc.spawn(handle, conn)
        geventc.spawn(serve)
        def get(i):
            return requests.get('http://127.0.0.1:%d/%d' % (port, i), timeout=15).text
        jobs = [geventc.spawn(get, i) for i in range(10)]
        assert [job.get() for job in jobs] == ['ok'] * 10
        assert sorted(arrived) == sorted(('/%d' % i).encode() for i in range(10))
        print('ok')
    ''', timeout=60)
    assert out.strip() == 'ok'


@geventc_only   # gevent 26.9.0's patch_sys does nothing
def test_patch_sys_reads_stdin_cooperatively_and_exits_cleanly():
    code = textwrap.dedent('''
        from geventc import monkey; monkey.patch_all(sys=True)
        import sys, geventc
        from geventc.fileobject import FileObjectThread
        assert isinstance(sys.stdin, FileObjectThread) and isinstance(sys.stdout, FileObjectThread)
        order = []
        def reader():
            order.append('read ' + input().strip())
        def ticker():
            for i in range(3):
                order.append('tick'); geventc.sleep(0.02)
        geventc.joinall([geventc.spawn(reader), geventc.spawn(ticker)])
        print(order)
        sys.stdout.write('unflushed at exit')   # the interpreter's final flush must not hang
    ''')
    env = dict(os.environ)
    env.pop('GEVENTC_TEST_IMPL', None)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (REPO_ROOT, env.get('PYTHONPATH')) if p)
    proc = subprocess.Popen([sys.executable, '-c', code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    import time
    time.sleep(0.3)          # the reader waits; the ticker must run meanwhile
    out, err = proc.communicate('hello\n', timeout=30)
    assert proc.returncode == 0, err
    assert out == "['tick', 'tick', 'tick', 'read hello']\nunflushed at exit", (out, err)


@geventc_only
def test_patch_all_answers_to_the_gevent_name_unless_gevent_is_imported():
    out = ok('''
        import sys
        from geventc import monkey
        monkey.patch_all()
        import gevent, gevent.monkey, geventc
        assert gevent is geventc and sys.modules['gevent.monkey'] is monkey
        assert gevent.monkey.is_module_patched('select')
        print('ok')
    ''')
    assert out.strip() == 'ok'
    pytest.importorskip('gevent')
    out = ok('''
        import sys
        import gevent                      # the real one, first
        from geventc import monkey
        monkey.patch_all()
        assert sys.modules['gevent'] is gevent and gevent.__name__ == 'gevent'
        assert not gevent.__file__.startswith(__import__('geventc').__path__[0])
        print('ok')
    ''')
    assert out.strip() == 'ok'
