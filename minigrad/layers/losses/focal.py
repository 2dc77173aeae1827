"""Focal-type losses, which down-weight easy examples: the sigmoid (detection) and softmax
(multi-class) focal losses (Lin et al. 2017) and the asymmetric multi-label loss (ASL,
Ridnik et al. 2021). Each is a ``Function`` with a hand-derived backward."""
from minigrad.autograd import Function
from minigrad.layers.losses._common import (LossModule, batched_logits, check_reduction,
                                            check_same_shape, class_rows, class_targets,
                                            class_unrows, const, log_softmax_array,
                                            reduce_array, reduction_grad, sigmoid_array,
                                            softplus_array)
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["sigmoid_focal_loss", "softmax_focal_loss", "asymmetric_loss",
           "SigmoidFocalLoss", "SoftmaxFocalLoss", "AsymmetricLoss"]


# ------------------------------------------------------------------ focal losses
class SigmoidFocal(Function):
    """Sigmoid focal loss (Lin et al. 2017) for targets t ∈ [0, 1], torchvision's form:
        p = σ(z), ce = softplus(z) − z·t (BCE with logits), m = 1 − p_t = t(1 − p) + p(1 − t),
        α_t = α·t + (1 − α)(1 − t)  (α < 0: no weighting),   FL = α_t·ce·m^γ.
    Backward, with dp/dz = p(1 − p), ∂ce/∂z = p − t and ∂m/∂z = (1 − 2t)·p(1 − p):
        ∂FL/∂z = α_t·[(p − t)·m^γ + γ·ce·m^(γ−1)·(1 − 2t)·p(1 − p)].
    For t ∈ {0, 1} this is the paper's α_t(1 − p_t)^γ(γ·p_t·log p_t + p_t − 1)·(±1).
    m^(γ−1) is evaluated with m clamped at the smallest normal float (finite for γ < 1)."""
    differentiable_forward = True

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
    −log((1 − π)/π), π = 0.01. Targets get no gradient. Backward: see ``SigmoidFocal``.

    Paper: Lin, Goyal, Girshick, He & Dollár 2017, "Focal Loss for Dense Object Detection".
    """
    op = "sigmoid_focal_loss"
    check_reduction(op, reduction)
    check_floating(op, inputs=inputs)
    t = const(targets, inputs)
    check_same_shape(op, inputs, t, ("inputs", "targets"))
    return SigmoidFocal.apply(inputs, t, float(alpha), float(gamma), reduction)


class SoftmaxFocal(Function):
    """Softmax focal loss: with a = log p_y (log-softmax) and p_y = eᵃ,
        FL = −α_y·(1 − p_y)^γ·a.
    ∂a/∂z_k = q_k − p_k (q = onehot(y)), ∂p_y/∂a = p_y, hence
        ∂FL/∂z_k = α_y·[γ(1 − p_y)^(γ−1)·p_y·a − (1 − p_y)^γ]·(q_k − p_k),
    with (1 − p_y) clamped at the smallest normal float in the γ − 1 power."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, z, y, alpha, gamma, reduction):
        xp = ctx.xp
        logp = log_softmax_array(xp, class_rows(xp, z), -1)
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
        return class_unrows(xp, dz, ctx.shape), None


def softmax_focal_loss(input, target, gamma=2.0, alpha=None, reduction="mean"):
    """Multi-class (softmax) focal loss ("Focal Loss for Dense Object Detection"):
    FL = −α_y (1 − p_y)^γ log p_y with p = softmax(z) over axis 1 (γ = 0 gives CE);
    ``alpha`` is an optional per-class weight (C,); 'mean' averages over samples.
    Used as a long-tail baseline (Saddle-LongTail). Backward: see ``SoftmaxFocal``.

    Paper: Lin, Goyal, Girshick, He & Dollár 2017, "Focal Loss for Dense Object Detection".
    """
    op = "softmax_focal_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    input, target, unbatched = batched_logits(op, input, target)
    y = class_targets(op, input, target)
    a = None if alpha is None else const(alpha, input).data
    if a is not None and tuple(a.shape) != (input.shape[1],):
        raise ValueError(f"{op}: alpha of shape {tuple(a.shape)} must have one weight per class "
                         f"({input.shape[1]},)")
    out = SoftmaxFocal.apply(input, Tensor._wrap(y), a, float(gamma), reduction)
    return out.reshape(()) if unbatched and reduction == "none" else out


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
    differentiable_backward = True

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
    ``disable_torch_grad_focal_loss`` (focusing weights without gradient). See ``Asymmetric``.

    ℓ = −Σ [t·(1 − p)^γ₊ log p + (1 − t)·p_m^γ₋ log(1 − p_m)],  p = σ(z), p_m = max(p − clip, 0).
    Paper: Ridnik et al. 2021, "Asymmetric Loss For Multi-Label Classification".
    """
    op = "asymmetric_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    y = const(target, input)
    check_same_shape(op, input, y)
    return Asymmetric.apply(input, y, float(gamma_neg), float(gamma_pos), float(clip or 0.0),
                            float(eps), bool(detach_focal), reduction)


class SigmoidFocalLoss(LossModule):
    """Sigmoid focal loss Module (α = 0.25, γ = 2; reduction 'mean' here, 'none' in the functional).

    FL = −α_t (1 − p_t)^γ log p_t; backward ``SigmoidFocal`` (see ``F.sigmoid_focal_loss``).
    Paper: Lin, Goyal, Girshick, He & Dollár 2017, "Focal Loss for Dense Object Detection".
    """

    def __init__(self, alpha=0.25, gamma=2.0, reduction="mean"):
        super().__init__(reduction)
        self.alpha, self.gamma = alpha, gamma

    def forward(self, inputs, targets):
        return sigmoid_focal_loss(inputs, targets, self.alpha, self.gamma, self.reduction)


class SoftmaxFocalLoss(LossModule):
    """Softmax focal loss Module (γ = 2, optional per-class α).

    FL = −α_y (1 − p_y)^γ log p_y; backward ``SoftmaxFocal`` (see ``F.softmax_focal_loss``).
    Paper: Lin, Goyal, Girshick, He & Dollár 2017, "Focal Loss for Dense Object Detection".
    """

    def __init__(self, gamma=2.0, alpha=None, reduction="mean"):
        super().__init__(reduction)
        self.gamma = gamma
        self.register_buffer("alpha", alpha)

    def forward(self, input, target):
        return softmax_focal_loss(input, target, self.gamma, self.alpha, self.reduction)


class AsymmetricLoss(LossModule):
    """ASL Module (γ₋ = 4, γ₊ = 0, clip 0.05, eps 1e-8, sum reduction as the official code).

    Backward: ``Asymmetric`` (see ``F.asymmetric_loss``). Paper: Ridnik et al. 2021,
    "Asymmetric Loss For Multi-Label Classification".
    """

    def __init__(self, gamma_neg=4.0, gamma_pos=0.0, clip=0.05, eps=1e-8, detach_focal=False,
                 reduction="sum"):
        super().__init__(reduction)
        self.gamma_neg, self.gamma_pos, self.clip, self.eps = gamma_neg, gamma_pos, clip, eps
        self.detach_focal = detach_focal

    def forward(self, input, target):
        return asymmetric_loss(input, target, self.gamma_neg, self.gamma_pos, self.clip,
                               self.eps, self.detach_focal, self.reduction)


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
