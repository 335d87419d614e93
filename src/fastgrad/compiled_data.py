"""The data inputs of a compiled function (``compile(f, shape, data=...)``).

The arrays passed as ``data=`` become inputs of the tape (DATA and DATA_INT
slots, see ``csrc/fg_tape.h``), read at each call. A tape has fixed slot
sizes, so each number of rows (the first-axis length every data array
shares) has its own tape: traced once, on first use, and cached (a bounded
cache, under a lock, so threads trace a new length once). Everything else
about the arrays is fixed at compile time and checked at each call: the
dtype and the trailing shape, with a ``ValueError`` naming the argument.
Float data are read in place when they are float64, native and
C-contiguous (else converted); integer data (class labels) as int64, their
range checked where they index.
"""
from __future__ import annotations

import inspect
import pickle
import threading
from collections import OrderedDict
from typing import Any, Callable, Sequence

import numpy as np

from fastgrad import _validate

__all__ = ["DataInputs"]

_MAX_TAPES = 32
"""Row counts whose tapes are kept (the least recently used goes first;
the compile-time row count always stays)."""


def _names(f: Callable, count: int) -> list[str]:
    """The names of f's data parameters (after x), for messages."""
    try:
        params = [p.name for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = params[1:1 + count]
    return names + [f"data[{j}]" for j in range(len(names), count)]


class _Portable:
    """A function pickled by reference when plain pickle can, else by value
    with cloudpickle when it is installed (lambdas, closures), else dropped:
    an unpickled compiled function then evaluates the row counts it was
    traced for, and says so for a new one."""

    def __init__(self, fun: Callable | None) -> None:
        self.fun = fun

    def __reduce__(self):
        try:
            pickle.dumps(self.fun)
            return (_Portable, (self.fun,))
        except Exception:
            pass
        try:
            import cloudpickle  # type: ignore[import-untyped]
            return (_Portable._loads, (cloudpickle.dumps(self.fun),))
        except Exception:
            return (_Portable, (None,))

    @staticmethod
    def _loads(blob: bytes) -> "_Portable":
        return _Portable(pickle.loads(blob))


class DataInputs:
    """The data of one compiled function: the names, dtypes and trailing
    shapes every call is checked against, the default arrays, and the
    tapes by row count.

    Parameters
    ----------
    f : callable
        ``f(x, *data, *args)``.
    shape : tuple of int
        Shape of x.
    data : sequence of array_like
        The default data arrays.
    args : sequence
        Constants for f.
    chunk : int or None
        Tangent directions per dual pass.
    """

    def __init__(self, f: Callable | None, shape: tuple, data: Sequence, args: Sequence,
                 chunk: int | None) -> None:
        if isinstance(data, np.ndarray) or not isinstance(data, (tuple, list)):
            raise TypeError("data must be a tuple of arrays, one per data argument of f "
                            f"(data=(X, y)), got {type(data).__name__}")
        if not data:
            raise ValueError("data= needs at least one array (or leave it out)")
        self.fun = f
        self.shape = shape
        self.args = tuple(args)
        self.chunk = chunk
        self.names = _names(f, len(data)) if f is not None else [
            f"data[{j}]" for j in range(len(data))]
        raw = []
        for name, a in zip(self.names, data):
            arr = a if isinstance(a, np.ndarray) else np.asarray(a)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"{name} must hold real numbers or integers, got dtype "
                                f"{arr.dtype}")
            if arr.ndim < 1:
                raise ValueError(f"{name} must have a first axis (rows); got a scalar")
            raw.append(arr)
        self.dtypes = tuple(a.dtype.newbyteorder("=") for a in raw)
        self.trailing = tuple(a.shape[1:] for a in raw)
        self._lock = threading.Lock()
        self._tapes: OrderedDict = OrderedDict()   # rows -> (program, tape, bounds)
        self.rows, self.defaults = self._convert(raw)
        self._trace(self.rows)

    # -- checks
    def _convert(self, data: Sequence) -> tuple[int, tuple]:
        """(rows, the arrays as C reads them), or ValueError/TypeError
        naming the argument."""
        if len(data) != len(self.names):
            raise TypeError(f"expected {len(self.names)} data arrays "
                            f"({', '.join(self.names)}), got {len(data)}")
        rows = None
        out = []
        for j, a in enumerate(data):
            name = self.names[j]
            if not isinstance(a, np.ndarray):
                a = np.asarray(a)
            if a.dtype.newbyteorder("=") != self.dtypes[j]:
                raise ValueError(f"{name} has dtype {a.dtype}, but the function was compiled "
                                 f"with {name} of dtype {self.dtypes[j]}")
            if a.shape[1:] != self.trailing[j] or a.ndim != 1 + len(self.trailing[j]):
                want = ("m",) + self.trailing[j]
                raise ValueError(f"{name} has shape {a.shape}, but the function was compiled "
                                 f"for shape ({', '.join(map(str, want))}) with any number "
                                 "m of rows")
            if a.shape[0] < 1:
                raise ValueError(f"{name} has no rows")
            if rows is None:
                rows = a.shape[0]
            elif a.shape[0] != rows:
                raise ValueError(f"{name} has {a.shape[0]} rows but {self.names[0]} has "
                                 f"{rows}: every data array has the same rows")
            if self.dtypes[j].kind == "f":
                if not (a.dtype == np.float64 and a.flags.c_contiguous):
                    a = _validate.input_array(name, a, dtype=np.float64)
            elif not (a.dtype == np.int64 and a.flags.c_contiguous):
                a = np.ascontiguousarray(a, dtype=np.int64)
            out.append(a)
        assert rows is not None
        return rows, tuple(out)

    # -- tapes by row count
    def _trace(self, rows: int) -> tuple:
        from fastgrad._tape import Tape
        from fastgrad.compiled import CompiledFunction, trace
        if self.fun is None:
            raise ValueError(f"this compiled function was unpickled without its Python "
                             f"function (it could not be pickled), so it evaluates only "
                             f"the row counts it was traced for ({sorted(self._tapes)}), "
                             f"not {rows}")
        spec = [(np.int64 if dt.kind in "biu" else np.float64, (rows,) + tr)
                for dt, tr in zip(self.dtypes, self.trailing)]
        program = trace(self.fun, self.shape, self.args, spec)
        k = CompiledFunction._DUAL_DIRECTIONS if self.chunk is None else self.chunk
        return self._store(rows, program, Tape(*program.arrays(), program.shape, k))

    def _store(self, rows: int, program: Any, tape: Any) -> tuple:
        from fastgrad._tape import CODES
        bounds: list[int | None] = [None] * len(self.names)
        for rec in program.instrs[program.instrs["code"] == CODES["TAKE"]]:
            j = int(rec["b"]) - 1   # data slots are slots 1, 2, ... in order
            p2 = int(rec["p2"])
            old = bounds[j]
            bounds[j] = p2 if old is None else min(old, p2)
        entry = (program, tape, bounds)
        self._tapes[rows] = entry
        while len(self._tapes) > _MAX_TAPES:
            old = next(r for r in self._tapes if r != self.rows)
            del self._tapes[old]
        return entry

    def _entry(self, rows: int) -> tuple:
        with self._lock:
            entry = self._tapes.get(rows)
            if entry is None:
                entry = self._trace(rows)
            else:
                self._tapes.move_to_end(rows)
            return entry

    def tape_for(self, rows: int) -> Any:
        """The tape for this many rows (traced now if new)."""
        return self._entry(rows)[1]

    def default_tape(self) -> Any:
        return self.tape_for(self.rows)

    def program_of(self, tape: Any) -> Any:
        with self._lock:
            return next(p for p, t, _ in self._tapes.values() if t is tape)

    def bind(self, data: Sequence) -> tuple[Any, tuple]:
        """The tape and data arrays of a call (the defaults when data is
        empty)."""
        if not data:
            return self.tape_for(self.rows), self.defaults
        rows, arrays = self._convert(data)
        return self._entry(rows)[1], arrays

    def explain(self, arrays: tuple) -> None:
        """Raise the ValueError naming the integer data array that holds an
        index outside the axis it selects, if one does. The C VM checks the
        range at each call (a ValueError without names); this runs only
        then, so that calls do not pay for a second check."""
        bounds = self._entry(arrays[0].shape[0])[2]
        for j, bound in enumerate(bounds):
            if bound is not None and arrays[j].size:
                lo, hi = int(arrays[j].min()), int(arrays[j].max())
                if lo < -bound or hi >= bound:
                    raise ValueError(f"{self.names[j]} holds {lo if lo < -bound else hi}, "
                                     f"outside [-{bound}, {bound}): it indexes an axis of "
                                     f"length {bound}")

    def with_defaults(self, tape: Any, arrays: tuple) -> "DataInputs":
        """A view sharing the tapes (and their lock) with other defaults."""
        other = object.__new__(DataInputs)
        other.__dict__.update(self.__dict__)
        other.defaults = arrays
        other.rows = arrays[0].shape[0]
        return other

    # -- pickling: the traced programs, the defaults, and f when it pickles
    def __getstate__(self) -> dict:
        with self._lock:
            programs = {r: p for r, (p, _, _) in self._tapes.items()}
        state = {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_tapes", "fun")}
        state.update(programs=programs, fun=_Portable(self.fun))
        return state

    def __setstate__(self, state: dict) -> None:
        from fastgrad._tape import Tape
        from fastgrad.compiled import CompiledFunction
        programs = state.pop("programs")
        self.__dict__.update(state)
        self.fun = state["fun"].fun
        self._lock = threading.Lock()
        self._tapes = OrderedDict()
        k = CompiledFunction._DUAL_DIRECTIONS if self.chunk is None else self.chunk
        for rows, program in programs.items():
            self._store(rows, program, Tape(*program.arrays(), program.shape, k))
