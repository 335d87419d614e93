/* fg_minimize.h: the minimize driver. The whole optimization loop runs in C
 * over a caller-provided workspace: no allocation, no Python.
 *
 * The loop, for every method (nit counts accepted updates):
 *
 *     f, g <- objective(x0)               (skipped on a warm start)
 *     repeat:
 *         if ||g||_2 <= tol (with bounds: the projected gradient): stop, CONVERGED
 *         if this call made maxiter updates: stop, MAXITER
 *         if this call made maxfun evaluations: stop, MAXFUN
 *         x+, f+, g+ <- the method's step from x    (a stop reason instead:
 *             the line search failed, a non-finite value, an objective error)
 *         x, f, g <- x+, f+, g+;  nit <- nit + 1
 *         if the method stops on ftol and (f_old - f) / max(|f_old|, |f|, 1)
 *             <= ftol: stop, FTOL (success)
 *         record (x, f, ||g||) into the history buffers if given
 *         every callback_every updates: callback(state); nonzero -> stop
 *         about every poll_interval seconds: poll(state); nonzero -> stop
 *
 * A step never replaces x by a point whose value, gradient or coordinates
 * are not finite: x is always the last finite iterate. Each method is a row
 * of the driver's method table (fg_minimize.c); fg_minimize_method_info
 * describes it.
 *
 * Warm starts: the first fg_minimize_state_size doubles of the workspace
 * (x, its gradient, the counters and the method's state, plain numbers) are
 * everything a run needs to go on. A run started with opt->warm_start = 1
 * from the saved doubles of an earlier run continues it: a run split in two
 * equals the uninterrupted one bit for bit.
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

/* The methods. Codes are explicit and only ever appended. gd, momentum,
 * nesterov are torch.optim.SGD (momentum 0, momentum > 0, Nesterov
 * momentum); adam, adamw, rmsprop, adagrad, adamax, nadam the same-named
 * torch.optim classes, all through the optimizer descriptors of
 * fg_optimizer.h.
 *
 * FG_MIN_NEWTON, damped Newton with a Levenberg safeguard:
 *     H <- hessian(x)   (negated, with g, when maximizing: Newton on -f)
 *     mu <- 0; until the Cholesky factorization of H + mu*I succeeds:
 *         mu <- (mu == 0) ? max(newton_mu0 * max_i |H_ii|, newton_mu0) : 10*mu
 *     d <- -(H + mu*I)^{-1} g      (a descent direction: H + mu*I is SPD)
 *     s <- lr; Armijo backtracking (fg_linesearch.h): halve s until
 *         f(x + s*d) <= f(x) + 1e-4 * s * g.d with finite value and gradient
 *     x <- x + s*d
 * With a positive-definite Hessian and lr = 1 this is the pure Newton step
 * (quadratic convergence near a strict minimum); the shift and the
 * backtracking only act when the Hessian is indefinite or the full step does
 * not decrease f.
 *
 * The quasi-Newton family (fg_min_lbfgs.c, fg_min_bfgs.c, fg_min_cg.c,
 * fg_min_newton_cg.c, formulas there) searches along a direction d with
 * the strong-Wolfe line search (fg_linesearch.h):
 *   FG_MIN_LBFGS: d = -H g from the last lbfgs_m pairs (the two-loop
 *       recursion); with bounds L-BFGS-B (Cauchy point, subspace step,
 *       projection), iterates never leave the box;
 *   FG_MIN_BFGS: d = -H g with the dense inverse-Hessian update;
 *   FG_MIN_CG: nonlinear conjugate gradients, Polak-Ribiere+;
 *   FG_MIN_NEWTON_CG: truncated CG on Hessian-vector products (the
 *       objective's hvp, else a forward difference of the gradient), then
 *       Armijo backtracking from lr (or line_search = wolfe).
 * They stop on ftol too (all but newton-cg). */
