/* fg_min_method.h: the contract between the minimize loop (fg_minimize.c)
 * and its methods (fg_min_*.c). Private to the C core.
 *
 * A method is one row of the method table: its description
 * (fg_minimize_method_info), the sizes of its carried state and scratch,
 * a check of the options, init and step. The loop owns the first
 * evaluation, the stopping tests, history, callbacks, polling and the
 * divergence guard; a step moves the run from the accepted iterate
 * (r->x, r->f, r->g) to the next one, which it leaves in the trial buffers
 * (r->xt, r->ft, r->gt, r->gtnorm), evaluating only through the counted
 * functions below; it returns FG_MIN_STOP_COUNT when the trial is the new
 * iterate, else a stop reason (the iterate stays as it was). All of a
 * method's carried state is plain numbers in r->state, so a warm start
 * (and a pickle) continues it; r->cache holds what init derives from it.
 *
 * To add a method: a code in fg_minimize_method (fg_minimize.h), a file
 * fg_min_<name>.c defining its row, and the row in the table of
 * fg_minimize.c (option fields it needs go into fg_minimize_options and
 * the field table next to it). A new optimizer of fg_optimizer.h becomes a
 * first-order method by a code, a row in fg_min_first_order.c and the
 * table row.
 */
#ifndef FASTGRAD_MIN_METHOD_H
#define FASTGRAD_MIN_METHOD_H

#include <math.h>
#include <stdint.h>
#include "fg_config.h"
#include "fg_linesearch.h"
#include "fg_minimize.h"
#include "fg_optim.h"

struct fg_qn_ops;

/* Values a method derives from its state and the options, rebuilt by init
 * (fresh or warm) and never carried. */
typedef union fg_min_cache {
    struct {
        fg_optim_coeffs c;                 /* the step's coefficients */
        double hyper[FG_OPTIM_MAX_HYPER];  /* the optimizer's hyperparameters */
        const fg_optimizer *d;             /* the optimizer */
        double *running, *prepared, *scalars;   /* into the carried state */
        double *buffers[FG_OPTIM_MAX_STATE];
    } fo;                                  /* the first-order methods */
    const struct fg_qn_ops *qn;            /* bfgs and cg: their step's pieces */
    double d[32];
} fg_min_cache;

typedef struct fg_min_run {
    const fg_objective *obj;
    const fg_minimize_options *opt;
    size_t n;
    double sign;                 /* 1 to minimize, -1 to maximize */
    const double *lower, *upper; /* NULL without bounds */
    /* the accepted iterate */
    double *x, *g;
    double f, gnorm;
    /* the trial a step fills */
    double *xt, *gt;
    double ft, gtnorm;
    double *state;               /* the method's carried state */
    double *scratch;             /* the method's scratch */
    int64_t t;                   /* this update's number: nit + 1 */
    double lr;                   /* this update's step size (lr or lr_fn(t)) */
    int64_t nfev, njev, nhev;
    int64_t maxfev;              /* nfev never passes this */
    fg_status objective_status;  /* what a failing objective returned */
    fg_min_cache cache;
} fg_min_run;

typedef struct fg_min_method {
    fg_minimize_method_info info;
    /* Doubles of carried state and of scratch for n unknowns; FG_ERR_ARG
     * when a size overflows. */
    fg_status (*sizes)(size_t n, const fg_minimize_options *o, size_t *state, size_t *scratch);
    /* The method's own checks of the options (the loop has checked the
     * common ones): FG_OK or FG_ERR_ARG. */
    fg_status (*check)(const fg_minimize_options *o);
    /* warm == 0: set up the state for a fresh run (f and g are not yet
     * evaluated). warm == 1: the state is a carried one: validate it
     * (FG_ERR_ARG if this method with these options could not have written
     * it) and rebuild the cache. Called before anything else is written,
     * and before x and g hold the carried iterate. */
    fg_status (*init)(fg_min_run *r, int warm);
    fg_minimize_stop (*step)(fg_min_run *r);
    /* May be NULL: set the method's own defaults (the fields it reads, lr)
     * after fg_minimize_options_init has set the common ones. */
    void (*defaults)(fg_minimize_options *o);
} fg_min_method;

extern const fg_min_method fg_min_gd, fg_min_momentum, fg_min_nesterov, fg_min_adam,
    fg_min_adamw, fg_min_rmsprop, fg_min_adagrad, fg_min_newton, fg_min_lbfgs, fg_min_bfgs,
    fg_min_cg, fg_min_newton_cg, fg_min_adamax, fg_min_nadam;

/* The row of method m (fg_minimize.c's table), or NULL for an unknown code. */
const fg_min_method *fg_min_method_of(fg_minimize_method m);

/* Pieces that rows share (fg_minimize.c). fg_min_check_none: a check for a
 * method with no options of its own to test. fg_min_check_lr: FG_OK when
 * the step size is a schedule's or lr is positive and finite (the Newton
 * methods' step from lr). fg_min_init_stateless: the init of a method with
 * no carried state. */
fg_status fg_min_check_none(const fg_minimize_options *o);
fg_status fg_min_check_lr(const fg_minimize_options *o);
fg_status fg_min_init_stateless(fg_min_run *r, int warm);

/* One update of a first-order row (fg_min_first_order.c): r->xt <- the
 * optimizer's out-of-place step from r->x with the gradient r->g, step
 * number r->t and rate r->lr, no projection and no evaluation.
 * FG_MIN_STOP_COUNT, or FG_MIN_DIVERGED (a non-finite r->xt) or
 * FG_MIN_SCHEDULE_ERROR. The stochastic driver (fg_min_stochastic.c)
 * evaluates between updates on its own batches. */
