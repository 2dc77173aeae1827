"""Adversarial examples by projected gradient ascent on the input: FGSM, PGD under ℓ∞ (with
TRADES' KL-PGD) and PGD under ℓ2.

An attack needs the gradient of a loss with respect to the *input* while the model's
parameters stay as they are: it asks ``minigrad.grad(loss, x_adv)`` (nothing is accumulated
into any ``.grad``) with the parameters of a ``Module`` frozen for the duration, so no
parameter gradient is even computed. The adversarial input comes back detached: in
adversarial training it is a constant of the parameter update. Attacks run in grad mode even
when called under ``no_grad()``; the model's train/eval mode is left as the caller set it.
"""
import contextlib

import numpy

from minigrad.autograd import enable_grad, grad, no_grad
from minigrad.backends import backend_of_array
from minigrad.ops.indexing import take_along_axis
from minigrad.ops.random import generator_for
from minigrad.ops.reductions import logsumexp
from minigrad.registry import Case, register
from minigrad.tensor import Tensor


def pgd_linf(model, loss_fn, x, y, eps, alpha, steps, random_start=True, clamp=(0, 1),
             generator=None):
    """PGD under ℓ∞ (Madry et al. 2018), torchattacks' form.

        x′ ← x + δ₀                 δ₀ ~ U(−ε, ε)^d (``random_start=True``); N(0, σ²) for a float
                                    σ (TRADES: 0.001); 0 with ``random_start=False``
        repeat ``steps`` times:
            x′ ← x′ + α·sign(∇_x′ loss_fn(model(x′), y))
            x′ ← clamp(x + clip(x′ − x, −ε, ε))      (``clamp=(lo, hi)``, None for no box)

    ``loss_fn(logits, y)`` returns the loss to maximize (a non-scalar one is summed). With
    ``y=None`` it is KL-PGD (TRADES' inner maximization): ``loss_fn(logits_adv, logits_clean)``
    with the clean logits computed once as constants, e.g. ``trades_kl``. CIFAR defaults
    ε = 8/255, α = 2/255, 10 steps; TRADES ε = 0.031, α = 0.007, 10 steps, σ = 0.001.
    ``generator`` draws the random start (default: the backend's seeded generator; a
    ``HostGenerator`` gives the same start on every backend).
    Returns the adversarial input, detached.

    Paper: Madry, Makelov, Schmidt, Tsipras & Vladu 2018, "Towards Deep Learning Models
    Resistant to Adversarial Attacks".
    """
    def ascend(x_adv, g):
        xp = backend_of_array(g).xp
        return x_adv + alpha * xp.sign(g)

    def project(delta):
        xp = backend_of_array(delta).xp
        return xp.clip(delta, -eps, eps)

    def start(xp, gen, shape, dtype):
        return (eps * (2 * gen.random(shape) - 1)).astype(dtype)

    return _pgd(model, loss_fn, x, y, steps, random_start, clamp, generator, ascend, project,
                start)


def pgd_l2(model, loss_fn, x, y, eps, alpha, steps, random_start=True, clamp=(0, 1),
           generator=None):
    """PGD under ℓ2, torchattacks' PGDL2 form; norms are per sample, over all non-batch axes.

        x′ ← x + δ₀       δ₀ = ε·r·u/‖u‖, u ~ N(0, I), r ~ U(0, 1) (``random_start=True``;
                          the radius is uniform, not the volume); N(0, σ²) for a float σ
        repeat ``steps`` times:
            g = ∇_x′ loss_fn(model(x′), y)
            x′ ← x′ + α·g/(‖g‖ + 1e-12)
            δ = x′ − x;  x′ ← clamp(x + δ·min(1, ε/‖δ‖))

    Arguments and the KL-PGD option (``y=None``) as in ``pgd_linf``.

    Paper: Madry, Makelov, Schmidt, Tsipras & Vladu 2018, "Towards Deep Learning Models
    Resistant to Adversarial Attacks".
    """
    def norms(a):
        xp = backend_of_array(a).xp
        return xp.sqrt((a * a).reshape(a.shape[0], -1).sum(axis=1)).reshape(
            (-1,) + (1,) * (a.ndim - 1))

    def ascend(x_adv, g):
        return x_adv + alpha * g / (norms(g) + 1e-12)

    def project(delta):
        xp = backend_of_array(delta).xp
        return delta * xp.minimum(1, eps / xp.maximum(norms(delta), 1e-12))

    def start(xp, gen, shape, dtype):
        u = gen.standard_normal(shape)
        r = gen.random((shape[0],) + (1,) * (len(shape) - 1))
        return (eps * r * u / xp.maximum(norms(u), 1e-12)).astype(dtype)

    return _pgd(model, loss_fn, x, y, steps, random_start, clamp, generator, ascend, project,
                start)


