/* fg_optim_many.h: one fused optimizer step over many arrays, optionally
 * split across threads. This is what fastgrad's Python optimizers call, once
 * per step and with the GIL released, whatever the number of parameters.
 *
 * A slot describes one parameter: its data, its gradient, up to three state
 * buffers in the order the optimizer's step kernel takes them
 *   SGD:     momentum_buffer
 *   Adam:    exp_avg, exp_avg_sq, max_exp_avg_sq
 *   RMSprop: square_avg, momentum_buffer, grad_avg
 *   Adagrad: sum
 * its length and its dtype. Slots of different dtypes may be mixed.
 */
#ifndef FASTGRAD_OPTIM_MANY_H
#define FASTGRAD_OPTIM_MANY_H

#include <stddef.h>
#include "fg_status.h"
#include "fg_optim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fg_dtype { FG_FLOAT64 = 0, FG_FLOAT32 = 1 } fg_dtype;

typedef enum fg_optim_kind {
    FG_OPTIM_SGD = 0,
    FG_OPTIM_ADAM = 1,   /* Adam and AdamW: fg_adam_coeffs.decoupled chooses */
    FG_OPTIM_RMSPROP = 2,
    FG_OPTIM_ADAGRAD = 3
} fg_optim_kind;

typedef union fg_optim_coeffs {
    fg_sgd_coeffs sgd;
    fg_adam_coeffs adam;
    fg_rmsprop_coeffs rmsprop;
    fg_adagrad_coeffs adagrad;
} fg_optim_coeffs;

typedef struct fg_optim_config {
    fg_optim_kind kind;
    fg_optim_coeffs coeffs;
} fg_optim_config;

typedef struct fg_optim_slot {
    void *param;
    const void *grad;
    void *state[3];
    size_t n;
    fg_dtype dtype;
} fg_optim_slot;

/* Smallest array that fg_optim_step_many splits across threads: below it,
 * starting threads costs more than the step. */
#define FG_OPTIM_MIN_PARALLEL 65536

/* Applies cfg's update to every slot. nthreads <= 1 runs on the caller's
 * thread; nthreads > 1 splits each slot of at least FG_OPTIM_MIN_PARALLEL
 * elements into nthreads contiguous chunks run by short-lived threads that
 * are joined before returning (no spinning, no global pool). Returns the
 * first non-OK status of a kernel, or FG_ERR_THREAD if a thread failed to
 * start (that chunk then runs on the caller, so the step is still whole). */
fg_status fg_optim_step_many(const fg_optim_config *cfg, const fg_optim_slot *slots,
                             size_t count, int nthreads);

/* 1 if every slot's gradient is finite, else 0 (reads grads only). */
int fg_optim_grads_finite(const fg_optim_slot *slots, size_t count);

#ifdef __cplusplus
}
#endif
#endif /* FASTGRAD_OPTIM_MANY_H */
