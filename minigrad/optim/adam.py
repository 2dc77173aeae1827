"""Adam and its family: AMSGrad, AdamW (decoupled weight decay) and LAMB (layer-wise
trust ratio on top of the Adam direction)."""
import math

from minigrad.optim.optimizer import Optimizer, safe_ratio, tensor_norm
from minigrad.optim.sgd import _ADAMP, _LARGE_BATCH, _excluded
from minigrad.registry import register


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), optional coupled L2 and AMSGrad (PyTorch's form).

    Paper: Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization". Arguments:
    ``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False)``.

    Per parameter, step counter t starting at 1::

        g ← g + λθ                                   (coupled L2, off by default)
        m ← β₁m + (1 − β₁)g;   v ← β₂v + (1 − β₂)g²   (kept as √v: see _adam_moments)
        v_max ← max(v_max, v)                        (AMSGrad only: its denominator uses v_max)
        θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)

    which is θ − η·m̂/(√v̂ + ε) with m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ): ε outside the sqrt.
    AMSGrad keeps the maximum of the *raw* second moment and bias-corrects it afterwards (the
    PyTorch form; the maximum of bias-corrected values differs in the first steps).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False):
        _check_adam_options(type(self).__name__, lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad))

    def _update(self, p, g, state, group, xp):
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        p -= group["lr"] * _adam_direction(g, state, group, xp)


class AMSGrad(Adam):
    """AMSGrad (Reddi, Kale & Kumar 2018): ``Adam(params, ..., amsgrad=True)``.

    Paper: Reddi, Kale & Kumar 2018, "On the Convergence of Adam and Beyond".

    v_max ← max(v_max, v) never decreases; θ ← θ − η·m̂/(√(v_max/(1 − β₂ᵗ)) + ε).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=True)


class AdamW(Adam):
    """AdamW, decoupled weight decay (Loshchilov & Hutter 2019), PyTorch's convention.

    Paper: Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization". Arguments:
    ``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)``.

        θ ← θ·(1 − ηλ)           then the Adam step (without L2 in g)

    The decay is neither added to g nor divided by √v̂. PyTorch scales it by the current
    learning rate η (the paper by the schedule multiplier η_t alone, with the Adam step size α
    apart: the paper's λ is ``weight_decay * lr / η_t`` here). Defaults β = (0.9, 0.999),
    ε = 1e-8, λ = 1e-2. The paper's *normalized* weight decay λ = λ_norm·√(b/(B·T)) is
    ``normalized_weight_decay(λ_norm, b, B, T)``. Exclude biases and norm gains with a
    parameter group ``{"params": ..., "weight_decay": 0}``. ``amsgrad=True`` as in Adam.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)

    def _update(self, p, g, state, group, xp):
        if group["weight_decay"]:
            p *= 1 - group["lr"] * group["weight_decay"]
        p -= group["lr"] * _adam_direction(g, state, group, xp)


def normalized_weight_decay(lambda_norm, batch_size, dataset_size, epochs):
    """The paper's normalized weight decay λ = λ_norm·√(b / (B·T)) (Loshchilov & Hutter
    2019, "Decoupled Weight Decay Regularization", Appendix): b batch size, B training-set size,
    T epochs (the total number of updates is B·T/b)."""
    return lambda_norm * math.sqrt(batch_size / (dataset_size * epochs))


