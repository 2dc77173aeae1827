"""L1 (mean-absolute-deviation) normalization, batch and layer forms (catalog N017):
``l1_deviation_norm``, ``L1BatchNorm1d``, ``L1BatchNorm2d``, ``L1LayerNorm``.

BatchNorm / LayerNorm with the L2 standard deviation replaced by the mean absolute
deviation, the normalization layer of integer (quantized) training: only absolute values,
signs and sums, no square root.
"""
import math

from minigrad.autograd import Function
from minigrad.creation import ones, zeros
from minigrad.layers.module import Module, Parameter
from minigrad.layers.normalization._util import RunningStatsNorm, as_dtype
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register

__all__ = ["l1_deviation_norm", "L1BatchNorm1d", "L1BatchNorm2d", "L1LayerNorm"]

SQRT_HALF_PI = math.sqrt(math.pi / 2)


def _view(x, F):
    """(N, C, *) as (N, C, L) with statistics over axes (0, 2) and parameters on axis 1
    (batch form, F None), or (M, F) with statistics over axis 1 and parameters on axis 1
    (layer form)."""
    if F is None:
        return x.reshape(x.shape[0], x.shape[1], math.prod(x.shape[2:])), (0, 2), (0, 2)
    return x.reshape(math.prod(x.shape) // F, F), (1,), (0,)


class L1DeviationNormFn(Function):
    """L1 normalization (Wu et al. 2018, L1-BN; Guo et al. 2024, fully quantized L1
    normalization layers).

    Forward over the statistics set S (per channel over (N, *) in the batch form, per row
    over the normalized axes in the layer form), n = |S|, k = ``scale``:
        μ = mean_S x,  d = mean_S |x − μ|,  D = k·d + ε,  x̂ = (x − μ)/D,  y = γ·x̂ + β.
    (k = √(π/2) makes k·d the standard deviation of a Gaussian.) Batch-form training moves
    running_mean ← (1 − m)·running_mean + m·μ and running_dev ← (1 − m)·running_dev + m·d;
    evaluation uses μ = running_mean, d = running_dev (an affine map).

    Backward, ĝ = dy·γ, s = sign(x − μ): ∂μ/∂x_i = 1/n and
    ∂d/∂x_i = (1/n)·Σ_j s_j(δ_ij − 1/n) = (s_i − mean_S s)/n, so
        ∂x̂_j/∂x_i = (δ_ij − 1/n)/D − x̂_j·k·(s_i − mean_S s)/(n·D), and
        dx = (1/D)·(ĝ − mean_S ĝ) − (k/D)·mean_S(ĝ x̂)·(s − mean_S s);
        dγ = Σ dy·x̂,  dβ = Σ dy (over the axes γ is shared across). Evaluation: dx = ĝ/D.
    |·| has a kink at x = μ (s = 0 there), where this is the one-sided average.
    """
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_dev, training, momentum, eps,
                scale, F):
        xp = ctx.xp
        v, axes, paxes = _view(x, F)
        pshape = (1, v.shape[1], 1) if F is None else (1, F)
        if training:
            mu = v.mean(axis=axes, keepdims=True)
            c = v - mu
            d = xp.abs(c).mean(axis=axes, keepdims=True)
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += (momentum * mu.reshape(-1)).astype(running_mean.dtype, copy=False)
                running_dev *= 1 - momentum
                running_dev += (momentum * d.reshape(-1)).astype(running_dev.dtype, copy=False)
        else:
            mu = running_mean.astype(x.dtype, copy=False).reshape(pshape)
            d = running_dev.astype(x.dtype, copy=False).reshape(pshape)
            c = v - mu
        D = scale * d + eps
        xhat = c / D
        y = xhat
        if weight is not None:
            y = y * as_dtype(weight, x.dtype).reshape(pshape)
        if bias is not None:
            y = y + as_dtype(bias, x.dtype).reshape(pshape)
        ctx.save_for_backward(x, weight, mu, D)
        ctx.args = (training, scale, F, axes, paxes, pshape)
        ctx.bias_shape = None if bias is None else bias.shape
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        x, weight, mu, D = ctx.saved_tensors
        training, scale, F, axes, paxes, pshape = ctx.args
        xp = ctx.xp
        v, _, _ = _view(x, F)
        g3, _, _ = _view(gy, F)
        c = v - mu
        xhat = c / D
        g = g3 if weight is None else g3 * as_dtype(weight, x.dtype).reshape(pshape)
        if training:
            s = xp.sign(c)
            dx = ((g - g.mean(axis=axes, keepdims=True))
                  - scale * (g * xhat).mean(axis=axes, keepdims=True)
                  * (s - s.mean(axis=axes, keepdims=True))) / D
        else:
            dx = g / D
        needs = ctx.needs_input_grad
        dw = (g3 * xhat).sum(axis=paxes).reshape(weight.shape) if needs[1] else None
        db = g3.sum(axis=paxes).reshape(ctx.bias_shape) if needs[2] else None
        return dx.reshape(x.shape), dw, db, None, None, None, None, None, None, None

    @staticmethod
    def composite(x, weight, bias, running_mean, running_dev, training, momentum, eps, scale, F):
        from minigrad.tensor import Tensor
        v, axes, _ = _view(x, F)
        pshape = (1, v.shape[1], 1) if F is None else (1, F)
        if training:                      # the batch statistics (running ones not moved)
            mu = v.mean(axis=axes, keepdims=True)
            d = (v - mu).abs().mean(axis=axes, keepdims=True)
        else:
            mu, d = (as_dtype(Tensor(s), x.dtype).reshape(pshape) for s in (running_mean, running_dev))
        y = (v - mu) / (d * scale + eps)
        if weight is not None:
            y = y * as_dtype(weight, x.dtype).reshape(pshape)
        if bias is not None:
            y = y + as_dtype(bias, x.dtype).reshape(pshape)
        return y.reshape(x.shape)


