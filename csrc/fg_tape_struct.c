/* fg_tape_struct.c: the rules of the tape's structural instructions (see
 * fg_tape.h for their formulas and fg_tape_internal.h for the layout).
 *
 * GATHER, SUM, CUMSUM, WHERE, MAX and MIN are linear in their traced
 * operands (WHERE, MAX and MIN select by values, a choice that is constant
 * almost everywhere and has no derivative): each is one map L and its
 * transpose, and every mode applies them alike to values (width 1) and to
 * each derivative component (tangent blocks of width kk, eps2 parts,
 * adjoints, adjoint tangents). PROD is not linear: it has one rule per
 * mode, and so has MATMUL, in fg_tape_matmul.c. Derivative products follow
 * the NaN-safe rule (FG_NS). */
#include <math.h>
#include <string.h>
#include "fg_tape_internal.h"

/* ------------------------------------------------------------------ SUM */

/* sum_j a[j] with 8 interleaved partial sums: no serial chain of dependent
 * adds (they overlap in the pipeline) and a smaller rounding error than one
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

/* The full and row sums (post * width == 1), the hot case: out[u] =
 * scale * sum_j a[u*len + j]; small and out of line, so that its loop gets
 * registers of its own. */
FG_ELEM_HOT static void sum_rows(const double *FG_RESTRICT a, double *FG_RESTRICT out,
                                 int64_t pre, int64_t len, double scale, int ns)
{
    for (int64_t u = 0; u < pre; u++) {
        const double s = sum_contiguous(a + u * len, len);
        out[u] = ns ? FG_NS(scale, s) : scale * s;
    }
}

/* out(u, w) = scale * sum_j a(u, j, w), elements `width` doubles wide;
 * deriv: a derivative component, whose scaling is the NaN-safe product. */
static void sum_forward(const double *FG_RESTRICT a, double *FG_RESTRICT out, int64_t pre,
                        int64_t len, int64_t post, int64_t width, double scale, int deriv)
{
    const int64_t row = post * width;
    const int ns = deriv && !isfinite(scale);
    if (row == 1) {
        sum_rows(a, out, pre, len, scale, ns);
        return;
    }
    for (int64_t u = 0; u < pre; u++) {
        double *o = out + u * row;
        const double *src = a + u * len * row;
        for (int64_t w = 0; w < row; w++) o[w] = 0.0;
        for (int64_t j = 0; j < len; j++) {
            const double *r = src + j * row;
            for (int64_t w = 0; w < row; w++) o[w] += r[w];
        }
        if (scale != 1.0)
            for (int64_t w = 0; w < row; w++) o[w] = ns ? FG_NS(scale, o[w]) : scale * o[w];
    }
}

/* The adjoint of a full or row sum, the hot case: ga[u*len + j] += scale
 * go[u] (store: = 0 + scale go[u], see fg_tape_plan.c). */
FG_ELEM_HOT static void sum_rows_adjoint(const double *FG_RESTRICT go, double *FG_RESTRICT ga,
                                         int64_t pre, int64_t len, double scale, int store)
{
    const int ns = !isfinite(scale);
    for (int64_t u = 0; u < pre; u++) {
        const double g = ns ? FG_NS(scale, go[u]) : scale * go[u];
        double *d = ga + u * len;
        if (store) for (int64_t j = 0; j < len; j++) d[j] = 0.0 + g;
        else for (int64_t j = 0; j < len; j++) d[j] += g;
    }
}

/* ga(u, j, w) += scale go(u, w) (store: = 0 + the term) */
static void sum_adjoint(const double *FG_RESTRICT go, double *FG_RESTRICT ga, int64_t pre,
                        int64_t len, int64_t post, int64_t width, double scale, int store)
{
    const int64_t row = post * width;
    const int ns = !isfinite(scale);
    if (row == 1) {
        sum_rows_adjoint(go, ga, pre, len, scale, store);
        return;
    }
    for (int64_t u = 0; u < pre; u++) {
        const double *g = go + u * row;
        for (int64_t j = 0; j < len; j++) {
            double *d = ga + (u * len + j) * row;
            for (int64_t w = 0; w < row; w++)
                d[w] = (store ? 0.0 : d[w]) + (ns ? FG_NS(scale, g[w]) : scale * g[w]);
        }
    }
}

/* --------------------------------------------------------------- CUMSUM */

static void cumsum_forward(const double *FG_RESTRICT src, double *FG_RESTRICT dst, int64_t pre,
                           int64_t len, int64_t post, int64_t width)
{
    const int64_t row = post * width;
    if (len == 0) return;
    for (int64_t u = 0; u < pre; u++) {
        const double *s = src + u * len * row;
        double *d = dst + u * len * row;
        for (int64_t w = 0; w < row; w++) d[w] = s[w];
        for (int64_t j = 1; j < len; j++)
            for (int64_t w = 0; w < row; w++) d[j * row + w] = d[(j - 1) * row + w] + s[j * row + w];
    }
}

