"""Adaptive batch sizes from per-sample gradients: the norm test of AdAdaGrad-Norm.

Per-sample gradients come from ``minigrad.func.per_sample_grads(model, loss_fn, x, y)``
(``{name: tensor of shape (b, *param.shape)}``); the test reads them on their backend and
returns host numbers.
"""
import collections
import math

from minigrad.backends import backend_of_array
from minigrad.registry import register
from minigrad.tensor import Tensor

NormTest = collections.namedtuple(
    "NormTest", ["passed", "batch_size", "required_batch_size", "variance", "grad_norm_sq"])
NormTest.__doc__ = """Result of ``adadagrad_norm_test``: whether the test ``passed``, the next
``batch_size``, the ``required_batch_size`` V/(η²‖ḡ‖²) before rounding, V = Σ_j Var_j
(``variance``) and ‖ḡ‖² (``grad_norm_sq``)."""


def _leaves(per_sample_grads):
    if isinstance(per_sample_grads, dict):
        leaves = list(per_sample_grads.values())
    elif isinstance(per_sample_grads, (list, tuple)):
        leaves = list(per_sample_grads)
    else:
        leaves = [per_sample_grads]
    arrays = [g.data if isinstance(g, Tensor) else g for g in leaves]
    if not arrays:
        raise ValueError("adadagrad_norm_test: no per-sample gradients given")
    b = arrays[0].shape[0] if arrays[0].ndim else 0
    for g in arrays:
        if g.ndim == 0 or g.shape[0] != b:
            raise ValueError(f"adadagrad_norm_test: every per-sample gradient needs the same "
                             f"leading batch axis; got shapes {[tuple(a.shape) for a in arrays]}")
    if b < 2:
        raise ValueError(f"adadagrad_norm_test: the sample variance needs a batch of at least 2, "
                         f"got {b}")
    return arrays, b


def adadagrad_norm_test(per_sample_grads, eta=0.1, max_batch_size=None):
    """Norm test for the next batch size (AdAdaGrad-Norm; Byrd et al.'s norm test). With the
    b per-sample gradients g_i of the current batch, ḡ their mean and
    V = Σ_j Var_j = Σ_i ‖g_i − ḡ‖²/(b − 1) (unbiased variance summed over every coordinate of
    every parameter):

        the test passes   ⇔   V/b ≤ η²·‖ḡ‖²         (Σ_i ‖g_i − ḡ‖²/((b − 1)·b) ≤ η²‖ḡ‖²)
        b_next = ⌈max(b, V/(η²‖ḡ‖²))⌉                (the batch size only grows)

    capped at ``max_batch_size`` if given. ``per_sample_grads``: a dict (as
    ``minigrad.func.per_sample_grads`` returns), a list, or one array/tensor, each of shape
    (b, ...). Edge cases: V = 0 passes (no noise); ḡ = 0 with V > 0 needs an infinite batch,
    so the result is ``max_batch_size`` (an error without one). Returns a ``NormTest``.

    η = 0.1 is the official code's default (its README also runs η = 0.5 for ResNet-18 on
    CIFAR-10); the model is then updated with AdaGrad-Norm (or AdaGrad) on the batch of size
    b_next. The paper also discusses the (augmented) inner-product test; this is the norm test.

    Paper: Lau, Liu & Kolar 2024, "AdAdaGrad: Adaptive Batch Size Schemes for Adaptive Gradient
    Methods"; the statistic and rounding follow ``norm_test`` of timlautk/AdAdaGrad ``tests.py``.
    """
    if not eta > 0:
        raise ValueError(f"adadagrad_norm_test: eta must be > 0, got {eta}")
    arrays, b = _leaves(per_sample_grads)
    if max_batch_size is not None and max_batch_size < b:
        raise ValueError(f"adadagrad_norm_test: max_batch_size {max_batch_size} is below the "
                         f"current batch size {b}")
    # the ratio is scale-free: compute it on gradients divided by their largest magnitude, so
    # that squares of huge gradients cannot overflow
    scale = max(float(backend_of_array(g).xp.abs(g).max().item()) for g in arrays)
    if not math.isfinite(scale):
        raise ValueError("adadagrad_norm_test: the per-sample gradients are not finite")
    scale = scale if scale > 0 else 1.0
    variance, grad_norm_sq = 0.0, 0.0
    for g in arrays:
        xp = backend_of_array(g).xp
        g = g.reshape(b, -1).astype(xp.float64) / scale
        mean = g.mean(axis=0)
        dev = g - mean
        variance += float((dev * dev).sum().item()) / (b - 1)
        grad_norm_sq += float((mean * mean).sum().item())
    if variance == 0:
        required = 0.0
    elif grad_norm_sq == 0:
        required = math.inf
    else:
        required = variance / (eta ** 2 * grad_norm_sq)
    passed = required <= b
    if math.isinf(required):
        if max_batch_size is None:
            raise ValueError("adadagrad_norm_test: the mean gradient is zero but the per-sample "
                             "gradients vary, so no finite batch passes the test; give "
                             "max_batch_size")
        next_b = int(max_batch_size)
    else:
        next_b = max(b, math.ceil(required))
        if max_batch_size is not None:
            next_b = min(next_b, int(max_batch_size))
    return NormTest(passed, next_b, required, variance * scale * scale,
                    grad_norm_sq * scale * scale)


register(adadagrad_norm_test, kind="optimizer", check="state", catalog_id="O042",
         papers=["AdAdaGrad: Adaptive Batch Size Schemes for Adaptive Gradient Methods"])
