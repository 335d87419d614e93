"""The op table (csrc/fg_ops.def) and its one kernel generator, every mode.

Every test loops over the table (fastgrad._ops.ROWS): a new row is tested in
every mode the moment it is added. Oracles: the row's own Python binding
(numpy.exp, scipy.special.erf) for values, the hand-written reference duals
(fastgrad.reference.dual) and five-point differences for derivatives, and,
at special points (0, -0, +-inf, NaN, the edges of each op's domain), the
modes against each other: DualArray dual and hyper-dual, the tape's value,
dual, reverse, jvp, hvp and both Hessians must give the same numbers, bit for
bit (NaN equal to NaN), because every mode applies the same row rule and the
same NaN-safe product.
"""
import math
import pathlib
import re
import shutil
import subprocess

import numpy as np
import pytest

import fastgrad
from fastgrad import _ops
from fastgrad._ops import DOMAINS, OP_CODES, ROWS, row_of, ufunc_of
from fastgrad.reference import dual as R

pytest.importorskip("scipy.special", reason="scipy binds the scipy.special rows (test extra)")

DIFF_ROWS = [row for row in ROWS if row.kind != "compare"]
IDS = [row.name for row in DIFF_ROWS]
CSRC = pathlib.Path(__file__).resolve().parents[2] / "csrc"

# The codes published so far: embedders pass these numbers, so a row never
# changes its code (new rows take new codes; the ABI version records it).
PUBLISHED_CODES = {
    "negative": 0, "positive": 1, "absolute": 2, "sign": 3, "square": 4, "sqrt": 5,
    "cbrt": 6, "reciprocal": 7, "exp": 8, "exp2": 9, "expm1": 10, "log": 11, "log2": 12,
    "log10": 13, "log1p": 14, "sin": 15, "cos": 16, "tan": 17, "arcsin": 18, "arccos": 19,
    "arctan": 20, "sinh": 21, "cosh": 22, "tanh": 23, "arcsinh": 24, "arccosh": 25,
    "arctanh": 26, "add": 27, "subtract": 28, "multiply": 29, "divide": 30, "power": 31,
    "arctan2": 32, "hypot": 33, "maximum": 34, "minimum": 35, "fmax": 36, "fmin": 37,
    "logaddexp": 38, "less": 39, "less_equal": 40, "greater": 41, "greater_equal": 42,
    "equal": 43, "not_equal": 44, "erf": 45, "erfc": 46,
}


def domain_points(name, m, operand=0):
    """m points inside a domain, away from its edges (and from 0 when it is
    excluded); operand 1 gets other points, so binary rows never tie."""
    dom = DOMAINS[name]
    lo, hi = max(dom.lo, -2.0), min(dom.hi, 2.0)
    u = (np.arange(m) + 0.5 + 0.25 * operand) / (m + 0.5)
    pts = lo + (hi - lo) * (0.1 + 0.8 * u)
    if dom.no_zero:
        pts = np.where(np.abs(pts) < 0.2, np.copysign(0.2, pts) + 0.05 * operand, pts)
    return pts


def special_points(name):
    """0, -0, +-1, +-inf, NaN, the domain's finite edges, and a point just
    outside each and one inside."""
    dom = DOMAINS[name]
    pts = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 0.5]
    for edge, out in ((dom.lo, -0.5), (dom.hi, 0.5)):
        if np.isfinite(edge):
            pts += [edge, edge + out]
    return np.array(pts)


def row_function(row):
    """(f, x) with f(x) = sum(op(x)) or sum(op(x[:m], x[m:])) over the
    special points (binary: every pair of the operands' points)."""
    fn = ufunc_of(row.name)
    if row.arity == 1:
        return (lambda x: np.sum(fn(x))), special_points(row.domain[0])
    pa, pb = special_points(row.domain[0]), special_points(row.domain[1])
    a, b = np.repeat(pa, pb.size), np.tile(pb, pa.size)
    m = a.size
    return (lambda x: np.sum(fn(x[:m], x[m:]))), np.concatenate([a, b])


def scalar_partials(row, x):
    """The row's partials per element from the scalar evaluator fg_op_partials
    / fg_op_second: gradient and Hessian of row_function(row)."""
    n = x.size
    g, H = np.zeros(n), np.zeros((n, n))
    if row.arity == 1:
        for i, v in enumerate(x):
            g[i] = _ops.op_partials(row.name, v)[1]
            H[i, i] = _ops.op_second(row.name, v)[0]
        return g, H
    m = n // 2
    for i in range(m):
        _, g[i], g[m + i] = _ops.op_partials(row.name, x[i], x[m + i])
        daa, dab, dbb = _ops.op_second(row.name, x[i], x[m + i])
        H[i, i], H[i, m + i], H[m + i, i], H[m + i, m + i] = daa, dab, dab, dbb
    return g, H


