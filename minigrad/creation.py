"""Tensors made from nothing: zeros, ones, full, arange, and random draws from the
current backend's generator (seeded by ``minigrad.manual_seed``)."""
from minigrad.backends import current
from minigrad.ops.random import generator_on
from minigrad.tensor import Tensor


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def zeros(*shape, dtype="float32", requires_grad=False):
    return Tensor._wrap(current().xp.zeros(_shape(shape), dtype=dtype)).requires_grad_(requires_grad)


def ones(*shape, dtype="float32", requires_grad=False):
    return Tensor._wrap(current().xp.ones(_shape(shape), dtype=dtype)).requires_grad_(requires_grad)


def empty(*shape, dtype="float32"):
    return Tensor._wrap(current().xp.empty(_shape(shape), dtype=dtype))


def full(shape, value, dtype="float32", requires_grad=False):
    return Tensor._wrap(current().xp.full(shape, value, dtype=dtype)).requires_grad_(requires_grad)


def zeros_like(t, dtype=None):
    from minigrad.backends import backend_of_array
    return Tensor._wrap(backend_of_array(t.data).xp.zeros(t.shape, dtype=dtype or t.dtype))


def ones_like(t, dtype=None):
    from minigrad.backends import backend_of_array
    return Tensor._wrap(backend_of_array(t.data).xp.ones(t.shape, dtype=dtype or t.dtype))


def arange(start, stop=None, step=1, dtype=None):
    return Tensor._wrap(current().xp.arange(start, stop, step, dtype=dtype)
                        if stop is not None else current().xp.arange(start, dtype=dtype))


def randn(*shape, dtype="float32", requires_grad=False, generator=None):
    """Standard normal draws (from ``generator`` or the backend's seeded generator)."""
    gen = generator_on(current(), generator)
    data = gen.standard_normal(_shape(shape)).astype(dtype, copy=False)
    return Tensor._wrap(data).requires_grad_(requires_grad)


def rand(*shape, dtype="float32", requires_grad=False, generator=None):
    """Uniform draws on [0, 1)."""
    gen = generator_on(current(), generator)
    data = gen.random(_shape(shape)).astype(dtype, copy=False)
    return Tensor._wrap(data).requires_grad_(requires_grad)
