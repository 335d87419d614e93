"""Reference ``minimize_many``: the textbook meaning, a loop of the
reference ``minimize`` over the rows of X0 (each with its own row of
per-problem bounds)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from fastgrad.reference.minimize import minimize

__all__ = ["minimize_many"]


def minimize_many(fun: Callable, X0: Any, *, data: Any = None, threads: int = 1,
                  bounds: Any = None, **options: Any) -> list[dict]:
    """One reference ``minimize`` result per row of ``X0`` (shape (k, n)).

    ``bounds``: None or a pair ``(lb, ub)`` of scalars, n values (shared) or
    (k, n) values (row i bounds problem i). ``threads`` is accepted and
    ignored; ``data`` must be None.
    """
    if data is not None:
        raise NotImplementedError("data: per-problem data inputs are not available")
    X = np.asarray(X0, dtype=np.float64)
    k, n = X.shape
    rows = None
    if bounds is not None:
        rows = [np.broadcast_to(np.asarray(b, dtype=np.float64), (k, n)) for b in bounds]
    return [minimize(fun, X[i], bounds=None if rows is None else (rows[0][i], rows[1][i]),
                     **options) for i in range(k)]
