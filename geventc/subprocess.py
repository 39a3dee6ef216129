"""Cooperative ``subprocess`` (gevent.subprocess): the stdlib's API, where only
the greenlet that waits for a child or its pipes blocks.

- The child is started by the stdlib's C primitive
  (``_posixsubprocess.fork_exec``, with ``vfork`` where the stdlib would use
  it), so every argument of :class:`subprocess.Popen` behaves as there; the
  report of a failed ``exec`` is read without blocking the hub.
- The child is watched through a pidfd in the loop of the thread that
  started it (native threads included), and reaped by that watcher: no
  ``SIGCHLD`` handler, no zombie once it exits, ``wait``/``poll`` get the
  real status even when a cooperative ``waitpid(-1)`` got there first (see
  :mod:`geventc.os`).
- ``stdin``/``stdout``/``stderr`` are cooperative file objects
  (:class:`geventc.fileobject.FileObject`).
- ``communicate()`` reads and writes in greenlets of their own: after
  ``TimeoutExpired`` (which carries the output so far, as the stdlib's does)
  nothing is lost and ``communicate()`` may be called again.

Errors are the stdlib's: ``FileNotFoundError`` for a missing program,
``TimeoutExpired``, ``CalledProcessError``, ``BrokenPipeError`` when writing
to a child that closed its input (Python ignores ``SIGPIPE``).
"""
import builtins
import errno
import os
import signal
import subprocess as __subprocess__
import sys
import types
import warnings
from time import monotonic as _time

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

from _posixsubprocess import fork_exec as _c_fork_exec
import _posixsubprocess

from geventc import _children
from geventc._core import _child_watcher
from geventc._hub import Greenlet, GreenletExit, get_hub, joinall, killall
from geventc.event import AsyncResult
from geventc.os import _watched_from_this_thread

__implements__ = [
    'Popen', 'call', 'check_call', 'check_output', 'run', 'getoutput', 'getstatusoutput',
    '_use_posix_spawn', '_USE_POSIX_SPAWN',
]

# The stdlib's own, unchanged: constants, exceptions, the result type.
PIPE = __subprocess__.PIPE
STDOUT = __subprocess__.STDOUT
DEVNULL = __subprocess__.DEVNULL
SubprocessError = __subprocess__.SubprocessError
CalledProcessError = __subprocess__.CalledProcessError
TimeoutExpired = __subprocess__.TimeoutExpired
CompletedProcess = __subprocess__.CompletedProcess
list2cmdline = __subprocess__.list2cmdline

__imports__ = ['PIPE', 'STDOUT', 'DEVNULL', 'SubprocessError', 'CalledProcessError',
               'TimeoutExpired', 'CompletedProcess']

#: The stdlib's primitive that forks and execs (geventc uses it; exported
#: so code that asks whether the C implementation is in use gets the truth).
_fork_exec = _c_fork_exec

__all__ = __implements__ + __imports__ + ['_posixsubprocess', '_fork_exec']

mswindows = False

try:
    MAXFD = os.sysconf('SC_OPEN_MAX')
except (AttributeError, ValueError, OSError):  # pragma: no cover
    MAXFD = 256

# Module names so that tests (and code forking by hand) may replace them.
os_close = os.close
_set_inheritable = os.set_inheritable

_WNOHANG = os.WNOHANG
_pidfd_send_signal = getattr(signal, 'pidfd_send_signal', None)


def _use_posix_spawn():
    """Whether Popen starts children with ``os.posix_spawn``: never (it
    has ``fork_exec`` with ``vfork``, as fast and with every argument)."""
    return False


_USE_POSIX_SPAWN = False


def FileObject(*args, **kwargs):
    """The cooperative file object class in use (:mod:`geventc.fileobject`),
    imported on first use so that ``GEVENT_FILE`` may still choose it."""
    from geventc.fileobject import FileObject as _FileObject
    globals()['FileObject'] = _FileObject
    return _FileObject(*args, **kwargs)


def _text_encoding():
    # The stdlib's default for text mode (locale, or UTF-8 mode), with its
    # EncodingWarning when asked for.
    finder = getattr(__subprocess__, '_text_encoding', None)
    if finder is not None:
        return finder()
    import locale  # pragma: no cover - older Pythons
    return locale.getpreferredencoding(False)


def _remaining(endtime):
    if endtime is None:
        return None
    return max(endtime - _time(), 0.0)