fg_minimize_stop fg_min_first_order_update(fg_min_run *r);

/* Polling by elapsed time (fg_minimize.c): fg_min_poll_due is 1 about
 * every `interval` seconds when called once per iteration, reading the
 * clock only every few ms whatever an iteration costs. */
typedef struct fg_min_poll_clock {
    int64_t countdown, batch;
    double last_read, next_poll;
} fg_min_poll_clock;
void fg_min_poll_start(fg_min_poll_clock *pc, double interval);
int fg_min_poll_due(fg_min_poll_clock *pc, double interval);
/* fn(state of r at update nit, ctx): the callback or poll of the run. */
int fg_min_call_hook(fg_minimize_callback fn, void *ctx, const fg_min_run *r, int64_t nit);

/* ---- vector helpers (fg_minimize.c) ----------------------------------- */

/* 1 if all n values are finite. */
int fg_min_all_finite(const double *x, size_t n);

/* sum_i a_i b_i with eight interleaved partial sums (lane k takes
 * i = k mod 8), combined as ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)).
 * The lanes are independent elementwise updates, so the loop vectorizes
 * without reassociation (one AVX-512 register, two AVX2, four SSE2), and
 * every clone computes the same sum bit for bit: a run and its
 * warm-started halves agree wherever they run. The body of
 * fg_min_sum_squares and fg_qn_dot (a = b: the compiler loads once). */
FG_INLINE double fg_min_dot_lanes(const double *FG_RESTRICT a, const double *FG_RESTRICT b,
                                  size_t n)
{
    double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
    for (size_t k = 0; i + k < n; k++) acc[k] += a[i + k] * b[i + k];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}
/* sum of g_i^2 (fg_min_dot_lanes), the same bits on every instruction set. */
double fg_min_sum_squares(const double *g, size_t n);
/* The rare cases of fg_min_norm_from_sum: s not finite, or 0 for n > 0. */
int fg_min_norm_slow(double s, const double *g, size_t n, double *norm);
/* *norm = ||g||_2 from s = fg_min_sum_squares(g); 1 if every g_i is
 * finite, else 0 (*norm is then not finite). */
FG_INLINE int fg_min_norm_from_sum(double s, const double *g, size_t n, double *norm)
{
    if (FG_LIKELY(isfinite(s) && (s > 0.0 || n == 0))) {
        *norm = sqrt(s);
        return 1;
    }
    return fg_min_norm_slow(s, g, n, norm);
}
/* Clamp x into [lower, upper] in place. */
void fg_min_project(double *x, const double *lower, const double *upper, size_t n);

/* ---- counted evaluations ---------------------------------------------- */

/* *f and g at x, one value and one gradient evaluation; *gnorm = ||g||_2.
 * FG_LS_EVAL_NONFINITE when f or g is not finite (x is the caller's to
 * check), FG_LS_EVAL_ERROR (r->objective_status set), FG_LS_EVAL_MAXFUN
 * (nothing evaluated) when the budget is spent. */
FG_INLINE fg_ls_eval fg_min_value_grad(fg_min_run *r, const double *x, double *f, double *g,
                                       double *gnorm)
{
    if (FG_UNLIKELY(r->nfev >= r->maxfev)) return FG_LS_EVAL_MAXFUN;
    fg_status st = r->obj->value_grad(x, r->n, f, g, r->obj->ctx);
    r->nfev++;
    r->njev++;
    if (FG_UNLIKELY(st != FG_OK)) {
        r->objective_status = st;
        return FG_LS_EVAL_ERROR;
    }
    if (FG_UNLIKELY(!fg_min_norm_from_sum(fg_min_sum_squares(g, r->n), g, r->n, gnorm)
                    || !isfinite(*f)))
        return FG_LS_EVAL_NONFINITE;
    return FG_LS_EVAL_OK;
}

/* The n*n Hessian at x (one Hessian evaluation); FG_LS_EVAL_NONFINITE when
 * an entry is not finite. */
FG_INLINE fg_ls_eval fg_min_hessian(fg_min_run *r, const double *x, double *hess)
{
    fg_status st = r->obj->hessian(x, r->n, hess, r->obj->ctx);
    r->nhev++;
    if (st != FG_OK) {
        r->objective_status = st;
        return FG_LS_EVAL_ERROR;
    }
    return fg_min_all_finite(hess, r->n * r->n) ? FG_LS_EVAL_OK : FG_LS_EVAL_NONFINITE;
}

/* The stop reason an evaluation failure ends the run with. */
FG_INLINE fg_minimize_stop fg_min_eval_stop(fg_ls_eval e)
{
    return e == FG_LS_EVAL_ERROR ? FG_MIN_OBJECTIVE_ERROR
         : e == FG_LS_EVAL_MAXFUN ? FG_MIN_MAXFUN : FG_MIN_DIVERGED;
}

/* The stop reason a failed line search ends the run with. */
FG_INLINE fg_minimize_stop fg_min_ls_stop(fg_ls_status s)
{
    return s == FG_LS_ERROR ? FG_MIN_OBJECTIVE_ERROR
         : s == FG_LS_MAXFUN ? FG_MIN_MAXFUN : FG_MIN_LINESEARCH_FAILED;
}

#endif /* FASTGRAD_MIN_METHOD_H */
