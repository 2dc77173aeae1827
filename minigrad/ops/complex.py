"""Complex-number ops: real, imag, conj, |z|, angle, polar, complex(re, im), view_as_real.

Gradients follow PyTorch's convention for a real loss L of z = x + iy: z.grad = ∂L/∂x +
i·∂L/∂y (the conjugate Wirtinger gradient; L = |z|² gives 2z). For a map w = f(z) the
backward is then gz = gw·conj(f′(z)) when f is holomorphic, and in general
gz = conj(∂w/∂z)·gw + (∂w/∂z̄)·conj(gw). A gradient that reaches a real input from a
complex computation is its real part (the engine takes it). Reference: PyTorch, "Autograd
for complex numbers" (docs/notes/autograd.rst).
"""
from minigrad.autograd import Function
from minigrad.tensor import Tensor


def _complex_dtype(xp, dtype):
    """complex64 for float32/complex64 (and smaller), complex128 for float64/complex128."""
    return xp.result_type(dtype, xp.complex64)


def _to_complex(xp, g, dtype):
    """``g`` (real) as a complex array or tensor of ``dtype`` (recorded on tensors)."""
    return xp.asarray(g, dtype=dtype)


class Real(Function):
    """x = Re z;  z.grad = g (as a complex number: ∂x/∂x = 1, ∂x/∂y = 0)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, z):
        ctx.cdtype = z.dtype
        return z.real.copy()

    @staticmethod
    def backward(ctx, g):
        return _to_complex(ctx.xp, g, ctx.cdtype)


class Imag(Function):
    """y = Im z;  z.grad = i·g (∂y/∂x = 0, ∂y/∂y = 1)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, z):
        ctx.cdtype = z.dtype
        return z.imag.copy()

    @staticmethod
    def backward(ctx, g):
        return 1j * _to_complex(ctx.xp, g, ctx.cdtype)


class Conj(Function):
    """w = z̄ (anti-holomorphic: ∂w/∂z̄ = 1);  z.grad = conj(g)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, z):
        return ctx.xp.conj(z)

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.conj(g)


class ComplexAbs(Function):
    """r = |z| = √(x² + y²);  ∂r/∂x = x/r, ∂r/∂y = y/r, so z.grad = g·z/r (0 at z = 0, the
    subgradient PyTorch uses)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, z):
        r = ctx.xp.abs(z)
        ctx.save_for_backward(z, r)
        return r

    @staticmethod
    def backward(ctx, g):
        z, r = ctx.saved_tensors
        safe = ctx.xp.where(r == 0, 1, r)
        return g * (z / safe)


class Angle(Function):
    """θ = atan2(y, x);  ∂θ/∂x = −y/|z|², ∂θ/∂y = x/|z|², so z.grad = g·(−y + ix)/|z|²
    = g·i·z/|z|² (0 at z = 0)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return ctx.xp.angle(z)

    @staticmethod
    def backward(ctx, g):
        z, = ctx.saved_tensors
        xp = ctx.xp
        r2 = xp.real(z * xp.conj(z))
        safe = xp.where(r2 == 0, 1, r2)
        return g * ((1j * z) / safe)


class Complex(Function):
    """z = re + i·im (broadcasting);  ∂L/∂re = Re(z.grad), ∂L/∂im = Im(z.grad)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, re, im):
        dtype = _complex_dtype(ctx.xp, ctx.xp.result_type(re, im))
        return re.astype(dtype) + 1j * im.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.real(g), ctx.xp.imag(g)


