"""Compiled matrix products through SciPy's BLAS and through fastgrad's own
loops agree to rounding, in every mode of the tape (value, dual, adjoint,
hyper-dual, forward-over-reverse), for every contraction the tracer lowers
to MATMUL; non-finite values propagate as in NumPy (values) and by the
NaN-safe rule (derivatives) on both routes; tiny, outer and empty products;
concurrent calls.

Each function is compiled once and its program run by three tapes: the
plain loops (``blas=False``), the BLAS for every product it may take
(``blas_min_work=0``: all but outer products) and the default threshold."""

import numpy as np
import pytest
import threadpoolctl

import fastgrad
from fastgrad import _blas
from fastgrad._tape import TI_MATMUL, Tape
from fastgrad.reference.compiled import CompiledFunction as ReferenceFunction
from support.threads import mismatches_on_threads

RNG = np.random.default_rng(11)
X = RNG.normal(size=(37, 12))          # data: rows x features
A = RNG.normal(size=(6, 4))
C = RNG.normal(size=(5, 5))


def _mlp(x):
    W1, W2 = x[:48].reshape(12, 4), x[48:].reshape(4, 3)
    return np.sum(np.tanh(np.tanh(X @ W1) @ W2) ** 2)


# name -> (f, n, MATMUL instructions the tracer emits for it)
CONTRACTIONS = {
    "dot matrix-vector": (lambda x: np.sum(np.tanh(np.dot(X, x))), 12, 1),
    "dot vector-vector": (lambda x: np.dot(x, np.sin(x)), 9, 1),
    "matmul": (lambda x: np.sum(np.matmul(X, x.reshape(12, 3)) ** 2), 36, 1),
    "@ both variable": (lambda x: np.sum(np.cos(x.reshape(5, 5) @ x.reshape(5, 5))), 25, 1),
    "@ row vector (gemv)": (lambda x: np.sum(np.exp(0.1 * (x @ X.T))), 12, 1),
    "mlp": (_mlp, 60, 2),
    "einsum ij,jk->ik": (lambda x: np.sum(np.einsum("ij,jk->ik", X, x.reshape(12, 2)) ** 2),
                         24, 1),
    "einsum ij,j->i": (lambda x: np.sum(np.sin(np.einsum("ij,j->i", X, x))), 12, 1),
    "einsum i,i->": (lambda x: np.einsum("i,i->", x, np.tanh(x)), 10, 1),
    "einsum ij,ij->i": (lambda x: np.sum(np.einsum("ij,ij->i", X[:3], x.reshape(3, 12)) ** 2),
                        36, 0),
    "einsum bij,bjk->bik": (lambda x: np.sum(np.tanh(np.einsum(
        "bij,bjk->bik", x[:24].reshape(3, 2, 4), x[24:].reshape(3, 4, 5)))), 84, 1),
    "batched, shared left (stride 0)": (
        lambda x: np.sum(np.sin(np.matmul(A, x.reshape(3, 4, 2)))), 24, 1),
    "batched, shared right (one tall product)": (
        lambda x: np.sum(np.sin(np.matmul(x.reshape(3, 2, 5), C))), 30, 1),
    "transposed data": (lambda x: np.sum(np.tanh(X.T @ x.reshape(37, 2))), 74, 1),
    "transposed variable": (lambda x: np.sum(np.tanh(x.reshape(37, 2).T @ X)), 74, 1),
    "strided operands": (lambda x: np.sum(np.tanh(X[::2, 1::3] @ x.reshape(8, 3)[::2])), 24, 1),
    "outer product (k = 1)": (lambda x: np.sum(np.tanh(np.outer(x, X[0]))), 5, None),
    "tiny 2x2": (lambda x: np.sum(np.exp(x.reshape(2, 2) @ x.reshape(2, 2))), 4, 1),
}


def _tapes(cf):
    """The program of cf as run by the loops, by the BLAS for every product
    and at the default threshold."""
    args = (*cf.program.arrays(), cf.shape, 3)
    return {"loops": Tape(*args, blas=False), "blas": Tape(*args, blas_min_work=0),
            "default": Tape(*args)}


