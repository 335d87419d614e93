/* A third-party C extension that includes fastgrad.h and links libfgcore.a:
 * its own Rosenbrock objective (value, analytic gradient, dual form) run
 * through fastgrad's minimize driver, finite differences and dual gradient,
 * and the Adam step kernel, all with the GIL released. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include "fastgrad.h"

#if !defined(FASTGRAD_VERSION_MAJOR) || FASTGRAD_VERSION_MAJOR != 0
#error "built for fastgrad 0.x"
#endif

/* ------------------------------------------------ my own objective -- */
/* f(x) = sum_{i<n-1} 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2 */
static double rosen(const double *x, size_t n, void *ctx)
{
    double s = 0.0;
    (void)ctx;
    for (size_t i = 0; i + 1 < n; i++) {
        double a = x[i + 1] - x[i] * x[i], b = 1.0 - x[i];
        s += 100.0 * (a * a) + b * b;
    }
    return s;
}

static fg_status rosen_value_grad(const double *x, size_t n, double *value, double *grad,
                                  void *ctx)
{
    *value = rosen(x, n, ctx);
    if (!grad) return FG_OK;
    for (size_t i = 0; i < n; i++) grad[i] = 0.0;
    for (size_t i = 0; i + 1 < n; i++) {
        double a = x[i + 1] - x[i] * x[i], b = 1.0 - x[i];
        grad[i] += -400.0 * x[i] * a - 2.0 * b;
        grad[i + 1] += 200.0 * a;
    }
    return FG_OK;
}

static fg_status rosen_dual(const double *x, const double *xt, size_t n, size_t k,
                            double *value, double *vt, void *ctx)
{
    for (size_t j = 0; j < k; j++) vt[j] = 0.0;
    for (size_t i = 0; i + 1 < n; i++) {
        double a = x[i + 1] - x[i] * x[i], b = 1.0 - x[i];
        for (size_t j = 0; j < k; j++)
            vt[j] += 200.0 * a * (xt[(i + 1) * k + j] - 2.0 * x[i] * xt[i * k + j])
                     - 2.0 * b * xt[i * k + j];
    }
    *value = rosen(x, n, ctx);
    return FG_OK;
}

/* A list of n floats from a double array. */
static PyObject *as_list(const double *v, size_t n)
{
    PyObject *out = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; out && i < n; i++)
        PyList_SET_ITEM(out, (Py_ssize_t)i, PyFloat_FromDouble(v[i]));
    return out;
}

/* minimize(x: writable buffer of doubles, method, lr, maxiter, tol, dual)
 * -> (status, f, grad list, nit, stop); x holds the result. */
static PyObject *minimize(PyObject *self, PyObject *args)
{
    Py_buffer xb;
    int method, dual;
    double lr, tol;
    long maxiter;
    if (!PyArg_ParseTuple(args, "w*idldp", &xb, &method, &lr, &maxiter, &tol, &dual)) return NULL;
    size_t n = (size_t)(xb.len / sizeof(double));
    fg_minimize_options opt;
    fg_status st = fg_minimize_options_init(&opt, sizeof opt, (fg_minimize_method)method);
    size_t wlen = st == FG_OK ? fg_minimize_workspace_size(n, &opt) : 0;
    size_t dlen = fg_dual_gradient_workspace_size(n, 0);
    double *mem = malloc((wlen + dlen + n + 1) * sizeof(double));
    if (!mem) { PyBuffer_Release(&xb); return PyErr_NoMemory(); }
    double *work = mem, *dwork = mem + wlen, *grad = mem + wlen + dlen;
    fg_minimize_result res = {0};
    fg_dual_objective dobj = {rosen_dual, NULL, 0, dwork};
    fg_objective obj = {rosen_value_grad, NULL, NULL};
    if (dual) { obj.value_grad = fg_dual_value_grad; obj.ctx = &dobj; }
    Py_BEGIN_ALLOW_THREADS
    if (st == FG_OK) {
        opt.lr = lr;
        opt.maxiter = maxiter;
        opt.tol = tol;
        st = fg_minimize_run_f64(&obj, xb.buf, n, &opt, work, wlen, grad, &res);
    }
    Py_END_ALLOW_THREADS
    PyObject *g = as_list(grad, n);
    free(mem);
    PyBuffer_Release(&xb);
    if (!g) return NULL;
    return Py_BuildValue("idNLi", (int)st, res.f, g, (long long)res.nit, (int)res.stop);
}

/* fd_gradient(x, method) -> (status, grad list) */
static PyObject *fd_gradient(PyObject *self, PyObject *args)
{
    Py_buffer xb;
    int method;
    if (!PyArg_ParseTuple(args, "y*i", &xb, &method)) return NULL;
    size_t n = (size_t)(xb.len / sizeof(double));
    size_t wlen = fg_fd_gradient_workspace_size((fg_fd_method)method, n);
    double *mem = malloc((wlen + n + 1) * sizeof(double));
    if (!mem) { PyBuffer_Release(&xb); return PyErr_NoMemory(); }
    fg_status st;
    Py_BEGIN_ALLOW_THREADS
    st = fg_fd_gradient_f64(rosen, NULL, xb.buf, n, (fg_fd_method)method, NULL, mem + wlen,
                            NULL, mem);
    Py_END_ALLOW_THREADS
    PyObject *g = as_list(mem + wlen, n);
    free(mem);
    PyBuffer_Release(&xb);
    if (!g) return NULL;
    return Py_BuildValue("iN", (int)st, g);
}

/* dual_gradient(x, chunk) -> (status, value, grad list) */
static PyObject *dual_gradient(PyObject *self, PyObject *args)
{
    Py_buffer xb;
    Py_ssize_t chunk;
    if (!PyArg_ParseTuple(args, "y*n", &xb, &chunk)) return NULL;
    size_t n = (size_t)(xb.len / sizeof(double));
    size_t wlen = fg_dual_gradient_workspace_size(n, (size_t)chunk);
    double *mem = malloc((wlen + n + 1) * sizeof(double));
    if (!mem) { PyBuffer_Release(&xb); return PyErr_NoMemory(); }
    double value = 0.0;
    fg_status st;
    Py_BEGIN_ALLOW_THREADS
    st = fg_dual_gradient_f64(rosen_dual, NULL, xb.buf, n, (size_t)chunk, &value, mem + wlen,
                              mem);
    Py_END_ALLOW_THREADS
    PyObject *g = as_list(mem + wlen, n);
    free(mem);
    PyBuffer_Release(&xb);
    if (!g) return NULL;
    return Py_BuildValue("idN", (int)st, value, g);
}

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

static PyObject *version(PyObject *self, PyObject *unused)
{
    return PyUnicode_FromString(FASTGRAD_VERSION);
}

static PyMethodDef methods[] = {
    {"minimize", minimize, METH_VARARGS, "my Rosenbrock through fg_minimize_run_f64"},
    {"fd_gradient", fd_gradient, METH_VARARGS, "fg_fd_gradient_f64 of my Rosenbrock"},
    {"dual_gradient", dual_gradient, METH_VARARGS, "fg_dual_gradient_f64 of my Rosenbrock"},
    {"adam_steps", adam_steps, METH_VARARGS, "Adam updates through fastgrad.h"},
    {"status_message", status_message, METH_O, "fg_status_message"},
    {"version", version, METH_NOARGS, "FASTGRAD_VERSION"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "c_consumer", NULL, -1, methods};

PyMODINIT_FUNC PyInit_c_consumer(void) { return PyModule_Create(&module); }
