# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: freethreading_compatible = True
"""Bindings of csrc/fg_optim*.{h,c}: the fused optimizer steps.

Layers: Python (optimizers.py) validates hyperparameters and owns state
arrays; this module checks arrays cheaply (PyArray_DATA after dtype, shape,
layout and writeability checks: ~30 ns, where a typed memoryview costs
~150 ns), fills a preallocated slot table, and calls one C function per step
with the GIL released above FG_GIL_THRESHOLD elements. C never sees Python.
Arrays marked (in/out) are updated in place; (in) arrays are only read.
"""
cimport cython
cimport numpy as cnp
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free
from libc.math cimport isfinite
from fastgrad._cstatus cimport *
from fastgrad._coptim cimport *

from fastgrad._common cimport raise_status, FG_GIL_THRESHOLD, float_array, matching_array, overlaps

cnp.import_array()

cdef int bad_hyper(str name, object value, str rule) except -1:
    raise ValueError(f"{name} must be {rule}, got {value!r}")


cdef inline int check_nonneg(double x, str name) except -1:
    if not (x >= 0.0 and isfinite(x)):
        bad_hyper(name, x, "a finite number >= 0")
    return 0


cdef inline int check_beta(double x, str name) except -1:
    if not (0.0 <= x < 1.0):
        bad_hyper(name, x, "in [0, 1)")
    return 0


cdef inline int check_step(int64_t step) except -1:
    if step < 1:
        bad_hyper("step", step, "an integer >= 1 (the step number t, counting from 1)")
    return 0


cdef inline void *state_ptr(object arr, str name, cnp.ndarray param, bint required) except? NULL:
    """Data pointer of an optional state buffer (in/out), checked against param."""
    if arr is None:
        if required:
            raise TypeError(f"{name} is required with these options but is None")
        return NULL
    cdef cnp.ndarray a = matching_array(arr, name, param, "param", True)
    if overlaps(a, param):
        raise ValueError(f"{name} overlaps param in memory")
    return cnp.PyArray_DATA(a)


cdef inline void *out_ptr(object out, cnp.ndarray p, tuple others) except? NULL:
    """Data pointer of ``out=`` (None: NULL, the update runs in place): an
    array like param, writeable, overlapping none of the kernel's arrays
    (``others``: (array or None, name) pairs, param's included)."""
    if out is None:
        return NULL
    cdef cnp.ndarray o = matching_array(out, "out", p, "param", True)
    for other, name in others:
        if other is not None and overlaps(o, other):
            raise ValueError(f"out overlaps {name} in memory")
    return cnp.PyArray_DATA(o)


# A non-finite result is not an error for these kernels: the out-of-place
# twins report one (FG_ERR_NONFINITE), the in-place kernels do not look.
cdef inline fg_status finite_or_not(fg_status st) noexcept nogil:
    return FG_OK if st == FG_ERR_NONFINITE else st


# One nogil call per kernel whatever the dtype, so each Python kernel below
# has a single call site inside and outside `with nogil`.

cdef inline fg_status run_sgd(bint f32, void *p, void *out, const void *g, void *buf, size_t n,
                              const fg_sgd_coeffs *c) noexcept nogil:
    if out != NULL:
        if f32:
            return finite_or_not(fg_sgd_step_out_f32(<const float*>p, <float*>out,
                                                     <const float*>g, <float*>buf, n, c))
        return finite_or_not(fg_sgd_step_out_f64(<const double*>p, <double*>out,
                                                 <const double*>g, <double*>buf, n, c))
    if f32:
        return fg_sgd_step_f32(<float*>p, <const float*>g, <float*>buf, n, c)
    return fg_sgd_step_f64(<double*>p, <const double*>g, <double*>buf, n, c)


cdef inline fg_status run_adam(bint f32, void *p, void *out, const void *g, void *m, void *v,
                               void *vmax, size_t n, const fg_adam_coeffs *c) noexcept nogil:
    if out != NULL:
        if f32:
            return finite_or_not(fg_adam_step_out_f32(<const float*>p, <float*>out,
                                                      <const float*>g, <float*>m, <float*>v,
                                                      <float*>vmax, n, c))
        return finite_or_not(fg_adam_step_out_f64(<const double*>p, <double*>out,
                                                  <const double*>g, <double*>m, <double*>v,
                                                  <double*>vmax, n, c))
    if f32:
        return fg_adam_step_f32(<float*>p, <const float*>g, <float*>m, <float*>v,
                                <float*>vmax, n, c)
    return fg_adam_step_f64(<double*>p, <const double*>g, <double*>m, <double*>v,
                            <double*>vmax, n, c)


