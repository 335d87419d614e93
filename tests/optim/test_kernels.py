"""fastgrad.kernels (raw step functions) against fastgrad.reference's step
functions, and their argument checks."""
import numpy as np
import pytest

import fastgrad.kernels as K
import fastgrad.reference as ref
from optim_cases import (adagrad_options, adam_options, adamax_options, nadam_options,
                         rmsprop_options, sgd_options)

TOL = {np.float64: dict(rtol=1e-11, atol=1e-13), np.float32: dict(rtol=3e-5, atol=3e-6)}


def arrays(n, dtype, k, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n).astype(dtype) for _ in range(k)]


def twin(arrs):
    return [a.copy() for a in arrs]


def start_pair(n, dtype, n_state, fill=0.0):
    """A random parameter array and n_state state arrays set to fill, and an
    independent copy of them: the lists the kernel and its reference update."""
    fast = arrays(n, dtype, 1 + n_state)
    for a in fast[1:]:
        a[:] = fill
    return fast, twin(fast)


def steps_and_grads(n, dtype):
    """(step, gradient) for steps 1, 2, 3, each gradient from its own seed."""
    for t in (1, 2, 3):
        yield t, arrays(n, dtype, 1, seed=t)[0]


def check_pair(fast, slow, dtype):
    for a, b in zip(fast, slow):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, **TOL[dtype])


DT = [np.float64, np.float32]
SIZES = [0, 1, 7, 1000, 2**16 + 3]


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("o", list(sgd_options()))
def test_sgd_step(o, n, dtype):
    p, buf = arrays(n, dtype, 2)
    fast, slow = [p, buf], twin([p, buf])
    o = dict(o)
    lr = o.pop("lr")
    for t, g in steps_and_grads(n, dtype):
        K.sgd_step(fast[0], g, fast[1] if o["momentum"] else None, t, lr, **o)
        ref.sgd_step(slow[0], g, slow[1], t, lr, **o)
    check_pair(fast, slow, dtype)


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("o", list(adam_options()))
@pytest.mark.parametrize("fast_fn, slow_fn", [(K.adam_step, ref.adam_step), (K.adamw_step, ref.adamw_step)])
def test_adam_steps(fast_fn, slow_fn, o, n, dtype):
    fast, slow = start_pair(n, dtype, 3)
    b1, b2 = o["betas"]
    for t, g in steps_and_grads(n, dtype):
        kw = dict(amsgrad=o["amsgrad"], maximize=o["maximize"])
        fast_fn(fast[0], g, fast[1], fast[2], t, o["lr"], b1, b2, o["eps"], o["weight_decay"],
                max_exp_avg_sq=fast[3] if o["amsgrad"] else None, **kw)
        slow_fn(slow[0], g, slow[1], slow[2], t, o["lr"], b1, b2, o["eps"], o["weight_decay"],
                max_exp_avg_sq=slow[3], **kw)
    check_pair(fast, slow, dtype)


# One step of a kernel (mod is K) or its reference (mod is ref) on the
# arrays a = [param, *state], with options o; carry is NAdam's mu_product
# (returned updated), passed through by the others. The kernel gets None
# for the buffers its options leave unused.
def rmsprop_call(mod, a, g, t, o, carry):
    o = dict(o)
    lr, maximize, kernel = o.pop("lr"), o.pop("maximize"), mod is K
    mod.rmsprop_step(a[0], g, a[1], t, lr, **o, maximize=maximize,
                     momentum_buffer=a[2] if o["momentum"] or not kernel else None,
                     grad_avg=a[3] if o["centered"] or not kernel else None)
    return carry


def adagrad_call(mod, a, g, t, o, carry):
    mod.adagrad_step(a[0], g, a[1], t, o["lr"], o["lr_decay"], o["weight_decay"],
                     maximize=o["maximize"])
    return carry


def adamax_call(mod, a, g, t, o, carry):
    args = (t, o["lr"], *o["betas"], o["eps"], o["weight_decay"])
    mod.adamax_step(a[0], g, a[1], a[2], *args, maximize=o["maximize"])
    return carry


