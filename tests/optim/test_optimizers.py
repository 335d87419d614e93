"""fastgrad.optimizers against the NumPy reference, exact values, torch.optim
(when installed), convergence, state round trips and every bad input."""
import copy
import pickle
import threading

import numpy as np
import pytest

import fastgrad as fg
import fastgrad.reference as ref
from optim_cases import CASES, all_cases

SIZES = [0, 1, 7, 1000, 2**16 + 3]
TOL = {np.float64: dict(rtol=1e-11, atol=1e-13), np.float32: dict(rtol=3e-5, atol=3e-6)}


def make_params(shapes, dtype, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def gradients(params, steps, seed):
    rng = np.random.default_rng(seed + 1)
    return [[rng.standard_normal(p.shape).astype(p.dtype) for p in params] for _ in range(steps)]


def run_both(fast_cls, slow_cls, options, shapes, dtype, steps=4, seed=0, single=False):
    fast_params = make_params(shapes, dtype, seed)
    slow_params = [p.copy() for p in fast_params]
    if single:
        fast = fast_cls(fast_params[0], **options)
        slow = slow_cls(slow_params[0], **options)
    else:
        fast = fast_cls(fast_params, **options)
        slow = slow_cls(slow_params, **options)
    for grads in gradients(fast_params, steps, seed):
        fast.step(grads[0] if single else grads)
        slow.step([g.copy() for g in grads][0] if single else [g.copy() for g in grads])
    return fast, fast_params, slow_params


@pytest.mark.parametrize("fast_cls, slow_cls, options", list(all_cases()))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_reference_small_sizes(fast_cls, slow_cls, options, dtype):
    shapes = [(s,) for s in SIZES[:4]] + [(3, 5)]
    fast, fp, sp = run_both(fast_cls, slow_cls, options, shapes, dtype)
    assert fast.steps == 4
    for a, b in zip(fp, sp):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, **TOL[dtype])


