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

cdef enum:
    # A kernel call's values by role: 0 param, 1 grad, 2 step, 3 lr, 4 out,
    # then the state buffers, the hyperparameters and the scalar state.
    FIRST_STATE = 5
    MAX_ROLES = 5 + FG_OPTIM_MAX_STATE + FG_OPTIM_MAX_HYPER + FG_OPTIM_MAX_SCALAR

#: The default of a kernel argument that has none.
REQUIRED = object()


def _kernel_named(str name):
    import fastgrad.kernels
    return getattr(fastgrad.kernels, name).__self__


cdef class Kernel:
    """One optimizer's step on raw arrays (the engine of fastgrad.kernels).

    Built once per optimizer from the argument list of its kernel function
    (each argument's name, role, default and whether it may be positional)
    and the constants for hyperparameters no argument sets. ``call`` binds
    the arguments in C (no Python frame in between), validates everything
    before C touches memory, then makes one step, in place or into ``out``.
    """
    cdef const fg_optimizer *opt
    cdef str name
    cdef tuple state_names, hyper_names, scalar_names
    cdef tuple arg_names, arg_defaults, constants
    cdef Py_ssize_t n_args, n_positional
    cdef int arg_role[MAX_ROLES]
    cdef object owner

    def __reduce__(self):
        # A kernel function pickles as getattr(its kernel, its name): the
        # kernel by name, found again in fastgrad.kernels.
        return (_kernel_named, (self.name,))

    def __getattr__(self, str name):
        if name == self.name:
            import fastgrad.kernels
            return getattr(fastgrad.kernels, name)
        raise AttributeError(name)

    def __cinit__(self, int kind, str name, tuple arguments, tuple constants,
                  tuple state_names, tuple hyper_names, tuple scalar_names):
        """arguments: (name, role, positional, default or REQUIRED) in the
        function's order; constants: one value per role (REQUIRED where an
        argument supplies it)."""
        cdef Py_ssize_t k
        self.opt = descriptor(kind)
        cdef int n_roles = FIRST_STATE + self.opt.n_state + self.opt.n_hyper + self.opt.n_scalar
        if (len(state_names) != self.opt.n_state or len(hyper_names) != self.opt.n_hyper
                or len(scalar_names) != self.opt.n_scalar or len(constants) != n_roles
                or len(arguments) > n_roles):
            raise ValueError("Kernel: the names do not match the descriptor")
        self.name = name
        self.state_names, self.hyper_names, self.scalar_names = (state_names, hyper_names,
                                                                 scalar_names)
        self.constants = constants
        self.n_args = len(arguments)
        self.arg_names = tuple(a[0] for a in arguments)
        self.arg_defaults = tuple(a[3] for a in arguments)
        self.n_positional = sum(1 for a in arguments if a[2])
        for k in range(self.n_args):
            self.arg_role[k] = arguments[k][1]

    cdef object call(self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames):
        """Bind a vectorcall's arguments (args[0:nargs] positional, then one
        value per name in kwnames) as a Python function with this argument
        list would, then step."""
        cdef PyObject *by_arg[MAX_ROLES]
        cdef PyObject *v[MAX_ROLES]
        cdef Py_ssize_t k, j, nkw = 0 if kwnames == NULL else PyTuple_GET_SIZE(<object>kwnames)
        cdef int n_roles = FIRST_STATE + self.opt.n_state + self.opt.n_hyper + self.opt.n_scalar
        if nargs > self.n_positional:
            raise TypeError(f"{self.name}() takes {self.n_positional} positional arguments "
                            f"but {nargs} were given")
        for k in range(self.n_args):
            by_arg[k] = args[k] if k < nargs else NULL
        for j in range(nkw):
            key = <object>PyTuple_GET_ITEM(<object>kwnames, j)
            for k in range(self.n_args):
                if self.arg_names[k] == key:
                    break
            else:
                raise TypeError(f"{self.name}() got an unexpected keyword argument {key!r}")
            if by_arg[k] != NULL:
                raise TypeError(f"{self.name}() got multiple values for argument {key!r}")
            by_arg[k] = args[nargs + j]
        for k in range(n_roles):
            v[k] = PyTuple_GET_ITEM(self.constants, k)
        for k in range(self.n_args):
            if by_arg[k] == NULL:
                by_arg[k] = PyTuple_GET_ITEM(self.arg_defaults, k)
                if <object>by_arg[k] is REQUIRED:
                    raise TypeError(f"{self.name}() missing required argument "
                                    f"{self.arg_names[k]!r}")
            v[self.arg_role[k]] = by_arg[k]
        return self.step(v)

    cdef int refuse_overlap(self, const arrays_of_call *c, int first, int second) except -1:
        names = ("param", "grad") + self.state_names + ("out",)
        a, b = names[c.who[first]], names[c.who[second]]
        raise ValueError(f"{b} overlaps {a} in memory; this call writes "
                         f"{b if c.writes[second] else a}, so they must be different arrays")

    cdef object step(self, PyObject **v):
        """The step with the call's values by role (borrowed references,
        kept alive by the caller's arguments); returns the new scalar state
        (None, a float, or a tuple for several values)."""
        cdef const fg_optimizer *opt = self.opt
        cdef double h[FG_OPTIM_MAX_HYPER]
        cdef double sc[FG_OPTIM_MAX_SCALAR]
        cdef void *ptrs[FG_OPTIM_MAX_STATE]
        cdef fg_optim_coeffs coeffs
        cdef Py_ssize_t i
        cdef cnp.ndarray a
        cdef int ns = opt.n_state
        cdef Py_ssize_t first_hyper = FIRST_STATE + ns, first_scalar = first_hyper + opt.n_hyper
        for i in range(opt.n_hyper):
            h[i] = hyper_value(&opt.hyper[i], self.hyper_names[i], <object>v[first_hyper + i])
        cdef int64_t t = step_value(<object>v[2])
        cdef double rate = lr_value(<object>v[3])
        for i in range(opt.n_scalar):
            sc[i] = scalar_value(<object>v[first_scalar + i], self.scalar_names[i])
        refuse_rule(opt, h, self.hyper_names)
        out = <object>v[4]
        cdef cnp.ndarray p = float_array(<object>v[0], "param", out is None)
        cdef cnp.ndarray g = matching_array(<object>v[1], "grad", p, "param", False)
        cdef arrays_of_call call
        call.count = 0
        add_array(&call, p, out is None, 0)
        add_array(&call, g, False, 1)
        for i in range(ns):
            s = <object>v[FIRST_STATE + i]
            if s is None:
                if fg_optimizer_state_used(opt, h, i):
                    raise TypeError(f"{self.state_names[i]} is required with these options "
                                    "but is None")
                ptrs[i] = NULL
            else:
                a = matching_array(s, self.state_names[i], p, "param", True)
                ptrs[i] = cnp.PyArray_DATA(a)
                add_array(&call, a, True, 2 + i)
        cdef void *op = NULL
        if out is not None:
            a = matching_array(out, "out", p, "param", True)
            op = cnp.PyArray_DATA(a)
            add_array(&call, a, True, 2 + ns)
        cdef int first, second
        if first_overlap(&call, &first, &second):
            self.refuse_overlap(&call, first, second)
        cdef fg_status st = opt.prepare(&coeffs, h, rate, t, sc)
        if st != FG_OK:
            raise_status(st, self.name)
        cdef size_t n = cnp.PyArray_SIZE(p)
        cdef bint f32 = cnp.PyArray_TYPE(p) == cnp.NPY_FLOAT
        cdef void *pp = cnp.PyArray_DATA(p)
        cdef void *gp = cnp.PyArray_DATA(g)
        # In place: run_step(src = NULL, p); out of place: run_step(src = p, out).
        cdef const void *src = NULL if op == NULL else pp
        cdef void *dst = pp if op == NULL else op
        if n >= FG_GIL_THRESHOLD:
            with nogil:
                st = run_step(opt, f32, src, dst, gp, ptrs, n, &coeffs)
        else:
            st = run_step(opt, f32, src, dst, gp, ptrs, n, &coeffs)
        # A non-finite result is not an error here: out of place it is
        # reported (FG_ERR_NONFINITE), in place it is not looked for.
        if st != FG_OK and st != FG_ERR_NONFINITE:
            raise_status(st, self.name)
        if opt.n_scalar == 0:
            return None
        if opt.n_scalar == 1:
            return sc[0]
        return tuple(sc[i] for i in range(opt.n_scalar))


