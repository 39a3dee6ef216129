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
    /* Start *target* (never switched into) from the greenlet handing off,
       with the recursion budget (py, c) instead of the blocker's. A plain C
       frame: the blocker's stack, saved while it waits, holds this frame and
       greenlet's start frames below it, so it is kept small (no Cython
       exception bookkeeping). Back in the blocker, greenlet has restored
       the budget set here: the blocker's own is put back. */
    static PyObject* geventc_start_switch(PyGreenlet* target, PyObject* args, int py, int c) {
        int mine_py, mine_c;
        PyObject* result;
        geventc_recursion_get(&mine_py, &mine_c);
        geventc_recursion_set(py, c);
        result = PyGreenlet_Switch(target, args, NULL);
        geventc_recursion_set(mine_py, mine_c);
        return result;
    }
    """
    object geventc_start_switch(greenlet target, PyObject* args, int py, int c)
    void geventc_recursion_get(int *py, int *c) noexcept
    void geventc_recursion_set(int py, int c) noexcept
