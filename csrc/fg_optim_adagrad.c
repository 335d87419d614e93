/* fg_optim_adagrad.c: Adagrad with learning-rate decay and L2 weight decay
 * (torch.optim.Adagrad):
 *   g <- -g if maximize;  g <- fma(p, wd, g) if wd != 0
 *   clr <- lr / (1 + (t - 1)*lr_decay)
 *   S <- fma(g, g, S);   p <- p + ((-clr)*g) / (sqrt(S) + eps)
 * State: sum, starting at initial_accumulator_value. */
#ifndef FG_T
#include "fg_optim_impl.h"
#include "fg_optim.h"

typedef fg_adagrad_coeffs adagrad_coeffs;

enum { LR_DECAY, WEIGHT_DECAY, INITIAL_ACCUMULATOR_VALUE, EPS, MAXIMIZE, N_HYPER };

static const fg_optim_hyper adagrad_hyper[N_HYPER] = {
    [LR_DECAY] = {"lr_decay", 0.0, FG_HYPER_REAL, 0.0, INFINITY, 0, 0},
    [WEIGHT_DECAY] = {"weight_decay", 0.0, FG_HYPER_REAL, 0.0, INFINITY, 0, 0},
    [INITIAL_ACCUMULATOR_VALUE] = {"initial_accumulator_value", 0.0, FG_HYPER_REAL, 0.0,
                                   INFINITY, 0, 0},
    [EPS] = {"eps", 1e-10, FG_HYPER_REAL, 0.0, INFINITY, 0, 0},
    [MAXIMIZE] = {"maximize", 0.0, FG_HYPER_FLAG, 0.0, 1.0, 0, 0},
};

static const fg_optim_state adagrad_state[] = {
    {"sum", 0.0, INITIAL_ACCUMULATOR_VALUE, FG_OPTIM_NONE},
};

static fg_status adagrad_prepare(void *coeffs, const double *h, double lr, int64_t step,
                                 double *scalars)
{
    if (!coeffs || fg_optimizer_check(&fg_optimizer_adagrad, h, lr, step, NULL) != FG_OK)
        return FG_ERR_ARG;
    fg_adagrad_coeffs *c = coeffs;
    c->neg_clr = -(lr / (1.0 + (double)(step - 1) * h[LR_DECAY]));
    c->eps = h[EPS];
    c->weight_decay = h[WEIGHT_DECAY];
    c->maximize = h[MAXIMIZE] != 0.0;
    return FG_OK;
}

fg_status fg_adagrad_prepare(fg_adagrad_coeffs *out, double lr, double lr_decay, double eps,
                             double weight_decay, int maximize, int64_t step)
{
    const double h[N_HYPER] = {lr_decay, weight_decay, 0.0, eps, maximize != 0};
    return adagrad_prepare(out, h, lr, step, NULL);
}

FG_OPTIM_FITS(adagrad, 0);
#define FG_OPTIM_FILE "fg_optim_adagrad.c"
#include "fg_optim_dtypes.h"

const fg_optimizer fg_optimizer_adagrad = {
    FG_OPTIM_ROW(adagrad, "adagrad", ADAGRAD, 1e-2, adagrad_hyper),
};

#else /* the step body, once per dtype */

FG_INLINE FG_UINT FG_NAME(adagrad_body)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                        const FG_T *FG_RESTRICT g, FG_T *FG_RESTRICT sum,
                                        size_t n, const fg_adagrad_coeffs *c, const int use_wd,
                                        const int oop)
{
    const FG_T sign = c->maximize ? (FG_T)-1 : (FG_T)1;
    const FG_T wd = (FG_T)c->weight_decay, eps = (FG_T)c->eps;
    const FG_T neg_clr = (FG_T)c->neg_clr;
    FG_UINT bad = 0;
    for (size_t i = 0; i < n; i++) {
        const FG_T pi = FG_PARAM_IN(i);
        FG_T gi = sign * g[i];
        if (use_wd) gi = FG_FMA(pi, wd, gi);
        FG_T si = FG_FMA(gi, gi, sum[i]);
        sum[i] = si;
        FG_PARAM_OUT(i, pi + (neg_clr * gi) / (FG_SQRT(si) + eps));
    }
    return bad;
}

FG_VECTOR_CLONES
static FG_UINT FG_NAME(adagrad_loop)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                     const FG_T *FG_RESTRICT g, FG_T *FG_RESTRICT sum,
                                     size_t n, const fg_adagrad_coeffs *c)
{
#define FG_ADAGRAD_CASES(o)                                                    \
    if (c->weight_decay != 0.0) return FG_NAME(adagrad_body)(src, p, g, sum, n, c, 1, o); \
    return FG_NAME(adagrad_body)(src, p, g, sum, n, c, 0, o);
    FG_BOTH_WAYS(FG_ADAGRAD_CASES)
#undef FG_ADAGRAD_CASES
}

static fg_status FG_NAME(adagrad_step)(FG_STEP_ARGS)
{
    const fg_adagrad_coeffs *c = coeffs;
    if (!c || !FG_STEP_ARRAYS_OK() || (n && !state[0])) return FG_ERR_ARG;
    return FG_STEP_STATUS(FG_NAME(adagrad_loop)(src, param, grad, state[0], n, c));
}

FG_TYPED_STEPS(adagrad, fg_adagrad_coeffs, (FG_T *state_sum),
               (state_sum))

#endif