typedef enum fg_minimize_method {
    FG_MIN_GD = 0,
    FG_MIN_MOMENTUM = 1,
    FG_MIN_NESTEROV = 2,
    FG_MIN_ADAM = 3,
    FG_MIN_ADAMW = 4,
    FG_MIN_RMSPROP = 5,
    FG_MIN_ADAGRAD = 6,
    FG_MIN_NEWTON = 7,
    FG_MIN_LBFGS = 8,
    FG_MIN_BFGS = 9,
    FG_MIN_CG = 10,
    FG_MIN_NEWTON_CG = 11,
    FG_MIN_ADAMAX = 12,
    FG_MIN_NADAM = 13,
    FG_MIN_METHOD_COUNT
} fg_minimize_method;

/* Why a run stopped (fg_minimize_result.stop); codes only ever appended. */
typedef enum fg_minimize_stop {
    FG_MIN_CONVERGED = 0,         /* ||grad||_2 <= tol: success */
    FG_MIN_MAXITER = 1,           /* maxiter updates done without meeting tol */
    FG_MIN_DIVERGED = 2,          /* a non-finite x, value or gradient appeared */
    FG_MIN_CALLBACK_STOP = 3,     /* the callback returned nonzero */
    FG_MIN_OBJECTIVE_ERROR = 4,   /* an objective function returned a status != FG_OK */
    FG_MIN_LINESEARCH_FAILED = 5, /* no acceptable step along the search direction */
    FG_MIN_SCHEDULE_ERROR = 6,    /* lr_fn returned a negative or non-finite rate */
    FG_MIN_FTOL = 7,              /* relative decrease of f at most ftol: success */
    FG_MIN_MAXFUN = 8,            /* maxfun evaluations done without meeting tol */
    FG_MIN_INTERRUPTED = 9,       /* the poll function returned nonzero */
    FG_MIN_EPOCHS = 10,           /* the stochastic loop ran its epochs: success */
    FG_MIN_STOP_COUNT
} fg_minimize_stop;

/* Line searches (fg_linesearch.h). FG_MIN_LS_DEFAULT picks the method's
 * own (fg_minimize_method_info.default_line_search). */
typedef enum fg_minimize_line_search {
    FG_MIN_LS_DEFAULT = 0,
    FG_MIN_LS_NONE = 1,           /* the step lr (or the method's own rule) as is */
    FG_MIN_LS_ARMIJO = 2,         /* backtracking to sufficient decrease */
    FG_MIN_LS_WOLFE = 3,          /* strong Wolfe conditions */
    FG_MIN_LS_COUNT
} fg_minimize_line_search;

/* What a method needs from the objective (fg_minimize_method_info.needs). */
enum {
    FG_MIN_NEEDS_GRADIENT = 1,
    FG_MIN_NEEDS_HESSIAN = 2,
    FG_MIN_USES_HVP = 4           /* opt->hvp when given (else finite differences) */
};

/* A row of the method table as embedders and bindings see it. */
typedef struct fg_minimize_method_info {
    const char *name;                 /* "gd", "adam", "newton", ... */
    unsigned needs;                   /* FG_MIN_NEEDS_* bits */
    int supports_bounds;              /* accepts opt->lower / opt->upper */
    int stops_on_ftol;                /* the ftol test applies */
    unsigned line_searches;           /* bit (1u << ls) for each accepted ls */
    fg_minimize_line_search default_line_search;
    const char *const *options;       /* the option fields it reads (names of
                                         fg_minimize_option_fields), NULL-ended */
} fg_minimize_method_info;

/* What the callback and the poll function see (read-only, valid only
 * during the call). */
typedef struct fg_minimize_state {
    int64_t nit;           /* updates done (0 = x0) */
    int64_t nfev, njev;    /* objective evaluations so far */
    size_t n;
    const double *x;       /* current iterate, n values */
    const double *grad;    /* gradient at x, n values */
    double f;              /* objective at x */
    double grad_norm;      /* the norm the tol test uses */
} fg_minimize_state;

/* Return nonzero to stop the run. */
typedef int (*fg_minimize_callback)(const fg_minimize_state *state, void *cb_ctx);

