"""Adversarial-robustness losses: PGD/FGSM adversarial training (Madry), TRADES and
virtual adversarial training (VAT).

Each takes the ``model`` (a Module or any callable on a batch) and the clean batch, builds
the adversarial input with ``minigrad.training.attacks`` (which asks ``minigrad.grad`` for
the input gradient with the parameters frozen, so nothing accumulates into ``.grad``), and
returns a loss in which the perturbation is a constant: the parameter gradient is that of
an ordinary loss at a fixed input, as in the papers and their code. ``x_adv`` (or
``r_adv`` for VAT) may be passed to skip the inner maximisation.
"""
import contextlib

from minigrad.autograd import enable_grad, grad, no_grad
from minigrad.layers.losses._common import LossModule, check_reduction, const, log_softmax, xp_of
from minigrad.layers.losses.classification import cross_entropy, kl_div_loss
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["pgd_adversarial_loss", "trades_loss", "vat_loss",
           "PGDAdversarialLoss", "TRADESLoss", "VATLoss"]


@contextlib.contextmanager
def _eval_mode(model):
    """The attack runs with the model in eval mode (TRADES' code), restored afterwards."""
    training = getattr(model, "training", None)
    if training is not None:
        model.eval()
    try:
        yield
    finally:
        if training is not None:
            model.train(training)


def _ce_sum(logits, y):
    return cross_entropy(logits, y, reduction="sum")


def _attack(attack, model, x, y, eps, alpha, steps, random_start, clamp, generator):
    from minigrad.training import attacks
    if random_start is None:
        random_start = attack != "fgsm"
    if alpha is None and attack != "fgsm":
        alpha = 2 / 255
    if attack == "pgd_linf":
        return attacks.pgd_linf(model, _ce_sum, x, y, eps, alpha, steps, random_start, clamp,
                                generator)
    if attack == "pgd_l2":
        return attacks.pgd_l2(model, _ce_sum, x, y, eps, alpha, steps, random_start, clamp,
                              generator)
    if attack == "fgsm":
        return attacks.fgsm(model, _ce_sum, x, y, eps, clamp, random_start, alpha, generator)
    raise ValueError(f"pgd_adversarial_loss: attack must be 'pgd_linf', 'pgd_l2' or 'fgsm', "
                     f"got {attack!r}")


def pgd_adversarial_loss(model, x, y, eps=8 / 255, alpha=None, steps=10, attack="pgd_linf",
                         random_start=None, clamp=(0.0, 1.0), clean_weight=0.0, x_adv=None,
                         generator=None, reduction="mean", attack_model=None):
    """Adversarial-training cross-entropy (Madry et al.; "Concurrent Adversarial Learning for
    Large-Batch Training", "Improving Generalization of Adversarial Training via Robust
    Critical Fine-Tuning", ...):  L = CE(f(x_adv), y) + clean_weight·CE(f(x), y), where
        PGD-ℓ∞: random start in the ε-ball, ``steps`` × x ← Π_{‖x − x₀‖∞ ≤ ε, [0,1]}(x + α·sign ∇_x CE),
        PGD-ℓ2: steps α·g/‖g‖₂ and projection on the ℓ2 ball;  FGSM: one step, α = ε
        (fast AT: ``random_start=True, alpha=1.25·eps``).
    Defaults (RiFT): ε = 8/255, α = 2/255 (``alpha=None``: 2/255 for PGD, ε for FGSM),
    10 steps, random start for PGD and none for FGSM (``random_start=None``). x_adv is a constant of
    the parameter update (the attack runs off the training tape, parameters frozen), so
    ∂L/∂θ is the CE gradient at x_adv. ``attack_model`` (default ``model``) is the network
    the attack differentiates, ``x_adv`` a precomputed adversarial batch.

    Paper: Madry, Makelov, Schmidt, Tsipras & Vladu 2018, "Towards Deep Learning Models
    Resistant to Adversarial Attacks".
    """
    op = "pgd_adversarial_loss"
    check_reduction(op, reduction)
    check_floating(op, x=x)
    if x_adv is None:
        with _eval_mode(model):
            x_adv = _attack(attack, attack_model or model, x, y, eps, alpha, steps, random_start,
                            clamp, generator)
    loss = cross_entropy(model(x_adv.detach()), y, reduction=reduction)
    if clean_weight:
        loss = loss + cross_entropy(model(x), y, reduction=reduction) * clean_weight
    return loss


