"""Reference dual numbers: scalar, pure Python, every rule written by hand.

The oracle for ``fastgrad.dual`` and ``fastgrad.differentiate``. It shares
nothing with the C op table (``fastgrad._ops``): a :class:`Dual` is one scalar
``v + e*eps`` with a single direction, functions of arrays run on NumPy
object arrays of Duals (NumPy calls the scalar methods: ``np.sin`` on an object
array calls ``Dual.sin``), and duals nest (the value and the tangent may be
Duals of a lower tag), so :func:`hessian` is forward-over-forward. Tags keep
perturbations apart: in ``a op b`` the operand with the higher tag is
differentiated and the other is a constant of its value field.

It is slow (one Python object per element, one direction per pass): use it
for small checks, not for work.
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Callable

import numpy as np

__all__ = ["Dual", "RULES", "apply", "dual_gradient", "dual_value_and_gradient",
           "dual_jacobian", "dual_jvp", "dual_hessian", "dual_directional_derivative"]

_TAGS = itertools.count(1)
_LN2 = float(np.log(2.0))
_LN10 = float(np.log(10.0))
_2_SQRTPI = 2.0 / math.sqrt(math.pi)


def _tag(x: Any) -> int:
    return x.tag if isinstance(x, Dual) else -1


def primal(x: Any) -> float:
    """The innermost real value of a (possibly nested) Dual."""
    while isinstance(x, Dual):
        x = x.v
    return x


class Dual:
    """A scalar dual number ``v + e*eps`` with tag ``tag`` (eps**2 = 0).

    ``v`` and ``e`` are floats or Duals of a lower tag (nesting).
    """

    __slots__ = ("v", "e", "tag")

    def __init__(self, v: Any, e: Any, tag: int) -> None:
        self.v, self.e, self.tag = v, e, tag

    def __repr__(self) -> str:
        return f"Dual({self.v!r}, {self.e!r}, tag={self.tag})"

    # operators: the binary rules below (arrays handle themselves elementwise)
    def __add__(self, o): return NotImplemented if isinstance(o, np.ndarray) else add(self, o)
    def __radd__(self, o): return NotImplemented if isinstance(o, np.ndarray) else add(o, self)
    def __sub__(self, o): return NotImplemented if isinstance(o, np.ndarray) else subtract(self, o)
    def __rsub__(self, o): return NotImplemented if isinstance(o, np.ndarray) else subtract(o, self)
    def __mul__(self, o): return NotImplemented if isinstance(o, np.ndarray) else multiply(self, o)
    def __rmul__(self, o): return NotImplemented if isinstance(o, np.ndarray) else multiply(o, self)
    def __truediv__(self, o): return NotImplemented if isinstance(o, np.ndarray) else divide(self, o)
    def __rtruediv__(self, o): return NotImplemented if isinstance(o, np.ndarray) else divide(o, self)
    def __pow__(self, o): return NotImplemented if isinstance(o, np.ndarray) else power(self, o)
    def __rpow__(self, o): return NotImplemented if isinstance(o, np.ndarray) else power(o, self)
    def __neg__(self): return negative(self)
    def __pos__(self): return self
    def __abs__(self): return absolute(self)

    # comparisons look at primal values
    def __lt__(self, o): return primal(self) < primal(o)
    def __le__(self, o): return primal(self) <= primal(o)
    def __gt__(self, o): return primal(self) > primal(o)
    def __ge__(self, o): return primal(self) >= primal(o)
    def __eq__(self, o): return primal(self) == primal(o)
    def __ne__(self, o): return primal(self) != primal(o)
    __hash__ = None  # type: ignore[assignment]

    def __float__(self) -> float:
        raise TypeError("float() of a Dual drops its derivative")


def _unary(f_val: Callable, f_der: Callable) -> Callable:
    """A unary rule: y = f_val(x), dy = f_der(x, y) * dx, applied recursively."""
    def rule(x):
        if isinstance(x, Dual):
            y = rule(x.v)
            return Dual(y, f_der(x.v, y) * x.e, x.tag)
        return f_val(float(x))
    return rule


def _binary(f_val: Callable, d_a: Callable, d_b: Callable) -> Callable:
    """A binary rule; the operand(s) with the highest tag are differentiated,
    a constant operand's partial is never evaluated."""
    def rule(a, b):
        ta, tb = _tag(a), _tag(b)
        if ta < 0 and tb < 0:
            return f_val(float(a), float(b))
        if ta == tb:
            y = rule(a.v, b.v)
            return Dual(y, d_a(a.v, b.v, y) * a.e + d_b(a.v, b.v, y) * b.e, ta)
        if ta > tb:
            y = rule(a.v, b)
            return Dual(y, d_a(a.v, b, y) * a.e, ta)
        y = rule(a, b.v)
        return Dual(y, d_b(a, b.v, y) * b.e, tb)
    return rule


def _sq(x):
    return x * x


