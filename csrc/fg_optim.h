/* fg_optim.h: typed entry points of the original four optimizers (SGD,
 * Adam/AdamW, RMSprop, Adagrad), for embedders that call one optimizer by
 * name: fg_<opt>_prepare fills a typed coefficient struct, fg_<opt>_step_f64
 * and _f32 update in place. They wrap the descriptors of fg_optimizer.h
 * (the same step bodies, bit for bit), where the formulas are written out
 * (csrc/fg_optim_<name>.c) and every optimizer, the newer ones included, is
 * reachable through one interface.
 *
 * Preconditions for every step function: all arrays hold n elements, are
 * contiguous, and do not overlap each other (grad may be any readable
 * memory); n may be 0. t is the step count after increment (t = 1 on the
 * first step). Every step function returns FG_OK or FG_ERR_ARG (a required
 * pointer is NULL while n > 0).
 *
 * Every step function has an out-of-place twin, fg_<opt>_step_out_*(param,
 * param_out, ...): the new parameters go to param_out (bit for bit what the
 * in-place function writes), param is only read (it may not overlap
 * param_out or the state), and the state is updated in place as usual. For
 * drivers that keep the previous iterate without copying it. The twins also
 * return FG_ERR_NONFINITE when a new parameter is NaN or infinite
 * (everything is still written), found in the same pass.
 */
#ifndef FASTGRAD_OPTIM_H
#define FASTGRAD_OPTIM_H

#include <stddef.h>
#include <stdint.h>
#include "fg_status.h"
#include "fg_optimizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- SGD: momentum, dampening, Nesterov, L2 weight decay --------------
 *   g <- -g if maximize;  g <- fma(p, wd, g) if wd != 0
 *   if momentum != 0:
 *       buf <- g                                   on the first step
 *       buf <- fma(g, 1 - dampening, buf*momentum)  afterwards
 *       d <- fma(buf, momentum, g) if nesterov else buf
 *   else d <- g
 *   p <- fma(d, -lr, p)
 * momentum_buffer may be NULL when momentum == 0.                          */
typedef struct fg_sgd_coeffs {
    double lr, momentum, one_minus_dampening, weight_decay;
    int nesterov, maximize;
    int first_step;   /* 1: initialise the momentum buffer by copying g */
} fg_sgd_coeffs;

/* Per-step coefficients of SGD for update number step (>= 1).
 * Preconditions: lr, momentum, weight_decay finite and >= 0, dampening
 * finite; nesterov needs momentum > 0 and dampening == 0.
 * Returns FG_OK, or FG_ERR_ARG (NULL out or a violated precondition; *out
 * is then not written). */
fg_status fg_sgd_prepare(fg_sgd_coeffs *out, double lr, double momentum, double dampening,
                         double weight_decay, int nesterov, int maximize, int64_t step);
/* One update by the formula above, in place over n elements, with c from
 * fg_sgd_prepare for this step. Returns FG_OK, or FG_ERR_ARG for a
 * NULL c or a NULL required array while n > 0 (preconditions: top of file). */
fg_status fg_sgd_step_f64(double *param, const double *grad, double *momentum_buffer,
                          size_t n, const fg_sgd_coeffs *c);
fg_status fg_sgd_step_f32(float *param, const float *grad, float *momentum_buffer,
                          size_t n, const fg_sgd_coeffs *c);
/* Out of place (see the top of file). */
fg_status fg_sgd_step_out_f64(const double *param, double *param_out, const double *grad,
                              double *momentum_buffer, size_t n, const fg_sgd_coeffs *c);
fg_status fg_sgd_step_out_f32(const float *param, float *param_out, const float *grad,
                              float *momentum_buffer, size_t n, const fg_sgd_coeffs *c);

/* ---- Adam / AdamW (decoupled weight decay), AMSGrad -------------------
 *   g <- -g if maximize
 *   AdamW: p <- p*(1 - lr*wd)      Adam: g <- fma(p, wd, g)      (if wd != 0)
 *   m <- lerp(m, g, 1 - beta1)     (ATen's two-branch lerp, with fma)
 *   v <- fma(g, g*(1 - beta2), v*beta2)
 *   vmax <- max(vmax, v) if amsgrad (raw v; NaN propagates)
 *   denom <- sqrt(amsgrad ? vmax : v) / pow(1 - beta2^t, 0.5) + eps
 *   p <- p + ((-lr/(1 - beta1^t)) * m) / denom
 * max_exp_avg_sq may be NULL unless amsgrad.                               */
typedef struct fg_adam_coeffs {
    double lerp_weight;        /* 1 - beta1 */
    double beta2, one_minus_beta2, eps, weight_decay;
    double decay_factor;       /* 1 - lr*wd (AdamW) */
    double neg_step_size;      /* -lr / (1 - beta1^t) */
    double bc2_sqrt;           /* pow(1 - beta2^t, 0.5) */
    int amsgrad, maximize, decoupled;
} fg_adam_coeffs;

/* Per-step coefficients of Adam (decoupled = 0) or AdamW (decoupled = 1)
 * for update number step (>= 1): neg_step_size = -lr/(1 - beta1^step),
 * bc2_sqrt = pow(1 - beta2^step, 0.5), decay_factor = 1 - lr*wd.
 * Preconditions: lr, eps, weight_decay finite and >= 0; 0 <= beta1, beta2 < 1.
 * Returns FG_OK, or FG_ERR_ARG (NULL out or a violated precondition). */
fg_status fg_adam_prepare(fg_adam_coeffs *out, double lr, double beta1, double beta2,
                          double eps, double weight_decay, int amsgrad, int maximize,
                          int decoupled, int64_t step);
/* One update by the formula above, in place over n elements, with c from
 * fg_adam_prepare for this step. Returns FG_OK, or FG_ERR_ARG for a
 * NULL c or a NULL required array while n > 0 (preconditions: top of file). */
