"""The option corpus shared by the optimizer and kernel tests: every valid
combination of each optimizer's options."""
import itertools

import fastgrad as fg
import fastgrad.reference as ref


def _product(**axes):
    keys = list(axes)
    for values in itertools.product(*(axes[k] for k in keys)):
        yield dict(zip(keys, values))


def sgd_options():
    for o in _product(momentum=[0.0, 0.9], dampening=[0.0, 0.25], weight_decay=[0.0, 0.05],
                      nesterov=[False, True], maximize=[False, True]):
        if o["nesterov"] and (o["momentum"] == 0 or o["dampening"] != 0):
            continue
        yield dict(o, lr=0.05)


def adam_options():
    for o in _product(weight_decay=[0.0, 0.05], amsgrad=[False, True], maximize=[False, True],
                      betas=[(0.9, 0.999), (0.3, 0.8)]):
        yield dict(o, lr=0.01, eps=1e-8)


def rmsprop_options():
    for o in _product(centered=[False, True], momentum=[0.0, 0.9], weight_decay=[0.0, 0.05],
                      maximize=[False, True], alpha=[0.99, 0.3]):
        yield dict(o, lr=0.01)


def adagrad_options():
    for o in _product(lr_decay=[0.0, 0.1], weight_decay=[0.0, 0.05],
                      initial_accumulator_value=[0.0, 0.5], maximize=[False, True]):
        yield dict(o, lr=0.1)


def adamax_options():
    for o in _product(weight_decay=[0.0, 0.05], maximize=[False, True],
                      betas=[(0.9, 0.999), (0.3, 0.8)]):
        yield dict(o, lr=0.01, eps=1e-8)


def nadam_options():
    for o in _product(weight_decay=[0.0, 0.05], decoupled_weight_decay=[False, True],
                      maximize=[False, True], betas=[(0.9, 0.999), (0.3, 0.8)],
                      momentum_decay=[4e-3, 0.5]):
        if o["decoupled_weight_decay"] and not o["weight_decay"]:
            continue
        yield dict(o, lr=0.01, eps=1e-8)


CASES = [
    ("SGD", fg.SGD, ref.SGD, list(sgd_options())),
    ("Adam", fg.Adam, ref.Adam, list(adam_options())),
    ("AdamW", fg.AdamW, ref.AdamW, list(adam_options())),
    ("RMSprop", fg.RMSprop, ref.RMSprop, list(rmsprop_options())),
    ("Adagrad", fg.Adagrad, ref.Adagrad, list(adagrad_options())),
    ("Adamax", fg.Adamax, ref.Adamax, list(adamax_options())),
    ("NAdam", fg.NAdam, ref.NAdam, list(nadam_options())),
]


def all_cases():
    """(id, fast class, reference class, options) for every combination."""
    for name, fast, slow, options in CASES:
        for i, o in enumerate(options):
            yield pytest_param(f"{name}-{i}", fast, slow, o)


def pytest_param(case_id, fast, slow, options):
    import pytest

    return pytest.param(fast, slow, options, id=case_id)
