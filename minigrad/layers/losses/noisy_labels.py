"""Losses robust to noisy labels: generalized cross-entropy (GCE), the normalized losses
(NCE, NFL, NGCE), reverse cross-entropy (RCE/NRCE, and SCE = CE + RCE), MAE on softmax
probabilities (MAE/NMAE) and the Active-Passive combinations (APL) of Ma et al. 2020,
"Normalized Loss Functions for Deep Learning with Noisy Labels".

The formulas, clamps and defaults follow the official code, HanxunH/Active-Passive-Losses
``loss.py`` (where it departs from the paper's text, the docstring says so). Each loss is a
``Function`` with a hand-derived backward on the rows of the log-softmax a = log p:
a row loss ℓ(a, t) with G = ∂ℓ/∂a gives, through ∂a_k/∂z_j = δ_kj − p_j,

    ∂ℓ/∂z_j = G_j − p_j·Σ_k G_k                                        (the softmax chain)

(plus a direct term for losses that also read the raw logits z). Targets are class indices
(N,) or (N, d1, ...) — written as one-hot rows t — with ``ignore_index`` as PyTorch's
cross-entropy, or probabilities of the logits' shape where the paper's formula takes a
distribution q(k|x). The official code's clamp p ≥ 1e-7 is applied in log space,
ã = max(a, log 1e-7), so logits of ±1e4 give finite values and gradients; where a clamp is
active its gradient is 0, as in PyTorch's ``torch.clamp``.
"""
import math

from minigrad.autograd import Function
from minigrad.layers.losses._common import LossModule, check_reduction
from minigrad.layers.losses._softmax_rows import (finish as _finish, softmax_rows_backward,
                                                  softmax_rows_forward, softmax_targets)
from minigrad.layers.losses.classification import cross_entropy
from minigrad.registry import Case, register

__all__ = ["gce_loss", "normalized_ce_loss", "normalized_focal_loss", "normalized_gce_loss",
           "reverse_ce_loss", "mae_prob_loss", "active_passive_loss",
           "GCELoss", "NormalizedCELoss", "NormalizedFocalLoss", "NormalizedGCELoss",
           "ReverseCELoss", "MAEProbLoss", "ActivePassiveLoss"]

PAPER_APL = "Normalized Loss Functions for Deep Learning with Noisy Labels"
PAPER_MAO = "Cross-Entropy Loss Functions: Theoretical Analysis and Applications"
LOG_P_MIN = math.log(1e-7)      # the official clamp p ≥ 1e-7, in log space
RCE_TARGET_MIN = 1e-4           # the official clamp of the one-hot target before its log


def _clamped_log_p(xp, a):
    """ã = log max(p, 1e-7) and the mask of the entries the clamp leaves alone."""
    return xp.maximum(a, LOG_P_MIN), a > LOG_P_MIN


def _check_q(op, q):
    if not 0 < q <= 1:
        raise ValueError(f"{op}: q must be in (0, 1], got {q}")
    return float(q)


# ------------------------------------------------------------------ GCE
class GeneralizedCE(Function):
    """Generalized cross-entropy (Zhang & Sabuncu 2018, the L_q loss), as the APL code's
    ``GeneralizedCrossEntropy``: p clamped at 1e-7, u_k = p_k^q = exp(q·ã_k),

        ℓ = Σ_k t_k (1 − u_k)/q          (one-hot t: (1 − p_y^q)/q).

    Backward: ∂u_k/∂a_k = q·u_k where the clamp is inactive (0 where it is), so
        G_k = ∂ℓ/∂a_k = −t_k·u_k·1[p_k > 1e-7],
    and ∂ℓ/∂z = G − p·ΣG = −p_y^q·(onehot(y) − p) for one-hot targets: CE's gradient damped
    by p_y^q (the intended down-weighting of hard, possibly mislabelled samples)."""
    differentiable_backward = True

    @staticmethod
    def rows(xp, zr, a, t, q):
        at, live = _clamped_log_p(xp, a)
        u = xp.exp(q * at)
        loss = (t * (1 - u)).sum(axis=1) / q
        return loss, -xp.where(live, t * u, 0), None

    @staticmethod
    def forward(ctx, z, t, keep, q, reduction):
        return softmax_rows_forward(ctx, GeneralizedCE.rows, z, t, keep, (q,), reduction)

    @staticmethod
    def backward(ctx, gy):
        return softmax_rows_backward(ctx, GeneralizedCE.rows, gy)


