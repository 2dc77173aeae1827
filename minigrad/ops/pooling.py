"""Pooling: max and average over sliding windows (1-D, 2-D), adaptive pooling to a
fixed output size, global pooling, and the rank-dispatching ``max_pool``/``avg_pool``.

Windows follow PyTorch (kernel_size, stride = kernel_size by default, padding,
dilation, ceil_mode, count_include_pad); 1-D pooling is 2-D pooling over a height-1
image. The window kernels live in ``minigrad/backends/kernels/pool_*.py``.
"""
import math

from minigrad.autograd import Function
from minigrad.ops.conv import ntuple, windows
from minigrad.registry import Case, register

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
           "global_avg_pool2d", "global_max_pool2d", "max_pool", "avg_pool"]


class MaxPool(Function):
    """y[n, c, p, q] = max over the window of (p, q) (padding counts as −∞); the forward
    keeps the argmax a*(p, q) of each window. y is locally the copy x[a*], so

        dx[n, c, a] = Σ_{(p, q): a*(p, q) = a} dy[n, c, p, q]

    (a scatter-add: overlapping windows may pick the same element); ties go to the
    first element in window order. Ranzato et al. 2007, "Unsupervised Learning of
    Invariant Feature Hierarchies with Applications to Object Recognition"; Boureau et
    al. 2010, "A Theoretical Analysis of Feature Pooling in Visual Recognition".
    """
    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, dilation):
        y, idx = ctx.backend.kernels("pool").max_pool2d(_image(x), kernel_size, stride,
                                                        padding, dilation)
        ctx.x_shape = x.shape
        ctx.save_for_backward(idx)
        return y if x.ndim == 4 else _line(y)

    @staticmethod
    def backward(ctx, gy):
        idx, = ctx.saved_tensors
        return _max_backward(ctx, gy, idx)

    @staticmethod
    def composite(x, kernel_size, stride, padding, dilation):
        from minigrad.ops.shape import stack
        x4 = _image(x)
        parts = [w for _, _, w in windows(x4, kernel_size, stride, padding, dilation, -math.inf)]
        y = stack(parts, -1).max(axis=-1)
        return y if x.ndim == 4 else _line(y)



class AvgPool(Function):
    """y[n, c, p, q] = (1 / D[p, q]) Σ_{window of (p, q)} x̃[n, c, ·, ·], with x̃ the
    zero-padded input and D the divisor (the window size, or only its in-bounds part when
    count_include_pad is False). Linear in x, so dx is the adjoint: every element gets
    dy[p, q] / D[p, q] from each window that contains it. The subsampling layers of
    LeCun et al. 1998, "Gradient-Based Learning Applied to Document Recognition".
    """
    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, divisor):
        x4 = _image(x)
        y = ctx.backend.kernels("pool").sum_pool2d(x4, kernel_size, stride, padding, (1, 1))
        y /= divisor
        ctx.geometry = (x4.shape, x.shape, kernel_size, stride, padding, divisor)
        return y if x.ndim == 4 else _line(y)

    @staticmethod
    def backward(ctx, gy):
        x4_shape, x_shape, kernel_size, stride, padding, divisor = ctx.geometry
        g = _image(gy) / divisor
        gx = ctx.backend.kernels("pool").sum_pool2d_backward(g, x4_shape, kernel_size, stride,
                                                             padding, (1, 1))
        return gx.reshape(x_shape)

    @staticmethod
    def composite(x, kernel_size, stride, padding, divisor):
        from minigrad.tensor import Tensor
        x4 = _image(x)
        y = None
        for _, _, w in windows(x4, kernel_size, stride, padding, (1, 1)):
            y = w if y is None else y + w
        y = y / (Tensor._wrap(divisor) if hasattr(divisor, "shape") else divisor)
        return y if x.ndim == 4 else _line(y)