class LAMB(Optimizer):
    """LAMB, layer-wise adaptive moments (You et al. 2020, Algorithm 2).

    Paper: You et al. 2020, "Large Batch Optimization for Deep Learning: Training BERT in 76
    minutes".

    Per parameter tensor, Adam moments with bias correction, then::

        r = m̂ / (√v̂ + ε);   u = r + λθ
        τ = φ(‖θ‖) / ‖u‖          (τ = 1 when ‖θ‖ = 0 or ‖u‖ = 0)
        θ ← θ − η·τ·u

    with φ the identity, or the clip to [γ_l, γ_u] when ``phi_bounds=(γ_l, γ_u)`` (the paper
    suggests e.g. (0, 10)). ``bias_correction=False`` drops m̂/v̂'s correction (as some
    implementations do). BERT recipe: β = (0.9, 0.999), ε = 1e-6, λ = 0.01, with linear
    warm-up then linear decay. Groups with ``exclude_from_adaptation=True`` (or every ndim ≤ 1
    parameter with ``exclude_bias_and_norm=True``) take τ = 1 and no weight decay.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0,
                 phi_bounds=None, bias_correction=True, exclude_bias_and_norm=False):
        _check_adam_options("LAMB", lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=False,
                                      phi_bounds=phi_bounds, bias_correction=bias_correction,
                                      exclude_from_adaptation=False,
                                      exclude_bias_and_norm=exclude_bias_and_norm))

    def _update(self, p, g, state, group, xp):
        u = _adam_direction(g, state, group, xp, bias_correction=group["bias_correction"])
        if _excluded(p, group):
            p -= group["lr"] * u
            return
        if group["weight_decay"]:
            u += group["weight_decay"] * p
        w_norm, u_norm = tensor_norm(xp, p), tensor_norm(xp, u)
        if group["phi_bounds"] is not None:
            low, high = group["phi_bounds"]
            w_norm = xp.minimum(xp.maximum(w_norm, low), high)
        ratio = safe_ratio(xp, w_norm, u_norm, (w_norm > 0) & (u_norm > 0))
        p -= (group["lr"] * ratio) * u


def _adam_direction(g, state, group, xp, bias_correction=True):
    """Update the moments in ``state`` with ``g`` (``_adam_moments``); return m̂/(√v̂ + ε)
    (a new array)."""
    beta1, beta2 = group["betas"]
    t, m, r = _adam_moments(g, state, group["betas"], xp, group["amsgrad"])
    c1, c2 = (1 - beta1 ** t, 1 - beta2 ** t) if bias_correction else (1.0, 1.0)
    return (m / c1) / (r / math.sqrt(c2) + group["eps"])


def _adam_moments(g, state, betas, xp, amsgrad=False):
    """Advance the step counter and the moments in ``state`` with ``g``; return (t, m, r) with
    r = √v (or √v_max with ``amsgrad``), the raw (not bias-corrected) moments, kept in place.

    The second moment is kept as ``rms`` = √v (``max_rms`` = √v_max for AMSGrad):
    √(β₂v + (1 − β₂)g²) = hypot(√β₂·√v, √(1 − β₂)·g) never squares g, so it stays finite
    for every finite g (PyTorch's float32 v overflows for |g| ≳ 6e20 and the step is 0)."""
    beta1, beta2 = betas
    if "exp_avg" not in state:
        state["step"] = 0
        state["exp_avg"] = xp.zeros_like(g)
        state["rms"] = xp.zeros_like(g)
        if amsgrad:
            state["max_rms"] = xp.zeros_like(g)
    state["step"] += 1
    m, r = state["exp_avg"], state["rms"]
    m *= beta1
    m += (1 - beta1) * g
    xp.hypot(math.sqrt(beta2) * r, math.sqrt(1 - beta2) * g, out=r)
    if amsgrad:
        xp.maximum(state["max_rms"], r, out=state["max_rms"])
        r = state["max_rms"]
    return state["step"], m, r


def _check_adam_options(name, lr, betas, eps, weight_decay):
    if lr < 0 or eps < 0 or weight_decay < 0:
        raise ValueError(f"{name}: lr, eps and weight_decay must be ≥ 0, got lr={lr}, eps={eps}, "
                         f"weight_decay={weight_decay}")
    if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
        raise ValueError(f"{name}: betas must be two numbers in [0, 1), got {betas}")


_LAMB = "Large Batch Optimization for Deep Learning: Training BERT in 76 minutes"
_SPAM = "Stable-SPAM: How to Train in 4-Bit More Stably than 16-Bit Adam"
register(Adam, name="adam", kind="optimizer", check="state", catalog_id="O003",
         papers=[_SPAM, "Improving Generalization Performance by Switching from Adam to SGD",
                 "Adaptive Gradient Methods with Dynamic Bound of Learning Rate", _LARGE_BATCH,
                 _ADAMP, "Continual Test-Time Domain Adaptation"])
register(AMSGrad, name="amsgrad", kind="optimizer", check="state", catalog_id="O004",
         papers=["diffGrad: An Optimization Method for Convolutional Neural Networks",
                 "An Optimistic Acceleration of AMSGrad for Nonconvex Optimization"])
register(AdamW, name="adamw", kind="optimizer", check="state", catalog_id="O005",
         papers=["Decoupled Weight Decay Regularization",
                 "LISA: Layerwise Importance Sampling for Memory-Efficient Large Language Model "
                 "Fine-Tuning",
                 "Robust Layerwise Scaling Rules by Proper Weight Decay Tuning", _SPAM])
register(LAMB, name="lamb", kind="optimizer", check="state", catalog_id="O010",
         papers=[_LAMB, _LARGE_BATCH, "Large-batch Optimization for Dense Visual Predictions"])
