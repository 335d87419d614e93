"""Other compiled extensions use fastgrad's kernels: a Cython consumer that
cimports the .pxd exports and a C consumer that includes fastgrad.h and
links libfgcore.a are built from source here, with the same toolchain, and
must give the same answers as the Python API."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import fastgrad as fg

HERE = os.path.join(os.path.dirname(__file__), "embedding")


@pytest.fixture(scope="module")
def consumers(tmp_path_factory):
    build = tmp_path_factory.mktemp("consumer")
    for name in os.listdir(HERE):
        if name.endswith((".pyx", ".c", ".py")):
            shutil.copy(os.path.join(HERE, name), build)
    env = dict(os.environ, SKBUILD_EDITABLE_VERBOSE="0")
    out = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=build,
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    sys.path.insert(0, str(build))
    try:
        import c_consumer
        import cy_consumer
        yield cy_consumer, c_consumer
    finally:
        sys.path.remove(str(build))


def python_api_adam(p, g, steps, lr):
    opt = fg.Adam(p, lr=lr)
    for _ in range(steps):
        opt.step(g)
    return p


@pytest.mark.parametrize("which", ["cython", "c"])
def test_consumer_adam_equals_python_api(consumers, which):
    module = consumers[0] if which == "cython" else consumers[1]
    rng = np.random.default_rng(0)
    p0, g = rng.standard_normal(5000), rng.standard_normal(5000)
    p, m, v = p0.copy(), np.zeros(5000), np.zeros(5000)
    assert module.adam_steps(p, g, m, v, 25, 1e-2) == 0
    expected = python_api_adam(p0.copy(), g, 25, 1e-2)
    np.testing.assert_array_equal(p, expected)


def test_consumer_sees_status_codes(consumers):
    _, c_consumer = consumers
    p, g, m, v = np.ones(3), np.ones(3), np.zeros(3), np.zeros(3)
    assert c_consumer.adam_steps(p, g, m, v, 1, -1.0) == 1        # FG_ERR_ARG: lr < 0
    np.testing.assert_array_equal(p, 1.0)
    assert c_consumer.status_message(1) == "invalid argument"
    cy_consumer = consumers[0]
    assert cy_consumer.adam_steps(p, g, m, v, 1, -1.0) == 1
