# _optim_exports.pxi: part of fastgrad._optim (included at its end). The
# functions _optim.pxd declares for Cython embedders: nogil wrappers that
# compute the per-step coefficients with the typed prepare of fg_optim.h and
# run the step of the optimizer's descriptor (what the typed steps of
# fg_optim.h run), one body per optimizer for both dtypes.

ctypedef fused floating:
    float
    double


cdef inline int _run(const fg_optimizer *opt, const void *c, floating *param,
                     const floating *grad, floating *s0, floating *s1, floating *s2,
                     size_t n) noexcept nogil:
    """One in-place step of opt with coefficients c; s0, s1, s2: its state
    buffers in the descriptor's order (the unused tail is ignored)."""
    cdef floating *state[3]
    state[0] = s0
    state[1] = s1
    state[2] = s2
    if floating is float:
        return opt.step_f32(NULL, param, grad, state, n, c)
    else:
        return opt.step_f64(NULL, param, grad, state, n, c)


cdef inline int _sgd(floating *param, const floating *grad, floating *momentum_buffer, size_t n,
                     int64_t step, double lr, double momentum, double dampening,
                     double weight_decay, bint nesterov, bint maximize) noexcept nogil:
    cdef fg_sgd_coeffs c
    cdef fg_status st = fg_sgd_prepare(&c, lr, momentum, dampening, weight_decay, nesterov,
                                       maximize, step)
    if st != FG_OK:
        return st
    return _run(&fg_optimizer_sgd, &c, param, grad, momentum_buffer, NULL, NULL, n)


cdef inline int _adam(floating *param, const floating *grad, floating *exp_avg,
                      floating *exp_avg_sq, floating *max_exp_avg_sq, size_t n, int64_t step,
                      double lr, double beta1, double beta2, double eps, double weight_decay,
                      bint amsgrad, bint maximize, bint decoupled) noexcept nogil:
    cdef fg_adam_coeffs c
    cdef fg_status st = fg_adam_prepare(&c, lr, beta1, beta2, eps, weight_decay, amsgrad,
                                        maximize, decoupled, step)
    if st != FG_OK:
        return st
    return _run(&fg_optimizer_adam, &c, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n)


cdef inline int _rmsprop(floating *param, const floating *grad, floating *square_avg,
                         floating *momentum_buffer, floating *grad_avg, size_t n, int64_t step,
                         double lr, double alpha, double eps, double weight_decay,
                         double momentum, bint centered, bint maximize) noexcept nogil:
    cdef fg_rmsprop_coeffs c
    cdef fg_status st = fg_rmsprop_prepare(&c, lr, alpha, eps, weight_decay, momentum,
                                           centered, maximize, step)
    if st != FG_OK:
        return st
    return _run(&fg_optimizer_rmsprop, &c, param, grad, square_avg, momentum_buffer, grad_avg, n)


cdef inline int _adagrad(floating *param, const floating *grad, floating *state_sum, size_t n,
                         int64_t step, double lr, double lr_decay, double weight_decay,
                         double eps, bint maximize) noexcept nogil:
    cdef fg_adagrad_coeffs c
    cdef fg_status st = fg_adagrad_prepare(&c, lr, lr_decay, eps, weight_decay, maximize, step)
    if st != FG_OK:
        return st
    return _run(&fg_optimizer_adagrad, &c, param, grad, state_sum, NULL, NULL, n)


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
