/* fg_dual.c: instantiates fg_dual_body.h (dual and hyper-dual kernels
 * generated from fg_ops.def) for float64 and float32. */
#include <math.h>
#include "fg_ops.h"
#include "fg_dual.h"

#define FG_T double
#define FG_SUFFIX f64
#include "fg_dual_body.h"
#undef FG_T
#undef FG_SUFFIX

#define FG_T float
#define FG_SUFFIX f32
#include "fg_dual_body.h"
#undef FG_T
#undef FG_SUFFIX