cdef inline fg_status run_rmsprop(bint f32, void *p, void *out, const void *g, void *s, void *b,
                                  void *ga, size_t n, const fg_rmsprop_coeffs *c) noexcept nogil:
    if out != NULL:
        if f32:
            return finite_or_not(fg_rmsprop_step_out_f32(<const float*>p, <float*>out,
                                                         <const float*>g, <float*>s, <float*>b,
                                                         <float*>ga, n, c))
        return finite_or_not(fg_rmsprop_step_out_f64(<const double*>p, <double*>out,
                                                     <const double*>g, <double*>s,
                                                     <double*>b, <double*>ga, n, c))
    if f32:
        return fg_rmsprop_step_f32(<float*>p, <const float*>g, <float*>s, <float*>b,
                                   <float*>ga, n, c)
    return fg_rmsprop_step_f64(<double*>p, <const double*>g, <double*>s, <double*>b,
                               <double*>ga, n, c)


cdef inline fg_status run_adagrad(bint f32, void *p, void *out, const void *g, void *s,
                                  size_t n, const fg_adagrad_coeffs *c) noexcept nogil:
    if out != NULL:
        if f32:
            return finite_or_not(fg_adagrad_step_out_f32(<const float*>p, <float*>out,
                                                         <const float*>g, <float*>s, n, c))
        return finite_or_not(fg_adagrad_step_out_f64(<const double*>p, <double*>out,
                                                     <const double*>g, <double*>s, n, c))
    if f32:
        return fg_adagrad_step_f32(<float*>p, <const float*>g, <float*>s, n, c)
    return fg_adagrad_step_f64(<double*>p, <const double*>g, <double*>s, n, c)


# ---------------------------------------------------------------- kernels --

def sgd_step(param, grad, momentum_buffer, int64_t step, double lr, double momentum=0.0,
             double dampening=0.0, double weight_decay=0.0, bint nesterov=False,
             bint maximize=False, *, out=None):
    """SGD update in place, torch.optim.SGD's rule (see ``fastgrad.SGD``).

    ``param`` (in/out), ``grad`` (in), ``momentum_buffer`` (in/out, or None when
    ``momentum == 0``): C-contiguous arrays of one shape and dtype. ``step`` is
    this update's number t >= 1; on step 1 the buffer is set to the gradient.
    With ``out`` (an array like ``param``, overlapping none of the others) the
    new parameters go to ``out`` and ``param`` is only read, bit for bit the
    same values: keep the previous iterate without a copy.
    """
    cdef cnp.ndarray p = float_array(param, "param", out is None)
    cdef cnp.ndarray g = matching_array(grad, "grad", p, "param", False)
    if overlaps(g, p):
        raise ValueError("grad overlaps param in memory; pass a copy")
    check_step(step); check_nonneg(lr, "lr"); check_nonneg(momentum, "momentum")
    check_nonneg(weight_decay, "weight_decay")
    if not isfinite(dampening):
        bad_hyper("dampening", dampening, "finite")
    if nesterov and (momentum <= 0.0 or dampening != 0.0):
        bad_hyper("nesterov", nesterov, "False unless momentum > 0 and dampening == 0")
    cdef void *buf = state_ptr(momentum_buffer, "momentum_buffer", p, momentum != 0.0)
    cdef void *op = out_ptr(out, p, ((p, "param"), (g, "grad"),
                                     (momentum_buffer, "momentum_buffer")))
    cdef fg_sgd_coeffs c
    cdef fg_status st = fg_sgd_prepare(&c, lr, momentum, dampening, weight_decay,
                                       nesterov, maximize, step)
    cdef size_t n = cnp.PyArray_SIZE(p)
    cdef bint f32 = cnp.PyArray_TYPE(p) == cnp.NPY_FLOAT
    cdef void *pp = cnp.PyArray_DATA(p)
    cdef void *gp = cnp.PyArray_DATA(g)
    if st == FG_OK:
        if n >= FG_GIL_THRESHOLD:
            with nogil:
                st = run_sgd(f32, pp, op, gp, buf, n, &c)
        else:
            st = run_sgd(f32, pp, op, gp, buf, n, &c)
    if st != FG_OK:
        raise_status(st, "sgd_step")