def gce_loss(input, target, q=0.7, ignore_index=-100, reduction="mean"):
    """Generalized cross-entropy (the noisy-label L_q loss): ℓ = (1 − p_y^q)/q with
    p = softmax(z) clamped at 1e-7 (APL code), q = 0.7 (q → 0 gives CE, q = 1 gives 1 − p_y,
    MAE-like). Probability targets give Σ_k t_k (1 − p_k^q)/q (the expectation over y ~ t).
    Backward: see ``GeneralizedCE`` (help(minigrad.layers.losses.noisy_labels.GeneralizedCE)).
    Formula: HanxunH/Active-Passive-Losses loss.py (``GeneralizedCrossEntropy``); its
    τ = 2 − q member of the comp-sum family of Mao et al. 2023 is ``F.comp_sum_loss``.

    Paper: Zhang & Sabuncu 2018, "Generalized Cross Entropy Loss for Training Deep Neural
    Networks with Noisy Labels"; as used in Ma et al. 2020, "Normalized Loss Functions for
    Deep Learning with Noisy Labels", and Mao, Mohri & Zhong 2023, "Cross-Entropy Loss
    Functions: Theoretical Analysis and Applications".
    """
    op = "gce_loss"
    check_reduction(op, reduction)
    q = _check_q(op, q)
    input, t, keep, unbatched = softmax_targets(op, input, target, ignore_index)
    return _finish(GeneralizedCE.apply(input, t, keep, q, reduction), unbatched, reduction)


# ------------------------------------------------------------------ NCE
class NormalizedCE(Function):
    """Normalized cross-entropy (Ma et al. 2020, Eq. 3 with CE; APL code
    ``NormalizedCrossEntropy``, no clamp: a = log-softmax):

        ℓ = (−Σ_k t_k a_k)/(−Σ_j a_j) = N/S,   N = Σ_k t_k a_k,  S = Σ_j a_j  (< 0 for C ≥ 2).

    Backward (quotient rule, ∂N/∂a_k = t_k, ∂S/∂a_k = 1):
        G_k = t_k/S − N/S²."""
    differentiable_backward = True

    @staticmethod
    def rows(xp, zr, a, t):
        s = a.sum(axis=1)
        n = (t * a).sum(axis=1)
        return n / s, t / s[:, None] - (n / (s * s))[:, None], None

    @staticmethod
    def forward(ctx, z, t, keep, reduction):
        return softmax_rows_forward(ctx, NormalizedCE.rows, z, t, keep, (), reduction)

    @staticmethod
    def backward(ctx, gy):
        return softmax_rows_backward(ctx, NormalizedCE.rows, gy)


def normalized_ce_loss(input, target, ignore_index=-100, reduction="mean"):
    """Normalized cross-entropy NCE = (−log p_y)/(−Σ_k log p_k), p = softmax(z): the
    "active" term of APL, in [0, 1]. Probability targets q give the paper's
    (−Σ_k q_k log p_k)/(−Σ_j log p_j). Backward: see ``NormalizedCE``
    (help(minigrad.layers.losses.noisy_labels.NormalizedCE)). Formula: Eq. 3 of the paper
    and HanxunH/Active-Passive-Losses loss.py (``NormalizedCrossEntropy``, which uses
    log-softmax without the 1e-7 clamp the catalog mentions: followed here). The official
    ``scale`` is the α/β of ``F.active_passive_loss``.

    Paper: Ma, Huang, Wang, Romano, Erfani & Bailey 2020, "Normalized Loss Functions for
    Deep Learning with Noisy Labels".
    """
    op = "normalized_ce_loss"
    check_reduction(op, reduction)
    input, t, keep, unbatched = softmax_targets(op, input, target, ignore_index)
    return _finish(NormalizedCE.apply(input, t, keep, reduction), unbatched, reduction)


