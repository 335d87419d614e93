/* fg_ops.h: the elementwise operation codes and their metadata, generated
 * from fg_ops.def (the only place an operation is defined).
 *
 * FG_OP_<name> is the row's explicit code (append-only: see fg_ops.def);
 * FG_OP_COUNT is the number of rows, and the codes are exactly
 * 0 .. FG_OP_COUNT - 1. fg_op_partials / fg_op_second evaluate one row on
 * scalars (double); the loop kernels generate their own bodies from
 * fg_ops.def instead.
 */
#ifndef FASTGRAD_OPS_H
#define FASTGRAD_OPS_H

#include "fg_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fg_op_code {
#define FG_OP_UNARY(code, name, module, domain, value, deriv, deriv2) FG_OP_##name = code,
#define FG_OP_BINARY(code, name, module, dom_a, dom_b, value, d_a, d_b, d_aa, d_ab, d_bb) \
    FG_OP_##name = code,
#define FG_OP_COMPARE(code, name, module, value) FG_OP_##name = code,
#include "fg_ops.def"
#undef FG_OP_UNARY
#undef FG_OP_BINARY
#undef FG_OP_COMPARE
} fg_op_code;

/* The number of rows (one "+ 1" per row). */
enum {
    FG_OP_COUNT = 0
#define FG_OP_UNARY(code, name, module, domain, value, deriv, deriv2) + 1
#define FG_OP_BINARY(code, name, module, dom_a, dom_b, value, d_a, d_b, d_aa, d_ab, d_bb) + 1
#define FG_OP_COMPARE(code, name, module, value) + 1
#include "fg_ops.def"
#undef FG_OP_UNARY
#undef FG_OP_BINARY
#undef FG_OP_COMPARE
};

typedef enum fg_op_kind { FG_OP_KIND_UNARY = 1, FG_OP_KIND_BINARY = 2, FG_OP_KIND_COMPARE = 3 } fg_op_kind;

/* Test domains (where an op is smooth), FG_DOMAIN_<NAME>. */
typedef enum fg_op_domain {
#define FG_OP_DOMAIN(code, NAME, lo, hi, no_zero) FG_DOMAIN_##NAME = code,
#include "fg_ops.def"
#undef FG_OP_DOMAIN
} fg_op_domain;

enum {
    FG_DOMAIN_COUNT = 0
#define FG_OP_DOMAIN(code, NAME, lo, hi, no_zero) + 1
#include "fg_ops.def"
#undef FG_OP_DOMAIN
};

typedef struct fg_op_info {
    const char *name;        /* the function's name in `module` */
    fg_op_kind kind;
    int arity;               /* 1 or 2 */
    const char *module;      /* the Python module binding it: "numpy", "scipy.special" */
    fg_op_domain domain[2];  /* per operand (domain[1] is REAL for unary rows) */
} fg_op_info;

typedef struct fg_op_domain_info {
    const char *name;        /* "REAL", "POSITIVE", ... */
    double lo, hi;           /* the open interval (lo, hi) */
    int no_zero;             /* 1: without 0 */
} fg_op_domain_info;

/* Metadata of op: name, kind, arity, binding, domains. Any int is
 * accepted; returns NULL when op is not in [0, FG_OP_COUNT). */
const fg_op_info *fg_op_get_info(int op);

/* Metadata of a test domain; NULL when domain is not in [0, FG_DOMAIN_COUNT). */
const fg_op_domain_info *fg_op_get_domain(int domain);

/* *y = op(a, b) and the partials *d_a = dy/da, *d_b = dy/db by the row's
 * deriv / d_a / d_b expressions (b ignored and d_b = 0 for unary ops, both
 * partials 0 for comparisons, whose *y is 1.0 or 0.0). y, d_a, d_b must be
 * non-NULL. Returns FG_OK, or FG_ERR_ARG for an unknown op (outputs not
 * written). */
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