class _Failure(object):
    # What a communicating greenlet returns instead of raising, so that the
    # error reaches communicate()'s caller and is not also printed by the hub.
    __slots__ = ('exc',)

    def __init__(self, exc):
        self.exc = exc


def _reraise_failure(result):
    if isinstance(result, _Failure):
        try:
            raise result.exc
        finally:
            result = None


class _Communication(object):
    """The greenlets of one Popen's communicate(): one feeding stdin, one per
    output pipe collecting what it reads. Made once per Popen, so a call that
    times out leaves them running and the next call finds what they read.
    Iterating gives the greenlets."""

    __slots__ = ('stdin', 'stdout', 'stderr', 'output', '_greenlets')

    def __init__(self, popen, input_data):
        self.stdin = self.stdout = self.stderr = None
        #: pipe name -> the chunks read so far
        self.output = {}
        if popen.stdin:
            self.stdin = Greenlet.spawn(self._feed, popen, input_data)
        for name in ('stdout', 'stderr'):
            pipe = getattr(popen, name)
            if pipe:
                chunks = self.output[name] = []
                if not pipe.closed:  # closed by the application: b'', as the stdlib
                    setattr(self, name, Greenlet.spawn(self._collect, pipe, chunks))
        self._greenlets = tuple(g for g in (self.stdin, self.stdout, self.stderr) if g is not None)

    def __iter__(self):
        return iter(self._greenlets)

    def __len__(self):
        return len(self._greenlets)

    def __bool__(self):
        return bool(self._greenlets)

    def joined(self, name):
        chunks = self.output.get(name)
        return None if chunks is None else b''.join(chunks)

    @staticmethod
    def _feed(popen, data):
        try:
            popen._stdin_write(data)
        except GreenletExit:
            raise
        except BaseException as ex:
            return _Failure(ex)

    @staticmethod
    def _collect(pipe, chunks):
        # Bytes, a chunk at a time, so the output so far is there for
        # TimeoutExpired; text mode decodes once at the end, as the stdlib.
        stream = pipe.buffer if hasattr(pipe, 'buffer') else pipe
        read = getattr(stream, 'read1', stream.read)
        try:
            while True:
                chunk = read(65536)
                if not chunk:
                    return None
                chunks.append(chunk)
        except GreenletExit:
            raise
        except BaseException as ex:
            return _Failure(ex)


class _LinkToPopen(object):
    # rawlink() callbacks get the Popen, not its AsyncResult (gevent's linkproxy).
    __slots__ = ('callback', 'popen')

    def __init__(self, callback, popen):
        self.callback = callback
        self.popen = popen

    def __call__(self, _result):
        self.callback(self.popen)


