/* fg_minimize.c: the minimize loop (see fg_minimize.h) over the method
 * table; the methods live in fg_min_*.c (contract: fg_min_method.h).
 *
 * Workspace layout (doubles), in this order:
 *   header[FG_MIN_HEADER_LEN]  a tag, method, n, the state length, nit,
 *                              nfev, njev, nhev, f (plain numbers)
 *   xs[n], gs[n]    the carried iterate and gradient; during the run the
 *                   second buffer of each pair (the caller's x and grad are
 *                   the first): a step writes its trial into one and the
 *                   pair swaps on acceptance, so nothing is copied per
 *                   iteration and a rejected trial never touches the iterate
 *   state           the method's carried state
 *   -- the carried state (fg_minimize_state_size) ends here --
 *   scratch         the method's scratch
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 199309L   /* clock_gettime */
#endif
#include <math.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include "fg_min_method.h"

/* The method table: the one place a method code meets its row. */
static const fg_min_method *const METHODS[FG_MIN_METHOD_COUNT] = {
    [FG_MIN_GD] = &fg_min_gd,
    [FG_MIN_MOMENTUM] = &fg_min_momentum,
    [FG_MIN_NESTEROV] = &fg_min_nesterov,
    [FG_MIN_ADAM] = &fg_min_adam,
    [FG_MIN_ADAMW] = &fg_min_adamw,
    [FG_MIN_RMSPROP] = &fg_min_rmsprop,
    [FG_MIN_ADAGRAD] = &fg_min_adagrad,
    [FG_MIN_NEWTON] = &fg_min_newton,
    [FG_MIN_LBFGS] = &fg_min_lbfgs,
    [FG_MIN_BFGS] = &fg_min_bfgs,
    [FG_MIN_CG] = &fg_min_cg,
    [FG_MIN_NEWTON_CG] = &fg_min_newton_cg,
    [FG_MIN_ADAMAX] = &fg_min_adamax,
    [FG_MIN_NADAM] = &fg_min_nadam,
};

const fg_min_method *fg_min_method_of(fg_minimize_method m)
{
    return (int)m >= 0 && m < FG_MIN_METHOD_COUNT ? METHODS[m] : NULL;
}

/* ---- option fields -------------------------------------------------------- */

#define FIELD(name, member, kind, count, low, high, low_open, high_open)                    \
    {name, offsetof(fg_minimize_options, member), FG_MIN_FIELD_##kind, count, low, high,    \
     low_open, high_open}

static const fg_minimize_option_field FIELDS[] = {
    FIELD("momentum", momentum, DOUBLE, 1, 0.0, INFINITY, 0, 0),
    FIELD("dampening", dampening, DOUBLE, 1, -INFINITY, INFINITY, 0, 0),
    FIELD("weight_decay", weight_decay, DOUBLE, 1, 0.0, INFINITY, 0, 0),
    FIELD("betas", beta1, DOUBLE, 2, 0.0, 1.0, 0, 1),   /* beta1, beta2 */
    FIELD("eps", eps, DOUBLE, 1, 0.0, INFINITY, 0, 0),
    FIELD("amsgrad", amsgrad, INT, 1, 0.0, 1.0, 0, 0),
    FIELD("alpha", alpha, DOUBLE, 1, 0.0, INFINITY, 0, 0),
    FIELD("centered", centered, INT, 1, 0.0, 1.0, 0, 0),
    FIELD("lr_decay", lr_decay, DOUBLE, 1, 0.0, INFINITY, 0, 0),
    FIELD("initial_accumulator_value", initial_accumulator_value, DOUBLE, 1, 0.0, INFINITY, 0, 0),
    FIELD("momentum_decay", momentum_decay, DOUBLE, 1, 0.0, INFINITY, 0, 0),
    FIELD("decoupled_weight_decay", decoupled_weight_decay, INT, 1, 0.0, 1.0, 0, 0),
    FIELD("newton_mu0", newton_mu0, DOUBLE, 1, 0.0, INFINITY, 1, 0),
    FIELD("m", lbfgs_m, INT64, 1, 1.0, 1000.0, 0, 0),
};

/* "betas" spans beta1 and beta2 */
typedef char betas_are_adjacent[offsetof(fg_minimize_options, beta2)
                                == offsetof(fg_minimize_options, beta1) + sizeof(double) ? 1 : -1];

