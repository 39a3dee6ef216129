"""gunicorn with geventc's workers (``geventc.gunicorn``): each test starts a
real gunicorn master with 2 worker processes on a loopback port, talks HTTP
to it from threads, signals it and stops it.

Requests that must be "in flight" are held by the application itself: a
``/hold`` request marks itself started (a file naming its worker's pid) and
then sleeps cooperatively until the test creates the ``open`` file. So the
tests check order (fast requests answered while a held one occupies every
worker; held requests answered after a reload or TERM) and never timing.

With ``GEVENTC_TEST_IMPL=gevent`` the same tests run gunicorn's own
``gevent`` and ``gevent_pywsgi`` workers on real gevent.
"""
import http.client
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from _helpers import IMPL_IS_GEVENT, assert_ok, child_states, run_python

HAVE_GUNICORN = importlib.util.find_spec('gunicorn') is not None
NO_GUNICORN = ('!!! gunicorn is not importable: the gunicorn worker tests did NOT run '
               '(pip install gunicorn; it is in the test extras)')

pytestmark = pytest.mark.timeout(120)

WORKER_CLASSES = {
    'stream': 'gevent' if IMPL_IS_GEVENT else 'geventc.gunicorn.GeventcWorker',
    'pywsgi': 'gevent_pywsgi' if IMPL_IS_GEVENT else 'geventc.gunicorn.GeventcPyWSGIWorker',
    # gunicorn's own gevent workers, run on geventc through the alias.
    'alias-stream': 'gevent',
    'alias-pywsgi': 'gevent_pywsgi',
}

#: Generous bound on anything that should happen "soon" (a wedged server
#: fails the test instead of hanging it).
SOON = 30

APP = '''
import os
import time
import importlib

impl = importlib.import_module(os.environ['GAPP_IMPL'])
GATE = os.environ['GAPP_GATE']


def app(environ, start_response):
    path = environ['PATH_INFO']
    query = environ['QUERY_STRING']
    if path == '/hold':
        open(os.path.join(GATE, 'started-%d-%s' % (os.getpid(), query)), 'w').close()
        give_up = time.monotonic() + 90
        while not os.path.exists(os.path.join(GATE, 'open')) and time.monotonic() < give_up:
            impl.sleep(0.02)
    elif path == '/sleep':
        impl.sleep(float(query))
    if path == '/file':
        # A file wrapper: gunicorn's worker sends it with socket.sendfile.
        size = os.path.getsize(__file__)
        start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(size))])
        return environ['wsgi.file_wrapper'](open(__file__, 'rb'))
    if path == '/error':
        raise RuntimeError('the application failed')
    extra = ''
    if path == '/which':
        import sys
        extra = ' gevent=%s' % getattr(sys.modules.get('gevent'), '__name__', None)
    if path == '/environ':
        extra = ' RAW_URI=%s sock=%s' % (environ.get('RAW_URI'), 'gunicorn.sock' in environ)
    body = ('%d %s%s' % (os.getpid(), path, extra)).encode()
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]
'''


def free_port():
    # gunicorn cannot bind port 0 and report it: take one the kernel
    # considers free right now.
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def children_of(pid):
    return {child for child, state in child_states(pid).items() if state != 'Z'}


def wait_for(predicate, what, timeout=SOON, server=None):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('timed out waiting for %s%s'
                                 % (what, server.logs() if server is not None else ''))
        time.sleep(0.02)