def fgsm(model, loss_fn, x, y, eps, clamp=(0, 1), random_start=False, alpha=None,
         generator=None):
    """FGSM (Goodfellow et al. 2015): one ℓ∞ step x′ = clamp(x + ε·sign(∇_x loss)), i.e.
    ``pgd_linf`` with one step of size α = ε and no random start. "Fast" adversarial training
    (Wong et al. 2020) uses ``random_start=True, alpha=1.25 * eps``."""
    return pgd_linf(model, loss_fn, x, y, eps, eps if alpha is None else alpha, 1,
                    random_start=random_start, clamp=clamp, generator=generator)


def trades_kl(logits_adv, logits_clean):
    """TRADES' attack objective Σ_i KL(p(x_i) ‖ p(x′_i)) with p = softmax (a sum over the
    batch, as TRADES' ``KLDivLoss(size_average=False)``)."""
    log_p_adv = logits_adv - logsumexp(logits_adv, axis=-1, keepdims=True)
    log_p_clean = logits_clean - logsumexp(logits_clean, axis=-1, keepdims=True)
    return (log_p_clean.exp() * (log_p_clean - log_p_adv)).sum()


def _pgd(model, loss_fn, x, y, steps, random_start, clamp, generator, ascend, project, start):
    backend = backend_of_array(x.data)
    xp = backend.xp
    x0 = x.data

    def box(a):
        return a if clamp is None else xp.clip(a, clamp[0], clamp[1])

    with enable_grad(), _frozen(model):
        target = y
        if y is None:
            with no_grad():
                target = model(Tensor._wrap(x0)).detach()
        x_adv = x0
        if random_start:
            gen = generator_for(x, generator)
            if isinstance(random_start, bool):
                delta = start(xp, gen, x0.shape, x0.dtype)
            else:
                delta = (random_start * gen.standard_normal(x0.shape)).astype(x0.dtype)
            x_adv = box(x0 + delta)
        for _ in range(steps):
            leaf = Tensor._wrap(x_adv).requires_grad_()
            loss = loss_fn(model(leaf), target)
            if loss.numel() != 1:
                loss = loss.sum()
            g = grad(loss, leaf).data
            x_adv = box(x0 + project(ascend(x_adv, g) - x0))
    return Tensor._wrap(x_adv)


@contextlib.contextmanager
def _frozen(model):
    """Parameters of a Module stop requiring gradients inside the block (restored after)."""
    params = list(model.parameters()) if hasattr(model, "parameters") else []
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad = False
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad = flag


# --------------------------------------------------------------------------- checks
# A fixed tiny linear classifier (3 classes, 4 features) and its summed cross-entropy: what
# the registered checks attack. The oracle in tests/oracles/procedures.py uses the same numbers.
TINY_W = numpy.array([[0.8, -0.5, 0.3, 0.1], [-0.2, 0.6, -0.7, 0.4], [0.3, 0.2, 0.5, -0.9]])
TINY_B = numpy.array([0.1, -0.2, 0.05])
TINY_EPS = {"linf": 0.05, "l2": 0.1}
TINY_ALPHA = {"linf": 0.02, "l2": 0.04}


def _tiny_model(x):
    backend = backend_of_array(x.data)
    w = Tensor._wrap(backend.asarray(TINY_W.T.astype(x.dtype)))
    b = Tensor._wrap(backend.asarray(TINY_B.astype(x.dtype)))
    return lambda z: z @ w + b


def _per_sample_ce(logits, y):
    return logsumexp(logits, axis=1) - take_along_axis(logits, y.reshape(-1, 1), 1).reshape(-1)


def _ce_sum(logits, y):
    return _per_sample_ce(logits, y).sum()


