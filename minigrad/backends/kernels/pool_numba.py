"""Pooling kernels for the CPU (Numba): the same functions as ``pool_ref``, as
one pass over the output per call (no padded copy, no per-offset temporaries)."""
import numba
import numpy

from minigrad.backends.kernels.conv_numba import _inside
from minigrad.backends.kernels.pool_ref import _out_shape


@numba.njit(cache=True)
def _max_pool(x, y, idx, kh, kw, sh, sw, pt, pl, dh, dw):
    n_batch, n_chan, h_in, w_in = x.shape
    oh_n, ow_n = y.shape[2], y.shape[3]
    j_lo = numpy.empty(ow_n, numpy.int64)     # window columns inside x, once per call
    j_hi = numpy.empty(ow_n, numpy.int64)
    for ow in range(ow_n):
        j_lo[ow], j_hi[ow] = _inside(ow * sw - pl, dw, w_in, kw)
    for n in range(n_batch):
        for c in range(n_chan):
            for oh in range(oh_n):
                h0 = oh * sh - pt
                i_lo, i_hi = _inside(h0, dh, h_in, kh)
                for ow in range(ow_n):
                    w0 = ow * sw - pl
                    best = -numpy.inf
                    arg = -1
                    for i in range(i_lo, i_hi):
                        h = h0 + i * dh
                        for j in range(j_lo[ow], j_hi[ow]):
                            w = w0 + j * dw
                            v = x[n, c, h, w]
                            if v > best or v != v:
                                best = v
                                arg = h * w_in + w
                    y[n, c, oh, ow] = best
                    idx[n, c, oh, ow] = arg


@numba.njit(cache=True)
def _max_pool_tiles(x, y, idx, kh, kw):
    """Windows that tile x (kernel = stride, no padding, no dilation): the same rule as
    ``_max_pool`` in window order, without its bounds arithmetic, with −∞ in x's dtype
    (no float64 compares for float32 x) and the running (best, arg) updated by selects
    rather than branches (on random data every other comparison would mispredict). The
    2×2 window is spelled out. (64, 32, 32, 32) float32: 2×2 2.4 ms against 6.4 for
    ``_max_pool``, 3×3 4.5 against 5.4."""
    n_batch, n_chan, h_in, w_in = x.shape
    oh_n, ow_n = y.shape[2], y.shape[3]
    lowest = numpy.full(1, -numpy.inf, x.dtype)[0]
    for n in range(n_batch):
        for c in range(n_chan):
            for oh in range(oh_n):
                if kh == 2 and kw == 2:
                    top, bottom = x[n, c, 2 * oh], x[n, c, 2 * oh + 1]
                    for ow in range(ow_n):
                        best = lowest
                        arg = -1
                        for k in range(4):                  # unrolled by LLVM
                            v = top[2 * ow + (k & 1)] if k < 2 else bottom[2 * ow + (k & 1)]
                            better = v > best or v != v
                            best = v if better else best
                            arg = (2 * oh + (k >> 1)) * w_in + 2 * ow + (k & 1) if better else arg
                        y[n, c, oh, ow] = best
                        idx[n, c, oh, ow] = arg
                    continue
                for ow in range(ow_n):
                    best = lowest
                    arg = -1
                    for i in range(kh):
                        h = oh * kh + i
                        row = x[n, c, h]
                        for j in range(kw):
                            w = ow * kw + j
                            v = row[w]
                            better = v > best or v != v
                            best = v if better else best
                            arg = h * w_in + w if better else arg
                    y[n, c, oh, ow] = best
                    idx[n, c, oh, ow] = arg


@numba.njit(cache=True)
def _max_pool_backward(gy, idx, gx):
    """gx (planes, H·W) is overwritten: each plane zeroed (while it is in cache), then
    every gy added at its index."""
    for p in range(gy.shape[0]):
        for k in range(gx.shape[1]):
            gx[p, k] = 0
        for o in range(gy.shape[1]):
            k = idx[p, o]
            if k >= 0:
                gx[p, k] += gy[p, o]


