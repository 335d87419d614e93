/* fg_tape.c: validation and the three evaluation modes of the tape VM
 * (see fg_tape.h). The elementwise cases of every mode are generated from
 * fg_ops.def by the one kernel generator (fg_elem.h); this file holds the
 * structural instructions (where, gather, sum, matmul) and the drivers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fg_config.h"
#include "fg_ops.h"
#include "fg_tape.h"

struct fg_tape {
    size_t n;              /* input length */
    size_t n_slots, n_instr;
    int64_t *slot_size;
    int32_t *slot_kind;
    unsigned char *slot_tan;   /* 1: the slot depends differentiably on x */
    double *const_pool;
    int64_t *slot_const_off;
    int64_t *index_pool;
    fg_tape_instr *instr;
    unsigned char *adj_store;  /* [n_instr] bit 0 (a), bit 1 (b): the reverse
                                  sweep's first write into that operand's
                                  adjoint covers a contiguous range of the slot
                                  (adj_lo, adj_hi), so it stores
                                  (0 + v) instead of adding to a zeroed buffer */
    unsigned char *adj_zero;   /* [n_slots] 1: the adjoint must be zeroed first */
    int64_t *adj_lo, *adj_hi;  /* [n_slots] the element range a storing first write
                                  covers (a slot with adj_zero == 0) */
    int32_t *adj_part;         /* slots whose storing first write covers a proper
                                  sub-range: the rest is zeroed before the sweep */
    size_t n_adj_part;
    int32_t *adj_alias;        /* [n_slots] -1, or the slot whose adjoint buffer this
                                  slot shares (see plan_adjoint_aliases) */
    unsigned char *adj_skip;   /* [n_instr] bit 0 (a), bit 1 (b): that operand's
                                  adjoint is an alias, the sweep adds nothing */
    size_t sweep_start;        /* instructions the sweep visits: n_instr, or
                                  n_instr - 1 when the last one is a full sum
                                  whose adjoint (a constant) each workspace
                                  writes once, see plan_adjoint_stores */
    int32_t out_slot;
    size_t total;          /* sum of slot sizes */
};

struct fg_tape_ws {
    const fg_tape *tape;
    size_t k;              /* tangent directions the buffers hold */
    double **val;          /* [n_slots] values (input: set per call) */
    double **tan;          /* [n_slots] eps1 parts, size*kk (NULL: no tangent) */
    double **hc;           /* [n_slots] eps2 parts, size */
    double **hd;           /* [n_slots] eps1 eps2 parts, size*kk */
    double **adj;          /* [n_slots] reverse-mode adjoints, size (NULL: no tangent) */
    double **fadj, **fadjt;    /* [n_slots] forward-over-reverse: adjoints (size) and
                                  their tangents (size*kk), unshared (no aliases);
                                  allocated by the first Hessian call (for_buf) */
    double *for_buf;
    double *adj_buf;       /* all adjoints, contiguous; those the sweep must zero
                              come first, so one memset of adj_zero_total clears them */
    size_t adj_total, adj_zero_total;
    double *buf;           /* every buffer above: raw, aligned to 64 bytes */
    void *raw;
};

/* n rounded up to a whole 64-byte line of doubles. */
static size_t fg_pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* ------------------------------------------------------------ validation */

#define FG_TAPE_MAX_PRODUCT 4.0e18   /* sum/matmul p0*p1*p2 below int64's range */

static int64_t operand_extent(const fg_tape_instr *I, int which)
{
    /* Elements an operand must provide: n for a full operand, 1 for a
     * broadcast scalar, or the code's own shape. */
    switch (I->code) {
    case FG_TI_UNARY: return I->n;
    case FG_TI_BINARY: return which == 0 ? (I->sa ? I->n : 1) : (I->sb ? I->n : 1);
    case FG_TI_WHERE:
        return which == 0 ? (I->sa ? I->n : 1) : which == 1 ? (I->sb ? I->n : 1)
                                                          : (I->sc ? I->n : 1);
    case FG_TI_SUM: return I->p0 * I->p1 * I->p2;
    case FG_TI_MATMUL: return which == 0 ? I->p0 * I->p1 : I->p1 * I->p2;
    default: return 0;
    }
}

static fg_status check_operand(const fg_tape_spec *s, const unsigned char *written,
                               int32_t slot, int64_t off, int64_t extent)
{
    if (slot < 0 || (size_t)slot >= s->n_slots || off < 0 || extent < 0) return FG_ERR_ARG;
    if (s->slot_kind[slot] == FG_SLOT_COMPUTED && !written[slot]) return FG_ERR_ARG;
    if (off + extent > s->slot_size[slot]) return FG_ERR_SHAPE;
    return FG_OK;
}

