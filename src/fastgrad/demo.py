"""``python -m fastgrad demo``: the worked examples, minimized with several methods.

Prints the first gradient-descent iterates of 3x^2 + y^2 (the seed example),
then a table (problem, method, iterations, final f, ||grad||, time) for
3x^2 + y^2, x^2 + y^2 + xy and the 2-D Rosenbrock function, and, when
matplotlib is installed, writes ``fastgrad_demo_contours.png`` (level curves,
gradient field, each method's trajectory) and ``fastgrad_demo_convergence.png``
(f and ||grad|| against the iteration).

The objectives are ordinary NumPy functions compiled with
``fastgrad.compile``: each minimize loop (tape gradient, update, stopping
test) runs entirely in C with the GIL released, and Newton uses the tape's
exact hyper-dual Hessian. The plots evaluate the same NumPy functions on the
contour grid (one vectorized call) and draw the tape's exact gradient field.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Sequence

from fastgrad.compiled import compile as fg_compile
from fastgrad.minimize import minimize

__all__ = ["main", "PROBLEMS"]


def seed(x):
    """The seed example 3x^2 + y^2."""
    return 3 * x[0] ** 2 + x[1] ** 2


def cross(x):
    """x^2 + y^2 + xy."""
    return x[0] ** 2 + x[1] ** 2 + x[0] * x[1]


def rosenbrock(x):
    """The 2-D Rosenbrock function (1 - x)^2 + 100 (y - x^2)^2."""
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def _problem(f: Any, name: str, label: str, lr: dict[str, float],
             maxiter: dict[str, int] | None = None, **fields: Any) -> dict[str, Any]:
    """One row of PROBLEMS: ``f`` compiled for 2-D input, and its methods:
    each first-order method with its learning rate ``lr[method]`` (and its
    own iteration limit where ``maxiter`` gives one), then Newton, which
    needs neither. ``fields``: x0, tol, the plot box, the minimum, ..."""
    limits = maxiter or {}
    methods: dict[str, dict[str, Any]] = {
        m: dict(lr=rate, **({"maxiter": limits[m]} if m in limits else {}))
        for m, rate in lr.items()}
    methods["newton"] = {}
    return dict(name=name, label=label, f=f, objective=fg_compile(f, (2,)), **fields,
                methods=methods)


# keys: name, label, f (NumPy code), objective (f compiled), x0, tol, the plot
# box xlim x ylim, minimum, [legend_loc], methods ({method: options})
PROBLEMS: list[dict[str, Any]] = [
    _problem(seed, "3x^2 + y^2", r"$3x^2 + y^2$",
             lr=dict(gd=0.1, momentum=0.01, nesterov=0.02, adam=0.1, adagrad=1.0),
             x0=(2.0, 4.0), tol=1e-8, xlim=(-3.0, 3.0), ylim=(-2.0, 4.5), minimum=(0.0, 0.0)),
    _problem(cross, "x^2 + y^2 + xy", r"$x^2 + y^2 + xy$",
             lr=dict(gd=0.3, momentum=0.03, nesterov=0.05, adam=0.1, adagrad=1.0),
             x0=(2.0, 4.0), tol=1e-8, xlim=(-3.0, 3.0), ylim=(-2.0, 4.5), minimum=(0.0, 0.0)),
    _problem(rosenbrock, "Rosenbrock", r"Rosenbrock $(1 - x)^2 + 100 (y - x^2)^2$",
             lr=dict(gd=1e-3, momentum=1e-3, nesterov=1e-3, adam=1e-2, adagrad=0.5),
             maxiter=dict(gd=50_000, adagrad=50_000),
             x0=(-1.2, 1.0), tol=1e-6, xlim=(-2.0, 2.0), ylim=(-0.6, 2.2), minimum=(1.0, 1.0),
             legend_loc="lower right"),
]


def _seed_iterates(out: Any) -> None:
    res = minimize(PROBLEMS[0]["objective"], [2.0, 4.0], method="gd", lr=0.1, record=True)
    xs = res.history["x"]
    print("Gradient descent on f(x, y) = 3x^2 + y^2 from (2, 4), lr = 0.1:", file=out)
    print("  x <- x - 0.1 * (6x, 2y)", file=out)
    for k in range(3):
        print(f"  x{k} = ({xs[k, 0]:.4g}, {xs[k, 1]:.4g})   f = {res.history['fun'][k]:.6g}",
              file=out)
    print(f"  ... ||grad|| <= 1e-8 after {res.nit} iterations", file=out)
    print(file=out)


DEFAULT_MAXITER = 20_000


def run_all(maxiter: int | None = None) -> list[dict[str, Any]]:
    """Minimize every problem with every method; one row per run. ``maxiter``
    limits every run; None keeps each run's own limit (DEFAULT_MAXITER unless
    the problem sets one: slow first-order methods on Rosenbrock)."""
    rows = []
    for prob in PROBLEMS:
        for method, opts in prob["methods"].items():
            opts = dict(opts)
            own = opts.pop("maxiter", DEFAULT_MAXITER)
            mi = own if maxiter is None else maxiter
            t0 = time.perf_counter()
            res = minimize(prob["objective"], prob["x0"], method=method, tol=prob["tol"],
                           maxiter=mi, record=True, **opts)
            elapsed = time.perf_counter() - t0
            rows.append(dict(problem=prob["name"], method=method, result=res, time=elapsed))
    return rows


def _table(rows: list[dict[str, Any]], out: Any) -> None:
    head = f"{'problem':<16}{'method':<10}{'iterations':>11}{'final f':>13}{'||grad||':>11}" \
           f"{'time':>10}  status"
    print(head, file=out)
    print("-" * len(head), file=out)
    for r in rows:
        res = r["result"]
        status = "converged" if res.success else res.message.split(":")[0]
        print(f"{r['problem']:<16}{r['method']:<10}{res.nit:>11d}{res.fun:>13.3e}"
              f"{res.grad_norm:>11.2e}{r['time'] * 1e3:>8.2f} ms  {status}", file=out)


def _plots(rows: list[dict[str, Any]], outdir: str, out: Any) -> list[str]:
    from fastgrad import plot
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(19, 6.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(PROBLEMS))
    for ax, prob in zip(axes, PROBLEMS):
        trajs = {r["method"]: r["result"] for r in rows if r["problem"] == prob["name"]}
        plot.plot_contours(prob["f"], prob["xlim"], prob["ylim"], trajs, ax=ax,
                           grad=prob["objective"].gradient,
                           title=f"{prob['label']} from {prob['x0']}", minimum=prob["minimum"],
                           legend_loc=prob.get("legend_loc", "best"))
    contours = os.path.join(outdir, "fastgrad_demo_contours.png")
    fig.savefig(contours, dpi=110)

    fig = Figure(figsize=(15, 3.6 * len(PROBLEMS)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(PROBLEMS), 2)
    for axrow, prob in zip(axes, PROBLEMS):
        res = {r["method"]: r["result"] for r in rows if r["problem"] == prob["name"]}
        plot.plot_convergence(res, ax=axrow)
        axrow[0].set_title(prob["label"], loc="left")
    convergence = os.path.join(outdir, "fastgrad_demo_convergence.png")
    fig.savefig(convergence, dpi=110)
    for path in (contours, convergence):
        print(f"wrote {path}", file=out)
    return [contours, convergence]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns the process exit code (0 on success)."""
    parser = argparse.ArgumentParser(prog="python -m fastgrad demo",
                                     description="Minimize the worked examples with several "
                                                 "methods; print a table and write plots.")
    parser.add_argument("--out", default=".", help="folder for the PNG files (default: .)")
    parser.add_argument("--no-plot", action="store_true", help="do not write PNG files")
    parser.add_argument("--maxiter", type=_positive_int, default=None,
                        help=f"iteration limit of every run (default: {DEFAULT_MAXITER}, "
                             "more for gradient descent on Rosenbrock)")
    args = parser.parse_args(argv)
    out = sys.stdout
    _seed_iterates(out)
    rows = run_all(args.maxiter)
    _table(rows, out)
    if not args.no_plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("\nmatplotlib is not installed: no plots (pip install matplotlib)", file=out)
            return 0
        os.makedirs(args.out, exist_ok=True)
        print(file=out)
        _plots(rows, args.out, out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
