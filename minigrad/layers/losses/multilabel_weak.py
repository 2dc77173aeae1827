"""Losses for weak multi-label supervision: the entropy-maximization loss with asymmetric
pseudo-labels for single-positive multi-label learning (Correr-Zhou/SPML-AckTheUnknown
``losses.py``) and ReLabel's LabelPooling soft-target cross-entropy (naver-ai/relabel_imagenet
``utils/relabel_functions.py``, ``utils/data_loader.py``, ``utils/loss.py``)."""
import math

from minigrad.autograd import Function
from minigrad.layers.losses._common import (LossModule, check_reduction, const, reduce_array,
                                            reduction_grad, sigmoid_array, xp_of)
from minigrad.layers.losses.classification import cross_entropy
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["em_single_positive_loss", "labelpool_soft_ce", "label_pooling",
           "EMSinglePositiveLoss", "LabelPoolSoftCE"]


# ------------------------------------------------------------------ EM + APL
class EMSinglePositive(Function):
    """EM loss with asymmetric pseudo-labels (Zhou et al. 2022), per entry (n, c) with
    p = σ(z) and the official ``neg_log(x) = −log(x + ε)`` (ε = 1e-5):
        observed positive (o = 1):      ℓ = −log(p + ε)
        unannotated (o = 0):            ℓ = α·[p·log(p + ε) + (1 − p)·log(1 − p + ε)]   (−α·H(p))
        pseudo-labelled (o = −s < 0):   ℓ = β·[−s·log(p + ε) − (1 − s)·log(1 − p + ε)]
    Backward: dℓ/dz = dℓ/dp · p(1 − p) with
        positive:  dℓ/dp = −1/(p + ε)
        unknown:   dℓ/dp = α·[log(p + ε) + p/(p + ε) − log(1 − p + ε) − (1 − p)/(1 − p + ε)]
                   (→ α·log(p/(1 − p)) as ε → 0: pushes p toward ½)
        pseudo:    dℓ/dp = β·[−s/(p + ε) + (1 − s)/(1 − p + ε)].
    1 − p is computed as σ(−z) (no cancellation). The three masks and s are constants. The
    forward is written for any array module (its own composite form)."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, z, pos, unk, pseudo, s, alpha, beta, eps, reduction):
        xp = ctx.xp
        p, q = sigmoid_array(xp, z), sigmoid_array(xp, -z)
        lp, lq = xp.log(p + eps), xp.log(q + eps)
        loss = -lp * pos + (p * lp + q * lq) * (unk * alpha) \
            + (-s * lp - (1 - s) * lq) * (pseudo * beta)
        ctx.save_for_backward(p, q)
        ctx.args = pos, unk, pseudo, s, alpha, beta, eps
        ctx.reduction, ctx.shape = reduction, loss.shape
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        p, q = ctx.saved_tensors
        pos, unk, pseudo, s, alpha, beta, eps = ctx.args
        g = reduction_grad(xp, gy, ctx.shape, ctx.reduction)
        ap, aq = 1.0 / (p + eps), 1.0 / (q + eps)
        d_p = -ap * pos + (xp.log(p + eps) + p * ap - xp.log(q + eps) - q * aq) * (unk * alpha) \
            + (-s * ap + (1 - s) * aq) * (pseudo * beta)
        return g * d_p * p * q


def em_single_positive_loss(input, target, alpha=0.2, beta=0.02, eps=1e-5, reduction="mean"):
    """Entropy-maximization loss with asymmetric pseudo-labelling (single-positive
    multi-label learning), on logits z with p = σ(z):

        ℓ = −log(p + ε) [observed positive] + α·[p·log(p + ε) + (1 − p)·log(1 − p + ε)] [unknown]
            + β·[−s·log(p + ε) − (1 − s)·log(1 − p + ε)] [pseudo-label s]

    ``input`` logits (N, C); ``target`` the observed-label matrix (N, C) in the official
    encoding (Correr-Zhou/SPML-AckTheUnknown ``losses.py``, ``loss_EM_APL``): 1 = the
    observed positive, 0 = unannotated, −s (s ∈ (0, 1]) = an entry pseudo-labelled with the
    soft label s by the asymmetric pseudo-labelling step (``main.py``: the lowest-scoring
    unannotated entries get s = their predicted probability). Without negative entries this
    is the plain EM loss (``loss_EM``). ``alpha`` = 0.2, ``beta`` = 0.02 (the code's VOC
    values; COCO 0.1/0.9, NUS 0.1/0.2, CUB 0.01/0.4); ``eps`` = 1e-5 (``LOG_EPSILON``, must
    be > 0: it keeps the loss finite at p ∈ {0, 1}, so logits ±1e4 give no NaN).
    ``reduction`` 'mean' (the code's: the sum over all N·C entries divided by N·C), 'sum',
    'none' (N, C). Backward: ``EMSinglePositive``
    (help(minigrad.layers.losses.multilabel_weak.EMSinglePositive)).

    Paper: Zhou, Chen, Wang, Jin & Xu 2022, "Acknowledging the Unknown for Multi-label
    Learning with Single Positive Labels".
    """
    op = "em_single_positive_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    if input.ndim != 2:
        raise ValueError(f"{op}: logits must be (N, C), got shape {tuple(input.shape)} "
                         f"(dtype {input.dtype})")
    t = target.data if isinstance(target, Tensor) else const(target, input).data
    if tuple(t.shape) != tuple(input.shape):
        raise ValueError(f"{op}: target of shape {tuple(t.shape)} must match the logits' shape "
                         f"{tuple(input.shape)} (1 observed positive, 0 unknown, −s pseudo-label)")
    t = t.astype(input.dtype)
    if t.size and not bool((((t == 1) | (t == 0) | ((t < 0) & (t >= -1)))).all()):
        raise ValueError(f"{op}: target entries must be 1 (observed positive), 0 (unannotated) "
                         f"or −s with s in (0, 1] (pseudo-label), got other values in a target "
                         f"of shape {tuple(t.shape)} (dtype {t.dtype})")
    if not eps > 0:
        raise ValueError(f"{op}: eps must be > 0 (log(p + eps) at p = 0), got {eps}")
    xp = xp_of(input)
    pos = (t == 1).astype(input.dtype)
    unk = (t == 0).astype(input.dtype)
    pseudo = (t < 0).astype(input.dtype)
    s = xp.where(t < 0, -t, 0.0).astype(input.dtype)
    return EMSinglePositive.apply(input, pos, unk, pseudo, s, float(alpha), float(beta),
                                  float(eps), reduction)


# ------------------------------------------------------------------ ReLabel LabelPooling
def label_pooling(label_maps, boxes):
    """ReLabel's LabelPooling target (a constant tensor (N, C)):

        t = softmax(RoIAlign(L, box) pooled to 1×1)

    See ``_label_pooling``.

    Paper: Yun, Oh, Heo, Han, Choe & Chun 2021, "Re-labeling ImageNet: from Single to
    Multi-Labels, from Global to Localized Labels".
    """
    return Tensor._wrap(_label_pooling(label_maps, boxes))


def _label_pooling(label_maps, boxes):
    """ReLabel's LabelPooling target: RoIAlign of the dense label map L (N, C, H, W) to each
    crop box, pooled to 1×1, then softmax over the classes → t (N, C).

    ``boxes`` (N, 4) = (x1, y1, x2, y2) normalized to [0, 1] (x along the width). As
    naver-ai/relabel_imagenet ``get_relabel`` does, the box is scaled by the map size and
    shifted by −0.5 pixel, then pooled with torchvision's ``roi_align`` (aligned=False,
    output 1×1, spatial_scale 1, sampling_ratio −1): the box side is clamped to ≥ 1 pixel,
    a ⌈h⌉×⌈w⌉ grid of points at the cell centres is bilinearly interpolated (points beyond
    [−1, size] read 0, coordinates below 0 are clamped to 0, beyond the last pixel to it),
    and averaged. The official code scales both axes by the map's width (square 15×15 maps);
    here x uses the width and y the height (the same on square maps). Its loader gives the
    crop as (row, column) fractions in the x slots; pass boxes in the order you mean.
    A constant: no gradient flows into the label map."""
    xp = xp_of(label_maps)
    maps = label_maps.data if isinstance(label_maps, Tensor) else label_maps
    bx = boxes.data if isinstance(boxes, Tensor) else xp.asarray(boxes)
    n, c, h, w = maps.shape
    pooled = xp.zeros((n, c), dtype=maps.dtype)
    host = [[float(v) for v in row] for row in (bx.tolist() if hasattr(bx, "tolist") else bx)]
    for k, (x1, y1, x2, y2) in enumerate(host):
        sx, sy = x1 * w - 0.5, y1 * h - 0.5
        ex, ey = x2 * w - 0.5, y2 * h - 0.5
        rw, rh = max(ex - sx, 1.0), max(ey - sy, 1.0)
        gw, gh = int(math.ceil(rw)), int(math.ceil(rh))
        acc = xp.zeros((c,), dtype=maps.dtype)
        for iy in range(gh):
            y = sy + (iy + 0.5) * rh / gh
            for ix in range(gw):
                x = sx + (ix + 0.5) * rw / gw
                acc = acc + _bilinear(maps[k], y, x, h, w)
        pooled[k] = acc / max(gh * gw, 1)
    e = xp.exp(pooled - pooled.max(axis=1, keepdims=True)) if n else pooled
    return e / e.sum(axis=1, keepdims=True) if n else pooled


def _bilinear(m, y, x, h, w):
    """torchvision's ``bilinear_interpolate`` of m (C, H, W) at (y, x)."""
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return m[:, 0, 0] * 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    yl, xl = int(y), int(x)
    if yl >= h - 1:
        yl = yh = h - 1
        y = float(yl)
    else:
        yh = yl + 1
    if xl >= w - 1:
        xl = xh = w - 1
        x = float(xl)
    else:
        xh = xl + 1
    ly, lx = y - yl, x - xl
    hy, hx = 1.0 - ly, 1.0 - lx
    return hy * hx * m[:, yl, xl] + hy * lx * m[:, yl, xh] + ly * hx * m[:, yh, xl] \
        + ly * lx * m[:, yh, xh]


