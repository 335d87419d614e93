/* test_stochastic.c: the minibatch loop (fg_min_stochastic.h) at edge sizes
 * in exact-size workspaces (ASan/UBSan with run.sh --sanitize): every row
 * visited once per epoch in the given order, short last batches, updates
 * counted, history and epoch buffers filled to their capacity only, stops
 * (maxiter, divergence, objective error, order failure, epoch hook), and
 * the arguments refused with nothing written. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200112L   /* posix_memalign */
#endif
#include <stdlib.h>
#include "check.h"
#include "fastgrad.h"

/* Least squares f = sum_i (s X_i.w - y_i)^2 / (2 rows) over the batch;
 * column 0 of every X row holds its row number so the test can see which
 * rows each gradient evaluation held (visits counts them). */
typedef struct ls_ctx {
    size_t d, rows_total;
    long *visits;
    int fail_on_call, calls;
    double scale;
} ls_ctx;

static fg_status ls_vg(const double *w, size_t n, const void *const *data, size_t rows,
                       double *value, double *grad, void *vctx)
{
    ls_ctx *c = vctx;
    const double *X = data[0], *y = data[1];
    if (++c->calls == c->fail_on_call) return FG_ERR_ARG;
    double f = 0.0;
    if (grad) for (size_t j = 0; j < n; j++) grad[j] = 0.0;
    for (size_t i = 0; i < rows; i++) {
        double z = 0.0;
        if (grad) c->visits[(size_t)X[i * c->d]]++;
        for (size_t j = 0; j < n; j++) z += c->scale * X[i * c->d + j] * w[j];
        const double r = z - y[i];
        f += 0.5 * r * r;
        if (grad) for (size_t j = 0; j < n; j++) grad[j] += r * c->scale * X[i * c->d + j] / (double)rows;
    }
    *value = f / (double)rows;
    return FG_OK;
}

/* Epoch e visits the rows backwards when e is odd, forwards otherwise. */
static int order_fn(int64_t epoch, int64_t *order, size_t rows, void *ctx)
{
    int *fail_at = ctx;
    if (*fail_at >= 0 && epoch == *fail_at) return 1;
    for (size_t i = 0; i < rows; i++) order[i] = (int64_t)(epoch % 2 ? rows - 1 - i : i);
    return 0;
}

static int bad_order(int64_t epoch, int64_t *order, size_t rows, void *ctx)
{
    for (size_t i = 0; i < rows; i++) order[i] = (int64_t)i;
    order[rows - 1] = (int64_t)rows;   /* out of range */
    return 0;
}

static int epochs_seen;
static int on_epoch(const fg_stochastic_epoch_state *s, void *ctx)
{
    epochs_seen++;
    return ctx && s->epoch == *(int64_t *)ctx;
}

/* One problem with its options (defaults for the method until a test sets
 * them) and the result of its last run. */
typedef struct setup {
    size_t rows, d;
    double *X, *y;
    size_t row_bytes[2];
    fg_batch_objective obj;
    ls_ctx c;
    const void *data[2];
    fg_minimize_options o;
    fg_stochastic_options so;
    fg_minimize_result res;
} setup;

static void make(setup *s, size_t rows, size_t d, uint64_t *seed, fg_minimize_method method)
{
    s->rows = rows;
    s->d = d;
    s->X = fg_test_doubles(rows * d, seed, -1.0, 1.0);
    s->y = fg_test_doubles(rows, seed, -1.0, 1.0);
    for (size_t i = 0; i < rows; i++) s->X[i * d] = (double)i;
    s->row_bytes[0] = d * sizeof(double);
    s->row_bytes[1] = sizeof(double);
    memset(&s->c, 0, sizeof s->c);
    s->c.d = d;
    s->c.rows_total = rows;
    s->c.scale = 1e-3;
    s->c.visits = calloc(rows, sizeof(long));
    s->obj.value_grad = ls_vg;
    s->obj.ctx = &s->c;
    s->obj.n = d;
    s->obj.n_data = 2;
    s->obj.row_bytes = s->row_bytes;
    s->data[0] = s->X;
    s->data[1] = s->y;
    fg_minimize_options_init(&s->o, sizeof s->o, method);
    fg_stochastic_options_init(&s->so, sizeof s->so);
}

