"""Indexing: getitem (basic and advanced), gather/take_along_axis, index_select,
masked_fill, and the integer-valued one_hot."""
import numbers

import numpy

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
    """y = x[index] with ints, slices, None, Ellipsis, integer arrays or a boolean mask.
    Backward: the Function ``GetItem`` (dx = zeros with dy added back where it was read)."""
    return GetItem.apply(x, _index_array(index, backend_of_array(x.data)))


def take_along_axis(x, indices, axis):
    """y[..., i, ...] = x[..., indices[..., i, ...], ...] along ``axis`` (NumPy's
    ``take_along_axis`` order; ``gather(input, dim, index)`` is PyTorch's); indices must lie
    in [0, x.shape[axis]) (negative ones raise, as in PyTorch). Backward: the Function
    ``TakeAlongAxis`` (dx = zeros with dy scatter-added at the indices)."""
    idx = indices.data if isinstance(indices, Tensor) else indices
    _check_integer("take_along_axis", idx)
    if getattr(idx, "ndim", None) != x.ndim:
        raise ValueError(f"take_along_axis: indices of shape {getattr(idx, 'shape', None)} need "
                         f"{x.ndim} dimensions, like x of shape {x.shape}")
    idx, axis = _like(idx, x), axis % x.ndim
    check_index_range("take_along_axis", idx, x.shape[axis], f"dimension {axis}")
    return TakeAlongAxis.apply(x, idx, axis)


def gather(input, dim, index, *, sparse_grad=False):  # noqa: A002
    """y[i][j][k] = input[index[i][j][k]][j][k] for dim=0 (the index replaces coordinate
    ``dim``), PyTorch's ``torch.gather(input, dim, index)`` and ``x.gather(dim, index)``;
    index has input's number of dimensions, its values lie in [0, input.size(dim)).
    Backward: the Function ``TakeAlongAxis`` (dinput = zeros with dy scatter-added at the
    gathered places). NumPy's order is ``take_along_axis(x, indices, axis)``; the old minigrad
    call ``gather(x, indices, axis)`` (an index array second, an int third) still works.
    ``sparse_grad`` is accepted and ignored (gradients are dense)."""
    if isinstance(index, numbers.Integral) and not isinstance(dim, numbers.Integral):
        dim, index = index, dim                               # gather(x, indices, axis)
    if not isinstance(dim, numbers.Integral):
        raise TypeError(f"gather: dim must be an int, got {type(dim).__name__}; the call is "
                        "gather(input, dim, index)")
    dim = int(dim)
    shape = tuple(getattr(index, "shape", ()))
    if len(shape) == input.ndim and shape != tuple(input.shape):
        d = dim % max(input.ndim, 1)
        if any(i > n for k, (i, n) in enumerate(zip(shape, input.shape)) if k != d):
            raise ValueError(f"gather: index of shape {shape} is larger than input of shape "
                             f"{tuple(input.shape)} outside dimension {d}")
        # PyTorch reads only the leading part of input outside ``dim`` (NumPy would broadcast)
        input = getitem(input, tuple(slice(0, i) if k != d else slice(None)
                                     for k, i in enumerate(shape)))
    return take_along_axis(input, index, dim)


def index_select(x, axis, indices):
    """y[..., i, ...] = x[..., indices[i], ...] along ``axis`` (``torch.index_select``); indices
    must lie in [0, x.shape[axis]) (negative ones raise, as in PyTorch). Backward: the
    Function ``IndexSelect`` (dx = zeros with dy scatter-added at the indices)."""
    idx = indices.data if isinstance(indices, Tensor) else indices
    _check_integer("index_select", idx)
    idx, axis = _like(idx, x), axis % x.ndim
    check_index_range("index_select", idx, x.shape[axis], f"dimension {axis}")
    return IndexSelect.apply(x, idx, axis)