def adam_step(param, grad, exp_avg, exp_avg_sq, int64_t step, double lr, double beta1=0.9,
              double beta2=0.999, double eps=1e-8, double weight_decay=0.0, *,
              bint amsgrad=False, max_exp_avg_sq=None, bint maximize=False,
              bint decoupled=False, out=None):
    """Adam update in place, torch.optim.Adam's rule (see ``fastgrad.Adam``).

    ``param``, ``exp_avg``, ``exp_avg_sq`` and, with ``amsgrad``,
    ``max_exp_avg_sq`` are updated in place; ``grad`` is read. ``step`` is this
    update's number t >= 1 (used for bias correction). ``decoupled=True`` is
    AdamW's weight decay. ``out``: as in ``sgd_step``.
    """
    cdef cnp.ndarray p = float_array(param, "param", out is None)
    cdef cnp.ndarray g = matching_array(grad, "grad", p, "param", False)
    if overlaps(g, p):
        raise ValueError("grad overlaps param in memory; pass a copy")
    cdef void *m = state_ptr(exp_avg, "exp_avg", p, True)
    cdef void *v = state_ptr(exp_avg_sq, "exp_avg_sq", p, True)
    cdef void *vmax = state_ptr(max_exp_avg_sq, "max_exp_avg_sq", p, amsgrad)
    if m == v and m != NULL:
        raise ValueError("exp_avg and exp_avg_sq must be different arrays")
    cdef void *op = out_ptr(out, p, ((p, "param"), (g, "grad"), (exp_avg, "exp_avg"),
                                     (exp_avg_sq, "exp_avg_sq"),
                                     (max_exp_avg_sq, "max_exp_avg_sq")))
    check_step(step); check_nonneg(lr, "lr"); check_beta(beta1, "beta1")
    check_beta(beta2, "beta2"); check_nonneg(eps, "eps")
    check_nonneg(weight_decay, "weight_decay")
    cdef fg_adam_coeffs c
    cdef fg_status st = fg_adam_prepare(&c, lr, beta1, beta2, eps, weight_decay, amsgrad,
                                        maximize, decoupled, step)
    cdef size_t n = cnp.PyArray_SIZE(p)
    cdef bint f32 = cnp.PyArray_TYPE(p) == cnp.NPY_FLOAT
    cdef void *pp = cnp.PyArray_DATA(p)
    cdef void *gp = cnp.PyArray_DATA(g)
    if st == FG_OK:
        if n >= FG_GIL_THRESHOLD:
            with nogil:
                st = run_adam(f32, pp, op, gp, m, v, vmax, n, &c)
        else:
            st = run_adam(f32, pp, op, gp, m, v, vmax, n, &c)
    if st != FG_OK:
        raise_status(st, "adam_step")


def adamw_step(param, grad, exp_avg, exp_avg_sq, int64_t step, double lr, double beta1=0.9,
               double beta2=0.999, double eps=1e-8, double weight_decay=1e-2, *,
               bint amsgrad=False, max_exp_avg_sq=None, bint maximize=False, out=None):
    """AdamW update in place (or into ``out``): ``adam_step`` with decoupled
    weight decay ``p <- p * (1 - lr * weight_decay)`` (see ``fastgrad.AdamW``)."""
    adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
              amsgrad=amsgrad, max_exp_avg_sq=max_exp_avg_sq, maximize=maximize,
              decoupled=True, out=out)


