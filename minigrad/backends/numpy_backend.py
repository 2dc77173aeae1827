"""NumPy backend: arrays on the CPU, hot loops jitted with Numba.

Numba functions are compiled lazily on first call and cached on disk
(``cache=True``), so ``import minigrad`` compiles nothing.
"""
import numpy

from minigrad.backends import reference

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


def scatter_add(shape, dtype, index, values):
    """Fast ``reference.scatter_add``: a Numba loop for the common 1-axis integer index."""
    from minigrad.backends import numba_kernels
    if (isinstance(index, numpy.ndarray) and index.dtype.kind in "iu"
            and len(shape) >= 1 and values.ndim == index.ndim + len(shape) - 1):
        out = numpy.zeros(shape, dtype=dtype)
        rows = numpy.ascontiguousarray(values.reshape(index.size, -1))
        numba_kernels.scatter_add_rows(out.reshape(shape[0], -1), index.reshape(-1), rows)
        return out
    return reference.scatter_add(numpy, shape, dtype, index, values)


def special():
    """``scipy.special`` (imported on first use: it is slow to import)."""
    import scipy.special
    return scipy.special