def nadam_call(mod, a, g, t, o, carry):
    args = (t, o["lr"], *o["betas"], o["eps"], o["weight_decay"], o["momentum_decay"])
    kw = dict(decoupled_weight_decay=o["decoupled_weight_decay"], maximize=o["maximize"])
    return mod.nadam_step(a[0], g, a[1], a[2], *args, mu_product=carry, **kw)


# name: (options, number of state arrays, their initial value, one step)
STEP_CASES = {
    "rmsprop": (rmsprop_options, 3, lambda o: 0.0, rmsprop_call),
    "adagrad": (adagrad_options, 1, lambda o: o["initial_accumulator_value"], adagrad_call),
    "adamax": (adamax_options, 2, lambda o: 0.0, adamax_call),
    "nadam": (nadam_options, 2, lambda o: 0.0, nadam_call),
}


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("n", [0, 7, 2**16 + 3])
@pytest.mark.parametrize("name, o", [pytest.param(name, o, id=f"{name}-{i}")
                                     for name, case in STEP_CASES.items()
                                     for i, o in enumerate(case[0]())])
def test_step_matches_reference(name, o, n, dtype):
    _, n_state, fill, call = STEP_CASES[name]
    fast, slow = start_pair(n, dtype, n_state, fill=fill(o))
    mu_fast = mu_slow = 1.0          # NAdam's mu_product before step 1
    for t, g in steps_and_grads(n, dtype):
        mu_fast = call(K, fast, g, t, o, mu_fast)
        mu_slow = call(ref, slow, g, t, o, mu_slow)
        assert mu_fast == mu_slow          # the same double operations in the same order
    check_pair(fast, slow, dtype)


def nadam_mu_product(t, beta1, momentum_decay):
    """The product of NAdam's mu_1 .. mu_{t-1}: the scalar state before step t."""
    out = 1.0
    for k in range(1, t):
        out *= beta1 * (1 - 0.5 * 0.96 ** (k * momentum_decay))
    return out


def test_adam_kernel_exact_first_step():
    p, g = np.ones(4), np.full(4, 0.5)
    m, v = np.zeros(4), np.zeros(4)
    K.adam_step(p, g, m, v, step=1, lr=0.1, eps=0.0)
    np.testing.assert_array_equal(p, 0.9)
    np.testing.assert_allclose(m, 0.05, rtol=1e-15)
    np.testing.assert_allclose(v, 0.00025, rtol=1e-15)


def test_kernels_work_on_nd_arrays():
    p = np.ones((3, 4))
    K.sgd_step(p, np.ones((3, 4)), None, 1, 0.5)
    np.testing.assert_array_equal(p, 0.5)


# -------------------------------------------------------------- bad inputs --

def fresh():
    return np.ones(5), np.ones(5), np.zeros(5), np.zeros(5)


