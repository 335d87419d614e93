/* fg_elem_body.h: THE elementwise kernel generator. Included by fg_elem.c
 * once per dtype with FG_T (double / float) and FG_SFX (f64 / f32), and
 * FG_ELEM_TAPE_MODES for the f64 pass; not a public header.
 *
 * For each row of fg_ops.def it writes one function per mode, whose loops
 * are the mode's loop template around the row's expressions, and then one
 * table per mode indexed by op code (the layouts and formulas of the modes
 * are in fg_elem.h). Each template is written once and expanded per
 * operand pattern (which operands carry a tangent or adjoint: the flags HA,
 * HB are literal 0 or 1, so a constant operand's partial is not even
 * evaluated) and, where vectorization needs it, per literal stride or
 * direction count. Arithmetic is in double; results are stored as FG_T.
 *
 * The row expressions see x (unary) or a, b (binary) and y; every other
 * local name starts with fg_ so that none captures a name of an expression.
 * Every kernel is FG_ELEM_HOT (fg_config.h): out of line and built per ISA.
 */

#define FG_E_CAT_(a, b, c) a##_##b##_##c
#define FG_E_CAT(a, b, c) FG_E_CAT_(a, b, c)
#define FG_E_FN(mode, name) FG_E_CAT(fg_##mode, name, FG_SFX)
#define FG_E_TABLE(mode) FG_E_CAT(fg_elem, mode, FG_SFX)
#define FG_E_CAT2_(a, b) a##_##b
#define FG_E_CAT2(a, b) FG_E_CAT2_(a, b)
#define FG_E_FNTYPE(mode) FG_E_CAT2(fg_elem_##mode##_fn, FG_SFX)
#define FG_E_KERNEL FG_ELEM_HOT static void

/* ha + hb over the operands that are present (HA, HB literal flags), with
 * no "+ 0.0" that would turn a -0.0 into +0.0. */
#define FG_E_ADD(HA, HB, ea, eb) ((HA) && (HB) ? (ea) + (eb) : (HA) ? (ea) : (eb))

/* ------------------------------------------------------------------ dual */

/* Tangents are indexed, not offset, so that an absent one (NULL: k = 0 or
 * a constant operand) is never touched, not even by pointer arithmetic.
 * FG_IVDEP: an output is a distinct buffer or exactly an input (in place),
 * so no iteration depends on another and the loops vectorize without a
 * run-time overlap check per element. */
#define FG_E_DUAL1_LOOP(K, VAL, D1)                                                 \
    FG_IVDEP for (int64_t fg_i = 0; fg_i < fg_n; fg_i++) {                          \
        const double x = (double)fg_A[fg_i];                                        \
        const double y = (VAL);                                                     \
        const double fg_p = (D1);                                                   \
        (void)x;                                                                    \
        fg_O[fg_i] = (FG_T)y;                                                       \
        FG_IVDEP for (int64_t fg_q = 0; fg_q < (K); fg_q++)                         \
            fg_TO[fg_i * (K) + fg_q] = (FG_T)FG_NS(fg_p, (double)fg_TA[fg_i * (K) + fg_q]); \
    }

#define FG_E_DUAL2_LOOP(HA, HB, K, VAL, DA, DB)                                     \
    FG_IVDEP for (int64_t fg_i = 0; fg_i < fg_n; fg_i++) {                          \
        const double a = (double)fg_A[fg_i * fg_sa], b = (double)fg_B[fg_i * fg_sb]; \
        const double y = (VAL);                                                     \
        const double fg_pa = (HA) ? (DA) : 0.0, fg_pb = (HB) ? (DB) : 0.0;          \
        (void)fg_pa; (void)fg_pb;                                                   \
        fg_O[fg_i] = (FG_T)y;                                                       \
        FG_IVDEP for (int64_t fg_q = 0; fg_q < (K); fg_q++)                         \
            fg_TO[fg_i * (K) + fg_q] = (FG_T)FG_E_ADD(HA, HB,                       \
                (HA) ? FG_NS(fg_pa, (double)fg_TA[(fg_i * fg_sa) * (K) + fg_q]) : 0.0, \
                (HB) ? FG_NS(fg_pb, (double)fg_TB[(fg_i * fg_sb) * (K) + fg_q]) : 0.0); \
    }

