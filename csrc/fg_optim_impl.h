/* fg_optim_impl.h: what every csrc/fg_optim_<name>.c shares. Private.
 *
 * An optimizer file has two halves: the dtype-free half (hyperparameter and
 * state rows, the coefficient struct, prepare, the descriptor) and the step
 * body, written once in terms of
 *     FG_T       double / float
 *     FG_UINT    uint64_t / uint32_t (an unsigned integer of FG_T's size)
 *     FG_FMA, FG_SQRT, FG_FABS   fma / fmaf, sqrt / sqrtf, fabs / fabsf
 *     FG_NAME(x) x_f64 / x_f32
 * The file names itself in FG_OPTIM_FILE and includes fg_optim_dtypes.h,
 * which includes the file again once per dtype with these defined; the
 * file's `#ifdef FG_T` tells the two passes apart. The macros below write
 * what is the same in every file, so that a file holds only what is its
 * own: the rows, <base>_set (the coefficients from checked
 * hyperparameters) with FG_PREPARE around it, FG_OPTIMIZER_DEFINE for the
 * descriptor, and in the dtype pass FG_STEP_BODY followed by the body.
 *
 * Scalars are read from the coefficient struct (computed in double) and cast
 * to FG_T once per call, the way ATen casts a Python float to the tensor's
 * dtype. Each body is an always-inline function whose option flags are
 * compile-time constants at every call site: the loop function's switch
 * instantiates one straight-line, vectorizable loop per option pattern
 * (with runtime flags inside the loop gcc vectorizes only some versions).
 */
#ifndef FASTGRAD_OPTIM_IMPL_H
#define FASTGRAD_OPTIM_IMPL_H

#include <math.h>
#include <string.h>
#include "fg_config.h"
#include "fg_optimizer.h"

#define FG_CAT2(a, b) a##_##b
#define FG_CAT(a, b) FG_CAT2(a, b)
#define FG_NAME(base) FG_CAT(base, FG_SUFFIX)

/* ATen's lerp(start, end, w): two branches keep it exact at both ends. */
#define FG_LERP(start, end, w, one_minus_w, small_w) \
    ((small_w) ? FG_FMA((w), (end) - (start), (start)) \
               : FG_FMA(-((end) - (start)), (one_minus_w), (end)))

/* torch.maximum: the larger value, NaN when either is NaN (a plain
 * a > b ? a : b would let a NaN in a turn into b). */
#define FG_MAX_NAN(a, b) (((a) > (b) || (a) != (a)) ? (a) : (b))

/* Every body runs in place (oop == 0: reads and writes p) or out of place
 * (oop == 1: reads src, writes p). Out of place it also ORs the bits of
 * p - p into `bad` (+0, all bits zero, exactly when p is finite; integer
 * work in lanes as wide as FG_T, which vectorizes without repacking: an
 * int OR of comparisons measured 30% slower). */
#define FG_PARAM_IN(i) (oop ? src[i] : p[i])
#define FG_PARAM_OUT(i, value)                                                 \
    do {                                                                       \
        const FG_T pn_ = (value);                                              \
        p[i] = pn_;                                                            \
        if (oop) {                                                             \
            const FG_T d_ = pn_ - pn_;                                         \
            FG_UINT bits_;                                                     \
            memcpy(&bits_, &d_, sizeof bits_);                                 \
            bad |= bits_;                                                      \
        }                                                                      \
    } while (0)

/* The status of a step from its loop's bits (nonzero: a new parameter is
 * NaN or infinite, which only the out-of-place loop reports). */
#define FG_STEP_STATUS(bits) ((bits) ? FG_ERR_NONFINITE : FG_OK)

/* 1 when FG_LERP's weight w takes its first branch (|w| < 1/2). */
static inline int fg_small_w(double w)
{
    return (w < 0 ? -w : w) < 0.5;
}

/* The leading parameters of every body and loop: where the parameters are
 * read (src, or p itself when src is NULL: FG_PARAM_IN) and written (p),
 * and the gradient. */
