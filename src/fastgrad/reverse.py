"""Reverse mode for plain Python functions: record f at x, sweep in C.

``fastgrad.gradient(f, x)`` (``method="auto"`` or ``"reverse"``) calls f once
on a :class:`fastgrad.recorder.RecordedArray`: the tracer of
``fastgrad.compile`` in concrete mode, which emits the tape instructions of
every operation (by the NumPy rules DualArray shares) and computes their
values with NumPy as it goes, so f may branch on values. The recording
becomes a C tape (``fastgrad._tape.Tape``, validated in full by
``fg_tape_create``), and the gradient is one adjoint sweep over the values
already computed (``fg_tape_grad_at_f64``: no second value pass). Hessians
run forward-over-reverse over the same tape; a Jacobian takes one sweep per
output. An operation the recorder cannot handle raises
:class:`fastgrad.trace.TraceError` while f runs; ``fastgrad.differentiate``
then falls back to dual numbers ("auto") or lets it propagate ("reverse").

The tape is used once and dropped: each call records anew, so the branch
taken at x is what is differentiated, and nothing is cached between calls.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from fastgrad import recorder, trace
from fastgrad._tape import Tape

__all__ = ["record", "Recording"]

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)

# Unit directions carried per forward pass of a forward-over-reverse Hessian
# (as compile's default): each pass costs (1 + k) sweeps' work for k columns.
HESSIAN_DIRECTIONS = 8


class Recording:
    """f recorded at x: the recorder (every slot's values) and f's result.

    Parameters
    ----------
    call : callable
        ``call(xr) -> f's result`` for the recorded array xr (the caller
        applies f's extra arguments and batching).
    x : ndarray
        The point, float32 or float64.

    Attributes
    ----------
    out : Any
        What f returned: a RecordedArray, or a plain value that does not
        depend on x.
    dtype : numpy.dtype
        f's result dtype on plain arrays (float32 for a float32 x unless a
        constant promotes it, as with DualArray).
    """

    def __init__(self, call: Callable[[Any], Any], x: np.ndarray) -> None:
        self.x = x
        self._tr, self.out = recorder.record_at(call, x)
        self.dtype = self._tr.result_dtype()

    @property
    def traced(self) -> bool:
        """f's result depends on x (else its derivatives are zero)."""
        return isinstance(self.out, recorder.RecordedArray)

    def plain_value(self) -> np.ndarray:
        """f's result when it does not depend on x, as a float array."""
        try:
            v = np.asarray(self.out)
        except Exception as exc:
            raise TypeError(f"f returned {type(self.out).__name__}, not an array of "
                            "numbers") from exc
        if v.dtype.kind not in "fiub":
            raise TypeError(f"f must return real numbers, got dtype {v.dtype}")
        return v.astype(_F32 if v.dtype == _F32 and self.x.dtype == _F32 else _F64,
                        copy=False)

    def values(self) -> np.ndarray:
        """f's result as an array of the result dtype."""
        if not self.traced:
            return self.plain_value()
        return np.asarray(trace._values(self.out), dtype=self.dtype)

    def _tape(self, out_slot: int, chunk: int = 1) -> tuple[Tape, list, list]:
        """The C tape of the instructions out_slot needs, the values of its
        slots and their numbers in the recording."""
        tr = self._tr
        rows, kept = tr.prune(out_slot)
        if kept is None:
            order: list = list(range(len(tr.slot_size)))
            sizes, kinds, vals, consts = tr.slot_size, tr.slot_kind, tr.values, tr.consts
        else:
            order = kept
            new = {s: i for i, s in enumerate(order)}
            sizes = [tr.slot_size[s] for s in order]
            kinds = [tr.slot_kind[s] for s in order]
            vals = [tr.values[s] for s in order]
            consts = {new[s]: d for s, d in tr.consts.items() if s in new}
        const_off = np.zeros(len(sizes), np.int64)
        pos = 0
        for s, d in consts.items():
            const_off[s] = pos
            pos += d.size
        pool = np.concatenate(list(consts.values())) if consts else np.zeros(0)
        tape = Tape(np.array(sizes, np.int64), np.array(kinds, np.int32), const_off, pool,
                    tr.index_pool(), trace.instruction_array(rows), (self.x.size,), chunk)
        return tape, vals, order

    def _scalar(self, what: str) -> tuple[int, np.ndarray | None]:
        """The slot of f's scalar result, or (-1, its value) when it does not
        depend on x (all its derivatives are 0); ValueError for a result
        that is not a scalar."""
        v = self.out if self.traced else self.plain_value()
        if v.size != 1:
            raise ValueError(f"{what} needs f to return a scalar, but f returned shape "
                             f"{v.shape} (use jacobian for vector-valued f)")
        return (self._tr.output(v)._slot, None) if self.traced else (-1, v)

    def value_and_gradient(self) -> tuple[Any, np.ndarray]:
        """(f(x), grad f(x)) by one adjoint sweep over the recorded values."""
        x = self.x
        slot, plain = self._scalar("gradient")
        if plain is not None:
            return plain.reshape(())[()], np.zeros(x.shape, _out(x, plain.dtype))
        tape, vals, _ = self._tape(slot)
        g = tape.grad_at(vals)
        return self.dtype.type(self._tr.values[slot][0]), \
            g.reshape(x.shape).astype(self.dtype, copy=False)

    def jacobian(self) -> np.ndarray:
        """The Jacobian, shape f(x).shape + x.shape: one adjoint sweep per
        output element over the tape of ``sum(f(x) * w)``, with the weights
        w bound to each unit vector in turn (only the sweep reads w: it is
        the product's partial)."""
        x = self.x
        if not self.traced:
            v = self.plain_value()
            return np.zeros(v.shape + x.shape, _out(x, v.dtype))
        out = self.out
        m = out.size
        tr = self._tr
        w_slot = tr.weights(m)
        w = recorder.RecordedArray(tr, w_slot, 0, (m,), False)
        flat = out._fg_backend.reshape(out, (m,))
        weighted = tr.elementwise(_MULTIPLY, (m,), True, flat._slot, flat._off, w._slot, 0, 1, 1)
        total = tr.emit("SUM", (), True, a=(weighted._slot, 0), p=(1, m, 1))
        tape, vals, order = self._tape(total._slot)
        vals = list(vals)
        at = order.index(w_slot)
        J = np.empty((m, x.size), self.dtype)
        for i in range(m):
            e = np.zeros(m)
            e[i] = 1.0
            vals[at] = e
            J[i] = tape.grad_at(vals)
        return J.reshape(out.shape + x.shape)

    def hessian(self, chunk: int | None = None) -> np.ndarray:
        """The Hessian, shape x.shape + x.shape, exact and symmetric: the C
        tape's forward-over-reverse passes (hyper-dual for n <= 2, where one
        pass does it all), which recompute the values from x."""
        x = self.x
        slot, plain = self._scalar("hessian")
        if plain is not None:
            return np.zeros(x.shape + x.shape, _out(x, plain.dtype))
        tape, _, _ = self._tape(slot, HESSIAN_DIRECTIONS if chunk is None else chunk)
        H = tape.hessian(self._tr.values[0], reverse=x.size > 2)
        return H.reshape(x.shape + x.shape).astype(self.dtype, copy=False)


_MULTIPLY = trace.rules.op_code("multiply")


def _out(x: np.ndarray, v: np.dtype) -> np.dtype:
    return _F32 if (x.dtype == _F32 and v == _F32) else _F64


def record(call: Callable[[Any], Any], x: np.ndarray) -> Recording:
    """Record ``call`` (f with its arguments) at x; see :class:`Recording`."""
    return Recording(call, x)