# ---- the rules, each written from the textbook derivative ----
# (cos, cosh and power are annotated: rules use them before mypy can infer them)
negative = _unary(lambda x: -x, lambda x, y: -1.0)
positive = _unary(lambda x: x, lambda x, y: 1.0)
absolute = _unary(abs, lambda x, y: float(np.sign(primal(x))))
sign = _unary(lambda x: float(np.sign(x)), lambda x, y: 0.0)
square = _unary(lambda x: x * x, lambda x, y: 2.0 * x)
sqrt = _unary(np.sqrt, lambda x, y: 0.5 / y)
cbrt = _unary(np.cbrt, lambda x, y: 1.0 / (3.0 * y * y))
reciprocal = _unary(lambda x: 1.0 / x, lambda x, y: -1.0 / (x * x))
exp = _unary(np.exp, lambda x, y: y)
exp2 = _unary(np.exp2, lambda x, y: _LN2 * y)
expm1 = _unary(np.expm1, lambda x, y: exp(x))
log = _unary(np.log, lambda x, y: 1.0 / x)
log2 = _unary(np.log2, lambda x, y: 1.0 / (_LN2 * x))
log10 = _unary(np.log10, lambda x, y: 1.0 / (_LN10 * x))
log1p = _unary(np.log1p, lambda x, y: 1.0 / (1.0 + x))
sin = _unary(np.sin, lambda x, y: cos(x))
cos: Callable = _unary(np.cos, lambda x, y: -sin(x))
tan = _unary(np.tan, lambda x, y: 1.0 / _sq(cos(x)))
arcsin = _unary(np.arcsin, lambda x, y: 1.0 / sqrt(1.0 - x * x))
arccos = _unary(np.arccos, lambda x, y: -1.0 / sqrt(1.0 - x * x))
arctan = _unary(np.arctan, lambda x, y: 1.0 / (1.0 + x * x))
sinh = _unary(np.sinh, lambda x, y: cosh(x))
cosh: Callable = _unary(np.cosh, lambda x, y: sinh(x))
tanh = _unary(np.tanh, lambda x, y: 1.0 / _sq(cosh(x)))
arcsinh = _unary(np.arcsinh, lambda x, y: 1.0 / sqrt(x * x + 1.0))
arccosh = _unary(np.arccosh, lambda x, y: 1.0 / sqrt(x * x - 1.0))
arctanh = _unary(np.arctanh, lambda x, y: 1.0 / (1.0 - x * x))
erf = _unary(math.erf, lambda x, y: _2_SQRTPI * exp(-(x * x)))      # scipy.special.erf
erfc = _unary(math.erfc, lambda x, y: -_2_SQRTPI * exp(-(x * x)))   # scipy.special.erfc

add = _binary(lambda a, b: a + b, lambda a, b, y: 1.0, lambda a, b, y: 1.0)
subtract = _binary(lambda a, b: a - b, lambda a, b, y: 1.0, lambda a, b, y: -1.0)
multiply = _binary(lambda a, b: a * b, lambda a, b, y: b, lambda a, b, y: a)
divide = _binary(lambda a, b: a / b, lambda a, b, y: 1.0 / b, lambda a, b, y: -a / (b * b))
power: Callable = _binary(lambda a, b: np.power(a, b),
                          lambda a, b, y: b * power(a, b - 1.0),
                          lambda a, b, y: y * log(a))
arctan2 = _binary(np.arctan2, lambda a, b, y: b / (a * a + b * b),
                  lambda a, b, y: -a / (a * a + b * b))
hypot = _binary(np.hypot, lambda a, b, y: a / y, lambda a, b, y: b / y)
logaddexp = _binary(np.logaddexp, lambda a, b, y: exp(a - y), lambda a, b, y: exp(b - y))


def _pick(choose_a: Callable) -> Callable:
    """maximum-like rules: the result is one of the operands, derivative and all."""
    def rule(a, b):
        return a if choose_a(primal(a), primal(b)) else b
    return rule


maximum = _pick(lambda a, b: a != a or a >= b)
minimum = _pick(lambda a, b: a != a or a <= b)
fmax = _pick(lambda a, b: b != b or a >= b)
fmin = _pick(lambda a, b: b != b or a <= b)

# comparisons return plain bools on primal values
less = lambda a, b: primal(a) < primal(b)  # noqa: E731
less_equal = lambda a, b: primal(a) <= primal(b)  # noqa: E731
greater = lambda a, b: primal(a) > primal(b)  # noqa: E731
greater_equal = lambda a, b: primal(a) >= primal(b)  # noqa: E731
equal = lambda a, b: primal(a) == primal(b)  # noqa: E731
not_equal = lambda a, b: primal(a) != primal(b)  # noqa: E731

RULES = {name: globals()[name] for name in (
    "negative", "positive", "absolute", "sign", "square", "sqrt", "cbrt", "reciprocal", "exp",
    "exp2", "expm1", "log", "log2", "log10", "log1p", "sin", "cos", "tan", "arcsin", "arccos",
    "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "erf", "erfc",
    "add", "subtract",
    "multiply", "divide", "power", "arctan2", "hypot", "maximum", "minimum", "fmax", "fmin",
    "logaddexp", "less", "less_equal", "greater", "greater_equal", "equal", "not_equal")}
