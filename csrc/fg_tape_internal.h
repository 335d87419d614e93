/* fg_tape_internal.h: what the tape VM's source files share (private, not
 * part of the embedding API).
 *
 *   fg_tape_build.c    validation of a spec (every field, overflow-safe), the
 *                      immutable tape, the name and field tables
 *   fg_tape_plan.c     adjoint planning (stores, aliases) and workspaces
 *   fg_tape_struct.c   the structural instructions' rules: the linear ones
 *                      (GATHER, SUM, CUMSUM and the selections WHERE, MAX,
 *                      MIN) as one map and its transpose, applied alike to
 *                      values and to every derivative component; PROD with
 *                      one rule per mode
 *   fg_tape_matmul.c   MATMUL's rules, one per mode, through the tape's BLAS
 *   fg_tape_forward.c  the value, dual and hyper-dual passes (one pass body,
 *                      specialized per mode) and their entry points
 *   fg_tape_reverse.c  the adjoint and forward-over-reverse sweeps and theirs
 *   fg_tape_data.c     data inputs: binding a call's x and data, and the
 *                      instructions that read integer data (TAKE, CAST)
 * The elementwise rules come from fg_elem.h (generated from fg_ops.def).
 */
#ifndef FASTGRAD_TAPE_INTERNAL_H
#define FASTGRAD_TAPE_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include "fg_blas.h"
#include "fg_config.h"
#include "fg_elem.h"
#include "fg_tape.h"

/* FG_ELEM_HOT (fg_config.h) builds the hot loops per ISA; FG_NS (fg_elem.h)
 * is the one NaN-safe product, used by the structural rules too. */

struct fg_tape {
    size_t n;                  /* input length */
    size_t n_slots, n_instr;
    size_t n_data;             /* data slots, bound per call */
    int32_t *data_slot;        /* [n_data] their slots, in slot order */
    int64_t *data_bound;       /* [n_data] an integer datum j must satisfy
                                  -bound <= j < bound (the shortest axis a TAKE
                                  selects with it); INT64_MAX when none */
    int64_t *slot_size;
    int32_t *slot_kind;
    unsigned char *slot_tan;   /* 1: the slot depends differentiably on x */
    double *const_pool;
    int64_t *slot_const_off;
    int64_t *index_pool;
    fg_tape_instr *instr;
    int32_t out_slot;
    size_t total;              /* sum of slot sizes */
    size_t prod_len;           /* the longest PROD axis (sizes the scratch) */
    fg_blas blas;              /* MATMUL's BLAS (dgemm NULL: the plain loops) */
    /* Reverse-mode plan (fg_tape_plan.c) */
    unsigned char *adj_store;  /* [n_instr] bit 0 (a), bit 1 (b): the sweep's
                                  first write into that operand's adjoint covers
                                  a contiguous range (adj_lo, adj_hi) of the slot,
                                  so it stores (0 + v) instead of adding */
    unsigned char *adj_zero;   /* [n_slots] 1: the adjoint must be zeroed first */
    int64_t *adj_lo, *adj_hi;  /* [n_slots] the range a storing first write covers */
    int32_t *adj_part;         /* slots whose storing first write covers a proper
                                  sub-range: the rest is zeroed before the sweep */
    size_t n_adj_part;
    int32_t *adj_alias;        /* [n_slots] -1, or the slot whose adjoint buffer
                                  this slot shares */
    unsigned char *adj_skip;   /* [n_instr] bit 0 (a), bit 1 (b): that operand's
                                  adjoint is an alias, the sweep adds nothing */
    size_t sweep_start;        /* instructions the sweep visits: n_instr, or
                                  n_instr - 1 when the last one is a full sum
                                  whose adjoint each workspace writes once */
};