def rmsprop_step(param, grad, square_avg, int64_t step, double lr, double alpha=0.99,
                 double eps=1e-8, double weight_decay=0.0, double momentum=0.0,
                 bint centered=False, *, momentum_buffer=None, grad_avg=None,
                 bint maximize=False, out=None):
    """RMSprop update in place, torch.optim.RMSprop's rule (see ``fastgrad.RMSprop``).

    ``square_avg`` (in/out) always; ``momentum_buffer`` (in/out) when
    ``momentum > 0``; ``grad_avg`` (in/out) when ``centered``. ``out``: as in
    ``sgd_step``.
    """
    cdef cnp.ndarray p = float_array(param, "param", out is None)
    cdef cnp.ndarray g = matching_array(grad, "grad", p, "param", False)
    if overlaps(g, p):
        raise ValueError("grad overlaps param in memory; pass a copy")
    cdef void *s = state_ptr(square_avg, "square_avg", p, True)
    cdef void *b = state_ptr(momentum_buffer, "momentum_buffer", p, momentum > 0.0)
    cdef void *ga = state_ptr(grad_avg, "grad_avg", p, centered)
    if (b != NULL and (b == s or b == ga)) or (ga != NULL and ga == s):
        raise ValueError("square_avg, momentum_buffer and grad_avg must be different arrays")
    cdef void *op = out_ptr(out, p, ((p, "param"), (g, "grad"), (square_avg, "square_avg"),
                                     (momentum_buffer, "momentum_buffer"),
                                     (grad_avg, "grad_avg")))
    check_step(step); check_nonneg(lr, "lr"); check_nonneg(alpha, "alpha")
    check_nonneg(eps, "eps"); check_nonneg(weight_decay, "weight_decay")
    check_nonneg(momentum, "momentum")
    cdef fg_rmsprop_coeffs c
    cdef fg_status st = fg_rmsprop_prepare(&c, lr, alpha, eps, weight_decay, momentum,
                                           centered, maximize, step)
    cdef size_t n = cnp.PyArray_SIZE(p)
    cdef bint f32 = cnp.PyArray_TYPE(p) == cnp.NPY_FLOAT
    cdef void *pp = cnp.PyArray_DATA(p)
    cdef void *gp = cnp.PyArray_DATA(g)
    if st == FG_OK:
        if n >= FG_GIL_THRESHOLD:
            with nogil:
                st = run_rmsprop(f32, pp, op, gp, s, b, ga, n, &c)
        else:
            st = run_rmsprop(f32, pp, op, gp, s, b, ga, n, &c)
    if st != FG_OK:
        raise_status(st, "rmsprop_step")


def adagrad_step(param, grad, state_sum, int64_t step, double lr, double lr_decay=0.0,
                 double weight_decay=0.0, double eps=1e-10, *, bint maximize=False,
                 out=None):
    """Adagrad update in place, torch.optim.Adagrad's rule (see ``fastgrad.Adagrad``).

    ``state_sum`` (in/out) is the running sum of squared gradients; ``step`` is
    this update's number t >= 1 (the learning rate decays as
    ``lr / (1 + (t - 1) * lr_decay)``). ``out``: as in ``sgd_step``.
    """
    cdef cnp.ndarray p = float_array(param, "param", out is None)
    cdef cnp.ndarray g = matching_array(grad, "grad", p, "param", False)
    if overlaps(g, p):
        raise ValueError("grad overlaps param in memory; pass a copy")
    cdef void *s = state_ptr(state_sum, "state_sum", p, True)
    cdef void *op = out_ptr(out, p, ((p, "param"), (g, "grad"), (state_sum, "state_sum")))
    check_step(step); check_nonneg(lr, "lr"); check_nonneg(lr_decay, "lr_decay")
    check_nonneg(weight_decay, "weight_decay"); check_nonneg(eps, "eps")
    cdef fg_adagrad_coeffs c
    cdef fg_status st = fg_adagrad_prepare(&c, lr, lr_decay, eps, weight_decay, maximize, step)
    cdef size_t n = cnp.PyArray_SIZE(p)
    cdef bint f32 = cnp.PyArray_TYPE(p) == cnp.NPY_FLOAT
    cdef void *pp = cnp.PyArray_DATA(p)
    cdef void *gp = cnp.PyArray_DATA(g)
    if st == FG_OK:
        if n >= FG_GIL_THRESHOLD:
            with nogil:
                st = run_adagrad(f32, pp, op, gp, s, n, &c)
        else:
            st = run_adagrad(f32, pp, op, gp, s, n, &c)
    if st != FG_OK:
        raise_status(st, "adagrad_step")


# ------------------------------------------------------ optimizer engine --

KIND_SGD = FG_OPTIM_SGD
KIND_ADAM = FG_OPTIM_ADAM
KIND_RMSPROP = FG_OPTIM_RMSPROP
KIND_ADAGRAD = FG_OPTIM_ADAGRAD


