/* fg_dual_body.h: the dual and hyper-dual loop kernels, written once and
 * included twice by fg_dual.c with FG_T = double / float and FG_SUFFIX =
 * f64 / f32. Not a public header.
 *
 * Each kernel is a switch over the op code whose cases are generated from
 * csrc/fg_ops.def, so the rule for an op appears only in that table. The
 * switch sits outside the loops: each case is a straight loop over elements
 * with an inner loop over the k tangent components. Arithmetic is done in
 * double and stored as FG_T. Locals are prefixed fg_ so that they never
 * capture a name used by a table expression (x, y, a, b).
 */
/* NaN-safe product partial * tangent: an exactly zero factor gives exactly
 * 0, even when the other is inf or NaN. A zero tangent component means the
 * direction does not move that input (so sqrt at 0, or a**b in b at a < 0,
 * does not poison the other directions: ForwardDiff.jl's NANSAFE mode); a
 * zero partial is a structural zero (add's second partials, sign's slope),
 * which must not turn an infinite tangent into NaN. */
#ifndef FG_NS
#define FG_NS(p, t) (((p) == 0 || (t) == 0) ? 0.0 : (p) * (t))
#endif

#define FG_CAT2(a_, b_) a_##_##b_
#define FG_CAT(a_, b_) FG_CAT2(a_, b_)
#define FG_NAME(base) FG_CAT(base, FG_SUFFIX)

fg_status FG_NAME(fg_dual_unary)(int op, size_t n, size_t k, const FG_T *xv, const FG_T *xt,
                                 FG_T *yv, FG_T *yt)
{
    if (n && (!xv || !yv || (k && (!xt || !yt)))) return FG_ERR_ARG;
    switch (op) {
#define FG_OP_UNARY(name, value, deriv, deriv2)                                   \
    case FG_OP_##name:                                                           \
        for (size_t fg_i = 0; fg_i < n; fg_i++) {                                \
            const double x = (double)xv[fg_i];                                   \
            const double y = (value);                                            \
            const double fg_d = (deriv);                                         \
            const FG_T *fg_ti = xt + fg_i * k;                                   \
            FG_T *fg_to = yt + fg_i * k;                                         \
            (void)x; (void)y;                                                    \
            yv[fg_i] = (FG_T)y;                                                  \
            for (size_t fg_j = 0; fg_j < k; fg_j++)                              \
                fg_to[fg_j] = (FG_T)FG_NS(fg_d, (double)fg_ti[fg_j]);                \
        }                                                                        \
        return FG_OK;
#include "fg_ops.def"
#undef FG_OP_UNARY
    default:
        return FG_ERR_UNSUPPORTED;
    }
}

fg_status FG_NAME(fg_dual_binary)(int op, size_t n, size_t k, const FG_T *av, const FG_T *at,
                                  size_t a_inc, const FG_T *bv, const FG_T *bt, size_t b_inc,
                                  FG_T *yv, FG_T *yt)
{
    if (a_inc > 1 || b_inc > 1) return FG_ERR_ARG;
    if (n && (!av || !bv || !yv || (k && (at || bt) && !yt))) return FG_ERR_ARG;
    const size_t ta_inc = a_inc * k, tb_inc = b_inc * k;
    /* The four operand patterns: both dual, a only, b only, none. A constant
     * operand's partial is not evaluated (no NaN from its rule). */
    switch (op) {
#define FG_DUAL_BIN_LOOP(value, ...)                                             \
        for (size_t fg_i = 0; fg_i < n; fg_i++) {                                \
            const double a = (double)av[fg_i * a_inc];                           \
            const double b = (double)bv[fg_i * b_inc];                           \
            const double y = (value);                                            \
            FG_T *fg_to = yt + fg_i * k;                                         \
            (void)a; (void)b; (void)fg_to;                                       \
            yv[fg_i] = (FG_T)y;                                                  \
            __VA_ARGS__                                                          \
        }
#define FG_OP_BINARY(name, value, d_a, d_b, d_aa, d_ab, d_bb)                     \
    case FG_OP_##name:                                                           \
        if (at && bt) {                                                          \
            FG_DUAL_BIN_LOOP(value, {                                            \
                const double fg_pa = (d_a), fg_pb = (d_b);                       \
                const FG_T *fg_ta = at + fg_i * ta_inc, *fg_tb = bt + fg_i * tb_inc; \
                for (size_t fg_j = 0; fg_j < k; fg_j++)                          \
                    fg_to[fg_j] = (FG_T)(FG_NS(fg_pa, (double)fg_ta[fg_j])      \
                                         + FG_NS(fg_pb, (double)fg_tb[fg_j]));  \
            })                                                                   \
        } else if (at) {                                                         \
            FG_DUAL_BIN_LOOP(value, {                                            \
                const double fg_pa = (d_a);                                      \
                const FG_T *fg_ta = at + fg_i * ta_inc;                          \
                for (size_t fg_j = 0; fg_j < k; fg_j++)                          \
                    fg_to[fg_j] = (FG_T)FG_NS(fg_pa, (double)fg_ta[fg_j]);           \
            })                                                                   \
        } else if (bt) {                                                         \
            FG_DUAL_BIN_LOOP(value, {                                            \
                const double fg_pb = (d_b);                                      \
                const FG_T *fg_tb = bt + fg_i * tb_inc;                          \
                for (size_t fg_j = 0; fg_j < k; fg_j++)                          \
                    fg_to[fg_j] = (FG_T)FG_NS(fg_pb, (double)fg_tb[fg_j]);           \
            })                                                                   \
        } else {                                                                 \
            FG_DUAL_BIN_LOOP(value, {                                            \
                if (yt)                                                          \
                    for (size_t fg_j = 0; fg_j < k; fg_j++) fg_to[fg_j] = 0;     \
            })                                                                   \
        }                                                                        \
        return FG_OK;
#include "fg_ops.def"
#undef FG_OP_BINARY
    default:
        return FG_ERR_UNSUPPORTED;
    }
}

