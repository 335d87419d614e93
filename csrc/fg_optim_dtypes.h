/* fg_optim_dtypes.h: compiles an optimizer's step body for float64 and
 * float32 by including the file named FG_OPTIM_FILE twice (see
 * fg_optim_impl.h), with FG_DTYPE(f64_choice, f32_choice) picking each
 * name's pass. Private; included once by each csrc/fg_optim_<name>.c. */
#define FG_T FG_DTYPE(double, float)
#define FG_UINT FG_DTYPE(uint64_t, uint32_t)
#define FG_SUFFIX FG_DTYPE(f64, f32)
#define FG_FMA FG_DTYPE(fma, fmaf)
#define FG_SQRT FG_DTYPE(sqrt, sqrtf)
#define FG_FABS FG_DTYPE(fabs, fabsf)

#define FG_DTYPE(f64_choice, f32_choice) f64_choice
#include FG_OPTIM_FILE
#undef FG_DTYPE
#define FG_DTYPE(f64_choice, f32_choice) f32_choice
#include FG_OPTIM_FILE
#undef FG_DTYPE

#undef FG_T
#undef FG_UINT
#undef FG_SUFFIX
#undef FG_FMA
#undef FG_SQRT
#undef FG_FABS
