# Type stub for the compiled module fastgrad._tape (see _tape.pyx).
from typing import Any

import numpy as np

CODES: dict[str, int]
SLOT_KINDS: dict[str, int]
INSTR_DTYPE: np.dtype

# TI_<code name> and SLOT_<kind name> (generated from CODES and SLOT_KINDS),
# Tape and the capsule helpers.
def __getattr__(name: str) -> Any: ...
