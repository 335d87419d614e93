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

static void rmsprop_set(fg_rmsprop_coeffs *c, const double *h, double lr, int64_t step,
                        double *scalars)
{
    c->lr = lr;
    c->alpha = h[ALPHA];
    c->one_minus_alpha = 1.0 - h[ALPHA];
    c->lerp_weight = 1.0 - h[ALPHA];
    c->eps = h[EPS];
    c->weight_decay = h[WEIGHT_DECAY];
    c->momentum = h[MOMENTUM];
    c->centered = h[CENTERED] != 0.0;
    c->maximize = h[MAXIMIZE] != 0.0;
}
FG_PREPARE(rmsprop)

fg_status fg_rmsprop_prepare(fg_rmsprop_coeffs *out, double lr, double alpha, double eps,
                             double weight_decay, double momentum, int centered,
                             int maximize, int64_t step)
{
    const double h[N_HYPER] = {alpha, eps, weight_decay, momentum, centered != 0,
                               maximize != 0};
    return rmsprop_prepare(out, h, lr, step, NULL);
}

#define FG_OPTIM_FILE "fg_optim_rmsprop.c"
#include "fg_optim_dtypes.h"

FG_OPTIMIZER_DEFINE(rmsprop, RMSPROP, 1e-2, 0);

#else /* the step body, once per dtype */

/* key = 8 * weight decay + 4 * centered + 2 * momentum + small lerp weight */
FG_STEP_BODY(rmsprop, 3,
             (FG_T *FG_RESTRICT s, FG_T *FG_RESTRICT buf, FG_T *FG_RESTRICT gbar),
             (s, buf, gbar), 16,
             (c->weight_decay != 0.0) * 8 + (c->centered != 0) * 4
                 + (c->momentum > 0.0) * 2 + fg_small_w(c->lerp_weight),
             !state[0] || (c->momentum > 0.0 && !state[1]) || (c->centered && !state[2]))
{
    const int use_wd = key >> 3, centered = (key >> 2) & 1, use_mom = (key >> 1) & 1;
    const int small_w = key & 1;
    FG_SIGN_AND_WD;
    const FG_T alpha = (FG_T)c->alpha, oma = (FG_T)c->one_minus_alpha;
    const FG_T w = (FG_T)c->lerp_weight, omw = (FG_T)1 - w;
    const FG_T eps = (FG_T)c->eps, mom = (FG_T)c->momentum, neg_lr = (FG_T)(-c->lr);
    FG_UINT bad = 0;
    for (size_t i = 0; i < n; i++) {
        const FG_T pi = FG_PARAM_IN(i);
        const FG_T gi = FG_GRAD_IN(i, pi, use_wd);
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

FG_TYPED_STEPS(rmsprop, fg_rmsprop_coeffs,
               (FG_T *square_avg, FG_T *momentum_buffer, FG_T *grad_avg),
               (square_avg, momentum_buffer, grad_avg))

#endif
