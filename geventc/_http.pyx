# cython: auto_pickle=False
"""The HTTP/1.1 request parser and chunked-body decoder behind pywsgi.

API
---
``RequestParser(max_request_line=8192, max_header_line=65536, max_headers=100, require_host=True)``
    ``parse(data, start=0) -> Request | None``: *data* is bytes, bytearray or
    any buffer holding what the socket delivered so far; the head starts at
    ``data[start]``. ``None`` means "need more": call again with the same
    bytes extended (the bytes from *start* that were already passed must not
    change; only their offset may). A ``Request`` means the head is complete;
    it used ``request.consumed`` bytes from *start*, and the body (or the next
    pipelined request) follows. The parser is then ready for the next head.
    ``reset()`` forgets a partial head.

``Request`` (read-only): ``method``, ``target``, ``path`` and ``query`` (split
    at the first ``?``, as gevent's pywsgi does, also for absolute-form
    targets), ``path_info`` (path with ``%XX`` decoded to latin-1, gevent's
    PATH_INFO), ``version`` (``'HTTP/1.0'``/``'HTTP/1.1'``), ``minor``,
    ``headers`` (``[(name, value)]``: names as sent, values without OWS),
    ``body`` (``BODY_NONE``/``BODY_LENGTH``/``BODY_CHUNKED``; a request
    never reads until close, RFC 9112 6.3), ``content_length`` (int or
    None), ``chunked``, ``keep_alive``, ``expect_continue``, ``upgrade``
    (gevent's test: a Connection ``upgrade`` token or ``Upgrade: websocket``),
    ``content_type``, ``consumed``.
    ``environ_into(env)`` writes REQUEST_METHOD, PATH_INFO, QUERY_STRING,
    CONTENT_TYPE, CONTENT_LENGTH, SERVER_PROTOCOL and the ``HTTP_*`` keys
    into *env* as gevent's ``get_environ`` does: names upper-cased with
    ``-`` -> ``_``; a name containing ``_`` is left out (so ``X_Forwarded``
    cannot pose as ``X-Forwarded``); repeats joined with ``,`` (``; `` when
    the key contains ``COOKIE``), also onto a key *env* already held.

``ChunkedDecoder(max_chunk_size_digits=16, max_extension=8192, max_trailer_line=8192, max_trailers=100)``
    ``feed(data, start=0, limit=-1, line=False) -> bytes``: decodes from
    ``data[start:]`` and returns the payload found (at most *limit* bytes
    when ``limit >= 0``; with *line*, it stops after the first ``\\n`` of
    payload). ``consumed`` is then how many input bytes it used; ``done``
    turns true once the last chunk and the trailers (``trailers``, a list
    like ``headers``) are in, and bytes after that are not touched.

Every refusal raises ``HTTPParseError`` (a ValueError) carrying ``status``
(400, 414, 431, 501 or 505) and ``reason``; nothing else escapes for any
input.

Strictness (RFC 9112/9110), and the choices where the RFCs allow leniency
-------------------------------------------------------------------------
* Lines end with CRLF only. A bare LF is refused, not taken as a line end
  (RFC 9112 2.2 allows that, but parsers that disagree about line ends are
  the stuff of request smuggling); a bare CR anywhere in the head is
  refused. So is an empty line before the request line (2.2 says SHOULD
  ignore; gevent's pywsgi and h11 refuse it too).
* Request line: ``token SP request-target SP HTTP/d.d``, single spaces. The
  target is 1*VCHAR without ``#``: origin-form, absolute-form, ``*`` for
  OPTIONS only, authority-form (``host:port``) for CONNECT only. A version
  other than 1.0/1.1 that is well formed is 505; HTTP/0.9 is 400.
* Header lines: obs-fold and whitespace before the first header are
  refused (9112 5.2, 2.2); so is whitespace before the colon (5.1), a name
  that is not a token, and any control byte but HTAB in a value.
* Content-Length must be 1*DIGIT within 2**63-1; a second Content-Length
  is refused even when it repeats the first (9110 8.6 allows accepting
  identical repeats; refusing closes the smuggling door for good), and so
  is Content-Length with Transfer-Encoding (9112 6.1 allows either; a
  request that sends both is refused). HEAD with a non-zero length is
  refused, as gevent does.
* Transfer-Encoding (over all its lines): chunked must be the last coding
  and appear once, and empty list elements are refused, else 400 (9112
  6.3); other codings before a final chunked are 501 (6.1: not
  implemented); in HTTP/1.0 it is 400 (6.1). What is accepted is what h11
  accepts: one line, ``chunked`` in any case.
* Host: more than one is 400, and so is none in HTTP/1.1 while
  ``require_host`` (9112 3.2); the value must be an authority.
* ``Expect: 100-continue`` (any case) counts in HTTP/1.1 only (9110 10.1.1);
  other expectations are ignored, as gevent does.
* Keep-alive: HTTP/1.1 unless a Connection ``close`` token, HTTP/1.0 only
  with a ``keep-alive`` token and no ``close`` (9112 9.3), over every
  Connection line.
* Limits (gevent's): request line 8192 (414 above), a header line 65536 and
  100 headers (431 above; gevent answers 400 via http.client). Chunk sizes:
  at most 16 hex digits and 2**63-1, with nothing between them and ``;``
  or CRLF (RFC 9112 7.1.1 allows BWS before ``;``; h11 refuses it, and so
  does this); chunk extensions are checked against the grammar and 8192
  bytes per line; trailer lines 8192, 100 trailers (400 above, as the
  response may have started).
"""

cimport cython
from libc.string cimport memchr, memcmp, memcpy
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_WRITABLE
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.dict cimport PyDict_SetDefault
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from cpython.ref cimport PyObject
from cpython.unicode cimport PyUnicode_DecodeLatin1
from geventc.includes.python cimport PyUnicode_New, PyUnicode_1BYTE_DATA

__all__ = ['HTTPParseError', 'RequestParser', 'Request', 'ChunkedDecoder',
           'BODY_NONE', 'BODY_LENGTH', 'BODY_CHUNKED',
           'MAX_REQUEST_LINE', 'MAX_HEADER_LINE', 'MAX_HEADERS']

# gevent's limits: pywsgi.MAX_REQUEST_LINE; http.client's _MAXLINE and
# _MAXHEADERS, which gevent's header parsing goes through.
MAX_REQUEST_LINE = 8192
MAX_HEADER_LINE = 65536
MAX_HEADERS = 100

DEF _BODY_NONE = 0
DEF _BODY_LENGTH = 1
DEF _BODY_CHUNKED = 2
BODY_NONE = _BODY_NONE
BODY_LENGTH = _BODY_LENGTH
BODY_CHUNKED = _BODY_CHUNKED

DEF CR = 13
DEF LF = 10
DEF SP = 32
DEF HTAB = 9

cdef long long _INT63_MAX = 0x7FFFFFFFFFFFFFFF


class HTTPParseError(ValueError):
    """The request cannot be served: answer *status* and close.

    A ValueError, so gevent-style handlers that treat ValueError from
    ``read_request`` as a client error keep working.
    """

    def __init__(self, status, reason):
        ValueError.__init__(self, reason)
        self.status = status
        self.reason = reason

    def __reduce__(self):
        return (type(self), (self.status, self.reason))


# Byte classes, filled once at import. A byte indexes a table: no branch
# ladder per byte in the scanning loops.
cdef unsigned char _TCHAR[256]     # token (RFC 9110 5.6.2)
cdef unsigned char _TARGET[256]    # request-target: VCHAR but '#'
cdef unsigned char _FIELD[256]     # field value: HTAB, SP, VCHAR, obs-text
cdef unsigned char _HOST[256]      # authority: unreserved, pct, sub-delims, ':', '[', ']'
cdef unsigned char _QDTEXT[256]    # quoted-string text (RFC 9110 5.6.4)
cdef unsigned char _HEX[256]       # hex digit value + 1; 0 for others
cdef unsigned char _LOWER[256]
cdef unsigned char _UPPER[256]


cdef void _init_tables() noexcept:
    cdef int c
    cdef bytes tchar_punct = b"!#$%&'*+-.^_`|~"
    cdef bytes host_punct = b"-._~!$&'()*+,;=%:[]"
    for c in range(256):
        _LOWER[c] = c + 32 if 65 <= c <= 90 else c
        _UPPER[c] = c - 32 if 97 <= c <= 122 else c
        alnum = (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122)
        _TCHAR[c] = alnum or c in tchar_punct
        _HOST[c] = alnum or c in host_punct
        _TARGET[c] = 0x21 <= c <= 0x7E and c != 35
        _FIELD[c] = c == HTAB or (0x20 <= c <= 0x7E) or c >= 0x80
        _QDTEXT[c] = (c == HTAB or c == SP or c == 0x21 or (0x23 <= c <= 0x5B)
                      or (0x5D <= c <= 0x7E) or c >= 0x80)
        if 48 <= c <= 57:
            _HEX[c] = c - 48 + 1
        elif 97 <= c <= 102:
            _HEX[c] = c - 97 + 11
        elif 65 <= c <= 70:
            _HEX[c] = c - 65 + 11
        else:
            _HEX[c] = 0

