/* fg_min_cg.c: nonlinear conjugate gradients, Polak-Ribiere+ (Nocedal &
 * Wright, eq. 5.45), with restarts:
 *
 *     beta = max(0, g+.(g+ - g) / g.g);  d+ = -g+ + beta d
 *     d+ <- -g+ whenever g+.d+ >= 0 (not a descent direction), and after a
 *           failed search (the PR+ rule restarts by itself where beta < 0)
 *
 * Strong-Wolfe search with c2 = 0.4: with PR+ and the descent restart, c2
 * need not be below 1/2 for the theory, and a looser curvature test takes
 * fewer evaluations per search (scipy's CG uses the same value). The first
 * trial step is the one that repeats the last search's first-order
 * decrease, alpha_prev * g.d / g+.d+ (N&W eq. 3.60); 1/|g| at a restart.
 *
 * Carried state: CG_SCALARS numbers ([0]: d and g below hold the last
 * direction and gradient; [1]: the last search's alpha * g.d), the last
 * direction and the last (signed) gradient. Scratch: the direction, the
 * line search's spare pair.
 */
#include <math.h>
#include <string.h>
#include "fg_min_qn.h"

enum { CG_HAVE = FG_QN_HAVE, CG_DECREASE = 1, CG_SCALARS = 4 };
#define CG_C2 0.4

static fg_status cg_sizes(size_t n, const fg_minimize_options *o, size_t *state, size_t *scratch)
{
    (void)o;
    if (n > (SIZE_MAX - CG_SCALARS) / 3) return FG_ERR_ARG;
    *state = CG_SCALARS + 2 * n;
    *scratch = 3 * n;
    return FG_OK;
}

static void cg_direction(fg_min_run *r, double *d, double *alpha_max)
{
    const size_t n = r->n;
    const double sign = r->sign, *dp = r->state + CG_SCALARS, *gp = dp + n, *g = r->g;
    double *diff = r->scratch + n;   /* the spare buffer, free until the search */
    *alpha_max = FG_QN_STEP_MAX;
    if (r->state[CG_HAVE] != 0.0) {
        for (size_t i = 0; i < n; i++) diff[i] = sign * g[i] - gp[i];
        /* g+.(g+ - g) with the signed g+: sign * (g . diff) */
        const double beta = fmax(0.0, sign * fg_qn_dot(g, diff, n) / fg_qn_dot(gp, gp, n));
        for (size_t i = 0; i < n; i++) d[i] = -(sign * g[i]) + beta * dp[i];
        if (sign * fg_qn_dot(g, d, n) < 0.0) return;
    }
    for (size_t i = 0; i < n; i++) d[i] = -(sign * g[i]);
}

static double cg_first_trial(fg_min_run *r, const double *d, double slope, double *alpha_max)
{
    const double a = r->state[CG_HAVE] != 0.0 ? r->state[CG_DECREASE] / slope
                                              : 1.0 / sqrt(fg_qn_dot(d, d, r->n));
    return fmin(a, *alpha_max);
}

static void cg_update(fg_min_run *r, const double *d, double alpha, double slope)
{
    const size_t n = r->n;
    double *dp = r->state + CG_SCALARS, *gp = dp + n;
    memcpy(dp, d, n * sizeof *d);
    for (size_t i = 0; i < n; i++) gp[i] = r->sign * r->g[i];
    r->state[CG_HAVE] = 1.0;
    r->state[CG_DECREASE] = alpha * slope;
}

static fg_status cg_init(fg_min_run *r, int warm)
{
    static const fg_qn_ops ops = {CG_C2, cg_direction, cg_first_trial, fg_qn_plain_forget,
                                  cg_update, 0};
    if (warm && !isfinite(r->state[CG_DECREASE])) return FG_ERR_ARG;
    return fg_qn_plain_init(r, warm, &ops, CG_SCALARS, 2 * r->n);
}

static const char *const CG_OPTIONS[] = {NULL};

const fg_min_method fg_min_cg = {
    {"cg", FG_MIN_NEEDS_GRADIENT, 0, 1, 1u << FG_MIN_LS_WOLFE, FG_MIN_LS_WOLFE, CG_OPTIONS},
    cg_sizes, fg_min_check_none, cg_init, fg_qn_plain_step};
