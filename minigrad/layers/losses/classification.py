"""Classification losses: cross-entropy (hard/soft targets, class weights, ignore_index,
label smoothing), NLL, binary cross-entropy with logits, focal losses, KL divergence,
the hinge family, entropy, temperature scaling (+ the ECE metric), mixup/CutMix and the
asymmetric multi-label loss.

The fused ones (cross-entropy, BCE-with-logits, KL, the focal and asymmetric losses) are
``Function``s with a hand-derived backward; the rest are short compositions of registered
ops. Logits with the class axis at position 1 follow PyTorch: (N, C) or (N, C, d1, ...).
"""
import math

from minigrad.autograd import Function, no_grad
from minigrad.layers.losses._common import (LossModule, check_reduction, const,
                                            log_softmax, log_softmax_array, reduce,
                                            reduce_array, reduction_grad, relu, scalar_param,
                                            sigmoid_array, softplus, softplus_array, xp_of)
from minigrad.layers.module import Parameter
from minigrad.ops.elementwise import exp, sigmoid
from minigrad.ops.indexing import masked_fill, take_along_axis
from minigrad.ops.reductions import max as reduce_max
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["cross_entropy", "nll_loss", "bce_with_logits", "binary_cross_entropy_with_logits",
           "label_smoothing_ce", "sigmoid_focal_loss", "softmax_focal_loss", "kl_div_loss",
           "kl_div", "hinge_loss", "crammer_singer_hinge_loss", "weston_watkins_hinge_loss",
           "temperature_scaling", "expected_calibration_error", "mixup_loss", "entropy_loss",
           "asymmetric_loss",
           "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "LabelSmoothingCrossEntropy",
           "SigmoidFocalLoss", "SoftmaxFocalLoss", "KLDivLoss", "HingeLoss",
           "CrammerSingerHingeLoss", "WestonWatkinsHingeLoss", "TemperatureScaling",
           "MixupLoss", "EntropyLoss", "AsymmetricLoss"]


def _rows(xp, z):
    """(N, C, d1, ...) → (M, C) with M = N·d1·…: the class axis last, then flattened."""
    return xp.moveaxis(z, 1, -1).reshape(-1, z.shape[1])


def _unrows(xp, g, shape):
    """The inverse of ``_rows``: (M, C) back to (N, C, d1, ...)."""
    moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return xp.moveaxis(g.reshape(moved), -1, 1)


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
    @staticmethod
    def forward(ctx, z, y, weight, smoothing, ignore_index, reduction):
        xp = ctx.xp
        n_classes = z.shape[1]
        logp = log_softmax_array(xp, _rows(xp, z), -1)
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
        return _unrows(xp, dz, ctx.shape), None


class CrossEntropySoft(Function):
    """Softmax cross-entropy with probability targets t (the input's shape):
        ℓ = −Σ_c T_c log p_c,  T = w ⊙ ((1 − ε)·t + ε/C),  p = softmax(z);
        ∂ℓ/∂z = (Σ_c T_c)·p − T   (= p − t when Σt = 1, no weights, no smoothing);
        ∂ℓ/∂t_c = −(1 − ε)·w_c·log p_c   (when the target itself requires a gradient).
    'mean' divides by the number of rows (N·d1·…), as PyTorch does for soft targets."""
    @staticmethod
    def forward(ctx, z, t, weight, smoothing, reduction):
        xp = ctx.xp
        n_classes = z.shape[1]
        logp = log_softmax_array(xp, _rows(xp, z), -1)
        tt = _rows(xp, t.astype(z.dtype, copy=False))
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
            dt = _unrows(xp, -(1 - ctx.smoothing) * g[:, None] * w * logp, ctx.shape)
        return _unrows(xp, dz, ctx.shape), dt


def _class_targets(op, input, target, ignore_index=None):
    """Check integer class targets against logits (N, C, d1, ...): dtype, shape and range."""
    n_classes = input.shape[1]
    expected = (input.shape[0],) + tuple(input.shape[2:])
    y = const(target, input).data
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: class-index targets must have an integer dtype, got {y.dtype} with shape "
            f"{tuple(y.shape)} for logits of shape {tuple(input.shape)}; pass integer labels "
            f"of shape {expected} with values in [0, {n_classes})"
            + (", or probability targets (floating point) of the logits' shape"
               if op == "cross_entropy" else ""))
    if tuple(y.shape) != expected:
        raise ValueError(f"{op}: target of shape {tuple(y.shape)} does not match logits of "
                         f"shape {tuple(input.shape)}: class-index targets need shape {expected} "
                         f"(the logits without their class axis 1)")
    keep = y != ignore_index if ignore_index is not None else None
    bad = (y < 0) | (y >= n_classes)
    if keep is not None:
        bad &= keep
    if y.size and bool(bad.any()):
        first = int(xp_of(y).argmax(bad.reshape(-1)))
        value = int(y.reshape(-1)[first])
        extra = f" (or ignore_index={ignore_index})" if ignore_index is not None else ""
        raise IndexError(f"{op}: target value {value} at flat position {first} is out of range "
                         f"for {n_classes} classes: valid class indices are [0, {n_classes})"
                         + extra)
    return y


