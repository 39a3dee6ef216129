"""gunicorn workers that run on geventc: several processes, each serving
many connections at once in greenlets.

::

    gunicorn -k geventc.gunicorn.GeventcWorker -w 4 -b 0.0.0.0:8000 app:app
    gunicorn -k geventc.gunicorn.GeventcPyWSGIWorker -w 4 -b 0.0.0.0:8000 app:app

:class:`GeventcWorker` behaves as gunicorn's ``gevent`` worker: gunicorn
parses the requests, a :class:`geventc.server.StreamServer` per listener
accepts into a :class:`geventc.pool.Pool` of ``--worker-connections``
greenlets. :class:`GeventcPyWSGIWorker` behaves as ``gevent_pywsgi``:
:class:`geventc.pywsgi.WSGIServer` parses and serves, and each request is
written to gunicorn's access log.

Neither needs gevent installed, nor imports gunicorn's own gevent worker
(which refuses to load without a gevent of its liking). In each worker
process, before the application is loaded, the standard library is patched
(:func:`geventc.monkey.patch_all`) and the hub made anew for the forked
process. Signals are gunicorn's: TERM (and a HUP reload of the master)
stops accepting and lets the requests in flight finish within
``--graceful-timeout``; QUIT and INT exit at once; USR1 reopens the log
files. Keep-alive connections wait ``--keep-alive`` seconds for their next
request. ``--certfile``/``--keyfile`` serve HTTPS.

This module imports gunicorn only when it is installed; without it the
worker classes are still defined, and making one raises ImportError.
"""
import os
import sys
import time
from datetime import timedelta
from functools import partial

import geventc
from geventc import monkey, pywsgi, socket
from geventc.event import Event
from geventc.pool import Pool
from geventc.server import StreamServer

try:
    import gunicorn as _gunicorn
    from gunicorn.http.wsgi import base_environ
    from gunicorn.sock import ssl_context
    from gunicorn.workers.base_async import AsyncWorker as _AsyncWorker
except ImportError as _ex:
    _GUNICORN_IMPORT_ERROR = _ex

    class _AsyncWorker(object):
        # gunicorn makes the workers: without it there is nothing to run.
        def __init__(self, *args, **kwargs):
            raise ImportError('geventc.gunicorn needs gunicorn (pip install gunicorn): %s'
                              % (_GUNICORN_IMPORT_ERROR,))

__all__ = [
    'GeventcWorker',
    'GeventcPyWSGIWorker',
    'GeventcPyWSGIHandler',
    'GeventcPyWSGIServer',
]

#: How often (seconds) a worker tells the master it is alive while it
#: serves and while it drains at shutdown.
HEARTBEAT = 1.0


def _server_software():
    return 'geventc/%s gunicorn/%s' % (geventc.__version__, _gunicorn.__version__)


def _ssl_args(cfg):
    # The arguments gunicorn's own workers wrap accepted sockets with.
    if not cfg.is_ssl:
        return {}
    return {'ssl_context': ssl_context(cfg),
            'suppress_ragged_eofs': cfg.suppress_ragged_eofs,
            'do_handshake_on_connect': cfg.do_handshake_on_connect}


class _Listener(object):
    """A listening socket as gunicorn's handler sees it, with its address
    read once: a connection accepted just before a graceful shutdown closes
    the listener is still served (gunicorn asks the listener its name for
    each connection, which a closed socket cannot tell)."""

    def __init__(self, sock):
        self._sock = sock
        self._name = sock.getsockname()

    def getsockname(self):
        return self._name

    def __getattr__(self, name):
        return getattr(self._sock, name)