"""Op table row name (the ufunc's name) -> the hand-written scalar rule."""

# NumPy's object loops call a method named after the ufunc.
for _name, _rule in RULES.items():
    if not hasattr(Dual, _name):
        setattr(Dual, _name, (lambda r: lambda self, *o: r(self, *o))(_rule))
del _name, _rule


def apply(name: str, *operands: Any) -> Any:
    """Apply the rule for NumPy ufunc ``name`` to scalars or Duals."""
    return RULES[name](*operands)


# ---------------------------------------------------------------- drivers --
def _point(x: Any) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    return a


def _seeded(x: np.ndarray, direction: np.ndarray, tag: int) -> np.ndarray:
    out = np.empty(x.shape, dtype=object)
    for idx in np.ndindex(x.shape):
        out[idx] = Dual(float(x[idx]), float(direction[idx]), tag)
    return out


def _tangent(y: Any, tag: int) -> np.ndarray:
    """The eps-part (for tag) of each element of f's output."""
    arr = np.asarray(y, dtype=object)
    out = np.empty(arr.shape, dtype=float)
    for idx in np.ndindex(arr.shape):
        d = arr[idx]
        out[idx] = d.e if isinstance(d, Dual) and d.tag == tag else 0.0
    return out


def _value(y: Any) -> np.ndarray:
    arr = np.asarray(y, dtype=object)
    out = np.empty(arr.shape, dtype=float)
    for idx in np.ndindex(arr.shape):
        out[idx] = primal(arr[idx])
    return out


def dual_jvp(f: Callable, x: Any, v: Any, *, args: tuple = ()):
    """(f(x), J(x) v) from one pass of reference duals."""
    x = _point(x)
    tag = next(_TAGS)
    y = f(_seeded(x, np.asarray(v, dtype=float), tag), *args)
    return _value(y), _tangent(y, tag)


def dual_jacobian(f: Callable, x: Any, *, args: tuple = ()) -> np.ndarray:
    """Jacobian of shape f(x).shape + x.shape, one pass per input coordinate."""
    x = _point(x)
    cols = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = 1.0
        cols.append(dual_jvp(f, x, e.reshape(x.shape), args=args)[1])
    if not cols:
        return np.zeros(np.shape(f(x, *args)) + x.shape)
    return np.stack(cols, axis=-1).reshape(cols[0].shape + x.shape)


def dual_value_and_gradient(f: Callable, x: Any, *, args: tuple = ()):
    """(f(x), grad f(x)) for scalar f."""
    x = _point(x)
    g = dual_jacobian(f, x, args=args)
    return float(_value(f(x, *args)).reshape(())), g.reshape(x.shape)


def dual_gradient(f: Callable, x: Any, *, args: tuple = ()) -> np.ndarray:
    """grad f(x) for scalar f."""
    return dual_value_and_gradient(f, x, args=args)[1]


def dual_directional_derivative(f: Callable, x: Any, v: Any, *, normalize: bool = True,
                                args: tuple = ()) -> float:
    """grad f(x) . v / |v| (or . v without normalize)."""
    v = np.asarray(v, dtype=float)
    if normalize:
        v = v / np.linalg.norm(v)
    return float(dual_jvp(f, x, v, args=args)[1].reshape(()))


def dual_hessian(f: Callable, x: Any, *, args: tuple = ()) -> np.ndarray:
    """Hessian by nested duals (forward over forward): one pass per (i, j).

    x_k = Dual(Dual(x_k, [k == j], inner), Dual([k == i], 0, inner), outer),
    so the outer tangent of f is df/dx_i as an inner dual whose tangent is
    d2f/dx_i dx_j.
    """
    x = _point(x)
    n = x.size
    flat = x.reshape(-1)
    H = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            inner, outer = next(_TAGS), next(_TAGS)
            xs = np.empty(n, dtype=object)
            for k in range(n):
                xs[k] = Dual(Dual(float(flat[k]), float(k == j), inner),
                             Dual(float(k == i), 0.0, inner), outer)
            y = np.asarray(f(xs.reshape(x.shape), *args), dtype=object).reshape(())[()]
            if isinstance(y, Dual) and y.tag == outer:
                d = y.e
                H[i, j] = d.e if isinstance(d, Dual) and d.tag == inner else 0.0
            else:
                H[i, j] = 0.0
    return H.reshape(x.shape + x.shape)


# The same names as fastgrad.differentiate (for `from fastgrad.reference.dual
# import gradient`); __all__ exports the dual_ spellings so that the package's
# star import does not collide with the finite-difference twins.
gradient = dual_gradient
value_and_gradient = dual_value_and_gradient
jacobian = dual_jacobian
jvp = dual_jvp
hessian = dual_hessian
directional_derivative = dual_directional_derivative