class Popen(object):
    """A child process, as :class:`subprocess.Popen` (same arguments, same
    attributes and errors); waiting for it, and the ``stdin``, ``stdout``
    and ``stderr`` pipes, block only the calling greenlet.

    ``threadpool`` (gevent's, for Windows) must be None. Usable from any
    thread with a hub; ``gevent.wait([popen])`` works (``rawlink``)."""

    __class_getitem__ = classmethod(types.GenericAlias)

    _child_created = False
    _communication_started = False
    _communicating_greenlets = None
    _watcher = None
    _devnull = None

    def __init__(self, args, bufsize=-1, executable=None,
                 stdin=None, stdout=None, stderr=None,
                 preexec_fn=None, close_fds=True, shell=False,
                 cwd=None, env=None, universal_newlines=None,
                 startupinfo=None, creationflags=0,
                 restore_signals=True, start_new_session=False,
                 pass_fds=(),
                 encoding=None, errors=None, text=None,
                 group=None, extra_groups=None, user=None,
                 umask=-1, pipesize=-1, process_group=None,
                 threadpool=None):
        if bufsize is None:
            bufsize = -1
        if not isinstance(bufsize, int):
            raise TypeError('bufsize must be an integer')
        if pipesize is None:
            pipesize = -1
        if not isinstance(pipesize, int):
            raise TypeError('pipesize must be an integer')
        if stdout is STDOUT:
            raise ValueError('STDOUT can only be used for stderr')
        if pass_fds and not close_fds:
            warnings.warn('pass_fds overriding close_fds.', RuntimeWarning)
            close_fds = True
        if startupinfo is not None:
            raise ValueError('startupinfo is only supported on Windows platforms')
        if creationflags != 0:
            raise ValueError('creationflags is only supported on Windows platforms')
        if threadpool is not None:
            raise ValueError('threadpool is only used on Windows')
        if (text is not None and universal_newlines is not None
                and bool(universal_newlines) != bool(text)):
            raise SubprocessError('Cannot disambiguate when both text '
                                  'and universal_newlines are supplied but '
                                  'different. Pass one or the other.')

        self.args = args
        self.stdin = self.stdout = self.stderr = None
        self.pid = None
        self.returncode = None
        self.encoding = encoding
        self.errors = errors
        self.pipesize = pipesize
        self.text_mode = encoding or errors or text or universal_newlines
        if self.text_mode and encoding is None:
            self.encoding = encoding = _text_encoding()
        #: Set to the return code when the child exits (gevent's attribute).
        self.result = AsyncResult()
        self._links = {}
        self._hub = get_hub()
        self._loop = self._hub.loop
        # How long to keep waiting after a first Ctrl-C (the stdlib's politeness).
        self._sigint_wait_secs = 0.25
        self._closed_child_pipe_fds = False

        if process_group is None:
            process_group = -1  # fork_exec takes an int
        uid, gid, gids = _user_and_groups(user, group, extra_groups)

        (p2cread, p2cwrite,
         c2pread, c2pwrite,
         errread, errwrite) = self._get_handles(stdin, stdout, stderr)
        try:
            self._open_pipes(p2cwrite, c2pread, errread, bufsize)
            self._execute_child(args, executable, preexec_fn, close_fds,
                                pass_fds, cwd, env, shell,
                                p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite,
                                restore_signals, gid, gids, uid, umask,
                                start_new_session, process_group)
        except:
            for f in filter(None, (self.stdin, self.stdout, self.stderr)):
                try:
                    f.close()
                except OSError:
                    pass
            if not self._closed_child_pipe_fds:
                to_close = []
                if stdin == PIPE:
                    to_close.append(p2cread)
                if stdout == PIPE:
                    to_close.append(c2pwrite)
                if stderr == PIPE:
                    to_close.append(errwrite)
                if self._devnull is not None:
                    to_close.append(self._devnull)
                for fd in to_close:
                    try:
                        os_close(fd)
                    except OSError:
                        pass
            raise

    def __repr__(self):
        return '<%s at 0x%x pid=%r returncode=%r>' % (
            type(self).__name__, id(self), self.pid, self.returncode)

    @property
    def universal_newlines(self):
        # An alias of text_mode, as in the stdlib (bpo-31756).
        return self.text_mode

    @universal_newlines.setter
    def universal_newlines(self, universal_newlines):
        self.text_mode = bool(universal_newlines)

    def _translate_newlines(self, data, encoding, errors):
        data = data.decode(encoding, errors)
        return data.replace('\r\n', '\n').replace('\r', '\n')

    # -- pipes ---------------------------------------------------------------------

    def _get_devnull(self):
        if self._devnull is None:
            self._devnull = os.open(os.devnull, os.O_RDWR)
        return self._devnull

    def _pipe(self, child_end_index):
        r, w = os.pipe()  # close-on-exec
        if self.pipesize > 0 and hasattr(fcntl, 'F_SETPIPE_SZ'):
            try:
                fcntl.fcntl((r, w)[child_end_index], fcntl.F_SETPIPE_SZ, self.pipesize)
            except BaseException:
                os_close(r)
                os_close(w)
                raise
        return r, w

    def _handle(self, spec, child_end, made):
        # One of stdin/stdout/stderr as Popen takes it: (the child's
        # descriptor, ours) with -1 for none; *child_end* is the index of
        # the child's end in a new pipe (0: the child reads).
        if spec is None:
            return -1, -1
        if spec == PIPE:
            pipe = self._pipe(1)
            made += pipe
            return pipe[child_end], pipe[1 - child_end]
        if spec == DEVNULL:
            return self._get_devnull(), -1
        if isinstance(spec, int):
            return spec, -1
        return spec.fileno(), -1

    def _get_handles(self, stdin, stdout, stderr):
        """``(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)``:
        the child's descriptors and our ends of the pipes (-1 when absent)."""
        made = []
        try:
            p2cread, p2cwrite = self._handle(stdin, 0, made)
            c2pwrite, c2pread = self._handle(stdout, 1, made)
            if stderr == STDOUT:
                errread = -1
                errwrite = c2pwrite if c2pwrite != -1 else sys.__stdout__.fileno()
            else:
                errwrite, errread = self._handle(stderr, 1, made)
        except BaseException:
            for fd in made:
                os_close(fd)
            if self._devnull is not None:
                os_close(self._devnull)
                self._devnull = None
            raise
        return p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite

    def _open_pipes(self, p2cwrite, c2pread, errread, bufsize):
        # Wrapped before the child starts, so a child that exits at once
        # cannot leave us a descriptor we fail to wrap (bpo-8458).
        text = self.text_mode
        if p2cwrite != -1:
            self.stdin = (FileObject(p2cwrite, 'w', bufsize, encoding=self.encoding, errors=self.errors)
                          if text else FileObject(p2cwrite, 'wb', bufsize))
        if c2pread != -1:
            self.stdout = (FileObject(c2pread, 'r', bufsize, encoding=self.encoding, errors=self.errors)
                           if text else FileObject(c2pread, 'rb', bufsize))
        if errread != -1:
            self.stderr = (FileObject(errread, 'r', bufsize, encoding=self.encoding, errors=self.errors)
                           if text else FileObject(errread, 'rb', bufsize))

    def _close_pipe_fds(self, p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite):
        # The child has its copies: close the child's ends we made.
        devnull = self._devnull
        try:
            for ours, theirs in ((p2cwrite, p2cread), (c2pread, c2pwrite), (errread, errwrite)):
                if ours != -1 and theirs != -1 and theirs != devnull:
                    os_close(theirs)
            if devnull is not None:
                self._devnull = None
                os_close(devnull)
        finally:
            self._closed_child_pipe_fds = True

    # -- starting the child --------------------------------------------------------------

    def _execute_child(self, args, executable, preexec_fn, close_fds,
                       pass_fds, cwd, env, shell,
                       p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite,
                       restore_signals, gid, gids, uid, umask,
                       start_new_session, process_group):
        if isinstance(args, (str, bytes)):
            args = [args]
        elif isinstance(args, os.PathLike):
            if shell:
                raise TypeError('path-like args is not allowed when shell is true')
            args = [args]
        else:
            args = list(args)
        if shell:
            unix_shell = '/system/bin/sh' if hasattr(sys, 'getandroidapilevel') else '/bin/sh'
            args = [unix_shell, '-c'] + args
            if executable:
                args[0] = executable
        if executable is None:
            executable = args[0]
        sys.audit('subprocess.Popen', executable, args, cwd, env)

        # Everything that allocates is done here: the child (vfork'ed, maybe)
        # only calls async-signal-safe functions.
        if env is not None:
            env_list = []
            for k, v in env.items():
                k = os.fsencode(k)
                if b'=' in k:
                    raise ValueError('illegal environment variable name')
                env_list.append(k + b'=' + os.fsencode(v))
        else:
            env_list = None
        orig_executable = executable
        executable = os.fsencode(executable)
        if os.path.dirname(executable):
            executable_list = (executable,)
        else:
            executable_list = tuple(os.path.join(os.fsencode(d), executable)
                                    for d in os.get_exec_path(env))
        for fd in (p2cread, c2pwrite, errwrite):
            _make_blocking(fd)

        # The child reports a failed exec here; close-on-exec tells success.
        errpipe_read, errpipe_write = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        low_fds = []
        while errpipe_write < 3:  # not where the child's stdio goes
            low_fds.append(errpipe_write)
            errpipe_write = os.dup(errpipe_write)
        for fd in low_fds:
            os_close(fd)
        try:
            try:
                fds_to_keep = set(pass_fds)
                fds_to_keep.add(errpipe_write)
                self.pid = _c_fork_exec(
                    args, executable_list,
                    close_fds, tuple(sorted(map(int, fds_to_keep))),
                    cwd, env_list,
                    p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite,
                    errpipe_read, errpipe_write,
                    restore_signals, start_new_session, process_group,
                    gid, gids, uid, umask,
                    preexec_fn, getattr(__subprocess__, '_USE_VFORK', True))
                self._child_created = True
                self._watch()
            finally:
                os_close(errpipe_write)
            self._close_pipe_fds(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)
            errpipe_data = self._read_errpipe(errpipe_read)
        finally:
            os_close(errpipe_read)
        if errpipe_data:
            self._raise_child_exception(errpipe_data, orig_executable, cwd)

    def _watch(self):
        watcher = self._watcher = _child_watcher(self._loop, self.pid, True)
        watcher.start(self._on_child, watcher)
        _watched_from_this_thread(watcher)

    def _read_errpipe(self, fd):
        data = bytearray()
        watcher = None
        try:
            while True:
                try:
                    part = os.read(fd, 50000)
                except BlockingIOError:
                    if watcher is None:
                        watcher = self._loop.io(fd, 1)
                    self._hub.wait(watcher)
                    continue
                data += part
                if not part or len(data) > 50000:
                    return bytes(data)
        finally:
            if watcher is not None:
                watcher.close()

    def _raise_child_exception(self, data, orig_executable, cwd):
        # The child died before or in exec: reap it, then raise what it
        # reported ("ExceptionName:hex errno:message", from _posixsubprocess).
        try:
            self.wait()
        except BaseException:  # pragma: no cover - reported below anyway
            pass
        try:
            exception_name, hex_errno, err_msg = data.split(b':', 2)
            err_msg = err_msg.decode()
        except ValueError:
            exception_name = b'SubprocessError'
            hex_errno = b'0'
            err_msg = 'Bad exception data from child: {!r}'.format(data)
        child_exception_type = getattr(builtins, exception_name.decode('ascii'), SubprocessError)
        if issubclass(child_exception_type, OSError) and hex_errno:
            errno_num = int(hex_errno, 16)
            if err_msg == 'noexec':
                err_msg = ''
                err_filename = cwd  # chdir(cwd) failed
            else:
                err_filename = orig_executable
            if errno_num != 0:
                err_msg = os.strerror(errno_num)
            raise child_exception_type(errno_num, err_msg, err_filename)
        raise child_exception_type(err_msg)

    # -- the child's exit ------------------------------------------------------------------

    def _on_child(self, watcher):
        self._child_exited(watcher.rstatus)

    def _child_exited(self, status):
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.close()
        if self.returncode is None:
            self._handle_exitstatus(status)
        self.result.set(self.returncode)

    def _handle_exitstatus(self, sts):
        if os.WIFSTOPPED(sts):
            self.returncode = -os.WSTOPSIG(sts)
        else:
            self.returncode = os.waitstatus_to_exitcode(sts)

    def _check_exited_now(self):
        # Ask the child's pidfd directly, so that polling in a loop that never
        # yields still sees the exit.
        watcher = self._watcher
        if watcher is None:
            return
        status = _children.reap(self.pid, watcher.pidfd)
        if status is not None:
            self._child_exited(status)

    def poll(self):
        """The return code if the child has exited, else None (never blocks)."""
        if self.returncode is None:
            self._check_exited_now()
        return self.returncode

    _internal_poll = poll

    def wait(self, timeout=None, _raise_exc=True):
        """Wait (cooperatively) for the child to exit; return :attr:`returncode`.
        Raises :exc:`TimeoutExpired` after *timeout* seconds."""
        if self.returncode is not None:
            return self.returncode
        endtime = None if timeout is None else _time() + timeout
        try:
            return self._wait(timeout, _raise_exc)
        except KeyboardInterrupt:
            self._wait_after_sigint(endtime)
            raise

    def _wait_after_sigint(self, endtime):
        # Give the child, which got the SIGINT too, a moment (the stdlib's
        # rule, once per Popen), at most until *endtime*.
        sigint_timeout = self._sigint_wait_secs
        if endtime is not None:
            sigint_timeout = min(sigint_timeout, _remaining(endtime))
        self._sigint_wait_secs = 0
        try:
            self._wait(sigint_timeout)
        except TimeoutExpired:
            pass

    def _wait(self, timeout, raise_exc=True):
        if self.returncode is None:
            self.result.wait(timeout)
        if self.returncode is None and raise_exc and timeout is not None:
            raise TimeoutExpired(self.args, timeout)
        return self.returncode

    def rawlink(self, callback):
        """Call ``callback(self)`` (in the hub) once the child has exited."""
        link = self._links.get(callback)
        if link is None:
            link = self._links[callback] = _LinkToPopen(callback, self)
        self.result.rawlink(link)

    def unlink(self, callback):
        link = self._links.pop(callback, None)
        if link is not None:
            self.result.unlink(link)

    def send_signal(self, sig):
        """Send *sig* to the child, unless it is known to have exited (through
        its pidfd: never to a process that took over a recycled pid)."""
        self.poll()
        if self.returncode is not None:
            return
        watcher = self._watcher
        fd = watcher.pidfd if watcher is not None else -1
        try:
            if fd >= 0 and _pidfd_send_signal is not None:
                _pidfd_send_signal(fd, sig)
            else:
                os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def terminate(self):
        """Send SIGTERM."""
        self.send_signal(signal.SIGTERM)

    def kill(self):
        """Send SIGKILL."""
        self.send_signal(signal.SIGKILL)

    # -- communicating -----------------------------------------------------------------------

    def _stdin_write(self, input):
        # Feed *input*, then close stdin; a child that stopped reading is not
        # an error (the stdlib ignores EPIPE, and EINVAL from a dead child).
        try:
            if not self._stdin_flushed():
                return
            if input:
                if self.text_mode and isinstance(input, str):
                    input = input.encode(self.encoding, self.errors or 'strict')
                stream = self.stdin.buffer if self.text_mode else self.stdin
                view = memoryview(input).cast('B')
                while view:
                    written = stream.write(view)
                    view = view[written if written is not None else len(view):]
                stream.flush()
        except BrokenPipeError:
            pass
        except OSError as ex:
            if ex.errno != errno.EINVAL:
                raise
        finally:
            try:
                self.stdin.close()
            except BrokenPipeError:
                pass
            except OSError as ex:
                if ex.errno != errno.EINVAL:
                    raise

    def _stdin_flushed(self):
        # What the application wrote to stdin itself goes first.
        try:
            self.stdin.flush()
        except BrokenPipeError:
            return False
        return True

    def communicate(self, input=None, timeout=None):
        """Send *input* to stdin, read stdout and stderr to their end, wait for
        the child; return ``(stdout, stderr)``. On :exc:`TimeoutExpired` (with
        the output so far) nothing is lost: call again to go on."""
        if self._communication_started and input:
            raise ValueError('Cannot send input after starting communication')
        if (timeout is None and not self._communication_started
                and [self.stdin, self.stdout, self.stderr].count(None) >= 2):
            # One pipe at most: no greenlet needed.
            stdout = stderr = None
            if self.stdin:
                self._stdin_write(input)
            elif self.stdout:
                stdout = self.stdout.read()
                self.stdout.close()
            elif self.stderr:
                stderr = self.stderr.read()
                self.stderr.close()
            self.wait()
            return stdout, stderr

        endtime = None if timeout is None else _time() + timeout
        try:
            stdout, stderr = self._communicate(input, endtime, timeout)
        except KeyboardInterrupt:
            self._wait_after_sigint(endtime)
            raise
        finally:
            self._communication_started = True
        self.wait(timeout=_remaining(endtime))
        return stdout, stderr

    def _communicate(self, input, endtime, orig_timeout):
        comm = self._communicating_greenlets
        if comm is None:
            comm = self._communicating_greenlets = _Communication(self, input)
        if not comm and orig_timeout is not None:
            # Nothing to talk to, but the timeout still applies.
            self._wait(_remaining(endtime))
        done = joinall(list(comm), timeout=_remaining(endtime))
        # A pipe's error wins over the timeout (the stdlib raises it first).
        for glet in done:
            _reraise_failure(glet.value)
        if len(done) != len(comm):
            raise TimeoutExpired(self.args, orig_timeout,
                                 output=comm.joined('stdout'), stderr=comm.joined('stderr'))
        for pipe in (self.stdout, self.stderr):
            if pipe:
                pipe.close()
        stdout, stderr = comm.joined('stdout'), comm.joined('stderr')
        if self.text_mode:
            # The pipes' text layers were made with these.
            errors = self.errors or 'strict'
            if stdout is not None:
                stdout = self._translate_newlines(stdout, self.encoding, errors)
            if stderr is not None:
                stderr = self._translate_newlines(stderr, self.encoding, errors)
        return stdout, stderr

    # -- context manager, finalisation ---------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, exc_type, value, traceback):
        comm = self._communicating_greenlets
        if comm is not None:
            running = [g for g in comm if not g.dead]
            if running:
                killall(running)
        for pipe in (self.stdout, self.stderr):
            if pipe:
                try:
                    pipe.close()
                except RuntimeError:
                    # Another greenlet is parked in a read of it ("reentrant
                    # call"): it is closed all the same, and that reader woken.
                    pass
        try:  # flushing stdin may raise
            if self.stdin:
                self.stdin.close()
        finally:
            if exc_type == KeyboardInterrupt:
                if self._sigint_wait_secs > 0:
                    try:
                        self._wait(self._sigint_wait_secs)
                    except TimeoutExpired:
                        pass
                self._sigint_wait_secs = 0
                return
            self.wait()

    def __del__(self, _warn=warnings.warn):
        if not self._child_created:
            return
        if self.returncode is None:
            # The watcher holds us while the child runs: we get here only if
            # its loop went away first.
            _warn('subprocess %s is still running' % self.pid, ResourceWarning, source=self)

    # -- gevent's helpers for code that forks by hand ---------------------------------------------

    _POSSIBLE_FD_DIRS = ('/proc/self/fd', '/dev/fd')

    @classmethod
    def _close_fds(cls, keep, errpipe_write):
        """In a forked child: close every descriptor from 3 up except *keep*
        (made inheritable, bar *errpipe_write*)."""
        for path in cls._POSSIBLE_FD_DIRS:
            if os.path.isdir(path):
                return cls._close_fds_from_path(path, keep, errpipe_write)
        return cls._close_fds_brute_force(keep, errpipe_write)

    @classmethod
    def _close_fds_from_path(cls, path, keep, errpipe_write):
        try:
            fds = [int(name) for name in os.listdir(path)]
        except (ValueError, OSError):
            return cls._close_fds_brute_force(keep, errpipe_write)
        for fd in keep:
            if fd != errpipe_write:
                _set_inheritable(fd, True)
        for fd in fds:
            if fd >= 3 and fd not in keep:
                try:
                    os_close(fd)
                except OSError:
                    pass

    @classmethod
    def _close_fds_brute_force(cls, keep, errpipe_write):
        keep = sorted(keep)
        os.closerange(3, keep[0])
        os.closerange(keep[-1] + 1, MAXFD)
        for fd in range(keep[0], keep[-1]):
            if fd in keep:
                if fd != errpipe_write:
                    _set_inheritable(fd, True)
                continue
            try:
                os_close(fd)
            except OSError:
                pass


