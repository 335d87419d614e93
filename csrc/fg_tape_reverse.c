/* fg_tape_reverse.c: the reverse sweeps of the tape VM and the entry
 * points built on them: the reverse gradient, hvp and the
 * forward-over-reverse Hessian (see fg_tape.h).
 *
 * One sweep body serves both modes. The adjoint sweep runs after a value
 * pass: G[s] (one double per element) holds d f / d slot s, instructions
 * run backwards and add their output's adjoint times the local partials
 * into their traced operands' adjoints; it follows the plan of
 * fg_tape_plan.c (stores, aliases, a skipped final sum). The
 * forward-over-reverse sweep runs after a dual pass with kk directions and
 * differentiates the adjoint sweep along them: TG[s] (kk per element)
 * holds the derivative of G[s]; for x seeded with unit directions e_j,
 * TG[0] holds the Hessian's columns j. It zeroes and accumulates every
 * buffer (no stores or aliases: it is not the hot path). */
#include <math.h>
#include <string.h>
#include "fg_ops.h"
#include "fg_tape_internal.h"

/* ns: the adjoint sweep's NaN-safe kernels (the dual sweep always uses
 * them). Returns 1 when a sweep with the plain kernels stops short, at a
 * MATMUL whose output adjoint is not all finite (see adjoint_sweep). */
FG_INLINE int reverse_sweep(const fg_tape *t, fg_tape_ws *ws, double *const *V, const int dual,
                            const int64_t kk, const int ns)
{
    double *const *T = ws->tan;
    double *const *G = dual ? ws->fadj : ws->adj;
    double *const *TG = ws->fadjt;
    size_t start = t->n_instr;
    if (dual) {
        for (size_t sl = 0; sl < t->n_slots; sl++)
            if (G[sl]) {
                memset(G[sl], 0, (size_t)t->slot_size[sl] * sizeof(double));
                memset(TG[sl], 0, (size_t)(t->slot_size[sl] * kk) * sizeof(double));
            }
    } else {
        memset(ws->adj_buf, 0, ws->adj_zero_total * sizeof(double));
        for (size_t p = 0; p < t->n_adj_part; p++) {
            const int32_t sl = t->adj_part[p];
            double *g = G[sl];
            for (int64_t i = 0; i < t->adj_lo[sl]; i++) g[i] = 0.0;
            for (int64_t i = t->adj_hi[sl]; i < t->slot_size[sl]; i++) g[i] = 0.0;
        }
        start = t->sweep_start;
    }
    G[t->out_slot][0] = 1.0;
    for (size_t s = start; s-- > 0;) {
        const fg_tape_instr *I = &t->instr[s];
        const double *GO = G[I->out];
        if (!GO) continue;   /* no path from x (or a comparison) */
        const double *O = V[I->out];
        const int64_t n = I->n;
        const unsigned char skip = dual ? 0 : t->adj_skip[s];
        const double *A = I->a >= 0 ? V[I->a] + I->a_off : NULL;
        const double *B = I->b >= 0 ? V[I->b] + I->b_off : NULL;
        double *GA = I->a >= 0 && !(skip & 1) ? FG_TAPE_OPND(G, I->a, I->a_off, 1) : NULL;
        double *GB = I->b >= 0 && !(skip & 2) ? FG_TAPE_OPND(G, I->b, I->b_off, 1) : NULL;
        const int za = dual ? 0 : t->adj_store[s] & 1, zb = dual ? 0 : (t->adj_store[s] >> 1) & 1;
        const double *TA = NULL, *TB = NULL, *TGO = NULL;
        double *TGA = NULL, *TGB = NULL;
        if (dual) {
            TGO = TG[I->out];
            if (I->a >= 0) {
                TA = FG_TAPE_OPND(T, I->a, I->a_off, kk);
                TGA = FG_TAPE_OPND(TG, I->a, I->a_off, kk);
            }
            if (I->b >= 0) {
                TB = FG_TAPE_OPND(T, I->b, I->b_off, kk);
                TGB = FG_TAPE_OPND(TG, I->b, I->b_off, kk);
            }
        }
        switch (I->code) {
        case FG_TI_UNARY:
            if (dual) fg_elem_unary_adjdual(I->op, A, TA, O, GO, TGO, GA, TGA, n, kk);
            else fg_elem_unary_adjoint(I->op, A, O, GO, GA, n, za, ns);
            break;
        case FG_TI_BINARY:
            if (!GA && !GB) break;   /* both operands alias out, or are constants */
            if (dual)
                fg_elem_binary_adjdual(I->op, A, TA, GA, TGA, I->sa, B, TB, GB, TGB, I->sb, O,
                                       GO, TGO, n, kk);
            else
                fg_elem_binary_adjoint(I->op, A, GA, I->sa, B, GB, I->sb, O, GO, n, za, zb,
                                       ns);
            break;
        case FG_TI_MATMUL:
            if (dual) fg_tape_matmul_adjdual(t, I, A, TA, B, TB, GO, TGO, GA, TGA, GB, TGB, kk);
            else if (!ns && !fg_elem_all_finite(GO, n)) return 1;
            else fg_tape_matmul_adjoint(t, I, A, B, GO, GA, GB, za, zb);
            break;
        case FG_TI_PROD:
            if (dual) fg_tape_prod_adjdual(I, A, TA, GO, TGO, GA, TGA, kk, ws->scratch);
            else fg_tape_prod_adjoint(I, A, GO, GA, ws->scratch);
            break;
        case FG_TI_TAKE:
            fg_tape_take_adjoint(t, I, V, GO, GA, 1);
            if (dual) fg_tape_take_adjoint(t, I, V, TGO, TGA, kk);
            break;
        default:   /* linear: the transposed map for every component */
            fg_tape_linear_adjoint(t, I, V, GO, GA, GB, 1, za);
            if (dual) fg_tape_linear_adjoint(t, I, V, TGO, TGA, TGB, kk, 0);
        }
    }
    return 0;
}

