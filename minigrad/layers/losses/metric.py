"""Metric-learning losses on a batch of embeddings and their integer labels: center,
circle, pair contrastive, triplet (all triplets, batch-hard, semi-hard; or explicit
(anchor, positive, negative) triplets as in PyTorch), ProxyNCA and multi-similarity.

Pairs and triplets are mined from the forward values (index arrays and masks are
constants of the batch, as in every reference implementation); the distances or
similarities they pick are differentiated exactly. A batch with nothing to penalise (no
positive pair, no negative, no valid triplet) gives a loss of 0 that is still connected
to the embeddings, so backward runs and returns zero gradients — never NaN.
"""
import math

from minigrad.autograd import Function, no_grad
from minigrad.layers.losses._common import (LossModule, check_2d, check_reduction,
                                            check_same_shape, const, int_labels,
                                            norm as l2_norm, normalize, pairwise_sq_distances,
                                            raw, reduce, reduction_grad, reduce_array, relu,
                                            same_label_masks, softplus, xp_of, zero_loss)
from minigrad.layers.module import Parameter
from minigrad.ops._checks import check_floating
from minigrad.ops.elementwise import abs as tabs, minimum, sqrt, where
from minigrad.ops.indexing import masked_fill, take_along_axis
from minigrad.ops.reductions import logsumexp
from minigrad.ops.shape import concatenate
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["center_loss", "circle_loss", "contrastive_pair_loss", "triplet_margin_loss",
           "proxy_nca_loss", "multi_similarity_loss",
           "CenterLoss", "CircleLoss", "ContrastivePairLoss", "TripletMarginLoss",
           "ProxyNCALoss", "MultiSimilarityLoss"]


def _empty_or_zero(like, reduction):
    """What a loss returns when the batch has no valid pair/triplet."""
    if reduction == "none":
        return Tensor._wrap(xp_of(like).zeros((0,), dtype=like.dtype))
    return zero_loss(like)


def _mean_over(per, count, reduction, op):
    """Σ per / count for 'mean' (0 when count is 0), Σ per for 'sum', per for 'none'."""
    check_reduction(op, reduction)
    if reduction == "none":
        return per
    total = per.sum()
    return total * (1.0 / count) if reduction == "mean" and count > 0 else \
        (total * 0.0 if reduction == "mean" else total)


