# Type stub for the compiled module fastgrad._ops (see _ops.pyx): untyped.
from typing import Any

def __getattr__(name: str) -> Any: ...