def kernel_calls():
    """(id, call) for every kernel and option pattern: call(param, grad, states,
    t, out) makes one step with that kernel (states: 3 zeroed buffers)."""
    for i, o in enumerate(sgd_options()):
        o = dict(o)
        lr = o.pop("lr")
        yield f"sgd-{i}", lambda p, g, st, t, out, o=o, lr=lr: K.sgd_step(
            p, g, st[0] if o["momentum"] else None, t, lr, **o, out=out)
    for name, fn in (("adam", K.adam_step), ("adamw", K.adamw_step)):
        for i, o in enumerate(adam_options()):
            yield f"{name}-{i}", lambda p, g, st, t, out, o=o, fn=fn: fn(
                p, g, st[0], st[1], t, o["lr"], *o["betas"], o["eps"], o["weight_decay"],
                amsgrad=o["amsgrad"], max_exp_avg_sq=st[2] if o["amsgrad"] else None,
                maximize=o["maximize"], out=out)
    for i, o in enumerate(rmsprop_options()):
        o = dict(o)
        lr, maximize = o.pop("lr"), o.pop("maximize")
        yield f"rmsprop-{i}", lambda p, g, st, t, out, o=o, lr=lr, mx=maximize: K.rmsprop_step(
            p, g, st[0], t, lr, **o, maximize=mx,
            momentum_buffer=st[1] if o["momentum"] else None,
            grad_avg=st[2] if o["centered"] else None, out=out)
    for i, o in enumerate(adagrad_options()):
        yield f"adagrad-{i}", lambda p, g, st, t, out, o=o: K.adagrad_step(
            p, g, st[0], t, o["lr"], o["lr_decay"],
            o["weight_decay"], maximize=o["maximize"], out=out)
    for i, o in enumerate(adamax_options()):
        yield f"adamax-{i}", lambda p, g, st, t, out, o=o: K.adamax_step(
            p, g, st[0], st[1], t, o["lr"], *o["betas"], o["eps"], o["weight_decay"],
            maximize=o["maximize"], out=out)
    for i, o in enumerate(nadam_options()):
        yield f"nadam-{i}", lambda p, g, st, t, out, o=o: K.nadam_step(
            p, g, st[0], st[1], t, o["lr"], *o["betas"], o["eps"], o["weight_decay"],
            o["momentum_decay"], mu_product=nadam_mu_product(t, o["betas"][0],
                                                             o["momentum_decay"]),
            decoupled_weight_decay=o["decoupled_weight_decay"], maximize=o["maximize"],
            out=out)


KERNEL_CALLS = list(kernel_calls())


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("n", [0, 7, 1000])
@pytest.mark.parametrize("call", [c for _, c in KERNEL_CALLS], ids=[i for i, _ in KERNEL_CALLS])
def test_step_out_equals_in_place_bit_for_bit(call, n, dtype):
    """out=: the *_step_out_* twins write the new parameters elsewhere, the
    same values as the in-place kernel, update the state alike, and leave
    param untouched."""
    p = arrays(n, dtype, 1)[0]
    states = [np.full(n, 0.25, dtype) for _ in range(3)]
    inplace, inplace_states = p.copy(), [s.copy() for s in states]
    src = p.copy()
    for t, g in steps_and_grads(n, dtype):
        call(inplace, g, inplace_states, t, None)
        out = np.full_like(src, np.nan)
        before = src.copy()
        call(src, g, states, t, out)
        np.testing.assert_array_equal(src, before)           # param only read
        np.testing.assert_array_equal(out, inplace)
        src = out
    for a, b in zip(states, inplace_states):
        np.testing.assert_array_equal(a, b)


def test_adam_step_out_checks_and_nonfinite():
    p, g, m, v = fresh()
    p.flags.writeable = False   # a read-only param is fine when out is given
    out = np.zeros(5)
    K.adam_step(p, g, m, v, 1, 0.1, out=out)
    np.testing.assert_allclose(out, 0.9)
    for bad, exc, word in [(np.zeros(4), ValueError, "out has shape"),
                           (np.zeros(5, np.float32), TypeError, "out has dtype"),
                           (m, ValueError, "out overlaps exp_avg"),
                           (g, ValueError, "out overlaps grad")]:
        p, g, m, v = fresh()
        if bad.shape == (5,) and bad.dtype == np.float64:
            bad = m if word.endswith("exp_avg") else g
        with pytest.raises(exc, match=word):
            K.adam_step(p, g, m, v, 1, 0.1, out=bad)
        np.testing.assert_array_equal(m, 0.0)
    # a non-finite result is written, not raised (as in place)
    p, g, m, v = fresh()
    g[2] = np.inf
    out = np.zeros(5)
    K.adam_step(p, g, m, v, 1, 0.1, out=out)
    assert np.isnan(out[2]) and np.isfinite(np.delete(out, 2)).all()
    # the other kernels check out= the same way (one shared helper)
    for call, word in [
            (lambda p, g, s, o: K.sgd_step(p, g, s, 1, 0.1, momentum=0.9, out=o), "momentum_buffer"),
            (lambda p, g, s, o: K.rmsprop_step(p, g, s, 1, 0.1, out=o), "square_avg"),
            (lambda p, g, s, o: K.adagrad_step(p, g, s, 1, 0.1, out=o), "state_sum")]:
        p, g, s, _ = fresh()
        with pytest.raises(ValueError, match=f"out overlaps {word}"):
            call(p, g, s, s)
        with pytest.raises(ValueError, match="out overlaps param"):
            call(p, g, s, p)
        np.testing.assert_array_equal(p, 1.0)
        np.testing.assert_array_equal(s, 0.0)


