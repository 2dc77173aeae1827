"""Classification losses: cross-entropy (hard/soft targets, class weights, ignore_index,
label smoothing), NLL, binary cross-entropy with logits, KL divergence, entropy,
temperature scaling (+ the ECE metric) and the mixup/CutMix mixed-target loss. The focal
losses and ASL are in ``focal.py``, the hinge family in ``hinge.py``.

The fused ones (cross-entropy, BCE-with-logits, KL) are
``Function``s with a hand-derived backward; the rest are short compositions of registered
ops. Logits with the class axis at position 1 follow PyTorch: (N, C) or (N, C, d1, ...).
"""
import math

from minigrad.autograd import Function, no_grad
from minigrad.layers.losses._common import (LossModule, batched_logits, check_reduction,
                                            check_same_shape, class_rows, class_targets,
                                            class_unrows, const,
                                            log_softmax, log_softmax_array, reduce,
                                            reduce_array, reduction_grad, scalar_param,
                                            sigmoid_array, softplus, softplus_array, xp_of)
from minigrad.layers.module import Parameter
from minigrad.ops._checks import check_floating
from minigrad.ops.elementwise import exp, sigmoid
from minigrad.ops.indexing import take_along_axis
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["cross_entropy", "nll_loss", "bce_with_logits", "binary_cross_entropy_with_logits",
           "binary_cross_entropy", "BCELoss", "label_smoothing_ce", "kl_div_loss", "kl_div", "temperature_scaling",
           "expected_calibration_error", "mixup_loss", "entropy_loss",
           "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "LabelSmoothingCrossEntropy",
           "KLDivLoss", "TemperatureScaling", "MixupLoss", "EntropyLoss"]


# ------------------------------------------------------------------ cross-entropy
class CrossEntropyHard(Function):
    """Softmax cross-entropy with integer class targets, fused with its log-softmax.

    For a row z (C logits), class y, class weights w and smoothing ε, PyTorch's loss is
        ℓ = (1 − ε)·w_y·(LSE(z) − z_y) + (ε/C)·Σ_c w_c·(LSE(z) − z_c)
          = Σ_c T_c (LSE(z) − z_c),   T = (1 − ε)·w_y·onehot(y) + (ε/C)·w.
    Backward: ∂LSE/∂z = p = softmax(z), so  ∂ℓ/∂z = (Σ_c T_c)·p − T.
    Rows whose target is ``ignore_index`` have T = 0 (no loss, no gradient). 'mean'
    divides by Σ_n w_{y_n} over the kept rows (PyTorch's weighted mean), and returns 0
    (with zero gradients) when every row is ignored — PyTorch returns NaN there.
    log p is computed as z − max z − log Σ e^(z − max z): finite for logits of ±1e4.
    """
    differentiable_forward = True

    @staticmethod
    def forward(ctx, z, y, weight, smoothing, ignore_index, reduction):
        xp = ctx.xp
        n_classes = z.shape[1]
        logp = log_softmax_array(xp, class_rows(xp, z), -1)
        y = y.reshape(-1)
        keep = y != ignore_index
        ys = xp.where(keep, y, 0)
        w = xp.ones(n_classes, dtype=z.dtype) if weight is None else weight.astype(z.dtype)
        wy = w[ys] * keep
        rows = xp.arange(ys.shape[0])
        loss = -(1 - smoothing) * wy * logp[rows, ys]
        if smoothing:
            loss = loss - (smoothing / n_classes) * (logp * w).sum(axis=1) * keep
        scale = None
        if reduction == "mean":
            denom = wy.sum()
            scale = xp.where(denom > 0, 1 / xp.where(denom > 0, denom, 1), 0).astype(z.dtype)
            out = loss.sum() * scale
        elif reduction == "sum":
            out = loss.sum()
        else:
            out = loss.reshape((z.shape[0],) + z.shape[2:])
        ctx.save_for_backward(logp, ys, wy, keep, w)
        ctx.shape, ctx.smoothing, ctx.reduction, ctx.scale = z.shape, smoothing, reduction, scale
        return out

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        logp, ys, wy, keep, w = ctx.saved_tensors
        eps, n_classes = ctx.smoothing, logp.shape[1]
        if ctx.reduction == "none":
            g = gy.reshape(-1)
        else:
            g = xp.broadcast_to(gy * ctx.scale if ctx.reduction == "mean" else gy, ys.shape)
        total = (1 - eps) * wy + (eps / n_classes) * w.sum() * keep      # Σ_c T_c per row
        dz = (g * total)[:, None] * xp.exp(logp)
        if eps:
            dz -= (g * keep)[:, None] * ((eps / n_classes) * w)[None, :]
        dz[xp.arange(ys.shape[0]), ys] -= g * (1 - eps) * wy
        return class_unrows(xp, dz, ctx.shape), None


