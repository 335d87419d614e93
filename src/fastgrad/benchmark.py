"""``python -m fastgrad bench``: one screen of speed ratios on this machine.

Times one optimizer step of fastgrad against careful in-place NumPy (the
``Numpy*`` classes below: preallocated temporaries, the fairest NumPy code)
and, when installed, torch's CPU kernel on one thread (the fused one where
torch has it), for every optimizer over sizes 10..1e7.
Each cell is the best of several repeats; ratios are NumPy (or torch) time
divided by fastgrad time, so > 1 means fastgrad is faster.
"""
from __future__ import annotations

import argparse
import math
import platform
import time
from typing import Callable

import numpy as np

import fastgrad as fg


DEFAULT_SIZES = (10, 10_000, 1_000_000, 10_000_000)
"""The sizes of the README's table."""


class _NumpyMoments:
    """What the Adam family's NumPy baselines share: the first moment
    m <- b1 m + (1 - b1) g in place, a second buffer and one temporary."""

    def __init__(self, p, lr, betas, eps):
        self.p, self.lr, (self.b1, self.b2), self.eps = p, lr, betas, eps
        self.m, self.v, self.tmp = np.zeros_like(p), np.zeros_like(p), np.empty_like(p)
        self.t = 0

    def _moment(self, g):
        self.t += 1
        self.m *= self.b1
        np.multiply(g, 1 - self.b1, out=self.tmp)
        self.m += self.tmp


class NumpyAdam(_NumpyMoments):
    def __init__(self, p, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(p, lr, betas, eps)

    def step(self, g):
        self._moment(g)
        b1, b2, m, v, tmp = self.b1, self.b2, self.m, self.v, self.tmp
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp /= math.sqrt(1 - b2 ** self.t)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr / (1 - b1 ** self.t)
        self.p -= tmp


class NumpySGD:
    def __init__(self, p, lr=1e-3, momentum=0.9):
        self.p, self.lr, self.mu = p, lr, momentum
        self.buf, self.tmp = np.zeros_like(p), np.empty_like(p)

    def step(self, g):
        self.buf *= self.mu
        self.buf += g
        np.multiply(self.buf, self.lr, out=self.tmp)
        self.p -= self.tmp


class _NumpySquares:
    """What RMSprop's and Adagrad's NumPy baselines share: a sum of squared
    gradients s and the step p <- p - lr g / (sqrt(s) + eps)."""

    def __init__(self, p, lr, eps):
        self.p, self.lr, self.eps = p, lr, eps
        self.s, self.tmp = np.zeros_like(p), np.empty_like(p)

    def _scaled_step(self, g):
        """s += tmp (the caller's new term, in tmp), then the step."""
        self.s += self.tmp
        np.sqrt(self.s, out=self.tmp)
        self.tmp += self.eps
        np.divide(g, self.tmp, out=self.tmp)
        self.tmp *= self.lr
        self.p -= self.tmp


class NumpyRMSprop(_NumpySquares):
    def __init__(self, p, lr=1e-2, alpha=0.99, eps=1e-8):
        super().__init__(p, lr, eps)
        self.alpha = alpha

    def step(self, g):
        self.s *= self.alpha
        np.multiply(g, g, out=self.tmp)
        self.tmp *= 1 - self.alpha
        self._scaled_step(g)


class NumpyAdagrad(_NumpySquares):
    def __init__(self, p, lr=1e-2, eps=1e-10):
        super().__init__(p, lr, eps)

    def step(self, g):
        np.multiply(g, g, out=self.tmp)
        self._scaled_step(g)


class NumpyAdamax(_NumpyMoments):
    def __init__(self, p, lr=2e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(p, lr, betas, eps)   # v is the infinity norm u

    def step(self, g):
        self._moment(g)
        u, tmp = self.v, self.tmp
        u *= self.b2
        np.abs(g, out=tmp)
        tmp += self.eps
        np.maximum(u, tmp, out=u)
        np.divide(self.m, u, out=tmp)
        tmp *= self.lr / (1 - self.b1 ** self.t)
        self.p -= tmp


class NumpyNAdam(_NumpyMoments):
    def __init__(self, p, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, momentum_decay=4e-3):
        super().__init__(p, lr, betas, eps)
        self.md, self.mu_product, self.denom = momentum_decay, 1.0, np.empty_like(p)

    def step(self, g):
        self._moment(g)
        b1, b2, t, v, tmp, denom = self.b1, self.b2, self.t, self.v, self.tmp, self.denom
        mu = b1 * (1 - 0.5 * 0.96 ** (t * self.md))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * self.md))
        self.mu_product *= mu
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v += tmp
        np.divide(v, 1 - b2 ** t, out=denom)
        np.sqrt(denom, out=denom)
        denom += self.eps
        np.divide(g, denom, out=tmp)
        tmp *= self.lr * (1 - mu) / (1 - self.mu_product)
        self.p -= tmp
        np.divide(self.m, denom, out=tmp)
        tmp *= self.lr * mu_next / (1 - self.mu_product * mu_next)
        self.p -= tmp


