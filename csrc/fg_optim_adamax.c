/* fg_optim_adamax.c: Adamax, Adam with the infinity norm (torch.optim.Adamax):
 *   g <- -g if maximize;  g <- fma(p, wd, g) if wd != 0
 *   m <- lerp(m, g, 1 - beta1)            (ATen's two-branch lerp, with fma)
 *   u <- max(u*beta2, |g| + eps)          (NaN propagates, as torch.maximum)
 *   p <- p + ((-lr/(1 - beta1^t)) * m) / u
 * eps sits inside the max, added to |g|, not to the denominator: u >= eps
 * from the first step on. State: exp_avg, exp_inf. */
#ifndef FG_T
#include "fg_optim_impl.h"

enum { BETA1, BETA2, EPS, WEIGHT_DECAY, MAXIMIZE, N_HYPER };

static const fg_optim_hyper adamax_hyper[N_HYPER] = {
    [BETA1] = {"beta1", 0.9, FG_HYPER_REAL, 0.0, 1.0, 0, 1},
    [BETA2] = {"beta2", 0.999, FG_HYPER_REAL, 0.0, 1.0, 0, 1},
    [EPS] = {"eps", 1e-8, FG_HYPER_REAL, 0.0, INFINITY, 0, 0},
    [WEIGHT_DECAY] = {"weight_decay", 0.0, FG_HYPER_REAL, 0.0, INFINITY, 0, 0},
    [MAXIMIZE] = {"maximize", 0.0, FG_HYPER_FLAG, 0.0, 1.0, 0, 0},
};

static const fg_optim_state adamax_state[] = {
    {"exp_avg", 0.0, FG_OPTIM_NONE, FG_OPTIM_NONE},
    {"exp_inf", 0.0, FG_OPTIM_NONE, FG_OPTIM_NONE},
};

typedef struct adamax_coeffs {
    double lerp_weight;   /* 1 - beta1 */
    double beta2, eps, weight_decay;
    double neg_clr;       /* -lr / (1 - beta1^t) */
    int maximize;
} adamax_coeffs;

static void adamax_set(adamax_coeffs *c, const double *h, double lr, int64_t step,
                       double *scalars)
{
    c->lerp_weight = 1.0 - h[BETA1];
    c->beta2 = h[BETA2];
    c->eps = h[EPS];
    c->weight_decay = h[WEIGHT_DECAY];
    c->neg_clr = -(lr / (1.0 - pow(h[BETA1], (double)step)));
    c->maximize = h[MAXIMIZE] != 0.0;
}
FG_PREPARE(adamax)

#define FG_OPTIM_FILE "fg_optim_adamax.c"
#include "fg_optim_dtypes.h"

FG_OPTIMIZER_DEFINE(adamax, ADAMAX, 2e-3, 0);

#else /* the step body, once per dtype */

/* key = 2 * weight decay + small lerp weight */
FG_STEP_BODY(adamax, 2, (FG_T *FG_RESTRICT m, FG_T *FG_RESTRICT u), (m, u), 4,
             (c->weight_decay != 0.0) * 2 + fg_small_w(c->lerp_weight),
             !state[0] || !state[1])
{
    const int use_wd = key >> 1, small_w = key & 1;
    FG_SIGN_AND_WD;
    const FG_T eps = (FG_T)c->eps, beta2 = (FG_T)c->beta2;
    const FG_T w = (FG_T)c->lerp_weight, omw = (FG_T)1 - w;
    const FG_T neg_clr = (FG_T)c->neg_clr;
    FG_UINT bad = 0;
    for (size_t i = 0; i < n; i++) {
        const FG_T pi = FG_PARAM_IN(i);
        const FG_T gi = FG_GRAD_IN(i, pi, use_wd);
        const FG_T mi = FG_LERP(m[i], gi, w, omw, small_w);
        const FG_T ui = FG_MAX_NAN(u[i] * beta2, FG_FABS(gi) + eps);
        m[i] = mi;
        u[i] = ui;
        FG_PARAM_OUT(i, pi + (neg_clr * mi) / ui);
    }
    return bad;
}

#endif
