"""Fused optimizers with torch.optim's update rules.

Every optimizer updates its parameters in place, in one pass of C per step
over all of them, with the GIL released (see ``_optim.pyx``). The formulas,
their order of operations and the defaults are those of the same-named
``torch.optim`` class (single-tensor path), with fused multiply-adds where
torch's vectorized CPU kernels use them, so float64 trajectories agree with
torch's bit for bit on x86-64.

Example
-------
>>> import numpy as np, fastgrad as fg
>>> x = np.array([2.0, 4.0])
>>> opt = fg.SGD(x, lr=0.1)
>>> for _ in range(2):
...     opt.step(np.array([6.0, 2.0]) * x)      # gradient of 3x^2 + y^2
>>> x
array([0.32, 2.56])
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence, Union

import numpy as np

from fastgrad._optim import (
    KIND_ADAGRAD,
    KIND_ADAM,
    KIND_RMSPROP,
    KIND_SGD,
    FusedOptimizer,
)

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]

LearningRate = Union[float, Callable[[int], float]]
Params = Union[np.ndarray, Sequence[np.ndarray]]


# ------------------------------------------------------------ validation --

def _check_nonneg(name: str, value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not (math.isfinite(x) and x >= 0.0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return x


def _check_beta(name: str, value: Any) -> float:
    x = _check_nonneg(name, value)
    if not x < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return x


def _check_lr(lr: Any) -> tuple[float, Callable[[int], float] | None]:
    """(fixed lr, schedule): a callable lr is a schedule, checked at step 1."""
    if callable(lr):
        _check_nonneg("lr (schedule value at step 1)", lr(1))
        return 0.0, lr
    return _check_nonneg("lr", lr), None


def _check_threads(threads: Any) -> int:
    if not isinstance(threads, (int, np.integer)) or isinstance(threads, bool) or not 1 <= threads <= 64:
        raise ValueError(f"threads must be an integer from 1 to 64, got {threads!r}")
    return int(threads)


def _param_list(params: Params) -> tuple[list[np.ndarray], bool]:
    """Validated list of parameter arrays, and whether one array was given."""
    single = isinstance(params, np.ndarray)
    arrays: list[np.ndarray]
    if single:
        arrays, names = [params], ["params"]  # type: ignore[list-item]
    else:
        if isinstance(params, (str, bytes)) or not isinstance(params, Sequence):
            raise TypeError(f"params must be a numpy.ndarray or a sequence of them, "
                            f"got {type(params).__name__}")
        arrays = list(params)  # type: ignore[arg-type]
        names = [f"params[{i}]" for i in range(len(arrays))]
        if not arrays:
            raise ValueError("params is an empty sequence")
    for a, name in zip(arrays, names):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray of float32 or float64, "
                            f"got {type(a).__name__}")
        if a.dtype not in (np.float32, np.float64):
            raise TypeError(f"{name} must have dtype float32 or float64, got {a.dtype}")
        if not a.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous (use numpy.ascontiguousarray)")
        if not a.flags.writeable:
            raise ValueError(f"{name} is read-only, but fastgrad updates it in place")
    for i in range(len(arrays)):
        for j in range(i):
            if np.may_share_memory(arrays[i], arrays[j]):
                raise ValueError(f"params[{j}] and params[{i}] share memory; "
                                 "each parameter must be its own array")
    return arrays, single


def _restore(cls, params, kwargs, state):
    opt = cls(params, **kwargs)
    opt.load_state_dict(state)
    return opt


class Optimizer(FusedOptimizer):
    """Common machinery of the fused optimizers: state layout, state_dict,
    pickling. Subclasses set ``_kind``, ``_state_names`` (the C kernel's state
    order) and ``_hyper_names`` (torch's param_group keys they own)."""

    _kind: int
    _state_names: tuple[str, ...]

    def _init_common(self, params: Params, lr: LearningRate, check_finite: bool,
                     threads: int, kwargs: dict[str, Any]) -> None:
        arrays, single = _param_list(params)
        self._single = single
        self._lr, schedule = _check_lr(lr)
        self._set_schedule(schedule)
        self._check_finite = bool(check_finite)
        self._threads = _check_threads(threads)
        self._init_kwargs = dict(kwargs, lr=lr, check_finite=check_finite, threads=threads)
        self._state_arrays = [
            [np.full_like(a, self._state_fill(name)) if self._state_used(name) else None
             for name in self._state_names]
            for a in arrays
        ]
        self._setup(self._kind, arrays, self._state_arrays, single)

    # Subclasses override: is this state buffer used with these options?
    def _state_used(self, name: str) -> bool:
        return True

    def _state_fill(self, name: str) -> float:
        return 0.0

    def _group(self) -> dict[str, Any]:
        raise NotImplementedError

    def _load_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    @property
    def lr(self) -> LearningRate:
        """The learning rate: a float, or the schedule callable given."""
        schedule = self._get_schedule()
        return schedule if schedule is not None else self._lr

    @lr.setter
    def lr(self, value: LearningRate) -> None:
        fixed, schedule = _check_lr(value)
        self._lr = fixed
        self._set_schedule(schedule)

    def lr_at(self, step: int) -> float:
        """The learning rate used by step number ``step`` (counting from 1)."""
        schedule = self._get_schedule()
        return float(schedule(step)) if schedule is not None else self._lr

    def _has_state(self) -> bool:
        return self.steps > 0

    def state_dict(self) -> dict[str, Any]:
        """A snapshot in torch.optim's layout, with NumPy copies of the state.

        ``{"state": {i: {"step": float, <buffer name>: ndarray, ...}},
        "param_groups": [{<hyperparameters>, "params": [0, 1, ...]}]}``.
        State appears after the first step (torch's lazy state; Adagrad's from
        the start). Unlike torch, SGD records "step" too, so that a restored
        optimizer's schedule continues where it was.
        Safe to keep while training goes on: nothing in it is shared.
        """
        state: dict[int, dict[str, Any]] = {}
        if self._has_state():
            for i, buffers in enumerate(self._state_arrays):
                entry: dict[str, Any] = {"step": float(self.steps)}
                for name, arr in zip(self._state_names, buffers):
                    if arr is not None and not (name == "momentum_buffer" and self._kind == KIND_SGD
                                                and not self._buffers_ready):
                        entry[name] = arr.copy()
                state[i] = entry
        group = self._group()
        group["params"] = list(range(len(self.params)))
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a snapshot taken by ``state_dict`` (or converted from
        torch's): hyperparameters, step count and buffers, copied into this
        optimizer's own arrays. A schedule given as ``lr`` is kept."""
        try:
            groups = state_dict["param_groups"]
            states = state_dict["state"]
        except (TypeError, KeyError):
            raise ValueError("state_dict must have 'state' and 'param_groups' entries") from None
        if len(groups) != 1:
            raise ValueError(f"state_dict has {len(groups)} parameter groups; "
                             "fastgrad optimizers have one")
        group = groups[0]
        if len(group.get("params", ())) != len(self.params):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             f"the size of optimizer's group ({len(group.get('params', ()))} "
                             f"!= {len(self.params)})")
        ids = list(group["params"])
        loaded: list[tuple[np.ndarray, np.ndarray]] = []
        steps = 0
        for i, pid in enumerate(ids):
            entry = states.get(pid, states.get(str(pid), {}))
            if "step" in entry:
                steps = int(np.asarray(entry["step"]).item())
            for name, arr in zip(self._state_names, self._state_arrays[i]):
                if name not in entry:
                    continue
                if arr is None:
                    raise ValueError(f"state[{pid}] has {name!r}, which these options do not use")
                value = np.asarray(entry[name])
                if value.shape != arr.shape:
                    raise ValueError(f"state[{pid}][{name!r}] has shape {value.shape} but "
                                     f"params[{i}] has shape {arr.shape}")
                loaded.append((arr, value))
        saved_lr = self.lr
        self._load_group(group)             # validates before anything is written
        if callable(saved_lr):
            self.lr = saved_lr
        for arr, value in loaded:
            np.copyto(arr, value, casting="unsafe")
        self._set_steps(steps)
        self._buffers_ready = steps > 0 and (self._kind != KIND_SGD or any(
            "momentum_buffer" in states.get(pid, states.get(str(pid), {})) for pid in ids)
            or self._momentum == 0.0)

    def __reduce__(self):
        params = self.params[0] if self._single else self.params
        return (_restore, (type(self), params, self._init_kwargs, self.state_dict()))

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self._group().items())
        return f"{type(self).__name__}({len(self.params)} params, steps={self.steps}, {items})"


