"""Contrastive / self-supervised losses: InfoNCE and NT-Xent (SimCLR), the symmetric
CLIP loss, supervised contrastive (SupCon), SigLIP's pairwise sigmoid loss and BYOL's
negative cosine to a stop-gradient target.

All are compositions of registered ops around the private L2 normalisation and
log-softmax/LSE: excluded entries (an anchor with itself) are masked with −inf before the
LSE — never with a large finite constant — so they get exactly zero weight and gradient.
"""
import math

from minigrad.autograd import no_grad
from minigrad.layers.losses._common import (LossModule, check_2d, check_reduction,
                                            check_same_shape, const, int_labels, normalize,
                                            reduce, scalar_param, softplus, xp_of)
from minigrad.ops._checks import check_floating
from minigrad.layers.losses.classification import cross_entropy
from minigrad.layers.module import Parameter
from minigrad.ops.elementwise import clip, exp
from minigrad.ops.indexing import masked_fill, take_along_axis
from minigrad.ops.reductions import logsumexp
from minigrad.ops.shape import concatenate
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["info_nce_loss", "nt_xent_loss", "clip_loss", "supcon_loss", "siglip_loss",
           "byol_loss", "InfoNCELoss", "ClipLoss", "SupConLoss", "SigLipLoss", "BYOLLoss"]


def _scalar(x, like):
    return scalar_param(x, like)


def _keep_top_k(xp, scores, candidates, k):
    """Boolean mask of the k highest ``scores`` among ``candidates`` in each row."""
    if k is None:
        return candidates
    masked = xp.where(candidates, scores, -xp.inf)
    order = xp.argsort(-masked, axis=1)[:, :k]
    keep = xp.zeros(candidates.shape, dtype=bool)
    keep[xp.arange(keep.shape[0])[:, None], order] = True
    return keep & candidates


def info_nce_loss(query, positive_key, negative_keys=None, temperature=0.5, reduction="mean",
                  top_k=None, normalize_inputs=True):
    """InfoNCE / NT-Xent / N-pair loss (Oord et al.; SimCLR; "Understanding the Behaviour of
    Contrastive Loss"):  ℓ = −log( e^(s_ap/τ) / Σ_j e^(s_aj/τ) ) = LSE_j(s_aj/τ) − s_ap/τ,
    s = cosine similarity (dot product with ``normalize_inputs=False``, the N-pair loss).

    ``negative_keys=None``: NT-Xent (SimCLR). ``query`` and ``positive_key`` (N, d) are two
    views; the 2N embeddings are anchors, each with its other view as positive and the
    2N − 2 others as negatives (the anchor itself is masked with −inf); mean over 2N.
    τ = 0.5 (CIFAR recipes) by default, 0.1–0.2 on ImageNet.

    ``negative_keys`` (M, d) shared by all queries, or (N, M, d) per query: the generic
    InfoNCE with one positive per query; mean over N.

    ``top_k``: keep only the k hardest (most similar) negatives in the denominator (the
    hardness-aware variant); the selection is constant. Backward: softmax weights (p − q)/τ
    through the similarities and the normalisation.

    Paper: van den Oord, Li & Vinyals 2018, "Representation Learning with Contrastive
    Predictive Coding".
    """
    op = "info_nce_loss"
    check_reduction(op, reduction)
    check_floating(op, query=query, positive_key=positive_key, negative_keys=negative_keys)
    check_2d(op, query, "query")
    check_same_shape(op, query, positive_key, ("query", "positive_key"))
    xp = xp_of(query)
    q = normalize(query) if normalize_inputs else query
    k = normalize(positive_key) if normalize_inputs else positive_key
    if negative_keys is None:
        n = query.shape[0]
        z = concatenate([q, k], axis=0)
        sim = z @ z.T * (1.0 / temperature)
        eye = xp.eye(2 * n, dtype=bool)
        partner = xp.concatenate([xp.arange(n, 2 * n), xp.arange(n)])
        negatives = ~eye
        negatives[xp.arange(2 * n), partner] = False
        keep = _keep_top_k(xp, sim.data, negatives, top_k)
        keep[xp.arange(2 * n), partner] = True
        target = take_along_axis(sim, Tensor._wrap(partner[:, None]), 1).reshape(2 * n)
        loss = logsumexp(masked_fill(sim, Tensor._wrap(~keep), -math.inf), axis=1) - target
        return reduce(loss, reduction, op)
    neg = normalize(negative_keys) if normalize_inputs else negative_keys
    pos_logit = (q * k).sum(axis=1, keepdims=True)
    if neg.ndim == 2:
        neg_logits = q @ neg.T
    elif neg.ndim == 3 and neg.shape[0] == query.shape[0]:
        neg_logits = (q.reshape(q.shape[0], 1, q.shape[1]) * neg).sum(axis=2)
    else:
        raise ValueError(f"{op}: negative_keys must be (M, d) or (N, M, d), got shape "
                         f"{tuple(negative_keys.shape)} for a query of shape {tuple(query.shape)}")
    logits = concatenate([pos_logit, neg_logits], axis=1) * (1.0 / temperature)
    if top_k is not None:
        cand = xp.ones(logits.shape, dtype=bool)
        cand[:, 0] = False
        keep = _keep_top_k(xp, logits.data, cand, top_k)
        keep[:, 0] = True
        logits = masked_fill(logits, Tensor._wrap(~keep), -math.inf)
    loss = logsumexp(logits, axis=1) - logits[:, 0]
    return reduce(loss, reduction, op)


