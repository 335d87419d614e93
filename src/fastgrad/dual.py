"""Forward-mode dual arrays: ordinary NumPy code, differentiated exactly.

A :class:`DualArray` carries a value of shape ``S`` and a tangent of shape
``S + (k,)``: k directional derivatives carried along in one pass (chunked
forward mode, as in ForwardDiff.jl). It implements NumPy's
``__array_ufunc__`` and ``__array_function__`` protocols, so a function
written for ndarrays runs on it unchanged. Elementwise rules run in the C
kernels of ``fastgrad._dual``, generated from the op table (rows looked up
through ``fastgrad.rules.ufunc_row``). Every other NumPy function is a rule
of ``fastgrad.rules``, shared with the tracer of ``fastgrad.compile``, built
on the primitives of :class:`_DualBackend` (NumPy on the value and tangent
arrays: the structural operations are linear in the tangent, and products
get the product rule written out).

Second derivatives use hyper-dual numbers, not nesting: a hyper-dual array
``x = a + b e1 + c e2 + d e1e2`` stores ``[b | c | d]`` packed in a tangent of
width ``2k + 1``. Every linear or structural operation treats that packed
tangent exactly like an ordinary one; only elementwise rules (C kernels with
the table's second-derivative columns) and products (an extra cross term)
differ. Nested ``DualArray(DualArray)`` is not supported and raises
``TypeError``. Each differentiation call tags its duals, and an operation
that mixes two tags (an outer dual captured by an inner ``gradient`` call)
raises ``TypeError`` instead of silently confusing the perturbations.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from fastgrad import _dual as _cdual
from fastgrad import _validate, methods, rules
from fastgrad._ops import OP_CODES

__all__ = ["DualArray", "dual", "DUAL_FUNCTIONS", "seed", "hyper_seed", "mixed_tags_error"]

_MUL = OP_CODES["multiply"]

_F64 = np.dtype(np.float64)
_F32 = np.dtype(np.float32)

_FD_HINT = ('use a finite-difference method instead, e.g. '
            'fastgrad.gradient(f, x, method="central")')


def _unsupported(what: str) -> TypeError:
    return TypeError(f"{what} is not supported on DualArray (forward-mode dual numbers); "
                     + _FD_HINT)


def mixed_tags_error() -> TypeError:
    """The error for an operation that mixes two differentiation calls' duals."""
    return TypeError(
        "an operation mixes dual numbers from two different differentiation calls "
        "(for example a gradient taken inside a function that is itself being "
        "differentiated). Nested dual numbers are not supported: use "
        "fastgrad.hessian for second derivatives, or a finite-difference method")


