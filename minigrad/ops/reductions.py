"""Reductions over dimensions: sum, mean, prod, var, std, norm, max, min, amax, amin,
logsumexp, and the non-differentiable argmax/argmin.

Arguments follow PyTorch (``dim``, ``keepdim``; ``correction`` for var/std); NumPy's
``axis``, ``keepdims`` and ``ddof`` are accepted as keyword aliases. ``dim`` may be an int,
a tuple/list of ints, or None (every dimension), except where PyTorch takes one int
(``max``/``min`` with indices, ``argmax``/``argmin``).
"""
import builtins
from collections import namedtuple

from minigrad.autograd import Function
from minigrad.backends import backend_of_array
from minigrad.registry import Case, register
from minigrad.ops._args import dims, reject_unknown
from minigrad.ops._checks import check_floating
from minigrad.ops._util import expand_reduced, normalize_axis
from minigrad.tensor import Tensor

MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


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


class Prod(Function):
    """y = Π_dim x.  dy/dx_j = Π_{k≠j} x_k, the product of the OTHER entries of x_j's slice,
    computed as (exclusive prefix product) × (exclusive suffix product): two cumprods over
    the reduced entries laid out on one axis, never y / x_j, so one zero (whose gradient is
    the product of the rest) or several zeros (gradient 0 everywhere) come out exact.
    Second derivatives: ``composite``, the last entry of a cumprod (``Cumprod`` has a
    differentiable backward, also division-free)."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.save_for_backward(x)
        ctx.axis, ctx.keepdims = axis, keepdims
        return ctx.xp.prod(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        g = expand_reduced(gy, x.shape, ctx.axis, ctx.keepdims)
        return g * _others_product(ctx.xp, x, ctx.axis)

    @staticmethod
    def composite(x, axis, keepdims):
        from minigrad.ops.sorting import cumprod
        flat, lead, _, _ = _reduced_last(x, axis, lambda a, perm: a.permute(*perm))
        n = flat.shape[-1]
        y = cumprod(flat, -1)[..., n - 1] if n else (flat.sum(-1) + 1)
        return y.reshape(_kept_shape(x.shape, axis) if keepdims else lead)


def _reduced_last(x, axis, permute):
    """x with the reduced axes moved last and merged into one: (array, leading shape,
    permutation, transposed shape)."""
    axes = normalize_axis(axis, x.ndim)
    rest = [i for i in range(x.ndim) if i not in axes]
    perm = rest + list(axes)
    moved = permute(x, perm)
    lead = tuple(x.shape[i] for i in rest)
    n = 1
    for a in axes:
        n *= x.shape[a]
    return moved.reshape(lead + (n,)), lead, perm, moved.shape


def _others_product(xp, x, axis):
    """For every entry, the product of the other entries of its reduced slice."""
    flat, lead, perm, moved_shape = _reduced_last(x, axis, lambda a, p: xp.transpose(a, p))
    if flat.shape[-1] == 0:
        return xp.zeros(x.shape, dtype=x.dtype)
    ones = xp.ones(lead + (1,), dtype=x.dtype)
    before = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = xp.flip(xp.cumprod(xp.flip(xp.concatenate([flat[..., 1:], ones], axis=-1), -1),
                               axis=-1), -1)
    inverse = [0] * len(perm)
    for i, a in enumerate(perm):
        inverse[a] = i
    return xp.transpose((before * after).reshape(moved_shape), inverse)


def _kept_shape(shape, axis):
    axes = normalize_axis(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Norm(Function):
    """The vector p-norm over ``axis`` (all entries by default); y saved for backward.

    p = 2:     y = √(Σ x²);        dy/dx = x / y, and 0 where y = 0 (PyTorch's subgradient)
    p = 1:     y = Σ |x|;          dy/dx = sign(x) (0 at x = 0)
    p = ∞:     y = max |x|;        dy/dx = sign(x) on the entries with |x| = y, split evenly
    p = −∞:    y = min |x|;        the same on the entries with |x| = y
    p = 0:     y = #{x ≠ 0};       dy/dx = 0 (piecewise constant)
    other p:   y = (Σ |x|^p)^(1/p); dy/dx = (1/p)(Σ|x|^p)^(1/p − 1) · p |x|^(p−1) sign(x)
                                        = sign(x) |x|^(p−1) / y^(p−1), 0 where y = 0 or x = 0.
    The backward uses only where/abs/sign/powers: it runs on tensors (second derivatives)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, p, axis, keepdims):
        xp = ctx.xp
        a = xp.abs(x)
        if p == 2:
            y = xp.sqrt((x * x).sum(axis=axis, keepdims=True))
        elif p == 1:
            y = a.sum(axis=axis, keepdims=True)
        elif p == float("inf"):
            y = a.max(axis=axis, keepdims=True)
        elif p == -float("inf"):
            y = a.min(axis=axis, keepdims=True)
        elif p == 0:
            y = (x != 0).sum(axis=axis, keepdims=True).astype(x.dtype)
        else:
            y = (a ** p).sum(axis=axis, keepdims=True) ** (1.0 / p)
        y = y.astype(x.dtype, copy=False)
        ctx.save_for_backward(x, y)
        ctx.p, ctx.axis, ctx.keepdims = p, axis, keepdims
        return y if keepdims else y.reshape(_reduced_shape(x.shape, axis))

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        x, y = ctx.saved_tensors
        p = ctx.p
        g = expand_reduced(gy, x.shape, ctx.axis, ctx.keepdims)
        if p == 0:
            return g * xp.zeros_like(x)
        if p == 1:
            return g * xp.sign(x)
        if p in (float("inf"), -float("inf")):
            hit = xp.abs(x) == y
            return g * xp.sign(x) * hit / hit.sum(axis=ctx.axis, keepdims=True)
        zero = y == 0
        safe_y = xp.where(zero, 1, y)
        if p == 2:
            return g * xp.where(zero, 0, x / safe_y)
        a = xp.abs(x)
        nonzero = a != 0
        ratio = xp.where(nonzero, a, 1) / safe_y
        return g * xp.where(zero | ~nonzero, 0, xp.sign(x) * ratio ** (p - 1))