# ------------------------------------------------------------------ NFL
class NormalizedFocal(Function):
    """Normalized focal loss (Ma et al. 2020; APL code ``NormalizedFocalLoss``): with
    w_k = (1 − p_k)^γ (1 − p = −expm1(a)) and FL_k = −w_k·a_k ≥ 0,

        ℓ = N/D,   N = Σ_k t_k FL_k,   D = Σ_j FL_j.

    Exact backward (quotient rule), with FL'_k = ∂FL_k/∂a_k = γ(1 − p_k)^(γ−1)·p_k·a_k − w_k
    ((1 − p_k) clamped at the smallest normal float inside the γ − 1 power):
        G_k = (t_k/D − N/D²)·FL'_k.
    ``official_grad=True`` is the official code's gradient instead: it detaches the
    normalizer D and the weight (1 − p_t)^γ (``logpt.data``), so only log p_t carries a
    gradient: G_k = −t_k·w_k/D — a documented rule, not the derivative of ℓ."""
    differentiable_backward = True

    @staticmethod
    def rows(xp, zr, a, t, gamma, official):
        one_minus = -xp.expm1(a)
        w = one_minus ** gamma
        fl = -w * a
        d = fl.sum(axis=1)
        n = (t * fl).sum(axis=1)
        if official:
            return n / d, -t * w / d[:, None], None
        dfl = -w
        if gamma != 0:
            safe = xp.maximum(one_minus, xp.finfo(a.dtype).tiny)
            dfl = dfl + gamma * safe ** (gamma - 1) * xp.exp(a) * a
        return n / d, (t / d[:, None] - (n / (d * d))[:, None]) * dfl, None

    @staticmethod
    def forward(ctx, z, t, keep, gamma, official, reduction):
        return softmax_rows_forward(ctx, NormalizedFocal.rows, z, t, keep, (gamma, official),
                                    reduction)

    @staticmethod
    def backward(ctx, gy):
        return softmax_rows_backward(ctx, NormalizedFocal.rows, gy)


def normalized_focal_loss(input, target, gamma=0.5, official_grad=False, ignore_index=-100,
                          reduction="mean"):
    """Normalized focal loss NFL = FL_y/Σ_k FL_k, FL_k = −(1 − p_k)^γ log p_k, γ = 0.5 (the
    APL configs' value). Probability targets q give Σ_k q_k FL_k/Σ_j FL_j (the paper's
    normalized loss with a distribution q). Backward: see ``NormalizedFocal``
    (help(minigrad.layers.losses.noisy_labels.NormalizedFocal)): the exact quotient-rule
    gradient by default; ``official_grad=True`` reproduces the official code, which
    detaches the normalizer and the (1 − p_t)^γ factor. Formula: HanxunH/Active-Passive-Losses
    loss.py (``NormalizedFocalLoss``).

    Paper: Ma, Huang, Wang, Romano, Erfani & Bailey 2020, "Normalized Loss Functions for
    Deep Learning with Noisy Labels".
    """
    op = "normalized_focal_loss"
    check_reduction(op, reduction)
    if gamma < 0:
        raise ValueError(f"{op}: gamma must be >= 0, got {gamma}")
    input, t, keep, unbatched = softmax_targets(op, input, target, ignore_index)
    out = NormalizedFocal.apply(input, t, keep, float(gamma), bool(official_grad), reduction)
    return _finish(out, unbatched, reduction)


# ------------------------------------------------------------------ NGCE
class NormalizedGCE(Function):
    """Normalized generalized cross-entropy (Ma et al. 2020; APL code
    ``NormalizedGeneralizedCrossEntropy``): p clamped at 1e-7, u_k = p_k^q = exp(q·ã_k), K
    classes,

        ℓ = N/D,   N = Σ_k t_k (1 − u_k),   D = K − Σ_j u_j   (> 0: Σ_j p_j^q ≤ K^(1−q) < K).

    Backward: ∂ℓ/∂u_k = −t_k/D + N/D² and ∂u_k/∂a_k = q·u_k·1[p_k > 1e-7], so
        G_k = q·u_k·1[p_k > 1e-7]·(N/D² − t_k/D)."""
    differentiable_backward = True

    @staticmethod
    def rows(xp, zr, a, t, q):
        at, live = _clamped_log_p(xp, a)
        u = xp.exp(q * at)
        n = (t * (1 - u)).sum(axis=1)
        d = a.shape[1] - u.sum(axis=1)
        du = (n / (d * d))[:, None] - t / d[:, None]
        return n / d, xp.where(live, q * u * du, 0), None

    @staticmethod
    def forward(ctx, z, t, keep, q, reduction):
        return softmax_rows_forward(ctx, NormalizedGCE.rows, z, t, keep, (q,), reduction)

    @staticmethod
    def backward(ctx, gy):
        return softmax_rows_backward(ctx, NormalizedGCE.rows, gy)


