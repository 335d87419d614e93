/* fg_minimize_many.h: many independent minimize runs in one call, split
 * over threads.
 *
 * k problems of the same size n, each run by fg_minimize_run_f64 itself with
 * the same options, except for its own x0, bounds (shared or per problem)
 * and warm-start state. So each problem gets what a call of
 * fg_minimize_run_f64 alone gives it, bit for bit: iterates, counters, stop
 * reason. Problems are handed out one at a time to nworkers threads (the
 * calling thread is worker 0): a problem that stops early costs nothing
 * more and frees its thread for the next problem, and no result depends on
 * the number of threads or on which thread ran which problem.
 *
 * Each worker evaluates through its own objective, because an objective
 * with a workspace (a compiled function's) serves one thread at a time. A
 * worker's select hook, called before each problem it runs, can bind its
 * objective to that problem's data; fg_minimize_many_data (below) does so
 * for a minibatch objective over per-problem blocks of rows.
 *
 * Runs take no callback and keep no history here (see
 * fg_minimize_many_run_f64); an optional poll sees the number of problems
 * finished, and a nonzero answer stops every run.
 */
#ifndef FASTGRAD_MINIMIZE_MANY_H
#define FASTGRAD_MINIMIZE_MANY_H

#include <stddef.h>
#include "fg_status.h"
#include "fg_objective.h"
#include "fg_minimize.h"

