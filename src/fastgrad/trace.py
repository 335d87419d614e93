"""The tracer of ``fastgrad.compile``: NumPy code recorded as tape instructions.

``record(f, shape)`` calls ``f`` once with a symbolic :class:`TracedArray`
that implements NumPy's ``__array_ufunc__`` and ``__array_function__``
protocols and the ndarray operators. Every NumPy function it supports is a
rule of ``fastgrad.rules`` (shared with :class:`fastgrad.DualArray`), built
on the primitives of :class:`_TraceBackend`, each of which emits one or a
few instructions of a linear tape: an elementwise row of the op table,
WHERE, GATHER, the reductions SUM/MAX/MIN/PROD, CUMSUM and MATMUL (codes
read by name from ``fastgrad._tape``). Operations on constants alone are
folded at trace time, and an empty result is an empty constant (it has no
derivative), so no instruction ever has an empty operand.

Every instruction goes through :meth:`_Tracer.emit`, the one place that
knows the instruction record; a recorder at concrete values would compute
each instruction's value there too and keep it beside the slot.
"""
from __future__ import annotations

import math
import operator
from typing import Any, Callable, Sequence

import numpy as np

from fastgrad import _tape, _validate, methods, rules

__all__ = ["TracedArray", "TraceError", "record", "normalize_shape"]


_INSTR_DTYPE = _tape.INSTR_DTYPE
_RECORD = operator.itemgetter(*(_INSTR_DTYPE.names or ()))   # the fields in C order
CODES = _tape.CODES
"""Instruction code by name, as csrc/fg_tape.h defines them."""
SLOT_INPUT, SLOT_CONST, SLOT_COMPUTED, SLOT_DATA, SLOT_DATA_INT = (
    _tape.SLOT_KINDS[k] for k in ("INPUT", "CONST", "COMPUTED", "DATA", "DATA_INT"))


class TraceError(TypeError):
    """An operation that ``compile`` cannot record (raised while tracing)."""


def _unsupported(what: str, hint: str = "") -> TraceError:
    msg = f"fastgrad.compile cannot trace {what}"
    return TraceError(msg + (f": {hint}" if hint else ""))


