/* fg_minimize_many_run_f64 from C: every problem equals fg_minimize_run_f64
 * alone bit for bit, for every method and any number of workers;
 * per-problem data through the select hook (and fg_minimize_many_data's
 * blocks of rows for a minibatch objective); per-problem bounds; warm
 * starts; failures confined to their problem; evaluations counted exactly;
 * argument errors that write nothing; the poll stops every thread. */
#include <time.h>
#include "check.h"
#include "fastgrad.h"

enum { K = 9, N = 3, MAXW = 5 };

/* f = sum_i w_i (x_i - c_i)^4 + (x_i - c_i)^2 + x_0 x_1 / 4, with c the
 * problem's row of data (the select hook points at it). */
typedef struct worker_ctx {
    const double *data;      /* K*N centres */
    const double *c;         /* the current problem's */
    long calls;
    int fail_problem;        /* this problem's evaluations fail (-1: none) */
    size_t problem;
    long sleep_ns;
} worker_ctx;

static fg_status quartic(const double *x, size_t n, double *f, double *g, void *ctx)
{
    worker_ctx *w = ctx;
    w->calls++;
    if ((int)w->problem == w->fail_problem) return FG_ERR_SHAPE;
    if (w->sleep_ns) {
        struct timespec ts = {0, w->sleep_ns};
        nanosleep(&ts, NULL);
    }
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = x[i] - w->c[i], wi = (double)(i + 1);
        s += wi * d * d * d * d + d * d;
        if (g) g[i] = 4.0 * wi * d * d * d + 2.0 * d;
    }
    s += 0.25 * x[0] * x[1];
    if (g) {
        g[0] += 0.25 * x[1];
        g[1] += 0.25 * x[0];
    }
    *f = s;
    return FG_OK;
}

static fg_status quartic_hess(const double *x, size_t n, double *h, void *ctx)
{
    worker_ctx *w = ctx;
    for (size_t i = 0; i < n * n; i++) h[i] = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = x[i] - w->c[i];
        h[i * n + i] = 12.0 * (double)(i + 1) * d * d + 2.0;
    }
    h[1] = h[n] = 0.25;
    return FG_OK;
}

static fg_status select_problem(size_t problem, void *ctx)
{
    worker_ctx *w = ctx;
    w->problem = problem;
    w->c = w->data + problem * N;
    return problem == 4 && w->fail_problem == -2 ? FG_ERR_UNSUPPORTED : FG_OK;
}

static int polls;
static int stop_after_two(size_t done, size_t k, void *ctx)
{
    (void)done;
    (void)k;
    (void)ctx;
    return ++polls >= 2;
}

static int same_bits(const void *a, const void *b, size_t bytes)
{
    return memcmp(a, b, bytes) == 0;
}

static int same_result(const fg_minimize_result *a, const fg_minimize_result *b)
{
    return same_bits(&a->f, &b->f, sizeof a->f) && same_bits(&a->grad_norm, &b->grad_norm, 8)
        && a->nit == b->nit && a->nfev == b->nfev && a->njev == b->njev && a->nhev == b->nhev
        && a->stop == b->stop && a->objective_status == b->objective_status;
}

/* Problem i alone through fg_minimize_run_f64. */
static long alone(fg_minimize_options *o, const double *data, size_t i, const double *x0,
                  double *x, double *g, double *state, fg_minimize_result *r, int fail)
{
    worker_ctx w = {data, data + i * N, 0, fail, i, 0};
    fg_objective obj = {quartic, quartic_hess, &w};
    size_t len = fg_minimize_workspace_size(N, o);
    double *work = calloc(len, sizeof *work);
    if (state) memcpy(work, state, fg_minimize_state_size(N, o) * sizeof *work);
    memcpy(x, x0, N * sizeof *x);
    CHECK_STATUS(fg_minimize_run_f64(&obj, x, N, o, work, len, g, r), FG_OK);
    if (state) memcpy(state, work, fg_minimize_state_size(N, o) * sizeof *work);
    free(work);
    return w.calls;
}

typedef struct batch {
    worker_ctx ctx[MAXW];
    fg_minimize_worker workers[MAXW];
    double x[K * N], g[K * N];
    fg_minimize_result res[K];
    double *work;
    size_t work_len;
} batch;

