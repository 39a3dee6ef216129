/* A C extension that uses geventc only through include/geventc.h. */
#include <Python.h>
#include "geventc.h"

static PyObject *
c_sleep(PyObject *self, PyObject *args)
{
    double seconds;
    if (!PyArg_ParseTuple(args, "d", &seconds))
        return NULL;
    if (PyGeventC_Sleep(seconds) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
c_get_hub(PyObject *self, PyObject *unused)
{
    return PyGeventC_GetHub();
}

static PyObject *
c_spawn(PyObject *self, PyObject *args)
{
    PyObject *func, *rest, *result;
    if (PyTuple_GET_SIZE(args) < 1) {
        PyErr_SetString(PyExc_TypeError, "spawn(func, *args)");
        return NULL;
    }
    func = PyTuple_GET_ITEM(args, 0);
    rest = PyTuple_GetSlice(args, 1, PyTuple_GET_SIZE(args));
    if (rest == NULL)
        return NULL;
    result = PyGeventC_Spawn(func, rest, NULL);
    Py_DECREF(rest);
    return result;
}

static PyObject *
c_wait_read(PyObject *self, PyObject *args)
{
    int fd;
    double timeout = -1;
    if (!PyArg_ParseTuple(args, "i|d", &fd, &timeout))
        return NULL;
    if (PyGeventC_WaitFd(fd, PyGeventC_READ, timeout) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
c_run_callback(PyObject *self, PyObject *args)
{
    PyObject *func, *rest, *result;
    if (PyTuple_GET_SIZE(args) < 1) {
        PyErr_SetString(PyExc_TypeError, "run_callback(func, *args)");
        return NULL;
    }
    func = PyTuple_GET_ITEM(args, 0);
    rest = PyTuple_GetSlice(args, 1, PyTuple_GET_SIZE(args));
    if (rest == NULL)
        return NULL;
    result = PyGeventC_RunCallback(func, rest);
    Py_DECREF(rest);
    return result;
}

static PyObject *
c_version(PyObject *self, PyObject *unused)
{
    return PyLong_FromLong(PyGeventC_Version());
}

static PyMethodDef methods[] = {
    {"sleep", c_sleep, METH_VARARGS, NULL},
    {"get_hub", c_get_hub, METH_NOARGS, NULL},
    {"spawn", c_spawn, METH_VARARGS, NULL},
    {"wait_read", c_wait_read, METH_VARARGS, NULL},
    {"run_callback", c_run_callback, METH_VARARGS, NULL},
    {"version", c_version, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "capi_user", NULL, -1, methods
};

PyMODINIT_FUNC
PyInit_capi_user(void)
{
    if (PyGeventC_Import() < 0)
        return NULL;
    return PyModule_Create(&moduledef);
}
