"""minimize(cf, x0, data=(X, y), batch_size=B, epochs=E): the minibatch loop in C.

Oracles: the documented Python loop (the same permutations of
``numpy.random.default_rng(seed)``, the optimizer classes fastgrad.SGD /
Adam / AdamW stepping on the batch gradient), the plain-NumPy twin
``fastgrad.reference.stochastic.minimize_batches`` for every first-order
method, NumPy's least-squares solution (Robbins-Monro convergence), and
the bad-argument cases (a clear exception naming the argument, nothing
modified). The objectives are the test-only C batch objectives of
tests/support/testing_stochastic.pyx (least squares, logistic).
"""
import math

import numpy as np
import pytest

import fastgrad as fg
from fastgrad import schedules
from fastgrad.reference.stochastic import minimize_batches as ref_minimize_batches
from fastgrad.stochastic import STOCHASTIC_METHODS
from support.build import load

S = load("testing_stochastic")   # the C batch objectives (test-only extension)

M, D = 103, 4                    # rows (not a multiple of the batch sizes below), features


def regression(seed=0, m=M, d=D, noise=0.1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, d))
    w = rng.normal(size=d)
    return X, X @ w + noise * rng.normal(size=m)


def classification(seed=0, m=M, d=D):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, d))
    return X, (X @ rng.normal(size=d) + 0.5 * rng.normal(size=m) > 0).astype(np.int64)


def python_loop(cf, x0, X, y, opt_cls, batch_size, epochs, shuffle=True, seed=None, **kw):
    """The documented loop: epoch e's order is the e-th permutation of
    default_rng(seed); one optimizer step per batch, in place."""
    x = np.array(x0, dtype=np.float64)
    opt = opt_cls(x, **kw)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
        for k in range(0, len(X), batch_size):
            rows = order[k:k + batch_size]
            opt.step(cf.gradient(x, X[rows], y[rows]))
    return x


# ------------------------------------------------- the documented Python loop --

CLASS_CASES = [
    ("gd", fg.SGD, {}),
    ("momentum", fg.SGD, dict(momentum=0.9)),
    ("nesterov", fg.SGD, dict(momentum=0.8)),
    ("adam", fg.Adam, {}),
    ("adam", fg.Adam, dict(betas=(0.8, 0.9), amsgrad=True, weight_decay=0.01)),
    ("adamw", fg.AdamW, dict(weight_decay=0.05)),
]


@pytest.mark.parametrize("method,cls,kw", CLASS_CASES)
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("lr", [0.02, schedules.inverse_time(0.05, 0.1)])
def test_c_loop_equals_the_optimizer_class_loop(method, cls, kw, shuffle, lr):
    X, y = regression(1)
    cf = S.least_squares(D)
    x0 = np.linspace(-1, 1, D)
    res = fg.minimize(cf, x0, data=(X, y), batch_size=16, epochs=7, shuffle=shuffle, seed=42,
                      method=method, lr=lr, **kw)
    ckw = {k: v for k, v in kw.items() if k != "nesterov"}
    if method == "nesterov":
        ckw["nesterov"] = True
    x = python_loop(cf, x0, X, y, cls, 16, 7, shuffle, 42, lr=lr, **ckw)
    assert res.success and res.status == 10 and res.nit == 7 * 7 and res.epochs == 7
    np.testing.assert_allclose(res.x, x, rtol=1e-13, atol=1e-15)
    f, g = cf.value_and_gradient(res.x, X, y)
    assert res.fun == f
    np.testing.assert_array_equal(res.jac, g)
    assert res.grad_norm == pytest.approx(np.linalg.norm(g), rel=1e-14)


@pytest.mark.parametrize("method", ["gd", "momentum"])
def test_sgd_equals_the_class_loop_bit_for_bit(method):
    """SGD's update has no square root or power: the same bits."""
    X, y = classification(3)
    cf = S.logistic(D)
    kw = dict(momentum=0.9) if method == "momentum" else {}
    res = fg.minimize(cf, np.zeros(D), data=(X, y), batch_size=10, epochs=5, seed=7,
                      method=method, lr=0.3, **kw)
    x = python_loop(cf, np.zeros(D), X, y, fg.SGD, 10, 5, True, 7, lr=0.3, **kw)
    np.testing.assert_array_equal(res.x, x)


# ------------------------------------------------------- the reference twin --

