# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: freethreading_compatible = True
"""Bindings of csrc/fg_optimizer.h and fg_optim_many.h: every optimizer
through its descriptor, so nothing here names an optimizer.

Layers: optimizers.py holds one spec per optimizer and validates
hyperparameters with fastgrad._validate; this module reads the descriptor
table (``descriptors``), checks arrays cheaply (PyArray_DATA after dtype,
byte order, shape, layout and writeability checks: ~30 ns, where a typed
memoryview costs ~150 ns), and makes one C call per step with the GIL
released above FG_GIL_THRESHOLD elements. C never sees Python. Arrays
marked (in/out) are updated in place; (in) arrays are only read.

Free-threading: a Kernel is immutable once built; an Engine's slot table,
hyperparameters and scalar state change only while the engine is claimed
(``_busy``, tested and set inside a critical section on the engine), and
its learning rate and schedule are read and written inside one.
"""
cimport cython
cimport numpy as cnp
from cpython.ref cimport PyObject
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE

cdef extern from "Python.h":
    ctypedef object (*PyCFunction)(object, object)
    ctypedef struct PyMethodDef:
        const char *ml_name
        PyCFunction ml_meth
        int ml_flags
        const char *ml_doc
    enum:
        METH_FASTCALL
        METH_KEYWORDS
    object PyCFunction_NewEx(PyMethodDef *ml, object self, object module)
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from libc.math cimport isfinite
from fastgrad._cstatus cimport *
from fastgrad._coptim cimport *

from fastgrad._common cimport (raise_status, FG_GIL_THRESHOLD, float_array, matching_array,
                               overlaps, same_shape)

from fastgrad import _validate

cnp.import_array()

cdef const fg_optimizer *descriptor(int kind) except NULL:
    cdef const fg_optimizer *opt = fg_optimizer_get(kind)
    if opt == NULL:
        raise ValueError(f"no optimizer has code {kind}")
    return opt


def descriptors():
    """The optimizer table of csrc/fg_optim_table.def as plain data: one dict
    per optimizer, in table order, with its ``name``, ``kind`` (its code),
    ``lr_default``, ``hyper`` (dicts: ``name``, ``default``, ``kind``
    "real" or "flag", ``low``, ``high``, ``low_open``, ``high_open``),
    ``state`` (dicts: ``name``, ``initial``, ``initial_from`` and
    ``used_if``, each a hyperparameter name or None), ``scalar`` (dicts:
    ``name``, ``initial``) and ``rule`` (a cross-hyperparameter rule in
    words, or None)."""
    cdef int k, i
    cdef const fg_optimizer *o
    table = []
    for k in range(FG_OPTIM_COUNT):
        o = fg_optimizer_get(k)
        hyper = [dict(name=o.hyper[i].name.decode(), default=o.hyper[i].default_value,
                      kind="flag" if o.hyper[i].kind == FG_HYPER_FLAG else "real",
                      low=o.hyper[i].low, high=o.hyper[i].high,
                      low_open=bool(o.hyper[i].low_open), high_open=bool(o.hyper[i].high_open))
                 for i in range(o.n_hyper)]
        names = [h["name"] for h in hyper]
        state = [dict(name=o.state[i].name.decode(), initial=o.state[i].initial,
                      initial_from=None if o.state[i].initial_from == FG_OPTIM_NONE
                      else names[o.state[i].initial_from],
                      used_if=None if o.state[i].used_if == FG_OPTIM_NONE
                      else names[o.state[i].used_if])
                 for i in range(o.n_state)]
        scalar = [dict(name=o.scalar[i].name.decode(), initial=o.scalar[i].initial)
                  for i in range(o.n_scalar)]
        table.append(dict(name=o.name.decode(), kind=k, lr_default=o.lr_default, hyper=hyper,
                          state=state, scalar=scalar,
                          rule=None if o.rule == NULL else o.rule.decode()))
    return table


