"""The recorder of reverse mode: the compile tracer in concrete mode.

``record_at(call, x)`` calls f once on a :class:`RecordedArray` holding x's
values. It is ``fastgrad.trace``'s tracer (the same rules, the same
instructions), and :meth:`_Recorder.computed` computes each instruction's
value with NumPy as the tracer emits it (:func:`_row_value`; the tracer's
elementwise hot path computes its own), keeping it beside its slot. So
Python code may branch on values (``if x[0] > 0:``), and the branch taken is
what is recorded. ``fastgrad.reverse`` runs the C adjoint sweep over such a
recording.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from fastgrad import methods
from fastgrad.trace import (CODES, SLOT_CONST, TraceError, TracedArray, _TraceBackend, _Tracer,
                            _values, row_ufunc)

__all__ = ["RecordedArray", "record_at"]

_UNARY, _BINARY, _WHERE, _GATHER, _MATMUL, _CUMSUM = (
    CODES[k] for k in ("UNARY", "BINARY", "WHERE", "GATHER", "MATMUL", "CUMSUM"))
_REDUCERS = {CODES["SUM"]: np.add.reduce, CODES["MAX"]: np.maximum.reduce,
             CODES["MIN"]: np.minimum.reduce, CODES["PROD"]: np.multiply.reduce}
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


def _row_value(V: list, row: tuple, index: Any) -> np.ndarray:
    """The values one instruction writes (see csrc/fg_tape.h), computed with
    NumPy from the flat float64 values V of its operands' slots."""
    code, op, _, a, b, c, a_off, b_off, c_off, sa, sb, sc, n, p0, p1, p2, p3, scale = row
    if code == _UNARY:
        return row_ufunc(op)(V[a][a_off:a_off + n])
    if code == _BINARY:
        r = row_ufunc(op)(V[a][a_off:a_off + (n if sa else 1)],
                          V[b][b_off:b_off + (n if sb else 1)])
    elif code == _WHERE:
        r = np.where(V[c][c_off:c_off + (n if sc else 1)] != 0,
                     V[a][a_off:a_off + (n if sa else 1)], V[b][b_off:b_off + (n if sb else 1)])
    elif code == _GATHER:
        return V[a][a_off:][index]
    elif code == _MATMUL:
        if p3 > 1:   # p3 products; an operand of stride 0 is one matrix shared by all
            return np.matmul(V[a][a_off:a_off + (p3 if sa else 1) * p0 * p1].reshape(-1, p0, p1),
                             V[b][b_off:b_off + (p3 if sb else 1) * p1 * p2].reshape(-1, p1, p2)
                             ).ravel()
        if p1 == 1:   # an outer product (a broadcast, see _Tracer.broadcast):
            # NumPy's matmul (and ufunc.outer) take slow loops for inner size 1
            return np.multiply(V[a][a_off:a_off + p0, None], V[b][b_off:b_off + p2]).ravel()
        return np.matmul(V[a][a_off:a_off + p0 * p1].reshape(p0, p1),
                         V[b][b_off:b_off + p1 * p2].reshape(p1, p2)).ravel()
    elif code == _CUMSUM:
        return np.cumsum(V[a][a_off:a_off + n].reshape(p0, p1, p2), axis=1).ravel()
    else:
        r = _REDUCERS[code](V[a][a_off:a_off + p0 * p1 * p2].reshape(p0, p1, p2), axis=1).ravel()
        return r * scale if scale != 1.0 else r
    return r if r.shape[0] == n else np.full(n, r[0])   # every operand broadcast


