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

static void adagrad_set(fg_adagrad_coeffs *c, const double *h, double lr, int64_t step,
                        double *scalars)
{
    c->neg_clr = -(lr / (1.0 + (double)(step - 1) * h[LR_DECAY]));
    c->eps = h[EPS];
    c->weight_decay = h[WEIGHT_DECAY];
    c->maximize = h[MAXIMIZE] != 0.0;
}
FG_PREPARE(adagrad)

fg_status fg_adagrad_prepare(fg_adagrad_coeffs *out, double lr, double lr_decay, double eps,
                             double weight_decay, int maximize, int64_t step)
{
    const double h[N_HYPER] = {lr_decay, weight_decay, 0.0, eps, maximize != 0};
    return adagrad_prepare(out, h, lr, step, NULL);
}

#define FG_OPTIM_FILE "fg_optim_adagrad.c"
#include "fg_optim_dtypes.h"

FG_OPTIMIZER_DEFINE(adagrad, ADAGRAD, 1e-2, 0);

#else /* the step body, once per dtype */

/* key: 1 with weight decay */
FG_STEP_BODY(adagrad, 1, (FG_T *FG_RESTRICT sum), (sum), 2, c->weight_decay != 0.0,
             !state[0])
{
    const int use_wd = key;
    FG_SIGN_AND_WD;
    const FG_T eps = (FG_T)c->eps, neg_clr = (FG_T)c->neg_clr;
    FG_UINT bad = 0;
    for (size_t i = 0; i < n; i++) {
        const FG_T pi = FG_PARAM_IN(i);
        const FG_T gi = FG_GRAD_IN(i, pi, use_wd);
        FG_T si = FG_FMA(gi, gi, sum[i]);
        sum[i] = si;
        FG_PARAM_OUT(i, pi + (neg_clr * gi) / (FG_SQRT(si) + eps));
    }
    return bad;
}

FG_TYPED_STEPS(adagrad, fg_adagrad_coeffs, (FG_T *state_sum),
               (state_sum))

#endif
