/* fg_min_lbfgs.c: limited-memory BFGS, and with bounds L-BFGS-B.
 *
 * The last m pairs s = x+ - x, y = g+ - g (g the gradient of sign * f)
 * with s.y > eps * y.y define the inverse-Hessian model H, with
 * H0 = I / theta, theta = y.y / s.y of the newest pair.
 *
 * Without bounds the direction is d = -H g by the two-loop recursion
 * (Nocedal & Wright, Algorithm 7.4): 4mn flops, no matrix.
 *
 * With bounds (Byrd, Lu, Nocedal & Zhu 1995; the 2011 subspace step of
 * Morales & Nocedal) the model is B = theta I - W M W^T with W = [Y, theta S]
 * and M^-1 = K = [[-D, L^T], [L, theta S^T S]] (D = diag(s_i.y_i), L the
 * strictly lower part of S^T Y):
 *   1. the generalized Cauchy point xc: the first local minimizer of the
 *      quadratic model along the projected path P(x - t g), t >= 0, found
 *      by walking the breakpoints (where a coordinate reaches its bound) in
 *      order from a heap;
 *   2. the subspace step over the variables xc left free (F):
 *      du = -B_F^-1 r with r the model's reduced gradient at xc, by
 *      Sherman-Morrison-Woodbury:
 *          B_F^-1 = I/theta + W_F (K - W_F^T W_F / theta)^-1 W_F^T / theta^2
 *      (a 2m x 2m solve); xbar = P(xc + du) when that is a descent
 *      direction from x, else xc + alpha du truncated to the box;
 *   3. the strong-Wolfe search along d = xbar - x up to the box's limit.
 * Products with M solve with K through its Schur complement:
 *     K (u1; u2) = (v1; v2):  (theta S^T S + L D^-1 L^T) u2 = v2 + L D^-1 v1,
 *                             u1 = D^-1 (L^T u2 - v1)
 * (a Cholesky factor of the m x m complement per iteration).
 *
 * First trial step 1 (the quasi-Newton step); without pairs 1/|d| (with
 * bounds at most 1, and 1 when every variable has both bounds: d then ends
 * at the Cauchy point P(x - g)).
 *
 * Carried state: LB_SCALARS numbers (pairs stored, the oldest pair's slot,
 * theta), s.y per slot, S and Y (m x n, slot-major), and with bounds the
 * slot-indexed products S^T S, S^T Y, Y^T Y (m x m each), kept current as
 * pairs arrive. Scratch: the direction, a spare pair of buffers for the
 * line search, and with bounds the Cauchy point's and the subspace step's
 * vectors and small matrices.
 */
#include <float.h>
#include <math.h>
#include <string.h>
#include "fg_min_qn.h"

enum { LB_K = 0, LB_HEAD = 1, LB_THETA = 2, LB_SCALARS = 4 };
enum { LB_MAX_M = 1000 };

/* ---- layout ----------------------------------------------------------------- */

typedef struct lb_view {
    size_t n, m, k, head;
    double theta;
    double *ys, *S, *Y, *SS, *SY, *YY;      /* carried */
    double *d, *bx, *bg, *a;                /* scratch, every run */
    /* scratch with bounds */
    double *tb, *xc, *du;
    size_t *heap, *freei;
    double *p, *c, *wb, *mv, *mw, *rhs, *T, *A, *WW;
    size_t *piv;
} lb_view;

static int has_box(const fg_minimize_options *o)
{
    return o->lower != NULL;
}

/* Sizes in doubles; FG_ERR_ARG for a bad m or on overflow. */
static fg_status lb_sizes(size_t n, const fg_minimize_options *o, size_t *state, size_t *scratch)
{
    if (o->lbfgs_m < 1 || o->lbfgs_m > LB_MAX_M) return FG_ERR_ARG;
    const size_t m = (size_t)o->lbfgs_m, mm = m * m, m2 = 2 * m;
    /* 2mn + 9n + O(m^2) doubles in all */
    if (n > (SIZE_MAX - 16 * mm - 64 * m) / (2 * m + 16)) return FG_ERR_ARG;
    *state = LB_SCALARS + m + 2 * m * n + (has_box(o) ? 3 * mm : 0);
    *scratch = 3 * n + m;
    if (has_box(o)) *scratch += 6 * n + 6 * m2 + mm + 2 * m2 * m2 + m2;
    return FG_OK;
}

