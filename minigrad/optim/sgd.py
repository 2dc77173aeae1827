"""Stochastic gradient descent: heavy-ball and Nesterov momentum (PyTorch's conventions), and
LARS, its layer-wise adaptive large-batch form."""
from minigrad.optim.optimizer import Optimizer, safe_ratio, tensor_norm
from minigrad.registry import register


class SGD(Optimizer):
    """SGD with momentum, dampening, coupled weight decay and Nesterov momentum (PyTorch's form).

    Papers: Robbins & Monro 1951, "A Stochastic Approximation Method"; momentum: Polyak
    1964, "Some methods of speeding up the convergence of iteration methods". Arguments:
    ``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False)``.

    Per parameter, with gradient g, weight decay λ, momentum μ, dampening d, step size η::

        g ← g + λθ
        b ← g                    at the first step (no dampening on it)
        b ← μb + (1 − d)g        afterwards
        θ ← θ − η·b              heavy ball;   θ ← θ − η·(g + μb)   Nesterov

    μ = 0 is plain SGD. Nesterov needs μ > 0 and d = 0; it is PyTorch's form, not
    Sutskever's (which is the same method with θ shifted by −ημb). Recipes: ResNet/WRN
    μ = 0.9, η = 0.1, λ = 1e-4 (ImageNet) or 5e-4 (CIFAR).
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: lr, momentum and weight_decay must be ≥ 0, got lr={lr}, "
                             f"momentum={momentum}, weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: Nesterov momentum needs momentum > 0 and dampening = 0, got "
                             f"momentum={momentum}, dampening={dampening}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _update(self, p, g, state, group, xp):
        mu, wd = group["momentum"], group["weight_decay"]
        if wd:
            g = g + wd * p
        if mu:
            buf = heavy_ball(state, g, mu, group["dampening"], xp)
            g = g + mu * buf if group["nesterov"] else buf
        p -= group["lr"] * g


def heavy_ball(state, g, mu, dampening, xp):
    """The momentum buffer b of PyTorch's SGD, moved in place in ``state``: b ← g at the first
    step, b ← μb + (1 − d)g afterwards; returns b."""
    buf = state.get("momentum_buffer")
    if buf is None:
        buf = state["momentum_buffer"] = xp.array(g)  # an array even for 0-d g
    else:
        buf *= mu
        buf += (1 - dampening) * g if dampening else g   # no temporary when d = 0
    return buf


class SGDNesterov(SGD):
    """SGD with Nesterov momentum: ``SGD(params, lr, momentum=0.9, nesterov=True)``.

    Papers: Nesterov 1983, "A method for solving the convex programming problem with
    convergence rate O(1/k²)"; in deep learning: Sutskever, Martens, Dahl & Hinton 2013, "On
    the importance of initialization and momentum in deep learning".

    b ← μb + (g + λθ) (b = g + λθ at the first step); θ ← θ − η·((g + λθ) + μb). It differs
    from heavy ball from the second step on (the look-ahead direction g + μb). The Large
    Batch Optimizer Reality Check finds it matches LARS/LAMB at large batch sizes once
    combined with linear warm-up and polynomial or cosine decay.
    """

    def __init__(self, params, lr=1e-3, momentum=0.9, weight_decay=0):
        super().__init__(params, lr=lr, momentum=momentum, dampening=0,
                         weight_decay=weight_decay, nesterov=True)


class LARS(Optimizer):
    """LARS, layer-wise adaptive rate scaling (You, Gitman & Ginsburg 2017, Algorithm 1).

    Paper: You, Gitman & Ginsburg 2017, "Large Batch Training of Convolutional Networks".

    Per parameter tensor (a "layer"), with global step size η (``lr``), trust coefficient
    κ (the paper's η, ``trust_coefficient``), weight decay λ (the paper's β), momentum μ::

        d   = g + λθ
        η_l = η·κ·‖θ‖ / (‖g‖ + λ‖θ‖ + eps)     (ratio κ‖θ‖/(...) is replaced by 1
                                                  when ‖θ‖ = 0 or ‖g‖ = 0)
        b   ← μb + η_l·d                          (b₀ = 0)
        θ   ← θ − b

    As in the paper the global step size sits inside the momentum buffer (timm's ``Lars``
    applies it after the buffer; the two agree while ``lr`` is constant). No trust-ratio
    clipping. Biases and normalization gains are usually left out of the adaptation and the
    decay: put them in a group with ``exclude_from_adaptation=True`` (η_l = η, no decay), or
    pass ``exclude_bias_and_norm=True`` to exclude every parameter with ndim ≤ 1.
    """

    def __init__(self, params, lr=1e-3, momentum=0.9, weight_decay=0, trust_coefficient=1e-3,
                 eps=0.0, exclude_bias_and_norm=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                      trust_coefficient=trust_coefficient, eps=eps,
                                      exclude_from_adaptation=False,
                                      exclude_bias_and_norm=exclude_bias_and_norm))

    def _update(self, p, g, state, group, xp):
        lr, wd = group["lr"], group["weight_decay"]
        if _excluded(p, group):
            step = lr * g
        else:
            w_norm, g_norm = tensor_norm(xp, p), tensor_norm(xp, g)
            ratio = safe_ratio(xp, group["trust_coefficient"] * w_norm,
                               g_norm + wd * w_norm + group["eps"], (w_norm > 0) & (g_norm > 0))
            step = (lr * ratio) * (g + wd * p)
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = xp.array(step)
        else:
            buf *= group["momentum"]
            buf += step
        p -= buf


def _excluded(p, group):
    """Whether layer-wise adaptation and weight decay are off for ``p`` (LARS, LAMB)."""
    return group["exclude_from_adaptation"] or (group["exclude_bias_and_norm"] and p.ndim <= 1)


_LARGE_BATCH = ("A Large Batch Optimizer Reality Check: Traditional, Generic Optimizers Suffice "
                "Across Batch Sizes")
_ADAMP = "AdamP: Slowing Down the Slowdown for Momentum Optimizers on Scale-invariant Weights"
register(SGD, name="sgd", kind="optimizer", check="state", catalog_id="O001",
         papers=["Deep Residual Learning for Image Recognition", "Wide Residual Networks", _ADAMP,
                 "diffGrad: An Optimization Method for Convolutional Neural Networks", _LARGE_BATCH,
                 "Improving Generalization of Adversarial Training via Robust Critical "
                 "Fine-Tuning"])
register(SGDNesterov, name="sgd_nesterov", kind="optimizer", check="state", catalog_id="O002",
         papers=[_LARGE_BATCH])
register(LARS, name="lars", kind="optimizer", check="state", catalog_id="O009",
         papers=[_LARGE_BATCH, "Large Batch Optimization for Deep Learning: Training BERT in 76 "
                 "minutes", "Large-batch Optimization for Dense Visual Predictions"])