CASES = {
    "Adam": (lambda p: fg.Adam(p, lr=1e-3).step, lambda p: NumpyAdam(p, lr=1e-3).step,
             ("Adam", dict(lr=1e-3), True)),
    "SGD+momentum": (lambda p: fg.SGD(p, lr=1e-3, momentum=0.9).step,
                     lambda p: NumpySGD(p, lr=1e-3, momentum=0.9).step,
                     ("SGD", dict(lr=1e-3, momentum=0.9), True)),
    "RMSprop": (lambda p: fg.RMSprop(p, lr=1e-2).step, lambda p: NumpyRMSprop(p, lr=1e-2).step,
                ("RMSprop", dict(lr=1e-2), False)),
    "Adagrad": (lambda p: fg.Adagrad(p, lr=1e-2).step, lambda p: NumpyAdagrad(p, lr=1e-2).step,
                ("Adagrad", dict(lr=1e-2), True)),
    "Adamax": (lambda p: fg.Adamax(p, lr=2e-3).step, lambda p: NumpyAdamax(p, lr=2e-3).step,
               ("Adamax", dict(lr=2e-3), False)),
    "NAdam": (lambda p: fg.NAdam(p, lr=2e-3).step, lambda p: NumpyNAdam(p, lr=2e-3).step,
              ("NAdam", dict(lr=2e-3), False)),
}


def _best_time(step: Callable[[np.ndarray], None], g: np.ndarray, budget: float) -> float:
    """Best per-call time over repeats, spending about `budget` seconds."""
    step(g)
    number, elapsed = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            step(g)
        elapsed = time.perf_counter() - t0
        if elapsed > budget / 10 or number >= 1 << 20:
            break
        number *= 4
    best = elapsed / number
    for _ in range(4):
        t0 = time.perf_counter()
        for _ in range(number):
            step(g)
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def _torch_step(name: str, options: dict, fused: bool, p: np.ndarray, g: np.ndarray):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    t = torch.from_numpy(p)
    t.grad = torch.from_numpy(g)
    opt = getattr(torch.optim, name)([t], **options, **({"fused": True} if fused else {}))
    return lambda _g: opt.step()


def _fmt_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            return f"{seconds / scale:7.2f} {unit}"
    return ""


def run(sizes=DEFAULT_SIZES, dtype=np.float64, budget: float = 0.15,
        optimizers=None, echo=print) -> list[dict]:
    """Time every optimizer at every size; print a table; return the rows."""
    rows = []
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    echo(f"fastgrad {fg.__version__} on {platform.machine()} {platform.processor() or ''}, "
         f"numpy {np.__version__}, dtype {np.dtype(dtype).name}, one thread")
    head = f"{'optimizer':<13} {'n':>9} {'fastgrad':>11} {'numpy':>11} {'x numpy':>8}"
    if have_torch:
        head += f" {'torch':>11} {'x torch':>8}"
    echo(head)
    echo("-" * len(head))
    rng = np.random.default_rng(0)
    for name, (make_fast, make_numpy, (tname, topts, fused)) in CASES.items():
        if optimizers and name not in optimizers:
            continue
        for n in sizes:
            g = rng.standard_normal(n).astype(dtype) * 1e-3
            fast = _best_time(make_fast(rng.standard_normal(n).astype(dtype)), g, budget)
            slow = _best_time(make_numpy(rng.standard_normal(n).astype(dtype)), g, budget)
            row = dict(optimizer=name, n=n, fastgrad=fast, numpy=slow)
            line = (f"{name:<13} {n:>9.0e} {_fmt_time(fast):>11} {_fmt_time(slow):>11} "
                    f"{slow / fast:>7.1f}x")
            if have_torch:
                step = _torch_step(tname, topts, fused, rng.standard_normal(n).astype(dtype), g)
                tt = _best_time(step, g, budget)
                row["torch"] = tt
                line += f" {_fmt_time(tt):>11} {tt / fast:>7.1f}x"
            rows.append(row)
            echo(line)
    return rows


def _sizes(text: str) -> list[int]:
    """``--sizes``: comma-separated positive integers, 1e4-style allowed."""
    sizes = []
    for item in text.split(","):
        try:
            value = float(item)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{item.strip()!r} is not a number (expected e.g. 10,1e4,1e6)") from None
        if not (value >= 1 and value == int(value)) or value > 2**40:
            raise argparse.ArgumentTypeError(
                f"{item.strip()!r} is not a whole number of elements >= 1")
        sizes.append(int(value))
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fastgrad bench",
                                     description="Time fastgrad's optimizer steps against NumPy "
                                                 "(and torch when installed).")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--sizes", type=_sizes, default=list(DEFAULT_SIZES),
                        help="comma-separated sizes, e.g. 10,1e4,1e6 "
                             "(default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="short timing budget")
    args = parser.parse_args(argv)
    run(sizes=args.sizes, dtype=np.dtype(args.dtype).type, budget=0.03 if args.quick else 0.15)
    return 0
