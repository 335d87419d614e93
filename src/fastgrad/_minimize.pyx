# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: freethreading_compatible = True
"""Bindings of csrc/fg_minimize.{h,c}: the minimize driver, the whole loop in C.

Layers: minimize.py validates and builds the options; ``run`` here fills an
fg_minimize_options struct, allocates the workspace and history once, and
calls fg_minimize_run_f64 with the GIL released. A compiled objective (a
capsule) runs GIL-free; a Python objective, callback, schedule or progress
line goes through small ``with gil`` trampolines. C never sees Python.
"""
cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_New, PyCapsule_GetPointer, PyCapsule_IsValid
from cpython.ref cimport PyObject
from cpython.exc cimport PyErr_CheckSignals
from libc.math cimport NAN, isfinite
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memcpy
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC
from fastgrad._cstatus cimport fg_status, FG_OK, FG_ERR_ARG, FG_ERR_CALLBACK, fg_status_message
from fastgrad._cminimize cimport *

import numpy as np

cnp.import_array()

METHODS = {"gd": FG_MIN_GD, "momentum": FG_MIN_MOMENTUM, "nesterov": FG_MIN_NESTEROV,
           "adam": FG_MIN_ADAM, "adamw": FG_MIN_ADAMW, "rmsprop": FG_MIN_RMSPROP,
           "adagrad": FG_MIN_ADAGRAD, "newton": FG_MIN_NEWTON}
STOP_NAMES = {FG_MIN_CONVERGED: "converged", FG_MIN_MAXITER: "maxiter",
              FG_MIN_DIVERGED: "diverged", FG_MIN_CALLBACK_STOP: "callback",
              FG_MIN_OBJECTIVE_ERROR: "objective_error",
              FG_MIN_LINESEARCH_FAILED: "linesearch_failed",
              FG_MIN_SCHEDULE_ERROR: "schedule_error"}
OBJECTIVE_CAPSULE_NAME = FG_OBJECTIVE_CAPSULE_NAME.decode()


# ------------------------------------------------ exports for embedders --

cdef fg_status minimize_options_init(fg_minimize_options *opt,
                                     fg_minimize_method method) noexcept nogil:
    return fg_minimize_options_init(opt, method)

cdef size_t minimize_workspace_size(size_t n, fg_minimize_method method) noexcept nogil:
    return fg_minimize_workspace_size(n, method)

cdef fg_status minimize_run_f64(const fg_objective *obj, double *x, size_t n,
                                const fg_minimize_options *opt, double *work, size_t work_len,
                                double *grad, fg_minimize_result *res) noexcept nogil:
    return fg_minimize_run_f64(obj, x, n, opt, work, work_len, grad, res)

cdef const char *minimize_stop_message(fg_minimize_stop stop) noexcept nogil:
    return fg_minimize_stop_message(stop)


def defaults(str method):
    """The C defaults (fg_minimize_options_init) of one method, as a dict."""
    cdef fg_minimize_options o
    fg_minimize_options_init(&o, METHODS[method])
    return dict(lr=o.lr, momentum=o.momentum, dampening=o.dampening,
                weight_decay=o.weight_decay, betas=(o.beta1, o.beta2), eps=o.eps,
                amsgrad=bool(o.amsgrad), alpha=o.alpha, centered=bool(o.centered),
                lr_decay=o.lr_decay, initial_accumulator_value=o.initial_accumulator_value,
                newton_mu0=o.newton_mu0)


def workspace_size(Py_ssize_t n, str method):
    """Doubles of workspace the driver needs for n unknowns (fg_minimize_workspace_size)."""
    return fg_minimize_workspace_size(<size_t>n, METHODS[method])


# ---------------------------------------------------- Python trampolines --

cdef inline cnp.ndarray copy_vector(const double *p, size_t n, object shape):
    """A fresh float64 array (in the user's shape) holding p[0..n)."""
    cdef cnp.npy_intp dim = <cnp.npy_intp>n
    cdef cnp.ndarray a = cnp.PyArray_SimpleNew(1, &dim, cnp.NPY_DOUBLE)
    if n:
        memcpy(cnp.PyArray_DATA(a), p, n * sizeof(double))
    return a.reshape(shape) if shape is not None else a


