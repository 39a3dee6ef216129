"""An interactive Python console over a socket, inside a running process
(gevent.backdoor).

Each connection gets its own :class:`code.InteractiveConsole` (its own
locals) in a greenlet of the server's pool; stopping the server kills them.

.. warning:: there is no authentication: anyone who can connect can do
   anything the process can. Bind to a local address (``127.0.0.1``) or a
   UNIX socket only.

While consoles are open, ``sys.stdin``, ``sys.stdout`` and ``sys.stderr``
are stand-ins that send each greenlet to its own stream: a console's
greenlet reads and writes its connection; every other greenlet (and
native thread) still uses the streams that were in place before. (gevent
swaps the streams on each switch into a console greenlet; the stand-ins
give the same result without a hook on every switch.)
"""
import socket
import sys
import weakref
from code import InteractiveConsole

from geventc._hub import getcurrent
from geventc.pool import Pool
from geventc.server import StreamServer

__all__ = ['BackdoorServer']

if not hasattr(sys, 'ps1'):
    sys.ps1 = '>>> '
if not hasattr(sys, 'ps2'):
    sys.ps2 = '... '


class _PerGreenletStream(object):
    """``sys.stdin``/``stdout``/``stderr`` while consoles are open: the
    current greenlet's console stream, else the stream it replaced."""

    def __init__(self, name, original):
        self._name = name
        self._original = original

    def _target(self):
        streams = _console_streams.get(getcurrent())
        if streams is None:
            return self._original
        return streams[0] if self._name == 'stdin' else streams[1]

    def __getattr__(self, name):
        return getattr(self._target(), name)

    # The methods the interpreter itself calls (input(), print(), tracebacks).
    def write(self, data):
        return self._target().write(data)

    def flush(self):
        return self._target().flush()

    def readline(self, *args):
        return self._target().readline(*args)

    def fileno(self):
        return self._target().fileno()


#: console greenlet -> (stdin, stdout) of its connection
_console_streams = weakref.WeakKeyDictionary()
_installed = {}


def _install_streams():
    if _installed:
        return
    for name in ('stdin', 'stdout', 'stderr'):
        original = getattr(sys, name)
        proxy = _PerGreenletStream(name, original)
        _installed[name] = (proxy, original)
        setattr(sys, name, proxy)


def _uninstall_streams():
    # Only what is still ours: someone may have replaced a stream since.
    for name, (proxy, original) in list(_installed.items()):
        if getattr(sys, name) is proxy:
            setattr(sys, name, original)
    _installed.clear()


class BackdoorServer(StreamServer):
    """BackdoorServer(listener, locals=None, banner=None, **server_args)

    A :class:`~geventc.server.StreamServer` whose connections get a Python
    console. *locals* are names available in every console (each console
    has its own copy); *banner* is printed to each connecting user.
    """

    def __init__(self, listener, locals=None, banner=None, **server_args):
        StreamServer.__init__(self, listener, spawn=Pool(), **server_args)
        console_locals = {'__doc__': None, '__name__': '__console__'}
        if locals:
            console_locals.update(locals)
        self.locals = console_locals
        self.banner = banner
        self.stderr = sys.stderr

    def _create_interactive_locals(self):
        import builtins
        console_locals = self.locals.copy()
        console_locals['builtins'] = builtins
        console_locals['__builtins__'] = builtins
        return console_locals

    def handle(self, conn, _address):  # pylint: disable=method-hidden
        """Run a console for one remote user until it quits or disconnects."""
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        except OSError:
            pass  # UNIX sockets have no Nagle
        raw_file = conn.makefile(mode='r')
        _install_streams()
        _console_streams[getcurrent()] = (_StdIn(conn, raw_file), _StdErr(conn, raw_file))
        try:
            console = InteractiveConsole(self._create_interactive_locals())
            console.interact(banner=self.banner, exitmsg='')
        except SystemExit:
            pass
        finally:
            _console_streams.pop(getcurrent(), None)
            if not _console_streams:
                _uninstall_streams()
            raw_file.close()
            conn.close()


class _BaseFileLike(object):
    softspace = None
    encoding = 'utf-8'

    __slots__ = ('sock', 'fobj', 'fileno')

    def __init__(self, sock, stdin):
        self.sock = sock
        self.fobj = stdin
        self.fileno = sock.fileno

    def __getattr__(self, name):
        return getattr(self.fobj, name)

    def close(self):
        pass


class _StdErr(_BaseFileLike):
    """Writes go straight to the socket (no buffer to wait on a flush)."""

    def flush(self):
        pass

    def write(self, data):
        if not isinstance(data, bytes):
            data = data.encode(self.encoding)
        self.sock.sendall(data)


class _StdIn(_BaseFileLike):

    def readline(self, *args):
        try:
            return self.fobj.readline(*args).replace('\r\n', '\n')
        except UnicodeError:
            return ''


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print('USAGE: python -m geventc.backdoor PORT [banner]')
        return
    BackdoorServer(('127.0.0.1', int(argv[0])), banner=(argv[1] if len(argv) > 1 else None),
                   locals={'hello': 'world'}).serve_forever()


if __name__ == '__main__':
    main()
