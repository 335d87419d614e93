/* fg_tape_forward.c: the forward passes of the tape VM (value, dual,
 * hyper-dual) and the entry points built on them alone: f(x), the dual
 * gradient, jvp and the hyper-dual Hessian (see fg_tape.h).
 *
 * One pass body serves the three modes; a mode is the set of components
 * each slot carries: [value], [value, eps1 (kk per element)] or [value,
 * eps1, eps2 (1), eps1 eps2 (kk)]. The elementwise instructions call the
 * op table's kernel of the mode, MATMUL and PROD their rule of the mode,
 * and the linear instructions apply their one map to every component. The
 * body is inlined into one function per mode, so the value pass, the hot
 * one, carries no trace of the others. */
#include <math.h>
#include <string.h>
#include "fg_ops.h"
#include "fg_tape_internal.h"

enum { PASS_VALUE = 1, PASS_DUAL = 2, PASS_HYPER = 4 };   /* components carried */

FG_INLINE void forward_pass(const fg_tape *t, fg_tape_ws *ws, const int ncomp, const int64_t kk)
{
    double *const *X[4] = {ws->val, ws->tan, ws->hc, ws->hd};
    const int64_t width[4] = {1, kk, 1, kk};
    double *const *V = ws->val;
    for (size_t s = 0; s < t->n_instr; s++) {
        const fg_tape_instr *I = &t->instr[s];
        const int64_t n = I->n;
        /* a slot without a tangent (no path from x) carries its value only */
        const int nc = ncomp > 1 && ws->tan[I->out] ? ncomp : 1;
        const double *A[4] = {0, 0, 0, 0}, *B[4] = {0, 0, 0, 0};
        double *O[4] = {0, 0, 0, 0};
        for (int c = 0; c < nc; c++) {
            O[c] = X[c][I->out];
            if (I->a >= 0) A[c] = FG_TAPE_OPND(X[c], I->a, I->a_off, width[c]);
            if (I->b >= 0) B[c] = FG_TAPE_OPND(X[c], I->b, I->b_off, width[c]);
        }
        switch (I->code) {
        case FG_TI_UNARY:
            if (nc == 1) fg_elem_unary_value(I->op, A[0], O[0], n);
            else if (nc == 2) fg_elem_unary_dual(I->op, A[0], A[1], O[0], O[1], n, kk);
            else fg_elem_unary_hyper(I->op, A[0], A[1], A[2], A[3], O[0], O[1], O[2], O[3], n, kk);
            break;
        case FG_TI_BINARY:
            if (nc == 1)
                fg_elem_binary_value(I->op, A[0], I->sa, B[0], I->sb, O[0], n);
            else if (nc == 2)
                fg_elem_binary_dual(I->op, A[0], A[1], I->sa, B[0], B[1], I->sb, O[0], O[1], n, kk);
            else
                fg_elem_binary_hyper(I->op, A[0], A[1], A[2], A[3], I->sa, B[0], B[1], B[2], B[3],
                                     I->sb, O[0], O[1], O[2], O[3], n, kk);
            break;
        case FG_TI_MATMUL:
            if (nc == 1) fg_tape_matmul_value(t, I, A[0], B[0], O[0]);
            else if (nc == 2) fg_tape_matmul_dual(t, I, A[0], A[1], B[0], B[1], O[0], O[1], kk);
            else fg_tape_matmul_hyper(t, I, A, B, O, kk);
            break;
        case FG_TI_PROD:
            if (nc == 1) fg_tape_prod_value(I, A[0], O[0]);
            else if (nc == 2) fg_tape_prod_dual(I, A[0], A[1], O[0], O[1], kk, ws->scratch);
            else fg_tape_prod_hyper(I, A, O, kk);
            break;
        case FG_TI_TAKE:
            for (int c = 0; c < nc; c++) fg_tape_take_forward(t, I, V, A[c], O[c], width[c]);
            break;
        case FG_TI_CAST:   /* no tangent: its operand is data */
            fg_tape_cast_value(I, V, O[0]);
            break;
        default:   /* linear: one map for every component */
            for (int c = 0; c < nc; c++)
                fg_tape_linear_forward(t, I, V, A[c], B[c], O[c], width[c]);
        }
    }
}