cdef object kernel_vectorcall(object kernel, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames):
    return (<Kernel>kernel).call(args, nargs, kwnames)


cdef class KernelFunction:
    """Owns the method table entry of a kernel function (see kernel_function)."""
    cdef PyMethodDef method
    cdef bytes name, doc
    cdef Kernel kernel


def kernel_function(Kernel kernel, str name, str text_signature, str doc, str module):
    """``kernel`` as a built-in function called like one written in C: the
    interpreter hands it the arguments as an array (vectorcall), so a call
    builds no tuple or dict and runs no Python frame. ``text_signature``
    (``(param, grad, ...)``, defaults as literals) is what
    ``inspect.signature`` reports."""
    cdef KernelFunction owner = KernelFunction()
    owner.kernel = kernel
    owner.name = name.encode()
    owner.doc = f"{name}($self, {text_signature[1:]}\n--\n\n{doc}".encode()
    owner.method.ml_name = owner.name
    owner.method.ml_meth = <PyCFunction><void*>kernel_vectorcall
    owner.method.ml_flags = METH_FASTCALL | METH_KEYWORDS
    owner.method.ml_doc = owner.doc
    kernel.owner = owner       # the method table entry lives as long as the kernel
    return PyCFunction_NewEx(&owner.method, kernel, module)


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
    cdef int64_t _steps
    cdef list _params
    cdef list _buffers           # per param, a list of n_state arrays (None: unused)
    cdef list _grad_refs         # the gradients of the running step, kept alive
    cdef list _written_names     # names of the written spans, for messages
    cdef double _lr_fixed
    cdef object _schedule
    cdef bint _busy              # claimed: a step, setup or state transfer is running
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
        self._params = params
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
                self.state_ptrs[i * ns + j] = NULL if s is None else cnp.PyArray_DATA(<cnp.ndarray>s)
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

    def _set_hyper(self, values):
        """The hyperparameters in descriptor order, already validated."""
        cdef int i
        self._bound()
        if len(values) != self.opt.n_hyper:
            raise ValueError("wrong number of hyperparameters")
        for i in range(self.opt.n_hyper):
            self.hyper[i] = values[i]

    def _get_scalars(self):
        cdef int i
        self._bound()
        return [self.scalars[i] for i in range(self.opt.n_scalar)]

    def _set_scalars(self, values):
        cdef int i
        self._bound()
        if len(values) != self.opt.n_scalar:
            raise ValueError("wrong number of scalar state values")
        for i in range(self.opt.n_scalar):
            self.scalars[i] = values[i]

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
        self._steps = steps

    @property
    def params(self):
        """The list of arrays this optimizer updates in place."""
        return self._params

    @property
    def steps(self):
        """Number of steps taken."""
        return self._steps

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
        cdef cnp.ndarray p = <cnp.ndarray>self._params[i]
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
        cdef int64_t t = self._steps + 1
        cdef double rate
        with cython.critical_section(self):
            rate = self._lr_fixed
            schedule = self._schedule
        if schedule is not None:
            rate = scheduled_lr(schedule(t), t)
        memcpy(sc, self.scalars, sizeof(sc))
        st = self.opt.prepare(&self.coeffs, self.hyper, rate, t, sc)
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
        self._steps = t
        return 0


