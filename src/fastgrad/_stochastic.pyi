# Type stub for the compiled module fastgrad._stochastic (see _stochastic.pyx): untyped.
from typing import Any

def __getattr__(name: str) -> Any: ...
