/* fg_minimize.c: the minimize driver (see fg_minimize.h for the loop).
 *
 * Workspace layout (doubles), in this order:
 *   xb[n]      first-order methods: the trial iterate the update writes from
 *              the accepted one (the out-of-place kernels of fg_optim.h); the
 *              two swap on acceptance, so the divergence guard never copies
 *              x. Newton: the previous iterate of the line search.
 *   gbuf[n]    the gradient buffer the next evaluation writes; it swaps with
 *              the caller's grad array, so no gradient is ever copied
 *   state      the method's state: s0, s1, s2 of n each (first-order), or
 *              H[n*n], L[n*n], d[n] (Newton)
 *
 * Per first-order iteration the driver makes two passes over n doubles of
 * its own, vectorized (FG_VECTOR_CLONES builds them for AVX-512, AVX2 and
 * baseline x86-64): the update kernel, which also tests the trial x for
 * NaN/inf, and after the evaluation the sum of g_i^2 (which also tests g).
 */
#include <math.h>
#include <string.h>
#include "fg_minimize.h"
#include "fg_config.h"
#include "fg_optim.h"

/* Newton safeguards (see FG_MIN_NEWTON in the header). */
enum { FG_NEWTON_MAX_HALVINGS = 60, FG_NEWTON_MAX_SHIFTS = 100 };
static const double FG_ARMIJO_C = 1e-4;

static size_t state_doubles(size_t n, fg_minimize_method method, int *ok)
{
    *ok = 1;
    switch (method) {
    case FG_MIN_GD:
    case FG_MIN_MOMENTUM:
    case FG_MIN_NESTEROV:
    case FG_MIN_ADAGRAD: return n;
    case FG_MIN_ADAM:
    case FG_MIN_ADAMW:
    case FG_MIN_RMSPROP:
        if (n > SIZE_MAX / 3) break;
        return 3 * n;
    case FG_MIN_NEWTON:
        if (n != 0 && n > (SIZE_MAX - n) / (2 * n + 1)) break;
        return 2 * n * n + n;
    default: break;
    }
    *ok = 0;
    return 0;
}

size_t fg_minimize_workspace_size(size_t n, fg_minimize_method method)
{
    int ok;
    size_t s = state_doubles(n, method, &ok);
    /* an iterate buffer and a gradient buffer */
    if (!ok || n > SIZE_MAX / 2 || s > SIZE_MAX - 2 * n) return 0;
    return s + 2 * n;
}

fg_status fg_minimize_options_init(fg_minimize_options *opt, fg_minimize_method method)
{
    if (!opt || (int)method < 0 || method >= FG_MIN_METHOD_COUNT) return FG_ERR_ARG;
    memset(opt, 0, sizeof *opt);
    opt->method = method;
    opt->lr = (method == FG_MIN_RMSPROP || method == FG_MIN_ADAGRAD) ? 1e-2
            : (method == FG_MIN_NEWTON) ? 1.0 : 1e-3;
    opt->momentum = (method == FG_MIN_MOMENTUM || method == FG_MIN_NESTEROV) ? 0.9 : 0.0;
    opt->weight_decay = method == FG_MIN_ADAMW ? 1e-2 : 0.0;
    opt->beta1 = 0.9;
    opt->beta2 = 0.999;
    opt->eps = method == FG_MIN_ADAGRAD ? 1e-10 : 1e-8;
    opt->alpha = 0.99;
    opt->newton_mu0 = 1e-3;
    opt->tol = 1e-8;
    opt->maxiter = 10000;
    opt->callback_every = 1;
    return FG_OK;
}

const char *fg_minimize_stop_message(fg_minimize_stop stop)
{
    switch (stop) {
    case FG_MIN_CONVERGED: return "converged: the gradient norm is at most tol";
    case FG_MIN_MAXITER: return "maximum number of iterations reached before the gradient norm fell to tol";
    case FG_MIN_DIVERGED: return "diverged: a non-finite value or gradient appeared; x is the last finite iterate";
    case FG_MIN_CALLBACK_STOP: return "stopped by the callback";
    case FG_MIN_OBJECTIVE_ERROR: return "the objective function reported an error";
    case FG_MIN_LINESEARCH_FAILED: return "Newton line search failed: no decrease of f along the Newton direction";
    case FG_MIN_SCHEDULE_ERROR: return "the learning-rate schedule returned a negative or non-finite rate";
    default: return "unknown stop reason";
    }
}

