"""compile(f, shape, data=...): data arrays as inputs of the tape, read at
each call; a tape per number of rows, traced once; integer data (labels)
indexing; pickling, threads, minimize(..., data=) and the batch capsule
(called the way the stochastic loop calls it, through a test-only
extension)."""
import pickle

import numpy as np
import pytest

import fastgrad as fg
from fastgrad._tape import SLOT_KINDS
from support.build import load
from support.threads import mismatches_on_threads

TD = load("testing_data")

C = 4        # classes
D = 3        # features


def softmax_ce(w, X, y):
    """Mean softmax cross-entropy of a linear classifier, with NumPy's
    stable max-shift; w is (D, C) flattened, y integer labels."""
    Z = X @ w.reshape(D, C)
    Z = Z - np.max(Z, axis=1, keepdims=True)
    m = X.shape[0]
    return np.mean(np.log(np.sum(np.exp(Z), axis=1)) - Z[np.arange(m), y])


def numpy_ce(w, X, y):
    Z = X @ w.reshape(D, C)
    Z = Z - Z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(len(y)), y]))


def numpy_ce_grad(w, X, y):
    Z = X @ w.reshape(D, C)
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    P[np.arange(len(y)), y] -= 1
    return (X.T @ P / len(y)).ravel()


def central(f, x, h=1e-6):
    e = np.eye(x.size)
    return np.array([(f(x + h * e[i]) - f(x - h * e[i])) / (2 * h) for i in range(x.size)])


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, D))
    y = rng.integers(0, C, 60)
    w = rng.normal(size=D * C)
    return X, y, w


@pytest.fixture(scope="module")
def cf(problem):
    X, y, _ = problem
    return fg.compile(softmax_ce, D * C, data=(X, y))


def test_data_slots_in_the_program(cf):
    kinds = cf.program.slot_kind
    assert kinds[1] == SLOT_KINDS["DATA"] and kinds[2] == SLOT_KINDS["DATA_INT"]


@pytest.mark.parametrize("rows", [60, 17, 1])
def test_softmax_cross_entropy_against_numpy(cf, problem, rows):
    X, y, w = problem
    Xb, yb = X[:rows], y[:rows]
    assert cf(w, Xb, yb) == pytest.approx(numpy_ce(w, Xb, yb), rel=1e-13)
    g = numpy_ce_grad(w, Xb, yb)
    for method in ("dual", "reverse"):
        np.testing.assert_allclose(cf.gradient(w, Xb, yb, method=method), g, rtol=1e-11,
                                   atol=1e-14)
    np.testing.assert_allclose(cf.gradient(w, Xb, yb, method="reverse"),
                               central(lambda v: numpy_ce(v, Xb, yb), w), atol=1e-7)
    v, g2 = cf.value_and_gradient(w, Xb, yb, method="reverse")
    assert v == cf(w, Xb, yb) and np.array_equal(g2, cf.gradient(w, Xb, yb, method="reverse"))


def test_defaults_are_the_compile_time_data(cf, problem):
    X, y, w = problem
    assert cf(w) == cf(w, X, y)
    np.testing.assert_array_equal(cf.gradient(w), cf.gradient(w, X, y))


def test_new_data_same_rows_read_at_each_call(cf, problem):
    X, y, w = problem
    rng = np.random.default_rng(1)
    X2, y2 = rng.normal(size=X.shape), rng.integers(0, C, len(y))
    assert cf(w, X2, y2) == pytest.approx(numpy_ce(w, X2, y2), rel=1e-13)
    assert cf(w, X2, y2) != cf(w, X, y)


def test_second_order_and_jvp_on_data(cf, problem):
    X, y, w = problem
    Xb, yb = X[:9], y[:9]
    v = np.linspace(-1, 1, w.size)
    H = cf.hessian(w, Xb, yb)
    Hfd = central(lambda u: numpy_ce_grad(u, Xb, yb), w).T
    np.testing.assert_allclose(H, Hfd, atol=1e-7)
    np.testing.assert_allclose(cf.hessian(w, Xb, yb, method="hyperdual"), H, atol=1e-13)
    np.testing.assert_allclose(cf.hvp(w, v, Xb, yb), H @ v, atol=1e-13)
    val, jv = cf.jvp(w, v, Xb, yb)
    assert val == cf(w, Xb, yb) and jv == pytest.approx(numpy_ce_grad(w, Xb, yb) @ v, abs=1e-13)


def test_each_row_count_traced_once(problem):
    X, y, w = problem
    calls = []

    def f(w, X, y):
        calls.append(X.shape[0])
        return softmax_ce(w, X, y)

    cf = fg.compile(f, D * C, data=(X, y))
    for rows in (5, 7, 5, 60, 7, 3, 5):
        cf.gradient(w, X[:rows], y[:rows], method="reverse")
    assert calls == [60, 5, 7, 3]