#define FG_BODY_ARGS const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p, const FG_T *FG_RESTRICT g

/* The scalars every body starts from: sign (-1 when maximizing) and the
 * weight decay wd, cast to FG_T. */
#define FG_SIGN_AND_WD                                                         \
    const FG_T sign = c->maximize ? (FG_T)-1 : (FG_T)1, wd = (FG_T)c->weight_decay

/* Element i's gradient as the update sees it: negated when maximizing, plus
 * wd*pi (L2 weight decay, torch's g + wd*p as one fma) when l2 is set. */
#define FG_GRAD_IN(i, pi, l2) ((l2) ? FG_FMA((pi), wd, sign * g[i]) : sign * g[i])

/* The start of element i in the Adam family (Adam, AdamW, NAdam): the
 * parameter pi (times decay, 1 - lr*wd, when wd_mode is 2, decoupled), the
 * gradient gi (with L2 weight decay when wd_mode is 1), then the moments
 *     m <- lerp(m, g, 1 - beta1),   v <- fma(g, g*(1 - beta2), v*beta2)
 * stored and left in mi, vi. Reads the body's decay, w, omw, small_w,
 * beta2, omb2 and the state buffers m, v. */
#define FG_ADAM_MOMENTS(i, wd_mode)                                            \
    FG_T pi = FG_PARAM_IN(i);                                                  \
    if ((wd_mode) == 2) pi = pi * decay;                                       \
    const FG_T gi = FG_GRAD_IN(i, pi, (wd_mode) == 1);                         \
    const FG_T mi = FG_LERP(m[i], gi, w, omw, small_w);                        \
    const FG_T vi = FG_FMA(gi, gi * omb2, v[i] * beta2);                       \
    m[i] = mi;                                                                 \
    v[i] = vi

/* The arguments every step function receives (see fg_optimizer.h). */
#define FG_STEP_ARGS                                                           \
    const FG_T *src, FG_T *param, const FG_T *grad, FG_T *const *state, size_t n, \
        const void *coeffs

/* True when the state array is given and the parameter and gradient
 * pointers are usable for n elements. */
#define FG_STEP_ARRAYS_OK() (state && (n == 0 || (param && grad)))

/* The cases k .. k + N - 1 of a loop's switch over option patterns, each
 * returning BODY(src, p, g, <state buffers S>, n, c, key, oop) with the key
 * a constant, so that every case inlines its own loop (S: the buffers'
 * names, parenthesized). FG_KEYS_<N> for the counts in use. */
#define FG_KEYS_1(BODY, S, o, k) case k: return BODY(src, p, g, FG_UNPAREN S, n, c, k, o);
#define FG_KEYS_2(BODY, S, o, k) FG_KEYS_1(BODY, S, o, k) FG_KEYS_1(BODY, S, o, (k) + 1)
#define FG_KEYS_4(BODY, S, o, k) FG_KEYS_2(BODY, S, o, k) FG_KEYS_2(BODY, S, o, (k) + 2)
#define FG_KEYS_8(BODY, S, o, k) FG_KEYS_4(BODY, S, o, k) FG_KEYS_4(BODY, S, o, (k) + 4)
#define FG_KEYS_16(BODY, S, o, k) FG_KEYS_8(BODY, S, o, k) FG_KEYS_8(BODY, S, o, (k) + 8)
#define FG_KEYS_6(BODY, S, o, k) FG_KEYS_4(BODY, S, o, k) FG_KEYS_2(BODY, S, o, (k) + 4)
#define FG_KEYS_10(BODY, S, o, k) FG_KEYS_8(BODY, S, o, k) FG_KEYS_2(BODY, S, o, (k) + 8)
#define FG_KEYS_12(BODY, S, o, k) FG_KEYS_8(BODY, S, o, k) FG_KEYS_4(BODY, S, o, (k) + 8)

