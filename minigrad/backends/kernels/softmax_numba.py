"""Softmax-family kernels for the CPU. Same functions and signatures as ``softmax_ref``.

Only the softmax backward is a Numba loop (one pass for the row dot product Σ gy·s,
one for the output, vectorised sums): on (128, 1000) it takes 0.042 ms against 0.083 ms
for ``softmax_ref`` in float32 (0.043 against 0.137 in float64). Everything that evaluates exp/log per element stays NumPy: this Numba
has no SVML, so its scalar ``exp`` makes a Numba softmax forward 3-4x *slower* than
NumPy's SIMD exp (0.7 ms against 0.16 ms on (128, 1000)), and the same holds for the
log-softmax backward. Those are re-exported from ``softmax_ref``.
"""
import numba
import numpy

from minigrad.backends.kernels.softmax_ref import (log_softmax_backward,  # noqa: F401
                                                   log_softmax_forward, softmax_forward)


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def _softmax_backward_rows(gy, y, dx):
    M, C = y.shape
    for i in range(M):
        d = 0.0
        for j in range(C):
            d += gy[i, j] * y[i, j]
        for j in range(C):
            dx[i, j] = y[i, j] * (gy[i, j] - d)


def softmax_backward(gy, y):
    y = numpy.ascontiguousarray(y)
    gy = numpy.ascontiguousarray(numpy.broadcast_to(gy, y.shape), dtype=y.dtype)
    dx = numpy.empty_like(y)
    _softmax_backward_rows(gy, y, dx)
    return dx