OPTIONS = {
    "gd": dict(weight_decay=0.01),
    "momentum": dict(momentum=0.5, dampening=0.1),
    "nesterov": {},
    "adam": dict(betas=(0.85, 0.95)),
    "adamw": {},
    "rmsprop": dict(momentum=0.3, centered=True),
    "adagrad": dict(lr_decay=0.01, initial_accumulator_value=0.1),
}


@pytest.mark.parametrize("method", STOCHASTIC_METHODS)
@pytest.mark.parametrize("batch_size,shuffle", [(16, True), (1, True), (32, False),
                                                (500, True)])
def test_every_first_order_method_equals_the_reference_twin(method, batch_size, shuffle):
    X, y = classification(5)
    cf = S.logistic(D)
    kw = dict(OPTIONS.get(method, {}), lr=0.05)
    res = fg.minimize(cf, np.full(D, 0.1), data=(X, y), batch_size=batch_size, epochs=3,
                      shuffle=shuffle, seed=3, method=method, record=True, **kw)
    ref = ref_minimize_batches(cf, np.full(D, 0.1), data=(X, y), batch_size=batch_size,
                               epochs=3, shuffle=shuffle, seed=3, method=method, record=True,
                               **kw)
    nb = math.ceil(M / min(batch_size, M))
    assert res.nit == ref["nit"] == 3 * nb and res.status == ref["status"] == 10
    np.testing.assert_allclose(res.x, ref["x"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.fun, ref["fun"], rtol=1e-12)
    np.testing.assert_allclose(res.history["epoch_fun"], ref["history"]["epoch_fun"],
                               rtol=1e-12)
    np.testing.assert_allclose(res.history["fun"], ref["history"]["fun"], rtol=1e-12)


def test_the_objective_is_prepared_for_the_batch_and_full_row_counts():
    X, y = regression()
    cf = S.least_squares(D)
    fg.minimize(cf, np.zeros(D), data=(X, y), batch_size=10, epochs=1)
    assert cf.prepared == (3, 10, 103)
    fg.minimize(cf, np.zeros(D), data=(X, y), batch_size=200, epochs=1)
    assert cf.prepared == (103,)
    fg.minimize(cf, np.zeros(D), data=(X[:100], y[:100]), batch_size=25, epochs=1)
    assert cf.prepared == (25, 100)


# ------------------------------------------------------------------ seeds --

def test_same_seed_same_bits_other_seed_other_path():
    X, y = regression(2)
    cf = S.least_squares(D)
    run = lambda **kw: fg.minimize(cf, np.zeros(D), data=(X, y), batch_size=8, epochs=4,
                                   method="adam", lr=0.05, record=True, **kw)
    a, b, c = run(seed=123), run(seed=123), run(seed=124)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.history["fun"], b.history["fun"])
    assert not np.array_equal(a.x, c.x)
    # a Generator or SeedSequence is taken as default_rng takes it
    d = run(seed=np.random.default_rng(123))
    e = run(seed=np.random.SeedSequence(123))
    np.testing.assert_array_equal(a.x, d.x)
    np.testing.assert_array_equal(a.x, e.x)
    # without shuffling the seed plays no part
    np.testing.assert_array_equal(run(seed=1, shuffle=False).x, run(seed=2, shuffle=False).x)
    assert np.all(np.isfinite(run(seed=None).x))


# ------------------------------------------------- convergence (Robbins-Monro) --

def test_robbins_monro_sgd_converges_to_the_least_squares_solution():
    """SGD with B = 1 and lr_t = lr0 / (1 + decay (t - 1)) (sum lr = inf,
    sum lr^2 < inf) approaches the minimizer of the mean squared error; the
    error shrinks as the epochs grow."""
    X, y = regression(4, m=200, d=3, noise=0.5)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    cf = S.least_squares(3)
    errors = []
    for epochs in (2, 20, 200):
        res = fg.minimize(cf, np.zeros(3), data=(X, y), batch_size=1, epochs=epochs,
                          method="gd", lr=schedules.inverse_time(0.1, 0.01), seed=0)
        errors.append(np.linalg.norm(res.x - w_star))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 2e-3
    assert res.grad_norm < 2e-3


# ---------------------------------------------------- counting and stopping --