# ------------------------------------------------------------------ functional
_REDUCE_KW = ("input", "dim", "keepdim", "axis (alias of dim)", "keepdims (alias of keepdim)")


def sum(input, dim=None, keepdim=None, *, axis=None, keepdims=None, **unknown):  # noqa: A001,A002
    """Sum over ``dim``: y = Σ_dim x (every dimension when ``dim`` is None).

    Backward: the Function ``Sum`` (dy/dx = 1: the gradient is broadcast back).
    Arguments: ``dim`` int, tuple or None (default None); ``keepdim`` (default False)
    keeps the reduced dimensions with size 1. NumPy's ``axis``/``keepdims`` are aliases.
    Deviation from PyTorch: no ``dtype=`` argument (cast first, ``x.double().sum()``)."""
    if unknown:
        reject_unknown("sum", unknown, _REDUCE_KW)
    dim, keepdim = dims("sum", dim, axis, keepdim, keepdims)
    return Sum.apply(input, dim, keepdim)


def mean(input, dim=None, keepdim=None, *, axis=None, keepdims=None, **unknown):  # noqa: A002
    """Mean over ``dim``: y = (1/n) Σ_dim x, n the number of reduced entries.

    Backward: the Function ``Mean`` (dy/dx = 1/n). Arguments as ``sum``: ``dim`` (default
    None: all), ``keepdim`` (default False); aliases ``axis``/``keepdims``."""
    if unknown:
        reject_unknown("mean", unknown, _REDUCE_KW)
    dim, keepdim = dims("mean", dim, axis, keepdim, keepdims)
    return Mean.apply(input, dim, keepdim)


def prod(input, dim=None, keepdim=None, *, axis=None, keepdims=None, **unknown):  # noqa: A002
    """Product over ``dim``: y = Π_dim x (every dimension when ``dim`` is None).

    Backward: the Function ``Prod``: dy/dx_j = Π_{k≠j} x_k, from prefix and suffix
    products (no division by x, so zeros get their exact gradient).
    Arguments: ``dim`` (default None), ``keepdim`` (default False); aliases ``axis``/
    ``keepdims``. Deviation from PyTorch: ``dim`` may also be a tuple; no ``dtype=``."""
    if unknown:
        reject_unknown("prod", unknown, _REDUCE_KW)
    dim, keepdim = dims("prod", dim, axis, keepdim, keepdims)
    return Prod.apply(input, dim, keepdim)


