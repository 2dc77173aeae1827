"""Margin losses built on embeddings rather than on one logit row: LMPT's class-specific
embedding (CSE) loss, a hinge on caption/prompt cosine distances with class-aware soft
margins and re-weighting (Xia et al. 2024), a ``Function`` with a hand-derived backward
whose forward is written in ``xp`` operations (``differentiable_forward``).

AMarX (catalog L083) is not here: its paper's text and code could not be read, only its
abstract and a third-party review."""
from minigrad.autograd import Function
from minigrad.layers.losses._common import (LossModule, check_reduction, const, reduce_array,
                                            reduction_grad, xp_of)
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register

__all__ = ["lmpt_cse_loss", "LMPTCSELoss"]

PAPER_LMPT = ("LMPT: Prompt Tuning with Class-Specific Embedding Loss for Long-tailed "
              "Multi-Label Visual Recognition")


# ------------------------------------------------------------------ LMPT CSE
class LMPTCSE(Function):
    """LMPT class-specific embedding loss (Xia et al. 2024; richard-peng-xia/LMPT,
    lmpt/csel.py ``SoftMarginHingeEmbeddingLoss`` and its call in lmpt/train.py): caption
    token embeddings a (N, T, d), class prompt token embeddings b (C, T, d), labels
    y_nc = ±1,

        x_nct = 1 − cos(a_nt, b_ct),   s_nc = y_nc·Σ_t x_nct,
        ℓ_nc  = w_c·max(0, m_c − s_nc).

    Backward: H_nc = ∂L/∂s_nc = −g_nc·w_c·1[m_c > s_nc]; ∂L/∂cos_nct = −y_nc·H_nc =: K_nct;
    with â = a/max(‖a‖, ε), ε = 1e-8 (torch's cosine_similarity guard),
        ∂cos/∂a = (b̂ − 1[‖a‖ > ε]·cos·â)/max(‖a‖, ε)   (and symmetrically for b), so
        ∂L/∂a_nt = Σ_c K_nct·(b̂_ct − cos_nct â_nt)/‖a_nt‖,
        ∂L/∂b_ct = Σ_n K_nct·(â_nt − cos_nct b̂_ct)/‖b_ct‖."""
    differentiable_forward = True
    EPS = 1e-8

    @staticmethod
    def _unit(xp, x):
        n = xp.sqrt((x * x).sum(axis=-1, keepdims=True))
        n = xp.maximum(n, LMPTCSE.EPS)
        return x / n, n

    @staticmethod
    def forward(ctx, a, b, y, margins, weights, reduction):
        xp = ctx.xp
        ah, na = LMPTCSE._unit(xp, a)
        bh, nb = LMPTCSE._unit(xp, b)
        cos = xp.einsum("ntd,ctd->nct", ah, bh)
        s = y * (1.0 - cos).sum(axis=2)
        loss = weights * xp.maximum(margins - s, 0.0)
        ctx.save_for_backward(a, b)
        ctx.y, ctx.margins, ctx.weights, ctx.reduction = y, margins, weights, reduction
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        a, b = ctx.saved_tensors
        ah, na = LMPTCSE._unit(xp, a)
        bh, nb = LMPTCSE._unit(xp, b)
        cos = xp.einsum("ntd,ctd->nct", ah, bh)
        y = ctx.y
        s = y * (1.0 - cos).sum(axis=2)
        active = (ctx.margins - s > 0).astype(a.dtype)
        g = reduction_grad(xp, gy, s.shape, ctx.reduction)
        h = -g * ctx.weights * active
        k = (-y * h)[:, :, None] * xp.ones_like(cos)               # (N, C, T)
        act_a = (na > LMPTCSE.EPS).astype(a.dtype)
        act_b = (nb > LMPTCSE.EPS).astype(b.dtype)
        da = (xp.einsum("nct,ctd->ntd", k, bh)
              - (k * cos).sum(axis=1)[:, :, None] * ah * act_a) / na
        db = (xp.einsum("nct,ntd->ctd", k, ah)
              - (k * cos).sum(axis=0)[:, :, None] * bh * act_b) / nb
        return da, db


