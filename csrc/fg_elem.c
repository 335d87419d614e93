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

/* On the bits (all exponent bits set), which vectorize where the
 * floating-point test does not. */
FG_ELEM_HOT int fg_elem_all_finite(const double *p, int64_t count)
{
    if (!p) return 1;
    const uint64_t exp_bits = 0x7ff0000000000000ULL;
    uint64_t bad = 0;
    for (int64_t i = 0; i < count; i++) {
        uint64_t u;
        memcpy(&u, p + i, sizeof u);
        bad |= (u & exp_bits) == exp_bits;
    }
    return !bad;
}
