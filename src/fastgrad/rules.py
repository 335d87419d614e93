"""NumPy's structural functions, written once for every differentiable array.

fastgrad has two array types that stand in for an ndarray inside a user's
function: :class:`fastgrad.DualArray` (forward mode, computed at once) and
the tracer of ``fastgrad.compile`` (recorded as tape instructions). Both
implement the small set of primitives of :class:`Backend`: an elementwise
operation of the op table, indexing, a static gather, reshaping, a
reduction along one axis (sum, max, min, prod), a cumulative sum, a matrix
product, a select and concatenation. Every NumPy function either type
supports is a rule here, built from those primitives, so what works under
``gradient`` works under ``compile`` and the two agree.

Rules at points where a function is not differentiable:

- ``max``/``min``/``amax``/``amin`` give the derivative of the one element
  ``numpy.argmax``/``argmin`` picks: the first maximal (minimal) element,
  and the first NaN if there is one (a NaN is the extremum, as in NumPy).
- ``maximum``/``minimum``/``clip`` follow the op table (ties go to the
  first operand, so at ``x == bound`` clip passes x's derivative).
- ``prod`` differentiates without division, exact at zeros.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from fastgrad._ops import OP_CODES, OPS, row_of, ufunc_of

__all__ = ["Backend", "FUNCTIONS", "OP_KIND", "VALUE_UFUNCS", "backend_of", "elementwise",
           "op_code", "ufunc_row"]

_NoValue: Any = np._NoValue


# ----------------------------------------------------------- op table rows --
# ufuncs that compute another row's function under a different name.
_ALIASES = {np.float_power: np.power}

OP_KIND = {name: kind for name, kind, _ in OPS}
"""Row name -> "unary" / "binary" / "compare"."""

# Predicates on values only: their derivative is zero wherever it exists.
VALUE_UFUNCS = frozenset((np.isfinite, np.isnan, np.isinf, np.signbit, np.logical_not,
                          np.logical_and, np.logical_or, np.logical_xor))


def op_code(name: str) -> int:
    """The op code of the row named ``name``."""
    return OP_CODES[name]


def ufunc_row(ufunc: Any) -> tuple[str, str] | None:
    """(row name, kind) of the op-table row bound to a ufunc (by its
    (module, function) binding: ``numpy.exp``, ``scipy.special.erf``), or
    None."""
    row = row_of(_ALIASES.get(ufunc, ufunc))
    return None if row is None else (row.name, row.kind)


def row_function(name: str) -> Callable:
    """The function the row ``name`` is bound to (constants are folded with
    it)."""
    return ufunc_of(name)


# ----------------------------------------------------------------- backend --
class Backend:
    """The primitives one array type implements; every rule is built on them.

    ``x`` below is an array of the backend's type ("a variable") or a
    constant (anything NumPy converts to an array of real numbers). A
    primitive returns a variable, or a constant where the result does not
    depend on any variable.
    """

    array_type: type = object

    def unsupported(self, what: str) -> TypeError:
        """The error for an operation this array type cannot differentiate."""
        raise NotImplementedError

    def is_var(self, x: Any) -> bool:
        return isinstance(x, self.array_type)

    def const(self, x: Any) -> np.ndarray:
        """A constant operand as an array of real numbers (TypeError else)."""
        raise NotImplementedError

    def ufunc(self, name: str, *xs: Any) -> Any:
        """The op-table row ``name`` applied elementwise, with broadcasting.
        A comparison returns a condition usable by :meth:`where`."""
        raise NotImplementedError

    def getitem(self, a: Any, key: Any) -> Any:
        """``a[key]`` for a static key (ints, slices, None, Ellipsis, integer
        and boolean arrays)."""
        raise NotImplementedError

    def gather(self, a: Any, idx: np.ndarray) -> Any:
        """The elements ``a.ravel()[idx]``, shaped like the int array idx."""
        raise NotImplementedError

    def reshape(self, a: Any, shape: tuple) -> Any:
        raise NotImplementedError

    def reduce(self, kind: str, a: Any, axis: int) -> Any:
        """sum/max/min/prod along one axis (which is removed); max and min
        of an axis of length 0 are never asked for."""
        raise NotImplementedError

    def cumsum(self, a: Any, axis: int) -> Any:
        raise NotImplementedError

    def matmul(self, a: Any, b: Any) -> Any:
        """``numpy.matmul(a, b)``."""
        raise NotImplementedError

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        raise NotImplementedError

    def concatenate(self, xs: list, axis: int) -> Any:
        """Concatenation of operands of ndim >= 1 (at least one variable)."""
        raise NotImplementedError

    def constant_like(self, a: Any, value: np.ndarray) -> Any:
        """A result made of constants that stands where a variable would."""
        return value

    def copy(self, a: Any) -> Any:
        return a

    def einsum_value(self, r: Any, subscripts: str, operands: Sequence) -> Any:
        """The einsum result r as returned; an array type that computes values
        eagerly may substitute ``numpy.einsum``'s own value (same up to the
        order of summation)."""
        return r

    def predicate(self, ufunc: Any, *xs: Any) -> Any:
        """A value-only ufunc (``isfinite`` and the like)."""
        raise self.unsupported(f"numpy.{ufunc.__name__}")


POWER_ROWS = {2.0: "square", 0.5: "sqrt", -1.0: "reciprocal", 1.0: "positive"}
"""Constant exponent -> the row that computes that power (as NumPy does)."""


def elementwise(B: Backend, name: str, *xs: Any) -> Any:
    """Row ``name`` on xs; a power with a constant scalar exponent of 2,
    0.5, -1 or 1 uses the cheaper row NumPy also uses for it (same values:
    ``x**0.5`` is ``sqrt(x)`` in NumPy, -0 and -inf included)."""
    if name == "power" and len(xs) == 2:
        tb = type(xs[1])
        if (tb is int or tb is float) and isinstance(xs[0], B.array_type):
            row = POWER_ROWS.get(xs[1])
            if row is not None:
                return B.ufunc(row, xs[0])
    return B.ufunc(name, *xs)


def backend_of(*xs: Any) -> Backend:
    """The backend of the first differentiable array among xs (nested in
    lists and tuples too)."""
    for x in xs:
        b = getattr(x, "_fg_backend", None)
        if b is not None:
            return b
        if isinstance(x, (list, tuple)):
            for y in x:
                b = getattr(y, "_fg_backend", None)
                if b is not None:
                    return b
    raise TypeError("no differentiable array among the arguments")


def _shape(x: Any) -> tuple:
    return tuple(np.shape(x)) if not hasattr(x, "_fg_backend") else tuple(x.shape)


def _ndim(x: Any) -> int:
    return len(_shape(x))


def _one_axis(axis: Any, ndim: int) -> int:
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    a = int(axis)
    if not -ndim <= a < ndim:
        raise np.exceptions.AxisError(a, ndim)
    return a % ndim


def _axes(axis: Any, ndim: int, scalar_axis: bool = True) -> tuple:
    """axis (None, int or tuple) as sorted distinct non-negative ints. A 0-d
    array takes axis 0 or -1 too where NumPy's reduction does
    (``scalar_axis``: sum, prod, max, min, but not mean, var, std)."""
    if axis is None:
        return tuple(range(ndim))
    if not isinstance(axis, (tuple, list)):
        axis = (axis,)
    if ndim == 0 and scalar_axis:
        for a in axis:
            _one_axis(a, 1)
        return ()
    out = sorted({_one_axis(a, ndim) for a in axis})
    if len(out) != len(axis):
        raise ValueError("duplicate value in 'axis'")
    return tuple(out)


def check_no_out(B: Backend, out: Any, name: str) -> None:
    if out is not None and not (isinstance(out, tuple) and all(o is None for o in out)):
        raise B.unsupported(f"numpy.{name} with out= (results are new arrays)")


def check_float_dtype(B: Backend, dtype: Any, name: str) -> None:
    if dtype is not None and np.dtype(dtype).kind != "f":
        raise B.unsupported(f"numpy.{name} with a non-float dtype (it drops the derivative)")


def _plain_kwargs(B: Backend, kwargs: dict, name: str) -> None:
    for key, val in kwargs.items():
        if (key == "initial" and val is _NoValue) or (key == "where" and val is True):
            continue
        raise B.unsupported(f"numpy.{name} with {key}=")


def _indices(shape: tuple) -> np.ndarray:
    return np.arange(math.prod(shape), dtype=np.intp).reshape(shape)


def _select(B: Backend, a: Any, idx: np.ndarray) -> Any:
    """a.ravel()[idx]; a reshape when idx is all of a in order."""
    if idx.size == math.prod(_shape(a)) and \
            (idx.size == 0 or np.array_equal(idx.ravel(), np.arange(idx.size))):
        return B.reshape(a, idx.shape)
    return B.gather(a, idx)


def _reshape_operand(B: Backend, x: Any, shape: tuple) -> Any:
    return B.reshape(x, shape) if B.is_var(x) else np.reshape(B.const(x), shape)


# ------------------------------------------------------------- reductions --
def _reduce_axes(B: Backend, kind: str, a: Any, axes: tuple, keepdims: bool) -> Any:
    shape = _shape(a)
    nd = len(shape)
    for ax in axes:
        if kind in ("max", "min") and shape[ax] == 0:
            raise ValueError(f"zero-size array to reduction operation "
                             f"{'maximum' if kind == 'max' else 'minimum'} which has no identity")
    if len(axes) == nd:
        r = B.reduce(kind, B.reshape(a, (-1,)), 0)
    elif kind == "sum" or len(axes) == 1:
        r = a
        for ax in reversed(axes):   # a sum is linear: one axis at a time
            r = B.reduce(kind, r, ax)
    else:
        # The reduced axes moved last, in order, and merged: the "first"
        # extremum is the first in C order of the reduced block.
        keep = [i for i in range(nd) if i not in axes]
        moved = transpose(a, keep + list(axes))
        merged = B.reshape(moved, tuple(shape[i] for i in keep) + (-1,))
        r = B.reduce(kind, merged, len(keep))
    if keepdims:
        r = B.reshape(r, tuple(1 if i in axes else d for i, d in enumerate(shape)))
    return r


def _reduce_call(kind: str, name: str, a: Any, axis: Any, dtype: Any, out: Any,
                 keepdims: Any, kwargs: dict) -> Any:
    B = a._fg_backend
    if axis is None and out is None and dtype is None and not keepdims and not kwargs \
            and a.shape and (kind == "sum" or 0 not in a.shape):   # the common case first
        return B.reduce(kind, a if len(a.shape) == 1 else B.reshape(a, (-1,)), 0)
    check_no_out(B, out, name)
    check_float_dtype(B, dtype, name)
    _plain_kwargs(B, kwargs, name)
    return _reduce_axes(B, kind, a, _axes(axis, _ndim(a)), bool(keepdims))


def sum_(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
    return _reduce_call("sum", "sum", a, axis, dtype, out, keepdims, kwargs)


def prod(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
    return _reduce_call("prod", "prod", a, axis, dtype, out, keepdims, kwargs)


def max_(a, axis=None, out=None, keepdims=False, **kwargs):
    return _reduce_call("max", "max", a, axis, None, out, keepdims, kwargs)


def min_(a, axis=None, out=None, keepdims=False, **kwargs):
    return _reduce_call("min", "min", a, axis, None, out, keepdims, kwargs)


def _moment_axes(name: str, a: Any, axis: Any, dtype: Any, out: Any,
                 kwargs: dict) -> tuple[Backend, tuple, tuple]:
    """The checks of mean/var/std: (backend, shape, reduced axes)."""
    B = backend_of(a)
    check_no_out(B, out, name)
    check_float_dtype(B, dtype, name)
    _plain_kwargs(B, kwargs, name)
    shape = _shape(a)
    return B, shape, _axes(axis, len(shape), scalar_axis=False)


def mean(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
    B, shape, axes = _moment_axes("mean", a, axis, dtype, out, kwargs)
    s = _reduce_axes(B, "sum", a, axes, bool(keepdims))
    return B.ufunc("divide", s, math.prod(shape[i] for i in axes))


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kwargs):
    B, shape, axes = _moment_axes("var", a, axis, dtype, out, kwargs)
    d = B.ufunc("subtract", a, mean(a, axes, keepdims=True))
    s = _reduce_axes(B, "sum", B.ufunc("square", d), axes, bool(keepdims))
    return B.ufunc("divide", s, max(math.prod(shape[i] for i in axes) - ddof, 0))


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kwargs):
    return backend_of(a).ufunc("sqrt", var(a, axis, dtype, out, ddof, keepdims, **kwargs))


def cumsum(a, axis=None, dtype=None, out=None):
    B = backend_of(a)
    check_no_out(B, out, "cumsum")
    check_float_dtype(B, dtype, "cumsum")
    if axis is None or _ndim(a) == 0:
        if axis is not None:
            _one_axis(axis, 1)
        return B.cumsum(B.reshape(a, (-1,)), 0)
    return B.cumsum(a, _one_axis(axis, _ndim(a)))


def diff(a, n=1, axis=-1, prepend=_NoValue, append=_NoValue):
    B = backend_of(a)
    if prepend is not _NoValue or append is not _NoValue:
        raise B.unsupported("numpy.diff with prepend= or append=")
    ax = _one_axis(axis, _ndim(a))
    lead = (slice(None),) * ax
    for _ in range(n):
        a = B.ufunc("subtract", B.getitem(a, lead + (slice(1, None),)),
                    B.getitem(a, lead + (slice(None, -1),)))
    return a


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``log(sum(b * exp(a)))`` by the max-shift: ``m + log(sum(b * exp(a -
    m)))`` with ``m`` the maximum (0 where it is not finite, so all ``-inf``
    gives ``-inf``). The derivative is the softmax (weighted by b)."""
    B = backend_of(a, b)
    if return_sign:
        raise B.unsupported("scipy.special.logsumexp with return_sign=True")
    shape = _shape(a)
    axes = _axes(axis, len(shape))
    if any(shape[i] == 0 for i in axes):   # an empty sum: log 0
        kept = tuple(1 if i in axes else d for i, d in enumerate(shape))
        return B.constant_like(a, np.full(kept if keepdims else tuple(
            d for i, d in enumerate(shape) if i not in axes), -math.inf))
    m = _reduce_axes(B, "max", a, axes, True) if shape else a
    m = B.where(B.ufunc("less", B.ufunc("absolute", m), math.inf), m, 0.0)
    e = B.ufunc("exp", B.ufunc("subtract", a, m))
    if b is not None:
        e = B.ufunc("multiply", b, e)
    r = B.ufunc("add", B.ufunc("log", _reduce_axes(B, "sum", e, axes, True)), m)
    if not keepdims:
        r = B.reshape(r, tuple(d for i, d in enumerate(_shape(r)) if i not in axes))
    return r