def nt_xent_loss(z1, z2, temperature=0.5, reduction="mean"):
    """NT-Xent (SimCLR): ``info_nce_loss(z1, z2, temperature=τ)``.

    ℓ_i = −log(exp(sim(z_i, z_j)/τ) / Σ_{k≠i} exp(sim(z_i, z_k)/τ)) over the 2N views;
    backward: see ``F.info_nce_loss``. Paper: Chen, Kornblith, Norouzi & Hinton 2020, "A
    Simple Framework for Contrastive Learning of Visual Representations".
    """
    return info_nce_loss(z1, z2, None, temperature, reduction)


def clip_loss(image_features, text_features, logit_scale, reduction="mean",
              max_logit_scale=100.0, normalize_inputs=True):
    """Symmetric image–text contrastive loss (CLIP; "M2-Encoder: Advancing Bilingual
    Image-Text Understanding by Large-scale Efficient Pretraining"):
        logits = e^t·Î·Êᵀ,   L = ½(CE(logits, diag) + CE(logitsᵀ, diag)),
    t = ``logit_scale`` (learnable, init log(1/0.07)), e^t clamped at ``max_logit_scale`` = 100
    (the clamp gives t zero gradient when saturated). Backward: the CE gradients along both
    axes; ∂L/∂t = Σ ∂L/∂logits ⊙ logits. 'none' gives ½(ℓ_img,i + ℓ_txt,i) per pair.

    Paper: Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
    Supervision".
    """
    op = "clip_loss"
    check_reduction(op, reduction)
    check_floating(op, image_features=image_features, text_features=text_features)
    check_2d(op, image_features, "image_features")
    check_same_shape(op, image_features, text_features, ("image_features", "text_features"))
    img = normalize(image_features) if normalize_inputs else image_features
    txt = normalize(text_features) if normalize_inputs else text_features
    scale = exp(clip(_scalar(logit_scale, image_features), None, math.log(max_logit_scale)))
    logits = img @ txt.T * scale
    labels = Tensor._wrap(xp_of(image_features).arange(image_features.shape[0]))
    per = (cross_entropy(logits, labels, reduction="none")
           + cross_entropy(logits.T, labels, reduction="none")) * 0.5
    return reduce(per, reduction, op)


