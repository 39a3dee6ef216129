# CPython internals geventc reaches past the public Cython `cpython.*` pxds:
# the GIL around libev's poll, the method-descriptor layout behind the
# queues' inline deque calls, the arena allocator behind the frame-stack
# cache, and a filesystem-decoding helper for AF_UNIX addresses. Declared
# here once; each user says why it needs them.

from cpython.pystate cimport PyThreadState


cdef extern from "Python.h":
    # _core: the GIL is released only around libev's poll.
    PyThreadState* PyEval_SaveThread() nogil
    void PyEval_RestoreThread(PyThreadState*) nogil

    # _queue: deque.append/popleft called through their C functions.
    ctypedef struct PyMethodDef:
        void* ml_meth
        int ml_flags
    ctypedef struct PyMethodDescrObject:
        PyMethodDef* d_method
    int METH_O
    int METH_NOARGS
    int METH_FASTCALL
    int METH_KEYWORDS
    int METH_VARARGS

    # _hub (_arena.pxi): the frame-stack chunk cache.
    ctypedef struct PyObjectArenaAllocator:
        void* ctx
        void* (*alloc)(void* ctx, size_t size) noexcept nogil
        void (*free)(void* ctx, void* ptr, size_t size) noexcept nogil
    void PyObject_GetArenaAllocator(PyObjectArenaAllocator* allocator)
    void PyObject_SetArenaAllocator(PyObjectArenaAllocator* allocator)

    # _socket: AF_UNIX paths as the stdlib decodes them.
    object PyUnicode_DecodeFSDefaultAndSize(const char* s, Py_ssize_t size)


# _core: a greenlet started by a hand-off gets the hub's recursion budget.
cdef extern from *:
    """
    /* The thread state's recursion budget, which greenlet saves and restores
       per greenlet (and which a new greenlet takes over from the thread
       state it is first switched into from). */
    static inline void geventc_recursion_get(int *py, int *c) {
        PyThreadState *ts = PyThreadState_Get();
    #if PY_VERSION_HEX >= 0x030C0000
        *py = ts->py_recursion_remaining;
        *c = ts->c_recursion_remaining;
    #else
        *py = ts->recursion_remaining;
        *c = 0;
    #endif
    }
    static inline void geventc_recursion_set(int py, int c) {
        PyThreadState *ts = PyThreadState_Get();
    #if PY_VERSION_HEX >= 0x030C0000
        ts->py_recursion_remaining = py;
        ts->c_recursion_remaining = c;
    #else
        ts->recursion_remaining = py;
        (void)c;
    #endif
    }
    """
    void geventc_recursion_get(int *py, int *c) noexcept
    void geventc_recursion_set(int py, int c) noexcept
