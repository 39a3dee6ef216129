"""A WSGI server (gevent.pywsgi): :class:`WSGIServer` and :class:`WSGIHandler`.

The classes are ordinary Python classes with gevent's attributes and
methods, so gunicorn, gevent-websocket, Flask-SocketIO and engineio can
subclass and patch them as they do gevent's. The per-request work they do
not override is compiled: the request head is parsed (strictly, RFC 9112)
and turned into the environ by :mod:`geventc._http`, chunked request bodies
are decoded there, and a response's status line, headers and first body
chunk leave in one ``send``.

Differences from gevent, all on the side of refusing what RFC 9112 forbids
(request smuggling, CVE-2023-41419 and kin): a request with both
Content-Length and Transfer-Encoding, two Content-Lengths, a length that is
not digits, obs-fold, bare CR/LF, a space before a colon, an HTTP/1.1
request without Host, ... is answered ``400`` and the connection closed;
a request line over :data:`MAX_REQUEST_LINE` gets 414, too many or too long
header lines 431. Slow clients are bounded: the request head must arrive
within :attr:`WSGIHandler.header_timeout` seconds, and an idle keep-alive
connection is closed after :attr:`WSGIHandler.keepalive_timeout`.
"""
import errno
import sys
import time
import traceback
from datetime import datetime

from geventc import socket
from geventc._hub import GreenletExit, Timeout
from geventc import _http
from geventc._http import (RequestParser, ChunkedDecoder, HTTPParseError,
                           MAX_HEADER_LINE, MAX_HEADERS, BODY_CHUNKED,
                           build_head, date_header, encode_response_start)
from geventc.server import StreamServer

__all__ = [
    'WSGIServer',
    'WSGIHandler',
    'LoggingLogAdapter',
    'Environ',
    'SecureEnviron',
    'WSGISecureEnviron',
]

#: The longest request line accepted (longer: 414).
MAX_REQUEST_LINE = 8192

_WEEKDAYNAME = ('Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun')
_MONTHNAME = (None, 'Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun',
              'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec')

_INTERNAL_ERROR_BODY = b'Internal Server Error'
_BAD_REQUEST_BODY = ''
_ERRORS = {
    500: ('500 Internal Server Error',
          (('Content-Type', 'text/plain'), ('Connection', 'close'),
           ('Content-Length', str(len(_INTERNAL_ERROR_BODY)))),
          _INTERNAL_ERROR_BODY),
    400: ('400 Bad Request',
          (('Content-Type', 'text/plain'), ('Connection', 'close'),
           ('Content-Length', str(len(_BAD_REQUEST_BODY)))),
          _BAD_REQUEST_BODY),
}

_STATUS_TEXT = {400: 'Bad Request', 408: 'Request Timeout', 414: 'Request URI Too Long',
                431: 'Request Header Fields Too Large', 501: 'Not Implemented',
                505: 'HTTP Version Not Supported'}


def _refusal(code):
    # A complete response for a request that is refused before the
    # application sees it; the connection is closed after it.
    return ('HTTP/1.1 %d %s\r\nConnection: close\r\nContent-length: 0\r\n\r\n'
            % (code, _STATUS_TEXT[code])).encode('latin-1')


_REFUSALS = {code: _refusal(code) for code in _STATUS_TEXT}
_REQUEST_TOO_LONG_RESPONSE = _REFUSALS[414]
_BAD_REQUEST_RESPONSE = _REFUSALS[400]
_CONTINUE_RESPONSE = b'HTTP/1.1 100 Continue\r\n\r\n'


def format_date_time(timestamp):
    """The RFC 7231 date for *timestamp*, as bytes (the ``Date`` header)."""
    year, month, day, hh, mm, ss, wd, _y, _z = time.gmtime(timestamp)
    return ('%s, %02d %3s %4d %02d:%02d:%02d GMT' % (
        _WEEKDAYNAME[wd], day, _MONTHNAME[month], year, hh, mm, ss)).encode('latin-1')


# Formatted at most once a second: every response carries a Date.
_date_now = date_header


class _InvalidClientInput(IOError):
    """The request body is malformed (answered 400)."""


class _InvalidClientRequest(ValueError):
    """The request head is malformed (answered 400, or the status it carries)."""

    def __init__(self, message, status=400):
        ValueError.__init__(self, message)
        self.formatted_message = message
        self.status = status


# -- headers ------------------------------------------------------------------------

