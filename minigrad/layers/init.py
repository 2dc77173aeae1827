"""Weight initializers: PyTorch's ``torch.nn.init`` (``minigrad.nn.init``), same names,
signatures and formulas. Each fills a tensor in place under ``no_grad`` (bumping its
version counter like any in-place edit, so a backward that saved it raises) and returns it;
``generator=`` (a NumPy/CuPy ``Generator`` or a ``HostGenerator``) draws the values, the
backend's seeded generator by default. They are not recorded: there is no backward.

Kaiming/He (He et al. 2015, "Delving Deep into Rectifiers: Surpassing Human-Level
Performance on ImageNet Classification"): std = gain / √fan, uniform bound = √3 · std.
Xavier/Glorot (Glorot & Bengio 2010, "Understanding the difficulty of training deep
feedforward neural networks"): std = gain · √(2 / (fan_in + fan_out)).
Orthogonal (Saxe, McClelland & Ganguli 2014, "Exact solutions to the nonlinear dynamics of
learning in deep linear neural networks"): Q of a QR decomposition of a Gaussian matrix.
Sparse (Martens 2010, "Deep learning via Hessian-free optimization").
Fans of a weight shaped (out, in, *kernel): fan_in = in·∏kernel, fan_out = out·∏kernel.
"""
import math
import warnings

import numpy

from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array
from minigrad.ops.random import generator_for

__all__ = ["calculate_gain", "calculate_fan_in_and_fan_out", "uniform_", "normal_",
           "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "orthogonal_", "sparse_"]


def calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight shaped (out, in, *kernel): fan_in = in·∏kernel,
    fan_out = out·∏kernel (PyTorch's ``_calculate_fan_in_and_fan_out``)."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in/out need a tensor with at least 2 dimensions, got shape "
                         f"{tuple(tensor.shape)}")
    receptive = 1
    for n in tensor.shape[2:]:
        receptive *= n
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


_calculate_fan_in_and_fan_out = calculate_fan_in_and_fan_out   # PyTorch's private name

_LINEAR = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
           "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The gain that keeps the scale of activations through a nonlinearity
    (``torch.nn.init.calculate_gain(nonlinearity, param=None)``):

        linear / identity / conv*d / conv_transpose*d / sigmoid → 1
        tanh → 5/3,   relu → √2,   leaky_relu → √(2 / (1 + a²)) (a = ``param``, default 0.01),
        selu → 3/4 (PyTorch's value, for self-normalizing networks).

    Not differentiated (a constant). Raises ValueError for another name.
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; accepted: "
                     f"{', '.join(_LINEAR)}, tanh, relu, leaky_relu, selu")


def _fill(tensor, array):
    with no_grad():
        tensor.data[...] = array.astype(tensor.dtype, copy=False)
        tensor._version += 1
    return tensor


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill ``tensor`` in place with draws from U(a, b) (``torch.nn.init.uniform_``).
    No backward (an in-place fill under no_grad)."""
    return _fill(tensor, generator_for(tensor, generator).uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill ``tensor`` in place with draws from N(mean, std²) (``torch.nn.init.normal_``).
    No backward (an in-place fill under no_grad)."""
    return _fill(tensor, mean + std * generator_for(tensor, generator).standard_normal(tensor.shape))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill ``tensor`` in place with N(mean, std²) truncated to [a, b]
    (``torch.nn.init.trunc_normal_``), by PyTorch's inverse-CDF method:

        l = Φ((a − mean)/std),  u = Φ((b − mean)/std),  U ~ U(2l − 1, 2u − 1)
        x = mean + std·√2·erf⁻¹(U),  clamped to [a, b]

    (Φ the standard normal CDF). ``a``, ``b`` are absolute bounds, not in units of std.
    PyTorch warns when the mean is more than 2 std outside [a, b]; so does this.
    No backward (an in-place fill under no_grad).
    """
    def cdf(z):
        return (1.0 + math.erf(z / math.sqrt(2.0))) / 2.0

    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("trunc_normal_: mean is more than 2 std from [a, b]; the distribution "
                      "of values may be incorrect", stacklevel=2)
    backend = backend_of_array(tensor.data)
    lo, hi = cdf((a - mean) / std), cdf((b - mean) / std)
    u = generator_for(tensor, generator).uniform(2 * lo - 1, 2 * hi - 1, tensor.shape)
    x = backend.special().erfinv(u) * (std * math.sqrt(2.0)) + mean
    return _fill(tensor, backend.xp.clip(x, a, b))


def constant_(tensor, val):
    """Fill ``tensor`` in place with the value ``val`` (``torch.nn.init.constant_``)."""
    with no_grad():
        tensor.data[...] = val
        tensor._version += 1
    return tensor


def zeros_(tensor):
    """Fill ``tensor`` in place with 0 (``torch.nn.init.zeros_``)."""
    return constant_(tensor, 0.0)


def ones_(tensor):
    """Fill ``tensor`` in place with 1 (``torch.nn.init.ones_``)."""
    return constant_(tensor, 1.0)


def eye_(tensor):
    """Fill the 2-D ``tensor`` in place with the identity: W_ij = δ_ij (ones on the main
    diagonal of a rectangular matrix too) (``torch.nn.init.eye_``), preserving the
    identity of the inputs in linear layers."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tuple(tensor.shape)}")
    xp = backend_of_array(tensor.data).xp
    return _fill(tensor, xp.eye(tensor.shape[0], tensor.shape[1], dtype=tensor.dtype))