/* One direction (jvp, hvp, a gradient of one input) is common and, with the
 * count a literal, the loops over elements vectorize. */
#define FG_E_DUAL2_PATTERN(HA, HB, VAL, DA, DB)                                     \
    if (fg_k == 1) { FG_E_DUAL2_LOOP(HA, HB, 1, VAL, DA, DB) }                      \
    else { FG_E_DUAL2_LOOP(HA, HB, fg_k, VAL, DA, DB) }

#define FG_OP_UNARY(CODE, NAME, MOD, DOM, VAL, D1, D2)                              \
    FG_E_KERNEL FG_E_FN(dual1, NAME)(const FG_T *fg_A, const FG_T *fg_TA,           \
                                     FG_T *fg_O, FG_T *fg_TO, int64_t fg_n,         \
                                     int64_t fg_k)                                  \
    {                                                                               \
        if (fg_k == 1) { FG_E_DUAL1_LOOP(1, VAL, D1) }                              \
        else { FG_E_DUAL1_LOOP(fg_k, VAL, D1) }                                     \
    }
#define FG_OP_BINARY(CODE, NAME, MOD, DOM_A, DOM_B, VAL, DA, DB, DAA, DAB, DBB)     \
    FG_E_KERNEL FG_E_FN(dual2, NAME)(const FG_T *fg_A, const FG_T *fg_TA,           \
                                     int64_t fg_sa, const FG_T *fg_B,               \
                                     const FG_T *fg_TB, int64_t fg_sb, FG_T *fg_O,  \
                                     FG_T *fg_TO, int64_t fg_n, int64_t fg_k)       \
    {                                                                               \
        if (fg_TA && fg_TB) { FG_E_DUAL2_PATTERN(1, 1, VAL, DA, DB) }               \
        else if (fg_TA) { FG_E_DUAL2_PATTERN(1, 0, VAL, DA, DB) }                   \
        else if (fg_TB) { FG_E_DUAL2_PATTERN(0, 1, VAL, DA, DB) }                   \
        else {                                                                      \
            FG_E_DUAL2_LOOP(0, 0, 0, VAL, DA, DB)                                   \
            if (fg_TO)                                                              \
                for (int64_t fg_i = 0; fg_i < fg_n * fg_k; fg_i++) fg_TO[fg_i] = 0; \
        }                                                                           \
    }
#include "fg_ops.def"
#undef FG_OP_UNARY
#undef FG_OP_BINARY

/* ------------------------------------------------------------ hyper-dual */

#define FG_OP_UNARY(CODE, NAME, MOD, DOM, VAL, D1, D2)                              \
    FG_E_KERNEL FG_E_FN(hyper1, NAME)(const FG_T *fg_A, const FG_T *fg_TA,          \
                                      const FG_T *fg_CA, const FG_T *fg_DA,         \
                                      FG_T *fg_O, FG_T *fg_TO, FG_T *fg_CO,         \
                                      FG_T *fg_DO, int64_t fg_n, int64_t fg_k,      \
                                      int64_t fg_pt, int64_t fg_pc)                 \
    {                                                                               \
        for (int64_t fg_i = 0; fg_i < fg_n; fg_i++) {                               \
            const double x = (double)fg_A[fg_i];                                    \
            const double y = (VAL);                                                 \
            const double fg_d1 = (D1), fg_d2 = (D2);                                \
            const FG_T *fg_ta = fg_TA + fg_i * fg_pt, *fg_da = fg_DA + fg_i * fg_pt; \
            FG_T *fg_to = fg_TO + fg_i * fg_pt, *fg_do = fg_DO + fg_i * fg_pt;      \
            const double fg_c = (double)fg_CA[fg_i * fg_pc];                        \
            const double fg_d2c = FG_NS(fg_d2, fg_c);                               \
            (void)x;                                                                \
            fg_O[fg_i] = (FG_T)y;                                                   \
            /* read t_q and d_q before writing either: in-place safe */             \
            FG_IVDEP for (int64_t fg_q = 0; fg_q < fg_k; fg_q++) {                  \
                const double fg_t = (double)fg_ta[fg_q], fg_d = (double)fg_da[fg_q]; \
                fg_do[fg_q] = (FG_T)(FG_NS(fg_d1, fg_d) + FG_NS(fg_d2c, fg_t));     \
                fg_to[fg_q] = (FG_T)FG_NS(fg_d1, fg_t);                             \
            }                                                                       \
            fg_CO[fg_i * fg_pc] = (FG_T)FG_NS(fg_d1, fg_c);                         \
        }                                                                           \
    }