const fg_minimize_option_field *fg_minimize_option_fields(size_t *count)
{
    if (count) *count = sizeof FIELDS / sizeof FIELDS[0];
    return FIELDS;
}

/* ---- pieces the rows share (fg_min_method.h) ------------------------------ */

fg_status fg_min_check_none(const fg_minimize_options *o)
{
    (void)o;
    return FG_OK;
}

fg_status fg_min_check_lr(const fg_minimize_options *o)
{
    return o->lr_fn || (o->lr > 0.0 && isfinite(o->lr)) ? FG_OK : FG_ERR_ARG;
}

fg_status fg_min_init_stateless(fg_min_run *r, int warm)
{
    (void)r;
    (void)warm;
    return FG_OK;
}

fg_status fg_minimize_method_info_get(fg_minimize_method method, fg_minimize_method_info *info)
{
    const fg_min_method *m = fg_min_method_of(method);
    if (!m || !info) return FG_ERR_ARG;
    *info = m->info;
    return FG_OK;
}

fg_status fg_minimize_options_init(fg_minimize_options *opt, size_t struct_size,
                                   fg_minimize_method method)
{
    const fg_min_method *m = fg_min_method_of(method);
    if (!opt || struct_size != sizeof *opt || !m) return FG_ERR_ARG;
    memset(opt, 0, sizeof *opt);
    opt->struct_size = sizeof *opt;
    opt->method = method;
    /* newton and the quasi-Newton family: the full step; the first-order
     * methods take their optimizer's (their rows' defaults, below) */
    opt->lr = 1.0;
    opt->newton_mu0 = 1e-3;
    opt->lbfgs_m = 10;
    opt->tol = 1e-8;
    opt->ftol = 2.220446049250313e-09;   /* scipy's L-BFGS-B default factr = 1e7 */
    opt->maxiter = 10000;
    opt->maxfun = INT64_MAX;
    opt->line_search = FG_MIN_LS_DEFAULT;
    opt->callback_every = 1;
    opt->poll_interval = 0.05;
    if (m->defaults) m->defaults(opt);
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
    case FG_MIN_LINESEARCH_FAILED: return "line search failed: no acceptable step along the search direction; x is the last accepted iterate";
    case FG_MIN_SCHEDULE_ERROR: return "the learning-rate schedule returned a negative or non-finite rate";
    case FG_MIN_FTOL: return "converged: the relative decrease of f is at most ftol";
    case FG_MIN_MAXFUN: return "maximum number of function evaluations reached before the gradient norm fell to tol";
    case FG_MIN_INTERRUPTED: return "interrupted";
    case FG_MIN_EPOCHS: return "ran the requested epochs";
    default: return "unknown stop reason";
    }
}

/* ---- vector helpers -------------------------------------------------------- */

/* x - x is +0 (all bits zero) for a finite x and NaN otherwise: OR-ing the
 * bits is integer work that vectorizes even for baseline SSE2 (a
 * floating-point accumulation would be one serial dependency chain). */
FG_VECTOR_CLONES
int fg_min_all_finite(const double *x, size_t n)
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

FG_VECTOR_CLONES
double fg_min_sum_squares(const double *FG_RESTRICT g, size_t n)
{
    return fg_min_dot_lanes(g, g, n);
}

/* A NaN or inf in g makes s non-finite, so the common case (inline in
 * fg_min_method.h) costs nothing more. Only when s overflows (or underflows
 * to 0) is it recomputed scaled by max |g_i|, so a finite gradient never
 * reports an infinite norm. */
int fg_min_norm_slow(double s, const double *g, size_t n, double *norm)
{
    if (!fg_min_all_finite(g, n)) {
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

void fg_min_project(double *x, const double *lower, const double *upper, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = fmin(fmax(x[i], lower[i]), upper[i]);
}

/* ||x - P(x - sign*g)||_2, the projected gradient's norm (g itself away
 * from the bounds). */
static double projected_norm(const double *x, const double *g, double sign, const double *lower,
                             const double *upper, size_t n)
{
    double s = 0.0, big = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = x[i] - fmin(fmax(x[i] - sign * g[i], lower[i]), upper[i]);
        big = fmax(big, fabs(d));
    }
    if (big == 0.0) return 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = (x[i] - fmin(fmax(x[i] - sign * g[i], lower[i]), upper[i])) / big;
        s += d * d;
    }
    return big * sqrt(s);
}