def rule_violation(int kind, hyper):
    """The name of the hyperparameter that breaks optimizer ``kind``'s rule
    (``descriptors()[kind]["rule"]``) with these values, or None. ``hyper``:
    the values in descriptor order, each already allowed on its own."""
    cdef const fg_optimizer *opt = descriptor(kind)
    cdef double h[FG_OPTIM_MAX_HYPER]
    cdef int i, bad
    if len(hyper) != opt.n_hyper:
        raise ValueError(f"{opt.name.decode()} takes {opt.n_hyper} hyperparameters")
    for i in range(opt.n_hyper):
        h[i] = hyper[i]
    if opt.check == NULL:
        return None
    bad = opt.check(h)
    return None if bad == FG_OPTIM_NONE else opt.hyper[bad].name.decode()


# -------------------------------------------------- value checks, fast paths --
# A float (or int) in range and a bool are accepted in a few nanoseconds;
# anything else goes to fastgrad._validate, which accepts NumPy scalars and
# raises the TypeError/ValueError that names the argument.

cdef inline double hyper_value(const fg_optim_hyper *h, str name, object v) except? -1.0:
    cdef double x
    if h.kind == FG_HYPER_FLAG:
        if v is True:
            return 1.0
        if v is False:
            return 0.0
        return 1.0 if _validate.flag(name, v) else 0.0
    if type(v) is float or type(v) is int:
        x = v
        if (isfinite(x) and (x > h.low if h.low_open else x >= h.low)
                and (x < h.high if h.high_open else x <= h.high)):
            return x
    return _validate.real(name, v, low=h.low, high=h.high, low_open=h.low_open,
                          high_open=h.high_open)


cdef inline double lr_value(object v) except? -1.0:
    cdef double x
    if type(v) is float or type(v) is int:
        x = v
        if isfinite(x) and x >= 0.0:
            return x
    return _validate.real("lr", v, low=0.0)


cdef inline double scheduled_lr(object v, int64_t t) except? -1.0:
    cdef double x
    if type(v) is float or type(v) is int:
        x = v
        if isfinite(x) and x >= 0.0:
            return x
    return _validate.real(f"lr (schedule value at step {t})", v, low=0.0)


cdef inline double scalar_value(object v, str name) except? -1.0:
    cdef double x
    if type(v) is float:
        x = v
        if isfinite(x):
            return x
    return _validate.real(name, v)


cdef inline int64_t step_value(object v) except? -1:
    if type(v) is int and 1 <= v <= 0x7fffffffffffffff:
        return v
    return _validate.integer("step", v, low=1)


cdef inline int refuse_rule(const fg_optimizer *opt, const double *h, tuple names) except -1:
    """ValueError when the optimizer's rule between hyperparameters fails."""
    cdef int bad = FG_OPTIM_NONE if opt.check == NULL else opt.check(h)
    if bad != FG_OPTIM_NONE:
        raise ValueError(f"{opt.rule.decode()}; got {names[bad]}={h[bad]!r}")
    return 0


cdef enum:
    # param, grad, the state buffers and out
    MAX_ARRAYS = FG_OPTIM_MAX_STATE + 3


cdef struct arrays_of_call:
    # the byte ranges of a call's arrays; who[k]: 0 param, 1 grad, 2 + i
    # state buffer i, 2 + n_state out
    int count
    char *lo[MAX_ARRAYS]
    char *hi[MAX_ARRAYS]
    bint writes[MAX_ARRAYS]
    int who[MAX_ARRAYS]


cdef inline void add_array(arrays_of_call *c, cnp.ndarray a, bint writes, int who) noexcept:
    cdef Py_ssize_t nb = cnp.PyArray_NBYTES(a)
    if nb == 0:
        return   # an empty array overlaps nothing
    c.lo[c.count] = cnp.PyArray_BYTES(a)
    c.hi[c.count] = c.lo[c.count] + nb
    c.writes[c.count] = writes
    c.who[c.count] = who
    c.count += 1


cdef inline int first_overlap(const arrays_of_call *c, int *first, int *second) noexcept:
    """1 and the two positions when two arrays of the call share memory and
    the call writes at least one of them, else 0."""
    cdef int i, j
    for j in range(1, c.count):
        for i in range(j):
            if ((c.writes[i] or c.writes[j]) and c.lo[i] < c.hi[j] and c.lo[j] < c.hi[i]):
                first[0] = i
                second[0] = j
                return 1
    return 0