/* The second-order terms, one NaN-safe product each, with the partial and
 * the element's e2 part multiplied first (they do not depend on q):
 *   d' = f_a da + f_b db + (f_aa ca) ta + (f_ab cb) ta + (f_ab ca) tb
 *        + (f_bb cb) tb */
#define FG_E_HYPER2_LOOP(HA, HB, VAL, DA, DB, DAA, DAB, DBB)                        \
    for (int64_t fg_i = 0; fg_i < fg_n; fg_i++) {                                   \
        const double a = (double)fg_A[fg_i * fg_sa], b = (double)fg_B[fg_i * fg_sb]; \
        const double y = (VAL);                                                     \
        const double fg_pa = (HA) ? (DA) : 0.0, fg_pb = (HB) ? (DB) : 0.0;          \
        const double fg_ca = (HA) ? (double)fg_CA[fg_i * fg_sa * fg_pc] : 0.0;      \
        const double fg_cb = (HB) ? (double)fg_CB[fg_i * fg_sb * fg_pc] : 0.0;      \
        const double fg_saa = (HA) ? (DAA) : 0.0, fg_sbb = (HB) ? (DBB) : 0.0;      \
        const double fg_sab = (HA) && (HB) ? (DAB) : 0.0;                           \
        const double fg_paa = FG_NS(fg_saa, fg_ca), fg_pbb = FG_NS(fg_sbb, fg_cb);  \
        const double fg_pabc = FG_NS(fg_sab, fg_cb), fg_pbac = FG_NS(fg_sab, fg_ca); \
        const FG_T *fg_ta = (HA) ? fg_TA + fg_i * fg_sa * fg_pt : 0;                \
        const FG_T *fg_da = (HA) ? fg_DA + fg_i * fg_sa * fg_pt : 0;                \
        const FG_T *fg_tb = (HB) ? fg_TB + fg_i * fg_sb * fg_pt : 0;                \
        const FG_T *fg_db = (HB) ? fg_DB + fg_i * fg_sb * fg_pt : 0;                \
        FG_T *fg_to = fg_TO + fg_i * fg_pt, *fg_do = fg_DO + fg_i * fg_pt;          \
        (void)fg_pa; (void)fg_pb; (void)fg_paa; (void)fg_pbb; (void)fg_pabc; (void)fg_pbac; \
        fg_O[fg_i] = (FG_T)y;                                                       \
        FG_IVDEP for (int64_t fg_q = 0; fg_q < fg_k; fg_q++) {                      \
            const double fg_xa = (HA) ? (double)fg_ta[fg_q] : 0.0;                  \
            const double fg_xb = (HB) ? (double)fg_tb[fg_q] : 0.0;                  \
            const double fg_e = FG_E_ADD(HA, HB,                                    \
                (HA) ? FG_NS(fg_pa, (double)fg_da[fg_q]) + FG_NS(fg_paa, fg_xa) : 0.0, \
                (HB) ? FG_NS(fg_pb, (double)fg_db[fg_q]) + FG_NS(fg_pbb, fg_xb) : 0.0); \
            fg_do[fg_q] = (FG_T)((HA) && (HB)                                       \
                ? fg_e + (FG_NS(fg_pabc, fg_xa) + FG_NS(fg_pbac, fg_xb)) : fg_e);   \
            fg_to[fg_q] = (FG_T)FG_E_ADD(HA, HB, (HA) ? FG_NS(fg_pa, fg_xa) : 0.0,  \
                                         (HB) ? FG_NS(fg_pb, fg_xb) : 0.0);         \
        }                                                                           \
        fg_CO[fg_i * fg_pc] = (FG_T)FG_E_ADD(HA, HB, (HA) ? FG_NS(fg_pa, fg_ca) : 0.0, \
                                             (HB) ? FG_NS(fg_pb, fg_cb) : 0.0);     \
    }

