"""Long-tail losses: label-distribution-aware margins (LDAM), vector scaling (VS) and
deferred class-balanced re-weighting (DRW) from "Escaping Saddle Points for Effective
Generalization on Class-Imbalanced Data" (val-iisc/Saddle-LongTail, which takes LDAM and
DRW from kaidic/LDAM-DRW), the Distribution-Balanced multi-label loss (as LMPT trains with
it) and the Gumbel Optimized Loss (GOL). Class counts are given as arrays (C,)."""
from minigrad.autograd import Function
from minigrad.layers.losses._common import (LossModule, batched_logits, check_reduction,
                                            check_same_shape, class_rows, class_targets,
                                            class_unrows, const, log_softmax_array,
                                            reduce_array, reduction_grad, sigmoid_array,
                                            softplus_array, xp_of)
from minigrad.layers.losses.classification import cross_entropy
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["ldam_loss", "vs_loss", "drw_reweighting", "distribution_balanced_loss",
           "gumbel_optimized_loss",
           "LDAMLoss", "VSLoss", "DRWLoss", "DistributionBalancedLoss", "GumbelOptimizedLoss"]


# ------------------------------------------------------------------ shared input handling
def class_counts_array(op, counts, input, n_classes, name="class_counts"):
    """Per-class training counts n_j (C,) as a float array on ``input``'s backend: one
    positive, finite count per class (a class with no example has no prior to use)."""
    n = const(counts, input).data.astype(input.dtype)
    if tuple(n.shape) != (n_classes,):
        raise ValueError(f"{op}: {name} of shape {tuple(n.shape)} must hold one count per "
                         f"class ({n_classes},) for logits of shape {tuple(input.shape)}")
    if n.size and not bool(((n > 0) & (n < float("inf"))).all()):
        raise ValueError(f"{op}: {name} must be positive and finite (a class with 0 training "
                         f"examples has no margin, prior or weight), got {n.tolist()}")
    return n


def class_weight_array(op, weight, input, n_classes):
    if weight is None:
        return None
    w = const(weight, input).data.astype(input.dtype)
    if tuple(w.shape) != (n_classes,):
        raise ValueError(f"{op}: weight of shape {tuple(w.shape)} does not match {n_classes} "
                         f"classes (logits of shape {tuple(input.shape)})")
    return w


def split_targets(op, input, target, allow_soft=True):
    """(y, t): integer class indices flattened to (M,) with t = None, or (for floating
    targets of the logits' shape, where ``allow_soft``) y = None and t the (M, C) rows."""
    data = target.data if isinstance(target, Tensor) else const(target, input).data
    n_classes = input.shape[1]
    if data.dtype.kind == "f":
        if not allow_soft:
            raise TypeError(f"{op}: needs integer class-index targets of shape "
                            f"{(input.shape[0],) + tuple(input.shape[2:])}, got dtype {data.dtype} "
                            f"and shape {tuple(data.shape)} for logits of shape {tuple(input.shape)}")
        if tuple(data.shape) == (input.shape[0],) + tuple(input.shape[2:]):
            raise TypeError(f"{op}: target of dtype {data.dtype} and shape {tuple(data.shape)} "
                            f"looks like class indices for logits of shape {tuple(input.shape)}, "
                            f"but class indices must have an integer dtype (values in "
                            f"[0, {n_classes})); probability targets need the logits' shape")
        if tuple(data.shape) != tuple(input.shape):
            raise ValueError(
                f"{op}: floating-point target of shape {tuple(data.shape)} (dtype {data.dtype}) for "
                f"logits of shape {tuple(input.shape)}: probability targets need the logits' shape; "
                f"class-index targets need an integer dtype, shape "
                f"{(input.shape[0],) + tuple(input.shape[2:])} and values in [0, {n_classes})")
        xp = xp_of(input)
        return None, class_rows(xp, data.astype(input.dtype))
    return class_targets(op, input, data).reshape(-1), None


