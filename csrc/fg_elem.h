/* fg_elem.h: the elementwise kernels of every mode, generated from
 * fg_ops.def by fg_elem_body.h (the one generator) into one table of
 * functions per (mode, dtype), indexed by op code. Private: DualArray's
 * kernels (fg_dual.c) and the tape VM call them; embedders use fg_dual.h.
 *
 * Modes, for y = f(x) or y = f(a, b) over n elements:
 *   value    y only (f64; the tape's hot pass)
 *   dual     k tangent directions per element, contiguous (element i's at
 *            T + i*k):  ty = f_a ta + f_b tb
 *   hyper    x = v + t e1 + c e2 + d e1e2 (e1^2 = e2^2 = 0) with k e1
 *            directions: element i's parts at T + i*pt (k), C + i*pc (1),
 *            D + i*pt (k). DualArray packs them in one row of width
 *            m = 2k + 1 (T = row, C = row + k, D = row + k + 1, pt = pc = m);
 *            the tape keeps three buffers (pt = k, pc = 1).
 *                t' = f_a ta + f_b tb,   c' = f_a ca + f_b cb,
 *                d' = f_a da + f_b db + f_aa ta ca + f_ab (ta cb + tb ca)
 *                     + f_bb tb cb
 *   adjoint  GA += GO f_a, GB += GO f_b (f64; the tape's hot reverse pass)
 *            with za / zb: store 0 + the term instead (the sweep's first
 *            write into a whole slot, which then need not be zeroed)
 *   adjdual  the adjoint differentiated along k directions (f64; forward
 *            over reverse): with g = GO[i] and its tangent TGO,
 *                GA += g f_a,  TGA += TGO f_a + g (f_aa TA + f_ab TB)
 *                GB += g f_b,  TGB += TGO f_b + g (f_ab TA + f_bb TB)
 *
 * Every product of a partial and a tangent or adjoint is FG_NS: an exact
 * zero factor gives exactly 0, even when the other is inf or NaN. A zero
 * tangent or adjoint means the direction does not move that input, so
 * sqrt at 0, or a**b in b at a < 0, poisons only the directions that move
 * it (ForwardDiff.jl's NaN-safe mode); a zero partial is a structural zero
 * (add's second partials, sign's slope) that must not turn an infinite
 * tangent into NaN. A second-order term, a partial times two tangent or
 * adjoint factors, nests it with the per-element factor first:
 * FG_NS(FG_NS(p, s), t), 0 when any of the three is 0. The adjoint mode
 * has a second table with plain products, which the reverse sweep tries
 * first (fg_tape_reverse.c says why it then gives the same gradient).
 *
 * Binary operands have element strides sa, sb in {0, 1} (0 broadcasts one
 * element). A constant operand has no tangent or adjoint (NULL) and its
 * partials are never evaluated, so a constant cannot poison a result with
 * its rule's NaN ((-2.0)**3 with a constant exponent). Comparison rows have
 * only a value kernel; the other tables hold NULL for them (and value and
 * adjoint tables NULL for the rows of the other arity). In dual and hyper
 * mode an output may alias an input exactly (in place); the tape's modes
 * take distinct buffers, except GA == GB (x * x).
 */
#ifndef FASTGRAD_ELEM_H
#define FASTGRAD_ELEM_H

#include <stdint.h>
#include "fg_config.h"
#include "fg_ops.h"

/* THE NaN-safe product of a partial p and a tangent or adjoint t (plain
 * values: each is read twice). Both tests always run (| not ||), so that a
 * vectorized loop loads t unconditionally instead of through a masked load. */
#define FG_NS(p, t) ((((p) == 0) | ((t) == 0)) ? 0.0 : (p) * (t))

/* Marks a loop whose iterations are independent even where an output is
 * exactly an input (see fg_elem_body.h). */
#if defined(__GNUC__) && !defined(__clang__)
#define FG_IVDEP _Pragma("GCC ivdep")
#else
#define FG_IVDEP
#endif

