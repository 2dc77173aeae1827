"""Order statistics and scans along one axis: sort, argsort, topk, kthvalue, median,
quantile, cumsum, cumprod, cummax (PyTorch's names, arguments and named-tuple results).

Sorting-type ops are a permutation (or a selection) of the input: the index set is computed
on the data, a constant of it (piecewise constant), and the values are ``take_along_axis``
of x at those indices, so dx is dy scattered back to the source places (dx[idx] = dy) by
``TakeAlongAxis``, whose backward is itself differentiable. Ties are broken
deterministically (a stable sort: equal values keep their order); NaN sorts as the
largest value, as in PyTorch. Finite differences need inputs away from ties.
"""
from collections import namedtuple

from minigrad.autograd import Function
from minigrad.ops._args import numpy_aliases
from minigrad.backends import backend_of_array
from minigrad.ops.elementwise import _refuse_complex
from minigrad.ops.indexing import TakeAlongAxis
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])
KthvalueResult = namedtuple("kthvalue", ["values", "indices"])
MedianResult = namedtuple("median", ["values", "indices"])
CummaxResult = namedtuple("cummax", ["values", "indices"])

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


# ------------------------------------------------------------------ scans
class Cumsum(Function):
    """y_i = Σ_{j≤i} x_j along ``axis``;  dx_j = Σ_{i≥j} dy_i: a cumsum of dy from the end."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return ctx.xp.cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        return xp.flip(xp.cumsum(xp.flip(gy, ctx.axis), ctx.axis), ctx.axis), None


class Cumprod(Function):
    """y_i = Π_{j≤i} x_j along ``axis``. dx_j = Σ_{i≥j} dy_i Π_{k≤i, k≠j} x_k
    = E_j R_j with E_j = Π_{k<j} x_k = y_{j−1} (E_0 = 1) and R_j = Σ_{i≥j} dy_i Π_{j<k≤i} x_k,
    which obeys R_j = dy_j + x_{j+1} R_{j+1}: a linear recurrence, run from the end as an
    associative scan in ⌈log₂ n⌉ doubling steps (``_affine_scan``). No division by x,
    so zeros in x (one or several) get their exact gradient."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, axis):
        y = ctx.xp.cumprod(x, axis=axis)
        ctx.save_for_backward(x, y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        x, y = ctx.saved_tensors
        n = x.shape[ctx.axis]
        if n == 0:
            return gy, None
        x, y, g = (xp.moveaxis(a, ctx.axis, -1) for a in (x, y, gy))
        ones = xp.ones(x.shape[:-1] + (1,), dtype=x.dtype)
        exclusive = xp.concatenate([ones, y[..., :-1]], axis=-1)            # E_j
        # reversed, R obeys r_t = h_t + a_t r_{t−1} with h = flip(dy), a_t = flip(x)_{t−1}
        a = xp.concatenate([ones * 0, xp.flip(x, -1)[..., :-1]], axis=-1)
        r = xp.flip(_affine_scan(xp, a, xp.flip(g, -1)), -1)
        return xp.moveaxis(exclusive * r, -1, ctx.axis), None


def _affine_scan(xp, a, b):
    """s_t = b_t + a_t s_{t−1} (s_{−1} = 0) along the last axis, by doubling (Hillis–Steele):
    after the step of offset d each place holds the composition of the maps of its last 2d
    places. Only products, sums, slices and concatenations: differentiable on tensors."""
    n, d = b.shape[-1], 1
    while d < n:
        pad = xp.zeros(b.shape[:-1] + (d,), dtype=b.dtype)
        b = b + a * xp.concatenate([pad, b[..., :-d]], axis=-1)
        a = a * xp.concatenate([pad, a[..., :-d]], axis=-1)
        d *= 2
    return b


def _inclusive_max_scan(xp, v):
    """Running maximum along the last axis by doubling (``maximum.accumulate``, which
    CuPy lacks), on arrays."""
    n, d = v.shape[-1], 1
    while d < n:
        v = xp.concatenate([v[..., :d], xp.maximum(v[..., d:], v[..., :-d])], axis=-1)
        d *= 2
    return v


# ------------------------------------------------------------------ index computations (arrays)
def _dim(op, x, dim):
    nd = max(x.ndim, 1)
    if not isinstance(dim, int) or isinstance(dim, bool) or not -nd <= dim < nd:
        raise IndexError(f"{op}: dim {dim!r} is out of range for a tensor of shape {x.shape} "
                         f"(valid dims are [{-nd}, {nd - 1}])")
    return dim % nd


def _argsort(xp, a, axis, descending):
    """Stable argsort; descending keeps equal values in their order too (and puts NaN first):
    the stable ascending order of the reversed slice, reversed, in the original places."""
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    return (n - 1) - xp.flip(xp.argsort(xp.flip(a, axis), axis=axis, kind="stable"), axis)


def _gather(x, idx, axis):
    """x's values at ``idx`` along ``axis`` (in range by construction, so unchecked)."""
    return TakeAlongAxis.apply(x, idx, axis)


def _scalar_safe(op, x, dim, fn):
    """PyTorch's sorting ops take 0-d tensors (dim 0 or −1) as one-element slices."""
    if x.ndim:
        return fn(x, _dim(op, x, dim))
    _dim(op, x, dim)
    out = fn(x.reshape(1), 0)
    return type(out)(*(o.reshape(()) for o in out)) if isinstance(out, tuple) else out.reshape(())


def _check_tensor(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")


# ------------------------------------------------------------------ functional
@numpy_aliases
def sort(x, dim=-1, descending=False, stable=False):
    """(values, indices) of x sorted along ``dim``: values = take_along_dim(x, indices) with
    values ascending (``descending=True``: descending). The sort is always stable (``stable``
    is accepted for PyTorch's signature). Backward: dx = dvalues scattered back through the
    indices (``TakeAlongAxis``); indices are int64, not differentiable."""
    _check_tensor("sort", x)

    def run(x, d):
        xp = backend_of_array(x.data).xp
        idx = _argsort(xp, x.data, d, descending)
        return SortResult(_gather(x, idx, d), Tensor._wrap(idx))
    return _scalar_safe("sort", x, dim, run)


@numpy_aliases
def argsort(x, dim=-1, descending=False, stable=False):
    """The indices that sort x along ``dim``: take_along_dim(x, indices) = sort(x).values
    (stable; an int64 tensor,
    not differentiable, no backward)."""
    _check_tensor("argsort", x)

    def run(x, d):
        return Tensor._wrap(_argsort(backend_of_array(x.data).xp, x.data, d, descending))
    return _scalar_safe("argsort", x, dim, run)


@numpy_aliases
def topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """(values, indices) of the k largest (``largest=False``: smallest) entries along ``dim``:
    values = the first k of sort(x, descending=largest), in sorted order (also with
    ``sorted=False``, where PyTorch promises no order). Backward: dvalues scattered back to
    ``indices`` (``TakeAlongAxis``)."""
    _check_tensor("topk", x)

    def run(x, d):
        n = x.shape[d]
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= n:
            raise ValueError(f"topk: k={k!r} is out of range for dim {d} of size {n} "
                             f"(tensor of shape {x.shape})")
        xp = backend_of_array(x.data).xp
        idx = _take_first(_argsort(xp, x.data, d, largest), k, d)
        return TopkResult(_gather(x, idx, d), Tensor._wrap(idx))
    return _scalar_safe("topk", x, dim, run)


def _take_first(idx, k, axis):
    return idx[(slice(None),) * axis + (slice(0, k),)]


@numpy_aliases
def kthvalue(x, k, dim=-1, keepdim=False):
    """(values, indices) of the k-th smallest entry along ``dim`` (k counts from 1):
    values = sort(x, dim).values[k − 1]; ``keepdim`` (default False) keeps ``dim`` with
    size 1. Backward: dvalues goes to ``indices`` (``TakeAlongAxis``)."""
    _check_tensor("kthvalue", x)

    def run(x, d):
        n = x.shape[d]
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
            raise ValueError(f"kthvalue: k={k!r} is out of range for dim {d} of size {n} "
                             f"(tensor of shape {x.shape}); k counts from 1")
        return _order_statistic(x, k - 1, d, keepdim, KthvalueResult, nan_first=False)
    return _scalar_safe("kthvalue", x, dim, run)


def _order_statistic(x, position, d, keepdim, result, nan_first):
    """The value at ``position`` of the sorted slices along d, and its index; with
    ``nan_first`` a slice holding NaN gives its first NaN (median propagates NaN)."""
    xp = backend_of_array(x.data).xp
    order = xp.argsort(x.data, axis=d, kind="stable")
    idx = order[(slice(None),) * d + (slice(position, position + 1),)]
    if nan_first and x.dtype.kind in "fc":
        nan = xp.isnan(x.data)
        idx = xp.where(nan.any(axis=d, keepdims=True), nan.argmax(axis=d, keepdims=True), idx)
    values, indices = _gather(x, idx, d), Tensor._wrap(idx)
    if not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return result(values, indices)


@numpy_aliases
def median(x, dim=None, keepdim=False):
    """The median along ``dim``: m = sort(x).values[(n − 1) // 2], so for an even count n
    the LOWER of the two middle values, as in
    PyTorch (not their mean). ``dim=None``: the median of all entries, one value; with a
    ``dim``: (values, indices). NaN anywhere in a slice makes its median NaN."""
    _check_tensor("median", x)
    if dim is None:
        flat = x.reshape(-1)
        if flat.shape[0] == 0:
            raise ValueError(f"median: the tensor of shape {x.shape} is empty")
        return _order_statistic(flat, (flat.shape[0] - 1) // 2, 0, False, MedianResult,
                                nan_first=True).values

    def run(x, d):
        n = x.shape[d]
        if n == 0:
            raise ValueError(f"median: dim {d} of the tensor of shape {x.shape} is empty")
        return _order_statistic(x, (n - 1) // 2, d, keepdim, MedianResult, nan_first=True)
    return _scalar_safe("median", x, dim, run)


@numpy_aliases
def quantile(x, q, dim=None, keepdim=False, interpolation="linear"):
    """The q-th quantiles along ``dim`` (all entries when None), q in [0, 1] a number or a 1-D
    sequence/tensor (then the q axis comes first, as in PyTorch). With r = q (n − 1), 'linear'
    gives x₍⌊r⌋₎ + (r − ⌊r⌋)(x₍⌈r⌉₎ − x₍⌊r⌋₎), so the gradient goes to the two order
    statistics with weights 1 − w and w; also 'lower', 'higher', 'midpoint', 'nearest'
    (round half to even). NaN in a slice gives NaN."""
    _check_tensor("quantile", x)
    if x.dtype.kind != "f":
        raise TypeError(f"quantile: the input must be float32 or float64, got {x.dtype}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"quantile: interpolation must be one of {_INTERPOLATIONS}, "
                         f"got {interpolation!r}")
    backend = backend_of_array(x.data)
    qs = _host_q(backend, q)
    source, d = (x.reshape(-1), 0) if dim is None or x.ndim == 0 else (x, _dim("quantile", x, dim))
    n = source.shape[d]
    if n == 0:
        raise ValueError(f"quantile: no values along dim {d} of the tensor of shape {x.shape}")
    lo, hi, w = _ranks(qs.reshape(-1) * (n - 1), n, interpolation)
    xp = backend.xp
    order = xp.argsort(source.data, axis=d, kind="stable")
    at = lambda pos: _gather(source, xp.take(order, backend.asarray(pos), axis=d), d)  # noqa: E731
    values = at(lo)
    if w.any():
        shape = [1] * source.ndim
        shape[d] = w.size
        weight = Tensor._wrap(backend.asarray(w.reshape(shape), dtype=x.dtype))
        values = values + weight * (at(hi) - values)
    nan = xp.isnan(source.data).any(axis=d, keepdims=True)
    if bool(nan.any()):
        from minigrad.ops.indexing import masked_fill
        values = masked_fill(values, Tensor._wrap(nan), float("nan"))
    # PyTorch's layout: the q axis first (none for a number q), then the other axes
    from minigrad.ops.shape import permute
    values = permute(values, d, *[a for a in range(values.ndim) if a != d])
    if dim is None or x.ndim == 0:
        kept = (1,) * x.ndim if keepdim else ()
        values = values.reshape((w.size,) + kept)
    elif keepdim:
        values = values.unsqueeze(d + 1)
    return values if qs.ndim else values.squeeze(0)


def _host_q(backend, q):
    import numpy
    qs = numpy.asarray(backend.to_numpy(q.data) if isinstance(q, Tensor) else q, dtype=float)
    if qs.ndim > 1:
        raise ValueError(f"quantile: q must be a number or a 1-D sequence, got shape {qs.shape}")
    if not numpy.all((qs >= 0) & (qs <= 1)):
        raise ValueError(f"quantile: q must lie in [0, 1], got {qs.tolist()}")
    return qs


def _ranks(rank, n, interpolation):
    """(lower position, upper position, weight of the upper) for each rank = q (n − 1)."""
    import numpy
    lo = numpy.floor(rank).astype(numpy.int64)
    hi = numpy.minimum(lo + 1, n - 1)
    w = rank - lo
    if interpolation == "midpoint":
        w = numpy.where(rank > lo, 0.5, 0.0)
    elif interpolation != "linear":
        pick = {"lower": lo, "higher": numpy.ceil(rank), "nearest": numpy.round(rank)}
        lo = pick[interpolation].astype(numpy.int64)
        hi, w = lo, numpy.zeros_like(w)
    return lo, hi, w


@numpy_aliases
def cumsum(x, dim):
    """Cumulative sum along ``dim``: y_i = Σ_{j≤i} x_j (integers and booleans sum in int64,
    as in PyTorch). Backward: the Function ``Cumsum`` (dx_j = Σ_{i≥j} dy_i)."""
    _check_tensor("cumsum", x)
    return _scalar_safe("cumsum", x, dim, lambda x, d: Cumsum.apply(x, d))


@numpy_aliases
def cumprod(x, dim):
    """Cumulative product along ``dim``: y_i = ∏_{j≤i} x_j. Backward: the Function
    ``Cumprod``, exact with zeros in x (no division)."""
    _check_tensor("cumprod", x)
    _refuse_complex("cumprod", x)          # its backward has no conjugate
    return _scalar_safe("cumprod", x, dim, lambda x, d: Cumprod.apply(x, d))


@numpy_aliases
def cummax(x, dim):
    """(values, indices): the running maximum along ``dim``, y_i = max_{j≤i} x_j, and where
    it was found (the latest place on ties, as in PyTorch); backward: the gradient goes to
    those places (``TakeAlongAxis``)."""
    _check_tensor("cummax", x)

    def run(x, d):
        xp = backend_of_array(x.data).xp
        a = xp.moveaxis(x.data, d, -1)
        running = _inclusive_max_scan(xp, a)
        n = a.shape[-1]
        # a place holding the running max so far is a record; the index is the latest record
        record = xp.where(a == running, xp.arange(n), -1)
        idx = xp.moveaxis(_inclusive_max_scan(xp, record), -1, d)
        idx = xp.ascontiguousarray(idx)
        return CummaxResult(_gather(x, idx, d), Tensor._wrap(idx))
    return _scalar_safe("cummax", x, dim, run)


# ------------------------------------------------------------------ registry
def _distinct(rng, *shape):
    """Values with no ties (a shuffled grid plus small noise), so the order is locally fixed."""
    n = 1
    for s in shape:
        n *= s
    return (rng.permutation(n) * 0.3 + rng.uniform(0, 0.1, n)).reshape(shape) - 0.15 * n


def _with_zeros(rng, *shape):
    x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    x[rng.uniform(size=shape) < 0.3] = 0.0
    return x


def _register_all():
    t = _distinct
    register(sort, inputs=lambda r: [Case(t(r, 3, 5)), Case(t(r, 4, 3), dim=0, descending=True),
                                     Case(t(r, 2, 3, 4), dim=1)])
    register(topk, inputs=lambda r: [Case(t(r, 3, 6), 2), Case(t(r, 5, 3), 3, dim=0, largest=False)])
    register(kthvalue, inputs=lambda r: [Case(t(r, 3, 5), 2), Case(t(r, 4, 3), 4, dim=0, keepdim=True)])
    register(median, inputs=lambda r: [Case(t(r, 3, 4)), Case(t(r, 3, 4), dim=1),
                                       Case(t(r, 5, 3), dim=0, keepdim=True)])
    register(quantile, inputs=lambda r: [
        Case(t(r, 3, 5), 0.3), Case(t(r, 4, 5), [0.1, 0.5, 0.85], dim=1),
        Case(t(r, 5, 3), 0.6, dim=0, keepdim=True), Case(t(r, 3, 4), [0.25, 0.7], keepdim=True),
        Case(t(r, 2, 5), 0.3, dim=-1, interpolation="midpoint"),
        Case(t(r, 2, 5), 0.6, dim=1, interpolation="nearest")])
    register(cumsum, inputs=lambda r: [Case(r.standard_normal((3, 4)), 1),
                                       Case(r.standard_normal((3, 4, 2)), 0)])
    register(cumprod, inputs=lambda r: [Case(r.uniform(0.5, 1.5, (3, 5)), 1),
                                        Case(_with_zeros(r, 4, 6), 1), Case(_with_zeros(r, 7, 2), 0)])
    register(cummax, inputs=lambda r: [Case(t(r, 3, 6), 1), Case(t(r, 5, 2), 0)])


_register_all()