_init_tables()


cdef inline bint _ieq(const unsigned char* p, Py_ssize_t n, const char* lower, Py_ssize_t m) noexcept:
    # Case-insensitive compare against an ASCII lower-case literal.
    cdef Py_ssize_t i
    if n != m:
        return False
    for i in range(n):
        if _LOWER[p[i]] != <unsigned char>lower[i]:
            return False
    return True


cdef inline str _latin1(const unsigned char* p, Py_ssize_t n):
    return PyUnicode_DecodeLatin1(<const char*>p, n, NULL)


cdef inline str _err_sample(const unsigned char* p, Py_ssize_t n):
    # What an error message quotes of the client's bytes: bounded.
    return repr(PyBytes_FromStringAndSize(<const char*>p, n if n < 40 else 40))


cdef str _unquote_latin1(const unsigned char* p, Py_ssize_t n):
    # urllib.parse.unquote(s, encoding='latin-1') for an ASCII s: each valid
    # %XX becomes that byte; a '%' not followed by two hex digits stays.
    if memchr(p, b'%', n) == NULL:
        return _latin1(p, n)
    cdef unsigned char* out = <unsigned char*>PyMem_Malloc(n if n else 1)
    if out == NULL:
        raise MemoryError()
    cdef Py_ssize_t i = 0, j = 0
    cdef unsigned char c, hi, lo
    try:
        while i < n:
            c = p[i]
            if c == b'%' and i + 2 < n:
                hi = _HEX[p[i + 1]]
                lo = _HEX[p[i + 2]]
                if hi and lo:
                    out[j] = <unsigned char>((hi - 1) * 16 + (lo - 1))
                    j += 1
                    i += 3
                    continue
            out[j] = c
            j += 1
            i += 1
        return _latin1(out, j)
    finally:
        PyMem_Free(out)


cdef str _environ_key(const unsigned char* p, Py_ssize_t n):
    # 'HTTP_' + name.replace('-', '_').upper(), written straight into a
    # new ASCII str (a token is ASCII).
    key = PyUnicode_New(n + 5, 127)
    cdef unsigned char* d = PyUnicode_1BYTE_DATA(key)
    cdef Py_ssize_t i
    cdef unsigned char c
    memcpy(d, b"HTTP_", 5)
    for i in range(n):
        c = p[i]
        d[5 + i] = b'_' if c == b'-' else _UPPER[c]
    return <str>key


# The methods most requests use, as shared str objects.
cdef str _GET = 'GET', _POST = 'POST', _HEAD = 'HEAD', _PUT = 'PUT', _DELETE = 'DELETE'
cdef str _OPTIONS = 'OPTIONS', _PATCH = 'PATCH', _CONNECT = 'CONNECT'


cdef str _method_str(const unsigned char* p, Py_ssize_t n):
    if n == 3:
        if memcmp(p, b"GET", 3) == 0:
            return _GET
        if memcmp(p, b"PUT", 3) == 0:
            return _PUT
    elif n == 4:
        if memcmp(p, b"POST", 4) == 0:
            return _POST
        if memcmp(p, b"HEAD", 4) == 0:
            return _HEAD
    elif n == 5 and memcmp(p, b"PATCH", 5) == 0:
        return _PATCH
    elif n == 6 and memcmp(p, b"DELETE", 6) == 0:
        return _DELETE
    elif n == 7:
        if memcmp(p, b"OPTIONS", 7) == 0:
            return _OPTIONS
        if memcmp(p, b"CONNECT", 7) == 0:
            return _CONNECT
    return _latin1(p, n)


# Header kinds the parser acts on.
DEF K_OTHER = 0
DEF K_HOST = 1
DEF K_EXPECT = 2
DEF K_UPGRADE = 3
DEF K_CONNECTION = 4
DEF K_CONTENT_TYPE = 5
DEF K_CONTENT_LENGTH = 6
DEF K_TRANSFER_ENCODING = 7

# Header names recur on every request: a name seen before, spelled the
# same, reuses its str, its HTTP_* key and its kind (no allocation).
# The table is small and fixed; a new name takes over its slot, so
# clients sending endless distinct names cost nothing but misses.
DEF NAME_CACHE_SLOTS = 256
DEF NAME_CACHE_MAX_LEN = 48


@cython.final
@cython.freelist(16)
cdef class _Name:
    cdef bytes raw
    cdef str name
    cdef str key          # the HTTP_* environ key, None when left out
    cdef int kind


cdef list _name_cache = [None] * NAME_CACHE_SLOTS


cdef int _name_kind(const unsigned char* p, Py_ssize_t n) noexcept:
    if n == 4 and _ieq(p, 4, b"host", 4):
        return K_HOST
    if n == 6 and _ieq(p, 6, b"expect", 6):
        return K_EXPECT
    if n == 7 and _ieq(p, 7, b"upgrade", 7):
        return K_UPGRADE
    if n == 10 and _ieq(p, 10, b"connection", 10):
        return K_CONNECTION
    if n == 12 and _ieq(p, 12, b"content-type", 12):
        return K_CONTENT_TYPE
    if n == 14 and _ieq(p, 14, b"content-length", 14):
        return K_CONTENT_LENGTH
    if n == 17 and _ieq(p, 17, b"transfer-encoding", 17):
        return K_TRANSFER_ENCODING
    return K_OTHER


@cython.boundscheck(False)
@cython.wraparound(False)
cdef _Name _name_entry(const unsigned char* p, Py_ssize_t n):
    cdef unsigned int h = 2166136261u
    cdef Py_ssize_t i
    cdef _Name e
    for i in range(n):
        h = (h ^ p[i]) * 16777619u
    h &= NAME_CACHE_SLOTS - 1
    if n <= NAME_CACHE_MAX_LEN:
        cached = _name_cache[h]
        if cached is not None:
            e = <_Name>cached
            if len(e.raw) == n and memcmp(<const char*>e.raw, p, n) == 0:
                return e
    e = _Name.__new__(_Name)
    e.raw = PyBytes_FromStringAndSize(<const char*>p, n)
    e.name = _latin1(p, n)
    e.kind = _name_kind(p, n)
    # gevent leaves out names with '_' (so X_Forwarded cannot pose as
    # X-Forwarded) and the two that have their own keys.
    if memchr(p, b'_', n) != NULL or e.kind == K_CONTENT_TYPE or e.kind == K_CONTENT_LENGTH:
        e.key = None
    else:
        e.key = _environ_key(p, n)
    if n <= NAME_CACHE_MAX_LEN:
        _name_cache[h] = e
    return e


ctypedef struct FieldSpan:
    Py_ssize_t name_end       # the name is [line start, name_end)
    Py_ssize_t value_start    # the value, OWS stripped, is [value_start, value_end)
    Py_ssize_t value_end


cdef int _split_field(const unsigned char* buf, Py_ssize_t a, Py_ssize_t b,
                      FieldSpan* out, int status) except -1:
    # field-line = field-name ":" OWS field-value OWS, for the line [a, b)
    # (its CRLF excluded). *status* is what a refusal answers.
    cdef Py_ssize_t p = a, v0, v1, q
    if buf[a] == SP or buf[a] == HTAB:
        raise HTTPParseError(status, 'obsolete line folding or whitespace before a field name')
    while p < b and _TCHAR[buf[p]]:
        p += 1
    if p == b or buf[p] != b':':
        if p < b and (buf[p] == SP or buf[p] == HTAB):
            raise HTTPParseError(status, 'whitespace before the colon in a header field')
        raise HTTPParseError(status, 'invalid header field name %s' % _err_sample(buf + a, b - a))
    if p == a:
        raise HTTPParseError(status, 'empty header field name')
    v0 = p + 1
    v1 = b
    while v0 < v1 and (buf[v0] == SP or buf[v0] == HTAB):
        v0 += 1
    while v1 > v0 and (buf[v1 - 1] == SP or buf[v1 - 1] == HTAB):
        v1 -= 1
    for q in range(v0, v1):
        if not _FIELD[buf[q]]:
            raise HTTPParseError(status, 'invalid byte %d in the value of header %s' % (
                buf[q], _err_sample(buf + a, p - a)))
    out.name_end = p
    out.value_start = v0
    out.value_end = v1
    return 0


@cython.final
@cython.freelist(8)
cdef class Request:
    """One parsed request head (see the module docstring)."""

    def __repr__(self):
        return '<Request %s %r %s body=%d>' % (self.method, self.target, self.version, self.body)

    cpdef environ_into(self, dict env):
        """Write this request's WSGI keys into *env*, as gevent's get_environ."""
        cdef list pairs = self._env
        cdef Py_ssize_t i, size, n = len(pairs)
        cdef PyObject* old
        env['REQUEST_METHOD'] = self.method
        env['PATH_INFO'] = self.path_info
        env['QUERY_STRING'] = self.query
        if self.content_type is not None:
            env['CONTENT_TYPE'] = self.content_type
        if self._content_length_raw:
            env['CONTENT_LENGTH'] = self._content_length_raw
        env['SERVER_PROTOCOL'] = self.version
        for i in range(0, n, 2):
            key = pairs[i]
            value = pairs[i + 1]
            # One lookup for the common case, a name not seen before. (An
            # identity test cannot tell an insert: a one-character or
            # empty str is a shared singleton.)
            size = len(env)
            old = PyDict_SetDefault(env, key, value)
            if len(env) != size:
                pass
            elif 'COOKIE' in <str>key:
                env[key] = <object>old + '; ' + value
            else:
                env[key] = <object>old + ',' + value