def labelpool_soft_ce(input, label_maps, boxes, reduction="mean"):
    """LabelPooling soft-target cross-entropy (ReLabel): the crop's soft multi-label target
    from the teacher's dense label map, then soft-target CE:

        t = softmax(RoIAlign(L, box) pooled to 1×1),   ℓ = −Σ_k t_k·log softmax(z)_k

    ``input`` logits of the random crops (N, C); ``label_maps`` the precomputed label maps
    L (N, C, H, W) of their images (dense: expand ReLabel's top-k sparse maps first, zeros
    elsewhere, as ``get_labelmaps`` does); ``boxes`` (N, 4) the crops (x1, y1, x2, y2) as
    fractions of the image (see ``label_pooling``). ``reduction`` 'mean' (``SoftTargetCrossEntropy``
    of naver-ai/relabel_imagenet ``utils/loss.py``: mean over the batch), 'sum', 'none'.
    This row is literally a combination: ``cross_entropy`` (L001) with the constant soft
    target of ``label_pooling`` (RoIAlign acts on targets only); its backward is
    ``cross_entropy``'s: ∂ℓ/∂z = softmax(z) − t (help(minigrad.layers.losses.
    classification.cross_entropy)). An empty batch gives 0.

    Paper: Yun, Oh, Heo, Han, Choe & Chun 2021, "Re-labeling ImageNet: from Single to
    Multi-Labels, from Global to Localized Labels".
    """
    op = "labelpool_soft_ce"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    if input.ndim != 2:
        raise ValueError(f"{op}: logits must be (N, C), got shape {tuple(input.shape)} "
                         f"(dtype {input.dtype})")
    n, c = input.shape
    maps = label_maps.data if isinstance(label_maps, Tensor) else const(label_maps, input).data
    if maps.dtype.kind != "f" or maps.ndim != 4 or tuple(maps.shape[:2]) != (n, c):
        raise ValueError(f"{op}: label_maps must be floating (N, C, H, W) = ({n}, {c}, H, W) for "
                         f"logits of shape {tuple(input.shape)}, got shape {tuple(maps.shape)} "
                         f"and dtype {maps.dtype}")
    bx = boxes.data if isinstance(boxes, Tensor) else const(boxes, input).data
    if tuple(bx.shape) != (n, 4):
        raise ValueError(f"{op}: boxes must be (N, 4) = ({n}, 4) (x1, y1, x2, y2), got shape "
                         f"{tuple(bx.shape)}")
    if n == 0:
        z = input.sum(axis=1) * 0.0
        return z if reduction == "none" else z.sum()
    target = _label_pooling(maps.astype(input.dtype), bx.astype(input.dtype))
    return cross_entropy(input, Tensor._wrap(target), reduction=reduction)


