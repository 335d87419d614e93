"""The tracer of ``fastgrad.compile`` and the recorder of reverse mode:
NumPy code recorded as tape instructions.

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

``fastgrad.recorder`` runs the same tracer in concrete mode (``concrete``
is set, ``values`` holds each slot's values): :meth:`_Tracer.emit` hands
every instruction to :meth:`_Tracer.computed`, where the recorder computes
its value, so the tracer's primitives serve both.
"""
from __future__ import annotations

import math
import struct
from typing import Any, Callable, Sequence

import numpy as np

from fastgrad import _tape, _validate, methods, rules
from fastgrad._ops import ROWS

__all__ = ["TracedArray", "TraceError", "record", "normalize_shape"]


CODES = _tape.CODES
"""Instruction code by name, as csrc/fg_tape.h defines them."""
SLOT_INPUT, SLOT_CONST, SLOT_COMPUTED, SLOT_DATA, SLOT_DATA_INT = (
    _tape.SLOT_KINDS[k] for k in ("INPUT", "CONST", "COMPUTED", "DATA", "DATA_INT"))

# An instruction is recorded as a tuple of these fields, by name; the C
# record's layout (offsets, types, size) comes from fastgrad._tape.INSTR_DTYPE,
# and _PACK writes a tuple as that record, so the rows become the C array in
# one pass. The positions of the slot fields, used while pruning:
_FIELDS = ("code", "op", "out", "a", "b", "c", "a_off", "b_off", "c_off", "sa", "sb", "sc",
           "n", "p0", "p1", "p2", "p3", "scale")
_OUT, _A, _B, _C = 2, 3, 4, 5


def _packer(dtype: np.dtype) -> tuple[struct.Struct, tuple[int, ...]]:
    """A struct that writes one record of dtype from a tuple in _FIELDS
    order, and the order in which it takes the fields (by offset)."""
    if set(_FIELDS) != set(dtype.names or ()):   # pragma: no cover - a schema change
        raise ImportError("fastgrad.trace's instruction fields differ from csrc/fg_tape.h's")
    fields: Any = dtype.fields or {}
    by_offset = sorted(_FIELDS, key=lambda f: fields[f][1])
    fmt, pos = "=", 0
    for name in by_offset:
        ftype, off = fields[name][:2]
        fmt += "x" * (off - pos) + {"i4": "i", "i8": "q", "f8": "d"}[ftype.str[1:]]
        pos = off + ftype.itemsize
    fmt += "x" * (dtype.itemsize - pos)
    return struct.Struct(fmt), tuple(_FIELDS.index(f) for f in by_offset)


_PACK, _PACK_ORDER = _packer(_tape.INSTR_DTYPE)
_IN_ORDER = _PACK_ORDER == tuple(range(len(_FIELDS)))
_NO_OPERAND = (-1, 0)
_NO_PARAMS = (0, 0, 0)


def instruction_array(rows: list) -> np.ndarray:
    """Recorded rows (tuples in ``_FIELDS`` order) as a new array of
    ``fastgrad._tape.INSTR_DTYPE``."""
    pack = _PACK.pack
    if _IN_ORDER:
        data = b"".join([pack(*r) for r in rows])
    else:   # pragma: no cover - a C record whose fields are in another order
        data = b"".join([pack(*[r[i] for i in _PACK_ORDER]) for r in rows])
    return np.frombuffer(bytearray(data), dtype=_tape.INSTR_DTYPE)


class TraceError(TypeError):
    """An operation that ``compile`` cannot record (raised while tracing)."""


def _unsupported(what: str, hint: str = "") -> TraceError:
    msg = f"fastgrad.compile cannot trace {what}"
    return TraceError(msg + (f": {hint}" if hint else ""))


