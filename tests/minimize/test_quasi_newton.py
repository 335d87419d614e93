"""The quasi-Newton family (lbfgs with and without bounds, bfgs, cg,
newton-cg) against independent oracles: scipy.optimize on the MGH-style set
(solved counts, median evaluations), scipy's L-BFGS-B on the same box,
scikit-learn's LogisticRegression on its breast-cancer data, and the
algorithms' own invariants (the Cauchy point, the subspace step, iterates in
the box, no non-finite iterate, exact evaluation budgets)."""
import math
import warnings

import numpy as np
import pytest
import scipy.optimize as so

import fastgrad as fg
import mgh
from fastgrad.reference import quasi_newton as qn

SCIPY = {"lbfgs": "L-BFGS-B", "bfgs": "BFGS", "cg": "CG"}
PROBLEMS = mgh.problem_set()
TOL = 1e-6


def solver(impl):
    """minimize(fun, x0, method=..., **kw) of one implementation: the C loop
    (fastgrad.minimize) or its NumPy twin."""
    if impl == "reference":
        return lambda method, fun, x0, **kw: qn.QUASI_NEWTON[method](fun, x0, **kw)
    return lambda method, fun, x0, **kw: fg.minimize(fun, x0, method=method, **kw)


@pytest.fixture(params=["fastgrad", "reference"])
def solve(request):
    return solver(request.param)


