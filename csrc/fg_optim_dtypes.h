/* fg_optim_dtypes.h: compiles an optimizer's step body for float64 and
 * float32 by including the file named FG_OPTIM_FILE twice (see
 * fg_optim_impl.h). Private; included once by each csrc/fg_optim_<name>.c. */
#define FG_T double
#define FG_UINT uint64_t
#define FG_SUFFIX f64
#define FG_FMA fma
#define FG_SQRT sqrt
#define FG_FABS fabs
#include FG_OPTIM_FILE
#undef FG_T
#undef FG_UINT
#undef FG_SUFFIX
#undef FG_FMA
#undef FG_SQRT
#undef FG_FABS

#define FG_T float
#define FG_UINT uint32_t
#define FG_SUFFIX f32
#define FG_FMA fmaf
#define FG_SQRT sqrtf
#define FG_FABS fabsf
#include FG_OPTIM_FILE
#undef FG_T
#undef FG_UINT
#undef FG_SUFFIX
#undef FG_FMA
#undef FG_SQRT
#undef FG_FABS