/* Forward modes, f64 and f32 (computed in double, stored as T). */
#define FG_ELEM_FORWARD_TABLES(T, S)                                                    \
    typedef void (*fg_elem_dual1_fn_##S)(const T *A, const T *TA, T *O, T *TO,          \
                                         int64_t n, int64_t k);                         \
    typedef void (*fg_elem_dual2_fn_##S)(const T *A, const T *TA, int64_t sa,           \
                                         const T *B, const T *TB, int64_t sb, T *O,     \
                                         T *TO, int64_t n, int64_t k);                  \
    typedef void (*fg_elem_hyper1_fn_##S)(const T *A, const T *TA, const T *CA,         \
                                          const T *DA, T *O, T *TO, T *CO, T *DO,       \
                                          int64_t n, int64_t k, int64_t pt, int64_t pc); \
    typedef void (*fg_elem_hyper2_fn_##S)(const T *A, const T *TA, const T *CA,         \
                                          const T *DA, int64_t sa, const T *B,          \
                                          const T *TB, const T *CB, const T *DB,        \
                                          int64_t sb, T *O, T *TO, T *CO, T *DO,        \
                                          int64_t n, int64_t k, int64_t pt, int64_t pc); \
    extern const fg_elem_dual1_fn_##S fg_elem_dual1_##S[FG_OP_COUNT];                   \
    extern const fg_elem_dual2_fn_##S fg_elem_dual2_##S[FG_OP_COUNT];                   \
    extern const fg_elem_hyper1_fn_##S fg_elem_hyper1_##S[FG_OP_COUNT];                 \
    extern const fg_elem_hyper2_fn_##S fg_elem_hyper2_##S[FG_OP_COUNT];
FG_ELEM_FORWARD_TABLES(double, f64)
FG_ELEM_FORWARD_TABLES(float, f32)
#undef FG_ELEM_FORWARD_TABLES

/* The tape's modes, f64. */
typedef void (*fg_elem_value1_fn)(const double *FG_RESTRICT A, double *FG_RESTRICT O,
                                  int64_t n);
typedef void (*fg_elem_value2_fn)(const double *FG_RESTRICT A, int64_t sa,
                                  const double *FG_RESTRICT B, int64_t sb,
                                  double *FG_RESTRICT O, int64_t n);
typedef void (*fg_elem_adjoint1_fn)(const double *FG_RESTRICT A, const double *FG_RESTRICT O,
                                    const double *FG_RESTRICT GO, double *FG_RESTRICT GA,
                                    int64_t n, int za);
typedef void (*fg_elem_adjoint2_fn)(const double *A, double *GA, int64_t sa, const double *B,
                                    double *GB, int64_t sb, const double *FG_RESTRICT O,
                                    const double *FG_RESTRICT GO, int64_t n, int za, int zb);
typedef void (*fg_elem_adjdual1_fn)(const double *A, const double *TA, const double *O,
                                    const double *GO, const double *TGO, double *GA,
                                    double *TGA, int64_t n, int64_t k);
typedef void (*fg_elem_adjdual2_fn)(const double *A, const double *TA, double *GA,
                                    double *TGA, int64_t sa, const double *B,
                                    const double *TB, double *GB, double *TGB, int64_t sb,
                                    const double *O, const double *GO, const double *TGO,
                                    int64_t n, int64_t k);
extern const fg_elem_value1_fn fg_elem_value1[FG_OP_COUNT];
extern const fg_elem_value2_fn fg_elem_value2[FG_OP_COUNT];
/* [1]: the NaN-safe adjoint; [0]: its twin with plain products, which the
 * reverse sweep tries first (see fg_elem_body.h). */
extern const fg_elem_adjoint1_fn fg_elem_adjoint1[2][FG_OP_COUNT];
extern const fg_elem_adjoint2_fn fg_elem_adjoint2[2][FG_OP_COUNT];
extern const fg_elem_adjdual1_fn fg_elem_adjdual1[FG_OP_COUNT];
extern const fg_elem_adjdual2_fn fg_elem_adjdual2[FG_OP_COUNT];

