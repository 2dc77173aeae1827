"""Mixing two examples of a batch: mixup and CutMix.

The random choices (λ, the pairing permutation, the box) are host decisions drawn from a NumPy
``Generator`` or a ``HostGenerator`` (default: minigrad's NumPy generator, seeded by
``minigrad.manual_seed``), so a seed gives the same mix on every backend. For fixed choices the mix is linear in the inputs,
and the gradient flows to both examples of each pair; none flows to λ or the box.
"""
import math

import numpy

from minigrad.backends import backend_of_array, get_backend
from minigrad.ops.indexing import index_select
from minigrad.ops.random import HostGenerator
from minigrad.registry import Case, register
from minigrad.tensor import Tensor


def _draw(x, alpha, generator):
    if isinstance(generator, HostGenerator):
        generator = generator.rng
    gen = generator if generator is not None else get_backend("numpy").generator()
    lam = float(gen.beta(alpha, alpha)) if alpha > 0 else 1.0
    perm = gen.permutation(x.shape[0])
    return gen, lam, perm


def _partner(x, y, perm):
    """The permuted batch x[perm] (differentiable) and labels y[perm]."""
    if y is None:
        y_b = None
    elif isinstance(y, Tensor):
        y_b = Tensor._wrap(y.data[backend_of_array(y.data).asarray(perm)])
    else:
        y_b = y[perm]
    return index_select(x, 0, backend_of_array(x.data).asarray(perm)), y_b


def mixup(x, y=None, alpha=1.0, generator=None):
    """Mixup (Zhang et al. 2018): λ ~ Beta(α, α), j a random permutation of the batch,

        x̃ = λ·x + (1 − λ)·x_j

    Returns ``(x̃, y_a, y_b, λ)`` with y_a = y and y_b = y_j: train on
    λ·ℓ(f(x̃), y_a) + (1 − λ)·ℓ(f(x̃), y_b) (``mix_criterion``), or on the mixed soft target
    λ·y_a + (1 − λ)·y_b. α = 0 turns it off (λ = 1). BANG fine-tunes with it; "function
    matching" distillation feeds teacher and student the same mixed input.

    Paper: Zhang, Cisse, Dauphin & Lopez-Paz 2018, "mixup: Beyond Empirical Risk Minimization".
    """
    _, lam, perm = _draw(x, alpha, generator)
    x_b, y_b = _partner(x, y, perm)
    return x * lam + x_b * (1 - lam), y, y_b, lam


def rand_bbox(height, width, lam, generator):
    """A box of area about (1 − λ)·H·W with a uniform random centre, clipped to the image
    (timm's ``rand_bbox``): returns (top, bottom, left, right), half-open."""
    cut = math.sqrt(1 - lam)
    cut_h, cut_w = int(height * cut), int(width * cut)
    cy, cx = int(generator.integers(height)), int(generator.integers(width))
    top, bottom = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, height)
    left, right = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, width)
    return top, bottom, left, right


def cutmix(x, y=None, alpha=1.0, generator=None):
    """CutMix (Yun et al. 2019): λ ~ Beta(α, α), j a random permutation of the batch, a box B
    of relative area 1 − λ at a random centre (clipped to the image, last two axes)::

        x̃ = M⊙x + (1 − M)⊙x_j,    M = 0 inside B, 1 outside
        λ ← 1 − area(B)/(H·W)      (recomputed from the clipped box)

    Returns ``(x̃, y_a, y_b, λ)`` as ``mixup``: the loss is λ·ℓ(y_a) + (1 − λ)·ℓ(y_b).

    Paper: Yun et al. 2019, "CutMix: Regularization Strategy to Train Strong Classifiers with
    Localizable Features".
    """
    gen, lam, perm = _draw(x, alpha, generator)
    height, width = x.shape[-2:]
    top, bottom, left, right = rand_bbox(height, width, lam, gen)
    xp = backend_of_array(x.data).xp
    mask = xp.ones((height, width), dtype=x.dtype)
    mask[top:bottom, left:right] = 0
    x_b, y_b = _partner(x, y, perm)
    mixed = x * Tensor._wrap(mask) + x_b * Tensor._wrap(1 - mask)
    return mixed, y, y_b, 1 - (bottom - top) * (right - left) / (height * width)


def mix_criterion(criterion, output, y_a, y_b, lam):
    """λ·criterion(output, y_a) + (1 − λ)·criterion(output, y_b)."""
    return criterion(output, y_a) * lam + criterion(output, y_b) * (1 - lam)


def _mixup_fixed(x):
    """mixup of x with α = 1 and the choices of ``numpy.random.default_rng(0)``."""
    return mixup(x, alpha=1.0, generator=numpy.random.default_rng(0))[0]


def _cutmix_fixed(x):
    """cutmix of x with α = 1 and the choices of ``numpy.random.default_rng(1)``."""
    return cutmix(x, alpha=1.0, generator=numpy.random.default_rng(1))[0]


_KD = "Knowledge distillation: A good teacher is patient and consistent"
_RELABEL = "Re-labeling ImageNet: from Single to Multi-Labels, from Global to Localized Labels"
register(mixup, kind="layer", check="fd", catalog_id="B028", checked_as=_mixup_fixed,
         inputs=lambda rng: [Case(rng.standard_normal((4, 3))),
                             Case(rng.standard_normal((3, 2, 2, 2)))],
         papers=[_KD, _RELABEL,
                 "Spurious Feature Diversification Improves Out-of-distribution Generalization"])
register(cutmix, kind="layer", check="fd", catalog_id="B029", checked_as=_cutmix_fixed,
         inputs=lambda rng: Case(rng.standard_normal((3, 2, 5, 5))), papers=[_KD, _RELABEL])
