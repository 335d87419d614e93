/* fg_tape_matmul.c: the rules of the tape's MATMUL instruction, one per mode
 * (see fg_tape.h for its formula and fg_tape_internal.h for the layout).
 *
 * Every rule is a few row-major products C (+)= op(X) op(Y) handed to
 * fg_blas_gemm_f64, so they run through the tape's BLAS when one was given
 * and the product is large enough, and through the plain loops otherwise.
 * A batched MATMUL (p3 products) runs its products one after the other;
 * an operand with stride 0 is one matrix shared by all of them.
 *
 * The NaN-safe rule (FG_NS: a zero tangent or adjoint times an infinite or
 * NaN factor contributes 0) only matters when a factor is not finite, and
 * the BLAS knows no such rule. A derivative product whose output is fresh
 * (the dual and hyper-dual tangents, an adjoint this instruction writes
 * first) runs fast and checks its output: a non-finite factor always makes
 * the plain sum it enters infinite or NaN, so an all-finite output proves
 * that every term had finite factors, where the two products agree; else it
 * is recomputed by the NaN-safe loops. The check costs one pass over the
 * output, much less than reading the inputs when one of them is a large
 * data matrix. A product accumulating into an adjoint that holds earlier
 * terms checks its inputs first instead. The value pass has no such rule:
 * BLAS and the loops both follow IEEE arithmetic. */
#include <math.h>
#include <string.h>
#include "fg_blas.h"
#include "fg_tape_internal.h"

/* One MATMUL's sizes: nb products of (M x L) (L x P), operand a's matrices
 * sa * M * L elements apart (sa = 0: one matrix for all), b's sb * L * P. */
typedef struct mm {
    const fg_blas *blas;
    int64_t nb, M, L, P, sa, sb;
} mm;

static mm shape_of(const fg_tape *t, const fg_tape_instr *I)
{
    mm s = {&t->blas, I->p3, I->p0, I->p1, I->p2, I->sa, I->sb};
    return s;
}

/* Product q's matrices of a and b, elements w doubles wide. */
#define MM_A(s, X, q, w) ((X) + (q) * (s)->sa * (s)->M * (s)->L * (w))
#define MM_B(s, X, q, w) ((X) + (q) * (s)->sb * (s)->L * (s)->P * (w))
#define MM_O(s, X, q, w) ((X) + (q) * (s)->M * (s)->P * (w))

static void gemm(const mm *s, int flags, int64_t m, int64_t n, int64_t k, const double *a,
                 int64_t lda, const double *b, int64_t ldb, double *c, int64_t ldc)
{
    fg_blas_gemm_f64(s->blas, flags, m, n, k, a, lda, b, ldb, c, ldc);
}

/* The products of one (M x L) (L x P) matrix product and its derivatives,
 * with X, Y, C of w doubles per element where named; flags as
 * fg_blas_gemm_f64's (FG_GEMM_ADD: accumulate). With w > 1 a product is one
 * BLAS call per row or column block: the element-major layout of tangents
 * (element e's kk directions at e*kk) makes no single matrix of them. */

/* C (M x Pw) (+)= A (M x L) Y (L x Pw) */
static void mm_left(const mm *s, int fl, const double *A, const double *Y, double *C, int64_t Pw)
{
    gemm(s, fl, s->M, Pw, s->L, A, s->L, Y, Pw, C, Pw);
}

/* C[i, j, q] (+)= sum_l X[i, l, q] B[l, j]: per row i, C_i = B^T X_i */
static void mm_right(const mm *s, int fl, const double *X, const double *B, double *C, int64_t w)
{
    const int64_t M = s->M, L = s->L, P = s->P;
    if (w == 1) {
        gemm(s, fl, M, P, L, X, L, B, P, C, P);
        return;
    }
    for (int64_t i = 0; i < M; i++)
        gemm(s, fl | FG_GEMM_TRANS_A, P, w, L, B, P, X + i * L * w, w, C + i * P * w, w);
}

