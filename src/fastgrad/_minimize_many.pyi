# Type stub for the compiled module fastgrad._minimize_many (see _minimize_many.pyx): untyped.
from typing import Any

def __getattr__(name: str) -> Any: ...