_VAR_KW = ("input", "dim", "unbiased", "keepdim", "correction", "axis (alias of dim)",
           "keepdims (alias of keepdim)", "ddof (alias of correction)")


def _correction(op, dim, unbiased, correction, ddof):
    """PyTorch's ``correction`` from ``correction``/``unbiased``/``ddof`` (one at most);
    ``var(x, True)`` (the legacy ``var(input, unbiased)``) passes a bool as ``dim``."""
    if isinstance(dim, bool):
        if unbiased is not None:
            raise TypeError(f"{op}: got unbiased twice ({dim!r} as the second positional "
                            f"argument and unbiased={unbiased!r})")
        dim, unbiased = None, dim
    given = [f"{k}={v!r}" for k, v in (("correction", correction), ("unbiased", unbiased),
                                        ("ddof", ddof)) if v is not None]
    if len(given) > 1:
        raise TypeError(f"{op}: got {' and '.join(given)}; give only one of correction, "
                        "unbiased (True: correction=1, False: 0) and ddof (NumPy's name)")
    if unbiased is not None:
        return dim, int(bool(unbiased))
    value = correction if correction is not None else ddof
    return dim, 1 if value is None else value


def var(input, dim=None, unbiased=None, keepdim=None, *, correction=None,  # noqa: A002
        axis=None, keepdims=None, ddof=None, **unknown):
    """Variance over ``dim``: v = Σ (x − m)² / (n − correction), m the mean over ``dim``.

    PyTorch's default is the UNBIASED estimate, ``correction=1`` (Bessel's correction);
    ``correction=0`` is the population variance (NumPy's default, and what batch
    statistics use). Backward: the Function ``Var`` (dv/dx = 2 (x − m) / (n − correction)).
    Arguments: ``dim`` (default None: all), ``unbiased`` (legacy: True → correction 1,
    False → 0), ``keepdim`` (default False), keyword ``correction`` (default 1); NumPy's
    ``axis``, ``keepdims`` and ``ddof`` (= correction) are aliases; two of
    correction/unbiased/ddof together raise. Deviation from PyTorch: n − correction ≤ 0
    raises a ValueError instead of returning nan/inf with a warning."""
    if unknown:
        reject_unknown("var", unknown, _VAR_KW)
    dim, corr = _correction("var", dim, unbiased, correction, ddof)
    dim, keepdim = dims("var", dim, axis, keepdim, keepdims)
    return Var.apply(input, dim, keepdim, corr)


def std(input, dim=None, unbiased=None, keepdim=None, *, correction=None,  # noqa: A002
        axis=None, keepdims=None, ddof=None, **unknown):
    """Standard deviation over ``dim``: σ = √(Σ (x − m)² / (n − correction)).

    Default ``correction=1`` (unbiased variance, PyTorch's default); ``correction=0`` for
    the population statistic. Backward: the Function ``Std``
    (dσ/dx = (x − m) / ((n − correction) σ), and 0 where σ = 0, as PyTorch).
    Arguments and aliases as ``var`` (``unbiased``, ``keepdim``, ``correction``; ``axis``,
    ``keepdims``, ``ddof``)."""
    if unknown:
        reject_unknown("std", unknown, _VAR_KW)
    dim, corr = _correction("std", dim, unbiased, correction, ddof)
    dim, keepdim = dims("std", dim, axis, keepdim, keepdims)
    return Std.apply(input, dim, keepdim, corr)


_NORM_KW = ("input", "p", "dim", "keepdim", "axis (alias of dim)", "keepdims (alias of keepdim)")


