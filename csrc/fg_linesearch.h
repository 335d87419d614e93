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

/* Strong Wolfe conditions, by the Moré-Thuente algorithm:
 *     phi(alpha) <= f0 + c1 * alpha * slope0     (sufficient decrease)
 *     |phi'(alpha)| <= c2 * |slope0|             (curvature)
 * It keeps an interval of uncertainty [stx, sty] (stx the best end) that
 * holds a Wolfe step once bracketed; each new trial is a safeguarded cubic,
 * quadratic or secant step (at most 4x beyond stp before bracketing, at most
 * 0.66 of the way to sty after), with a bisection whenever the interval
 * fails to shrink by a third in two trials; until a trial meets the
 * sufficient decrease with a slope at least min(c1, c2) * slope0, the steps
 * are chosen on psi(alpha) = phi(alpha) - f0 - c1 * alpha * slope0.
 * The same trial steps as MINPACK-2's dcsrch (J. J. Moré and D. J. Thuente,
 * "Line search algorithms with guaranteed sufficient decrease", ACM TOMS
 * 20, 1994), the search of L-BFGS-B, scipy's BFGS and liblbfgs; chosen over
 * Nocedal and Wright's bracketing and zoom for its safeguards and its
 * termination guarantee, and so that evaluation counts compare with
 * scipy's like for like.
 *
 * Ends (at most max_evals evaluations):
 *   - a trial meets both conditions, or alpha = alpha_max with sufficient
 *     decrease and a slope still below c1 * slope0: accepted;
 *   - the interval is bracketed and shorter than xtol * its upper end, or
 *     rounding leaves no step strictly inside it, or max_evals trials are
 *     spent: the best trial stx is accepted when phi(stx) <= f0 (a tie with
 *     f0, f flat to rounding, still counts: the caller's ftol test then
 *     stops), else FG_LS_FAILED;
 *   - phi says MAXFUN: the best trial as above, else FG_LS_MAXFUN;
 *   - phi says ERROR: FG_LS_ERROR.
 * A trial whose value or slope is not finite halves the distance to stx,
 * and later trials stay below it (alpha_max shrinks to it).
 *
 * keep(ctx, FG_LS_KEEP) says that the trial phi evaluated last is the new
 * best (stx): the method keeps its point and gradient aside (swapping
 * buffers) before the next phi call. keep(ctx, FG_LS_RESTORE) says that
 * the accepted step is the kept one, not the last evaluated. *out is the
 * accepted trial (alpha, f, slope) on FG_LS_OK.
 * Preconditions: slope0 < 0 (else FG_LS_FAILED at once), 0 < c1 <= c2 < 1,
 * xtol >= 0, 0 < alpha0 <= alpha_max, max_evals >= 1. */
typedef enum fg_ls_keep {
    FG_LS_KEEP = 0,
    FG_LS_RESTORE = 1
} fg_ls_keep;

typedef void (*fg_ls_keep_fn)(void *ctx, fg_ls_keep what);

typedef struct fg_ls_wolfe_params {
    double c1, c2, xtol;
    double alpha0, alpha_max;
    int max_evals;
} fg_ls_wolfe_params;

fg_ls_status fg_ls_wolfe(fg_ls_phi_fn phi, fg_ls_keep_fn keep, void *ctx, double f0,
                         double slope0, const fg_ls_wolfe_params *p, fg_ls_trial *out);

#endif /* FASTGRAD_LINESEARCH_H */