def masked_fill(x, mask, value):
    """y = value where mask else x (``torch.masked_fill``; the boolean ``mask`` broadcasts to
    x). Backward: the Function ``MaskedFill`` (dx = dy where not mask, else 0)."""
    m = mask.data if isinstance(mask, Tensor) else mask
    m = _like(m, x)
    if m.dtype != bool:
        raise TypeError(f"masked_fill: the mask must be boolean, got {m.dtype}")
    if m.ndim > x.ndim or any(a != 1 and a != b for a, b in zip(m.shape[::-1], x.shape[::-1])):
        raise ValueError(f"masked_fill: mask of shape {m.shape} does not broadcast to "
                         f"x of shape {x.shape}")
    return MaskedFill.apply(x, Tensor._wrap(m), value)


def one_hot(tensor, num_classes=-1, dtype="int64"):
    """Rows of the identity picked by integer indices (``F.one_hot``): y[..., c] = 1 if
    tensor[...] == c else 0, shape tensor.shape + (num_classes,); ``num_classes=-1`` (the
    default) uses tensor.max() + 1. int64, as PyTorch; ``dtype`` is a minigrad extension
    (``one_hot(t, k, dtype='float32')`` to build float targets; or ``.float()``). Not
    differentiable (the result is a constant of the indices)."""
    idx = (tensor if isinstance(tensor, Tensor) else Tensor(tensor)).data
    xp = backend_of_array(idx).xp
    _check_integer("one_hot", idx)
    if num_classes == -1:
        if not idx.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; "
                             "give num_classes")
        num_classes = int(idx.max()) + 1
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"one_hot: indices must lie in [0, {num_classes}), "
                         f"got values from {int(idx.min())} to {int(idx.max())}")
    return Tensor._wrap((idx[..., None] == xp.arange(num_classes)).astype(dtype))


class IndexAdd(Function):
    """y = input with alpha·source[..., i, ...] added at input[..., index[i], ...] along ``dim``
    (repeated indices add up). dinput = dy;  dsource[..., i, ...] = alpha·dy[..., index[i], ...]
    (``index_select`` of the gradient)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, idx, src, dim, alpha):
        xp = ctx.xp
        ctx.idx, ctx.dim, ctx.alpha = idx, dim, alpha
        moved = (x.shape[dim],) + x.shape[:dim] + x.shape[dim + 1:]
        values = xp.moveaxis(src if alpha == 1 else src * alpha, dim, 0)
        added = ctx.backend.kernels("indexing").scatter_add(moved, x.dtype, idx, values)
        return x + xp.moveaxis(added, 0, dim)

    @staticmethod
    def backward(ctx, gy):
        gsrc = None
        if ctx.needs_input_grad[2]:
            gsrc = ctx.xp.take(gy, ctx.idx, axis=ctx.dim)
            gsrc = gsrc if ctx.alpha == 1 else gsrc * ctx.alpha
        return gy, None, gsrc, None, None


class Scatter(Function):
    """y = input with src[i][j][k] written at y[index[i][j][k]][j][k] (dim=0; the index
    replaces coordinate ``dim``), or the number ``value`` there. Each written place takes
    one value (duplicates are refused by ``scatter``), so dinput = dy where not written, 0
    where written; dsrc = dy gathered at the written places (``gather(dy, dim, index)``)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, idx, src, dim, written):
        ctx.dim = dim
        ctx.save_for_backward(idx, written)
        grid = list(_open_grid(ctx.xp, idx.shape))
        grid[dim] = idx
        y = x.copy()
        y[tuple(grid)] = src
        return y

    @staticmethod
    def backward(ctx, gy):
        idx, written = ctx.saved_tensors
        xp = ctx.xp
        gx = xp.where(written, xp.zeros((), dtype=gy.dtype), gy) if ctx.needs_input_grad[0] else None
        gsrc = None
        if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]:
            gsrc = gy[_grid(ctx, idx, ctx.dim)]
        return gx, None, gsrc, None, None


