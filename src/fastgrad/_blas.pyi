# Type stub for the compiled module fastgrad._blas (see _blas.pyx).
from typing import Any

MIN_WORK: int

def info() -> dict[str, Any]: ...
