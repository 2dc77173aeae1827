"""Bounding-box regression losses on corner boxes (x1, y1, x2, y2): IoU, GIoU, DIoU and
CIoU ("Distance-IoU Loss: Faster and Better Learning for Bounding Box Regression").

Written as compositions of registered ops with torchvision's arguments and defaults
(``reduction='none'``, ``eps=1e-7``; the Modules default to 'mean'). min/max route the
gradient to the active corner; the clamp of the intersection at 0 gives disjoint boxes a
zero IoU gradient, which is what GIoU's and DIoU's extra terms are for. The aspect-ratio
angle atan(w/h) of CIoU is a small ``Function`` so that the paper's modified gradient can
be switched on there.
"""
import math

from minigrad.autograd import Function
from minigrad.layers.losses._common import (LossModule, check_reduction, check_same_shape, const,
                                            raw, reduce, relu, xp_of)
from minigrad.ops._checks import check_floating
from minigrad.ops.elementwise import maximum, minimum
from minigrad.registry import Case, register

__all__ = ["iou_loss", "giou_loss", "diou_loss", "ciou_loss", "generalized_box_iou_loss",
           "distance_box_iou_loss", "complete_box_iou_loss",
           "IoULoss", "GIoULoss", "DIoULoss", "CIoULoss"]


def _check(op, boxes1, boxes2, reduction):
    check_reduction(op, reduction)
    check_floating(op, boxes1=boxes1, boxes2=boxes2)
    check_same_shape(op, boxes1, boxes2, ("boxes1", "boxes2"))
    if boxes1.shape[-1:] != (4,):
        raise ValueError(f"{op}: boxes must be (..., 4) tensors in (x1, y1, x2, y2) form, got "
                         f"boxes1 and boxes2 of shape {tuple(boxes1.shape)}")


def _corners(b):
    return b[..., 0], b[..., 1], b[..., 2], b[..., 3]


def _iou_parts(boxes1, boxes2, eps):
    """(iou, union, the two boxes' corners) with the intersection clamped at 0."""
    x1, y1, x2, y2 = _corners(boxes1)
    gx1, gy1, gx2, gy2 = _corners(boxes2)
    inter = relu(minimum(x2, gx2) - maximum(x1, gx1)) * relu(minimum(y2, gy2) - maximum(y1, gy1))
    union = (x2 - x1) * (y2 - y1) + (gx2 - gx1) * (gy2 - gy1) - inter
    return inter / (union + eps), union, (x1, y1, x2, y2), (gx1, gy1, gx2, gy2)


def iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    """IoU loss 1 − I/(U + eps), I = [min(x2, x2ᵍ) − max(x1, x1ᵍ)]₊·[min(y2, y2ᵍ) − max(y1, y1ᵍ)]₊,
    U = A + Aᵍ − I. Quotient-rule gradient through I and U; none for disjoint boxes.

    Paper: Yu, Jiang, Wang, Cao & Huang 2016, "UnitBox: An Advanced Object Detection Network".
    """
    _check("iou_loss", boxes1, boxes2, reduction)
    iou = _iou_parts(boxes1, boxes2, eps)[0]
    return reduce(1.0 - iou, reduction, "iou_loss")


def giou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    """Generalized IoU loss (torchvision ``generalized_box_iou_loss``):
    1 − IoU + (C − U)/(C + eps), C = area of the smallest enclosing box (min/max of corners).

    Paper: Rezatofighi et al. 2019, "Generalized Intersection over Union: A Metric and A Loss
    for Bounding Box Regression".
    """
    _check("giou_loss", boxes1, boxes2, reduction)
    iou, union, (x1, y1, x2, y2), (gx1, gy1, gx2, gy2) = _iou_parts(boxes1, boxes2, eps)
    area_c = (maximum(x2, gx2) - minimum(x1, gx1)) * (maximum(y2, gy2) - minimum(y1, gy1))
    return reduce(1.0 - iou + (area_c - union) / (area_c + eps), reduction, "giou_loss")