# ------------------------------------------- exports for Cython embedders --
# Declared in _optim.pxd: nogil wrappers that compute the per-step
# coefficients and run the kernel, one body per optimizer for both dtypes.

ctypedef fused floating:
    float
    double


cdef inline int _sgd(floating *param, const floating *grad, floating *momentum_buffer, size_t n,
                     int64_t step, double lr, double momentum, double dampening,
                     double weight_decay, bint nesterov, bint maximize) noexcept nogil:
    cdef fg_sgd_coeffs c
    cdef fg_status st = fg_sgd_prepare(&c, lr, momentum, dampening, weight_decay, nesterov,
                                       maximize, step)
    if st != FG_OK:
        return st
    if floating is float:
        return fg_sgd_step_f32(param, grad, momentum_buffer, n, &c)
    else:
        return fg_sgd_step_f64(param, grad, momentum_buffer, n, &c)


cdef inline int _adam(floating *param, const floating *grad, floating *exp_avg,
                      floating *exp_avg_sq, floating *max_exp_avg_sq, size_t n, int64_t step,
                      double lr, double beta1, double beta2, double eps, double weight_decay,
                      bint amsgrad, bint maximize, bint decoupled) noexcept nogil:
    cdef fg_adam_coeffs c
    cdef fg_status st = fg_adam_prepare(&c, lr, beta1, beta2, eps, weight_decay, amsgrad,
                                        maximize, decoupled, step)
    if st != FG_OK:
        return st
    if floating is float:
        return fg_adam_step_f32(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n, &c)
    else:
        return fg_adam_step_f64(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n, &c)


