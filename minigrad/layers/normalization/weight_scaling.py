"""Weight scalings and Lp normalizations that feed quantized or analog hardware, and the
column-normalized low-rank weight of GradNormLoRP: StatsQ's statistical weight scale
(catalog N043), AnalogVNN's Lp normalization layers (N044) and ``gradnormlorp_weight`` (N040).
"""
import math

from minigrad.autograd import Function, no_grad
from minigrad.creation import zeros
from minigrad.layers import init
from minigrad.layers.module import Module, Parameter
from minigrad.layers.normalization.weight import weight_norm
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register

STATSQ_UPPER = 1 - 1e-6


def _statsq_axes(ndim):
    """The axes StatsQ averages |W| over: the row of a (out, in) matrix; axes 0 and 2 of a
    3-D weight (the official code's ``1, dim, 1`` scale); every axis but the output units
    (axis 0) of a convolution kernel (our extension: the official code has no 4-D case)."""
    return {2: (1,), 3: (0, 2)}.get(ndim, tuple(range(1, ndim)))


class StatsQWeightScaleFn(Function):
    """StatsQ's pre-quantization normalization (Liu et al. 2023, nbasyl/OFQ
    src/quantization/quantizer/statsq.py ``StatsQuantizer``):

        s = sg(2·mean(|W|)) per row,   w_c = clamp(W/s, −1, 1 − 1e-6).

    Backward (the documented rule, not the derivative of W/s(W)): s is a constant, so
        dW = dw_c/s where −1 < W/s < 1 − 1e-6, else 0.
    An all-zero row has s = 0; s is clamped below at 1e-12 there, giving w_c = 0 (the
    official code gives 0/0).
    """
    @staticmethod
    def forward(ctx, w):
        xp = ctx.xp
        s = xp.maximum(2 * xp.abs(w).mean(axis=_statsq_axes(w.ndim), keepdims=True), 1e-12)
        u = w / s
        inside = (u > -1) & (u < STATSQ_UPPER)
        ctx.save_for_backward(s.astype(w.dtype, copy=False), inside)
        return xp.clip(u, -1.0, STATSQ_UPPER).astype(w.dtype, copy=False)

    @staticmethod
    def backward(ctx, gy):
        s, inside = ctx.saved_tensors
        return gy * inside / s


def statsq_weight_scale(weight):
    """StatsQ's normalized weight: w_c = clamp(W/s, −1, 1 − 1e-6) with the detached
    per-row scale s = 2·mean(|W_row|), the input of the StatsQ quantizer
    Q(W) = s·(round(w_c·n − 0.5) + 0.5)/n, n = 2^(b−1).

    w_c = clamp(W/sg(2·mean|W|), −1, 1−1e-6); dW = dw_c/s inside the clamp, 0 outside
    (s a constant: the rule of the official code, checked as ``custom``). Backward:
    ``StatsQWeightScaleFn`` (help(minigrad.layers.normalization.weight_scaling.StatsQWeightScaleFn)).
    ``statsq_weight_scale(weight)``: a (out, in) weight is scaled per row, a 3-D weight as
    the official code does (mean over axes 0 and 2); a convolution kernel per output
    channel (an extension).
    Paper: Liu, Liu & Cheng 2023, "Oscillation-free Quantization for Low-bit
    Vision Transformers".
    """
    check_floating("statsq_weight_scale", weight=weight)
    if weight.ndim < 2:
        raise ValueError(f"statsq_weight_scale: expected a weight of rank 2 or more, got shape "
                         f"{tuple(weight.shape)}")
    return StatsQWeightScaleFn.apply(weight)


def _statsq_rule(arrays, kwargs, gy):
    import numpy as np
    w, = arrays
    s = np.maximum(2 * np.abs(w).mean(axis=_statsq_axes(w.ndim), keepdims=True), 1e-12)
    u = w / s
    return [gy * ((u > -1) & (u < STATSQ_UPPER)) / s]


class _StatsQHook:
    def __init__(self, name):
        self.name = name

    def compute(self, module):
        w = getattr(module, self.name + "_orig")
        with no_grad():
            s = 2 * w.abs().mean(axis=_statsq_axes(w.ndim), keepdims=True)
        return statsq_weight_scale(w) * s

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute(module))


def apply_statsq_weight_scale(module, name="weight"):
    """Replace ``module.<name>`` by s·statsq_weight_scale(W) (s detached): the weight
    clipped to ±2·mean|W| per row, as StatsQ hands it to its quantizer (without the
    rounding, a layer of its own). The Parameter becomes ``<name>_orig``. Returns ``module``."""
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"apply_statsq_weight_scale: {type(module).__name__} has no "
                         f"parameter {name!r}")
    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    hook = _StatsQHook(name)
    setattr(module, name, hook.compute(module))
    module.__dict__.setdefault("_reparameterizations", {})[name] = (
        "statsq_weight_scale", module.register_forward_pre_hook(hook), hook)
    return module