/* 1 if all n values are finite. x - x is +0 (all bits zero) for a finite x
 * and NaN otherwise: OR-ing the bits is integer work that vectorizes even
 * for baseline SSE2 (a floating-point accumulation would be one serial
 * dependency chain; fg_all_finite_f64 is, ~4 cycles per value). */
FG_VECTOR_CLONES
static int all_finite(const double *x, size_t n)
{
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = x[i] - x[i];
        uint64_t b;
        memcpy(&b, &d, sizeof b);
        bad |= b;
    }
    return bad == 0;
}

/* sum g_i^2 in eight interleaved partial sums (lane k takes i = k mod 8),
 * combined as ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)). The lanes
 * are independent elementwise updates, so the loop vectorizes without
 * reassociation (one AVX-512 register, two AVX2, four SSE2), and every clone
 * computes the same sum bit for bit. */
FG_VECTOR_CLONES
static double sum_squares(const double *FG_RESTRICT g, size_t n)
{
    double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t k = 0; k < 8; k++) acc[k] += g[i + k] * g[i + k];
    for (size_t k = 0; i + k < n; k++) acc[k] += g[i + k] * g[i + k];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* *norm = ||g||_2 from s = sum_squares(g); returns 1 if every g_i is finite,
 * else 0 (*norm is then NaN or inf). A NaN or inf in g makes s non-finite,
 * so the common case costs nothing more. Only when s overflows (or
 * underflows to 0) is it recomputed scaled by max |g_i|, so a finite
 * gradient never reports an infinite norm. */
static int norm_from_sum(double s, const double *g, size_t n, double *norm)
{
    if (FG_LIKELY(isfinite(s) && (s > 0.0 || n == 0))) {
        *norm = sqrt(s);
        return 1;
    }
    if (!all_finite(g, n)) {
        *norm = s;
        return 0;
    }
    double big = 0.0;
    for (size_t i = 0; i < n; i++) big = fmax(big, fabs(g[i]));
    if (big == 0.0) {
        *norm = 0.0;
        return 1;
    }
    s = 0.0;
    for (size_t i = 0; i < n; i++) s += (g[i] / big) * (g[i] / big);
    *norm = big * sqrt(s);
    return 1;
}

static int grad_norm(const double *g, size_t n, double *norm)
{
    return norm_from_sum(sum_squares(g, n), g, n, norm);
}

/* Adam's bias-correction powers beta1^t, beta2^t (Adam, AdamW), kept as
 * running products in double-double (hi + lo, Dekker's exact product per
 * factor and step) instead of torch's two pow() calls per step, which cost
 * about a quarter of an iteration at n = 100 (and more of a small one). The
 * product's relative error after t steps is about t * 2^-104, so hi + lo
 * rounds to the correctly rounded beta^t; 1 - beta^t is then formed as
 * torch forms it, and bc2's square root with sqrt(). pow() is within 0.52
 * ulp and pow(bc2, 0.5) is not always sqrt(bc2), so in rare steps a bias
 * correction differs from torch's in its last bit: minimize's Adam equals
 * the fastgrad.Adam class bit for bit over thousands of steps in the tests,
 * but only to rounding in general (a last-bit difference can grow like any
 * rounding difference: by the problem's conditioning). Once both powers are
 * below 2^-60 and lr is fixed, 1 - beta^t is exactly 1 and the coefficients
 * are reused. */
typedef struct adam_powers {
    double h1, l1, h2, l2;   /* beta1^t = h1 + l1, beta2^t = h2 + l2 */
    double b1h, b1l, b2h, b2l;   /* beta1, beta2 split in halves (dd_split) */
    int frozen;              /* c is final (saturated powers, fixed lr) */
    int ready;               /* c already holds this step's coefficients */
    fg_adam_coeffs c;        /* all fields but the per-step ones, from prepare */
} adam_powers;

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

