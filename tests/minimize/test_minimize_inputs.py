"""Bad input to fastgrad.minimize: a clear exception naming the argument, no
silent coercion, nothing run; and the inputs it must accept (NumPy scalars,
0-d arrays) the way the optimizer classes accept them."""
import subprocess
import sys

import numpy as np
import pytest

import fastgrad as fg


def seed_f(x):
    return 3 * x[0] ** 2 + x[1] ** 2


def seed_grad(x):
    return np.array([6 * x[0], 2 * x[1]])


def run(**kw):
    return fg.minimize(seed_f, [2.0, 4.0], jac=seed_grad, **kw)


def test_compiled_function_of_another_size_is_refused_before_anything():
    """x0's size is checked against the compiled function's before its
    workspace is sized. The issue's case (a 2^61-element function) is refused
    with a ValueError, by compile or by minimize, never a crash; and a
    mismatch alone is refused by minimize naming x0."""
    code = ("import numpy as np, fastgrad as fg\n"
            "try:\n"
            "    fg.minimize(fg.compile(lambda x: np.sum(x * x), 2**61), np.zeros(2))\n"
            "except ValueError as e:\n"
            "    print('ValueError', e)\n"
            "cf = fg.compile(lambda x: np.sum(x * x), 10)\n"
            "try:\n"
            "    fg.minimize(cf, np.zeros(2))\n"
            "except ValueError as e:\n"
            "    print('ValueError', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("ValueError") for line in lines), out.stdout
    assert "x0 has 2 elements" in lines[1]


@pytest.mark.parametrize("name,value", [
    ("lr", "0.1"), ("lr", True), ("tol", "1e-3"), ("tol", False), ("ftol", "1"),
    ("maxiter", 10.0), ("maxiter", "10"), ("maxiter", True), ("maxfun", 5.5),
    ("callback_every", 2.0), ("maximize", "no"), ("maximize", 1), ("record", "yes"),
    ("progress", 0),
])
def test_run_arguments_of_the_wrong_type_are_refused(name, value):
    with pytest.raises(TypeError, match=name):
        run(method="gd", **{name: value})


@pytest.mark.parametrize("method,name,value", [
    ("adam", "betas", ("0.9", 0.999)), ("adam", "betas", 0.9), ("adam", "eps", "1e-8"),
    ("adam", "amsgrad", "no"), ("adam", "amsgrad", 1), ("rmsprop", "centered", "yes"),
    ("momentum", "momentum", True), ("adagrad", "lr_decay", "0"),
    ("newton", "newton_mu0", "1e-3"), ("adam", "weight_decay", [0.1]),
])
def test_method_options_of_the_wrong_type_are_refused(method, name, value):
    with pytest.raises(TypeError, match=name.split("[")[0]):
        run(method=method, **{name: value})


def test_maxiter_beyond_int64_names_maxiter():
    with pytest.raises(ValueError, match="maxiter"):
        run(method="gd", maxiter=2 ** 63)
    with pytest.raises(ValueError, match="maxfun"):
        run(method="gd", maxfun=0)


def test_zero_d_numpy_hyperparameters_are_accepted_like_the_optimizer_classes():
    """fastgrad.Adam takes np.float64(0.1) and np.array(0.1); so does minimize,
    with the same steps as plain floats."""
    fg.Adam(np.zeros(2), lr=np.array(0.1), betas=(np.array(0.9), np.float32(0.999)))
    kw = dict(method="adam", maxiter=20, record=True)
    plain = run(lr=0.1, betas=(0.9, 0.999), eps=1e-8, amsgrad=False, **kw)
    numpy = run(lr=np.array(0.1), betas=np.array([0.9, 0.999]), eps=np.float64(1e-8),
                amsgrad=np.bool_(False), tol=np.array(1e-8), **kw)
    np.testing.assert_array_equal(plain.history["x"], numpy.history["x"])
    res = run(method="gd", lr=np.float32(0.25), maxiter=np.int64(3), callback_every=np.int32(1))
    assert res.nit == 3


def test_callback_returning_numpy_true_stops():
    seen = []

    def cb(r):
        seen.append(r.nit)
        return r.grad_norm < np.float64(1.0)        # a comparison: numpy.bool_

    res = run(method="gd", lr=0.1, callback=cb)
    assert res.status == 3 and not res.success
    assert seen[-1] == res.nit and res.grad_norm < 1.0
    # np.False_ does not stop
    res = run(method="gd", lr=0.1, callback=lambda r: np.False_)
    assert res.success and res.nit == 92


def test_jac_true_with_a_scalar_function_names_jac():
    with pytest.raises(TypeError, match="jac=True"):
        fg.minimize(seed_f, [2.0, 4.0], jac=True)


@pytest.mark.parametrize("bad", ["0.2", True, np.array([0.2, 0.3]), None])
def test_objective_value_that_is_not_a_real_number_is_refused(bad):
    with pytest.raises(TypeError, match="value of fun"):
        fg.minimize(lambda x: bad, [1.0, 2.0], jac=lambda x: 2 * x)


@pytest.mark.parametrize("bad", ["0.2", True, [0.1]])
def test_schedule_value_that_is_not_a_real_number_is_refused(bad):
    with pytest.raises(TypeError, match="schedule"):
        run(method="gd", lr=lambda t: bad)


def test_gradient_of_the_wrong_kind_is_refused():
    with pytest.raises(TypeError, match="gradient"):
        fg.minimize(seed_f, [1.0, 2.0], jac=lambda x: np.array(["a", "b"]))
    with pytest.raises(TypeError, match="gradient"):
        fg.minimize(seed_f, [1.0, 2.0], jac=lambda x: np.array([True, False]))


def test_x0_of_bools_or_strings_is_refused():
    with pytest.raises(TypeError, match="x0"):
        fg.minimize(seed_f, [True, False], jac=seed_grad)


def test_line_search_and_bounds_the_method_does_not_take():
    with pytest.raises(ValueError, match="line_search"):
        run(method="adam", line_search="armijo")
    with pytest.raises(ValueError, match="line_search"):
        run(method="gd", line_search="wolfe")
    with pytest.raises(ValueError, match="line_search"):
        run(method="gd", line_search="backtracking")
    with pytest.raises(ValueError, match="bounds"):
        fg.minimize(seed_f, [1.0, 2.0], jac=seed_grad, hess=lambda x: np.diag([6.0, 2.0]),
                    method="newton", bounds=(0, 1))
    with pytest.raises(ValueError, match="armijo"):
        run(method="gd", line_search="armijo", lr=lambda t: 0.1)
    with pytest.raises(ValueError, match="weight_decay"):
        run(method="gd", line_search="armijo", weight_decay=0.1)


def test_nothing_is_modified_by_a_refused_call():
    x0 = np.array([2.0, 4.0])
    before = x0.copy()
    with pytest.raises(ValueError):
        fg.minimize(seed_f, x0, jac=seed_grad, betas=(0.9, 1.5))
    np.testing.assert_array_equal(x0, before)