class _Tracer:
    """Records instructions while f runs on a TracedArray."""

    array_type: Any    # TracedArray, or RecordedArray for a _Recorder
    concrete = False   # True for a _Recorder: values are known, in values
    values: list       # a _Recorder's flat float64 values of each slot
    f32 = False        # x is float32 (a _Recorder tracks f's result dtype)
    promoted = False

    def result_dtype(self) -> np.dtype:
        """The dtype of f's result (see _Recorder)."""
        return np.dtype(np.float64)

    def note_constants(self, *xs: Any) -> None:
        """Constants met by a traced operand (see _Recorder)."""

    def __init__(self, shape: tuple) -> None:
        self.shape = shape
        self.slot_size = [math.prod(shape)]
        self.slot_kind = [SLOT_INPUT]
        self.consts: dict[int, np.ndarray] = {}
        self.instrs: list[tuple] = []
        self.index_parts: list[np.ndarray] = []
        self.index_len = 0
        self._scalar_cache: dict[tuple, int] = {}
        self._array_cache: dict[int, tuple[Any, int]] = {}
        self._ones_slot: dict[int, int] = {}
        self._bcast_cache: dict[tuple, tuple[Any, int]] = {}
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
    def const_slot(self, value: Any, key: Any = None) -> int:
        if key is not None:   # only arrays of more than one element are keyed
            hit = self._array_cache.get(id(key))
            if hit is not None:
                return hit[1]
        flat = np.ascontiguousarray(value, dtype=np.float64).ravel()
        ck: tuple = ()
        if flat.size == 1:
            v = float(flat[0])
            ck = (v, math.copysign(1.0, v)) if v == v else ("nan",)
            if ck in self._scalar_cache:
                return self._scalar_cache[ck]
        self.slot_size.append(flat.size)
        self.slot_kind.append(SLOT_CONST)
        s = len(self.slot_size) - 1
        self.consts[s] = flat = flat.copy()
        self.constant(flat)
        if flat.size == 1:
            self._scalar_cache[ck] = s
        elif key is not None:
            self._array_cache[id(key)] = (key, s)   # keep key alive: ids stay unique
        return s

    def constant(self, flat: np.ndarray) -> None:
        """A constant slot was added with these values (a recorder keeps them)."""

    def scalar_slot(self, v: float) -> int:
        """The constant slot of a Python number (one per value and sign)."""
        ck = (v, math.copysign(1.0, v)) if v == v else ("nan",)
        s = self._scalar_cache.get(ck)
        if s is None:
            flat = np.array([v], dtype=np.float64)
            self.slot_size.append(1)
            self.slot_kind.append(SLOT_CONST)
            self._scalar_cache[ck] = s = len(self.slot_size) - 1
            self.consts[s] = flat
            self.constant(flat)
        return s

    def indices(self, idx: np.ndarray) -> int:
        idx = np.ascontiguousarray(idx, dtype=np.int64).ravel()
        start = self.index_len
        self.index_parts.append(idx)
        self.index_len += idx.size
        return start

    def emit(self, code: str, out_shape: tuple, tan: bool, op: int = 0, a=_NO_OPERAND,
             b=_NO_OPERAND, c=_NO_OPERAND, sa: int = 1, sb: int = 1, sc: int = 1,
             p=_NO_PARAMS, scale: float = 1.0, index: Any = None) -> Any:
        """Append one instruction writing a new slot of out_shape (a tuple of
        ints); GATHER passes its flat int64 indices as ``index``. An empty
        result is an empty constant instead: it has no derivative."""
        n = math.prod(out_shape)
        if n == 0:
            return np.zeros(out_shape)
        if index is not None:
            p = (self.indices(index), 0, 0)
        out = len(self.slot_size)
        self.slot_size.append(n)
        self.slot_kind.append(SLOT_COMPUTED)
        # An operand the code does not read has slot -1, offset 0, stride 0.
        row = (CODES[code], op, out, a[0], b[0], c[0], a[1], b[1], c[1],
               sa if a[0] >= 0 else 0, sb if b[0] >= 0 else 0, sc if c[0] >= 0 else 0,
               n, p[0], p[1], p[2], p[3] if len(p) > 3 else 0, float(scale))
        self.instrs.append(row)
        self.computed(row, index)
        arr: Any = _object_new(self.array_type)
        arr._tr, arr._slot, arr._off, arr._shape, arr._tan = self, out, 0, out_shape, tan
        return arr

    def computed(self, row: tuple, index: Any) -> None:
        """An instruction was appended (a recorder computes its value here)."""

    def elementwise(self, op: int, shape: tuple, tan: bool, a: int, a_off: int, b: int = -1,
                    b_off: int = 0, sa: int = 1, sb: int = 0) -> Any:
        """The hot path of :meth:`emit` for UNARY (b = -1) and BINARY: the
        row of op-table row op on operands (slot, offset, stride)."""
        n = math.prod(shape)
        if n == 0:
            return np.zeros(shape)
        out = len(self.slot_size)
        self.slot_size.append(n)
        self.slot_kind.append(SLOT_COMPUTED)
        self.instrs.append((_UNARY, op, out, a, -1, -1, a_off, 0, 0, 1, 0, 0, n, 0, 0, 0, 0, 1.0)
                           if b < 0 else
                           (_BINARY, op, out, a, b, -1, a_off, b_off, 0, sa, sb, 0, n, 0, 0, 0, 0,
                            1.0))
        if self.concrete:
            V = self.values
            fn = _ROW_UFUNCS.get(op) or row_ufunc(op)
            A = V[a]
            m = n if sa else 1
            if a_off or A.shape[0] != m:
                A = A[a_off:a_off + m]
            if b < 0:
                V.append(fn(A))
            else:
                B = V[b]
                m = n if sb else 1
                if b_off or B.shape[0] != m:
                    B = B[b_off:b_off + m]
                r = fn(A, B)
                V.append(r if r.shape[0] == n else np.full(n, r[0]))
        arr: Any = _object_new(self.array_type)
        arr._tr, arr._slot, arr._off, arr._shape, arr._tan = self, out, 0, shape, tan
        return arr

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
        if tuple(v.shape) == tuple(shape) or v.size == math.prod(shape):
            return self.ref(v), 1   # the same elements in the same order (new unit axes)
        if not isinstance(v, TracedArray):   # one constant slot per array and shape
            ck = (id(v), shape)
            hit = self._bcast_cache.get(ck)
            if hit is None:   # v is kept alive with its slot: ids stay unique
                hit = self._bcast_cache[ck] = (v, self.const_slot(np.broadcast_to(v, shape)))
            return (hit[1], 0), 1
        outer = self._outer(v.shape, shape)
        if outer is not None:
            lead, m = outer
            ones = self._ones_slot.get(m)
            if ones is None:
                ones = self._ones_slot[m] = self.const_slot(np.ones(m))
            # A plain 2-D product (p3 = 1 where the record has a batch count).
            if lead:   # (..., 1, s) to (..., m, s): ones(m, 1) @ v(1, s)
                r = self.emit("MATMUL", shape, v._tan, a=(ones, 0), b=(v._slot, v._off),
                              p=(m, 1, v.size, 1))
            else:      # (s, 1, ...) to (s, m, ...): v(s, 1) @ ones(1, m)
                r = self.emit("MATMUL", shape, v._tan, a=(v._slot, v._off), b=(ones, 0),
                              p=(v.size, 1, m, 1))
            return (r._slot, 0), 1
        idx = np.broadcast_to(np.arange(v.size).reshape(v.shape), shape)
        return self.ref(self.array_type._fg_backend.gather(v, idx)), 1

    @staticmethod
    def _outer(vshape: tuple, shape: tuple) -> tuple[bool, int] | None:
        """(True, m) when broadcasting vshape to shape repeats the whole
        array m times along leading axes (a bias row added to a matrix),
        (False, m) when it repeats each element m times along trailing axes
        (a column of row statistics), else None. Either is an outer product
        with ones, a matrix product of inner size 1: cheaper to record and
        to sweep than a gather of one index per element."""
        full = (1,) * (len(shape) - len(vshape)) + tuple(vshape)
        k = 0
        while full[k] == 1:
            k += 1
        if full[k:] == shape[k:]:
            return True, math.prod(shape[:k])
        k = len(full)
        while full[k - 1] == 1:
            k -= 1
        if full[:k] == shape[:k]:
            return False, math.prod(shape[k:])
        return None

    def output(self, out: Any) -> Any:
        """f's result as a scalar in a slot of its own written by the last
        instruction (a view such as x[0], or an earlier value, is copied out
        by a one-element SUM)."""
        if not isinstance(out, TracedArray):
            raise ValueError("f returned a value that does not depend on x "
                             f"({type(out).__name__}); nothing to compile")
        if out.size != 1:
            raise ValueError(f"f must return a scalar, got an array of shape {out.shape}")
        if not self.instrs or self.instrs[-1][_OUT] != out._slot or out._off != 0:
            out = self.emit("SUM", (), out._tan, a=(out._slot, out._off), p=(1, 1, 1))
        return out

    def finish(self, out: Any) -> tuple:
        """The recorded program's fields: (shape, slot sizes, slot kinds,
        constants, instructions, index pool), pruned to what out needs."""
        rows, order = self.prune(self.output(out)._slot)
        if order is None:
            order = list(range(len(self.slot_size)))
        keep = set(order)
        new = {s: i for i, s in enumerate(order)}
        return (self.shape, [self.slot_size[s] for s in order],
                [self.slot_kind[s] for s in order],
                {new[s]: d for s, d in self.consts.items() if s in keep},
                instruction_array(rows), self.index_pool())

    def index_pool(self) -> np.ndarray:
        return np.concatenate(self.index_parts) if self.index_parts else np.zeros(0, np.int64)

    def prune(self, out_slot: int) -> tuple[list, list | None]:
        """The instructions the output needs, with their slots renumbered,
        and the old number of each kept slot in order (None: every slot is
        kept, numbers unchanged)."""
        live = bytearray(len(self.slot_size) + 1)   # the extra byte absorbs slot -1
        live[0] = live[out_slot] = 1
        for s in self.data_slots:   # every data slot: one per data argument
            live[s] = 1
        nkeep = 0
        for ins in reversed(self.instrs):
            if live[ins[_OUT]]:
                nkeep += 1
                live[ins[_A]] = live[ins[_B]] = live[ins[_C]] = 1
        live[-1] = 0
        if nkeep == len(self.instrs) and live.count(1) == len(self.slot_size):
            return self.instrs, None
        order = [s for s in range(len(self.slot_size)) if live[s]]
        new = {s: i for i, s in enumerate(order)}
        new[-1] = -1
        rows = [ins[:_OUT] + (new[ins[_OUT]], new[ins[_A]], new[ins[_B]], new[ins[_C]])
                + ins[_C + 1:] for ins in self.instrs if live[ins[_OUT]]]
        return rows, order


