"""Shared inputs and baselines for the benchmarks (pytest-benchmark).

Run: python -m pytest bench --benchmark-only
Each benchmark group holds one operation at one size and dtype; compare the
rows of a group (ratios), not absolute times across runs.
"""
import ctypes
import os
import subprocess
import sys
import tempfile

import pytest

os.environ.setdefault("SKBUILD_EDITABLE_VERBOSE", "0")
sys.path.insert(0, os.path.dirname(__file__))
import _tests_path  # noqa: E402,F401  (tests/support: what the benchmarks share with the tests)


@pytest.fixture(scope="session")
def plain_c_adam():
    """ctypes handle to bench/plain_adam.c compiled for this machine, or None
    when no C compiler is available (the benchmark then reports nothing)."""
    src = os.path.join(os.path.dirname(__file__), "plain_adam.c")
    out = os.path.join(tempfile.mkdtemp(), "plain_adam.so")
    try:
        subprocess.run(["cc", "-O3", "-march=native", "-fno-math-errno", "-shared", "-fPIC",
                        src, "-o", out, "-lm"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    lib = ctypes.CDLL(out)
    fn = lib.plain_adam_f64
    ptr = ctypes.POINTER(ctypes.c_double)
    fn.argtypes = [ptr, ptr, ptr, ptr, ctypes.c_size_t] + [ctypes.c_double] * 5
    fn.restype = None
    return fn


def as_ptr(a):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
