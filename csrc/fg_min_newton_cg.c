/* fg_min_newton_cg.c: line-search Newton-CG (Nocedal & Wright, Algorithm
 * 7.1), for large n where a dense Hessian is out of reach:
 *
 *     eps = min(1/2, sqrt|g|) |g|            (the forcing term)
 *     CG on H z = -g from z = 0 on Hessian-vector products, until
 *         |H z + g| < eps, or p.Hp <= 0 along a CG direction p (then z as
 *         it is; at the first CG step the steepest descent scaled by
 *         |g|^2 / |g.Hg|), or 20 n products
 *     Armijo backtracking along z from lr (c1 = 1e-4, halving; or the
 *         strong-Wolfe search with line_search = wolfe)
 *
 * Hessian-vector products: opt->hvp (a compiled function's forward-over-
 * reverse product, or a Python hessp), else the forward difference
 *     H v ~ (g(x + h v) - g(x)) / h,   h = sqrt(eps) max(1, |x|) / |v|,
 * one gradient evaluation each. nhev counts the products either way; the
 * difference's gradient evaluations are not in nfev/njev (they are not
 * evaluations of the iterates).
 *
 * No carried state. Scratch: z, the CG residual, direction and product,
 * and a spare pair (the difference's point and gradient, then the Wolfe
 * search's buffers).
 */
#include <float.h>
#include <math.h>
#include <string.h>
#include "fg_min_qn.h"

static fg_status ncg_sizes(size_t n, const fg_minimize_options *o, size_t *state, size_t *scratch)
{
    (void)o;
    if (n > SIZE_MAX / 6) return FG_ERR_ARG;
    *state = 0;
    *scratch = 6 * n;
    return FG_OK;
}

/* hv = sign * H(x) v: see the file comment. */
static fg_ls_eval hess_vec(fg_min_run *r, const double *v, double *hv, double *xh, double *gh)
{
    const size_t n = r->n;
    fg_status st;
    r->nhev++;
    if (r->opt->hvp) {
        st = r->opt->hvp(r->x, v, n, hv, r->opt->hvp_ctx);
        if (st != FG_OK) {
            r->objective_status = st;
            return FG_LS_EVAL_ERROR;
        }
        for (size_t i = 0; i < n; i++) hv[i] = r->sign * hv[i];
    } else {
        const double h = sqrt(DBL_EPSILON) * fmax(1.0, sqrt(fg_qn_dot(r->x, r->x, n)))
                       / sqrt(fg_qn_dot(v, v, n));
        double fh;
        for (size_t i = 0; i < n; i++) xh[i] = r->x[i] + h * v[i];
        st = r->obj->value_grad(xh, n, &fh, gh, r->obj->ctx);
        if (st != FG_OK) {
            r->objective_status = st;
            return FG_LS_EVAL_ERROR;
        }
        for (size_t i = 0; i < n; i++) hv[i] = (r->sign * gh[i] - r->sign * r->g[i]) / h;
    }
    return fg_min_all_finite(hv, n) ? FG_LS_EVAL_OK : FG_LS_EVAL_NONFINITE;
}

/* The truncated-CG direction into z; FG_LS_EVAL_ERROR when a product failed. */
static fg_ls_eval cg_direction(fg_min_run *r, double *z, double *res, double *p, double *bp,
                               double *xh, double *gh)
{
    const size_t n = r->n;
    const double sign = r->sign;
    const double gnorm = sqrt(fg_qn_dot(r->g, r->g, n));
    const double eps = fmin(0.5, sqrt(gnorm)) * gnorm;
    for (size_t i = 0; i < n; i++) {
        z[i] = 0.0;
        res[i] = sign * r->g[i];
        p[i] = -(sign * r->g[i]);
    }
    double rr = fg_qn_dot(res, res, n);
    const size_t maxit = n > SIZE_MAX / 20 ? SIZE_MAX : 20 * n;
    for (size_t j = 0; j < maxit; j++) {
        const fg_ls_eval e = hess_vec(r, p, bp, xh, gh);
        if (e == FG_LS_EVAL_ERROR) return e;
        const double curv = e == FG_LS_EVAL_OK ? fg_qn_dot(p, bp, n) : NAN;
        if (!(curv > 0.0)) {
            /* no positive curvature known along p: the CG iterate so far,
             * or at the first step the steepest descent, scaled by the
             * curvature's magnitude when there is one */
            if (j > 0) return FG_LS_EVAL_OK;
            const double scale = isfinite(curv) && curv < 0.0 ? rr / -curv : 1.0;
            for (size_t i = 0; i < n; i++) z[i] = scale * -(sign * r->g[i]);
            return FG_LS_EVAL_OK;
        }
        const double a = rr / curv;
        for (size_t i = 0; i < n; i++) {
            z[i] = z[i] + a * p[i];
            res[i] = res[i] + a * bp[i];
        }
        const double rr_new = fg_qn_dot(res, res, n);
        if (sqrt(rr_new) < eps) break;
        const double beta = rr_new / rr;
        for (size_t i = 0; i < n; i++) p[i] = -res[i] + beta * p[i];
        rr = rr_new;
    }
    return FG_LS_EVAL_OK;
}

static fg_minimize_stop ncg_step(fg_min_run *r)
{
    const size_t n = r->n;
    double *z = r->scratch, *res = z + n, *p = z + 2 * n, *bp = z + 3 * n;
    double *bx = z + 4 * n, *bg = z + 5 * n;
    if (!(r->lr > 0.0)) return FG_MIN_SCHEDULE_ERROR;   /* a zero step would never move */
    if (cg_direction(r, z, res, p, bp, bx, bg) == FG_LS_EVAL_ERROR)
        return FG_MIN_OBJECTIVE_ERROR;
    const double slope = r->sign * fg_qn_dot(r->g, z, n);
    fg_qn_search s = {r->opt->line_search, FG_QN_C1, FG_QN_C2, r->lr, FG_QN_STEP_MAX, 0};
    double alpha;
    if (!(slope < 0.0)) return FG_MIN_LINESEARCH_FAILED;
    fg_ls_status st = fg_qn_line_search(r, z, slope, &s, bx, bg, &alpha);
    return st == FG_LS_OK ? FG_MIN_STOP_COUNT : fg_min_ls_stop(st);
}

static const char *const NEWTON_CG_OPTIONS[] = {NULL};

const fg_min_method fg_min_newton_cg = {
    {"newton-cg", FG_MIN_NEEDS_GRADIENT | FG_MIN_USES_HVP, 0, 0,
     (1u << FG_MIN_LS_ARMIJO) | (1u << FG_MIN_LS_WOLFE), FG_MIN_LS_ARMIJO, NEWTON_CG_OPTIONS},
    ncg_sizes, fg_min_check_lr, fg_min_init_stateless, ncg_step};
