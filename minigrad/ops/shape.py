"""Shape ops: they move values around without changing them, so each backward
moves the gradient back the opposite way."""
import builtins

from minigrad.autograd import Function
from minigrad.ops._args import pick, reject_unknown
from minigrad.registry import Case, register
from minigrad.tensor import Tensor


class Reshape(Function):
    """y = x viewed with a new shape;  dx = dy reshaped back."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into {shape}") from None

    @staticmethod
    def backward(ctx, gy):
        return gy.reshape(ctx.shape)


class Transpose(Function):
    """y = x with axes permuted by ``axes``;  dx = dy permuted by the inverse permutation."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, gy):
        if ctx.axes is None:
            return ctx.xp.transpose(gy)
        inverse = [0] * len(ctx.axes)
        for i, a in enumerate(ctx.axes):
            inverse[a] = i
        return ctx.xp.transpose(gy, inverse)


class BroadcastTo(Function):
    """y = x broadcast to ``shape``;  dx = dy summed over the broadcast axes (by the engine)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, shape):
        try:
            return ctx.xp.broadcast_to(x, shape)
        except ValueError:
            raise ValueError(f"expand: cannot broadcast shape {x.shape} to {shape}") from None

    @staticmethod
    def backward(ctx, gy):
        return gy


class Concatenate(Function):
    """y = [x₁ x₂ ...] along ``axis``;  dxᵢ = the slice of dy where xᵢ was placed."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, axis, *xs):
        ctx.axis = axis
        ctx.sizes = [x.shape[axis] for x in xs]
        return ctx.xp.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        bounds = list(_cumsum(ctx.sizes))[:-1]
        return (None,) + tuple(xp.split(gy, bounds, axis=ctx.axis))


class Stack(Function):
    """y = the xᵢ stacked along a new ``axis``;  dxᵢ = dy indexed at i along that axis."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, axis, *xs):
        ctx.axis = axis
        return ctx.xp.stack(xs, axis=axis)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        n = gy.shape[ctx.axis]
        return (None,) + tuple(xp.take(gy, i, axis=ctx.axis) for i in range(n))


class Split(Function):
    """(y₁, y₂, ...) = x cut along ``axis`` at ``indices``;  dx = [dy₁ dy₂ ...]."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, indices, axis):
        ctx.axis = axis
        return tuple(ctx.xp.split(x, indices, axis=axis))

    @staticmethod
    def backward(ctx, *gys):
        return ctx.xp.concatenate(gys, axis=ctx.axis)


class Pad(Function):
    """y = x padded with a constant (``pad_width`` as in ``numpy.pad``);
    dx = dy with the padding cut off."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, pad_width, value):
        ctx.index = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
        return ctx.xp.pad(x, pad_width, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, gy):
        return gy[ctx.index]


class Flip(Function):
    """y = x reversed along ``axis``;  dx = dy reversed the same way."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return ctx.xp.flip(x, axis=axis)

    @staticmethod
    def backward(ctx, gy):
        return ctx.xp.flip(gy, axis=ctx.axis)


class Roll(Function):
    """y = x rolled by ``shift`` along ``axis``;  dx = dy rolled by -shift."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, shift, axis):
        ctx.shift, ctx.axis = shift, axis
        return ctx.xp.roll(x, shift, axis=axis)

    @staticmethod
    def backward(ctx, gy):
        neg = tuple(-s for s in ctx.shift) if isinstance(ctx.shift, tuple) else -ctx.shift
        return ctx.xp.roll(gy, neg, axis=ctx.axis)


def _cumsum(sizes):
    total = 0
    for s in sizes:
        total += s
        yield total


# ------------------------------------------------------------------ functional
def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def reshape(x, *shape):
    """x with a new shape (one dimension may be -1): y = x read in row-major order into
    ``shape``; backward: dx = dy reshaped back to x's shape (the Function ``Reshape``)."""
    return Reshape.apply(x, _shape_arg(shape))


