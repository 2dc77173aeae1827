"""Region Normalization for image inpainting (catalog N014, N015): the basic form with a
given mask (``region_norm_b``, ``RegionNormB2d``) and the learnable form whose mask and
spatial affine map come from the features themselves (``region_norm_l``,
``RegionNormL2d``). Formulas from geekyutao/RN rn.py (RN_binarylabel, RN_B, RN_L).
"""
from minigrad.autograd import Function
from minigrad.creation import zeros
from minigrad.layers.module import Module, Parameter
from minigrad.layers.normalization._util import as_dtype
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["region_norm_b", "region_norm_l", "RegionNormB2d", "RegionNormL2d"]


def _region_stats(xp, x, m, n):
    """Per channel over (N, H, W) for the region m (1 inside): S = Σm (1 when empty, as
    the code), μ = Σ(x m)/S, v = Σ m (x − μ)²/n — the variance BatchNorm finds on the
    code's filled map, where outside pixels hold μ."""
    S = m.sum(axis=(0, 2, 3), keepdims=True)
    S = xp.where(S == 0, 1.0, S)
    mu = (x * m).sum(axis=(0, 2, 3), keepdims=True) / S
    c = x - mu
    v = (m * c * c).sum(axis=(0, 2, 3), keepdims=True) / n
    return S, c, v


class RegionNormFn(Function):
    """Region Normalization (Yu et al. 2020), as the official code computes it.

    Forward, for each region m ∈ {M, 1 − M} (M binary, a constant), per channel over
    (N, H, W) with n = N·H·W, S = Σ m:
        μ_m = Σ(x m)/S,  v_m = Σ m (x − μ_m)²/n,  a_m = √(S/n),  r_m = 1/√(v_m + ε),
        x̂ = Σ_m m·a_m·r_m·(x − μ_m)   (= m·(x − μ_m)/√(σ²_m + ε·n/S), σ²_m the region variance),
        y = Σ_m (m·x̂)·(1 + γ_m) + β_M + β_{1−M}   (RN-B's affine; γ, β absent in RN-L's core).
    This is the code's "fill the outside with μ_m, BatchNorm without affine, rescale by
    √(S/n)" trick written out; its bias adds both β's everywhere (the code does; the paper's
    equation masks them).

    Backward (m binary, so m² = m and Σ m (x − μ_m) = 0): ∂μ_m/∂x_i = m_i/S,
    ∂v_m/∂x_i = 2 m_i (x_i − μ_m)/n. With ĝ = dy·(1 + γ_m)·m:
        dx = Σ_m a_m·r_m·m·(ĝ − Σĝ/S − r_m²·(x − μ_m)·Σ(ĝ·(x − μ_m))/n)
    (BatchNorm's rule when m ≡ 1); dγ_m = Σ_{N,H,W} dy·m·x̂, dβ_m = Σ_{N,H,W} dy.
    """
    @staticmethod
    def forward(ctx, x, mask, gf, bf, gb, bb, eps):
        xp = ctx.xp
        N, C, H, W = x.shape
        n = N * H * W
        M = mask.astype(x.dtype)
        y = xp.zeros_like(x)
        for m, g in ((M, gf), (1 - M, gb)):
            S, c, v = _region_stats(xp, x, m, n)
            part = m * c * (xp.sqrt(S / n) / xp.sqrt(v + eps))
            y = y + (part if g is None else part * (1 + as_dtype(g, x.dtype).reshape(1, C, 1, 1)))
        for b in (bf, bb):
            if b is not None:
                y = y + as_dtype(b, x.dtype).reshape(1, C, 1, 1)
        ctx.save_for_backward(x, mask, gf, gb)
        ctx.eps = eps
        ctx.has_bias = (bf is not None, bb is not None)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, mask, gf, gb = ctx.saved_tensors
        xp = ctx.xp
        N, C, H, W = x.shape
        n = N * H * W
        M = mask.astype(x.dtype)
        dx = xp.zeros_like(x)
        grads = []
        for m, g in ((M, gf), (1 - M, gb)):
            S, c, v = _region_stats(xp, x, m, n)
            r = 1 / xp.sqrt(v + ctx.eps)
            a = xp.sqrt(S / n)
            gh = gy * m if g is None else gy * m * (1 + as_dtype(g, x.dtype).reshape(1, C, 1, 1))
            dx = dx + a * r * m * (gh - gh.sum(axis=(0, 2, 3), keepdims=True) / S
                                   - r * r * c * (gh * c).sum(axis=(0, 2, 3), keepdims=True) / n)
            grads.append((gy * m * c * a * r).sum(axis=(0, 2, 3)) if g is not None else None)
        db = gy.sum(axis=(0, 2, 3))
        bf, bb = ctx.has_bias
        return (dx, None, grads[0], db if bf else None, grads[1], db if bb else None, None)

    @staticmethod
    def composite(x, mask, gf, bf, gb, bb, eps):
        N, C, H, W = x.shape
        n = N * H * W
        M = Tensor._wrap((mask.data if isinstance(mask, Tensor) else mask).astype(x.dtype))
        y = None
        for m, g in ((M, gf), (1 - M, gb)):
            S_raw = m.data.sum(axis=(0, 2, 3), keepdims=True)
            S = Tensor(S_raw + (S_raw == 0))                  # a constant of the mask
            mu = (x * m).sum(axis=(0, 2, 3), keepdims=True) / S
            c = x - mu
            v = (m * c * c).sum(axis=(0, 2, 3), keepdims=True) / n
            part = m * c * (S / n).sqrt() / (v + eps).sqrt()
            if g is not None:
                part = part * (as_dtype(g, x.dtype).reshape(1, C, 1, 1) + 1)
            y = part if y is None else y + part
        for b in (bf, bb):
            if b is not None:
                y = y + as_dtype(b, x.dtype).reshape(1, C, 1, 1)
        return y


