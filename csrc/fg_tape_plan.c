/* fg_tape_plan.c: the reverse sweep's plan (which adjoint writes may store,
 * which adjoints may share a buffer) and the workspaces (see
 * fg_tape_internal.h). Every size is computed with overflow checks. */
#include <stdlib.h>
#include <string.h>
#include "fg_ops.h"
#include "fg_tape_internal.h"

/* ------------------------------------------------------------- the plan */

/* Adjoints that need no pass. In out = a + b (or a - b, for a) the partial
 * d out / d a is exactly 1, so when a is a computed slot that nothing else
 * reads and that the operation covers whole (offset 0, stride 1, same size),
 * a's adjoint IS out's adjoint: the workspace points both slots at one
 * buffer and the sweep skips that operand. out's adjoint is complete when
 * the sweep reaches the instruction (its readers all come later in the tape)
 * and nothing writes it afterwards (a has no other reader), so the shared
 * buffer holds a's adjoint from then on, bit for bit what the pass would
 * have stored. Typical loss terms (sum of several terms) lose one pass per
 * + or -. Aliases chain: adj_alias names the root that owns a buffer. */
static fg_status plan_adjoint_aliases(fg_tape *t)
{
    t->adj_alias = malloc((t->n_slots ? t->n_slots : 1) * sizeof(int32_t));
    t->adj_skip = calloc(t->n_instr ? t->n_instr : 1, 1);
    int64_t *readers = calloc(t->n_slots, sizeof(int64_t));
    if (!t->adj_alias || !t->adj_skip || !readers) {
        free(readers);
        return FG_ERR_NOMEM;
    }
    for (size_t sl = 0; sl < t->n_slots; sl++) t->adj_alias[sl] = -1;
    for (size_t j = 0; j < t->n_instr; j++) {
        const fg_tape_instr *I = &t->instr[j];
        if (I->a >= 0) readers[I->a]++;
        if (I->b >= 0) readers[I->b]++;
        if (I->c >= 0) readers[I->c]++;
    }
    for (size_t j = t->n_instr; j-- > 0;) {
        const fg_tape_instr *I = &t->instr[j];
        if (I->code != FG_TI_BINARY || !t->slot_tan[I->out]
            || (I->op != FG_OP_add && I->op != FG_OP_subtract))
            continue;
        int32_t root = I->out;
        while (t->adj_alias[root] >= 0) root = t->adj_alias[root];
        for (int which = 0; which < (I->op == FG_OP_add ? 2 : 1); which++) {
            const int32_t sl = which ? I->b : I->a;
            const int64_t off = which ? I->b_off : I->a_off;
            const int32_t stride = which ? I->sb : I->sa;
            if (sl > 0 && t->slot_kind[sl] == FG_SLOT_COMPUTED && t->slot_tan[sl]
                && readers[sl] == 1 && stride == 1 && off == 0 && I->n == t->slot_size[sl]) {
                t->adj_alias[sl] = root;
                t->adj_skip[j] |= (unsigned char)(1u << which);
            }
        }
    }
    free(readers);
    return FG_OK;
}

/* Which adjoint writes may store instead of accumulate (see adj_store).
 * The reverse sweep visits instructions from last to first and skips those
 * whose output does not depend on x. The first of them that writes into a
 * slot's adjoint may store when it writes each element of a range exactly
 * once: a unary or binary operand read contiguously (stride 1, any offset
 * and length, so x[1:] and x[:-1] qualify; not both operands on one slot,
 * as in x * x or x[1:] * x[:-1]), the operand of a sum that spans the
 * slot, or a matrix product's operand (its matrices, on a slot the other
 * operand does not read; a matrix shared by the products of a batch is
 * stored by the first and added to by the others). Every later write adds to it. Elements outside that range (x[99]
 * when x[:-1] stores first) are zeroed before the sweep, and so are slots
 * with no such first write. Storing 0 + v keeps the result bit for bit
 * that of zeroing and adding (0 + -0 = +0 alike). */
