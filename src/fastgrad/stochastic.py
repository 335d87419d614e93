"""Minibatch training: ``minimize(cf, x0, data=(X, y), batch_size=B, epochs=E)``.

The epoch loop, the gathering of each batch's rows into preallocated
buffers, the batch objective and the optimizer update all run in C
(``csrc/fg_min_stochastic.c``) without the GIL; Python only supplies each
epoch's order of the rows (``numpy.random.default_rng(seed).permutation``)
and the per-epoch callback and progress line. :func:`minimize_batches` is
what :func:`fastgrad.minimize` calls when ``batch_size`` is given.

The loop, as Python (the reference the tests hold the C loop to)::

    rng = np.random.default_rng(seed)
    opt = fg.Adam(x, lr=lr)                  # the method's optimizer class
    for epoch in range(epochs):
        order = rng.permutation(m) if shuffle else np.arange(m)
        for k in range(0, m, B):
            rows = order[k:k + B]
            f_b, g = cf.value_and_gradient(x, X[rows], y[rows])
            if not finite(f_b, g): stop          # x is kept
            opt.step(g)                          # x updated in place
"""
from __future__ import annotations

import sys
import time
from typing import Any, Callable

import numpy as np

from fastgrad import _minimize, _stochastic, _validate

__all__ = ["minimize_batches", "STOCHASTIC_METHODS"]

#: The methods the minibatch loop takes: the first-order rows of the method
#: table (no line search, gradients only).
STOCHASTIC_METHODS: tuple[str, ...] = tuple(
    name for name, row in _minimize.METHOD_TABLE.items()
    if row["default_line_search"] == "none" and not row["needs_hessian"]
    and not row["uses_hvp"])


def _data_arrays(data: Any) -> tuple[np.ndarray, ...]:
    """The data arrays as C-contiguous float64 (real) or int64 (integer)
    arrays with one first axis of at least one row."""
    if not isinstance(data, (tuple, list)) or not data:
        raise TypeError("data must be a non-empty tuple of arrays (X, y, ...), got "
                        f"{type(data).__name__}")
    out = []
    for j, value in enumerate(data):
        name = f"data[{j}]"
        a = np.asarray(value)
        if a.dtype.kind in "iu":
            if a.dtype.kind == "u" and a.size and a.max() > np.iinfo(np.int64).max:
                raise ValueError(f"{name} holds integers beyond int64")
            a = np.ascontiguousarray(a, dtype=np.int64)
        else:
            a = _validate.input_array(name, a, dtype=np.float64, allow_float32=False)
        if a.ndim == 0:
            raise ValueError(f"{name} must have a first axis of rows, got a scalar")
        out.append(a)
    m = out[0].shape[0]
    for j, a in enumerate(out):
        if a.shape[0] != m:
            raise ValueError(f"data[{j}] has {a.shape[0]} rows but data[0] has {m}: every "
                             "data array needs the same first axis")
    if m == 0:
        raise ValueError("data has no rows")
    return tuple(out)


def _generator(seed: Any) -> np.random.Generator:
    if seed is None or isinstance(seed, (np.random.Generator, np.random.SeedSequence)):
        return np.random.default_rng(seed)
    return np.random.default_rng(_validate.integer("seed", seed, low=0, high=None))


class _Epochs:
    """The per-epoch hook: the user's callback and the progress line."""

    def __init__(self, callback: Callable | None, every: int, progress: bool, epochs: int,
                 rows: int, record: bool) -> None:
        self.callback, self.every, self.progress = callback, every, progress
        self.epochs, self.rows, self.record = epochs, rows, record
        self.last = time.perf_counter()

    def __call__(self, epoch, nit, nfev, x, batch_loss, loss) -> bool:
        if self.progress:
            now = time.perf_counter()
            rate = self.rows / max(now - self.last, 1e-9)
            self.last = now
            total = "" if self.epochs == _validate.INT64_MAX else f"/{self.epochs}"
            sys.stderr.write(f"\rminimize: epoch {epoch}{total}  loss {batch_loss: .6e}  "
                             f"{rate:,.0f} rows/s")
            sys.stderr.flush()
        if self.callback is None or epoch % self.every:
            return False
        from fastgrad.minimize import OptimizeResult
        inter = OptimizeResult(x=x, fun=batch_loss, epoch=epoch, nit=nit, nfev=nfev)
        if self.record:
            inter["epoch_fun"] = loss
        stop = self.callback(inter)
        return stop is True or (isinstance(stop, np.bool_) and bool(stop))


