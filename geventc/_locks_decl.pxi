# Declarations of the cdef classes in _locks.pxi (included by _hub.pxd).
