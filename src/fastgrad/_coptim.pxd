# Raw declarations of csrc/fg_status.h, fg_optim.h and fg_optim_many.h, for
# fastgrad's own Cython modules. Embedders cimport fastgrad._optim instead,
# which needs no header and no link step.
from libc.stdint cimport int64_t

from fastgrad._cstatus cimport fg_status

cdef extern from "fg_optim.h" nogil:
    ctypedef struct fg_sgd_coeffs:
        double lr, momentum, one_minus_dampening, weight_decay
        int nesterov, maximize, first_step
    ctypedef struct fg_adam_coeffs:
        double lerp_weight, beta2, one_minus_beta2, eps, weight_decay
        double decay_factor, neg_step_size, bc2_sqrt
        int amsgrad, maximize, decoupled
    ctypedef struct fg_rmsprop_coeffs:
        double lr, alpha, one_minus_alpha, lerp_weight, eps, weight_decay, momentum
        int centered, maximize
    ctypedef struct fg_adagrad_coeffs:
        double neg_clr, eps, weight_decay
        int maximize

    fg_status fg_sgd_prepare(fg_sgd_coeffs *out, double lr, double momentum, double dampening,
                             double weight_decay, int nesterov, int maximize, int64_t step)
    fg_status fg_sgd_step_f64(double *param, const double *grad, double *momentum_buffer,
                              size_t n, const fg_sgd_coeffs *c)
    fg_status fg_sgd_step_f32(float *param, const float *grad, float *momentum_buffer,
                              size_t n, const fg_sgd_coeffs *c)

    fg_status fg_adam_prepare(fg_adam_coeffs *out, double lr, double beta1, double beta2,
                              double eps, double weight_decay, int amsgrad, int maximize,
                              int decoupled, int64_t step)
    fg_status fg_adam_step_f64(double *param, const double *grad, double *exp_avg,
                               double *exp_avg_sq, double *max_exp_avg_sq, size_t n,
                               const fg_adam_coeffs *c)
    fg_status fg_adam_step_f32(float *param, const float *grad, float *exp_avg,
                               float *exp_avg_sq, float *max_exp_avg_sq, size_t n,
                               const fg_adam_coeffs *c)
    fg_status fg_sgd_step_out_f64(const double *param, double *param_out, const double *grad,
                                  double *momentum_buffer, size_t n, const fg_sgd_coeffs *c)
    fg_status fg_sgd_step_out_f32(const float *param, float *param_out, const float *grad,
                                  float *momentum_buffer, size_t n, const fg_sgd_coeffs *c)
    fg_status fg_rmsprop_step_out_f64(const double *param, double *param_out,
                                      const double *grad, double *square_avg,
                                      double *momentum_buffer, double *grad_avg, size_t n,
                                      const fg_rmsprop_coeffs *c)
    fg_status fg_rmsprop_step_out_f32(const float *param, float *param_out, const float *grad,
                                      float *square_avg, float *momentum_buffer,
                                      float *grad_avg, size_t n, const fg_rmsprop_coeffs *c)
    fg_status fg_adagrad_step_out_f64(const double *param, double *param_out,
                                      const double *grad, double *state_sum, size_t n,
                                      const fg_adagrad_coeffs *c)
    fg_status fg_adagrad_step_out_f32(const float *param, float *param_out, const float *grad,
                                      float *state_sum, size_t n, const fg_adagrad_coeffs *c)
    fg_status fg_adam_step_out_f64(const double *param, double *param_out, const double *grad,
                                   double *exp_avg, double *exp_avg_sq, double *max_exp_avg_sq,
                                   size_t n, const fg_adam_coeffs *c)
    fg_status fg_adam_step_out_f32(const float *param, float *param_out, const float *grad,
                                   float *exp_avg, float *exp_avg_sq, float *max_exp_avg_sq,
                                   size_t n, const fg_adam_coeffs *c)

    fg_status fg_rmsprop_prepare(fg_rmsprop_coeffs *out, double lr, double alpha, double eps,
                                 double weight_decay, double momentum, int centered,
                                 int maximize, int64_t step)
    fg_status fg_rmsprop_step_f64(double *param, const double *grad, double *square_avg,
                                  double *momentum_buffer, double *grad_avg, size_t n,
                                  const fg_rmsprop_coeffs *c)
    fg_status fg_rmsprop_step_f32(float *param, const float *grad, float *square_avg,
                                  float *momentum_buffer, float *grad_avg, size_t n,
                                  const fg_rmsprop_coeffs *c)

    fg_status fg_adagrad_prepare(fg_adagrad_coeffs *out, double lr, double lr_decay,
                                 double eps, double weight_decay, int maximize, int64_t step)
    fg_status fg_adagrad_step_f64(double *param, const double *grad, double *state_sum,
                                  size_t n, const fg_adagrad_coeffs *c)
    fg_status fg_adagrad_step_f32(float *param, const float *grad, float *state_sum,
                                  size_t n, const fg_adagrad_coeffs *c)

    int fg_all_finite_f64(const double *x, size_t n)
    int fg_all_finite_f32(const float *x, size_t n)

cdef extern from "fg_optim_many.h" nogil:
    ctypedef enum fg_dtype:
        FG_FLOAT64
        FG_FLOAT32
    ctypedef enum fg_optim_kind:
        FG_OPTIM_SGD
        FG_OPTIM_ADAM
        FG_OPTIM_RMSPROP
        FG_OPTIM_ADAGRAD
    ctypedef union fg_optim_coeffs:
        fg_sgd_coeffs sgd
        fg_adam_coeffs adam
        fg_rmsprop_coeffs rmsprop
        fg_adagrad_coeffs adagrad
    ctypedef struct fg_optim_config:
        fg_optim_kind kind
        fg_optim_coeffs coeffs
    ctypedef struct fg_optim_slot:
        void *param
        const void *grad
        void *state[3]
        size_t n
        fg_dtype dtype
    size_t FG_OPTIM_MIN_PARALLEL
    fg_status fg_optim_step_many(const fg_optim_config *cfg, const fg_optim_slot *slots,
                                 size_t count, int nthreads)
    int fg_optim_grads_finite(const fg_optim_slot *slots, size_t count)
