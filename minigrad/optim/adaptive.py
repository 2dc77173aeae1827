"""Per-coordinate adaptive step sizes from running squared gradients: AdaGrad, RMSprop,
AdaDelta (PyTorch's forms: ε outside the square root for AdaGrad and RMSprop).

Each keeps the square root of its accumulator of g² (``rms``, ``root_sum_sq``) and updates
it with ``hypot``, which never squares g: a huge finite gradient (g² = inf in float32 for
|g| ≳ 1.8e19) still takes the finite step of the rule."""
import math

from minigrad.optim.optimizer import Optimizer
from minigrad.registry import register

_DIFFGRAD = "diffGrad: An Optimization Method for Convolutional Neural Networks"


class Adagrad(Optimizer):
    """AdaGrad (Duchi, Hazan & Singer 2011), PyTorch's form.

    Paper: Duchi, Hazan & Singer 2011, "Adaptive Subgradient Methods for Online Learning and
    Stochastic Optimization".

    Per parameter, step t starting at 1::

        g ← g + λθ;   η_t = η / (1 + (t − 1)·lr_decay)
        G ← G + g²    (G₀ = initial_accumulator_value)
        θ ← θ − η_t · g / (√G + ε)

    The accumulator only grows; ε = 1e-10 outside the sqrt.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10):
        if lr < 0 or lr_decay < 0 or weight_decay < 0 or initial_accumulator_value < 0:
            raise ValueError("Adagrad: lr, lr_decay, weight_decay and initial_accumulator_value "
                             "must be ≥ 0")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps))

    def _update(self, p, g, state, group, xp):
        if not state:
            state["step"] = 0
            state["root_sum_sq"] = xp.full_like(p, math.sqrt(group["initial_accumulator_value"]))
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        root = state["root_sum_sq"]
        xp.hypot(root, g, out=root)                           # √(G + g²)
        p -= lr * g / (root + group["eps"])


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton 2012), PyTorch's form with its momentum and centered options.

    Paper: Tieleman & Hinton 2012, "Lecture 6.5 — RMSProp: Divide the gradient by a running
    average of its recent magnitude" (COURSERA: Neural Networks for Machine Learning).

        g ← g + λθ
        v ← αv + (1 − α)g²                       (α is the paper's ρ, default 0.99)
        ḡ ← αḡ + (1 − α)g;  s = √(v − ḡ²) + ε    centered; else s = √v + ε
        b ← μb + g/s;  θ ← θ − ηb                momentum μ > 0; else θ ← θ − η·g/s

    ε = 1e-8 outside the sqrt (TensorFlow puts it inside).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False):
        if lr < 0 or eps < 0 or weight_decay < 0 or momentum < 0 or not 0 <= alpha <= 1:
            raise ValueError(f"RMSprop: invalid options lr={lr}, alpha={alpha}, eps={eps}, "
                             f"weight_decay={weight_decay}, momentum={momentum}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _update(self, p, g, state, group, xp):
        alpha, mu = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["rms"] = xp.zeros_like(p)
            if mu > 0:
                state["momentum_buffer"] = xp.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p)
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        rms = state["rms"]
        xp.hypot(math.sqrt(alpha) * rms, math.sqrt(1 - alpha) * g, out=rms)     # √v
        if group["centered"]:
            mean = state["grad_avg"]
            mean *= alpha
            mean += (1 - alpha) * g
            mean_abs = xp.abs(mean)                         # √(v − ḡ²) without squaring
            scale = xp.sqrt(rms - mean_abs) * xp.sqrt(rms + mean_abs) + group["eps"]
        else:
            scale = rms + group["eps"]
        if mu > 0:
            buf = state["momentum_buffer"]
            buf *= mu
            buf += g / scale
            p -= group["lr"] * buf
        else:
            p -= group["lr"] * g / scale


class Adadelta(Optimizer):
    """AdaDelta (Zeiler 2012), PyTorch's form with a step size η (1 in the paper).

    Paper: Zeiler 2012, "ADADELTA: An Adaptive Learning Rate Method".

        g ← g + λθ
        E[g²] ← ρE[g²] + (1 − ρ)g²
        Δ = √(E[Δ²] + ε) / √(E[g²] + ε) · g
        E[Δ²] ← ρE[Δ²] + (1 − ρ)Δ²               (after Δ is computed: the order matters)
        θ ← θ − ηΔ
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0):
        if lr < 0 or eps < 0 or weight_decay < 0 or not 0 <= rho <= 1:
            raise ValueError(f"Adadelta: invalid options lr={lr}, rho={rho}, eps={eps}, "
                             f"weight_decay={weight_decay}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay))

    def _update(self, p, g, state, group, xp):
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["rms"] = xp.zeros_like(p)
            state["acc_delta"] = xp.zeros_like(p)
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        rms, acc_delta = state["rms"], state["acc_delta"]
        xp.hypot(math.sqrt(rho) * rms, math.sqrt(1 - rho) * g, out=rms)         # √E[g²]
        delta = xp.sqrt(acc_delta + eps) / xp.hypot(rms, math.sqrt(eps)) * g
        acc_delta *= rho
        acc_delta += (1 - rho) * (delta * delta)
        p -= group["lr"] * delta


register(Adagrad, name="adagrad", kind="optimizer", check="state", catalog_id="O006",
         papers=["AdAdaGrad: Adaptive Batch Size Schemes for Adaptive Gradient Methods"])
register(RMSprop, name="rmsprop", kind="optimizer", check="state", catalog_id="O007",
         papers=[_DIFFGRAD])
register(Adadelta, name="adadelta", kind="optimizer", check="state", catalog_id="O008",
         papers=[_DIFFGRAD])