#define FG_OP_BINARY(CODE, NAME, MOD, DOM_A, DOM_B, VAL, DA, DB, DAA, DAB, DBB)     \
    FG_E_KERNEL FG_E_FN(hyper2, NAME)(const FG_T *fg_A, const FG_T *fg_TA,          \
                                      const FG_T *fg_CA, const FG_T *fg_DA,         \
                                      int64_t fg_sa, const FG_T *fg_B,              \
                                      const FG_T *fg_TB, const FG_T *fg_CB,         \
                                      const FG_T *fg_DB, int64_t fg_sb,             \
                                      FG_T *fg_O, FG_T *fg_TO, FG_T *fg_CO,         \
                                      FG_T *fg_DO, int64_t fg_n, int64_t fg_k,      \
                                      int64_t fg_pt, int64_t fg_pc)                 \
    {                                                                               \
        if (fg_TA && fg_TB) { FG_E_HYPER2_LOOP(1, 1, VAL, DA, DB, DAA, DAB, DBB) }  \
        else if (fg_TA) { FG_E_HYPER2_LOOP(1, 0, VAL, DA, DB, DAA, DAB, DBB) }      \
        else if (fg_TB) { FG_E_HYPER2_LOOP(0, 1, VAL, DA, DB, DAA, DAB, DBB) }      \
        else {                                                                      \
            FG_E_DUAL2_LOOP(0, 0, 0, VAL, DA, DB)                                   \
            if (fg_TO)                                                              \
                for (int64_t fg_i = 0; fg_i < fg_n; fg_i++) {                       \
                    for (int64_t fg_q = 0; fg_q < fg_k; fg_q++)                     \
                        fg_TO[fg_i * fg_pt + fg_q] = fg_DO[fg_i * fg_pt + fg_q] = 0; \
                    fg_CO[fg_i * fg_pc] = 0;                                        \
                }                                                                   \
        }                                                                           \
    }
#include "fg_ops.def"
#undef FG_OP_UNARY
#undef FG_OP_BINARY

/* ---------------------------------------------------- the forward tables */

#define FG_OP_UNARY(CODE, NAME, MOD, DOM, VAL, D1, D2) [CODE] = FG_E_FN(dual1, NAME),
const FG_E_FNTYPE(dual1) FG_E_TABLE(dual1)[FG_OP_COUNT] = {
#include "fg_ops.def"
};
#undef FG_OP_UNARY
#define FG_OP_UNARY(CODE, NAME, MOD, DOM, VAL, D1, D2) [CODE] = FG_E_FN(hyper1, NAME),
const FG_E_FNTYPE(hyper1) FG_E_TABLE(hyper1)[FG_OP_COUNT] = {
#include "fg_ops.def"
};
#undef FG_OP_UNARY
#define FG_OP_BINARY(CODE, NAME, MOD, DOM_A, DOM_B, VAL, DA, DB, DAA, DAB, DBB)     \
    [CODE] = FG_E_FN(dual2, NAME),
const FG_E_FNTYPE(dual2) FG_E_TABLE(dual2)[FG_OP_COUNT] = {
#include "fg_ops.def"
};
#undef FG_OP_BINARY
#define FG_OP_BINARY(CODE, NAME, MOD, DOM_A, DOM_B, VAL, DA, DB, DAA, DAB, DBB)     \
    [CODE] = FG_E_FN(hyper2, NAME),
const FG_E_FNTYPE(hyper2) FG_E_TABLE(hyper2)[FG_OP_COUNT] = {
#include "fg_ops.def"
};
#undef FG_OP_BINARY

#ifdef FG_ELEM_TAPE_MODES

/* ----------------------------------------------------------------- value */

#define FG_OP_UNARY(CODE, NAME, MOD, DOM, VAL, D1, D2)                              \
    FG_E_KERNEL FG_E_FN(value1, NAME)(const double *FG_RESTRICT fg_A,               \
                                      double *FG_RESTRICT fg_O, int64_t fg_n)       \
    {                                                                               \
        for (int64_t fg_i = 0; fg_i < fg_n; fg_i++) {                               \
            const double x = fg_A[fg_i];                                            \
            fg_O[fg_i] = (VAL);                                                     \
        }                                                                           \
    }

