"""``fastgrad.dask.minimize``: data-parallel fitting on a Dask cluster.

The objective is a sum over the row blocks of Dask arrays,
``F(x) = sum_b cf(x, X_b, y_b) + penalty(x)``. The driver runs
:func:`fastgrad.minimize` (any full-batch method, with its line search); each
evaluation sends ``x`` once to every worker that holds blocks, the worker
sums ``cf.value_and_gradient(x, X_b, y_b)`` over its blocks (one C call per
block) and returns a single ``(f, g)``; the driver adds the partial sums in a
fixed order. The data are persisted once and stay where they are; the
compiled function is sent once to each worker.

Needs ``dask[distributed]`` (``pip install "fastgrad[dask]"``); importing
``fastgrad`` does not import this module.

Example
-------
>>> import dask.array as da, numpy as np, fastgrad as fg        # doctest: +SKIP
>>> from distributed import Client
>>> from fastgrad.dask import minimize
>>> client = Client(n_workers=2, threads_per_worker=1)
>>> X = da.random.normal(size=(1_000_000, 20), chunks=(100_000, 20))
>>> y = (X[:, 0] > 0).astype(float)
>>> def loss(w, X, y):
...     z = X @ w
...     return np.sum(np.logaddexp(0, z) - y * z)
>>> cf = fg.compile(loss, (20,), data=(X[:2].compute(), y[:2].compute()))  # a sample
>>> res = minimize(cf, np.zeros(20), data=(X, y), method="lbfgs")
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from fastgrad.compiled import CompiledFunction
from fastgrad.minimize import METHODS, OptimizeResult
from fastgrad.minimize import minimize as _minimize

try:
    import dask.array as _da
    import distributed as _distributed
except ImportError as _exc:  # the extra is optional; say how to get it
    raise ImportError('fastgrad.dask needs dask.distributed: pip install "fastgrad[dask]"') \
        from _exc

__all__ = ["minimize"]

# minimize's options that this module supplies itself.
_OWN_OPTIONS = ("jac", "hess", "hessp", "gradient")


def _sum_value_and_gradient(cf: Any, x: np.ndarray, m: int, *blocks: np.ndarray,
                            **kw: Any) -> tuple[float, np.ndarray, int]:
    """The worker's job: ``sum_b cf.value_and_gradient(x, *block_b)``.

    Parameters
    ----------
    cf : compiled function with data inputs
        Anything with ``value_and_gradient(x, *arrays) -> (f, g)``.
    x : ndarray
        The point.
    m : int
        Arrays per row block (2 for ``(X, y)``).
    *blocks : ndarray
        The blocks, ``m`` per row block, row block after row block.
    **kw
        Passed to ``value_and_gradient`` (the differentiation method).

    Returns
    -------
    (float, ndarray, int)
        The summed value and gradient, and how many row blocks went into
        them (the driver checks that every block was counted once).
    """
    f = 0.0
    g = np.zeros(np.shape(x))
    for i in range(0, len(blocks), m):
        fi, gi = cf.value_and_gradient(x, *blocks[i:i + m], **kw)
        f += fi
        g += gi
    return f, g, len(blocks) // m


def _sum_hvp(cf: Any, x: np.ndarray, v: np.ndarray, m: int, *blocks: np.ndarray
              ) -> tuple[np.ndarray, int]:
    """The worker's Hessian-vector product ``sum_b cf.hvp(x, v, *block_b)``.

    ``v`` may be a matrix whose rows are directions: then the result holds
    one product per row (the Hessian itself for the identity), from one
    message per worker.

    Returns
    -------
    (ndarray, int)
        The summed products (v's shape) and the number of row blocks.
    """
    out = np.zeros(np.shape(v))
    many = np.ndim(v) == np.ndim(x) + 1
    for i in range(0, len(blocks), m):
        part = blocks[i:i + m]
        if many:
            for j in range(len(v)):
                out[j] += cf.hvp(x, v[j], *part)
        else:
            out += cf.hvp(x, v, *part)
    return out, len(blocks) // m


def _check_data(data: Any) -> list:
    """The Dask arrays of ``data``, checked: rows split alike, nothing else split."""
    if not isinstance(data, (tuple, list)) or not data:
        raise TypeError("data must be a non-empty tuple of Dask arrays, e.g. (X, y)")
    arrays = list(data)
    for i, a in enumerate(arrays):
        if not isinstance(a, _da.Array):
            raise TypeError(f"data[{i}] must be a Dask array (dask.array.from_array wraps a "
                            f"NumPy one), got {type(a).__name__}")
        if a.ndim < 1:
            raise ValueError(f"data[{i}] must have a first (row) axis, got a 0-d array")
        if any(math.isnan(c) for c in a.chunks[0]):
            raise ValueError(f"data[{i}] has unknown chunk sizes; call "
                             "compute_chunk_sizes() first")
        split = [axis for axis in range(1, a.ndim) if len(a.chunks[axis]) > 1]
        if split:
            raise ValueError(f"data[{i}] must be chunked along rows only; it is split along "
                             f"axis {split[0]} (rechunk with {{{split[0]}: -1}})")
        if a.chunks[0] != arrays[0].chunks[0]:
            raise ValueError(f"data[{i}]'s row blocks {a.chunks[0]} do not match data[0]'s "
                             f"{arrays[0].chunks[0]}; rechunk it with chunks={{0: "
                             "data[0].chunks[0]}")
    return arrays


def _row_block_keys(a: Any) -> list:
    """The keys of a's blocks, in row order (one block per row block)."""
    keys = a.__dask_keys__()
    for _ in range(1, a.ndim):
        keys = [k[0] for k in keys]
    return list(keys)


class _Group:
    """The row blocks one worker holds, with the compiled function, on that worker.

    Built once per fit by a task on the worker that holds the blocks (the
    arrays are the worker's own, not copies); every evaluation is a task on
    this one object, so the function is unpickled once per worker and no
    block moves after the first iteration.
    """

    def __init__(self, cf: Any, m: int, *blocks: np.ndarray):
        self.cf = cf
        self.m = m
        self.blocks = blocks
        # minimize's rule for a compiled function: one adjoint sweep, whose
        # cost does not grow with n, except for n <= 2 (one dual pass).
        reverse = isinstance(cf, CompiledFunction) and cf.size > 2
        self.kw = {"method": "reverse"} if reverse else {}

    def __sizeof__(self) -> int:
        # What Dask's scheduler weighs before moving this object: its blocks.
        return object.__sizeof__(self) + sum(b.nbytes for b in self.blocks)

    def value_and_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray, int]:
        return _sum_value_and_gradient(self.cf, x, self.m, *self.blocks, **self.kw)

    def hvp(self, x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, int]:
        return _sum_hvp(self.cf, x, v, self.m, *self.blocks)