# ------------------------------------------------------------------ AnalogVNN Lp norms
LP_EPS = 1e-4
BACKWARDS = ("identity", "exact")


def _lp_axes(x, whole):
    return tuple(range(x.ndim)) if whole or x.ndim <= 1 else tuple(range(1, x.ndim))


class AnalogLpNormFn(Function):
    """AnalogVNN's Lp normalization (Shah & Youngblood 2023, Vivswan/AnalogVNN
    analogvnn/nn/normalize/LPNorm.py): per sample (over the flattened non-batch axes) or,
    for the W variants, over the whole tensor,

        n = max(‖x‖_p, 1e-4),  y = x/n;  M variants: z = y/max(|y|) (over the whole tensor).

    Backward ``'identity'``: dx = dz (AnalogVNN's ``BackwardIdentity``, its default).
    Backward ``'exact'``, the derivative: with k the position of max|y|,
        dy = dz/m − e_k·sign(y_k)·Σ(dz⊙y)/m²   (m = |y_k|; M variants only),
        dx = (dy − sign(x)·|y|^(p−1)·Σ(dy⊙y))/n   (∂n/∂x = sign(x)|x|^(p−1)/n^(p−1)),
    summed per normalized group; in the clamped branch (‖x‖_p < 1e-4) dx = dy/1e-4.
    Kinks: x_i = 0 for p = 1, ties of max|y|. An all-zero input gives m = 0; z = y = 0 then
    (AnalogVNN gives 0/0).
    """
    @staticmethod
    def forward(ctx, x, p, whole, make_max_1, backward):
        xp = ctx.xp
        axes = _lp_axes(x, whole)
        raw = (xp.abs(x) ** p).sum(axis=axes, keepdims=True) ** (1.0 / p)
        n = xp.maximum(raw, LP_EPS)
        y = x / n
        m = None
        z = y
        if make_max_1:     # an all-zero y has m = 0: divide by the tiniest float instead
            m = xp.maximum(xp.abs(y).max(), xp.finfo(y.dtype).tiny)
            z = y / m
        ctx.save_for_backward(x, y, n, raw >= LP_EPS)
        ctx.p, ctx.axes, ctx.m, ctx.backward = p, axes, m, backward
        return z

    @staticmethod
    def backward(ctx, gz):
        if ctx.backward == "identity":
            return gz, None, None, None, None
        xp = ctx.xp
        x, y, n, live = ctx.saved_tensors
        gy = gz
        if ctx.m is not None:
            m = ctx.m
            flat = xp.abs(y).reshape(-1)
            at_max = (xp.arange(flat.size) == xp.argmax(flat)).reshape(y.shape)
            gy = gz / m - at_max * xp.sign(y) * ((gz * y).sum() / (m * m))
        s = (gy * y).sum(axis=ctx.axes, keepdims=True)
        dn = xp.sign(x) * xp.abs(y) ** (ctx.p - 1)
        return (gy - dn * s * live) / n, None, None, None, None

    @staticmethod
    def composite(x, p, whole, make_max_1, backward):
        axes = _lp_axes(x, whole)
        y = x / x.abs().pow(p).sum(axis=axes, keepdims=True).pow(1.0 / p).maximum(LP_EPS)
        if make_max_1:
            import numpy
            y = y / y.abs().amax().maximum(float(numpy.finfo(y.dtype).tiny))
        return y


def analog_lp_norm(x, p=2, whole=False, make_max_1=False, backward="identity"):
    """AnalogVNN's Lp normalization layers: y = x/max(‖x‖_p, 1e-4) per sample (``whole``:
    one norm for the whole tensor, the W variants for weights), then with ``make_max_1``
    y/max|y| over the whole tensor (the M variants).

    y = x/max(‖x‖_p, 1e-4); ``backward='identity'`` (AnalogVNN's default) passes dy
    through unchanged, ``backward='exact'`` is the derivative (dx = (dy − sign(x)|y|^(p−1)
    Σdy⊙y)/‖x‖_p). Backward: ``AnalogLpNormFn``
    (help(minigrad.layers.normalization.weight_scaling.AnalogLpNormFn)).
    ``analog_lp_norm(x, p=2, whole=False, make_max_1=False, backward='identity')``.
    Paper: Shah & Youngblood 2023, "AnalogVNN: A fully modular framework for modeling and
    optimizing photonic neural networks".
    """
    check_floating("analog_lp_norm", x=x)
    if backward not in BACKWARDS:
        raise ValueError(f"analog_lp_norm: backward must be one of {BACKWARDS}, got {backward!r}")
    if not p >= 1:
        raise ValueError(f"analog_lp_norm: p must be >= 1, got {p}")
    return AnalogLpNormFn.apply(x, float(p), bool(whole), bool(make_max_1), backward)


