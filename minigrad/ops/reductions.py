"""Reductions over axes: sum, mean, var, std, max, min, logsumexp (all with
``axis`` and ``keepdims``), and the non-differentiable argmax/argmin."""
from minigrad.autograd import Function
from minigrad.registry import Case, register
from minigrad.ops._util import expand_reduced, normalize_axis
from minigrad.tensor import Tensor


def _count(shape, axis):
    n = 1
    for a in normalize_axis(axis, len(shape)):
        n *= shape[a]
    return n


def _reduced_shape(shape, axis):
    axes = normalize_axis(axis, len(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


class Sum(Function):
    """y = Σ_axis x;  dy/dx = 1, so the gradient is gy broadcast back over ``axis``."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, gy):
        g = expand_reduced(gy, ctx.shape, ctx.axis, ctx.keepdims)
        return ctx.xp.broadcast_to(g, ctx.shape)


class Mean(Function):
    """y = (1/n) Σ_axis x;  dy/dx = 1/n."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return x.mean(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, gy):
        g = expand_reduced(gy, ctx.shape, ctx.axis, ctx.keepdims) / _count(ctx.shape, ctx.axis)
        return ctx.xp.broadcast_to(g, ctx.shape)


class Var(Function):
    """v = Σ (x - m)² / (n - ddof) with m the mean over ``axis``;
    dv/dx = 2 (x - m) / (n - ddof) (the terms through m sum to zero)."""
    @staticmethod
    def forward(ctx, x, axis, keepdims, ddof):
        centered, ctx.denom = _centered("var", x, axis, ddof)
        ctx.save_for_backward(centered)
        ctx.axis, ctx.keepdims = axis, keepdims
        return (centered * centered).sum(axis=axis, keepdims=keepdims) / ctx.denom

    @staticmethod
    def backward(ctx, gy):
        centered, = ctx.saved_tensors
        g = expand_reduced(gy, centered.shape, ctx.axis, ctx.keepdims)
        return g * centered * (2.0 / ctx.denom)

    @staticmethod
    def composite(x, axis, keepdims, ddof):
        centered = x - x.mean(axis=axis, keepdims=True)
        return (centered * centered).sum(axis=axis, keepdims=keepdims) / (
            _count(x.shape, axis) - ddof)


class Std(Function):
    """σ = √v with v the variance over ``axis`` (``Var``);
    dσ/dx = (x − m) / ((n − ddof) σ). Where σ = 0 (a constant slice, or one value) every
    x − m is 0 too: the gradient there is 0, PyTorch's value, not 0/0."""
    @staticmethod
    def forward(ctx, x, axis, keepdims, ddof):
        centered, ctx.denom = _centered("std", x, axis, ddof)
        s = ctx.xp.sqrt((centered * centered).sum(axis=axis, keepdims=True) / ctx.denom)
        ctx.save_for_backward(centered, s)
        ctx.axis, ctx.keepdims = axis, keepdims
        return s if keepdims else s.reshape(_reduced_shape(x.shape, axis))

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        centered, s = ctx.saved_tensors
        g = expand_reduced(gy, centered.shape, ctx.axis, ctx.keepdims)
        zero = s == 0
        return g * centered / (ctx.denom * xp.where(zero, 1, s)) * ~zero

    @staticmethod
    def composite(x, axis, keepdims, ddof):     # second derivatives away from σ = 0
        return Var.composite(x, axis, keepdims, ddof).sqrt()


def _centered(op, x, axis, ddof):
    """(x − mean over ``axis``, n − ddof), the two pieces of the variance and the std."""
    n = _count(x.shape, axis)
    if n - ddof <= 0:
        raise ValueError(f"{op}: {n} values over axis {axis} with ddof={ddof} "
                         "leave no degrees of freedom")
    return x - x.mean(axis=axis, keepdims=True), n - ddof


class Max(Function):
    """y = max_axis x; the gradient goes to the maximal element(s), split evenly on ties."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        y = x.max(axis=axis, keepdims=True)
        ctx.save_for_backward(x, y)
        ctx.axis, ctx.keepdims = axis, keepdims
        return y if keepdims else y.reshape(_reduced_shape(x.shape, axis))

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        return _extremum_grad(x, y, gy, ctx.axis, ctx.keepdims)


class Min(Function):
    """y = min_axis x; the gradient goes to the minimal element(s), split evenly on ties."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        y = x.min(axis=axis, keepdims=True)
        ctx.save_for_backward(x, y)
        ctx.axis, ctx.keepdims = axis, keepdims
        return y if keepdims else y.reshape(_reduced_shape(x.shape, axis))

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        return _extremum_grad(x, y, gy, ctx.axis, ctx.keepdims)


def _extremum_grad(x, y, gy, axis, keepdims):
    hit = (x == y)
    g = expand_reduced(gy, x.shape, axis, keepdims)
    return g * hit / hit.sum(axis=axis, keepdims=True)


class LogSumExp(Function):
    """y = log Σ_axis eˣ, computed as m + log Σ e^(x - m) with m = max x (no overflow);
    dy/dx = softmax(x) = e^(x - y) (zero for a row that is all -inf, where y = -inf)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        xp = ctx.xp
        m = x.max(axis=axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        s = xp.exp(x - m).sum(axis=axis, keepdims=True)
        empty = s == 0  # a row of -inf: y = -inf, without a divide-by-zero warning
        y = xp.where(empty, -xp.inf, xp.log(xp.where(empty, 1, s)) + m).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, y)
        ctx.axis, ctx.keepdims = axis, keepdims
        return y if keepdims else y.reshape(_reduced_shape(x.shape, axis))

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        xp = ctx.xp
        g = expand_reduced(gy, x.shape, ctx.axis, ctx.keepdims)
        finite = xp.isfinite(y)  # a row of -inf has y = -inf and no gradient
        return g * xp.where(finite, xp.exp(x - xp.where(finite, y, 0)), 0)


# ------------------------------------------------------------------ functional
def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over ``axis`` (all axes by default)."""
    return Sum.apply(x, _axis(axis), keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (all axes by default)."""
    return Mean.apply(x, _axis(axis), keepdims)


def var(x, axis=None, keepdims=False, ddof=0):
    """Variance over ``axis``; ``ddof=1`` for the unbiased estimate."""
    return Var.apply(x, _axis(axis), keepdims, ddof)


def std(x, axis=None, keepdims=False, ddof=0):
    """Standard deviation √var; its gradient (x - m) / ((n - ddof) σ) is 0 where σ = 0."""
    return Std.apply(x, _axis(axis), keepdims, ddof)


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Maximum over ``axis``; the gradient is split evenly between tied maxima."""
    return Max.apply(x, _axis(axis), keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    """Minimum over ``axis``; the gradient is split evenly between tied minima."""
    return Min.apply(x, _axis(axis), keepdims)


def logsumexp(x, axis=None, keepdims=False):
    """log Σ exp(x) over ``axis``, stable for any finite logits (±1e4 included)."""
    return LogSumExp.apply(x, _axis(axis), keepdims)


def argmax(x, axis=None, keepdims=False):
    """Index of the maximum (an integer tensor: not differentiable)."""
    return Tensor._wrap(x.data.argmax(axis=axis, keepdims=keepdims))


def argmin(x, axis=None, keepdims=False):
    """Index of the minimum (an integer tensor: not differentiable)."""
    return Tensor._wrap(x.data.argmin(axis=axis, keepdims=keepdims))


# ------------------------------------------------------------------ registry
def _distinct(rng, *shape):
    """Values with no ties (a shuffled grid plus small noise), so max/min are smooth."""
    n = 1
    for s in shape:
        n *= s
    return (rng.permutation(n) * 0.3 + rng.uniform(0, 0.1, n)).reshape(shape)


def _register_all():
    n = lambda rng, *s: rng.standard_normal(s)  # noqa: E731
    axes = lambda r, f: [Case(f(r, 3, 4, 5)), Case(f(r, 3, 4, 5), axis=1),  # noqa: E731
                         Case(f(r, 3, 4, 5), axis=(0, 2), keepdims=True),
                         Case(f(r, 3, 4, 5), axis=-1)]
    register(sum, inputs=lambda r: axes(r, n))
    register(mean, inputs=lambda r: axes(r, n))
    register(var, inputs=lambda r: axes(r, n) + [Case(n(r, 4, 6), axis=1, ddof=1)])
    register(std, inputs=lambda r: axes(r, n) + [Case(n(r, 4, 6), axis=0, ddof=1)])
    register(max, inputs=lambda r: axes(r, _distinct))
    register(min, inputs=lambda r: axes(r, _distinct))
    register(logsumexp, inputs=lambda r: axes(r, n))


_register_all()