/* ---- sizes and checks ---------------------------------------------------- */

/* The options with the line search resolved to the method's default. */
static void resolve(const fg_minimize_options *opt, const fg_min_method *m,
                    fg_minimize_options *out)
{
    *out = *opt;
    if (out->line_search == FG_MIN_LS_DEFAULT) out->line_search = m->info.default_line_search;
}

static fg_status layout(size_t n, const fg_minimize_options *opt, size_t *state_total,
                        size_t *total)
{
    const fg_min_method *m;
    fg_minimize_options o;
    size_t state, scratch;
    if (!opt || opt->struct_size != sizeof *opt || !(m = fg_min_method_of(opt->method)))
        return FG_ERR_ARG;
    resolve(opt, m, &o);
    if (m->sizes(n, &o, &state, &scratch) != FG_OK) return FG_ERR_ARG;
    /* header + xs + gs + state, then scratch */
    if (n > (SIZE_MAX - FG_MIN_HEADER_LEN) / 2) return FG_ERR_ARG;
    size_t carried = FG_MIN_HEADER_LEN + 2 * n;
    if (state > SIZE_MAX - carried) return FG_ERR_ARG;
    carried += state;
    if (scratch > SIZE_MAX - carried) return FG_ERR_ARG;
    *state_total = carried;
    *total = carried + scratch;
    return FG_OK;
}

size_t fg_minimize_workspace_size(size_t n, const fg_minimize_options *opt)
{
    size_t carried, total;
    return layout(n, opt, &carried, &total) == FG_OK ? total : 0;
}

size_t fg_minimize_state_size(size_t n, const fg_minimize_options *opt)
{
    size_t carried, total;
    return layout(n, opt, &carried, &total) == FG_OK ? carried : 0;
}

static fg_status check_options(const fg_minimize_options *o, const fg_min_method *m,
                               const fg_objective *obj, size_t n)
{
    if (!(o->tol >= 0.0) || !(o->ftol >= 0.0) || o->maxiter < 0 || o->maxfun < 1
        || o->callback_every < 1 || o->history_capacity < 0)
        return FG_ERR_ARG;
    if (o->poll && (!(o->poll_interval > 0.0) || !isfinite(o->poll_interval))) return FG_ERR_ARG;
    if ((int)o->line_search <= FG_MIN_LS_DEFAULT || o->line_search >= FG_MIN_LS_COUNT
        || !(m->info.line_searches & (1u << o->line_search)))
        return FG_ERR_ARG;
    if ((m->info.needs & FG_MIN_NEEDS_HESSIAN) && !obj->hessian) return FG_ERR_UNSUPPORTED;
    if (o->lower || o->upper) {
        if (!m->info.supports_bounds) return FG_ERR_UNSUPPORTED;
        if (n && (!o->lower || !o->upper)) return FG_ERR_ARG;
        for (size_t i = 0; i < n; i++)
            if (!(o->lower[i] <= o->upper[i]) || o->lower[i] == INFINITY
                || o->upper[i] == -INFINITY)
                return FG_ERR_ARG;
    }
    return m->check(o);
}

static int in_box(const double *x, const fg_minimize_options *o, size_t n)
{
    if (!o->lower) return 1;
    for (size_t i = 0; i < n; i++)
        if (!(x[i] >= o->lower[i] && x[i] <= o->upper[i])) return 0;
    return 1;
}

/* ---- the carried header --------------------------------------------------- */

/* 0x46474D01, "FGM" and layout version 1: a workspace that does not start
 * with it holds no state this library wrote. */
static const double STATE_TAG = 1179077889.0;
enum { H_TAG, H_METHOD, H_N, H_CARRIED, H_NIT, H_NFEV, H_NJEV, H_NHEV, H_F, H_RESERVED };

static int is_count(double v)
{
    return v >= 0.0 && v <= 0x1p53 && v == floor(v);
}

static fg_status read_header(const double *h, const fg_minimize_options *o, size_t n,
                             size_t carried)
{
    if (h[H_TAG] != STATE_TAG || h[H_METHOD] != (double)o->method || h[H_N] != (double)n
        || h[H_CARRIED] != (double)carried || !isfinite(h[H_F]))
        return FG_ERR_ARG;
    for (int k = H_NIT; k <= H_NHEV; k++)
        if (!is_count(h[k])) return FG_ERR_ARG;
    return FG_OK;
}