# ------------------------------------------------------------- the table --

def test_codes_are_explicit_dense_and_published():
    assert [row.code for row in ROWS] == list(range(len(ROWS)))
    assert len(OP_CODES) == len(ROWS)                      # names are unique
    for name, code in PUBLISHED_CODES.items():
        assert OP_CODES[name] == code, f"{name} changed its code: embedders break"


def test_rows_are_consistent_and_bound():
    for row in ROWS:
        assert row.kind in ("unary", "binary", "compare")
        assert row.arity == (1 if row.kind == "unary" else 2)
        assert len(row.domain) == row.arity and set(row.domain) <= set(DOMAINS)
        assert row.function == row.name
        fn = ufunc_of(row.name)
        assert isinstance(fn, np.ufunc) and fn.nin == row.arity, row
        assert fn is getattr(__import__(row.module, fromlist=["_"]), row.function)
        assert row_of(fn) is row
        assert _ops.BINDINGS[(row.module, row.function)] is row
        assert row.name in R.RULES, f"add a hand-written rule for {row.name} to reference/dual.py"
    assert {"numpy", "scipy.special"} <= {row.module for row in ROWS}
    assert row_of(np.floor) is None and row_of(np.float_power) is None


def test_domains():
    for dom in DOMAINS.values():
        assert dom.lo < dom.hi
    assert DOMAINS["REAL"] == ("REAL", -math.inf, math.inf, False)
    assert DOMAINS["POSITIVE"].lo == 0 and DOMAINS["NONZERO"].no_zero
    assert ROWS[OP_CODES["sqrt"]].domain == ("POSITIVE",)
    assert ROWS[OP_CODES["divide"]].domain == ("REAL", "NONZERO")


def test_abi_version_is_the_headers():
    header = pathlib.Path(fastgrad.get_include(), "fastgrad.h").read_text()
    version = int(re.search(r"#define FASTGRAD_ABI_VERSION (\d+)", header).group(1))
    assert _ops.ABI_VERSION == version >= 1


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
@pytest.mark.skipif(not (CSRC / "fg_ops.c").exists(), reason="needs the source tree's csrc/")
@pytest.mark.parametrize("extra, error", [
    ("FG_OP_UNARY(8, exp_again, numpy, REAL, exp(x), y, y)", "duplicate case value"),
    ("FG_OP_UNARY(99, far_away, numpy, REAL, x, 1, 0)", "exceeds array bounds"),
])
def test_a_duplicate_or_sparse_code_does_not_compile(tmp_path, extra, error):
    for name in ("fg_ops.c", "fg_ops.h", "fg_ops.def", "fg_status.h"):
        shutil.copy(CSRC / name, tmp_path / name)

    def compile_ops():
        return subprocess.run(["cc", "-std=gnu99", "-c", str(tmp_path / "fg_ops.c"),
                               "-o", str(tmp_path / "fg_ops.o")], capture_output=True, text=True)
    control = compile_ops()
    assert control.returncode == 0, control.stderr
    anchor = "FG_OP_UNARY(46, erfc"
    table = tmp_path / "fg_ops.def"
    table.write_text(table.read_text().replace(anchor, extra + "\n" + anchor))
    run = compile_ops()
    assert run.returncode != 0 and error in run.stderr


# ------------------------------------------------- inside each domain ----

def five_point(f, x, h=1e-3):
    return (f(x - 2 * h) - 8 * f(x - h) + 8 * f(x + h) - f(x + 2 * h)) / (12 * h)