def normalized_gce_loss(input, target, q=0.7, ignore_index=-100, reduction="mean"):
    """Normalized generalized cross-entropy NGCE = (1 − p_y^q)/(K − Σ_k p_k^q), p = softmax(z)
    clamped at 1e-7, q = 0.7 (the APL configs use q = 0.1 on CIFAR-10 and 0.7 on
    CIFAR-100). Probability targets q_k give Σ_k q_k (1 − p_k^q)/(K − Σ_j p_j^q).
    Backward: see ``NormalizedGCE`` (help(minigrad.layers.losses.noisy_labels.NormalizedGCE)).
    Formula: HanxunH/Active-Passive-Losses loss.py (``NormalizedGeneralizedCrossEntropy``).

    Paper: Ma, Huang, Wang, Romano, Erfani & Bailey 2020, "Normalized Loss Functions for
    Deep Learning with Noisy Labels".
    """
    op = "normalized_gce_loss"
    check_reduction(op, reduction)
    q = _check_q(op, q)
    input, t, keep, unbatched = softmax_targets(op, input, target, ignore_index)
    return _finish(NormalizedGCE.apply(input, t, keep, q, reduction), unbatched, reduction)


# ------------------------------------------------------------------ RCE / NRCE / SCE
class ReverseCE(Function):
    """Reverse cross-entropy (Wang et al. 2019; APL code ``ReverseCrossEntropy``): the
    prediction p (clamped at 1e-7, P_k = exp(ã_k)) and the target q̃ = max(t, 1e-4) swap
    roles,

        ℓ = −Σ_k P_k·log q̃_k    (one-hot: −A·Σ_{k≠y} P_k ≈ −A(1 − p_y), A = log 1e-4),

    times ``scale`` ((K − 1)/4 for NRCE). Backward: log q̃ is a constant and
    ∂P_k/∂a_k = P_k·1[p_k > 1e-7], so
        G_k = −scale·log q̃_k·P_k·1[p_k > 1e-7]   (one-hot: ∂ℓ/∂z = A·p_y(onehot(y) − p))."""
    differentiable_backward = True

    @staticmethod
    def rows(xp, zr, a, t, scale):
        at, live = _clamped_log_p(xp, a)
        big_p = xp.exp(at)
        log_q = xp.log(xp.maximum(t, RCE_TARGET_MIN))
        loss = -scale * (big_p * log_q).sum(axis=1)
        return loss, xp.where(live, -scale * log_q * big_p, 0), None

    @staticmethod
    def forward(ctx, z, t, keep, scale, reduction):
        return softmax_rows_forward(ctx, ReverseCE.rows, z, t, keep, (scale,), reduction)

    @staticmethod
    def backward(ctx, gy):
        return softmax_rows_backward(ctx, ReverseCE.rows, gy)


REVERSE_CE_VARIANTS = ("rce", "nrce", "sce")