static fg_status validate(const fg_tape_spec *s, unsigned char *tan)
{
    size_t ns = s->n_slots;
    if (ns < 2 || s->n_instr < 1 || !s->slot_size || !s->slot_kind || !s->instr)
        return FG_ERR_ARG;
    if (s->slot_kind[0] != FG_SLOT_INPUT || s->slot_size[0] < 1) return FG_ERR_ARG;
    unsigned char *written = calloc(ns, 1);
    if (!written) return FG_ERR_NOMEM;
    fg_status st = FG_OK;
    tan[0] = 1;
    for (size_t i = 1; i < ns && st == FG_OK; i++) {
        int32_t kind = s->slot_kind[i];
        tan[i] = 0;
        if (s->slot_size[i] < 0 || (kind != FG_SLOT_CONST && kind != FG_SLOT_COMPUTED))
            st = FG_ERR_ARG;
        else if (kind == FG_SLOT_CONST
                 && (!s->slot_const_off || s->slot_const_off[i] < 0
                     || (size_t)(s->slot_const_off[i] + s->slot_size[i]) > s->n_const
                     || (s->slot_size[i] && !s->const_pool)))
            st = FG_ERR_ARG;
    }
    for (size_t j = 0; j < s->n_instr && st == FG_OK; j++) {
        const fg_tape_instr *I = &s->instr[j];
        if (I->out < 1 || (size_t)I->out >= ns || s->slot_kind[I->out] != FG_SLOT_COMPUTED
            || written[I->out] || I->n != s->slot_size[I->out] || I->n < 0) {
            st = FG_ERR_ARG;
            break;
        }
        /* Shape parameters stay far from int64 overflow in extent products. */
        if ((I->code == FG_TI_SUM || I->code == FG_TI_MATMUL)
            && (double)I->p0 * (double)I->p1 * (double)I->p2 > FG_TAPE_MAX_PRODUCT) {
            st = FG_ERR_SHAPE;
            break;
        }
        const fg_op_info *info = fg_op_get_info(I->op);
        switch (I->code) {
        case FG_TI_UNARY:
            if (!info || info->kind != FG_OP_KIND_UNARY) { st = FG_ERR_UNSUPPORTED; break; }
            st = check_operand(s, written, I->a, I->a_off, operand_extent(I, 0));
            if (st == FG_OK) tan[I->out] = tan[I->a];
            break;
        case FG_TI_BINARY:
            if (!info || info->kind == FG_OP_KIND_UNARY) { st = FG_ERR_UNSUPPORTED; break; }
            if ((I->sa != 0 && I->sa != 1) || (I->sb != 0 && I->sb != 1)) { st = FG_ERR_ARG; break; }
            st = check_operand(s, written, I->a, I->a_off, operand_extent(I, 0));
            if (st == FG_OK) st = check_operand(s, written, I->b, I->b_off, operand_extent(I, 1));
            if (st == FG_OK)
                tan[I->out] = info->kind == FG_OP_KIND_COMPARE ? 0 : (tan[I->a] | tan[I->b]);
            break;
        case FG_TI_WHERE:
            if ((I->sa != 0 && I->sa != 1) || (I->sb != 0 && I->sb != 1)
                || (I->sc != 0 && I->sc != 1)) { st = FG_ERR_ARG; break; }
            st = check_operand(s, written, I->a, I->a_off, operand_extent(I, 0));
            if (st == FG_OK) st = check_operand(s, written, I->b, I->b_off, operand_extent(I, 1));
            if (st == FG_OK) st = check_operand(s, written, I->c, I->c_off, operand_extent(I, 2));
            if (st == FG_OK) tan[I->out] = tan[I->a] | tan[I->b];
            break;
        case FG_TI_GATHER: {
            if (I->p0 < 0 || !s->index_pool || (size_t)(I->p0 + I->n) > s->n_index) {
                st = FG_ERR_ARG;
                break;
            }
            st = check_operand(s, written, I->a, I->a_off, 0);
            if (st != FG_OK) break;
            int64_t avail = s->slot_size[I->a] - I->a_off;
            for (int64_t i = 0; i < I->n; i++) {
                int64_t ix = s->index_pool[I->p0 + i];
                if (ix < 0 || ix >= avail) { st = FG_ERR_SHAPE; break; }
            }
            if (st == FG_OK) tan[I->out] = tan[I->a];
            break;
        }
        case FG_TI_SUM:
            if (I->p0 < 0 || I->p1 < 0 || I->p2 < 0 || I->p0 * I->p2 != I->n) {
                st = FG_ERR_SHAPE;
                break;
            }
            st = check_operand(s, written, I->a, I->a_off, operand_extent(I, 0));
            if (st == FG_OK) tan[I->out] = tan[I->a];
            break;
        case FG_TI_MATMUL:
            if (I->p0 < 0 || I->p1 < 0 || I->p2 < 0 || I->p0 * I->p2 != I->n) {
                st = FG_ERR_SHAPE;
                break;
            }
            st = check_operand(s, written, I->a, I->a_off, operand_extent(I, 0));
            if (st == FG_OK) st = check_operand(s, written, I->b, I->b_off, operand_extent(I, 1));
            if (st == FG_OK) tan[I->out] = tan[I->a] | tan[I->b];
            break;
        default:
            st = FG_ERR_UNSUPPORTED;
        }
        written[I->out] = 1;
    }
    if (st == FG_OK && s->instr[s->n_instr - 1].n != 1) st = FG_ERR_SHAPE;
    free(written);
    return st;
}

#define FG_DUP(dst, src, count, type)                                          \
    do {                                                                       \
        size_t bytes_ = (count) * sizeof(type);                                \
        dst = malloc(bytes_ ? bytes_ : 1);                                     \
        if (!dst) goto nomem;                                                  \
        if (bytes_) memcpy(dst, src, bytes_);                                  \
    } while (0)

/* Which adjoint writes may store instead of accumulate (see adj_store).
 * The reverse sweep visits instructions from last to first and skips those
 * whose output does not depend on x. The first of them that writes into a
 * slot's adjoint may store when it writes each element of a range exactly
 * once: a unary or binary operand read contiguously (stride 1, any offset
 * and length, so x[1:] and x[:-1] qualify; not both operands on one slot,
 * as in x * x or x[1:] * x[:-1]), or the operand of a sum that spans the
 * slot. Every later write adds to it. Elements outside that range (x[99]
 * when x[:-1] stores first) are zeroed before the sweep, and so are slots
 * with no such first write, as before. Storing 0 + v keeps the result bit
 * for bit that of zeroing and adding (0 + -0 = +0 alike). */
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