# ---------------------------------------------------------------- products --
def matmul(a, b, out=None, **kwargs):
    B = backend_of(a, b)
    check_no_out(B, out, "matmul")
    _plain_kwargs(B, kwargs, "matmul")
    if _ndim(a) == 0 or _ndim(b) == 0:
        raise ValueError("matmul: input operand does not have enough dimensions")
    return B.matmul(a, b)


def dot(a, b, out=None):
    B = backend_of(a, b)
    check_no_out(B, out, "dot")
    na, nb = _ndim(a), _ndim(b)
    if na == 0 or nb == 0:
        return B.ufunc("multiply", a, b)
    if na <= 2 and nb <= 2:
        return B.matmul(a, b)
    raise B.unsupported("numpy.dot of arrays with more than 2 dimensions "
                        "(use numpy.matmul or numpy.einsum)")


def inner(a, b):
    B = backend_of(a, b)
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        return B.ufunc("multiply", a, b)
    if len(sa) == 1 and len(sb) == 1:
        return B.matmul(a, b)
    if sa[-1] != sb[-1]:
        raise ValueError(f"inner: shapes {sa} and {sb} are not aligned")
    a2 = _reshape_operand(B, a, (-1, sa[-1]))
    b2 = _reshape_operand(B, b, (-1, sb[-1]))
    r = B.matmul(a2, transpose(b2) if B.is_var(b2) else b2.T)
    return B.reshape(r, sa[:-1] + sb[:-1])


