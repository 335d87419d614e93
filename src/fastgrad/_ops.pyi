# Type stub for the compiled module fastgrad._ops (see _ops.pyx).
from typing import Any, NamedTuple

class Row(NamedTuple):
    name: str
    kind: str
    arity: int
    code: int
    module: str
    function: str
    domain: tuple[str, ...]

class Domain(NamedTuple):
    name: str
    lo: float
    hi: float
    no_zero: bool

ABI_VERSION: int
DOMAINS: dict[str, Domain]
ROWS: tuple[Row, ...]
OPS: tuple[tuple[str, str, int], ...]
OP_CODES: dict[str, int]
BINDINGS: dict[tuple[str, str], Row]

def row_of(ufunc: Any) -> Row | None: ...
def ufunc_of(name: str) -> Any: ...
def op_partials(name: str, a: float, b: float = ...) -> tuple[float, float, float]: ...
def op_second(name: str, a: float, b: float = ...) -> tuple[float, float, float]: ...
