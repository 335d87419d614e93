"""Tests of fastgrad.plot: the PNGs exist and are not blank, the gradient
field is perpendicular to the level curves, inputs are checked."""
import numpy as np
import pytest

import fastgrad as fg
from support.build import load

# matplotlib is an optional dependency (the "plot" extra); without it there
# is nothing to draw, and test_missing_matplotlib_message covers the error.
mpl = pytest.importorskip("matplotlib", reason="matplotlib is optional (fastgrad[plot])")
from fastgrad import plot  # noqa: E402

T = load("testing_minimize")   # the C test objectives (test-only extension)


def _png_stats(path):
    import matplotlib.image as mpimg
    img = mpimg.imread(path)
    return img.shape, float(np.std(img[..., :3])), len(np.unique(img[..., :3].reshape(-1, 3), axis=0))


def seed_f(x):
    return 3 * x[0] ** 2 + x[1] ** 2


def seed_grad(x):
    return np.array([6 * x[0], 2 * x[1]])


def test_plot_contours_png(tmp_path):
    res = fg.minimize(seed_f, [2.0, 4.0], jac=seed_grad, method="gd", lr=0.1, record=True)
    res2 = fg.minimize(seed_f, [2.0, 4.0], jac=seed_grad, method="adam", lr=0.1, record=True)
    path = tmp_path / "contours.png"
    fig = plot.plot_contours(seed_f, (-3, 3), (-2, 4.5), {"gd": res, "adam": res2.history["x"]},
                             filename=str(path), title="3x^2 + y^2", minimum=(0, 0))
    assert path.exists() and path.stat().st_size > 20_000
    shape, spread, colors = _png_stats(path)
    assert shape[0] > 400 and shape[1] > 400 and spread > 0.05 and colors > 100
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == [f"gd ({res.nit} it)", f"adam ({res2.nit} it)"]
    # the first trajectory line holds every iterate
    np.testing.assert_array_equal(np.column_stack(ax.lines[0].get_data()), res.history["x"])


def test_gradient_field_is_perpendicular_to_level_curves():
    # grid differences (no grad given) and an analytic grad: both arrows
    # point along grad f, i.e. normal to the level curve through each point
    for grad in (None, seed_grad):
        fig = plot.plot_contours(seed_f, (-3, 3), (-3, 3), gradient_field=True, grad=grad,
                                 resolution=121, arrows=11)
        q = [c for c in fig.axes[0].collections if type(c).__name__ == "Quiver"][0]
        xy, uv = q.XY, np.column_stack([q.U, q.V])
        g = np.array([seed_grad(p) for p in xy])
        cos = np.sum(uv * g, axis=1) / (np.linalg.norm(uv, axis=1) * np.linalg.norm(g, axis=1))
        assert len(xy) > 50
        assert np.all(cos > 0.999)
        # tangent of the level curve (-g_y, g_x) is perpendicular to each arrow
        tangent = np.column_stack([-g[:, 1], g[:, 0]])
        assert np.all(np.abs(np.sum(uv * tangent, axis=1))
                      <= 1e-2 * np.linalg.norm(uv, axis=1) * np.linalg.norm(tangent, axis=1))


def test_plot_contours_non_vectorized_function(tmp_path):
    rosen = T.rosenbrock(2)             # takes exactly 2 values: evaluated point by point
    res = fg.minimize(rosen, [-1.2, 1.0], method="newton", record=True)
    path = tmp_path / "rosen.png"
    plot.plot_contours(rosen, (-2, 2), (-0.6, 2.2), {"newton": res}, filename=str(path),
                       resolution=60, legend_loc="lower right")
    assert path.stat().st_size > 10_000


def test_plot_convergence_png(tmp_path):
    runs = {m: fg.minimize(T.rosenbrock(2), [-1.2, 1.0], method=m, lr=1e-3 if m != "newton" else None,
                           record=True, maxiter=3000)
            for m in ("momentum", "newton")}
    path = tmp_path / "conv.png"
    fig = plot.plot_convergence(runs, filename=str(path), title="Rosenbrock")
    assert path.stat().st_size > 20_000
    ax_f, ax_g = fig.axes
    assert ax_f.get_yscale() == "log" and ax_g.get_yscale() == "log"
    x, y = ax_g.lines[0].get_data()
    np.testing.assert_array_equal(x, np.arange(1, runs["momentum"].nit + 2))
    np.testing.assert_array_equal(y, runs["momentum"].history["grad_norm"])


def test_bad_trajectory():
    with pytest.raises(ValueError, match="trajectory"):
        plot.plot_contours(seed_f, (-1, 1), (-1, 1), {"bad": np.zeros((4, 3))})


def test_missing_matplotlib_message(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot.plot_contours(seed_f, (-1, 1), (-1, 1))
