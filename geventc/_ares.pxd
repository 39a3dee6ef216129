# Layout of the c-ares channel and what it hands back, so that the class
# fields live in one place (the bodies are in _ares.pyx).

cimport cython
from geventc.includes cimport ares


@cython.final
cdef class Result:
    cdef public object value
    cdef public object exception


@cython.final
cdef class _Request:
    cdef object callback
    cdef channel ch

    cdef int deliver(self, object value, object exception) except -1


cdef class channel:
    cdef ares.ares_channel _ptr
    cdef readonly object loop
    cdef dict _watchers
    cdef object _timer
    cdef int _pending
    cdef bint _dealloc

    cdef int _check(self) except -1
    cdef int _report(self, ex) except -1
    cdef int _stop_timer(self) except -1
    cdef int _update_timer(self) except -1
    cdef _Request _request(self, callback)