cdef inline int fill_vector(double *out, object value, size_t n, str what) except -1:
    cdef cnp.ndarray a = np.ascontiguousarray(value, dtype=np.float64)
    if <size_t>cnp.PyArray_SIZE(a) != n:
        raise ValueError(f"{what} returned {cnp.PyArray_SIZE(a)} values, expected {n}")
    if n:
        memcpy(out, cnp.PyArray_DATA(a), n * sizeof(double))
    return 0


cdef class _Run:
    """Python state of one run: what the trampolines call, and the first
    exception any of them raised (re-raised after the C loop returns)."""
    cdef object value_grad      # x -> (f, g) or None (compiled objective)
    cdef object hess            # x -> (n, n) or None
    cdef object on_callback     # (nit, x, f, g, gnorm, nfev, njev) -> bool stop
    cdef object schedule        # t -> lr or None
    cdef object shape
    cdef object error
    cdef int64_t last_printed

    cdef int fail(self, object exc) noexcept:
        if self.error is None:
            self.error = exc
        return 0


cdef struct _HookCtx:
    PyObject *run           # the _Run (kept alive by run() for the whole call)
    bint has_callback
    bint progress
    int64_t every
    double next_progress
    double interval
    double next_signal_check


cdef double now_seconds() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <double>ts.tv_sec + 1e-9 * <double>ts.tv_nsec


cdef fg_status py_value_grad(const double *x, size_t n, double *value, double *grad,
                             void *ctx) noexcept nogil:
    with gil:
        run = <_Run>ctx
        try:
            f, g = run.value_grad(copy_vector(x, n, run.shape))
            value[0] = float(f)
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


cdef double py_schedule(int64_t step, void *ctx) noexcept nogil:
    with gil:
        run = <_Run>ctx
        try:
            return float(run.schedule(step))
        except BaseException as exc:
            run.fail(exc)
            return NAN


cdef int print_progress(_Run run, const fg_minimize_state *s, bint final) except -1:
    import sys
    sys.stderr.write(f"\rminimize: iter {s.nit:>9d}  f = {s.f: .6e}  |grad| = {s.grad_norm:.3e}"
                     + ("\n" if final else ""))
    sys.stderr.flush()
    run.last_printed = s.nit
    return 0


# How often the hook runs without progress or a frequent callback, and how
# often it looks for Ctrl-C: cheap enough to be invisible (a clock read per
# HOOK_EVERY iterations, the GIL a few times a second).
cdef enum:
    HOOK_EVERY = 256
    SIGNAL_CHECK_MS = 250


cdef int64_t _gcd(int64_t a, int64_t b) noexcept nogil:
    while b:
        a, b = b, a % b
    return a


cdef int py_hook(const fg_minimize_state *s, void *ctx) noexcept nogil:
    """The C loop's callback (called every HOOK_EVERY iterations or more
    often): the user's callback every `every` iterations, the progress line
    at most every `interval` seconds, and a check for Ctrl-C (pending
    signals) at most every SIGNAL_CHECK_MS milliseconds. The decisions are
    made without the GIL (a clock read is ~20 ns); it is taken only to run
    Python, a few times a second at most unless the user's callback is due."""
    cdef _HookCtx *h = <_HookCtx*>ctx
    cdef bint want_cb = h.has_callback and s.nit % h.every == 0
    cdef bint want_progress = False, want_signals = False
    cdef double t = now_seconds()
    if h.progress and t >= h.next_progress:
        want_progress = True
        h.next_progress = t + h.interval
    if t >= h.next_signal_check:
        want_signals = True
        h.next_signal_check = t + 1e-3 * SIGNAL_CHECK_MS
    if not (want_cb or want_progress or want_signals):
        return 0
    with gil:
        run = <_Run>h.run
        try:
            if want_signals:
                PyErr_CheckSignals()   # raises KeyboardInterrupt after Ctrl-C
            if want_progress:
                print_progress(run, s, False)
            if want_cb:
                return 1 if run.on_callback(s.nit, copy_vector(s.x, s.n, run.shape), s.f,
                                            copy_vector(s.grad, s.n, run.shape),
                                            s.grad_norm, s.nfev, s.njev) else 0
            return 0
        except BaseException as exc:
            run.fail(exc)
            return 1