static lb_view lb_map(const fg_min_run *r)
{
    lb_view v;
    const size_t n = r->n, m = (size_t)r->opt->lbfgs_m, mm = m * m, m2 = 2 * m;
    double *s = r->state, *w = r->scratch;
    memset(&v, 0, sizeof v);
    v.n = n;
    v.m = m;
    v.k = (size_t)s[LB_K];
    v.head = (size_t)s[LB_HEAD];
    v.theta = s[LB_THETA];
    v.ys = s + LB_SCALARS;
    v.S = v.ys + m;
    v.Y = v.S + m * n;
    v.d = w;
    v.bx = w + n;
    v.bg = w + 2 * n;
    v.a = w + 3 * n;
    if (!has_box(r->opt)) return v;
    v.SS = v.Y + m * n;
    v.SY = v.SS + mm;
    v.YY = v.SY + mm;
    w = v.a + m;
    v.tb = w;
    v.xc = w + n;
    v.du = w + 2 * n;
    v.heap = (size_t *)(w + 3 * n);
    v.freei = (size_t *)(w + 4 * n);
    w += 6 * n;
    v.p = w;
    v.c = w + m2;
    v.wb = w + 2 * m2;
    v.mv = w + 3 * m2;
    v.mw = w + 4 * m2;
    v.rhs = w + 5 * m2;
    w += 6 * m2;
    v.T = w;
    v.A = w + mm;
    v.WW = v.A + m2 * m2;
    v.piv = (size_t *)(v.WW + m2 * m2);
    return v;
}

typedef char lb_index_fits_a_double[sizeof(size_t) <= sizeof(double) ? 1 : -1];

/* slot of the j-th oldest pair */
static size_t slot(const lb_view *v, size_t j)
{
    return (v->head + j) % v->m;
}

static fg_status lb_check(const fg_minimize_options *o)
{
    return o->lbfgs_m >= 1 && o->lbfgs_m <= LB_MAX_M ? FG_OK : FG_ERR_ARG;
}

static fg_status lb_init(fg_min_run *r, int warm)
{
    const fg_minimize_options *o = r->opt;
    double *s = r->state;
    /* the box: active when some bound is finite; boxed when every variable
     * has both (the first search then ends at the Cauchy point) */
    int any = 0, all = 1;
    for (size_t i = 0; o->lower && i < r->n; i++) {
        const int lo = isfinite(o->lower[i]), hi = isfinite(o->upper[i]);
        any |= lo | hi;
        all &= lo & hi;
    }
    r->cache.d[0] = any;
    r->cache.d[1] = any && all;
    if (!warm) {
        s[LB_K] = 0.0;
        s[LB_HEAD] = 0.0;
        s[LB_THETA] = 1.0;
        s[3] = 0.0;
        return FG_OK;
    }
    const double m = (double)o->lbfgs_m;
    if (!fg_qn_is_count(s[LB_K], m) || !fg_qn_is_count(s[LB_HEAD], m - 1.0)
        || !(s[LB_THETA] > 0.0) || !isfinite(s[LB_THETA]))
        return FG_ERR_ARG;
    const lb_view v = lb_map(r);
    for (size_t j = 0; j < v.k; j++)
        if (!(v.ys[slot(&v, j)] > 0.0) || !isfinite(v.ys[slot(&v, j)])) return FG_ERR_ARG;
    return FG_OK;
}

/* ---- without bounds: the two-loop recursion ------------------------------- */

static void two_loop(const fg_min_run *r, lb_view *v)
{
    const size_t n = v->n;
    double *q = v->d;
    for (size_t i = 0; i < n; i++) q[i] = r->sign * r->g[i];
    for (size_t j = v->k; j-- > 0;) {
        const size_t h = slot(v, j);
        const double *sj = v->S + h * n, *yj = v->Y + h * n;
        const double a = fg_qn_dot(sj, q, n) / v->ys[h];
        v->a[j] = a;
        fg_qn_axpy(-a, yj, q, n);   /* q - a y, bit for bit */
    }
    for (size_t i = 0; i < n; i++) q[i] = q[i] / v->theta;
    for (size_t j = 0; j < v->k; j++) {
        const size_t h = slot(v, j);
        const double *sj = v->S + h * n, *yj = v->Y + h * n;
        const double b = fg_qn_dot(yj, q, n) / v->ys[h];
        fg_qn_axpy(v->a[j] - b, sj, q, n);
    }
    for (size_t i = 0; i < n; i++) q[i] = -q[i];
}