def transpose(x, *axes):
    """Reverse the axes (no arguments), swap two (``transpose(x, 0, 2)``, as in
    PyTorch), or apply a full permutation (three or more axes).

    y[i_π(0), ..., i_π(n−1)] = x[i_0, ..., i_{n−1}];  backward: dx = dy permuted by π⁻¹
    (the Function ``Transpose``)."""
    axes = _shape_arg(axes)
    if not axes:
        return Transpose.apply(x, None)
    if len(axes) == 2:
        perm = list(range(x.ndim))
        i, j = axes[0] % x.ndim, axes[1] % x.ndim
        perm[i], perm[j] = perm[j], perm[i]
        return Transpose.apply(x, tuple(perm))
    return permute(x, *axes)


def permute(x, *axes):
    """x with its axes reordered: ``permute(x, 0, 2, 1)``.

    y.shape[k] = x.shape[dims[k]];  backward: dx = dy permuted by the inverse permutation
    (the Function ``Transpose``)."""
    axes = tuple(a % x.ndim for a in _shape_arg(axes))
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute: {axes} is not a permutation of the {x.ndim} axes of "
                         f"a tensor of shape {x.shape}")
    return Transpose.apply(x, axes)


def broadcast_to(x, *shape):
    """x broadcast to ``shape`` (a -1 keeps that axis's size); ``expand`` is the same op.

    y[..., i, ...] = x[..., 0, ...] along each broadcast axis;  backward: dx = dy summed over
    the broadcast axes (the Function ``BroadcastTo``). Unlike PyTorch's ``expand`` the result
    is a read-only NumPy view, never written in place."""
    shape = _shape_arg(shape)
    lead = len(shape) - x.ndim
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    return BroadcastTo.apply(x, shape)


expand = broadcast_to


def squeeze(input, dim=None, *, axis=None, **unknown):  # noqa: A002
    """Remove size-1 dimensions: all of them (``dim=None``), or those among ``dim`` (an int
    or a tuple) that have size 1; a listed dim whose size is not 1 is left as it is
    (PyTorch's rule: a no-op there, not an error). y = x reshaped; backward: the Function
    ``Reshape`` (dx = dy reshaped back). ``axis`` is NumPy's alias of ``dim``."""
    if unknown:
        reject_unknown("squeeze", unknown, ("input", "dim", "axis (alias of dim)"))
    dim = pick("squeeze", "dim", dim, "axis", axis)
    x = input
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        axes = {_check_dim("squeeze", x, a) for a in ((dim,) if isinstance(dim, int) else dim)}
        shape = tuple(n for i, n in enumerate(x.shape) if i not in axes or n != 1)
    return Reshape.apply(x, shape)


def unsqueeze(input, dim=None, *, axis=None, **unknown):  # noqa: A002
    """Insert a size-1 dimension at ``dim``: y.shape = shape[:dim] + (1,) + shape[dim:]
    (negative ``dim`` counts from the end of the result, so ``unsqueeze(x, -1)`` appends
    one). Backward: the Function ``Reshape`` (dx = dy reshaped back).
    ``axis`` is NumPy's alias of ``dim``."""
    if unknown:
        reject_unknown("unsqueeze", unknown, ("input", "dim", "axis (alias of dim)"))
    dim = pick("unsqueeze", "dim", dim, "axis", axis)
    x = input
    if dim is None:
        raise TypeError("unsqueeze: missing the dim argument (where to insert the new dimension)")
    nd = x.ndim + 1
    if isinstance(dim, bool) or not isinstance(dim, int) or not -nd <= dim < nd:
        raise IndexError(f"unsqueeze: dim {dim!r} is out of range for a tensor of shape {x.shape} "
                         f"(valid dims are [{-nd}, {nd - 1}])")
    dim %= nd
    return Reshape.apply(x, x.shape[:dim] + (1,) + x.shape[dim:])