def get(port, path, timeout=SOON, scheme='http'):
    """(status, body) of one request on a new connection."""
    if scheme == 'https':
        import ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection('127.0.0.1', port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        conn.request('GET', path, headers={'Connection': 'close'})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


class Request(threading.Thread):
    """One GET in a thread; ``result`` is (status, body) or the exception."""

    def __init__(self, port, path, scheme='http'):
        threading.Thread.__init__(self, daemon=True)
        self.port, self.path, self.scheme = port, path, scheme
        self.result = None
        self.start()

    def run(self):
        try:
            self.result = get(self.port, self.path, scheme=self.scheme)
        except Exception as ex:  # noqa: BLE001 (reported by the test)
            self.result = ex

    def answer(self, timeout=SOON):
        self.join(timeout)
        assert not self.is_alive(), 'no answer to %s within %ss' % (self.path, timeout)
        return self.result


class Gunicorn(object):
    """A gunicorn master serving APP, with its gate directory and logs."""

    def __init__(self, directory, kind, *args):
        self.dir = directory
        self.gate = os.path.join(directory, 'gate')
        os.makedirs(self.gate)
        with open(os.path.join(directory, 'gapp.py'), 'w') as f:
            f.write(APP)
        self.port = free_port()
        self.error_log = os.path.join(directory, 'error.log')
        self.output = open(os.path.join(directory, 'output.log'), 'wb')
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(
            [directory] + [os.path.abspath(p) for p in sys.path if p])
        env['GAPP_IMPL'] = 'gevent' if IMPL_IS_GEVENT else 'geventc'
        env['GAPP_GATE'] = self.gate
        env.pop('GEVENT_RESOLVER', None)
        launcher = ['-m', 'geventc.alias', '-m'] if kind.startswith('alias-') else ['-m']
        cmd = [sys.executable] + launcher + ['gunicorn', '-k', WORKER_CLASSES[kind], '-w', '2',
               '-b', '127.0.0.1:%d' % self.port, '--no-control-socket',
               '--graceful-timeout', '25', '--error-logfile', self.error_log,
               '--chdir', directory] + list(args) + ['gapp:app']
        self.proc = subprocess.Popen(cmd, cwd=directory, env=env,
                                     stdout=self.output, stderr=subprocess.STDOUT)
        self.scheme = 'https' if '--certfile' in args else 'http'
        self.held = 0
        wait_for(self._answers, 'the first answer', server=self)
        wait_for(lambda: len(self.workers()) == 2, 'the 2 workers', server=self)

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError('gunicorn exited with %s%s' % (self.proc.returncode, self.logs()))
        try:
            return get(self.port, '/', timeout=5, scheme=self.scheme)[0] == 200
        except OSError:
            return False

    def logs(self):
        text = []
        for name in ('error.log', 'output.log'):
            try:
                with open(os.path.join(self.dir, name), errors='replace') as f:
                    text.append('\n--- %s ---\n%s' % (name, f.read()))
            except OSError:
                pass
        return ''.join(text)

    @property
    def pid(self):
        return self.proc.pid

    def workers(self):
        return children_of(self.proc.pid)

    def started_pids(self):
        return {int(name.split('-')[1]) for name in os.listdir(self.gate)
                if name.startswith('started-')}

    def hold_one(self):
        """A held request, once the application has started it: (request, worker pid)."""
        self.held += 1
        tag = str(self.held)
        request = Request(self.port, '/hold?' + tag, self.scheme)

        def started():
            for name in os.listdir(self.gate):
                if name.startswith('started-') and name.endswith('-' + tag):
                    return int(name.split('-')[1])
            return None
        return request, wait_for(started, 'held request %s to start' % tag, server=self)

    def hold_on_every_worker(self, limit=60):
        """Held requests until each of the 2 workers has one in its application."""
        held = []
        pids = set()
        while len(pids) < 2:
            assert len(held) < limit, ('%d requests all went to workers %s%s'
                                       % (len(held), pids, self.logs()))
            request, pid = self.hold_one()
            held.append(request)
            pids.add(pid)
        return held, pids

    def open_gate(self):
        open(os.path.join(self.gate, 'open'), 'w').close()

    def signal(self, signum):
        self.proc.send_signal(signum)

    def wait(self, timeout=SOON):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError('gunicorn did not exit within %ss%s' % (timeout, self.logs()))

    def stop(self):
        self.open_gate()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(SOON)
            except subprocess.TimeoutExpired:
                for pid in self.workers():
                    os.kill(pid, signal.SIGKILL)
                self.proc.kill()
                self.proc.wait()
        self.output.close()


@pytest.fixture
def start_gunicorn(tmp_path):
    if not HAVE_GUNICORN:
        pytest.skip(NO_GUNICORN)
    started = []

    def start(kind, *args):
        server = Gunicorn(str(tmp_path / ('g%d' % len(started))), kind, *args)
        started.append(server)
        return server
    yield start
    for server in started:
        server.stop()


def assert_answered(request, pids=None):
    result = request.answer()
    assert isinstance(result, tuple), '%s failed: %r' % (request.path, result)
    status, body = result
    assert status == 200, (status, body)
    pid = int(body.split()[0])
    if pids is not None:
        assert pid in pids, (pid, pids)
    return pid


# -- the scenarios -----------------------------------------------------------------


@pytest.mark.parametrize('kind', ['stream', 'pywsgi'])
def test_concurrent_requests_are_served_while_every_worker_has_one_waiting(start_gunicorn, kind):
    server = start_gunicorn(kind)
    held, pids = server.hold_on_every_worker()

    fast = [Request(server.port, '/fast?%d' % i) for i in range(50)]
    served_by = [assert_answered(request, pids) for request in fast]

    assert all(request.is_alive() for request in held), 'a held request ended early'
    assert set(served_by) <= pids
    server.open_gate()
    for request in held:
        assert_answered(request, pids)


@pytest.mark.parametrize('kind', ['stream', 'pywsgi'])
def test_hup_reload_drops_no_request_and_replaces_the_workers(start_gunicorn, kind):
    server = start_gunicorn(kind)
    old = server.workers()
    assert len(old) == 2
    held, pids = server.hold_on_every_worker()
    assert pids == old

    stop = threading.Event()
    failures = []
    served_by = set()

    def keep_asking():
        while not stop.is_set():
            try:
                status, body = get(server.port, '/during')
            except Exception as ex:  # noqa: BLE001
                failures.append(repr(ex))
                continue
            if status != 200:
                failures.append((status, body))
            served_by.add(int(body.split()[0]))
    askers = [threading.Thread(target=keep_asking, daemon=True) for _ in range(4)]
    for asker in askers:
        asker.start()

    server.signal(signal.SIGHUP)
    wait_for(lambda: len(server.workers() - old) == 2, 'two new workers', server=server)
    wait_for(lambda: served_by - old, 'an answer from a new worker', server=server)
    # The old workers are draining: they still have their held requests.
    assert all(request.is_alive() for request in held), 'a held request ended early'

    server.open_gate()
    for request in held:
        assert_answered(request, old)
    wait_for(lambda: not (server.workers() & old), 'the old workers to exit', server=server)
    stop.set()
    for asker in askers:
        asker.join(SOON)
    assert not failures, failures[:5]
    new = server.workers()
    assert len(new) == 2 and not (new & old), (old, new)
    assert served_by & new


@pytest.mark.parametrize('kind', ['stream', 'pywsgi'])
def test_term_lets_requests_in_flight_finish_then_the_master_exits_0(start_gunicorn, kind):
    server = start_gunicorn(kind)
    held, pids = server.hold_on_every_worker()
    server.signal(signal.SIGTERM)

    def refused():
        # Once every worker has closed its copy of the listener, nothing
        # listens: the workers got TERM and stopped accepting.
        try:
            socket.create_connection(('127.0.0.1', server.port), timeout=5).close()
        except ConnectionRefusedError:
            return True
        return False
    wait_for(refused, 'the listener to close', server=server)
    assert server.proc.poll() is None, 'the master exited with requests in flight'
    assert all(request.is_alive() for request in held), 'a held request ended early'

    server.open_gate()
    for request in held:
        assert_answered(request, pids)
    assert server.wait() == 0, server.logs()
    assert not server.workers()


@pytest.mark.parametrize('kind', ['stream', 'pywsgi'])
def test_quit_exits_at_once_without_waiting_for_requests(start_gunicorn, kind):
    server = start_gunicorn(kind)
    held, _ = server.hold_on_every_worker()
    server.signal(signal.SIGQUIT)
    # The gate stays shut (the held requests would wait 90 s): the exit
    # within SOON is the workers' own.
    assert server.wait() == 0, server.logs()
    for request in held:
        result = request.answer()
        assert isinstance(result, (OSError, http.client.HTTPException)), result


def test_pywsgi_worker_writes_the_access_log_and_gunicorn_environ(start_gunicorn, tmp_path):
    access_log = str(tmp_path / 'access.log')
    server = start_gunicorn('pywsgi', '--access-logfile', access_log)
    status, body = get(server.port, '/environ?x=1')
    assert status == 200
    pid, _, raw_uri, sock = body.split()
    assert raw_uri == 'RAW_URI=/environ?x=1'
    assert sock == 'sock=True'

    def logged():
        with open(access_log) as f:
            return [line for line in f if '/environ?x=1' in line]
    line, = wait_for(logged, 'the access log line', server=server)
    # gunicorn's default format: h l u t "r" s b "f" "a"
    assert line.startswith('127.0.0.1 - - ['), line
    request, rest = line.split('] "', 1)[1].split('" ', 1)
    assert request == 'GET /environ?x=1 HTTP/1.1', line
    status, sent = rest.split()[:2]
    # pywsgi counts the bytes it sent, the head included (as gevent's).
    assert status == '200' and int(sent) > len(body), line

    # USR1: the workers reopen their log files (logrotate's way).
    os.rename(access_log, access_log + '.1')
    server.signal(signal.SIGUSR1)

    def reopened():
        if not os.path.exists(access_log):
            return False
        get(server.port, '/environ?after=usr1')
        with open(access_log) as f:
            return 'after=usr1' in f.read()
    wait_for(reopened, 'the access log to be reopened', server=server)


@pytest.mark.skipif(shutil.which('openssl') is None, reason='needs the openssl command')
@pytest.mark.parametrize('kind', ['stream', 'pywsgi'])
def test_https(start_gunicorn, tmp_path, kind):
    cert, key = str(tmp_path / 'cert.pem'), str(tmp_path / 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                    'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=localhost',
                    '-keyout', key, '-out', cert], check=True, capture_output=True)
    server = start_gunicorn(kind, '--certfile', cert, '--keyfile', key)
    held, pids = server.hold_on_every_worker()
    status, body = get(server.port, '/environ', scheme='https')
    assert status == 200 and int(body.split()[0]) in pids
    server.open_gate()
    for request in held:
        assert_answered(request, pids)