def trades_loss(model, x, y, beta=6.0, eps=0.031, alpha=0.007, steps=10, random_start=0.001,
                clamp=(0.0, 1.0), x_adv=None, generator=None, reduction="mean", attack_model=None):
    """TRADES (Zhang et al. 2019; "Enhancing Adversarial Robustness in Low-Label Regime...",
    "Unlocking Deterministic Robustness Certification on ImageNet", ...):
        L = CE(f(x), y) + β·(1/N)·Σ_i KL(p(x_i) ‖ p(x_adv,i)),   β = 6,
    x_adv maximising KL(p(x) ‖ p(x′)) by ℓ∞ PGD from x + 0.001·N(0, I): ε = 0.031,
    α = 0.007, 10 steps, clipped to [0, 1] (the official ``trades_loss``; the attack runs
    with the model in eval mode). The KL is differentiated in both branches — the natural
    one is not detached, as in the official code — and computed from log-softmaxes instead
    of log(softmax + 1e-12). x_adv is a constant. 'none' gives the per-sample losses.

    Paper: Zhang et al. 2019, "Theoretically Principled Trade-off between Robustness and
    Accuracy".
    """
    op = "trades_loss"
    check_reduction(op, reduction)
    check_floating(op, x=x)
    if x_adv is None:
        from minigrad.training import attacks
        with _eval_mode(model):
            x_adv = attacks.pgd_linf(attack_model or model, attacks.trades_kl, x, None, eps,
                                     alpha, steps, random_start, clamp, generator)
    logits_nat = model(x)
    logits_adv = model(x_adv.detach())
    kl = kl_div_loss(log_softmax(logits_adv, axis=1), log_softmax(logits_nat, axis=1),
                     reduction="none", log_target=True).sum(axis=1)
    per = cross_entropy(logits_nat, y, reduction="none") + kl * beta
    return per.mean() if reduction == "mean" else per.sum() if reduction == "sum" else per


def _unit_per_sample(xp, d):
    norms = xp.sqrt((d * d).reshape(d.shape[0], -1).sum(axis=1))
    return d / xp.maximum(norms, 1e-12).reshape((-1,) + (1,) * (d.ndim - 1))


def vat_loss(model, x, eps=8.0, xi=1e-6, power_iterations=1, r_adv=None, generator=None,
             reduction="mean", attack_model=None):
    """Virtual adversarial training's local distributional smoothness ("Virtual Adversarial
    Training: A Regularization Method for Supervised and Semi-Supervised Learning"):
        LDS(x) = KL(sg(p(·|x)) ‖ p(·|x + r_adv)),   r_adv = ε·g/‖g‖,
        g = ∇_r KL(sg(p(·|x)) ‖ p(·|x + r)) at r = ξ·d,  d ~ N(0, I) normalised per sample,
    refined by ``power_iterations`` K = 1 (d ← g/‖g‖); ξ = 1e-6. Needs only first-order input
    gradients (``minigrad.grad``, parameters untouched). ε is dataset-specific (CIFAR-10 with
    ZCA ≈ 6–8, SVHN ≈ 2.5–3.5). The clean distribution and r_adv are constants; the total
    loss is L_sup + α·LDS (α = 1), and VAT+EntMin adds ``entropy_loss`` on unlabelled data.
    'mean' averages over the batch; ``attack_model`` (default ``model``) computes the clean
    distribution and r_adv.

    Paper: Miyato, Maeda, Koyama & Ishii 2018, "Virtual Adversarial Training: A
    Regularization Method for Supervised and Semi-Supervised Learning".
    """
    op = "vat_loss"
    check_reduction(op, reduction)
    check_floating(op, x=x)
    ref = attack_model or model
    xp = xp_of(x)
    with no_grad():
        log_p_clean = log_softmax(ref(x.detach()), axis=1)
    if r_adv is None:
        from minigrad.backends import backend_of_array
        gen = generator if generator is not None else backend_of_array(x.data).generator()
        d = _unit_per_sample(xp, xp.asarray(gen.standard_normal(tuple(x.shape))).astype(x.dtype))
        with enable_grad():
            for _ in range(power_iterations):
                r = Tensor._wrap(xi * d).requires_grad_()
                log_q = log_softmax(ref(x.detach() + r), axis=1)
                dist = kl_div_loss(log_q, log_p_clean, reduction="sum", log_target=True)
                d = _unit_per_sample(xp, grad(dist, r).data)
        r_adv = Tensor._wrap(eps * d)
    r_adv = r_adv.detach() if isinstance(r_adv, Tensor) else const(r_adv, x, x.dtype)
    log_q = log_softmax(model(x + r_adv), axis=1)
    lds = kl_div_loss(log_q, log_p_clean, reduction="none", log_target=True).sum(axis=1)
    return lds.mean() if reduction == "mean" else lds.sum() if reduction == "sum" else lds


