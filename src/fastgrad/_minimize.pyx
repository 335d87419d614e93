# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: freethreading_compatible = True
"""Bindings of csrc/fg_minimize.{h,c}: the minimize driver, the whole loop in C.

Layers: minimize.py validates the arguments; ``run`` here fills an
fg_minimize_options struct (method options generically, through the C
table of option fields), allocates the workspace and history once, and
calls fg_minimize_run_f64 with the GIL released. A compiled objective (a
capsule) runs GIL-free; a Python objective, callback, schedule or the
interrupt poll goes through small ``with gil`` trampolines. The method list,
each method's options and capabilities come from the C method table.
C never sees Python.
"""
cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from libc.math cimport NAN
from libc.stdint cimport int64_t
from libc.string cimport memcpy
from fastgrad._cstatus cimport fg_status, FG_OK, FG_ERR_ARG, FG_ERR_CALLBACK, fg_status_message
from fastgrad._cminimize cimport *
from fastgrad._poll cimport now_seconds, progress_due

import numpy as np

from fastgrad import _validate

cnp.import_array()

OBJECTIVE_CAPSULE_NAME = FG_OBJECTIVE_CAPSULE_NAME.decode()

#: line_search names -> codes (None: the method's default)
LINE_SEARCHES = {None: FG_MIN_LS_DEFAULT, "none": FG_MIN_LS_NONE, "armijo": FG_MIN_LS_ARMIJO,
                 "wolfe": FG_MIN_LS_WOLFE}
_LS_NAMES = {code: name for name, code in LINE_SEARCHES.items()}

STOP_NAMES = {FG_MIN_CONVERGED: "converged", FG_MIN_MAXITER: "maxiter",
              FG_MIN_DIVERGED: "diverged", FG_MIN_CALLBACK_STOP: "callback",
              FG_MIN_OBJECTIVE_ERROR: "objective_error",
              FG_MIN_LINESEARCH_FAILED: "linesearch_failed",
              FG_MIN_SCHEDULE_ERROR: "schedule_error", FG_MIN_FTOL: "ftol",
              FG_MIN_MAXFUN: "maxfun", FG_MIN_INTERRUPTED: "interrupted",
              FG_MIN_EPOCHS: "epochs"}
SUCCESS = frozenset({FG_MIN_CONVERGED, FG_MIN_FTOL, FG_MIN_EPOCHS})


cdef dict _option_fields():
    cdef size_t count, i
    cdef const fg_minimize_option_field *f = fg_minimize_option_fields(&count)
    out = {}
    for i in range(count):
        out[f[i].name.decode()] = dict(offset=f[i].offset, kind=<int>f[i].kind,
                                       count=f[i].count, low=f[i].low, high=f[i].high,
                                       low_open=bool(f[i].low_open),
                                       high_open=bool(f[i].high_open))
    return out


cdef dict _method_table():
    cdef fg_minimize_method_info info
    cdef int code, k
    out = {}
    for code in range(<int>FG_MIN_METHOD_COUNT):
        fg_minimize_method_info_get(<fg_minimize_method>code, &info)
        options = []
        k = 0
        while info.options[k] != NULL:
            options.append(info.options[k].decode())
            k += 1
        out[info.name.decode()] = dict(
            code=code, needs_hessian=bool(info.needs & FG_MIN_NEEDS_HESSIAN),
            uses_hvp=bool(info.needs & FG_MIN_USES_HVP),
            supports_bounds=bool(info.supports_bounds), stops_on_ftol=bool(info.stops_on_ftol),
            line_searches=tuple(name for c, name in _LS_NAMES.items()
                                if c != FG_MIN_LS_DEFAULT and info.line_searches & (1u << c)),
            default_line_search=_LS_NAMES[info.default_line_search],
            options=tuple(options))
    return out


#: The C option fields by name: offset, kind (0 double, 1 flag, 2 int64),
#: count (2 for betas) and the valid range.
OPTION_FIELDS = _option_fields()
#: The method table: name -> code, needs_hessian, uses_hvp, supports_bounds,
#: stops_on_ftol, line_searches, default_line_search, options.
METHOD_TABLE = _method_table()
#: doubles of the workspace header (fg_minimize.h)
HEADER_LEN = FG_MIN_HEADER_LEN
#: name -> method code, for embedders (fg_minimize_method)
METHODS = {name: row["code"] for name, row in METHOD_TABLE.items()}


# ------------------------------------------------ exports for embedders --

cdef fg_status minimize_options_init(fg_minimize_options *opt, size_t struct_size,
                                     fg_minimize_method method) noexcept nogil:
    return fg_minimize_options_init(opt, struct_size, method)