/* gsrc(u, j, w) += sum_{i >= j} gdst(u, i, w) */
static void cumsum_adjoint(const double *FG_RESTRICT gdst, double *FG_RESTRICT gsrc, int64_t pre,
                           int64_t len, int64_t post, int64_t width)
{
    const int64_t row = post * width;
    for (int64_t u = 0; u < pre; u++)
        for (int64_t w = 0; w < row; w++) {
            const double *g = gdst + u * len * row + w;
            double *s = gsrc + u * len * row + w;
            double acc = 0.0;
            for (int64_t j = len; j-- > 0;) {
                acc += g[j * row];
                s[j * row] += acc;
            }
        }
}

/* -------------------------------------------------------------- MAX, MIN */

/* The j in [0, len) that numpy.argmax (is_min = 0) or numpy.argmin picks
 * among a[j*post]: the first NaN if there is one, else the first extremum.
 * len >= 1. */
static int64_t extremum_at(const double *a, int64_t len, int64_t post, int is_min)
{
    double best = a[0];
    int64_t at = 0;
    if (best != best) return 0;
    for (int64_t j = 1; j < len; j++) {
        const double v = a[j * post];
        if (v != v) return j;
        if (is_min ? v < best : v > best) {
            best = v;
            at = j;
        }
    }
    return at;
}

/* dst(u, w) = src(u, j*, w) (adjoint: gsrc(u, j*, w) += gdst(u, w)), j*
 * chosen on the values A; a NULL src reads as zeros. */
static void extremum_map(const double *A, const double *src, double *dst, int64_t pre,
                         int64_t len, int64_t post, int64_t width, int is_min, int adjoint)
{
    for (int64_t u = 0; u < pre; u++)
        for (int64_t w = 0; w < post; w++) {
            const int64_t j = extremum_at(A + u * len * post + w, len, post, is_min);
            const int64_t e = ((u * len + j) * post + w) * width, o = (u * post + w) * width;
            if (adjoint) {
                for (int64_t q = 0; q < width; q++) dst[e + q] += src[o + q];
            } else if (src) {
                memcpy(dst + o, src + e, (size_t)width * sizeof(double));
            } else {
                memset(dst + o, 0, (size_t)width * sizeof(double));
            }
        }
}

/* ----------------------------------------------------- GATHER and WHERE */

static void gather_forward(const double *FG_RESTRICT a, const int64_t *FG_RESTRICT idx,
                           double *FG_RESTRICT out, int64_t n, int64_t width)
{
    if (width == 1) {
        for (int64_t i = 0; i < n; i++) out[i] = a[idx[i]];
        return;
    }
    for (int64_t i = 0; i < n; i++)
        memcpy(out + i * width, a + idx[i] * width, (size_t)width * sizeof(double));
}

static void gather_adjoint(const double *go, const int64_t *idx, double *ga, int64_t n,
                           int64_t width)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t q = 0; q < width; q++) ga[idx[i] * width + q] += go[i * width + q];
}

/* out(i) = cond(i*sc) != 0 ? a(i*sa) : b(i*sb) over blocks of `width`
 * doubles (adjoint: the chosen operand's block += go(i)); a NULL operand
 * reads as zeros (adjoint: is skipped). */
static void where_map(const double *cond, int64_t sc, const double *a, int64_t sa,
                      const double *b, int64_t sb, double *out, int64_t n, int64_t width)
{
    for (int64_t i = 0; i < n; i++) {
        const double *src = cond[i * sc] != 0 ? (a ? a + i * sa * width : NULL)
                                              : (b ? b + i * sb * width : NULL);
        double *o = out + i * width;
        if (src) memcpy(o, src, (size_t)width * sizeof(double));
        else memset(o, 0, (size_t)width * sizeof(double));
    }
}

static void where_adjoint(const double *cond, int64_t sc, double *ga, int64_t sa, double *gb,
                          int64_t sb, const double *go, int64_t n, int64_t width)
{
    for (int64_t i = 0; i < n; i++) {
        const int take_a = cond[i * sc] != 0;
        double *g = take_a ? ga : gb;
        const int64_t st = take_a ? sa : sb;
        if (!g) continue;
        for (int64_t q = 0; q < width; q++) g[i * st * width + q] += go[i * width + q];
    }
}

/* ------------------------------------------------------ the linear maps */

/* Instruction I's map L (adjoint = 0: XO = L(XA, XB); flag: XO is a
 * derivative component) or its transpose (adjoint = 1: GA, GB += L^T GO;
 * flag: store), one case per instruction so that the two directions are
 * one list. Inlined into both entry points, which fix `adjoint`; the other
 * direction's pointers are NULL. */
