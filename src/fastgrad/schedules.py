"""Learning-rate schedules: callables ``lr(step) -> float``, step counting from 1.

Any callable works as an optimizer's ``lr``; these are picklable classes so
that an optimizer using one pickles too.

Example
-------
>>> import numpy as np, fastgrad as fg
>>> x = np.zeros(3)
>>> opt = fg.SGD(x, lr=fg.schedules.inverse_time(0.5, decay=1.0))
>>> [opt.lr_at(t) for t in (1, 2, 3)]
[0.5, 0.25, 0.16666666666666666]
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from fastgrad import _validate

__all__ = ["constant", "inverse_time", "exponential", "step", "cosine"]


def _check(name: str, value: float, low: float = 0.0, high: float = math.inf) -> float:
    """A real number (not a string, not a bool) in [low, high]."""
    return _validate.real(name, value, low=low, high=high)


@dataclass(frozen=True)
class constant:
    """``lr(t) = lr0``."""

    lr0: float

    def __post_init__(self) -> None:
        _check("lr0", self.lr0)

    def __call__(self, step: int) -> float:
        return self.lr0


@dataclass(frozen=True)
class inverse_time:
    """Robbins-Monro decay: ``lr(t) = lr0 / (1 + decay * (t - 1))``.

    With ``decay > 0`` the rates satisfy ``sum lr = inf`` and
    ``sum lr**2 < inf``, the Robbins-Monro conditions for stochastic
    approximation. (Counting from t = 1 so that the first step uses ``lr0``.)
    """

    lr0: float
    decay: float = 1.0

    def __post_init__(self) -> None:
        _check("lr0", self.lr0)
        _check("decay", self.decay)

    def __call__(self, step: int) -> float:
        return self.lr0 / (1.0 + self.decay * (step - 1))


@dataclass(frozen=True)
class exponential:
    """``lr(t) = lr0 * gamma**(t - 1)``."""

    lr0: float
    gamma: float

    def __post_init__(self) -> None:
        _check("lr0", self.lr0)
        _check("gamma", self.gamma, 0.0, 1.0)

    def __call__(self, step: int) -> float:
        return self.lr0 * self.gamma ** (step - 1)


@dataclass(frozen=True)
class step:
    """Piecewise constant: ``lr(t) = lr0 * gamma**((t - 1) // step_size)``
    (torch's StepLR)."""

    lr0: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        _check("lr0", self.lr0)
        _check("gamma", self.gamma, 0.0, 1.0)
        _validate.integer("step_size", self.step_size, low=1)

    def __call__(self, t: int) -> float:
        return self.lr0 * self.gamma ** ((t - 1) // self.step_size)


@dataclass(frozen=True)
class cosine:
    """Cosine annealing from ``lr0`` to ``lr_min`` over ``total_steps``:
    ``lr(t) = lr_min + (lr0 - lr_min) * (1 + cos(pi * (t - 1) / total_steps)) / 2``,
    then ``lr_min`` (torch's CosineAnnealingLR without restarts)."""

    lr0: float
    total_steps: int
    lr_min: float = 0.0

    def __post_init__(self) -> None:
        _check("lr0", self.lr0)
        _check("lr_min", self.lr_min, 0.0, self.lr0)
        _validate.integer("total_steps", self.total_steps, low=1)

    def __call__(self, step: int) -> float:
        k = min(step - 1, self.total_steps)
        return self.lr_min + (self.lr0 - self.lr_min) * (1 + math.cos(math.pi * k / self.total_steps)) / 2