def _modes(tape, x, v):
    """Every result of the tape at x (direction v), by name."""
    value, grad, hv = tape.hvp(x, v)
    return {
        "value": tape.eval(x),
        "dual gradient": tape.grad(x),
        "reverse gradient": tape.grad(x, reverse=True),
        "jvp": tape.jvp(x, v)[1],
        "hvp value": value, "hvp gradient": grad, "hvp": hv,
        "hyper-dual Hessian": tape.hessian(x),
        "forward-over-reverse Hessian": tape.hessian(x, reverse=True),
    }


def _close(got, want, scale):
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * scale, equal_nan=True)


def test_scipy_blas_is_found():
    info = _blas.info()
    assert info["available"], info["reason"]
    assert info["min_work"] == _blas.MIN_WORK > 0


@pytest.mark.parametrize("name", sorted(CONTRACTIONS))
def test_blas_and_loops_agree_in_every_mode(name):
    f, n, matmuls = CONTRACTIONS[name]
    cf = fastgrad.compile(f, n)
    if matmuls is not None:
        assert int(np.sum(cf.program.instrs["code"] == TI_MATMUL)) == matmuls
    rng = np.random.default_rng(n)
    x, v = rng.normal(size=n), rng.normal(size=n)
    results = {k: _modes(t, x, v) for k, t in _tapes(cf).items()}
    want = results["loops"]
    ref = ReferenceFunction(cf.program)
    np.testing.assert_allclose(want["value"], f(x), rtol=1e-12)
    np.testing.assert_allclose(want["reverse gradient"], ref.gradient(x), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(want["hvp"], ref.hvp(x, v), rtol=1e-10, atol=1e-12)
    for route in ("blas", "default"):
        for mode, w in want.items():
            scale = np.max(np.abs(w)) + 1.0
            _close(results[route][mode], w, scale)


def test_large_products_take_the_default_threshold_both_ways():
    """Sizes either side of MIN_WORK (M L P multiply-adds) in one program."""
    big, small = RNG.normal(size=(40, 30)), RNG.normal(size=(3, 4))

    def f(x):
        W = x[:60].reshape(30, 2)
        return np.sum(np.tanh(big @ W)) + np.sum(np.sin(small @ x[60:].reshape(4, 2)))

    cf = fastgrad.compile(f, 68)
    x, v = RNG.normal(size=68), RNG.normal(size=68)
    tapes = _tapes(cf)
    want = _modes(tapes["loops"], x, v)
    got = _modes(tapes["default"], x, v)
    for mode, w in want.items():
        _close(got[mode], w, np.max(np.abs(w)) + 1.0)


SPECIAL = [np.inf, -np.inf, np.nan, 0.0, 1e308]


@pytest.mark.parametrize("where", ["data", "variable"])
@pytest.mark.parametrize("special", SPECIAL, ids=str)
def test_non_finite_values_as_numpy(special, where):
    """f's value is NumPy's (NaN where NumPy's product has one, signed
    infinities mapped by tanh); derivatives by the NaN-safe rule, the same
    on both routes, and the value equal to the reference interpreter's."""
    Xs = X[:8, :6].copy()
    weights = np.linspace(0.5, 1.5, 8 * 3).reshape(8, 3)
    if where == "data":
        Xs[2, 1] = special
        Xs[5, :] = 0.0

    def f(x):
        W = x.reshape(6, 3)
        return np.sum(weights * np.tanh(Xs @ W))

    cf = fastgrad.compile(f, 18)
    x = RNG.normal(size=18)
    if where == "variable":
        x[4] = special
        x[7] = 0.0
    v = RNG.normal(size=18)
    with np.errstate(all="ignore"):
        expect = f(x)
        tapes = _tapes(cf)
        results = {k: _modes(t, x, v) for k, t in tapes.items()}
    for route in results:
        got = results[route]["value"]
        assert np.isnan(got) == np.isnan(expect), route
        if not np.isnan(expect):
            np.testing.assert_allclose(got, expect, rtol=1e-12)
    for route in ("blas", "default"):
        for mode, w in results["loops"].items():
            got = results[route][mode]
            np.testing.assert_array_equal(np.isnan(got), np.isnan(w), err_msg=f"{route} {mode}")
            np.testing.assert_array_equal(np.isinf(got), np.isinf(w), err_msg=f"{route} {mode}")
            fin = np.isfinite(w)
            scale = np.max(np.abs(np.where(fin, w, 0.0))) + 1.0
            _close(np.where(fin, got, 0.0), np.where(fin, w, 0.0), scale)


def test_nan_safe_rule_in_products():
    """A zero adjoint times an infinite data entry contributes 0: the
    gradient of sum(tanh(X @ w)) where a row of X @ w is infinite (its
    adjoint 1 - tanh^2 is exactly 0) is finite, on both routes."""
    Xs = X[:10, :8].copy()
    Xs[3, 2] = np.inf

    def f(w):
        return np.sum(np.tanh(Xs @ w.reshape(8, 2)))

    cf = fastgrad.compile(f, 16)
    w = np.abs(RNG.normal(size=16)) + 0.1
    tapes = _tapes(cf)
    want = None
    for tape in tapes.values():
        g = tape.grad(w, reverse=True)
        h = tape.hessian(w, reverse=True)
        assert np.all(np.isfinite(g)) and np.all(np.isfinite(h))
        if want is None:
            want = g
        np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(tape.grad(w), g, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shapes", [((0, 4), (4, 3)), ((3, 4), (4, 0)), ((3, 0), (0, 2)),
                                    ((1, 1), (1, 1)), ((1, 2), (2, 1)), ((2, 1), (1, 2))],
                         ids=str)