class AdaptiveAvgPool(Function):
    """Average over PyTorch's adaptive bins: output i along an axis of length L averages
    x[⌊iL/m⌋ : ⌈(i+1)L/m⌉] (m outputs; bins may overlap by one when m ∤ L). A mean over a
    rectangle is a mean of row means, so with A (m × L), A[i, l] = 1/|bin i| on bin i,

        y = A_h · x · A_wᵀ   (per (n, c) plane),     dx = A_hᵀ · dy · A_w.

    Fixed-size pooling of any input: He et al. 2014, "Spatial Pyramid Pooling in Deep
    Convolutional Networks for Visual Recognition"; output 1 is the global average pooling
    of Lin et al. 2013, "Network In Network".
    """
    @staticmethod
    def forward(ctx, x, output_size):
        xp = ctx.xp
        x4 = _image(x)
        a_h = _bin_matrix(xp, x4.shape[2], output_size[0], x.dtype)
        a_w = _bin_matrix(xp, x4.shape[3], output_size[1], x.dtype)
        ctx.x_shape, ctx.mats = x.shape, (a_h, a_w)
        y = xp.matmul(xp.matmul(a_h, x4), a_w.T)
        return y if x.ndim == 4 else _line(y)

    @staticmethod
    def backward(ctx, gy):
        a_h, a_w = ctx.mats
        xp = ctx.xp
        return xp.matmul(xp.matmul(a_h.T, _image(gy)), a_w).reshape(ctx.x_shape)

    @staticmethod
    def composite(x, output_size):
        from minigrad.backends import backend_of_array
        from minigrad.tensor import Tensor
        x4 = _image(x)
        xp = backend_of_array(x.data).xp
        a_h = Tensor._wrap(_bin_matrix(xp, x4.shape[2], output_size[0], x.dtype))
        a_w = Tensor._wrap(_bin_matrix(xp, x4.shape[3], output_size[1], x.dtype))
        y = a_h @ x4 @ a_w.T
        return y if x.ndim == 4 else _line(y)



