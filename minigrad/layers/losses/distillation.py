"""Knowledge distillation (Hinton et al. 2015) and function matching."""
from minigrad.layers.losses._common import (LossModule, check_reduction, check_same_shape, const,
                                            log_softmax, reduce)
from minigrad.ops._checks import check_floating
from minigrad.layers.losses.classification import cross_entropy, kl_div_loss
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["kd_loss", "KDLoss"]


def kd_loss(student_logits, teacher_logits, target=None, temperature=4.0, alpha=0.9,
            reduction="mean"):
    """Knowledge distillation: per sample
        ℓ = (1 − α)·CE(z_s, y) + α·T²·KL(softmax(z_t/T) ‖ softmax(z_s/T)),
    teacher logits detached; T = 4, α = 0.9 by default. With ``target=None`` only the
    distillation term is used, with weight T² (pure KD / "function matching" of "Knowledge
    distillation: A good teacher is patient and consistent": T = 1, teacher and student on
    the same mixed input). The T² keeps the soft-target gradient's scale independent of T:
        ∂ℓ/∂z_s = α·T·(softmax(z_s/T) − softmax(z_t/T)) + (1 − α)·(softmax(z_s) − onehot(y)).
    Class-incremental (WA) distillation over the old classes: slice the logits first.
    The KL is computed from two log-softmaxes (``log_target=True``), stable for any logits.

    Paper: Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network".
    """
    op = "kd_loss"
    check_reduction(op, reduction)
    check_floating(op, student_logits=student_logits, teacher_logits=teacher_logits)
    check_same_shape(op, student_logits, teacher_logits, ("student_logits", "teacher_logits"))
    teacher = teacher_logits.detach() if isinstance(teacher_logits, Tensor) else \
        const(teacher_logits, student_logits)
    t = float(temperature)
    log_ps = log_softmax(student_logits * (1.0 / t), axis=1)
    log_pt = log_softmax(teacher * (1.0 / t), axis=1)
    kl = kl_div_loss(log_ps, log_pt, reduction="none", log_target=True).sum(axis=1)
    if target is None:
        per = kl * (t * t)
    else:
        per = kl * (alpha * t * t) + cross_entropy(student_logits, target, reduction="none") * (1 - alpha)
    return reduce(per, reduction, op)


class KDLoss(LossModule):
    """Knowledge-distillation Module: ``forward(student_logits, teacher_logits, target=None)``.

    ℓ = (1 − α)·CE(z_s, y) + α·T²·KL(softmax(z_t/T) ‖ softmax(z_s/T)); backward: see
    ``F.kd_loss``. Paper: Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural
    Network".
    """

    def __init__(self, temperature=4.0, alpha=0.9, reduction="mean"):
        super().__init__(reduction)
        self.temperature, self.alpha = temperature, alpha

    def forward(self, student_logits, teacher_logits, target=None):
        return kd_loss(student_logits, teacher_logits, target, self.temperature, self.alpha,
                       self.reduction)


def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    register(kd_loss, kind="loss", catalog_id="L029", module=KDLoss,
             papers=["Knowledge distillation: A good teacher is patient and consistent",
                     "Faster Inference of Integer SWIN Transformer by Removing the GELU Activation",
                     "Less or More From Teacher: Exploiting Trilateral Geometry For Knowledge "
                     "Distillation",
                     "Maintaining Discrimination and Fairness in Class Incremental Learning",
                     "BigNAS: Scaling Up Neural Architecture Search with Big Single-Stage Models",
                     "Exploring Learngene via Stage-wise Weight Sharing for Initializing "
                     "Variable-sized Models"],
             inputs=lambda r: [Case(3 * n(r, 5, 4), 3 * n(r, 5, 4), r.integers(0, 4, 5), wrt=(0,)),
                               Case(n(r, 4, 3), n(r, 4, 3), None, temperature=1.0, wrt=(0,),
                                    reduction="none"),
                               Case(n(r, 4, 3), n(r, 4, 3), r.integers(0, 3, 4), temperature=2.0,
                                    alpha=0.5, wrt=(0,), reduction="sum")])


_register_all()