cdef str _HTTP_1_1 = 'HTTP/1.1', _HTTP_1_0 = 'HTTP/1.0'


cdef int _check_request_line(const unsigned char* buf, Py_ssize_t s, Py_ssize_t e,
                             RequestLine* out) except -1:
    # request-line = method SP request-target SP HTTP-version, [s, e).
    cdef Py_ssize_t p = s, t0, t1, i
    cdef int major, minor
    while p < e and _TCHAR[buf[p]]:
        p += 1
    if p == s or p == e or buf[p] != SP:
        raise HTTPParseError(400, 'invalid method in request line %s' % _err_sample(buf + s, e - s))
    out.method_end = p
    p += 1
    t0 = p
    while p < e and _TARGET[buf[p]]:
        p += 1
    if p == t0 or p == e or buf[p] != SP:
        if p == e and p > t0:
            raise HTTPParseError(400, 'request line without an HTTP version (HTTP/0.9 is not served)')
        raise HTTPParseError(400, 'invalid request target in %s' % _err_sample(buf + s, e - s))
    t1 = p
    p += 1
    if memchr(buf + p, SP, e - p) != NULL:
        raise HTTPParseError(400, 'whitespace in the request target or version %s' % _err_sample(buf + s, e - s))
    if (e - p != 8 or memcmp(buf + p, b"HTTP/", 5) != 0 or buf[p + 6] != b'.'
            or not (48 <= buf[p + 5] <= 57) or not (48 <= buf[p + 7] <= 57)):
        raise HTTPParseError(400, 'invalid HTTP version %s' % _err_sample(buf + p, e - p))
    major = buf[p + 5] - 48
    minor = buf[p + 7] - 48
    if major != 1 or minor > 1:
        raise HTTPParseError(505, 'HTTP version %s not supported' % _latin1(buf + p, 8))

    # Which form the target takes depends on the method (RFC 9112 3.2).
    if out.method_end - s == 7 and memcmp(buf + s, b"CONNECT", 7) == 0:
        # authority-form: uri-host ":" port
        for i in range(t0, t1):
            if not _HOST[buf[i]]:
                raise HTTPParseError(400, 'CONNECT needs an authority (host:port) as its target')
        if memchr(buf + t0, b':', t1 - t0) == NULL:
            raise HTTPParseError(400, 'CONNECT needs an authority (host:port) as its target')
    elif t1 - t0 == 1 and buf[t0] == b'*':
        if not (out.method_end - s == 7 and memcmp(buf + s, b"OPTIONS", 7) == 0):
            raise HTTPParseError(400, "the '*' target is for OPTIONS only")
    elif buf[t0] != b'/':
        # absolute-form: scheme ":" ...; scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
        i = t0
        if not ((65 <= buf[i] <= 90) or (97 <= buf[i] <= 122)):
            raise HTTPParseError(400, 'invalid request target %s' % _err_sample(buf + t0, t1 - t0))
        while i < t1 and ((65 <= buf[i] <= 90) or (97 <= buf[i] <= 122) or (48 <= buf[i] <= 57)
                          or buf[i] == b'+' or buf[i] == b'-' or buf[i] == b'.'):
            i += 1
        if i == t1 or buf[i] != b':':
            raise HTTPParseError(400, 'invalid request target %s' % _err_sample(buf + t0, t1 - t0))
    out.start = s
    out.target_start = t0
    out.target_end = t1
    out.end = e
    out.minor = minor
    return 0


cdef inline void _trim(const unsigned char* p, Py_ssize_t* a, Py_ssize_t* b) noexcept:
    while a[0] < b[0] and (p[a[0]] == SP or p[a[0]] == HTAB):
        a[0] += 1
    while b[0] > a[0] and (p[b[0] - 1] == SP or p[b[0] - 1] == HTAB):
        b[0] -= 1


DEF CONN_CLOSE = 1
DEF CONN_KEEP_ALIVE = 2
DEF CONN_UPGRADE = 4


cdef int _connection_flags(const unsigned char* p, Py_ssize_t n) noexcept:
    # The tokens of a Connection value (a comma list) this parser acts on.
    cdef int flags = 0
    cdef Py_ssize_t i = 0, j, a, b
    while i <= n:
        j = i
        while j < n and p[j] != b',':
            j += 1
        a = i
        b = j
        _trim(p, &a, &b)
        if _ieq(p + a, b - a, b"close", 5):
            flags |= CONN_CLOSE
        elif _ieq(p + a, b - a, b"keep-alive", 10):
            flags |= CONN_KEEP_ALIVE
        elif _ieq(p + a, b - a, b"upgrade", 7):
            flags |= CONN_UPGRADE
        i = j + 1
    return flags


ctypedef struct TransferCodings:
    # Transfer-Encoding over all its lines, in order.
    int lines
    int chunked           # how many times 'chunked' appeared
    bint last_chunked     # the last coding so far is chunked
    bint unknown          # a coding other than chunked appeared
    bint bad              # not a list of tokens, or chunked before another


cdef void _transfer_codings(const unsigned char* p, Py_ssize_t n, TransferCodings* te) noexcept:
    cdef Py_ssize_t i = 0, j, a, b, k
    cdef bint any_element = False
    te.lines += 1
    while i <= n:
        j = i
        while j < n and p[j] != b',':
            j += 1
        a = i
        b = j
        _trim(p, &a, &b)
        i = j + 1
        if a == b:
            # RFC 9110 5.6.1 has recipients skip empty elements; h11 and
            # gevent's pywsgi take only a bare 'chunked'. Refused.
            te.bad = True
            continue
        any_element = True
        if _ieq(p + a, b - a, b"chunked", 7):
            if te.chunked:
                te.bad = True
            te.chunked += 1
            te.last_chunked = True
            continue
        if te.last_chunked:
            te.bad = True
        te.last_chunked = False
        te.unknown = True
        for k in range(a, b):
            if not _TCHAR[p[k]]:
                te.bad = True   # parameters or junk: not a coding we could name
    if not any_element:
        te.bad = True