# ------------------------------------------------------------------ Modules
class EMSinglePositiveLoss(LossModule):
    """EM + APL loss Module (α = 0.2, β = 0.2·0.1, ε = 1e-5): ``forward(input, target)``
    with target 1 / 0 / −s (observed positive, unknown, pseudo-label s).

    ℓ = −log(p + ε) | α·[p·log(p + ε) + (1 − p)·log(1 − p + ε)] | β·BCE_ε(p, s); see
    ``F.em_single_positive_loss``.
    Paper: Zhou, Chen, Wang, Jin & Xu 2022, "Acknowledging the Unknown for Multi-label
    Learning with Single Positive Labels".
    """

    def __init__(self, alpha=0.2, beta=0.02, eps=1e-5, reduction="mean"):
        super().__init__(reduction)
        self.alpha, self.beta, self.eps = alpha, beta, eps

    def forward(self, input, target):
        return em_single_positive_loss(input, target, self.alpha, self.beta, self.eps,
                                       self.reduction)


class LabelPoolSoftCE(LossModule):
    """ReLabel LabelPooling soft-target CE Module: ``forward(input, label_maps, boxes)``.

    ℓ = −Σ_k t_k·log softmax(z)_k, t = softmax(RoIAlign(L, box)); see ``F.labelpool_soft_ce``.
    Paper: Yun, Oh, Heo, Han, Choe & Chun 2021, "Re-labeling ImageNet: from Single to
    Multi-Labels, from Global to Localized Labels".
    """

    def forward(self, input, label_maps, boxes):
        return labelpool_soft_ce(input, label_maps, boxes, self.reduction)


