"""The optimizers' promises on bad input: memory safety, arrays never
misread, no aliasing, NaN never hidden, all-or-nothing state, no coercion.
Each case names the item of the reliability issue it covers; crash cases
run in a subprocess."""
import copy
import inspect
import os
import pickle
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import fastgrad as fg
import fastgrad.kernels as K
import fastgrad.reference as ref
from fastgrad.optimizers import CLASSES, SPECS


def run_python(code):
    env = dict(os.environ, SKBUILD_EDITABLE_VERBOSE="0")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300, env=env)


# --------------------------------------------- 1. pointers to freed arrays --

def test_step_keeps_gradients_built_on_the_fly_alive():
    """A sequence whose __getitem__ builds a new array each time: nothing
    else holds those arrays, so the step must, while C reads them."""
    out = run_python("""
        import numpy as np, fastgrad as fg
        class G(list):
            def __getitem__(self, i):
                return np.full(1000, float(i + 1))
        params = [np.zeros(1000) for _ in range(3)]
        opt = fg.SGD(params, lr=1.0)
        for _ in range(20):
            opt.step(G([None] * 3))
        for i, p in enumerate(params):
            assert (p == -20.0 * (i + 1)).all(), (i, p[:3])
        print("ok")
    """)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stdout + out.stderr[-2000:]


# ---------------------------------------------- a valid call of each kernel --

KERNELS = list(SPECS)
# options that switch every optional state buffer on
USE_ALL_STATE = {"amsgrad": True, "momentum": 0.9, "centered": True}


def kernel_call(name, n=5, dtype=np.float64):
    """A valid call of fastgrad.kernels.<name>_step that uses every state
    buffer: (function, keyword arguments)."""
    spec = SPECS[name]
    fn = getattr(K, f"{name}_step")
    states = {spec.kernel_names.get(r["name"], r["name"]) for r in spec.state}
    scalars = {s["name"]: s["initial"] for s in spec.scalar}
    kw = {}
    for p in inspect.signature(fn).parameters.values():
        if p.name == "param":
            kw[p.name] = np.linspace(1.0, 2.0, n).astype(dtype)
        elif p.name == "grad":
            kw[p.name] = np.linspace(-0.5, 0.5, n).astype(dtype)
        elif p.name in states:
            kw[p.name] = np.full(n, 0.25, dtype)
        elif p.name in scalars:
            kw[p.name] = scalars[p.name]
        elif p.name == "step":
            kw[p.name] = 1
        elif p.name == "lr":
            kw[p.name] = 0.1
        elif p.name in USE_ALL_STATE:
            kw[p.name] = USE_ALL_STATE[p.name]
    return fn, kw


def arrays_of(kw):
    return {k: v for k, v in kw.items() if isinstance(v, np.ndarray)}


def snapshot(kw):
    return {k: v.copy() for k, v in arrays_of(kw).items()}


def unchanged(kw, before):
    for k, v in before.items():
        np.testing.assert_array_equal(kw[k], v, err_msg=k)
        assert kw[k].tobytes() == v.tobytes(), k


@pytest.mark.parametrize("name", KERNELS)
def test_kernel_call_factory_is_valid(name):
    fn, kw = kernel_call(name)
    before = snapshot(kw)
    fn(**kw)
    assert not np.array_equal(kw["param"], before["param"])


# ------------------------------- 4, 5 and the sweep: every array argument --

def array_mutations(a):
    """(label, replacement, exception, words the message must contain)."""
    yield "list", a.tolist(), TypeError, "must be a numpy.ndarray"
    yield "int32", a.astype(np.int32), TypeError, "dtype"
    other = np.float32 if a.dtype == np.float64 else np.float64
    yield "other float", a.astype(other), TypeError, "dtype"
    yield "byte-swapped", a.astype(a.dtype.newbyteorder(">" if sys.byteorder == "little"
                                                        else "<")), ValueError, "byte order"
    yield "strided", np.repeat(a, 2)[::2], ValueError, "C-contiguous"
    yield "shape", np.concatenate([a, a[:1]]), ValueError, "shape"