@cython.final
cdef class RequestParser:
    """Incremental parser of request heads (see the module docstring)."""

    def __init__(self, Py_ssize_t max_request_line=MAX_REQUEST_LINE,
                 Py_ssize_t max_header_line=MAX_HEADER_LINE,
                 Py_ssize_t max_headers=MAX_HEADERS, bint require_host=True):
        if max_request_line < 16 or max_header_line < 1 or max_headers < 0:
            raise ValueError('limits too small: max_request_line >= 16, max_header_line >= 1, max_headers >= 0')
        self.max_request_line = max_request_line
        self.max_header_line = max_header_line
        self.max_headers = max_headers
        self.require_host = require_host
        self.reset()

    cpdef reset(self):
        """Forget a partially received head."""
        self._scanned = 0
        self._line_start = 0
        self._nlines = 0

    cpdef Request parse(self, object data, Py_ssize_t start=0):
        """The parsed head at ``data[start:]``, or None until it is complete."""
        cdef Py_buffer view
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            if start < 0 or start > view.len:
                raise ValueError('start %d outside a buffer of %d bytes' % (start, view.len))
            return self._parse(<const unsigned char*>view.buf + start, view.len - start)
        except BaseException:
            # Whatever went wrong, the next call starts a new head.
            self.reset()
            raise
        finally:
            PyBuffer_Release(&view)

    cdef Request _parse(self, const unsigned char* buf, Py_ssize_t n):
        # Finds the end of the head, checking line ends and limits as the
        # bytes arrive (resuming where the last call stopped, so a head fed
        # byte by byte costs O(n)); the request line is checked as soon as
        # it is complete, the header lines once the head is.
        cdef Py_ssize_t pos = self._scanned, line_start = self._line_start
        cdef Py_ssize_t nlines = self._nlines
        cdef Py_ssize_t i, length
        cdef const unsigned char* lf
        if pos > n:
            # A shorter buffer than last time: the caller started over.
            pos = line_start = nlines = 0
        while True:
            lf = <const unsigned char*>memchr(buf + pos, LF, n - pos)
            if lf == NULL:
                length = n - line_start
                if length and buf[n - 1] == CR:
                    length -= 1
                if nlines == 0:
                    if length > self.max_request_line:
                        raise HTTPParseError(414, 'request line longer than %d bytes' % self.max_request_line)
                elif length > self.max_header_line:
                    raise HTTPParseError(431, 'header line longer than %d bytes' % self.max_header_line)
                self._scanned = n
                self._line_start = line_start
                self._nlines = nlines
                return None
            i = lf - buf
            if i == line_start or buf[i - 1] != CR:
                raise HTTPParseError(400, 'bare LF in the request head (lines must end with CRLF)')
            length = i - 1 - line_start
            if nlines == 0:
                if length == 0:
                    raise HTTPParseError(400, 'empty line before the request line')
                if length > self.max_request_line:
                    raise HTTPParseError(414, 'request line longer than %d bytes' % self.max_request_line)
                _check_request_line(buf, line_start, i - 1, &self._reqline)
                nlines = 1
            elif length == 0:
                self.reset()
                return self._build(buf, line_start, i + 1)
            else:
                if length > self.max_header_line:
                    raise HTTPParseError(431, 'header line longer than %d bytes' % self.max_header_line)
                nlines += 1
                if nlines > self.max_headers + 1:
                    raise HTTPParseError(431, 'more than %d header lines' % self.max_headers)
            pos = line_start = i + 1

    cdef Request _build(self, const unsigned char* buf, Py_ssize_t head_end, Py_ssize_t consumed):
        # The head is complete: its request line is checked and at
        # self._reqline, its header lines run to head_end (the empty line).
        cdef RequestLine rl = self._reqline
        cdef Request req = Request.__new__(Request)
        cdef Py_ssize_t a, b, name_len, pend, v0, v1, k
        cdef const unsigned char* q
        cdef FieldSpan f
        cdef TransferCodings te
        cdef int host_lines = 0, conn = 0, cl_lines = 0
        cdef long long cl = 0
        cdef unsigned int d
        cdef bint upgrade_seen = False, expect = False, upgrade = False
        cdef int kind
        cdef _Name entry
        cdef list headers = []
        cdef list env = []
        cdef str value
        te.lines = te.chunked = 0
        te.last_chunked = te.unknown = te.bad = False

        req.method = _method_str(buf + rl.start, rl.method_end - rl.start)
        req.target = _latin1(buf + rl.target_start, rl.target_end - rl.target_start)
        q = <const unsigned char*>memchr(buf + rl.target_start, b'?', rl.target_end - rl.target_start)
        if q == NULL:
            pend = rl.target_end
            req.path = req.target
            req.query = ''
        else:
            pend = q - buf
            req.path = _latin1(buf + rl.target_start, pend - rl.target_start)
            req.query = _latin1(buf + pend + 1, rl.target_end - pend - 1)
        if memchr(buf + rl.target_start, b'%', pend - rl.target_start) == NULL:
            req.path_info = req.path
        else:
            req.path_info = _unquote_latin1(buf + rl.target_start, pend - rl.target_start)
        req.minor = rl.minor
        req.version = _HTTP_1_1 if rl.minor else _HTTP_1_0
        req.content_type = None
        req._content_length_raw = None

        a = rl.end + 2
        while a < head_end:
            q = <const unsigned char*>memchr(buf + a, LF, head_end - a)
            if q == NULL or q == buf + a or q[-1] != CR:
                # Only if the caller changed bytes it had already passed.
                raise ValueError('the buffer changed under a partially parsed head')
            b = q - buf - 1
            _split_field(buf, a, b, &f, 400)
            name_len = f.name_end - a
            v0 = f.value_start
            v1 = f.value_end
            value = _latin1(buf + v0, v1 - v0)
            entry = _name_entry(buf + a, name_len)
            headers.append((entry.name, value))
            kind = entry.kind
            if kind == K_OTHER:
                pass
            elif kind == K_HOST:
                host_lines += 1
                for k in range(v0, v1):
                    if not _HOST[buf[k]]:
                        raise HTTPParseError(400, 'invalid Host %s' % _err_sample(buf + v0, v1 - v0))
            elif kind == K_EXPECT:
                if _ieq(buf + v0, v1 - v0, b"100-continue", 12):
                    expect = True
            elif kind == K_UPGRADE:
                if not upgrade_seen:
                    upgrade_seen = True
                    upgrade = _ieq(buf + v0, v1 - v0, b"websocket", 9)
            elif kind == K_CONNECTION:
                conn |= _connection_flags(buf + v0, v1 - v0)
            elif kind == K_CONTENT_TYPE:
                if req.content_type is None:
                    req.content_type = value
            elif kind == K_CONTENT_LENGTH:
                cl_lines += 1
                if cl_lines > 1:
                    raise HTTPParseError(400, 'more than one Content-Length')
                if v0 == v1:
                    raise HTTPParseError(400, 'empty Content-Length')
                for k in range(v0, v1):
                    d = buf[k] - 48
                    if d > 9:
                        raise HTTPParseError(400, 'Content-Length is not a decimal number: %s' % _err_sample(buf + v0, v1 - v0))
                    if cl > (_INT63_MAX - d) // 10:
                        raise HTTPParseError(400, 'Content-Length too large')
                    cl = cl * 10 + d
                req._content_length_raw = value
            elif kind == K_TRANSFER_ENCODING:
                _transfer_codings(buf + v0, v1 - v0, &te)
            if entry.key is not None:
                env.append(entry.key)
                env.append(value)
            a = b + 2

        if host_lines > 1:
            raise HTTPParseError(400, 'more than one Host header')
        if host_lines == 0 and rl.minor == 1 and self.require_host:
            raise HTTPParseError(400, 'HTTP/1.1 request without a Host header')
        if te.lines:
            if rl.minor == 0:
                raise HTTPParseError(400, 'Transfer-Encoding in an HTTP/1.0 request')
            if cl_lines:
                raise HTTPParseError(400, 'both Content-Length and Transfer-Encoding')
            if te.bad or not te.last_chunked:
                raise HTTPParseError(400, 'Transfer-Encoding must end with a single chunked')
            if te.unknown:
                raise HTTPParseError(501, 'transfer coding other than chunked not implemented')
            req.body = _BODY_CHUNKED
            req.chunked = True
            req.content_length = None
        elif cl_lines:
            if cl and req.method is _HEAD:
                raise HTTPParseError(400, 'HEAD request with a body')
            req.body = _BODY_LENGTH
            req.chunked = False
            req.content_length = cl
        else:
            req.body = _BODY_NONE
            req.chunked = False
            req.content_length = None

        if rl.minor:
            req.keep_alive = not (conn & CONN_CLOSE)
        else:
            req.keep_alive = (conn & CONN_KEEP_ALIVE) and not (conn & CONN_CLOSE)
        req.expect_continue = expect and rl.minor == 1
        req.upgrade = upgrade or (conn & CONN_UPGRADE) != 0
        req.headers = headers
        req._env = env
        req.consumed = consumed
        return req


# ChunkedDecoder states (RFC 9112 7.1):
#   chunk      = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
#   chunk-ext  = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
#   last-chunk = 1*("0") [ chunk-ext ] CRLF, then trailer-section CRLF
DEF S_SIZE = 0            # expecting the first hex digit
DEF S_SIZE_MORE = 1       # in the digits
DEF S_EXT_NAME0 = 3       # after ';': BWS, then a token
DEF S_EXT_NAME = 4
DEF S_EXT_NAME_WS = 5     # BWS after a name: '=' or ';'
DEF S_EXT_VAL0 = 6        # after '=': BWS, then a token or a quoted-string
DEF S_EXT_VAL = 7
DEF S_EXT_QUOTED = 8
DEF S_EXT_QESC = 9
DEF S_EXT_END = 10        # after a value: BWS, ';' or CR
DEF S_SIZE_LF = 11
DEF S_DATA = 12
DEF S_DATA_CR = 13
DEF S_DATA_LF = 14
DEF S_TRAILER = 15
DEF S_DONE = 16
DEF S_FAILED = 17

cdef unsigned long long _CHUNK_MAX_BEFORE_SHIFT = 0x7FFFFFFFFFFFFFFF >> 4


