"""LayerNorm replacements of the transformer papers: ScaleNorm / FixNorm (catalog N024),
RescaleNorm (RLN, DehazeFormer, N026), Dynamic Tanh (DyT, N031) and Elementwise Layer
Normalization (ELN / DyISRU, N032). Where they sit in a block (QK-Norm, DeepNorm,
NormFormer, Peri-LN, nGPT) is in ``transformer_blocks.py``.

Every backward is written once on arrays with operators and ``ctx.xp`` functions that
``minigrad/ops/tensor_xp.py`` has, saving only inputs, so it also runs on tensors
(``differentiable_backward``) and gives second derivatives.
"""
import math

from minigrad.autograd import Function
from minigrad.creation import ones, zeros
from minigrad.layers import init
from minigrad.layers.module import Module, Parameter
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["scale_norm", "rescale_norm", "dyt", "elementwise_layer_norm"]


def _data(t):
    return t.data if isinstance(t, Tensor) else t


# ------------------------------------------------------------------ ScaleNorm
class ScaleNormFn(Function):
    """ScaleNorm (Nguyen & Salazar 2019), ``layers.py`` of tnq177/transformers_without_tears:
    y = g·x/max(‖x‖₂, ε) along the last axis, g a learnable scalar.

    Backward, with x̂ = x/d, d = max(‖x‖, ε): for ‖x‖ > ε, ∂x̂_i/∂x_j = (δ_ij − x̂_i x̂_j)/d,
    so dx = g·(dy − x̂·Σ_j dy_j x̂_j)/d; in the clamped branch d = ε is a constant and
    dx = g·dy/ε. dg = Σ dy·x̂ (over every element: g is one scalar, or summed to its shape).
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, g, eps):
        xp = ctx.xp
        raw = ScaleNormFn._norm(xp, x)
        ctx.save_for_backward(x, g, raw <= eps)
        ctx.eps = eps
        return g * (x / xp.maximum(raw, eps))

    @staticmethod
    def backward(ctx, gy):
        x, g, clamped = ctx.saved_tensors
        xp = ctx.xp
        d = xp.maximum(ScaleNormFn._norm(xp, x), ctx.eps)
        xh = x / d
        s = (gy * xh).sum(axis=-1, keepdims=True)
        dx = g * (gy - xh * s * xp.logical_not(clamped)) / d
        return dx, gy * xh, None

    @staticmethod
    def _norm(xp, x):
        """‖x‖ along the last axis as a·‖x/a‖, a = max|x|: x² would overflow float32 for
        |x| > 1.8e19 and give the wrong answer y = 0."""
        a = xp.maximum(xp.abs(x).max(axis=-1, keepdims=True), xp.finfo(x.dtype).tiny)
        u = x / a
        return a * xp.sqrt((u * u).sum(axis=-1, keepdims=True))


def scale_norm(x, scale, eps=1e-5):
    """ScaleNorm: x projected to the sphere of radius ``scale`` (a learnable scalar g,
    init √d in ``ScaleNorm``) along the last axis.

    y = g·x/max(‖x‖₂, ε)
    Backward: dx = g·(dy − x̂⟨dy, x̂⟩)/‖x‖, dg = Σ dy·x̂ (``ScaleNormFn``,
    help(minigrad.layers.normalization.transformer_norms.ScaleNormFn)).
    ``scale_norm(x, scale, eps=1e-5)``: ``scale`` a tensor (scalar or broadcastable) or a float
    (FixNorm: a fixed length, e.g. for word embeddings). ε = 1e-5 clamps the norm as the
    official code does.
    Paper: Nguyen & Salazar 2019, "Transformers without Tears: Improving the Normalization of
    Self-Attention".
    """
    check_floating("scale_norm", x=x)
    if x.ndim < 1:
        raise ValueError(f"scale_norm: expected an input with a feature axis, got shape {x.shape}")
    if not isinstance(scale, Tensor):
        from minigrad.backends import backend_of_array
        scale = Tensor._wrap(backend_of_array(x.data).asarray(float(scale), dtype=x.dtype))
    return ScaleNormFn.apply(x, scale, float(eps))


class ScaleNorm(Module):
    """ScaleNorm over the last axis with one learnable scalar g, init √d
    (``ScaleNorm(d, eps=1e-5, scale=None)``; ``scale`` overrides the init;
    ``learnable=False`` gives FixNorm's fixed length).

    y = g·x/max(‖x‖, ε); see ``F.scale_norm``.
    Paper: Nguyen & Salazar 2019, "Transformers without Tears: Improving the Normalization of
    Self-Attention".
    """

    def __init__(self, d, eps=1e-5, scale=None, learnable=True):
        super().__init__()
        self.d, self.eps, self.learnable = d, eps, learnable
        value = math.sqrt(d) if scale is None else float(scale)
        if learnable:
            self.scale = Parameter(ones(()) * value)
        else:
            self.value = value

    def forward(self, x):
        if x.shape[-1] != self.d:
            raise ValueError(f"ScaleNorm({self.d}): input of shape {tuple(x.shape)} has "
                             f"{x.shape[-1]} features on the last axis")
        return scale_norm(x, self.scale if self.learnable else self.value, self.eps)

    def extra_repr(self):
        return f"{self.d}, eps={self.eps}, learnable={self.learnable}"


# ------------------------------------------------------------------ RescaleNorm (RLN)
class RescaleNormFn(Function):
    """Rescale-Norm (RLN) of DehazeFormer (Song et al. 2023; IDKiro/DehazeFormer
    models/dehazeformer.py, class RLN). Per sample n over all non-batch axes (M elements):
        μ = mean x,  σ = √(mean (x − μ)² + ε),  x̂ = (x − μ)/σ,
        out = γ_c·x̂ + β_c,  rescale = W1_c·σ + B1_c,  rebias = W2_c·μ + B2_c
    (rescale/rebias: the 1×1 convolutions "meta1/meta2" from the 1-channel σ, μ to C channels).

    Backward: with ĝ = d_out·γ, the LayerNorm part dx = (ĝ − mean ĝ − x̂·mean(ĝ x̂))/σ; the
    statistics also reach rescale/rebias: dσ_n = Σ_c d_rescale·W1_c, dμ_n = Σ_c d_rebias·W2_c,
    and ∂σ/∂x_i = x̂_i/M, ∂μ/∂x_i = 1/M, so dx += (dσ·x̂ + dμ)/M. ``detach`` (the paper's
    detach_grad) cuts that second path: dσ = dμ = 0 into x (W, B still get theirs).
    dγ = Σ d_out·x̂, dβ = Σ d_out, dW1 = Σ d_rescale·σ, dB1 = Σ d_rescale, dW2 = Σ d_rebias·μ,
    dB2 = Σ d_rebias (sums over the broadcast axes, done by the engine).
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, weight, bias, w1, b1, w2, b2, eps, detach):
        xp = ctx.xp
        axes = tuple(range(1, x.ndim))
        mu = x.mean(axis=axes, keepdims=True)
        sigma = xp.sqrt(((x - mu) ** 2).mean(axis=axes, keepdims=True) + eps)
        ctx.save_for_backward(x, weight, w1, w2)
        ctx.eps, ctx.detach = eps, detach
        return (weight * ((x - mu) / sigma) + bias, w1 * sigma + b1, w2 * mu + b2)

    @staticmethod
    def backward(ctx, g_out, g_rs, g_rb):
        x, weight, w1, w2 = ctx.saved_tensors
        xp = ctx.xp
        axes = tuple(range(1, x.ndim))
        m = math.prod(x.shape[1:])
        mu = x.sum(axis=axes, keepdims=True) / m
        c = x - mu
        sigma = xp.sqrt((c * c).sum(axis=axes, keepdims=True) / m + ctx.eps)
        xh = c / sigma
        dx = dw = db = dw1 = db1 = dw2 = db2 = None
        if g_out is not None:
            gh = g_out * weight
            dx = (gh - gh.sum(axis=axes, keepdims=True) / m
                  - xh * (gh * xh).sum(axis=axes, keepdims=True) / m) / sigma
            dw, db = g_out * xh, g_out
        if g_rs is not None:
            dw1, db1 = g_rs * sigma, g_rs
            if not ctx.detach:
                ds = (g_rs * w1).sum(axis=axes, keepdims=True)
                dx = ds * xh / m if dx is None else dx + ds * xh / m
        if g_rb is not None:
            dw2, db2 = g_rb * mu, g_rb
            if not ctx.detach:
                dm = (g_rb * w2).sum(axis=axes, keepdims=True) / m
                dx = dm + 0 * x if dx is None else dx + dm
        return dx, dw, db, dw1, db1, dw2, db2, None, None


