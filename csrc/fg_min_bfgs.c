/* fg_min_bfgs.c: BFGS with the dense inverse-Hessian update (Nocedal &
 * Wright, eq. 6.17), for n up to a few hundred (n^2 memory, n^2 work per
 * iteration):
 *
 *     d = -H g;  strong-Wolfe search (c2 = 0.9, first trial 1)
 *     s = x+ - x, y = g+ - g, rho = 1 / s.y; skipped unless s.y > eps y.y
 *     H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T
 *        = H - rho (s (Hy)^T + (Hy) s^T) + (rho^2 y.Hy + rho) s s^T
 *
 * H0 = I for the first direction (first trial step 1/|g|), then scaled to
 * (s.y / y.y) I just before the first update (N&W eq. 6.20), so the model
 * starts at the curvature seen along the first step.
 *
 * Carried state: BF_SCALARS numbers ([0]: H holds a matrix, 0 while it is
 * the unscaled identity) and H (n x n, row-major, symmetric). Scratch: the
 * direction, the line search's spare pair, H y.
 */
#include <float.h>
#include <math.h>
#include "fg_min_qn.h"

enum { BF_READY = FG_QN_HAVE, BF_SCALARS = 4 };

static fg_status bf_sizes(size_t n, const fg_minimize_options *o, size_t *state, size_t *scratch)
{
    (void)o;
    if (n != 0 && n > (SIZE_MAX - BF_SCALARS) / n) return FG_ERR_ARG;
    *state = BF_SCALARS + n * n;
    *scratch = 4 * n;
    return FG_OK;
}

static void bf_direction(fg_min_run *r, double *d, double *alpha_max)
{
    const size_t n = r->n;
    const double *H = r->state + BF_SCALARS;
    *alpha_max = FG_QN_STEP_MAX;
    if (r->state[BF_READY] == 0.0) {
        for (size_t i = 0; i < n; i++) d[i] = -(r->sign * r->g[i]);
        return;
    }
    for (size_t i = 0; i < n; i++) d[i] = -(r->sign * fg_qn_dot(H + i * n, r->g, n));
}

static double bf_first_trial(fg_min_run *r, const double *d, double slope, double *alpha_max)
{
    (void)slope;
    const double a = r->state[BF_READY] != 0.0 ? 1.0 : 1.0 / sqrt(fg_qn_dot(d, d, r->n));
    return fmin(a, *alpha_max);
}

static void bf_update(fg_min_run *r, const double *d, double alpha, double slope)
{
    (void)d;
    (void)alpha;
    (void)slope;
    const size_t n = r->n;
    double *H = r->state + BF_SCALARS;
    double *s = r->scratch + n, *y = r->scratch + 2 * n, *hy = r->scratch + 3 * n;
    for (size_t i = 0; i < n; i++) {
        s[i] = r->xt[i] - r->x[i];
        y[i] = r->sign * r->gt[i] - r->sign * r->g[i];
    }
    const double sy = fg_qn_dot(s, y, n), yy = fg_qn_dot(y, y, n);
    if (!(sy > DBL_EPSILON * yy)) return;   /* no positive curvature: keep H */
    if (r->state[BF_READY] == 0.0) {
        const double h0 = sy / yy;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) H[i * n + j] = i == j ? h0 : 0.0;
        r->state[BF_READY] = 1.0;
    }
    const double rho = 1.0 / sy;
    for (size_t i = 0; i < n; i++) hy[i] = fg_qn_dot(H + i * n, y, n);
    const double coef = rho * rho * fg_qn_dot(y, hy, n) + rho;
    /* the update is symmetric entry by entry (the two products of each
     * entry's sum commute exactly): the lower triangle, mirrored */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++) {
            const double h = H[i * n + j] - rho * (s[i] * hy[j] + hy[i] * s[j])
                           + coef * (s[i] * s[j]);
            H[i * n + j] = h;
            H[j * n + i] = h;
        }
}

static fg_status bf_init(fg_min_run *r, int warm)
{
    static const fg_qn_ops ops = {FG_QN_C2, bf_direction, bf_first_trial, fg_qn_plain_forget,
                                  bf_update, 0};
    return fg_qn_plain_init(r, warm, &ops, BF_SCALARS, r->n * r->n);
}

static const char *const BFGS_OPTIONS[] = {NULL};

const fg_min_method fg_min_bfgs = {
    {"bfgs", FG_MIN_NEEDS_GRADIENT, 0, 1, 1u << FG_MIN_LS_WOLFE, FG_MIN_LS_WOLFE, BFGS_OPTIONS},
    bf_sizes, fg_min_check_none, bf_init, fg_qn_plain_step};