class _Tracer:
    """Records instructions while f runs on a TracedArray."""

    def __init__(self, shape: tuple) -> None:
        self.shape = shape
        self.slot_size = [math.prod(shape)]
        self.slot_kind = [SLOT_INPUT]
        self.consts: dict[int, np.ndarray] = {}
        self.instrs: list[dict] = []
        self.index_parts: list[np.ndarray] = []
        self.index_len = 0
        self._scalar_cache: dict[tuple, int] = {}
        self._array_cache: dict[int, tuple[Any, int]] = {}
        self.data_slots: list[int] = []
        self.data_cast: dict[int, Any] = {}   # integer data slot -> its CAST

    def data_input(self, dtype: np.dtype, shape: tuple) -> Any:
        """A data array of this dtype (float64, or int64 for integers) and
        shape: a new DATA or DATA_INT slot, bound at each call."""
        from fastgrad.trace_data import TracedIndex
        integer = np.dtype(dtype).kind in "biu"
        self.slot_size.append(math.prod(shape))
        self.slot_kind.append(SLOT_DATA_INT if integer else SLOT_DATA)
        s = len(self.slot_size) - 1
        self.data_slots.append(s)
        if integer:
            return TracedIndex(self, s, np.arange(math.prod(shape)).reshape(shape))
        return TracedArray(self, s, 0, shape, False)

    # -- slots
    def new_slot(self, size: int) -> int:
        self.slot_size.append(int(size))
        self.slot_kind.append(SLOT_COMPUTED)
        return len(self.slot_size) - 1

    def const_slot(self, value: Any, key: Any = None) -> int:
        flat = np.ascontiguousarray(value, dtype=np.float64).ravel()
        ck: tuple = ()
        if flat.size == 1:
            v = float(flat[0])
            ck = (v, math.copysign(1.0, v)) if v == v else ("nan",)
            if ck in self._scalar_cache:
                return self._scalar_cache[ck]
        elif key is not None and id(key) in self._array_cache:
            return self._array_cache[id(key)][1]
        self.slot_size.append(flat.size)
        self.slot_kind.append(SLOT_CONST)
        s = len(self.slot_size) - 1
        self.consts[s] = flat.copy()
        if flat.size == 1:
            self._scalar_cache[ck] = s
        elif key is not None:
            self._array_cache[id(key)] = (key, s)   # keep key alive: ids stay unique
        return s

    def indices(self, idx: np.ndarray) -> int:
        idx = np.ascontiguousarray(idx, dtype=np.int64).ravel()
        start = self.index_len
        self.index_parts.append(idx)
        self.index_len += idx.size
        return start

    def emit(self, code: str, out_shape: tuple, tan: bool, op: int = 0, a=(-1, 0), b=(-1, 0),
             c=(-1, 0), sa: int = 1, sb: int = 1, sc: int = 1, p=(0, 0, 0, 0),
             scale: float = 1.0) -> Any:
        """Append one instruction writing a new slot of out_shape. An empty
        result is an empty constant instead: it has no derivative."""
        n = math.prod(out_shape)
        if n == 0:
            return np.zeros(out_shape)
        out = self.new_slot(n)
        # An operand the code does not read has slot -1, offset 0, stride 0.
        self.instrs.append(dict(code=CODES[code], op=op, out=out, a=a[0], b=b[0], c=c[0],
                                a_off=a[1], b_off=b[1], c_off=c[1], sa=sa if a[0] >= 0 else 0,
                                sb=sb if b[0] >= 0 else 0, sc=sc if c[0] >= 0 else 0, n=n,
                                p0=p[0], p1=p[1], p2=p[2], p3=p[3] if len(p) > 3 else 0,
                                scale=float(scale)))
        return TracedArray(self, out, 0, tuple(out_shape), tan)

    # -- operands
    def ref(self, v: Any) -> tuple[int, int]:
        """(slot, offset) of a traced array or of a constant."""
        if isinstance(v, TracedArray):
            return v._slot, v._off
        return self.const_slot(v, key=v), 0

    def broadcast(self, v: Any, shape: tuple) -> tuple[tuple[int, int], int]:
        """Operand reference and stride (0: scalar, 1: full) for `shape`."""
        if v.size == 1:
            return self.ref(v), 0
        if tuple(v.shape) == tuple(shape):
            return self.ref(v), 1
        if not isinstance(v, TracedArray):
            return self.ref(np.broadcast_to(v, shape)), 1
        idx = np.broadcast_to(np.arange(v.size).reshape(v.shape), shape)
        return self.ref(_BACKEND.gather(v, idx)), 1

    def finish(self, out: Any) -> tuple:
        """The recorded program's fields: (shape, slot sizes, slot kinds,
        constants, instructions, index pool), pruned to what out needs."""
        if not isinstance(out, TracedArray):
            raise ValueError("f returned a value that does not depend on x "
                             f"({type(out).__name__}); nothing to compile")
        if out.size != 1:
            raise ValueError(f"f must return a scalar, got an array of shape {out.shape}")
        last = self.instrs[-1] if self.instrs else None
        if last is None or last["out"] != out._slot or out._off != 0:
            # The result is a view (x[0]) or an earlier value: copy it out.
            out = self.emit("SUM", (), out._tan, a=(out._slot, out._off), p=(1, 1, 1))
        return self._prune(out._slot)

    def _prune(self, out_slot: int) -> tuple:
        """Drop instructions the output does not need, renumber the slots."""
        live = {0, out_slot, *self.data_slots}   # every data slot: one per data argument
        keep = []
        for ins in reversed(self.instrs):
            if ins["out"] in live:
                keep.append(ins)
                live.update(ins[s] for s in "abc" if ins[s] >= 0)
        keep.reverse()
        order = sorted(live)
        new = {s: i for i, s in enumerate(order)}
        index_pool = (np.concatenate(self.index_parts) if self.index_parts
                      else np.zeros(0, np.int64))
        rows = []
        for ins in keep:
            row = dict(ins)
            for j in ("out", "a", "b", "c"):
                if row[j] >= 0:
                    row[j] = new[row[j]]
            rows.append(_RECORD(row))
        # The C record as a NumPy array, in one conversion.
        instrs = np.array(rows, dtype=_INSTR_DTYPE)
        return (self.shape, [self.slot_size[s] for s in order],
                [self.slot_kind[s] for s in order],
                {new[s]: d for s, d in self.consts.items() if s in live}, instrs, index_pool)


# ------------------------------------------------------------ traced array --
def _const(v: Any) -> np.ndarray:
    """A constant operand as a float64 array, or TraceError."""
    a = np.asarray(v)
    if a.dtype.kind not in "biuf":
        raise _unsupported(f"a constant of dtype {a.dtype}", "only real numbers are supported")
    return a.astype(np.float64, copy=False)