def _channel(t, ndim, op, name, channels):
    """A per-channel parameter (C,) shaped (1, C, 1, ...) to broadcast over an (N, C, ...) input."""
    if tuple(t.shape) != (channels,):
        raise ValueError(f"{op}: {name} of shape {tuple(t.shape)}, expected ({channels},)")
    return t.reshape((1, channels) + (1,) * (ndim - 2))


def rescale_norm(x, weight, bias, meta1_weight, meta1_bias, meta2_weight, meta2_bias,
                 eps=1e-5, detach_grad=False):
    """Rescale-Norm (RLN): layer normalization over every non-batch axis of an (N, C, ...)
    input that also returns the stripped statistics, mapped to C channels, so the block can
    restore them after its body F: ``block(x) = F(out)·rescale + rebias``.

    μ, σ = mean and √(var + ε) per sample;  out = γ⊙(x − μ)/σ + β;
    rescale = W1⊙σ + B1;  rebias = W2⊙μ + B2   (all parameters of shape (C,))
    Backward: ``RescaleNormFn`` (help(minigrad.layers.normalization.transformer_norms.RescaleNormFn));
    ``detach_grad=True`` stops the gradient through μ, σ into the rescale/rebias branch
    (a stop-gradient variant, as the paper's option). Returns ``(out, rescale, rebias)``,
    rescale and rebias of shape (N, C, 1, ...).
    ``rescale_norm(x, weight, bias, meta1_weight, meta1_bias, meta2_weight, meta2_bias,
    eps=1e-5, detach_grad=False)``.
    Paper: Song, He, Qian & Du 2023, "Vision Transformers for Single Image Dehazing".
    """
    check_floating("rescale_norm", x=x)
    if x.ndim < 2:
        raise ValueError(f"rescale_norm: expected an input (N, C, ...), got shape {tuple(x.shape)}")
    c = x.shape[1]
    params = [_channel(t, x.ndim, "rescale_norm", n, c) for t, n in
              ((weight, "weight"), (bias, "bias"), (meta1_weight, "meta1_weight"),
               (meta1_bias, "meta1_bias"), (meta2_weight, "meta2_weight"),
               (meta2_bias, "meta2_bias"))]
    return RescaleNormFn.apply(x, *params, float(eps), bool(detach_grad))


