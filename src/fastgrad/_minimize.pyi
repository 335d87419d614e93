# Type stub for the compiled module fastgrad._minimize (see _minimize.pyx): untyped.
from typing import Any

def __getattr__(name: str) -> Any: ...