def _make_blocking(fd):
    # The child's stdio must block (gevent#134): a FileObjectPosix given as
    # stdin left its descriptor non-blocking, which most programs cannot
    # read. The flag belongs to the open file, so the caller's object sees
    # the change, as in gevent.
    if fd < 0 or fcntl is None:
        return
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        if flags & os.O_NONBLOCK:
            fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
    except OSError:
        pass


def _user_and_groups(user, group, extra_groups):
    """``(uid, gid, gids)`` from Popen's *user*, *group*, *extra_groups*
    (names or numbers), checked as the stdlib checks them."""
    gid = None
    if group is not None:
        if not hasattr(os, 'setregid'):
            raise ValueError("The 'group' parameter is not supported on the current platform")
        if isinstance(group, str):
            gid = _group_id(group, "The group parameter cannot be a string on systems without the grp module")
        elif isinstance(group, int):
            gid = group
        else:
            raise TypeError('Group must be a string or an integer, not {}'.format(type(group)))
        if gid < 0:
            raise ValueError(f'Group ID cannot be negative, got {gid}')

    gids = None
    if extra_groups is not None:
        if not hasattr(os, 'setgroups'):
            raise ValueError("The 'extra_groups' parameter is not supported on the current platform")
        if isinstance(extra_groups, str):
            raise ValueError('Groups must be a list, not a string')
        gids = []
        for extra_group in extra_groups:
            if isinstance(extra_group, str):
                gids.append(_group_id(extra_group, 'Items in extra_groups cannot be strings on '
                                                   'systems without the grp module'))
            elif isinstance(extra_group, int):
                gids.append(extra_group)
            else:
                raise TypeError('Items in extra_groups must be a string or integer, not {}'
                                .format(type(extra_group)))
        for gid_check in gids:
            if gid_check < 0:
                raise ValueError(f'Group ID cannot be negative, got {gid_check}')

    uid = None
    if user is not None:
        if not hasattr(os, 'setreuid'):
            raise ValueError("The 'user' parameter is not supported on the current platform")
        if isinstance(user, str):
            try:
                import pwd
            except ImportError:  # pragma: no cover
                raise ValueError('The user parameter cannot be a string on systems without the pwd module')
            uid = pwd.getpwnam(user).pw_uid
        elif isinstance(user, int):
            uid = user
        else:
            raise TypeError('User must be a string or an integer')
        if uid < 0:
            raise ValueError(f'User ID cannot be negative, got {uid}')
    return uid, gid, gids


