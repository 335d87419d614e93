"""Logistic regression, 1e6 x 20 (8 row blocks), by L-BFGS with a fixed
number of iterations: single-process fastgrad (``minimize`` on the compiled
function with all the data, the loop in C), ``fastgrad.dask.minimize`` on a
LocalCluster of 2 worker processes (1 thread each), and dask-glm's L-BFGS
(what dask-ml's LogisticRegression runs) on the same cluster when installed.
The same three on 1000 x 20 (2 blocks), where the time per evaluation is the
per-evaluation overhead of each way of running it.

Run: python -m pytest bench/bench_dask.py --benchmark-only -q
     python bench/bench_dask.py       (a table of ms per evaluation)
"""
import sys
import time

import numpy as np
import pytest

import fastgrad as fg

pytest.importorskip("distributed", reason='needs dask[distributed] (pip install ".[dask]")')
import dask.array as da  # noqa: E402
from distributed import Client, LocalCluster, wait  # noqa: E402

import fastgrad.dask  # noqa: E402

COLS = 20
ITERS = 20
SIZES = {"1e6x20": (1_000_000, 125_000), "1e3x20": (1_000, 500)}


def logistic(w, X, y):
    z = X @ w
    return np.sum(np.logaddexp(0.0, z) - y * z)


def make(rows, chunk, client):
    """The data made on the workers (persisted), and a copy on the driver."""
    rng = da.random.default_rng(0)
    Xd = rng.standard_normal((rows, COLS), chunks=(chunk, COLS))
    yd = (Xd @ np.linspace(-1, 1, COLS) + rng.standard_normal(rows, chunks=chunk) > 0)
    Xd, yd = client.persist([Xd, yd.astype(float)])
    wait([Xd, yd])
    X, y = client.compute([Xd, yd], sync=True)
    cf = fg.compile(logistic, (COLS,), data=(X[:2], y[:2]))
    return X, y, Xd, yd, cf


def run_single(X, y, Xd, yd, cf):
    res = fg.minimize(cf.with_data(X, y), np.zeros(COLS), method="lbfgs", maxiter=ITERS,
                      tol=0.0, ftol=0.0)
    return res.nfev


def run_dask(X, y, Xd, yd, cf):
    res = fastgrad.dask.minimize(cf, np.zeros(COLS), data=(Xd, yd), method="lbfgs",
                                 maxiter=ITERS, tol=0.0, ftol=0.0)
    return res.nfev


def run_dask_glm(X, y, Xd, yd, cf):
    import dask_glm.algorithms as dga
    calls = [0]
    lbfgs_b = dga.fmin_l_bfgs_b

    def counting(func, x0, **kw):
        def f(*args):
            calls[0] += 1
            return func(*args)
        return lbfgs_b(f, x0, **kw)
    dga.fmin_l_bfgs_b = counting
    try:
        dga.lbfgs(Xd, yd, regularizer=None, max_iter=ITERS, tol=0.0)
    finally:
        dga.fmin_l_bfgs_b = lbfgs_b
    return calls[0]


RUNS = {"fastgrad (1 process)": run_single, "fastgrad.dask": run_dask,
        "dask-glm lbfgs": run_dask_glm}


def available(name):
    if name.startswith("dask-glm"):
        try:
            import dask_glm  # noqa: F401
        except ImportError:
            return False
    return True


def two_workers():
    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                        dashboard_address=":0")


@pytest.fixture(scope="module")
def client():
    with two_workers() as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def problems(client):
    return {size: make(rows, chunk, client) for size, (rows, chunk) in SIZES.items()}


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("name", list(RUNS))
def test_lbfgs(benchmark, problems, size, name):
    if not available(name):
        pytest.skip("dask-glm is not installed")
    benchmark.group = f"logistic-lbfgs-{ITERS}-iterations-{size}"
    nfev = benchmark.pedantic(RUNS[name], problems[size], rounds=2, iterations=1)
    benchmark.extra_info["nfev"] = nfev
    benchmark.extra_info["ms_per_evaluation"] = 1e3 * benchmark.stats["min"] / nfev


def main(rounds=2):
    with two_workers() as cluster, Client(cluster) as client:
        print(f"| data | {' | '.join(n for n in RUNS if available(n))} |")
        print("|---|" + "---|" * sum(map(available, RUNS)))
        for size, (rows, chunk) in SIZES.items():
            problem = make(rows, chunk, client)
            cells = []
            for name, run in RUNS.items():
                if not available(name):
                    continue
                best = np.inf
                for _ in range(rounds):
                    t = time.perf_counter()
                    nfev = run(*problem)
                    best = min(best, (time.perf_counter() - t) / nfev)
                cells.append(f"{1e3 * best:.2f} ms ({nfev} ev.)")
            print(f"| {size} | {' | '.join(cells)} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