@pytest.mark.parametrize("name", KERNELS)
def test_kernel_refuses_bad_arrays_and_writes_nothing(name):
    fn, kw = kernel_call(name)
    for arg in list(arrays_of(kw)) + ["out"]:
        base = kw.get(arg, kw["param"])
        for label, bad, exc, words in array_mutations(base):
            if arg == "param" and label == "shape":
                continue   # every other array is then the one of the wrong shape
            call = dict(kw, **{arg: bad})
            before = snapshot(call)
            with pytest.raises(exc, match=f"{arg}.*{words}|{words}.*{arg}"):
                fn(**call)
            unchanged(call, before)
        written = arg != "grad"
        if written:
            ro = base.copy()
            ro.flags.writeable = False
            call = dict(kw, **{arg: ro})
            before = snapshot(call)
            with pytest.raises(ValueError, match=f"{arg} is read-only"):
                fn(**call)
            unchanged(call, before)


@pytest.mark.parametrize("name", KERNELS)
def test_kernel_refuses_any_overlap_with_a_written_array(name):
    """5: an array the call writes may share memory with no other argument
    (whole arrays and partial overlaps), checked before anything is written."""
    fn, kw0 = kernel_call(name)
    names = list(arrays_of(kw0)) + ["out"]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            for partial in (False, True):
                kw = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in kw0.items()}
                n = kw["param"].size
                if partial:   # two views of one buffer that overlap in one element
                    buf = np.zeros(2 * n - 1)
                    kw[a], kw[b] = buf[:n], buf[n - 1:]
                    kw[a][:] = kw0.get(a, kw0["param"])
                else:
                    kw[b] = kw[a] = kw.get(a, kw["param"]).copy()
                before = snapshot(kw)
                with pytest.raises(ValueError, match="overlaps"):
                    fn(**kw)
                unchanged(kw, before)


def test_kernel_aliasing_cases_of_the_issue():
    p, g, m, v = np.ones(4), np.ones(4), np.zeros(4), np.zeros(4)
    with pytest.raises(ValueError, match="max_exp_avg_sq overlaps exp_avg"):
        K.adam_step(p, g, m, v, 1, 0.1, amsgrad=True, max_exp_avg_sq=m)
    buf = np.zeros(7)
    with pytest.raises(ValueError, match="exp_avg_sq overlaps exp_avg"):
        K.adam_step(p, g, buf[:4], buf[3:], 1, 0.1)
    with pytest.raises(ValueError, match="momentum_buffer overlaps grad"):
        K.sgd_step(p, g, g, 1, 0.1, momentum=0.9)
    g.flags.writeable = False       # a read-only gradient is never written
    with pytest.raises(ValueError, match="momentum_buffer is read-only"):
        K.sgd_step(p, g, g, 1, 0.1, momentum=0.9)
    np.testing.assert_array_equal(p, 1.0)
    np.testing.assert_array_equal(g, 1.0)


def test_grads_may_not_alias_any_parameter():
    """5: SGD([a, b]).step([g0, a]) would read a after updating it."""
    a, b = np.ones(4), np.ones(4)
    opt = fg.SGD([a, b], lr=0.1)
    with pytest.raises(ValueError, match=r"grads\[1\] overlaps params\[0\]"):
        opt.step([np.ones(4), a])
    big = np.ones(10)
    opt = fg.SGD([big[:5], np.ones(3)], lr=0.1)
    with pytest.raises(ValueError, match=r"grads\[1\] overlaps params\[0\]"):
        opt.step([np.ones(5), big[2:5]])      # a view into a parameter
    np.testing.assert_array_equal(a, 1.0)
    np.testing.assert_array_equal(b, 1.0)
    np.testing.assert_array_equal(big, 1.0)
    assert opt.steps == 0