/* ---- with bounds: the compact model ----------------------------------------- */

/* Entries of the ordered (oldest first) pairs' products. */
static double sy_(const lb_view *v, size_t i, size_t j)
{
    return v->SY[slot(v, i) * v->m + slot(v, j)];
}

static double ss_(const lb_view *v, size_t i, size_t j)
{
    return v->SS[slot(v, i) * v->m + slot(v, j)];
}

static double yy_(const lb_view *v, size_t i, size_t j)
{
    return v->YY[slot(v, i) * v->m + slot(v, j)];
}

/* T = theta S^T S + L D^-1 L^T and its Cholesky factor (lower, in T);
 * 0 when T is not numerically positive definite. */
static int factor_t(lb_view *v)
{
    const size_t k = v->k;
    double *T = v->T;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j <= i; j++) {
            double s = v->theta * ss_(v, i, j);
            for (size_t l = 0; l < j; l++) s += sy_(v, i, l) * sy_(v, j, l) / sy_(v, l, l);
            T[i * k + j] = s;
        }
    return fg_min_cholesky(T, k);
}

/* out = M in = K^-1 in (2k values) through the Schur complement. */
static void m_times(const lb_view *v, const double *in, double *out)
{
    const size_t k = v->k;
    const double *v1 = in, *v2 = in + k;
    double *u1 = out, *u2 = out + k;
    for (size_t i = 0; i < k; i++) {
        double s = v2[i];
        for (size_t j = 0; j < i; j++) s += sy_(v, i, j) * v1[j] / sy_(v, j, j);
        u2[i] = s;
    }
    fg_min_cholesky_solve(v->T, u2, k);
    for (size_t j = 0; j < k; j++) {
        double s = 0.0;
        for (size_t i = j + 1; i < k; i++) s += sy_(v, i, j) * u2[i];
        u1[j] = (s - v1[j]) / sy_(v, j, j);
    }
}

/* Row i of W = [Y, theta S] (2k values). */
static void w_row(const lb_view *v, size_t i, double *w)
{
    for (size_t j = 0; j < v->k; j++) {
        const size_t h = slot(v, j);
        w[j] = v->Y[h * v->n + i];
        w[v->k + j] = v->theta * v->S[h * v->n + i];
    }
}

static double dot_small(const double *a, const double *b, size_t len)
{
    double s = 0.0;
    for (size_t i = 0; i < len; i++) s += a[i] * b[i];
    return s;
}

/* Breakpoints in (t, index) order: a binary min-heap of indices. */
static int before(const double *t, size_t a, size_t b)
{
    return t[a] < t[b] || (t[a] == t[b] && a < b);
}

static void heap_down(const double *t, size_t *h, size_t len, size_t i)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= len) return;
        if (c + 1 < len && before(t, h[c + 1], h[c])) c++;
        if (!before(t, h[c], h[i])) return;
        const size_t tmp = h[c];
        h[c] = h[i];
        h[i] = tmp;
        i = c;
    }
}

/* The generalized Cauchy point into v->xc, c = W^T (xc - x) into v->c;
 * on return v->tb[i] == 0 marks the variables held at a bound. g is the
 * signed gradient; d (v->d) is the path's direction, zeroed as variables
 * stop. */