@pytest.mark.parametrize('kind', ['stream', 'pywsgi'])
def test_term_kills_what_outlasts_the_graceful_timeout(start_gunicorn, kind):
    server = start_gunicorn(kind, '--graceful-timeout', '2')
    held, _ = server.hold_on_every_worker()
    server.signal(signal.SIGTERM)
    # The gate stays shut: the workers end the held requests themselves
    # after 2 s, log it, and exit; the master with them.
    assert server.wait() == 0, server.logs()
    for request in held:
        result = request.answer()
        assert isinstance(result, (OSError, http.client.HTTPException)), result
    # Whether each worker logs "Worker graceful timeout" before the master's
    # KILL (due at the same moment) is a race: not asserted.
    assert not server.workers()


@pytest.mark.parametrize('kind', [
    'stream',
    # gevent's pywsgi never closes an idle keep-alive connection.
    pytest.param('pywsgi', marks=pytest.mark.geventc_only)])
def test_keep_alive_serves_several_requests_then_closes_an_idle_connection(start_gunicorn, kind):
    server = start_gunicorn(kind, '--keep-alive', '1')
    with socket.create_connection(('127.0.0.1', server.port), timeout=SOON) as conn:
        reader = conn.makefile('rb')
        pids = set()
        for i in range(3):
            conn.sendall(b'GET /ka?%d HTTP/1.1\r\nHost: x\r\n\r\n' % i)
            status_line = reader.readline()
            assert status_line.startswith(b'HTTP/1.1 200 '), status_line
            length = None
            for line in iter(reader.readline, b'\r\n'):
                name, _, value = line.partition(b':')
                if name.strip().lower() == b'content-length':
                    length = int(value)
            pids.add(int(reader.read(length).split()[0]))
        assert len(pids) == 1  # one connection, one worker
        # Idle past --keep-alive: the worker closes the connection.
        assert reader.read() == b''