class AffineLogitCE(Function):
    """Cross-entropy of affinely transformed logits, the core the LDAM and VS losses share:
        z'_ic = a_c·z_ic + b_ic      (a (C,) or a scalar, b (M, C): constants),
        ℓ_i = −Σ_c W_ic·log softmax(z'_i)_c,   W = w_{y_i}·onehot(y_i) (hard) or w_c·t_ic (soft).
    With p = softmax(z'_i) and S_i = Σ_c W_ic, ∂ℓ_i/∂z'_ic = S_i·p_ic − W_ic (the CE
    gradient), and ∂z'_ic/∂z_ic = a_c, so
        ∂ℓ_i/∂z_ic = a_c·(S_i·p_ic − W_ic).
    ``weights`` is w_{y_i} (M,) for hard targets ``y``, the full W (M, C) for soft ones
    (y = None); both constants. 'mean' divides the sum by ``denom`` (Σ_i w_{y_i} for hard
    targets, PyTorch's weighted mean; the number of rows for soft ones). The forward is
    written for any array module (its own composite form for second derivatives)."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, z, y, weights, a, b, denom, reduction):
        xp = ctx.xp
        zt = class_rows(xp, z) * a + b
        logp = log_softmax_array(xp, zt, -1)
        if y is not None:
            y = y.reshape(-1)
            loss = -weights * logp[xp.arange(y.shape[0]), y]
        else:
            loss = -(weights * logp).sum(axis=1)
        if reduction == "none":
            out = loss.reshape((z.shape[0],) + z.shape[2:])
        elif reduction == "sum":
            out = loss.sum()
        else:
            out = loss.sum() * (1.0 / denom if denom > 0 else 0.0)
        ctx.save_for_backward(logp)
        ctx.y, ctx.weights, ctx.a, ctx.denom = y, weights, a, denom
        ctx.shape, ctx.reduction = z.shape, reduction
        return out

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        logp, = ctx.saved_tensors
        m = logp.shape[0]
        if ctx.reduction == "none":
            g = gy.reshape(-1)
        elif ctx.reduction == "sum":
            g = xp.broadcast_to(gy, (m,))
        else:
            g = xp.broadcast_to(gy * (1.0 / ctx.denom if ctx.denom > 0 else 0.0), (m,))
        p = xp.exp(logp)
        if ctx.y is not None:
            gw = g * ctx.weights
            dz = gw[:, None] * p
            dz[xp.arange(m), ctx.y] -= gw
        else:
            dz = g[:, None] * (ctx.weights.sum(axis=1, keepdims=True) * p - ctx.weights)
        return class_unrows(xp, dz * ctx.a, ctx.shape), None


def _affine_ce(fn, op, input, target, a, b_fn, w, reduction, allow_soft=True):
    """Run ``fn`` (an ``AffineLogitCE``) with the constant shift b = b_fn(xp, y, M)."""
    input, target, unbatched = batched_logits(op, input, target)
    y, t = split_targets(op, input, target, allow_soft)
    xp = xp_of(input)
    m = y.shape[0] if y is not None else t.shape[0]
    b = b_fn(xp, y, m)
    if y is not None:
        weights = xp.ones(m, dtype=input.dtype) if w is None else w[y]
        out = fn.apply(input, Tensor._wrap(y), weights, a, b, float(weights.sum()), reduction)
    else:
        weights = t if w is None else t * w
        out = fn.apply(input, None, weights, a, b, float(m), reduction)
    return out.reshape(()) if unbatched and reduction == "none" else out


# ------------------------------------------------------------------ LDAM
def ldam_margins(class_counts, max_m=0.5):
    """m_j = n_j^(−1/4), rescaled so that max_j m_j = max_m (kaidic/LDAM-DRW losses.py)."""
    m = 1.0 / class_counts ** 0.25
    return m * (max_m / m.max())


class LDAM(AffineLogitCE):
    """LDAM (Cao et al. 2019), as kaidic/LDAM-DRW ``losses.py`` and val-iisc/Saddle-LongTail
    compute it: the margin m_y is subtracted from the target logit only, then everything is
    scaled by s:   z' = s·(z − m_y·onehot(y)),  ℓ = w_y·CE(z', y).
    This is ``AffineLogitCE`` with a = s and b = −s·m_y·onehot(y) (constants), so
        ∂ℓ_i/∂z_ic = s·w_{y_i}·(softmax(z'_i)_c − 1[c = y_i])
    (plain CE backward on the modified logits, times s)."""


def ldam_loss(input, target, class_counts, max_m=0.5, s=30.0, weight=None, reduction="mean"):
    """LDAM loss (label-distribution-aware margin):

        m_j = n_j^(−1/4)·max_m / max_k n_k^(−1/4),   ℓ = −w_y·log softmax(s·(z − m_y·e_y))_y

    ``input`` logits (N, C) or (N, C, d1, ...), ``target`` integer class indices,
    ``class_counts`` the training counts n_j (C,), ``max_m`` = 0.5, ``s`` = 30 (defaults
    of kaidic/LDAM-DRW and val-iisc/Saddle-LongTail ``losses.py``), ``weight`` (C,) class
    weights (the DRW weights, see ``drw_reweighting``); 'mean' divides by Σ_i w_{y_i} as
    PyTorch's weighted CE. Class-index targets only (the margin belongs to the label).
    Backward: ``LDAM`` (help(minigrad.layers.losses.long_tail.LDAM)).

    Paper: Cao, Wei, Gaidon, Arechiga & Ma 2019, "Learning Imbalanced Datasets with
    Label-Distribution-Aware Margin Loss"; used with SAM in Rangwani et al. 2022, "Escaping
    Saddle Points for Effective Generalization on Class-Imbalanced Data".
    """
    op = "ldam_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    c = input.shape[1] if input.ndim > 1 else input.shape[0]
    counts = class_counts_array(op, class_counts, input, c)
    margins = ldam_margins(counts, float(max_m))
    w = class_weight_array(op, weight, input, c)
    s = float(s)

    def shift(xp, y, m):
        b = xp.zeros((m, c), dtype=input.dtype)
        b[xp.arange(m), y] = -s * margins[y]
        return b

    return _affine_ce(LDAM, op, input, target, s, shift, w, reduction, allow_soft=False)


# ------------------------------------------------------------------ VS
class VectorScaling(AffineLogitCE):
    """VS loss (Kini et al. 2021) in val-iisc/Saddle-LongTail ``losses.py`` form:
        Δ_j = (n_max/n_j)^γ  (= n_j^(−γ)/min_k n_k^(−γ)),  ι_j = τ·log π_j,  π_j = n_j/Σ_k n_k,
        z'_j = z_j/Δ_j + ι_j,   ℓ = CE(z', y) (optionally class-weighted).
    ``AffineLogitCE`` with a = 1/Δ and b = ι:  ∂ℓ_i/∂z_ic = (S_i·softmax(z'_i)_c − W_ic)/Δ_c
    (CE backward on z', scaled by 1/Δ_c)."""


def vs_loss(input, target, class_counts, gamma=0.3, tau=1.0, weight=None, reduction="mean"):
    """Vector-scaling loss: multiplicative and additive logit adjustment by the class prior.

        Δ_j = (n_max/n_j)^γ,  ι_j = τ·log(n_j/Σ_k n_k),  ℓ = −Σ_c W_c·log softmax(z/Δ + ι)_c

    ``class_counts`` n_j (C,); γ = 0.3, τ = 1.0 (Saddle-LongTail defaults); ``weight`` (C,)
    optional class weights (DRW). ``target``: class indices, or probabilities of the
    logits' shape (soft targets, W = w·t; 'mean' then divides by the rows).
    Backward: ``VectorScaling`` (help(minigrad.layers.losses.long_tail.VectorScaling)).

    Paper: Kini, Paraskevas, Oymak & Thrampoulidis 2021, "Label-Imbalanced and
    Group-Sensitive Classification under Overparameterization"; the form of Rangwani et al.
    2022, "Escaping Saddle Points for Effective Generalization on Class-Imbalanced Data".
    """
    op = "vs_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    c = input.shape[1] if input.ndim > 1 else input.shape[0]
    counts = class_counts_array(op, class_counts, input, c)
    delta = (counts.max() / counts) ** float(gamma)
    iota = float(tau) * xp_of(input).log(counts / counts.sum())
    w = class_weight_array(op, weight, input, c)
    return _affine_ce(VectorScaling, op, input, target, 1.0 / delta,
                      lambda xp, y, m: xp.broadcast_to(iota, (m, c)), w, reduction)


# ------------------------------------------------------------------ DRW
def class_balanced_weights(class_counts, beta=0.9999):
    """Cui et al.'s class-balanced weights by the effective number, as kaidic/LDAM-DRW
    ``cifar_train.py`` computes them for DRW: w_j = (1 − β)/(1 − β^{n_j}), normalized so
    that Σ_j w_j = C. β = 0 gives all ones."""
    effective = 1.0 - beta ** class_counts
    w = (1.0 - beta) / effective
    return w / w.sum() * class_counts.shape[0]


def drw_reweighting(input, target, class_counts, epoch, drw_epoch=160, beta=0.9999, loss="ce",
                    max_m=0.5, s=30.0, reduction="mean"):
    """Deferred re-weighting (DRW): the base loss with class-balanced weights switched on at
    ``drw_epoch``:

        w_j = (1 − β_e)/(1 − β_e^{n_j}) · C / Σ_k (…),   β_e = 0 before drw_epoch, β after,
        ℓ = base(z, y; weight = w)

    with ``loss`` = 'ce' (``cross_entropy``) or 'ldam' (``ldam_loss`` with ``max_m``, ``s``).
    Defaults: β = 0.9999, switch at epoch 160 of 200 (kaidic/LDAM-DRW ``cifar_train.py``:
    ``idx = epoch // 160``, betas [0, 0.9999]; val-iisc/Saddle-LongTail the same). Before
    the switch the weights are all ones. This row is literally a combination of registered
    rows (a schedule of class weights around ``cross_entropy`` / ``ldam_loss``): its
    backward is theirs (the weights are constants). Hard or (for 'ce') soft targets.

    Paper: Cao, Wei, Gaidon, Arechiga & Ma 2019, "Learning Imbalanced Datasets with
    Label-Distribution-Aware Margin Loss" (DRW); the class-balanced weights of Cui et al.
    2019, "Class-Balanced Loss Based on Effective Number of Samples"; used in Rangwani et al.
    2022, "Escaping Saddle Points for Effective Generalization on Class-Imbalanced Data".
    """
    op = "drw_reweighting"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    if loss not in ("ce", "ldam"):
        raise ValueError(f"{op}: loss must be 'ce' or 'ldam', got {loss!r}")
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"{op}: beta must be in [0, 1), got {beta}")
    c = input.shape[1] if input.ndim > 1 else input.shape[0]
    counts = class_counts_array(op, class_counts, input, c)
    batched, tgt, _ = batched_logits(op, input, target)
    split_targets(op, batched, tgt, allow_soft=(loss == "ce"))    # errors name this loss
    b = float(beta) if int(epoch) >= int(drw_epoch) else 0.0
    w = class_balanced_weights(counts, b)
    if loss == "ldam":
        return ldam_loss(input, target, counts, max_m, s, weight=w, reduction=reduction)
    return cross_entropy(input, target, weight=w, reduction=reduction)


# ------------------------------------------------------------------ Distribution-Balanced
class DistributionBalanced(Function):
    """Distribution-Balanced loss (Wu et al. 2020) with its focal term, as
    wutong16/DistributionBalancedLoss ``resample_loss.py`` (``reweight_func='rebalance'``,
    ``logit_reg``, ``focal``) computes it and LMPT trains with it. Per element (i, k), with
    the constants r̂_ik (re-balancing weight) and b_k (class-prior bias):
        positives (y = 1): u = z + b,      v = −u, weight ω = r̂
        negatives (y = 0): u = λ·(z + b),  v = u,  weight ω = r̂/λ
        ℓ = β_f·ω·σ(v)^γ·softplus(v)        (softplus(v) = BCE of u; σ(v) = 1 − p_t)
    Backward: d softplus(v)/dv = σ(v), d σ(v)^γ/dv = γ·σ(v)^γ·σ(−v), so
        ∂ℓ/∂v = β_f·ω·σ(v)^γ·(σ(v) + γ·σ(−v)·softplus(v)),
        ∂v/∂z = −1 (positives), λ (negatives)."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, z, y, bias, omega, lam, gamma, balance, reduction):
        xp = ctx.xp
        sign_scale = y * (-1.0) + (1 - y) * lam          # ∂v/∂z
        v = sign_scale * (z + bias)
        sp = softplus_array(xp, v)
        sg = sigmoid_array(xp, v)
        loss = balance * omega * sg ** gamma * sp
        ctx.save_for_backward(v, sp, sg)
        ctx.args = sign_scale, omega, gamma, balance
        ctx.reduction, ctx.shape = reduction, loss.shape
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        v, sp, sg = ctx.saved_tensors
        sign_scale, omega, gamma, balance = ctx.args
        g = reduction_grad(xp, gy, ctx.shape, ctx.reduction)
        dv = balance * omega * sg ** gamma * (sg + gamma * sigmoid_array(xp, -v) * sp)
        return g * dv * sign_scale, None


def distribution_balanced_loss(input, target, class_counts, num_samples, alpha=0.1, beta=10.0,
                               mu=0.3, neg_scale=5.0, init_bias=0.05, gamma=2.0,
                               balance_param=2.0, reduction="mean"):
    """Distribution-Balanced loss for multi-label long-tailed classification: re-balanced
    weights + negative-tolerant regularization + focal modulation (DB-Focal).

        r_ik = (1/n_k) / Σ_{j: y_ij = 1} 1/n_j,   r̂_ik = α + σ(β·(r_ik − μ)),
        b_k = −(κ/λ)·log(N/n_k − 1),   p_t = σ(z + b) (y = 1), σ(−λ(z + b)) (y = 0),
        ℓ_ik = β_f·(1 − p_t)^γ·[y·r̂·log(1 + e^{−(z + b)}) + (1 − y)·(r̂/λ)·log(1 + e^{λ(z + b)})]

    ``input`` logits (N, C); ``target`` multi-hot {0, 1} labels of the same shape (or class
    indices (N,), one label per row); ``class_counts`` n_k (C,) positives per class in the
    training set, ``num_samples`` N its size. Defaults (LMPT's VOC-LT configuration of
    ``ResampleLoss``): α = 0.1, β = 10, μ = 0.3 (map_param), λ = ``neg_scale`` = 5,
    κ = ``init_bias`` = 0.05, focal γ = 2 and β_f = ``balance_param`` = 2 (γ = 0,
    balance_param = 1 gives DB without the focal term). 'mean' averages all N·C terms.
    Where the catalog line differs, the official code (wutong16/DistributionBalancedLoss
    ``mllt/models/losses/resample_loss.py``, as LMPT calls it) is followed: r divides by the
    sum over the positive labels (the paper's P^C/P^I, whose 1/C factors cancel), the
    class-prior bias −(κ/λ)·log(1/p_k − 1) is added to every logit (positives too) before
    the negatives are scaled by λ, κ = 0.05 (not 0.1), and the focal term is included. A
    row with no positive label has r = ∞, r̂ = α + 1 (what the code's division by 0 gives).
    The official ``ResampleLoss`` returns the (N, C) matrix for its caller to reduce.
    Backward: ``DistributionBalanced`` (help(minigrad.layers.losses.long_tail.DistributionBalanced)).

    Paper: Wu, Huang, Liu, Wang & Lin 2020, "Distribution-Balanced Loss for Multi-Label
    Classification in Long-Tailed Datasets"; as trained in Xia, Xu, Hu, Ju & Ge 2023,
    "LMPT: Prompt Tuning with Class-Specific Embedding Loss for Long-tailed Multi-Label
    Visual Recognition".
    """
    op = "distribution_balanced_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    if input.ndim != 2:
        raise ValueError(f"{op}: logits must be (N, C), got shape {tuple(input.shape)}")
    c = input.shape[1]
    xp = xp_of(input)
    y = _multi_hot(op, input, target)
    counts = class_counts_array(op, class_counts, input, c)
    n_total = float(num_samples.item() if isinstance(num_samples, Tensor) else num_samples)
    if not bool((counts < n_total).all()):
        raise ValueError(f"{op}: every class count must be smaller than num_samples={n_total} "
                         f"(the prior n_k/N must be < 1), got {counts.tolist()}")
    lam = float(neg_scale)
    bias = -xp.log(n_total / counts - 1) * float(init_bias) / lam
    inv = 1.0 / counts
    repeat = (y * inv).sum(axis=1, keepdims=True)
    safe = xp.where(repeat > 0, repeat, 1)
    r = xp.where(repeat > 0, inv / safe, 1e30)            # "∞": σ(β(r − μ)) = 1
    omega = float(alpha) + sigmoid_array(xp, float(beta) * (r - float(mu)))
    omega = omega * y + omega / lam * (1 - y)
    return DistributionBalanced.apply(input, Tensor._wrap(y), bias, omega, lam, float(gamma),
                                      float(balance_param), reduction)


def _multi_hot(op, input, target):
    """Binary multi-label targets (N, C) in the logits' dtype; class indices (N,) become one-hot."""
    t = target.data if isinstance(target, Tensor) else const(target, input).data
    xp = xp_of(input)
    c = input.shape[1]
    if t.ndim == 1 and t.dtype.kind in "iu":
        y = class_targets(op, input, t)
        return (y[:, None] == xp.arange(c)[None, :]).astype(input.dtype)
    check_same_shape(op, input, t)
    t = t.astype(input.dtype)
    if t.size and not bool(((t == 0) | (t == 1)).all()):
        raise ValueError(f"{op}: multi-label targets must be 0 or 1, got values other than "
                         f"0/1 in a target of shape {tuple(t.shape)}")
    return t


# ------------------------------------------------------------------ Gumbel Optimized Loss
class GumbelBCE(Function):
    """Binary cross-entropy with the Gumbel (max-extreme-value) CDF activation (GOL):
        G(z) = exp(−e^{−z}),  log G = −e^{−z},  ℓ = −[y·log G(ẑ) + (1 − y)·log(1 − G(ẑ))],
    ẑ = clip(z, lo, hi) (kostas1515/GOL ``gumbel_ce.py`` clamps at [−4, 10]; None: no clip).
    With t = e^{−ẑ}: ∂log G/∂ẑ = t and ∂log(1 − G)/∂ẑ = −G·t/(1 − G) = −t/expm1(t), so
        ∂ℓ/∂z = [−y·t + (1 − y)·t/expm1(t)]·1[lo ≤ z ≤ hi].
    Stable forms: log(1 − G) = log(−expm1(−t)) for t ≥ 1 and −ẑ + log(−expm1(−t)/t) for
    t < 1 (the ratio → 1 as t → 0, so ẑ = 1e4 gives ℓ = 1e4 for a negative, not inf);
    t/expm1(t) → 1 as t → 0 and → 0 as t → ∞."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, z, y, lo, hi, reduction):
        xp = ctx.xp
        zc = z
        if lo is not None:
            zc = xp.maximum(zc, lo)
        if hi is not None:
            zc = xp.minimum(zc, hi)
        t = xp.exp(-zc)
        small = t < 1
        t_safe = xp.where(small & (t > 0), t, 1.0)
        ratio = xp.where(t > 0, -xp.expm1(-t_safe) / t_safe, 1.0)
        big_log = xp.log(-xp.expm1(-xp.where(small, 1.0, t)))
        log_1mg = xp.where(small, -zc + xp.log(ratio), big_log)
        loss = y * xp.where(y != 0, t, 0.0) - (1 - y) * log_1mg     # 0·∞ = 0 for negatives
        ctx.save_for_backward(z, y)
        ctx.lo, ctx.hi, ctx.reduction, ctx.shape = lo, hi, reduction, loss.shape
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        z, y = ctx.saved_tensors
        lo, hi = ctx.lo, ctx.hi
        g = reduction_grad(xp, gy, ctx.shape, ctx.reduction)
        zc = z
        inside = xp.ones(z.shape, dtype=bool)
        if lo is not None:
            zc = xp.maximum(zc, lo)
            inside = inside & (z >= lo)
        if hi is not None:
            zc = xp.minimum(zc, hi)
            inside = inside & (z <= hi)
        t = xp.exp(-zc)
        em1 = xp.expm1(xp.minimum(t, 700.0))
        neg = xp.where(t > 0, xp.where(t > 700, 0.0, t / xp.where(t > 0, em1, 1.0)), 1.0)
        d = -y * xp.where(y != 0, t, 0.0) + (1 - y) * neg
        return g * d * inside, None


def gumbel_optimized_loss(input, target, clamp=(-4.0, 10.0), reduction="mean"):
    """Gumbel Optimized Loss: binary cross-entropy with the Gumbel CDF G(z) = exp(−e^{−z})
    in place of the sigmoid, one binary term per class:

        ℓ = −Σ_k [y_k·log G(z_k) + (1 − y_k)·log(1 − G(z_k))],   log G(z) = −e^{−z}

    ``target``: binary/soft labels of the logits' shape, or class indices (N,) (one-hot).
    ``clamp`` = (−4, 10): the logits are clipped there first, as kostas1515/GOL
    ``gumbel_ce.py`` does (zero gradient outside); ``clamp=None`` evaluates the exact loss,
    which overflows to inf for a positive below z ≈ −709 (e^{−z} is not representable: the
    math, not a NaN). Deviation: the official code also clips the *reduced* loss to [0, 20];
    that guard is not applied. Scores at test time: G(z). 'mean' averages all terms.
    Backward: ``GumbelBCE`` (help(minigrad.layers.losses.long_tail.GumbelBCE)).

    Paper: Alexandridis, Deng, Nguyen & Luo 2022, "Long-tailed Instance
    Segmentation using Gumbel Optimized Loss".
    """
    op = "gumbel_optimized_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    t = target.data if isinstance(target, Tensor) else const(target, input).data
    if input.ndim == 2 and t.ndim == 1 and t.dtype.kind in "iu":
        y = class_targets(op, input, t)
        t = (y[:, None] == xp_of(input).arange(input.shape[1])[None, :])
    check_same_shape(op, input, t)
    t = t.astype(input.dtype)
    lo, hi = (None, None) if clamp is None else (None if clamp[0] is None else float(clamp[0]),
                                                None if clamp[1] is None else float(clamp[1]))
    return GumbelBCE.apply(input, Tensor._wrap(t), lo, hi, reduction)


# ------------------------------------------------------------------ Modules
class LDAMLoss(LossModule):
    """LDAM loss Module (max_m = 0.5, s = 30; ``weight`` for DRW).

    ℓ = −w_y·log softmax(s·(z − m_y·e_y))_y, m_j ∝ n_j^(−1/4); backward ``LDAM``.
    Paper: Cao, Wei, Gaidon, Arechiga & Ma 2019, "Learning Imbalanced Datasets with
    Label-Distribution-Aware Margin Loss".
    """

    def __init__(self, class_counts, max_m=0.5, weight=None, s=30.0, reduction="mean"):
        super().__init__(reduction)
        self.max_m, self.s = max_m, s
        self.register_buffer("class_counts", class_counts)
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return ldam_loss(input, target, self.class_counts, self.max_m, self.s, self.weight,
                         self.reduction)


class VSLoss(LossModule):
    """Vector-scaling loss Module (γ = 0.3, τ = 1.0).

    ℓ = CE(z/Δ + ι, y), Δ_j = (n_max/n_j)^γ, ι_j = τ·log π_j; backward ``VectorScaling``.
    Paper: Kini, Paraskevas, Oymak & Thrampoulidis 2021, "Label-Imbalanced and
    Group-Sensitive Classification under Overparameterization".
    """

    def __init__(self, class_counts, gamma=0.3, tau=1.0, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.gamma, self.tau = gamma, tau
        self.register_buffer("class_counts", class_counts)
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return vs_loss(input, target, self.class_counts, self.gamma, self.tau, self.weight,
                       self.reduction)


class DRWLoss(LossModule):
    """Deferred re-weighting Module: call ``set_epoch(epoch)`` each epoch; from ``drw_epoch``
    on, the base loss ('ce' or 'ldam') uses w_j = (1 − β)/(1 − β^{n_j}) normalized to Σ w = C.

    ℓ = base(z, y; weight = w(epoch)); see ``F.drw_reweighting``.
    Paper: Cao, Wei, Gaidon, Arechiga & Ma 2019, "Learning Imbalanced Datasets with
    Label-Distribution-Aware Margin Loss".
    """

    def __init__(self, class_counts, drw_epoch=160, beta=0.9999, loss="ce", max_m=0.5, s=30.0,
                 reduction="mean"):
        super().__init__(reduction)
        self.drw_epoch, self.beta, self.loss, self.max_m, self.s = drw_epoch, beta, loss, max_m, s
        self.epoch = 0
        self.register_buffer("class_counts", class_counts)

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def forward(self, input, target):
        return drw_reweighting(input, target, self.class_counts, self.epoch, self.drw_epoch,
                               self.beta, self.loss, self.max_m, self.s, self.reduction)


class DistributionBalancedLoss(LossModule):
    """Distribution-Balanced loss Module (α = 0.1, β = 10, μ = 0.3, λ = 5, κ = 0.05, focal γ = 2).

    ℓ = β_f·(1 − p_t)^γ·r̂·NTR-BCE(z, y); backward ``DistributionBalanced``.
    Paper: Wu, Huang, Liu, Wang & Lin 2020, "Distribution-Balanced Loss for Multi-Label
    Classification in Long-Tailed Datasets".
    """

    def __init__(self, class_counts, num_samples, alpha=0.1, beta=10.0, mu=0.3, neg_scale=5.0,
                 init_bias=0.05, gamma=2.0, balance_param=2.0, reduction="mean"):
        super().__init__(reduction)
        self.num_samples = num_samples
        self.alpha, self.beta, self.mu = alpha, beta, mu
        self.neg_scale, self.init_bias, self.gamma, self.balance_param = \
            neg_scale, init_bias, gamma, balance_param
        self.register_buffer("class_counts", class_counts)

    def forward(self, input, target):
        return distribution_balanced_loss(input, target, self.class_counts, self.num_samples,
                                          self.alpha, self.beta, self.mu, self.neg_scale,
                                          self.init_bias, self.gamma, self.balance_param,
                                          self.reduction)


class GumbelOptimizedLoss(LossModule):
    """Gumbel Optimized Loss Module (logits clamped to [−4, 10] as the official code).

    ℓ = −Σ_k [y_k·log G(z_k) + (1 − y_k)·log(1 − G(z_k))], G(z) = exp(−e^{−z}); backward ``GumbelBCE``.
    Paper: Alexandridis, Deng, Nguyen & Luo 2022, "Long-tailed Instance
    Segmentation using Gumbel Optimized Loss".
    """

    def __init__(self, clamp=(-4.0, 10.0), reduction="mean"):
        super().__init__(reduction)
        self.clamp = clamp

    def forward(self, input, target):
        return gumbel_optimized_loss(input, target, self.clamp, self.reduction)


# ------------------------------------------------------------------ registration
SADDLE = "Escaping Saddle Points for Effective Generalization on Class-Imbalanced Data"


def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    counts = lambda r, c: (r.integers(1, 200, c) * 1.0)  # noqa: E731

    register(ldam_loss, kind="loss", catalog_id="L080", module=LDAMLoss, papers=[SADDLE],
             inputs=lambda r: [Case(0.1 * n(r, 5, 4), r.integers(0, 4, 5), class_counts=counts(r, 4)),
                               Case(0.1 * n(r, 4, 3), r.integers(0, 3, 4), class_counts=counts(r, 3),
                                    s=5.0, weight=r.random(3) + 0.5, reduction="none"),
                               Case(0.1 * n(r, 2, 3, 2), r.integers(0, 3, (2, 2)),
                                    class_counts=counts(r, 3), reduction="sum")])
    register(vs_loss, kind="loss", catalog_id="L081", module=VSLoss, papers=[SADDLE],
             inputs=lambda r: [Case(n(r, 5, 4), r.integers(0, 4, 5), class_counts=counts(r, 4)),
                               Case(n(r, 4, 3), r.integers(0, 3, 4), class_counts=counts(r, 3),
                                    gamma=0.5, tau=0.7, weight=r.random(3) + 0.5, reduction="none"),
                               Case(n(r, 3, 4), r.dirichlet(r.random(4) + 0.5, 3), wrt=(0,),
                                    class_counts=counts(r, 4), reduction="sum")])
    register(drw_reweighting, kind="loss", catalog_id="L082", papers=[SADDLE], module=DRWLoss,
             inputs=lambda r: [Case(n(r, 5, 4), r.integers(0, 4, 5), class_counts=counts(r, 4), epoch=170),
                               Case(n(r, 5, 4), r.integers(0, 4, 5), class_counts=counts(r, 4), epoch=3),
                               Case(0.1 * n(r, 4, 3), r.integers(0, 3, 4), class_counts=counts(r, 3),
                                    epoch=200, beta=0.99, loss="ldam", s=5.0, reduction="sum")])

    def db_cases(r):
        y = r.integers(0, 2, (4, 5))
        y[0] = 0                                         # a row with no positive label
        return [Case(n(r, 4, 5), y, class_counts=counts(r, 5), num_samples=500),
                Case(n(r, 3, 4), r.integers(0, 2, (3, 4)), class_counts=counts(r, 4), num_samples=300,
                     gamma=0.0, balance_param=1.0, reduction="sum"),
                Case(n(r, 3, 4), r.integers(0, 4, 3), class_counts=counts(r, 4), num_samples=300,
                     gamma=1.5, reduction="none")]

    register(distribution_balanced_loss, kind="loss", catalog_id="L084",
             module=DistributionBalancedLoss,
             papers=["LMPT: Prompt Tuning with Class-Specific Embedding Loss for Long-tailed "
                     "Multi-Label Visual Recognition"], inputs=db_cases)

    def gol_cases(r):
        z = 2 * n(r, 4, 5)
        z[(z > -4.1) & (z < -3.9)] += 0.3                # away from the clamp at −4
        return [Case(z, r.integers(0, 2, (4, 5))),
                Case(z, r.random((4, 5)), wrt=(0,), clamp=None, reduction="sum"),
                Case(n(r, 3, 4), r.integers(0, 4, 3), reduction="none")]

    register(gumbel_optimized_loss, kind="loss", catalog_id="L086", module=GumbelOptimizedLoss,
             papers=["Long-tailed Instance Segmentation using Gumbel Optimized Loss"],
             inputs=gol_cases)


_register_all()
