"""Benchmarks of reverse mode for plain Python functions (``fg.gradient(f, x)``,
method="auto": nothing compiled by the user) against torch autograd.

Groups: Rosenbrock's gradient at n = 10 ... 1e5; the gradient of an MLP
with 10,001 parameters (92-97-10, tanh, softmax cross-entropy on a fixed
batch of 256); and the recording overhead per operation (a chain of one
NumPy operation recorded, against the same chain in NumPy). Each group also
times f itself in NumPy, the unit the others are measured in. One BLAS
thread (threadpoolctl), torch with ``torch.set_num_threads(1)``.
Run: OPENBLAS_NUM_THREADS=1 python -m pytest bench/bench_reverse.py --benchmark-only -q
"""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import fastgrad as fg
from fastgrad import reverse
from support.problems import rosen

_limits = threadpool_limits(1)
try:
    import torch
    torch.set_num_threads(1)
except ImportError:   # torch is an optional oracle
    torch = None

SIZES = [10, 100, 10_000, 100_000]


def rosen_torch(x):
    return torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def torch_gradient(f, x, *args):
    """torch autograd's gradient of f at x (a leaf tensor), per call."""
    def grad():
        x.grad = None
        f(x, *args).backward()
        return x.grad
    return grad


def need_torch():
    if torch is None:
        pytest.skip("torch is not installed (pip install 'torch==2.13.0')")


# ------------------------------------------------------------ Rosenbrock --
@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"n={n}")
def rosen_point(request):
    n = request.param
    return n, np.random.default_rng(0).uniform(-1.5, 1.5, n)


def test_rosen_value_numpy(benchmark, rosen_point):
    n, x = rosen_point
    benchmark.group = f"rosenbrock gradient n={n}"
    benchmark(rosen, x)


def test_rosen_gradient_fastgrad(benchmark, rosen_point):
    n, x = rosen_point
    benchmark.group = f"rosenbrock gradient n={n}"
    g = benchmark(fg.gradient, rosen, x)
    assert g.shape == x.shape


def test_rosen_gradient_torch(benchmark, rosen_point):
    need_torch()
    n, x = rosen_point
    benchmark.group = f"rosenbrock gradient n={n}"
    xt = torch.tensor(x, requires_grad=True)
    g = benchmark(torch_gradient(rosen_torch, xt))
    np.testing.assert_allclose(g.numpy(), fg.gradient(rosen, x), rtol=1e-12, atol=1e-9)


# -------------------------------------------------------------------- MLP --
D, H, C, M = 92, 97, 10, 256      # D*H + H + H*C + C = 10,001 parameters


def mlp_data():
    rng = np.random.default_rng(0)
    w = rng.normal(size=D * H + H + H * C + C) * 0.1
    return rng.normal(size=(M, D)), rng.integers(0, C, M), w


def mlp_loss(w, X, labels, lib=np):
    """Mean softmax cross-entropy of a one-hidden-layer tanh network; the same
    code runs on NumPy arrays (and recorded ones) and on torch tensors."""
    W1, b1 = w[:D * H].reshape(D, H), w[D * H:D * H + H]
    W2, b2 = w[D * H + H:D * H + H + H * C].reshape(H, C), w[D * H + H + H * C:]
    Z = lib.tanh(X @ W1 + b1) @ W2 + b2
    Z = Z - (Z.max(axis=1, keepdims=True) if lib is np else Z.max(dim=1, keepdim=True).values)
    logp = Z - lib.log(lib.exp(Z).sum(axis=1, keepdims=True) if lib is np
                       else lib.exp(Z).sum(dim=1, keepdim=True))
    return -logp[lib.arange(M), labels].mean()


def test_mlp_value_numpy(benchmark):
    X, labels, w = mlp_data()
    assert w.size == 10_001
    benchmark.group = "mlp 92-97-10 gradient (10,001 parameters), batch 256"
    benchmark(mlp_loss, w, X, labels)


def test_mlp_gradient_fastgrad(benchmark):
    X, labels, w = mlp_data()
    benchmark.group = "mlp 92-97-10 gradient (10,001 parameters), batch 256"
    g = benchmark(fg.gradient, mlp_loss, w, args=(X, labels))
    assert g.shape == w.shape


def test_mlp_gradient_torch(benchmark):
    need_torch()
    X, labels, w = mlp_data()
    benchmark.group = "mlp 92-97-10 gradient (10,001 parameters), batch 256"
    wt = torch.tensor(w, requires_grad=True)
    g = benchmark(torch_gradient(lambda v: mlp_loss(v, torch.tensor(X), torch.tensor(labels),
                                                    torch), wt))
    np.testing.assert_allclose(g.numpy(), fg.gradient(mlp_loss, w, args=(X, labels)),
                               rtol=1e-9, atol=1e-13)


# ---------------------------------------------- recording cost per op --
# x has shape (n // 10, 10); each entry keeps that shape. The last three are
# an MLP's other operations: a bias row, a row statistic subtracted (the
# stable softmax), a matrix product.
CHAIN = 50
W10 = np.eye(10) + 0.01
OPS = {
    "x * 1.0001": lambda z: z * 1.0001,
    "x + x": lambda z: z + z,
    "np.exp(x)": lambda z: np.exp(z * 1e-3),
    "x[::-1]": lambda z: z[::-1],
    "x + x[0]": lambda z: z + z[0],
    "x - x.max(axis=1, keepdims=True)": lambda z: z - z.max(axis=1, keepdims=True),
    "x @ W (10 x 10)": lambda z: z @ W10,
}


def chain(op):
    def f(x):
        for _ in range(CHAIN):
            x = op(x)
        return np.sum(x)
    return f


@pytest.fixture(scope="module", params=[(name, n) for name in OPS for n in (10, 10_000)],
                ids=lambda p: f"{p[0]} n={p[1]}")
def op_chain(request):
    name, n = request.param
    return name, n, chain(OPS[name]), np.linspace(0.1, 1.0, n).reshape(-1, 10)


def test_op_numpy(benchmark, op_chain):
    name, n, f, x = op_chain
    benchmark.group = f"recording {CHAIN} x {name} n={n}"
    benchmark(f, x)


def test_op_recorded(benchmark, op_chain):
    """Recording alone (values computed as f runs, no tape, no sweep)."""
    name, n, f, x = op_chain
    benchmark.group = f"recording {CHAIN} x {name} n={n}"
    benchmark(reverse.record, f, x)


def test_op_gradient(benchmark, op_chain):
    """The whole gradient: recording, the C tape, the adjoint sweep."""
    name, n, f, x = op_chain
    benchmark.group = f"recording {CHAIN} x {name} n={n}"
    benchmark(fg.gradient, f, x)