class ScatterAddDim(Function):
    """y = input with src[i][j][k] added at y[index[i][j][k]][j][k] (dim=0; repeated places
    add up), ``torch.scatter_add``. dinput = dy;  dsrc = dy gathered at the places
    (``gather(dy, dim, index)``)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, idx, src, dim):
        ctx.dim = dim
        ctx.save_for_backward(idx)
        grid = list(_open_grid(ctx.xp, idx.shape))
        grid[dim] = idx
        return x + ctx.backend.kernels("indexing").scatter_add(x.shape, x.dtype, tuple(grid), src)

    @staticmethod
    def backward(ctx, gy):
        idx, = ctx.saved_tensors
        gsrc = gy[_grid(ctx, idx, ctx.dim)] if ctx.needs_input_grad[2] else None
        return gy, None, gsrc, None


def _grid(ctx, idx, dim):
    """The full index that reads y[..., idx[i, j, ...], ...] with idx replacing coordinate
    ``dim`` (PyTorch's gather: idx may be smaller than y along the other axes)."""
    idx = _array(idx)
    grid = list(_open_grid(ctx.backend.xp, idx.shape))
    grid[dim] = idx
    return tuple(grid)


def _dim(op, dim, ndim):
    if not isinstance(dim, numbers.Integral) or not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{op}: dim {dim!r} is out of range for a tensor with {ndim} dimensions")
    return int(dim) % max(ndim, 1)


def index_add(input, dim, index, source, *, alpha=1):  # noqa: A002
    """input with alpha·source added along ``dim`` at the positions ``index``
    (``torch.index_add``): y[..., index[i], ...] += alpha·source[..., i, ...]; repeated indices
    add up. index: 1-D integers in [0, input.size(dim)); source: input's shape with
    len(index) along ``dim``; one dtype. Backward: the Function ``IndexAdd``
    (dinput = dy, dsource = alpha·index_select(dy, dim, index))."""
    dim = _dim("index_add", dim, input.ndim)
    idx = _like(index.data if isinstance(index, Tensor) else index, input)
    _check_integer("index_add", idx)
    source = source if isinstance(source, Tensor) else Tensor._wrap(_like(source, input))
    if idx.ndim != 1:
        raise ValueError(f"index_add: index must be 1-D, got shape {tuple(idx.shape)}")
    expected = input.shape[:dim] + (idx.shape[0],) + input.shape[dim + 1:]
    if tuple(source.shape) != tuple(expected) and not (input.ndim == 0 and source.ndim == 0):
        raise ValueError(f"index_add: source of shape {tuple(source.shape)} does not match "
                         f"input of shape {tuple(input.shape)} and index of length {idx.shape[0]} "
                         f"along dim {dim} (expected {tuple(expected)})")
    if source.dtype != input.dtype:
        raise TypeError(f"index_add: source ({source.dtype}) and input ({input.dtype}) need one dtype")
    check_index_range("index_add", idx, input.shape[dim] if input.ndim else 1, f"dimension {dim}")
    return IndexAdd.apply(input, idx, source, dim, alpha)


def _scatter_checks(op, input, dim, index, src):
    dim = _dim(op, dim, input.ndim)
    idx = _like(index.data if isinstance(index, Tensor) else index, input)
    _check_integer(op, idx)
    if idx.ndim != input.ndim:
        raise ValueError(f"{op}: index of shape {tuple(idx.shape)} needs as many dimensions as "
                         f"input of shape {tuple(input.shape)}")
    for d in range(input.ndim):
        if d != dim and idx.shape[d] > input.shape[d]:
            raise ValueError(f"{op}: index of shape {tuple(idx.shape)} is larger than input of "
                             f"shape {tuple(input.shape)} in dimension {d}")
    if src is not None:
        if src.ndim != idx.ndim or any(i > s for i, s in zip(idx.shape, src.shape)):
            raise ValueError(f"{op}: index of shape {tuple(idx.shape)} must not be larger than "
                             f"src of shape {tuple(src.shape)} in any dimension")
        if src.dtype != input.dtype:
            raise TypeError(f"{op}: src ({src.dtype}) and input ({input.dtype}) need one dtype")
        if tuple(src.shape) != tuple(idx.shape):       # PyTorch uses the leading part of src
            src = getitem(src, tuple(slice(0, n) for n in idx.shape))
    check_index_range(op, idx, input.shape[dim], f"dimension {dim}")
    return dim, idx, src


def scatter(input, dim, index, src=None, value=None, *, reduce=None):  # noqa: A002
    """input with src[i][j][k] written at y[index[i][j][k]][j][k] for dim=0 (the index replaces
    coordinate ``dim``; ``torch.scatter``), or the number ``value`` (``scatter(x, d, i,
    value=v)`` or a number as ``src``). index has input's number of dimensions and is not
    larger than src (whose leading part is used) nor input outside ``dim``.
    Backward: the Function ``Scatter`` (dinput = dy with zeros where written,
    dsrc = gather(dy, dim, index)). Deviation from PyTorch: two writes to one place from a
    tensor ``src`` (duplicate indices), which PyTorch leaves undefined, raise ValueError here;
    ``reduce`` is not supported (use ``scatter_add``)."""
    if reduce is not None:
        raise NotImplementedError("scatter: reduce= is not supported; use scatter_add for 'add'")
    if src is not None and value is not None:
        raise TypeError("scatter: give src or value, not both")
    if src is None and value is None:
        raise TypeError("scatter: give src (a tensor) or value (a number)")
    if src is None or not (isinstance(src, Tensor) or hasattr(src, "shape")):
        src, fill = None, (value if src is None else src)
    else:
        src = src if isinstance(src, Tensor) else Tensor._wrap(_like(src, input))
        fill = None
    dim, idx, src = _scatter_checks("scatter", input, dim, index, src)
    xp = backend_of_array(input.data).xp
    grid = list(_open_grid(xp, idx.shape))
    grid[dim] = idx
    counts = _write_counts(input, tuple(grid), idx.shape)
    if src is not None and idx.size and int(counts.max()) > 1:
        raise ValueError(f"scatter: index of shape {tuple(idx.shape)} writes to one place of "
                         f"input along dim {dim} more than once; PyTorch leaves the result "
                         "undefined, minigrad refuses it (use scatter_add to add them up)")
    written = Tensor._wrap(counts > 0)
    if src is None:
        return Scatter.apply(input, idx, xp.asarray(fill, dtype=input.dtype), dim, written)
    return Scatter.apply(input, idx, src, dim, written)


def _write_counts(input, grid, shape):
    """How many times each place of ``input`` is written by the index ``grid`` (of ``shape``)."""
    backend = backend_of_array(input.data)
    ones = backend.xp.ones(shape, dtype="float32")
    return backend.kernels("indexing").scatter_add(input.shape, "float32", grid, ones)


def scatter_add(input, dim, index, src):  # noqa: A002
    """input with src[i][j][k] added at y[index[i][j][k]][j][k] for dim=0 (``torch.scatter_add``;
    repeated places add up). Shapes as ``scatter``. Backward: the Function ``ScatterAddDim``
    (dinput = dy, dsrc = gather(dy, dim, index))."""
    src = src if isinstance(src, Tensor) else Tensor._wrap(_like(src, input))
    dim, idx, src = _scatter_checks("scatter_add", input, dim, index, src)
    return ScatterAddDim.apply(input, idx, src, dim)


def index_fill(input, dim, index, value):  # noqa: A002
    """input with ``value`` at the positions ``index`` (1-D) along ``dim`` (``torch.index_fill``).
    Composite: masked_fill with the mask of those positions (backward: ``MaskedFill``,
    dinput = dy where not filled, 0 where filled)."""
    dim = _dim("index_fill", dim, input.ndim)
    idx = _like(index.data if isinstance(index, Tensor) else index, input)
    _check_integer("index_fill", idx)
    size = input.shape[dim] if input.ndim else 1
    check_index_range("index_fill", idx, size, f"dimension {dim}")
    xp = backend_of_array(input.data).xp
    hit = xp.zeros(size, dtype=bool)
    hit[idx.reshape(-1)] = True
    shape = [1] * input.ndim
    if input.ndim:
        shape[dim] = size
    return masked_fill(input, Tensor._wrap(hit.reshape(shape)), value)


def masked_select(input, mask):  # noqa: A002
    """y = [x[i] for i in row-major order if mask[i]]: the elements of input where the boolean
    ``mask`` (broadcast with input) is true, as a
    1-D tensor in row-major order (``torch.masked_select``). Composite: input broadcast,
    then indexed by the mask (backward: ``GetItem``, the gradient scattered back)."""
    m = _like(mask.data if isinstance(mask, Tensor) else mask, input)
    if m.dtype != bool:
        raise TypeError(f"masked_select: the mask must be boolean, got {m.dtype}")
    import numpy
    try:
        shape = numpy.broadcast_shapes(tuple(input.shape), tuple(m.shape))
    except ValueError:
        raise ValueError(f"masked_select: mask of shape {tuple(m.shape)} does not broadcast "
                         f"with input of shape {tuple(input.shape)}") from None
    from minigrad.ops.shape import broadcast_to
    x = input if tuple(input.shape) == shape else broadcast_to(input, shape)
    xp = backend_of_array(input.data).xp
    return getitem(x, xp.broadcast_to(m, shape))


def _sizes(op, sizes):
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if not all(isinstance(n, int) and n >= 0 for n in sizes):
        raise ValueError(f"{op}: sizes must be non-negative ints, got {sizes}")
    return tuple(sizes)


def repeat(input, *sizes):  # noqa: A002
    """``x.repeat(*sizes)`` (``torch.Tensor.repeat``): x tiled sizes[i] times along each axis;
    len(sizes) ≥ x.dim(), and extra leading sizes add leading axes (NumPy's ``tile`` with
    that many axes). y[i₀·n₀ + j₀, ...] = x[j₀, ...]. Composite: reshape to (1, n₀, 1, n₁, ...),
    broadcast to (r₀, n₀, r₁, n₁, ...), reshape to (r₀n₀, r₁n₁, ...) (backward: the sum of the
    gradient over the copies, through ``broadcast_to``)."""
    sizes = _sizes("repeat", sizes)
    if len(sizes) < input.ndim:
        raise ValueError(f"repeat: give at least {input.ndim} sizes for a tensor of shape "
                         f"{tuple(input.shape)}, got {sizes}")
    from minigrad.ops.shape import broadcast_to, reshape
    shape = (1,) * (len(sizes) - input.ndim) + tuple(input.shape)
    inter = tuple(v for n in shape for v in (1, n))
    wide = tuple(v for r, n in zip(sizes, shape) for v in (r, n))
    out = broadcast_to(reshape(input, inter), wide)
    return reshape(out, tuple(r * n for r, n in zip(sizes, shape)))


def tile(input, dims):  # noqa: A002
    """y = repeat(input, *dims) (``torch.tile``): ``repeat`` with dims padded by leading 1s when it is shorter
    than input.dim() (NumPy's ``tile``). Composite (backward through ``repeat``)."""
    dims = _sizes("tile", (dims,) if isinstance(dims, int) else tuple(dims))
    dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, *dims)


