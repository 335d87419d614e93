/* Every optimizer of the descriptor table (fg_optimizer.h) at edge sizes,
 * with every state buffer in use: in place equals out of place bit for bit
 * (f64 and f32), buffers are touched only within their n elements (ASan),
 * the checks of prepare and step refuse bad arguments before writing, and
 * fill is prepare without them. */
#include "check.h"
#include "fastgrad.h"

/* Hyperparameters that switch every optional state buffer on. */
static void all_state_on(const fg_optimizer *opt, double *h)
{
    fg_optimizer_defaults(opt, h);
    for (int i = 0; i < opt->n_state; i++) {
        const int k = opt->state[i].used_if;
        if (k != FG_OPTIM_NONE) h[k] = opt->hyper[k].kind == FG_HYPER_FLAG ? 1.0 : 0.5;
    }
}

#define TWINS(T, SUF, GEN)                                                     \
static void run_##SUF(const fg_optimizer *opt, size_t n, uint64_t *seed)        \
{                                                                              \
    double h[FG_OPTIM_MAX_HYPER], sa[FG_OPTIM_MAX_SCALAR], sb[FG_OPTIM_MAX_SCALAR]; \
    fg_optim_coeffs c;                                                         \
    T *p = GEN(n, seed, -1, 1), *q = GEN(n, seed, 0, 0), *out = GEN(n, seed, 0, 0); \
    T *a[FG_OPTIM_MAX_STATE], *b[FG_OPTIM_MAX_STATE];                          \
    all_state_on(opt, h);                                                      \
    for (int i = 0; i < opt->n_scalar; i++) sa[i] = sb[i] = opt->scalar[i].initial; \
    for (int i = 0; i < opt->n_state; i++) {                                   \
        a[i] = GEN(n, seed, 0, 0);                                             \
        b[i] = GEN(n, seed, 0, 0);                                             \
        for (size_t j = 0; j < n; j++)                                         \
            a[i][j] = b[i][j] = (T)fg_optimizer_state_initial(opt, h, i);      \
    }                                                                          \
    if (n) memcpy(q, p, n * sizeof(T));                                        \
    for (int64_t step = 1; step <= 3; step++) {                                \
        T *g = GEN(n, seed, -2, 2);                                            \
        CHECK_STATUS(opt->prepare(&c, h, 0.05, step, sa), FG_OK);              \
        CHECK_STATUS(opt->step_##SUF(NULL, p, g, a, n, &c), FG_OK);            \
        CHECK_STATUS(opt->prepare(&c, h, 0.05, step, sb), FG_OK);              \
        CHECK_STATUS(opt->step_##SUF(q, out, g, b, n, &c), FG_OK);             \
        if (n) memcpy(q, out, n * sizeof(T));                                  \
        free(g);                                                               \
    }                                                                          \
    CHECK(n == 0 || memcmp(p, q, n * sizeof(T)) == 0);                         \
    for (int i = 0; i < opt->n_state; i++) {                                   \
        CHECK(n == 0 || memcmp(a[i], b[i], n * sizeof(T)) == 0);               \
        free(a[i]);                                                            \
        free(b[i]);                                                            \
    }                                                                          \
    for (int i = 0; i < opt->n_scalar; i++) CHECK(sa[i] == sb[i]);             \
    CHECK(fg_all_finite_##SUF(p, n));                                          \
    free(p); free(q); free(out);                                               \
}
TWINS(double, f64, fg_test_doubles)
TWINS(float, f32, fg_test_floats)

/* fill writes what prepare writes, byte for byte (coefficients and scalar
 * state), at every step: it is prepare without the checks. */
static void fill_equals_prepare(const fg_optimizer *opt)
{
    double h[FG_OPTIM_MAX_HYPER], sa[FG_OPTIM_MAX_SCALAR], sb[FG_OPTIM_MAX_SCALAR];
    fg_optim_coeffs a, b;
    CHECK(opt->fill != NULL);
    all_state_on(opt, h);
    for (int i = 0; i < opt->n_scalar; i++) sa[i] = sb[i] = opt->scalar[i].initial;
    for (int64_t step = 1; step <= 5; step++) {
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        CHECK_STATUS(opt->prepare(&a, h, 0.05, step, sa), FG_OK);
        CHECK_STATUS(opt->fill(&b, h, 0.05, step, sb), FG_OK);
        CHECK(memcmp(&a, &b, opt->coeffs_size) == 0);
        for (int i = 0; i < opt->n_scalar; i++) CHECK(sa[i] == sb[i]);
    }
}

static void argument_errors(const fg_optimizer *opt)
{
    double h[FG_OPTIM_MAX_HYPER], sc[FG_OPTIM_MAX_SCALAR] = {0};
    fg_optim_coeffs c, before;
    memset(&c, 0x5A, sizeof c);
    memcpy(&before, &c, sizeof c);
    for (int i = 0; i < opt->n_scalar; i++) sc[i] = opt->scalar[i].initial;
    all_state_on(opt, h);
    for (int i = 0; i < opt->n_hyper; i++) {
        const double saved = h[i];
        h[i] = NAN;
        CHECK_STATUS(opt->prepare(&c, h, 0.1, 1, sc), FG_ERR_ARG);
        h[i] = opt->hyper[i].kind == FG_HYPER_FLAG ? 0.5 : -INFINITY;
        CHECK_STATUS(opt->prepare(&c, h, 0.1, 1, sc), FG_ERR_ARG);
        h[i] = saved;
    }
    CHECK_STATUS(opt->prepare(&c, h, -0.1, 1, sc), FG_ERR_ARG);   /* lr < 0 */
    CHECK_STATUS(opt->prepare(&c, h, 0.1, 0, sc), FG_ERR_ARG);    /* step 0 */
    CHECK_STATUS(opt->prepare(NULL, h, 0.1, 1, sc), FG_ERR_ARG);
    CHECK(memcmp(&c, &before, sizeof c) == 0);                     /* nothing written */
    CHECK_STATUS(opt->prepare(&c, h, 0.1, 1, sc), FG_OK);
    double p = 1.0, g = 1.0, s[FG_OPTIM_MAX_STATE];
    double *state[FG_OPTIM_MAX_STATE];
    for (int i = 0; i < opt->n_state; i++) state[i] = &s[i];
    for (int i = 0; i < opt->n_state; i++) {      /* every buffer is in use: none may be NULL */
        state[i] = NULL;
        CHECK_STATUS(opt->step_f64(NULL, &p, &g, state, 1, &c), FG_ERR_ARG);
        state[i] = &s[i];
    }
    CHECK_STATUS(opt->step_f64(NULL, NULL, &g, state, 1, &c), FG_ERR_ARG);
    CHECK_STATUS(opt->step_f64(NULL, &p, &g, NULL, 1, &c), FG_ERR_ARG);
    CHECK(p == 1.0);
    for (int i = 0; i < opt->n_state; i++) state[i] = NULL;
    CHECK_STATUS(opt->step_f64(NULL, NULL, NULL, state, 0, &c), FG_OK);   /* n = 0 */
}

int main(void)
{
    uint64_t seed = 0x2545f4914f6cdd1dULL;
    CHECK(fg_optimizer_get(FG_OPTIM_COUNT) == NULL && fg_optimizer_get(-1) == NULL);
    CHECK(fg_optimizer_find("no such optimizer") == NULL && fg_optimizer_find(NULL) == NULL);
    for (int k = 0; k < FG_OPTIM_COUNT; k++) {
        const fg_optimizer *opt = fg_optimizer_get(k);
        CHECK(opt && (int)opt->kind == k && fg_optimizer_find(opt->name) == opt);
        CHECK(opt->n_hyper <= FG_OPTIM_MAX_HYPER && opt->n_state <= FG_OPTIM_MAX_STATE
              && opt->n_scalar <= FG_OPTIM_MAX_SCALAR && opt->coeffs_size <= FG_OPTIM_COEFFS_BYTES);
        for (size_t i = 0; i < FG_TEST_NSIZES; i++) {
            run_f64(opt, FG_TEST_SIZES[i], &seed);
            run_f32(opt, FG_TEST_SIZES[i], &seed);
        }
        fill_equals_prepare(opt);
        argument_errors(opt);
    }
    return TEST_EXIT();
}
