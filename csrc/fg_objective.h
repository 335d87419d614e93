/* fg_objective.h: how C code hands a function to fastgrad's C drivers
 * (finite differences, the minimize loop). Plain function pointers plus a
 * context pointer the caller owns; fastgrad never frees ctx.
 */
#ifndef FASTGRAD_OBJECTIVE_H
#define FASTGRAD_OBJECTIVE_H

#include <stddef.h>
#include "fg_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* f(x) for x of length n. Return NaN to signal failure. */
typedef double (*fg_scalar_fn)(const double *x, size_t n, void *ctx);

/* *value = f(x) and grad[0..n) = grad f(x). grad may be NULL: value only. */
typedef fg_status (*fg_value_grad_fn)(const double *x, size_t n, double *value,
                                      double *grad, void *ctx);

/* hess[0..n*n) = the Hessian of f at x, row-major. */
typedef fg_status (*fg_hessian_fn)(const double *x, size_t n, double *hess, void *ctx);

/* hv[0..n) = the Hessian of f at x times v (hv overlaps neither x nor v). */
typedef fg_status (*fg_hvp_fn)(const double *x, const double *v, size_t n, double *hv,
                               void *ctx);

/* An objective for the minimize driver. value_grad is required; hessian
 * may be NULL (then methods that need it return FG_ERR_UNSUPPORTED). */
typedef struct fg_objective {
    fg_value_grad_fn value_grad;
    fg_hessian_fn hessian;
    void *ctx;
} fg_objective;

/* A scalar function with its context and input length, for the
 * finite-difference drivers. */
typedef struct fg_scalar_callback {
    fg_scalar_fn fn;
    void *ctx;
    size_t n;
} fg_scalar_callback;

/* How Python objects hand C functions to fastgrad's drivers (GIL released):
 *   obj._fg_scalar_capsule()    -> PyCapsule named FG_SCALAR_CAPSULE_NAME
 *                                  holding an fg_scalar_callback *
 *   obj._fg_objective_capsule() -> PyCapsule named FG_OBJECTIVE_CAPSULE_NAME
 *                                  holding an fg_objective_callback *
 * Each call returns a fresh capsule that owns its ctx and workspace (freed
 * by the capsule's destructor), so one capsule serves one thread at a time.
 */
#define FG_SCALAR_CAPSULE_NAME "fastgrad.scalar_callback"
#define FG_OBJECTIVE_CAPSULE_NAME "fastgrad.objective_callback"
/*   obj._fg_hvp_capsule()       -> PyCapsule named FG_HVP_CAPSULE_NAME holding
 *                                  an fg_hvp_callback * (optional: what
 *                                  newton-cg uses for Hessian-vector products) */
#define FG_HVP_CAPSULE_NAME "fastgrad.hvp_callback"

typedef struct fg_objective_callback {
    fg_objective objective;
    size_t n;
} fg_objective_callback;

typedef struct fg_hvp_callback {
    fg_hvp_fn fn;
    void *ctx;
    size_t n;
} fg_hvp_callback;

/* f and its gradient on `rows` rows of every data array (a minibatch):
 * data[j] points to rows * row_elems[j] contiguous elements of the j-th
 * data array (float64 or int64 as its dtype says), where row_elems[j] =
 * row_bytes[j] / 8. grad may be NULL: value only. A row count the
 * objective was not prepared for returns FG_ERR_SHAPE (nothing written). */
typedef fg_status (*fg_batch_value_grad_fn)(const double *x, size_t n, const void *const *data,
                                            size_t rows, double *value, double *grad,
                                            void *ctx);

/* A minibatch objective for the stochastic minimize loop: n is the length
 * of x, n_data the number of data arrays, row_bytes[j] the bytes of one row
 * (first-axis entry) of the j-th. ctx and row_bytes belong to whoever
 * built it (for a capsule: the capsule). */
typedef struct fg_batch_objective {
    fg_batch_value_grad_fn value_grad;
    void *ctx;
    size_t n;
    size_t n_data;
    const size_t *row_bytes;
} fg_batch_objective;

/*   obj._fg_batch_capsule(row_counts) -> PyCapsule named
 *                                  FG_BATCH_CAPSULE_NAME holding an
 *                                  fg_batch_objective * prepared for those
 *                                  row counts (a compiled function with data:
 *                                  each count traced before any C runs) */
#define FG_BATCH_CAPSULE_NAME "fastgrad.batch_objective"

#ifdef __cplusplus
}
#endif
#endif /* FASTGRAD_OBJECTIVE_H */
