# Type stub for the compiled module fastgrad._fd (see _fd.pyx): untyped.
from typing import Any

def __getattr__(name: str) -> Any: ...