cdef size_t minimize_workspace_size(size_t n, const fg_minimize_options *opt) noexcept nogil:
    return fg_minimize_workspace_size(n, opt)

cdef size_t minimize_state_size(size_t n, const fg_minimize_options *opt) noexcept nogil:
    return fg_minimize_state_size(n, opt)

cdef fg_status minimize_run_f64(const fg_objective *obj, double *x, size_t n,
                                const fg_minimize_options *opt, double *work, size_t work_len,
                                double *grad, fg_minimize_result *res) noexcept nogil:
    return fg_minimize_run_f64(obj, x, n, opt, work, work_len, grad, res)

cdef const char *minimize_stop_message(fg_minimize_stop stop) noexcept nogil:
    return fg_minimize_stop_message(stop)


# ------------------------------------------------ options by field name --

cdef object get_field(const fg_minimize_options *o, dict field):
    cdef const char *base = <const char*>o + <size_t>field["offset"]
    kind, count = field["kind"], field["count"]
    if kind == FG_MIN_FIELD_INT:
        return bool((<const int*>base)[0])
    if kind == FG_MIN_FIELD_INT64:
        return int((<const int64_t*>base)[0])
    if count == 1:
        return (<const double*>base)[0]
    return tuple((<const double*>base)[i] for i in range(count))


cdef int set_field(fg_minimize_options *o, dict field, object value) except -1:
    cdef char *base = <char*>o + <size_t>field["offset"]
    cdef int i
    kind, count = field["kind"], field["count"]
    if kind == FG_MIN_FIELD_INT:
        (<int*>base)[0] = 1 if value else 0
    elif kind == FG_MIN_FIELD_INT64:
        (<int64_t*>base)[0] = value
    elif count == 1:
        (<double*>base)[0] = value
    else:
        for i in range(count):
            (<double*>base)[i] = value[i]
    return 0


cdef int init_options(fg_minimize_options *o, str method) except -1:
    if fg_minimize_options_init(o, sizeof(fg_minimize_options),
                                <fg_minimize_method><int>METHODS[method]) != FG_OK:
        raise ValueError(f"unknown method {method!r}")
    return 0


def defaults(str method):
    """The C defaults (fg_minimize_options_init) of one method: lr and every
    option field, as a dict."""
    cdef fg_minimize_options o
    init_options(&o, method)
    out = dict(lr=o.lr)
    for name, field in OPTION_FIELDS.items():
        out[name] = get_field(&o, field)
    return out


def run_defaults():
    """The C defaults of the run's settings (tol, ftol, maxiter, maxfun)."""
    cdef fg_minimize_options o
    init_options(&o, "gd")
    return dict(tol=o.tol, ftol=o.ftol, maxiter=o.maxiter, maxfun=o.maxfun)


def workspace_size(Py_ssize_t n, str method):
    """Doubles of workspace the driver needs for n unknowns with the method's
    default options (fg_minimize_workspace_size)."""
    cdef fg_minimize_options o
    init_options(&o, method)
    return fg_minimize_workspace_size(<size_t>n, &o)


def state_size(Py_ssize_t n, str method):
    """Doubles of the workspace a warm start carries (fg_minimize_state_size)."""
    cdef fg_minimize_options o
    init_options(&o, method)
    return fg_minimize_state_size(<size_t>n, &o)


# ---------------------------------------------------- Python trampolines --

cdef inline cnp.ndarray copy_vector(const double *p, size_t n, object shape):
    """A fresh float64 array (in the user's shape) holding p[0..n)."""
    cdef cnp.npy_intp dim = <cnp.npy_intp>n
    cdef cnp.ndarray a = cnp.PyArray_SimpleNew(1, &dim, cnp.NPY_DOUBLE)
    if n:
        memcpy(cnp.PyArray_DATA(a), p, n * sizeof(double))
    return a.reshape(shape) if shape is not None else a


cdef inline int fill_vector(double *out, object value, size_t n, str what) except -1:
    """out[0..n) <- value: a float64 array taken as is (the common case, no
    Python-level call), anything else through _validate.input_array (which
    refuses bools, strings and objects, naming `what`)."""
    cdef cnp.ndarray a
    if (cnp.PyArray_CheckExact(value) and cnp.PyArray_TYPE(<cnp.ndarray>value) == cnp.NPY_DOUBLE
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>value)
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>value)):
        a = <cnp.ndarray>value
    else:
        a = _validate.input_array(what, value, dtype=np.float64)
    if <size_t>cnp.PyArray_SIZE(a) != n:
        raise ValueError(f"{what} has {cnp.PyArray_SIZE(a)} values, expected {n}")
    if n:
        memcpy(out, cnp.PyArray_DATA(a), n * sizeof(double))
    return 0


