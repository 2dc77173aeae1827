"""Recommendation losses on user/item scores and embeddings: BPR (the pairwise baseline of
CM³ and most collaborative-filtering papers), SimpleX's cosine contrastive loss (CCL) and
CM³'s alignment + calibrated uniformity loss.
Each is a ``Function`` with a hand-derived backward."""
import math

from minigrad.autograd import Function
from minigrad.layers.losses._common import (LossModule, check_reduction, reduce_array,
                                            reduction_grad, sigmoid_array, softplus_array,
                                            xp_of)
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["bpr_loss", "cosine_contrastive_loss", "calibrated_uniformity_loss", "BPRLoss",
           "CosineContrastiveLoss", "CalibratedUniformityLoss"]


# ------------------------------------------------------------------ BPR
class BPR(Function):
    """BPR (Rendle et al. 2009) on scores: with u = s⁺ − s⁻ (s⁺ broadcast over the K
    negatives of its row when s⁻ is (N, K)),
        ℓ = −log σ(u) = softplus(−u)    (= max(−u, 0) + log1p(e^(−|u|)), finite for any u).
    Backward: dℓ/du = −σ(−u), so ∂ℓ/∂s⁻ = σ(−u) and ∂ℓ/∂s⁺ = −Σ_K σ(−u) (summed over the
    negatives that share the positive)."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, pos, neg, reduction):
        xp = ctx.xp
        p = pos.reshape(pos.shape + (1,) * (neg.ndim - pos.ndim))
        u = p - neg
        loss = softplus_array(xp, -u)
        ctx.save_for_backward(u)
        ctx.reduction, ctx.shape, ctx.pshape = reduction, loss.shape, pos.shape
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        u, = ctx.saved_tensors
        g = reduction_grad(xp, gy, ctx.shape, ctx.reduction) * sigmoid_array(xp, -u)
        gpos = -g
        if u.ndim > len(ctx.pshape):
            gpos = gpos.sum(axis=tuple(range(len(ctx.pshape), u.ndim)))
        return gpos, g


def bpr_loss(pos_score, neg_score, reduction="mean"):
    """Bayesian personalised ranking loss, the pairwise baseline objective of CM³:

        ℓ = −log σ(s⁺ − s⁻)

    over (user, positive item, sampled negative item) triples, with s the user·item score.
    ``pos_score`` (N,) and ``neg_score`` (N,) or (N, K) (K sampled negatives per positive);
    'mean' averages over every (positive, negative) pair. Backward: ``BPR``
    (help(minigrad.layers.losses.recommendation.BPR)): ∂ℓ/∂s⁻ = σ(s⁻ − s⁺) = −∂ℓ/∂s⁺.
    Formula: enoche/CM3 src/models/cm3.py ``bpr_loss`` (−mean logsigmoid(s⁺ − s⁻), the same
    exact form; RecBole's ``BPRLoss`` instead takes −log(1e-10 + σ(u)), capped near 23).

    Paper: Zhou, Wang & Shen 2025, "CM^3: Calibrating Multimodal Recommendation"
    (BPR: Rendle et al. 2009).
    """
    op = "bpr_loss"
    check_reduction(op, reduction)
    check_floating(op, pos_score=pos_score, neg_score=neg_score)
    if pos_score.ndim != 1 or neg_score.ndim not in (1, 2) or neg_score.shape[0] != pos_score.shape[0]:
        raise ValueError(f"{op}: pos_score must be (N,) and neg_score (N,) or (N, K), got shapes "
                         f"{tuple(pos_score.shape)} and {tuple(neg_score.shape)}")
    return BPR.apply(pos_score, neg_score, reduction)


class BPRLoss(LossModule):
    """``BPRLoss(reduction='mean')``: ℓ = −log σ(s⁺ − s⁻); see ``F.bpr_loss``.

    Paper: Zhou, Wang & Shen 2025, "CM^3: Calibrating Multimodal Recommendation".
    """

    def forward(self, pos_score, neg_score):
        return bpr_loss(pos_score, neg_score, self.reduction)


# ------------------------------------------------------------------ SimpleX CCL
class CosineContrastive(Function):
    """Cosine contrastive loss (SimpleX). Cosines c = u·v/(‖u‖_ε‖v‖_ε), ‖x‖_ε = max(‖x‖, ε);
    per user row i with positive v_i and negatives v_ik (k = 1..K):
        ℓ_i = relu(1 − c_i⁺) + w_K·Σ_k relu(c_ik − m),   w_K = w/K (or 1 when w is None).
    Backward. The hinge slopes: ∂ℓ/∂c⁺ = −1[c⁺ < 1], ∂ℓ/∂c_k = w_K·1[c_k > m].
    The cosine, for ‖u‖ > ε: ∂c/∂u = (v̂ − c·û)/‖u‖ (the component of v̂ orthogonal to û),
    and symmetrically ∂c/∂v = (û − c·v̂)/‖v‖; where ‖u‖ ≤ ε the norm is the constant ε, so
    ∂c/∂u = v/(ε‖v‖_ε) (PyTorch's ``cosine_similarity`` convention: no NaN at u = 0)."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, user, pos, neg, margin, weight, eps, reduction):
        xp = ctx.xp
        nu = xp.maximum(xp.sqrt((user * user).sum(axis=-1)), eps)           # (N,)
        npos = xp.maximum(xp.sqrt((pos * pos).sum(axis=-1)), eps)           # (N,)
        nneg = xp.maximum(xp.sqrt((neg * neg).sum(axis=-1)), eps)           # (N, K)
        cpos = (user * pos).sum(axis=-1) / (nu * npos)
        cneg = (user[:, None, :] * neg).sum(axis=-1) / (nu[:, None] * nneg)
        wk = 1.0 if weight is None else weight / neg.shape[1]
        loss = xp.maximum(1 - cpos, 0) + wk * xp.maximum(cneg - margin, 0).sum(axis=-1)
        ctx.save_for_backward(user, pos, neg, nu, npos, nneg, cpos, cneg)
        ctx.args = margin, wk, eps
        ctx.reduction, ctx.shape = reduction, loss.shape
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        user, pos, neg, nu, npos, nneg, cpos, cneg = ctx.saved_tensors
        margin, wk, eps = ctx.args
        g = reduction_grad(xp, gy, ctx.shape, ctx.reduction)
        gp = -g * (cpos < 1)                                      # dℓ/dc⁺
        gn = (g * wk)[:, None] * (cneg > margin)                  # dℓ/dc_k

        def dcos(a, b, na, nb, c):
            """∂c/∂a for c = a·b/(‖a‖_ε‖b‖_ε), a and b broadcast on the last axis."""
            big = (na > eps)[..., None]
            return b / (na * nb)[..., None] - xp.where(big, c[..., None] * a / (na * na)[..., None], 0)

        du = gp[:, None] * dcos(user, pos, nu, npos, cpos) \
            + (gn[..., None] * dcos(user[:, None, :], neg, nu[:, None], nneg, cneg)).sum(axis=1)
        dpos = gp[:, None] * dcos(pos, user, npos, nu, cpos)
        dneg = gn[..., None] * dcos(neg, user[:, None, :], nneg, nu[:, None], cneg)
        return du, dpos, dneg


def cosine_contrastive_loss(user, pos_item, neg_items, margin=0.0, negative_weight=None,
                            eps=1e-8, reduction="mean"):
    """Cosine contrastive loss (CCL) of SimpleX:

        ℓ = (1 − ŷ_ui) + (w/|N|)·Σ_{j∈N} max(0, ŷ_uj − m),   ŷ = cosine(user, item)

    ``user`` (N, d), ``pos_item`` (N, d), ``neg_items`` (N, K, d) embeddings. ``margin`` m
    (0.0, the official class default; the paper tunes it in 0.4–0.9), ``negative_weight`` w
    (None: the negatives' hinge terms are summed, i.e. w = K — the official code's rule).
    relu(1 − ŷ) equals 1 − ŷ (the cosine never exceeds 1). Cosine norms are clamped at
    ``eps`` (1e-8). 'mean' averages over users. Backward: ``CosineContrastive``
    (help(minigrad.layers.losses.recommendation.CosineContrastive)).
    Formula from reczoo/RecBox deem/pytorch/losses/cosine_contrastive_loss.py (the SimpleX
    authors' code).

    Paper: Mao et al. 2021, "SimpleX: A Simple and Strong Baseline for Collaborative Filtering".
    """
    op = "cosine_contrastive_loss"
    check_reduction(op, reduction)
    check_floating(op, user=user, pos_item=pos_item, neg_items=neg_items)
    if (user.ndim != 2 or tuple(pos_item.shape) != tuple(user.shape) or neg_items.ndim != 3
            or neg_items.shape[0] != user.shape[0] or neg_items.shape[2] != user.shape[1]):
        raise ValueError(f"{op}: expected user (N, d), pos_item (N, d) and neg_items (N, K, d), got "
                         f"shapes {tuple(user.shape)}, {tuple(pos_item.shape)} and "
                         f"{tuple(neg_items.shape)}")
    if negative_weight is not None and negative_weight < 0:
        raise ValueError(f"{op}: negative_weight must be >= 0, got {negative_weight}")
    w = None if negative_weight is None else float(negative_weight)
    return CosineContrastive.apply(user, pos_item, neg_items, float(margin), w, float(eps), reduction)


class CosineContrastiveLoss(LossModule):
    """``CosineContrastiveLoss(margin=0.0, negative_weight=None, reduction='mean')``: SimpleX's
    CCL, ℓ = (1 − ŷ⁺) + (w/|N|)Σ max(0, ŷ⁻ − m); see ``F.cosine_contrastive_loss``.

    Paper: Mao et al. 2021, "SimpleX: A Simple and Strong Baseline for Collaborative Filtering".
    """

    def __init__(self, margin=0.0, negative_weight=None, eps=1e-8, reduction="mean"):
        super().__init__(reduction)
        self.margin, self.negative_weight, self.eps = margin, negative_weight, eps

    def forward(self, user, pos_item, neg_items):
        return cosine_contrastive_loss(user, pos_item, neg_items, self.margin, self.negative_weight,
                                       self.eps, self.reduction)


# ------------------------------------------------------------------ CM³ alignment + calibrated uniformity
def _masked_lse(xp, e, mask):
    """log Σ_{mask} e^E with the max over the masked entries subtracted (a 0-d value)."""
    m = xp.where(mask, e, e.min()).max()
    return m + xp.log((mask * xp.exp(xp.where(mask, e, m) - m)).sum())


class CalibratedUniformity(Function):
    """CM³ loss on a batch of B (user u_b, positive item p_b, negative item n_b) embeddings
    and the negatives' fused multimodal features f_b. Over the M = B(B − 1)/2 pairs a < b:
        align = (1/B)·Σ_b ‖u_b − p_b‖²,
        E^u_ab = −t‖u_a − u_b‖²,   E^n_ab = −t(‖n_a − n_b‖² − 2 + 2·sim_ab),
        sim_ab = clamp(f̂_a·f̂_b, min_sim, max_sim),   f̂ = f/max(‖f‖, ε),
        U(E) = log((1/M)·Σ_{a<b} e^{E_ab}),     L = align + γ·(U(E^u) + U(E^n))/2.
    Backward. ∂U/∂E_ab = W_ab = e^{E_ab}/Σ e^{E} (a softmax over the pairs). For
    E_ab = −t‖x_a − x_b‖², with S = W + Wᵀ: ∂/∂x_a = −2t·(rowsum(S)_a·x_a − (S·x)_a).
    ∂align/∂u_b = 2(u_b − p_b)/B = −∂align/∂p_b. ∂E^n_ab/∂sim_ab = −2t, passed through the
    clamp only strictly inside (min_sim, max_sim); for the cosine matrix C = F̂F̂ᵀ and a
    gradient G on its upper triangle, ∂/∂F̂ = (G + Gᵀ)F̂, and the normalisation backward is
    (ḡ − f̂(f̂·ḡ))/‖f‖ (ḡ/ε where ‖f‖ ≤ ε). B = 1 has no pair: both uniformity terms are 0."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, user, pos, neg, feat, mask, gamma, t, min_sim, max_sim, eps):
        xp = ctx.xp
        b = user.shape[0]
        diff = user - pos
        loss = (diff * diff).sum() / b
        du = user[:, None, :] - user[None, :, :]
        eu = -t * (du * du).sum(axis=2)
        fnorm = xp.maximum(xp.sqrt((feat * feat).sum(axis=1, keepdims=True)), eps)
        fn = feat / fnorm
        cos = fn @ fn.T
        sim = xp.clip(cos, min_sim, max_sim)
        dn = neg[:, None, :] - neg[None, :, :]
        en = -t * ((dn * dn).sum(axis=2) - 2 + 2 * sim)
        if b > 1:
            log_m = math.log(b * (b - 1) / 2)
            lse_u, lse_n = _masked_lse(xp, eu, mask), _masked_lse(xp, en, mask)
            loss = loss + gamma * (lse_u - log_m + lse_n - log_m) / 2
        else:
            lse_u = lse_n = None
        ctx.save_for_backward(user, pos, neg, fn, fnorm, cos, eu, en, mask)
        ctx.lse, ctx.args = (lse_u, lse_n), (gamma, t, min_sim, max_sim, eps)
        return loss

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        user, pos, neg, fn, fnorm, cos, eu, en, mask = ctx.saved_tensors
        gamma, t, min_sim, max_sim, eps = ctx.args
        b = user.shape[0]
        dalign = gy * 2 * (user - pos) / b
        du, dpos = dalign, -dalign
        dneg = xp.zeros_like(neg)
        dfeat = xp.zeros_like(fn)
        lse_u, lse_n = ctx.lse
        if b > 1:
            def pull(w, x):                      # ∂/∂x of Σ w_ab·(−t‖x_a − x_b‖²)
                sym = w + w.T
                return -2 * t * (sym.sum(axis=1)[:, None] * x - sym @ x)
            wu = gy * gamma / 2 * mask * xp.exp(xp.where(mask, eu - lse_u, 0))
            wn = gy * gamma / 2 * mask * xp.exp(xp.where(mask, en - lse_n, 0))
            du = du + pull(wu, user)
            dneg = pull(wn, neg)
            gc = -2 * t * wn * ((cos > min_sim) & (cos < max_sim))
            gfn = (gc + gc.T) @ fn
            big = fnorm > eps
            dfeat = xp.where(big, gfn - fn * (fn * gfn).sum(axis=1, keepdims=True), gfn) / fnorm
        return du, dpos, dneg, dfeat, None


def calibrated_uniformity_loss(user, pos_item, neg_item, features, gamma=0.5, t=2.0,
                               min_sim=0.0, max_sim=1.0, eps=1e-12):
    """CM³'s alignment + calibrated uniformity loss (its whole training objective):

        L = align(u, i⁺) + γ·(uniform(u) + uniform_cal(i⁻, sim))/2,
        align = mean_b ‖u_b − i⁺_b‖²,   uniform(x) = log mean_{a<b} e^{−t‖x_a − x_b‖²},
        uniform_cal(x, sim) = log mean_{a<b} e^{−t(‖x_a − x_b‖² − 2 + 2·sim_ab)},
        sim_ab = clamp(cos(features_a, features_b), min_sim, max_sim)

    ``user``, ``pos_item``, ``neg_item`` (B, d): the batch's L2-normalised embeddings (CM³'s
    forward normalises them; this loss does not), ``features`` (B, f): the negatives' fused
    multimodal features (the spherical-Bézier mix of image and text). The gradient reaches
    ``features`` through sim as in the official code (no detach; pass a constant to block
    it). Defaults from enoche/CM3 src/configs/model/CM3.yaml and src/models/cm3.py: t = 2,
    min_sim = 0, γ = 0.5 and max_sim = 1.0 (the first and the get_sim_mat default of the
    grids γ ∈ {0.5, 0.9}, max_sim ∈ {0.8, 1.0}). Pairs are the B(B − 1)/2 combinations a < b
    (``torch.pdist``); a batch of one has none and its uniformity terms are 0 (the official
    mean over no pair is NaN). Always a scalar (uniformity is a property of the batch).
    Backward: ``CalibratedUniformity``
    (help(minigrad.layers.losses.recommendation.CalibratedUniformity)).

    Paper: Zhou, Wang & Shen 2025, "CM^3: Calibrating Multimodal Recommendation".
    """
    op = "calibrated_uniformity_loss"
    check_floating(op, user=user, pos_item=pos_item, neg_item=neg_item, features=features)
    shapes = [tuple(x.shape) for x in (user, pos_item, neg_item, features)]
    if (user.ndim != 2 or shapes[1] != shapes[0] or shapes[2] != shapes[0] or features.ndim != 2
            or shapes[3][0] != shapes[0][0]):
        raise ValueError(f"{op}: expected user, pos_item, neg_item (B, d) and features (B, f), "
                         f"got shapes {shapes}")
    if min_sim > max_sim:
        raise ValueError(f"{op}: min_sim {min_sim} must not exceed max_sim {max_sim}")
    xp = xp_of(user)
    b = user.shape[0]
    mask = xp.triu(xp.ones((b, b), dtype=bool), 1)
    return CalibratedUniformity.apply(user, pos_item, neg_item, features, Tensor._wrap(mask),
                                      float(gamma), float(t), float(min_sim), float(max_sim),
                                      float(eps))


class CalibratedUniformityLoss(LossModule):
    """``CalibratedUniformityLoss(gamma=0.5, t=2.0, min_sim=0.0, max_sim=1.0)``: CM³'s
    L = align + γ(uniform(u) + uniform_cal(i⁻, sim))/2; see ``F.calibrated_uniformity_loss``.

    Paper: Zhou, Wang & Shen 2025, "CM^3: Calibrating Multimodal Recommendation".
    """

    def __init__(self, gamma=0.5, t=2.0, min_sim=0.0, max_sim=1.0, eps=1e-12):
        super().__init__("mean")
        self.gamma, self.t, self.min_sim, self.max_sim, self.eps = gamma, t, min_sim, max_sim, eps

    def forward(self, user, pos_item, neg_item, features):
        return calibrated_uniformity_loss(user, pos_item, neg_item, features, self.gamma, self.t,
                                          self.min_sim, self.max_sim, self.eps)


def _register_all():
    import numpy as np
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    register(bpr_loss, kind="loss", catalog_id="L098", module=BPRLoss,
             papers=["CM^3: Calibrating Multimodal Recommendation"],
             inputs=lambda r: [Case(n(r, 5), n(r, 5)),
                               Case(n(r, 4), n(r, 4, 3), reduction="sum"),
                               Case(n(r, 3), n(r, 3, 2), reduction="none")])
    register(cosine_contrastive_loss, kind="loss", catalog_id="L099", module=CosineContrastiveLoss,
             papers=["SimpleX: A Simple and Strong Baseline for Collaborative Filtering"],
             inputs=lambda r: [Case(n(r, 3, 4), n(r, 3, 4), n(r, 3, 5, 4), margin=0.1),
                               Case(n(r, 2, 3), n(r, 2, 3), n(r, 2, 4, 3), margin=-0.2,
                                    negative_weight=2.0, reduction="sum"),
                               Case(n(r, 2, 3), n(r, 2, 3), n(r, 2, 3, 3), margin=0.0,
                                    reduction="none")])

    def unit(r, *shape):
        x = n(r, *shape)
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    register(calibrated_uniformity_loss, kind="loss", catalog_id="L100",
             module=CalibratedUniformityLoss,
             papers=["CM^3: Calibrating Multimodal Recommendation"],
             inputs=lambda r: [Case(unit(r, 4, 3), unit(r, 4, 3), unit(r, 4, 3), n(r, 4, 5)),
                               Case(unit(r, 3, 2), unit(r, 3, 2), unit(r, 3, 2), n(r, 3, 4),
                                    gamma=0.9, t=1.0, min_sim=-0.3, max_sim=0.8),
                               Case(n(r, 1, 3), n(r, 1, 3), n(r, 1, 3), n(r, 1, 2))])


_register_all()
