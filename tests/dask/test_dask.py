"""fastgrad.dask.minimize on a real LocalCluster (2 worker processes, 1 thread
each): iterates against single-process minimize on the concatenated data,
persisted data, a penalty, newton-cg, a worker killed mid-fit, bad chunking,
and the compiled function sent once per worker."""
import os
import signal
import subprocess
import sys
import uuid

import numpy as np
import pytest

pytestmark = pytest.mark.oracle
pytest.importorskip("distributed", reason="fastgrad.dask needs dask[distributed] (the "
                    "dask extra; .ci/run installs it)")

import dask.array as da  # noqa: E402
from distributed import Client, LocalCluster, wait  # noqa: E402

import fastgrad as fg  # noqa: E402
from fastgrad.dask import minimize  # noqa: E402

import standin  # noqa: E402  (tests/dask is on sys.path, also in the workers)

ROWS, COLS, CHUNK = 400, 5, 50
LAM = 3.0


def logistic(w, X, y):
    z = X @ w
    return np.sum(np.logaddexp(0.0, z) - y * z)


def ridge(w):
    return 0.5 * LAM * (w @ w)


def logistic_ridge(w, X, y):
    return logistic(w, X, y) + ridge(w)


def weighted_logistic(w, X, y, weights):
    z = X @ w
    return np.sum(weights * (np.logaddexp(0.0, z) - y * z))


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((ROWS, COLS))
    y = (X @ np.linspace(-1, 1, COLS) + 0.5 * rng.standard_normal(ROWS) > 0).astype(float)
    return X, y


def dask_data(problem, chunk=CHUNK):
    X, y = problem
    return da.from_array(X, chunks=(chunk, COLS)), da.from_array(y, chunks=chunk)


def compiled(f, problem):
    """f compiled with data inputs, traced on a sample of two rows."""
    X, y = problem
    return fg.compile(f, (COLS,), data=(X[:2], y[:2]))


def single(f, problem, **kw):
    """Single-process minimize of f on the concatenated data (the loop in C)."""
    return fg.minimize(compiled(f, problem).with_data(*problem), np.zeros(COLS), **kw)


def assert_same_run(res, ref, rtol=1e-8):
    assert res.status == ref.status and res.success
    assert res.nit == ref.nit
    np.testing.assert_allclose(res.x, ref.x, rtol=rtol, atol=1e-10)
    np.testing.assert_allclose(res.fun, ref.fun, rtol=1e-12)


@pytest.mark.parametrize("method, kw", [("lbfgs", dict(tol=1e-8)),
                                        ("adam", dict(lr=0.05, maxiter=60, tol=0.0)),
                                        ("bfgs", dict(tol=1e-8)),
                                        ("cg", dict(tol=1e-7))])
def test_matches_single_process(client, problem, method, kw):
    cf = compiled(logistic, problem)
    res = minimize(cf, np.zeros(COLS), data=dask_data(problem), method=method, **kw)
    ref = single(logistic, problem, method=method, **kw)
    if method == "adam":
        assert res.nit == ref.nit == 60
        np.testing.assert_allclose(res.x, ref.x, rtol=1e-9)
    else:
        assert_same_run(res, ref)


def incoming_transfers(client):
    return client.run(lambda dask_worker: len(dask_worker.transfer_incoming_log))


def test_persisted_data_stay_where_they_are(client, problem):
    X, y = client.persist(list(dask_data(problem)))
    wait([X, y])
    before = client.who_has()
    blocks = {k for k in before if k[0] in (X.name, y.name)}
    assert len(blocks) == 2 * ROWS // CHUNK
    after_first = []
    res = minimize(compiled(logistic, problem), np.zeros(COLS), data=(X, y), method="lbfgs",
                   callback=lambda r: after_first or after_first.append(
                       incoming_transfers(client)))
    assert_same_run(res, single(logistic, problem, method="lbfgs"))
    # no block moves between workers after the first iteration
    assert res.nit > 3 and incoming_transfers(client) == after_first[0]
    after = client.who_has()
    # the user's blocks are still in memory after the fit
    assert all(after[k] for k in blocks)


def test_penalty_counted_once(client, problem):
    penalty = fg.compile(ridge, COLS)
    res = minimize(compiled(logistic, problem), np.zeros(COLS), data=dask_data(problem),
                   penalty=penalty, method="lbfgs")
    assert_same_run(res, single(logistic_ridge, problem, method="lbfgs"))


