"""Compile NumPy code once into a tape of array operations run by a C VM.

``compile(f, shape)`` calls ``f`` one time with a symbolic array
(:class:`TracedArray`) that implements NumPy's ``__array_ufunc__`` and
``__array_function__`` protocols and the arithmetic operators. Each
operation on it is recorded as one instruction of a linear tape
(:class:`Program`); operations on constants alone are folded at trace time.
The C VM in ``csrc/fg_tape.c`` then evaluates the tape in value, dual
(gradient, Jacobian-vector product) and hyper-dual (Hessian) mode over
preallocated workspaces, with the GIL released for large work.

The elementwise operations are the rows of ``csrc/fg_ops.def`` (read here
from ``fastgrad._ops.OPS``): a NumPy ufunc is supported exactly when the
table has a row with its name.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from fastgrad._ops import OP_CODES, OPS

__all__ = ["compile", "CompiledFunction", "TracedArray", "Program", "TraceError", "trace"]

# Instruction codes and slot kinds of csrc/fg_tape.h.
TI_UNARY, TI_BINARY, TI_WHERE, TI_GATHER, TI_SUM, TI_MATMUL = 1, 2, 3, 4, 5, 6
SLOT_INPUT, SLOT_CONST, SLOT_COMPUTED = 0, 1, 2

OP_KIND = {name: kind for name, kind, _ in OPS}
"""ufunc name -> "unary" / "binary" / "compare", from the op table."""

# ufuncs that are another row of the table under a different name.
_UFUNC_ALIASES = {"float_power": "power"}

FD_METHODS = ("forward", "backward", "central", "five-point", "richardson")
DEFAULT_CHUNK = 8


class TraceError(TypeError):
    """An operation that ``compile`` cannot record (raised while tracing)."""


def _unsupported(what: str, hint: str = "") -> TraceError:
    msg = f"fastgrad.compile cannot trace {what}"
    return TraceError(msg + (f": {hint}" if hint else ""))


# ------------------------------------------------------------------ program --

class Program:
    """The recorded tape: plain arrays shared by the C VM and the reference.

    Attributes
    ----------
    shape : tuple of int
        Shape of the input x (slot 0).
    slot_size, slot_kind : list of int
        Element count and kind (input / constant / computed) of every slot.
    consts : dict of int -> ndarray
        Flat float64 data of each constant slot.
    instrs : list of tuple
        ``(code, op, out, a, b, c, a_off, b_off, c_off, sa, sb, sc, n, p0, p1,
        p2, scale)`` per instruction, fields as in ``fg_tape_instr``; for
        gathers, ``p0`` is an offset into ``index_pool``.
    index_pool : ndarray of int64
        Concatenated gather indices.
    """

    def __init__(self, shape, slot_size, slot_kind, consts, instrs, index_pool):
        self.shape = tuple(shape)
        self.slot_size = list(slot_size)
        self.slot_kind = list(slot_kind)
        self.consts = consts
        self.instrs = list(instrs)
        self.index_pool = np.asarray(index_pool, dtype=np.int64)

    @property
    def n(self) -> int:
        return self.slot_size[0]

    def arrays(self):
        """The flat arrays ``fastgrad._tape.Tape`` takes."""
        offs = np.zeros(len(self.slot_size), dtype=np.int64)
        parts, pos = [], 0
        for s, data in self.consts.items():
            offs[s] = pos
            parts.append(data)
            pos += data.size
        pool = np.concatenate(parts) if parts else np.zeros(0)
        instr = np.array([row[:16] for row in self.instrs], dtype=np.int64).reshape(-1, 16)
        scale = np.array([row[16] for row in self.instrs], dtype=np.float64)
        return (np.asarray(self.slot_size, np.int64), np.asarray(self.slot_kind, np.int32),
                offs, pool, self.index_pool, instr, scale)

    def __repr__(self) -> str:
        return (f"Program(shape={self.shape}, {len(self.instrs)} instructions, "
                f"{len(self.slot_size)} slots)")


class _Tracer:
    """Records instructions while f runs on a TracedArray."""

    def __init__(self, shape):
        self.shape = shape
        n = math.prod(shape)
        self.slot_size = [n]
        self.slot_kind = [SLOT_INPUT]
        self.consts: dict[int, np.ndarray] = {}
        self.instrs: list[tuple] = []
        self.index_parts: list[np.ndarray] = []
        self.index_len = 0
        self._scalar_cache: dict[tuple[float, float] | tuple[str], int] = {}
        self._array_cache: dict[int, tuple[Any, int]] = {}

    # -- slots
    def new_slot(self, size: int) -> int:
        self.slot_size.append(int(size))
        self.slot_kind.append(SLOT_COMPUTED)
        return len(self.slot_size) - 1

    def const_slot(self, value: np.ndarray, key: Any = None) -> int:
        flat = np.ascontiguousarray(value, dtype=np.float64).ravel()
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

    def emit(self, code, out_shape, tan, op=0, a=(-1, 0), b=(-1, 0), c=(-1, 0), sa=1, sb=1,
             sc=1, p=(0, 0, 0), scale=1.0) -> "TracedArray":
        n = math.prod(out_shape)
        out = self.new_slot(n)
        self.instrs.append((code, op, out, a[0], b[0], c[0], a[1], b[1], c[1], sa, sb, sc, n,
                            p[0], p[1], p[2], float(scale)))
        return TracedArray(self, out, 0, tuple(out_shape), tan)

    # -- operands
    def ref(self, v) -> tuple[int, int]:
        """(slot, offset) of a traced array or of a constant."""
        if isinstance(v, TracedArray):
            return v._slot, v._off
        return self.const_slot(v, key=v), 0

    def broadcast(self, v, shape) -> tuple[tuple[int, int], int]:
        """Operand reference and stride (0: scalar, 1: full) for `shape`."""
        if v.size == 1:
            return self.ref(v), 0
        if tuple(v.shape) == tuple(shape):
            return self.ref(v), 1
        if not isinstance(v, TracedArray):
            return self.ref(np.broadcast_to(v, shape)), 1
        idx = np.broadcast_to(np.arange(v.size).reshape(v.shape), shape)
        return self.ref(v._gather(idx)), 1

    def finish(self, out) -> Program:
        if not isinstance(out, TracedArray):
            raise ValueError("f returned a value that does not depend on x "
                             f"({type(out).__name__}); nothing to compile")
        if out.size != 1:
            raise ValueError(f"f must return a scalar, got an array of shape {out.shape}")
        last = self.instrs[-1] if self.instrs else None
        if last is None or last[2] != out._slot or out._off != 0:
            # The result is a view (x[0]) or an earlier value: copy it out.
            out = self.emit(TI_SUM, (), out._tan, a=(out._slot, out._off), p=(1, 1, 1))
        return self._prune(out._slot)

    def _prune(self, out_slot) -> Program:
        """Drop instructions the output does not need, renumber the slots."""
        live = {0, out_slot}
        keep = []
        for ins in reversed(self.instrs):
            if ins[2] in live:
                keep.append(ins)
                live.update(s for s in ins[3:6] if s >= 0)
        keep.reverse()
        order = sorted(live)
        new = {s: i for i, s in enumerate(order)}
        index_pool = (np.concatenate(self.index_parts) if self.index_parts
                      else np.zeros(0, np.int64))
        instrs = []
        for ins in keep:
            row = list(ins)
            for j in (2, 3, 4, 5):
                if row[j] >= 0:
                    row[j] = new[row[j]]
            instrs.append(tuple(row))
        return Program(self.shape, [self.slot_size[s] for s in order],
                       [self.slot_kind[s] for s in order],
                       {new[s]: d for s, d in self.consts.items() if s in live},
                       instrs, index_pool)


# ------------------------------------------------------------ traced array --

def _const(v) -> np.ndarray:
    """A constant operand as a float64 array, or TraceError."""
    a = np.asarray(v)
    if a.dtype.kind not in "biuf":
        raise _unsupported(f"a constant of dtype {a.dtype}", "only real numbers are supported")
    return a.astype(np.float64, copy=False)


def _shape_size(shape) -> int:
    return math.prod(int(d) for d in shape)


class TracedArray:
    """A symbolic float64 array standing for a value computed from x.

    Supports the elementwise ufuncs of the op table, ``**``, comparisons
    (as conditions for ``where``), ``where``/``maximum``/``minimum``/``clip``,
    static indexing and slicing, ``reshape``, ``transpose``/``.T``, ``sum``,
    ``mean``, ``dot``/``matmul``/``@``, broadcasting and constants. Anything
    else raises :class:`TraceError` naming the operation.
    """

    __slots__ = ("_tr", "_slot", "_off", "_shape", "_tan")
    __array_priority__ = 1000

    def __init__(self, tracer, slot, off, shape, tan):
        self._tr = tracer
        self._slot = slot
        self._off = off
        self._shape = tuple(int(d) for d in shape)
        self._tan = tan

    # -- metadata
    shape = property(lambda self: self._shape)
    ndim = property(lambda self: len(self._shape))
    size = property(lambda self: math.prod(self._shape))
    dtype = property(lambda self: np.dtype(np.float64))

    def __repr__(self) -> str:
        return f"TracedArray(shape={self._shape}, slot={self._slot})"

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of a 0-d traced array")
        return self._shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

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
                           "instead of np.array([...])")

    def item(self, *args):
        raise _unsupported("item() of a traced value")

    def tolist(self):
        raise _unsupported("tolist() of a traced value")

    def __setitem__(self, key, value):
        raise _unsupported("item assignment (x[i] = ...)",
                           "traced arrays are immutable; build the result with np.where "
                           "or arithmetic")

    # -- operators
    def __add__(self, o): return _binary("add", self, o)
    def __radd__(self, o): return _binary("add", o, self)
    def __sub__(self, o): return _binary("subtract", self, o)
    def __rsub__(self, o): return _binary("subtract", o, self)
    def __mul__(self, o): return _binary("multiply", self, o)
    def __rmul__(self, o): return _binary("multiply", o, self)
    def __truediv__(self, o): return _binary("divide", self, o)
    def __rtruediv__(self, o): return _binary("divide", o, self)
    def __pow__(self, o): return _binary("power", self, o)
    def __rpow__(self, o): return _binary("power", o, self)
    def __matmul__(self, o): return _matmul(self, o)
    def __rmatmul__(self, o): return _matmul(o, self)
    def __neg__(self): return _unary("negative", self)
    def __pos__(self): return self
    def __abs__(self): return _unary("absolute", self)
    def __lt__(self, o): return _binary("less", self, o)
    def __le__(self, o): return _binary("less_equal", self, o)
    def __gt__(self, o): return _binary("greater", self, o)
    def __ge__(self, o): return _binary("greater_equal", self, o)
    def __eq__(self, o): return _binary("equal", self, o)   # type: ignore[override]
    def __ne__(self, o): return _binary("not_equal", self, o)   # type: ignore[override]
    __hash__ = object.__hash__

    def __floordiv__(self, o):
        raise _unsupported("floor division (//)", "it has no row in the op table fg_ops.def")
    __rfloordiv__ = __floordiv__

    def __mod__(self, o):
        raise _unsupported("the modulo operator (%)", "it has no row in the op table fg_ops.def")
    __rmod__ = __mod__

    # -- methods
    def reshape(self, *shape, order="C"):
        if order != "C":
            raise _unsupported(f"reshape with order={order!r}", "only order='C' is supported")
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        new = np.empty(self._shape, dtype=np.int8).reshape(shape).shape
        return TracedArray(self._tr, self._slot, self._off, new, self._tan)

    def ravel(self, order="C"):
        return self.reshape(-1, order=order)

    def flatten(self, order="C"):
        return self.reshape(-1, order=order)

    def squeeze(self, axis=None):
        return self.reshape(np.empty(self._shape, dtype=np.int8).squeeze(axis).shape)

    def copy(self):
        return self

    def astype(self, dtype, **kwargs):
        if np.dtype(dtype) != np.float64:
            raise _unsupported(f"astype({np.dtype(dtype)})", "traced arrays are float64")
        return self

    def transpose(self, *axes):
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], (int, np.integer))):
            axes = axes[0]
        idx = np.arange(self.size).reshape(self._shape).transpose(axes or None)
        return self._gather(idx)

    @property
    def T(self):
        return self.transpose()

    def sum(self, axis=None, dtype=None, out=None, keepdims=False):
        return _reduce(self, axis, keepdims, mean=False, out=out)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False):
        return _reduce(self, axis, keepdims, mean=True, out=out)

    def dot(self, o):
        return _dot(self, o)

    def clip(self, min=None, max=None):
        return _clip(self, min, max)

    def __getitem__(self, key):
        if _contains_traced(key):
            raise _unsupported("indexing with a traced index", "indices must be static")
        idx = np.arange(self.size).reshape(self._shape)[key]
        return self._gather(np.asarray(idx))

    def _gather(self, idx: np.ndarray) -> "TracedArray":
        """The elements at flat positions idx (shape = idx.shape): a free view
        when they are one contiguous run, else a gather instruction."""
        flat = idx.ravel()
        if flat.size and (flat.size == 1 or np.all(np.diff(flat) == 1)):
            return TracedArray(self._tr, self._slot, self._off + int(flat[0]), idx.shape,
                               self._tan)
        start = self._tr.indices(flat)
        return self._tr.emit(TI_GATHER, idx.shape, self._tan, a=(self._slot, self._off),
                             p=(start, 0, 0))

    # -- NumPy protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = ufunc.__name__
        if method != "__call__":
            raise _unsupported(f"numpy.{name}.{method}")
        if kwargs.get("out") is not None:
            raise _unsupported(f"numpy.{name} with out=", "traced arrays are immutable")
        extra = set(kwargs) - {"out"}
        if extra:
            raise _unsupported(f"numpy.{name} with keyword arguments {sorted(extra)}")
        if name == "matmul":
            return _matmul(*inputs)
        name = _UFUNC_ALIASES.get(name, name)
        kind = OP_KIND.get(name)
        if kind is None:
            raise _unsupported(f"numpy.{name}",
                               "it has no row in the op table fg_ops.def (fastgrad._ops.OPS)")
        if kind == "unary":
            return _unary(name, *inputs)
        return _binary(name, *inputs)

    def __array_function__(self, func, types, args, kwargs):
        handler = _FUNCTIONS.get(func)
        if handler is None:
            mod = getattr(func, "__module__", "numpy") or "numpy"
            raise _unsupported(f"{mod}.{func.__name__}",
                               "see fastgrad.compile's docstring for what is supported")
        return handler(*args, **kwargs)


def _contains_traced(key) -> bool:
    if isinstance(key, TracedArray):
        return True
    if isinstance(key, tuple):
        return any(_contains_traced(k) for k in key)
    return False


def _operand(v):
    return v if isinstance(v, TracedArray) else _const(v)


def _tracer_of(*vs):
    for v in vs:
        if isinstance(v, TracedArray):
            return v._tr
    return None


def _unary(name: str, a):
    a = _operand(a)
    if not isinstance(a, TracedArray):
        return getattr(np, name)(a)
    return a._tr.emit(TI_UNARY, a.shape, a._tan, op=OP_CODES[name], a=(a._slot, a._off))


def _binary(name: str, a, b):
    a, b = _operand(a), _operand(b)
    tr = _tracer_of(a, b)
    if tr is None:
        return getattr(np, name)(a, b).astype(np.float64)
    if name == "power" and not isinstance(b, TracedArray) and b.size == 1:
        # Cheaper, equally exact rows for common constant exponents.
        e = float(b.ravel()[0])
        shape = np.broadcast_shapes(a.shape, b.shape)
        if shape == a.shape:
            if e == 1.0:
                return a
            special = {2.0: "square", 0.5: "sqrt", -1.0: "reciprocal"}.get(e)
            if special:
                return _unary(special, a)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"operands could not be broadcast together with shapes "
                         f"{a.shape} {b.shape} (in numpy.{name})") from None
    ra, sa = tr.broadcast(a, shape)
    rb, sb = tr.broadcast(b, shape)
    if OP_KIND[name] == "compare":
        tan = False
    else:
        tan = getattr(a, "_tan", False) or getattr(b, "_tan", False)
    return tr.emit(TI_BINARY, shape, tan, op=OP_CODES[name], a=ra, b=rb, sa=sa, sb=sb)


def _where(condition, x=None, y=None):
    if x is None or y is None:
        raise _unsupported("numpy.where with one argument", "pass where(cond, a, b)")
    c, a, b = _operand(condition), _operand(x), _operand(y)
    tr = _tracer_of(c, a, b)
    if tr is None:
        return np.where(c, a, b).astype(np.float64)
    shape = np.broadcast_shapes(c.shape, a.shape, b.shape)
    rc, sc = tr.broadcast(c, shape)
    ra, sa = tr.broadcast(a, shape)
    rb, sb = tr.broadcast(b, shape)
    tan = getattr(a, "_tan", False) or getattr(b, "_tan", False)
    return tr.emit(TI_WHERE, shape, tan, a=ra, b=rb, c=rc, sa=sa, sb=sb, sc=sc)


def _clip(a, a_min=None, a_max=None, **kwargs):
    if kwargs.get("out") is not None:
        raise _unsupported("numpy.clip with out=", "traced arrays are immutable")
    if a_min is None:
        a_min = kwargs.get("min")
    if a_max is None:
        a_max = kwargs.get("max")
    r = a
    if a_min is not None:
        r = _binary("maximum", r, a_min)
    if a_max is not None:
        r = _binary("minimum", r, a_max)
    return r


def _reduce(a, axis, keepdims, mean, out=None):
    if out is not None:
        raise _unsupported("a reduction with out=", "traced arrays are immutable")
    a = _operand(a)
    if not isinstance(a, TracedArray):
        return (np.mean if mean else np.sum)(a, axis=axis, keepdims=keepdims)
    shape = a.shape
    nd = len(shape)
    axes = tuple(range(nd)) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    axes = tuple(sorted({int(ax) + nd if int(ax) < 0 else int(ax) for ax in axes}))
    if any(ax < 0 or ax >= max(nd, 1) for ax in axes) or (nd == 0 and axes not in ((), (0,))):
        raise ValueError(f"axis {axis} is out of bounds for an array of dimension {nd}")
    count = _shape_size([shape[ax] for ax in axes if ax < nd])
    scale = 1.0 / count if mean and count else (math.nan if mean else 1.0)
    if axis is None or axes == tuple(range(nd)):
        r = a._tr.emit(TI_SUM, (), a._tan, a=(a._slot, a._off), p=(1, a.size, 1), scale=scale)
    else:
        r, cur = a, list(shape)
        for j, ax in enumerate(sorted(axes, reverse=True)):
            pre, ln, post = _shape_size(cur[:ax]), cur[ax], _shape_size(cur[ax + 1:])
            del cur[ax]
            r = r._tr.emit(TI_SUM, tuple(cur), r._tan, a=(r._slot, r._off),
                           p=(pre, ln, post), scale=scale if j == 0 else 1.0)
    if keepdims:
        r = r.reshape(tuple(1 if i in axes else d for i, d in enumerate(shape)))
    return r


def _matmul(a, b, **kwargs):
    if kwargs.get("out") is not None:
        raise _unsupported("numpy.matmul with out=", "traced arrays are immutable")
    a, b = _operand(a), _operand(b)
    tr = _tracer_of(a, b)
    if tr is None:
        return np.matmul(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: an operand is a scalar (use * for scaling)")
    if a.ndim > 2 or b.ndim > 2:
        raise _unsupported(f"matmul of arrays with shapes {a.shape} and {b.shape}",
                           "only 1-D and 2-D operands are supported")
    M, L = (1, a.shape[0]) if a.ndim == 1 else a.shape
    Lb, P = (b.shape[0], 1) if b.ndim == 1 else b.shape
    if L != Lb:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned "
                         f"({L} != {Lb})")
    out_shape = (() if a.ndim == 1 else (M,)) + (() if b.ndim == 1 else (P,))
    tan = getattr(a, "_tan", False) or getattr(b, "_tan", False)
    return tr.emit(TI_MATMUL, out_shape, tan, a=tr.ref(a), b=tr.ref(b), p=(M, L, P))


def _dot(a, b, out=None):
    if out is not None:
        raise _unsupported("numpy.dot with out=", "traced arrays are immutable")
    a, b = _operand(a), _operand(b)
    if a.ndim == 0 or b.ndim == 0:
        return _binary("multiply", a, b)
    return _matmul(a, b)


def _inner(a, b):
    a, b = _operand(a), _operand(b)
    if a.ndim > 1 or b.ndim > 1:
        raise _unsupported("numpy.inner of arrays with more than 1 dimension")
    return _dot(a, b)


def _outer(a, b, out=None):
    a, b = _operand(a), _operand(b)
    return _binary("multiply", a.reshape(-1, 1), b.reshape(1, -1))


def _norm(x, ord=None, axis=None, keepdims=False):
    if ord not in (None, 2, "fro") or axis is not None or keepdims:
        raise _unsupported(f"numpy.linalg.norm with ord={ord!r}, axis={axis!r}",
                           "only the 2-norm / Frobenius norm of the whole array is supported")
    x = _operand(x)
    if ord == 2 and x.ndim == 2:
        raise _unsupported("numpy.linalg.norm with ord=2 of a matrix (spectral norm)")
    return _unary("sqrt", _reduce(_binary("multiply", x, x), None, False, mean=False))


def _concatenate(arrays, axis=0, out=None, **kwargs):
    """Concatenation from existing instructions: each piece is gathered into
    the output's shape (clamped indices outside its own block), then
    where(block mask, piece, previous) stitches the blocks together, so the
    derivative rules of gather and where carry over unchanged."""
    if out is not None:
        raise _unsupported("numpy.concatenate with out=", "traced arrays are immutable")
    ops = [_operand(a) for a in arrays]
    if _tracer_of(*ops) is None:
        return np.concatenate(ops, axis=axis)
    if axis is None:
        ops, axis = [p.reshape(-1) for p in ops], 0
    if any(p.ndim == 0 for p in ops):
        raise ValueError("zero-dimensional arrays cannot be concatenated (use np.stack)")
    labels = np.concatenate([np.full(p.shape, i) for i, p in enumerate(ops)], axis=axis)
    local = np.concatenate([np.arange(p.size).reshape(p.shape) for p in ops], axis=axis)
    acc = None
    for i, p in enumerate(ops):
        mask = labels == i
        if not mask.any():
            continue
        idx = np.where(mask, local, 0)
        if isinstance(p, TracedArray):
            piece = p._gather(idx)
        else:
            piece = np.where(mask, p.ravel()[idx], 0.0)
        acc = piece if acc is None else _where(mask, piece, acc)
    return acc


def _stack(arrays, axis=0, out=None, **kwargs):
    ops = [_operand(a) for a in arrays]
    if not ops:
        raise ValueError("need at least one array to stack")
    nd = ops[0].ndim + 1
    ax = axis + nd if axis < 0 else axis
    expanded = [p.reshape(p.shape[:ax] + (1,) + p.shape[ax:]) for p in ops]
    return _concatenate(expanded, axis=ax, out=out)


def _hstack(tup, **kwargs):
    ops = [_operand(a) for a in tup]
    ops = [p.reshape(1) if p.ndim == 0 else p for p in ops]
    return _concatenate(ops, axis=0 if ops[0].ndim == 1 else 1)


def _vstack(tup, **kwargs):
    ops = [_operand(a) for a in tup]
    ops = [p.reshape(1, -1) if p.ndim < 2 else p for p in ops]
    return _concatenate(ops, axis=0)


def _reshape(a, *args, **kwargs):
    shape = args[0] if args else kwargs.pop("shape", kwargs.pop("newshape", None))
    return _operand(a).reshape(shape, order=kwargs.get("order", "C"))


_FUNCTIONS: dict[Callable, Callable] = {
    np.sum: lambda a, axis=None, dtype=None, out=None, keepdims=False, **kw:
        _reduce(a, axis, keepdims, mean=False, out=out),
    np.mean: lambda a, axis=None, dtype=None, out=None, keepdims=False, **kw:
        _reduce(a, axis, keepdims, mean=True, out=out),
    np.dot: _dot,
    np.inner: _inner,
    np.outer: _outer,
    np.where: _where,
    np.clip: _clip,
    np.reshape: _reshape,
    np.ravel: lambda a, order="C": _operand(a).ravel(order),
    np.transpose: lambda a, axes=None: _operand(a).transpose(axes),
    np.squeeze: lambda a, axis=None: _operand(a).squeeze(axis),
    np.shape: lambda a: _operand(a).shape,
    np.ndim: lambda a: _operand(a).ndim,
    np.size: lambda a, axis=None: _operand(a).size if axis is None else _operand(a).shape[axis],
    np.linalg.norm: _norm,
    np.concatenate: _concatenate,
    np.stack: _stack,
    np.hstack: _hstack,
    np.vstack: _vstack,
}


# ------------------------------------------------------------------ compile --

def trace(f: Callable, shape, args: Sequence = ()) -> Program:
    """Record f as a tape by calling it once on a TracedArray of `shape`.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> scalar`` written with NumPy operations.
    shape : int or tuple of int
        Shape of x.
    args : sequence
        Extra arguments passed to f as constants.

    Returns
    -------
    Program
        The recorded, dead-code-free tape.
    """
    shape = _normalize_shape(shape)
    tr = _Tracer(shape)
    x = TracedArray(tr, 0, 0, shape, True)
    return tr.finish(f(x, *args))


def _normalize_shape(shape) -> tuple:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(int(d) for d in shape)
    except TypeError:
        raise TypeError(f"shape must be an int or a tuple of ints, got {shape!r}") from None
    if any(d < 0 for d in shape) or _shape_size(shape) < 1:
        raise ValueError(f"shape must describe at least one element, got {shape}")
    return shape


class CompiledFunction:
    """A scalar function of x traced into a tape and evaluated by a C VM.

    Build it with :func:`compile`. Calls take a float64 array of the traced
    shape (other real array-likes are converted); the work runs in C, with
    the GIL released when it is large. Safe to call from several threads at
    once: each call borrows its own workspace. Pickles (the tape, not the
    original Python function).

    Attributes
    ----------
    shape : tuple of int
        Shape of x.
    size : int
        n, the number of elements of x.
    program : Program
        The recorded tape.

    Examples
    --------
    >>> import numpy as np, fastgrad
    >>> A = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> q = fastgrad.compile(lambda x: x @ A @ x, 2)
    >>> q(np.array([1.0, 1.0]))
    7.0
    >>> q.gradient(np.array([1.0, 1.0]))        # (A + A^T) x
    array([6., 8.])
    >>> q.jvp(np.array([1.0, 1.0]), np.array([1.0, 0.0]))
    (7.0, 6.0)
    >>> q.hessian(np.array([1.0, 1.0]))
    array([[4., 2.],
           [2., 6.]])
    """

    def __init__(self, program: Program, fun: Callable | None = None, chunk: int | None = None):
        from fastgrad._tape import Tape
        self.program = program
        self.shape = program.shape
        self.size = program.n
        self.__wrapped__ = fun
        self.__name__ = getattr(fun, "__name__", "compiled")
        self.__doc__ = getattr(fun, "__doc__", None)
        k = DEFAULT_CHUNK if chunk is None else int(chunk)
        if k < 1:
            raise ValueError(f"chunk must be >= 1, got {chunk}")
        self._chunk = k
        self._tape = Tape(*program.arrays(), program.shape, k)
        self._eval = self._tape.eval
        self._grad = self._tape.grad

    def __repr__(self) -> str:
        return (f"<CompiledFunction {self.__name__} shape={self.shape}, "
                f"{len(self.program.instrs)} instructions>")

    def __reduce__(self):
        return (_rebuild, (self.program, self._chunk, self.__name__))

    def __call__(self, x) -> float:
        """f(x) as a float, computed by the C VM.

        Parameters
        ----------
        x : array_like
            A point of the traced shape (float64 C-contiguous is the fast path).

        Returns
        -------
        float
        """
        return self._eval(x)

    def gradient(self, x, method: str = "dual", step=None) -> np.ndarray:
        """The gradient of f at x, shaped like x.

        Parameters
        ----------
        x : array_like
            Point of the traced shape.
        method : {"dual", "reverse", "forward", "backward", "central", "five-point", "richardson"}
            "dual" (default): forward-mode dual numbers in the C VM, exact to
            rounding, ceil(n / chunk) passes. "reverse": one value pass and
            one adjoint sweep in the C VM (same partials from the op table,
            equal to "dual" up to rounding; cheaper when n is large). The
            others: finite differences by ``fastgrad.finite_diff.fd_gradient``
            on the compiled function.
        step : float or array_like, optional
            Finite-difference step (ignored by "dual").

        Returns
        -------
        ndarray
            The gradient, float64, shaped like x.
        """
        if method == "dual":
            return self._grad(x)
        if method == "reverse":
            return self._tape.grad(x, True)
        if method in FD_METHODS:
            from fastgrad.finite_diff import fd_gradient
            return fd_gradient(self, x, method=method, step=step)
        raise ValueError(f"method must be 'dual', 'reverse' or one of {FD_METHODS}, "
                         f"got {method!r}")

    def value_and_gradient(self, x, method: str = "dual") -> tuple[float, np.ndarray]:
        """f(x) and its gradient from the same passes.

        Parameters
        ----------
        x : array_like
            A point of the traced shape.
        method : {"dual", "reverse"}
            Forward-mode dual numbers, or one adjoint sweep (see ``gradient``).

        Returns
        -------
        (float, ndarray)
            The value and the gradient (x's shape).
        """
        if method not in ("dual", "reverse"):
            raise ValueError(f"method must be 'dual' or 'reverse', got {method!r}")
        return self._tape.value_grad(x, method == "reverse")

    def jvp(self, x, v) -> tuple[float, float]:
        """f(x) and the directional derivative grad f(x) . v.

        Parameters
        ----------
        x, v : array_like
            The point and the direction, both of the traced shape.

        Returns
        -------
        (float, float)
            f(x) and J v, from one dual pass with tangent v.
        """
        return self._tape.jvp(x, v)

    def hvp(self, x, v) -> np.ndarray:
        """The Hessian-vector product H(x) v, exact to rounding, without
        forming H.

        One dual pass with tangent v, then the adjoint sweep differentiated
        along it: d/dt grad f(x + t v) at t = 0, a cost that does not grow
        with n beyond the passes' own length (n-D Rosenbrock, n = 100:
        1.7 us, against 0.4 us for the reverse gradient and 90 us to form H
        and multiply). For Newton-CG and trust-region solvers
        (``scipy.optimize.minimize(..., hessp=cf.hvp)``).

        Parameters
        ----------
        x, v : array_like
            The point and the direction, both of the traced shape.

        Returns
        -------
        ndarray
            H(x) v, of the traced shape.

        Examples
        --------
        >>> import numpy as np, fastgrad as fg
        >>> cf = fg.compile(lambda x: x[0] ** 2 * x[1] + np.sin(x[1]), 2)
        >>> cf.hvp(np.array([1.0, 0.0]), np.array([1.0, 0.0]))
        array([0., 2.])
        """
        return self._tape.hvp(x, v)[2]

    def hessian(self, x, method: str = "auto") -> np.ndarray:
        """The (n, n) Hessian at x, exact to rounding.

        Notes
        -----
        ``method="reverse"``: forward-over-reverse. A dual pass carries k
        unit directions e_j; the adjoint sweep, differentiated along them
        (second partials from the op table), gives the columns
        d(grad f)/dx_j. About n/k passes, each (1 + k) times a reverse
        gradient's work. The result is the mean of the computed matrix and
        its transpose.

        ``method="hyperdual"``: x = a + b eps1 + c eps2 + d eps1 eps2 with
        eps1^2 = eps2^2 = 0 gives f(x) = f(a) + f'(a) b eps1 + f'(a) c eps2 +
        (f'(a) d + f''(a) b c) eps1 eps2; with b = e_i, c = e_j, d = 0 the
        eps1 eps2 part is H[i, j]. About n^2/(2k) passes.

        ``"auto"`` (default): reverse for n > 2 (n-D Rosenbrock: 3.4x
        faster at n = 10, 32x at n = 100, 93x at n = 300), hyper-dual below,
        where the two cost the same. Both are exact to rounding and agree to
        a few ulps.

        Parameters
        ----------
        x : array_like
            A point of the traced shape.
        method : {"auto", "reverse", "hyperdual"}

        Returns
        -------
        ndarray
            (n, n) float64, exactly symmetric, in the order of ``x.ravel()``.

        Examples
        --------
        >>> import numpy as np, fastgrad as fg
        >>> cf = fg.compile(lambda x: x[0] ** 2 * x[1] + np.sin(x[1]), 2)
        >>> cf.hessian(np.array([1.0, 0.0]))
        array([[0., 2.],
               [2., 0.]])
        """
        return self._tape.hessian(x, reverse=self._hessian_by_reverse(method))

    def _hessian_by_reverse(self, method: str) -> bool:
        if method not in ("auto", "reverse", "hyperdual"):
            raise ValueError(f"method must be 'auto', 'reverse' or 'hyperdual', got {method!r}")
        return method == "reverse" or (method == "auto" and self.size > 2)

    def _fg_scalar_capsule(self):
        """A fresh PyCapsule "fastgrad.scalar_callback" (value mode, own workspace)."""
        return self._tape.scalar_capsule()

    def _fg_objective_capsule(self, method: str = "auto"):
        """A fresh PyCapsule "fastgrad.objective_callback" for C drivers.

        value_grad: dual numbers ("dual"), the adjoint sweep ("reverse"), or
        "auto" (default): reverse, whose cost does not grow with n, except
        for n <= 2 where one dual pass costs the same (measured: n = 2 dual
        79 ns, reverse 77 ns; n = 8 dual 180 ns, reverse 100 ns).
        hessian: as ``hessian(x, method="auto")``. Each capsule owns its
        workspace.
        """
        if method not in ("auto", "dual", "reverse"):
            raise ValueError(f"method must be 'auto', 'dual' or 'reverse', got {method!r}")
        reverse = method == "reverse" or (method == "auto" and self.size > 2)
        return self._tape.objective_capsule(reverse, self._hessian_by_reverse("auto"))

    def _fg_hvp_capsule(self):
        """A fresh PyCapsule "fastgrad.hvp_callback": H(x) v by forward-over-
        reverse, as :meth:`hvp` (what minimize's newton-cg uses)."""
        return self._tape.hvp_capsule()


def _rebuild(program: Program, chunk: int, name: str) -> CompiledFunction:
    cf = CompiledFunction(program, None, chunk)
    cf.__name__ = name
    return cf


def compile(f: Callable | None = None, shape=None, *, args: Sequence = (),
            chunk: int | None = None):
    """Trace ``f`` once into a tape of array operations evaluated in C.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> scalar``, ordinary NumPy code. Omit it to use
        ``compile`` as a decorator: ``@compile(shape=(n,))``.
    shape : int or tuple of int
        Shape of x.
    args : sequence, optional
        Extra arguments for f, frozen as constants at trace time.
    chunk : int, optional
        Tangent directions per dual pass (default 8).

    Returns
    -------
    CompiledFunction
        ``cf(x)``, ``cf.gradient(x)``, ``cf.value_and_gradient(x)``,
        ``cf.jvp(x, v)``, ``cf.hessian(x)``.

    Raises
    ------
    TraceError
        (a TypeError) for an operation the tape cannot record: a NumPy
        function or ufunc outside the supported set, or data-dependent Python
        control flow (``if x > 0``, ``float(x)``). The message names it.

    Notes
    -----
    Supported: the elementwise ufuncs with a row in ``fg_ops.def``
    (``fastgrad._ops.OPS``), ``**``, comparisons as conditions,
    ``where``/``maximum``/``minimum``/``clip``, static indexing and slicing,
    ``reshape``/``ravel``, ``transpose``/``.T``, ``sum``/``mean`` (all or along
    axes), ``dot``/``matmul``/``@``/``inner``/``outer`` of 1-D and 2-D
    operands, ``linalg.norm`` (2-norm), ``concatenate``/``stack``/``hstack``/
    ``vstack`` (``np.array([...])`` of traced values cannot be intercepted:
    use ``np.stack``), broadcasting and constants.
    Operations on constants alone are folded while tracing.

    Examples
    --------
    >>> import numpy as np, fastgrad
    >>> @fastgrad.compile(shape=(2,))
    ... def rosen(x):
    ...     return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    >>> rosen(np.array([1.0, 1.0]))
    0.0
    >>> rosen.gradient(np.array([0.0, 0.0]))
    array([-2.,  0.])
    """
    if f is None:
        if shape is None:
            raise TypeError("compile() needs shape=...")
        return lambda fun: compile(fun, shape, args=args, chunk=chunk)
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    if shape is None:
        raise TypeError("compile() needs the shape of x: compile(f, shape)")
    return CompiledFunction(trace(f, shape, args), f, chunk)