cdef class FusedOptimizer:
    """Engine behind fastgrad's optimizer classes (not used directly).

    Holds the parameter arrays, their state buffers and a slot table of raw
    pointers built once at setup, so a step checks the gradients, computes
    the per-step scalars and makes a single C call over all parameters with
    the GIL released once.
    """
    cdef fg_optim_config cfg
    cdef fg_optim_slot *slots
    cdef Py_ssize_t count
    cdef size_t total
    cdef bint single
    cdef int64_t _steps
    cdef list _params
    cdef list _states
    cdef object _schedule
    # Raw hyperparameters, read every step without touching Python.
    cdef public double _lr, _beta1, _beta2, _eps, _weight_decay, _momentum
    cdef public double _dampening, _alpha, _lr_decay
    cdef public bint _amsgrad, _maximize, _nesterov, _centered, _decoupled
    cdef public bint _check_finite, _buffers_ready
    cdef bint _busy   # a step or a setup is running (the slot table is in use)
    cdef public int _threads

    def __dealloc__(self):
        free(self.slots)

    # Free-threading: _busy is tested and set inside a critical section on
    # self (cython.critical_section: a per-object lock without the GIL, a
    # no-op with it), so two threads can never both hold the slot table; the
    # loser gets RuntimeError. _schedule, a Python object, is only read or
    # replaced inside a critical section too.
    cdef int _claim(self) except -1:
        cdef bint was_busy
        with cython.critical_section(self):
            was_busy = self._busy
            self._busy = True
        if was_busy:
            # The GIL is released during a step; a second thread must not
            # rewrite the slot table under the first one.
            raise RuntimeError("step() called while another step of this optimizer is "
                               "running in another thread; use one optimizer per thread")
        return 0

    cdef void _release(self) noexcept:
        with cython.critical_section(self):
            self._busy = False

    def _setup(self, int kind, list params, list states, bint single):
        """params: validated arrays; states: per param, a list of up to three
        state arrays (or None) in the C kernel's order."""
        self._claim()
        try:
            self._setup_slots(kind, params, states, single)
        finally:
            self._release()

    cdef int _setup_slots(self, int kind, list params, list states, bint single) except -1:
        cdef Py_ssize_t i, j
        cdef cnp.ndarray p
        free(self.slots)
        self.slots = NULL
        self.count = len(params)
        self.slots = <fg_optim_slot*>malloc(max(self.count, 1) * sizeof(fg_optim_slot))
        if self.slots == NULL:
            raise MemoryError("could not allocate the optimizer's slot table")
        self.cfg.kind = <fg_optim_kind>kind
        self.single = single
        self._params = params
        self._states = states
        self.total = 0
        for i in range(self.count):
            p = params[i]
            self.slots[i].param = cnp.PyArray_DATA(p)
            self.slots[i].grad = NULL
            self.slots[i].n = cnp.PyArray_SIZE(p)
            self.slots[i].dtype = FG_FLOAT32 if cnp.PyArray_TYPE(p) == cnp.NPY_FLOAT else FG_FLOAT64
            for j in range(3):
                s = states[i][j] if j < len(states[i]) else None
                self.slots[i].state[j] = NULL if s is None else cnp.PyArray_DATA(<cnp.ndarray>s)
            self.total += self.slots[i].n
        return 0

    @property
    def params(self):
        """The list of arrays this optimizer updates in place."""
        return self._params

    @property
    def steps(self):
        """Number of steps taken."""
        return self._steps

    def _set_steps(self, int64_t steps):
        self._steps = steps

    def _set_schedule(self, schedule):
        with cython.critical_section(self):
            self._schedule = schedule

    def _get_schedule(self):
        with cython.critical_section(self):
            schedule = self._schedule
        return schedule

    cdef int _prepare(self, int64_t t, double lr) except -1:
        cdef fg_status st
        cdef int kind = self.cfg.kind
        if kind == FG_OPTIM_SGD:
            st = fg_sgd_prepare(&self.cfg.coeffs.sgd, lr, self._momentum, self._dampening,
                                self._weight_decay, self._nesterov, self._maximize, t)
            self.cfg.coeffs.sgd.first_step = not self._buffers_ready
        elif kind == FG_OPTIM_ADAM:
            st = fg_adam_prepare(&self.cfg.coeffs.adam, lr, self._beta1, self._beta2, self._eps,
                                 self._weight_decay, self._amsgrad, self._maximize,
                                 self._decoupled, t)
        elif kind == FG_OPTIM_RMSPROP:
            st = fg_rmsprop_prepare(&self.cfg.coeffs.rmsprop, lr, self._alpha, self._eps,
                                    self._weight_decay, self._momentum, self._centered,
                                    self._maximize, t)
        else:
            st = fg_adagrad_prepare(&self.cfg.coeffs.adagrad, lr, self._lr_decay, self._eps,
                                    self._weight_decay, self._maximize, t)
        if st != FG_OK:
            raise_status(st, "step")
        return 0

    def step(self, grads):
        """Apply one update to every parameter, in place.

        Parameters
        ----------
        grads : ndarray or sequence of ndarray
            The gradients, in the same structure as ``params`` was given (one
            array, or a sequence of the same length), each matching its
            parameter's shape and dtype.
        """
        cdef Py_ssize_t i
        cdef cnp.ndarray g
        cdef fg_status st
        cdef int ok
        self._claim()
        try:
            self._step(grads)
        finally:
            for i in range(self.count):
                self.slots[i].grad = NULL   # keep no pointer into the caller's arrays
            self._release()

    cdef int _step(self, grads) except -1:
        cdef Py_ssize_t i
        cdef cnp.ndarray g
        cdef fg_status st
        cdef int ok
        if self.single:
            g = matching_array(grads, "grads", <cnp.ndarray>self._params[0], "params", False)
            if overlaps(g, <cnp.ndarray>self._params[0]):
                raise ValueError("grads overlaps params in memory; pass a copy")
            self.slots[0].grad = cnp.PyArray_DATA(g)
        else:
            if cnp.PyArray_Check(grads) or len(grads) != self.count:
                raise ValueError(f"grads must be a sequence of {self.count} arrays, one per "
                                 f"parameter")
            for i in range(self.count):
                g = matching_array(grads[i], f"grads[{i}]", <cnp.ndarray>self._params[i],
                                   f"params[{i}]", False)
                if overlaps(g, <cnp.ndarray>self._params[i]):
                    raise ValueError(f"grads[{i}] overlaps params[{i}] in memory; pass a copy")
                self.slots[i].grad = cnp.PyArray_DATA(g)
        cdef int64_t t = self._steps + 1
        cdef double lr = self._lr
        with cython.critical_section(self):
            schedule = self._schedule
        if schedule is not None:
            lr = float(schedule(t))
            if not (lr >= 0.0 and isfinite(lr)):
                bad_hyper("lr", lr, f"a finite number >= 0 (schedule value at step {t})")
        self._prepare(t, lr)
        if self._check_finite:
            if self.total >= FG_GIL_THRESHOLD:
                with nogil:
                    ok = fg_optim_grads_finite(self.slots, self.count)
            else:
                ok = fg_optim_grads_finite(self.slots, self.count)
            if not ok:
                raise FloatingPointError(f"step {t}: the gradients hold NaN or infinity; "
                                         "parameters and state were left unchanged")
        if self.total >= FG_GIL_THRESHOLD:
            with nogil:
                st = fg_optim_step_many(&self.cfg, self.slots, self.count, self._threads)
        else:
            st = fg_optim_step_many(&self.cfg, self.slots, self.count, self._threads)
        if st != FG_OK and st != FG_ERR_THREAD:
            raise_status(st, "step")
        self._steps = t
        self._buffers_ready = True
        return 0