class TracedArray(methods.ArrayMethods):
    """A symbolic float64 array standing for a value computed from x.

    Supports what ``fastgrad.rules.FUNCTIONS`` lists, the elementwise ufuncs
    of the op table, the ndarray operators and methods, broadcasting and
    constants. Anything else raises :class:`TraceError` naming the
    operation.
    """

    __slots__ = ("_tr", "_slot", "_off", "_shape", "_tan")
    __array_priority__ = 1000
    __hash__ = object.__hash__

    def __init__(self, tracer: _Tracer, slot: int, off: int, shape: tuple, tan: bool) -> None:
        self._tr = tracer
        self._slot = slot
        self._off = off
        self._shape = tuple(int(d) for d in shape)
        self._tan = tan

    @property
    def shape(self) -> tuple:  # type: ignore[override]
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float64)

    def __repr__(self) -> str:
        return f"TracedArray(shape={self._shape}, slot={self._slot})"

    # -- data-dependent Python control flow cannot be traced
    def __bool__(self):
        raise _unsupported("bool() of a traced value (data-dependent Python control flow "
                           "such as `if x > 0:`)", "use np.where(cond, a, b) instead")

    def __float__(self):
        raise _unsupported("float() of a traced value",
                           "keep the computation in NumPy operations")

    def __int__(self):
        raise _unsupported("int() of a traced value", "indices must be static")

    def __index__(self):
        raise _unsupported("a traced value used as an index", "indices must be static")

    def __complex__(self):
        raise _unsupported("complex() of a traced value")

    def __array__(self, dtype=None, copy=None):
        raise _unsupported("conversion of a traced value to a NumPy array (np.asarray, "
                           "np.array, math functions)",
                           "use NumPy operations on it directly, and np.stack([...]) "
                           "instead of np.array([...])" + methods.conversion_hint())

    def item(self, *args):
        raise _unsupported("item() of a traced value")

    def tolist(self):
        raise _unsupported("tolist() of a traced value")

    def __setitem__(self, key, value):
        raise _unsupported("item assignment (x[i] = ...)",
                           "traced arrays are immutable; build the result with np.where "
                           "or arithmetic")

    def copy(self) -> "TracedArray":
        return self

    def astype(self, dtype, **kwargs) -> "TracedArray":
        if np.dtype(dtype) != np.float64:
            raise _unsupported(f"astype({np.dtype(dtype)})", "traced arrays are float64")
        return self

    # -- NumPy protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return methods.apply_ufunc(_BACKEND, ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if self._tr.data_slots:   # integer data among the arguments
            from fastgrad import trace_data
            if func is np.take and isinstance(args[1] if len(args) > 1 else kwargs.get(
                    "indices"), trace_data.TracedIndex):
                return trace_data.take_function(*args, **kwargs)
            args, kwargs = trace_data._as_float(args), {
                k: trace_data._as_float(v) for k, v in kwargs.items()}
        handler = rules.FUNCTIONS.get(func)
        if handler is None:
            mod = getattr(func, "__module__", "numpy") or "numpy"
            raise _unsupported(f"{mod}.{func.__name__}",
                               "see fastgrad.compile's docstring for what is supported")
        return handler(*args, **kwargs)


def _operand(v: Any) -> Any:
    if isinstance(v, TracedArray):
        return v
    if hasattr(v, "as_float"):   # integer data (fastgrad.trace_data.TracedIndex)
        return v.as_float()
    return _const(v)


def _tracer_of(*vs: Any) -> _Tracer | None:
    for v in vs:
        if isinstance(v, TracedArray):
            return v._tr
    return None


def _tan(*vs: Any) -> bool:
    return any(isinstance(v, TracedArray) and v._tan for v in vs)


def _layout(shape: tuple, axis: int) -> tuple[int, int, int]:
    """(pre, len, post) of a reduction along axis."""
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


