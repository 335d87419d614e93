"""Plain-NumPy twins of fastgrad's kernels: the tests' oracle and the
benchmarks' baseline. Readable textbook formulas, not copies of the C.

Each module adds its names here with a star import.
"""
from fastgrad.reference.optimizers import *  # noqa: F401,F403
from fastgrad.reference.finite_diff import *  # noqa: F401,F403
from fastgrad.reference.minimize import *  # noqa: F401,F403
from fastgrad.reference.stochastic import *  # noqa: F401,F403
from fastgrad.reference.minimize_many import *  # noqa: F401,F403
from fastgrad.reference.dual import *  # noqa: F401,F403
from fastgrad.reference.compiled import *  # noqa: F401,F403