# ------------------------------------------------------------- the run --


def run(object objective, cnp.ndarray x, str method, dict hyper, double tol, int64_t maxiter,
        bint maximize, object on_callback, int64_t callback_every, bint record,
        bint progress, object schedule, object shape, object hess=None,
        double progress_interval=0.2):
    """One call of fg_minimize_run_f64.

    objective: an object with ``_fg_objective_capsule()`` (the loop runs
    GIL-free), or a Python callable ``x -> (f, g)``. x (in/out): 1-D
    contiguous float64, x0 on entry, the result on exit. hyper: the C
    option fields by name (lr, momentum, dampening, weight_decay, beta1,
    beta2, eps, amsgrad, alpha, centered, lr_decay,
    initial_accumulator_value, newton_mu0). Returns a dict of the raw result
    (f, grad, grad_norm, nit, nfev, njev, nhev, stop, message, history) and
    re-raises the first exception a Python hook raised.
    """
    cdef fg_minimize_options o
    cdef fg_minimize_result res
    cdef fg_objective obj
    cdef fg_objective_callback *cb
    cdef size_t n = cnp.PyArray_SIZE(x)
    cdef fg_minimize_method m = METHODS[method]
    cdef _Run state = _Run()
    cdef _HookCtx hook
    cdef object capsule = None
    cdef fg_status st
    fg_minimize_options_init(&o, m)

    state.shape = shape
    state.on_callback = on_callback
    state.schedule = schedule

    if hasattr(objective, "_fg_objective_capsule"):
        capsule = objective._fg_objective_capsule()
        if not PyCapsule_IsValid(capsule, FG_OBJECTIVE_CAPSULE_NAME):
            raise TypeError(f"_fg_objective_capsule() must return a PyCapsule named "
                            f"{OBJECTIVE_CAPSULE_NAME!r}")
        cb = <fg_objective_callback*>PyCapsule_GetPointer(capsule, FG_OBJECTIVE_CAPSULE_NAME)
        if cb.n != n:
            raise ValueError(f"x0 has {n} elements but the compiled objective takes {cb.n}")
        obj = cb.objective
    else:
        state.value_grad = objective
        state.hess = hess
        obj.value_grad = py_value_grad
        obj.hessian = NULL
        if hess is not None:
            obj.hessian = py_hessian
        obj.ctx = <void*>state
    if m == FG_MIN_NEWTON and obj.hessian == NULL:
        raise ValueError("method='newton' needs a Hessian, and this objective provides none "
                         "(pass hess=callable, or use a compiled function)")

    o.lr = hyper["lr"]
    o.momentum = hyper["momentum"]
    o.dampening = hyper["dampening"]
    o.weight_decay = hyper["weight_decay"]
    o.beta1 = hyper["beta1"]
    o.beta2 = hyper["beta2"]
    o.eps = hyper["eps"]
    o.amsgrad = hyper["amsgrad"]
    o.alpha = hyper["alpha"]
    o.centered = hyper["centered"]
    o.lr_decay = hyper["lr_decay"]
    o.initial_accumulator_value = hyper["initial_accumulator_value"]
    o.newton_mu0 = hyper["newton_mu0"]
    o.maximize = maximize
    o.tol = tol
    o.maxiter = maxiter
    o.callback_every = 1
    if schedule is not None:
        o.lr_fn = py_schedule
        o.lr_ctx = <void*>state
    # The hook always runs (so that Ctrl-C can stop a long GIL-free run), at
    # least every HOOK_EVERY iterations; it calls the user's callback only on
    # multiples of callback_every.
    hook.run = <PyObject*>state
    hook.has_callback = on_callback is not None
    hook.progress = progress
    hook.every = callback_every
    hook.next_progress = now_seconds() + progress_interval
    hook.interval = progress_interval
    hook.next_signal_check = now_seconds() + 1e-3 * SIGNAL_CHECK_MS
    o.callback = py_hook
    o.callback_ctx = <void*>&hook
    if progress:
        o.callback_every = 1
    elif on_callback is not None and callback_every <= HOOK_EVERY:
        o.callback_every = callback_every
    else:
        o.callback_every = HOOK_EVERY if on_callback is None else _gcd(callback_every, HOOK_EVERY)

    cdef cnp.ndarray hx = None, hf = None, hg = None
    if record:
        # one row per iterate, x0 included; trimmed to the rows written below
        hx = np.empty((maxiter + 1, n))
        hf = np.empty(maxiter + 1)
        hg = np.empty(maxiter + 1)
        o.history_x = <double*>cnp.PyArray_DATA(hx)
        o.history_f = <double*>cnp.PyArray_DATA(hf)
        o.history_grad_norm = <double*>cnp.PyArray_DATA(hg)
        o.history_capacity = maxiter + 1

    cdef size_t wlen = fg_minimize_workspace_size(n, m)
    cdef cnp.ndarray work = np.empty(max(wlen, 1))
    cdef cnp.ndarray grad = np.empty(n)
    cdef double *xp = <double*>cnp.PyArray_DATA(x)
    cdef double *wp = <double*>cnp.PyArray_DATA(work)
    cdef double *gp = <double*>cnp.PyArray_DATA(grad)
    with nogil:
        st = fg_minimize_run_f64(&obj, xp, n, &o, wp, wlen, gp, &res)
    if st != FG_OK:
        raise ValueError(f"minimize: {fg_status_message(st).decode()} (check the options)")
    cdef fg_minimize_state final
    if progress and state.error is None:
        final.nit = res.nit
        final.f = res.f
        final.grad_norm = res.grad_norm
        print_progress(state, &final, True)
    if state.error is not None:
        err = state.error
        state.error = None
        if isinstance(err, StopIteration) and res.stop == FG_MIN_CALLBACK_STOP:
            pass  # scipy's convention: a callback may stop the run this way
        else:
            raise err
    out = dict(f=res.f, grad=grad, grad_norm=res.grad_norm, nit=res.nit, nfev=res.nfev,
               njev=res.njev, nhev=res.nhev, stop=STOP_NAMES.get(res.stop, "unknown"),
               stop_code=<int>res.stop,
               message=fg_minimize_stop_message(res.stop).decode(), last_mu=res.last_mu)
    if record:
        k = res.history_len
        out["history"] = dict(x=hx[:k].copy(), fun=hf[:k].copy(), grad_norm=hg[:k].copy())
    return out


