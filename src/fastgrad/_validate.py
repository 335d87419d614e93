"""The one set of argument checks behind every public entry point.

Numbers, integers and flags are checked by type before value: a string, a
bool where a number is meant, a float where an integer is meant or a number
where a flag is meant raises ``TypeError`` naming the argument; nothing is
coerced silently (``"0.1"`` is not 0.1, ``True`` is not 1, 2.5 is not 2).
Values then raise ``ValueError`` with the argument's name and the rule.
NumPy scalars and 0-d arrays of the right kind are accepted like Python
numbers.

Arrays that fastgrad only reads are converted (:func:`input_array`: any
array-like of real numbers, any byte order); arrays it writes in place are
checked and never converted (:func:`inplace_array`), and :func:`no_overlap`
refuses a written array that shares memory with any other array of the
same call.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["real", "nonneg", "integer", "flag", "input_array", "inplace_array", "no_overlap"]

INT64_MAX = 2**63 - 1


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _scalar(value: Any) -> Any:
    """A 0-d NumPy array's element; anything else unchanged."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    return value


def _number(name: str, value: Any, kind: type, what: str) -> Any:
    """The scalar in ``value`` if it is a ``kind`` (``numbers.Real`` or
    ``numbers.Integral``) other than a bool (Python's bool is both); else
    ``TypeError`` saying the argument must be ``what``."""
    v = _scalar(value)
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, kind):
        raise TypeError(f"{name} must be {what}, got {_describe(value)}")
    return v


def real(name: str, value: Any, *, low: float = -math.inf, high: float = math.inf,
         low_open: bool = False, high_open: bool = False, finite: bool = True) -> float:
    """``value`` as a float: a real number (not a bool or a string) in the
    interval from ``low`` to ``high`` (closed unless ``*_open``), finite
    unless ``finite=False``.

    >>> real("lr", 0.5, low=0.0)
    0.5
    """
    x = float(_number(name, value, numbers.Real, "a real number"))
    if math.isnan(x) or (finite and math.isinf(x)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    too_low = x <= low if low_open else x < low
    too_high = x >= high if high_open else x > high
    if too_low or too_high:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(f"{name} must be in {lo}{low:g}, {high:g}{hi}, got {value!r}")
    return x


def nonneg(name: str, value: Any) -> float:
    """A finite real number >= 0 (learning rates, eps, weight decay, ...)."""
    return real(name, value, low=0.0)


def integer(name: str, value: Any, *, low: int | None = None,
            high: int | None = INT64_MAX) -> int:
    """``value`` as an int: an integer (not a bool, not a float even if
    integral) from ``low`` to ``high`` inclusive (int64's range by default,
    since C receives it).

    >>> integer("maxiter", 100, low=0)
    100
    """
    i = int(_number(name, value, numbers.Integral, "an integer"))
    if (low is not None and i < low) or (high is not None and i > high):
        bounds = f"from {low} to {high}" if low is not None and high is not None else (
            f">= {low}" if low is not None else f"<= {high}")
        raise ValueError(f"{name} must be an integer {bounds}, got {value!r}")
    return i


def flag(name: str, value: Any) -> bool:
    """``value`` as a bool: True or False (Python or NumPy), nothing else."""
    v = _scalar(value)
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_describe(value)}")
    return bool(v)


def input_array(name: str, value: Any, *, dtype: Any = None, allow_float32: bool = True,
                finite: bool = False) -> np.ndarray:
    """A C-contiguous array of native byte order converted from an
    array-like of real numbers (never a view the caller could see change).

    float32 stays float32 when ``allow_float32``; every other real type
    (integers included) becomes float64, or ``dtype`` when given. Bools,
    strings, complex numbers and objects raise ``TypeError`` naming the
    argument; ``finite=True`` also refuses NaN and infinity.
    """
    try:
        a = np.asarray(value)
    except Exception as exc:  # ragged nesting and the like
        raise TypeError(f"{name} must be an array of real numbers: {exc}") from None
    if a.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if dtype is None:
        dtype = np.float32 if (allow_float32 and a.dtype == np.float32) else np.float64
    out = np.array(a, dtype=np.dtype(dtype).newbyteorder("="), order="C", copy=True)
    if finite and not np.isfinite(out).all():
        raise ValueError(f"{name} must hold finite numbers (it has NaN or infinity)")
    return out


def inplace_array(name: str, value: Any, *, like: np.ndarray | None = None,
                  like_name: str = "") -> np.ndarray:
    """``value`` itself, if fastgrad may update it in place: an ndarray of
    float32 or float64, native byte order, C-contiguous and writeable (and
    of ``like``'s dtype and shape when given)."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of float32 or float64, "
                        f"got {type(value).__name__}")
    # the byte order is judged on its own below: >f8 is float64, misordered
    if value.dtype.newbyteorder("=") not in (np.float32, np.float64):
        raise TypeError(f"{name} must have dtype float32 or float64, got {value.dtype}")
    if not value.dtype.isnative:
        raise ValueError(f"{name} has non-native byte order ({value.dtype.str}); fastgrad "
                         "updates arrays in place only in the machine's byte order")
    if not value.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use numpy.ascontiguousarray)")
    if not value.flags.writeable:
        raise ValueError(f"{name} is read-only, but fastgrad updates it in place")
    if like is not None:
        if value.dtype != like.dtype:
            raise TypeError(f"{name} has dtype {value.dtype} but {like_name} has dtype "
                            f"{like.dtype}")
        if value.shape != like.shape:
            raise ValueError(f"{name} has shape {value.shape} but {like_name} has shape "
                             f"{like.shape}")
    return value


def _bounds(a: np.ndarray) -> tuple[int, int]:
    lo, hi = np.byte_bounds(a) if hasattr(np, "byte_bounds") else np.lib.array_utils.byte_bounds(a)
    return int(lo), int(hi)


def no_overlap(written: Iterable[tuple[str, np.ndarray | None]],
               others: Sequence[tuple[str, np.ndarray | None]]) -> None:
    """Refuse (``ValueError`` naming both) a written array whose memory
    overlaps another written array or any array in ``others`` (inputs of the
    same call). Empty arrays overlap nothing. The test is on byte ranges,
    exact for the contiguous arrays C receives."""
    spans = [(n, *_bounds(a)) for n, a in written if a is not None and a.size]
    n_written = len(spans)
    spans += [(n, *_bounds(a)) for n, a in others if a is not None and a.size]
    for i, (name, lo, hi) in enumerate(spans[:n_written]):
        for j, (other, olo, ohi) in enumerate(spans):
            if j != i and lo < ohi and olo < hi and (j > i or j >= n_written):
                raise ValueError(f"{name} overlaps {other} in memory; fastgrad writes {name}, "
                                 "so it must not share memory with another argument")