cdef inline fg_status run_step(const fg_optimizer *opt, bint f32, const void *src, void *p,
                               const void *g, void **state, size_t n,
                               const void *c) noexcept nogil:
    if f32:
        return opt.step_f32(<const float*>src, <float*>p, <const float*>g,
                            <float**>state, n, c)
    return opt.step_f64(<const double*>src, <double*>p, <const double*>g,
                        <double**>state, n, c)


# ----------------------------------------------------------- raw kernels --

include "_optim_kernel.pxi"


# ------------------------------------------------------ optimizer engine --

cdef inline Py_ssize_t address(cnp.ndarray a):
    return <Py_ssize_t>cnp.PyArray_BYTES(a)


cdef struct span:
    char *lo
    char *hi


cdef class Engine:
    """The C side of fastgrad's optimizer classes (not used directly).

    Holds the parameter arrays, their state buffers, the hyperparameters as
    doubles, the scalar state and a slot table of raw pointers built once at
    setup, so a step checks the gradients, computes the per-step scalars and
    makes a single C call over all parameters with the GIL released once.
    """
    cdef const fg_optimizer *opt
    cdef double hyper[FG_OPTIM_MAX_HYPER]
    cdef double scalars[FG_OPTIM_MAX_SCALAR]
    cdef fg_optim_coeffs coeffs
    cdef fg_optim_slot *slots
    cdef void **state_ptrs       # count * n_state pointers, the slots' state arrays
    cdef span *written           # params and buffers by address: what a step writes
    cdef Py_ssize_t nwritten
    cdef Py_ssize_t count
    cdef size_t total
    cdef bint single
    cdef readonly int64_t steps
    """Number of steps taken."""
    cdef readonly list params
    """The list of arrays this optimizer updates in place."""
    cdef list _buffers           # per param, a list of n_state arrays (None: unused)
    cdef list _grad_refs         # the gradients of the running step, kept alive
    cdef list _written_names     # names of the written spans, for messages
    cdef double _lr_fixed
    cdef object _schedule
    cdef bint _busy              # claimed: a step, setup or state transfer is running
    # hyper and _checked_lr passed fg_optimizer_check: a step at that rate
    # fills its coefficients without checking them again
    cdef bint _hyper_checked
    cdef double _checked_lr
    cdef public bint _check_finite
    cdef public int _threads

    def __dealloc__(self):
        free(self.slots)
        free(self.state_ptrs)
        free(self.written)

    cdef int _claim(self) except -1:
        cdef bint was_busy
        with cython.critical_section(self):
            was_busy = self._busy
            self._busy = True
        if was_busy:
            # The GIL is released during a step; a second thread must neither
            # rewrite the slot table nor read state that is being written.
            raise RuntimeError("this optimizer is running a step (or a state_dict or "
                               "load_state_dict) in another thread; use one optimizer per "
                               "thread")
        return 0

    cdef void _release(self) noexcept:
        with cython.critical_section(self):
            self._busy = False

    def _enter(self):
        """Claim the optimizer for a state transfer (state_dict,
        load_state_dict): a concurrent step raises instead of tearing it."""
        self._claim()

    def _exit(self):
        self._release()

    def _bind(self, int kind):
        """Make this the engine of optimizer ``kind`` (once, before anything else)."""
        if self.opt != NULL:
            raise RuntimeError("the optimizer is already set up")
        self.opt = descriptor(kind)

    cdef int _bound(self) except -1:
        if self.opt == NULL:
            raise RuntimeError("the optimizer is not set up (Optimizer.__init__ was not run)")
        return 0

    def _setup(self, list params, list buffers, bint single):
        """params: validated arrays; buffers: per param, a list of the
        descriptor's n_state arrays (None where unused). Refuses parameters
        that share memory."""
        self._bound()
        self._claim()
        try:
            self._setup_slots(params, buffers, single)
        finally:
            self._release()

    cdef int _setup_slots(self, list params, list buffers, bint single) except -1:
        cdef Py_ssize_t i, j, k
        cdef cnp.ndarray p
        cdef int ns = self.opt.n_state
        free(self.slots)
        free(self.state_ptrs)
        free(self.written)
        self.slots = NULL
        self.state_ptrs = NULL
        self.written = NULL
        self.count = len(params)
        self.slots = <fg_optim_slot*>malloc(max(self.count, 1) * sizeof(fg_optim_slot))
        self.state_ptrs = <void**>malloc(max(self.count * ns, 1) * sizeof(void*))
        self.written = <span*>malloc(max(self.count * (ns + 1), 1) * sizeof(span))
        if self.slots == NULL or self.state_ptrs == NULL or self.written == NULL:
            raise MemoryError("could not allocate the optimizer's slot table")
        self.single = single
        self.params = params
        self._buffers = buffers
        self._grad_refs = [None] * self.count
        self.total = 0
        spans = []
        for i in range(self.count):
            p = params[i]
            self.slots[i].param = cnp.PyArray_DATA(p)
            self.slots[i].grad = NULL
            self.slots[i].n = cnp.PyArray_SIZE(p)
            self.slots[i].dtype = FG_FLOAT32 if cnp.PyArray_TYPE(p) == cnp.NPY_FLOAT else FG_FLOAT64
            self.slots[i].state = &self.state_ptrs[i * ns]
            pname = self._param_name(i)
            spans.append((p, pname))
            for j in range(ns):
                s = buffers[i][j]
                self.state_ptrs[i * ns + j] = (NULL if s is None
                                               else cnp.PyArray_DATA(<cnp.ndarray>s))
                if s is not None:
                    spans.append((s, f"the {self.opt.state[j].name.decode()} buffer of {pname}"))
            self.total += self.slots[i].n
        keyed = sorted((address(a), k) for k, (a, _) in enumerate(spans)
                       if cnp.PyArray_NBYTES(<cnp.ndarray>a) > 0)
        self.nwritten = len(keyed)
        self._written_names = []
        for k in range(self.nwritten):
            p, name = spans[keyed[k][1]]
            self.written[k].lo = cnp.PyArray_BYTES(p)
            self.written[k].hi = self.written[k].lo + cnp.PyArray_NBYTES(p)
            if k and self.written[k].lo < self.written[k - 1].hi:
                raise ValueError(f"{self._written_names[k - 1]} and {name} share memory; each "
                                 "parameter must be its own array")
            self._written_names.append(name)
        return 0

    cdef Py_ssize_t _written_overlap(self, cnp.ndarray g) noexcept:
        """Index of the written span that g's memory overlaps, or -1. The
        spans are disjoint and sorted, so only the last one starting below
        g's end can reach into g (a binary search)."""
        cdef Py_ssize_t nb = cnp.PyArray_NBYTES(g)
        if nb == 0 or self.nwritten == 0:
            return -1
        cdef char *lo = cnp.PyArray_BYTES(g)
        cdef char *hi = lo + nb
        cdef Py_ssize_t a = 0, b = self.nwritten, m
        while a < b:                 # first span with written[m].lo >= hi
            m = (a + b) // 2
            if self.written[m].lo < hi:
                a = m + 1
            else:
                b = m
        if a > 0 and self.written[a - 1].hi > lo:
            return a - 1
        return -1

    # ---- hyperparameters, learning rate, scalar state, steps --

    cdef int _fill(self, double *dest, int n, values, str what) except -1:
        """dest[:n] = values, which must hold n numbers (`what` names them)."""
        cdef int i
        self._bound()
        if len(values) != n:
            raise ValueError(f"wrong number of {what}")
        for i in range(n):
            dest[i] = values[i]
        return 0

    def _set_hyper(self, values):
        """The hyperparameters in descriptor order, already validated."""
        self._hyper_checked = False
        self._fill(self.hyper, self.opt.n_hyper, values, "hyperparameters")

    def _get_scalars(self):
        cdef int i
        self._bound()
        return [self.scalars[i] for i in range(self.opt.n_scalar)]

    def _set_scalars(self, values):
        self._fill(self.scalars, self.opt.n_scalar, values, "scalar state values")

    def _set_lr(self, double fixed, schedule):
        """A fixed rate (used when schedule is None) and a schedule, set together."""
        with cython.critical_section(self):
            self._lr_fixed = fixed
            self._schedule = schedule

    def _get_lr(self):
        """(fixed rate, schedule or None)."""
        with cython.critical_section(self):
            pair = (self._lr_fixed, self._schedule)
        return pair

    def _set_steps(self, int64_t steps):
        self.steps = steps

    # ---- the step --

    def step(self, grads):
        """Apply one update to every parameter, in place.

        Parameters
        ----------
        grads : ndarray or sequence of ndarray
            The gradients, in the same structure as ``params`` was given (one
            array, or a sequence of the same length), each matching its
            parameter's shape, dtype and byte order, and sharing no memory
            with any parameter or state buffer.
        """
        cdef Py_ssize_t i
        self._bound()
        self._claim()
        try:
            self._step(grads)
        finally:
            for i in range(self.count):
                self.slots[i].grad = NULL   # keep no pointer into the caller's arrays
                self._grad_refs[i] = None
            self._release()

    cdef int _check_grad(self, Py_ssize_t i, object grad) except -1:
        cdef cnp.ndarray p = <cnp.ndarray>self.params[i]
        cdef cnp.ndarray g
        # The common case is checked without building the argument's name;
        # anything else goes to matching_array, which names it in its error.
        if (cnp.PyArray_Check(grad) and cnp.PyArray_TYPE(<cnp.ndarray>grad) == cnp.PyArray_TYPE(p)
                and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>grad)
                and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>grad)
                and same_shape(<cnp.ndarray>grad, p)):
            g = <cnp.ndarray>grad
        else:
            g = matching_array(grad, self._grad_name(i), p, self._param_name(i), False)
        cdef Py_ssize_t k = self._written_overlap(g)
        if k >= 0:
            raise ValueError(f"{self._grad_name(i)} overlaps {self._written_names[k]} in memory; "
                             "the step writes it, so they must be different arrays (pass a copy)")
        # The reference keeps an array that grads[i] built on the fly alive
        # while C reads it.
        self._grad_refs[i] = g
        self.slots[i].grad = cnp.PyArray_DATA(g)
        return 0

    cdef str _grad_name(self, Py_ssize_t i):
        return "grads" if self.single else f"grads[{i}]"

    cdef str _param_name(self, Py_ssize_t i):
        return "params" if self.single else f"params[{i}]"

    cdef int _step(self, grads) except -1:
        cdef Py_ssize_t i
        cdef fg_status st
        cdef int ok
        cdef double sc[FG_OPTIM_MAX_SCALAR]
        if self.single:
            self._check_grad(0, grads)
        else:
            if cnp.PyArray_Check(grads) or len(grads) != self.count:
                raise ValueError(f"grads must be a sequence of {self.count} arrays, one per "
                                 f"parameter")
            for i in range(self.count):
                self._check_grad(i, grads[i])
        cdef int64_t t = self.steps + 1
        cdef double rate
        with cython.critical_section(self):
            rate = self._lr_fixed
            schedule = self._schedule
        if schedule is not None:
            rate = scheduled_lr(schedule(t), t)
        memcpy(sc, self.scalars, sizeof(sc))
        if self._hyper_checked and rate == self._checked_lr:
            st = self.opt.fill(&self.coeffs, self.hyper, rate, t, sc)
        else:
            st = self.opt.prepare(&self.coeffs, self.hyper, rate, t, sc)
            self._hyper_checked, self._checked_lr = st == FG_OK, rate
        if st != FG_OK:
            raise_status(st, "step")
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
                st = fg_optim_step_many(self.opt, &self.coeffs, self.slots, self.count,
                                        self._threads)
        else:
            st = fg_optim_step_many(self.opt, &self.coeffs, self.slots, self.count,
                                    self._threads)
        if st != FG_OK and st != FG_ERR_THREAD:
            raise_status(st, "step")
        memcpy(self.scalars, sc, sizeof(sc))
        self.steps = t
        return 0


# ------------------------------------------- exports for Cython embedders --

include "_optim_exports.pxi"
