/* fg_optimizer.h: every optimizer as a descriptor, one per row of
 * fg_optim_table.def, so that a driver (fastgrad's Python classes, the
 * minimize loop, an embedder's own loop) is written once for all of them.
 *
 * A descriptor says what an optimizer needs and does:
 *   - its hyperparameters: names, defaults and allowed values, in the order
 *     of the `hyper` array every function below takes (the learning rate is
 *     separate: schedules change it every step);
 *   - its state buffers (one array like the parameter each): names, initial
 *     values, and which hyperparameter switches an optional one on;
 *   - its scalar state (numbers carried from step to step, such as NAdam's
 *     running product of momentum coefficients): names, initial values;
 *   - prepare: the per-step scalars (bias corrections, decayed rates) into a
 *     coefficient struct of coeffs_size bytes, computed in double exactly as
 *     torch.optim computes them in Python;
 *   - step_f64 / step_f32: one update over n contiguous elements, in place
 *     (src == NULL) or out of place (the new parameters go to param, the old
 *     ones are read from src; FG_ERR_NONFINITE then reports a NaN or
 *     infinite new parameter, everything is still written);
 *   - optionally an incremental prepare, for drivers that take every step
 *     in order (minimize's loop): numbers the driver keeps between steps
 *     ("running"), advanced one step at a time, from which the coefficients
 *     come more cheaply than from prepare (Adam's powers beta^t as
 *     double-double products instead of two pow() calls per step).
 *
 * The step functions follow torch.optim's single-tensor path operation by
 * operation, with fma() exactly where torch's vectorized CPU kernels fuse,
 * so float64 trajectories agree with torch's to rounding (bit for bit for
 * SGD). Preconditions for every step function: the parameter, gradient,
 * state and src arrays hold n elements each, are contiguous and do not
 * overlap (src may be NULL; grad is only read); state[i] may be NULL when
 * buffer i is not used with the hyperparameters given to prepare; coeffs
 * comes from prepare (or running_prepare) of the same optimizer. Each
 * returns FG_OK, FG_ERR_ARG (a required pointer is NULL while n > 0) or, out
 * of place, FG_ERR_NONFINITE.
 *
 * Example (Adam, float64, in place):
 *     const fg_optimizer *opt = fg_optimizer_find("adam");
 *     double hyper[FG_OPTIM_MAX_HYPER];
 *     fg_optim_coeffs c;
 *     double *state[] = {exp_avg, exp_avg_sq, NULL};
 *     fg_optimizer_defaults(opt, hyper);
 *     for (int64_t t = 1; t <= steps; t++) {
 *         ... compute grad ...
 *         if (opt->prepare(&c, hyper, 1e-3, t, NULL) == FG_OK)
 *             opt->step_f64(NULL, param, grad, state, n, &c);
 *     }
 */
#ifndef FASTGRAD_OPTIMIZER_H
#define FASTGRAD_OPTIMIZER_H

#include <stddef.h>
#include <stdint.h>
#include "fg_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* FG_OPTIM_SGD, FG_OPTIM_ADAM, ...: one code per row of fg_optim_table.def,
 * in table order (append-only, so codes never change meaning). */
typedef enum fg_optim_kind {
#define FG_OPTIMIZER(NAME, name) FG_OPTIM_##NAME,
#include "fg_optim_table.def"
#undef FG_OPTIMIZER
    FG_OPTIM_COUNT
} fg_optim_kind;

/* Upper bounds every descriptor respects (checked when fastgrad is built),
 * so a driver can keep hyperparameters, state pointers, scalar state and
 * coefficients on the stack. */
#define FG_OPTIM_MAX_HYPER 16
#define FG_OPTIM_MAX_STATE 8
#define FG_OPTIM_MAX_SCALAR 4
#define FG_OPTIM_COEFFS_BYTES 256

/* Storage for any optimizer's coefficient struct. */
typedef union fg_optim_coeffs {
    double align_double;
    int64_t align_int;
    void *align_pointer;
    unsigned char bytes[FG_OPTIM_COEFFS_BYTES];
} fg_optim_coeffs;

typedef enum fg_hyper_kind {
    FG_HYPER_REAL = 0,   /* a finite number in [low, high] (ends open when flagged) */
    FG_HYPER_FLAG = 1    /* 0 or 1 */
} fg_hyper_kind;

/* "No hyperparameter" in fg_optim_state's index fields. */
#define FG_OPTIM_NONE (-1)

typedef struct fg_optim_hyper {
    const char *name;         /* torch.optim's name (betas are beta1, beta2) */
    double default_value;
    fg_hyper_kind kind;
    double low, high;         /* FG_HYPER_REAL: the allowed interval */
    int low_open, high_open;  /* 1: that end is excluded */
} fg_optim_hyper;

typedef struct fg_optim_state {
    const char *name;         /* torch.optim's state_dict key */
    double initial;           /* a fresh buffer's value ... */
    int initial_from;         /* ... or hyper[initial_from] unless FG_OPTIM_NONE */
    int used_if;              /* used only when hyper[used_if] != 0; FG_OPTIM_NONE: always */
} fg_optim_state;