class DualArray(methods.ArrayMethods):
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
    (``np.where``, ``if x > 0``) follow the value. The NumPy functions
    supported are those of ``fastgrad.rules.FUNCTIONS``.

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
        self._tag = _validate.integer("tag", tag)
        self._hyper = False

    # ------------------------------------------------------------ basics --
    @property
    def shape(self) -> tuple:  # type: ignore[override]
        return self.value.shape

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    @property
    def tag(self) -> int:
        """The perturbation tag of the differentiation call that made it."""
        return self._tag

    @property
    def k(self) -> int:
        """Number of directions carried (for a hyper-dual: the e1 directions)."""
        m = self.tangent.shape[-1]
        return (m - 1) // 2 if self._hyper else m

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
                        "conversion from f, or " + _FD_HINT + methods.conversion_hint())

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

    def copy(self) -> "DualArray":
        return _new(self.value.copy(), self.tangent.copy(), self._tag, self._hyper)

    def astype(self, dtype, copy: bool = True) -> "DualArray":
        dt = np.dtype(dtype)
        if dt not in (_F32, _F64):
            raise TypeError(f"a DualArray holds float32 or float64, not {dt}")
        return _new(self.value.astype(dt), self.tangent.astype(dt), self._tag, self._hyper)

    # --------------------------------------------------- NumPy protocols --
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return methods.apply_ufunc(_BACKEND, ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        for t in types:   # NumPy's protocol: defer to unknown array types
            if not (t is DualArray or issubclass(t, np.ndarray)):
                return NotImplemented
        impl = rules.FUNCTIONS.get(func)
        if impl is None:
            name = (getattr(func, "__module__", "numpy") + "."
                    + getattr(func, "__name__", str(func)))
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
        raise mixed_tags_error()
    if a._hyper != b._hyper or a.tangent.shape[-1] != b.tangent.shape[-1]:
        raise ValueError(f"DualArrays with different tangent widths ({a.tangent.shape[-1]} "
                         f"and {b.tangent.shape[-1]}) cannot be combined")


def _to_f64(x: DualArray) -> DualArray:
    return _new(x.value.astype(_F64), x.tangent.astype(_F64), x._tag, x._hyper)


def _promote_const(d: DualArray, c: Any) -> tuple[DualArray, np.ndarray]:
    """(d, c) for a binary rule with one dual operand d and one constant c,
    in either order: c as a C-contiguous float array, and d lifted to
    float64 when c's dtype needs it. Python scalars take the dual's dtype
    (NumPy's weak scalars); arrays promote as NumPy does."""
    dtype = d.value.dtype
    tc = type(c)
    if tc is float or tc is int or tc is bool:
        return d, np.array(c, dtype=dtype)
    a = _const_value(c)
    if a.dtype == dtype:
        return d, _contig(a)
    if a.dtype == _F32 or a.dtype == _F64:
        a = _ccopy(a, dtype=_F64)
    else:
        a = _ccopy(a, dtype=_F64 if a.dtype.itemsize > 2 or dtype == _F64 else dtype)
    return (d if a.dtype == dtype else _to_f64(d)), a


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
            a, bv = _promote_const(a, b)
            av, at, bt = a.value, a.tangent, None
        tag, hyper = a._tag, a._hyper
    else:
        ta_ = type(a)
        if ta_ is float or ta_ is int:
            y, ty = _cdual.binary(code, a, None, b.value, b.tangent, b._hyper)
            return _new(y, ty, b._tag, b._hyper)
        b, av = _promote_const(b, a)
        bv, bt, at = b.value, b.tangent, None
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


def _as0d(v: Any) -> np.ndarray:
    return v if type(v) is np.ndarray else np.asarray(v)




# ---------------------------------------------------------- primitives --
def _reduce(kind: str, a: DualArray, ax: int) -> DualArray:
    if kind == "sum":
        return _new(_as0d(np.add.reduce(a.value, axis=ax)),
                    _contig(np.add.reduce(a.tangent, axis=ax)), a._tag, a._hyper)
    if kind == "prod":
        return _prod(a, ax)
    # max/min: the derivative of the element numpy.argmax/argmin picks
    idx = np.expand_dims((np.argmax if kind == "max" else np.argmin)(a.value, axis=ax), ax)
    v = np.take_along_axis(a.value, idx, axis=ax)
    t = np.take_along_axis(a.tangent, idx[..., None], axis=ax)
    return _new(_contig(np.squeeze(v, axis=ax)), _contig(np.squeeze(t, axis=ax)),
                a._tag, a._hyper)


def _prod(a: DualArray, ax: int) -> DualArray:
    n = a.value.shape[ax]
    if a._hyper or n == 0:
        # Hyper-duals (and empty axes): multiply the slices one by one; the
        # multiply kernel carries the second-order cross terms.
        r = None
        lead = (slice(None),) * ax
        for i in range(n):
            s = _BACKEND.getitem(a, lead + (i,))
            r = s if r is None else _binary(_MUL, r, s)
        if r is None:
            shape = a.value.shape[:ax] + a.value.shape[ax + 1:]
            r = _new(np.ones(shape, a.dtype), np.zeros(shape + (a.tangent.shape[-1],), a.dtype),
                     a._tag, a._hyper)
        return r
    # Product rule: d prod = sum_i (prod_{j != i} v_j) t_i, with the
    # "others" product from exclusive left and right running products (exact
    # with zeros, no division).
    v: Any = np.moveaxis(a.value, ax, -1)
    ones = np.ones(v.shape[:-1] + (1,), v.dtype)
    left = np.concatenate([ones, np.cumprod(v[..., :-1], axis=-1)], axis=-1)
    right = np.concatenate([np.cumprod(v[..., :0:-1], axis=-1)[..., ::-1], ones], axis=-1)
    others = np.moveaxis(left * right, -1, ax)
    y = _as0d(np.prod(v, axis=-1))
    t = np.sum(others[..., None] * a.tangent, axis=ax)
    return _new(_contig(y), _contig(t), a._tag, a._hyper)


def _ns_matmul(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``p @ q`` where a product with an exactly zero factor is 0 even against
    inf or NaN: tangents follow the NaN-safe rule of the op table (a zero
    tangent times an infinite partial contributes nothing). BLAS gives the
    plain product; only a NaN next to a non-finite operand needs the slow
    elementwise form."""
    with np.errstate(invalid="ignore"):
        r = np.matmul(p, q)
    if not np.isnan(r).any() or (np.isfinite(p).all() and np.isfinite(q).all()):
        return r
    p2 = p[None, :] if p.ndim == 1 else p
    q2 = q[:, None] if q.ndim == 1 else q
    zero = (p2 == 0)[..., :, :, None] | (q2 == 0)[..., None, :, :]
    with np.errstate(invalid="ignore"):
        prod = p2[..., :, :, None] * q2[..., None, :, :]
    prod[np.broadcast_to(zero, prod.shape)] = 0
    r = prod.sum(axis=-2)
    if p.ndim == 1:
        r = r[..., 0, :]
    if q.ndim == 1:
        r = r[..., 0]
    return r


def _mm_left(t: np.ndarray, b: np.ndarray, a_ndim: int) -> np.ndarray:
    """matmul(A, b) with A replaced by tangent t (shape A.shape + (m,)),
    returned as shape result.shape + (m,)."""
    if a_ndim == 1:
        r = _ns_matmul(t.T, b)           # (m, p) @ b
        return r if b.ndim == 1 else np.moveaxis(r, -2, -1)
    tm = np.moveaxis(t, -1, 0)
    if b.ndim > a_ndim:
        tm = tm.reshape((tm.shape[0],) + (1,) * (b.ndim - a_ndim) + tm.shape[1:])
    return np.moveaxis(_ns_matmul(tm, b), 0, -1)


def _mm_right(a: np.ndarray, t: np.ndarray, b_ndim: int) -> np.ndarray:
    """matmul(a, B) with B replaced by tangent t, as result.shape + (m,)."""
    if b_ndim == 1:
        return _ns_matmul(a, t)          # a @ (p, m)
    tm = np.moveaxis(t, -1, 0)
    if a.ndim > b_ndim:
        tm = tm.reshape((tm.shape[0],) + (1,) * (a.ndim - b_ndim) + tm.shape[1:])
    return np.moveaxis(_ns_matmul(a, tm), 0, -1)


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




def _dual_list(seq: list, lead: DualArray, dtype: np.dtype):
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


def _where(condition: Any, x: Any, y: Any) -> Any:
    cond = np.asarray(_value_of(condition)).astype(bool, copy=False)
    if not (isinstance(x, DualArray) or isinstance(y, DualArray)):
        return np.where(cond, _const_value(x), _const_value(y))
    lead = _lead(x, y)
    m = lead.tangent.shape[-1]
    xv, xt = _parts(x, lead)
    yv, yt = _parts(y, lead)
    if xt is None and type(x) in (float, int):    # weak Python scalars, as in NumPy
        xv = np.asarray(xv, lead.dtype)
    if yt is None and type(y) in (float, int):
        yv = np.asarray(yv, lead.dtype)
    dtype = _result_dtype(xv, yv)
    v = np.where(cond, xv, yv).astype(dtype, copy=False)
    zero = np.zeros(m, dtype)
    t = np.where(cond[..., None], zero if xt is None else xt, zero if yt is None else yt)
    t = _ccopy(np.broadcast_to(t, v.shape + (m,)), dtype=dtype)
    return _new(_contig(v), t, lead._tag, lead._hyper)


def _elementwise_rows() -> dict:
    """Row name -> the function computing it on duals and constants (a row's
    own function, looked up when constants alone meet, folds those)."""
    table: dict[str, Callable[..., Any]] = {}
    for name, code in OP_CODES.items():
        kind = rules.OP_KIND[name]
        if kind == "unary":
            table[name] = (lambda c, n: lambda x: _unary(c, x) if isinstance(x, DualArray)
                           else rules.row_function(n)(_const_value(x)))(code, name)
        elif kind == "binary":
            table[name] = (lambda c, n: lambda a, b: _binary(c, a, b)
                           if isinstance(a, DualArray) or isinstance(b, DualArray)
                           else rules.row_function(n)(_const_value(a), _const_value(b))
                           )(code, name)
        else:
            table[name] = (lambda n: lambda a, b: rules.row_function(n)(
                _value_of(a), _value_of(b)))(name)
    return table


class _DualBackend(rules.Backend):
    """The primitives of ``fastgrad.rules`` on DualArrays."""

    array_type = DualArray

    def __init__(self) -> None:
        self.rows = _elementwise_rows()

    def unsupported(self, what: str) -> TypeError:
        return _unsupported(what)

    def is_var(self, x: Any) -> bool:
        return isinstance(x, DualArray)

    def const(self, x: Any) -> np.ndarray:
        return _const_value(x)

    def ufunc(self, name: str, *xs: Any) -> Any:
        return self.rows[name](*xs)

    def predicate(self, ufunc: Any, *xs: Any) -> Any:
        return ufunc(*[_value_of(x) for x in xs])

    def getitem(self, a: DualArray, key: Any) -> DualArray:
        return _getitem(a, key)

    def gather(self, a: DualArray, idx: np.ndarray) -> DualArray:
        m = a.tangent.shape[-1]
        return _new(_ccopy(a.value.reshape(-1)[idx]), _ccopy(a.tangent.reshape(-1, m)[idx]),
                    a._tag, a._hyper)

    def reshape(self, a: DualArray, shape: tuple) -> DualArray:
        v = a.value.reshape(shape)
        return _new(v, a.tangent.reshape(v.shape + (a.tangent.shape[-1],)), a._tag, a._hyper)

    def reduce(self, kind: str, a: DualArray, axis: int) -> DualArray:
        return _reduce(kind, a, axis)

    def cumsum(self, a: DualArray, axis: int) -> DualArray:
        return _new(np.cumsum(a.value, axis=axis), np.cumsum(a.tangent, axis=axis),
                    a._tag, a._hyper)

    def matmul(self, a: Any, b: Any) -> Any:
        if not (isinstance(a, DualArray) or isinstance(b, DualArray)):
            return np.matmul(_const_value(a), _const_value(b))
        return _matmul(a, b)

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        return _where(cond, a, b)

    def concatenate(self, xs: list, axis: int) -> DualArray:
        lead = _lead(*xs)
        dtype = _result_dtype(*[x.value if isinstance(x, DualArray)
                                else np.asarray(_const_value(x)) for x in xs])
        vals, tans = _dual_list(xs, lead, dtype)
        return _new(np.concatenate(vals, axis=axis), np.concatenate(tans, axis=axis),
                    lead._tag, lead._hyper)

    def einsum_value(self, r: Any, subscripts: str, operands: Sequence) -> Any:
        if isinstance(r, DualArray):
            r.value = _ccopy(np.einsum(subscripts, *[_value_of(o) for o in operands]),
                             dtype=r.value.dtype)
        return r

    def constant_like(self, a: DualArray, value: np.ndarray) -> DualArray:
        """Constants (zero tangent) that x[i] = dual can then fill in."""
        if value.dtype not in (_F32, _F64):
            value = value.astype(_F64)
        return _new(_ccopy(value), np.zeros(value.shape + (a.tangent.shape[-1],), value.dtype),
                    a._tag, a._hyper)

    def copy(self, a: DualArray) -> DualArray:
        return a.copy()


def _getitem(a: DualArray, key: Any) -> DualArray:
    if isinstance(key, DualArray) or (type(key) is tuple and
                                      any(isinstance(k, DualArray) for k in key)):
        raise TypeError("a DualArray cannot be used as an index")
    v = a.value[key]
    t = a.tangent[_tangent_index(key)]
    if type(v) is not np.ndarray:
        v = np.asarray(v)
    return _new(_contig(v), _contig(t), a._tag, a._hyper)


_BACKEND = _DualBackend()
DualArray._fg_backend = _BACKEND
# The hot paths of ordinary NumPy code, without the shared dispatch layer.
methods.fast_operators(DualArray, _BACKEND.rows)
DualArray.__getitem__ = _getitem   # type: ignore[method-assign,assignment]

DUAL_FUNCTIONS = frozenset(rules.FUNCTIONS)
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
    tag = _validate.integer("tag", tag)
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


seed = _new
"""``seed(x, tangent, tag, hyper)``: a DualArray at x with the given tangent,
without checks or copies. For the differentiation drivers: x and tangent are
C-contiguous float arrays of one dtype with ``tangent.shape == x.shape +
(k,)``; ``hyper`` marks a packed hyper-dual tangent."""


def hyper_seed(x: np.ndarray, cols: np.ndarray, row: int, tag: int) -> DualArray:
    """A hyper-dual seed at x (a float array): the e1 directions are the unit
    vectors of the flat indices ``cols``, the e2 direction is the unit vector
    of the flat index ``row``."""
    n, k = x.size, len(cols)
    t = np.zeros((n, 2 * k + 1), x.dtype)
    t[cols, np.arange(k)] = 1.0
    t[row, k] = 1.0
    return _new(_ccopy(x), t.reshape(x.shape + (2 * k + 1,)), tag, True)
