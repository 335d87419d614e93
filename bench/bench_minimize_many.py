"""minimize_many against loops, same run: 10,000 five-dimensional
Rosenbrock problems (starts uniform in [-2, 2]^5) with lbfgs,

- ``fg.minimize_many`` on the compiled function, threads = 1 and 2;
- a Python loop of ``fg.minimize`` on the same compiled function;
- a Python loop of scipy's L-BFGS-B with the analytic ``rosen_der``, on the
  first 500 problems (a loop over all 10,000 takes minutes): compare
  problems per second (``extra_info["problems_per_s"]``), not times.

Run with one BLAS thread:

    OPENBLAS_NUM_THREADS=1 python -m pytest bench/bench_minimize_many.py --benchmark-only

or ``OPENBLAS_NUM_THREADS=1 python bench/bench_minimize_many.py`` for a
table of throughputs and ratios (medians of repeated runs, interleaved so
that the load of a shared machine falls on every row alike).
"""
import os
import statistics
import sys
import time

import numpy as np
import pytest
import scipy.optimize as so

import fastgrad as fg
import _tests_path  # noqa: F401  (support importable when run as a script)
from support.problems import rosen

K = 10_000
N = 5
SCIPY_K = 500
X0 = np.random.default_rng(0).uniform(-2.0, 2.0, (K, N))


ROSEN = fg.compile(rosen, N)


def many(method, threads):
    return lambda: fg.minimize_many(ROSEN, X0, method=method, threads=threads)


def fg_loop(method):
    return lambda: [fg.minimize(ROSEN, x, method=method) for x in X0]


def scipy_loop():
    return lambda: [so.minimize(so.rosen, x, jac=so.rosen_der, method="L-BFGS-B")
                    for x in X0[:SCIPY_K]]


CASES = {   # name -> (problems solved, the call)
    "lbfgs minimize_many threads=1": (K, many("lbfgs", 1)),
    "lbfgs minimize_many threads=2": (K, many("lbfgs", 2)),
    "lbfgs loop of fg.minimize": (K, fg_loop("lbfgs")),
    "scipy L-BFGS-B loop": (SCIPY_K, scipy_loop()),
}


@pytest.mark.parametrize("name", list(CASES))
def test_rosenbrock5_batch(benchmark, name):
    benchmark.group = "rosenbrock-5d-lbfgs"
    count, call = CASES[name]
    benchmark.pedantic(call, rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info["problems"] = count
    if not benchmark.disabled:   # --benchmark-disable: one untimed run, no stats
        benchmark.extra_info["problems_per_s"] = count / benchmark.stats.stats.median


def test_results_agree():
    """What is timed solves the problems: minimize_many equals the loop."""
    res = fg.minimize_many(ROSEN, X0[:200], method="lbfgs", threads=2)
    loop = [fg.minimize(ROSEN, x, method="lbfgs") for x in X0[:200]]
    assert all(np.array_equal(r.x, s.x) for r, s in zip(res, loop))
    assert res.success.all()


def table(repeats: int = 5) -> None:
    """Median problems per second of each case over `repeats` rounds, the
    cases taken in turn within each round, and the CPU time per problem of
    the process (every thread): on a busy machine two threads cannot beat
    one in wall time, but equal CPU time shows that the split adds no work,
    so an idle second core halves the wall time."""
    times: dict[str, list[float]] = {name: [] for name in CASES}
    cpu: dict[str, list[float]] = {name: [] for name in CASES}
    for call in (c for _, c in CASES.values()):
        call()                                           # warm up
    for _ in range(repeats):
        for name, (count, call) in CASES.items():
            t, c = time.perf_counter(), time.process_time()
            call()
            times[name].append((time.perf_counter() - t) / count)
            cpu[name].append((time.process_time() - c) / count)
    rate = {name: 1.0 / statistics.median(ts) for name, ts in times.items()}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Rosenbrock n={N}, {K} problems ({SCIPY_K} for scipy), median of {repeats} rounds, "
          f"load average {load:.1f}, OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    print(f"{'case':34s} {'problems/s':>12s} {'vs scipy':>9s} {'vs fg loop':>11s} "
          f"{'CPU us/problem':>15s}")
    for name in CASES:
        vs_scipy = rate[name] / rate["scipy L-BFGS-B loop"]
        vs_loop = rate[name] / rate["lbfgs loop of fg.minimize"]
        print(f"{name:34s} {rate[name]:12.0f} {vs_scipy:8.1f}x {vs_loop:10.2f}x "
              f"{1e6 * statistics.median(cpu[name]):15.1f}")


if __name__ == "__main__":
    table(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
