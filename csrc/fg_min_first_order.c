/* fg_min_first_order.c: the first-order minimize methods (gd, momentum,
 * nesterov, adam, adamw, rmsprop, adagrad), each one update of the
 * out-of-place kernels of fg_optim.h per iteration, so minimize follows
 * torch.optim's rules.
 *
 * Carried state (doubles): FO_SCALARS numbers, then the optimizer's buffers
 * of n each (momentum; exp_avg, exp_avg_sq, max_exp_avg_sq; square_avg,
 * momentum, grad_avg; state_sum). Unused option buffers (Adam's
 * max_exp_avg_sq without amsgrad) are still sized: the AVX-512 kernels
 * if-convert the option branches into masked loads, and a masked-off load
 * from NULL costs a fault-suppression microcode assist per vector on AMD Zen
 * (8x slower Adam at n = 100).
 *
 * Scalars: gd keeps its adaptive step (line_search = armijo) in [0]; Adam
 * and AdamW keep beta1^t and beta2^t as double-double running products in
 * [0..3] and in [4] whether [0..3] already hold the next step's powers.
 *
 * Adam's bias-correction powers as running products (hi + lo, Dekker's exact
 * product per factor and step) instead of torch's two pow() calls per step,
 * which cost about a quarter of an iteration at n = 100. The product's
 * relative error after t steps is about t * 2^-104, so hi + lo rounds to the
 * correctly rounded beta^t; 1 - beta^t is then formed as torch forms it,
 * and bc2's square root with sqrt(). pow() is within 0.52 ulp and pow(bc2,
 * 0.5) is not always sqrt(bc2), so in rare steps a bias correction differs
 * from torch's in its last bit: minimize's Adam equals the fastgrad.Adam
 * class bit for bit over thousands of steps in the tests, but only to
 * rounding in general. Once both powers are below 2^-60 and lr is fixed,
 * 1 - beta^t is exactly 1 and the coefficients are reused.
 */
#include <math.h>
#include <string.h>
#include "fg_min_method.h"

enum { FO_SCALARS = 5 };
enum { GD_STEP = 0 };
enum { ADAM_H1 = 0, ADAM_L1 = 1, ADAM_H2 = 2, ADAM_L2 = 3, ADAM_PREPARED = 4 };

/* gd with line_search = armijo: f(x(s)) <= f(x) + ARMIJO_C1 * g.(x(s) - x)
 * with c1 = 1/2 accepts s = 1/L on an L-smooth f (the descent lemma), so
 * the steps settle near the local 1/L; each iteration starts from twice the
 * last accepted step, so the step can grow again where f is flatter. */
static const double GD_ARMIJO_C1 = 0.5, GD_GROW = 2.0, GD_SHRINK = 0.5;
/* Hager and Zhang's epsilon for the approximate test (fg_linesearch.h) */
static const double GD_APPROX_EPS = 1e-6;
enum { GD_MAX_EVALS = 64 };

static size_t buffers(fg_minimize_method m)
{
    switch (m) {
    case FG_MIN_ADAM:
    case FG_MIN_ADAMW:
    case FG_MIN_RMSPROP: return 3;
    default: return 1;
    }
}

static fg_status fo_sizes(size_t n, const fg_minimize_options *o, size_t *state, size_t *scratch)
{
    size_t k = buffers(o->method);
    if (n > (SIZE_MAX - FO_SCALARS) / k) return FG_ERR_ARG;
    *state = FO_SCALARS + k * n;
    *scratch = 0;
    return FG_OK;
}

/* The kernels' prepare functions judge the hyperparameters (lr 0 when a
 * schedule supplies it). */