class _Headers(object):
    """The request's headers, with the parts of ``http.client.HTTPMessage``
    (and of the old ``mimetools.Message``) that WSGIHandler subclassers use:
    case-insensitive ``get``/``getheader``/``[]``/``in``, ``items``,
    ``get_all``, ``headers`` (the raw lines) and ``typeheader``."""

    __slots__ = ('_pairs', '_lower')

    status = ''

    def __init__(self, pairs=()):
        self._pairs = list(pairs)
        self._lower = None

    def _index(self):
        if self._lower is None:
            index = {}
            for name, value in self._pairs:
                index.setdefault(name.lower(), []).append(value)
            self._lower = index
        return self._lower

    def get(self, name, default=None):
        values = self._index().get(name.lower())
        return values[0] if values else default

    getheader = get

    def get_all(self, name, failobj=None):
        values = self._index().get(name.lower())
        return list(values) if values else failobj

    def __getitem__(self, name):
        return self.get(name)

    def __contains__(self, name):
        return name.lower() in self._index()

    def __delitem__(self, name):
        lowered = name.lower()
        self._pairs = [pair for pair in self._pairs if pair[0].lower() != lowered]
        self._lower = None

    def __setitem__(self, name, value):
        self._pairs.append((name, value))
        self._lower = None

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self._pairs)

    def keys(self):
        return [name for name, _ in self._pairs]

    def values(self):
        return [value for _, value in self._pairs]

    def items(self):
        return list(self._pairs)

    @property
    def headers(self):
        return ['%s: %s\r\n' % pair for pair in self._pairs]

    @property
    def typeheader(self):
        return self.get('content-type')

    def __str__(self):
        return ''.join(self.headers) + '\r\n'

    def __repr__(self):
        return '<%s %r>' % (type(self).__name__, self._pairs)


def headers_factory(fp, *args):  # noqa: ARG001
    """Read header lines from *fp* up to the blank line (gevent's
    ``MessageClass``); refuses malformed ones as the request parser does."""
    head = bytearray(b'GET / HTTP/1.0\r\n')
    parser = RequestParser(require_host=False)
    while True:
        line = fp.readline(MAX_HEADER_LINE + 1)
        if not line:
            raise _InvalidClientRequest('EOF in the request headers')
        head += line
        request = parser.parse(head)
        if request is not None:
            return _Headers(request.headers)


# -- wsgi.input -----------------------------------------------------------------------

class Input(object):
    """``wsgi.input``: the request body, read from the connection as the
    application asks for it (a ``Content-Length`` body, or a chunked one
    decoded on the way). ``Expect: 100-continue`` is answered on the first
    read. Whatever the application leaves unread is read and dropped
    before the next request on the connection."""

    __slots__ = ('rfile', 'content_length', 'socket', 'position', 'chunked_input',
                 'chunk_length', '_chunked_input_error', 'send_100_continue_enabled',
                 '_decoder')

    def __init__(self, rfile, content_length, socket=None, chunked_input=False):
        self.rfile = rfile
        self.content_length = content_length
        self.socket = socket
        self.position = 0
        self.chunked_input = chunked_input
        self.chunk_length = -1
        self._chunked_input_error = False
        self.send_100_continue_enabled = True
        self._decoder = ChunkedDecoder() if chunked_input else None

    def _discard(self):
        if self._chunked_input_error:
            return
        if self.position < (self.content_length or 0) or self.chunked_input:
            # Reading on is only worth it if the client sends anyway: no
            # 100 Continue now (the client may still be waiting for it).
            self.send_100_continue_enabled = False
            while self.read(16384):
                pass
            self.send_100_continue_enabled = True

    def _send_100_continue(self):
        if self.send_100_continue_enabled and self.socket is not None:
            self.socket.sendall(_CONTINUE_RESPONSE)
            self.socket = None

    def _do_read(self, length=None, use_readline=False):
        content_length = self.content_length
        if content_length is None:
            return b''
        self._send_100_continue()
        left = content_length - self.position
        if length is None or length > left:
            length = left
        if not length:
            return b''
        if use_readline:
            read = self.rfile.readline(length)
        else:
            read = self.rfile.read(length)
        self.position += len(read)
        if len(read) < length and (not use_readline or not read.endswith(b'\n')):
            raise IOError('unexpected end of file while reading request at position %s'
                          % (self.position,))
        return read

    def _chunked_read(self, length=None, use_readline=False):
        self._send_100_continue()
        if length == 0:
            return b''
        decoder = self._decoder
        rfile = self.rfile
        pieces = []
        wanted = -1 if length is None else length
        try:
            while not decoder.done:
                data, unread = _look_ahead(rfile)
                if not data:
                    self._chunked_input_error = True
                    raise IOError('unexpected end of file while parsing chunked data')
                piece = decoder.feed(data, 0, wanted, use_readline)
                # Only what the decoder used leaves the file: the rest is
                # the next request's.
                unread(rfile, len(data), decoder.consumed)
                if piece:
                    pieces.append(piece)
                    self.position += len(piece)
                    if wanted >= 0:
                        wanted -= len(piece)
                        if wanted == 0:
                            break
                    if use_readline and piece.endswith(b'\n'):
                        break
        except HTTPParseError as ex:
            self._chunked_input_error = True
            raise _InvalidClientInput(str(ex))
        if decoder.done:
            self.chunk_length = 0
        return b''.join(pieces)

    def read(self, length=None):
        if length is not None and length < 0:
            length = None
        if self.chunked_input:
            return self._chunked_read(length)
        return self._do_read(length)

    def readline(self, size=None):
        if size is not None and size < 0:
            size = None
        if self.chunked_input:
            return self._chunked_read(size, True)
        return self._do_read(size, use_readline=True)

    def readlines(self, hint=None):  # noqa: ARG002
        return list(self)

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    next = __next__


def _peeked(rfile, length, consumed):
    rfile.read(consumed)


