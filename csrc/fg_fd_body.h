/* fg_fd_body.h: the dtype-dependent half of fg_fd.c (default steps, stencil
 * generation, combination), written once and included twice by fg_fd.c with
 * FG_T = double / float, FG_SUFFIX = f64 / f32, FG_EPS = DBL_EPSILON /
 * FLT_EPSILON. Not a public header. Function values and all combination
 * arithmetic are double in both instances: only points, steps and outputs
 * take the dtype, so a float32 x is perturbed by float32-sized steps.
 */
#define FG_CAT2(a, b) a##_##b
#define FG_CAT(a, b) FG_CAT2(a, b)
#define FG_NAME(base) FG_CAT(base, FG_SUFFIX)

double FG_NAME(fg_fd_default_scale)(fg_fd_method method)
{
    return fd_default_scale(method, (double)FG_EPS);
}

/* Validate x (finite) and steps (finite, > 0); FG_OK when both are fine. */
static fg_status FG_NAME(fd_check)(const FG_T *x, size_t n, const FG_T *steps)
{
    for (size_t j = 0; j < n; j++)
        if (!isfinite(x[j])) return FG_ERR_NONFINITE;
    if (steps)
        for (size_t j = 0; j < n; j++)
            if (!(isfinite(steps[j]) && steps[j] > 0)) return FG_ERR_ARG;
    return FG_OK;
}

fg_status FG_NAME(fg_fd_steps)(const FG_T *x, size_t n, fg_fd_method method,
                               const FG_T *steps, FG_T *h)
{
    if (fg_fd_offsets(method, 0, NULL) == 0 || (n && (!x || !h))) return FG_ERR_ARG;
    fg_status st = FG_NAME(fd_check)(x, n, steps);
    if (st != FG_OK) return st;
    const FG_T c = (FG_T)FG_NAME(fg_fd_default_scale)(method);
    for (size_t j = 0; j < n; j++) {
        FG_T ax = x[j] < 0 ? -x[j] : x[j];
        h[j] = steps ? steps[j] : c * (ax > 1 ? ax : (FG_T)1);
    }
    return FG_OK;
}

fg_status FG_NAME(fg_fd_stencil)(const FG_T *x, size_t n, fg_fd_method method, int with_error,
                                 const FG_T *steps, FG_T *points)
{
    double offs[FG_FD_MAX_OFFSETS];
    size_t k = fg_fd_offsets(method, with_error, offs);
    if (k == 0 || (n && (!x || !points))) return FG_ERR_ARG;
    fg_status st = FG_NAME(fd_check)(x, n, steps);
    if (st != FG_OK) return st;
    const FG_T c = (FG_T)FG_NAME(fg_fd_default_scale)(method);
    size_t b = (size_t)fg_fd_uses_base(method, with_error);
    if (b) memcpy(points, x, n * sizeof(FG_T));
    FG_T *row = points + b * n;
    for (size_t j = 0; j < n; j++) {
        FG_T ax = x[j] < 0 ? -x[j] : x[j];
        FG_T h = steps ? steps[j] : c * (ax > 1 ? ax : (FG_T)1);
        for (size_t r = 0; r < k; r++, row += n) {
            memcpy(row, x, n * sizeof(FG_T));
            /* offsets are powers of two, so offs[r]*h is exact; only the sum
             * rounds, and the combination divides by the rounded step. */
            row[j] = x[j] + (FG_T)offs[r] * h;
        }
    }
    return FG_OK;
}

fg_status FG_NAME(fg_fd_combine)(const FG_T *x, size_t n, fg_fd_method method, int with_error,
                                 const FG_T *points, const double *fvals, size_t p,
                                 FG_T *jac, FG_T *err)
{
    size_t k = fg_fd_offsets(method, with_error, NULL);
    if (k == 0) return FG_ERR_ARG;
    if (n == 0 || p == 0) return FG_OK;
    if (!x || !points || !fvals || !jac) return FG_ERR_ARG;
    if (err && !fd_has_error(method, with_error)) return FG_ERR_ARG;
    size_t b = (size_t)fg_fd_uses_base(method, with_error);
    double d[FG_FD_MAX_OFFSETS], v[FG_FD_MAX_OFFSETS];
    for (size_t j = 0; j < n; j++) {
        size_t row0 = b + j * k;
        for (size_t r = 0; r < k; r++)   /* exact: the difference of two FG_T in double */
            d[r] = (double)points[(row0 + r) * n + j] - (double)x[j];
        for (size_t q = 0; q < p; q++) {
            for (size_t r = 0; r < k; r++) v[r] = fvals[(row0 + r) * p + q];
            double e;
            double g = fd_combine_one(method, with_error, v, d, b ? fvals[q] : 0.0,
                                      (double)FG_EPS, err ? &e : NULL);
            jac[q * n + j] = (FG_T)g;
            if (err) err[q * n + j] = (FG_T)e;
        }
    }
    return FG_OK;
}

#undef FG_CAT2
#undef FG_CAT
#undef FG_NAME
