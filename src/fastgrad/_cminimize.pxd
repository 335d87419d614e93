# Raw declarations of csrc/fg_objective.h and csrc/fg_minimize.h, for
# fastgrad's own Cython modules and for _minimize.pxd (whose users compile
# with -I fastgrad.get_include(), where these headers are installed).
from libc.stdint cimport int64_t
from fastgrad._cstatus cimport fg_status
from fastgrad._cobjective cimport *

cdef extern from "fg_minimize.h" nogil:
    ctypedef enum fg_minimize_method:
        FG_MIN_GD
        FG_MIN_MOMENTUM
        FG_MIN_NESTEROV
        FG_MIN_ADAM
        FG_MIN_ADAMW
        FG_MIN_RMSPROP
        FG_MIN_ADAGRAD
        FG_MIN_NEWTON
        FG_MIN_LBFGS
        FG_MIN_BFGS
        FG_MIN_CG
        FG_MIN_NEWTON_CG
        FG_MIN_ADAMAX
        FG_MIN_NADAM
        FG_MIN_METHOD_COUNT
    ctypedef enum fg_minimize_stop:
        FG_MIN_CONVERGED
        FG_MIN_MAXITER
        FG_MIN_DIVERGED
        FG_MIN_CALLBACK_STOP
        FG_MIN_OBJECTIVE_ERROR
        FG_MIN_LINESEARCH_FAILED
        FG_MIN_SCHEDULE_ERROR
        FG_MIN_FTOL
        FG_MIN_MAXFUN
        FG_MIN_INTERRUPTED
        FG_MIN_EPOCHS
        FG_MIN_STOP_COUNT
    ctypedef enum fg_minimize_line_search:
        FG_MIN_LS_DEFAULT
        FG_MIN_LS_NONE
        FG_MIN_LS_ARMIJO
        FG_MIN_LS_WOLFE
        FG_MIN_LS_COUNT
    enum:
        FG_MIN_NEEDS_GRADIENT
        FG_MIN_NEEDS_HESSIAN
        FG_MIN_USES_HVP
        FG_MIN_HEADER_LEN
    ctypedef struct fg_minimize_method_info:
        const char *name
        unsigned needs
        int supports_bounds
        int stops_on_ftol
        unsigned line_searches
        fg_minimize_line_search default_line_search
        const char *const *options
    ctypedef struct fg_minimize_state:
        int64_t nit, nfev, njev
        size_t n
        const double *x
        const double *grad
        double f
        double grad_norm
    ctypedef int (*fg_minimize_callback)(const fg_minimize_state *state,
                                         void *cb_ctx) noexcept nogil
    ctypedef double (*fg_minimize_lr_fn)(int64_t step, void *lr_ctx) noexcept nogil
    ctypedef struct fg_minimize_options:
        size_t struct_size
        fg_minimize_method method
        double lr
        fg_minimize_lr_fn lr_fn
        void *lr_ctx
        double momentum, dampening, weight_decay, beta1, beta2, eps
        int amsgrad
        double alpha
        int centered
        double lr_decay, initial_accumulator_value, momentum_decay, newton_mu0
        int decoupled_weight_decay
        int64_t lbfgs_m
        fg_hvp_fn hvp
        void *hvp_ctx
        int maximize
        double tol, ftol
        int64_t maxiter, maxfun
        fg_minimize_line_search line_search
        const double *lower
        const double *upper
        int warm_start
        fg_minimize_callback callback
        void *callback_ctx
        int64_t callback_every
        fg_minimize_callback poll
        void *poll_ctx
        double poll_interval
        double *history_x
        double *history_f
        double *history_grad_norm
        int64_t history_capacity
    ctypedef struct fg_minimize_result:
        double f, grad_norm
        int64_t nit, nfev, njev, nhev
        fg_minimize_stop stop
        fg_status objective_status
        int64_t history_len
    ctypedef enum fg_minimize_field_kind:
        FG_MIN_FIELD_DOUBLE
        FG_MIN_FIELD_INT
        FG_MIN_FIELD_INT64
    ctypedef struct fg_minimize_option_field:
        const char *name
        size_t offset
        fg_minimize_field_kind kind
        int count
        double low, high
        int low_open, high_open

    const fg_minimize_option_field *fg_minimize_option_fields(size_t *count)
    fg_status fg_minimize_method_info_get(fg_minimize_method method,
                                          fg_minimize_method_info *info)
    fg_status fg_minimize_options_init(fg_minimize_options *opt, size_t struct_size,
                                       fg_minimize_method method)
    size_t fg_minimize_workspace_size(size_t n, const fg_minimize_options *opt)
    size_t fg_minimize_state_size(size_t n, const fg_minimize_options *opt)
    fg_status fg_minimize_run_f64(const fg_objective *obj, double *x, size_t n,
                                  const fg_minimize_options *opt, double *work,
                                  size_t work_len, double *grad, fg_minimize_result *res)
    const char *fg_minimize_stop_message(fg_minimize_stop stop)