def _batched(op, input, target):
    """Unbatched logits (C,) with a scalar (or (C,) soft) target become a batch of one."""
    if input.ndim == 0:
        raise ValueError(f"{op}: logits must have a class axis, got a 0-d tensor")
    if input.ndim == 1:
        t = target if isinstance(target, Tensor) else const(target, input)
        return input.reshape(1, input.shape[0]), t.reshape((1,) + tuple(t.shape)), True
    return input, target, False


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
    t ← (1 − ε)·t + ε/C (Szegedy et al. 2016; "Towards Understanding Label Smoothing").

        ℓ_n = −Σ_c T_nc log softmax(z_n)_c,   ∂ℓ_n/∂z_n = (Σ_c T_nc)·softmax(z_n) − T_n

    (see ``CrossEntropyHard``/``CrossEntropySoft`` for the derivation). A batch where
    every target is ignored gives loss 0 and zero gradients with 'mean' (PyTorch: NaN).
    Per-sample weights: ``(cross_entropy(z, y, reduction='none') * w).sum() / w.sum()``.
    """
    op = "cross_entropy"
    check_reduction(op, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    input, target, unbatched = _batched(op, input, target)
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
        y = _class_targets(op, input, t, ignore_index)
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
    input, target, unbatched = _batched(op, input, target)
    y = _class_targets(op, input, target, ignore_index)
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
    Gradient: ∂ℓ/∂z = (w₊t + 1 − t)σ(z) − w₊t (derivation in ``BCEWithLogits``)."""
    op = "bce_with_logits"
    check_reduction(op, reduction)
    t = target if isinstance(target, Tensor) else const(target, input)
    if tuple(t.shape) != tuple(input.shape):
        raise ValueError(f"{op}: target of shape {tuple(t.shape)} must have the input's shape "
                         f"{tuple(input.shape)}")
    if t.dtype.kind not in "fiub":
        raise TypeError(f"{op}: target must be numeric, got {t.dtype}")
    w = None if weight is None else const(weight, input).data
    pw = None if pos_weight is None else const(pos_weight, input).data
    return BCEWithLogits.apply(input, t, w, pw, reduction)


binary_cross_entropy_with_logits = bce_with_logits


# ------------------------------------------------------------------ label smoothing
def label_smoothing_ce(input, target, smoothing=0.1, reduction="mean"):
    """Label-smoothing cross-entropy ("Towards Understanding Label Smoothing"; timm's
    ``LabelSmoothingCrossEntropy``): the target becomes q_ε = (1 − ε)·onehot(y) + ε/K and
    L = −Σ_k q_ε,k log p_k, so ∂L/∂z = p − q_ε. ε = 0.1 by default. This is
    ``cross_entropy(input, target, label_smoothing=ε)``; the two-stage schedule (TSLA:
    ε for the first epochs, then 0) lives in ``LabelSmoothingCrossEntropy``."""
    return cross_entropy(input, target, reduction=reduction, label_smoothing=smoothing)


