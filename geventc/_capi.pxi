# The C API published as the capsule `geventc._C_API` (include/geventc.h).
# Slot numbers are append-only and live in include/geventc.h alone.

from cpython.pycapsule cimport PyCapsule_New
from geventc.includes cimport capi

cdef void* _c_api[capi.PyGeventC_API_pointers]


cdef object _capi_get_hub():
    return get_hub()


cdef int _capi_sleep(double seconds) except -1:
    sleep(seconds)
    return 0


cdef object _capi_spawn(PyObject* func, PyObject* args, PyObject* kwargs):
    cdef tuple a = () if args == NULL else <tuple?><object>args
    cdef dict k = {} if kwargs == NULL else <dict?><object>kwargs
    return spawn_c(<object>func, a, k)


cdef int _capi_wait_fd(int fd, int events, double timeout) except -1:
    cdef HubBase hub = get_hub()
    watcher = hub.loop.io(fd, events)
    cdef Timeout t = _start_timeout(timeout if timeout >= 0 else None)
    try:
        hub.wait(watcher)
    finally:
        if t is not None:
            t.cancel()
        watcher.close()
    return 0


cdef object _capi_run_callback(PyObject* func, PyObject* args):
    cdef tuple a = () if args == NULL else <tuple?><object>args
    return _hub_run_callback(get_hub(), <object>func, a)


cdef object _capi_run_callback_threadsafe(PyObject* hub, PyObject* func, PyObject* args):
    cdef tuple a = () if args == NULL else <tuple?><object>args
    return (<HubBase?><object>hub).loop.run_callback_threadsafe(<object>func, *a)


cdef int _capi_version() noexcept:
    return capi.PyGeventC_API_VERSION


_c_api[capi.PyGeventC_GetHub_NUM] = <void*>_capi_get_hub
_c_api[capi.PyGeventC_Sleep_NUM] = <void*>_capi_sleep
_c_api[capi.PyGeventC_Spawn_NUM] = <void*>_capi_spawn
_c_api[capi.PyGeventC_WaitFd_NUM] = <void*>_capi_wait_fd
_c_api[capi.PyGeventC_RunCallback_NUM] = <void*>_capi_run_callback
_c_api[capi.PyGeventC_RunCallbackThreadsafe_NUM] = <void*>_capi_run_callback_threadsafe
_c_api[capi.PyGeventC_Version_NUM] = <void*>_capi_version

_C_API = PyCapsule_New(<void*>_c_api, b'geventc._C_API', NULL)
