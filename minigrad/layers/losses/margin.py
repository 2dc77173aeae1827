"""Margin-based softmax losses for face recognition and metric learning: ArcFace,
Sub-center ArcFace, CosFace / AM-Softmax / NormFace and SphereFace (A-Softmax).

Each functional takes ``(embeddings (N, d), weight (C, d), target (N,))``: the class-weight
matrix is an argument, so the Module (which holds it as a Parameter, initialised as the
official code does) and the functional share one code path. The logits are cosines
between L2-normalised rows, cosθ_j = x̂·ŵ_j, whose backward is the normalisation backward
(I − x̂x̂ᵀ)/‖x‖ (``F.l2_normalize``) around a matmul; the margin is applied to the target
column only and the result goes through ``cross_entropy``.
"""
import math

from minigrad.layers.losses._common import (LossModule, check_2d, check_reduction, const,
                                            int_labels, norm as l2_norm, normalize, xp_of)
from minigrad.layers.losses.classification import cross_entropy
from minigrad.layers.module import Parameter
from minigrad.ops._checks import check_floating
from minigrad.ops.elementwise import clip, sqrt, where
from minigrad.ops.indexing import take_along_axis
from minigrad.ops.reductions import amax as reduce_max
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["arcface_loss", "subcenter_arcface_loss", "cosface_loss", "sphereface_loss",
           "ArcFaceLoss", "SubCenterArcFaceLoss", "CosFaceLoss", "SphereFaceLoss"]


def _check(op, embeddings, weight, target, rows_per_class=1):
    check_floating(op, embeddings=embeddings, weight=weight)
    check_2d(op, embeddings)
    check_2d(op, weight, "weight")
    if weight.shape[1] != embeddings.shape[1]:
        raise ValueError(f"{op}: weight of shape {tuple(weight.shape)} must be (classes, "
                         f"{embeddings.shape[1]}) for embeddings of shape {tuple(embeddings.shape)}")
    if weight.shape[0] % rows_per_class:
        raise ValueError(f"{op}: weight has {weight.shape[0]} rows, not a multiple of "
                         f"k={rows_per_class} sub-centers")
    y = int_labels(op, target, embeddings, embeddings.shape[0], "target")
    n_classes = weight.shape[0] // rows_per_class
    if y.size and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise IndexError(f"{op}: target values must be class indices in [0, {n_classes}), got "
                         f"values from {int(y.min())} to {int(y.max())}")
    xp = xp_of(embeddings)
    onehot = xp.zeros((y.shape[0], n_classes), dtype=bool)
    onehot[xp.arange(y.shape[0]), y] = True
    return y, Tensor._wrap(onehot)


def _cosines(embeddings, weight):
    """cosθ = x̂ ŵᵀ (N, C·k), clamped to [−1, 1] against round-off."""
    return clip(normalize(embeddings) @ normalize(weight).T, -1.0, 1.0)


def _arcface_from_cosines(cos, y, onehot, s, m, easy_margin, reduction):
    """ArcFace logits s·cos(θ_y + m) (target) and s·cosθ_j (others), then cross-entropy.

    cos(θ + m) = cosθ·cos m − sinθ·sin m with sinθ = √(1 − cos²θ) (sin² clamped at 1e-14:
    d sinθ/d cosθ = −cosθ/sinθ is infinite at cosθ = ±1). Past θ = π − m, cos(θ + m) stops
    decreasing in θ, so the official code switches to cosθ − m·sin(π − m) for
    cosθ ≤ cos(π − m) (``easy_margin``: no margin at all where cosθ ≤ 0). The branch is
    picked from the forward values; each branch is differentiated exactly."""
    cy = take_along_axis(cos, Tensor._wrap(y[:, None]), 1)
    sin = sqrt(clip(1.0 - cy * cy, 1e-14, 1.0))
    phi = cy * math.cos(m) - sin * math.sin(m)
    if easy_margin:
        target = where(cy.data > 0, phi, cy)
    else:
        target = where(cy.data > math.cos(math.pi - m), phi, cy - math.sin(math.pi - m) * m)
    logits = where(onehot, target, cos) * s
    return cross_entropy(logits, Tensor._wrap(y), reduction=reduction)


