# The few libc names Cython's own libc/posix pxds lack.

cdef extern from "<signal.h>" nogil:
    int NSIG                    # one past the highest signal number

cdef extern from "<errno.h>" nogil:
    int EWOULDBLOCK             # EAGAIN's twin (the same value on Linux)

cdef extern from "<string.h>" nogil:
    size_t strnlen(const char* s, size_t maxlen)