def reverse_ce_loss(input, target, variant="rce", alpha=0.1, beta=1.0, ignore_index=-100,
                    reduction="mean"):
    """Reverse cross-entropy RCE = −Σ_k p_k log q̃_k, q̃ = clamp(onehot(y), 1e-4, 1), p =
    softmax(z) clamped at 1e-7 (so RCE ≈ −A(1 − p_y), A = log 1e-4 ≈ −9.21; the paper's text
    uses A = −4). ``variant``:

    - 'rce': RCE (Wang et al. 2019's "reverse" term, a "passive" loss of APL);
    - 'nrce': NRCE = RCE·(K − 1)/4 exactly as the official code computes it
      (``1 / 4 * (K − 1)``; the paper's normalization RCE/Σ_j RCE_j would be RCE/(4(K − 1)):
      the code is followed);
    - 'sce': symmetric cross-entropy α·CE + β·RCE, a composition of the registered rows
      ``cross_entropy`` and RCE (official ``SCELoss``; α = 0.1, β = 1 on CIFAR-10, α = 6,
      β = 0.1 on CIFAR-100 in the APL configs; ``alpha``/``beta`` are ignored otherwise).

    Probability targets t give the literal −Σ_k p_k log max(t_k, 1e-4). Backward: see
    ``ReverseCE`` (help(minigrad.layers.losses.noisy_labels.ReverseCE)). Formula:
    HanxunH/Active-Passive-Losses loss.py (``ReverseCrossEntropy``,
    ``NormalizedReverseCrossEntropy``, ``SCELoss``).

    Paper: Ma, Huang, Wang, Romano, Erfani & Bailey 2020, "Normalized Loss Functions for
    Deep Learning with Noisy Labels" (RCE/SCE: Wang et al. 2019, "Symmetric Cross Entropy
    for Robust Learning with Noisy Labels").
    """
    op = "reverse_ce_loss"
    check_reduction(op, reduction)
    if variant not in REVERSE_CE_VARIANTS:
        raise ValueError(f"{op}: variant must be one of {REVERSE_CE_VARIANTS}, got {variant!r}")
    logits, t, keep, unbatched = softmax_targets(op, input, target, ignore_index)
    scale = (logits.shape[1] - 1) / 4 if variant == "nrce" else 1.0
    rce = _finish(ReverseCE.apply(logits, t, keep, float(scale), reduction), unbatched, reduction)
    if variant != "sce":
        return rce
    ce = cross_entropy(input, target, ignore_index=ignore_index, reduction=reduction)
    return alpha * ce + beta * rce


# ------------------------------------------------------------------ MAE / NMAE
class MAEProb(Function):
    """MAE between the softmax probabilities and the target (Ghosh et al. 2017; APL code
    ``MeanAbsoluteError``), in the code's "reduced" convention:

        ℓ = scale·½·Σ_k abs(p_k − t_k)    (one-hot: scale·(1 − p_y); the paper's Σ abs(·) = 2(1 − p_y)),

    with scale = 1/(2(K − 1)) for NMAE (the code's normalizer). Backward:
    ∂ℓ/∂p_k = ½·scale·sign(p_k − t_k) and ∂p_k/∂a_k = p_k, so
        G_k = ½·scale·sign(p_k − t_k)·p_k   (one-hot: ∂ℓ/∂z = −scale·p_y(onehot(y) − p))."""
    differentiable_backward = True

    @staticmethod
    def rows(xp, zr, a, t, scale):
        p = xp.exp(a)
        loss = 0.5 * scale * xp.abs(p - t).sum(axis=1)
        return loss, 0.5 * scale * xp.sign(p - t) * p, None

    @staticmethod
    def forward(ctx, z, t, keep, scale, reduction):
        return softmax_rows_forward(ctx, MAEProb.rows, z, t, keep, (scale,), reduction)

    @staticmethod
    def backward(ctx, gy):
        return softmax_rows_backward(ctx, MAEProb.rows, gy)