# ------------------------------------------------------------------ focal losses
class SigmoidFocal(Function):
    """Sigmoid focal loss (Lin et al. 2017) for targets t ∈ [0, 1], torchvision's form:
        p = σ(z), ce = softplus(z) − z·t (BCE with logits), m = 1 − p_t = t(1 − p) + p(1 − t),
        α_t = α·t + (1 − α)(1 − t)  (α < 0: no weighting),   FL = α_t·ce·m^γ.
    Backward, with dp/dz = p(1 − p), ∂ce/∂z = p − t and ∂m/∂z = (1 − 2t)·p(1 − p):
        ∂FL/∂z = α_t·[(p − t)·m^γ + γ·ce·m^(γ−1)·(1 − 2t)·p(1 − p)].
    For t ∈ {0, 1} this is the paper's α_t(1 − p_t)^γ(γ·p_t·log p_t + p_t − 1)·(±1).
    m^(γ−1) is evaluated with m clamped at the smallest normal float (finite for γ < 1)."""
    @staticmethod
    def forward(ctx, z, t, alpha, gamma, reduction):
        xp = ctx.xp
        t = t.astype(z.dtype, copy=False)
        p = sigmoid_array(xp, z)
        ce = softplus_array(xp, z) - z * t
        m = t * (1 - p) + p * (1 - t)
        at = alpha * t + (1 - alpha) * (1 - t) if alpha >= 0 else xp.ones_like(t)
        loss = at * ce * m ** gamma
        ctx.save_for_backward(p, t, ce, m, at)
        ctx.gamma, ctx.reduction, ctx.shape = gamma, reduction, loss.shape
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        p, t, ce, m, at = ctx.saved_tensors
        gamma = ctx.gamma
        g = reduction_grad(xp, gy, ctx.shape, ctx.reduction)
        d = (p - t) * m ** gamma
        if gamma != 0:
            safe = xp.maximum(m, xp.finfo(m.dtype).tiny)
            d = d + gamma * ce * safe ** (gamma - 1) * (1 - 2 * t) * p * (1 - p)
        return g * at * d, None


def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """Sigmoid focal loss ("Focal Loss for Dense Object Detection"), torchvision's
    ``sigmoid_focal_loss`` (same arguments, default reduction 'none'):
    FL = −α_t (1 − p_t)^γ log p_t with p = σ(z); α = 0.25, γ = 2; ``alpha < 0`` disables
    the α weighting. RetinaNet sums FL over anchors and divides by the number of positive
    anchors (do that with reduction='sum'), and initialises the classifier bias to
    −log((1 − π)/π), π = 0.01. Targets get no gradient. Backward: see ``SigmoidFocal``."""
    op = "sigmoid_focal_loss"
    check_reduction(op, reduction)
    t = const(targets, inputs)
    if tuple(t.shape) != tuple(inputs.shape):
        raise ValueError(f"{op}: targets of shape {tuple(t.shape)} must have the inputs' shape "
                         f"{tuple(inputs.shape)}")
    return SigmoidFocal.apply(inputs, t, float(alpha), float(gamma), reduction)


class SoftmaxFocal(Function):
    """Softmax focal loss: with a = log p_y (log-softmax) and p_y = eᵃ,
        FL = −α_y·(1 − p_y)^γ·a.
    ∂a/∂z_k = q_k − p_k (q = onehot(y)), ∂p_y/∂a = p_y, hence
        ∂FL/∂z_k = α_y·[γ(1 − p_y)^(γ−1)·p_y·a − (1 − p_y)^γ]·(q_k − p_k),
    with (1 − p_y) clamped at the smallest normal float in the γ − 1 power."""
    @staticmethod
    def forward(ctx, z, y, alpha, gamma, reduction):
        xp = ctx.xp
        logp = log_softmax_array(xp, _rows(xp, z), -1)
        y = y.reshape(-1)
        rows = xp.arange(y.shape[0])
        a = logp[rows, y]
        one_minus = -xp.expm1(a)
        ay = xp.ones_like(a) if alpha is None else alpha.astype(z.dtype)[y]
        loss = -ay * one_minus ** gamma * a
        ctx.save_for_backward(logp, y, a, one_minus, ay)
        ctx.gamma, ctx.reduction, ctx.shape = gamma, reduction, z.shape
        if reduction == "none":
            return loss.reshape((z.shape[0],) + z.shape[2:])
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        logp, y, a, one_minus, ay = ctx.saved_tensors
        gamma = ctx.gamma
        g = reduction_grad(xp, gy.reshape(-1) if ctx.reduction == "none" else gy,
                           a.shape, ctx.reduction)
        da = -one_minus ** gamma
        if gamma != 0:
            safe = xp.maximum(one_minus, xp.finfo(a.dtype).tiny)
            da = da + gamma * safe ** (gamma - 1) * xp.exp(a) * a
        coef = g * ay * da
        dz = -coef[:, None] * xp.exp(logp)
        dz[xp.arange(y.shape[0]), y] += coef
        return _unrows(xp, dz, ctx.shape), None


