# Layout of the HTTP/1.1 request parser and chunked-body decoder
# (geventc._http). Declared here so a compiled pywsgi helper can cimport
# them and read a Request's fields without attribute lookups.

ctypedef struct RequestLine:
    # Offsets of a checked request line, kept while the headers arrive.
    Py_ssize_t start
    Py_ssize_t method_end
    Py_ssize_t target_start
    Py_ssize_t target_end
    Py_ssize_t end            # its CR
    int minor


cdef class Request:
    cdef readonly str method
    cdef readonly str target          # the request-target as sent
    cdef readonly str path            # target before the first '?', not unquoted
    cdef readonly str query           # target after the first '?', '' if none
    cdef readonly str path_info       # path with %XX decoded to latin-1 (gevent's PATH_INFO)
    cdef readonly str version         # 'HTTP/1.0' or 'HTTP/1.1'
    cdef readonly int minor           # 0 or 1
    cdef readonly list headers        # [(name, value)], names as sent, values OWS-stripped
    cdef readonly int body            # BODY_NONE, BODY_LENGTH or BODY_CHUNKED
    cdef readonly object content_length   # int, or None unless body == BODY_LENGTH
    cdef readonly bint chunked
    cdef readonly bint keep_alive
    cdef readonly bint expect_continue
    cdef readonly bint upgrade
    cdef readonly str content_type    # the first Content-Type value, or None
    cdef readonly Py_ssize_t consumed # bytes of the buffer the head used (from start)
    cdef str _content_length_raw
    cdef list _env                    # flat [HTTP_KEY, value, ...] in arrival order

    cpdef environ_into(self, dict env)


cdef class RequestParser:
    cdef readonly Py_ssize_t max_request_line
    cdef readonly Py_ssize_t max_header_line
    cdef readonly Py_ssize_t max_headers
    cdef readonly bint require_host
    # Where the search for the end of the head resumes (offsets from start).
    cdef Py_ssize_t _scanned
    cdef Py_ssize_t _line_start
    cdef Py_ssize_t _nlines
    cdef RequestLine _reqline

    cpdef Request parse(self, object data, Py_ssize_t start=*)
    cpdef reset(self)
    cdef Request _parse(self, const unsigned char* buf, Py_ssize_t n)
    cdef Request _build(self, const unsigned char* buf, Py_ssize_t head_end, Py_ssize_t consumed)


cdef class ChunkedDecoder:
    cdef readonly Py_ssize_t max_chunk_size_digits
    cdef readonly Py_ssize_t max_extension
    cdef readonly Py_ssize_t max_trailer_line
    cdef readonly Py_ssize_t max_trailers
    cdef readonly Py_ssize_t consumed     # input bytes the last feed() used
    cdef readonly list trailers           # [(name, value)]
    cdef int _state
    cdef unsigned long long _remaining    # data bytes left in the current chunk
    cdef Py_ssize_t _digits
    cdef Py_ssize_t _ext_len
    cdef bytearray _line                  # a trailer line split across feeds

    cpdef bytes feed(self, object data, Py_ssize_t start=*, Py_ssize_t limit=*, bint line=*)
    cdef int _fail(self, str reason) except -1
    cdef int _extension_byte(self, int state, unsigned char c) except -1
    cdef Py_ssize_t _trailer_line(self, const unsigned char* p, Py_ssize_t i, Py_ssize_t n) except -1
    cdef int _trailer_field(self, const unsigned char* line, Py_ssize_t n) except -1
