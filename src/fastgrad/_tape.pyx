# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: freethreading_compatible = True
"""Bindings of csrc/fg_tape*.{h,c}: the expression-tape VM behind compile().

Layers: the tracer records f as a Program (fastgrad.program: plain arrays
whose instruction layout, codes and slot kinds come from this module, read
from C); Tape hands them to fg_tape_create, which validates every field
once and copies; each call then checks x cheaply (PyArray_DATA after
type/order/shape checks), borrows a workspace from a small pool (under a
per-tape lock, so threads never share one), and runs C with the GIL released
when the work is large, long calls in parts with a Ctrl-C check between.
Inputs: x, v and the data arrays (read only). Outputs: new arrays.
"""
cimport cython
cimport numpy as cnp
from cpython.exc cimport PyErr_CheckSignals
from cpython.pycapsule cimport PyCapsule_New, PyCapsule_GetPointer
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memset
from libc.math cimport NAN
from fastgrad._cstatus cimport *
from fastgrad._ctape cimport *
from fastgrad._common cimport raise_status, FG_GIL_THRESHOLD
from fastgrad._poll cimport now_seconds
from fastgrad._cblas cimport fg_blas, FG_BLAS_MIN_WORK
from fastgrad._blas cimport scipy_blas


import math

import numpy as np

cnp.import_array()

cdef enum:
    FG_POOL = 8                # idle workspaces kept per tape


# ------------------------------------------------- the tape's name tables --

cdef dict _names(const fg_tape_name *(*table)(size_t *) noexcept nogil):
    cdef size_t count = 0
    cdef const fg_tape_name *rows = table(&count)
    return {rows[i].name.decode(): rows[i].value for i in range(count)}

CODES = _names(fg_tape_code_table)
"""Instruction code by name ("UNARY", ..., "CUMSUM"), from csrc/fg_tape.h."""
SLOT_KINDS = _names(fg_tape_slot_kind_table)
"""Slot kind by name ("INPUT", "CONST", "COMPUTED", "DATA", "DATA_INT"), from
csrc/fg_tape.h."""
globals().update({f"TI_{name}": code for name, code in CODES.items()})
globals().update({f"SLOT_{name}": kind for name, kind in SLOT_KINDS.items()})


cdef object _instr_dtype():
    cdef size_t count = 0, size = 0
    cdef const fg_tape_field *f = fg_tape_instr_fields(&count, &size)
    return np.dtype({"names": [f[i].name.decode() for i in range(count)],
                     "formats": [f"={chr(f[i].kind)}{f[i].size}" for i in range(count)],
                     "offsets": [f[i].offset for i in range(count)],
                     "itemsize": size})

INSTR_DTYPE = _instr_dtype()
"""The C struct fg_tape_instr as a NumPy structured dtype (field names,
offsets and types from csrc/fg_tape.h): an array of it is the C array."""


# ------------------------------------------------------ embedding exports --

cdef void *tape_ws_create(void *tape, size_t k) noexcept nogil:
    cdef fg_tape_ws *ws = NULL
    if fg_tape_ws_create(<fg_tape*>tape, k, &ws) != FG_OK:
        return NULL
    return ws

cdef void tape_ws_free(void *ws) noexcept nogil:
    fg_tape_ws_free(<fg_tape_ws*>ws)

cdef int tape_eval_f64(void *tape, void *ws, const double *x, const void *const *data,
                       double *value) noexcept nogil:
    return fg_tape_eval_f64(<fg_tape*>tape, <fg_tape_ws*>ws, x, data, value)

cdef int tape_value_grad_f64(void *tape, void *ws, const double *x, const void *const *data,
                             double *value, double *grad) noexcept nogil:
    return fg_tape_value_grad_f64(<fg_tape*>tape, <fg_tape_ws*>ws, x, data, value, grad)

cdef int tape_value_grad_reverse_f64(void *tape, void *ws, const double *x,
                                     const void *const *data, double *value,
                                     double *grad) noexcept nogil:
    return fg_tape_value_grad_reverse_f64(<fg_tape*>tape, <fg_tape_ws*>ws, x, data, value, grad)

cdef int tape_jvp_f64(void *tape, void *ws, const double *x, const void *const *data,
                      const double *v, double *value, double *jv) noexcept nogil:
    return fg_tape_jvp_f64(<fg_tape*>tape, <fg_tape_ws*>ws, x, data, v, value, jv)