def l1_deviation_norm(x, running_mean=None, running_dev=None, weight=None, bias=None,
                      training=False, momentum=0.1, eps=1e-5, normalized_shape=None,
                      scale=SQRT_HALF_PI):
    """L1 (mean-absolute-deviation) normalization: BatchNorm (``normalized_shape=None``, per
    channel over (N, *spatial), with running statistics) or LayerNorm (per sample over the
    trailing ``normalized_shape`` axes) with the standard deviation replaced by k·d.

    μ = mean_S x,  d = mean_S |x − μ|,  y = γ·(x − μ)/(k·d + ε) + β,  k = ``scale`` = √(π/2);
    batch form, training: running_mean ← (1 − m)·running_mean + m·μ,
    running_dev ← (1 − m)·running_dev + m·d; evaluation uses the running values.
    Backward: dx = (1/D)·(ĝ − mean ĝ) − (k/D)·mean(ĝ x̂)·(s − mean s), s = sign(x − μ),
    D = k·d + ε, ĝ = dy·γ; derivation in ``L1DeviationNormFn``
    (help(minigrad.layers.normalization.l1_deviation.L1DeviationNormFn)).

    Arguments: ``l1_deviation_norm(x, running_mean=None, running_dev=None, weight=None,
    bias=None, training=False, momentum=0.1, eps=1e-5, normalized_shape=None,
    scale=√(π/2))``. The constant k = √(π/2) is L1-BN's (Wu et al. 2018: it makes k·d ≈ σ for
    Gaussian activations); pass ``scale=1.0`` for the bare mean absolute deviation. The
    running deviation is not bias-corrected (no Bessel factor exists for it).
    Formula: reconstructed (no code published; the paper's Section 4 text was not reachable
    here): L1-BN's normalization (Wu et al. 2018) in the batch and layer forms the paper
    names (L1-BN / L1-LN), as catalog row N017 writes it.
    Paper: Guo, Liu, Xie et al. 2024, "Towards Accurate and Efficient Sub-8-Bit Integer
    Training" (L1 normalization of Wu, Li, Deng et al. 2018, "L1-Norm Batch Normalization
    for Efficient Training of Deep Neural Networks").
    """
    op = "l1_deviation_norm"
    check_floating(op, x=x)
    if normalized_shape is not None:
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        if not shape or x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape):]) != shape:
            raise ValueError(f"{op}: normalized_shape {shape} does not match the last axes of "
                             f"an input of shape {tuple(x.shape)}")
        if running_mean is not None or running_dev is not None:
            raise ValueError(f"{op}: the layer form (normalized_shape given) has no running statistics")
        for name, t in (("weight", weight), ("bias", bias)):
            if t is not None and tuple(t.shape) != shape:
                raise ValueError(f"{op}: {name} of shape {tuple(t.shape)} does not match "
                                 f"normalized_shape {shape}")
        F = math.prod(shape)
        if F <= 1:
            raise ValueError(f"{op}: normalizing over a single value always gives 0 "
                             f"(normalized_shape {shape})")
        train = True
    else:
        if x.ndim < 2:
            raise ValueError(f"{op}: expected an input of shape (N, C) or (N, C, *), got "
                             f"shape {tuple(x.shape)}")
        for name, t in (("running_mean", running_mean), ("running_dev", running_dev),
                        ("weight", weight), ("bias", bias)):
            if t is not None and tuple(t.shape) != (x.shape[1],):
                raise ValueError(f"{op}: {name} of shape {tuple(t.shape)} does not match the "
                                 f"{x.shape[1]} channels of an input of shape {tuple(x.shape)}")
        if (running_mean is None) != (running_dev is None):
            raise ValueError(f"{op}: give both running_mean and running_dev, or neither")
        if training and x.shape[0] * math.prod(x.shape[2:]) <= 1:
            raise ValueError(f"{op}: expected more than 1 value per channel when training, "
                             f"got an input of shape {tuple(x.shape)}")
        if not training and running_mean is None:
            raise ValueError(f"{op}: evaluation mode (training=False) needs running_mean and "
                             "running_dev")
        F, train = None, bool(training)
    y = L1DeviationNormFn.apply(x, weight, bias, running_mean, running_dev, train,
                                float(momentum), float(eps), float(scale), F)
    if train and running_mean is not None:
        running_mean._version += 1
        running_dev._version += 1
    return y


