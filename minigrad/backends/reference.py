"""Plain array-module (``xp``) versions of the kernels that the backends accelerate.

These are the readable definitions. ``numpy_backend`` (Numba) and ``cupy_backend``
(CUDA kernels) provide faster versions with the same signatures, and the tests
check each fast kernel against the function of the same name here.
"""


def scatter_add(xp, shape, dtype, index, values):
    """Return zeros(shape) with ``values`` added at ``index`` (repeated indices add up).

    This is the backward of ``x[index]``: every element read by the forward
    sends its gradient back to where it was read from.
    """
    out = xp.zeros(shape, dtype=dtype)
    xp.add.at(out, index, values)
    return out
