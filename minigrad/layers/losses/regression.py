"""Regression losses on a prediction ``input`` and a ``target``: MSE, L1, Huber /
smooth-L1, log-cosh (fused ``Function``s with hand-derived backwards, gradients to both
arguments), and quantile, Poisson NLL, Gaussian NLL, cosine embedding, RMSE, MAPE and
MSLE as short compositions of registered ops. PyTorch's names and defaults where PyTorch
has the loss. The target must have the input's shape: PyTorch only warns and broadcasts
there, and a prediction (N, 1) against a target (N,) would average N² wrong pairs. The
exceptions are documented where PyTorch defines a broadcast on purpose (Gaussian NLL's
target and var, multi-quantile heads)."""
import math

from minigrad.autograd import Function
from minigrad.layers.losses._common import (LossModule, check_reduction, check_same_shape, const,
                                            reduce, reduce_array, reduction_grad, relu, xp_of)
from minigrad.ops._checks import check_floating
from minigrad.ops.elementwise import abs as tabs, clip, exp, log, log1p, maximum, sqrt, where
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "log_cosh_loss",
           "quantile_loss", "poisson_nll_loss", "gaussian_nll_loss", "cosine_embedding_loss",
           "rmse_loss", "mape_loss", "msle_loss",
           "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "LogCoshLoss", "QuantileLoss",
           "PoissonNLLLoss", "GaussianNLLLoss", "CosineEmbeddingLoss", "RMSELoss", "MAPELoss",
           "MSLELoss"]


def _target(op, input, target):
    """The target as a tensor on the input's backend (float, the input's dtype for constants)."""
    if isinstance(target, Tensor) and target.dtype.kind == "f":
        return target
    return const(target, input, input.dtype)


def _same_shape_target(op, input, target):
    """A floating-point ``input`` and the target (``_target``), checked to have its shape."""
    check_floating(op, input=input)
    y = _target(op, input, target)
    check_same_shape(op, input, y)
    return y


def _residual_backward(ctx, gy, dr):
    """∂ℓ/∂x = f'(r)·g and ∂ℓ/∂y = −f'(r)·g for r = x − y."""
    g = reduction_grad(ctx.xp, gy, dr.shape, ctx.reduction) * dr
    return g, (-g if ctx.needs_input_grad[1] else None)


class MSE(Function):
    """ℓ = (x − y)²;  ∂ℓ/∂x = 2(x − y) = −∂ℓ/∂y ('mean' divides by the element count)."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, x, y, reduction):
        r = x - y
        ctx.save_for_backward(r)
        ctx.reduction = reduction
        return reduce_array(ctx.xp, r * r, reduction)

    @staticmethod
    def backward(ctx, gy):
        r, = ctx.saved_tensors
        return _residual_backward(ctx, gy, 2 * r)


class L1(Function):
    """ℓ = |x − y|;  ∂ℓ/∂x = sign(x − y) (0 at 0) = −∂ℓ/∂y."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, x, y, reduction):
        r = x - y
        ctx.save_for_backward(r)
        ctx.reduction = reduction
        return reduce_array(ctx.xp, ctx.xp.abs(r), reduction)

    @staticmethod
    def backward(ctx, gy):
        r, = ctx.saved_tensors
        return _residual_backward(ctx, gy, ctx.xp.sign(r))


class Huber(Function):
    """Huber_δ(r) = ½r² for |r| ≤ δ, δ(|r| − ½δ) beyond, divided by ``scale`` (1 for Huber,
    β for smooth-L1). The two pieces meet with equal value and slope at |r| = δ (C¹):
    ∂ℓ/∂x = clip(r, −δ, δ)/scale = −∂ℓ/∂y."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, x, y, delta, scale, reduction):
        xp = ctx.xp
        r = x - y
        a = xp.abs(r)
        loss = xp.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta)) / scale
        ctx.save_for_backward(r)
        ctx.delta, ctx.scale, ctx.reduction = delta, scale, reduction
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        r, = ctx.saved_tensors
        return _residual_backward(ctx, gy, ctx.xp.clip(r, -ctx.delta, ctx.delta) / ctx.scale)


class LogCosh(Function):
    """ℓ = log cosh(r) = |r| + log1p(e^(−2|r|)) − log 2 (no overflow for large |r|);
    ∂ℓ/∂x = tanh(r) = −∂ℓ/∂y."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, x, y, reduction):
        xp = ctx.xp
        r = x - y
        a = xp.abs(r)
        ctx.save_for_backward(r)
        ctx.reduction = reduction
        return reduce_array(xp, a + xp.log1p(xp.exp(-2 * a)) - math.log(2.0), reduction)

    @staticmethod
    def backward(ctx, gy):
        r, = ctx.saved_tensors
        return _residual_backward(ctx, gy, ctx.xp.tanh(r))