cdef int tape_hessian_f64(void *tape, void *ws, const double *x, const void *const *data,
                          double *hess) noexcept nogil:
    return fg_tape_hessian_f64(<fg_tape*>tape, <fg_tape_ws*>ws, x, data, hess, NULL, NULL)

cdef int tape_hessian_reverse_f64(void *tape, void *ws, const double *x,
                                  const void *const *data, double *hess) noexcept nogil:
    return fg_tape_hessian_reverse_f64(<fg_tape*>tape, <fg_tape_ws*>ws, x, data, hess, NULL,
                                       NULL)

cdef int tape_hvp_f64(void *tape, void *ws, const double *x, const void *const *data,
                      const double *v, double *hv) noexcept nogil:
    return fg_tape_hvp_f64(<fg_tape*>tape, <fg_tape_ws*>ws, x, data, v, hv, NULL, NULL)


# ------------------------------------------------------------- capsules --

ctypedef struct tape_ref:
    fg_tape *tape
    fg_tape_ws *ws             # the capsule's own workspace
    PyObject *owner            # the Tape, kept alive while the capsule lives
    const void **data          # the data pointers the capsule binds (malloc'ed)
    PyObject *data_owner       # the arrays they point into, kept alive likewise

ctypedef struct scalar_ctx:
    fg_scalar_callback cb      # first: the capsule's pointer is the context's
    tape_ref ref

ctypedef struct objective_ctx:
    fg_objective_callback cb
    tape_ref ref
    bint reverse               # gradient by the adjoint sweep instead of dual passes
    bint hess_reverse          # Hessian by forward-over-reverse instead of hyper-duals


cdef double scalar_fn(const double *x, size_t n, void *ctx) noexcept nogil:
    cdef scalar_ctx *c = <scalar_ctx*>ctx
    cdef double value
    if n != c.cb.n or fg_tape_eval_f64(c.ref.tape, c.ref.ws, x, c.ref.data, &value) != FG_OK:
        return NAN
    return value

cdef fg_status objective_value_grad(const double *x, size_t n, double *value, double *grad,
                                    void *ctx) noexcept nogil:
    cdef objective_ctx *c = <objective_ctx*>ctx
    if n != c.cb.n:
        return FG_ERR_SHAPE
    return <fg_status>tape_value_grad(c.ref.tape, c.ref.ws, x, c.ref.data, value, grad,
                                      c.reverse)

cdef fg_status objective_hessian(const double *x, size_t n, double *hess,
                                 void *ctx) noexcept nogil:
    cdef objective_ctx *c = <objective_ctx*>ctx
    if n != c.cb.n:
        return FG_ERR_SHAPE
    if c.hess_reverse:
        return fg_tape_hessian_reverse_f64(c.ref.tape, c.ref.ws, x, c.ref.data, hess, NULL, NULL)
    return fg_tape_hessian_f64(c.ref.tape, c.ref.ws, x, c.ref.data, hess, NULL, NULL)

ctypedef struct hvp_ctx:
    fg_hvp_callback cb
    tape_ref ref


cdef fg_status objective_hvp(const double *x, const double *v, size_t n, double *hv,
                             void *ctx) noexcept nogil:
    cdef hvp_ctx *c = <hvp_ctx*>ctx
    if n != c.cb.n:
        return FG_ERR_SHAPE
    return fg_tape_hvp_f64(c.ref.tape, c.ref.ws, x, c.ref.data, v, hv, NULL, NULL)


cdef int tape_value_grad(void *t, void *ws, const double *x, const void *const *data,
                         double *value, double *grad, bint reverse) noexcept nogil:
    """value (grad NULL) or value and gradient, by the adjoint sweep or dual
    numbers: what the objective and batch capsules compute."""
    if grad == NULL:
        return fg_tape_eval_f64(<fg_tape*>t, <fg_tape_ws*>ws, x, data, value)
    if reverse:
        return fg_tape_value_grad_reverse_f64(<fg_tape*>t, <fg_tape_ws*>ws, x, data, value, grad)
    return fg_tape_value_grad_f64(<fg_tape*>t, <fg_tape_ws*>ws, x, data, value, grad)


