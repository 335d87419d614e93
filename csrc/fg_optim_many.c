/* fg_optim_many.c: the multi-array, optionally threaded optimizer driver
 * (any descriptor of fg_optimizer.h), and the finite checks. */
#include <pthread.h>
#include <stdlib.h>
#include "fg_config.h"
#include "fg_optim.h"
#include "fg_optim_many.h"

#define FG_MAX_THREADS 64

static size_t fg_dtype_size(fg_dtype dtype) { return dtype == FG_FLOAT32 ? 4 : 8; }

static void *fg_offset(const void *p, size_t elems, size_t size)
{
    return p ? (void *)((const char *)p + elems * size) : NULL;
}

/* Runs the step on elements [begin, end) of one slot; `moved` holds
 * opt->n_state pointers of scratch for the state offset to begin. */
static fg_status fg_apply_range(const fg_optimizer *opt, const void *coeffs,
                                const fg_optim_slot *s, size_t begin, size_t end, void **moved)
{
    size_t k = fg_dtype_size(s->dtype), n = end - begin;
    void *const *state = s->state;
    if (begin) {
        for (int i = 0; i < opt->n_state; i++)
            moved[i] = s->state ? fg_offset(s->state[i], begin, k) : NULL;
        state = moved;
    }
    void *p = fg_offset(s->param, begin, k);
    const void *g = fg_offset(s->grad, begin, k);
    if (s->dtype == FG_FLOAT32)
        return opt->step_f32(NULL, p, g, (float *const *)state, n, coeffs);
    return opt->step_f64(NULL, p, g, (double *const *)state, n, coeffs);
}

typedef struct fg_chunk {
    const fg_optimizer *opt;
    const void *coeffs;
    const fg_optim_slot *slot;
    size_t begin, end;
    void **moved;
    fg_status status;
} fg_chunk;

static void *fg_chunk_run(void *arg)
{
    fg_chunk *c = (fg_chunk *)arg;
    c->status = fg_apply_range(c->opt, c->coeffs, c->slot, c->begin, c->end, c->moved);
    return NULL;
}

static fg_status fg_apply_parallel(const fg_optimizer *opt, const void *coeffs,
                                   const fg_optim_slot *s, int nthreads)
{
    fg_chunk chunks[FG_MAX_THREADS];
    pthread_t threads[FG_MAX_THREADS];
    int started[FG_MAX_THREADS];
    fg_status result = FG_OK;
    /* each chunk's own offset state pointers; the cost of one allocation
     * is nothing next to starting threads */
    const size_t per_chunk = opt->n_state > 0 ? (size_t)opt->n_state : 1;
    void **moved = malloc((size_t)nthreads * per_chunk * sizeof *moved);
    if (!moved) {
        fg_status st = fg_apply_range(opt, coeffs, s, 0, s->n, NULL);
        return st != FG_OK ? st : FG_ERR_THREAD;
    }
    /* Chunk edges on multiples of 64 elements keep every chunk's start
     * cache-line aligned when the array is. */
    size_t per = (s->n / (size_t)nthreads + 63) & ~(size_t)63;
    for (int t = 0; t < nthreads; t++) {
        size_t b = per * (size_t)t, e = b + per;
        if (b > s->n) b = s->n;
        if (e > s->n || t == nthreads - 1) e = s->n;
        chunks[t] = (fg_chunk){opt, coeffs, s, b, e, moved + (size_t)t * per_chunk, FG_OK};
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
    free(moved);
    for (int t = 0; t < nthreads; t++)
        if (chunks[t].status != FG_OK) return chunks[t].status;
    return result;
}

fg_status fg_optim_step_many(const fg_optimizer *opt, const void *coeffs,
                             const fg_optim_slot *slots, size_t count, int nthreads)
{
    if (!opt || !coeffs || (count && !slots)) return FG_ERR_ARG;
    if (nthreads > FG_MAX_THREADS) nthreads = FG_MAX_THREADS;
    fg_status result = FG_OK;
    for (size_t i = 0; i < count; i++) {
        fg_status st;
        if (nthreads > 1 && slots[i].n >= FG_OPTIM_MIN_PARALLEL)
            st = fg_apply_parallel(opt, coeffs, &slots[i], nthreads);
        else
            st = fg_apply_range(opt, coeffs, &slots[i], 0, slots[i].n, NULL);
        if (st == FG_ERR_THREAD) result = st;
        else if (st != FG_OK) return st;
    }
    return result;
}

/* fg_all_finite_f64 / _f32: x - x is 0 for finite x and NaN for inf/NaN; an
 * integer OR of the comparisons is a reduction gcc vectorizes (a float sum
 * would be a serial chain without -fassociative-math). */
#define FG_ALL_FINITE(T, SUFFIX)                                               \
    FG_VECTOR_CLONES                                                           \
    static int finite_loop_##SUFFIX(const T *FG_RESTRICT x, size_t n)          \
    {                                                                          \
        int bad = 0;                                                           \
        for (size_t i = 0; i < n; i++) bad |= (x[i] - x[i]) != 0;              \
        return !bad;                                                           \
    }                                                                          \
    int fg_all_finite_##SUFFIX(const T *x, size_t n)                           \
    {                                                                          \
        return n && !x ? 0 : finite_loop_##SUFFIX(x, n);                       \
    }
FG_ALL_FINITE(double, f64)
FG_ALL_FINITE(float, f32)
#undef FG_ALL_FINITE

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
