"""Elementwise primitives. Gradients may come back in the broadcast shape; the
engine sums them to each input's shape (see ``autograd.sum_to_shape``)."""
from minigrad.autograd import Function
from minigrad.backends.kernels.activation_ref import stable_sigmoid
from minigrad.dtypes import category, get_default_dtype, result_type, weak_scalar
from minigrad.registry import Case, register
from minigrad.ops._util import as_operand
from minigrad.tensor import Tensor


class Add(Function):
    """z = a + b;  dz/da = 1, dz/db = 1."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, gz):
        return gz, gz


class Sub(Function):
    """z = a - b;  dz/da = 1, dz/db = -1."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, gz):
        return gz, (-gz if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """z = a * b;  dz/da = b, dz/db = a (complex: ga = gz·conj(b), gb = gz·conj(a), PyTorch's
    conjugate Wirtinger convention, see ``minigrad.ops.complex``)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, gz):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return ((gz * _conj(ctx.xp, b) if need_a else None),
                (gz * _conj(ctx.xp, a) if need_b else None))


class Div(Function):
    """z = a / b;  dz/da = 1/b, dz/db = -a/b² = -z/b (complex: ga = gz/conj(b),
    gb = -gz·conj(z/b) = -ga·conj(z))."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, a, b):
        z = a / b
        ctx.save_for_backward(b, z)
        return z

    @staticmethod
    def backward(ctx, gz):
        b, z = ctx.saved_tensors
        ga = gz / _conj(ctx.xp, b)
        return ga, (-ga * _conj(ctx.xp, z) if ctx.needs_input_grad[1] else None)


class Neg(Function):
    """z = -a;  dz/da = -1."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, gz):
        return -gz


class Pow(Function):
    """z = a ** b;  dz/da = b a^(b-1),  dz/db = z log a (only defined for a > 0)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, a, b):
        z = a ** b
        ctx.save_for_backward(a, b, z)
        return z

    @staticmethod
    def backward(ctx, gz):
        a, b, z = ctx.saved_tensors
        need_a = ctx.needs_input_grad[0]
        need_b = len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1]
        ga = gz * b * a ** (b - 1) if need_a else None
        gb = gz * z * ctx.xp.log(a) if need_b else None
        return ga, gb


class Exp(Function):
    """y = eˣ;  dy/dx = eˣ = y (the output is saved, not the input; complex: gy·conj(y))."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * _conj(ctx.xp, y)


class Log(Function):
    """y = log x;  dy/dx = 1/x."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log(x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy / x


class Log1p(Function):
    """y = log(1 + x), accurate for small x;  dy/dx = 1/(1 + x)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log1p(x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy / (1 + x)


class Expm1(Function):
    """y = eˣ - 1, accurate for small x;  dy/dx = eˣ = y + 1."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.expm1(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * (y + 1)


class Sqrt(Function):
    """y = √x;  dy/dx = 1/(2√x) = 1/(2y)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy / (2 * y)


class Rsqrt(Function):
    """y = 1/√x;  dy/dx = -½ x^(-3/2) = -½ y³."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        y = 1 / ctx.xp.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return -0.5 * gy * y * y * y


class Abs(Function):
    """y = |x|;  dy/dx = sign(x) (0 at x = 0, the subgradient NumPy and PyTorch use)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.abs(x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * ctx.xp.sign(x)


class Maximum(Function):
    """z = max(a, b) elementwise; the gradient goes to the larger input
    (split equally on ties, so that a symmetric sum of both is still exact)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.maximum(a, b)

    @staticmethod
    def backward(ctx, gz):
        a, b = ctx.saved_tensors
        share = (a > b) + 0.5 * (a == b)
        return gz * share, gz * (1 - share)