cdef int bind(object tape, void *ctx, tape_ref *ref, object data) except -1:
    """Point a fresh capsule context (malloc'ed, holding *ref) at `tape`: its
    own workspace, a reference to the Tape, and the data arrays `data`
    (checked as every call checks them). Frees ctx and raises on failure."""
    cdef list keep = []
    ref.ws = NULL
    ref.data = NULL
    cdef const void **ptrs
    try:
        ptrs = _data(<Tape>tape, data, keep)
        ref.data = <const void**>malloc(max((<Tape>tape)._n_data, 1) * sizeof(void*))
        if ref.data == NULL:
            raise MemoryError()
        for j in range((<Tape>tape)._n_data):
            ref.data[j] = ptrs[j]
        if fg_tape_ws_create(<fg_tape*>(<Tape>tape).ptr, (<Tape>tape)._k, &ref.ws) != FG_OK:
            raise MemoryError("cannot allocate a tape workspace")
    except BaseException:
        free(ref.data)
        free(ctx)
        raise
    keep = keep[1:]            # the arrays (keep[0] is the pointer table)
    ref.tape = <fg_tape*>(<Tape>tape).ptr
    ref.owner = <PyObject*>tape
    ref.data_owner = <PyObject*>keep
    Py_INCREF(tape)
    Py_INCREF(keep)
    return 0


cdef void unbind(void *ctx, tape_ref *ref) noexcept:
    """A capsule's destructor: the workspace, the references, ctx."""
    fg_tape_ws_free(ref.ws)
    free(ref.data)
    Py_DECREF(<object>ref.owner)
    Py_DECREF(<object>ref.data_owner)
    free(ctx)


ctypedef fused capsule_ctx:
    scalar_ctx
    objective_ctx
    hvp_ctx


cdef object make_capsule(object tape, capsule_ctx proto, object data):
    """The capsule of proto's kind around a malloc'ed copy of proto (its
    callback functions and flags set): the callback's ctx and n filled in,
    its tape_ref bound to `tape` and `data` (see bind), undone by the
    capsule's destructor."""
    cdef capsule_ctx *c = <capsule_ctx*>malloc(sizeof(capsule_ctx))
    if c == NULL:
        raise MemoryError()
    c[0] = proto
    bind(tape, c, &c.ref, data)
    c.cb.n = (<Tape>tape)._n
    if capsule_ctx is objective_ctx:
        c.cb.objective.ctx = c
        return PyCapsule_New(c, FG_OBJECTIVE_CAPSULE_NAME, free_objective_capsule)
    elif capsule_ctx is scalar_ctx:
        c.cb.ctx = c
        return PyCapsule_New(c, FG_SCALAR_CAPSULE_NAME, free_scalar_capsule)
    else:
        c.cb.ctx = c
        return PyCapsule_New(c, FG_HVP_CAPSULE_NAME, free_hvp_capsule)


cdef void free_hvp_capsule(object cap) noexcept:
    cdef hvp_ctx *c = <hvp_ctx*>PyCapsule_GetPointer(cap, FG_HVP_CAPSULE_NAME)
    if c != NULL:
        unbind(c, &c.ref)

cdef void free_scalar_capsule(object cap) noexcept:
    cdef scalar_ctx *c = <scalar_ctx*>PyCapsule_GetPointer(cap, FG_SCALAR_CAPSULE_NAME)
    if c != NULL:
        unbind(c, &c.ref)

cdef void free_objective_capsule(object cap) noexcept:
    cdef objective_ctx *c = <objective_ctx*>PyCapsule_GetPointer(cap, FG_OBJECTIVE_CAPSULE_NAME)
    if c != NULL:
        unbind(c, &c.ref)


# ----------------------------------------------------------------- Tape --

# -- workspaces: pop and push happen under the tape's lock (the GIL, or a
#    per-object lock without it), so two threads never get the same
#    workspace; the C work itself may then run without the GIL.
cdef inline fg_tape_ws *_acquire(Tape self) except NULL:
    cdef fg_tape_ws *ws = NULL
    with cython.critical_section(self):
        if self._npool > 0:
            self._npool -= 1
            ws = <fg_tape_ws*>self._pool[self._npool]
    if ws == NULL and fg_tape_ws_create(<fg_tape*>self.ptr, self._k, &ws) != FG_OK:
        raise MemoryError("cannot allocate a tape workspace")
    return ws

cdef inline void _release(Tape self, fg_tape_ws *ws) noexcept:
    with cython.critical_section(self):
        if self._npool < FG_POOL:
            self._pool[self._npool] = ws
            self._npool += 1
            ws = NULL
    fg_tape_ws_free(ws)