@pytest.mark.geventc_only  # gunicorn's handler reads the environ gevent leaves unset
def test_pywsgi_worker_logs_a_refused_request_as_itself(start_gunicorn, tmp_path):
    access_log = str(tmp_path / 'access.log')
    server = start_gunicorn('pywsgi', '--access-logfile', access_log)
    with socket.create_connection(('127.0.0.1', server.port), timeout=SOON) as conn:
        # The second request has no Host: refused (400), after the first is served.
        conn.sendall(b'GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\n\r\n')
        received = b''
        while True:
            data = conn.recv(65536)
            if not data:
                break
            received += data
    assert received.startswith(b'HTTP/1.1 200 '), received
    assert b'HTTP/1.1 400 ' in received, received

    refusal = received[received.index(b'HTTP/1.1 400 '):]

    def logged():
        with open(access_log) as f:
            lines = [line for line in f if '"GET / HTTP/1.1"' not in line]
        return lines if len(lines) >= 2 else None
    lines = wait_for(logged, 'two access log lines', server=server)
    assert len(lines) == 2, lines
    assert '"GET /first HTTP/1.1" 200 ' in lines[0], lines
    # Not the previous request's line, status or size: the refused head was
    # not understood.
    assert '"- - -" 400 %d ' % len(refusal) in lines[1], lines