@pytest.mark.parametrize("method, tol", [("newton-cg", 1e-10), ("newton", 1e-8)])
def test_newton_methods_use_distributed_hvp(client, problem, method, tol):
    """newton-cg: one distributed product per CG step; newton: the Hessian
    from n products per block on the workers."""
    penalty = fg.compile(ridge, COLS)
    res = minimize(compiled(logistic, problem), np.zeros(COLS), data=dask_data(problem),
                   penalty=penalty, method=method, tol=tol)
    ref = single(logistic_ridge, problem, method=method, tol=tol)
    assert_same_run(res, ref)
    assert res.nhev == ref.nhev > 0


def test_uneven_blocks_and_more_arrays(client, problem):
    """Row blocks of different lengths (a tape traced per length), three data arrays."""
    X, y = problem
    chunks = (7, 93, 100, 200)
    weights = np.linspace(0.5, 1.5, ROWS)
    cf = fg.compile(weighted_logistic, (COLS,), data=(X[:2], y[:2], weights[:2]))
    data = tuple(da.from_array(a, chunks=(chunks,) + a.shape[1:]) for a in (X, y, weights))
    res = minimize(cf, np.zeros(COLS), data=data, method="lbfgs")
    assert_same_run(res, fg.minimize(cf.with_data(X, y, weights), np.zeros(COLS),
                                     method="lbfgs"))


def test_cf_sent_once_per_worker(client, problem):
    cf = standin.Counted(compiled(logistic, problem), uuid.uuid4().hex)
    res = minimize(cf, np.zeros(COLS), data=dask_data(problem), method="lbfgs")
    assert res.nfev > 5
    loads = client.run(standin.loads, cf.token)
    assert sorted(loads.values()) == [1, 1]


def test_bad_input_refused(client, problem):
    X, y = problem
    cf = compiled(logistic, problem)
    by_columns = da.from_array(X, chunks=(CHUNK, 2))
    with pytest.raises(ValueError, match=r"data\[0\] must be chunked along rows only.*axis 1"):
        minimize(cf, np.zeros(COLS), data=(by_columns, da.from_array(y, chunks=CHUNK)))
    with pytest.raises(ValueError, match=r"data\[1\]'s row blocks"):
        minimize(cf, np.zeros(COLS), data=(da.from_array(X, chunks=(CHUNK, COLS)),
                                           da.from_array(y, chunks=CHUNK * 2)))
    with pytest.raises(TypeError, match=r"data\[1\] must be a Dask array"):
        minimize(cf, np.zeros(COLS), data=(da.from_array(X, chunks=(CHUNK, COLS)), y))
    with pytest.raises(TypeError, match="hessp"):
        minimize(cf, np.zeros(COLS), data=dask_data(problem), hessp=lambda x, v: v)
    with pytest.raises(TypeError, match="penalty must have value_and_gradient"):
        minimize(cf, np.zeros(COLS), data=dask_data(problem), penalty=lambda x: 0.0)
    with pytest.raises(ValueError, match="method must be one of"):
        minimize(cf, np.zeros(COLS), data=dask_data(problem), method="simplex")


def test_worker_error_surfaces(client, problem):
    """Blocks the compiled function refuses (another column count): a clear
    error naming the evaluation and the worker's exception."""
    X, y = problem
    bad = da.from_array(np.ones((ROWS, COLS + 1)), chunks=(CHUNK, COLS + 1))
    with pytest.raises(RuntimeError, match="evaluation 1 failed on a worker.*ValueError"):
        minimize(compiled(logistic, problem), np.zeros(COLS),
                 data=(bad, da.from_array(y, chunks=CHUNK)))


def test_worker_killed_mid_fit(client, problem):
    """A worker process killed after the third update: Dask recomputes its
    blocks on the other worker and the run ends where it ends without the kill."""
    cf = compiled(logistic, problem)
    ref = minimize(cf, np.zeros(COLS), data=dask_data(problem), method="lbfgs", tol=1e-10)
    pids = client.run(os.getpid)
    killed = []

    def kill(r):
        if r.nit == 3 and not killed:
            pid = pids[sorted(pids)[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    res = minimize(cf, np.zeros(COLS), data=dask_data(problem), method="lbfgs", tol=1e-10,
                   callback=kill)
    assert killed
    assert_same_run(res, ref, rtol=1e-12)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it for the next tests


def test_import_fastgrad_does_not_import_dask():
    code = "import sys, fastgrad; print('dask' in sys.modules, 'distributed' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False"]
