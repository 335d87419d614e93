"""Optimizer step kernels on raw arrays, for people who keep their own state.

Each function updates ``param`` and the state buffers in place, with the
same rule as the optimizer class of the same name, and checks its arguments
(dtype, byte order, shape, layout, writeability, memory overlap,
hyperparameter types and values) before touching anything. ``step`` is the
number t >= 1 of the update being made: keep your own counter, starting at
1. Every function also takes ``out=``: the new parameters then go to
``out`` (bit for bit the in-place result) and ``param`` is only read, so the
previous iterate survives without a copy. A kernel with scalar state
(``nadam_step``'s ``mu_product``) takes its value before the step and
returns the new one.

The functions are generated from the optimizer specs
(``fastgrad.optimizers.SPECS``); their signatures:

$table

Example
-------
>>> import numpy as np
>>> from fastgrad.kernels import adam_step
>>> p, g = np.ones(4), np.full(4, 0.5)
>>> m, v = np.zeros(4), np.zeros(4)
>>> adam_step(p, g, m, v, step=1, lr=0.1)
>>> p
array([0.9, 0.9, 0.9, 0.9])
"""
from __future__ import annotations

import inspect
import string
from typing import Any, Callable

from fastgrad._optim import REQUIRED, Kernel, kernel_function
from fastgrad.optimizers import CLASSES, SPECS, Spec

__all__ = [f"{name}_step" for name in SPECS]

# A call's values by role (Kernel in _optim.pyx): param, grad, step, lr,
# out, then the state buffers, hyperparameters and scalar state.
_FIXED_ROLES = ("param", "grad", "step", "lr", "out")


def _arguments(spec: Spec) -> tuple[list[tuple[str, int, bool, Any]], list[Any]]:
    """The kernel's arguments (name, role, positional, default or REQUIRED)
    in signature order, and the constant of every role no argument sets
    (hyperparameters that are fixed, or only initialize state)."""
    py = lambda c: spec.kernel_names.get(c, c)   # noqa: E731
    ns, nh = len(spec.state), len(spec.hyper)
    role = {name: k for k, name in enumerate(_FIXED_ROLES)}
    role.update((py(r["name"]), 5 + i) for i, r in enumerate(spec.state))
    role.update((py(h["name"]), 5 + ns + i) for i, h in enumerate(spec.hyper))
    role.update((py(s["name"]), 5 + ns + nh + i) for i, s in enumerate(spec.scalar))
    constants: list[Any] = [REQUIRED] * len(role)
    init_only = {r["initial_from"] for r in spec.state} - {None}
    hyper: dict[str, Any] = {}
    for i, h in enumerate(spec.hyper):
        default = bool(h["default"]) if h["kind"] == "flag" else h["default"]
        if h["name"] in spec.fixed or h["name"] in init_only:
            constants[5 + ns + i] = default     # not an argument
        else:
            hyper[py(h["name"])] = default
    states = {py(r["name"]): r["used_if"] is None for r in spec.state}
    if spec.kernel_positional is not None:
        positional = list(spec.kernel_positional)
    else:
        real = {py(h["name"]) for h in spec.hyper if h["kind"] == "real"}
        positional = ([s for s, always in states.items() if always] + ["step", "lr"]
                      + [name for name in hyper if name in real])
    args = [(name, role[name], True, REQUIRED) for name in ("param", "grad")]
    args += [(name, role[name], True, hyper.get(name, REQUIRED)) for name in positional]
    args += [(name, role[name], False, default) for name, default in hyper.items()
             if name not in positional]
    args += [(name, role[name], False, None) for name in states if name not in positional]
    args += [(py(s["name"]), role[py(s["name"])], False, REQUIRED) for s in spec.scalar]
    args.append(("out", role["out"], False, None))
    return args, constants


def _doc(spec: Spec) -> str:
    py = lambda c: spec.kernel_names.get(c, c)   # noqa: E731
    cls = CLASSES[spec.name].__name__
    states = ", ".join(
        f"``{py(r['name'])}`` (in/out" + ("" if r["used_if"] is None else
                                          f", or None unless ``{py(r['used_if'])}``") + ")"
        for r in spec.state)
    doc = (f"{cls} update of ``param`` in place, torch.optim.{spec.torch_name}'s rule "
           f"(see ``fastgrad.{cls}``).\n\n"
           f"``param`` (in/out; only read when ``out`` is given), ``grad`` (in), {states}: "
           "C-contiguous arrays of one shape and dtype, in native byte order, no two sharing "
           "memory. ``step`` is this update's number t >= 1. ``out``: an array like ``param`` "
           "that receives the new parameters (bit for bit the in-place result).")
    for s in spec.scalar:
        doc += (f"\n\n``{py(s['name'])}`` is the scalar state before this step "
                f"({s['initial']!r} before step 1); the function returns its new value.")
    return doc


def _make_kernel(spec: Spec) -> Callable[..., Any]:
    """``<name>_step``: the spec's argument list bound in C by a Kernel."""
    py = lambda c: spec.kernel_names.get(c, c)   # noqa: E731
    name = f"{spec.name}_step"
    args, constants = _arguments(spec)
    kernel = Kernel(spec.kind, name, tuple(args), tuple(constants),
                    tuple(py(r["name"]) for r in spec.state),
                    tuple(py(h["name"]) for h in spec.hyper),
                    tuple(py(s["name"]) for s in spec.scalar))
    P = inspect.Parameter
    signature = inspect.Signature([
        P(a, P.POSITIONAL_OR_KEYWORD if pos else P.KEYWORD_ONLY,
          **({} if default is REQUIRED else {"default": default}))
        for a, _, pos, default in args])
    return kernel_function(kernel, name, str(signature), _doc(spec), __name__)


for _spec in SPECS.values():
    globals()[f"{_spec.name}_step"] = _make_kernel(_spec)
del _spec

__doc__ = string.Template(__doc__ or "").substitute(table="\n".join(
    f"``{name}_step{inspect.signature(globals()[f'{name}_step'])}``\n"
    f"    ``fastgrad.{CLASSES[name].__name__}``'s rule" for name in SPECS))


def __getattr__(name: str) -> Callable[..., Any]:
    # Only reached for names not generated above; it tells type checkers
    # that the generated names are functions.
    raise AttributeError(f"module 'fastgrad.kernels' has no attribute {name!r}")