# ------------------------------------------------------------------ center loss
class CenterLossFunction(Function):
    """Center loss (Wen et al. 2016): ℓ_i = ½‖x_i − c_{y_i}‖².
    ∂ℓ_i/∂x_i = x_i − c_{y_i};  ∂ℓ_i/∂c_j = −Σ_{i: y_i = j}(x_i − c_j)  (``center_update='gradient'``).
    ``center_update='paper'``: the gradient sent to the centers is the paper's update
        Δc_j = Σ_{i: y_i = j}(c_j − x_i) / (1 + n_j),
    independent of the loss weight λ and of the reduction (as in the official Caffe layer),
    so an SGD step with learning rate α on the centers is exactly c_j ← c_j − α·Δc_j."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, centers, y, reduction, center_update):
        diff = x - centers[y]
        loss = 0.5 * (diff * diff).sum(axis=1)
        ctx.save_for_backward(diff, y)
        ctx.n_centers, ctx.reduction, ctx.center_update = centers.shape[0], reduction, center_update
        return reduce_array(ctx.xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        diff, y = ctx.saved_tensors
        g = reduction_grad(xp, gy, (diff.shape[0],), ctx.reduction)
        dx = g[:, None] * diff
        dc = None
        if ctx.needs_input_grad[1]:
            scatter = ctx.backend.kernels("indexing").scatter_add
            shape = (ctx.n_centers, diff.shape[1])
            if ctx.center_update == "paper":
                counts = xp.bincount(y, minlength=ctx.n_centers).astype(diff.dtype)
                dc = -scatter(shape, diff.dtype, y, diff) / (1 + counts)[:, None]
            else:
                dc = -scatter(shape, diff.dtype, y, dx)
        return dx, dc


def center_loss(features, labels, centers, reduction="mean", center_update="gradient"):
    """Center loss ("Loss Functions and Metrics in Deep Learning"; Wen et al. 2016):
    ℓ_i = ½‖x_i − c_{y_i}‖², used as CE + λ_C·L_C with λ_C = 0.003. ``centers`` (C, d);
    ``center_update='paper'`` makes the centers' gradient the paper's Δc_j (see
    ``CenterLossFunction``), while features always get the exact gradient x_i − c_{y_i}.

    Paper: Wen, Zhang, Li & Qiao 2016, "A Discriminative Feature Learning Approach for Deep
    Face Recognition".
    """
    op = "center_loss"
    check_reduction(op, reduction)
    check_floating(op, features=features, centers=centers)
    check_2d(op, features, "features")
    if center_update not in ("gradient", "paper"):
        raise ValueError(f"{op}: center_update must be 'gradient' or 'paper', got {center_update!r}")
    if centers.ndim != 2 or centers.shape[1] != features.shape[1]:
        raise ValueError(f"{op}: centers of shape {tuple(centers.shape)} must be (classes, "
                         f"{features.shape[1]})")
    y = int_labels(op, labels, features, features.shape[0])
    if y.size and (int(y.min()) < 0 or int(y.max()) >= centers.shape[0]):
        raise IndexError(f"{op}: labels must lie in [0, {centers.shape[0]})")
    return CenterLossFunction.apply(features, centers, y, reduction, center_update)


# ------------------------------------------------------------------ circle loss
def _unit_rows(xp, a):
    return a / xp.maximum(xp.sqrt((a * a).sum(axis=1, keepdims=True)), 1e-12)


def circle_loss(embeddings, labels, m=0.25, gamma=256.0, reduction="mean"):
    """Circle loss ("Circle Loss: A Unified Perspective of Pair Similarity Optimization"),
    pair form on cosine similarities s_ij of the batch. Per anchor i with positives P and
    negatives N:  ℓ_i = softplus(LSE_{n∈N} γα_n(s_n − Δ_n) + LSE_{p∈P} −γα_p(s_p − Δ_p)),
    α_p = [1 + m − s_p]₊, α_n = [s_n + m]₊, Δ_p = 1 − m, Δ_n = m. The weights α are
    computed on detached similarities (the paper's and the official code's choice), so the
    gradient is γ-scaled softmax weights times ∂s/∂x only. m = 0.25, γ = 256 (face
    recognition); fine-grained retrieval uses m ≈ 0.4, γ ≈ 80. 'mean' averages over the
    anchors that have both a positive and a negative; 'none' gives one loss per anchor
    (0 for anchors without pairs).

    Paper: Sun et al. 2020, "Circle Loss: A Unified Perspective of Pair Similarity
    Optimization".
    """
    return _circle_loss(embeddings, labels, m, gamma, reduction, None)


def _cosine_similarities(op, embeddings, labels, reduction):
    """Check the arguments of a pair-based loss on (N, D) embeddings; return (xp, N, the
    integer labels as an array, S) with S = x̂x̂ᵀ the cosine similarities (a tensor)."""
    check_reduction(op, reduction)
    check_floating(op, embeddings=embeddings)
    check_2d(op, embeddings)
    n = embeddings.shape[0]
    y = int_labels(op, labels, embeddings, n)
    xn = normalize(embeddings)
    return xp_of(embeddings), n, y, xn @ xn.T


def _circle_loss(embeddings, labels, m, gamma, reduction, reference):
    op = "circle_loss"
    xp, n, y, s = _cosine_similarities(op, embeddings, labels, reduction)
    ref = s.data if reference is None else _unit_rows(xp, raw(reference, embeddings)) @ \
        _unit_rows(xp, raw(reference, embeddings)).T
    pos, neg = same_label_masks(xp, y)
    valid = pos.any(axis=1) & neg.any(axis=1)
    eye = xp.eye(n, dtype=bool)          # stand-in pair for rows without one (zeroed below)
    pos = xp.where(valid[:, None], pos, eye)
    neg = xp.where(valid[:, None], neg, eye)
    alpha_p = const(-gamma * xp.maximum(1 + m - ref, 0), s, s.dtype)
    alpha_n = const(gamma * xp.maximum(ref + m, 0), s, s.dtype)
    lse_p = logsumexp(masked_fill((s - (1 - m)) * alpha_p, Tensor._wrap(~pos), -math.inf), axis=1)
    lse_n = logsumexp(masked_fill((s - m) * alpha_n, Tensor._wrap(~neg), -math.inf), axis=1)
    per = softplus(lse_p + lse_n) * const(valid, s, s.dtype)
    return _mean_over(per, int(valid.sum()), reduction, op)


def _circle_loss_checked(embeddings, labels, m=0.25, gamma=256.0, reduction="mean", reference=None):
    """For the finite-difference check: α from the unperturbed ``reference`` embeddings."""
    return _circle_loss(embeddings, labels, m, gamma, reduction, reference)


# ------------------------------------------------------------------ pair contrastive
def contrastive_pair_loss(embeddings, labels, margin=1.0, eps=1e-12, reduction="mean"):
    """Pair contrastive loss (Hadsell, Chopra & LeCun 2006) over every pair i < j of the batch:
        ℓ_ij = d_ij²                       (same label)
        ℓ_ij = max(0, margin − d_ij)²      (different labels),   d = √(‖x_i − x_j‖² + eps).
    m = 1 (0.5 for L2-normalised embeddings). Gradients: 2(x_i − x_j) for positive pairs,
    −2[m − d]₊·(x_i − x_j)/d for negative pairs (eps keeps 1/d finite). 'none' returns the
    pair losses in row-major (i, j) order; a batch of fewer than 2 samples gives 0.

    Paper: Hadsell, Chopra & LeCun 2006, "Dimensionality Reduction by Learning an Invariant
    Mapping".
    """
    op = "contrastive_pair_loss"
    check_reduction(op, reduction)
    check_floating(op, embeddings=embeddings)
    check_2d(op, embeddings)
    xp = xp_of(embeddings)
    n = embeddings.shape[0]
    y = int_labels(op, labels, embeddings, n)
    i, j = xp.triu_indices(n, 1)
    if i.size == 0:
        return _empty_or_zero(embeddings, reduction)
    sq = pairwise_sq_distances(embeddings)[i, j]
    hinge = relu(margin - sqrt(sq + eps))
    loss = where(y[i] == y[j], sq, hinge * hinge)
    return reduce(loss, reduction, op)


# ------------------------------------------------------------------ triplet
def _lp_distance(a, b, p, eps):
    """PyTorch's ``pairwise_distance``: ‖a − b + eps‖_p over the last axis (for p = 2 with
    gradient 0 where a − b + eps = 0, as in PyTorch, rather than √0's 0/0)."""
    diff = a - b + eps
    if p == 2:
        return l2_norm(diff, axis=-1)
    return ((tabs(diff) ** p).sum(axis=-1)) ** (1.0 / p)


