/* minimize's first-order methods (fg_min_first_order.c, one per optimizer
 * descriptor) at edge sizes, with and without bounds, every optional state
 * buffer in use: the run stays inside a workspace of exactly
 * fg_minimize_workspace_size doubles and the caller's n-element arrays
 * (ASan), iterates stay in the box, and a run split by a warm start equals
 * the whole run bit for bit. */
#include "check.h"
#include "fastgrad.h"

enum { UPDATES = 10, FIRST = 4 };

/* f = sum c_i (x_i - t_i)^2 with c_i in [0.5, 2.5], t_i in [-2, 2]. */
static fg_status quad(const double *x, size_t n, double *f, double *g, void *ctx)
{
    const double *ct = ctx;   /* c[0..n), t[0..n) */
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = x[i] - ct[n + i];
        s += ct[i] * d * d;
        g[i] = 2.0 * ct[i] * d;
    }
    *f = s;
    return FG_OK;
}

static int reads(const fg_minimize_method_info *info, const char *name)
{
    for (const char *const *o = info->options; *o; o++)
        if (strcmp(*o, name) == 0) return 1;
    return 0;
}

/* Runs maxiter updates from x (a warm start from state when given) in a
 * fresh heap workspace of exactly the size asked for; returns it. */
static double *run(fg_minimize_options *o, const fg_objective *obj, double *x, double *g,
                   size_t n, int64_t maxiter, const double *state, fg_minimize_result *res)
{
    const size_t len = fg_minimize_workspace_size(n, o), carried = fg_minimize_state_size(n, o);
    double *work = malloc((len ? len : 1) * sizeof *work);
    if (!work) abort();
    CHECK(len > 0 && carried <= len);
    o->maxiter = maxiter;
    o->warm_start = state != NULL;
    if (state) memcpy(work, state, carried * sizeof *work);
    CHECK_STATUS(fg_minimize_run_f64(obj, x, n, o, work, len, g, res), FG_OK);
    return work;
}

static void method_at(fg_minimize_method m, size_t n, int bounded, uint64_t *seed)
{
    fg_minimize_method_info info;
    fg_minimize_options o;
    fg_minimize_result whole, split;
    double *ct = fg_test_doubles(2 * n, seed, -2.0, 2.0);
    for (size_t i = 0; i < n; i++) ct[i] = 1.5 + 0.5 * ct[i];
    double *lo = fg_test_doubles(n, seed, -1.0, -0.5), *hi = fg_test_doubles(n, seed, 0.5, 1.0);
    double *x0 = fg_test_doubles(n, seed, -0.5, 0.5);
    double *xa = fg_test_doubles(n, seed, 0, 0), *xb = fg_test_doubles(n, seed, 0, 0);
    double *ga = fg_test_doubles(n, seed, 0, 0), *gb = fg_test_doubles(n, seed, 0, 0);
    fg_objective obj = {quad, NULL, ct};
    fg_minimize_method_info_get(m, &info);
    CHECK_STATUS(fg_minimize_options_init(&o, sizeof o, m), FG_OK);
    o.lr = 0.05;
    o.tol = 0.0;
    if (reads(&info, "amsgrad")) o.amsgrad = 1;
    if (reads(&info, "centered")) o.centered = 1;
    if (reads(&info, "momentum")) o.momentum = 0.5;
    if (reads(&info, "weight_decay")) o.weight_decay = 0.01;
    if (bounded) {
        o.lower = lo;
        o.upper = hi;
    }
    if (n) {
        memcpy(xa, x0, n * sizeof *xa);
        memcpy(xb, x0, n * sizeof *xb);
    }
    double *wa = run(&o, &obj, xa, ga, n, UPDATES, NULL, &whole);
    double *wb = run(&o, &obj, xb, gb, n, FIRST, NULL, &split);
    for (size_t i = 0; i < n; i++) xb[i] = 123.0;   /* a warm start ignores x */
    double *wc = run(&o, &obj, xb, gb, n, UPDATES - FIRST, wb, &split);
    /* every update is taken unless the (projected) gradient is exactly 0:
     * at once for n = 0, at a corner of the box for a bounded run */
    const int done = whole.nit == UPDATES || whole.stop == FG_MIN_CONVERGED;
    if (!done || split.nit != whole.nit)
        fprintf(stderr, "%s n=%zu bounded=%d: nit %lld and %lld\n", info.name, n, bounded,
                (long long)whole.nit, (long long)split.nit);
    CHECK(done && split.nit == whole.nit && split.nfev == whole.nfev && split.stop == whole.stop);
    CHECK(n == 0 || (memcmp(xa, xb, n * sizeof *xa) == 0 && memcmp(ga, gb, n * sizeof *ga) == 0));
    CHECK(memcmp(wa, wc, fg_minimize_state_size(n, &o) * sizeof *wa) == 0);
    for (size_t i = 0; i < n; i++) CHECK(!bounded || (lo[i] <= xa[i] && xa[i] <= hi[i]));
    free(wa); free(wb); free(wc);
    free(ct); free(lo); free(hi); free(x0); free(xa); free(xb); free(ga); free(gb);
}

int main(void)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    int methods = 0;
    for (int m = 0; m < FG_MIN_METHOD_COUNT; m++) {
        fg_minimize_method_info info;
        CHECK_STATUS(fg_minimize_method_info_get((fg_minimize_method)m, &info), FG_OK);
        /* the first-order methods: plain steps, no second-order information */
        if (info.default_line_search != FG_MIN_LS_NONE || (info.needs & FG_MIN_NEEDS_HESSIAN))
            continue;
        methods++;
        CHECK(info.supports_bounds);
        for (size_t i = 0; i < FG_TEST_NSIZES; i++) {
            method_at((fg_minimize_method)m, FG_TEST_SIZES[i], 0, &seed);
            method_at((fg_minimize_method)m, FG_TEST_SIZES[i], 1, &seed);
        }
    }
    CHECK(methods == 9);   /* gd, momentum, nesterov and one per other optimizer */
    return TEST_EXIT();
}