# ------------------------------------------------------------------ Modules
class PGDAdversarialLoss(LossModule):
    """Adversarial-training CE Module: ``forward(model, x, y)``.

    ℓ = CE(f(x + δ*), y), δ* = PGD argmax_{‖δ‖∞ ≤ ε} CE(f(x + δ), y) (see ``F.pgd_adversarial_loss``).
    Paper: Madry, Makelov, Schmidt, Tsipras & Vladu 2018, "Towards Deep Learning Models
    Resistant to Adversarial Attacks".
    """

    def __init__(self, eps=8 / 255, alpha=None, steps=10, attack="pgd_linf", random_start=None,
                 clamp=(0.0, 1.0), clean_weight=0.0, reduction="mean"):
        super().__init__(reduction)
        self.eps, self.alpha, self.steps, self.attack = eps, alpha, steps, attack
        self.random_start, self.clamp, self.clean_weight = random_start, clamp, clean_weight

    def forward(self, model, x, y):
        return pgd_adversarial_loss(model, x, y, self.eps, self.alpha, self.steps, self.attack,
                                    self.random_start, self.clamp, self.clean_weight,
                                    reduction=self.reduction)


class TRADESLoss(LossModule):
    """TRADES Module (β = 6, ε = 0.031, α = 0.007, 10 steps): ``forward(model, x, y)``.

    ℓ = CE(f(x), y) + β·KL(f(x) ‖ f(x_adv)) (see ``F.trades_loss``). Paper: Zhang et al.
    2019, "Theoretically Principled Trade-off between Robustness and Accuracy".
    """

    def __init__(self, beta=6.0, eps=0.031, alpha=0.007, steps=10, random_start=0.001,
                 clamp=(0.0, 1.0), reduction="mean"):
        super().__init__(reduction)
        self.beta, self.eps, self.alpha, self.steps = beta, eps, alpha, steps
        self.random_start, self.clamp = random_start, clamp

    def forward(self, model, x, y):
        return trades_loss(model, x, y, self.beta, self.eps, self.alpha, self.steps,
                           self.random_start, self.clamp, reduction=self.reduction)


class VATLoss(LossModule):
    """VAT's LDS Module (ε = 8, ξ = 1e-6, K = 1): ``forward(model, x)``.

    LDS = KL(p(y|x) ‖ p(y|x + r_adv)) (see ``F.vat_loss``). Paper: Miyato, Maeda, Koyama &
    Ishii 2018, "Virtual Adversarial Training: A Regularization Method for Supervised and
    Semi-Supervised Learning".
    """

    def __init__(self, eps=8.0, xi=1e-6, power_iterations=1, reduction="mean"):
        super().__init__(reduction)
        self.eps, self.xi, self.power_iterations = eps, xi, power_iterations

    def forward(self, model, x):
        return vat_loss(model, x, self.eps, self.xi, self.power_iterations,
                        reduction=self.reduction)


# ------------------------------------------------------------------ registry
# The checks run each loss on a tiny linear classifier whose weight and bias are the checked
# inputs. The perturbation is built by a copy of the classifier with the reference (unperturbed)
# weights and a fixed generator, so finite differences see the perturbation held fixed — the
# catalog's rule for attack points — and the oracle (tests/oracles/losses.py) rebuilds it in NumPy.
def _linear(weight, bias):
    return lambda z: z @ weight.T + bias