# ------------------------------------------------------------------ registration
def _boxes(lo, hi):
    out = lo.repeat(2, axis=1)
    out[:, 0], out[:, 1], out[:, 2], out[:, 3] = lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1]
    return out


def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731

    def em_cases(r):
        def obs(rows, cols):
            t = r.choice([0.0, 0.0, -0.3, -0.05, -1.0], size=(rows, cols))
            t[:, 0] = 0.0
            t[range(rows), r.integers(0, cols, rows)] = 1.0      # one observed positive per row
            return t
        return [Case(n(r, 4, 5), obs(4, 5), wrt=(0,)),
                Case(2 * n(r, 3, 4), obs(3, 4), wrt=(0,), alpha=0.1, beta=0.9, reduction="none"),
                Case(n(r, 1, 6), obs(1, 6), wrt=(0,), alpha=0.01, beta=0.4, reduction="sum")]

    register(em_single_positive_loss, kind="loss", catalog_id="L091", module=EMSinglePositiveLoss,
             papers=["Acknowledging the Unknown for Multi-label Learning with Single Positive "
                     "Labels"], inputs=em_cases)

    def lp_cases(r):
        def boxes(k):                                    # (x1, y1, x2, y2) in [0, 1]
            lo = r.uniform(0.0, 0.5, (k, 2))
            return _boxes(lo, lo + r.uniform(0.1, 0.5, (k, 2)))
        return [Case(n(r, 3, 4), r.random((3, 4, 5, 5)) * 3, boxes(3), wrt=(0,)),
                Case(n(r, 2, 3), r.random((2, 3, 6, 4)), boxes(2), wrt=(0,), reduction="none"),
                Case(n(r, 1, 5), r.random((1, 5, 3, 3)), boxes(1), wrt=(0,), reduction="sum")]

    register(labelpool_soft_ce, kind="loss", catalog_id="L077", module=LabelPoolSoftCE,
             papers=["Re-labeling ImageNet: from Single to Multi-Labels, from Global to "
                     "Localized Labels"], inputs=lp_cases)


_register_all()
