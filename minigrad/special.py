"""``minigrad.special``: PyTorch's ``torch.special`` functions with hand-derived backwards.

Forwards call ``scipy.special`` on CPU and ``cupyx.scipy.special`` on GPU
(``ctx.backend.special()``). Each backward is written with other ops of this module
(``ψ`` for lgamma, ``ψ⁽ⁿ⁺¹⁾`` for ``ψ⁽ⁿ⁾``, ``I₁`` for ``I₀``...), reached through
``_sp(ctx)``: ``scipy.special`` on arrays, ``TensorXP`` (which has the same names, recorded
on the tape) on tensors, so every function here has derivatives of any order.

Integer and boolean inputs compute in float32, as in PyTorch. Outside a function's domain
the values are SciPy's (and PyTorch's): ``erfinv(±1) = ±inf``, ``erfinv(x) = nan`` for
|x| > 1, ``lgamma`` = +inf at the poles 0, -1, -2, ... (finite at negative non-integers,
where it is log|Γ(x)|), ``digamma``/``polygamma`` nan or ±inf at the poles.
"""
from minigrad.autograd import Function
from minigrad.ops.elementwise import _binary, _real_floating, _refuse_complex, erf  # noqa: F401  (erf: torch.special.erf)
from minigrad.ops.tensor_xp import TensorXP
from minigrad.registry import Case, register

_TWO_OVER_SQRT_PI = 1.1283791670955126       # 2/√π
_SQRT_PI_OVER_TWO = 0.886226925452758         # √π/2
_INV_SQRT_TWO_PI = 0.3989422804014327         # 1/√(2π)
_LOG_SQRT_TWO_PI = 0.9189385332046728         # log √(2π)


def _sp(ctx):
    """The special-function namespace of this backward: SciPy/CuPy on arrays, the
    recording ``TensorXP`` methods on tensors (create_graph=True)."""
    return ctx.xp if isinstance(ctx.xp, TensorXP) else ctx.backend.special()


def _like(y, x):
    """SciPy computes some functions (polygamma) in float64: keep x's dtype."""
    return y.astype(x.dtype, copy=False)