class SGD(Optimizer):
    r"""Stochastic gradient descent with momentum, dampening, Nesterov
    momentum and L2 weight decay (torch.optim.SGD).

    Parameters
    ----------
    params : ndarray or sequence of ndarray
        Writeable, C-contiguous float32/float64 arrays, updated in place.
    lr : float or callable, default 1e-3
        Learning rate, or a schedule ``lr(step)`` with steps counted from 1.
    momentum, dampening, weight_decay : float, default 0
    nesterov : bool, default False
        Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.
    maximize : bool, default False
        Gradient ascent.
    check_finite : bool, default False
        Raise ``FloatingPointError``, changing nothing, when a gradient holds
        NaN or infinity.
    threads : int, default 1
        Threads used for arrays of at least 65536 elements.

    Notes
    -----
    With :math:`g \leftarrow \pm g + \lambda p` and momentum :math:`\mu`:

    .. math:: b_1 = g_1,\quad b_t = \mu b_{t-1} + (1-\tau) g_t,\quad
              d_t = g_t + \mu b_t \text{ (Nesterov) or } b_t,\quad
              p \leftarrow p - \eta d_t

    Example
    -------
    >>> import numpy as np, fastgrad as fg
    >>> x = np.array([1.0, -2.0])
    >>> opt = fg.SGD(x, lr=0.1, momentum=0.9)
    >>> opt.step(2 * x); x
    array([ 0.8, -1.6])
    """

    _kind = KIND_SGD
    _state_names = ("momentum_buffer",)

    def __init__(self, params: Params, lr: LearningRate = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 maximize: bool = False, check_finite: bool = False, *, threads: int = 1):
        hyper = dict(momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                     nesterov=nesterov, maximize=maximize)
        self._load_group(hyper)
        self._init_common(params, lr, check_finite, threads, hyper)

    def _state_used(self, name: str) -> bool:
        return self._momentum != 0.0

    def _group(self) -> dict[str, Any]:
        return dict(lr=self.lr_at(max(self.steps, 1)), momentum=self._momentum,
                    dampening=self._dampening, weight_decay=self._weight_decay,
                    nesterov=self._nesterov, maximize=self._maximize, foreach=None,
                    differentiable=False, fused=None)

    def _load_group(self, group: dict[str, Any]) -> None:
        momentum = _check_nonneg("momentum", group["momentum"])
        dampening = float(group["dampening"])
        if not math.isfinite(dampening):
            raise ValueError(f"dampening must be finite, got {group['dampening']!r}")
        weight_decay = _check_nonneg("weight_decay", group["weight_decay"])
        nesterov = bool(group["nesterov"])
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov=True requires momentum > 0 and dampening == 0")
        if hasattr(self, "_state_arrays") and (momentum != 0.0) != (self._momentum != 0.0):
            raise ValueError("momentum cannot switch between zero and non-zero after construction")
        if "lr" in group:
            self.lr = group["lr"]
        self._momentum, self._dampening = momentum, dampening
        self._weight_decay, self._nesterov = weight_decay, nesterov
        self._maximize = bool(group["maximize"])


