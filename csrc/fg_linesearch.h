/* fg_linesearch.h: line searches for the minimize methods (private to the
 * driver, not part of the embedding API).
 *
 * A line search sees the objective only through phi(alpha), the function
 * along the search path, evaluated by the method (through the run's
 * counted evaluations, fg_min_method.h) into a trial record:
 *
 *     phi(ctx, &t): reads t.alpha, evaluates the objective at the path's
 *         point for alpha (x + alpha*d on a line), writes t.f (the value
 *         being minimized: -f when maximizing), t.slope = phi'(alpha) when
 *         the search asks for it (want_slope), and t.lin = g0 . (x(alpha) -
 *         x0), the first-order model's change (alpha * phi'(0) on a line;
 *         a projected path computes its own).
 *
 * phi returns FG_LS_EVAL_NONFINITE for a trial whose point, value or
 * gradient is not finite: the search shrinks the step, so such a trial never
 * becomes the iterate. FG_LS_EVAL_ERROR (the objective failed) and
 * FG_LS_EVAL_MAXFUN (the evaluation budget is spent) end the search at once.
 * Every search accepts only the trial it evaluated last, so the method's
 * trial buffers hold the accepted point when it returns FG_LS_OK.
 */
#ifndef FASTGRAD_LINESEARCH_H
#define FASTGRAD_LINESEARCH_H

#include "fg_status.h"

typedef enum fg_ls_eval {
    FG_LS_EVAL_OK = 0,
    FG_LS_EVAL_NONFINITE = 1,
    FG_LS_EVAL_ERROR = 2,
    FG_LS_EVAL_MAXFUN = 3
} fg_ls_eval;

typedef enum fg_ls_status {
    FG_LS_OK = 0,          /* the last trial is accepted */
    FG_LS_FAILED = 1,      /* no acceptable step within the search's limits */
    FG_LS_ERROR = 2,       /* phi returned FG_LS_EVAL_ERROR */
    FG_LS_MAXFUN = 3       /* phi returned FG_LS_EVAL_MAXFUN */
} fg_ls_status;

typedef struct fg_ls_trial {
    double alpha;   /* in: the step */
    int want_slope; /* in: whether slope and lin_end are needed */
    double f;       /* out: phi(alpha) */
    double lin;     /* out: the model change g0 . (x(alpha) - x0) */
    double slope;   /* out (want_slope): phi'(alpha) */
    double lin_end; /* out (want_slope): g(x(alpha)) . (x(alpha) - x0), alpha * phi'(alpha)
                       on a line */
} fg_ls_trial;

typedef fg_ls_eval (*fg_ls_phi_fn)(void *ctx, fg_ls_trial *t);

/* Armijo backtracking:
 *     alpha <- alpha0
 *     repeat at most max_evals times:
 *         accept phi(alpha) (finite) if
 *             phi(alpha) <= f0 + c1 * alpha * slope0
 *                 (with use_lin: f0 + c1 * lin, for projected paths), or,
 *             when approx_eps > 0, Hager and Zhang's approximate form
 *                 phi(alpha) <= f0 + approx_eps * |f0|  and
 *                 lin_end <= (2 c1 - 1) * lin
 *         alpha <- alpha * shrink
 * The approximate form tests the slope where the decrease c1 * lin is
 * below the rounding of f (near a minimum the exact test compares values
 * equal to rounding and the steps collapse); on a quadratic with c1 = 1/2
 * the two forms accept the same steps (W. W. Hager and H. Zhang, "A new
 * conjugate gradient method with guaranteed descent and an efficient line
 * search", SIAM J. Optim. 16, 2005, eq. 4.3).
 * Preconditions: slope0 < 0 (or lin <= 0 along the path), 0 < c1 < 1,
 * 0 < shrink < 1, alpha0 > 0, max_evals >= 1. *out is the last trial.
 * Returns FG_LS_OK, FG_LS_FAILED after max_evals rejected trials, or
 * FG_LS_ERROR / FG_LS_MAXFUN as phi said. */
typedef struct fg_ls_armijo_params {
    double c1, alpha0, shrink;
    int max_evals;
    int use_lin;
    double approx_eps;
} fg_ls_armijo_params;

fg_ls_status fg_ls_armijo(fg_ls_phi_fn phi, void *ctx, double f0, double slope0,
                          const fg_ls_armijo_params *p, fg_ls_trial *out);

#endif /* FASTGRAD_LINESEARCH_H */
