# Layout of the greenlet-local object (geventc.local.local).

cdef class _LocalEntry:
    # One greenlet's view of one local: its dict, and what to undo when
    # either dies.
    cdef object wrgreenlet
    cdef dict localdict
    cdef object cleanup
    cdef bint linked


cdef class local:
    cdef dict _dicts
    cdef _LocalEntry _last
    cdef tuple _localargs
    cdef dict _localkwargs
    cdef object _local_type
    cdef bint _plain
    cdef bint _has_init
    cdef object _wrself
    cdef set _type_vars
    cdef set _type_get_descriptors
    cdef set _type_set_or_del_descriptors
    cdef set _type_del_descriptors
    cdef set _type_set_descriptors
    cdef object __weakref__

    cdef dict _get_dict(self)
    cdef _LocalEntry _create_entry(self, object glet, object key)
    cdef int _remove_entry(self, object key, object cleanup) except -1
