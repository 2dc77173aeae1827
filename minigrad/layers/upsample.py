"""Resizing: ``F.interpolate`` and ``nn.Upsample`` (PyTorch's names, arguments and
source-index formulas) for (N, C, L), (N, C, H, W) and (N, C, D, H, W) inputs, in the modes
'nearest', 'nearest-exact' and 'linear' / 'bilinear' / 'trilinear'.

Every mode is separable: the output is the input resampled along each spatial axis in
turn, and along one axis every output position o reads at most two input positions,

    y[..., o, ...] = w0[o]·x[..., i0[o], ...] + w1[o]·x[..., i1[o], ...]

(nearest: w0 = 1, w1 = 0). ``Resample`` is that one-axis op; its backward is the adjoint,
the scatter-add of the weighted output gradient back to the positions read:
dx[..., i, ...] = Σ_{o: i0[o]=i} w0[o]·dy[..., o, ...] + Σ_{o: i1[o]=i} w1[o]·dy[..., o, ...].
"""
import math

import numpy

from minigrad.autograd import Function
from minigrad.backends import backend_of_array
from minigrad.layers.module import Module
from minigrad.ops._checks import check_floating
from minigrad.ops.indexing import _scatter_add
from minigrad.registry import Case, register

__all__ = ["interpolate", "upsample", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]

_LINEAR = {3: "linear", 4: "bilinear", 5: "trilinear"}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear")


class Resample(Function):
    """Resampling along one axis with at most two taps per output position:

        y[..., o, ...] = w0[o]·x[..., i0[o], ...] + w1[o]·x[..., i1[o], ...]

    (``i1``/``w1`` None for nearest modes). The map is linear in x, so its backward is its
    adjoint (transpose): ∂y[o]/∂x[i] = w0[o]·[i0[o] = i] + w1[o]·[i1[o] = i], hence

        dx[..., i, ...] = Σ_o (w0[o]·[i0[o] = i] + w1[o]·[i1[o] = i]) · dy[..., o, ...],

    a scatter-add of w·dy at the indices (repeated indices add up). The indices and weights
    depend only on the sizes (constants). ``differentiable_backward``: the backward is
    itself linear in dy and runs on tensors for second derivatives.
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, axis, i0, w0, i1, w1):
        xp = ctx.xp
        shape = [1] * x.ndim
        shape[axis] = i0.shape[0]
        y = xp.take(x, i0, axis=axis)
        if w0 is not None:
            y = y * w0.reshape(shape).astype(x.dtype, copy=False)
        if i1 is not None:
            y = y + xp.take(x, i1, axis=axis) * w1.reshape(shape).astype(x.dtype, copy=False)
        ctx.axis, ctx.in_shape, ctx.taps = axis, x.shape, (i0, w0, i1, w1)
        return y

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        i0, w0, i1, w1 = ctx.taps
        axis, shape = ctx.axis, ctx.in_shape
        g = xp.moveaxis(gy, axis, 0)
        moved = (shape[axis],) + tuple(shape[:axis]) + tuple(shape[axis + 1:])
        column = (i0.shape[0],) + (1,) * (len(shape) - 1)

        def weighted(w):
            return g if w is None else g * w.reshape(column).astype(gy.dtype, copy=False)

        gx = _scatter_add(ctx, moved, i0, weighted(w0))
        if i1 is not None:
            gx = gx + _scatter_add(ctx, moved, i1, weighted(w1))
        return xp.moveaxis(gx, 0, axis), None, None, None, None, None


# ------------------------------------------------------------------ source indices
def _scale(in_size, out_size, scale):
    """PyTorch's ``compute_scales_value``: 1/scale_factor when one is used, else in/out."""
    return 1.0 / scale if scale is not None and scale > 0 else in_size / out_size


def _nearest_taps(in_size, out_size, scale, exact):
    """src = min(⌊o·s⌋, in − 1) ('nearest', PyTorch's ``nearest_idx``, computed in float32
    as PyTorch does) or min(⌊(o + ½)·s⌋, in − 1) ('nearest-exact'), s = ``_scale``."""
    o = numpy.arange(out_size)
    if not exact and out_size == in_size:
        return o
    if not exact and out_size == 2 * in_size:
        return o >> 1
    s = numpy.float32(_scale(in_size, out_size, scale))
    pos = (o.astype(numpy.float32) + numpy.float32(0.5)) if exact else o.astype(numpy.float32)
    return numpy.minimum(numpy.floor(pos * s).astype(numpy.int64), in_size - 1)