def vdot(a, b):
    B = backend_of(a, b)
    return B.matmul(_reshape_operand(B, a, (-1,)), _reshape_operand(B, b, (-1,)))


def outer(a, b, out=None):
    B = backend_of(a, b)
    check_no_out(B, out, "outer")
    return B.ufunc("multiply", _reshape_operand(B, a, (-1, 1)), _reshape_operand(B, b, (1, -1)))


def _einsum_parse(subscripts: str, nops: int) -> tuple[list, str]:
    subs = subscripts.replace(" ", "")
    if "." in subs:
        raise ValueError("einsum: ellipsis ('...') subscripts are not supported")
    if "->" in subs:
        ins, outs = subs.split("->")
    else:
        ins = subs
        letters = [c for c in ins if c.isalpha()]
        outs = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    in_list = ins.split(",")
    if len(in_list) != nops:
        raise ValueError("einsum: the number of subscripts and operands differ")
    return in_list, outs


def _einsum_one(B: Backend, x: Any, sub: str, keep: str) -> tuple[Any, str]:
    """Operand x with subscripts sub: repeated letters reduced to their
    diagonal, letters not in keep summed out. Returns (array, its letters)."""
    shape = _shape(x)
    if len(sub) != len(shape):
        raise ValueError(f"einsum: operand has {len(shape)} dimensions, subscripts '{sub}'")
    letters = "".join(dict.fromkeys(sub))
    if letters != sub:
        size: dict[str, int] = {}
        for c, d in zip(sub, shape):
            if size.setdefault(c, d) != d:
                raise ValueError(f"einsum: dimensions of '{c}' differ")
        grids = np.indices(tuple(size[c] for c in letters))
        idx = np.ravel_multi_index(tuple(grids[letters.index(c)] for c in sub), shape)
        x = B.gather(x, idx) if B.is_var(x) else B.const(x).ravel()[idx]
        sub = letters
    drop = tuple(i for i, c in enumerate(sub) if c not in keep)
    if drop:
        x = _reduce_axes(B, "sum", x, drop, False) if B.is_var(x) else \
            np.sum(B.const(x), axis=drop)
        sub = "".join(c for c in sub if c in keep)
    return x, sub


