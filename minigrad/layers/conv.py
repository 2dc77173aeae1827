"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose2d`` (catalog B002, B003);
the functions are in ``minigrad.ops.conv``."""
import math

from minigrad.backends import current
from minigrad.layers import init
from minigrad.layers.module import Module, Parameter
from minigrad.ops.conv import conv1d, conv2d, conv_nd, conv_transpose2d, ntuple
from minigrad.registry import Case, register

__all__ = ["Conv1d", "Conv2d", "ConvTranspose2d"]  # Modules; functions: minigrad.functional


class _ConvNd(Module):
    """What the convolution layers share: the weight (out, in/groups, *kernel) — or
    (in, out/groups, *kernel) for a transposed one —, the bias and PyTorch's init:
    W ~ kaiming_uniform(a=√5) = U(±1/√fan_in) and b ~ U(±1/√fan_in), with
    fan_in = weight.shape[1]·Πkernel."""
    nd = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, padding_mode, dtype, generator):
        super().__init__()
        name = type(self).__name__
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ntuple(kernel_size, self.nd, "kernel_size", name)
        self.stride = ntuple(stride, self.nd, "stride", name)
        self.dilation = ntuple(dilation, self.nd, "dilation", name)
        self.padding = padding if isinstance(padding, str) else ntuple(padding, self.nd, "padding",
                                                                       name, minimum=0)
        self.padding_mode = padding_mode
        shape = ((in_channels, out_channels // groups) if self.transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        xp = current().xp
        self.weight = Parameter(xp.empty(shape, dtype=dtype))
        self.register_parameter("bias", Parameter(xp.empty((out_channels,), dtype=dtype))
                                if bias else None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding not in ((0,) * self.nd, "valid"):
            s += f", padding={self.padding!r}"
        if self.dilation != (1,) * self.nd:
            s += f", dilation={self.dilation}"
        if getattr(self, "output_padding", (0,) * self.nd) != (0,) * self.nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + ("" if self.bias is not None else ", bias=False")


class Conv1d(_ConvNd):
    """``Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
    groups=1, bias=True)``: x (N, C_in, L) → (N, C_out, L_out). ``padding`` also takes
    'valid', 'same' and 'causal' (y[t] sees x[≤ t] only).

    y[n, o, t] = b[o] + Σ_{c, k} w[o, c, k]·x[n, c, s·t + d·k − pad]; backward: the Function
    ``Convolution`` (help(minigrad.ops.conv.Convolution)), see ``F.conv1d``.
    Paper: LeCun et al. 1989, "Backpropagation Applied to Handwritten Zip Code Recognition".
    """
    nd = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype="float32", generator=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype, generator)

    def forward(self, x):
        return conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups)


class Conv2d(_ConvNd):
    """``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
    groups=1, bias=True)``: x (N, C_in, H, W) → (N, C_out, H_out, W_out); ``padding`` also
    takes 'valid' and 'same'; groups=in_channels makes it depthwise.

    Backward: the Function ``Convolution`` (help(minigrad.ops.conv.Convolution)), see
    ``F.conv2d``. Paper: LeCun et al. 1989, "Backpropagation Applied to Handwritten Zip Code
    Recognition".
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype="float32", generator=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype, generator)

    def forward(self, x):
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups)


class ConvTranspose2d(_ConvNd):
    """``ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0,
    output_padding=0, groups=1, bias=True, dilation=1)``: the adjoint of Conv2d in x, a
    learned upsampling;
    H_out = (H − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1.

    Backward: the Function ``ConvolutionTranspose`` (help(minigrad.ops.conv.ConvolutionTranspose)),
    see ``F.conv_transpose2d``. Paper: Zeiler, Krishnan, Taylor & Fergus 2010,
    "Deconvolutional Networks".
    """
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 dtype="float32", generator=None):
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d: padding must be an int or a pair, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype, generator)
        self.output_padding = ntuple(output_padding, 2, "output_padding", "ConvTranspose2d",
                                     minimum=0)

    def forward(self, x):
        return conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                self.output_padding, self.groups, self.dilation)


_PAPERS_CONV = ["MgNO: Efficient Parameterization of Linear Operators via Multigrid",
                "Deep Residual Learning for Image Recognition",
                "Trellis Networks for Sequence Modeling",
                "Malware Detection by Eating a Whole EXE",
                "LSNet: See Large, Focus Small",
                "Balanced Mixture of SuperNets for Learning the CNN Pooling Architecture",
                "Learning Features with Parameter-Free Layers"]


def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    register(conv_nd, kind="layer", catalog_id="B002", module=Conv2d, papers=_PAPERS_CONV,
             inputs=lambda r: [
                 Case(n(r, 2, 3, 7), n(r, 2, 3, 3), n(r, 2), stride=2, padding=1),
                 Case(n(r, 1, 2, 6), n(r, 3, 2, 2), n(r, 3), padding="causal", dilation=2),
                 Case(n(r, 1, 2, 5, 5), n(r, 2, 2, 3, 3), n(r, 2), padding="same"),
                 Case(n(r, 1, 4, 5, 5), n(r, 4, 1, 3, 3), stride=2, padding=1, groups=4)])
    register(conv_transpose2d, kind="layer", catalog_id="B003", module=ConvTranspose2d,
             papers=["MgNO: Efficient Parameterization of Linear Operators via Multigrid"],
             inputs=lambda r: [
                 Case(n(r, 2, 2, 3, 3), n(r, 2, 3, 3, 3), n(r, 3)),
                 Case(n(r, 1, 2, 3, 2), n(r, 2, 2, 3, 3), n(r, 2), stride=2, padding=1,
                      output_padding=1),
                 Case(n(r, 1, 4, 2, 3), n(r, 4, 1, 2, 2), stride=(2, 1), groups=2, dilation=2),
                 Case(n(r, 1, 2, 2, 2), n(r, 2, 1, 2, 3), stride=2, output_padding=(1, 0),
                      padding=(0, 1))])


_register_all()