def repeat_interleave(input, repeats, dim=None, *, output_size=None):  # noqa: A002
    """Each element (slice along ``dim``) repeated ``repeats`` times in place
    (``torch.repeat_interleave``): [a, b] with repeats=2 → [a, a, b, b]. ``repeats`` is an int
    or a 1-D integer tensor with one count per element along ``dim``; ``dim=None`` flattens
    first. Composite: index_select with the indices repeated (backward: ``IndexSelect``, the
    gradient summed over the copies). ``output_size`` is accepted and checked."""
    from minigrad.ops.shape import reshape
    x = reshape(input, (-1,)) if dim is None else input
    dim = 0 if dim is None else _dim("repeat_interleave", dim, x.ndim)
    if x.ndim == 0:
        x = reshape(x, (1,))
    n = x.shape[dim]
    backend = backend_of_array(x.data)
    if isinstance(repeats, int):
        if repeats < 0:
            raise ValueError(f"repeat_interleave: repeats must be non-negative, got {repeats}")
        counts = repeats
    else:
        counts = _like(repeats.data if isinstance(repeats, Tensor) else repeats, x)
        _check_integer("repeat_interleave", counts)
        if counts.ndim == 0:
            counts = int(counts)
        elif counts.ndim != 1 or counts.shape[0] not in (1, n):
            raise ValueError(f"repeat_interleave: repeats of shape {tuple(counts.shape)} must be "
                             f"an int or have one count per element ({n}) along dim {dim}")
        elif counts.size and int(counts.min()) < 0:
            raise ValueError("repeat_interleave: repeats must be non-negative")
    idx = backend.xp.repeat(backend.xp.arange(n), counts)
    if output_size is not None and output_size != idx.shape[0]:
        raise ValueError(f"repeat_interleave: output_size={output_size} but the repeats give "
                         f"{idx.shape[0]}")
    return index_select(x, dim, idx)


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
    register(take_along_axis,
             inputs=lambda r: [Case(n(r, 4, 5), r.integers(0, 5, (4, 3)), 1),
                               Case(n(r, 4, 5), r.integers(0, 4, (6, 5)), 0)])
    register(index_select, inputs=lambda r: [Case(n(r, 6, 3), 0, r.integers(0, 6, 8)),
                                             Case(n(r, 3, 6), 1, r.integers(0, 6, (2, 4)))])
    register(masked_fill, inputs=lambda r: Case(n(r, 3, 4), n(r, 1, 4) > 0, -1.0))
    register(gather, inputs=lambda r: [Case(n(r, 4, 5), 1, r.integers(0, 5, (4, 3))),
                                       Case(n(r, 4, 5), 0, r.integers(0, 4, (6, 5)))])
    register(index_add, inputs=lambda r: [
        Case(n(r, 5, 3), 0, numpy.array([0, 2, 2, 4]), n(r, 4, 3)),
        Case(n(r, 3, 4), 1, numpy.array([3, 0]), n(r, 3, 2), alpha=-2.0)])
    register(scatter, inputs=lambda r: [
        Case(n(r, 3, 5), 0, numpy.array([[0, 1, 2, 0, 1], [2, 0, 1, 1, 2]]), n(r, 2, 5)),
        Case(n(r, 3, 5), 1, numpy.array([[4, 0], [1, 2], [3, 3 - 3]]), n(r, 3, 3)),
        Case(n(r, 3, 4), 1, numpy.array([[1], [0], [3]]), value=2.5)])
    register(scatter_add, inputs=lambda r: [
        Case(n(r, 3, 5), 0, numpy.array([[0, 1, 2, 0, 1], [0, 0, 1, 1, 2]]), n(r, 2, 5)),
        Case(n(r, 3, 4), 1, numpy.array([[1, 1, 0], [3, 0, 0], [2, 2, 2]]), n(r, 3, 3))])


_register_all()


def _inplace_methods():
    from minigrad.ops.elementwise import _inplace
    return {name + "_": _inplace(fn, name + "_") for name, fn in (
        ("masked_fill", masked_fill), ("index_add", index_add), ("scatter", scatter),
        ("scatter_add", scatter_add), ("index_fill", index_fill))}


def _tensor_methods():
    """The Tensor methods of this module (installed by ``ops/tensor_methods.py``)."""
    methods = {"gather": gather, "index_add": index_add, "scatter": scatter,
               "scatter_add": scatter_add, "index_fill": index_fill,
               "masked_select": masked_select, "repeat": repeat, "tile": tile,
               "repeat_interleave": repeat_interleave}
    methods.update(_inplace_methods())
    return methods
