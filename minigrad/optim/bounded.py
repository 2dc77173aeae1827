"""Adam with dynamic bounds on its per-coordinate step size (Luo et al. 2019): AdaBound and
AMSBound move smoothly from Adam to SGD with a fixed learning rate."""
import math

from minigrad.optim.optimizer import Optimizer
from minigrad.optim.adam import _adam_moments
from minigrad.optim.paper_adaptive import _check_options
from minigrad.registry import register


class AdaBound(Optimizer):
    """AdaBound: Adam with the per-coordinate step clipped between bounds that both converge
    to a final SGD learning rate (Luo, Xiong, Liu & Sun 2019, Algorithm 2).

    Paper: Luo, Xiong, Liu & Sun 2019, "Adaptive Gradient Methods with Dynamic Bound of
    Learning Rate". Arguments: ``AdaBound(params, lr=1e-3, betas=(0.9, 0.999), final_lr=0.1,
    gamma=1e-3, eps=1e-8, weight_decay=0, amsbound=False)``.

    Per parameter, step t from 1::

        g ← g + λθ                                     (coupled L2, off by default)
        m ← β₁m + (1 − β₁)g;   v ← β₂v + (1 − β₂)g²
        v ← max(v_max, v)                              (AMSBound only: the running maximum)
        α* = final_lr · η / η₀                          (η₀ the group's initial lr, ``base_lr``)
        η_l = α*·(1 − 1/(γt + 1));   η_u = α*·(1 + 1/(γt))
        η̂ = clip(η·√(1 − β₂ᵗ)/(1 − β₁ᵗ) / (√v + ε), η_l, η_u)    (elementwise)
        θ ← θ − η̂⊙m

    Transcribed from the authors' Luolc/AdaBound ``adabound/adabound.py``: the paper writes
    the bounds as 0.1 − 0.1/((1 − β₂)t + 1) and 0.1 + 0.1/((1 − β₂)t); the code's γ = 1e-3
    equals 1 − β₂ there, and its final_lr follows a learning-rate schedule through η/η₀ (η₀
    is kept in each group's ``base_lr``, so it survives ``state_dict``). At t = 1 the upper
    bound is 1001·α*. ``pytorch_optimizer.AdaBound`` differs by an extra 1e-15 under the square
    root (and decoupled decay by default); ``amsbound=True`` is AMSBound.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), final_lr=0.1, gamma=1e-3, eps=1e-8,
                 weight_decay=0, amsbound=False):
        name = type(self).__name__
        _check_options(name, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                       final_lr=final_lr)
        if not 0 < gamma < 1:
            raise ValueError(f"{name}: gamma must be in (0, 1), got {gamma}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), final_lr=final_lr, gamma=gamma,
                                      eps=eps, weight_decay=weight_decay, amsbound=amsbound))

    def add_param_group(self, group):
        """Add a parameter group; its current lr becomes its ``base_lr`` (the η₀ of the bounds)."""
        super().add_param_group(group)
        group.setdefault("base_lr", group["lr"])
        if not group["base_lr"] > 0:
            raise ValueError(f"{type(self).__name__}: the initial lr of a group must be > 0 (the "
                             f"bounds scale with lr / initial lr), got {group['base_lr']}")

    def _update(self, p, g, state, group, xp):
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        beta1, beta2 = group["betas"]
        t, m, r = _adam_moments(g, state, group["betas"], xp, amsgrad=group["amsbound"])
        final_lr = group["final_lr"] * group["lr"] / group["base_lr"]
        lower = final_lr * (1 - 1 / (group["gamma"] * t + 1))
        upper = final_lr * (1 + 1 / (group["gamma"] * t))
        step = group["lr"] * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        p -= xp.clip(step / (r + group["eps"]), lower, upper) * m


class AMSBound(AdaBound):
    """AMSBound: AdaBound on AMSGrad's running maximum of the second moment (Luo et al. 2019,
    Algorithm 3): ``AdaBound(params, ..., amsbound=True)``.

    Paper: Luo, Xiong, Liu & Sun 2019, "Adaptive Gradient Methods with Dynamic Bound of
    Learning Rate". Arguments: ``AMSBound(params, lr=1e-3, betas=(0.9, 0.999), final_lr=0.1,
    gamma=1e-3, eps=1e-8, weight_decay=0)``.

        v_max ← max(v_max, v)   (never decreases)
        η̂ = clip(η·√(1 − β₂ᵗ)/(1 − β₁ᵗ) / (√v_max + ε), η_l, η_u);   θ ← θ − η̂⊙m

    with the bounds of ``AdaBound``; Luolc/AdaBound ``AdaBound(amsbound=True)``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), final_lr=0.1, gamma=1e-3, eps=1e-8,
                 weight_decay=0):
        super().__init__(params, lr=lr, betas=betas, final_lr=final_lr, gamma=gamma, eps=eps,
                         weight_decay=weight_decay, amsbound=True)


_ADABOUND = "Adaptive Gradient Methods with Dynamic Bound of Learning Rate"
register(AdaBound, name="adabound", kind="optimizer", check="state", catalog_id="O030",
         papers=[_ADABOUND])
register(AMSBound, name="amsbound", kind="optimizer", check="state", catalog_id="O031",
         papers=[_ADABOUND])