def mse_loss(input, target, reduction="mean"):
    """Mean squared error mean((x − y)²) (PyTorch's ``F.mse_loss``); gradient 2(x − y)/n.

    ℓ = (1/n) Σ_i (x_i − y_i)²,   ∂ℓ/∂x_i = 2(x_i − y_i)/n   (``reduction='mean'``; 'sum', 'none').
    Primitive (least squares, no introducing paper). ``mse_loss(input, target, reduction='mean')``.
    """
    check_reduction("mse_loss", reduction)
    return MSE.apply(input, _same_shape_target("mse_loss", input, target), reduction)


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error mean(|x − y|) (``F.l1_loss``); subgradient sign(x − y)/n, 0 at 0.

    ℓ = (1/n) Σ_i |x_i − y_i|,   ∂ℓ/∂x_i = sign(x_i − y_i)/n.   Primitive (no paper).
    ``l1_loss(input, target, reduction='mean')``.
    """
    check_reduction("l1_loss", reduction)
    return L1.apply(input, _same_shape_target("l1_loss", input, target), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """Huber loss (``F.huber_loss``): ½r² for |r| ≤ δ, δ(|r| − ½δ) beyond; gradient clip(r, ±δ).

    r = x − y,  ℓ(r) = ½r² if |r| ≤ δ else δ(|r| − ½δ),  ∂ℓ/∂x = clip(r, −δ, δ).
    ``huber_loss(input, target, reduction='mean', delta=1.0)`` (PyTorch's signature).
    Paper: Huber 1964, "Robust Estimation of a Location Parameter".
    """
    check_reduction("huber_loss", reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    return Huber.apply(input, _same_shape_target("huber_loss", input, target), float(delta), 1.0,
                       reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """Smooth-L1 (``F.smooth_l1_loss``) = Huber_β/β (β = 1; 1/9 in Detectron); β = 0 is L1.

    ℓ(r) = 0.5r²/β if |r| < β else |r| − 0.5β,  ∂ℓ/∂x = clip(r/β, −1, 1)  (r = x − y).
    ``smooth_l1_loss(input, target, reduction='mean', beta=1.0)``.
    Paper: Girshick 2015, "Fast R-CNN".
    """
    check_reduction("smooth_l1_loss", reduction)
    if beta == 0:
        return l1_loss(input, target, reduction)
    return Huber.apply(input, _same_shape_target("smooth_l1_loss", input, target), float(beta),
                       float(beta), reduction)


def log_cosh_loss(input, target, reduction="mean"):
    """Log-cosh loss mean(log cosh(x − y)) (keras ``LogCosh``): quadratic near 0, linear far
    away, smooth everywhere; gradient tanh(x − y).

    ℓ = (1/n) Σ_i log cosh(x_i − y_i),   ∂ℓ/∂x_i = tanh(x_i − y_i)/n.   Primitive (no paper).
    """
    check_reduction("log_cosh_loss", reduction)
    return LogCosh.apply(input, _same_shape_target("log_cosh_loss", input, target), reduction)


def quantile_loss(input, target, quantiles=0.5, reduction="mean"):
    """Quantile (pinball) loss: r = y − ŷ, ρ_q(r) = max(q·r, (q − 1)·r); q = 0.5 is half the MAE.
    ``quantiles`` a float, or a sequence of Q levels with ``input`` (..., Q) (a multi-quantile
    head) and ``target`` (...) or (..., 1). Subgradient ∂ρ/∂ŷ = −q for r > 0, 1 − q for r < 0.

    Paper: Koenker & Bassett 1978, "Regression Quantiles". No PyTorch counterpart.
    """
    op = "quantile_loss"
    check_reduction(op, reduction)
    if isinstance(quantiles, (int, float)):
        y = _same_shape_target(op, input, target)
        q = float(quantiles)
        if not 0 < q < 1:
            raise ValueError(f"{op}: quantile must be in (0, 1), got {q}")
    else:
        check_floating(op, input=input)
        y = _target(op, input, target)
        levels = [float(v) for v in quantiles]
        if input.ndim == 0 or input.shape[-1] != len(levels):
            raise ValueError(f"{op}: input of shape {tuple(input.shape)} must end with one column "
                             f"per quantile ({len(levels)})")
        head = tuple(input.shape[:-1])
        if tuple(y.shape) not in (head, head + (1,)):
            raise ValueError(f"{op}: target of shape {tuple(y.shape)} for a {len(levels)}-quantile "
                             f"input of shape {tuple(input.shape)} must have shape {head} or "
                             f"{head + (1,)}")
        q = const(xp_of(input).asarray(levels, dtype=input.dtype), input)
        if y.ndim == input.ndim - 1:
            y = y.reshape(tuple(y.shape) + (1,))
    r = y - input
    return reduce(maximum(r * q, r * (q - 1.0)), reduction, op)


def poisson_nll_loss(input, target, log_input=True, full=False, eps=1e-8, reduction="mean"):
    """Poisson negative log-likelihood (``F.poisson_nll_loss``): eˣ − y·x for log-rates
    (``log_input=True``), x − y·log(x + eps) for rates; ``full`` adds the Stirling term
    y·log y − y + ½log(2πy) where y > 1. Gradients eˣ − y, or 1 − y/(x + eps).

    ℓ = eˣ − y·x (``log_input=True``),  ∂ℓ/∂x = eˣ − y.   Primitive (Poisson likelihood).
    ``poisson_nll_loss(input, target, log_input=True, full=False, eps=1e-8, reduction='mean')``.
    """
    op = "poisson_nll_loss"
    check_reduction(op, reduction)
    y = _same_shape_target(op, input, target)
    loss = exp(input) - y * input if log_input else input - y * log(input + eps)
    if full:
        big = y.data > 1
        safe = where(big, y, 1.0)                       # keeps log finite where masked out
        stirling = safe * log(safe) - safe + log(safe * (2 * math.pi)) * 0.5
        loss = loss + where(big, stirling, 0.0)
    return reduce(loss, reduction, op)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log-likelihood with a predicted variance (``F.gaussian_nll_loss``):
        ℓ = ½(log σ² + (y − μ)²/σ²)  (+ ½log 2π with ``full``),  σ² = max(var, eps).
    ``var`` has the input's shape, or one fewer (trailing) dimension / a trailing 1
    (homoscedastic over the last axis), or is a Python number; ``target`` has the input's
    shape, or that shape with some axes of size 1 (several predictions of one sample): the
    broadcasts PyTorch documents, and no others. ∂ℓ/∂μ = (μ − y)/σ²,
    ∂ℓ/∂σ² = ½(1/σ² − (y − μ)²/σ⁴).
    The clamp gives zero gradient to variances below eps (PyTorch clamps without gradient
    masking; the catalog specifies the clamp's true derivative).

    ``gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction='mean')``.
    Paper: Nix & Weigend 1994, "Estimating the Mean and Variance of the Target Probability
    Distribution".
    """
    op = "gaussian_nll_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    y = _target(op, input, target)
    if y.ndim != input.ndim or any(t not in (1, n) for t, n in zip(y.shape, input.shape)):
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} and target of shape "
                         f"{tuple(y.shape)}: the target needs the input's shape (or that shape "
                         f"with axes of size 1)")
    v = _target(op, input, var)
    if isinstance(var, (int, float)):
        v = v.reshape((1,) * input.ndim)
    elif tuple(v.shape) != tuple(input.shape):
        if tuple(v.shape) == tuple(input.shape[:-1]):
            v = v.reshape(tuple(v.shape) + (1,))
        elif not (tuple(v.shape[:-1]) == tuple(input.shape[:-1]) and v.shape[-1] == 1):
            raise ValueError(f"{op}: var of shape {tuple(v.shape)} does not match input of shape "
                             f"{tuple(input.shape)} (same shape, one fewer dimension, or a "
                             f"trailing 1)")
    if bool((v.data < 0).any()):
        raise ValueError(f"{op}: var has negative entries")
    v = clip(v, eps, None)
    r = input - y
    loss = (log(v) + r * r / v) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce(loss, reduction, op)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """Cosine-embedding loss (``F.cosine_embedding_loss``) with y ∈ {1, −1}:
    1 − cos(x₁, x₂) for y = 1, max(0, cos(x₁, x₂) − margin) for y = −1, where
    cos = ⟨x₁, x₂⟩/√((‖x₁‖² + 1e-12)(‖x₂‖² + 1e-12)) over the last axis (PyTorch's EPSILON).
    Gradient through both inputs by the quotient rule; hinge kink at cos = margin.

    ``cosine_embedding_loss(input1, input2, target, margin=0.0, reduction='mean')``.
    Paper (the margin-contrastive pair loss it specialises to cosines): Hadsell, Chopra &
    LeCun 2006, "Dimensionality Reduction by Learning an Invariant Mapping".
    """
    op = "cosine_embedding_loss"
    check_reduction(op, reduction)
    check_floating(op, input1=input1, input2=input2)
    check_same_shape(op, input1, input2, ("input1", "input2"))
    yd = const(target, input1).data
    if tuple(yd.shape) != tuple(input1.shape[:-1]):
        raise ValueError(f"{op}: target of shape {tuple(yd.shape)} must have one label per pair, "
                         f"shape {tuple(input1.shape[:-1])}, for inputs of shape "
                         f"{tuple(input1.shape)}")
    dot = (input1 * input2).sum(axis=-1)
    norms = ((input1 * input1).sum(axis=-1) + 1e-12) * ((input2 * input2).sum(axis=-1) + 1e-12)
    cos = dot / sqrt(norms)
    loss = where(yd == 1, 1.0 - cos, where(yd == -1, relu(cos - margin), cos * 0.0))
    return reduce(loss, reduction, op)