def _mine_triplets(xp, d, y, mining):
    """(anchor, positive, negative) index arrays chosen from the squared distances d."""
    pos, neg = same_label_masks(xp, y)
    if mining == "all":
        return xp.nonzero(pos[:, :, None] & neg[:, None, :])
    inf = xp.asarray(math.inf, dtype=d.dtype)
    if mining == "batch_hard":
        a = xp.nonzero(pos.any(axis=1) & neg.any(axis=1))[0]
        hardest_pos = xp.where(pos, d, -inf).argmax(axis=1)
        hardest_neg = xp.where(neg, d, inf).argmin(axis=1)
        return a, hardest_pos[a], hardest_neg[a]
    if mining == "semi_hard":
        a, p = xp.nonzero(pos & neg.any(axis=1)[:, None])
        d_ap = d[a, p]
        rows = d[a]                                              # (pairs, N)
        semi = neg[a] & (rows > d_ap[:, None])
        nearest_outside = xp.where(semi, rows, inf).argmin(axis=1)
        farthest = xp.where(neg[a], rows, -inf).argmax(axis=1)
        return a, p, xp.where(semi.any(axis=1), nearest_outside, farthest)
    raise ValueError(f"triplet_margin_loss: mining must be 'all', 'batch_hard' or 'semi_hard', "
                     f"got {mining!r}")


