"""Calibration losses that add a logit penalty to cross-entropy: margin-based label
smoothing (MbLS), adaptive and conditional label smoothing (ACLS) and max suppression
(MaxSup). Each is a ``Function`` with a hand-derived backward; the arg-max class comes
from the detached logits (a constant, as ``torch.max`` picks it in the official code)."""
from minigrad.autograd import Function
from minigrad.layers.losses._common import (LossModule, batched_logits, check_reduction,
                                            class_rows, class_unrows, log_softmax_array, xp_of)
from minigrad.layers.losses.long_tail import split_targets
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["mbls_loss", "acls_loss", "maxsup_loss", "MbLSLoss", "ACLSLoss", "MaxSupLoss"]


# ------------------------------------------------------------------ shared pieces
def _ce_rows(xp, zr, y, t):
    """Per-row CE of logits rows zr (M, C) against class indices y or probabilities t."""
    logp = log_softmax_array(xp, zr, -1)
    if y is not None:
        return -logp[xp.arange(y.shape[0]), y], logp
    return -(t * logp).sum(axis=1), logp


def _ce_grad(xp, logp, y, t):
    """∂CE_i/∂z_i = (Σ_c t_c)·softmax(z_i) − t_i (t = onehot(y) for class indices)."""
    p = xp.exp(logp)
    if y is not None:
        p[xp.arange(y.shape[0]), y] -= 1
        return p
    return t.sum(axis=1, keepdims=True) * p - t


def _reduce_rows(xp, loss, reduction, shape):
    if reduction == "none":
        return loss.reshape((shape[0],) + tuple(shape[2:]))
    return loss.sum() * (1.0 / loss.shape[0]) if reduction == "mean" else loss.sum()


def _row_grad(xp, gy, m, reduction):
    if reduction == "none":
        return gy.reshape(-1)
    return xp.broadcast_to(gy / m if reduction == "mean" else gy, (m,))


def _prepare(op, input, target, reduction, min_classes=1):
    check_reduction(op, reduction)
    check_floating(op, input=input)
    input, target, unbatched = batched_logits(op, input, target)
    if input.shape[1] < min_classes:
        raise ValueError(f"{op}: needs at least {min_classes} classes, got logits of shape "
                         f"{tuple(input.shape)}")
    y, t = split_targets(op, input, target)
    xp = xp_of(input)
    rows = class_rows(xp, input.data)
    amax = rows.argmax(axis=1) if rows.shape[0] else xp.zeros(0, dtype=int)
    return input, unbatched, y, t, rows, amax


def _finish(out, unbatched, reduction):
    return out.reshape(()) if unbatched and reduction == "none" else out