def arcface_loss(embeddings, weight, target, s=64.0, m=0.5, easy_margin=False, reduction="mean"):
    """ArcFace ("ArcFace: Additive Angular Margin Loss for Deep Face Recognition"):
    CE over logits s·cos(θ_y + m) for the target class and s·cosθ_j for the others, with
    cosθ_j = x̂·ŵ_j. Defaults s = 64, m = 0.5; the threshold / easy-margin handling follows
    insightface (see ``_arcface_from_cosines``). ``weight`` is the (C, d) class-weight matrix.
    Backward: the CE gradient s(p − q) through the margin (d cos(θ + m)/d cosθ =
    cos m + sin m·cosθ/sinθ on the target) and the two normalisations.

    Paper: Deng, Guo, Xue & Zafeiriou 2019, "ArcFace: Additive Angular Margin Loss for Deep
    Face Recognition".
    """
    op = "arcface_loss"
    check_reduction(op, reduction)
    y, onehot = _check(op, embeddings, weight, target)
    return _arcface_from_cosines(_cosines(embeddings, weight), y, onehot, s, m, easy_margin,
                                 reduction)


def subcenter_arcface_loss(embeddings, weight, target, k=3, s=64.0, m=0.5, easy_margin=False,
                           reduction="mean"):
    """Sub-center ArcFace (the ArcFace paper, sub-center section): ``weight`` (C·k, d) holds k
    sub-centers per class (rows c·k … c·k + k − 1 belong to class c, the official layout);
    cosθ_j = max_k x̂·ŵ_{j,k}, then ArcFace. The max routes the gradient to the dominant
    sub-center only. k = 3 by default. ``SubCenterArcFaceLoss`` adds the paper's cleaning
    step (drop non-dominant sub-centers and samples > 75° from their dominant one).

    Paper: Deng et al. 2020, "Sub-center ArcFace: Boosting Face Recognition by Large-scale
    Noisy Web Faces".
    """
    op = "subcenter_arcface_loss"
    check_reduction(op, reduction)
    y, onehot = _check(op, embeddings, weight, target, k)
    cos = _cosines(embeddings, weight)
    cos = reduce_max(cos.reshape(cos.shape[0], weight.shape[0] // k, k), axis=2)
    return _arcface_from_cosines(cos, y, onehot, s, m, easy_margin, reduction)


def cosface_loss(embeddings, weight, target, s=64.0, m=0.35, reduction="mean"):
    """CosFace / AM-Softmax (additive cosine margin): CE over s·(cosθ_y − m) and s·cosθ_j.
    CosFace: s = 64, m = 0.35 (defaults); AM-Softmax: s = 30, m = 0.35; normalized softmax
    (NormFace, Zhai & Wu): m = 0, s = 1/τ with τ = 0.05. Backward: s·(p − q) through the
    cosines (the margin is a constant shift of the target logit).

    Paper: Wang et al. 2018, "CosFace: Large Margin Cosine Loss for Deep Face Recognition".
    """
    op = "cosface_loss"
    check_reduction(op, reduction)
    y, onehot = _check(op, embeddings, weight, target)
    cos = _cosines(embeddings, weight)
    logits = (cos - const(onehot.data, cos, cos.dtype) * m) * s
    return cross_entropy(logits, Tensor._wrap(y), reduction=reduction)


def _chebyshev(c, m):
    """cos(mθ) = T_m(cosθ), by T₀ = 1, T₁ = c, T_{n+1} = 2c·T_n − T_{n−1} (no acos needed)."""
    if m == 0:
        return c * 0.0 + 1.0
    prev, cur = c * 0.0 + 1.0, c
    for _ in range(m - 1):
        prev, cur = cur, 2.0 * c * cur - prev
    return cur


def sphereface_loss(embeddings, weight, target, m=4, lamb=0.0, reduction="mean"):
    """A-Softmax / SphereFace (Liu et al. 2017, surveyed in "Loss Functions and Metrics in
    Deep Learning"): normalised class weights, unnormalised features. Logits ‖x‖·cosθ_j,
    except the target: ‖x‖·(λ·cosθ_y + ψ(θ_y))/(1 + λ) with
        ψ(θ) = (−1)^k·cos(mθ) − 2k  for θ ∈ [kπ/m, (k + 1)π/m],  k = ⌊mθ/π⌋,  m = 4.
    cos(mθ) is the Chebyshev polynomial T_m(cosθ); k is piecewise constant (computed from
    the forward values), and ψ is C¹ at the boundaries (sin mθ = 0 there). λ (``lamb``) is
    annealed during training — ``SphereFaceLoss`` does it with the official schedule
    λ = max(λ_min, base·(1 + γ·it)^(−power)), base 1000, γ = 0.12, power 1, λ_min = 5;
    λ = 0 is the pure A-Softmax margin. ‖x‖ is taken as x·x̂ (``_common.norm``): a zero
    embedding gives logits 0 and gradient 0, not √0's 0/0 (which made the whole batch NaN).

    Paper: Liu et al. 2017, "SphereFace: Deep Hypersphere Embedding for Face Recognition".
    """
    op = "sphereface_loss"
    check_reduction(op, reduction)
    y, onehot = _check(op, embeddings, weight, target)
    xw = embeddings @ normalize(weight).T                       # ‖x‖·cosθ
    norm = l2_norm(embeddings, axis=1, keepdims=True)
    cos = _cosines(embeddings, weight)
    cy = take_along_axis(cos, Tensor._wrap(y[:, None]), 1)
    xp = xp_of(embeddings)
    k = xp.floor(m * xp.arccos(xp.clip(cy.data, -1, 1)) / math.pi)
    sign = 1.0 - 2.0 * (k % 2)
    psi = _chebyshev(cy, m) * const(sign, cy, cy.dtype) - const(2.0 * k, cy, cy.dtype)
    target_logit = norm * (lamb * cy + psi) / (1.0 + lamb)
    logits = where(onehot, target_logit, xw)
    return cross_entropy(logits, Tensor._wrap(y), reduction=reduction)


# ------------------------------------------------------------------ Modules
def _normal_weight(shape, std):
    """A Parameter drawn N(0, std²) from the current backend's seeded generator."""
    from minigrad.backends import current
    data = current().generator().standard_normal(shape) * std
    return Parameter(Tensor._wrap(data.astype("float32")))


class ArcFaceLoss(LossModule):
    """ArcFace head + loss: ``ArcFaceLoss(num_classes, embedding_size, s=64.0, m=0.5)``.
    ``weight`` (C, d) is initialised N(0, 0.01²) as in insightface's PartialFC.

    ℓ = CE(s·[cos(θ_y + m), cos θ_j (j ≠ y)], y); backward: see ``F.arcface_loss``.
    Paper: Deng, Guo, Xue & Zafeiriou 2019, "ArcFace: Additive Angular Margin Loss for Deep
    Face Recognition".
    """

    def __init__(self, num_classes, embedding_size, s=64.0, m=0.5, easy_margin=False,
                 reduction="mean"):
        super().__init__(reduction)
        self.num_classes, self.embedding_size = num_classes, embedding_size
        self.s, self.m, self.easy_margin = s, m, easy_margin
        self.weight = _normal_weight((num_classes, embedding_size), 0.01)

    def forward(self, embeddings, target):
        return arcface_loss(embeddings, self.weight, target, self.s, self.m, self.easy_margin,
                            self.reduction)


class SubCenterArcFaceLoss(LossModule):
    """Sub-center ArcFace: ``weight`` (C·k, d), k = 3 sub-centers per class.

    cos θ_j = max_k cos θ_jk, then the ArcFace loss; backward: see ``F.subcenter_arcface_loss``.
    Paper: Deng et al. 2020, "Sub-center ArcFace: Boosting Face Recognition by Large-scale
    Noisy Web Faces".
    """

    def __init__(self, num_classes, embedding_size, k=3, s=64.0, m=0.5, easy_margin=False,
                 reduction="mean"):
        super().__init__(reduction)
        self.num_classes, self.embedding_size, self.k = num_classes, embedding_size, k
        self.s, self.m, self.easy_margin = s, m, easy_margin
        self.weight = _normal_weight((num_classes * k, embedding_size), 0.01)

    def forward(self, embeddings, target):
        return subcenter_arcface_loss(embeddings, self.weight, target, self.k, self.s, self.m,
                                      self.easy_margin, self.reduction)

    def _sub_cosines(self, embeddings):
        x = embeddings.data if isinstance(embeddings, Tensor) else embeddings
        xp = xp_of(self.weight)
        x = xp.asarray(x, dtype=self.weight.dtype)
        w = self.weight.data
        xn = x / xp.maximum(xp.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        wn = w / xp.maximum(xp.linalg.norm(w, axis=1, keepdims=True), 1e-12)
        return (xn @ wn.T).reshape(x.shape[0], self.num_classes, self.k)

    def dominant_subcenters(self, embeddings, target):
        """Per class, the sub-center that most of its samples are closest to (an int tensor (C,))."""
        return Tensor._wrap(self._dominant(embeddings, target))

    def _dominant(self, embeddings, target):
        xp = xp_of(self.weight)
        cos = self._sub_cosines(embeddings)
        y = int_labels("dominant_subcenters", target, self.weight, cos.shape[0], "target")
        nearest = cos[xp.arange(y.shape[0]), y].argmax(axis=1)
        counts = xp.bincount(y * self.k + nearest, minlength=self.num_classes * self.k)
        return counts.reshape(self.num_classes, self.k).argmax(axis=1)

    def clean_mask(self, embeddings, target, max_angle=75.0):
        """True for the samples within ``max_angle`` degrees of their class's dominant
        sub-center (the paper's noisy-sample filter)."""
        xp = xp_of(self.weight)
        y = int_labels("clean_mask", target, self.weight, embeddings.shape[0], "target")
        dominant = self._dominant(embeddings, y)
        cos = self._sub_cosines(embeddings)[xp.arange(y.shape[0]), y, dominant[y]]
        return Tensor._wrap(cos >= math.cos(math.radians(max_angle)))

    def drop_non_dominant(self, embeddings, target):
        """Keep only each class's dominant sub-center: afterwards k = 1."""
        dominant = self._dominant(embeddings, target)
        xp = xp_of(self.weight)
        rows = xp.arange(self.num_classes) * self.k + dominant
        self.weight = Parameter(self.weight.data[rows].copy())
        self.k = 1
        return self


class CosFaceLoss(LossModule):
    """CosFace head + loss (s = 64, m = 0.35); m = 0, s = 20 gives NormFace.

    ℓ = CE(s·(cos θ − m·onehot(y)), y); backward: see ``F.cosface_loss``.
    Paper: Wang et al. 2018, "CosFace: Large Margin Cosine Loss for Deep Face Recognition".
    """

    def __init__(self, num_classes, embedding_size, s=64.0, m=0.35, reduction="mean"):
        super().__init__(reduction)
        self.num_classes, self.embedding_size, self.s, self.m = num_classes, embedding_size, s, m
        self.weight = _normal_weight((num_classes, embedding_size), 0.01)

    def forward(self, embeddings, target):
        return cosface_loss(embeddings, self.weight, target, self.s, self.m, self.reduction)


class SphereFaceLoss(LossModule):
    """SphereFace head + loss with the official λ annealing: each training forward
    increments ``iteration`` and uses λ = max(lambda_min, base·(1 + gamma·it)^(−power)).
    ``weight`` (C, d) is drawn U(−1, 1) and renormalised to unit rows (sphereface_pytorch).

    Backward: see ``F.sphereface_loss``. Paper: Liu et al. 2017, "SphereFace: Deep
    Hypersphere Embedding for Face Recognition".
    """

    def __init__(self, num_classes, embedding_size, m=4, base=1000.0, gamma=0.12, power=1.0,
                 lambda_min=5.0, reduction="mean"):
        super().__init__(reduction)
        from minigrad.backends import current
        self.num_classes, self.embedding_size, self.m = num_classes, embedding_size, m
        self.base, self.gamma, self.power, self.lambda_min = base, gamma, power, lambda_min
        self.iteration = 0
        w = current().generator().uniform(-1.0, 1.0, (num_classes, embedding_size))
        w = w / ((w * w).sum(axis=1, keepdims=True) ** 0.5)
        self.weight = Parameter(Tensor._wrap(w.astype("float32")))

    @property
    def lamb(self):
        return max(self.lambda_min, self.base * (1 + self.gamma * self.iteration) ** (-self.power))

    def forward(self, embeddings, target):
        if self.training:
            self.iteration += 1
        return sphereface_loss(embeddings, self.weight, target, self.m, self.lamb, self.reduction)


# ------------------------------------------------------------------ registry
def _register_all():
    import numpy as np
    papers = ["ArcFace: Additive Angular Margin Loss for Deep Face Recognition"]

    def face(r, n=5, c=4, d=3, k=1):
        return r.standard_normal((n, d)), r.standard_normal((c * k, d)), r.integers(0, c, n)

    def arc_cases(r):
        x, w, y = face(r)
        x2, w2, y2 = face(r, 4, 3, 3)
        return [Case(x, w, y), Case(x, w, y, s=8.0, easy_margin=True),
                Case(x2, w2, y2, s=4.0, m=0.3, reduction="none")]

    register(arcface_loss, kind="loss", catalog_id="L014", module=ArcFaceLoss, papers=papers,
             inputs=arc_cases)

    def sub_cases(r):
        x, w, y = face(r, 5, 3, 3, k=3)
        x2, w2, y2 = face(r, 4, 3, 4, k=2)
        return [Case(x, w, y, s=8.0), Case(x2, w2, y2, k=2, s=4.0, reduction="sum")]

    register(subcenter_arcface_loss, kind="loss", catalog_id="L015", module=SubCenterArcFaceLoss,
             papers=papers, inputs=sub_cases)
    register(cosface_loss, kind="loss", catalog_id="L016", module=CosFaceLoss,
             papers=papers + ["Hyperspherical embedding for novel class classification",
                              "Loss Functions and Metrics in Deep Learning"],
             inputs=lambda r: [Case(*face(r)), Case(*face(r, 4, 3, 3), s=20.0, m=0.0, reduction="none")])

    def sphere_cases(r):
        def away(n, c, d):
            """Target angles kept 0.05 rad away from the piece boundaries kπ/4."""
            while True:
                x, w, y = face(r, n, c, d)
                xn = x / np.linalg.norm(x, axis=1, keepdims=True)
                wn = w / np.linalg.norm(w, axis=1, keepdims=True)
                theta = np.arccos((xn * wn[y]).sum(1))
                b = theta * 4 / np.pi
                if (np.abs(b - np.round(b)) > 0.07).all() and (np.floor(b) > 0).any():
                    return x, w, y
        return [Case(*away(5, 4, 3)), Case(*away(4, 3, 3), lamb=5.0, reduction="none"),
                Case(*away(4, 3, 3), m=2, reduction="sum")]

    register(sphereface_loss, kind="loss", catalog_id="L017", module=SphereFaceLoss,
             papers=["Loss Functions and Metrics in Deep Learning"], inputs=sphere_cases)


_register_all()