class Adam(Optimizer):
    r"""Adam, with optional AMSGrad and L2 weight decay (torch.optim.Adam).

    Parameters
    ----------
    params : ndarray or sequence of ndarray
        Writeable, C-contiguous float32/float64 arrays, updated in place.
    lr : float or callable, default 1e-3
    betas : (float, float), default (0.9, 0.999)
        Decay rates of the first and second moment averages, each in [0, 1).
    eps : float, default 1e-8
        Added to :math:`\sqrt{\hat v}` (outside the square root, as torch and
        the Adam paper's Algorithm 1; TF/Keras add it differently).
    weight_decay : float, default 0
        L2 penalty added to the gradient (coupled; see ``AdamW``).
    amsgrad : bool, default False
        Use the running maximum of the raw second moment (torch's rule).
    maximize, check_finite, threads
        As in ``SGD``.

    Notes
    -----
    .. math:: m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
              v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad
              p \leftarrow p - \frac{\eta}{1-\beta_1^t}\,
              \frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    References
    ----------
    Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.

    Example
    -------
    >>> import numpy as np, fastgrad as fg
    >>> x = np.array([1.0, -1.0])
    >>> opt = fg.Adam(x, lr=0.1)
    >>> opt.step(2 * x); x                 # first Adam step moves each by lr
    array([ 0.9, -0.9])
    """

    _kind = KIND_ADAM
    _state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _decoupled_default = False

    def __init__(self, params: Params, lr: LearningRate = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False,
                 check_finite: bool = False, *, threads: int = 1):
        hyper = dict(betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                     maximize=maximize)
        self._load_group(dict(hyper, decoupled_weight_decay=self._decoupled_default))
        self._init_common(params, lr, check_finite, threads, hyper)

    def _state_used(self, name: str) -> bool:
        return name != "max_exp_avg_sq" or self._amsgrad

    def _group(self) -> dict[str, Any]:
        return dict(lr=self.lr_at(max(self.steps, 1)), betas=(self._beta1, self._beta2),
                    eps=self._eps, weight_decay=self._weight_decay, amsgrad=self._amsgrad,
                    maximize=self._maximize, foreach=None, capturable=False,
                    differentiable=False, fused=None,
                    decoupled_weight_decay=self._decoupled)

    def _load_group(self, group: dict[str, Any]) -> None:
        try:
            beta1, beta2 = group["betas"]
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a pair of floats, got {group['betas']!r}") from None
        beta1, beta2 = _check_beta("betas[0]", beta1), _check_beta("betas[1]", beta2)
        eps = _check_nonneg("eps", group["eps"])
        weight_decay = _check_nonneg("weight_decay", group["weight_decay"])
        amsgrad = bool(group["amsgrad"])
        if hasattr(self, "_state_arrays") and amsgrad != self._amsgrad:
            raise ValueError("amsgrad cannot change after construction")
        if "lr" in group:
            self.lr = group["lr"]
        self._beta1, self._beta2, self._eps = beta1, beta2, eps
        self._weight_decay, self._amsgrad = weight_decay, amsgrad
        self._maximize = bool(group["maximize"])
        self._decoupled = bool(group.get("decoupled_weight_decay", self._decoupled_default))


