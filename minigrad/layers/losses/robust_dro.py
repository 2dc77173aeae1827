"""Distributionally robust and ensemble classification losses: the label-distributionally
robust LDR-KL loss and its adaptive, per-instance version ALDR-KL (Zhu, Ying & Yang 2023),
and EnsLoss (Dai & Yang 2024), which draws a new calibrated loss *derivative* for every
minibatch. LDR-KL and ALDR-KL are ``Function``s on the row machinery of
``_softmax_rows`` (a row loss of the raw logits with its hand-derived gradient G_z);
EnsLoss is a ``Function`` whose backward is the drawn derivative (check "custom")."""
import math

from minigrad.autograd import Function
from minigrad.layers.losses._common import (LossModule, check_reduction, check_same_shape, const,
                                            reduce_array, reduction_grad, xp_of)
from minigrad.layers.losses._softmax_rows import (finish as _finish, softmax_rows_backward,
                                                  softmax_rows_forward, softmax_targets)
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["ldr_kl_loss", "aldr_kl_loss", "ensloss", "LDRKLLoss", "ALDRKLLoss", "EnsLoss"]

PAPER_LDR = ("Label Distributionally Robust Losses for Multi-class Classification: Consistency, "
             "Robustness and Adaptivity")
PAPER_ENS = ("EnsLoss: Stochastic Calibrated Loss Ensembles for Preventing Overfitting in "
             "Classification")
LOGIT_NORMS = (None, "l1", "softplus")
_NORM_EPS = 1e-12


# ------------------------------------------------------------------ logit normalisation
def _normalize_rows(xp, z, mode):
    """The official code's prediction normalisation, u = v/n with n = (1/C)·Σ_j |v_j| (the
    row's mean absolute value, floored at 1e-12) and v = z (``"l1"``) or v = softplus(z)
    (``"softplus"``); ``None`` leaves u = z. Returns (u, n, v, dv/dz or None)."""
    if mode is None:
        return z, None, None, None
    if mode == "softplus":
        sp = xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))
        v, dv = sp, xp.exp(z - sp)                          # dv/dz = sigmoid(z)
    else:
        v, dv = z, xp.sign(z)                               # d|z|/dz = sign(z)
    c = z.shape[1]
    n = xp.maximum(xp.abs(v).sum(axis=1, keepdims=True) / c, _NORM_EPS)
    return v / n, n, v, dv


def _normalize_backward(xp, g, u, n, dv, mode):
    """∂L/∂z from G = ∂L/∂u for u = v/n, n = Σ|v|/C:
    ∂u_k/∂v_j = δ_kj/n − u_k·sign(v_j)/(C·n), so ∂L/∂v_j = (G_j − sign(v_j)·Σ_k G_k u_k/C)/n,
    then ∂v/∂z = sigmoid(z) (softplus, v > 0 so sign(v) = 1) or 1 (l1, sign(v) = sign(z))."""
    if mode is None:
        return g
    c = u.shape[1]
    gu = (g * u).sum(axis=1, keepdims=True) / c
    if mode == "softplus":
        return (g - gu) / n * dv
    return (g - dv * gu) / n


# ------------------------------------------------------------------ LDR-KL
def _ldr_rows(xp, zr, t, margin, lambd, mode):
    """Per row: (loss (M,), ∂loss/∂z (M, C)). ``lambd`` is a float or a (M, 1) column."""
    u, n, _, dv = _normalize_rows(xp, zr, mode)
    uy = (t * u).sum(axis=1, keepdims=True)
    s = (margin * (1 - t) + u - uy) / lambd
    m = s.max(axis=1, keepdims=True)
    e = xp.exp(s - m)
    total = e.sum(axis=1, keepdims=True)
    c = zr.shape[1]
    loss = (lambd * (m + xp.log(total) - math.log(c))).sum(axis=1)
    w = e / total
    g = w - t * w.sum(axis=1, keepdims=True)                 # = w − onehot(y): Σ_k w_k = 1
    return loss, _normalize_backward(xp, g, u, n, dv, mode)