# The table of a tape without data inputs: C reads no entry of it, but the
# pointer must not be NULL (NULL is _data's error return).
cdef const void *_NO_DATA[1]


cdef const void **_data(Tape self, object data, list keep) except NULL:
    """The table of data pointers for C (kept alive as keep[0]), from a
    sequence of arrays exactly of the tape's data slots: float64 (DATA) or
    int64 (DATA_INT), native byte order, C-contiguous, of the slot's element
    count; the arrays are appended to keep. Conversions and messages that
    name the user's arguments belong to the caller (fastgrad.compiled)."""
    if data is None:
        data = ()
    if len(data) != self._n_data:
        raise ValueError(f"the tape takes {self._n_data} data arrays, got {len(data)}")
    if self._n_data == 0:
        return _NO_DATA       # the common case costs no allocation
    cdef cnp.npy_intp count = self._n_data
    cdef cnp.ndarray table = cnp.PyArray_ZEROS(1, &count, cnp.NPY_UINTP, 0)
    cdef size_t *p = <size_t*>cnp.PyArray_DATA(table)
    cdef cnp.ndarray a
    cdef Py_ssize_t j
    keep.append(table)
    for j in range(self._n_data):
        dtype, size = self.data_info[j]
        a = data[j] if cnp.PyArray_Check(data[j]) else None
        if (a is None or a.dtype != dtype or not cnp.PyArray_ISNOTSWAPPED(a)
                or not cnp.PyArray_IS_C_CONTIGUOUS(a) or a.size != size):
            raise ValueError(f"data[{j}] must be a C-contiguous array of {size} {dtype} "
                             f"values in native byte order")
        keep.append(a)
        p[j] = <size_t>cnp.PyArray_DATA(a)
    return <const void**>p


cdef inline const double *_input(Tape self, object x, str name, list keep) except NULL:
    """Data pointer of x (float64 in native byte order, C-contiguous, the
    traced shape); a converted copy (kept alive in `keep`) for any other
    array-like of real numbers."""
    cdef cnp.ndarray a
    cdef int j
    if cnp.PyArray_Check(x):
        a = <cnp.ndarray>x
        if (cnp.PyArray_TYPE(a) == cnp.NPY_DOUBLE and cnp.PyArray_ISNOTSWAPPED(a)
                and cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_NDIM(a) == self._ndim):
            for j in range(self._ndim):
                if cnp.PyArray_DIM(a, j) != self._shape[j]:
                    break
            else:
                return <const double*>cnp.PyArray_DATA(a)
    a = np.asarray(x)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {a.dtype}")
    if (<object>a).shape != self.shape:
        raise ValueError(f"{name} has shape {(<object>a).shape}, but the function was "
                         f"compiled for shape {self.shape}")
    a = np.ascontiguousarray(a, dtype=np.float64)   # native order: float64 is '=f8'
    keep.append(a)
    return <const double*>cnp.PyArray_DATA(a)


# -- long calls in parts: the O(n) dual passes of a gradient and the
#    O(n) / O(n^2) passes of a Hessian run in ranges of columns, sized so
#    that each takes about FG_PART_SECONDS, with a check for signals
#    (Ctrl-C) between them. Parts start at multiples of the chunk k, so the
#    numbers are those of one whole call.
cdef double FG_PART_SECONDS = 0.05
cdef double FG_PART_WORK = 1 << 20    # below this (slot elements times
                                      # directions), one call, no timing

cdef enum Part:
    PART_GRAD = 0              # fg_tape_value_grad_part_f64
    PART_HESS_HYPER = 1        # fg_tape_hessian_part_f64, hyper-dual
    PART_HESS_REVERSE = 2      # fg_tape_hessian_part_f64, forward-over-reverse

cdef inline fg_status _part(Tape self, fg_tape_ws *ws, Part what, const double *xp,
                            const void *const *dp, size_t j0, size_t j1, double *out,
                            double *value, double *grad) noexcept nogil:
    if what == PART_GRAD:
        return fg_tape_value_grad_part_f64(<fg_tape*>self.ptr, ws, xp, dp, j0, j1, value, out)
    return fg_tape_hessian_part_f64(<fg_tape*>self.ptr, ws, xp, dp, j0, j1,
                                    what == PART_HESS_REVERSE, out, value, grad)