def scipy_run(method, p, tol, **kw):
    """scipy with a stopping test that implies ours (|g|_2 <= tol): BFGS and
    CG take norm=2; L-BFGS-B tests the infinity norm, against tol/sqrt(n)."""
    opts = dict(gtol=tol / math.sqrt(p.n), maxiter=20_000)
    if method != "L-BFGS-B":
        opts.update(gtol=tol, norm=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return so.minimize(p.f, p.x0, jac=p.grad, method=method, options=opts, **kw)


# -------------------------------------------------- the MGH-style problem set --

@pytest.mark.parametrize("method", ["lbfgs", "bfgs", "cg"])
def test_solves_as_many_as_scipy_with_no_more_evaluations(solve, method):
    ours, theirs = [], []
    for p in PROBLEMS:
        r = solve(method, p.f, p.x0, jac=p.grad, tol=TOL, maxiter=20_000)
        s = scipy_run(SCIPY[method], p, TOL)
        assert r.nfev == r.njev and r.status in (0, 7), (p.name, r.message)
        ours.append((p.solved(r.fun), r.nfev))
        theirs.append((p.solved(s.fun), s.nfev))
    solved = [sum(s for s, _ in x) for x in (ours, theirs)]
    median = [np.median([n for _, n in x]) for x in (ours, theirs)]
    assert solved[0] >= solved[1] and solved[0] >= len(PROBLEMS) - 1, solved
    assert median[0] <= median[1], median


@pytest.mark.parametrize("p", PROBLEMS, ids=lambda p: p.name)
def test_lbfgs_follows_scipy_lbfgsb_closely(solve, p):
    """Without bounds L-BFGS-B is L-BFGS with the same Moré-Thuente search:
    on most problems the two take the same steps."""
    r = solve("lbfgs", p.f, p.x0, jac=p.grad, tol=TOL)
    s = scipy_run("L-BFGS-B", p, TOL)
    assert abs(r.nfev - s.nfev) <= 0.05 * s.nfev + 1
    assert r.fun == pytest.approx(s.fun, rel=1e-3, abs=1e-8)


@pytest.mark.parametrize("n", [2, 10, 100])
def test_solution_and_history_on_rosenbrock(solve, n):
    p = mgh.rosenbrock(n)
    for method in ("lbfgs", "bfgs", "cg"):
        r = solve(method, p.f, p.x0, jac=p.grad, tol=1e-7, ftol=0.0, record=True,
                maxiter=20_000)
        assert r.success and r.status == 0 and r.grad_norm <= 1e-7
        np.testing.assert_allclose(r.x, np.ones(n), atol=1e-6)
        h = r.history
        assert h["x"].shape == (r.nit + 1, n) and np.all(np.diff(h["fun"]) < 0)
        np.testing.assert_array_equal(h["x"][-1], r.x)
        assert h["grad_norm"][-1] == r.grad_norm
        assert r.grad_norm == pytest.approx(np.linalg.norm(p.grad(r.x)), rel=1e-14)


# ------------------------------------------------------------------ newton-cg --

@pytest.mark.parametrize("p", [q for q in PROBLEMS if q.hessp], ids=lambda p: p.name)
def test_newton_cg_against_scipy(solve, p):
    r = solve("newton-cg", p.f, p.x0, jac=p.grad, hessp=p.hessp, tol=TOL, maxiter=2000)
    s = so.minimize(p.f, p.x0, jac=p.grad, hessp=p.hessp, method="Newton-CG",
                    options=dict(xtol=1e-12, maxiter=2000))
    assert r.status == 0 and p.solved(r.fun)
    assert r.nhev > 0 and r.nfev == r.njev
    # Newton's quadratic convergence: about as many steps as scipy's
    assert r.nit <= 2 * s.nit + 5


def test_newton_cg_rosenbrock_1000(solve):
    """The chained valley takes about 2n Newton steps from MGH's start (scipy's
    Newton-CG about 1.6n)."""
    n = 1000
    x0 = np.tile([-1.2, 1.0], n // 2)
    r = solve("newton-cg", so.rosen, x0, jac=so.rosen_der, hessp=so.rosen_hess_prod, tol=1e-8,
            maxiter=5000)
    assert r.success and r.grad_norm <= 1e-8
    np.testing.assert_allclose(r.x, np.ones(n), atol=1e-8)


def test_newton_cg_finite_difference_products_match_exact_ones(solve):
    p = mgh.rosenbrock(10)
    exact = solve("newton-cg", p.f, p.x0, jac=p.grad, hessp=p.hessp, tol=1e-8)
    fd = solve("newton-cg", p.f, p.x0, jac=p.grad, tol=1e-8)
    assert exact.success and fd.success
    np.testing.assert_allclose(fd.x, exact.x, atol=1e-7)
    assert abs(fd.nit - exact.nit) <= 3


# ------------------------------------------------------------- L-BFGS-B parts --

def random_pairs(n, k, seed):
    """k curvature pairs with s.y > 0 from a random SPD matrix."""
    rng = np.random.default_rng(seed)
    Q = rng.normal(size=(n, n))
    A = Q @ Q.T + n * np.eye(n)
    S = [rng.normal(size=n) for _ in range(k)]
    return S, [A @ s for s in S]


def dense_b(S, Y, theta):
    W, K = qn._compact(S, Y, theta)
    return theta * np.eye(W.shape[0]) - W @ np.linalg.solve(K, W.T), W, K


def random_model(n, seed, theta):
    """A generator and the dense B, W, K of three random pairs."""
    return (np.random.default_rng(seed),) + dense_b(*random_pairs(n, 3, seed), theta)


@pytest.mark.parametrize("seed", range(8))
def test_compact_matrix_is_the_bfgs_matrix(seed):
    """B = theta I - W M W^T equals k direct BFGS updates of B0 = theta I."""
    n, k = 7, 4
    S, Y = random_pairs(n, k, seed)
    theta = float(Y[-1] @ Y[-1] / (S[-1] @ Y[-1]))
    B = theta * np.eye(n)
    for s, y in zip(S, Y):
        Bs = B @ s
        B = B - np.outer(Bs, Bs) / (s @ Bs) + np.outer(y, y) / (y @ s)
    np.testing.assert_allclose(dense_b(S, Y, theta)[0], B, rtol=1e-9, atol=1e-9)
    # and the two-loop recursion applies its inverse
    g = np.random.default_rng(seed).normal(size=n)
    np.testing.assert_allclose(qn._two_loop(g, S, Y, theta), -np.linalg.solve(B, g), rtol=1e-9)


@pytest.mark.parametrize("seed", range(12))
def test_cauchy_point_is_the_first_minimizer_along_the_projected_path(seed):
    n, theta = 9, 1.7
    rng, B, W, K = random_model(n, seed, theta)
    lo, hi = -rng.uniform(0.1, 1, n), rng.uniform(0.1, 1, n)
    lo[0], hi[1] = -np.inf, np.inf
    x = rng.uniform(lo.clip(-1), hi.clip(max=1))
    x[2] = lo[2]                                  # one variable on its bound
    g = rng.normal(size=n) * 3
    xc, c, active = qn._cauchy_point(x, g, lo, hi, theta, W, np.linalg.inv(K))
    assert np.all((xc >= lo) & (xc <= hi))
    np.testing.assert_allclose(c, W.T @ (xc - x), atol=1e-12)

    def model(t):
        z = np.clip(x - t * g, lo, hi) - x
        return g @ z + 0.5 * z @ B @ z
    ts = np.linspace(0, 5, 200_001)
    vals = np.array([model(t) for t in ts])
    # first local minimizer of the piecewise quadratic along the path
    first = np.argmax(np.r_[np.diff(vals) >= -1e-15, True])
    z = xc - x
    assert g @ z + 0.5 * z @ B @ z <= vals[first] + 1e-9
    t_star = ts[first]
    np.testing.assert_allclose(xc, np.clip(x - t_star * g, lo, hi), atol=5e-4)
    assert np.all(active == ((xc == lo) | (xc == hi)) | (g == 0) & active)


@pytest.mark.parametrize("seed", range(6))
def test_subspace_step_minimizes_the_model_over_the_free_variables(seed):
    n, theta = 8, 2.0
    rng, B, W, K = random_model(n, seed, theta)
    M = np.linalg.inv(K)
    lo, hi = np.full(n, -100.0), np.full(n, 100.0)     # a box that stays inactive
    x, g = rng.normal(size=n), rng.normal(size=n)
    xc = x.copy()
    xc[:3] = x[:3] - 0.1 * g[:3]
    free = np.ones(n, bool)
    free[:3] = False
    c = W.T @ (xc - x)
    xbar = qn._subspace_min(x, g, lo, hi, xc, c, free, theta, W, K, M)
    # the minimizer of g.z + z.B z / 2 with z = xc - x on the fixed variables
    F = free
    zf = np.linalg.solve(B[np.ix_(F, F)], -(g[F] + B[np.ix_(F, ~F)] @ (xc - x)[~F]))
    np.testing.assert_allclose(xbar[F], x[F] + zf, rtol=1e-9)
    np.testing.assert_array_equal(xbar[~F], xc[~F])


# --------------------------------------------------------------------- bounds --

def scipy_box(p, lo, hi, x0, tol):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return so.minimize(p.f, x0, jac=p.grad, method="L-BFGS-B", bounds=list(zip(lo, hi)),
                           options=dict(gtol=tol / math.sqrt(p.n), maxiter=20_000, ftol=0.0))


@pytest.mark.parametrize("seed", range(4))
def test_bounded_convex_problems_reach_scipys_solution(solve, seed):
    """Strictly convex problems have one solution in a box: the quartic
    bowl and the breast-cancer fit."""
    rng = np.random.default_rng(seed)
    for p in (mgh.quartic_bowl(20), mgh.breast_cancer_logistic()[0]):
        lo, hi = mgh.random_box(p, rng)
        x0 = np.clip(p.x0, lo, hi)
        r = solve("lbfgs", p.f, x0, jac=p.grad, bounds=(lo, hi), tol=1e-8, ftol=0.0)
        s = scipy_box(p, lo, hi, x0, 1e-8)
        assert r.success and np.all((r.x >= lo) & (r.x <= hi))
        assert r.grad_norm == pytest.approx(mgh.kkt_residual(p, r.x, lo, hi), rel=1e-12, abs=1e-300)
        assert r.grad_norm <= 1e-5
        np.testing.assert_allclose(r.x, s.x, atol=1e-5)
        active = (r.x == lo) | (r.x == hi)
        np.testing.assert_array_equal(active, (s.x == lo) | (s.x == hi))
        assert active.any()


def test_bounded_problems_end_at_kkt_points_inside_the_box(solve):
    """Four random boxes per problem: the iterates never leave the box and
    the run ends at a KKT point (tol, or where f stops decreasing in
    floating point: ftol = 0 or a search that finds no decrease); against
    scipy's L-BFGS-B on the same boxes (the same algorithm, so mostly the
    same steps), about as many evaluations."""
    ours, theirs = [], []
    for p in PROBLEMS:
        rng = np.random.default_rng(len(p.name))
        for _ in range(4):
            lo, hi = mgh.random_box(p, rng)
            x0 = np.clip(p.x0, lo, hi)
            r = solve("lbfgs", p.f, x0, jac=p.grad, bounds=(lo, hi), tol=1e-8, ftol=0.0,
                    record=True, maxiter=5000)
            assert r.status in (0, 5, 7), (p.name, r.message)
            xs = r.history["x"]
            assert np.all((xs >= lo) & (xs <= hi))
            assert mgh.kkt_residual(p, r.x, lo, hi) <= 1e-5 * max(1.0, abs(r.fun)), p.name
            ours.append(r.nfev)
            theirs.append(scipy_box(p, lo, hi, x0, 1e-8).nfev)
    assert np.median(ours) <= np.median(theirs) + 1
    assert np.median(np.array(ours) / np.array(theirs)) <= 1.0


def test_bounds_forms_agree_and_x0_is_projected(solve):
    p = mgh.rosenbrock(3)
    lo, hi = np.array([-2.0, 0.5, -np.inf]), np.array([0.8, 2.0, 0.6])
    forms = [(lo, hi), [(-2.0, 0.8), (0.5, 2.0), (None, 0.6)],
             so.Bounds(lo, hi), ([-2.0, 0.5, None], [0.8, 2, 0.6])]
    results = [solve("lbfgs", p.f, np.array([5.0, 5.0, 5.0]), jac=p.grad, bounds=b)
               for b in forms]
    for r in results:
        np.testing.assert_array_equal(r.x, results[0].x)
        assert r.nfev == results[0].nfev
    r = results[0]
    assert r.x[0] <= 0.8 and r.x[2] <= 0.6
    scalar = solve("lbfgs", p.f, np.zeros(3), jac=p.grad, bounds=(-0.5, 0.5))
    assert np.all(np.abs(scalar.x) <= 0.5) and scalar.success
    # n = 2: a pair of tuples is scipy's two (lo, hi) pairs; a pair of arrays is (lb, ub)
    b2 = qn.parse_bounds([(0.0, 1.0), (2.0, 3.0)], 2)
    np.testing.assert_array_equal(b2[0], [0.0, 2.0])
    b2 = qn.parse_bounds((np.array([0.0, 1.0]), np.array([2.0, 3.0])), 2)
    np.testing.assert_array_equal(b2[0], [0.0, 1.0])
    assert qn.parse_bounds((None, np.inf), 4) is None


@pytest.mark.parametrize("method", ["bfgs", "cg", "newton-cg"])
def test_bounds_refused_by_other_methods(solve, method):
    with pytest.raises(ValueError, match="bounds"):
        solve(method, so.rosen, np.zeros(2), jac=so.rosen_der, bounds=(0, 1))


# ---------------------------------------------------- a real client: sklearn --

@pytest.fixture(scope="module")
def breast_cancer():
    from sklearn.linear_model import LogisticRegression
    p, X, y = mgh.breast_cancer_logistic()
    clf = LogisticRegression(solver="lbfgs", tol=1e-10, max_iter=10_000).fit(X, y)
    return p, np.r_[clf.coef_.ravel(), clf.intercept_]


@pytest.mark.parametrize("method", ["lbfgs", "bfgs", "newton-cg", "cg"])
def test_logistic_regression_coefficients_match_sklearn(solve, breast_cancer, method):
    p, w_sklearn = breast_cancer
    kw = dict(hessp=p.hessp) if method == "newton-cg" else {}
    r = solve(method, p.f, p.x0, jac=p.grad, tol=1e-7, ftol=0.0, maxiter=5000, **kw)
    assert r.success
    # sklearn's own lbfgs stops near |g| ~ 1e-5; the fit agrees to that accuracy
    np.testing.assert_allclose(r.x, w_sklearn, rtol=0, atol=2e-5 * np.abs(w_sklearn).max())
    assert p.f(r.x) <= p.f(w_sklearn) + 1e-9