def triplet_margin_loss(anchor, positive, negative=None, margin=1.0, p=2, eps=1e-6, swap=False,
                        reduction="mean", mining="all", squared=False):
    """Triplet margin loss ℓ = max(0, d(a, p) − d(a, n) + margin), two call forms:

    ``triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False)``
    is PyTorch's: explicit triplets, d = ‖a − b + eps‖_p, ``swap`` uses min(d(a,n), d(p,n)).

    ``triplet_margin_loss(embeddings, labels, margin=0.2, mining=...)`` mines the triplets
    of a labelled batch: 'all' (every valid (a, p, n)), 'batch_hard' (Hermans et al.: per
    anchor the farthest positive and the nearest negative) or 'semi_hard' (FaceNet/TF: per
    positive pair the nearest negative farther than the positive, else the farthest
    negative). Distances are d = √(‖a − b‖² + eps) (``squared=True``: ‖a − b‖²). m = 0.2
    on L2-normalised embeddings is the usual choice. 'mean' averages over the mined
    triplets; a batch without a valid triplet gives 0 (zero gradients).
    The mining is index selection (constant); the picked distances are differentiated exactly.

    Paper: Schroff, Kalenichenko & Philbin 2015, "FaceNet: A Unified Embedding for Face
    Recognition and Clustering"; batch-hard mining: Hermans, Beyer & Leibe 2017, "In Defense
    of the Triplet Loss for Person Re-Identification".
    """
    op = "triplet_margin_loss"
    check_reduction(op, reduction)
    check_floating(op, anchor=anchor)
    if negative is not None:
        positive = positive if isinstance(positive, Tensor) else const(positive, anchor, anchor.dtype)
        negative = negative if isinstance(negative, Tensor) else const(negative, anchor, anchor.dtype)
        check_floating(op, positive=positive, negative=negative)
        check_same_shape(op, anchor, positive, ("anchor", "positive"))
        check_same_shape(op, anchor, negative, ("anchor", "negative"))
        d_ap = _lp_distance(anchor, positive, p, eps)
        d_an = _lp_distance(anchor, negative, p, eps)
        if swap:
            d_an = minimum(d_an, _lp_distance(positive, negative, p, eps))
        return reduce(relu(margin + d_ap - d_an), reduction, op)
    embeddings = anchor
    check_2d(op, embeddings)
    xp = xp_of(embeddings)
    y = int_labels(op, positive, embeddings, embeddings.shape[0])
    d2 = pairwise_sq_distances(embeddings)
    a, pi, ni = _mine_triplets(xp, d2.data, y, mining)
    if a.size == 0:
        return _empty_or_zero(embeddings, reduction)
    d_ap, d_an = d2[a, pi], d2[a, ni]
    if not squared:
        d_ap, d_an = sqrt(d_ap + eps), sqrt(d_an + eps)
    return reduce(relu(d_ap - d_an + margin), reduction, op)


# ------------------------------------------------------------------ ProxyNCA
def proxy_nca_loss(embeddings, labels, proxies, softmax_scale=1.0, reduction="mean"):
    """ProxyNCA (Movshovitz-Attias et al. 2017, "No Fuss Distance Metric Learning using
    Proxies"; surveyed in "Deep Metric Learning for Computer Vision: A Brief Overview"): one
    learnable proxy per class,
        ℓ = −log( e^(−s·d(x, p_y)) / Σ_{z≠y} e^(−s·d(x, p_z)) ) = s·d(x, p_y) + LSE_{z≠y}(−s·d(x, p_z)),
    d = ‖x̂ − p̂‖² = 2 − 2·x̂·p̂ between the L2-normalised embedding and proxies. The target
    proxy is left out of the denominator as in the paper (pytorch-metric-learning keeps it,
    making the loss a softmax CE). Backward: softmax weights over z ≠ y through d and the
    two normalisations."""
    op = "proxy_nca_loss"
    check_reduction(op, reduction)
    check_floating(op, embeddings=embeddings, proxies=proxies)
    check_2d(op, embeddings)
    check_2d(op, proxies, "proxies")
    if proxies.shape[0] < 2 or proxies.shape[1] != embeddings.shape[1]:
        raise ValueError(f"{op}: proxies of shape {tuple(proxies.shape)} must be (classes ≥ 2, "
                         f"{embeddings.shape[1]})")
    xp = xp_of(embeddings)
    y = int_labels(op, labels, embeddings, embeddings.shape[0])
    if y.size and (int(y.min()) < 0 or int(y.max()) >= proxies.shape[0]):
        raise IndexError(f"{op}: labels must lie in [0, {proxies.shape[0]})")
    logits = (normalize(embeddings) @ normalize(proxies).T * 2.0 - 2.0) * softmax_scale
    onehot = xp.zeros(logits.shape, dtype=bool)
    onehot[xp.arange(y.shape[0]), y] = True
    target = take_along_axis(logits, Tensor._wrap(y[:, None]), 1).reshape(y.shape)
    others = logsumexp(masked_fill(logits, Tensor._wrap(onehot), -math.inf), axis=1)
    return reduce(others - target, reduction, op)


