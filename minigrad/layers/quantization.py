"""Quantization with straight-through gradients: ``ste_sign`` (B020), ``ste_round`` with
deterministic or stochastic rounding (B021), uniform affine ``fake_quantize`` with
min/max observers (B022), and ``quantize_grad`` (fake-quantized gradients).

The true derivative of sign/round/clamp∘round is 0 almost everywhere; these ops use the
documented straight-through rules instead, and are checked against those rules.
"""
from minigrad.autograd import Function, no_grad
from minigrad.backends import backend_of_array, current
from minigrad.layers.module import Module
from minigrad.ops.random import HostGenerator, generator_for as _generator_for
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["FakeQuantize", "SteSign", "SteRound"]  # Modules; functions: minigrad.functional


class SteSignFunction(Function):
    """q = sign(x) with sign(0) = +1 (the BNN convention, so q ∈ {-1, +1} always).

    Backward (straight-through, BinaryConnect): dx = dy; with ``clip`` = c (the hardtanh STE
    of Hubara et al.): dx = dy ⊙ 1[|x| ≤ c].
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, clip):
        xp = ctx.xp
        ctx.clip = clip
        if clip is not None:
            ctx.save_for_backward(x)
        return xp.where(x >= 0, 1, -1).astype(x.dtype)

    @staticmethod
    def backward(ctx, gy):
        if ctx.clip is None:
            return gy, None
        x, = ctx.saved_tensors
        return gy * (ctx.xp.abs(x) <= ctx.clip), None


def ste_sign(x, clip=None):
    """Binarize to ±1 (sign(0) = +1) with a straight-through gradient: identity
    (``clip=None``, BinaryConnect) or identity masked to |x| ≤ ``clip`` (hardtanh STE).

    y = sign(x);  dx = dy (or dy·1[|x| ≤ clip]). Backward: ``SteSignFunction``
    (help(minigrad.layers.quantization.SteSignFunction)). Paper: Courbariaux, Bengio & David
    2015, "BinaryConnect: Training Deep Neural Networks with binary weights during
    propagations".
    """
    return SteSignFunction.apply(x, clip)


class SteRoundFunction(Function):
    """y = R(x·L)/L with L = ``levels`` (1: plain rounding; 2^b - 1: AnalogVNN's reduced
    precision to b bits), R = round half to even (NumPy/CuPy ``round``), or stochastic:
    R(v) = floor(v) + 1[u < v - floor(v)] with u ~ U(0, 1) given (so E[R(v)] = v).
    With ``clamp``, x is first clipped to [-1, 1].

    Backward (straight-through): dx = dy, masked to -1 ≤ x ≤ 1 when ``clamp``.
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, levels, clamp, u):
        xp = ctx.xp
        ctx.clamp = clamp
        if clamp:
            ctx.save_for_backward(x)
            x = xp.clip(x, -1, 1)
        v = x * levels
        if u is None:
            q = xp.round(v)
        else:
            low = xp.floor(v)
            q = low + (u < (v - low))
        return (q / levels).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, gy):
        if not ctx.clamp:
            return gy, None, None, None
        x, = ctx.saved_tensors
        return gy * ((x >= -1) & (x <= 1)), None, None, None


def ste_round(x, bits=None, stochastic=False, clamp=False, generator=None):
    """Round with a straight-through gradient (catalog B021).

    ``bits=None``: y = round(x) (half to even). ``bits=b``: y = round(x·P)/P with P = 2^b - 1
    levels (AnalogVNN ``ReducePrecision``). ``stochastic=True``: round up with probability
    frac(x·P) (``StochasticReducePrecision``; unbiased), drawing from ``generator``.
    ``clamp=True``: clip x to [-1, 1] first; the gradient is then zero outside it.

    Backward: dx = dy (straight-through; ``SteRoundFunction``,
    help(minigrad.layers.quantization.SteRoundFunction)). Paper: Bengio, Léonard & Courville
    2013, "Estimating or Propagating Gradients Through Stochastic Neurons for Conditional
    Computation".
    """
    levels = 1 if bits is None else 2 ** bits - 1
    u = None
    if stochastic:
        u = backend_of_array(x.data).xp.asarray(_generator_for(x, generator).random(x.shape))
    return SteRoundFunction.apply(x, levels, clamp, u)