def test_tiny_and_empty_products(shapes):
    (m, k), (k2, p) = shapes
    D = RNG.normal(size=(m, k))

    def f(x):
        return np.sum(np.sin(D @ x[2:].reshape(k2, p))) + np.sum(x ** 2)

    n = k2 * p + 2
    cf = fastgrad.compile(f, n)
    x, v = RNG.normal(size=n), RNG.normal(size=n)
    results = {k: _modes(t, x, v) for k, t in _tapes(cf).items()}
    np.testing.assert_allclose(results["loops"]["value"], f(x), rtol=1e-13)
    for route in ("blas", "default"):
        for mode, w in results["loops"].items():
            _close(results[route][mode], w, np.max(np.abs(w), initial=0.0) + 1.0)


def test_concurrent_calls_match_single_threaded():
    """Threads sharing one BLAS-backed tape (products above the threshold,
    each call its own workspace) get the single-threaded results."""
    big = RNG.normal(size=(200, 40))

    def f(x):
        W1, W2 = x[:320].reshape(40, 8), x[320:].reshape(8, 4)
        return np.sum(np.tanh(np.tanh(big @ W1) @ W2) ** 2)

    cf = fastgrad.compile(f, 352)
    tape = Tape(*cf.program.arrays(), cf.shape, 4, blas_min_work=0)
    xs = [RNG.normal(size=352) for _ in range(6)]
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        expect = [(tape.eval(x), tape.grad(x, reverse=True), tape.hvp(x, x)[2]) for x in xs]

        def matches(j):
            got = (tape.eval(xs[j]), tape.grad(xs[j], reverse=True), tape.hvp(xs[j], xs[j])[2])
            return all(np.array_equal(a, b) for a, b in zip(got, expect[j]))

        assert mismatches_on_threads(matches, len(xs), count=6, rounds=8) == []


def test_compiled_functions_use_the_blas_tape():
    """compile's tape and a default Tape agree bit for bit (same route)."""
    f, n, _ = CONTRACTIONS["mlp"]
    cf = fastgrad.compile(f, n)
    x = RNG.normal(size=n)
    tape = Tape(*cf.program.arrays(), cf.shape, 8)
    assert np.array_equal(cf.gradient(x, method="reverse"), tape.grad(x, reverse=True))
    assert cf(x) == tape.eval(x)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "10"])
def test_bad_threshold_is_refused(bad):
    cf = fastgrad.compile(lambda x: x @ x, 3)
    with pytest.raises(ValueError, match="blas_min_work"):
        Tape(*cf.program.arrays(), cf.shape, 1, blas_min_work=bad)
