/* fg_fd.h: finite-difference gradients, Jacobians and Hessians.
 *
 * Two ways to use it:
 *  1. Batch (the caller evaluates f): fg_fd_stencil_<dtype> writes the m x n
 *     matrix of evaluation points (row-major, one point per row), the caller
 *     evaluates f on every row (a vectorized NumPy f does it in one call), and
 *     fg_fd_combine_<dtype> turns the m values (or m x p values, for a
 *     Jacobian of p outputs) into the derivatives and an error estimate.
 *  2. Callback (fastgrad evaluates f): fg_fd_gradient_f64 and friends call a
 *     plain C function pointer point by point; no Python is involved, so the
 *     caller may run them without the GIL.
 *
 * Stencil layout. With k = fg_fd_offsets(method, with_error, offs) offsets
 * and b = fg_fd_uses_base(method, with_error) (1 for one-sided methods, which
 * need f(x)), there are m = b + n*k rows: row 0 is x itself when b = 1, and
 * row b + j*k + r is x + offs[r]*h_j*e_j. Offsets per method:
 *     forward     [+1]                        with_error: [+1, +2]
 *     backward    [-1]                        with_error: [-1, -2]
 *     central     [+1, -1]                    with_error: [+1, -1, +2, -2]
 *     five-point  [+2, -2, +1, -1]
 *     richardson  [+1, -1, +1/2, -1/2, +1/4, -1/4, +1/8, -1/8]  (FG_FD_RICHARDSON_LEVELS = 4)
 *
 * Steps. h_j = steps[j] when steps is given (each finite and > 0), else the
 * rounding-optimal default h_j = c * max(1, |x_j|) with c = eps^(1/2)
 * (forward, backward), eps^(1/3) (central), eps^(1/5) (five-point), and
 * 4 * eps^(1/5) for the largest Richardson step (its finest step h/8 is
 * about the five-point optimum; chosen by measurement on exp, sin, log,
 * atan and polynomials). eps is the dtype's machine epsilon.
 * Exact-step trick: every formula divides by the step actually taken,
 * d = fl(x_j + o*h_j) - x_j (computed exactly), never by the nominal o*h_j,
 * so the rounding of the evaluation point costs nothing.
 *
 * Formulas, with D(s) the one-sided or central difference at the points
 * with step s (central: (f(x+d+) - f(x+d-)) / (d+ - d-)):
 *     forward/backward  g = D(h)                 O(h)
 *     central           g = D(h)                 O(h^2)
 *     five-point        g = D(h) + (D(h) - D(2h))/3       O(h^4)
 *     richardson        T[i][0] = D(h/2^i), T[i][j] = T[i][j-1]
 *                       + (T[i][j-1] - T[i-1][j-1]) / (4^j - 1),  g = T[L-1][L-1]  O(h^(2L))
 * Error estimate (per coordinate) = truncation estimate + rounding bound:
 *     forward/backward  |D(h) - D(2h)|          (needs with_error: +n points)
 *     central           |D(h) - D(2h)| / 3      (needs with_error: +2n points)
 *     five-point        |D(h) - D(2h)| / 3      (the error of the central D(h): a bound)
 *     richardson        max(|T[L-1][L-1] - T[L-1][L-2]|, |T[L-1][L-1] - T[L-2][L-2]|)
 * and the rounding bound is eps * sum_i |w_i| (|f(x_i)| + |f(x'_i)|) / |d_i - d'_i|
 * over the differences the result combines with weights w_i (eps of the
 * input dtype: f is assumed accurate to about one rounding).
 */
#ifndef FASTGRAD_FD_H
#define FASTGRAD_FD_H

#include <stddef.h>
#include "fg_status.h"
#include "fg_objective.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fg_fd_method {
    FG_FD_FORWARD = 0,
    FG_FD_BACKWARD = 1,
    FG_FD_CENTRAL = 2,
    FG_FD_FIVE_POINT = 3,
    FG_FD_RICHARDSON = 4
} fg_fd_method;

#define FG_FD_METHOD_COUNT 5
#define FG_FD_RICHARDSON_LEVELS 4
#define FG_FD_MAX_OFFSETS 8   /* 2 * FG_FD_RICHARDSON_LEVELS */

/* Number k of offsets per coordinate (0 for an unknown method). When offsets
 * is not NULL it receives them (room for FG_FD_MAX_OFFSETS doubles). */
size_t fg_fd_offsets(fg_fd_method method, int with_error, double *offsets);

/* 1 when the stencil starts with the base point x (forward, backward). */
int fg_fd_uses_base(fg_fd_method method, int with_error);

/* m = uses_base + n*k, the number of stencil rows (0 for an unknown method). */
size_t fg_fd_stencil_rows(fg_fd_method method, size_t n, int with_error);

/* The default step constant c of a method (h = c * max(1, |x|)); 0 for an
 * unknown method. */
double fg_fd_default_scale_f64(fg_fd_method method);
double fg_fd_default_scale_f32(fg_fd_method method);

