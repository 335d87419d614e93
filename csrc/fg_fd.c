/* fg_fd.c: finite differences (see fg_fd.h for the stencil layout, steps,
 * formulas and error estimates). The dtype-independent combination of one
 * coordinate lives here; fg_fd_body.h is instantiated for float64 and
 * float32; the C-callback drivers (float64 only, as fg_scalar_fn is) follow.
 */
#include <float.h>
#include <math.h>
#include <string.h>
#include "fg_config.h"
#include "fg_fd.h"

#define FD_L FG_FD_RICHARDSON_LEVELS

size_t fg_fd_offsets(fg_fd_method method, int with_error, double *offsets)
{
    static const double one_sided[2] = {1.0, 2.0};
    static const double central[4] = {1.0, -1.0, 2.0, -2.0};
    static const double five[4] = {2.0, -2.0, 1.0, -1.0};
    const double *src;
    size_t k;
    double sign = 1.0;
    switch (method) {
    case FG_FD_BACKWARD: sign = -1.0; /* fall through */
    case FG_FD_FORWARD: src = one_sided; k = with_error ? 2 : 1; break;
    case FG_FD_CENTRAL: src = central; k = with_error ? 4 : 2; break;
    case FG_FD_FIVE_POINT: src = five; k = 4; break;
    case FG_FD_RICHARDSON:
        if (offsets)
            for (int i = 0; i < FD_L; i++) {
                offsets[2 * i] = ldexp(1.0, -i);
                offsets[2 * i + 1] = -ldexp(1.0, -i);
            }
        return 2 * FD_L;
    default: return 0;
    }
    if (offsets)
        for (size_t r = 0; r < k; r++) offsets[r] = sign * src[r];
    return k;
}

int fg_fd_uses_base(fg_fd_method method, int with_error)
{
    return method == FG_FD_FORWARD || method == FG_FD_BACKWARD;
}

size_t fg_fd_stencil_rows(fg_fd_method method, size_t n, int with_error)
{
    size_t k = fg_fd_offsets(method, with_error, NULL);
    if (k == 0) return 0;
    return (size_t)fg_fd_uses_base(method, with_error) + n * k;
}

/* Whether the stencil carries what the error estimate needs. */
static int fd_has_error(fg_fd_method method, int with_error)
{
    return with_error || method == FG_FD_FIVE_POINT || method == FG_FD_RICHARDSON;
}

static double fd_default_scale(fg_fd_method method, double eps)
{
    switch (method) {
    case FG_FD_FORWARD:
    case FG_FD_BACKWARD: return sqrt(eps);
    case FG_FD_CENTRAL: return cbrt(eps);
    case FG_FD_FIVE_POINT: return pow(eps, 0.2);
    case FG_FD_RICHARDSON: return 4.0 * pow(eps, 0.2);
    default: return 0.0;
    }
}

static double fd_max(double a, double b) { return a > b ? a : b; }

/* One derivative from the k values v at actual steps d (and f0 = f(x) for
 * one-sided methods), in the layout of fg_fd_offsets; *err (if asked)
 * receives the estimate documented in fg_fd.h. */
