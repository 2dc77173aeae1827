"""Forward references for the activations: the papers' formulas evaluated element by
element with the ``math`` module (or row by row for the softmax family), independent of
minigrad's vectorised code. ``sigmoid``, ``tanh`` and ``logsumexp`` are checked by the
primitives' oracles of the same names."""
import math

import numpy as np


def _elementwise(f):
    def apply(x, *args, **kwargs):
        x = np.asarray(x, dtype=float)
        return np.array([f(float(v), *args, **kwargs) for v in x.ravel()]).reshape(x.shape)
    return apply


def _sigmoid(v):
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


def _softplus(v, beta=1.0, threshold=20.0):
    if beta * v > threshold:
        return v
    return math.log1p(math.exp(beta * v)) / beta if beta * v < 30 else v + math.log1p(math.exp(-beta * v)) / beta


def _gelu_tanh(v):
    return 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))


def _channel(a, x):
    a = np.asarray(a, dtype=float)
    return a.reshape((1, a.size) + (1,) * (x.ndim - 2)) if a.size > 1 else a.reshape(())


def _prelu(x, a):
    out = np.empty_like(x)
    ab = np.broadcast_to(_channel(a, x), x.shape)
    for idx in np.ndindex(*x.shape):
        out[idx] = x[idx] if x[idx] > 0 else ab[idx] * x[idx]
    return out


def _swish(x, beta=1.0):
    b = np.broadcast_to(_channel(beta, x), x.shape) if np.ndim(beta) else np.full(x.shape, beta)
    out = np.empty_like(x)
    for idx in np.ndindex(*x.shape):
        out[idx] = x[idx] * _sigmoid(b[idx] * x[idx])
    return out


def _glu(x, axis=None, dim=None):
    axis = -1 if axis is None and dim is None else (dim if dim is not None else axis)
    h = x.shape[axis] // 2
    a = np.take(x, range(h), axis=axis)
    b = np.take(x, range(h, 2 * h), axis=axis)
    return a * _elementwise(_sigmoid)(b)


def _rows(f):
    """Apply a 1-D function ``f(list) -> list`` to every line of x along ``axis``."""
    def apply(x, axis=None, temperature=1.0, dim=None):
        axis = -1 if axis is None and dim is None else (dim if dim is not None else axis)
        moved = np.moveaxis(x, axis, -1)
        out = np.empty_like(moved)
        for idx in np.ndindex(*moved.shape[:-1]):
            out[idx] = f([v / temperature for v in moved[idx]])
        return np.moveaxis(out, -1, axis)
    return apply


def _softmax_line(z):
    m = max(z)
    e = [math.exp(v - m) for v in z]
    s = math.fsum(e)
    return [v / s for v in e]


def _log_softmax_line(z):
    m = max(z)
    lse = m + math.log(math.fsum(math.exp(v - m) for v in z))
    return [v - lse for v in z]


SELU_L, SELU_A = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717

ORACLES = {
    "relu": _elementwise(lambda v: v if v > 0 else 0.0),
    "leaky_relu": _elementwise(lambda v, negative_slope=0.01: v if v > 0 else negative_slope * v),
    "prelu": _prelu,
    "elu": _elementwise(lambda v, alpha=1.0: v if v > 0 else alpha * (math.exp(v) - 1)),
    "selu": _elementwise(lambda v: SELU_L * (v if v > 0 else SELU_A * (math.exp(v) - 1))),
    "celu": _elementwise(lambda v, alpha=1.0: max(0.0, v) + min(0.0, alpha * (math.exp(v / alpha) - 1))),
    "log_sigmoid": _elementwise(lambda v: -_softplus(-v, 1.0, float("inf"))),
    "softplus": _elementwise(_softplus),
    "swish": _swish,
    "gelu": _elementwise(lambda v: v * 0.5 * (1 + math.erf(v / math.sqrt(2)))),
    "gelu_tanh": _elementwise(_gelu_tanh),
    "mish": _elementwise(lambda v: v * math.tanh(_softplus(v, 1.0, float("inf")))),
    "glu": _glu,
    "softsign": _elementwise(lambda v: v / (1 + abs(v))),
    "hardtanh": _elementwise(lambda v, min_val=-1.0, max_val=1.0: min(max(v, min_val), max_val)),
    "relu6": _elementwise(lambda v: min(max(v, 0.0), 6.0)),
    "hardsigmoid": _elementwise(lambda v: 0.0 if v <= -3 else 1.0 if v >= 3 else v / 6 + 0.5),
    "hardswish": _elementwise(lambda v: 0.0 if v <= -3 else v if v >= 3 else v * (v + 3) / 6),
    "tanhshrink": _elementwise(lambda v: v - math.tanh(v)),
    "softshrink": _elementwise(lambda v, lambd=0.5: v - lambd if v > lambd else v + lambd if v < -lambd else 0.0),
    "hardshrink": _elementwise(lambda v, lambd=0.5: v if abs(v) > lambd else 0.0),
    "softmax": _rows(_softmax_line),
    "log_softmax": _rows(_log_softmax_line),
}