def _arrange(B: Backend, x: Any, sub: str, order: str) -> Any:
    """x (letters sub) transposed to the letter order `order`."""
    if sub == order:
        return x
    perm = [sub.index(c) for c in order]
    return transpose(x, perm) if B.is_var(x) else np.transpose(B.const(x), perm)


def _einsum_pair(B: Backend, a: Any, sa: str, b: Any, sb: str, keep: str) -> tuple[Any, str]:
    """Two operands contracted: the letters in both and in ``keep`` are a
    batch, those in both only are summed by one (batched) matrix product.
    Returns the result and its letters (batch, then a's, then b's)."""
    a, sa = _einsum_one(B, a, sa, keep + sb)
    b, sb = _einsum_one(B, b, sb, keep + sa)
    batch = "".join(c for c in sa if c in sb and c in keep)
    contract = "".join(c for c in sa if c in sb and c not in keep)
    left = "".join(c for c in sa if c not in sb)
    right = "".join(c for c in sb if c not in sa)
    dim = dict(zip(sa, _shape(a)))
    dim.update(zip(sb, _shape(b)))
    size = lambda cs: math.prod(dim[c] for c in cs)   # noqa: E731
    a = _arrange(B, a, sa, batch + left + contract)
    b = _arrange(B, b, sb, batch + contract + right)
    nb = size(batch)
    a = _reshape_operand(B, a, ((nb,) if batch else ()) + (size(left), size(contract)))
    b = _reshape_operand(B, b, ((nb,) if batch else ()) + (size(contract), size(right)))
    r = B.matmul(a, b)
    shape = tuple(dim[c] for c in batch + left + right)
    return _reshape_operand(B, r, shape), batch + left + right


