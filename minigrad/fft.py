"""Discrete Fourier transforms with complex autograd (``torch.fft``'s names and arguments):
fft, ifft, fft2, ifft2, fftn, ifftn, rfft, irfft, rfft2, irfft2, rfftn, irfftn, fftshift,
ifftshift; computed by ``xp.fft`` (numpy.fft / cupy.fft).

Three primitives carry every transform, each on inputs already cut or zero-padded to the
transform's size (that resizing is done by differentiable slicing and padding):

- ``FFTN``  the complex transform over ``axes``, forward or inverse;
- ``RFFTN`` the transform of a real input, keeping the n//2 + 1 non-negative frequencies of
  the last axis;
- ``IRFFTN`` its inverse: a Hermitian half-spectrum to a real signal of n points.

Gradients are PyTorch's (z.grad = ∂L/∂x + i·∂L/∂y for a real loss), so the backward of a
linear map A is its adjoint Aᴴ. With norm "backward" the forward DFT is unscaled and its
inverse scaled by 1/n; "forward" swaps the two; "ortho" scales both by 1/√n. The adjoint of
a DFT is the inverse DFT without the inverse's own scaling, i.e. the inverse with the dual
norm (backward ↔ forward, ortho ↔ ortho), and the adjoint of the inverse is the forward
DFT with the dual norm:

- FFTN:  gx = ifftn(g, dual norm), and the other way round for the inverse;
- RFFTN = (keep the first n//2 + 1 bins) ∘ fftn ∘ (real → complex): gx = Re ifftn(g zero-padded
  to n bins, dual norm);
- IRFFTN: the output is Σₖ wₖ·Re(Xₖ e^{2πikt/n})·c with wₖ = 2 for the interior bins
  1 ≤ k ≤ (n−1)/2 (they stand for k and n−k) and 1 for bin 0 and the Nyquist bin; so
  gX = w ⊙ rfftn(g, dual norm) (the imaginary parts of bins 0 and n/2, which irfft ignores,
  get 0).

Every backward runs on tensors too (the adjoint of a transform is a registered transform),
so second derivatives work. References: torch.fft; numpy.fft's normalization notes.
"""
from minigrad.autograd import Function
from minigrad.ops import complex as _complex_ops  # noqa: F401  (registers the complex ops)
from minigrad.tensor import Tensor

_NORMS = ("backward", "ortho", "forward")
_DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


# ------------------------------------------------------------------ array or tensor transforms
def _c2c(xp, x, axes, norm, inverse):
    """fftn / ifftn of ``x``: recorded when ``x`` is a tensor (a backward on tensors)."""
    if isinstance(x, Tensor):
        return FFTN.apply(x, axes, norm, inverse)
    transform = xp.fft.ifftn if inverse else xp.fft.fftn
    return transform(x, axes=axes, norm=norm).astype(x.dtype, copy=False)


def _r2c(xp, x, axes, norm):
    if isinstance(x, Tensor):
        return RFFTN.apply(x, axes, norm)
    dtype = xp.result_type(x.dtype, xp.complex64)
    return xp.fft.rfftn(x, axes=axes, norm=norm).astype(dtype, copy=False)


class FFTN(Function):
    """y = fftn(x) (or ifftn) over ``axes`` with ``norm``;  gx = the adjoint, ifftn(g) (or
    fftn(g)) with the dual norm."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, axes, norm, inverse):
        ctx.axes, ctx.norm, ctx.inverse = axes, norm, inverse
        return _c2c(ctx.xp, x, axes, norm, inverse)

    @staticmethod
    def backward(ctx, g):
        return _c2c(ctx.xp, g, ctx.axes, _DUAL[ctx.norm], not ctx.inverse)


class RFFTN(Function):
    """y = rfftn(x) of a real x (last axis keeps n//2 + 1 bins);  gx = Re ifftn(g padded with
    zeros to n bins on the last axis, dual norm)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, axes, norm):
        ctx.axes, ctx.norm, ctx.n_last = axes, norm, x.shape[axes[-1]]
        return _r2c(ctx.xp, x, axes, norm)

    @staticmethod
    def backward(ctx, g):
        xp, last = ctx.xp, ctx.axes[-1]
        missing = ctx.n_last - g.shape[last]
        if missing:
            shape = list(g.shape)
            shape[last] = missing
            g = xp.concatenate([g, xp.zeros(tuple(shape), dtype=g.dtype)], axis=last)
        return xp.real(_c2c(xp, g, ctx.axes, _DUAL[ctx.norm], True))


