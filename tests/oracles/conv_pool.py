"""Forward references for convolution and pooling: plain loops over every output
position reading the input element by element (no im2col, no strided views), with
padding decided by bounds tests and the sizes taken from PyTorch's documented formulas."""
import math

import numpy as np


def _tup(v, n):
    return (v,) * n if isinstance(v, int) else tuple(v)


def _inside(x, idx):
    """x[idx] over the spatial part, or None when idx falls in the padding."""
    return x[idx] if all(0 <= i < n for i, n in zip(idx, x.shape)) else None


# ------------------------------------------------------------------ convolution
def _conv(x, w, b, stride, padding, dilation, groups):
    """Any rank: x (N, C, *S), w (O, C/groups, *K)."""
    nd = x.ndim - 2
    k = w.shape[2:]
    stride, dilation = _tup(stride, nd), _tup(dilation, nd)
    if padding == "valid":
        before = after = (0,) * nd
    elif padding == "same":
        total = [d * (kk - 1) for kk, d in zip(k, dilation)]
        before = tuple(t // 2 for t in total)
        after = tuple(t - t // 2 for t in total)
    elif padding == "causal":
        before, after = (dilation[0] * (k[0] - 1),), (0,)
    else:
        before = after = _tup(padding, nd)
    out = [(s + p0 + p1 - d * (kk - 1) - 1) // st + 1
           for s, p0, p1, d, kk, st in zip(x.shape[2:], before, after, dilation, k, stride)]
    n_out, c_per_group = w.shape[0], w.shape[1]
    o_per_group = n_out // groups
    y = np.zeros((x.shape[0], n_out, *out))
    for n in range(x.shape[0]):
        for o in range(n_out):
            g = o // o_per_group
            for pos in np.ndindex(*out):
                total = 0.0 if b is None else b[o]
                for cc in range(c_per_group):
                    for off in np.ndindex(*k):
                        src = tuple(p * st - pb + i * d for p, st, pb, i, d
                                    in zip(pos, stride, before, off, dilation))
                        v = _inside(x[n, g * c_per_group + cc], src)
                        if v is not None:
                            total += v * w[(o, cc) + off]
                y[(n, o) + pos] = total
    return y


def conv(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(x, weight, bias, stride, padding, dilation, groups)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Scatter form: each x[n, c, h, w] adds x·W[c, o] into the window it spans."""
    (sh, sw), (ph, pw) = _tup(stride, 2), _tup(padding, 2)
    (oph, opw), (dh, dw) = _tup(output_padding, 2), _tup(dilation, 2)
    n_b, c_in, h_in, w_in = x.shape
    _, o_per_group, kh, kw = weight.shape
    c_per_group = c_in // groups
    h_out = (h_in - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    w_out = (w_in - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    y = np.zeros((n_b, o_per_group * groups, h_out, w_out))
    for n in range(n_b):
        for c in range(c_in):
            g = c // c_per_group
            for h in range(h_in):
                for w in range(w_in):
                    for o in range(o_per_group):
                        for i in range(kh):
                            for j in range(kw):
                                hh, ww = h * sh - ph + i * dh, w * sw - pw + j * dw
                                if 0 <= hh < h_out and 0 <= ww < w_out:
                                    y[n, g * o_per_group + o, hh, ww] += x[n, c, h, w] * weight[c, o, i, j]
    if bias is not None:
        y += bias[None, :, None, None]
    return y


# ------------------------------------------------------------------ pooling
def _pool_size(size, k, s, p, d, ceil_mode):
    """PyTorch's pooling_output_shape."""
    num = size + 2 * p - d * (k - 1) - 1
    out = (math.ceil(num / s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool(x, kernel_size, stride, padding, dilation, ceil_mode, reduce):
    """reduce(values inside x, window start, window end clipped to the padded input)."""
    nd = x.ndim - 2
    k = _tup(kernel_size, nd)
    s = k if stride is None else _tup(stride, nd)
    p, d = _tup(padding, nd), _tup(dilation, nd)
    out = [_pool_size(n, kk, ss, pp, dd, ceil_mode)
           for n, kk, ss, pp, dd in zip(x.shape[2:], k, s, p, d)]
    y = np.zeros(x.shape[:2] + tuple(out))
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for pos in np.ndindex(*out):
                values = []
                for off in np.ndindex(*k):
                    src = tuple(o * ss - pp + i * dd for o, ss, pp, i, dd in zip(pos, s, p, off, d))
                    v = _inside(x[n, c], src)
                    if v is not None:
                        values.append(v)
                starts = [o * ss - pp for o, ss, pp in zip(pos, s, p)]
                ends = [min(st + kk, size + pp) for st, kk, size, pp in zip(starts, k, x.shape[2:], p)]
                y[(n, c) + pos] = reduce(values, starts, ends, x.shape[2:])
    return y


def max_pool_windows(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _pool(x, kernel_size, stride, padding, dilation, ceil_mode, lambda v, *_: max(v))


def _avg(count_include_pad, divisor_override=None):
    def reduce(values, starts, ends, sizes):
        if divisor_override is not None:
            return sum(values) / divisor_override
        if count_include_pad:
            count = math.prod(e - s for s, e in zip(starts, ends))
        else:
            count = math.prod(min(e, n) - max(s, 0) for s, e, n in zip(starts, ends, sizes))
        return sum(values) / count
    return reduce


def avg_pool_windows(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    return _pool(x, kernel_size, stride, padding, 1, ceil_mode,
                 _avg(count_include_pad, divisor_override))


def _adaptive(x, output_size, reduce):
    nd = x.ndim - 2
    size = _tup(output_size, nd)
    size = tuple(x.shape[2 + i] if m is None else m for i, m in enumerate(size))
    y = np.zeros(x.shape[:2] + size)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for pos in np.ndindex(*size):
                box = tuple(slice(math.floor(i * length / m), math.ceil((i + 1) * length / m))
                            for i, length, m in zip(pos, x.shape[2:], size))
                y[(n, c) + pos] = reduce(x[(n, c) + box].ravel().tolist())
    return y


def adaptive_avg_pool(x, output_size):
    return _adaptive(x, output_size, lambda v: math.fsum(v) / len(v))


def adaptive_max_pool(x, output_size):
    return _adaptive(x, output_size, max)


def max_pool(x, kernel_size=None, stride=None, padding=0, dilation=1, ceil_mode=False,
             output_size=None):
    if kernel_size is not None:
        return max_pool_windows(x, kernel_size, stride, padding, dilation, ceil_mode)
    return adaptive_max_pool(x, output_size or 1)


def avg_pool(x, kernel_size=None, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
             output_size=None):
    if kernel_size is not None:
        return avg_pool_windows(x, kernel_size, stride, padding, ceil_mode, count_include_pad)
    return adaptive_avg_pool(x, output_size or 1)


ORACLES = {
    "conv1d": conv, "conv2d": conv, "conv_nd": conv, "conv_transpose2d": conv_transpose2d,
    "max_pool1d": max_pool_windows, "max_pool2d": max_pool_windows, "max_pool": max_pool,
    "avg_pool1d": avg_pool_windows, "avg_pool2d": avg_pool_windows, "avg_pool": avg_pool,
    "adaptive_avg_pool1d": adaptive_avg_pool, "adaptive_avg_pool2d": adaptive_avg_pool,
}