/* Exactly `bytes` bytes at a 64-byte boundary, so ASan sees any access past them. */
static void *aligned64(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64)) abort();
    return p;
}

static void release(setup *s)
{
    free(s->X);
    free(s->y);
    free(s->c.visits);
}

/* A run from x with s's options in a workspace of exactly the reported
 * size; the result lands in s->res. */
static fg_status run(setup *s, double *x)
{
    size_t bytes = fg_minimize_stochastic_workspace_size(&s->obj, s->rows, &s->o, &s->so);
    CHECK(bytes > 0 && bytes % 64 == 0);
    void *work = aligned64(bytes);
    double *grad = malloc(s->d * sizeof *grad);
    fg_status st = fg_minimize_stochastic_f64(&s->obj, s->data, s->rows, x, s->d, &s->o, &s->so,
                                              work, bytes, grad, &s->res);
    free(work);
    free(grad);
    return st;
}

static void test_sizes(void)
{
    uint64_t seed = 7;
    const size_t rows_list[] = {1, 2, 7, 64, 65};
    const size_t batch_list[] = {1, 3, 64, 100};
    for (size_t a = 0; a < 5; a++)
        for (size_t b = 0; b < 4; b++)
            for (int shuffled = 0; shuffled < 2; shuffled++) {
                setup s;
                make(&s, rows_list[a], 3, &seed, FG_MIN_ADAM);
                s.o.lr = 1e-2;
                s.so.batch_size = batch_list[b];
                s.so.epochs = 3;
                int never = -1;
                if (shuffled) {
                    s.so.order = order_fn;
                    s.so.order_ctx = &never;
                }
                double *hist = malloc(5 * sizeof *hist), *efun = malloc(2 * sizeof *efun);
                s.so.history_f = hist;
                s.so.history_capacity = 5;
                s.so.epoch_fun = efun;
                s.so.epoch_capacity = 2;
                double x[3] = {0.1, 0.2, 0.3};
                const fg_minimize_result *res = &s.res;
                CHECK_STATUS(run(&s, x), FG_OK);
                const size_t B = batch_list[b] < s.rows ? batch_list[b] : s.rows;
                const int64_t nb = (int64_t)((s.rows + B - 1) / B);
                CHECK(res->stop == FG_MIN_EPOCHS && res->nit == 3 * nb);
                CHECK(res->history_len == (res->nit < 5 ? res->nit : 5));
                CHECK(res->nfev == 3 * nb + 2 + 1 && res->njev == 3 * nb + 1);
                /* three epochs and the final evaluation on all rows */
                for (size_t i = 0; i < s.rows; i++) CHECK(s.c.visits[i] == 4);
                CHECK(isfinite(res->f) && isfinite(res->grad_norm) && isfinite(efun[1]));
                free(hist);
                free(efun);
                release(&s);
            }
}

static void test_stops(void)
{
    uint64_t seed = 11;
    setup s;
    make(&s, 10, 2, &seed, FG_MIN_GD);
    const fg_minimize_result *res = &s.res;
    s.o.lr = 0.1;
    s.so.batch_size = 4;
    s.so.epochs = 5;
    double x[2] = {0.0, 0.0};
    s.o.maxiter = 7;
    CHECK_STATUS(run(&s, x), FG_OK);
    CHECK(res->stop == FG_MIN_MAXITER && res->nit == 7);
    s.o.maxiter = INT64_MAX;

    s.c.fail_on_call = 4;
    s.c.calls = 0;
    CHECK_STATUS(run(&s, x), FG_OK);
    CHECK(res->stop == FG_MIN_OBJECTIVE_ERROR && res->nit == 3 && res->objective_status == FG_ERR_ARG);
    s.c.fail_on_call = 0;

    int fail_at = 2;
    s.so.order = order_fn;
    s.so.order_ctx = &fail_at;
    CHECK_STATUS(run(&s, x), FG_OK);
    CHECK(res->stop == FG_MIN_INTERRUPTED && res->nit == 6);
    s.so.order = bad_order;
    CHECK_STATUS(run(&s, x), FG_OK);
    CHECK(res->stop == FG_MIN_INTERRUPTED && res->nit == 0);
    s.so.order = NULL;

    int64_t stop_after = 2;
    epochs_seen = 0;
    s.so.on_epoch = on_epoch;
    s.so.epoch_ctx = &stop_after;
    CHECK_STATUS(run(&s, x), FG_OK);
    CHECK(res->stop == FG_MIN_CALLBACK_STOP && res->nit == 6 && epochs_seen == 2);
    s.so.on_epoch = NULL;

    s.c.scale = 1e200;   /* overflows: the first gradient is not finite */
    double x0[2] = {1.0, 1.0};
    CHECK_STATUS(run(&s, x0), FG_OK);
    CHECK(res->stop == FG_MIN_DIVERGED && res->nit == 0 && x0[0] == 1.0 && x0[1] == 1.0);
    release(&s);
}