def _linear_taps(in_size, out_size, scale, align_corners):
    """PyTorch's ``area_pixel_compute_source_index`` and ``compute_source_index_and_lambda``:

        align_corners:  src = o·(in − 1)/(out − 1)            (0 when out = 1)
        otherwise:      src = max(s·(o + ½) − ½, 0),  s = 1/scale_factor or in/out
        i0 = ⌊src⌋,  i1 = i0 + [i0 < in − 1],  λ1 = src − i0,  λ0 = 1 − λ1

    (the identity when out = in)."""
    o = numpy.arange(out_size)
    if out_size == in_size:
        return o, numpy.ones(out_size), o, numpy.zeros(out_size)
    if align_corners:
        s = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        src = s * o
    else:
        s = _scale(in_size, out_size, scale)
        src = numpy.maximum(s * (o + 0.5) - 0.5, 0.0)
    i0 = numpy.floor(src).astype(numpy.int64)
    i1 = i0 + (i0 < in_size - 1)
    lam1 = numpy.clip(src - i0, 0.0, 1.0)
    return i0, 1.0 - lam1, i1, lam1


# ------------------------------------------------------------------ functional
def _per_axis(value, n, name):
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"interpolate: {name} {tuple(value)} has {len(value)} entries for an "
                             f"input with {n} spatial dimensions")
        return tuple(value)
    return (value,) * n


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial axes of ``input`` (N, C, L), (N, C, H, W) or (N, C, D, H, W)
    (``torch.nn.functional.interpolate``), to ``size`` (an int or one per spatial axis) or by
    ``scale_factor`` (out = ⌊in · scale_factor⌋), one of them.

    Modes, per spatial axis with s = 1/scale_factor (or in/out when ``size`` is given or
    ``recompute_scale_factor=True``):
      'nearest'        y[o] = x[min(⌊o·s⌋, in − 1)]   (PyTorch's legacy rule, float32 index math)
      'nearest-exact'  y[o] = x[min(⌊(o + ½)·s⌋, in − 1)]   (matches scikit-image/PIL)
      'linear' (3-D), 'bilinear' (4-D), 'trilinear' (5-D):
                       y[o] = (1 − λ)·x[i0] + λ·x[i1], src = o·(in − 1)/(out − 1) with
                       ``align_corners=True``, else src = max(s·(o + ½) − ½, 0);
                       i0 = ⌊src⌋, i1 = min(i0 + 1, in − 1), λ = src − i0
    applied along each spatial axis in turn (bilinear = linear along H, then along W: the
    same weights w_h·w_w as PyTorch's 4-tap formula, up to rounding).

    Backward: the Function ``Resample`` (per axis, the scatter-add of the weighted output
    gradient: the adjoint of the linear map). Second derivatives: exact (the map is linear).
    Not supported (a clear error): 'bicubic', 'area', ``antialias=True``. ``align_corners``
    defaults to False for the linear modes and must stay None for the nearest modes.
    """
    op = "interpolate"
    check_floating(op, input=input)
    if mode not in _MODES:
        raise NotImplementedError(f"{op}: mode {mode!r} is not supported; accepted modes: "
                                  f"{', '.join(_MODES)}")
    if antialias:
        raise NotImplementedError(f"{op}: antialias=True is not supported")
    if input.ndim not in (3, 4, 5):
        raise ValueError(f"{op}: input must be 3-D (N, C, L), 4-D (N, C, H, W) or 5-D "
                         f"(N, C, D, H, W), got shape {tuple(input.shape)}")
    linear = mode in ("linear", "bilinear", "trilinear")
    if linear and _LINEAR[input.ndim] != mode:
        raise ValueError(f"{op}: mode {mode!r} needs a {_ndim_of(mode)}-D input; got shape "
                         f"{tuple(input.shape)} (use mode={_LINEAR[input.ndim]!r})")
    if not linear and align_corners is not None:
        raise ValueError(f"{op}: align_corners can only be set with the interpolating modes "
                         f"linear | bilinear | trilinear, not mode={mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: exactly one of size or scale_factor must be given, got "
                         f"size={size!r}, scale_factor={scale_factor!r}")
    spatial = tuple(input.shape[2:])
    n = len(spatial)
    if size is not None:
        out = tuple(int(s) for s in _per_axis(size, n, "size"))
        scales = (None,) * n
    else:
        scales = tuple(float(s) for s in _per_axis(scale_factor, n, "scale_factor"))
        if any(s <= 0 for s in scales):
            raise ValueError(f"{op}: scale_factor must be positive, got {scale_factor!r}")
        out = tuple(int(math.floor(i * s)) for i, s in zip(spatial, scales))
        if recompute_scale_factor:
            scales = (None,) * n
    if any(o <= 0 for o in out):
        raise ValueError(f"{op}: the output size {out} of an input of shape "
                         f"{tuple(input.shape)} must be positive in every spatial axis")
    backend = backend_of_array(input.data)
    y = input
    for k, (i, o, s) in enumerate(zip(spatial, out, scales)):
        if linear:
            i0, w0, i1, w1 = _linear_taps(i, o, s, bool(align_corners))
            if o == i:
                continue
            taps = (backend.asarray(i0), backend.asarray(w0), backend.asarray(i1),
                    backend.asarray(w1))
        else:
            idx = _nearest_taps(i, o, s, mode == "nearest-exact")
            if o == i and numpy.array_equal(idx, numpy.arange(i)):
                continue
            taps = (backend.asarray(idx), None, None, None)
        y = Resample.apply(y, 2 + k, *taps)
    return y if y is not input else input * 1


def _ndim_of(mode):
    return {v: k for k, v in _LINEAR.items()}[mode]


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """``F.upsample``: PyTorch's deprecated name of ``interpolate``: y = interpolate(x, size,
    scale_factor, mode, align_corners) (the formulas are there; backward: the Function
    ``Resample``)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


# ------------------------------------------------------------------ Modules
class Upsample(Module):
    """``nn.Upsample(size=None, scale_factor=None, mode='nearest', align_corners=None,
    recompute_scale_factor=None)``: y = ``F.interpolate(x, size, scale_factor, mode,
    align_corners)`` (the formulas are in ``interpolate``; backward: the Function
    ``Resample``, a scatter-add of the interpolation weights). No parameters.
    Learned networks upsample this way in Long, Shelhamer & Darrell 2015, "Fully
    Convolutional Networks for Semantic Segmentation" (bilinear) and Odena, Dumoulin & Olah
    2016, "Deconvolution and Checkerboard Artifacts" (nearest resize, then convolution)."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input):
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)

    def extra_repr(self):
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``nn.UpsamplingNearest2d(size=None, scale_factor=None)``: ``Upsample`` with mode
    'nearest' on (N, C, H, W) (y[h, w] = x[⌊h·s_h⌋, ⌊w·s_w⌋]; backward: ``Resample``);
    nearest resize-convolution: Odena, Dumoulin & Olah 2016, "Deconvolution and
    Checkerboard Artifacts"."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``nn.UpsamplingBilinear2d(size=None, scale_factor=None)``: ``Upsample`` with mode
    'bilinear' and ``align_corners=True`` (PyTorch's choice for this class):
    y[o] = (1 − λ)·x[i0] + λ·x[i0 + 1] per axis with src = o·(in − 1)/(out − 1);
    backward: ``Resample``. Bilinear upsampling layers: Long, Shelhamer & Darrell 2015,
    "Fully Convolutional Networks for Semantic Segmentation"."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


# ------------------------------------------------------------------ registry
def _register_all():
    def cases(r):
        n = r.standard_normal
        return [Case(n((2, 2, 3)), scale_factor=2),
                Case(n((1, 2, 3)), size=5, mode="linear"),
                Case(n((1, 2, 4)), size=7, mode="linear", align_corners=True),
                Case(n((1, 1, 3, 2)), size=(5, 3), mode="nearest"),
                Case(n((1, 2, 2, 3)), scale_factor=(1.5, 2.0), mode="bilinear"),
                Case(n((1, 1, 3, 3)), size=(4, 2), mode="bilinear", align_corners=True),
                Case(n((1, 1, 5, 4)), size=(3, 2), mode="bilinear"),
                Case(n((1, 1, 4, 3)), size=(3, 5), mode="nearest-exact"),
                Case(n((1, 1, 2, 2, 3)), scale_factor=2, mode="trilinear")]

    register(interpolate, kind="primitive", inputs=cases, module=Upsample, aliases=("upsample",))


_register_all()