/* Optional learning-rate schedule lr(t), t = 1, 2, ... (t counts updates
 * over warm starts); NULL: constant lr. */
typedef double (*fg_minimize_lr_fn)(int64_t step, void *lr_ctx);

/* Options. Fill with fg_minimize_options_init (which also sets
 * struct_size), then change what you need. A run refuses (FG_ERR_ARG) an
 * options struct whose struct_size is not the size this library was built
 * with, so a caller compiled against another version of this header fails
 * loudly instead of being misread. */
typedef struct fg_minimize_options {
    size_t struct_size;         /* sizeof(fg_minimize_options); set by _init */
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
    /* NAdam */
    double momentum_decay;
    int decoupled_weight_decay;
    /* Newton: first Levenberg shift relative to max |H_ii| */
    double newton_mu0;
    /* lbfgs: the number of (s, y) pairs kept, 1..1000 */
    int64_t lbfgs_m;
    /* newton-cg: hv = H(x) v (fg_objective.h); NULL: forward differences
     * of the gradient. Here rather than in fg_objective so that an
     * objective struct built against an older header keeps its layout. */
    fg_hvp_fn hvp;
    void *hvp_ctx;
    /* the run */
    int maximize;               /* gradient ascent (Newton: maximize f) */
    double tol;                 /* stop when ||grad||_2 <= tol; tol >= 0 */
    double ftol;                /* relative decrease test (methods with stops_on_ftol) */
    int64_t maxiter;            /* updates of this call, >= 0 */
    int64_t maxfun;             /* evaluations of this call, >= 1 */
    fg_minimize_line_search line_search;
    /* Bounds (methods with supports_bounds): NULL for none, else n values
     * each, -inf / +inf for no bound on a coordinate, lower <= upper. x0
     * must lie in the box; iterates never leave it. */
    const double *lower, *upper;
    /* 1: continue the run whose carried state (fg_minimize_state_size
     * doubles) is at the start of work; x on entry is ignored (the saved
     * iterate is used). 0: start from x. */
    int warm_start;
    fg_minimize_callback callback;   /* may be NULL */
    void *callback_ctx;
    int64_t callback_every;     /* >= 1 */
    /* Called about every poll_interval seconds of wall time (checked at
     * iteration boundaries, adaptively, a clock read every few ms at most):
     * to watch for interrupts or refresh a progress line. May be NULL. */
    fg_minimize_callback poll;
    void *poll_ctx;
    double poll_interval;       /* seconds, > 0 when poll is set */
    /* History (all may be NULL): row k (k = 0 for the start) of x, f and
     * ||grad|| is written while k < history_capacity. history_x holds
     * history_capacity * n doubles, the other two history_capacity. */
    double *history_x, *history_f, *history_grad_norm;
    int64_t history_capacity;
} fg_minimize_options;

/* The outcome. x and the gradient are in the caller's arrays. Counters
 * include those of the runs a warm start continues. */
typedef struct fg_minimize_result {
    double f;              /* objective at the returned x */
    double grad_norm;      /* the norm the tol test uses, at the returned x */
    int64_t nit;           /* updates accepted */
    int64_t nfev, njev, nhev;  /* value, gradient and Hessian evaluations */
    fg_minimize_stop stop;
    fg_status objective_status;  /* FG_MIN_OBJECTIVE_ERROR: what it returned */
    int64_t history_len;   /* rows written to the history buffers */
} fg_minimize_result;

/* The option fields by name, for bindings that set options generically:
 * field i is at byte offset offset of fg_minimize_options, holds count
 * values of its kind, and a valid value lies between low and high (open
 * ends where low_open / high_open). */
typedef enum fg_minimize_field_kind {
    FG_MIN_FIELD_DOUBLE = 0,
    FG_MIN_FIELD_INT = 1,       /* an int used as a flag (0 or 1) */
    FG_MIN_FIELD_INT64 = 2
} fg_minimize_field_kind;

