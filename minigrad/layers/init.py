"""Weight initializers (PyTorch's ``torch.nn.init`` names; each fills a tensor in place
under ``no_grad`` and returns it).

Kaiming/He (He et al. 2015, "Delving Deep into Rectifiers"): std = gain / √fan, with
gain = √(2 / (1 + a²)) for (leaky) ReLU; uniform bound = √3 · std.
Xavier/Glorot (Glorot & Bengio 2010): std = gain · √(2 / (fan_in + fan_out)).
Orthogonal (Saxe et al. 2014): Q of a QR decomposition of a Gaussian matrix, signs fixed by R's diagonal.
"""
import math
import warnings

from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array
from minigrad.ops.random import generator_for


def calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight shaped (out, in, *kernel)."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in/out need a tensor with at least 2 dimensions, got shape {tensor.shape}")
    receptive = 1
    for n in tensor.shape[2:]:
        receptive *= n
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    """The gain that keeps activations' scale: 1 (linear, sigmoid), 5/3 (tanh), √2 (relu),
    √(2/(1+a²)) (leaky_relu with slope a, default 0.01), 3/4 (selu)."""
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + a * a))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def _fill(tensor, array):
    with no_grad():
        tensor.data[...] = array.astype(tensor.dtype, copy=False)
        tensor._version += 1
    return tensor


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    return _fill(tensor, generator_for(tensor, generator).uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    return _fill(tensor, mean + std * generator_for(tensor, generator).standard_normal(tensor.shape))


def constant_(tensor, value):
    with no_grad():
        tensor.data[...] = value
        tensor._version += 1
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def _no_elements(tensor, name):
    """True (with PyTorch's warning) for a zero-element tensor: nothing to fill, and its
    fans may be 0, which the schemes divide by."""
    if tensor.size:
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
    """U(-b, b) with b = gain · √(3 / fan) (He et al. 2015)."""
    if _no_elements(tensor, "kaiming_uniform_"):
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std²) with std = gain / √fan (He et al. 2015)."""
    if _no_elements(tensor, "kaiming_normal_"):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(-b, b) with b = gain · √(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    if _no_elements(tensor, "xavier_uniform_"):
        return tensor
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std²) with std = gain · √(2 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    if _no_elements(tensor, "xavier_normal_"):
        return tensor
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def orthogonal_(tensor, gain=1.0, generator=None):
    """A (semi-)orthogonal matrix, reshaped to the tensor (Saxe et al. 2014)."""
    if _no_elements(tensor, "orthogonal_"):
        return tensor
    xp = backend_of_array(tensor.data).xp
    rows = tensor.shape[0]
    cols = tensor.size // rows
    flat = generator_for(tensor, generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(xp.asarray(flat))
    q = q * xp.sign(xp.diagonal(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))