/* C[i, l, q] (+)= sum_j Y[i, j, q] B[l, j]: GO B^T; per row i, C_i = B Y_i */
static void mm_right_t(const mm *s, int fl, const double *Y, const double *B, double *C,
                       int64_t w)
{
    const int64_t M = s->M, L = s->L, P = s->P;
    if (w == 1) {
        gemm(s, fl | FG_GEMM_TRANS_B, M, L, P, Y, P, B, P, C, L);
        return;
    }
    for (int64_t i = 0; i < M; i++) gemm(s, fl, L, w, P, B, P, Y + i * P * w, w, C + i * L * w, w);
}

/* C (L x Pw) (+)= A^T Y, Y (M x Pw): A^T GO */
static void mm_left_t(const mm *s, int fl, const double *A, const double *Y, double *C,
                      int64_t Pw)
{
    gemm(s, fl | FG_GEMM_TRANS_A, s->L, Pw, s->M, A, s->L, Y, Pw, C, Pw);
}

/* C[i, l, q] += sum_j G[i, j] Y[l, j, q]: GO TB^T; per column block l,
 * C[:, l, :] = G Y_l */
static void mm_cross_a(const mm *s, int fl, const double *G, const double *Y, double *C,
                       int64_t w)
{
    const int64_t M = s->M, L = s->L, P = s->P;
    if (w == 1) {
        gemm(s, fl | FG_GEMM_TRANS_B, M, L, P, G, P, Y, P, C, L);
        return;
    }
    for (int64_t l = 0; l < L; l++) gemm(s, fl, M, w, P, G, P, Y + l * P * w, w, C + l * w, L * w);
}

/* C[l, j, q] += sum_i X[i, l, q] G[i, j]: TA^T GO; per row l, C_l = G^T X[:, l, :] */
static void mm_cross_b(const mm *s, int fl, const double *X, const double *G, double *C,
                       int64_t w)
{
    const int64_t M = s->M, L = s->L, P = s->P;
    if (w == 1) {
        gemm(s, fl | FG_GEMM_TRANS_A, L, P, M, X, L, G, P, C, P);
        return;
    }
    for (int64_t l = 0; l < L; l++)
        gemm(s, fl | FG_GEMM_TRANS_A, P, w, M, G, P, X + l * w, L * w, C + l * P * w, w);
}

/* ---------------------------------------------------------------- value */

void fg_tape_matmul_value(const fg_tape *t, const fg_tape_instr *I, const double *A,
                          const double *B, double *O)
{
    const mm s = shape_of(t, I);
    for (int64_t q = 0; q < s.nb; q++)
        mm_left(&s, 0, MM_A(&s, A, q, 1), MM_B(&s, B, q, 1), MM_O(&s, O, q, 1), s.P);
}

/* ----------------------------------------------------------------- dual */

/* TO = TA B + A TB, fresh (ns: by the NaN-safe loops). */
static void dual_tangent(const mm *s, const double *A, const double *TA, const double *B,
                         const double *TB, double *TO, int64_t kk, int ns)
{
    const int base = ns ? FG_GEMM_NAN_SAFE : 0;
    for (int64_t q = 0; q < s->nb; q++) {
        int fl = base;
        double *to = MM_O(s, TO, q, kk);
        if (TA) {
            mm_right(s, fl, MM_A(s, TA, q, kk), MM_B(s, B, q, 1), to, kk);
            fl |= FG_GEMM_ADD;
        }
        if (TB) {
            mm_left(s, fl, MM_A(s, A, q, 1), MM_B(s, TB, q, kk), to, s->P * kk);
            fl |= FG_GEMM_ADD;
        }
        if (!(fl & FG_GEMM_ADD)) memset(to, 0, (size_t)(s->M * s->P * kk) * sizeof(double));
    }
}

