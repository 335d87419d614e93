# Type stub for the compiled module fastgrad._tape_batch (see _tape_batch.pyx).
from typing import Any, Sequence

def batch_capsule(tapes: Sequence[tuple[int, Any]], reverse: bool = True) -> Any: ...