static fg_status run_batch(batch *b, size_t nworkers, const double *data, const double *x0,
                           const fg_minimize_options *o, const fg_minimize_many_options *m,
                           int fail)
{
    for (size_t w = 0; w < MAXW; w++) {
        b->ctx[w] = (worker_ctx){data, data, 0, fail, 0, 0};
        b->workers[w] = (fg_minimize_worker){{quartic, quartic_hess, &b->ctx[w]}, NULL, NULL,
                                             select_problem, &b->ctx[w]};
    }
    memcpy(b->x, x0, sizeof b->x);
    b->work_len = fg_minimize_many_workspace_size(N, o, nworkers);
    b->work = calloc(b->work_len ? b->work_len : 1, sizeof *b->work);
    return fg_minimize_many_run_f64(b->workers, nworkers, b->x, K, N, o, m, b->work,
                                    b->work_len, b->g, b->res);
}

static long total_calls(const batch *b)
{
    long s = 0;
    for (size_t w = 0; w < MAXW; w++) s += b->ctx[w].calls;
    return s;
}

/* A minibatch objective: the line fit sum_r (x0 + x1 t_r - y_r)^2 + x0^4
 * on `rows` rows of t and y (data[0], data[1]). */
static fg_status line_fit(const double *x, size_t n, const void *const *data, size_t rows,
                          double *f, double *g, void *ctx)
{
    long *calls = ctx;
    ++*calls;
    if (n != 2) return FG_ERR_SHAPE;
    const double *t = data[0], *y = data[1];
    double s = x[0] * x[0] * x[0] * x[0], g0 = 4.0 * x[0] * x[0] * x[0], g1 = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const double e = x[0] + x[1] * t[r] - y[r];
        s += e * e;
        g0 += 2.0 * e;
        g1 += 2.0 * e * t[r];
    }
    *f = s;
    if (g) {
        g[0] = g0;
        g[1] = g1;
    }
    return FG_OK;
}

/* Problem i's blocks bound by hand: what fg_minimize_many_data gives. */
typedef struct line_alone {
    fg_batch_objective *b;
    const void *blocks[2];
    size_t rows;
} line_alone;

static fg_status line_alone_value_grad(const double *x, size_t n, double *f, double *g,
                                       void *ctx)
{
    line_alone *a = ctx;
    return a->b->value_grad(x, n, a->blocks, a->rows, f, g, a->b->ctx);
}

static void test_per_problem_data(void)
{
    enum { ROWS = 6, W = 3 };
    double t[K * ROWS], y[K * ROWS], x0[K * 2] = {0}, x[K * 2], g[K * 2];
    for (size_t i = 0; i < K * ROWS; i++) {
        t[i] = (double)(i % ROWS) * 0.5;
        y[i] = 1.0 + (double)(i / ROWS) * t[i] + 0.1 * (double)((i * 7) % 5);
    }
    const size_t row_bytes[2] = {sizeof(double), sizeof(double)};
    long calls[W] = {0};
    fg_batch_objective batch[W];
    fg_minimize_many_data bind[W];
    const void *current[W][2];
    const void *bases[2] = {t, y};
    fg_minimize_worker workers[W];
    for (size_t w = 0; w < W; w++) {
        batch[w] = (fg_batch_objective){line_fit, &calls[w], 2, 2, row_bytes};
        bind[w] = (fg_minimize_many_data){&batch[w], bases, ROWS, current[w]};
        workers[w] = (fg_minimize_worker){{fg_minimize_many_data_value_grad, NULL, &bind[w]},
                                          NULL, NULL, fg_minimize_many_data_select, &bind[w]};
    }
    fg_minimize_options o;
    fg_minimize_options_init(&o, sizeof o, FG_MIN_LBFGS);
    fg_minimize_result res[K], r;
    size_t len = fg_minimize_many_workspace_size(2, &o, W);
    double *work = calloc(len, sizeof *work);
    memcpy(x, x0, sizeof x);
    CHECK_STATUS(fg_minimize_many_run_f64(workers, W, x, K, 2, &o, NULL, work, len, g, res),
                 FG_OK);
    long one = 0;
    fg_batch_objective b1 = {line_fit, &one, 2, 2, row_bytes};
    size_t len1 = fg_minimize_workspace_size(2, &o);
    double *work1 = calloc(len1, sizeof *work1);
    for (size_t i = 0; i < K; i++) {
        line_alone a = {&b1, {t + i * ROWS, y + i * ROWS}, ROWS};
        fg_objective obj = {line_alone_value_grad, NULL, &a};
        double xi[2] = {0.0, 0.0}, gi[2];
        CHECK_STATUS(fg_minimize_run_f64(&obj, xi, 2, &o, work1, len1, gi, &r), FG_OK);
        CHECK(same_result(&r, &res[i]) && same_bits(xi, x + 2 * i, sizeof xi)
              && same_bits(gi, g + 2 * i, sizeof gi) && r.nit > 0);
    }
    CHECK(calls[0] + calls[1] + calls[2] == one);
    /* a block past SIZE_MAX bytes is refused at selection */
    CHECK_STATUS(fg_minimize_many_data_select(SIZE_MAX / 8, &bind[0]), FG_ERR_SHAPE);
    CHECK_STATUS(fg_minimize_many_data_select(K - 1, &bind[0]), FG_OK);
    CHECK(current[0][0] == t + (K - 1) * ROWS && current[0][1] == y + (K - 1) * ROWS);
    free(work);
    free(work1);
}