class RescaleNorm(Module):
    """Rescale-Norm (RLN) for (N, C, ...) inputs, DehazeFormer's LayerNorm replacement:
    γ (init 1), β (init 0), meta1 weight ~ trunc-normal(std 0.02) with bias 1, meta2 weight
    ~ trunc-normal(std 0.02) with bias 0 (the 1×1 convolutions of the official code, stored
    as (C,) vectors). ``RescaleNorm(dim, eps=1e-5, detach_grad=False)``; forward returns
    ``(out, rescale, rebias)``: multiply the block body's output by rescale, add rebias.

    out = γ⊙(x − μ)/σ + β, rescale = W1⊙σ + B1, rebias = W2⊙μ + B2; see ``F.rescale_norm``.
    Paper: Song, He, Qian & Du 2023, "Vision Transformers for Single Image Dehazing".
    """

    def __init__(self, dim, eps=1e-5, detach_grad=False):
        super().__init__()
        self.dim, self.eps, self.detach_grad = dim, eps, detach_grad
        self.weight = Parameter(ones(dim))
        self.bias = Parameter(zeros(dim))
        self.meta1_weight = Parameter(zeros(dim))
        self.meta1_bias = Parameter(ones(dim))
        self.meta2_weight = Parameter(zeros(dim))
        self.meta2_bias = Parameter(zeros(dim))
        init.trunc_normal_(self.meta1_weight, std=0.02)
        init.trunc_normal_(self.meta2_weight, std=0.02)

    def forward(self, x):
        return rescale_norm(x, self.weight, self.bias, self.meta1_weight, self.meta1_bias,
                            self.meta2_weight, self.meta2_bias, self.eps, self.detach_grad)

    def extra_repr(self):
        return f"{self.dim}, eps={self.eps}, detach_grad={self.detach_grad}"


