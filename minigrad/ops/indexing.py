"""Indexing: getitem (basic and advanced), gather/take_along_axis, index_select,
masked_fill, and the integer-valued one_hot."""
from minigrad.autograd import Function
from minigrad.backends import backend_of_array
from minigrad.ops._checks import check_index_range
from minigrad.registry import Case, register
from minigrad.tensor import Tensor, _index_array


def _is_basic(index):
    """True when the index has only ints, slices, None and Ellipsis (a view, no copies)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


class GetItem(Function):
    """y = x[index]. Each element of y was read from one place of x, so dx is
    zeros with dy added back at those places: a plain assignment for basic
    indexing (slices read each element once), a scatter-add for integer arrays
    (which may read an element several times)."""
    differentiable_backward = True
    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        try:
            return x[index]
        except IndexError as err:
            raise IndexError(f"getitem: {err} (tensor of shape {x.shape})") from None

    @staticmethod
    def backward(ctx, gy):
        return _scatter_add(ctx, ctx.shape, ctx.index, gy)


def _scatter_add(ctx, shape, index, g):
    """zeros(shape) with ``g`` added at ``index``: a plain assignment for basic indexing
    (each place read once), a scatter-add kernel for integer arrays; on tensors (a
    ``create_graph`` backward) the recorded ``ScatterAdd``."""
    if isinstance(g, Tensor):
        return ScatterAdd.apply(g, tuple(shape), index)
    if _is_basic(index) or _is_boolean(index):
        gx = ctx.xp.zeros(shape, dtype=g.dtype)
        gx[index] = g
        return gx
    return ctx.backend.kernels("indexing").scatter_add(shape, g.dtype, index, g)


class ScatterAdd(Function):
    """y = zeros(shape) with v added at ``index`` (repeated places add up): the backward of
    x[index], as an op of its own so that a gradient of a gradient can flow through it;
    dv = dy[index]."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, v, shape, index):
        ctx.index = index
        return _scatter_add(ctx, shape, index, v)

    @staticmethod
    def backward(ctx, gy):
        return gy[ctx.index]


def _is_boolean(index):
    return getattr(index, "dtype", None) is not None and index.dtype == bool


class TakeAlongAxis(Function):
    """y = take_along_axis(x, idx, axis) (PyTorch's ``gather``);
    dx = zeros with dy scatter-added along ``axis`` at idx."""
    differentiable_backward = True
    @staticmethod
    def forward(ctx, x, idx, axis):
        ctx.shape, ctx.axis = x.shape, axis
        ctx.save_for_backward(idx)
        return ctx.xp.take_along_axis(x, idx, axis=axis)

    @staticmethod
    def backward(ctx, gy):
        idx, = ctx.saved_tensors
        index = list(_open_grid(ctx.backend.xp, idx.shape))
        index[ctx.axis] = _array(idx)
        return _scatter_add(ctx, ctx.shape, tuple(index), gy), None, None


def _array(x):
    return x.data if isinstance(x, Tensor) else x


def _open_grid(xp, shape):
    """``numpy.indices(shape, sparse=True)``, which CuPy lacks: one ``arange`` per
    axis, shaped to broadcast along that axis only."""
    ndim = len(shape)
    return tuple(xp.arange(n).reshape((1,) * k + (n,) + (1,) * (ndim - k - 1))
                 for k, n in enumerate(shape))


class IndexSelect(Function):
    """y = x.take(idx, axis) (rows of an embedding table, say);
    dx = zeros with dy scatter-added at idx along ``axis``."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, idx, axis):
        ctx.shape, ctx.axis = x.shape, axis
        ctx.save_for_backward(idx)
        return ctx.xp.take(x, idx, axis=axis)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        idx = _array(ctx.saved_tensors[0])
        moved = (ctx.shape[ctx.axis],) + ctx.shape[:ctx.axis] + ctx.shape[ctx.axis + 1:]
        g = xp.moveaxis(gy, list(range(ctx.axis, ctx.axis + idx.ndim)), list(range(idx.ndim)))
        return xp.moveaxis(_scatter_add(ctx, moved, idx, g), 0, ctx.axis)


class MaskedFill(Function):
    """y = value where mask else x;  dx = dy where not mask, else 0."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.save_for_backward(mask)
        return ctx.xp.where(mask, ctx.xp.asarray(value, dtype=x.dtype), x)

    @staticmethod
    def backward(ctx, gy):
        mask, = ctx.saved_tensors
        return ctx.xp.where(mask, ctx.xp.zeros((), dtype=gy.dtype), gy), None