def supcon_loss(features, labels=None, temperature=0.07, base_temperature=0.07,
                contrast_mode="all", reduction="mean", normalize_inputs=True):
    """Supervised contrastive loss L_out ("Supervised Contrastive Learning"; HobbitLong/SupContrast):
        ℓ_i = −(τ/τ_base)·(1/|P(i)|)·Σ_{p∈P(i)} log( e^(z_i·z_p/τ) / Σ_{a≠i} e^(z_i·z_a/τ) ),
    ``features`` (B, V, d) (V views; (B, d) means one view), z L2-normalised, P(i) = the other
    samples (any view) with i's label; ``labels=None`` is SimCLR (positives = other views).
    Defaults follow the official code: τ = 0.07 = τ_base (the paper reports τ = 0.1).
    ``contrast_mode='one'`` uses only the first view as anchors. Anchors without a positive
    contribute 0 (the official code's clamp of |P(i)| at 1); 'mean' averages over all
    anchors as the official code does. Backward: (p − q/|P|)/τ through the similarities.

    Paper: Khosla et al. 2020, "Supervised Contrastive Learning".
    """
    op = "supcon_loss"
    check_reduction(op, reduction)
    check_floating(op, features=features)
    if features.ndim == 2:
        features = features.reshape(features.shape[0], 1, features.shape[1])
    if features.ndim != 3:
        raise ValueError(f"{op}: features must be (batch, views, dim), got {tuple(features.shape)}")
    xp = xp_of(features)
    b, views, _ = features.shape
    if labels is None:
        y = xp.arange(b)
    else:
        y = int_labels(op, labels, features, b)
    z = normalize(features, axis=2) if normalize_inputs else features
    contrast = concatenate([z[:, v] for v in range(views)], axis=0)          # (V·B, d), view-major
    if contrast_mode == "one":
        anchor, n_anchor_views = z[:, 0], 1
    elif contrast_mode == "all":
        anchor, n_anchor_views = contrast, views
    else:
        raise ValueError(f"{op}: contrast_mode must be 'all' or 'one', got {contrast_mode!r}")
    logits = anchor @ contrast.T * (1.0 / temperature)
    ya, yc = xp.tile(y, n_anchor_views), xp.tile(y, views)
    n_a = ya.shape[0]
    self_mask = xp.zeros((n_a, yc.shape[0]), dtype=bool)
    self_mask[xp.arange(n_a), xp.arange(n_a)] = True
    positives = (ya[:, None] == yc[None, :]) & ~self_mask
    log_prob = logits - logsumexp(masked_fill(logits, Tensor._wrap(self_mask), -math.inf),
                                  axis=1, keepdims=True)
    n_pos = xp.maximum(positives.sum(axis=1), 1).astype(logits.dtype)
    mean_log_prob_pos = (log_prob * const(positives, logits, logits.dtype)).sum(axis=1) \
        * const(1.0 / n_pos, logits)
    loss = mean_log_prob_pos * (-temperature / base_temperature)
    return reduce(loss, reduction, op)


def siglip_loss(image_features, text_features, logit_scale, logit_bias, reduction="mean",
                normalize_inputs=True):
    """SigLIP pairwise sigmoid loss ("Sigmoid Loss for Language Image Pre-Training"):
        L = −(1/B)·Σ_i Σ_j log σ(ℓ_ij·(e^t'·x̂_i·ŷ_j + b)),  ℓ_ij = +1 if i = j else −1,
    written as softplus(−ℓ_ij·logit_ij) (log σ(u) = −softplus(−u)). t' = ``logit_scale``
    (init log 10) and b = ``logit_bias`` (init −10) are learnable:
    ∂L/∂t' = e^t'·Σ ∂L/∂logit ⊙ x̂ŷᵀ, ∂L/∂b = Σ ∂L/∂logit. 'mean' is the paper's
    normalisation Σ/B (not Σ/B²); 'sum' is Σ; 'none' the (B, B) matrix.

    Paper: Zhai, Mustafa, Kolesnikov & Beyer 2023, "Sigmoid Loss for Language Image
    Pre-Training".
    """
    op = "siglip_loss"
    check_reduction(op, reduction)
    check_floating(op, image_features=image_features, text_features=text_features)
    check_2d(op, image_features, "image_features")
    check_same_shape(op, image_features, text_features, ("image_features", "text_features"))
    xp = xp_of(image_features)
    b = image_features.shape[0]
    img = normalize(image_features) if normalize_inputs else image_features
    txt = normalize(text_features) if normalize_inputs else text_features
    logits = img @ txt.T * exp(_scalar(logit_scale, image_features)) \
        + _scalar(logit_bias, image_features)
    signs = const(2 * xp.eye(b) - 1, logits, logits.dtype)
    per = softplus(-(signs * logits))
    if reduction == "mean":
        return per.sum() * (1.0 / b)
    return reduce(per, reduction, op)