fg_status fg_adam_step_f64(double *param, const double *grad, double *exp_avg,
                           double *exp_avg_sq, double *max_exp_avg_sq, size_t n,
                           const fg_adam_coeffs *c);
fg_status fg_adam_step_f32(float *param, const float *grad, float *exp_avg,
                           float *exp_avg_sq, float *max_exp_avg_sq, size_t n,
                           const fg_adam_coeffs *c);
/* Out of place (see the top of file). */
fg_status fg_adam_step_out_f64(const double *param, double *param_out, const double *grad,
                               double *exp_avg, double *exp_avg_sq, double *max_exp_avg_sq,
                               size_t n, const fg_adam_coeffs *c);
fg_status fg_adam_step_out_f32(const float *param, float *param_out, const float *grad,
                               float *exp_avg, float *exp_avg_sq, float *max_exp_avg_sq,
                               size_t n, const fg_adam_coeffs *c);

/* ---- RMSprop: centered, momentum, L2 weight decay ---------------------
 *   g <- -g if maximize;  g <- fma(p, wd, g) if wd != 0
 *   s <- fma(g, g*(1 - alpha), s*alpha)
 *   centered: gbar <- lerp(gbar, g, 1 - alpha);  avg <- sqrt(fma(-gbar, gbar, s)) + eps
 *   else:     avg <- sqrt(s) + eps
 *   momentum > 0: buf <- buf*momentum + g/avg;  p <- fma(buf, -lr, p)
 *   else:         p <- p + ((-lr)*g)/avg
 * momentum_buffer may be NULL unless momentum > 0, grad_avg unless centered. */
typedef struct fg_rmsprop_coeffs {
    double lr, alpha, one_minus_alpha, lerp_weight, eps, weight_decay, momentum;
    int centered, maximize;
} fg_rmsprop_coeffs;

/* Per-step coefficients of RMSprop (step >= 1; they do not depend on it).
 * Preconditions: lr, alpha, eps, weight_decay, momentum finite and >= 0.
 * Returns FG_OK, or FG_ERR_ARG (NULL out or a violated precondition). */
fg_status fg_rmsprop_prepare(fg_rmsprop_coeffs *out, double lr, double alpha, double eps,
                             double weight_decay, double momentum, int centered,
                             int maximize, int64_t step);
/* One update by the formula above, in place over n elements, with c from
 * fg_rmsprop_prepare for this step. Returns FG_OK, or FG_ERR_ARG for a
 * NULL c or a NULL required array while n > 0 (preconditions: top of file). */
fg_status fg_rmsprop_step_f64(double *param, const double *grad, double *square_avg,
                              double *momentum_buffer, double *grad_avg, size_t n,
                              const fg_rmsprop_coeffs *c);
fg_status fg_rmsprop_step_f32(float *param, const float *grad, float *square_avg,
                              float *momentum_buffer, float *grad_avg, size_t n,
                              const fg_rmsprop_coeffs *c);
/* Out of place (see the top of file). */
fg_status fg_rmsprop_step_out_f64(const double *param, double *param_out, const double *grad,
                                  double *square_avg, double *momentum_buffer,
                                  double *grad_avg, size_t n, const fg_rmsprop_coeffs *c);
fg_status fg_rmsprop_step_out_f32(const float *param, float *param_out, const float *grad,
                                  float *square_avg, float *momentum_buffer, float *grad_avg,
                                  size_t n, const fg_rmsprop_coeffs *c);

/* ---- Adagrad: learning-rate decay, L2 weight decay --------------------
 *   g <- -g if maximize;  g <- fma(p, wd, g) if wd != 0
 *   clr <- lr / (1 + (t - 1)*lr_decay)
 *   S <- fma(g, g, S);   p <- p + ((-clr)*g) / (sqrt(S) + eps)            */
typedef struct fg_adagrad_coeffs {
    double neg_clr, eps, weight_decay;
    int maximize;
} fg_adagrad_coeffs;

/* Per-step coefficients of Adagrad for update number step (>= 1):
 * neg_clr = -lr / (1 + (step - 1)*lr_decay).
 * Preconditions: lr, lr_decay, eps, weight_decay finite and >= 0.
 * Returns FG_OK, or FG_ERR_ARG (NULL out or a violated precondition). */
fg_status fg_adagrad_prepare(fg_adagrad_coeffs *out, double lr, double lr_decay, double eps,
                             double weight_decay, int maximize, int64_t step);
/* One update by the formula above, in place over n elements, with c from
 * fg_adagrad_prepare for this step. Returns FG_OK, or FG_ERR_ARG for a
 * NULL c or a NULL required array while n > 0 (preconditions: top of file). */
fg_status fg_adagrad_step_f64(double *param, const double *grad, double *state_sum,
                              size_t n, const fg_adagrad_coeffs *c);
fg_status fg_adagrad_step_f32(float *param, const float *grad, float *state_sum,
                              size_t n, const fg_adagrad_coeffs *c);
/* Out of place (see the top of file). */
fg_status fg_adagrad_step_out_f64(const double *param, double *param_out, const double *grad,
                                  double *state_sum, size_t n, const fg_adagrad_coeffs *c);
fg_status fg_adagrad_step_out_f32(const float *param, float *param_out, const float *grad,
                                  float *state_sum, size_t n, const fg_adagrad_coeffs *c);

/* ---- Finite check --------------------------------------------------------
 * 1 if all n values are finite, else 0. Used by check_finite before any
 * update, so that a bad gradient leaves parameters and state untouched.    */
int fg_all_finite_f64(const double *x, size_t n);
int fg_all_finite_f32(const float *x, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* FASTGRAD_OPTIM_H */