static void write_header(double *h, const fg_min_run *r, size_t carried, int64_t nit)
{
    h[H_TAG] = STATE_TAG;
    h[H_METHOD] = (double)r->opt->method;
    h[H_N] = (double)r->n;
    h[H_CARRIED] = (double)carried;
    h[H_NIT] = (double)nit;
    h[H_NFEV] = (double)r->nfev;
    h[H_NJEV] = (double)r->njev;
    h[H_NHEV] = (double)r->nhev;
    h[H_F] = r->f;
    h[H_RESERVED] = 0.0;
}

/* ---- polling by elapsed time ----------------------------------------------- */

static double now_seconds(void)
{
    struct timespec ts;
#if defined(CLOCK_MONOTONIC)
    clock_gettime(CLOCK_MONOTONIC, &ts);
#else
    timespec_get(&ts, TIME_UTC);
#endif
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The clock is read every `batch` iterations, and batch adapts so that the
 * reads are about poll_interval / 4 apart: a few dozen clock reads a second
 * whatever an iteration costs (one per iteration when each takes longer). */
void fg_min_poll_start(fg_min_poll_clock *pc, double interval)
{
    pc->countdown = pc->batch = 1;
    pc->last_read = now_seconds();
    pc->next_poll = pc->last_read + interval;
}

int fg_min_poll_due(fg_min_poll_clock *pc, double interval)
{
    if (--pc->countdown > 0) return 0;
    const double now = now_seconds(), gap = now - pc->last_read, target = 0.25 * interval;
    pc->last_read = now;
    if (gap < 0.5 * target && pc->batch < ((int64_t)1 << 40)) pc->batch *= 2;
    else if (gap > 2.0 * target && pc->batch > 1) pc->batch /= 2;
    pc->countdown = pc->batch;
    if (now < pc->next_poll) return 0;
    pc->next_poll = now + interval;
    return 1;
}

/* ---- the loop ----------------------------------------------------------------- */

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

int fg_min_call_hook(fg_minimize_callback fn, void *ctx, const fg_min_run *r, int64_t nit)
{
    fg_minimize_state s;
    s.nit = nit;
    s.nfev = r->nfev;
    s.njev = r->njev;
    s.n = r->n;
    s.x = r->x;
    s.grad = r->g;
    s.f = r->f;
    s.grad_norm = r->gnorm;
    return fn(&s, ctx);
}

/* The norm the tol test uses for the accepted iterate. */
static double tol_norm(const fg_min_run *r, double plain)
{
    return r->lower ? projected_norm(r->x, r->g, r->sign, r->lower, r->upper, r->n) : plain;
}

fg_status fg_minimize_run_f64(const fg_objective *obj, double *x, size_t n,
                              const fg_minimize_options *opt, double *work, size_t work_len,
                              double *grad, fg_minimize_result *res)
{
    if (!obj || !obj->value_grad || !opt || !res || !work || (n && (!x || !grad)))
        return FG_ERR_ARG;
    size_t carried, total;
    if (layout(n, opt, &carried, &total) != FG_OK || work_len < total) return FG_ERR_ARG;
    const fg_min_method *m = fg_min_method_of(opt->method);
    fg_minimize_options o;
    resolve(opt, m, &o);
    fg_status st = check_options(&o, m, obj, n);
    if (st != FG_OK) return st;
    double *hdr = work, *xs = work + FG_MIN_HEADER_LEN, *gs = xs + n;
    if (o.warm_start) {
        if (read_header(hdr, &o, n, carried) != FG_OK || !fg_min_all_finite(xs, n)
            || !fg_min_all_finite(gs, n) || !in_box(xs, &o, n))
            return FG_ERR_ARG;
    } else {
        if (!fg_min_all_finite(x, n)) return FG_ERR_NONFINITE;
        if (!in_box(x, &o, n)) return FG_ERR_ARG;
    }

    fg_min_run r;
    memset(&r, 0, sizeof r);
    r.obj = obj;
    r.opt = &o;
    r.n = n;
    r.sign = o.maximize ? -1.0 : 1.0;
    r.lower = o.lower;
    r.upper = o.upper;
    r.x = x;
    r.g = grad;
    r.xt = xs;
    r.gt = gs;
    r.state = gs + n;
    r.scratch = work + carried;
    st = m->init(&r, o.warm_start);
    if (st != FG_OK) return st;   /* only a carried state can be refused */
    int64_t nit = 0;
    if (o.warm_start) {
        nit = (int64_t)hdr[H_NIT];
        r.nfev = (int64_t)hdr[H_NFEV];
        r.njev = (int64_t)hdr[H_NJEV];
        r.nhev = (int64_t)hdr[H_NHEV];
        r.f = hdr[H_F];
        if (n) {
            memcpy(x, xs, n * sizeof *x);
            memcpy(grad, gs, n * sizeof *grad);
        }
    }

    memset(res, 0, sizeof *res);
    r.maxfev = r.nfev > INT64_MAX - o.maxfun ? INT64_MAX : r.nfev + o.maxfun;
    fg_minimize_stop stop = FG_MIN_STOP_COUNT;
    if (o.warm_start) {
        fg_min_norm_from_sum(fg_min_sum_squares(r.g, n), r.g, n, &r.gnorm);
    } else {
        fg_ls_eval e = fg_min_value_grad(&r, r.x, &r.f, r.g, &r.gnorm);
        if (e != FG_LS_EVAL_OK) stop = fg_min_eval_stop(e);
    }
    if (stop == FG_MIN_STOP_COUNT) {
        r.gnorm = tol_norm(&r, r.gnorm);
        record(&o, res, r.x, n, r.f, r.gnorm);
    }

    const int64_t nit0 = nit;
    fg_min_poll_clock pc = {1, 1, 0.0, 0.0};
    if (o.poll) fg_min_poll_start(&pc, o.poll_interval);
    while (stop == FG_MIN_STOP_COUNT) {
        if (r.gnorm <= o.tol) { stop = FG_MIN_CONVERGED; break; }
        if (nit - nit0 >= o.maxiter) { stop = FG_MIN_MAXITER; break; }
        if (r.nfev >= r.maxfev) { stop = FG_MIN_MAXFUN; break; }
        r.t = nit + 1;
        r.lr = o.lr;
        if (o.lr_fn) {
            r.lr = o.lr_fn(r.t, o.lr_ctx);
            if (!(r.lr >= 0.0) || !isfinite(r.lr)) { stop = FG_MIN_SCHEDULE_ERROR; break; }
        }
        stop = m->step(&r);
        if (stop != FG_MIN_STOP_COUNT) break;
        /* accept: swap the buffer pairs instead of copying */
        double *tmp = r.x;
        r.x = r.xt;
        r.xt = tmp;
        tmp = r.g;
        r.g = r.gt;
        r.gt = tmp;
        const double fold = r.f;
        r.f = r.ft;
        r.gnorm = tol_norm(&r, r.gtnorm);
        nit = r.t;
        record(&o, res, r.x, n, r.f, r.gnorm);
        if (o.callback && nit % o.callback_every == 0
            && fg_min_call_hook(o.callback, o.callback_ctx, &r, nit)) {
            stop = FG_MIN_CALLBACK_STOP;
            break;
        }
        if (o.poll && fg_min_poll_due(&pc, o.poll_interval)
            && fg_min_call_hook(o.poll, o.poll_ctx, &r, nit)) {
            stop = FG_MIN_INTERRUPTED;
            break;
        }
        if (m->info.stops_on_ftol
            && r.sign * (fold - r.f) <= o.ftol * fmax(fmax(fabs(fold), fabs(r.f)), 1.0))
            stop = FG_MIN_FTOL;
    }
    /* the result into the caller's arrays and the carried state */
    if (n) {
        if (r.x != x) memcpy(x, r.x, n * sizeof *x);
        else memcpy(xs, x, n * sizeof *x);
        if (r.g != grad) memcpy(grad, r.g, n * sizeof *grad);
        else memcpy(gs, grad, n * sizeof *grad);
    }
    write_header(hdr, &r, carried, nit);
    res->f = r.f;
    res->grad_norm = r.gnorm;
    res->nit = nit;
    res->nfev = r.nfev;
    res->njev = r.njev;
    res->nhev = r.nhev;
    res->stop = stop;
    res->objective_status = r.objective_status;
    return FG_OK;
}