def byol_loss(online_prediction, target_projection, reduction="mean"):
    """BYOL regression loss ("Self-Labeling Refinement for Robust Representation Learning with
    Bootstrap Your Own Latent"; Grill et al. 2020): ℓ = ‖q̂ − sg(ẑ)‖² = 2 − 2·cos(q, sg(z)).
    The target projection is detached here (the target network is an EMA of the online one:
    ``BYOLLoss.update_target``). Symmetrise by adding ``byol_loss(q2, z1)``. Backward:
    −2(I − q̂q̂ᵀ)ẑ/‖q‖ (the normalisation backward of the cosine).

    Paper: Grill et al. 2020, "Bootstrap your own latent: A new approach to self-supervised
    Learning".
    """
    op = "byol_loss"
    check_reduction(op, reduction)
    check_floating(op, online_prediction=online_prediction, target_projection=target_projection)
    check_same_shape(op, online_prediction, target_projection,
                     ("online_prediction", "target_projection"))
    target = target_projection.detach() if isinstance(target_projection, Tensor) else \
        const(target_projection, online_prediction)
    cos = (normalize(online_prediction) * normalize(target)).sum(axis=-1)
    return reduce(2.0 - 2.0 * cos, reduction, op)


# ------------------------------------------------------------------ Modules
class InfoNCELoss(LossModule):
    """InfoNCE / NT-Xent Module (τ = 0.5): ``forward(query, positive_key, negative_keys=None)``.

    Backward: see ``F.info_nce_loss``. Paper: van den Oord, Li & Vinyals 2018,
    "Representation Learning with Contrastive Predictive Coding".
    """

    def __init__(self, temperature=0.5, top_k=None, reduction="mean"):
        super().__init__(reduction)
        self.temperature, self.top_k = temperature, top_k

    def forward(self, query, positive_key, negative_keys=None):
        return info_nce_loss(query, positive_key, negative_keys, self.temperature, self.reduction,
                             self.top_k)


class ClipLoss(LossModule):
    """CLIP loss with its learnable ``logit_scale`` (init log(1/0.07), exp clamped at 100).

    L = ½(CE(e^t·ÎTᵀ, i) + CE(e^t·TÎᵀ, i)); backward: see ``F.clip_loss``.
    Paper: Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
    Supervision".
    """

    def __init__(self, init_logit_scale=math.log(1 / 0.07), max_logit_scale=100.0, reduction="mean"):
        super().__init__(reduction)
        self.max_logit_scale = max_logit_scale
        self.logit_scale = Parameter(Tensor(float(init_logit_scale)))

    def forward(self, image_features, text_features):
        return clip_loss(image_features, text_features, self.logit_scale, self.reduction,
                         self.max_logit_scale)


class SupConLoss(LossModule):
    """SupCon Module (τ = τ_base = 0.07, contrast_mode 'all').

    Backward: see ``F.supcon_loss``. Paper: Khosla et al. 2020, "Supervised Contrastive
    Learning".
    """

    def __init__(self, temperature=0.07, base_temperature=0.07, contrast_mode="all", reduction="mean"):
        super().__init__(reduction)
        self.temperature, self.base_temperature = temperature, base_temperature
        self.contrast_mode = contrast_mode

    def forward(self, features, labels=None):
        return supcon_loss(features, labels, self.temperature, self.base_temperature,
                           self.contrast_mode, self.reduction)


class SigLipLoss(LossModule):
    """SigLIP loss with learnable ``logit_scale`` t' (init log 10) and ``logit_bias`` (init −10).

    L = −(1/B) Σ_ij log σ(z_ij·(e^t'·x̂_i·ŷ_j + b)), z_ij = ±1; backward: see ``F.siglip_loss``.
    Paper: Zhai, Mustafa, Kolesnikov & Beyer 2023, "Sigmoid Loss for Language Image
    Pre-Training".
    """

    def __init__(self, init_logit_scale=math.log(10.0), init_logit_bias=-10.0, reduction="mean"):
        super().__init__(reduction)
        self.logit_scale = Parameter(Tensor(float(init_logit_scale)))
        self.logit_bias = Parameter(Tensor(float(init_logit_bias)))

    def forward(self, image_features, text_features):
        return siglip_loss(image_features, text_features, self.logit_scale, self.logit_bias,
                           self.reduction)


