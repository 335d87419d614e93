/* fg_elem.c: instantiates the elementwise kernel generator fg_elem_body.h
 * (every mode, generated from fg_ops.def; see fg_elem.h) for float64, with
 * the tape's modes, and for float32 (DualArray's dual and hyper-dual). */
/* No kernel here reads or raises floating-point exception flags. Without
 * that assumption gcc treats each comparison as a possible trap and will
 * not turn a select (FG_NS, maximum, abs, ...) into branch-free vector
 * code, so those loops would run scalar with a branch per element. Results
 * are unchanged: rounding, NaN and signed-zero semantics stay IEEE. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "align-loops=32")
#endif

#include <math.h>
#include "fg_elem.h"

/* The value and adjoint kernels are the hot loops of compiled minimize
 * runs: each op's kernel is kept out of line, so that its loops are
 * register-allocated on their own (flattened into one driver, the loops
 * reload their pointers from the stack), and built for AVX2 and baseline
 * x86-64 (one ifunc dispatch per instruction). An AVX-512 clone measured no
 * faster on these short loops (n ~ 100: longer vector epilogues) and was
 * slower at n = 2. -ffp-contract=off and no reassociation keep all clones
 * bit-identical. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(FG_NO_CLONES)
#define FG_ELEM_HOT __attribute__((target_clones("arch=x86-64-v3", "default"), noinline))
#elif defined(__GNUC__)
#define FG_ELEM_HOT __attribute__((noinline))
#else
#define FG_ELEM_HOT
#endif

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