/* Step t's coefficients into pw->c (the powers advance one step per call). */
static void adam_coeffs_for_step(adam_powers *pw, const fg_minimize_options *o, double lr)
{
    if (pw->frozen) return;
    dd_mul(&pw->h1, &pw->l1, o->beta1, pw->b1h, pw->b1l);
    dd_mul(&pw->h2, &pw->l2, o->beta2, pw->b2h, pw->b2l);
    /* torch's 1 - beta^t with beta^t = hi + lo rounded once: the same bits as
     * 1 - pow(beta, t) whenever pow rounds correctly */
    const double bc1 = 1.0 - (pw->h1 + pw->l1), bc2 = 1.0 - (pw->h2 + pw->l2);
    pw->c.neg_step_size = -(lr / bc1);
    pw->c.bc2_sqrt = sqrt(bc2);
    pw->c.decay_factor = 1.0 - lr * o->weight_decay;
    pw->frozen = !o->lr_fn && pw->h1 < 0x1p-60 && pw->h2 < 0x1p-60;
}

/* One first-order update from xin into xout with the method's out-of-place
 * kernel (t >= 1 is the step number; s0..s2 the method's state arrays; pw
 * Adam's running powers). With xout == NULL only the hyperparameters are
 * checked (the prepare functions judge them). Returns FG_OK,
 * FG_ERR_NONFINITE when the new iterate is not finite, or the prepare
 * functions' FG_ERR_ARG. */
static fg_status first_order_step(const fg_minimize_options *o, double lr, int64_t t,
                                  const double *xin, double *xout, const double *g,
                                  double *s0, double *s1, double *s2, size_t n,
                                  adam_powers *pw)
{
    fg_status st;
    switch (o->method) {
    case FG_MIN_GD:
    case FG_MIN_MOMENTUM:
    case FG_MIN_NESTEROV: {
        fg_sgd_coeffs c;
        double mom = o->method == FG_MIN_GD ? 0.0 : o->momentum;
        st = fg_sgd_prepare(&c, lr, mom, o->dampening, o->weight_decay,
                            o->method == FG_MIN_NESTEROV, o->maximize, t);
        /* Optional state buffers are always passed as valid (if unused)
         * memory: the AVX-512 kernels if-convert the option branches into
         * masked loads, and a masked-off load from NULL still costs a
         * fault-suppression microcode assist per vector on AMD Zen (8x
         * slower Adam at n = 100 with max_exp_avg_sq = NULL). */
        return st != FG_OK || !xout ? st : fg_sgd_step_out_f64(xin, xout, g, s0, n, &c);
    }
    case FG_MIN_ADAM:
    case FG_MIN_ADAMW: {
        if (!xout || !pw) {
            fg_adam_coeffs c;
            return fg_adam_prepare(&c, lr, o->beta1, o->beta2, o->eps, o->weight_decay,
                                   o->amsgrad, o->maximize, o->method == FG_MIN_ADAMW, t);
        }
        if (!pw->ready) adam_coeffs_for_step(pw, o, lr);
        st = fg_adam_step_out_f64(xin, xout, g, s0, s1, s2, n, &pw->c);
        /* With a fixed lr, the next step's coefficients (a chain of dependent
         * scalar operations, ~60 cycles) are computed now, where they overlap
         * the objective evaluation that follows instead of delaying the next
         * update. */
        pw->ready = !o->lr_fn;
        if (pw->ready) adam_coeffs_for_step(pw, o, lr);
        return st;
    }
    case FG_MIN_RMSPROP: {
        fg_rmsprop_coeffs c;
        st = fg_rmsprop_prepare(&c, lr, o->alpha, o->eps, o->weight_decay, o->momentum,
                                o->centered, o->maximize, t);
        return st != FG_OK || !xout ? st
                                    : fg_rmsprop_step_out_f64(xin, xout, g, s0, s1, s2, n, &c);
    }
    case FG_MIN_ADAGRAD: {
        fg_adagrad_coeffs c;
        st = fg_adagrad_prepare(&c, lr, o->lr_decay, o->eps, o->weight_decay, o->maximize, t);
        return st != FG_OK || !xout ? st : fg_adagrad_step_out_f64(xin, xout, g, s0, n, &c);
    }
    default:
        return FG_ERR_ARG;
    }
}

