/* fg_tape_data.c: a tape's data inputs (see fg_tape.h): binding a call's x
 * and data arrays to their slots, and the two instructions that read
 * integer data, TAKE (an index chosen per call, such as class labels) and
 * CAST (integers as float64).
 *
 * An integer data slot's elements are int64_t; the workspace keeps every
 * slot's pointer in one double * array, and only TAKE and CAST (validated
 * as its only readers) convert it back. The range of the integers is
 * checked at binding, once per call, so the passes index without checks. */
#include <limits.h>
#include <stdlib.h>
#include "fg_tape_internal.h"

fg_status fg_tape_plan_data(fg_tape *t)
{
    size_t count = 0;
    for (size_t s = 0; s < t->n_slots; s++)
        count += t->slot_kind[s] == FG_SLOT_DATA || t->slot_kind[s] == FG_SLOT_DATA_INT;
    t->n_data = count;
    t->data_slot = malloc((count ? count : 1) * sizeof(int32_t));
    t->data_bound = malloc((count ? count : 1) * sizeof(int64_t));
    if (!t->data_slot || !t->data_bound) return FG_ERR_NOMEM;
    size_t j = 0;
    for (size_t s = 0; s < t->n_slots; s++)
        if (t->slot_kind[s] == FG_SLOT_DATA || t->slot_kind[s] == FG_SLOT_DATA_INT) {
            t->data_slot[j] = (int32_t)s;
            t->data_bound[j++] = INT64_MAX;
        }
    for (size_t i = 0; i < t->n_instr; i++) {
        const fg_tape_instr *I = &t->instr[i];
        if (I->code != FG_TI_TAKE) continue;
        for (j = 0; j < count; j++)
            if (t->data_slot[j] == I->b && I->p2 < t->data_bound[j]) t->data_bound[j] = I->p2;
    }
    return FG_OK;
}

size_t fg_tape_data_count(const fg_tape *t) { return t ? t->n_data : 0; }

fg_status fg_tape_data_info(const fg_tape *t, size_t j, int32_t *kind, size_t *size)
{
    if (!t || j >= t->n_data) return FG_ERR_ARG;
    const int32_t s = t->data_slot[j];
    if (kind) *kind = t->slot_kind[s];
    if (size) *size = (size_t)t->slot_size[s];
    return FG_OK;
}

fg_status fg_tape_bind(const fg_tape *t, fg_tape_ws *ws, const double *x,
                       const void *const *data)
{
    if (t->n_data && !data) return FG_ERR_ARG;
    for (size_t j = 0; j < t->n_data; j++) {
        if (!data[j]) return FG_ERR_ARG;
        const int64_t bound = t->data_bound[j];
        if (bound == INT64_MAX) continue;
        const int64_t *v = data[j];
        const int64_t count = t->slot_size[t->data_slot[j]];
        int bad = 0;
        for (int64_t i = 0; i < count; i++) bad |= v[i] < -bound || v[i] >= bound;
        if (bad) return FG_ERR_ARG;
    }
    ws->val[0] = (double *)x;
    for (size_t j = 0; j < t->n_data; j++) ws->val[t->data_slot[j]] = (double *)data[j];
    return FG_OK;
}

/* The element of a that output element i of a TAKE reads (the bound was
 * checked at binding). */
static inline int64_t take_source(const fg_tape *t, const fg_tape_instr *I, double *const *V,
                                  int64_t i)
{
    const int64_t *idx = t->index_pool + I->p0;
    const int64_t *sel = (const int64_t *)(const void *)V[I->b] + I->b_off;
    int64_t j = sel[idx[I->n + i]];
    if (j < 0) j += I->p2;
    return idx[i] + I->p1 * j;
}

void fg_tape_take_forward(const fg_tape *t, const fg_tape_instr *I, double *const *V,
                          const double *XA, double *XO, int64_t width)
{
    for (int64_t i = 0; i < I->n; i++) {
        const double *src = XA ? XA + take_source(t, I, V, i) * width : NULL;
        for (int64_t q = 0; q < width; q++) XO[i * width + q] = src ? src[q] : 0.0;
    }
}

void fg_tape_take_adjoint(const fg_tape *t, const fg_tape_instr *I, double *const *V,
                          const double *GO, double *GA, int64_t width)
{
    if (!GA) return;
    for (int64_t i = 0; i < I->n; i++) {
        double *dst = GA + take_source(t, I, V, i) * width;
        for (int64_t q = 0; q < width; q++) dst[q] += GO[i * width + q];
    }
}

void fg_tape_cast_value(const fg_tape_instr *I, double *const *V, double *O)
{
    const int64_t *src = (const int64_t *)(const void *)V[I->a] + I->a_off;
    for (int64_t i = 0; i < I->n; i++) O[i] = (double)src[i];
}
