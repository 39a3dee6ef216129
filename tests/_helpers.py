"""Helpers shared by the test modules (not a test module itself).

Anything that could kill or wedge the pytest process (signals, Ctrl-C,
fork, LoopExit in the main greenlet, libev assertions) runs in a child
Python started by :func:`run_python` / :func:`start_python`.  The child
gets the parent's ``sys.path`` (so it imports the same ``geventc``) and,
when ``GEVENTC_TEST_IMPL=gevent`` is set, the geventc -> gevent alias.
"""
import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import _alias

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)

IMPL_IS_GEVENT = _alias.alias_requested()

#: Default time limit for a child script.  Generous: a child that needs it
#: is wedged, and we want a failure rather than a hang.
CHILD_TIMEOUT = 30


def _prelude():
    paths = [TESTS_DIR] + [os.path.abspath(p) if p else os.getcwd() for p in sys.path]
    return (
        'import sys\n'
        'sys.path[:0] = %r\n'
        'import _alias\n'
        '_alias.install_if_requested()\n'
    ) % (paths,)


def script(code):
    """The full source of a child script: prelude + dedented *code*."""
    return _prelude() + textwrap.dedent(code)


def _env(extra_env=None):
    env = dict(os.environ)
    env.pop('PYTHONWARNINGS', None)
    env['PYTHONUNBUFFERED'] = '1'
    env['PYTHONFAULTHANDLER'] = '1'
    if extra_env:
        for k, v in extra_env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
    return env


def run_python(code, timeout=CHILD_TIMEOUT, extra_env=None, args=()):
    """Run *code* in a fresh interpreter; return CompletedProcess (text).

    On timeout the child is killed and an AssertionError carrying its
    output is raised (a wedged child is a test failure, never a hang).
    """
    proc = subprocess.Popen(
        [sys.executable, '-c', script(code)] + list(args),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=REPO_ROOT, env=_env(extra_env))
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(
            'child timed out after %ss\n--- stdout ---\n%s\n--- stderr ---\n%s'
            % (timeout, out, err))
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def child_states(parent=None):
    """{pid: /proc state letter} of the children of *parent* (this process
    by default), reaped or not."""
    me = str(os.getpid() if parent is None else parent)
    found = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if fields[1] == me:
            found[int(name)] = fields[0]
    return found


def zombies():
    """This process's children that exited and were not reaped."""
    return sorted(pid for pid, state in child_states().items() if state == 'Z')


def describe(res):
    return 'returncode=%s\n--- stdout ---\n%s\n--- stderr ---\n%s' % (
        res.returncode, res.stdout, res.stderr)


def assert_ok(res, expected_rc=0):
    """The child exited normally with *expected_rc* (never by a signal)."""
    assert res.returncode == expected_rc, describe(res)
    return res


def assert_not_killed_by_signal(res):
    assert res.returncode >= 0, 'child killed by signal %s\n%s' % (
        -res.returncode, describe(res))
    return res


class Child(object):
    """A running child interpreter whose stdout we read line by line."""

    def __init__(self, code, extra_env=None):
        self.proc = subprocess.Popen(
            [sys.executable, '-c', script(code)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=REPO_ROOT, env=_env(extra_env))
        self._buf = b''
        self.lines = []

    @property
    def pid(self):
        return self.proc.pid

    def readline(self, timeout=CHILD_TIMEOUT):
        """Next stdout line (str, stripped) or raise AssertionError on timeout/EOF."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b'\n' not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise AssertionError('no line from child within %ss; got so far %r; %s'
                                     % (timeout, self._buf, self._finish_text()))
            r, _, _ = select.select([fd], [], [], remaining)
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise AssertionError('child closed stdout; partial %r; %s'
                                         % (self._buf, self._finish_text()))
                self._buf += chunk
        line, self._buf = self._buf.split(b'\n', 1)
        line = line.decode('utf-8', 'replace').strip()
        self.lines.append(line)
        return line

    def send_signal(self, signum):
        self.proc.send_signal(signum)

    def wait(self, timeout=CHILD_TIMEOUT):
        """Wait for exit; return (returncode, remaining stdout, stderr)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            out, err = self.proc.communicate()
            raise AssertionError('child did not exit within %ss\nstdout=%r\nstderr=%r'
                                 % (timeout, self._buf + out, err))
        return (self.proc.returncode,
                (self._buf + out).decode('utf-8', 'replace'),
                err.decode('utf-8', 'replace'))

    def _finish_text(self):
        try:
            self.proc.kill()
            out, err = self.proc.communicate(timeout=5)
        except Exception:  # pragma: no cover - diagnostics only
            return ''
        return 'rc=%s stdout=%r stderr=%r' % (self.proc.returncode, out, err)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        try:
            self.proc.communicate(timeout=5)
        except Exception:  # pragma: no cover
            pass


def make_cert(directory, name='server', cn='localhost'):
    """A self-signed EC certificate for *cn* (and localhost, 127.0.0.1),
    made by the openssl command in *directory*: ``(cert_path, key_path)``."""
    cert = os.path.join(str(directory), name + '.pem')
    key = os.path.join(str(directory), name + '.key')
    subprocess.run(
        ['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
         '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=' + cn,
         '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
        check=True, capture_output=True, timeout=60)
    return cert, key
