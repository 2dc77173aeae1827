"""Learning-rate schedules and step-size rules from single papers: cosine power annealing
(sharpDARTS), the gradient-norm-refined schedule (Defazio et al.), and the sub-gradient
method with geometrically decaying steps for robust matrix sensing (Ma & Fattahi).

The schedules follow ``minigrad.optim.lr_scheduler``: built after the optimizer, a closed form
of the step counter t and each group's initial lr, stepped after ``optimizer.step()``. Their
inputs are host numbers (epoch counts, logged gradient norms), so they compute with ``math``
and host NumPy; the sub-gradient solver works on backend arrays through their ``xp``.
"""
import math

import numpy

from minigrad.backends import backend_of_array, current, get_backend
from minigrad.optim.lr_scheduler import LRScheduler
from minigrad.registry import register
from minigrad.tensor import Tensor


# ------------------------------------------------------------------ cosine power annealing
class CosinePowerAnnealingLR(LRScheduler):
    """Cosine power annealing (sharpDARTS): a cosine curve pushed through an exponential of
    base p, between cosine annealing (p → 1) and exponential decay (large p). Step it once
    per epoch; step t uses epoch e = t + 1 of T = ``T_max``.

        c_e = (1 + cos(π·e'/M))/2,          e' = e − w,  M = T − w  (w = ``warmup_epochs``)
        π_e = (p^(c_e + 1) − p) / (p^(c_top + 1) − p)      (p > 1; π_e = c_e/c_top for p = 1)
        η_e = η_min + (η_max − η_min)·π_e

    η_max is each group's initial lr, η_min = ``eta_min``, p = ``exponent_order``. With a
    warm-up (w > 0) the first w + 1 epochs instead take π_e = e/(w + 1), linear up to η_max.
    c_top is the largest c over the run, which is where the official code rescales its
    proportions to [0, 1]: c_top = 1 with a warm-up (the shifted epoch 0 lies inside it) and
    c_top = c_1 = (1 + cos(π/T))/2 without one, so the first epoch is at exactly η_max and the
    last (e = T, c = 0) at η_min. Past T the lr stays at η_min.

    Paper: Hundt, Jain & Hager 2019, "sharpDARTS: Faster and More Accurate Differentiable
    Architecture Search" (the cosine power annealing schedule), and its code
    ahundt/sharpDARTS ``cnn/cosine_power_annealing.py`` (defaults there: η_max = 0.1,
    η_min = 1e-4, p = 10, no warm-up; ``train.py`` uses p = 2 with a 5-epoch warm-up).

    Deviation from the paper's formula: the paper normalizes by p² − p (as if c reached 1);
    without a warm-up the code normalizes by the largest value the run actually visits
    (c_1 < 1), which we follow, so η_1 = η_max as in the code. With a warm-up both agree.
    p < 1 is refused (as in the code): the rescaled curve would rise.
    """

    def __init__(self, optimizer, T_max, eta_min=1e-4, exponent_order=10, warmup_epochs=0,
                 last_epoch=-1):
        if int(T_max) != T_max or int(warmup_epochs) != warmup_epochs or warmup_epochs < 0:
            raise ValueError(f"CosinePowerAnnealingLR: T_max and warmup_epochs must be integers "
                             f"(warmup_epochs ≥ 0), got T_max={T_max}, "
                             f"warmup_epochs={warmup_epochs}")
        if T_max < 2 or T_max <= warmup_epochs:
            raise ValueError(f"CosinePowerAnnealingLR: T_max must be ≥ 2 and > warmup_epochs, got "
                             f"T_max={T_max}, warmup_epochs={warmup_epochs}")
        if not exponent_order >= 1:
            raise ValueError(f"CosinePowerAnnealingLR: exponent_order must be ≥ 1, got "
                             f"{exponent_order}")
        self.T_max, self.eta_min = int(T_max), eta_min
        self.exponent_order, self.warmup_epochs = exponent_order, int(warmup_epochs)
        super().__init__(optimizer, last_epoch)

    def proportion(self, t):
        """π at step ``t`` (epoch t + 1): 1 at the first epoch (or the end of the warm-up), 0 at
        the last."""
        w, p = self.warmup_epochs, self.exponent_order
        epoch = min(t + 1, self.T_max)
        if w > 0 and epoch <= w + 1:
            return epoch / (w + 1)
        span = self.T_max - w
        c = (1 + math.cos(math.pi * (epoch - w) / span)) / 2
        c_top = 1.0 if w > 0 else (1 + math.cos(math.pi / span)) / 2
        if p == 1:
            return c / c_top
        return (p ** (c + 1) - p) / (p ** (c_top + 1) - p)

    def _lr(self, t, base_lr):
        return self.eta_min + (base_lr - self.eta_min) * self.proportion(t)