# ------------------------------------------- exports for Cython embedders --
# Declared in _optim.pxd; thin nogil wrappers that compute the per-step
# coefficients and run the kernel (see the module docstring of _optim.pxd).

cdef int sgd_step_f64(double *param, const double *grad, double *momentum_buffer, size_t n,
                      int64_t step, double lr, double momentum, double dampening,
                      double weight_decay, bint nesterov, bint maximize) noexcept nogil:
    cdef fg_sgd_coeffs c
    cdef fg_status st = fg_sgd_prepare(&c, lr, momentum, dampening, weight_decay, nesterov,
                                       maximize, step)
    return st if st != FG_OK else fg_sgd_step_f64(param, grad, momentum_buffer, n, &c)


cdef int sgd_step_f32(float *param, const float *grad, float *momentum_buffer, size_t n,
                      int64_t step, double lr, double momentum, double dampening,
                      double weight_decay, bint nesterov, bint maximize) noexcept nogil:
    cdef fg_sgd_coeffs c
    cdef fg_status st = fg_sgd_prepare(&c, lr, momentum, dampening, weight_decay, nesterov,
                                       maximize, step)
    return st if st != FG_OK else fg_sgd_step_f32(param, grad, momentum_buffer, n, &c)


cdef int adam_step_f64(double *param, const double *grad, double *exp_avg, double *exp_avg_sq,
                       double *max_exp_avg_sq, size_t n, int64_t step, double lr, double beta1,
                       double beta2, double eps, double weight_decay, bint amsgrad,
                       bint maximize, bint decoupled) noexcept nogil:
    cdef fg_adam_coeffs c
    cdef fg_status st = fg_adam_prepare(&c, lr, beta1, beta2, eps, weight_decay, amsgrad,
                                        maximize, decoupled, step)
    return st if st != FG_OK else fg_adam_step_f64(param, grad, exp_avg, exp_avg_sq,
                                                   max_exp_avg_sq, n, &c)


