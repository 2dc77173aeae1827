"""Test-time adaptation objectives: the CoTTA mean-teacher consistency loss (qinenergy/cotta
``cifar/cotta.py``). CoTTA's teacher EMA and stochastic restoration are in
``minigrad.training.plasticity``; this module only holds the student's loss.

Not here: the Core pairwise class-correlation loss of "Test-time Batch Statistics
Calibration for Covariate Shift" (catalog L105): its equation could not be read (no
official code was found, and the paper's loss is only reachable as an abstract), so it is
left out of the registry rather than guessed."""
from minigrad.layers.losses._common import LossModule, check_reduction, const, xp_of
from minigrad.layers.losses.classification import cross_entropy
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["cotta_consistency_loss", "cotta_pseudo_label", "CoTTAConsistencyLoss"]


def _array(op, x, like, name, shape):
    a = x.data if isinstance(x, Tensor) else const(x, like).data
    if a.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be floating-point logits, got dtype {a.dtype} and "
                        f"shape {tuple(a.shape)}")
    if tuple(a.shape) != tuple(shape):
        raise ValueError(f"{op}: {name} of shape {tuple(a.shape)} does not match the expected "
                         f"shape {tuple(shape)} (student logits of shape {tuple(like.shape)})")
    return a.astype(like.dtype)


def cotta_pseudo_label(input, teacher_logits, aug_teacher_logits=None, anchor_logits=None,
                       ap=0.92):
    """CoTTA's detached pseudo-label (a constant tensor (B, C)):

        ỹ = softmax(z_teacher)   or   softmax(mean_k z_teacher(aug_k(x)))  if mean_b max p_anchor,b < ap

    See ``_pseudo_label`` and ``cotta_consistency_loss`` for the arguments.

    Paper: Wang, Fink, Van Gool & Dai 2022, "Continual Test-Time Domain Adaptation".
    """
    return Tensor._wrap(_pseudo_label(input, teacher_logits, aug_teacher_logits, anchor_logits, ap))


def _pseudo_label(input, teacher_logits, aug_teacher_logits=None, anchor_logits=None, ap=0.92):
    """CoTTA's detached pseudo-label ỹ (B, C) (qinenergy/cotta ``cifar/cotta.py``,
    ``forward_and_adapt``): softmax of the teacher logits on x, or, when the source
    (anchor) model's mean confidence mean_b max_c softmax(anchor_b)_c is below ``ap``,
    softmax of the teacher logits averaged over the N augmented views
    (``aug_teacher_logits`` (N, B, C)). ``anchor_logits`` None with augmented views given:
    the views are always averaged. ``input`` only fixes the shape, dtype and backend."""
    op = "cotta_consistency_loss"
    xp = xp_of(input)
    b, c = input.shape
    logits = _array(op, teacher_logits, input, "teacher_logits", (b, c))
    if aug_teacher_logits is not None:
        aug = _array(op, aug_teacher_logits, input, "aug_teacher_logits",
                     (_leading(aug_teacher_logits), b, c))
        use_aug = True
        if anchor_logits is not None:
            anchor = _array(op, anchor_logits, input, "anchor_logits", (b, c))
            conf = _softmax(xp, anchor).max(axis=1)
            use_aug = b > 0 and float(conf.mean()) < float(ap)
        if use_aug and aug.shape[0] > 0:
            logits = aug.mean(axis=0)
    return _softmax(xp, logits)


def _leading(x):
    return tuple(x.shape)[0] if len(tuple(x.shape)) == 3 else -1


def _softmax(xp, z):
    e = xp.exp(z - z.max(axis=1, keepdims=True)) if z.shape[0] else z
    return e / e.sum(axis=1, keepdims=True) if z.shape[0] else z