def norm(input, p="fro", dim=None, keepdim=None, *, axis=None, keepdims=None,  # noqa: A002
         **unknown):
    """Vector p-norm over ``dim`` (``torch.norm``): y = (Σ_dim |x|^p)^(1/p).

    p = 'fro' or 2: √(Σ x²); 1: Σ|x|; inf: max|x|; -inf: min|x|; 0: the count of nonzeros;
    any other number: (Σ|x|^p)^(1/p). Backward: the Function ``Norm`` (for p = 2,
    dy/dx = x / y, and 0 at x = 0, PyTorch's subgradient; for ±inf the gradient is split
    evenly among tied extremes). Arguments: ``p`` (default 'fro'), ``dim`` (default None:
    every entry, flattened), ``keepdim`` (default False); aliases ``axis``/``keepdims``.
    Deviation from PyTorch: always the vector norm over ``dim`` ('fro' over two dims is the
    same value); 'nuc' and matrix 2-norms are in ``minigrad.linalg``; no complex input."""
    if unknown:
        reject_unknown("norm", unknown, _NORM_KW)
    if p == "fro":
        p = 2
    if isinstance(p, str) or isinstance(p, bool) or not isinstance(p, (int, float)):
        raise ValueError(f"norm: p must be 'fro' or a number (1, 2, inf, -inf, ...), got {p!r}; "
                         "for the nuclear norm use minigrad.linalg.matrix_norm(x, 'nuc')")
    check_floating("norm", input=input)
    dim, keepdim = dims("norm", dim, axis, keepdim, keepdims)
    return Norm.apply(input, float(p), dim, keepdim)


_MAX_KW = ("input", "dim", "keepdim", "other", "axis (alias of dim)", "keepdims (alias of keepdim)")


def max(input, dim=None, keepdim=None, *, other=None, axis=None, keepdims=None,  # noqa: A001,A002
        **unknown):
    """The maximum, in PyTorch's three forms:

    - ``max(x)``: y = max over all entries, a 0-d tensor; the gradient is split evenly
      among tied maxima (the Function ``Max``, as PyTorch does for the full reduction);
    - ``max(x, dim, keepdim=False)``: a named tuple ``(values, indices)`` (like
      ``torch.return_types.max``): values[i] = x[i, indices[i]] along ``dim`` (the first
      maximum on ties; NaN wins). Backward: values are ``take_along_axis(x, indices)``, so
      ALL the gradient goes to the returned index (PyTorch's rule), none to the other ties;
      indices are int64 and not differentiable;
    - ``max(x, other)`` (a tensor as the second argument, or ``other=``): the elementwise
      maximum, ``maximum(x, other)``.

    ``dim`` is one int, as in PyTorch: for several dims (values only, ties split evenly)
    use ``amax``. Deviation from PyTorch (which treats ``axis`` as a plain alias of ``dim``):
    NumPy's spelling ``x.max(axis=1, keepdims=True)`` gives NumPy's result, the values only
    (``amax``: an int or a tuple of axes, ties split evenly), so code written for arrays
    runs on tensors unchanged; ``keepdims`` is otherwise an alias of ``keepdim``."""
    if unknown:
        reject_unknown("max", unknown, _MAX_KW)
    return _extremum("max", input, dim, keepdim, other, axis, keepdims)


def min(input, dim=None, keepdim=None, *, other=None, axis=None, keepdims=None,  # noqa: A001,A002
        **unknown):
    """The minimum, in PyTorch's three forms (see ``max``): ``min(x)`` the overall minimum
    y = min over all entries (gradient split evenly among ties, Function ``Min``); ``min(x, dim, keepdim=False)`` the
    named tuple ``(values, indices)``, all the gradient to the returned (first) index;
    ``min(x, other)`` the elementwise ``minimum``. For several dims use ``amin``; NumPy's
    ``x.min(axis=..., keepdims=...)`` gives the values only, as ``amin`` (see ``max``)."""
    if unknown:
        reject_unknown("min", unknown, _MAX_KW)
    return _extremum("min", input, dim, keepdim, other, axis, keepdims)


