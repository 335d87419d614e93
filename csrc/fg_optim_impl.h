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
 * file's `#ifdef FG_T` tells the two passes apart.
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

/* A loop's switch over option patterns, expanded once in place and once
 * out of place. */
#define FG_BOTH_WAYS(CASES) \
    if (src) { CASES(1) } else { CASES(0) }

/* The status of a step from its loop's bits (nonzero: a new parameter is
 * NaN or infinite, which only the out-of-place loop reports). */
#define FG_STEP_STATUS(bits) ((bits) ? FG_ERR_NONFINITE : FG_OK)

/* The arguments every step function receives (see fg_optimizer.h). */
#define FG_STEP_ARGS                                                           \
    const FG_T *src, FG_T *param, const FG_T *grad, FG_T *const *state, size_t n, \
        const void *coeffs

/* True when the state array is given and the parameter and gradient
 * pointers are usable for n elements. */
#define FG_STEP_ARRAYS_OK() (state && (n == 0 || (param && grad)))

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
    .step_f64 = base##_step_f64, .step_f32 = base##_step_f32

#endif /* FASTGRAD_OPTIM_IMPL_H */