/* The adjoint sweep into ws->adj[0] (zeroed first where the plan says so).
 * It runs with the plain adjoint kernels, which cost no test per element,
 * and again with the NaN-safe ones only when that gives a gradient that is
 * not all finite, or stops at a MATMUL (whose choice between the BLAS and
 * its NaN-safe loops depends on the adjoint's values). Otherwise the two
 * sweeps give the same gradient, bit for bit. A plain product differs from
 * FG_NS only where a factor is 0: NaN for 0 * inf or 0 * NaN (FG_NS: 0),
 * and -0 where FG_NS gives +0, which an adjoint write adds to +0 or to an
 * adjoint, never -0 (unless a BLAS stored an underflowed -0 there), so no
 * slot sees the sign. A NaN adjoint reaches every adjoint computed from it
 * (a plain product with any partial, a sum, a selected element is NaN),
 * except through a zero factor of a NaN-safe rule (PROD) or an unselected
 * element, where both sweeps contribute the same 0; and every slot with an
 * adjoint lies on a path from x. So a slot where the sweeps differ leaves a
 * NaN in the gradient. */
static void adjoint_sweep(const fg_tape *t, fg_tape_ws *ws, double *const *V)
{
    /* ns a literal in each call: the plain sweep is built with its tables */
    const size_t bytes = t->n * sizeof(double);
    if (t->adj_zero[0]) memset(ws->adj[0], 0, bytes);
    if (!reverse_sweep(t, ws, V, 0, 1, 0) && fg_elem_all_finite(ws->adj[0], (int64_t)t->n)) return;
    if (t->adj_zero[0]) memset(ws->adj[0], 0, bytes);
    reverse_sweep(t, ws, V, 0, 1, 1);
}

static void adjoint_dual_sweep(const fg_tape *t, fg_tape_ws *ws, int64_t kk)
{
    reverse_sweep(t, ws, ws->val, 1, kk, 1);
}

/* grad[0..n) = d f / d x by the adjoint sweep over the slot values V
 * (V[0] = x). */
static void adjoint_into(const fg_tape *t, fg_tape_ws *ws, double *const *V, double *grad)
{
    const size_t n = t->n;
    if (ws->adj[t->out_slot]) {
        const uintptr_t g0 = (uintptr_t)grad, x0 = (uintptr_t)V[0], nb = n * sizeof(double);
        if (g0 + nb <= x0 || x0 + nb <= g0) {
            /* The sweep accumulates d f / d x straight into grad (no copy
             * out), which therefore must not overlap x, read by the sweep. */
            double *const own = ws->adj[0];
            ws->adj[0] = grad;
            adjoint_sweep(t, ws, V);
            ws->adj[0] = own;
        } else {
            adjoint_sweep(t, ws, V);
            memcpy(grad, ws->adj[0], n * sizeof(double));
        }
    } else {
        memset(grad, 0, n * sizeof(double));   /* piecewise constant f */
    }
}

/* --------------------------------------------------------- entry points */

fg_status fg_tape_value_grad_reverse_f64(const fg_tape *t, fg_tape_ws *ws, const double *x,
                                         const void *const *data, double *value, double *grad)
{
    if (FG_UNLIKELY(!t || !ws || ws->tape != t || !x || !grad)) return FG_ERR_ARG;
    FG_TAPE_BIND(t, ws, x, data);
    fg_tape_value_pass(t, ws);
    adjoint_into(t, ws, ws->val, grad);
    if (value) *value = ws->val[t->out_slot][0];
    return FG_OK;
}

