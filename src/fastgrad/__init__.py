"""fastgrad: a gradient engine for NumPy users with a C core.

Fused optimizers with torch.optim's rules (``SGD``, ``Adam``, ``AdamW``,
``RMSprop``, ``Adagrad``), raw step kernels (``fastgrad.kernels``), learning
rate schedules (``fastgrad.schedules``) and a NumPy twin of everything
(``fastgrad.reference``).
"""
from __future__ import annotations

import os

from fastgrad import kernels, schedules
from fastgrad.optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from fastgrad.compiled import CompiledFunction, compile

__version__ = "0.1.0"

__all__ = [
    "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Optimizer",
    "kernels", "schedules", "get_include", "__version__",
    "compile", "CompiledFunction",
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
    # Search every package path: in an editable install __file__ is in src/
    # while the CMake-installed include/ lives beside the built modules.
    for base in __path__:
        candidate = os.path.join(base, "include")
        if os.path.exists(os.path.join(candidate, "fastgrad.h")):
            return candidate
    raise FileNotFoundError("fastgrad's include folder is missing from this installation")
