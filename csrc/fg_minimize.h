/* fg_minimize.h: the minimize driver. The whole optimization loop (objective
 * evaluation, update, stopping test, divergence guard, history, callbacks)
 * runs in C over a caller-provided workspace: no allocation, no Python.
 *
 * The loop, for every method (t counts iterations from 1):
 *
 *     f, g <- objective(x0)                          (nfev = njev = 1)
 *     repeat:
 *         if ||g||_2 <= tol:  stop, FG_MIN_CONVERGED
 *         if t - 1 == maxiter: stop, FG_MIN_MAXITER
 *         x <- update(x, g, state, t)                (the fg_optim.h kernels)
 *         f, g <- objective(x)
 *         if x, f or g is not finite: x, f, g <- the previous (finite)
 *             iterate; stop, FG_MIN_DIVERGED
 *         record (x, f, ||g||) into the history buffers if given
 *         every callback_every iterations: callback(state); nonzero -> stop
 *
 * The update steps are the fused kernels of fg_optim.h (fg_sgd_step_f64,
 * fg_adam_step_out_f64, ...), so minimize follows torch.optim's rules; their
 * per-step coefficients come from fg_*_prepare, except Adam's bias
 * corrections 1 - beta^t: running products instead of torch's pow() per
 * step (see fg_minimize.c), which differ from pow's in the last bit in rare
 * steps, where the other methods match the optimizer classes bit for bit.
 * Newton's update is described at FG_MIN_NEWTON below.
 */
#ifndef FASTGRAD_MINIMIZE_H
#define FASTGRAD_MINIMIZE_H

#include <stddef.h>
#include <stdint.h>
#include "fg_status.h"
#include "fg_objective.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The methods. gd/momentum/nesterov are torch.optim.SGD (momentum 0,
 * momentum > 0, Nesterov momentum); adam/adamw/rmsprop/adagrad the
 * same-named torch.optim classes.
 *
 * FG_MIN_NEWTON, damped Newton with a Levenberg safeguard:
 *     H <- hessian(x)   (negated, with g, when maximizing: Newton on -f)
 *     mu <- 0; until the Cholesky factorization of H + mu*I succeeds:
 *         mu <- (mu == 0) ? max(newton_mu0 * max_i |H_ii|, newton_mu0) : 10*mu
 *     d <- -(H + mu*I)^{-1} g      (a descent direction: H + mu*I is SPD)
 *     s <- lr; while f(x + s*d) > f(x) + 1e-4 * s * g.d (or is not finite):
 *         s <- s/2   (at most 60 halvings, else stop FG_MIN_LINESEARCH_FAILED)
 *     x <- x + s*d
 * With a positive-definite Hessian and lr = 1 this is the pure Newton step
 * (quadratic convergence near a strict minimum); the shift and the
 * backtracking only act when the Hessian is indefinite or the full step does
 * not decrease f. */
typedef enum fg_minimize_method {
    FG_MIN_GD = 0,
    FG_MIN_MOMENTUM = 1,
    FG_MIN_NESTEROV = 2,
    FG_MIN_ADAM = 3,
    FG_MIN_ADAMW = 4,
    FG_MIN_RMSPROP = 5,
    FG_MIN_ADAGRAD = 6,
    FG_MIN_NEWTON = 7,
    FG_MIN_METHOD_COUNT
} fg_minimize_method;

/* Why a run stopped (fg_minimize_result.stop). */
typedef enum fg_minimize_stop {
    FG_MIN_CONVERGED = 0,         /* ||grad||_2 <= tol: success */
    FG_MIN_MAXITER = 1,           /* maxiter iterations done without meeting tol */
    FG_MIN_DIVERGED = 2,          /* a non-finite x, value or gradient appeared */
    FG_MIN_CALLBACK_STOP = 3,     /* the callback returned nonzero */
    FG_MIN_OBJECTIVE_ERROR = 4,   /* an objective callback returned a status != FG_OK */
    FG_MIN_LINESEARCH_FAILED = 5, /* Newton: no decrease after 60 halvings */
    FG_MIN_SCHEDULE_ERROR = 6,    /* lr_fn returned a negative or non-finite rate */
    FG_MIN_STOP_COUNT
} fg_minimize_stop;

/* What the progress callback sees after each iteration (read-only, valid
 * only during the call). */
typedef struct fg_minimize_state {
    int64_t nit;           /* iterations done (0 = x0) */
    int64_t nfev, njev;    /* objective evaluations so far */
    size_t n;
    const double *x;       /* current iterate, n values */
    const double *grad;    /* gradient at x, n values */
    double f;              /* objective at x */
    double grad_norm;      /* ||grad||_2 */
} fg_minimize_state;

/* Return nonzero to stop the run (FG_MIN_CALLBACK_STOP). */
typedef int (*fg_minimize_callback)(const fg_minimize_state *state, void *cb_ctx);

/* Optional learning-rate schedule lr(t), t = 1, 2, ...; NULL: constant lr. */
typedef double (*fg_minimize_lr_fn)(int64_t step, void *lr_ctx);

/* Options. Fill with fg_minimize_options_init (the defaults of the
 * same-named optimizer classes), then change what you need. */
