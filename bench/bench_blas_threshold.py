"""Where a BLAS call starts to pay: one compiled product sum(A @ B) (both
operands variables) run by the plain loops and by SciPy's BLAS
(``blas_min_work=0``), at a range of sizes M L P around
``fastgrad._blas.MIN_WORK``, in the value pass (A B) and the reverse pass
(also GO B^T and A^T GO). Each round runs many calls in one nogil C loop
(tests/support's repeat_eval), so Python's call overhead is out of the
comparison. One BLAS thread.

Each group is one shape and mode; its rows' ratio is the speed-up. The
families: cubes (M = L = P), matrix-vector (P = 1: dgemv), and short inner
dimension (L = 4, the products of narrow layers).
Run: python -m pytest bench/bench_blas_threshold.py --benchmark-only -q
(on a shared machine add --benchmark-timer=time.process_time)
"""
import numpy as np
import pytest
import threadpoolctl

import fastgrad
from fastgrad._tape import Tape
from support.build import load

repeat_eval = load("testing_tape").repeat_eval   # test-only extension
_limit = threadpoolctl.threadpool_limits(limits=1, user_api="blas")

WORK = [64, 216, 512, 1000, 1728, 4096, 8000, 32768]


def _shape(family, work):
    if family == "cube":
        s = round(work ** (1 / 3))
        return s, s, s
    if family == "matvec":
        s = round(work ** 0.5)
        return s, s, 1
    s = round((work / 4) ** 0.5)       # L = 4
    return s, 4, s


def _case(family, work):
    M, L, P = _shape(family, work)

    def f(x):
        return np.sum(x[:M * L].reshape(M, L) @ x[M * L:].reshape(L, P))

    cf = fastgrad.compile(f, M * L + L * P)
    args = (*cf.program.arrays(), cf.shape, 1)
    tapes = {"loops": Tape(*args, blas=False), "blas": Tape(*args, blas_min_work=0)}
    x = np.random.default_rng(work).normal(size=cf.shape)
    return (M, L, P), tapes, x


CASES = [(fam, w) for fam in ("cube", "matvec", "short L") for w in WORK]


@pytest.mark.parametrize("mode", ["value", "reverse"])
@pytest.mark.parametrize("route", ["loops", "blas"])
@pytest.mark.parametrize("family,work", CASES, ids=[f"{f}-{w}" for f, w in CASES])
def test_product(benchmark, family, work, route, mode):
    (M, L, P), tapes, x = _case(family, work)
    reps = max(20, 400_000 // (M * L * P))
    benchmark.group = f"{family} {M}x{L}x{P} {mode}"
    benchmark.extra_info.update(work=M * L * P, calls_per_round=reps, M=M, L=L, P=P)
    benchmark(repeat_eval, tapes[route], x, reps, mode)
