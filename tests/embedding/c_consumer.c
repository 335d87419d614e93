/* A third-party C extension that includes fastgrad.h and links libfgcore.a. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "fastgrad.h"

static PyObject *adam_steps(PyObject *self, PyObject *args)
{
    Py_buffer p, g, m, v;
    long steps;
    double lr;
    fg_status st = FG_OK;
    if (!PyArg_ParseTuple(args, "w*y*w*w*ld", &p, &g, &m, &v, &steps, &lr)) return NULL;
    size_t n = (size_t)(p.len / sizeof(double));
    Py_BEGIN_ALLOW_THREADS
    for (long t = 1; t <= steps && st == FG_OK; t++) {
        fg_adam_coeffs c;
        st = fg_adam_prepare(&c, lr, 0.9, 0.999, 1e-8, 0.0, 0, 0, 0, t);
        if (st == FG_OK)
            st = fg_adam_step_f64(p.buf, g.buf, m.buf, v.buf, NULL, n, &c);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&p); PyBuffer_Release(&g); PyBuffer_Release(&m); PyBuffer_Release(&v);
    return PyLong_FromLong((long)st);
}

static PyObject *status_message(PyObject *self, PyObject *arg)
{
    return PyUnicode_FromString(fg_status_message((fg_status)PyLong_AsLong(arg)));
}

static PyMethodDef methods[] = {
    {"adam_steps", adam_steps, METH_VARARGS, "Adam updates through fastgrad.h"},
    {"status_message", status_message, METH_O, "fg_status_message"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "c_consumer", NULL, -1, methods};

PyMODINIT_FUNC PyInit_c_consumer(void) { return PyModule_Create(&module); }