class AdaptiveMaxPool(Function):
    """Max over PyTorch's adaptive bins (see ``AdaptiveAvgPool``); the backward sends
    dy to each bin's argmax, as in ``MaxPool``. When m divides L the bins are ordinary
    windows (kernel = stride = L/m) and the window kernel runs; otherwise each of the
    m_h·m_w bins is reduced in turn (vectorised over N and C). He et al. 2014 (SPP)."""
    @staticmethod
    def forward(ctx, x, output_size):
        xp = ctx.xp
        x4 = _image(x)
        n, c, h, w = x4.shape
        (mh, mw) = output_size
        if h % mh == 0 and w % mw == 0:
            k = (h // mh, w // mw)
            y, idx = ctx.backend.kernels("pool").max_pool2d(x4, k, k, ((0, 0), (0, 0)), (1, 1))
        else:
            y = xp.empty((n, c, mh, mw), dtype=x.dtype)
            idx = xp.empty((n, c, mh, mw), dtype=xp.int64)
            for i, (h0, h1) in enumerate(_bins(h, mh)):
                for j, (w0, w1) in enumerate(_bins(w, mw)):
                    window = x4[:, :, h0:h1, w0:w1].reshape(n, c, (h1 - h0) * (w1 - w0))
                    a = xp.argmax(window, axis=2)
                    y[:, :, i, j] = xp.take_along_axis(window, a[..., None], axis=2)[..., 0]
                    idx[:, :, i, j] = (h0 + a // (w1 - w0)) * w + w0 + a % (w1 - w0)
        ctx.x_shape = x.shape
        ctx.save_for_backward(idx)
        return y if x.ndim == 4 else _line(y)

    @staticmethod
    def backward(ctx, gy):
        idx, = ctx.saved_tensors
        return _max_backward(ctx, gy, idx)

    @staticmethod
    def composite(x, output_size):
        from minigrad.ops.shape import stack
        x4 = _image(x)
        n, c, h, w = x4.shape
        rows = [stack([x4[:, :, h0:h1, w0:w1].reshape(n, c, (h1 - h0) * (w1 - w0)).max(axis=2)
                       for w0, w1 in _bins(w, output_size[1])], -1)
                for h0, h1 in _bins(h, output_size[0])]
        y = stack(rows, -2)
        return y if x.ndim == 4 else _line(y)



def _max_backward(ctx, gy, idx):
    x4_shape = ctx.x_shape if len(ctx.x_shape) == 4 else ctx.x_shape[:2] + (1,) + ctx.x_shape[2:]
    gx = ctx.backend.kernels("pool").max_pool2d_backward(_image(gy), idx, x4_shape)
    return gx.reshape(ctx.x_shape)


def _image(a):
    return a if a.ndim == 4 else a.reshape(a.shape[0], a.shape[1], 1, a.shape[2])


def _line(y):
    """(N, C, 1, L) back to (N, C, L) (sizes spelled out: an empty batch has no −1)."""
    return y.reshape(y.shape[0], y.shape[1], y.shape[3])


def _bins(length, m):
    """PyTorch's adaptive bins: [⌊iL/m⌋, ⌈(i+1)L/m⌉) for i < m."""
    return [((i * length) // m, -((-(i + 1) * length) // m)) for i in range(m)]


def _bin_matrix(xp, length, m, dtype):
    a = xp.zeros((m, length), dtype=dtype)
    for i, (lo, hi) in enumerate(_bins(length, m)):
        a[i, lo:hi] = 1.0 / (hi - lo)
    return a


# ------------------------------------------------------------------ window geometry
def _pool_geometry(op, x, nd, kernel_size, stride, padding, dilation, ceil_mode):
    """Check the arguments; return (kernel, stride, padding pairs, dilation) in 2-D form.

    With ceil_mode the last window may hang over the end (but must start inside the
    input or the left padding, as in PyTorch); that overhang becomes extra padding
    after, which the max ignores (−∞) and the average does not count."""
    layout = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
    if x.ndim != nd + 2:
        raise ValueError(f"{op}: expected x of shape {layout}, got shape {x.shape}")
    kernel = ntuple(kernel_size, nd, "kernel_size", op)
    stride = kernel if stride is None or stride == () else ntuple(stride, nd, "stride", op)
    dilation = ntuple(dilation, nd, "dilation", op)
    pads = ntuple(padding, nd, "padding", op, minimum=0)
    pairs = []
    for size, k, s, p, d in zip(x.shape[2:], kernel, stride, pads, dilation):
        span = d * (k - 1) + 1
        if 2 * p > span:
            raise ValueError(f"{op}: padding {pads} must be at most half of the (dilated) "
                             f"kernel {kernel}, dilation {dilation}")
        if size + 2 * p < span:
            raise ValueError(f"{op}: kernel {kernel} (dilation {dilation}) is larger than the "
                             f"padded input: x of shape {x.shape} with padding {pads}")
        room = size + 2 * p - span
        out = (-(-room // s) if ceil_mode else room // s) + 1
        if ceil_mode and (out - 1) * s >= size + p:
            out -= 1
        pairs.append((p, max(p, (out - 1) * s + span - size - p)))
    if nd == 1:
        return (1,) + kernel, (1,) + stride, ((0, 0), pairs[0]), (1,) + dilation
    return kernel, stride, tuple(pairs), dilation


def _avg_divisor(xp, x, kernel, stride, pairs, padding_given, count_include_pad,
                 divisor_override):
    """The divisor of each window, as PyTorch counts it: the window clipped to the
    padded input (never the ceil-mode overhang), or to x itself without count_include_pad."""
    if divisor_override is not None:
        return divisor_override
    counts = []
    for size, k, s, (p, p_after), p_sym in zip(_image(x).shape[2:], kernel, stride, pairs,
                                               padding_given):
        out = (size + p + p_after - k) // s + 1
        axis = []
        for o in range(out):
            lo, hi = o * s - p, min(o * s - p + k, size + p_sym)
            axis.append(hi - lo if count_include_pad else min(hi, size) - max(lo, 0))
        counts.append(axis)
    if all(v == counts[0][0] for v in counts[0]) and all(v == counts[1][0] for v in counts[1]):
        return counts[0][0] * counts[1][0]
    return xp.asarray([[a * b for b in counts[1]] for a in counts[0]], dtype=x.dtype)


def _output_size(op, x, nd, output_size):
    size = (output_size,) * nd if isinstance(output_size, int) or output_size is None \
        else tuple(output_size)
    if len(size) != nd:
        raise ValueError(f"{op}: output_size must be an int or {nd} of them, got {output_size!r}")
    if x.ndim != nd + 2:
        layout = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
        raise ValueError(f"{op}: expected x of shape {layout}, got shape {x.shape}")
    size = tuple(x.shape[2 + i] if s is None else s for i, s in enumerate(size))
    if any(not isinstance(s, int) or s < 1 for s in size):
        raise ValueError(f"{op}: output_size must be positive ints, got {output_size!r}")
    return size if nd == 2 else (1,) + size


# ------------------------------------------------------------------ functional
def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """2-D max pooling (``torch.nn.functional.max_pool2d``) of x (N, C, H, W); padding
    counts as −∞ and must be at most half the (dilated) kernel.

    y[n, c, i, j] = max_{(p, q) ∈ window(i, j)} x[n, c, p, q];  dx = dy routed to the argmax
    of each window (backward: ``MaxPool``, help(minigrad.ops.pooling.MaxPool)). Primitive.
    """
    k, s, p, d = _pool_geometry("max_pool2d", x, 2, kernel_size, stride, padding, dilation,
                                ceil_mode)
    return MaxPool.apply(x, k, s, p, d)


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """1-D max pooling (``torch.nn.functional.max_pool1d``) of x (N, C, L).

    y[n, c, i] = max_{t ∈ window(i)} x[n, c, t]; backward to the argmax (``MaxPool``).
    """
    k, s, p, d = _pool_geometry("max_pool1d", x, 1, kernel_size, stride, padding, dilation,
                                ceil_mode)
    return MaxPool.apply(x, k, s, p, d)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling (``torch.nn.functional.avg_pool2d``) of x (N, C, H, W): zero
    padding counted in the divisor unless ``count_include_pad=False``; ``divisor_override``
    replaces the divisor.

    y[n, c, i, j] = (1/|window|) Σ_{(p, q) ∈ window(i, j)} x[n, c, p, q];  dx spreads dy/|window|
    over each window (backward: ``AvgPool``, help(minigrad.ops.pooling.AvgPool)). Primitive.
    """
    return _avg_pool("avg_pool2d", x, 2, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling (``torch.nn.functional.avg_pool1d``) of x (N, C, L).

    y[n, c, i] = (1/k) Σ_{t ∈ window(i)} x[n, c, t]; backward dy/k over each window (``AvgPool``).
    """
    return _avg_pool("avg_pool1d", x, 1, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def _avg_pool(op, x, nd, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    k, s, p, _ = _pool_geometry(op, x, nd, kernel_size, stride, padding, 1, ceil_mode)
    given = ((0,) if nd == 1 else ()) + ntuple(padding, nd, "padding", op, minimum=0)
    divisor = _avg_divisor(_xp(x), x, k, s, p, given, count_include_pad, divisor_override)
    return AvgPool.apply(x, k, s, p, divisor)


def _xp(x):
    from minigrad.backends import backend_of_array
    return backend_of_array(x.data).xp


def adaptive_avg_pool2d(x, output_size):
    """Average pooling to a fixed (OH, OW) (``torch.nn.functional.adaptive_avg_pool2d``);
    an int means square, None keeps that axis.

    y[i, j] = mean of x over rows ⌊iH/OH⌋ … ⌈(i+1)H/OH⌉ − 1 and the same columns bin;
    backward spreads dy evenly over each bin (``AdaptiveAvgPool``).
    """
    return AdaptiveAvgPool.apply(x, _output_size("adaptive_avg_pool2d", x, 2, output_size))


def adaptive_avg_pool1d(x, output_size):
    """Average pooling of x (N, C, L) to a fixed length (``torch.nn.functional.adaptive_avg_pool1d``).

    y[i] = mean x[⌊iL/O⌋ : ⌈(i+1)L/O⌉]; backward spreads dy evenly over each bin (``AdaptiveAvgPool``).
    """
    return AdaptiveAvgPool.apply(x, _output_size("adaptive_avg_pool1d", x, 1, output_size))


def adaptive_max_pool2d(x, output_size):
    """Max pooling to a fixed (OH, OW) (``torch.nn.functional.adaptive_max_pool2d``).

    y[i, j] = max of x over the bin ⌊iH/OH⌋ … ⌈(i+1)H/OH⌉ − 1 (rows) × the same for columns;
    backward to each bin's argmax (``AdaptiveMaxPool``). No ``return_indices``.
    """
    return AdaptiveMaxPool.apply(x, _output_size("adaptive_max_pool2d", x, 2, output_size))


def adaptive_max_pool1d(x, output_size):
    """Max pooling of x (N, C, L) to a fixed length (``torch.nn.functional.adaptive_max_pool1d``).

    y[i] = max x[⌊iL/O⌋ : ⌈(i+1)L/O⌉]; backward to each bin's argmax (``AdaptiveMaxPool``).
    """
    return AdaptiveMaxPool.apply(x, _output_size("adaptive_max_pool1d", x, 1, output_size))


def global_avg_pool2d(x):
    """Mean over H and W: (N, C, H, W) → (N, C, 1, 1) (``adaptive_avg_pool2d(x, 1)``)."""
    return adaptive_avg_pool2d(x, 1)


def global_max_pool2d(x):
    """Max over H and W: (N, C, H, W) → (N, C, 1, 1) (``adaptive_max_pool2d(x, 1)``)."""
    return adaptive_max_pool2d(x, 1)


def max_pool(x, kernel_size=None, stride=None, padding=0, dilation=1, ceil_mode=False,
             output_size=None):
    """Max pooling of x (N, C, L) or (N, C, H, W), by rank: sliding windows when
    ``kernel_size`` is given, adaptive bins when ``output_size`` is, else global
    (over all positions; keeps size-1 spatial axes).

    y = max over each window / bin / all positions; see ``max_pool1d``, ``max_pool2d``,
    ``adaptive_max_pool2d`` for the formulas and backward (a minigrad addition, not in PyTorch).
    Primitive (no introducing paper).
    """
    nd = _rank("max_pool", x)
    if kernel_size is not None:
        return (max_pool1d if nd == 1 else max_pool2d)(x, kernel_size, stride, padding,
                                                       dilation, ceil_mode)
    return (adaptive_max_pool1d if nd == 1 else adaptive_max_pool2d)(x, output_size or 1)


def avg_pool(x, kernel_size=None, stride=None, padding=0, ceil_mode=False,
             count_include_pad=True, output_size=None):
    """Average pooling of x (N, C, L) or (N, C, H, W), by rank: sliding windows when
    ``kernel_size`` is given, adaptive bins when ``output_size`` is, else global.

    y = mean over each window / bin / all positions; see ``avg_pool1d``, ``avg_pool2d``,
    ``adaptive_avg_pool2d`` for the formulas and backward (a minigrad addition, not in PyTorch).
    Primitive (no introducing paper).
    """
    nd = _rank("avg_pool", x)
    if kernel_size is not None:
        return (avg_pool1d if nd == 1 else avg_pool2d)(x, kernel_size, stride, padding,
                                                       ceil_mode, count_include_pad)
    return (adaptive_avg_pool1d if nd == 1 else adaptive_avg_pool2d)(x, output_size or 1)


def _rank(op, x):
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected x of shape (N, C, L) or (N, C, H, W), got {x.shape}")
    return x.ndim - 2


def _register_all():
    def grid(r, *shape):
        """A shuffled grid plus a little noise: values ≥ 0.17 apart, so no window has a tie."""
        return (r.permutation(math.prod(shape)).reshape(shape) + 0.3 * r.random(shape)) / 4

    register(max_pool2d, inputs=lambda r: [
        Case(grid(r, 2, 2, 4, 4), 2),
        Case(grid(r, 1, 2, 5, 5), 3, stride=2, padding=1),
        Case(grid(r, 1, 2, 5, 6), (2, 3), stride=1, dilation=(2, 1)),
        Case(grid(r, 1, 2, 5, 5), 2, ceil_mode=True)])
    register(max_pool1d, inputs=lambda r: [
        Case(grid(r, 2, 3, 8), 2),
        Case(grid(r, 1, 2, 9), 3, stride=2, padding=1),
        Case(grid(r, 1, 2, 9), 2, stride=2, dilation=2, ceil_mode=True)])
    register(avg_pool2d, inputs=lambda r: [
        Case(r.standard_normal((2, 2, 4, 4)), 2),
        Case(r.standard_normal((1, 2, 5, 5)), 3, stride=2, padding=1),
        Case(r.standard_normal((1, 2, 5, 5)), 3, stride=2, padding=1, count_include_pad=False),
        Case(r.standard_normal((1, 2, 5, 6)), 2, ceil_mode=True),
        Case(r.standard_normal((1, 2, 4, 4)), (2, 3), stride=1, divisor_override=4)])
    register(avg_pool1d, inputs=lambda r: [
        Case(r.standard_normal((2, 3, 8)), 2),
        Case(r.standard_normal((1, 2, 7)), 3, stride=2, padding=1, count_include_pad=False),
        Case(r.standard_normal((1, 2, 7)), 2, ceil_mode=True)])
    register(adaptive_avg_pool2d, inputs=lambda r: [
        Case(r.standard_normal((2, 2, 5, 7)), (3, 4)),
        Case(r.standard_normal((1, 3, 4, 4)), 1),
        Case(r.standard_normal((1, 2, 6, 5)), (None, 2))])
    register(adaptive_avg_pool1d, inputs=lambda r: [
        Case(r.standard_normal((2, 3, 7)), 3),
        Case(r.standard_normal((1, 2, 8)), 4)])


_register_all()
