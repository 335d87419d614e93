"""fastgrad.compile as users meet it: the decorator form and extra args,
pickling, input conversion, the errors a trace or a call raises (naming the
argument), constant folding, output views, non-finite values."""
import numpy as np
import pytest

import fastgrad
from fastgrad import CompiledFunction
from fastgrad.compiled import TraceError
from support.problems import make_mlp

def test_decorator_form_and_args():
    @fastgrad.compile(shape=(3,))
    def f(x):
        """doc"""
        return np.sum(x ** 2)

    assert isinstance(f, CompiledFunction)
    assert f.__name__ == "f" and f.__doc__ == "doc"
    assert f(np.array([1.0, 2.0, 3.0])) == 14.0
    g = fastgrad.compile(lambda x, c: np.sum(c * x), 2, args=(np.array([2.0, 3.0]),))
    np.testing.assert_array_equal(g.gradient(np.zeros(2)), [2.0, 3.0])


def test_pickle_round_trip():
    import pickle
    f, p = make_mlp()
    cf = fastgrad.compile(f, p.shape, chunk=3)
    back = pickle.loads(pickle.dumps(cf))
    assert back(p) == cf(p)
    np.testing.assert_array_equal(back.gradient(p), cf.gradient(p))
    assert back.__name__ == "mlp_loss" and back.shape == cf.shape


def test_input_conversion():
    cf = fastgrad.compile(lambda x: np.sum(x ** 2), (2, 2))
    expect = 30.0
    assert cf([[1, 2], [3, 4]]) == expect                      # list of ints
    assert cf(np.array([[1, 2], [3, 4]], dtype=np.float32)) == expect
    assert cf(np.arange(1.0, 9.0).reshape(2, 4)[:, ::2] * 0 + [[1, 2], [3, 4]]) == expect
    big = np.arange(1.0, 5.0).reshape(2, 2)
    assert cf(np.asfortranarray(big)) == expect


def test_shape_and_dtype_errors():
    cf = fastgrad.compile(lambda x: np.sum(x ** 2), 3)
    with pytest.raises(ValueError, match=r"x has shape \(4,\).*compiled for shape \(3,\)"):
        cf(np.zeros(4))
    with pytest.raises(ValueError, match="shape"):
        cf.gradient(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="shape"):
        cf.hessian(np.zeros(2))
    with pytest.raises(ValueError, match=r"v has shape"):
        cf.jvp(np.zeros(3), np.zeros(2))
    with pytest.raises(TypeError, match="real numbers"):
        cf(np.zeros(3, dtype=complex))
    with pytest.raises(TypeError, match="real numbers"):
        cf(np.array(["a", "b", "c"]))
    with pytest.raises(ValueError, match="method"):
        cf.gradient(np.zeros(3), method="bogus")
    with pytest.raises(TypeError, match="shape"):
        fastgrad.compile(lambda x: x)
    with pytest.raises(ValueError, match="chunk"):
        fastgrad.compile(lambda x: np.sum(x), 3, chunk=0)
    with pytest.raises(ValueError, match="shape"):
        fastgrad.compile(lambda x: np.sum(x), (0,))


def raises_trace(f, shape, match):
    with pytest.raises(TraceError, match=match) as info:
        fastgrad.compile(f, shape)
    assert isinstance(info.value, TypeError)


def test_trace_errors_control_flow():
    def branchy(x):
        if x[0] > 0:
            return np.sum(x)
        return -np.sum(x)

    raises_trace(branchy, 2, r"bool\(\).*np\.where")
    raises_trace(lambda x: float(x[0]) ** 2, 2, r"float\(\)")
    raises_trace(lambda x: np.sum(x[int(x[0])]), 2, r"int\(\)")
    raises_trace(lambda x: np.sum(x[x > 0]), 2, "traced index")
    import math
    raises_trace(lambda x: math.exp(x[0]), 2, r"float\(\)")


def test_trace_errors_unsupported_operations():
    raises_trace(lambda x: np.sum(np.floor(x)), 2, "numpy.floor")
    raises_trace(lambda x: np.sum(np.sort(x)), 2, "sort")
    raises_trace(lambda x: np.linalg.det(x.reshape(2, 2)), 4, "det")
    raises_trace(lambda x: np.add.reduce(x), 2, r"numpy.add.reduce")
    raises_trace(lambda x: np.sum(np.exp(x, out=np.zeros(2))), 2, "out=")
    raises_trace(lambda x: np.sum(x // 2), 2, "floor division")
    raises_trace(lambda x: np.sum(np.asarray(x)), 2, "conversion")
    raises_trace(lambda x: np.sum(np.array([x[0], x[1]])), 2, r"np\.stack")
    raises_trace(lambda x: np.argmax(x) * x[0], 2, "argmax")

    def setitem(x):
        x[0] = 1.0
        return np.sum(x)

    raises_trace(setitem, 2, "item assignment")
    with pytest.raises(ValueError, match="scalar"):
        fastgrad.compile(lambda x: x * 2, 3)
    with pytest.raises(ValueError, match="does not depend on x"):
        fastgrad.compile(lambda x: 3.0, 3)
    with pytest.raises(ValueError, match="broadcast"):
        fastgrad.compile(lambda x: np.sum(x + np.ones(4)), 3)


def test_constant_folding_and_dead_code():
    A = np.arange(4.0).reshape(2, 2)

    def f(x):
        unused = np.exp(x) * 3          # dropped: the output does not use it
        c = np.sum(np.sin(A) @ A)       # constants only: folded while tracing
        return np.sum(x * c)

    cf = fastgrad.compile(f, 2)
    assert len(cf.program.instrs) == 2   # multiply, sum
    c = np.sum(np.sin(A) @ A)
    np.testing.assert_allclose(cf(np.ones(2)), 2 * c, rtol=1e-15)


def test_output_view_and_piecewise_constant():
    cf = fastgrad.compile(lambda x: x[1], 3)
    np.testing.assert_array_equal(cf.gradient(np.array([1.0, 2.0, 3.0])), [0, 1, 0])
    step = fastgrad.compile(lambda x: np.sum(np.where(x > 0, 1.0, -1.0)), 2)
    assert step(np.array([1.0, -1.0])) == 0.0
    np.testing.assert_array_equal(step.gradient(np.array([1.0, -1.0])), [0.0, 0.0])
    np.testing.assert_array_equal(step.hessian(np.array([1.0, -1.0])), np.zeros((2, 2)))


def test_nonfinite_values_propagate():
    cf = fastgrad.compile(lambda x: np.sum(np.log(x)), 2)
    assert np.isnan(cf(np.array([-1.0, 1.0])))
    assert cf(np.array([0.0, 1.0])) == -np.inf