def _lp_rule(arrays, kwargs, gy):
    return [gy]


class LPNorm(Module):
    """AnalogVNN's ``LPNorm`` (and its W / M variants through ``whole`` / ``make_max_1``):
    y = x/max(‖x‖_p, 1e-4) per sample, with the identity backward by default.

    y = x/max(‖x‖_p, 1e-4); ``LPNorm(p=2, make_max_1=False, whole=False,
    backward='identity')``; ``L1Norm()``, ``L2Norm()``, ``L1NormW()``, ``L2NormW()``,
    ``L1NormM()``, ``L2NormM()`` are the named variants. See ``F.analog_lp_norm``.
    Paper: Shah & Youngblood 2023, "AnalogVNN: A fully modular framework for modeling and
    optimizing photonic neural networks".
    """

    def __init__(self, p=2, make_max_1=False, whole=False, backward="identity"):
        super().__init__()
        self.p, self.make_max_1, self.whole, self.backward = p, make_max_1, whole, backward

    def forward(self, x):
        return analog_lp_norm(x, self.p, self.whole, self.make_max_1, self.backward)

    def extra_repr(self):
        return (f"p={self.p}, make_max_1={self.make_max_1}, whole={self.whole}, "
                f"backward={self.backward!r}")


def _variant(name, p, whole, make_max_1):
    def __init__(self, backward="identity"):
        LPNorm.__init__(self, p, make_max_1, whole, backward)
    return type(name, (LPNorm,), {"__init__": __init__, "__doc__": (
        f"AnalogVNN's ``{name}``: ``LPNorm(p={p}, make_max_1={make_max_1}, whole={whole})``, "
        f"``{name}(backward='identity')``.\n\n"
        f"y = x/max(‖x‖_{p}, 1e-4)" + (" over the whole tensor" if whole else " per sample")
        + (", then y/max|y|" if make_max_1 else "") + "; see ``F.analog_lp_norm``.\n"
        "Paper: Shah & Youngblood 2023, \"AnalogVNN: A fully modular framework for modeling "
        "and optimizing photonic neural networks\".")})


L1Norm, L2Norm = _variant("L1Norm", 1, False, False), _variant("L2Norm", 2, False, False)
L1NormW, L2NormW = _variant("L1NormW", 1, True, False), _variant("L2NormW", 2, True, False)
L1NormM, L2NormM = _variant("L1NormM", 1, False, True), _variant("L2NormM", 2, False, True)
L1NormWM, L2NormWM = _variant("L1NormWM", 1, True, True), _variant("L2NormWM", 2, True, True)
for _cls in (L1Norm, L2Norm, L1NormW, L2NormW, L1NormM, L2NormM, L1NormWM, L2NormWM):
    _cls.__module__ = __name__


# ------------------------------------------------------------------ GradNormLoRP
def gradnormlorp_weight(w0, i_factor, j_factor, magnitude, eps=1e-12):
    """GradNormLoRP's weight: W = M⊙(W₀ + I·J)/colnorm(W₀ + I·J), W₀ (m, n) frozen, I (m, r)
    and J (r, n) the trainable low-rank factors, M (n,) the per-column magnitude.

    W = M⊙V/colnorm(V), V = W₀ + IJ: literally ``weight_norm`` (N005) of V with one unit
    per column, so it is that composition (matmul, add, weight_norm) and its backward is
    the tape's: dV = (M/‖V_:j‖)(dW − V̂(V̂·dW)) per column, dM = V̂·dW, dI = dV·Jᵀ,
    dJ = Iᵀ·dV; W₀ is detached (no gradient). Backward of the normalization:
    ``WeightNormFn`` (help(minigrad.layers.normalization.weight.WeightNormFn)).
    ``gradnormlorp_weight(w0, i_factor, j_factor, magnitude, eps=1e-12)``. Its gradient
    low-rank projection is an optimizer.
    Paper: Huang et al. 2024, "Gradient Weight-normalized Low-rank Projection for Efficient
    LLM Training".
    """
    check_floating("gradnormlorp_weight", w0=w0, i_factor=i_factor, j_factor=j_factor,
                   magnitude=magnitude)
    if (w0.ndim != 2 or i_factor.ndim != 2 or j_factor.ndim != 2
            or i_factor.shape[0] != w0.shape[0] or j_factor.shape[1] != w0.shape[1]
            or i_factor.shape[1] != j_factor.shape[0] or magnitude.numel() != w0.shape[1]):
        raise ValueError(f"gradnormlorp_weight: W₀ (m, n), I (m, r), J (r, n) and M (n,) "
                         f"expected, got {tuple(w0.shape)}, {tuple(i_factor.shape)}, "
                         f"{tuple(j_factor.shape)} and {tuple(magnitude.shape)}")
    v = w0.detach() + i_factor @ j_factor
    return weight_norm(v, magnitude.reshape(w0.shape[1]), axis=1, eps=eps)