@pytest.mark.parametrize("mutate, exc, word", [
    (lambda a: a.update(param=[1.0] * 5), TypeError, "param must be a numpy.ndarray"),
    (lambda a: a.update(param=np.ones(5, dtype=np.int32)), TypeError, "param must have dtype"),
    (lambda a: a.update(grad=np.ones(4)), ValueError, "grad has shape"),
    (lambda a: a.update(grad=np.ones(5, dtype=np.float32)), TypeError, "grad has dtype"),
    (lambda a: a.update(exp_avg=None), TypeError, "exp_avg is required"),
    (lambda a: a.update(exp_avg=np.zeros(10)[::2]), ValueError, "exp_avg must be C-contiguous"),
    (lambda a: a.update(exp_avg_sq=np.zeros(6)), ValueError, "exp_avg_sq has shape"),
    (lambda a: a.update(step=0), ValueError, "step"),
    (lambda a: a.update(lr=-1.0), ValueError, "lr"),
    (lambda a: a.update(beta1=1.0), ValueError, "beta1"),
    (lambda a: a.update(beta2=float("nan")), ValueError, "beta2"),
    (lambda a: a.update(eps=-1.0), ValueError, "eps"),
    (lambda a: a.update(weight_decay=float("inf")), ValueError, "weight_decay"),
    (lambda a: a.update(amsgrad=True), TypeError, "max_exp_avg_sq is required"),
])
def test_adam_step_bad_inputs_modify_nothing(mutate, exc, word):
    p, g, m, v = fresh()
    args = dict(param=p, grad=g, exp_avg=m, exp_avg_sq=v, step=1, lr=0.1, beta1=0.9,
                beta2=0.999, eps=1e-8)
    mutate(args)
    with pytest.raises(exc, match=word):
        K.adam_step(**args)
    np.testing.assert_array_equal(p, 1.0)
    np.testing.assert_array_equal(m, 0.0)
    np.testing.assert_array_equal(v, 0.0)


def test_read_only_and_aliased_state_rejected():
    p, g, m, v = fresh()
    m.flags.writeable = False
    with pytest.raises(ValueError, match="exp_avg is read-only"):
        K.adam_step(p, g, m, v, 1, 0.1)
    p, g, m, v = fresh()
    with pytest.raises(ValueError, match="overlaps param"):
        K.adam_step(p, g, p, v, 1, 0.1)
    with pytest.raises(ValueError, match="different arrays"):
        K.adam_step(p, g, m, m, 1, 0.1)
    np.testing.assert_array_equal(p, 1.0)


def test_other_kernels_check_their_state():
    p, g, s, b = fresh()
    with pytest.raises(TypeError, match="momentum_buffer is required"):
        K.sgd_step(p, g, None, 1, 0.1, momentum=0.9)
    with pytest.raises(ValueError, match="nesterov"):
        K.sgd_step(p, g, b, 1, 0.1, momentum=0.0, nesterov=True)
    with pytest.raises(TypeError, match="grad_avg is required"):
        K.rmsprop_step(p, g, s, 1, 0.1, centered=True)
    with pytest.raises(TypeError, match="momentum_buffer is required"):
        K.rmsprop_step(p, g, s, 1, 0.1, momentum=0.5)
    with pytest.raises(ValueError, match="lr_decay"):
        K.adagrad_step(p, g, s, 1, 0.1, lr_decay=-1)
    with pytest.raises(ValueError, match="alpha"):
        K.rmsprop_step(p, g, s, 1, 0.1, alpha=-1)
    np.testing.assert_array_equal(p, 1.0)