/* In-place Cholesky factorization A = L L^T of the lower triangle of the
 * row-major n x n matrix a (the strict upper triangle is ignored and left
 * as is). Returns 1 on success, 0 when A is not (numerically) positive
 * definite: a pivot is <= 0 or not finite. */
static int cholesky_lower(double *a, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        double d = a[j * n + j];
        for (size_t k = 0; k < j; k++) d -= a[j * n + k] * a[j * n + k];
        if (!(d > 0.0) || !isfinite(d)) return 0;
        d = sqrt(d);
        a[j * n + j] = d;
        for (size_t i = j + 1; i < n; i++) {
            double s = a[i * n + j];
            for (size_t k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
            a[i * n + j] = s / d;
        }
    }
    return 1;
}

/* Solve L L^T y = b in place (b becomes y), L from cholesky_lower. */
static void cholesky_solve(const double *l, double *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double s = b[i];
        for (size_t k = 0; k < i; k++) s -= l[i * n + k] * b[k];
        b[i] = s / l[i * n + i];
    }
    for (size_t i = n; i-- > 0;) {
        double s = b[i];
        for (size_t k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
        b[i] = s / l[i * n + i];
    }
}

/* Checks shared by the validation and the run. */
static fg_status check_options(const fg_minimize_options *o, size_t n, int has_hessian)
{
    if ((int)o->method < 0 || o->method >= FG_MIN_METHOD_COUNT) return FG_ERR_ARG;
    if (!(o->tol >= 0.0) || o->maxiter < 0 || o->callback_every < 1) return FG_ERR_ARG;
    if (o->history_capacity < 0) return FG_ERR_ARG;
    if (o->method == FG_MIN_NEWTON) {
        if (!has_hessian) return FG_ERR_UNSUPPORTED;
        if (!(o->lr > 0.0) || !isfinite(o->lr) || !(o->newton_mu0 > 0.0)
            || !isfinite(o->newton_mu0))
            return FG_ERR_ARG;
        return FG_OK;
    }
    if (!(o->initial_accumulator_value >= 0.0) || !isfinite(o->initial_accumulator_value))
        return FG_ERR_ARG;
    /* Let the kernels' own prepare functions judge the hyperparameters, on a
     * throwaway update of zero elements (lr 0 when a schedule supplies it). */
    return first_order_step(o, o->lr_fn ? 0.0 : o->lr, 1, NULL, NULL, NULL, NULL, NULL, NULL, 0,
                            NULL);
}

static void record(const fg_minimize_options *o, fg_minimize_result *res, const double *x,
                   size_t n, double f, double gnorm)
{
    int64_t k = res->history_len;
    if (k >= o->history_capacity) return;
    if (o->history_x && n) memcpy(o->history_x + (size_t)k * n, x, n * sizeof *x);
    if (o->history_f) o->history_f[k] = f;
    if (o->history_grad_norm) o->history_grad_norm[k] = gnorm;
    res->history_len = k + 1;
}

/* One damped Newton step from x (f, g at x) into x (fnew, gnew at the new
 * x). Returns a stop reason, or FG_MIN_STOP_COUNT to go on. */
