"""Comparisons and tests of values (``torch.eq``, ``isclose``, ``isnan``, ``nonzero``...).

None of these is differentiable: each returns a boolean (or integer) tensor that is a
constant of its inputs, or a Python bool (``equal``, ``allclose``), as in PyTorch. They work
on raw backend arrays through the tensors' array module (NumPy or CuPy)."""
import numpy

from minigrad.backends import backend_of_array
from minigrad.dtypes import weak_scalar
from minigrad.ops._util import as_operand
from minigrad.tensor import Tensor


def _operands(op, input, other):  # noqa: A002
    """The arrays (or Python numbers) to compare, on one backend."""
    if not isinstance(input, Tensor):
        if not isinstance(other, Tensor):
            raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__} and "
                            f"{type(other).__name__}")
        input = as_operand(weak_scalar(input), other)
    other = as_operand(weak_scalar(other), input)
    a = input.data if isinstance(input, Tensor) else input
    b = other.data if isinstance(other, Tensor) else other
    if isinstance(input, Tensor) and isinstance(other, Tensor) and type(a) is not type(b):
        raise RuntimeError(f"{op}: tensors on different backends ({input.backend} and "
                           f"{other.backend}); move one with .to()")
    xp = backend_of_array(input.data if isinstance(input, Tensor) else other.data).xp
    return xp, a, b, input


def _shapes(op, a, b):
    try:
        return numpy.broadcast_shapes(a.shape, b.shape)   # host metadata only
    except ValueError:
        raise ValueError(f"{op}: shapes {tuple(getattr(a, 'shape', ()))} and "
                         f"{tuple(getattr(b, 'shape', ()))} do not broadcast") from None


def _make(name, ufunc, symbol):
    def compare(input, other):  # noqa: A002
        xp, a, b, _ = _operands(name, input, other)
        if hasattr(a, "shape") and hasattr(b, "shape"):
            _shapes(name, a, b)
        return Tensor._wrap(xp.asarray(getattr(xp, ufunc)(a, b)))
    compare.__name__ = compare.__qualname__ = name
    compare.__doc__ = (f"y = (input {symbol} other) elementwise, broadcasting (``torch.{name}``; "
                       f"``other`` may be a number): a boolean tensor.\n\n    Not differentiable "
                       f"(no backward: the result is a constant of the inputs), as PyTorch.")
    return compare


eq = _make("eq", "equal", "==")
ne = _make("ne", "not_equal", "!=")
lt = _make("lt", "less", "<")
le = _make("le", "less_equal", "<=")
gt = _make("gt", "greater", ">")
ge = _make("ge", "greater_equal", ">=")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def equal(input, other):  # noqa: A002
    """y = (input.shape == other.shape and all(input == other)) (``torch.equal``):
    a Python bool. Not differentiable. NaN is not equal to NaN, as PyTorch."""
    xp, a, b, _ = _operands("equal", input, other)
    if getattr(a, "shape", ()) != getattr(b, "shape", ()):
        return False
    return bool(xp.all(a == b))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """y = (|input − other| ≤ atol + rtol·|other|) elementwise (``torch.isclose``; the same defaults
    rtol=1e-05, atol=1e-08, equal_nan=False): a boolean tensor. Not differentiable."""
    xp, a, b, _ = _operands("isclose", input, other)
    return Tensor._wrap(xp.asarray(xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """y = all(|input − other| ≤ atol + rtol·|other|) (``torch.allclose``): a Python bool,
    ``isclose`` everywhere (same defaults rtol=1e-05, atol=1e-08, equal_nan=False)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).data.all())


def _unary(name, ufunc, what):
    def test(input):  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
        xp = backend_of_array(input.data).xp
        return Tensor._wrap(xp.asarray(getattr(xp, ufunc)(input.data)))
    test.__name__ = test.__qualname__ = name
    test.__doc__ = (f"y = (x is {what}) elementwise (``torch.{name}``): a boolean tensor "
                    f"(integers: all {'True' if name == 'isfinite' else 'False'}).\n\n    "
                    "Not differentiable (no backward), as PyTorch.")
    return test


isnan = _unary("isnan", "isnan", "NaN")
isinf = _unary("isinf", "isinf", "+inf or -inf")
isfinite = _unary("isfinite", "isfinite", "neither NaN nor infinite")


def isposinf(input):  # noqa: A002
    """y = (x = +inf) elementwise (``torch.isposinf``). Not differentiable."""
    return Tensor._wrap(input.data == float("inf")) if input.dtype.kind == "f" else isnan(input)


def isneginf(input):  # noqa: A002
    """y = (x = −inf) elementwise (``torch.isneginf``). Not differentiable."""
    return Tensor._wrap(input.data == -float("inf")) if input.dtype.kind == "f" else isnan(input)


def nonzero(input, *, as_tuple=False):  # noqa: A002
    """y = {(i₀, …, iₙ) : x[i₀, …, iₙ] ≠ 0}, the indices of the nonzero elements
    (``torch.nonzero``): an int64 tensor of shape
    (number of nonzeros, input.dim()), one row per element in row-major order; with
    ``as_tuple=True`` a tuple of input.dim() 1-D tensors (NumPy's ``nonzero``). A 0-d input
    counts as 1-D for ``as_tuple`` (as PyTorch). Not differentiable."""
    xp = backend_of_array(input.data).xp
    data = input.data
    if data.ndim == 0:
        found = xp.nonzero(data.reshape(1))
        if as_tuple:
            return tuple(Tensor._wrap(i.astype("int64")) for i in found)
        return Tensor._wrap(xp.zeros((int(found[0].size), 0), dtype="int64"))
    found = xp.nonzero(data)
    if as_tuple:
        return tuple(Tensor._wrap(i.astype("int64")) for i in found)
    return Tensor._wrap(xp.stack(found, axis=1).astype("int64"))


def argwhere(input):  # noqa: A002
    """y = nonzero(input) (``torch.argwhere``): see ``nonzero``. Not differentiable."""
    return nonzero(input)


__all__ = ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal",
           "not_equal", "equal", "isclose", "allclose", "isnan", "isinf", "isfinite", "isposinf",
           "isneginf", "nonzero", "argwhere"]


def _tensor_methods():
    """The Tensor methods of this module (installed by ``ops/tensor_methods.py``)."""
    methods = {name: globals()[name] for name in __all__ if name != "argwhere"}
    methods["argwhere"] = argwhere
    return methods