def softmax_focal_loss(input, target, gamma=2.0, alpha=None, reduction="mean"):
    """Multi-class (softmax) focal loss ("Focal Loss for Dense Object Detection"):
    FL = −α_y (1 − p_y)^γ log p_y with p = softmax(z) over axis 1 (γ = 0 gives CE);
    ``alpha`` is an optional per-class weight (C,); 'mean' averages over samples.
    Used as a long-tail baseline (Saddle-LongTail). Backward: see ``SoftmaxFocal``."""
    op = "softmax_focal_loss"
    check_reduction(op, reduction)
    input, target, unbatched = _batched(op, input, target)
    y = _class_targets(op, input, target)
    a = None if alpha is None else const(alpha, input).data
    if a is not None and tuple(a.shape) != (input.shape[1],):
        raise ValueError(f"{op}: alpha of shape {tuple(a.shape)} must have one weight per class "
                         f"({input.shape[1]},)")
    out = SoftmaxFocal.apply(input, Tensor._wrap(y), a, float(gamma), reduction)
    return out.reshape(()) if unbatched and reduction == "none" else out


# ------------------------------------------------------------------ KL divergence
class KLDiv(Function):
    """Pointwise KL term of PyTorch's ``kl_div`` (input x = log q, target t = p or log p):
        log_target=False:  ℓ = t·(log t − x)  (0 where t = 0: xlogy),
                           ∂ℓ/∂x = −t,  ∂ℓ/∂t = log t + 1 − x  (0 where t = 0);
        log_target=True:   ℓ = eᵗ·(t − x),   ∂ℓ/∂x = −eᵗ,  ∂ℓ/∂t = eᵗ·(t − x + 1)."""
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
    Derivation of the pointwise gradients in ``KLDiv``."""
    op = "kl_div_loss"
    check_reduction(op, reduction, ("mean", "batchmean", "sum", "none"))
    t = target if isinstance(target, Tensor) else const(target, input)
    if tuple(t.shape) != tuple(input.shape):
        raise ValueError(f"{op}: target of shape {tuple(t.shape)} must have the input's shape "
                         f"{tuple(input.shape)}")
    return KLDiv.apply(input, t, bool(log_target), reduction)


kl_div = kl_div_loss


# ------------------------------------------------------------------ hinge family
def hinge_loss(input, target, margin=1.0, power=1, reduction="mean"):
    """Binary hinge loss for labels y ∈ {−1, +1} and scores f: ℓ = max(0, margin − y·f)^p,
    p = 1 (hinge, SVM) or 2 (squared hinge, C¹). Subgradient −p·y·max(0, margin − y·f)^(p−1)
    where the margin is violated, 0 elsewhere (0 at the kink)."""
    op = "hinge_loss"
    check_reduction(op, reduction)
    y = const(target, input, input.dtype)
    if tuple(y.shape) != tuple(input.shape):
        raise ValueError(f"{op}: target of shape {tuple(y.shape)} must have the input's shape "
                         f"{tuple(input.shape)}")
    if power not in (1, 2):
        raise ValueError(f"{op}: power must be 1 or 2, got {power}")
    loss = relu(margin - y * input)
    if power == 2:
        loss = loss * loss
    return reduce(loss, reduction, op)


def _target_logit(op, input, target):
    if input.ndim != 2:
        raise ValueError(f"{op}: scores must be (N, C), got shape {tuple(input.shape)}")
    y = _class_targets(op, input, target)
    xp = xp_of(input)
    onehot = xp.zeros(input.shape, dtype=bool)
    onehot[xp.arange(y.shape[0]), y] = True
    return y, onehot, take_along_axis(input, Tensor._wrap(y[:, None]), 1)


def crammer_singer_hinge_loss(input, target, margin=1.0, reduction="mean"):
    """Crammer–Singer multi-class hinge: ℓ = max(0, margin + max_{j≠y} z_j − z_y).
    Subgradient where active: +1 on the best wrong class j*, −1 on y (0 elsewhere)."""
    op = "crammer_singer_hinge_loss"
    check_reduction(op, reduction)
    y, onehot, zy = _target_logit(op, input, target)
    rival = reduce_max(masked_fill(input, Tensor._wrap(onehot), -math.inf), axis=1)
    return reduce(relu(margin + rival - zy.reshape(y.shape)), reduction, op)


def weston_watkins_hinge_loss(input, target, margin=1.0, p=1, weight=None,
                              divide_by_classes=False, reduction="mean"):
    """Weston–Watkins multi-class hinge: ℓ = Σ_{j≠y} w_y·max(0, margin + z_j − z_y)^p
    (p ∈ {1, 2}, optional class weights w). PyTorch's ``multi_margin_loss`` is this divided
    by C (``divide_by_classes=True``). Subgradient (p = 1): +w_y on every active j, and
    −w_y·(number of active j) on y."""
    op = "weston_watkins_hinge_loss"
    check_reduction(op, reduction)
    if p not in (1, 2):
        raise ValueError(f"{op}: p must be 1 or 2, got {p}")
    y, onehot, zy = _target_logit(op, input, target)
    terms = relu(margin + input - zy)
    if p == 2:
        terms = terms * terms
    terms = masked_fill(terms, Tensor._wrap(onehot), 0.0)
    if weight is not None:
        w = const(weight, input).data.astype(input.dtype)
        terms = terms * const(w[y][:, None], input)
    loss = terms.sum(axis=1)
    if divide_by_classes:
        loss = loss / input.shape[1]
    return reduce(loss, reduction, op)


# ------------------------------------------------------------------ calibration
def temperature_scaling(logits, target, temperature, reduction="mean"):
    """The temperature-scaling objective ("On Calibration of Modern Neural Networks"):
    NLL of softmax(z/T) on held-out data, minimised over the single scalar T > 0 while the
    network (so the logits) stays frozen — pass detached logits.
        ∂/∂T CE(z/T, y) = Σ_k (softmax(z/T)_k − q_k)·(−z_k/T²)
    (the CE gradient (p − q) chained through z/T). ``TemperatureScaling`` parameterises
    T = eᵗ (so dt = T·dT) and fits it; ``expected_calibration_error`` measures the result."""
    return cross_entropy(logits / scalar_param(temperature, logits), target, reduction=reduction)


def expected_calibration_error(probs, labels, n_bins=15):
    """Expected calibration error (Guo et al. 2017), a metric with no gradient:
    ECE = Σ_m (|B_m|/n)·|acc(B_m) − conf(B_m)| over ``n_bins`` equal-width confidence bins
    (lo, hi] of the top-class probability. ``probs`` (N, C) are probabilities (apply a
    softmax to logits first); returns a Python float."""
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
    ``minigrad.training.mixup`` or ``minigrad.training.cutmix`` (both return x̃, y_a, y_b, λ)."""
    lam = float(lam)
    kw = dict(reduction=reduction, label_smoothing=label_smoothing)
    return lam * cross_entropy(input, target_a, **kw) + (1 - lam) * cross_entropy(input, target_b, **kw)