static double fd_combine_one(fg_fd_method method, int with_error, const double *v,
                             const double *d, double f0, double eps, double *err)
{
    switch (method) {
    case FG_FD_FORWARD:
    case FG_FD_BACKWARD: {
        double D1 = (v[0] - f0) / d[0];
        if (err) {
            double D2 = (v[1] - f0) / d[1];
            *err = fabs(D1 - D2) + eps * (fabs(v[0]) + fabs(f0)) / fabs(d[0]);
        }
        return D1;
    }
    case FG_FD_CENTRAL: {
        double D1 = (v[0] - v[1]) / (d[0] - d[1]);
        if (err) {
            double D2 = (v[2] - v[3]) / (d[2] - d[3]);
            *err = fabs(D1 - D2) / 3.0 + eps * (fabs(v[0]) + fabs(v[1])) / fabs(d[0] - d[1]);
        }
        return D1;
    }
    case FG_FD_FIVE_POINT: {
        double D2 = (v[0] - v[1]) / (d[0] - d[1]);
        double D1 = (v[2] - v[3]) / (d[2] - d[3]);
        if (err)
            *err = fabs(D1 - D2) / 3.0
                   + eps * ((4.0 / 3.0) * (fabs(v[2]) + fabs(v[3])) / fabs(d[2] - d[3])
                            + (1.0 / 3.0) * (fabs(v[0]) + fabs(v[1])) / fabs(d[0] - d[1]));
        return D1 + (D1 - D2) / 3.0;
    }
    case FG_FD_RICHARDSON: {
        /* T: the Richardson tableau; R: the rounding bound carried through
         * it with absolute weights. */
        double T[FD_L][FD_L], R[FD_L][FD_L];
        for (int i = 0; i < FD_L; i++) {
            double w = fabs(d[2 * i] - d[2 * i + 1]);
            T[i][0] = (v[2 * i] - v[2 * i + 1]) / (d[2 * i] - d[2 * i + 1]);
            R[i][0] = eps * (fabs(v[2 * i]) + fabs(v[2 * i + 1])) / w;
        }
        for (int i = 1; i < FD_L; i++) {
            double q = 1.0;
            for (int j = 1; j <= i; j++) {
                q *= 4.0;
                T[i][j] = T[i][j - 1] + (T[i][j - 1] - T[i - 1][j - 1]) / (q - 1.0);
                R[i][j] = (q * R[i][j - 1] + R[i - 1][j - 1]) / (q - 1.0);
            }
        }
        double g = T[FD_L - 1][FD_L - 1];
        if (err)
            *err = fd_max(fabs(g - T[FD_L - 1][FD_L - 2]), fabs(g - T[FD_L - 2][FD_L - 2]))
                   + R[FD_L - 1][FD_L - 1];
        return g;
    }
    default: return NAN;
    }
}

#define FG_T double
#define FG_SUFFIX f64
#define FG_EPS DBL_EPSILON
#include "fg_fd_body.h"
#undef FG_T
#undef FG_SUFFIX
#undef FG_EPS

#define FG_T float
#define FG_SUFFIX f32
#define FG_EPS FLT_EPSILON
#include "fg_fd_body.h"
#undef FG_T
#undef FG_SUFFIX
#undef FG_EPS

/* ---------------------------------------------------- C-callback drivers -- */

size_t fg_fd_gradient_workspace_size(fg_fd_method method, size_t n)
{
    return n;
}

size_t fg_fd_hessian_workspace_size(fg_fd_method method, size_t n)
{
    size_t k = fg_fd_offsets(method, 0, NULL);
    return (k + 2) * n;
}

static void fd_fill_nan(double *a, size_t count)
{
    if (a)
        for (size_t i = 0; i < count; i++) a[i] = NAN;
}

fg_status fg_fd_gradient_f64(fg_scalar_fn f, void *ctx, const double *x, size_t n,
                             fg_fd_method method, const double *steps, double *grad,
                             double *err, double *work)
{
    double offs[FG_FD_MAX_OFFSETS], d[FG_FD_MAX_OFFSETS], v[FG_FD_MAX_OFFSETS];
    int we = err != NULL;
    size_t k = fg_fd_offsets(method, we, offs);
    if (!f || k == 0 || (n && (!x || !grad || !work))) return FG_ERR_ARG;
    fg_status st = fd_check_f64(x, n, steps);
    if (st != FG_OK) return st;
    const double c = fg_fd_default_scale_f64(method);
    double f0 = 0.0;
    memcpy(work, x, n * sizeof(double));
    if (fg_fd_uses_base(method, we)) {
        f0 = f(work, n, ctx);
        if (isnan(f0)) goto failed;
    }
    for (size_t j = 0; j < n; j++) {
        double xj = x[j];
        double h = steps ? steps[j] : c * fd_max(1.0, fabs(xj));
        for (size_t r = 0; r < k; r++) {
            double xp = xj + offs[r] * h;
            d[r] = xp - xj;   /* the exact-step trick */
            work[j] = xp;
            v[r] = f(work, n, ctx);
            if (isnan(v[r])) goto failed;
        }
        work[j] = xj;
        grad[j] = fd_combine_one(method, we, v, d, f0, DBL_EPSILON, we ? &err[j] : NULL);
    }
    return FG_OK;
failed:
    fd_fill_nan(grad, n);
    fd_fill_nan(err, n);
    return FG_ERR_CALLBACK;
}