class SteSign(Module):
    """``SteSign(clip=None)``: ``ste_sign`` as a layer.

    y = sign(x), dx = dy·1[|x| ≤ clip] (see ``F.ste_sign``). Paper: Courbariaux, Bengio &
    David 2015, "BinaryConnect: Training Deep Neural Networks with binary weights during
    propagations".
    """

    def __init__(self, clip=None):
        super().__init__()
        self.clip = clip

    def forward(self, x):
        return ste_sign(x, self.clip)


class SteRound(Module):
    """``SteRound(bits=None, stochastic=False, clamp=False)``: ``ste_round`` as a layer.

    y = round(x·P)/P, dx = dy (see ``F.ste_round``). Paper: Bengio, Léonard & Courville 2013,
    "Estimating or Propagating Gradients Through Stochastic Neurons for Conditional
    Computation".
    """

    def __init__(self, bits=None, stochastic=False, clamp=False, generator=None):
        super().__init__()
        self.bits, self.stochastic, self.clamp, self.generator = bits, stochastic, clamp, generator

    def forward(self, x):
        return ste_round(x, self.bits, self.stochastic, self.clamp, self.generator)


# ------------------------------------------------------------------ fake quantization
def _qrange(bits, signed):
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)


def _broadcastable(p, x, axis):
    """``p`` (a number, array or tensor) as an array on x's backend, shaped to broadcast
    along ``axis`` (per-channel) or as a scalar (per-tensor)."""
    xp = backend_of_array(x.data).xp
    a = xp.asarray(p.data if isinstance(p, Tensor) else p, dtype=x.dtype)
    if axis is not None and a.ndim == 1:
        shape = [1] * x.ndim
        shape[axis % x.ndim] = a.shape[0]
        a = a.reshape(shape)
    return a


