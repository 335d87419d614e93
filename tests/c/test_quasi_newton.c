/* The quasi-Newton rows of the minimize table from C, in workspaces of
 * exactly the size asked for (so the sanitizers see any overrun): lbfgs
 * (with and without bounds, several memories), bfgs, cg and newton-cg (with
 * and without an hvp callback) at edge sizes, to convergence; iterates in
 * the box; a split run equal to the whole one bit for bit; maxfun; a
 * region where f is NaN; bad options refused. */
#include "check.h"
#include "fastgrad.h"

/* Chained Rosenbrock for n >= 2, (x - 1)^2 for n = 1; NaN where x_0 < -5 */
static fg_status rosen(const double *x, size_t n, double *f, double *g, void *ctx)
{
    long *calls = ctx;
    if (calls) (*calls)++;
    double s = 0.0;
    if (g)
        for (size_t i = 0; i < n; i++) g[i] = 0.0;
    if (n == 1) {
        s = (x[0] - 1.0) * (x[0] - 1.0);
        if (g) g[0] = 2.0 * (x[0] - 1.0);
    }
    for (size_t i = 0; i + 1 < n; i++) {
        const double t = x[i + 1] - x[i] * x[i], u = 1.0 - x[i];
        s += 100.0 * t * t + u * u;
        if (g) {
            g[i] += -400.0 * x[i] * t - 2.0 * u;
            g[i + 1] += 200.0 * t;
        }
    }
    *f = n && x[0] < -5.0 ? NAN : s;
    return FG_OK;
}

static fg_status rosen_hvp(const double *x, const double *v, size_t n, double *hv, void *ctx)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) hv[i] = 0.0;
    if (n == 1) hv[0] = 2.0 * v[0];
    for (size_t i = 0; i + 1 < n; i++) {
        const double hii = 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0, hij = -400.0 * x[i];
        hv[i] += hii * v[i] + hij * v[i + 1];
        hv[i + 1] += hij * v[i] + 200.0 * v[i + 1];
    }
    return FG_OK;
}

typedef struct case_ {
    fg_minimize_method method;
    int bounded, with_hvp;
    int64_t m;
} case_;

/* One run from x0 = (-1.2, 1, -1.2, ...) (or the saved state) in a workspace
 * of exactly fg_minimize_workspace_size doubles, freed before returning
 * except for the carried part copied into saved (when not NULL). */
static fg_status run(const case_ *c, size_t n, int64_t maxiter, int64_t maxfun,
                     const double *state, double *saved, double *x, double *grad,
                     double *lo, double *hi, fg_minimize_result *res)
{
    fg_minimize_options o;
    CHECK_STATUS(fg_minimize_options_init(&o, sizeof o, c->method), FG_OK);
    o.tol = 1e-7;
    o.ftol = 0.0;
    o.maxiter = maxiter;
    if (maxfun) o.maxfun = maxfun;
    o.lbfgs_m = c->m;
    if (c->with_hvp) o.hvp = rosen_hvp;
    for (size_t i = 0; i < n; i++) {
        x[i] = i % 2 ? 1.0 : -1.2;
        lo[i] = i % 3 == 0 ? -INFINITY : -0.5;
        hi[i] = i % 3 == 1 ? INFINITY : 0.9;
    }
    if (c->bounded) {
        o.lower = lo;
        o.upper = hi;
        for (size_t i = 0; i < n; i++) x[i] = fmin(fmax(x[i], lo[i]), hi[i]);
    }
    const size_t len = fg_minimize_workspace_size(n, &o), carried = fg_minimize_state_size(n, &o);
    CHECK(len > 0 && carried > 0 && carried <= len);
    double *work = malloc(len * sizeof *work);
    if (state) {
        memcpy(work, state, carried * sizeof *work);
        o.warm_start = 1;
    }
    fg_objective obj = {rosen, NULL, NULL};
    fg_status st = fg_minimize_run_f64(&obj, n ? x : NULL, n, &o, work, len, n ? grad : NULL,
                                       res);
    if (saved) memcpy(saved, work, carried * sizeof *work);
    free(work);
    return st;
}

