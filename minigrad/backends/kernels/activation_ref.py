"""Elementwise activation kernels, plain ``xp`` versions (the oracle of
``activation_numba`` and ``activation_cupy``). Each ``*_backward(gy, x)`` returns
gy·f'(x) from the saved input."""
import math

from minigrad.backends import backend_of_array

_SQRT_HALF = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


def stable_sigmoid(xp, x):
    """σ(x) without overflow and accurate in both tails: 1/(1 + e^(−x)) for x ≥ 0,
    e^x/(1 + e^x) for x < 0, both through e = e^(−|x|) ≤ 1."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0, e) / (1.0 + e)


def stable_softplus(xp, x):
    """log(1 + eˣ) = max(x, 0) + log1p(e^(−|x|))."""
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


def relu_backward(gy, y):
    """dx = gy·1[y > 0] from the saved output y = max(x, 0) (0 at the kink, as PyTorch).
    A product, not a select: a NaN or ±inf in gy stays NaN where y ≤ 0."""
    return gy * (y > 0)


def gelu_forward(x):
    """y = x·Φ(x) = ½x(1 + erf(x/√2))."""
    erf = backend_of_array(x).special().erf
    return 0.5 * x * (1.0 + erf(x * _SQRT_HALF))


def gelu_backward(gy, x):
    """dx = gy·(Φ(x) + x·φ(x)), φ(x) = e^(−x²/2)/√(2π)."""
    b = backend_of_array(x)
    cdf = 0.5 * (1.0 + b.special().erf(x * _SQRT_HALF))
    pdf = _INV_SQRT_2PI * b.xp.exp(-0.5 * x * x)
    return gy * (cdf + x * pdf)


def gelu_tanh_forward(x):
    """y = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³)."""
    xp = backend_of_array(x).xp
    return 0.5 * x * (1.0 + xp.tanh(_SQRT_2_OVER_PI * (x + _GELU_C * x * x * x)))


def gelu_tanh_backward(gy, x):
    """dx = gy·(½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)), t = tanh(u): the
    derivative of the approximation itself, so forward and backward agree."""
    xp = backend_of_array(x).xp
    t = xp.tanh(_SQRT_2_OVER_PI * (x + _GELU_C * x * x * x))
    du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_C * x * x)
    return gy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du)


def silu_forward(x):
    """y = x·σ(x)."""
    return x * stable_sigmoid(backend_of_array(x).xp, x)


def silu_backward(gy, x):
    """dx = gy·σ(x)(1 + x(1 − σ(x)))."""
    s = stable_sigmoid(backend_of_array(x).xp, x)
    return gy * s * (1.0 + x * (1.0 - s))


def mish_forward(x):
    """y = x·tanh(softplus(x))."""
    xp = backend_of_array(x).xp
    return x * xp.tanh(stable_softplus(xp, x))


def mish_backward(gy, x):
    """dx = gy·(tanh(sp) + x(1 − tanh²(sp))σ(x)), sp = softplus(x)."""
    xp = backend_of_array(x).xp
    t = xp.tanh(stable_softplus(xp, x))
    return gy * (t + x * (1.0 - t * t) * stable_sigmoid(xp, x))
