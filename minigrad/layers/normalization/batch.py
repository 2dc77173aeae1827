"""Batch normalization with running statistics, train/eval modes and inference folding
(catalog N001): ``batch_norm``, ``BatchNorm1d``, ``BatchNorm2d``, ``fuse_conv_bn_eval``.
"""
import copy
import math

from minigrad.ops._checks import check_floating
from minigrad.autograd import Function
from minigrad.layers.module import Parameter
from minigrad.layers.normalization._util import RunningStatsNorm, as_dtype, standardize
from minigrad.registry import Case, register
from minigrad.tensor import Tensor


class BatchNormFn(Function):
    """Batch Normalization (Ioffe & Szegedy 2015).

    Forward, per channel c over S = (N, *spatial), n = |S|:
        μ = mean_S x,  σ² = mean_S (x − μ)² (biased),  x̂ = (x − μ)/√(σ² + ε),  y = γ x̂ + β.
    Training also moves the running statistics, outside the tape (a side effect, no
    gradient): running_mean ← (1 − m)·running_mean + m·μ and
    running_var ← (1 − m)·running_var + m·σ²·n/(n − 1) (the unbiased variance, as PyTorch).
    Evaluation uses the running statistics instead: a fixed per-channel affine map, computed
    as y = x·s + (β − μ·s) with s = γ/√(running_var + ε).

    Backward in training (the statistics depend on x). With ĝ = dy·γ and r = 1/√(σ² + ε):
        ∂x̂_j/∂x_i = r(δ_ij − 1/n − x̂_i x̂_j/n), so
        dx = r·(ĝ − mean_S ĝ − x̂·mean_S(ĝ x̂)),
    and since γ is constant over S, mean_S ĝ = γ·dβ/n and mean_S(ĝ x̂) = γ·dγ/n with
        dγ = Σ_S dy·x̂,  dβ = Σ_S dy:  dx = γr·(dy − dβ/n − x̂·dγ/n)  (one fused kernel).
    Backward in evaluation: dx = dy·γ/√(running_var + ε); dγ, dβ as above with x̂ from the
    running statistics.
    """
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        x3 = _rows(x)
        w, b = as_dtype(weight, x.dtype), as_dtype(bias, x.dtype)
        if training:
            y3, mean, var, rstd = ctx.backend.kernels("norm").batch_norm_forward(x3, w, b, eps)
            if running_mean is not None:
                n = x3.shape[0] * x3.shape[2]
                running_mean *= 1 - momentum
                running_mean += (momentum * mean).astype(running_mean.dtype, copy=False)
                running_var *= 1 - momentum
                running_var += (momentum * n / (n - 1) * var).astype(running_var.dtype, copy=False)
        else:
            mean = running_mean.astype(x.dtype, copy=False)
            rstd = 1 / ctx.xp.sqrt(running_var.astype(x.dtype, copy=False) + eps)
            scale = rstd if w is None else rstd * w
            shift = -mean * scale if b is None else b - mean * scale
            y3 = x3 * scale[:, None]        # y = x·s + (β − μ·s): two passes, as PyTorch
            y3 += shift[:, None]
        ctx.save_for_backward(x, weight, mean, rstd)
        ctx.training = training
        return y3.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        x, weight, mean, rstd = ctx.saved_tensors
        x3, gy3 = _rows(x), _rows(gy)
        w = as_dtype(weight, x.dtype)
        if ctx.training:
            dx, dw, db = ctx.backend.kernels("norm").batch_norm_backward(gy3, x3, mean, rstd, w)
        else:
            scale = rstd if w is None else rstd * w
            dx = gy3 * scale[:, None]
            needs = ctx.needs_input_grad
            dw = ((gy3 * ((x3 - mean[:, None]) * rstd[:, None])).sum(axis=(0, 2))
                  if needs[1] else None)
            db = gy3.sum(axis=(0, 2)) if needs[2] else None
        return dx.reshape(x.shape), dw, db, None, None, None, None, None

    @staticmethod
    def composite(x, weight, bias, running_mean, running_var, training, momentum, eps):
        from minigrad.tensor import Tensor
        C = x.shape[1]
        x3 = _rows(x)
        if training:                     # the batch statistics (the running ones are not moved)
            y3 = standardize(x3, (0, 2), eps)
        else:
            mean, var = (as_dtype(Tensor(s), x.dtype).reshape(1, C, 1)
                         for s in (running_mean, running_var))
            y3 = (x3 - mean) / (var + eps).sqrt()
        if weight is not None:
            y3 = y3 * as_dtype(weight, x.dtype).reshape(1, C, 1)
        if bias is not None:
            y3 = y3 + as_dtype(bias, x.dtype).reshape(1, C, 1)
        return y3.reshape(x.shape)