cdef inline int _rmsprop(floating *param, const floating *grad, floating *square_avg,
                         floating *momentum_buffer, floating *grad_avg, size_t n, int64_t step,
                         double lr, double alpha, double eps, double weight_decay,
                         double momentum, bint centered, bint maximize) noexcept nogil:
    cdef fg_rmsprop_coeffs c
    cdef fg_status st = fg_rmsprop_prepare(&c, lr, alpha, eps, weight_decay, momentum,
                                           centered, maximize, step)
    if st != FG_OK:
        return st
    if floating is float:
        return fg_rmsprop_step_f32(param, grad, square_avg, momentum_buffer, grad_avg, n, &c)
    else:
        return fg_rmsprop_step_f64(param, grad, square_avg, momentum_buffer, grad_avg, n, &c)


cdef inline int _adagrad(floating *param, const floating *grad, floating *state_sum, size_t n,
                         int64_t step, double lr, double lr_decay, double weight_decay,
                         double eps, bint maximize) noexcept nogil:
    cdef fg_adagrad_coeffs c
    cdef fg_status st = fg_adagrad_prepare(&c, lr, lr_decay, eps, weight_decay, maximize, step)
    if st != FG_OK:
        return st
    if floating is float:
        return fg_adagrad_step_f32(param, grad, state_sum, n, &c)
    else:
        return fg_adagrad_step_f64(param, grad, state_sum, n, &c)


cdef int sgd_step_f64(double *param, const double *grad, double *momentum_buffer, size_t n,
                      int64_t step, double lr, double momentum, double dampening,
                      double weight_decay, bint nesterov, bint maximize) noexcept nogil:
    return _sgd(param, grad, momentum_buffer, n, step, lr, momentum, dampening, weight_decay,
                nesterov, maximize)


cdef int sgd_step_f32(float *param, const float *grad, float *momentum_buffer, size_t n,
                      int64_t step, double lr, double momentum, double dampening,
                      double weight_decay, bint nesterov, bint maximize) noexcept nogil:
    return _sgd(param, grad, momentum_buffer, n, step, lr, momentum, dampening, weight_decay,
                nesterov, maximize)


cdef int adam_step_f64(double *param, const double *grad, double *exp_avg, double *exp_avg_sq,
                       double *max_exp_avg_sq, size_t n, int64_t step, double lr, double beta1,
                       double beta2, double eps, double weight_decay, bint amsgrad,
                       bint maximize, bint decoupled) noexcept nogil:
    return _adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n, step, lr, beta1, beta2,
                 eps, weight_decay, amsgrad, maximize, decoupled)


cdef int adam_step_f32(float *param, const float *grad, float *exp_avg, float *exp_avg_sq,
                       float *max_exp_avg_sq, size_t n, int64_t step, double lr, double beta1,
                       double beta2, double eps, double weight_decay, bint amsgrad,
                       bint maximize, bint decoupled) noexcept nogil:
    return _adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n, step, lr, beta1, beta2,
                 eps, weight_decay, amsgrad, maximize, decoupled)


cdef int rmsprop_step_f64(double *param, const double *grad, double *square_avg,
                          double *momentum_buffer, double *grad_avg, size_t n, int64_t step,
                          double lr, double alpha, double eps, double weight_decay,
                          double momentum, bint centered, bint maximize) noexcept nogil:
    return _rmsprop(param, grad, square_avg, momentum_buffer, grad_avg, n, step, lr, alpha,
                    eps, weight_decay, momentum, centered, maximize)


cdef int rmsprop_step_f32(float *param, const float *grad, float *square_avg,
                          float *momentum_buffer, float *grad_avg, size_t n, int64_t step,
                          double lr, double alpha, double eps, double weight_decay,
                          double momentum, bint centered, bint maximize) noexcept nogil:
    return _rmsprop(param, grad, square_avg, momentum_buffer, grad_avg, n, step, lr, alpha,
                    eps, weight_decay, momentum, centered, maximize)


cdef int adagrad_step_f64(double *param, const double *grad, double *state_sum, size_t n,
                          int64_t step, double lr, double lr_decay, double weight_decay,
                          double eps, bint maximize) noexcept nogil:
    return _adagrad(param, grad, state_sum, n, step, lr, lr_decay, weight_decay, eps, maximize)


cdef int adagrad_step_f32(float *param, const float *grad, float *state_sum, size_t n,
                          int64_t step, double lr, double lr_decay, double weight_decay,
                          double eps, bint maximize) noexcept nogil:
    return _adagrad(param, grad, state_sum, n, step, lr, lr_decay, weight_decay, eps, maximize)