fg_status fg_tape_grad_at_f64(const fg_tape *t, fg_tape_ws *ws, size_t n_vals,
                              const double *const *vals, const int64_t *counts, double *grad)
{
    if (FG_UNLIKELY(!t || !ws || ws->tape != t || !vals || !counts || !grad)) return FG_ERR_ARG;
    if (n_vals != t->n_slots) return FG_ERR_SHAPE;
    for (size_t s = 0; s < n_vals; s++) {
        if (!vals[s]) return FG_ERR_ARG;
        if (counts[s] != t->slot_size[s]) return FG_ERR_SHAPE;
    }
    /* The sweep only reads V: the cast drops const for its signature alone. */
    adjoint_into(t, ws, (double *const *)vals, grad);
    return FG_OK;
}

fg_status fg_tape_hvp_f64(const fg_tape *t, fg_tape_ws *ws, const double *x,
                          const void *const *data, const double *v, double *hv, double *value,
                          double *grad)
{
    if (FG_UNLIKELY(!t || !ws || ws->tape != t || !x || !v || !hv)) return FG_ERR_ARG;
    if (fg_tape_ws_reverse_buffers(t, ws) != FG_OK) return FG_ERR_NOMEM;
    const size_t n = t->n;
    const int32_t o = t->out_slot;
    FG_TAPE_BIND(t, ws, x, data);
    if (!ws->tan[o]) {   /* piecewise constant f */
        fg_tape_value_pass(t, ws);
        memset(hv, 0, n * sizeof(double));
        if (grad) memset(grad, 0, n * sizeof(double));
    } else {
        memcpy(ws->tan[0], v, n * sizeof(double));
        fg_tape_dual_pass(t, ws, 1);
        adjoint_dual_sweep(t, ws, 1);
        memcpy(hv, ws->fadjt[0], n * sizeof(double));
        if (grad) memcpy(grad, ws->fadj[0], n * sizeof(double));
    }
    if (value) *value = ws->val[o][0];
    return FG_OK;
}

/* Each column of the forward-over-reverse Hessian comes from its own pass:
 * symmetric to rounding only. The mean of the two triangles is exactly
 * symmetric (what Cholesky and the hyper-dual mode give) and halves their
 * difference. By tiles, so that the transposed reads stay in cache. */
static void symmetrize(double *h, int64_t n)
{
    enum { TILE = 64 };
    for (int64_t i0 = 0; i0 < n; i0 += TILE)
        for (int64_t j0 = i0; j0 < n; j0 += TILE) {
            const int64_t i1 = i0 + TILE < n ? i0 + TILE : n, j1 = j0 + TILE < n ? j0 + TILE : n;
            for (int64_t i = i0; i < i1; i++)
                for (int64_t j = (j0 > i + 1 ? j0 : i + 1); j < j1; j++) {
                    const double m = 0.5 * (h[i * n + j] + h[j * n + i]);
                    h[i * n + j] = m;
                    h[j * n + i] = m;
                }
        }
}

fg_status fg_tape_hessian_reverse_part(const fg_tape *t, fg_tape_ws *ws, size_t j0, size_t j1,
                                       double *hess, double *grad)
{
    if (fg_tape_ws_reverse_buffers(t, ws) != FG_OK) return FG_ERR_NOMEM;
    const int64_t n = (int64_t)t->n, k = (int64_t)ws->k;
    double *tx = ws->tan[0];
    for (int64_t d = (int64_t)j0; d < (int64_t)j1; d += k) {
        const int64_t kk = (int64_t)j1 - d < k ? (int64_t)j1 - d : k;
        memset(tx, 0, (size_t)(n * kk) * sizeof(double));
        for (int64_t q = 0; q < kk; q++) tx[(d + q) * kk + q] = 1.0;
        fg_tape_dual_pass(t, ws, kk);
        adjoint_dual_sweep(t, ws, kk);
        const double *hcols = ws->fadjt[0];   /* [i * kk + q] = d2 f / dx_i dx_(d+q) */
        for (int64_t i = 0; i < n; i++)
            for (int64_t q = 0; q < kk; q++) hess[i * n + d + q] = hcols[i * kk + q];
    }
    if (grad && j0 < j1) memcpy(grad, ws->fadj[0], (size_t)n * sizeof(double));
    if (j1 == t->n) symmetrize(hess, n);
    return FG_OK;
}