class GradNormLoRPLinear(Module):
    """A Linear layer with GradNormLoRP's weight: y = x·W + b, W (in, out) =
    M⊙(W₀ + IJ)/colnorm(W₀ + IJ) with W₀ frozen (a buffer), one magnitude per output
    unit (column), I ~ Kaiming-uniform and J = 0 (LoRA init: W = W₀ at the start).

    W = M⊙(W₀+IJ)/colnorm(W₀+IJ); ``GradNormLoRPLinear(in_features, out_features, rank,
    bias=True)``, or ``GradNormLoRPLinear.from_linear(linear, rank)`` around a trained
    ``Linear`` (its (out, in) weight transposed). See ``F.gradnormlorp_weight``.
    Paper: Huang et al. 2024, "Gradient Weight-normalized Low-rank Projection for Efficient
    LLM Training".
    """

    def __init__(self, in_features, out_features, rank, bias=True, w0=None):
        super().__init__()
        self.in_features, self.out_features, self.rank = in_features, out_features, rank
        if w0 is None:
            w0 = zeros(in_features, out_features)
            init.kaiming_uniform_(w0, a=math.sqrt(5))
        self.register_buffer("w0", w0.detach())
        self.i_factor = Parameter(zeros(in_features, rank).data)
        init.kaiming_uniform_(self.i_factor, a=math.sqrt(5))
        self.j_factor = Parameter(zeros(rank, out_features).data)
        self.magnitude = Parameter((self.w0 * self.w0).sum(axis=0).sqrt().data)
        self.bias = Parameter(zeros(out_features).data) if bias else None

    @classmethod
    def from_linear(cls, linear, rank):
        layer = cls(linear.in_features, linear.out_features, rank, linear.bias is not None,
                    w0=linear.weight.detach().T)
        if linear.bias is not None:
            with no_grad():
                layer.bias.copy_(linear.bias.detach())
        return layer

    def merged_weight(self):
        return gradnormlorp_weight(self.w0, self.i_factor, self.j_factor, self.magnitude)

    def forward(self, x):
        y = x @ self.merged_weight()
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}, rank={self.rank}"


__all__ = ["statsq_weight_scale", "analog_lp_norm", "gradnormlorp_weight", "LPNorm", "L1Norm",
           "L2Norm", "L1NormW", "L2NormW", "L1NormM", "L2NormM", "L1NormWM", "L2NormWM",
           "GradNormLoRPLinear"]


# ------------------------------------------------------------------ registry
def _away_from_clamp(r, *shape):
    """Weights whose |W|/(2·mean|W|) stays away from the clamp edges ±1."""
    w = r.standard_normal(shape)
    s = 2 * abs(w).mean(axis=_statsq_axes(len(shape)), keepdims=True)
    u = w / s
    bad = (abs(abs(u) - 1) < 0.05)
    return w * (1 - 0.1 * bad)


def _register():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    register(statsq_weight_scale, kind="normalization", catalog_id="N043", check="custom",
             papers=["Oscillation-free Quantization for Low-bit Vision Transformers"],
             backward_rule=_statsq_rule,
             inputs=lambda r: [Case(_away_from_clamp(r, 3, 8), custom=True),
                               Case(_away_from_clamp(r, 2, 3, 4), custom=True),
                               Case(_away_from_clamp(r, 3, 2, 2, 2), custom=True)])
    register(analog_lp_norm, kind="normalization", catalog_id="N044", check="fd+custom",
             module=LPNorm, backward_rule=_lp_rule,
             papers=["AnalogVNN: A fully modular framework for modeling and optimizing photonic "
                     "neural networks"],
             inputs=lambda r: [Case(n(r, 3, 4), backward="exact"),
                               Case(n(r, 2, 2, 3), p=1, backward="exact"),
                               Case(n(r, 3, 4), whole=True, backward="exact"),
                               Case(n(r, 3, 4), make_max_1=True, backward="exact"),
                               Case(n(r, 2, 5), p=1, whole=True, make_max_1=True,
                                    backward="exact"),
                               Case(n(r, 3, 4), custom=True),
                               Case(n(r, 3, 4), p=1, make_max_1=True, custom=True)])
    register(gradnormlorp_weight, kind="normalization", catalog_id="N040", module=GradNormLoRPLinear,
             papers=["Gradient Weight-normalized Low-rank Projection for Efficient LLM Training"],
             inputs=lambda r: [Case(n(r, 4, 3), n(r, 4, 2), n(r, 2, 3), r.uniform(0.5, 2, 3),
                                    wrt=(1, 2, 3))])


_register()
