/* fg_optim_adam.c: Adam and AdamW (torch.optim.Adam, torch.optim.AdamW, which
 * is Adam with decoupled_weight_decay), with AMSGrad:
 *   g <- -g if maximize
 *   decoupled: p <- p*(1 - lr*wd)     else: g <- fma(p, wd, g)    (if wd != 0)
 *   m <- lerp(m, g, 1 - beta1)        (ATen's two-branch lerp, with fma)
 *   v <- fma(g, g*(1 - beta2), v*beta2)
 *   vmax <- max(vmax, v) if amsgrad   (the raw v; NaN propagates)
 *   denom <- sqrt(amsgrad ? vmax : v) / pow(1 - beta2^t, 0.5) + eps
 *   p <- p + ((-lr/(1 - beta1^t)) * m) / denom
 * State: exp_avg, exp_avg_sq, max_exp_avg_sq (only with amsgrad). */
#ifndef FG_T
#include "fg_optim_impl.h"
#include "fg_optim.h"

typedef fg_adam_coeffs adam_coeffs;

enum { BETA1, BETA2, EPS, WEIGHT_DECAY, AMSGRAD, MAXIMIZE, DECOUPLED, N_HYPER };

/* Adam and AdamW differ only in two defaults. */
#define ADAM_HYPER(wd_default, decoupled_default)                              \
    {                                                                          \
        [BETA1] = {"beta1", 0.9, FG_HYPER_REAL, 0.0, 1.0, 0, 1},               \
        [BETA2] = {"beta2", 0.999, FG_HYPER_REAL, 0.0, 1.0, 0, 1},             \
        [EPS] = {"eps", 1e-8, FG_HYPER_REAL, 0.0, INFINITY, 0, 0},             \
        [WEIGHT_DECAY] = {"weight_decay", wd_default, FG_HYPER_REAL, 0.0, INFINITY, 0, 0}, \
        [AMSGRAD] = {"amsgrad", 0.0, FG_HYPER_FLAG, 0.0, 1.0, 0, 0},           \
        [MAXIMIZE] = {"maximize", 0.0, FG_HYPER_FLAG, 0.0, 1.0, 0, 0},         \
        [DECOUPLED] = {"decoupled_weight_decay", decoupled_default, FG_HYPER_FLAG, 0.0, 1.0, \
                       0, 0},                                                  \
    }
static const fg_optim_hyper adam_hyper[N_HYPER] = ADAM_HYPER(0.0, 0.0);
static const fg_optim_hyper adamw_hyper[N_HYPER] = ADAM_HYPER(1e-2, 1.0);

static const fg_optim_state adam_state[] = {
    {"exp_avg", 0.0, FG_OPTIM_NONE, FG_OPTIM_NONE},
    {"exp_avg_sq", 0.0, FG_OPTIM_NONE, FG_OPTIM_NONE},
    {"max_exp_avg_sq", 0.0, FG_OPTIM_NONE, AMSGRAD},
};

/* The coefficients from the bias corrections bc1 = 1 - beta1^t and
 * bc2_sqrt = (1 - beta2^t)^(1/2) (h: checked). */
static void adam_set_coeffs(fg_adam_coeffs *c, const double *h, double lr, double bc1,
                        double bc2_sqrt)
{
    c->lerp_weight = 1.0 - h[BETA1];
    c->beta2 = h[BETA2];
    c->one_minus_beta2 = 1.0 - h[BETA2];
    c->eps = h[EPS];
    c->weight_decay = h[WEIGHT_DECAY];
    c->decay_factor = 1.0 - lr * h[WEIGHT_DECAY];
    c->neg_step_size = -(lr / bc1);
    c->bc2_sqrt = bc2_sqrt;
    c->amsgrad = h[AMSGRAD] != 0.0;
    c->maximize = h[MAXIMIZE] != 0.0;
    c->decoupled = h[DECOUPLED] != 0.0;
}

