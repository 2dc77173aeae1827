"""Convolutions: ``conv1d``, ``conv2d`` (strided, padded — also 'same', 'valid' and
causal —, dilated, grouped/depthwise), their rank-dispatching form ``conv_nd``, and
``conv_transpose2d``.

All of them are one ``Function`` each over im2col + one batched matmul (Chellapilla,
Puri & Simard 2006, "High Performance Convolutional Neural Networks for Document
Processing"); a 1-D convolution is the 2-D one over a height-1 image. The unfolding
kernels live in ``minigrad/backends/kernels/conv_*.py``.
"""
import math
import threading

from minigrad.dtypes import check_same_dtype
from minigrad.autograd import Function
from minigrad.backends.kernels.conv_ref import conv_output_size
from minigrad.registry import Case, register

__all__ = ["conv1d", "conv2d", "conv_nd", "conv_transpose2d"]


class Convolution(Function):
    """Cross-correlation (PyTorch's convolution), NCHW, G groups of C/G input and O/G
    output channels:

        y[n, o, p, q] = b[o] + Σ_{c ∈ group(o), i, j} W[o, c, i, j] · x̃[n, c, p·sh + i·dh, q·sw + j·dw]

    with x̃ the zero-padded input. With cols = im2col(x) viewed as (N, G, K, L),
    K = (C/G)·kh·kw, L = OH·OW, and W viewed as (G, O/G, K), this is one batched matmul
    Y = W · cols. Its backward is the matmul rule plus the adjoint of im2col:

        dW = Σ_n dY[n] · cols[n]ᵀ,   dcols = Wᵀ · dY,   dx = col2im(dcols),   db = Σ_{n,p,q} dy

    (col2im adds every column entry back where im2col copied it from: each input
    element receives the gradient of every window that read it). Inputs of rank 3
    (N, C, L) run as (N, C, 1, L).

    The columns are K·L values per sample (9× x for a 3×3 kernel). Where they are
    larger than the backend's ``BATCH_BLOCK_BYTES`` (conv kernels; None on the GPU: no
    limit) they are made a block of samples at a time into one buffer that stays in the
    CPU's cache through the matmuls, and the backward unfolds x again rather than keep
    them all: writing them to memory and reading them back costs more than a second
    im2col. Columns that fit in one block are kept for the backward, as before.
    """
    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        xp = ctx.xp
        x4, w4 = _image(x), _image(weight)
        n, c, h, w = x4.shape
        o, cg, kh, kw = w4.shape
        pointwise = (kh, kw) == (1, 1) and stride == (1, 1) and padding == ((0, 0), (0, 0))
        wg = w4.reshape(groups, o // groups, cg * kh * kw)   # sizes, not −1: any may be 0
        needs = ctx.needs_input_grad           # empty when nothing is recorded
        saved = x if needs and needs[1] else None
        if pointwise:                       # a 1×1 convolution needs no unfolding
            y = xp.matmul(wg, xp.ascontiguousarray(x4).reshape(n, groups, cg, h * w))
            y = y.reshape(n, o, h, w)
            if bias is not None:
                y += bias.reshape(o, 1, 1)
        else:
            ctx.unfold = unfold = _Unfold(ctx, x4.shape, x.itemsize, (kh, kw), stride, padding,
                                          dilation, groups)
            y = xp.empty((n, groups, o // groups, unfold.length), dtype=xp.result_type(x, weight))
            for start, stop in unfold.blocks:
                cols = unfold.im2col(x4, start, stop)
                block = xp.matmul(wg, cols, out=y[start:stop])
                if bias is not None:            # while the block is in cache
                    block += bias.reshape(groups, o // groups, 1)
            if saved is not None and len(unfold.blocks) == 1:
                saved = cols                    # (N, G, K, L): no second im2col
            unfold.release()
            y = y.reshape((n, o) + unfold.out_hw)
        ctx.cols_saved = saved is not None and saved is not x
        ctx.geometry = (x4.shape, x.shape, pointwise, groups)
        ctx.save_for_backward(saved, weight)
        return y if x.ndim == 4 else y.reshape(n, o, y.shape[3])

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        saved, weight = ctx.saved_tensors
        x4_shape, x_shape, pointwise, groups = ctx.geometry
        w4 = _image(weight)
        n, c, h, w = x4_shape
        o, cg, kh, kw = w4.shape
        gy = xp.ascontiguousarray(gy).reshape(n, groups, o // groups, math.prod(gy.shape[2:]))
        wt = w4.reshape(groups, o // groups, cg * kh * kw).transpose(0, 2, 1)     # (G, K, O/G)
        needs = ctx.needs_input_grad
        gx = gwt = None
        if pointwise:
            if needs[0]:
                gx = xp.matmul(wt, gy).reshape(x_shape)
            if needs[1]:
                cols = xp.ascontiguousarray(_image(saved)).reshape(n, groups, cg, h * w)
                gwt = xp.matmul(cols, gy.transpose(0, 1, 3, 2)).sum(axis=0)
        else:
            unfold = ctx.unfold
            gx4 = xp.empty(x4_shape, dtype=xp.result_type(gy, weight)) if needs[0] else None
            for start, stop in unfold.blocks:
                g = gy[start:stop]
                if needs[1]:            # dWᵀ = Σ_n cols[n]·dY[n]ᵀ, (G, K, O/G): the faster layout
                    cols = saved if ctx.cols_saved else unfold.im2col(_image(saved), start, stop)
                    part = xp.matmul(cols, g.transpose(0, 1, 3, 2)).sum(axis=0)
                    gwt = part if gwt is None else xp.add(gwt, part, out=gwt)
                if needs[0]:
                    gcols = xp.matmul(wt, g, out=unfold.buffer(start, stop, gx4.dtype))
                    unfold.col2im(gcols, gx4, start, stop)
            unfold.release()
            gx = None if gx4 is None else gx4.reshape(x_shape)
        gw = None if gwt is None else gwt.transpose(0, 2, 1).reshape(weight.shape)
        # over samples first, then positions: NumPy reduces a leading axis far faster than (0, 3)
        gb = gy.sum(axis=0).sum(axis=-1).reshape(o) if needs[2] else None
        return gx, gw, gb

    @staticmethod
    def composite(x, weight, bias, stride, padding, dilation, groups):
        from minigrad.ops.linalg import einsum
        x4, w4 = _image(x), _image(weight)
        n, o = x4.shape[0], w4.shape[0]
        cg, kh, kw = w4.shape[1:]
        wg = w4.reshape(groups, o // groups, cg, kh, kw)
        y = None
        for i, j, window in windows(x4, (kh, kw), stride, padding, dilation):
            term = einsum("ngcpq,goc->ngopq",
                          window.reshape((n, groups, cg) + window.shape[2:]), wg[:, :, :, i, j])
            y = term if y is None else y + term
        y = y.reshape((n, o) + y.shape[3:])
        if bias is not None:
            y = y + bias.reshape(o, 1, 1)
        return y if x.ndim == 4 else y.reshape(n, o, y.shape[3])



class _Scratch(threading.local):
    """One column buffer per dtype and thread, kept from call to call for convolutions that
    unfold in blocks: their columns are scratch (never saved for the backward), and a fresh
    multi-megabyte buffer each call would be page-faulted in again every time."""
    def __init__(self):
        self.arrays = {}

    def get(self, xp, dtype, count):
        key = (xp.__name__, dtype)
        array = self.arrays.get(key)
        if array is None or array.size < count:
            array = self.arrays[key] = xp.empty(count, dtype=dtype)
        return array[:count]


_scratch = _Scratch()


class _Unfold:
    """im2col and col2im over blocks of samples: ``blocks`` holds (start, stop) pairs
    of about ``BATCH_BLOCK_BYTES`` of columns each (the whole batch where that is None),
    and every block goes through one column buffer, viewed as (samples, G, K, L): the
    thread's ``_scratch`` buffer when there are several blocks (the columns are then never
    kept), else a buffer of this call's own (its columns may be saved for the backward)."""

    def __init__(self, ctx, x_shape, itemsize, kernel_size, stride, padding, dilation, groups):
        self.kernels, self.xp, self.groups = ctx.backend.kernels("conv"), ctx.xp, groups
        self.geometry = (kernel_size, stride, padding, dilation)
        n, c, h, w = x_shape
        self.x_sample = (c, h, w)
        self.out_hw = (conv_output_size(h, kernel_size[0], stride[0], padding[0], dilation[0]),
                       conv_output_size(w, kernel_size[1], stride[1], padding[1], dilation[1]))
        self.length = self.out_hw[0] * self.out_hw[1]
        self.sample_shape = (c,) + tuple(kernel_size) + self.out_hw
        limit = self.kernels.BATCH_BLOCK_BYTES
        total = n * c * kernel_size[0] * kernel_size[1] * self.length * itemsize
        if not limit or total <= limit:
            self.blocks = [(0, n)]
        else:
            size = -(-n // min(n, -(-total // limit)))
            self.blocks = [(s, min(n, s + size)) for s in range(0, n, size)]
        self._buffers = {}                  # by dtype: x's and the gradient's may differ

    def release(self):
        """Drop the column buffers (the forward is done; the backward makes its own)."""
        self._buffers = {}

    def buffer(self, start, stop, dtype):
        """The column buffer for samples [start, stop), as (stop − start, G, K, L)."""
        buf = self._buffers.get(dtype)
        if buf is None:
            shape = (self.blocks[0][1],) + self.sample_shape
            if len(self.blocks) > 1:
                buf = _scratch.get(self.xp, dtype, math.prod(shape)).reshape(shape)
            else:
                buf = self.xp.empty(shape, dtype=dtype)
            self._buffers[dtype] = buf
        k = math.prod(self.sample_shape) // (self.groups * self.length or 1)
        return buf[:stop - start].reshape(stop - start, self.groups, k, self.length)

    def im2col(self, x4, start, stop):
        cols = self.buffer(start, stop, x4.dtype)
        self.kernels.im2col(x4[start:stop], *self.geometry,
                            out=cols.reshape((stop - start,) + self.sample_shape))
        return cols

    def col2im(self, cols, x4, start, stop):
        _, stride, padding, dilation = self.geometry
        self.kernels.col2im(cols.reshape((stop - start,) + self.sample_shape),
                            (stop - start,) + self.x_sample, stride, padding, dilation,
                            out=x4[start:stop])


class ConvolutionTranspose(Function):
    """Transposed convolution (the adjoint of ``Convolution`` in x, "deconvolution";
    Zeiler et al. 2010, "Deconvolutional Networks"; Dumoulin & Visin 2016, "A guide to
    convolution arithmetic for deep learning"), weight (C_in, C_out/G, kh, kw):

        y = col2im(Wᵀ · x),  i.e.  y[n, o', p·s − pad + i·d, ...] += Σ_c W[c, o, i, j] · x[n, c, p, ...]

    (o' = g·C_out/G + o, c over group g) onto an output of size (H − 1)·s − 2·pad + d·(k − 1) + output_padding + 1. Being
    linear with conv2d as its adjoint, its backward is a convolution:

        dcols = im2col(dy),   dx = W · dcols,   dW = Σ_n x[n] · dcols[n]ᵀ,   db = Σ dy
    """
    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, output_padding, dilation, groups):
        xp, kernels = ctx.xp, ctx.backend.kernels("conv")
        n, c, h, w = x.shape
        _, og, kh, kw = weight.shape
        out_c = og * groups
        out_hw = tuple((size - 1) * s - 2 * p + d * (k - 1) + op + 1 for size, s, p, d, k, op
                       in zip((h, w), stride, padding, dilation, (kh, kw), output_padding))
        pads = tuple((p, p + op) for p, op in zip(padding, output_padding))
        wg = weight.reshape(groups, c // groups, og * kh * kw)
        cols = xp.matmul(wg.transpose(0, 2, 1), x.reshape(n, groups, c // groups, h * w))
        y = kernels.col2im(cols.reshape(n, out_c, kh, kw, h, w), (n, out_c) + out_hw,
                           stride, pads, dilation)
        if bias is not None:
            y += bias.reshape(out_c, 1, 1)
        ctx.geometry = (stride, pads, dilation, groups)
        ctx.save_for_backward(x, weight)
        return y

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        x, weight = ctx.saved_tensors
        stride, pads, dilation, groups = ctx.geometry
        n, c, h, w = x.shape
        _, og, kh, kw = weight.shape
        gcols = ctx.backend.kernels("conv").im2col(gy, (kh, kw), stride, pads, dilation)
        if gcols.shape[4:] != (h, w):       # output_padding ≥ stride adds unread rows
            gcols = xp.ascontiguousarray(gcols[..., :h, :w])
        gcols = gcols.reshape(n, groups, og * kh * kw, h * w)
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            wg = weight.reshape(groups, c // groups, og * kh * kw)
            gx = xp.matmul(wg, gcols).reshape(x.shape)
        if ctx.needs_input_grad[1]:
            xg = x.reshape(n, groups, c // groups, h * w)
            gw = xp.matmul(xg, gcols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(weight.shape)
        if ctx.needs_input_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return gx, gw, gb

    @staticmethod
    def composite(x, weight, bias, stride, padding, output_padding, dilation, groups):
        """conv2d's adjoint as a convolution: x spread out by the stride (zeros between),
        padded by d·(k − 1) − p (plus output_padding after), convolved at stride 1 with
        the flipped kernel, input and output channels exchanged within each group."""
        from minigrad.ops.indexing import ScatterAdd
        from minigrad.ops.shape import flip, pad
        n, c, h, w = x.shape
        _, og, kh, kw = weight.shape
        (sh, sw), (dh, dw) = stride, dilation
        spread = ScatterAdd.apply(x, (n, c, (h - 1) * sh + 1, (w - 1) * sw + 1),
                                  (slice(None), slice(None), slice(None, None, sh),
                                   slice(None, None, sw)))
        edges = [(d * (k - 1) - p, d * (k - 1) - p + op) for d, k, p, op
                 in zip(dilation, (kh, kw), padding, output_padding)]
        spread = pad(spread, ((0, 0), (0, 0)) + tuple((max(a, 0), max(b, 0)) for a, b in edges))
        spread = spread[(slice(None), slice(None)) + tuple(
            slice(max(-a, 0), spread.shape[2 + k] - max(-b, 0)) for k, (a, b) in enumerate(edges))]
        w_t = flip(weight.reshape(groups, c // groups, og, kh, kw), (3, 4))
        w_t = w_t.transpose(0, 2, 1, 3, 4).reshape(groups * og, c // groups, kh, kw)
        return Convolution.composite(spread, w_t, bias, (1, 1), ((0, 0), (0, 0)), dilation,
                                     groups)



def windows(x4, kernel_size, stride, padding, dilation, value=0.0):
    """(i, j, x̃[:, :, window (i, j) of every output position]) for each kernel offset, with
    x̃ the padded tensor: the composite forms of convolution and pooling, from primitives
    (a padding and strided slices) that ``create_graph=True`` differentiates."""
    from minigrad.backends.kernels.pool_ref import _window_slice
    from minigrad.ops.shape import pad
    out = tuple(conv_output_size(size, k, s, p, d) for size, k, s, p, d
                in zip(x4.shape[2:], kernel_size, stride, padding, dilation))
    padded = pad(x4, ((0, 0), (0, 0)) + tuple(padding), value=value)
    for i in range(kernel_size[0]):
        for j in range(kernel_size[1]):
            yield i, j, padded[_window_slice(i, j, out, stride, dilation)]


def _image(a):
    """A rank-3 array (N, C, L) as the height-1 image (N, C, 1, L); rank 4 as is."""
    return a if a.ndim == 4 else a.reshape(a.shape[0], a.shape[1], 1, a.shape[2])


# ------------------------------------------------------------------ argument checks
def ntuple(value, n, name, op, minimum=1):
    """``value`` (an int or a sequence of n ints) as an n-tuple of ints ≥ ``minimum``."""
    t = (value,) * n if isinstance(value, int) else tuple(value)
    if len(t) != n or not all(isinstance(v, int) and v >= minimum for v in t):
        raise ValueError(f"{op}: {name} must be an int ≥ {minimum} or {n} of them, got {value!r}")
    return t


def _padding(op, padding, kernel_size, stride, dilation):
    """(before, after) per spatial axis from an int, a tuple, 'valid', 'same' or
    'causal' (1-D only: everything before, so y[t] sees only x[≤ t])."""
    nd = len(kernel_size)
    if isinstance(padding, str):
        span = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
        if padding == "valid":
            return ((0, 0),) * nd
        if padding in ("same", "causal") and any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='{padding}' needs stride 1, got stride {stride}")
        if padding == "same":       # odd remainder after, like PyTorch
            return tuple((t // 2, t - t // 2) for t in span)
        if padding == "causal" and nd == 1:
            return ((span[0], 0),)
        allowed = "an int, a tuple, 'valid', 'same'" + (" or 'causal'" if nd == 1 else "")
        raise ValueError(f"{op}: padding must be {allowed}, got {padding!r}")
    return tuple((p, p) for p in ntuple(padding, nd, "padding", op, minimum=0))


def _conv_args(op, nd, x, weight, bias, stride, padding, dilation, groups):
    """Check shapes and normalise the arguments to the 2-D form ``Convolution`` takes."""
    check_same_dtype(op, x, weight, bias)
    layout = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
    if x.ndim != nd + 2:
        raise ValueError(f"{op}: expected x of shape {layout}, got shape {x.shape}")
    if weight.ndim != nd + 2:
        raise ValueError(f"{op}: expected a weight of shape (out_channels, in_channels/groups, "
                         f"{'k' if nd == 1 else 'kh, kw'}), got shape {weight.shape}")
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    c, o = x.shape[1], weight.shape[0]
    if c % groups or o % groups:
        raise ValueError(f"{op}: groups={groups} must divide both the {c} input channels of x "
                         f"{x.shape} and the {o} output channels of weight {weight.shape}")
    if weight.shape[1] * groups != c:
        raise ValueError(f"{op}: x of shape {x.shape} has {c} channels, but weight of shape "
                         f"{weight.shape} with groups={groups} expects {weight.shape[1] * groups}")
    if bias is not None and tuple(bias.shape) != (o,):
        raise ValueError(f"{op}: bias of shape {bias.shape} for {o} output channels "
                         f"(weight {weight.shape}); expected ({o},)")
    kernel = tuple(weight.shape[2:])
    stride = ntuple(stride, nd, "stride", op)
    dilation = ntuple(dilation, nd, "dilation", op)
    pads = _padding(op, padding, kernel, stride, dilation)
    for size, k, p, d in zip(x.shape[2:], kernel, pads, dilation):
        if size + p[0] + p[1] < d * (k - 1) + 1:
            raise ValueError(f"{op}: kernel {kernel} (dilation {dilation}) is larger than the "
                             f"padded input: x of shape {x.shape} with padding {pads}")
    if nd == 1:
        return (1,) + stride, ((0, 0),) + pads, (1,) + dilation
    return stride, pads, dilation


# ------------------------------------------------------------------ functional
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (``torch.nn.functional.conv2d``): x (N, C, H, W), weight
    (O, C/groups, kh, kw), bias (O,) or None; ``padding`` an int, a pair, 'valid' or
    'same' (stride 1; the odd remainder goes after, as in PyTorch). Returns (N, O, OH, OW).

    y[n, o, i, j] = b[o] + Σ_{c, p, q} w[o, c, p, q]·x[n, g(o)·C/G + c, s·i + d·p − pad, s·j + d·q − pad]
    (a cross-correlation, as in every framework). Backward: dx is the transposed convolution
    of dy with w, dw the correlation of x with dy, db = Σ dy; derivation in ``Convolution``
    (help(minigrad.ops.conv.Convolution)). Paper: LeCun et al. 1989, "Backpropagation Applied
    to Handwritten Zip Code Recognition".
    """
    s, p, d = _conv_args("conv2d", 2, x, weight, bias, stride, padding, dilation, groups)
    return Convolution.apply(x, weight, bias, s, p, d, groups)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (``torch.nn.functional.conv1d``): x (N, C, L), weight (O, C/groups, k).
    ``padding`` as in conv2d, plus 'causal': d·(k−1) zeros before and none after, so
    that y[t] depends on x[≤ t] only (WaveNet, TCN and TrellisNet layers).

    y[n, o, t] = b[o] + Σ_{c, k} w[o, c, k]·x[n, c, s·t + d·k − pad]. Backward: ``Convolution``
    (help(minigrad.ops.conv.Convolution)). Paper: LeCun et al. 1989, "Backpropagation Applied
    to Handwritten Zip Code Recognition"; causal padding: van den Oord et al. 2016, "WaveNet:
    A Generative Model for Raw Audio".
    """
    s, p, d = _conv_args("conv1d", 1, x, weight, bias, stride, padding, dilation, groups)
    return Convolution.apply(x, weight, bias, s, p, d, groups)


def conv_nd(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Convolution 1-D or 2-D by the rank of x: (N, C, L) → ``conv1d`` (``padding='causal'``
    allowed), (N, C, H, W) → ``conv2d``.

    Backward: ``Convolution`` (help(minigrad.ops.conv.Convolution)). Paper: LeCun et al.
    1989, "Backpropagation Applied to Handwritten Zip Code Recognition". Not in PyTorch.
    """
    if x.ndim == 3:
        return conv1d(x, weight, bias, stride, padding, dilation, groups)
    if x.ndim == 4:
        return conv2d(x, weight, bias, stride, padding, dilation, groups)
    raise ValueError(f"conv_nd: expected x of shape (N, C, L) or (N, C, H, W), got {x.shape}")


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution (``torch.nn.functional.conv_transpose2d``): x (N, C_in, H, W),
    weight (C_in, C_out/groups, kh, kw); output size (H − 1)·s − 2·padding + d·(k − 1) +
    output_padding + 1 per axis (output_padding < stride or < dilation picks among the
    input sizes that conv2d maps to H).

    y = conv2dᵀ(x): the adjoint of ``conv2d`` with the same weight, so
    ⟨conv_transpose2d(x, w), z⟩ = ⟨x, conv2d(z, w)⟩; H_out = (H − 1)·s − 2·pad + d·(k − 1) +
    output_padding + 1. Backward: ``ConvolutionTranspose``
    (help(minigrad.ops.conv.ConvolutionTranspose)). Paper: Zeiler, Krishnan, Taylor & Fergus
    2010, "Deconvolutional Networks".
    """
    op = "conv_transpose2d"
    check_same_dtype(op, x, weight, bias)
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"{op}: expected x (N, C_in, H, W) and weight (C_in, C_out/groups, "
                         f"kh, kw), got shapes {x.shape} and {weight.shape}")
    if not isinstance(groups, int) or groups < 1 or x.shape[1] % groups:
        raise ValueError(f"{op}: groups={groups!r} must be a positive int dividing the "
                         f"{x.shape[1]} channels of x {x.shape}")
    if weight.shape[0] != x.shape[1]:
        raise ValueError(f"{op}: x of shape {x.shape} has {x.shape[1]} channels, but weight of "
                         f"shape {weight.shape} expects {weight.shape[0]} (weight is "
                         f"(C_in, C_out/groups, kh, kw))")
    out_c = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (out_c,):
        raise ValueError(f"{op}: bias of shape {bias.shape} for {out_c} output channels; "
                         f"expected ({out_c},)")
    stride = ntuple(stride, 2, "stride", op)
    dilation = ntuple(dilation, 2, "dilation", op)
    padding = ntuple(padding, 2, "padding", op, minimum=0)
    output_padding = ntuple(output_padding, 2, "output_padding", op, minimum=0)
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ >= s and op_ >= d:
            raise ValueError(f"{op}: output_padding {output_padding} must be smaller than "
                             f"the stride {stride} or the dilation {dilation}")
    for size, k, s, p, d, o in zip(x.shape[2:], weight.shape[2:], stride, padding, dilation,
                                   output_padding):
        if (size - 1) * s - 2 * p + d * (k - 1) + o + 1 < 1:
            raise ValueError(f"{op}: padding {padding} leaves no output for x of shape "
                             f"{x.shape} and weight {weight.shape}")
    return ConvolutionTranspose.apply(x, weight, bias, stride, padding, output_padding,
                                      dilation, groups)


def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    register(conv2d, inputs=lambda r: [
        Case(n(r, 2, 2, 5, 5), n(r, 3, 2, 3, 3), n(r, 3)),
        Case(n(r, 1, 2, 6, 5), n(r, 2, 2, 3, 2), stride=2, padding=1),
        Case(n(r, 1, 2, 6, 6), n(r, 2, 2, 2, 3), n(r, 2), padding=(2, 1), dilation=2),
        Case(n(r, 1, 4, 4, 5), n(r, 4, 2, 2, 2), n(r, 4), stride=(1, 2), groups=2),
        Case(n(r, 1, 3, 5, 5), n(r, 3, 1, 3, 3), n(r, 3), padding="same", groups=3),
        Case(n(r, 1, 2, 5, 4), n(r, 2, 2, 2, 2), padding="same", dilation=(1, 2)),
        Case(n(r, 2, 3, 3, 3), n(r, 4, 3, 1, 1), n(r, 4), padding="valid")])
    register(conv1d, inputs=lambda r: [
        Case(n(r, 2, 3, 7), n(r, 4, 3, 3), n(r, 4)),
        Case(n(r, 2, 2, 8), n(r, 3, 2, 3), stride=2, padding=1),
        Case(n(r, 1, 2, 9), n(r, 2, 2, 2), n(r, 2), padding="same", dilation=3),
        Case(n(r, 1, 4, 6), n(r, 4, 1, 3), n(r, 4), padding="causal", groups=4),
        Case(n(r, 1, 4, 7), n(r, 2, 2, 4), groups=2, dilation=2)])


_register_all()
