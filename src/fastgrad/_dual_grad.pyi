# Type stub for the compiled module fastgrad._dual_grad (see _dual_grad.pyx): untyped.
from typing import Any

def __getattr__(name: str) -> Any: ...
