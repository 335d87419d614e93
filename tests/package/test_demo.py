"""Tests of fastgrad.demo: the printed seed iterates and table."""
import numpy as np
import pytest

from fastgrad import demo


def test_demo_no_plot(capsys):
    assert demo.main(["--no-plot"]) == 0
    out = capsys.readouterr().out
    assert "x1 = (0.8, 3.2)" in out and "x2 = (0.32, 2.56)" in out
    assert "after 92 iterations" in out
    lines = [line for line in out.splitlines() if "converged" in line or "maximum" in line]
    rows = [line for line in lines if line.split()[0] in ("3x^2", "x^2", "Rosenbrock")]
    n_runs = sum(len(p["methods"]) for p in demo.PROBLEMS)
    assert len(rows) == n_runs
    assert all(line.rstrip().endswith("converged") for line in rows)
    gd_seed = [r for r in rows if r.startswith("3x^2") and r.split()[3] == "gd"][0]
    assert gd_seed.split()[4] == "92"
    newton_rosen = [r for r in rows if r.startswith("Rosenbrock") and " newton " in r][0]
    assert int(newton_rosen.split()[2]) < 50
    assert "wrote" not in out


def test_demo_writes_pngs(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="matplotlib is optional (fastgrad[plot])")
    assert demo.main(["--out", str(tmp_path), "--maxiter", "2000"]) == 0
    for name in ("fastgrad_demo_contours.png", "fastgrad_demo_convergence.png"):
        assert (tmp_path / name).stat().st_size > 50_000
    assert str(tmp_path) in capsys.readouterr().out


def test_demo_results_are_the_minima():
    rows = demo.run_all()   # each run with its own iteration limit
    for r in rows:
        prob = next(p for p in demo.PROBLEMS if p["name"] == r["problem"])
        np.testing.assert_allclose(r["result"].x, prob["minimum"], atol=1e-5)


def test_demo_objectives_are_compiled_numpy_functions():
    # the loops run in C on fastgrad.compile tapes of the NumPy functions
    from fastgrad import CompiledFunction
    from support.build import load
    T = load("testing_minimize")   # the C test objectives (test-only extension)
    builtin = {"3x^2 + y^2": T.quadratic([3.0, 1.0]),
               "x^2 + y^2 + xy": T.quadratic([[1.0, 0.5], [0.5, 1.0]]),
               "Rosenbrock": T.rosenbrock(2)}
    rng = np.random.default_rng(0)
    for prob in demo.PROBLEMS:
        cf = prob["objective"]
        assert isinstance(cf, CompiledFunction)
        for x in rng.normal(size=(4, 2)):
            assert cf(x) == pytest.approx(prob["f"](x), rel=1e-15)
            assert cf(x) == pytest.approx(builtin[prob["name"]](x), rel=1e-14)
            np.testing.assert_allclose(cf.gradient(x), builtin[prob["name"]].gradient(x),
                                       rtol=1e-14, atol=1e-14)
            np.testing.assert_allclose(cf.hessian(x), builtin[prob["name"]].hessian(x),
                                       rtol=1e-14, atol=1e-14)