fg_status fg_tape_create(const fg_tape_spec *spec, fg_tape **out)
{
    if (!spec || !out) return FG_ERR_ARG;
    *out = NULL;
    unsigned char *tan = malloc(spec->n_slots ? spec->n_slots : 1);
    if (!tan) return FG_ERR_NOMEM;
    fg_status st = validate(spec, tan);
    if (st != FG_OK) {
        free(tan);
        return st;
    }
    fg_tape *t = calloc(1, sizeof *t);
    if (!t) {
        free(tan);
        return FG_ERR_NOMEM;
    }
    t->slot_tan = tan;
    t->n = (size_t)spec->slot_size[0];
    t->n_slots = spec->n_slots;
    t->n_instr = spec->n_instr;
    FG_DUP(t->slot_size, spec->slot_size, spec->n_slots, int64_t);
    FG_DUP(t->slot_kind, spec->slot_kind, spec->n_slots, int32_t);
    t->slot_const_off = calloc(spec->n_slots, sizeof(int64_t));
    if (!t->slot_const_off) goto nomem;
    if (spec->slot_const_off)
        memcpy(t->slot_const_off, spec->slot_const_off, spec->n_slots * sizeof(int64_t));
    FG_DUP(t->const_pool, spec->const_pool, spec->n_const, double);
    FG_DUP(t->index_pool, spec->index_pool, spec->n_index, int64_t);
    FG_DUP(t->instr, spec->instr, spec->n_instr, fg_tape_instr);
    t->out_slot = spec->instr[spec->n_instr - 1].out;
    for (size_t i = 0; i < t->n_slots; i++) t->total += (size_t)t->slot_size[i];
    if (plan_adjoint_aliases(t) != FG_OK || plan_adjoint_stores(t) != FG_OK) goto nomem;
    *out = t;
    return FG_OK;
nomem:
    fg_tape_free(t);
    return FG_ERR_NOMEM;
}

void fg_tape_free(fg_tape *t)
{
    if (!t) return;
    free(t->slot_size);
    free(t->slot_kind);
    free(t->slot_tan);
    free(t->slot_const_off);
    free(t->const_pool);
    free(t->index_pool);
    free(t->instr);
    free(t->adj_store);
    free(t->adj_zero);
    free(t->adj_lo);
    free(t->adj_hi);
    free(t->adj_part);
    free(t->adj_alias);
    free(t->adj_skip);
    free(t);
}

size_t fg_tape_input_size(const fg_tape *t) { return t ? t->n : 0; }
size_t fg_tape_instr_count(const fg_tape *t) { return t ? t->n_instr : 0; }
size_t fg_tape_total_size(const fg_tape *t) { return t ? t->total : 0; }

/* ------------------------------------------------------------- workspace */

fg_status fg_tape_ws_create(const fg_tape *t, size_t k, fg_tape_ws **out)
{
    if (!t || !out || k < 1) return FG_ERR_ARG;
    *out = NULL;
    if (k > t->n) k = t->n;
    /* Layout: the values and adjoints that a value or reverse pass touches
     * come first, packed together (L1-resident, a few pages), then the
     * tangent blocks of the dual and hyper-dual modes (k times larger).
     * Every slot starts on a 64-byte line (sizes rounded up to 8 doubles),
     * so full vectors of a slot never straddle a cache line. */
    size_t ns = t->n_slots, vals = 0, adj_total = 0, tans = 0;
    for (size_t s = 0; s < ns; s++) {
        const size_t sz = (size_t)t->slot_size[s], padded = fg_pad8(sz);
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
    if (!ws->val || !ws->raw) {
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
        const size_t sz = (size_t)t->slot_size[s], padded = fg_pad8(sz);
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
    free(ws);
}

size_t fg_tape_ws_chunk(const fg_tape_ws *ws) { return ws ? ws->k : 0; }

/* ------------------------------------------------------ structural kernels */

/* sum_j a[j] with 8 interleaved partial sums: no serial chain of dependent
 * adds (4x faster for short vectors) and a smaller rounding error than one
 * running sum, in the spirit of NumPy's pairwise summation. */
FG_INLINE double sum_contiguous(const double *FG_RESTRICT a, int64_t len)
{
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= len; j += 8)
        for (int q = 0; q < 8; q++) s[q] += a[j + q];
    double acc = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; j < len; j++) acc += a[j];
    return acc;
}

/* out[u*post + w] = scale * sum_j a[(u*len + j)*post + w]; each "element" is
 * `width` doubles wide (1 for values, kk for tangent blocks). */
FG_ELEM_HOT static void reduce_sum(const double *FG_RESTRICT a, double *FG_RESTRICT out, int64_t pre,
                       int64_t len, int64_t post, int64_t width, double scale)
{
    int64_t row = post * width;
    for (int64_t u = 0; u < pre; u++) {
        double *o = out + u * row;
        const double *src = a + u * len * row;
        if (row == 1) {
            o[0] = sum_contiguous(src, len) * scale;
            continue;
        }
        for (int64_t w = 0; w < row; w++) o[w] = 0.0;
        for (int64_t j = 0; j < len; j++) {
            const double *r = src + j * row;
            for (int64_t w = 0; w < row; w++) o[w] += r[w];
        }
        if (scale != 1.0)
            for (int64_t w = 0; w < row; w++) o[w] *= scale;
    }
}

/* Adjoint of a full or row sum (post == 1): GA[u*len + j] += scale GO[u]
 * (with za: = 0 + scale GO[u], see plan_adjoint_stores). */
FG_ELEM_HOT static void sum_rows_adjoint(const double *FG_RESTRICT GO, double *FG_RESTRICT GA,
                                         int64_t pre, int64_t len, double scale, int za)
{
    for (int64_t u = 0; u < pre; u++) {
        const double gu = scale * GO[u];
        double *ga = GA + u * len;
        if (za) for (int64_t j = 0; j < len; j++) ga[j] = 0.0 + gu;
        else for (int64_t j = 0; j < len; j++) ga[j] += gu;
    }
}

/* C[i, j*w + q] += sum_l A[i, l] * Y[l, j*w + q]: A (M x L), Y (L x Pw), C (M x Pw).
 * i-l-j order keeps the inner loop contiguous; a matrix-vector product
 * (Pw == 1) becomes row dot products. */
static void mm_left(const double *FG_RESTRICT A, const double *FG_RESTRICT Y,
                    double *FG_RESTRICT C, int64_t M, int64_t L, int64_t Pw)
{
    if (Pw == 1) {
        for (int64_t i = 0; i < M; i++) {
            const double *ar = A + i * L;
            double acc = 0.0;
            for (int64_t l = 0; l < L; l++) acc += ar[l] * Y[l];
            C[i] += acc;
        }
        return;
    }
    for (int64_t i = 0; i < M; i++) {
        double *cr = C + i * Pw;
        for (int64_t l = 0; l < L; l++) {
            const double a = A[i * L + l];
            const double *yr = Y + l * Pw;
            for (int64_t j = 0; j < Pw; j++) cr[j] += a * yr[j];
        }
    }
}