def mae_prob_loss(input, target, normalized=False, ignore_index=-100, reduction="mean"):
    """MAE on softmax probabilities: MAE = ½Σ_k abs(p_k − q_k) = 1 − p_y for a class index y
    (the APL code's "reduced" MAE; the paper's Σ abs(·) is twice this), p = softmax(z)
    without clamp. ``normalized=True`` gives NMAE = MAE/(2(K − 1)) as the official code
    computes it (the code's 1/(2(K − 1)) applied to the reduced MAE). Probability targets
    give ½Σ_k abs(p_k − t_k). A "passive" term of APL. Backward: see ``MAEProb``
    (help(minigrad.layers.losses.noisy_labels.MAEProb)). Formula:
    HanxunH/Active-Passive-Losses loss.py (``MeanAbsoluteError``,
    ``NormalizedMeanAbsoluteError``).

    Paper: Ma, Huang, Wang, Romano, Erfani & Bailey 2020, "Normalized Loss Functions for
    Deep Learning with Noisy Labels" (MAE for noisy labels: Ghosh, Kumar & Sastry 2017).
    """
    op = "mae_prob_loss"
    check_reduction(op, reduction)
    input, t, keep, unbatched = softmax_targets(op, input, target, ignore_index)
    scale = 1.0 / (2 * (input.shape[1] - 1)) if normalized else 1.0
    return _finish(MAEProb.apply(input, t, keep, float(scale), reduction), unbatched, reduction)


# ------------------------------------------------------------------ APL
ACTIVE = ("nce", "nfl", "ngce", "mae")
PASSIVE = ("rce", "mae")


def active_passive_loss(input, target, active="nce", passive="rce", alpha=1.0, beta=1.0,
                        gamma=0.5, q=0.7, ignore_index=-100, reduction="mean"):
    """Active-Passive Loss APL = α·Active + β·Passive (Ma et al. 2020, Eq. 6): a plain
    composition of the registered rows above, as the official ``NCEandRCE``, ``NCEandMAE``,
    ``NFLandRCE``, ``NFLandMAE``, ``NGCEandRCE``, ``NGCEandMAE`` and ``MAEandRCE``:
    ``active`` ∈ {'nce', 'nfl' (γ = ``gamma``), 'ngce' (``q``), 'mae'}, ``passive`` ∈
    {'rce', 'mae'} (RCE and the reduced MAE, unnormalized, as the code uses them); class
    indices or probability targets, as the components take them.
    Defaults (APL configs, NCE+RCE): CIFAR-10 α = 1, β = 1; CIFAR-100 α = 10, β = 0.1
    (NCE+MAE / NFL+MAE / NGCE+MAE on CIFAR-100: α = 10, β = 1; NGCE uses q = 0.1 on CIFAR-10).
    The gradient is the sum of the components' (``NormalizedCE``, ``NormalizedFocal``,
    ``NormalizedGCE``, ``MAEProb``, ``ReverseCE``).

    APL = α·L_active(z, y) + β·L_passive(z, y)
    Paper: Ma, Huang, Wang, Romano, Erfani & Bailey 2020, "Normalized Loss Functions for
    Deep Learning with Noisy Labels".
    """
    op = "active_passive_loss"
    check_reduction(op, reduction)
    if active not in ACTIVE or passive not in PASSIVE or active == passive:
        raise ValueError(f"{op}: active must be one of {ACTIVE} and passive one of {PASSIVE} "
                         f"(different), got active={active!r}, passive={passive!r}")
    softmax_targets(op, input, target, ignore_index)      # bad inputs: errors name APL
    kw = dict(ignore_index=ignore_index, reduction=reduction)
    first = {"nce": lambda: normalized_ce_loss(input, target, **kw),
             "nfl": lambda: normalized_focal_loss(input, target, gamma=gamma, **kw),
             "ngce": lambda: normalized_gce_loss(input, target, q=q, **kw),
             "mae": lambda: mae_prob_loss(input, target, **kw)}[active]()
    second = (reverse_ce_loss(input, target, **kw) if passive == "rce"
              else mae_prob_loss(input, target, **kw))
    return alpha * first + beta * second


