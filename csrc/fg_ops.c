/* fg_ops.c: metadata and scalar evaluation of the fg_ops.def rows. */
#include <math.h>
#include "fg_ops.h"

/* Indexed by code: a code >= FG_OP_COUNT is an initializer out of bounds,
 * a compile error. */
static const fg_op_info fg_op_table[FG_OP_COUNT] = {
#define FG_OP_UNARY(code, name, module, domain, value, deriv, deriv2) \
    [code] = {#name, FG_OP_KIND_UNARY, 1, #module, {FG_DOMAIN_##domain, FG_DOMAIN_REAL}},
#define FG_OP_BINARY(code, name, module, dom_a, dom_b, value, d_a, d_b, d_aa, d_ab, d_bb) \
    [code] = {#name, FG_OP_KIND_BINARY, 2, #module, {FG_DOMAIN_##dom_a, FG_DOMAIN_##dom_b}},
#define FG_OP_COMPARE(code, name, module, value) \
    [code] = {#name, FG_OP_KIND_COMPARE, 2, #module, {FG_DOMAIN_REAL, FG_DOMAIN_REAL}},
#include "fg_ops.def"
#undef FG_OP_UNARY
#undef FG_OP_BINARY
#undef FG_OP_COMPARE
};

static const fg_op_domain_info fg_domain_table[FG_DOMAIN_COUNT] = {
#define FG_OP_DOMAIN(code, NAME, lo, hi, no_zero) [code] = {#NAME, lo, hi, no_zero},
#include "fg_ops.def"
#undef FG_OP_DOMAIN
};

/* With every code below FG_OP_COUNT (the table above), unique codes make
 * them exactly 0 .. FG_OP_COUNT - 1. Two rows with one code are two equal
 * case labels here: a compile error. */
static int fg_op_code_is_known(int op)
{
    switch (op) {
#define FG_OP_UNARY(code, name, module, domain, value, deriv, deriv2) case code:
#define FG_OP_BINARY(code, name, module, dom_a, dom_b, value, d_a, d_b, d_aa, d_ab, d_bb) case code:
#define FG_OP_COMPARE(code, name, module, value) case code:
#include "fg_ops.def"
#undef FG_OP_UNARY
#undef FG_OP_BINARY
#undef FG_OP_COMPARE
        return 1;
    default:
        return 0;
    }
}

const fg_op_info *fg_op_get_info(int op)
{
    return fg_op_code_is_known(op) ? &fg_op_table[op] : 0;
}

const fg_op_domain_info *fg_op_get_domain(int domain)
{
    return (domain >= 0 && domain < FG_DOMAIN_COUNT) ? &fg_domain_table[domain] : 0;
}

fg_status fg_op_partials(int op, double a, double b, double *y_out, double *da_out,
                         double *db_out)
{
    double x = a, y;
    (void)x;
    switch (op) {
#define FG_OP_UNARY(code, name, module, domain, value, deriv, deriv2) \
    case code: y = (value); *da_out = (deriv); *db_out = 0; break;
#define FG_OP_BINARY(code, name, module, dom_a, dom_b, value, d_a, d_b, d_aa, d_ab, d_bb) \
    case code: y = (value); *da_out = (d_a); *db_out = (d_b); break;
#define FG_OP_COMPARE(code, name, module, value) \
    case code: y = (value) ? 1.0 : 0.0; *da_out = 0; *db_out = 0; break;
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
#define FG_OP_UNARY(code, name, module, domain, value, deriv, deriv2) \
    case code: y = (value); *d_aa = (deriv2); *d_ab = 0; *d_bb = 0; break;
#define FG_OP_BINARY(code, name, module, dom_a, dom_b, value, d_a, d_b, d_aa_, d_ab_, d_bb_) \
    case code: y = (value); *d_aa = (d_aa_); *d_ab = (d_ab_); *d_bb = (d_bb_); break;
#define FG_OP_COMPARE(code, name, module, value) \
    case code: *d_aa = 0; *d_ab = 0; *d_bb = 0; break;
#include "fg_ops.def"
#undef FG_OP_UNARY
#undef FG_OP_BINARY
#undef FG_OP_COMPARE
    default: return FG_ERR_ARG;
    }
    (void)y;
    return FG_OK;
}