class LDRKL(Function):
    """LDR-KL loss (Zhu, Ying & Yang 2023; its definition and closed form, as computed by
    Optimization-AI/ICML2023_LDR loss.py ``LDRLoss_V1``): for a row of C
    (normalised) scores u with class y, margin c and temperature λ,

        ℓ = max_{p ∈ Δ_C} Σ_k p_k (c·1[k≠y] + u_k − u_y) − λ·KL(p ‖ 1/C)
          = λ·log((1/C)·Σ_k exp((c·1[k≠y] + u_k − u_y)/λ)).

    Backward (Danskin / the log-sum-exp derivative): with w = softmax_k((c·1[k≠y] + u_k − u_y)/λ),
        ∂ℓ/∂u_k = w_k − 1[k = y]·Σ_j w_j = w_k − 1[k = y],
    the inner maximiser p* = w minus the target. Through the official code's normalisation
    u = v/n (``_normalize_backward``). Stable: the row max of the scaled margins is
    subtracted before exp, so logits of ±1e4 give finite values and gradients."""
    differentiable_backward = True

    @staticmethod
    def rows(xp, zr, a_unused, t, margin, lambd, mode):
        loss, gz = _ldr_rows(xp, zr, t, margin, lambd, mode)
        return loss, None, gz

    @staticmethod
    def forward(ctx, z, t, keep, margin, lambd, mode, reduction):
        return softmax_rows_forward(ctx, LDRKL.rows, z, t, keep, (margin, lambd, mode), reduction)

    @staticmethod
    def backward(ctx, gy):
        return softmax_rows_backward(ctx, LDRKL.rows, gy)


def _check_norm(op, logit_norm):
    if logit_norm not in LOGIT_NORMS:
        raise ValueError(f"{op}: logit_norm must be one of {LOGIT_NORMS}, got {logit_norm!r}")


def ldr_kl_loss(input, target, margin=0.1, lambd=10.0, logit_norm="softplus", ignore_index=-100,
                reduction="mean"):
    """LDR-KL loss: ℓ = λ·log((1/C)·Σ_k exp((c·1[k≠y] + u_k − u_y)/λ)), the closed form of
    max_p Σ_k p_k(c·1[k≠y] + u_k − u_y) − λ·KL(p ‖ uniform) (the paper's LDR-KL loss; the
    closed form is what Optimization-AI/ICML2023_LDR loss.py computes). λ → 0 gives the Crammer–Singer hinge max(0, max_{k≠y}(c + u_k − u_y)); λ → ∞
    the average (Weston–Watkins-like) margin; c = 0, λ = 1 and ``logit_norm=None`` give
    CE − log C.

    ``logit_norm`` is the official code's prediction normalisation (Optimization-AI/
    ICML2023_LDR, loss.py ``LDRLoss_V1``): ``"softplus"`` (default, as ``LDRLoss_V1``)
    u = softplus(z)/mean(softplus(z)); ``"l1"`` u = z/mean|z| (``ALDRLoss_V1``); ``None``
    the paper's formula on the raw logits u = z. The mean is floored at 1e-12 (the official
    code divides by it unguarded; an all-zero row under ``"l1"`` is a point where the
    normalisation is undefined, and gives huge but finite gradients). Defaults c = 0.1
    (``--margin``) and λ = 10 (the parameter set of experiment.py). Class-index targets
    (N,) or (N, d1, ...) with ``ignore_index``, or probability targets of the logits' shape
    (the margin is then c·(1 − t_k) and u_y = Σ_k t_k u_k). Backward: see ``LDRKL``
    (help(minigrad.layers.losses.robust_dro.LDRKL)).

    Paper: Zhu, Ying & Yang 2023, "Label Distributionally Robust Losses for Multi-class
    Classification: Consistency, Robustness and Adaptivity".
    """
    op = "ldr_kl_loss"
    check_reduction(op, reduction)
    _check_norm(op, logit_norm)
    if not lambd > 0:
        raise ValueError(f"{op}: lambd must be > 0, got {lambd}")
    input, t, keep, unbatched = softmax_targets(op, input, target, ignore_index)
    out = LDRKL.apply(input, t, keep, float(margin), float(lambd), logit_norm, reduction)
    return _finish(out, unbatched, reduction)


