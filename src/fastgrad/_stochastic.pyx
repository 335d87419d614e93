# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: freethreading_compatible = True
"""Bindings of csrc/fg_min_stochastic.{h,c}: the minibatch training loop in C.

Layers: stochastic.py validates the arguments (data arrays C-contiguous,
float64 or int64, one first axis); ``run`` here asks the objective for its
batch capsule (prepared for the batch's row counts and the full data),
fills the options (the method's fields through _minimize's table), sizes the
workspace once and calls fg_minimize_stochastic_f64 with the GIL released.
The epoch orders, the per-epoch hook and the interrupt poll are ``with gil``
trampolines called at epoch boundaries (the poll every ~50 ms). C never
sees Python.
"""
cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from cpython.exc cimport PyErr_CheckSignals
from libc.math cimport NAN
from libc.stdint cimport int64_t, uintptr_t
from libc.string cimport memcpy
from fastgrad._cstatus cimport fg_status, FG_OK, FG_ERR_ARG, fg_status_message
from fastgrad._cminimize cimport *
from fastgrad._minimize cimport init_options, set_field

import numpy as np

from fastgrad import _minimize, _validate

cnp.import_array()

cdef extern from "fg_min_stochastic.h" nogil:
    ctypedef int (*fg_stochastic_order_fn)(int64_t epoch, int64_t *order, size_t rows,
                                           void *ctx) noexcept nogil
    ctypedef struct fg_stochastic_epoch_state:
        int64_t epoch, nit, nfev
        size_t n
        const double *x
        double batch_loss, loss
    ctypedef int (*fg_stochastic_epoch_fn)(const fg_stochastic_epoch_state *state,
                                           void *ctx) noexcept nogil
    ctypedef struct fg_stochastic_options:
        size_t struct_size
        size_t batch_size
        int64_t epochs
        fg_stochastic_order_fn order
        void *order_ctx
        fg_stochastic_epoch_fn on_epoch
        void *epoch_ctx
        double *epoch_fun
        int64_t epoch_capacity
        double *history_f
        int64_t history_capacity
    fg_status fg_stochastic_options_init(fg_stochastic_options *opt, size_t struct_size)
    size_t fg_minimize_stochastic_workspace_size(const fg_batch_objective *obj, size_t rows,
                                                 const fg_minimize_options *opt,
                                                 const fg_stochastic_options *sopt)
    fg_status fg_minimize_stochastic_f64(const fg_batch_objective *obj,
                                         const void *const *data, size_t rows, double *x,
                                         size_t n, const fg_minimize_options *opt,
                                         const fg_stochastic_options *sopt, void *work,
                                         size_t work_bytes, double *grad,
                                         fg_minimize_result *res)

BATCH_CAPSULE_NAME = FG_BATCH_CAPSULE_NAME.decode()

# How often, in seconds of wall time, the loop looks for Ctrl-C.
cdef double POLL_SECONDS = 0.05


cdef class _Hooks:
    """What the trampolines call, and the first exception one of them raised
    (re-raised after the C loop returns)."""
    cdef object order           # epoch -> int64 array of the rows' order
    cdef object on_epoch        # (epoch, nit, nfev, x, batch_loss, loss) -> stop?
    cdef object schedule        # t -> lr
    cdef object shape
    cdef object error

    cdef int fail(self, object exc) noexcept:
        if self.error is None:
            self.error = exc
        return 0


cdef int py_order(int64_t epoch, int64_t *order, size_t rows, void *ctx) noexcept nogil:
    with gil:
        hooks = <_Hooks>ctx
        try:
            a = np.ascontiguousarray(hooks.order(epoch), dtype=np.int64)
            if a.shape != (rows,):
                raise ValueError(f"the order of epoch {epoch} has shape {a.shape}, "
                                 f"expected ({rows},)")
            memcpy(order, cnp.PyArray_DATA(a), rows * sizeof(int64_t))
            return 0
        except BaseException as exc:
            hooks.fail(exc)
            return 1


