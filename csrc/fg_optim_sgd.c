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

static fg_status sgd_prepare(void *coeffs, const double *h, double lr, int64_t step,
                             double *scalars)
{
    if (!coeffs || fg_optimizer_check(&fg_optimizer_sgd, h, lr, step, NULL) != FG_OK)
        return FG_ERR_ARG;
    fg_sgd_coeffs *c = coeffs;
    c->lr = lr;
    c->momentum = h[MOMENTUM];
    c->one_minus_dampening = 1.0 - h[DAMPENING];
    c->weight_decay = h[WEIGHT_DECAY];
    c->nesterov = h[NESTEROV] != 0.0;
    c->maximize = h[MAXIMIZE] != 0.0;
    c->first_step = step == 1;
    return FG_OK;
}

fg_status fg_sgd_prepare(fg_sgd_coeffs *out, double lr, double momentum, double dampening,
                         double weight_decay, int nesterov, int maximize, int64_t step)
{
    const double h[N_HYPER] = {momentum, dampening, weight_decay, nesterov != 0, maximize != 0};
    return sgd_prepare(out, h, lr, step, NULL);
}

FG_OPTIM_FITS(sgd, 0);
#define FG_OPTIM_FILE "fg_optim_sgd.c"
#include "fg_optim_dtypes.h"

const fg_optimizer fg_optimizer_sgd = {
    FG_OPTIM_ROW(sgd, "sgd", SGD, 1e-3, sgd_hyper),
    .check = sgd_check,
    .rule = "nesterov=True requires momentum > 0 and dampening == 0",
};

#else /* the step body, once per dtype */

FG_INLINE FG_UINT FG_NAME(sgd_body)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                    const FG_T *FG_RESTRICT g, FG_T *FG_RESTRICT buf,
                                    size_t n, FG_T sign, FG_T wd, FG_T mom, FG_T omd,
                                    FG_T neg_lr, const int use_wd, const int mom_mode,
                                    const int oop)
{
    /* mom_mode: 0 none, 1 first step, 2 first step Nesterov, 3 later, 4 later Nesterov */
    FG_UINT bad = 0;
    for (size_t i = 0; i < n; i++) {
        const FG_T pi = FG_PARAM_IN(i);
        FG_T gi = sign * g[i];
        if (use_wd) gi = FG_FMA(pi, wd, gi);
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

FG_VECTOR_CLONES
static FG_UINT FG_NAME(sgd_loop)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                 const FG_T *FG_RESTRICT g, FG_T *FG_RESTRICT buf, size_t n,
                                 const fg_sgd_coeffs *c)
{
    const FG_T sign = c->maximize ? (FG_T)-1 : (FG_T)1;
    const FG_T wd = (FG_T)c->weight_decay, mom = (FG_T)c->momentum;
    const FG_T omd = (FG_T)c->one_minus_dampening, neg_lr = (FG_T)(-c->lr);
    const int use_wd = c->weight_decay != 0.0;
    const int mom_mode = c->momentum == 0.0 ? 0 : (c->first_step ? 1 : 3) + (c->nesterov != 0);
#define FG_SGD(w, m, o) \
    return FG_NAME(sgd_body)(src, p, g, buf, n, sign, wd, mom, omd, neg_lr, w, m, o)
#define FG_SGD_CASES(o)                                                        \
    switch (use_wd * 8 + mom_mode) {                                           \
    case 0: FG_SGD(0, 0, o);                                                   \
    case 1: FG_SGD(0, 1, o);                                                   \
    case 2: FG_SGD(0, 2, o);                                                   \
    case 3: FG_SGD(0, 3, o);                                                   \
    case 4: FG_SGD(0, 4, o);                                                   \
    case 8: FG_SGD(1, 0, o);                                                   \
    case 9: FG_SGD(1, 1, o);                                                   \
    case 10: FG_SGD(1, 2, o);                                                  \
    case 11: FG_SGD(1, 3, o);                                                  \
    default: FG_SGD(1, 4, o);                                                  \
    }
    FG_BOTH_WAYS(FG_SGD_CASES)
#undef FG_SGD_CASES
#undef FG_SGD
}

static fg_status FG_NAME(sgd_step)(FG_STEP_ARGS)
{
    const fg_sgd_coeffs *c = coeffs;
    if (!c || !FG_STEP_ARRAYS_OK() || (n && c->momentum != 0.0 && !state[0]))
        return FG_ERR_ARG;
    return FG_STEP_STATUS(FG_NAME(sgd_loop)(src, param, grad, state[0], n, c));
}

FG_TYPED_STEPS(sgd, fg_sgd_coeffs, (FG_T *momentum_buffer),
               (momentum_buffer))

#endif