@pytest.mark.parametrize("name", KERNELS)
def test_optimizer_refuses_bad_grads_and_changes_nothing(name):
    cls = fg.optimizers.CLASSES[name]
    params = [np.linspace(1, 2, 5), np.linspace(-1, 1, 3)]
    opt = cls(params, lr=0.1)
    good = [np.full(5, 0.5), np.full(3, 0.5)]
    opt.step(good)
    before = copy.deepcopy(opt.state_dict())
    saved = [p.copy() for p in params]
    for label, bad, exc, words in array_mutations(good[1]):
        with pytest.raises(exc, match=rf"grads\[1\].*{words}|{words}.*grads\[1\]"):
            opt.step([good[0], bad])
    assert opt.steps == 1
    for p, s in zip(params, saved):
        assert p.tobytes() == s.tobytes()
    after = opt.state_dict()
    for k, v in before["state"][0].items():
        np.testing.assert_array_equal(after["state"][0][k], v)


@pytest.mark.parametrize("name", KERNELS)
def test_optimizer_refuses_non_native_params(name):
    """4: a byte-swapped parameter would be updated as garbage."""
    cls = fg.optimizers.CLASSES[name]
    with pytest.raises(ValueError, match=r"params.*byte order"):
        cls(np.ones(3).astype(">f8" if sys.byteorder == "little" else "<f8"))
    with pytest.raises(ValueError, match=r"params\[1\].*byte order"):
        cls([np.ones(3), np.ones(3).astype(">f4" if sys.byteorder == "little" else "<f4")])


def test_adam_step_with_byte_swapped_grad_is_refused():
    """4: fg.Adam(p).step(g.astype('>f8')) must not silently misread g."""
    p = np.ones(3)
    opt = fg.Adam(p)
    with pytest.raises(ValueError, match="byte order"):
        opt.step(np.ones(3).astype(">f8" if sys.byteorder == "little" else "<f8"))
    np.testing.assert_array_equal(p, 1.0)


# --------------------------------------------------------- 7. NaN in AMSGrad --

def test_amsgrad_keeps_a_nan_in_max_exp_avg_sq():
    fast = [np.ones(3), np.zeros(3), np.zeros(3), np.array([0.0, np.nan, 0.0])]
    slow = [a.copy() for a in fast]
    g = np.array([0.5, 0.5, 0.5])
    K.adam_step(fast[0], g, fast[1], fast[2], 1, 0.1, amsgrad=True, max_exp_avg_sq=fast[3])
    ref.adam_step(slow[0], g, slow[1], slow[2], 1, 0.1, amsgrad=True, max_exp_avg_sq=slow[3])
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    assert np.isnan(fast[3][1]) and np.isnan(fast[0][1])
    assert np.isfinite(np.delete(fast[0], 1)).all()


def test_amsgrad_nan_survives_in_the_optimizer():
    x = np.ones(3)
    opt = fg.Adam(x, lr=0.1, amsgrad=True)
    opt.step(np.ones(3))
    sd = opt.state_dict()
    sd["state"][0]["max_exp_avg_sq"][2] = np.nan
    opt.load_state_dict(sd)
    opt.step(np.ones(3))
    assert np.isnan(opt.state_dict()["state"][0]["max_exp_avg_sq"][2]) and np.isnan(x[2])


def test_adamax_infinity_norm_propagates_nan():
    p, g, m, u = np.ones(3), np.full(3, 0.5), np.zeros(3), np.array([0.0, np.nan, 0.0])
    K.adamax_step(p, g, m, u, 1, 0.1)
    assert np.isnan(u[1]) and np.isnan(p[1]) and np.isfinite(p[[0, 2]]).all()


# ------------------------------------------------ 8. all-or-nothing state --