def _diou(boxes1, boxes2, eps):
    iou, _, (x1, y1, x2, y2), (gx1, gy1, gx2, gy2) = _iou_parts(boxes1, boxes2, eps)
    cw, ch = maximum(x2, gx2) - minimum(x1, gx1), maximum(y2, gy2) - minimum(y1, gy1)
    diag = cw * cw + ch * ch + eps
    dx = (x1 + x2 - gx1 - gx2) * 0.5
    dy = (y1 + y2 - gy1 - gy2) * 0.5
    return 1.0 - iou + (dx * dx + dy * dy) / diag, iou


def diou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    """Distance-IoU loss (torchvision ``distance_box_iou_loss``): 1 − IoU + ρ²/c², ρ = distance
    of the box centres, c² = squared diagonal of the enclosing box (+ eps). Smooth in the
    centres, so it moves even disjoint boxes. (DIoU-NMS is inference-only.)

    Paper: Zheng et al. 2020, "Distance-IoU Loss: Faster and Better Learning for Bounding Box
    Regression".
    """
    _check("diou_loss", boxes1, boxes2, reduction)
    return reduce(_diou(boxes1, boxes2, eps)[0], reduction, "diou_loss")


class AspectAngle(Function):
    """θ = atan(w/h) for h > 0:  ∂θ/∂w = h/(w² + h²),  ∂θ/∂h = −w/(w² + h²).
    ``paper=True`` is the DIoU paper's gradient for CIoU: the factor 1/(w² + h²) is replaced
    by 1 (it explodes for small boxes), i.e. (h, −w) — a documented rule, not the derivative.
    Computed as atan2(w, h), the same angle for h > 0 that stays finite for degenerate boxes
    (h = 0: ±π/2; a point box w = h = 0: 0, with gradient 0 — torchvision gives NaN)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, w, h, paper):
        ctx.save_for_backward(w, h)
        ctx.paper = paper
        return ctx.xp.arctan2(w, h)

    @staticmethod
    def backward(ctx, g):
        w, h = ctx.saved_tensors
        r2 = w * w + h * h
        scale = g if ctx.paper else g / ctx.xp.where(r2 > 0, r2, 1)
        return scale * h, -scale * w, None


def _ciou_alpha(xp, b1, b2, eps):
    """α = v/((1 − IoU) + v + eps) from array boxes (a constant: torchvision's no_grad block)."""
    def parts(b):
        return b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    x1, y1, x2, y2 = parts(b1)
    gx1, gy1, gx2, gy2 = parts(b2)
    inter = xp.maximum(xp.minimum(x2, gx2) - xp.maximum(x1, gx1), 0) * \
        xp.maximum(xp.minimum(y2, gy2) - xp.maximum(y1, gy1), 0)
    union = (x2 - x1) * (y2 - y1) + (gx2 - gx1) * (gy2 - gy1) - inter
    iou = inter / (union + eps)
    v = (4 / math.pi ** 2) * (xp.arctan2(gx2 - gx1, gy2 - gy1) - xp.arctan2(x2 - x1, y2 - y1)) ** 2
    return v / (1 - iou + v + eps)


def ciou_loss(boxes1, boxes2, reduction="none", eps=1e-7, paper_gradient=False):
    """Complete-IoU loss (torchvision ``complete_box_iou_loss``): L_DIoU + α·v with
        v = (4/π²)·(atan(wᵍ/hᵍ) − atan(w/h))²,   α = v/((1 − IoU) + v + eps)
    where α is a constant (computed without gradient, as torchvision and the paper do).
    ``paper_gradient=True`` applies the paper's rule to ∂v/∂(w, h) (see ``AspectAngle``).

    Paper: Zheng et al. 2020, "Distance-IoU Loss: Faster and Better Learning for Bounding Box
    Regression".
    """
    return _ciou(boxes1, boxes2, reduction, eps, paper_gradient, None)


def _ciou(boxes1, boxes2, reduction, eps, paper_gradient, reference):
    op = "ciou_loss"
    _check(op, boxes1, boxes2, reduction)
    xp = xp_of(boxes1)
    diou, _ = _diou(boxes1, boxes2, eps)
    x1, y1, x2, y2 = _corners(boxes1)
    gx1, gy1, gx2, gy2 = _corners(boxes2)
    angle = AspectAngle.apply(x2 - x1, y2 - y1, paper_gradient)
    angle_gt = AspectAngle.apply(gx2 - gx1, gy2 - gy1, paper_gradient)
    v = (angle_gt - angle) * (angle_gt - angle) * (4 / math.pi ** 2)
    ref1, ref2 = (boxes1.data, boxes2.data) if reference is None else \
        (raw(reference[0], boxes1), raw(reference[1], boxes1))
    alpha = const(_ciou_alpha(xp, ref1, ref2, eps), boxes1, boxes1.dtype)
    return reduce(diou + alpha * v, reduction, op)


def _ciou_checked(boxes1, boxes2, reduction="none", eps=1e-7, paper_gradient=False,
                  reference1=None, reference2=None):
    """For the finite-difference check: α from the unperturbed reference boxes."""
    ref = None if reference1 is None else (reference1, reference2)
    return _ciou(boxes1, boxes2, reduction, eps, paper_gradient, ref)


generalized_box_iou_loss = giou_loss
distance_box_iou_loss = diou_loss
complete_box_iou_loss = ciou_loss


# ------------------------------------------------------------------ Modules
class IoULoss(LossModule):
    """IoU loss Module (reduction 'mean'): ℓ = 1 − I/(U + eps) (see ``F.iou_loss``).

    Paper: Yu, Jiang, Wang, Cao & Huang 2016, "UnitBox: An Advanced Object Detection Network".
    """

    def __init__(self, eps=1e-7, reduction="mean"):
        super().__init__(reduction)
        self.eps = eps

    def forward(self, boxes1, boxes2):
        return iou_loss(boxes1, boxes2, self.reduction, self.eps)


class GIoULoss(IoULoss):
    """GIoU loss Module (reduction 'mean'): ℓ = 1 − IoU + (C − U)/C (see ``F.giou_loss``).

    Paper: Rezatofighi et al. 2019, "Generalized Intersection over Union: A Metric and A Loss
    for Bounding Box Regression".
    """

    def forward(self, boxes1, boxes2):
        return giou_loss(boxes1, boxes2, self.reduction, self.eps)


class DIoULoss(IoULoss):
    """DIoU loss Module (reduction 'mean'): ℓ = 1 − IoU + ρ²/c² (see ``F.diou_loss``).

    Paper: Zheng et al. 2020, "Distance-IoU Loss: Faster and Better Learning for Bounding Box
    Regression".
    """

    def forward(self, boxes1, boxes2):
        return diou_loss(boxes1, boxes2, self.reduction, self.eps)


class CIoULoss(LossModule):
    """CIoU loss Module (reduction 'mean'; ``paper_gradient`` for the paper's ∂v rule).

    ℓ = 1 − IoU + ρ²/c² + α·v (see ``F.ciou_loss``). Paper: Zheng et al. 2020, "Distance-IoU
    Loss: Faster and Better Learning for Bounding Box Regression".
    """

    def __init__(self, eps=1e-7, paper_gradient=False, reduction="mean"):
        super().__init__(reduction)
        self.eps, self.paper_gradient = eps, paper_gradient

    def forward(self, boxes1, boxes2):
        return ciou_loss(boxes1, boxes2, self.reduction, self.eps, self.paper_gradient)


# ------------------------------------------------------------------ registry
def _diou_numpy(b1, b2, eps):
    import numpy as np
    x1, y1, x2, y2 = np.moveaxis(b1, -1, 0)
    gx1, gy1, gx2, gy2 = np.moveaxis(b2, -1, 0)
    inter = np.maximum(np.minimum(x2, gx2) - np.maximum(x1, gx1), 0) * \
        np.maximum(np.minimum(y2, gy2) - np.maximum(y1, gy1), 0)
    union = (x2 - x1) * (y2 - y1) + (gx2 - gx1) * (gy2 - gy1) - inter
    diag = (np.maximum(x2, gx2) - np.minimum(x1, gx1)) ** 2 + \
        (np.maximum(y2, gy2) - np.minimum(y1, gy1)) ** 2 + eps
    rho = ((x1 + x2 - gx1 - gx2) / 2) ** 2 + ((y1 + y2 - gy1 - gy2) / 2) ** 2
    return 1 - inter / (union + eps) + rho / diag


def _ciou_paper_rule(arrays, kwargs, gy):
    """The documented CIoU rule for boxes1: the exact DIoU gradient (central differences of
    the closed form) plus α·∂v with ∂atan(w/h)/∂(w, h) replaced by (h, −w)."""
    import numpy as np
    b1, b2 = arrays
    eps = kwargs.get("eps", 1e-7)
    reduction = kwargs.get("reduction", "none")
    g = np.broadcast_to(gy, b1.shape[:-1]) / (b1[..., 0].size if reduction == "mean" else 1)
    grad = np.zeros_like(b1)
    h = 1e-6
    for idx in np.ndindex(b1.shape):
        plus, minus = b1.copy(), b1.copy()
        plus[idx] += h
        minus[idx] -= h
        grad[idx] = ((_diou_numpy(plus, b2, eps) - _diou_numpy(minus, b2, eps))[idx[:-1]] / (2 * h))
    alpha = _ciou_alpha(np, b1, b2, eps)
    w, hh = b1[..., 2] - b1[..., 0], b1[..., 3] - b1[..., 1]
    theta_gap = np.arctan((b2[..., 2] - b2[..., 0]) / (b2[..., 3] - b2[..., 1])) - np.arctan(w / hh)
    dv_dtheta = -(8 / math.pi ** 2) * theta_gap               # ∂v/∂atan(w/h)
    dw, dh = dv_dtheta * hh, -dv_dtheta * w                   # the paper's (h, −w)
    grad[..., 0] += alpha * -dw
    grad[..., 2] += alpha * dw
    grad[..., 1] += alpha * -dh
    grad[..., 3] += alpha * dh
    return [g[..., None] * grad]


def _register_all():
    import numpy as np
    papers = ["Distance-IoU Loss: Faster and Better Learning for Bounding Box Regression",
              "Loss Functions and Metrics in Deep Learning"]

    def boxes(r, n):
        """Pairs of overlapping boxes (and a disjoint pair) without tied coordinates."""
        xy = r.uniform(0, 4, (n, 2))
        wh = r.uniform(1, 3, (n, 2))
        b1 = np.concatenate([xy, xy + wh], axis=1)
        b2 = b1 + r.uniform(-0.8, 0.8, (n, 4))
        b2[-1] += 6.0                                        # a disjoint pair
        return b1, b2

    def cases(r):
        b1, b2 = boxes(r, 4)
        c1, c2 = boxes(r, 3)
        return [Case(b1, b2), Case(c1, c2, reduction="mean"), Case(b1[:2], b2[:2], reduction="sum")]

    register(iou_loss, kind="loss", catalog_id="L044", module=IoULoss, papers=papers, inputs=cases)
    register(giou_loss, kind="loss", catalog_id="L045", module=GIoULoss, papers=papers, inputs=cases,
             aliases=["generalized_box_iou_loss"])
    register(diou_loss, kind="loss", catalog_id="L046", module=DIoULoss, papers=papers, inputs=cases,
             aliases=["distance_box_iou_loss"])

    def ciou_cases(r):
        b1, b2 = boxes(r, 4)
        c1, c2 = boxes(r, 3)
        return [Case(b1, b2, reference1=b1.copy(), reference2=b2.copy()),
                Case(c1, c2, reduction="mean", reference1=c1.copy(), reference2=c2.copy()),
                Case(b1, b2, paper_gradient=True, wrt=(0,), custom=True),
                Case(c1, c2, reduction="mean", paper_gradient=True, wrt=(0,), custom=True)]

    register(ciou_loss, kind="loss", catalog_id="L047", module=CIoULoss, papers=papers,
             aliases=["complete_box_iou_loss"], check="fd+custom", backward_rule=_ciou_paper_rule,
             checked_as=_ciou_checked, inputs=ciou_cases)


_register_all()