_object_new = object.__new__


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
        raise self._fg_backend.unsupported(
            "item assignment (x[i] = ...): recorded arrays are immutable; build the result "
            "with np.where or arithmetic")

    def copy(self) -> "TracedArray":
        return self

    def astype(self, dtype, **kwargs) -> "TracedArray":
        if np.dtype(dtype) != np.float64:
            raise _unsupported(f"astype({np.dtype(dtype)})", "traced arrays are float64")
        return self

    # -- NumPy protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return methods.apply_ufunc(self._fg_backend, ufunc, method, inputs, kwargs)

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
            raise self._fg_backend.unsupported(
                f"{mod.replace('numpy._core.', 'numpy.')}.{func.__name__}")
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


def _broadcast_shape(sa: tuple, sb: tuple, name: str) -> tuple:
    """``numpy.broadcast_shapes(sa, sb)`` for two shapes, without its
    per-call array set-up (it runs once per recorded binary operation)."""
    if sa == sb:
        return sa
    d = len(sa) - len(sb)
    if d > 0:
        sb = (1,) * d + sb
    elif d < 0:
        sa = (1,) * -d + sa
    out = []
    for x, y in zip(sa, sb):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise ValueError(f"operands could not be broadcast together with shapes "
                             f"{sa[max(-d, 0):]} {sb[max(d, 0):]} (in numpy.{name})")
    return tuple(out)