# ------------------------------------------------------------------ multi-similarity
def multi_similarity_loss(embeddings, labels, alpha=2.0, beta=50.0, base=0.5, margin=0.1,
                          reduction="mean"):
    """Multi-Similarity loss (Wang et al. 2019, "Multi-Similarity Loss with General Pair
    Weighting for Deep Metric Learning"; surveyed in "Deep Metric Learning for Computer
    Vision: A Brief Overview") on cosine similarities S:
        ℓ_i = (1/α)·log(1 + Σ_{k∈P_i} e^(−α(S_ik − λ))) + (1/β)·log(1 + Σ_{k∈N_i} e^(β(S_ik − λ))),
    α = 2, β = 50, λ = ``base`` = 0.5. With ``margin`` ε = 0.1 the pairs are mined first as in
    the official code: negatives with S_ik + ε > min_P S_ij, positives with
    S_ij − ε < max_N S_ik (``margin=None``: no mining). Anchors left without a positive or a
    negative contribute 0; 'mean' divides by the batch size (official code). Each
    log(1 + Σ eᵘ) is an LSE with an extra 0 logit, stable for β = 50."""
    op = "multi_similarity_loss"
    xp, n, y, s = _cosine_similarities(op, embeddings, labels, reduction)
    sd = s.data
    pos, neg = same_label_masks(xp, y)
    if margin is not None:
        inf = xp.asarray(math.inf, dtype=sd.dtype)
        min_pos = xp.where(pos, sd, inf).min(axis=1, keepdims=True)
        max_neg = xp.where(neg, sd, -inf).max(axis=1, keepdims=True)
        pos, neg = pos & (sd - margin < max_neg), neg & (sd + margin > min_pos)
    valid = pos.any(axis=1) & neg.any(axis=1)
    zero = const(xp.zeros((n, 1), dtype=sd.dtype), s)
    up = masked_fill((s - base) * -alpha, Tensor._wrap(~pos), -math.inf)
    un = masked_fill((s - base) * beta, Tensor._wrap(~neg), -math.inf)
    per = (logsumexp(concatenate([zero, up], axis=1), axis=1) * (1.0 / alpha)
           + logsumexp(concatenate([zero, un], axis=1), axis=1) * (1.0 / beta))
    per = per * const(valid, s, s.dtype)
    return _mean_over(per, n, reduction, op)


# ------------------------------------------------------------------ Modules
class CenterLoss(LossModule):
    """Center loss with its class centers (C, d) as a Parameter (N(0, 1) init, as in
    KaiyangZhou/pytorch-center-loss). By default the centers receive the paper's update
    Δc_j as their gradient; ``step_centers()`` applies c ← c − α·Δc (α = 0.5) and clears it.

    Backward: see ``F.center_loss``. Paper: Wen, Zhang, Li & Qiao 2016, "A Discriminative
    Feature Learning Approach for Deep Face Recognition".
    """

    def __init__(self, num_classes, feat_dim, alpha=0.5, center_update="paper", reduction="mean"):
        super().__init__(reduction)
        from minigrad.backends import current
        self.num_classes, self.feat_dim, self.alpha = num_classes, feat_dim, alpha
        self.center_update = center_update
        data = current().generator().standard_normal((num_classes, feat_dim))
        self.centers = Parameter(Tensor._wrap(data.astype("float32")))

    def forward(self, features, labels):
        return center_loss(features, labels, self.centers, self.reduction, self.center_update)

    def step_centers(self):
        with no_grad():
            if self.centers.grad is not None:
                self.centers.data -= self.alpha * self.centers.grad.data
                self.centers.grad = None