struct fg_tape_ws {
    const fg_tape *tape;
    size_t k;                  /* tangent directions the buffers hold */
    double **val;              /* [n_slots] values (input: bound per call) */
    double **tan;              /* [n_slots] eps1 parts, size*kk (NULL: no tangent) */
    double **hc;               /* [n_slots] eps2 parts, size */
    double **hd;               /* [n_slots] eps1 eps2 parts, size*kk */
    double **adj;              /* [n_slots] reverse-mode adjoints, size (NULL: no tangent) */
    double **fadj, **fadjt;    /* [n_slots] forward-over-reverse: adjoints (size) and
                                  their tangents (size*kk), unshared (no aliases);
                                  allocated by the first call that needs them */
    double *for_buf;
    double *adj_buf;           /* all adjoints, contiguous; those the sweep must zero
                                  come first, so one memset of adj_zero_total clears them */
    size_t adj_total, adj_zero_total;
    double *scratch;           /* (prod_len + 1) * (k + 1) doubles: PROD's partials */
    double *buf;               /* every buffer above but for_buf and scratch, aligned
                                  to 64 bytes inside raw */
    void *raw;
};

/* ------------------------------------------- overflow-checked arithmetic */

/* a * b and a + b of sizes; on overflow *ok becomes 0 (and stays 0). */
static inline size_t fg_size_mul(size_t a, size_t b, int *ok)
{
    if (b && a > SIZE_MAX / b) {
        *ok = 0;
        return 0;
    }
    return a * b;
}

static inline size_t fg_size_add(size_t a, size_t b, int *ok)
{
    if (a > SIZE_MAX - b) {
        *ok = 0;
        return 0;
    }
    return a + b;
}

/* n rounded up to a whole 64-byte line of doubles (n < SIZE_MAX - 7). */
static inline size_t fg_pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* --------------------------------------------------- planning (plan.c) */

/* Fill the tape's reverse-mode plan. FG_OK or FG_ERR_NOMEM. */
fg_status fg_tape_plan_adjoint(fg_tape *t);
/* Doubles one workspace with k directions needs (without the lazily
 * allocated forward-over-reverse part when for_rev is 0); 0 on overflow. */
size_t fg_tape_ws_doubles(const fg_tape *t, size_t k, int for_rev);
/* 1 when a workspace (k = 1, every buffer) of the validated spec, whose
 * slots' dependence on x is slot_tan, fits in the address space. */
int fg_tape_spec_ws_fits(const fg_tape_spec *s, const unsigned char *slot_tan);
/* Allocate the forward-over-reverse buffers on first use. FG_OK, FG_ERR_NOMEM. */
fg_status fg_tape_ws_reverse_buffers(const fg_tape *t, fg_tape_ws *ws);

/* ---------------------------------- structural rules (fg_tape_struct.c) */

/* The linear instructions GATHER, SUM, CUMSUM, WHERE, MAX, MIN:
 * XO = L(XA, XB), the same map for values (width 1) and for every
 * derivative component (width doubles per element). V holds the values
 * (WHERE's condition, MAX/MIN's choice); a NULL operand (a constant's
 * derivative) reads as zeros. */
void fg_tape_linear_forward(const fg_tape *t, const fg_tape_instr *I, double *const *V,
                            const double *XA, const double *XB, double *XO, int64_t width);
/* Its transpose, accumulated: GA += L_a^T GO, GB += L_b^T GO (NULL: skipped).
 * store (SUM only, see fg_tape_plan.c): GA = 0 + L_a^T GO instead. */
void fg_tape_linear_adjoint(const fg_tape *t, const fg_tape_instr *I, double *const *V,
                            const double *GO, double *GA, double *GB, int64_t width,
                            int store);

/* MATMUL, C = A B with (M, L, P, products) = (p0, p1, p2, p3), one rule per
 * mode (fg_tape_matmul.c), through t->blas. A NULL tangent or adjoint
 * belongs to a constant operand. store_a (store_b): the sweep's first write
 * into that operand's adjoint (see fg_tape_plan.c), which it stores. */
void fg_tape_matmul_value(const fg_tape *t, const fg_tape_instr *I, const double *A,
                          const double *B, double *O);
void fg_tape_matmul_dual(const fg_tape *t, const fg_tape_instr *I, const double *A,
                         const double *TA, const double *B, const double *TB, double *O,
                         double *TO, int64_t kk);
void fg_tape_matmul_hyper(const fg_tape *t, const fg_tape_instr *I, const double *const A[4],
                          const double *const B[4], double *const O[4], int64_t kk);