class _TraceBackend(rules.Backend):
    """The primitives of ``fastgrad.rules`` as tape instructions."""

    array_type = TracedArray

    def unsupported(self, what: str) -> TypeError:
        return _unsupported(what)

    def const(self, x: Any) -> np.ndarray:
        return _const(x)

    def ufunc(self, name: str, *xs: Any) -> Any:
        kind = rules.OP_KIND.get(name)
        if kind is None:
            raise _unsupported(f"numpy.{name}", "it has no row in the op table")
        ops = [_operand(x) for x in xs]
        tr = _tracer_of(*ops)
        if tr is None:
            return np.asarray(rules.row_function(name)(*ops), dtype=np.float64)
        code = rules.op_code(name)
        if kind == "unary":
            (a,) = ops
            return tr.emit("UNARY", a.shape, a._tan, op=code, a=(a._slot, a._off))
        a, b = ops
        try:
            shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ValueError(f"operands could not be broadcast together with shapes "
                             f"{a.shape} {b.shape} (in numpy.{name})") from None
        if math.prod(shape) == 0:
            return np.zeros(shape)
        ra, sa = tr.broadcast(a, shape)
        rb, sb = tr.broadcast(b, shape)
        tan = kind != "compare" and _tan(a, b)
        return tr.emit("BINARY", shape, tan, op=code, a=ra, b=rb, sa=sa, sb=sb)

    def getitem(self, a: TracedArray, key: Any) -> Any:
        from fastgrad import trace_data
        if trace_data._data_in(key):
            return trace_data.index_with_data(a, key)
        return self.gather(a, np.asarray(np.arange(a.size).reshape(a.shape)[key]))

    def gather(self, a: TracedArray, idx: np.ndarray) -> Any:
        """A free view when idx is one contiguous run, else a GATHER."""
        flat = idx.ravel()
        if flat.size and (flat.size == 1 or np.all(np.diff(flat) == 1)):
            return TracedArray(a._tr, a._slot, a._off + int(flat[0]), idx.shape, a._tan)
        if flat.size == 0:
            return np.zeros(idx.shape)
        start = a._tr.indices(flat)
        return a._tr.emit("GATHER", idx.shape, a._tan, a=(a._slot, a._off), p=(start, 0, 0))

    def reshape(self, a: TracedArray, shape: tuple) -> TracedArray:
        new = np.empty(a.shape, dtype=np.int8).reshape(shape).shape
        return TracedArray(a._tr, a._slot, a._off, new, a._tan)

    def reduce(self, kind: str, a: TracedArray, axis: int) -> Any:
        shape = a.shape
        out = shape[:axis] + shape[axis + 1:]
        pre, ln, post = _layout(shape, axis)
        if ln == 0:   # an empty sum or product
            return np.full(out, 0.0 if kind == "sum" else 1.0)
        return a._tr.emit(kind.upper(), out, a._tan, a=(a._slot, a._off), p=(pre, ln, post))

    def cumsum(self, a: TracedArray, axis: int) -> Any:
        return a._tr.emit("CUMSUM", a.shape, a._tan, a=(a._slot, a._off),
                          p=_layout(a.shape, axis))

    def matmul(self, a: Any, b: Any) -> Any:
        a, b = _operand(a), _operand(b)
        tr = _tracer_of(a, b)
        if tr is None:
            return np.matmul(a, b)
        if a.ndim > 2 or b.ndim > 2:
            return self._batched_matmul(tr, a, b)
        M, L = (1, a.shape[0]) if a.ndim == 1 else a.shape
        Lb, P = (b.shape[0], 1) if b.ndim == 1 else b.shape
        if L != Lb:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned "
                             f"({L} != {Lb})")
        out_shape = (() if a.ndim == 1 else (M,)) + (() if b.ndim == 1 else (P,))
        if L == 0:
            return np.zeros(out_shape)
        return tr.emit("MATMUL", out_shape, _tan(a, b), a=tr.ref(a), b=tr.ref(b), p=(M, L, P, 1))

    def _batched_matmul(self, tr: _Tracer, a: Any, b: Any) -> Any:
        """Stacks of matrices: one MATMUL of p3 products (a vector operand
        as a one-row or one-column matrix). A stack of one matrix is shared
        by every product (stride 0), other broadcasts are gathered out;
        a shared right-hand matrix makes the stack one tall product. Row
        by row dot products (M = P = 1) stay an elementwise product and a
        sum: no matrix product pays for itself there."""
        am = a if a.ndim > 1 else self._as_matrix(a, (1, a.shape[0]))
        bm = b if b.ndim > 1 else self._as_matrix(b, (b.shape[0], 1))
        (M, L), (Lb, P) = am.shape[-2:], bm.shape[-2:]
        if L != Lb:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned "
                             f"({L} != {Lb})")
        batch = np.broadcast_shapes(am.shape[:-2], bm.shape[:-2])
        out_shape = batch + ((M,) if a.ndim > 1 else ()) + ((P,) if b.ndim > 1 else ())
        nb = math.prod(batch)
        if L == 0 or nb * M * P == 0:
            return np.zeros(out_shape)
        if M == 1 and P == 1:
            prod = self.ufunc("multiply", self._as_matrix(am, am.shape[:-2] + (L,)),
                              self._as_matrix(bm, bm.shape[:-2] + (L,)))
            r = rules.sum_(prod, axis=-1) if isinstance(prod, TracedArray) \
                else np.sum(prod, axis=-1)
            return self._as_matrix(r, out_shape)
        ra, sa = self._stack(tr, am, batch, nb)
        rb, sb = self._stack(tr, bm, batch, nb)
        if sa and not sb:   # (nb M) x L times one L x P
            r = tr.emit("MATMUL", (nb * M, P), _tan(a, b), a=ra, b=rb, p=(nb * M, L, P, 1))
        else:
            r = tr.emit("MATMUL", batch + (M, P), _tan(a, b), a=ra, b=rb, sa=sa, sb=sb,
                        p=(M, L, P, nb))
        return self.reshape(r, out_shape)

    def _as_matrix(self, v: Any, shape: tuple) -> Any:
        return self.reshape(v, shape) if isinstance(v, TracedArray) else np.reshape(v, shape)

    def _stack(self, tr: _Tracer, v: Any, batch: tuple, nb: int) -> tuple[tuple[int, int], int]:
        """Operand reference and stride of a stack of matrices for the batch
        shape: 0 for one matrix shared by the nb > 1 products, else 1 (the
        stack broadcast to the batch, gathered when it is not already)."""
        mat = v.shape[-2:]
        if math.prod(v.shape[:-2]) == 1 and nb > 1:
            return tr.ref(self._as_matrix(v, mat)), 0
        if v.shape[:-2] != batch:
            if isinstance(v, TracedArray):
                idx = np.broadcast_to(np.arange(v.size).reshape(v.shape), batch + mat)
                v = self.gather(v, idx)
            else:
                v = np.ascontiguousarray(np.broadcast_to(v, batch + mat))
        return tr.ref(v), 1

    def where(self, cond: Any, x: Any, y: Any) -> Any:
        c, a, b = _operand(cond), _operand(x), _operand(y)
        tr = _tracer_of(c, a, b)
        if tr is None:
            return np.where(c, a, b).astype(np.float64)
        shape = np.broadcast_shapes(c.shape, a.shape, b.shape)
        if math.prod(shape) == 0:
            return np.zeros(shape)
        rc, sc = tr.broadcast(c, shape)
        ra, sa = tr.broadcast(a, shape)
        rb, sb = tr.broadcast(b, shape)
        return tr.emit("WHERE", shape, _tan(a, b), a=ra, b=rb, c=rc, sa=sa, sb=sb, sc=sc)

    def concatenate(self, xs: list, axis: int) -> Any:
        """Each piece gathered into the output's shape (clamped indices
        outside its own block), then where(block mask, piece, previous)
        stitches the blocks: the rules of gather and where carry over."""
        ops = [_operand(x) for x in xs]
        if _tracer_of(*ops) is None:
            return np.concatenate(ops, axis=axis)
        labels = np.concatenate([np.full(p.shape, i) for i, p in enumerate(ops)], axis=axis)
        local = np.concatenate([np.arange(p.size).reshape(p.shape) for p in ops], axis=axis)
        acc: Any = None
        for i, p in enumerate(ops):
            mask = labels == i
            if not mask.any():
                continue
            idx = np.where(mask, local, 0)
            piece = self.gather(p, idx) if isinstance(p, TracedArray) else \
                np.where(mask, p.ravel()[idx], 0.0)
            acc = piece if acc is None else self.where(mask, piece, acc)
        return acc if acc is not None else np.zeros(labels.shape)


