"""Plain-NumPy twin of ``fastgrad.compiled``: it traces with the same tracer,
then interprets the recorded tape (``fastgrad.program.Program``) with NumPy.

Values come from each row's own ufunc (``numpy.exp``, ``scipy.special.erf``);
derivatives are carried as full Jacobian rows (every direction at once) and,
for the Hessian, full second-order tensors, using the scalar partials of the
op table (``fastgrad._ops.op_partials`` / ``op_second``); the reverse gradient
is the textbook adjoint sweep over the same partials. That is the chain rule
written out, not the C VM's chunked dual / hyper-dual passes or its planned
sweep, so the tests can hold the two against each other. Products of
derivatives follow the NaN-safe rule every exact mode shares: a zero
factor contributes 0 even against an infinite or NaN one.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from fastgrad._ops import OPS, op_partials, op_second, ufunc_of
from fastgrad._tape import CODES, SLOT_KINDS
from fastgrad.compiled import FD_METHODS, Program, trace

__all__ = ["compile", "CompiledFunction"]

_NAME = [name for name, _, _ in OPS]
_KIND = [kind for _, kind, _ in OPS]
TI_UNARY, TI_BINARY, TI_WHERE, TI_GATHER, TI_SUM, TI_MATMUL = (
    CODES[k] for k in ("UNARY", "BINARY", "WHERE", "GATHER", "SUM", "MATMUL"))
TI_MAX, TI_MIN, TI_PROD, TI_CUMSUM = (CODES[k] for k in ("MAX", "MIN", "PROD", "CUMSUM"))
TI_TAKE, TI_CAST = CODES["TAKE"], CODES["CAST"]


def _bind_data(prog: Program, val: list, data: Sequence) -> None:
    """The data arrays into their slots (DATA, DATA_INT), in slot order."""
    slots = [s for s, k in enumerate(prog.slot_kind)
             if k in (SLOT_KINDS["DATA"], SLOT_KINDS["DATA_INT"])]
    if len(slots) != len(data):
        raise ValueError(f"the program takes {len(slots)} data arrays, got {len(data)}")
    for s, d in zip(slots, data):
        integer = prog.slot_kind[s] == SLOT_KINDS["DATA_INT"]
        val[s] = np.asarray(d, dtype=np.int64 if integer else np.float64).ravel()


def _take_source(prog: Program, val: list, r: Any) -> np.ndarray:
    """The elements of operand a that a TAKE reads (a_off included)."""
    m, p0, p1, p2 = (int(r[f]) for f in ("n", "p0", "p1", "p2"))
    j = val[int(r["b"])][int(r["b_off"]) + prog.index_pool[p0 + m:p0 + 2 * m]]
    return int(r["a_off"]) + prog.index_pool[p0:p0 + m] + p1 * np.where(j < 0, j + p2, j)


def _table(fn, name, a, b):
    """Apply a scalar table function over arrays: a tuple of arrays."""
    vec = np.vectorize(lambda u, v: fn(name, u, v), otypes=[float, float, float])
    return vec(a, b)


def _outer(t1, t2):
    """Per element: t1 t2^T (size, n, n)."""
    return t1[:, :, None] * t2[:, None, :]


def _ns(p, t):
    """p * t where a zero factor gives exactly 0, even against inf or NaN
    (the NaN-safe product of derivatives that every exact mode follows)."""
    p, t = np.broadcast_arrays(p, t)
    with np.errstate(invalid="ignore"):
        return np.where((p == 0) | (t == 0), 0.0, p * t)


def _blocks(flat, off, count, stride, shape):
    """MATMUL's operand: `count` matrices of `shape` (elements, each of
    flat's trailing shape) from flat[off:], one after the other (stride 1)
    or one matrix for all (stride 0)."""
    size, tail = math.prod(shape), flat.shape[1:]
    if stride:
        return flat[off:off + count * size].reshape((count,) + shape + tail)
    return np.broadcast_to(flat[off:off + size].reshape(shape + tail), (count,) + shape + tail)


def _add_blocks(flat, off, stride, blocks):
    """flat += blocks laid out as _blocks reads them (stride 0: their sum)."""
    if not stride:
        blocks = blocks.sum(axis=0)
    flat[off:off + blocks.size] += blocks.ravel()


def _others(v):
    """others[..., j] = prod_{i != j} v[..., i] along the last axis, from
    exclusive prefix and suffix products (no division: exact at zeros)."""
    ones = np.ones(v.shape[:-1] + (1,))
    with np.errstate(invalid="ignore", over="ignore"):   # inf * 0 is NaN, as it should be
        left = np.concatenate([ones, np.cumprod(v[..., :-1], axis=-1)], axis=-1)
        right = np.concatenate([np.cumprod(v[..., :0:-1], axis=-1)[..., ::-1], ones], axis=-1)
        return left * right


def _others2(v):
    """others2[..., i, j] = prod_{k != i, j} v[..., k] for i != j, 0 on the
    diagonal: the second partials of a product (by deleting both factors)."""
    m = v.shape[-1]
    out = np.zeros(v.shape + (m,))
    for i in range(m):
        for j in range(m):
            if i != j:
                out[..., i, j] = np.prod(np.delete(v, [i, j], axis=-1), axis=-1)
    return out


def _axis_parts(arr, off, p0, p1, p2, n_extra):
    """The operand of an axis reduction, (pre, len, post) + the derivative axes."""
    return arr[off:off + p0 * p1 * p2].reshape((p0, p1, p2) + n_extra)


def _map_rows(val: list, jac: list, hes: list, out: int, a: int, f: Callable) -> None:
    """Slot out = f(slot a) for the values and, where a has them, the
    Jacobian and Hessian rows: f picks or adds elements along the first axis
    only (a gather, a selection, a running sum), so the derivatives map as
    the values do. f takes and returns arrays of shape (elements,) + tail."""
    val[out] = f(val[a])
    if jac[a] is not None:
        jac[out] = f(jac[a])
    if hes[a] is not None:
        hes[out] = f(hes[a])


def _run(prog: Program, x: np.ndarray, order: int, all_values: bool = False,
         data: Sequence = ()):
    """Evaluate the tape: values, and derivatives up to `order` (0, 1, 2);
    all_values=True: every slot's values instead. data: the data arrays."""
    n = prog.n
    ns = len(prog.slot_size)
    val: list[Any] = [None] * ns     # values; None: not computed yet
    jac: list[Any] = [None] * ns     # (size, n): d slot / d x; None: no dependence on x
    hes: list[Any] = [None] * ns     # (size, n, n)
    val[0] = x.ravel().astype(np.float64)
    if order >= 1:
        jac[0] = np.eye(n)
    if order >= 2:
        hes[0] = np.zeros((n, n, n))
    for s, const in prog.consts.items():
        val[s] = const
    _bind_data(prog, val, data)

    def operand(slot, off, extent, stride, count):
        def pick(arr):
            if arr is None:
                return None
            part = arr[off:off + extent]
            return np.broadcast_to(part[:1], (count,) + part.shape[1:]) if stride == 0 else part
        return pick(val[slot]), pick(jac[slot]), pick(hes[slot])

    for rec in prog.instrs:
        code, op, out, a, b, c, a_off, b_off, c_off, sa, sb, sc, m, p0, p1, p2 = (
            int(rec[f]) for f in ("code", "op", "out", "a", "b", "c", "a_off", "b_off",
                                  "c_off", "sa", "sb", "sc", "n", "p0", "p1", "p2"))
        scale = float(rec["scale"])
        if code == TI_UNARY:
            va, ja, ha = operand(a, a_off, m, 1, m)
            name = _NAME[op]
            val[out] = ufunc_of(name)(va)
            if order >= 1 and ja is not None:
                _, da, _ = _table(op_partials, name, va, 0.0)
                jac[out] = _ns(da[:, None], ja)
                if order >= 2:
                    daa, _, _ = _table(op_second, name, va, 0.0)
                    hes[out] = _ns(da[:, None, None], ha) + _ns(daa[:, None, None], _outer(ja, ja))
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
                    j = j + _ns(da[:, None], ja)
                if jb is not None:
                    j = j + _ns(db[:, None], jb)
                jac[out] = j
                if order >= 2:
                    daa, dab, dbb = _table(op_second, name, va, vb)
                    h = np.zeros((m, n, n))
                    if ja is not None:
                        h = h + _ns(da[:, None, None], ha) + _ns(daa[:, None, None],
                                                                 _outer(ja, ja))
                    if jb is not None:
                        h = h + _ns(db[:, None, None], hb) + _ns(dbb[:, None, None],
                                                                 _outer(jb, jb))
                    if ja is not None and jb is not None:
                        h = h + _ns(dab[:, None, None], _outer(ja, jb) + _outer(jb, ja))
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
            _map_rows(val, jac, hes, out, a, lambda t: t[idx])
        elif code == TI_SUM:
            ext = p0 * p1 * p2
            val[out] = val[a][a_off:a_off + ext].reshape(p0, p1, p2).sum(axis=1).ravel() * scale
            if jac[a] is not None:
                jac[out] = _ns(scale, jac[a][a_off:a_off + ext].reshape(p0, p1, p2, n)
                               .sum(axis=1).reshape(-1, n))
            if hes[a] is not None:
                hes[out] = _ns(scale, hes[a][a_off:a_off + ext].reshape(p0, p1, p2, n, n)
                               .sum(axis=1).reshape(-1, n, n))
        elif code == TI_MATMUL:
            nb, M, L, P = int(rec["p3"]), p0, p1, p2
            A = _blocks(val[a], a_off, nb, sa, (M, L))
            B = _blocks(val[b], b_off, nb, sb, (L, P))
            val[out] = (A @ B).ravel()
            ja = None if jac[a] is None else _blocks(jac[a], a_off, nb, sa, (M, L))
            jb = None if jac[b] is None else _blocks(jac[b], b_off, nb, sb, (L, P))
            if ja is not None or jb is not None:
                j = np.zeros((nb, M, P, n))
                if ja is not None:                 # sum_l ja[q, i, l] B[q, l, j]
                    j += _ns(ja[:, :, :, None, :], B[:, None, :, :, None]).sum(axis=2)
                if jb is not None:                 # sum_l A[q, i, l] jb[q, l, j]
                    j += _ns(A[:, :, :, None, None], jb[:, None]).sum(axis=2)
                jac[out] = j.reshape(-1, n)
                if order >= 2:
                    h = np.zeros((nb, M, P, n, n))
                    if ja is not None:
                        ha = _blocks(hes[a], a_off, nb, sa, (M, L))
                        h += _ns(ha[:, :, :, None], B[:, None, :, :, None, None]).sum(axis=2)
                    if jb is not None:
                        hb = _blocks(hes[b], b_off, nb, sb, (L, P))
                        h += _ns(A[:, :, :, None, None, None], hb[:, None]).sum(axis=2)
                    if ja is not None and jb is not None:
                        h += np.einsum("kilq,kljr->kijqr", ja, jb)
                        h += np.einsum("kilr,kljq->kijqr", ja, jb)
                    hes[out] = h.reshape(-1, n, n)
        elif code in (TI_MAX, TI_MIN):
            v = _axis_parts(val[a], a_off, p0, p1, p2, ())
            pick = (np.argmin if code == TI_MIN else np.argmax)(v, axis=1)   # first NaN, else
            sel = (np.arange(p0)[:, None], pick, np.arange(p2)[None, :])      # first extremum
            _map_rows(val, jac, hes, out, a, lambda t: _axis_parts(
                t, a_off, p0, p1, p2, t.shape[1:])[sel].reshape((-1,) + t.shape[1:]))
        elif code == TI_PROD:
            v = _axis_parts(val[a], a_off, p0, p1, p2, ())
            with np.errstate(invalid="ignore", over="ignore"):
                val[out] = np.prod(v, axis=1).ravel()
            vl = np.moveaxis(v, 1, -1)                                  # (pre, post, len)
            if jac[a] is not None:
                ja = np.moveaxis(_axis_parts(jac[a], a_off, p0, p1, p2, (n,)), 1, -2)
                jac[out] = _ns(_others(vl)[..., None], ja).sum(axis=-2).reshape(-1, n)
                if order >= 2:
                    ha = np.moveaxis(_axis_parts(hes[a], a_off, p0, p1, p2, (n, n)), 1, -3)
                    h = _ns(_others(vl)[..., None, None], ha).sum(axis=-3)
                    cross = ja[..., :, None, :, None] * ja[..., None, :, None, :]
                    h += _ns(_others2(vl)[..., None, None], cross).sum(axis=(-4, -3))
                    hes[out] = h.reshape(-1, n, n)
        elif code == TI_CUMSUM:
            _map_rows(val, jac, hes, out, a, lambda t: np.cumsum(_axis_parts(
                t, a_off, p0, p1, p2, t.shape[1:]), axis=1).reshape((-1,) + t.shape[1:]))
        elif code == TI_TAKE:
            src = _take_source(prog, val, rec)
            _map_rows(val, jac, hes, out, a, lambda t: t[src])
        elif code == TI_CAST:
            val[out] = val[a][a_off:a_off + m].astype(np.float64)
        else:  # pragma: no cover - Tape validation refuses any other code
            raise ValueError(f"unknown instruction code {code}")
    if all_values:
        return val
    o = int(prog.instrs[-1]["out"])
    g = jac[o][0] if jac[o] is not None else np.zeros(n)
    h = hes[o][0] if hes[o] is not None else np.zeros((n, n))
    return float(val[o][0]), g, h


