"""Forward-mode dual arrays: ordinary NumPy code, differentiated exactly.

A :class:`DualArray` carries a value of shape ``S`` and a tangent of shape
``S + (k,)``: k directional derivatives carried along in one pass (chunked
forward mode, as in ForwardDiff.jl). It implements NumPy's
``__array_ufunc__`` and ``__array_function__`` protocols, so a function
written for ndarrays runs on it unchanged. Elementwise rules run in the C
kernels of ``csrc/fg_dual.c``, generated from the op table ``csrc/fg_ops.def``
(looked up here through ``fastgrad._ops.OP_CODES``); reductions, products and
reshaping use NumPy on the value and tangent arrays (they are linear in the
tangent, and products get the product rule written out).

Second derivatives use hyper-dual numbers, not nesting: a hyper-dual array
``x = a + b e1 + c e2 + d e1e2`` stores ``[b | c | d]`` packed in a tangent of
width ``2k + 1`` (see ``csrc/fg_dual.h``). Every linear or structural
operation treats that packed tangent exactly like an ordinary one; only
elementwise rules (C kernels with the table's second-derivative columns) and
products (an extra cross term) differ. Nested ``DualArray(DualArray)`` is not
supported and raises ``TypeError``. Each differentiation call tags its duals,
and an operation that mixes two tags (an outer dual captured by an inner
``gradient`` call) raises ``TypeError`` instead of silently confusing the
perturbations.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fastgrad import _dual as _cdual
from fastgrad._ops import OP_CODES, row_of

__all__ = ["DualArray", "dual", "DUAL_FUNCTIONS"]

_UNARY, _BINARY, _COMPARE = 0, 1, 2
_KINDS = {"unary": _UNARY, "binary": _BINARY, "compare": _COMPARE}

_ADD, _SUB, _MUL, _DIV = OP_CODES["add"], OP_CODES["subtract"], OP_CODES["multiply"], OP_CODES["divide"]
_POW, _NEG, _ABS, _SQUARE = OP_CODES["power"], OP_CODES["negative"], OP_CODES["absolute"], OP_CODES["square"]
_MAX, _MIN = OP_CODES["maximum"], OP_CODES["minimum"]

# Predicates on values only (their derivative is zero where defined).
_VALUE_UFUNCS = (np.isfinite, np.isnan, np.isinf, np.signbit, np.logical_not, np.logical_and,
                 np.logical_or, np.logical_xor)

_F64 = np.dtype(np.float64)
_F32 = np.dtype(np.float32)

_FD_HINT = ('use a finite-difference method instead, e.g. '
            'fastgrad.gradient(f, x, method="central")')


def _unsupported(what: str) -> TypeError:
    return TypeError(f"{what} is not supported on DualArray (forward-mode dual numbers); "
                     + _FD_HINT)


def _mixed_tags() -> TypeError:
    return TypeError(
        "an operation mixes dual numbers from two different differentiation calls "
        "(for example a gradient taken inside a function that is itself being "
        "differentiated). Nested dual numbers are not supported: use "
        "fastgrad.hessian for second derivatives, or a finite-difference method")


class DualArray:
    """An array of dual numbers: a value and k tangent components per element.

    Parameters
    ----------
    value : array_like of real numbers, shape ``S``
        The primal values. float32 stays float32; anything else becomes
        float64.
    tangent : array_like of real numbers, shape ``S + (k,)``
        ``tangent[..., j]`` is the derivative of ``value`` along direction j.
    tag : int, optional
        Perturbation tag. Operations between duals of different tags raise
        ``TypeError`` (perturbation confusion guard). ``fastgrad.gradient`` and
        friends give each call its own tag; user-made duals share tag 0.

    Notes
    -----
    For an elementwise rule ``y = f(x)``, ``y.tangent = f'(x) * x.tangent``;
    for ``y = f(a, b)``, ``y.tangent = f_a a.tangent + f_b b.tangent``, where a
    constant operand's partial is never evaluated (no NaN from a rule like
    ``d/db a**b = a**b log a`` at ``a < 0`` when ``b`` is a constant).
    Comparisons compare values and return plain boolean arrays, so branches
    (``np.where``, ``if x > 0``) follow the value.

    Example
    -------
    >>> import numpy as np
    >>> from fastgrad import DualArray
    >>> x = DualArray(np.array([1.0, 2.0]), np.eye(2))
    >>> y = np.sum(x ** 2) + np.sin(x[0])
    >>> float(y.value), y.tangent.round(6).tolist()
    (5.841470984807897, [2.540302, 4.0])
    """

    __slots__ = ("value", "tangent", "_tag", "_hyper")
    __array_priority__ = 100.0
    __hash__ = None  # type: ignore[assignment]  # __eq__ is elementwise

    def __init__(self, value: Any, tangent: Any, *, tag: int = 0) -> None:
        if isinstance(value, DualArray) or isinstance(tangent, DualArray):
            raise TypeError("nested DualArray (a dual whose value or tangent is a DualArray) "
                            "is not supported; for second derivatives use fastgrad.hessian, "
                            "which uses hyper-dual numbers")
        v = _as_real_array(value, "value")
        t = _as_real_array(tangent, "tangent")
        dtype = _F32 if (v.dtype == _F32 and t.dtype == _F32) else _F64
        if t.ndim != v.ndim + 1 or t.shape[:-1] != v.shape:
            raise ValueError(f"tangent must have shape value.shape + (k,) = {v.shape} + (k,), "
                             f"got {t.shape}")
        self.value = np.asarray(v, dtype=dtype, order="C")
        self.tangent = np.asarray(t, dtype=dtype, order="C")
        self._tag = int(tag)
        self._hyper = False

    # ------------------------------------------------------------ basics --
    @property
    def shape(self) -> tuple:
        return self.value.shape

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def size(self) -> int:
        return self.value.size

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    @property
    def k(self) -> int:
        """Number of directions carried (for a hyper-dual: the e1 directions)."""
        m = self.tangent.shape[-1]
        return (m - 1) // 2 if self._hyper else m

    @property
    def T(self) -> "DualArray":
        return _transpose(self)

    def __len__(self) -> int:
        return len(self.value)

    def __iter__(self):
        for i in range(len(self.value)):
            yield self[i]

    def __repr__(self) -> str:
        kind = "hyper-dual" if self._hyper else "dual"
        return (f"DualArray({kind}, value={self.value!r}, "
                f"tangent shape={self.tangent.shape})")

    def __bool__(self) -> bool:
        return bool(self.value)

    def __float__(self) -> float:
        raise TypeError("float() of a DualArray would drop its derivative; keep it as an "
                        "array (use x.value for the plain value). If f needs a plain float, "
                        + _FD_HINT)

    def __int__(self) -> int:
        raise TypeError("int() of a DualArray would drop its derivative (use x.value)")

    def __complex__(self) -> complex:
        raise TypeError("complex() of a DualArray is not supported")

    def __array__(self, dtype=None, copy=None):
        raise TypeError("a DualArray cannot become a plain ndarray (np.asarray, np.array, "
                        "float() drop the derivative): build arrays of duals with np.stack "
                        "or np.concatenate instead of np.array([...]), remove the "
                        "conversion from f, or " + _FD_HINT)

    # ------------------------------------------------------ arithmetic --
    def __add__(self, other):
        return _binary(_ADD, self, other)

    def __radd__(self, other):
        return _binary(_ADD, other, self)

    def __sub__(self, other):
        return _binary(_SUB, self, other)

    def __rsub__(self, other):
        return _binary(_SUB, other, self)

    def __mul__(self, other):
        return _binary(_MUL, self, other)

    def __rmul__(self, other):
        return _binary(_MUL, other, self)

    def __truediv__(self, other):
        return _binary(_DIV, self, other)

    def __rtruediv__(self, other):
        return _binary(_DIV, other, self)

    def __pow__(self, other):
        # x**2 is x*x exactly; the square rule is cheaper than pow's.
        if type(other) is int and other == 2:
            return _unary(_SQUARE, self)
        return _binary(_POW, self, other)

    def __rpow__(self, other):
        return _binary(_POW, other, self)

    def __neg__(self):
        return _unary(_NEG, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _unary(_ABS, self)

    def __matmul__(self, other):
        return _matmul(self, other)

    def __rmatmul__(self, other):
        return _matmul(other, self)

    def __floordiv__(self, other):
        return np.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return np.floor_divide(other, self)

    def __mod__(self, other):
        return np.remainder(self, other)

    def __rmod__(self, other):
        return np.remainder(other, self)

    # Comparisons look at values only and return plain boolean arrays.
    def __lt__(self, other):
        return self.value < _value_of(other)

    def __le__(self, other):
        return self.value <= _value_of(other)

    def __gt__(self, other):
        return self.value > _value_of(other)

    def __ge__(self, other):
        return self.value >= _value_of(other)

    def __eq__(self, other):  # type: ignore[override]
        return self.value == _value_of(other)

    def __ne__(self, other):  # type: ignore[override]
        return self.value != _value_of(other)

    # ------------------------------------------------ indexing / shape --
    def __getitem__(self, index):
        if isinstance(index, DualArray):
            raise TypeError("a DualArray cannot be used as an index")
        v = self.value[index]
        t = self.tangent[_tangent_index(index)]
        if type(v) is not np.ndarray:
            v = np.asarray(v)
        return _new(_contig(v), _contig(t), self._tag, self._hyper)

    def __setitem__(self, index, item) -> None:
        if isinstance(index, DualArray):
            raise TypeError("a DualArray cannot be used as an index")
        tindex = _tangent_index(index)
        if isinstance(item, DualArray):
            _check_same(self, item)
            self.value[index] = item.value
            self.tangent[tindex] = item.tangent
        else:
            self.value[index] = _const_value(item)
            self.tangent[tindex] = 0.0

    def reshape(self, *shape, order: str = "C") -> "DualArray":
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        return _reshape(self, shape, order=order)

    def ravel(self) -> "DualArray":
        return _reshape(self, (-1,))

    def flatten(self) -> "DualArray":
        return _reshape(self, (-1,))

    def transpose(self, *axes) -> "DualArray":
        spec: Any = axes    # a.transpose(1, 0), or one argument: None or a sequence of axes
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], (int, np.integer))):
            spec = axes[0]
        return _transpose(self, spec if spec else None)

    def squeeze(self, axis=None) -> "DualArray":
        return _squeeze(self, axis)

    def sum(self, axis=None, dtype=None, out=None, keepdims=False) -> "DualArray":
        return _sum(self, axis, dtype, out, keepdims)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False) -> "DualArray":
        return _mean(self, axis, dtype, out, keepdims)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False) -> "DualArray":
        return _prod(self, axis, dtype, out, keepdims)

    def max(self, axis=None, out=None, keepdims=False) -> "DualArray":
        return _max(self, axis, out, keepdims)

    def min(self, axis=None, out=None, keepdims=False) -> "DualArray":
        return _min(self, axis, out, keepdims)

    def cumsum(self, axis=None, dtype=None, out=None) -> "DualArray":
        return _cumsum(self, axis, dtype, out)

    def dot(self, other) -> "DualArray":
        return _dot(self, other)

    def copy(self) -> "DualArray":
        return _new(self.value.copy(), self.tangent.copy(), self._tag, self._hyper)

    def astype(self, dtype, copy: bool = True) -> "DualArray":
        dt = np.dtype(dtype)
        if dt not in (_F32, _F64):
            raise TypeError(f"a DualArray holds float32 or float64, not {dt}")
        return _new(self.value.astype(dt), self.tangent.astype(dt), self._tag, self._hyper)

    def clip(self, min=None, max=None) -> "DualArray":
        return _clip(self, min, max)

    # --------------------------------------------------- NumPy protocols --
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__":
            raise _unsupported(f"numpy.{ufunc.__name__}.{method}")
        if kwargs:
            out = kwargs.pop("out", None)
            if out is not None and any(o is not None for o in out):
                raise TypeError(f"numpy.{ufunc.__name__} with out= is not supported on "
                                "DualArray (results are new arrays)")
            dt = kwargs.pop("dtype", None)
            if dt is not None and np.dtype(dt).kind != "f":
                raise TypeError(f"numpy.{ufunc.__name__} with a non-float dtype would drop "
                                "the derivative")
            if kwargs.get("where", True) is not True:
                raise TypeError(f"numpy.{ufunc.__name__} with where= is not supported on "
                                "DualArray")
        row = row_of(ufunc)   # the op table row bound to this ufunc (numpy.exp, scipy.special.erf)
        if row is not None:
            code, kind = row.code, _KINDS[row.kind]
            if kind == _UNARY:
                return _unary(code, inputs[0])
            if kind == _BINARY:
                return _binary(code, inputs[0], inputs[1])
            return ufunc(_value_of(inputs[0]), _value_of(inputs[1]))
        if ufunc is np.matmul:
            return _matmul(inputs[0], inputs[1])
        if ufunc in _VALUE_UFUNCS:
            return ufunc(*[_value_of(i) for i in inputs])
        raise _unsupported(f"numpy.{ufunc.__name__}")

    def __array_function__(self, func, types, args, kwargs):
        for t in types:   # NumPy's protocol: defer to unknown array types
            if not (t is DualArray or issubclass(t, np.ndarray)):
                return NotImplemented
        impl = _FUNCTIONS.get(func)
        if impl is None:
            name = getattr(func, "__module__", "numpy") + "." + getattr(func, "__name__", str(func))
            raise _unsupported(name.replace("numpy._core.", "numpy.").replace(
                "numpy.core.", "numpy."))
        return impl(*args, **kwargs)


# ----------------------------------------------------------------- helpers --
_object_new = object.__new__


def _new(v: np.ndarray, t: np.ndarray, tag: int, hyper: bool) -> DualArray:
    """Internal constructor: no checks (v, t C-contiguous, t.shape == v.shape + (m,))."""
    d = _object_new(DualArray)
    d.value = v
    d.tangent = t
    d._tag = tag
    d._hyper = hyper
    return d


def _contig(a: np.ndarray) -> np.ndarray:
    return a if a.flags.c_contiguous else np.asarray(a, order="C")


def _ccopy(a: Any, dtype: Any = None) -> np.ndarray:
    """C-contiguous (copy only if needed); unlike np.ascontiguousarray it
    keeps 0-d arrays 0-d."""
    return np.asarray(a, dtype=dtype, order="C")


def _as_real_array(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    return a


def _value_of(x: Any) -> Any:
    return x.value if isinstance(x, DualArray) else x


def _const_value(x: Any) -> np.ndarray:
    if isinstance(x, np.ndarray):
        a = x
    else:
        a = np.asarray(x)
    if a.dtype.kind not in "fiub":
        if a.dtype.kind == "c":
            raise TypeError("complex constants are not supported on DualArray (complex step "
                            "is a finite-difference method: method=\"complex\")")
        raise TypeError(f"cannot combine a DualArray with a {a.dtype} array")
    return a


def _tangent_index(index):
    """The index that applies `index` (written for the value) to the tangent,
    whose extra last axis must stay untouched: only an Ellipsis needs help."""
    if index is Ellipsis:
        return index
    if type(index) is tuple:
        for i in index:
            if i is Ellipsis:
                return index + (slice(None),)
    return index


def _check_same(a: DualArray, b: DualArray) -> None:
    if a._tag != b._tag:
        raise _mixed_tags()
    if a._hyper != b._hyper or a.tangent.shape[-1] != b.tangent.shape[-1]:
        raise ValueError(f"DualArrays with different tangent widths ({a.tangent.shape[-1]} "
                         f"and {b.tangent.shape[-1]}) cannot be combined")


def _to_f64(x: DualArray) -> DualArray:
    return _new(x.value.astype(_F64), x.tangent.astype(_F64), x._tag, x._hyper)


def _promote_const(c: Any, dtype: np.dtype) -> np.ndarray:
    """A constant operand as a C-contiguous float array. Python scalars take
    the dual's dtype (NumPy's weak scalars); arrays promote as NumPy does."""
    tc = type(c)
    if tc is float or tc is int or tc is bool:
        return np.array(c, dtype=dtype)
    a = _const_value(c)
    if a.dtype == dtype:
        return _contig(a)
    if a.dtype == _F32 or a.dtype == _F64:
        return _ccopy(a, dtype=_F64)
    return _ccopy(a, dtype=_F64 if a.dtype.itemsize > 2 or dtype == _F64 else dtype)


def _unary(code: int, x: DualArray) -> DualArray:
    y, ty = _cdual.unary(code, x.value, x.tangent, x._hyper)
    return _new(y, ty, x._tag, x._hyper)


def _binary(code: int, a: Any, b: Any) -> DualArray:
    if isinstance(a, DualArray):
        if isinstance(b, DualArray):
            if b._tag != a._tag or b._hyper != a._hyper:
                _check_same(a, b)
            if a.value.dtype != b.value.dtype:
                a, b = _to_f64(a), _to_f64(b)
            av, at, bv, bt = a.value, a.tangent, b.value, b.tangent
        else:
            tb_ = type(b)
            if tb_ is float or tb_ is int:
                # fast path: the kernel broadcasts a Python scalar itself
                y, ty = _cdual.binary(code, a.value, a.tangent, b, None, a._hyper)
                return _new(y, ty, a._tag, a._hyper)
            av, at = a.value, a.tangent
            bv = _promote_const(b, av.dtype)
            bt = None
            if bv.dtype != av.dtype:
                a = _to_f64(a)
                av, at = a.value, a.tangent
        tag, hyper = a._tag, a._hyper
    else:
        ta_ = type(a)
        if ta_ is float or ta_ is int:
            y, ty = _cdual.binary(code, a, None, b.value, b.tangent, b._hyper)
            return _new(y, ty, b._tag, b._hyper)
        bv, bt = b.value, b.tangent
        av = _promote_const(a, bv.dtype)
        at = None
        if av.dtype != bv.dtype:
            b = _to_f64(b)
            bv, bt = b.value, b.tangent
        tag, hyper = b._tag, b._hyper
    sa, sb = av.shape, bv.shape
    if sa != sb:
        # The kernel broadcasts one size-1 operand itself; anything else is
        # broadcast here (copies, so the kernel sees contiguous arrays).
        if not ((av.size == 1 and av.ndim <= bv.ndim) or (bv.size == 1 and bv.ndim <= av.ndim)):
            shape = np.broadcast_shapes(sa, sb)
            m = (at if at is not None else bt).shape[-1]
            if sa != shape:
                av = _ccopy(np.broadcast_to(av, shape))
                if at is not None:
                    at = _ccopy(np.broadcast_to(at, shape + (m,)))
            if sb != shape:
                bv = _ccopy(np.broadcast_to(bv, shape))
                if bt is not None:
                    bt = _ccopy(np.broadcast_to(bt, shape + (m,)))
    y, ty = _cdual.binary(code, av, at, bv, bt, hyper)
    return _new(y, ty, tag, hyper)


def _lead(*xs: Any) -> DualArray:
    """The first DualArray among xs (checking tags and widths agree)."""
    lead = None
    for x in xs:
        if isinstance(x, DualArray):
            if lead is None:
                lead = x
            elif x._tag != lead._tag or x._hyper != lead._hyper or \
                    x.tangent.shape[-1] != lead.tangent.shape[-1]:
                _check_same(lead, x)
    if lead is None:
        raise TypeError("no DualArray among the arguments")
    return lead


def _parts(x: Any, lead: DualArray):
    """(value, tangent or None) of an operand; constants get None."""
    if isinstance(x, DualArray):
        return x.value, x.tangent
    return _const_value(x), None


def _result_dtype(*values: np.ndarray) -> np.dtype:
    return _F32 if all(v.dtype == _F32 for v in values) else _F64


def _norm_axis(axis: Any, ndim: int, name: str = "axis"):
    """axis (None, int or tuple) as a tuple of non-negative ints (None -> all)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim)
        out.append(a % ndim)
    return tuple(out)