@cython.final
cdef class ChunkedDecoder:
    """Incremental decoder of a chunked request body (see the module docstring)."""

    def __init__(self, Py_ssize_t max_chunk_size_digits=16, Py_ssize_t max_extension=MAX_REQUEST_LINE,
                 Py_ssize_t max_trailer_line=MAX_REQUEST_LINE, Py_ssize_t max_trailers=MAX_HEADERS):
        if max_chunk_size_digits < 1 or max_extension < 0 or max_trailer_line < 1 or max_trailers < 0:
            raise ValueError('limits too small')
        self.max_chunk_size_digits = max_chunk_size_digits
        self.max_extension = max_extension
        self.max_trailer_line = max_trailer_line
        self.max_trailers = max_trailers
        self.trailers = []
        self._line = bytearray()
        self._state = S_SIZE

    @property
    def done(self):
        """True once the last chunk and the trailer section are in."""
        return self._state == S_DONE

    cdef int _fail(self, str reason) except -1:
        self._state = S_FAILED
        raise HTTPParseError(400, reason)

    cpdef bytes feed(self, object data, Py_ssize_t start=0, Py_ssize_t limit=-1, bint line=False):
        """Decode ``data[start:]``; return the payload in it (see the module docstring)."""
        cdef Py_buffer view
        cdef const unsigned char* p
        cdef const unsigned char* hit
        cdef Py_ssize_t n, i = 0, take, produced = 0
        cdef unsigned char c, h
        cdef int state = self._state
        # The payload: one piece is returned straight from the input; more
        # are gathered in `gather` (never more than the input's size).
        cdef const unsigned char* first = NULL
        cdef Py_ssize_t first_len = 0
        cdef unsigned char* gather = NULL
        cdef bint stop = False
        if state == S_FAILED:
            raise HTTPParseError(400, 'the chunked body already failed to decode')
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            if start < 0 or start > view.len:
                raise ValueError('start %d outside a buffer of %d bytes' % (start, view.len))
            p = <const unsigned char*>view.buf + start
            n = view.len - start
            while i < n and state != S_DONE and not stop:
                if state == S_DATA:
                    take = n - i
                    if <unsigned long long>take > self._remaining:
                        take = <Py_ssize_t>self._remaining
                    if limit >= 0 and take > limit - produced:
                        take = limit - produced
                    if take <= 0:
                        break
                    if line:
                        hit = <const unsigned char*>memchr(p + i, LF, take)
                        if hit != NULL:
                            take = hit - (p + i) + 1
                            stop = True
                    if first == NULL:
                        first = p + i
                        first_len = take
                    else:
                        if gather == NULL:
                            gather = <unsigned char*>PyMem_Malloc(n)
                            if gather == NULL:
                                raise MemoryError()
                            memcpy(gather, first, first_len)
                        memcpy(gather + produced, p + i, take)
                    produced += take
                    i += take
                    self._remaining -= take
                    if self._remaining == 0:
                        state = S_DATA_CR
                    if limit >= 0 and produced >= limit:
                        stop = True
                    continue
                if state == S_TRAILER:
                    self._state = state
                    i = self._trailer_line(p, i, n)
                    state = self._state
                    continue
                c = p[i]
                i += 1
                if state == S_SIZE or state == S_SIZE_MORE:
                    h = _HEX[c]
                    if h:
                        self._digits += 1
                        if self._digits > self.max_chunk_size_digits or self._remaining > _CHUNK_MAX_BEFORE_SHIFT:
                            self._fail('chunk size too large')
                        self._remaining = (self._remaining << 4) | (h - 1)
                        state = S_SIZE_MORE
                    elif state == S_SIZE:
                        self._fail('chunk size is not hexadecimal: %r' % (bytes([c]),))
                    elif c == CR:
                        state = S_SIZE_LF
                    elif c == b';':
                        self._ext_len = 1
                        state = S_EXT_NAME0
                    else:
                        # Whitespace here too: RFC 9112's BWS before ';' is
                        # refused, as h11 and other strict parsers do.
                        self._fail('invalid byte %r in a chunk size line' % (bytes([c]),))
                elif state == S_SIZE_LF:
                    if c != LF:
                        self._fail('chunk size line not ended by CRLF')
                    self._digits = 0
                    state = S_DATA if self._remaining else S_TRAILER
                elif state == S_DATA_CR:
                    if c != CR:
                        self._fail('chunk data not followed by CRLF')
                    state = S_DATA_LF
                elif state == S_DATA_LF:
                    if c != LF:
                        self._fail('chunk data not followed by CRLF')
                    state = S_SIZE
                else:
                    state = self._extension_byte(state, c)
            self._state = state
            self.consumed = i
            if gather != NULL:
                return PyBytes_FromStringAndSize(<const char*>gather, produced)
            if first != NULL:
                return PyBytes_FromStringAndSize(<const char*>first, first_len)
            return b''
        except HTTPParseError:
            self._state = S_FAILED
            raise
        finally:
            PyMem_Free(gather)
            PyBuffer_Release(&view)

    cdef int _extension_byte(self, int state, unsigned char c) except -1:
        # One byte of a chunk extension; returns the next state.
        if c != CR:
            self._ext_len += 1
            if self._ext_len > self.max_extension:
                self._fail('chunk extension longer than %d bytes' % self.max_extension)
        if state == S_EXT_NAME0:
            if c == SP or c == HTAB:
                return state
            if _TCHAR[c]:
                return S_EXT_NAME
        elif state == S_EXT_NAME:
            if _TCHAR[c]:
                return state
            if c == b'=':
                return S_EXT_VAL0
            if c == b';':
                return S_EXT_NAME0
            if c == CR:
                return S_SIZE_LF
            if c == SP or c == HTAB:
                return S_EXT_NAME_WS
        elif state == S_EXT_NAME_WS:
            if c == SP or c == HTAB:
                return state
            if c == b'=':
                return S_EXT_VAL0
            if c == b';':
                return S_EXT_NAME0
        elif state == S_EXT_VAL0:
            if c == SP or c == HTAB:
                return state
            if c == b'"':
                return S_EXT_QUOTED
            if _TCHAR[c]:
                return S_EXT_VAL
        elif state == S_EXT_VAL:
            if _TCHAR[c]:
                return state
            if c == b';':
                return S_EXT_NAME0
            if c == CR:
                return S_SIZE_LF
            if c == SP or c == HTAB:
                return S_EXT_END
        elif state == S_EXT_QUOTED:
            if c == b'"':
                return S_EXT_END
            if c == b'\\':
                return S_EXT_QESC
            if _QDTEXT[c]:
                return state
        elif state == S_EXT_QESC:
            # quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
            if c == HTAB or c >= 0x20 and c != 0x7F:
                return S_EXT_QUOTED
        elif state == S_EXT_END:
            if c == SP or c == HTAB:
                return state
            if c == b';':
                return S_EXT_NAME0
            if c == CR:
                return S_SIZE_LF
        self._fail('invalid chunk extension (byte %r)' % (bytes([c]),))

    cdef Py_ssize_t _trailer_line(self, const unsigned char* p, Py_ssize_t i, Py_ssize_t n) except -1:
        # Takes one trailer line (or the start of one) from p[i:n]; returns
        # the new position. An empty line ends the body.
        cdef const unsigned char* lf = <const unsigned char*>memchr(p + i, LF, n - i)
        cdef Py_ssize_t end, length
        cdef bytes joined
        if lf == NULL:
            self._line += PyBytes_FromStringAndSize(<const char*>(p + i), n - i)
            if len(self._line) > self.max_trailer_line + 1:
                self._fail('trailer line longer than %d bytes' % self.max_trailer_line)
            return n
        end = lf - p
        if self._line:
            self._line += PyBytes_FromStringAndSize(<const char*>(p + i), end - i)
            joined = bytes(self._line)
            del self._line[:]
            self._trailer_field(<const unsigned char*><const char*>joined, len(joined))
        else:
            self._trailer_field(p + i, end - i)
        return end + 1

    cdef int _trailer_field(self, const unsigned char* line, Py_ssize_t n) except -1:
        # One trailer line without its LF.
        cdef FieldSpan f
        if n == 0 or line[n - 1] != CR:
            self._fail('bare LF in the trailer section')
        n -= 1
        if n > self.max_trailer_line:
            self._fail('trailer line longer than %d bytes' % self.max_trailer_line)
        if n == 0:
            self._state = S_DONE
            return 0
        if len(self.trailers) >= self.max_trailers:
            self._fail('more than %d trailer fields' % self.max_trailers)
        _split_field(line, 0, n, &f, 400)
        self.trailers.append((_latin1(line, f.name_end),
                              _latin1(line + f.value_start, f.value_end - f.value_start)))
        return 0


# -- pywsgi's per-request work ----------------------------------------------------------
#
# geventc.pywsgi's WSGIHandler is a Python class (subclassed, patched), but
# what it does per request, when a class does not override the methods
# involved, runs here: reading the head, the environ, start_response and
# write, framing the response (status line, headers, Date, Content-Length or
# chunked, and the first body chunk in one send), the access log switch.
# A method a subclass overrides is called through the handler instead, so it
# pays only for that method. pywsgi decides which methods are its own
# (``serve_flags``) and lends its Python types (``_bind_pywsgi``).

from cpython.unicode cimport PyUnicode_AsLatin1String
from cpython.float cimport PyFloat_FromDouble
from cpython.dict cimport PyDict_Copy, PyDict_GetItem
from cpython.list cimport PyList_GET_SIZE, PyList_GET_ITEM
from cpython.tuple cimport PyTuple_GET_SIZE, PyTuple_GET_ITEM
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromFormat
from libc.stdio cimport snprintf
from posix.time cimport clock_gettime, timespec, CLOCK_REALTIME
from geventc._hub cimport Timeout
from geventc._socket cimport socket as _csocket
import io as _io
import sys as _sys
import time as _time

cdef extern from "<time.h>" nogil:
    ctypedef long time_t
    cdef struct tm:
        int tm_sec
        int tm_min
        int tm_hour
        int tm_mday
        int tm_mon
        int tm_year
        int tm_wday
    tm* gmtime_r(const time_t* timer, tm* result)

cdef extern from "Python.h":
    Py_ssize_t PyUnicode_FindChar(object s, Py_UCS4 ch, Py_ssize_t start, Py_ssize_t end, int direction) except -2


