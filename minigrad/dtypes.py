"""Type promotion, PyTorch's rules, in one place.

The result dtype of an elementwise op on several operands (``torch.result_type``):

1. Operands rank by kind: tensors with dimensions, then 0-d tensors (and 0-d arrays), then
   Python numbers (NumPy scalars such as ``numpy.float64(2.0)`` count as Python numbers).
2. Dtypes rank by category: bool < integer < floating < complex.
3. The dimensioned tensors decide, promoted among themselves (float32 with float64 gives
   float64). A 0-d tensor decides only when its category is higher than theirs, and a
   Python number only when its category is higher than every tensor's; a Python float
   then gives the default float dtype (``get_default_dtype()``, float32 unless changed),
   a Python int int64.

So ``float32_tensor * 2.0``, ``float32_tensor / numpy.sqrt(d)``, ``float32_tensor +
int_tensor`` and ``float32_tensor * float64_0d_tensor`` stay float32, and
``int_tensor + 0.5`` is float32, where NumPy would give float64. True division of
integers gives the default float dtype. Matrix products do not promote: their operands
must have one dtype (``check_same_dtype``), as in PyTorch.

The default floating dtype (float32 unless ``set_default_dtype`` says float64) lives here
and nowhere else: Python floats given to ``tensor()``, the creation functions, Python-float
and true-division promotions all read ``get_default_dtype()``.

The dtype names PyTorch users type are NumPy dtype objects, so ``x.dtype == minigrad.float32``
holds and every NumPy/CuPy call takes them: ``float32 float64 float16 complex64 complex128
int64 int32 int16 int8 uint8 bool`` and PyTorch's aliases ``float double half long int short
cfloat cdouble``. There is no ``bfloat16``: NumPy has no such dtype.
"""
import numbers

import numpy

float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
float16 = numpy.dtype("float16")
complex64 = numpy.dtype("complex64")
complex128 = numpy.dtype("complex128")
int64 = numpy.dtype("int64")
int32 = numpy.dtype("int32")
int16 = numpy.dtype("int16")
int8 = numpy.dtype("int8")
uint8 = numpy.dtype("uint8")
bool_ = numpy.dtype("bool")

# PyTorch's names, as the package exports them (``minigrad.float`` is float32, as ``torch.float``).
TORCH_NAMES = {"float32": float32, "float64": float64, "float16": float16,
               "complex64": complex64, "complex128": complex128, "int64": int64,
               "int32": int32, "int16": int16, "int8": int8, "uint8": uint8, "bool": bool_,
               "float": float32, "double": float64, "half": float16, "long": int64,
               "int": int32, "short": int16, "cfloat": complex64, "cdouble": complex128}

DEFAULT_FLOAT = float32          # read through get_default_dtype(): set_default_dtype rebinds it
DEFAULT_INT = int64
_DEFAULT_COMPLEX = complex64


def get_default_dtype():
    """The default floating dtype (``torch.get_default_dtype``): float32 unless
    ``set_default_dtype(float64)`` was called. Python floats, floating creation functions
    (``zeros``, ``rand``, ``arange(0, 1, .25)``, ``linspace``) and the float result of
    integer true division or of ``int_tensor + 0.5`` get it."""
    return DEFAULT_FLOAT


def default_complex_dtype():
    """complex64 when the default float dtype is float32, complex128 when it is float64
    (PyTorch's pairing)."""
    return _DEFAULT_COMPLEX


def set_default_dtype(d):
    """Make ``d`` (float32 or float64, a dtype or its name) the default floating dtype, for
    the whole process, as ``torch.set_default_dtype``.

    Deviation from PyTorch: float16 / bfloat16 are refused (PyTorch accepts float16 with
    caveats; NumPy has no bfloat16). Parameters of layers keep their own ``dtype=``
    argument (float32), as before."""
    global DEFAULT_FLOAT, _DEFAULT_COMPLEX
    try:
        dtype = numpy.dtype(d)
    except TypeError:
        raise TypeError(f"set_default_dtype: expected float32 or float64, got {d!r}") from None
    if dtype not in (float32, float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 can be the default "
                        f"floating dtype, got {dtype}")
    DEFAULT_FLOAT = dtype
    _DEFAULT_COMPLEX = complex64 if dtype == float32 else complex128


def as_dtype(d, op="dtype"):
    """``d`` (a NumPy dtype, a name such as ``'float32'``, a Python type, ``None``) as a NumPy
    dtype; None stays None. A name NumPy does not know raises a ``TypeError`` naming ``op``."""
    if d is None or isinstance(d, numpy.dtype):
        return d
    try:
        return numpy.dtype(d)
    except TypeError:
        raise TypeError(f"{op}: {d!r} is not a dtype (use minigrad.float32, minigrad.int64, "
                        f"'float64', ...)") from None


def dtype_of_value(value):
    """The dtype PyTorch gives a tensor made from the Python number ``value``: bool, int64,
    the default float dtype, or the default complex dtype."""
    if isinstance(value, (bool, numpy.bool_)):
        return bool_
    if isinstance(value, numbers.Integral):
        return int64
    if isinstance(value, numbers.Real):
        return DEFAULT_FLOAT
    if isinstance(value, numbers.Complex):
        return _DEFAULT_COMPLEX
    raise TypeError(f"expected a number, got {type(value).__name__}")


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
