"""Data inputs of a traced function: integer data arrays while tracing.

A float64 data array (``compile(f, shape, data=(X, y))``) is traced as a
:class:`fastgrad.trace.TracedArray` of a DATA slot that carries no
derivative; everything that works on traced values works on it. An integer
data array (class labels) is a :class:`TracedIndex` of a DATA_INT slot: it
may select elements of a traced or constant array (``Z[np.arange(m),
labels]``, ``W[labels]``, ``np.take(a, labels)``), one TAKE instruction
reading the integers at each call, and anything else (arithmetic,
comparisons, NumPy functions) sees it as float64 through one CAST
instruction.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from fastgrad import trace

__all__ = ["TracedIndex", "index_with_data", "take_function"]


class TracedIndex:
    """Integer data while tracing: a DATA_INT slot and, for each element of
    this (possibly sliced or reshaped) view, its position in the slot."""

    __slots__ = ("_tr", "_slot", "_pos")
    __array_priority__ = 1000

    def __init__(self, tracer: Any, slot: int, pos: np.ndarray) -> None:
        self._tr = tracer
        self._slot = slot
        self._pos = pos

    shape = property(lambda self: self._pos.shape)
    ndim = property(lambda self: self._pos.ndim)
    size = property(lambda self: self._pos.size)
    dtype = property(lambda self: np.dtype(np.int64))

    def __repr__(self) -> str:
        return f"TracedIndex(shape={self.shape}, slot={self._slot})"

    def __len__(self) -> int:
        return len(self._pos)

    # -- static views: the same integers, other positions
    def __getitem__(self, key: Any) -> TracedIndex:
        if _data_in(key):
            raise trace._unsupported("indexing integer data with traced values")
        return TracedIndex(self._tr, self._slot, self._pos[key])

    def reshape(self, *shape: Any, order: Any = "C") -> TracedIndex:
        return TracedIndex(self._tr, self._slot, self._pos.reshape(*shape, order=order))

    def ravel(self, order: Any = "C") -> TracedIndex:
        return TracedIndex(self._tr, self._slot, self._pos.ravel(order))

    flatten = ravel

    @property
    def T(self) -> TracedIndex:
        return TracedIndex(self._tr, self._slot, self._pos.T)

    # -- anything else sees float64 values
    def as_float(self) -> Any:
        """The integers as a float64 TracedArray (one CAST per slot)."""
        tr = self._tr
        cast = tr.data_cast.get(self._slot)
        if cast is None:
            size = tr.slot_size[self._slot]
            cast = tr.emit("CAST", (size,), False, a=(self._slot, 0))
            tr.data_cast[self._slot] = cast
        flat = self._pos.ravel()
        if flat.size == cast.size and np.array_equal(flat, np.arange(flat.size)):
            return trace._BACKEND.reshape(cast, self._pos.shape)
        return trace._BACKEND.gather(cast, self._pos)

    def astype(self, dtype: Any, **kwargs: Any) -> Any:
        if np.dtype(dtype).kind in "iu":
            return self
        return self.as_float().astype(dtype)

    def __array__(self, dtype: Any = None, copy: Any = None):
        raise trace._unsupported("conversion of integer data to a NumPy array",
                                 "its values are read at each call; a constant array "
                                 "indexed by them (table[labels], np.take(table, labels)) "
                                 "cannot be intercepted by NumPy's protocols: make the "
                                 "table a data input too, or index a traced array")

    def __index__(self):
        raise trace._unsupported("integer data used as a Python index",
                                 "index an array with the whole data array instead")

    __int__ = __float__ = __bool__ = __index__

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = tuple(_as_float(v) for v in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if func is np.take:
            return take_function(*args, **kwargs)
        args = _as_float(args)
        kwargs = {k: _as_float(v) for k, v in kwargs.items()}
        return func(*args, **kwargs)


def _forward(name: str):
    def op(self, *others):
        return getattr(self.as_float(), name)(*others)
    op.__name__ = name
    return op


for _name in ("add", "radd", "sub", "rsub", "mul", "rmul", "truediv", "rtruediv", "pow", "rpow",
              "lt", "le", "gt", "ge", "eq", "ne", "neg", "pos", "abs", "matmul", "rmatmul"):
    setattr(TracedIndex, f"__{_name}__", _forward(f"__{_name}__"))
TracedIndex.__hash__ = object.__hash__   # type: ignore[assignment]


def _data_in(key: Any) -> bool:
    if isinstance(key, TracedIndex):
        return True
    return isinstance(key, (tuple, list)) and any(_data_in(k) for k in key)


def _as_float(v: Any) -> Any:
    if isinstance(v, TracedIndex):
        return v.as_float()
    if isinstance(v, (tuple, list)):
        return type(v)(_as_float(u) for u in v)
    return v


def index_with_data(a: Any, key: Any) -> Any:
    """``a[key]`` where key holds one TracedIndex (and otherwise ints,
    slices, None, Ellipsis and constant integer arrays): one TAKE.

    NumPy's own indexing of index templates gives the layout: with the
    integers replaced by zeros, the flat positions in ``a`` of each output
    element (the base); with them replaced by 0, 1, 2, ..., which integer
    each output element reads."""
    key = key if isinstance(key, tuple) else (key,)
    where = [i for i, k in enumerate(key) if isinstance(k, TracedIndex)]
    if len(where) != 1 or any(isinstance(k, trace.TracedArray) for k in key):
        raise trace._unsupported("indexing with several integer data arrays or traced values",
                                 "one integer data array per index expression")
    if any(np.asarray(k).dtype == bool for k in key if isinstance(k, (np.ndarray, list))):
        raise trace._unsupported("boolean masks beside integer data in one index")
    shape = tuple(a.shape)
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    if used > len(shape):
        raise IndexError(f"too many indices for an array of shape {shape}")
    if Ellipsis in [k for k in key if not isinstance(k, (np.ndarray, TracedIndex))]:
        e = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:e] + (slice(None),) * (len(shape) - used) + key[e + 1:]
    p = next(i for i, k in enumerate(key) if isinstance(k, TracedIndex))
    labels: TracedIndex = key[p]
    axis = sum(1 for k in key[:p] if k is not None)
    length = shape[axis]
    if length == 0:
        raise IndexError(f"integer data index an axis of length 0 (axis {axis})")
    stride = math.prod(shape[axis + 1:])

    def replaced(template: np.ndarray, by: np.ndarray) -> np.ndarray:
        return template[key[:p] + (by,) + key[p + 1:]]

    zeros = np.zeros(labels.shape, dtype=np.int64)
    base = replaced(np.arange(math.prod(shape)).reshape(shape), zeros)
    wide = shape[:axis] + (max(length, labels.size),) + shape[axis + 1:]
    twide = np.arange(math.prod(wide)).reshape(wide)
    which = (replaced(twide, np.arange(labels.size).reshape(labels.shape))
             - replaced(twide, zeros)) // math.prod(wide[axis + 1:])
    if base.size == 0:
        return np.zeros(base.shape)
    tr = labels._tr
    start = tr.indices(np.concatenate([base.ravel(), labels._pos.ravel()[which.ravel()]]))
    tan = isinstance(a, trace.TracedArray) and a._tan
    return tr.emit("TAKE", base.shape, tan, a=tr.ref(a if tan or isinstance(a, trace.TracedArray)
                                                    else trace._const(a)),
                   b=(labels._slot, 0), p=(start, stride, length))


def take_function(a: Any, indices: Any, axis: Any = None, out: Any = None,
                  mode: str = "raise") -> Any:
    """``np.take(a, indices, axis)`` for integer data indices."""
    if out is not None or mode != "raise":
        raise trace._unsupported("numpy.take with out= or mode=")
    if not isinstance(indices, TracedIndex):   # integer data as the array taken from
        return np.take(_as_float(a), indices, axis=axis)
    if axis is None:
        flat = a.reshape(-1) if hasattr(a, "reshape") else np.ravel(a)
        return index_with_data(flat, (indices,))
    ax = int(axis) % max(len(np.shape(a)), 1)
    return index_with_data(a, (slice(None),) * ax + (indices,))