def _group_id(name, no_grp_message):
    try:
        import grp
    except ImportError:  # pragma: no cover
        raise ValueError(no_grp_message)
    return grp.getgrnam(name).gr_gid


# -- the functions -----------------------------------------------------------------------------

def call(*popenargs, timeout=None, **kwargs):
    """Run the command, wait for it; return its return code."""
    with Popen(*popenargs, **kwargs) as p:
        try:
            return p.wait(timeout=timeout)
        except:  # Including KeyboardInterrupt, wait handled that.
            p.kill()
            # __exit__ waits for it.
            raise


def check_call(*popenargs, **kwargs):
    """Run the command, wait for it; :exc:`CalledProcessError` unless it
    returned 0 (then return 0)."""
    retcode = call(*popenargs, **kwargs)
    if retcode:
        cmd = kwargs.get('args')
        if cmd is None:
            cmd = popenargs[0]
        raise CalledProcessError(retcode, cmd)
    return 0


def check_output(*popenargs, timeout=None, **kwargs):
    """Run the command and return its output; :exc:`CalledProcessError`
    (with the output) unless it returned 0."""
    for kw in ('stdout', 'check'):
        if kw in kwargs:
            raise ValueError(f'{kw} argument not allowed, it will be overridden.')
    if 'input' in kwargs and kwargs['input'] is None:
        # input=None has always meant "an empty input" here.
        text = (kwargs.get('universal_newlines') or kwargs.get('text')
                or kwargs.get('encoding') or kwargs.get('errors'))
        kwargs['input'] = '' if text else b''
    return run(*popenargs, stdout=PIPE, timeout=timeout, check=True, **kwargs).stdout