def _check_x(op, x):
    check_floating(op, x=x)
    if x.ndim != 4:
        raise ValueError(f"{op}: expected an input of shape (N, C, H, W), got shape {tuple(x.shape)}")


def region_norm_b(x, mask, foreground_gamma=None, foreground_beta=None, background_gamma=None,
                  background_beta=None, eps=1e-5):
    """Region Normalization, basic (RN-B): x (N, C, H, W) normalized separately inside the
    mask (1) and outside it (0), each region per channel over its own pixels of the whole
    batch, then a per-region affine map.

    x̂ = Σ_m m·(x − μ_m)/√(σ²_m + ε·n/S_m),  μ_m, σ²_m = mean and variance of x over the
    pixels of region m ∈ {M, 1 − M} (per channel, over N, H, W; S_m pixels, n = N·H·W);
    y = M·x̂·(1 + γ_f) + (1 − M)·x̂·(1 + γ_b) + β_f + β_b   (γ = β = 0 at initialization).
    Backward: BatchNorm's rule restricted to each region (the mask is a constant); the
    derivation is in ``RegionNormFn`` (help(minigrad.layers.normalization.region.RegionNormFn)).

    Arguments: ``region_norm_b(x, mask, foreground_gamma=None, foreground_beta=None,
    background_gamma=None, background_beta=None, eps=1e-5)``; ``mask`` (N, 1, h, w) or
    (N, C, H, W), binary (bool or 0/1), nearest-resized to (H, W) as the code does (after
    down-sampling a region may be empty: its count is taken as 1 and its output is 0).
    Deviation from the paper's equation, following the code (geekyutao/RN rn.py, RN_B):
    ε enters as ε·n/S_m (BatchNorm on the filled map, rescaled), and both β's are added at
    every pixel.
    Paper: Yu, Guo, Jin et al. 2020, "Region Normalization for Image
    Inpainting".
    """
    _check_x("region_norm_b", x)
    M = _mask_at(x, mask, "region_norm_b")
    C = x.shape[1]
    for name, t in (("foreground_gamma", foreground_gamma), ("foreground_beta", foreground_beta),
                    ("background_gamma", background_gamma), ("background_beta", background_beta)):
        if t is not None and tuple(t.shape) != (C,):
            raise ValueError(f"region_norm_b: {name} of shape {tuple(t.shape)} does not match the "
                             f"{C} channels of an input of shape {tuple(x.shape)}")
    return RegionNormFn.apply(x, M, foreground_gamma, foreground_beta, background_gamma,
                              background_beta, float(eps))


def _mask_at(x, mask, op):
    """The mask as a constant bool tensor (N, 1 or C, H, W) at x's size: nearest resize as
    the code (F.interpolate(mask, size, mode='nearest')); values must be 0/1."""
    from minigrad.autograd import no_grad
    from minigrad.layers.upsample import interpolate
    data = mask.data if isinstance(mask, Tensor) else mask
    if getattr(data, "ndim", 0) != 4 or data.shape[0] != x.shape[0] \
            or data.shape[1] not in (1, x.shape[1]):
        raise ValueError(f"{op}: mask of shape {tuple(getattr(data, 'shape', ()))} should be "
                         f"(N, 1, h, w) or (N, C, h, w) for an input of shape {tuple(x.shape)}")
    if data.dtype.kind != "b" and ((data != 0) & (data != 1)).any().item():
        raise ValueError(f"{op}: the mask must be binary (0/1 or bool)")
    m = data.astype(x.dtype)
    if tuple(m.shape[2:]) != tuple(x.shape[2:]):
        with no_grad():
            m = interpolate(Tensor._wrap(m), size=tuple(x.shape[2:]), mode="nearest").data
    return Tensor._wrap(m > 0.5)


