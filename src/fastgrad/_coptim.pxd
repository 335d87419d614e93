# Raw declarations of csrc/fg_optimizer.h, fg_optim.h and fg_optim_many.h,
# for fastgrad's own Cython modules. Embedders cimport fastgrad._optim
# instead, which needs no header and no link step.
from libc.stdint cimport int64_t

from fastgrad._cstatus cimport fg_status

cdef extern from "fg_optimizer.h" nogil:
    ctypedef enum fg_optim_kind:
        FG_OPTIM_COUNT
    enum:
        FG_OPTIM_MAX_HYPER
        FG_OPTIM_MAX_STATE
        FG_OPTIM_MAX_SCALAR
        FG_OPTIM_NONE
    ctypedef union fg_optim_coeffs:
        double align_double
    ctypedef enum fg_hyper_kind:
        FG_HYPER_REAL
        FG_HYPER_FLAG
    ctypedef struct fg_optim_hyper:
        const char *name
        double default_value
        fg_hyper_kind kind
        double low, high
        int low_open, high_open
    ctypedef struct fg_optim_state:
        const char *name
        double initial
        int initial_from
        int used_if
    ctypedef struct fg_optim_scalar:
        const char *name
        double initial
    ctypedef struct fg_optimizer:
        const char *name
        fg_optim_kind kind
        double lr_default
        int n_hyper
        const fg_optim_hyper *hyper
        int n_state
        const fg_optim_state *state
        int n_scalar
        const fg_optim_scalar *scalar
        int (*check)(const double *hyper) noexcept nogil
        const char *rule
        size_t coeffs_size
        fg_status (*prepare)(void *coeffs, const double *hyper, double lr, int64_t step,
                             double *scalars) noexcept nogil
        fg_status (*step_f64)(const double *src, double *param, const double *grad,
                              double *const *state, size_t n, const void *coeffs) noexcept nogil
        fg_status (*step_f32)(const float *src, float *param, const float *grad,
                              float *const *state, size_t n, const void *coeffs) noexcept nogil
        int n_running
        fg_status (*fill)(void *coeffs, const double *hyper, double lr, int64_t step,
                          double *scalars) noexcept nogil

    const fg_optimizer fg_optimizer_sgd, fg_optimizer_adam, fg_optimizer_rmsprop
    const fg_optimizer fg_optimizer_adagrad
    const fg_optimizer *fg_optimizer_get(int kind)
    fg_status fg_optimizer_check(const fg_optimizer *opt, const double *hyper, double lr,
                                 int64_t step, int *bad)
    int fg_optimizer_state_used(const fg_optimizer *opt, const double *hyper, int i)

cdef extern from "fg_optim.h" nogil:
    ctypedef struct fg_sgd_coeffs:
        pass
    ctypedef struct fg_adam_coeffs:
        pass
    ctypedef struct fg_rmsprop_coeffs:
        pass
    ctypedef struct fg_adagrad_coeffs:
        pass

    fg_status fg_sgd_prepare(fg_sgd_coeffs *out, double lr, double momentum, double dampening,
                             double weight_decay, int nesterov, int maximize, int64_t step)
    fg_status fg_adam_prepare(fg_adam_coeffs *out, double lr, double beta1, double beta2,
                              double eps, double weight_decay, int amsgrad, int maximize,
                              int decoupled, int64_t step)
    fg_status fg_rmsprop_prepare(fg_rmsprop_coeffs *out, double lr, double alpha, double eps,
                                 double weight_decay, double momentum, int centered,
                                 int maximize, int64_t step)
    fg_status fg_adagrad_prepare(fg_adagrad_coeffs *out, double lr, double lr_decay,
                                 double eps, double weight_decay, int maximize, int64_t step)

cdef extern from "fg_optim_many.h" nogil:
    ctypedef enum fg_dtype:
        FG_FLOAT64
        FG_FLOAT32
    ctypedef struct fg_optim_slot:
        void *param
        const void *grad
        void *const *state
        size_t n
        fg_dtype dtype
    fg_status fg_optim_step_many(const fg_optimizer *opt, const void *coeffs,
                                 const fg_optim_slot *slots, size_t count, int nthreads)
    int fg_optim_grads_finite(const fg_optim_slot *slots, size_t count)
