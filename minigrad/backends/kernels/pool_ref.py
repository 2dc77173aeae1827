"""Pooling kernels, plain ``xp`` versions: window max (with its argmax) and window sum,
each with its backward.

Windows are laid out as in ``conv_ref``: output (oh, ow) covers the input rows
oh·sh − pt + i·dh and columns ow·sw − pl + j·dw for i < kh, j < kw, with
``padding`` ((top, bottom), (left, right)) and x of shape (N, C, H, W).

``max_pool2d`` returns the maximum and its position as a flat index h·W + w into
the input plane (PyTorch's ``return_indices`` convention); the first maximum in
window order wins, padding never does (its value is −∞), a NaN wins over
anything (the last NaN, as in PyTorch's CPU kernel), and a window with no real
element gives −∞ and index −1.
"""
from minigrad.backends import backend_of_array
from minigrad.backends.kernels.conv_ref import conv_output_size


def _out_shape(x_shape, kernel_size, stride, padding, dilation):
    return tuple(conv_output_size(n, k, s, p, d) for n, k, s, p, d in
                 zip(x_shape[2:], kernel_size, stride, padding, dilation))


def _window_slice(i, j, out, stride, dilation):
    (oh, ow), (sh, sw), (dh, dw) = out, stride, dilation
    return (slice(None), slice(None), slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))


def max_pool2d(x, kernel_size, stride, padding, dilation):
    """x (N, C, H, W) → (y, indices), both (N, C, OH, OW); indices int64."""
    xp = backend_of_array(x).xp
    h, w = x.shape[2:]
    out = _out_shape(x.shape, kernel_size, stride, padding, dilation)
    (ph, pw), (sh, sw), (dh, dw) = padding, stride, dilation
    xpad = xp.pad(x, ((0, 0), (0, 0), ph, pw), constant_values=-xp.inf)
    y = xp.full(x.shape[:2] + out, -xp.inf, dtype=x.dtype)
    idx = xp.full(x.shape[:2] + out, -1, dtype=xp.int64)
    rows = xp.arange(out[0])[:, None] * sh - ph[0]
    cols = xp.arange(out[1])[None, :] * sw - pw[0]
    for i in range(kernel_size[0]):
        for j in range(kernel_size[1]):
            v = xpad[_window_slice(i, j, out, stride, dilation)]
            better = (v > y) | (v != v)
            y = xp.where(better, v, y)
            idx = xp.where(better, (rows + i * dh) * w + cols + j * dw, idx)
    return y, idx


def max_pool2d_backward(gy, indices, x_shape):
    """gx (x_shape): each gy[n, c, o] added at the input position indices[n, c, o]
    (skipped where the index is −1)."""
    xp = backend_of_array(gy).xp
    n, c, h, w = x_shape
    gx = xp.zeros((n * c, h * w), dtype=gy.dtype)
    windows = gy.shape[2] * gy.shape[3]          # not −1: n·c may be 0
    idx = indices.reshape(n * c, windows)
    valid = idx >= 0
    planes = xp.arange(n * c)[:, None]
    xp.add.at(gx, (xp.broadcast_to(planes, idx.shape), xp.where(valid, idx, 0)),
              xp.where(valid, gy.reshape(n * c, windows), 0))
    return gx.reshape(x_shape)


def sum_pool2d(x, kernel_size, stride, padding, dilation):
    """Window sums (zero padding): x (N, C, H, W) → y (N, C, OH, OW)."""
    xp = backend_of_array(x).xp
    out = _out_shape(x.shape, kernel_size, stride, padding, dilation)
    xpad = xp.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    y = xp.zeros(x.shape[:2] + out, dtype=x.dtype)
    for i in range(kernel_size[0]):
        for j in range(kernel_size[1]):
            y += xpad[_window_slice(i, j, out, stride, dilation)]
    return y


def sum_pool2d_backward(gy, x_shape, kernel_size, stride, padding, dilation):
    """The adjoint of ``sum_pool2d``: gy (N, C, OH, OW) spread over each window."""
    xp = backend_of_array(gy).xp
    (ph, pw), (sh, sw), (dh, dw) = padding, stride, dilation
    (kh, kw), out, (h, w) = kernel_size, gy.shape[2:], x_shape[2:]
    hp = max(ph[0] + h, dh * (kh - 1) + sh * (out[0] - 1) + 1)
    wp = max(pw[0] + w, dw * (kw - 1) + sw * (out[1] - 1) + 1)
    gpad = xp.zeros(tuple(x_shape[:2]) + (hp, wp), dtype=gy.dtype)
    for i in range(kh):
        for j in range(kw):
            gpad[_window_slice(i, j, out, stride, dilation)] += gy
    return gpad[:, :, ph[0]:ph[0] + h, pw[0]:pw[0] + w].copy()