# ------------------------------------------------------------------ MbLS
class MarginLabelSmoothing(Function):
    """MbLS (Liu et al. 2022), cvlab-yonsei/ACLS ``calibrate/losses/mbls.py``: with
    a = argmax_k z_k (a constant) and d_k = z_a − z_k − m,
        ℓ_i = CE(z_i, y_i) + (α/C)·Σ_k max(d_k, 0)
    (the official code takes ``relu(diff − margin).mean()`` over all N·C entries, hence 1/C).
    Backward (subgradient, d_a = −m < 0 never counts):
        ∂ℓ_i/∂z_k = ∂CE/∂z_k − (α/C)·1[d_k > 0] + 1[k = a]·(α/C)·#{j: d_j > 0}."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, z, y, t, amax, margin, alpha, reduction):
        xp = ctx.xp
        zr = class_rows(xp, z)
        m, c = zr.shape
        ce, logp = _ce_rows(xp, zr, y.reshape(-1) if y is not None else None, t)
        zmax = zr[xp.arange(m), amax]
        d = zmax[:, None] - zr - margin
        loss = ce + (alpha / c) * xp.maximum(d, 0.0).sum(axis=1)
        ctx.save_for_backward(logp, d)
        ctx.y, ctx.t, ctx.amax, ctx.alpha = (None if y is None else y.reshape(-1)), t, amax, alpha
        ctx.shape, ctx.reduction = z.shape, reduction
        return _reduce_rows(xp, loss, reduction, z.shape)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        logp, d = ctx.saved_tensors
        m, c = logp.shape
        g = _row_grad(xp, gy, m, ctx.reduction)
        active = (d > 0).astype(logp.dtype)
        dz = _ce_grad(xp, logp, ctx.y, ctx.t) - (ctx.alpha / c) * active
        dz[xp.arange(m), ctx.amax] += (ctx.alpha / c) * active.sum(axis=1)
        return class_unrows(xp, g[:, None] * dz, ctx.shape), None


def mbls_loss(input, target, margin=10.0, alpha=0.1, reduction="mean"):
    """Margin-based label smoothing (MbLS): CE plus a linear penalty on logit distances to
    the largest logit that exceed a margin,

        ℓ_i = CE(z_i, y_i) + (α/C)·Σ_k max(max_j z_ij − z_ik − m, 0),   m = 10, α = 0.1

    (cvlab-yonsei/ACLS ``mbls.py``; 'mean' averages over rows, so the penalty is the mean
    over all N·C entries as there). Logits (N, C) or (N, C, d1, ...) (pixels are rows);
    class indices or probability targets of the logits' shape. The arg-max gets the
    gradient of max (the first index on ties). Deviation: no ``ignore_index``, and the
    official alpha schedules are left to the caller (pass the current ``alpha``).
    Backward: ``MarginLabelSmoothing`` (help(minigrad.layers.losses.calibration.MarginLabelSmoothing)).

    Paper: Liu et al. 2022, "The Devil is in the Margins: Label Smoothing for Network
    Calibration" (Liu, Ben Ayed, Galdran, Dolz); analysed in Park, Noh, Oh, Baek & Ham 2023, "ACLS:
    Adaptive and Conditional Label Smoothing for Network Calibration".
    """
    op = "mbls_loss"
    input, unbatched, y, t, rows, amax = _prepare(op, input, target, reduction)
    out = MarginLabelSmoothing.apply(input, None if y is None else Tensor._wrap(y), t, amax,
                                     float(margin), float(alpha), reduction)
    return _finish(out, unbatched, reduction)


# ------------------------------------------------------------------ ACLS
class AdaptiveConditionalLS(Function):
    """ACLS regularizer (Park et al. 2023), cvlab-yonsei/ACLS ``calibrate/losses/acls.py``.
    With the indicator I_k = 1[z_k = max_j z_j] (detached; ties all count), z* = max_j z_j
    (NOT detached in the positive term) and sg(z*) its detached value (negative term):
        R_i = λ₊·Σ_k I_k·max(z* − M, 0)² + λ₋/(K − 1)·Σ_k (1 − I_k)·max(sg(z*) − z_k − M, 0)²,
        ℓ_i = CE(z_i, y_i) + α·R_i
    (the official code divides the positive sum by N and the negative one by N(K − 1); per
    row and 'mean' over rows this is the same). Backward, a = argmax (first index):
        ∂ℓ_i/∂z_a += 2αλ₊·(Σ_k I_k)·max(z* − M, 0),
        ∂ℓ_i/∂z_k −= 2αλ₋/(K − 1)·(1 − I_k)·max(sg(z*) − z_k − M, 0)   (nothing to z_a:
    the stop-gradient), plus the CE gradient. The stop-gradient makes this the documented
    rule rather than the derivative of ℓ's value wherever a negative term is active."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, z, y, t, amax, ind, zmax_const, alpha, lam_pos, lam_neg, margin, reduction):
        xp = ctx.xp
        zr = class_rows(xp, z)
        m, k = zr.shape
        ce, logp = _ce_rows(xp, zr, y.reshape(-1) if y is not None else None, t)
        zmax = zr[xp.arange(m), amax]
        n_ties = ind.sum(axis=1).astype(zr.dtype)
        pos_gap = xp.maximum(zmax - margin, 0.0)
        neg_gap = xp.maximum(zmax_const[:, None] - zr - margin, 0.0) * (~ind).astype(zr.dtype)
        reg = lam_pos * n_ties * pos_gap ** 2 + (lam_neg / (k - 1)) * (neg_gap ** 2).sum(axis=1)
        loss = ce + alpha * reg
        ctx.save_for_backward(logp, pos_gap, neg_gap, n_ties)
        ctx.y, ctx.t, ctx.amax = (None if y is None else y.reshape(-1)), t, amax
        ctx.args = alpha, lam_pos, lam_neg
        ctx.shape, ctx.reduction = z.shape, reduction
        return _reduce_rows(xp, loss, reduction, z.shape)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        logp, pos_gap, neg_gap, n_ties = ctx.saved_tensors
        alpha, lam_pos, lam_neg = ctx.args
        m, k = logp.shape
        g = _row_grad(xp, gy, m, ctx.reduction)
        dz = _ce_grad(xp, logp, ctx.y, ctx.t) - (2 * alpha * lam_neg / (k - 1)) * neg_gap
        dz[xp.arange(m), ctx.amax] += 2 * alpha * lam_pos * n_ties * pos_gap
        return class_unrows(xp, g[:, None] * dz, ctx.shape), None


