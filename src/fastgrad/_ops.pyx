# cython: language_level=3
# cython: freethreading_compatible = True
"""The elementwise operation table (csrc/fg_ops.def) as Python sees it.

OPS lists every row in table order as (name, kind, arity); the dual arrays,
the tracer of ``compile`` and the tests read it instead of keeping lists.
"""
cdef extern from "fg_ops.h" nogil:
    ctypedef enum fg_op_kind:
        FG_OP_KIND_UNARY
        FG_OP_KIND_BINARY
        FG_OP_KIND_COMPARE
    ctypedef struct fg_op_info:
        const char *name
        fg_op_kind kind
        int arity
    int FG_OP_COUNT
    const fg_op_info *fg_op_get_info(int op)
    double fg_op_value(int op, double a, double b)
    int fg_op_partials(int op, double a, double b, double *y, double *d_a, double *d_b)
    int fg_op_second(int op, double a, double b, double *d_aa, double *d_ab, double *d_bb)

_KIND_NAMES = {FG_OP_KIND_UNARY: "unary", FG_OP_KIND_BINARY: "binary",
               FG_OP_KIND_COMPARE: "compare"}

OPS = tuple((fg_op_get_info(i).name.decode(), _KIND_NAMES[fg_op_get_info(i).kind],
             fg_op_get_info(i).arity) for i in range(FG_OP_COUNT))
"""Every row of fg_ops.def: (numpy ufunc name, "unary"/"binary"/"compare", arity)."""

OP_CODES = {name: i for i, (name, _, _) in enumerate(OPS)}
"""ufunc name -> op code (the fg_op_code enum value)."""


def op_value(str name, double a, double b=0.0):
    """Value of one table row on scalars (a reference for tests)."""
    return fg_op_value(OP_CODES[name], a, b)


def op_partials(str name, double a, double b=0.0):
    """(y, dy/da, dy/db) of one table row on scalars."""
    cdef double y, da, db
    if fg_op_partials(OP_CODES[name], a, b, &y, &da, &db) != 0:
        raise KeyError(name)
    return y, da, db


def op_second(str name, double a, double b=0.0):
    """(d2y/da2, d2y/dadb, d2y/db2) of one table row on scalars."""
    cdef double daa, dab, dbb
    if fg_op_second(OP_CODES[name], a, b, &daa, &dab, &dbb) != 0:
        raise KeyError(name)
    return daa, dab, dbb