def getitem(x, index):
    """x[index] with ints, slices, None, Ellipsis, integer arrays or a boolean mask."""
    return GetItem.apply(x, _index_array(index, backend_of_array(x.data)))


def take_along_axis(x, indices, axis):
    """Pick ``x[..., indices[...], ...]`` along ``axis`` (``torch.gather``); indices must lie
    in [0, x.shape[axis]) (negative ones raise, as in PyTorch)."""
    idx = indices.data if isinstance(indices, Tensor) else indices
    _check_integer("take_along_axis", idx)
    if getattr(idx, "ndim", None) != x.ndim:
        raise ValueError(f"take_along_axis: indices of shape {getattr(idx, 'shape', None)} need "
                         f"{x.ndim} dimensions, like x of shape {x.shape}")
    idx, axis = _like(idx, x), axis % x.ndim
    check_index_range("take_along_axis", idx, x.shape[axis], f"dimension {axis}")
    return TakeAlongAxis.apply(x, idx, axis)


gather = take_along_axis


def index_select(x, axis, indices):
    """Entries of x at ``indices`` along ``axis`` (``torch.index_select``); indices must lie
    in [0, x.shape[axis]) (negative ones raise, as in PyTorch)."""
    idx = indices.data if isinstance(indices, Tensor) else indices
    _check_integer("index_select", idx)
    idx, axis = _like(idx, x), axis % x.ndim
    check_index_range("index_select", idx, x.shape[axis], f"dimension {axis}")
    return IndexSelect.apply(x, idx, axis)


def masked_fill(x, mask, value):
    """x with ``value`` wherever the boolean ``mask`` (broadcast to x) is true."""
    m = mask.data if isinstance(mask, Tensor) else mask
    m = _like(m, x)
    if m.dtype != bool:
        raise TypeError(f"masked_fill: the mask must be boolean, got {m.dtype}")
    if m.ndim > x.ndim or any(a != 1 and a != b for a, b in zip(m.shape[::-1], x.shape[::-1])):
        raise ValueError(f"masked_fill: mask of shape {m.shape} does not broadcast to "
                         f"x of shape {x.shape}")
    return MaskedFill.apply(x, Tensor._wrap(m), value)


def one_hot(indices, num_classes, dtype="float32"):
    """Rows of the identity picked by integer ``indices``: shape indices.shape + (num_classes,).
    Not differentiable (the result is a constant of the indices)."""
    idx = (indices if isinstance(indices, Tensor) else Tensor(indices)).data
    xp = backend_of_array(idx).xp
    _check_integer("one_hot", idx)
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"one_hot: indices must lie in [0, {num_classes}), "
                         f"got values from {int(idx.min())} to {int(idx.max())}")
    return Tensor._wrap((idx[..., None] == xp.arange(num_classes)).astype(dtype))


def _like(array, x):
    return backend_of_array(x.data).asarray(array)


def _check_integer(op, idx):
    kind = getattr(getattr(idx, "dtype", None), "kind", None)
    if kind not in ("i", "u"):
        raise TypeError(f"{op}: indices must be an integer array, got "
                        f"{getattr(idx, 'dtype', type(idx).__name__)}")


def _register_all():
    n = lambda rng, *s: rng.standard_normal(s)  # noqa: E731
    register(getitem, inputs=lambda r: [
        Case(n(r, 4, 5), (slice(1, 3), 2)), Case(n(r, 4, 5), (None, Ellipsis, slice(None, None, 2))),
        Case(n(r, 4, 5), r.integers(0, 4, 7)), Case(n(r, 4, 5), (r.integers(0, 4, 6), r.integers(0, 5, 6))),
        Case(n(r, 4, 5), n(r, 4, 5) > 0)])
    register(take_along_axis, aliases=["gather"],
             inputs=lambda r: [Case(n(r, 4, 5), r.integers(0, 5, (4, 3)), 1),
                               Case(n(r, 4, 5), r.integers(0, 4, (6, 5)), 0)])
    register(index_select, inputs=lambda r: [Case(n(r, 6, 3), 0, r.integers(0, 6, 8)),
                                             Case(n(r, 3, 6), 1, r.integers(0, 6, (2, 4)))])
    register(masked_fill, inputs=lambda r: Case(n(r, 3, 4), n(r, 1, 4) > 0, -1.0))


_register_all()