def _seek_back(rfile, length, consumed):
    if consumed < length:
        rfile.seek(consumed - length, 1)


def _nothing_to_unread(rfile, length, consumed):
    pass


def _look_ahead(rfile):
    """``(bytes, unread)``: bytes at the front of *rfile* and how to leave
    in it those the caller did not use, ``unread(rfile, len(bytes), used)``.
    A buffered socket file peeks; a seekable one (BytesIO) reads and seeks
    back; anything else gives one byte at a time."""
    peek = getattr(rfile, 'peek', None)
    if peek is not None:
        return peek(65536), _peeked
    if getattr(rfile, 'seekable', None) is not None and rfile.seekable():
        return rfile.read(65536), _seek_back
    return rfile.read(1), _nothing_to_unread


# -- the handler ------------------------------------------------------------------------

class WSGIHandler(object):
    """Serves the HTTP requests of one connection to the server's WSGI
    application (keep-alive and pipelining included).

    Made by :meth:`WSGIServer.handle` as ``handler_class(socket, address,
    server)``; :meth:`handle` runs until the connection ends. Subclasses may
    override any method; each step calls the next through ``self``.
    """

    protocol_version = 'HTTP/1.1'

    def MessageClass(self, *args):
        return headers_factory(*args)

    status = None               # bytes: b'200 OK'
    _orig_status = None         # str: '200 OK', for the log
    response_headers = None     # [(b'name', b'value')]
    code = None                 # int from status
    provided_date = None
    provided_content_length = None
    close_connection = False
    time_start = 0              # time.time() when the request began
    time_finish = 0
    headers_sent = False
    response_use_chunked = False
    connection_upgraded = False
    environ = None
    application = None
    requestline = None          # str: 'GET / HTTP/1.1'
    response_length = 0         # bytes sent for this response
    result = None               # what the application returned
    wsgi_input = None           # Input
    content_length = 0          # the request's Content-Length (None: none given)
    headers = _Headers()
    request_version = None      # 'HTTP/1.1'
    command = None              # 'GET'
    path = None                 # '/a?b'

    #: Seconds a client has to send a complete request head once it starts
    #: (None: no limit). A slower client gets 408 and is disconnected.
    header_timeout = 30.0
    #: Seconds a kept-alive connection may stay idle between requests
    #: (None: no limit).
    keepalive_timeout = 60.0

    _request = None             # the parsed head (geventc._http.Request)
    _status_iteration = None    # the loop's iteration when start_response ran
    _parser = None

    def __init__(self, sock, address, server, rfile=None):
        self.socket = sock
        self.client_address = address
        self.server = server
        self.rfile = sock.makefile('rb', -1) if rfile is None else rfile

    # -- the connection -----------------------------------------------------

    def handle(self):
        """Serve requests until the connection is to be closed, then close it."""
        try:
            connection = self._connection()
            fast = connection.flags & _http.SERVE_READ
            while self.socket is not None:
                if fast:
                    # handle_one_request as it is: the loop is compiled.
                    result = connection.serve()
                else:
                    self.time_start = time.time()
                    self.time_finish = 0
                    result = self.handle_one_request()
                if result is None:
                    break
                if result is True:
                    continue
                self.status, response_body = result
                # The log line is this refusal's, not the previous request's.
                self._orig_status = None
                self.response_length = len(response_body)
                self.socket.sendall(response_body)
                if self.time_finish == 0:
                    self.time_finish = time.time()
                self.log_request()
                break
        finally:
            if self.socket is not None:
                _sock = getattr(self.socket, '_sock', None)
                try:
                    if _sock:
                        # Read what the client may still be sending so that
                        # closing does not reset the connection before it
                        # has read our response.
                        try:
                            _sock.recv(16384)
                        finally:
                            _sock.close()
                    self.socket.close()
                except OSError:
                    pass
            self.__dict__.pop('socket', None)
            self.__dict__.pop('rfile', None)
            self.__dict__.pop('wsgi_input', None)
            connection = self.__dict__.pop('_compiled', None)
            if connection is not None:
                connection.close()

    def _connection(self):
        # The compiled part of this handler (geventc._http._Connection),
        # told which of WSGIHandler's methods this handler has unchanged.
        connection = self.__dict__.get('_compiled')
        if connection is None:
            connection = self._compiled = _http._Connection(self, serve_flags(self))
        return connection

    # -- reading a request ----------------------------------------------------

    def _get_parser(self):
        parser = self._parser
        if parser is None:
            server = self.server
            parser = self._parser = RequestParser(
                getattr(server, 'max_request_line', MAX_REQUEST_LINE),
                getattr(server, 'max_header_line', MAX_HEADER_LINE),
                getattr(server, 'max_headers', MAX_HEADERS),
                getattr(server, 'require_host', True))
        return parser

    def _read_head(self):
        """The parsed head of the next request, None at a clean end of the
        connection. Raises _InvalidClientRequest (status attached)."""
        rfile = self.rfile
        parser = self._get_parser()
        # Waiting for the first byte: a new connection has header_timeout
        # to start, a kept-alive one keepalive_timeout. Either way a
        # client that sends nothing is simply disconnected.
        new = self.requestline is None
        idle = self.header_timeout if new else self.keepalive_timeout
        started = time.monotonic() if new and idle else None
        timer = Timeout._start_new_or_dummy(idle) if idle else None
        try:
            try:
                data = rfile.peek(65536)
            except OSError:
                return None
        except Timeout as ex:
            if ex is not timer:
                raise
            return None
        finally:
            if timer is not None:
                timer.close()
        if not data:
            return None
        # The common case: the whole head arrived in one piece.
        request = parser.parse(data)
        if request is not None:
            rfile.read(request.consumed)
            return request
        parser.reset()
        return self._read_head_slowly(_http.head_time_left(self.header_timeout, started))

    def _read_head_slowly(self, timeout=None):
        # Line by line, so that nothing after the head leaves the buffer;
        # the whole head is bounded by header_timeout (slowloris): *timeout*
        # is what is left of it (a new connection's wait for its first byte
        # counted), None for all of it.
        rfile = self.rfile
        parser = self._parser
        limit = max(parser.max_request_line, parser.max_header_line) + 2
        head = bytearray()
        if timeout is None:
            timeout = self.header_timeout
        timer = Timeout._start_new_or_dummy(timeout) if timeout else None
        try:
            while True:
                line = rfile.readline(limit)
                if not line:
                    if not head:
                        return None
                    raise _InvalidClientRequest('EOF in the request head')
                head += line
                request = parser.parse(head)
                if request is not None:
                    return request
                if len(line) == limit and not line.endswith(b'\n'):
                    status = 414 if head is not None and len(head) == len(line) else 431
                    raise _InvalidClientRequest('request line or header line too long', status)
        except Timeout as ex:
            if ex is not timer:
                raise
            raise _InvalidClientRequest('request head not received within %s seconds'
                                        % (self.header_timeout,), 408)
        except HTTPParseError as ex:
            raise _InvalidClientRequest(ex.reason, ex.status)
        finally:
            if timer is not None:
                timer.close()

    def read_requestline(self):
        """Read the request head and return its request line (a ``str``).

        The head is parsed as a whole; :meth:`read_request` then uses the
        result. A subclass may return any line here instead: the header
        lines are then read and parsed by :meth:`read_request`."""
        try:
            request = self._read_head()
        except HTTPParseError as ex:
            raise _InvalidClientRequest(ex.reason, ex.status)
        self._request = request
        if request is None:
            return ''
        return '%s %s %s' % (request.method, request.target, request.version)

    def read_request(self, raw_requestline):
        """Take in the parsed request head: sets ``requestline``,
        ``command``, ``path``, ``request_version``, ``headers``,
        ``content_length`` and ``close_connection``. Raises ValueError for
        a request that cannot be served."""
        request = self._request
        self.requestline = raw_requestline.rstrip()
        if request is None:
            # read_requestline was overridden: parse its line with the header lines.
            head = bytearray(self.requestline.encode('latin-1') + b'\r\n')
            parser = self._get_parser()
            parser.reset()
            try:
                while request is None:
                    line = self.rfile.readline(parser.max_header_line + 2)
                    if not line:
                        raise _InvalidClientRequest('EOF in the request head')
                    head += line
                    request = parser.parse(head)
            except HTTPParseError as ex:
                raise _InvalidClientRequest(ex.reason, ex.status)
            self._request = request
        self.command = request.method
        self.path = request.target
        self.request_version = request.version
        self.headers = _Headers(request.headers)
        self.content_length = request.content_length
        self.close_connection = not request.keep_alive
        return True

    _print_unexpected_exc = staticmethod(traceback.print_exc)

    def log_error(self, msg, *args):
        if not args:
            message = msg
        else:
            try:
                message = msg % args
            except Exception:  # a bad format must not lose the message
                self._print_unexpected_exc()
                message = '%r %r' % (msg, args)
        try:
            message = '%s: %s' % (self.socket, message)
        except Exception:
            pass
        try:
            self.server.error_log.write(message + '\n')
        except Exception:
            self._print_unexpected_exc()

    def handle_one_request(self):
        """Read one request and respond. Returns None (close the
        connection), True (read the next request) or ``(status,
        response_bytes)`` for a refused request."""
        if self.rfile.closed:
            return None
        self._request = None
        try:
            self.requestline = self.read_requestline()
            if isinstance(self.requestline, bytes):
                self.requestline = self.requestline.decode('latin-1')
        except _InvalidClientRequest as ex:
            return self._handle_client_error(ex)
        except OSError:
            return None
        if not self.requestline:
            return None
        self.response_length = 0
        if len(self.requestline) >= MAX_REQUEST_LINE:
            return ('414', _REQUEST_TOO_LONG_RESPONSE)
        try:
            if not self.read_request(self.requestline):
                return ('400', _BAD_REQUEST_RESPONSE)
        except Exception as ex:
            return self._handle_client_error(ex)
        self.environ = self.get_environ()
        self.application = self.server.application
        self.handle_one_response()
        if self.close_connection:
            return None
        if self.rfile.closed:
            return None
        return True

    def _connection_upgrade_requested(self):
        request = self._request
        if request is not None:
            return request.upgrade
        if self.headers.get('Connection', '').lower() == 'upgrade':
            return True
        return self.headers.get('Upgrade', '').lower() == 'websocket'

    # -- the response ---------------------------------------------------------

    def finalize_headers(self):
        if self.provided_date is None:
            self.response_headers.append((b'Date', _date_now()))
        self.connection_upgraded = self.code == 101
        if self.code not in (304, 204) and self.provided_content_length is None:
            if hasattr(self.result, '__len__') and not self._waited_after_status():
                total = sum(len(chunk) for chunk in self.result)
                self.response_headers.append((b'Content-Length', str(total).encode('latin-1')))
            else:
                self.response_use_chunked = (not self.connection_upgraded
                                             and self.request_version != 'HTTP/1.0'
                                             and self.command != 'HEAD')
                if self.response_use_chunked:
                    self.response_headers.append((b'Transfer-Encoding', b'chunked'))

    def _waited_after_status(self):
        # An application that called start_response and then waited (the
        # long-poll of gevent's tutorial, which the seeds keep) is streaming:
        # its body goes out chunked, as the tutorial shows, even when it
        # ends up returning a list. One that returns at once gets a
        # Content-Length, as in gevent.
        mark = self._status_iteration
        if mark is None:
            return False
        loop = getattr(self.server, 'loop', None)
        return loop is not None and getattr(loop, 'iteration', mark) != mark

    def _sendall(self, data):
        try:
            self.socket.sendall(data)
        except OSError as ex:
            self.status = 'socket error: %s' % ex
            if self.code > 0:
                self.code = -self.code
            raise
        self.response_length += len(data)

    def _write(self, data):
        if not data or self.command == 'HEAD':
            # A response to HEAD has no content (RFC 9110 9.3.2), whatever
            # the application returns; gevent sends it.
            return
        if self.response_use_chunked:
            self._sendall(b'%x\r\n%s\r\n' % (len(data), data))
        else:
            self._sendall(data)

    ApplicationError = AssertionError

    def write(self, data):
        if self.code in (304, 204) and data:
            raise self.ApplicationError('The %s response must have no body' % self.code)
        if self.headers_sent:
            self._write(data)
        else:
            if not self.status:
                raise self.ApplicationError('The application did not call start_response()')
            self._write_with_headers(data)

    def _write_with_headers(self, data):
        # Status line, headers and the first piece of the body: one send.
        self.headers_sent = True
        self.finalize_headers()
        self._sendall(build_head(self.status, self.response_headers,
                                 None if self.command == 'HEAD' else data,
                                 self.response_use_chunked))

    def start_response(self, status, headers, exc_info=None):
        """The WSGI ``start_response``: checks and encodes *status* and
        *headers* (native strings, no CR or LF: header injection is refused)
        and returns :meth:`write`."""
        if exc_info:
            try:
                if self.headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        self.provided_date = None
        self.provided_content_length = None
        (status_bytes, code, response_headers, provided_connection,
         self.provided_date, self.provided_content_length) = encode_response_start(status, headers)
        self.status = status_bytes
        self._orig_status = status
        loop = getattr(self.server, 'loop', None)
        self._status_iteration = getattr(loop, 'iteration', None)
        self.response_headers = response_headers
        self.code = code
        if self.request_version == 'HTTP/1.0' and provided_connection is None:
            response_headers.append((b'Connection', b'close' if self.close_connection else b'keep-alive'))
        elif provided_connection == 'close':
            self.close_connection = True
        if code in (304, 204) and self.provided_content_length not in (None, '0'):
            raise self.ApplicationError(
                ('Invalid Content-Length for %s response: %r (must be absent or zero)'
                 % (code, self.provided_content_length)).encode('latin-1'))
        return self.write

    def log_request(self):
        log = self.server.log
        if type(log) is _NoopLog and type(self).format_request is _format_request:
            # log=None: nothing to write, so nothing to format.
            return
        log.write(self.format_request() + '\n')

    def format_request(self):
        now = datetime.now().replace(microsecond=0)
        length = self.response_length or '-'
        delta = '%.6f' % (self.time_finish - self.time_start) if self.time_finish else '-'
        client_address = self.client_address[0] if isinstance(self.client_address, tuple) \
            else self.client_address
        return '%s - - [%s] "%s" %s %s %s' % (
            client_address or '-', now, self.requestline or '',
            (self._orig_status or self.status or '000').split()[0], length, delta)

    def process_result(self):
        for data in self.result:
            if data:
                self.write(data)
        if self.status and not self.headers_sent:
            # An empty body still sends the headers (and, when
            # gevent-websocket calls write(''), just those).
            self.write(b'')
        if self.response_use_chunked:
            self._sendall(b'0\r\n\r\n')

    def run_application(self):
        assert self.result is None
        try:
            self.result = self.application(self.environ, self.start_response)
            self.process_result()
        finally:
            close = getattr(self.result, 'close', None)
            try:
                if close is not None:
                    close()
            finally:
                close = None
                self.result = None

    ignored_socket_errors = (errno.EPIPE, errno.ECONNRESET)

    def handle_one_response(self):
        """Run the application for the request read, with error handling:
        an application error is logged and answered 500 (when nothing was
        sent yet), and the server goes on. (Compiled: it calls
        run_application and log_request through ``self`` unless they are
        WSGIHandler's own.)"""
        self._connection().respond()

    def _response_failed(self, t, v, tb):
        # handle_one_response's error handling, for the exception (t, v, tb)
        # from run_application (called inside an except block).
        if issubclass(t, _InvalidClientInput):
            self._handle_client_error(v)
            self.close_connection = True
            self._send_error_response_if_possible(400)
        elif issubclass(t, OSError):
            if v.args and v.args[0] in self.ignored_socket_errors:
                self.close_connection = True
            else:
                self.handle_error(t, v, tb)
        else:
            self.handle_error(t, v, tb)

    def _send_error_response_if_possible(self, error_code):
        if self.response_length:
            self.close_connection = True
        else:
            status, headers, body = _ERRORS[error_code]
            try:
                self.start_response(status, list(headers))
                self.write(body)
            except OSError:
                self.close_connection = True

    def _log_error(self, t, v, tb):
        if not issubclass(t, GreenletExit):
            context = self.environ
            if not isinstance(context, self.server.secure_environ_class):
                context = self.server.secure_environ_class(context)
            self.server.loop.handle_error(context, t, v, tb)

    def handle_error(self, t, v, tb):
        self._log_error(t, v, tb)
        t = v = tb = None
        self._send_error_response_if_possible(500)

    def _handle_client_error(self, ex):
        if not isinstance(ex, (ValueError, _InvalidClientInput)):
            traceback.print_exc()
        if isinstance(ex, _InvalidClientRequest):
            self.log_error('(from %s) %s', self.client_address, ex.formatted_message)
            status = ex.status
        else:
            self.log_error('Invalid request (from %s): %s', self.client_address,
                           str(ex) or ex.__class__.__name__)
            status = getattr(ex, 'status', 400)
        response = _REFUSALS.get(status, _BAD_REQUEST_RESPONSE)
        return (str(status), response)

    def _headers(self):
        # (key, value) of the HTTP_* environ entries, as gevent's: '_' in a
        # name drops it (so it cannot pose as a '-' spelling).
        for name, value in self.headers.items():
            if '_' in name:
                continue
            key = name.replace('-', '_').upper()
            if key not in ('CONTENT_TYPE', 'CONTENT_LENGTH'):
                yield 'HTTP_' + key, value

    def get_environ(self):
        """The WSGI environ of this request: the server's base environ plus
        the request's keys."""
        env = self.server.get_environ()
        request = self._request
        env['SCRIPT_NAME'] = ''
        if request is not None and request.target == self.path and request.method == self.command:
            if type(env) is dict:
                request.environ_into(env)
            else:
                # environ_class is a dict subclass (SecureEnviron): the
                # compiled filler takes exact dicts only.
                filled = dict(env)
                request.environ_into(filled)
                env.update(filled)
            env['SERVER_PROTOCOL'] = self.request_version
        else:
            self._environ_from_attributes(env)
        client_address = self.client_address
        if isinstance(client_address, tuple):
            env['REMOTE_ADDR'] = str(client_address[0])
            env['REMOTE_PORT'] = str(client_address[1])
        expect_continue = request.expect_continue if request is not None \
            else env.get('HTTP_EXPECT') == '100-continue'
        chunked = request.chunked if request is not None \
            else env.get('HTTP_TRANSFER_ENCODING', '').lower() == 'chunked'
        handling_reads = not self._connection_upgrade_requested()
        self.wsgi_input = Input(self.rfile, self.content_length,
                                socket=self.socket if expect_continue else None,
                                chunked_input=chunked)
        env['wsgi.input'] = self.wsgi_input if handling_reads else self.rfile
        env['wsgi.input_terminated'] = handling_reads
        return env

    def _environ_from_attributes(self, env):
        # A subclass changed command/path (or parsed the request itself).
        from urllib.parse import unquote_to_bytes
        env['REQUEST_METHOD'] = self.command
        path, query = self.path.split('?', 1) if '?' in self.path else (self.path, '')
        env['PATH_INFO'] = unquote_to_bytes(path).decode('latin-1')
        env['QUERY_STRING'] = query
        if self.headers.typeheader is not None:
            env['CONTENT_TYPE'] = self.headers.typeheader
        length = self.headers.getheader('content-length')
        if length:
            env['CONTENT_LENGTH'] = length
        env['SERVER_PROTOCOL'] = self.request_version
        for key, value in self._headers():
            if key in env:
                env[key] += ('; ' if 'COOKIE' in key else ',') + value
            else:
                env[key] = value