@pytest.mark.parametrize("row", DIFF_ROWS, ids=IDS)
def test_every_mode_inside_the_domain(row):
    """Values against the binding, derivatives against the reference duals and
    five-point differences, through DualArray and every compiled mode."""
    fn = ufunc_of(row.name)
    m = 4
    if row.arity == 1:
        x = domain_points(row.domain[0], m)

        def f(x):
            return np.sum(np.arange(1.0, m + 1) * fn(x))
        ref_g = np.array([(i + 1) * R.apply(row.name, R.Dual(v, 1.0, 1)).e
                          for i, v in enumerate(x)])
        fd_g = np.array([(i + 1) * five_point(fn, v) for i, v in enumerate(x)])
    else:
        a, b = domain_points(row.domain[0], m), domain_points(row.domain[1], m, operand=1)
        x = np.concatenate([a, b])

        def f(x):
            return np.sum(np.arange(1.0, m + 1) * fn(x[:m], x[m:]))

        def ref(i, wrt):
            args = [a[i], b[i]]
            args[wrt] = R.Dual(args[wrt], 1.0, 1)
            y = R.apply(row.name, *args)
            return (i + 1) * (y.e if isinstance(y, R.Dual) else 0.0)
        ref_g = np.array([ref(i, 0) for i in range(m)] + [ref(i, 1) for i in range(m)])
        fd_g = np.array([(i + 1) * five_point(lambda s: fn(s, b[i]), a[i]) for i in range(m)]
                        + [(i + 1) * five_point(lambda s: fn(a[i], s), b[i]) for i in range(m)])
    value = float(f(x))
    scale = max(1.0, np.abs(ref_g).max())
    g = fastgrad.gradient(f, x, method="dual")
    np.testing.assert_allclose(g, ref_g, rtol=1e-13, atol=1e-14 * scale)
    np.testing.assert_allclose(g, fd_g, rtol=1e-7, atol=1e-8 * scale)
    H = fastgrad.hessian(f, x, method="dual")
    H_ref = R.dual_hessian(lambda v: np.sum(np.arange(1.0, m + 1) * _ref_apply(row, v, m)), x)
    hs = max(1.0, np.abs(H_ref).max())
    np.testing.assert_allclose(H, H_ref, rtol=1e-12, atol=1e-13 * hs)

    cf = fastgrad.compile(f, x.size)
    assert cf(x) == pytest.approx(value, rel=1e-14, abs=1e-300)
    np.testing.assert_array_equal(cf.gradient(x, method="dual"), g)
    np.testing.assert_allclose(cf.gradient(x, method="reverse"), g, rtol=1e-14,
                               atol=1e-15 * scale)
    v = np.linspace(-1.0, 1.0, x.size)
    fv, jv = cf.jvp(x, v)
    assert fv == cf(x) and jv == pytest.approx(g @ v, rel=1e-13, abs=1e-14 * scale)
    for method in ("reverse", "hyperdual"):
        np.testing.assert_allclose(cf.hessian(x, method=method), H, rtol=1e-13, atol=1e-14 * hs)
    np.testing.assert_allclose(cf.hvp(x, v), H @ v, rtol=1e-12, atol=1e-13 * hs)


def _ref_apply(row, v, m):
    if row.arity == 1:
        return np.array([R.apply(row.name, e) for e in v], dtype=object)
    return np.array([R.apply(row.name, v[i], v[m + i]) for i in range(m)], dtype=object)


@pytest.mark.parametrize("row", [r for r in ROWS if r.kind == "unary"],
                         ids=[r.name for r in ROWS if r.kind == "unary"])
def test_float32_dual_kernels_round_the_float64_ones(row):
    x = domain_points(row.domain[0], 7)
    t = np.linspace(-1.0, 1.0, 14).reshape(7, 2)
    d64 = ufunc_of(row.name)(fastgrad.DualArray(x, t))
    d32 = ufunc_of(row.name)(fastgrad.DualArray(x.astype(np.float32), t.astype(np.float32)))
    assert d32.value.dtype == d32.tangent.dtype == np.float32
    # both are computed in double from the same float32-representable inputs
    x32 = x.astype(np.float32).astype(np.float64)
    again = ufunc_of(row.name)(fastgrad.DualArray(x32, t.astype(np.float32).astype(np.float64)))
    np.testing.assert_array_equal(d32.value, again.value.astype(np.float32))
    np.testing.assert_array_equal(d32.tangent, again.tangent.astype(np.float32))
    np.testing.assert_allclose(d32.value, d64.value, rtol=1e-5, atol=1e-6)


# ------------------------------------------------ at the special points --

@pytest.mark.parametrize("row", DIFF_ROWS, ids=IDS)
def test_every_mode_agrees_at_special_points(row):
    """One rule, one NaN-safe product: bit for bit the same numbers in every
    mode, equal to the row's scalar partials element by element (a direction
    that does not move an element never sees its inf or NaN)."""
    f, x = row_function(row)
    g_row, H_row = scalar_partials(row, x)
    with np.errstate(all="ignore"):
        expect = f(x)
        cf = fastgrad.compile(f, x.size)
        np.testing.assert_allclose(cf(x), expect, rtol=1e-13, equal_nan=True)
        grads = {
            "DualArray": fastgrad.gradient(f, x, method="dual"),
            "tape dual": cf.gradient(x, method="dual"),
            "tape reverse": cf.gradient(x, method="reverse"),
        }
        hessians = {
            "DualArray hyper-dual": fastgrad.hessian(f, x, method="dual"),
            "tape hyper-dual": cf.hessian(x, method="hyperdual"),
            "tape forward-over-reverse": cf.hessian(x, method="reverse"),
        }
    for mode, g in grads.items():
        np.testing.assert_array_equal(g, g_row, err_msg=f"{row.name} gradient, {mode}")
    for mode, H in hessians.items():
        np.testing.assert_array_equal(H, H_row, err_msg=f"{row.name} Hessian, {mode}")
    e = np.zeros(x.size)
    for j in range(x.size):
        e[j] = 1.0
        with np.errstate(all="ignore"):
            _, jv = cf.jvp(x, e)
            hv = cf.hvp(x, e)
        e[j] = 0.0
        np.testing.assert_array_equal(jv, g_row[j], err_msg=f"{row.name} jvp e_{j}")
        np.testing.assert_array_equal(hv, H_row[:, j], err_msg=f"{row.name} hvp e_{j}")


