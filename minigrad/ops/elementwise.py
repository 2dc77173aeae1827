"""Elementwise primitives. Gradients may come back in the broadcast shape; the
engine sums them to each input's shape (see ``autograd.sum_to_shape``)."""
from minigrad.autograd import Function
from minigrad.backends.kernels.activation_ref import stable_sigmoid
from minigrad.dtypes import DEFAULT_FLOAT, category, result_type, weak_scalar
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
    if type(a) is Tensor:   # the common cases first: they need no promotion
        if type(b) is Tensor and a.data.dtype == b.data.dtype and not (
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
        dtype = DEFAULT_FLOAT
    return function.apply(_as_dtype(a, dtype), _as_dtype(b, dtype))


def _floating(x):
    """Float math on an integer or bool tensor computes in the default float dtype, as in
    PyTorch (``exp(int_tensor)`` is float32), never in integers."""
    return cast(x, DEFAULT_FLOAT) if category(x.dtype) < 2 else x


def _real_floating(op, x):
    """``_floating`` for an op whose backward is written for real inputs only: a complex
    tensor is refused by name (its gradient would miss the conjugate)."""
    if x.dtype.kind == "c":
        raise TypeError(f"{op}: complex tensors are not supported, got dtype {x.dtype} and "
                        f"shape {tuple(x.shape)}; apply it to real(x) / imag(x) / abs(x)")
    return cast(x, DEFAULT_FLOAT) if category(x.dtype) < 2 else x


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
    """a + b (broadcasting)."""
    return _binary(Add, a, b)


def sub(a, b):
    """a - b (broadcasting)."""
    return _binary(Sub, a, b)


def mul(a, b):
    """a * b (broadcasting)."""
    return _binary(Mul, a, b)


def div(a, b):
    """a / b (broadcasting); integers divide to the default float dtype, as in PyTorch."""
    return _binary(Div, a, b, true_divide=True)


def neg(x):
    """-x elementwise."""
    return Neg.apply(x)


def pow(a, b):  # noqa: A001  (the name users type)
    """a ** b for a tensor or scalar exponent; a tensor exponent needs a > 0 for its gradient."""
    _refuse_complex("pow", a, b)
    return _binary(Pow, a, b)


def exp(x):
    """eˣ elementwise (see ``Exp`` for the backward)."""
    return Exp.apply(_floating(x))


def log(x):
    """Natural logarithm elementwise."""
    return Log.apply(_real_floating("log", x))


def log1p(x):
    """log(1 + x), accurate near 0."""
    return Log1p.apply(_real_floating("log1p", x))


def expm1(x):
    """eˣ - 1, accurate near 0."""
    return Expm1.apply(_real_floating("expm1", x))


def sqrt(x):
    """√x elementwise."""
    return Sqrt.apply(_real_floating("sqrt", x))


def rsqrt(x):
    """1/√x elementwise."""
    return Rsqrt.apply(_real_floating("rsqrt", x))


def abs(x):  # noqa: A001
    """|x| elementwise (gradient sign(x), 0 at 0); the modulus of a complex tensor."""
    if x.dtype.kind == "c":
        from minigrad.ops.complex import ComplexAbs
        return ComplexAbs.apply(x)
    return Abs.apply(x)


def maximum(a, b):
    """Elementwise max(a, b) (broadcasting)."""
    _refuse_complex("maximum", a, b)
    return _binary(Maximum, a, b)


def minimum(a, b):
    """Elementwise min(a, b) (broadcasting)."""
    _refuse_complex("minimum", a, b)
    return _binary(Minimum, a, b)


def clip(x, min=None, max=None):  # noqa: A002
    """Clamp x into [min, max] (either bound may be None)."""
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    _refuse_complex("clip", x)
    return Clip.apply(x, min, max)


clamp = clip


def where(cond, a, b):
    """a where cond is true, b elsewhere (cond is a boolean tensor or array)."""
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else cond
    cond = as_operand(cond, like)
    if isinstance(cond, Tensor) and cond.dtype != bool:
        raise TypeError(f"where: the condition must be boolean, got {cond.dtype}")
    a = as_operand(weak_scalar(a), like)
    b = as_operand(weak_scalar(b), like)
    dtype = result_type(a, b)
    return Where.apply(cond, _as_dtype(a, dtype), _as_dtype(b, dtype))


def sin(x):
    """sin x elementwise."""
    return Sin.apply(_real_floating("sin", x))


def cos(x):
    """cos x elementwise."""
    return Cos.apply(_real_floating("cos", x))


def tanh(x):
    """tanh x elementwise."""
    return Tanh.apply(_real_floating("tanh", x))


def sigmoid(x):
    """σ(x) = 1/(1 + e⁻ˣ), computed without overflow."""
    return Sigmoid.apply(_real_floating("sigmoid", x))


def erf(x):
    """The error function erf x elementwise."""
    return Erf.apply(_real_floating("erf", x))


def cast(x, dtype, copy=False):
    """x converted to ``dtype`` (differentiable between floating dtypes)."""
    return Cast.apply(x, dtype, copy)


# ------------------------------------------------------------------ registry
def _pos(rng, *shape):
    return rng.uniform(0.5, 2.0, shape)


def _away_from_ties(rng, *shape):
    a = rng.standard_normal(shape)
    return a, a + rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 1.0, shape)


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


_register_all()