fg_status fg_fd_directional_f64(fg_scalar_fn f, void *ctx, const double *x, const double *v,
                                size_t n, fg_fd_method method, double step, double *deriv,
                                double *err, double *work)
{
    double offs[FG_FD_MAX_OFFSETS], d[FG_FD_MAX_OFFSETS], vals[FG_FD_MAX_OFFSETS];
    int we = err != NULL;
    size_t k = fg_fd_offsets(method, we, offs);
    if (!f || k == 0 || !deriv || (n && (!x || !v || !work)) || isnan(step) || isinf(step))
        return FG_ERR_ARG;
    double xnorm = 0.0, vnorm = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) return FG_ERR_NONFINITE;
        if (!isfinite(v[i])) return FG_ERR_ARG;
        xnorm = hypot(xnorm, x[i]);
        vnorm = hypot(vnorm, v[i]);
    }
    if (vnorm == 0.0) return FG_ERR_ARG;
    double h = step > 0 ? step : fg_fd_default_scale_f64(method) * fd_max(1.0, xnorm) / vnorm;
    double f0 = 0.0;
    if (fg_fd_uses_base(method, we)) {
        f0 = f(x, n, ctx);
        if (isnan(f0)) goto failed;
    }
    for (size_t r = 0; r < k; r++) {
        double t = offs[r] * h;   /* exact: offs[r] is a power of two */
        for (size_t i = 0; i < n; i++) work[i] = x[i] + t * v[i];
        d[r] = t;
        vals[r] = f(work, n, ctx);
        if (isnan(vals[r])) goto failed;
    }
    *deriv = fd_combine_one(method, we, vals, d, f0, DBL_EPSILON, err);
    return FG_OK;
failed:
    *deriv = NAN;
    if (err) *err = NAN;
    return FG_ERR_CALLBACK;
}

static int fd_any_nan(const double *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isnan(a[i])) return 1;
    return 0;
}

fg_status fg_fd_hessian_f64(fg_value_grad_fn value_grad, void *ctx, const double *x, size_t n,
                            fg_fd_method method, const double *steps, double *hess,
                            double *work)
{
    double offs[FG_FD_MAX_OFFSETS], d[FG_FD_MAX_OFFSETS], v[FG_FD_MAX_OFFSETS];
    size_t k = fg_fd_offsets(method, 0, offs);
    if (!value_grad || k == 0 || (n && (!x || !hess || !work))) return FG_ERR_ARG;
    fg_status st = fd_check_f64(x, n, steps);
    if (st != FG_OK) return st;
    const double c = fg_fd_default_scale_f64(method);
    double *xw = work, *g0 = work + n, *gk = work + 2 * n;   /* gk: k gradients */
    double value;
    memcpy(xw, x, n * sizeof(double));
    if (fg_fd_uses_base(method, 0)) {
        if (value_grad(xw, n, &value, g0, ctx) != FG_OK || fd_any_nan(g0, n)) goto failed;
    }
    for (size_t j = 0; j < n; j++) {
        double xj = x[j];
        double h = steps ? steps[j] : c * fd_max(1.0, fabs(xj));
        for (size_t r = 0; r < k; r++) {
            double xp = xj + offs[r] * h;
            d[r] = xp - xj;
            xw[j] = xp;
            if (value_grad(xw, n, &value, gk + r * n, ctx) != FG_OK || fd_any_nan(gk + r * n, n))
                goto failed;
        }
        xw[j] = xj;
        for (size_t i = 0; i < n; i++) {
            for (size_t r = 0; r < k; r++) v[r] = gk[r * n + i];
            hess[i * n + j] = fd_combine_one(method, 0, v, d, g0[i], DBL_EPSILON, NULL);
        }
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double s = 0.5 * (hess[i * n + j] + hess[j * n + i]);
            hess[i * n + j] = s;
            hess[j * n + i] = s;
        }
    return FG_OK;
failed:
    fd_fill_nan(hess, n * n);
    return FG_ERR_CALLBACK;
}