FG_INLINE void linear_map(const fg_tape *t, const fg_tape_instr *I, double *const *V,
                          const double *XA, const double *XB, double *XO, const double *GO,
                          double *GA, double *GB, int64_t width, int adjoint, int flag)
{
    switch (I->code) {
    case FG_TI_WHERE:
        if (adjoint)
            where_adjoint(V[I->c] + I->c_off, I->sc, GA, I->sa, GB, I->sb, GO, I->n, width);
        else
            where_map(V[I->c] + I->c_off, I->sc, XA, I->sa, XB, I->sb, XO, I->n, width);
        break;
    case FG_TI_GATHER:
        if (adjoint) gather_adjoint(GO, t->index_pool + I->p0, GA, I->n, width);
        else gather_forward(XA, t->index_pool + I->p0, XO, I->n, width);
        break;
    case FG_TI_SUM:
        if (adjoint) sum_adjoint(GO, GA, I->p0, I->p1, I->p2, width, I->scale, flag);
        else sum_forward(XA, XO, I->p0, I->p1, I->p2, width, I->scale, flag);
        break;
    case FG_TI_CUMSUM:
        if (adjoint) cumsum_adjoint(GO, GA, I->p0, I->p1, I->p2, width);
        else cumsum_forward(XA, XO, I->p0, I->p1, I->p2, width);
        break;
    case FG_TI_MAX:
    case FG_TI_MIN:
        extremum_map(V[I->a] + I->a_off, adjoint ? GO : XA, adjoint ? GA : XO, I->p0, I->p1,
                     I->p2, width, I->code == FG_TI_MIN, adjoint);
        break;
    }
}

void fg_tape_linear_forward(const fg_tape *t, const fg_tape_instr *I, double *const *V,
                            const double *XA, const double *XB, double *XO, int64_t width)
{
    const int deriv = XO != V[I->out];   /* any component but the values */
    linear_map(t, I, V, XA, XB, XO, NULL, NULL, NULL, width, 0, deriv);
}

void fg_tape_linear_adjoint(const fg_tape *t, const fg_tape_instr *I, double *const *V,
                            const double *GO, double *GA, double *GB, int64_t width,
                            int store)
{
    linear_map(t, I, V, NULL, NULL, NULL, GO, GA, GB, width, 1, store);
}

/* ----------------------------------------------------------------- PROD */

/* out(u, w) = prod_j a(u, j, w), multiplied in order of j in every mode, so
 * that all modes return the same value bit for bit. */
void fg_tape_prod_value(const fg_tape_instr *I, const double *A, double *O)
{
    const int64_t pre = I->p0, len = I->p1, post = I->p2;
    for (int64_t u = 0; u < pre; u++) {
        double *o = O + u * post;
        const double *a = A + u * len * post;
        for (int64_t w = 0; w < post; w++) o[w] = 1.0;
        for (int64_t j = 0; j < len; j++)
            for (int64_t w = 0; w < post; w++) o[w] *= a[j * post + w];
    }
}

/* others[j] = prod_{i != j} a[i*post] for one column: the exclusive suffix
 * product times the exclusive prefix product (no division, exact at zeros). */
static void prod_others(const double *a, int64_t len, int64_t post, double *others)
{
    double r = 1.0, l = 1.0;
    for (int64_t j = len; j-- > 0;) {
        others[j] = r;
        r *= a[j * post];
    }
    for (int64_t j = 0; j < len; j++) {
        others[j] *= l;
        l *= a[j * post];
    }
}

/* TO(u, w) = sum_j others_j TA(u, j, w) */
void fg_tape_prod_dual(const fg_tape_instr *I, const double *A, const double *TA, double *O,
                       double *TO, int64_t kk, double *scratch)
{
    const int64_t pre = I->p0, len = I->p1, post = I->p2;
    fg_tape_prod_value(I, A, O);
    for (int64_t u = 0; u < pre; u++)
        for (int64_t w = 0; w < post; w++) {
            prod_others(A + u * len * post + w, len, post, scratch);
            double *to = TO + (u * post + w) * kk;
            for (int64_t q = 0; q < kk; q++) to[q] = 0.0;
            for (int64_t j = 0; j < len; j++) {
                const double p = scratch[j];
                const double *ta = TA + ((u * len + j) * post + w) * kk;
                for (int64_t q = 0; q < kk; q++) to[q] += FG_NS(p, ta[q]);
            }
        }
}

