/* The finite-difference drivers on a C callback at edge sizes: central
 * differences of a quadratic are exact up to rounding; a callback failure
 * (NaN) and bad arguments are reported, and nothing is touched past n. */
#include "check.h"
#include "fastgrad.h"

/* f(x) = sum_i (i + 1) x_i^2 / 2 + x_i, gradient (i + 1) x_i + 1 */
static double quadratic(const double *x, size_t n, void *ctx)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += 0.5 * (double)(i + 1) * x[i] * x[i] + x[i];
    return s;
}

static double fails_below_zero(const double *x, size_t n, void *ctx)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] < 0) return NAN;
    return quadratic(x, n, ctx);
}

static fg_status quadratic_value_grad(const double *x, size_t n, double *value, double *grad,
                                      void *ctx)
{
    *value = quadratic(x, n, ctx);
    if (grad)
        for (size_t i = 0; i < n; i++) grad[i] = (double)(i + 1) * x[i] + 1.0;
    return FG_OK;
}

int main(void)
{
    uint64_t seed = 7;
    const fg_fd_method methods[] = {FG_FD_FORWARD, FG_FD_BACKWARD, FG_FD_CENTRAL,
                                    FG_FD_FIVE_POINT, FG_FD_RICHARDSON};
    for (size_t si = 0; si < FG_TEST_NSIZES; si++) {
        const size_t n = FG_TEST_SIZES[si] > 65 ? 65 : FG_TEST_SIZES[si];
        double *x = fg_test_doubles(n, &seed, 0.5, 2.0), *g = fg_test_doubles(n, &seed, 0, 0);
        double *err = fg_test_doubles(n, &seed, 0, 0);
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            size_t wl = fg_fd_gradient_workspace_size(methods[m], n);
            double *work = fg_test_doubles(wl, &seed, 0, 0);
            CHECK_STATUS(fg_fd_gradient_f64(quadratic, NULL, x, n, methods[m], NULL, g, err, work),
                         FG_OK);
            if (methods[m] != FG_FD_FORWARD && methods[m] != FG_FD_BACKWARD)
                for (size_t i = 0; i < n; i++)
                    CHECK(fabs(g[i] - ((double)(i + 1) * x[i] + 1.0)) <= 1e-6 * (i + 2));
            size_t hl = fg_fd_hessian_workspace_size(methods[m], n);
            double *hw = fg_test_doubles(hl, &seed, 0, 0);
            double *h = fg_test_doubles(n * n, &seed, 0, 0);
            CHECK_STATUS(fg_fd_hessian_f64(quadratic_value_grad, NULL, x, n, methods[m], NULL, h,
                                           hw), FG_OK);
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++)
                    CHECK(fabs(h[i * n + j] - (i == j ? (double)(i + 1) : 0.0)) <= 1e-5 * (i + 2));
            free(hw);
            free(h);
            free(work);
        }
        if (n) {
            double *work = fg_test_doubles(fg_fd_gradient_workspace_size(FG_FD_CENTRAL, n), &seed,
                                           0, 0);
            x[0] = 1e-12;   /* the stencil steps below zero: the callback fails */
            CHECK_STATUS(fg_fd_gradient_f64(fails_below_zero, NULL, x, n, FG_FD_CENTRAL, NULL, g,
                                            NULL, work), FG_ERR_CALLBACK);
            CHECK(isnan(g[0]));
            x[0] = NAN;
            CHECK_STATUS(fg_fd_gradient_f64(quadratic, NULL, x, n, FG_FD_CENTRAL, NULL, g, NULL,
                                            work), FG_ERR_NONFINITE);
            CHECK_STATUS(fg_fd_gradient_f64(NULL, NULL, x, n, FG_FD_CENTRAL, NULL, g, NULL, work),
                         FG_ERR_ARG);
            free(work);
        }
        free(x);
        free(g);
        free(err);
    }
    return TEST_EXIT();
}
