# cython: language_level=3
# cython: freethreading_compatible = True
"""The elementwise operation table (csrc/fg_ops.def) as Python sees it.

ROWS lists every row by code as a :class:`Row`; the dual arrays, the tracer
of ``compile`` and the tests read it instead of keeping lists. A row is
bound to one Python function by its (module, function) key, such as
``("numpy", "exp")`` or ``("scipy.special", "erf")``: :func:`row_of` maps a
ufunc object to its row. A row whose module is not imported is not bound
yet (its module is never imported here: a user who calls
``scipy.special.erf`` has imported it); one that cannot be imported stays
unbound, and its C kernels still serve embedders.
"""
import importlib
import sys
from collections import namedtuple

cdef extern from "fastgrad.h" nogil:
    int FASTGRAD_ABI_VERSION

cdef extern from "fg_ops.h" nogil:
    ctypedef enum fg_op_kind:
        FG_OP_KIND_UNARY
        FG_OP_KIND_BINARY
        FG_OP_KIND_COMPARE
    ctypedef struct fg_op_info:
        const char *name
        fg_op_kind kind
        int arity
        const char *module
        int domain[2]
    ctypedef struct fg_op_domain_info:
        const char *name
        double lo, hi
        int no_zero
    int FG_OP_COUNT
    int FG_DOMAIN_COUNT
    const fg_op_info *fg_op_get_info(int op)
    const fg_op_domain_info *fg_op_get_domain(int domain)
    int fg_op_partials(int op, double a, double b, double *y, double *d_a, double *d_b)
    int fg_op_second(int op, double a, double b, double *d_aa, double *d_ab, double *d_bb)

ABI_VERSION = FASTGRAD_ABI_VERSION
"""FASTGRAD_ABI_VERSION of the C core this module was built with."""

Row = namedtuple("Row", "name kind arity code module function domain")
Row.__doc__ = """One row of the op table.

name: unique, the function's name in its module; kind: "unary", "binary" or
"compare"; arity: 1 or 2; code: the FG_OP_<name> code embedders pass;
module, function: the binding; domain: one DOMAINS name per operand, where
the op is smooth (tests draw points from it)."""

Domain = namedtuple("Domain", "name lo hi no_zero")
Domain.__doc__ = """A test domain: the open interval (lo, hi), without 0 when no_zero."""

_KIND_NAMES = {FG_OP_KIND_UNARY: "unary", FG_OP_KIND_BINARY: "binary",
               FG_OP_KIND_COMPARE: "compare"}


cdef object _domain(int d):
    cdef const fg_op_domain_info *info = fg_op_get_domain(d)
    return Domain(info.name.decode(), info.lo, info.hi, bool(info.no_zero))


DOMAINS = {dom.name: dom for dom in (_domain(d) for d in range(FG_DOMAIN_COUNT))}
"""Domain name -> :class:`Domain`."""


cdef object _row(int op):
    cdef const fg_op_info *info = fg_op_get_info(op)
    name = info.name.decode()
    return Row(name, _KIND_NAMES[info.kind], info.arity, op, info.module.decode(), name,
               tuple(_domain(info.domain[i]).name for i in range(info.arity)))


ROWS = tuple(_row(op) for op in range(FG_OP_COUNT))
"""Every row of fg_ops.def, indexed by code."""

OPS = tuple((row.name, row.kind, row.arity) for row in ROWS)
"""(name, kind, arity) of every row, indexed by code."""

OP_CODES = {row.name: row.code for row in ROWS}
"""Row name -> op code (the fg_op_code enum value)."""

BINDINGS = {(row.module, row.function): row for row in ROWS}
"""(module, function) -> :class:`Row`."""

_BOUND = {}       # ufunc object -> Row, for the rows whose module is imported
_UNBOUND = list(ROWS)


cdef void _bind_imported():
    """Bind the rows whose module has been imported since the last call."""
    global _UNBOUND
    still = []
    for row in _UNBOUND:
        module = sys.modules.get(row.module)
        if module is None:
            still.append(row)
            continue
        fn = getattr(module, row.function, None)
        if fn is not None:
            _BOUND[fn] = row
    _UNBOUND = still


_bind_imported()


def row_of(ufunc):
    """The :class:`Row` bound to this ufunc object, or None.

    Example
    -------
    >>> import numpy as np
    >>> row_of(np.exp).code == OP_CODES["exp"], row_of(np.floor)
    (True, None)
    """
    row = _BOUND.get(ufunc)
    if row is None and _UNBOUND:
        for pending in _UNBOUND:
            if pending.module in sys.modules:
                _bind_imported()
                return _BOUND.get(ufunc)
    return row


def ufunc_of(str name):
    """The function a row is bound to (importing its module), or None when
    the module cannot be imported."""
    row = ROWS[OP_CODES[name]]
    try:
        module = importlib.import_module(row.module)
    except ImportError:
        return None
    return getattr(module, row.function, None)


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