def flatten(input, start_dim=None, end_dim=None, *, start_axis=None, end_axis=None,  # noqa: A002
            **unknown):
    """Merge dimensions ``start_dim..end_dim`` (inclusive) into one of length
    Π shape[start_dim..end_dim], y = x.reshape(...): ``flatten(x)`` is 1-D,
    ``flatten(x, 1)`` keeps the batch dimension. A 0-d tensor becomes shape (1,), as in
    PyTorch. Backward: the Function ``Reshape``. Defaults ``start_dim=0, end_dim=-1``
    (``nn.Flatten`` defaults to ``start_dim=1``); ``start_axis``/``end_axis`` are aliases."""
    if unknown:
        reject_unknown("flatten", unknown, ("input", "start_dim", "end_dim",
                                            "start_axis (alias)", "end_axis (alias)"))
    start = pick("flatten", "start_dim", start_dim, "start_axis", start_axis, 0)
    end = pick("flatten", "end_dim", end_dim, "end_axis", end_axis, -1)
    x = input
    if x.ndim == 0:
        _check_dim("flatten", x, start)
        _check_dim("flatten", x, end)
        return Reshape.apply(x, (1,))
    start, end = _check_dim("flatten", x, start), _check_dim("flatten", x, end)
    if start > end:
        raise ValueError(f"flatten: start_dim {start} comes after end_dim {end} "
                         f"(tensor of shape {x.shape})")
    merged = 1
    for n in x.shape[start:end + 1]:
        merged *= n
    return Reshape.apply(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


def concatenate(tensors, dim=None, *, axis=None, **unknown):
    """Join tensors along an existing dimension ``dim`` (default 0): y = [x₁ x₂ ...].
    Backward: the Function ``Concatenate`` (dxᵢ = the slice of dy where xᵢ was placed).
    ``cat`` is the same function; ``axis`` is NumPy's alias of ``dim``."""
    if unknown:
        reject_unknown("cat", unknown, ("tensors", "dim", "axis (alias of dim)"))
    dim = pick("cat", "dim", dim, "axis", axis, 0)
    tensors = list(tensors)
    _check_same_rank("concatenate", tensors, dim)
    _check_dim("cat", tensors[0], dim)
    return Concatenate.apply(dim, *tensors)


cat = concatenate


def stack(tensors, dim=None, *, axis=None, **unknown):
    """Join same-shape tensors along a new dimension ``dim`` (default 0).
    Backward: the Function ``Stack`` (dxᵢ = dy indexed at i along ``dim``).
    ``axis`` is NumPy's alias of ``dim``."""
    if unknown:
        reject_unknown("stack", unknown, ("tensors", "dim", "axis (alias of dim)"))
    dim = pick("stack", "dim", dim, "axis", axis, 0)
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors need the same shape, got {sorted(shapes)}")
    nd = tensors[0].ndim + 1
    if not -nd <= dim < nd:
        raise IndexError(f"stack: dim {dim} is out of range for the new tensor's {nd} "
                         f"dimensions (inputs of shape {tensors[0].shape})")
    return Stack.apply(dim, *tensors)


def split(tensor, split_size_or_sections, dim=None, *, axis=None, **unknown):
    """Cut ``tensor`` along ``dim`` (default 0), as ``torch.split``: an int is the size of
    each piece (the last one may be shorter), a list gives the size of every piece (they
    must add up to the dimension's length). Returns a tuple of tensors (views in PyTorch,
    copies here). Backward: the Function ``Split`` (dx = [dy₁ dy₂ ...]).
    ``axis`` is NumPy's alias of ``dim``."""
    if unknown:
        reject_unknown("split", unknown, ("tensor", "split_size_or_sections", "dim",
                                          "axis (alias of dim)"))
    dim = _check_dim("split", tensor, pick("split", "dim", dim, "axis", axis, 0))
    x, n = tensor, tensor.shape[dim]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0 and not (size == 0 and n == 0):
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [size] * (n // size) if size else [0]
        if size and n % size:
            sizes.append(n % size)
        sizes = sizes or [0]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n or any(s < 0 for s in sizes):
            raise ValueError(f"split: sizes {sizes} add up to {builtins.sum(sizes)}, but dim "
                             f"{dim} of shape {x.shape} has {n}")
    indices = list(_cumsum(sizes))[:-1]
    out = Split.apply(x, indices, dim)
    return tuple(out) if isinstance(out, tuple) else (out,)


def chunk(input, chunks, dim=0):  # noqa: A002
    """Cut ``input`` into ``chunks`` pieces along ``dim`` (``torch.chunk``): each piece has
    size = ⌈n / chunks⌉ entries (n the length of ``dim``), the last one fewer, so fewer than ``chunks`` pieces may come
    back (``chunk`` of 5 entries into 4 gives sizes 2, 2, 1). Backward: the Function
    ``Split``."""
    if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    n = input.shape[_check_dim("chunk", input, dim)]
    return split(input, -(-n // chunks), dim)


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=None):  # noqa: A002
    """Pad ``input`` (``F.pad``). ``pad`` is PyTorch's flat tuple of ints starting from the
    LAST dimension, ``(left, right)`` for the last, ``(left, right, top, bottom)`` for the
    last two, and so on; NumPy's form (pairs per dimension ``((before, after), ...)``, one
    pair for every dimension, or an int for every side) also works.

    Modes: 'constant' (``value``, default 0): y = x in the middle, ``value`` around it;
    backward: the Function ``Pad`` (dx = dy with the border cut off). 'reflect' (mirror
    without repeating the edge, pad < size), 'replicate' (repeat the edge), 'circular'
    (wrap around, pad ≤ size): y = x gathered at clipped/mirrored/wrapped indices per
    dimension (``index_select``), so dx is dy scatter-added back to the source entries.
    Deviation from PyTorch: the non-constant modes work on any dimension (PyTorch limits
    them to the last 1–3) and negative pads (cropping) are refused."""
    x = input
    if not isinstance(mode, str) or mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {_PAD_MODES}, got {mode!r}")
    widths = _pad_widths(x, pad)
    if mode == "constant":
        return Pad.apply(x, widths, 0.0 if value is None else value)
    if value not in (None, 0, 0.0):
        raise ValueError(f"pad: value={value!r} is only for mode='constant', not {mode!r}")
    import numpy
    from minigrad.ops.indexing import index_select
    for d, (lo, hi) in enumerate(widths):
        if not lo and not hi:
            continue
        n = x.shape[d]
        j = numpy.arange(-lo, n + hi)
        if mode == "replicate":
            if n == 0:
                raise ValueError(f"pad: mode 'replicate' cannot pad the empty dim {d} "
                                 f"of shape {x.shape}")
            idx = numpy.clip(j, 0, n - 1)
        elif mode == "circular":
            if lo > n or hi > n:
                raise ValueError(f"pad: mode 'circular' needs pads ≤ the size {n} of dim {d}, "
                                 f"got ({lo}, {hi}) for shape {x.shape}")
            idx = j % n
        else:
            if lo >= n or hi >= n:
                raise ValueError(f"pad: mode 'reflect' needs pads < the size {n} of dim {d}, "
                                 f"got ({lo}, {hi}) for shape {x.shape}")
            m = j % (2 * n - 2)
            idx = numpy.where(m < n, m, 2 * n - 2 - m)
        x = index_select(x, d, idx.astype(numpy.int64))
    return x


def _pad_widths(x, pad):
    """((before, after), ...) per dimension from PyTorch's flat tuple or NumPy's forms."""
    if isinstance(pad, int):
        widths = ((pad, pad),) * x.ndim
    else:
        pad = tuple(pad)
        if all(isinstance(p, int) for p in pad):                  # PyTorch's flat form
            if len(pad) % 2 or len(pad) > 2 * x.ndim:
                raise ValueError(f"pad: a flat pad needs an even count of at most "
                                 f"{2 * x.ndim} ints for a tensor of shape {x.shape}, got {pad}")
            pairs = [(pad[i], pad[i + 1]) for i in range(0, len(pad), 2)]   # last dim first
            widths = ((0, 0),) * (x.ndim - len(pairs)) + tuple(reversed(pairs))
        else:                                                       # NumPy's pairs
            widths = tuple(tuple(p) for p in pad)
            if len(widths) == 1 and x.ndim > 1:
                widths = widths * x.ndim
    if len(widths) != x.ndim or any(len(w) != 2 for w in widths):
        raise ValueError(f"pad: {pad!r} does not give a (before, after) pair for each of the "
                         f"{x.ndim} dims of a tensor of shape {x.shape}")
    if any(p < 0 for w in widths for p in w):
        raise ValueError(f"pad: negative padding {pad!r} is not supported (slice instead)")
    return tuple((int(lo), int(hi)) for lo, hi in widths)


def _check_dim(op, x, dim):
    """``dim`` as a non-negative int, or an IndexError naming the op and the shape."""
    nd = builtins.max(x.ndim, 1)
    if isinstance(dim, bool) or not isinstance(dim, int) or not -nd <= dim < nd:
        raise IndexError(f"{op}: dim {dim!r} is out of range for a tensor of shape {x.shape} "
                         f"(valid dims are [{-nd}, {nd - 1}])")
    return dim % nd


def flip(input, dims=None, *, axis=None, **unknown):  # noqa: A002
    """x reversed along ``dims`` (PyTorch's name; NumPy's ``axis`` is an alias; all axes
    when neither is given, as NumPy — PyTorch requires ``dims``).

    y[..., i, ...] = x[..., n − 1 − i, ...];  backward: dx = dy flipped the same way (the
    Function ``Flip``)."""
    if unknown:
        reject_unknown("flip", unknown, ("input", "dims", "axis (alias of dims)"))
    dims = pick("flip", "dims", dims, "axis", axis)
    return Flip.apply(input, tuple(dims) if isinstance(dims, list) else dims)


def roll(input, shifts=None, dims=None, *, shift=None, axis=None, **unknown):  # noqa: A002
    """x shifted cyclically by ``shifts`` along ``dims`` (PyTorch's names; NumPy's
    ``shift`` / ``axis`` are aliases); with no dims the flattened tensor is rolled.

    y[..., (i + s) mod n, ...] = x[..., i, ...];  backward: dx = dy rolled by −s (the
    Function ``Roll``)."""
    if unknown:
        reject_unknown("roll", unknown, ("input", "shifts", "dims", "shift (alias of shifts)",
                                         "axis (alias of dims)"))
    shifts = pick("roll", "shifts", shifts, "shift", shift)
    if shifts is None:
        raise TypeError("roll: missing the shifts argument")
    dims = pick("roll", "dims", dims, "axis", axis)
    shifts = tuple(shifts) if isinstance(shifts, list) else shifts
    dims = tuple(dims) if isinstance(dims, list) else dims
    return Roll.apply(input, shifts, dims)


def _check_same_rank(op, tensors, axis):
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    ref = tensors[0].shape
    for t in tensors[1:]:
        a = axis % len(ref)
        if len(t.shape) != len(ref) or any(i != a and p != q for i, (p, q) in enumerate(zip(ref, t.shape))):
            raise ValueError(f"{op}: shapes {ref} and {t.shape} differ outside axis {axis}")


def _register_all():
    n = lambda rng, *s: rng.standard_normal(s)  # noqa: E731
    register(reshape, inputs=lambda r: [Case(n(r, 3, 4), (2, 6)), Case(n(r, 3, 4), (-1,))])
    register(transpose, inputs=lambda r: [Case(n(r, 3, 4)), Case(n(r, 2, 3, 4), 0, 2)])
    register(permute, inputs=lambda r: Case(n(r, 2, 3, 4), 2, 0, 1))
    register(broadcast_to, aliases=["expand"], inputs=lambda r: [Case(n(r, 3, 1), (2, 3, 4))])
    register(squeeze, inputs=lambda r: [Case(n(r, 3, 1, 4)), Case(n(r, 1, 3, 1), axis=0)])
    register(unsqueeze, inputs=lambda r: Case(n(r, 3, 4), 1))
    register(flatten, inputs=lambda r: [Case(n(r, 2, 3, 4)), Case(n(r, 2, 3, 4), 1)])
    register(concatenate, aliases=["cat"],
             inputs=lambda r: [Case([n(r, 2, 3), n(r, 4, 3)]), Case([n(r, 2, 3), n(r, 2, 1)], axis=1)])
    register(stack, inputs=lambda r: [Case([n(r, 2, 3), n(r, 2, 3)], axis=1)])
    register(split, inputs=lambda r: [Case(n(r, 5, 3), 2), Case(n(r, 2, 6), [1, 2, 3], axis=1)])
    register(pad, inputs=lambda r: Case(n(r, 2, 3), ((1, 0), (2, 1)), value=0.5))
    register(chunk, inputs=lambda r: [Case(n(r, 5, 3), 2), Case(n(r, 2, 6), 4, dim=1),
                                      Case(n(r, 3, 7), 3, dim=-1)])
    register(flip, inputs=lambda r: [Case(n(r, 2, 3), axis=1), Case(n(r, 2, 3))])
    register(roll, inputs=lambda r: [Case(n(r, 2, 5), 2, axis=1), Case(n(r, 4, 3), (1, -1), axis=(0, 1))])


_register_all()