class LDRKLLoss(LossModule):
    """LDR-KL loss Module: ℓ = λ·log((1/C)Σ_k exp((c·1[k≠y] + u_k − u_y)/λ)); see
    ``F.ldr_kl_loss``.
    Paper: Zhu, Ying & Yang 2023, "Label Distributionally Robust Losses for Multi-class
    Classification: Consistency, Robustness and Adaptivity"."""

    def __init__(self, margin=0.1, lambd=10.0, logit_norm="softplus", ignore_index=-100,
                 reduction="mean"):
        super().__init__(reduction)
        _check_norm(type(self).__name__, logit_norm)
        self.margin, self.lambd, self.logit_norm = margin, lambd, logit_norm
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return ldr_kl_loss(input, target, self.margin, self.lambd, self.logit_norm,
                           self.ignore_index, self.reduction)


# ------------------------------------------------------------------ ALDR-KL
class ALDRKL(Function):
    """ALDR-KL loss (Zhu, Ying & Yang 2023; Optimization-AI/ICML2023_LDR loss.py
    ``ALDRLoss_V1``): per sample i with its own temperature λ_i (held fixed: the code
    detaches it),

        ℓ_i = λ_i·log((1/C)Σ_k exp((c·1[k≠y] + u_k − u_y)/λ_i)) − (α·log C/(2λ₀))·(λ_i − λ₀)².

    The second term is the regulariser of the max over λ; with λ_i constant it is a
    constant, so the backward is LDR-KL's with λ_i per row: ∂ℓ_i/∂u_k = w_ik − 1[k = y_i],
    w_i = softmax_k((c·1[k≠y] + u_k − u_y)/λ_i)."""
    differentiable_backward = True

    @staticmethod
    def rows(xp, zr, a_unused, t, margin, lambdas, lambda_ref, alpha, mode):
        lam = lambdas.reshape(-1, 1)
        loss, gz = _ldr_rows(xp, zr, t, margin, lam, mode)
        c = zr.shape[1]
        reg = (alpha * math.log(c) / (2 * lambda_ref)) * (lambdas - lambda_ref) ** 2
        return loss - reg, None, gz

    @staticmethod
    def forward(ctx, z, t, keep, margin, lambdas, lambda_ref, alpha, mode, reduction):
        return softmax_rows_forward(ctx, ALDRKL.rows, z, t, keep,
                                    (margin, lambdas, lambda_ref, alpha, mode), reduction)

    @staticmethod
    def backward(ctx, gy):
        return softmax_rows_backward(ctx, ALDRKL.rows, gy)


def aldr_kl_loss(input, target, lambdas, lambda_ref=10.0, alpha=2.0, margin=0.1,
                 logit_norm="l1", ignore_index=-100, reduction="mean"):
    """ALDR-KL loss: ℓ_i = λ_i·log((1/C)Σ_k exp((c·1[k≠y_i] + u_ik − u_iy)/λ_i))
    − (α·log C/(2λ₀))·(λ_i − λ₀)², the adaptive LDR-KL loss with one temperature λ_i per
    training instance (the paper's adaptive LDR-KL: max over λ of the LDR-KL loss with a
    regulariser pulling λ toward λ₀; the form here is the official code's).

    ``lambdas`` (one value per row, held constant) are the instances' current temperatures;
    ``ALDRKLLoss`` keeps them in a buffer indexed by sample id and updates them each step
    as the official code does (``ALDRLoss_V1``: λ_i ← λ₀ − λ₀·KL(p_i ‖ 1/C)/(α·log C), with
    p_i = softmax(u_i/λ_i) + 1e-5 renormalised, computed without gradient before the loss).
    α > 1 keeps every λ_i > 0 (KL ≤ log C). Defaults from the official experiment script:
    λ₀ = 10, α = 2, c = 0.1, and ``logit_norm="l1"`` (u = z/mean|z|, ``ALDRLoss_V1``
    without softplus; ``"softplus"`` is its CIFAR-100 setting; ``None`` the raw logits).
    Targets as ``F.ldr_kl_loss``. Backward: see ``ALDRKL``
    (help(minigrad.layers.losses.robust_dro.ALDRKL)).

    Paper: Zhu, Ying & Yang 2023, "Label Distributionally Robust Losses for Multi-class
    Classification: Consistency, Robustness and Adaptivity".
    """
    op = "aldr_kl_loss"
    check_reduction(op, reduction)
    _check_norm(op, logit_norm)
    if not lambda_ref > 0:
        raise ValueError(f"{op}: lambda_ref must be > 0, got {lambda_ref}")
    input, t, keep, unbatched = softmax_targets(op, input, target, ignore_index)
    lam = const(lambdas, input, input.dtype).data.reshape(-1)
    if lam.shape[0] != t.shape[0]:
        raise ValueError(f"{op}: lambdas of shape {tuple(const(lambdas, input).shape)} must give "
                         f"one temperature per row: {t.shape[0]} for logits of shape "
                         f"{tuple(input.shape)}")
    if lam.size and not bool((lam > 0).all()):
        raise ValueError(f"{op}: every lambda must be > 0, got min {float(lam.min())}")
    out = ALDRKL.apply(input, t, keep, float(margin), lam, float(lambda_ref), float(alpha),
                       logit_norm, reduction)
    return _finish(out, unbatched, reduction)