/* C[i, j, q] += sum_l X[i, l, q] * B[l, j]: X (M x L x w), B (L x P), C (M x P x w). */
static void mm_right(const double *FG_RESTRICT X, const double *FG_RESTRICT B,
                     double *FG_RESTRICT C, int64_t M, int64_t L, int64_t P, int64_t w)
{
    for (int64_t i = 0; i < M; i++) {
        for (int64_t l = 0; l < L; l++) {
            const double *x = X + (i * L + l) * w;
            for (int64_t j = 0; j < P; j++) {
                const double b = B[l * P + j];
                double *c = C + (i * P + j) * w;
                for (int64_t q = 0; q < w; q++) c[q] += x[q] * b;
            }
        }
    }
}

static void gather(const double *FG_RESTRICT a, const int64_t *FG_RESTRICT idx,
                   double *FG_RESTRICT out, int64_t n, int64_t width)
{
    if (width == 1) {
        for (int64_t i = 0; i < n; i++) out[i] = a[idx[i]];
        return;
    }
    for (int64_t i = 0; i < n; i++) memcpy(out + i * width, a + idx[i] * width,
                                           (size_t)width * sizeof(double));
}

/* out[i] = cond ? a : b over blocks of `width` doubles; a NULL operand
 * (a constant's tangent) reads as zeros. */
static void where_blocks(const double *c, int64_t sc, const double *a, int64_t sa,
                         const double *b, int64_t sb, double *out, int64_t n, int64_t width)
{
    for (int64_t i = 0; i < n; i++) {
        const double *src = c[i * sc] != 0 ? (a ? a + i * sa * width : NULL)
                                           : (b ? b + i * sb * width : NULL);
        double *o = out + i * width;
        if (src) memcpy(o, src, (size_t)width * sizeof(double));
        else memset(o, 0, (size_t)width * sizeof(double));
    }
}

/* ------------------------------------------------------- elementwise kernels */

#include "fg_elem.h"

/* ------------------------------------------------------------------ passes */

#define OPND(arr, slot, off, w) ((arr)[slot] ? (arr)[slot] + (off) * (w) : NULL)

static void run_value(const fg_tape *t, double *const *V)
{
    const int64_t *index = t->index_pool;
    for (size_t s = 0; s < t->n_instr; s++) {
        const fg_tape_instr *I = &t->instr[s];
        double *O = V[I->out];
        const int64_t n = I->n;
        switch (I->code) {
        case FG_TI_UNARY:
            fg_elem_unary_value(I->op, V[I->a] + I->a_off, O, n);
            break;
        case FG_TI_BINARY:
            fg_elem_binary_value(I->op, V[I->a] + I->a_off, I->sa, V[I->b] + I->b_off, I->sb,
                                 O, n);
            break;
        case FG_TI_WHERE:
            where_blocks(V[I->c] + I->c_off, I->sc, V[I->a] + I->a_off, I->sa,
                         V[I->b] + I->b_off, I->sb, O, n, 1);
            break;
        case FG_TI_GATHER:
            gather(V[I->a] + I->a_off, index + I->p0, O, n, 1);
            break;
        case FG_TI_SUM:
            reduce_sum(V[I->a] + I->a_off, O, I->p0, I->p1, I->p2, 1, I->scale);
            break;
        case FG_TI_MATMUL:
            memset(O, 0, (size_t)n * sizeof(double));
            mm_left(V[I->a] + I->a_off, V[I->b] + I->b_off, O, I->p0, I->p1, I->p2);
            break;
        }
    }
}

/* Dual pass with kk directions: tangent blocks of kk doubles per element. */
static void run_dual(const fg_tape *t, fg_tape_ws *ws, int64_t kk)
{
    double *const *V = ws->val;
    double *const *T = ws->tan;
    const int64_t *index = t->index_pool;
    for (size_t s = 0; s < t->n_instr; s++) {
        const fg_tape_instr *I = &t->instr[s];
        double *O = V[I->out], *TO = T[I->out];
        const int64_t n = I->n;
        const double *A = I->a >= 0 ? V[I->a] + I->a_off : NULL;
        const double *B = I->b >= 0 ? V[I->b] + I->b_off : NULL;
        const double *TA = I->a >= 0 ? OPND(T, I->a, I->a_off, kk) : NULL;
        const double *TB = I->b >= 0 ? OPND(T, I->b, I->b_off, kk) : NULL;
        switch (I->code) {
        case FG_TI_UNARY:
            if (TO) fg_elem_unary_dual(I->op, A, TA, O, TO, n, kk);
            else fg_elem_unary_value(I->op, A, O, n);
            break;
        case FG_TI_BINARY:
            if (TO) fg_elem_binary_dual(I->op, A, TA, I->sa, B, TB, I->sb, O, TO, n, kk);
            else fg_elem_binary_value(I->op, A, I->sa, B, I->sb, O, n);
            break;
        case FG_TI_WHERE: {
            const double *C = V[I->c] + I->c_off;
            where_blocks(C, I->sc, A, I->sa, B, I->sb, O, n, 1);
            if (TO) where_blocks(C, I->sc, TA, I->sa, TB, I->sb, TO, n, kk);
            break;
        }
        case FG_TI_GATHER:
            gather(A, index + I->p0, O, n, 1);
            if (TO) gather(TA, index + I->p0, TO, n, kk);
            break;
        case FG_TI_SUM:
            reduce_sum(A, O, I->p0, I->p1, I->p2, 1, I->scale);
            if (TO) reduce_sum(TA, TO, I->p0, I->p1, I->p2, kk, I->scale);
            break;
        case FG_TI_MATMUL:
            memset(O, 0, (size_t)n * sizeof(double));
            mm_left(A, B, O, I->p0, I->p1, I->p2);
            if (TO) {
                memset(TO, 0, (size_t)(n * kk) * sizeof(double));
                if (TA) mm_right(TA, B, TO, I->p0, I->p1, I->p2, kk);
                if (TB) mm_left(A, TB, TO, I->p0, I->p1, I->p2 * kk);
            }
            break;
        }
    }
}

