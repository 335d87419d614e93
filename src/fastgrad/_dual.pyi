# Type stub for the compiled module fastgrad._dual (see _dual.pyx): untyped.
from typing import Any

def __getattr__(name: str) -> Any: ...