fg_status FG_NAME(fg_hdual_unary)(int op, size_t n, size_t k, const FG_T *xv, const FG_T *xt,
                                  FG_T *yv, FG_T *yt)
{
    if (n && (!xv || !yv || !xt || !yt)) return FG_ERR_ARG;
    const size_t m = 2 * k + 1;
    switch (op) {
#define FG_OP_UNARY(name, value, deriv, deriv2)                                   \
    case FG_OP_##name:                                                           \
        for (size_t fg_i = 0; fg_i < n; fg_i++) {                                \
            const double x = (double)xv[fg_i];                                   \
            const double y = (value);                                            \
            const double fg_d1 = (deriv), fg_d2 = (deriv2);                      \
            const FG_T *fg_ti = xt + fg_i * m;                                   \
            FG_T *fg_to = yt + fg_i * m;                                         \
            const double fg_c = (double)fg_ti[k];                                \
            (void)x; (void)y;                                                    \
            yv[fg_i] = (FG_T)y;                                                  \
            /* read b_j and d_j before writing either: in-place safe */          \
            for (size_t fg_j = 0; fg_j < k; fg_j++) {                            \
                const double fg_b = (double)fg_ti[fg_j];                         \
                const double fg_dd = (double)fg_ti[k + 1 + fg_j];                \
                fg_to[k + 1 + fg_j] = (FG_T)(FG_NS(fg_d1, fg_dd) + FG_NS(fg_d2, fg_b * fg_c)); \
                fg_to[fg_j] = (FG_T)FG_NS(fg_d1, fg_b);                          \
            }                                                                    \
            fg_to[k] = (FG_T)FG_NS(fg_d1, fg_c);                                 \
        }                                                                        \
        return FG_OK;
#include "fg_ops.def"
#undef FG_OP_UNARY
    default:
        return FG_ERR_UNSUPPORTED;
    }
}