typedef struct fg_optim_scalar {
    const char *name;         /* torch.optim's state_dict key */
    double initial;
} fg_optim_scalar;

typedef fg_status (*fg_optim_prepare_fn)(void *coeffs, const double *hyper, double lr,
                                         int64_t step, double *scalars);
typedef fg_status (*fg_optim_step_f64_fn)(const double *src, double *param, const double *grad,
                                          double *const *state, size_t n, const void *coeffs);
typedef fg_status (*fg_optim_step_f32_fn)(const float *src, float *param, const float *grad,
                                          float *const *state, size_t n, const void *coeffs);
typedef fg_status (*fg_optim_running_start_fn)(double *running, const double *hyper, int fresh);
typedef void (*fg_optim_running_advance_fn)(double *running);
typedef void (*fg_optim_running_prepare_fn)(void *coeffs, const double *hyper, double lr,
                                            const double *running);

typedef struct fg_optimizer {
    const char *name;               /* "adam": the table row's name */
    fg_optim_kind kind;
    double lr_default;
    int n_hyper;
    const fg_optim_hyper *hyper;
    int n_state;
    const fg_optim_state *state;
    int n_scalar;
    const fg_optim_scalar *scalar;
    /* A rule between hyperparameters that the per-hyperparameter intervals
     * cannot say (SGD: Nesterov needs momentum): check returns the index of
     * the hyperparameter it blames, or FG_OPTIM_NONE when the rule holds;
     * rule says it in words. Both NULL when there is none. */
    int (*check)(const double *hyper);
    const char *rule;
    size_t coeffs_size;
    /* Per-step coefficients for update number step (>= 1) with learning rate
     * lr (finite, >= 0): checks everything first (fg_optimizer_check) and
     * returns FG_ERR_ARG without writing anything when a value is not
     * allowed. scalars (n_scalar values, may be NULL when n_scalar == 0)
     * holds the scalar state after step - 1 on entry and after step on exit. */
    fg_optim_prepare_fn prepare;
    fg_optim_step_f64_fn step_f64;
    fg_optim_step_f32_fn step_f32;
    /* Optional (all NULL, n_running == 0 when absent): the incremental
     * prepare. running holds n_running numbers the driver keeps (plain
     * numbers: they may be saved and restored between runs).
     * running_start: fresh = 1 sets running up before step 1; fresh = 0
     *     checks numbers carried over from an earlier run with the same
     *     hyperparameters (FG_ERR_ARG if they could not have come from one)
     *     and rebuilds what is derived from hyper. hyper must pass
     *     fg_optimizer_check.
     * running_advance: to the next step (before step 1: to step 1).
     * running_prepare: the coefficients of the step running is at, for
     *     learning rate lr (finite, >= 0), written over coefficients that
     *     prepare made for the same hyperparameters (any step and lr; call
     *     it once before the first running_prepare): only what changes from
     *     step to step is written. They may differ from prepare's in the
     *     last bit (documented per optimizer); nothing is checked. */
    int n_running;
    fg_optim_running_start_fn running_start;
    fg_optim_running_advance_fn running_advance;
    fg_optim_running_prepare_fn running_prepare;
    /* prepare without its checks, for a caller that has had these
     * hyperparameters and this lr accepted by fg_optimizer_check and passes
     * step >= 1 (fastgrad's optimizer objects check once per change of a
     * value, not once per step); the same coefficients as prepare. */
    fg_optim_prepare_fn fill;
} fg_optimizer;

/* The descriptors, fg_optimizer_sgd, fg_optimizer_adam, ... */
#define FG_OPTIMIZER(NAME, name) extern const fg_optimizer fg_optimizer_##name;
#include "fg_optim_table.def"
#undef FG_OPTIMIZER

/* The descriptor with code kind, or NULL when kind is not a code of
 * fg_optim_table.def. */
const fg_optimizer *fg_optimizer_get(int kind);

/* The descriptor named name ("sgd", "adam", "adamw", "rmsprop", "adagrad",
 * "adamax", "nadam"), or NULL. */
const fg_optimizer *fg_optimizer_find(const char *name);

/* Writes the n_hyper default values into hyper. Returns FG_OK, or
 * FG_ERR_ARG for a NULL argument. */
fg_status fg_optimizer_defaults(const fg_optimizer *opt, double *hyper);

/* FG_OK when every hyperparameter is allowed (finite and inside its
 * interval, flags 0 or 1, the optimizer's rule holds), lr is finite and
 * >= 0 and step >= 1; else FG_ERR_ARG, and *bad (if not NULL) is the index
 * of the first hyperparameter at fault, or FG_OPTIM_NONE when lr or step is. */
fg_status fg_optimizer_check(const fg_optimizer *opt, const double *hyper, double lr,
                             int64_t step, int *bad);

/* 1 when state buffer i is used with these hyperparameters, else 0. */
int fg_optimizer_state_used(const fg_optimizer *opt, const double *hyper, int i);

/* The value a fresh state buffer i starts from with these hyperparameters. */
double fg_optimizer_state_initial(const fg_optimizer *opt, const double *hyper, int i);

#ifdef __cplusplus
}
#endif
#endif /* FASTGRAD_OPTIMIZER_H */
