/* fg_min_qn.c: the pieces the quasi-Newton methods share (fg_min_qn.h). */
#include <math.h>
#include <string.h>
#include "fg_min_qn.h"

FG_VECTOR_CLONES
double fg_qn_dot(const double *FG_RESTRICT a, const double *FG_RESTRICT b, size_t n)
{
    return fg_min_dot_lanes(a, b, n);
}

FG_VECTOR_CLONES
void fg_qn_axpy(double a, const double *FG_RESTRICT x, double *FG_RESTRICT y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

FG_VECTOR_CLONES
void fg_qn_xpay(double *FG_RESTRICT w, const double *FG_RESTRICT x, double a,
                const double *FG_RESTRICT y, size_t n)
{
    for (size_t i = 0; i < n; i++) w[i] = x[i] + a * y[i];
}

int fg_qn_is_count(double v, double high)
{
    return v >= 0.0 && v <= high && v == floor(v);
}

/* ---- the plain rows, bfgs and cg ------------------------------------------ */

fg_status fg_qn_plain_init(fg_min_run *r, int warm, const fg_qn_ops *ops, size_t scalars,
                           size_t carried)
{
    r->cache.qn = ops;
    if (!warm) {
        memset(r->state, 0, scalars * sizeof *r->state);
        return FG_OK;
    }
    if (!fg_qn_is_count(r->state[FG_QN_HAVE], 1.0)) return FG_ERR_ARG;
    return fg_min_all_finite(r->state + scalars, carried) ? FG_OK : FG_ERR_ARG;
}

int fg_qn_plain_forget(fg_min_run *r)
{
    const int had = r->state[FG_QN_HAVE] != 0.0;
    r->state[FG_QN_HAVE] = 0.0;
    return had;
}

fg_minimize_stop fg_qn_plain_step(fg_min_run *r)
{
    double *d = r->scratch;
    return fg_qn_step(r, r->cache.qn, d, d + r->n, d + 2 * r->n);
}

/* ---- dense Cholesky (Newton's system, L-BFGS-B's Schur complement) ----- */

int fg_min_cholesky(double *a, size_t n)
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

void fg_min_cholesky_solve(const double *l, double *b, size_t n)
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

/* ---- the line along d ----------------------------------------------------- */

/* Two buffer pairs: slot 0 is the run's trial pair, slot 1 the spare. phi
 * writes into slot `trial`; keeping a trial as the best swaps the slots. */
typedef struct qn_line {
    fg_min_run *r;
    const double *d;
    double slope0;
    int boxed;
    double *x[2], *g[2];
    double f[2], gnorm[2];
    int trial, result;
} qn_line;

static fg_ls_eval line_phi(void *ctx, fg_ls_trial *t)
{
    qn_line *L = ctx;
    fg_min_run *r = L->r;
    const size_t n = r->n;
    double *x = L->x[L->trial];
    const double *d = L->d;
    const double a = t->alpha;
    fg_qn_xpay(x, r->x, a, d, n);
    L->result = L->trial;
    if (!fg_min_all_finite(x, n)) return FG_LS_EVAL_NONFINITE;
    /* rounding must not leave the box */
    if (L->boxed) fg_min_project(x, r->lower, r->upper, n);
    const int k = L->trial;
    fg_ls_eval e = fg_min_value_grad(r, x, &L->f[k], L->g[k], &L->gnorm[k]);
    if (e != FG_LS_EVAL_OK) return e;
    t->f = r->sign * L->f[k];
    t->slope = r->sign * fg_qn_dot(L->g[k], d, n);
    t->lin = a * L->slope0;
    return FG_LS_EVAL_OK;
}

static void line_keep(void *ctx, fg_ls_keep what)
{
    qn_line *L = ctx;
    if (what == FG_LS_KEEP) L->trial ^= 1;   /* the next trial goes to the other pair */
    else L->result = L->trial ^ 1;           /* the kept trial is the accepted one */
}

fg_ls_status fg_qn_line_search(fg_min_run *r, const double *d, double slope0,
                               const fg_qn_search *p, double *bx, double *bg, double *alpha)
{
    qn_line L;
    L.r = r;
    L.d = d;
    L.slope0 = slope0;
    L.boxed = p->boxed;
    L.x[0] = r->xt;
    L.g[0] = r->gt;
    L.x[1] = bx;
    L.g[1] = bg;
    L.trial = L.result = 0;
    fg_ls_trial t;
    fg_ls_status st;
    if (p->kind == FG_MIN_LS_WOLFE) {
        const fg_ls_wolfe_params wp = {p->c1, p->c2, FG_QN_XTOL, p->alpha0, p->alpha_max,
                                       FG_QN_MAX_EVALS};
        st = fg_ls_wolfe(line_phi, line_keep, &L, r->sign * r->f, slope0, &wp, &t);
    } else {
        const fg_ls_armijo_params ap = {p->c1, p->alpha0, 0.5, 61, 0, 0.0};
        st = fg_ls_armijo(line_phi, &L, r->sign * r->f, slope0, &ap, &t);
    }
    if (st != FG_LS_OK) return st;
    const int k = L.result;
    if (k == 1) {
        memcpy(r->xt, bx, r->n * sizeof *bx);
        memcpy(r->gt, bg, r->n * sizeof *bg);
    }
    r->ft = L.f[k];
    r->gtnorm = L.gnorm[k];
    *alpha = t.alpha;
    return FG_LS_OK;
}

/* ---- the step of lbfgs, bfgs and cg ---------------------------------------- */

fg_minimize_stop fg_qn_step(fg_min_run *r, const fg_qn_ops *ops, double *d, double *bx,
                            double *bg)
{
    const size_t n = r->n;
    double alpha = 0.0, slope;
    for (;;) {
        double alpha_max;
        ops->direction(r, d, &alpha_max);
        slope = r->sign * fg_qn_dot(r->g, d, n);
        fg_ls_status st = FG_LS_FAILED;
        if (slope < 0.0 && alpha_max > 0.0) {
            fg_qn_search p = {FG_MIN_LS_WOLFE, FG_QN_C1, ops->c2, 0.0, 0.0, ops->boxed};
            p.alpha0 = ops->first_trial(r, d, slope, &alpha_max);
            p.alpha_max = alpha_max;
            st = fg_qn_line_search(r, d, slope, &p, bx, bg, &alpha);
        }
        if (st == FG_LS_OK) break;
        if (st != FG_LS_FAILED) return fg_min_ls_stop(st);
        if (!ops->forget(r)) return FG_MIN_LINESEARCH_FAILED;
    }
    ops->update(r, d, alpha, slope);
    return FG_MIN_STOP_COUNT;
}