def rmse_loss(input, target, eps=1e-12, normalization=None):
    """Root mean squared error √(mean((y − ŷ)²) + eps) over every element (a scalar; eps keeps
    the gradient −r/(n·RMSE) finite at 0). ``normalization``: None (RMSE), 'mean'
    (NRMSE = RMSE/ȳ), 'range' (RMSE/(max y − min y)), 'relative' (RRMSE = √(Σr²/Σŷ²), the
    error relative to the scale of the predictions, as in the survey's reference code; Σŷ² is
    clamped below at eps); target-based normalisers are constants, and a zero one raises.

    Primitive (a textbook regression metric; no introducing paper). No PyTorch counterpart.
    """
    op = "rmse_loss"
    y = _same_shape_target(op, input, target)
    r = y - input
    if normalization == "relative":
        return sqrt((r * r).sum() / maximum((input * input).sum(), eps) + eps)
    rmse = sqrt((r * r).mean() + eps)
    if normalization is None:
        return rmse
    yd = y.data
    if normalization in ("mean", "range"):
        scale = float(yd.mean()) if normalization == "mean" else float(yd.max() - yd.min())
        if scale == 0:
            raise ValueError(f"{op}: normalization={normalization!r} divides by the target's "
                             f"{normalization}, which is 0 (target of shape {tuple(y.shape)})")
        return rmse * (1.0 / scale)
    raise ValueError(f"{op}: normalization must be None, 'mean', 'range' or 'relative', "
                     f"got {normalization!r}")