def _rows(a):
    """(N, C, *) as (N, C, L), L spelled out (an empty batch has no −1 to infer)."""
    return a.reshape(a.shape[0], a.shape[1], math.prod(a.shape[2:]))


def _check_channels(x, name, t):
    if t is not None and tuple(t.shape) != (x.shape[1],):
        raise ValueError(f"batch_norm: {name} of shape {tuple(t.shape)} does not match the "
                         f"{x.shape[1]} channels of an input of shape {tuple(x.shape)}")


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalization of x (N, C) or (N, C, *) per channel (PyTorch's signature).

    ``training=True`` normalizes with the batch statistics and, when ``running_mean`` and
    ``running_var`` are given, updates them in place with factor ``momentum``;
    ``training=False`` normalizes with the running statistics.

    Per channel c over S = (N, *spatial), n = |S|:
        μ = mean_S x,  σ² = mean_S (x − μ)²,  y = γ·(x − μ)/√(σ² + ε) + β,
        running_mean ← (1 − m)·running_mean + m·μ,  running_var ← (1 − m)·running_var + m·σ²·n/(n − 1).
    Backward (training): dx = γr·(dy − dβ/n − x̂·dγ/n), r = 1/√(σ² + ε), dγ = Σ_S dy·x̂,
    dβ = Σ_S dy; the derivation is in ``BatchNormFn``
    (help(minigrad.layers.normalization.batch.BatchNormFn)).
    Arguments: ``batch_norm(x, running_mean, running_var, weight=None, bias=None,
    training=False, momentum=0.1, eps=1e-5)``, as PyTorch (``momentum=None``, the cumulative
    average, is not supported).
    Paper: Ioffe & Szegedy 2015, "Batch Normalization: Accelerating Deep Network Training by
    Reducing Internal Covariate Shift".
    """
    check_floating("batch_norm", x=x)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C) or (N, C, *), "
                         f"got shape {tuple(x.shape)}")
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_channels(x, name, t)
    if training:
        if x.shape[0] * math.prod(x.shape[2:]) <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got an input of shape {tuple(x.shape)}")
    elif running_mean is None or running_var is None:
        raise ValueError("batch_norm: evaluation mode (training=False) needs running_mean "
                         "and running_var")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    y = BatchNormFn.apply(x, weight, bias, running_mean, running_var, bool(training),
                          float(momentum), float(eps))
    if training and running_mean is not None:
        running_mean._version += 1
        running_var._version += 1
    return y


# ------------------------------------------------------------------ modules
class _BatchNorm(RunningStatsNorm):
    """Shared by BatchNorm1d/2d (see ``RunningStatsNorm`` for the parameters and buffers):
    batch statistics in training, running statistics in eval."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)

    def forward(self, x):
        self._check_input(x)
        factor = self._running_average_factor()
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return batch_norm(x, self.running_mean if track else None,
                          self.running_var if track else None, self.weight, self.bias,
                          use_batch_stats, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs per channel C.

    y = γ·(x − μ_B)/√(σ²_B + ε) + β in training, running statistics in eval.
    ``BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True)``.
    Backward: ``BatchNormFn`` (see ``F.batch_norm``). Paper: Ioffe & Szegedy 2015, "Batch
    Normalization: Accelerating Deep Network Training by Reducing Internal Covariate Shift".
    """
    _expected_ndim = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs per channel C.

    y = γ·(x − μ_B)/√(σ²_B + ε) + β in training, running statistics in eval.
    ``BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True)``.
    Backward: ``BatchNormFn`` (see ``F.batch_norm``). Paper: Ioffe & Szegedy 2015, "Batch
    Normalization: Accelerating Deep Network Training by Reducing Internal Covariate Shift".
    """
    _expected_ndim = (4,)
    _layout = "(N, C, H, W)"


# ------------------------------------------------------------------ inference folding
def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """Fold an evaluation-mode BatchNorm into the conv/linear weights that precede it
    (LSNet ``Conv2d_BN.fuse``; PyTorch's ``torch.nn.utils.fusion``):
        W' = W·γ/√(running_var + ε)  (per output channel),
        b' = β + (b − running_mean)·γ/√(running_var + ε).
    Works for any weight with output channels on axis 0 (axis 1 with ``transpose``):
    Linear (out, in), Conv (out, in, *k). Returns (weight, bias) as new Parameters."""
    def arr(t):
        return t.data if isinstance(t, Tensor) else t
    W = arr(conv_w)
    xp_dtype = W.dtype
    rv, rm = arr(bn_rv).astype(xp_dtype), arr(bn_rm).astype(xp_dtype)
    from minigrad.backends import backend_of_array
    xp = backend_of_array(W).xp
    scale = 1 / xp.sqrt(rv + bn_eps)
    if bn_w is not None:
        scale = scale * arr(bn_w).astype(xp_dtype)
    shape = [1] * W.ndim
    shape[1 if transpose else 0] = -1
    b = xp.zeros_like(rm) if conv_b is None else arr(conv_b).astype(xp_dtype)
    beta = xp.zeros_like(rm) if bn_b is None else arr(bn_b).astype(xp_dtype)
    return Parameter(W * scale.reshape(shape)), Parameter((b - rm) * scale + beta)


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """``fuse_conv_bn_weights`` for a Linear (out, in) followed by BatchNorm1d(out)."""
    return fuse_conv_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b)


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of ``conv`` (any Module with ``weight`` and ``bias``, e.g. Conv2d or Linear)
    whose weights absorb the evaluation-mode ``bn`` that follows it: ``fused(x)`` equals
    ``bn(conv(x))`` in eval mode, with one op less at inference."""
    if conv.training or bn.training:
        raise ValueError("fuse_conv_bn_eval: both modules must be in eval mode (call .eval())")
    if bn.running_mean is None:
        raise ValueError("fuse_conv_bn_eval: the BatchNorm has no running statistics "
                         "(track_running_stats=False), so it is not an affine map to fold")
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        conv.weight, getattr(conv, "bias", None), bn.running_mean, bn.running_var, bn.eps,
        bn.weight, bn.bias, transpose)
    return fused


fuse_linear_bn_eval = fuse_conv_bn_eval


# ------------------------------------------------------------------ registry
PAPERS = [
    "Batch Normalization: Accelerating Deep Network Training by Reducing Internal Covariate Shift",
    "Training BatchNorm and Only BatchNorm: On the Expressive Power of Random Features in CNNs",
    "Layer Normalization", "PowerNorm: Rethinking Batch Normalization in Transformers",
    "Two at Once: Enhancing Learning and Generalization Capacities via IBN-Net",
    "Fast Certified Robust Training with Short Warmup",
    "Deep Residual Learning for Image Recognition", "Identity Mappings in Deep Residual Networks",
    "Wide Residual Networks",
    "Self-Labeling Refinement for Robust Representation Learning with Bootstrap Your Own Latent",
    "Characterizing signal propagation to close the performance gap in unnormalized ResNets",
    "Overcoming Recency Bias of Normalization Statistics in Continual Learning: Balance and Adaptation",
    "LSNet: See Large, Focus Small",
    "BigNAS: Scaling Up Neural Architecture Search with Big Single-Stage Models",
    "AdamP: Slowing Down the Slowdown for Momentum Optimizers on Scale-invariant Weights",
]


def _register():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    pos = lambda r, *s: r.uniform(0.5, 2.0, s)  # noqa: E731
    register(batch_norm, kind="normalization", catalog_id="N001", module=BatchNorm2d,
             papers=PAPERS,
             inputs=lambda r: [
                 Case(n(r, 5, 3), None, None, pos(r, 3), n(r, 3), training=True),
                 Case(n(r, 3, 2, 4), None, None, pos(r, 2), n(r, 2), training=True),
                 Case(n(r, 3, 2, 2, 2), None, None, pos(r, 2), n(r, 2), training=True),
                 Case(n(r, 4, 3) * 2 + 1, None, None, training=True),
                 # evaluation mode: positions 1, 2 are the running statistics (constants)
                 Case(n(r, 3, 2, 4), n(r, 2), pos(r, 2), pos(r, 2), n(r, 2), training=False,
                      wrt=(0, 3, 4)),
             ])


_register()
