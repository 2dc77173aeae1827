"""Overlap losses for segmentation: soft Dice and Tversky (focal Tversky, soft Jaccard),
on logits (N, C, *spatial) with integer label maps (N, *spatial) or one-hot / soft
targets of the logits' shape. Compositions of registered ops: the quotient-rule
gradients come from the division op, the class probabilities from the private softmax."""
from minigrad.layers.losses._common import LossModule, check_reduction, const, reduce, softmax, xp_of
from minigrad.layers.losses.classification import cross_entropy
from minigrad.ops._checks import check_floating
from minigrad.ops.elementwise import clip, sigmoid
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["dice_loss", "tversky_loss", "DiceLoss", "DiceCELoss", "TverskyLoss"]


def _probs_and_targets(op, input, target, activation):
    check_floating(op, input=input)
    if input.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C, ...), got shape {tuple(input.shape)}")
    if activation == "softmax":
        p = softmax(input, axis=1)
    elif activation == "sigmoid":
        p = sigmoid(input)
    elif activation is None:
        p = input
    else:
        raise ValueError(f"{op}: activation must be 'softmax', 'sigmoid' or None, got {activation!r}")
    xp = xp_of(input)
    t = const(target, input).data
    if tuple(t.shape) == tuple(input.shape):
        return p, Tensor._wrap(t.astype(input.dtype))
    label_shape = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(t.shape) != label_shape or t.dtype.kind not in "iu":
        raise ValueError(f"{op}: target must be integer labels of shape {label_shape} or a one-hot "
                         f"/ soft target of the input's shape {tuple(input.shape)}, got "
                         f"{t.dtype} of shape {tuple(t.shape)}")
    classes = xp.arange(input.shape[1]).reshape((1, -1) + (1,) * (input.ndim - 2))
    return p, Tensor._wrap((t[:, None] == classes).astype(input.dtype))


def _axes(input, batch_dice):
    spatial = tuple(range(2, input.ndim))
    return (0,) + spatial if batch_dice else spatial


def _class_mean(op, per_class, weight, input):
    if weight is None:
        return per_class.mean(axis=-1)
    w = const(weight, input, input.dtype)
    if tuple(w.shape) != (input.shape[1],):
        raise ValueError(f"{op}: weight must have one entry per class ({input.shape[1]},), got "
                         f"{tuple(w.shape)}")
    return (per_class * w).mean(axis=-1)


def dice_loss(input, target, activation="softmax", smooth=1e-5, weight=None, batch_dice=False,
              reduction="mean"):
    """Soft Dice loss ("TopoMortar..."; "Performance Analysis of UNet and Variants..."):
    per sample and class over the spatial axes (also over the batch with ``batch_dice``),
        Dice_c = (2Σ p·g + s)/(Σp + Σg + s),   L = 1 − mean_c(w_c·Dice_c),
    p = softmax (or sigmoid) of the logits, g the one-hot target, s = 1e-5 (the UNet study
    uses 1); the denominator is clipped at 1e-8. Quotient rule:
    ∂Dice/∂p = 2g/D − (2Σpg + s)/D², D = Σp + Σg + s. 'none' gives one loss per sample.

    Paper: Milletari, Navab & Ahmadi 2016, "V-Net: Fully Convolutional Neural Networks for
    Volumetric Medical Image Segmentation".
    """
    op = "dice_loss"
    check_reduction(op, reduction)
    p, g = _probs_and_targets(op, input, target, activation)
    axes = _axes(input, batch_dice)
    inter = (p * g).sum(axis=axes)
    denom = clip(p.sum(axis=axes) + g.sum(axis=axes) + smooth, 1e-8, None)
    dice = (inter * 2.0 + smooth) / denom
    return reduce(1.0 - _class_mean(op, dice, weight, input), reduction, op)


def tversky_loss(input, target, alpha=0.3, beta=0.7, gamma=1.0, activation="softmax", smooth=1e-5,
                 weight=None, batch_dice=False, reduction="mean"):
    """Tversky loss ("Loss Functions and Metrics in Deep Learning"): soft counts per class
    TP = Σpg, FP = Σp(1 − g), FN = Σ(1 − p)g;  TI = (TP + s)/(TP + α·FP + β·FN + s);
    L = mean_c (1 − TI_c)^γ. α = 0.3, β = 0.7; γ = 0.75 gives the focal Tversky loss;
    α = β = 1 the soft Jaccard (IoU) loss, α = β = ½ the Dice loss. (1 − TI) is clamped at
    1e-12 inside the power when γ ≠ 1 ((1 − TI)^(γ−1) is singular at TI = 1 for γ < 1).

    Paper: Salehi, Erdogmus & Gholipour 2017, "Tversky loss function for image segmentation
    using 3D fully convolutional deep networks"; focal form: Abraham & Khan 2019, "A Novel
    Focal Tversky loss function with improved Attention U-Net for lesion segmentation".
    """
    op = "tversky_loss"
    check_reduction(op, reduction)
    p, g = _probs_and_targets(op, input, target, activation)
    axes = _axes(input, batch_dice)
    tp = (p * g).sum(axis=axes)
    fp = (p * (1.0 - g)).sum(axis=axes)
    fn = ((1.0 - p) * g).sum(axis=axes)
    ti = (tp + smooth) / (tp + fp * alpha + fn * beta + smooth)
    per_class = 1.0 - ti
    if gamma != 1:
        per_class = clip(per_class, 1e-12, None) ** gamma
    return reduce(_class_mean(op, per_class, weight, input), reduction, op)


