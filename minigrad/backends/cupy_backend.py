"""CuPy backend: arrays on an NVIDIA GPU, hot loops as CUDA kernels.

Needs CuPy ≥ 14 and a visible GPU: ``pip install "minigrad[cuda]"`` (CuPy built for
CUDA 12, with its CUDA libraries; runs on CUDA 12 and CUDA 13 drivers) or
``pip install "minigrad[cuda13]"`` (CuPy for CUDA 13; needs a CUDA 13 driver).
"""
from minigrad.backends import BackendError

name = "cupy"
try:
    import cupy
    xp = cupy
    ndarray = cupy.ndarray
except ImportError:  # checked in check_available, with a message that says what to do
    cupy = xp = ndarray = None

_rng = None


def check_available():
    """Raise ``BackendError`` saying how to get CuPy, or that no GPU is visible."""
    if cupy is None:
        raise BackendError("the 'cupy' backend needs CuPy, which is not installed; on a machine "
                           "with an NVIDIA GPU run: pip install \"minigrad[cuda]\"")
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # the CUDA driver itself may be missing
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BackendError(f"the 'cupy' backend found no usable GPU (CUDA says: {reason}); "
                           "it needs an NVIDIA GPU with its driver installed") from None
    if count == 0:
        raise BackendError("the 'cupy' backend found no GPU on this machine")


def asarray(data, dtype=None):
    """Convert ``data`` (a list, a scalar, a NumPy or CuPy array) to a CuPy array; host
    data is always copied to the GPU (``cupy.array``), a CuPy array is shared when its
    dtype already fits."""
    if isinstance(data, cupy.ndarray):
        return cupy.asarray(data, dtype=dtype)
    return cupy.array(data, dtype=dtype)


def to_numpy(array):
    return cupy.asnumpy(array)


def seed(value):
    """Reseed this backend's random generator."""
    global _rng
    _rng = cupy.random.default_rng(value)


def generator():
    """The backend's random generator (a ``cupy.random.Generator``)."""
    global _rng
    if _rng is None:
        _rng = cupy.random.default_rng()
    return _rng



def special():
    """``cupyx.scipy.special``, the GPU twin of ``scipy.special``."""
    import cupyx.scipy.special
    return cupyx.scipy.special


def kernels(family):
    """The cupy kernels of ``family`` (see ``minigrad.backends.kernels``)."""
    from minigrad.backends.kernels import fast
    return fast(family, "cupy")
