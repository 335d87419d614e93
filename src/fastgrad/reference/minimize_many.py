"""Reference ``minimize_many``: the textbook meaning, a loop of the
reference ``minimize`` over the rows of X0 (each with its own row of
per-problem bounds and data)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from fastgrad.reference.minimize import minimize

__all__ = ["minimize_many"]


def minimize_many(fun: Callable, X0: Any, *, data: Any = None, threads: int = 1,
                  bounds: Any = None, **options: Any) -> list[dict]:
    """One reference ``minimize`` result per row of ``X0`` (shape (k, n)).

    ``bounds``: None or a pair ``(lb, ub)`` of scalars, n values (shared) or
    (k, n) values (row i bounds problem i). ``data``: None or a tuple of
    arrays with first axis k; problem i calls ``fun(x, *rows)`` (and
    ``jac``, ``hess``, ``hessp`` likewise) with ``rows = tuple(d[i] for d
    in data)``. ``threads`` is accepted and ignored.
    """
    X = np.asarray(X0, dtype=np.float64)
    k, n = X.shape
    lims = None
    if bounds is not None:
        lims = [np.broadcast_to(np.asarray(b, dtype=np.float64), (k, n)) for b in bounds]
    out = []
    for i in range(k):
        fi, opts = fun, options
        if data is not None:
            rows = tuple(np.asarray(d)[i] for d in data)
            fi = _with_rows(fun, rows)
            opts = {name: _with_rows(value, rows) if name in ("jac", "hess", "hessp")
                    and callable(value) else value for name, value in options.items()}
        out.append(minimize(fi, X[i], bounds=None if lims is None else (lims[0][i], lims[1][i]),
                            **opts))
    return out


def _with_rows(fn: Callable, rows: tuple) -> Callable:
    return lambda *args: fn(*args, *rows)
