/* The baseline the issue asks us to match: the plainest C Adam loop,
 * compiled by bench/conftest.py with -O3 -march=native for this machine. */
#include <math.h>
#include <stddef.h>

void plain_adam_f64(double *restrict p, const double *restrict g, double *restrict m,
                    double *restrict v, size_t n, double b1, double b2, double eps,
                    double step_size, double bc2_sqrt)
{
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        p[i] -= step_size * m[i] / (sqrt(v[i]) / bc2_sqrt + eps);
    }
}