int main(void)
{
    static const case_ cases[] = {
        {FG_MIN_LBFGS, 0, 0, 10}, {FG_MIN_LBFGS, 0, 0, 1}, {FG_MIN_LBFGS, 1, 0, 10},
        {FG_MIN_LBFGS, 1, 0, 2},  {FG_MIN_BFGS, 0, 0, 10}, {FG_MIN_CG, 0, 0, 10},
        {FG_MIN_NEWTON_CG, 0, 0, 10}, {FG_MIN_NEWTON_CG, 0, 1, 10},
    };
    static const size_t sizes[] = {0, 1, 2, 3, 7, 17};
    enum { NMAX = 17 };
    double x[NMAX], g[NMAX], lo[NMAX], hi[NMAX], x2[NMAX], g2[NMAX];
    fg_minimize_result res, res2;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const case_ *c = &cases[k];
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            const size_t n = sizes[s];
            CHECK_STATUS(run(c, n, 20000, 0, NULL, NULL, x, g, lo, hi, &res), FG_OK);
            /* to the minimum (ones), or with bounds to a KKT point in the box */
            if (!(res.stop == FG_MIN_CONVERGED || res.stop == FG_MIN_FTOL))
                fprintf(stderr, "case %zu n %zu: stop %d\n", k, n, (int)res.stop);
            CHECK(res.stop == FG_MIN_CONVERGED || res.stop == FG_MIN_FTOL);
            CHECK(res.grad_norm <= 1e-5);
            for (size_t i = 0; i < n; i++) {
                if (c->bounded) CHECK(x[i] >= lo[i] && x[i] <= hi[i]);
                else CHECK(fabs(x[i] - 1.0) < 1e-5);
            }
            if (n < 3) continue;
            /* warm start: 6 + the rest equals the whole run bit for bit */
            const case_ *cc = c;
            fg_minimize_options o;
            fg_minimize_options_init(&o, sizeof o, c->method);
            o.lbfgs_m = c->m;
            if (c->bounded) {
                o.lower = lo;
                o.upper = hi;
            }
            const size_t carried = fg_minimize_state_size(n, &o);
            double *saved = malloc(carried * sizeof *saved);
            run(cc, n, 15, 0, NULL, NULL, x, g, lo, hi, &res);
            run(cc, n, 6, 0, NULL, saved, x2, g2, lo, hi, &res2);
            CHECK_STATUS(run(cc, n, 9, 0, saved, NULL, x2, g2, lo, hi, &res2), FG_OK);
            CHECK(res2.nit == res.nit && res2.nfev == res.nfev && res2.nhev == res.nhev);
            CHECK(memcmp(x, x2, n * sizeof *x) == 0 && memcmp(g, g2, n * sizeof *g) == 0);
            free(saved);
            /* maxfun: never more evaluations */
            for (int64_t mf = 1; mf <= 9; mf += 4) {
                run(cc, n, 1000, mf, NULL, NULL, x, g, lo, hi, &res);
                CHECK(res.nfev == mf && res.stop == FG_MIN_MAXFUN);
            }
        }
    }
    /* f is NaN where x_0 < -5: from x_0 = -4.9 the iterates stay finite */
    {
        fg_minimize_options o;
        fg_minimize_options_init(&o, sizeof o, FG_MIN_LBFGS);
        o.ftol = 0.0;
        double xx[2] = {-4.9, 20.0}, gg[2];
        const size_t len = fg_minimize_workspace_size(2, &o);
        double *work = malloc(len * sizeof *work);
        fg_objective obj = {rosen, NULL, NULL};
        CHECK_STATUS(fg_minimize_run_f64(&obj, xx, 2, &o, work, len, gg, &res), FG_OK);
        CHECK(isfinite(res.f) && isfinite(xx[0]) && isfinite(xx[1]) && res.f < 1e-10);
        free(work);
    }
    /* bad options: refused, nothing written */
    {
        fg_minimize_options o;
        fg_minimize_options_init(&o, sizeof o, FG_MIN_LBFGS);
        o.lbfgs_m = 0;
        CHECK(fg_minimize_workspace_size(4, &o) == 0);
        o.lbfgs_m = 1001;
        CHECK(fg_minimize_workspace_size(4, &o) == 0);
        o.lbfgs_m = 10;
        double xx[4] = {1, 2, 3, 4}, gg[4], work[8];
        fg_objective obj = {rosen, NULL, NULL};
        CHECK_STATUS(fg_minimize_run_f64(&obj, xx, 4, &o, work, 8, gg, &res), FG_ERR_ARG);
        CHECK(xx[0] == 1.0 && xx[3] == 4.0);
        fg_minimize_options_init(&o, sizeof o, FG_MIN_BFGS);
        o.lower = xx;
        o.upper = xx;
        CHECK(fg_minimize_workspace_size((size_t)1 << 40, &o) == 0);   /* n^2 overflows */
        const size_t len = fg_minimize_workspace_size(4, &o);
        double *w = malloc(len * sizeof *w);
        CHECK_STATUS(fg_minimize_run_f64(&obj, xx, 4, &o, w, len, gg, &res), FG_ERR_UNSUPPORTED);
        free(w);
        fg_minimize_options_init(&o, sizeof o, FG_MIN_NEWTON_CG);
        o.lr = 0.0;
        CHECK(fg_minimize_workspace_size(4, &o) > 0);
        w = malloc(fg_minimize_workspace_size(4, &o) * sizeof *w);
        CHECK_STATUS(fg_minimize_run_f64(&obj, xx, 4, &o, w, fg_minimize_workspace_size(4, &o),
                                         gg, &res), FG_ERR_ARG);
        free(w);
    }
    return TEST_EXIT();
}