/* Hyper-dual pass: eps1 parts (T, kk per element), eps2 parts (HC, one per
 * element), eps1 eps2 parts (HD, kk per element). */
static void run_hyper(const fg_tape *t, fg_tape_ws *ws, int64_t kk)
{
    double *const *V = ws->val;
    double *const *T = ws->tan;
    double *const *HC = ws->hc;
    double *const *HD = ws->hd;
    const int64_t *index = t->index_pool;
    for (size_t s = 0; s < t->n_instr; s++) {
        const fg_tape_instr *I = &t->instr[s];
        const int32_t o = I->out;
        double *O = V[o], *TO = T[o], *CO = HC[o], *DO = HD[o];
        const int64_t n = I->n;
        const double *A = NULL, *TA = NULL, *CA = NULL, *DA = NULL;
        const double *B = NULL, *TB = NULL, *CB = NULL, *DB = NULL;
        if (I->a >= 0) {
            A = V[I->a] + I->a_off;
            TA = OPND(T, I->a, I->a_off, kk);
            CA = OPND(HC, I->a, I->a_off, 1);
            DA = OPND(HD, I->a, I->a_off, kk);
        }
        if (I->b >= 0) {
            B = V[I->b] + I->b_off;
            TB = OPND(T, I->b, I->b_off, kk);
            CB = OPND(HC, I->b, I->b_off, 1);
            DB = OPND(HD, I->b, I->b_off, kk);
        }
        switch (I->code) {
        case FG_TI_UNARY:
            if (TO) fg_elem_unary_hyper(I->op, A, TA, CA, DA, O, TO, CO, DO, n, kk);
            else fg_elem_unary_value(I->op, A, O, n);
            break;
        case FG_TI_BINARY:
            if (TO) fg_elem_binary_hyper(I->op, A, TA, CA, DA, I->sa, B, TB, CB, DB, I->sb,
                                         O, TO, CO, DO, n, kk);
            else fg_elem_binary_value(I->op, A, I->sa, B, I->sb, O, n);
            break;
        case FG_TI_WHERE: {
            const double *C = V[I->c] + I->c_off;
            where_blocks(C, I->sc, A, I->sa, B, I->sb, O, n, 1);
            if (TO) {
                where_blocks(C, I->sc, TA, I->sa, TB, I->sb, TO, n, kk);
                where_blocks(C, I->sc, CA, I->sa, CB, I->sb, CO, n, 1);
                where_blocks(C, I->sc, DA, I->sa, DB, I->sb, DO, n, kk);
            }
            break;
        }
        case FG_TI_GATHER:
            gather(A, index + I->p0, O, n, 1);
            if (TO) {
                gather(TA, index + I->p0, TO, n, kk);
                gather(CA, index + I->p0, CO, n, 1);
                gather(DA, index + I->p0, DO, n, kk);
            }
            break;
        case FG_TI_SUM:
            reduce_sum(A, O, I->p0, I->p1, I->p2, 1, I->scale);
            if (TO) {
                reduce_sum(TA, TO, I->p0, I->p1, I->p2, kk, I->scale);
                reduce_sum(CA, CO, I->p0, I->p1, I->p2, 1, I->scale);
                reduce_sum(DA, DO, I->p0, I->p1, I->p2, kk, I->scale);
            }
            break;
        case FG_TI_MATMUL: {
            const int64_t M = I->p0, L = I->p1, P = I->p2;
            memset(O, 0, (size_t)n * sizeof(double));
            mm_left(A, B, O, M, L, P);
            if (!TO) break;
            memset(TO, 0, (size_t)(n * kk) * sizeof(double));
            memset(CO, 0, (size_t)n * sizeof(double));
            memset(DO, 0, (size_t)(n * kk) * sizeof(double));
            /* (A + dA)(B + dB), product rule per component:
             *   eps1: TA B + A TB;  eps2: CA B + A CB;
             *   eps1 eps2: DA B + A DB + TA CB + CA TB. */
            if (TA) {
                mm_right(TA, B, TO, M, L, P, kk);
                mm_right(CA, B, CO, M, L, P, 1);
                mm_right(DA, B, DO, M, L, P, kk);
            }
            if (TB) {
                mm_left(A, TB, TO, M, L, P * kk);
                mm_left(A, CB, CO, M, L, P);
                mm_left(A, DB, DO, M, L, P * kk);
            }
            if (TA && TB) {
                mm_right(TA, CB, DO, M, L, P, kk);
                mm_left(CA, TB, DO, M, L, P * kk);
            }
            break;
        }
        }
    }
}

/* Adjoint sweep after run_value: G[s] (one double per element) holds
 * d f / d slot s. Instructions run backwards and
 * add their output's adjoint, times the local partials, into their traced
 * operands' adjoints. */
