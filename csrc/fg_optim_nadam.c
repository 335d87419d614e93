/* fg_optim_nadam.c: NAdam, Adam with Nesterov momentum (torch.optim.NAdam):
 *   mu_t <- beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))      (and mu_{t+1})
 *   mu_product <- mu_product * mu_t                            (scalar state)
 *   g <- -g if maximize
 *   decoupled: p <- p*(1 - lr*wd)     else: g <- fma(p, wd, g)    (if wd != 0)
 *   m <- lerp(m, g, 1 - beta1)        (ATen's two-branch lerp, with fma)
 *   v <- fma(g, g*(1 - beta2), v*beta2)
 *   denom <- sqrt(v / (1 - beta2^t)) + eps
 *   p <- p + (c_g * g) / denom;   p <- p + (c_m * m) / denom
 *   c_g = -lr (1 - mu_t) / (1 - mu_product),
 *   c_m = -lr mu_{t+1} / (1 - mu_product * mu_{t+1})
 * State: exp_avg, exp_avg_sq; scalar state mu_product (1 before step 1),
 * kept in double: torch keeps it in its default dtype, so the two agree to
 * rounding when torch's default dtype is float64 and to about 1e-7
 * relative in c_g, c_m when it is float32. */
#ifndef FG_T
#include "fg_optim_impl.h"

enum { BETA1, BETA2, EPS, WEIGHT_DECAY, MOMENTUM_DECAY, DECOUPLED, MAXIMIZE, N_HYPER };

static const fg_optim_hyper nadam_hyper[N_HYPER] = {
    [BETA1] = {"beta1", 0.9, FG_HYPER_REAL, 0.0, 1.0, 0, 1},
    [BETA2] = {"beta2", 0.999, FG_HYPER_REAL, 0.0, 1.0, 0, 1},
    [EPS] = {"eps", 1e-8, FG_HYPER_REAL, 0.0, INFINITY, 0, 0},
    [WEIGHT_DECAY] = {"weight_decay", 0.0, FG_HYPER_REAL, 0.0, INFINITY, 0, 0},
    [MOMENTUM_DECAY] = {"momentum_decay", 4e-3, FG_HYPER_REAL, 0.0, INFINITY, 0, 0},
    [DECOUPLED] = {"decoupled_weight_decay", 0.0, FG_HYPER_FLAG, 0.0, 1.0, 0, 0},
    [MAXIMIZE] = {"maximize", 0.0, FG_HYPER_FLAG, 0.0, 1.0, 0, 0},
};

static const fg_optim_state nadam_state[] = {
    {"exp_avg", 0.0, FG_OPTIM_NONE, FG_OPTIM_NONE},
    {"exp_avg_sq", 0.0, FG_OPTIM_NONE, FG_OPTIM_NONE},
};

static const fg_optim_scalar nadam_scalar[] = {{"mu_product", 1.0}};

typedef struct nadam_coeffs {
    double lerp_weight;          /* 1 - beta1 */
    double beta2, one_minus_beta2, eps, weight_decay;
    double decay_factor;         /* 1 - lr*wd (decoupled) */
    double bc2;                  /* 1 - beta2^t */
    double coef_grad, coef_avg;  /* c_g, c_m */
    int maximize, decoupled;
} nadam_coeffs;

static void nadam_set(nadam_coeffs *c, const double *h, double lr, int64_t step,
                      double *scalars)
{
    const double t = (double)step, b1 = h[BETA1], md = h[MOMENTUM_DECAY];
    const double mu = b1 * (1.0 - 0.5 * pow(0.96, t * md));
    const double mu_next = b1 * (1.0 - 0.5 * pow(0.96, (t + 1.0) * md));
    const double mu_product = scalars[0] * mu;
    c->lerp_weight = 1.0 - b1;
    c->beta2 = h[BETA2];
    c->one_minus_beta2 = 1.0 - h[BETA2];
    c->eps = h[EPS];
    c->weight_decay = h[WEIGHT_DECAY];
    c->decay_factor = 1.0 - lr * h[WEIGHT_DECAY];
    c->bc2 = 1.0 - pow(h[BETA2], t);
    c->coef_grad = (-lr * (1.0 - mu)) / (1.0 - mu_product);
    c->coef_avg = (-lr * mu_next) / (1.0 - mu_product * mu_next);
    c->maximize = h[MAXIMIZE] != 0.0;
    c->decoupled = h[DECOUPLED] != 0.0;
    scalars[0] = mu_product;
}
FG_PREPARE(nadam)

#define FG_OPTIM_FILE "fg_optim_nadam.c"
#include "fg_optim_dtypes.h"

FG_OPTIMIZER_DEFINE(nadam, NADAM, 2e-3, FG_COUNT(nadam_scalar),
                    .n_scalar = FG_COUNT(nadam_scalar), .scalar = nadam_scalar);

#else /* the step body, once per dtype */

/* key = 2 * weight-decay mode (see the body) + small lerp weight */
FG_STEP_BODY(nadam, 2, (FG_T *FG_RESTRICT m, FG_T *FG_RESTRICT v), (m, v), 6,
             (c->weight_decay == 0.0 ? 0 : (c->decoupled ? 2 : 1)) * 2
                 + fg_small_w(c->lerp_weight),
             !state[0] || !state[1])
{
    /* wd_mode: 0 none, 1 coupled, 2 decoupled */
    const int wd_mode = key >> 1, small_w = key & 1;
    FG_SIGN_AND_WD;
    const FG_T decay = (FG_T)c->decay_factor;
    const FG_T w = (FG_T)c->lerp_weight, omw = (FG_T)1 - w;
    const FG_T beta2 = (FG_T)c->beta2, omb2 = (FG_T)c->one_minus_beta2;
    const FG_T bc2 = (FG_T)c->bc2, eps = (FG_T)c->eps;
    const FG_T cg = (FG_T)c->coef_grad, cm = (FG_T)c->coef_avg;
    FG_UINT bad = 0;
    for (size_t i = 0; i < n; i++) {
        FG_ADAM_MOMENTS(i, wd_mode);
        const FG_T denom = FG_SQRT(vi / bc2) + eps;
        pi = pi + (cg * gi) / denom;
        FG_PARAM_OUT(i, pi + (cm * mi) / denom);
    }
    return bad;
}

#endif