# ------------------------------------------- built-in C test objectives --

cdef enum:
    OBJ_QUADRATIC = 0
    OBJ_ROSENBROCK = 1

cdef struct builtin_ctx:
    fg_objective_callback cb    # first: the capsule holds &ctx.cb == ctx
    int kind
    int diag                    # quadratic: mat holds the diagonal only
    double a, b                 # Rosenbrock's a and b
    double *mat                 # quadratic: n (diag) or n*n (row-major) values
    double *lin                 # quadratic: the linear term b, n values


cdef fg_status quad_vg(const double *x, size_t n, double *value, double *grad,
                       void *ctx) noexcept nogil:
    """f = x^T A x + b.x,  grad = (A + A^T) x + b."""
    cdef builtin_ctx *c = <builtin_ctx*>ctx
    cdef size_t i, j
    cdef double f = 0.0, ri, ci
    if c.diag:
        for i in range(n):
            f += c.mat[i] * x[i] * x[i] + c.lin[i] * x[i]
            if grad != NULL:
                grad[i] = 2.0 * c.mat[i] * x[i] + c.lin[i]
    else:
        for i in range(n):
            ri = 0.0
            ci = 0.0
            for j in range(n):
                ri = ri + c.mat[i * n + j] * x[j]
                ci = ci + c.mat[j * n + i] * x[j]
            f += x[i] * ri + c.lin[i] * x[i]
            if grad != NULL:
                grad[i] = ri + ci + c.lin[i]
    value[0] = f
    return FG_OK


