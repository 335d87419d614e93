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

static fg_status adamax_prepare(void *coeffs, const double *h, double lr, int64_t step,
                                double *scalars)
{
    if (!coeffs || fg_optimizer_check(&fg_optimizer_adamax, h, lr, step, NULL) != FG_OK)
        return FG_ERR_ARG;
    adamax_coeffs *c = coeffs;
    c->lerp_weight = 1.0 - h[BETA1];
    c->beta2 = h[BETA2];
    c->eps = h[EPS];
    c->weight_decay = h[WEIGHT_DECAY];
    c->neg_clr = -(lr / (1.0 - pow(h[BETA1], (double)step)));
    c->maximize = h[MAXIMIZE] != 0.0;
    return FG_OK;
}

FG_OPTIM_FITS(adamax, 0);
#define FG_OPTIM_FILE "fg_optim_adamax.c"
#include "fg_optim_dtypes.h"

const fg_optimizer fg_optimizer_adamax = {
    FG_OPTIM_ROW(adamax, "adamax", ADAMAX, 2e-3, adamax_hyper),
};

#else /* the step body, once per dtype */

FG_INLINE FG_UINT FG_NAME(adamax_body)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                       const FG_T *FG_RESTRICT g, FG_T *FG_RESTRICT m,
                                       FG_T *FG_RESTRICT u, size_t n, const adamax_coeffs *c,
                                       const int use_wd, const int small_w, const int oop)
{
    const FG_T sign = c->maximize ? (FG_T)-1 : (FG_T)1;
    const FG_T wd = (FG_T)c->weight_decay, eps = (FG_T)c->eps, beta2 = (FG_T)c->beta2;
    const FG_T w = (FG_T)c->lerp_weight, omw = (FG_T)1 - w;
    const FG_T neg_clr = (FG_T)c->neg_clr;
    FG_UINT bad = 0;
    for (size_t i = 0; i < n; i++) {
        const FG_T pi = FG_PARAM_IN(i);
        FG_T gi = sign * g[i];
        if (use_wd) gi = FG_FMA(pi, wd, gi);
        const FG_T mi = FG_LERP(m[i], gi, w, omw, small_w);
        const FG_T ui = FG_MAX_NAN(u[i] * beta2, FG_FABS(gi) + eps);
        m[i] = mi;
        u[i] = ui;
        FG_PARAM_OUT(i, pi + (neg_clr * mi) / ui);
    }
    return bad;
}

FG_VECTOR_CLONES
static FG_UINT FG_NAME(adamax_loop)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                    const FG_T *FG_RESTRICT g, FG_T *FG_RESTRICT m,
                                    FG_T *FG_RESTRICT u, size_t n, const adamax_coeffs *c)
{
    const double w = c->lerp_weight;
    const int small_w = (w < 0 ? -w : w) < 0.5;
#define FG_ADAMAX(a, s, o) return FG_NAME(adamax_body)(src, p, g, m, u, n, c, a, s, o)
#define FG_ADAMAX_CASES(o)                                                     \
    switch ((c->weight_decay != 0.0) * 2 + small_w) {                          \
    case 0: FG_ADAMAX(0, 0, o);                                                \
    case 1: FG_ADAMAX(0, 1, o);                                                \
    case 2: FG_ADAMAX(1, 0, o);                                                \
    default: FG_ADAMAX(1, 1, o);                                               \
    }
    FG_BOTH_WAYS(FG_ADAMAX_CASES)
#undef FG_ADAMAX_CASES
#undef FG_ADAMAX
}

static fg_status FG_NAME(adamax_step)(FG_STEP_ARGS)
{
    if (!coeffs || !FG_STEP_ARRAYS_OK() || (n && (!state[0] || !state[1]))) return FG_ERR_ARG;
    return FG_STEP_STATUS(FG_NAME(adamax_loop)(src, param, grad, state[0], state[1], n, coeffs));
}

#endif
