"""Convolution kernels for the GPU (CuPy ElementwiseKernels): the same im2col/col2im
as ``conv_ref``, one thread per element of the result. col2im *gathers*, for one
input element, every column entry that im2col copied from it, so it needs no
atomics and its sums have a fixed order."""
import cupy

from minigrad.backends.kernels.conv_ref import conv_output_size

BATCH_BLOCK_BYTES = None    # the whole batch at once: no cache to fit, fewer launches

_GEOMETRY = ("int32 h_in, int32 w_in, int32 kh, int32 kw, int32 oh_n, int32 ow_n, "
             "int32 sh, int32 sw, int32 pt, int32 pl, int32 dh, int32 dw")

_im2col = cupy.ElementwiseKernel(
    "raw T x, " + _GEOMETRY, "T col",
    """
    int ow = i % ow_n;  ptrdiff_t r = i / ow_n;
    int oh = r % oh_n;  r /= oh_n;
    int kj = r % kw;    r /= kw;
    int ki = r % kh;    r /= kh;          // r = n·C + c
    int h = oh * sh - pt + ki * dh;
    int w = ow * sw - pl + kj * dw;
    col = (0 <= h && h < h_in && 0 <= w && w < w_in) ? x[(r * h_in + h) * w_in + w] : (T)0;
    """,
    "minigrad_im2col")

_col2im = cupy.ElementwiseKernel(
    "raw T col, " + _GEOMETRY, "T img",
    """
    int w = i % w_in;  ptrdiff_t r = i / w_in;
    int h = r % h_in;  r /= h_in;         // r = n·C + c
    T acc = 0;
    for (int ki = 0; ki < kh; ++ki) {
        int hs = h + pt - ki * dh;        // = oh·sh for the rows that read (h, w)
        if (hs < 0 || hs % sh != 0 || hs / sh >= oh_n) continue;
        for (int kj = 0; kj < kw; ++kj) {
            int ws = w + pl - kj * dw;
            if (ws < 0 || ws % sw != 0 || ws / sw >= ow_n) continue;
            acc += col[(((r * kh + ki) * kw + kj) * oh_n + hs / sh) * ow_n + ws / sw];
        }
    }
    img = acc;
    """,
    "minigrad_col2im")


def im2col(x, kernel_size, stride, padding, dilation, out=None):
    """Same as ``conv_ref.im2col``."""
    x = cupy.ascontiguousarray(x)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    h, w = x.shape[2:]
    oh, ow = conv_output_size(h, kh, sh, ph, dh), conv_output_size(w, kw, sw, pw, dw)
    cols = cupy.empty(x.shape[:2] + (kh, kw, oh, ow), dtype=x.dtype) if out is None else out
    _im2col(x, h, w, kh, kw, oh, ow, sh, sw, ph[0], pw[0], dh, dw, cols)
    return cols


def col2im(cols, x_shape, stride, padding, dilation, out=None):
    """Same as ``conv_ref.col2im``."""
    cols = cupy.ascontiguousarray(cols)
    kh, kw, oh, ow = cols.shape[2:]
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    x = cupy.empty(tuple(x_shape), dtype=cols.dtype) if out is None else out
    _col2im(cols, x_shape[2], x_shape[3], kh, kw, oh, ow, sh, sw, ph[0], pw[0], dh, dw, x)
    return x