def einsum(subscripts, *operands, out=None, optimize=False, **kwargs):
    """The contractions ``einsum`` spells, reduced to diagonals, sums,
    transposes and one (batched) matrix product per pair of operands, from
    the left."""
    B = backend_of(*operands)
    check_no_out(B, out, "einsum")
    if kwargs:
        raise B.unsupported(f"numpy.einsum with {sorted(kwargs)}")
    if not isinstance(subscripts, str):
        raise B.unsupported("numpy.einsum in the interleaved (operand, sublist) form")
    in_list, outs = _einsum_parse(subscripts, len(operands))
    x, sx = operands[0], in_list[0]
    for i in range(1, len(operands)):
        x, sx = _einsum_pair(B, x, sx, operands[i], in_list[i], outs + "".join(in_list[i + 1:]))
    x, sx = _einsum_one(B, x, sx, outs)
    return B.einsum_value(_arrange(B, x, sx, outs), subscripts, operands)


def norm(x, ord=None, axis=None, keepdims=False):
    B = backend_of(x)
    nd = _ndim(x)
    vector = axis is not None and not isinstance(axis, (tuple, list)) or nd <= 1
    if ord in (None, "fro") or (ord == 2 and vector):
        s = _reduce_axes(B, "sum", B.ufunc("square", x), _axes(axis, nd), bool(keepdims))
        return B.ufunc("sqrt", s)
    if vector and ord in (1, math.inf, -math.inf):
        kind = {1: "sum", math.inf: "max", -math.inf: "min"}[ord]
        return _reduce_axes(B, kind, B.ufunc("absolute", x), _axes(axis, nd), bool(keepdims))
    raise B.unsupported(f"numpy.linalg.norm with ord={ord!r}, axis={axis!r}")


