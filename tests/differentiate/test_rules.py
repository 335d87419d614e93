"""The NumPy structural rules (fastgrad.rules) under gradient and compile.

Every rule runs on both array types: DualArray (``gradient``/``jacobian``/
``hessian``) and the tracer (``compile``: value, dual and reverse gradients,
``hvp``, ``hessian``). Oracles: NumPy's own values, central differences, and
the two front ends against each other. Bad and odd inputs follow
bottleneck's rule: NumPy and fastgrad both raise or neither does, over an
array corpus (empty, 0-d, 1-3 d, NaN and inf, float32 and float64).
"""
import ast
import pathlib

import numpy as np
import pytest
import scipy.special

import fastgrad
from fastgrad import _dual_grad, dual, gradient, hessian, jacobian, jvp, rules
from fastgrad.compiled import TraceError

SRC = pathlib.Path(fastgrad.__file__).parent


def central_jacobian(f, x, h=1e-6):
    x = np.asarray(x, dtype=np.float64)
    cols = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h * max(1.0, abs(x.flat[i]))
        e = e.reshape(x.shape)
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))).ravel() / (2 * e.flat[i]))
    return np.stack(cols, axis=-1).reshape(np.shape(f(x)) + x.shape)


M23 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
LABELS = np.array([2, 0, 1, 2])

