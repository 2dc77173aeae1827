"""PixelShuffle / sub-pixel convolution (catalog B009) and its inverse PixelUnshuffle."""
from minigrad.layers.module import Module
from minigrad.ops.shape import permute, reshape
from minigrad.registry import Case, register

__all__ = ["PixelShuffle", "PixelUnshuffle"]  # Modules; functions: minigrad.functional


def pixel_shuffle(x, upscale_factor):
    """(N, C·r², H, W) → (N, C, H·r, W·r):  y[n, c, h·r + i, w·r + j] = x[n, c·r² + i·r + j, h, w]
    (Shi et al. 2016, sub-pixel convolution; SRGAN's upsampling blocks). A permutation of the entries, done as
    reshape → permute → reshape, so the backward is the inverse permutation (pixel_unshuffle
    of dy), exact through the registered shape ops.

    Paper: Shi et al. 2016, "Real-Time Single Image and Video Super-Resolution Using an
    Efficient Sub-Pixel Convolutional Neural Network".
    """
    r = upscale_factor
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise ValueError(f"pixel_shuffle: {c} channels are not divisible by upscale_factor² = {r * r} "
                         f"(input of shape {x.shape})")
    k = len(lead)
    t = reshape(x, tuple(lead) + (c // (r * r), r, r, h, w))
    t = permute(t, *range(k), k, k + 3, k + 1, k + 4, k + 2)
    return reshape(t, tuple(lead) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(x, downscale_factor):
    """The inverse of ``pixel_shuffle``: (N, C, H·r, W·r) → (N, C·r², H, W).

    y[n, c·r² + i·r + j, h, w] = x[n, c, h·r + i, w·r + j]; backward: pixel_shuffle of dy.
    Paper: Shi et al. 2016, "Real-Time Single Image and Video Super-Resolution Using an
    Efficient Sub-Pixel Convolutional Neural Network".
    """
    r = downscale_factor
    *lead, c, hr, wr = x.shape
    if hr % r or wr % r:
        raise ValueError(f"pixel_unshuffle: spatial size {(hr, wr)} is not divisible by {r}")
    k = len(lead)
    t = reshape(x, tuple(lead) + (c, hr // r, r, wr // r, r))
    t = permute(t, *range(k), k, k + 2, k + 4, k + 1, k + 3)
    return reshape(t, tuple(lead) + (c * r * r, hr // r, wr // r))


class PixelShuffle(Module):
    """``PixelShuffle(upscale_factor)``: (N, C·r², H, W) → (N, C, H·r, W·r).

    y[n, c, h·r + i, w·r + j] = x[n, c·r² + i·r + j, h, w] (see ``F.pixel_shuffle``).
    Paper: Shi et al. 2016, "Real-Time Single Image and Video Super-Resolution Using an
    Efficient Sub-Pixel Convolutional Neural Network".
    """

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, x):
        return pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """``PixelUnshuffle(downscale_factor)``: (N, C, H·r, W·r) → (N, C·r², H, W).

    The inverse permutation of ``PixelShuffle`` (see ``F.pixel_unshuffle``).
    Paper: Shi et al. 2016, "Real-Time Single Image and Video Super-Resolution Using an
    Efficient Sub-Pixel Convolutional Neural Network".
    """

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, x):
        return pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


register(pixel_shuffle, kind="layer", catalog_id="B009", module=PixelShuffle,
         papers=["Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network"],
         inputs=lambda r: [Case(r.standard_normal((2, 8, 2, 3)), 2), Case(r.standard_normal((9, 1, 2)), 3)])
