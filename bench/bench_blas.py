"""Compiled models whose cost is matrix products: fastgrad's tape with
SciPy's BLAS (the default), the same program on fastgrad's plain loops
(``blas=False``), analytic NumPy and torch autograd (one thread each).

Groups: the softmax-MLP gradient on scikit-learn's digits (1347 x 64-32-10,
2410 parameters), the 20000 x 100 logistic-regression value and gradient
(a class each, which names the group once), and the compile time of both. BLAS threads are limited to one here
(threadpoolctl), as torch's (``torch.set_num_threads(1)``).
Run: python -m pytest bench/bench_blas.py --benchmark-only -q
On a shared machine, time by CPU time (every row runs on one thread):
--benchmark-timer=time.process_time
"""
import numpy as np
import pytest
import threadpoolctl

import fastgrad
from fastgrad._tape import Tape

_limit = threadpoolctl.threadpool_limits(limits=1, user_api="blas")

try:
    import torch
    torch.set_num_threads(1)
except ImportError:   # the torch rows report nothing
    torch = None


def _loops_tape(cf):
    """cf's program on fastgrad's own loops (no BLAS)."""
    return Tape(*cf.program.arrays(), cf.shape, 8, blas=False)


# --------------------------------------------------------- softmax MLP --

def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    X, y = load_digits(return_X_y=True)
    Xtr, _, ytr, _ = train_test_split(X / 16.0, y, test_size=0.25, random_state=0)
    return np.ascontiguousarray(Xtr), np.eye(10)[ytr]


DX, DY = _digits()                      # 1347 x 64, one-hot 1347 x 10
SIZES = [(64, 32), (32,), (32, 10), (10,)]
N_MLP = sum(int(np.prod(s)) for s in SIZES)


def _unpack(p):
    out, i = [], 0
    for s in SIZES:
        k = int(np.prod(s))
        out.append(p[i:i + k].reshape(s))
        i += k
    return out


def mlp_loss(p):
    W1, b1, W2, b2 = _unpack(p)
    Z = np.tanh(DX @ W1 + b1) @ W2 + b2
    m = np.max(Z, axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(Z - m), axis=1))
    return np.mean(lse - np.sum(DY * Z, axis=1))


def mlp_grad_numpy(p):
    """Hand-written backpropagation (the NumPy baseline)."""
    W1, b1, W2, b2 = _unpack(p)
    H = np.tanh(DX @ W1 + b1)
    Z = H @ W2 + b2
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    G = (E / E.sum(axis=1, keepdims=True) - DY) / len(DX)
    GH = (G @ W2.T) * (1.0 - H * H)
    return np.concatenate([(DX.T @ GH).ravel(), GH.sum(0), (H.T @ G).ravel(), G.sum(0)])


@pytest.mark.benchmark(group="softmax-MLP gradient 1347 x 64-32-10")
class TestMLPGradient:
    @pytest.fixture(scope="class")
    def mlp(self):
        p = np.random.default_rng(0).normal(scale=0.3, size=N_MLP)
        cf = fastgrad.compile(mlp_loss, N_MLP)
        return cf, p

    def test_numpy_backprop(self, benchmark, mlp):
        benchmark(mlp_grad_numpy, mlp[1])

    def test_fastgrad_blas(self, benchmark, mlp):
        cf, p = mlp
        g = benchmark(cf.gradient, p, method="reverse")
        np.testing.assert_allclose(g, mlp_grad_numpy(p), rtol=1e-9, atol=1e-12)

    def test_fastgrad_loops(self, benchmark, mlp):
        cf, p = mlp
        g = benchmark(_loops_tape(cf).grad, p, True)
        np.testing.assert_allclose(g, mlp_grad_numpy(p), rtol=1e-9, atol=1e-12)

    def test_torch(self, benchmark, mlp):
        if torch is None:
            pytest.skip("torch is not installed (the optional oracle)")
        X, y = torch.from_numpy(DX), torch.from_numpy(DY.argmax(1))
        p = torch.from_numpy(mlp[1].copy()).requires_grad_()

        def grad():
            W1, b1, W2, b2 = _unpack(p)
            Z = torch.tanh(X @ W1 + b1) @ W2 + b2
            loss = torch.nn.functional.cross_entropy(Z, y)
            return torch.autograd.grad(loss, p)[0]

        g = benchmark(grad)
        np.testing.assert_allclose(g.numpy(), mlp_grad_numpy(mlp[1]), rtol=1e-9, atol=1e-12)


def test_mlp_compile_time(benchmark):
    benchmark.group = "compile time"
    benchmark.pedantic(fastgrad.compile, (mlp_loss, N_MLP), rounds=5, iterations=1)


# ------------------------------------------------- logistic regression --

def _logistic_data(m=20000, d=100):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(m, d))
    w = rng.normal(size=d) / np.sqrt(d)
    y = (rng.random(m) < 1.0 / (1.0 + np.exp(-X @ w))).astype(float)
    return X, y


LX, LY = _logistic_data()


def logistic_loss(w):
    z = LX @ w
    return np.mean(np.logaddexp(0.0, z) - LY * z)


def logistic_numpy(w):
    """Analytic value and gradient (the NumPy baseline)."""
    z = LX @ w
    value = np.mean(np.logaddexp(0.0, z) - LY * z)
    return value, LX.T @ (1.0 / (1.0 + np.exp(-z)) - LY) / len(LY)


@pytest.mark.benchmark(group="logistic value+gradient 20000 x 100")
class TestLogisticValueGradient:
    @pytest.fixture(scope="class")
    def logistic(self):
        w = np.random.default_rng(2).normal(scale=0.1, size=LX.shape[1])
        return fastgrad.compile(logistic_loss, LX.shape[1]), w

    def test_numpy_analytic(self, benchmark, logistic):
        benchmark(logistic_numpy, logistic[1])

    def test_fastgrad_blas(self, benchmark, logistic):
        cf, w = logistic
        v, g = benchmark(cf.value_and_gradient, w, method="reverse")
        v0, g0 = logistic_numpy(w)
        assert v == pytest.approx(v0, rel=1e-12)
        np.testing.assert_allclose(g, g0, rtol=1e-9, atol=1e-13)

    def test_fastgrad_loops(self, benchmark, logistic):
        cf, w = logistic
        v, g = benchmark(_loops_tape(cf).value_grad, w, True)
        np.testing.assert_allclose(g, logistic_numpy(w)[1], rtol=1e-9, atol=1e-13)

    def test_torch(self, benchmark, logistic):
        if torch is None:
            pytest.skip("torch is not installed (the optional oracle)")
        X, y = torch.from_numpy(LX), torch.from_numpy(LY)
        w = torch.from_numpy(logistic[1].copy()).requires_grad_()

        def value_grad():
            loss = torch.nn.functional.binary_cross_entropy_with_logits(X @ w, y)
            return loss.item(), torch.autograd.grad(loss, w)[0]

        benchmark(value_grad)


def test_logistic_compile_time(benchmark):
    benchmark.group = "compile time"
    benchmark.pedantic(fastgrad.compile, (logistic_loss, LX.shape[1]), rounds=5, iterations=1)
