"""Forward oracles for the complex ops registered by minigrad.ops.complex (each as its
registered real-valued check wrapper computes it): written with Python's cmath on each
element, not with NumPy's complex ufuncs. The transforms are the DFT's defining sum,
X[k] = Σⱼ x[j]·e^{∓2πijk/n}, one axis at a time with the matrix written out entry by entry
(and against numpy.fft in tests/test_fft.py)."""
import cmath

import numpy as np


def _each(fn, *arrays):
    a = np.broadcast_arrays(*arrays)
    return np.array([fn(*v) for v in zip(*(x.ravel() for x in a))]).reshape(a[0].shape + (-1,))


def _pairs(fn):
    return lambda *args: _each(lambda *v: [fn(*v).real, fn(*v).imag], *args)


def _dft_along(x, axis, n, inverse, norm):
    """The DFT of x along ``axis`` after cutting or zero-padding it to n points."""
    x = np.moveaxis(np.asarray(x, dtype=complex), axis, -1)
    x = np.concatenate([x[..., :n], np.zeros(x.shape[:-1] + (max(0, n - x.shape[-1]),))], -1)
    sign = 1 if inverse else -1
    m = np.array([[cmath.exp(sign * 2j * cmath.pi * j * k / n) for k in range(n)]
                  for j in range(n)])
    scale = {"ortho": n ** -0.5, "backward": 1.0 / n if inverse else 1.0,
             "forward": 1.0 if inverse else 1.0 / n}[norm or "backward"]
    return np.moveaxis(x @ m * scale, -1, axis)


def _plan(x, n=None, s=None, dim=None, default=None):
    dims = (dim,) if isinstance(dim, int) else dim
    if dims is None:
        dims = default if default is not None else tuple(range(x.ndim))
    sizes = (n,) if n is not None else s
    axes = [d % x.ndim for d in dims]
    return axes, list(sizes) if sizes is not None else [x.shape[a] for a in axes]


def _c2c(inverse, default):
    def oracle(re, im, n=None, s=None, dim=None, norm=None):
        z = re + 1j * im
        axes, sizes = _plan(z, n, s, dim, default)
        for a, m in zip(axes, sizes):
            z = _dft_along(z, a, m, inverse, norm)
        return np.stack([z.real, z.imag], -1)
    return oracle


def _r2c(default):
    def oracle(x, n=None, s=None, dim=None, norm=None):
        axes, sizes = _plan(x, n, s, dim, default)
        z = _dft_along(x, axes[-1], sizes[-1], False, norm)
        z = np.take(z, range(sizes[-1] // 2 + 1), axis=axes[-1])
        for a, m in zip(axes[:-1], sizes[:-1]):
            z = _dft_along(z, a, m, False, norm)
        return np.stack([z.real, z.imag], -1)
    return oracle


def _c2r(default):
    """The inverse of a half-spectrum: the other half by Hermitian symmetry, X[n−k] = X[k]*,
    then the inverse DFT's real part (which drops the imaginary parts of bins 0 and n/2)."""
    def oracle(re, im, n=None, s=None, dim=None, norm=None):
        z = re + 1j * im
        axes, sizes = _plan(z, n, s, dim, default)
        if n is None and s is None:
            sizes[-1] = 2 * (z.shape[axes[-1]] - 1)
        for a, m in zip(axes[:-1], sizes[:-1]):
            z = _dft_along(z, a, m, True, norm)
        last, m = axes[-1], sizes[-1]
        half = np.moveaxis(z, last, -1)[..., :m // 2 + 1]
        half = np.concatenate([half, np.zeros(half.shape[:-1] + (m // 2 + 1 - half.shape[-1],))],
                              -1)
        full = np.concatenate([half, np.conj(half[..., 1:(m + 1) // 2][..., ::-1])], -1)
        return _dft_along(np.moveaxis(full, -1, last), last, m, True, norm).real
    return oracle


def _shift(sign):
    def oracle(x, dim=None):
        axes = range(x.ndim) if dim is None else [dim] if isinstance(dim, int) else dim
        out = x
        for a in axes:
            k = x.shape[a]
            idx = [(i - sign * (k // 2)) % k for i in range(k)]
            out = np.take(out, idx, axis=a)
        return out
    return oracle


ORACLES = {
    "fft.fft": _c2c(False, (-1,)), "fft.ifft": _c2c(True, (-1,)),
    "fft.fft2": _c2c(False, (-2, -1)), "fft.ifft2": _c2c(True, (-2, -1)),
    "fft.fftn": _c2c(False, None), "fft.ifftn": _c2c(True, None),
    "fft.rfft": _r2c((-1,)), "fft.rfft2": _r2c((-2, -1)), "fft.rfftn": _r2c(None),
    "fft.irfft": _c2r((-1,)), "fft.irfft2": _c2r((-2, -1)), "fft.irfftn": _c2r(None),
    "fft.fftshift": _shift(1), "fft.ifftshift": _shift(-1),
    "complex": _pairs(lambda re, im: complex(re, im)),
    "polar": _pairs(lambda r, t: cmath.rect(r, t)),
    "conj": _pairs(lambda re, im: complex(re, -im)),
    "angle": lambda re, im: _each(lambda a, b: [cmath.phase(complex(a, b))], re, im)[..., 0],
}