void fg_tape_matmul_dual(const fg_tape *t, const fg_tape_instr *I, const double *A,
                         const double *TA, const double *B, const double *TB, double *O,
                         double *TO, int64_t kk)
{
    const mm s = shape_of(t, I);
    fg_tape_matmul_value(t, I, A, B, O);
    dual_tangent(&s, A, TA, B, TB, TO, kk, 0);
    if (!fg_elem_all_finite(TO, I->n * kk)) dual_tangent(&s, A, TA, B, TB, TO, kk, 1);
}

/* ----------------------------------------------------------- hyper-dual */

/* (A + dA)(B + dB) by components [value, eps1 (kk), eps2, eps1 eps2 (kk)]:
 *   eps1: TA B + A TB;  eps2: CA B + A CB;  eps1 eps2: DA B + A DB + TA CB + CA TB.
 * The derivative components, fresh (ns: by the NaN-safe loops). */
static void hyper_parts(const mm *s, const double *const A[4], const double *const B[4],
                        double *const O[4], int64_t kk, int ns)
{
    const int64_t w[4] = {1, kk, 1, kk};
    const int base = ns ? FG_GEMM_NAN_SAFE : 0;
    for (int64_t q = 0; q < s->nb; q++)
        for (int c = 1; c < 4; c++) {
            int fl = base;
            double *o = MM_O(s, O[c], q, w[c]);
            if (A[1]) {
                mm_right(s, fl, MM_A(s, A[c], q, w[c]), MM_B(s, B[0], q, 1), o, w[c]);
                fl |= FG_GEMM_ADD;
            }
            if (B[1]) {
                mm_left(s, fl, MM_A(s, A[0], q, 1), MM_B(s, B[c], q, w[c]), o, s->P * w[c]);
                fl |= FG_GEMM_ADD;
            }
            if (c == 3 && A[1] && B[1]) {
                mm_right(s, fl, MM_A(s, A[1], q, kk), MM_B(s, B[2], q, 1), o, kk);
                mm_left(s, fl, MM_A(s, A[2], q, 1), MM_B(s, B[1], q, kk), o, s->P * kk);
            }
            if (!(fl & FG_GEMM_ADD))
                memset(o, 0, (size_t)(s->M * s->P * w[c]) * sizeof(double));
        }
}

void fg_tape_matmul_hyper(const fg_tape *t, const fg_tape_instr *I, const double *const A[4],
                          const double *const B[4], double *const O[4], int64_t kk)
{
    const mm s = shape_of(t, I);
    fg_tape_matmul_value(t, I, A[0], B[0], O[0]);
    hyper_parts(&s, A, B, O, kk, 0);
    if (!(fg_elem_all_finite(O[1], I->n * kk) && fg_elem_all_finite(O[2], I->n)
          && fg_elem_all_finite(O[3], I->n * kk)))
        hyper_parts(&s, A, B, O, kk, 1);
}

/* -------------------------------------------------------------- adjoint */

/* GA (+)= GO B^T over the products (into one matrix when a is shared);
 * first: the first write stores instead of adding. */
static void adjoint_a(const mm *s, const double *B, const double *GO, double *GA, int first,
                      int ns)
{
    const int base = ns ? FG_GEMM_NAN_SAFE : 0;
    for (int64_t q = 0; q < s->nb; q++) {
        const int fl = base | ((first && (q == 0 || s->sa)) ? 0 : FG_GEMM_ADD);
        mm_right_t(s, fl, MM_O(s, GO, q, 1), MM_B(s, B, q, 1), MM_A(s, GA, q, 1), 1);
    }
}

/* GB (+)= A^T GO over the products. */
static void adjoint_b(const mm *s, const double *A, const double *GO, double *GB, int first,
                      int ns)
{
    const int base = ns ? FG_GEMM_NAN_SAFE : 0;
    for (int64_t q = 0; q < s->nb; q++) {
        const int fl = base | ((first && (q == 0 || s->sb)) ? 0 : FG_GEMM_ADD);
        mm_left_t(s, fl, MM_A(s, A, q, 1), MM_O(s, GO, q, 1), MM_B(s, GB, q, 1), s->P);
    }
}