int main(void)
{
    uint64_t seed = 42;
    double data[K * N], x0[K * N], lower[K * N], upper[K * N];
    for (size_t i = 0; i < K * N; i++) {
        data[i] = fg_test_uniform(&seed, -1.0, 1.0);
        x0[i] = fg_test_uniform(&seed, -2.0, 2.0);
        lower[i] = fg_test_uniform(&seed, -1.5, -0.2);
        upper[i] = fg_test_uniform(&seed, 0.2, 1.5);
    }
    x0[N] = 40.0;   /* a problem gd overflows from: it diverges alone as in the batch */
    fg_minimize_many_options m;
    CHECK_STATUS(fg_minimize_many_options_init(&m, sizeof m - 1), FG_ERR_ARG);
    CHECK_STATUS(fg_minimize_many_options_init(&m, sizeof m), FG_OK);

    /* every method, every worker count, with and without bounds */
    const size_t counts[] = {1, 2, 3, MAXW};
    for (int method = 0; method < FG_MIN_METHOD_COUNT; method++) {
        fg_minimize_method_info info;
        fg_minimize_method_info_get((fg_minimize_method)method, &info);
        for (int boxed = 0; boxed <= info.supports_bounds; boxed++) {
            fg_minimize_options o;
            fg_minimize_options_init(&o, sizeof o, (fg_minimize_method)method);
            o.maxiter = 40;
            if (method == FG_MIN_GD) o.lr = 1e-2;
            fg_minimize_many_options_init(&m, sizeof m);
            double xs[K * N];
            memcpy(xs, x0, sizeof xs);
            if (boxed) {
                o.lower = lower;
                o.upper = upper;
                m.bounds_stride = N;
                for (size_t i = 0; i < K * N; i++) xs[i] = fmin(fmax(xs[i], lower[i]), upper[i]);
            }
            double want_x[K * N], want_g[K * N];
            fg_minimize_result want[K];
            long want_calls = 0;
            for (size_t i = 0; i < K; i++) {
                fg_minimize_options oi = o;
                if (boxed) {
                    oi.lower = lower + i * N;
                    oi.upper = upper + i * N;
                }
                /* the objective's own count: newton-cg's difference quotients
                 * are not in nfev */
                want_calls += alone(&oi, data, i, xs + i * N, want_x + i * N, want_g + i * N,
                                    NULL, &want[i], -1);
            }
            for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
                batch b;
                fg_status st = run_batch(&b, counts[c], data, xs, &o, &m, -1);
                int same = st == FG_OK && same_bits(b.x, want_x, sizeof want_x)
                           && same_bits(b.g, want_g, sizeof want_g);
                for (size_t i = 0; i < K; i++) same &= same_result(&b.res[i], &want[i]);
                if (!same || total_calls(&b) != want_calls)
                    fprintf(stderr, "method %s boxed %d workers %zu: st %d calls %ld/%ld\n",
                            info.name, boxed, counts[c], (int)st, total_calls(&b), want_calls);
                CHECK(same);
                CHECK(total_calls(&b) == want_calls);
                free(b.work);
            }
        }
    }

    /* a failing objective and a refusing select hook end their problem only */
    fg_minimize_options o;
    fg_minimize_options_init(&o, sizeof o, FG_MIN_LBFGS);
    fg_minimize_many_options_init(&m, sizeof m);
    batch b;
    CHECK_STATUS(run_batch(&b, 2, data, x0, &o, &m, 6), FG_OK);
    CHECK(b.res[6].stop == FG_MIN_OBJECTIVE_ERROR && b.res[6].objective_status == FG_ERR_SHAPE
          && b.res[6].nfev == 1);
    for (size_t i = 0; i < K; i++)
        if (i != 6) CHECK(b.res[i].stop != FG_MIN_OBJECTIVE_ERROR && b.res[i].nit > 0);
    free(b.work);
    CHECK_STATUS(run_batch(&b, 3, data, x0, &o, &m, -2), FG_OK);
    CHECK(b.res[4].stop == FG_MIN_OBJECTIVE_ERROR && b.res[4].nfev == 0 && isnan(b.res[4].f)
          && isnan(b.g[4 * N]) && b.x[4 * N] == x0[4 * N]);
    CHECK(b.res[5].stop != FG_MIN_OBJECTIVE_ERROR && b.res[5].nit > 0);
    free(b.work);

    /* warm starts: 15 + 25 updates equal 40, states row by row */
    fg_minimize_options_init(&o, sizeof o, FG_MIN_ADAM);
    o.lr = 1e-2;
    o.tol = 0.0;
    o.maxiter = 40;
    size_t carried = fg_minimize_state_size(N, &o);
    double *states = calloc(K * carried, sizeof *states);
    double *whole = calloc(K * carried, sizeof *whole);
    fg_minimize_many_options_init(&m, sizeof m);
    m.states = whole;
    batch full;
    CHECK_STATUS(run_batch(&full, 2, data, x0, &o, &m, -1), FG_OK);
    m.states = states;
    o.maxiter = 15;
    CHECK_STATUS(run_batch(&b, 2, data, x0, &o, &m, -1), FG_OK);
    free(b.work);
    o.maxiter = 25;
    o.warm_start = 1;
    double junk[K * N];
    for (size_t i = 0; i < K * N; i++) junk[i] = 1e300;   /* ignored on a warm start */
    CHECK_STATUS(run_batch(&b, 3, data, junk, &o, &m, -1), FG_OK);
    int same = same_bits(b.x, full.x, sizeof b.x) && same_bits(states, whole,
                                                                K * carried * sizeof *states);
    for (size_t i = 0; i < K; i++) {
        same &= same_result(&b.res[i], &full.res[i]);
        if (!same_result(&b.res[i], &full.res[i]))
            fprintf(stderr, "warm %zu: nit %lld/%lld stop %d/%d\n", i, (long long)b.res[i].nit,
                    (long long)full.res[i].nit, (int)b.res[i].stop, (int)full.res[i].stop);
    }
    CHECK(same);
    free(b.work);
    /* a tampered state: refused before anything runs, nothing written */
    states[7 * carried + 1] = 99.0;
    batch t;
    memset(t.res, 0x5A, sizeof t.res);
    fg_minimize_result sentinel;
    memcpy(&sentinel, &t.res[0], sizeof sentinel);
    CHECK_STATUS(run_batch(&t, 2, data, junk, &o, &m, -1), FG_ERR_ARG);
    CHECK(total_calls(&t) == 0 && t.x[0] == 1e300 && same_bits(&t.res[0], &sentinel,
                                                               sizeof sentinel));
    free(t.work);
    free(full.work);
    free(states);
    free(whole);

    /* argument errors write nothing and call nothing */
    fg_minimize_options_init(&o, sizeof o, FG_MIN_GD);
    fg_minimize_many_options_init(&m, sizeof m);
    double bad_x0[K * N];
    memcpy(bad_x0, x0, sizeof bad_x0);
    bad_x0[5 * N + 2] = NAN;
    CHECK_STATUS(run_batch(&t, 2, data, bad_x0, &o, &m, -1), FG_ERR_NONFINITE);
    CHECK(total_calls(&t) == 0 && same_bits(t.x, bad_x0, sizeof bad_x0));
    free(t.work);
    o.lower = lower;
    o.upper = upper;
    m.bounds_stride = N;
    CHECK_STATUS(run_batch(&t, 2, data, x0, &o, &m, -1), FG_ERR_ARG);   /* x0 outside */
    m.bounds_stride = 1;
    free(t.work);
    CHECK_STATUS(run_batch(&t, 2, data, x0, &o, &m, -1), FG_ERR_ARG);   /* stride */
    free(t.work);
    o.lower = o.upper = NULL;
    m.bounds_stride = 0;
    o.callback_every = 1;
    o.history_capacity = 3;
    CHECK_STATUS(run_batch(&t, 2, data, x0, &o, &m, -1), FG_ERR_ARG);   /* history */
    free(t.work);
    o.history_capacity = 0;
    o.warm_start = 1;
    CHECK_STATUS(run_batch(&t, 2, data, x0, &o, &m, -1), FG_ERR_ARG);   /* no states */
    free(t.work);
    o.warm_start = 0;
    m.struct_size--;
    CHECK_STATUS(run_batch(&t, 2, data, x0, &o, &m, -1), FG_ERR_ARG);
    free(t.work);
    m.struct_size++;
    fg_minimize_options_init(&o, sizeof o, FG_MIN_NEWTON);
    batch nh;
    memcpy(nh.x, x0, sizeof nh.x);
    for (size_t w = 0; w < MAXW; w++) nh.workers[w] = (fg_minimize_worker){{quartic, NULL, NULL},
                                                                             NULL, NULL, NULL,
                                                                             NULL};
    size_t len = fg_minimize_many_workspace_size(N, &o, 2);
    double *work = calloc(len, sizeof *work);
    CHECK_STATUS(fg_minimize_many_run_f64(nh.workers, 2, nh.x, K, N, &o, &m, work, len, nh.g,
                                          nh.res), FG_ERR_UNSUPPORTED);
    CHECK_STATUS(fg_minimize_many_run_f64(nh.workers, 2, nh.x, K, N, &o, &m, work, len - 1,
                                          nh.g, nh.res), FG_ERR_ARG);
    CHECK_STATUS(fg_minimize_many_run_f64(nh.workers, 0, nh.x, K, N, &o, &m, work, len, nh.g,
                                          nh.res), FG_ERR_ARG);
    CHECK(fg_minimize_many_workspace_size(N, &o, 0) == 0
          && fg_minimize_many_workspace_size((size_t)1 << 62, &o, 1) == 0
          && fg_minimize_many_workspace_size(N, &o, SIZE_MAX / 4) == 0);
    CHECK_STATUS(fg_minimize_many_run_f64(nh.workers, 2, NULL, 0, N, &o, &m, work, len, NULL,
                                          NULL), FG_OK);   /* no problems */
    free(work);

    /* the poll stops every thread: slow evaluations, a poll that says stop
     * on its second call; problems not started are reported as such */
    fg_minimize_options_init(&o, sizeof o, FG_MIN_GD);
    o.tol = 0.0;
    o.maxiter = 1000000;
    fg_minimize_many_options_init(&m, sizeof m);
    m.poll = stop_after_two;
    m.poll_interval = 0.01;
    polls = 0;
    for (size_t w = 0; w < MAXW; w++) {
        b.ctx[w] = (worker_ctx){data, data, 0, -1, 0, 1000000};
        b.workers[w] = (fg_minimize_worker){{quartic, NULL, &b.ctx[w]}, NULL, NULL,
                                            select_problem, &b.ctx[w]};
    }
    memcpy(b.x, x0, sizeof b.x);
    b.x[N] = 0.5;   /* no problem stops by itself */
    len = fg_minimize_many_workspace_size(N, &o, 3);
    work = calloc(len, sizeof *work);
    CHECK_STATUS(fg_minimize_many_run_f64(b.workers, 3, b.x, K, N, &o, &m, work, len, b.g,
                                          b.res), FG_OK);
    int interrupted = 0, untouched = 0;
    for (size_t i = 0; i < K; i++) {
        interrupted += b.res[i].stop == FG_MIN_INTERRUPTED;
        untouched += b.res[i].nit == 0 && b.res[i].nfev == 0 && isnan(b.res[i].f);
    }
    if (!(interrupted == K && untouched == K - 3 && polls == 2))
        fprintf(stderr, "poll: %d interrupted, %d untouched, %d polls\n", interrupted, untouched,
                polls);
    CHECK(interrupted == K && untouched == K - 3 && polls == 2);
    free(work);
    test_per_problem_data();
    return TEST_EXIT();
}