/* One loop per stride pattern: the contiguous one vectorizes. */
#define FG_E_VALUE2_LOOP(SA, SB, EXPR)                                              \
    for (int64_t fg_i = 0; fg_i < fg_n; fg_i++) {                                   \
        const double a = fg_A[fg_i * (SA)], b = fg_B[fg_i * (SB)];                  \
        fg_O[fg_i] = (EXPR);                                                        \
    }
#define FG_E_VALUE2(NAME, EXPR)                                                     \
    FG_E_KERNEL FG_E_FN(value2, NAME)(const double *FG_RESTRICT fg_A,               \
                                      int64_t fg_sa,                                \
                                      const double *FG_RESTRICT fg_B,               \
                                      int64_t fg_sb, double *FG_RESTRICT fg_O,      \
                                      int64_t fg_n)                                 \
    {                                                                               \
        if (fg_sa && fg_sb) { FG_E_VALUE2_LOOP(1, 1, EXPR) }                        \
        else if (fg_sb) { FG_E_VALUE2_LOOP(0, 1, EXPR) }                            \
        else if (fg_sa) { FG_E_VALUE2_LOOP(1, 0, EXPR) }                            \
        else { FG_E_VALUE2_LOOP(0, 0, EXPR) }                                       \
    }
#define FG_OP_BINARY(CODE, NAME, MOD, DOM_A, DOM_B, VAL, DA, DB, DAA, DAB, DBB)     \
    FG_E_VALUE2(NAME, (VAL))
#define FG_OP_COMPARE(CODE, NAME, MOD, VAL) FG_E_VALUE2(NAME, ((VAL) ? 1.0 : 0.0))
#include "fg_ops.def"
#undef FG_OP_UNARY
#undef FG_OP_BINARY
#undef FG_OP_COMPARE

/* --------------------------------------------------------------- adjoint */

/* Two kernels per row: adjoint, whose products are NaN-safe (FG_NS), and
 * adjoint_plain, whose products are plain (MUL is the product). The reverse
 * sweep runs the plain ones and falls back to the NaN-safe ones only when
 * the gradient comes out with a NaN (fg_tape_reverse.c says why the two then
 * agree bit for bit): the hot pass pays no per-element test. */
#define FG_E_PLAIN(p, t) ((p) * (t))

#define FG_E_ADJOINT1(MODE, MUL, NAME, D1)                                          \
    FG_E_KERNEL FG_E_FN(MODE, NAME)(const double *FG_RESTRICT fg_A,                 \
                                    const double *FG_RESTRICT fg_O,                 \
                                    const double *FG_RESTRICT fg_GO,                \
                                    double *FG_RESTRICT fg_GA, int64_t fg_n,        \
                                    int fg_za)                                      \
    {                                                                               \
        for (int64_t fg_i = 0; fg_i < fg_n; fg_i++) {                               \
            const double x = fg_A[fg_i], y = fg_O[fg_i];                            \
            const double fg_p = (D1);                                               \
            (void)x; (void)y;                                                       \
            fg_GA[fg_i] = (fg_za ? 0.0 : fg_GA[fg_i]) + MUL(fg_p, fg_GO[fg_i]);     \
        }                                                                           \
    }

/* SA, SB literal strides where the loop should vectorize, fg_sa / fg_sb
 * otherwise. GA may be GB (x * x): plain pointers, and a's term is stored
 * before b's is read. A broadcast operand is read once, before the loop:
 * the stores into GA or GB could alias it for all the compiler knows. */
#define FG_E_ADJOINT2_LOOP(HA, HB, SA, SB, DA, DB, MUL)                             \
    for (int64_t fg_i = 0; fg_i < fg_n; fg_i++) {                                   \
        const double a = (SA) ? fg_A[fg_i * (SA)] : fg_a0;                          \
        const double b = (SB) ? fg_B[fg_i * (SB)] : fg_b0, y = fg_O[fg_i];          \
        const double fg_g = fg_GO[fg_i];                                            \
        (void)a; (void)b; (void)y;                                                  \
        if (HA) {                                                                   \
            const double fg_pa = (DA);                                              \
            fg_GA[fg_i * (SA)] = (fg_za ? 0.0 : fg_GA[fg_i * (SA)]) + MUL(fg_pa, fg_g); \
        }                                                                           \
        if (HB) {                                                                   \
            const double fg_pb = (DB);                                              \
            fg_GB[fg_i * (SB)] = (fg_zb ? 0.0 : fg_GB[fg_i * (SB)]) + MUL(fg_pb, fg_g); \
        }                                                                           \
    }