cdef inline object _wall_clock():
    # time.time(), without the call.
    cdef timespec ts
    clock_gettime(CLOCK_REALTIME, &ts)
    return PyFloat_FromDouble(<double>ts.tv_sec + <double>ts.tv_nsec * 1e-9)


# -- Date ---------------------------------------------------------------------------

cdef const char* _WDAY[7]
cdef const char* _MON[12]
_WDAY[:] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"]
_MON[:] = [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun",
           b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"]
cdef time_t _date_second = -1
cdef bytes _date_value = b''


cpdef bytes date_header():
    """The ``Date`` header value for now (RFC 9110 5.6.7, as bytes),
    formatted at most once a second."""
    global _date_second, _date_value
    cdef timespec ts
    cdef tm t
    cdef char buf[64]
    cdef int n
    clock_gettime(CLOCK_REALTIME, &ts)
    if ts.tv_sec != _date_second:
        gmtime_r(&ts.tv_sec, &t)
        n = snprintf(buf, sizeof(buf), "%s, %02d %3s %4d %02d:%02d:%02d GMT",
                     _WDAY[t.tm_wday], t.tm_mday, _MON[t.tm_mon], t.tm_year + 1900,
                     t.tm_hour, t.tm_min, t.tm_sec)
        _date_value = PyBytes_FromStringAndSize(buf, n)
        _date_second = ts.tv_sec
    return _date_value


# -- start_response's checks ----------------------------------------------------------

cdef inline bint _has_crlf(object s) except -1:
    cdef Py_ssize_t n = len(s)
    return PyUnicode_FindChar(s, 13, 0, n, 1) >= 0 or PyUnicode_FindChar(s, 10, 0, n, 1) >= 0


cdef object _status_code(str status):
    # int(status.split(' ', 1)[0]); the digits-only common case without
    # the calls (anything else goes through int() for its exact result).
    cdef Py_ssize_t i, n = len(status)
    cdef long code = 0
    cdef Py_UCS4 ch
    if 0 < n and n < 1000:
        i = 0
        while i < n and i < 9:
            ch = status[i]
            if ch == u' ':
                break
            if ch < u'0' or ch > u'9':
                i = -1
                break
            code = code * 10 + (<long>ch - 48)
            i += 1
        if 0 < i < 9 and (i == n or status[i] == u' '):
            return code
    return int(status.split(' ', 1)[0])


def encode_response_start(status, headers):
    """start_response's work on its arguments: *status* and each header
    name and value must be native strings without CR or LF (header
    injection), latin-1 encodable. Returns ``(status bytes, code,
    [(name bytes, value bytes)], Connection value, Date value,
    Content-Length value)``, the last three None when not given."""
    return _encode_response_start(status, headers)


cdef tuple _encode_response_start(status, headers):
    cdef list response_headers = []
    cdef bytes name_b
    cdef Py_ssize_t n
    cdef const unsigned char* p
    header = value = None
    connection = date = content_length = None
    try:
        for item in headers:
            if type(item) is tuple and PyTuple_GET_SIZE(item) == 2:
                header = <object>PyTuple_GET_ITEM(item, 0)
                value = <object>PyTuple_GET_ITEM(item, 1)
            else:
                header, value = item
            if not isinstance(header, str):
                raise UnicodeError('The header must be a native string', header, value)
            if not isinstance(value, str):
                raise UnicodeError('The value must be a native string', header, value)
            if _has_crlf(header):
                raise ValueError('carriage return or newline in header name', header)
            if _has_crlf(value):
                raise ValueError('carriage return or newline in header value', value)
            name_b = PyUnicode_AsLatin1String(header)
            response_headers.append((name_b, PyUnicode_AsLatin1String(value)))
            n = PyBytes_GET_SIZE(name_b)
            p = <const unsigned char*>PyBytes_AS_STRING(name_b)
            if _ieq(p, n, b"connection", 10):
                connection = value
            elif _ieq(p, n, b"date", 4):
                date = value
            elif _ieq(p, n, b"content-length", 14):
                content_length = value
    except UnicodeEncodeError:
        raise UnicodeError('Non-latin1 header', repr(header), repr(value))
    if not isinstance(status, str):
        raise UnicodeError('The status string must be a native string')
    if _has_crlf(status):
        raise ValueError('carriage return or newline in status', status)
    code = _status_code(status)
    return (PyUnicode_AsLatin1String(status), code, response_headers,
            connection, date, content_length)


# -- the response head -------------------------------------------------------------------

cdef bytes _generic_head(status, list headers, data, bint chunked):
    # Any bytes-like pieces: as b''.join would take them (and fail).
    parts = [b'HTTP/1.1 ', status, b'\r\n']
    for header, value in headers:
        parts += (header, b': ', value, b'\r\n')
    parts.append(b'\r\n')
    if data:
        if chunked:
            parts += (b'%x\r\n' % len(data), data, b'\r\n')
        else:
            parts.append(data)
    return b''.join(parts)


cpdef bytes build_head(status, list headers, data, bint chunked):
    """``HTTP/1.1 <status>``, the *headers* (``[(name, value)]``, bytes),
    the blank line, then *data* (framed as a chunk when *chunked*; b'' or
    None: no body) in one bytes, for one send."""
    cdef Py_ssize_t total, i, n = len(headers), dlen = 0, k
    cdef PyObject* item
    cdef PyObject* name
    cdef PyObject* value
    cdef char* out
    cdef char sizebuf[24]
    cdef int sizelen = 0
    if type(status) is not bytes or (data and type(data) is not bytes):
        return _generic_head(status, headers, data, chunked)
    total = 9 + PyBytes_GET_SIZE(status) + 2 + 2
    for i in range(n):
        item = PyList_GET_ITEM(headers, i)
        if type(<object>item) is not tuple or PyTuple_GET_SIZE(<object>item) != 2:
            return _generic_head(status, headers, data, chunked)
        name = PyTuple_GET_ITEM(<object>item, 0)
        value = PyTuple_GET_ITEM(<object>item, 1)
        if type(<object>name) is not bytes or type(<object>value) is not bytes:
            return _generic_head(status, headers, data, chunked)
        total += PyBytes_GET_SIZE(<object>name) + PyBytes_GET_SIZE(<object>value) + 4
    if data:
        dlen = PyBytes_GET_SIZE(data)
        total += dlen
        if chunked:
            sizelen = snprintf(sizebuf, sizeof(sizebuf), "%zx\r\n", dlen)
            total += sizelen + 2
    result = PyBytes_FromStringAndSize(NULL, total)
    out = PyBytes_AS_STRING(result)
    memcpy(out, b"HTTP/1.1 ", 9)
    out += 9
    k = PyBytes_GET_SIZE(status)
    memcpy(out, PyBytes_AS_STRING(status), k)
    out += k
    memcpy(out, b"\r\n", 2)
    out += 2
    for i in range(n):
        item = PyList_GET_ITEM(headers, i)
        name = PyTuple_GET_ITEM(<object>item, 0)
        value = PyTuple_GET_ITEM(<object>item, 1)
        k = PyBytes_GET_SIZE(<object>name)
        memcpy(out, PyBytes_AS_STRING(<object>name), k)
        out += k
        memcpy(out, b": ", 2)
        out += 2
        k = PyBytes_GET_SIZE(<object>value)
        memcpy(out, PyBytes_AS_STRING(<object>value), k)
        out += k
        memcpy(out, b"\r\n", 2)
        out += 2
    memcpy(out, b"\r\n", 2)
    out += 2
    if dlen:
        if chunked:
            memcpy(out, sizebuf, sizelen)
            out += sizelen
        memcpy(out, PyBytes_AS_STRING(data), dlen)
        out += dlen
        if chunked:
            memcpy(out, b"\r\n", 2)
    return result


# -- the request loop ----------------------------------------------------------------------

# Which groups of WSGIHandler's methods a handler class has as they are
# (pywsgi.serve_flags); for the others, the handler's own are called.
DEF F_READ = 1       # handle_one_request and the head reading under it
DEF F_ENVIRON = 2    # get_environ (and the server's get_environ/environ_class)
DEF F_RESPOND = 4    # handle_one_response
DEF F_APP = 8        # run_application, start_response, write and what they call
DEF F_LOG = 16       # log_request, format_request
SERVE_READ = F_READ
SERVE_ENVIRON = F_ENVIRON
SERVE_RESPOND = F_RESPOND
SERVE_APP = F_APP
SERVE_LOG = F_LOG

# pywsgi's types and globals (``_bind_pywsgi``): it imports this module.
cdef object _Input = None
cdef object _Headers = None
cdef object _InvalidClientRequest = None
cdef object _NoopLog = None
cdef dict _pywsgi = None
cdef object _read1 = _io.BufferedReader.read1
cdef object _monotonic = _time.monotonic


cpdef object head_time_left(object header_timeout, object started):
    """What is left of *header_timeout* for the rest of a request head.

    A new connection's wait for its first byte counts (*started*: when the
    wait began); a kept-alive one (None) gets all of it from its first byte."""
    if started is None or not header_timeout:
        return header_timeout
    return max(header_timeout - (_monotonic() - started), 0.001)
cdef object _SocketReader = None


def _bind_pywsgi(dict namespace):
    global _Input, _Headers, _InvalidClientRequest, _NoopLog, _pywsgi, _SocketReader
    global _ReadingSocketIO, _EAGAIN_ERRNOS
    _Input = namespace['Input']
    _Headers = namespace['_Headers']
    _InvalidClientRequest = namespace['_InvalidClientRequest']
    _NoopLog = namespace['_NoopLog']
    _pywsgi = namespace
    from geventc._socket import _SocketReader as reader, _ReadingSocketIO as raw
    import errno
    _SocketReader = reader
    _ReadingSocketIO = raw
    _EAGAIN_ERRNOS = frozenset((errno.EAGAIN, errno.EWOULDBLOCK))


cdef object _ReadingSocketIO = None
cdef object _EAGAIN_ERRNOS = None


@cython.final
cdef class _SocketReadinto:
    """``readinto`` of a ``makefile('rb')`` stream's raw SocketIO over a
    geventc socket: the stdlib's (a Python method) compiled. Bytes the
    request loop read off the socket past a request head (``pending``) come
    first, so that whoever reads the stream next gets them, as if they had
    been in its buffer."""

    cdef object raw
    cdef _csocket sock
    cdef bytes pending
    cdef Py_ssize_t pending_pos
    # The stream read through us since the loop last saw its buffer empty.
    cdef bint used

    def __call__(self, b):
        cdef Py_buffer view
        cdef Py_ssize_t n
        raw = self.raw
        if raw.closed:
            raise ValueError('I/O operation on closed file.')
        if not raw._reading:
            raise _io.UnsupportedOperation('File or stream is not readable.')
        if raw._timeout_occurred:
            raise OSError('cannot read from timed out object')
        self.used = True
        if self.pending is not None:
            PyObject_GetBuffer(b, &view, PyBUF_SIMPLE | PyBUF_WRITABLE)
            try:
                n = PyBytes_GET_SIZE(self.pending) - self.pending_pos
                if n > view.len:
                    n = view.len
                memcpy(view.buf, PyBytes_AS_STRING(self.pending) + self.pending_pos, n)
            finally:
                PyBuffer_Release(&view)
            self.pending_pos += n
            if self.pending_pos >= PyBytes_GET_SIZE(self.pending):
                self.pending = None
            return n
        try:
            return self.sock._recv_into_c(b, 0, 0, NULL, NULL, False)
        except TimeoutError:
            raw._timeout_occurred = True
            raise
        except OSError as ex:
            if ex.errno in _EAGAIN_ERRNOS:
                return None
            raise

    cdef object recv_head(self):
        # The request loop's read when the stream's buffer is empty: what
        # is pending, else one recv (None: the socket timed out).
        if self.pending is not None:
            data = self.pending[self.pending_pos:]
            self.pending = None
            return data
        try:
            return self.sock._recv_bytes(8192, 0, NULL, NULL)
        except TimeoutError:
            self.raw._timeout_occurred = True
            raise

    cdef int keep(self, bytes data, Py_ssize_t start) except -1:
        # data[start:] was read past a head: the stream's next bytes.
        if start < PyBytes_GET_SIZE(data):
            self.pending = data
            self.pending_pos = start
        return 0


cdef _SocketReadinto _compile_readinto(rfile):
    # Installs the compiled readinto on a makefile('rb', -1) stream over a
    # geventc socket (as an attribute of its raw SocketIO, where the
    # buffered stream looks it up); None for any other file.
    if type(rfile) is not _SocketReader:
        return None
    raw = rfile.raw
    if type(raw) is not _ReadingSocketIO or type(raw._sock) is not _csocket:
        return None
    existing = raw.__dict__.get('readinto')
    if type(existing) is _SocketReadinto:
        return existing
    if existing is not None:
        return None
    cdef _SocketReadinto hook = _SocketReadinto.__new__(_SocketReadinto)
    hook.raw = raw
    hook.sock = raw._sock
    hook.used = True
    raw.readinto = hook
    return hook


cdef tuple _NO_BODY_CODES = (304, 204)


@cython.final
cdef class _Connection:
    """A WSGIHandler's compiled part, one per connection: the request loop
    (:meth:`serve`), the response (:meth:`respond`), and, called, the
    application's ``start_response``."""

    cdef object handler
    cdef object server
    cdef object rfile
    cdef object loop
    cdef RequestParser parser
    cdef readonly int flags
    cdef bint buffered            # rfile is a plain buffered socket reader
    cdef object client_address    # the one remote_addr/port were made from
    cdef object remote_addr
    cdef object remote_port
    cdef object write_cb          # self.write, handed to the application
    cdef Timeout timer            # the head's timeout, reused while its seconds stay
    cdef object timer_seconds
    cdef object plain_input       # this request's Input when it has no body
    cdef _SocketReadinto reader   # rfile's compiled readinto, or None
    # The response, while the compiled start_response/write own it (F_APP);
    # the handler's attributes get these values when it is done (_sync).
    cdef object sock
    cdef object status
    cdef object orig_status
    cdef object code
    cdef list response_headers
    cdef object provided_date
    cdef object provided_content_length
    cdef object status_iteration
    cdef object result
    cdef Py_ssize_t response_length
    cdef bint started
    cdef bint headers_sent
    cdef bint use_chunked
    cdef bint upgraded
    cdef bint head
    cdef bint http10
    cdef bint close_connection
    cdef object application
    cdef object environ

    def __init__(self, handler, int flags):
        self.handler = handler
        self.flags = flags
        self.server = handler.server
        self.loop = getattr(self.server, 'loop', None)
        self.write_cb = self.write

    def close(self):
        """Drop what the connection held (the handler refers to us)."""
        self.write_cb = None
        self.timer = None
        self.reader = None
        self.handler = self.rfile = self.sock = self.result = None

    # -- the request loop -------------------------------------------------------

    def serve(self):
        """Serve requests while the socket is open: the loop of
        ``handle()`` over ``handle_one_request()``. Returns the first
        result other than True (None: close; a tuple: a refusal to send)."""
        handler = self.handler
        self.rfile = handler.rfile
        self.buffered = type(self.rfile) is _SocketReader or type(self.rfile) is _io.BufferedReader
        self.reader = _compile_readinto(self.rfile)
        self.parser = handler._get_parser()
        while handler.socket is not None:
            handler.time_start = _wall_clock()
            handler.time_finish = 0
            result = self._one_request()
            if result is not True:
                return result
        return True

    cdef object _one_request(self):
        # WSGIHandler.handle_one_request, read_requestline and read_request.
        cdef Request request
        handler = self.handler
        if self.rfile.closed:
            return None
        handler._request = None
        try:
            try:
                request = self._read_head()
            except HTTPParseError as ex:
                raise _InvalidClientRequest(ex.reason, ex.status)
        except _InvalidClientRequest as ex:
            return handler._handle_client_error(ex)
        except OSError:
            return None
        handler._request = request
        if request is None:
            handler.requestline = ''
            return None
        requestline = request.method + ' ' + request.target + ' ' + request.version
        handler.requestline = requestline
        handler.response_length = 0
        if len(requestline) >= _pywsgi['MAX_REQUEST_LINE']:
            return ('414', _pywsgi['_REQUEST_TOO_LONG_RESPONSE'])
        handler.command = request.method
        handler.path = request.target
        handler.request_version = request.version
        handler.headers = _Headers(request.headers)
        handler.content_length = request.content_length
        handler.close_connection = not request.keep_alive
        if self.flags & F_ENVIRON:
            env = self._environ(request)
        else:
            self.plain_input = None
            env = handler.get_environ()
        handler.environ = env
        application = handler.application = self.server.application
        if self.flags & F_RESPOND:
            # What _respond would read back from the handler.
            self.sock = handler.socket
            self.http10 = request.minor == 0
            self.head = request.method is _HEAD
            self.close_connection = not request.keep_alive
            self.application = application
            self.environ = env
            self._respond(True)
        else:
            handler.handle_one_response()
        if handler.close_connection:
            return None
        if self.rfile.closed:
            return None
        return True

    cdef Timeout _start_timer(self, seconds):
        cdef Timeout t = self.timer
        if t is None or not (self.timer_seconds is seconds or self.timer_seconds == seconds):
            t = Timeout.__new__(Timeout)
            Timeout.__init__(t, seconds)
            self.timer = t
            self.timer_seconds = seconds
        t.start_c()
        return t

    cdef Request _read_head(self):
        # WSGIHandler._read_head: the head in one peek when it is all there.
        cdef Request request
        cdef Timeout timer = None
        cdef _SocketReadinto reader = self.reader
        # Straight off the socket while the stream holds nothing: the
        # stream only ever gets what follows the head (reader.keep).
        cdef bint direct = reader is not None and not reader.used
        handler = self.handler
        rfile = self.rfile
        # A new connection has header_timeout to start, a kept-alive one
        # keepalive_timeout; a client that sends nothing is disconnected.
        cdef bint new = handler.requestline is None
        started = None
        idle = handler.header_timeout if new else handler.keepalive_timeout
        if idle:
            if new:
                started = _monotonic()
            timer = self._start_timer(idle)
        try:
            try:
                if direct:
                    data = reader.recv_head()
                else:
                    data = rfile.peek(65536)
            except OSError:
                return None
        except Timeout as ex:
            if ex is not timer:
                raise
            return None
        finally:
            if timer is not None:
                timer.cancel()
        if not data:
            return None
        request = self.parser.parse(data, 0)
        if direct:
            if request is not None:
                reader.keep(data, request.consumed)
                return request
            # The head goes on past these bytes: line by line, through the
            # stream, which gets them first.
            reader.keep(data, 0)
            self.parser.reset()
            return handler._read_head_slowly(head_time_left(handler.header_timeout, started))
        if request is not None:
            if reader is not None and request.consumed == len(data):
                # peek() showed the whole buffer: it is empty now.
                reader.used = False
            if self.buffered:
                # What peek() showed is in the buffer: no read() detour.
                _read1(rfile, request.consumed)
            else:
                rfile.read(request.consumed)
            return request
        self.parser.reset()
        return handler._read_head_slowly(head_time_left(handler.header_timeout, started))

    cdef dict _environ(self, Request request):
        # WSGIHandler.get_environ with WSGIServer.get_environ.
        handler = self.handler
        base = self.server.environ
        if type(base) is not dict:
            self.plain_input = None
            return handler.get_environ()
        cdef dict env = PyDict_Copy(base)
        env['SCRIPT_NAME'] = ''
        request.environ_into(env)
        client_address = handler.client_address
        if client_address is not self.client_address:
            self.client_address = client_address
            if isinstance(client_address, tuple):
                self.remote_addr = str(client_address[0])
                self.remote_port = str(client_address[1])
            else:
                self.remote_addr = None
        if self.remote_addr is not None:
            env['REMOTE_ADDR'] = self.remote_addr
            env['REMOTE_PORT'] = self.remote_port
        wsgi_input = _Input(self.rfile, request.content_length,
                            handler.socket if request.expect_continue else None,
                            request.chunked)
        self.plain_input = wsgi_input if request.body == _BODY_NONE else None
        handler.wsgi_input = wsgi_input
        if request.upgrade:
            env['wsgi.input'] = self.rfile
            env['wsgi.input_terminated'] = False
        else:
            env['wsgi.input'] = wsgi_input
            env['wsgi.input_terminated'] = True
        return env

    # -- the response -------------------------------------------------------------

    def respond(self):
        """WSGIHandler.handle_one_response."""
        self.plain_input = None
        self._respond(False)

    cdef int _respond(self, bint known) except -1:
        # *known*: the request loop has set sock, http10, head,
        # close_connection, application and environ.
        handler = self.handler
        cdef bint app_c = self.flags & F_APP
        handler.time_start = _wall_clock()
        if app_c:
            self._reset(known)
        else:
            handler.status = None
            handler.headers_sent = False
            handler.result = None
            handler.response_use_chunked = False
            handler.connection_upgraded = False
            handler.response_length = 0
        try:
            try:
                try:
                    if app_c:
                        self._run_application()
                    else:
                        handler.run_application()
                finally:
                    wsgi_input = handler.wsgi_input
                    if wsgi_input is not self.plain_input or wsgi_input is None:
                        try:
                            wsgi_input._discard()
                        except OSError as ex:
                            if isinstance(ex, _pywsgi['_InvalidClientInput']):
                                raise
            except BaseException:
                if app_c:
                    self._sync()
                handler._response_failed(*_sys.exc_info())
            else:
                if app_c:
                    self._sync()
        finally:
            handler.time_finish = _wall_clock()
            if not (self.flags & F_LOG) or type(self.server.log) is not _NoopLog:
                # (log=None: nothing to write, so nothing to format.)
                handler.log_request()
        return 0

    cdef int _reset(self, bint known) except -1:
        handler = self.handler
        if not known:
            self.sock = handler.socket
            self.http10 = handler.request_version == 'HTTP/1.0'
            self.head = handler.command == 'HEAD'
            self.close_connection = handler.close_connection
            self.application = handler.application
            self.environ = handler.environ
        # (What write() checks before start_response: the last code.)
        self.code = handler.code
        self.status = None
        self.result = None
        self.response_length = 0
        self.started = False
        self.headers_sent = False
        self.use_chunked = False
        self.upgraded = False
        return 0

    cdef int _sync(self) except -1:
        # The handler's attributes as WSGIHandler's own methods leave them.
        handler = self.handler
        handler.status = self.status
        if self.started:
            handler._orig_status = self.orig_status
            handler.response_headers = self.response_headers
            handler.code = self.code
            handler.provided_date = self.provided_date
            handler.provided_content_length = self.provided_content_length
            handler._status_iteration = self.status_iteration
        handler.headers_sent = self.headers_sent
        handler.response_use_chunked = self.use_chunked
        handler.connection_upgraded = self.upgraded
        handler.response_length = self.response_length
        handler.close_connection = self.close_connection
        handler.result = None
        self.application = self.environ = None
        return 0

    cdef int _run_application(self) except -1:
        # run_application and process_result.
        cdef Py_ssize_t i
        result = self.application(self.environ, self)
        self.result = result
        try:
            if type(result) is list:
                i = 0
                while i < PyList_GET_SIZE(result):
                    data = <object>PyList_GET_ITEM(result, i)
                    if data:
                        self._write(data)
                    i += 1
            else:
                for data in result:
                    if data:
                        self._write(data)
            if self.status and not self.headers_sent:
                # An empty body still sends the headers.
                self._write(b'')
            if self.use_chunked:
                self._sendall(b'0\r\n\r\n')
        finally:
            try:
                if type(result) is not list and type(result) is not tuple:
                    close = getattr(result, 'close', None)
                    if close is not None:
                        close()
            finally:
                self.result = None
        return 0

    def __call__(self, status, headers, exc_info=None):
        """start_response(status, headers, exc_info=None) -> write"""
        if exc_info:
            try:
                if self.headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        self.provided_date = None
        self.provided_content_length = None
        status_b, code, response_headers, connection, date, content_length = \
            _encode_response_start(status, headers)
        self.provided_date = date
        self.provided_content_length = content_length
        self.status = status_b
        self.orig_status = status
        self.status_iteration = getattr(self.loop, 'iteration', None)
        self.response_headers = response_headers
        self.code = code
        self.started = True
        if self.http10 and connection is None:
            response_headers.append((b'Connection', b'close' if self.close_connection else b'keep-alive'))
        elif connection == 'close':
            self.close_connection = True
        if (code == 304 or code == 204) and content_length is not None and content_length != '0':
            raise self.handler.ApplicationError(
                ('Invalid Content-Length for %s response: %r (must be absent or zero)'
                 % (code, content_length)).encode('latin-1'))
        return self.write_cb

    def write(self, data):
        """The ``write`` start_response returns."""
        self._write(data)

    cdef int _write(self, data) except -1:
        code = self.code
        if (code == 304 or code == 204) and data:
            raise self.handler.ApplicationError('The %s response must have no body' % code)
        if self.headers_sent:
            if not data or self.head:
                # A response to HEAD has no content (RFC 9110 9.3.2).
                return 0
            if self.use_chunked:
                self._sendall(b'%x\r\n%s\r\n' % (len(data), data))
            else:
                self._sendall(data)
            return 0
        if not self.status:
            raise self.handler.ApplicationError('The application did not call start_response()')
        # Status line, headers and the first piece of the body: one send.
        self.headers_sent = True
        self._finalize_headers()
        self._sendall(build_head(self.status, self.response_headers,
                                 None if self.head else data, self.use_chunked))
        return 0

    cdef int _finalize_headers(self) except -1:
        cdef Py_ssize_t total
        code = self.code
        if self.provided_date is None:
            self.response_headers.append((b'Date', date_header()))
        self.upgraded = code == 101
        if not (code == 304 or code == 204) and self.provided_content_length is None:
            result = self.result
            if hasattr(result, '__len__') and not self._waited_after_status():
                if type(result) is list and PyList_GET_SIZE(result) == 1:
                    total = len(<object>PyList_GET_ITEM(result, 0))
                else:
                    total = sum([len(chunk) for chunk in result])
                self.response_headers.append((b'Content-Length', PyBytes_FromFormat("%zd", total)))
            else:
                self.use_chunked = not self.upgraded and not self.http10 and not self.head
                if self.use_chunked:
                    self.response_headers.append((b'Transfer-Encoding', b'chunked'))
        return 0

    cdef bint _waited_after_status(self) except -1:
        # WSGIHandler._waited_after_status.
        mark = self.status_iteration
        if mark is None or self.loop is None:
            return False
        return getattr(self.loop, 'iteration', mark) != mark

    cdef int _sendall(self, data) except -1:
        sock = self.sock
        try:
            if type(sock) is _csocket and type(data) is bytes:
                (<_csocket>sock)._sendall_c(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), 0)
            else:
                sock.sendall(data)
        except OSError as ex:
            self.status = 'socket error: %s' % ex
            if self.code > 0:
                self.code = -self.code
            raise
        self.response_length += len(data)
        return 0