# ------------------------------------------------------------------ entropy
def entropy_loss(input, activation="softmax", reduction="mean"):
    """Prediction entropy of logits (EntMin in VAT, TENT test-time adaptation; maximise it
    with a negative weight). Softmax over axis 1: H = −Σ_c p_c log p_c, computed from
    log_softmax, with ∂H/∂z = −p ⊙ (log p + H). Sigmoid (per label, summed over axis 1):
    H = −p log p − (1 − p) log(1 − p) = softplus(z) − z·σ(z), with ∂H/∂z = −z·σ(z)(1 − σ(z)).
    'none' gives one entropy per sample (and position)."""
    op = "entropy_loss"
    check_reduction(op, reduction)
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


# ------------------------------------------------------------------ asymmetric loss
class Asymmetric(Function):
    """Asymmetric loss (Ridnik et al. 2021), official code, for binary multi-label targets y:
        p = σ(z);  positives: L₊ = (1 − p)^γ₊·log max(p, eps);
        negatives: p_m = max(p − clip, 0) (probability shifting), L₋ = p_m^γ₋·log max(1 − p_m, eps);
        ℓ = −(y·L₊ + (1 − y)·L₋).
    With w the focusing weight and L the log term, ∂ℓ/∂z = −(w·∂L/∂z + L·∂w/∂z):
        positives: ∂L/∂z = (1 − p)·1[p > eps],  ∂w/∂z = −γ₊(1 − p)^γ₊·p;
        negatives: ∂p_m/∂z = p(1 − p)·1[p > clip],  ∂L/∂z = −∂p_m/∂z/(1 − p_m),
                   ∂w/∂z = γ₋·p_m^(γ₋−1)·∂p_m/∂z   (easy negatives p ≤ clip: no gradient).
    ``detach_focal=True`` is the official ``disable_torch_grad_focal_loss``: the weights are
    constants, so ∂ℓ/∂z = −w·∂L/∂z — a documented rule, not the derivative of ℓ."""
    @staticmethod
    def forward(ctx, z, y, gamma_neg, gamma_pos, clip, eps, detach_focal, reduction):
        xp = ctx.xp
        y = y.astype(z.dtype, copy=False)
        p = sigmoid_array(xp, z)
        pm = xp.maximum(p - clip, 0) if clip > 0 else p
        log_pos = xp.log(xp.maximum(p, eps))
        log_neg = xp.log(xp.maximum(1 - pm, eps))
        w_pos = (1 - p) ** gamma_pos
        w_neg = pm ** gamma_neg
        loss = -(y * w_pos * log_pos + (1 - y) * w_neg * log_neg)
        ctx.save_for_backward(p, pm, y, log_pos, log_neg, w_pos, w_neg)
        ctx.args = gamma_neg, gamma_pos, clip, eps, detach_focal
        ctx.reduction, ctx.shape = reduction, loss.shape
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        p, pm, y, log_pos, log_neg, w_pos, w_neg = ctx.saved_tensors
        gamma_neg, gamma_pos, clip, eps, detach_focal = ctx.args
        g = reduction_grad(xp, gy, ctx.shape, ctx.reduction)
        dlog_pos = (1 - p) * (p > eps)
        dpm = p * (1 - p) * (p > clip) if clip > 0 else p * (1 - p)
        dlog_neg = -dpm / (1 - pm) * ((1 - pm) > eps)
        d_pos = w_pos * dlog_pos
        d_neg = w_neg * dlog_neg
        if not detach_focal:
            d_pos = d_pos - gamma_pos * w_pos * p * log_pos
            if gamma_neg != 0:
                safe = xp.where(pm > 0, pm, 1)
                d_neg = d_neg + log_neg * xp.where(pm > 0, gamma_neg * safe ** (gamma_neg - 1), 0) * dpm
        return -g * (y * d_pos + (1 - y) * d_neg), None