cdef int _in_parts(Tape self, fg_tape_ws *ws, Part what, const double *xp,
                   const void *const *dp, double *out, double *value, double *grad) except -1:
    """Run `what` over all n columns; the fg_status (>= 0), or -1 with
    KeyboardInterrupt raised."""
    cdef size_t n = self._n, k = self._k, j = 0, j1, step
    cdef fg_status st
    cdef double t0, dt
    # passes of the whole call, each carrying k directions over every slot
    # (the hyper-dual Hessian's grow with the column; forward-over-reverse
    # is a dual pass and a sweep about twice its cost)
    cdef double passes = <double>n / k if what == PART_GRAD else (
        <double>n * n / (2.0 * k) if what == PART_HESS_HYPER else 3.0 * n / k)
    cdef double work = passes * self._total * k
    if work < FG_PART_WORK:
        if work < FG_GIL_THRESHOLD:
            return _part(self, ws, what, xp, dp, 0, n, out, value, grad)
        with nogil:
            st = _part(self, ws, what, xp, dp, 0, n, out, value, grad)
        return st
    step = k
    while True:
        j1 = min(n, j + step)
        t0 = now_seconds()
        with nogil:
            st = _part(self, ws, what, xp, dp, j, j1, out, value, grad)
        dt = now_seconds() - t0
        if st != FG_OK or j1 == n:
            return st
        PyErr_CheckSignals()   # raises KeyboardInterrupt (or the handler's error)
        # the next part: about FG_PART_SECONDS, growing at most fourfold
        step = <size_t>min(4.0 * step, step * FG_PART_SECONDS / max(dt, 1e-7))
        step = max(k, step // k * k)
        j = j1


cdef int _touch_in_parts(double *p, size_t count) except -1:
    """Write zeros over a large new output in parts, with a Ctrl-C check
    between them: its first touch (the OS mapping its pages, seconds for a
    gigabyte) is then interruptible too, not hidden in the first part."""
    cdef size_t i = 0, step = 1 << 18, end
    cdef double t0, dt
    if count * sizeof(double) < (64 << 20):
        return 0
    while i < count:
        end = min(count, i + step)
        t0 = now_seconds()
        with nogil:
            memset(p + i, 0, (end - i) * sizeof(double))
        dt = now_seconds() - t0
        PyErr_CheckSignals()
        step = <size_t>min(4.0 * step, step * FG_PART_SECONDS / max(dt, 1e-7))
        i = end
    return 0


cdef cnp.ndarray _value_grad(Tape self, object x, object data, bint reverse, double *value):
    """The gradient array (new, x's shape); *value = f(x)."""
    cdef list keep = []
    cdef const double *xp = _input(self, x, "x", keep)
    cdef const void **dp = _data(self, data, keep)
    cdef fg_status st
    cdef cnp.ndarray g = cnp.PyArray_EMPTY(self._ndim, <cnp.npy_intp*>self._shape,
                                           cnp.NPY_DOUBLE, 0)
    cdef double *gp = <double*>cnp.PyArray_DATA(g)
    cdef fg_tape_ws *ws = _acquire(self)
    try:
        if not reverse:
            st = <fg_status>_in_parts(self, ws, PART_GRAD, xp, dp, gp, value, NULL)
        elif self._total >= FG_GIL_THRESHOLD:
            with nogil:
                st = fg_tape_value_grad_reverse_f64(<fg_tape*>self.ptr, ws, xp, dp, value, gp)
        else:
            st = fg_tape_value_grad_reverse_f64(<fg_tape*>self.ptr, ws, xp, dp, value, gp)
    finally:
        _release(self, ws)
    if st != FG_OK:
        raise_status(st, "gradient")
    return g


cdef cnp.ndarray _int_array(object values, object dtype, str name):
    """A 1-D C-contiguous array of `dtype` from integers that fit it (never
    truncated or wrapped)."""
    cdef cnp.ndarray a = np.asarray(values)
    if a.ndim != 1 or (a.dtype.kind not in "iu" and a.size):
        raise TypeError(f"invalid tape: {name} must be a 1-D array of integers, "
                        f"got {a.dtype} of shape {(<object>a).shape}")
    if a.dtype == dtype and cnp.PyArray_IS_C_CONTIGUOUS(a):
        return a   # its values fit its own dtype: nothing to check or copy
    if a.size:
        info = np.iinfo(dtype)
        if int(a.min()) < info.min or int(a.max()) > info.max:
            raise ValueError(f"invalid tape: {name} holds values outside {np.dtype(dtype)}")
    return np.ascontiguousarray(a, dtype=dtype)


cdef str _problem(const fg_tape_spec *spec, fg_status st):
    """Where fg_tape_create found the spec invalid, in words."""
    cdef fg_tape_problem where
    if fg_tape_check(spec, &where) == FG_OK:
        return fg_status_message(st).decode()
    text = where.what.decode()
    if where.instr >= 0:
        code = int((<const int32_t*>&spec.instr[where.instr])[0])
        name = next((k for k, v in CODES.items() if v == code), str(code))
        text = f"instruction {where.instr} ({name}): {text}"
    if where.slot >= 0:
        text += f" (slot {where.slot})"
    return text


cdef class Tape:
    """A validated tape in C plus a pool of workspaces (private; see
    fastgrad.program).

    Tape(slot_size, slot_kind, slot_const_off, const_pool, index_pool, instr,
    shape, chunk, blas=True, blas_min_work=None): the arrays of
    ``Program.arrays()``; ``instr`` is a 1-D array of INSTR_DTYPE, handed to
    C as it is. Any invalid field raises ValueError (TypeError for arrays of
    the wrong kind) before C reads it. Matrix products run through SciPy's
    BLAS (``fastgrad._blas``) when ``blas`` is true and they have at least
    ``blas_min_work`` multiply-adds (None: ``fastgrad._blas.MIN_WORK``),
    else through fastgrad's own loops.
    """

    def __cinit__(self, slot_size, slot_kind, slot_const_off, const_pool, index_pool, instr,
                  shape, size_t chunk, bint blas=True, blas_min_work=None):
        cdef cnp.ndarray ss = _int_array(slot_size, np.int64, "slot_size")
        cdef cnp.ndarray sk = _int_array(slot_kind, np.int32, "slot_kind")
        cdef cnp.ndarray so = _int_array(slot_const_off, np.int64, "slot_const_off")
        cdef cnp.ndarray ip = _int_array(index_pool, np.int64, "index_pool")
        cdef cnp.ndarray cp = np.asarray(const_pool)
        if cp.ndim != 1 or cp.dtype.kind not in "iuf":
            raise TypeError("invalid tape: const_pool must be a 1-D array of real numbers")
        cp = np.ascontiguousarray(cp, dtype=np.float64)
        if (not isinstance(instr, np.ndarray) or instr.dtype != INSTR_DTYPE
                or instr.ndim != 1):
            raise TypeError("invalid tape: instr must be a 1-D array of INSTR_DTYPE")
        cdef cnp.ndarray ins = np.ascontiguousarray(instr)
        if sk.shape[0] != ss.shape[0] or so.shape[0] != ss.shape[0]:
            raise ValueError("invalid tape: slot arrays disagree in length")
        try:
            shape = tuple(int(d) for d in shape)
        except TypeError:
            raise TypeError(f"shape must be a tuple of ints, got {shape!r}") from None
        if len(shape) > 8 or any(d < 0 for d in shape):
            raise ValueError(f"shape must have at most 8 non-negative lengths, got {shape}")
        cdef Py_ssize_t j
        self.shape = shape
        self._ndim = len(shape)
        for j in range(self._ndim):
            self._shape[j] = shape[j]
        cdef fg_blas routines
        if blas:
            if blas_min_work is None:
                blas_min_work = FG_BLAS_MIN_WORK
            if isinstance(blas_min_work, bool) or not isinstance(blas_min_work, int) \
                    or blas_min_work < 0:
                raise ValueError(f"blas_min_work must be a non-negative int, "
                                 f"got {blas_min_work!r}")
            routines = scipy_blas(min(blas_min_work, 2**62))
        cdef fg_tape_spec spec
        spec.blas = &routines if blas else NULL
        spec.n_slots = ss.shape[0]
        spec.slot_size = <const int64_t*>cnp.PyArray_DATA(ss)
        spec.slot_kind = <const int32_t*>cnp.PyArray_DATA(sk)
        spec.slot_const_off = <const int64_t*>cnp.PyArray_DATA(so)
        spec.const_pool = <const double*>cnp.PyArray_DATA(cp)
        spec.n_const = cp.shape[0]
        spec.index_pool = <const int64_t*>cnp.PyArray_DATA(ip)
        spec.n_index = ip.shape[0]
        spec.instr = <const fg_tape_instr*>cnp.PyArray_DATA(ins)
        spec.n_instr = ins.shape[0]
        cdef fg_tape *t = NULL
        cdef fg_status st = fg_tape_create(&spec, &t)
        if st == FG_ERR_NOMEM:
            raise MemoryError("cannot allocate the tape")
        if st != FG_OK:
            raise ValueError(f"invalid tape: {_problem(&spec, st)}")
        self.ptr = t
        self._n = fg_tape_input_size(t)
        if self._n != math.prod(shape):
            raise ValueError("invalid tape: its input size disagrees with shape")
        self._k = min(max(chunk, 1), self._n)
        self._total = fg_tape_total_size(t)
        self._npool = 0
        self._n_data = fg_tape_data_count(t)
        cdef int32_t kind = 0
        cdef size_t size = 0
        info = []
        for j in range(<Py_ssize_t>self._n_data):
            fg_tape_data_info(t, j, &kind, &size)
            info.append((np.dtype(np.int64 if kind == SLOT_KINDS["DATA_INT"] else np.float64),
                         size))
        self.data_info = tuple(info)

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
    def n_data(self):
        """The number of data arrays each call binds."""
        return self._n_data

    def eval(self, x, data=None):
        """f(x) as a float (data: the data arrays, see _data)."""
        cdef list keep = []
        cdef const double *xp = _input(self, x, "x", keep)
        cdef const void **dp = _data(self, data, keep)
        cdef fg_tape_ws *ws = _acquire(self)
        cdef double value = 0.0
        cdef fg_status st
        if self._total >= FG_GIL_THRESHOLD:
            with nogil:
                st = fg_tape_eval_f64(<fg_tape*>self.ptr, ws, xp, dp, &value)
        else:
            st = fg_tape_eval_f64(<fg_tape*>self.ptr, ws, xp, dp, &value)
        _release(self, ws)
        if st != FG_OK:
            raise_status(st, "evaluation")
        return value

    def value_grad(self, x, bint reverse=False, data=None):
        """(f(x), grad f(x)) by dual numbers (reverse=True: by the adjoint
        sweep); the gradient has x's shape."""
        cdef double value = 0.0
        g = _value_grad(self, x, data, reverse, &value)
        return value, g

    def grad(self, x, bint reverse=False, data=None):
        """grad f(x), shaped like x."""
        cdef double value = 0.0
        return _value_grad(self, x, data, reverse, &value)

    def grad_at(self, vals):
        """grad f(x), shaped like x, by the adjoint sweep alone over values
        already computed (fg_tape_grad_at_f64): vals holds, for every slot
        in order, a C-contiguous float64 array of its values (vals[0] is x).
        The arrays are read only; the C function checks their sizes."""
        cdef tuple keep = tuple(vals)      # every array C reads stays alive
        cdef Py_ssize_t ns = len(keep), s
        cdef cnp.ndarray a
        cdef const double **ptrs = <const double**>malloc((ns + 1) * sizeof(double*))
        cdef int64_t *counts = <int64_t*>malloc((ns + 1) * sizeof(int64_t))
        cdef cnp.ndarray g = cnp.PyArray_EMPTY(self._ndim, <cnp.npy_intp*>self._shape,
                                               cnp.NPY_DOUBLE, 0)
        cdef fg_tape_ws *ws = NULL
        cdef fg_status st
        try:
            if ptrs == NULL or counts == NULL:
                raise MemoryError()
            for s in range(ns):
                v = keep[s]
                if not (cnp.PyArray_Check(v) and cnp.PyArray_TYPE(<cnp.ndarray>v) == cnp.NPY_DOUBLE
                        and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>v)
                        and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>v)):
                    raise TypeError(f"vals[{s}] must be a C-contiguous float64 array")
                a = <cnp.ndarray>v
                ptrs[s] = <const double*>cnp.PyArray_DATA(a)
                counts[s] = cnp.PyArray_SIZE(a)
            ws = _acquire(self)
            if self._total >= FG_GIL_THRESHOLD:
                with nogil:
                    st = fg_tape_grad_at_f64(<fg_tape*>self.ptr, ws, ns, ptrs, counts,
                                             <double*>cnp.PyArray_DATA(g))
            else:
                st = fg_tape_grad_at_f64(<fg_tape*>self.ptr, ws, ns, ptrs, counts,
                                         <double*>cnp.PyArray_DATA(g))
        finally:
            if ws != NULL:
                _release(self, ws)
            free(ptrs)
            free(counts)
        if st != FG_OK:
            raise_status(st, "grad_at")
        return g

    def jvp(self, x, v, data=None):
        """(f(x), grad f(x) . v) from one dual pass."""
        cdef list keep = []
        cdef const double *xp = _input(self, x, "x", keep)
        cdef const double *vp = _input(self, v, "v", keep)
        cdef const void **dp = _data(self, data, keep)
        cdef fg_tape_ws *ws = _acquire(self)
        cdef double value = 0.0, jv = 0.0
        cdef fg_status st
        if self._total >= FG_GIL_THRESHOLD:
            with nogil:
                st = fg_tape_jvp_f64(<fg_tape*>self.ptr, ws, xp, dp, vp, &value, &jv)
        else:
            st = fg_tape_jvp_f64(<fg_tape*>self.ptr, ws, xp, dp, vp, &value, &jv)
        _release(self, ws)
        if st != FG_OK:
            raise_status(st, "jvp")
        return value, jv

    def hvp(self, x, v, data=None):
        """(f(x), grad f(x), H(x) v) from one dual pass and one
        differentiated adjoint sweep."""
        cdef list keep = []
        cdef const double *xp = _input(self, x, "x", keep)
        cdef const double *vp = _input(self, v, "v", keep)
        cdef const void **dp = _data(self, data, keep)
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
                st = fg_tape_hvp_f64(<fg_tape*>self.ptr, ws, xp, dp, vp, hvp, &value, gp)
        else:
            st = fg_tape_hvp_f64(<fg_tape*>self.ptr, ws, xp, dp, vp, hvp, &value, gp)
        _release(self, ws)
        if st != FG_OK:
            raise_status(st, "hvp")
        return value, g, hv

    def hessian(self, x, bint with_grad=False, bint reverse=False, data=None):
        """The (n, n) Hessian by hyper-dual numbers (reverse=True: by
        forward-over-reverse), exact to rounding; with_grad=True: (f(x),
        grad f(x), Hessian) from the same passes. Interruptible (Ctrl-C)."""
        cdef list keep = []
        cdef const double *xp = _input(self, x, "x", keep)
        cdef const void **dp = _data(self, data, keep)
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
        try:
            _touch_in_parts(hp, self._n * self._n)
            st = <fg_status>_in_parts(self, ws, PART_HESS_REVERSE if reverse
                                      else PART_HESS_HYPER, xp, dp, hp, &value, gp)
        finally:
            _release(self, ws)
        if st != FG_OK:
            raise_status(st, "hessian")
        if with_grad:
            return value, g, h
        return h

    def scalar_capsule(self, data=None):
        """A fresh PyCapsule "fastgrad.scalar_callback" (fg_scalar_callback *)
        with its own workspace, freed by the capsule's destructor; it binds
        `data` (kept alive with it)."""
        cdef scalar_ctx proto
        memset(&proto, 0, sizeof(proto))
        proto.cb.fn = scalar_fn
        return make_capsule(self, proto, data)

    def objective_capsule(self, bint reverse=False, bint hess_reverse=False, data=None):
        """A fresh PyCapsule "fastgrad.objective_callback" (fg_objective_callback *):
        value_grad by dual numbers (reverse=True: by the adjoint sweep),
        hessian by hyper-dual numbers (hess_reverse=True: forward-over-reverse),
        on `data`."""
        cdef objective_ctx proto
        memset(&proto, 0, sizeof(proto))
        proto.reverse = reverse
        proto.hess_reverse = hess_reverse
        proto.cb.objective.value_grad = objective_value_grad
        proto.cb.objective.hessian = objective_hessian
        return make_capsule(self, proto, data)

    def hvp_capsule(self, data=None):
        """A fresh PyCapsule "fastgrad.hvp_callback" (fg_hvp_callback *):
        Hessian-vector products by forward-over-reverse, own workspace, on
        `data`."""
        cdef hvp_ctx proto
        memset(&proto, 0, sizeof(proto))
        proto.cb.fn = objective_hvp
        return make_capsule(self, proto, data)