static fg_status plan_adjoint_stores(fg_tape *t)
{
    t->adj_store = calloc(t->n_instr ? t->n_instr : 1, 1);
    t->adj_zero = calloc(t->n_slots, 1);
    t->adj_lo = calloc(t->n_slots, sizeof(int64_t));
    t->adj_hi = calloc(t->n_slots, sizeof(int64_t));
    t->adj_part = calloc(t->n_slots, sizeof(int32_t));
    unsigned char *seen = calloc(t->n_slots, 1);
    if (!t->adj_store || !t->adj_zero || !t->adj_lo || !t->adj_hi || !t->adj_part || !seen) {
        free(seen);
        return FG_ERR_NOMEM;
    }
    for (size_t j = t->n_instr; j-- > 0;) {
        const fg_tape_instr *I = &t->instr[j];
        if (!t->slot_tan[I->out]) continue;
        const int a_tan = I->a >= 0 && t->slot_tan[I->a];
        const int b_tan = I->b >= 0 && t->slot_tan[I->b];
        unsigned char flags = 0;
        if (I->code == FG_TI_UNARY || I->code == FG_TI_BINARY) {
            const int same = I->code == FG_TI_BINARY && I->a == I->b;
            if (a_tan && !same && !seen[I->a] && I->sa == 1 && I->n > 0
                && !(t->adj_skip[j] & 1)) {
                flags |= 1;
                t->adj_lo[I->a] = I->a_off;
                t->adj_hi[I->a] = I->a_off + I->n;
            }
            if (I->code == FG_TI_BINARY && b_tan && !same && !seen[I->b] && I->sb == 1
                && I->n > 0 && !(t->adj_skip[j] & 2)) {
                flags |= 2;
                t->adj_lo[I->b] = I->b_off;
                t->adj_hi[I->b] = I->b_off + I->n;
            }
        } else if (I->code == FG_TI_SUM) {
            if (a_tan && !seen[I->a] && I->a_off == 0
                && I->p0 * I->p1 * I->p2 == t->slot_size[I->a]) {
                flags |= 1;
                t->adj_hi[I->a] = t->slot_size[I->a];
            }
        } else if (I->code == FG_TI_MATMUL && I->a != I->b) {
            /* each operand's matrices, a contiguous range (see fg_tape_matmul.c) */
            const int64_t ea = (I->sa ? I->p3 : 1) * I->p0 * I->p1;
            const int64_t eb = (I->sb ? I->p3 : 1) * I->p1 * I->p2;
            if (a_tan && !seen[I->a] && ea > 0) {
                flags |= 1;
                t->adj_lo[I->a] = I->a_off;
                t->adj_hi[I->a] = I->a_off + ea;
            }
            if (b_tan && !seen[I->b] && eb > 0) {
                flags |= 2;
                t->adj_lo[I->b] = I->b_off;
                t->adj_hi[I->b] = I->b_off + eb;
            }
        }
        t->adj_store[j] = flags;
        if (a_tan) seen[I->a] = 1;
        if (b_tan) seen[I->b] = 1;
    }
    for (size_t s = 0; s < t->n_slots; s++)
        t->adj_zero[s] = t->slot_tan[s] && t->adj_alias[s] < 0;
    for (size_t j = 0; j < t->n_instr; j++) {
        const fg_tape_instr *I = &t->instr[j];
        if (t->adj_store[j] & 1) t->adj_zero[I->a] = 0;
        if (t->adj_store[j] & 2) t->adj_zero[I->b] = 0;
    }
    for (size_t s = 0; s < t->n_slots; s++)
        if (t->slot_tan[s] && !t->adj_zero[s] && t->adj_alias[s] < 0
            && (t->adj_lo[s] > 0 || t->adj_hi[s] < t->slot_size[s]))
            t->adj_part[t->n_adj_part++] = (int32_t)s;
    /* The common loss ends in a full sum of a slot nothing else reads: its
     * adjoint is the constant 0 + scale * 1 (the sweep's seed) in every
     * call, so the workspace stores it once and the sweep skips the sum. */
    t->sweep_start = t->n_instr;
    const fg_tape_instr *L = &t->instr[t->n_instr - 1];
    if (L->code == FG_TI_SUM && (t->adj_store[t->n_instr - 1] & 1) && L->p0 == 1 && L->p2 == 1
        && L->a != 0) {   /* slot 0's adjoint is the caller's grad */
        size_t readers = 0;
        for (size_t j = 0; j < t->n_instr; j++) {
            const fg_tape_instr *I = &t->instr[j];
            readers += (I->a == L->a) + (I->b == L->a) + (I->c == L->a);
        }
        if (readers == 1) t->sweep_start = t->n_instr - 1;
    }
    free(seen);
    return FG_OK;
}