class ViewAsReal(Function):
    """out[..., 0] = Re z, out[..., 1] = Im z;  z.grad = g[..., 0] + i·g[..., 1]."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, z):
        ctx.cdtype = z.dtype
        return ctx.xp.stack([z.real, z.imag], axis=-1)

    @staticmethod
    def backward(ctx, g):
        re = _to_complex(ctx.xp, g[..., 0], ctx.cdtype)
        return re + 1j * _to_complex(ctx.xp, g[..., 1], ctx.cdtype)


# ------------------------------------------------------------------ functional
def _check_complex(op, z):
    if not isinstance(z, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(z).__name__}")
    if z.dtype.kind != "c":
        raise TypeError(f"{op}: expected a complex tensor, got dtype {z.dtype} and shape "
                        f"{tuple(z.shape)}")


def _check_real(op, **tensors):
    for name, t in tensors.items():
        if isinstance(t, Tensor) and t.dtype.kind != "f":
            raise TypeError(f"{op}: {name} must be a real floating-point tensor, got dtype "
                            f"{t.dtype} and shape {tuple(t.shape)}")


def real(z):
    """Re z (a real tensor; for a real tensor, z itself, as torch.real).

    y = Re z;  backward: z.grad = g (a real gradient lands on the real part). Primitive."""
    return Real.apply(z) if z.dtype.kind == "c" else z


def imag(z):
    """Im z of a complex tensor (torch.imag: a real tensor is an error).

    y = Im z;  backward: z.grad = i·g. Primitive."""
    _check_complex("imag", z)
    return Imag.apply(z)


def conj(z):
    """The complex conjugate (for a real tensor, z itself).

    y = Re z − i·Im z;  backward: z.grad = conj(g). Primitive."""
    return Conj.apply(z) if z.dtype.kind == "c" else z


def abs(z):  # noqa: A001
    """|z|: the modulus of a complex tensor (gradient g·z/|z|, 0 at 0); real tensors go to
    the elementwise |x|."""
    from minigrad.ops.elementwise import abs as elementwise_abs
    return elementwise_abs(z)


def angle(z):
    """The argument of a complex tensor, in (−π, π].

    y = atan2(Im z, Re z);  backward: z.grad = g·i·z/|z|² (0 at z = 0). Primitive."""
    _check_complex("angle", z)
    return Angle.apply(z)


def complex(real, imag):  # noqa: A001  (torch.complex)
    """A complex tensor from two real floating tensors of one dtype (broadcasting).

    z = real + i·imag;  backward: real.grad = Re g, imag.grad = Im g. Primitive."""
    _check_real("complex", real=real, imag=imag)
    if real.dtype != imag.dtype:
        raise TypeError(f"complex: real and imag must have one dtype, got {real.dtype} "
                        f"{tuple(real.shape)} and {imag.dtype} {tuple(imag.shape)}")
    return Complex.apply(real, imag)


def polar(abs, angle):  # noqa: A002  (torch.polar's argument names)
    """abs·e^(i·angle) = abs·cos(angle) + i·abs·sin(angle), from two real tensors; gradients
    reach both through the composition."""
    _check_real("polar", abs=abs, angle=angle)
    return complex(abs * angle.cos(), abs * angle.sin())


def view_as_real(z):
    """A complex tensor of shape S as a real tensor of shape S + (2,): (Re, Im) pairs
    (a copy, not a view, in minigrad).

    y[..., 0] = Re z, y[..., 1] = Im z;  backward: z.grad = g[..., 0] + i·g[..., 1]. Primitive."""
    _check_complex("view_as_real", z)
    return ViewAsReal.apply(z)


def view_as_complex(x):
    """The inverse of ``view_as_real``: a real tensor of shape S + (2,) as complex of shape S.

    z = x[..., 0] + i·x[..., 1];  backward: x.grad = (Re g, Im g) stacked. Primitive."""
    _check_real("view_as_complex", x=x)
    if x.ndim == 0 or x.shape[-1] != 2:
        raise ValueError(f"view_as_complex: the last dimension must have size 2, got shape "
                         f"{tuple(x.shape)}")
    return complex(x[..., 0], x[..., 1])


# ------------------------------------------------------------------ registry
# gradcheck works on real float64 tensors: each op is checked through a real-valued wrapper
# that builds its complex input from (re, im) and splits a complex output into (re, im).
def _complex_checked(re, im):
    return view_as_real(complex(re, im))


def _polar_checked(r, theta):
    return view_as_real(polar(r, theta))


def _conj_checked(re, im):
    return view_as_real(conj(complex(re, im)))


def _angle_checked(re, im):
    return angle(complex(re, im))


def _register_all():
    from minigrad.registry import Case, register
    n = lambda rng, *s: rng.standard_normal(s)  # noqa: E731
    away = lambda rng, *s: rng.choice([-1.0, 1.0], s) * rng.uniform(0.3, 2.0, s)  # noqa: E731
    register(complex, checked_as=_complex_checked,
             inputs=lambda r: [Case(n(r, 3, 4), n(r, 3, 4)), Case(n(r, 2, 3), n(r, 3))])
    register(polar, checked_as=_polar_checked,
             inputs=lambda r: [Case(r.uniform(0.5, 2.0, (3, 4)), n(r, 3, 4))])
    register(conj, checked_as=_conj_checked, inputs=lambda r: [Case(n(r, 3, 4), n(r, 3, 4))])
    register(angle, checked_as=_angle_checked,      # away from 0 and from the cut at −π
             inputs=lambda r: [Case(r.uniform(0.3, 2.0, (3, 4)), n(r, 3, 4)),
                               Case(away(r, 3, 4), r.uniform(0.3, 2.0, (3, 4)))])


_register_all()
