"""Plain-NumPy twin of ``fastgrad.compiled``: it traces with the same tracer,
then interprets the recorded tape (``fastgrad.compiled.Program``) with NumPy.

Values come from each row's own ufunc (``numpy.exp``, ``scipy.special.erf``);
derivatives are carried as full Jacobian rows (every direction at once) and,
for the Hessian, full second-order tensors, using the scalar partials of the
op table (``fastgrad._ops.op_partials`` / ``op_second``). That is the textbook
forward-mode chain rule, not the C VM's chunked dual / hyper-dual passes,
so the tests can hold the two against each other.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from fastgrad._ops import OPS, op_partials, op_second, ufunc_of
from fastgrad.compiled import (FD_METHODS, TI_BINARY, TI_GATHER, TI_MATMUL, TI_SUM,
                               TI_UNARY, TI_WHERE, Program, trace)

__all__ = ["compile", "CompiledFunction"]

_NAME = [name for name, _, _ in OPS]
_KIND = [kind for _, kind, _ in OPS]


def _table(fn, name, a, b):
    """Apply a scalar table function over arrays: a tuple of arrays."""
    vec = np.vectorize(lambda u, v: fn(name, u, v), otypes=[float, float, float])
    return vec(a, b)


def _outer(t1, t2):
    """Per element: t1 t2^T (size, n, n)."""
    return t1[:, :, None] * t2[:, None, :]


def _run(prog: Program, x: np.ndarray, order: int):
    """Evaluate the tape: values, and derivatives up to `order` (0, 1, 2)."""
    n = prog.n
    ns = len(prog.slot_size)
    val: list[np.ndarray | None] = [None] * ns
    jac: list[np.ndarray | None] = [None] * ns     # (size, n): d slot / d x
    hes: list[np.ndarray | None] = [None] * ns     # (size, n, n)
    val[0] = x.ravel().astype(np.float64)
    if order >= 1:
        jac[0] = np.eye(n)
    if order >= 2:
        hes[0] = np.zeros((n, n, n))
    for s, data in prog.consts.items():
        val[s] = data

    def operand(slot, off, extent, stride, count):
        def pick(arr):
            if arr is None:
                return None
            part = arr[off:off + extent]
            return np.broadcast_to(part[:1], (count,) + part.shape[1:]) if stride == 0 else part
        return pick(val[slot]), pick(jac[slot]), pick(hes[slot])

    for (code, op, out, a, b, c, a_off, b_off, c_off, sa, sb, sc, m, p0, p1, p2,
         scale) in prog.instrs:
        if code == TI_UNARY:
            va, ja, ha = operand(a, a_off, m, 1, m)
            name = _NAME[op]
            val[out] = ufunc_of(name)(va)
            if order >= 1 and ja is not None:
                _, da, _ = _table(op_partials, name, va, 0.0)
                jac[out] = da[:, None] * ja
                if order >= 2:
                    daa, _, _ = _table(op_second, name, va, 0.0)
                    hes[out] = da[:, None, None] * ha + daa[:, None, None] * _outer(ja, ja)
        elif code == TI_BINARY:
            va, ja, ha = operand(a, a_off, m if sa else 1, sa, m)
            vb, jb, hb = operand(b, b_off, m if sb else 1, sb, m)
            name = _NAME[op]
            if _KIND[op] == "compare":
                val[out] = ufunc_of(name)(va, vb).astype(np.float64)
                continue
            val[out] = ufunc_of(name)(va, vb)
            if order >= 1 and (ja is not None or jb is not None):
                _, da, db = _table(op_partials, name, va, vb)
                j = np.zeros((m, n))
                if ja is not None:
                    j = j + da[:, None] * ja
                if jb is not None:
                    j = j + db[:, None] * jb
                jac[out] = j
                if order >= 2:
                    daa, dab, dbb = _table(op_second, name, va, vb)
                    h = np.zeros((m, n, n))
                    if ja is not None:
                        h = h + da[:, None, None] * ha + daa[:, None, None] * _outer(ja, ja)
                    if jb is not None:
                        h = h + db[:, None, None] * hb + dbb[:, None, None] * _outer(jb, jb)
                    if ja is not None and jb is not None:
                        h = h + dab[:, None, None] * (_outer(ja, jb) + _outer(jb, ja))
                    hes[out] = h
        elif code == TI_WHERE:
            vc, _, _ = operand(c, c_off, m if sc else 1, sc, m)
            va, ja, ha = operand(a, a_off, m if sa else 1, sa, m)
            vb, jb, hb = operand(b, b_off, m if sb else 1, sb, m)
            cond = vc != 0
            val[out] = np.where(cond, va, vb)
            if order >= 1 and (ja is not None or jb is not None):
                za = ja if ja is not None else np.zeros((m, n))
                zb = jb if jb is not None else np.zeros((m, n))
                jac[out] = np.where(cond[:, None], za, zb)
                if order >= 2:
                    za = ha if ha is not None else np.zeros((m, n, n))
                    zb = hb if hb is not None else np.zeros((m, n, n))
                    hes[out] = np.where(cond[:, None, None], za, zb)
        elif code == TI_GATHER:
            idx = prog.index_pool[p0:p0 + m] + a_off
            val[out] = val[a][idx]
            if jac[a] is not None:
                jac[out] = jac[a][idx]
            if hes[a] is not None:
                hes[out] = hes[a][idx]
        elif code == TI_SUM:
            ext = p0 * p1 * p2
            val[out] = val[a][a_off:a_off + ext].reshape(p0, p1, p2).sum(axis=1).ravel() * scale
            if jac[a] is not None:
                jac[out] = (jac[a][a_off:a_off + ext].reshape(p0, p1, p2, n).sum(axis=1)
                            .reshape(-1, n) * scale)
            if hes[a] is not None:
                hes[out] = (hes[a][a_off:a_off + ext].reshape(p0, p1, p2, n, n).sum(axis=1)
                            .reshape(-1, n, n) * scale)
        elif code == TI_MATMUL:
            M, L, P = p0, p1, p2
            A = val[a][a_off:a_off + M * L].reshape(M, L)
            B = val[b][b_off:b_off + L * P].reshape(L, P)
            val[out] = (A @ B).ravel()
            ja = None if jac[a] is None else jac[a][a_off:a_off + M * L].reshape(M, L, n)
            jb = None if jac[b] is None else jac[b][b_off:b_off + L * P].reshape(L, P, n)
            if ja is not None or jb is not None:
                j = np.zeros((M, P, n))
                if ja is not None:
                    j += np.einsum("ilq,lj->ijq", ja, B)
                if jb is not None:
                    j += np.einsum("il,ljq->ijq", A, jb)
                jac[out] = j.reshape(-1, n)
                if order >= 2:
                    h = np.zeros((M, P, n, n))
                    if ja is not None:
                        ha = hes[a][a_off:a_off + M * L].reshape(M, L, n, n)
                        h += np.einsum("ilqr,lj->ijqr", ha, B)
                    if jb is not None:
                        hb = hes[b][b_off:b_off + L * P].reshape(L, P, n, n)
                        h += np.einsum("il,ljqr->ijqr", A, hb)
                    if ja is not None and jb is not None:
                        h += np.einsum("ilq,ljr->ijqr", ja, jb)
                        h += np.einsum("ilr,ljq->ijqr", ja, jb)
                    hes[out] = h.reshape(-1, n, n)
        else:  # pragma: no cover - the tracer emits only the codes above
            raise ValueError(f"unknown instruction code {code}")
    o = prog.instrs[-1][2]
    g = jac[o][0] if jac[o] is not None else np.zeros(n)
    h = hes[o][0] if hes[o] is not None else np.zeros((n, n))
    return float(val[o][0]), g, h


class CompiledFunction:
    """Reference twin of ``fastgrad.CompiledFunction`` (NumPy interpreter)."""

    def __init__(self, program: Program, fun: Callable | None = None,
                 chunk: int | None = None):
        self.program = program
        self.shape = program.shape
        self.size = program.n
        self.__wrapped__ = fun

    def _x(self, x, name="x"):
        a = np.asarray(x, dtype=np.float64)
        if a.shape != self.shape:
            raise ValueError(f"{name} has shape {a.shape}, but the function was compiled "
                             f"for shape {self.shape}")
        return a

    def __call__(self, x) -> float:
        return _run(self.program, self._x(x), 0)[0]

    def gradient(self, x, method: str = "dual", step=None) -> np.ndarray:
        if method != "dual":
            raise ValueError(f"the reference computes method='dual' only, got {method!r} "
                             f"(finite differences: {FD_METHODS})")
        return _run(self.program, self._x(x), 1)[1].reshape(self.shape)

    def value_and_gradient(self, x):
        v, g, _ = _run(self.program, self._x(x), 1)
        return v, g.reshape(self.shape)

    def jvp(self, x, v):
        val, g, _ = _run(self.program, self._x(x), 1)
        return val, float(g @ self._x(v, "v").ravel())

    def hessian(self, x) -> np.ndarray:
        return _run(self.program, self._x(x), 2)[2]


def compile(f: Callable | None = None, shape=None, *, args: Sequence = (),
            chunk: int | None = None):
    """Reference twin of ``fastgrad.compile``: same tracer, NumPy evaluator."""
    if f is None:
        return lambda fun: compile(fun, shape, args=args, chunk=chunk)
    return CompiledFunction(trace(f, shape, args), f, chunk)