fg_status fg_tape_plan_adjoint(fg_tape *t)
{
    fg_status st = plan_adjoint_aliases(t);
    return st == FG_OK ? plan_adjoint_stores(t) : st;
}

/* ------------------------------------------------------------ workspaces */

/* The doubles a workspace with k directions holds, 0 when the count or its
 * byte size overflows (alias: NULL counts an adjoint buffer for every slot
 * with a tangent, an upper bound before planning). */
static size_t ws_doubles(size_t n_slots, const int64_t *slot_size, const int32_t *slot_kind,
                         const unsigned char *slot_tan, const int32_t *alias, size_t prod_len,
                         size_t k, int for_rev)
{
    int ok = 1;
    size_t total = 8;   /* the 64-byte alignment of buf inside raw */
    const size_t per_tan = fg_size_add(fg_size_mul(2, k, &ok), 1, &ok);   /* tan, hc, hd */
    const size_t per_rev = fg_size_add(k, 1, &ok);                          /* fadj, fadjt */
    for (size_t s = 0; s < n_slots; s++) {
        const size_t padded = fg_pad8((size_t)slot_size[s]);
        if (slot_kind[s] == FG_SLOT_COMPUTED) total = fg_size_add(total, padded, &ok);
        if (!slot_tan[s]) continue;
        total = fg_size_add(total, fg_size_mul(padded, per_tan, &ok), &ok);
        if (!alias || alias[s] < 0) total = fg_size_add(total, padded, &ok);
        if (for_rev) total = fg_size_add(total, fg_size_mul(padded, per_rev, &ok), &ok);
    }
    total = fg_size_add(total, fg_size_mul(fg_size_add(prod_len, 1, &ok), per_rev, &ok), &ok);
    if (!ok || total > (size_t)PTRDIFF_MAX / sizeof(double)) return 0;
    return total;
}

size_t fg_tape_ws_doubles(const fg_tape *t, size_t k, int for_rev)
{
    return ws_doubles(t->n_slots, t->slot_size, t->slot_kind, t->slot_tan, t->adj_alias,
                      t->prod_len, k, for_rev);
}

int fg_tape_spec_ws_fits(const fg_tape_spec *s, const unsigned char *slot_tan)
{
    size_t prod_len = 0;
    for (size_t j = 0; j < s->n_instr; j++)
        if (s->instr[j].code == FG_TI_PROD && (size_t)s->instr[j].p1 > prod_len)
            prod_len = (size_t)s->instr[j].p1;
    return ws_doubles(s->n_slots, s->slot_size, s->slot_kind, slot_tan, NULL, prod_len, 1, 1) > 0;
}

