/* The optimizer kernels at edge sizes: in place equals out of place bit for
 * bit, every state buffer is touched only within its n elements (ASan),
 * argument errors are reported before anything is written. */
#include "check.h"
#include "fastgrad.h"

#define TWINS(T, SUF)                                                           \
static void run_##SUF(size_t n, uint64_t *seed)                                 \
{                                                                              \
    T *p = fg_test_##SUF(n, seed, -1, 1), *q = fg_test_##SUF(n, seed, 0, 0);   \
    T *out = fg_test_##SUF(n, seed, 0, 0), *g = fg_test_##SUF(n, seed, -2, 2);  \
    T *s[8];                                                                   \
    for (int i = 0; i < 8; i++) s[i] = fg_test_##SUF(n, seed, 0, 1);           \
    T *t[8];                                                                   \
    for (int i = 0; i < 8; i++) {                                              \
        t[i] = fg_test_##SUF(n, seed, 0, 0);                                   \
        if (n) memcpy(t[i], s[i], n * sizeof(T));                              \
    }                                                                          \
    if (n) memcpy(q, p, n * sizeof(T));                                        \
    for (int64_t step = 1; step <= 3; step++) {                                \
        fg_sgd_coeffs cs;                                                      \
        CHECK_STATUS(fg_sgd_prepare(&cs, 0.1, 0.9, 0.1, 0.01, 0, 0, step), FG_OK); \
        CHECK_STATUS(fg_sgd_step_##SUF(p, g, s[0], n, &cs), FG_OK);             \
        CHECK_STATUS(fg_sgd_step_out_##SUF(q, out, g, t[0], n, &cs), FG_OK);    \
        if (n) memcpy(q, out, n * sizeof(T));                                  \
        fg_adam_coeffs ca;                                                     \
        CHECK_STATUS(fg_adam_prepare(&ca, 0.01, 0.9, 0.999, 1e-8, 0.01, 1, 0, 1, step), FG_OK); \
        CHECK_STATUS(fg_adam_step_##SUF(p, g, s[1], s[2], s[3], n, &ca), FG_OK); \
        CHECK_STATUS(fg_adam_step_out_##SUF(q, out, g, t[1], t[2], t[3], n, &ca), FG_OK); \
        if (n) memcpy(q, out, n * sizeof(T));                                  \
        fg_rmsprop_coeffs cr;                                                  \
        CHECK_STATUS(fg_rmsprop_prepare(&cr, 0.01, 0.9, 1e-8, 0.0, 0.5, 0, 1, step), FG_OK); \
        CHECK_STATUS(fg_rmsprop_step_##SUF(p, g, s[4], s[5], NULL, n, &cr), FG_OK); \
        CHECK_STATUS(fg_rmsprop_step_out_##SUF(q, out, g, t[4], t[5], NULL, n, &cr), FG_OK); \
        if (n) memcpy(q, out, n * sizeof(T));                                  \
        fg_adagrad_coeffs cg;                                                  \
        CHECK_STATUS(fg_adagrad_prepare(&cg, 0.1, 0.01, 1e-10, 0.0, 0, step), FG_OK); \
        CHECK_STATUS(fg_adagrad_step_##SUF(p, g, s[6], n, &cg), FG_OK);         \
        CHECK_STATUS(fg_adagrad_step_out_##SUF(q, out, g, t[6], n, &cg), FG_OK); \
        if (n) memcpy(q, out, n * sizeof(T));                                  \
    }                                                                          \
    CHECK(n == 0 || memcmp(p, q, n * sizeof(T)) == 0);                         \
    for (int i = 0; i < 8; i++) CHECK(n == 0 || memcmp(s[i], t[i], n * sizeof(T)) == 0); \
    CHECK(fg_all_finite_##SUF(p, n));                                          \
    free(p); free(q); free(out); free(g);                                      \
    for (int i = 0; i < 8; i++) { free(s[i]); free(t[i]); }                    \
}
#define fg_test_f64 fg_test_doubles
#define fg_test_f32 fg_test_floats
TWINS(double, f64)
TWINS(float, f32)

static void argument_errors(void)
{
    fg_sgd_coeffs cs;
    fg_adam_coeffs ca;
    CHECK_STATUS(fg_sgd_prepare(&cs, -0.1, 0, 0, 0, 0, 0, 1), FG_ERR_ARG);
    CHECK_STATUS(fg_sgd_prepare(&cs, NAN, 0, 0, 0, 0, 0, 1), FG_ERR_ARG);
    CHECK_STATUS(fg_sgd_prepare(&cs, 0.1, 0, 0, 0, 1, 0, 1), FG_ERR_ARG);   /* nesterov, no momentum */
    CHECK_STATUS(fg_sgd_prepare(&cs, 0.1, 0, 0, 0, 0, 0, 0), FG_ERR_ARG);   /* step 0 */
    CHECK_STATUS(fg_adam_prepare(&ca, 0.1, 1.0, 0.999, 1e-8, 0, 0, 0, 0, 1), FG_ERR_ARG);
    CHECK_STATUS(fg_adam_prepare(&ca, 0.1, 0.9, 0.999, -1.0, 0, 0, 0, 0, 1), FG_ERR_ARG);
    CHECK_STATUS(fg_adam_prepare(NULL, 0.1, 0.9, 0.999, 1e-8, 0, 0, 0, 0, 1), FG_ERR_ARG);
    CHECK_STATUS(fg_sgd_prepare(&cs, 0.1, 0.9, 0, 0, 0, 0, 1), FG_OK);
    double p = 1.0, g = 1.0;
    CHECK_STATUS(fg_sgd_step_f64(NULL, &g, &p, 1, &cs), FG_ERR_ARG);
    CHECK_STATUS(fg_sgd_step_f64(&p, &g, NULL, 1, &cs), FG_ERR_ARG);   /* momentum needs a buffer */
    CHECK_STATUS(fg_sgd_step_f64(NULL, NULL, NULL, 0, &cs), FG_OK);    /* n = 0: nothing to touch */
    CHECK(p == 1.0);
}

int main(void)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < FG_TEST_NSIZES; i++) {
        run_f64(FG_TEST_SIZES[i], &seed);
        run_f32(FG_TEST_SIZES[i], &seed);
    }
    argument_errors();
    return TEST_EXIT();
}
