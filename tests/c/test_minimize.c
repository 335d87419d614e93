/* The minimize driver from C: the sized options struct, the method table,
 * argument errors that write nothing, warm starts (a split run equals the
 * whole one bit for bit; a tampered state is refused), maxfun, objective
 * errors, the poll by elapsed time. */
#include <time.h>
#include "check.h"
#include "fastgrad.h"

/* check(name, condition, why): CHECK with a message on failure */
static void check(const char *name, int ok, const char *why)
{
    if (!ok) fprintf(stderr, "%s: %s\n", name, why);
    CHECK(ok);
}

/* f = sum_i (i + 1) (x_i - 1)^2 + x_0 x_1 */
typedef struct quad_ctx {
    long calls;
    int fail_after;       /* > 0: return FG_ERR_SHAPE from this call on */
    long sleep_ns;
} quad_ctx;

static fg_status quad(const double *x, size_t n, double *f, double *g, void *ctx)
{
    quad_ctx *c = ctx;
    c->calls++;
    if (c->fail_after > 0 && c->calls >= c->fail_after) return FG_ERR_SHAPE;
    if (c->sleep_ns) {
        struct timespec ts = {0, c->sleep_ns};
        nanosleep(&ts, NULL);
    }
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        s += (double)(i + 1) * (x[i] - 1.0) * (x[i] - 1.0);
        if (g) g[i] = 2.0 * (double)(i + 1) * (x[i] - 1.0);
    }
    if (n >= 2) {
        s += x[0] * x[1];
        if (g) {
            g[0] += x[1];
            g[1] += x[0];
        }
    }
    *f = s;
    return FG_OK;
}

static fg_status quad_hess(const double *x, size_t n, double *h, void *ctx)
{
    (void)x;
    (void)ctx;
    for (size_t i = 0; i < n * n; i++) h[i] = 0.0;
    for (size_t i = 0; i < n; i++) h[i * n + i] = 2.0 * (double)(i + 1);
    if (n >= 2) h[1] = h[n] = 1.0;
    return FG_OK;
}

static int polls;
static int count_poll(const fg_minimize_state *s, void *ctx)
{
    (void)s;
    (void)ctx;
    polls++;
    return 0;
}

enum { N = 5 };

/* One run into fresh buffers; work is returned (caller frees). */
static fg_status run(fg_minimize_options *o, quad_ctx *qc, double *x, double *grad,
                     double **work_out, const double *carried, size_t carried_len,
                     fg_minimize_result *res)
{
    fg_objective obj = {quad, quad_hess, qc};
    size_t len = fg_minimize_workspace_size(N, o);
    double *work = calloc(len + 1, sizeof *work);
    if (carried) memcpy(work, carried, carried_len * sizeof *work);
    fg_status st = fg_minimize_run_f64(&obj, x, N, o, work, len, grad, res);
    *work_out = work;
    return st;
}