fg_status fg_tape_ws_create(const fg_tape *t, size_t k, fg_tape_ws **out)
{
    if (!t || !out || k < 1) return FG_ERR_ARG;
    *out = NULL;
    if (k > t->n) k = t->n;
    if (!fg_tape_ws_doubles(t, k, 0)) return FG_ERR_NOMEM;   /* cannot exist */
    /* Layout: the values and adjoints that a value or reverse pass touches
     * come first, packed together (L1-resident, a few pages), then the
     * tangent blocks of the dual and hyper-dual modes (k times larger).
     * Every slot starts on a 64-byte line (sizes rounded up to 8 doubles),
     * so full vectors of a slot never straddle a cache line. The sums below
     * cannot overflow: fg_tape_ws_doubles bounds them. */
    const size_t ns = t->n_slots;
    size_t vals = 0, adj_total = 0, tans = 0;
    for (size_t s = 0; s < ns; s++) {
        const size_t padded = fg_pad8((size_t)t->slot_size[s]);
        if (t->slot_kind[s] == FG_SLOT_COMPUTED) vals += padded;
        if (t->slot_tan[s]) {
            tans += padded * (2 * k + 1);   /* tan, hc, hd */
            if (t->adj_alias[s] < 0) adj_total += padded;
        }
    }
    fg_tape_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return FG_ERR_NOMEM;
    ws->val = calloc(7 * ns, sizeof(double *));
    ws->raw = malloc((vals + adj_total + tans + 8) * sizeof(double));
    ws->scratch = malloc((t->prod_len + 1) * (k + 1) * sizeof(double));
    if (!ws->val || !ws->raw || !ws->scratch) {
        fg_tape_ws_free(ws);
        return FG_ERR_NOMEM;
    }
    ws->buf = (double *)(((uintptr_t)ws->raw + 63) & ~(uintptr_t)63);
    ws->tan = ws->val + ns;
    ws->hc = ws->val + 2 * ns;
    ws->hd = ws->val + 3 * ns;
    ws->adj = ws->val + 4 * ns;
    ws->fadj = ws->val + 5 * ns;
    ws->fadjt = ws->val + 6 * ns;
    ws->tape = t;
    ws->k = k;
    ws->adj_buf = ws->buf + vals;
    ws->adj_total = adj_total;
    ws->adj_zero_total = 0;
    /* Slot 0's adjoint is the caller's grad during a reverse call (see
     * fg_tape_value_grad_reverse_f64): its own buffer is never zeroed. */
    for (size_t s = 1; s < ns; s++)
        if (t->adj_zero[s]) ws->adj_zero_total += fg_pad8((size_t)t->slot_size[s]);
    double *p = ws->buf, *q = ws->adj_buf, *q_store = ws->adj_buf + ws->adj_zero_total;
    double *tp = ws->adj_buf + adj_total;
    for (size_t s = 0; s < ns; s++) {
        const size_t padded = fg_pad8((size_t)t->slot_size[s]);
        if (t->slot_kind[s] == FG_SLOT_CONST) ws->val[s] = t->const_pool + t->slot_const_off[s];
        if (t->slot_kind[s] == FG_SLOT_COMPUTED) { ws->val[s] = p; p += padded; }
        if (t->slot_tan[s]) {
            ws->tan[s] = tp; tp += padded * k;
            ws->hc[s] = tp; tp += padded;
            ws->hd[s] = tp; tp += padded * k;
            if (t->adj_alias[s] >= 0) continue;   /* shares its root's buffer, below */
            if (t->adj_zero[s] && s != 0) { ws->adj[s] = q; q += padded; }
            else { ws->adj[s] = q_store; q_store += padded; }
        }
    }
    for (size_t s = 0; s < ns; s++)
        if (t->adj_alias[s] >= 0) ws->adj[s] = ws->adj[t->adj_alias[s]];
    if (t->sweep_start < t->n_instr) {   /* the skipped final sum's adjoint */
        const fg_tape_instr *L = &t->instr[t->n_instr - 1];
        double *g = ws->adj[L->a];
        const double gu = L->scale * 1.0;
        for (int64_t j = 0; j < L->p1; j++) g[j] = 0.0 + gu;
    }
    *out = ws;
    return FG_OK;
}

void fg_tape_ws_free(fg_tape_ws *ws)
{
    if (!ws) return;
    free(ws->val);
    free(ws->raw);
    free(ws->for_buf);
    free(ws->scratch);
    free(ws);
}

/* The forward-over-reverse buffers, allocated on a workspace's first
 * Hessian or hvp (most workspaces never need them: k + 1 doubles per
 * element). */
fg_status fg_tape_ws_reverse_buffers(const fg_tape *t, fg_tape_ws *ws)
{
    if (ws->for_buf) return FG_OK;
    if (!fg_tape_ws_doubles(t, ws->k, 1)) return FG_ERR_NOMEM;   /* bounds the sum below */
    size_t total = 0;
    for (size_t s = 0; s < t->n_slots; s++)
        if (t->slot_tan[s]) total += fg_pad8((size_t)t->slot_size[s]) * (ws->k + 1);
    double *p = malloc((total ? total : 1) * sizeof(double));
    if (!p) return FG_ERR_NOMEM;
    ws->for_buf = p;
    for (size_t s = 0; s < t->n_slots; s++) {
        if (!t->slot_tan[s]) continue;
        const size_t padded = fg_pad8((size_t)t->slot_size[s]);
        ws->fadj[s] = p; p += padded;
        ws->fadjt[s] = p; p += padded * ws->k;
    }
    return FG_OK;
}
