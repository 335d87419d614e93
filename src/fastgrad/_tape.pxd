# Embedding API of the tape VM (csrc/fg_tape.h) for other Cython code:
#     from fastgrad._tape cimport Tape, tape_ws_create, tape_eval_f64, ...
# The functions are fetched from fastgrad._tape.__pyx_capi__ at import, so a
# consumer needs no header, no NumPy and no link step. Pointers are opaque:
# `tape` is Tape.ptr (an fg_tape *), `ws` comes from tape_ws_create. Every
# function returns an fg_status code (0 = FG_OK) and may run without the GIL;
# one workspace serves one thread at a time. `data` holds Tape.n_data pointers
# to the data arrays (NULL for a tape without data), as in fg_tape.h.

cdef class Tape:
    cdef void *ptr                  # fg_tape *, immutable, shared by all threads
    cdef void *_pool[8]             # idle workspaces (taken and returned under the GIL)
    cdef int _npool
    cdef size_t _k                  # tangent directions per pass
    cdef Py_ssize_t _n              # input length
    cdef int _ndim
    cdef Py_ssize_t _shape[8]       # input shape
    cdef size_t _total              # sum of slot sizes (work per pass)
    cdef size_t _n_data             # data slots
    cdef readonly object shape
    cdef readonly tuple data_info   # (dtype, element count) of each data slot

cdef void *tape_ws_create(void *tape, size_t k) noexcept nogil
cdef void tape_ws_free(void *ws) noexcept nogil
cdef int tape_eval_f64(void *tape, void *ws, const double *x, const void *const *data,
                       double *value) noexcept nogil
cdef int tape_value_grad_f64(void *tape, void *ws, const double *x, const void *const *data,
                             double *value, double *grad) noexcept nogil
cdef int tape_value_grad_reverse_f64(void *tape, void *ws, const double *x,
                                     const void *const *data, double *value,
                                     double *grad) noexcept nogil
cdef int tape_jvp_f64(void *tape, void *ws, const double *x, const void *const *data,
                      const double *v, double *value, double *jv) noexcept nogil
cdef int tape_hessian_f64(void *tape, void *ws, const double *x, const void *const *data,
                          double *hess) noexcept nogil
cdef int tape_hessian_reverse_f64(void *tape, void *ws, const double *x,
                                  const void *const *data, double *hess) noexcept nogil
# value (grad NULL), or value and gradient by the adjoint sweep (reverse) or
# dual numbers: what the objective and batch capsules compute.
cdef int tape_value_grad(void *tape, void *ws, const double *x, const void *const *data,
                         double *value, double *grad, bint reverse) noexcept nogil
cdef int tape_hvp_f64(void *tape, void *ws, const double *x, const void *const *data,
                      const double *v, double *hv) noexcept nogil
