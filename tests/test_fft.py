"""B048: FFTs with complex autograd (minigrad.fft, minigrad.ops.complex). Values against
numpy.fft; gradients (PyTorch's convention z.grad = ∂L/∂x + i·∂L/∂y) against float64 finite
differences through real-valued wrappers f(x, y) of z = complex(x, y)."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import F
from minigrad import fft as mfft
from minigrad.gradcheck import fft_unavailable, gradcheck, gradgradcheck
from minigrad.ops import complex as C

NORMS = [None, "backward", "ortho", "forward"]


def _skip_without_fft(backend):
    reason = fft_unavailable(backend)
    if reason:
        pytest.skip(reason)


def _f64(*shape, seed=0, requires_grad=True):
    data = np.random.default_rng(seed).standard_normal(shape)
    return mg.tensor(data, dtype="float64", requires_grad=requires_grad)


def _np(*shape, seed=0, complex_=False):
    r = np.random.default_rng(seed)
    a = r.standard_normal(shape)
    return a + 1j * r.standard_normal(shape) if complex_ else a


# (minigrad call, numpy.fft call) on one input array; every function, with sizes given or not
CASES = {
    "fft": (lambda t, nm: mfft.fft(t, norm=nm), lambda a, nm: np.fft.fft(a, norm=nm)),
    "fft_n_dim": (lambda t, nm: mfft.fft(t, n=7, dim=0, norm=nm),
                  lambda a, nm: np.fft.fft(a, n=7, axis=0, norm=nm)),
    "ifft": (lambda t, nm: mfft.ifft(t, n=4, norm=nm), lambda a, nm: np.fft.ifft(a, n=4, norm=nm)),
    "fft2": (lambda t, nm: mfft.fft2(t, norm=nm), lambda a, nm: np.fft.fft2(a, norm=nm)),
    "fft2_s": (lambda t, nm: mfft.fft2(t, s=(3, 8), norm=nm),
               lambda a, nm: np.fft.fft2(a, s=(3, 8), norm=nm)),
    "ifft2": (lambda t, nm: mfft.ifft2(t, norm=nm), lambda a, nm: np.fft.ifft2(a, norm=nm)),
    "fftn": (lambda t, nm: mfft.fftn(t, norm=nm), lambda a, nm: np.fft.fftn(a, norm=nm)),
    "ifftn": (lambda t, nm: mfft.ifftn(t, s=(5, 6), norm=nm),
              lambda a, nm: np.fft.ifftn(a, s=(5, 6), axes=(0, 1), norm=nm)),
    "rfft": (lambda t, nm: mfft.rfft(t, norm=nm), lambda a, nm: np.fft.rfft(a, norm=nm)),
    "rfft_n": (lambda t, nm: mfft.rfft(t, n=9, dim=0, norm=nm),
               lambda a, nm: np.fft.rfft(a, n=9, axis=0, norm=nm)),
    "rfft2": (lambda t, nm: mfft.rfft2(t, norm=nm), lambda a, nm: np.fft.rfft2(a, norm=nm)),
    "rfftn": (lambda t, nm: mfft.rfftn(t, s=(3, 5), norm=nm),
              lambda a, nm: np.fft.rfftn(a, s=(3, 5), axes=(0, 1), norm=nm)),
}
INVERSE_REAL = {   # complex half-spectra in, real signals out
    "irfft": (lambda t, nm: mfft.irfft(t, norm=nm), lambda a, nm: np.fft.irfft(a, norm=nm)),
    "irfft_n": (lambda t, nm: mfft.irfft(t, n=7, norm=nm), lambda a, nm: np.fft.irfft(a, n=7, norm=nm)),
    "irfft2": (lambda t, nm: mfft.irfft2(t, norm=nm), lambda a, nm: np.fft.irfft2(a, norm=nm)),
    "irfft2_s": (lambda t, nm: mfft.irfft2(t, s=(3, 5), norm=nm),
                 lambda a, nm: np.fft.irfft2(a, s=(3, 5), norm=nm)),
    "irfftn": (lambda t, nm: mfft.irfftn(t, norm=nm), lambda a, nm: np.fft.irfftn(a, norm=nm)),
}


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", sorted(CASES) + sorted(INVERSE_REAL))
def test_B048_transforms_match_numpy_fft(name, norm, backend):
    _skip_without_fft(backend)
    ours, ref = CASES.get(name) or INVERSE_REAL[name]
    real_input = name.startswith("rfft")
    a = _np(4, 6, seed=1, complex_=not real_input)
    got = ours(mg.tensor(a), norm)
    np.testing.assert_allclose(got.numpy(), ref(a, norm), rtol=1e-10, atol=1e-12)
    assert got.dtype == np.result_type(ref(a, norm).dtype)
    if not real_input:   # real input to a complex transform is taken as complex
        b = a.real
        np.testing.assert_allclose(ours(mg.tensor(b), norm).numpy(), ref(b.astype(complex), norm),
                                   rtol=1e-10, atol=1e-12)


def test_B048_single_precision_stays_single(backend):
    _skip_without_fft(backend)
    x = mg.tensor(_np(4, 6).astype("float32"))
    assert mfft.fft2(x).dtype == np.complex64
    assert mfft.rfft(x).dtype == np.complex64
    assert mfft.irfft(mfft.rfft(x), n=6).dtype == np.float32
    assert mg.tensor([1 + 2j]).dtype == np.complex64


def test_B048_fftshift_matches_numpy(backend):
    a = _np(3, 4, 5)
    for dim in (None, 0, (1, 2), -1):
        np.testing.assert_array_equal(mfft.fftshift(mg.tensor(a), dim).numpy(),
                                      np.fft.fftshift(a, axes=dim))
        np.testing.assert_array_equal(mfft.ifftshift(mg.tensor(a), dim).numpy(),
                                      np.fft.ifftshift(a, axes=dim))
    x = _f64(3, 5)
    gradcheck(lambda t: mfft.fftshift(t, dim=(0, 1)) * mfft.ifftshift(t * t), [x])


def test_B048_abs_squared_gradient_is_2z(backend):
    z0 = _np(3, 4, complex_=True)
    z = mg.tensor(z0, requires_grad=True)
    (C.abs(z) * C.abs(z)).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), 2 * z0, rtol=1e-12)
    z.grad = None
    C.real(z * C.conj(z)).sum().backward()          # the same L, through Mul's conj rule
    np.testing.assert_allclose(z.grad.numpy(), 2 * z0, rtol=1e-12)


def test_B048_complex_primitive_gradients(backend):
    """Mul, Div, Add, Sub, Neg, Exp, real, imag, conj, abs, angle, polar on complex values
    against finite differences in (Re, Im), first and second order."""
    x, y, u, v = _f64(3, 4, seed=1), _f64(3, 4, seed=2), _f64(3, 4, seed=3), _f64(4, seed=4)

    def f(x, y, u, v):
        a, b = C.complex(x, y), C.complex(u + 3.0, v)
        w = (a * b - a / b + (-a).exp() * C.conj(b)) / C.polar(C.abs(b), C.angle(a))
        return C.view_as_real(w) + C.imag(a * a)[..., None]
    gradcheck(f, [x, y, u, v])
    gradgradcheck(f, [x, y, u, v])


def test_B048_amplitude_phase_recombination(backend):
    _skip_without_fft(backend)
    x0 = _np(2, 6, 8, seed=3)
    X = mfft.fft2(mg.tensor(x0))
    back = C.real(mfft.ifft2(C.polar(C.abs(X), C.angle(X))))
    np.testing.assert_allclose(back.numpy(), x0, rtol=1e-9, atol=1e-12)
    # amplitude swap (Batch Styles Standardization / PCNorm style): A of one image, P of another
    a, b = _f64(6, 8, seed=4), _f64(6, 8, seed=5)

    def swap(a, b):
        A, P = C.abs(mfft.fft2(a)), C.angle(mfft.fft2(b))
        return C.real(mfft.ifft2(C.polar(A, P)))
    expect = np.fft.ifft2(np.abs(np.fft.fft2(a.numpy())) * np.exp(1j * np.angle(np.fft.fft2(b.numpy())))).real
    np.testing.assert_allclose(swap(a, b).numpy(), expect, rtol=1e-9, atol=1e-12)
    gradcheck(swap, [a, b])


def _wrappers():
    """Real-valued functions of (x, y) through each transform and norm."""
    out = {}
    for norm in ("backward", "ortho", "forward"):
        def z(x, y):
            return C.complex(x, y)
        out[f"fft_{norm}"] = lambda x, y, nm=norm: C.view_as_real(mfft.fft(z(x, y), n=6, norm=nm))
        out[f"ifft_{norm}"] = lambda x, y, nm=norm: C.view_as_real(mfft.ifft(z(x, y), n=4, dim=0, norm=nm))
        out[f"fft2_abs_{norm}"] = lambda x, y, nm=norm: C.abs(mfft.fft2(z(x, y), norm=nm) + 0.5).sum()
        out[f"ifft2_{norm}"] = lambda x, y, nm=norm: C.view_as_real(mfft.ifft2(z(x, y), s=(4, 6), norm=nm))
        out[f"rfft_{norm}"] = lambda x, y, nm=norm: C.view_as_real(mfft.rfft(x * y, n=7, norm=nm))
        out[f"rfft2_{norm}"] = lambda x, y, nm=norm: C.view_as_real(mfft.rfft2(x + y * y, norm=nm))
        out[f"irfft_{norm}"] = lambda x, y, nm=norm: mfft.irfft(z(x, y), norm=nm)
        out[f"irfft_odd_{norm}"] = lambda x, y, nm=norm: mfft.irfft(z(x, y), n=7, norm=nm)
        out[f"irfft2_{norm}"] = lambda x, y, nm=norm: mfft.irfft2(z(x, y), s=(4, 5), norm=nm)
    out["shifted_spectrum_angle"] = lambda x, y: C.angle(mfft.fftshift(mfft.fft2(z(x, y) + 4.0)))
    out["real_input_fft"] = lambda x, y: C.view_as_real(mfft.fft(x) * mfft.fft(y))
    return out


WRAPPERS = _wrappers()


@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_B048_gradcheck_and_gradgradcheck(name, backend):
    _skip_without_fft(backend)
    fn = WRAPPERS[name]
    x, y = _f64(3, 5, seed=6), _f64(3, 5, seed=7)
    gradcheck(fn, [x, y])
    gradgradcheck(fn, [x, y])


def test_B048_real_input_gets_a_real_gradient_without_warning(backend):
    _skip_without_fft(backend)
    x = _f64(4, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        C.abs(mfft.fft2(x)).sum().backward()
        g, = mg.grad((C.abs(mfft.rfft2(x)) ** 2).sum(), [x], create_graph=True)
    assert x.grad.dtype == np.float64 and g.dtype == np.float64
    # L = Σ|X_k|² over the kept half-spectrum: dL/dx = 2·Re F^H(X zero-padded), F^H unscaled
    X = np.fft.rfft2(x.numpy())
    full = np.zeros((4, 6), complex)
    full[:, :4] = X
    expect = 2 * np.real(np.fft.ifft2(full, norm="forward"))
    np.testing.assert_allclose(g.numpy(), expect, rtol=1e-10, atol=1e-10)


def test_B048_complex_inputs_are_refused_by_real_only_ops(backend):
    z = mg.tensor(_np(2, 3, complex_=True))
    for name, call in [("relu", lambda: F.relu(z)), ("sigmoid", lambda: F.sigmoid(z)),
                       ("tanh", lambda: F.tanh(z)), ("log", lambda: F.log(z)),
                       ("mse_loss", lambda: F.mse_loss(z, z)),
                       ("cross_entropy", lambda: F.cross_entropy(z, mg.tensor([0, 1]))),
                       ("angle", lambda: C.angle(C.real(z))),
                       ("imag", lambda: C.imag(C.real(z))),
                       ("complex", lambda: C.complex(z, z)),
                       ("polar", lambda: C.polar(z, z))]:
        with pytest.raises(TypeError, match=name):
            call()


def test_B048_fft_argument_errors(backend):
    _skip_without_fft(backend)
    z = mg.tensor(_np(3, 4, complex_=True))
    with pytest.raises(TypeError, match="rfft"):
        mfft.rfft(z)
    with pytest.raises(ValueError, match="fft: norm"):
        mfft.fft(z, norm="unitary")
    with pytest.raises(IndexError, match="fft2: dim 2"):
        mfft.fft2(z, dim=(0, 2))
    with pytest.raises(ValueError, match="ifft: invalid number of data points 0"):
        mfft.ifft(z, n=0)
    with pytest.raises(ValueError, match="s .* and dim"):
        mfft.fft2(z, s=(2, 2, 2))