class _Recorder(_Tracer):
    """The tracer in concrete mode: each slot's values are kept beside it in
    ``values`` (flat float64), computed as each instruction is emitted."""

    concrete = True

    def __init__(self, x: np.ndarray) -> None:
        super().__init__(x.shape)
        self.f32 = x.dtype == _F32
        self.promoted = False   # a float32 x met a constant that makes f's result float64
        self.values: list[np.ndarray] = [np.ascontiguousarray(x, dtype=np.float64).reshape(-1)]

    def constant(self, flat: np.ndarray) -> None:
        self.values.append(flat)

    def weights(self, m: int) -> int:
        """A new constant slot of m zeros of its own (never shared with an
        equal constant): values a caller rebinds per sweep."""
        self.slot_size.append(m)
        self.slot_kind.append(SLOT_CONST)
        self.consts[len(self.slot_size) - 1] = flat = np.zeros(m)
        self.values.append(flat)
        return len(self.slot_size) - 1

    def computed(self, row: tuple, index: Any) -> None:
        self.values.append(_row_value(self.values, row, index))

    def note_constants(self, *xs: Any) -> None:
        """NumPy's promotion for a float32 x, as DualArray applies it: Python
        scalars adopt float32, float64 arrays and integers wider than 16
        bits make the result float64."""
        if self.promoted:
            return
        for v in xs:
            if isinstance(v, TracedArray) or type(v) in (float, int, bool):
                continue
            a = np.asarray(v)
            if a.dtype == _F64 or (a.dtype.kind in "iu" and a.dtype.itemsize > 2):
                self.promoted = True
                return

    def result_dtype(self) -> np.dtype:
        """The dtype f's result has when f runs on plain arrays (x float32
        and no promoting constant: float32)."""
        return _F32 if self.f32 and not self.promoted else _F64


class RecordedArray(TracedArray):
    """An array computed from x while reverse mode records f at x.

    It is the tracer's array with values: comparisons return plain boolean
    arrays of the values, so ``if x[0] > 0:``, ``np.where`` and boolean
    masks follow the values at x, and the branch taken is what is
    differentiated. ``float()``, ``int()``, ``.item()``, ``np.asarray`` and
    the like raise :class:`TraceError`, as they do for DualArray: the plain
    number would drop the derivative silently. Values are float64.
    """

    __slots__ = ()

    @property
    def dtype(self) -> np.dtype:
        return self._tr.result_dtype()

    def __repr__(self) -> str:
        return f"RecordedArray({_values(self)!r})"

    def __bool__(self):
        return bool(_values(self))

    def _cut(self, what: str) -> TraceError:
        return TraceError(f"{what} of an array recorded for reverse mode would drop its "
                          "derivative (the same conversion fails on DualArray); keep the "
                          "computation in NumPy operations on the array")

    def __float__(self):
        raise self._cut("float()")

    def __int__(self):
        raise self._cut("int()")

    def __index__(self):
        raise self._cut("use as an index")

    def __complex__(self):
        raise self._cut("complex()")

    def __array__(self, dtype=None, copy=None):
        raise self._cut("conversion to a NumPy array (np.asarray, np.array, math "
                        "functions)" + methods.conversion_hint())

    def item(self, *args):
        raise self._cut("item()")

    def tolist(self):
        raise self._cut("tolist()")

    def astype(self, dtype, **kwargs) -> "RecordedArray":
        dt = np.dtype(dtype)
        if dt == _F64:
            self._tr.promoted = True
        elif dt != _F32:
            raise self._fg_backend.unsupported(f"astype({dt}) (recorded arrays are float)")
        return self


class _RecordBackend(_TraceBackend):
    """The tracer's primitives in concrete mode."""

    array_type = RecordedArray

    def unsupported(self, what: str) -> TypeError:
        return TraceError(f"reverse mode cannot record {what}; use method=\"dual\" or a "
                          "finite-difference method")

    def predicate(self, ufunc: Any, *xs: Any) -> Any:
        return ufunc(*[_values(x) for x in xs])

    def constant_like(self, a: Any, value: np.ndarray) -> Any:
        """A constant as a recorded array (zeros_like and the like), so
        that assigning into it raises TraceError as recorded arrays do."""
        value = np.asarray(value, dtype=np.float64)
        if value.size == 0:
            return value
        return RecordedArray(a._tr, a._tr.const_slot(value), 0, value.shape, False)


RecordedArray._fg_backend = _RecordBackend()
_Recorder.array_type = RecordedArray


def record_at(call: Callable[[Any], Any], x: np.ndarray) -> tuple[_Recorder, Any]:
    """Call ``call`` once on a :class:`RecordedArray` holding the values of
    x (a float array): the recorder, with every slot's values, and what the
    call returned. NumPy's floating-point warnings are silenced while it
    runs, as the C kernels of DualArray raise none."""
    methods.hook_scipy()
    tr = _Recorder(x)
    xr = RecordedArray(tr, 0, 0, x.shape, True)
    with np.errstate(all="ignore"):
        return tr, call(xr)