static fg_minimize_stop newton_step(const fg_objective *obj, const fg_minimize_options *o,
                                    double lr, double *x, size_t n, double f, const double *g,
                                    double *xprev, double *fnew, double *gnew, double *gnew_norm,
                                    double *hbuf, double *lbuf, double *d,
                                    fg_minimize_result *res)
{
    const double sign = o->maximize ? -1.0 : 1.0;
    fg_status st = obj->hessian(x, n, hbuf, obj->ctx);
    res->nhev++;
    if (st != FG_OK) {
        res->objective_status = st;
        return FG_MIN_OBJECTIVE_ERROR;
    }
    if (!all_finite(hbuf, n * n)) return FG_MIN_DIVERGED;
    double maxdiag = 0.0;
    for (size_t i = 0; i < n; i++) maxdiag = fmax(maxdiag, fabs(hbuf[i * n + i]));
    double mu = 0.0;
    int factored = 0;
    for (int attempt = 0; attempt < FG_NEWTON_MAX_SHIFTS && !factored; attempt++) {
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j <= i; j++) lbuf[i * n + j] = sign * hbuf[i * n + j];
            lbuf[i * n + i] += mu;
        }
        factored = cholesky_lower(lbuf, n);
        if (!factored) mu = mu == 0.0 ? fmax(o->newton_mu0 * maxdiag, o->newton_mu0) : 10.0 * mu;
    }
    if (!factored) return FG_MIN_LINESEARCH_FAILED;
    res->last_mu = mu;
    double slope = 0.0;  /* (sign g) . d < 0 */
    for (size_t i = 0; i < n; i++) d[i] = -sign * g[i];
    cholesky_solve(lbuf, d, n);
    for (size_t i = 0; i < n; i++) slope += sign * g[i] * d[i];
    memcpy(xprev, x, n * sizeof *x);
    double s = lr;
    for (int k = 0; k <= FG_NEWTON_MAX_HALVINGS; k++, s *= 0.5) {
        for (size_t i = 0; i < n; i++) x[i] = xprev[i] + s * d[i];
        st = obj->value_grad(x, n, fnew, gnew, obj->ctx);
        res->nfev++;
        res->njev++;
        if (st != FG_OK) {
            memcpy(x, xprev, n * sizeof *x);
            res->objective_status = st;
            return FG_MIN_OBJECTIVE_ERROR;
        }
        if (isfinite(*fnew) && grad_norm(gnew, n, gnew_norm) && all_finite(x, n)
            && sign * *fnew <= sign * f + FG_ARMIJO_C * s * slope)
            return FG_MIN_STOP_COUNT;
    }
    memcpy(x, xprev, n * sizeof *x);
    return FG_MIN_LINESEARCH_FAILED;
}

