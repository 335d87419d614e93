/* fg_optim_rmsprop.c: RMSprop, centered, with momentum and L2 weight decay
 * (torch.optim.RMSprop; no bias correction, the step number is unused):
 *   g <- -g if maximize;  g <- fma(p, wd, g) if wd != 0
 *   s <- fma(g, g*(1 - alpha), s*alpha)
 *   centered: gbar <- lerp(gbar, g, 1 - alpha);  avg <- sqrt(fma(-gbar, gbar, s)) + eps
 *   else:     avg <- sqrt(s) + eps
 *   momentum > 0: buf <- buf*momentum + g/avg;  p <- fma(buf, -lr, p)
 *   else:         p <- p + ((-lr)*g)/avg
 * State: square_avg, momentum_buffer (only with momentum > 0), grad_avg
 * (only when centered).
 *
 * The limit of the centered form: s - gbar^2 is the variance estimate, and
 * with alpha = 0 it is exactly 0 in exact arithmetic (s = g^2, gbar = g).
 * The fused multiply-add returns what rounding leaves of it, the error of
 * the rounded g^2: negative for about half the elements, whose sqrt is NaN.
 * torch forms it the same way and gives the same NaNs; use alpha > 0. */
#ifndef FG_T
#include "fg_optim_impl.h"
#include "fg_optim.h"

typedef fg_rmsprop_coeffs rmsprop_coeffs;

enum { ALPHA, EPS, WEIGHT_DECAY, MOMENTUM, CENTERED, MAXIMIZE, N_HYPER };

static const fg_optim_hyper rmsprop_hyper[N_HYPER] = {
    [ALPHA] = {"alpha", 0.99, FG_HYPER_REAL, 0.0, INFINITY, 0, 0},
    [EPS] = {"eps", 1e-8, FG_HYPER_REAL, 0.0, INFINITY, 0, 0},
    [WEIGHT_DECAY] = {"weight_decay", 0.0, FG_HYPER_REAL, 0.0, INFINITY, 0, 0},
    [MOMENTUM] = {"momentum", 0.0, FG_HYPER_REAL, 0.0, INFINITY, 0, 0},
    [CENTERED] = {"centered", 0.0, FG_HYPER_FLAG, 0.0, 1.0, 0, 0},
    [MAXIMIZE] = {"maximize", 0.0, FG_HYPER_FLAG, 0.0, 1.0, 0, 0},
};

static const fg_optim_state rmsprop_state[] = {
    {"square_avg", 0.0, FG_OPTIM_NONE, FG_OPTIM_NONE},
    {"momentum_buffer", 0.0, FG_OPTIM_NONE, MOMENTUM},
    {"grad_avg", 0.0, FG_OPTIM_NONE, CENTERED},
};

static fg_status rmsprop_prepare(void *coeffs, const double *h, double lr, int64_t step,
                                 double *scalars)
{
    if (!coeffs || fg_optimizer_check(&fg_optimizer_rmsprop, h, lr, step, NULL) != FG_OK)
        return FG_ERR_ARG;
    fg_rmsprop_coeffs *c = coeffs;
    c->lr = lr;
    c->alpha = h[ALPHA];
    c->one_minus_alpha = 1.0 - h[ALPHA];
    c->lerp_weight = 1.0 - h[ALPHA];
    c->eps = h[EPS];
    c->weight_decay = h[WEIGHT_DECAY];
    c->momentum = h[MOMENTUM];
    c->centered = h[CENTERED] != 0.0;
    c->maximize = h[MAXIMIZE] != 0.0;
    return FG_OK;
}

fg_status fg_rmsprop_prepare(fg_rmsprop_coeffs *out, double lr, double alpha, double eps,
                             double weight_decay, double momentum, int centered,
                             int maximize, int64_t step)
{
    const double h[N_HYPER] = {alpha, eps, weight_decay, momentum, centered != 0,
                               maximize != 0};
    return rmsprop_prepare(out, h, lr, step, NULL);
}

FG_OPTIM_FITS(rmsprop, 0);
#define FG_OPTIM_FILE "fg_optim_rmsprop.c"
#include "fg_optim_dtypes.h"

const fg_optimizer fg_optimizer_rmsprop = {
    FG_OPTIM_ROW(rmsprop, "rmsprop", RMSPROP, 1e-2, rmsprop_hyper),
};

#else /* the step body, once per dtype */