class AdamW(Adam):
    r"""Adam with decoupled weight decay (torch.optim.AdamW).

    Same parameters as ``Adam`` but ``weight_decay`` defaults to 1e-2 and is
    applied to the parameter, not the gradient, before the Adam update:
    :math:`p \leftarrow p\,(1 - \eta\lambda)`.

    References
    ----------
    Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.

    Example
    -------
    >>> import numpy as np, fastgrad as fg
    >>> x = np.array([1.0])
    >>> opt = fg.AdamW(x, lr=0.1, weight_decay=0.5)
    >>> opt.step(np.array([1.0])); x      # 1 * (1 - 0.05) - 0.1
    array([0.85])
    """

    _decoupled_default = True

    def __init__(self, params: Params, lr: LearningRate = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False,
                 check_finite: bool = False, *, threads: int = 1):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize,
                         check_finite, threads=threads)


class RMSprop(Optimizer):
    r"""RMSprop, optionally centered and with momentum (torch.optim.RMSprop).

    Parameters
    ----------
    params : ndarray or sequence of ndarray
    lr : float or callable, default 1e-2
    alpha : float, default 0.99
        Decay rate of the squared-gradient average.
    eps : float, default 1e-8
        Added outside the square root (torch's rule).
    weight_decay, momentum : float, default 0
    centered : bool, default False
        Divide by an estimate of the gradient's variance instead of its second
        moment.
    maximize, check_finite, threads
        As in ``SGD``.

    Notes
    -----
    .. math:: s_t = \alpha s_{t-1} + (1-\alpha) g_t^2,\quad
              p \leftarrow p - \eta\, \frac{g_t}{\sqrt{s_t - \bar g_t^2} + \epsilon}

    with :math:`\bar g_t = 0` unless centered. No bias correction.

    Example
    -------
    >>> import numpy as np, fastgrad as fg
    >>> x = np.array([1.0])
    >>> opt = fg.RMSprop(x, lr=0.01, alpha=0.0, eps=0.0)
    >>> opt.step(np.array([3.0])); x     # g / sqrt(g^2) = 1
    array([0.99])
    """

    _kind = KIND_RMSPROP
    _state_names = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params: Params, lr: LearningRate = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, maximize: bool = False, check_finite: bool = False,
                 *, threads: int = 1):
        hyper = dict(alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                     centered=centered, maximize=maximize)
        self._load_group(hyper)
        self._init_common(params, lr, check_finite, threads, hyper)

    def _state_used(self, name: str) -> bool:
        if name == "momentum_buffer":
            return self._momentum > 0.0
        if name == "grad_avg":
            return self._centered
        return True

    def _group(self) -> dict[str, Any]:
        return dict(lr=self.lr_at(max(self.steps, 1)), momentum=self._momentum,
                    alpha=self._alpha, eps=self._eps, centered=self._centered,
                    weight_decay=self._weight_decay, capturable=False, foreach=None,
                    maximize=self._maximize, differentiable=False)

    def _load_group(self, group: dict[str, Any]) -> None:
        alpha = _check_nonneg("alpha", group["alpha"])
        eps = _check_nonneg("eps", group["eps"])
        weight_decay = _check_nonneg("weight_decay", group["weight_decay"])
        momentum = _check_nonneg("momentum", group["momentum"])
        centered = bool(group["centered"])
        if hasattr(self, "_state_arrays") and (
                centered != self._centered or (momentum > 0) != (self._momentum > 0)):
            raise ValueError("centered and momentum > 0 cannot change after construction")
        if "lr" in group:
            self.lr = group["lr"]
        self._alpha, self._eps, self._weight_decay = alpha, eps, weight_decay
        self._momentum, self._centered = momentum, centered
        self._maximize = bool(group["maximize"])


