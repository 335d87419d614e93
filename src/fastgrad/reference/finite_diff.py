"""Plain-NumPy finite differences: the oracle for ``fastgrad.finite_diff``.

Same names and signatures as the fast module, textbook loops over the
coordinates, one call of ``f`` per point (``vectorized`` is accepted and
ignored). Same default step rules (``c * max(1, |x_i|)``), the exact-step
trick ``h = (x + h) - x``, and the same error estimates, written directly
from the formulas rather than from the C.
"""
from __future__ import annotations

import numpy as np

__all__ = ["FD_METHODS", "fd_gradient", "fd_jacobian", "fd_jvp", "fd_hessian"]

FD_METHODS = ("forward", "backward", "central", "five-point", "complex", "richardson")
_LEVELS = 4


def _scale(method, eps):
    return {"forward": eps ** 0.5, "backward": eps ** 0.5, "central": eps ** (1 / 3),
            "five-point": eps ** 0.2, "richardson": 4 * eps ** 0.2, "complex": 1e-20}[method]


def _setup(f, x, method, step):
    if not callable(f):
        raise TypeError("f must be callable")
    if method not in FD_METHODS:
        raise ValueError(f"method must be one of {FD_METHODS}, got {method!r}")
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"x must be an array-like of real numbers, got dtype {arr.dtype}")
    dtype = np.float32 if arr.dtype == np.float32 else np.float64
    x = np.array(arr, dtype=dtype)
    if x.size == 0:
        raise ValueError("x must have at least one element")
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite")
    eps = np.finfo(dtype).eps
    if step is None:
        h = (_scale(method, eps) * np.maximum(1.0, np.abs(x.ravel()))).astype(dtype)
    else:
        h = np.broadcast_to(np.asarray(step, dtype=dtype), x.shape).ravel().copy()
        if not (np.all(np.isfinite(h)) and np.all(h > 0)):
            raise ValueError("step must be finite and > 0")
    return x, h, dtype, eps


def _diff(f, x, j, o, h, args):
    """(f(x + o h e_j), the exact step taken)."""
    xp = x.ravel().copy()
    xp[j] = x.ravel()[j] + o * h
    d = float(xp[j]) - float(x.ravel()[j])
    return np.asarray(f(xp.reshape(x.shape), *args), dtype=np.float64), d


def _central(f, x, j, s, args):
    fp, dp = _diff(f, x, j, 1, s, args)
    fm, dm = _diff(f, x, j, -1, s, args)
    return (fp - fm) / (dp - dm), eps_term(fp, fm, dp - dm)


def eps_term(a, b, d):
    return (np.abs(a) + np.abs(b)) / abs(d)


def _one_coordinate(f, x, j, method, h, f0, args, eps):
    if method in ("forward", "backward"):
        o = 1 if method == "forward" else -1
        f1, d1 = _diff(f, x, j, o, h, args)
        f2, d2 = _diff(f, x, j, 2 * o, h, args)
        g = (f1 - f0) / d1
        return g, np.abs(g - (f2 - f0) / d2) + eps * eps_term(f1, f0, d1)
    if method == "central":
        g, r = _central(f, x, j, h, args)
        g2, _ = _central(f, x, j, 2 * h, args)
        return g, np.abs(g - g2) / 3 + eps * r
    if method == "five-point":
        # (f(x-2h) - 8 f(x-h) + 8 f(x+h) - f(x+2h)) / 12h, written as D(h) + (D(h) - D(2h))/3
        g1, r1 = _central(f, x, j, h, args)
        g2, r2 = _central(f, x, j, 2 * h, args)
        return g1 + (g1 - g2) / 3, np.abs(g1 - g2) / 3 + eps * (4 * r1 + r2) / 3
    # Richardson: T[i][0] = D(h / 2^i), T[i][k] = T[i][k-1] + (T[i][k-1] - T[i-1][k-1]) / (4^k - 1)
    T = [[None] * _LEVELS for _ in range(_LEVELS)]
    R = [[None] * _LEVELS for _ in range(_LEVELS)]
    for i in range(_LEVELS):
        T[i][0], R[i][0] = _central(f, x, j, h / 2 ** i, args)
        R[i][0] = eps * R[i][0]
        for k in range(1, i + 1):
            T[i][k] = T[i][k - 1] + (T[i][k - 1] - T[i - 1][k - 1]) / (4 ** k - 1)
            R[i][k] = (4 ** k * R[i][k - 1] + R[i - 1][k - 1]) / (4 ** k - 1)
    L = _LEVELS - 1
    g = T[L][L]
    return g, np.maximum(np.abs(g - T[L][L - 1]), np.abs(g - T[L - 1][L - 1])) + R[L][L]