fg_status fg_minimize_run_f64(const fg_objective *obj, double *x, size_t n,
                              const fg_minimize_options *opt, double *work, size_t work_len,
                              double *grad, fg_minimize_result *res)
{
    if (!obj || !obj->value_grad || !opt || !res || (n && (!x || !grad || !work)))
        return FG_ERR_ARG;
    fg_status st = check_options(opt, n, obj->hessian != NULL);
    if (st != FG_OK) return st;
    size_t need = fg_minimize_workspace_size(n, opt->method);
    if (n && (need == 0 || work_len < need)) return FG_ERR_ARG;
    if (!all_finite(x, n)) return FG_ERR_NONFINITE;

    const int newton = opt->method == FG_MIN_NEWTON;
    /* Iterate buffers: xacc the accepted iterate, xtry the one the next
     * update writes (first-order); they swap on acceptance. */
    double *xacc = x, *xtry = work;
    double *xprev = work;   /* Newton: the line search's base point */
    double *gnew = work + n;
    double *state = gnew + n;
    double *s0 = state, *s1 = state + n, *s2 = state + 2 * n;   /* first-order */
    double *hbuf = state, *lbuf = state + n * n, *dvec = state + 2 * n * n;  /* Newton */
    double *gcur = grad;

    memset(res, 0, sizeof *res);
    if (!newton) {
        size_t ns = fg_minimize_workspace_size(n, opt->method) - 2 * n;
        if (ns) memset(state, 0, ns * sizeof *state);
        if (opt->method == FG_MIN_ADAGRAD)
            for (size_t i = 0; i < n; i++) s0[i] = opt->initial_accumulator_value;
    }

    double f = NAN, fnew = NAN, gnew_norm = NAN;
    st = obj->value_grad(x, n, &f, gcur, obj->ctx);
    res->nfev = res->njev = 1;
    double gnorm = NAN;
    fg_minimize_stop stop = FG_MIN_STOP_COUNT;
    if (st != FG_OK) {
        res->objective_status = st;
        stop = FG_MIN_OBJECTIVE_ERROR;
    } else if (!norm_from_sum(sum_squares(gcur, n), gcur, n, &gnorm)
               || !isfinite(f)) {
        stop = FG_MIN_DIVERGED;  /* x0 is finite but its value or gradient is not */
    } else {
        record(opt, res, x, n, f, gnorm);
    }

    adam_powers pw;
    memset(&pw, 0, sizeof pw);
    pw.h1 = pw.h2 = 1.0;   /* beta^0; the per-step fields are set each step */
    dd_split(opt->beta1, &pw.b1h, &pw.b1l);
    dd_split(opt->beta2, &pw.b2h, &pw.b2l);
    if (opt->method == FG_MIN_ADAM || opt->method == FG_MIN_ADAMW)
        fg_adam_prepare(&pw.c, opt->lr_fn ? 0.0 : opt->lr, opt->beta1, opt->beta2, opt->eps,
                        opt->weight_decay, opt->amsgrad, opt->maximize,
                        opt->method == FG_MIN_ADAMW, 1);   /* checked by check_options */

    fg_minimize_state state_view;
    state_view.n = n;
    int64_t t = 0;
    while (stop == FG_MIN_STOP_COUNT) {
        if (gnorm <= opt->tol) { stop = FG_MIN_CONVERGED; break; }
        if (t >= opt->maxiter) { stop = FG_MIN_MAXITER; break; }
        t++;
        double lr = opt->lr;
        if (opt->lr_fn) {
            lr = opt->lr_fn(t, opt->lr_ctx);
            if (!(lr >= 0.0) || !isfinite(lr) || (newton && lr == 0.0)) {
                stop = FG_MIN_SCHEDULE_ERROR;
                break;
            }
        }
        if (newton) {
            stop = newton_step(obj, opt, lr, xacc, n, f, gcur, xprev, &fnew, gnew, &gnew_norm,
                               hbuf, lbuf, dvec, res);
            if (stop != FG_MIN_STOP_COUNT) break;
        } else {
            /* The update reads xacc and writes xtry only: on any failure
             * below xacc is untouched, so nothing needs restoring. */
            st = first_order_step(opt, lr, t, xacc, xtry, gcur, s0, s1, s2, n, &pw);
            if (st == FG_ERR_NONFINITE) {
                stop = FG_MIN_DIVERGED;
                break;
            }
            if (st != FG_OK) {  /* only a bad scheduled lr gets here: options were checked */
                stop = FG_MIN_SCHEDULE_ERROR;
                break;
            }
            st = obj->value_grad(xtry, n, &fnew, gnew, obj->ctx);
            res->nfev++;
            res->njev++;
            if (st != FG_OK) {
                res->objective_status = st;
                stop = FG_MIN_OBJECTIVE_ERROR;
                break;
            }
            /* ||g||^2, which also tests g for NaN/inf */
            if (!norm_from_sum(sum_squares(gnew, n), gnew, n, &gnew_norm)
                || !isfinite(fnew)) {
                stop = FG_MIN_DIVERGED;
                break;
            }
            /* accept: swap the iterate buffers */
            double *old = xacc;
            xacc = xtry;
            xtry = old;
        }
        /* accept: swap the gradient buffers instead of copying */
        double *tmp = gcur;
        gcur = gnew;
        gnew = tmp;
        f = fnew;
        gnorm = gnew_norm;
        res->nit = t;
        record(opt, res, xacc, n, f, gnorm);
        if (opt->callback && t % opt->callback_every == 0) {
            state_view.nit = t;
            state_view.nfev = res->nfev;
            state_view.njev = res->njev;
            state_view.x = xacc;
            state_view.grad = gcur;
            state_view.f = f;
            state_view.grad_norm = gnorm;
            if (opt->callback(&state_view, opt->callback_ctx)) stop = FG_MIN_CALLBACK_STOP;
        }
    }
    if (xacc != x && n) memcpy(x, xacc, n * sizeof *x);
    if (gcur != grad && n) memcpy(grad, gcur, n * sizeof *grad);
    res->f = f;
    res->grad_norm = gnorm;
    res->stop = stop;
    res->diverged = stop == FG_MIN_DIVERGED;
    return FG_OK;
}