# ------------------------------------------------------------------ Modules
class GCELoss(LossModule):
    """Generalized cross-entropy Module (q = 0.7): ℓ = (1 − p_y^q)/q; see ``F.gce_loss``.
    Paper: Zhang & Sabuncu 2018, "Generalized Cross Entropy Loss for Training Deep Neural
    Networks with Noisy Labels"."""

    def __init__(self, q=0.7, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.q, self.ignore_index = q, ignore_index

    def forward(self, input, target):
        return gce_loss(input, target, self.q, self.ignore_index, self.reduction)


class NormalizedCELoss(LossModule):
    """NCE Module: (−log p_y)/(−Σ_k log p_k); see ``F.normalized_ce_loss``.
    Paper: Ma et al. 2020, "Normalized Loss Functions for Deep Learning with Noisy Labels"."""

    def __init__(self, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return normalized_ce_loss(input, target, self.ignore_index, self.reduction)


class NormalizedFocalLoss(LossModule):
    """NFL Module (γ = 0.5): FL_y/Σ_k FL_k; see ``F.normalized_focal_loss``.
    Paper: Ma et al. 2020, "Normalized Loss Functions for Deep Learning with Noisy Labels"."""

    def __init__(self, gamma=0.5, official_grad=False, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.gamma, self.official_grad, self.ignore_index = gamma, official_grad, ignore_index

    def forward(self, input, target):
        return normalized_focal_loss(input, target, self.gamma, self.official_grad,
                                     self.ignore_index, self.reduction)


class NormalizedGCELoss(LossModule):
    """NGCE Module (q = 0.7): (1 − p_y^q)/(K − Σ_k p_k^q); see ``F.normalized_gce_loss``.
    Paper: Ma et al. 2020, "Normalized Loss Functions for Deep Learning with Noisy Labels"."""

    def __init__(self, q=0.7, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.q, self.ignore_index = q, ignore_index

    def forward(self, input, target):
        return normalized_gce_loss(input, target, self.q, self.ignore_index, self.reduction)


class ReverseCELoss(LossModule):
    """RCE / NRCE / SCE Module: RCE = −Σ_k p_k log max(q_k, 1e-4); see ``F.reverse_ce_loss``.
    Paper: Ma et al. 2020, "Normalized Loss Functions for Deep Learning with Noisy Labels"."""

    def __init__(self, variant="rce", alpha=0.1, beta=1.0, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        if variant not in REVERSE_CE_VARIANTS:
            raise ValueError(f"ReverseCELoss: variant must be one of {REVERSE_CE_VARIANTS}, "
                             f"got {variant!r}")
        self.variant, self.alpha, self.beta, self.ignore_index = variant, alpha, beta, ignore_index

    def forward(self, input, target):
        return reverse_ce_loss(input, target, self.variant, self.alpha, self.beta,
                               self.ignore_index, self.reduction)


class MAEProbLoss(LossModule):
    """MAE / NMAE on softmax probabilities Module: MAE = 1 − p_y (NMAE = MAE/(2(K − 1))); see
    ``F.mae_prob_loss``. Paper: Ma et al. 2020, "Normalized Loss Functions for Deep
    Learning with Noisy Labels"."""

    def __init__(self, normalized=False, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.normalized, self.ignore_index = normalized, ignore_index

    def forward(self, input, target):
        return mae_prob_loss(input, target, self.normalized, self.ignore_index, self.reduction)


class ActivePassiveLoss(LossModule):
    """APL Module: α·Active + β·Passive (default NCE + RCE, α = β = 1: the CIFAR-10 config);
    see ``F.active_passive_loss``. Paper: Ma et al. 2020, "Normalized Loss Functions for
    Deep Learning with Noisy Labels"."""

    def __init__(self, active="nce", passive="rce", alpha=1.0, beta=1.0, gamma=0.5, q=0.7,
                 ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        if active not in ACTIVE or passive not in PASSIVE or active == passive:
            raise ValueError(f"ActivePassiveLoss: active must be one of {ACTIVE} and passive one "
                             f"of {PASSIVE}, got {active!r}, {passive!r}")
        self.active, self.passive, self.alpha, self.beta = active, passive, alpha, beta
        self.gamma, self.q, self.ignore_index = gamma, q, ignore_index

    def forward(self, input, target):
        return active_passive_loss(input, target, self.active, self.passive, self.alpha,
                                   self.beta, self.gamma, self.q, self.ignore_index,
                                   self.reduction)


# ------------------------------------------------------------------ registration
def _nfl_official_rule(arrays, kwargs, gy):
    """The official NFL gradient (normalizer and (1 − p_t)^γ detached), written in NumPy
    from the official code's autograd graph: only log p_y carries a gradient, with weight
    −(1 − p_y)^γ/D, and ∂log p_y/∂z = onehot(y) − p."""
    import numpy as np
    z, y = arrays[0], arrays[1]
    gamma = kwargs.get("gamma", 0.5)
    reduction = kwargs.get("reduction", "mean")
    shift = z - z.max(axis=1, keepdims=True)
    logp = shift - np.log(np.exp(shift).sum(axis=1, keepdims=True))
    p = np.exp(logp)
    d = (-(1 - p) ** gamma * logp).sum(axis=1)
    rows = np.arange(z.shape[0])
    w = -(1 - p[rows, y]) ** gamma / d
    g = np.broadcast_to(gy, (z.shape[0],)).astype(float)
    g = g / z.shape[0] if reduction == "mean" else g
    onehot = np.zeros_like(z)
    onehot[rows, y] = 1
    return [(g * w)[:, None] * (onehot - p)]


def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731

    def soft(r, *s):
        e = r.random(s) + 0.1
        return e / e.sum(axis=1, keepdims=True)

    def index_cases(r, **kw):
        return [Case(n(r, 5, 4), r.integers(0, 4, 5), **kw),
                Case(n(r, 2, 3, 2), r.integers(0, 3, (2, 2)), reduction="none", **kw),
                Case(n(r, 4, 3), r.integers(0, 3, 4), reduction="sum", **kw)]

    def with_soft(r, **kw):
        return index_cases(r, **kw) + [Case(n(r, 3, 4), soft(r, 3, 4), wrt=(0,), **kw)]

    register(gce_loss, kind="loss", catalog_id="L064", module=GCELoss,
             papers=[PAPER_MAO, PAPER_APL],
             inputs=lambda r: with_soft(r) + [Case(n(r, 4, 5), r.integers(0, 5, 4), q=0.3)])
    register(normalized_ce_loss, kind="loss", catalog_id="L065", module=NormalizedCELoss,
             papers=[PAPER_APL], inputs=lambda r: with_soft(r))

    def nfl_cases(r):
        z, y = n(r, 5, 4), r.integers(0, 4, 5)
        return (with_soft(r) + [Case(n(r, 4, 3), r.integers(0, 3, 4), gamma=2.0)]
                + [Case(z, y, official_grad=True, custom=True),
                   Case(z, y, gamma=1.0, official_grad=True, reduction="sum", custom=True)])

    register(normalized_focal_loss, kind="loss", catalog_id="L066", module=NormalizedFocalLoss,
             papers=[PAPER_APL], check="fd+custom", backward_rule=_nfl_official_rule,
             inputs=nfl_cases)
    register(normalized_gce_loss, kind="loss", catalog_id="L067", module=NormalizedGCELoss,
             papers=[PAPER_APL],
             inputs=lambda r: with_soft(r) + [Case(n(r, 4, 5), r.integers(0, 5, 4), q=0.1)])
    register(reverse_ce_loss, kind="loss", catalog_id="L068", module=ReverseCELoss,
             papers=[PAPER_APL],
             inputs=lambda r: with_soft(r) + [
                 Case(n(r, 4, 5), r.integers(0, 5, 4), variant="nrce"),
                 Case(n(r, 4, 5), r.integers(0, 5, 4), variant="sce", alpha=0.1, beta=1.0)])

    def mae_cases(r):
        return with_soft(r) + [Case(n(r, 4, 5), r.integers(0, 5, 4), normalized=True)]

    register(mae_prob_loss, kind="loss", catalog_id="L069", module=MAEProbLoss,
             papers=[PAPER_APL], inputs=mae_cases)

    def apl_cases(r):
        return [Case(n(r, 5, 4), r.integers(0, 4, 5)),
                Case(n(r, 4, 5), r.integers(0, 5, 4), active="nfl", passive="mae",
                     alpha=10.0, beta=1.0),
                Case(n(r, 4, 5), r.integers(0, 5, 4), active="ngce", passive="rce", q=0.1,
                     reduction="sum"),
                Case(n(r, 4, 5), r.integers(0, 5, 4), active="mae", passive="rce",
                     reduction="none")]

    register(active_passive_loss, kind="loss", catalog_id="L070", module=ActivePassiveLoss,
             papers=[PAPER_APL], inputs=apl_cases)


_register_all()
