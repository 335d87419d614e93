/* fg_optim_sgd.c: SGD with momentum, dampening, Nesterov momentum and L2
 * weight decay (torch.optim.SGD):
 *   g <- -g if maximize;  g <- fma(p, wd, g) if wd != 0
 *   if momentum != 0:
 *       buf <- g                                    on the first step
 *       buf <- fma(g, 1 - dampening, buf*momentum)  afterwards
 *       d <- fma(buf, momentum, g) if nesterov else buf
 *   else d <- g
 *   p <- fma(d, -lr, p)
 * State: momentum_buffer (only with momentum != 0). */
#ifndef FG_T
#include "fg_optim_impl.h"
#include "fg_optim.h"

typedef fg_sgd_coeffs sgd_coeffs;

enum { MOMENTUM, DAMPENING, WEIGHT_DECAY, NESTEROV, MAXIMIZE, N_HYPER };

static const fg_optim_hyper sgd_hyper[N_HYPER] = {
    [MOMENTUM] = {"momentum", 0.0, FG_HYPER_REAL, 0.0, INFINITY, 0, 0},
    [DAMPENING] = {"dampening", 0.0, FG_HYPER_REAL, -INFINITY, INFINITY, 0, 0},
    [WEIGHT_DECAY] = {"weight_decay", 0.0, FG_HYPER_REAL, 0.0, INFINITY, 0, 0},
    [NESTEROV] = {"nesterov", 0.0, FG_HYPER_FLAG, 0.0, 1.0, 0, 0},
    [MAXIMIZE] = {"maximize", 0.0, FG_HYPER_FLAG, 0.0, 1.0, 0, 0},
};

static const fg_optim_state sgd_state[] = {
    {"momentum_buffer", 0.0, FG_OPTIM_NONE, MOMENTUM},
};

static int sgd_check(const double *h)
{
    return h[NESTEROV] != 0.0 && (h[MOMENTUM] <= 0.0 || h[DAMPENING] != 0.0) ? NESTEROV
                                                                             : FG_OPTIM_NONE;
}

static void sgd_set(fg_sgd_coeffs *c, const double *h, double lr, int64_t step,
                    double *scalars)
{
    c->lr = lr;
    c->momentum = h[MOMENTUM];
    c->one_minus_dampening = 1.0 - h[DAMPENING];
    c->weight_decay = h[WEIGHT_DECAY];
    c->nesterov = h[NESTEROV] != 0.0;
    c->maximize = h[MAXIMIZE] != 0.0;
    c->first_step = step == 1;
}
FG_PREPARE(sgd)

fg_status fg_sgd_prepare(fg_sgd_coeffs *out, double lr, double momentum, double dampening,
                         double weight_decay, int nesterov, int maximize, int64_t step)
{
    const double h[N_HYPER] = {momentum, dampening, weight_decay, nesterov != 0, maximize != 0};
    return sgd_prepare(out, h, lr, step, NULL);
}

#define FG_OPTIM_FILE "fg_optim_sgd.c"
#include "fg_optim_dtypes.h"

FG_OPTIMIZER_DEFINE(sgd, SGD, 1e-3, 0, .check = sgd_check,
                    .rule = "nesterov=True requires momentum > 0 and dampening == 0");

#else /* the step body, once per dtype */

/* key = 5 * weight decay + momentum mode (see the body) */
FG_STEP_BODY(sgd, 1, (FG_T *FG_RESTRICT buf), (buf), 10,
             (c->weight_decay != 0.0) * 5
                 + (c->momentum == 0.0 ? 0 : (c->first_step ? 1 : 3) + (c->nesterov != 0)),
             c->momentum != 0.0 && !state[0])
{
    /* mom_mode: 0 none, 1 first step, 2 first step Nesterov, 3 later, 4 later Nesterov */
    const int use_wd = key / 5, mom_mode = key % 5;
    FG_SIGN_AND_WD;
    const FG_T mom = (FG_T)c->momentum;
    const FG_T omd = (FG_T)c->one_minus_dampening, neg_lr = (FG_T)(-c->lr);
    FG_UINT bad = 0;
    for (size_t i = 0; i < n; i++) {
        const FG_T pi = FG_PARAM_IN(i);
        const FG_T gi = FG_GRAD_IN(i, pi, use_wd);
        FG_T d = gi;
        if (mom_mode) {
            FG_T b = (mom_mode <= 2) ? gi : FG_FMA(gi, omd, buf[i] * mom);
            buf[i] = b;
            d = (mom_mode == 2 || mom_mode == 4) ? FG_FMA(b, mom, gi) : b;
        }
        FG_PARAM_OUT(i, FG_FMA(d, neg_lr, pi));
    }
    return bad;
}

FG_TYPED_STEPS(sgd, fg_sgd_coeffs, (FG_T *momentum_buffer),
               (momentum_buffer))

#endif