class CrossEntropySoft(Function):
    """Softmax cross-entropy with probability targets t (the input's shape):
        ℓ = −Σ_c T_c log p_c,  T = w ⊙ ((1 − ε)·t + ε/C),  p = softmax(z);
        ∂ℓ/∂z = (Σ_c T_c)·p − T   (= p − t when Σt = 1, no weights, no smoothing);
        ∂ℓ/∂t_c = −(1 − ε)·w_c·log p_c   (when the target itself requires a gradient).
    'mean' divides by the number of rows (N·d1·…), as PyTorch does for soft targets."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, z, t, weight, smoothing, reduction):
        xp = ctx.xp
        n_classes = z.shape[1]
        logp = log_softmax_array(xp, class_rows(xp, z), -1)
        tt = class_rows(xp, t.astype(z.dtype, copy=False))
        w = xp.ones(n_classes, dtype=z.dtype) if weight is None else weight.astype(z.dtype)
        big_t = w * ((1 - smoothing) * tt + smoothing / n_classes)
        loss = -(big_t * logp).sum(axis=1)
        if reduction == "none":
            out = loss.reshape((z.shape[0],) + z.shape[2:])
        else:
            out = reduce_array(xp, loss, reduction)
        ctx.save_for_backward(logp, big_t, w)
        ctx.shape, ctx.smoothing, ctx.reduction = z.shape, smoothing, reduction
        return out

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        logp, big_t, w = ctx.saved_tensors
        g = reduction_grad(xp, gy.reshape(-1) if ctx.reduction == "none" else gy,
                           (logp.shape[0],), ctx.reduction)
        dz = g[:, None] * (big_t.sum(axis=1, keepdims=True) * xp.exp(logp) - big_t)
        dt = None
        if len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1]:
            dt = class_unrows(xp, -(1 - ctx.smoothing) * g[:, None] * w * logp, ctx.shape)
        return class_unrows(xp, dz, ctx.shape), dt


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy between logits ``input`` (N, C) or (N, C, d1, ...) and
    ``target`` (PyTorch's ``F.cross_entropy``).

    ``target`` is either integer class indices of shape (N, d1, ...) in [0, C) (entries
    equal to ``ignore_index`` are skipped), or probabilities of the input's shape (soft
    targets: mixup, distillation and consistency targets; they may require a gradient).
    ``weight`` (C,) weights the classes; with hard targets 'mean' divides by the summed
    weights of the kept targets (PyTorch's convention), with soft targets by the number of
    rows. ``label_smoothing`` ε mixes the target with the uniform distribution:
    t ← (1 − ε)·t + ε/C (Szegedy et al. 2016, "Rethinking the Inception Architecture for
    Computer Vision"; analysed in Xu et al. 2020, "Towards Understanding Label Smoothing").

        ℓ_n = −Σ_c T_nc log softmax(z_n)_c,   ∂ℓ_n/∂z_n = (Σ_c T_nc)·softmax(z_n) − T_n

    (see ``CrossEntropyHard``/``CrossEntropySoft`` for the derivation). A batch where
    every target is ignored gives loss 0 and zero gradients with 'mean' (PyTorch: NaN).
    Per-sample weights: ``(cross_entropy(z, y, reduction='none') * w).sum() / w.sum()``.

    Paper (softmax outputs trained by cross-entropy): Bridle 1990, "Probabilistic
    Interpretation of Feedforward Classification Network Outputs, with Relationships to
    Statistical Pattern Recognition".
    """
    op = "cross_entropy"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    input, target, unbatched = batched_logits(op, input, target)
    n_classes = input.shape[1]
    w = None
    if weight is not None:
        w = const(weight, input).data
        if tuple(w.shape) != (n_classes,):
            raise ValueError(f"{op}: weight of shape {tuple(w.shape)} does not match "
                             f"{n_classes} classes (logits of shape {tuple(input.shape)})")
    t = target.data if isinstance(target, Tensor) else const(target, input).data
    if t.dtype.kind == "f":
        if tuple(t.shape) == (input.shape[0],) + tuple(input.shape[2:]):
            raise TypeError(
                f"{op}: target of dtype {t.dtype} and shape {tuple(t.shape)} looks like class "
                f"indices for logits of shape {tuple(input.shape)}, but class indices must have "
                f"an integer dtype (values in [0, {n_classes})); probability targets need the "
                f"logits' shape {tuple(input.shape)}")
        if tuple(t.shape) != tuple(input.shape):
            raise ValueError(
                f"{op}: floating-point target of shape {tuple(t.shape)} (dtype {t.dtype}) for "
                f"logits of shape {tuple(input.shape)}: probability targets need the logits' "
                f"shape; class-index targets need an integer dtype, shape "
                f"{(input.shape[0],) + tuple(input.shape[2:])} and values in [0, {n_classes})")
        soft = target if isinstance(target, Tensor) else Tensor._wrap(t)
        out = CrossEntropySoft.apply(input, soft, w, float(label_smoothing), reduction)
    else:
        if tuple(t.shape) == tuple(input.shape):
            raise TypeError(
                f"{op}: integer target of the logits' shape {tuple(t.shape)} (dtype {t.dtype}): "
                f"probability targets must be floating point; class-index targets need shape "
                f"{(input.shape[0],) + tuple(input.shape[2:])} with values in [0, {n_classes})")
        y = class_targets(op, input, t, ignore_index)
        out = CrossEntropyHard.apply(input, Tensor._wrap(y), w, float(label_smoothing),
                                     ignore_index, reduction)
    if unbatched and reduction == "none":
        out = out.reshape(())
    return out


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C) or (N, C, d1, ...)
    (PyTorch's ``F.nll_loss``): ℓ_n = −w_{y_n}·input[n, y_n]; 'mean' divides by the summed
    weights of the kept targets (0 when all are ignored). ∂ℓ_n/∂input[n, c] = −w_{y_n}·1[c = y_n]."""
    op = "nll_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    input, target, unbatched = batched_logits(op, input, target)
    y = class_targets(op, input, target, ignore_index)
    xp = xp_of(input)
    keep = y != ignore_index
    ys = xp.where(keep, y, 0)
    w = xp.ones(input.shape[1], dtype=input.dtype) if weight is None else \
        const(weight, input).data.astype(input.dtype)
    wy = const(w[ys] * keep, input)
    picked = take_along_axis(input, Tensor._wrap(ys[:, None]), 1)
    loss = -picked.reshape(ys.shape) * wy
    if reduction == "none":
        return loss.reshape(()) if unbatched else loss
    if reduction == "sum":
        return loss.sum()
    denom = float(wy.data.sum())
    return loss.sum() * (1.0 / denom if denom > 0 else 0.0)


# ------------------------------------------------------------------ binary cross-entropy
class BCEWithLogits(Function):
    """Binary cross-entropy on logits z with targets t ∈ [0, 1] and positive weight w₊:
        ℓ = w₊·t·softplus(−z) + (1 − t)·softplus(z)
          = −[w₊·t·log σ(z) + (1 − t)·log(1 − σ(z))],
    using log σ(z) = −softplus(−z), log(1 − σ(z)) = −softplus(z) (never log of a sigmoid).
    Backward: d softplus(z)/dz = σ(z), d softplus(−z)/dz = σ(z) − 1, so
        ∂ℓ/∂z = (w₊·t + 1 − t)·σ(z) − w₊·t   (= σ(z) − t for w₊ = 1),
        ∂ℓ/∂t = w₊·softplus(−z) − softplus(z);
    both times the per-element ``weight`` when given."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, z, t, weight, pos_weight, reduction):
        xp = ctx.xp
        t = t.astype(z.dtype, copy=False)
        sp_pos = softplus_array(xp, z)
        sp_neg = sp_pos - z
        pw = 1.0 if pos_weight is None else pos_weight.astype(z.dtype)
        loss = pw * t * sp_neg + (1 - t) * sp_pos
        if weight is not None:
            loss = loss * weight.astype(z.dtype)
        ctx.save_for_backward(z, t)
        ctx.weight, ctx.pw, ctx.reduction, ctx.shape = weight, pw, reduction, loss.shape
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        z, t = ctx.saved_tensors
        g = reduction_grad(xp, gy, ctx.shape, ctx.reduction)
        if ctx.weight is not None:
            g = g * ctx.weight.astype(z.dtype)
        pw = ctx.pw
        dz = g * ((pw * t + 1 - t) * sigmoid_array(xp, z) - pw * t)
        dt = None
        if ctx.needs_input_grad[1]:
            sp_pos = softplus_array(xp, z)
            dt = g * (pw * (sp_pos - z) - sp_pos)
        return dz, dt


def bce_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """Binary cross-entropy with logits (PyTorch's ``binary_cross_entropy_with_logits``),
    elementwise over any shape (multi-label = one logistic loss per class):
    ℓ = −[w₊·t·log σ(z) + (1 − t)·log(1 − σ(z))], computed in the softplus form.
    ``pos_weight`` w₊ broadcasts over the class axis (the last), ``weight`` over ℓ.
    The margin form with y ∈ {±1}, log(1 + e^(−y·f)), is this loss with t = (y + 1)/2.
    Gradient: ∂ℓ/∂z = (w₊t + 1 − t)σ(z) − w₊t (derivation in ``BCEWithLogits``).

    ``bce_with_logits(input, target, weight=None, reduction='mean', pos_weight=None)``.
    Paper (logistic regression): Cox 1958, "The Regression Analysis of Binary Sequences".
    """
    op = "bce_with_logits"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    t = target if isinstance(target, Tensor) else const(target, input)
    check_same_shape(op, input, t)
    if t.dtype.kind not in "fiub":
        raise TypeError(f"{op}: target must be numeric, got {t.dtype}")
    w = None if weight is None else const(weight, input).data
    pw = None if pos_weight is None else const(pos_weight, input).data
    return BCEWithLogits.apply(input, t, w, pw, reduction)


binary_cross_entropy_with_logits = bce_with_logits


class BinaryCrossEntropy(Function):
    """Binary cross-entropy on probabilities p ∈ [0, 1] with targets t ∈ [0, 1] and an
    optional per-element weight w (PyTorch's ``binary_cross_entropy``):

        ℓ = −w·[t·max(log p, −100) + (1 − t)·max(log(1 − p), −100)]

    The logs are clamped at −100 as PyTorch does, so p = 0 or 1 gives a finite loss (≤ 100·w)
    instead of inf. Backward (d log p/dp = 1/p, d log(1 − p)/dp = −1/(1 − p)):

        ∂ℓ/∂p = w·(−t/p + (1 − t)/(1 − p)) = w·(p − t) / (p(1 − p)),

    written, as in PyTorch, as w·(p − t)/max(p(1 − p), 1e-12) (finite at p ∈ {0, 1}; it is
    the derivative of the clamped loss wherever the clamps are inactive);
        ∂ℓ/∂t = −w·[max(log p, −100) − max(log(1 − p), −100)].
    ``differentiable_forward``: second derivatives differentiate this forward."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, p, t, weight, reduction):
        xp = ctx.xp
        t = t.astype(p.dtype, copy=False)
        log_p, log_q = _clamped_log(xp, p), _clamped_log(xp, 1 - p)
        loss = -(t * log_p + (1 - t) * log_q)
        if weight is not None:
            loss = loss * weight.astype(p.dtype)
        ctx.save_for_backward(p, t)
        ctx.weight, ctx.reduction, ctx.shape = weight, reduction, loss.shape
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        p, t = ctx.saved_tensors
        g = reduction_grad(xp, gy, ctx.shape, ctx.reduction)
        if ctx.weight is not None:
            g = g * ctx.weight.astype(p.dtype)
        dp = g * (p - t) / xp.maximum(p * (1 - p), 1e-12)
        dt = None
        if ctx.needs_input_grad[1]:
            dt = -g * (_clamped_log(xp, p) - _clamped_log(xp, 1 - p))
        return dp, dt


def _clamped_log(xp, a):
    """max(log a, −100) without evaluating log 0 (no divide-by-zero warning)."""
    positive = a > 0
    return xp.maximum(xp.where(positive, xp.log(xp.where(positive, a, 1)), -100.0), -100.0)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Binary cross-entropy on probabilities (``torch.nn.functional.binary_cross_entropy
    (input, target, weight=None, reduction='mean')``), elementwise over any shape:

        ℓ = −w·[t·log p + (1 − t)·log(1 − p)],   each log clamped at −100 as in PyTorch

    ``input`` p must lie in [0, 1] (checked: a RuntimeError otherwise, as in PyTorch);
    ``target`` t has p's shape; ``weight`` w broadcasts to it. 'mean' averages over every
    element. Backward: ∂ℓ/∂p = w·(p − t)/max(p(1 − p), 1e-12), ∂ℓ/∂t = −w·(log p − log(1 − p))
    (derivation in ``BinaryCrossEntropy``). Prefer ``binary_cross_entropy_with_logits`` on
    logits: it never rounds σ(z) to 0 or 1. Paper: the logistic log-loss (Cox 1958, "The
    Regression Analysis of Binary Sequences")."""
    op = "binary_cross_entropy"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    t = target if isinstance(target, Tensor) else const(target, input)
    check_same_shape(op, input, t)
    if t.dtype.kind not in "fiub":
        raise TypeError(f"{op}: target must be numeric, got {t.dtype}")
    x = input.data
    if x.size and not bool(((x >= 0) & (x <= 1)).all()):
        raise RuntimeError(f"{op}: all elements of input (shape {tuple(input.shape)}) should be "
                           "between 0 and 1 (pass probabilities, e.g. a sigmoid's output, or "
                           "use binary_cross_entropy_with_logits on logits)")
    w = None
    if weight is not None:
        w = const(weight, input).data
        try:
            w = xp_of(input).broadcast_to(w, tuple(input.shape))
        except ValueError:
            raise ValueError(f"{op}: weight of shape {tuple(w.shape)} does not broadcast to "
                             f"the input's shape {tuple(input.shape)}") from None
    return BinaryCrossEntropy.apply(input, t, w, reduction)


# ------------------------------------------------------------------ label smoothing
def label_smoothing_ce(input, target, smoothing=0.1, reduction="mean"):
    """Label-smoothing cross-entropy ("Towards Understanding Label Smoothing"; timm's
    ``LabelSmoothingCrossEntropy``): the target becomes q_ε = (1 − ε)·onehot(y) + ε/K and
    L = −Σ_k q_ε,k log p_k, so ∂L/∂z = p − q_ε. ε = 0.1 by default. This is
    ``cross_entropy(input, target, label_smoothing=ε)``; the two-stage schedule (TSLA:
    ε for the first epochs, then 0) lives in ``LabelSmoothingCrossEntropy``.

    Paper: Szegedy, Vanhoucke, Ioffe, Shlens & Wojna 2016, "Rethinking the Inception
    Architecture for Computer Vision".
    """
    check_floating("label_smoothing_ce", input=input)
    return cross_entropy(input, target, reduction=reduction, label_smoothing=smoothing)


# ------------------------------------------------------------------ KL divergence
class KLDiv(Function):
    """Pointwise KL term of PyTorch's ``kl_div`` (input x = log q, target t = p or log p):
        log_target=False:  ℓ = t·(log t − x)  (0 where t = 0: xlogy),
                           ∂ℓ/∂x = −t,  ∂ℓ/∂t = log t + 1 − x  (0 where t = 0);
        log_target=True:   ℓ = eᵗ·(t − x),   ∂ℓ/∂x = −eᵗ,  ∂ℓ/∂t = eᵗ·(t − x + 1)."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, x, t, log_target, reduction):
        xp = ctx.xp
        t = t.astype(x.dtype, copy=False)
        if log_target:
            et = xp.exp(t)
            loss = et * (t - x)
        else:
            pos = t > 0
            log_t = xp.log(xp.where(pos, t, 1))
            loss = xp.where(pos, t * (log_t - x), 0)
        ctx.save_for_backward(x, t)
        ctx.log_target, ctx.reduction, ctx.shape = log_target, reduction, x.shape
        if reduction == "batchmean":
            return loss.sum() / x.shape[0]
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        x, t = ctx.saved_tensors
        if ctx.reduction == "batchmean":
            g = xp.broadcast_to(gy / x.shape[0], x.shape)
        else:
            g = reduction_grad(xp, gy, ctx.shape, ctx.reduction)
        if ctx.log_target:
            et = xp.exp(t)
            dx = -g * et
            dt = g * et * (t - x + 1) if ctx.needs_input_grad[1] else None
        else:
            dx = -g * t
            dt = None
            if ctx.needs_input_grad[1]:
                pos = t > 0
                dt = xp.where(pos, g * (xp.log(xp.where(pos, t, 1)) + 1 - x), 0)
        return dx, dt


def kl_div_loss(input, target, reduction="mean", log_target=False):
    """KL divergence KL(t ‖ q) = Σ t (log t − log q) with ``input`` = log q (log-probabilities,
    e.g. ``log_softmax(z)``) and ``target`` = t (or log t with ``log_target=True``): PyTorch's
    ``F.kl_div``. Reductions: 'mean' (over every element, PyTorch's default), 'batchmean'
    (sum / batch size: the actual KL per sample, what distillation wants), 'sum', 'none'.
    For q = softmax(z) and a fixed t with Σt = 1 the gradient w.r.t. z is q − t.
    Derivation of the pointwise gradients in ``KLDiv``.

    Paper: Kullback & Leibler 1951, "On Information and Sufficiency".
    """
    op = "kl_div_loss"
    check_reduction(op, reduction, ("mean", "batchmean", "sum", "none"))
    check_floating(op, input=input)
    t = target if isinstance(target, Tensor) else const(target, input)
    check_same_shape(op, input, t)
    return KLDiv.apply(input, t, bool(log_target), reduction)


kl_div = kl_div_loss


# ------------------------------------------------------------------ calibration
def temperature_scaling(logits, target, temperature, reduction="mean"):
    """The temperature-scaling objective ("On Calibration of Modern Neural Networks"):
    NLL of softmax(z/T) on held-out data, minimised over the single scalar T > 0 while the
    network (so the logits) stays frozen — pass detached logits.
        ∂/∂T CE(z/T, y) = Σ_k (softmax(z/T)_k − q_k)·(−z_k/T²)
    (the CE gradient (p − q) chained through z/T). ``TemperatureScaling`` parameterises
    T = eᵗ (so dt = T·dT) and fits it; ``expected_calibration_error`` measures the result.

    Paper: Guo, Pleiss, Sun & Weinberger 2017, "On Calibration of Modern Neural Networks".
    """
    check_floating("temperature_scaling", logits=logits)
    return cross_entropy(logits / scalar_param(temperature, logits), target, reduction=reduction)


def expected_calibration_error(probs, labels, n_bins=15):
    """Expected calibration error (Guo et al. 2017), a metric with no gradient:
    ECE = Σ_m (|B_m|/n)·|acc(B_m) − conf(B_m)| over ``n_bins`` equal-width confidence bins
    (lo, hi] of the top-class probability. ``probs`` (N, C) are probabilities (apply a
    softmax to logits first); returns a Python float.

    Paper: Naeini, Cooper & Hauskrecht 2015, "Obtaining Well Calibrated Probabilities Using
    Bayesian Binning".
    """
    import numpy
    p = probs.numpy() if isinstance(probs, Tensor) else numpy.asarray(
        probs.get() if hasattr(probs, "get") else probs)
    y = labels.numpy() if isinstance(labels, Tensor) else numpy.asarray(
        labels.get() if hasattr(labels, "get") else labels)
    if p.ndim != 2 or y.shape != (p.shape[0],):
        raise ValueError(f"expected_calibration_error: probs must be (N, C) and labels (N,), "
                         f"got {p.shape} and {y.shape}")
    conf = p.max(axis=1)
    correct = p.argmax(axis=1) == y
    edges = numpy.linspace(0.0, 1.0, n_bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            ece += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    return float(ece)


# ------------------------------------------------------------------ mixup / CutMix
def mixup_loss(input, target_a, target_b, lam, reduction="mean", label_smoothing=0.0):
    """Mixup/CutMix loss: the soft-target CE with ỹ = λ·y_a + (1 − λ)·y_b, which for hard
    labels is λ·CE(z, y_a) + (1 − λ)·CE(z, y_b) (CE is linear in the target).
    ∂/∂z = p − ỹ; λ, the permutation and the box are constants. Make the batch with
    ``minigrad.training.mixup`` or ``minigrad.training.cutmix`` (both return x̃, y_a, y_b, λ).

    Paper: Zhang, Cisse, Dauphin & Lopez-Paz 2018, "mixup: Beyond Empirical Risk Minimization".
    """
    check_floating("mixup_loss", input=input)
    lam = float(lam)
    kw = dict(reduction=reduction, label_smoothing=label_smoothing)
    return lam * cross_entropy(input, target_a, **kw) + (1 - lam) * cross_entropy(input, target_b, **kw)


# ------------------------------------------------------------------ entropy
def entropy_loss(input, activation="softmax", reduction="mean"):
    """Prediction entropy of logits (EntMin in VAT, TENT test-time adaptation; maximise it
    with a negative weight). Softmax over axis 1: H = −Σ_c p_c log p_c, computed from
    log_softmax, with ∂H/∂z = −p ⊙ (log p + H). Sigmoid (per label, summed over axis 1):
    H = −p log p − (1 − p) log(1 − p) = softplus(z) − z·σ(z), with ∂H/∂z = −z·σ(z)(1 − σ(z)).
    'none' gives one entropy per sample (and position).

    Primitive (Shannon entropy; no introducing paper).
    """
    op = "entropy_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    if input.ndim < 2:
        raise ValueError(f"{op}: logits must be (N, C, ...), got shape {tuple(input.shape)}")
    if activation == "softmax":
        logp = log_softmax(input, axis=1)
        h = -(exp(logp) * logp).sum(axis=1)
    elif activation == "sigmoid":
        h = (softplus(input) - input * sigmoid(input)).sum(axis=1)
    else:
        raise ValueError(f"{op}: activation must be 'softmax' or 'sigmoid', got {activation!r}")
    return reduce(h, reduction, op)


# ------------------------------------------------------------------ Modules
class CrossEntropyLoss(LossModule):
    """``nn.CrossEntropyLoss(weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0)``.

    ℓ_n = −Σ_c T_nc log softmax(z_n)_c,  ∂ℓ_n/∂z_n = softmax(z_n)·Σ_c T_nc − T_n; backward
    ``CrossEntropyHard`` / ``CrossEntropySoft`` (see ``F.cross_entropy``).
    Paper (softmax outputs trained by cross-entropy): Bridle 1990, "Probabilistic
    Interpretation of Feedforward Classification Network Outputs, with Relationships to
    Statistical Pattern Recognition".
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                             self.label_smoothing)


class NLLLoss(LossModule):
    """``nn.NLLLoss(weight=None, ignore_index=-100, reduction='mean')`` on log-probabilities.

    ℓ_n = −w_{y_n}·x_{n, y_n},  ∂ℓ_n/∂x_{n, y_n} = −w_{y_n} (see ``F.nll_loss``).
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.ignore_index = ignore_index
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCEWithLogitsLoss(LossModule):
    """``nn.BCEWithLogitsLoss(weight=None, reduction='mean', pos_weight=None)``.

    ℓ = −[w₊·t·log σ(z) + (1 − t)·log(1 − σ(z))]; backward ``BCEWithLogits`` (see
    ``F.bce_with_logits``). Paper: Cox 1958, "The Regression Analysis of Binary Sequences".
    """

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return bce_with_logits(input, target, self.weight, self.reduction, self.pos_weight)


class BCELoss(LossModule):
    """``nn.BCELoss(weight=None, size_average=None, reduce=None, reduction='mean')``:
    binary cross-entropy on probabilities, ℓ = −w·[t·log p + (1 − t)·log(1 − p)] with each
    log clamped at −100 as in PyTorch (``F.binary_cross_entropy``; backward: the Function
    ``BinaryCrossEntropy``). ``size_average``/``reduce`` are PyTorch's deprecated switches,
    mapped to ``reduction`` the same way ('none' if reduce is False, else 'sum' if
    size_average is False, else 'mean'). The logistic log-loss: Cox 1958, "The Regression
    Analysis of Binary Sequences"."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        if size_average is not None or reduce is not None:
            reduction = ("none" if reduce is False else
                         "sum" if size_average is False else "mean")
        super().__init__(reduction)
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return binary_cross_entropy(input, target, self.weight, self.reduction)


class LabelSmoothingCrossEntropy(LossModule):
    """Label-smoothing CE with ε = ``smoothing``; with ``two_stage_epoch`` T₁ it is TSLA
    (Two-Stage LAbel smoothing): ε for epochs < T₁, then plain CE. Call ``set_epoch(e)``
    at the start of each epoch.

    q = (1 − ε)·onehot(y) + ε/K,  ℓ = −Σ_k q_k log p_k,  ∂ℓ/∂z = p − q.
    Papers: Szegedy, Vanhoucke, Ioffe, Shlens & Wojna 2016, "Rethinking the Inception
    Architecture for Computer Vision"; TSLA: Xu et al. 2020, "Towards Understanding Label
    Smoothing".
    """

    def __init__(self, smoothing=0.1, two_stage_epoch=None, reduction="mean"):
        super().__init__(reduction)
        self.smoothing, self.two_stage_epoch, self.epoch = smoothing, two_stage_epoch, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    @property
    def current_smoothing(self):
        if self.two_stage_epoch is not None and self.epoch >= self.two_stage_epoch:
            return 0.0
        return self.smoothing

    def forward(self, input, target):
        return label_smoothing_ce(input, target, self.current_smoothing, self.reduction)


class KLDivLoss(LossModule):
    """``nn.KLDivLoss(reduction='mean', log_target=False)`` (input = log-probabilities)."""

    def __init__(self, reduction="mean", log_target=False):
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return kl_div_loss(input, target, self.reduction, self.log_target)


class TemperatureScaling(LossModule):
    """Post-hoc calibration by one temperature T = exp(``log_temperature``) (a Parameter,
    initialised at T = 1.5 as in gpleiss/temperature_scaling). ``forward(logits)`` returns
    the calibrated logits z/T; ``loss(logits, labels)`` the NLL to minimise over T; ``fit``
    minimises it directly: CE(β·z) is convex in β = 1/T (its second derivative is the
    variance of z under softmax(βz)), so a safeguarded Newton iteration on β converges.

    Paper: Guo, Pleiss, Sun & Weinberger 2017, "On Calibration of Modern Neural Networks".
    """

    def __init__(self, init_temperature=1.5):
        super().__init__("mean")
        self.log_temperature = Parameter(Tensor(math.log(init_temperature)))

    @property
    def temperature(self):
        return exp(self.log_temperature.reshape(1))

    def forward(self, logits):
        return logits / self.temperature

    def loss(self, logits, labels):
        return temperature_scaling(logits, labels, self.temperature)

    def fit(self, logits, labels, max_iter=50, tol=1e-10):
        """Set T to the NLL minimiser on (``logits``, ``labels``); returns T (a float)."""
        xp = xp_of(logits)
        z = (logits.data if isinstance(logits, Tensor) else xp.asarray(logits)).astype("float64")
        y = const(labels, logits).data
        rows = xp.arange(z.shape[0])
        beta = 1.0 / float(self.temperature.item())

        def nll(b):
            return float(-log_softmax_array(xp, b * z, -1)[rows, y].mean())

        for _ in range(max_iter):
            p = xp.exp(log_softmax_array(xp, beta * z, -1))
            mean_z = (p * z).sum(axis=1)
            grad = float((mean_z - z[rows, y]).mean())
            hess = float(((p * z * z).sum(axis=1) - mean_z ** 2).mean())
            step = grad / hess if hess > 0 else grad
            new = beta - step
            while new <= 0 or nll(new) > nll(beta) + 1e-15:
                step *= 0.5
                new = beta - step
                if abs(step) < 1e-15:
                    new = beta
                    break
            done = abs(new - beta) < tol * max(1.0, beta)
            beta = new
            if done:
                break
        with no_grad():
            self.log_temperature.data[...] = -math.log(beta)
        return 1.0 / beta


class MixupLoss(LossModule):
    """λ·CE(z, y_a) + (1 − λ)·CE(z, y_b); ``forward(input, target_a, target_b, lam)``.

    ℓ = λ·CE(z, y_a) + (1 − λ)·CE(z, y_b), ∂ℓ/∂z = p − ỹ (see ``F.mixup_loss``).
    Paper: Zhang, Cisse, Dauphin & Lopez-Paz 2018, "mixup: Beyond Empirical Risk Minimization".
    """

    def __init__(self, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        self.label_smoothing = label_smoothing

    def forward(self, input, target_a, target_b, lam):
        return mixup_loss(input, target_a, target_b, lam, self.reduction, self.label_smoothing)


class EntropyLoss(LossModule):
    """Prediction entropy (softmax or sigmoid) of logits: H = −Σ_c p_c log p_c (see ``F.entropy_loss``)."""

    def __init__(self, activation="softmax", reduction="mean"):
        super().__init__(reduction)
        self.activation = activation

    def forward(self, input):
        return entropy_loss(input, self.activation, self.reduction)


# ------------------------------------------------------------------ registry
def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    ce_papers = ["Self-Knowledge Distillation with Progressive Refinement of Targets",
                 "Cross-Entropy Loss Functions: Theoretical Analysis and Applications",
                 "Loss Functions and Metrics in Deep Learning",
                 "Maintaining Discrimination and Fairness in Class Incremental Learning",
                 "Deep Learning on a Data Diet: Finding Important Examples Early in Training",
                 "Continual Test-Time Domain Adaptation",
                 "weighted CapsuleNet networks for Persian multi-domain sentiment analysis"]

    def soft(r, *shape):
        e = r.random(shape) + 0.1
        return e / e.sum(axis=1, keepdims=True)

    def ce_cases(r):
        w = r.random(4) + 0.5
        y_ign = r.integers(0, 4, 6)
        y_ign[[1, 4]] = -100
        return [Case(n(r, 5, 4), r.integers(0, 4, 5)),
                Case(n(r, 6, 4), y_ign, weight=w, label_smoothing=0.1),
                Case(n(r, 6, 4), r.integers(0, 4, 6), weight=w, reduction="sum"),
                Case(n(r, 3, 4, 2), r.integers(0, 4, (3, 2)), reduction="none", label_smoothing=0.2),
                Case(n(r, 4, 3), soft(r, 4, 3), weight=r.random(3) + 0.5, label_smoothing=0.1),
                Case(n(r, 2, 3, 2), soft(r, 2, 3, 2), reduction="none")]

    register(cross_entropy, kind="loss", catalog_id="L001", module=CrossEntropyLoss,
             papers=ce_papers, inputs=ce_cases)
    register(bce_with_logits, kind="loss", catalog_id="L002", module=BCEWithLogitsLoss,
             aliases=["binary_cross_entropy_with_logits"],
             papers=["From Logistic Regression to the Perceptron Algorithm: Exploring Gradient "
                     "Descent with Large Step Sizes", "Loss Functions and Metrics in Deep Learning",
                     "CatLIP: CLIP-level Visual Recognition Accuracy with 2.7x Faster Pre-training "
                     "on Web-scale Image-Text Data", "Asymmetric Loss For Multi-Label Classification"],
             inputs=lambda r: [Case(2 * n(r, 4, 3), r.random((4, 3))),
                               Case(2 * n(r, 4, 3), r.integers(0, 2, (4, 3)).astype(float), wrt=(0,),
                                    pos_weight=r.random(3) + 0.5, weight=r.random((4, 3)),
                                    reduction="sum"),
                               Case(n(r, 5), r.random(5), reduction="none")])
    # the probability form of L002: PyTorch's name, no catalog row of its own (L002 is
    # bce_with_logits)
    register(binary_cross_entropy, kind="loss", catalog_id=None, module=BCELoss,
             papers=["The Regression Analysis of Binary Sequences",
                     "Loss Functions and Metrics in Deep Learning"],
             inputs=lambda r: [Case(r.uniform(0.05, 0.95, (4, 3)), r.random((4, 3))),
                               Case(r.uniform(0.05, 0.95, (4, 3)),
                                    r.integers(0, 2, (4, 3)).astype(float), wrt=(0,),
                                    weight=r.random((4, 3)) + 0.5, reduction="sum"),
                               Case(r.uniform(0.05, 0.95, 5), r.random(5), r.random(5) + 0.5,
                                    wrt=(0, 1), reduction="none"),
                               Case(r.uniform(0.05, 0.95, (3, 2)), r.random((3, 2)), wrt=(0,),
                                    weight=r.random(2) + 0.5)])
    register(label_smoothing_ce, kind="loss", catalog_id="L003", module=LabelSmoothingCrossEntropy,
             papers=["Towards Understanding Label Smoothing",
                     "MaxSup: Overcoming Representation Collapse in Label Smoothing",
                     "ACLS: Adaptive and Conditional Label Smoothing for Network Calibration",
                     "A Study on Broadcast Networks for Music Genre Classification",
                     "Spurious Feature Diversification Improves Out-of-distribution Generalization",
                     "Oscillation-free Quantization for Low-bit Vision Transformers"],
             inputs=lambda r: [Case(n(r, 5, 4), r.integers(0, 4, 5)),
                               Case(n(r, 4, 3), r.integers(0, 3, 4), smoothing=0.3, reduction="none")])

    def kl_cases(r):
        t = soft(r, 4, 3)
        t[0, 1] = 0.0
        logq = n(r, 4, 3)
        return [Case(logq, t, wrt=(0,), reduction="batchmean"),
                Case(n(r, 3, 4), soft(r, 3, 4)),
                Case(n(r, 3, 4), n(r, 3, 4), log_target=True, reduction="sum"),
                Case(n(r, 2, 3), soft(r, 2, 3), reduction="none")]

    register(kl_div_loss, kind="loss", catalog_id="L006", module=KLDivLoss, aliases=["kl_div"],
             papers=["Self-Knowledge Distillation with Progressive Refinement of Targets",
                     "Loss Functions and Metrics in Deep Learning"], inputs=kl_cases)

    register(temperature_scaling, kind="loss", catalog_id="L010", module=TemperatureScaling,
             papers=["On Calibration of Modern Neural Networks"],
             inputs=lambda r: [Case(3 * n(r, 6, 4), r.integers(0, 4, 6), r.uniform(0.5, 2.0, ())),
                               Case(3 * n(r, 5, 3), r.integers(0, 3, 5), r.uniform(0.5, 2.0, (1,)),
                                    wrt=(1,), reduction="sum")])
    register(mixup_loss, kind="loss", catalog_id="L011", module=MixupLoss,
             papers=["Spurious Feature Diversification Improves Out-of-distribution Generalization",
                     "Knowledge distillation: A good teacher is patient and consistent",
                     "Re-labeling ImageNet: from Single to Multi-Labels, from Global to Localized Labels"],
             inputs=lambda r: [Case(n(r, 5, 4), r.integers(0, 4, 5), r.integers(0, 4, 5), 0.3),
                               Case(n(r, 4, 3), r.integers(0, 3, 4), r.integers(0, 3, 4), 0.8,
                                    reduction="none")])
    register(entropy_loss, kind="loss", catalog_id="L012", module=EntropyLoss,
             papers=["Virtual Adversarial Training: A Regularization Method for Supervised and "
                     "Semi-Supervised Learning",
                     "Acknowledging the Unknown for Multi-label Learning with Single Positive Labels",
                     "Continual Test-Time Domain Adaptation"],
             inputs=lambda r: [Case(n(r, 4, 5)), Case(n(r, 3, 4), activation="sigmoid", reduction="none"),
                               Case(n(r, 2, 3, 2), reduction="sum")])


_register_all()