def test_sqrt_at_zero_is_the_same_in_every_mode():
    """A direction that does not move x[0] never sees sqrt's infinite slope."""
    def f(x):
        return np.sqrt(x[0]) + x[1] ** 2
    x = np.array([0.0, 3.0])
    cf = fastgrad.compile(f, 2)
    for g in (cf.gradient(x), cf.gradient(x, method="dual"), cf.gradient(x, method="reverse"),
              fastgrad.gradient(f, x, method="dual")):
        np.testing.assert_array_equal(g, [np.inf, 6.0])
    for H in (cf.hessian(x, method="reverse"), cf.hessian(x, method="hyperdual"),
              fastgrad.hessian(f, x, method="dual")):
        np.testing.assert_array_equal(H, [[-np.inf, 0.0], [0.0, 2.0]])


def test_norm_at_zero_has_a_zero_gradient_in_every_mode():
    """d sqrt(s) / ds is inf at s = 0, but s = sum(w * w) does not move
    there: the compiled gradient is 0 like DualArray's, so a compiled
    `loss + 0.1 * norm(w)` starts from w = 0."""
    def f(w):
        return np.sum((w - 1.0) ** 2) + 0.1 * np.linalg.norm(w)
    w = np.zeros(3)
    cf = fastgrad.compile(f, 3)
    expect = np.full(3, -2.0)
    for g in (cf.gradient(w, method="dual"), cf.gradient(w, method="reverse"),
              fastgrad.gradient(f, w, method="dual")):
        np.testing.assert_array_equal(g, expect)
    res = fastgrad.minimize(cf, w, method="adam", lr=0.05, maxiter=300, tol=0.0)
    assert np.all(np.isfinite(res.x)) and res.fun < f(w)


# ---------------------------------------------------- scipy.special rows --

def test_erf_and_erfc_in_every_entry_point():
    """scipy.special's erf and erfc are table rows: a probit-style loss runs
    under gradient (dual), hessian, and compile in every mode."""
    from scipy.special import erf, erfc

    def f(x):
        return np.sum(erf(x[:3] * x[3:]) ** 2) + np.sum(erfc(x) * x)
    x = np.array([0.3, -0.8, 1.4, 0.5, 1.1, -0.2])

    def grad_exact(x):
        a, b = x[:3], x[3:]
        gauss = 2 / np.sqrt(np.pi) * np.exp(-(a * b) ** 2)
        ga = 2 * erf(a * b) * gauss * b
        gb = 2 * erf(a * b) * gauss * a
        return np.concatenate([ga, gb]) + erfc(x) - x * 2 / np.sqrt(np.pi) * np.exp(-x * x)
    g = fastgrad.gradient(f, x, method="dual")
    np.testing.assert_allclose(g, grad_exact(x), rtol=1e-13)
    H = fastgrad.hessian(f, x, method="dual")
    H_fd = np.array([five_point(lambda s: grad_exact(np.where(np.arange(6) == j, s, x)), x[j])
                     for j in range(6)]).T
    np.testing.assert_allclose(H, H_fd, rtol=1e-7, atol=1e-8)
    cf = fastgrad.compile(f, 6)
    assert cf(x) == pytest.approx(f(x), rel=1e-14)
    np.testing.assert_array_equal(cf.gradient(x, method="dual"), g)
    np.testing.assert_allclose(cf.gradient(x, method="reverse"), g, rtol=1e-14)
    v = np.linspace(-1, 1, 6)
    assert cf.jvp(x, v)[1] == pytest.approx(g @ v, rel=1e-14)
    np.testing.assert_allclose(cf.hvp(x, v), H @ v, rtol=1e-13, atol=1e-14)
    for method in ("reverse", "hyperdual"):
        np.testing.assert_allclose(cf.hessian(x, method=method), H, rtol=1e-13, atol=1e-14)
    # a constant operand is folded with scipy's own ufunc
    assert fastgrad.compile(lambda x: x[0] * erf(0.5), 1)(np.ones(1)) == erf(0.5)