class Minimum(Function):
    """z = min(a, b) elementwise; the gradient goes to the smaller input (split on ties)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.minimum(a, b)

    @staticmethod
    def backward(ctx, gz):
        a, b = ctx.saved_tensors
        share = (a < b) + 0.5 * (a == b)
        return gz * share, gz * (1 - share)


class Clip(Function):
    """y = min(max(x, lo), hi);  dy/dx = 1 where lo ≤ x ≤ hi, else 0."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return ctx.xp.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        inside = ctx.xp.ones(x.shape, dtype=bool)
        if ctx.lo is not None:
            inside &= x >= ctx.lo
        if ctx.hi is not None:
            inside &= x <= ctx.hi
        return gy * inside


class Where(Function):
    """z = a where cond else b;  dz/da = cond, dz/db = 1 - cond (cond gets none)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return ctx.xp.where(cond, a, b)

    @staticmethod
    def backward(ctx, gz):
        cond, = ctx.saved_tensors
        zero = ctx.xp.zeros((), dtype=gz.dtype)
        return None, ctx.xp.where(cond, gz, zero), ctx.xp.where(cond, zero, gz)


class Sin(Function):
    """y = sin x;  dy/dx = cos x."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.sin(x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * ctx.xp.cos(x)


class Cos(Function):
    """y = cos x;  dy/dx = -sin x."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.cos(x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return -gy * ctx.xp.sin(x)


class Tanh(Function):
    """y = tanh x;  dy/dx = 1 - y²."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * (1 - y * y)