def _layout(shape: tuple, axis: int) -> tuple[int, int, int]:
    """(pre, len, post) of a reduction along axis."""
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


def _view(a: TracedArray, off: int, shape: tuple) -> TracedArray:
    """Elements [off, off + size) of a's slot, as an array of a's type."""
    v = _object_new(type(a))
    v._tr, v._slot, v._off, v._shape, v._tan = a._tr, a._slot, off, shape, a._tan
    return v


_ROW_UFUNCS: dict[Any, Any] = {}


def row_ufunc(key: Any) -> Any:
    """The function of an op-table row, by name or code (looked up once)."""
    fn = _ROW_UFUNCS.get(key)
    if fn is None:
        fn = _ROW_UFUNCS[key] = rules.row_function(key if isinstance(key, str)
                                                   else ROWS[key].name)
    return fn


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
            raise self.unsupported(f"numpy.{name}: it has no row in the op table")
        if len(xs) == 1:
            a = xs[0]
            if isinstance(a, TracedArray):
                return a._tr.elementwise(rules.op_code(name), a._shape, a._tan, a._slot, a._off)
            return np.asarray(row_ufunc(name)(_const(a)), dtype=np.float64)
        a, b = xs
        if isinstance(a, TracedArray):   # the common cases first: x op x, x op 2.0
            tr = a._tr
            if kind != "compare" or not tr.concrete:
                tb = type(b)
                if tb is float or tb is int:
                    return tr.elementwise(rules.op_code(name), a._shape,
                                          a._tan and kind != "compare", a._slot, a._off,
                                          tr.scalar_slot(b), 0, 1 if a._shape else 0, 0)
                if isinstance(b, TracedArray) and a._shape == b._shape and a._shape:
                    return tr.elementwise(rules.op_code(name), a._shape,
                                          (a._tan or b._tan) and kind != "compare", a._slot,
                                          a._off, b._slot, b._off, 1, 1)
        elif isinstance(b, TracedArray) and (kind != "compare" or not b._tr.concrete):
            ta = type(a)
            if ta is float or ta is int:
                tr = b._tr
                return tr.elementwise(rules.op_code(name), b._shape,
                                      b._tan and kind != "compare", tr.scalar_slot(a), 0,
                                      b._slot, b._off, 0, 1 if b._shape else 0)
        tracer = a._tr if isinstance(a, TracedArray) else \
            b._tr if isinstance(b, TracedArray) else None
        if tracer is None:
            return np.asarray(row_ufunc(name)(_const(a), _const(b)), dtype=np.float64)
        tr = tracer
        if tr.f32:
            tr.note_constants(a, b)
        if kind == "compare" and tr.concrete:   # a plain condition: no derivative
            return row_ufunc(name)(_values(a), _values(b))
        a, b = _operand(a), _operand(b)
        shape = _broadcast_shape(a.shape, b.shape, name)
        if math.prod(shape) == 0:
            return np.zeros(shape)
        ra, sa = tr.broadcast(a, shape)
        rb, sb = tr.broadcast(b, shape)
        tan = kind != "compare" and _tan(a, b)
        return tr.elementwise(rules.op_code(name), shape, tan, ra[0], ra[1], rb[0], rb[1], sa, sb)

    def getitem(self, a: TracedArray, key: Any) -> Any:
        from fastgrad import trace_data
        if trace_data._data_in(key):
            return trace_data.index_with_data(a, key)
        shape = a._shape
        tk = type(key)
        if shape and (tk is int or (tk is slice and (key.step is None or key.step == 1))):
            # a[i] and a[i:j] along the first axis: a view, no index arrays
            inner = math.prod(shape[1:])
            if tk is int:
                i = key + shape[0] if key < 0 else key
                if 0 <= i < shape[0]:
                    return _view(a, a._off + i * inner, shape[1:])
            else:
                start, stop, _ = key.indices(shape[0])
                if stop > start:
                    return _view(a, a._off + start * inner, (stop - start,) + shape[1:])
        return self.gather(a, np.asarray(np.arange(a.size).reshape(shape)[key]))

    def gather(self, a: TracedArray, idx: np.ndarray) -> Any:
        """A free view when idx is one contiguous run, else a GATHER."""
        flat = idx.ravel()
        n = flat.size
        if n == 0:
            return np.zeros(idx.shape)
        # the ends first: most gathers that are not one run fail there, cheaply
        if n == 1 or (flat[n - 1] - flat[0] == n - 1 and (flat[1:] - flat[:-1] == 1).all()):
            return _view(a, a._off + int(flat[0]), tuple(idx.shape))
        return a._tr.emit("GATHER", tuple(idx.shape), a._tan, a=(a._slot, a._off),
                          index=np.ascontiguousarray(flat, dtype=np.int64))

    def reshape(self, a: TracedArray, shape: tuple) -> TracedArray:
        if type(shape) is tuple and all(type(d) is int and d >= 0 for d in shape) \
                and math.prod(shape) == math.prod(a._shape):
            new = shape   # the common case: every length given
        else:   # -1, NumPy integers, and NumPy's error for a wrong size
            new = np.empty(a.shape, dtype=np.int8).reshape(shape).shape
        return _view(a, a._off, new)

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
        tr = _tracer_of(a, b)
        if tr is None:
            return np.matmul(_const(a), _const(b))
        if tr.f32:
            tr.note_constants(a, b)
        a, b = _operand(a), _operand(b)
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
        tr = _tracer_of(cond, x, y)
        if tr is not None and tr.f32:
            tr.note_constants(x, y)
        c, a, b = _operand(cond), _operand(x), _operand(y)
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
        tr = _tracer_of(*xs)
        if tr is not None and tr.f32:
            tr.note_constants(*xs)
        ops = [_operand(x) for x in xs]
        if tr is None:
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
_Tracer.array_type = TracedArray


_UNARY, _BINARY = CODES["UNARY"], CODES["BINARY"]


def _values(x: Any) -> Any:
    """The values of a recorded array (a constant as it is)."""
    if isinstance(x, TracedArray):
        return x._tr.values[x._slot][x._off:x._off + x.size].reshape(x._shape)
    return x


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
