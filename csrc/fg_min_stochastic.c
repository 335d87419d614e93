/* fg_min_stochastic.c: the minibatch training loop (see fg_min_stochastic.h).
 *
 * Workspace layout (bytes), each part starting on a 64-byte boundary:
 *   state[]         the method's carried state (doubles, fg_min_method.sizes)
 *   scratch[]       the method's scratch (doubles)
 *   xt[n]           the update's output; x and xt swap on acceptance
 *   g[n]            the batch gradient
 *   ptrs[n_data]    the current batch's data pointers
 *   order[rows]     the epoch's order (int64), with an order function only
 *   batch_j[B_eff * row_bytes[j]] for each data array j, with an order only
 * B_eff = min(batch_size, rows). Sized once, every size overflow-checked.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "fg_min_method.h"
#include "fg_min_stochastic.h"

enum { ALIGN = 64 };

fg_status fg_stochastic_options_init(fg_stochastic_options *opt, size_t struct_size)
{
    if (!opt || struct_size != sizeof *opt) return FG_ERR_ARG;
    memset(opt, 0, sizeof *opt);
    opt->struct_size = sizeof *opt;
    opt->batch_size = 32;
    opt->epochs = 1;
    return FG_OK;
}

/* ---- layout -------------------------------------------------------------- */

typedef struct layout {
    size_t state, scratch, xt, g, ptrs, order, batch, total;   /* byte offsets */
    size_t state_len, scratch_len, b_eff;
} layout;

/* *at <- the offset of a part of count * elem bytes (aligned), *total past
 * it; 0 on overflow. */
static int place(size_t *total, size_t *at, size_t count, size_t elem)
{
    if (elem && count > SIZE_MAX / elem) return 0;
    size_t bytes = count * elem;
    if (bytes > SIZE_MAX - (ALIGN - 1)) return 0;
    bytes = (bytes + ALIGN - 1) / ALIGN * ALIGN;
    if (bytes > SIZE_MAX - *total) return 0;
    *at = *total;
    *total += bytes;
    return 1;
}

/* A first-order row: an update without a search (fg_min_first_order_update). */
static int is_first_order(const fg_min_method *m)
{
    return m->info.default_line_search == FG_MIN_LS_NONE
        && m->info.needs == FG_MIN_NEEDS_GRADIENT;
}

/* The options with the line search resolved, checked; FG_OK and the row. */
static fg_status check(const fg_batch_objective *obj, size_t rows, const fg_minimize_options *opt,
                       const fg_stochastic_options *sopt, fg_minimize_options *o,
                       const fg_min_method **row)
{
    const fg_min_method *m;
    if (!obj || !obj->value_grad || (obj->n_data && !obj->row_bytes) || !opt || !sopt
        || opt->struct_size != sizeof *opt || sopt->struct_size != sizeof *sopt
        || !(m = fg_min_method_of(opt->method)) || !is_first_order(m))
        return FG_ERR_ARG;
    *o = *opt;
    if (o->line_search == FG_MIN_LS_DEFAULT) o->line_search = FG_MIN_LS_NONE;
    if (o->line_search != FG_MIN_LS_NONE || o->maxiter < 0 || o->callback || o->warm_start
        || o->history_x || o->history_f || o->history_grad_norm || rows == 0
        || sopt->batch_size == 0 || sopt->epochs < 0 || sopt->history_capacity < 0
        || (sopt->history_capacity && !sopt->history_f) || sopt->epoch_capacity < 0
        || (sopt->epoch_capacity && !sopt->epoch_fun))
        return FG_ERR_ARG;
    if (o->poll && (!(o->poll_interval > 0.0) || !isfinite(o->poll_interval))) return FG_ERR_ARG;
    *row = m;
    return m->check(o);
}

static fg_status plan(const fg_batch_objective *obj, size_t rows, const fg_minimize_options *o,
                      const fg_min_method *m, const fg_stochastic_options *sopt, layout *l)
{
    memset(l, 0, sizeof *l);
    if (m->sizes(obj->n, o, &l->state_len, &l->scratch_len) != FG_OK) return FG_ERR_ARG;
    l->b_eff = sopt->batch_size < rows ? sopt->batch_size : rows;
    size_t t = 0;
    if (!place(&t, &l->state, l->state_len, sizeof(double))
        || !place(&t, &l->scratch, l->scratch_len, sizeof(double))
        || !place(&t, &l->xt, obj->n, sizeof(double)) || !place(&t, &l->g, obj->n, sizeof(double))
        || !place(&t, &l->ptrs, obj->n_data, sizeof(void *)))
        return FG_ERR_ARG;
    l->order = l->batch = t;
    if (sopt->order) {
        if (!place(&t, &l->order, rows, sizeof(int64_t))) return FG_ERR_ARG;
        l->batch = t;
        for (size_t j = 0; j < obj->n_data; j++) {
            size_t at;
            if (!place(&t, &at, l->b_eff, obj->row_bytes[j])) return FG_ERR_ARG;
        }
    }
    l->total = t ? t : ALIGN;
    return FG_OK;
}