class DiceLoss(LossModule):
    """Soft Dice loss Module: L = 1 − mean_c (2Σ p·g + s)/(Σp + Σg + s) (see ``F.dice_loss``).

    Paper: Milletari, Navab & Ahmadi 2016, "V-Net: Fully Convolutional Neural Networks for
    Volumetric Medical Image Segmentation".
    """

    def __init__(self, activation="softmax", smooth=1e-5, weight=None, batch_dice=False,
                 reduction="mean"):
        super().__init__(reduction)
        self.activation, self.smooth, self.batch_dice = activation, smooth, batch_dice
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return dice_loss(input, target, self.activation, self.smooth, self.weight, self.batch_dice,
                         self.reduction)


class DiceCELoss(LossModule):
    """λ_CE·CE + λ_Dice·Dice (softmax logits, integer label maps; 1 and 1 by default),
    the usual combination against class imbalance (MONAI ``DiceCELoss``).

    ℓ = λ_CE·CE(z, y) + λ_Dice·(1 − mean_c Dice_c); backward through ``F.cross_entropy`` and
    ``F.dice_loss``. Paper: Isensee, Jaeger, Kohl, Petersen & Maier-Hein 2021, "nnU-Net: a
    self-configuring method for deep learning-based biomedical image segmentation".
    """

    def __init__(self, lambda_ce=1.0, lambda_dice=1.0, smooth=1e-5):
        super().__init__("mean")
        self.lambda_ce, self.lambda_dice, self.smooth = lambda_ce, lambda_dice, smooth

    def forward(self, input, target):
        return (cross_entropy(input, target) * self.lambda_ce
                + dice_loss(input, target, smooth=self.smooth) * self.lambda_dice)


class TverskyLoss(LossModule):
    """Tversky / focal Tversky / soft Jaccard loss Module.

    TI = (TP + s)/(TP + α·FP + β·FN + s), L = mean_c (1 − TI_c)^γ (see ``F.tversky_loss``).
    Paper: Salehi, Erdogmus & Gholipour 2017, "Tversky loss function for image segmentation
    using 3D fully convolutional deep networks".
    """

    def __init__(self, alpha=0.3, beta=0.7, gamma=1.0, activation="softmax", smooth=1e-5,
                 weight=None, batch_dice=False, reduction="mean"):
        super().__init__(reduction)
        self.alpha, self.beta, self.gamma = alpha, beta, gamma
        self.activation, self.smooth, self.batch_dice = activation, smooth, batch_dice
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return tversky_loss(input, target, self.alpha, self.beta, self.gamma, self.activation,
                            self.smooth, self.weight, self.batch_dice, self.reduction)


def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    register(dice_loss, kind="loss", catalog_id="L048", module=DiceLoss,
             papers=["TopoMortar: A dataset to evaluate image segmentation methods focused on "
                     "topology accuracy", "Loss Functions and Metrics in Deep Learning",
                     "Performance Analysis of UNet and Variants for Medical Image Segmentation"],
             inputs=lambda r: [Case(n(r, 2, 3, 2, 2), r.integers(0, 3, (2, 2, 2))),
                               Case(n(r, 2, 2, 4), r.integers(0, 2, (2, 2, 4)), activation="sigmoid",
                                    smooth=1.0, reduction="none"),
                               Case(n(r, 2, 3, 3), r.integers(0, 3, (2, 3)), weight=r.random(3) + 0.5,
                                    batch_dice=True),
                               Case(r.random((2, 3, 3)), r.random((2, 3, 3)), wrt=(0,), activation=None,
                                    reduction="sum")])
    register(tversky_loss, kind="loss", catalog_id="L049", module=TverskyLoss,
             papers=["Loss Functions and Metrics in Deep Learning"],
             inputs=lambda r: [Case(n(r, 2, 3, 2, 2), r.integers(0, 3, (2, 2, 2))),
                               Case(n(r, 2, 3, 4), r.integers(0, 3, (2, 4)), gamma=0.75,
                                    reduction="none"),
                               Case(n(r, 2, 2, 3), r.integers(0, 2, (2, 2, 3)), alpha=1.0, beta=1.0,
                                    activation="sigmoid", batch_dice=True, reduction="sum")])


_register_all()
