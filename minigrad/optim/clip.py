"""Gradient clipping, applied to ``.grad`` after backward and before the optimizer step:
by global norm, by value, and adaptive unit-wise clipping (AGC)."""
import math

from minigrad.backends import backend_of_array
from minigrad.optim.optimizer import power_of_two_scale
from minigrad.registry import register
from minigrad.tensor import Tensor


def _with_grad(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Rescale the gradients so that their global norm is at most ``max_norm`` (Pascanu,
    Mikolov & Bengio 2013), in place; returns the norm before clipping (a 0-d tensor).

    Paper: Pascanu, Mikolov & Bengio 2013, "On the difficulty of training Recurrent Neural
    Networks". Arguments: ``clip_grad_norm_(parameters, max_norm, norm_type=2.0,
    error_if_nonfinite=False)``.

        n = (Σ_p ‖g_p‖_q^q)^(1/q)   over all parameters together (q = ``norm_type``; ∞: max |g|)
        g ← g · min(1, c / (n + 1e-6))

    (PyTorch's form: the 1e-6 keeps the factor finite when n = 0). A non-finite n raises
    ``RuntimeError`` with ``error_if_nonfinite=True``; otherwise the gradients become NaN,
    as in PyTorch, so that the step is visibly wrong rather than silently skipped.
    """
    params = _with_grad(parameters)
    if not params:
        return Tensor(0.0)
    xp = backend_of_array(params[0].grad.data).xp
    grads = [p.grad.data for p in params]
    norm_type = float(norm_type)
    largest = xp.max(xp.stack([xp.abs(g).max() if g.size else xp.zeros((), g.dtype)
                               for g in grads]))
    if math.isinf(norm_type):
        total = largest
    else:       # over a power of two near max |g|: |g|^q would overflow for large g
        s = power_of_two_scale(xp, largest)
        total = s * sum((xp.abs(g / s) ** norm_type).sum() for g in grads) ** (1 / norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients of {len(params)} parameters is non-finite ({total}); "
                           "pass error_if_nonfinite=False to clip anyway")
    factor = xp.minimum(max_norm / (total + 1e-6), 1.0)
    for p in params:
        p.grad.data *= factor.astype(p.grad.dtype)
    return Tensor._wrap(xp.asarray(total))


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element to [−c, c] in place, each parameter on its own
    (unlike norm clipping, it changes the direction of the gradient).

        g ← clip(g, −c, c)   (c = ``clip_value``)

    Primitive (no introducing paper). ``clip_grad_value_(parameters, clip_value)`` as PyTorch.
    """
    for p in _with_grad(parameters):
        xp = backend_of_array(p.grad.data).xp
        xp.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)


def unitwise_norm(xp, a, norm_type=2.0):
    """Norm of each output unit (row ``a[i]``, over its fan-in axes 1..); the whole-tensor norm
    for ndim ≤ 1 (biases, gains), as in the NFNet code and timm."""
    if a.ndim <= 1:
        return (xp.abs(a) ** norm_type).sum() ** (1 / norm_type)
    axes = tuple(range(1, a.ndim))
    return (xp.abs(a) ** norm_type).sum(axis=axes, keepdims=True) ** (1 / norm_type)


def adaptive_grad_clip_(parameters, clip_factor=0.01, eps=1e-3, norm_type=2.0):
    """Adaptive gradient clipping, unit-wise (Brock et al. 2021, NFNets), in place.

    Paper: Brock, De, Smith & Simonyan 2021, "High-Performance Large-Scale Image Recognition
    Without Normalization".

    For each unit i (row of a weight: an output unit or output channel, norms over its fan-in)::

        if ‖G_i‖ / max(‖W_i‖, ε) > λ:   G_i ← λ·max(‖W_i‖, ε)/‖G_i‖ · G_i

    λ = ``clip_factor`` (0.01 at batch 4096 in NFNets; smaller batches tolerate larger λ),
    ε = 1e-3 keeps units with zero weights trainable. The paper does not clip the final
    classifier: leave its parameters out of ``parameters``. Tensors with ndim ≤ 1 use their
    whole norm (timm's ``unitwise_norm``).
    """
    for p in _with_grad(parameters):
        xp = backend_of_array(p.data).xp
        g = p.grad.data
        max_norm = xp.maximum(unitwise_norm(xp, p.data, norm_type), eps) * clip_factor
        grad_norm = unitwise_norm(xp, g, norm_type)
        scale = max_norm / xp.maximum(grad_norm, 1e-6)
        g[...] = xp.where(grad_norm > max_norm, g * scale, g)


_PASCANU = "On the difficulty of training Recurrent Neural Networks"
_SPAM = "Stable-SPAM: How to Train in 4-Bit More Stably than 16-Bit Adam"
_OFQ = "Oscillation-free Quantization for Low-bit Vision Transformers"
_LSNET = "LSNet: See Large, Focus Small"
register(clip_grad_norm_, name="clip_grad_norm", kind="optimizer", check="state",
         catalog_id="O011", aliases=("clip_grad_norm_",),
         papers=[_PASCANU, _SPAM, "Large-batch Optimization for Dense Visual Predictions", _OFQ,
                 _LSNET])
register(clip_grad_value_, name="clip_grad_value", kind="optimizer", check="state",
         catalog_id="O012", aliases=("clip_grad_value_",), papers=[_SPAM, _OFQ, _LSNET])
register(adaptive_grad_clip_, name="adaptive_grad_clip", kind="optimizer", check="state",
         catalog_id="O013", aliases=("adaptive_grad_clip_",),
         papers=["High-Performance Large-Scale Image Recognition Without Normalization",
                 "Ranger21: a synergistic deep learning optimizer"])