static void cauchy_point(const fg_min_run *r, lb_view *v, const double *g)
{
    const size_t n = v->n, k2 = 2 * v->k;
    const double *x = r->x, *lo = r->lower, *hi = r->upper;
    const double theta = v->theta;
    double *t = v->tb, *d = v->d, *xc = v->xc, *p = v->p, *c = v->c;
    size_t nb = 0;
    for (size_t i = 0; i < n; i++) {
        t[i] = INFINITY;
        if (g[i] > 0.0) t[i] = (x[i] - lo[i]) / g[i];
        else if (g[i] < 0.0) t[i] = (x[i] - hi[i]) / g[i];
        d[i] = t[i] == 0.0 ? 0.0 : -g[i];
        xc[i] = x[i];
        if (t[i] > 0.0 && isfinite(t[i])) v->heap[nb++] = i;
    }
    for (size_t j = 0; j < v->k; j++) {
        const size_t h = slot(v, j);
        p[j] = fg_qn_dot(v->Y + h * n, d, n);
        p[v->k + j] = theta * fg_qn_dot(v->S + h * n, d, n);
    }
    memset(c, 0, k2 * sizeof *c);
    double fp = -fg_qn_dot(d, d, n);
    if (fp == 0.0) return;
    m_times(v, p, v->mv);
    double fpp = -theta * fp - dot_small(p, v->mv, k2);
    const double fpp0 = fpp;
    double dt_min = -fp / fpp, t_old = 0.0;
    for (size_t i = nb / 2; i-- > 0;) heap_down(t, v->heap, nb, i);
    while (nb > 0) {
        const size_t b = v->heap[0];
        const double dt = t[b] - t_old;
        if (dt_min < dt) break;
        v->heap[0] = v->heap[--nb];
        heap_down(t, v->heap, nb, 0);
        /* variable b reaches its bound at t[b] and leaves the path */
        xc[b] = d[b] > 0.0 ? hi[b] : lo[b];
        const double zb = xc[b] - x[b], gb = g[b];
        for (size_t j = 0; j < k2; j++) c[j] += dt * p[j];
        w_row(v, b, v->wb);
        m_times(v, v->wb, v->mw);                 /* M w_b */
        const double wmc = dot_small(v->mw, c, k2), wmp = dot_small(v->mw, p, k2);
        const double wmw = dot_small(v->mw, v->wb, k2);
        fp = fp + (dt * fpp + gb * gb + theta * gb * zb - gb * wmc);
        fpp = fpp - (theta * gb * gb + 2.0 * gb * wmp + gb * gb * wmw);
        fpp = fmax(fpp, DBL_EPSILON * fpp0);
        for (size_t j = 0; j < k2; j++) p[j] += gb * v->wb[j];
        d[b] = 0.0;
        dt_min = -fp / fpp;
        t_old = t[b];
        t[b] = 0.0;
    }
    dt_min = fmax(dt_min, 0.0);
    t_old += dt_min;
    for (size_t i = 0; i < n; i++)
        if (d[i] != 0.0) xc[i] = fmin(fmax(x[i] + t_old * d[i], lo[i]), hi[i]);
    for (size_t j = 0; j < k2; j++) c[j] += dt_min * p[j];
}

/* LU with partial pivoting of the q x q matrix A (row-major, in place),
 * then A z = b for z (in b); 0 when singular. */
static int lu_solve(double *A, double *b, size_t *piv, size_t q)
{
    for (size_t j = 0; j < q; j++) {
        size_t pr = j;
        for (size_t i = j + 1; i < q; i++)
            if (fabs(A[i * q + j]) > fabs(A[pr * q + j])) pr = i;
        piv[j] = pr;
        if (!(A[pr * q + j] != 0.0) || !isfinite(A[pr * q + j])) return 0;
        if (pr != j) {
            for (size_t l = 0; l < q; l++) {
                const double tmp = A[j * q + l];
                A[j * q + l] = A[pr * q + l];
                A[pr * q + l] = tmp;
            }
            const double tb = b[j];
            b[j] = b[pr];
            b[pr] = tb;
        }
        for (size_t i = j + 1; i < q; i++) {
            const double f = A[i * q + j] / A[j * q + j];
            A[i * q + j] = f;
            for (size_t l = j + 1; l < q; l++) A[i * q + l] -= f * A[j * q + l];
            b[i] -= f * b[j];
        }
    }
    for (size_t i = q; i-- > 0;) {
        double s = b[i];
        for (size_t l = i + 1; l < q; l++) s -= A[i * q + l] * b[l];
        b[i] = s / A[i * q + i];
    }
    return 1;
}