def _reference(weight, reference_weight, reference_bias):
    as_t = lambda a: a if isinstance(a, Tensor) else const(a, weight, weight.dtype)  # noqa: E731
    return _linear(as_t(reference_weight), as_t(reference_bias))


def _rng():
    import numpy
    return numpy.random.default_rng(7)


def _pgd_checked(weight, bias, x, y, reference_weight=None, reference_bias=None, **kwargs):
    """pgd_adversarial_loss on the linear model (weight, bias), attacked with the reference."""
    return pgd_adversarial_loss(_linear(weight, bias), x, y, generator=_rng(),
                                attack_model=_reference(weight, reference_weight, reference_bias),
                                **kwargs)


def _trades_checked(weight, bias, x, y, reference_weight=None, reference_bias=None, **kwargs):
    """trades_loss on the linear model (weight, bias), attacked with the reference."""
    return trades_loss(_linear(weight, bias), x, y, generator=_rng(),
                       attack_model=_reference(weight, reference_weight, reference_bias), **kwargs)


def _vat_checked(weight, bias, x, reference_weight=None, reference_bias=None, **kwargs):
    """vat_loss on the linear model (weight, bias); r_adv and the clean distribution from the reference."""
    return vat_loss(_linear(weight, bias), x, generator=_rng(),
                    attack_model=_reference(weight, reference_weight, reference_bias), **kwargs)


def _register_all():
    def classifier(r, n=4, d=5, c=3):
        w, b = r.standard_normal((c, d)), 0.1 * r.standard_normal(c)
        return w, b, r.uniform(0.2, 0.8, (n, d)), r.integers(0, c, n)

    def cases(r, extra):
        out = []
        for kwargs in extra:
            w, b, x, y = classifier(r)
            out.append(Case(w, b, x, y, wrt=(0, 1), reference_weight=w.copy(),
                            reference_bias=b.copy(), **kwargs))
        return out

    register(pgd_adversarial_loss, kind="loss", catalog_id="L030", module=PGDAdversarialLoss,
             checked_as=_pgd_checked,
             papers=["Concurrent Adversarial Learning for Large-Batch Training",
                     "Do Input Gradients Highlight Discriminative Features?",
                     "Improving Generalization of Adversarial Training via Robust Critical Fine-Tuning",
                     "Layer-wise Regularized Adversarial Training using Layers Sustainability "
                     "Analysis (LSA) framework", "Imbalanced Adversarial Training with Reweighting"],
             inputs=lambda r: cases(r, [dict(eps=0.1, alpha=0.03, steps=3),
                                        dict(eps=0.1, alpha=0.04, steps=2, attack="pgd_l2",
                                             clean_weight=0.5, reduction="sum"),
                                        dict(eps=0.05, attack="fgsm", reduction="none")]))
    register(trades_loss, kind="loss", catalog_id="L031", module=TRADESLoss, checked_as=_trades_checked,
             papers=["Enhancing Adversarial Robustness in Low-Label Regime via Adaptively Weighted "
                     "Regularization and Knowledge Distillation",
                     "Unlocking Deterministic Robustness Certification on ImageNet",
                     "Shedding More Light on Robust Classifiers under the lens of Energy-based Models"],
             inputs=lambda r: cases(r, [dict(eps=0.1, alpha=0.03, steps=3),
                                        dict(beta=2.0, eps=0.1, alpha=0.05, steps=2, reduction="none")]))

    def vat_cases(r):
        out = []
        for kwargs in (dict(eps=0.5, xi=1e-3), dict(eps=1.0, power_iterations=2, reduction="sum")):
            w, b, x, _ = classifier(r)
            out.append(Case(w, b, x, wrt=(0, 1), reference_weight=w.copy(),
                            reference_bias=b.copy(), **kwargs))
        return out

    register(vat_loss, kind="loss", catalog_id="L032", module=VATLoss, checked_as=_vat_checked,
             papers=["Virtual Adversarial Training: A Regularization Method for Supervised and "
                     "Semi-Supervised Learning"], inputs=vat_cases)


_register_all()
