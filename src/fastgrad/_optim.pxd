# Fused optimizer steps for other Cython extensions: `from fastgrad._optim
# cimport adam_step_f64` and call it `nogil`, with no header and no link step
# (Cython imports the function pointers from fastgrad._optim at import time).
# Each updates param and its state in place over n contiguous elements and
# returns 0 on success or a fg_status code (1: invalid argument). `step` is the
# update's number t >= 1. Formulas: see fastgrad.SGD/Adam/RMSprop/Adagrad.
from libc.stdint cimport int64_t

cdef int sgd_step_f64(double *param, const double *grad, double *momentum_buffer, size_t n,
                      int64_t step, double lr, double momentum, double dampening,
                      double weight_decay, bint nesterov, bint maximize) noexcept nogil
cdef int sgd_step_f32(float *param, const float *grad, float *momentum_buffer, size_t n,
                      int64_t step, double lr, double momentum, double dampening,
                      double weight_decay, bint nesterov, bint maximize) noexcept nogil
cdef int adam_step_f64(double *param, const double *grad, double *exp_avg, double *exp_avg_sq,
                       double *max_exp_avg_sq, size_t n, int64_t step, double lr, double beta1,
                       double beta2, double eps, double weight_decay, bint amsgrad,
                       bint maximize, bint decoupled) noexcept nogil
cdef int adam_step_f32(float *param, const float *grad, float *exp_avg, float *exp_avg_sq,
                       float *max_exp_avg_sq, size_t n, int64_t step, double lr, double beta1,
                       double beta2, double eps, double weight_decay, bint amsgrad,
                       bint maximize, bint decoupled) noexcept nogil
cdef int rmsprop_step_f64(double *param, const double *grad, double *square_avg,
                          double *momentum_buffer, double *grad_avg, size_t n, int64_t step,
                          double lr, double alpha, double eps, double weight_decay,
                          double momentum, bint centered, bint maximize) noexcept nogil
cdef int rmsprop_step_f32(float *param, const float *grad, float *square_avg,
                          float *momentum_buffer, float *grad_avg, size_t n, int64_t step,
                          double lr, double alpha, double eps, double weight_decay,
                          double momentum, bint centered, bint maximize) noexcept nogil
cdef int adagrad_step_f64(double *param, const double *grad, double *state_sum, size_t n,
                          int64_t step, double lr, double lr_decay, double weight_decay,
                          double eps, bint maximize) noexcept nogil
cdef int adagrad_step_f32(float *param, const float *grad, float *state_sum, size_t n,
                          int64_t step, double lr, double lr_decay, double weight_decay,
                          double eps, bint maximize) noexcept nogil
