"""fastgrad.schedules: values, validation, use inside optimizers, pickling."""
import pickle

import numpy as np
import pytest

import fastgrad as fg


@pytest.mark.parametrize("schedule, expected", [
    (fg.schedules.constant(0.5), [0.5, 0.5, 0.5, 0.5]),
    (fg.schedules.inverse_time(1.0, decay=1.0), [1.0, 0.5, 1 / 3, 0.25]),
    (fg.schedules.exponential(1.0, gamma=0.5), [1.0, 0.5, 0.25, 0.125]),
    (fg.schedules.step(1.0, step_size=2, gamma=0.1), [1.0, 1.0, 0.1, 0.1]),
    (fg.schedules.cosine(1.0, total_steps=2), [1.0, 0.5, 0.0, 0.0]),
])
def test_schedules_values(schedule, expected):
    np.testing.assert_allclose([schedule(t) for t in range(1, 5)], expected, atol=1e-15)


def test_schedule_validation():
    with pytest.raises(ValueError, match="lr0"):
        fg.schedules.constant(-1.0)
    with pytest.raises(ValueError, match="gamma"):
        fg.schedules.exponential(1.0, gamma=1.5)
    with pytest.raises(ValueError, match="step_size"):
        fg.schedules.step(1.0, step_size=0)
    with pytest.raises(ValueError, match="lr"):
        fg.SGD(np.zeros(1), lr=lambda t: -1.0)
    opt = fg.SGD(np.zeros(1), lr=lambda t: 1.0 if t < 2 else float("nan"))
    opt.step(np.zeros(1))
    with pytest.raises(ValueError, match="lr"):
        opt.step(np.zeros(1))
    assert opt.steps == 1


def test_schedules_pickle_and_compare_by_value():
    s = fg.schedules.cosine(0.1, total_steps=10, lr_min=0.01)
    assert pickle.loads(pickle.dumps(s)) == s


def test_inverse_time_satisfies_robbins_monro_shape():
    s = fg.schedules.inverse_time(1.0, decay=1.0)
    rates = np.array([s(t) for t in range(1, 100001)])
    assert np.all(np.diff(rates) < 0)
    # harmonic: the partial sums of lr grow like log(T); of lr^2 stay below pi^2/6
    assert rates.sum() > 12 and (rates ** 2).sum() < np.pi ** 2 / 6


@pytest.mark.parametrize("make, exc, word", [
    (lambda: fg.schedules.constant("0.1"), TypeError, "lr0"),
    (lambda: fg.schedules.inverse_time(1.0, decay=True), TypeError, "decay"),
    (lambda: fg.schedules.exponential(1.0, gamma="0.5"), TypeError, "gamma"),
    (lambda: fg.schedules.step(1.0, step_size=2.0), TypeError, "step_size"),
    (lambda: fg.schedules.cosine(1.0, total_steps=2.5), TypeError, "total_steps"),
    (lambda: fg.schedules.cosine(1.0, total_steps=10, lr_min=2.0), ValueError, "lr_min"),
    (lambda: fg.schedules.constant(float("inf")), ValueError, "lr0"),
])
def test_schedule_arguments_are_not_coerced(make, exc, word):
    """A string, a bool or a float where an integer is meant is refused,
    naming the argument (no coercion)."""
    with pytest.raises(exc, match=word):
        make()