static fg_status fo_check(const fg_minimize_options *o)
{
    const double lr = o->lr_fn ? 0.0 : o->lr;
    switch (o->method) {
    case FG_MIN_GD:
    case FG_MIN_MOMENTUM:
    case FG_MIN_NESTEROV: {
        fg_sgd_coeffs c;
        if (o->line_search == FG_MIN_LS_ARMIJO
            && (o->weight_decay != 0.0 || o->lr_fn || !(o->lr > 0.0)))
            return FG_ERR_ARG;   /* the search starts from lr > 0 and tests f itself */
        return fg_sgd_prepare(&c, lr, o->method == FG_MIN_GD ? 0.0 : o->momentum, o->dampening,
                              o->weight_decay, o->method == FG_MIN_NESTEROV, o->maximize, 1);
    }
    case FG_MIN_ADAM:
    case FG_MIN_ADAMW: {
        fg_adam_coeffs c;
        return fg_adam_prepare(&c, lr, o->beta1, o->beta2, o->eps, o->weight_decay, o->amsgrad,
                               o->maximize, o->method == FG_MIN_ADAMW, 1);
    }
    case FG_MIN_RMSPROP: {
        fg_rmsprop_coeffs c;
        return fg_rmsprop_prepare(&c, lr, o->alpha, o->eps, o->weight_decay, o->momentum,
                                  o->centered, o->maximize, 1);
    }
    case FG_MIN_ADAGRAD: {
        fg_adagrad_coeffs c;
        if (!(o->initial_accumulator_value >= 0.0) || !isfinite(o->initial_accumulator_value))
            return FG_ERR_ARG;
        return fg_adagrad_prepare(&c, lr, o->lr_decay, o->eps, o->weight_decay, o->maximize, 1);
    }
    default: return FG_ERR_ARG;
    }
}

/* ---- Adam's powers ------------------------------------------------------ */

/* Veltkamp's split a = hi + lo into two 26-bit halves, so that products of
 * halves are exact. Plain arithmetic rather than fma(): the driver is built
 * for baseline x86-64, where fma() is a libm call (with -ffp-contract=off
 * the compiler contracts nothing here either). */
static void dd_split(double a, double *hi, double *lo)
{
    const double c = 134217729.0 * a;   /* 2^27 + 1 */
    *hi = c - (c - a);
    *lo = a - *hi;
}

/* (hi + lo) *= b, b = bh + bl split: Dekker's exact product hi*b = p + e,
 * plus lo*b, renormalized. */
static void dd_mul(double *hi, double *lo, double b, double bh, double bl)
{
    double ah, al;
    dd_split(*hi, &ah, &al);
    const double p = *hi * b;
    const double e = (((ah * bh - p) + ah * bl) + al * bh) + al * bl + *lo * b;
    const double s = p + e;
    *lo = e - (s - p);
    *hi = s;
}

/* The per-step coefficients from the powers in s (torch's 1 - beta^t with
 * beta^t = hi + lo rounded once: the same bits as 1 - pow(beta, t) whenever
 * pow rounds correctly). */
static void adam_coeffs_from_powers(fg_adam_coeffs *c, const double *s,
                                    const fg_minimize_options *o, double lr)
{
    const double bc1 = 1.0 - (s[ADAM_H1] + s[ADAM_L1]), bc2 = 1.0 - (s[ADAM_H2] + s[ADAM_L2]);
    c->neg_step_size = -(lr / bc1);
    c->bc2_sqrt = sqrt(bc2);
    c->decay_factor = 1.0 - lr * o->weight_decay;
}

static int adam_frozen(const double *s, const fg_minimize_options *o)
{
    return !o->lr_fn && s[ADAM_H1] < 0x1p-60 && s[ADAM_H2] < 0x1p-60;
}

/* Advance the powers one step (unless saturated with a fixed lr, where the
 * coefficients are final) and compute that step's coefficients. */
static void adam_advance(fg_min_run *r, double lr)
{
    double *s = r->state;
    const fg_minimize_options *o = r->opt;
    if (adam_frozen(s, o)) return;
    dd_mul(&s[ADAM_H1], &s[ADAM_L1], o->beta1, r->cache.adam.b1h, r->cache.adam.b1l);
    dd_mul(&s[ADAM_H2], &s[ADAM_L2], o->beta2, r->cache.adam.b2h, r->cache.adam.b2l);
    adam_coeffs_from_powers(&r->cache.adam.c, s, o, lr);
}

/* ---- init and step ------------------------------------------------------ */