/* Elements of operand a (b) one MATMUL reads. */
static int64_t extent_a(const mm *s) { return (s->sa ? s->nb : 1) * s->M * s->L; }
static int64_t extent_b(const mm *s) { return (s->sb ? s->nb : 1) * s->L * s->P; }

void fg_tape_matmul_adjoint(const fg_tape *t, const fg_tape_instr *I, const double *A,
                            const double *B, const double *GO, double *GA, double *GB,
                            int store_a, int store_b)
{
    const mm s = shape_of(t, I);
    const int go_finite = (!GA || store_a) && (!GB || store_b) ? 1 : fg_elem_all_finite(GO, I->n);
    if (GA) {
        if (store_a) {   /* a fresh output: fast, then checked */
            adjoint_a(&s, B, GO, GA, 1, 0);
            if (!fg_elem_all_finite(GA, extent_a(&s))) adjoint_a(&s, B, GO, GA, 1, 1);
        } else {
            adjoint_a(&s, B, GO, GA, 0, !(go_finite && fg_elem_all_finite(B, extent_b(&s))));
        }
    }
    if (GB) {
        if (store_b) {
            adjoint_b(&s, A, GO, GB, 1, 0);
            if (!fg_elem_all_finite(GB, extent_b(&s))) adjoint_b(&s, A, GO, GB, 1, 1);
        } else {
            adjoint_b(&s, A, GO, GB, 0, !(go_finite && fg_elem_all_finite(A, extent_a(&s))));
        }
    }
}

/* ------------------------------------------------ forward-over-reverse */

/* The product rule on GA = GO B^T, GB = A^T GO along kk directions:
 *   TGA += TGO B^T + GO TB^T,   TGB += A^T TGO + TA^T GO.
 * Every buffer accumulates (the sweep zeroes them first), so the inputs
 * are checked before. */
void fg_tape_matmul_adjdual(const fg_tape *t, const fg_tape_instr *I, const double *A,
                            const double *TA, const double *B, const double *TB,
                            const double *GO, const double *TGO, double *GA, double *TGA,
                            double *GB, double *TGB, int64_t kk)
{
    const mm s = shape_of(t, I);
    const int64_t ea = extent_a(&s), eb = extent_b(&s);
    const int ns = !(fg_elem_all_finite(A, ea) && fg_elem_all_finite(B, eb)
                     && fg_elem_all_finite(TA, ea * kk) && fg_elem_all_finite(TB, eb * kk)
                     && fg_elem_all_finite(GO, I->n) && fg_elem_all_finite(TGO, I->n * kk));
    const int fl = (ns ? FG_GEMM_NAN_SAFE : 0) | FG_GEMM_ADD;
    for (int64_t q = 0; q < s.nb; q++) {
        const double *a = MM_A(&s, A, q, 1), *b = MM_B(&s, B, q, 1), *go = MM_O(&s, GO, q, 1);
        const double *tgo = MM_O(&s, TGO, q, kk);
        if (GA) {
            mm_right_t(&s, fl, go, b, MM_A(&s, GA, q, 1), 1);
            mm_right_t(&s, fl, tgo, b, MM_A(&s, TGA, q, kk), kk);
            if (TB) mm_cross_a(&s, fl, go, MM_B(&s, TB, q, kk), MM_A(&s, TGA, q, kk), kk);
        }
        if (GB) {
            mm_left_t(&s, fl, a, go, MM_B(&s, GB, q, 1), s.P);
            mm_left_t(&s, fl, a, tgo, MM_B(&s, TGB, q, kk), s.P * kk);
            if (TA) mm_cross_b(&s, fl, MM_A(&s, TA, q, kk), go, MM_B(&s, TGB, q, kk), kk);
        }
    }
}
