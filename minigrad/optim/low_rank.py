"""Gradient low-rank projection (GaLore): Adam run on the projection of each weight
matrix's gradient onto its top singular subspace, refreshed every few hundred steps, and
projected back for the update."""
import math

from minigrad.optim.adam import _check_adam_options
from minigrad.optim.optimizer import Optimizer
from minigrad.registry import register

PROJ_TYPES = ("std", "reverse_std", "left", "right", "full")


def _sides(proj_type, shape):
    """Which projector(s) a gradient of ``shape`` gets: "left" (P = U_r, R = Pᵀ·G),
    "right" (Q = V_rᵀ, R = G·Qᵀ) or "full" (both, R = Pᵀ·G·Qᵀ)."""
    tall = shape[0] >= shape[1]
    if proj_type == "std":
        return "right" if tall else "left"
    if proj_type == "reverse_std":
        return "left" if tall else "right"
    return proj_type


class GaLoreAdamW(Optimizer):
    """AdamW with GaLore gradient low-rank projection (Zhao et al. 2024), as used by
    GradNormLoRP (Huang et al. 2024).

    Paper: Huang et al. 2024, "Gradient Weight-normalized Low-rank Projection for Efficient LLM
    Training" (the catalog row's paper; its optimizer projects with GaLore's projector), and
    Zhao et al. 2024, "GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection".
    Rule and argument names from jiaweizzhao/GaLore ``galore_torch/adamw.py`` and
    ``galore_torch/galore_projector.py``::

        GaLoreAdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0,
                    correct_bias=True, rank=None, update_proj_gap=200, scale=0.25,
                    proj_type="std")

    ``rank``, ``update_proj_gap``, ``scale`` and ``proj_type`` are group options; a group
    with ``rank=None`` (the default) is plain AdamW in this form. For a matrix G (m×n) in a
    group with a rank r, step k = 1, 2, ... of the parameter::

        when (k − 1) % T == 0:  U S Vᵀ = svd(G);  P = U[:, :r],  Q = V[:, :r]ᵀ   (T = update_proj_gap)
        R = G·Qᵀ (m ≥ n, "std")   or   Pᵀ·G (m < n)   or   Pᵀ·G·Qᵀ ("full", two-sided)
        m ← β₁m + (1 − β₁)R;   v ← β₂v + (1 − β₂)R²           (Adam state r-sized)
        N = m/(√v + ε), projected back: N·Q, P·N or P·N·Q, times α = ``scale``
        θ ← θ − η·(√(1 − β₂ᵏ)/(1 − β₁ᵏ))·α·back(N)            (without the factor: correct_bias=False)
        θ ← θ·(1 − η·λ)                                         (decoupled decay, after the step)

    ``proj_type``: "std" projects on the smaller side (right for m ≥ n), "reverse_std" on the
    larger one, "left" / "right" always that side, "full" on both (GradNormLoRP's two-sided
    R = UᵀDV). The Adam moments are kept when the projector is refreshed (as in the reference:
    neither re-projected nor reset). ε sits outside √v without bias correction and the step
    size carries √(1 − β₂ᵏ) (the reference's HF-AdamW form). Defaults: the reference's,
    except ``scale`` = 0.25, the value the GaLore paper and README use (the projector's own
    default is 1). Parameters with other than 2 axes in a rank group take the plain AdamW step
    (the reference's Tucker projector for higher-order tensors is not implemented). The SVD runs
    in the parameter's dtype (the reference's in float32). GradNormLoRP applies this optimizer
    to a weight-normalized parameterization W = g·V/‖V‖ of each matrix, done there inside the
    optimizer (``LowRankWeightNormAdamW``); here that parameterization belongs to the model
    (the weight-space normalization layers): V is the projected matrix, g a vector that takes
    the plain step.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0,
                 correct_bias=True, rank=None, update_proj_gap=200, scale=0.25, proj_type="std"):
        _check_adam_options("GaLoreAdamW", lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, correct_bias=correct_bias,
                                      rank=rank, update_proj_gap=update_proj_gap, scale=scale,
                                      proj_type=proj_type))

    def add_param_group(self, group):
        super().add_param_group(group)
        rank, gap = group["rank"], group["update_proj_gap"]
        if rank is not None and (int(rank) != rank or rank < 1):
            raise ValueError(f"GaLoreAdamW: rank must be None or a positive integer, got {rank}")
        if int(gap) != gap or gap < 1:
            raise ValueError(f"GaLoreAdamW: update_proj_gap must be a positive integer, got {gap}")
        if group["proj_type"] not in PROJ_TYPES:
            raise ValueError(f"GaLoreAdamW: proj_type must be one of {PROJ_TYPES}, got "
                             f"{group['proj_type']!r}")

    def _update(self, p, g, state, group, xp):
        project = group["rank"] is not None and p.ndim == 2
        if not state:
            state["step"] = 0
        if project:
            side = _sides(group["proj_type"], p.shape)
            if state["step"] % group["update_proj_gap"] == 0:
                U, _, Vt = xp.linalg.svd(g, full_matrices=False)
                r = int(group["rank"])
                if side in ("left", "full"):
                    state["ortho_left"] = xp.ascontiguousarray(U[:, :r])
                if side in ("right", "full"):
                    state["ortho_right"] = xp.ascontiguousarray(Vt[:r, :])
            if side in ("left", "full"):
                g = state["ortho_left"].T @ g
            if side in ("right", "full"):
                g = g @ state["ortho_right"].T
        if "exp_avg" not in state:
            state["exp_avg"] = xp.zeros_like(g)
            state["rms"] = xp.zeros_like(g)            # √v
        beta1, beta2 = group["betas"]
        state["step"] += 1
        k = state["step"]
        m, r = state["exp_avg"], state["rms"]
        m *= beta1
        m += (1 - beta1) * g
        xp.hypot(math.sqrt(beta2) * r, math.sqrt(1 - beta2) * g, out=r)
        direction = m / (r + group["eps"])
        if project:
            if side in ("left", "full"):
                direction = state["ortho_left"] @ direction
            if side in ("right", "full"):
                direction = direction @ state["ortho_right"]
            direction = direction * group["scale"]
        step_size = group["lr"]
        if group["correct_bias"]:
            step_size = step_size * math.sqrt(1 - beta2 ** k) / (1 - beta1 ** k)
        p -= step_size * direction
        if group["weight_decay"] > 0:
            p *= 1 - group["lr"] * group["weight_decay"]


register(GaLoreAdamW, name="galore_projection", kind="optimizer", check="state",
         catalog_id="O040",
         papers=["Gradient Weight-normalized Low-rank Projection for Efficient LLM Training"])
