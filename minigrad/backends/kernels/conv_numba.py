"""Convolution kernels for the CPU (Numba): the same im2col/col2im as ``conv_ref``.

The reference pads a copy of x and makes kh·kw strided copies; these loops read x
in place and work out, per kernel offset, which output columns fall inside x
instead of testing every element against the border.

They run on one thread: with ``parallel=True`` (``prange`` over the (sample, channel)
planes) im2col itself took 5.1 instead of 9.7 ms on 2 cores, but Numba's OpenMP
workers then spin-wait through the matmul that follows and halve OpenBLAS's speed: the
small CNN's training step fell from 11.6 to 3.5 steps/s (10.9 with
``OMP_WAIT_POLICY=passive``, no faster than one thread).

Why the loops look the way they do: Numba wraps negative indices, so LLVM only
vectorises an inner loop whose index it can prove non-negative. Every inner
index is therefore ``start + k`` with ``k`` from ``range`` and ``start`` built
with ``max(0, ...)``; stride 1 gets its own (contiguous) loop.

``BATCH_BLOCK_BYTES``: the convolution op unfolds about this many bytes of columns at a
time (a block of samples) into one buffer, so that they stay in the last-level cache
between im2col, the matmuls and col2im instead of going through memory (75 MB for the
small CNN's 32→32-channel 3×3 layer at batch 64). That layer's forward + backward on 2
cores: 60 ms for the whole batch at once, 42 ms in blocks of 4 to 12 MB; inside the
training step 4 MB was 2-10% faster than 8 MB (the cache is shared with everything else).
"""
import numba
import numpy

from minigrad.backends.kernels.conv_ref import conv_output_size

BATCH_BLOCK_BYTES = 4 << 20


@numba.njit(cache=True, inline="always")
def _inside(offset, stride, size, n_out):
    """[lo, hi): the output positions o with 0 ≤ o·stride + offset < size."""
    lo = max(0, (-offset + stride - 1) // stride)
    hi = min(n_out, max(0, (size - offset + stride - 1) // stride))
    return lo, max(lo, hi)


@numba.njit(cache=True)
def _im2col(x, cols, sh, sw, pt, pl, dh, dw):
    n_batch, n_chan, h_in, w_in = x.shape
    kh, kw, oh_n, ow_n = cols.shape[2], cols.shape[3], cols.shape[4], cols.shape[5]
    sw = max(1, sw)
    for n in range(n_batch):
        for c in range(n_chan):
            for i in range(kh):
                for j in range(kw):
                    w_off = j * dw - pl
                    lo, hi = _inside(w_off, sw, w_in, ow_n)
                    q = max(0, lo * sw + w_off)       # first column of x read by this row
                    for oh in range(oh_n):
                        h = oh * sh - pt + i * dh
                        if h < 0 or h >= h_in:
                            for k in range(ow_n):
                                cols[n, c, i, j, oh, k] = 0
                            continue
                        for k in range(lo):
                            cols[n, c, i, j, oh, k] = 0
                        if sw == 1:
                            for k in range(hi - lo):
                                cols[n, c, i, j, oh, lo + k] = x[n, c, h, q + k]
                        else:
                            for k in range(hi - lo):
                                cols[n, c, i, j, oh, lo + k] = x[n, c, h, q + k * sw]
                        for k in range(ow_n - hi):
                            cols[n, c, i, j, oh, hi + k] = 0


@numba.njit(cache=True)
def _col2im(cols, x, sh, sw, pt, pl, dh, dw):
    """x = col2im(cols): x is overwritten (zeroed, then accumulated)."""
    n_batch, n_chan, h_in, w_in = x.shape
    kh, kw, oh_n, ow_n = cols.shape[2], cols.shape[3], cols.shape[4], cols.shape[5]
    sw = max(1, sw)
    x[:] = 0
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
                        if sw == 1:
                            for k in range(hi - lo):
                                x[n, c, h, q + k] += cols[n, c, i, j, oh, lo + k]
                        else:
                            for k in range(hi - lo):
                                x[n, c, h, q + k * sw] += cols[n, c, i, j, oh, lo + k]


@numba.njit(cache=True)
def _im2col_strided_rows(x, cols, sw, pl, dw):
    """The strided 1-D case: x (R, W) → cols (R, kw, OW), R = samples × channels. One pass
    per kernel column over all rows: the general loops above pay for six-dimensional
    indexing on every short strided row (100×25×19 float32, k = 3, stride 2: 55 µs here
    against 175)."""
    rows, w_in = x.shape
    kw, ow_n = cols.shape[1], cols.shape[2]
    for j in range(kw):
        w_off = j * dw - pl
        lo, hi = _inside(w_off, sw, w_in, ow_n)
        q = max(0, lo * sw + w_off)
        for r in range(rows):
            for k in range(lo):
                cols[r, j, k] = 0
            for k in range(hi - lo):
                cols[r, j, lo + k] = x[r, q + k * sw]
            for k in range(ow_n - hi):
                cols[r, j, hi + k] = 0


@numba.njit(cache=True)
def _col2im_strided_rows(cols, x, sw, pl, dw):
    """col2im of ``_im2col_strided_rows``: x (R, W) is overwritten."""
    rows, w_in = x.shape
    kw, ow_n = cols.shape[1], cols.shape[2]
    x[:] = 0
    for j in range(kw):
        w_off = j * dw - pl
        lo, hi = _inside(w_off, sw, w_in, ow_n)
        q = max(0, lo * sw + w_off)
        for r in range(rows):
            for k in range(hi - lo):
                x[r, q + k * sw] += cols[r, j, lo + k]


def _strided_rows(x_shape, cols_shape, sw):
    """True for a strided convolution over rows (height 1, kernel height 1)."""
    return sw > 1 and x_shape[2] == 1 and cols_shape[2] == 1


def im2col(x, kernel_size, stride, padding, dilation, out=None):
    """Same as ``conv_ref.im2col``."""
    x = numpy.ascontiguousarray(x)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    oh = conv_output_size(x.shape[2], kh, sh, ph, dh)
    ow = conv_output_size(x.shape[3], kw, sw, pw, dw)
    cols = numpy.empty(x.shape[:2] + (kh, kw, oh, ow), dtype=x.dtype) if out is None else out
    if _strided_rows(x.shape, cols.shape, sw) and oh == 1 and cols.flags.c_contiguous:
        rows = x.shape[0] * x.shape[1]
        _im2col_strided_rows(x.reshape(rows, x.shape[3]), cols.reshape(rows, kw, ow), sw,
                             pw[0], dw)
    else:
        _im2col(x, cols, sh, sw, ph[0], pw[0], dh, dw)
    return cols


def col2im(cols, x_shape, stride, padding, dilation, out=None):
    """Same as ``conv_ref.col2im``."""
    x = numpy.empty(x_shape, dtype=cols.dtype) if out is None else out
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    cols = numpy.ascontiguousarray(cols)
    if _strided_rows(x_shape, cols.shape, sw) and cols.shape[4] == 1 and x.flags.c_contiguous:
        rows = x_shape[0] * x_shape[1]
        _col2im_strided_rows(cols.reshape(rows, cols.shape[3], cols.shape[5]),
                             x.reshape(rows, x_shape[3]), sw, pw[0], dw)
    else:
        _col2im(cols, x, sh, sw, ph[0], pw[0], dh, dw)
    return x