cdef int py_epoch(const fg_stochastic_epoch_state *s, void *ctx) noexcept nogil:
    cdef cnp.npy_intp dim
    with gil:
        hooks = <_Hooks>ctx
        try:
            dim = <cnp.npy_intp>s.n
            x = cnp.PyArray_SimpleNew(1, &dim, cnp.NPY_DOUBLE)
            if s.n:
                memcpy(cnp.PyArray_DATA(x), s.x, s.n * sizeof(double))
            return 1 if hooks.on_epoch(s.epoch, s.nit, s.nfev, x.reshape(hooks.shape),
                                       s.batch_loss, s.loss) else 0
        except BaseException as exc:
            hooks.fail(exc)
            return 1


cdef double py_schedule(int64_t step, void *ctx) noexcept nogil:
    with gil:
        hooks = <_Hooks>ctx
        try:
            return as_real(hooks.schedule(step))
        except BaseException as exc:
            hooks.fail(exc)
            return NAN


cdef double as_real(object value) except? -1.0:
    if isinstance(value, float):
        return <double>value
    return _validate.real("the lr schedule's value", value, finite=False)


cdef int py_poll(const fg_minimize_state *s, void *ctx) noexcept nogil:
    """Ctrl-C: pending signals raise KeyboardInterrupt here."""
    with gil:
        hooks = <_Hooks>ctx
        try:
            PyErr_CheckSignals()
            return 0
        except BaseException as exc:
            hooks.fail(exc)
            return 1


def row_counts(Py_ssize_t rows, Py_ssize_t batch_size):
    """The row counts the loop evaluates: min(B, rows), rows % B (when not
    0) and rows, ascending and distinct."""
    b = min(batch_size, rows)
    return tuple(sorted({b, rows % b or b, rows}))


