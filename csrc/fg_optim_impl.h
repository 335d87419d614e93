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

/* The number of rows of a table. */
#define FG_COUNT(rows) ((int)(sizeof(rows) / sizeof((rows)[0])))

/* Refuses to compile a descriptor that breaks the bounds drivers rely on
 * (fg_optimizer.h: hyperparameters and coefficients fit on the stack). */
#define FG_OPTIM_FITS(coeffs_type, n_hyper, n_state, n_scalar)                 \
    typedef char fg_optim_fits_[(sizeof(coeffs_type) <= FG_OPTIM_COEFFS_BYTES  \
                                 && (n_hyper) <= FG_OPTIM_MAX_HYPER            \
                                 && (n_state) <= FG_OPTIM_MAX_STATE            \
                                 && (n_scalar) <= FG_OPTIM_MAX_SCALAR) ? 1 : -1]

#endif /* FASTGRAD_OPTIM_IMPL_H */
