"""Momentum optimizers for scale-invariant weights (Heo et al. 2021): AdamP and SGDP remove the
radial (norm-increasing) component of the update of a weight that looks scale-invariant
(a weight followed by a normalization layer), so its norm stops growing and its effective
step size stops shrinking."""
import math

from minigrad.optim.optimizer import Optimizer, power_of_two_scale
from minigrad.optim.adam import _adam_moments
from minigrad.optim.paper_adaptive import _check_options
from minigrad.registry import register


def radial_projection(p, g, update, delta, wd_ratio, eps, xp):
    """Remove the radial component of ``update`` (in place) where ``p`` looks scale-invariant;
    return the weight-decay multiplier (``wd_ratio`` where projected, else 1).

    Views of an ndim > 1 weight, in order: channel-wise (rows = p.reshape(C_out, −1)), then
    layer-wise (one row). The first view whose largest |cos(g_row, θ_row)| is below
    δ/√(row length) is used::

        θ̂ = θ_row / (‖θ_row‖ + ε);   u_row ← u_row − θ̂·⟨θ̂, u_row⟩

    The cosine is PyTorch's ``cosine_similarity(g, θ, eps)``: ⟨g, θ⟩/(max(‖g‖, ε)·max(‖θ‖, ε)),
    computed on g and θ divided by powers of two near their largest entries (exact, and no
    overflow of the squares; ε applies to the unscaled norms). Branch-free (``where``), so a
    GPU run needs no host synchronization. 0-d and 1-d parameters are never projected.
    """
    if p.ndim <= 1:
        return 1.0
    sg = power_of_two_scale(xp, xp.abs(g).max())
    sp = power_of_two_scale(xp, xp.abs(p).max())
    gs, ps = g / sg, p / sp
    multiplier, done = xp.ones((), dtype=p.dtype), xp.zeros((), dtype=bool)
    for rows in (p.shape[0], 1):
        gv, pv, uv = gs.reshape(rows, -1), ps.reshape(rows, -1), update.reshape(rows, -1)
        g_norm = xp.sqrt((gv * gv).sum(axis=1)) * sg
        p_norm = xp.sqrt((pv * pv).sum(axis=1)) * sp
        cos = xp.abs((gv * pv).sum(axis=1)
                     / ((xp.maximum(g_norm, eps) / sg) * (xp.maximum(p_norm, eps) / sp)))
        fires = (~done) & (cos.max() < delta / math.sqrt(pv.shape[1]))
        unit = p.reshape(rows, -1) / (p_norm[:, None] + eps)
        projected = uv - unit * (unit * uv).sum(axis=1, keepdims=True)
        update[...] = xp.where(fires, projected, uv).reshape(update.shape)
        multiplier = xp.where(fires, wd_ratio, multiplier)
        done = done | fires
    return multiplier