def asymmetric_loss(input, target, gamma_neg=4.0, gamma_pos=0.0, clip=0.05, eps=1e-8,
                    detach_focal=False, reduction="sum"):
    """Asymmetric Loss for multi-label classification ("Asymmetric Loss For Multi-Label
    Classification"): asymmetric focusing (γ₋ = 4, γ₊ = 0) plus probability shifting of
    negatives by ``clip`` = 0.05, on binary targets of the logits' shape. The official code
    returns the sum (the default here). ``detach_focal=True`` reproduces the official
    ``disable_torch_grad_focal_loss`` (focusing weights without gradient). See ``Asymmetric``."""
    op = "asymmetric_loss"
    check_reduction(op, reduction)
    y = const(target, input)
    if tuple(y.shape) != tuple(input.shape):
        raise ValueError(f"{op}: target of shape {tuple(y.shape)} must have the input's shape "
                         f"{tuple(input.shape)}")
    return Asymmetric.apply(input, y, float(gamma_neg), float(gamma_pos), float(clip or 0.0),
                            float(eps), bool(detach_focal), reduction)


# ------------------------------------------------------------------ Modules
class CrossEntropyLoss(LossModule):
    """``nn.CrossEntropyLoss(weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0)``."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                             self.label_smoothing)


class NLLLoss(LossModule):
    """``nn.NLLLoss(weight=None, ignore_index=-100, reduction='mean')`` on log-probabilities."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.ignore_index = ignore_index
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCEWithLogitsLoss(LossModule):
    """``nn.BCEWithLogitsLoss(weight=None, reduction='mean', pos_weight=None)``."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return bce_with_logits(input, target, self.weight, self.reduction, self.pos_weight)


class LabelSmoothingCrossEntropy(LossModule):
    """Label-smoothing CE with ε = ``smoothing``; with ``two_stage_epoch`` T₁ it is TSLA
    (Two-Stage LAbel smoothing): ε for epochs < T₁, then plain CE. Call ``set_epoch(e)``
    at the start of each epoch."""

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


class SigmoidFocalLoss(LossModule):
    """Sigmoid focal loss Module (α = 0.25, γ = 2; reduction 'mean' here, 'none' in the functional)."""

    def __init__(self, alpha=0.25, gamma=2.0, reduction="mean"):
        super().__init__(reduction)
        self.alpha, self.gamma = alpha, gamma

    def forward(self, inputs, targets):
        return sigmoid_focal_loss(inputs, targets, self.alpha, self.gamma, self.reduction)


class SoftmaxFocalLoss(LossModule):
    """Softmax focal loss Module (γ = 2, optional per-class α)."""

    def __init__(self, gamma=2.0, alpha=None, reduction="mean"):
        super().__init__(reduction)
        self.gamma = gamma
        self.register_buffer("alpha", alpha)

    def forward(self, input, target):
        return softmax_focal_loss(input, target, self.gamma, self.alpha, self.reduction)


class KLDivLoss(LossModule):
    """``nn.KLDivLoss(reduction='mean', log_target=False)`` (input = log-probabilities)."""

    def __init__(self, reduction="mean", log_target=False):
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return kl_div_loss(input, target, self.reduction, self.log_target)


class HingeLoss(LossModule):
    """Binary (squared, ``power=2``) hinge loss for labels ±1."""

    def __init__(self, margin=1.0, power=1, reduction="mean"):
        super().__init__(reduction)
        self.margin, self.power = margin, power

    def forward(self, input, target):
        return hinge_loss(input, target, self.margin, self.power, self.reduction)


class CrammerSingerHingeLoss(LossModule):
    """Crammer–Singer multi-class hinge."""

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input, target):
        return crammer_singer_hinge_loss(input, target, self.margin, self.reduction)


class WestonWatkinsHingeLoss(LossModule):
    """Weston–Watkins multi-class hinge (``divide_by_classes=True`` is ``nn.MultiMarginLoss``)."""

    def __init__(self, margin=1.0, p=1, weight=None, divide_by_classes=False, reduction="mean"):
        super().__init__(reduction)
        self.margin, self.p, self.divide_by_classes = margin, p, divide_by_classes
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return weston_watkins_hinge_loss(input, target, self.margin, self.p, self.weight,
                                         self.divide_by_classes, self.reduction)


class TemperatureScaling(LossModule):
    """Post-hoc calibration by one temperature T = exp(``log_temperature``) (a Parameter,
    initialised at T = 1.5 as in gpleiss/temperature_scaling). ``forward(logits)`` returns
    the calibrated logits z/T; ``loss(logits, labels)`` the NLL to minimise over T; ``fit``
    minimises it directly: CE(β·z) is convex in β = 1/T (its second derivative is the
    variance of z under softmax(βz)), so a safeguarded Newton iteration on β converges."""

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
    """λ·CE(z, y_a) + (1 − λ)·CE(z, y_b); ``forward(input, target_a, target_b, lam)``."""

    def __init__(self, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        self.label_smoothing = label_smoothing

    def forward(self, input, target_a, target_b, lam):
        return mixup_loss(input, target_a, target_b, lam, self.reduction, self.label_smoothing)


class EntropyLoss(LossModule):
    """Prediction entropy (softmax or sigmoid) of logits."""

    def __init__(self, activation="softmax", reduction="mean"):
        super().__init__(reduction)
        self.activation = activation

    def forward(self, input):
        return entropy_loss(input, self.activation, self.reduction)


class AsymmetricLoss(LossModule):
    """ASL Module (γ₋ = 4, γ₊ = 0, clip 0.05, eps 1e-8, sum reduction as the official code)."""

    def __init__(self, gamma_neg=4.0, gamma_pos=0.0, clip=0.05, eps=1e-8, detach_focal=False,
                 reduction="sum"):
        super().__init__(reduction)
        self.gamma_neg, self.gamma_pos, self.clip, self.eps = gamma_neg, gamma_pos, clip, eps
        self.detach_focal = detach_focal

    def forward(self, input, target):
        return asymmetric_loss(input, target, self.gamma_neg, self.gamma_pos, self.clip,
                               self.eps, self.detach_focal, self.reduction)


# ------------------------------------------------------------------ registry
def _asl_rule(arrays, kwargs, gy):
    """The documented ASL rule with constant focusing weights (NumPy, 'sum' or 'mean')."""
    import numpy as np
    z, y = arrays[0], arrays[1].astype(float)
    clip, eps = kwargs.get("clip", 0.05), kwargs.get("eps", 1e-8)
    gn, gp = kwargs.get("gamma_neg", 4.0), kwargs.get("gamma_pos", 0.0)
    p = 1 / (1 + np.exp(-z))
    pm = np.maximum(p - clip, 0)
    d_pos = (1 - p) ** gp * (1 - p) * (p > eps)
    d_neg = -(pm ** gn) * p * (1 - p) * (p > clip) / (1 - pm)
    g = np.broadcast_to(gy, z.shape)
    if kwargs.get("reduction", "sum") == "mean":
        g = g / z.size
    return [-g * (y * d_pos + (1 - y) * d_neg)]


def _register_all():
    import numpy as np
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
    register(label_smoothing_ce, kind="loss", catalog_id="L003", module=LabelSmoothingCrossEntropy,
             papers=["Towards Understanding Label Smoothing",
                     "MaxSup: Overcoming Representation Collapse in Label Smoothing",
                     "ACLS: Adaptive and Conditional Label Smoothing for Network Calibration",
                     "A Study on Broadcast Networks for Music Genre Classification",
                     "Spurious Feature Diversification Improves Out-of-distribution Generalization",
                     "Oscillation-free Quantization for Low-bit Vision Transformers"],
             inputs=lambda r: [Case(n(r, 5, 4), r.integers(0, 4, 5)),
                               Case(n(r, 4, 3), r.integers(0, 3, 4), smoothing=0.3, reduction="none")])
    register(sigmoid_focal_loss, kind="loss", catalog_id="L004", module=SigmoidFocalLoss,
             papers=["Focal Loss for Dense Object Detection", "Loss Functions and Metrics in Deep Learning"],
             inputs=lambda r: [Case(2 * n(r, 4, 3), r.integers(0, 2, (4, 3))),
                               Case(2 * n(r, 6), r.integers(0, 2, 6), alpha=-1, gamma=0.5, reduction="sum"),
                               Case(n(r, 3, 3), r.random((3, 3)), wrt=(0,), reduction="mean")])
    register(softmax_focal_loss, kind="loss", catalog_id="L005", module=SoftmaxFocalLoss,
             papers=["Focal Loss for Dense Object Detection",
                     "Escaping Saddle Points for Effective Generalization on Class-Imbalanced Data",
                     "Loss Functions and Metrics in Deep Learning"],
             inputs=lambda r: [Case(n(r, 5, 4), r.integers(0, 4, 5)),
                               Case(n(r, 4, 3), r.integers(0, 3, 4), gamma=0.5,
                                    alpha=r.random(3) + 0.5, reduction="none"),
                               Case(n(r, 2, 3, 2), r.integers(0, 3, (2, 2)), gamma=0.0, reduction="sum")])

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

    def away(r, shape, kink=1.0):
        """Scores f with y·f kept 0.2 away from the hinge's kink."""
        y = r.choice([-1, 1], shape)
        m = r.uniform(0.2, 0.8, shape) * r.choice([-1, 1], shape) + kink
        return m * y, y
    hinge_papers = ["Loss Functions and Metrics in Deep Learning",
                    "Label Distributionally Robust Losses for Multi-class Classification: "
                    "Consistency, Robustness and Adaptivity"]

    def hinge_cases(r):
        f1, y1 = away(r, (6,))
        f2, y2 = away(r, (3, 2))
        return [Case(f1, y1), Case(f2, y2, power=2, reduction="none")]

    register(hinge_loss, kind="loss", catalog_id="L007", module=HingeLoss, papers=hinge_papers,
             inputs=hinge_cases)

    def multiclass(r, n_rows, n_classes):
        """Scores whose pairwise hinge terms 1 + z_j − z_y all stay 0.1 away from 0."""
        while True:
            z = r.standard_normal((n_rows, n_classes)) * 1.5
            y = r.integers(0, n_classes, n_rows)
            d = 1 + z - z[range(n_rows), y][:, None]
            d[range(n_rows), y] = 5
            s = z.copy()
            s[range(n_rows), y] = -9
            top = s.max(axis=1)
            gap = (s >= top[:, None] - 0.1).sum(axis=1) == 1
            if (abs(d) > 0.1).all() and gap.all():
                return z, y

    register(crammer_singer_hinge_loss, kind="loss", catalog_id="L008",
             module=CrammerSingerHingeLoss, papers=hinge_papers,
             inputs=lambda r: [Case(*multiclass(r, 6, 4)),
                               Case(*multiclass(r, 4, 3), margin=1.0, reduction="none")])
    register(weston_watkins_hinge_loss, kind="loss", catalog_id="L009",
             module=WestonWatkinsHingeLoss, papers=hinge_papers,
             inputs=lambda r: [Case(*multiclass(r, 6, 4)),
                               Case(*multiclass(r, 4, 3), p=2, weight=r.random(3) + 0.5,
                                    divide_by_classes=True, reduction="none")])
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

    def asl_cases(r):
        z = 2 * n(r, 4, 5)
        p = 1 / (1 + np.exp(-z))
        z[np.abs(p - 0.05) < 0.01] += 0.5          # away from the clip at p = 0.05
        y = r.integers(0, 2, (4, 5))
        return [Case(z, y), Case(z, y, gamma_pos=1.0, gamma_neg=2.0, clip=0.1, reduction="mean"),
                Case(z, y, detach_focal=True, custom=True),
                Case(z, y, detach_focal=True, reduction="mean", custom=True)]

    register(asymmetric_loss, kind="loss", catalog_id="L013", module=AsymmetricLoss,
             check="fd+custom", backward_rule=_asl_rule,
             papers=["Asymmetric Loss For Multi-Label Classification"], inputs=asl_cases)


_register_all()