def acls_loss(input, target, alpha=0.1, pos_lambda=1.0, neg_lambda=0.1, margin=10.0,
              reduction="mean"):
    """Adaptive and conditional label smoothing (ACLS): CE plus a squared-hinge penalty
    that pulls the largest logit below M and keeps the others within M of it,

        ℓ_i = CE(z_i, y_i) + α·[λ₊·max(z*_i − M, 0)² + λ₋/(K − 1)·Σ_{k ≠ argmax} max(sg(z*_i) − z_ik − M, 0)²]

    z*_i = max_k z_ik; α = 0.1, λ₊ = ``pos_lambda`` = 1.0, λ₋ = ``neg_lambda`` = 0.1,
    M = ``margin`` = 10 (cvlab-yonsei/ACLS ``acls.py`` defaults). The max is detached in the
    negative term only (sg = stop-gradient), as the official code does; ties of the max all
    count as "positive" (the indicator z_k = z*). Logits (N, C) or (N, C, d1, ...) (pixels are
    rows), class indices or probability targets; needs C ≥ 2. Deviation: no ``ignore_index``.
    Backward: ``AdaptiveConditionalLS`` (help(minigrad.layers.losses.calibration.AdaptiveConditionalLS)).

    Paper: Park, Noh, Oh, Baek & Ham 2023, "ACLS: Adaptive and Conditional Label Smoothing
    for Network Calibration".
    """
    op = "acls_loss"
    input, unbatched, y, t, rows, amax = _prepare(op, input, target, reduction, min_classes=2)
    zmax = rows.max(axis=1) if rows.shape[0] else rows.sum(axis=1)
    ind = rows == zmax[:, None]
    out = AdaptiveConditionalLS.apply(input, None if y is None else Tensor._wrap(y), t, amax, ind,
                                      zmax, float(alpha), float(pos_lambda), float(neg_lambda),
                                      float(margin), reduction)
    return _finish(out, unbatched, reduction)