_format_request = WSGIHandler.format_request

#: Which of WSGIHandler's methods the compiled request loop stands in for,
#: by group: a handler that has a group's methods as WSGIHandler defines
#: them runs that group compiled; otherwise its own methods are called.
_SERVE_GROUPS = (
    (_http.SERVE_READ, ('handle_one_request', 'read_requestline', 'read_request',
                        '_read_head', '_get_parser')),
    (_http.SERVE_ENVIRON, ('get_environ', '_connection_upgrade_requested')),
    (_http.SERVE_RESPOND, ('handle_one_response',)),
    (_http.SERVE_APP, ('run_application', 'process_result', 'start_response', 'write',
                       'finalize_headers', '_waited_after_status', '_write_with_headers',
                       '_write', '_sendall')),
    (_http.SERVE_LOG, ('log_request', 'format_request')),
)
_SERVE_GROUPS = tuple((flag, tuple((name, WSGIHandler.__dict__[name]) for name in names))
                      for flag, names in _SERVE_GROUPS)


def serve_flags(handler):
    """The ``_http.SERVE_*`` groups *handler* (and its server) has as
    WSGIHandler (and WSGIServer) define them. Looked up per connection, so
    that methods patched onto the classes (mock.patch) are seen."""
    cls = type(handler)
    own = handler.__dict__
    flags = 0
    for flag, methods in _SERVE_GROUPS:
        for name, method in methods:
            if name in own or getattr(cls, name, None) is not method:
                break
        else:
            flags |= flag
    if flags & _http.SERVE_ENVIRON:
        server = handler.server
        if (getattr(type(server), 'get_environ', None) is not _server_get_environ
                or 'get_environ' in getattr(server, '__dict__', ())
                or getattr(server, 'environ_class', None) is not dict):
            flags &= ~_http.SERVE_ENVIRON
    return flags