def test_nit_counts_updates_and_maxiter_stops_mid_epoch():
    X, y = regression()
    cf = S.least_squares(D)
    kw = dict(data=(X, y), batch_size=10, method="adam", lr=0.01, seed=0, record=True)
    full = fg.minimize(cf, np.zeros(D), epochs=3, **kw)
    assert full.nit == 33 and full.epochs == 3 and full.status == 10 and full.success
    assert full.message == "ran the requested epochs"
    part = fg.minimize(cf, np.zeros(D), epochs=3, maxiter=15, **kw)
    assert part.nit == 15 and part.epochs == 1 and part.status == 1 and not part.success
    np.testing.assert_array_equal(part.history["fun"], full.history["fun"][:15])
    assert len(part.history["epoch_fun"]) == 1
    # maxiter alone: epochs without end
    upd = fg.minimize(cf, np.zeros(D), maxiter=40, **kw)
    assert upd.nit == 40 and upd.epochs == 3 and upd.status == 1
    # maxiter at an epoch boundary of the last epoch: the epochs ran
    assert fg.minimize(cf, np.zeros(D), epochs=2, maxiter=22, **kw).status == 10
    zero = fg.minimize(cf, np.linspace(0, 1, D), epochs=0, **kw)
    assert zero.nit == 0 and zero.success
    assert zero.fun == cf(np.linspace(0, 1, D), X, y)


def test_record_holds_the_full_data_loss_after_each_epoch():
    X, y = regression()
    cf = S.least_squares(D)
    xs = []
    res = fg.minimize(cf, np.zeros(D), data=(X, y), batch_size=20, epochs=4, method="adam",
                      lr=0.1, seed=5, record=True, callback=lambda r: xs.append(r.x.copy()))
    assert len(res.history["epoch_fun"]) == 4 and len(res.history["fun"]) == res.nit == 24
    for loss, x in zip(res.history["epoch_fun"], xs):
        assert loss == cf(x, X, y)
    assert res.history["epoch_fun"][-1] == res.fun
    assert np.all(np.diff(res.history["epoch_fun"]) < 0)


def test_callback_runs_per_epoch_and_can_stop():
    X, y = regression()
    cf = S.least_squares(D)
    seen = []

    def callback(r):
        seen.append((r.epoch, r.nit, r.fun, r.x.shape))
        return r.epoch == 3

    res = fg.minimize(cf, np.zeros(D), data=(X, y), batch_size=50, epochs=10, lr=0.1,
                      callback=callback)
    assert [s[0] for s in seen] == [1, 2, 3] and [s[1] for s in seen] == [3, 6, 9]
    assert res.status == 3 and res.nit == 9 and res.epochs == 3 and not res.success
    assert all(np.isfinite(s[2]) and s[3] == (D,) for s in seen)
    every = []
    fg.minimize(cf, np.zeros(D), data=(X, y), batch_size=50, epochs=5,
                callback=lambda r: every.append(r.epoch), callback_every=2)
    assert every == [2, 4]

    def stop(r):
        raise StopIteration

    assert fg.minimize(cf, np.zeros(D), data=(X, y), batch_size=50, epochs=5,
                       callback=stop).status == 3

    def boom(r):
        raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        fg.minimize(cf, np.zeros(D), data=(X, y), batch_size=50, epochs=5, callback=boom)


def test_progress_line_per_epoch(capsys):
    X, y = regression()
    fg.minimize(S.least_squares(D), np.zeros(D), data=(X, y), batch_size=50, epochs=3,
                progress=True)
    err = capsys.readouterr().err
    assert "epoch 1/3" in err and "epoch 3/3" in err and "rows/s" in err and "loss" in err
    assert err.endswith("\n")


def test_divergence_stops_with_the_last_finite_x():
    X, y = regression()
    X = X * 1e3
    cf = S.least_squares(D)
    res = fg.minimize(cf, np.zeros(D), data=(X, y), batch_size=10, epochs=50, method="gd",
                      lr=10.0, seed=0)
    assert res.status == 2 and not res.success and "diverged" in res.message
    assert np.all(np.isfinite(res.x)) and res.nit < 50 * 11
    ref = ref_minimize_batches(cf, np.zeros(D), data=(X, y), batch_size=10, epochs=50,
                               method="gd", lr=10.0, seed=0)
    assert ref["status"] == 2 and ref["nit"] == res.nit
    np.testing.assert_allclose(res.x, ref["x"], rtol=1e-12)


def test_objective_error_stops_the_run():
    X, y = regression()
    cf = S.least_squares(D)
    cf.fail_at = 5
    res = fg.minimize(cf, np.zeros(D), data=(X, y), batch_size=10, epochs=3, lr=0.1)
    assert res.status == 4 and res.nit == 4 and not res.success


