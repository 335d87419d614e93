# Type stubs for the compiled module fastgrad._optim (see _optim.pyx).
from typing import Any, Callable, Sequence

import numpy as np

KIND_SGD: int
KIND_ADAM: int
KIND_RMSPROP: int
KIND_ADAGRAD: int

def sgd_step(param: np.ndarray, grad: np.ndarray, momentum_buffer: np.ndarray | None, step: int,
             lr: float, momentum: float = ..., dampening: float = ..., weight_decay: float = ...,
             nesterov: bool = ..., maximize: bool = ..., *,
             out: np.ndarray | None = ...) -> None: ...
def adam_step(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
              step: int, lr: float, beta1: float = ..., beta2: float = ..., eps: float = ...,
              weight_decay: float = ..., *, amsgrad: bool = ...,
              max_exp_avg_sq: np.ndarray | None = ..., maximize: bool = ...,
              decoupled: bool = ..., out: np.ndarray | None = ...) -> None: ...
def adamw_step(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
               step: int, lr: float, beta1: float = ..., beta2: float = ..., eps: float = ...,
               weight_decay: float = ..., *, amsgrad: bool = ...,
               max_exp_avg_sq: np.ndarray | None = ..., maximize: bool = ...,
               out: np.ndarray | None = ...) -> None: ...
def rmsprop_step(param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray, step: int,
                 lr: float, alpha: float = ..., eps: float = ..., weight_decay: float = ...,
                 momentum: float = ..., centered: bool = ..., *,
                 momentum_buffer: np.ndarray | None = ..., grad_avg: np.ndarray | None = ...,
                 maximize: bool = ..., out: np.ndarray | None = ...) -> None: ...
def adagrad_step(param: np.ndarray, grad: np.ndarray, state_sum: np.ndarray, step: int,
                 lr: float, lr_decay: float = ..., weight_decay: float = ..., eps: float = ...,
                 *, maximize: bool = ..., out: np.ndarray | None = ...) -> None: ...

class FusedOptimizer:
    _lr: float
    _beta1: float
    _beta2: float
    _eps: float
    _weight_decay: float
    _momentum: float
    _dampening: float
    _alpha: float
    _lr_decay: float
    _amsgrad: bool
    _maximize: bool
    _nesterov: bool
    _centered: bool
    _decoupled: bool
    _check_finite: bool
    _buffers_ready: bool
    _threads: int
    @property
    def params(self) -> list[np.ndarray]: ...
    @property
    def steps(self) -> int: ...
    def step(self, grads: np.ndarray | Sequence[np.ndarray]) -> None: ...
    def _setup(self, kind: int, params: list[np.ndarray], states: list[list[Any]],
               single: bool) -> None: ...
    def _set_steps(self, steps: int) -> None: ...
    def _set_schedule(self, schedule: Callable[[int], float] | None) -> None: ...
    def _get_schedule(self) -> Callable[[int], float] | None: ...
