"""The recorded tape of a compiled function: plain arrays that the C VM
(``fastgrad._tape.Tape``) and the reference interpreter
(``fastgrad.reference.compiled``) both read.

The instruction record, the instruction codes and the slot kinds are defined
once, in ``csrc/fg_tape.h``; ``fastgrad._tape`` reads them from the compiled
module (``INSTR_DTYPE``, ``CODES``, ``SLOT_KINDS``) and this module only uses
them by name. A program is checked here for types and integer ranges (so no
value is truncated on its way to C) and in C, in full, when a ``Tape`` is
built from it.
"""
from __future__ import annotations

import numbers
from typing import Any, Iterable, Mapping

import numpy as np

from fastgrad._tape import CODES, INSTR_DTYPE, SLOT_KINDS

__all__ = ["Program", "CODES", "SLOT_KINDS", "INSTR_DTYPE", "instructions"]

INSTR_FIELDS: tuple[str, ...] = tuple(INSTR_DTYPE.names or ())
"""The fields of one instruction, in the order of the C struct."""

_DEFAULTS = {"a": -1, "b": -1, "c": -1, "scale": 1.0}
"""Fields an instruction row may omit default to these, or to 0."""


def _column(name: str, values: Any, dtype: np.dtype) -> np.ndarray:
    """One field of every row (a list of Python or NumPy scalars, or an
    array), checked by kind and range: never truncated, wrapped or rounded."""
    if isinstance(values, list):
        if dtype.kind == "f":
            bad = [v for v in values if isinstance(v, (bool, np.bool_))
                   or not isinstance(v, numbers.Real)]
        else:
            bad = [v for v in values if isinstance(v, (bool, np.bool_))
                   or not isinstance(v, numbers.Integral)]
        if bad:
            kind = "real numbers" if dtype.kind == "f" else "integers"
            raise TypeError(f"{name} must hold {kind}, got {bad[0]!r}")
        if dtype.kind == "f":
            return np.array([float(v) for v in values], dtype=dtype)
        ints: Any = [int(v) for v in values]
        lo, hi = (min(ints), max(ints)) if ints else (0, 0)
    else:
        col = np.asarray(values)
        if col.ndim != 1 or (col.dtype.kind not in "iu" and col.size):
            raise TypeError(f"{name} must be a 1-D array of integers, got {col.dtype} "
                            f"of shape {col.shape}")
        ints = col
        lo, hi = (int(col.min()), int(col.max())) if col.size else (0, 0)
    info = np.iinfo(dtype)
    if lo < info.min or hi > info.max:
        raise ValueError(f"{name} holds {lo if lo < info.min else hi}, outside the range "
                         f"of {dtype}")
    return np.asarray(ints, dtype=dtype)


def instructions(rows: Any) -> np.ndarray:
    """Instruction records as a new array of ``INSTR_DTYPE``.

    Parameters
    ----------
    rows : ndarray of INSTR_DTYPE, or iterable of mappings
        Each mapping names fields of the C record (``code``, ``out``, ``a``,
        ``p0``, ...); omitted fields take their unused value (-1 for the
        operand slots ``a``, ``b``, ``c``, 1.0 for ``scale``, else 0).

    Returns
    -------
    ndarray
        1-D, C-contiguous, of dtype ``INSTR_DTYPE``.
    """
    if isinstance(rows, np.ndarray) and rows.dtype.names is not None:
        if rows.dtype != INSTR_DTYPE or rows.ndim != 1:
            raise TypeError(f"instructions must be a 1-D array of fastgrad._tape.INSTR_DTYPE, "
                            f"got {rows.dtype} of shape {rows.shape}")
        return np.array(rows, dtype=INSTR_DTYPE, order="C", copy=True)
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise TypeError("instructions must be an array of INSTR_DTYPE or a sequence of "
                        f"mappings from field names to values, got {type(rows).__name__}")
    rows = list(rows)
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(f"instruction {i} must be a mapping from field names to values, "
                            f"got {type(row).__name__}")
        unknown = set(row) - set(INSTR_FIELDS)
        if unknown:
            raise ValueError(f"instruction {i} has unknown fields {sorted(unknown)} "
                             f"(the fields are {INSTR_FIELDS})")
    out = np.zeros(len(rows), dtype=INSTR_DTYPE)
    for name in INSTR_FIELDS:
        default = _DEFAULTS.get(name, 0)
        out[name] = _column(f"instruction field {name!r}",
                            [row.get(name, default) for row in rows],
                            INSTR_DTYPE[name])
    return out


