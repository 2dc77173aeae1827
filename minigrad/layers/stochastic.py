"""Discrete sampling with gradients: the straight-through categorical estimator (B023) and
Gumbel-softmax, soft and straight-through hard (B024)."""
import numpy

from minigrad.autograd import Function
from minigrad.backends import backend_of_array
from minigrad.layers.attention import masked_softmax
from minigrad.layers.module import Module
from minigrad.ops.random import HostGenerator, generator_for as _generator_for
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["GumbelSoftmax"]  # Modules; functions: minigrad.functional

_BRIDGING = "Bridging Discrete and Backpropagation: Straight-Through and Beyond"


class StraightThrough(Function):
    """Straight-through estimator: the value of ``hard`` (a constant array), the gradient of
    ``soft``: y = hard in the forward pass, dy/dsoft = I in the backward pass. The same as
    y = soft + sg(hard - soft), but exactly equal to ``hard`` (no rounding residue)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, soft, hard):
        return hard.astype(soft.dtype, copy=True)

    @staticmethod
    def backward(ctx, gy):
        return gy, None


def straight_through(soft, hard):
    """A tensor with the values of ``hard`` whose gradient flows to ``soft`` unchanged.

    y = hard (forward),  d soft = dy (backward: ``StraightThrough``,
    help(minigrad.layers.stochastic.StraightThrough)).
    Paper: Bengio, Léonard & Courville 2013, "Estimating or Propagating Gradients Through
    Stochastic Neurons for Conditional Computation".
    """
    h = hard.data if isinstance(hard, Tensor) else hard
    return StraightThrough.apply(soft, backend_of_array(soft.data).asarray(h))


def _one_hot_of(xp, idx, k, dtype):
    return (idx[..., None] == xp.arange(k)).astype(dtype)


def _sample_categorical(xp, probs, u):
    """Index of the category whose CDF interval holds u (inverse-CDF sampling, last axis)."""
    cdf = xp.cumsum(probs, axis=-1)
    idx = (cdf < u[..., None]).sum(axis=-1)
    return xp.minimum(idx, probs.shape[-1] - 1)


def straight_through_categorical(logits, tau=1.0, generator=None):
    """Straight-through categorical estimator (Bengio et al. 2013; Liu et al. 2023,
    "Bridging Discrete and Backpropagation: Straight-Through and Beyond").

    Forward: D = one_hot(i), i ~ Categorical(softmax(θ)) along the last axis (inverse CDF
    with one uniform draw per row from ``generator``). Output y = D + π_τ - sg(π_τ) with
    π_τ = softmax(θ/τ): the value is exactly D.
    Backward (not the derivative, which is 0 a.e.): the gradient of π_τ only,
    dθ = (1/τ) π_τ ⊙ (dy - Σ_k dy_k π_τ,k).
    """
    xp = backend_of_array(logits.data).xp
    gen = _generator_for(logits, generator)
    probs = masked_softmax(Tensor._wrap(logits.data), -1).data
    u = gen.random(logits.shape[:-1])
    idx = _sample_categorical(xp, probs, xp.asarray(u))
    hard = _one_hot_of(xp, idx, logits.shape[-1], logits.dtype)
    soft = masked_softmax(logits / tau, -1) if tau != 1.0 else masked_softmax(logits, -1)
    return straight_through(soft, hard)


def gumbel_softmax(logits, tau=1.0, hard=False, dim=-1, generator=None):
    """Gumbel-softmax / Concrete relaxation (Jang et al. 2017; Maddison et al. 2017), as
    ``torch.nn.functional.gumbel_softmax``.

    g = -log(-log U), U ~ Uniform(0, 1) clamped to [1e-20, 1) so both logs stay finite;
    y_soft = softmax((θ + g)/τ) along ``dim``: with the noise fixed, its backward is the exact
    softmax derivative dθ = (1/τ) y ⊙ (dy - Σ dy ⊙ y).
    ``hard=True``: y = one_hot(argmax y_soft), with the straight-through gradient of y_soft
    (y = D + y_soft - sg(y_soft)).

    Papers: Jang, Gu & Poole 2017, "Categorical Reparameterization with Gumbel-Softmax";
    Maddison, Mnih & Teh 2017, "The Concrete Distribution: A Continuous Relaxation of
    Discrete Random Variables".
    """
    xp = backend_of_array(logits.data).xp
    gen = _generator_for(logits, generator)
    u = xp.clip(xp.asarray(gen.random(logits.shape)), 1e-20, 1.0)
    g = Tensor._wrap((-xp.log(-xp.log(u))).astype(logits.dtype, copy=False))
    axis = dim % logits.ndim
    y_soft = masked_softmax((logits + g) / tau, axis)
    if not hard:
        return y_soft
    idx = xp.argmax(y_soft.data, axis=axis)
    out = xp.moveaxis(_one_hot_of(xp, idx, logits.shape[axis], logits.dtype), -1, axis)
    return straight_through(y_soft, out)


class GumbelSoftmax(Module):
    """``GumbelSoftmax(tau=1.0, hard=False, dim=-1)``: samples in training, and in eval mode
    returns softmax(θ/τ) (``hard``: one_hot(argmax θ)) without noise.

    y = softmax((θ + g)/τ), g = −log(−log U) (see ``F.gumbel_softmax``).
    Paper: Jang, Gu & Poole 2017, "Categorical Reparameterization with Gumbel-Softmax".
    """

    def __init__(self, tau=1.0, hard=False, dim=-1):
        super().__init__()
        self.tau, self.hard, self.dim = tau, hard, dim

    def forward(self, logits):
        if self.training:
            return gumbel_softmax(logits, self.tau, self.hard, self.dim)
        xp = backend_of_array(logits.data).xp
        soft = masked_softmax(logits / self.tau, self.dim)
        if not self.hard:
            return soft
        axis = self.dim % logits.ndim
        idx = xp.argmax(logits.data, axis=axis)
        return straight_through(soft, xp.moveaxis(
            _one_hot_of(xp, idx, logits.shape[axis], logits.dtype), -1, axis))


# ------------------------------------------------------------------ registry
def _softmax_np(z, axis=-1):
    e = numpy.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_vjp(y, gy, tau, axis=-1):
    return y * (gy - (gy * y).sum(axis=axis, keepdims=True)) / tau


def _st_categorical_fixed(logits, tau=1.0):
    return straight_through_categorical(logits, tau, generator=HostGenerator(11))


def _st_categorical_rule(arrays, kwargs, gy):
    tau = kwargs.get("tau", 1.0)
    return [_softmax_vjp(_softmax_np(arrays[0] / tau), gy, tau)]


def _gumbel_fixed(logits, tau=1.0, hard=False, dim=-1):
    return gumbel_softmax(logits, tau, hard, dim, generator=HostGenerator(5))


def _gumbel_rule(arrays, kwargs, gy):
    logits = arrays[0]
    tau, axis = kwargs.get("tau", 1.0), kwargs.get("dim", -1)
    u = numpy.clip(numpy.random.default_rng(5).random(logits.shape), 1e-20, 1.0)
    y = _softmax_np((logits - numpy.log(-numpy.log(u))) / tau, axis)
    return [_softmax_vjp(y, gy, tau, axis)]


register(straight_through_categorical, kind="layer", catalog_id="B023", check="custom",
         papers=[_BRIDGING, "Straightening Out the Straight-Through Estimator: Overcoming "
                 "Optimization Challenges in Vector Quantized Networks"],
         inputs=lambda r: [Case(r.standard_normal((5, 4))), Case(r.standard_normal((2, 3, 4)), tau=0.5)],
         checked_as=_st_categorical_fixed, backward_rule=_st_categorical_rule)

register(gumbel_softmax, kind="layer", catalog_id="B024", check="fd+custom", module=GumbelSoftmax,
         papers=[_BRIDGING, "Generalized Differentiable RANSAC"],
         inputs=lambda r: [Case(r.standard_normal((4, 5))), Case(r.standard_normal((3, 4)), tau=0.5),
                           Case(r.standard_normal((4, 3, 2)), tau=2.0, dim=1),
                           Case(r.standard_normal((4, 5)), hard=True, custom=True),
                           Case(r.standard_normal((3, 4, 2)), tau=0.5, hard=True, dim=1, custom=True)],
         checked_as=_gumbel_fixed, backward_rule=_gumbel_rule)