class RegionNormB2d(Module):
    """Region Normalization, basic (RN-B), for (N, C, H, W) features and a binary mask.

    y = M·x̂·(1 + γ_f) + (1 − M)·x̂·(1 + γ_b) + β_f + β_b, x̂ normalized per region.
    ``RegionNormB2d(num_features, eps=1e-5)``; ``forward(x, mask)``. Parameters
    ``foreground_gamma``, ``foreground_beta``, ``background_gamma``, ``background_beta``
    (zeros, as the code). Backward: ``RegionNormFn`` (see ``F.region_norm_b``).
    Paper: Yu, Guo, Jin et al. 2020, "Region Normalization for Image
    Inpainting".
    """

    def __init__(self, num_features, eps=1e-5):
        super().__init__()
        self.num_features, self.eps = num_features, eps
        for name in ("foreground_gamma", "foreground_beta", "background_gamma", "background_beta"):
            setattr(self, name, Parameter(zeros(num_features)))

    def forward(self, x, mask):
        return region_norm_b(x, mask, self.foreground_gamma, self.foreground_beta,
                             self.background_gamma, self.background_beta, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}"


# ------------------------------------------------------------------ RN-L
def region_norm_l(x, weight, gamma_weight, gamma_bias, beta_weight, beta_bias, threshold=0.8,
                  eps=1e-5):
    """Region Normalization, learnable (RN-L): the regions come from a spatial importance
    map of the features themselves, and that map also gives a pixel-wise affine map.

    s = σ(conv_k([mean_C x, max_C x]; weight)),  M = 1[s ≥ threshold] (detached),
    x̂ = region-normalized x with M (as ``region_norm_b``, no per-region affine),
    γ = conv_k(s; gamma_weight, gamma_bias),  β = conv_k(s; beta_weight, beta_bias),
    y = x̂·(1 + γ) + β   (γ, β one value per pixel, shared by the channels).
    Backward: the region normalization by ``RegionNormFn``
    (help(minigrad.layers.normalization.region.RegionNormFn)); the threshold has zero
    derivative almost everywhere, so ``weight`` receives gradient only through γ and β
    (the convolutions, sigmoid, mean and max are minigrad's primitives; max_C routes the
    gradient to the largest channel). The mask is applied to every channel (the code
    expands it), so the region statistics are per channel over the same pixels.

    Arguments: ``region_norm_l(x, weight, gamma_weight, gamma_bias, beta_weight, beta_bias,
    threshold=0.8, eps=1e-5)``: ``weight`` (1, 2, k, k) without bias, the affine convs
    (1, 1, k, k) with biases (1,); k = 3 or 7 ('same' padding), 7 in the code.
    Formula: geekyutao/RN rn.py (SelfAware_Affine, RN_L).
    Paper: Yu, Guo, Jin et al. 2020, "Region Normalization for Image
    Inpainting".
    """
    from minigrad.ops.conv import conv2d
    from minigrad.ops.elementwise import sigmoid
    from minigrad.ops.reductions import amax
    from minigrad.ops.shape import cat
    _check_x("region_norm_l", x)
    k = weight.shape[-1]
    shapes = {"weight": ((1, 2, k, k), weight), "gamma_weight": ((1, 1, k, k), gamma_weight),
              "beta_weight": ((1, 1, k, k), beta_weight), "gamma_bias": ((1,), gamma_bias),
              "beta_bias": ((1,), beta_bias)}
    for name, (want, t) in shapes.items():
        if t is None or tuple(t.shape) != want:
            raise ValueError(f"region_norm_l: {name} should have shape {want} (kernel size {k}), "
                             f"got {None if t is None else tuple(t.shape)}")
    if k % 2 == 0:
        raise ValueError(f"region_norm_l: the kernel size must be odd ('same' padding), got {k}")
    pad = k // 2
    pooled = cat([x.mean(axis=1, keepdims=True), amax(x, axis=1, keepdims=True)], axis=1)
    s = sigmoid(conv2d(pooled, weight, None, padding=pad))
    mask = Tensor._wrap(s.data >= threshold)
    xhat = RegionNormFn.apply(x, mask, None, None, None, None, float(eps))
    gamma = conv2d(s, gamma_weight, gamma_bias, padding=pad)
    beta = conv2d(s, beta_weight, beta_bias, padding=pad)
    return xhat * (gamma + 1) + beta