def test_schedule_counts_updates_and_bad_values_stop():
    X, y = regression()
    cf = S.least_squares(D)
    steps = []
    fg.minimize(cf, np.zeros(D), data=(X, y), batch_size=40, epochs=2,
                lr=lambda t: steps.append(t) or 0.01)
    assert steps == list(range(1, 7))
    res = fg.minimize(cf, np.zeros(D), data=(X, y), batch_size=40, epochs=2,
                      lr=lambda t: -1.0 if t == 4 else 0.01)
    assert res.status == 6 and res.nit == 3


def test_bounds_project_every_update():
    X, y = regression()
    cf = S.least_squares(D)
    lb, ub = np.full(D, -0.2), np.full(D, 0.3)
    xs = []
    res = fg.minimize(cf, np.zeros(D), data=(X, y), batch_size=8, epochs=5, method="adam",
                      lr=0.1, bounds=(lb, ub), seed=1, callback=lambda r: xs.append(r.x))
    assert all(np.all((x >= lb) & (x <= ub)) for x in xs + [res.x])
    ref = ref_minimize_batches(cf, np.zeros(D), data=(X, y), batch_size=8, epochs=5,
                               method="adam", lr=0.1, bounds=(lb, ub), seed=1)
    np.testing.assert_allclose(res.x, ref["x"], rtol=1e-13)


def test_maximize_and_integer_labels_of_any_width():
    X, y = classification(8)
    cf = S.logistic(D)
    kw = dict(batch_size=16, epochs=2, method="adam", lr=0.05, seed=2)
    a = fg.minimize(cf, np.zeros(D), data=(X, y), **kw)
    b = fg.minimize(cf, np.zeros(D), data=(X, y.astype(np.int32)), **kw)
    c = fg.minimize(cf, np.zeros(D), data=[X.tolist(), y.astype(np.uint8)], **kw)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.x, c.x)
    up = fg.minimize(cf, np.zeros(D), data=(X, y), maximize=True, **kw)
    assert up.fun > cf(np.zeros(D), X, y) > a.fun


# ------------------------------------------------------------- bad arguments --

def _args():
    X, y = regression()
    return S.least_squares(D), np.zeros(D), X, y


@pytest.mark.parametrize("method", ["newton", "lbfgs", "bfgs", "cg", "newton-cg"])
def test_other_methods_raise(method):
    cf, x0, X, y = _args()
    with pytest.raises(ValueError, match="batch_size.*first-order"):
        fg.minimize(cf, x0, data=(X, y), batch_size=8, epochs=1, method=method)


@pytest.mark.parametrize("kw,exc,match", [
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(batch_size=-3), ValueError, "batch_size"),
    (dict(batch_size=True), TypeError, "batch_size"),
    (dict(batch_size=2.0), TypeError, "batch_size"),
    (dict(batch_size="8"), TypeError, "batch_size"),
    (dict(epochs=-1), ValueError, "epochs"),
    (dict(epochs=1.5), TypeError, "epochs"),
    (dict(epochs=None), ValueError, "epochs"),
    (dict(maxiter=-1), ValueError, "maxiter"),
    (dict(shuffle=1), TypeError, "shuffle"),
    (dict(seed=True), TypeError, "seed"),
    (dict(seed=1.5), TypeError, "seed"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(record="yes"), TypeError, "record"),
    (dict(callback=3), TypeError, "callback"),
    (dict(callback_every=0), ValueError, "callback_every"),
    (dict(jac=lambda x: x), ValueError, "jac"),
    (dict(maxfun=10), ValueError, "maxfun"),
    (dict(line_search="armijo"), ValueError, "line_search"),
    (dict(lr=-0.1), ValueError, "lr"),
    (dict(betas=(0.9, 1.5)), ValueError, "betas"),
    (dict(momentum=0.9), TypeError, "momentum"),
])
def test_bad_arguments_name_themselves(kw, exc, match):
    cf, x0, X, y = _args()
    args = dict(data=(X, y), batch_size=8, epochs=1, method="adam")
    args.update(kw)
    X0, y0 = X.copy(), y.copy()
    with pytest.raises(exc, match=match):
        fg.minimize(cf, x0, **args)
    np.testing.assert_array_equal(x0, np.zeros(D))
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_bad_data_and_functions():
    cf, x0, X, y = _args()
    with pytest.raises(ValueError, match=r"data\[1\] has 100 rows but data\[0\] has 103"):
        fg.minimize(cf, x0, data=(X, y[:100]), batch_size=8, epochs=1)
    with pytest.raises(TypeError, match="data must be a non-empty tuple"):
        fg.minimize(cf, x0, data=X, batch_size=8, epochs=1)
    with pytest.raises(TypeError, match="data must be a non-empty tuple"):
        fg.minimize(cf, x0, data=(), batch_size=8, epochs=1)
    with pytest.raises(ValueError, match="no rows"):
        fg.minimize(cf, x0, data=(X[:0], y[:0]), batch_size=8, epochs=1)
    with pytest.raises(ValueError, match="first axis"):
        fg.minimize(cf, x0, data=(X, 1.0), batch_size=8, epochs=1)
    with pytest.raises(TypeError, match=r"data\[0\]"):
        fg.minimize(cf, x0, data=(X.astype(complex), y), batch_size=8, epochs=1)
    with pytest.raises(TypeError, match=r"data\[1\]"):
        fg.minimize(cf, x0, data=(X, y > 0), batch_size=8, epochs=1)
    with pytest.raises(ValueError, match=r"data\[0\] has rows of 24 bytes"):
        fg.minimize(cf, x0, data=(X[:, :3], y), batch_size=8, epochs=1)
    with pytest.raises(ValueError, match="data has 3 arrays"):
        fg.minimize(cf, x0, data=(X, y, y), batch_size=8, epochs=1)
    with pytest.raises(ValueError, match="x0 has 5 elements"):
        fg.minimize(cf, np.zeros(5), data=(X, y), batch_size=8, epochs=1)
    with pytest.raises(ValueError, match="x0"):
        fg.minimize(cf, np.array([0, np.nan, 0, 0]), data=(X, y), batch_size=8, epochs=1)
    with pytest.raises(TypeError, match="compiled function with data"):
        fg.minimize(lambda x: float(x @ x), x0, data=(X, y), batch_size=8, epochs=1)
    cf_plain = fg.compile(lambda x: (x ** 2).sum(), D)
    with pytest.raises(TypeError, match="compiled without data"):
        fg.minimize(cf_plain, x0, data=(X, y), batch_size=8, epochs=1)


