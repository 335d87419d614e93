/* fg_min_stochastic.h: the minibatch training loop. Epochs over the rows
 * of the data arrays, one first-order update per batch, all in C over a
 * caller-provided workspace: no allocation, no Python.
 *
 * The loop (m rows, batch size B, nb = ceil(m / B) batches per epoch, nit
 * counts updates):
 *
 *     for e = 0, 1, ..., epochs - 1:
 *         p <- order(e) (a permutation of 0..m-1), or 0, 1, ..., m-1
 *         for k = 0, ..., nb - 1:
 *             if this call made maxiter updates: stop, MAXITER
 *             rows <- p[kB], ..., p[min(kB + B, m) - 1]   (the last may be shorter)
 *             f_b, g <- the batch objective at x on those rows of every data array
 *             if f_b or g is not finite: stop, DIVERGED (x is kept)
 *             x <- the method's update from x with g, t = nit + 1,
 *                  lr = lr or lr_fn(t)  (projected onto the box with bounds)
 *             nit <- nit + 1; about every poll_interval seconds: poll
 *         epoch_fun[e] <- f(x) on all m rows    (while e < epoch_capacity)
 *         on_epoch(state); nonzero -> stop, CALLBACK_STOP
 *     stop, EPOCHS (success)
 *     finally: f(x) and grad f(x) on all m rows -> res->f, grad, res->grad_norm
 *
 * This is the loop a user writes with an optimizer object and a gradient
 * per batch; the driver takes its update from the method table's
 * first-order rows (fg_min_first_order_update), so every first-order method
 * of fg_minimize.h with its hyperparameters and schedules works, and a
 * method is accepted here exactly when its row's default line search is
 * none and it needs only gradients.
 *
 * Rows are gathered: for an order, row p[i] of data array j (row_bytes[j]
 * bytes) is copied into that array's batch buffer in the workspace; without
 * an order the batches are consecutive rows and the objective reads the
 * data arrays in place.
 */
#ifndef FASTGRAD_MIN_STOCHASTIC_H
#define FASTGRAD_MIN_STOCHASTIC_H

#include <stddef.h>
#include <stdint.h>
#include "fg_status.h"
#include "fg_objective.h"
#include "fg_minimize.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fill order[0..rows) with epoch's order of the rows (epoch from 0): every
 * entry in [0, rows). Return nonzero to stop the run (FG_MIN_INTERRUPTED). */
typedef int (*fg_stochastic_order_fn)(int64_t epoch, int64_t *order, size_t rows, void *ctx);

/* What on_epoch sees after each epoch (valid only during the call). */
typedef struct fg_stochastic_epoch_state {
    int64_t epoch;         /* epochs done, from 1 */
    int64_t nit;           /* updates so far */
    int64_t nfev;          /* objective evaluations so far */
    size_t n;
    const double *x;       /* the iterate after the epoch */
    double batch_loss;     /* the mean of the epoch's batch losses f_b */
    double loss;           /* f(x) on all rows when epoch_fun[epoch - 1] was written, else NaN */
} fg_stochastic_epoch_state;

/* Return nonzero to stop the run. */
typedef int (*fg_stochastic_epoch_fn)(const fg_stochastic_epoch_state *state, void *ctx);

/* The stochastic settings; the method, its hyperparameters, lr or lr_fn,
 * maximize, maxiter, bounds and poll come from fg_minimize_options (its
 * callback, history and warm_start must be unset: on_epoch and the
 * buffers below take their place). Fill with fg_stochastic_options_init. */
typedef struct fg_stochastic_options {
    size_t struct_size;              /* sizeof(fg_stochastic_options); set by _init */
    size_t batch_size;               /* B >= 1; B >= rows: one batch of all rows */
    int64_t epochs;                  /* >= 0 */
    fg_stochastic_order_fn order;    /* NULL: the rows in order every epoch */
    void *order_ctx;
    fg_stochastic_epoch_fn on_epoch; /* may be NULL */
    void *epoch_ctx;
    /* f(x) on all rows after epoch e (value only) while e < epoch_capacity;
     * NULL for none */
    double *epoch_fun;
    int64_t epoch_capacity;
    /* the batch loss f_b of update k (at x before it) while k < capacity;
     * NULL for none */
    double *history_f;
    int64_t history_capacity;
} fg_stochastic_options;

/* Defaults: batch_size 32, epochs 1, everything else 0/NULL. FG_ERR_ARG for
 * a NULL opt or a struct_size other than sizeof(fg_stochastic_options). */
fg_status fg_stochastic_options_init(fg_stochastic_options *opt, size_t struct_size);

/* Bytes of workspace fg_minimize_stochastic_f64 needs (a multiple of 64;
 * pass memory aligned to 64 bytes); 0 for invalid options, a method that is
 * not first order, or a size that overflows size_t. */
size_t fg_minimize_stochastic_workspace_size(const fg_batch_objective *obj, size_t rows,
                                             const fg_minimize_options *opt,
                                             const fg_stochastic_options *sopt);

/* Run the loop above.
 *
 * obj: the batch objective (obj->n == n, obj->n_data data arrays); it is
 *     called with row counts min(B, rows), rows % B (when nonzero) and rows.
 * data (in): obj->n_data pointers, data[j] to rows * obj->row_bytes[j]
 *     bytes (rows >= 1).
 * x (in/out, n doubles): x0 on entry, the last iterate on exit.
 * grad (out, n doubles): the gradient on all rows at the returned x.
 * work (64-byte aligned, work_bytes >= the workspace size): scratch.
 * res (out): f and grad_norm on all rows at x, nit (updates), nfev and
 *     njev (batch and full evaluations), stop, objective_status, and
 *     history_len (entries of history_f written).
 *
 * Returns FG_OK when the run took place, whatever res->stop says;
 * FG_ERR_ARG (nothing written) for NULL pointers, wrong struct sizes,
 * obj->n != n, rows == 0, batch_size == 0, epochs < 0, a method that is not
 * first order or a line search other than none, options the method
 * rejects, a callback, history or warm start in opt, bounds with
 * lower > upper or x0 outside them, or work_bytes too small;
 * FG_ERR_NONFINITE for a non-finite x0. */
fg_status fg_minimize_stochastic_f64(const fg_batch_objective *obj, const void *const *data,
                                     size_t rows, double *x, size_t n,
                                     const fg_minimize_options *opt,
                                     const fg_stochastic_options *sopt, void *work,
                                     size_t work_bytes, double *grad, fg_minimize_result *res);

#ifdef __cplusplus
}
#endif
#endif /* FASTGRAD_MIN_STOCHASTIC_H */