class IRFFTN(Function):
    """y = irfftn(X) to ``n_last`` real points on the last axis (X has n_last//2 + 1 bins
    there);  gX = w ⊙ rfftn(g, dual norm) with w = 2 on the bins 1 … (n_last − 1)//2, else 1."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, X, axes, n_last, norm):
        ctx.axes, ctx.norm, ctx.n_last = axes, norm, n_last
        s = [X.shape[a] for a in axes[:-1]] + [n_last]
        dtype = ctx.xp.result_type(X.real.dtype, ctx.xp.float32)
        return ctx.xp.fft.irfftn(X, s=s, axes=axes, norm=norm).astype(dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        G = _r2c(ctx.xp, g, ctx.axes, _DUAL[ctx.norm])
        m, interior = G.shape[ctx.axes[-1]], (ctx.n_last - 1) // 2
        weights = [1.0] + [2.0] * interior + [1.0] * (m - 1 - interior)
        shape = [1] * G.ndim
        shape[ctx.axes[-1]] = m
        w = ctx.backend.asarray(weights, dtype=g.dtype).reshape(shape)
        return G * w


# ------------------------------------------------------------------ functional
def _check_norm(op, norm):
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise ValueError(f"{op}: norm must be one of {_NORMS} (or None), got {norm!r}")
    return norm


def _check_tensor(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.ndim == 0:
        raise ValueError(f"{op}: expected a tensor with at least one dimension, got a 0-d "
                         f"tensor of dtype {x.dtype}")


def _as_complex(x):
    from minigrad.ops.elementwise import cast
    if x.dtype.kind == "c":
        return x
    from minigrad.dtypes import get_default_dtype
    real = x.dtype if x.dtype.kind == "f" else get_default_dtype()
    return cast(x, "complex128" if real == "float64" else "complex64")


def _as_real(op, x):
    from minigrad.ops.elementwise import cast
    if x.dtype.kind == "c":
        raise TypeError(f"{op}: expects a real input tensor, got dtype {x.dtype} and shape "
                        f"{tuple(x.shape)}; use fft for complex input")
    from minigrad.dtypes import get_default_dtype
    return x if x.dtype.kind == "f" else cast(x, get_default_dtype())


def _axes(op, x, s, dim, default):
    """The transform's axes (non-negative, distinct) and sizes, PyTorch's rules: ``dim``
    given, or the last len(s) axes when only ``s`` is, else ``default``."""
    if dim is None:
        dim = tuple(range(-len(s), 0)) if s is not None else \
            default if default is not None else tuple(range(x.ndim))
    dim = (dim,) if isinstance(dim, int) else tuple(dim)
    if s is not None:
        s = (s,) if isinstance(s, int) else tuple(s)
        if len(s) != len(dim):
            raise ValueError(f"{op}: s {s} and dim {dim} must have the same length")
    axes = []
    for d in dim:
        if not -x.ndim <= d < x.ndim:
            raise IndexError(f"{op}: dim {d} is out of range for a tensor of shape "
                             f"{tuple(x.shape)}")
        axes.append(d % x.ndim)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dim {dim} repeats an axis")
    if not axes:
        raise ValueError(f"{op}: no axis to transform (dim is empty)")
    sizes = [x.shape[a] for a in axes] if s is None else [
        x.shape[a] if n == -1 else n for a, n in zip(axes, s)]
    for n in sizes:
        if n < 1:
            raise ValueError(f"{op}: invalid number of data points {n} (tensor of shape "
                             f"{tuple(x.shape)}, dim {dim})")
    return tuple(axes), sizes


def _resize(x, axis, n):
    """x cut to, or zero-padded to, n entries along ``axis`` (differentiable)."""
    have = x.shape[axis]
    if n == have:
        return x
    if n < have:
        return x[(slice(None),) * axis + (slice(0, n),)]
    from minigrad.ops.shape import pad
    return pad(x, tuple((0, n - have) if a == axis else (0, 0) for a in range(x.ndim)))


def _c2c_op(op, x, s, dim, norm, inverse, default):
    _check_tensor(op, x)
    norm = _check_norm(op, norm)
    axes, sizes = _axes(op, x, s, dim, default)
    x = _as_complex(x)
    for a, n in zip(axes, sizes):
        x = _resize(x, a, n)
    return FFTN.apply(x, axes, norm, inverse)


def _r2c_op(op, x, s, dim, norm, default):
    _check_tensor(op, x)
    norm = _check_norm(op, norm)
    x = _as_real(op, x)
    axes, sizes = _axes(op, x, s, dim, default)
    for a, n in zip(axes, sizes):
        x = _resize(x, a, n)
    return RFFTN.apply(x, axes, norm)


def _c2r_op(op, X, s, dim, norm, default):
    _check_tensor(op, X)
    norm = _check_norm(op, norm)
    axes, _ = _axes(op, X, s, dim, default)
    if s is None:
        sizes = [X.shape[a] for a in axes[:-1]] + [2 * (X.shape[axes[-1]] - 1)]
    else:
        _, sizes = _axes(op, X, s, dim, default)
        if s[-1] == -1:
            sizes[-1] = 2 * (X.shape[axes[-1]] - 1)
    if sizes[-1] < 1:
        raise ValueError(f"{op}: invalid number of output points {sizes[-1]} (input of shape "
                         f"{tuple(X.shape)}); give n (or s) explicitly")
    X = _as_complex(X)
    for a, n in zip(axes[:-1], sizes[:-1]):
        X = _resize(X, a, n)
    X = _resize(X, axes[-1], sizes[-1] // 2 + 1)
    return IRFFTN.apply(X, axes, sizes[-1], norm)


def fft(input, n=None, dim=-1, norm=None):  # noqa: A002  (torch's argument names)
    """The 1-D discrete Fourier transform along ``dim``, of ``n`` points (cut or zero-padded);
    real input is taken as complex. norm: "backward" (default, unscaled), "ortho" (1/√n) or
    "forward" (1/n)."""
    return _c2c_op("fft", input, None if n is None else (n,), dim, norm, False, -1)


def ifft(input, n=None, dim=-1, norm=None):  # noqa: A002
    """The inverse of ``fft`` (scaled by 1/n for norm="backward")."""
    return _c2c_op("ifft", input, None if n is None else (n,), dim, norm, True, -1)


def fft2(input, s=None, dim=(-2, -1), norm=None):  # noqa: A002
    """The 2-D discrete Fourier transform over ``dim`` (sizes ``s``)."""
    return _c2c_op("fft2", input, s, dim, norm, False, (-2, -1))


def ifft2(input, s=None, dim=(-2, -1), norm=None):  # noqa: A002
    """The inverse of ``fft2``."""
    return _c2c_op("ifft2", input, s, dim, norm, True, (-2, -1))


def fftn(input, s=None, dim=None, norm=None):  # noqa: A002
    """The N-D discrete Fourier transform over ``dim`` (all axes by default)."""
    return _c2c_op("fftn", input, s, dim, norm, False, None)


def ifftn(input, s=None, dim=None, norm=None):  # noqa: A002
    """The inverse of ``fftn``."""
    return _c2c_op("ifftn", input, s, dim, norm, True, None)


def rfft(input, n=None, dim=-1, norm=None):  # noqa: A002
    """The Fourier transform of a real signal: the n//2 + 1 non-negative frequencies."""
    return _r2c_op("rfft", input, None if n is None else (n,), dim, norm, -1)