# ------------------------------------------------------------------ refined schedule
def _median_smooth(values, smoothing):
    """The median filter of the official code: odd width 2·⌊⌊τ·T⌋/2⌋ + 1, the series first
    extended past its end by a mirror image (2·width values, no repeated edge), each window
    clipped to the ends (edge values repeat), then the extension dropped."""
    n = len(values)
    width = 2 * (int(smoothing * n) // 2) + 1
    if width == 1:
        return values.copy()
    pad = 2 * width
    extended = numpy.pad(values, (0, pad), mode="reflect")
    half = width // 2
    padded = numpy.concatenate([numpy.full(half, extended[0]), extended,
                                numpy.full(half, extended[-1])])
    windows = numpy.lib.stride_tricks.sliding_window_view(padded, width)
    return numpy.median(windows, axis=1)[:n]


def refine_schedule(grad_norms, smoothing=0.1, norm="l2"):
    """The refined schedule's multipliers (max 1) from a previous run's gradient norms, as a
    NumPy array of length T; ``RefinedLR`` applies them:

        s_t = w_t·Σ_{p > t} w_p / Σ_p w_p,   s ← s/max s
        w_t = ĝ_t⁻² (``"l2"``) or ĝ_t⁻¹ (``"l1"``)

    with ĝ the median-filtered norms (see ``RefinedLR``).

    Paper: Defazio, Cutkosky, Mehta & Mishchenko 2023, "When, Why and How Much? Adaptive
    Learning Rate Scheduling by Refinement".
    """
    g = numpy.asarray(grad_norms, dtype=numpy.float64).reshape(-1)
    if g.size < 2:
        raise ValueError(f"refine_schedule: needs the norms of at least 2 steps, got {g.size}")
    if not numpy.all(numpy.isfinite(g)) or numpy.any(g <= 0):
        raise ValueError("refine_schedule: gradient norms must be finite and > 0 (a zero norm "
                         "gives an infinite weight)")
    if norm not in ("l2", "l1"):
        raise ValueError(f"refine_schedule: norm must be 'l2' (SGD) or 'l1' (Adam), got {norm!r}")
    if smoothing < 0:
        raise ValueError(f"refine_schedule: smoothing must be ≥ 0, got {smoothing}")
    smoothed = _median_smooth(g, smoothing)
    # s is unchanged by a common scale of the norms: divide by the smallest so that every
    # weight lies in (0, 1] and none overflows
    weights = (smoothed / smoothed.min()) ** (-2.0 if norm == "l2" else -1.0)
    tail = numpy.cumsum(weights[::-1])[::-1]            # tail[t] = Σ_{p ≥ t} w_p
    sched = numpy.zeros_like(weights)
    sched[:-1] = weights[:-1] * tail[1:] / tail[0]
    return sched / sched.max()


class RefinedLR(LRScheduler):
    """Gradient-norm-refined schedule (Defazio, Cutkosky, Mehta & Mishchenko): from the
    gradient norms ‖g_t‖ logged by a first run of T steps, a schedule for the next run that
    has a warm-up and a fast final annealing of its own. Step it every iteration.

        ĝ_t = median filter of ‖g_t‖ (width τ·T, ``smoothing`` = τ)
        w_t = ĝ_t⁻²                 ``norm="l2"`` (SGD; the log holds ℓ2 gradient norms)
        w_t = ĝ_t⁻¹                 ``norm="l1"`` (Adam; the log holds ℓ1 gradient norms)
        s_t = w_t·Σ_{p = t+1}^{T−1} w_p / Σ_p w_p,       η_t = η_peak·s_t / max_u s_u

    η_peak is each group's initial lr. The last step gets s = 0 (empty sum) and so does every
    step past T. Constant norms give linear decay, η_t = η_peak·(T − 1 − t)/(T − 1), the
    paper's worst-case-optimal default (``PolynomialLR`` with power 1 and T − 1 steps).

    Paper: Defazio, Cutkosky, Mehta & Mishchenko 2023, "When, Why and How Much? Adaptive
    Learning Rate Scheduling by Refinement". The mapping is ``find_closed_form_schedule`` of
    facebookresearch/adaptive_scheduling ``find_schedule.py``; the median filter (odd width
    2·⌊⌊τT⌋/2⌋ + 1, mirror padding past the end), τ = 0.1, the ⁻¹ weights for ℓ1 norms and the
    max-normalization are its README and ``visual.py``. Fractional t interpolates linearly.
    """

    def __init__(self, optimizer, grad_norms, smoothing=0.1, norm="l2", last_epoch=-1):
        self.multipliers = [float(s) for s in refine_schedule(grad_norms, smoothing, norm)]
        self.smoothing, self.norm = smoothing, norm
        super().__init__(optimizer, last_epoch)

    def _lr(self, t, base_lr):
        if t >= len(self.multipliers) - 1:
            return 0.0
        i = int(math.floor(t))
        frac = t - i
        s = self.multipliers[i] * (1 - frac) + self.multipliers[i + 1] * frac
        return base_lr * s


# ------------------------------------------------------------------ sub-gradient method
def _array(x):
    return x.data if isinstance(x, Tensor) else x


def robust_sensing_subgradient(U, A, y):
    """ℓ1 loss of symmetric matrix sensing and one sub-gradient at U (d×r):

        f(U) = (1/m)·Σ_i |⟨A_i, UUᵀ⟩ − y_i|
        ∂f(U) ∋ (1/m)·Σ_i sign(⟨A_i, UUᵀ⟩ − y_i)·(A_i + A_iᵀ)·U      (sign(0) = 0)

    ``A``: (m, d, d) measurement matrices, ``y``: (m,). Returns (f, G) on U's backend."""
    U, A, y = _array(U), _array(A), _array(y)
    xp = backend_of_array(U).xp
    m = A.shape[0]
    residual = xp.einsum("ijk,jk->i", A, U @ U.T) - y
    s = xp.sign(residual)
    S = xp.einsum("i,ijk->jk", s, A)
    return xp.abs(residual).sum() / m, (S + S.T) @ U / m


def small_init(d, rank, alpha, B=None, generator=None, dtype="float64", backend=None):
    """U₀ = α·B: ``B`` as given (d × rank), or standard normal entries scaled to unit spectral
    norm (our choice of B: the method only needs a small α·B). ``generator``: a NumPy
    Generator (default: minigrad's)."""
    be = get_backend(backend) if backend is not None else current()
    if B is None:
        gen = generator if generator is not None else get_backend("numpy").generator()
        B = gen.standard_normal((d, rank))
        B = B / numpy.linalg.norm(B, 2)
    B = _array(B)
    if tuple(B.shape) != (d, rank):
        raise ValueError(f"small_init: B has shape {tuple(B.shape)}, expected {(d, rank)}")
    return Tensor._wrap(be.asarray(alpha * B).astype(dtype))


def subgradient_geometric_decay(A, y, U0, lr, decay, steps):
    """Sub-gradient method with geometrically decaying steps for over-parameterized robust
    matrix sensing (Ma & Fattahi's SubGM with small initialization, as their abstract and the
    catalog row state it; the paper's text past the abstract could not be read here, so the
    constants below are not taken from its theorems):

        U_{t+1} = U_t − η_t·G_t,     G_t ∈ ∂f(U_t)  (``robust_sensing_subgradient``)
        η_t = η₀·ρ^t                 (η₀ = ``lr``, ρ = ``decay``, 0 < ρ ≤ 1)
        f(U) = (1/m)·Σ_i |⟨A_i, UUᵀ⟩ − y_i|,   U₀ = α·B small (``small_init``)

    The search rank r' = U0.shape[1] may exceed the true rank: with a small α the iterates
    stay near the true low-rank solution (the paper's point). η₀ and ρ have no universal
    default (the theory sets them from the problem's Sign-RIP constants), so both are
    required. Equivalently: ``SGD(lr=η₀)`` + ``ExponentialLR(gamma=ρ)`` on f computed with
    autograd (abs has derivative sign(x), 0 at 0).

    Returns (U_T as a Tensor, [f(U_0), …, f(U_T)]).

    Paper: Ma & Fattahi 2022, "Global Convergence of Sub-gradient Method for Robust Matrix
    Recovery: Small Initialization, Noisy Measurements, and Over-parameterization".
    """
    A_, y_, U = _array(A), _array(y), _array(U0)
    if A_.ndim != 3 or A_.shape[1] != A_.shape[2] or U.ndim != 2 or U.shape[0] != A_.shape[1]:
        raise ValueError(f"subgradient_geometric_decay: A must be (m, d, d) and U0 (d, r), got "
                         f"{tuple(A_.shape)} and {tuple(U.shape)}")
    if not (backend_of_array(A_) is backend_of_array(U) is backend_of_array(y_)):
        raise ValueError("subgradient_geometric_decay: A, y and U0 must be on the same backend, "
                         f"got {backend_of_array(A_).name}, {backend_of_array(y_).name} and "
                         f"{backend_of_array(U).name}")
    if tuple(y_.shape) != (A_.shape[0],):
        raise ValueError(f"subgradient_geometric_decay: y must have shape ({A_.shape[0]},), got "
                         f"{tuple(y_.shape)}")
    if not lr > 0 or not 0 < decay <= 1 or int(steps) != steps or steps < 0:
        raise ValueError(f"subgradient_geometric_decay: need lr > 0, 0 < decay ≤ 1 and an integer "
                         f"steps ≥ 0, got lr={lr}, decay={decay}, steps={steps}")
    U = U.copy()
    losses = []
    for t in range(int(steps)):
        loss, G = robust_sensing_subgradient(U, A_, y_)
        losses.append(float(loss.item()))
        U = U - (lr * decay ** t) * G
    losses.append(float(robust_sensing_subgradient(U, A_, y_)[0].item()))
    return Tensor._wrap(U), losses


def _schedule(obj, name, catalog_id, papers):
    register(obj, name=name, kind="optimizer", check="state", catalog_id=catalog_id, papers=papers)


_schedule(CosinePowerAnnealingLR, "cosine_power_annealing", "O050",
          ["sharpDARTS: Faster and More Accurate Differentiable Architecture Search"])
_schedule(RefinedLR, "refined_lr_schedule", "O051",
          ["When, Why and How Much? Adaptive Learning Rate Scheduling by Refinement"])
_schedule(subgradient_geometric_decay, "subgradient_geometric_decay", "O054",
          ["Global Convergence of Sub-gradient Method for Robust Matrix Recovery: Small "
           "Initialization, Noisy Measurements, and Over-parameterization"])