void fg_tape_value_pass(const fg_tape *t, fg_tape_ws *ws) { forward_pass(t, ws, PASS_VALUE, 1); }

void fg_tape_dual_pass(const fg_tape *t, fg_tape_ws *ws, int64_t kk)
{
    forward_pass(t, ws, PASS_DUAL, kk);
}

static void hyper_pass(const fg_tape *t, fg_tape_ws *ws, int64_t kk)
{
    forward_pass(t, ws, PASS_HYPER, kk);
}

/* --------------------------------------------------------- entry points */

#define FG_TAPE_CHECK_CALL(t, ws, x) (FG_LIKELY((t) && (ws) && (ws)->tape == (t) && (x)))

fg_status fg_tape_eval_f64(const fg_tape *t, fg_tape_ws *ws, const double *x,
                           const void *const *data, double *value)
{
    if (!FG_TAPE_CHECK_CALL(t, ws, x) || !value) return FG_ERR_ARG;
    FG_TAPE_BIND(t, ws, x, data);
    fg_tape_value_pass(t, ws);
    *value = ws->val[t->out_slot][0];
    return FG_OK;
}

fg_status fg_tape_value_grad_part_f64(const fg_tape *t, fg_tape_ws *ws, const double *x,
                                      const void *const *data, size_t j0, size_t j1,
                                      double *value, double *grad)
{
    if (!FG_TAPE_CHECK_CALL(t, ws, x) || !grad || j0 > j1 || j1 > t->n) return FG_ERR_ARG;
    const int64_t n = (int64_t)t->n, k = (int64_t)ws->k;
    const int32_t o = t->out_slot;
    FG_TAPE_BIND(t, ws, x, data);
    double *tx = ws->tan[0];
    if (j0 == j1) fg_tape_value_pass(t, ws);
    for (int64_t d = (int64_t)j0; d < (int64_t)j1; d += k) {
        const int64_t kk = (int64_t)j1 - d < k ? (int64_t)j1 - d : k;
        /* Seed the unit directions e_d, ..., e_{d+kk-1}. */
        memset(tx, 0, (size_t)(n * kk) * sizeof(double));
        for (int64_t q = 0; q < kk; q++) tx[(d + q) * kk + q] = 1.0;
        fg_tape_dual_pass(t, ws, kk);
        if (ws->tan[o]) memcpy(grad + d, ws->tan[o], (size_t)kk * sizeof(double));
        else memset(grad + d, 0, (size_t)kk * sizeof(double));   /* piecewise constant f */
    }
    if (value) *value = ws->val[o][0];
    return FG_OK;
}

fg_status fg_tape_value_grad_f64(const fg_tape *t, fg_tape_ws *ws, const double *x,
                                 const void *const *data, double *value, double *grad)
{
    return fg_tape_value_grad_part_f64(t, ws, x, data, 0, t ? t->n : 0, value, grad);
}

fg_status fg_tape_jvp_f64(const fg_tape *t, fg_tape_ws *ws, const double *x,
                          const void *const *data, const double *v, double *value, double *jv)
{
    if (!FG_TAPE_CHECK_CALL(t, ws, x) || !v || !jv) return FG_ERR_ARG;
    const int32_t o = t->out_slot;
    FG_TAPE_BIND(t, ws, x, data);
    memcpy(ws->tan[0], v, t->n * sizeof(double));
    fg_tape_dual_pass(t, ws, 1);
    *jv = ws->tan[o] ? ws->tan[o][0] : 0.0;
    if (value) *value = ws->val[o][0];
    return FG_OK;
}