# ------------------------------------------------------ shape and indexing --
def reshape(a, *args, **kwargs):
    B = backend_of(a)
    shape = args[0] if args else kwargs.pop("shape", kwargs.pop("newshape", None))
    order = args[1] if len(args) > 1 else kwargs.pop("order", "C")
    kwargs.pop("copy", None)
    if order != "C" or kwargs:
        raise B.unsupported(f"numpy.reshape with order={order!r}" if order != "C"
                            else f"numpy.reshape with {sorted(kwargs)}")
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    return B.reshape(a, tuple(int(d) for d in shape))


def ravel(a, order="C"):
    B = backend_of(a)
    if order != "C":
        raise B.unsupported(f"numpy.ravel with order={order!r}")
    return B.reshape(a, (-1,))


def _index_rule(func: Callable) -> Callable:
    """A NumPy function that only selects and rearranges elements: applied
    to the indices of x, it says which element goes where."""
    def rule(a, *args, **kwargs):
        B = backend_of(a)
        if any(B.is_var(v) for v in args) or any(B.is_var(v) for v in kwargs.values()):
            raise B.unsupported(f"numpy.{func.__name__} with a differentiable array in an "
                                "argument other than the first")
        return _select(B, a, np.asarray(func(_indices(_shape(a)), *args, **kwargs)))
    rule.__name__ = func.__name__
    return rule


