"""The base class of geventc's servers (gevent.baseserver).

A server owns a listening socket and an I/O watcher on it. When the socket
is readable, the hub runs :meth:`BaseServer._do_read`, which accepts up to
:attr:`BaseServer.max_accept` connections (or datagrams) through
:meth:`do_read` and hands each to :meth:`do_handle`, which spawns the
handler. The handler's connection is closed (:meth:`do_close`) when the
handler returns.

Accept errors make the server pause accepting for :attr:`min_delay`
seconds, doubling up to :attr:`max_delay` while they go on; errors listed in
:attr:`fatal_errors` (a closed listener) close the server.
"""
import errno
import sys

import _socket

from geventc._hub import Greenlet, get_hub
from geventc.event import Event

__all__ = ['BaseServer']


def _handle_and_close_when_done(handle, close, args_tuple):
    try:
        if len(args_tuple) == 2:
            # (socket, address), the common case, as a plain call: CPython
            # runs a Python handler in this C frame, where a *args call adds
            # two C frames (~0.5 KiB) to every waiting handler's saved stack.
            return handle(args_tuple[0], args_tuple[1])
        return handle(*args_tuple)
    finally:
        close(*args_tuple)


class BaseServer(object):
    """BaseServer(listener, handle=None, spawn='default')

    *listener* is an address to bind (``(host, port)``, ``':port'``,
    ``'host:port'``, ``'[ipv6]:port'``, a port number) or an already bound
    (and, for TCP, listening) socket.

    *handle* is called for each connection (or datagram); when it returns,
    the connection is closed. Subclasses may define a ``handle`` method
    instead.

    *spawn* is how a handler is started: ``'default'`` (a new
    :class:`~geventc.Greenlet` each), a :class:`~geventc.pool.Pool` (no
    connection is accepted while it is full), an integer (a pool of that
    size), any callable such as :func:`geventc.spawn_raw`, or ``None`` (the
    handler runs in the hub and must not block).

    A context manager: ``with server:`` stops it on exit.
    """

    #: The first pause after an accept error, in seconds; doubled on each
    #: further error, up to max_delay.
    min_delay = 0.01
    max_delay = 1

    #: Connections accepted per readiness event before the loop runs the
    #: other watchers.
    max_accept = 100

    _spawn = Greenlet.spawn

    #: Seconds :meth:`stop` waits for the pool's handlers before killing them.
    stop_timeout = 1

    #: errno values of accept errors that close the server.
    fatal_errors = (errno.EBADF, errno.EINVAL, errno.ENOTSOCK)

    def __init__(self, listener, handle=None, spawn='default'):
        self._stop_event = Event()
        self._stop_event.set()
        self._watcher = None
        self._timer = None
        self._handle = None
        self.pool = None
        try:
            self.set_listener(listener)
            self.set_spawn(spawn)
            self.set_handle(handle)
            self.delay = self.min_delay
            self.loop = get_hub().loop
            if self.max_accept < 1:
                raise ValueError('max_accept must be positive int: %r' % (self.max_accept,))
        except:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.stop()

    # -- configuration --------------------------------------------------------------

    def set_listener(self, listener):
        if hasattr(listener, 'accept'):
            if hasattr(listener, 'do_handshake'):
                raise TypeError('Expected a regular socket, not SSLSocket: %r' % (listener,))
            self.family = listener.family
            self.address = listener.getsockname()
            self.socket = listener
        else:
            self.family, self.address = parse_address(listener)

    def set_spawn(self, spawn):
        if spawn == 'default':
            self.pool = None
            self._spawn = self._spawn
        elif hasattr(spawn, 'spawn'):
            self.pool = spawn
            self._spawn = spawn.spawn
        elif isinstance(spawn, int) and not isinstance(spawn, bool):
            from geventc.pool import Pool
            self.pool = Pool(spawn)
            self._spawn = self.pool.spawn
        else:
            self.pool = None
            self._spawn = spawn
        if hasattr(self.pool, 'full'):
            self.full = self.pool.full
        if self.pool is not None:
            # A slot freed in a full pool resumes accepting.
            self.pool._semaphore.rawlink(self._start_accepting_if_started)

    def set_handle(self, handle):
        if handle is not None:
            self.handle = handle
        if hasattr(self, 'handle'):
            self._handle = self.handle
        else:
            raise TypeError("'handle' must be provided")

    # -- accepting ------------------------------------------------------------------

    def _start_accepting_if_started(self, _event=None):
        if self.started:
            self.start_accepting()

    def start_accepting(self):
        if self._watcher is None:
            self._watcher = self.loop.io(self.socket.fileno(), 1)
            self._watcher.start(self._do_read)

    def stop_accepting(self):
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher.close()
            self._watcher = None
        if self._timer is not None:
            self._timer.stop()
            self._timer.close()
            self._timer = None

    def do_handle(self, *args):
        spawn = self._spawn
        handle = self._handle
        close = self.do_close
        try:
            if spawn is None:
                _handle_and_close_when_done(handle, close, args)
            else:
                spawn(_handle_and_close_when_done, handle, close, args)
        except:
            close(*args)
            raise

    def do_close(self, *args):
        pass

    def do_read(self):
        """Accept one connection (or read one datagram): the arguments for
        the handler, or None when nothing is waiting."""
        raise NotImplementedError()

    def _pause_accepting(self):
        # Back off: accepting again at once would spin on the same error.
        if self.delay >= 0:
            self.stop_accepting()
            self._timer = self.loop.timer(self.delay)
            self._timer.start(self._start_accepting_if_started)
            self.delay = min(self.max_delay, self.delay * 2)

    def _do_read(self):
        for _ in range(self.max_accept):
            if self.full():
                self.stop_accepting()
                if self.pool is not None:
                    self.pool._semaphore.rawlink(self._start_accepting_if_started)
                return
            try:
                args = self.do_read()
                self.delay = self.min_delay
                if not args:
                    return
            except:
                self.loop.handle_error(self, *sys.exc_info())
                ex = sys.exc_info()[1]
                if self.is_fatal_error(ex):
                    self.close()
                    sys.stderr.write('ERROR: %s failed with %s\n' % (self, str(ex) or repr(ex)))
                    return
                self._pause_accepting()
                break
            try:
                self.do_handle(*args)
            except:
                self.loop.handle_error((args[1:], self), *sys.exc_info())
                self._pause_accepting()
                break

    def full(self):  # replaced by the pool's own when there is one
        return False

    # -- description ----------------------------------------------------------------

    def __repr__(self):
        return '<%s at %s %s>' % (type(self).__name__, hex(id(self)), self._formatinfo())

    def __str__(self):
        return '<%s %s>' % (type(self).__name__, self._formatinfo())

    def _formatinfo(self):
        if hasattr(self, 'socket'):
            try:
                fileno = self.socket.fileno()
            except Exception as ex:  # a closed socket still describes itself
                fileno = str(ex)
            result = 'fileno=%s ' % fileno
        else:
            result = ''
        try:
            if isinstance(self.address, tuple) and len(self.address) == 2:
                result += 'address=%s:%s' % self.address
            else:
                result += 'address=%s' % (self.address,)
        except Exception as ex:
            result += str(ex) or '<error>'
        handle = self.__dict__.get('handle')
        if handle is not None:
            try:
                if getattr(handle, '__self__', None) is self:
                    handle_repr = '<bound method %s.%s of self>' % (
                        type(self).__name__, handle.__name__)
                else:
                    handle_repr = repr(handle)
                result += ' handle=' + handle_repr
            except Exception as ex:
                result += str(ex) or '<error>'
        return result

    @property
    def server_host(self):
        """The IP address the server is bound to."""
        if isinstance(self.address, tuple):
            return self.address[0]
        return None

    @property
    def server_port(self):
        """The port the server is bound to."""
        if isinstance(self.address, tuple):
            return self.address[1]
        return None

    # -- life cycle -----------------------------------------------------------------

    def init_socket(self):
        """Create, bind and (for TCP) listen on the socket when the server
        was given an address; called by :meth:`start`."""

    @property
    def started(self):
        return not self._stop_event.is_set()

    def start(self):
        """Start accepting connections (binding first when given an address)."""
        self.init_socket()
        self._stop_event.clear()
        try:
            self.start_accepting()
        except:
            self.close()
            raise

    def close(self):
        """Stop accepting and close the listening socket."""
        self._stop_event.set()
        try:
            self.stop_accepting()
        finally:
            try:
                self.socket.close()
            except Exception:
                pass
            finally:
                for name in ('socket', 'handle', '_handle', '_spawn', 'full'):
                    self.__dict__.pop(name, None)
                if self.pool is not None:
                    self.pool._semaphore.unlink(self._start_accepting_if_started)

    @property
    def closed(self):
        return not hasattr(self, 'socket')

    def stop(self, timeout=None):
        """Close the listener. With a pool, wait up to *timeout* (default
        :attr:`stop_timeout`) for its handlers to finish, then kill the rest.
        Handlers started by the default spawn are left running, as in gevent."""
        self.close()
        if timeout is None:
            timeout = self.stop_timeout
        if self.pool:
            self.pool.join(timeout=timeout)
            self.pool.kill(block=True, timeout=1)

    def serve_forever(self, stop_timeout=None):
        """Start (if needed) and block until the server is stopped."""
        if not self.started:
            self.start()
        try:
            self._stop_event.wait()
        finally:
            Greenlet.spawn(self.stop, timeout=stop_timeout).join()

    def is_fatal_error(self, ex):
        return isinstance(ex, _socket.error) and ex.args[0] in self.fatal_errors


def _extract_family(host):
    if host.startswith('[') and host.endswith(']'):
        return _socket.AF_INET6, host[1:-1]
    return _socket.AF_INET, host


def _parse_address(address):
    if isinstance(address, tuple):
        if not address[0] or ':' in address[0]:
            return _socket.AF_INET6, address
        return _socket.AF_INET, address
    if (isinstance(address, str) and ':' not in address) or isinstance(address, int):
        # A bare port: every interface, IPv6 (dual stack where allowed).
        return _socket.AF_INET6, ('', int(address))
    if not isinstance(address, str):
        raise TypeError('Expected tuple or string, got %s' % type(address))
    host, port = address.rsplit(':', 1)
    family, host = _extract_family(host)
    if host == '*':
        host = ''
    return family, (host, int(port))


def parse_address(address):
    """``(family, (host, port))`` for a listener address in any of the
    accepted spellings."""
    try:
        return _parse_address(address)
    except ValueError as ex:
        raise ValueError('Failed to parse address %r: %s' % (address, ex))
