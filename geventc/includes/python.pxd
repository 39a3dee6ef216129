# CPython internals geventc reaches past the public Cython `cpython.*` pxds:
# the GIL around libev's poll, the method-descriptor layout behind the
# queues' inline deque calls, the arena allocator behind the frame-stack
# cache and the thread state's frame stack, a filesystem-decoding helper for
# AF_UNIX addresses, the interpreter's frames behind Greenlet.spawning_stack,
# and the argument parser and audit hook the socket calls share with the
# stdlib's. Declared here once; each user says why it needs them.

from cpython.ref cimport PyObject
from cpython.pystate cimport PyThreadState
from cpython.ref cimport PyObject


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
    void* PyMem_RawMalloc(size_t size) nogil
    void PyMem_RawFree(void* ptr) nogil


cdef extern from *:
    # _hub (_arena.pxi): the running thread state's frame stack (CPython
    # 3.11+ keeps interpreter frames in chunks, tstate->datastack_*; the
    # fields and _PyStackChunk are in the public cpython/pystate.h). A
    # greenlet starts with none: its first call maps a 16 KiB chunk.
    """
    #if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030F0000
    #define GEVENTC_HAS_FRAME_STACK 1
    static inline int geventc_frame_stack_empty(void) {
        return PyThreadState_Get()->datastack_chunk == NULL;
    }
    /* Make *chunk* (size bytes) the thread state's only frame-stack chunk.
       As for CPython's own first chunk, its first slot stays unused, so
       that popping the first frame never frees the chunk. */
    static inline void geventc_frame_stack_set_root(void *chunk, size_t size) {
        PyThreadState *ts = PyThreadState_Get();
        _PyStackChunk *c = (_PyStackChunk *)chunk;
        c->previous = NULL;
        c->size = size;
        c->top = 0;
        ts->datastack_chunk = c;
        ts->datastack_top = &c->data[1];
        ts->datastack_limit = (PyObject **)((char *)c + size);
    }
    #else
    #define GEVENTC_HAS_FRAME_STACK 0
    static inline int geventc_frame_stack_empty(void) { return 0; }
    static inline void geventc_frame_stack_set_root(void *chunk, size_t size) { }
    #endif
    """
    bint GEVENTC_HAS_FRAME_STACK
    bint geventc_frame_stack_empty() noexcept
    void geventc_frame_stack_set_root(void* chunk, size_t size) noexcept

    # _socket: AF_UNIX paths as the stdlib decodes them.
    object PyUnicode_DecodeFSDefaultAndSize(const char* s, Py_ssize_t size)


# _hub: Greenlet.spawning_stack. At each spawn the code objects and
# instruction offsets of the spawner's innermost frames are copied; frame
# objects are made only if someone reads the stack. On 3.11 the
# interpreter's own frames are walked: asking for PyFrameObjects would
# create one per Python frame that has none yet.
cdef extern from *:
    """
    #if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000 && !defined(PYPY_VERSION)
      #ifndef Py_BUILD_CORE
        #define Py_BUILD_CORE 1
      #endif
      #include "internal/pycore_frame.h"
      #define GEVENTC_WALK_INTERPRETER_FRAMES 1
    #endif

    /* Up to *limit* frames, innermost first, as PyEval_GetFrame() and
       PyFrame_GetBack() see them: a new reference to each code object in
       codes[], and each frame's PyFrame_GetLasti() in lasti[]. Returns how
       many. */
    static inline int geventc_capture_stack(PyObject **codes, int *lasti, int limit)
    {
        int n = 0;
    #ifdef GEVENTC_WALK_INTERPRETER_FRAMES
        _PyInterpreterFrame *f = PyThreadState_Get()->cframe->current_frame;
        while (f != NULL && n < limit) {
            if (!_PyFrame_IsIncomplete(f)) {
                int units = _PyInterpreterFrame_LASTI(f);
                Py_INCREF(f->f_code);
                codes[n] = (PyObject *)f->f_code;
                lasti[n] = units < 0 ? -1 : units * (int)sizeof(_Py_CODEUNIT);
                n++;
            }
            f = f->previous;
        }
    #else
        PyFrameObject *frame = PyEval_GetFrame();
        PyFrameObject *back;
        Py_XINCREF(frame);
        while (frame != NULL && n < limit) {
            codes[n] = (PyObject *)PyFrame_GetCode(frame);
            lasti[n] = PyFrame_GetLasti(frame);
            n++;
            back = PyFrame_GetBack(frame);
            Py_DECREF(frame);
            frame = back;
        }
        Py_XDECREF(frame);
    #endif
        return n;
    }

    /* Whether geventc_capture_stack(.., limit) would now give these n
       frames: a loop spawning greenlets spawns them all from one place. */
    static inline int geventc_same_stack(PyObject **codes, int *lasti, int n, int limit)
    {
        int i = 0;
    #ifdef GEVENTC_WALK_INTERPRETER_FRAMES
        _PyInterpreterFrame *f = PyThreadState_Get()->cframe->current_frame;
        while (f != NULL && i < limit) {
            if (!_PyFrame_IsIncomplete(f)) {
                int units = _PyInterpreterFrame_LASTI(f);
                if (i >= n || codes[i] != (PyObject *)f->f_code
                        || lasti[i] != (units < 0 ? -1 : units * (int)sizeof(_Py_CODEUNIT)))
                    return 0;
                i++;
            }
            f = f->previous;
        }
        return i == n;
    #else
        (void)codes; (void)lasti; (void)n; (void)limit; (void)i;
        return 0;
    #endif
    }
    """
    int geventc_capture_stack(PyObject** codes, int* lasti, int limit) noexcept
    int geventc_same_stack(PyObject** codes, int* lasti, int n, int limit) noexcept


# _hub: Greenlet.run calls its function. The frames of this call stay on
# the greenlet's stack, copied to the heap while it blocks: a bound method
# (spawn(obj.method, ...)) is called as its function with self first, with no
# method_vectorcall frame (144 bytes) in between. NULL: no keywords.
cdef extern from *:
    """
    static PyObject* geventc_call_run(PyObject* func, PyObject* args, PyObject* kwargs) {
        PyObject* stack[5];
        Py_ssize_t i, n = PyTuple_GET_SIZE(args);
        if (kwargs == NULL && n < 5 && Py_IS_TYPE(func, &PyMethod_Type)) {
            stack[0] = PyMethod_GET_SELF(func);
            for (i = 0; i < n; i++)
                stack[i + 1] = PyTuple_GET_ITEM(args, i);
            PyObject* f = PyMethod_GET_FUNCTION(func);
            vectorcallfunc call = PyVectorcall_Function(f);
            if (call != NULL)   /* no PyObject_Vectorcall frame either */
                return call(f, stack, n + 1, NULL);
            return PyObject_Vectorcall(f, stack, n + 1, NULL);
        }
        return PyObject_Call(func, args, kwargs);
    }
    """
    object geventc_call_run(object func, object args, PyObject* kwargs)

    # _socket: recvmsg/sendmsg/sendto parse their arguments with the stdlib's
    # formats (so bad input gets the stdlib's exact errors) and raise its
    # audit events.
    int PyArg_ParseTuple(object args, const char* format, ...) except 0
    int PyArg_Parse(object arg, const char* format, ...) except 0
    int PySys_Audit(const char* event, const char* format, ...) except -1


# _http: str objects written in place (HTTP_* environ keys built from a
# header name without an intermediate bytes or a Python-level upper()).
cdef extern from "Python.h":
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    unsigned char* PyUnicode_1BYTE_DATA(object o)
