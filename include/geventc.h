/* geventc's C API: call the hub from a C extension.
 *
 * In the style of greenlet's greenlet.h: a table of function pointers
 * published as the capsule "geventc._C_API". Each function has a fixed,
 * append-only slot number and a macro. Call PyGeventC_Import() once (e.g.
 * in your module's init; it returns -1 with an exception set on failure)
 * before using any of them. All functions need the GIL and must be called
 * from the thread whose hub they use; on error they return NULL / -1 with a
 * Python exception set.
 *
 * Find this header with geventc.get_include().
 */
#ifndef GEVENTC_H
#define GEVENTC_H

#include <Python.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PyGeventC_API_VERSION 1

#define PyGeventC_GetHub_NUM 0
#define PyGeventC_Sleep_NUM 1
#define PyGeventC_Spawn_NUM 2
#define PyGeventC_WaitFd_NUM 3
#define PyGeventC_RunCallback_NUM 4
#define PyGeventC_RunCallbackThreadsafe_NUM 5
#define PyGeventC_Version_NUM 6
#define PyGeventC_API_pointers 7

/* Values for PyGeventC_WaitFd's events. */
#define PyGeventC_READ 1
#define PyGeventC_WRITE 2

/* geventc's own _hub module includes this header for the slot numbers
 * above (their one home) and defines GEVENTC_PROVIDING_CAPI first: it
 * fills the table rather than importing it. */
#ifndef GEVENTC_PROVIDING_CAPI
static void **_PyGeventC_API = NULL;
#endif

/* PyObject* PyGeventC_GetHub(void)
 * geventc.get_hub(): a new reference to the current thread's hub. */
#define PyGeventC_GetHub \
    (*(PyObject * (*)(void)) _PyGeventC_API[PyGeventC_GetHub_NUM])

/* int PyGeventC_Sleep(double seconds)
 * geventc.sleep(seconds): 0, or -1 if an exception (e.g. a Timeout or a
 * kill) was raised in the sleeping greenlet. */
#define PyGeventC_Sleep \
    (*(int (*)(double)) _PyGeventC_API[PyGeventC_Sleep_NUM])

/* PyObject* PyGeventC_Spawn(PyObject* func, PyObject* args, PyObject* kwargs)
 * geventc.spawn(func, *args, **kwargs): a new reference to the Greenlet.
 * args is a tuple or NULL, kwargs a dict or NULL. */
#define PyGeventC_Spawn \
    (*(PyObject * (*)(PyObject*, PyObject*, PyObject*)) _PyGeventC_API[PyGeventC_Spawn_NUM])

/* int PyGeventC_WaitFd(int fd, int events, double timeout)
 * Block the current greenlet until fd is ready for events (READ and/or
 * WRITE). timeout < 0 waits forever. Returns 0, or -1 with an exception
 * (socket.timeout-compatible geventc Timeout on expiry). */
#define PyGeventC_WaitFd \
    (*(int (*)(int, int, double)) _PyGeventC_API[PyGeventC_WaitFd_NUM])

/* PyObject* PyGeventC_RunCallback(PyObject* func, PyObject* args)
 * hub.loop.run_callback(func, *args): a new reference to the callback
 * object (it has stop()). args is a tuple or NULL. */
#define PyGeventC_RunCallback \
    (*(PyObject * (*)(PyObject*, PyObject*)) _PyGeventC_API[PyGeventC_RunCallback_NUM])

/* PyObject* PyGeventC_RunCallbackThreadsafe(PyObject* hub, PyObject* func, PyObject* args)
 * hub.loop.run_callback_threadsafe(func, *args), callable from any thread
 * holding the GIL: wakes that hub's loop. */
#define PyGeventC_RunCallbackThreadsafe \
    (*(PyObject * (*)(PyObject*, PyObject*, PyObject*)) _PyGeventC_API[PyGeventC_RunCallbackThreadsafe_NUM])

/* int PyGeventC_Version(void): PyGeventC_API_VERSION of the loaded geventc. */
#define PyGeventC_Version \
    (*(int (*)(void)) _PyGeventC_API[PyGeventC_Version_NUM])

#ifndef GEVENTC_PROVIDING_CAPI
/* int PyGeventC_Import(void): load the table; 0 on success, -1 on error. */
#define PyGeventC_Import() \
    ((_PyGeventC_API = (void **)PyCapsule_Import("geventc._C_API", 0)) != NULL ? 0 : -1)
#endif

#ifdef __cplusplus
}
#endif

#endif /* !GEVENTC_H */