/* 1 when p[0..count) holds no infinity or NaN (p NULL: a constant's
 * derivative, zeros): the check that lets a derivative product run plain
 * (fg_tape_matmul.c, fg_tape_reverse.c). */
int fg_elem_all_finite(const double *p, int64_t count);

/* ------------------------------------------ the tape VM's entry points --
 * op must be a row of the instruction's arity (the tape validates it);
 * kk tangent directions per element; hyper-dual parts in three buffers;
 * ns: the adjoint's NaN-safe kernels (else its plain ones). */

static inline void fg_elem_unary_value(int op, const double *FG_RESTRICT A,
                                       double *FG_RESTRICT O, int64_t n)
{
    fg_elem_value1[op](A, O, n);
}

static inline void fg_elem_binary_value(int op, const double *FG_RESTRICT A, int64_t sa,
                                        const double *FG_RESTRICT B, int64_t sb,
                                        double *FG_RESTRICT O, int64_t n)
{
    fg_elem_value2[op](A, sa, B, sb, O, n);
}

static inline void fg_elem_unary_dual(int op, const double *A, const double *TA, double *O,
                                      double *TO, int64_t n, int64_t kk)
{
    fg_elem_dual1_f64[op](A, TA, O, TO, n, kk);
}

static inline void fg_elem_binary_dual(int op, const double *A, const double *TA, int64_t sa,
                                       const double *B, const double *TB, int64_t sb,
                                       double *O, double *TO, int64_t n, int64_t kk)
{
    fg_elem_dual2_f64[op](A, TA, sa, B, TB, sb, O, TO, n, kk);
}

static inline void fg_elem_unary_hyper(int op, const double *A, const double *TA,
                                       const double *CA, const double *DA, double *O,
                                       double *TO, double *CO, double *DO, int64_t n,
                                       int64_t kk)
{
    fg_elem_hyper1_f64[op](A, TA, CA, DA, O, TO, CO, DO, n, kk, kk, 1);
}

static inline void fg_elem_binary_hyper(int op, const double *A, const double *TA,
                                        const double *CA, const double *DA, int64_t sa,
                                        const double *B, const double *TB, const double *CB,
                                        const double *DB, int64_t sb, double *O, double *TO,
                                        double *CO, double *DO, int64_t n, int64_t kk)
{
    fg_elem_hyper2_f64[op](A, TA, CA, DA, sa, B, TB, CB, DB, sb, O, TO, CO, DO, n, kk, kk, 1);
}

static inline void fg_elem_unary_adjoint(int op, const double *FG_RESTRICT A,
                                         const double *FG_RESTRICT O,
                                         const double *FG_RESTRICT GO,
                                         double *FG_RESTRICT GA, int64_t n, int za, int ns)
{
    fg_elem_adjoint1[ns != 0][op](A, O, GO, GA, n, za);
}

static inline void fg_elem_binary_adjoint(int op, const double *A, double *GA, int64_t sa,
                                          const double *B, double *GB, int64_t sb,
                                          const double *FG_RESTRICT O,
                                          const double *FG_RESTRICT GO, int64_t n, int za,
                                          int zb, int ns)
{
    fg_elem_adjoint2[ns != 0][op](A, GA, sa, B, GB, sb, O, GO, n, za, zb);
}

static inline void fg_elem_unary_adjdual(int op, const double *A, const double *TA,
                                         const double *O, const double *GO, const double *TGO,
                                         double *GA, double *TGA, int64_t n, int64_t kk)
{
    fg_elem_adjdual1[op](A, TA, O, GO, TGO, GA, TGA, n, kk);
}

static inline void fg_elem_binary_adjdual(int op, const double *A, const double *TA,
                                          double *GA, double *TGA, int64_t sa, const double *B,
                                          const double *TB, double *GB, double *TGB,
                                          int64_t sb, const double *O, const double *GO,
                                          const double *TGO, int64_t n, int64_t kk)
{
    fg_elem_adjdual2[op](A, TA, GA, TGA, sa, B, TB, GB, TGB, sb, O, GO, TGO, n, kk);
}

#endif /* FASTGRAD_ELEM_H */