cdef fg_status quad_hess(const double *x, size_t n, double *hess, void *ctx) noexcept nogil:
    cdef builtin_ctx *c = <builtin_ctx*>ctx
    cdef size_t i, j
    for i in range(n):
        for j in range(n):
            if c.diag:
                hess[i * n + j] = 2.0 * c.mat[i] if i == j else 0.0
            else:
                hess[i * n + j] = c.mat[i * n + j] + c.mat[j * n + i]
    return FG_OK


cdef fg_status rosen_vg(const double *x, size_t n, double *value, double *grad,
                        void *ctx) noexcept nogil:
    """f = sum_{i<n-1} b (x_{i+1} - x_i^2)^2 + (a - x_i)^2."""
    cdef builtin_ctx *c = <builtin_ctx*>ctx
    cdef double a = c.a, b = c.b, f = 0.0, r, s
    cdef size_t i
    if grad != NULL:
        for i in range(n):
            grad[i] = 0.0
    for i in range(n - 1 if n else 0):
        r = x[i + 1] - x[i] * x[i]
        s = a - x[i]
        f += b * r * r + s * s
        if grad != NULL:
            grad[i] += -4.0 * b * x[i] * r - 2.0 * s
            grad[i + 1] += 2.0 * b * r
    value[0] = f
    return FG_OK


cdef fg_status rosen_hess(const double *x, size_t n, double *hess, void *ctx) noexcept nogil:
    cdef builtin_ctx *c = <builtin_ctx*>ctx
    cdef double b = c.b
    cdef size_t i
    for i in range(n * n):
        hess[i] = 0.0
    for i in range(n - 1 if n else 0):
        hess[i * n + i] += 12.0 * b * x[i] * x[i] - 4.0 * b * x[i + 1] + 2.0
        hess[(i + 1) * n + i + 1] += 2.0 * b
        hess[i * n + i + 1] = -4.0 * b * x[i]
        hess[(i + 1) * n + i] = -4.0 * b * x[i]
    return FG_OK


cdef void free_builtin(object capsule) noexcept:
    cdef builtin_ctx *c = <builtin_ctx*>PyCapsule_GetPointer(capsule, FG_OBJECTIVE_CAPSULE_NAME)
    if c != NULL:
        free(c.mat)
        free(c.lin)
        free(c)


