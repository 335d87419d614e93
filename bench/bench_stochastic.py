"""Minibatch training: epochs (B = 64, Adam, lr 1e-3) of the 1347 x 64-32-10
softmax MLP (tanh hidden layer, 2,410 parameters) on scikit-learn's digits:

- fastgrad: ``minimize(cf, w, data=(X, y), batch_size=64, epochs=E)``, the
  loop in C (the batch capsule's tapes are traced once, on the first call);
- a Python loop of ``cf.gradient(w, X[rows], y[rows], method="reverse")``
  (the adjoint sweep, as the C loop's batch capsule) and
  ``fastgrad.Adam.step`` per batch (what a user writes without the C loop);
- torch: the same network as ``nn.Sequential``, a DataLoader-free loop
  (``randperm``, index, forward, ``cross_entropy``, backward,
  ``torch.optim.Adam``), one thread; float64 like fastgrad, and float32.

fastgrad's run also evaluates the loss and gradient on all rows once at the
end (``res.fun``, ``res.jac``), so one epoch carries one more full-data
evaluation than the loops; the ``epochs=10`` rows spread it.

Run: OPENBLAS_NUM_THREADS=1 python -m pytest bench/bench_stochastic.py --benchmark-only -q
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pytest

import fastgrad as fg

B, LR, N_HIDDEN, N_CLASSES = 64, 1e-3, 32, 10


def mlp_parts(w, d):
    h, c = N_HIDDEN, N_CLASSES
    W1 = w[:d * h].reshape(d, h)
    b1 = w[d * h:d * h + h]
    W2 = w[d * h + h:d * h + h + h * c].reshape(h, c)
    b2 = w[d * h + h + h * c:]
    return W1, b1, W2, b2


def mlp_loss(w, X, y):
    """Mean cross-entropy of softmax(tanh(X W1 + b1) W2 + b2)."""
    W1, b1, W2, b2 = mlp_parts(w, X.shape[1])
    Z = np.tanh(X @ W1 + b1) @ W2 + b2
    zmax = Z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(Z - zmax).sum(axis=1)) + zmax[:, 0]
    return np.mean(lse - Z[np.arange(len(y)), y])


@pytest.fixture(scope="module")
def digits():
    datasets = pytest.importorskip("sklearn.datasets", reason="the digits come from scikit-learn")
    X, y = datasets.load_digits(return_X_y=True)
    X = X / 16.0
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(X))[:1347]    # scikit-learn's default 75% training split size
    X, y = np.ascontiguousarray(X[idx]), y[idx].astype(np.int64)
    d = X.shape[1]
    n = d * N_HIDDEN + N_HIDDEN + N_HIDDEN * N_CLASSES + N_CLASSES
    w0 = np.concatenate([rng.normal(0, d ** -0.5, d * N_HIDDEN), np.zeros(N_HIDDEN),
                         rng.normal(0, N_HIDDEN ** -0.5, N_HIDDEN * N_CLASSES),
                         np.zeros(N_CLASSES)])
    cf = fg.compile(mlp_loss, n, data=(X, y))
    # trace the batch row counts once, outside the timings
    fg.minimize(cf, w0, data=(X, y), batch_size=B, epochs=1, lr=LR)
    return cf, X, y, w0


GROUP = "minibatch epochs={} (1347 x 64-32-10, B=64, Adam)"


@pytest.mark.parametrize("epochs", [1, 10])
def test_fastgrad_c_loop(benchmark, digits, epochs):
    cf, X, y, w0 = digits
    benchmark.group = GROUP.format(epochs)
    res = benchmark(fg.minimize, cf, w0, data=(X, y), batch_size=B, epochs=epochs, lr=LR,
                    method="adam", seed=0)
    assert res.success and res.nit == epochs * 22


def python_loop(cf, X, y, w0, epochs, seed=0):
    w = w0.copy()
    opt = fg.Adam(w, lr=LR)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for k in range(0, len(X), B):
            rows = order[k:k + B]
            opt.step(cf.gradient(w, X[rows], y[rows], method="reverse"))
    return w


@pytest.mark.parametrize("epochs", [1, 10])
def test_python_loop_of_gradients(benchmark, digits, epochs):
    cf, X, y, w0 = digits
    benchmark.group = GROUP.format(epochs)
    benchmark(python_loop, cf, X, y, w0, epochs)


def torch_setup(X, y, w0, dtype):
    torch = pytest.importorskip("torch", reason="torch is the optional oracle")
    torch.set_num_threads(1)
    tdtype = getattr(torch, dtype)
    d = X.shape[1]
    model = torch.nn.Sequential(torch.nn.Linear(d, N_HIDDEN), torch.nn.Tanh(),
                                torch.nn.Linear(N_HIDDEN, N_CLASSES)).to(tdtype)
    W1, b1, W2, b2 = mlp_parts(w0, d)
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(W1.T.copy()))
        model[0].bias.copy_(torch.from_numpy(b1))
        model[2].weight.copy_(torch.from_numpy(W2.T.copy()))
        model[2].bias.copy_(torch.from_numpy(b2))
    return torch, model, torch.from_numpy(X).to(tdtype), torch.from_numpy(y)


def torch_loop(torch, model, Xt, yt, epochs):
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        order = torch.randperm(len(Xt), generator=gen)
        for k in range(0, len(Xt), B):
            rows = order[k:k + B]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(Xt[rows]), yt[rows])
            loss.backward()
            opt.step()
    return model


@pytest.mark.parametrize("epochs", [1, 10])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_loop(benchmark, digits, epochs, dtype):
    cf, X, y, w0 = digits
    torch, model, Xt, yt = torch_setup(X, y, w0, dtype)
    benchmark.group = GROUP.format(epochs)
    benchmark(torch_loop, torch, model, Xt, yt, epochs)
