"""The hinge family (Loss Functions and Metrics in Deep Learning): binary hinge and squared
hinge, and the multi-class hinges of Crammer–Singer (the largest violation) and
Weston–Watkins (the sum of violations). Compositions of registered ops."""
import math

from minigrad.layers.losses._common import (LossModule, check_reduction, check_same_shape,
                                            class_targets, const, reduce, relu, xp_of)
from minigrad.ops._checks import check_floating
from minigrad.ops.indexing import masked_fill, take_along_axis
from minigrad.ops.reductions import amax as reduce_max
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["hinge_loss", "crammer_singer_hinge_loss", "weston_watkins_hinge_loss",
           "HingeLoss", "CrammerSingerHingeLoss", "WestonWatkinsHingeLoss"]


# ------------------------------------------------------------------ hinge family
def hinge_loss(input, target, margin=1.0, power=1, reduction="mean"):
    """Binary hinge loss for labels y ∈ {−1, +1} and scores f: ℓ = max(0, margin − y·f)^p,
    p = 1 (hinge, SVM) or 2 (squared hinge, C¹). Subgradient −p·y·max(0, margin − y·f)^(p−1)
    where the margin is violated, 0 elsewhere (0 at the kink).

    Paper: Cortes & Vapnik 1995, "Support-Vector Networks".
    """
    op = "hinge_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    y = const(target, input, input.dtype)
    check_same_shape(op, input, y)
    if power not in (1, 2):
        raise ValueError(f"{op}: power must be 1 or 2, got {power}")
    loss = relu(margin - y * input)
    if power == 2:
        loss = loss * loss
    return reduce(loss, reduction, op)


def _target_logit(op, input, target):
    check_floating(op, input=input)
    if input.ndim != 2:
        raise ValueError(f"{op}: scores must be (N, C), got shape {tuple(input.shape)}")
    y = class_targets(op, input, target)
    xp = xp_of(input)
    onehot = xp.zeros(input.shape, dtype=bool)
    onehot[xp.arange(y.shape[0]), y] = True
    return y, onehot, take_along_axis(input, Tensor._wrap(y[:, None]), 1)


def crammer_singer_hinge_loss(input, target, margin=1.0, reduction="mean"):
    """Crammer–Singer multi-class hinge: ℓ = max(0, margin + max_{j≠y} z_j − z_y).
    Subgradient where active: +1 on the best wrong class j*, −1 on y (0 elsewhere).

    Paper: Crammer & Singer 2001, "On the Algorithmic Implementation of Multiclass
    Kernel-based Vector Machines".
    """
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
    −w_y·(number of active j) on y.

    Paper: Weston & Watkins 1999, "Support Vector Machines for Multi-Class Pattern Recognition".
    """
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


class HingeLoss(LossModule):
    """Binary (squared, ``power=2``) hinge loss for labels ±1: ℓ = max(0, margin − y·f)^p.

    Backward: the subgradient of ``F.hinge_loss``. Paper: Cortes & Vapnik 1995,
    "Support-Vector Networks".
    """

    def __init__(self, margin=1.0, power=1, reduction="mean"):
        super().__init__(reduction)
        self.margin, self.power = margin, power

    def forward(self, input, target):
        return hinge_loss(input, target, self.margin, self.power, self.reduction)


class CrammerSingerHingeLoss(LossModule):
    """Crammer–Singer multi-class hinge: ℓ = max(0, margin + max_{j≠y} z_j − z_y).

    Backward: the subgradient of ``F.crammer_singer_hinge_loss``. Paper: Crammer & Singer
    2001, "On the Algorithmic Implementation of Multiclass Kernel-based Vector Machines".
    """

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input, target):
        return crammer_singer_hinge_loss(input, target, self.margin, self.reduction)


class WestonWatkinsHingeLoss(LossModule):
    """Weston–Watkins multi-class hinge (``divide_by_classes=True`` is ``nn.MultiMarginLoss``).

    ℓ = Σ_{j≠y} w_y·max(0, margin + z_j − z_y)^p; backward: see ``F.weston_watkins_hinge_loss``.
    Paper: Weston & Watkins 1999, "Support Vector Machines for Multi-Class Pattern Recognition".
    """

    def __init__(self, margin=1.0, p=1, weight=None, divide_by_classes=False, reduction="mean"):
        super().__init__(reduction)
        self.margin, self.p, self.divide_by_classes = margin, p, divide_by_classes
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return weston_watkins_hinge_loss(input, target, self.margin, self.p, self.weight,
                                         self.divide_by_classes, self.reduction)



def _register_all():
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


_register_all()