cdef inline double as_real(object value, str what) except? -1.0:
    """A Python or NumPy real number as a double; anything else (a string, a
    bool, an array) raises TypeError naming `what`: nothing is coerced."""
    if isinstance(value, float):
        return <double>value
    return _validate.real(what, value, finite=False)


cdef class _Run:
    """Python state of one run: what the trampolines call, and the first
    exception any of them raised (re-raised after the C loop returns)."""
    cdef object value_grad      # x -> (f, g) or None (compiled objective)
    cdef object hess            # x -> (n, n) or None
    cdef object hessp           # (x, v) -> H v or None
    cdef object on_callback     # (nit, x, f, g, gnorm, nfev, njev) -> stop?
    cdef object schedule        # t -> lr or None
    cdef object shape
    cdef object error
    cdef bint progress
    cdef double progress_interval, next_progress

    cdef int fail(self, object exc) noexcept:
        if self.error is None:
            self.error = exc
        return 0


cdef fg_status py_value_grad(const double *x, size_t n, double *value, double *grad,
                             void *ctx) noexcept nogil:
    with gil:
        run = <_Run>ctx
        try:
            f, g = run.value_grad(copy_vector(x, n, run.shape))
            value[0] = as_real(f, "the value of fun")
            if grad != NULL:
                fill_vector(grad, g, n, "the gradient (jac)")
            return FG_OK
        except BaseException as exc:
            run.fail(exc)
            return FG_ERR_CALLBACK


cdef fg_status py_hessian(const double *x, size_t n, double *hess, void *ctx) noexcept nogil:
    with gil:
        run = <_Run>ctx
        try:
            fill_vector(hess, run.hess(copy_vector(x, n, run.shape)), n * n, "the Hessian (hess)")
            return FG_OK
        except BaseException as exc:
            run.fail(exc)
            return FG_ERR_CALLBACK


cdef fg_status py_hvp(const double *x, const double *v, size_t n, double *hv,
                      void *ctx) noexcept nogil:
    with gil:
        run = <_Run>ctx
        try:
            fill_vector(hv, run.hessp(copy_vector(x, n, run.shape), copy_vector(v, n, run.shape)),
                        n, "the Hessian-vector product (hessp)")
            return FG_OK
        except BaseException as exc:
            run.fail(exc)
            return FG_ERR_CALLBACK


cdef double py_schedule(int64_t step, void *ctx) noexcept nogil:
    with gil:
        run = <_Run>ctx
        try:
            return as_real(run.schedule(step), "the lr schedule's value")
        except BaseException as exc:
            run.fail(exc)
            return NAN


cdef int print_progress(_Run run, int64_t nit, double f, double gnorm, bint final) except -1:
    import sys
    sys.stderr.write(f"\rminimize: iter {nit:>9d}  f = {f: .6e}  |grad| = {gnorm:.3e}"
                     + ("\n" if final else ""))
    sys.stderr.flush()
    return 0


cdef int py_callback(const fg_minimize_state *s, void *ctx) noexcept nogil:
    """The user's callback (every callback_every updates): nonzero stops."""
    with gil:
        run = <_Run>ctx
        try:
            return 1 if run.on_callback(s.nit, copy_vector(s.x, s.n, run.shape), s.f,
                                        copy_vector(s.grad, s.n, run.shape),
                                        s.grad_norm, s.nfev, s.njev) else 0
        except BaseException as exc:
            run.fail(exc)
            return 1


cdef int py_poll(const fg_minimize_state *s, void *ctx) noexcept nogil:
    """Called by the C loop about every POLL_SECONDS of wall time: Ctrl-C
    (pending signals raise KeyboardInterrupt here) and the progress line."""
    with gil:
        run = <_Run>ctx
        try:
            if progress_due(run.progress, &run.next_progress, run.progress_interval):
                print_progress(run, s.nit, s.f, s.grad_norm, False)
            return 0
        except BaseException as exc:
            run.fail(exc)
            return 1


# How often, in seconds of wall time, the loop looks for Ctrl-C: prompt to a
# person, invisible in the run time (the GIL about 20 times a second).
cdef double POLL_SECONDS = 0.05


# ------------------------------------------------------------- the run --

cdef void *capsule_payload(object owner, str getter, const char *name, list keep) except NULL:
    """The pointer of owner.<getter>(), a PyCapsule named `name` (kept alive
    in `keep`)."""
    capsule = getattr(owner, getter)()
    if not PyCapsule_IsValid(capsule, name):
        raise TypeError(f"{getter}() must return a PyCapsule named {name.decode()!r}")
    keep.append(capsule)
    return PyCapsule_GetPointer(capsule, name)


