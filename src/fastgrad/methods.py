"""The ndarray surface both differentiable array types share.

:class:`ArrayMethods` gives DualArray and the tracer's TracedArray the
ndarray operators and methods, :func:`apply_ufunc` their
``__array_ufunc__``, all from the rules of ``fastgrad.rules``; and
:func:`hook_scipy` lets SciPy functions that have a rule there accept them.
"""
from __future__ import annotations

import math
import sys
from typing import Any, Callable, Sequence

import numpy as np

from fastgrad.rules import (FUNCTIONS, POWER_ROWS, VALUE_UFUNCS, Backend, check_float_dtype,
                            check_no_out, clip, cumsum, dot, elementwise, logsumexp, matmul, max_,
                            mean, min_, prod, ravel, reshape, squeeze, std, sum_, take, trace,
                            transpose, ufunc_row, var)

__all__ = ["ArrayMethods", "apply_ufunc", "hook_scipy", "conversion_hint", "fast_operators"]


def apply_ufunc(B: Backend, ufunc: Any, method: str, inputs: Sequence, kwargs: dict) -> Any:
    """``__array_ufunc__`` for both array types: an op-table row, matmul, or
    a value-only predicate."""
    if not kwargs and method == "__call__":   # the common call first
        row = ufunc_row(ufunc)
        if row is not None:
            return elementwise(B, row[0], *inputs)
    name = getattr(ufunc, "__name__", str(ufunc))
    if method != "__call__":
        raise B.unsupported(f"numpy.{name}.{method}")
    if kwargs:
        check_no_out(B, kwargs.pop("out", None), name)
        check_float_dtype(B, kwargs.pop("dtype", None), name)
        if kwargs.pop("where", True) is not True:
            raise B.unsupported(f"numpy.{name} with where=")
        kwargs.pop("casting", None)
        if kwargs:
            raise B.unsupported(f"numpy.{name} with {sorted(kwargs)}")
    row = ufunc_row(ufunc)
    if row is not None:
        return elementwise(B, row[0], *inputs)
    if ufunc is np.matmul:
        return matmul(*inputs)
    if ufunc in VALUE_UFUNCS:
        return B.predicate(ufunc, *inputs)
    raise B.unsupported(f"numpy.{name}")


# ---------------------------------------------------------- array methods --
def _operator(name: str, reflected: bool) -> Callable:
    if reflected:
        def op(self, other):
            return self._fg_backend.ufunc(name, other, self)
    elif name == "power":
        def op(self, other):
            return elementwise(self._fg_backend, name, self, other)
    else:
        def op(self, other):
            return self._fg_backend.ufunc(name, self, other)
    op._fg_row = (name, reflected)   # type: ignore[attr-defined]  # for fast_operators
    return op


def fast_operators(cls: type, rows: dict) -> None:
    """Give cls its own binary operators from ``rows`` (row name -> function
    of its operands), skipping the backend dispatch of the shared ones."""
    for meth, fn in vars(ArrayMethods).items():
        row = getattr(fn, "_fg_row", None)
        if row is None or row[0] not in rows:
            continue
        f = rows[row[0]]
        if row[1]:
            setattr(cls, meth, (lambda f: lambda self, other: f(other, self))(f))
        elif row[0] == "power":
            setattr(cls, meth, _fast_power(rows))
        else:
            setattr(cls, meth, f)


def _fast_power(rows: dict) -> Callable:
    power = rows["power"]
    special = {e: rows[name] for e, name in POWER_ROWS.items()}

    def pow_(self, other):
        t = type(other)
        if (t is int or t is float) and other in special:
            return special[other](self)
        return power(self, other)
    return pow_