def _int_list(name: str, values: Any) -> list[int]:
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of integers, got {values!r}")
    return [int(v) for v in _column(name, list(values), np.dtype(np.int64))]


class Program:
    """The recorded tape: slots, instructions and pools.

    Attributes
    ----------
    shape : tuple of int
        Shape of the input x (slot 0).
    slot_size, slot_kind : list of int
        Element count and kind (``SLOT_KINDS``: input, constant, computed)
        of every slot.
    consts : dict of int -> ndarray
        Flat float64 data of each constant slot.
    instrs : ndarray of INSTR_DTYPE
        One record per instruction, fields as in ``fg_tape_instr``; for
        gathers, ``p0`` is an offset into ``index_pool``.
    index_pool : ndarray of int64
        Concatenated gather indices.
    """

    def __init__(self, shape, slot_size, slot_kind, consts, instrs, index_pool):
        try:
            self.shape = tuple(int(d) for d in shape)
        except TypeError:
            raise TypeError(f"shape must be a tuple of ints, got {shape!r}") from None
        if any(d < 0 for d in self.shape):
            raise ValueError(f"shape must have non-negative lengths, got {self.shape}")
        self.slot_size = _int_list("slot_size", slot_size)
        self.slot_kind = _int_list("slot_kind", slot_kind)
        if not isinstance(consts, Mapping):
            raise TypeError(f"consts must be a mapping from slot to array, "
                            f"got {type(consts).__name__}")
        self.consts = {}
        for s, data in consts.items():
            if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)):
                raise TypeError(f"consts keys must be slot numbers, got {s!r}")
            arr = np.asarray(data)
            if arr.dtype.kind not in "iuf":
                raise TypeError(f"constant slot {s} must hold real numbers, got {arr.dtype}")
            self.consts[int(s)] = np.ascontiguousarray(arr, dtype=np.float64).ravel()
        self.instrs = instructions(instrs)
        pool = np.asarray(index_pool)
        self.index_pool = _column("index_pool", pool.ravel() if pool.size else
                                  np.zeros(0, np.int64), np.dtype(np.int64))

    @property
    def n(self) -> int:
        """Length of the input x."""
        return self.slot_size[0]

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The flat arrays ``fastgrad._tape.Tape`` takes: slot sizes, slot
        kinds, constant offsets, constant pool, index pool, instructions."""
        ns = len(self.slot_size)
        offs = np.zeros(ns, dtype=np.int64)
        parts, pos = [], 0
        for s, data in sorted(self.consts.items()):
            if not 0 <= s < ns or self.slot_kind[s] != SLOT_KINDS["CONST"]:
                raise ValueError(f"invalid tape: constant data for slot {s}, which is not a "
                                 "constant slot")
            offs[s] = pos
            parts.append(data)
            pos += data.size
        pool = np.concatenate(parts) if parts else np.zeros(0)
        return (np.asarray(self.slot_size, np.int64), np.asarray(self.slot_kind, np.int32),
                offs, pool, self.index_pool, self.instrs)

    def __reduce__(self):
        # Unpickling goes through __init__, so a tampered pickle is checked
        # like a hand-built program.
        return (Program, (self.shape, self.slot_size, self.slot_kind, self.consts,
                          self.instrs, self.index_pool))

    def __repr__(self) -> str:
        return (f"Program(shape={self.shape}, {len(self.instrs)} instructions, "
                f"{len(self.slot_size)} slots)")