size_t fg_minimize_stochastic_workspace_size(const fg_batch_objective *obj, size_t rows,
                                             const fg_minimize_options *opt,
                                             const fg_stochastic_options *sopt)
{
    fg_minimize_options o;
    const fg_min_method *m;
    layout l;
    if (check(obj, rows, opt, sopt, &o, &m) != FG_OK || plan(obj, rows, &o, m, sopt, &l) != FG_OK)
        return 0;
    return l.total;
}

/* ---- the batches ----------------------------------------------------------- */

/* Rows idx[0..len) of every data array into its batch buffer. An 8-byte
 * row (a label, one float64) is one load and store, not a memcpy call. */
static void gather(const fg_batch_objective *obj, const void *const *data, const int64_t *idx,
                   size_t len, unsigned char *buf, size_t b_eff)
{
    for (size_t j = 0; j < obj->n_data; j++) {
        const size_t rb = obj->row_bytes[j];
        const unsigned char *src = data[j];
        if (rb == 8) {
            for (size_t i = 0; i < len; i++) memcpy(buf + 8 * i, src + 8 * (size_t)idx[i], 8);
        } else {
            for (size_t i = 0; i < len; i++) memcpy(buf + rb * i, src + rb * (size_t)idx[i], rb);
        }
        buf += (b_eff * rb + ALIGN - 1) / ALIGN * ALIGN;
    }
}

/* The batch pointers: the gathered buffers, or (no order) rows start..
 * of the data arrays in place. */
static void batch_pointers(const fg_batch_objective *obj, const void *const *data, size_t start,
                           unsigned char *buf, size_t b_eff, int gathered, const void **ptrs)
{
    for (size_t j = 0; j < obj->n_data; j++) {
        const size_t rb = obj->row_bytes[j];
        if (gathered) {
            ptrs[j] = buf;
            buf += (b_eff * rb + ALIGN - 1) / ALIGN * ALIGN;
        } else {
            ptrs[j] = (const unsigned char *)data[j] + start * rb;
        }
    }
}

static int valid_order(const int64_t *order, size_t rows)
{
    int ok = 1;
    for (size_t i = 0; i < rows; i++) ok &= order[i] >= 0 && (uint64_t)order[i] < rows;
    return ok;
}

/* ---- the loop ----------------------------------------------------------------- */

typedef struct loop {
    const fg_batch_objective *obj;
    const void *const *data;
    size_t rows;
    fg_min_run r;
    fg_minimize_result *res;
} loop;

/* One counted evaluation; an objective error sets the stop reason. */
static int evaluate(loop *L, const void *const *data, size_t rows, double *f, double *g)
{
    fg_status st = L->obj->value_grad(L->r.x, L->r.n, data, rows, f, g, L->obj->ctx);
    L->r.nfev++;
    if (g) L->r.njev++;
    if (st != FG_OK) {
        L->r.objective_status = st;
        return 0;
    }
    return 1;
}

static fg_minimize_stop run_epochs(loop *L, const fg_stochastic_options *sopt, const layout *l,
                                   unsigned char *w)
{
    fg_min_run *r = &L->r;
    const fg_minimize_options *o = r->opt;
    const size_t rows = L->rows, B = l->b_eff, nb = rows / B + (rows % B != 0);
    int64_t *order = sopt->order ? (int64_t *)(void *)(w + l->order) : NULL;
    const void **ptrs = (const void **)(void *)(w + l->ptrs);
    unsigned char *buf = w + l->batch;
    fg_min_poll_clock pc = {1, 1, 0.0, 0.0};
    if (o->poll) fg_min_poll_start(&pc, o->poll_interval);
    int64_t nit = 0;
    for (int64_t e = 0; e < sopt->epochs; e++) {
        double sum = 0.0;
        for (size_t k = 0; k < nb; k++) {
            if (nit >= o->maxiter) return FG_MIN_MAXITER;
            if (k == 0 && order
                && (sopt->order(e, order, rows, sopt->order_ctx) || !valid_order(order, rows)))
                return FG_MIN_INTERRUPTED;
            const size_t start = k * B, len = rows - start < B ? rows - start : B;
            if (order) gather(L->obj, L->data, order + start, len, buf, B);
            batch_pointers(L->obj, L->data, start, buf, B, order != NULL, ptrs);
            if (!evaluate(L, ptrs, len, &r->f, r->g)) return FG_MIN_OBJECTIVE_ERROR;
            if (!fg_min_norm_from_sum(fg_min_sum_squares(r->g, r->n), r->g, r->n, &r->gnorm)
                || !isfinite(r->f))
                return FG_MIN_DIVERGED;
            if (nit < sopt->history_capacity) sopt->history_f[nit] = r->f;
            sum += r->f;
            r->t = nit + 1;
            r->lr = o->lr;
            if (o->lr_fn) {
                r->lr = o->lr_fn(r->t, o->lr_ctx);
                if (!(r->lr >= 0.0) || !isfinite(r->lr)) return FG_MIN_SCHEDULE_ERROR;
            }
            fg_minimize_stop stop = fg_min_first_order_update(r);
            if (stop != FG_MIN_STOP_COUNT) return stop;
            if (r->lower) fg_min_project(r->xt, r->lower, r->upper, r->n);
            double *tmp = r->x;
            r->x = r->xt;
            r->xt = tmp;
            nit = r->t;
            L->res->nit = nit;
            if (o->poll && fg_min_poll_due(&pc, o->poll_interval)
                && fg_min_call_hook(o->poll, o->poll_ctx, r, nit))
                return FG_MIN_INTERRUPTED;
        }
        fg_stochastic_epoch_state s;
        s.loss = NAN;
        if (e < sopt->epoch_capacity) {
            if (!evaluate(L, L->data, rows, &s.loss, NULL)) return FG_MIN_OBJECTIVE_ERROR;
            sopt->epoch_fun[e] = s.loss;
        }
        if (sopt->on_epoch) {
            s.epoch = e + 1;
            s.nit = nit;
            s.nfev = r->nfev;
            s.n = r->n;
            s.x = r->x;
            s.batch_loss = sum / (double)nb;
            if (sopt->on_epoch(&s, sopt->epoch_ctx)) return FG_MIN_CALLBACK_STOP;
        }
    }
    return FG_MIN_EPOCHS;
}

