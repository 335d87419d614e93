/* fg_dual_grad.h: forward-mode gradient of a C function written on dual
 * numbers (chunked forward mode, as fastgrad.gradient(f, x) does for Python).
 *
 * The caller writes f once, on a dual input: values x[0..n) and a tangent of
 * k directions per value, element-major (xt[i*k + j] = component j of x_i,
 * the layout of fg_dual.h), and returns f's value and its k tangent
 * components, using fastgrad's fg_dual_* array kernels or its own arithmetic.
 * The driver seeds ceil(n/k) chunks of unit directions (chunk c covers
 * coordinates s = c*k .. s + k_c - 1, k_c = min(k, n - s), with
 * xt[i*k_c + j] = (i == s + j)) and assembles
 *     grad[s + j] = vt[j]   (the derivative of f along e_{s+j}),
 * exact to rounding (no step). Nothing is allocated: the seed tangent lives
 * in a caller-provided workspace; scratch that f needs lives in its ctx.
 */
#ifndef FASTGRAD_DUAL_GRAD_H
#define FASTGRAD_DUAL_GRAD_H

#include <stddef.h>
#include "fg_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A scalar function on a dual input. x (n values, in), xt (n*k tangent
 * components, in, element-major), value (out: f(x)), vt (out: k components,
 * vt[j] = sum_i df/dx_i * xt[i*k + j]). k may be 0 (value only; xt and vt
 * may then be NULL). Return FG_OK, or any other status to stop the driver
 * (it then returns FG_ERR_CALLBACK). */
typedef fg_status (*fg_dual_scalar_fn)(const double *x, const double *xt, size_t n, size_t k,
                                       double *value, double *vt, void *ctx);

/* The default chunk (directions per call of f) for n inputs:
 *     min(n, max(8, 32768 / n)),   1 when n == 0,
 * the rule of fastgrad.differentiate.default_chunk_size (a tangent array of
 * about 256 KiB, all directions in one call up to n = 181). */
size_t fg_dual_default_chunk(size_t n);

/* Doubles of workspace for fg_dual_gradient_f64 with n inputs and the given
 * chunk (0: fg_dual_default_chunk(n)): with k = min(chunk, n),
 *     n*k (the seed tangent) + k (f's output tangent).
 * Returns 0 when the size overflows size_t (and for n == 0: none needed). */
size_t fg_dual_gradient_workspace_size(size_t n, size_t chunk);

/* Gradient of f at x by chunked forward mode (formula at the top):
 * ceil(n/k) calls of f with k = min(chunk, n) directions (chunk 0: the
 * default rule), the last call with k_c = n - (calls-1)*k directions;
 * n == 0 makes one value-only call (k = 0).
 * x (n, in), value (out, f(x) from the first call; may be NULL), grad (n,
 * out), work (fg_dual_gradient_workspace_size(n, chunk) doubles, scratch).
 * x, grad and work must not overlap. x need not be finite (NaN propagates
 * as in the dual arithmetic).
 * Returns FG_OK; FG_ERR_ARG (NULL f, or NULL x/grad/work with n > 0, or a
 * workspace size that overflows); FG_ERR_CALLBACK when f returned a status
 * other than FG_OK: the driver stops, grad and *value are filled with NaN. */
fg_status fg_dual_gradient_f64(fg_dual_scalar_fn f, void *ctx, const double *x, size_t n,
                               size_t chunk, double *value, double *grad, double *work);

/* A dual function as an objective for the minimize driver and the other
 * fg_value_grad_fn users: set fn, ctx, chunk and work (at least
 * fg_dual_gradient_workspace_size(n, chunk) doubles for the n of the run)
 * and pass fg_dual_value_grad with a pointer to this struct as context. */
typedef struct fg_dual_objective {
    fg_dual_scalar_fn fn;
    void *ctx;
    size_t chunk;       /* 0: fg_dual_default_chunk(n) */
    double *work;
} fg_dual_objective;

/* fg_value_grad_fn over a dual function: ctx is an fg_dual_objective *.
 *     *value = f(x),  grad = fg_dual_gradient_f64(...)  (grad != NULL)
 *     *value = f(x) by one value-only call (k = 0)       (grad == NULL)
 * Returns as fg_dual_gradient_f64; FG_ERR_ARG also for a NULL ctx or
 * value. */
fg_status fg_dual_value_grad(const double *x, size_t n, double *value, double *grad,
                             void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* FASTGRAD_DUAL_GRAD_H */