@numba.njit(cache=True)
def _sum_pool(x, y, kh, kw, sh, sw, pt, pl, dh, dw):
    """y += the window sums, one (kernel offset, output row) at a time."""
    n_batch, n_chan, h_in, w_in = x.shape
    oh_n, ow_n = y.shape[2], y.shape[3]
    for n in range(n_batch):
        for c in range(n_chan):
            for i in range(kh):
                for j in range(kw):
                    w_off = j * dw - pl
                    lo, hi = _inside(w_off, sw, w_in, ow_n)
                    q = max(0, lo * sw + w_off)
                    for oh in range(oh_n):
                        h = oh * sh - pt + i * dh
                        if h < 0 or h >= h_in:
                            continue
                        for k in range(hi - lo):
                            y[n, c, oh, lo + k] += x[n, c, h, q + k * sw]


@numba.njit(cache=True)
def _sum_pool_backward(gy, gx, kh, kw, sh, sw, pt, pl, dh, dw):
    n_batch, n_chan, h_in, w_in = gx.shape
    oh_n, ow_n = gy.shape[2], gy.shape[3]
    for n in range(n_batch):
        for c in range(n_chan):
            for i in range(kh):
                for j in range(kw):
                    w_off = j * dw - pl
                    lo, hi = _inside(w_off, sw, w_in, ow_n)
                    q = max(0, lo * sw + w_off)
                    for oh in range(oh_n):
                        h = oh * sh - pt + i * dh
                        if h < 0 or h >= h_in:
                            continue
                        for k in range(hi - lo):
                            gx[n, c, h, q + k * sw] += gy[n, c, oh, lo + k]


def max_pool2d(x, kernel_size, stride, padding, dilation):
    """Same as ``pool_ref.max_pool2d``."""
    x = numpy.ascontiguousarray(x)
    out = x.shape[:2] + _out_shape(x.shape, kernel_size, stride, padding, dilation)
    y = numpy.empty(out, dtype=x.dtype)
    idx = numpy.empty(out, dtype=numpy.int64)
    (ph, pw) = padding
    if (tuple(kernel_size) == tuple(stride) and tuple(dilation) == (1, 1)
            and ph == (0, 0) and pw == (0, 0)):
        _max_pool_tiles(x, y, idx, *kernel_size)
    else:
        _max_pool(x, y, idx, *kernel_size, *stride, ph[0], pw[0], *dilation)
    return y, idx


def max_pool2d_backward(gy, indices, x_shape):
    """Same as ``pool_ref.max_pool2d_backward``."""
    n, c, h, w = x_shape
    gx = numpy.empty((n * c, h * w), dtype=gy.dtype)
    windows = gy.shape[2] * gy.shape[3]          # not −1: n·c may be 0
    _max_pool_backward(numpy.ascontiguousarray(gy).reshape(n * c, windows),
                       numpy.ascontiguousarray(indices).reshape(n * c, windows), gx)
    return gx.reshape(x_shape)


def sum_pool2d(x, kernel_size, stride, padding, dilation):
    """Same as ``pool_ref.sum_pool2d``."""
    x = numpy.ascontiguousarray(x)
    y = numpy.zeros(x.shape[:2] + _out_shape(x.shape, kernel_size, stride, padding, dilation),
                    dtype=x.dtype)
    (ph, pw) = padding
    _sum_pool(x, y, *kernel_size, max(1, stride[0]), max(1, stride[1]), ph[0], pw[0], *dilation)
    return y


def sum_pool2d_backward(gy, x_shape, kernel_size, stride, padding, dilation):
    """Same as ``pool_ref.sum_pool2d_backward``."""
    gx = numpy.zeros(x_shape, dtype=gy.dtype)
    (ph, pw) = padding
    _sum_pool_backward(numpy.ascontiguousarray(gy), gx, *kernel_size, *stride,
                       ph[0], pw[0], *dilation)
    return gx