typedef struct fg_minimize_options {
    fg_minimize_method method;
    double lr;                  /* step size (Newton: initial line-search step) */
    fg_minimize_lr_fn lr_fn;    /* overrides lr when not NULL */
    void *lr_ctx;
    /* SGD family (gd, momentum, nesterov) and RMSprop */
    double momentum, dampening;
    /* all first-order methods */
    double weight_decay;
    /* Adam, AdamW (beta1, beta2, amsgrad), RMSprop, Adagrad (eps) */
    double beta1, beta2, eps;
    int amsgrad;
    /* RMSprop */
    double alpha;
    int centered;
    /* Adagrad */
    double lr_decay, initial_accumulator_value;
    /* Newton: first Levenberg shift relative to max |H_ii| */
    double newton_mu0;
    /* the run */
    int maximize;               /* gradient ascent (Newton: maximize f) */
    double tol;                 /* stop when ||grad||_2 <= tol; tol >= 0 */
    int64_t maxiter;            /* >= 0 */
    fg_minimize_callback callback;   /* may be NULL */
    void *callback_ctx;
    int64_t callback_every;     /* >= 1 */
    /* History (all may be NULL): row k (k = 0 for x0) of x, f and ||grad||
     * is written while k < history_capacity. history_x holds
     * history_capacity * n doubles, the other two history_capacity. */
    double *history_x, *history_f, *history_grad_norm;
    int64_t history_capacity;
} fg_minimize_options;

/* The outcome. x and the gradient are in the caller's arrays. */
typedef struct fg_minimize_result {
    double f;              /* objective at the returned x */
    double grad_norm;      /* ||grad||_2 at the returned x */
    int64_t nit;           /* iterations done (updates accepted) */
    int64_t nfev, njev, nhev;  /* value, gradient and Hessian evaluations */
    fg_minimize_stop stop;
    int diverged;          /* 1 if stop == FG_MIN_DIVERGED */
    fg_status objective_status;  /* FG_MIN_OBJECTIVE_ERROR: what it returned */
    int64_t history_len;   /* rows written to the history buffers */
    double last_mu;        /* Newton: the Levenberg shift of the last step */
} fg_minimize_result;

/* Fill *opt with the defaults for a method; returns FG_ERR_ARG for a NULL
 * opt or an unknown method.
 *   lr: gd/momentum/nesterov/adam/adamw 1e-3, rmsprop/adagrad 1e-2 (the
 *       optimizer classes' defaults), newton 1 (the full Newton step)
 *   momentum 0.9 for momentum/nesterov (0 for gd), dampening 0,
 *   weight_decay 0 (adamw 1e-2), betas (0.9, 0.999), eps 1e-8 (adagrad 1e-10),
 *   alpha 0.99, lr_decay 0, initial_accumulator_value 0, newton_mu0 1e-3,
 *   tol 1e-8, maxiter 10000, callback_every 1, everything else 0/NULL. */
fg_status fg_minimize_options_init(fg_minimize_options *opt, fg_minimize_method method);

/* Number of doubles of workspace fg_minimize_run_f64 needs for n unknowns:
 *   n (an iterate buffer) + n (a second gradient buffer) plus the
 *   state of the method: gd/momentum/nesterov n, adam/adamw 3n, rmsprop 3n,
 *   adagrad n, newton 2n^2 + n. (Unused option buffers, such as Adam's
 *   max_exp_avg_sq without amsgrad, are still sized: see fg_minimize.c.)
 * Returns 0 for an unknown method or when the size overflows size_t
 * (then fg_minimize_run_f64 fails with FG_ERR_ARG for n > 0). */
size_t fg_minimize_workspace_size(size_t n, fg_minimize_method method);

/* Minimize (or, with opt->maximize, maximize) the objective from x.
 *
 * x (in/out, n doubles): x0 on entry, the result on exit: the last
 *     iterate, or after divergence the last finite iterate.
 * grad (out, n doubles): the gradient at the returned x.
 * work (scratch, work_len >= fg_minimize_workspace_size(n, opt->method)
 *     doubles); none of x, grad, work, history buffers may overlap.
 * res (out): see fg_minimize_result.
 * The objective's value_grad(x, n, &f, g, ctx) is called once per iteration
 * (Newton's line search may call it more often); hessian only by Newton.
 *
 * Returns FG_OK when the run took place, whatever res->stop says;
 * FG_ERR_ARG for a NULL pointer, an unknown method, hyperparameters the
 * fg_*_prepare functions reject (negative lr, betas outside [0, 1), ...),
 * tol < 0 or NaN, maxiter < 0, callback_every < 1, or work_len too small;
 * FG_ERR_UNSUPPORTED for Newton without a Hessian callback. Nothing is
 * written (x untouched) when an error code is returned. */
fg_status fg_minimize_run_f64(const fg_objective *obj, double *x, size_t n,
                              const fg_minimize_options *opt, double *work, size_t work_len,
                              double *grad, fg_minimize_result *res);

/* A static message for a stop reason (never NULL). */
const char *fg_minimize_stop_message(fg_minimize_stop stop);

#ifdef __cplusplus
}
#endif
#endif /* FASTGRAD_MINIMIZE_H */
