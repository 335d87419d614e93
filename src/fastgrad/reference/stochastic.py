"""Plain Python/NumPy twin of ``fastgrad.stochastic.minimize_batches`` (the
minibatch loop of ``minimize(..., batch_size=B)``): the tests' oracle.

The loop of ``csrc/fg_min_stochastic.c`` written out: epoch e's order is the
e-th ``permutation(m)`` of ``numpy.random.default_rng(seed)`` (rows in order
without shuffling), each batch's gradient comes from
``fun.value_and_gradient(x, *batch)`` and the update from
``fastgrad.reference.optimizers`` (through ``reference.minimize``'s
first-order state), so the C loop agrees with it to rounding.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from fastgrad.reference.minimize import (_BUFFERS, _DEFAULTS, _finite, _FirstOrder, _Result,
                                         _start)

__all__ = ["minimize_batches"]


def minimize_batches(fun: Any, x0: Any, *, data: tuple, batch_size: int,
                     epochs: int | None = None, shuffle: bool = True, seed: Any = None,
                     method: str = "adam", lr: float | Callable[[int], float] | None = None,
                     maxiter: int | None = None, maximize: bool = False, record: bool = False,
                     bounds: Any = None, **options: Any) -> dict:
    """Reference minibatch loop; the fields of ``minimize``'s result
    (``fun``, ``jac``, ``grad_norm`` on all rows at ``x``), ``epochs``, and
    with ``record=True`` ``history["epoch_fun"]`` and ``history["fun"]``.
    ``bounds`` is ``None`` or a pair ``(lb, ub)`` of arrays."""
    if method not in _BUFFERS:
        raise ValueError(f"method={method!r} is not a first-order method")
    h = dict(_DEFAULTS[method], **options)
    schedule = lr if callable(lr) else None
    base_lr = float(h["lr"] if lr is None or schedule else lr)   # type: ignore[arg-type]
    shape, x, box = _start(x0, bounds)
    opt = _FirstOrder(method, h, x.size, maximize)
    m = len(data[0])
    B = min(batch_size, m)
    rng = np.random.default_rng(seed)
    last_epoch = math.inf if epochs is None else epochs
    last_update = math.inf if maxiter is None else maxiter
    epoch_fun: list[float] = []
    batch_fun: list[float] = []
    t, e, status = 0, 0, 10
    while e < last_epoch and status == 10:
        order = None
        for k in range(0, m, B):
            if t >= last_update:
                status = 1
                break
            if order is None:
                order = rng.permutation(m) if shuffle else np.arange(m)
            rows = order[k:k + B]
            f, g = fun.value_and_gradient(x.reshape(shape), *(a[rows] for a in data))
            g = np.asarray(g, dtype=np.float64).reshape(-1)
            if not _finite(f, g):
                status = 2
                break
            batch_fun.append(f)
            t += 1
            xn = opt.step(x, g, float(schedule(t)) if schedule else base_lr, t)
            if not _finite(xn):
                status = 2
                break
            x = xn if box is None else np.clip(xn, box[0], box[1])
        else:
            e += 1
            if record:
                epoch_fun.append(fun(x.reshape(shape), *data))
    f, g = fun.value_and_gradient(x.reshape(shape), *data)
    g = np.asarray(g, dtype=np.float64).reshape(-1)
    with np.errstate(over="ignore"):     # a diverged run's gradient may overflow the norm
        norm = float(np.linalg.norm(g))
    res = _Result(x=x.reshape(shape), fun=f, jac=g.reshape(shape),
                  grad_norm=norm, nit=t, epochs=e, status=status,
                  success=status == 10, method=method)
    if record:
        res["history"] = dict(epoch_fun=np.array(epoch_fun), fun=np.array(batch_fun))
    return res
