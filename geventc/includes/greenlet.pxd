# The only place greenlet's C API (greenlet/greenlet.h) is declared.
#
# PyGreenlet_Import() fills a table that is static to each C file: every
# module that cimports this must call it at init, or the first call crashes.

from cpython.ref cimport PyObject

cdef extern from "greenlet/greenlet.h":
    ctypedef class greenlet.greenlet [object PyGreenlet, check_size error]:
        pass

    void PyGreenlet_Import()
    bint PyGreenlet_Check(object)
    greenlet PyGreenlet_GetCurrent()
    object PyGreenlet_Switch(greenlet g, PyObject* args, PyObject* kwargs)
    object PyGreenlet_Throw(greenlet g, PyObject* typ, PyObject* val, PyObject* tb)
    greenlet PyGreenlet_New(object run, greenlet parent)
    bint PyGreenlet_STARTED(greenlet g)
    bint PyGreenlet_ACTIVE(greenlet g)
    bint PyGreenlet_MAIN(greenlet g)
    greenlet PyGreenlet_GET_PARENT(greenlet g)
    int PyGreenlet_SetParent(greenlet g, greenlet nparent) except -1
