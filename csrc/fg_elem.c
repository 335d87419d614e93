/* fg_elem.c: instantiates the elementwise kernel generator fg_elem_body.h
 * (every mode, generated from fg_ops.def; see fg_elem.h) for float64, with
 * the tape's modes, and for float32 (DualArray's dual and hyper-dual). Every
 * kernel is FG_ELEM_HOT (fg_config.h): out of line, built per ISA. */

/* No kernel here reads or raises floating-point exception flags. Without
 * that assumption gcc treats each comparison as a possible trap and will
 * not turn a select (FG_NS, maximum, abs, ...) into branch-free vector
 * code, so those loops would run scalar with a branch per element. Results
 * are unchanged: rounding, NaN and signed-zero semantics stay IEEE. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include <math.h>
#include <string.h>
#include "fg_elem.h"

#define FG_T double
#define FG_SFX f64
#define FG_ELEM_TAPE_MODES
#include "fg_elem_body.h"
#undef FG_ELEM_TAPE_MODES
#undef FG_SFX
#undef FG_T

#define FG_T float
#define FG_SFX f32
#include "fg_elem_body.h"
#undef FG_SFX
#undef FG_T

/* p * 0 is +-0 for a finite p and NaN for inf or NaN: OR-ing the bits of
 * the products sets all exponent bits exactly when one is not finite. One
 * multiply and one integer OR per element, which vectorize (a floating-point
 * accumulation would be one serial chain). */
FG_ELEM_HOT int fg_elem_all_finite(const double *p, int64_t count)
{
    if (!p) return 1;
    const uint64_t exp_bits = 0x7ff0000000000000ULL;
    uint64_t bits = 0;
    for (int64_t i = 0; i < count; i++) {
        const double z = p[i] * 0.0;
        uint64_t u;
        memcpy(&u, &z, sizeof u);
        bits |= u;
    }
    return (bits & exp_bits) != exp_bits;
}