cdef int check_size(size_t got, size_t n) except -1:
    if got != n:
        raise ValueError(f"x0 has {n} elements but the compiled objective takes {got}")
    return 0


cdef fg_objective compiled_objective(object objective, size_t n, list keep) except *:
    """The fg_objective of a fresh capsule of a compiled objective (its own
    workspace: one thread at a time), kept alive in `keep`."""
    cdef fg_objective_callback *cb = <fg_objective_callback*>capsule_payload(
        objective, "_fg_objective_capsule", FG_OBJECTIVE_CAPSULE_NAME, keep)
    check_size(cb.n, n)
    return cb.objective


cdef bint compiled_hvp(object objective, fg_minimize_options *o, size_t n,
                       list keep) except -1:
    """o.hvp from a fresh capsule of the objective's ``_fg_hvp_capsule`` (kept
    alive in `keep`); False (o untouched) when it has none."""
    if not hasattr(objective, "_fg_hvp_capsule"):
        return False
    cdef fg_hvp_callback *hcb = <fg_hvp_callback*>capsule_payload(
        objective, "_fg_hvp_capsule", FG_HVP_CAPSULE_NAME, keep)
    check_size(hcb.n, n)
    o.hvp = hcb.fn
    o.hvp_ctx = hcb.ctx
    return True


cdef fg_objective objective_of(object objective, _Run state, size_t n, object hess,
                               list keep) except *:
    """The fg_objective for a compiled objective (its capsule, kept alive in
    `keep`) or for a Python callable x -> (f, g) (the trampolines)."""
    cdef fg_objective obj
    if hasattr(objective, "_fg_objective_capsule"):
        return compiled_objective(objective, n, keep)
    state.value_grad = objective
    state.hess = hess
    obj.value_grad = py_value_grad
    obj.hessian = NULL
    if hess is not None:
        obj.hessian = py_hessian
    obj.ctx = <void*>state
    return obj


cdef int fill_options(fg_minimize_options *o, str method, dict options) except -1:
    """*o: the method's defaults, then `options` (validated by minimize.py):
    ``lr``, the method's option fields by name (OPTION_FIELDS), the run's
    ``tol``, ``ftol``, ``maxiter``, ``maxfun``, ``maximize`` and
    ``line_search`` (a LINE_SEARCHES name)."""
    init_options(o, method)
    for name, value in options.items():
        if name in OPTION_FIELDS:
            set_field(o, OPTION_FIELDS[name], value)
        elif name == "lr":
            o.lr = value
        elif name == "tol":
            o.tol = value
        elif name == "ftol":
            o.ftol = value
        elif name == "maxiter":
            o.maxiter = value
        elif name == "maxfun":
            o.maxfun = value
        elif name == "maximize":
            o.maximize = 1 if value else 0
        elif name == "line_search":
            o.line_search = LINE_SEARCHES[value]
        else:
            raise TypeError(f"unknown option {name!r}")
    return 0