static fg_status fo_init(fg_min_run *r, int warm)
{
    const fg_minimize_options *o = r->opt;
    double *s = r->state;
    const size_t nb = buffers(o->method) * r->n;
    double *buf = s + FO_SCALARS;
    if (!warm) {
        memset(s, 0, (FO_SCALARS + nb) * sizeof *s);
        if (o->method == FG_MIN_ADAGRAD)
            for (size_t i = 0; i < r->n; i++) buf[i] = o->initial_accumulator_value;
        s[GD_STEP] = o->lr;
        if (o->method == FG_MIN_ADAM || o->method == FG_MIN_ADAMW) {
            s[ADAM_H1] = s[ADAM_H2] = 1.0;   /* beta^0 */
            s[ADAM_L1] = s[ADAM_L2] = 0.0;
        }
    } else {
        if (!fg_min_all_finite(s, FO_SCALARS + nb)) return FG_ERR_ARG;
        if (o->method == FG_MIN_GD && o->line_search == FG_MIN_LS_ARMIJO && !(s[GD_STEP] > 0.0))
            return FG_ERR_ARG;
        if ((o->method == FG_MIN_ADAM || o->method == FG_MIN_ADAMW)
            && (!(s[ADAM_H1] >= 0.0 && s[ADAM_H1] <= 1.0) || !(s[ADAM_H2] >= 0.0
                && s[ADAM_H2] <= 1.0) || (s[ADAM_PREPARED] != 0.0 && s[ADAM_PREPARED] != 1.0)))
            return FG_ERR_ARG;
    }
    if (o->method == FG_MIN_ADAM || o->method == FG_MIN_ADAMW) {
        /* the fields that do not change from step to step (checked by fo_check) */
        fg_adam_prepare(&r->cache.adam.c, o->lr_fn ? 0.0 : o->lr, o->beta1, o->beta2, o->eps,
                        o->weight_decay, o->amsgrad, o->maximize,
                        o->method == FG_MIN_ADAMW, 1);
        dd_split(o->beta1, &r->cache.adam.b1h, &r->cache.adam.b1l);
        dd_split(o->beta2, &r->cache.adam.b2h, &r->cache.adam.b2l);
        if (s[ADAM_PREPARED] != 0.0 || adam_frozen(s, o))
            adam_coeffs_from_powers(&r->cache.adam.c, s, o, o->lr);
    }
    return FG_OK;
}

/* The trial's evaluation, shared by every method without a line search. */
static fg_minimize_stop evaluate_trial(fg_min_run *r)
{
    if (r->lower) fg_min_project(r->xt, r->lower, r->upper, r->n);
    fg_ls_eval e = fg_min_value_grad(r, r->xt, &r->ft, r->gt, &r->gtnorm);
    return e == FG_LS_EVAL_OK ? FG_MIN_STOP_COUNT : fg_min_eval_stop(e);
}

static fg_minimize_stop kernel_stop(fg_status st)
{
    /* a bad scheduled lr gets FG_ERR_ARG from prepare: options were checked */
    return st == FG_OK ? FG_MIN_STOP_COUNT
         : st == FG_ERR_NONFINITE ? FG_MIN_DIVERGED : FG_MIN_SCHEDULE_ERROR;
}

fg_minimize_stop fg_min_first_order_update(fg_min_run *r)
{
    const fg_minimize_options *o = r->opt;
    double *s0 = r->state + FO_SCALARS, *s1 = s0 + r->n, *s2 = s1 + r->n;
    const double lr = r->lr;
    const size_t n = r->n;
    fg_status st;
    switch (o->method) {
    case FG_MIN_GD:
    case FG_MIN_MOMENTUM:
    case FG_MIN_NESTEROV: {
        fg_sgd_coeffs c;
        st = fg_sgd_prepare(&c, lr, o->method == FG_MIN_GD ? 0.0 : o->momentum, o->dampening,
                            o->weight_decay, o->method == FG_MIN_NESTEROV, o->maximize, r->t);
        if (st == FG_OK) st = fg_sgd_step_out_f64(r->x, r->xt, r->g, s0, n, &c);
        break;
    }
    case FG_MIN_ADAM:
    case FG_MIN_ADAMW: {
        double *ps = r->state;
        if (ps[ADAM_PREPARED] == 0.0) adam_advance(r, lr);
        st = fg_adam_step_out_f64(r->x, r->xt, r->g, s0, s1, s2, n, &r->cache.adam.c);
        /* With a fixed lr, the next step's coefficients (a chain of
         * dependent scalar operations, ~60 cycles) are computed now, where
         * they overlap the objective evaluation that follows instead of
         * delaying the next update. */
        ps[ADAM_PREPARED] = o->lr_fn ? 0.0 : 1.0;
        if (!o->lr_fn) adam_advance(r, lr);
        break;
    }
    case FG_MIN_RMSPROP: {
        fg_rmsprop_coeffs c;
        st = fg_rmsprop_prepare(&c, lr, o->alpha, o->eps, o->weight_decay, o->momentum,
                                o->centered, o->maximize, r->t);
        if (st == FG_OK) st = fg_rmsprop_step_out_f64(r->x, r->xt, r->g, s0, s1, s2, n, &c);
        break;
    }
    default: {
        fg_adagrad_coeffs c;
        st = fg_adagrad_prepare(&c, lr, o->lr_decay, o->eps, o->weight_decay, o->maximize, r->t);
        if (st == FG_OK) st = fg_adagrad_step_out_f64(r->x, r->xt, r->g, s0, n, &c);
        break;
    }
    }
    return kernel_stop(st);
}