/* The loop and step functions of optimizer <base>, then the head of its
 * body, which the file's block completes:
 *     FG_STEP_BODY(base, NSTATE, STATE, NAMES, NKEYS, KEY, missing)
 *     { ... update n elements ... }
 * The body <base>_body(src, p, g, <state buffers>, n, c, key, oop) runs
 * option pattern key in place (oop 0) or out of place (oop 1), both
 * constants at every call, and returns the OR of FG_PARAM_OUT's bits. The
 * loop <base>_loop (vector clones) computes the pattern KEY, an expression
 * of c in [0, NKEYS), and switches to the body's instance for it; the step
 * <base>_step refuses NULL coefficients or arrays, then runs the loop over
 * state[0], state[1], ...
 *   STATE    the NSTATE state buffers as restrict parameters,
 *            parenthesized, in the descriptor's order; NAMES their names
 *   missing  true when a buffer the coefficients need is NULL (n > 0)   */
#define FG_STEP_BODY(base, NSTATE, STATE, NAMES, NKEYS, KEY, missing)          \
    FG_INLINE FG_UINT FG_NAME(base##_body)(FG_BODY_ARGS, FG_UNPAREN STATE, size_t n, \
                                           const base##_coeffs *c, const int key, \
                                           const int oop);                     \
    FG_VECTOR_CLONES static FG_UINT FG_NAME(base##_loop)(                      \
        FG_BODY_ARGS, FG_UNPAREN STATE, size_t n, const base##_coeffs *c)      \
    {                                                                          \
        const int key_ = (KEY);                                                \
        if (src) {                                                             \
            switch (key_) {                                                    \
            default: FG_KEYS_##NKEYS(FG_NAME(base##_body), NAMES, 1, 0)         \
            }                                                                  \
        }                                                                      \
        switch (key_) {                                                        \
        default: FG_KEYS_##NKEYS(FG_NAME(base##_body), NAMES, 0, 0)             \
        }                                                                      \
    }                                                                          \
    static fg_status FG_NAME(base##_step)(FG_STEP_ARGS)                        \
    {                                                                          \
        const base##_coeffs *c = coeffs;                                       \
        (void)sizeof(char[FG_COUNT(base##_state) == NSTATE ? 1 : -1]);         \
        if (!c || !FG_STEP_ARRAYS_OK() || (n && (missing))) return FG_ERR_ARG; \
        return FG_STEP_STATUS(                                                 \
            FG_NAME(base##_loop)(src, param, grad, FG_STATE_##NSTATE, n, c));  \
    }                                                                          \
    FG_INLINE FG_UINT FG_NAME(base##_body)(FG_BODY_ARGS, FG_UNPAREN STATE, size_t n, \
                                           const base##_coeffs *c, const int key, \
                                           const int oop)
/* The first NSTATE entries of a step's state array, as arguments. */
#define FG_STATE_1 state[0]
#define FG_STATE_2 state[0], state[1]
#define FG_STATE_3 state[0], state[1], state[2]

/* <base>_prepare, the descriptor's prepare: refuses NULL coefficients,
 * NULL scalars when the optimizer keeps scalar state, and whatever
 * fg_optimizer_check refuses for fg_optimizer_<base>; then fills the
 * coefficients with the file's <base>_set(c, h, lr, step, scalars). And
 * <base>_fill, the descriptor's fill: <base>_set alone. */
#define FG_PREPARE(base)                                                       \
    static fg_status base##_prepare(void *coeffs, const double *h, double lr, int64_t step, \
                                    double *scalars)                           \
    {                                                                          \
        if (!coeffs || (!scalars && fg_optimizer_##base.n_scalar)              \
            || fg_optimizer_check(&fg_optimizer_##base, h, lr, step, NULL) != FG_OK) \
            return FG_ERR_ARG;                                                 \
        base##_set(coeffs, h, lr, step, scalars);                              \
        return FG_OK;                                                          \
    }                                                                          \
    static fg_status base##_fill(void *coeffs, const double *h, double lr, int64_t step, \
                                 double *scalars)                              \
    {                                                                          \
        base##_set(coeffs, h, lr, step, scalars);                              \
        return FG_OK;                                                          \
    }

/* The typed entry points of fg_optim.h (the original four optimizers) over
 * a descriptor's step <base>_step: fg_<base>_step_<dtype> in place and
 * fg_<base>_step_out_<dtype> out of place. PARAMS are the state buffers as
 * parameters and ARGS the same names, both parenthesized, in the
 * descriptor's order. */
#define FG_UNPAREN(...) __VA_ARGS__
#define FG_TYPED_STEPS(base, coeffs_type, PARAMS, ARGS)                        \
    fg_status FG_NAME(fg_##base##_step)(FG_T *param, const FG_T *grad,         \
                                        FG_UNPAREN PARAMS, size_t n,           \
                                        const coeffs_type *c)                  \
    {                                                                          \
        FG_T *state[] = {FG_UNPAREN ARGS};                                     \
        return FG_NAME(base##_step)(NULL, param, grad, state, n, c);           \
    }                                                                          \
    fg_status FG_NAME(fg_##base##_step_out)(const FG_T *param, FG_T *param_out, \
                                            const FG_T *grad, FG_UNPAREN PARAMS, \
                                            size_t n, const coeffs_type *c)    \
    {                                                                          \
        FG_T *state[] = {FG_UNPAREN ARGS};                                     \
        if (n && !param) return FG_ERR_ARG;   /* src NULL would mean in place */ \
        return FG_NAME(base##_step)(param, param_out, grad, state, n, c);      \
    }

/* The number of rows of a table. */
#define FG_COUNT(rows) ((int)(sizeof(rows) / sizeof((rows)[0])))

/* Refuses to compile an optimizer file whose descriptor breaks the bounds
 * drivers rely on (fg_optimizer.h: hyperparameters, state pointers, scalar
 * state and coefficients fit on the stack). The file names its rows
 * <base>_hyper, <base>_state, its struct <base>_coeffs and N_HYPER. */
#define FG_OPTIM_FITS(base, n_scalar)                                          \
    typedef char fg_optim_fits_[(sizeof(base##_coeffs) <= FG_OPTIM_COEFFS_BYTES \
                                 && N_HYPER <= FG_OPTIM_MAX_HYPER              \
                                 && FG_COUNT(base##_state) <= FG_OPTIM_MAX_STATE \
                                 && (n_scalar) <= FG_OPTIM_MAX_SCALAR) ? 1 : -1]

/* The fields of a descriptor every optimizer file fills the same way, from
 * its names (see FG_OPTIM_FITS) and its functions <base>_prepare,
 * <base>_step_f64 and <base>_step_f32. */
#define FG_OPTIM_ROW(base, id, KIND, lr, hyper_rows)                           \
    .name = id, .kind = FG_OPTIM_##KIND, .lr_default = lr, .n_hyper = N_HYPER, \
    .hyper = hyper_rows, .n_state = FG_COUNT(base##_state), .state = base##_state, \
    .coeffs_size = sizeof(base##_coeffs), .prepare = base##_prepare,           \
    .fill = base##_fill, .step_f64 = base##_step_f64, .step_f32 = base##_step_f32

/* The descriptor fg_optimizer_<base> of a file with one optimizer, named
 * "<base>", with hyperparameter rows <base>_hyper and n_scalar scalar
 * state values, refused at compile time unless it fits (FG_OPTIM_FITS);
 * the other fields it sets (scalar state, check, ...) follow as
 * designated initializers. */
#define FG_OPTIMIZER_DEFINE(base, KIND, lr, n_scalar, ...)                     \
    FG_OPTIM_FITS(base, n_scalar);                                             \
    const fg_optimizer fg_optimizer_##base = {                                 \
        FG_OPTIM_ROW(base, #base, KIND, lr, base##_hyper), __VA_ARGS__}

#endif /* FASTGRAD_OPTIM_IMPL_H */