class ArrayMethods:
    """The ndarray methods and operators, from the rules above. A class
    that mixes this in sets ``_fg_backend`` and ``shape``."""

    __slots__ = ()
    _fg_backend: Backend
    shape: tuple

    __add__ = _operator("add", False)
    __radd__ = _operator("add", True)
    __sub__ = _operator("subtract", False)
    __rsub__ = _operator("subtract", True)
    __mul__ = _operator("multiply", False)
    __rmul__ = _operator("multiply", True)
    __truediv__ = _operator("divide", False)
    __rtruediv__ = _operator("divide", True)
    __pow__ = _operator("power", False)
    __rpow__ = _operator("power", True)
    __lt__ = _operator("less", False)
    __le__ = _operator("less_equal", False)
    __gt__ = _operator("greater", False)
    __ge__ = _operator("greater_equal", False)
    __eq__ = _operator("equal", False)   # type: ignore[assignment]
    __ne__ = _operator("not_equal", False)   # type: ignore[assignment]

    def __neg__(self):
        return self._fg_backend.ufunc("negative", self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self._fg_backend.ufunc("absolute", self)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    def __floordiv__(self, other):
        raise self._fg_backend.unsupported("floor division (//, numpy.floor_divide): it has "
                                           "no row in the op table")

    __rfloordiv__ = __floordiv__

    def __mod__(self, other):
        raise self._fg_backend.unsupported("the modulo operator (%, numpy.remainder): it has "
                                           "no row in the op table")

    __rmod__ = __mod__

    def __getattr__(self, name: str) -> Any:
        # Called only for attributes the class lacks: an ndarray method
        # without a rule is an unsupported operation, not a missing attribute.
        if not name.startswith("_") and hasattr(np.ndarray, name):
            raise type(self)._fg_backend.unsupported(f"ndarray.{name}")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, key):
        if _has_var(key):
            raise self._fg_backend.unsupported("indexing with a traced index or a DualArray "
                                               "(indices must be constants)")
        return self._fg_backend.getitem(self, key)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def T(self):
        return transpose(self)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        if order == "C" and all(type(d) is int for d in shape):
            return self._fg_backend.reshape(self, shape)
        return reshape(self, shape, order=order)

    def ravel(self, order="C"):
        return ravel(self, order)

    def flatten(self, order="C"):
        return self._fg_backend.copy(ravel(self, order))

    def transpose(self, *axes):
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], (int, np.integer))):
            axes = axes[0]
        return transpose(self, axes or None)

    def squeeze(self, axis=None):
        return squeeze(self, axis)

    def sum(self, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        return sum_(self, axis, dtype, out, keepdims, **kwargs)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        return mean(self, axis, dtype, out, keepdims, **kwargs)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        return prod(self, axis, dtype, out, keepdims, **kwargs)

    def max(self, axis=None, out=None, keepdims=False, **kwargs):
        return max_(self, axis, out, keepdims, **kwargs)

    def min(self, axis=None, out=None, keepdims=False, **kwargs):
        return min_(self, axis, out, keepdims, **kwargs)

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return var(self, axis, dtype, out, ddof, keepdims)

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return std(self, axis, dtype, out, ddof, keepdims)

    def cumsum(self, axis=None, dtype=None, out=None):
        return cumsum(self, axis, dtype, out)

    def dot(self, other, out=None):
        return dot(self, other, out)

    def clip(self, min=None, max=None, out=None):
        return clip(self, min, max, out)

    def take(self, indices, axis=None, out=None, mode="raise"):
        return take(self, indices, axis, out, mode)

    def trace(self, offset=0, axis1=0, axis2=1, dtype=None, out=None):
        return trace(self, offset, axis1, axis2, dtype, out)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return FUNCTIONS[np.diagonal](self, offset, axis1, axis2)

    def swapaxes(self, axis1, axis2):
        return FUNCTIONS[np.swapaxes](self, axis1, axis2)

    def repeat(self, repeats, axis=None):
        return FUNCTIONS[np.repeat](self, repeats, axis)


def _has_var(key: Any) -> bool:
    if hasattr(key, "_fg_backend"):
        return True
    return isinstance(key, tuple) and any(hasattr(k, "_fg_backend") for k in key)


# ----------------------------------------------------------- scipy.special --
_SCIPY_RULES = {"logsumexp": logsumexp}


def _scipy_wrapper(original: Callable, rule: Callable) -> Callable:
    def wrapper(*args, **kwargs):
        if any(hasattr(v, "_fg_backend") for v in args) or \
                any(hasattr(v, "_fg_backend") for v in kwargs.values()):
            return rule(*args, **kwargs)
        return original(*args, **kwargs)
    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(wrapper, attr, getattr(original, attr, None))
    wrapper.__wrapped__ = original   # type: ignore[attr-defined]
    wrapper._fg_rule = rule          # type: ignore[attr-defined]
    return wrapper


def hook_scipy() -> None:
    """Let ``scipy.special.logsumexp`` accept fastgrad's arrays.

    SciPy's function converts its argument with ``numpy.asarray`` (no
    dispatch protocol reaches the array), so the function itself is
    wrapped: for any other argument the wrapper calls SciPy's function
    unchanged. Nothing is imported: the wrapper is installed only once
    ``scipy.special`` is (this runs at fastgrad's import and at the start
    of each differentiation and trace). A name bound with ``from
    scipy.special import logsumexp`` before that keeps SciPy's own
    function.
    """
    special = sys.modules.get("scipy.special")
    if special is None:
        return
    for name, rule in _SCIPY_RULES.items():
        current = getattr(special, name, None)
        if current is None or getattr(current, "_fg_rule", None) is rule:
            continue
        setattr(special, name, _scipy_wrapper(current, rule))


def conversion_hint() -> str:
    """A hint for the error of ``__array__``: when SciPy's own logsumexp is
    converting the array (a name bound before fastgrad wrapped it), say how
    to reach the wrapped one."""
    frame: Any = sys._getframe(1)
    for _ in range(8):
        if frame is None:
            break
        if frame.f_code.co_name in _SCIPY_RULES and \
                str(frame.f_globals.get("__name__", "")).startswith("scipy.special"):
            return (f"; scipy.special.{frame.f_code.co_name} is supported when looked up "
                    f"after fastgrad is imported (call scipy.special.{frame.f_code.co_name}"
                    "(...), or import the name after importing fastgrad)")
        frame = frame.f_back
    return ""


hook_scipy()