def _filled_rule(func: Callable) -> Callable:
    """A NumPy function that selects elements and fills the rest with 0."""
    def rule(a, *args, **kwargs):
        B = backend_of(a)
        idx = np.asarray(func(_indices(_shape(a)) + 1, *args, **kwargs))
        picked = B.gather(a, np.maximum(idx - 1, 0))
        return B.where(idx > 0, picked, 0.0)
    rule.__name__ = func.__name__
    return rule


def transpose(a, axes=None):
    return _select(backend_of(a), a, np.transpose(_indices(_shape(a)), axes))


def squeeze(a, axis=None):
    return backend_of(a).reshape(a, np.squeeze(np.empty(_shape(a), np.int8), axis).shape)


def expand_dims(a, axis):
    return backend_of(a).reshape(a, np.expand_dims(np.empty(_shape(a), np.int8), axis).shape)


def _atleast(nd: int, arys: tuple) -> Any:
    res = []
    for a in arys:
        if hasattr(a, "_fg_backend"):
            short = nd - len(a.shape)
            shape = ((1,) * short + a.shape) if nd == 2 or not a.shape else a.shape
            res.append(a._fg_backend.reshape(a, shape) if short > 0 else a)
        else:
            res.append(np.atleast_1d(a) if nd == 1 else np.atleast_2d(a))
    return res[0] if len(res) == 1 else res


def atleast_1d(*arys):
    return _atleast(1, arys)


def atleast_2d(*arys):
    return _atleast(2, arys)


def _diag(v, k=0):
    if _ndim(v) == 1:
        return _filled_rule(np.diag)(v, k)
    return _index_rule(np.diag)(v, k)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    B = backend_of(a)
    check_no_out(B, out, "trace")
    d = _index_rule(np.diagonal)(a, offset, axis1, axis2)
    return _reduce_axes(B, "sum", d, (_ndim(d) - 1,), False)


def take(a, indices, axis=None, out=None, mode="raise"):
    B = backend_of(a)
    check_no_out(B, out, "take")
    if mode != "raise" or B.is_var(indices):
        raise B.unsupported("numpy.take with mode= or a differentiable index")
    if axis is None:
        return B.getitem(B.reshape(a, (-1,)), np.asarray(indices))
    ax = _one_axis(axis, _ndim(a))
    return B.getitem(a, (slice(None),) * ax + (np.asarray(indices),))


def take_along_axis(arr, indices, axis):
    B = backend_of(arr)
    if B.is_var(indices):
        raise B.unsupported("numpy.take_along_axis with a differentiable index")
    if axis is None:
        return B.gather(arr, np.take_along_axis(np.arange(math.prod(_shape(arr))), indices, None))
    return B.gather(arr, np.take_along_axis(_indices(_shape(arr)), indices, axis))


def broadcast_to(a, shape, subok=False):
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return _select(backend_of(a), a, np.broadcast_to(_indices(_shape(a)), shape).copy())


def concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    xs = list(arrays)
    B = backend_of(*xs)
    check_no_out(B, out, "concatenate")
    if axis is None:
        xs, axis = [_reshape_operand(B, x, (-1,)) for x in xs], 0
    if any(_ndim(x) == 0 for x in xs):
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    return B.concatenate(xs, _one_axis(axis, _ndim(xs[0])))


def stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    xs = list(arrays)
    B = backend_of(*xs)
    check_no_out(B, out, "stack")
    if not xs:
        raise ValueError("need at least one array to stack")
    shapes = {_shape(x) for x in xs}
    if len(shapes) != 1:
        raise ValueError("all input arrays must have the same shape")
    shape = shapes.pop()
    ax = _one_axis(axis, len(shape) + 1)
    new = shape[:ax] + (1,) + shape[ax:]
    return B.concatenate([_reshape_operand(B, x, new) for x in xs], ax)