# name -> (f, shape of x)
CASES = {
    "sum": (lambda x: np.sum(x) + x.sum(axis=0).sum() + np.sum(x, axis=(0, 1)), (2, 3)),
    "sum_keepdims": (lambda x: (np.sum(x, axis=1, keepdims=True) * x).ravel(), (2, 3)),
    "mean": (lambda x: np.mean(x, axis=0) + x.mean(), (3, 2)),
    "var_std": (lambda x: np.stack([np.var(x), np.std(x, ddof=1)]) + np.var(x, axis=0).sum(),
                (2, 3)),
    "prod": (lambda x: np.prod(x, axis=1) + np.prod(x), (2, 3)),
    "prod_zero": (lambda x: np.prod(x * np.array([1.0, 0.0, 1.0])) + np.prod(x), (3,)),
    "cumsum": (lambda x: np.cumsum(x) + np.cumsum(x.reshape(2, 3), axis=0).ravel()
               + x.reshape(2, 3).cumsum(axis=1).ravel(), (6,)),
    "max_min": (lambda x: np.stack([np.max(x), np.min(x), np.amax(x), np.amin(x), x.max(),
                                    x.min()]), (2, 3)),
    "max_axes": (lambda x: np.concatenate([
        np.max(x, axis=0).ravel(), np.min(x, axis=-1).ravel(), x.max(axis=(0, 2)),
        np.amax(x, axis=1, keepdims=True).ravel(), x.min(axis=(1, 2))]), (2, 3, 2)),
    "logsumexp_pattern": (lambda x: np.max(x, axis=1, keepdims=True) + np.log(np.sum(
        np.exp(x - np.max(x, axis=1, keepdims=True)), axis=1, keepdims=True)), (2, 3)),
    "scipy_logsumexp": (lambda x: np.stack([scipy.special.logsumexp(x),
                                            scipy.special.logsumexp(x[0], b=x[1] ** 2)])
                        + scipy.special.logsumexp(x, axis=0).sum(), (2, 3)),
    "softmax_xent": (lambda x: -np.mean(
        (x - scipy.special.logsumexp(x, axis=1, keepdims=True))[np.arange(4), LABELS]),
        (4, 3)),
    "dot": (lambda x: np.dot(x[:3], x[3:]) + np.dot(M23, x[:3]).sum() + x[:2].dot(M23),
            (6,)),
    "matmul": (lambda x: (x.reshape(2, 3) @ x.reshape(3, 2)).ravel() + (M23 @ x[:3]).sum(),
               (6,)),
    "matmul_batched": (lambda x: (x.reshape(2, 2, 3) @ x.reshape(2, 3, 2)).ravel(), (12,)),
    "inner_vdot_outer": (lambda x: np.concatenate([
        np.inner(x[:3], x[3:]).reshape(1), np.inner(x.reshape(2, 3), M23).ravel(),
        np.vdot(x[:3], x[3:]).reshape(1), np.outer(x[:2], x[2:4]).ravel()]), (6,)),
    "einsum": (lambda x: np.concatenate([
        np.einsum("ij,jk->ik", x[:6].reshape(2, 3), x[6:12].reshape(3, 2)).ravel(),
        np.einsum("ij,j->i", x[:6].reshape(2, 3), x[6:9]),
        np.einsum("i,i->", x[:3], x[3:6]).reshape(1),
        np.einsum("ij,ij->i", x[:6].reshape(2, 3), x[6:12].reshape(2, 3)),
        np.einsum("bij,bjk->bik", x[:12].reshape(2, 2, 3), x[:12].reshape(2, 3, 2)).ravel(),
        np.einsum("ii", x[:4].reshape(2, 2)).reshape(1), np.einsum("ij->ji", x[:6].reshape(2, 3)
                                                                   ).ravel(),
        np.einsum("ij,jk", M23, x[:6].reshape(3, 2)).ravel(),
        np.einsum("i,ij,j->", x[:2], x[2:8].reshape(2, 3), x[9:12]).reshape(1),
        np.einsum("ij,jk,kl->il", x[:4].reshape(2, 2), M23, x[:6].reshape(3, 2)).ravel(),
        np.einsum("ij,jk,kl->il", M23.T, M23, x[:6].reshape(3, 2)).ravel()]),
        (12,)),
    "norm": (lambda x: np.stack([np.linalg.norm(x), np.linalg.norm(x[0], 1)])
             + np.linalg.norm(x, axis=1).sum(), (2, 3)),
    "norm_inf": (lambda x: np.linalg.norm(x, np.inf) + x, (3,)),
    "indexing": (lambda x: np.concatenate([
        x[1:4] * x[[0, 2, 5]], x[::-2], x[-1:], x.reshape(2, 3)[..., 1],
        x.reshape(2, 3)[:, None, 0].ravel(), x[np.array([True, False] * 3)],
        x.reshape(2, 3)[np.arange(2), np.array([2, 0])], x[2:2], x[:0] * 2.0]), (6,)),
    "take": (lambda x: np.concatenate([np.take(x, [5, 0, 0]), x.reshape(2, 3).take([2, 1],
                                                                                axis=1).ravel(),
                                       np.take_along_axis(x.reshape(2, 3), np.array([[2], [0]]),
                                                          axis=1).ravel()]), (6,)),
    "shape": (lambda x: np.concatenate([
        np.reshape(x, (3, 2))[1], np.ravel(x.T), np.transpose(x, (1, 0)).ravel(),
        np.squeeze(x[None]).ravel(), np.expand_dims(x, 0).ravel(), np.swapaxes(x, 0, 1).ravel(),
        np.moveaxis(x, 0, -1).ravel(), np.broadcast_to(x[0], (2, 3)).ravel()]), (2, 3)),
    "structural": (lambda x: np.concatenate([
        np.flip(x), np.roll(x, 2), np.tile(x[:2], 2), np.repeat(x[:2], 2),
        np.diag(x.reshape(2, 3)), np.diagonal(x[:4].reshape(2, 2)),
        np.trace(x[:4].reshape(2, 2)).reshape(1), np.triu(x[:4].reshape(2, 2)).ravel(),
        np.tril(x[:4].reshape(2, 2)).ravel(), np.diag(x[:2]).ravel(), np.diff(x, 2)]), (6,)),
    "stacking": (lambda x: np.concatenate([
        np.concatenate([x[:2], np.array([1.0, 2.0]), x[3:] ** 2]),
        np.stack([x[:3], np.ones(3), x[3:]], axis=1).ravel(), np.hstack([x[:2], x[4]]),
        np.vstack([x[:3], x[3:]]).ravel(), np.concatenate([x.reshape(2, 3), x.reshape(2, 3)],
                                                          axis=None)]), (6,)),
    "where_clip": (lambda x: np.where(x > 0.2, x ** 2, -x) + np.where(x < 0, 1.0, x)
                   + np.clip(x, -0.6, 1.0) + x.clip(min=0.0)
                   + np.maximum(x, 0.5) + np.minimum(x[::-1], x), (6,)),
    "powers": (lambda x: x ** 2 + np.abs(x) ** 0.5 + (x * x + 1.0) ** -1 + x ** 1 + 2.0 ** x,
               (4,)),
}