class Sigmoid(Function):
    """y = σ(x) = 1/(1 + e⁻ˣ);  dy/dx = y(1 - y)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        y = stable_sigmoid(ctx.xp, x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * y * (1 - y)


class Erf(Function):
    """y = erf x = (2/√π) ∫₀ˣ e^(-t²) dt;  dy/dx = (2/√π) e^(-x²)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.special().erf(x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * (1.1283791670955126 * ctx.xp.exp(-x * x))


class Cast(Function):
    """y = x converted to ``dtype``; the gradient is converted back to x's dtype."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, dtype, copy):
        return x.astype(dtype, copy=copy)

    @staticmethod
    def backward(ctx, gy):
        return gy  # the engine casts it to the input's dtype


class Remainder(Function):
    """z = a mod b with the sign of b (Python's ``%``, ``torch.remainder``):
    z = a - b·⌊a/b⌋. ⌊a/b⌋ is piecewise constant, so dz/da = 1 and dz/db = -⌊a/b⌋
    (PyTorch's rule; the jumps at a/b ∈ ℤ are ignored, as there). ⌊a/b⌋ is saved as a
    constant: its own derivative is 0 wherever it is defined."""
    differentiable_backward = True
    saves_constants = True

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        if ctx.needs_input_grad and ctx.needs_input_grad[1]:
            ctx.save_for_backward(xp.floor(a / b))
        return xp.remainder(a, b)

    @staticmethod
    def backward(ctx, gz):
        need_b = ctx.needs_input_grad[1]
        return gz, (-gz * ctx.saved_tensors[0] if need_b else None)


class Fmod(Function):
    """z = a mod b with the sign of a (C's ``fmod``, ``torch.fmod``): z = a - b·trunc(a/b);
    dz/da = 1, dz/db = -trunc(a/b) (piecewise constant, saved as a constant)."""
    differentiable_backward = True
    saves_constants = True

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        if ctx.needs_input_grad and ctx.needs_input_grad[1]:
            ctx.save_for_backward(xp.trunc(a / b))
        return xp.fmod(a, b)

    @staticmethod
    def backward(ctx, gz):
        need_b = ctx.needs_input_grad[1]
        return gz, (-gz * ctx.saved_tensors[0] if need_b else None)


class _Stepwise(Function):
    """A piecewise-constant function (floor, ceil, round, trunc, sign): its derivative is 0
    wherever it is defined, and PyTorch gives 0 everywhere (also at the jumps)."""
    differentiable_backward = True

    @staticmethod
    def backward(ctx, gy):
        return ctx.xp.zeros_like(gy)


class Floor(_Stepwise):
    """y = ⌊x⌋;  dy/dx = 0."""
    @staticmethod
    def forward(ctx, x):
        return ctx.xp.floor(x)


class Ceil(_Stepwise):
    """y = ⌈x⌉;  dy/dx = 0."""
    @staticmethod
    def forward(ctx, x):
        return ctx.xp.ceil(x)


class Round(_Stepwise):
    """y = x rounded to ``decimals`` places, halves to even (as NumPy and PyTorch);  dy/dx = 0."""
    @staticmethod
    def forward(ctx, x, decimals):
        return ctx.xp.round(x, decimals)

    @staticmethod
    def backward(ctx, gy):
        return ctx.xp.zeros_like(gy), None


class Trunc(_Stepwise):
    """y = trunc(x) (towards zero);  dy/dx = 0."""
    @staticmethod
    def forward(ctx, x):
        return ctx.xp.trunc(x)


class Sign(_Stepwise):
    """y = sign(x) ∈ {-1, 0, 1};  dy/dx = 0."""
    @staticmethod
    def forward(ctx, x):
        return ctx.xp.sign(x)


def _conj(xp, a):
    """conj(a) for a complex array or tensor; anything else as it is (``xp.conj`` of a real
    array would be a copy)."""
    kind = type(a)
    if kind is float or kind is int or kind is bool:
        return a
    if kind is complex:
        return a.conjugate()
    return xp.conj(a) if a.dtype.kind == "c" else a


# ------------------------------------------------------------------ functional
_WEAK_NUMBERS = (float, int, bool)


def _binary(function, a, b, true_divide=False):
    """Apply a two-operand op after PyTorch's type promotion (``minigrad.dtypes``)."""
    if isinstance(a, Tensor):   # the common cases first: they need no promotion
        if isinstance(b, Tensor) and a.data.dtype == b.data.dtype and not (
                true_divide and a.data.dtype.kind not in "fc"):
            return function.apply(a, b)
        if type(b) in _WEAK_NUMBERS and a.data.dtype.kind == "f":
            return function.apply(a, b)
    if isinstance(a, Tensor):
        b = as_operand(weak_scalar(b), a)
    else:
        a = as_operand(weak_scalar(a), b)
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype == b.dtype:
        dtype = a.dtype
    else:
        dtype = result_type(a, b)
    if true_divide and category(dtype) < 2:
        dtype = get_default_dtype()
    return function.apply(_as_dtype(a, dtype), _as_dtype(b, dtype))


def _floating(x):
    """Float math on an integer or bool tensor computes in the default float dtype, as in
    PyTorch (``exp(int_tensor)`` is float32), never in integers."""
    return cast(x, get_default_dtype()) if category(x.dtype) < 2 else x


def _real_floating(op, x):
    """``_floating`` for an op whose backward is written for real inputs only: a complex
    tensor is refused by name (its gradient would miss the conjugate)."""
    if x.dtype.kind == "c":
        raise TypeError(f"{op}: complex tensors are not supported, got dtype {x.dtype} and "
                        f"shape {tuple(x.shape)}; apply it to real(x) / imag(x) / abs(x)")
    return cast(x, get_default_dtype()) if category(x.dtype) < 2 else x


def _refuse_complex(op, *operands):
    """Ops whose backward has no conjugate (or that complex numbers do not define)."""
    for x in operands:
        if isinstance(x, complex) or getattr(getattr(x, "dtype", None), "kind", None) == "c":
            raise TypeError(f"{op}: complex operands are not supported, got "
                            f"{getattr(x, 'dtype', type(x).__name__)}; apply it to real(x), "
                            f"imag(x) or abs(x)")


def _as_dtype(x, dtype):
    return cast(x, dtype) if isinstance(x, Tensor) and x.dtype != dtype else x


def add(a, b):
    """y = a + b (broadcasting; PyTorch's type promotion). Backward: the Function ``Add``
    (da = dy, db = dy, summed over broadcast axes)."""
    if type(a) is Tensor and type(b) is Tensor and a.data.dtype == b.data.dtype:
        return Add.apply(a, b)   # the common case, without a second call
    return _binary(Add, a, b)


def sub(a, b):
    """y = a − b (broadcasting). Backward: the Function ``Sub`` (da = dy, db = −dy)."""
    if type(a) is Tensor and type(b) is Tensor and a.data.dtype == b.data.dtype:
        return Sub.apply(a, b)   # the common case, without a second call
    return _binary(Sub, a, b)


def mul(a, b):
    """y = a · b (broadcasting). Backward: the Function ``Mul`` (da = dy·b, db = dy·a)."""
    if type(a) is Tensor and type(b) is Tensor and a.data.dtype == b.data.dtype:
        return Mul.apply(a, b)   # the common case, without a second call
    return _binary(Mul, a, b)


def div(a, b):
    """y = a / b (broadcasting); integers divide to the default float dtype, as in PyTorch.
    Backward: the Function ``Div`` (da = dy/b, db = −dy·a/b²)."""
    return _binary(Div, a, b, true_divide=True)


def neg(x):
    """y = −x elementwise. Backward: the Function ``Neg`` (dx = −dy)."""
    return Neg.apply(x)


def pow(a, b):  # noqa: A001  (the name users type)
    """y = a ** b = aᵇ for a tensor or scalar exponent; a tensor exponent needs a > 0 for its
    gradient. Backward: the Function ``Pow`` (da = dy·b·aᵇ⁻¹, db = dy·aᵇ·ln a)."""
    _refuse_complex("pow", a, b)
    return _binary(Pow, a, b)


def exp(x):
    """y = eˣ elementwise. Backward: the Function ``Exp`` (dx = dy·y)."""
    return Exp.apply(_floating(x))


def log(x):
    """y = ln x elementwise. Backward: the Function ``Log`` (dx = dy/x)."""
    return Log.apply(_real_floating("log", x))


def log1p(x):
    """y = log(1 + x), accurate near 0. Backward: the Function ``Log1p`` (dx = dy/(1 + x))."""
    return Log1p.apply(_real_floating("log1p", x))


def expm1(x):
    """y = eˣ − 1, accurate near 0. Backward: the Function ``Expm1`` (dx = dy·(y + 1))."""
    return Expm1.apply(_real_floating("expm1", x))


def sqrt(x):
    """y = √x elementwise. Backward: the Function ``Sqrt`` (dx = dy/(2y))."""
    return Sqrt.apply(_real_floating("sqrt", x))


def rsqrt(x):
    """y = 1/√x elementwise. Backward: the Function ``Rsqrt`` (dx = −½·dy·y³)."""
    return Rsqrt.apply(_real_floating("rsqrt", x))


def abs(x):  # noqa: A001
    """y = |x| elementwise; the modulus of a complex tensor. Backward: the Function ``Abs``
    (dx = dy·sign(x), 0 at 0 as PyTorch; complex: ``ComplexAbs``)."""
    if x.dtype.kind == "c":
        from minigrad.ops.complex import ComplexAbs
        return ComplexAbs.apply(x)
    return Abs.apply(x)


def maximum(a, b):
    """y = max(a, b) elementwise (broadcasting). Backward: the Function ``Maximum`` (the
    gradient to the larger input; split in halves on ties, where PyTorch does the same)."""
    _refuse_complex("maximum", a, b)
    return _binary(Maximum, a, b)


def minimum(a, b):
    """y = min(a, b) elementwise (broadcasting). Backward: the Function ``Minimum``
    (the gradient to the smaller input; split in halves on ties)."""
    _refuse_complex("minimum", a, b)
    return _binary(Minimum, a, b)


def clip(x, min=None, max=None):  # noqa: A002
    """Clamp x into [min, max] (``torch.clamp``; either bound may be None):
    y = min(max(x, min), max) (so y = max where min > max, as PyTorch).

    Number bounds: backward the Function ``Clip`` (dy/dx = 1 where min ≤ x ≤ max, else 0).
    Tensor bounds (broadcasting): the composite ``minimum(maximum(x, min), max)``; the
    gradient goes to the bound where it is active (``Maximum``/``Minimum``; a tie x = bound
    splits it in halves, where PyTorch gives it all to x)."""
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    _refuse_complex("clip", x)
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        y = x if min is None else maximum(x, min)
        return y if max is None else minimum(y, max)
    return Clip.apply(x, min, max)


clamp = clip


def where(cond, a, b):
    """y = a where cond else b (``torch.where``; cond is a boolean tensor or array).
    Backward: the Function ``Where`` (da = dy·cond, db = dy·(1 − cond))."""
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else cond
    cond = as_operand(cond, like)
    if isinstance(cond, Tensor) and cond.dtype != bool:
        raise TypeError(f"where: the condition must be boolean, got {cond.dtype}")
    a = as_operand(weak_scalar(a), like)
    b = as_operand(weak_scalar(b), like)
    dtype = result_type(a, b)
    return Where.apply(cond, _as_dtype(a, dtype), _as_dtype(b, dtype))


def sin(x):
    """y = sin x elementwise. Backward: the Function ``Sin`` (dx = dy·cos x)."""
    return Sin.apply(_real_floating("sin", x))


def cos(x):
    """y = cos x elementwise. Backward: the Function ``Cos`` (dx = −dy·sin x)."""
    return Cos.apply(_real_floating("cos", x))


def tanh(x):
    """y = tanh x elementwise. Backward: the Function ``Tanh`` (dx = dy·(1 − y²))."""
    return Tanh.apply(_real_floating("tanh", x))


def sigmoid(x):
    """σ(x) = 1/(1 + e⁻ˣ), computed without overflow."""
    return Sigmoid.apply(_real_floating("sigmoid", x))


def erf(x):
    """y = erf x = (2/√π)∫₀ˣ e^(−t²) dt elementwise. Backward: the Function ``Erf``
    (dx = dy·(2/√π)e^(−x²))."""
    return Erf.apply(_real_floating("erf", x))


def cast(x, dtype, copy=False):
    """y = x converted to ``dtype`` (differentiable between floating dtypes). Backward: the
    Function ``Cast`` (dx = dy converted back to x's dtype)."""
    return Cast.apply(x, dtype, copy)


def _number_or_tensor(op, a, b):
    """``(a, b)`` as a tensor and a tensor or Python number, after PyTorch's promotion."""
    _refuse_complex(op, a, b)
    if isinstance(a, Tensor):
        b = as_operand(weak_scalar(b), a)
    else:
        a = as_operand(weak_scalar(a), b)
    dtype = result_type(a, b)
    return _as_dtype(a, dtype), _as_dtype(b, dtype), dtype


def _check_integer_divisor(op, b, dtype):
    if category(dtype) < 2:
        zero = (b == 0) if not isinstance(b, Tensor) else bool((b.data == 0).any())
        if zero:
            raise ZeroDivisionError(f"{op}: integer division by zero (dtype {dtype})")


def floor_divide(input, other):  # noqa: A002  (PyTorch's argument names)
    """y = ⌊input / other⌋ elementwise (``torch.floor_divide``, ``//``): PyTorch 2.x rounds toward
    −∞ (as Python's ``//``); integers stay integers (``int64 // int64`` is int64), floats
    stay floats; PyTorch's type promotion. Integer division by zero raises
    ``ZeroDivisionError``.

    Backward: none. The result is piecewise constant and PyTorch does not differentiate it:
    the result never requires grad (a constant of its inputs)."""
    a, b, dtype = _number_or_tensor("floor_divide", input, other)
    _check_integer_divisor("floor_divide", b, dtype)
    xa = a.data if isinstance(a, Tensor) else a
    xb = b.data if isinstance(b, Tensor) else b
    return Tensor._wrap(_xp_of(a, b).asarray(_xp_of(a, b).floor_divide(xa, xb)))


def _xp_of(a, b):
    from minigrad.backends import backend_of_array
    return backend_of_array((a if isinstance(a, Tensor) else b).data).xp


def remainder(input, other):  # noqa: A002
    """input mod other with the sign of ``other`` (``torch.remainder``, Python's ``%``):
    z = a − b·⌊a/b⌋. Differentiable in both (backward: the Function ``Remainder``:
    dz/da = 1, dz/db = −⌊a/b⌋); integer inputs give integers and no gradient. Integer
    division by zero raises ``ZeroDivisionError``."""
    a, b, dtype = _number_or_tensor("remainder", input, other)
    _check_integer_divisor("remainder", b, dtype)
    return Remainder.apply(a, b)


def fmod(input, other):  # noqa: A002
    """input mod other with the sign of ``input`` (``torch.fmod``, C's ``fmod``):
    z = a − b·trunc(a/b). Backward: the Function ``Fmod`` (dz/da = 1, dz/db = −trunc(a/b))."""
    a, b, dtype = _number_or_tensor("fmod", input, other)
    _check_integer_divisor("fmod", b, dtype)
    return Fmod.apply(a, b)


def _stepwise(function, name, x, *args):
    if x.dtype.kind in "iub":        # integers are already whole numbers (PyTorch: a copy)
        if name == "sign" and x.dtype.kind != "b":
            return Tensor._wrap(_xp_of(x, None).sign(x.data))
        return cast(x, x.dtype, copy=True)
    _refuse_complex(name, x)
    return function.apply(x, *args)


def floor(input):  # noqa: A002
    """y = ⌊x⌋ elementwise (``torch.floor``). Backward: zero (the Function ``Floor``), as PyTorch."""
    return _stepwise(Floor, "floor", input)


def ceil(input):  # noqa: A002
    """y = ⌈x⌉ elementwise (``torch.ceil``). Backward: zero (the Function ``Ceil``), as PyTorch."""
    return _stepwise(Ceil, "ceil", input)


def round(input, decimals=0):  # noqa: A001,A002
    """y = x rounded to ``decimals`` (default 0) places, halves to even (``torch.round``).
    Backward: zero (the Function ``Round``), as PyTorch."""
    return _stepwise(Round, "round", input, int(decimals))


def trunc(input):  # noqa: A002
    """y = x rounded toward zero, sign(x)·⌊|x|⌋ (``torch.trunc``). Backward: zero (``Trunc``)."""
    return _stepwise(Trunc, "trunc", input)


def sign(input):  # noqa: A002
    """y = sign(x) ∈ {−1, 0, 1} elementwise (``torch.sign``). Backward: zero (the Function
    ``Sign``), as PyTorch."""
    return _stepwise(Sign, "sign", input)


def square(input):  # noqa: A002
    """y = x² elementwise (``torch.square``); composite x·x (backward: ``Mul``: 2x·dy)."""
    return mul(input, input)


def reciprocal(input):  # noqa: A002
    """y = 1/x elementwise (``torch.reciprocal``; integers give the default float dtype);
    composite 1/x (backward: ``Div``: −dy/x²)."""
    return div(1.0, input)


def log2(input):  # noqa: A002
    """y = log₂ x = ln x / ln 2 elementwise (``torch.log2``); composite (backward: ``Log``: dy/(x ln 2))."""
    return log(input) / 0.6931471805599453


def log10(input):  # noqa: A002
    """y = log₁₀ x = ln x / ln 10 elementwise (``torch.log10``); composite (backward: dy/(x ln 10))."""
    return log(input) / 2.302585092994046


def exp2(input):  # noqa: A002
    """y = 2ˣ elementwise (``torch.exp2``); composite 2 ** x (backward: ``Pow``: dy·2ˣ·ln 2)."""
    return pow(2.0, _floating(input))


def clamp_min(input, min):  # noqa: A002
    """y = max(x, min) elementwise (``torch.clamp_min``); ``clamp(input, min=min)``: backward
    the Function ``Clip`` (dy/dx = 1 where x ≥ min, else 0)."""
    return clamp(input, min=min)


def clamp_max(input, max):  # noqa: A002
    """y = min(x, max) elementwise (``torch.clamp_max``); ``clamp(input, max=max)``: backward
    the Function ``Clip`` (dy/dx = 1 where x ≤ max, else 0)."""
    return clamp(input, max=max)


# ------------------------------------------------------------------ registry
def _pos(rng, *shape):
    return rng.uniform(0.5, 2.0, shape)


def _away_from_ties(rng, *shape):
    a = rng.standard_normal(shape)
    return a, a + rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 1.0, shape)


def _away_from_jumps(rng, *shape, signed=False):
    """(a, b) with a/b at least 0.2 away from an integer (where remainder and fmod jump)."""
    b = rng.uniform(0.8, 2.0, shape) * (rng.choice([-1.0, 1.0], shape) if signed else 1.0)
    return b * (rng.integers(-3, 3, shape) + rng.uniform(0.2, 0.8, shape)), b


def _register_all():
    n = lambda rng, *s: rng.standard_normal(s)  # noqa: E731
    register(add, inputs=lambda r: [Case(n(r, 3, 4), n(r, 4)), Case(n(r, 2, 1, 3), n(r, 4, 1)),
                                    Case(n(r, 3), 2.5)])
    register(sub, inputs=lambda r: [Case(n(r, 3, 4), n(r, 3, 1)), Case(1.5, n(r, 3))])
    register(mul, inputs=lambda r: [Case(n(r, 3, 4), n(r, 4)), Case(n(r, 2, 3), -3.0)])
    register(div, inputs=lambda r: [Case(n(r, 3, 4), _pos(r, 3, 1)), Case(2.0, _pos(r, 5))])
    register(neg, inputs=lambda r: Case(n(r, 3, 4)))
    register(pow, inputs=lambda r: [Case(_pos(r, 3, 4), 3.0), Case(n(r, 5), 2),
                                    Case(_pos(r, 3, 4), n(r, 4)), Case(2.0, n(r, 4))])
    register(exp, inputs=lambda r: Case(n(r, 3, 4)))
    register(log, inputs=lambda r: Case(_pos(r, 3, 4)))
    register(log1p, inputs=lambda r: Case(r.uniform(-0.5, 2.0, (3, 4))))
    register(expm1, inputs=lambda r: Case(n(r, 3, 4)))
    register(sqrt, inputs=lambda r: Case(_pos(r, 3, 4)))
    register(rsqrt, inputs=lambda r: Case(_pos(r, 3, 4)))
    register(abs, inputs=lambda r: Case(n(r, 3, 4) + 0.05 * r.choice([-1, 1], (3, 4))))
    register(maximum, inputs=lambda r: Case(*_away_from_ties(r, 3, 4)))
    register(minimum, inputs=lambda r: Case(*_away_from_ties(r, 3, 4)))
    register(clip, aliases=["clamp"],
             inputs=lambda r: [Case(r.choice([-1.0, 1.0], (4, 5)) * r.uniform(0.0, 0.4, (4, 5))
                                    + r.choice([-1.0, 0.0, 1.0], (4, 5)), min=-0.5, max=0.5)])
    register(where, inputs=lambda r: Case(r.standard_normal((3, 4)) > 0, n(r, 3, 4), n(r, 4)))
    register(sin, inputs=lambda r: Case(n(r, 3, 4)))
    register(cos, inputs=lambda r: Case(n(r, 3, 4)))
    register(tanh, inputs=lambda r: Case(n(r, 3, 4)))
    register(sigmoid, inputs=lambda r: Case(3 * n(r, 3, 4)))
    register(erf, inputs=lambda r: Case(n(r, 3, 4)))
    register(remainder, inputs=lambda r: [Case(*_away_from_jumps(r, 3, 4)),
                                          Case(_away_from_jumps(r, 5)[0], 1.5, wrt=(0,)),
                                          Case(*_away_from_jumps(r, 3, 4, signed=True))])
    register(fmod, inputs=lambda r: [Case(*_away_from_jumps(r, 3, 4, signed=True)),
                                     Case(_away_from_jumps(r, 5)[0], -1.5, wrt=(0,))])
    for fn in (floor, ceil, trunc, sign):
        register(fn, inputs=lambda r: Case(r.integers(-3, 3, (3, 4)) + r.uniform(0.2, 0.4, (3, 4))))
    register(round, inputs=lambda r: [Case(r.integers(-3, 3, (3, 4)) + r.uniform(0.1, 0.4, (3, 4))),
                                      Case(r.uniform(-2, 2, (5,)).round(2) + 0.003, decimals=2)])


_register_all()


# ------------------------------------------------------------------ in-place variants
def _inplace(fn, name):
    """``x.<name>(...)``: ``fn(x, ...)`` written into x's memory (``torch.Tensor.exp_`` and
    friends). Same math as ``fn``; not recorded on the tape, so allowed only where PyTorch's
    would not break a gradient here: on a tensor that does not require grad, or under
    ``no_grad()`` (``Tensor._check_inplace``). Bumps the version counter, so that a backward
    that saved the old values raises. The result must keep x's dtype (``exp_`` of an integer
    tensor raises, as PyTorch)."""
    def method(self, *args, **kwargs):
        self._check_inplace(name)
        from minigrad.autograd import no_grad
        with no_grad():
            out = fn(Tensor._wrap(self.data), *args, **kwargs)
        if category(out.dtype) > category(self.dtype):
            raise TypeError(f"{name}: the result of dtype {out.dtype} cannot be written into a "
                            f"tensor of dtype {self.dtype} and shape {tuple(self.shape)}")
        if tuple(out.shape) != tuple(self.shape):
            raise ValueError(f"{name}: the result of shape {tuple(out.shape)} does not fit "
                             f"in place of a tensor of shape {tuple(self.shape)}")
        self.data[...] = out.data
        return self
    method.__name__ = name
    method.__doc__ = (f"In-place ``{fn.__name__}``: ``x.{name}(...)`` writes "
                      f"``{fn.__name__}(x, ...)`` into x and returns x. " + _inplace.__doc__.split(
                          "\n", 1)[1].strip())
    return method


def _inplace_methods():
    from minigrad.layers.activations import relu, gelu
    done = {}
    for fn in (exp, log, log1p, expm1, sqrt, rsqrt, abs, neg, sin, cos, tanh, sigmoid, erf,
               floor, ceil, round, trunc, sign, square, reciprocal, remainder, fmod, pow,
               clamp_min, clamp_max, log2, log10, exp2, relu, gelu):
        done[fn.__name__ + "_"] = _inplace(fn, fn.__name__ + "_")
    done["floor_divide_"] = _inplace(floor_divide, "floor_divide_")
    done["clip_"] = _inplace(clip, "clip_")
    done["negative_"] = done["neg_"]
    return done


def _softmax_method(self, dim=None, dtype=None, axis=None):
    """``x.softmax(dim)``: ``F.softmax(x, dim=dim)`` (see its docstring for the math and the
    backward); ``dtype`` casts x first, as PyTorch."""
    from minigrad.layers.activations import softmax
    return softmax(self if dtype is None else cast(self, dtype), axis=axis, dim=dim)


def _log_softmax_method(self, dim=None, dtype=None, axis=None):
    """``x.log_softmax(dim)``: ``F.log_softmax(x, dim=dim)`` (see its docstring)."""
    from minigrad.layers.activations import log_softmax
    return log_softmax(self if dtype is None else cast(self, dtype), axis=axis, dim=dim)


def _tensor_methods():
    """The Tensor methods of this module (installed by ``ops/tensor_methods.py``)."""
    from minigrad.layers.activations import relu, gelu
    methods = {name: globals()[name] for name in (
        "floor_divide", "remainder", "fmod", "floor", "ceil", "round", "trunc", "sign",
        "square", "reciprocal", "log2", "log10", "exp2", "clamp_min", "clamp_max",
        "neg", "add", "sub", "mul", "div")}
    methods.update(relu=relu, gelu=gelu, softmax=_softmax_method,
                   log_softmax=_log_softmax_method, negative=neg, multiply=mul,
                   subtract=sub, divide=div, true_divide=div)
    methods.update(_inplace_methods())
    methods.update(__floordiv__=floor_divide, __rfloordiv__=lambda s, o: floor_divide(o, s),
                   __mod__=remainder, __rmod__=lambda s, o: remainder(o, s),
                   __ifloordiv__=methods["floor_divide_"], __imod__=methods["remainder_"])
    return methods
