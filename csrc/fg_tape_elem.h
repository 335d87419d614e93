/* fg_tape_elem.h: the tape VM's elementwise kernels, generated from
 * fg_ops.def (private; included by fg_tape_forward.c and fg_tape_reverse.c).
 *
 * Dual and hyper-dual: one function per (arity, mode) that switches on the
 * op code once and runs a tight loop whose body is the table row's
 * expressions. Value and adjoint (the hot passes): one small out-of-line
 * function per (op, arity, mode), reached through a table indexed by op
 * code (both generated from the rows; validation guarantees the op has
 * the instruction's arity, and comparisons have no adjoint). Binary
 * operands have element strides sa, sb in {0, 1} (0 broadcasts a scalar).
 * Tangent blocks are kk doubles per element. A constant operand has no
 * tangent (NULL) and its partial derivative is never evaluated: each binary
 * mode has one loop per pattern (both traced, only a, only b).
 */
#ifndef FASTGRAD_TAPE_ELEM_H
#define FASTGRAD_TAPE_ELEM_H

/* FG_ELEM_HOT (fg_tape_internal.h): built per ISA and kept out of line. */

/* ---------------------------------------------------------------- value */

#define FG_OP_UNARY(NAME, VAL, D1, D2)                                         \
    FG_ELEM_HOT static void fg_uval_##NAME(const double *FG_RESTRICT A,        \
                                           double *FG_RESTRICT O, int64_t n)   \
    {                                                                          \
        for (int64_t i = 0; i < n; i++) {                                      \
            const double x = A[i];                                             \
            O[i] = (VAL);                                                      \
        }                                                                      \
    }
#include "fg_ops.def"
#undef FG_OP_UNARY