def fd_jacobian(f, x, *, method="central", step=None, args=(), vectorized=False,
                full_output=False):
    """Jacobian, shape f(x).shape + x.shape (reference twin)."""
    x, h, dtype, eps = _setup(f, x, method, step)
    args = args if isinstance(args, tuple) else (args,)
    cols, errs = [], []
    f0 = np.asarray(f(x.copy(), *args))
    for j in range(x.size):
        if method == "complex":
            xc = x.ravel().astype(np.complex64 if dtype == np.float32 else np.complex128)
            xc[j] += 1j * h[j]
            val = np.asarray(f(xc.reshape(x.shape), *args))
            if val.dtype.kind != "c":
                raise TypeError("method='complex' needs f to return complex values")
            g = val.imag / float(h[j])
            e = eps * (np.abs(g) + np.abs(val.real) / max(1.0, abs(float(x.ravel()[j]))))
        else:
            g, e = _one_coordinate(f, x, j, method, float(h[j]), f0.astype(np.float64),
                                   args, eps)
        cols.append(np.asarray(g))
        errs.append(np.asarray(e))
    jac = np.stack(cols, axis=-1).reshape(f0.shape + x.shape).astype(dtype)
    err = np.stack(errs, axis=-1).reshape(f0.shape + x.shape).astype(dtype)
    return (jac, err) if full_output else jac


def fd_gradient(f, x, *, method="central", step=None, args=(), vectorized=False,
                full_output=False):
    """Gradient of a scalar f, x's shape (reference twin)."""
    xa = _setup(f, x, method, step)[0]
    out = fd_jacobian(f, x, method=method, step=step, args=args, full_output=full_output)
    if (out[0] if full_output else out).shape != xa.shape:
        raise ValueError("f must return a scalar for a gradient")
    return out


def fd_jvp(f, x, v, *, method="central", step=None, args=()):
    """(f(x), J v) by differencing g(t) = f(x + t v) at t = 0 (reference twin)."""
    args = args if isinstance(args, tuple) else (args,)
    x = np.asarray(x, dtype=np.float32 if np.asarray(x).dtype == np.float32 else np.float64)
    v = np.asarray(v, dtype=x.dtype)
    fx = np.asarray(f(x.copy(), *args))
    vn = np.linalg.norm(v)
    if vn == 0:
        return fx, np.zeros_like(fx, dtype=float)
    if step is None:
        step = _scale(method, np.finfo(x.dtype).eps) * max(1.0, np.linalg.norm(x)) / vn
    if method == "complex":
        return fx, np.asarray(f(x + 1j * step * v, *args)).imag / step
    jac = fd_jacobian(lambda t: f(x + t[0] * v, *args), np.zeros(1, dtype=x.dtype),
                      method=method, step=step)
    return fx, jac[..., 0]


def fd_hessian(f, x, *, method="central", step=None, args=(), grad=None):
    """(n, n) symmetrized Jacobian of the gradient (reference twin)."""
    args = args if isinstance(args, tuple) else (args,)
    x = np.asarray(x, dtype=np.float32 if np.asarray(x).dtype == np.float32 else np.float64)
    n = x.size
    outer = "central" if method == "complex" else method
    if grad is None:
        def grad(y, *a):
            return fd_gradient(f, y, method=method, args=a)
        if step is None and method != "richardson":
            eps = np.finfo(x.dtype).eps
            p = {"forward": 1, "backward": 1, "central": 2, "five-point": 4}.get(method)
            c = eps ** (1 / 3) if p is None else eps ** (p / (p + 1) ** 2)
            step = c * np.maximum(1.0, np.abs(x))
    J = fd_jacobian(lambda y: np.asarray(grad(y, *args)).ravel(), x, method=outer,
                    step=step).reshape(n, n)
    return (J + J.T) / 2