/* Hyper-dual columns [j0, j1): for column j, eps2 carries e_j and eps1 k
 * unit directions per pass over rows 0..j (the rest by symmetry; all rows
 * for the last column when the gradient is wanted, from the eps1 parts). */
static void hessian_hyper_part(const fg_tape *t, fg_tape_ws *ws, size_t j0, size_t j1,
                               double *hess, double *grad)
{
    const int64_t n = (int64_t)t->n, k = (int64_t)ws->k;
    const int32_t o = t->out_slot;
    double *tx = ws->tan[0], *cx = ws->hc[0], *dx = ws->hd[0];
    for (int64_t col = (int64_t)j0; col < (int64_t)j1; col++) {
        memset(cx, 0, (size_t)n * sizeof(double));
        cx[col] = 1.0;
        const int64_t rows = (grad && col == n - 1) ? n : col + 1;
        for (int64_t r0 = 0; r0 < rows; r0 += k) {
            const int64_t kk = rows - r0 < k ? rows - r0 : k;
            memset(tx, 0, (size_t)(n * kk) * sizeof(double));
            memset(dx, 0, (size_t)(n * kk) * sizeof(double));
            for (int64_t q = 0; q < kk; q++) tx[(r0 + q) * kk + q] = 1.0;
            hyper_pass(t, ws, kk);
            for (int64_t q = 0; q < kk && r0 + q <= col; q++) {
                hess[(r0 + q) * n + col] = ws->hd[o][q];
                hess[col * n + r0 + q] = ws->hd[o][q];
            }
            if (grad && col == n - 1) memcpy(grad + r0, ws->tan[o], (size_t)kk * sizeof(double));
        }
    }
}

fg_status fg_tape_hessian_part_f64(const fg_tape *t, fg_tape_ws *ws, const double *x,
                                   const void *const *data, size_t j0, size_t j1, int reverse,
                                   double *hess, double *value, double *grad)
{
    if (!FG_TAPE_CHECK_CALL(t, ws, x) || !hess || j0 > j1 || j1 > t->n
        || t->n > SIZE_MAX / sizeof(double) / t->n)
        return FG_ERR_ARG;
    const size_t n = t->n;
    const int32_t o = t->out_slot;
    const int last = j1 == n;
    FG_TAPE_BIND(t, ws, x, data);
    if (!ws->tan[o]) {   /* piecewise constant f: zero derivatives */
        for (size_t i = 0; i < n; i++)
            for (size_t j = j0; j < j1; j++) hess[i * n + j] = 0.0;
        if (last) {
            fg_tape_value_pass(t, ws);
            if (grad) memset(grad, 0, n * sizeof(double));
            if (value) *value = ws->val[o][0];
        }
        return FG_OK;
    }
    if (reverse) {
        fg_status st = fg_tape_hessian_reverse_part(t, ws, j0, j1, hess, last ? grad : NULL);
        if (st != FG_OK) return st;
    } else {
        hessian_hyper_part(t, ws, j0, j1, hess, last ? grad : NULL);
    }
    if (last && j0 == j1)   /* an empty last part: value and grad of their own */
        return grad ? fg_tape_value_grad_part_f64(t, ws, x, data, 0, n, value, grad)
                    : (value ? fg_tape_eval_f64(t, ws, x, data, value) : FG_OK);
    if (last && value) *value = ws->val[o][0];
    return FG_OK;
}

fg_status fg_tape_hessian_f64(const fg_tape *t, fg_tape_ws *ws, const double *x,
                              const void *const *data, double *hess, double *value,
                              double *grad)
{
    return fg_tape_hessian_part_f64(t, ws, x, data, 0, t ? t->n : 0, 0, hess, value, grad);
}

fg_status fg_tape_hessian_reverse_f64(const fg_tape *t, fg_tape_ws *ws, const double *x,
                                      const void *const *data, double *hess, double *value,
                                      double *grad)
{
    return fg_tape_hessian_part_f64(t, ws, x, data, 0, t ? t->n : 0, 1, hess, value, grad);
}