fg_status FG_NAME(fg_hdual_binary)(int op, size_t n, size_t k, const FG_T *av, const FG_T *at,
                                   size_t a_inc, const FG_T *bv, const FG_T *bt, size_t b_inc,
                                   FG_T *yv, FG_T *yt)
{
    if (a_inc > 1 || b_inc > 1) return FG_ERR_ARG;
    if (n && (!av || !bv || !yv || ((at || bt) && !yt))) return FG_ERR_ARG;
    const size_t m = 2 * k + 1;
    const size_t ta_inc = a_inc * m, tb_inc = b_inc * m;
    switch (op) {
#define FG_OP_BINARY(name, value, d_a, d_b, d_aa, d_ab, d_bb)                     \
    case FG_OP_##name:                                                           \
        if (at && bt) {                                                          \
            FG_DUAL_BIN_LOOP(value, {                                            \
                const double fg_pa = (d_a), fg_pb = (d_b);                       \
                const double fg_paa = (d_aa), fg_pab = (d_ab), fg_pbb = (d_bb);  \
                const FG_T *fg_ta = at + fg_i * ta_inc, *fg_tb = bt + fg_i * tb_inc; \
                fg_to = yt + fg_i * m;                                           \
                const double fg_ca = (double)fg_ta[k], fg_cb = (double)fg_tb[k]; \
                for (size_t fg_j = 0; fg_j < k; fg_j++) {                        \
                    const double fg_ba = (double)fg_ta[fg_j], fg_bb = (double)fg_tb[fg_j]; \
                    const double fg_da = (double)fg_ta[k + 1 + fg_j];            \
                    const double fg_db = (double)fg_tb[k + 1 + fg_j];            \
                    fg_to[k + 1 + fg_j] = (FG_T)(FG_NS(fg_pa, fg_da) + FG_NS(fg_pb, fg_db) \
                        + FG_NS(fg_paa, fg_ba * fg_ca)                           \
                        + FG_NS(fg_pab, fg_ba * fg_cb + fg_bb * fg_ca)           \
                        + FG_NS(fg_pbb, fg_bb * fg_cb));                         \
                    fg_to[fg_j] = (FG_T)(FG_NS(fg_pa, fg_ba) + FG_NS(fg_pb, fg_bb)); \
                }                                                                \
                fg_to[k] = (FG_T)(FG_NS(fg_pa, fg_ca) + FG_NS(fg_pb, fg_cb));    \
            })                                                                   \
        } else if (at) {                                                         \
            FG_DUAL_BIN_LOOP(value, {                                            \
                const double fg_pa = (d_a), fg_paa = (d_aa);                     \
                const FG_T *fg_ta = at + fg_i * ta_inc;                          \
                fg_to = yt + fg_i * m;                                           \
                const double fg_ca = (double)fg_ta[k];                           \
                for (size_t fg_j = 0; fg_j < k; fg_j++) {                        \
                    const double fg_ba = (double)fg_ta[fg_j];                    \
                    const double fg_da = (double)fg_ta[k + 1 + fg_j];            \
                    fg_to[k + 1 + fg_j] = (FG_T)(FG_NS(fg_pa, fg_da) + FG_NS(fg_paa, fg_ba * fg_ca)); \
                    fg_to[fg_j] = (FG_T)FG_NS(fg_pa, fg_ba);                     \
                }                                                                \
                fg_to[k] = (FG_T)FG_NS(fg_pa, fg_ca);                            \
            })                                                                   \
        } else if (bt) {                                                         \
            FG_DUAL_BIN_LOOP(value, {                                            \
                const double fg_pb = (d_b), fg_pbb = (d_bb);                     \
                const FG_T *fg_tb = bt + fg_i * tb_inc;                          \
                fg_to = yt + fg_i * m;                                           \
                const double fg_cb = (double)fg_tb[k];                           \
                for (size_t fg_j = 0; fg_j < k; fg_j++) {                        \
                    const double fg_bb = (double)fg_tb[fg_j];                    \
                    const double fg_db = (double)fg_tb[k + 1 + fg_j];            \
                    fg_to[k + 1 + fg_j] = (FG_T)(FG_NS(fg_pb, fg_db) + FG_NS(fg_pbb, fg_bb * fg_cb)); \
                    fg_to[fg_j] = (FG_T)FG_NS(fg_pb, fg_bb);                     \
                }                                                                \
                fg_to[k] = (FG_T)FG_NS(fg_pb, fg_cb);                            \
            })                                                                   \
        } else {                                                                 \
            FG_DUAL_BIN_LOOP(value, {                                            \
                if (yt) {                                                        \
                    fg_to = yt + fg_i * m;                                       \
                    for (size_t fg_j = 0; fg_j < m; fg_j++) fg_to[fg_j] = 0;     \
                }                                                                \
            })                                                                   \
        }                                                                        \
        return FG_OK;
#include "fg_ops.def"
#undef FG_OP_BINARY
    default:
        return FG_ERR_UNSUPPORTED;
    }
}

#undef FG_DUAL_BIN_LOOP
#undef FG_NAME
#undef FG_CAT
#undef FG_CAT2
