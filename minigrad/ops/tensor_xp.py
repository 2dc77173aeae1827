"""``TensorXP``: the array-module names a backward uses (``ctx.xp.where``, ``ctx.xp.exp``...),
taking and returning tensors and recording on the tape. ``double_backward`` gives it to a
backward as ``ctx.xp``, so that one backward, written once for arrays, also builds the graph
of its own gradient (``create_graph=True``). Names that are not array functions (dtypes,
``inf``, ``broadcast_shapes``, ``finfo``) come from the backend's own module."""
from minigrad.tensor import Tensor


# Array-module names a backward may use as they are: they take shapes and dtypes, not arrays.
_PASSTHROUGH = {"broadcast_shapes", "result_type", "promote_types", "finfo", "iinfo", "dtype", "eye"}


class TensorXP:
    def __init__(self, backend):
        self._backend = backend
        self._xp = backend.xp

    def __getattr__(self, name):
        value = getattr(self._xp, name)
        if callable(value) and not isinstance(value, type) and name not in _PASSTHROUGH:
            # an array function given tensors would compute off the tape: a silently
            # wrong second derivative. Refuse it by name instead.
            from minigrad.double_backward import SecondOrderError
            raise SecondOrderError(f"this backward calls xp.{name}, which has no tensor "
                                   "version for create_graph=True")
        return value

    # ---------------------------------------------------------- constants (no gradient)
    def _constant(self, array):
        return Tensor._wrap(array)

    def _tensor(self, x):
        return x if isinstance(x, Tensor) else Tensor._wrap(self._xp.asarray(x))

    def zeros(self, shape, dtype=float):
        return self._constant(self._xp.zeros(shape, dtype=dtype))

    def ones(self, shape, dtype=float):
        return self._constant(self._xp.ones(shape, dtype=dtype))

    def zeros_like(self, x, dtype=None):
        return self._constant(self._xp.zeros(x.shape, dtype=dtype or x.dtype))

    def ones_like(self, x, dtype=None):
        return self._constant(self._xp.ones(x.shape, dtype=dtype or x.dtype))

    def asarray(self, x, dtype=None):
        if isinstance(x, Tensor):
            return x if dtype is None or x.dtype == dtype else x.astype(dtype)
        return self._constant(self._backend.asarray(x, dtype=dtype))

    def arange(self, *args, **kwargs):
        return self._constant(self._xp.arange(*args, **kwargs))

    def sign(self, x):            # piecewise constant: its derivative is 0 almost everywhere
        return self._constant(self._xp.sign(_data(x)))

    def isfinite(self, x):
        return self._constant(self._xp.isfinite(_data(x)))

    def isnan(self, x):
        return self._constant(self._xp.isnan(_data(x)))

    def logical_and(self, a, b):
        return self._constant(self._xp.logical_and(_data(a), _data(b)))

    def logical_or(self, a, b):
        return self._constant(self._xp.logical_or(_data(a), _data(b)))

    def logical_not(self, a):
        return self._constant(self._xp.logical_not(_data(a)))

    # ---------------------------------------------------------- differentiable
    def where(self, cond, a, b):
        from minigrad.ops.elementwise import where
        return where(_data(cond), a, b)

    def exp(self, x):
        return self._tensor(x).exp()

    def log(self, x):
        return self._tensor(x).log()

    def log1p(self, x):
        return self._tensor(x).log1p()

    def expm1(self, x):
        return self._tensor(x).expm1()

    def sqrt(self, x):
        return self._tensor(x).sqrt()

    def sin(self, x):
        return self._tensor(x).sin()

    def cos(self, x):
        return self._tensor(x).cos()

    def tanh(self, x):
        return self._tensor(x).tanh()

    def abs(self, x):
        return self._tensor(x).abs()

    def maximum(self, a, b):
        from minigrad.ops.elementwise import maximum
        return maximum(a, b)

    def minimum(self, a, b):
        from minigrad.ops.elementwise import minimum
        return minimum(a, b)

    def clip(self, x, lo, hi):
        from minigrad.ops.elementwise import clip
        return clip(x, lo, hi)

    def matmul(self, a, b):
        from minigrad.ops.linalg import matmul
        return matmul(a, b)

    def einsum(self, spec, *operands):
        from minigrad.ops.linalg import einsum
        return einsum(spec, *[self._tensor(o) for o in operands])

    def transpose(self, x, axes=None):            # NumPy's: a full permutation (or reverse)
        from minigrad.ops.shape import permute
        return permute(x, *(reversed(range(x.ndim)) if axes is None else axes))

    def swapaxes(self, x, a, b):
        axes = list(range(x.ndim))
        axes[a], axes[b] = axes[b], axes[a]
        return self.transpose(x, axes)

    def moveaxis(self, x, source, destination):
        src = [source] if isinstance(source, int) else list(source)
        dst = [destination] if isinstance(destination, int) else list(destination)
        src = [s % x.ndim for s in src]
        dst = [d % x.ndim for d in dst]
        order = [n for n in range(x.ndim) if n not in src]
        for d, s in sorted(zip(dst, src)):
            order.insert(d, s)
        return self.transpose(x, order)

    def broadcast_to(self, x, shape):
        from minigrad.ops.shape import broadcast_to
        return broadcast_to(self._tensor(x), tuple(shape))

    def expand_dims(self, x, axis):
        from minigrad.ops.shape import unsqueeze
        return unsqueeze(x, axis)

    def concatenate(self, xs, axis=0):
        from minigrad.ops.shape import concatenate
        return concatenate(list(xs), axis)

    def stack(self, xs, axis=0):
        from minigrad.ops.shape import stack
        return stack(list(xs), axis)

    def split(self, x, indices, axis=0):          # NumPy's split points, not sizes
        from minigrad.ops.shape import split
        bounds = [0, *indices, x.shape[axis]]
        return split(x, [b - a for a, b in zip(bounds, bounds[1:])], axis)

    def scatter_add(self, shape, index, values):
        from minigrad.ops.indexing import ScatterAdd
        return ScatterAdd.apply(values, tuple(shape), index)

    def take(self, x, index, axis=None):
        from minigrad.ops.indexing import getitem
        return getitem(x, (slice(None),) * (axis % x.ndim) + (index,))

    def take_along_axis(self, x, idx, axis):
        from minigrad.ops.indexing import take_along_axis
        return take_along_axis(x, _data(idx), axis)

    def flip(self, x, axis=None):
        from minigrad.ops.shape import flip
        return flip(x, axis)

    def roll(self, x, shift, axis=None):
        from minigrad.ops.shape import roll
        return roll(x, shift, axis)

    def sum(self, x, axis=None, keepdims=False):
        return self._tensor(x).sum(axis=axis, keepdims=keepdims)

    # ---------------------------------------------------------- scipy.special names (minigrad.special)
    def gammaln(self, x):
        from minigrad.special import lgamma
        return lgamma(self._tensor(x))

    def digamma(self, x):
        from minigrad.special import digamma
        return digamma(self._tensor(x))

    def polygamma(self, n, x):
        from minigrad.special import polygamma
        return polygamma(int(n), self._tensor(x))

    def xlogy(self, x, y):
        from minigrad.special import xlogy
        return xlogy(x, y)

    def i0(self, x):
        from minigrad.special import i0
        return i0(self._tensor(x))

    def i1(self, x):
        from minigrad.special import i1
        return i1(self._tensor(x))

    def i0e(self, x):
        from minigrad.special import i0e
        return i0e(self._tensor(x))

    def i1e(self, x):
        from minigrad.special import i1e
        return i1e(self._tensor(x))

    # ---------------------------------------------------------- minigrad.ops.sorting
    def cumsum(self, x, axis):
        from minigrad.ops.sorting import cumsum
        return cumsum(self._tensor(x), axis)

    # ---------------------------------------------------------- complex numbers (minigrad.ops.complex)
    def conj(self, x):
        from minigrad.ops.complex import conj
        return conj(self._tensor(x))

    def real(self, x):
        from minigrad.ops.complex import real
        return real(self._tensor(x))

    def imag(self, x):
        from minigrad.ops.complex import imag
        return imag(self._tensor(x))


def _data(x):
    return x.data if isinstance(x, Tensor) else x


