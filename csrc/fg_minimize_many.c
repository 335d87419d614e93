/* fg_minimize_many.c: k minimize runs over a pool of threads (see
 * fg_minimize_many.h).
 *
 * Each problem is one call of fg_minimize_run_f64, one after another on
 * each thread, rather than the k runs advanced in turn one iteration at a
 * time: a problem's state (x, gradient, the method's state, the tape's
 * workspace) stays in the core's cache for the whole run, where advancing
 * them in turn would stream every problem's state through the cache once
 * per iteration; there is no batched evaluation to gain from in return.
 *
 * Workspace per worker: the run's workspace (fg_minimize_workspace_size),
 * then the worker's copies of x and the gradient. A run works on these
 * copies, so two threads never write to one cache line (rows of k*n arrays
 * of small n share lines); the rows are copied in and out once per problem.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 199309L   /* clock_gettime */
#endif
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include "fg_minimize_many.h"

/* The checks of fg_minimize_run_f64, made for every problem before any
 * runs: a run of 0 iterations against a stand-in objective, which a fresh
 * start evaluates once (a zero gradient: converged at once) and a warm
 * start not at all. The stand-in offers a Hessian exactly when the workers
 * do, so a method that needs one is refused as the real run would be. */
static fg_status stand_in_value_grad(const double *x, size_t n, double *f, double *g,
                                     void *ctx)
{
    (void)x;
    (void)ctx;
    *f = 0.0;
    if (g)
        for (size_t i = 0; i < n; i++) g[i] = 0.0;
    return FG_OK;
}