class Lgamma(Function):
    """y = log|Γ(x)|;  dy/dx = ψ(x) (digamma), also for negative non-integer x."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _like(ctx.backend.special().gammaln(x), x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * _sp(ctx).digamma(x)


class Polygamma(Function):
    """y = ψ⁽ⁿ⁾(x) = dⁿ⁺¹/dxⁿ⁺¹ log Γ(x) (n = 0: digamma);  dy/dx = ψ⁽ⁿ⁺¹⁾(x)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, n):
        ctx.save_for_backward(x)
        ctx.n = n
        sp = ctx.backend.special()
        if n == 0:
            return _like(sp.digamma(x), x)
        # CuPy's polygamma broadcasts n with x as arrays: give it one, not a Python int
        return _like(sp.polygamma(ctx.xp.full(x.shape, float(n)), x), x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * _sp(ctx).polygamma(ctx.n + 1, x), None


class Erfc(Function):
    """y = erfc x = 1 − erf x (accurate where erf x ≈ 1);  dy/dx = −(2/√π) e^(−x²)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _like(ctx.backend.special().erfc(x), x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * (-_TWO_OVER_SQRT_PI * ctx.xp.exp(-x * x))


class Erfinv(Function):
    """y = erf⁻¹(x) on (−1, 1);  from erf(y) = x, (2/√π) e^(−y²) dy = dx, so
    dy/dx = (√π/2) e^(y²) (the output is saved)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        y = _like(ctx.backend.special().erfinv(x), x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * (_SQRT_PI_OVER_TWO * ctx.xp.exp(y * y))


class Ndtr(Function):
    """y = Φ(x) = ½(1 + erf(x/√2)), the standard normal CDF;  dy/dx = φ(x) = e^(−x²/2)/√(2π)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _like(ctx.backend.special().ndtr(x), x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * (_INV_SQRT_TWO_PI * ctx.xp.exp(-0.5 * x * x))


class LogNdtr(Function):
    """y = log Φ(x), accurate far in the left tail (x = −40: y ≈ −804.6);
    dy/dx = φ(x)/Φ(x) = exp(log φ(x) − y) with log φ(x) = −x²/2 − log √(2π): no 0/0 where
    both φ and Φ underflow (the ratio tends to −x there)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        y = _like(ctx.backend.special().log_ndtr(x), x)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        return gy * ctx.xp.exp(-0.5 * x * x - _LOG_SQRT_TWO_PI - y)


class Xlogy(Function):
    """z = x log y, with z = 0 where x = 0 (any y but nan). PyTorch's gradients:
    dz/dx = xlogy(x ≠ 0, y) (log y, and 0 where x = 0), dz/dy = x / y (nan at x = y = 0)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return _like(ctx.backend.special().xlogy(x, y), x if hasattr(x, "dtype") else y)

    @staticmethod
    def backward(ctx, gz):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        gx = gz * _sp(ctx).xlogy((x != 0).astype(gz.dtype), y) if need_x else None
        return gx, (gz * x / y if need_y else None)


class I0(Function):
    """y = I₀(x), the modified Bessel function of the first kind, order 0;  dy/dx = I₁(x)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _like(ctx.backend.special().i0(x), x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * _sp(ctx).i1(x)


class I1(Function):
    """y = I₁(x);  dy/dx = I₀(x) − I₁(x)/x, which tends to ½ at x = 0 (I₁(x) ≈ x/2)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _like(ctx.backend.special().i1(x), x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        sp, xp = _sp(ctx), ctx.xp
        zero = x == 0
        d = sp.i0(x) - sp.i1(x) / xp.where(zero, 1.0, x)
        return gy * xp.where(zero, 0.5, d)


class I0e(Function):
    """y = e^(−|x|) I₀(x) (exponentially scaled, no overflow);
    dy/dx = e^(−|x|)(I₁(x) − sign(x) I₀(x)) = i1e(x) − sign(x) i0e(x)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _like(ctx.backend.special().i0e(x), x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        sp = _sp(ctx)
        return gy * (sp.i1e(x) - ctx.xp.sign(x) * sp.i0e(x))


class I1e(Function):
    """y = e^(−|x|) I₁(x);  dy/dx = i0e(x) − i1e(x)/x − sign(x) i1e(x) (½ at x = 0)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _like(ctx.backend.special().i1e(x), x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        sp, xp = _sp(ctx), ctx.xp
        zero = x == 0
        i1e = sp.i1e(x)
        d = sp.i0e(x) - i1e / xp.where(zero, 1.0, x) - xp.sign(x) * i1e
        return gy * xp.where(zero, 0.5, d)


# ------------------------------------------------------------------ functional
def lgamma(x):
    """log|Γ(x)| elementwise (``torch.lgamma``, ``scipy.special.gammaln``).

    y = log|Γ(x)|;  dy/dx = ψ(x) (digamma). Primitive."""
    return Lgamma.apply(_real_floating("lgamma", x))


gammaln = lgamma


def digamma(x):
    """ψ(x) = d/dx log Γ(x) elementwise (``torch.special.digamma``, alias ``psi``)."""
    return Polygamma.apply(_real_floating("digamma", x), 0)


psi = digamma


def polygamma(n, x):
    """The n-th derivative of the digamma function (n a non-negative int).

    y = ψ⁽ⁿ⁾(x) = dⁿ⁺¹/dxⁿ⁺¹ log Γ(x);  dy/dx = ψ⁽ⁿ⁺¹⁾(x). Primitive."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative int, got {n!r}")
    return Polygamma.apply(_real_floating("polygamma", x), n)


def erfc(x):
    """The complementary error function, accurate for large x.

    y = 1 − erf(x);  dy/dx = −(2/√π) e^(−x²). Primitive."""
    return Erfc.apply(_real_floating("erfc", x))


def erfinv(x):
    """The inverse error function on (−1, 1); ±inf at ±1 and nan outside, as in PyTorch.

    y = erf⁻¹(x);  dy/dx = (√π/2) e^(y²). Primitive."""
    return Erfinv.apply(_real_floating("erfinv", x))


def ndtr(x):
    """The standard normal CDF.

    y = Φ(x) = ½(1 + erf(x/√2));  dy/dx = φ(x) = e^(−x²/2)/√(2π). Primitive."""
    return Ndtr.apply(_real_floating("ndtr", x))


def log_ndtr(x):
    """The log of the standard normal CDF, finite (with a finite gradient) far in the left tail.

    y = log Φ(x);  dy/dx = φ(x)/Φ(x) = exp(log φ(x) − y). Primitive."""
    return LogNdtr.apply(_real_floating("log_ndtr", x))


def xlogy(x, y):
    """x·log y with 0 where x = 0 (broadcasting; either may be a Python number)."""
    _refuse_complex("xlogy", x, y)
    return _binary(Xlogy, x, y, true_divide=True)


def i0(x):
    """The modified Bessel function of the first kind of order 0.

    y = I₀(x) = Σₖ (x/2)^(2k) / (k!)²;  dy/dx = I₁(x). Primitive."""
    return I0.apply(_real_floating("i0", x))


def i1(x):
    """The modified Bessel function of the first kind of order 1.

    y = I₁(x) = Σₖ (x/2)^(2k+1) / (k!(k+1)!);  dy/dx = I₀(x) − I₁(x)/x (½ at 0). Primitive."""
    return I1.apply(_real_floating("i1", x))


def i0e(x):
    """The exponentially scaled I₀ (no overflow for large |x|).

    y = e^(−|x|) I₀(x);  dy/dx = I₁e(x) − sign(x)·y. Primitive."""
    return I0e.apply(_real_floating("i0e", x))


def i1e(x):
    """The exponentially scaled I₁.

    y = e^(−|x|) I₁(x);  dy/dx = I₀e(x) − I₁e(x)/x − sign(x)·y (½ at 0). Primitive."""
    return I1e.apply(_real_floating("i1e", x))


# ------------------------------------------------------------------ registry
def _register_all():
    n = lambda rng, *s: rng.standard_normal(s)  # noqa: E731
    pos = lambda rng, *s: rng.uniform(0.5, 3.0, s)  # noqa: E731
    # negative non-integers, away from the poles of Γ
    neg = lambda rng, *s: -rng.integers(0, 3, s) - rng.uniform(0.2, 0.8, s)  # noqa: E731
    register(lgamma, aliases=["gammaln"], inputs=lambda r: [Case(pos(r, 3, 4)), Case(neg(r, 5))])
    register(digamma, aliases=["psi"], inputs=lambda r: [Case(pos(r, 3, 4)), Case(neg(r, 5))])
    register(polygamma, inputs=lambda r: [Case(1, pos(r, 3, 4)), Case(2, pos(r, 5)),
                                          Case(1, neg(r, 4))])
    register(erfc, inputs=lambda r: Case(n(r, 3, 4)))
    register(erfinv, inputs=lambda r: Case(r.uniform(-0.9, 0.9, (3, 4))))
    register(ndtr, inputs=lambda r: Case(2 * n(r, 3, 4)))
    register(log_ndtr, inputs=lambda r: [Case(2 * n(r, 3, 4)), Case(-r.uniform(5, 30, 6))])
    register(xlogy, inputs=lambda r: [Case(n(r, 3, 4), pos(r, 4)), Case(n(r, 3), 2.5),
                                      Case(0.5, pos(r, 3)), Case(n(r, 2, 3), pos(r, 2, 3), wrt=[1])])
    register(i0, inputs=lambda r: Case(2 * n(r, 3, 4)))
    register(i1, inputs=lambda r: Case(2 * n(r, 3, 4)))
    away = lambda rng, *s: rng.choice([-1.0, 1.0], s) * rng.uniform(0.2, 3.0, s)  # noqa: E731
    register(i0e, inputs=lambda r: Case(away(r, 3, 4)))     # away from the kink of e^(−|x|)
    register(i1e, inputs=lambda r: Case(away(r, 3, 4)))


_register_all()