def _adversarial_loss(attack, norm):
    def checked(x, y, steps):
        """Per-sample cross-entropy of the fixed tiny linear model at the adversarial input
        x + sg(x′ − x), x′ = the attack (no random start) from x.

        What the harness checks: with ``steps=0`` x′ = x and this is the clean loss, whose
        input gradient (the one every attack step uses, parameters frozen) must match finite
        differences; for ℓ∞ with x inside the box, δ = x′ − x is locally constant in x (the
        sign steps and the ε-projection do not move under a small change of x), so the
        gradient is exact there too. Cases marked custom put x against the [0, 1] box (where
        x′ no longer follows x) or use ℓ2 steps (whose direction follows x): there the
        documented rule is that of adversarial training, the perturbation is a constant and
        the gradient is ∇_x′ loss evaluated at x′ (``_adversarial_rule``).
        """
        model = _tiny_model(x)
        adv = attack(model, _ce_sum, x, y, TINY_EPS[norm], TINY_ALPHA[norm], steps,
                     random_start=False)
        return _per_sample_ce(model(x + (adv - x.detach())), y)
    checked.__name__ = f"_adversarial_loss_{norm}"
    return checked


def _adversarial_rule(attack, norm):
    def rule(arrays, kwargs, gy):
        x, y = arrays
        xt = Tensor._wrap(x)
        adv = attack(_tiny_model(xt), _ce_sum, xt, Tensor._wrap(y), TINY_EPS[norm],
                     TINY_ALPHA[norm], kwargs["steps"], random_start=False).numpy()
        z = adv @ TINY_W.T + TINY_B
        p = numpy.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[numpy.arange(len(y)), y] -= 1
        return [(gy[:, None] * p) @ TINY_W]
    return rule


def _attack_cases(rng):
    y = numpy.array([0, 2, 1])
    inside = rng.uniform(0.3, 0.7, (3, 4))
    edge = numpy.where(rng.random((3, 4)) < 0.5, rng.uniform(0.0, 0.03, (3, 4)),
                       rng.uniform(0.97, 1.0, (3, 4)))
    return inside, edge, y


def _linf_cases(rng):
    inside, edge, y = _attack_cases(rng)
    return [Case(inside, y, steps=0), Case(inside, y, steps=3),
            Case(edge, y, steps=3, custom=True)]


def _l2_cases(rng):
    inside, edge, y = _attack_cases(rng)
    return [Case(inside, y, steps=0), Case(inside, y, steps=3, custom=True),
            Case(edge, y, steps=3, custom=True)]


_AT_PAPERS = ["One-vs-the-Rest Loss to Focus on Important Samples in Adversarial Training",
              "Doubly Robust Instance-Reweighted Adversarial Training",
              "Enhancing Adversarial Robustness in Low-Label Regime via Adaptively Weighted "
              "Regularization and Knowledge Distillation",
              "Expressive Losses for Verified Robustness via Convex Combinations",
              "Practical Convex Formulation of Robust One-hidden-layer Neural Network Training",
              "On the Robustness of Randomized Ensembles to Adversarial Perturbations"]
register(pgd_linf, name="pgd_attack_linf", kind="layer", check="fd+custom", catalog_id="B026",
         aliases=("pgd_linf",), inputs=_linf_cases,
         checked_as=_adversarial_loss(pgd_linf, "linf"),
         backward_rule=_adversarial_rule(pgd_linf, "linf"),
         papers=_AT_PAPERS + [
             "Layer-wise Regularized Adversarial Training using Layers Sustainability Analysis "
             "(LSA) framework",
             "Improving Generalization of Adversarial Training via Robust Critical Fine-Tuning",
             "Shedding More Light on Robust Classifiers under the lens of Energy-based Models",
             "Imbalanced Adversarial Training with Reweighting",
             "Concurrent Adversarial Learning for Large-Batch Training",
             "Do Input Gradients Highlight Discriminative Features?"])
register(pgd_l2, name="pgd_attack_l2", kind="layer", check="fd+custom", catalog_id="B027",
         aliases=("pgd_l2",), inputs=_l2_cases, checked_as=_adversarial_loss(pgd_l2, "l2"),
         backward_rule=_adversarial_rule(pgd_l2, "l2"), papers=_AT_PAPERS)
