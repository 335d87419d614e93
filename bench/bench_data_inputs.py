"""Benchmarks of compiled functions with data inputs (pytest-benchmark).

A softmax classifier's mean cross-entropy, 20 features and 10 classes:
- "call": value and reverse gradient on new data of the compile-time row
  count (data read at each call) against the same function compiled with
  the data closed over (constants), and NumPy's analytic value and gradient;
- "batch": the same on a minibatch of 256 rows, a row count traced before
  (cached), against the closed-over function recompiled for that batch
  (what minibatch training cost without data inputs);
- "compile": tracing one new row count (a fresh cache each round).
Run: OPENBLAS_NUM_THREADS=1 python -m pytest bench/bench_data_inputs.py --benchmark-only -q
"""
import numpy as np
import pytest

import fastgrad

M, D, C, B = 4000, 20, 10, 256


def loss(w, X, y):
    Z = X @ w.reshape(D, C)
    Z = Z - np.max(Z, axis=1, keepdims=True)
    return np.mean(np.log(np.sum(np.exp(Z), axis=1)) - Z[np.arange(X.shape[0]), y])


def numpy_value_grad(w, X, y):
    Z = X @ w.reshape(D, C)
    Z -= Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    s = E.sum(axis=1)
    P = E / s[:, None]
    P[np.arange(len(y)), y] -= 1
    return np.mean(np.log(s) - Z[np.arange(len(y)), y]), (X.T @ P / len(y)).ravel()


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(M, D))
    y = rng.integers(0, C, M)
    X2 = rng.normal(size=(M, D))
    y2 = rng.integers(0, C, M)
    w = rng.normal(size=D * C) * 0.1
    return X, y, X2, y2, w


@pytest.mark.benchmark(group="call: value and gradient, 4000 rows")
def test_call_new_data(benchmark, problem):
    X, y, X2, y2, w = problem
    cf = fastgrad.compile(loss, D * C, data=(X, y))
    benchmark(cf.value_and_gradient, w, X2, y2, method="reverse")


@pytest.mark.benchmark(group="call: value and gradient, 4000 rows")
def test_call_closed_over(benchmark, problem):
    X, y, X2, y2, w = problem
    cf = fastgrad.compile(lambda v: loss(v, X2, y2), D * C)
    benchmark(cf.value_and_gradient, w, method="reverse")


@pytest.mark.benchmark(group="call: value and gradient, 4000 rows")
def test_call_numpy(benchmark, problem):
    X, y, X2, y2, w = problem
    benchmark(numpy_value_grad, w, X2, y2)


@pytest.mark.benchmark(group="batch: value and gradient, 256 rows")
def test_batch_cached(benchmark, problem):
    X, y, X2, y2, w = problem
    cf = fastgrad.compile(loss, D * C, data=(X, y))
    cf(w, X2[:B], y2[:B])                          # traced once
    benchmark(cf.value_and_gradient, w, X2[:B], y2[:B], method="reverse")


@pytest.mark.benchmark(group="batch: value and gradient, 256 rows")
def test_batch_recompiled(benchmark, problem):
    X, y, X2, y2, w = problem
    Xb, yb = X2[:B], y2[:B]
    benchmark(lambda: fastgrad.compile(lambda v: loss(v, Xb, yb), D * C)
              .value_and_gradient(w, method="reverse"))


@pytest.mark.benchmark(group="compile: one new row count")
def test_compile_new_rows(benchmark, problem):
    X, y, X2, y2, w = problem
    sizes = iter(range(2, 10**6))
    cf = fastgrad.compile(loss, D * C, data=(X, y))
    benchmark(lambda: cf._data.tape_for(next(sizes)))   # trace and build, never cached