def mape_loss(input, target, eps=1e-7, reduction="mean"):
    """Mean absolute percentage error 100·mean(|y − ŷ|/max(|y|, eps)) (keras
    ``MeanAbsolutePercentageError``); ∂/∂ŷ = −100·sign(y − ŷ)/(n·max(|y|, eps)).

    Primitive (a textbook forecasting metric; no introducing paper). No PyTorch counterpart.
    """
    op = "mape_loss"
    check_reduction(op, reduction)
    y = _same_shape_target(op, input, target)
    return reduce(tabs(y - input) / maximum(tabs(y), eps) * 100.0, reduction, op)


def msle_loss(input, target, eps=1e-7, root=False, reduction="mean"):
    """Mean squared logarithmic error mean((log(1 + y) − log(1 + ŷ))²), predictions and targets
    clamped at −1 + eps (log1p's domain). ``root=True``: RMSLE = √(MSLE + eps²) (reduction
    'mean' only). ∂/∂ŷ = −2(log(1 + y) − log(1 + ŷ))/(n(1 + ŷ)).

    Primitive (a textbook regression metric; no introducing paper). No PyTorch counterpart.
    """
    op = "msle_loss"
    check_reduction(op, reduction)
    y = _same_shape_target(op, input, target)
    d = log1p(clip(y, -1 + eps, None)) - log1p(clip(input, -1 + eps, None))
    if root:
        if reduction != "mean":
            raise ValueError(f"{op}: root=True (RMSLE) needs reduction='mean'")
        return sqrt((d * d).mean() + eps * eps)
    return reduce(d * d, reduction, op)