class CircleLoss(LossModule):
    """Circle loss (m = 0.25, γ = 256).

    L = log(1 + Σ_j exp(γα_n(s_n − Δ_n))·Σ_i exp(−γα_p(s_p − Δ_p))); backward: see
    ``F.circle_loss``. Paper: Sun et al. 2020, "Circle Loss: A Unified Perspective of Pair
    Similarity Optimization".
    """

    def __init__(self, m=0.25, gamma=256.0, reduction="mean"):
        super().__init__(reduction)
        self.m, self.gamma = m, gamma

    def forward(self, embeddings, labels):
        return circle_loss(embeddings, labels, self.m, self.gamma, self.reduction)


class ContrastivePairLoss(LossModule):
    """Pair contrastive loss over every pair of the batch (margin 1).

    ℓ = d² for same-label pairs, max(0, m − d)² otherwise; see ``F.contrastive_pair_loss``.
    Paper: Hadsell, Chopra & LeCun 2006, "Dimensionality Reduction by Learning an Invariant
    Mapping".
    """

    def __init__(self, margin=1.0, eps=1e-12, reduction="mean"):
        super().__init__(reduction)
        self.margin, self.eps = margin, eps

    def forward(self, embeddings, labels):
        return contrastive_pair_loss(embeddings, labels, self.margin, self.eps, self.reduction)


class TripletMarginLoss(LossModule):
    """``nn.TripletMarginLoss(margin=1.0, p=2, eps=1e-6, swap=False)`` on explicit triplets
    (``forward(anchor, positive, negative)``), or mined from (embeddings, labels)
    (``forward(embeddings, labels)`` with ``mining`` 'all' | 'batch_hard' | 'semi_hard').

    ℓ = max(0, d(a, p) − d(a, n) + margin); backward: see ``F.triplet_margin_loss``.
    Paper: Schroff, Kalenichenko & Philbin 2015, "FaceNet: A Unified Embedding for Face
    Recognition and Clustering".
    """

    def __init__(self, margin=1.0, p=2, eps=1e-6, swap=False, reduction="mean", mining="all",
                 squared=False):
        super().__init__(reduction)
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap
        self.mining, self.squared = mining, squared

    def forward(self, anchor, positive, negative=None):
        return triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps,
                                   self.swap, self.reduction, self.mining, self.squared)


class ProxyNCALoss(LossModule):
    """ProxyNCA with learnable proxies (C, d), initialised N(0, 1).

    ℓ = −log(exp(−d(x, p_y)) / Σ_{z≠y} exp(−d(x, p_z))); backward: see ``F.proxy_nca_loss``.
    Paper: Movshovitz-Attias et al. 2017, "No Fuss Distance Metric Learning using Proxies".
    """

    def __init__(self, num_classes, embedding_size, softmax_scale=1.0, reduction="mean"):
        super().__init__(reduction)
        from minigrad.backends import current
        self.num_classes, self.embedding_size = num_classes, embedding_size
        self.softmax_scale = softmax_scale
        data = current().generator().standard_normal((num_classes, embedding_size))
        self.proxies = Parameter(Tensor._wrap(data.astype("float32")))

    def forward(self, embeddings, labels):
        return proxy_nca_loss(embeddings, labels, self.proxies, self.softmax_scale, self.reduction)


class MultiSimilarityLoss(LossModule):
    """Multi-similarity loss (α = 2, β = 50, λ = 0.5, mining margin 0.1).

    Backward: see ``F.multi_similarity_loss``. Paper: Wang et al. 2019, "Multi-Similarity
    Loss with General Pair Weighting for Deep Metric Learning".
    """

    def __init__(self, alpha=2.0, beta=50.0, base=0.5, margin=0.1, reduction="mean"):
        super().__init__(reduction)
        self.alpha, self.beta, self.base, self.margin = alpha, beta, base, margin

    def forward(self, embeddings, labels):
        return multi_similarity_loss(embeddings, labels, self.alpha, self.beta, self.base,
                                     self.margin, self.reduction)


# ------------------------------------------------------------------ registry
def _center_rule(arrays, kwargs, gy):
    """features: g·(x − c_y); centers: the paper's Δc_j (independent of g)."""
    import numpy as np
    x, y, c = arrays
    diff = x - c[y]
    g = np.broadcast_to(gy, (x.shape[0],)) / (x.shape[0] if kwargs.get("reduction", "mean") == "mean" else 1)
    delta = np.zeros_like(c)
    for j in range(c.shape[0]):
        members = y == j
        delta[j] = (c[j] - x[members]).sum(axis=0) / (1 + members.sum())
    return [g[:, None] * diff, delta]