def run(object objective, cnp.ndarray x, str method, dict options, *, object hess=None,
        object hessp=None, object on_callback=None, int64_t callback_every=1, bint record=False,
        bint progress=False, double progress_interval=0.2, object schedule=None,
        object shape=None, cnp.ndarray lower=None, cnp.ndarray upper=None,
        cnp.ndarray state=None, bint raise_errors=True):
    """One call of fg_minimize_run_f64.

    objective: an object with ``_fg_objective_capsule()`` (the loop runs
    GIL-free), or a Python callable ``x -> (f, g)``. x (in/out): 1-D
    contiguous float64, x0 on entry, the result on exit. hess, hessp: Python
    callables x -> (n, n) and (x, v) -> H v for the methods that use them
    (a compiled objective's own products take precedence). options (validated
    by the caller): ``lr`` and the method's option fields by name
    (OPTION_FIELDS), and the run's ``tol``, ``ftol``, ``maxiter``,
    ``maxfun``, ``maximize``, ``line_search`` (a LINE_SEARCHES name), each
    optional (the C default otherwise). lower, upper: the bounds (1-D
    float64 of x's size) or None. state: a warm start's carried state (the
    ``state`` of an earlier result) or None. Returns a dict of the raw
    result (f, grad, grad_norm, nit, nfev, njev, nhev, stop, stop_code,
    success, message, state, history) and re-raises the first exception a
    Python hook raised (with raise_errors=False, one that is an Exception is
    returned as ``error`` instead, beside the run's result; KeyboardInterrupt
    and the like are always raised).
    """
    cdef fg_minimize_options o
    cdef fg_minimize_result res
    cdef fg_objective obj
    cdef size_t n = cnp.PyArray_SIZE(x)
    cdef _Run py = _Run()
    cdef fg_status st
    cdef list keep = []
    fill_options(&o, method, options)

    py.shape = shape
    py.on_callback = on_callback
    py.schedule = schedule
    py.progress = progress
    py.progress_interval = progress_interval
    py.next_progress = now_seconds() + progress_interval
    obj = objective_of(objective, py, n, hess, keep)
    if METHOD_TABLE[method]["needs_hessian"] and obj.hessian == NULL:
        raise ValueError(f"method={method!r} needs a Hessian, and this objective provides none "
                         "(pass hess=callable, or use a compiled function)")
    if METHOD_TABLE[method]["uses_hvp"] and not compiled_hvp(objective, &o, n, keep) \
            and hessp is not None:
        py.hessp = hessp
        o.hvp = py_hvp
        o.hvp_ctx = <void*>py
    # The trampolines' context is the run; a hook left NULL is never called.
    o.lr_ctx = o.callback_ctx = o.poll_ctx = <void*>py
    if schedule is not None:
        o.lr_fn = py_schedule
    if on_callback is not None:
        o.callback = py_callback
        o.callback_every = callback_every
    # The poll always runs, so that Ctrl-C stops a long GIL-free run.
    o.poll = py_poll
    o.poll_interval = min(POLL_SECONDS, progress_interval) if progress else POLL_SECONDS
    if lower is not None:
        o.lower = <const double*>cnp.PyArray_DATA(lower)
        o.upper = <const double*>cnp.PyArray_DATA(upper)

    cdef cnp.ndarray hx = None, hf = None, hg = None
    if record:
        # one row per iterate, the start included; trimmed to the rows written below
        hx = np.empty((o.maxiter + 1, n))
        hf = np.empty(o.maxiter + 1)
        hg = np.empty(o.maxiter + 1)
        o.history_x = <double*>cnp.PyArray_DATA(hx)
        o.history_f = <double*>cnp.PyArray_DATA(hf)
        o.history_grad_norm = <double*>cnp.PyArray_DATA(hg)
        o.history_capacity = o.maxiter + 1

    cdef size_t wlen = fg_minimize_workspace_size(n, &o)
    cdef size_t carried = fg_minimize_state_size(n, &o)
    if wlen == 0:
        raise ValueError(f"minimize: the workspace for n = {n} with method={method!r} "
                         "does not fit in memory")
    cdef cnp.ndarray work = np.empty(wlen)
    if state is not None:
        if cnp.PyArray_SIZE(state) != carried:
            raise ValueError(f"warm_start: the saved state has {cnp.PyArray_SIZE(state)} "
                             f"values, but method={method!r} at n = {n} carries {carried}")
        work[:carried] = state
        o.warm_start = 1
    cdef cnp.ndarray grad = np.empty(n)
    cdef double *xp = <double*>cnp.PyArray_DATA(x)
    cdef double *wp = <double*>cnp.PyArray_DATA(work)
    cdef double *gp = <double*>cnp.PyArray_DATA(grad)
    with nogil:
        st = fg_minimize_run_f64(&obj, xp, n, &o, wp, wlen, gp, &res)
    if st != FG_OK:
        what = ("warm_start: the saved state does not belong to this method, size and "
                "options" if state is not None and st == FG_ERR_ARG else
                f"{fg_status_message(st).decode()} (check the options)")
        raise ValueError(f"minimize: {what}")
    if progress and py.error is None:
        print_progress(py, res.nit, res.f, res.grad_norm, True)
    error = None
    if py.error is not None:
        err = py.error
        py.error = None
        if isinstance(err, StopIteration) and res.stop == FG_MIN_CALLBACK_STOP:
            pass  # scipy's convention: a callback may stop the run this way
        elif raise_errors or not isinstance(err, Exception):
            raise err
        else:
            error = err
    out = dict(f=res.f, grad=grad, grad_norm=res.grad_norm, nit=res.nit, nfev=res.nfev,
               njev=res.njev, nhev=res.nhev, stop=STOP_NAMES.get(res.stop, "unknown"),
               stop_code=<int>res.stop, success=res.stop in SUCCESS,
               message=fg_minimize_stop_message(res.stop).decode(),
               state=work[:carried].copy())
    if not raise_errors:
        out["error"] = error
    if record:
        k = res.history_len
        out["history"] = dict(x=hx[:k].copy(), fun=hf[:k].copy(), grad_norm=hg[:k].copy())
    return out