/* Nominal steps h[0..n): steps[j] if steps is not NULL, else the default
 * rule. Returns FG_OK; FG_ERR_ARG for an unknown method, NULL x or h with
 * n > 0, or a given step that is not finite and > 0; FG_ERR_NONFINITE when
 * x holds a NaN or infinity. */
fg_status fg_fd_steps_f64(const double *x, size_t n, fg_fd_method method,
                          const double *steps, double *h);
fg_status fg_fd_steps_f32(const float *x, size_t n, fg_fd_method method,
                          const float *steps, float *h);

/* The stencil: points[row*n + i] for the m = fg_fd_stencil_rows(...) rows
 * described at the top. x (n, in), steps (n, in, or NULL for the defaults),
 * points (m*n, out, must not overlap x). Return codes as fg_fd_steps_f64. */
fg_status fg_fd_stencil_f64(const double *x, size_t n, fg_fd_method method, int with_error,
                            const double *steps, double *points);
fg_status fg_fd_stencil_f32(const float *x, size_t n, fg_fd_method method, int with_error,
                            const float *steps, float *points);

/* Combination: fvals (m*p, in, row-major: fvals[row*p + q] is output q of f
 * at stencil row `row`; p = 1 for a scalar f) -> jac (p*n, out, row-major:
 * jac[q*n + j] = d f_q / d x_j) and, if err is not NULL, err (p*n, out; the
 * estimate needs a stencil made with with_error for forward, backward and
 * central, else FG_ERR_ARG). points is the stencil the values belong to (the
 * actual steps are read back from it). Function values are double whatever
 * the dtype of x. Returns FG_OK or FG_ERR_ARG (unknown method, NULL
 * pointer with n*p > 0). A NaN value gives NaN derivatives, silently. */
fg_status fg_fd_combine_f64(const double *x, size_t n, fg_fd_method method, int with_error,
                            const double *points, const double *fvals, size_t p,
                            double *jac, double *err);
fg_status fg_fd_combine_f32(const float *x, size_t n, fg_fd_method method, int with_error,
                            const float *points, const double *fvals, size_t p,
                            float *jac, float *err);

/* Doubles of workspace that fg_fd_gradient_f64 / fg_fd_directional_f64 need:
 * n (a private copy of x that is perturbed one coordinate at a time). */
size_t fg_fd_gradient_workspace_size(fg_fd_method method, size_t n);

/* Gradient of a C function: grad[j] = d f / d x_j at x by `method`, with
 * steps and formulas as above, calling f(point, n, ctx) once per stencil
 * row (b + n*k calls; k as with_error = (err != NULL)). Nothing is
 * allocated. x (n, in), steps (n, in, or NULL), grad (n, out), err (n, out,
 * or NULL), work (fg_fd_gradient_workspace_size doubles, scratch; must not
 * overlap the others). Returns FG_OK; FG_ERR_ARG (NULL f or pointer, unknown
 * method, bad step); FG_ERR_NONFINITE (x not finite); FG_ERR_CALLBACK when f
 * returned NaN (the callback convention for failure): evaluation stops and
 * grad/err are filled with NaN. */
fg_status fg_fd_gradient_f64(fg_scalar_fn f, void *ctx, const double *x, size_t n,
                             fg_fd_method method, const double *steps, double *grad,
                             double *err, double *work);

/* Directional derivative of a C function, Jacobian-free:
 * *deriv = d/dt f(x + t v) at t = 0, by `method` on the scalar t with step
 * `step` (> 0), or when step <= 0 the default c * max(1, ||x||_2) / ||v||_2
 * (c as above). b + k calls of f. *err (may be NULL) as above. work: n
 * doubles. Returns as fg_fd_gradient_f64; FG_ERR_ARG also when v is zero or
 * not finite. */
fg_status fg_fd_directional_f64(fg_scalar_fn f, void *ctx, const double *x, const double *v,
                                size_t n, fg_fd_method method, double step, double *deriv,
                                double *err, double *work);

/* Doubles of workspace for fg_fd_hessian_f64: n + (k + 1) * n. */
size_t fg_fd_hessian_workspace_size(fg_fd_method method, size_t n);

/* Hessian from differences of a C gradient: column j of H is the `method`
 * derivative of grad f along e_j (value_grad called with value pointer to a
 * scratch double), then H <- (H + H^T) / 2. hess (n*n, out, row-major).
 * Default steps as for a first derivative (the gradient is taken as exact).
 * Returns FG_OK; FG_ERR_ARG (NULL pointer, unknown method, bad step);
 * FG_ERR_NONFINITE (x); FG_ERR_CALLBACK when value_grad failed (its status
 * not FG_OK) or returned a NaN gradient: hess is then filled with NaN. */
fg_status fg_fd_hessian_f64(fg_value_grad_fn value_grad, void *ctx, const double *x, size_t n,
                            fg_fd_method method, const double *steps, double *hess,
                            double *work);

#ifdef __cplusplus
}
#endif
#endif /* FASTGRAD_FD_H */