def span(off: int, stride: int, count: int) -> np.ndarray:
    """Element indices of an operand read with this offset and stride."""
    return np.arange(count) * stride + off


def _adjoint(prog: Program, x: np.ndarray, data: Sequence = ()):
    """Reverse mode: one value pass, then adjoints accumulated backwards,
    adj[operand] += adj[out] * partial (the NaN-safe product), instruction
    by instruction, without the C sweep's stores and aliases."""
    adj: list[Any] = [np.zeros(size) for size in prog.slot_size]
    recs: list[dict[str, Any]] = [
        {f: (float(r[f]) if f == "scale" else int(r[f])) for f in r.dtype.names}
        for r in prog.instrs]
    values = _values(prog, x, data)
    out = recs[-1]["out"]
    adj[out][0] = 1.0
    for r in reversed(recs):
        code, o, m = r["code"], r["out"], r["n"]
        go = adj[o]
        a, b, c = r["a"], r["b"], r["c"]

        if code in (TI_UNARY, TI_BINARY):
            name = _NAME[r["op"]]
            if _KIND[r["op"]] == "compare":
                continue
            ia = span(r["a_off"], r["sa"] if code == TI_BINARY else 1, m)
            va = values[a][ia]
            if code == TI_UNARY:
                _, da, _ = _table(op_partials, name, va, 0.0)
                np.add.at(adj[a], ia, _ns(go, da))
                continue
            ib = span(r["b_off"], r["sb"], m)
            _, da, db = _table(op_partials, name, va, values[b][ib])
            np.add.at(adj[a], ia, _ns(go, da))
            np.add.at(adj[b], ib, _ns(go, db))
        elif code == TI_WHERE:
            cond = values[c][span(r["c_off"], r["sc"], m)] != 0
            np.add.at(adj[a], span(r["a_off"], r["sa"], m), np.where(cond, go, 0.0))
            np.add.at(adj[b], span(r["b_off"], r["sb"], m), np.where(cond, 0.0, go))
        elif code == TI_GATHER:
            np.add.at(adj[a], prog.index_pool[r["p0"]:r["p0"] + m] + r["a_off"], go)
        elif code == TI_TAKE:
            np.add.at(adj[a], _take_source(prog, values, r), go)
        elif code == TI_CAST:
            continue
        elif code == TI_MATMUL:
            nb, M, L, P = r["p3"], r["p0"], r["p1"], r["p2"]
            A = _blocks(values[a], r["a_off"], nb, r["sa"], (M, L))
            B = _blocks(values[b], r["b_off"], nb, r["sb"], (L, P))
            G = go.reshape(nb, M, P)
            _add_blocks(adj[a], r["a_off"], r["sa"], _ns(G[:, :, None, :], B[:, None]).sum(-1))
            _add_blocks(adj[b], r["b_off"], r["sb"], _ns(A[:, :, :, None], G[:, :, None, :]).sum(1))
        else:                                   # the axis instructions (pre, len, post)
            p0, p1, p2 = r["p0"], r["p1"], r["p2"]
            sl = slice(r["a_off"], r["a_off"] + p0 * p1 * p2)
            v = values[a][sl].reshape(p0, p1, p2)
            ga = adj[a][sl].reshape(p0, p1, p2)     # a view: += lands in adj[a]
            if code == TI_SUM:
                ga += _ns(r["scale"], go.reshape(p0, 1, p2))
            elif code == TI_CUMSUM:
                g = go.reshape(p0, p1, p2)
                ga += np.cumsum(g[:, ::-1], axis=1)[:, ::-1]
            elif code == TI_PROD:
                others = np.moveaxis(_others(np.moveaxis(v, 1, -1)), -1, 1)
                ga += _ns(go.reshape(p0, 1, p2), others)
            else:
                pick = (np.argmin if code == TI_MIN else np.argmax)(v, axis=1)
                np.add.at(ga, (np.arange(p0)[:, None], pick, np.arange(p2)[None, :]),
                          go.reshape(p0, p2))
    return float(values[out][0]), adj[0]