# ------------------------------------------------------------------ DyT
class DyTFn(Function):
    """Dynamic Tanh (Zhu, Chen, He, LeCun & Liu 2025; facebookresearch/DynamicTanh
    dynamic_tanh.py): y = γ⊙tanh(α·x) + β, α a learnable scalar.

    Backward, with t = tanh(αx) and dt = dy·γ: d tanh(u)/du = 1 − t², so
        dx = dt·α·(1 − t²),  dα = Σ dt·x·(1 − t²),  dγ = Σ dy·t,  dβ = Σ dy
    (the sums over the broadcast axes are done by the engine).
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, alpha, weight, bias):
        t = ctx.xp.tanh(alpha * x)
        ctx.save_for_backward(x, alpha, weight)
        y = t if weight is None else t * weight
        return y if bias is None else y + bias

    @staticmethod
    def backward(ctx, gy):
        x, alpha, weight = ctx.saved_tensors
        t = ctx.xp.tanh(alpha * x)
        dt = gy if weight is None else gy * weight
        u = dt * (1 - t * t)
        return (u * alpha, u * x, None if weight is None else gy * t, gy)


def dyt(x, alpha, weight=None, bias=None, channels_last=True):
    """Dynamic Tanh, an element-wise replacement of LayerNorm (no statistics).

    y = γ⊙tanh(α·x) + β
    Backward: dx = dy·γ·α(1 − t²), dα = Σ dy·γ·x(1 − t²), t = tanh(αx) (``DyTFn``,
    help(minigrad.layers.normalization.transformer_norms.DyTFn)).
    ``dyt(x, alpha, weight=None, bias=None, channels_last=True)``: ``alpha`` a scalar tensor,
    ``weight``/``bias`` (C,) over the last axis (``channels_last``) or axis 1 (NCHW).
    Paper: Zhu, Chen, He, LeCun & Liu 2025, "Transformers without Normalization".
    """
    check_floating("dyt", x=x)
    c = x.shape[-1] if channels_last else (x.shape[1] if x.ndim > 1 else None)
    shaped = []
    for t, n in ((weight, "weight"), (bias, "bias")):
        if t is None:
            shaped.append(None)
            continue
        if tuple(t.shape) != (c,):
            raise ValueError(f"dyt: {n} of shape {tuple(t.shape)} does not match the {c} "
                             f"channels of an input of shape {tuple(x.shape)}")
        shaped.append(t if channels_last else t.reshape((c,) + (1,) * (x.ndim - 2)))
    return DyTFn.apply(x, alpha, *shaped)


class DyT(Module):
    """Dynamic Tanh: ``DyT(normalized_shape, channels_last=True, alpha_init_value=0.5)``,
    α a scalar (init α₀; the paper uses other α₀ for the attention, FFN and final norms of
    LLMs), γ = 1 and β = 0 per channel.

    y = γ⊙tanh(α·x) + β; see ``F.dyt``.
    Paper: Zhu, Chen, He, LeCun & Liu 2025, "Transformers without Normalization".
    """

    def __init__(self, normalized_shape, channels_last=True, alpha_init_value=0.5):
        super().__init__()
        self.normalized_shape, self.channels_last = normalized_shape, channels_last
        self.alpha_init_value = alpha_init_value
        self.alpha = Parameter(ones(()) * alpha_init_value)
        self.weight = Parameter(ones(normalized_shape))
        self.bias = Parameter(zeros(normalized_shape))

    def forward(self, x):
        return dyt(x, self.alpha, self.weight, self.bias, self.channels_last)

    def extra_repr(self):
        return (f"{self.normalized_shape}, channels_last={self.channels_last}, "
                f"alpha_init_value={self.alpha_init_value}")


# ------------------------------------------------------------------ ELN / DyISRU
class ElementwiseLayerNormFn(Function):
    """Elementwise Layer Normalization, renamed Dynamic Inverse Square Root Unit (DyISRU) in
    v2+ of Stollenwerk 2025 (arXiv 2503.21708): the exact element-wise counterpart of
    RMSNorm over C channels, y_i = √C·x_i/√(β + x_i²), then a per-channel affine γ, b.

    Computed as t·q with m = max(|x|, √β), t = x/m, q = 1/√(β/m² + t²) (the same value;
    x² would overflow float32 for |x| > 1.8e19). Backward, with s = β + x² and dx̃ = dy·γ:
        ∂x̃/∂x = √C·(s − x²)/s^{3/2} = √C·β/s^{3/2},  ∂x̃/∂β = −√C·x/(2 s^{3/2}),
        dγ = Σ dy·x̃, db = Σ dy.
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, beta, weight, bias):
        c = math.sqrt(x.shape[-1])
        t, q, m = ElementwiseLayerNormFn._scaled(ctx.xp, x, beta)
        y = c * t * q
        ctx.save_for_backward(x, beta, weight)
        if weight is not None:
            y = y * weight
        return y if bias is None else y + bias

    @staticmethod
    def backward(ctx, gy):
        x, beta, weight = ctx.saved_tensors
        c = math.sqrt(x.shape[-1])
        t, q, m = ElementwiseLayerNormFn._scaled(ctx.xp, x, beta)
        r = q / m                                    # 1/√(β + x²), without overflow
        dxt = gy if weight is None else gy * weight
        r3 = c * r * r * r
        return (dxt * beta * r3, -0.5 * c * dxt * t * (q / m) * (q * q / m),
                None if weight is None else gy * (c * t * q), gy)

    @staticmethod
    def _scaled(xp, x, beta):
        """x/√(β + x²) = t·q with m = max(|x|, √β), t = x/m, q = 1/√((√β/m)² + t²): no x² that
        overflows (|x| ~ 1e20 in float32) and no 0/0."""
        sb = xp.sqrt(beta)
        m = xp.maximum(xp.abs(x), sb)
        t, u = x / m, sb / m
        return t, 1 / xp.sqrt(u * u + t * t), m