@pytest.mark.parametrize('kind', ['stream', 'pywsgi'])
def test_file_wrapper_and_application_error(start_gunicorn, kind):
    server = start_gunicorn(kind)
    status, body = get(server.port, '/file')
    assert status == 200
    with open(os.path.join(server.dir, 'gapp.py')) as f:
        assert body == f.read()
    status, _ = get(server.port, '/error')
    assert status == 500
    # The worker goes on serving.
    assert get(server.port, '/after')[0] == 200
    assert 'RuntimeError: the application failed' in server.logs()


@pytest.mark.geventc_only
def test_the_module_imports_without_gunicorn_and_says_what_is_missing():
    res = assert_ok(run_python("""
        import sys
        sys.modules['gunicorn'] = None   # as if not installed
        import geventc
        import geventc.gunicorn
        try:
            geventc.gunicorn.GeventcWorker(0, 0, [], None, 30, None, None)
        except ImportError as ex:
            print('ImportError', ex)
    """))
    assert res.stdout.startswith('ImportError geventc.gunicorn needs gunicorn (pip install gunicorn)'), res.stdout


@pytest.mark.geventc_only
def test_importing_geventc_does_not_import_gunicorn():
    res = assert_ok(run_python("""
        import sys
        import geventc, geventc.monkey, geventc.pywsgi, geventc.server
        print('gunicorn' in sys.modules)
    """))
    assert res.stdout.split() == ['False']


@pytest.mark.geventc_only
@pytest.mark.parametrize('kind', ['alias-stream', 'alias-pywsgi'])
def test_gunicorns_own_gevent_workers_run_on_geventc_through_the_alias(start_gunicorn, kind):
    # `python -m geventc.alias -m gunicorn -k gevent`: gunicorn imports
    # gevent, checks gevent.__version__ (>= 24.10.1) and runs its own worker.
    server = start_gunicorn(kind)
    held, pids = server.hold_on_every_worker()
    fast = [Request(server.port, '/fast?%d' % i) for i in range(20)]
    for request in fast:
        assert_answered(request, pids)
    server.open_gate()
    for request in held:
        assert_answered(request, pids)
    status, body = get(server.port, '/which')
    assert status == 200 and body.endswith(' gevent=geventc'), body   # gunicorn's gevent is geventc
    server.signal(signal.SIGTERM)
    assert server.wait() == 0
