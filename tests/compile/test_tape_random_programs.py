"""Random compositions of table ops and structural operations (sums,
transposes, slices, constants, matmuls), traced and run by the C tape and by
the reference interpreter: values, gradients (both modes) and Hessians agree."""
import numpy as np
import pytest

import fastgrad
from fastgrad.reference import compiled as ref

SAFE_UNARY = ["sin", "cos", "tanh", "arctan", "negative", "square", "arcsinh"]
SAFE_BINARY = ["add", "subtract", "multiply", "maximum", "minimum", "hypot", "arctan2",
               "logaddexp"]


def random_program(seed):
    """A random composition of table ops and structural operations on a
    (3, 4) input, as a NumPy function (the same code is traced)."""
    rng = np.random.default_rng(seed)
    steps = []
    shapes = [(3, 4)]
    for _ in range(8):
        kind = rng.choice(["unary", "binary", "binary", "sum", "transpose", "slice", "const",
                           "matmul"])
        i = int(rng.integers(len(shapes)))
        s = shapes[i]
        if kind == "unary":
            steps.append(("unary", str(rng.choice(SAFE_UNARY)), i))
            shapes.append(s)
        elif kind == "binary":
            j = int(rng.integers(len(shapes)))
            try:
                out = np.broadcast_shapes(s, shapes[j])
                steps.append(("binary", str(rng.choice(SAFE_BINARY)), i, j))
            except ValueError:
                out = s
                steps.append(("binary_sum", str(rng.choice(SAFE_BINARY)), i, j))
            shapes.append(out)
        elif kind == "sum" and len(s) >= 1:
            ax = int(rng.integers(len(s)))
            steps.append(("sum", ax, i))
            shapes.append(s[:ax] + s[ax + 1:])
        elif kind == "transpose" and len(s) == 2:
            steps.append(("transpose", i))
            shapes.append(s[::-1])
        elif kind == "slice" and len(s) >= 1 and s[0] > 1:
            steps.append(("slice", i))
            shapes.append((s[0] - 1,) + s[1:])
        elif kind == "const":
            steps.append(("const", rng.uniform(-2, 2, size=s[-1:] if s else ()), i))
            shapes.append(s)
        elif kind == "matmul" and len(s) == 2:
            steps.append(("matmul", rng.uniform(-1, 1, size=(s[1], 2)), i))
            shapes.append((s[0], 2))

    def f(x):
        pool = [x]
        for st in steps:
            if st[0] == "unary":
                pool.append(getattr(np, st[1])(pool[st[2]]))
            elif st[0] == "binary":
                pool.append(getattr(np, st[1])(pool[st[2]], pool[st[3]]))
            elif st[0] == "binary_sum":
                pool.append(getattr(np, st[1])(pool[st[2]], np.sum(pool[st[3]])))
            elif st[0] == "sum":
                pool.append(np.sum(pool[st[2]], axis=st[1]))
            elif st[0] == "transpose":
                pool.append(pool[st[1]].T)
            elif st[0] == "slice":
                pool.append(pool[st[1]][1:][::-1])
            elif st[0] == "const":
                pool.append(pool[st[2]] * st[1])
            elif st[0] == "matmul":
                pool.append(pool[st[2]] @ st[1])
        return sum(np.sum(v) * (0.5 + 0.1 * k) for k, v in enumerate(pool))

    return f


@pytest.mark.parametrize("seed", range(25))
def test_random_programs_against_reference(seed):
    f = random_program(seed)
    x = np.random.default_rng(seed + 1000).uniform(-1.5, 1.5, size=(3, 4))
    cf = fastgrad.compile(f, x.shape, chunk=5)
    rf = ref.compile(f, x.shape)
    np.testing.assert_allclose(cf(x), f(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cf(x), rf(x), rtol=1e-12, atol=1e-12)
    g = cf.gradient(x)
    np.testing.assert_allclose(g, rf.gradient(x), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(cf.gradient(x, method="reverse"), g, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(cf.hessian(x), rf.hessian(x), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(cf.gradient(x, method="reverse"), rf.gradient(x, method="reverse"),
                               rtol=1e-11, atol=1e-11)