_BACKEND = _TraceBackend()
TracedArray._fg_backend = _BACKEND


# ------------------------------------------------------------------ record --
def normalize_shape(shape: Any) -> tuple:
    """``shape`` as a tuple of non-negative ints with at least one element:
    an int or a sequence of ints (no floats, bools or strings)."""
    if isinstance(shape, (str, bytes)) or not (
            isinstance(shape, (int, np.integer, tuple, list)) and not isinstance(shape, bool)):
        raise TypeError(f"shape must be an int or a tuple of ints, got {shape!r}")
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    out = tuple(_validate.integer("shape", d, low=0) for d in dims)
    if math.prod(out) < 1:
        raise ValueError(f"shape must describe at least one element, got {out}")
    return out


def record(f: Callable, shape: Any, args: Sequence = (), data: Sequence = ()) -> tuple:
    """Call f once on a TracedArray of ``shape`` and return the recorded
    program's fields (see :meth:`_Tracer.finish`). ``data``: (dtype, shape)
    of each data array, passed to f after x as symbolic inputs (slots 1,
    2, ... in order), before ``args``."""
    shape = normalize_shape(shape)
    if not isinstance(args, (tuple, list)):
        raise TypeError(f"args must be a tuple of extra arguments for f, got "
                        f"{type(args).__name__}")
    methods.hook_scipy()
    tr = _Tracer(shape)
    x = TracedArray(tr, 0, 0, shape, True)
    inputs = [tr.data_input(dtype, tuple(dshape)) for dtype, dshape in data]
    return tr.finish(f(x, *inputs, *args))