# ------------------------------------------------------------------ modules
class _L1BatchNorm(RunningStatsNorm):
    """BatchNorm's parameters and running-statistics contract with a running mean absolute
    deviation ``running_dev`` (init √(2/π), so that k·running_dev = 1 like BN's unit
    variance) in place of ``running_var``."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, scale=SQRT_HALF_PI):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        self.scale = float(scale)
        del self.running_var
        self.register_buffer("running_dev", ones(num_features) * (1 / self.scale)
                             if track_running_stats else None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_dev.data[...] = 1 / self.scale
            self.num_batches_tracked.zero_()

    def forward(self, x):
        self._check_input(x)
        factor = self._running_average_factor()
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return l1_deviation_norm(x, self.running_mean if track else None,
                                 self.running_dev if track else None, self.weight, self.bias,
                                 use_batch_stats, factor, self.eps, None, self.scale)


class L1BatchNorm1d(_L1BatchNorm):
    """L1 batch normalization of (N, C) or (N, C, L) inputs per channel C.

    y = γ·(x − μ_B)/(k·d_B + ε) + β, d_B = mean_B |x − μ_B|, k = √(π/2); running statistics
    in eval. ``L1BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True,
    track_running_stats=True, scale=√(π/2))``. Backward: ``L1DeviationNormFn`` (see
    ``F.l1_deviation_norm``). Paper: Guo, Liu, Xie et al. 2024, "Towards Accurate and
    Efficient Sub-8-Bit Integer Training".
    """
    _expected_ndim = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class L1BatchNorm2d(_L1BatchNorm):
    """L1 batch normalization of (N, C, H, W) inputs per channel C.

    y = γ·(x − μ_B)/(k·d_B + ε) + β, d_B = mean_B |x − μ_B|, k = √(π/2); running statistics
    in eval. ``L1BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True,
    track_running_stats=True, scale=√(π/2))``. Backward: ``L1DeviationNormFn`` (see
    ``F.l1_deviation_norm``). Paper: Guo, Liu, Xie et al. 2024, "Towards Accurate and
    Efficient Sub-8-Bit Integer Training".
    """
    _expected_ndim = (4,)
    _layout = "(N, C, H, W)"


class L1LayerNorm(Module):
    """L1 layer normalization over the trailing ``normalized_shape`` axes.

    y = γ·(x − μ)/(k·d + ε) + β per sample, d = mean |x − μ|, k = √(π/2).
    ``L1LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, scale=√(π/2))``.
    Backward: ``L1DeviationNormFn`` (see ``F.l1_deviation_norm``). Paper: Guo, Liu, Xie et
    al. 2024, "Towards Accurate and Efficient Sub-8-Bit Integer Training".
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, scale=SQRT_HALF_PI):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.scale = shape, eps, float(scale)
        if elementwise_affine:
            self.weight = Parameter(ones(*shape))
            self.bias = Parameter(zeros(*shape))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return l1_deviation_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps,
                                 self.normalized_shape, self.scale)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, scale={self.scale:.6g}"


# ------------------------------------------------------------------ registry
def _register():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    pos = lambda r, *s: r.uniform(0.5, 2.0, s)  # noqa: E731
    register(l1_deviation_norm, kind="normalization", catalog_id="N017", module=L1BatchNorm2d,
             papers=["Towards Accurate and Efficient Sub-8-Bit Integer Training"],
             inputs=lambda r: [
                 Case(n(r, 5, 3), None, None, pos(r, 3), n(r, 3), training=True),
                 Case(n(r, 3, 2, 4), None, None, pos(r, 2), n(r, 2), training=True),
                 Case(n(r, 2, 2, 2, 2) * 2 + 1, None, None, training=True, scale=1.0),
                 Case(n(r, 3, 2, 4), n(r, 2), pos(r, 2), pos(r, 2), n(r, 2), training=False,
                      wrt=(0, 3, 4)),
                 # layer form over the last axis / the last two axes
                 Case(n(r, 3, 5), None, None, pos(r, 5), n(r, 5), normalized_shape=5),
                 Case(n(r, 2, 2, 3), None, None, pos(r, 2, 3), n(r, 2, 3),
                      normalized_shape=(2, 3)),
             ])


_register()