def _extremum(op, x, dim, keepdim, other, axis, keepdims):
    from minigrad.ops import elementwise as E
    if other is None and not (dim is None or isinstance(dim, int)) \
            and not isinstance(dim, (tuple, list)):
        other, dim = dim, None           # max(x, y): y a tensor, an array or a number
    if other is not None:
        if dim is not None or axis is not None or keepdim is not None or keepdims is not None:
            raise TypeError(f"{op}: the elementwise form {op}(input, other) takes no dim/keepdim")
        return (E.maximum if op == "max" else E.minimum)(x, other)
    if axis is not None:                 # NumPy's spelling: NumPy's result (values, as amax)
        dim, keepdim = dims(op, dim, axis, keepdim, keepdims)
        return (Max if op == "max" else Min).apply(x, dim, keepdim)
    dim, keepdim = dims(op, dim, axis, keepdim, keepdims)
    if dim is None:
        if keepdim:
            raise TypeError(f"{op}: keepdim=True needs a dim (for every dim use a{op}(x, "
                            "keepdim=True))")
        if x.data.size == 0:
            raise ValueError(f"{op}: the tensor of shape {x.shape} is empty")
        return (Max if op == "max" else Min).apply(x, None, False)
    if isinstance(dim, tuple) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be one int to return (values, indices), got {dim!r}; "
                        f"for the {op} over several dims use a{op}(x, dim={dim!r})")
    nd = builtins.max(x.ndim, 1)
    if not -nd <= dim < nd:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of shape {x.shape} "
                         f"(valid dims are [{-nd}, {nd - 1}])")
    source = x.reshape(1) if x.ndim == 0 else x
    d = dim % nd
    if source.shape[d] == 0:
        raise ValueError(f"{op}: dim {d} of the tensor of shape {x.shape} is empty")
    xp = backend_of_array(x.data).xp
    pick_index = xp.argmax if op == "max" else xp.argmin
    idx = xp.expand_dims(pick_index(source.data, axis=d), d).astype("int64", copy=False)
    from minigrad.ops.indexing import TakeAlongAxis
    values, indices = TakeAlongAxis.apply(source, idx, d), Tensor._wrap(idx)
    if x.ndim == 0:
        values, indices = values.reshape(()), indices.reshape(())
    elif not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return (MaxResult if op == "max" else MinResult)(values, indices)


def amax(input, dim=None, keepdim=None, *, axis=None, keepdims=None, **unknown):  # noqa: A002
    """The maximum values over ``dim`` (an int, a tuple, or None: every entry):
    y = max_dim x, values only (``torch.amax``).

    Backward: the Function ``Max``: the gradient is split EVENLY among tied maxima
    (PyTorch's amax rule; ``max(x, dim)`` instead gives it all to the returned index).
    Arguments: ``dim`` (default None), ``keepdim`` (default False); aliases ``axis``/
    ``keepdims``. Deviation from PyTorch: ``dim=None`` reduces every dim (PyTorch's
    default ``dim=()`` does too)."""
    if unknown:
        reject_unknown("amax", unknown, _REDUCE_KW)
    dim, keepdim = dims("amax", dim, axis, keepdim, keepdims)
    return Max.apply(input, dim, keepdim)


def amin(input, dim=None, keepdim=None, *, axis=None, keepdims=None, **unknown):  # noqa: A002
    """The minimum values over ``dim``: y = min_dim x (``torch.amin``). Backward: the
    Function ``Min``, split evenly among tied minima. Arguments and aliases as ``amax``."""
    if unknown:
        reject_unknown("amin", unknown, _REDUCE_KW)
    dim, keepdim = dims("amin", dim, axis, keepdim, keepdims)
    return Min.apply(input, dim, keepdim)


def logsumexp(input, dim=None, keepdim=None, *, axis=None, keepdims=None, **unknown):  # noqa: A002
    """y = log Σ_dim exp(x), computed as m + log Σ exp(x − m) with m the max (stable for any
    finite logits, ±1e4 included).

    Backward: the Function ``LogSumExp`` (dy/dx = softmax(x) = exp(x − y)).
    Arguments: ``dim`` (default None: every entry; PyTorch requires it), ``keepdim``
    (default False); aliases ``axis``/``keepdims``."""
    if unknown:
        reject_unknown("logsumexp", unknown, _REDUCE_KW)
    dim, keepdim = dims("logsumexp", dim, axis, keepdim, keepdims)
    return LogSumExp.apply(input, dim, keepdim)


