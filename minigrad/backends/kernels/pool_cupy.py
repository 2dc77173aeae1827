"""Pooling kernels for the GPU (CuPy ElementwiseKernels): the same functions as
``pool_ref``, one thread per output element (forward) or per input element
(sum-pool backward, a gather); the max-pool backward scatters with atomicAdd."""
import cupy

from minigrad.backends.kernels.conv_cupy import _GEOMETRY
from minigrad.backends.kernels.pool_ref import _out_shape

_max_pool = cupy.ElementwiseKernel(
    "raw T x, float64 neg_inf, " + _GEOMETRY, "T y, int64 idx",
    """
    int ow = i % ow_n;  ptrdiff_t r = i / ow_n;
    int oh = r % oh_n;  r /= oh_n;        // r = n·C + c
    const ptrdiff_t plane = r * h_in * w_in;
    T best = (T)neg_inf;
    long long arg = -1;
    for (int ki = 0; ki < kh; ++ki) {
        int h = oh * sh - pt + ki * dh;
        if (h < 0 || h >= h_in) continue;
        for (int kj = 0; kj < kw; ++kj) {
            int w = ow * sw - pl + kj * dw;
            if (w < 0 || w >= w_in) continue;
            T v = x[plane + h * w_in + w];
            if (v > best || v != v) { best = v; arg = h * w_in + w; }
        }
    }
    y = best;
    idx = arg;
    """,
    "minigrad_max_pool2d")

_max_pool_backward = cupy.ElementwiseKernel(
    "T gy, int64 idx, int64 n_out, int64 n_in", "raw T gx",
    "if (idx >= 0) atomicAdd(&gx[(i / n_out) * n_in + idx], gy);",
    "minigrad_max_pool2d_backward")

_sum_pool = cupy.ElementwiseKernel(
    "raw T x, " + _GEOMETRY, "T y",
    """
    int ow = i % ow_n;  ptrdiff_t r = i / ow_n;
    int oh = r % oh_n;  r /= oh_n;
    const ptrdiff_t plane = r * h_in * w_in;
    T acc = 0;
    for (int ki = 0; ki < kh; ++ki) {
        int h = oh * sh - pt + ki * dh;
        if (h < 0 || h >= h_in) continue;
        for (int kj = 0; kj < kw; ++kj) {
            int w = ow * sw - pl + kj * dw;
            if (w >= 0 && w < w_in) acc += x[plane + h * w_in + w];
        }
    }
    y = acc;
    """,
    "minigrad_sum_pool2d")

_sum_pool_backward = cupy.ElementwiseKernel(
    "raw T gy, " + _GEOMETRY, "T gx",
    """
    int w = i % w_in;  ptrdiff_t r = i / w_in;
    int h = r % h_in;  r /= h_in;
    T acc = 0;
    for (int ki = 0; ki < kh; ++ki) {
        int hs = h + pt - ki * dh;
        if (hs < 0 || hs % sh != 0 || hs / sh >= oh_n) continue;
        for (int kj = 0; kj < kw; ++kj) {
            int ws = w + pl - kj * dw;
            if (ws < 0 || ws % sw != 0 || ws / sw >= ow_n) continue;
            acc += gy[(r * oh_n + hs / sh) * ow_n + ws / sw];
        }
    }
    gx = acc;
    """,
    "minigrad_sum_pool2d_backward")


def _geometry(x_shape, out, kernel_size, stride, padding, dilation):
    return (x_shape[2], x_shape[3], kernel_size[0], kernel_size[1], out[0], out[1],
            stride[0], stride[1], padding[0][0], padding[1][0], dilation[0], dilation[1])


def max_pool2d(x, kernel_size, stride, padding, dilation):
    """Same as ``pool_ref.max_pool2d``."""
    x = cupy.ascontiguousarray(x)
    out = _out_shape(x.shape, kernel_size, stride, padding, dilation)
    y = cupy.empty(x.shape[:2] + out, dtype=x.dtype)
    idx = cupy.empty(x.shape[:2] + out, dtype=cupy.int64)
    _max_pool(x, float("-inf"), *_geometry(x.shape, out, kernel_size, stride, padding,
                                            dilation), y, idx)
    return y, idx


def max_pool2d_backward(gy, indices, x_shape):
    """Same as ``pool_ref.max_pool2d_backward``."""
    n, c, h, w = x_shape
    gx = cupy.zeros(tuple(x_shape), dtype=gy.dtype)
    gy, indices = cupy.ascontiguousarray(gy), cupy.ascontiguousarray(indices)
    _max_pool_backward(gy, indices, gy.shape[2] * gy.shape[3], h * w, gx)
    return gx


def sum_pool2d(x, kernel_size, stride, padding, dilation):
    """Same as ``pool_ref.sum_pool2d``."""
    x = cupy.ascontiguousarray(x)
    out = _out_shape(x.shape, kernel_size, stride, padding, dilation)
    y = cupy.empty(x.shape[:2] + out, dtype=x.dtype)
    _sum_pool(x, *_geometry(x.shape, out, kernel_size, stride, padding, dilation), y)
    return y


def sum_pool2d_backward(gy, x_shape, kernel_size, stride, padding, dilation):
    """Same as ``pool_ref.sum_pool2d_backward``."""
    gy = cupy.ascontiguousarray(gy)
    gx = cupy.empty(tuple(x_shape), dtype=gy.dtype)
    _sum_pool_backward(gy, *_geometry(x_shape, gy.shape[2:], kernel_size, stride, padding,
                                      dilation), gx)
    return gx