#define FG_E_ADJOINT2(MODE, MUL, NAME, DA, DB)                                      \
    FG_E_KERNEL FG_E_FN(MODE, NAME)(const double *fg_A, double *fg_GA,              \
                                    int64_t fg_sa, const double *fg_B,              \
                                    double *fg_GB, int64_t fg_sb,                   \
                                    const double *FG_RESTRICT fg_O,                 \
                                    const double *FG_RESTRICT fg_GO,                \
                                    int64_t fg_n, int fg_za, int fg_zb)             \
    {                                                                               \
        if (fg_n <= 0) return;                                                      \
        const double fg_a0 = fg_A[0], fg_b0 = fg_B[0];                              \
        if (fg_GA && fg_GB) {                                                       \
            if (fg_sa && fg_sb) { FG_E_ADJOINT2_LOOP(1, 1, 1, 1, DA, DB, MUL) }     \
            else { FG_E_ADJOINT2_LOOP(1, 1, fg_sa, fg_sb, DA, DB, MUL) }            \
        } else if (fg_GA) {                                                         \
            if (fg_sa && fg_sb) { FG_E_ADJOINT2_LOOP(1, 0, 1, 1, DA, DB, MUL) }     \
            else if (fg_sa) { FG_E_ADJOINT2_LOOP(1, 0, 1, 0, DA, DB, MUL) }         \
            else { FG_E_ADJOINT2_LOOP(1, 0, fg_sa, fg_sb, DA, DB, MUL) }            \
        } else if (fg_GB) {                                                         \
            if (fg_sa && fg_sb) { FG_E_ADJOINT2_LOOP(0, 1, 1, 1, DA, DB, MUL) }     \
            else if (fg_sb) { FG_E_ADJOINT2_LOOP(0, 1, 0, 1, DA, DB, MUL) }         \
            else { FG_E_ADJOINT2_LOOP(0, 1, fg_sa, fg_sb, DA, DB, MUL) }            \
        }                                                                           \
    }

#define FG_OP_UNARY(CODE, NAME, MOD, DOM, VAL, D1, D2)                              \
    FG_E_ADJOINT1(adjoint1, FG_NS, NAME, D1)                                        \
    FG_E_ADJOINT1(adjoint1_plain, FG_E_PLAIN, NAME, D1)
#define FG_OP_BINARY(CODE, NAME, MOD, DOM_A, DOM_B, VAL, DA, DB, DAA, DAB, DBB)     \
    FG_E_ADJOINT2(adjoint2, FG_NS, NAME, DA, DB)                                    \
    FG_E_ADJOINT2(adjoint2_plain, FG_E_PLAIN, NAME, DA, DB)
#include "fg_ops.def"
#undef FG_OP_UNARY
#undef FG_OP_BINARY

/* -------------------------------------------------- forward over reverse */

#define FG_E_ADJDUAL1_LOOP(K, D1, D2)                                               \
    for (int64_t fg_i = 0; fg_i < fg_n; fg_i++) {                                   \
        const double x = fg_A[fg_i], y = fg_O[fg_i];                                \
        const double fg_d1 = (D1), fg_d2 = (D2), fg_g = fg_GO[fg_i];                \
        const double fg_d2g = FG_NS(fg_d2, fg_g);                                   \
        const double *fg_ta = fg_TA + fg_i * (K), *fg_tgo = fg_TGO + fg_i * (K);    \
        double *fg_tga = fg_TGA + fg_i * (K);                                       \
        (void)x; (void)y;                                                           \
        fg_GA[fg_i] += FG_NS(fg_d1, fg_g);                                          \
        for (int64_t fg_q = 0; fg_q < (K); fg_q++)                                  \
            fg_tga[fg_q] += FG_NS(fg_d1, fg_tgo[fg_q]) + FG_NS(fg_d2g, fg_ta[fg_q]); \
    }

