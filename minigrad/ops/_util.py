"""Small helpers shared by the op modules."""
from minigrad.tensor import Tensor


def as_operand(x, like):
    """Leave Tensors and Python scalars as they are (scalars stay weakly typed, so
    ``float32_tensor * 2.0`` stays float32); turn arrays and lists into constant
    tensors on ``like``'s backend."""
    if isinstance(x, (Tensor, int, float, bool)):
        return x
    from minigrad.backends import backend_of_array
    from minigrad.tensor import _default_dtype
    dtype = _default_dtype(x) if isinstance(x, (list, tuple)) else None  # [0.5] is float32
    return Tensor._wrap(backend_of_array(like.data).asarray(x, dtype=dtype))


def normalize_axis(axis, ndim):
    """``axis`` (None, int or tuple, negative allowed) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    out = []
    for a in axis:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % max(ndim, 1))
    return tuple(sorted(out))


def expand_reduced(g, shape, axis, keepdims):
    """Reshape a reduced gradient so it broadcasts against the input's ``shape``."""
    if keepdims:
        return g
    axes = normalize_axis(axis, len(shape))
    kept = [1 if i in axes else n for i, n in enumerate(shape)]
    return g.reshape(kept)