def elementwise_layer_norm(x, beta, weight=None, bias=None):
    """Elementwise Layer Normalization (ELN; DyISRU in the paper's later versions): RMSNorm
    over the last axis (C channels) made element-wise, each x_i standing in for the whole
    row's energy through the learnable β > 0 (β ≈ Σ_{k≠i} x_k², so β₀ = C suits unit-variance
    inputs; ``ElementwiseLayerNorm`` starts there).

    y = γ⊙√C·x/√(β + x²) + b      (saturates at ±√C·γ; the identity times √(C/β) near 0)
    Backward: dx = dy·γ·√C·β/(β + x²)^{3/2}, dβ = −Σ dy·γ·√C·x/(2(β + x²)^{3/2})
    (``ElementwiseLayerNormFn``,
    help(minigrad.layers.normalization.transformer_norms.ElementwiseLayerNormFn)).
    ``elementwise_layer_norm(x, beta, weight=None, bias=None)``: β a positive scalar tensor
    (non-positive β raises: β ≤ 0 gives 0/0 at x = 0). Form: the RMSNorm-derived √C version
    of arXiv v3 (DyISRU); v1's Eq. 15 (LN-derived, √(C − 1)) is not implemented. An α
    scaling of x is redundant (α x/√(β + α²x²) = x/√(β/α² + x²)) and left out.
    Paper: Stollenwerk 2025, "Elementwise Layer Normalization".
    """
    check_floating("elementwise_layer_norm", x=x)
    if x.ndim < 1:
        raise ValueError("elementwise_layer_norm: expected an input with a channel axis, "
                         f"got shape {tuple(x.shape)}")
    from minigrad.backends import to_numpy
    b = to_numpy(_data(beta))
    if not bool((b > 0).all()):
        raise ValueError(f"elementwise_layer_norm: beta must be positive, got {b}")
    for t, n in ((weight, "weight"), (bias, "bias")):
        if t is not None and tuple(t.shape) != (x.shape[-1],):
            raise ValueError(f"elementwise_layer_norm: {n} of shape {tuple(t.shape)} does not "
                             f"match the last axis of an input of shape {tuple(x.shape)}")
    return ElementwiseLayerNormFn.apply(x, beta, weight, bias)


class ElementwiseLayerNorm(Module):
    """Elementwise Layer Normalization / DyISRU over the last axis:
    ``ElementwiseLayerNorm(normalized_shape, beta_init=None)``, β a learnable scalar
    (init C = ``normalized_shape`` unless given: our choice, the paper gives none), γ = 1,
    b = 0 per channel.

    y = γ⊙√C·x/√(β + x²) + b; see ``F.elementwise_layer_norm``.
    Paper: Stollenwerk 2025, "Elementwise Layer Normalization".
    """

    def __init__(self, normalized_shape, beta_init=None):
        super().__init__()
        self.normalized_shape = normalized_shape
        self.beta = Parameter(ones(()) * float(normalized_shape if beta_init is None else beta_init))
        self.weight = Parameter(ones(normalized_shape))
        self.bias = Parameter(zeros(normalized_shape))

    def forward(self, x):
        return elementwise_layer_norm(x, self.beta, self.weight, self.bias)

    def extra_repr(self):
        return f"{self.normalized_shape}"