def _one_axis(axis: Any, ndim: int) -> int:
    a = int(axis)
    if not -ndim <= a < ndim:
        raise np.exceptions.AxisError(a, ndim)
    return a % ndim


def _no_out(out: Any, name: str) -> None:
    if out is not None:
        raise TypeError(f"numpy.{name} with out= is not supported on DualArray")


def _check_dtype(dtype: Any, name: str) -> None:
    if dtype is not None and np.dtype(dtype).kind != "f":
        raise TypeError(f"numpy.{name} with a non-float dtype would drop the derivative")


def _as0d(v: Any) -> np.ndarray:
    return v if type(v) is np.ndarray else np.asarray(v)


# ---------------------------------------------------------- reductions --
def _sum(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
    _no_out(out, "sum")
    _check_dtype(dtype, "sum")
    _no_extra(kwargs, "sum")
    if axis is None and not keepdims:
        # the common full reduction, without axis bookkeeping
        t = a.tangent
        return _new(np.asarray(np.add.reduce(a.value, axis=None)),
                    np.add.reduce(t.reshape(a.value.size, t.shape[-1]), axis=0), a._tag, a._hyper)
    ax = _norm_axis(axis, a.ndim)
    v = _as0d(np.add.reduce(a.value, axis=ax, keepdims=keepdims))
    t = np.add.reduce(a.tangent, axis=ax, keepdims=keepdims)
    return _new(_contig(v), _contig(t), a._tag, a._hyper)


def _mean(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
    _no_out(out, "mean")
    _check_dtype(dtype, "mean")
    _no_extra(kwargs, "mean")
    ax = _norm_axis(axis, a.ndim)
    count = 1
    for i in ax:
        count *= a.value.shape[i]
    s = _sum(a, ax, keepdims=keepdims)
    return _binary(_DIV, s, float(count))


def _no_extra(kwargs: dict, name: str) -> None:
    for key, val in kwargs.items():
        if key == "initial" and val is np._NoValue:
            continue
        if key == "where" and val is True:
            continue
        raise TypeError(f"numpy.{name} with {key}= is not supported on DualArray")


def _prod(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
    _no_out(out, "prod")
    _check_dtype(dtype, "prod")
    _no_extra(kwargs, "prod")
    if axis is None:
        x = _reshape(a, (-1,))
        r = _prod(x, 0)
        return _reshape(r, (1,) * a.ndim) if keepdims else r
    ax = _norm_axis(axis, a.ndim)
    if len(ax) != 1:
        r = a
        for i in sorted(ax, reverse=True):
            r = _prod(r, i, keepdims=keepdims)
        return r
    ax = ax[0]
    if a._hyper or a.value.shape[ax] == 0:
        # Hyper-duals (and empty axes): multiply the slices one by one; the
        # multiply kernel carries the second-order cross terms.
        n = a.value.shape[ax]
        r = None
        for i in range(n):
            s = _take(a, i, ax)
            r = s if r is None else _binary(_MUL, r, s)
        if r is None:
            shape = a.value.shape[:ax] + a.value.shape[ax + 1:]
            r = _new(np.ones(shape, a.dtype), np.zeros(shape + (a.tangent.shape[-1],), a.dtype),
                     a._tag, a._hyper)
        return _expand(r, ax) if keepdims else r
    # Product rule: d prod = sum_i (prod_{j != i} v_j) t_i, with the
    # "others" product from exclusive left and right running products (exact
    # with zeros, no division).
    v = np.moveaxis(a.value, ax, -1)
    ones = np.ones(v.shape[:-1] + (1,), v.dtype)
    left = np.concatenate([ones, np.cumprod(v[..., :-1], axis=-1)], axis=-1)
    right = np.concatenate([np.cumprod(v[..., :0:-1], axis=-1)[..., ::-1], ones], axis=-1)
    others = np.moveaxis(left * right, -1, ax)
    y = _as0d(np.prod(a.value, axis=ax, keepdims=keepdims))
    t = np.sum(others[..., None] * a.tangent, axis=ax, keepdims=keepdims)
    return _new(_contig(y), _contig(t), a._tag, a._hyper)


def _take(a: DualArray, i: int, axis: int) -> DualArray:
    idx = (slice(None),) * axis + (i,)
    return a[idx]


def _expand(a: DualArray, axis: int) -> DualArray:
    shape = a.value.shape[:axis] + (1,) + a.value.shape[axis:]
    return _reshape(a, shape)


def _cumsum(a, axis=None, dtype=None, out=None):
    _no_out(out, "cumsum")
    _check_dtype(dtype, "cumsum")
    if axis is None:
        a = _reshape(a, (-1,))
        axis = 0
    ax = _one_axis(axis, a.ndim)
    return _new(np.cumsum(a.value, axis=ax), np.cumsum(a.tangent, axis=ax), a._tag, a._hyper)


def _diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    if prepend is not np._NoValue or append is not np._NoValue:
        raise TypeError("numpy.diff with prepend=/append= is not supported on DualArray")
    ax = _one_axis(axis, a.ndim)
    return _new(np.diff(a.value, n, axis=ax), _contig(np.diff(a.tangent, n, axis=ax)),
                a._tag, a._hyper)


# ------------------------------------------------------------ products --
def _mm_left(t: np.ndarray, b: np.ndarray, a_ndim: int) -> np.ndarray:
    """matmul(A, b) with A replaced by tangent t (shape A.shape + (m,)),
    returned as shape result.shape + (m,)."""
    if a_ndim == 1:
        r = np.matmul(t.T, b)           # (m, p) @ b
        return r if b.ndim == 1 else np.moveaxis(r, -2, -1)
    tm = np.moveaxis(t, -1, 0)
    if b.ndim > a_ndim:
        tm = tm.reshape((tm.shape[0],) + (1,) * (b.ndim - a_ndim) + tm.shape[1:])
    return np.moveaxis(np.matmul(tm, b), 0, -1)


def _mm_right(a: np.ndarray, t: np.ndarray, b_ndim: int) -> np.ndarray:
    """matmul(a, B) with B replaced by tangent t, as result.shape + (m,)."""
    if b_ndim == 1:
        return np.matmul(a, t)          # a @ (p, m)
    tm = np.moveaxis(t, -1, 0)
    if a.ndim > b_ndim:
        tm = tm.reshape((tm.shape[0],) + (1,) * (a.ndim - b_ndim) + tm.shape[1:])
    return np.moveaxis(np.matmul(a, tm), 0, -1)


def _matmul(a: Any, b: Any) -> DualArray:
    lead = _lead(a, b)
    av, at = _parts(a, lead)
    bv, bt = _parts(b, lead)
    if av.ndim == 0 or bv.ndim == 0:
        raise ValueError("matmul: input operand does not have enough dimensions")
    dtype = _result_dtype(av, bv)
    av, bv = av.astype(dtype, copy=False), bv.astype(dtype, copy=False)
    y = _as0d(np.matmul(av, bv))
    t = None
    if at is not None:
        t = _mm_left(at.astype(dtype, copy=False), bv, av.ndim)
    if bt is not None:
        tr = _mm_right(av, bt.astype(dtype, copy=False), bv.ndim)
        t = tr if t is None else t + tr
    t = np.array(t, dtype=dtype, order="C")
    if lead._hyper and at is not None and bt is not None:
        k = lead.k
        # e1e2 cross terms: B(b_a, c_b) + B(c_a, b_b)
        t[..., k + 1:] += (_mm_left(at[..., :k], bt[..., k], av.ndim)
                           + _mm_right(at[..., k], bt[..., :k], bv.ndim))
    return _new(_contig(y.astype(dtype, copy=False)), t, lead._tag, lead._hyper)


def _dot(a, b, out=None):
    _no_out(out, "dot")
    na, nb = np.ndim(_value_of(a)), np.ndim(_value_of(b))
    if na == 0 or nb == 0:
        return _binary(_MUL, a, b)
    if na <= 2 and nb <= 2:
        return _matmul(a, b)
    raise _unsupported("numpy.dot of arrays with more than 2 dimensions (use numpy.matmul "
                       "or numpy.einsum)")


def _vdot(a, b):
    return _matmul(_reshape_any(a), _reshape_any(b))


def _inner(a, b):
    na, nb = np.ndim(_value_of(a)), np.ndim(_value_of(b))
    if na == 0 or nb == 0:
        return _binary(_MUL, a, b)
    if na == 1 and nb == 1:
        return _matmul(a, b)
    raise _unsupported("numpy.inner of arrays with more than 1 dimension (use numpy.einsum)")


def _reshape_any(x, shape=(-1,)):
    if isinstance(x, DualArray):
        return _reshape(x, shape)
    return np.reshape(_const_value(x), shape)


def _outer(a, b, out=None):
    _no_out(out, "outer")
    return _binary(_MUL, _reshape_any(a, (-1, 1)), _reshape_any(b, (1, -1)))


def _einsum(subscripts, *operands, out=None, optimize=False, **kwargs):
    _no_out(out, "einsum")
    if kwargs:
        raise TypeError(f"numpy.einsum with {sorted(kwargs)} is not supported on DualArray")
    if not isinstance(subscripts, str):
        raise _unsupported("numpy.einsum in the interleaved (operand, sublist) form")
    subs = subscripts.replace(" ", "")
    if "->" in subs:
        ins, outs = subs.split("->")
    else:
        ins = subs
        letters = [c for c in ins if c.isalpha()]
        outs = ("..." if "..." in ins else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1))
    in_list = ins.split(",")
    if len(in_list) != len(operands):
        raise ValueError("einsum: the number of subscripts and operands differ")
    lead = _lead(*operands)
    used = set(subs)
    z = next(c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in used)
    parts = [_parts(o, lead) for o in operands]
    vals = [p[0] for p in parts]
    dtype = _result_dtype(*vals)
    vals = [v.astype(dtype, copy=False) for v in vals]
    y = _as0d(np.einsum(subs if "->" in subs else ins + "->" + outs, *vals, optimize=optimize))
    t = None
    for i, (_, ti) in enumerate(parts):
        if ti is None:
            continue
        spec = ",".join(s + z if j == i else s for j, s in enumerate(in_list)) + "->" + outs + z
        ops = [ti.astype(dtype, copy=False) if j == i else v for j, v in enumerate(vals)]
        term = np.einsum(spec, *ops, optimize=optimize)
        t = term if t is None else t + term
    t = np.array(t, dtype=dtype, order="C")
    if lead._hyper:
        k = lead.k
        for i, (_, ti) in enumerate(parts):
            for j, (_, tj) in enumerate(parts):
                if i == j or ti is None or tj is None:
                    continue
                # e1e2 cross term: operand i's e1 part times operand j's e2 part
                spec = ",".join(s + z if q == i else s for q, s in enumerate(in_list)) + \
                    "->" + outs + z
                ops = [ti[..., :k].astype(dtype, copy=False) if q == i else
                       (tj[..., k].astype(dtype, copy=False) if q == j else v)
                       for q, v in enumerate(vals)]
                t[..., k + 1:] += np.einsum(spec, *ops, optimize=optimize)
    return _new(_contig(y), t, lead._tag, lead._hyper)


# ------------------------------------------------------- shape changes --
def _reshape(a, shape, order="C", **kwargs):
    if "newshape" in kwargs:
        shape = kwargs.pop("newshape")
    if kwargs:
        raise TypeError(f"numpy.reshape with {sorted(kwargs)} is not supported on DualArray")
    if order != "C":
        raise TypeError("numpy.reshape with order other than 'C' is not supported on DualArray")
    if not isinstance(a, DualArray):
        return np.reshape(a, shape)
    v = a.value.reshape(shape)
    return _new(_contig(v), a.tangent.reshape(v.shape + (a.tangent.shape[-1],)), a._tag,
                a._hyper)


def _transpose(a, axes=None):
    nd = a.ndim
    if axes is None:
        axes = tuple(range(nd - 1, -1, -1))
    else:
        axes = tuple(_one_axis(i, nd) for i in axes)
    v = _ccopy(a.value.transpose(axes))
    t = _ccopy(a.tangent.transpose(axes + (nd,)))
    return _new(v, t, a._tag, a._hyper)


def _moveaxis(a, source, destination):
    src = [_one_axis(i, a.ndim) for i in np.atleast_1d(source)]
    dst = [_one_axis(i, a.ndim) for i in np.atleast_1d(destination)]
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must have the same length")
    perm = [None] * a.ndim
    for s, d in zip(src, dst):
        perm[d] = s
    rest = iter(i for i in range(a.ndim) if i not in src)
    return _transpose(a, [p if p is not None else next(rest) for p in perm])


def _swapaxes(a, axis1, axis2):
    perm = list(range(a.ndim))
    i, j = _one_axis(axis1, a.ndim), _one_axis(axis2, a.ndim)
    perm[i], perm[j] = perm[j], perm[i]
    return _transpose(a, perm)


def _squeeze(a, axis=None):
    v = np.squeeze(a.value, axis=axis)
    return _reshape(a, v.shape)


def _expand_dims(a, axis):
    v = np.expand_dims(a.value, axis)
    return _reshape(a, v.shape)


def _ravel(a, order="C"):
    if order != "C":
        raise TypeError("numpy.ravel with order other than 'C' is not supported on DualArray")
    return _reshape(a, (-1,))


def _broadcast_to(a, shape, subok=False):
    shape = tuple(np.broadcast_shapes(tuple(np.atleast_1d(shape)) if not isinstance(shape, tuple)
                                      else shape))
    v = _ccopy(np.broadcast_to(a.value, shape))
    t = _ccopy(np.broadcast_to(a.tangent, shape + (a.tangent.shape[-1],)))
    return _new(v, t, a._tag, a._hyper)


def _atleast_1d(*arys):
    res = [(_reshape(a, (1,)) if a.ndim == 0 else a) if isinstance(a, DualArray)
           else np.atleast_1d(a) for a in arys]
    return res[0] if len(res) == 1 else res


def _dual_list(seq, lead: DualArray, dtype):
    """Values and tangents of a sequence of operands (constants get zeros)."""
    m = lead.tangent.shape[-1]
    vals, tans = [], []
    for x in seq:
        if isinstance(x, DualArray):
            vals.append(x.value.astype(dtype, copy=False))
            tans.append(x.tangent.astype(dtype, copy=False))
        else:
            c = _const_value(x).astype(dtype, copy=False)
            vals.append(c)
            tans.append(np.zeros(c.shape + (m,), dtype))
    return vals, tans


def _concatenate(seq, axis=0, out=None, dtype=None, casting="same_kind"):
    _no_out(out, "concatenate")
    seq = list(seq)
    lead = _lead(*seq)
    dtype = _result_dtype(*[np.asarray(_value_of(x)) if not isinstance(x, DualArray) else x.value
                            for x in seq])
    if axis is None:
        seq = [_reshape_any(x) for x in seq]
        axis = 0
    vals, tans = _dual_list(seq, lead, dtype)
    v = np.concatenate(vals, axis=axis)
    ax = _one_axis(axis, v.ndim)
    t = np.concatenate(tans, axis=ax)
    return _new(v, t, lead._tag, lead._hyper)


def _stack(seq, axis=0, out=None, dtype=None, casting="same_kind"):
    _no_out(out, "stack")
    seq = list(seq)
    lead = _lead(*seq)
    dtype = _result_dtype(*[np.asarray(_value_of(x)) if not isinstance(x, DualArray) else x.value
                            for x in seq])
    vals, tans = _dual_list(seq, lead, dtype)
    v = np.stack(vals, axis=axis)
    ax = _one_axis(axis, v.ndim)
    t = np.stack(tans, axis=ax)
    return _new(v, t, lead._tag, lead._hyper)


def _hstack(tup, dtype=None, casting="same_kind"):
    tup = [_atleast_1d(x) for x in tup]
    nd = np.ndim(_value_of(tup[0]))
    return _concatenate(tup, axis=0 if nd == 1 else 1)


def _vstack(tup, dtype=None, casting="same_kind"):
    rows = []
    for x in tup:
        if isinstance(x, DualArray):
            rows.append(_reshape(x, (1, -1)) if x.ndim <= 1 else x)
        else:
            rows.append(np.atleast_2d(x))
    return _concatenate(rows, axis=0)


# ------------------------------------------------------------ selection --
def _where(condition, x=None, y=None):
    if x is None or y is None:
        raise _unsupported("numpy.where with one argument (use numpy.nonzero on x.value)")
    cond = np.asarray(_value_of(condition)).astype(bool, copy=False)
    lead = _lead(x, y)
    m = lead.tangent.shape[-1]
    xv, xt = _parts(x, lead)
    yv, yt = _parts(y, lead)
    dtype = _result_dtype(xv, yv)
    v = np.where(cond, xv, yv).astype(dtype, copy=False)
    zero = np.zeros(m, dtype)
    t = np.where(cond[..., None], zero if xt is None else xt, zero if yt is None else yt)
    t = _ccopy(np.broadcast_to(t, v.shape + (m,)), dtype=dtype)
    return _new(_contig(v), t, lead._tag, lead._hyper)


def _clip(a, a_min=np._NoValue, a_max=np._NoValue, out=None, *, min=None, max=None, **kwargs):
    _no_out(out, "clip")
    if kwargs:
        raise TypeError(f"numpy.clip with {sorted(kwargs)} is not supported on DualArray")
    lo = min if a_min is np._NoValue or a_min is None else a_min
    hi = max if a_max is np._NoValue or a_max is None else a_max
    r = a
    # maximum/minimum send ties to the first operand: at x == bound the
    # derivative is x's (1), like JAX's clip.
    if lo is not None:
        r = _binary(_MAX, r, lo)
    if hi is not None:
        r = _binary(_MIN, r, hi)
    return r


def _zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return _const_like(a, np.zeros_like(a.value, dtype=dtype, shape=shape))


def _ones_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return _const_like(a, np.ones_like(a.value, dtype=dtype, shape=shape))


def _empty_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return _const_like(a, np.zeros_like(a.value, dtype=dtype, shape=shape))


def _full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return _const_like(a, np.full_like(a.value, _value_of(fill_value), dtype=dtype, shape=shape))


def _const_like(a: DualArray, v: np.ndarray) -> DualArray:
    """A DualArray of constants (zero tangent), writable with x[i] = dual."""
    if v.dtype not in (_F32, _F64):
        v = v.astype(_F64)
    return _new(_ccopy(v), np.zeros(v.shape + (a.tangent.shape[-1],), v.dtype),
                a._tag, a._hyper)


def _copy(a, order="K", subok=False):
    return a.copy()


def _norm(x, ord=None, axis=None, keepdims=False):
    if ord not in (None, 2, "fro") or (ord == 2 and x.ndim > 1 and axis is None):
        raise _unsupported(f"numpy.linalg.norm with ord={ord!r}")
    s = _sum(_unary(_SQUARE, x), axis, keepdims=keepdims)
    return _unary(OP_CODES["sqrt"], s)


def _extremum(arg, name):
    def impl(a, axis=None, out=None, keepdims=False, **kwargs):
        _no_out(out, name)
        _no_extra(kwargs, name)
        # The derivative of the selected element (the first one on ties, and
        # the first NaN, as numpy.arg{max,min} choose): a subgradient.
        if axis is None:
            flat = _reshape(a, (-1,))
            r = flat[int(arg(flat.value))]
            return _reshape(r, (1,) * a.ndim) if keepdims else r
        ax = _one_axis(axis, a.ndim)
        idx = np.expand_dims(arg(a.value, axis=ax), ax)
        v = np.take_along_axis(a.value, idx, axis=ax)
        t = np.take_along_axis(a.tangent, idx[..., None], axis=ax)
        if not keepdims:
            v, t = np.squeeze(v, axis=ax), np.squeeze(t, axis=ax)
        return _new(_contig(v), _contig(t), a._tag, a._hyper)
    return impl


_max = _extremum(np.argmax, "max")
_min = _extremum(np.argmin, "min")


def _linear(func):
    """A NumPy function that is linear in its first argument and takes no
    other dual argument: the tangent is func applied to each component."""
    name = func.__name__

    def impl(a, *args, **kwargs):
        if any(isinstance(o, DualArray) for o in args) or \
                any(isinstance(o, DualArray) for o in kwargs.values()):
            raise _unsupported(f"numpy.{name} with a DualArray in an argument other than "
                               "the first")
        v = _as0d(func(a.value, *args, **kwargs))
        m = a.tangent.shape[-1]
        if m:
            t = np.stack([func(a.tangent[..., j], *args, **kwargs) for j in range(m)], axis=-1)
        else:
            t = np.zeros(v.shape + (0,), v.dtype)
        return _new(_contig(v), _ccopy(t), a._tag, a._hyper)
    return impl


# Linear, structural functions: flips, rolls, tiling, diagonals, triangles, take.
_LINEAR = (np.flip, np.fliplr, np.flipud, np.roll, np.rot90, np.tile, np.repeat, np.diag,
           np.diagonal, np.trace, np.triu, np.tril, np.take, np.take_along_axis)


_FUNCTIONS = {
    np.sum: _sum, np.mean: _mean, np.prod: _prod, np.cumsum: _cumsum, np.diff: _diff,
    np.dot: _dot, np.vdot: _vdot, np.inner: _inner, np.outer: _outer, np.einsum: _einsum,
    np.matmul: _matmul,
    np.reshape: _reshape, np.transpose: _transpose, np.moveaxis: _moveaxis,
    np.swapaxes: _swapaxes, np.squeeze: _squeeze, np.expand_dims: _expand_dims,
    np.ravel: _ravel, np.broadcast_to: _broadcast_to, np.atleast_1d: _atleast_1d,
    np.concatenate: _concatenate, np.stack: _stack, np.hstack: _hstack, np.vstack: _vstack,
    np.where: _where, np.clip: _clip, np.copy: _copy,
    np.zeros_like: _zeros_like, np.ones_like: _ones_like, np.empty_like: _empty_like,
    np.full_like: _full_like,
    np.shape: lambda a: a.value.shape, np.ndim: lambda a: a.value.ndim,
    np.size: lambda a, axis=None: np.size(a.value, axis),
    np.linalg.norm: _norm, np.max: _max, np.min: _min, np.amax: _max, np.amin: _min,
}
_FUNCTIONS.update({f: _linear(f) for f in _LINEAR})
DUAL_FUNCTIONS = frozenset(_FUNCTIONS)
"""The NumPy functions (``__array_function__``) a DualArray supports."""


# -------------------------------------------------------------- public --
def dual(x: Any, directions: Any = None, *, tag: int = 0) -> DualArray:
    """Make a DualArray at ``x`` seeded with the given directions.

    Parameters
    ----------
    x : array_like of real numbers, shape ``S``
        The point (float32 stays float32, anything else becomes float64).
    directions : array_like, shape ``S + (k,)`` or ``S``, optional
        The tangent: ``directions[..., j]`` is the j-th direction. An array of
        shape ``S`` is one direction (k = 1). Default: all ``n = x.size``
        coordinate directions (the identity), so ``f(dual(x)).tangent`` is the
        full Jacobian with the input axes flattened last.
    tag : int, optional
        Perturbation tag (see :class:`DualArray`).

    Returns
    -------
    DualArray

    Notes
    -----
    ``f(dual(x, V)).tangent[..., j] = J_f(x) V[..., j]``: one forward pass
    gives k Jacobian-vector products.

    Example
    -------
    >>> import numpy as np
    >>> from fastgrad import dual
    >>> y = np.exp(dual([0.0, 1.0]))
    >>> y.tangent.round(4).tolist()
    [[1.0, 0.0], [0.0, 2.7183]]
    """
    if isinstance(x, DualArray) or isinstance(directions, DualArray):
        raise TypeError("nested DualArray is not supported; use fastgrad.hessian for second "
                        "derivatives")
    v = _as_real_array(x, "x")
    if v.dtype != _F32:
        v = v.astype(_F64)
    if directions is None:
        t = np.eye(v.size, dtype=v.dtype).reshape(v.shape + (v.size,))
    else:
        t = _as_real_array(directions, "directions")
        if t.shape == v.shape:
            t = t[..., None]
        elif t.ndim != v.ndim + 1 or t.shape[:-1] != v.shape:
            raise ValueError(f"directions must have shape x.shape + (k,) = {v.shape} + (k,) "
                             f"or x.shape, got {t.shape}")
    return DualArray(v, t, tag=tag)


def _hyper_seed(x: np.ndarray, cols: np.ndarray, row: int, tag: int) -> DualArray:
    """Hyper-dual seed at x (float array): e1 directions = unit vectors of the
    flat indices `cols`, e2 direction = unit vector of flat index `row`."""
    n, k = x.size, len(cols)
    t = np.zeros((n, 2 * k + 1), x.dtype)
    t[cols, np.arange(k)] = 1.0
    t[row, k] = 1.0
    return _new(_ccopy(x), t.reshape(x.shape + (2 * k + 1,)), tag, True)