/* The running product times each factor by the hyper-dual product rule,
 * (p + pt e1 + pc e2 + pd e1e2)(a + ta e1 + ca e2 + da e1e2)
 * = pa + (pt a + p ta) e1 + (pc a + p ca) e2 + (pd a + p da + pt ca + pc ta) e1e2,
 * which carries the second partials (products of all factors but two)
 * without forming them or dividing. */
void fg_tape_prod_hyper(const fg_tape_instr *I, const double *const A[4], double *const O[4],
                        int64_t kk)
{
    const int64_t pre = I->p0, len = I->p1, post = I->p2;
    fg_tape_prod_value(I, A[0], O[0]);
    for (int64_t u = 0; u < pre; u++)
        for (int64_t w = 0; w < post; w++) {
            const int64_t ow = u * post + w;
            double *pt = O[1] + ow * kk, *pd = O[3] + ow * kk;
            double p = 1.0, pc = 0.0;
            for (int64_t q = 0; q < kk; q++) pt[q] = pd[q] = 0.0;
            for (int64_t j = 0; j < len; j++) {
                const int64_t e = (u * len + j) * post + w;
                const double a = A[0][e], ca = A[2][e];
                const double *ta = A[1] + e * kk, *da = A[3] + e * kk;
                for (int64_t q = 0; q < kk; q++) {
                    pd[q] = FG_NS(pd[q], a) + FG_NS(p, da[q])
                            + FG_NS(pt[q], ca) + FG_NS(pc, ta[q]);
                    pt[q] = FG_NS(pt[q], a) + FG_NS(p, ta[q]);
                }
                pc = FG_NS(pc, a) + FG_NS(p, ca);
                p *= a;
            }
            O[2][ow] = pc;
        }
}

/* GA(u, j, w) += GO(u, w) others_j */
void fg_tape_prod_adjoint(const fg_tape_instr *I, const double *A, const double *GO,
                          double *GA, double *scratch)
{
    const int64_t pre = I->p0, len = I->p1, post = I->p2;
    for (int64_t u = 0; u < pre; u++)
        for (int64_t w = 0; w < post; w++) {
            const double g = GO[u * post + w];
            prod_others(A + u * len * post + w, len, post, scratch);
            for (int64_t j = 0; j < len; j++)
                GA[(u * len + j) * post + w] += FG_NS(g, scratch[j]);
        }
}

/* prod_adjoint differentiated along kk directions,
 *   GA_j += g o_j,   TGA_j += tg o_j + g t(o_j),
 * with o_j = L_j R_j (exclusive prefix and suffix products) and its tangent
 * t(o_j) = t(L_j) R_j + L_j t(R_j). The suffix and its tangents are stored
 * in scratch, the prefix runs forward: (len + 1) * (kk + 1) doubles. */
void fg_tape_prod_adjdual(const fg_tape_instr *I, const double *A, const double *TA,
                          const double *GO, const double *TGO, double *GA, double *TGA,
                          int64_t kk, double *scratch)
{
    const int64_t pre = I->p0, len = I->p1, post = I->p2;
    double *R = scratch, *RT = scratch + len, *LT = RT + len * kk;
    for (int64_t u = 0; u < pre; u++)
        for (int64_t w = 0; w < post; w++) {
            const int64_t ow = u * post + w, e0 = u * len * post + w;
            const double g = GO[ow];
            const double *tg = TGO + ow * kk;
            for (int64_t j = len; j-- > 0;) {   /* R_j = prod_{i > j} a_i, from the end */
                double *rt = RT + j * kk;
                if (j == len - 1) {
                    R[j] = 1.0;
                    for (int64_t q = 0; q < kk; q++) rt[q] = 0.0;
                    continue;
                }
                const int64_t e1 = e0 + (j + 1) * post;
                const double *rt1 = rt + kk, *ta1 = TA + e1 * kk;
                for (int64_t q = 0; q < kk; q++)
                    rt[q] = FG_NS(rt1[q], A[e1]) + FG_NS(R[j + 1], ta1[q]);
                R[j] = R[j + 1] * A[e1];
            }
            double l = 1.0;   /* L_j = prod_{i < j} a_i, running forward */
            for (int64_t q = 0; q < kk; q++) LT[q] = 0.0;
            for (int64_t j = 0; j < len; j++) {
                const int64_t e = e0 + j * post;
                const double o = l * R[j];
                const double *rt = RT + j * kk, *ta = TA + e * kk;
                double *tga = TGA + e * kk;
                GA[e] += FG_NS(g, o);
                for (int64_t q = 0; q < kk; q++) {
                    const double to = FG_NS(LT[q], R[j]) + FG_NS(l, rt[q]);
                    tga[q] += FG_NS(tg[q], o) + FG_NS(g, to);
                    LT[q] = FG_NS(LT[q], A[e]) + FG_NS(l, ta[q]);
                }
                l *= A[e];
            }
        }
}