def _register_all():
    import numpy as np
    overview = "Deep Metric Learning for Computer Vision: A Brief Overview"
    labels6 = np.array([0, 0, 1, 1, 2, 0])
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731

    register(center_loss, kind="loss", catalog_id="L018", module=CenterLoss, check="fd+custom",
             backward_rule=_center_rule, papers=["Loss Functions and Metrics in Deep Learning", overview],
             inputs=lambda r: [Case(n(r, 5, 3), np.array([0, 2, 0, 1, 2]), n(r, 3, 3)),
                               Case(n(r, 4, 2), np.array([1, 1, 0, 1]), n(r, 2, 2), reduction="sum"),
                               Case(n(r, 5, 3), np.array([0, 2, 0, 1, 2]), n(r, 4, 3),
                                    center_update="paper", custom=True),
                               Case(n(r, 4, 2), np.array([1, 1, 0, 1]), n(r, 2, 2), reduction="sum",
                                    center_update="paper", custom=True)])

    def circle_cases(r):
        x1, x2 = n(r, 6, 3), n(r, 5, 4)
        return [Case(x1, labels6, gamma=16.0, reference=x1.copy()),
                Case(x2, np.array([0, 1, 0, 1, 1]), m=0.4, gamma=4.0, reference=x2.copy(),
                     reduction="none"),
                Case(x1 / 2, labels6, reference=x1 / 2, reduction="sum")]

    register(circle_loss, kind="loss", catalog_id="L019", module=CircleLoss,
             checked_as=_circle_loss_checked, inputs=circle_cases,
             papers=["Circle Loss: A Unified Perspective of Pair Similarity Optimization"])

    def pair_cases(r):
        return [Case(n(r, 5, 3), np.array([0, 0, 1, 1, 2])),
                Case(0.5 * n(r, 4, 2), np.array([0, 1, 0, 1]), margin=1.5, reduction="none"),
                Case(n(r, 4, 3), np.array([2, 0, 2, 1]), margin=2.0, reduction="sum")]

    register(contrastive_pair_loss, kind="loss", catalog_id="L020", module=ContrastivePairLoss,
             papers=["Loss Functions and Metrics in Deep Learning", overview], inputs=pair_cases)

    def triplet_cases(r):
        return [Case(n(r, 6, 3), labels6, margin=0.5),
                Case(n(r, 6, 3), labels6, margin=0.5, mining="batch_hard", reduction="none"),
                Case(n(r, 6, 3), labels6, margin=1.0, mining="semi_hard", reduction="sum"),
                Case(n(r, 5, 2), np.array([0, 1, 1, 0, 1]), margin=0.3, mining="batch_hard",
                     squared=True),
                Case(n(r, 4, 3), n(r, 4, 3), n(r, 4, 3)),
                Case(n(r, 4, 3), n(r, 4, 3), n(r, 4, 3), margin=2.0, swap=True, p=3,
                     reduction="none")]

    register(triplet_margin_loss, kind="loss", catalog_id="L021", module=TripletMarginLoss,
             papers=["Supervised Contrastive Learning",
                     "Generalized Few-Shot Semantic Segmentation: All You Need is Fine-Tuning",
                     "SuSana Distancia is all you need: Enforcing class separability in metric "
                     "learning via two novel distance-based loss functions for few-shot image "
                     "classification", "Loss Functions and Metrics in Deep Learning", overview],
             inputs=triplet_cases)
    register(proxy_nca_loss, kind="loss", catalog_id="L022", module=ProxyNCALoss, papers=[overview],
             inputs=lambda r: [Case(n(r, 5, 3), np.array([0, 1, 2, 1, 0]), n(r, 3, 3)),
                               Case(n(r, 4, 3), np.array([0, 1, 1, 3]), n(r, 4, 3), softmax_scale=3.0,
                                    reduction="none")])
    register(multi_similarity_loss, kind="loss", catalog_id="L023", module=MultiSimilarityLoss,
             papers=[overview],
             inputs=lambda r: [Case(n(r, 6, 3), labels6),
                               Case(n(r, 6, 3), labels6, margin=None, beta=10.0, reduction="none"),
                               Case(n(r, 5, 4), np.array([0, 1, 0, 1, 1]), reduction="sum")])


_register_all()
