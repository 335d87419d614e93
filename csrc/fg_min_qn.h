/* fg_min_qn.h: what the quasi-Newton family of minimize methods
 * (fg_min_lbfgs.c, fg_min_bfgs.c, fg_min_cg.c, fg_min_newton_cg.c) shares:
 * dot products, a line search along a direction from the iterate, the
 * step skeleton of lbfgs, bfgs and cg, and the rest of bfgs's and cg's
 * rows but for their own formulas. Private to the C core.
 *
 * Signs: the methods minimize sign * f (sign = -1 maximizes). Directions
 * are descent directions of sign * f and slopes are sign * g . d.
 */
#ifndef FASTGRAD_MIN_QN_H
#define FASTGRAD_MIN_QN_H

#include "fg_min_method.h"

/* a . b (fg_min_dot_lanes): the same bits on every instruction set. */
double fg_qn_dot(const double *a, const double *b, size_t n);

/* y += a x, and w = x + a y (elementwise: the same bits on every
 * instruction set), built for AVX-512, AVX2 and baseline x86-64. */
void fg_qn_axpy(double a, const double *x, double *y, size_t n);
void fg_qn_xpay(double *w, const double *x, double a, const double *y, size_t n);

/* The strong-Wolfe constants of lbfgs and bfgs (c2 = 0.9: the quasi-Newton
 * step is usually accepted at once), and the interval tolerance and trial
 * budget of L-BFGS-B's search. */
#define FG_QN_C1 1e-4
#define FG_QN_C2 0.9
#define FG_QN_XTOL 0.1
#define FG_QN_MAX_EVALS 20
/* The largest step a search may take (L-BFGS-B's bound). */
#define FG_QN_STEP_MAX 1e10

/* A search along d from r->x, trials x + alpha d (clamped into the box
 * when boxed), each a counted evaluation into the run's trial buffers
 * (r->xt, r->gt). The strong-Wolfe search keeps its best trial aside in
 * (bx, bg), n doubles each, swapping buffers rather than copying; Armijo
 * needs no spare buffers (bx, bg may be NULL). On FG_LS_OK the accepted
 * point, its gradient, value and gradient norm are in r->xt, r->gt, r->ft,
 * r->gtnorm, and *alpha is its step. */
typedef struct fg_qn_search {
    fg_minimize_line_search kind;   /* FG_MIN_LS_WOLFE or FG_MIN_LS_ARMIJO */
    double c1, c2;                  /* c2: Wolfe only */
    double alpha0, alpha_max;       /* alpha_max: Wolfe only */
    int boxed;
} fg_qn_search;

fg_ls_status fg_qn_line_search(fg_min_run *r, const double *d, double slope0,
                               const fg_qn_search *p, double *bx, double *bg, double *alpha);

/* One step of lbfgs, bfgs or cg:
 *     d <- direction(x); slope <- sign g . d
 *     if slope < 0: strong-Wolfe search from first_trial(d)
 *     no acceptable step: forget the curvature information and retry once
 *         along the steepest descent (if there was none to forget: stop,
 *         FG_MIN_LINESEARCH_FAILED)
 *     update(s = x+ - x, y = g+ - g, ...)
 * A search that runs out of evaluations takes its best trial when it does
 * not increase f (the loop's maxfun test then stops the run). */
typedef struct fg_qn_ops {
    double c2;
    /* d <- the search direction at r->x; *alpha_max <- the largest step
     * (FG_QN_STEP_MAX, or the box's limit along d). */
    void (*direction)(fg_min_run *r, double *d, double *alpha_max);
    /* The first trial step along d; may lower *alpha_max. */
    double (*first_trial)(fg_min_run *r, const double *d, double slope, double *alpha_max);
    /* Drop the curvature information; 1 if there was any. */
    int (*forget)(fg_min_run *r);
    /* The step is taken: r->xt, r->gt hold x+ and its gradient; alpha and
     * slope are the search's step and initial slope along d. */
    void (*update)(fg_min_run *r, const double *d, double alpha, double slope);
    int boxed;
} fg_qn_ops;

fg_minimize_stop fg_qn_step(fg_min_run *r, const fg_qn_ops *ops, double *d, double *bx,
                            double *bg);

/* In-place Cholesky factorization A = L L^T of the lower triangle of the
 * row-major n x n matrix a (the strict upper triangle is ignored and left
 * as is). Returns 1 on success, 0 when A is not (numerically) positive
 * definite: a pivot is <= 0 or not finite. */
int fg_min_cholesky(double *a, size_t n);
/* Solve L L^T y = b in place (b becomes y), L from fg_min_cholesky. */
void fg_min_cholesky_solve(const double *l, double *b, size_t n);

/* A carried count (a double holding an integer in [0, high]): for warm
 * starts' validation. */
int fg_qn_is_count(double v, double high);

/* The plain rows of the family, bfgs and cg: the carried state is
 * `scalars` numbers, the first (FG_QN_HAVE) 1 while the method holds
 * curvature information, then `carried` doubles of it; the scratch begins
 * with d and the search's spare pair (n doubles each).
 * fg_qn_plain_init: the row's init; it keeps `ops` in r->cache (fresh: the
 * scalars zeroed; warm: FG_ERR_ARG unless the flag is 0 or 1 and the
 * carried doubles are finite). fg_qn_plain_forget: the ops' forget.
 * fg_qn_plain_step: the row's step, fg_qn_step with those ops and buffers. */
enum { FG_QN_HAVE = 0 };
fg_status fg_qn_plain_init(fg_min_run *r, int warm, const fg_qn_ops *ops, size_t scalars,
                           size_t carried);
int fg_qn_plain_forget(fg_min_run *r);
fg_minimize_stop fg_qn_plain_step(fg_min_run *r);

#endif /* FASTGRAD_MIN_QN_H */