def cotta_consistency_loss(input, teacher_logits, aug_teacher_logits=None, anchor_logits=None,
                           ap=0.92, reduction="mean"):
    """CoTTA consistency loss: soft-target cross-entropy of the student on the test batch
    against the (detached) mean-teacher pseudo-label:

        ỹ = softmax(z_teacher)   or   softmax(mean_k z_teacher(aug_k(x)))  if mean_b max p_anchor,b < ap
        ℓ_b = −Σ_c ỹ_bc·log softmax(z_b)_c

    ``input`` student logits (B, C); ``teacher_logits`` the EMA teacher's on x (B, C);
    ``aug_teacher_logits`` the teacher's on N augmented copies (N, B, C) (N = 32 in the
    paper) or None; ``anchor_logits`` the frozen source model's (B, C), for the confidence
    test against ``ap`` = 0.92 (CIFAR10-C configs ``cfgs/.../cotta*.yaml`` ``AP``; the
    threshold is dataset-specific); ``reduction`` 'mean' (the code's), 'sum', 'none'.
    Deviations from the catalog line, following the official code: the augmented teacher
    *logits* are averaged and then softmaxed (not the probabilities), and the confidence
    test is on the batch mean of the anchor's max-probability (one decision per batch, not
    per sample). This row is literally a combination: ``cross_entropy`` (L001) with the
    soft target ỹ built by ``cotta_pseudo_label`` (a constant); its backward is
    ``cross_entropy``'s, ∂ℓ_b/∂z_b = softmax(z_b) − ỹ_b (help(minigrad.layers.losses.
    classification.cross_entropy)). An empty batch gives 0. The teacher update (EMA
    α = 0.999) and stochastic restoration are ``minigrad.training.plasticity``'s.

    Paper: Wang, Fink, Van Gool & Dai 2022, "Continual Test-Time Domain Adaptation".
    """
    op = "cotta_consistency_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    if input.ndim != 2:
        raise ValueError(f"{op}: student logits must be (batch, classes), got shape "
                         f"{tuple(input.shape)} (dtype {input.dtype})")
    target = _pseudo_label(input, teacher_logits, aug_teacher_logits, anchor_logits, ap)
    if input.shape[0] == 0:
        z = input.sum(axis=1) * 0.0
        return z if reduction == "none" else z.sum()
    return cross_entropy(input, Tensor._wrap(target), reduction=reduction)


class CoTTAConsistencyLoss(LossModule):
    """CoTTA consistency loss Module (ap = 0.92):
    ``forward(input, teacher_logits, aug_teacher_logits=None, anchor_logits=None)``.

    ℓ = −Σ_c ỹ_c·log softmax(z)_c with the detached teacher pseudo-label ỹ; see
    ``F.cotta_consistency_loss``.
    Paper: Wang, Fink, Van Gool & Dai 2022, "Continual Test-Time Domain Adaptation".
    """

    def __init__(self, ap=0.92, reduction="mean"):
        super().__init__(reduction)
        self.ap = ap

    def forward(self, input, teacher_logits, aug_teacher_logits=None, anchor_logits=None):
        return cotta_consistency_loss(input, teacher_logits, aug_teacher_logits, anchor_logits,
                                      self.ap, self.reduction)


def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731

    register(cotta_consistency_loss, kind="loss", catalog_id="L106", module=CoTTAConsistencyLoss,
             papers=["Continual Test-Time Domain Adaptation"],
             inputs=lambda r: [Case(n(r, 4, 5), n(r, 4, 5), wrt=(0,)),
                               Case(n(r, 3, 4), n(r, 3, 4), n(r, 6, 3, 4), 0.1 * n(r, 3, 4),
                                    wrt=(0,), reduction="none"),             # low confidence: views
                               Case(n(r, 3, 4), n(r, 3, 4), n(r, 6, 3, 4), 10 * n(r, 3, 4),
                                    wrt=(0,), ap=0.5, reduction="sum"),      # confident: plain teacher
                               Case(n(r, 1, 3), n(r, 1, 3), n(r, 2, 1, 3), wrt=(0,))])


_register_all()
