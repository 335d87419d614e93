"""One optimizer step: fastgrad vs careful in-place NumPy, the reference twin,
torch's CPU kernel (fused where torch has one; one thread, when installed)
and a plain C loop.

Groups: "<optimizer> <dtype> n=<size>". Read the ratios inside a group.
"""
import math

import numpy as np
import pytest

import fastgrad as fg
import fastgrad.reference as ref
from conftest import as_ptr
from fastgrad.benchmark import (NumpyAdagrad, NumpyAdam, NumpyAdamax, NumpyNAdam, NumpyRMSprop,
                                NumpySGD)

try:
    import torch
    torch.set_num_threads(1)
except ImportError:  # torch is optional
    torch = None

SIZES = [10, 10_000, 1_000_000, 10_000_000]
DTYPES = [np.float64, np.float32]
OPTIMIZERS = {
    "Adam": (fg.Adam, ref.Adam, NumpyAdam, dict(lr=1e-3)),
    "SGD-momentum": (fg.SGD, ref.SGD, NumpySGD, dict(lr=1e-3, momentum=0.9)),
    "RMSprop": (fg.RMSprop, ref.RMSprop, NumpyRMSprop, dict(lr=1e-2)),
    "Adagrad": (fg.Adagrad, ref.Adagrad, NumpyAdagrad, dict(lr=1e-2)),
    "Adamax": (fg.Adamax, ref.Adamax, NumpyAdamax, dict(lr=2e-3)),
    "NAdam": (fg.NAdam, ref.NAdam, NumpyNAdam, dict(lr=2e-3)),
}
TORCH = {"Adam": "Adam", "SGD-momentum": "SGD", "RMSprop": "RMSprop", "Adagrad": "Adagrad",
         "Adamax": "Adamax", "NAdam": "NAdam"}
TORCH_FUSED = {"Adam", "SGD-momentum", "Adagrad"}   # the others have no fused CPU kernel
IMPLS = ["fastgrad", "fastgrad-2threads", "kernel", "numpy", "reference", "torch-fused",
         "torch-fused-2threads", "plain-C"]


def inputs(n, dtype):
    rng = np.random.default_rng(0)
    return rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
@pytest.mark.parametrize("impl", IMPLS)
def test_step(benchmark, impl, opt_name, dtype, n, plain_c_adam):
    fast_cls, ref_cls, numpy_cls, options = OPTIMIZERS[opt_name]
    benchmark.group = f"{opt_name} {np.dtype(dtype).name} n={n:.0e}"
    p, g = inputs(n, dtype)
    if impl == "fastgrad":
        step = fast_cls(p, **options).step
    elif impl == "fastgrad-2threads":
        if n < 1_000_000:
            pytest.skip("threads only pay off for large arrays")
        step = fast_cls(p, threads=2, **options).step
    elif impl == "kernel":
        if opt_name != "Adam":
            pytest.skip("the raw kernel is timed for Adam only")
        m, v = np.zeros_like(p), np.zeros_like(p)
        kernel = fg.kernels.adam_step
        step = lambda g: kernel(p, g, m, v, 1, 1e-3)  # noqa: E731
    elif impl == "numpy":
        step = numpy_cls(p, **options).step
    elif impl == "reference":
        if n > 1_000_000:
            pytest.skip("the reference allocates temporaries; 'numpy' is the baseline here")
        step = ref_cls(p, **options).step
    elif impl.startswith("torch-fused"):
        if torch is None:
            pytest.skip("torch is not installed")
        if impl.endswith("2threads") and n < 1_000_000:
            pytest.skip("threads only pay off for large arrays")
        torch.set_num_threads(2 if impl.endswith("2threads") else 1)
        t = torch.from_numpy(p)
        t.grad = torch.from_numpy(g)
        fused = {"fused": True} if opt_name in TORCH_FUSED else {"foreach": False}
        topt = getattr(torch.optim, TORCH[opt_name])([t], **options, **fused)
        step = lambda g: topt.step()  # noqa: E731
    else:  # plain-C
        if plain_c_adam is None or opt_name != "Adam" or dtype != np.float64:
            pytest.skip("the plain C loop is float64 Adam only and needs a C compiler")
        m, v = np.zeros_like(p), np.zeros_like(p)
        args = (as_ptr(p), as_ptr(g), as_ptr(m), as_ptr(v), n, 0.9, 0.999, 1e-8,
                1e-3 / 0.1, math.sqrt(1 - 0.999))
        step = lambda g: plain_c_adam(*args)  # noqa: E731
    benchmark(step, g)


@pytest.mark.parametrize("impl", ["fastgrad", "numpy"])
def test_hundred_small_arrays(benchmark, impl):
    """100 parameters of 100 elements: one Python call and one GIL release
    per step for fastgrad, 100 NumPy updates for the baseline."""
    benchmark.group = "Adam 100 arrays x 100"
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(100) for _ in range(100)]
    grads = [rng.standard_normal(100) for _ in range(100)]
    if impl == "fastgrad":
        opt = fg.Adam(params)
        benchmark(opt.step, grads)
    else:
        opts = [NumpyAdam(p) for p in params]

        def step(grads):
            for o, g in zip(opts, grads):
                o.step(g)
        benchmark(step, grads)
