# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: freethreading_compatible = True
"""The batch capsule of a compiled function with data inputs
("fastgrad.batch_objective", fg_batch_objective in csrc/fg_objective.h): f
and its gradient on a minibatch of any of the row counts it was prepared
for, each with the tape traced for that count and a workspace of its own;
what the stochastic minimize loop calls, without the GIL, on rows it
gathers itself."""
from cpython.pycapsule cimport PyCapsule_New, PyCapsule_GetPointer
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from libc.stdlib cimport calloc, free
from fastgrad._cstatus cimport *
from fastgrad._ctape cimport *
from fastgrad._tape cimport Tape, tape_value_grad
# -------------------------------------------------------- batch capsule --

ctypedef struct batch_ctx:
    fg_batch_objective cb      # first: the capsule's pointer is the context's
    size_t n_tapes
    size_t *rows               # [n_tapes] the row count each tape was traced for
    fg_tape **tapes            # [n_tapes]
    fg_tape_ws **ws            # [n_tapes] the capsule's own workspaces
    size_t *row_bytes          # [n_data]
    bint reverse
    PyObject *owner            # the Tapes, kept alive while the capsule lives


cdef fg_status batch_value_grad(const double *x, size_t n, const void *const *data, size_t rows,
                                double *value, double *grad, void *ctx) noexcept nogil:
    cdef batch_ctx *c = <batch_ctx*>ctx
    cdef size_t i
    if n != c.cb.n:
        return FG_ERR_SHAPE
    for i in range(c.n_tapes):
        if c.rows[i] == rows:
            return <fg_status>tape_value_grad(c.tapes[i], c.ws[i], x, data, value, grad,
                                              c.reverse)
    return FG_ERR_SHAPE


cdef void free_batch_capsule(object cap) noexcept:
    cdef batch_ctx *c = <batch_ctx*>PyCapsule_GetPointer(cap, FG_BATCH_CAPSULE_NAME)
    if c == NULL:
        return
    _free_batch(c)


cdef void _free_batch(batch_ctx *c) noexcept:
    cdef size_t i
    if c.ws != NULL:
        for i in range(c.n_tapes):
            fg_tape_ws_free(c.ws[i])
    free(c.ws)
    free(c.tapes)
    free(c.rows)
    free(c.row_bytes)
    if c.owner != NULL:
        Py_DECREF(<object>c.owner)
    free(c)


def batch_capsule(tapes, bint reverse=True):
    """A fresh PyCapsule "fastgrad.batch_objective" (fg_batch_objective *)
    over `tapes`, a sequence of (rows, Tape): the tapes of one function
    traced for those first-axis lengths of its data, each with its own
    workspace. A call with another row count returns FG_ERR_SHAPE. Gradient
    by the adjoint sweep (reverse=False: dual numbers)."""
    tapes = [(int(r), t) for r, t in tapes]
    if not tapes:
        raise ValueError("a batch capsule needs at least one row count")
    cdef Tape first = tapes[0][1]
    cdef Tape t
    cdef size_t i, j, nd = first._n_data
    if nd == 0:
        raise ValueError("a batch capsule needs a tape with data inputs")
    for r, t in tapes:
        if r < 1 or t._n != first._n or t._n_data != nd:
            raise ValueError("the tapes of a batch capsule share x and the data arrays, "
                             "with at least one row each")
        for j in range(nd):
            dtype, size = t.data_info[j]
            if (dtype != first.data_info[j][0] or size % r
                    or size // r != first.data_info[j][1] // tapes[0][0]):
                raise ValueError(f"data array {j} has a different row size in the tape for "
                                 f"{r} rows")
    cdef batch_ctx *c = <batch_ctx*>calloc(1, sizeof(batch_ctx))
    if c == NULL:
        raise MemoryError()
    c.n_tapes = len(tapes)
    c.rows = <size_t*>calloc(c.n_tapes, sizeof(size_t))
    c.tapes = <fg_tape**>calloc(c.n_tapes, sizeof(fg_tape*))
    c.ws = <fg_tape_ws**>calloc(c.n_tapes, sizeof(fg_tape_ws*))
    c.row_bytes = <size_t*>calloc(nd, sizeof(size_t))
    if c.rows == NULL or c.tapes == NULL or c.ws == NULL or c.row_bytes == NULL:
        _free_batch(c)
        raise MemoryError()
    for i in range(c.n_tapes):
        t = tapes[i][1]
        c.rows[i] = tapes[i][0]
        c.tapes[i] = <fg_tape*>t.ptr
        if fg_tape_ws_create(<fg_tape*>t.ptr, t._k, &c.ws[i]) != FG_OK:
            _free_batch(c)
            raise MemoryError("cannot allocate a tape workspace")
    for j in range(nd):
        c.row_bytes[j] = first.data_info[j][1] // tapes[0][0] * 8
    owner = [t for r, t in tapes]
    c.owner = <PyObject*>owner
    Py_INCREF(owner)
    c.reverse = reverse
    c.cb.value_grad = batch_value_grad
    c.cb.ctx = c
    c.cb.n = first._n
    c.cb.n_data = nd
    c.cb.row_bytes = c.row_bytes
    return PyCapsule_New(c, FG_BATCH_CAPSULE_NAME, free_batch_capsule)