#define FG_OP_UNARY(CODE, NAME, MOD, DOM, VAL, D1, D2)                              \
    FG_E_KERNEL FG_E_FN(adjdual1, NAME)(const double *fg_A, const double *fg_TA,    \
                                        const double *fg_O, const double *fg_GO,    \
                                        const double *fg_TGO, double *fg_GA,        \
                                        double *fg_TGA, int64_t fg_n,               \
                                        int64_t fg_k)                               \
    {                                                                               \
        if (fg_k == 1) { FG_E_ADJDUAL1_LOOP(1, D1, D2) }                            \
        else { FG_E_ADJDUAL1_LOOP(fg_k, D1, D2) }                                   \
    }

/* Broadcast operands (stride 0) accumulate into their one element. */
#define FG_E_ADJDUAL2_LOOP(HA, HB, K, DA, DB, DAA, DAB, DBB)                        \
    for (int64_t fg_i = 0; fg_i < fg_n; fg_i++) {                                   \
        const double a = fg_A[fg_i * fg_sa], b = fg_B[fg_i * fg_sb], y = fg_O[fg_i]; \
        const double fg_g = fg_GO[fg_i];                                            \
        const double fg_pa = (HA) ? (DA) : 0.0, fg_pb = (HB) ? (DB) : 0.0;          \
        const double fg_saa = (HA) ? (DAA) : 0.0, fg_sbb = (HB) ? (DBB) : 0.0;      \
        const double fg_sab = (HA) && (HB) ? (DAB) : 0.0;                           \
        const double fg_paa = FG_NS(fg_saa, fg_g), fg_pbb = FG_NS(fg_sbb, fg_g);    \
        const double fg_pab = FG_NS(fg_sab, fg_g);                                  \
        const double *fg_ta = (HA) ? fg_TA + fg_i * fg_sa * (K) : 0;                \
        const double *fg_tb = (HB) ? fg_TB + fg_i * fg_sb * (K) : 0;                \
        double *fg_tga = (HA) ? fg_TGA + fg_i * fg_sa * (K) : 0;                    \
        double *fg_tgb = (HB) ? fg_TGB + fg_i * fg_sb * (K) : 0;                    \
        const double *fg_tgo = fg_TGO + fg_i * (K);                                 \
        (void)a; (void)b; (void)y; (void)fg_pab;                                    \
        if (HA) fg_GA[fg_i * fg_sa] += FG_NS(fg_pa, fg_g);                          \
        if (HB) fg_GB[fg_i * fg_sb] += FG_NS(fg_pb, fg_g);                          \
        for (int64_t fg_q = 0; fg_q < (K); fg_q++) {                                \
            const double fg_xa = (HA) ? fg_ta[fg_q] : 0.0;                          \
            const double fg_xb = (HB) ? fg_tb[fg_q] : 0.0;                          \
            const double fg_u = fg_tgo[fg_q];                                       \
            if (HA)                                                                 \
                fg_tga[fg_q] += FG_NS(fg_pa, fg_u) + FG_E_ADD(1, HB,                \
                    FG_NS(fg_paa, fg_xa), FG_NS(fg_pab, fg_xb));                    \
            if (HB)                                                                 \
                fg_tgb[fg_q] += FG_NS(fg_pb, fg_u) + FG_E_ADD(HA, 1,                \
                    FG_NS(fg_pab, fg_xa), FG_NS(fg_pbb, fg_xb));                    \
        }                                                                           \
    }
#define FG_E_ADJDUAL2_PATTERN(HA, HB, DA, DB, DAA, DAB, DBB)                        \
    if (fg_k == 1) { FG_E_ADJDUAL2_LOOP(HA, HB, 1, DA, DB, DAA, DAB, DBB) }         \
    else { FG_E_ADJDUAL2_LOOP(HA, HB, fg_k, DA, DB, DAA, DAB, DBB) }