# ------------------------------------------------------------------ Modules
class MSELoss(LossModule):
    """``nn.MSELoss(reduction='mean')``: ℓ = mean((x − y)²); backward 2(x − y)/n (see ``F.mse_loss``)."""

    def forward(self, input, target):
        return mse_loss(input, target, self.reduction)


class L1Loss(LossModule):
    """``nn.L1Loss(reduction='mean')``: ℓ = mean(|x − y|); backward sign(x − y)/n (see ``F.l1_loss``)."""

    def forward(self, input, target):
        return l1_loss(input, target, self.reduction)


class HuberLoss(LossModule):
    """``nn.HuberLoss(reduction='mean', delta=1.0)``: ℓ(r) = ½r² if |r| ≤ δ else δ(|r| − ½δ).

    Backward clip(r, −δ, δ) (see ``F.huber_loss``).
    Paper: Huber 1964, "Robust Estimation of a Location Parameter".
    """

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(LossModule):
    """``nn.SmoothL1Loss(reduction='mean', beta=1.0)``: ℓ(r) = 0.5r²/β if |r| < β else |r| − 0.5β.

    Backward clip(r/β, −1, 1) (see ``F.smooth_l1_loss``). Paper: Girshick 2015, "Fast R-CNN".
    """

    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target):
        return smooth_l1_loss(input, target, self.reduction, self.beta)


class LogCoshLoss(LossModule):
    """Log-cosh loss: ℓ = mean(log cosh(x − y)); backward tanh(x − y)/n (see ``F.log_cosh_loss``)."""

    def forward(self, input, target):
        return log_cosh_loss(input, target, self.reduction)


class QuantileLoss(LossModule):
    """Quantile (pinball) loss at level(s) ``quantiles``: ρ_q(r) = max(q·r, (q − 1)·r), r = y − ŷ.

    Backward: the subgradient −q (r > 0) or 1 − q (r < 0) (see ``F.quantile_loss``).
    Paper: Koenker & Bassett 1978, "Regression Quantiles".
    """

    def __init__(self, quantiles=0.5, reduction="mean"):
        super().__init__(reduction)
        self.quantiles = quantiles

    def forward(self, input, target):
        return quantile_loss(input, target, self.quantiles, self.reduction)


class PoissonNLLLoss(LossModule):
    """``nn.PoissonNLLLoss(log_input=True, full=False, eps=1e-8, reduction='mean')``.

    ℓ = eˣ − y·x (log-rates), backward eˣ − y (see ``F.poisson_nll_loss``).
    """

    def __init__(self, log_input=True, full=False, eps=1e-8, reduction="mean"):
        super().__init__(reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, input, target):
        return poisson_nll_loss(input, target, self.log_input, self.full, self.eps, self.reduction)