# -- logs -------------------------------------------------------------------------------

class _NoopLog(object):
    # log=None: nothing is written.

    def write(self, *args, **kwargs):
        return

    def flush(self):
        pass

    def writelines(self, *args, **kwargs):
        pass


class LoggingLogAdapter(object):
    """A :class:`logging.Logger` (or anything with ``log(level, msg)``) as
    the file-like ``log``/``error_log`` of a :class:`WSGIServer`, written at
    *level*. Other attributes are the logger's."""

    __slots__ = ('_logger', '_level')

    def __init__(self, logger, level=20):
        self._logger = logger
        self._level = level

    def write(self, msg):
        if msg and msg.endswith('\n'):
            msg = msg[:-1]
        self._logger.log(self._level, msg)

    def flush(self):
        """Nothing to flush (a file-like object must have it)."""

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._logger, name)

    def __setattr__(self, name, value):
        if name not in LoggingLogAdapter.__slots__:
            setattr(self._logger, name, value)
        else:
            object.__setattr__(self, name, value)

    def __delattr__(self, name):
        delattr(self._logger, name)


# -- environ types ------------------------------------------------------------------------

class Environ(dict):
    """A dict for WSGI environs whose ``copy`` keeps its class."""

    __slots__ = ()

    def copy(self):
        return self.__class__(self)

    def iteritems(self):
        return self.items()

    def __reduce_ex__(self, proto):
        return (dict, (), None, None, iter(self.items()))