fg_status fg_minimize_stochastic_f64(const fg_batch_objective *obj, const void *const *data,
                                     size_t rows, double *x, size_t n,
                                     const fg_minimize_options *opt,
                                     const fg_stochastic_options *sopt, void *work,
                                     size_t work_bytes, double *grad, fg_minimize_result *res)
{
    fg_minimize_options o;
    const fg_min_method *m;
    layout l;
    if (!res || !work || (n && (!x || !grad)) || (obj && obj->n_data && !data)) return FG_ERR_ARG;
    fg_status st = check(obj, rows, opt, sopt, &o, &m);
    if (st != FG_OK) return st;
    if (obj->n != n || plan(obj, rows, &o, m, sopt, &l) != FG_OK || work_bytes < l.total
        || ((uintptr_t)work % ALIGN) != 0)
        return FG_ERR_ARG;
    for (size_t j = 0; j < obj->n_data; j++)
        if (!data[j] && rows * obj->row_bytes[j] != 0) return FG_ERR_ARG;
    if (o.lower || o.upper) {
        if (!o.lower || !o.upper) return FG_ERR_ARG;
        for (size_t i = 0; i < n; i++)
            if (!(o.lower[i] <= o.upper[i]) || o.lower[i] == INFINITY || o.upper[i] == -INFINITY
                || !(x[i] >= o.lower[i] && x[i] <= o.upper[i]))
                return FG_ERR_ARG;
    }
    if (!fg_min_all_finite(x, n)) return FG_ERR_NONFINITE;

    unsigned char *w = work;
    loop L;
    memset(&L, 0, sizeof L);
    L.obj = obj;
    L.data = data;
    L.rows = rows;
    L.res = res;
    fg_min_run *r = &L.r;
    r->opt = &o;
    r->n = n;
    r->sign = o.maximize ? -1.0 : 1.0;
    r->lower = o.lower;
    r->upper = o.upper;
    r->x = x;
    r->xt = (double *)(void *)(w + l.xt);
    r->g = (double *)(void *)(w + l.g);
    r->state = (double *)(void *)(w + l.state);
    r->scratch = (double *)(void *)(w + l.scratch);
    r->maxfev = INT64_MAX;
    st = m->init(r, 0);
    if (st != FG_OK) return st;

    memset(res, 0, sizeof *res);
    fg_minimize_stop stop = run_epochs(&L, sopt, &l, w);
    res->history_len = res->nit < sopt->history_capacity ? res->nit : sopt->history_capacity;
    if (n && r->x != x) memcpy(x, r->x, n * sizeof *x);
    r->x = x;
    /* f and its gradient on all rows at the returned x */
    if (evaluate(&L, data, rows, &res->f, grad)) {
        fg_min_norm_from_sum(fg_min_sum_squares(grad, n), grad, n, &res->grad_norm);
    } else {
        res->f = res->grad_norm = NAN;
        if (n) memset(grad, 0, n * sizeof *grad);
        stop = FG_MIN_OBJECTIVE_ERROR;
    }
    res->nfev = r->nfev;
    res->njev = r->njev;
    res->stop = stop;
    res->objective_status = r->objective_status;
    return FG_OK;
}