@pytest.mark.parametrize("bad, match", [
    (lambda X, y: (X[:, :2], y), r"^X has shape \(60, 2\)"),
    (lambda X, y: (X.astype(np.float32), y), r"^X has dtype float32"),
    (lambda X, y: (X, y.astype(np.float64)), r"^y has dtype float64"),
    (lambda X, y: (X, y[:5]), r"^y has 5 rows but X has 60"),
    (lambda X, y: (X, y.reshape(-1, 1)), r"^y has shape \(60, 1\)"),
    (lambda X, y: (X[:0], y[:0]), r"^X has no rows"),
    (lambda X, y: (X, y + C), r"^y holds \d+, outside \[-4, 4\)"),
])
def test_wrong_data_names_the_argument(cf, problem, bad, match):
    X, y, w = problem
    with pytest.raises(ValueError, match=match):
        cf.gradient(w, *bad(X, y))


def test_wrong_number_of_data_arrays(cf, problem):
    X, y, w = problem
    with pytest.raises(TypeError, match="expected 2 data arrays"):
        cf(w, X)
    plain = fg.compile(lambda x: np.sum(x ** 2), 3)
    with pytest.raises(TypeError, match="without data="):
        plain(np.ones(3), X)


def test_non_native_and_strided_data_are_converted(cf, problem):
    X, y, w = problem
    Xs = np.asfortranarray(X)
    Xb = X.astype(X.dtype.newbyteorder(">"))
    assert cf(w, Xs, y) == cf(w, Xb, y) == cf(w, X, y)
    assert cf(w, X, y.astype(np.int64).tolist()) == cf(w, X, y)


def test_negative_labels_count_from_the_end(cf, problem):
    X, y, w = problem
    assert cf(w, X, y - C) == cf(w, X, y)


def test_integer_data_as_values_and_take():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 3))
    t = (rng.random(40) < 0.5).astype(np.int64)
    codes = rng.integers(0, 5, 40)

    def f(w, X, t, codes):
        z = X @ w[:3] + np.take(w[3:], codes) + codes / 4
        return np.mean(np.logaddexp(0, z) - t * z) + np.sum(np.where(t == 1, 0.1, 0.0))

    def ref(w, X, t, codes):
        z = X @ w[:3] + w[3:][codes] + codes / 4
        return np.mean(np.logaddexp(0, z) - t * z) + 0.1 * np.sum(t == 1)

    cf = fg.compile(f, 8, data=(X, t, codes))
    w = rng.normal(size=8)
    for rows in (40, 11):
        args = (X[:rows], t[:rows], codes[:rows])
        assert cf(w, *args) == pytest.approx(ref(w, *args), rel=1e-13)
        np.testing.assert_allclose(cf.gradient(w, *args, method="reverse"),
                                   central(lambda v: ref(v, *args), w), atol=1e-7)
        np.testing.assert_allclose(cf.gradient(w, *args), cf.gradient(w, *args, method="reverse"),
                                   rtol=1e-12, atol=1e-15)


def test_rows_of_a_parameter_matrix_by_labels():
    """An embedding lookup: W[labels] takes whole rows."""
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 6, 25)
    f = lambda w, lab: np.sum(np.tanh(w.reshape(6, 2)[lab]) ** 2)
    cf = fg.compile(f, 12, data=(labels,))
    w = rng.normal(size=12)
    ref = lambda v, lab: np.sum(np.tanh(v.reshape(6, 2)[lab]) ** 2)
    assert cf(w, labels[:7]) == pytest.approx(ref(w, labels[:7]), rel=1e-13)
    np.testing.assert_allclose(cf.gradient(w, labels[:7], method="reverse"),
                               central(lambda v: ref(v, labels[:7]), w), atol=1e-7)


def test_pickle_keeps_default_data_and_new_rows(cf, problem):
    X, y, w = problem
    cf2 = pickle.loads(pickle.dumps(cf))
    assert cf2(w) == cf(w)
    np.testing.assert_array_equal(cf2.gradient(w, X[:13], y[:13], method="reverse"),
                                  cf.gradient(w, X[:13], y[:13], method="reverse"))
    lam = fg.compile(lambda w, X, y: softmax_ce(w, X, y), D * C, data=(X, y))
    lam2 = pickle.loads(pickle.dumps(lam))   # by cloudpickle when installed, else traced sizes
    assert lam2(w) == lam(w)