static void run_adjoint(const fg_tape *t, fg_tape_ws *ws)
{
    double *const *V = ws->val;
    double *const *G = ws->adj;
    const int64_t *index = t->index_pool;
    memset(ws->adj_buf, 0, ws->adj_zero_total * sizeof(double));
    for (size_t p = 0; p < t->n_adj_part; p++) {
        const int32_t sl = t->adj_part[p];
        double *g = G[sl];
        for (int64_t i = 0; i < t->adj_lo[sl]; i++) g[i] = 0.0;
        for (int64_t i = t->adj_hi[sl]; i < t->slot_size[sl]; i++) g[i] = 0.0;
    }
    G[t->out_slot][0] = 1.0;
    for (size_t s = t->sweep_start; s-- > 0;) {
        const fg_tape_instr *I = &t->instr[s];
        const double *GO = G[I->out];
        if (!GO) continue;   /* no path from x (or a comparison) */
        const double *O = V[I->out];
        const int64_t n = I->n;
        const double *A = I->a >= 0 ? V[I->a] + I->a_off : NULL;
        const double *B = I->b >= 0 ? V[I->b] + I->b_off : NULL;
        double *GA = I->a >= 0 && !(t->adj_skip[s] & 1) ? OPND(G, I->a, I->a_off, 1) : NULL;
        double *GB = I->b >= 0 && !(t->adj_skip[s] & 2) ? OPND(G, I->b, I->b_off, 1) : NULL;
        const int za = t->adj_store[s] & 1, zb = (t->adj_store[s] >> 1) & 1;
        switch (I->code) {
        case FG_TI_UNARY:
            fg_elem_unary_adjoint(I->op, A, O, GO, GA, n, za);
            break;
        case FG_TI_BINARY:
            if (GA || GB)   /* neither: both operands alias out (or are constants) */
                fg_elem_binary_adjoint(I->op, A, GA, I->sa, B, GB, I->sb, O, GO, n, za, zb);
            break;
        case FG_TI_WHERE: {
            const double *C = V[I->c] + I->c_off;
            for (int64_t i = 0; i < n; i++) {
                if (C[i * I->sc] != 0) { if (GA) GA[i * I->sa] += GO[i]; }
                else if (GB) GB[i * I->sb] += GO[i];
            }
            break;
        }
        case FG_TI_GATHER: {
            const int64_t *idx = index + I->p0;
            for (int64_t i = 0; i < n; i++) GA[idx[i]] += GO[i];
            break;
        }
        case FG_TI_SUM: {
            const int64_t pre = I->p0, len = I->p1, post = I->p2;
            if (post == 1) {   /* the common full or row sum: contiguous */
                sum_rows_adjoint(GO, GA, pre, len, I->scale, za);
                break;
            }
            for (int64_t u = 0; u < pre; u++)
                for (int64_t j = 0; j < len; j++) {
                    double *ga = GA + (u * len + j) * post;
                    const double *go = GO + u * post;
                    if (za) for (int64_t w = 0; w < post; w++) ga[w] = 0.0 + I->scale * go[w];
                    else for (int64_t w = 0; w < post; w++) ga[w] += I->scale * go[w];
                }
            break;
        }
        case FG_TI_MATMUL: {
            const int64_t M = I->p0, L = I->p1, P = I->p2;
            if (GA)   /* GA += GO B^T */
                for (int64_t i = 0; i < M; i++)
                    for (int64_t l = 0; l < L; l++) {
                        const double *br = B + l * P, *gr = GO + i * P;
                        double acc = 0.0;
                        for (int64_t j = 0; j < P; j++) acc += gr[j] * br[j];
                        GA[i * L + l] += acc;
                    }
            if (GB)   /* GB += A^T GO */
                for (int64_t i = 0; i < M; i++)
                    for (int64_t l = 0; l < L; l++) {
                        const double a = A[i * L + l];
                        const double *gr = GO + i * P;
                        double *gb = GB + l * P;
                        for (int64_t j = 0; j < P; j++) gb[j] += a * gr[j];
                    }
            break;
        }
        }
    }
}

/* The forward-over-reverse buffers, allocated on a workspace's first
 * Hessian (most workspaces never need them: k + 1 doubles per element).
 * Returns FG_OK or FG_ERR_NOMEM. */
