/* The dual and hyper-dual kernels (fg_dual.h, generated from every row of
 * fg_ops.def) at edge sizes and direction counts: in place equals out of
 * place bit for bit, a hyper-dual row's e1 parts equal the dual tangent,
 * every buffer is touched only within its extent (ASan), the NaN-safe
 * product, and argument errors. */
#include "check.h"
#include "fastgrad.h"

static int same(const void *a, const void *b, size_t bytes)
{
    return bytes == 0 || memcmp(a, b, bytes) == 0;
}

#define TWINS(T, SUF, ALLOC)                                                                   \
static void unary_##ALLOC(int op, size_t n, size_t k, uint64_t *seed)                    \
{                                                                                       \
    const size_t m = 2 * k + 1;                                                         \
    T *x = fg_test_##ALLOC(n, seed, 0.2, 0.9), *t = fg_test_##ALLOC(n * m, seed, -1, 1);    \
    T *y = fg_test_##ALLOC(n, seed, 0, 0), *ty = fg_test_##ALLOC(n * m, seed, 0, 0);        \
    T *x2 = fg_test_##ALLOC(n, seed, 0, 0), *t2 = fg_test_##ALLOC(n * m, seed, 0, 0);       \
    T *hy = fg_test_##ALLOC(n, seed, 0, 0), *hty = fg_test_##ALLOC(n * m, seed, 0, 0);      \
    CHECK_STATUS(fg_dual_unary_##SUF(op, n, k, x, t, y, ty), FG_OK);                    \
    if (n) { memcpy(x2, x, n * sizeof(T)); memcpy(t2, t, n * k * sizeof(T)); }          \
    CHECK_STATUS(fg_dual_unary_##SUF(op, n, k, x2, t2, x2, t2), FG_OK);                 \
    CHECK(same(x2, y, n * sizeof(T)) && same(t2, ty, n * k * sizeof(T)));               \
    /* hyper-dual: rows [t | c | d] with t the dual tangent's rows */                    \
    for (size_t i = 0; i < n; i++)                                                      \
        for (size_t j = 0; j < k; j++) t2[i * m + j] = t[i * k + j];                    \
    for (size_t i = 0; i < n; i++) { t2[i * m + k] = t[i]; for (size_t j = 0; j < k; j++) \
        t2[i * m + k + 1 + j] = 0; }                                                    \
    CHECK_STATUS(fg_hdual_unary_##SUF(op, n, k, x, t2, hy, hty), FG_OK);                \
    CHECK(same(hy, y, n * sizeof(T)));                                                  \
    for (size_t i = 0; i < n; i++) CHECK(same(hty + i * m, ty + i * k, k * sizeof(T))); \
    CHECK_STATUS(fg_hdual_unary_##SUF(op, n, k, x, t2, x2, t2), FG_OK);                 \
    CHECK(same(t2, hty, n * m * sizeof(T)));                                            \
    free(x); free(t); free(y); free(ty); free(x2); free(t2); free(hy); free(hty);        \
}                                                                                       \
                                                                                        \
static void binary_##ALLOC(int op, size_t n, size_t k, size_t a_inc, size_t b_inc,       \
                         uint64_t *seed)                                                \
{                                                                                       \
    const size_t na = a_inc ? n : 1, nb = b_inc ? n : 1, m = 2 * k + 1;                 \
    T *a = fg_test_##ALLOC(na, seed, 0.2, 0.9), *ta = fg_test_##ALLOC(na * m, seed, -1, 1); \
    T *b = fg_test_##ALLOC(nb, seed, 0.3, 1.1), *tb = fg_test_##ALLOC(nb * m, seed, -1, 1); \
    T *y = fg_test_##ALLOC(n, seed, 0, 0), *ty = fg_test_##ALLOC(n * m, seed, 0, 0);        \
    T *y1 = fg_test_##ALLOC(n, seed, 0, 0), *ty1 = fg_test_##ALLOC(n * m, seed, 0, 0);      \
    CHECK_STATUS(fg_dual_binary_##SUF(op, n, k, a, ta, a_inc, b, tb, b_inc, y, ty), FG_OK); \
    /* a constant b: the a-only pattern; its tangent is the first term */                \
    CHECK_STATUS(fg_dual_binary_##SUF(op, n, k, a, ta, a_inc, b, NULL, b_inc, y1, ty1), FG_OK); \
    CHECK(same(y1, y, n * sizeof(T)));                                                  \
    CHECK_STATUS(fg_hdual_binary_##SUF(op, n, k, a, ta, a_inc, b, tb, b_inc, y1, ty1), FG_OK); \
    CHECK(same(y1, y, n * sizeof(T)));                                                  \
    CHECK_STATUS(fg_hdual_binary_##SUF(op, n, k, a, NULL, a_inc, b, NULL, b_inc, y1, ty1), FG_OK); \
    for (size_t i = 0; i < n * m; i++) CHECK(ty1[i] == 0);                              \
    if (a_inc) { /* in place over a */                                                  \
        CHECK_STATUS(fg_dual_binary_##SUF(op, n, k, a, ta, 1, b, tb, b_inc, a, ta), FG_OK); \
        CHECK(same(a, y, n * sizeof(T)) && same(ta, ty, n * k * sizeof(T)));            \
    }                                                                                   \
    free(a); free(ta); free(b); free(tb); free(y); free(ty); free(y1); free(ty1);        \
}
TWINS(double, f64, doubles)
TWINS(float, f32, floats)

static void nan_safe(void)
{
    /* sqrt at 0 has the slope inf: it reaches only the direction moving x */
    const double x[2] = {0.0, 4.0}, t[4] = {1.0, 0.0, 0.0, 1.0};
    double y[2], ty[4];
    CHECK_STATUS(fg_dual_unary_f64(FG_OP_sqrt, 2, 2, x, t, y, ty), FG_OK);
    CHECK(isinf(ty[0]) && ty[1] == 0 && ty[2] == 0 && ty[3] == 0.25);
    /* a zero partial (multiply by a zero constant) never meets an inf tangent as NaN */
    const double inf_t[2] = {INFINITY, 1.0}, zero = 0.0;
    CHECK_STATUS(fg_dual_binary_f64(FG_OP_multiply, 1, 2, &zero, NULL, 0, &x[1], inf_t, 0,
                                    y, ty), FG_OK);
    CHECK(ty[0] == 0 && ty[1] == 0);
    const double h[3] = {1.0, 0.0, 0.0};   /* e1 moves x, e2 does not */
    double hy, hty[3];
    CHECK_STATUS(fg_hdual_unary_f64(FG_OP_sqrt, 1, 1, x, h, &hy, hty), FG_OK);
    CHECK(isinf(hty[0]) && hty[1] == 0 && hty[2] == 0);
}

static void errors(void)
{
    double v = 1, t = 1, y, ty;
    CHECK_STATUS(fg_dual_unary_f64(FG_OP_less, 1, 1, &v, &t, &y, &ty), FG_ERR_UNSUPPORTED);
    CHECK_STATUS(fg_dual_unary_f64(FG_OP_add, 1, 1, &v, &t, &y, &ty), FG_ERR_UNSUPPORTED);
    CHECK_STATUS(fg_dual_binary_f64(FG_OP_sin, 1, 1, &v, &t, 1, &v, &t, 1, &y, &ty),
                 FG_ERR_UNSUPPORTED);
    CHECK_STATUS(fg_dual_unary_f64(-1, 1, 1, &v, &t, &y, &ty), FG_ERR_UNSUPPORTED);
    CHECK_STATUS(fg_hdual_unary_f64(FG_OP_COUNT, 0, 1, NULL, NULL, NULL, NULL),
                 FG_ERR_UNSUPPORTED);
    CHECK_STATUS(fg_dual_binary_f64(FG_OP_add, 1, 1, &v, &t, 2, &v, &t, 1, &y, &ty), FG_ERR_ARG);
    CHECK_STATUS(fg_dual_unary_f64(FG_OP_sin, 1, 1, NULL, &t, &y, &ty), FG_ERR_ARG);
    CHECK_STATUS(fg_hdual_binary_f64(FG_OP_add, 1, 0, &v, &t, 1, &v, NULL, 1, &y, NULL),
                 FG_ERR_ARG);
    CHECK_STATUS(fg_dual_unary_f64(FG_OP_sin, (size_t)1 << 62, 8, &v, &t, &y, &ty), FG_ERR_ARG);
    CHECK_STATUS(fg_dual_unary_f64(FG_OP_sin, 0, 3, NULL, NULL, NULL, NULL), FG_OK);
}

int main(void)
{
    uint64_t seed = 20260101;
    for (int op = 0; op < FG_OP_COUNT; op++) {
        const fg_op_info *info = fg_op_get_info(op);
        CHECK(info != NULL && info->name && info->module);
        if (!info) continue;
        for (size_t s = 0; s < FG_TEST_NSIZES; s++)
            for (size_t k = 0; k <= 3; k++) {
                const size_t n = FG_TEST_SIZES[s];
                if (info->kind == FG_OP_KIND_UNARY) {
                    unary_doubles(op, n, k, &seed);
                    unary_floats(op, n, k, &seed);
                } else if (info->kind == FG_OP_KIND_BINARY) {
                    for (size_t inc = 0; inc < 3; inc++) {
                        binary_doubles(op, n, k, inc != 1, inc != 2, &seed);
                        binary_floats(op, n, k, inc != 1, inc != 2, &seed);
                    }
                }
            }
    }
    CHECK(fg_op_get_info(FG_OP_COUNT) == NULL && fg_op_get_info(-1) == NULL);
    nan_safe();
    errors();
    return TEST_EXIT();
}