/* The subspace step from the Cauchy point: xbar into v->bx. g signed. */
static void subspace_step(const fg_min_run *r, lb_view *v, const double *g)
{
    const size_t n = v->n, k = v->k, k2 = 2 * k;
    const double *x = r->x, *lo = r->lower, *hi = r->upper, *xc = v->xc;
    const double theta = v->theta;
    double *xbar = v->bx, *du = v->du;
    size_t nf = 0, na = 0;
    for (size_t i = 0; i < n; i++) {
        xbar[i] = xc[i];
        if (v->tb[i] != 0.0 && lo[i] < hi[i]) v->freei[nf++] = i;
        else na++;
    }
    if (nf == 0) return;
    /* r = g + theta (xc - x) - W M c on the free variables, into du */
    m_times(v, v->c, v->mv);
    for (size_t f = 0; f < nf; f++) {
        const size_t i = v->freei[f];
        w_row(v, i, v->wb);
        du[f] = g[i] + theta * (xc[i] - x[i]) - dot_small(v->wb, v->mv, k2);
    }
    if (k > 0) {
        /* W_F^T W_F: from the carried products minus the held rows, or
         * summed over the free rows, whichever set is smaller */
        double *WW = v->WW, *A = v->A, *rhs = v->rhs;
        const int from_free = nf <= na;
        for (size_t a = 0; a < k2; a++)
            for (size_t b = 0; b < k2; b++) {
                double s = 0.0;
                if (!from_free) {
                    const size_t ia = a % k, ib = b % k;
                    const double sa = a < k ? 1.0 : theta, sb = b < k ? 1.0 : theta;
                    s = a < k ? (b < k ? yy_(v, ia, ib) : sy_(v, ib, ia))
                              : (b < k ? sy_(v, ia, ib) : ss_(v, ia, ib));
                    s *= sa * sb;
                }
                WW[a * k2 + b] = s;
            }
        for (size_t i = 0; i < n; i++) {
            const int held = !(v->tb[i] != 0.0 && lo[i] < hi[i]);
            if (held == from_free) continue;
            w_row(v, i, v->wb);
            const double sg = from_free ? 1.0 : -1.0;
            for (size_t a = 0; a < k2; a++)
                for (size_t b = 0; b < k2; b++) WW[a * k2 + b] += sg * v->wb[a] * v->wb[b];
        }
        /* A = K - W_F^T W_F / theta, rhs = W_F^T r */
        for (size_t a = 0; a < k2; a++)
            for (size_t b = 0; b < k2; b++) {
                double kab;
                if (a < k && b < k) kab = a == b ? -sy_(v, a, a) : 0.0;
                else if (a < k) kab = b - k > a ? sy_(v, b - k, a) : 0.0;
                else if (b < k) kab = a - k > b ? sy_(v, a - k, b) : 0.0;
                else kab = theta * ss_(v, a - k, b - k);
                A[a * k2 + b] = kab - WW[a * k2 + b] / theta;
            }
        memset(rhs, 0, k2 * sizeof *rhs);
        for (size_t f = 0; f < nf; f++) {
            w_row(v, v->freei[f], v->wb);
            for (size_t a = 0; a < k2; a++) rhs[a] += v->wb[a] * du[f];
        }
        const int solved = lu_solve(A, rhs, v->piv, k2);
        for (size_t f = 0; f < nf; f++) {
            double wv = 0.0;
            if (solved) {
                w_row(v, v->freei[f], v->wb);
                wv = dot_small(v->wb, rhs, k2);
            }
            du[f] = -du[f] / theta - wv / (theta * theta);
        }
    } else {
        for (size_t f = 0; f < nf; f++) du[f] = -du[f] / theta;
    }
    double descent = 0.0;
    for (size_t f = 0; f < nf; f++) {
        const size_t i = v->freei[f];
        xbar[i] = fmin(fmax(xc[i] + du[f], lo[i]), hi[i]);
    }
    for (size_t i = 0; i < n; i++) descent += (xbar[i] - x[i]) * g[i];
    if (descent > 0.0) {
        /* not a descent direction: the longest step along du inside the box */
        double alpha = 1.0;
        for (size_t f = 0; f < nf; f++) {
            const size_t i = v->freei[f];
            if (du[f] > 0.0) alpha = fmin(alpha, (hi[i] - xc[i]) / du[f]);
            else if (du[f] < 0.0) alpha = fmin(alpha, (lo[i] - xc[i]) / du[f]);
        }
        for (size_t f = 0; f < nf; f++) xbar[v->freei[f]] = xc[v->freei[f]] + alpha * du[f];
    }
}

static double box_step_max(const fg_min_run *r, const double *d)
{
    double a = FG_QN_STEP_MAX;
    for (size_t i = 0; i < r->n; i++) {
        if (d[i] > 0.0) a = fmin(a, (r->upper[i] - r->x[i]) / d[i]);
        else if (d[i] < 0.0) a = fmin(a, (r->lower[i] - r->x[i]) / d[i]);
    }
    return a;
}