def argmax(input, dim=None, keepdim=None, *, axis=None, keepdims=None, **unknown):  # noqa: A002
    """Index of the maximum along ``dim``: i = argmax_dim x (the first on ties), an int64
    tensor, not differentiable (no backward). ``dim=None``: the index into the flattened
    tensor.
    Arguments: ``dim`` (one int or None), ``keepdim`` (default False); aliases
    ``axis``/``keepdims``."""
    if unknown:
        reject_unknown("argmax", unknown, _REDUCE_KW)
    dim, keepdim = dims("argmax", dim, axis, keepdim, keepdims)
    return Tensor._wrap(input.data.argmax(axis=dim, keepdims=keepdim).astype("int64", copy=False))


def argmin(input, dim=None, keepdim=None, *, axis=None, keepdims=None, **unknown):  # noqa: A002
    """Index of the minimum along ``dim``: i = argmin_dim x (the first on ties), an int64
    tensor, not differentiable (no backward). Arguments and aliases as ``argmax``."""
    if unknown:
        reject_unknown("argmin", unknown, _REDUCE_KW)
    dim, keepdim = dims("argmin", dim, axis, keepdim, keepdims)
    return Tensor._wrap(input.data.argmin(axis=dim, keepdims=keepdim).astype("int64", copy=False))


# ------------------------------------------------------------------ registry
def _distinct(rng, *shape):
    """Values with no ties (a shuffled grid plus small noise), so max/min are smooth."""
    n = 1
    for s in shape:
        n *= s
    return (rng.permutation(n) * 0.3 + rng.uniform(0, 0.1, n)).reshape(shape)


def _signed_distinct(rng, *shape):
    """Distinct absolute values, random signs, away from 0 (norms with p = ±inf, 1)."""
    return (_distinct(rng, *shape) + 0.2) * rng.choice([-1.0, 1.0], shape)


def _with_zeros(rng, *shape):
    x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    x[rng.uniform(size=shape) < 0.3] = 0.0
    return x


def _register_all():
    n = lambda rng, *s: rng.standard_normal(s)  # noqa: E731
    axes = lambda r, f: [Case(f(r, 3, 4, 5)), Case(f(r, 3, 4, 5), axis=1),  # noqa: E731
                         Case(f(r, 3, 4, 5), axis=(0, 2), keepdims=True),
                         Case(f(r, 3, 4, 5), axis=-1)]
    # var/std cases give ddof (0 or 1) explicitly: the oracle keeps NumPy's ddof=0 default
    ddof0 = lambda r: [Case(*c.args, **c.kwargs, ddof=0) for c in axes(r, n)]  # noqa: E731
    register(sum, inputs=lambda r: axes(r, n))
    register(mean, inputs=lambda r: axes(r, n))
    register(var, inputs=lambda r: ddof0(r) + [Case(n(r, 4, 6), axis=1, ddof=1)])
    register(std, inputs=lambda r: ddof0(r) + [Case(n(r, 4, 6), axis=0, ddof=1)])
    register(max, inputs=lambda r: [Case(_distinct(r, 3, 4, 5))])
    register(min, inputs=lambda r: [Case(_distinct(r, 3, 4, 5))])
    register(amax, inputs=lambda r: axes(r, _distinct) + [Case(_distinct(r, 3, 4), dim=1)])
    register(amin, inputs=lambda r: axes(r, _distinct) + [Case(_distinct(r, 3, 4), dim=1)])
    register(logsumexp, inputs=lambda r: axes(r, n))
    register(prod, inputs=lambda r: [Case(r.uniform(0.5, 1.5, (3, 4))),
                                     Case(r.uniform(0.5, 1.5, (3, 4, 2)), dim=1),
                                     Case(_with_zeros(r, 4, 5), dim=1, keepdim=True),
                                     Case(_with_zeros(r, 3, 2, 4), dim=(0, 2))])
    # 'norm' is torch.linalg.norm's entry (minigrad.linalg): this one is torch.norm
    register(norm, name="tensor_norm", inputs=lambda r: [
        Case(n(r, 3, 4)), Case(n(r, 3, 4), 2, dim=1), Case(_signed_distinct(r, 3, 4), 1, dim=0,
                                                           keepdim=True),
        Case(_signed_distinct(r, 3, 4), float("inf"), dim=1),
        Case(_signed_distinct(r, 3, 4), -float("inf"), dim=1),
        Case(_signed_distinct(r, 2, 5), 3, dim=-1), Case(_signed_distinct(r, 2, 5), 0.5)])


_register_all()