class FakeQuantizeFunction(Function):
    """Uniform affine fake quantization: q = clamp(round(x/s) + z, q_min, q_max),
    y = s·(q - z) (PyTorch's ``fake_quantize_per_tensor_affine``: round half to even, the
    zero point z an integer added after rounding).

    Backward (straight-through): dx = dy ⊙ 1[q_min ≤ round(x/s) + z ≤ q_max] — identity
    inside the representable range, 0 where the clamp saturates. Scale and zero point are
    constants here (no gradient to the observer statistics).
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, scale, zero_point, quant_min, quant_max):
        xp = ctx.xp
        v = xp.round(x / scale) + zero_point
        inside = (v >= quant_min) & (v <= quant_max)
        ctx.save_for_backward(inside)
        return ((xp.clip(v, quant_min, quant_max) - zero_point) * scale).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, gy):
        inside, = ctx.saved_tensors
        return gy * inside, None, None, None, None


def fake_quantize(x, scale, zero_point, quant_min=-128, quant_max=127, axis=None):
    """Quantize-dequantize x to the integer grid {s·(q - z) : q_min ≤ q ≤ q_max} with a
    straight-through gradient inside the range (catalog B022). ``scale``/``zero_point``:
    numbers (per tensor) or 1-D arrays/tensors along ``axis`` (per channel).

    y = s·(clamp(round(x/s) + z, q_min, q_max) − z);  dx = dy·1[q_min ≤ round(x/s) + z ≤ q_max]
    (straight-through inside the range). Backward: ``FakeQuantizeFunction``
    (help(minigrad.layers.quantization.FakeQuantizeFunction)).
    Paper: Jacob et al. 2018, "Quantization and Training of Neural Networks for Efficient
    Integer-Arithmetic-Only Inference".
    """
    if quant_min >= quant_max:
        raise ValueError(f"fake_quantize: quant_min {quant_min} must be below quant_max {quant_max}")
    s = _broadcastable(scale, x, axis)
    z = backend_of_array(x.data).xp.round(_broadcastable(zero_point, x, axis))
    if bool((s <= 0).any()):
        raise ValueError("fake_quantize: scale must be positive")
    return FakeQuantizeFunction.apply(x, s, z, quant_min, quant_max)


def quantization_params(min_val, max_val, bits=8, signed=True, symmetric=False, eps=1e-12):
    """(scale, zero_point) for observed ranges [min_val, max_val] (numbers or arrays), as
    PyTorch's min/max observers: the range is first widened to contain 0 (so 0 is exactly
    representable), then affine: s = (max - min)/(q_max - q_min), z = q_min - round(min/s)
    clamped to [q_min, q_max]; symmetric: s = max|·| / ((q_max - q_min)/2), z = 0 (signed) or
    the mid-point (unsigned). Returns backend arrays (float scale, integer zero point).

    No gradient (statistics). Paper: Jacob et al. 2018, "Quantization and Training of Neural
    Networks for Efficient Integer-Arithmetic-Only Inference".
    """
    from minigrad.backends import backend_of_array as _b
    arr = min_val.data if isinstance(min_val, Tensor) else min_val
    xp = _b(arr).xp if hasattr(arr, "shape") else current().xp
    lo = xp.minimum(xp.asarray(arr, dtype="float64"), 0)
    hi = xp.maximum(xp.asarray(max_val.data if isinstance(max_val, Tensor) else max_val,
                               dtype="float64"), 0)
    qmin, qmax = _qrange(bits, signed)
    if symmetric:
        scale = xp.maximum(xp.maximum(-lo, hi) / ((qmax - qmin) / 2), eps)
        zero = xp.zeros_like(scale) + (0 if signed else (qmin + qmax + 1) // 2)
    else:
        scale = xp.maximum((hi - lo) / (qmax - qmin), eps)
        zero = xp.clip(qmin - xp.round(lo / scale), qmin, qmax)
    return scale, zero.astype("int64")


class FakeQuantize(Module):
    """``FakeQuantize(bits=8, signed=True, symmetric=False, axis=None, averaging_constant=None)``:
    observes min/max in training (running min/max, or an EMA with ``averaging_constant``, the
    moving-average observer for activations; per channel along ``axis``), stores them with the
    derived ``scale`` and ``zero_point`` as buffers, and fake-quantizes (train and eval).

    y = s·(clamp(round(x/s) + z, q_min, q_max) − z) (see ``F.fake_quantize``).
    Paper: Jacob et al. 2018, "Quantization and Training of Neural Networks for Efficient
    Integer-Arithmetic-Only Inference".
    """

    def __init__(self, bits=8, signed=True, symmetric=False, axis=None, averaging_constant=None):
        super().__init__()
        self.bits, self.signed, self.symmetric = bits, signed, symmetric
        self.axis, self.averaging_constant = axis, averaging_constant
        self.quant_min, self.quant_max = _qrange(bits, signed)
        xp = current().xp
        self.register_buffer("min_val", Tensor._wrap(xp.asarray(float("inf"))))
        self.register_buffer("max_val", Tensor._wrap(xp.asarray(-float("inf"))))
        self.register_buffer("scale", Tensor._wrap(xp.asarray(1.0)))
        self.register_buffer("zero_point", Tensor._wrap(xp.asarray(0)))

    def _observe(self, x):
        xp = backend_of_array(x.data).xp
        axes = None if self.axis is None else tuple(
            a for a in range(x.ndim) if a != self.axis % x.ndim)
        lo, hi = x.data.min(axis=axes), x.data.max(axis=axes)
        old_lo, old_hi = self.min_val.data, self.max_val.data
        if not bool(xp.isfinite(old_lo).all()):
            new_lo, new_hi = lo, hi
        elif self.averaging_constant is None:
            new_lo, new_hi = xp.minimum(old_lo, lo), xp.maximum(old_hi, hi)
        else:
            c = self.averaging_constant
            new_lo, new_hi = old_lo + c * (lo - old_lo), old_hi + c * (hi - old_hi)
        self.min_val = Tensor._wrap(xp.asarray(new_lo, dtype="float64"))
        self.max_val = Tensor._wrap(xp.asarray(new_hi, dtype="float64"))
        scale, zero = quantization_params(self.min_val, self.max_val, self.bits, self.signed,
                                          self.symmetric)
        self.scale, self.zero_point = Tensor._wrap(scale), Tensor._wrap(zero)

    def forward(self, x):
        if self.training:
            with no_grad():
                self._observe(x)
        return fake_quantize(x, self.scale, self.zero_point, self.quant_min, self.quant_max,
                             self.axis)

    def extra_repr(self):
        return f"bits={self.bits}, signed={self.signed}, symmetric={self.symmetric}, axis={self.axis}"


class QuantizeGradFunction(Function):
    """y = x; the backward fake-quantizes the incoming gradient to ``bits`` bits with a
    symmetric per-tensor scale s = max|dy| / (2^(b-1) - 1) (gradient quantization applied to
    dy before the backward GEMMs that consume it)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, bits):
        ctx.bits = bits
        return x.copy()

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        qmax = 2 ** (ctx.bits - 1) - 1
        s = float(xp.abs(gy).max()) / qmax
        if s == 0.0:
            return gy, None
        return (xp.clip(xp.round(gy / s), -qmax - 1, qmax) * s).astype(gy.dtype), None