class BYOLLoss(LossModule):
    """Symmetrised BYOL loss: ``forward(q1, q2, z1, z2)`` = byol(q1, z2) + byol(q2, z1).
    The target network is an EMA of the online one with the cosine schedule
    τ_k = 1 − (1 − τ_base)(cos(πk/K) + 1)/2, τ_base = 0.996 (``target_decay``), applied by
    ``update_target(online, target, tau)``.

    Paper: Grill et al. 2020, "Bootstrap your own latent: A new approach to self-supervised
    Learning".
    """

    def __init__(self, reduction="mean"):
        super().__init__(reduction)

    def forward(self, q1, q2, z1, z2):
        return byol_loss(q1, z2, self.reduction) + byol_loss(q2, z1, self.reduction)

    @staticmethod
    def target_decay(step, total_steps, base=0.996):
        return 1 - (1 - base) * (math.cos(math.pi * step / total_steps) + 1) / 2

    @staticmethod
    def update_target(online, target, tau):
        """ξ ← τ·ξ + (1 − τ)·θ for every parameter pair (in place, no gradient)."""
        with no_grad():
            for p_t, p_o in zip(target.parameters(), online.parameters()):
                p_t.data[...] = tau * p_t.data + (1 - tau) * p_o.data


# ------------------------------------------------------------------ registry
def _register_all():
    import numpy as np
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    register(info_nce_loss, kind="loss", catalog_id="L024", module=InfoNCELoss,
             papers=["Understanding the Behaviour of Contrastive Loss",
                     "Understanding Contrastive Representation Learning through Alignment and "
                     "Uniformity on the Hypersphere",
                     "Generalization Analysis for Contrastive Representation Learning",
                     "Investigating the Benefits of Projection Head for Representation Learning",
                     "Deep Metric Learning for Computer Vision: A Brief Overview"],
             inputs=lambda r: [Case(n(r, 3, 4), n(r, 3, 4)),
                               Case(n(r, 4, 3), n(r, 4, 3), temperature=0.2, top_k=3, reduction="none"),
                               Case(n(r, 3, 4), n(r, 3, 4), n(r, 5, 4), temperature=0.3),
                               Case(n(r, 3, 4), n(r, 3, 4), n(r, 3, 4, 4), top_k=2, reduction="sum"),
                               Case(n(r, 3, 2), n(r, 3, 2), normalize_inputs=False)])
    register(clip_loss, kind="loss", catalog_id="L025", module=ClipLoss,
             papers=["M2-Encoder: Advancing Bilingual Image-Text Understanding by Large-scale "
                     "Efficient Pretraining"],
             inputs=lambda r: [Case(n(r, 4, 3), n(r, 4, 3), np.array(math.log(1 / 0.07)) * 0.5),
                               Case(n(r, 3, 5), n(r, 3, 5), np.array(1.0), reduction="none"),
                               Case(n(r, 3, 2), n(r, 3, 2), np.array(5.0), reduction="sum")])
    register(supcon_loss, kind="loss", catalog_id="L026", module=SupConLoss,
             papers=["Supervised Contrastive Learning",
                     "Symmetric Neural-Collapse Representations with Supervised Contrastive Loss: "
                     "The Impact of ReLU and Batching",
                     "Investigating the Benefits of Projection Head for Representation Learning"],
             inputs=lambda r: [Case(n(r, 4, 2, 3), np.array([0, 1, 0, 2]), temperature=0.5,
                                    base_temperature=0.5),
                               Case(n(r, 3, 2, 3), None, temperature=0.3, reduction="none"),
                               Case(n(r, 4, 2, 3), np.array([1, 1, 0, 0]), temperature=0.4,
                                    contrast_mode="one", reduction="sum"),
                               Case(n(r, 5, 3), np.array([0, 1, 0, 2, 1]), temperature=0.5)])
    register(siglip_loss, kind="loss", catalog_id="L027", module=SigLipLoss,
             papers=["Sigmoid Loss for Language Image Pre-Training"],
             inputs=lambda r: [Case(n(r, 4, 3), n(r, 4, 3), np.array(math.log(10.0)), np.array(-10.0) / 4),
                               Case(n(r, 3, 2), n(r, 3, 2), np.array(0.5), np.array(0.3),
                                    reduction="none"),
                               Case(n(r, 3, 4), n(r, 3, 4), np.array(1.0), np.array(-1.0),
                                    reduction="sum")])
    register(byol_loss, kind="loss", catalog_id="L028", module=BYOLLoss,
             papers=["Self-Labeling Refinement for Robust Representation Learning with Bootstrap "
                     "Your Own Latent"],
             inputs=lambda r: [Case(n(r, 4, 3), n(r, 4, 3), wrt=(0,)),
                               Case(n(r, 3, 5), n(r, 3, 5), wrt=(0,), reduction="none")])


_register_all()
