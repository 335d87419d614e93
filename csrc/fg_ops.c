/* fg_ops.c: metadata and scalar evaluation of the fg_ops.def rows. */
#include <math.h>
#include "fg_ops.h"

static const fg_op_info fg_op_table[FG_OP_COUNT] = {
#define FG_OP_UNARY(name, value, deriv, deriv2) {#name, FG_OP_KIND_UNARY, 1},
#define FG_OP_BINARY(name, value, d_a, d_b, d_aa, d_ab, d_bb) {#name, FG_OP_KIND_BINARY, 2},
#define FG_OP_COMPARE(name, value) {#name, FG_OP_KIND_COMPARE, 2},
#include "fg_ops.def"
#undef FG_OP_UNARY
#undef FG_OP_BINARY
#undef FG_OP_COMPARE
};

const fg_op_info *fg_op_get_info(int op)
{
    return (op >= 0 && op < FG_OP_COUNT) ? &fg_op_table[op] : 0;
}

double fg_op_value(int op, double a, double b)
{
    double x = a;
    (void)x;
    switch (op) {
#define FG_OP_UNARY(name, value, deriv, deriv2) case FG_OP_##name: return (value);
#define FG_OP_BINARY(name, value, d_a, d_b, d_aa, d_ab, d_bb) case FG_OP_##name: return (value);
#define FG_OP_COMPARE(name, value) case FG_OP_##name: return (value) ? 1.0 : 0.0;
#include "fg_ops.def"
#undef FG_OP_UNARY
#undef FG_OP_BINARY
#undef FG_OP_COMPARE
    default: return NAN;
    }
}

fg_status fg_op_partials(int op, double a, double b, double *y_out, double *da_out,
                         double *db_out)
{
    double x = a, y;
    (void)x;
    switch (op) {
#define FG_OP_UNARY(name, value, deriv, deriv2) \
    case FG_OP_##name: y = (value); *da_out = (deriv); *db_out = 0; break;
#define FG_OP_BINARY(name, value, d_a, d_b, d_aa, d_ab, d_bb) \
    case FG_OP_##name: y = (value); *da_out = (d_a); *db_out = (d_b); break;
#define FG_OP_COMPARE(name, value) \
    case FG_OP_##name: y = (value) ? 1.0 : 0.0; *da_out = 0; *db_out = 0; break;
#include "fg_ops.def"
#undef FG_OP_UNARY
#undef FG_OP_BINARY
#undef FG_OP_COMPARE
    default: return FG_ERR_ARG;
    }
    *y_out = y;
    return FG_OK;
}

fg_status fg_op_second(int op, double a, double b, double *d_aa, double *d_ab, double *d_bb)
{
    double x = a, y;
    (void)x;
    switch (op) {
#define FG_OP_UNARY(name, value, deriv, deriv2) \
    case FG_OP_##name: y = (value); *d_aa = (deriv2); *d_ab = 0; *d_bb = 0; break;
#define FG_OP_BINARY(name, value, d_a, d_b, d_aa_, d_ab_, d_bb_) \
    case FG_OP_##name: y = (value); *d_aa = (d_aa_); *d_ab = (d_ab_); *d_bb = (d_bb_); break;
#define FG_OP_COMPARE(name, value) \
    case FG_OP_##name: *d_aa = 0; *d_ab = 0; *d_bb = 0; break;
#include "fg_ops.def"
#undef FG_OP_UNARY
#undef FG_OP_BINARY
#undef FG_OP_COMPARE
    default: return FG_ERR_ARG;
    }
    (void)y;
    return FG_OK;
}