int main(void)
{
    fg_minimize_options o, o2;
    fg_minimize_result res;
    quad_ctx qc = {0, 0, 0};
    double x[N], grad[N], *work;
    char why[200];

    /* the sized struct */
    memset(&o, 0xAB, sizeof o);
    memcpy(&o2, &o, sizeof o);
    check("init_wrong_size", fg_minimize_options_init(&o, sizeof o - 8, FG_MIN_ADAM) == FG_ERR_ARG
          && memcmp(&o, &o2, sizeof o) == 0, "wrote into a struct of another size");
    check("init", fg_minimize_options_init(&o, sizeof o, FG_MIN_ADAM) == FG_OK
          && o.struct_size == sizeof o, "");
    check("init_unknown_method",
          fg_minimize_options_init(&o2, sizeof o2, FG_MIN_METHOD_COUNT) == FG_ERR_ARG, "");
    for (size_t i = 0; i < N; i++) x[i] = 0.5 * (double)i - 1.0;
    o.struct_size -= 8;
    double *big = calloc(10000, sizeof *big);
    fg_objective obj = {quad, NULL, &qc};
    double x_before = x[0];
    check("run_wrong_size", fg_minimize_run_f64(&obj, x, N, &o, big, 10000, grad, &res) == FG_ERR_ARG
          && x[0] == x_before && fg_minimize_workspace_size(N, &o) == 0, "");
    o.struct_size += 8;

    /* the method table */
    int names_ok = 1;
    for (int m = 0; m < FG_MIN_METHOD_COUNT; m++) {
        fg_minimize_method_info info;
        names_ok &= fg_minimize_method_info_get((fg_minimize_method)m, &info) == FG_OK
                    && info.name && info.options
                    && (info.line_searches & (1u << info.default_line_search));
    }
    fg_minimize_method_info info;
    size_t nfields = 0;
    const fg_minimize_option_field *fields = fg_minimize_option_fields(&nfields);
    check("method_table", names_ok && fg_minimize_method_info_get(FG_MIN_METHOD_COUNT, &info)
          == FG_ERR_ARG && nfields > 5 && strcmp(fields[0].name, "momentum") == 0, "");

    /* argument errors write nothing */
    fg_minimize_options_init(&o2, sizeof o2, FG_MIN_NEWTON);
    check("newton_without_hessian",
          fg_minimize_run_f64(&obj, x, N, &o2, big, 10000, grad, &res) == FG_ERR_UNSUPPORTED, "");
    double lo[N], hi[N];
    for (size_t i = 0; i < N; i++) {
        lo[i] = -1.0;
        hi[i] = 1.0;
    }
    fg_objective objh = {quad, quad_hess, &qc};
    o2.lower = lo;
    o2.upper = hi;
    check("bounds_unsupported",
          fg_minimize_run_f64(&objh, x, N, &o2, big, 10000, grad, &res) == FG_ERR_UNSUPPORTED, "");
    fg_minimize_options_init(&o2, sizeof o2, FG_MIN_GD);
    o2.lower = lo;
    o2.upper = hi;
    lo[2] = 2.0;
    check("bounds_crossed", fg_minimize_run_f64(&obj, x, N, &o2, big, 10000, grad, &res)
          == FG_ERR_ARG, "");
    lo[2] = -1.0;
    x[4] = 5.0;
    check("x0_outside", fg_minimize_run_f64(&obj, x, N, &o2, big, 10000, grad, &res)
          == FG_ERR_ARG && x[4] == 5.0, "");
    x[4] = 1.0;
    o2.lower = o2.upper = NULL;
    o2.line_search = FG_MIN_LS_WOLFE;
    check("line_search_unsupported", fg_minimize_run_f64(&obj, x, N, &o2, big, 10000, grad, &res)
          == FG_ERR_ARG, "");
    o2.line_search = FG_MIN_LS_DEFAULT;
    check("workspace_too_small", fg_minimize_run_f64(&obj, x, N, &o2, big,
          fg_minimize_workspace_size(N, &o2) - 1, grad, &res) == FG_ERR_ARG, "");
    x[0] = NAN;
    check("x0_nonfinite", fg_minimize_run_f64(&obj, x, N, &o2, big, 10000, grad, &res)
          == FG_ERR_NONFINITE, "");
    check("n_zero", fg_minimize_run_f64(&obj, NULL, 0, &o2, big, 10000, NULL, &res) == FG_OK
          && res.stop == FG_MIN_CONVERGED && res.nfev == 1, "");

    /* warm starts: 20 + 30 updates equal 50, bit for bit */
    double xa[N], xb[N], ga[N], gb[N], *wa, *wb, *ww;
    fg_minimize_result ra, rb;
    for (size_t i = 0; i < N; i++) xa[i] = xb[i] = 0.3 * (double)i - 0.7;
    fg_minimize_options_init(&o, sizeof o, FG_MIN_ADAM);
    o.lr = 1e-2;
    o.tol = 0.0;
    o.maxiter = 50;
    run(&o, &qc, xa, ga, &wa, NULL, 0, &ra);
    o.maxiter = 20;
    run(&o, &qc, xb, gb, &wb, NULL, 0, &rb);
    size_t carried = fg_minimize_state_size(N, &o);
    o.maxiter = 30;
    o.warm_start = 1;
    for (size_t i = 0; i < N; i++) xb[i] = 123.0;   /* ignored on a warm start */
    fg_status st = run(&o, &qc, xb, gb, &ww, wb, carried, &rb);
    snprintf(why, sizeof why, "st %d nit %lld/%lld", (int)st, (long long)rb.nit,
             (long long)ra.nit);
    check("warm_start_split", st == FG_OK && memcmp(xa, xb, sizeof xa) == 0
          && memcmp(ga, gb, sizeof ga) == 0 && rb.nit == ra.nit && rb.nfev == ra.nfev
          && memcmp(wa, ww, carried * sizeof *wa) == 0, why);
    /* tampered states are refused, x untouched */
    int refused = 1;
    const size_t spots[] = {0, 1, 2, 3, 4, 8, 10, 10 + N, 10 + 2 * N, 10 + 2 * N + 4};
    const double junk[] = {7.0, 2.0, 4.0, 1.0, -1.0, NAN, NAN, INFINITY, 3.0, 0.5};
    for (size_t k = 0; k < sizeof spots / sizeof spots[0]; k++) {
        double *w2;
        double saved = wb[spots[k]];
        wb[spots[k]] = junk[k];
        for (size_t i = 0; i < N; i++) xb[i] = 9.0;
        st = run(&o, &qc, xb, gb, &w2, wb, carried, &rb);
        refused &= st == FG_ERR_ARG && xb[0] == 9.0;
        if (st != FG_ERR_ARG) fprintf(stderr, "accepted a state with [%zu] = %g\n", spots[k], junk[k]);
        wb[spots[k]] = saved;
        free(w2);
    }
    check("warm_start_tampered", refused, "a tampered state ran");
    free(wa);
    free(wb);
    free(ww);

    /* maxfun and objective errors */
    fg_minimize_options_init(&o, sizeof o, FG_MIN_NEWTON);
    o.tol = 0.0;
    o.maxfun = 3;
    o.lr = 1e6;           /* Newton's backtracking needs many evaluations from here */
    for (size_t i = 0; i < N; i++) x[i] = 0.0;
    qc.calls = 0;
    run(&o, &qc, x, grad, &work, NULL, 0, &res);
    check("maxfun", res.nfev == 3 && qc.calls == 3 && res.stop == FG_MIN_MAXFUN, "");
    free(work);
    fg_minimize_options_init(&o, sizeof o, FG_MIN_GD);
    o.tol = 0.0;
    qc.calls = 0;
    qc.fail_after = 4;
    run(&o, &qc, x, grad, &work, NULL, 0, &res);
    check("objective_error", res.stop == FG_MIN_OBJECTIVE_ERROR && res.objective_status
          == FG_ERR_SHAPE && res.nit == 2 && res.nfev == 4, "");
    free(work);
    qc.fail_after = 0;

    /* the poll runs by elapsed time, not by count: 2 ms iterations, a poll
     * every 20 ms */
    fg_minimize_options_init(&o, sizeof o, FG_MIN_GD);
    o.tol = 0.0;
    o.maxiter = 100;
    o.poll = count_poll;
    o.poll_interval = 0.02;
    qc.sleep_ns = 2000000;
    polls = 0;
    run(&o, &qc, x, grad, &work, NULL, 0, &res);
    snprintf(why, sizeof why, "%d polls in 100 iterations of 2 ms", polls);
    check("poll_by_time", polls >= 3 && polls <= 40, why);
    free(work);
    free(big);
    return TEST_EXIT();
}
