/* fg_dual.c: the public dual and hyper-dual kernels (fg_dual.h): argument
 * checks, then the generated kernels of fg_elem.h. A hyper-dual row of
 * width m = 2k + 1 is handed to them as its three parts (T = row, C = row +
 * k, D = row + k + 1) with pitch m. */
#include <stdint.h>
#include "fg_dual.h"
#include "fg_elem.h"

/* FG_OK when op is a row of `kind`, the operand increments are 0 or 1, and
 * n elements, each a value and a tangent row of m = k (hyper: 2k + 1)
 * numbers, are addressable; FG_ERR_UNSUPPORTED / FG_ERR_ARG otherwise. */
static fg_status check_op(int op, fg_op_kind kind, size_t n, size_t k, int hyper, size_t incs)
{
    const fg_op_info *info = fg_op_get_info(op);
    if (!info || info->kind != kind) return FG_ERR_UNSUPPORTED;
    if (incs > 1) return FG_ERR_ARG;
    if (k > (size_t)PTRDIFF_MAX / 4) return FG_ERR_ARG;
    const size_t m = hyper ? 2 * k + 1 : k;
    if (n > (size_t)PTRDIFF_MAX / sizeof(double) / (m + 1)) return FG_ERR_ARG;
    return FG_OK;
}

/* One source for both dtypes (T the element type, S the suffix) and for both
 * families: `hyper` is 0 (dual) or 1 (hyper-dual), a constant at each call
 * below, so the untaken branch folds away. A tangent row has m = k (hyper:
 * 2k + 1, never 0) numbers, so the pointer checks read the same for both. */
#define FG_DUAL_API(T, S)                                                                  \
static fg_status unary_##S(int op, int hyper, size_t n, size_t k, const T *xv,             \
                           const T *xt, T *yv, T *yt)                                      \
{                                                                                          \
    const size_t m = hyper ? 2 * k + 1 : k;                                                \
    if (n && (!xv || !yv || (m && (!xt || !yt)))) return FG_ERR_ARG;                       \
    fg_status st = check_op(op, FG_OP_KIND_UNARY, n, k, hyper, 0);                         \
    if (st != FG_OK || n == 0) return st;                                                  \
    if (hyper)                                                                             \
        fg_elem_hyper1_##S[op](xv, xt, xt + k, xt + k + 1, yv, yt, yt + k, yt + k + 1,     \
                               (int64_t)n, (int64_t)k, (int64_t)m, (int64_t)m);            \
    else                                                                                   \
        fg_elem_dual1_##S[op](xv, xt, yv, yt, (int64_t)n, (int64_t)k);                     \
    return FG_OK;                                                                          \
}                                                                                          \
                                                                                           \
/* A constant operand (NULL tangent) stays NULL, in all three parts of a                   \
 * hyper-dual row; with k == 0 a dual call hands the kernel no tangents. */                \
static fg_status binary_##S(int op, int hyper, size_t n, size_t k, const T *av,            \
                            const T *at, size_t a_inc, const T *bv, const T *bt,           \
                            size_t b_inc, T *yv, T *yt)                                    \
{                                                                                          \
    const size_t m = hyper ? 2 * k + 1 : k;                                                \
    if (n && (!av || !bv || !yv || (m && (at || bt) && !yt))) return FG_ERR_ARG;          \
    fg_status st = check_op(op, FG_OP_KIND_BINARY, n, k, hyper, a_inc | b_inc);            \
    if (st != FG_OK || n == 0) return st;                                                  \
    if (hyper)                                                                             \
        fg_elem_hyper2_##S[op](av, at, at ? at + k : NULL, at ? at + k + 1 : NULL,         \
                               (int64_t)a_inc, bv, bt, bt ? bt + k : NULL,                 \
                               bt ? bt + k + 1 : NULL, (int64_t)b_inc, yv, yt,             \
                               yt ? yt + k : NULL, yt ? yt + k + 1 : NULL, (int64_t)n,     \
                               (int64_t)k, (int64_t)m, (int64_t)m);                        \
    else                                                                                   \
        fg_elem_dual2_##S[op](av, k ? at : NULL, (int64_t)a_inc, bv, k ? bt : NULL,        \
                              (int64_t)b_inc, yv, k ? yt : NULL, (int64_t)n, (int64_t)k);  \
    return FG_OK;                                                                          \
}                                                                                          \
                                                                                           \
FG_DUAL_FAMILY(T, S, dual, 0)                                                              \
FG_DUAL_FAMILY(T, S, hdual, 1)

/* The public pair fg_<NAME>_unary_<S> and fg_<NAME>_binary_<S> (fg_dual.h). */
#define FG_DUAL_FAMILY(T, S, NAME, HYPER)                                                  \
fg_status fg_##NAME##_unary_##S(int op, size_t n, size_t k, const T *xv, const T *xt,      \
                                T *yv, T *yt)                                              \
{                                                                                          \
    return unary_##S(op, HYPER, n, k, xv, xt, yv, yt);                                     \
}                                                                                          \
                                                                                           \
fg_status fg_##NAME##_binary_##S(int op, size_t n, size_t k, const T *av, const T *at,     \
                                 size_t a_inc, const T *bv, const T *bt, size_t b_inc,     \
                                 T *yv, T *yt)                                             \
{                                                                                          \
    return binary_##S(op, HYPER, n, k, av, at, a_inc, bv, bt, b_inc, yv, yt);              \
}

FG_DUAL_API(double, f64)
FG_DUAL_API(float, f32)