@pytest.mark.parametrize("name, fast_cls, slow_cls, options", [(c[0], c[1], c[2], c[3][-1]) for c in CASES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("threads", [1, 2])
def test_matches_reference_large_single_array(name, fast_cls, slow_cls, options, dtype, threads):
    fast, fp, sp = run_both(fast_cls, slow_cls, dict(options, threads=threads),
                            [(SIZES[-1],)], dtype, single=True)
    np.testing.assert_allclose(fp[0], sp[0], **TOL[dtype])


@pytest.mark.parametrize("name, fast_cls, slow_cls, options", [(c[0], c[1], c[2], c[3][0]) for c in CASES])
def test_mixed_dtypes_and_many_arrays(name, fast_cls, slow_cls, options):
    rng = np.random.default_rng(5)
    params = [rng.standard_normal(3).astype(np.float32 if i % 2 else np.float64) for i in range(100)]
    slow_params = [p.copy() for p in params]
    fast, slow = fast_cls(params, **options), slow_cls(slow_params, **options)
    for _ in range(3):
        grads = [rng.standard_normal(3).astype(p.dtype) for p in params]
        fast.step(grads)
        slow.step([g.copy() for g in grads])
    for a, b in zip(params, slow_params):
        np.testing.assert_allclose(a, b, **TOL[a.dtype.type])


# ------------------------------------------------------------ exact values --

def test_gd_seed_example_iterates():
    # f = 3x^2 + y^2 from (2, 4), lr 0.1: (0.8, 3.2), then (0.32, 2.56).
    x = np.array([2.0, 4.0])
    opt = fg.SGD(x, lr=0.1)
    opt.step(np.array([6.0, 2.0]) * x)
    np.testing.assert_allclose(x, [0.8, 3.2], rtol=1e-15)
    opt.step(np.array([6.0, 2.0]) * x)
    np.testing.assert_allclose(x, [0.32, 2.56], rtol=1e-15)


def test_adam_first_step_moves_by_lr_times_sign():
    # t = 1: m/(1-b1) = g, sqrt(v/(1-b2)) = |g|, so the step is lr * g / (|g| + eps).
    g = np.array([3.0, -0.5, 1e-3])
    x = np.zeros(3)
    fg.Adam(x, lr=0.01, eps=0.0).step(g)
    np.testing.assert_allclose(x, -0.01 * np.sign(g), rtol=1e-15)


def test_sgd_momentum_first_step_has_no_dampening():
    x = np.zeros(1)
    opt = fg.SGD(x, lr=1.0, momentum=0.5, dampening=0.5)
    opt.step(np.array([1.0]))          # buffer = g = 1
    opt.step(np.array([1.0]))          # buffer = 0.5 * 1 + 0.5 * 1 = 1
    np.testing.assert_array_equal(x, [-2.0])
    assert opt.state_dict()["state"][0]["momentum_buffer"][0] == 1.0


def test_maximize_is_ascent():
    x, y = np.array([1.0, 2.0]), np.array([1.0, 2.0])
    fg.SGD(x, lr=0.1).step(np.array([1.0, -1.0]))
    fg.SGD(y, lr=0.1, maximize=True).step(np.array([-1.0, 1.0]))
    np.testing.assert_array_equal(x, y)


def test_adagrad_lr_decay_exact():
    x = np.zeros(1)
    opt = fg.Adagrad(x, lr=1.0, lr_decay=1.0, eps=0.0)
    opt.step(np.array([1.0]))     # S = 1, step 1.0 * 1/1
    opt.step(np.array([0.0]))     # zero gradient: no move (0/1)
    np.testing.assert_array_equal(x, [-1.0])


def test_float32_in_float32_out_and_state_dtype():
    x = np.ones(5, dtype=np.float32)
    opt = fg.Adam(x, lr=0.1)
    opt.step(np.ones(5, dtype=np.float32))
    assert x.dtype == np.float32
    st = opt.state_dict()["state"][0]
    assert st["exp_avg"].dtype == np.float32 and st["exp_avg_sq"].dtype == np.float32


def test_schedule_is_called_with_step_from_one():
    seen = []

    def lr(t):
        seen.append(t)
        return 0.1 / t

    x = np.zeros(1)
    opt = fg.SGD(x, lr=lr)
    for _ in range(3):
        opt.step(np.array([1.0]))
    assert seen[-3:] == [1, 2, 3]
    np.testing.assert_allclose(x, [-(0.1 + 0.05 + 0.1 / 3)], rtol=1e-15)


# ------------------------------------------------------------- convergence --

def quadratic_grad(x):
    return np.array([6.0, 2.0]) * x          # f = 3x^2 + y^2


def rosenbrock_grad(v):
    x, y = v
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


@pytest.mark.parametrize("cls, options, steps", [
    (fg.SGD, dict(lr=0.1), 200),
    (fg.SGD, dict(lr=0.05, momentum=0.9, nesterov=True), 300),
    (fg.Adam, dict(lr=0.05), 2000),
    (fg.AdamW, dict(lr=0.05, weight_decay=0.0), 2000),
    (fg.RMSprop, dict(lr=0.01), 2000),
    (fg.RMSprop, dict(lr=0.01, centered=True, momentum=0.5), 2000),
    (fg.Adagrad, dict(lr=0.5), 2000),
])
def test_converges_on_quadratic(cls, options, steps):
    x = np.array([2.0, 4.0])
    opt = cls(x, **options)
    for _ in range(steps):
        opt.step(quadratic_grad(x))
    assert np.linalg.norm(x) < 2e-2


@pytest.mark.parametrize("cls, options, steps", [
    (fg.SGD, dict(lr=1e-3, momentum=0.9), 20000),
    (fg.Adam, dict(lr=2e-2), 20000),
    (fg.RMSprop, dict(lr=1e-3, momentum=0.9), 20000),
])
def test_converges_on_rosenbrock(cls, options, steps):
    x = np.array([-1.2, 1.0])
    opt = cls(x, **options)
    for _ in range(steps):
        opt.step(rosenbrock_grad(x))
    np.testing.assert_allclose(x, [1.0, 1.0], atol=2e-2)


@pytest.mark.parametrize("make_a, make_b, steps", [
    # AdamW without decay is Adam
    (lambda x: fg.Adam(x, lr=0.1), lambda y: fg.AdamW(y, lr=0.1, weight_decay=0.0), 20),
    # dampening only acts on the momentum buffer: without momentum it is plain SGD
    (lambda x: fg.SGD(x, lr=0.1), lambda y: fg.SGD(y, lr=0.1, dampening=0.7), 5),
], ids=["adamw_without_decay_equals_adam",
        "sgd_dampening_zero_momentum_equals_plain_sgd_when_momentum_zero"])
def test_identities_between_optimizers(make_a, make_b, steps):
    x, y = np.array([1.0, -3.0]), np.array([1.0, -3.0])
    a, b = make_a(x), make_b(y)
    for _ in range(steps):
        a.step(quadratic_grad(x))
        b.step(quadratic_grad(y))
    np.testing.assert_array_equal(x, y)


# ------------------------------------------------------------------- state --

@pytest.mark.parametrize("name, fast_cls, slow_cls, options", [(c[0], c[1], c[2], o) for c in CASES for o in c[3][::5]])
def test_state_dict_round_trip_continues_identically(name, fast_cls, slow_cls, options):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(11)
    opt = fast_cls(x, **options)
    for _ in range(3):
        opt.step(rng.standard_normal(11))
    snapshot = opt.state_dict()
    y = x.copy()
    twin = fast_cls(y, **options)
    twin.load_state_dict(snapshot)
    assert twin.steps == opt.steps
    for _ in range(3):
        g = rng.standard_normal(11)
        opt.step(g)
        twin.step(g.copy())
    np.testing.assert_array_equal(x, y)
    # the snapshot was a copy: training on did not change it
    for key, value in snapshot["state"].get(0, {}).items():
        if isinstance(value, np.ndarray):
            assert not np.shares_memory(value, opt.state_dict()["state"][0][key])


@pytest.mark.parametrize("name, fast_cls, slow_cls, options", [(c[0], c[1], c[2], c[3][-1]) for c in CASES])
def test_pickle_round_trip(name, fast_cls, slow_cls, options):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(6)
    opt = fast_cls(x, **options)
    opt.step(rng.standard_normal(6))
    clone = pickle.loads(pickle.dumps(opt))
    assert type(clone) is fast_cls and clone.steps == 1
    np.testing.assert_array_equal(clone.params[0], x)
    g = rng.standard_normal(6)
    opt.step(g)
    clone.step(g)
    np.testing.assert_array_equal(clone.params[0], x)


def test_pickle_keeps_schedule():
    x = np.zeros(2)
    opt = fg.SGD(x, lr=fg.schedules.inverse_time(1.0))
    clone = pickle.loads(pickle.dumps(opt))
    assert clone.lr == fg.schedules.inverse_time(1.0)


def test_state_dict_layout_matches_torch_keys():
    opt = fg.Adam([np.zeros(2), np.zeros(3)], amsgrad=True)
    assert opt.state_dict()["state"] == {}          # lazy, like torch
    opt.step([np.ones(2), np.ones(3)])
    sd = opt.state_dict()
    assert set(sd["state"][1]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert sd["param_groups"][0]["params"] == [0, 1]
    assert sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert set(fg.SGD(np.zeros(1), momentum=0.9).state_dict()["param_groups"][0]) >= {
        "lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"}
    assert set(fg.Adagrad(np.zeros(1)).state_dict()["state"][0]) == {"step", "sum"}


def test_load_state_dict_rejects_mismatch_and_changes_nothing():
    x = np.ones(3)
    opt = fg.Adam(x)
    opt.step(np.ones(3))
    before = copy.deepcopy(opt.state_dict())
    other = fg.Adam([np.ones(3), np.ones(3)]).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(other)
    bad = copy.deepcopy(before)
    bad["state"][0]["exp_avg"] = np.zeros(4)
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(bad)
    bad = copy.deepcopy(before)
    bad["param_groups"][0]["betas"] = (1.5, 0.9)
    with pytest.raises(ValueError, match="betas"):
        opt.load_state_dict(bad)
    after = opt.state_dict()
    np.testing.assert_array_equal(after["state"][0]["exp_avg"], before["state"][0]["exp_avg"])
    assert after["param_groups"] == before["param_groups"]


# ------------------------------------------------------------ check_finite --

@pytest.mark.parametrize("name, fast_cls, slow_cls, options", [(c[0], c[1], c[2], c[3][-1]) for c in CASES])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("n", [5, 5000])
def test_check_finite_leaves_everything_untouched(name, fast_cls, slow_cls, options, bad, n):
    rng = np.random.default_rng(1)
    params = [rng.standard_normal(n), rng.standard_normal(3)]
    opt = fast_cls(params, check_finite=True, **options)
    opt.step([rng.standard_normal(n), rng.standard_normal(3)])
    before = copy.deepcopy(opt.state_dict())
    saved = [p.copy() for p in params]
    g = [rng.standard_normal(n), rng.standard_normal(3)]
    g[1][2] = bad
    with pytest.raises(FloatingPointError, match="NaN or infinity"):
        opt.step(g)
    assert opt.steps == 1
    for p, s in zip(params, saved):
        np.testing.assert_array_equal(p, s)
    after = opt.state_dict()
    for i in before["state"]:
        for k, v in before["state"][i].items():
            np.testing.assert_array_equal(after["state"][i][k], v)


def test_without_check_finite_nan_propagates_not_hidden():
    x = np.ones(3)
    fg.SGD(x, lr=0.1).step(np.array([np.nan, 1.0, 1.0]))
    assert np.isnan(x[0]) and x[1] == 0.9


# -------------------------------------------------------------- bad inputs --

def test_bad_params():
    with pytest.raises(TypeError, match="params"):
        fg.SGD([1.0, 2.0])
    with pytest.raises(TypeError, match="params"):
        fg.SGD("abc")
    with pytest.raises(TypeError, match="dtype float32 or float64"):
        fg.Adam(np.zeros(3, dtype=np.int64))
    with pytest.raises(TypeError, match=r"params\[1\]"):
        fg.Adam([np.zeros(3), np.zeros(3, dtype=np.complex128)])
    with pytest.raises(ValueError, match="C-contiguous"):
        fg.Adam(np.zeros((4, 4))[:, 0])
    ro = np.zeros(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fg.Adam(ro)
    with pytest.raises(ValueError, match="empty"):
        fg.Adam([])
    a = np.zeros(6)
    with pytest.raises(ValueError, match="share memory"):
        fg.Adam([a[:3], a[2:]])


@pytest.mark.parametrize("cls, kwargs, word", [
    (fg.SGD, dict(lr=-1.0), "lr"),
    (fg.SGD, dict(lr=float("nan")), "lr"),
    (fg.SGD, dict(momentum=-0.1), "momentum"),
    (fg.SGD, dict(weight_decay=-1.0), "weight_decay"),
    (fg.SGD, dict(nesterov=True), "nesterov"),
    (fg.SGD, dict(nesterov=True, momentum=0.9, dampening=0.1), "nesterov"),
    (fg.Adam, dict(betas=(1.0, 0.999)), r"betas\[0\]"),
    (fg.Adam, dict(betas=(0.9, -0.1)), r"betas\[1\]"),
    (fg.Adam, dict(betas=0.9), "betas"),
    (fg.Adam, dict(eps=-1e-8), "eps"),
    (fg.AdamW, dict(weight_decay=-0.1), "weight_decay"),
    (fg.RMSprop, dict(alpha=-0.5), "alpha"),
    (fg.RMSprop, dict(momentum=-0.5), "momentum"),
    (fg.Adagrad, dict(lr_decay=-1.0), "lr_decay"),
    (fg.Adagrad, dict(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    (fg.Adam, dict(threads=0), "threads"),
])
def test_bad_hyperparameters(cls, kwargs, word):
    with pytest.raises(ValueError, match=word):
        cls(np.zeros(2), **kwargs)


def test_bad_hyperparameter_type():
    with pytest.raises(TypeError, match="lr"):
        fg.SGD(np.zeros(2), lr="fast")
    # a float where an integer is meant is the wrong type, not a bad value
    with pytest.raises(TypeError, match="threads"):
        fg.Adam(np.zeros(2), threads=1.5)


@pytest.mark.parametrize("bad_grads, exc, word", [
    ([np.zeros(3)], ValueError, "sequence of 2"),
    ([np.zeros(3), np.zeros(4)], ValueError, r"grads\[1\] has shape"),
    ([np.zeros(3), np.zeros(2, dtype=np.float32)], TypeError, r"grads\[1\] has dtype"),
    ([np.zeros(3), [0.0, 0.0]], TypeError, r"grads\[1\] must be a numpy.ndarray"),
    ([np.zeros(3), np.zeros(4)[::2]], ValueError, r"grads\[1\] must be C-contiguous"),
    (np.zeros(3), ValueError, "sequence of 2"),
])
def test_bad_grads_modify_nothing(bad_grads, exc, word):
    params = [np.ones(3), np.ones(2)]
    opt = fg.Adam(params, lr=0.1)
    with pytest.raises(exc, match=word):
        opt.step(bad_grads)
    assert opt.steps == 0
    np.testing.assert_array_equal(params[0], 1.0)
    np.testing.assert_array_equal(params[1], 1.0)


def test_single_array_grads_checked():
    opt = fg.SGD(np.ones(3))
    with pytest.raises(ValueError, match="grads has shape"):
        opt.step(np.ones(4))
    with pytest.raises(TypeError, match="grads must be a numpy.ndarray"):
        opt.step([1.0, 1.0, 1.0])


def test_grad_aliasing_param_is_refused():
    x = np.ones(4)
    with pytest.raises(ValueError, match="overlaps"):
        fg.SGD(x, lr=0.1).step(x)
    with pytest.raises(ValueError, match=r"grads\[0\] overlaps"):
        fg.SGD([x], lr=0.1).step([x])
    with pytest.raises(ValueError, match="grad overlaps param"):
        fg.kernels.sgd_step(x, x, None, 1, 0.1)
    np.testing.assert_array_equal(x, 1.0)


def test_read_only_grad_is_fine():
    g = np.ones(3)
    g.flags.writeable = False
    x = np.zeros(3)
    fg.SGD(x, lr=1.0).step(g)
    np.testing.assert_array_equal(x, -1.0)


def test_hyperparameters_can_be_changed_between_steps():
    x = np.zeros(1)
    opt = fg.SGD(x, lr=0.1)
    opt.step(np.ones(1))
    opt.lr = 1.0
    opt.step(np.ones(1))
    np.testing.assert_allclose(x, [-1.1], rtol=1e-15)
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1


# ---------------------------------------------------------------- the GIL --

def test_step_releases_the_gil():
    """While one long step runs in C in a worker thread, the main thread keeps
    executing Python: counted, not timed. With the GIL held for the whole
    call, the main thread could only count in the few bytecodes around it."""
    n = 2**23
    params = np.zeros(n)
    opt = fg.Adam(params, lr=1e-3)
    grad = np.ones(n)
    counts = []
    state = {"done": False, "count": 0}
    old = __import__("sys").getswitchinterval()
    __import__("sys").setswitchinterval(1e-4)

    def worker():
        for _ in range(3):
            before = state["count"]
            opt.step(grad)
            counts.append(state["count"] - before)
        state["done"] = True

    try:
        t = threading.Thread(target=worker)
        t.start()
        while not state["done"]:
            state["count"] += 1
        t.join()
    finally:
        __import__("sys").setswitchinterval(old)
    # One 8M-element Adam step is ~20-40 ms of C; the main loop counts
    # hundreds of thousands in that time. Held GIL: at most a few hundred.
    assert max(counts) > 20_000, counts


# ------------------------------------------------------------------ memory --

@pytest.mark.parametrize("cls", [fg.SGD, fg.Adam, fg.RMSprop, fg.Adagrad])
def test_steps_do_not_allocate_or_leak(cls):
    import tracemalloc

    params = [np.ones(1000), np.ones(10)]
    grads = [np.full(1000, 0.1), np.full(10, 0.1)]
    opt = cls(params, lr=1e-3, check_finite=True)
    for _ in range(10):
        opt.step(grads)
    tracemalloc.start()
    try:
        opt.step(grads)
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(2000):
            opt.step(grads)
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert grown < 4096, grown


def test_concurrent_steps_on_one_optimizer_are_refused_not_corrupted():
    n = 2**22
    opt = fg.SGD(np.zeros(n), lr=1e-3)
    grad = np.ones(n)
    errors, done = [], []

    def worker():
        try:
            for _ in range(20):
                opt.step(grad)
                done.append(1)
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all("another thread" in e for e in errors)
    # every step that was not refused was applied exactly once
    np.testing.assert_allclose(opt.params[0][:3], -1e-3 * len(done), rtol=1e-12)
    assert opt.steps == len(done)
