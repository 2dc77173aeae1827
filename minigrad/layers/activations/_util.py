"""Helpers shared by the activation families."""
import math


def filled(n, value):
    """A float32 tensor of ``n`` copies of ``value`` on the current backend (a parameter's
    initial value)."""
    from minigrad.creation import full
    return full((n,), value, dtype="float32")


def channel_view(a, x, op):
    """A per-channel parameter ``a`` (shape (1,) or (C,)) shaped to broadcast against
    x (N, C, *): channel axis 1, as in PyTorch's PReLU. A 1-element ``a`` is shared."""
    n = math.prod(a.shape)         # an array or a Tensor: both have .shape
    if n == 1:
        return a.reshape((1,) * x.ndim)
    if x.ndim < 2 or x.shape[1] != n:
        raise ValueError(f"{op}: a parameter of {n} values needs an input with that many "
                         f"channels on axis 1, got an input of shape {tuple(x.shape)}")
    return a.reshape((1, n) + (1,) * (x.ndim - 2))


def channel_sum(g, a_shape):
    """Sum a full-size gradient over every axis but the channel axis 1 (all axes for a
    shared 1-element parameter), shaped like the parameter."""
    if len(g.shape) < 2 or _size(a_shape) == 1:
        return g.sum().reshape(a_shape)
    axes = (0,) + tuple(range(2, g.ndim))
    return g.sum(axis=axes).reshape(a_shape)


def _size(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def pick_axis(axis, dim, op, default=-1):
    """``axis`` (minigrad's name) or ``dim`` (PyTorch's), not both."""
    if dim is not None:
        if axis is not None and axis != dim:
            raise TypeError(f"{op}: give axis or dim, not both (axis={axis}, dim={dim})")
        return dim
    return default if axis is None else axis


# ------------------------------------------------------------------ registry inputs
def normal_away_from_kinks(r, shape, kinks, gap=0.15, scale=2.0):
    """Registry cases: ``scale``·N(0, 1) draws from the NumPy generator ``r``, each within
    ``gap`` of a kink moved to k ± gap·(1 + U(0, 1)) (outward of 0), so finite differences
    never straddle a kink."""
    x = scale * r.standard_normal(shape)
    for k in kinks:
        close = abs(x - k) < gap
        x[close] = k + gap * (1 + r.random(int(close.sum()))) * (1 if k >= 0 else -1)
    return x


def uniform_away_from_kinks(r, shape, kinks, gap=0.05, low=-2.5, high=2.5):
    """Registry cases: U(low, high) draws from the NumPy generator ``r``, each within
    ``gap`` of a kink moved to k ± (gap + 0.1) on its own side (finite differences)."""
    import numpy
    x = r.uniform(low, high, shape)
    for k in kinks:
        near = numpy.abs(x - k) < gap
        x = numpy.where(near, k + numpy.where(x >= k, 1.0, -1.0) * (gap + 0.1), x)
    return x


def stash_parameter(ctx, name, value, x, op):
    """A float or a (1,)/(C,) parameter: record which on ``ctx`` (``<name>_shape``, and the
    float itself as ``<name>``), return its form that broadcasts against x."""
    if hasattr(value, "shape"):
        setattr(ctx, name + "_shape", value.shape)
        return channel_view(value, x, op)
    setattr(ctx, name + "_shape", None)
    setattr(ctx, name, value)
    return value