typedef void (*fg_uval_table_fn)(const double *, double *, int64_t);
static fg_uval_table_fn const fg_uval_table[FG_OP_COUNT] = {
#define FG_OP_UNARY(NAME, VAL, D1, D2)\
    [FG_OP_##NAME] = fg_uval_##NAME,
#include "fg_ops.def"
#undef FG_OP_UNARY
};

static inline void fg_elem_unary_value(int op, const double *FG_RESTRICT A,
                                       double *FG_RESTRICT O, int64_t n)
{
    fg_uval_table[op](A, O, n);
}

/* One loop per stride pattern: the contiguous one vectorizes. */
#define FG_BIN_VALUE_LOOPS(EXPR)                                               \
    if (sa && sb) {                                                            \
        for (int64_t i = 0; i < n; i++) {                                      \
            const double a = A[i], b = B[i];                                   \
            O[i] = EXPR;                                                       \
        }                                                                      \
    } else if (sb) {                                                           \
        const double a = A[0];                                                 \
        for (int64_t i = 0; i < n; i++) {                                      \
            const double b = B[i];                                             \
            O[i] = EXPR;                                                       \
        }                                                                      \
    } else if (sa) {                                                           \
        const double b = B[0];                                                 \
        for (int64_t i = 0; i < n; i++) {                                      \
            const double a = A[i];                                             \
            O[i] = EXPR;                                                       \
        }                                                                      \
    } else {                                                                   \
        const double a = A[0], b = B[0];                                       \
        for (int64_t i = 0; i < n; i++) O[i] = EXPR;                           \
    }

#define FG_BVAL_SIG                                                            \
    (const double *FG_RESTRICT A, int64_t sa, const double *FG_RESTRICT B,     \
     int64_t sb, double *FG_RESTRICT O, int64_t n)
#define FG_OP_BINARY(NAME, VAL, DA_, DB_, DAA_, DAB_, DBB_)                    \
    FG_ELEM_HOT static void fg_bval_##NAME FG_BVAL_SIG { FG_BIN_VALUE_LOOPS((VAL)) }
#define FG_OP_COMPARE(NAME, VAL)                                               \
    FG_ELEM_HOT static void fg_bval_##NAME FG_BVAL_SIG                         \
    { FG_BIN_VALUE_LOOPS(((VAL) ? 1.0 : 0.0)) }
#include "fg_ops.def"
#undef FG_OP_BINARY
#undef FG_OP_COMPARE

typedef void (*fg_bval_table_fn)(const double *, int64_t, const double *, int64_t, double *, int64_t);
static fg_bval_table_fn const fg_bval_table[FG_OP_COUNT] = {
#define FG_OP_BINARY(NAME, VAL, DA_, DB_, DAA_, DAB_, DBB_)\
    [FG_OP_##NAME] = fg_bval_##NAME,
#define FG_OP_COMPARE(NAME, VAL)\
    [FG_OP_##NAME] = fg_bval_##NAME,
#include "fg_ops.def"
#undef FG_OP_BINARY
#undef FG_OP_COMPARE
};

static inline void fg_elem_binary_value(int op, const double *FG_RESTRICT A, int64_t sa,
                                        const double *FG_RESTRICT B, int64_t sb,
                                        double *FG_RESTRICT O, int64_t n)
{
    fg_bval_table[op](A, sa, B, sb, O, n);
}

/* ----------------------------------------------------------------- dual */

FG_INLINE void fg_elem_unary_dual_body(int op, const double *FG_RESTRICT A,
                                       const double *FG_RESTRICT TA, double *FG_RESTRICT O,
                                       double *FG_RESTRICT TO, int64_t n, int64_t kk)
{
    switch (op) {
#define FG_OP_UNARY(NAME, VAL, D1, D2)                                         \
    case FG_OP_##NAME:                                                         \
        for (int64_t i = 0; i < n; i++) {                                      \
            const double x = A[i];                                             \
            const double y = (VAL);                                            \
            const double d1_ = (D1);                                           \
            const double *ta_ = TA + i * kk;                                   \
            double *to_ = TO + i * kk;                                         \
            O[i] = y;                                                          \
            for (int64_t q = 0; q < kk; q++) to_[q] = d1_ * ta_[q];           \
        }                                                                      \
        break;
#include "fg_ops.def"
#undef FG_OP_UNARY
    default: break;
    }
}

FG_INLINE void fg_elem_binary_dual_body(int op, const double *A, const double *TA, int64_t sa,
                                        const double *B, const double *TB, int64_t sb,
                                        double *FG_RESTRICT O, double *FG_RESTRICT TO,
                                        int64_t n, int64_t kk)
{
    const int64_t ska = sa * kk, skb = sb * kk;
    switch (op) {
#define FG_OP_BINARY(NAME, VAL, DA_, DB_, DAA_, DAB_, DBB_)                    \
    case FG_OP_##NAME:                                                         \
        if (TA && TB) {                                                        \
            for (int64_t i = 0; i < n; i++) {                                  \
                const double a = A[i * sa], b = B[i * sb];                     \
                const double y = (VAL);                                        \
                const double pa_ = (DA_), pb_ = (DB_);                         \
                const double *ta_ = TA + i * ska, *tb_ = TB + i * skb;         \
                double *to_ = TO + i * kk;                                     \
                O[i] = y;                                                      \
                for (int64_t q = 0; q < kk; q++) to_[q] = pa_ * ta_[q] + pb_ * tb_[q]; \
            }                                                                  \
        } else if (TA) {                                                       \
            for (int64_t i = 0; i < n; i++) {                                  \
                const double a = A[i * sa], b = B[i * sb];                     \
                const double y = (VAL);                                        \
                const double pa_ = (DA_);                                      \
                const double *ta_ = TA + i * ska;                              \
                double *to_ = TO + i * kk;                                     \
                O[i] = y;                                                      \
                for (int64_t q = 0; q < kk; q++) to_[q] = pa_ * ta_[q];       \
            }                                                                  \
        } else {                                                               \
            for (int64_t i = 0; i < n; i++) {                                  \
                const double a = A[i * sa], b = B[i * sb];                     \
                const double y = (VAL);                                        \
                const double pb_ = (DB_);                                      \
                const double *tb_ = TB + i * skb;                              \
                double *to_ = TO + i * kk;                                     \
                O[i] = y;                                                      \
                for (int64_t q = 0; q < kk; q++) to_[q] = pb_ * tb_[q];       \
            }                                                                  \
        }                                                                      \
        break;
#include "fg_ops.def"
#undef FG_OP_BINARY
    default: break;
    }
}

/* One direction (kk = 1: jvp, hvp) is common and, with kk a constant, the
 * loops over elements vectorize; other widths take the general loops. */
static void fg_elem_unary_dual(int op, const double *FG_RESTRICT A, const double *FG_RESTRICT TA,
                               double *FG_RESTRICT O, double *FG_RESTRICT TO, int64_t n,
                               int64_t kk)
{
    if (kk == 1) fg_elem_unary_dual_body(op, A, TA, O, TO, n, 1);
    else fg_elem_unary_dual_body(op, A, TA, O, TO, n, kk);
}

static void fg_elem_binary_dual(int op, const double *A, const double *TA, int64_t sa,
                                const double *B, const double *TB, int64_t sb,
                                double *FG_RESTRICT O, double *FG_RESTRICT TO, int64_t n,
                                int64_t kk)
{
    if (kk == 1) fg_elem_binary_dual_body(op, A, TA, sa, B, TB, sb, O, TO, n, 1);
    else fg_elem_binary_dual_body(op, A, TA, sa, B, TB, sb, O, TO, n, kk);
}

/* ----------------------------------------------------------- hyper-dual */

static void fg_elem_unary_hyper(int op, const double *FG_RESTRICT A,
                                const double *FG_RESTRICT TA, const double *FG_RESTRICT CA,
                                const double *FG_RESTRICT DA, double *FG_RESTRICT O,
                                double *FG_RESTRICT TO, double *FG_RESTRICT CO,
                                double *FG_RESTRICT DO, int64_t n, int64_t kk)
{
    switch (op) {
#define FG_OP_UNARY(NAME, VAL, D1, D2)                                         \
    case FG_OP_##NAME:                                                         \
        for (int64_t i = 0; i < n; i++) {                                      \
            const double x = A[i];                                             \
            const double y = (VAL);                                            \
            const double d1_ = (D1), d2_ = (D2);                               \
            const double c_ = CA[i];                                           \
            const double *ta_ = TA + i * kk, *da_ = DA + i * kk;               \
            double *to_ = TO + i * kk, *do_ = DO + i * kk;                     \
            O[i] = y;                                                          \
            CO[i] = d1_ * c_;                                                  \
            for (int64_t q = 0; q < kk; q++) {                                 \
                to_[q] = d1_ * ta_[q];                                         \
                do_[q] = d1_ * da_[q] + d2_ * ta_[q] * c_;                     \
            }                                                                  \
        }                                                                      \
        break;
#include "fg_ops.def"
#undef FG_OP_UNARY
    default: break;
    }
}

/* y = f(a, b) with a = a0 + ta eps1 + ca eps2 + da eps1eps2 (and b alike):
 *   eps1:      fa ta + fb tb
 *   eps2:      fa ca + fb cb
 *   eps1eps2:  fa da + fb db + faa ta ca + fab (ta cb + tb ca) + fbb tb cb */
static void fg_elem_binary_hyper(int op, const double *A, const double *TA, const double *CA,
                                 const double *DA, int64_t sa, const double *B,
                                 const double *TB, const double *CB, const double *DB,
                                 int64_t sb, double *FG_RESTRICT O, double *FG_RESTRICT TO,
                                 double *FG_RESTRICT CO, double *FG_RESTRICT DO, int64_t n,
                                 int64_t kk)
{
    const int64_t ska = sa * kk, skb = sb * kk;
    switch (op) {
#define FG_OP_BINARY(NAME, VAL, DA_, DB_, DAA_, DAB_, DBB_)                    \
    case FG_OP_##NAME:                                                         \
        if (TA && TB) {                                                        \
            for (int64_t i = 0; i < n; i++) {                                  \
                const double a = A[i * sa], b = B[i * sb];                     \
                const double y = (VAL);                                        \
                const double pa_ = (DA_), pb_ = (DB_);                         \
                const double paa_ = (DAA_), pab_ = (DAB_), pbb_ = (DBB_);      \
                const double ca_ = CA[i * sa], cb_ = CB[i * sb];               \
                const double *ta_ = TA + i * ska, *tb_ = TB + i * skb;         \
                const double *da_ = DA + i * ska, *db_ = DB + i * skb;         \
                double *to_ = TO + i * kk, *do_ = DO + i * kk;                 \
                O[i] = y;                                                      \
                CO[i] = pa_ * ca_ + pb_ * cb_;                                 \
                for (int64_t q = 0; q < kk; q++) {                             \
                    to_[q] = pa_ * ta_[q] + pb_ * tb_[q];                      \
                    do_[q] = pa_ * da_[q] + pb_ * db_[q] + paa_ * ta_[q] * ca_ \
                             + pab_ * (ta_[q] * cb_ + tb_[q] * ca_)            \
                             + pbb_ * tb_[q] * cb_;                            \
                }                                                              \
            }                                                                  \
        } else if (TA) {                                                       \
            for (int64_t i = 0; i < n; i++) {                                  \
                const double a = A[i * sa], b = B[i * sb];                     \
                const double y = (VAL);                                        \
                const double pa_ = (DA_), paa_ = (DAA_);                       \
                const double ca_ = CA[i * sa];                                 \
                const double *ta_ = TA + i * ska, *da_ = DA + i * ska;         \
                double *to_ = TO + i * kk, *do_ = DO + i * kk;                 \
                O[i] = y;                                                      \
                CO[i] = pa_ * ca_;                                             \
                for (int64_t q = 0; q < kk; q++) {                             \
                    to_[q] = pa_ * ta_[q];                                     \
                    do_[q] = pa_ * da_[q] + paa_ * ta_[q] * ca_;               \
                }                                                              \
            }                                                                  \
        } else {                                                               \
            for (int64_t i = 0; i < n; i++) {                                  \
                const double a = A[i * sa], b = B[i * sb];                     \
                const double y = (VAL);                                        \
                const double pb_ = (DB_), pbb_ = (DBB_);                       \
                const double cb_ = CB[i * sb];                                 \
                const double *tb_ = TB + i * skb, *db_ = DB + i * skb;         \
                double *to_ = TO + i * kk, *do_ = DO + i * kk;                 \
                O[i] = y;                                                      \
                CO[i] = pb_ * cb_;                                             \
                for (int64_t q = 0; q < kk; q++) {                             \
                    to_[q] = pb_ * tb_[q];                                     \
                    do_[q] = pb_ * db_[q] + pbb_ * tb_[q] * cb_;               \
                }                                                              \
            }                                                                  \
        }                                                                      \
        break;
#include "fg_ops.def"
#undef FG_OP_BINARY
    default: break;
    }
}

/* ------------------------------------------------ forward-over-reverse */

/* The adjoint sweep differentiated along kk tangent directions (a dual pass
 * ran first: TA, TB hold the operands' tangents, kk per element). With
 * g = GO[i] and its tangent TGO (kk per element):
 *   unary y = f(x):     GA += g f'             TGA += TGO f' + g f'' TA
 *   binary y = f(a, b): GA += g f_a            TGA += TGO f_a + g (f_aa TA + f_ab TB)
 *                       GB += g f_b            TGB += TGO f_b + g (f_ab TA + f_bb TB)
 * A constant operand has no adjoint and no tangent, and its partials are
 * never evaluated. Broadcast operands (stride 0) accumulate into their one
 * element. GA may be GB (x * x): plain pointers. */
FG_INLINE void fg_elem_unary_adjdual_body(int op, const double *A, const double *TA,
                                          const double *O, const double *GO,
                                          const double *TGO, double *GA, double *TGA,
                                          int64_t n, int64_t kk)
{
    switch (op) {
#define FG_OP_UNARY(NAME, VAL, D1, D2)                                         \
    case FG_OP_##NAME:                                                         \
        for (int64_t i = 0; i < n; i++) {                                      \
            const double x = A[i], y = O[i];                                   \
            (void)x; (void)y;                                                  \
            const double d1_ = (D1), d2_ = (D2), g_ = GO[i];                   \
            const double *ta_ = TA + i * kk, *tgo_ = TGO + i * kk;             \
            double *tga_ = TGA + i * kk;                                       \
            GA[i] += g_ * d1_;                                                 \
            for (int64_t q = 0; q < kk; q++)                                   \
                tga_[q] += tgo_[q] * d1_ + g_ * d2_ * ta_[q];                  \
        }                                                                      \
        break;
#include "fg_ops.def"
#undef FG_OP_UNARY
    default: break;
    }
}

FG_INLINE void fg_elem_binary_adjdual_body(int op, const double *A, const double *TA,
                                           double *GA, double *TGA, int64_t sa,
                                           const double *B, const double *TB, double *GB,
                                           double *TGB, int64_t sb, const double *O,
                                           const double *GO, const double *TGO, int64_t n,
                                           int64_t kk)
{
    const int64_t ska = sa * kk, skb = sb * kk;
    switch (op) {
#define FG_OP_BINARY(NAME, VAL, DA_, DB_, DAA_, DAB_, DBB_)                    \
    case FG_OP_##NAME:                                                         \
        if (GA && GB) {                                                        \
            for (int64_t i = 0; i < n; i++) {                                  \
                const double a = A[i * sa], b = B[i * sb], y = O[i];           \
                (void)a; (void)b; (void)y;                                     \
                const double pa_ = (DA_), pb_ = (DB_);                         \
                const double paa_ = (DAA_), pab_ = (DAB_), pbb_ = (DBB_);      \
                const double g_ = GO[i];                                       \
                const double *ta_ = TA + i * ska, *tb_ = TB + i * skb;         \
                const double *tgo_ = TGO + i * kk;                             \
                double *tga_ = TGA + i * ska, *tgb_ = TGB + i * skb;           \
                GA[i * sa] += g_ * pa_;                                        \
                GB[i * sb] += g_ * pb_;                                        \
                for (int64_t q = 0; q < kk; q++) {                             \
                    const double ta_q = ta_[q], tb_q = tb_[q], tgo_q = tgo_[q]; \
                    tga_[q] += tgo_q * pa_ + g_ * (paa_ * ta_q + pab_ * tb_q); \
                    tgb_[q] += tgo_q * pb_ + g_ * (pab_ * ta_q + pbb_ * tb_q); \
                }                                                              \
            }                                                                  \
        } else if (GA) {                                                       \
            for (int64_t i = 0; i < n; i++) {                                  \
                const double a = A[i * sa], b = B[i * sb], y = O[i];           \
                (void)a; (void)b; (void)y;                                     \
                const double pa_ = (DA_), paa_ = (DAA_), g_ = GO[i];           \
                const double *ta_ = TA + i * ska, *tgo_ = TGO + i * kk;        \
                double *tga_ = TGA + i * ska;                                  \
                GA[i * sa] += g_ * pa_;                                        \
                for (int64_t q = 0; q < kk; q++)                               \
                    tga_[q] += tgo_[q] * pa_ + g_ * paa_ * ta_[q];             \
            }                                                                  \
        } else if (GB) {                                                       \
            for (int64_t i = 0; i < n; i++) {                                  \
                const double a = A[i * sa], b = B[i * sb], y = O[i];           \
                (void)a; (void)b; (void)y;                                     \
                const double pb_ = (DB_), pbb_ = (DBB_), g_ = GO[i];           \
                const double *tb_ = TB + i * skb, *tgo_ = TGO + i * kk;        \
                double *tgb_ = TGB + i * skb;                                  \
                GB[i * sb] += g_ * pb_;                                        \
                for (int64_t q = 0; q < kk; q++)                               \
                    tgb_[q] += tgo_[q] * pb_ + g_ * pbb_ * tb_[q];             \
            }                                                                  \
        }                                                                      \
        break;
#include "fg_ops.def"
#undef FG_OP_BINARY
    default: break;
    }
}

/* kk = 1 (hvp) specialized, as for the dual kernels above. */
static void fg_elem_unary_adjdual(int op, const double *A, const double *TA, const double *O,
                                  const double *GO, const double *TGO, double *GA,
                                  double *TGA, int64_t n, int64_t kk)
{
    if (kk == 1) fg_elem_unary_adjdual_body(op, A, TA, O, GO, TGO, GA, TGA, n, 1);
    else fg_elem_unary_adjdual_body(op, A, TA, O, GO, TGO, GA, TGA, n, kk);
}

static void fg_elem_binary_adjdual(int op, const double *A, const double *TA, double *GA,
                                   double *TGA, int64_t sa, const double *B, const double *TB,
                                   double *GB, double *TGB, int64_t sb, const double *O,
                                   const double *GO, const double *TGO, int64_t n, int64_t kk)
{
    if (kk == 1)
        fg_elem_binary_adjdual_body(op, A, TA, GA, TGA, sa, B, TB, GB, TGB, sb, O, GO, TGO, n, 1);
    else
        fg_elem_binary_adjdual_body(op, A, TA, GA, TGA, sa, B, TB, GB, TGB, sb, O, GO, TGO, n,
                                    kk);
}

/* -------------------------------------------------------------- adjoint */

/* Reverse mode: GA[i] += GO[i] * dy/dx with x, y from the value pass; with
 * za (this is the sweep's first write into a whole slot, see
 * plan_adjoint_stores in fg_tape_plan.c) GA[i] = 0 + GO[i] * dy/dx instead, so
 * that GA need not be zeroed first. The select is loop-invariant. */
#define FG_OP_UNARY(NAME, VAL, D1, D2)                                         \
    FG_ELEM_HOT static void fg_uadj_##NAME(const double *FG_RESTRICT A,        \
                                           const double *FG_RESTRICT O,        \
                                           const double *FG_RESTRICT GO,       \
                                           double *FG_RESTRICT GA, int64_t n, int za) \
    {                                                                          \
        for (int64_t i = 0; i < n; i++) {                                      \
            const double x = A[i], y = O[i];                                   \
            (void)x; (void)y;                                                  \
            GA[i] = (za ? 0.0 : GA[i]) + GO[i] * (D1);                         \
        }                                                                      \
    }
#include "fg_ops.def"
#undef FG_OP_UNARY

typedef void (*fg_uadj_table_fn)(const double *, const double *, const double *, double *, int64_t, int);
static fg_uadj_table_fn const fg_uadj_table[FG_OP_COUNT] = {
#define FG_OP_UNARY(NAME, VAL, D1, D2)\
    [FG_OP_##NAME] = fg_uadj_##NAME,
#include "fg_ops.def"
#undef FG_OP_UNARY
};

static inline void fg_elem_unary_adjoint(int op, const double *FG_RESTRICT A,
                                         const double *FG_RESTRICT O,
                                         const double *FG_RESTRICT GO,
                                         double *FG_RESTRICT GA, int64_t n, int za)
{
    fg_uadj_table[op](A, O, GO, GA, n, za);
}

/* GA[i*sa] += GO[i] * dy/da, GB[i*sb] += GO[i] * dy/db (za, zb: store
 * 0 + the term instead, as above); a NULL adjoint (a
 * constant operand) is skipped and its partial never evaluated. GA and GB
 * may be the same buffer (x * x), so they are not restrict. */
#define FG_OP_BINARY(NAME, VAL, DA_, DB_, DAA_, DAB_, DBB_)                    \
    FG_ELEM_HOT static void fg_badj_##NAME(const double *A, double *GA, int64_t sa, \
                                           const double *B, double *GB, int64_t sb, \
                                           const double *FG_RESTRICT O,        \
                                           const double *FG_RESTRICT GO,       \
                                           int64_t n, int za, int zb)          \
    {                                                                          \
        if (GA && GB && sa && sb) {   /* GA may be GB (x * x): no restrict */  \
            for (int64_t i = 0; i < n; i++) {                                  \
                const double a = A[i], b = B[i], y = O[i];                     \
                (void)a; (void)b; (void)y;                                     \
                const double pa_ = (DA_), pb_ = (DB_);                         \
                GA[i] = (za ? 0.0 : GA[i]) + GO[i] * pa_;                      \
                GB[i] = (zb ? 0.0 : GB[i]) + GO[i] * pb_;                      \
            }                                                                  \
        } else if (GA && GB) {                                                 \
            for (int64_t i = 0; i < n; i++) {                                  \
                const double a = A[i * sa], b = B[i * sb], y = O[i];           \
                (void)a; (void)b; (void)y;                                     \
                const double pa_ = (DA_), pb_ = (DB_);                         \
                GA[i * sa] = (za ? 0.0 : GA[i * sa]) + GO[i] * pa_;            \
                GB[i * sb] = (zb ? 0.0 : GB[i * sb]) + GO[i] * pb_;            \
            }                                                                  \
        } else if (GA && sa && sb) {   /* contiguous: vectorizes */            \
            for (int64_t i = 0; i < n; i++) {                                  \
                const double a = A[i], b = B[i], y = O[i];                     \
                (void)a; (void)b; (void)y;                                     \
                GA[i] = (za ? 0.0 : GA[i]) + GO[i] * (DA_);                    \
            }                                                                  \
        } else if (GA && sa) {                                                 \
            const double b = B[0];                                             \
            for (int64_t i = 0; i < n; i++) {                                  \
                const double a = A[i], y = O[i];                               \
                (void)a; (void)b; (void)y;                                     \
                GA[i] = (za ? 0.0 : GA[i]) + GO[i] * (DA_);                    \
            }                                                                  \
        } else if (GB && sa && sb) {                                           \
            for (int64_t i = 0; i < n; i++) {                                  \
                const double a = A[i], b = B[i], y = O[i];                     \
                (void)a; (void)b; (void)y;                                     \
                GB[i] = (zb ? 0.0 : GB[i]) + GO[i] * (DB_);                    \
            }                                                                  \
        } else if (GB && sb) {                                                 \
            const double a = A[0];                                             \
            for (int64_t i = 0; i < n; i++) {                                  \
                const double b = B[i], y = O[i];                               \
                (void)a; (void)b; (void)y;                                     \
                GB[i] = (zb ? 0.0 : GB[i]) + GO[i] * (DB_);                    \
            }                                                                  \
        } else if (GA) {                                                       \
            for (int64_t i = 0; i < n; i++) {                                  \
                const double a = A[i * sa], b = B[i * sb], y = O[i];           \
                (void)a; (void)b; (void)y;                                      \
                GA[i * sa] = (za ? 0.0 : GA[i * sa]) + GO[i] * (DA_);          \
            }                                                                  \
        } else {                                                               \
            for (int64_t i = 0; i < n; i++) {                                  \
                const double a = A[i * sa], b = B[i * sb], y = O[i];           \
                (void)a; (void)b; (void)y;                                      \
                GB[i * sb] = (zb ? 0.0 : GB[i * sb]) + GO[i] * (DB_);          \
            }                                                                  \
        }                                                                      \
    }
#include "fg_ops.def"
#undef FG_OP_BINARY

typedef void (*fg_badj_table_fn)(const double *, double *, int64_t, const double *, double *, int64_t, const double *, const double *, int64_t, int, int);
static fg_badj_table_fn const fg_badj_table[FG_OP_COUNT] = {
#define FG_OP_BINARY(NAME, VAL, DA_, DB_, DAA_, DAB_, DBB_)\
    [FG_OP_##NAME] = fg_badj_##NAME,
#include "fg_ops.def"
#undef FG_OP_BINARY
};

static inline void fg_elem_binary_adjoint(int op, const double *A, double *GA, int64_t sa,
                                          const double *B, double *GB, int64_t sb,
                                          const double *FG_RESTRICT O,
                                          const double *FG_RESTRICT GO, int64_t n, int za,
                                          int zb)
{
    fg_badj_table[op](A, GA, sa, B, GB, sb, O, GO, n, za, zb);
}

#endif /* FASTGRAD_TAPE_ELEM_H */