def _group_value_and_gradient(group: _Group, x: np.ndarray) -> tuple[float, np.ndarray, int]:
    return group.value_and_gradient(x)


def _group_hvp(group: _Group, x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, int]:
    return group.hvp(x, v)


class _Cluster:
    """The persisted blocks, grouped by the worker that holds them.

    The groups are fixed at the start. Each evaluation runs one task per
    group, on its worker; if that worker is lost, Dask recomputes the group
    elsewhere (from the blocks' lineage) and the sums, taken in the same
    order, are unchanged.
    """

    def __init__(self, client: Any, cf: Any, arrays: list):
        self.client = client
        # Persisting data that are persisted already keeps their blocks.
        self.arrays = client.persist(arrays)
        futures = {f.key: f for f in _distributed.futures_of(self.arrays)}
        rows = [[futures[k] for k in _row_block_keys(a)] for a in self.arrays]
        _distributed.wait([f for col in rows for f in col])
        where = client.who_has(rows[0])
        by_worker: dict[str, list[int]] = {}
        for i, f in enumerate(rows[0]):
            holders = sorted(where.get(f.key, ()))
            by_worker.setdefault(holders[0] if holders else "", []).append(i)
        self.sizes = []
        self.groups = []
        for worker, idx in sorted(by_worker.items(), key=lambda item: item[1][0]):
            blocks = [col[i] for i in idx for col in rows]
            self.groups.append(client.submit(
                _Group, cf, len(rows), *blocks, pure=False,
                workers=[worker] if worker else None, allow_other_workers=True))
            self.sizes.append(len(idx))
        _distributed.wait(self.groups)
        where = client.who_has(self.groups)
        self.homes = [sorted(where.get(g.key, ())) or None for g in self.groups]
        self.evaluations = 0

    def _map(self, fun: Callable, *args: Any) -> list:
        """fun(group, *args) on every group; check that every block came back."""
        self.evaluations += 1
        futures = [self.client.submit(fun, group, *args, pure=False, workers=home,
                                      allow_other_workers=True)
                   for group, home in zip(self.groups, self.homes)]
        try:
            results = self.client.gather(futures)
        except Exception as exc:
            self.client.cancel(futures)
            raise RuntimeError(f"fastgrad.dask: evaluation {self.evaluations} failed on a "
                               f"worker (after Dask's retries): {type(exc).__name__}: {exc}") \
                from exc
        for size, out in zip(self.sizes, results):
            if out[-1] != size:
                raise RuntimeError(f"fastgrad.dask: a worker summed {out[-1]} of its {size} "
                                   f"row blocks in evaluation {self.evaluations}")
        return results

    def value_and_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        parts = self._map(_group_value_and_gradient, x)
        f = 0.0
        g = np.zeros(x.shape)
        for fi, gi, _ in parts:
            f += fi
            g += gi
        return f, g

    def hvp(self, x: np.ndarray, v: np.ndarray) -> np.ndarray:
        out = np.zeros(np.shape(v))
        for hv, _ in self._map(_group_hvp, x, v):
            out += hv
        return out

    def close(self) -> None:
        self.client.cancel(self.groups)