def point(shape, seed=7):
    return np.random.default_rng(seed).normal(size=shape)


def scalar(f):
    """A curved scalar function of f's output (so Hessians are not zero)."""
    return lambda x: np.sum(np.sin(f(x)))


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_under_dual(name):
    f, shape = CASES[name]
    x = point(shape)
    d = f(dual(x))
    np.testing.assert_allclose(d.value, f(x), rtol=1e-13, atol=1e-14)
    J = jacobian(f, x)
    np.testing.assert_allclose(J, central_jacobian(f, x), rtol=1e-6, atol=1e-7)
    g = scalar(f)
    H = hessian(g, x).reshape(x.size, x.size)
    np.testing.assert_array_equal(H, H.T)
    Hfd = central_jacobian(lambda z: gradient(g, z), x)
    np.testing.assert_allclose(H, Hfd.reshape(H.shape), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_under_compile(name):
    f, shape = CASES[name]
    g = scalar(f)
    x = point(shape)
    cf = fastgrad.compile(g, shape)
    np.testing.assert_allclose(cf(x), g(x), rtol=1e-13, atol=1e-14)
    ref = gradient(g, x)
    scale = max(1.0, np.abs(ref).max())
    np.testing.assert_allclose(cf.gradient(x), ref, rtol=1e-12, atol=1e-13 * scale)
    np.testing.assert_allclose(cf.gradient(x, method="reverse"), ref, rtol=1e-12,
                               atol=1e-13 * scale)
    np.testing.assert_allclose(ref, central_jacobian(g, x), rtol=1e-6, atol=1e-7 * scale)
    H = hessian(g, x).reshape(x.size, x.size)
    hs = max(1.0, np.abs(H).max())
    for method in ("reverse", "hyperdual"):
        np.testing.assert_allclose(cf.hessian(x, method=method), H, rtol=1e-10, atol=1e-11 * hs)
    v = np.linspace(-1.0, 1.0, x.size).reshape(shape)
    np.testing.assert_allclose(cf.hvp(x, v).ravel(), H @ v.ravel(), rtol=1e-10,
                               atol=1e-11 * hs * x.size)


def test_every_function_has_a_case_or_a_reason():
    covered = {"sum", "mean", "var", "std", "prod", "cumsum", "max", "min", "amax", "amin",
               "dot", "vdot", "inner", "outer", "einsum", "matmul", "norm", "reshape", "ravel",
               "transpose", "squeeze", "expand_dims", "broadcast_to", "trace", "take",
               "take_along_axis", "diag", "concatenate", "stack", "hstack", "vstack", "where",
               "clip", "flip", "roll", "tile", "repeat", "diagonal", "moveaxis", "swapaxes",
               "triu", "tril", "diff",
               # constants and metadata: test_like_constructors_and_metadata
               "zeros_like", "ones_like", "empty_like", "full_like", "copy", "shape", "ndim",
               "size", "atleast_1d", "atleast_2d",
               # left-right flips: mirror images of flip, in test_dual.py
               "fliplr", "flipud", "rot90"}
    names = {getattr(f, "__name__", "") for f in rules.FUNCTIONS}
    assert names <= covered, sorted(names - covered)


# ---------------------------------------------------------- the tie rule --
TIES = [
    (np.array([1.0, 3.0, 3.0, 2.0]), 1, 0),
    (np.array([3.0, -1.0, 3.0, -1.0]), 0, 1),
    (np.array([1.0, np.nan, 5.0, np.nan]), 1, 1),
]


@pytest.mark.parametrize("x,imax,imin", TIES)
def test_extremum_derivative_goes_to_the_element_argmax_picks(x, imax, imin):
    assert np.argmax(x) == imax and np.argmin(x) == imin
    for f, i in ((np.max, imax), (np.min, imin), (lambda z: z.max(), imax),
                 (lambda z: np.amin(z), imin)):
        expect = np.zeros(x.size)
        expect[i] = 1.0
        np.testing.assert_array_equal(gradient(f, x), expect)
        cf = fastgrad.compile(f, x.shape)
        np.testing.assert_array_equal(cf.gradient(x), expect)
        np.testing.assert_array_equal(cf.gradient(x, method="reverse"), expect)


def test_extremum_along_an_axis_and_over_several_axes():
    x = np.array([[[1.0, 4.0], [4.0, 0.0]], [[2.0, 2.0], [np.nan, 9.0]]])
    J = jacobian(lambda z: np.max(z, axis=(1, 2)), x).reshape(2, 8)
    # the first maximal element in C order of the reduced block, NaN first
    np.testing.assert_array_equal(np.argmax(J, axis=1), [1, 6])
    J1 = jacobian(lambda z: np.min(z, axis=0), x).reshape(4, 8)
    np.testing.assert_array_equal(np.argmax(J1, axis=1), [0, 5, 6, 3])


# ----------------------------------------------- issue 9, item 10 and 9 --
def test_jvp_of_a_scalar_function_is_0d():
    val, jv = jvp(lambda x: np.sum(x ** 2), np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    assert val.shape == () and jv.shape == ()
    assert jv == 2.0


def test_empty_slices_compile():
    cf = fastgrad.compile(lambda x: x[0] + np.sum(x[:0]), 1)
    assert cf(np.array([2.0])) == 2.0
    np.testing.assert_array_equal(cf.gradient(np.array([2.0])), [1.0])
    cf = fastgrad.compile(lambda x: x[0] * np.sum(x[2:2] ** 2) + x[1] + np.prod(x[1:1]), 3)
    assert cf(np.array([1.0, 2.0, 3.0])) == 3.0
    np.testing.assert_array_equal(cf.gradient(np.array([1.0, 2.0, 3.0]), method="reverse"),
                                  [0.0, 1.0, 0.0])


def test_traced_methods_are_traced_or_raise_trace_error():
    cf = fastgrad.compile(lambda x: x.max() + x.min(), 3)
    assert cf(np.array([1.0, 5.0, 2.0])) == 6.0
    np.testing.assert_array_equal(cf.gradient(np.array([1.0, 5.0, 2.0])), [1.0, 1.0, 0.0])
    with pytest.raises(TraceError, match="argsort"):
        fastgrad.compile(lambda x: np.sum(x[np.argsort(x)]), 3)
    for method in ("argmax", "sort", "cumprod", "any", "nonzero"):
        with pytest.raises(TraceError, match=f"ndarray.{method}"):
            fastgrad.compile(lambda x: getattr(x, method)(), 3)
        with pytest.raises(TypeError, match=f"ndarray.{method}.*central"):
            gradient(lambda x: getattr(x, method)(), np.ones(3))
    with pytest.raises(AttributeError, match="no_such"):
        fastgrad.compile(lambda x: x.no_such, 3)


@pytest.mark.parametrize("shape", [(2.5,), "12", 2.0, True, (2, True), None, [1.5, 2]])
def test_compile_refuses_a_shape_that_is_not_integers(shape):
    with pytest.raises(TypeError, match="shape"):
        fastgrad.compile(lambda x: np.sum(x), shape)
    if shape is not None:
        with pytest.raises(TypeError, match="shape"):
            fastgrad.compile(shape=shape)


def test_compile_refuses_args_that_are_not_a_tuple():
    with pytest.raises(TypeError, match="args"):
        fastgrad.compile(lambda x, a: np.sum(x) * a, 3, args=2.0)


@pytest.mark.parametrize("chunk", [2.0, "4", True])
def test_compile_refuses_a_chunk_that_is_not_an_integer(chunk):
    with pytest.raises(TypeError, match="chunk"):
        fastgrad.compile(lambda x: np.sum(x), 3, chunk=chunk)


@pytest.mark.parametrize("flag", ["vectorized", "full_output"])
def test_gradient_refuses_a_flag_that_is_not_a_bool(flag):
    with pytest.raises(TypeError, match=flag):
        gradient(np.sum, np.ones(2), **{flag: "no"})


def test_scipy_logsumexp_bound_before_the_wrapper_says_how_to_reach_it():
    original = scipy.special.logsumexp.__wrapped__
    with pytest.raises(TypeError, match="after importing fastgrad"):
        gradient(lambda x: original(x), np.ones(3))
    with pytest.raises(TraceError, match="after importing fastgrad"):
        fastgrad.compile(lambda x: original(x), 3)
    assert scipy.special.logsumexp(np.array([0.0, np.log(3.0)])) == pytest.approx(np.log(4.0))


def test_differentiate_imports_nothing_private_from_dual():
    tree = ast.parse((SRC / "differentiate.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "fastgrad.dual":
            assert not [a.name for a in node.names if a.name.startswith("_")]


def test_chunk_rule_is_the_c_drivers():
    for n in (0, 1, 7, 181, 182, 5000):
        assert fastgrad.differentiate.default_chunk_size(n) == _dual_grad.default_chunk(n)


# ---------------------------------------------------- constants, metadata --
def test_like_constructors_and_metadata():
    def f(x):
        z = np.zeros_like(x) + np.ones_like(x) * np.full_like(x, 2.0) + np.empty_like(x) * 0.0
        y = np.copy(x)
        assert np.shape(x) == (3,) and np.ndim(x) == 1 and np.size(x) == 3
        a, b = np.atleast_1d(x[0], x)
        return np.sum(z * y) + np.sum(np.atleast_2d(x)) + a[0] * b[1]
    x = np.array([0.5, 1.5, -2.0])
    g = gradient(f, x)
    np.testing.assert_allclose(g, [2.0 + 1.0 + 1.5, 2.0 + 1.0 + 0.5, 2.0 + 1.0])
    cf = fastgrad.compile(f, 3)
    np.testing.assert_allclose(cf.gradient(x), g, rtol=1e-15)


# ------------------------------------------ both raise or neither does --
def corpus():
    rng = np.random.default_rng(3)
    for dtype in (np.float64, np.float32):
        for shape in [(0,), (), (1,), (5,), (2, 0), (3, 4), (2, 3, 2)]:
            yield rng.normal(size=shape).astype(dtype)
        a = rng.normal(size=(3, 4)).astype(dtype)
        a[1, 2], a[0, 0], a[2, 3] = np.nan, np.inf, -np.inf
        yield a


UNARY_RULES = {
    "sum": np.sum, "sum0": lambda a: np.sum(a, axis=0), "mean": np.mean,
    "mean_last": lambda a: np.mean(a, axis=-1), "prod": np.prod,
    "prod0": lambda a: np.prod(a, axis=0), "cumsum": np.cumsum,
    "cumsum0": lambda a: np.cumsum(a, axis=0), "max": np.max, "min": np.min,
    "max0": lambda a: np.max(a, axis=0), "amin_last": lambda a: np.amin(a, axis=-1),
    "max_method": lambda a: a.max(), "var": np.var, "std0": lambda a: np.std(a, axis=0),
    "ravel": np.ravel, "transpose": np.transpose, "flip": np.flip, "squeeze": np.squeeze,
    "norm": np.linalg.norm, "first": lambda a: a[0], "last_col": lambda a: a[..., -1],
    "diff": np.diff, "trace": np.trace, "outer": lambda a: np.outer(a, a),
    "dot": lambda a: np.dot(a, a), "matmul": lambda a: a @ a,
    "einsum_sum": lambda a: np.einsum("ij->", a), "take": lambda a: np.take(a, [0, -1]),
    "concat": lambda a: np.concatenate([a, a]), "stack": lambda a: np.stack([a, a], axis=-1),
    "logsumexp": lambda a: scipy.special.logsumexp(a), "clip": lambda a: np.clip(a, -0.5, 0.5),
}


def outcome(f, a):
    try:
        with np.errstate(all="ignore"):
            return f(a), None
    except Exception as exc:   # the type is compared below, whatever it is
        return None, exc


# The corpus has empty arrays on purpose: NumPy's own mean/std of nothing warn
# (and return nan), and the dual result must be the same nan.
@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning",
                            "ignore:Degrees of freedom <= 0:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("name", sorted(UNARY_RULES))
def test_dual_raises_where_numpy_raises_and_agrees_elsewhere(name):
    f = UNARY_RULES[name]
    for a in corpus():
        expect, err = outcome(f, a)
        got, derr = outcome(f, dual(a, np.ones(a.shape + (2,), a.dtype)))
        if name == "logsumexp" and a.size == 0:
            # SciPy 1.17 itself fails on some empty shapes (an IndexError in its
            # shape bookkeeping); the sum of nothing is log 0 = -inf
            assert derr is None and np.all(got.value == -np.inf)
            continue
        assert (err is None) == (derr is None), (name, a.shape, a.dtype, err, derr)
        if err is not None:
            assert isinstance(derr, (type(err), TypeError, ValueError, IndexError)), derr
            continue
        expect = np.asarray(expect)
        assert got.value.shape == expect.shape, (name, a.shape)
        if a.dtype == np.float32 and expect.dtype == np.float32:
            assert got.value.dtype == np.float32, (name, a.shape)
        np.testing.assert_allclose(got.value, expect, rtol=2e-6 if a.dtype == np.float32
                                   else 1e-13, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name", sorted(UNARY_RULES))
def test_compile_raises_where_numpy_raises_and_agrees_elsewhere(name):
    f = UNARY_RULES[name]
    g = lambda z: np.sum(f(z))   # noqa: E731
    for a in corpus():
        if a.dtype != np.float64 or a.size == 0:
            continue   # compiled functions take float64 of at least one element
        expect, err = outcome(g, a)
        try:
            cf = fastgrad.compile(g, a.shape)
        except Exception as exc:   # any error NumPy also raises
            if "does not depend on x" in str(exc):
                continue   # f(x) is a constant here (an empty diff): nothing to compile
            assert err is not None, (name, a.shape, exc)
            continue
        assert err is None, (name, a.shape, err)
        with np.errstate(all="ignore"):
            np.testing.assert_allclose(cf(a), expect, rtol=1e-12, atol=1e-13, equal_nan=True)


@pytest.mark.parametrize("kwargs", [{"tol": "1e-6"}, {"tol": True}, {"atol": "0"}])
def test_check_gradient_refuses_tolerances_that_are_not_numbers(kwargs):
    with pytest.raises(TypeError, match=next(iter(kwargs))):
        fastgrad.check_gradient(np.sum, np.ones(2), np.ones(2), **kwargs)


@pytest.mark.parametrize("tag", ["1", 1.0, True])
def test_dual_tag_must_be_an_integer(tag):
    with pytest.raises(TypeError, match="tag"):
        dual(np.ones(2), tag=tag)
    with pytest.raises(TypeError, match="tag"):
        fastgrad.DualArray(np.ones(2), np.ones((2, 1)), tag=tag)


def test_compiled_reexports_the_tracer():
    assert fastgrad.compiled.TracedArray is fastgrad.trace.TracedArray
    assert fastgrad.compiled.TraceError is fastgrad.trace.TraceError
    assert issubclass(TraceError, TypeError)
    assert not hasattr(fastgrad.compiled, "DEFAULT_CHUNK")


def test_ufuncs_map_to_rows_by_binding():
    x = np.array([0.3, -0.7, 1.1])
    f = lambda z: np.sum(scipy.special.erf(z) * scipy.special.erfc(z))   # noqa: E731
    g = gradient(f, x)
    cf = fastgrad.compile(f, 3)
    np.testing.assert_allclose(cf.gradient(x), g, rtol=1e-14)
    np.testing.assert_allclose(g, central_jacobian(f, x), rtol=1e-7)
    # a SciPy ufunc named like a NumPy row is not that row
    with pytest.raises(TypeError, match="expm1"):
        gradient(lambda z: np.sum(scipy.special.expm1(z)), x)
    with pytest.raises(TraceError, match="expm1"):
        fastgrad.compile(lambda z: np.sum(scipy.special.expm1(z)), 3)