class Adagrad(Optimizer):
    r"""Adagrad with learning-rate decay and L2 weight decay (torch.optim.Adagrad).

    Parameters
    ----------
    params : ndarray or sequence of ndarray
    lr : float or callable, default 1e-2
    lr_decay : float, default 0
        The step-t rate is ``lr / (1 + (t - 1) * lr_decay)``.
    weight_decay : float, default 0
    initial_accumulator_value : float, default 0
        Starting value of the sum of squared gradients.
    eps : float, default 1e-10
    maximize, check_finite, threads
        As in ``SGD``.

    Notes
    -----
    .. math:: S_t = S_{t-1} + g_t^2,\quad
              p \leftarrow p - \frac{\eta_t\, g_t}{\sqrt{S_t} + \epsilon}

    References
    ----------
    Duchi, Hazan & Singer, "Adaptive Subgradient Methods", JMLR 2011.

    Example
    -------
    >>> import numpy as np, fastgrad as fg
    >>> x = np.array([1.0])
    >>> opt = fg.Adagrad(x, lr=0.5, eps=0.0)
    >>> opt.step(np.array([4.0])); x
    array([0.5])
    """

    _kind = KIND_ADAGRAD
    _state_names = ("sum",)

    def __init__(self, params: Params, lr: LearningRate = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, maximize: bool = False, check_finite: bool = False,
                 *, threads: int = 1):
        hyper = dict(lr_decay=lr_decay, weight_decay=weight_decay,
                     initial_accumulator_value=initial_accumulator_value, eps=eps,
                     maximize=maximize)
        self._load_group(hyper)
        self._init_common(params, lr, check_finite, threads, hyper)

    def _state_fill(self, name: str) -> float:
        return self._initial_accumulator_value

    def _has_state(self) -> bool:
        return True  # torch creates Adagrad's state in __init__

    def _group(self) -> dict[str, Any]:
        return dict(lr=self.lr_at(max(self.steps, 1)), lr_decay=self._lr_decay, eps=self._eps,
                    weight_decay=self._weight_decay,
                    initial_accumulator_value=self._initial_accumulator_value, foreach=None,
                    maximize=self._maximize, differentiable=False, fused=None)

    def _load_group(self, group: dict[str, Any]) -> None:
        lr_decay = _check_nonneg("lr_decay", group["lr_decay"])
        weight_decay = _check_nonneg("weight_decay", group["weight_decay"])
        eps = _check_nonneg("eps", group["eps"])
        initial = _check_nonneg("initial_accumulator_value", group["initial_accumulator_value"])
        if "lr" in group:
            self.lr = group["lr"]
        self._lr_decay, self._weight_decay, self._eps = lr_decay, weight_decay, eps
        self._initial_accumulator_value = initial
        self._maximize = bool(group["maximize"])
