# Layout and typed entry points of the cooperative socket, so that other
# compiled modules (servers, pywsgi) recv/send/wait without Python dispatch.

from geventc._core cimport io
from geventc.includes cimport sockets as c
from geventc._hub cimport HubBase

# Block the current greenlet until the io watcher fires (what cancel_wait
# throws into reaches it); for the other compiled modules that wait on
# descriptors (_fileobjectposix).
cdef int _wait_on_io(HubBase hub, io w) except -1


cdef class socket:
    # The real socket: an instance of a _socket.socket subclass, kept
    # non-blocking; after close()/detach() a _closedsocket placeholder.
    cdef object _sock_obj
    # _sock_obj is a live _socket.socket whose descriptor is read from its
    # struct (never a cached number that close() elsewhere would make stale).
    cdef bint _real
    cdef readonly HubBase hub
    # The stdlib's timeout: None (cooperatively blocking) is kept as -1.
    cdef double _timeout
    cdef object _timeout_obj
    # One read and one write watcher, made on the first wait.
    cdef io _read_io
    cdef io _write_io
    cdef bint _ref
    # Recent reads returned more than the scratch copy suits: read into a
    # fresh object instead (see _recv_bytes).
    cdef bint _big_reads
    # A stream socket, whose last recv emptied the kernel's queue: the next
    # recv waits for readability first (see _wait_if_drained).
    cdef bint _stream
    cdef bint _drained
    # The OpenSSL object (of an SSLSocket) whose read returned EOF: the
    # peer's close_notify arrived, and its reads answer EOF again without
    # the socket becoming readable, so _ssl_read must not wait first.
    cdef object _tls_eof_of
    cdef public Py_ssize_t _io_refs
    cdef public bint _closed
    cdef object __weakref__

    cdef int _fd(self) except -1
    cdef int _check_hub(self) except -1
    cdef io _get_read_io(self)
    cdef io _get_write_io(self)
    cdef int _wait_c(self, io w, object timeout_exc) except -1
    cdef int _wait_timed(self, io w, object timeout_exc) except -1
    cdef int _wait_untimed(self, io w) except -1
    cdef object _recv_c(self, Py_ssize_t bufsize, int flags)
    cdef Py_ssize_t _send_c(self, const char* buf, Py_ssize_t n, int flags, double timeout) except -1
    cdef int _sendall_c(self, const char* buf, Py_ssize_t n, int flags) except -1
    cdef int _set_sock(self, object sock) except -1
    cdef int _set_timeout(self, howlong) except -1
    cdef Py_ssize_t _recv_nowait(self, char* buf, Py_ssize_t nbytes, int flags,
                                 c.sockaddr_storage* addr, c.socklen_t* addrlen) except -2
    cdef object _recv_bytes(self, Py_ssize_t bufsize, int flags,
                            c.sockaddr_storage* addr, c.socklen_t* addrlen)
    cdef Py_ssize_t _recv_into_c(self, buffer, Py_ssize_t nbytes, int flags,
                                 c.sockaddr_storage* addr, c.socklen_t* addrlen,
                                 bint from_) except -1
    cdef object _retry_read(self, method, tuple args)
    cdef Py_ssize_t _recvmsg_nowait(self, c.msghdr* msg, int flags) except -2
    cdef object _send_retrying(self, method, tuple args, int flags)
    cdef Py_ssize_t _sendmsg_c(self, c.msghdr* msg, int flags) except -1
