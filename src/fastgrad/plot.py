"""Pictures of optimization runs (matplotlib, imported lazily).

``plot_contours`` draws the level curves of a function of two variables, its
gradient field as arrows (perpendicular to the level curves), and each
trajectory as a line with markers. ``plot_convergence`` draws f and
``||grad f||`` against the iteration on log scales. Both build a
``matplotlib.figure.Figure`` directly (Agg canvas, no pyplot, no global
backend change), so they work on headless machines; pass ``filename`` to
save a PNG.

Example
-------
>>> import numpy as np, fastgrad as fg
>>> from fastgrad.plot import plot_contours
>>> f = lambda x: 3 * x[0]**2 + x[1]**2
>>> res = fg.minimize(f, [2.0, 4.0], method="gd", lr=0.1, record=True,
...                   jac=lambda x: np.array([6 * x[0], 2 * x[1]]))
>>> fig = plot_contours(f, (-3, 3), (-5, 5), {"gd": res})   # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["plot_contours", "plot_convergence"]


def _mpl() -> Any:
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("fastgrad.plot needs matplotlib: pip install matplotlib "
                          "(or pip install fastgrad[plot])") from exc
    return Figure, FigureCanvasAgg


def _new_axes(ax: Any, ncols: int = 1, size: tuple[float, float] = (6.4, 5.6)) -> tuple:
    if ax is not None:
        return ax.figure, ax
    Figure, Canvas = _mpl()
    fig = Figure(figsize=(size[0] * ncols, size[1]), layout="constrained")
    Canvas(fig)
    axes = fig.subplots(1, ncols)
    return fig, axes


def _on_grid(f: Callable, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """f at every grid point: one vectorized call f(stack([X, Y])) when f
    accepts it (NumPy code written with x[0], x[1]), else one call per point."""
    pts = np.stack([X, Y])
    try:
        with np.errstate(all="ignore"):
            Z = np.asarray(f(pts), dtype=np.float64)
        if Z.shape == X.shape:
            return Z
    except Exception:  # noqa: BLE001 - any failure means "not vectorized"
        pass
    flat = pts.reshape(2, -1).T
    return np.array([float(f(p)) for p in flat]).reshape(X.shape)


def _trajectory_points(traj: Any) -> np.ndarray:
    if isinstance(traj, Mapping) and "history" in traj:
        traj = traj["history"]["x"]
    elif isinstance(traj, Mapping) and "x" in traj:
        traj = traj["x"]
    xs = np.asarray(traj, dtype=np.float64)
    if xs.ndim != 2 or xs.shape[1] != 2:
        raise ValueError(f"a trajectory must be an (k, 2) array of points (or a minimize "
                         f"result with record=True), got shape {xs.shape}")
    return xs


def _levels(Z: np.ndarray, n: int) -> np.ndarray:
    """Contour levels up to the 95th percentile of f on the grid (the corners
    of a box would otherwise take most levels): log-spaced above the minimum
    when f spans several decades (Rosenbrock's valley), else even."""
    finite = Z[np.isfinite(Z)]
    lo, hi = float(finite.min()), float(np.quantile(finite, 0.95))
    if hi <= lo:
        return np.array([lo, lo + 1.0])
    span = hi - lo
    if span / max(abs(np.median(finite) - lo), 1e-300) > 5:
        return lo + np.geomspace(span * 1e-3, span, n)
    return np.linspace(lo, hi, n + 1)[1:]


def _color(k: int) -> str:
    """Trajectory colors, the same in both plots (tab10)."""
    return f"C{k % 10}"


def plot_contours(f: Callable, xlim: tuple[float, float], ylim: tuple[float, float],
                  trajectories: Mapping[str, Any] | None = None, *,
                  gradient_field: bool = True, grad: Callable | None = None,
                  levels: int = 25, resolution: int = 200, arrows: int = 19,
                  ax: Any = None, title: str | None = None, filename: str | None = None,
                  minimum: tuple[float, float] | None = None, legend_loc: str = "best") -> Any:
    """Contour lines of f, its gradient field and optimization trajectories.

    Parameters
    ----------
    f : callable
        ``f(x) -> float`` for ``x`` of shape (2,). NumPy code written with
        ``x[0]``, ``x[1]`` is evaluated on the whole grid in one call.
    xlim, ylim : (float, float)
        The plotted box.
    trajectories : dict, optional
        ``{name: points}`` with points an ``(k, 2)`` array of iterates or a
        ``minimize`` result made with ``record=True``.
    gradient_field : bool
        Draw ``grad f`` as unit arrows on an ``arrows x arrows`` grid
        (colored by ``log10 ||grad f||``); they point uphill, perpendicular
        to the level curves (the axes get equal aspect so that this shows).
    grad : callable, optional
        ``grad(x) -> (2,)``; default: central differences of f on the
        contour grid (``numpy.gradient``).
    levels, resolution : int
        Number of contour levels; grid points per axis.
    ax : matplotlib Axes, optional
        Draw into it; default a new Figure.
    title, filename : str, optional
        Axes title; save the figure there (PNG, 150 dpi).
    minimum : (float, float), optional
        Mark a known minimum.
    legend_loc : str
        Where matplotlib puts the legend.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _new_axes(ax)
    xs = np.linspace(xlim[0], xlim[1], resolution)
    ys = np.linspace(ylim[0], ylim[1], resolution)
    X, Y = np.meshgrid(xs, ys)
    Z = _on_grid(f, X, Y)
    cs = ax.contour(X, Y, Z, levels=_levels(Z, levels), cmap="viridis", linewidths=0.8,
                    alpha=0.9)
    if not np.allclose(np.diff(cs.levels), np.diff(cs.levels)[0]):
        pass  # log-spaced levels crowd in valleys, where labels would cut white gaps
    else:
        ax.clabel(cs, cs.levels[::5], inline=True, fontsize=6, fmt="%.3g")
    if gradient_field:
        step = max(resolution // arrows, 1)
        sl = (slice(step // 2, None, step), slice(step // 2, None, step))
        if grad is None:
            gy, gx = np.gradient(Z, ys, xs)
            gx, gy = gx[sl], gy[sl]
        else:
            pts = np.stack([X[sl].ravel(), Y[sl].ravel()], axis=1)
            g = np.array([np.asarray(grad(p), dtype=np.float64) for p in pts])
            gx, gy = g[:, 0].reshape(X[sl].shape), g[:, 1].reshape(X[sl].shape)
        mag = np.hypot(gx, gy)
        with np.errstate(all="ignore"):
            length = 0.7 * min(xs[step] - xs[0], ys[step] - ys[0])
            u, v = gx / mag * length, gy / mag * length
        ok = np.isfinite(u) & np.isfinite(v) & (mag > 0)
        colors = np.log10(np.where(ok, mag, 1.0))
        ax.quiver(X[sl][ok], Y[sl][ok], u[ok], v[ok], colors[ok], cmap="Greys",
                  angles="xy", scale_units="xy", scale=1.0, width=0.0028, headwidth=3.5,
                  alpha=0.75, zorder=2)
    for k, (name, traj) in enumerate((trajectories or {}).items()):
        pts = _trajectory_points(traj)
        color = _color(k)
        every = max(len(pts) // 40, 1)
        ax.plot(pts[:, 0], pts[:, 1], "-o", color=color, lw=1.6, ms=3.5, markevery=every,
                label=f"{name} ({len(pts) - 1} it)", zorder=3)
        ax.plot(pts[0, 0], pts[0, 1], "o", mfc="white", mec="black", ms=7, zorder=4)
        ax.plot(pts[-1, 0], pts[-1, 1], "*", color=color, mec="black", mew=0.5, ms=13, zorder=4)
    if minimum is not None:
        ax.plot(*minimum, "P", color="red", mec="white", ms=11, zorder=5, label="minimum")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    if title:
        ax.set_title(title)
    if trajectories or minimum is not None:
        ax.legend(fontsize=7, loc=legend_loc, framealpha=0.85,
                  title="o start, * end" if trajectories else None, title_fontsize=7)
    if filename:
        fig.savefig(filename, dpi=150)
    return fig


def plot_convergence(results: Mapping[str, Any], *, ax: Any = None,
                     title: str | None = None, filename: str | None = None) -> Any:
    """f and ||grad f|| against the iteration, log scales, one line per run.

    Parameters
    ----------
    results : dict
        ``{name: result}``, each a ``minimize`` result made with
        ``record=True`` (or a dict with arrays ``fun`` and ``grad_norm``).
    ax : pair of matplotlib Axes, optional
        Draw f into ``ax[0]`` and ``||grad||`` into ``ax[1]``.
    title, filename : str, optional
        Figure title; save the figure there (PNG, 150 dpi).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The x axis is ``iteration + 1`` on a log scale (x0 is 1), so runs of 20
    and of 20,000 iterations both show. f is drawn as is when every value is
    positive, else as ``f - f*`` with ``f*`` the smallest value seen in all
    runs (so that the log scale shows the convergence rate). Runs of at
    most 40 iterations get markers.
    """
    if ax is None:
        fig, axes = _new_axes(None, ncols=2, size=(5.2, 4.2))
    else:
        axes = ax
        fig = axes[0].figure
    hists = {}
    for name, r in results.items():
        h = r["history"] if "history" in r else r
        hists[name] = (np.asarray(h["fun"], dtype=np.float64),
                       np.asarray(h["grad_norm"], dtype=np.float64))
    fmin = min((np.nanmin(fv) for fv, _ in hists.values() if fv.size), default=0.0)
    shift = 0.0 if fmin > 0 else fmin   # positive f (a minimum at 0) is drawn as is
    for k, (name, (fv, gv)) in enumerate(hists.items()):
        it = np.arange(1, fv.size + 1)
        with np.errstate(all="ignore"):
            gap = fv - shift
        gap = np.where(gap > 0, gap, np.nan)
        style = dict(color=_color(k), lw=1.4, label=name,
                     marker="o" if fv.size <= 40 else None, ms=3)
        axes[0].plot(it, gap, **style)
        axes[1].plot(it, np.where(gv > 0, gv, np.nan), **style)
    axes[0].set_ylabel("f" if shift == 0.0 else f"f - f*   (f* = {fmin:.3g})")
    axes[1].set_ylabel("||grad f||")
    for a in axes:
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("iteration + 1")
        a.grid(True, which="major", alpha=0.3)
    axes[1].legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title)
    if filename:
        fig.savefig(filename, dpi=150)
    return fig