/* fg_minimize_stochastic_f64 on s's problem from x = (0.5, 0.5) refuses
 * with FG_ERR_ARG and leaves x as it was. */
static void check_refused(setup *s, size_t rows, size_t n, const fg_minimize_options *o,
                          const fg_stochastic_options *so, void *work, size_t bytes)
{
    double x[2] = {0.5, 0.5}, grad[2];
    CHECK_STATUS(fg_minimize_stochastic_f64(&s->obj, s->data, rows, x, n, o, so, work, bytes,
                                            grad, &s->res), FG_ERR_ARG);
    CHECK(x[0] == 0.5 && x[1] == 0.5);
}

static void test_refusals(void)
{
    uint64_t seed = 13;
    setup s;
    make(&s, 5, 2, &seed, FG_MIN_ADAM);
    const fg_minimize_options *o = &s.o;
    const fg_stochastic_options *so = &s.so;
    CHECK_STATUS(fg_stochastic_options_init(&s.so, sizeof s.so - 1), FG_ERR_ARG);
    size_t bytes = fg_minimize_stochastic_workspace_size(&s.obj, s.rows, o, so);
    void *work = aligned64(bytes + 64);
    check_refused(&s, s.rows, 2, o, so, work, bytes - 1);
    check_refused(&s, s.rows, 2, o, so, (char *)work + 8, bytes);
    check_refused(&s, 0, 2, o, so, work, bytes);
    check_refused(&s, s.rows, 3, o, so, work, bytes);

    /* Each case spoils one option of the valid pair (o, so); the last five
     * are the methods that need the full gradient. */
    enum { N_BAD = 11 };
    fg_minimize_options bad_o[N_BAD];
    fg_stochastic_options bad_so[N_BAD];
    for (int k = 0; k < N_BAD; k++) {
        bad_o[k] = *o;
        bad_so[k] = *so;
    }
    bad_so[0].batch_size = 0;
    bad_so[1].epochs = -1;
    bad_so[2].history_capacity = 3;   /* without a buffer */
    bad_o[3].lr = -1.0;
    bad_o[4].line_search = FG_MIN_LS_ARMIJO;
    bad_o[5].warm_start = 1;
    const fg_minimize_method full[] = {FG_MIN_NEWTON, FG_MIN_LBFGS, FG_MIN_BFGS, FG_MIN_CG,
                                       FG_MIN_NEWTON_CG};
    for (int k = 0; k < 5; k++) {
        fg_minimize_options_init(&bad_o[6 + k], sizeof bad_o[0], full[k]);
        CHECK(fg_minimize_stochastic_workspace_size(&s.obj, s.rows, &bad_o[6 + k], so) == 0);
    }
    for (int k = 0; k < N_BAD; k++) check_refused(&s, s.rows, 2, &bad_o[k], &bad_so[k], work, bytes);

    s.so.batch_size = SIZE_MAX;   /* B_eff = rows: fits */
    CHECK(fg_minimize_stochastic_workspace_size(&s.obj, s.rows, o, so) > 0);
    size_t huge[2] = {SIZE_MAX / 2, 8};
    s.obj.row_bytes = huge;
    s.so.order = order_fn;
    CHECK(fg_minimize_stochastic_workspace_size(&s.obj, s.rows, o, so) == 0);
    s.obj.row_bytes = s.row_bytes;
    s.so.order = NULL;
    double nan_x[2] = {NAN, 0.0}, grad[2];
    CHECK_STATUS(fg_minimize_stochastic_f64(&s.obj, s.data, s.rows, nan_x, 2, o, so, work,
                                            bytes, grad, &s.res), FG_ERR_NONFINITE);
    free(work);
    release(&s);
}

int main(void)
{
    test_sizes();
    test_stops();
    test_refusals();
    return TEST_EXIT();
}
