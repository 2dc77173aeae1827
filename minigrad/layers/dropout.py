"""Dropout (catalog B006) and DropPath / stochastic depth (B007)."""
from minigrad.backends import backend_of_array
from minigrad.layers.module import Module
from minigrad.ops.random import HostGenerator, generator_for as _generator_for
from minigrad.ops.random import dropout
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["Dropout", "DropPath"]  # Modules; functions: minigrad.functional


class Dropout(Module):
    """``Dropout(p=0.5)``: in training y = x ⊙ m/(1 - p), m ~ Bernoulli(1 - p) elementwise
    (inverted dropout, Srivastava et al. 2014); in eval mode y = x. The backward multiplies by
    the same saved mask. ``generator`` (optional) draws the masks, e.g. a ``HostGenerator``
    for masks that are identical on NumPy and CuPy.

    Backward: the Function ``Dropout`` (help(minigrad.ops.random.Dropout)); see ``F.dropout``.
    Paper: Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov 2014, "Dropout: A Simple
    Way to Prevent Neural Networks from Overfitting".
    """

    def __init__(self, p=0.5, generator=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p, self.generator = p, generator

    def forward(self, x):
        gen = _generator_for(x, self.generator) if self.generator is not None else None
        return dropout(x, self.p, self.training, generator=gen)

    def extra_repr(self):
        return f"p={self.p}"


def drop_path(x, drop_prob=0.0, training=False, scale_by_keep=True, generator=None):
    """DropPath / stochastic depth (Huang et al. 2016; timm's ``drop_path``), applied to the
    output F(x) of a residual branch: per sample n, m_n ~ Bernoulli(1 - p) and
    y = F(x) ⊙ m_n/(1 - p), the mask broadcast over every non-batch axis (the caller adds
    the skip path: x + drop_path(F(x))). Eval mode, or p = 0: y = F(x).

    Backward: dF = dy ⊙ m_n/(1 - p) with the drawn mask (a product with a constant, so the
    gradient is exact for that mask); the skip path, outside this op, passes dy unchanged.
    ``scale_by_keep=False`` drops without the 1/(1 - p) rescaling.

    Paper: Huang, Sun, Liu, Sedra & Weinberger 2016, "Deep Networks with Stochastic Depth".
    """
    if not 0.0 <= drop_prob <= 1.0:
        raise ValueError(f"drop_path: drop_prob must be in [0, 1], got {drop_prob}")
    if not training or drop_prob == 0.0:
        return x
    keep = 1.0 - drop_prob
    xp = backend_of_array(x.data).xp
    gen = _generator_for(x, generator)
    u = xp.asarray(gen.random((x.shape[0],) + (1,) * (x.ndim - 1)))
    mask = (u >= drop_prob).astype(x.dtype)
    if scale_by_keep and keep > 0.0:
        mask /= keep
    return x * Tensor._wrap(mask)


class DropPath(Module):
    """``DropPath(drop_prob=0.0, scale_by_keep=True)``: ``drop_path`` in training, identity in eval.

    y = F(x) ⊙ m_n/(1 − p), m_n ~ Bernoulli(1 − p) per sample; backward: see ``F.drop_path``.
    Paper: Huang, Sun, Liu, Sedra & Weinberger 2016, "Deep Networks with Stochastic Depth".
    """

    def __init__(self, drop_prob=0.0, scale_by_keep=True, generator=None):
        super().__init__()
        self.drop_prob, self.scale_by_keep, self.generator = drop_prob, scale_by_keep, generator

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training, self.scale_by_keep, self.generator)

    def extra_repr(self):
        return f"drop_prob={self.drop_prob}"


def _dropout_fixed(x, p):
    """Dropout with the mask of ``numpy.random.default_rng(7)`` on every backend."""
    return dropout(x, p, generator=HostGenerator(7, backend_of_array(x.data).name))


def _drop_path_fixed(x, drop_prob, scale_by_keep=True):
    return drop_path(x, drop_prob, True, scale_by_keep, generator=HostGenerator(3))


register(dropout, kind="layer", catalog_id="B006", module=Dropout,
         papers=["Wide Residual Networks", "Malware Detection by Eating a Whole EXE",
                 "LSNet: See Large, Focus Small"],
         inputs=lambda r: [Case(r.standard_normal((4, 6)), 0.3), Case(r.standard_normal((2, 3, 4)), 0.5)],
         checked_as=_dropout_fixed)

register(drop_path, kind="layer", catalog_id="B007", module=DropPath,
         papers=["LSNet: See Large, Focus Small",
                 "Kernelized Sparse Fine-Tuning with Bi-level Parameter Competition for Vision Models",
                 "High-Performance Large-Scale Image Recognition Without Normalization"],
         inputs=lambda r: [Case(r.standard_normal((6, 3, 2)), 0.5), Case(r.standard_normal((5, 4)), 0.3),
                           Case(r.standard_normal((6, 2)), 0.5, scale_by_keep=False)],
         checked_as=_drop_path_fixed)