static fg_status stand_in_hessian(const double *x, size_t n, double *h, void *ctx)
{
    (void)x;
    (void)ctx;
    for (size_t i = 0; i < n * n; i++) h[i] = 0.0;
    return FG_OK;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- sizes ----------------------------------------------------------------- */

fg_status fg_minimize_many_options_init(fg_minimize_many_options *m, size_t struct_size)
{
    if (!m || struct_size != sizeof *m) return FG_ERR_ARG;
    memset(m, 0, sizeof *m);
    m->struct_size = sizeof *m;
    m->poll_interval = 0.05;
    return FG_OK;
}

/* The run's workspace and a worker's share (run + x + gradient); FG_ERR_ARG
 * on invalid options or overflow. */
static fg_status worker_size(size_t n, const fg_minimize_options *opt, size_t *run,
                             size_t *share)
{
    const size_t w = fg_minimize_workspace_size(n, opt);
    if (w == 0 || n > (SIZE_MAX - w) / 2) return FG_ERR_ARG;
    *run = w;
    *share = w + 2 * n;
    return FG_OK;
}

size_t fg_minimize_many_workspace_size(size_t n, const fg_minimize_options *opt,
                                       size_t nworkers)
{
    size_t run, share;
    if (nworkers == 0 || worker_size(n, opt, &run, &share) != FG_OK
        || share > SIZE_MAX / nworkers)
        return 0;
    return share * nworkers;
}

/* ---- the pool ---------------------------------------------------------------- */

typedef struct pool {
    /* read-only while the workers run */
    const fg_minimize_worker *workers;
    const fg_minimize_options *opt;
    const fg_minimize_many_options *many;
    size_t k, n, run_len, share, carried;
    double *x, *grad, *work;
    fg_minimize_result *res;
    /* under lock */
    pthread_mutex_t lock;
    pthread_cond_t idle;     /* signalled as each helper thread finishes */
    size_t next;             /* the next problem to hand out */
    size_t done;             /* problems finished */
    size_t helpers_running;
    int stop;                /* the poll asked to stop */
} pool;

typedef struct worker_thread {
    pool *p;
    size_t index;
    double next_poll;        /* worker 0: when the poll is next due */
} worker_thread;

static int stopped(pool *p)
{
    pthread_mutex_lock(&p->lock);
    const int s = p->stop;
    pthread_mutex_unlock(&p->lock);
    return s;
}

/* The poll, on worker 0 only (the calling thread, which may handle
 * signals), until it asks to stop; 1 if the runs are to stop. */
static int call_poll(pool *p)
{
    pthread_mutex_lock(&p->lock);
    const size_t done = p->done;
    const int stop = p->stop;
    pthread_mutex_unlock(&p->lock);
    if (stop) return 1;
    if (!p->many->poll(done, p->k, p->many->poll_ctx)) return 0;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_mutex_unlock(&p->lock);
    return 1;
}

/* The runs' own poll hook (fg_minimize_options.poll): worker 0 polls, the
 * others only learn whether to stop. */
static int run_poll(const fg_minimize_state *s, void *ctx)
{
    (void)s;
    worker_thread *t = ctx;
    if (t->index == 0 && call_poll(t->p)) return 1;
    return stopped(t->p);
}

/* Problem i's result when it never ran. */
static void not_run(pool *p, size_t i, fg_minimize_stop stop, fg_status objective_status)
{
    fg_minimize_result *r = &p->res[i];
    memset(r, 0, sizeof *r);
    r->f = NAN;
    r->grad_norm = NAN;
    r->stop = stop;
    r->objective_status = objective_status;
    for (size_t j = 0; j < p->n; j++) p->grad[i * p->n + j] = NAN;
}

/* The options of problem i's run: its bounds (and, for the check, the
 * workers' options with maxiter 0). */
static void problem_options(const pool *p, size_t i, fg_minimize_options *o)
{
    const size_t off = i * p->many->bounds_stride;
    if (p->opt->lower) {
        o->lower = p->opt->lower + off;
        o->upper = p->opt->upper + off;
    }
}

/* Load problem i into a worker's buffers: x0 (or the carried state). */
static void load(const pool *p, size_t i, double *run_work, double *xb)
{
    const size_t n = p->n;
    if (n) memcpy(xb, p->x + i * n, n * sizeof *xb);
    if (p->opt->warm_start)
        memcpy(run_work, p->many->states + i * p->carried, p->carried * sizeof *run_work);
}

static void run_problem(worker_thread *t, fg_minimize_options *o, size_t i)
{
    pool *p = t->p;
    const fg_minimize_worker *w = &p->workers[t->index];
    const size_t n = p->n;
    double *run_work = p->work + t->index * p->share, *xb = run_work + p->run_len,
           *gb = xb + n;
    if (w->select) {
        const fg_status st = w->select(i, w->select_ctx);
        if (st != FG_OK) {
            not_run(p, i, FG_MIN_OBJECTIVE_ERROR, st);
            return;
        }
    }
    problem_options(p, i, o);
    load(p, i, run_work, xb);
    const fg_status st = fg_minimize_run_f64(&w->objective, xb, n, o, run_work, p->run_len, gb,
                                             &p->res[i]);
    if (st != FG_OK) {
        /* checked before the runs began; only a select hook that changed
         * the objective's size could get here */
        not_run(p, i, FG_MIN_OBJECTIVE_ERROR, st);
        return;
    }
    if (n) {
        memcpy(p->x + i * n, xb, n * sizeof *xb);
        memcpy(p->grad + i * n, gb, n * sizeof *gb);
    }
    if (p->many->states)
        memcpy(p->many->states + i * p->carried, run_work, p->carried * sizeof *run_work);
}

static void *worker_main(void *arg)
{
    worker_thread *t = arg;
    pool *p = t->p;
    const fg_minimize_worker *w = &p->workers[t->index];
    fg_minimize_options o = *p->opt;
    if (w->hvp) {
        o.hvp = w->hvp;
        o.hvp_ctx = w->hvp_ctx;
    }
    if (p->many->poll) {
        o.poll = run_poll;
        o.poll_ctx = t;
        o.poll_interval = p->many->poll_interval;
    }
    for (;;) {
        if (t->index == 0 && p->many->poll && now_seconds() >= t->next_poll) {
            call_poll(p);
            t->next_poll = now_seconds() + p->many->poll_interval;
        }
        pthread_mutex_lock(&p->lock);
        const size_t i = p->next;
        const int go = !p->stop && i < p->k;
        if (go) p->next++;
        pthread_mutex_unlock(&p->lock);
        if (!go) break;
        run_problem(t, &o, i);
        pthread_mutex_lock(&p->lock);
        p->done++;
        pthread_mutex_unlock(&p->lock);
    }
    if (t->index != 0) {
        pthread_mutex_lock(&p->lock);
        p->helpers_running--;
        pthread_cond_signal(&p->idle);
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

/* Worker 0, out of problems: wait for the helpers, polling meanwhile (a
 * long last problem on a helper stays interruptible). */
static void wait_for_helpers(worker_thread *t0)
{
    pool *p = t0->p;
    pthread_mutex_lock(&p->lock);
    while (p->helpers_running > 0) {
        if (!p->many->poll) {
            pthread_cond_wait(&p->idle, &p->lock);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        const double at = (double)until.tv_nsec * 1e-9 + p->many->poll_interval;
        until.tv_sec += (time_t)at;
        until.tv_nsec = (long)((at - floor(at)) * 1e9);
        pthread_cond_timedwait(&p->idle, &p->lock, &until);
        if (p->helpers_running == 0) break;
        pthread_mutex_unlock(&p->lock);
        call_poll(p);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
}

/* ---- checks and the entry point ----------------------------------------------- */

static fg_status check_arguments(const fg_minimize_worker *workers, size_t nworkers, double *x,
                                 size_t k, size_t n, const fg_minimize_options *opt,
                                 const fg_minimize_many_options *m, size_t work_len,
                                 double *grad, fg_minimize_result *res, size_t *run_len,
                                 size_t *share, size_t *carried)
{
    if (!workers || nworkers == 0 || !opt || !m || m->struct_size != sizeof *m
        || opt->struct_size != sizeof *opt)
        return FG_ERR_ARG;
    if (k && (!res || (n && (!x || !grad)))) return FG_ERR_ARG;
    if (opt->callback || opt->poll || opt->history_x || opt->history_f
        || opt->history_grad_norm || opt->history_capacity)
        return FG_ERR_ARG;
    if ((opt->warm_start && !m->states) || (m->bounds_stride != 0 && m->bounds_stride != n))
        return FG_ERR_ARG;
    if (m->poll && (!(m->poll_interval > 0.0) || !isfinite(m->poll_interval))) return FG_ERR_ARG;
    if (worker_size(n, opt, run_len, share) != FG_OK || *share > SIZE_MAX / nworkers
        || work_len < *share * nworkers)
        return FG_ERR_ARG;
    *carried = fg_minimize_state_size(n, opt);
    if ((n && k > SIZE_MAX / n) || (*carried && k > SIZE_MAX / *carried)) return FG_ERR_ARG;
    for (size_t w = 0; w < nworkers; w++)
        if (!workers[w].objective.value_grad
            || !workers[w].objective.hessian != !workers[0].objective.hessian)
            return FG_ERR_ARG;
    return FG_OK;
}

/* Every problem through fg_minimize_run_f64's checks (see stand_in_*), in
 * worker 0's buffers: nothing of the caller's is written. */
static fg_status check_problems(pool *p)
{
    const fg_objective stand_in = {stand_in_value_grad,
                                   p->workers[0].objective.hessian ? stand_in_hessian : NULL,
                                   NULL};
    double *run_work = p->work, *xb = run_work + p->run_len, *gb = xb + p->n;
    fg_minimize_options o = *p->opt;
    fg_minimize_result r;
    o.maxiter = 0;
    for (size_t i = 0; i < p->k; i++) {
        problem_options(p, i, &o);
        load(p, i, run_work, xb);
        const fg_status st = fg_minimize_run_f64(&stand_in, xb, p->n, &o, run_work, p->run_len,
                                                 gb, &r);
        if (st != FG_OK) return st;
    }
    return FG_OK;
}

fg_status fg_minimize_many_run_f64(const fg_minimize_worker *workers, size_t nworkers,
                                   double *x, size_t k, size_t n,
                                   const fg_minimize_options *opt,
                                   const fg_minimize_many_options *many, double *work,
                                   size_t work_len, double *grad, fg_minimize_result *res)
{
    fg_minimize_many_options defaults;
    if (!many) {
        fg_minimize_many_options_init(&defaults, sizeof defaults);
        many = &defaults;
    }
    if (!work) return FG_ERR_ARG;
    pool p;
    memset(&p, 0, sizeof p);
    fg_status st = check_arguments(workers, nworkers, x, k, n, opt, many, work_len, grad, res,
                                   &p.run_len, &p.share, &p.carried);
    if (st != FG_OK) return st;
    p.workers = workers;
    p.opt = opt;
    p.many = many;
    p.k = k;
    p.n = n;
    p.x = x;
    p.grad = grad;
    p.work = work;
    p.res = res;
    st = check_problems(&p);
    if (st != FG_OK || k == 0) return st;

    if (nworkers > k) nworkers = k;
    if (nworkers > FG_MINIMIZE_MANY_MAX_THREADS) nworkers = FG_MINIMIZE_MANY_MAX_THREADS;
    worker_thread threads[FG_MINIMIZE_MANY_MAX_THREADS];
    pthread_t ids[FG_MINIMIZE_MANY_MAX_THREADS];
    int started[FG_MINIMIZE_MANY_MAX_THREADS] = {0};
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.idle, NULL);
    for (size_t t = 0; t < nworkers; t++) threads[t] = (worker_thread){&p, t, 0.0};
    if (many->poll) threads[0].next_poll = now_seconds() + many->poll_interval;
    for (size_t t = 1; t < nworkers; t++) {
        pthread_mutex_lock(&p.lock);
        p.helpers_running++;
        pthread_mutex_unlock(&p.lock);
        started[t] = pthread_create(&ids[t], NULL, worker_main, &threads[t]) == 0;
        if (!started[t]) {
            pthread_mutex_lock(&p.lock);
            p.helpers_running--;
            pthread_mutex_unlock(&p.lock);
        }
    }
    worker_main(&threads[0]);
    wait_for_helpers(&threads[0]);
    for (size_t t = 1; t < nworkers; t++)
        if (started[t]) pthread_join(ids[t], NULL);
    /* problems the poll stopped before they started */
    for (size_t i = p.next; i < k; i++) not_run(&p, i, FG_MIN_INTERRUPTED, FG_OK);
    pthread_cond_destroy(&p.idle);
    pthread_mutex_destroy(&p.lock);
    return FG_OK;
}

/* ---- per-problem data ------------------------------------------------------- */

fg_status fg_minimize_many_data_select(size_t problem, void *binding)
{
    fg_minimize_many_data *b = binding;
    const fg_batch_objective *obj = b->batch;
    for (size_t j = 0; j < obj->n_data; j++) {
        const size_t row = obj->row_bytes[j];
        if (row && b->rows > SIZE_MAX / row) return FG_ERR_SHAPE;
        const size_t block = b->rows * row;
        if (block && problem > SIZE_MAX / block) return FG_ERR_SHAPE;
        b->current[j] = (const char *)b->data[j] + problem * block;
    }
    return FG_OK;
}

fg_status fg_minimize_many_data_value_grad(const double *x, size_t n, double *value,
                                           double *grad, void *binding)
{
    const fg_minimize_many_data *b = binding;
    return b->batch->value_grad(x, n, (const void *const *)b->current, b->rows, value, grad,
                                b->batch->ctx);
}
