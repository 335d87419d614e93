"""Optimizer step kernels on raw arrays, for people who keep their own state.

Each function updates ``param`` and the state buffers in place, with the
same rule as the optimizer class of the same name, and checks its arguments
(dtype, shape, layout, writeability, hyperparameters) before touching
anything. ``step`` is the number t >= 1 of the update being made: keep your
own counter, starting at 1. Every function also takes ``out=``: the new
parameters then go to ``out`` (bit for bit the in-place result) and
``param`` is only read, so the previous iterate survives without a copy.

=================  ==========================================================
``sgd_step``       ``(param, grad, momentum_buffer, step, lr, momentum=0,
                   dampening=0, weight_decay=0, nesterov=False, maximize=False,
                   *, out=None)``
``adam_step``      ``(param, grad, exp_avg, exp_avg_sq, step, lr, beta1=0.9,
                   beta2=0.999, eps=1e-8, weight_decay=0, *, amsgrad=False,
                   max_exp_avg_sq=None, maximize=False, decoupled=False,
                   out=None)``
``adamw_step``     ``adam_step`` with decoupled decay, ``weight_decay=1e-2``
``rmsprop_step``   ``(param, grad, square_avg, step, lr, alpha=0.99, eps=1e-8,
                   weight_decay=0, momentum=0, centered=False, *,
                   momentum_buffer=None, grad_avg=None, maximize=False,
                   out=None)``
``adagrad_step``   ``(param, grad, state_sum, step, lr, lr_decay=0,
                   weight_decay=0, eps=1e-10, *, maximize=False, out=None)``
=================  ==========================================================

Example
-------
>>> import numpy as np
>>> from fastgrad.kernels import adam_step
>>> p, g = np.ones(4), np.full(4, 0.5)
>>> m, v = np.zeros(4), np.zeros(4)
>>> adam_step(p, g, m, v, step=1, lr=0.1)
>>> p
array([0.9, 0.9, 0.9, 0.9])
"""
from fastgrad._optim import adagrad_step, adam_step, adamw_step, rmsprop_step, sgd_step

__all__ = ["sgd_step", "adam_step", "adamw_step", "rmsprop_step", "adagrad_step"]