FG_INLINE FG_UINT FG_NAME(rmsprop_body)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                        const FG_T *FG_RESTRICT g, FG_T *FG_RESTRICT s,
                                        FG_T *FG_RESTRICT buf, FG_T *FG_RESTRICT gbar,
                                        size_t n, const fg_rmsprop_coeffs *c,
                                        const int use_wd, const int centered,
                                        const int use_mom, const int small_w, const int oop)
{
    const FG_T sign = c->maximize ? (FG_T)-1 : (FG_T)1;
    const FG_T wd = (FG_T)c->weight_decay, alpha = (FG_T)c->alpha;
    const FG_T oma = (FG_T)c->one_minus_alpha;
    const FG_T w = (FG_T)c->lerp_weight, omw = (FG_T)1 - w;
    const FG_T eps = (FG_T)c->eps, mom = (FG_T)c->momentum, neg_lr = (FG_T)(-c->lr);
    FG_UINT bad = 0;
    for (size_t i = 0; i < n; i++) {
        const FG_T pi = FG_PARAM_IN(i);
        FG_T gi = sign * g[i];
        if (use_wd) gi = FG_FMA(pi, wd, gi);
        FG_T si = FG_FMA(gi, gi * oma, s[i] * alpha);
        s[i] = si;
        FG_T avg;
        if (centered) {
            FG_T gb = FG_LERP(gbar[i], gi, w, omw, small_w);
            gbar[i] = gb;
            avg = FG_SQRT(FG_FMA(-gb, gb, si)) + eps;
        } else {
            avg = FG_SQRT(si) + eps;
        }
        if (use_mom) {
            FG_T b = buf[i] * mom + gi / avg;
            buf[i] = b;
            FG_PARAM_OUT(i, FG_FMA(b, neg_lr, pi));
        } else {
            FG_PARAM_OUT(i, pi + (neg_lr * gi) / avg);
        }
    }
    return bad;
}

FG_VECTOR_CLONES
static FG_UINT FG_NAME(rmsprop_loop)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                     const FG_T *FG_RESTRICT g, FG_T *FG_RESTRICT s,
                                     FG_T *FG_RESTRICT buf, FG_T *FG_RESTRICT gbar, size_t n,
                                     const fg_rmsprop_coeffs *c)
{
    const double w = c->lerp_weight;
    const int small_w = (w < 0 ? -w : w) < 0.5;
    const int key = (c->weight_decay != 0.0) * 8 + (c->centered != 0) * 4
                    + (c->momentum > 0.0) * 2 + small_w;
#define FG_RMS(a, b, d, e, o) \
    return FG_NAME(rmsprop_body)(src, p, g, s, buf, gbar, n, c, a, b, d, e, o)
#define FG_RMS_CASES(o)                                                        \
    switch (key) {                                                             \
    case 0: FG_RMS(0, 0, 0, 0, o);                                             \
    case 1: FG_RMS(0, 0, 0, 1, o);                                             \
    case 2: FG_RMS(0, 0, 1, 0, o);                                             \
    case 3: FG_RMS(0, 0, 1, 1, o);                                             \
    case 4: FG_RMS(0, 1, 0, 0, o);                                             \
    case 5: FG_RMS(0, 1, 0, 1, o);                                             \
    case 6: FG_RMS(0, 1, 1, 0, o);                                             \
    case 7: FG_RMS(0, 1, 1, 1, o);                                             \
    case 8: FG_RMS(1, 0, 0, 0, o);                                             \
    case 9: FG_RMS(1, 0, 0, 1, o);                                             \
    case 10: FG_RMS(1, 0, 1, 0, o);                                            \
    case 11: FG_RMS(1, 0, 1, 1, o);                                            \
    case 12: FG_RMS(1, 1, 0, 0, o);                                            \
    case 13: FG_RMS(1, 1, 0, 1, o);                                            \
    case 14: FG_RMS(1, 1, 1, 0, o);                                            \
    default: FG_RMS(1, 1, 1, 1, o);                                            \
    }
    FG_BOTH_WAYS(FG_RMS_CASES)
#undef FG_RMS_CASES
#undef FG_RMS
}

static fg_status FG_NAME(rmsprop_step)(FG_STEP_ARGS)
{
    const fg_rmsprop_coeffs *c = coeffs;
    if (!c || !FG_STEP_ARRAYS_OK() || (n && !state[0]) || (n && c->momentum > 0.0 && !state[1])
        || (n && c->centered && !state[2]))
        return FG_ERR_ARG;
    return FG_STEP_STATUS(FG_NAME(rmsprop_loop)(src, param, grad, state[0], state[1], state[2],
                                                n, c));
}

FG_TYPED_STEPS(rmsprop, fg_rmsprop_coeffs,
               (FG_T *square_avg, FG_T *momentum_buffer, FG_T *grad_avg),
               (square_avg, momentum_buffer, grad_avg))

#endif
