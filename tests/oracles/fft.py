"""Forward oracles for the complex ops registered by minigrad.ops.complex (each as its
registered real-valued check wrapper computes it): written with Python's cmath on each
element, not with NumPy's complex ufuncs. The transforms themselves are checked against
numpy.fft in tests/test_fft.py."""
import cmath

import numpy as np


def _each(fn, *arrays):
    a = np.broadcast_arrays(*arrays)
    return np.array([fn(*v) for v in zip(*(x.ravel() for x in a))]).reshape(a[0].shape + (-1,))


def _pairs(fn):
    return lambda *args: _each(lambda *v: [fn(*v).real, fn(*v).imag], *args)


ORACLES = {
    "complex": _pairs(lambda re, im: complex(re, im)),
    "polar": _pairs(lambda r, t: cmath.rect(r, t)),
    "conj": _pairs(lambda re, im: complex(re, -im)),
    "angle": lambda re, im: _each(lambda a, b: [cmath.phase(complex(a, b))], re, im)[..., 0],
}
