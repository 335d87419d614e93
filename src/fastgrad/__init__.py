"""fastgrad: a gradient engine for NumPy users with a C core.

- Optimizers with torch.optim's rules, one fused pass of C per step: ``SGD``,
  ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad``, ``Adamax``, ``NAdam``; raw
  step kernels in ``fastgrad.kernels``; learning-rate schedules in
  ``fastgrad.schedules``.
- Derivatives of NumPy code: ``gradient``, ``value_and_gradient``,
  ``jacobian``, ``hessian``, ``jvp``, ``directional_derivative``,
  ``check_gradient`` by dual numbers (``DualArray``, ``dual``) or finite
  differences (``fastgrad.finite_diff``).
- ``compile``: trace NumPy code once into a tape a C VM evaluates.
- ``minimize``: whole optimization loops in C (``OptimizeResult``);
  ``minimize_many``: many small problems in one call (``ManyResult``).
- ``get_include``/``get_library_dir`` for C and Cython embedders;
  ``fastgrad.reference`` is a NumPy twin of every kernel.
"""
import os as _os

from fastgrad import kernels, schedules
from fastgrad import finite_diff
from fastgrad.optimizers import SGD, Adagrad, Adam, Adamax, AdamW, NAdam, Optimizer, RMSprop
from fastgrad.dual import DualArray, dual
from fastgrad.differentiate import (check_gradient, directional_derivative, gradient, hessian,
                                    jacobian, jvp, value_and_gradient)
from fastgrad.minimize import OptimizeResult, minimize
from fastgrad.minimize_many import ManyResult, minimize_many
from fastgrad.compiled import CompiledFunction, compile

__version__ = "0.1.0"

__all__ = [
    "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "Optimizer",
    "kernels", "schedules", "get_include", "get_library_dir", "__version__",
    "finite_diff", "minimize", "OptimizeResult", "minimize_many", "ManyResult",
    "DualArray", "dual", "gradient", "value_and_gradient", "jacobian", "hessian", "jvp",
    "directional_derivative", "check_gradient", "compile", "CompiledFunction",
]


def get_include() -> str:
    """Return the folder that holds fastgrad's public C headers.

    Like ``numpy.get_include()``: pass it to the compiler (``-I``) of an
    extension that does ``#include "fastgrad.h"``.

    Returns
    -------
    str
        Absolute path of the ``include`` folder inside the installed package.

    Example
    -------
    >>> import os, fastgrad
    >>> os.path.exists(os.path.join(fastgrad.get_include(), "fastgrad.h"))
    True
    """
    return _installed_dir("include", "fastgrad.h")


def get_library_dir() -> str:
    """Return the folder holding ``libfgcore.a``, fastgrad's C core.

    A plain C extension that calls fastgrad's C functions links it:
    ``library_dirs=[fastgrad.get_library_dir()], libraries=["fgcore"]`` (and
    ``-lm -lpthread`` on Linux). Cython extensions need no library: they
    ``cimport`` the ``.pxd`` exports instead.

    Example
    -------
    Compile and link a C program that calls the core, from a shell::

        cc prog.c -I "$(python -c 'import fastgrad; print(fastgrad.get_include())')" \\
            -L "$(python -c 'import fastgrad; print(fastgrad.get_library_dir())')" \\
            -lfgcore -lm -lpthread
    """
    return _installed_dir("lib", "libfgcore.a")


def _installed_dir(folder: str, marker: str) -> str:
    # Search every package path: in an editable install __file__ is in src/
    # while the CMake-installed folders live beside the built modules.
    for base in __path__:
        candidate = _os.path.join(base, folder)
        if _os.path.exists(_os.path.join(candidate, marker)):
            return candidate
    raise FileNotFoundError(f"fastgrad's {folder} folder is missing from this installation")
