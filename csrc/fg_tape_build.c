/* fg_tape_build.c: validation of a tape spec and the immutable tape built
 * from it (see fg_tape.h); the code, slot-kind and field tables.
 *
 * Every field of every slot and instruction is checked before anything is
 * copied or planned, with overflow-safe arithmetic: the planning and the
 * passes then index without checks. A field an instruction does not use
 * must hold its unused value (slot -1, offset, stride, op and parameters 0,
 * scale 1), so one program has one encoding and no stray field reaches the
 * planning. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fg_ops.h"
#include "fg_tape_internal.h"

/* --------------------------------------------------------------- tables */

static const fg_tape_name code_table[] = {
#define FG_TAPE_NAME_ROW_(name, value) {#name, value},
    FG_TAPE_CODES(FG_TAPE_NAME_ROW_)
};
static const fg_tape_name slot_kind_table[] = {
    FG_TAPE_SLOT_KINDS(FG_TAPE_NAME_ROW_)
#undef FG_TAPE_NAME_ROW_
};

#define FG_TAPE_KIND_(type) ((type)0.5 != 0 ? 'f' : 'i')
static const fg_tape_field instr_fields[] = {
#define FG_TAPE_FIELD_ROW_(type, name)                                         \
    {#name, offsetof(fg_tape_instr, name), sizeof(type), FG_TAPE_KIND_(type)},
    FG_TAPE_INSTR_FIELDS(FG_TAPE_FIELD_ROW_)
#undef FG_TAPE_FIELD_ROW_
};
#undef FG_TAPE_KIND_

const fg_tape_field *fg_tape_instr_fields(size_t *count, size_t *record_size)
{
    if (count) *count = sizeof instr_fields / sizeof instr_fields[0];
    if (record_size) *record_size = sizeof(fg_tape_instr);
    return instr_fields;
}

const fg_tape_name *fg_tape_code_table(size_t *count)
{
    if (count) *count = sizeof code_table / sizeof code_table[0];
    return code_table;
}

const fg_tape_name *fg_tape_slot_kind_table(size_t *count)
{
    if (count) *count = sizeof slot_kind_table / sizeof slot_kind_table[0];
    return slot_kind_table;
}

/* ----------------------------------------------------------- validation */

typedef struct checker {
    const fg_tape_spec *s;
    unsigned char *written;    /* [n_slots] computed slots written so far */
    unsigned char *tan;        /* [n_slots] the slot depends differentiably on x */
    fg_tape_problem *where;
    int64_t instr;             /* the instruction being checked, or -1 */
} checker;

static fg_status fail(checker *c, fg_status st, int64_t slot, const char *what)
{
    if (c->where) {
        c->where->instr = c->instr;
        c->where->slot = slot;
        c->where->what = what;
    }
    return st;
}

/* a * b for a, b >= 0, or -1 when it exceeds int64's range. */
static int64_t mul_nonneg(int64_t a, int64_t b)
{
    if (a < 0 || b < 0 || (b && a > INT64_MAX / b)) return -1;
    return a * b;
}

/* What an instruction reads: the element count each operand must provide
 * (-1: the code has no such operand) and whether its stride may be 0:
 * BROADCAST_ONE reads one element then, BROADCAST_SHARED (MATMUL's batch) the
 * extent given, already counted for the stride. */
enum { BROADCAST_NONE = 0, BROADCAST_ONE = 1, BROADCAST_SHARED = 2 };
typedef struct reads {
    int64_t extent[3];
    int may_broadcast[3];
} reads;

/* The code-specific fields (op, p0..p3, scale, n) and the operands' needs. */
static fg_status check_code(checker *c, const fg_tape_instr *I, reads *r)
{
    const fg_tape_spec *s = c->s;
    const fg_op_info *info = fg_op_get_info(I->op);
    const int64_t n = I->n;
    r->extent[0] = r->extent[1] = r->extent[2] = -1;
    r->may_broadcast[0] = r->may_broadcast[1] = r->may_broadcast[2] = 0;
    switch (I->code) {
#define FG_TAPE_KNOWN_(name, value) case FG_TI_##name:
        FG_TAPE_CODES(FG_TAPE_KNOWN_)
#undef FG_TAPE_KNOWN_
        break;
    default:
        return fail(c, FG_ERR_UNSUPPORTED, -1, "unknown instruction code");
    }
    const int elementwise = I->code == FG_TI_UNARY || I->code == FG_TI_BINARY;
    const int has_params = !elementwise && I->code != FG_TI_WHERE && I->code != FG_TI_CAST;
    if (!elementwise && I->op != 0) return fail(c, FG_ERR_ARG, -1, "op must be 0");
    if (I->code != FG_TI_SUM && !(I->scale == 1.0))
        return fail(c, FG_ERR_ARG, -1, "scale must be 1 (it is SUM's factor)");
    if (!has_params && (I->p0 || I->p1 || I->p2 || I->p3))
        return fail(c, FG_ERR_ARG, -1, "p0, p1, p2, p3 must be 0");
    if (I->code != FG_TI_MATMUL && I->p3)
        return fail(c, FG_ERR_ARG, -1, "p3 must be 0 (it is MATMUL's product count)");
    if (I->code == FG_TI_GATHER && (I->p1 || I->p2))
        return fail(c, FG_ERR_ARG, -1, "p1, p2 must be 0");
    switch (I->code) {
    case FG_TI_UNARY:
        if (!info || info->kind != FG_OP_KIND_UNARY)
            return fail(c, FG_ERR_UNSUPPORTED, -1, "op is not a unary operation");
        r->extent[0] = n;
        return FG_OK;
    case FG_TI_BINARY:
        if (!info || info->kind == FG_OP_KIND_UNARY)
            return fail(c, FG_ERR_UNSUPPORTED, -1, "op is not a binary operation");
        r->extent[0] = r->extent[1] = n;
        r->may_broadcast[0] = r->may_broadcast[1] = BROADCAST_ONE;
        return FG_OK;
    case FG_TI_WHERE:
        r->extent[0] = r->extent[1] = r->extent[2] = n;
        r->may_broadcast[0] = r->may_broadcast[1] = r->may_broadcast[2] = BROADCAST_ONE;
        return FG_OK;
    case FG_TI_GATHER:
        /* a's extent follows from the indices, checked in check_gather */
        if (I->p0 < 0 || (uint64_t)I->p0 > s->n_index || (uint64_t)n > s->n_index - (uint64_t)I->p0)
            return fail(c, FG_ERR_ARG, -1, "the gather indices [p0, p0 + n) leave the index pool");
        r->extent[0] = 0;
        return FG_OK;
    case FG_TI_MATMUL: {
        const int64_t nb = I->p3;
        const int64_t ml = mul_nonneg(I->p0, I->p1), lp = mul_nonneg(I->p1, I->p2);
        const int64_t mp = mul_nonneg(nb, mul_nonneg(I->p0, I->p2));
        const int64_t ml_all = mul_nonneg(nb, ml), lp_all = mul_nonneg(nb, lp);
        if (ml < 0 || lp < 0 || mp < 0 || ml_all < 0 || lp_all < 0)
            return fail(c, FG_ERR_SHAPE, -1, "(M, L, P, products) = (p0, p1, p2, p3) must be "
                                             ">= 0, their products within int64");
        if (mp != n) return fail(c, FG_ERR_SHAPE, -1, "n must equal p3 * M * P");
        /* A stride 0 shares one matrix among the products; with one product
         * it would be a second spelling of stride 1. */
        if (nb > 1) r->may_broadcast[0] = r->may_broadcast[1] = BROADCAST_SHARED;
        r->extent[0] = I->sa == 0 && nb > 1 ? ml : ml_all;
        r->extent[1] = I->sb == 0 && nb > 1 ? lp : lp_all;
        return FG_OK;
    }
    case FG_TI_SUM:
    case FG_TI_MAX:
    case FG_TI_MIN:
    case FG_TI_PROD:
    case FG_TI_CUMSUM: {
        const int64_t whole = mul_nonneg(mul_nonneg(I->p0, I->p1), I->p2);
        const int64_t reduced = mul_nonneg(I->p0, I->p2);
        if (whole < 0 || reduced < 0 || I->p1 < 0)
            return fail(c, FG_ERR_SHAPE, -1, "(pre, len, post) = (p0, p1, p2) must be >= 0, "
                                             "their product within int64");
        if (n != (I->code == FG_TI_CUMSUM ? whole : reduced))
            return fail(c, FG_ERR_SHAPE, -1, I->code == FG_TI_CUMSUM ? "n must equal pre * len * post"
                                                                       : "n must equal pre * post");
        if ((I->code == FG_TI_MAX || I->code == FG_TI_MIN) && I->p1 < 1 && reduced > 0)
            return fail(c, FG_ERR_SHAPE, -1, "the extremum of an empty axis is undefined");
        r->extent[0] = whole;
        return FG_OK;
    }
    case FG_TI_TAKE:
        /* a's and b's extents follow from the indices, checked in check_take */
        if (I->p0 < 0 || (uint64_t)I->p0 > s->n_index || n > INT64_MAX / 2
            || (uint64_t)(2 * n) > s->n_index - (uint64_t)I->p0)
            return fail(c, FG_ERR_ARG, -1, "the take indices [p0, p0 + 2n) leave the index pool");
        if (I->p1 < 0 || I->p2 < 1 || mul_nonneg(I->p1, I->p2 - 1) < 0)
            return fail(c, FG_ERR_SHAPE, -1, "take needs a stride p1 >= 0 and a length p2 >= 1, "
                                             "p1 * (p2 - 1) within int64");
        r->extent[0] = r->extent[1] = 0;
        return FG_OK;
    case FG_TI_CAST:
        r->extent[0] = n;
        return FG_OK;
    default:   /* known codes are handled above */
        return fail(c, FG_ERR_UNSUPPORTED, -1, "unknown instruction code");
    }
}

/* One operand: unused fields at their unused values, or an existing slot
 * that is readable here, a stride of 1 (0 where broadcasting is allowed)
 * and [off, off + extent) inside the slot; an integer data slot exactly
 * where the code reads integers (integer: TAKE's b, CAST's a). */
static fg_status check_operand(checker *c, int32_t slot, int64_t off, int32_t stride,
                               int64_t extent, int may_broadcast, int integer)
{
    const fg_tape_spec *s = c->s;
    if (extent < 0) {
        if (slot != -1 || off != 0 || stride != 0)
            return fail(c, FG_ERR_ARG, -1, "an operand the code does not read must have "
                                           "slot -1, offset 0 and stride 0");
        return FG_OK;
    }
    if (slot < 0 || (size_t)slot >= s->n_slots)
        return fail(c, FG_ERR_ARG, slot, "operand slot out of range");
    if (s->slot_kind[slot] == FG_SLOT_COMPUTED && !c->written[slot])
        return fail(c, FG_ERR_ARG, slot, "operand read before it is written");
    if ((s->slot_kind[slot] == FG_SLOT_DATA_INT) != integer)
        return fail(c, FG_ERR_ARG, slot, integer ? "this operand must be an integer data slot"
                                                 : "integer data are read only by TAKE "
                                                   "(operand b) and CAST");
    if (stride != 1 && !(stride == 0 && may_broadcast))
        return fail(c, FG_ERR_ARG, slot, may_broadcast ? "operand stride must be 0 or 1"
                                                       : "operand stride must be 1");
    if (stride == 0 && extent > 0 && may_broadcast == BROADCAST_ONE) extent = 1;
    const int64_t size = s->slot_size[slot];
    if (off < 0 || off > size || extent > size - off)
        return fail(c, FG_ERR_SHAPE, slot, "operand [offset, offset + extent) leaves its slot");
    return FG_OK;
}

static fg_status check_gather(checker *c, const fg_tape_instr *I)
{
    const int64_t avail = c->s->slot_size[I->a] - I->a_off;
    const int64_t *idx = c->s->index_pool + I->p0;
    for (int64_t i = 0; i < I->n; i++)
        if (idx[i] < 0 || idx[i] >= avail)
            return fail(c, FG_ERR_SHAPE, I->a, "a gather index leaves its operand");
    return FG_OK;
}

static fg_status check_take(checker *c, const fg_tape_instr *I)
{
    const int64_t avail = c->s->slot_size[I->a] - I->a_off;
    const int64_t sel = c->s->slot_size[I->b] - I->b_off;
    const int64_t span = I->p1 * (I->p2 - 1);   /* fits: check_code */
    const int64_t *idx = c->s->index_pool + I->p0;
    for (int64_t i = 0; i < I->n; i++) {
        if (idx[i] < 0 || idx[i] >= avail || span > avail - 1 - idx[i])
            return fail(c, FG_ERR_SHAPE, I->a, "a take base index plus the selected axis "
                                               "leaves its operand");
        if (idx[I->n + i] < 0 || idx[I->n + i] >= sel)
            return fail(c, FG_ERR_SHAPE, I->b, "a take position leaves its integer operand");
    }
    return FG_OK;
}

static fg_status check_slots(checker *c)
{
    const fg_tape_spec *s = c->s;
    size_t consts = 0;
    if (s->n_slots < 2 || s->n_slots > INT32_MAX || !s->slot_size || !s->slot_kind)
        return fail(c, FG_ERR_ARG, -1, "a tape needs 2 to 2^31 - 1 slots");
    if (s->n_instr < 1 || !s->instr) return fail(c, FG_ERR_ARG, -1, "a tape needs instructions");
    if ((s->n_const && !s->const_pool) || (s->n_index && !s->index_pool))
        return fail(c, FG_ERR_ARG, -1, "a non-empty pool has no data");
    if (s->slot_kind[0] != FG_SLOT_INPUT || s->slot_size[0] < 1)
        return fail(c, FG_ERR_ARG, 0, "slot 0 must be the input, of at least one element");
    int ok = 1;
    size_t total = 0;
    for (size_t i = 0; i < s->n_slots; i++) {
        const int32_t kind = s->slot_kind[i];
        const int64_t size = s->slot_size[i];
        const int64_t off = s->slot_const_off ? s->slot_const_off[i] : 0;
        if (size < 0) return fail(c, FG_ERR_ARG, (int64_t)i, "negative slot size");
        if ((uint64_t)size > SIZE_MAX / sizeof(double))
            return fail(c, FG_ERR_SHAPE, (int64_t)i, "a slot larger than the address space");
        if (i > 0 && kind != FG_SLOT_CONST && kind != FG_SLOT_COMPUTED && kind != FG_SLOT_DATA
            && kind != FG_SLOT_DATA_INT)
            return fail(c, FG_ERR_ARG, (int64_t)i, "slot kind must be CONST, COMPUTED, DATA or "
                                                   "DATA_INT");
        if ((kind == FG_SLOT_DATA || kind == FG_SLOT_DATA_INT) && size < 1)
            return fail(c, FG_ERR_ARG, (int64_t)i, "a data slot has at least one element");
        if (kind == FG_SLOT_CONST) {
            consts++;
            if (off < 0 || (uint64_t)off > s->n_const || (uint64_t)size > s->n_const - (uint64_t)off)
                return fail(c, FG_ERR_ARG, (int64_t)i, "constant slot leaves the constant pool");
        } else if (off != 0) {
            return fail(c, FG_ERR_ARG, (int64_t)i, "a slot that is not constant has offset 0");
        }
        total = fg_size_add(total, (size_t)size, &ok);
    }
    if (consts && !s->slot_const_off)
        return fail(c, FG_ERR_ARG, -1, "constant slots need offsets");
    if (!ok) return fail(c, FG_ERR_SHAPE, -1, "the slot sizes add up past the address space");
    return FG_OK;
}

static fg_status check_instr(checker *c, const fg_tape_instr *I)
{
    const fg_tape_spec *s = c->s;
    reads r;
    fg_status st;
    if (I->out < 1 || (size_t)I->out >= s->n_slots)
        return fail(c, FG_ERR_ARG, I->out, "output slot out of range");
    if (s->slot_kind[I->out] != FG_SLOT_COMPUTED)
        return fail(c, FG_ERR_ARG, I->out, "output slot is not a computed slot");
    if (c->written[I->out]) return fail(c, FG_ERR_ARG, I->out, "output slot written twice");
    if (I->n != s->slot_size[I->out])
        return fail(c, FG_ERR_SHAPE, I->out, "n differs from the output slot's size");
    if ((st = check_code(c, I, &r)) != FG_OK) return st;
    const int int_a = I->code == FG_TI_CAST, int_b = I->code == FG_TI_TAKE;
    if ((st = check_operand(c, I->a, I->a_off, I->sa, r.extent[0], r.may_broadcast[0], int_a))
            != FG_OK
        || (st = check_operand(c, I->b, I->b_off, I->sb, r.extent[1], r.may_broadcast[1], int_b))
            != FG_OK
        || (st = check_operand(c, I->c, I->c_off, I->sc, r.extent[2], r.may_broadcast[2], 0))
            != FG_OK)
        return st;
    if (I->code == FG_TI_GATHER && (st = check_gather(c, I)) != FG_OK) return st;
    if (I->code == FG_TI_TAKE && (st = check_take(c, I)) != FG_OK) return st;
    unsigned char *tan = c->tan;
    switch (I->code) {
    case FG_TI_BINARY:
        tan[I->out] = fg_op_get_info(I->op)->kind == FG_OP_KIND_COMPARE ? 0 : (tan[I->a] | tan[I->b]);
        break;
    case FG_TI_WHERE:
    case FG_TI_MATMUL:
        tan[I->out] = tan[I->a] | tan[I->b];
        break;
    default:
        tan[I->out] = tan[I->a];
    }
    c->written[I->out] = 1;
    return FG_OK;
}

/* Validate spec; tan[n_slots] receives which slots depend on x. */
static fg_status check_spec(const fg_tape_spec *s, unsigned char *written, unsigned char *tan,
                            fg_tape_problem *where)
{
    checker c = {s, written, tan, where, -1};
    fg_status st = check_slots(&c);
    if (st != FG_OK) return st;
    memset(written, 0, s->n_slots);
    memset(tan, 0, s->n_slots);
    tan[0] = 1;
    for (size_t j = 0; j < s->n_instr; j++) {
        c.instr = (int64_t)j;
        if ((st = check_instr(&c, &s->instr[j])) != FG_OK) return st;
    }
    c.instr = (int64_t)s->n_instr - 1;
    if (s->instr[s->n_instr - 1].n != 1)
        return fail(&c, FG_ERR_SHAPE, -1, "the last instruction must write one element");
    c.instr = -1;
    /* A tape whose workspace cannot exist is refused here, not at its first call. */
    if (!fg_tape_spec_ws_fits(s, tan))
        return fail(&c, FG_ERR_SHAPE, -1, "the workspace would exceed the address space");
    return FG_OK;
}

fg_status fg_tape_check(const fg_tape_spec *spec, fg_tape_problem *where)
{
    if (where) {
        where->instr = where->slot = -1;
        where->what = "";
    }
    if (!spec) return FG_ERR_ARG;
    const size_t ns = spec->n_slots ? spec->n_slots : 1;
    unsigned char *flags = malloc(2 * ns);
    if (!flags) return FG_ERR_NOMEM;
    fg_status st = check_spec(spec, flags, flags + ns, where);
    free(flags);
    return st;
}

/* --------------------------------------------------------------- building */

static void *dup(const void *src, size_t count, size_t size)
{
    void *p = malloc(count ? count * size : 1);
    if (p && count) memcpy(p, src, count * size);
    return p;
}

fg_status fg_tape_create(const fg_tape_spec *spec, fg_tape **out)
{
    if (!spec || !out) return FG_ERR_ARG;
    *out = NULL;
    const size_t ns = spec->n_slots ? spec->n_slots : 1;
    unsigned char *written = malloc(ns), *tan = malloc(ns);
    fg_tape *t = calloc(1, sizeof *t);
    fg_status st = written && tan && t ? check_spec(spec, written, tan, NULL) : FG_ERR_NOMEM;
    free(written);
    if (st != FG_OK) {
        free(tan);
        free(t);
        return st;
    }
    t->slot_tan = tan;
    t->n = (size_t)spec->slot_size[0];
    t->n_slots = spec->n_slots;
    t->n_instr = spec->n_instr;
    t->slot_size = dup(spec->slot_size, spec->n_slots, sizeof(int64_t));
    t->slot_kind = dup(spec->slot_kind, spec->n_slots, sizeof(int32_t));
    t->slot_const_off = calloc(spec->n_slots, sizeof(int64_t));
    t->const_pool = dup(spec->const_pool, spec->n_const, sizeof(double));
    t->index_pool = dup(spec->index_pool, spec->n_index, sizeof(int64_t));
    t->instr = dup(spec->instr, spec->n_instr, sizeof(fg_tape_instr));
    if (!t->slot_size || !t->slot_kind || !t->slot_const_off || !t->const_pool
        || !t->index_pool || !t->instr) {
        fg_tape_free(t);
        return FG_ERR_NOMEM;
    }
    if (spec->slot_const_off)
        memcpy(t->slot_const_off, spec->slot_const_off, spec->n_slots * sizeof(int64_t));
    if (spec->blas) t->blas = *spec->blas;
    t->out_slot = spec->instr[spec->n_instr - 1].out;
    for (size_t i = 0; i < t->n_slots; i++) t->total += (size_t)t->slot_size[i];
    for (size_t j = 0; j < t->n_instr; j++)
        if (t->instr[j].code == FG_TI_PROD && (size_t)t->instr[j].p1 > t->prod_len)
            t->prod_len = (size_t)t->instr[j].p1;
    if (fg_tape_plan_adjoint(t) != FG_OK || fg_tape_plan_data(t) != FG_OK) {
        fg_tape_free(t);
        return FG_ERR_NOMEM;
    }
    *out = t;
    return FG_OK;
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
    free(t->data_slot);
    free(t->data_bound);
    free(t);
}

size_t fg_tape_input_size(const fg_tape *t) { return t ? t->n : 0; }
size_t fg_tape_total_size(const fg_tape *t) { return t ? t->total : 0; }