class ALDRKLLoss(LossModule):
    """ALDR-KL loss Module with the per-instance temperatures as a buffer:
    ``ALDRKLLoss(num_samples, lambda_ref=10.0, alpha=2.0, margin=0.1, logit_norm="l1")``,
    called as ``loss(input, target, index)`` with ``index`` the samples' ids in the
    training set. Each call first updates λ[index] ← λ₀ − λ₀·KL(p ‖ 1/C)/(α·log C) with
    p = softmax(u/λ[index]) + 1e-5 renormalised (no gradient; the official update), then
    returns ``F.aldr_kl_loss`` with the new λ.
    Paper: Zhu, Ying & Yang 2023, "Label Distributionally Robust Losses for Multi-class
    Classification: Consistency, Robustness and Adaptivity"."""

    def __init__(self, num_samples, lambda_ref=10.0, alpha=2.0, margin=0.1, logit_norm="l1",
                 ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        _check_norm(type(self).__name__, logit_norm)
        if not alpha > 1:
            raise ValueError(f"ALDRKLLoss: alpha must be > 1 (keeps every lambda > 0), got {alpha}")
        self.num_samples, self.lambda_ref, self.alpha = num_samples, lambda_ref, alpha
        self.margin, self.logit_norm, self.ignore_index = margin, logit_norm, ignore_index
        from minigrad.backends import current
        self.register_buffer("lambdas", Tensor._wrap(
            current().xp.full((num_samples,), float(lambda_ref), dtype="float32")))

    def update_lambdas(self, input, index):
        """The official λ step for the rows ``index`` (returns the new values, also stored)."""
        z = input.data if isinstance(input, Tensor) else input
        xp = xp_of(self.lambdas)
        z = xp.asarray(z)
        if z.ndim != 2:
            raise ValueError(f"ALDRKLLoss: logits must be (N, C), got shape {tuple(z.shape)}")
        idx = xp.asarray(index.data if isinstance(index, Tensor) else index).reshape(-1)
        c = z.shape[1]
        u = _normalize_rows(xp, z.astype("float64"), self.logit_norm)[0]
        s = u / self.lambdas.data[idx].astype("float64")[:, None]
        e = xp.exp(s - s.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True) + 1e-5
        p = p / p.sum(axis=1, keepdims=True)
        kl = (p * xp.log(c * p)).sum(axis=1)
        new = self.lambda_ref - self.lambda_ref * kl / (self.alpha * math.log(c))
        self.lambdas.data[idx] = new.astype(self.lambdas.data.dtype)
        return new

    def forward(self, input, target, index):
        new = self.update_lambdas(input, index)
        return aldr_kl_loss(input, target, new, self.lambda_ref, self.alpha, self.margin,
                            self.logit_norm, self.ignore_index, self.reduction)


# ------------------------------------------------------------------ EnsLoss
def ensloss_derivatives(xp, margins, noise, lam=0.0):
    """The drawn loss derivative φ'(t_i) at each margin t_i = y_i·f_i (statmlben/ensLoss,
    losses.py ``ensLoss.forward``): from standard normal draws ε, the values
    −BoxCox⁻¹_λ(ε) (−exp(ε) for λ = 0, −max(1 + λε, 0)^(1/λ) otherwise), sorted ascending
    and floored at −1, are given to the margins in ascending order (the smallest margin
    gets the most negative derivative: φ' non-decreasing, i.e. φ convex); margins t > 1
    have theirs divided by t (superlinear tail); finally −1e-6 (φ' < 0, hence
    calibrated)."""
    if lam == 0:
        draws = -xp.exp(noise)
    else:
        draws = -xp.maximum(1.0 + lam * noise, 0.0) ** (1.0 / lam)
    draws = xp.maximum(xp.sort(draws), -1.0)
    g = xp.empty_like(draws)
    g[xp.argsort(margins, kind="stable")] = draws
    g = xp.where(margins > 1.0, g / xp.maximum(margins, 1.0), g)
    return g - 1e-6


class EnsLossFn(Function):
    """EnsLoss (Dai & Yang 2024; statmlben/ensLoss losses.py ``ensLoss``):
    binary scores f with labels y ∈ {−1, +1}, margins t = y·f. A random calibrated loss
    derivative φ' is drawn for the batch (``ensloss_derivatives``) and the reported value is
    the repository's ℓ_i = φ'(t_i)·t_i with φ'(t_i) detached.

    Backward (the documented rule, not the derivative of the reported value: φ' depends on
    the ranks of t and on 1/t for t > 1): ∂L/∂f_i = φ'(t_i)·y_i (times the reduction's
    weight), the "doubly stochastic" gradient. No second-order rule (a drawn derivative has
    no derivative of its own)."""

    @staticmethod
    def forward(ctx, f, y, noise, lam, reduction):
        xp = ctx.xp
        t = (f * y).reshape(-1)
        g = ensloss_derivatives(xp, t, noise.reshape(-1).astype(f.dtype), lam)
        ctx.g, ctx.y, ctx.shape, ctx.reduction = g.reshape(f.shape), y, f.shape, reduction
        return reduce_array(xp, (g * t).reshape(f.shape), reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        return reduction_grad(xp, gy, ctx.shape, ctx.reduction) * ctx.g * ctx.y


def ensloss(input, target, noise=None, lam=0.0, generator=None, reduction="mean"):
    """EnsLoss: ℓ_i = φ'(t_i)·t_i with t_i = y_i·f_i and φ' a random calibrated loss
    derivative drawn for this batch; backward ∂L/∂f_i = φ'(t_i)·y_i (a custom rule:
    SGD sees a new convex, calibrated surrogate loss every step). ``target`` holds binary
    labels {0, 1} (as BCE; mapped to y = 2·target − 1, the repository's convention) of the
    scores' shape. φ' follows statmlben/ensLoss losses.py: standard normal draws ε (``noise``,
    one per score; drawn from ``generator`` or the backend's when None), −BoxCox⁻¹_λ(ε)
    sorted, floored at −1, matched to the sorted margins, divided by t where t > 1, minus
    1e-6 (``lam`` = Box-Cox λ, default 0: log-normal). The reported value is the
    repository's, not a loss one could differentiate (see ``EnsLossFn``,
    help(minigrad.layers.losses.robust_dro.EnsLossFn)).

    Paper: Dai & Yang 2024, "EnsLoss: Stochastic Calibrated Loss Ensembles for Preventing
    Overfitting in Classification".
    """
    op = "ensloss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    y = const(target, input).data
    check_same_shape(op, input, y)
    if y.size and not bool(((y == 0) | (y == 1)).all()):
        raise ValueError(f"{op}: target must hold binary labels 0 or 1 (shape "
                         f"{tuple(y.shape)}, dtype {y.dtype})")
    xp = xp_of(input)
    if noise is None:
        from minigrad.backends import backend_of_array
        gen = generator if generator is not None else backend_of_array(input.data).generator()
        noise = xp.asarray(gen.standard_normal(tuple(input.shape)))
    noise = const(noise, input, input.dtype).data
    if noise.size != input.data.size:
        raise ValueError(f"{op}: noise of shape {tuple(noise.shape)} must have one draw per "
                         f"score (input of shape {tuple(input.shape)})")
    sign = (2.0 * y - 1.0).astype(input.dtype)
    return EnsLossFn.apply(input, Tensor._wrap(sign), noise, float(lam), reduction)


class EnsLoss(LossModule):
    """EnsLoss Module: a new random calibrated loss derivative every call; ℓ_i = φ'(t_i)·t_i,
    backward φ'(t_i)·y_i; see ``F.ensloss``.
    Paper: Dai & Yang 2024, "EnsLoss: Stochastic Calibrated Loss Ensembles for Preventing
    Overfitting in Classification"."""

    def __init__(self, lam=0.0, reduction="mean"):
        super().__init__(reduction)
        self.lam = lam

    def forward(self, input, target):
        return ensloss(input, target, lam=self.lam, reduction=self.reduction)


# ------------------------------------------------------------------ registration
def _ensloss_rule(arrays, kwargs, gy):
    """φ'(y·f)·y (times the reduction weight), computed with NumPy from the same draws."""
    import numpy as np
    f, target = arrays[0], arrays[1]
    y = 2.0 * np.asarray(target, float) - 1.0
    t = (f * y).ravel()
    noise = kwargs["noise"]
    noise = np.asarray(noise.numpy() if hasattr(noise, "numpy") else noise, float).ravel()
    lam = kwargs.get("lam", 0.0)
    draws = -np.exp(noise) if lam == 0 else -np.maximum(1 + lam * noise, 0) ** (1 / lam)
    draws = np.maximum(np.sort(draws), -1.0)
    g = np.zeros_like(t)
    for rank, i in enumerate(np.argsort(t, kind="stable")):
        g[i] = draws[rank] / (t[i] if t[i] > 1 else 1.0) - 1e-6
    reduction = kwargs.get("reduction", "mean")
    w = np.asarray(gy, float) / (t.size if reduction == "mean" else 1)
    return [(w * g).reshape(f.shape) * y]


def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731

    def soft(r, *s):
        e = r.random(s) + 0.1
        return e / e.sum(axis=1, keepdims=True)

    def away_from_zero(r, *s):          # l1 normalisation has a kink at z = 0
        x = r.standard_normal(s)
        return x + 0.3 * (2 * (x > 0) - 1)

    register(ldr_kl_loss, kind="loss", catalog_id="L071", module=LDRKLLoss, papers=[PAPER_LDR],
             inputs=lambda r: [
                 Case(n(r, 5, 4), r.integers(0, 4, 5)),
                 Case(n(r, 4, 5), r.integers(0, 5, 4), margin=1.0, lambd=1.0, logit_norm=None),
                 Case(away_from_zero(r, 4, 3), r.integers(0, 3, 4), margin=0.5, lambd=0.5,
                      logit_norm="l1", reduction="sum"),
                 Case(n(r, 2, 3, 2), r.integers(0, 3, (2, 2)), lambd=2.0, reduction="none"),
                 Case(n(r, 3, 4), soft(r, 3, 4), wrt=(0,), margin=1.0, lambd=1.0)])
    register(aldr_kl_loss, kind="loss", catalog_id="L072", module=ALDRKLLoss, papers=[PAPER_LDR],
             inputs=lambda r: [
                 Case(away_from_zero(r, 5, 4), r.integers(0, 4, 5),
                      lambdas=r.uniform(0.5, 2.0, 5), lambda_ref=1.0),
                 Case(n(r, 4, 3), r.integers(0, 3, 4), lambdas=r.uniform(5.0, 10.0, 4),
                      logit_norm="softplus", reduction="sum"),
                 Case(n(r, 4, 5), r.integers(0, 5, 4), lambdas=r.uniform(0.5, 1.5, 4),
                      lambda_ref=1.0, margin=1.0, logit_norm=None, reduction="none")])
    register(ensloss, kind="loss", catalog_id="L073", module=EnsLoss, papers=[PAPER_ENS],
             check="custom", backward_rule=_ensloss_rule,
             inputs=lambda r: [
                 Case(n(r, 6), r.integers(0, 2, 6), noise=n(r, 6), custom=True),
                 Case(2.0 * n(r, 3, 2), r.integers(0, 2, (3, 2)), noise=n(r, 3, 2), lam=0.5,
                      reduction="sum", custom=True),
                 Case(n(r, 5), r.integers(0, 2, 5), noise=n(r, 5), reduction="none",
                      custom=True)])


_register_all()
