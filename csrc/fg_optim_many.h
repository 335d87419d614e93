/* fg_optim_many.h: one optimizer step over many arrays, optionally split
 * across threads, for any optimizer of fg_optimizer.h. This is what
 * fastgrad's Python optimizers call, once per step and with the GIL
 * released, whatever the number of parameters.
 *
 * A slot describes one parameter: its data, its gradient, its state buffers
 * (opt->n_state pointers in the descriptor's order, NULL for a buffer the
 * hyperparameters do not use), its length and its dtype. Slots of different
 * dtypes may be mixed.
 */
#ifndef FASTGRAD_OPTIM_MANY_H
#define FASTGRAD_OPTIM_MANY_H

#include <stddef.h>
#include "fg_status.h"
#include "fg_optimizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fg_dtype { FG_FLOAT64 = 0, FG_FLOAT32 = 1 } fg_dtype;

typedef struct fg_optim_slot {
    void *param;
    const void *grad;
    void *const *state;   /* opt->n_state buffers */
    size_t n;
    fg_dtype dtype;
} fg_optim_slot;

/* Smallest array that fg_optim_step_many splits across threads: below it,
 * starting threads costs more than the step. */
#define FG_OPTIM_MIN_PARALLEL 65536

/* Applies one update of opt with coefficients coeffs (from opt->prepare for
 * this step) to every slot, in place. nthreads <= 1 runs on the caller's
 * thread; nthreads > 1 splits each slot of at least FG_OPTIM_MIN_PARALLEL
 * elements into nthreads contiguous chunks run by short-lived threads that
 * are joined before returning (no spinning, no global pool). Returns the
 * first non-OK status of a step, FG_ERR_ARG for a NULL opt or coeffs, or
 * FG_ERR_THREAD if a thread (or its bookkeeping) could not be set up (that
 * chunk then runs on the caller, so the step is still whole). */
fg_status fg_optim_step_many(const fg_optimizer *opt, const void *coeffs,
                             const fg_optim_slot *slots, size_t count, int nthreads);

/* 1 if every slot's gradient is finite, else 0 (reads grads only). */
int fg_optim_grads_finite(const fg_optim_slot *slots, size_t count);

#ifdef __cplusplus
}
#endif
#endif /* FASTGRAD_OPTIM_MANY_H */
