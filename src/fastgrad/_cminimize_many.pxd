# Raw declarations of csrc/fg_minimize_many.h, for fastgrad's own Cython
# modules (compiled with -I fastgrad.get_include(), where the header is).
from fastgrad._cstatus cimport fg_status
from fastgrad._cobjective cimport fg_objective, fg_hvp_fn, fg_batch_objective
from fastgrad._cminimize cimport fg_minimize_options, fg_minimize_result

cdef extern from "fg_minimize_many.h" nogil:
    enum:
        FG_MINIMIZE_MANY_MAX_THREADS
    ctypedef fg_status (*fg_minimize_select_fn)(size_t problem, void *ctx) noexcept nogil
    ctypedef int (*fg_minimize_many_poll_fn)(size_t done, size_t k, void *ctx) noexcept nogil
    ctypedef struct fg_minimize_worker:
        fg_objective objective
        fg_hvp_fn hvp
        void *hvp_ctx
        fg_minimize_select_fn select
        void *select_ctx
    ctypedef struct fg_minimize_many_options:
        size_t struct_size
        size_t bounds_stride
        double *states
        fg_minimize_many_poll_fn poll
        void *poll_ctx
        double poll_interval

    fg_status fg_minimize_many_options_init(fg_minimize_many_options *m, size_t struct_size)
    size_t fg_minimize_many_workspace_size(size_t n, const fg_minimize_options *opt,
                                           size_t nworkers)
    fg_status fg_minimize_many_run_f64(const fg_minimize_worker *workers, size_t nworkers,
                                       double *x, size_t k, size_t n,
                                       const fg_minimize_options *opt,
                                       const fg_minimize_many_options *many, double *work,
                                       size_t work_len, double *grad, fg_minimize_result *res)
    ctypedef struct fg_minimize_many_data:
        const fg_batch_objective *batch
        const void *const *data
        size_t rows
        const void **current
    fg_status fg_minimize_many_data_select(size_t problem, void *binding)
    fg_status fg_minimize_many_data_value_grad(const double *x, size_t n, double *value,
                                               double *grad, void *binding)