def _values(prog: Program, x: np.ndarray, data: Sequence = ()) -> list:
    """Every slot's values (the forward interpreter's order-0 pass)."""
    return _run(prog, x, 0, all_values=True, data=data)


class CompiledFunction:
    """Reference twin of ``fastgrad.CompiledFunction`` (NumPy interpreter):
    "dual" is the forward Jacobian pass, "reverse" the textbook adjoint
    sweep; both Hessian methods are the forward second-order pass."""

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

    def value_and_gradient(self, x, method: str = "dual"):
        if method == "reverse":
            v, g = _adjoint(self.program, self._x(x))
        elif method == "dual":
            v, g, _ = _run(self.program, self._x(x), 1)
        else:
            raise ValueError(f"the reference computes method 'dual' or 'reverse', got "
                             f"{method!r} (finite differences: {FD_METHODS})")
        return v, g.reshape(self.shape)

    def gradient(self, x, method: str = "dual", step=None) -> np.ndarray:
        return self.value_and_gradient(x, method)[1]

    def jvp(self, x, v):
        val, g, _ = _run(self.program, self._x(x), 1)
        return val, float(g @ self._x(v, "v").ravel())

    def hvp(self, x, v) -> np.ndarray:
        return (self.hessian(x) @ self._x(v, "v").ravel()).reshape(self.shape)

    def hessian(self, x, method: str = "auto") -> np.ndarray:
        if method not in ("auto", "reverse", "hyperdual"):
            raise ValueError(f"method must be 'auto', 'reverse' or 'hyperdual', got {method!r}")
        return _run(self.program, self._x(x), 2)[2]


def compile(f: Callable | None = None, shape=None, *, args: Sequence = (),
            chunk: int | None = None):
    """Reference twin of ``fastgrad.compile``: same tracer, NumPy evaluator."""
    if f is None:
        return lambda fun: compile(fun, shape, args=args, chunk=chunk)
    return CompiledFunction(trace(f, shape, args), f, chunk)
