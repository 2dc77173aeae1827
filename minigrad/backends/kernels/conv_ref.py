"""Convolution kernels, plain ``xp`` versions: im2col (unfold) and its adjoint col2im (fold).

Layout (shared by the Numba and CuPy twins)::

    cols[n, c, i, j, oh, ow] = x[n, c, oh·sh − pt + i·dh, ow·sw − pl + j·dw]   (0 outside x)

so that ``cols.reshape(N, C·kh·kw, OH·OW)`` is the right operand of one batched
matmul with the weight viewed as (O, C·kh·kw), and the result is already NCHW.

Arguments, in every file: ``kernel_size`` (kh, kw), ``stride`` (sh, sw),
``padding`` ((top, bottom), (left, right)) — asymmetric for 'same' and causal
padding — and ``dilation`` (dh, dw). ``col2im`` takes the kernel size from
``cols.shape`` and drops every entry that im2col would have read from padding.
Both take an optional ``out``: a C-contiguous array of the result's shape and dtype
that is overwritten and returned (the convolution op reuses one buffer per block of
samples); ``BATCH_BLOCK_BYTES`` (None here: the whole batch at once) is how many bytes
of columns the op unfolds at a time on this backend.
"""
from minigrad.backends import backend_of_array

BATCH_BLOCK_BYTES = None


def conv_output_size(size, k, stride, pad, dilation):
    """Number of window positions along one axis: ⌊(L + p₀ + p₁ − d(k−1) − 1)/s⌋ + 1."""
    return (size + pad[0] + pad[1] - dilation * (k - 1) - 1) // stride + 1


def im2col(x, kernel_size, stride, padding, dilation, out=None):
    """x (N, C, H, W) → cols (N, C, kh, kw, OH, OW), C-contiguous, x's dtype."""
    xp = backend_of_array(x).xp
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    oh, ow = conv_output_size(h, kh, sh, ph, dh), conv_output_size(w, kw, sw, pw, dw)
    xpad = xp.pad(x, ((0, 0), (0, 0), ph, pw))
    cols = xp.empty((n, c, kh, kw, oh, ow), dtype=x.dtype) if out is None else out
    for i in range(kh):          # one strided copy per kernel offset, vectorised over N, C, OH, OW
        for j in range(kw):
            cols[:, :, i, j] = xpad[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                                    j * dw:j * dw + sw * (ow - 1) + 1:sw]
    return cols


def col2im(cols, x_shape, stride, padding, dilation, out=None):
    """cols (N, C, kh, kw, OH, OW) → x (N, C, H, W): every entry added back to
    where im2col read it from (the adjoint of im2col)."""
    xp = backend_of_array(cols).xp
    n, c, kh, kw, oh, ow = cols.shape
    h, w = x_shape[2:]
    (sh, sw), ((pt, _), (pl, _)), (dh, dw) = stride, padding, dilation
    # big enough for every window (transposed convs may reach past the bottom/right edge)
    hp = max(pt + h, dh * (kh - 1) + sh * (oh - 1) + 1)
    wp = max(pl + w, dw * (kw - 1) + sw * (ow - 1) + 1)
    xpad = xp.zeros((n, c, hp, wp), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xpad[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                 j * dw:j * dw + sw * (ow - 1) + 1:sw] += cols[:, :, i, j]
    if out is None:
        return xpad[:, :, pt:pt + h, pl:pl + w].copy()
    out[...] = xpad[:, :, pt:pt + h, pl:pl + w]
    return out
