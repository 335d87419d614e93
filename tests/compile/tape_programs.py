"""Hand-built tape programs for the VM tests: instructions named by field and
code, never by position (the layout and codes come from fastgrad._tape)."""
import math

import numpy as np

from fastgrad._ops import OP_CODES
from fastgrad.program import CODES, SLOT_KINDS, Program


class Builder:
    """Appends slots and instructions to a program on an input of `shape`."""

    def __init__(self, shape):
        self.shape = tuple(shape)
        self.slot_size = [math.prod(self.shape)]
        self.slot_kind = [SLOT_KINDS["INPUT"]]
        self.consts = {}
        self.instrs = []
        self.index_pool = []

    def const(self, data) -> int:
        data = np.ascontiguousarray(data, dtype=np.float64).ravel()
        self.slot_size.append(data.size)
        self.slot_kind.append(SLOT_KINDS["CONST"])
        self.consts[len(self.slot_size) - 1] = data
        return len(self.slot_size) - 1

    def emit(self, code: str, n: int, op: str | None = None, **fields) -> int:
        """A new computed slot of n elements written by one instruction."""
        self.slot_size.append(int(n))
        self.slot_kind.append(SLOT_KINDS["COMPUTED"])
        out = len(self.slot_size) - 1
        row = dict(code=CODES[code], out=out, n=int(n), **fields)
        if op is not None:
            row["op"] = OP_CODES[op]
        for operand in "abc":   # an operand that is read has stride 1 unless given
            if row.get(operand, -1) >= 0:
                row.setdefault("s" + operand, 1)
        self.instrs.append(row)
        return out

    def gather(self, a: int, idx, a_off: int = 0) -> int:
        start = len(self.index_pool)
        self.index_pool.extend(int(i) for i in np.ravel(idx))
        return self.emit("GATHER", np.size(idx), a=a, a_off=a_off, p0=start)

    def total(self, a: int, size: int) -> int:
        """The scalar sum of slot a's first `size` elements."""
        return self.emit("SUM", 1, a=a, p0=1, p1=size, p2=1)

    def program(self) -> Program:
        return Program(self.shape, self.slot_size, self.slot_kind, self.consts, self.instrs,
                       np.asarray(self.index_pool, dtype=np.int64))