#define FG_OP_BINARY(CODE, NAME, MOD, DOM_A, DOM_B, VAL, DA, DB, DAA, DAB, DBB)     \
    FG_E_KERNEL FG_E_FN(adjdual2, NAME)(const double *fg_A, const double *fg_TA,    \
                                        double *fg_GA, double *fg_TGA,              \
                                        int64_t fg_sa, const double *fg_B,          \
                                        const double *fg_TB, double *fg_GB,         \
                                        double *fg_TGB, int64_t fg_sb,              \
                                        const double *fg_O, const double *fg_GO,    \
                                        const double *fg_TGO, int64_t fg_n,         \
                                        int64_t fg_k)                               \
    {                                                                               \
        if (fg_GA && fg_GB) { FG_E_ADJDUAL2_PATTERN(1, 1, DA, DB, DAA, DAB, DBB) }  \
        else if (fg_GA) { FG_E_ADJDUAL2_PATTERN(1, 0, DA, DB, DAA, DAB, DBB) }      \
        else if (fg_GB) { FG_E_ADJDUAL2_PATTERN(0, 1, DA, DB, DAA, DAB, DBB) }      \
    }
#include "fg_ops.def"
#undef FG_OP_UNARY
#undef FG_OP_BINARY

/* ------------------------------------------------------- the tape tables */

#define FG_OP_UNARY(CODE, NAME, MOD, DOM, VAL, D1, D2) [CODE] = FG_E_FN(value1, NAME),
const fg_elem_value1_fn fg_elem_value1[FG_OP_COUNT] = {
#include "fg_ops.def"
};
#undef FG_OP_UNARY
#define FG_OP_UNARY(CODE, NAME, MOD, DOM, VAL, D1, D2)                              \
    [0][CODE] = FG_E_FN(adjoint1_plain, NAME), [1][CODE] = FG_E_FN(adjoint1, NAME),
const fg_elem_adjoint1_fn fg_elem_adjoint1[2][FG_OP_COUNT] = {
#include "fg_ops.def"
};
#undef FG_OP_UNARY
#define FG_OP_UNARY(CODE, NAME, MOD, DOM, VAL, D1, D2) [CODE] = FG_E_FN(adjdual1, NAME),
const fg_elem_adjdual1_fn fg_elem_adjdual1[FG_OP_COUNT] = {
#include "fg_ops.def"
};
#undef FG_OP_UNARY
#define FG_OP_BINARY(CODE, NAME, MOD, DOM_A, DOM_B, VAL, DA, DB, DAA, DAB, DBB)     \
    [CODE] = FG_E_FN(value2, NAME),
#define FG_OP_COMPARE(CODE, NAME, MOD, VAL) [CODE] = FG_E_FN(value2, NAME),
const fg_elem_value2_fn fg_elem_value2[FG_OP_COUNT] = {
#include "fg_ops.def"
};
#undef FG_OP_BINARY
#undef FG_OP_COMPARE
#define FG_OP_BINARY(CODE, NAME, MOD, DOM_A, DOM_B, VAL, DA, DB, DAA, DAB, DBB)     \
    [0][CODE] = FG_E_FN(adjoint2_plain, NAME), [1][CODE] = FG_E_FN(adjoint2, NAME),
const fg_elem_adjoint2_fn fg_elem_adjoint2[2][FG_OP_COUNT] = {
#include "fg_ops.def"
};
#undef FG_OP_BINARY
#define FG_OP_BINARY(CODE, NAME, MOD, DOM_A, DOM_B, VAL, DA, DB, DAA, DAB, DBB)     \
    [CODE] = FG_E_FN(adjdual2, NAME),
const fg_elem_adjdual2_fn fg_elem_adjdual2[FG_OP_COUNT] = {
#include "fg_ops.def"
};
#undef FG_OP_BINARY

#undef FG_E_VALUE2_LOOP
#undef FG_E_VALUE2
#undef FG_E_ADJOINT2_LOOP
#undef FG_E_ADJOINT1
#undef FG_E_ADJOINT2
#undef FG_E_PLAIN
#undef FG_E_ADJDUAL1_LOOP
#undef FG_E_ADJDUAL2_LOOP
#undef FG_E_ADJDUAL2_PATTERN
#endif /* FG_ELEM_TAPE_MODES */

#undef FG_E_DUAL1_LOOP
#undef FG_E_DUAL2_LOOP
#undef FG_E_DUAL2_PATTERN
#undef FG_E_HYPER2_LOOP
#undef FG_E_ADD
#undef FG_E_FNTYPE
#undef FG_E_KERNEL
#undef FG_E_CAT2
#undef FG_E_CAT2_
#undef FG_E_TABLE
#undef FG_E_FN
#undef FG_E_CAT
#undef FG_E_CAT_