class _SelfAwareAffine(Module):
    """The code's SelfAware_Affine: its three convolutions (the computation is in
    ``region_norm_l``)."""

    def __init__(self, kernel_size):
        super().__init__()
        from minigrad.layers.conv import Conv2d
        pad = kernel_size // 2
        self.conv1 = Conv2d(2, 1, kernel_size, padding=pad, bias=False)
        self.gamma_conv = Conv2d(1, 1, kernel_size, padding=pad)
        self.beta_conv = Conv2d(1, 1, kernel_size, padding=pad)


class RegionNormL2d(Module):
    """Region Normalization, learnable (RN-L), for (N, C, H, W) features.

    s = σ(conv([mean_C x, max_C x])), M = 1[s ≥ threshold], y = RN_M(x)·(1 + conv_γ(s)) + conv_β(s).
    ``RegionNormL2d(num_features, threshold=0.8, kernel_size=7, eps=1e-5)``; parameters
    ``sa.conv1.weight``, ``sa.gamma_conv.weight/bias``, ``sa.beta_conv.weight/bias`` (the
    code's names). Backward: ``RegionNormFn`` and the convolutions (see ``F.region_norm_l``).
    Paper: Yu, Guo, Jin et al. 2020, "Region Normalization for Image
    Inpainting".
    """

    def __init__(self, num_features, threshold=0.8, kernel_size=7, eps=1e-5):
        super().__init__()
        if kernel_size not in (3, 7):
            raise ValueError(f"RegionNormL2d: kernel_size must be 3 or 7 (as the code), got {kernel_size}")
        self.num_features, self.threshold, self.eps = num_features, threshold, eps
        self.sa = _SelfAwareAffine(kernel_size)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"RegionNormL2d({self.num_features}): expected an input of shape "
                             f"(N, {self.num_features}, H, W), got {tuple(x.shape)}")
        sa = self.sa
        return region_norm_l(x, sa.conv1.weight, sa.gamma_conv.weight, sa.gamma_conv.bias,
                             sa.beta_conv.weight, sa.beta_conv.bias, self.threshold, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, threshold={self.threshold}, eps={self.eps}"


# ------------------------------------------------------------------ registry
PAPERS = ["Region Normalization for Image Inpainting"]


def _register():
    import numpy as np
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731

    def rect_mask(r, N, h, w):
        m = np.zeros((N, 1, h, w), dtype=bool)
        for i in range(N):
            m[i, 0, r.integers(0, h // 2 + 1):, : r.integers(1, w)] = True
        return m

    register(region_norm_b, kind="normalization", catalog_id="N014", module=RegionNormB2d,
             papers=PAPERS,
             inputs=lambda r: [
                 Case(n(r, 2, 3, 4, 4), rect_mask(r, 2, 4, 4), n(r, 3), n(r, 3), n(r, 3), n(r, 3)),
                 Case(n(r, 2, 2, 3, 3), rect_mask(r, 2, 3, 3)),
                 # a mask at twice the feature size (nearest resize) and an empty region
                 Case(n(r, 1, 2, 2, 3), np.zeros((1, 1, 4, 6), dtype=bool), n(r, 2), n(r, 2),
                      n(r, 2), n(r, 2)),
                 Case(n(r, 1, 2, 3, 3), rect_mask(r, 1, 6, 6), n(r, 2), n(r, 2), n(r, 2), n(r, 2)),
             ])
    register(region_norm_l, kind="normalization", catalog_id="N015", module=RegionNormL2d,
             papers=PAPERS,
             inputs=lambda r: [
                 Case(n(r, 2, 3, 4, 4), n(r, 1, 2, 3, 3), n(r, 1, 1, 3, 3), n(r, 1),
                      n(r, 1, 1, 3, 3), n(r, 1), threshold=0.5),
                 Case(n(r, 1, 2, 3, 3), n(r, 1, 2, 7, 7) * 0.3, n(r, 1, 1, 7, 7) * 0.3, n(r, 1),
                      n(r, 1, 1, 7, 7) * 0.3, n(r, 1), threshold=0.5),
             ])


_register()