cdef int adam_step_f32(float *param, const float *grad, float *exp_avg, float *exp_avg_sq,
                       float *max_exp_avg_sq, size_t n, int64_t step, double lr, double beta1,
                       double beta2, double eps, double weight_decay, bint amsgrad,
                       bint maximize, bint decoupled) noexcept nogil:
    cdef fg_adam_coeffs c
    cdef fg_status st = fg_adam_prepare(&c, lr, beta1, beta2, eps, weight_decay, amsgrad,
                                        maximize, decoupled, step)
    return st if st != FG_OK else fg_adam_step_f32(param, grad, exp_avg, exp_avg_sq,
                                                   max_exp_avg_sq, n, &c)


cdef int rmsprop_step_f64(double *param, const double *grad, double *square_avg,
                          double *momentum_buffer, double *grad_avg, size_t n, int64_t step,
                          double lr, double alpha, double eps, double weight_decay,
                          double momentum, bint centered, bint maximize) noexcept nogil:
    cdef fg_rmsprop_coeffs c
    cdef fg_status st = fg_rmsprop_prepare(&c, lr, alpha, eps, weight_decay, momentum,
                                           centered, maximize, step)
    return st if st != FG_OK else fg_rmsprop_step_f64(param, grad, square_avg,
                                                      momentum_buffer, grad_avg, n, &c)


cdef int rmsprop_step_f32(float *param, const float *grad, float *square_avg,
                          float *momentum_buffer, float *grad_avg, size_t n, int64_t step,
                          double lr, double alpha, double eps, double weight_decay,
                          double momentum, bint centered, bint maximize) noexcept nogil:
    cdef fg_rmsprop_coeffs c
    cdef fg_status st = fg_rmsprop_prepare(&c, lr, alpha, eps, weight_decay, momentum,
                                           centered, maximize, step)
    return st if st != FG_OK else fg_rmsprop_step_f32(param, grad, square_avg,
                                                      momentum_buffer, grad_avg, n, &c)


cdef int adagrad_step_f64(double *param, const double *grad, double *state_sum, size_t n,
                          int64_t step, double lr, double lr_decay, double weight_decay,
                          double eps, bint maximize) noexcept nogil:
    cdef fg_adagrad_coeffs c
    cdef fg_status st = fg_adagrad_prepare(&c, lr, lr_decay, eps, weight_decay, maximize, step)
    return st if st != FG_OK else fg_adagrad_step_f64(param, grad, state_sum, n, &c)


cdef int adagrad_step_f32(float *param, const float *grad, float *state_sum, size_t n,
                          int64_t step, double lr, double lr_decay, double weight_decay,
                          double eps, bint maximize) noexcept nogil:
    cdef fg_adagrad_coeffs c
    cdef fg_status st = fg_adagrad_prepare(&c, lr, lr_decay, eps, weight_decay, maximize, step)
    return st if st != FG_OK else fg_adagrad_step_f32(param, grad, state_sum, n, &c)