def minimize(cf: Any, x0: Any, *, data: Sequence, penalty: Any = None, method: str = "lbfgs",
             client: Any = None, **options: Any) -> OptimizeResult:
    """Minimize ``sum_b cf(x, *data_b) + penalty(x)`` over the row blocks of Dask arrays.

    Parameters
    ----------
    cf : compiled function with data inputs
        ``fastgrad.compile(f, shape, data=...)``, or any picklable object
        with ``value_and_gradient(x, *blocks) -> (f, g)`` (and ``hvp(x, v,
        *blocks)`` for newton-cg and newton). Sent to each worker once.
    x0 : array_like
        Starting point (see :func:`fastgrad.minimize`).
    data : tuple of dask.array.Array
        ``(X, y)`` or any number of arrays, chunked along the first axis
        only, all with the same row chunks. Persisted on the cluster for the
        run (arrays persisted already stay as they are).
    penalty : compiled function of x, optional
        Added once, on the driver (``value_and_gradient(x)``, ``hvp(x, v)``).
    method : str
        Any method of :func:`fastgrad.minimize`; it runs on the driver. newton
        builds the Hessian from one batch of Hessian-vector products per
        worker (n of them per block: for small n).
    client : distributed.Client, optional
        Default: the current client (``distributed.get_client()``).
    **options
        Passed to :func:`fastgrad.minimize` (``tol``, ``maxiter``, ``lr``,
        ``callback``, ``bounds``, ...), except ``jac``, ``hess``, ``hessp``
        and ``gradient``, which this function supplies.

    Returns
    -------
    OptimizeResult
        As :func:`fastgrad.minimize`; the iterates equal single-process
        ``minimize`` on the concatenated data up to summation order.

    Raises
    ------
    TypeError
        data not Dask arrays, cf or penalty without ``value_and_gradient``,
        an option this function supplies.
    ValueError
        Unknown method; data split along a column axis or with row blocks
        that differ between arrays; no Dask client.
    RuntimeError
        A worker's evaluation failed after Dask's retries (a lost worker is
        retried by Dask: its blocks are recomputed elsewhere), or a result
        came back without all of its blocks.
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    supplied = [k for k in _OWN_OPTIONS if k in options]
    if supplied:
        raise TypeError(f"fastgrad.dask.minimize supplies {supplied[0]!r} itself (from cf on "
                        "the workers); do not pass it")
    needs_hvp = method in ("newton-cg", "newton")
    for name, obj in (("cf", cf), ("penalty", penalty)):
        if obj is None and name == "penalty":
            continue
        if not callable(getattr(obj, "value_and_gradient", None)):
            raise TypeError(f"{name} must have value_and_gradient (a compiled function), "
                            f"got {type(obj).__name__}")
        if needs_hvp and not callable(getattr(obj, "hvp", None)):
            raise TypeError(f"method={method!r} needs {name}.hvp")
    size = getattr(cf, "size", None)
    if isinstance(size, int) and np.size(x0) != size:
        raise ValueError(f"x0 has {np.size(x0)} elements but cf takes {size}")
    arrays = _check_data(data)
    if client is None:
        try:
            client = _distributed.get_client()
        except ValueError as exc:
            raise ValueError("no Dask client: start one (distributed.Client()) or pass "
                             "client=") from exc

    cluster = _Cluster(client, cf, arrays)

    def fun(x):
        f, g = cluster.value_and_gradient(x)
        if penalty is not None:
            fp, gp = penalty.value_and_gradient(x)
            f, g = f + fp, g + np.asarray(gp).reshape(g.shape)
        return f, g

    def hessp(x, v):
        out = cluster.hvp(x, v)
        if penalty is not None:
            out = out + np.asarray(penalty.hvp(x, v)).reshape(out.shape)
        return out

    def hess(x):
        n = x.size
        eye = np.eye(n).reshape((n,) + x.shape)
        h = cluster.hvp(x, eye).reshape(n, n)
        if penalty is not None:
            h = h + np.stack([np.asarray(penalty.hvp(x, e)).reshape(n) for e in eye])
        return h

    extra: dict[str, Any] = {}
    if method == "newton-cg":
        extra["hessp"] = hessp
    elif method == "newton":
        extra["hess"] = hess
    try:
        return _minimize(fun, x0, method=method, jac=True, **extra, **options)
    finally:
        cluster.close()
