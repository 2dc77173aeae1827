"""Type promotion, PyTorch's rules, in one place.

The result dtype of an elementwise op on several operands (``torch.result_type``):

1. Operands rank by kind: tensors with dimensions, then 0-d tensors (and 0-d arrays), then
   Python numbers (NumPy scalars such as ``numpy.float64(2.0)`` count as Python numbers).
2. Dtypes rank by category: bool < integer < floating < complex.
3. The dimensioned tensors decide, promoted among themselves (float32 with float64 gives
   float64). A 0-d tensor decides only when its category is higher than theirs, and a
   Python number only when its category is higher than every tensor's; a Python float
   then gives the default float dtype (float32), a Python int int64.

So ``float32_tensor * 2.0``, ``float32_tensor / numpy.sqrt(d)``, ``float32_tensor +
int_tensor`` and ``float32_tensor * float64_0d_tensor`` stay float32, and
``int_tensor + 0.5`` is float32, where NumPy would give float64. True division of
integers gives the default float dtype. Matrix products do not promote: their operands
must have one dtype (``check_same_dtype``), as in PyTorch.
"""
import numbers

import numpy

DEFAULT_FLOAT = numpy.dtype("float32")
DEFAULT_INT = numpy.dtype("int64")
_DEFAULT_COMPLEX = numpy.dtype("complex64")


def category(dtype):
    """0 bool, 1 integer, 2 floating, 3 complex."""
    return {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}[numpy.dtype(dtype).kind]


def _scalar_category(x):
    if isinstance(x, (bool, numpy.bool_)):
        return 0
    if isinstance(x, numbers.Integral):
        return 1
    if isinstance(x, numbers.Real):
        return 2
    return 3


def promote_types(a, b):
    """PyTorch's ``promote_types``: across categories the higher category's dtype wins
    (float32 with int64 is float32, where NumPy says float64); within one, the smallest
    dtype that holds both."""
    ca, cb = category(a), category(b)
    if ca != cb:
        return numpy.dtype(a if ca > cb else b)
    return numpy.promote_types(a, b)


def _promote(dtypes):
    result = None
    for d in dtypes:
        result = d if result is None else promote_types(result, d)
    return result


def result_type(*operands):
    """The dtype PyTorch gives an elementwise op on ``operands`` (Tensors, backend arrays,
    Python or NumPy numbers); None when no operand has a dtype."""
    dimensioned, zero_dim, scalar_category = [], [], -1
    for x in operands:
        dtype = getattr(x, "dtype", None)
        if dtype is None or isinstance(x, numpy.generic):
            if isinstance(x, numbers.Number) or isinstance(x, numpy.generic):
                scalar_category = max(scalar_category, _scalar_category(x))
            continue
        (dimensioned if x.ndim else zero_dim).append(numpy.dtype(dtype))
    result = _promote(dimensioned)
    zero = _promote(zero_dim)
    if zero is not None and (result is None or category(zero) > category(result)):
        result = zero
    if result is None:
        return None
    if scalar_category > category(result):
        result = (numpy.dtype(bool), DEFAULT_INT, DEFAULT_FLOAT, _DEFAULT_COMPLEX)[scalar_category]
    return result


def weak_scalar(x):
    """A NumPy scalar as the Python number it holds, so NumPy/CuPy treat it as weakly
    typed (``float32_array * numpy.float64(2)`` stays float32)."""
    return x.item() if isinstance(x, numpy.generic) else x


def check_same_dtype(op, *tensors):
    """Matrix products and convolutions take operands of one dtype, as in PyTorch:
    float32 inputs with float64 weights is an error, not a silent upcast."""
    dtypes = [t.dtype for t in tensors if t is not None]
    if any(d != dtypes[0] for d in dtypes[1:]):
        shapes = ", ".join(f"{t.dtype} {tuple(t.shape)}" for t in tensors if t is not None)
        raise TypeError(f"{op}: expected operands of one dtype, got {shapes}; convert one "
                        f"with .float() / .double() / .astype(dtype)")
