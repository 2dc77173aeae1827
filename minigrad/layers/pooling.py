"""Pooling layers (catalog B004 max pooling, B005 average pooling); the functions are
in ``minigrad.ops.pooling``."""
import math

from minigrad.layers.module import Module
from minigrad.ops.pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d,
                                  adaptive_max_pool2d, avg_pool, avg_pool1d, avg_pool2d, max_pool,
                                  max_pool1d, max_pool2d)
from minigrad.registry import Case, register

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride or kernel_size, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """``MaxPool1d(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)`` on (N, C, L).

    y[n, c, i] = max_{t ∈ window(i)} x[n, c, t]; backward ``MaxPool`` (see ``F.max_pool1d``).
    """

    def forward(self, x):
        return max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode)


class MaxPool2d(_MaxPoolNd):
    """``MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)`` on (N, C, H, W).

    y[n, c, i, j] = max over window(i, j); backward ``MaxPool`` (see ``F.max_pool2d``).
    """

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode)


class _AvgPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride or kernel_size, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """``AvgPool1d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True)``.

    y[n, c, i] = (1/k) Σ_{t ∈ window(i)} x[n, c, t]; backward ``AvgPool`` (see ``F.avg_pool1d``).
    """

    def forward(self, x):
        return avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """``AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
    divisor_override=None)``.

    y[n, c, i, j] = mean over window(i, j); backward ``AvgPool`` (see ``F.avg_pool2d``).
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, x):
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)


class _AdaptivePool(Module):
    function = None

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return type(self).function(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePool):
    """``AdaptiveAvgPool1d(output_size)``: (N, C, L) → (N, C, output_size)."""
    function = staticmethod(adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptivePool):
    """``AdaptiveAvgPool2d(output_size)``: (N, C, H, W) → (N, C, *output_size);
    ``AdaptiveAvgPool2d(1)`` is global average pooling."""
    function = staticmethod(adaptive_avg_pool2d)


class AdaptiveMaxPool1d(_AdaptivePool):
    """``AdaptiveMaxPool1d(output_size)``: (N, C, L) → (N, C, output_size)."""
    function = staticmethod(adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptivePool):
    """``AdaptiveMaxPool2d(output_size)``: (N, C, H, W) → (N, C, *output_size)."""
    function = staticmethod(adaptive_max_pool2d)


_PAPERS_POOL = ["MgNO: Efficient Parameterization of Linear Operators via Multigrid",
                "Deep Residual Learning for Image Recognition",
                "Malware Detection by Eating a Whole EXE",
                "Learning Features with Parameter-Free Layers",
                "Balanced Mixture of SuperNets for Learning the CNN Pooling Architecture"]


def _register_all():
    def grid(r, *shape):
        """A shuffled grid plus a little noise: values ≥ 0.17 apart, so no window has a tie."""
        return (r.permutation(math.prod(shape)).reshape(shape) + 0.3 * r.random(shape)) / 4

    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    register(max_pool, kind="layer", catalog_id="B004", module=MaxPool2d, papers=_PAPERS_POOL,
             inputs=lambda r: [
                 Case(grid(r, 2, 2, 5, 5), 3, stride=2, padding=1),
                 Case(grid(r, 2, 3, 9), 3, stride=3),
                 Case(grid(r, 2, 3, 4, 5)),
                 Case(grid(r, 1, 2, 12)),
                 Case(grid(r, 1, 2, 5, 7), output_size=(2, 3))])
    register(avg_pool, kind="layer", catalog_id="B005", module=AvgPool2d,
             papers=_PAPERS_POOL + ["LSNet: See Large, Focus Small"],
             inputs=lambda r: [
                 Case(n(r, 2, 2, 5, 5), 3, stride=2, padding=1, count_include_pad=False),
                 Case(n(r, 2, 3, 8), 4),
                 Case(n(r, 2, 3, 4, 5)),
                 Case(n(r, 1, 2, 10)),
                 Case(n(r, 1, 2, 5, 7), output_size=(2, 3))])


_register_all()