# ------------------------------------------------------------------ registry
def _rescale_block(x, weight, bias, w1, b1, w2, b2, detach_grad=False):
    """What the checks differentiate: DehazeFormer's use, out·rescale + rebias (F = identity)."""
    out, rs, rb = rescale_norm(x, weight, bias, w1, b1, w2, b2, detach_grad=detach_grad)
    return out * rs + rb


def _rescale_detached_rule(arrays, kwargs, gy):
    """The documented gradient of out·rescale + rebias with μ, σ detached in rescale/rebias."""
    import numpy as np
    x, weight, bias, w1, b1, w2, b2 = arrays
    c = x.shape[1]
    sh = (1, c) + (1,) * (x.ndim - 2)
    axes = tuple(range(1, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    sigma = np.sqrt(((x - mu) ** 2).mean(axis=axes, keepdims=True) + 1e-5)
    xh = (x - mu) / sigma
    out = weight.reshape(sh) * xh + bias.reshape(sh)
    rs = w1.reshape(sh) * sigma + b1.reshape(sh)
    g_out = gy * rs
    gh = g_out * weight.reshape(sh)
    dx = (gh - gh.mean(axis=axes, keepdims=True) - xh * (gh * xh).mean(axis=axes, keepdims=True)) / sigma
    red = (0,) + tuple(range(2, x.ndim))
    spatial = tuple(range(2, x.ndim))
    g_rs, g_rb = (gy * out).sum(axis=spatial, keepdims=True), gy.sum(axis=spatial, keepdims=True)
    return [dx, (g_out * xh).sum(axis=red), g_out.sum(axis=red),
            (g_rs * sigma).sum(axis=red), g_rs.sum(axis=red),
            (g_rb * mu).sum(axis=red), g_rb.sum(axis=red)]


def _register():
    import numpy as np
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    pos = lambda r, *s: np.asarray(r.uniform(0.5, 2.0, s))  # noqa: E731
    papers_dyt = ["Transformers without Normalization"]
    register(scale_norm, kind="normalization", catalog_id="N024", module=ScaleNorm,
             papers=["Transformers without Tears: Improving the Normalization of Self-Attention"],
             inputs=lambda r: [Case(n(r, 3, 4), pos(r)), Case(n(r, 2, 3, 5), pos(r), eps=1e-6),
                               Case(n(r, 1, 6), pos(r, 1))])
    register(rescale_norm, kind="normalization", catalog_id="N026", module=RescaleNorm,
             papers=["Vision Transformers for Single Image Dehazing"], check="fd+custom",
             checked_as=_rescale_block, backward_rule=_rescale_detached_rule,
             inputs=lambda r: [Case(n(r, 2, 3, 2, 2), pos(r, 3), n(r, 3), n(r, 3), pos(r, 3),
                                    n(r, 3), n(r, 3)),
                               Case(n(r, 3, 2, 4) * 2 + 1, pos(r, 2), n(r, 2), n(r, 2), pos(r, 2),
                                    n(r, 2), n(r, 2)),
                               Case(n(r, 2, 3, 2, 2), pos(r, 3), n(r, 3), n(r, 3), pos(r, 3),
                                    n(r, 3), n(r, 3), detach_grad=True, custom=True)])
    register(dyt, kind="normalization", catalog_id="N031", module=DyT, papers=papers_dyt,
             inputs=lambda r: [Case(n(r, 3, 4), pos(r), pos(r, 4), n(r, 4)),
                               Case(n(r, 2, 3, 2, 2), pos(r), pos(r, 3), n(r, 3),
                                    channels_last=False),
                               Case(n(r, 2, 5) * 3, pos(r))])
    register(elementwise_layer_norm, kind="normalization", catalog_id="N032",
             module=ElementwiseLayerNorm, papers=["Elementwise Layer Normalization"],
             inputs=lambda r: [Case(n(r, 3, 4), pos(r, 1) * 2.5, pos(r, 4), n(r, 4)),
                               Case(n(r, 2, 3, 5) * 3, pos(r)),
                               Case(n(r, 1, 6), pos(r, 1), pos(r, 6))])


_register()