typedef struct fg_minimize_option_field {
    const char *name;
    size_t offset;
    fg_minimize_field_kind kind;
    int count;
    double low, high;
    int low_open, high_open;
} fg_minimize_option_field;

/* The table of option fields; *count receives its length. */
const fg_minimize_option_field *fg_minimize_option_fields(size_t *count);

/* The method table's row for method as a description; FG_ERR_ARG for a
 * NULL info or an unknown method. */
fg_status fg_minimize_method_info_get(fg_minimize_method method, fg_minimize_method_info *info);

/* Fill *opt with the defaults for a method. struct_size must be
 * sizeof(fg_minimize_options) as the caller sees it; FG_ERR_ARG (nothing
 * written) for another size, a NULL opt or an unknown method.
 *   first-order methods: lr and every option field the method reads are
 *       its optimizer's defaults (fg_optimizer.h's table: the optimizer
 *       classes', torch.optim's), except momentum 0.9 for momentum and
 *       nesterov; newton, lbfgs, bfgs, cg, newton-cg: lr 1 (newton and
 *       newton-cg's first trial step; the others choose their own)
 *   newton_mu0 1e-3, lbfgs_m 10, tol 1e-8, ftol 2.2e-9, maxiter 10000, maxfun INT64_MAX,
 *   line_search FG_MIN_LS_DEFAULT, callback_every 1, poll_interval 0.05,
 *   everything else 0/NULL. */
fg_status fg_minimize_options_init(fg_minimize_options *opt, size_t struct_size,
                                   fg_minimize_method method);

/* Doubles of workspace fg_minimize_run_f64 needs for n unknowns with these
 * options: the carried state (fg_minimize_state_size) followed by the
 * method's scratch. Returns 0 for invalid options or when the size
 * overflows size_t. */
size_t fg_minimize_workspace_size(size_t n, const fg_minimize_options *opt);

/* Doubles at the start of the workspace that carry a run into a warm start:
 * a header of FG_MIN_HEADER_LEN doubles (counters, f), x, the gradient at
 * x, and the method's state. 0 for invalid options or on overflow. */
size_t fg_minimize_state_size(size_t n, const fg_minimize_options *opt);
#define FG_MIN_HEADER_LEN 10

/* Minimize (or, with opt->maximize, maximize) the objective from x.
 *
 * x (in/out, n doubles): x0 on entry (ignored on a warm start), the result
 *     on exit: the last iterate, or after divergence the last finite one.
 * grad (out, n doubles): the gradient at the returned x.
 * work (in/out, work_len >= fg_minimize_workspace_size(n, opt) doubles):
 *     scratch, except that its first fg_minimize_state_size doubles carry
 *     the run (read on a warm start, written on return). None of x, grad,
 *     work, lower, upper and the history buffers may overlap.
 * res (out): see fg_minimize_result.
 *
 * Returns FG_OK when the run took place, whatever res->stop says;
 * FG_ERR_ARG for a NULL pointer, a wrong struct_size, an unknown method,
 * hyperparameters the method rejects (negative lr, betas outside [0, 1),
 * ...), tol < 0 or NaN, ftol < 0, maxiter < 0, maxfun < 1,
 * callback_every < 1, a line search the method does not take, bounds with
 * lower > upper or x0 outside them, work_len too small, or a warm-start
 * state that is not one this method, n and these options wrote;
 * FG_ERR_UNSUPPORTED for a method that needs a Hessian the objective does
 * not provide, or bounds for a method without them; FG_ERR_NONFINITE for a
 * non-finite x0. Nothing is written (x untouched) when an error code is
 * returned. */
fg_status fg_minimize_run_f64(const fg_objective *obj, double *x, size_t n,
                              const fg_minimize_options *opt, double *work, size_t work_len,
                              double *grad, fg_minimize_result *res);

/* A static message for a stop reason (never NULL). */
const char *fg_minimize_stop_message(fg_minimize_stop stop);

#ifdef __cplusplus
}
#endif
#endif /* FASTGRAD_MINIMIZE_H */
