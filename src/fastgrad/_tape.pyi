# Type stub for the compiled module fastgrad._tape (see _tape.pyx): untyped.
from typing import Any

def __getattr__(name: str) -> Any: ...