def lmpt_cse_loss(caption_embeddings, prompt_embeddings, target, class_counts=None, margin=0.2,
                  gamma=2.0, reduction="mean"):
    """LMPT class-specific embedding (CSE) loss: ℓ_nc = w_c·max(0, m_c − y_nc·Σ_t (1 −
    cos(a_nt, b_ct))) with y = 2·target − 1, the class-aware soft margin
    m_c = m/n_c^(1/4) and the re-weighting w_c = n_c^(−γ)/Σ_j n_j^(−γ) (both off when
    ``class_counts`` is None: m_c = m, w_c = 1); 'mean' averages over the N·C entries (the
    code's ``hinge_loss.mean()``). ``caption_embeddings`` (N, T, d): the caption's token
    embeddings; ``prompt_embeddings`` (C, T, d): each class's learned prompt token
    embeddings (the code compares them token by token); ``target`` (N, C) multi-hot {0, 1}.
    Defaults from lmpt/train.py: m = 0.2, γ = 2. Note that the official training script
    passes ``class_counts = softmax(class_freq)`` (a softmax of the frequency vector), not
    raw counts; pass whichever you want weighted. LMPT trains on
    λ·classification + (1 − λ)·CSE (λ = 0.5 in train.py); that sum is left to the caller.
    Source: richard-peng-xia/LMPT lmpt/csel.py and lmpt/train.py. Deviation: the
    released code normalises the weights with ``sum(..., dim=2)`` of an (N, C) tensor,
    which raises; here they are normalised over the classes (the axis they vary along).
    Backward: see ``LMPTCSE`` (help(minigrad.layers.losses.margin_variants.LMPTCSE)).

    Paper: Xia, Xu, Hu, Ju & Ge 2024, "LMPT: Prompt Tuning with Class-Specific Embedding
    Loss for Long-tailed Multi-Label Visual Recognition".
    """
    op = "lmpt_cse_loss"
    check_reduction(op, reduction)
    check_floating(op, caption_embeddings=caption_embeddings, prompt_embeddings=prompt_embeddings)
    a, b = caption_embeddings, prompt_embeddings
    if a.ndim != 3 or b.ndim != 3 or a.shape[1:] != b.shape[1:]:
        raise ValueError(f"{op}: caption_embeddings {tuple(a.shape)} and prompt_embeddings "
                         f"{tuple(b.shape)} must be (N, T, d) and (C, T, d) with the same T, d")
    n, c = a.shape[0], b.shape[0]
    t = const(target, a).data
    if tuple(t.shape) != (n, c):
        raise ValueError(f"{op}: target of shape {tuple(t.shape)} must be multi-hot ({n}, {c})")
    if t.size and not bool(((t == 0) | (t == 1)).all()):
        raise ValueError(f"{op}: target must be multi-hot with values 0 or 1 (dtype {t.dtype})")
    y = (2.0 * t - 1.0).astype(a.dtype)
    xp = xp_of(a)
    if class_counts is None:
        margins = xp.full((1, c), float(margin), dtype=a.dtype)
        weights = xp.ones((1, c), dtype=a.dtype)
    else:
        counts = const(class_counts, a, a.dtype).data.reshape(-1)
        if counts.shape[0] != c or not bool((counts > 0).all()):
            raise ValueError(f"{op}: class_counts must hold {c} positive values, got shape "
                             f"{tuple(counts.shape)}")
        margins = (margin / counts ** 0.25)[None, :]
        inv = counts ** (-float(gamma))
        weights = (inv / inv.sum())[None, :]
    return LMPTCSE.apply(a, b, y, margins, weights, reduction)


class LMPTCSELoss(LossModule):
    """LMPT CSE loss Module: ``LMPTCSELoss(class_counts=None, margin=0.2, gamma=2.0)``,
    called as ``loss(caption_embeddings, prompt_embeddings, target)``.
    ℓ_nc = w_c·max(0, m_c − y_nc·Σ_t (1 − cos(a_nt, b_ct))); see ``F.lmpt_cse_loss``.
    Paper: Xia, Xu, Hu, Ju & Ge 2024, "LMPT: Prompt Tuning with Class-Specific Embedding
    Loss for Long-tailed Multi-Label Visual Recognition"."""

    def __init__(self, class_counts=None, margin=0.2, gamma=2.0, reduction="mean"):
        super().__init__(reduction)
        self.class_counts, self.margin, self.gamma = class_counts, margin, gamma

    def forward(self, caption_embeddings, prompt_embeddings, target):
        return lmpt_cse_loss(caption_embeddings, prompt_embeddings, target, self.class_counts,
                             self.margin, self.gamma, self.reduction)


# ------------------------------------------------------------------ registration
def _register_all():
    import numpy as np
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731

    def lmpt_case(r, nn_, c, t, d, **kw):
        # keep every hinge away from its kink: y·Σ(1 − cos) − m_c stays clear of 0
        for _ in range(100):
            a, b = n(r, nn_, t, d), n(r, c, t, d)
            tgt = r.integers(0, 2, (nn_, c))
            an = a / np.linalg.norm(a, axis=-1, keepdims=True)
            bn = b / np.linalg.norm(b, axis=-1, keepdims=True)
            s = (2 * tgt - 1) * (1 - np.einsum("ntd,ctd->nct", an, bn)).sum(-1)
            m = kw.get("margin", 0.2)
            if "class_counts" in kw:
                m = m / np.asarray(kw["class_counts"]) ** 0.25
            if np.abs(s - m).min() > 0.05:
                return Case(a, b, tgt, **kw)
        raise RuntimeError("no kink-free LMPT case")

    register(lmpt_cse_loss, kind="loss", catalog_id="L085", module=LMPTCSELoss,
             papers=[PAPER_LMPT],
             inputs=lambda r: [
                 lmpt_case(r, 3, 4, 2, 3, margin=1.5),
                 lmpt_case(r, 2, 3, 3, 4, class_counts=np.array([0.5, 0.3, 0.2]),
                           margin=3.0, reduction="sum"),
                 lmpt_case(r, 2, 3, 2, 3, margin=2.0, reduction="none")])


_register_all()