static void adam_set(fg_adam_coeffs *c, const double *h, double lr, int64_t step,
                     double *scalars)
{
    const double t = (double)step;
    /* torch's bc2**0.5, not sqrt(): they differ in rare ulps */
    adam_set_coeffs(c, h, lr, 1.0 - pow(h[BETA1], t), pow(1.0 - pow(h[BETA2], t), 0.5));
}
FG_PREPARE(adam)

fg_status fg_adam_prepare(fg_adam_coeffs *out, double lr, double beta1, double beta2,
                          double eps, double weight_decay, int amsgrad, int maximize,
                          int decoupled, int64_t step)
{
    const double h[N_HYPER] = {beta1, beta2, eps, weight_decay, amsgrad != 0, maximize != 0,
                               decoupled != 0};
    return adam_prepare(out, h, lr, step, NULL);
}

/* The incremental prepare: the powers beta1^t, beta2^t as running products
 * in double-double (hi + lo, Dekker's exact product per factor and step)
 * instead of two pow() calls per step, which cost about a quarter of a
 * minimize iteration at n = 100. The product's relative error after t
 * steps is about t * 2^-104, so hi + lo rounds to the correctly rounded
 * beta^t; 1 - beta^t is then formed as torch forms it, and bc2's square
 * root with sqrt(). pow() is within 0.52 ulp and pow(bc2, 0.5) is not
 * always sqrt(bc2), so in rare steps a bias correction differs from
 * prepare's in its last bit. Once both powers are below 2^-60, 1 - beta^t
 * is exactly 1 and the products stop (they would only sink into
 * subnormals). running = {beta1^t as hi, lo; beta2^t as hi, lo; beta1 and
 * beta2 split in halves}. */
enum { R_H1, R_L1, R_H2, R_L2, R_B1H, R_B1L, R_B2H, R_B2L, N_RUNNING };

/* Veltkamp's split a = hi + lo into two 26-bit halves, so that products of
 * halves are exact. Plain arithmetic rather than fma(): this is built for
 * baseline x86-64 too, where fma() is a libm call (with -ffp-contract=off
 * the compiler contracts nothing here either). */
static void dd_split(double a, double *hi, double *lo)
{
    const double c = 134217729.0 * a;   /* 2^27 + 1 */
    *hi = c - (c - a);
    *lo = a - *hi;
}

/* (hi + lo) *= b, b = bh + bl split: Dekker's exact product hi*b = p + e,
 * plus lo*b, renormalized. */
static void dd_mul(double *hi, double *lo, double bh, double bl)
{
    const double b = bh + bl;   /* exact: the halves of a split */
    double ah, al;
    dd_split(*hi, &ah, &al);
    const double p = *hi * b;
    const double e = (((ah * bh - p) + ah * bl) + al * bh) + al * bl + *lo * b;
    const double s = p + e;
    *lo = e - (s - p);
    *hi = s;
}

static fg_status adam_running_start(double *r, const double *h, int fresh)
{
    double b1h, b1l, b2h, b2l;
    dd_split(h[BETA1], &b1h, &b1l);
    dd_split(h[BETA2], &b2h, &b2l);
    if (fresh) {
        r[R_H1] = r[R_H2] = 1.0;   /* beta^0 */
        r[R_L1] = r[R_L2] = 0.0;
        r[R_B1H] = b1h;
        r[R_B1L] = b1l;
        r[R_B2H] = b2h;
        r[R_B2L] = b2l;
        return FG_OK;
    }
    /* carried: powers in [0, 1] with a finite tail, the splits of these betas */
    const int ok = r[R_H1] >= 0.0 && r[R_H1] <= 1.0 && r[R_H2] >= 0.0 && r[R_H2] <= 1.0
                   && isfinite(r[R_L1]) && isfinite(r[R_L2]) && r[R_B1H] == b1h
                   && r[R_B1L] == b1l && r[R_B2H] == b2h && r[R_B2L] == b2l;
    return ok ? FG_OK : FG_ERR_ARG;
}