def hstack(tup, dtype=None, casting="same_kind"):
    xs = atleast_1d(*tup)
    xs = [xs] if not isinstance(xs, list) else xs
    return concatenate(xs, axis=0 if _ndim(xs[0]) == 1 else 1)


def vstack(tup, dtype=None, casting="same_kind"):
    xs = atleast_2d(*tup)
    return concatenate([xs] if not isinstance(xs, list) else xs, axis=0)


def where(condition, x=_NoValue, y=_NoValue):
    B = backend_of(condition, x, y)
    if x is _NoValue or y is _NoValue:
        raise B.unsupported("numpy.where with one argument (the indices depend on values)")
    return B.where(condition, x, y)


def clip(a, a_min=_NoValue, a_max=_NoValue, out=None, *, min=None, max=None, **kwargs):
    B = backend_of(a)
    check_no_out(B, out, "clip")
    if kwargs:
        raise B.unsupported(f"numpy.clip with {sorted(kwargs)}")
    lo = min if a_min is _NoValue or a_min is None else a_min
    hi = max if a_max is _NoValue or a_max is None else a_max
    r = a
    if lo is not None:
        r = B.ufunc("maximum", r, lo)
    if hi is not None:
        r = B.ufunc("minimum", r, hi)
    return r


def zeros_like(a, dtype=None, order="K", subok=True, shape=None, **kwargs):
    return backend_of(a).constant_like(a, np.zeros(_shape(a) if shape is None else shape,
                                                   dtype or a.dtype))


def ones_like(a, dtype=None, order="K", subok=True, shape=None, **kwargs):
    return backend_of(a).constant_like(a, np.ones(_shape(a) if shape is None else shape,
                                                  dtype or a.dtype))


def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, **kwargs):
    B = backend_of(a)
    if B.is_var(fill_value):
        raise B.unsupported("numpy.full_like with a differentiable fill value")
    return B.constant_like(a, np.full(_shape(a) if shape is None else shape, fill_value,
                                      dtype or a.dtype))


FUNCTIONS: dict = {
    np.sum: sum_, np.mean: mean, np.prod: prod, np.cumsum: cumsum, np.diff: diff,
    np.var: var, np.std: std,
    np.max: max_, np.min: min_, np.amax: max_, np.amin: min_,
    np.dot: dot, np.vdot: vdot, np.inner: inner, np.outer: outer, np.einsum: einsum,
    np.matmul: matmul, np.linalg.norm: norm,
    np.reshape: reshape, np.ravel: ravel, np.transpose: transpose, np.squeeze: squeeze,
    np.expand_dims: expand_dims, np.atleast_1d: atleast_1d, np.atleast_2d: atleast_2d,
    np.broadcast_to: broadcast_to, np.trace: trace, np.take: take,
    np.take_along_axis: take_along_axis, np.diag: _diag,
    np.concatenate: concatenate, np.stack: stack, np.hstack: hstack, np.vstack: vstack,
    np.where: where, np.clip: clip,
    np.zeros_like: zeros_like, np.ones_like: ones_like, np.empty_like: zeros_like,
    np.full_like: full_like,
    np.copy: lambda a, order="K", subok=False: backend_of(a).copy(a),
    np.shape: lambda a: tuple(a.shape), np.ndim: lambda a: len(a.shape),
    np.size: lambda a, axis=None: math.prod(a.shape) if axis is None else a.shape[axis],
}
FUNCTIONS.update({f: _index_rule(f) for f in (
    np.flip, np.fliplr, np.flipud, np.roll, np.rot90, np.tile, np.repeat, np.diagonal,
    np.moveaxis, np.swapaxes)})
FUNCTIONS.update({f: _filled_rule(f) for f in (np.triu, np.tril)})
"""NumPy function -> rule: every function both array types support."""