static fg_minimize_stop fo_step(fg_min_run *r)
{
    fg_minimize_stop stop = fg_min_first_order_update(r);
    return stop == FG_MIN_STOP_COUNT ? evaluate_trial(r) : stop;
}

/* ---- gd with Armijo backtracking --------------------------------------- */

/* phi(alpha) = f(P(x - alpha * g)) (signed: -f when maximizing). */
static fg_ls_eval gd_phi(void *ctx, fg_ls_trial *t)
{
    fg_min_run *r = ctx;
    const double a = -r->sign * t->alpha;
    double lin = 0.0;
    for (size_t i = 0; i < r->n; i++) r->xt[i] = r->x[i] + a * r->g[i];
    if (r->lower) fg_min_project(r->xt, r->lower, r->upper, r->n);
    if (!fg_min_all_finite(r->xt, r->n)) return FG_LS_EVAL_NONFINITE;
    for (size_t i = 0; i < r->n; i++) lin += r->g[i] * (r->xt[i] - r->x[i]);
    fg_ls_eval e = fg_min_value_grad(r, r->xt, &r->ft, r->gt, &r->gtnorm);
    t->f = r->sign * r->ft;
    t->lin = r->sign * lin;
    if (e == FG_LS_EVAL_OK && t->want_slope) {
        double end = 0.0;
        for (size_t i = 0; i < r->n; i++) end += r->gt[i] * (r->xt[i] - r->x[i]);
        t->lin_end = r->sign * end;
    }
    return e;
}

static fg_minimize_stop gd_step(fg_min_run *r)
{
    if (r->opt->line_search != FG_MIN_LS_ARMIJO) return fo_step(r);
    double *step = &r->state[GD_STEP];
    const fg_ls_armijo_params p = {GD_ARMIJO_C1, GD_GROW * *step, GD_SHRINK, GD_MAX_EVALS, 1,
                                   GD_APPROX_EPS};
    fg_ls_trial t;
    fg_ls_status ls = fg_ls_armijo(gd_phi, r, r->sign * r->f, 0.0, &p, &t);
    if (ls != FG_LS_OK) return fg_min_ls_stop(ls);
    *step = t.alpha;
    return FG_MIN_STOP_COUNT;
}

/* ---- the rows ------------------------------------------------------------ */

static const char *const GD_OPTIONS[] = {"weight_decay", NULL};
static const char *const MOMENTUM_OPTIONS[] = {"momentum", "dampening", "weight_decay", NULL};
static const char *const NESTEROV_OPTIONS[] = {"momentum", "weight_decay", NULL};
static const char *const ADAM_OPTIONS[] = {"betas", "eps", "weight_decay", "amsgrad", NULL};
static const char *const RMSPROP_OPTIONS[] = {"alpha", "eps", "weight_decay", "momentum",
                                              "centered", NULL};
static const char *const ADAGRAD_OPTIONS[] = {"lr_decay", "weight_decay",
                                              "initial_accumulator_value", "eps", NULL};

#define NO_LS (1u << FG_MIN_LS_NONE)
#define FIRST_ORDER(row, name_, options_, lines, step_)                                       \
    const fg_min_method row = {                                                               \
        {name_, FG_MIN_NEEDS_GRADIENT, 1, 0, lines, FG_MIN_LS_NONE, options_},                \
        fo_sizes, fo_check, fo_init, step_}

FIRST_ORDER(fg_min_gd, "gd", GD_OPTIONS, NO_LS | (1u << FG_MIN_LS_ARMIJO), gd_step);
FIRST_ORDER(fg_min_momentum, "momentum", MOMENTUM_OPTIONS, NO_LS, fo_step);
FIRST_ORDER(fg_min_nesterov, "nesterov", NESTEROV_OPTIONS, NO_LS, fo_step);
FIRST_ORDER(fg_min_adam, "adam", ADAM_OPTIONS, NO_LS, fo_step);
FIRST_ORDER(fg_min_adamw, "adamw", ADAM_OPTIONS, NO_LS, fo_step);
FIRST_ORDER(fg_min_rmsprop, "rmsprop", RMSPROP_OPTIONS, NO_LS, fo_step);
FIRST_ORDER(fg_min_adagrad, "adagrad", ADAGRAD_OPTIONS, NO_LS, fo_step);