def minimize_batches(fun: Any, x0: Any, *, data: Any, batch_size: Any, epochs: Any,
                     shuffle: Any, seed: Any, method: str, lr: Any, maxiter: Any,
                     maximize: Any, callback: Callable | None, callback_every: Any,
                     record: Any, progress: Any, bounds: Any, line_search: Any,
                     options: dict[str, Any]) -> Any:
    """The minibatch loop behind ``minimize(..., batch_size=B)``; see
    :func:`fastgrad.minimize` for the arguments. ``fun`` needs
    ``_fg_batch_capsule`` (a function compiled with data)."""
    from fastgrad.minimize import OptimizeResult, _bounds, _options
    if method not in STOCHASTIC_METHODS:
        raise ValueError(f"batch_size is for the first-order methods "
                         f"({', '.join(map(repr, STOCHASTIC_METHODS))}), not method={method!r}")
    if not hasattr(fun, "_fg_batch_capsule"):
        raise TypeError("batch_size needs a compiled function with data inputs "
                        "(fastgrad.compile(f, shape, data=(X, y))), got "
                        f"{type(fun).__name__}")
    if line_search not in (None, "none"):
        raise ValueError(f"line_search={line_search!r} is not available with batch_size (each "
                         "update takes the step lr)")
    if isinstance(data, (tuple, list)) and hasattr(fun, "with_data"):
        # the compiled function's own checks, naming its arguments: dtypes and
        # trailing shapes as compiled, integer data within the axes they index
        # (on all rows, so on every batch)
        fun.with_data(*data)
    arrays = _data_arrays(data)
    rows = arrays[0].shape[0]
    batch_size = _validate.integer("batch_size", batch_size, low=1)
    if epochs is None and maxiter is None:
        raise ValueError("batch_size needs epochs (or maxiter, the number of updates)")
    epochs = _validate.INT64_MAX if epochs is None else _validate.integer("epochs", epochs,
                                                                          low=0)
    maxiter = _validate.INT64_MAX if maxiter is None else _validate.integer("maxiter", maxiter,
                                                                            low=0)
    shuffle = _validate.flag("shuffle", shuffle)
    rng = _generator(seed) if shuffle else None
    record = _validate.flag("record", record)
    progress = _validate.flag("progress", progress)
    callback_every = _validate.integer("callback_every", callback_every, low=1)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    x = _validate.input_array("x0", x0, dtype=np.float64, finite=True)
    shape = x.shape
    x = x.reshape(-1)
    size = getattr(fun, "size", None)
    if isinstance(size, int) and size != x.size:
        raise ValueError(f"x0 has {x.size} elements but the compiled objective takes {size}")
    c_options, schedule, _ = _options(method, lr, None, options)
    del c_options["line_search"]
    c_options["maxiter"] = maxiter
    c_options["maximize"] = _validate.flag("maximize", maximize)
    box = _bounds(bounds, shape, x.size)
    if box is not None:
        np.clip(x, box[0], box[1], out=x)

    order = None
    if rng is not None:
        drawn = [0]

        def order(epoch: int) -> np.ndarray:
            # the e-th permutation of the generator: epochs arrive in order
            assert epoch == drawn[0], "epochs are ordered one after the other"
            drawn[0] += 1
            return rng.permutation(rows)

    on_epoch = None
    if callback is not None or progress:
        on_epoch = _Epochs(callback, callback_every, progress, epochs, rows, record)
    raw = _stochastic.run(fun, x, method, c_options, arrays, batch_size, epochs, order=order,
                          on_epoch=on_epoch, record=record, schedule=schedule, shape=shape,
                          lower=None if box is None else box[0],
                          upper=None if box is None else box[1])
    if progress:
        sys.stderr.write("\n")
    res = OptimizeResult(
        x=x.reshape(shape), fun=raw["f"], jac=raw["grad"].reshape(shape),
        grad_norm=raw["grad_norm"], nit=raw["nit"], nfev=raw["nfev"], njev=raw["njev"],
        nhev=0, success=raw["success"], status=raw["stop_code"], message=raw["message"],
        method=method, epochs=raw["epochs"])
    if record:
        res["history"] = raw["history"]
    if raw["stop_code"] == 4 and raw["objective_status"]:
        res["message"] += f" (status {raw['objective_status']})"
    return res