void fg_tape_matmul_adjoint(const fg_tape *t, const fg_tape_instr *I, const double *A,
                            const double *B, const double *GO, double *GA, double *GB,
                            int store_a, int store_b);
void fg_tape_matmul_adjdual(const fg_tape *t, const fg_tape_instr *I, const double *A,
                            const double *TA, const double *B, const double *TB,
                            const double *GO, const double *TGO, double *GA, double *TGA,
                            double *GB, double *TGB, int64_t kk);

/* PROD along (pre, len, post) = (p0, p1, p2), one rule per mode; scratch
 * is the workspace's (prod_len + 1) * (k + 1) doubles. */
void fg_tape_prod_value(const fg_tape_instr *I, const double *A, double *O);
void fg_tape_prod_dual(const fg_tape_instr *I, const double *A, const double *TA, double *O,
                       double *TO, int64_t kk, double *scratch);
void fg_tape_prod_hyper(const fg_tape_instr *I, const double *const A[4], double *const O[4],
                        int64_t kk);
void fg_tape_prod_adjoint(const fg_tape_instr *I, const double *A, const double *GO,
                          double *GA, double *scratch);
void fg_tape_prod_adjdual(const fg_tape_instr *I, const double *A, const double *TA,
                          const double *GO, const double *TGO, double *GA, double *TGA,
                          int64_t kk, double *scratch);

/* ------------------------------------------------- passes (forward.c) */

/* The dual pass with kk directions (x's tangents already seeded in
 * ws->tan[0]); the forward-over-reverse sweep runs after it. */
void fg_tape_dual_pass(const fg_tape *t, fg_tape_ws *ws, int64_t kk);
/* The value pass (x bound in ws->val[0]). */
void fg_tape_value_pass(const fg_tape *t, fg_tape_ws *ws);

/* ------------------------------------------------- sweeps (reverse.c) */

/* Forward-over-reverse Hessian columns [j0, j1) (x bound, f not piecewise
 * constant), unsymmetrized unless j1 == n; grad (may be NULL) from the
 * last pass. FG_OK or FG_ERR_NOMEM. */
fg_status fg_tape_hessian_reverse_part(const fg_tape *t, fg_tape_ws *ws, size_t j0, size_t j1,
                                       double *hess, double *grad);

/* ------------------------------------------------- data (data.c) */

/* Bind the call's inputs: slot 0 reads x and each data slot its data
 * pointer in place (read only: validation guarantees no instruction writes
 * them), after checking the pointers and the integer data's range. Every
 * entry point binds its inputs here, and only here. FG_OK or FG_ERR_ARG. */
fg_status fg_tape_bind(const fg_tape *t, fg_tape_ws *ws, const double *x,
                       const void *const *data);
/* In an entry point: bind x and data (fg_tape_bind), or return its status. */
#define FG_TAPE_BIND(t, ws, x, data)                                           \
    do {                                                                       \
        const fg_status bind_st_ = fg_tape_bind(t, ws, x, data);               \
        if (FG_UNLIKELY(bind_st_ != FG_OK)) return bind_st_;                   \
    } while (0)
/* The data slots and integer bounds of a validated tape. FG_OK, FG_ERR_NOMEM. */
fg_status fg_tape_plan_data(fg_tape *t);
/* TAKE (linear in a, the same map for every component of width doubles)
 * and its transpose, accumulated (GA NULL: skipped); CAST's values. */
void fg_tape_take_forward(const fg_tape *t, const fg_tape_instr *I, double *const *V,
                          const double *XA, double *XO, int64_t width);
void fg_tape_take_adjoint(const fg_tape *t, const fg_tape_instr *I, double *const *V,
                          const double *GO, double *GA, int64_t width);
void fg_tape_cast_value(const fg_tape_instr *I, double *const *V, double *O);

/* Operand `slot` of a per-slot buffer array at element offset off, width
 * doubles per element; NULL when the slot has no such buffer. */
#define FG_TAPE_OPND(arr, slot, off, w) ((arr)[slot] ? (arr)[slot] + (off) * (w) : NULL)

#endif /* FASTGRAD_TAPE_INTERNAL_H */