# ------------------------------------------------------------------ MaxSup
class MaxSuppression(Function):
    """MaxSup (Zhou et al. 2025), ZhouYuxuanYX/Maximum-Suppression-Regularization
    (``Conv/ffcv/losses.py`` ``MaxSuppression``, ``Conv/common_resnet/train.py``):
        ℓ_i = CE(z_i, y_i) + α·(z_{i,a} − (1/C)·Σ_k z_ik),   a = argmax_k z_ik (constant).
    Backward: ∂ℓ_i/∂z_k = ∂CE/∂z_k + α·1[k = a] − α/C (ties: the first index, like
    ``torch.max``/``topk``)."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, z, y, t, amax, alpha, reduction):
        xp = ctx.xp
        zr = class_rows(xp, z)
        m, c = zr.shape
        ce, logp = _ce_rows(xp, zr, y.reshape(-1) if y is not None else None, t)
        reg = zr[xp.arange(m), amax] - zr.sum(axis=1) * (1.0 / c)
        loss = ce + alpha * reg
        ctx.save_for_backward(logp)
        ctx.y, ctx.t, ctx.amax, ctx.alpha = (None if y is None else y.reshape(-1)), t, amax, alpha
        ctx.shape, ctx.reduction = z.shape, reduction
        return _reduce_rows(xp, loss, reduction, z.shape)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        logp, = ctx.saved_tensors
        m, c = logp.shape
        g = _row_grad(xp, gy, m, ctx.reduction)
        dz = _ce_grad(xp, logp, ctx.y, ctx.t) - ctx.alpha / c
        dz[xp.arange(m), ctx.amax] += ctx.alpha
        return class_unrows(xp, g[:, None] * dz, ctx.shape), None


def maxsup_loss(input, target, alpha=0.1, reduction="mean"):
    """Max suppression (MaxSup): CE plus α times the gap between the top-1 logit and the
    mean logit (label smoothing penalizes the *target* logit's gap instead),

        ℓ_i = CE(z_i, y_i) + α·(max_k z_ik − (1/C)·Σ_k z_ik)

    α on the label-smoothing scale (the official ImageNet runs ramp it linearly from 0.1 to
    0.2 over training: ``MaxSupLoss(alpha=0.1, end_alpha=0.2, epochs=E)`` with
    ``set_epoch``). Class indices or probability targets (mixup/cutmix); logits (N, C) or
    (N, C, d1, ...). Backward: ``MaxSuppression`` (help(minigrad.layers.losses.calibration.MaxSuppression)).

    Paper: Zhou, Li, Cheng, Yan, Dong, Fritz & Keuper 2025, "MaxSup: Overcoming
    Representation Collapse in Label Smoothing".
    """
    op = "maxsup_loss"
    input, unbatched, y, t, rows, amax = _prepare(op, input, target, reduction)
    out = MaxSuppression.apply(input, None if y is None else Tensor._wrap(y), t, amax,
                               float(alpha), reduction)
    return _finish(out, unbatched, reduction)


# ------------------------------------------------------------------ Modules
class MbLSLoss(LossModule):
    """MbLS Module (margin 10, α = 0.1).

    ℓ = CE + (α/C)·Σ_k max(max_j z_j − z_k − m, 0); backward ``MarginLabelSmoothing``.
    Paper: Liu et al. 2022, "The Devil is in the Margins: Label Smoothing for Network
    Calibration" (Liu, Ben Ayed, Galdran, Dolz).
    """

    def __init__(self, margin=10.0, alpha=0.1, reduction="mean"):
        super().__init__(reduction)
        self.margin, self.alpha = margin, alpha

    def forward(self, input, target):
        return mbls_loss(input, target, self.margin, self.alpha, self.reduction)


class ACLSLoss(LossModule):
    """ACLS Module (α = 0.1, λ₊ = 1, λ₋ = 0.1, margin 10).

    ℓ = CE + α·[λ₊·max(z* − M, 0)² + λ₋/(K − 1)·Σ_{k≠a} max(sg(z*) − z_k − M, 0)²];
    backward ``AdaptiveConditionalLS``.
    Paper: Park, Noh, Oh, Baek & Ham 2023, "ACLS: Adaptive and Conditional Label Smoothing
    for Network Calibration".
    """

    def __init__(self, alpha=0.1, pos_lambda=1.0, neg_lambda=0.1, margin=10.0, reduction="mean"):
        super().__init__(reduction)
        self.alpha, self.pos_lambda, self.neg_lambda, self.margin = \
            alpha, pos_lambda, neg_lambda, margin

    def forward(self, input, target):
        return acls_loss(input, target, self.alpha, self.pos_lambda, self.neg_lambda,
                         self.margin, self.reduction)


class MaxSupLoss(LossModule):
    """MaxSup Module; with ``end_alpha`` and ``epochs`` α ramps linearly
    α_e = α + (α_end − α)·e/epochs (official: 0.1 → 0.2); call ``set_epoch(e)``.

    ℓ = CE + α_e·(max_k z_k − mean_k z_k); backward ``MaxSuppression``.
    Paper: Zhou, Li, Cheng, Yan, Dong, Fritz & Keuper 2025, "MaxSup: Overcoming
    Representation Collapse in Label Smoothing".
    """

    def __init__(self, alpha=0.1, end_alpha=None, epochs=None, reduction="mean"):
        super().__init__(reduction)
        self.alpha, self.end_alpha, self.epochs = alpha, end_alpha, epochs
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def current_alpha(self):
        if self.end_alpha is None or not self.epochs:
            return self.alpha
        return self.alpha + (self.end_alpha - self.alpha) * self.epoch / self.epochs

    def forward(self, input, target):
        return maxsup_loss(input, target, self.current_alpha(), self.reduction)


# ------------------------------------------------------------------ registration
ACLS_PAPER = "ACLS: Adaptive and Conditional Label Smoothing for Network Calibration"


def _acls_rule(arrays, kwargs, gy):
    """The documented ACLS rule (NumPy): CE gradient, the positive term through z*, the
    negative terms through z_k only (z* detached); 'mean' or 'sum'."""
    import numpy as np
    z, tgt = np.asarray(arrays[0], float), np.asarray(arrays[1])
    alpha, lp = kwargs.get("alpha", 0.1), kwargs.get("pos_lambda", 1.0)
    ln, mg = kwargs.get("neg_lambda", 0.1), kwargs.get("margin", 10.0)
    n, k = z.shape
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    onehot = np.eye(k)[tgt] if tgt.dtype.kind in "iu" else tgt
    grad = p * onehot.sum(1, keepdims=True) - onehot
    for i in range(n):
        zs = z[i].max()
        ind = z[i] == zs
        a = int(np.argmax(z[i]))
        grad[i, a] += 2 * alpha * lp * ind.sum() * max(zs - mg, 0.0)
        for j in range(k):
            if not ind[j]:
                grad[i, j] -= 2 * alpha * ln / (k - 1) * max(zs - z[i, j] - mg, 0.0)
    scale = 1.0 / n if kwargs.get("reduction", "mean") == "mean" else 1.0
    return [np.asarray(gy) * scale * grad]


def _register_all():
    import numpy as np
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731

    def spread(r, *shape):
        return 2 * n(r, *shape)

    register(mbls_loss, kind="loss", catalog_id="L089", module=MbLSLoss, papers=[ACLS_PAPER],
             inputs=lambda r: [Case(spread(r, 5, 4), r.integers(0, 4, 5), margin=1.3),
                               Case(spread(r, 4, 3), r.integers(0, 3, 4), margin=0.7, alpha=0.5,
                                    reduction="none"),
                               Case(spread(r, 3, 4), r.dirichlet(np.ones(4), 3), wrt=(0,), margin=2.1,
                                    reduction="sum"),
                               Case(spread(r, 2, 3, 2), r.integers(0, 3, (2, 2)), margin=1.1)])

    def acls_cases(r):
        z = 3 * n(r, 5, 4) + 2
        return [  # fd: the negative hinge inactive (large margin relative to the gaps) ...
            Case(z, r.integers(0, 4, 5), margin=12.0, alpha=0.3),
            Case(z + 12.0, r.integers(0, 4, 5), margin=12.0, alpha=0.3, reduction="sum"),
            Case(3 * n(r, 3, 4), r.dirichlet(np.ones(4), 3), wrt=(0,), margin=1e3),
            # ... and the documented stop-gradient rule where it is active
            Case(z, r.integers(0, 4, 5), margin=1.0, custom=True),
            Case(z, r.integers(0, 4, 5), margin=1.5, alpha=0.5, reduction="sum", custom=True)]

    register(acls_loss, kind="loss", catalog_id="L088", module=ACLSLoss, papers=[ACLS_PAPER],
             check="fd+custom", backward_rule=_acls_rule, inputs=acls_cases)
    register(maxsup_loss, kind="loss", catalog_id="L090", module=MaxSupLoss,
             papers=["MaxSup: Overcoming Representation Collapse in Label Smoothing"],
             inputs=lambda r: [Case(n(r, 5, 4), r.integers(0, 4, 5)),
                               Case(n(r, 4, 3), r.integers(0, 3, 4), alpha=0.3, reduction="none"),
                               Case(n(r, 3, 4), r.dirichlet(np.ones(4), 3), wrt=(0,), reduction="sum"),
                               Case(n(r, 2, 3, 2), r.integers(0, 3, (2, 2)), alpha=0.2)])


_register_all()
