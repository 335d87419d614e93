/* fg_optim_many.c: the multi-array, optionally threaded optimizer driver. */
#include <pthread.h>
#include "fg_optim_many.h"

#define FG_MAX_THREADS 64

static size_t fg_dtype_size(fg_dtype dtype) { return dtype == FG_FLOAT32 ? 4 : 8; }

static void *fg_offset(const void *p, size_t elems, size_t size)
{
    return p ? (void *)((const char *)p + elems * size) : NULL;
}

/* Runs the kernel on elements [begin, end) of one slot. */
static fg_status fg_apply_range(const fg_optim_config *cfg, const fg_optim_slot *s,
                                size_t begin, size_t end)
{
    size_t k = fg_dtype_size(s->dtype), n = end - begin;
    void *p = fg_offset(s->param, begin, k);
    const void *g = fg_offset(s->grad, begin, k);
    void *s0 = fg_offset(s->state[0], begin, k);
    void *s1 = fg_offset(s->state[1], begin, k);
    void *s2 = fg_offset(s->state[2], begin, k);
    int f32 = s->dtype == FG_FLOAT32;
    switch (cfg->kind) {
    case FG_OPTIM_SGD:
        return f32 ? fg_sgd_step_f32(p, g, s0, n, &cfg->coeffs.sgd)
                   : fg_sgd_step_f64(p, g, s0, n, &cfg->coeffs.sgd);
    case FG_OPTIM_ADAM:
        return f32 ? fg_adam_step_f32(p, g, s0, s1, s2, n, &cfg->coeffs.adam)
                   : fg_adam_step_f64(p, g, s0, s1, s2, n, &cfg->coeffs.adam);
    case FG_OPTIM_RMSPROP:
        return f32 ? fg_rmsprop_step_f32(p, g, s0, s1, s2, n, &cfg->coeffs.rmsprop)
                   : fg_rmsprop_step_f64(p, g, s0, s1, s2, n, &cfg->coeffs.rmsprop);
    case FG_OPTIM_ADAGRAD:
        return f32 ? fg_adagrad_step_f32(p, g, s0, n, &cfg->coeffs.adagrad)
                   : fg_adagrad_step_f64(p, g, s0, n, &cfg->coeffs.adagrad);
    }
    return FG_ERR_ARG;
}

typedef struct fg_chunk {
    const fg_optim_config *cfg;
    const fg_optim_slot *slot;
    size_t begin, end;
    fg_status status;
} fg_chunk;

static void *fg_chunk_run(void *arg)
{
    fg_chunk *c = (fg_chunk *)arg;
    c->status = fg_apply_range(c->cfg, c->slot, c->begin, c->end);
    return NULL;
}

static fg_status fg_apply_parallel(const fg_optim_config *cfg, const fg_optim_slot *s,
                                   int nthreads)
{
    fg_chunk chunks[FG_MAX_THREADS];
    pthread_t threads[FG_MAX_THREADS];
    int started[FG_MAX_THREADS];
    fg_status result = FG_OK;
    /* Chunk edges on multiples of 64 elements keep every chunk's start
     * cache-line aligned when the array is. */
    size_t per = (s->n / (size_t)nthreads + 63) & ~(size_t)63;
    for (int t = 0; t < nthreads; t++) {
        size_t b = per * (size_t)t, e = b + per;
        if (b > s->n) b = s->n;
        if (e > s->n || t == nthreads - 1) e = s->n;
        chunks[t] = (fg_chunk){cfg, s, b, e, FG_OK};
        started[t] = 0;
    }
    for (int t = 1; t < nthreads; t++)
        started[t] = pthread_create(&threads[t], NULL, fg_chunk_run, &chunks[t]) == 0;
    fg_chunk_run(&chunks[0]);
    for (int t = 1; t < nthreads; t++) {
        if (started[t]) {
            pthread_join(threads[t], NULL);
        } else {
            fg_chunk_run(&chunks[t]);
            result = FG_ERR_THREAD;
        }
    }
    for (int t = 0; t < nthreads; t++)
        if (chunks[t].status != FG_OK) return chunks[t].status;
    return result;
}

fg_status fg_optim_step_many(const fg_optim_config *cfg, const fg_optim_slot *slots,
                             size_t count, int nthreads)
{
    if (!cfg || (count && !slots)) return FG_ERR_ARG;
    if (nthreads > FG_MAX_THREADS) nthreads = FG_MAX_THREADS;
    fg_status result = FG_OK;
    for (size_t i = 0; i < count; i++) {
        fg_status st;
        if (nthreads > 1 && slots[i].n >= FG_OPTIM_MIN_PARALLEL)
            st = fg_apply_parallel(cfg, &slots[i], nthreads);
        else
            st = fg_apply_range(cfg, &slots[i], 0, slots[i].n);
        if (st == FG_ERR_THREAD) result = st;
        else if (st != FG_OK) return st;
    }
    return result;
}

int fg_optim_grads_finite(const fg_optim_slot *slots, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const fg_optim_slot *s = &slots[i];
        int ok = s->dtype == FG_FLOAT32 ? fg_all_finite_f32(s->grad, s->n)
                                        : fg_all_finite_f64(s->grad, s->n);
        if (!ok) return 0;
    }
    return 1;
}
