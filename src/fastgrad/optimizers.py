"""Fused optimizers with torch.optim's update rules.

Every optimizer updates its parameters in place, in one pass of C per step
over all of them, with the GIL released (see ``_optim.pyx``). The formulas,
their order of operations and the defaults are those of the same-named
``torch.optim`` class (single-tensor path), with fused multiply-adds where
torch's vectorized CPU kernels use them, so float64 trajectories agree with
torch's to rounding on x86-64 (bit for bit for SGD).

Each optimizer is one :class:`Spec` (in its class body) over one row of the
C descriptor table (``csrc/fg_optim_table.def``), which holds the
hyperparameters' names, defaults and allowed values. The spec drives the
class's signature and validation, its ``state_dict`` layout, the kernel
function in ``fastgrad.kernels``, the table of :func:`docs_table` and the
``${...}`` fields of the class docstring (defaults, and the ``params``/``lr``
entries and example header every class shares: ``Spec.doc_defaults``);
``minimize``'s first-order methods step through the same C descriptors, so
their options, defaults and validation are the class's.

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

from fastgrad._spec import CLASSES, SPECS, Optimizer, Spec, docs_table
from fastgrad._spec import _restore  # noqa: F401  (pickled optimizers may name it here)

__all__ = ["Optimizer", "Spec", "SPECS", "CLASSES", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
           "Adamax", "NAdam", "docs_table"]


BETAS = {"betas": ("beta1", "beta2")}


class SGD(Optimizer):
    r"""Stochastic gradient descent with momentum, dampening, Nesterov
    momentum and L2 weight decay (${torch}).

    Parameters
    ----------
    ${params_lr}
    momentum : float, default ${momentum}
    dampening : float, default ${dampening}
    weight_decay : float, default ${weight_decay}
    nesterov : bool, default ${nesterov}
        Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.
    maximize : bool, default ${maximize}
        Gradient ascent.
    check_finite : bool, default ${check_finite}
        Raise ``FloatingPointError``, changing nothing, when a gradient holds
        NaN or infinity.
    threads : int, default ${threads}
        Threads used for arrays of at least 65536 elements.

    Notes
    -----
    With :math:`g \leftarrow \pm g + \lambda p` and momentum :math:`\mu`:

    .. math:: b_1 = g_1,\quad b_t = \mu b_{t-1} + (1-\tau) g_t,\quad
              d_t = g_t + \mu b_t \text{ (Nesterov) or } b_t,\quad
              p \leftarrow p - \eta d_t

    ${example}
    >>> x = np.array([1.0, -2.0])
    >>> opt = fg.SGD(x, lr=0.1, momentum=0.9)
    >>> opt.step(2 * x); x
    array([ 0.8, -1.6])
    """

    _spec = Spec("sgd", "SGD", torch_group=dict(foreach=None, differentiable=False, fused=None),
                 kernel_positional=("momentum_buffer", "step", "lr", "momentum", "dampening",
                                    "weight_decay", "nesterov", "maximize"))


_ADAM_GROUP = dict(foreach=None, capturable=False, differentiable=False, fused=None)


class Adam(Optimizer):
    r"""Adam, with optional AMSGrad and L2 weight decay (${torch}).

    Parameters
    ----------
    ${params_lr}
    betas : (float, float), default ${betas}
        Decay rates of the first and second moment averages, each in [0, 1).
    eps : float, default ${eps}
        Added to :math:`\sqrt{\hat v}` (outside the square root, as torch and
        the Adam paper's Algorithm 1; TF/Keras add it differently).
    weight_decay : float, default ${weight_decay}
        L2 penalty added to the gradient (coupled; see ``AdamW``).
    amsgrad : bool, default ${amsgrad}
        Use the running maximum of the raw second moment (torch's rule).
    maximize, check_finite
        As in ``SGD``.
    threads : int, default ${threads}
        As in ``SGD``.
    decoupled_weight_decay : bool, default ${decoupled_weight_decay}
        Apply the weight decay to the parameter, as ``AdamW``.

    Notes
    -----
    .. math:: m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
              v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad
              p \leftarrow p - \frac{\eta}{1-\beta_1^t}\,
              \frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    References
    ----------
    Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.

    ${example}
    >>> x = np.array([1.0, -1.0])
    >>> opt = fg.Adam(x, lr=0.1)
    >>> opt.step(2 * x); x                 # first Adam step moves each by lr
    array([ 0.9, -0.9])
    """

    _spec = Spec("adam", "Adam", pairs=BETAS, keyword_only=("decoupled_weight_decay",),
                 torch_group=_ADAM_GROUP,
                 kernel_names={"decoupled_weight_decay": "decoupled"})


class AdamW(Adam):
    r"""Adam with decoupled weight decay (${torch}).

    Same parameters as ``Adam`` (``weight_decay`` default ${weight_decay}),
    but the decay is applied to the parameter, not the gradient, before the
    Adam update: :math:`p \leftarrow p\,(1 - \eta\lambda)`.

    References
    ----------
    Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.

    ${example}
    >>> x = np.array([1.0])
    >>> opt = fg.AdamW(x, lr=0.1, weight_decay=0.5)
    >>> opt.step(np.array([1.0])); x      # 1 * (1 - 0.05) - 0.1
    array([0.85])
    """

    _spec = Spec("adamw", "AdamW", pairs=BETAS, fixed=("decoupled_weight_decay",),
                 torch_group=_ADAM_GROUP)


class RMSprop(Optimizer):
    r"""RMSprop, optionally centered and with momentum (${torch}).

    Parameters
    ----------
    ${params_lr}
    alpha : float, default ${alpha}
        Decay rate of the squared-gradient average.
    eps : float, default ${eps}
        Added outside the square root (torch's rule).
    weight_decay : float, default ${weight_decay}
    momentum : float, default ${momentum}
    centered : bool, default ${centered}
        Divide by an estimate of the gradient's variance instead of its second
        moment.
    maximize, check_finite, threads
        As in ``SGD``.

    Notes
    -----
    .. math:: s_t = \alpha s_{t-1} + (1-\alpha) g_t^2,\quad
              p \leftarrow p - \eta\, \frac{g_t}{\sqrt{s_t - \bar g_t^2} + \epsilon}

    with :math:`\bar g_t = 0` unless centered. No bias correction.

    Centered with ``alpha=0`` is degenerate: :math:`s_t - \bar g_t^2` is then
    exactly 0, and the fused multiply-add that forms it (torch's and ours)
    leaves the rounding error of :math:`g_t^2`, negative for about half the
    elements, whose square root is NaN. torch gives the same NaNs; use
    ``alpha > 0``.

    ${example}
    >>> x = np.array([1.0])
    >>> opt = fg.RMSprop(x, lr=0.01, alpha=0.0, eps=0.0)
    >>> opt.step(np.array([3.0])); x     # g / sqrt(g^2) = 1
    array([0.99])
    """

    _spec = Spec("rmsprop", "RMSprop",
                 torch_group=dict(capturable=False, foreach=None, differentiable=False),
                 kernel_positional=("square_avg", "step", "lr", "alpha", "eps", "weight_decay",
                                    "momentum", "centered"))


class Adagrad(Optimizer):
    r"""Adagrad with learning-rate decay and L2 weight decay (${torch}).

    Parameters
    ----------
    ${params_lr}
    lr_decay : float, default ${lr_decay}
        The step-t rate is ``lr / (1 + (t - 1) * lr_decay)``.
    weight_decay : float, default ${weight_decay}
    initial_accumulator_value : float, default ${initial_accumulator_value}
        Starting value of the sum of squared gradients.
    eps : float, default ${eps}
    maximize, check_finite, threads
        As in ``SGD``.

    Notes
    -----
    .. math:: S_t = S_{t-1} + g_t^2,\quad
              p \leftarrow p - \frac{\eta_t\, g_t}{\sqrt{S_t} + \epsilon}

    References
    ----------
    Duchi, Hazan & Singer, "Adaptive Subgradient Methods", JMLR 2011.

    ${example}
    >>> x = np.array([1.0])
    >>> opt = fg.Adagrad(x, lr=0.5, eps=0.0)
    >>> opt.step(np.array([4.0])); x
    array([0.5])
    """

    _spec = Spec("adagrad", "Adagrad", state_at_init=True,
                 torch_group=dict(foreach=None, differentiable=False, fused=None),
                 kernel_positional=("state_sum", "step", "lr", "lr_decay", "weight_decay", "eps"),
                 kernel_names={"sum": "state_sum"})


class Adamax(Optimizer):
    r"""Adamax, Adam with the infinity norm (${torch}).

    Parameters
    ----------
    ${params_lr}
    betas : (float, float), default ${betas}
        Decay rates of the first moment and of the infinity norm, each in [0, 1).
    eps : float, default ${eps}
        Added to :math:`|g_t|` inside the maximum (torch's rule), so the
        denominator is at least eps; not added to the denominator.
    weight_decay : float, default ${weight_decay}
        L2 penalty added to the gradient.
    maximize, check_finite, threads
        As in ``SGD``.

    Notes
    -----
    .. math:: m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
              u_t = \max(\beta_2 u_{t-1},\ |g_t| + \epsilon),\quad
              p \leftarrow p - \frac{\eta}{1-\beta_1^t}\,\frac{m_t}{u_t}

    A NaN in :math:`u` or :math:`g` propagates (torch.maximum's rule).

    References
    ----------
    Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015,
    section 7.1.

    ${example}
    >>> x = np.array([1.0, -1.0])
    >>> opt = fg.Adamax(x, lr=0.1, eps=0.0)
    >>> opt.step(2 * x); x                 # the first step moves each by lr
    array([ 0.9, -0.9])
    """

    _spec = Spec("adamax", "Adamax", pairs=BETAS,
                 torch_group=dict(foreach=None, capturable=False, differentiable=False))


class NAdam(Optimizer):
    r"""NAdam, Adam with Nesterov momentum (${torch}).

    Parameters
    ----------
    ${params_lr}
    betas : (float, float), default ${betas}
    eps : float, default ${eps}
        Added outside the square root, as in ``Adam``.
    weight_decay : float, default ${weight_decay}
    momentum_decay : float, default ${momentum_decay}
        :math:`\psi` below: how fast the momentum coefficient rises to
        :math:`\beta_1`.
    decoupled_weight_decay : bool, default ${decoupled_weight_decay}
        Apply the weight decay to the parameter, as ``AdamW`` (NAdamW).
    maximize, check_finite, threads
        As in ``SGD``.

    Notes
    -----
    With :math:`\mu_t = \beta_1 (1 - \tfrac12\, 0.96^{t\psi})` and
    :math:`\Pi_t = \prod_{i \le t} \mu_i` (the scalar state ``mu_product``),
    :math:`m_t, v_t` as in ``Adam`` and
    :math:`d_t = \sqrt{v_t / (1-\beta_2^t)} + \epsilon`:

    .. math:: p \leftarrow p - \frac{\eta (1-\mu_t)}{1-\Pi_t}\,\frac{g_t}{d_t}
                             - \frac{\eta\, \mu_{t+1}}{1-\Pi_t \mu_{t+1}}\,\frac{m_t}{d_t}

    ``mu_product`` is kept in float64. torch keeps it in its default dtype:
    the two agree to rounding when that is float64
    (``torch.set_default_dtype(torch.float64)``), and to about 1e-7
    relative in the step when it is float32 (torch's default).

    References
    ----------
    Dozat, "Incorporating Nesterov Momentum into Adam", ICLR workshop 2016.

    ${example}
    >>> x = np.array([1.0, -1.0])
    >>> opt = fg.NAdam(x, lr=0.1)
    >>> for _ in range(100):
    ...     opt.step(2 * x)                # the gradient of |x|^2
    >>> bool(np.abs(x).max() < 0.05)
    True
    """

    _spec = Spec("nadam", "NAdam", pairs=BETAS,
                 torch_group=dict(foreach=None, capturable=False, differentiable=False))