def _adam_snapshot():
    x = np.linspace(1, 2, 4)
    y = np.linspace(-1, 0, 3)
    opt = fg.Adam([x, y], lr=0.05)
    for k in range(3):
        opt.step([np.full(4, 0.1 * k), np.full(3, -0.2)])
    return opt, opt.state_dict()


def _set(path, value):
    def mutate(sd):
        d = sd
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = value
    return mutate


def _pop(path):
    def mutate(sd):
        d = sd
        for key in path[:-1]:
            d = d[key]
        del d[path[-1]]
    return mutate


BAD_STATE = [
    ("missing hyperparameter", _pop(("param_groups", 0, "eps"))),
    ("missing lr", _pop(("param_groups", 0, "lr"))),
    ("missing buffer", _pop(("state", 1, "exp_avg_sq"))),
    ("missing step", _pop(("state", 0, "step"))),
    ("string buffer", _set(("state", 1, "exp_avg"), np.array(["a", "b", "c"]))),
    ("huge step", _set(("state", 0, "step"), 1e30)),
    ("negative step", _set(("state", 0, "step"), -5)),
    ("fractional step", _set(("state", 1, "step"), 2.5)),
    ("steps differ", _set(("state", 1, "step"), 7.0)),
    ("ids match no state", _set(("param_groups", 0, "params"), [7, 8])),
    ("unknown entry", _set(("state", 0, "momentum"), np.zeros(4))),
    ("buffer shape", _set(("state", 0, "exp_avg"), np.zeros(5))),
    ("string lr", _set(("param_groups", 0, "lr"), "0.1")),
    ("bool eps", _set(("param_groups", 0, "eps"), True)),
    ("betas out of range", _set(("param_groups", 0, "betas"), (1.5, 0.9))),
    ("amsgrad switched", _set(("param_groups", 0, "amsgrad"), True)),
    ("no state dict", lambda sd: sd.clear()),
]


@pytest.mark.parametrize("label, mutate", BAD_STATE, ids=[b[0] for b in BAD_STATE])
def test_load_state_dict_is_all_or_nothing(label, mutate):
    """8: the whole dict is checked before anything is applied."""
    opt, good = _adam_snapshot()
    twin, _ = _adam_snapshot()
    # move opt away from `good` so that a partial load would show
    opt.step([np.full(4, 0.3), np.full(3, 0.3)])
    twin.step([np.full(4, 0.3), np.full(3, 0.3)])
    before = copy.deepcopy(opt.state_dict())
    bad = copy.deepcopy(good)
    mutate(bad)
    with pytest.raises((ValueError, TypeError)):
        opt.load_state_dict(bad)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    assert after["state"].keys() == before["state"].keys()
    for i in before["state"]:
        for k, v in before["state"][i].items():
            np.testing.assert_array_equal(after["state"][i][k], v)
    # and the optimizer goes on exactly as one that never saw the bad dict
    g = [np.full(4, -0.1), np.full(3, 0.2)]
    opt.step(g)
    twin.step([a.copy() for a in g])
    for a, b in zip(opt.params, twin.params):
        np.testing.assert_array_equal(a, b)


def test_unpickling_a_tampered_state_is_refused():
    opt, _ = _adam_snapshot()
    func, args = opt.__reduce__()
    cls, params, kwargs, state = args
    state["state"][0]["step"] = -5.0
    state["state"][1]["step"] = -5.0
    blob = pickle.dumps((func, (cls, params, kwargs, state)))
    restore, restore_args = pickle.loads(blob)
    with pytest.raises(ValueError, match="step"):
        restore(*restore_args)


def test_load_state_dict_accepts_json_style_keys_and_converts_dtype():
    opt, sd = _adam_snapshot()
    sd["state"] = {str(k): v for k, v in sd["state"].items()}
    sd["state"]["0"]["exp_avg"] = sd["state"]["0"]["exp_avg"].astype(">f8")
    x = opt.params[0].copy()
    twin = fg.Adam([x, opt.params[1].copy()], lr=0.5)
    twin.load_state_dict(sd)
    assert twin.steps == 3 and twin.lr == 0.05
    np.testing.assert_array_equal(twin.state_dict()["state"][0]["exp_avg"],
                                  opt.state_dict()["state"][0]["exp_avg"])


