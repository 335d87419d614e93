/* fg_min_newton.c: damped Newton with a Levenberg safeguard (the formula
 * is at FG_MIN_NEWTON in fg_minimize.h).
 *
 * No carried state: every step starts from the Hessian at x. Scratch: the
 * Hessian H[n*n], its shifted Cholesky factor L[n*n] and the direction d[n].
 */
#include <math.h>
#include <string.h>
#include "fg_min_qn.h"   /* the Cholesky factorization */

/* At most this many shifts mu (growing tenfold) before the step gives up,
 * and this many Armijo trials (the last step is lr / 2^60). */
enum { NEWTON_MAX_SHIFTS = 100, NEWTON_MAX_EVALS = 61 };
static const double NEWTON_ARMIJO_C1 = 1e-4;

static fg_status newton_sizes(size_t n, const fg_minimize_options *o, size_t *state,
                              size_t *scratch)
{
    (void)o;
    if (n != 0 && n > (SIZE_MAX - n) / (2 * n + 1)) return FG_ERR_ARG;
    *state = 0;
    *scratch = 2 * n * n + n;
    return FG_OK;
}

static fg_status newton_check(const fg_minimize_options *o)
{
    if (!(o->newton_mu0 > 0.0) || !isfinite(o->newton_mu0)) return FG_ERR_ARG;
    return fg_min_check_lr(o);
}

/* phi(alpha) = f(x + alpha d) (signed: -f when maximizing). */
static fg_ls_eval newton_phi(void *ctx, fg_ls_trial *t)
{
    fg_min_run *r = ctx;
    const double *d = r->scratch + 2 * r->n * r->n;
    for (size_t i = 0; i < r->n; i++) r->xt[i] = r->x[i] + t->alpha * d[i];
    if (!fg_min_all_finite(r->xt, r->n)) return FG_LS_EVAL_NONFINITE;
    fg_ls_eval e = fg_min_value_grad(r, r->xt, &r->ft, r->gt, &r->gtnorm);
    t->f = r->sign * r->ft;
    return e;
}

static fg_minimize_stop newton_step(fg_min_run *r)
{
    const size_t n = r->n;
    const double sign = r->sign;
    double *hbuf = r->scratch, *lbuf = hbuf + n * n, *d = lbuf + n * n;
    if (!(r->lr > 0.0)) return FG_MIN_SCHEDULE_ERROR;   /* a zero step would never move */
    fg_ls_eval e = fg_min_hessian(r, r->x, hbuf);
    if (e != FG_LS_EVAL_OK) return fg_min_eval_stop(e);
    double maxdiag = 0.0;
    for (size_t i = 0; i < n; i++) maxdiag = fmax(maxdiag, fabs(hbuf[i * n + i]));
    double mu = 0.0;
    int factored = 0;
    for (int attempt = 0; attempt < NEWTON_MAX_SHIFTS && !factored; attempt++) {
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j <= i; j++) lbuf[i * n + j] = sign * hbuf[i * n + j];
            lbuf[i * n + i] += mu;
        }
        factored = fg_min_cholesky(lbuf, n);
        if (!factored)
            mu = mu == 0.0 ? fmax(r->opt->newton_mu0 * maxdiag, r->opt->newton_mu0) : 10.0 * mu;
    }
    if (!factored) return FG_MIN_LINESEARCH_FAILED;
    double slope = 0.0;  /* (sign g) . d < 0 */
    for (size_t i = 0; i < n; i++) d[i] = -sign * r->g[i];
    fg_min_cholesky_solve(lbuf, d, n);
    for (size_t i = 0; i < n; i++) slope += sign * r->g[i] * d[i];

    fg_ls_trial t;
    if (r->opt->line_search == FG_MIN_LS_NONE) {
        t.alpha = r->lr;
        e = newton_phi(r, &t);
        return e == FG_LS_EVAL_OK ? FG_MIN_STOP_COUNT : fg_min_eval_stop(e);
    }
    const fg_ls_armijo_params p = {NEWTON_ARMIJO_C1, r->lr, 0.5, NEWTON_MAX_EVALS, 0, 0.0};
    fg_ls_status ls = fg_ls_armijo(newton_phi, r, sign * r->f, slope, &p, &t);
    return ls == FG_LS_OK ? FG_MIN_STOP_COUNT : fg_min_ls_stop(ls);
}

static const char *const NEWTON_OPTIONS[] = {"newton_mu0", NULL};

const fg_min_method fg_min_newton = {
    {"newton", FG_MIN_NEEDS_GRADIENT | FG_MIN_NEEDS_HESSIAN, 0, 0,
     (1u << FG_MIN_LS_NONE) | (1u << FG_MIN_LS_ARMIJO), FG_MIN_LS_ARMIJO, NEWTON_OPTIONS},
    newton_sizes, newton_check, fg_min_init_stateless, newton_step, NULL};
