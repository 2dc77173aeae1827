"""Spike-aware Adam: SPAM (spike clipping against the second moment, periodic momentum
reset with a cosine warm-up) and Stable-SPAM (adaptive max-based clipping, gradient-norm
normalization, momentum reset)."""
import math

from minigrad.optim._global_state import GlobalStateOptimizer
from minigrad.optim.adam import _check_adam_options
from minigrad.optim.optimizer import tensor_norm
from minigrad.registry import register

_STABLE_SPAM = "Stable-SPAM: How to Train in 4-Bit More Stably than 16-Bit Adam"


def _cosine(start, end, t, t_max):
    """The closed form of ``CosineAnnealingLR(T_max=t_max + 1, eta_min=end)`` at epoch t from
    ``start``, and ``end`` from t = t_max on (the references' ``CosineDecay.get_dr``)."""
    if t >= t_max:
        return end
    return end + (start - end) * (1 + math.cos(math.pi * t / (t_max + 1))) / 2


class SPAM(GlobalStateOptimizer):
    """SPAM: spike-aware Adam with momentum reset (Huang et al. 2025), as used in Stable-SPAM.

    Paper: Tianjin Huang et al. 2025, "Stable-SPAM: How to Train in 4-Bit More Stably than
    16-Bit Adam" (SPAM is its baseline, from "SPAM: Spike-Aware Adam with Momentum Reset for
    Stable LLM Training"). Rule from TianjinYellow/StableSPAM ``galore_torch/SPAM.py``, with
    pytorch_optimizer.SPAM's argument names and defaults::

        SPAM(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0, warmup_epoch=50,
             threshold=5000, grad_accu_steps=20, update_proj_gap=500)

    Optimizer step T = 1, 2, ... (ΔT = update_proj_gap, N = warmup_epoch, θ = threshold),
    with c the steps since the last reset (c starts at N + 1: no warm-up at the start)::

        if T % ΔT == 0:  m ← 0, v ← 0                          (momentum reset)
        if T ≥ grad_accu_steps and T % ΔT ≥ grad_accu_steps:
            where g² > θ·v:  g ← sign(g)·√(θ·v)                 (v before this step's update)
        m ← β₁m + (1 − β₁)g;   v ← β₂v + (1 − β₂)g²
        s = 1 − d(c),  d(c) = 0.99·(1 + cos(π·c/(N + 1)))/2 for c < N, 0 for c ≥ N
        θ ← θ − η·s·(√(1 − β₂ᵏ)/(1 − β₁ᵏ))·m/(√v + ε)          (k: this parameter's step count)
        θ ← θ·(1 − η·λ)                                        (decoupled decay, after the step)
        c ← c + 1;  c ← 0 when (T + 1) % ΔT == 0                (warm-up restarts at the reset)

    The reset does not restart k (the bias correction), as in the code; the catalog row's
    "v before or after the update" is before. Deviations: the random sparse ``density``
    masks of the code are not implemented (density 1); pytorch_optimizer.SPAM's clipping
    writes into a copy (``grad[mask].sign_()``) and so never clips, and its warm-up factor
    follows ``CosineAnnealingLR``'s recursive form, not the closed form the reference uses;
    this class follows the reference in both. The gradient itself is not changed (the
    reference writes the clipped values into ``p.grad``).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0,
                 warmup_epoch=50, threshold=5000, grad_accu_steps=20, update_proj_gap=500):
        _check_adam_options("SPAM", lr, betas, eps, weight_decay)
        for name, value in (("warmup_epoch", warmup_epoch), ("threshold", threshold),
                            ("grad_accu_steps", grad_accu_steps)):
            if value < 0:
                raise ValueError(f"SPAM: {name} must be ≥ 0, got {value}")
        if int(update_proj_gap) != update_proj_gap or update_proj_gap < 1:
            raise ValueError(f"SPAM: update_proj_gap must be a positive integer, got "
                             f"{update_proj_gap}")
        self.warmup_epoch, self.threshold = int(warmup_epoch), threshold
        self.grad_accu_steps, self.update_proj_gap = int(grad_accu_steps), int(update_proj_gap)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay))

    def _initial_global_state(self):
        return {"total_step": 0, "current_step": self.warmup_epoch + 1}

    def _step(self, closure=None):
        loss = super()._step(closure)
        gs = self.global_state
        gs["total_step"] += 1
        gs["current_step"] += 1
        if (gs["total_step"] + 1) % self.update_proj_gap == 0:
            gs["current_step"] = 0
        return loss

    def _update(self, p, g, state, group, xp):
        beta1, beta2 = group["betas"]
        t = self.global_state["total_step"] + 1
        if not state or t % self.update_proj_gap == 0:
            state.setdefault("step", 0)
            state["exp_avg"] = xp.zeros_like(g)
            state["rms"] = xp.zeros_like(g)          # √v (see optimizer.py)
        state["step"] += 1
        m, r = state["exp_avg"], state["rms"]
        gap = self.update_proj_gap
        if self.threshold != 0 and t >= self.grad_accu_steps and t % gap >= self.grad_accu_steps:
            bound = math.sqrt(self.threshold) * r
            g = xp.where(xp.abs(g) > bound, xp.sign(g) * bound, g)
        m *= beta1
        m += (1 - beta1) * g
        xp.hypot(math.sqrt(beta2) * r, math.sqrt(1 - beta2) * g, out=r)
        k = state["step"]
        scale = 1 - _cosine(0.99, 0.0, self.global_state["current_step"], self.warmup_epoch)
        step_size = group["lr"] * math.sqrt(1 - beta2 ** k) / (1 - beta1 ** k)
        p -= (step_size * scale) * (m / (r + group["eps"]))
        if group["weight_decay"]:
            p *= 1 - group["lr"] * group["weight_decay"]


class StableSPAM(GlobalStateOptimizer):
    """Stable-SPAM (Huang et al. 2025): Adam on gradients clipped by an adaptive spike bound
    and rescaled to a running gradient norm, with periodic momentum reset.

    Paper: Tianjin Huang et al. 2025, "Stable-SPAM: How to Train in 4-Bit More Stably than
    16-Bit Adam". Rule and argument names from TianjinYellow/StableSPAM
    ``galore_torch/stablespam.py`` (``StableSPAM``)::

        StableSPAM(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                   amsgrad=False, gamma1=0.7, gamma2=0.9, gamma3=0.999, total_T=None,
                   eta_min=0.5, update_proj_gap=1000)

    Optimizer step T = 1, 2, ...; k the parameter's step count; s = 1, or with ``total_T``
    the cosine factor s = η_min + (1 − η_min)·(1 + cos(π·T/(total_T + 1)))/2 for T < total_T
    and η_min = ``eta_min`` from then on (CosineAnnealingLR's closed form, as the reference's
    ``CosineDecay``), which scales β₁ and γ₁. Per parameter::

        θ ← θ·(1 − η·λ)                                        (decoupled decay, first)
        k ← k + 1
        M ← γ₃·M + (1 − γ₃)·max|g|;   M̂ = M/(1 − γ₃ᵏ)
        where |g| > M̂:  g ← g/max|g| · M̂                       (adaptive spike clipping)
        n = ‖g‖;  m_n ← γ₁s·m_n + (1 − γ₁s)·n;  v_n ← γ₂·v_n + (1 − γ₂)·n²
        m̂_n = m_n/(1 − (γ₁s)ᵏ);  v̂_n = v_n/(1 − γ₂ᵏ)
        if n > 0:  g ← (g/n)·m̂_n/(√v̂_n + ε)                   (norm normalization)
        if T % ΔT == 0:  k ← 1 (m, v restart from 0 one step later: see below)
        m ← β₁s·m + (1 − β₁s)·g;   v ← β₂·v + (1 − β₂)·g²     (v_max ← max(v_max, v) if amsgrad)
        θ ← θ − η/(1 − (β₁s)ᵏ) · m/(√v/√(1 − β₂ᵏ) + ε)

    The momentum reset follows the reference code exactly: at a step with T % ΔT == 0 the
    counter k restarts at 1 (for the Adam bias corrections of that step and for M̂, m̂_n, v̂_n
    from then on), but that step's moment update and parameter step still use the moments
    carried so far; the zeroed moments take over from the next step. (The code rebinds the
    state's tensors after having taken references to the old ones; the paper describes a
    plain reset. pytorch_optimizer.StableSPAM has the same late reset but computes the bias
    corrections before restarting k, skips the whole update when n = 0, and its clipping
    writes into a copy so it never clips; this class follows the reference code.) The
    gradient itself is not changed (the reference writes the clipped values into ``p.grad``).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, gamma1=0.7, gamma2=0.9, gamma3=0.999, total_T=None, eta_min=0.5,
                 update_proj_gap=1000):
        _check_adam_options("StableSPAM", lr, betas, eps, weight_decay)
        if gamma1 == -1:
            gamma1 = betas[0]          # the reference's convention
        for name, value in (("gamma1", gamma1), ("gamma2", gamma2), ("gamma3", gamma3)):
            if not 0 <= value < 1:
                raise ValueError(f"StableSPAM: {name} must be in [0, 1) (gamma1 = -1 means "
                                 f"betas[0]), got {value}")
        if total_T is not None and (int(total_T) != total_T or total_T < 1):
            raise ValueError(f"StableSPAM: total_T must be None or a positive integer, got "
                             f"{total_T}")
        if int(update_proj_gap) != update_proj_gap or update_proj_gap < 0:
            raise ValueError(f"StableSPAM: update_proj_gap must be an integer ≥ 0 (0: no "
                             f"reset), got {update_proj_gap}")
        self.gamma1, self.gamma2, self.theta = gamma1, gamma2, gamma3
        self.total_T, self.eta_min = total_T, eta_min
        self.update_proj_gap = int(update_proj_gap)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad))

    def _initial_global_state(self):
        return {"total_steps": 0}

    def _step(self, closure=None):
        self.global_state["total_steps"] += 1
        return super()._step(closure)

    def _scale(self):
        if self.total_T is None:
            return 1.0
        return _cosine(1.0, self.eta_min, self.global_state["total_steps"], self.total_T)

    def _update(self, p, g, state, group, xp):
        if group["weight_decay"]:
            p *= 1 - group["lr"] * group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(g)
            state["rms"] = xp.zeros_like(g)                # √v
            state["m_norm_t"] = xp.zeros((), g.dtype)
            state["v_norm_rms"] = xp.zeros((), g.dtype)    # √v_n
            state["m_max_t"] = xp.zeros((), g.dtype)
            if group["amsgrad"]:
                state["max_rms"] = xp.zeros_like(g)
        s, theta = self._scale(), self.theta
        state["step"] += 1
        k = state["step"]
        # adaptive spike clipping
        max_g = xp.abs(g).max() if g.size else xp.zeros((), g.dtype)
        m_max = state["m_max_t"]
        m_max[...] = theta * m_max + (1 - theta) * max_g
        m_max_hat = m_max / (1 - theta ** k)
        ratio = m_max_hat / xp.where(max_g > 0, max_g, 1)
        g = xp.where(xp.abs(g) > m_max_hat, g * ratio, g)
        # gradient-norm normalization
        n = tensor_norm(xp, g)
        g1 = self.gamma1 * s
        m_n, v_n = state["m_norm_t"], state["v_norm_rms"]
        m_n[...] = g1 * m_n + (1 - g1) * n
        v_n[...] = xp.hypot(math.sqrt(self.gamma2) * v_n, math.sqrt(1 - self.gamma2) * n)
        c = (m_n / (1 - g1 ** k)) / (v_n / math.sqrt(1 - self.gamma2 ** k) + group["eps"])
        g = xp.where(n > 0, g * (c / xp.where(n > 0, n, 1)), g)
        # momentum reset (late, as in the reference: see the docstring)
        m, r = state["exp_avg"], state["rms"]
        if self.update_proj_gap and self.global_state["total_steps"] % self.update_proj_gap == 0:
            state["exp_avg"], state["rms"] = xp.zeros_like(g), xp.zeros_like(g)
            state["step"] = k = 1
        beta1, beta2 = group["betas"]
        beta1 = beta1 * s
        m *= beta1
        m += (1 - beta1) * g
        xp.hypot(math.sqrt(beta2) * r, math.sqrt(1 - beta2) * g, out=r)
        if group["amsgrad"]:
            xp.maximum(state["max_rms"], r, out=state["max_rms"])
            r = state["max_rms"]
        denom = r / math.sqrt(1 - beta2 ** k) + group["eps"]
        p -= (group["lr"] / (1 - beta1 ** k)) * (m / denom)


register(SPAM, name="spam", kind="optimizer", check="state", catalog_id="O035",
         papers=[_STABLE_SPAM])
register(StableSPAM, name="stable_spam", kind="optimizer", check="state", catalog_id="O034",
         papers=[_STABLE_SPAM])