def test_state_transfer_is_guarded_against_a_concurrent_step():
    """8: a snapshot taken while a step runs in another thread would be
    torn (part of a buffer before the step, part after): it raises
    RuntimeError, like a second concurrent step, or is whole."""
    n = 2**21
    opt = fg.SGD(np.zeros(n), lr=1e-3, momentum=0.5)
    grad = np.ones(n)
    done = threading.Event()
    refused = whole = 0

    def worker():
        for _ in range(40):
            try:
                opt.step(grad)
            except RuntimeError:
                pass
        done.set()

    t = threading.Thread(target=worker)
    t.start()
    try:
        while not done.is_set():
            try:
                sd = opt.state_dict()
            except RuntimeError as exc:
                assert "another thread" in str(exc)
                refused += 1
                continue
            st = sd["state"].get(0)
            if st:
                buf, k = st["momentum_buffer"], int(st["step"])
                # buf_k = 2 - 2^(1-k) for g = 1, momentum 0.5, everywhere
                assert buf[0] == buf[-1] == buf[n // 2] == 2.0 - 2.0 ** (1 - k)
            whole += 1
    finally:
        t.join()
    assert refused + whole > 0


# --------------------------------------------------- 9. no coercion --

@pytest.mark.parametrize("cls, kwargs, exc, word", [
    (fg.SGD, dict(lr="0.1"), TypeError, "lr"),
    (fg.SGD, dict(lr=True), TypeError, "lr"),
    (fg.SGD, dict(momentum=0.9, nesterov="no"), TypeError, "nesterov"),
    (fg.SGD, dict(maximize=1), TypeError, "maximize"),
    (fg.Adam, dict(betas=("0.9", 0.999)), TypeError, r"betas\[0\]"),
    (fg.Adam, dict(amsgrad="yes"), TypeError, "amsgrad"),
    (fg.Adam, dict(check_finite=1), TypeError, "check_finite"),
    (fg.RMSprop, dict(alpha=np.array([0.5])), TypeError, "alpha"),
    (fg.Adagrad, dict(eps=None), TypeError, "eps"),
    (fg.NAdam, dict(momentum_decay="fast"), TypeError, "momentum_decay"),
    (fg.SGD, dict(lr=lambda t: "0.2"), TypeError, "lr"),
    (fg.Adam, dict(threads=True), TypeError, "threads"),
    (fg.Adam, dict(decoupled_weight_decay=0), TypeError, "decoupled_weight_decay"),
])
def test_constructor_refuses_wrong_types(cls, kwargs, exc, word):
    with pytest.raises(exc, match=word):
        cls(np.zeros(2), **kwargs)


def test_numpy_scalars_are_numbers():
    x = np.zeros(2)
    opt = fg.SGD(x, lr=np.float32(0.5), momentum=np.array(0.9), nesterov=np.bool_(True))
    opt.step(np.ones(2))
    np.testing.assert_array_equal(x, -0.5 * 1.9)


def test_schedule_returning_a_string_is_refused_at_its_step():
    opt = fg.SGD(np.zeros(1), lr=lambda t: 0.1 if t < 3 else "0.2")
    opt.step(np.ones(1))
    opt.step(np.ones(1))
    with pytest.raises(TypeError, match="lr.*step 3"):
        opt.step(np.ones(1))
    assert opt.steps == 2


def hyper_mutations(value):
    """Wrong-type and out-of-range replacements for a hyperparameter."""
    if isinstance(value, bool):
        yield "x", TypeError
        yield 1, TypeError
        yield None, TypeError
    else:
        yield "0.1", TypeError
        yield True, TypeError
        yield [value], TypeError
        yield float("nan"), ValueError
        yield float("inf"), ValueError


@pytest.mark.parametrize("name", KERNELS)
def test_kernel_hyperparameters_are_checked_and_named(name):
    """9: a wrong type or value raises naming the argument (not Cython's
    'must be real number, not str'), and nothing is written."""
    fn, kw = kernel_call(name)
    for p in inspect.signature(fn).parameters.values():
        value = kw.get(p.name, p.default)
        if isinstance(value, np.ndarray) or value is None or p.name in ("step", "lr"):
            continue
        for bad, exc in hyper_mutations(value):
            call = dict(kw, **{p.name: bad})
            before = snapshot(call)
            with pytest.raises(exc, match=p.name):
                fn(**call)
            unchanged(call, before)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("arg, bad, exc", [
    ("step", 1.9, TypeError), ("step", True, TypeError), ("step", "1", TypeError),
    ("step", 0, ValueError), ("step", 2**63, ValueError),
    ("lr", "0.1", TypeError), ("lr", True, TypeError), ("lr", -1.0, ValueError),
    ("lr", float("nan"), ValueError),
])
def test_kernel_step_and_lr_are_checked(name, arg, bad, exc):
    fn, kw = kernel_call(name)
    call = dict(kw, **{arg: bad})
    before = snapshot(call)
    with pytest.raises(exc, match=arg):
        fn(**call)
    unchanged(call, before)


def test_kernel_scalar_state_is_checked():
    fn, kw = kernel_call("nadam")
    with pytest.raises(TypeError, match="mu_product"):
        fn(**dict(kw, mu_product="1.0"))
    with pytest.raises(TypeError, match="mu_product"):
        fn(**{k: v for k, v in kw.items() if k != "mu_product"})


# ------------------------------- 12. centered RMSprop with alpha = 0 --

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_centered_rmsprop_alpha_zero_fast_and_reference_agree(dtype):
    """s - gbar^2 is exactly 0 in exact arithmetic; what rounding leaves of
    it is negative for about half the elements, so the step is NaN there.
    The kernel, the reference and torch (test_torch_parity) agree on which."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1000).astype(dtype)
    g = rng.standard_normal(1000).astype(dtype)
    fast = fg.RMSprop(x, lr=0.01, alpha=0.0, centered=True)
    y = x.copy()
    slow = ref.RMSprop(y, lr=0.01, alpha=0.0, centered=True)
    fast.step(g)
    with np.errstate(invalid="ignore"):     # sqrt of the negative residuals
        slow.step(g.copy())
    nan = np.isnan(x)
    np.testing.assert_array_equal(nan, np.isnan(y))
    assert 300 < nan.sum() < 700
    np.testing.assert_allclose(x[~nan], y[~nan], rtol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_a_step_checks_hyperparameters_again_after_they_change(name):
    """Steps at unchanged hyperparameters and rate skip C's per-step check
    (the descriptor's fill); new values (here written past the Python
    validators, as only a bug could) are checked again by the next step,
    which refuses them before anything is written."""
    p, g = np.linspace(0.5, 1.5, 5), np.full(5, 0.1)
    opt = CLASSES[name]([p], lr=0.01)
    opt.step([g])
    opt.step([g])
    rows = fg._optim.descriptors()[SPECS[name].kind]["hyper"]
    bad = list(opt._hyper)
    bad[next(i for i, h in enumerate(rows) if h["kind"] == "real")] = np.nan
    opt._set_hyper(bad)
    before, steps = p.copy(), opt.steps
    with pytest.raises(ValueError):
        opt.step([g])
    np.testing.assert_array_equal(p, before)
    assert opt.steps == steps
    opt._set_hyper(opt._hyper)          # the valid values again: steps go on
    opt.step([g])
    assert opt.steps == steps + 1