class GaussianNLLLoss(LossModule):
    """``nn.GaussianNLLLoss(full=False, eps=1e-6, reduction='mean')``; ``forward(input, target, var)``.

    ℓ = ½(log σ² + (y − μ)²/σ²), σ² = max(var, eps); backward in ``F.gaussian_nll_loss``.
    Paper: Nix & Weigend 1994, "Estimating the Mean and Variance of the Target Probability
    Distribution".
    """

    def __init__(self, full=False, eps=1e-6, reduction="mean"):
        super().__init__(reduction)
        self.full, self.eps = full, eps

    def forward(self, input, target, var):
        return gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class CosineEmbeddingLoss(LossModule):
    """``nn.CosineEmbeddingLoss(margin=0.0, reduction='mean')``.

    ℓ = 1 − cos(x₁, x₂) for y = 1, max(0, cos(x₁, x₂) − margin) for y = −1; backward in
    ``F.cosine_embedding_loss``. Paper: Hadsell, Chopra & LeCun 2006, "Dimensionality
    Reduction by Learning an Invariant Mapping".
    """

    def __init__(self, margin=0.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return cosine_embedding_loss(input1, input2, target, self.margin, self.reduction)


class RMSELoss(LossModule):
    """RMSE (NRMSE / RRMSE with ``normalization``); always a scalar.

    ℓ = √(mean((y − ŷ)²) + eps); backward −r/(n·ℓ) (see ``F.rmse_loss``).
    """

    def __init__(self, eps=1e-12, normalization=None):
        super().__init__("mean")
        self.eps, self.normalization = eps, normalization

    def forward(self, input, target):
        return rmse_loss(input, target, self.eps, self.normalization)


class MAPELoss(LossModule):
    """Mean absolute percentage error: ℓ = 100·mean(|y − ŷ|/max(|y|, eps)) (see ``F.mape_loss``)."""

    def __init__(self, eps=1e-7, reduction="mean"):
        super().__init__(reduction)
        self.eps = eps

    def forward(self, input, target):
        return mape_loss(input, target, self.eps, self.reduction)


class MSLELoss(LossModule):
    """Mean squared logarithmic error (RMSLE with ``root=True``).

    ℓ = mean((log(1 + y) − log(1 + ŷ))²); backward in ``F.msle_loss``.
    """

    def __init__(self, eps=1e-7, root=False, reduction="mean"):
        super().__init__(reduction)
        self.eps, self.root = eps, root

    def forward(self, input, target):
        return msle_loss(input, target, self.eps, self.root, self.reduction)


# ------------------------------------------------------------------ registry
def _register_all():
    import numpy as np
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    survey = "A Comprehensive Survey of Regression Based Loss Functions for Time Series Forecasting"
    lfm = "Loss Functions and Metrics in Deep Learning"

    def away_from(r, shape, points, gap=0.1):
        """(input, target) whose residual keeps ``gap`` away from each of ``points``."""
        x, y = n(r, *shape), n(r, *shape)
        for p in points:
            for s in (1, -1):
                near = np.abs((x - y) - s * p) < gap
                x = np.where(near, x + 3 * gap * np.sign((x - y) - s * p + 1e-300), x)
        return x, y

    register(mse_loss, kind="loss", catalog_id="L033", module=MSELoss,
             papers=["Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial "
                     "Network", lfm, "Noisy Interpolation Learning with Shallow Univariate ReLU "
                     "Networks", survey, "Spectral Bottleneck in Deep Neural Networks: Noise is All "
                     "You Need", "FlexRound: Learnable Rounding based on Element-wise Division for "
                     "Post-Training Quantization", "Overcoming Recency Bias of Normalization "
                     "Statistics in Continual Learning: Balance and Adaptation"],
             inputs=lambda r: [Case(n(r, 3, 4), n(r, 3, 4)),
                               Case(n(r, 3, 4), n(r, 3, 4), reduction="sum"),
                               Case(n(r, 5), n(r, 5), reduction="none")])
    register(l1_loss, kind="loss", catalog_id="L034", module=L1Loss,
             papers=["Global Convergence of Sub-gradient Method for Robust Matrix Recovery: Small "
                     "Initialization, Noisy Measurements, and Over-parameterization", lfm,
                     "Noisy Interpolation Learning with Shallow Univariate ReLU Networks", survey],
             inputs=lambda r: [Case(*away_from(r, (3, 4), [0.0])),
                               Case(*away_from(r, (5,), [0.0]), reduction="none")])
    register(huber_loss, kind="loss", catalog_id="L035", module=HuberLoss,
             papers=[lfm, survey],
             inputs=lambda r: [Case(*away_from(r, (3, 4), [1.0])),
                               Case(*away_from(r, (6,), [0.5]), delta=0.5, reduction="sum"),
                               Case(*away_from(r, (2, 3), [2.0]), delta=2.0, reduction="none")])
    register(log_cosh_loss, kind="loss", catalog_id="L036", module=LogCoshLoss, papers=[lfm, survey],
             inputs=lambda r: [Case(3 * n(r, 3, 4), n(r, 3, 4)), Case(n(r, 5), n(r, 5), reduction="none")])
    register(quantile_loss, kind="loss", catalog_id="L037", module=QuantileLoss, papers=[lfm, survey],
             inputs=lambda r: [Case(*away_from(r, (3, 4), [0.0]), quantiles=0.9),
                               Case(n(r, 4, 3), n(r, 4), quantiles=(0.1, 0.5, 0.9), reduction="none"),
                               Case(*away_from(r, (5,), [0.0]), reduction="sum")])
    register(poisson_nll_loss, kind="loss", catalog_id="L038", module=PoissonNLLLoss, papers=[lfm],
             inputs=lambda r: [Case(n(r, 3, 4), r.poisson(2.0, (3, 4)).astype(float), wrt=(0,)),
                               Case(r.uniform(0.5, 3, (5,)), r.poisson(2.0, 5).astype(float), wrt=(0,),
                                    log_input=False, full=True, reduction="none"),
                               Case(n(r, 4), r.uniform(0, 4, 4), full=True, reduction="sum")])
    register(gaussian_nll_loss, kind="loss", catalog_id="L039", module=GaussianNLLLoss, papers=[lfm],
             inputs=lambda r: [Case(n(r, 3, 4), n(r, 3, 4), r.uniform(0.3, 2, (3, 4))),
                               Case(n(r, 4, 2), n(r, 4, 2), r.uniform(0.3, 2, (4,)), full=True,
                                    reduction="none"),
                               Case(n(r, 4, 2), n(r, 4, 2), r.uniform(0.3, 2, (4, 1)), reduction="sum")])

    def cos_cases(r):
        x1, x2 = n(r, 5, 3), n(r, 5, 3)
        cos = (x1 * x2).sum(1) / np.linalg.norm(x1, axis=1) / np.linalg.norm(x2, axis=1)
        y = np.array([1, -1, -1, 1, -1])
        margin = 0.1
        x2[np.abs(cos - margin) < 0.05] *= -1
        return [Case(x1, x2, y, margin=margin), Case(x1, x2, y, reduction="none")]

    register(cosine_embedding_loss, kind="loss", catalog_id="L040", module=CosineEmbeddingLoss,
             papers=[lfm], inputs=cos_cases)
    register(rmse_loss, kind="loss", catalog_id="L041", module=RMSELoss, papers=[survey],
             inputs=lambda r: [Case(n(r, 3, 4), n(r, 3, 4)),
                               Case(n(r, 5), r.uniform(1, 2, 5), wrt=(0,), normalization="mean"),
                               Case(n(r, 5), n(r, 5), wrt=(0,), normalization="range"),
                               Case(n(r, 2, 3), n(r, 2, 3), normalization="relative")])
    register(mape_loss, kind="loss", catalog_id="L042", module=MAPELoss, papers=[survey],
             inputs=lambda r: [Case(*away_from(r, (3, 4), [0.0]), wrt=(0,)),
                               Case(*away_from(r, (5,), [0.0]), reduction="none")])
    register(msle_loss, kind="loss", catalog_id="L043", module=MSLELoss, papers=[survey],
             inputs=lambda r: [Case(r.uniform(0, 3, (3, 4)), r.uniform(0, 3, (3, 4))),
                               Case(r.uniform(-0.5, 3, (5,)), r.uniform(0, 3, 5), wrt=(0,), root=True),
                               Case(r.uniform(0, 3, (4,)), r.uniform(0, 3, 4), reduction="none")])


_register_all()
