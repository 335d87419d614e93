# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Bindings of csrc/fg_tape.{h,c}: the expression-tape VM behind compile().

Layers: compiled.py traces f into plain arrays (slots, instructions, pools);
Tape hands them to fg_tape_create, which validates once and copies; each
call then checks x cheaply (PyArray_DATA after type/shape checks), borrows a
workspace from a small pool (taken and returned under the GIL, so threads
never share one), and runs C with the GIL released when the work is large.
"""
cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_New, PyCapsule_GetPointer
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport malloc, free
from libc.math cimport NAN
from fastgrad._cstatus cimport *
from fastgrad._ctape cimport *
from fastgrad._common cimport raise_status, FG_GIL_THRESHOLD


import numpy as np

cnp.import_array()

cdef enum:
    FG_POOL = 8                # idle workspaces kept per tape
    FG_INSTR_COLS = 16


# ------------------------------------------------------ embedding exports --

cdef void *tape_ws_create(void *tape, size_t k) noexcept nogil:
    cdef fg_tape_ws *ws = NULL
    if fg_tape_ws_create(<fg_tape*>tape, k, &ws) != FG_OK:
        return NULL
    return ws

cdef void tape_ws_free(void *ws) noexcept nogil:
    fg_tape_ws_free(<fg_tape_ws*>ws)

cdef int tape_eval_f64(void *tape, void *ws, const double *x, double *value) noexcept nogil:
    return fg_tape_eval_f64(<fg_tape*>tape, <fg_tape_ws*>ws, x, value)

cdef int tape_value_grad_f64(void *tape, void *ws, const double *x, double *value,
                             double *grad) noexcept nogil:
    return fg_tape_value_grad_f64(<fg_tape*>tape, <fg_tape_ws*>ws, x, value, grad)

cdef int tape_value_grad_reverse_f64(void *tape, void *ws, const double *x, double *value,
                                     double *grad) noexcept nogil:
    return fg_tape_value_grad_reverse_f64(<fg_tape*>tape, <fg_tape_ws*>ws, x, value, grad)

cdef int tape_jvp_f64(void *tape, void *ws, const double *x, const double *v, double *value,
                      double *jv) noexcept nogil:
    return fg_tape_jvp_f64(<fg_tape*>tape, <fg_tape_ws*>ws, x, v, value, jv)

cdef int tape_hessian_f64(void *tape, void *ws, const double *x, double *hess) noexcept nogil:
    return fg_tape_hessian_f64(<fg_tape*>tape, <fg_tape_ws*>ws, x, hess, NULL, NULL)

cdef int tape_hessian_reverse_f64(void *tape, void *ws, const double *x,
                                  double *hess) noexcept nogil:
    return fg_tape_hessian_reverse_f64(<fg_tape*>tape, <fg_tape_ws*>ws, x, hess, NULL, NULL)

cdef int tape_hvp_f64(void *tape, void *ws, const double *x, const double *v,
                      double *hv) noexcept nogil:
    return fg_tape_hvp_f64(<fg_tape*>tape, <fg_tape_ws*>ws, x, v, hv, NULL, NULL)


# ------------------------------------------------------------- capsules --

ctypedef struct scalar_ctx:
    fg_scalar_callback cb      # first: the capsule's pointer is the context's
    fg_tape *tape
    fg_tape_ws *ws
    PyObject *owner            # the Tape, kept alive while the capsule lives

ctypedef struct objective_ctx:
    fg_objective_callback cb
    fg_tape *tape
    fg_tape_ws *ws
    PyObject *owner
    bint reverse               # gradient by the adjoint sweep instead of dual passes
    bint hess_reverse          # Hessian by forward-over-reverse instead of hyper-duals


cdef double scalar_fn(const double *x, size_t n, void *ctx) noexcept nogil:
    cdef scalar_ctx *c = <scalar_ctx*>ctx
    cdef double value
    if n != c.cb.n or fg_tape_eval_f64(c.tape, c.ws, x, &value) != FG_OK:
        return NAN
    return value

cdef fg_status objective_value_grad(const double *x, size_t n, double *value, double *grad,
                                    void *ctx) noexcept nogil:
    cdef objective_ctx *c = <objective_ctx*>ctx
    if n != c.cb.n:
        return FG_ERR_SHAPE
    if grad == NULL:
        return fg_tape_eval_f64(c.tape, c.ws, x, value)
    if c.reverse:
        return fg_tape_value_grad_reverse_f64(c.tape, c.ws, x, value, grad)
    return fg_tape_value_grad_f64(c.tape, c.ws, x, value, grad)

cdef fg_status objective_hessian(const double *x, size_t n, double *hess,
                                 void *ctx) noexcept nogil:
    cdef objective_ctx *c = <objective_ctx*>ctx
    if n != c.cb.n:
        return FG_ERR_SHAPE
    if c.hess_reverse:
        return fg_tape_hessian_reverse_f64(c.tape, c.ws, x, hess, NULL, NULL)
    return fg_tape_hessian_f64(c.tape, c.ws, x, hess, NULL, NULL)

ctypedef struct hvp_ctx:
    fg_hvp_callback cb         # first: the capsule's pointer is the context's
    fg_tape *tape
    fg_tape_ws *ws
    PyObject *owner


cdef fg_status objective_hvp(const double *x, const double *v, size_t n, double *hv,
                             void *ctx) noexcept nogil:
    cdef hvp_ctx *c = <hvp_ctx*>ctx
    if n != c.cb.n:
        return FG_ERR_SHAPE
    return fg_tape_hvp_f64(c.tape, c.ws, x, v, hv, NULL, NULL)


cdef void free_hvp_capsule(object cap) noexcept:
    cdef hvp_ctx *c = <hvp_ctx*>PyCapsule_GetPointer(cap, FG_HVP_CAPSULE_NAME)
    if c != NULL:
        fg_tape_ws_free(c.ws)
        Py_DECREF(<object>c.owner)
        free(c)

cdef void free_scalar_capsule(object cap) noexcept:
    cdef scalar_ctx *c = <scalar_ctx*>PyCapsule_GetPointer(cap, FG_SCALAR_CAPSULE_NAME)
    if c != NULL:
        fg_tape_ws_free(c.ws)
        Py_DECREF(<object>c.owner)
        free(c)

cdef void free_objective_capsule(object cap) noexcept:
    cdef objective_ctx *c = <objective_ctx*>PyCapsule_GetPointer(cap, FG_OBJECTIVE_CAPSULE_NAME)
    if c != NULL:
        fg_tape_ws_free(c.ws)
        Py_DECREF(<object>c.owner)
        free(c)


# ----------------------------------------------------------------- Tape --

# -- workspaces: pop/push happen with the GIL held, so two threads never
#    get the same workspace; the C work itself may then run without it.
cdef inline fg_tape_ws *_acquire(Tape self) except NULL:
    cdef fg_tape_ws *ws = NULL
    if self._npool > 0:
        self._npool -= 1
        return <fg_tape_ws*>self._pool[self._npool]
    if fg_tape_ws_create(<fg_tape*>self.ptr, self._k, &ws) != FG_OK:
        raise MemoryError("cannot allocate a tape workspace")
    return ws

cdef inline void _release(Tape self, fg_tape_ws *ws) noexcept:
    if self._npool < FG_POOL:
        self._pool[self._npool] = ws
        self._npool += 1
    else:
        fg_tape_ws_free(ws)

cdef inline const double *_input(Tape self, object x, str name, list keep) except NULL:
    """Data pointer of x (float64, C-contiguous, the traced shape); a
    converted copy (kept alive in `keep`) for other real array-likes."""
    cdef cnp.ndarray a
    cdef int j
    if cnp.PyArray_Check(x):
        a = <cnp.ndarray>x
        if (cnp.PyArray_TYPE(a) == cnp.NPY_DOUBLE and cnp.PyArray_IS_C_CONTIGUOUS(a)
                and cnp.PyArray_NDIM(a) == self._ndim):
            for j in range(self._ndim):
                if cnp.PyArray_DIM(a, j) != self._shape[j]:
                    break
            else:
                return <const double*>cnp.PyArray_DATA(a)
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {a.dtype}")
    if (<object>a).shape != self.shape:
        raise ValueError(f"{name} has shape {(<object>a).shape}, but the function was "
                         f"compiled for shape {self.shape}")
    a = np.ascontiguousarray(a, dtype=np.float64)
    keep.append(a)
    return <const double*>cnp.PyArray_DATA(a)


cdef cnp.ndarray _value_grad(Tape self, object x, bint reverse, double *value):
    """The gradient array (new, x's shape); *value = f(x)."""
    cdef list keep = []
    cdef const double *xp = _input(self, x, "x", keep)
    cdef cnp.ndarray g = cnp.PyArray_EMPTY(self._ndim, <cnp.npy_intp*>self._shape,
                                           cnp.NPY_DOUBLE, 0)
    cdef double *gp = <double*>cnp.PyArray_DATA(g)
    cdef fg_tape_ws *ws = _acquire(self)
    if reverse:
        if self._total >= FG_GIL_THRESHOLD:
            with nogil:
                fg_tape_value_grad_reverse_f64(<fg_tape*>self.ptr, ws, xp, value, gp)
        else:
            fg_tape_value_grad_reverse_f64(<fg_tape*>self.ptr, ws, xp, value, gp)
    elif self._total * self._n >= FG_GIL_THRESHOLD:
        with nogil:
            fg_tape_value_grad_f64(<fg_tape*>self.ptr, ws, xp, value, gp)
    else:
        fg_tape_value_grad_f64(<fg_tape*>self.ptr, ws, xp, value, gp)
    _release(self, ws)
    return g


cdef class Tape:
    """A validated tape in C plus a pool of workspaces (private; see compiled.py).

    Tape(slot_size, slot_kind, slot_const_off, const_pool, index_pool, instr,
    scale, shape, chunk): int64/int32/float64 arrays as built by the tracer;
    ``instr`` is (n_instr, 16) int64 with the fg_tape_instr integer fields in
    declaration order, ``scale`` the SUM factors.
    """

    def __cinit__(self, slot_size, slot_kind, slot_const_off, const_pool, index_pool, instr,
                  scale, shape, size_t chunk):
        cdef cnp.ndarray[int64_t, ndim=1, mode="c"] ss = np.ascontiguousarray(slot_size, np.int64)
        cdef cnp.ndarray[int32_t, ndim=1, mode="c"] sk = np.ascontiguousarray(slot_kind, np.int32)
        cdef cnp.ndarray[int64_t, ndim=1, mode="c"] so = np.ascontiguousarray(slot_const_off, np.int64)
        cdef cnp.ndarray[double, ndim=1, mode="c"] cp = np.ascontiguousarray(const_pool, np.float64)
        cdef cnp.ndarray[int64_t, ndim=1, mode="c"] ip = np.ascontiguousarray(index_pool, np.int64)
        cdef cnp.ndarray[int64_t, ndim=2, mode="c"] ins = np.ascontiguousarray(instr, np.int64).reshape(-1, FG_INSTR_COLS)
        cdef cnp.ndarray[double, ndim=1, mode="c"] sc = np.ascontiguousarray(scale, np.float64)
        cdef Py_ssize_t m = ins.shape[0], j
        if sk.shape[0] != ss.shape[0] or so.shape[0] != ss.shape[0] or sc.shape[0] != m:
            raise ValueError("tape arrays disagree in length")
        shape = tuple(int(d) for d in shape)
        if len(shape) > 8:
            raise ValueError("x may have at most 8 dimensions")
        self.shape = shape
        self._ndim = len(shape)
        for j in range(self._ndim):
            self._shape[j] = shape[j]
        cdef fg_tape_instr *code = <fg_tape_instr*>malloc(max(m, 1) * sizeof(fg_tape_instr))
        if code == NULL:
            raise MemoryError()
        for j in range(m):
            code[j].code = <int32_t>ins[j, 0]; code[j].op = <int32_t>ins[j, 1]
            code[j].out = <int32_t>ins[j, 2]; code[j].a = <int32_t>ins[j, 3]
            code[j].b = <int32_t>ins[j, 4]; code[j].c = <int32_t>ins[j, 5]
            code[j].a_off = ins[j, 6]; code[j].b_off = ins[j, 7]; code[j].c_off = ins[j, 8]
            code[j].sa = <int32_t>ins[j, 9]; code[j].sb = <int32_t>ins[j, 10]
            code[j].sc = <int32_t>ins[j, 11]; code[j].n = ins[j, 12]
            code[j].p0 = ins[j, 13]; code[j].p1 = ins[j, 14]; code[j].p2 = ins[j, 15]
            code[j].scale = sc[j]
        cdef fg_tape_spec spec
        spec.n_slots = ss.shape[0]
        spec.slot_size = &ss[0] if ss.shape[0] else NULL
        spec.slot_kind = &sk[0] if sk.shape[0] else NULL
        spec.slot_const_off = &so[0] if so.shape[0] else NULL
        spec.const_pool = &cp[0] if cp.shape[0] else NULL
        spec.n_const = cp.shape[0]
        spec.index_pool = &ip[0] if ip.shape[0] else NULL
        spec.n_index = ip.shape[0]
        spec.instr = code
        spec.n_instr = m
        cdef fg_tape *t = NULL
        cdef fg_status st = fg_tape_create(&spec, &t)
        free(code)
        if st != FG_OK:
            raise_status(st, "invalid tape")
        self.ptr = t
        self._n = fg_tape_input_size(t)
        if self._n != int(np.prod(shape, dtype=np.int64)):
            raise ValueError("tape input size disagrees with shape")
        self._k = min(max(chunk, 1), self._n)
        self._total = fg_tape_total_size(t)
        self._npool = 0

    def __dealloc__(self):
        cdef int i
        for i in range(self._npool):
            fg_tape_ws_free(<fg_tape_ws*>self._pool[i])
        self._npool = 0
        if self.ptr != NULL:
            fg_tape_free(<fg_tape*>self.ptr)
            self.ptr = NULL

    @property
    def n(self):
        """Length of the input x."""
        return self._n

    @property
    def chunk(self):
        """Tangent directions carried per dual pass."""
        return self._k

    @property
    def instr_count(self):
        return fg_tape_instr_count(<fg_tape*>self.ptr)

    def eval(self, x):
        """f(x) as a float."""
        cdef list keep = []
        cdef const double *xp = _input(self, x, "x", keep)
        cdef fg_tape_ws *ws = _acquire(self)
        cdef double value = 0.0
        if self._total >= FG_GIL_THRESHOLD:
            with nogil:
                fg_tape_eval_f64(<fg_tape*>self.ptr, ws, xp, &value)
        else:
            fg_tape_eval_f64(<fg_tape*>self.ptr, ws, xp, &value)
        _release(self, ws)
        return value

    def value_grad(self, x, bint reverse=False):
        """(f(x), grad f(x)) by dual numbers (reverse=True: by the adjoint
        sweep); the gradient has x's shape."""
        cdef double value = 0.0
        g = _value_grad(self, x, reverse, &value)
        return value, g

    def grad(self, x, bint reverse=False):
        """grad f(x), shaped like x."""
        cdef double value = 0.0
        return _value_grad(self, x, reverse, &value)

    def jvp(self, x, v):
        """(f(x), grad f(x) . v) from one dual pass."""
        cdef list keep = []
        cdef const double *xp = _input(self, x, "x", keep)
        cdef const double *vp = _input(self, v, "v", keep)
        cdef fg_tape_ws *ws = _acquire(self)
        cdef double value = 0.0, jv = 0.0
        if self._total >= FG_GIL_THRESHOLD:
            with nogil:
                fg_tape_jvp_f64(<fg_tape*>self.ptr, ws, xp, vp, &value, &jv)
        else:
            fg_tape_jvp_f64(<fg_tape*>self.ptr, ws, xp, vp, &value, &jv)
        _release(self, ws)
        return value, jv

    def hvp(self, x, v):
        """(f(x), grad f(x), H(x) v) from one dual pass and one
        differentiated adjoint sweep."""
        cdef list keep = []
        cdef const double *xp = _input(self, x, "x", keep)
        cdef const double *vp = _input(self, v, "v", keep)
        cdef cnp.ndarray g = cnp.PyArray_EMPTY(self._ndim, <cnp.npy_intp*>self._shape,
                                               cnp.NPY_DOUBLE, 0)
        cdef cnp.ndarray hv = cnp.PyArray_EMPTY(self._ndim, <cnp.npy_intp*>self._shape,
                                                cnp.NPY_DOUBLE, 0)
        cdef double *gp = <double*>cnp.PyArray_DATA(g)
        cdef double *hvp = <double*>cnp.PyArray_DATA(hv)
        cdef double value = 0.0
        cdef fg_status st
        cdef fg_tape_ws *ws = _acquire(self)
        if self._total >= FG_GIL_THRESHOLD:
            with nogil:
                st = fg_tape_hvp_f64(<fg_tape*>self.ptr, ws, xp, vp, hvp, &value, gp)
        else:
            st = fg_tape_hvp_f64(<fg_tape*>self.ptr, ws, xp, vp, hvp, &value, gp)
        _release(self, ws)
        if st != FG_OK:
            raise_status(st, "hvp")
        return value, g, hv

    def hessian(self, x, bint with_grad=False, bint reverse=False):
        """The (n, n) Hessian by hyper-dual numbers (reverse=True: by
        forward-over-reverse), exact to rounding; with_grad=True: (f(x),
        grad f(x), Hessian) from the same passes."""
        cdef list keep = []
        cdef const double *xp = _input(self, x, "x", keep)
        cdef cnp.npy_intp dims[2]
        dims[0] = self._n
        dims[1] = self._n
        cdef cnp.ndarray h = cnp.PyArray_EMPTY(2, dims, cnp.NPY_DOUBLE, 0)
        cdef double *hp = <double*>cnp.PyArray_DATA(h)
        cdef cnp.ndarray g = cnp.PyArray_EMPTY(self._ndim, <cnp.npy_intp*>self._shape,
                                               cnp.NPY_DOUBLE, 0)
        cdef double *gp = <double*>cnp.PyArray_DATA(g) if with_grad else NULL
        cdef double value = 0.0
        cdef fg_status st
        cdef fg_tape_ws *ws = _acquire(self)
        with nogil:
            if reverse:
                st = fg_tape_hessian_reverse_f64(<fg_tape*>self.ptr, ws, xp, hp, &value, gp)
            else:
                st = fg_tape_hessian_f64(<fg_tape*>self.ptr, ws, xp, hp, &value, gp)
        _release(self, ws)
        if st != FG_OK:
            raise_status(st, "hessian")
        if with_grad:
            return value, g, h
        return h

    def scalar_capsule(self):
        """A fresh PyCapsule "fastgrad.scalar_callback" (fg_scalar_callback *)
        with its own workspace, freed by the capsule's destructor."""
        cdef scalar_ctx *c = <scalar_ctx*>malloc(sizeof(scalar_ctx))
        if c == NULL:
            raise MemoryError()
        c.ws = NULL
        if fg_tape_ws_create(<fg_tape*>self.ptr, self._k, &c.ws) != FG_OK:
            free(c)
            raise MemoryError("cannot allocate a tape workspace")
        c.tape = <fg_tape*>self.ptr
        c.cb.fn = scalar_fn
        c.cb.ctx = c
        c.cb.n = self._n
        c.owner = <PyObject*>self
        Py_INCREF(self)
        return PyCapsule_New(c, FG_SCALAR_CAPSULE_NAME, free_scalar_capsule)

    def objective_capsule(self, bint reverse=False, bint hess_reverse=False):
        """A fresh PyCapsule "fastgrad.objective_callback" (fg_objective_callback *):
        value_grad by dual numbers (reverse=True: by the adjoint sweep),
        hessian by hyper-dual numbers (hess_reverse=True: forward-over-reverse)."""
        cdef objective_ctx *c = <objective_ctx*>malloc(sizeof(objective_ctx))
        if c == NULL:
            raise MemoryError()
        c.ws = NULL
        if fg_tape_ws_create(<fg_tape*>self.ptr, self._k, &c.ws) != FG_OK:
            free(c)
            raise MemoryError("cannot allocate a tape workspace")
        c.tape = <fg_tape*>self.ptr
        c.reverse = reverse
        c.hess_reverse = hess_reverse
        c.cb.objective.value_grad = objective_value_grad
        c.cb.objective.hessian = objective_hessian
        c.cb.objective.ctx = c
        c.cb.n = self._n
        c.owner = <PyObject*>self
        Py_INCREF(self)
        return PyCapsule_New(c, FG_OBJECTIVE_CAPSULE_NAME, free_objective_capsule)

    def hvp_capsule(self):
        """A fresh PyCapsule "fastgrad.hvp_callback" (fg_hvp_callback *):
        Hessian-vector products by forward-over-reverse, own workspace."""
        cdef hvp_ctx *c = <hvp_ctx*>malloc(sizeof(hvp_ctx))
        if c == NULL:
            raise MemoryError()
        c.ws = NULL
        if fg_tape_ws_create(<fg_tape*>self.ptr, self._k, &c.ws) != FG_OK:
            free(c)
            raise MemoryError("cannot allocate a tape workspace")
        c.tape = <fg_tape*>self.ptr
        c.cb.fn = objective_hvp
        c.cb.ctx = c
        c.cb.n = self._n
        c.owner = <PyObject*>self
        Py_INCREF(self)
        return PyCapsule_New(c, FG_HVP_CAPSULE_NAME, free_hvp_capsule)


# ------------------------------------------------ test helpers (capsules) --

def call_scalar_capsule(capsule, x):
    """Evaluate a "fastgrad.scalar_callback" capsule at x (float64 vector),
    without the GIL, the way the finite-difference driver does."""
    cdef fg_scalar_callback *cb = <fg_scalar_callback*>PyCapsule_GetPointer(
        capsule, FG_SCALAR_CAPSULE_NAME)
    cdef cnp.ndarray a = np.ascontiguousarray(x, dtype=np.float64)
    cdef double value
    with nogil:
        value = cb.fn(<const double*>cnp.PyArray_DATA(a), cnp.PyArray_SIZE(a), cb.ctx)
    return value


def call_objective_capsule(capsule, x):
    """(value, grad, hessian) from a "fastgrad.objective_callback" capsule,
    called without the GIL, the way the minimize driver does."""
    cdef fg_objective_callback *cb = <fg_objective_callback*>PyCapsule_GetPointer(
        capsule, FG_OBJECTIVE_CAPSULE_NAME)
    cdef cnp.ndarray a = np.ascontiguousarray(x, dtype=np.float64).ravel()
    cdef size_t n = cnp.PyArray_SIZE(a)
    cdef cnp.ndarray g = np.empty(n)
    cdef cnp.ndarray h = np.empty((n, n))
    cdef double value
    cdef fg_status st1, st2
    with nogil:
        st1 = cb.objective.value_grad(<const double*>cnp.PyArray_DATA(a), n, &value,
                                      <double*>cnp.PyArray_DATA(g), cb.objective.ctx)
        st2 = cb.objective.hessian(<const double*>cnp.PyArray_DATA(a), n,
                                   <double*>cnp.PyArray_DATA(h), cb.objective.ctx)
    if st1 != FG_OK:
        raise_status(st1, "value_grad")
    if st2 != FG_OK:
        raise_status(st2, "hessian")
    return value, g, h


def repeat_eval(Tape tape, x, size_t reps, str mode="value"):
    """Run reps evaluations of the tape at x in one nogil C loop (benchmarks:
    the C cost per call without Python's call overhead). mode: "value",
    "grad" (dual), "reverse" or "hessian". Returns the last value."""
    cdef list keep = []
    cdef const double *xp = _input(tape, x, "x", keep)
    cdef fg_tape_ws *ws = _acquire(tape)
    cdef cnp.ndarray g = np.empty(tape._n * tape._n)
    cdef double *gp = <double*>cnp.PyArray_DATA(g)
    cdef double value = 0.0
    cdef size_t r
    cdef int m = {"value": 0, "grad": 1, "hessian": 2, "reverse": 3,
                  "hessian_reverse": 4}[mode]
    with nogil:
        for r in range(reps):
            if m == 0:
                fg_tape_eval_f64(<fg_tape*>tape.ptr, ws, xp, &value)
            elif m == 1:
                fg_tape_value_grad_f64(<fg_tape*>tape.ptr, ws, xp, &value, gp)
            elif m == 3:
                fg_tape_value_grad_reverse_f64(<fg_tape*>tape.ptr, ws, xp, &value, gp)
            elif m == 4:
                fg_tape_hessian_reverse_f64(<fg_tape*>tape.ptr, ws, xp, gp, &value, NULL)
            else:
                fg_tape_hessian_f64(<fg_tape*>tape.ptr, ws, xp, gp, &value, NULL)
    _release(tape, ws)
    return value
