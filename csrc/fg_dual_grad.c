/* fg_dual_grad.c: chunked forward-mode gradient of a dual C function
 * (see fg_dual_grad.h). */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "fg_dual_grad.h"

#define FG_DUAL_CHUNK_BUDGET 32768u /* doubles per seed tangent: 256 KiB */
#define FG_DUAL_CHUNK_MIN 8u

size_t fg_dual_default_chunk(size_t n)
{
    if (n == 0) return 1;
    size_t k = FG_DUAL_CHUNK_BUDGET / n;
    if (k < FG_DUAL_CHUNK_MIN) k = FG_DUAL_CHUNK_MIN;
    return k < n ? k : n;
}

/* k = min(chunk or default, n); 0 for n == 0. */
static size_t chunk_width(size_t n, size_t chunk)
{
    if (n == 0) return 0;
    size_t k = chunk ? chunk : fg_dual_default_chunk(n);
    return k < n ? k : n;
}

size_t fg_dual_gradient_workspace_size(size_t n, size_t chunk)
{
    size_t k = chunk_width(n, chunk);
    if (k == 0) return 0;
    if (n >= SIZE_MAX / k) return 0; /* k*(n + 1) must fit */
    return n * k + k;
}

static void fill_nan(double *value, double *grad, size_t n)
{
    if (value) *value = NAN;
    for (size_t i = 0; i < n; i++) grad[i] = NAN;
}

fg_status fg_dual_gradient_f64(fg_dual_scalar_fn f, void *ctx, const double *x, size_t n,
                               size_t chunk, double *value, double *grad, double *work)
{
    double v = NAN;
    if (!f) return FG_ERR_ARG;
    if (n == 0) {
        if (f(x, NULL, 0, 0, &v, NULL, ctx) != FG_OK) {
            if (value) *value = NAN;
            return FG_ERR_CALLBACK;
        }
        if (value) *value = v;
        return FG_OK;
    }
    if (!x || !grad || !work || fg_dual_gradient_workspace_size(n, chunk) == 0)
        return FG_ERR_ARG;
    size_t k = chunk_width(n, chunk);
    double *xt = work, *vt = work + n * k;
    size_t width = 0; /* the k_c the seed tangent is laid out for (0: not yet) */
    for (size_t s = 0; s < n; s += k) {
        size_t kc = n - s < k ? n - s : k;
        if (kc != width) { /* first chunk, or the shorter last one */
            memset(xt, 0, n * kc * sizeof(double));
            width = kc;
        }
        for (size_t j = 0; j < kc; j++) xt[(s + j) * kc + j] = 1.0;
        double vc = NAN;
        fg_status st = f(x, xt, n, kc, &vc, vt, ctx);
        for (size_t j = 0; j < kc; j++) xt[(s + j) * kc + j] = 0.0;
        if (st != FG_OK) {
            fill_nan(value, grad, n);
            return FG_ERR_CALLBACK;
        }
        if (s == 0) v = vc;
        memcpy(grad + s, vt, kc * sizeof(double));
    }
    if (value) *value = v;
    return FG_OK;
}

fg_status fg_dual_value_grad(const double *x, size_t n, double *value, double *grad,
                             void *ctx)
{
    const fg_dual_objective *o = (const fg_dual_objective *)ctx;
    if (!o || !value || !o->fn) return FG_ERR_ARG;
    if (grad)
        return fg_dual_gradient_f64(o->fn, o->ctx, x, n, o->chunk, value, grad, o->work);
    if (n > 0 && !x) return FG_ERR_ARG;
    double v = NAN;
    if (o->fn(x, NULL, n, 0, &v, NULL, o->ctx) != FG_OK) {
        *value = NAN;
        return FG_ERR_CALLBACK;
    }
    *value = v;
    return FG_OK;
}