class SecureEnviron(Environ):
    """An environ that does not show its values in ``repr`` (so that
    cookies and credentials do not end up in logs); keys in
    ``whitelist_keys`` are shown, the others masked (or hidden, when
    ``print_masked_keys`` is false). ``secure_repr = False`` shows all."""

    default_secure_repr = True
    default_whitelist_keys = ()
    default_print_masked_keys = True

    __slots__ = ('secure_repr', 'whitelist_keys', 'print_masked_keys')

    def __getattr__(self, name):
        if name in SecureEnviron.__slots__:
            return getattr(type(self), 'default_' + name)
        raise AttributeError(name)

    def __repr__(self):
        if self.secure_repr:
            whitelist = self.whitelist_keys
            print_masked = self.print_masked_keys
            if whitelist:
                safe = {k: self[k] if k in whitelist else '<MASKED>'
                        for k in self if k in whitelist or print_masked}
                safe_repr = repr(safe)
                if not print_masked and len(safe) != len(self):
                    safe_repr = safe_repr[:-1] + ', (hidden keys: %d)}' % (len(self) - len(safe))
                return safe_repr
            return '<pywsgi.SecureEnviron dict (keys: %d) at %s>' % (len(self), id(self))
        return Environ.__repr__(self)

    __str__ = __repr__