def run(object objective, cnp.ndarray x, str method, dict options, tuple data,
        Py_ssize_t batch_size, int64_t epochs, *, object order=None, object on_epoch=None,
        bint record=False, object schedule=None, object shape=None,
        cnp.ndarray lower=None, cnp.ndarray upper=None):
    """One call of fg_minimize_stochastic_f64.

    objective: has ``_fg_batch_capsule(row_counts)``. x (in/out): 1-D
    contiguous float64. options (validated by the caller): ``lr``,
    ``maximize``, ``maxiter`` and the method's option fields by name. data:
    C-contiguous float64/int64 arrays with one first axis (validated).
    order: ``epoch -> int64 array`` of the rows' order, or None for the rows
    in order. on_epoch: ``(epoch, nit, nfev, x, batch_loss, loss) -> stop``
    or None. Returns a dict of the raw result and re-raises the first
    exception a Python hook raised.
    """
    cdef fg_minimize_options o
    cdef fg_stochastic_options so
    cdef fg_minimize_result res
    cdef fg_status st
    cdef Py_ssize_t rows = (<cnp.ndarray>data[0]).shape[0], j
    cdef size_t n = cnp.PyArray_SIZE(x)
    cdef _Hooks hooks = _Hooks()
    hooks.order = order
    hooks.on_epoch = on_epoch
    hooks.schedule = schedule
    hooks.shape = shape

    counts = row_counts(rows, batch_size)
    capsule = objective._fg_batch_capsule(counts)
    if not PyCapsule_IsValid(capsule, FG_BATCH_CAPSULE_NAME):
        raise TypeError(f"_fg_batch_capsule() must return a PyCapsule named "
                        f"{BATCH_CAPSULE_NAME!r}")
    cdef const fg_batch_objective *obj = <const fg_batch_objective*>PyCapsule_GetPointer(
        capsule, FG_BATCH_CAPSULE_NAME)
    if obj.n != n:
        raise ValueError(f"x0 has {n} elements but the compiled objective takes {obj.n}")
    if obj.n_data != <size_t>len(data):
        raise ValueError(f"data has {len(data)} arrays but the compiled objective takes "
                         f"{obj.n_data}")
    cdef cnp.ndarray ptr_store = np.empty(max(len(data), 1), dtype=np.uintp)
    cdef const void **ptrs = <const void**>cnp.PyArray_DATA(ptr_store)
    for j in range(len(data)):
        a = <cnp.ndarray>data[j]
        shape_j = (<object>a).shape
        if <size_t>cnp.PyArray_NBYTES(a) != <size_t>rows * obj.row_bytes[j]:
            raise ValueError(f"data[{j}] has rows of {cnp.PyArray_NBYTES(a) // rows} bytes "
                             f"(shape {shape_j}, dtype {a.dtype}), but the compiled objective "
                             f"takes rows of {obj.row_bytes[j]} bytes")
        ptrs[j] = cnp.PyArray_DATA(a)

    init_options(&o, method)
    for name, value in options.items():
        if name in _minimize.OPTION_FIELDS:
            set_field(&o, _minimize.OPTION_FIELDS[name], value)
        elif name == "lr":
            o.lr = value
        elif name == "maximize":
            o.maximize = 1 if value else 0
        elif name == "maxiter":
            o.maxiter = value
        elif name != "line_search":
            raise TypeError(f"unknown option {name!r}")
    fg_stochastic_options_init(&so, sizeof(fg_stochastic_options))
    # The trampolines' context is the hooks; a hook left NULL is never called.
    o.lr_ctx = o.poll_ctx = so.order_ctx = so.epoch_ctx = <void*>hooks
    if schedule is not None:
        o.lr_fn = py_schedule
    o.poll = py_poll
    o.poll_interval = POLL_SECONDS
    if lower is not None:
        o.lower = <const double*>cnp.PyArray_DATA(lower)
        o.upper = <const double*>cnp.PyArray_DATA(upper)

    so.batch_size = <size_t>batch_size
    so.epochs = epochs
    if order is not None:
        so.order = py_order
    if on_epoch is not None:
        so.on_epoch = py_epoch
    cdef cnp.ndarray efun = None, hfun = None
    if record:
        nb = (rows + min(batch_size, rows) - 1) // min(batch_size, rows)
        planned = min(epochs, -(-o.maxiter // nb))
        efun = np.full(planned, np.nan)
        hfun = np.empty(min(o.maxiter, planned * nb))
        so.epoch_fun = <double*>cnp.PyArray_DATA(efun)
        so.history_f = <double*>cnp.PyArray_DATA(hfun)
        so.history_capacity = cnp.PyArray_SIZE(hfun)
        so.epoch_capacity = planned

    cdef size_t wbytes = fg_minimize_stochastic_workspace_size(obj, <size_t>rows, &o, &so)
    if wbytes == 0:
        raise ValueError(f"minimize: the options of method={method!r} with "
                         f"batch_size={batch_size} are invalid, or the workspace does not "
                         "fit in memory")
    cdef cnp.ndarray work = np.empty(wbytes + 64, dtype=np.uint8)
    cdef char *wp = <char*>cnp.PyArray_DATA(work)
    wp += (64 - <uintptr_t>wp % 64) % 64
    cdef cnp.ndarray grad = np.empty(n)
    cdef double *xp = <double*>cnp.PyArray_DATA(x)
    cdef double *gp = <double*>cnp.PyArray_DATA(grad)
    with nogil:
        st = fg_minimize_stochastic_f64(obj, ptrs, <size_t>rows, xp, n, &o, &so, wp, wbytes,
                                        gp, &res)
    if st != FG_OK:
        raise ValueError(f"minimize: {fg_status_message(st).decode()} (check the options)")
    if hooks.error is not None:
        err = hooks.error
        hooks.error = None
        if not (isinstance(err, StopIteration) and res.stop == FG_MIN_CALLBACK_STOP):
            raise err
    nb = (rows + min(batch_size, rows) - 1) // min(batch_size, rows)
    out = dict(f=res.f, grad=grad, grad_norm=res.grad_norm, nit=res.nit, nfev=res.nfev,
               njev=res.njev, epochs=res.nit // nb, stop_code=<int>res.stop,
               success=res.stop in _minimize.SUCCESS,
               message=fg_minimize_stop_message(res.stop).decode(),
               objective_status=<int>res.objective_status)
    if record:
        done = res.nit // nb
        out["history"] = dict(epoch_fun=efun[:done].copy(), fun=hfun[:res.history_len].copy())
    return out