static int lb_forget(fg_min_run *r)
{
    const int had = r->state[LB_K] > 0.0;
    r->state[LB_K] = 0.0;
    r->state[LB_HEAD] = 0.0;
    r->state[LB_THETA] = 1.0;
    return had;
}

static void lb_direction(fg_min_run *r, double *d, double *alpha_max)
{
    lb_view v = lb_map(r);
    *alpha_max = FG_QN_STEP_MAX;
    if (!r->cache.d[0]) {
        two_loop(r, &v);
        return;
    }
    if (v.k > 0 && !factor_t(&v)) {
        /* the pairs' matrix lost definiteness to rounding: start afresh */
        lb_forget(r);
        v = lb_map(r);
    }
    double *g = v.bg;   /* the signed gradient; bg is free until the search */
    for (size_t i = 0; i < v.n; i++) g[i] = r->sign * r->g[i];
    cauchy_point(r, &v, g);
    subspace_step(r, &v, g);
    for (size_t i = 0; i < v.n; i++) d[i] = v.bx[i] - r->x[i];
    *alpha_max = box_step_max(r, d);
}

static double lb_first_trial(fg_min_run *r, const double *d, double slope, double *alpha_max)
{
    (void)slope;
    if (r->state[LB_K] > 0.0) return fmin(1.0, *alpha_max);
    const double inv = 1.0 / sqrt(fg_qn_dot(d, d, r->n));
    if (!r->cache.d[0]) return fmin(inv, *alpha_max);
    /* bounded, no pairs yet: d ends at the Cauchy point P(x - g) */
    *alpha_max = 1.0;
    return r->cache.d[1] ? 1.0 : fmin(inv, 1.0);
}

static void lb_update(fg_min_run *r, const double *d, double alpha, double slope)
{
    (void)d;
    (void)alpha;
    (void)slope;
    lb_view v = lb_map(r);
    const size_t n = v.n;
    double *s = v.bx, *y = v.bg;
    for (size_t i = 0; i < n; i++) {
        s[i] = r->xt[i] - r->x[i];
        y[i] = r->sign * r->gt[i] - r->sign * r->g[i];
    }
    const double sy = fg_qn_dot(s, y, n), yy = fg_qn_dot(y, y, n);
    if (!(sy > DBL_EPSILON * yy)) return;   /* no positive curvature: keep the pairs */
    size_t h;
    if (v.k < v.m) {
        h = slot(&v, v.k);
        v.k++;
    } else {
        h = v.head;
        v.head = (v.head + 1) % v.m;
    }
    memcpy(v.S + h * n, s, n * sizeof *s);
    memcpy(v.Y + h * n, y, n * sizeof *y);
    v.ys[h] = sy;
    r->state[LB_K] = (double)v.k;
    r->state[LB_HEAD] = (double)v.head;
    r->state[LB_THETA] = yy / sy;
    if (!has_box(r->opt)) return;
    const size_t m = v.m;
    for (size_t j = 0; j < v.k; j++) {
        const size_t o = slot(&v, j);
        const double *so = v.S + o * n, *yo = v.Y + o * n;
        v.SS[h * m + o] = v.SS[o * m + h] = fg_qn_dot(s, so, n);
        v.YY[h * m + o] = v.YY[o * m + h] = fg_qn_dot(y, yo, n);
        v.SY[h * m + o] = fg_qn_dot(s, yo, n);
        v.SY[o * m + h] = fg_qn_dot(so, y, n);
    }
}

static fg_minimize_stop lb_step(fg_min_run *r)
{
    const fg_qn_ops ops = {FG_QN_C2, lb_direction, lb_first_trial, lb_forget, lb_update,
                           (int)r->cache.d[0]};
    lb_view v = lb_map(r);
    return fg_qn_step(r, &ops, v.d, v.bx, v.bg);
}

static const char *const LBFGS_OPTIONS[] = {"m", NULL};

const fg_min_method fg_min_lbfgs = {
    {"lbfgs", FG_MIN_NEEDS_GRADIENT, 1, 1, 1u << FG_MIN_LS_WOLFE, FG_MIN_LS_WOLFE,
     LBFGS_OPTIONS},
    lb_sizes, lb_check, lb_init, lb_step};