class WSGISecureEnviron(SecureEnviron):
    """A :class:`SecureEnviron` that shows REMOTE_ADDR, REMOTE_PORT and
    HTTP_HOST and hides the number of the other keys."""

    default_whitelist_keys = ('REMOTE_ADDR', 'REMOTE_PORT', 'HTTP_HOST')
    default_print_masked_keys = False


# -- the server ------------------------------------------------------------------------------

#: The gevent release whose API geventc provides (SERVER_SOFTWARE names it:
#: libraries test that it starts with 'gevent').
_GEVENT_API = (26, 9)


def _version_string():
    return 'gevent/%d.%d Python/%d.%d' % (_GEVENT_API + sys.version_info[:2])


class WSGIServer(StreamServer):
    """WSGIServer(listener, application=None, backlog=None, spawn='default', log='default', error_log='default', handler_class=None, environ=None, **ssl_args)

    A :class:`~geventc.server.StreamServer` that serves a WSGI *application*
    (HTTPS with the ``ssl_args`` of StreamServer).

    *log* receives the access log lines (default ``sys.stderr``; None:
    none); *error_log* the errors (also ``wsgi.errors``). An object with
    ``log`` but no ``write`` (a :class:`logging.Logger`) is wrapped in
    :class:`LoggingLogAdapter`. *environ* is merged into every request's
    environ. *handler_class* replaces :class:`WSGIHandler`.

    Also configurable (keywords, or attributes of a subclass):
    ``max_request_line`` (414 above), ``max_header_line`` and
    ``max_headers`` (431 above), ``require_host``, ``header_timeout`` and
    ``keepalive_timeout`` (seconds; see :class:`WSGIHandler`).
    """

    handler_class = WSGIHandler
    log = None
    error_log = None
    environ_class = dict
    secure_environ_class = WSGISecureEnviron

    max_request_line = MAX_REQUEST_LINE
    max_header_line = MAX_HEADER_LINE
    max_headers = MAX_HEADERS
    #: An HTTP/1.1 request without Host is refused (400), as RFC 9112 3.2
    #: requires; False accepts it (gevent does).
    require_host = True

    base_env = {'GATEWAY_INTERFACE': 'CGI/1.1',
                # Libraries look for 'gevent' at the start (simple-websocket).
                'SERVER_SOFTWARE': _version_string(),
                'SCRIPT_NAME': '',
                'wsgi.version': (1, 0),
                'wsgi.multithread': False,
                'wsgi.multiprocess': False,
                'wsgi.run_once': False}

    def __init__(self, listener, application=None, backlog=None, spawn='default',
                 log='default', error_log='default', handler_class=None, environ=None,
                 max_request_line=None, max_header_line=None, max_headers=None,
                 require_host=None, header_timeout=None, keepalive_timeout=None, **ssl_args):
        if 'handle' in ssl_args:
            import warnings
            warnings.warn("Passing 'handle' kwarg to WSGIServer is deprecated. "
                          'Did you mean application?', DeprecationWarning, stacklevel=2)
        StreamServer.__init__(self, listener, backlog=backlog, spawn=spawn, **ssl_args)
        if application is not None:
            self.application = application
        if handler_class is not None:
            self.handler_class = handler_class
        for name, value in (('max_request_line', max_request_line),
                            ('max_header_line', max_header_line), ('max_headers', max_headers),
                            ('require_host', require_host)):
            if value is not None:
                setattr(self, name, value)
        if header_timeout is not None or keepalive_timeout is not None:
            # The limits live on the handler class: a per-server subclass.
            overrides = {}
            if header_timeout is not None:
                overrides['header_timeout'] = header_timeout
            if keepalive_timeout is not None:
                overrides['keepalive_timeout'] = keepalive_timeout
            self.handler_class = type(self.handler_class.__name__, (self.handler_class,), overrides)
        self.log = self._make_log(log)
        self.error_log = self._make_log(error_log, 40)
        self.set_environ(environ)
        self.set_max_accept()

    @staticmethod
    def _make_log(log, level=20):
        if log == 'default':
            return sys.stderr
        if log is None:
            return _NoopLog()
        if not hasattr(log, 'write') and hasattr(log, 'log'):
            return LoggingLogAdapter(log, level)
        return log

    def set_environ(self, environ=None):
        if environ is not None:
            self.environ = environ
        environ_update = getattr(self, 'environ', None)
        self.environ = self.environ_class(self.base_env)
        self.environ['wsgi.url_scheme'] = 'https' if self.ssl_enabled else 'http'
        if environ_update is not None:
            self.environ.update(environ_update)
        if self.environ.get('wsgi.errors') is None:
            self.environ['wsgi.errors'] = self.error_log

    def set_max_accept(self):
        # Several processes share the listener: take one connection at a
        # time so that they spread.
        if self.environ.get('wsgi.multiprocess'):
            self.max_accept = 1

    def get_environ(self):
        return self.environ_class(self.environ)

    def init_socket(self):
        StreamServer.init_socket(self)
        self.update_environ()

    def update_environ(self):
        """Fill in SERVER_NAME and SERVER_PORT (before the first request)."""
        address = self.address
        if isinstance(address, tuple):
            if 'SERVER_NAME' not in self.environ:
                try:
                    name = socket.getfqdn(address[0])
                except OSError:
                    name = str(address[0])
                self.environ['SERVER_NAME'] = name
            self.environ.setdefault('SERVER_PORT', str(address[1]))
        else:
            self.environ.setdefault('SERVER_NAME', '')
            self.environ.setdefault('SERVER_PORT', '')

    def handle(self, sock, address):
        """Serve the connection with a new :attr:`handler_class`."""
        try:
            # Small responses must not wait for Nagle's algorithm.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass
        handler = self.handler_class(sock, address, self)
        handler.handle()


_server_get_environ = WSGIServer.get_environ
_http._bind_pywsgi(globals())


def _main():
    from geventc import monkey
    monkey.patch_all()
    import argparse
    import importlib
    parser = argparse.ArgumentParser()
    parser.add_argument('app', help='dotted name of WSGI app callable [module:callable]')
    parser.add_argument('-b', '--bind', help='The socket to bind', default=':8080')
    args = parser.parse_args()
    module_name, app_name = args.app.split(':')
    app = getattr(importlib.import_module(module_name), app_name)
    WSGIServer(args.bind, app).serve_forever()


if __name__ == '__main__':
    _main()