def irfft(input, n=None, dim=-1, norm=None):  # noqa: A002
    """The inverse of ``rfft``: a half-spectrum to ``n`` real points (default 2(m − 1) for m
    bins); the imaginary parts of the zero and Nyquist bins are ignored."""
    return _c2r_op("irfft", input, None if n is None else (n,), dim, norm, -1)


def rfft2(input, s=None, dim=(-2, -1), norm=None):  # noqa: A002
    """The 2-D transform of a real input (the last of ``dim`` keeps n//2 + 1 bins)."""
    return _r2c_op("rfft2", input, s, dim, norm, (-2, -1))


def irfft2(input, s=None, dim=(-2, -1), norm=None):  # noqa: A002
    """The inverse of ``rfft2``."""
    return _c2r_op("irfft2", input, s, dim, norm, (-2, -1))


def rfftn(input, s=None, dim=None, norm=None):  # noqa: A002
    """The N-D transform of a real input (all axes by default)."""
    return _r2c_op("rfftn", input, s, dim, norm, None)


def irfftn(input, s=None, dim=None, norm=None):  # noqa: A002
    """The inverse of ``rfftn``."""
    return _c2r_op("irfftn", input, s, dim, norm, None)


def _shift(op, x, dim, sign):
    _check_tensor(op, x)
    from minigrad.ops.shape import roll
    axes, sizes = _axes(op, x, None, tuple(range(x.ndim)) if dim is None else dim, None)
    return roll(x, tuple(sign * (n // 2) for n in sizes), axes)


def fftshift(input, dim=None):  # noqa: A002
    """The zero frequency moved to the centre of ``dim`` (all axes by default)."""
    return _shift("fftshift", input, dim, 1)


def ifftshift(input, dim=None):  # noqa: A002
    """The inverse of ``fftshift``."""
    return _shift("ifftshift", input, dim, -1)


# ------------------------------------------------------------------ registry
# gradcheck works on real float64 tensors: a complex input is built from (re, im) and a
# complex output split into (re, im), as for the complex ops (minigrad.ops.complex).
_C2C = {"fft.fft": fft, "fft.ifft": ifft, "fft.fft2": fft2, "fft.ifft2": ifft2,
        "fft.fftn": fftn, "fft.ifftn": ifftn}
_R2C = {"fft.rfft": rfft, "fft.rfft2": rfft2, "fft.rfftn": rfftn}
_C2R = {"fft.irfft": irfft, "fft.irfft2": irfft2, "fft.irfftn": irfftn}


def _checked_c2c(transform):
    def checked(re, im, **kwargs):
        return _complex_ops.view_as_real(transform(_complex_ops.complex(re, im), **kwargs))
    return checked


def _checked_r2c(transform):
    def checked(x, **kwargs):
        return _complex_ops.view_as_real(transform(x, **kwargs))
    return checked


def _checked_c2r(transform):
    def checked(re, im, **kwargs):
        return transform(_complex_ops.complex(re, im), **kwargs)
    return checked


def _register_all():
    from minigrad.registry import Case, register
    n = lambda rng, *s: rng.standard_normal(s)  # noqa: E731
    one_d = lambda r: [Case(n(r, 3, 6), n(r, 3, 6)),  # noqa: E731
                       Case(n(r, 5, 2), n(r, 5, 2), n=7, dim=0, norm="ortho")]
    many_d = lambda r: [Case(n(r, 2, 3, 4), n(r, 2, 3, 4)),  # noqa: E731
                        Case(n(r, 3, 4, 2), n(r, 3, 4, 2), s=(5, 3), dim=(0, 1),
                             norm="forward")]
    for name, transform in _C2C.items():
        register(transform, name=name, checked_as=_checked_c2c(transform),
                 inputs=one_d if transform in (fft, ifft) else many_d)
    one_real = lambda r: [Case(n(r, 3, 6)), Case(n(r, 5, 2), n=7, dim=0, norm="ortho")]  # noqa: E731
    many_real = lambda r: [Case(n(r, 2, 3, 4)),  # noqa: E731
                           Case(n(r, 3, 4, 2), s=(5, 3), dim=(0, 1), norm="forward")]
    for name, transform in _R2C.items():
        register(transform, name=name, checked_as=_checked_r2c(transform),
                 inputs=one_real if transform is rfft else many_real)
    half_1d = lambda r: [Case(n(r, 3, 4), n(r, 3, 4)),  # noqa: E731  (n = 6 by default)
                         Case(n(r, 4, 2), n(r, 4, 2), n=7, dim=0, norm="ortho")]
    half_nd = lambda r: [Case(n(r, 2, 3, 4), n(r, 2, 3, 4)),  # noqa: E731
                         Case(n(r, 3, 3, 2), n(r, 3, 3, 2), s=(4, 5), dim=(0, 1),
                              norm="forward")]
    for name, transform in _C2R.items():
        register(transform, name=name, checked_as=_checked_c2r(transform),
                 inputs=half_1d if transform is irfft else half_nd)
    register(fftshift, name="fft.fftshift",
             inputs=lambda r: [Case(n(r, 4, 5)), Case(n(r, 2, 3, 5), dim=(0, 2))])
    register(ifftshift, name="fft.ifftshift",
             inputs=lambda r: [Case(n(r, 4, 5)), Case(n(r, 2, 3, 5), dim=-1)])


_register_all()