def dirac_(tensor, groups=1):
    """Fill the 3-, 4- or 5-D convolution weight (out, in, *kernel) in place with the
    Dirac delta (``torch.nn.init.dirac_(tensor, groups=1)``): W[g·m + d, d, centre] = 1
    for d < min(out/groups, in), every other entry 0, so the convolution copies its input
    channels (per group) to the first output channels. centre = kernel // 2 per axis."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: only 3, 4 or 5-D tensors are supported, got shape "
                         f"{tuple(tensor.shape)}")
    out = tensor.shape[0]
    if out % groups:
        raise ValueError(f"dirac_: dim 0 ({out}) must be divisible by groups ({groups})")
    per_group = out // groups
    host = numpy.zeros(tensor.shape, dtype=tensor.dtype)
    centre = tuple(k // 2 for k in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(per_group, tensor.shape[1])):
            host[(g * per_group + d, d) + centre] = 1
    return _fill(tensor, backend_of_array(tensor.data).asarray(host))


def _no_elements(tensor, name):
    """True (with PyTorch's warning) for a zero-element tensor: nothing to fill, and its
    fans may be 0, which the schemes divide by."""
    if tensor.numel():
        return False
    warnings.warn(f"{name}: initializing a zero-element tensor of shape {tuple(tensor.shape)} "
                  "is a no-op", stacklevel=3)
    return True


def _fan(tensor, mode):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He uniform (He et al. 2015, "Delving Deep into Rectifiers: Surpassing Human-Level
    Performance on ImageNet Classification"), ``torch.nn.init.kaiming_uniform_``:
    W ~ U(−b, b) with b = gain · √(3 / fan), gain = ``calculate_gain(nonlinearity, a)``
    (a: the negative slope of a leaky ReLU), fan = fan_in (``mode='fan_in'``, keeps the
    forward variance) or fan_out (keeps the backward variance). In place, no backward."""
    if _no_elements(tensor, "kaiming_uniform_"):
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He normal (He et al. 2015, "Delving Deep into Rectifiers"), ``torch.nn.init.
    kaiming_normal_``: W ~ N(0, std²) with std = gain / √fan (gain, fan as in
    ``kaiming_uniform_``). In place, no backward."""
    if _no_elements(tensor, "kaiming_normal_"):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot uniform (Glorot & Bengio 2010, "Understanding the difficulty of training deep
    feedforward neural networks"), ``torch.nn.init.xavier_uniform_``:
    W ~ U(−b, b) with b = gain · √(6 / (fan_in + fan_out)). In place, no backward."""
    if _no_elements(tensor, "xavier_uniform_"):
        return tensor
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot normal (Glorot & Bengio 2010), ``torch.nn.init.xavier_normal_``:
    W ~ N(0, std²) with std = gain · √(2 / (fan_in + fan_out)). In place, no backward."""
    if _no_elements(tensor, "xavier_normal_"):
        return tensor
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def orthogonal_(tensor, gain=1.0, generator=None):
    """A (semi-)orthogonal matrix times ``gain`` (Saxe, McClelland & Ganguli 2014, "Exact
    solutions to the nonlinear dynamics of learning in deep linear neural networks"),
    ``torch.nn.init.orthogonal_``: the tensor is seen as rows = shape[0] by cols = the
    rest; A ~ N(0, 1) of that shape (transposed when rows < cols), A = QR, Q ← Q·sign(diag R)
    (the sign fix makes Q Haar-distributed), transposed back. Then W Wᵀ = gain²·I when
    rows ≤ cols, Wᵀ W = gain²·I otherwise. In place, no backward."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, "
                         f"got shape {tuple(tensor.shape)}")
    if _no_elements(tensor, "orthogonal_"):
        return tensor
    xp = backend_of_array(tensor.data).xp
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = generator_for(tensor, generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(xp.asarray(flat))
    q = q * xp.sign(xp.diagonal(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Sparse initialization (Martens 2010, "Deep learning via Hessian-free optimization"),
    ``torch.nn.init.sparse_(tensor, sparsity, std=0.01, generator=None)``: a 2-D tensor
    drawn from N(0, std²), then in every column ⌈sparsity · rows⌉ entries, at random rows,
    set to 0. In place, no backward."""
    if tensor.ndim != 2:
        raise ValueError(f"sparse_: only 2-D tensors are supported, got shape {tuple(tensor.shape)}")
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparse_: sparsity must be in [0, 1], got {sparsity}")
    rows, cols = tensor.shape
    num_zeros = int(math.ceil(sparsity * rows))
    gen = generator_for(tensor, generator)
    values = std * gen.standard_normal((rows, cols))
    xp = backend_of_array(tensor.data).xp
    # a random permutation of the rows per column: the ranks of uniform draws
    rank = xp.argsort(xp.argsort(gen.uniform(0.0, 1.0, (rows, cols)), axis=0), axis=0)
    keep = rank >= num_zeros
    return _fill(tensor, xp.where(keep, values, 0.0))