#ifdef __cplusplus
extern "C" {
#endif

/* At most this many threads run (workers past it, and past k, stay idle). */
#define FG_MINIMIZE_MANY_MAX_THREADS 64

/* Bind a worker's objective (and Hessian-vector products) to a problem,
 * before that problem runs on the worker's thread. A status other than
 * FG_OK skips the problem: its stop is FG_MIN_OBJECTIVE_ERROR with that
 * objective_status, and nothing is evaluated. */
typedef fg_status (*fg_minimize_select_fn)(size_t problem, void *ctx);

/* Called on the calling thread about every poll_interval seconds with the
 * number of problems finished so far; nonzero stops every run. */
typedef int (*fg_minimize_many_poll_fn)(size_t done, size_t k, void *ctx);

/* What one thread evaluates through. objective.ctx (and hvp_ctx,
 * select_ctx) are used by that thread only. */
typedef struct fg_minimize_worker {
    fg_objective objective;
    fg_hvp_fn hvp;                  /* NULL: opt->hvp (see fg_minimize_options) */
    void *hvp_ctx;
    fg_minimize_select_fn select;   /* NULL: every problem the same function */
    void *select_ctx;
} fg_minimize_worker;

/* What is particular to a batch of runs. Fill with
 * fg_minimize_many_options_init (which sets struct_size), then change what
 * you need; a struct of another size is refused (FG_ERR_ARG). */
typedef struct fg_minimize_many_options {
    size_t struct_size;
    /* 0: opt->lower and opt->upper (n values each, or NULL) bound every
     * problem; n: they hold k*n values, row i bounding problem i. */
    size_t bounds_stride;
    /* NULL, or k * fg_minimize_state_size(n, opt) doubles: row i is problem
     * i's carried state, written when its run ends and read on a warm start
     * (opt->warm_start = 1, which needs it). */
    double *states;
    fg_minimize_many_poll_fn poll;  /* may be NULL */
    void *poll_ctx;
    double poll_interval;           /* seconds, > 0 when poll is set */
} fg_minimize_many_options;

/* Defaults: bounds_stride 0, states NULL, poll NULL, poll_interval 0.05.
 * FG_ERR_ARG (nothing written) for a NULL m or another struct_size. */
fg_status fg_minimize_many_options_init(fg_minimize_many_options *m, size_t struct_size);

/* Doubles of workspace fg_minimize_many_run_f64 needs: for each worker,
 * fg_minimize_workspace_size(n, opt) and a private copy of x and of the
 * gradient (2n), so that no thread writes next to another's rows while it
 * runs. 0 for invalid options, nworkers == 0, or on overflow. */
size_t fg_minimize_many_workspace_size(size_t n, const fg_minimize_options *opt,
                                       size_t nworkers);

/* Run k problems of n unknowns on nworkers threads.
 *
 * workers (nworkers >= 1): one per thread; every objective.value_grad set,
 *     and either every objective.hessian or none.
 * x (in/out, k*n doubles): row i is problem i's x0 (ignored on a warm
 *     start), on return its result as fg_minimize_run_f64 leaves it.
 * opt: the options of every run. callback, poll and the history buffers
 *     must be unset (FG_ERR_ARG); opt->lower/upper are read with
 *     many->bounds_stride; opt->lr_fn and opt->hvp, when set, are called
 *     from several threads at once.
 * many: see fg_minimize_many_options (NULL: the defaults).
 * work (work_len >= fg_minimize_many_workspace_size(n, opt, nworkers)).
 * grad (out, k*n doubles): row i the gradient at problem i's result.
 * res (out, k): problem i's result, as fg_minimize_run_f64 reports it.
 * None of x, grad, work, res, states and the bounds may overlap.
 *
 * Before anything runs, every problem is put through the checks of
 * fg_minimize_run_f64 (options, its bounds, x0, its warm-start state). A
 * problem the poll stopped before it started has stop FG_MIN_INTERRUPTED,
 * nit = nfev = 0, f and grad_norm NaN, its x row unchanged and a NaN
 * gradient row; a problem its select hook refused is reported the same
 * way with stop FG_MIN_OBJECTIVE_ERROR. A thread that cannot be started
 * leaves its share to the others.
 *
 * Returns FG_OK when the runs took place, whatever each res[i].stop says;
 * FG_ERR_ARG for NULL pointers, a struct of another size, nworkers == 0,
 * the hooks above set in opt, a warm start without states, a
 * bounds_stride other than 0 or n, a poll without a positive interval,
 * work_len too small or sizes that overflow; otherwise the first status
 * fg_minimize_run_f64 would return for any problem. Nothing is written
 * when an error code is returned. */
fg_status fg_minimize_many_run_f64(const fg_minimize_worker *workers, size_t nworkers,
                                   double *x, size_t k, size_t n,
                                   const fg_minimize_options *opt,
                                   const fg_minimize_many_options *many, double *work,
                                   size_t work_len, double *grad, fg_minimize_result *res);

/* ---- per-problem data -------------------------------------------------------
 *
 * A worker that evaluates a minibatch objective (fg_batch_objective) on each
 * problem's own rows: problem i sees rows [i*rows, (i+1)*rows) of every data
 * array (so a (k, rows, ...) array gives problem i its block [i]). Fill one
 * per worker, each with its own `current` (batch->n_data pointers) and its
 * own batch objective (a workspace serves one thread), and set that
 * worker's
 *     objective = {fg_minimize_many_data_value_grad, NULL, &binding},
 *     select    = fg_minimize_many_data_select, select_ctx = &binding.
 * Selecting a problem whose block lies past SIZE_MAX bytes returns
 * FG_ERR_SHAPE (the problem is skipped); a row count the batch objective
 * was not prepared for is its own FG_ERR_SHAPE at the first evaluation. */
typedef struct fg_minimize_many_data {
    const fg_batch_objective *batch;
    const void *const *data;    /* [batch->n_data] the arrays, problem 0's block first */
    size_t rows;                /* rows of each problem's block */
    const void **current;       /* [batch->n_data] out: the selected problem's blocks */
} fg_minimize_many_data;

fg_status fg_minimize_many_data_select(size_t problem, void *binding);
fg_status fg_minimize_many_data_value_grad(const double *x, size_t n, double *value,
                                           double *grad, void *binding);

#ifdef __cplusplus
}
#endif
#endif /* FASTGRAD_MINIMIZE_MANY_H */
