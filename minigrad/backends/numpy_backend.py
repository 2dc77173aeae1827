"""NumPy backend: arrays on the CPU, hot loops jitted with Numba.

Numba functions are compiled lazily on first call and cached on disk
(``cache=True``), so ``import minigrad`` compiles nothing.
"""
import numpy

name = "numpy"
xp = numpy
ndarray = numpy.ndarray
_rng = numpy.random.default_rng()


def check_available():
    """NumPy is always available."""


def asarray(data, dtype=None):
    """Convert ``data`` (a list, a scalar, a NumPy or CuPy array) to a NumPy array."""
    if type(data).__module__.startswith("cupy"):
        data = data.get()
    return numpy.asarray(data, dtype=dtype)


def to_numpy(array):
    return array


def seed(value):
    """Reseed this backend's random generator."""
    global _rng
    _rng = numpy.random.default_rng(value)


def generator():
    """The backend's random generator (a ``numpy.random.Generator``)."""
    return _rng



def special():
    """``scipy.special`` (imported on first use: it is slow to import)."""
    import scipy.special
    return scipy.special


def kernels(family):
    """The numba kernels of ``family`` (see ``minigrad.backends.kernels``)."""
    from minigrad.backends.kernels import fast
    return fast(family, "numba")
