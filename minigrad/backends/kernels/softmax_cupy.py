"""Softmax-family kernels for the GPU: the max is a CuPy reduction, Σ exp(x − m) a
``ReductionKernel`` with the exponential fused into the map, and one
``ElementwiseKernel`` writes the output, so exp(x − m) is never stored as a temporary.
Sums accumulate in float64 (``reduce_type="double"``), as in the Numba twins.
Same functions and signatures as ``softmax_ref``."""
import cupy

from minigrad.backends.kernels.norm_cupy import _sum_kernel

_sum = _sum_kernel("T x", "x", "minigrad_softmax_sum")
_sum_exp = _sum_kernel("T x, T m", "exp(x - m)", "minigrad_sum_exp")
_sum_prod = _sum_kernel("T p, T q", "(double)p * q", "minigrad_softmax_dot")
_softmax = cupy.ElementwiseKernel(
    "T x, T m, T s", "T y", "y = exp(x - m) / s", "minigrad_softmax")
_log_softmax = cupy.ElementwiseKernel(
    "T x, T m, T s", "T y", "y = (x - m) - log(s)", "minigrad_log_softmax")
_softmax_backward = cupy.ElementwiseKernel(
    "T gy, T y, T d", "T dx", "dx = y * (gy - d)", "minigrad_softmax_backward")
_log_softmax_backward = cupy.ElementwiseKernel(
    "T gy, T y, T d", "T dx", "dx = gy - exp(y) * d", "minigrad_log_softmax_backward")


def _stats(x):
    m = x.max(axis=1, keepdims=True)
    return m, _sum_exp(x, m, axis=1, keepdims=True)


def softmax_forward(x):
    m, s = _stats(x)
    return _softmax(x, m, s)


def log_softmax_forward(x):
    m, s = _stats(x)
    return _log_softmax(x, m, s)


def softmax_backward(gy, y):
    return _softmax_backward(gy, y, _sum_prod(gy, y, axis=1, keepdims=True))


def log_softmax_backward(gy, y):
    return _log_softmax_backward(gy, y, _sum(gy, axis=1, keepdims=True))