def quantize_grad(x, bits=8):
    """Identity forward; the gradient that flows back through it is fake-quantized to ``bits``.

    y = x;  dx = Q_bits(dy) (a documented rule, not the derivative). Backward:
    ``QuantizeGradFunction`` (help(minigrad.layers.quantization.QuantizeGradFunction)).
    Paper: Zhou et al. 2016, "DoReFa-Net: Training Low Bitwidth Convolutional Neural Networks
    with Low Bitwidth Gradients".
    """
    return QuantizeGradFunction.apply(x, bits)


# ------------------------------------------------------------------ registry
def _ste_sign_rule(arrays, kwargs, gy):
    clip = kwargs.get("clip")
    return [gy if clip is None else gy * (abs(arrays[0]) <= clip)]


def _ste_round_fixed(x, bits=None, stochastic=False, clamp=False):
    return ste_round(x, bits, stochastic, clamp, generator=HostGenerator(9))


def _ste_round_rule(arrays, kwargs, gy):
    x = arrays[0]
    return [gy * ((x >= -1) & (x <= 1)) if kwargs.get("clamp") else gy]


def _fake_quantize_rule(arrays, kwargs, gy):
    import numpy
    x, scale, zp = arrays[0], arrays[1], arrays[2]
    qmin, qmax = kwargs.get("quant_min", -128), kwargs.get("quant_max", 127)
    axis = kwargs.get("axis")
    scale, zp = numpy.asarray(scale, float), numpy.asarray(zp, float)
    if axis is not None:
        shape = [1] * x.ndim
        shape[axis] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    v = numpy.round(x / scale) + numpy.round(zp)
    return [gy * ((v >= qmin) & (v <= qmax))]


def _away_from_zero(r, *shape):
    return r.choice([-1.0, 1.0], shape) * r.uniform(0.05, 2.0, shape)


register(ste_sign, kind="layer", catalog_id="B020", check="custom", module=SteSign,
         papers=["Estimator Meets Equilibrium Perspective: A Rectified Straight Through "
                 "Estimator for Binary Neural Networks Training"],
         inputs=lambda r: [Case(_away_from_zero(r, 4, 5)), Case(_away_from_zero(r, 3, 4), clip=1.0)],
         backward_rule=_ste_sign_rule)

register(ste_round, kind="layer", catalog_id="B021", check="custom", module=SteRound,
         papers=["AnalogVNN: A fully modular framework for modeling and optimizing photonic "
                 "neural networks",
                 "Estimator Meets Equilibrium Perspective: A Rectified Straight Through "
                 "Estimator for Binary Neural Networks Training"],
         inputs=lambda r: [Case(3 * r.standard_normal((4, 5))),
                           Case(_away_from_zero(r, 4, 5) * 0.8, bits=3, clamp=True),
                           Case(r.uniform(-1.5, 1.5, (4, 5)), bits=2, stochastic=True, clamp=True),
                           Case(2 * r.standard_normal((3, 4)), stochastic=True)],
         checked_as=_ste_round_fixed, backward_rule=_ste_round_rule)

register(fake_quantize, kind="layer", catalog_id="B022", check="custom", module=FakeQuantize,
         papers=["Learned Low Precision Graph Neural Networks",
                 "Stable-SPAM: How to Train in 4-Bit More Stably than 16-Bit Adam",
                 "PTQ1.61: Push the Real Limit of Extremely Low-Bit Post-Training Quantization "
                 "Methods for Large Language Models"],
         inputs=lambda r: [Case(r.standard_normal((4, 5)), 0.1, 3, quant_min=-8, quant_max=7),
                           Case(r.standard_normal((3, 6)), 0.05, 0, quant_min=0, quant_max=15),
                           Case(r.standard_normal((3, 5)), r.uniform(0.05, 0.3, 3),
                                r.integers(-2, 3, 3), quant_min=-8, quant_max=7, axis=0, wrt=(0,))],
         backward_rule=_fake_quantize_rule)