static void adam_running_advance(double *r)
{
    if (r[R_H1] < 0x1p-60 && r[R_H2] < 0x1p-60) return;
    dd_mul(&r[R_H1], &r[R_L1], r[R_B1H], r[R_B1L]);
    dd_mul(&r[R_H2], &r[R_L2], r[R_B2H], r[R_B2L]);
}

static void adam_running_prepare(void *coeffs, const double *h, double lr, const double *r)
{
    fg_adam_coeffs *c = coeffs;   /* the other fields are prepare's */
    c->neg_step_size = -(lr / (1.0 - (r[R_H1] + r[R_L1])));
    c->bc2_sqrt = sqrt(1.0 - (r[R_H2] + r[R_L2]));
    c->decay_factor = 1.0 - lr * h[WEIGHT_DECAY];
}

FG_OPTIM_FITS(adam, 0);
#define FG_OPTIM_FILE "fg_optim_adam.c"
#include "fg_optim_dtypes.h"

/* Adam and AdamW: the same functions, different defaults. */
#define ADAM_ROW(id, KIND, hyper_rows)                                         \
    {                                                                          \
        FG_OPTIM_ROW(adam, id, KIND, 1e-3, hyper_rows),                        \
        .n_running = N_RUNNING, .running_start = adam_running_start,           \
        .running_advance = adam_running_advance,                               \
        .running_prepare = adam_running_prepare,                               \
    }
const fg_optimizer fg_optimizer_adam = ADAM_ROW("adam", ADAM, adam_hyper);
const fg_optimizer fg_optimizer_adamw = ADAM_ROW("adamw", ADAMW, adamw_hyper);

#else /* the step body, once per dtype */

/* key = 4 * weight-decay mode (see the body) + 2 * amsgrad + small lerp weight */
FG_STEP_BODY(adam, 3, (FG_T *FG_RESTRICT m, FG_T *FG_RESTRICT v, FG_T *FG_RESTRICT vmax),
             (m, v, vmax), 12,
             (c->weight_decay == 0.0 ? 0 : (c->decoupled ? 2 : 1)) * 4
                 + (c->amsgrad != 0) * 2 + fg_small_w(c->lerp_weight),
             !state[0] || !state[1] || (c->amsgrad && !state[2]))
{
    /* wd_mode: 0 none, 1 coupled (Adam), 2 decoupled (AdamW) */
    const int wd_mode = key >> 2, amsgrad = (key >> 1) & 1, small_w = key & 1;
    FG_SIGN_AND_WD;
    const FG_T decay = (FG_T)c->decay_factor;
    const FG_T w = (FG_T)c->lerp_weight, omw = (FG_T)1 - w;
    const FG_T beta2 = (FG_T)c->beta2, omb2 = (FG_T)c->one_minus_beta2;
    const FG_T bc2_sqrt = (FG_T)c->bc2_sqrt, eps = (FG_T)c->eps;
    const FG_T neg_ss = (FG_T)c->neg_step_size;
    FG_UINT bad = 0;
    for (size_t i = 0; i < n; i++) {
        FG_ADAM_MOMENTS(i, wd_mode);
        FG_T vv = vi;
        if (amsgrad) {
            FG_T vm = FG_MAX_NAN(vmax[i], vi);
            vmax[i] = vm;
            vv = vm;
        }
        FG_T denom = FG_SQRT(vv) / bc2_sqrt + eps;
        FG_PARAM_OUT(i, pi + (neg_ss * mi) / denom);
    }
    return bad;
}

FG_TYPED_STEPS(adam, fg_adam_coeffs, (FG_T *exp_avg, FG_T *exp_avg_sq, FG_T *max_exp_avg_sq),
               (exp_avg, exp_avg_sq, max_exp_avg_sq))

#endif
