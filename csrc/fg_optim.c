/* fg_optim.c: instantiates fg_optim_body.h for float64 and float32, and the
 * per-step coefficient functions (the scalar part of each update, computed
 * in double exactly as torch computes it in Python). */
#include <math.h>
#include <string.h>
#include "fg_config.h"
#include "fg_optim.h"

#define FG_T double
#define FG_UINT uint64_t
#define FG_SUFFIX f64
#define FG_FMA fma
#define FG_SQRT sqrt
#include "fg_optim_body.h"
#undef FG_T
#undef FG_UINT
#undef FG_SUFFIX
#undef FG_FMA
#undef FG_SQRT

#define FG_T float
#define FG_UINT uint32_t
#define FG_SUFFIX f32
#define FG_FMA fmaf
#define FG_SQRT sqrtf
#include "fg_optim_body.h"
#undef FG_T
#undef FG_UINT
#undef FG_SUFFIX
#undef FG_FMA
#undef FG_SQRT

static int fg_finite_nonneg(double x) { return isfinite(x) && x >= 0.0; }
static int fg_beta_ok(double b) { return isfinite(b) && b >= 0.0 && b < 1.0; }

fg_status fg_sgd_prepare(fg_sgd_coeffs *out, double lr, double momentum, double dampening,
                         double weight_decay, int nesterov, int maximize, int64_t step)
{
    if (!out || !fg_finite_nonneg(lr) || !fg_finite_nonneg(momentum) || !isfinite(dampening)
        || !fg_finite_nonneg(weight_decay) || step < 1
        || (nesterov && (momentum <= 0.0 || dampening != 0.0)))
        return FG_ERR_ARG;
    out->lr = lr;
    out->momentum = momentum;
    out->one_minus_dampening = 1.0 - dampening;
    out->weight_decay = weight_decay;
    out->nesterov = nesterov != 0;
    out->maximize = maximize != 0;
    out->first_step = step == 1;
    return FG_OK;
}

fg_status fg_adam_prepare(fg_adam_coeffs *out, double lr, double beta1, double beta2,
                          double eps, double weight_decay, int amsgrad, int maximize,
                          int decoupled, int64_t step)
{
    if (step < 1) return FG_ERR_ARG;
    double t = (double)step;
    return fg_adam_prepare_powers(out, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize,
                                  decoupled, pow(beta1, t), pow(beta2, t));
}

fg_status fg_adam_prepare_powers(fg_adam_coeffs *out, double lr, double beta1, double beta2,
                                 double eps, double weight_decay, int amsgrad, int maximize,
                                 int decoupled, double beta1_pow_t, double beta2_pow_t)
{
    if (!out || !fg_finite_nonneg(lr) || !fg_beta_ok(beta1) || !fg_beta_ok(beta2)
        || !fg_finite_nonneg(eps) || !fg_finite_nonneg(weight_decay)
        || !(beta1_pow_t >= 0.0 && beta1_pow_t < 1.0) || !(beta2_pow_t >= 0.0 && beta2_pow_t < 1.0))
        return FG_ERR_ARG;
    double bc1 = 1.0 - beta1_pow_t;
    double bc2 = 1.0 - beta2_pow_t;
    out->lerp_weight = 1.0 - beta1;
    out->beta2 = beta2;
    out->one_minus_beta2 = 1.0 - beta2;
    out->eps = eps;
    out->weight_decay = weight_decay;
    out->decay_factor = 1.0 - lr * weight_decay;
    out->neg_step_size = -(lr / bc1);
    out->bc2_sqrt = pow(bc2, 0.5); /* torch's bc2**0.5, not sqrt(): they differ in rare ulps */
    out->amsgrad = amsgrad != 0;
    out->maximize = maximize != 0;
    out->decoupled = decoupled != 0;
    return FG_OK;
}

fg_status fg_rmsprop_prepare(fg_rmsprop_coeffs *out, double lr, double alpha, double eps,
                             double weight_decay, double momentum, int centered,
                             int maximize, int64_t step)
{
    if (!out || !fg_finite_nonneg(lr) || !fg_finite_nonneg(alpha) || !fg_finite_nonneg(eps)
        || !fg_finite_nonneg(weight_decay) || !fg_finite_nonneg(momentum) || step < 1)
        return FG_ERR_ARG;
    out->lr = lr;
    out->alpha = alpha;
    out->one_minus_alpha = 1.0 - alpha;
    out->lerp_weight = 1.0 - alpha;
    out->eps = eps;
    out->weight_decay = weight_decay;
    out->momentum = momentum;
    out->centered = centered != 0;
    out->maximize = maximize != 0;
    return FG_OK;
}

fg_status fg_adagrad_prepare(fg_adagrad_coeffs *out, double lr, double lr_decay, double eps,
                             double weight_decay, int maximize, int64_t step)
{
    if (!out || !fg_finite_nonneg(lr) || !fg_finite_nonneg(lr_decay) || !fg_finite_nonneg(eps)
        || !fg_finite_nonneg(weight_decay) || step < 1)
        return FG_ERR_ARG;
    out->neg_clr = -(lr / (1.0 + (double)(step - 1) * lr_decay));
    out->eps = eps;
    out->weight_decay = weight_decay;
    out->maximize = maximize != 0;
    return FG_OK;
}
