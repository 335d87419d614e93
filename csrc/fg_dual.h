/* fg_dual.h: forward-mode dual and hyper-dual numbers over contiguous arrays.
 *
 * A dual array holds n values v[i] and k tangent components per value
 * (chunked forward mode, as in ForwardDiff.jl: k directions in one pass).
 * Layout (structure of arrays, element-major tangent): the tangent is a
 * separate C-contiguous array of shape S + (k,), so element i's components
 * are t[i*k .. i*k + k). This is the layout of DualArray.tangent in Python.
 *
 * A hyper-dual array (exact second derivatives) holds
 *     x = a + b e1 + c e2 + d e1 e2,   e1^2 = e2^2 = 0,
 * with b and d of k components and c of one, packed per element in a
 * tangent row of width m = 2k + 1:  [ b_0 .. b_{k-1} | c | d_0 .. d_{k-1} ].
 * Then f(x) = f(a) + f'(a) b e1 + f'(a) c e2 + (f'(a) d + f''(a) b c) e1 e2,
 * so seeding b with k unit directions, c with direction i and d = 0 gives
 * the k Hessian entries H[i, j] in the e1 e2 part of a scalar output.
 *
 * Every rule comes from fg_ops.def (FG_OP_UNARY / FG_OP_BINARY rows, with
 * their second-derivative columns); `op` is an fg_op_code (fg_ops.h). The
 * kernels are the ones the tape VM runs, from one generator. Values are
 * computed in double for both dtypes and stored in the array's dtype.
 * Behaviour at non-differentiable points is the table's (see fg_ops.def),
 * and every product partial * tangent is NaN-safe (ForwardDiff.jl's
 * NANSAFE mode): an exactly zero factor gives 0, even when the other is inf
 * or NaN. So sqrt(x) at x = 0, or a**b (a < 0) in b, poison only the
 * directions that actually move that input, and a structurally zero
 * partial never turns an infinite tangent into NaN.
 *
 * Naming: fg_dual_<verb>_<dtype> and fg_hdual_<verb>_<dtype> (f64 = double,
 * f32 = float). Common preconditions: pointers to n values (or 1 when the
 * operand's inc is 0) and n*k (hyper: n*(2k+1)) tangent components; an
 * output may alias an input exactly (in-place update) but must not
 * partially overlap it. n == 0 or k == 0 is allowed. Return codes:
 * FG_OK; FG_ERR_ARG (a required pointer is NULL, or inc not 0/1);
 * FG_ERR_UNSUPPORTED (op is not a row of the requested arity, e.g. a
 * comparison, which has no derivative: compare the values instead).
 */
#ifndef FASTGRAD_DUAL_H
#define FASTGRAD_DUAL_H

#include <stddef.h>
#include "fg_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Unary rule y = f(x) (op an FG_OP_UNARY row), elementwise over n elements:
 *     yv[i] = f(xv[i]),   yt[i*k + j] = f'(xv[i]) * xt[i*k + j].
 * xv, xt, yv, yt must be non-NULL when n > 0 (xt, yt also when k > 0). */
fg_status fg_dual_unary_f64(int op, size_t n, size_t k, const double *xv, const double *xt,
                            double *yv, double *yt);
fg_status fg_dual_unary_f32(int op, size_t n, size_t k, const float *xv, const float *xt,
                            float *yv, float *yt);

/* Binary rule y = f(a, b) (op an FG_OP_BINARY row), elementwise:
 *     yv[i] = f(a_i, b_i),
 *     yt[i*k + j] = df/da(a_i, b_i) * at[.. j] + df/db(a_i, b_i) * bt[.. j],
 * where a_i = av[i * a_inc] (a_inc 0 broadcasts one element, 1 walks the
 * array) and likewise for b. A NULL at (or bt) marks that operand as a
 * constant: its partial derivative is then never evaluated, so a constant
 * operand cannot poison the tangent with NaN (e.g. (-2.0)**3 with a
 * constant exponent). With both NULL only values are computed and yt, if
 * not NULL, is zero-filled. */
fg_status fg_dual_binary_f64(int op, size_t n, size_t k, const double *av, const double *at,
                             size_t a_inc, const double *bv, const double *bt, size_t b_inc,
                             double *yv, double *yt);
fg_status fg_dual_binary_f32(int op, size_t n, size_t k, const float *av, const float *at,
                             size_t a_inc, const float *bv, const float *bt, size_t b_inc,
                             float *yv, float *yt);

/* Hyper-dual unary rule over n elements with k e1-directions (tangent rows
 * of width m = 2k + 1, layout above):
 *     b' = f'(a) b,   c' = f'(a) c,   d' = f'(a) d + f''(a) b c.
 * Same pointer preconditions as fg_dual_unary_*. */
fg_status fg_hdual_unary_f64(int op, size_t n, size_t k, const double *xv, const double *xt,
                             double *yv, double *yt);
fg_status fg_hdual_unary_f32(int op, size_t n, size_t k, const float *xv, const float *xt,
                             float *yv, float *yt);

/* Hyper-dual binary rule (rows of width m = 2k + 1), with partials p_a,
 * p_b and second partials p_aa, p_ab, p_bb of f at (a, b):
 *     b' = p_a b_a + p_b b_b,          c' = p_a c_a + p_b c_b,
 *     d' = p_a d_a + p_b d_b + p_aa b_a c_a + p_ab (b_a c_b + b_b c_a)
 *          + p_bb b_b c_b.
 * at/bt NULL and a_inc/b_inc as in fg_dual_binary_*; a constant operand's
 * first and second partials are never evaluated. */
fg_status fg_hdual_binary_f64(int op, size_t n, size_t k, const double *av, const double *at,
                              size_t a_inc, const double *bv, const double *bt, size_t b_inc,
                              double *yv, double *yt);
fg_status fg_hdual_binary_f32(int op, size_t n, size_t k, const float *av, const float *at,
                              size_t a_inc, const float *bv, const float *bt, size_t b_inc,
                              float *yv, float *yt);

#ifdef __cplusplus
}
#endif
#endif /* FASTGRAD_DUAL_H */