class GeventcWorker(_AsyncWorker):
    """gunicorn's HTTP parser and WSGI glue, one greenlet per connection."""

    #: A :class:`geventc.pywsgi.WSGIServer` subclass to serve with instead
    #: of gunicorn's request handling (with :attr:`wsgi_handler`).
    server_class = None
    wsgi_handler = None

    _wakeup = None

    def init_process(self):
        self.patch()
        geventc.reinit()
        super().init_process()

    def patch(self):
        """Patch the standard library, and take the listeners over as
        geventc sockets (the master's socket objects are not cooperative)."""
        monkey.patch_all()
        self.sockets = [socket.socket(s.FAMILY, socket.SOCK_STREAM, fileno=s.sock.detach())
                        for s in self.sockets]

    def notify(self):
        super().notify()
        if self.ppid != os.getppid():
            self.log.info('Parent changed, shutting down: %s', self)
            sys.exit(0)

    def timeout_ctx(self):
        # Expires silently: the keep-alive loop then sees no next request.
        return geventc.Timeout(self.cfg.keepalive, False)

    # -- serving -------------------------------------------------------------

    def run(self):
        self._wakeup = Event()
        servers = [self._make_server(listener) for listener in self.sockets]
        for server in servers:
            server.start()
        while self.alive:
            self.notify()
            self._wakeup.wait(HEARTBEAT)
        self._drain(servers)

    def _make_server(self, listener):
        listener.setblocking(1)
        pool = Pool(self.worker_connections)
        if self.server_class is not None:
            return self._make_wsgi_server(listener, pool)
        server = StreamServer(listener, handle=partial(self.handle, _Listener(listener)),
                              spawn=pool, **_ssl_args(self.cfg))
        if self.cfg.workers > 1:
            # Processes share the listener: one connection per wakeup
            # spreads connections over them.
            server.max_accept = 1
        return server

    def _make_wsgi_server(self, listener, pool):
        environ = base_environ(self.cfg)
        environ.update({'wsgi.multithread': True, 'SERVER_SOFTWARE': _server_software()})
        # gunicorn's keep-alive 0 means one request per connection; the
        # handler closes then, so there is no idle wait to bound.
        server = self.server_class(
            listener, application=self.wsgi, spawn=pool, log=self.log, error_log=self.log,
            handler_class=self.wsgi_handler, environ=environ,
            keepalive_timeout=self.cfg.keepalive or None, **_ssl_args(self.cfg))
        server.worker = self
        return server

    def _drain(self, servers):
        """Stop accepting, then wait up to graceful_timeout for the
        connections in flight; kill what is left."""
        for server in servers:
            server.close()
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while True:
            busy = [server.pool for server in servers if len(server.pool)]
            if not busy:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.notify()
            step = min(HEARTBEAT, remaining)
            for pool in busy:
                pool.join(timeout=step)
        self.log.warning('Worker graceful timeout (pid:%s)', self.pid)
        for server in servers:
            server.stop(timeout=1)

    def handle(self, listener, client, addr):
        # An accepted socket starts with the default timeout; gunicorn's
        # parser expects blocking reads (bounded by timeout_ctx instead).
        client.setblocking(1)
        super().handle(listener, client, addr)

    def handle_request(self, listener_name, req, sock, addr):
        try:
            super().handle_request(listener_name, req, sock, addr)
        except (geventc.GreenletExit, SystemExit):
            # Killed by the forced end of a graceful shutdown: the
            # connection just closes.
            pass

    # -- signals -------------------------------------------------------------
    # Handlers run in the hub: what may block runs in a greenlet of its own.

    def handle_exit(self, sig, frame):
        super().handle_exit(sig, frame)
        if self._wakeup is not None:
            self._wakeup.set()

    def handle_quit(self, sig, frame):
        geventc.spawn(super().handle_quit, sig, frame)

    def handle_usr1(self, sig, frame):
        geventc.spawn(super().handle_usr1, sig, frame)


class _Response(object):
    # What gunicorn's access log reads of a response.

    def __init__(self, status, headers, sent):
        self.status = status
        self.headers = headers
        self.sent = sent


def _text(value):
    return value.decode('latin-1') if isinstance(value, bytes) else value


class GeventcPyWSGIHandler(pywsgi.WSGIHandler):
    """A :class:`geventc.pywsgi.WSGIHandler` that logs to gunicorn's access
    log and adds gunicorn's environ keys (``gunicorn.sock``, ``RAW_URI``)."""

    def handle_one_request(self):
        # A refused request has no environ of its own: not the previous one's.
        self.environ = None
        result = super().handle_one_request()
        if isinstance(result, tuple):
            # Refused: handle() sends the canned response and logs it, with
            # its status; the rest is also this response's, not the last.
            self._orig_status = None
            self.response_headers = None
            self.response_length = len(result[1])
        return result

    def _is_last_request(self):
        # Shutting down, or no keep-alive: the connection ends after this.
        worker = getattr(self.server, 'worker', None)
        return worker is not None and (not worker.alive or not worker.cfg.keepalive)

    def finalize_headers(self):
        super().finalize_headers()
        if self._is_last_request() and not self.connection_upgraded:
            # Say so, so that the client does not send its next request here.
            self.close_connection = True
            self.response_headers = [(name, value) for name, value in self.response_headers
                                     if name.lower() != b'connection']
            self.response_headers.append((b'Connection', b'close'))

    def handle_one_response(self):
        super().handle_one_response()
        if self._is_last_request():
            self.close_connection = True

    def get_environ(self):
        env = super().get_environ()
        env['gunicorn.sock'] = self.socket
        env['RAW_URI'] = self.path
        return env

    def log_request(self):
        finish = self.time_finish or time.time()
        elapsed = timedelta(seconds=max(0.0, finish - self.time_start))
        status = _text(self._orig_status or self.status) or '-'
        response_headers = [(_text(k), _text(v)) for k, v in (self.response_headers or ())]
        response = _Response(status, response_headers, self.response_length)
        request_headers = self.headers.items() if self.headers is not None else []
        self.server.log.access(response, request_headers, self._log_environ(), elapsed)

    def _log_environ(self):
        if self.environ is not None:
            return self.environ
        # Refused before an environ was made: the request line if it was
        # parsed (command and path may still be the previous request's).
        request = self._request
        env = {'REQUEST_METHOD': request.method if request is not None else '-',
               'RAW_URI': request.target if request is not None else '-',
               'SERVER_PROTOCOL': request.version if request is not None else '-'}
        if isinstance(self.client_address, tuple):
            env['REMOTE_ADDR'] = str(self.client_address[0])
        return env


class GeventcPyWSGIServer(pywsgi.WSGIServer):
    """The WSGIServer of :class:`GeventcPyWSGIWorker`; ``worker`` is set to
    the worker it serves for."""

    worker = None


class GeventcPyWSGIWorker(GeventcWorker):
    """:class:`geventc.pywsgi.WSGIServer` per listener (as gunicorn's
    ``gevent_pywsgi``)."""

    server_class = GeventcPyWSGIServer
    wsgi_handler = GeventcPyWSGIHandler