static fg_status ensure_for_buffers(const fg_tape *t, fg_tape_ws *ws)
{
    if (ws->for_buf) return FG_OK;
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

/* Forward-over-reverse sweep after run_dual(kk): the adjoint sweep of
 * run_adjoint, differentiated along the pass's kk tangent directions. FG[s]
 * holds d f / d slot s, FT[s] (kk per element) its derivative along each
 * direction; for x seeded with unit directions e_j, FT[0] holds the
 * Hessian's columns j. Every buffer is zeroed and accumulated (none of
 * run_adjoint's stores or aliases: this mode is not the hot path). */
static void run_adjoint_dual(const fg_tape *t, fg_tape_ws *ws, int64_t kk)
{
    double *const *V = ws->val;
    double *const *T = ws->tan;
    double *const *FG = ws->fadj;
    double *const *FT = ws->fadjt;
    const int64_t *index = t->index_pool;
    for (size_t sl = 0; sl < t->n_slots; sl++)
        if (FG[sl]) {
            memset(FG[sl], 0, (size_t)t->slot_size[sl] * sizeof(double));
            memset(FT[sl], 0, (size_t)(t->slot_size[sl] * kk) * sizeof(double));
        }
    FG[t->out_slot][0] = 1.0;
    for (size_t s = t->n_instr; s-- > 0;) {
        const fg_tape_instr *I = &t->instr[s];
        const double *GO = FG[I->out], *TGO = FT[I->out];
        if (!GO) continue;   /* no path from x (or a comparison) */
        const double *O = V[I->out];
        const int64_t n = I->n;
        const double *A = I->a >= 0 ? V[I->a] + I->a_off : NULL;
        const double *B = I->b >= 0 ? V[I->b] + I->b_off : NULL;
        const double *TA = I->a >= 0 ? OPND(T, I->a, I->a_off, kk) : NULL;
        const double *TB = I->b >= 0 ? OPND(T, I->b, I->b_off, kk) : NULL;
        double *GA = I->a >= 0 ? OPND(FG, I->a, I->a_off, 1) : NULL;
        double *GB = I->b >= 0 ? OPND(FG, I->b, I->b_off, 1) : NULL;
        double *TGA = I->a >= 0 ? OPND(FT, I->a, I->a_off, kk) : NULL;
        double *TGB = I->b >= 0 ? OPND(FT, I->b, I->b_off, kk) : NULL;
        switch (I->code) {
        case FG_TI_UNARY:
            fg_elem_unary_adjdual(I->op, A, TA, O, GO, TGO, GA, TGA, n, kk);
            break;
        case FG_TI_BINARY:
            fg_elem_binary_adjdual(I->op, A, TA, GA, TGA, I->sa, B, TB, GB, TGB, I->sb, O,
                                   GO, TGO, n, kk);
            break;
        case FG_TI_WHERE: {   /* linear in a and b: the same selection */
            const double *C = V[I->c] + I->c_off;
            for (int64_t i = 0; i < n; i++) {
                const int take_a = C[i * I->sc] != 0;
                double *g = take_a ? GA : GB, *tg = take_a ? TGA : TGB;
                const int64_t st = take_a ? I->sa : I->sb;
                if (!g) continue;
                g[i * st] += GO[i];
                for (int64_t q = 0; q < kk; q++) tg[i * st * kk + q] += TGO[i * kk + q];
            }
            break;
        }
        case FG_TI_GATHER: {
            const int64_t *idx = index + I->p0;
            for (int64_t i = 0; i < n; i++) {
                GA[idx[i]] += GO[i];
                for (int64_t q = 0; q < kk; q++) TGA[idx[i] * kk + q] += TGO[i * kk + q];
            }
            break;
        }
        case FG_TI_SUM: {
            const int64_t pre = I->p0, len = I->p1, post = I->p2;
            for (int64_t u = 0; u < pre; u++)
                for (int64_t j = 0; j < len; j++)
                    for (int64_t w = 0; w < post; w++) {
                        const int64_t ia = (u * len + j) * post + w, io = u * post + w;
                        GA[ia] += I->scale * GO[io];
                        for (int64_t q = 0; q < kk; q++)
                            TGA[ia * kk + q] += I->scale * TGO[io * kk + q];
                    }
            break;
        }
        case FG_TI_MATMUL: {   /* C = A B: the product rule on GA = GO B^T, GB = A^T GO */
            const int64_t M = I->p0, L = I->p1, P = I->p2;
            for (int64_t i = 0; i < M; i++)
                for (int64_t l = 0; l < L; l++)
                    for (int64_t j = 0; j < P; j++) {
                        const double go = GO[i * P + j], a = A[i * L + l], b = B[l * P + j];
                        const double *tgo = TGO + (i * P + j) * kk;
                        if (GA) {
                            double *tga = TGA + (i * L + l) * kk;
                            GA[i * L + l] += go * b;
                            for (int64_t q = 0; q < kk; q++) tga[q] += tgo[q] * b;
                            if (TB)
                                for (int64_t q = 0; q < kk; q++)
                                    tga[q] += go * TB[(l * P + j) * kk + q];
                        }
                        if (GB) {
                            double *tgb = TGB + (l * P + j) * kk;
                            GB[l * P + j] += a * go;
                            for (int64_t q = 0; q < kk; q++) tgb[q] += a * tgo[q];
                            if (TA)
                                for (int64_t q = 0; q < kk; q++)
                                    tgb[q] += TA[(i * L + l) * kk + q] * go;
                        }
                    }
            break;
        }
        }
    }
}

/* ----------------------------------------------------------------- drivers */

fg_status fg_tape_eval_f64(const fg_tape *t, fg_tape_ws *ws, const double *x, double *value)
{
    if (FG_UNLIKELY(!t || !ws || ws->tape != t || !x || !value)) return FG_ERR_ARG;
    ws->val[0] = (double *)x;   /* read only: no instruction writes slot 0 */
    run_value(t, ws->val);
    *value = ws->val[t->out_slot][0];
    return FG_OK;
}

fg_status fg_tape_value_grad_f64(const fg_tape *t, fg_tape_ws *ws, const double *x,
                                 double *value, double *grad)
{
    if (FG_UNLIKELY(!t || !ws || ws->tape != t || !x || !grad)) return FG_ERR_ARG;
    const int64_t n = (int64_t)t->n, k = (int64_t)ws->k;
    const int32_t o = t->out_slot;
    ws->val[0] = (double *)x;
    double *tx = ws->tan[0];
    for (int64_t j0 = 0; j0 < n; j0 += k) {
        const int64_t kk = n - j0 < k ? n - j0 : k;
        /* Seed the unit directions e_{j0}, ..., e_{j0+kk-1}. */
        memset(tx, 0, (size_t)(n * kk) * sizeof(double));
        for (int64_t q = 0; q < kk; q++) tx[(j0 + q) * kk + q] = 1.0;
        run_dual(t, ws, kk);
        if (ws->tan[o]) memcpy(grad + j0, ws->tan[o], (size_t)kk * sizeof(double));
        else memset(grad + j0, 0, (size_t)kk * sizeof(double));   /* piecewise constant f */
    }
    if (value) *value = ws->val[o][0];
    return FG_OK;
}

fg_status fg_tape_jvp_f64(const fg_tape *t, fg_tape_ws *ws, const double *x, const double *v,
                          double *value, double *jv)
{
    if (FG_UNLIKELY(!t || !ws || ws->tape != t || !x || !v || !jv)) return FG_ERR_ARG;
    const int32_t o = t->out_slot;
    ws->val[0] = (double *)x;
    memcpy(ws->tan[0], v, t->n * sizeof(double));
    run_dual(t, ws, 1);
    *jv = ws->tan[o] ? ws->tan[o][0] : 0.0;
    if (value) *value = ws->val[o][0];
    return FG_OK;
}

fg_status fg_tape_hessian_f64(const fg_tape *t, fg_tape_ws *ws, const double *x, double *hess,
                              double *value, double *grad)
{
    if (FG_UNLIKELY(!t || !ws || ws->tape != t || !x || !hess)) return FG_ERR_ARG;
    const int64_t n = (int64_t)t->n, k = (int64_t)ws->k;
    const int32_t o = t->out_slot;
    ws->val[0] = (double *)x;
    double *tx = ws->tan[0], *cx = ws->hc[0], *dx = ws->hd[0];
    if (!ws->tan[o]) {   /* piecewise constant f: zero derivatives */
        run_value(t, ws->val);
        memset(hess, 0, (size_t)(n * n) * sizeof(double));
        if (grad) memset(grad, 0, (size_t)n * sizeof(double));
        if (value) *value = ws->val[o][0];
        return FG_OK;
    }
    for (int64_t col = 0; col < n; col++) {
        memset(cx, 0, (size_t)n * sizeof(double));
        cx[col] = 1.0;
        /* Rows 0..col only (the rest by symmetry), all rows on the last
         * column when the gradient is wanted too. */
        const int64_t rows = (grad && col == n - 1) ? n : col + 1;
        for (int64_t j0 = 0; j0 < rows; j0 += k) {
            const int64_t kk = rows - j0 < k ? rows - j0 : k;
            memset(tx, 0, (size_t)(n * kk) * sizeof(double));
            memset(dx, 0, (size_t)(n * kk) * sizeof(double));
            for (int64_t q = 0; q < kk; q++) tx[(j0 + q) * kk + q] = 1.0;
            run_hyper(t, ws, kk);
            for (int64_t q = 0; q < kk; q++) {
                if (j0 + q > col) break;
                hess[(j0 + q) * n + col] = ws->hd[o][q];
                hess[col * n + j0 + q] = ws->hd[o][q];
            }
            if (grad && col == n - 1) memcpy(grad + j0, ws->tan[o], (size_t)kk * sizeof(double));
        }
    }
    if (value) *value = ws->val[o][0];
    return FG_OK;
}

fg_status fg_tape_hvp_f64(const fg_tape *t, fg_tape_ws *ws, const double *x, const double *v,
                          double *hv, double *value, double *grad)
{
    if (FG_UNLIKELY(!t || !ws || ws->tape != t || !x || !v || !hv)) return FG_ERR_ARG;
    if (ensure_for_buffers(t, ws) != FG_OK) return FG_ERR_NOMEM;
    const size_t n = t->n;
    const int32_t o = t->out_slot;
    ws->val[0] = (double *)x;
    if (!ws->tan[o]) {   /* piecewise constant f */
        run_value(t, ws->val);
        memset(hv, 0, n * sizeof(double));
        if (grad) memset(grad, 0, n * sizeof(double));
    } else {
        memcpy(ws->tan[0], v, n * sizeof(double));
        run_dual(t, ws, 1);
        run_adjoint_dual(t, ws, 1);
        memcpy(hv, ws->fadjt[0], n * sizeof(double));
        if (grad) memcpy(grad, ws->fadj[0], n * sizeof(double));
    }
    if (value) *value = ws->val[o][0];
    return FG_OK;
}

fg_status fg_tape_hessian_reverse_f64(const fg_tape *t, fg_tape_ws *ws, const double *x,
                                      double *hess, double *value, double *grad)
{
    if (FG_UNLIKELY(!t || !ws || ws->tape != t || !x || !hess)) return FG_ERR_ARG;
    if (ensure_for_buffers(t, ws) != FG_OK) return FG_ERR_NOMEM;
    const int64_t n = (int64_t)t->n, k = (int64_t)ws->k;
    const int32_t o = t->out_slot;
    ws->val[0] = (double *)x;
    double *tx = ws->tan[0];
    if (!ws->tan[o]) {   /* piecewise constant f: zero derivatives */
        run_value(t, ws->val);
        memset(hess, 0, (size_t)(n * n) * sizeof(double));
        if (grad) memset(grad, 0, (size_t)n * sizeof(double));
        if (value) *value = ws->val[o][0];
        return FG_OK;
    }
    for (int64_t j0 = 0; j0 < n; j0 += k) {
        const int64_t kk = n - j0 < k ? n - j0 : k;
        memset(tx, 0, (size_t)(n * kk) * sizeof(double));
        for (int64_t q = 0; q < kk; q++) tx[(j0 + q) * kk + q] = 1.0;
        run_dual(t, ws, kk);
        run_adjoint_dual(t, ws, kk);
        const double *hcols = ws->fadjt[0];   /* [i * kk + q] = d2 f / dx_i dx_(j0+q) */
        for (int64_t i = 0; i < n; i++)
            for (int64_t q = 0; q < kk; q++) hess[i * n + j0 + q] = hcols[i * kk + q];
        if (grad && j0 == 0) memcpy(grad, ws->fadj[0], (size_t)n * sizeof(double));
    }
    /* Each column came from its own pass: symmetric to rounding only. The
     * mean of the two triangles is exactly symmetric (what Cholesky and the
     * hyper-dual mode give) and halves their difference. */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++) {
            const double m = 0.5 * (hess[i * n + j] + hess[j * n + i]);
            hess[i * n + j] = m;
            hess[j * n + i] = m;
        }
    if (value) *value = ws->val[o][0];
    return FG_OK;
}

