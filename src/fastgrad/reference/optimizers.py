"""NumPy twins of ``fastgrad.optimizers`` and ``fastgrad.kernels``.

Textbook formulas with torch.optim's conventions (where eps sits, AMSGrad on
the raw second moment, SGD's first momentum step, Adagrad's lr decay,
Adamax's eps inside the maximum, NAdam's momentum schedule), written for
reading, not speed. They allocate temporaries and use no fused
multiply-adds, so they agree with the C kernels to a few ulps per step, not
bit for bit.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence, Union

import numpy as np

__all__ = ["sgd_step", "adam_step", "adamw_step", "rmsprop_step", "adagrad_step",
           "adamax_step", "nadam_step",
           "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam"]


def _gradient(param: np.ndarray, grad: np.ndarray, maximize: bool, weight_decay: float,
              lr: float = 0.0, decoupled: bool = False) -> np.ndarray:
    """The gradient a rule uses: negated to maximize, plus the L2 term
    weight_decay * p; decoupled decay instead shrinks p by 1 - lr wd."""
    g = -grad if maximize else grad.copy()
    if weight_decay and decoupled:
        param *= 1 - lr * weight_decay
    elif weight_decay:
        g = g + weight_decay * param
    return g


def sgd_step(param, grad, momentum_buffer, step, lr, momentum=0.0, dampening=0.0,
             weight_decay=0.0, nesterov=False, maximize=False):
    """p <- p - lr * d, d = g (+ momentum buffer, Nesterov look-ahead)."""
    g = _gradient(param, grad, maximize, weight_decay)
    if momentum:
        if step == 1:
            momentum_buffer[...] = g
        else:
            momentum_buffer[...] = momentum * momentum_buffer + (1 - dampening) * g
        d = g + momentum * momentum_buffer if nesterov else momentum_buffer
    else:
        d = g
    param -= lr * d


def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1=0.9, beta2=0.999, eps=1e-8,
              weight_decay=0.0, *, amsgrad=False, max_exp_avg_sq=None, maximize=False,
              decoupled=False):
    """m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
    p <- p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)."""
    g = _gradient(param, grad, maximize, weight_decay, lr, decoupled)
    exp_avg[...] = beta1 * exp_avg + (1 - beta1) * g
    exp_avg_sq[...] = beta2 * exp_avg_sq + (1 - beta2) * g * g
    v = exp_avg_sq
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    bias1 = 1 - beta1 ** step
    bias2 = 1 - beta2 ** step
    param -= (lr / bias1) * exp_avg / (np.sqrt(v) / np.sqrt(bias2) + eps)


def adamw_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1=0.9, beta2=0.999, eps=1e-8,
               weight_decay=1e-2, *, amsgrad=False, max_exp_avg_sq=None, maximize=False):
    """Adam with decoupled weight decay p <- p (1 - lr wd)."""
    adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
              amsgrad=amsgrad, max_exp_avg_sq=max_exp_avg_sq, maximize=maximize,
              decoupled=True)


def rmsprop_step(param, grad, square_avg, step, lr, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, centered=False, *, momentum_buffer=None, grad_avg=None,
                 maximize=False):
    """s <- a s + (1-a) g^2;  p <- p - lr g / (sqrt(s - gbar^2) + eps)."""
    g = _gradient(param, grad, maximize, weight_decay)
    square_avg[...] = alpha * square_avg + (1 - alpha) * g * g
    if centered:
        grad_avg[...] = alpha * grad_avg + (1 - alpha) * g
        avg = np.sqrt(_minus_square(square_avg, grad_avg)) + eps
    else:
        avg = np.sqrt(square_avg) + eps
    if momentum > 0:
        momentum_buffer[...] = momentum * momentum_buffer + g / avg
        param -= lr * momentum_buffer
    else:
        param -= lr * g / avg


def _minus_square(s, a):
    """s - a*a rounded once, as torch's fused multiply-add forms it.

    The variance estimate of centered RMSprop. Rounding a*a first would make
    it 0 where the exact value is a tiny negative number: with alpha = 0,
    s is a*a rounded, and s - a*a is exactly that rounding error, negative
    for about half the elements (torch then gives NaN). Dekker's product
    a*a = p + e (p rounded, e exact) gives the exact value."""
    p = a * a
    split = 134217729.0 if a.dtype == np.float64 else 4097.0   # 2^27 + 1, 2^12 + 1
    c = split * a
    hi = c - (c - a)
    lo = a - hi
    e = ((hi * hi - p) + 2 * hi * lo) + lo * lo
    return (s - p) - e


def adagrad_step(param, grad, state_sum, step, lr, lr_decay=0.0, weight_decay=0.0, eps=1e-10,
                 *, maximize=False):
    """S <- S + g^2;  p <- p - lr/(1 + (t-1) lr_decay) * g / (sqrt(S) + eps)."""
    g = _gradient(param, grad, maximize, weight_decay)
    state_sum += g * g
    clr = lr / (1 + (step - 1) * lr_decay)
    param -= clr * g / (np.sqrt(state_sum) + eps)


def adamax_step(param, grad, exp_avg, exp_inf, step, lr, beta1=0.9, beta2=0.999, eps=1e-8,
                weight_decay=0.0, *, maximize=False):
    """m <- b1 m + (1-b1) g;  u <- max(b2 u, |g| + eps);  p <- p - lr/(1-b1^t) * m / u."""
    g = _gradient(param, grad, maximize, weight_decay)
    exp_avg[...] = beta1 * exp_avg + (1 - beta1) * g
    exp_inf[...] = np.maximum(beta2 * exp_inf, np.abs(g) + eps)
    param -= (lr / (1 - beta1 ** step)) * exp_avg / exp_inf


def nadam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1=0.9, beta2=0.999, eps=1e-8,
               weight_decay=0.0, momentum_decay=4e-3, *, mu_product, decoupled_weight_decay=False,
               maximize=False):
    """mu_t = b1 (1 - 0.96^(t psi) / 2); m, v as Adam; d = sqrt(v / (1-b2^t)) + eps;
    p <- p - lr (1-mu_t)/(1-prod mu) g/d - lr mu_{t+1}/(1-prod mu * mu_{t+1}) m/d.
    Returns the new mu_product (the product of mu_1 .. mu_t)."""
    g = _gradient(param, grad, maximize, weight_decay, lr, decoupled_weight_decay)
    mu = beta1 * (1 - 0.5 * 0.96 ** (step * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    mu_product = mu_product * mu
    exp_avg[...] = beta1 * exp_avg + (1 - beta1) * g
    exp_avg_sq[...] = beta2 * exp_avg_sq + (1 - beta2) * g * g
    denom = np.sqrt(exp_avg_sq / (1 - beta2 ** step)) + eps
    param -= lr * (1 - mu) / (1 - mu_product) * g / denom
    param -= lr * mu_next / (1 - mu_product * mu_next) * exp_avg / denom
    return mu_product


class _Reference:
    """Shared shell: params, steps, lr schedules, one state dict per param."""

    _state_names: tuple[str, ...] = ()

    def __init__(self, params, lr, check_finite=False, threads=1, **hyper: Any):
        self.single = isinstance(params, np.ndarray)
        self.params = [params] if self.single else list(params)
        self.lr = lr
        self.check_finite = check_finite
        self.hyper = hyper
        self.steps = 0
        self.state = [{name: np.zeros_like(p) for name in self._state_names} for p in self.params]

    def lr_at(self, step: int) -> float:
        return float(self.lr(step)) if callable(self.lr) else float(self.lr)

    def step(self, grads) -> None:
        grads = [grads] if self.single else list(grads)
        if self.check_finite and not all(np.isfinite(g).all() for g in grads):
            raise FloatingPointError("non-finite gradient")
        t = self.steps + 1
        for p, g, s in zip(self.params, grads, self.state):
            self._update(p, g, s, t, self.lr_at(t))
        self.steps = t

    def _update(self, p, g, s, t, lr):
        raise NotImplementedError


class SGD(_Reference):
    _state_names = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, maximize=False, check_finite=False, *, threads=1):
        super().__init__(params, lr, check_finite, threads, momentum=momentum,
                         dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                         maximize=maximize)

    def _update(self, p, g, s, t, lr):
        sgd_step(p, g, s["momentum_buffer"], t, lr, **self.hyper)


class Adam(_Reference):
    _state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, maximize=False, check_finite=False, *, threads=1,
                 decoupled_weight_decay=False):
        super().__init__(params, lr, check_finite, threads, betas=betas, eps=eps,
                         weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize)
        self._decoupled = self._decoupled or decoupled_weight_decay

    def _update(self, p, g, s, t, lr):
        h = self.hyper
        adam_step(p, g, s["exp_avg"], s["exp_avg_sq"], t, lr, h["betas"][0], h["betas"][1],
                  h["eps"], h["weight_decay"], amsgrad=h["amsgrad"],
                  max_exp_avg_sq=s["max_exp_avg_sq"], maximize=h["maximize"],
                  decoupled=self._decoupled)


class AdamW(Adam):
    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False, check_finite=False, *, threads=1):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize, check_finite,
                         threads=threads)


class RMSprop(_Reference):
    _state_names = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False, check_finite=False, *, threads=1):
        super().__init__(params, lr, check_finite, threads, alpha=alpha, eps=eps,
                         weight_decay=weight_decay, momentum=momentum, centered=centered,
                         maximize=maximize)

    def _update(self, p, g, s, t, lr):
        h = dict(self.hyper)
        maximize = h.pop("maximize")
        rmsprop_step(p, g, s["square_avg"], t, lr, **h, momentum_buffer=s["momentum_buffer"],
                     grad_avg=s["grad_avg"], maximize=maximize)


class Adagrad(_Reference):
    _state_names = ("sum",)

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, maximize=False,
                 check_finite=False, *, threads=1):
        super().__init__(params, lr, check_finite, threads, lr_decay=lr_decay,
                         weight_decay=weight_decay, eps=eps, maximize=maximize)
        for s in self.state:
            s["sum"][...] = initial_accumulator_value

    def _update(self, p, g, s, t, lr):
        h = dict(self.hyper)
        maximize = h.pop("maximize")
        adagrad_step(p, g, s["sum"], t, lr, **h, maximize=maximize)


class Adamax(_Reference):
    _state_names = ("exp_avg", "exp_inf")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 maximize=False, check_finite=False, *, threads=1):
        super().__init__(params, lr, check_finite, threads, betas=betas, eps=eps,
                         weight_decay=weight_decay, maximize=maximize)

    def _update(self, p, g, s, t, lr):
        h = self.hyper
        adamax_step(p, g, s["exp_avg"], s["exp_inf"], t, lr, *h["betas"], h["eps"],
                    h["weight_decay"], maximize=h["maximize"])


class NAdam(_Reference):
    _state_names = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False,
                 check_finite=False, *, threads=1):
        super().__init__(params, lr, check_finite, threads, betas=betas, eps=eps,
                         weight_decay=weight_decay, momentum_decay=momentum_decay,
                         decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        for s in self.state:
            s["mu_product"] = 1.0

    def _update(self, p, g, s, t, lr):
        h = self.hyper
        s["mu_product"] = nadam_step(
            p, g, s["exp_avg"], s["exp_avg_sq"], t, lr, *h["betas"], h["eps"],
            h["weight_decay"], h["momentum_decay"], mu_product=s["mu_product"],
            decoupled_weight_decay=h["decoupled_weight_decay"], maximize=h["maximize"])
