/* fg_ops.h: the elementwise operation codes and their metadata, generated
 * from fg_ops.def (the only place an operation is defined).
 *
 * fg_op_code numbers the rows in table order: unary rows first, then binary,
 * then comparisons. fg_op_value / fg_op_partials evaluate one row on scalars
 * (double); loop kernels generate their own bodies from fg_ops.def instead.
 */
#ifndef FASTGRAD_OPS_H
#define FASTGRAD_OPS_H

#include "fg_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fg_op_code {
#define FG_OP_UNARY(name, value, deriv, deriv2) FG_OP_##name,
#define FG_OP_BINARY(name, value, d_a, d_b, d_aa, d_ab, d_bb) FG_OP_##name,
#define FG_OP_COMPARE(name, value) FG_OP_##name,
#include "fg_ops.def"
#undef FG_OP_UNARY
#undef FG_OP_BINARY
#undef FG_OP_COMPARE
    FG_OP_COUNT
} fg_op_code;

typedef enum fg_op_kind { FG_OP_KIND_UNARY = 1, FG_OP_KIND_BINARY = 2, FG_OP_KIND_COMPARE = 3 } fg_op_kind;

typedef struct fg_op_info {
    const char *name;   /* NumPy's ufunc name */
    fg_op_kind kind;
    int arity;          /* 1 or 2 */
} fg_op_info;

/* Metadata of op: its NumPy name, kind and arity. Any int is accepted;
 * returns NULL when op is not in [0, FG_OP_COUNT). */
const fg_op_info *fg_op_get_info(int op);

/* y = op(a) or op(a, b) by the row's value expression (b ignored for unary
 * ops); comparisons give 1.0 or 0.0. Returns NaN for an unknown op (no
 * status: check fg_op_get_info(op) != NULL first to tell it from a NaN value). */
double fg_op_value(int op, double a, double b);

/* *y = op(a, b) and the partials *d_a = dy/da, *d_b = dy/db by the row's
 * deriv / d_a / d_b expressions (d_b = 0 for unary ops, both 0 for
 * comparisons). y, d_a, d_b must be non-NULL. Returns FG_OK, or FG_ERR_ARG
 * for an unknown op (outputs not written). */
fg_status fg_op_partials(int op, double a, double b, double *y, double *d_a, double *d_b);

/* The second partials *d_aa = d2y/da2, *d_ab = d2y/dadb, *d_bb = d2y/db2
 * by the row's deriv2 / d_aa / d_ab / d_bb expressions (unary: d_ab = d_bb
 * = 0; comparisons: all 0). The pointers must be non-NULL. Returns FG_OK,
 * or FG_ERR_ARG for an unknown op (outputs not written). */
fg_status fg_op_second(int op, double a, double b, double *d_aa, double *d_ab, double *d_bb);

#ifdef __cplusplus
}
#endif
#endif /* FASTGRAD_OPS_H */
