"""Shape ops: they move values around without changing them, so each backward
moves the gradient back the opposite way."""
from minigrad.autograd import Function
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
    """x with a new shape (one dimension may be -1)."""
    return Reshape.apply(x, _shape_arg(shape))


def transpose(x, *axes):
    """Reverse the axes (no arguments), swap two (``transpose(x, 0, 2)``, as in
    PyTorch), or apply a full permutation (three or more axes)."""
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
    """x with its axes reordered: ``permute(x, 0, 2, 1)``."""
    axes = tuple(a % x.ndim for a in _shape_arg(axes))
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute: {axes} is not a permutation of the {x.ndim} axes of "
                         f"a tensor of shape {x.shape}")
    return Transpose.apply(x, axes)


def broadcast_to(x, *shape):
    """x broadcast to ``shape`` (a -1 keeps that axis's size)."""
    shape = _shape_arg(shape)
    lead = len(shape) - x.ndim
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    return BroadcastTo.apply(x, shape)


expand = broadcast_to


def squeeze(x, axis=None):
    """Remove size-1 axes (all of them, or ``axis``, which must have size 1)."""
    if axis is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        axes = {a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)}
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {x.shape} has size {x.shape[a]}, not 1")
        shape = tuple(n for i, n in enumerate(x.shape) if i not in axes)
    return Reshape.apply(x, shape)


def unsqueeze(x, axis):
    """Insert a size-1 axis at ``axis``."""
    axis = axis % (x.ndim + 1)
    return Reshape.apply(x, x.shape[:axis] + (1,) + x.shape[axis:])


def flatten(x, start_axis=0, end_axis=-1):
    """Merge axes ``start_axis..end_axis`` into one (``flatten(x, 1)`` keeps the batch axis)."""
    if x.ndim == 0:
        return Reshape.apply(x, (1,))
    start, end = start_axis % x.ndim, end_axis % x.ndim
    merged = 1
    for n in x.shape[start:end + 1]:
        merged *= n
    return Reshape.apply(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


def concatenate(tensors, axis=0):
    """Join tensors along an existing ``axis``."""
    tensors = list(tensors)
    _check_same_rank("concatenate", tensors, axis)
    return Concatenate.apply(axis, *tensors)


cat = concatenate


def stack(tensors, axis=0):
    """Join same-shape tensors along a new ``axis``."""
    tensors = list(tensors)
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors need the same shape, got {sorted(shapes)}")
    return Stack.apply(axis, *tensors)


def split(x, split_size_or_sections, axis=0):
    """Cut x along ``axis``: into pieces of ``split_size`` (an int; the last may be
    shorter), or of the sizes in a list (they must add up to the axis length)."""
    n = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} add up to {sum(sizes)}, but axis {axis} "
                             f"of shape {x.shape} has {n}")
    indices = list(_cumsum(sizes))[:-1]
    out = Split.apply(x, indices, axis)
    return list(out) if isinstance(out, tuple) else [out]


def pad(x, pad_width, value=0.0):
    """Constant padding; ``pad_width`` as in ``numpy.pad``: ((before, after), ...) per
    axis, or a single (before, after) pair for every axis."""
    if isinstance(pad_width, int):
        pad_width = ((pad_width, pad_width),) * x.ndim
    pad_width = tuple(tuple(p) for p in pad_width)
    if len(pad_width) == 1 and x.ndim > 1:
        pad_width = pad_width * x.ndim
    if len(pad_width) != x.ndim:
        raise ValueError(f"pad: {len(pad_width)} (before, after) pairs for a tensor of shape {x.shape}")
    return Pad.apply(x, pad_width, value)


def flip(x, axis=None):
    """x reversed along ``axis`` (all axes by default)."""
    return Flip.apply(x, axis)


def roll(x, shift, axis=None):
    """x shifted cyclically by ``shift`` along ``axis``."""
    shift = tuple(shift) if isinstance(shift, list) else shift
    axis = tuple(axis) if isinstance(axis, list) else axis
    return Roll.apply(x, shift, axis)


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
    register(flip, inputs=lambda r: [Case(n(r, 2, 3), axis=1), Case(n(r, 2, 3))])
    register(roll, inputs=lambda r: [Case(n(r, 2, 5), 2, axis=1), Case(n(r, 4, 3), (1, -1), axis=(0, 1))])


_register_all()