def run(*popenargs, input=None, capture_output=False, timeout=None, check=False, **kwargs):
    """Run the command and wait for it; return a :class:`CompletedProcess`.

    *input* goes to its stdin, *capture_output* pipes stdout and stderr, a
    *timeout* kills it (:exc:`TimeoutExpired` carries the output so far),
    *check* raises :exc:`CalledProcessError` unless it returned 0; the
    other arguments are :class:`Popen`'s."""
    if input is not None:
        if kwargs.get('stdin') is not None:
            raise ValueError('stdin and input arguments may not both be used.')
        kwargs['stdin'] = PIPE
    if capture_output:
        if kwargs.get('stdout') is not None or kwargs.get('stderr') is not None:
            raise ValueError('stdout and stderr arguments may not be used with capture_output.')
        kwargs['stdout'] = PIPE
        kwargs['stderr'] = PIPE
    with Popen(*popenargs, **kwargs) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except TimeoutExpired:
            process.kill()
            # The exception has the output so far; the child's pipes may be
            # held open by its own children, so do not wait for their end.
            process.wait()
            raise
        except:  # Including KeyboardInterrupt, communicate handled that.
            process.kill()
            # __exit__ waits for it.
            raise
        retcode = process.poll()
        if check and retcode:
            raise CalledProcessError(retcode, process.args, output=stdout, stderr=stderr)
    return CompletedProcess(process.args, retcode, stdout, stderr)


def getstatusoutput(cmd, *, encoding=None, errors=None):
    """``(exitcode, output)`` of *cmd* run by the shell (stderr included, one
    trailing newline removed)."""
    try:
        data = check_output(cmd, shell=True, text=True, stderr=STDOUT,
                            encoding=encoding, errors=errors)
        exitcode = 0
    except CalledProcessError as ex:
        data = ex.output
        exitcode = ex.returncode
    if data[-1:] == '\n':
        data = data[:-1]
    return exitcode, data


def getoutput(cmd, *, encoding=None, errors=None):
    """The output of *cmd* run by the shell (see :func:`getstatusoutput`)."""
    return getstatusoutput(cmd, encoding=encoding, errors=errors)[1]