cdef class BuiltinObjective:
    """A test objective computed in C, usable as ``minimize``'s compiled ``fun``.

    ``obj(x)`` is the value, ``obj.gradient(x)`` and ``obj.hessian(x)`` the
    derivatives (all through the same C functions the driver calls), and
    ``obj._fg_objective_capsule()`` the capsule of fg_objective.h.
    """
    cdef readonly str name
    cdef readonly Py_ssize_t n
    cdef int kind
    cdef double a, b
    cdef object mat, lin

    def __init__(self, str name, Py_ssize_t n, int kind, double a=0.0, double b=0.0,
                 mat=None, lin=None):
        self.name = name
        self.n = n
        self.kind = kind
        self.a = a
        self.b = b
        self.mat = mat
        self.lin = lin

    def __repr__(self):
        return f"<fastgrad built-in C objective {self.name}, n={self.n}>"

    def _fg_objective_capsule(self):
        """A fresh capsule owning its context (see fg_objective.h)."""
        cdef builtin_ctx *c = <builtin_ctx*>calloc(1, sizeof(builtin_ctx))
        cdef cnp.ndarray m, l
        if c == NULL:
            raise MemoryError()
        c.kind = self.kind
        c.a = self.a
        c.b = self.b
        c.cb.n = <size_t>self.n
        c.cb.objective.ctx = <void*>c
        if self.kind == OBJ_QUADRATIC:
            m = self.mat
            l = self.lin
            c.diag = cnp.PyArray_NDIM(m) == 1
            c.mat = <double*>malloc(max(cnp.PyArray_NBYTES(m), 1))
            c.lin = <double*>malloc(max(cnp.PyArray_NBYTES(l), 1))
            if c.mat == NULL or c.lin == NULL:
                free(c.mat); free(c.lin); free(c)
                raise MemoryError()
            memcpy(c.mat, cnp.PyArray_DATA(m), cnp.PyArray_NBYTES(m))
            memcpy(c.lin, cnp.PyArray_DATA(l), cnp.PyArray_NBYTES(l))
            c.cb.objective.value_grad = quad_vg
            c.cb.objective.hessian = quad_hess
        else:
            c.cb.objective.value_grad = rosen_vg
            c.cb.objective.hessian = rosen_hess
        return PyCapsule_New(<void*>c, FG_OBJECTIVE_CAPSULE_NAME, free_builtin)

    cdef cnp.ndarray _vector(self, x):
        cdef cnp.ndarray a = np.ascontiguousarray(x, dtype=np.float64).ravel()
        if cnp.PyArray_SIZE(a) != self.n:
            raise ValueError(f"x has {cnp.PyArray_SIZE(a)} elements, expected {self.n}")
        return a

    def value_and_gradient(self, x):
        """(f(x), grad f(x)) from the C callback."""
        cdef cnp.ndarray a = self._vector(x)
        cdef cnp.ndarray g = np.empty(self.n)
        cdef double f
        cap = self._fg_objective_capsule()
        cdef fg_objective_callback *cb = <fg_objective_callback*>PyCapsule_GetPointer(
            cap, FG_OBJECTIVE_CAPSULE_NAME)
        cb.objective.value_grad(<double*>cnp.PyArray_DATA(a), self.n, &f,
                                <double*>cnp.PyArray_DATA(g), cb.objective.ctx)
        return f, g

    def __call__(self, x):
        return self.value_and_gradient(x)[0]

    def gradient(self, x):
        return self.value_and_gradient(x)[1]

    def hessian(self, x):
        cdef cnp.ndarray a = self._vector(x)
        cdef cnp.ndarray h = np.empty((self.n, self.n))
        cap = self._fg_objective_capsule()
        cdef fg_objective_callback *cb = <fg_objective_callback*>PyCapsule_GetPointer(
            cap, FG_OBJECTIVE_CAPSULE_NAME)
        cb.objective.hessian(<double*>cnp.PyArray_DATA(a), self.n,
                             <double*>cnp.PyArray_DATA(h), cb.objective.ctx)
        return h


class _test_objectives:
    """Factories of built-in C objectives (tests, demo, benchmarks)."""

    @staticmethod
    def quadratic(a, b=None):
        """f(x) = x^T A x + b.x, A = diag(a) for 1-D a, else the (n, n) matrix a.

        3x^2 + y^2 is ``quadratic([3, 1])``; x^2 + y^2 + xy is
        ``quadratic([[1, 0.5], [0.5, 1]])``."""
        m = np.array(a, dtype=np.float64, order="C")
        if m.ndim not in (1, 2) or (m.ndim == 2 and m.shape[0] != m.shape[1]):
            raise ValueError("a must be a 1-D diagonal or a square matrix")
        n = m.shape[0]
        lin = np.zeros(n) if b is None else np.array(b, dtype=np.float64).ravel()
        if lin.shape != (n,):
            raise ValueError(f"b must have {n} elements")
        return BuiltinObjective("quadratic", n, OBJ_QUADRATIC, mat=m, lin=lin)

    @staticmethod
    def rosenbrock(n=2, a=1.0, b=100.0):
        """f(x) = sum_{i<n-1} b (x_{i+1} - x_i^2)^2 + (a - x_i)^2; minimum at (a, a^2, ...)
        for n = 2, at ones for a = 1."""
        if n < 2:
            raise ValueError("rosenbrock needs n >= 2")
        return BuiltinObjective(f"rosenbrock", n, OBJ_ROSENBROCK, a=a, b=b)