class AdamP(Optimizer):
    """AdamP: Adam with the radial component removed on scale-invariant weights (Heo et al.
    2021, Algorithm 2).

    Paper: Heo, Chun, Oh, Han, Yun, Kim, Uh & Ha 2021, "AdamP: Slowing Down the Slowdown for
    Momentum Optimizers on Scale-invariant Weights". Arguments: ``AdamP(params, lr=1e-3,
    betas=(0.9, 0.999), eps=1e-8, weight_decay=0, delta=0.1, wd_ratio=0.1, nesterov=False)``.

    Per parameter, step t from 1::

        m ← β₁m + (1 − β₁)g;   v ← β₂v + (1 − β₂)g²
        d = √v/√(1 − β₂ᵗ) + ε
        u = m/d                 (Nesterov: u = (β₁m + (1 − β₁)g)/d)
        u, r = radial_projection(θ, g, u, δ, wd_ratio, ε)      (r = wd_ratio if projected, else 1)
        θ ← θ·(1 − η·λ·r)                                      (decoupled decay)
        θ ← θ − (η/(1 − β₁ᵗ))·u

    The projection (see ``radial_projection``) uses the raw gradient and the current weight,
    channel-wise then layer-wise, and never touches 1-d parameters (biases, norm gains).
    Transcribed from the authors' clovaai/AdamP ``adamp/adamp.py`` (which equals
    ``timm.optim.AdamP``). ``pytorch_optimizer.AdamP`` differs: ε is added before the division
    by √(1 − β₂ᵗ), and its Nesterov form leaves β₁m undivided by d.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 delta=0.1, wd_ratio=0.1, nesterov=False):
        _check_options("AdamP", lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                       delta=delta, wd_ratio=wd_ratio)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, delta=delta, wd_ratio=wd_ratio,
                                      nesterov=nesterov))

    def _update(self, p, g, state, group, xp):
        beta1, beta2 = group["betas"]
        t, m, r = _adam_moments(g, state, group["betas"], xp)
        denom = r / math.sqrt(1 - beta2 ** t) + group["eps"]
        if group["nesterov"]:
            update = (beta1 * m + (1 - beta1) * g) / denom
        else:
            update = m / denom
        ratio = radial_projection(p, g, update, group["delta"], group["wd_ratio"],
                                  group["eps"], xp)
        if group["weight_decay"]:
            p *= 1 - (group["lr"] * group["weight_decay"]) * ratio
        p -= (group["lr"] / (1 - beta1 ** t)) * update


class SGDP(Optimizer):
    """SGDP: SGD with momentum and the radial component removed on scale-invariant weights (Heo
    et al. 2021, Algorithm 1).

    Paper: Heo, Chun, Oh, Han, Yun, Kim, Uh & Ha 2021, "AdamP: Slowing Down the Slowdown for
    Momentum Optimizers on Scale-invariant Weights". Arguments: ``SGDP(params, lr=1e-3,
    momentum=0, dampening=0, weight_decay=0, nesterov=False, eps=1e-8, delta=0.1,
    wd_ratio=0.1)``.

    Per parameter (b₀ = 0, so the first step gives b = (1 − d)g)::

        b ← μb + (1 − d)g
        u = b                   (the buffer itself; Nesterov: u = g + μb, a new array)
        u, r = radial_projection(θ, g, u, δ, wd_ratio, ε)
        θ ← θ·(1 − η·λ·r/(1 − μ))                              (decoupled decay)
        θ ← θ − η·u

    Transcribed from clovaai/AdamP ``adamp/sgdp.py`` (= ``timm.optim.SGDP``): the decay is
    divided by 1 − μ (the momentum's steady-state gain), and the buffer starts at zero (not at
    g as in ``torch.optim.SGD``; the two agree for d = 0). Without Nesterov the code projects
    the momentum buffer itself (u is the buffer, changed in place), so the radial part is
    removed from the momentum that later steps build on; the paper's Algorithm 1 projects
    only the step. We follow the code (trajectories equal clovaai/AdamP's to rounding);
    ``pytorch_optimizer.SGDP`` projects a copy (the paper's form) and differs once a
    projection has fired with μ > 0. The paper trains with μ = 0.9; the default 0 is the
    code's.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 eps=1e-8, delta=0.1, wd_ratio=0.1):
        _check_options("SGDP", lr=lr, eps=eps, weight_decay=weight_decay, delta=delta,
                       wd_ratio=wd_ratio, momentum=momentum)
        if not momentum < 1:
            raise ValueError(f"SGDP: momentum must be < 1 (the decay is divided by 1 − momentum), "
                             f"got {momentum}")
        if nesterov and momentum <= 0:
            raise ValueError(f"SGDP: Nesterov momentum needs momentum > 0, got {momentum}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, eps=eps,
                                      delta=delta, wd_ratio=wd_ratio))

    def _update(self, p, g, state, group, xp):
        mu = group["momentum"]
        if "momentum" not in state:
            state["momentum"] = xp.zeros_like(g)
        buf = state["momentum"]
        buf *= mu
        buf += (1 - group["dampening"]) * g
        update = g + mu * buf if group["nesterov"] else buf     # projected in place: see above
        ratio = radial_projection(p, g, update, group["delta"], group["wd_ratio"],
                                  group["eps"], xp)
        if group["weight_decay"]:
            p *= 1 - (group["lr"] * group["weight_decay"] / (1 - mu)) * ratio
        p -= group["lr"] * update


_ADAMP = "AdamP: Slowing Down the Slowdown for Momentum Optimizers on Scale-invariant Weights"
register(AdamP, name="adamp", kind="optimizer", check="state", catalog_id="O027",
         papers=[_ADAMP])
register(SGDP, name="sgdp", kind="optimizer", check="state", catalog_id="O028",
         papers=[_ADAMP])