def test_threads_with_different_data(cf, problem):
    X, y, w = problem
    rng = np.random.default_rng(5)
    batches = [(rng.normal(size=(r, D)), rng.integers(0, C, r)) for r in (3, 8, 60, 8, 21, 3)]
    fresh = fg.compile(softmax_ce, D * C, data=(X, y))
    expect = [(numpy_ce(w, *b), numpy_ce_grad(w, *b)) for b in batches]

    def matches(j):
        v, g = fresh.value_and_gradient(w, *batches[j], method="reverse")
        return abs(v - expect[j][0]) <= 1e-12 and np.abs(g - expect[j][1]).max() <= 1e-12

    assert mismatches_on_threads(matches, len(batches), count=6, rounds=20) == []


@pytest.mark.parametrize("method", ["lbfgs", "newton", "newton-cg", "adam", "gd"])
def test_minimize_on_data_equals_the_closed_over_function(problem, method):
    X, y, _ = problem
    small = fg.compile(softmax_ce, D * C, data=(X[:5], y[:5]))
    closed = fg.compile(lambda w: softmax_ce(w, X, y), D * C)
    kw = dict(method=method, maxiter=50, tol=1e-10)
    r1 = fg.minimize(small, np.zeros(D * C), data=(X, y), **kw)
    r2 = fg.minimize(closed, np.zeros(D * C), **kw)
    np.testing.assert_allclose(r1.x, r2.x, rtol=1e-12, atol=1e-14)
    assert r1.nit == r2.nit and r1.fun == pytest.approx(r2.fun, rel=1e-13)
    r3 = fg.minimize(softmax_ce, np.zeros(D * C), data=(X, y), **kw)   # a Python callable
    assert r3.fun == pytest.approx(r2.fun, rel=1e-6)


def test_with_data_rebinds_the_capsules(cf, problem):
    X, y, w = problem
    other = cf.with_data(X[:10], y[:10])
    assert other(w) == cf(w, X[:10], y[:10])
    assert cf(w) == cf(w, X, y)          # the original keeps its defaults
    with pytest.raises(ValueError, match="^X has shape"):
        cf.with_data(X[:, :1], y)


def test_batch_capsule(cf, problem):
    X, y, w = problem
    cap = cf._fg_batch_capsule([8, 60 % 8, 60])
    n, n_data, row_bytes = TD.batch_layout(cap)
    assert (n, n_data, row_bytes) == (D * C, 2, [D * 8, 8])
    Xc, yc = np.ascontiguousarray(X), np.ascontiguousarray(y, dtype=np.int64)
    for start, rows in ((0, 8), (8, 8), (56, 4), (0, 60)):
        st, value, g = TD.call_batch_capsule(cap, w, (Xc, yc), start, rows)
        assert st == 0
        sl = slice(start, start + rows)
        assert value == cf(w, X[sl], y[sl])
        np.testing.assert_array_equal(g, cf.gradient(w, X[sl], y[sl], method="reverse"))
    st, value, g = TD.call_batch_capsule(cap, w, (Xc, yc), 0, 8, with_grad=False)
    assert st == 0 and value == cf(w, X[:8], y[:8]) and np.isnan(g).all()
    st, _, g = TD.call_batch_capsule(cap, w, (Xc, yc), 0, 5)   # not prepared: a status
    assert st != 0 and np.isnan(g).all()
    bad = yc.copy()
    bad[3] = 99                                                  # a label out of range
    st, _, _ = TD.call_batch_capsule(cap, w, (Xc, bad), 0, 8)
    assert st != 0


def test_batch_capsule_refusals(cf):
    plain = fg.compile(lambda x: np.sum(x ** 2), 3)
    with pytest.raises(TypeError, match="without data="):
        plain._fg_batch_capsule([4])
    with pytest.raises(ValueError, match="row_counts"):
        cf._fg_batch_capsule([0])


def test_tape_on_data_against_the_reference_interpreter(problem):
    """The C VM's TAKE, CAST and data slots against the NumPy interpreter
    (fastgrad.reference.compiled) in every mode."""
    from fastgrad.reference import compiled as ref
    X, y, w = problem

    def f(w, X, y):
        return softmax_ce(w, X, y) + np.sum(np.tanh(w[:5]) * y[:5]) + np.take(w, y[5:8]) @ y[:3]

    cf = fg.compile(f, D * C, data=(X, y))
    for rows in (60, 8):
        Xb, yb = X[:rows], y[:rows]
        prog = cf.with_data(Xb, yb).program
        v, g, h = ref._run(prog, w, 2, data=(Xb, yb))
        rv, rg = ref._adjoint(prog, w, data=(Xb, yb))
        assert cf(w, Xb, yb) == pytest.approx(v, rel=1e-13) and rv == pytest.approx(v, rel=1e-13)
        np.testing.assert_allclose(cf.gradient(w, Xb, yb), g, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(cf.gradient(w, Xb, yb, method="reverse"), rg, rtol=1e-12,
                                   atol=1e-14)
        np.testing.assert_allclose(cf.hessian(w, Xb, yb), h, rtol=1e-10, atol=1e-13)