# ------------------------------------------- a function compiled with data --

def softmax_loss(w, X, y):
    """Mean cross-entropy of a linear softmax classifier, 3 classes."""
    W = w.reshape(X.shape[1], 3)
    Z = X @ W
    zmax = Z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(Z - zmax).sum(axis=1)) + zmax[:, 0]
    return np.mean(lse - Z[np.arange(len(y)), y])


@pytest.mark.parametrize("method,cls,kw", [("adam", fg.Adam, {}), ("gd", fg.SGD, {}),
                                           ("momentum", fg.SGD, dict(momentum=0.9))])
@pytest.mark.parametrize("shuffle", [True, False])
def test_compiled_function_with_data_equals_the_python_loop(method, cls, kw, shuffle):
    """The documented loop with cf.gradient(x, X[rows], y[rows]) per batch."""
    rng = np.random.default_rng(9)
    X = rng.normal(size=(90, 5))
    y = rng.integers(0, 3, size=90)
    cf = fg.compile(softmax_loss, 15, data=(X, y))
    x0 = 0.1 * rng.normal(size=15)
    res = fg.minimize(cf, x0, data=(X, y), batch_size=16, epochs=4, shuffle=shuffle, seed=11,
                      method=method, lr=0.05, record=True, **kw)
    x = python_loop(cf, x0, X, y, cls, 16, 4, shuffle, 11, lr=0.05, **kw)
    np.testing.assert_allclose(res.x, x, rtol=1e-12, atol=1e-14)
    assert res.fun == pytest.approx(cf(res.x, X, y), rel=1e-14)
    assert res.history["epoch_fun"][-1] == pytest.approx(res.fun, rel=1e-14)
    assert res.history["epoch_fun"][-1] < res.history["epoch_fun"][0] < cf(x0, X, y)


def test_compiled_function_checks_its_data_before_c_runs():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(30, 5))
    y = rng.integers(0, 3, size=30)
    cf = fg.compile(softmax_loss, 15, data=(X, y))
    bad = y.copy()
    bad[17] = 3                       # indexes an axis of length 3
    with pytest.raises(ValueError, match="y holds 3"):
        fg.minimize(cf, np.zeros(15), data=(X, bad), batch_size=8, epochs=1)
    with pytest.raises(ValueError, match="dtype"):
        fg.minimize(cf, np.zeros(15), data=(X, y.astype(float)), batch_size=8, epochs=1)
    with pytest.raises(ValueError, match="shape"):
        fg.minimize(cf, np.zeros(15), data=(X[:, :4], y), batch_size=8, epochs=1)