fg_status fg_tape_value_grad_reverse_f64(const fg_tape *t, fg_tape_ws *ws, const double *x,
                                         double *value, double *grad)
{
    if (FG_UNLIKELY(!t || !ws || ws->tape != t || !x || !grad)) return FG_ERR_ARG;
    const size_t n = t->n;
    ws->val[0] = (double *)x;
    run_value(t, ws->val);
    if (ws->adj[t->out_slot]) {
        const uintptr_t g0 = (uintptr_t)grad, x0 = (uintptr_t)x, nb = n * sizeof(double);
        if (g0 + nb <= x0 || x0 + nb <= g0) {
            /* The sweep accumulates d f / d x straight into grad (no copy
             * out), which therefore must not overlap x, read by the sweep. */
            double *const own = ws->adj[0];
            if (t->adj_zero[0]) memset(grad, 0, n * sizeof(double));
            ws->adj[0] = grad;
            run_adjoint(t, ws);
            ws->adj[0] = own;
        } else {
            if (t->adj_zero[0]) memset(ws->adj[0], 0, n * sizeof(double));
            run_adjoint(t, ws);
            memcpy(grad, ws->adj[0], n * sizeof(double));
        }
    } else {
        memset(grad, 0, n * sizeof(double));   /* piecewise constant f */
    }
    if (value) *value = ws->val[t->out_slot][0];
    return FG_OK;
}
