"""Residual blocks: basic / bottleneck / SRResNet (catalog B011), pre-activation (B012),
wide (B013), and the normalization-free Fixup block (B018).

Each functional form (``residual_block``, ``preact_residual_block``, ``wide_residual_block``)
takes the block's weights explicitly and uses batch statistics (training-mode BN); the
Modules hold ``Conv2d``/``BatchNorm2d`` children (torchvision's names: ``conv1``, ``bn1``, ...,
``downsample``), so they also run in eval mode with running statistics. Every backward is
the exact derivative through the registered ops: at the addition the gradient fans out to
the branch and to the skip path, and the engine adds what comes back.
"""
from minigrad.layers.dropout import Dropout
from minigrad.layers.module import Identity, Module, Parameter, Sequential
from minigrad.ops.random import dropout
from minigrad.ops.shape import pad
from minigrad.registry import Case, register

__all__ = ["BasicBlock", "Bottleneck", "SRResNetBlock", "PreActBlock", "WideBasic",
           "FixupBasicBlock"]

_RESNET = "Deep Residual Learning for Image Recognition"


def _nn(name):
    """A layer or function of the other families (Conv2d, BatchNorm2d, relu, batch_norm...),
    looked up when first needed."""
    import minigrad.functional as F
    import minigrad.layers as layers
    return getattr(layers, name) if name[:1].isupper() else getattr(F, name)


def _bn(x, weight, bias):
    return _nn("batch_norm")(x, None, None, weight, bias, training=True)


def _conv(x, weight, stride=1):
    k = weight.shape[-1]
    return _nn("conv2d")(x, weight, None, stride, k // 2)


def _relu(x):
    return _nn("relu")(x)


def shortcut_option_a(x, out_channels, stride):
    """CIFAR ResNet option A: subsample by ``stride`` and zero-pad the new channels
    (parameter-free; its backward is the slice and the cut-off padding)."""
    if stride > 1:
        x = x[:, :, ::stride, ::stride]
    extra = out_channels - x.shape[1]
    if extra < 0:
        raise ValueError(f"shortcut option A cannot reduce {x.shape[1]} channels to {out_channels}")
    if extra:
        x = pad(x, ((0, 0), (extra // 2, extra - extra // 2), (0, 0), (0, 0)))
    return x


def residual_block(x, conv1_weight, bn1_weight, bn1_bias, conv2_weight, bn2_weight, bn2_bias,
                   shortcut_weight=None, shortcut_bn_weight=None, shortcut_bn_bias=None, stride=1):
    """Basic residual block (He et al. 2016, "Deep Residual Learning for Image Recognition"):

        y = ReLU(BN₂(conv3×3(ReLU(BN₁(conv3×3_stride(x))))) + S(x))

    S = identity when the shape is kept; a projection BN(conv1×1_stride(x)) (option B) when
    ``shortcut_weight`` is given; else, when the shape changes, option A (subsample and
    zero-pad channels). BN uses batch statistics. dy reaches x through both paths and the
    engine sums the two (fan-out).
    """
    out = _relu(_bn(_conv(x, conv1_weight, stride), bn1_weight, bn1_bias))
    out = _bn(_conv(out, conv2_weight), bn2_weight, bn2_bias)
    if shortcut_weight is not None:
        sc = _bn(_conv(x, shortcut_weight, stride), shortcut_bn_weight, shortcut_bn_bias)
    elif stride != 1 or conv2_weight.shape[0] != x.shape[1]:
        sc = shortcut_option_a(x, conv2_weight.shape[0], stride)
    else:
        sc = x
    return _relu(out + sc)


def _preact(x, bn1_weight, bn1_bias, conv1_weight, bn2_weight, bn2_bias, conv2_weight,
            shortcut_weight, stride, dropout_p, generator):
    a = _relu(_bn(x, bn1_weight, bn1_bias))
    out = _relu(_bn(_conv(a, conv1_weight, stride), bn2_weight, bn2_bias))
    if dropout_p > 0.0:
        out = dropout(out, dropout_p, generator=generator)
    out = _conv(out, conv2_weight)
    if shortcut_weight is not None:
        return out + _conv(a, shortcut_weight, stride)
    if stride != 1 or conv2_weight.shape[0] != x.shape[1]:
        raise ValueError(f"preact_residual_block: the shape changes ({x.shape[1]} → "
                         f"{conv2_weight.shape[0]} channels, stride {stride}): give shortcut_weight")
    return out + x


def preact_residual_block(x, bn1_weight, bn1_bias, conv1_weight, bn2_weight, bn2_bias,
                          conv2_weight, shortcut_weight=None, stride=1):
    """Pre-activation residual unit (He et al. 2016, "Identity Mappings in Deep Residual
    Networks"):  a = ReLU(BN₁(x)),  y = S + conv3×3(ReLU(BN₂(conv3×3_stride(a)))),
    S = x, or conv1×1_stride(a) (the projection of the pre-activated input) when the shape
    changes. Nothing follows the addition, so dy reaches x unchanged along the identity path
    (plus the branch's contribution). BN uses batch statistics."""
    return _preact(x, bn1_weight, bn1_bias, conv1_weight, bn2_weight, bn2_bias, conv2_weight,
                   shortcut_weight, stride, 0.0, None)


def wide_residual_block(x, bn1_weight, bn1_bias, conv1_weight, bn2_weight, bn2_bias,
                        conv2_weight, shortcut_weight=None, stride=1, dropout_p=0.3,
                        training=True, generator=None):
    """Wide ResNet block (Zagoruyko & Komodakis 2016, "Wide Residual Networks"): the
    pre-activation basic block, k times wider (the caller picks the channel counts of
    WRN-d-k), with dropout (p = 0.3) between the two 3×3 convs, on ReLU(BN₂(conv₁(a))),
    and a 1×1 projection shortcut of the pre-activated input when the shape changes.
    The backward multiplies by the saved dropout mask."""
    return _preact(x, bn1_weight, bn1_bias, conv1_weight, bn2_weight, bn2_bias, conv2_weight,
                   shortcut_weight, stride, dropout_p if training else 0.0, generator)


# ------------------------------------------------------------------ modules
def _conv3x3(cin, cout, stride=1, bias=False):
    return _nn("Conv2d")(cin, cout, 3, stride=stride, padding=1, bias=bias)


def _conv1x1(cin, cout, stride=1):
    return _nn("Conv2d")(cin, cout, 1, stride=stride, bias=False)


class BasicBlock(Module):
    """``BasicBlock(in_planes, planes, stride=1, shortcut='B')`` (torchvision's layout:
    conv1, bn1, conv2, bn2, downsample). ``shortcut='B'``: a 1×1 conv + BN projection when the
    shape changes; ``'A'``: parameter-free subsample + zero channels (CIFAR ResNets).

    y = ReLU(BN₂(conv₂(ReLU(BN₁(conv₁(x))))) + S(x)); backward through the recorded ops
    (see ``F.residual_block``). Paper: He, Zhang, Ren & Sun 2016, "Deep Residual Learning for
    Image Recognition".
    """
    expansion = 1

    def __init__(self, in_planes, planes, stride=1, shortcut="B"):
        super().__init__()
        BN = _nn("BatchNorm2d")
        self.stride, self.shortcut = stride, shortcut
        self.conv1, self.bn1 = _conv3x3(in_planes, planes, stride), BN(planes)
        self.conv2, self.bn2 = _conv3x3(planes, planes), BN(planes)
        changes = stride != 1 or in_planes != planes
        self.downsample = (Sequential(_conv1x1(in_planes, planes, stride), BN(planes))
                           if changes and shortcut == "B" else None)
        self.planes = planes

    def zero_init_last(self):
        self.bn2.weight.data[...] = 0

    def forward(self, x):
        out = _relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            sc = self.downsample(x)
        elif self.stride != 1 or x.shape[1] != self.planes:
            sc = shortcut_option_a(x, self.planes, self.stride)
        else:
            sc = x
        return _relu(out + sc)


class Bottleneck(Module):
    """``Bottleneck(in_planes, planes, stride=1)``: 1×1 → 3×3 (stride) → 1×1 to planes·4
    channels, BN after each, projection shortcut (1×1 conv + BN) when the shape changes.

    y = ReLU(BN₃(conv₃(ReLU(BN₂(conv₂(ReLU(BN₁(conv₁(x))))))) + S(x)).
    Paper: He, Zhang, Ren & Sun 2016, "Deep Residual Learning for Image Recognition".
    """
    expansion = 4

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        BN = _nn("BatchNorm2d")
        out = planes * self.expansion
        self.conv1, self.bn1 = _conv1x1(in_planes, planes), BN(planes)
        self.conv2, self.bn2 = _conv3x3(planes, planes, stride), BN(planes)
        self.conv3, self.bn3 = _conv1x1(planes, out), BN(out)
        self.downsample = (Sequential(_conv1x1(in_planes, out, stride), BN(out))
                           if stride != 1 or in_planes != out else None)

    def zero_init_last(self):
        self.bn3.weight.data[...] = 0

    def forward(self, x):
        out = _relu(self.bn1(self.conv1(x)))
        out = _relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return _relu(out + (self.downsample(x) if self.downsample is not None else x))


class SRResNetBlock(Module):
    """SRGAN generator block (Ledig et al. 2017): y = x + BN(conv3×3(PReLU(BN(conv3×3(x))))),
    64 channels by default, no activation after the addition.

    Paper: Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution Using a
    Generative Adversarial Network".
    """

    def __init__(self, channels=64):
        super().__init__()
        BN = _nn("BatchNorm2d")
        self.conv1, self.bn1 = _conv3x3(channels, channels, bias=True), BN(channels)
        self.prelu = _nn("PReLU")()
        self.conv2, self.bn2 = _conv3x3(channels, channels, bias=True), BN(channels)

    def zero_init_last(self):
        self.bn2.weight.data[...] = 0

    def forward(self, x):
        return x + self.bn2(self.conv2(self.prelu(self.bn1(self.conv1(x)))))


class PreActBlock(Module):
    """``PreActBlock(in_planes, planes, stride=1, dropout=0.0)``: bn1, conv1, bn2, conv2 and a
    1×1 ``shortcut`` conv (on the pre-activated input) when the shape changes.

    y = x + conv₂(ReLU(BN₂(conv₁(ReLU(BN₁(x)))))) (see ``F.preact_residual_block``).
    Paper: He, Zhang, Ren & Sun 2016, "Identity Mappings in Deep Residual Networks".
    """
    expansion = 1

    def __init__(self, in_planes, planes, stride=1, dropout=0.0):
        super().__init__()
        BN = _nn("BatchNorm2d")
        self.bn1, self.conv1 = BN(in_planes), _conv3x3(in_planes, planes, stride)
        self.bn2 = BN(planes)
        self.dropout = Dropout(dropout) if dropout > 0 else Identity()
        self.conv2 = _conv3x3(planes, planes)
        self.shortcut = (_conv1x1(in_planes, planes, stride)
                         if stride != 1 or in_planes != planes else None)

    def zero_init_last(self):
        """The branch ends in conv2 (no BN after it): zero its weight."""
        self.conv2.weight.data[...] = 0

    def forward(self, x):
        a = _relu(self.bn1(x))
        out = self.conv1(a)
        out = self.conv2(self.dropout(_relu(self.bn2(out))))
        return out + (self.shortcut(a) if self.shortcut is not None else x)


class WideBasic(PreActBlock):
    """``WideBasic(in_planes, planes, stride=1, dropout=0.3)``: the WRN block (a pre-activation
    block with dropout between the convs; WRN-d-k stacks (d - 4)/6 of them per stage with
    16k, 32k, 64k channels).

    y = x + conv₂(dropout(ReLU(BN₂(conv₁(ReLU(BN₁(x))))))) (see ``F.wide_residual_block``).
    Paper: Zagoruyko & Komodakis 2016, "Wide Residual Networks".
    """

    def __init__(self, in_planes, planes, stride=1, dropout=0.3):
        super().__init__(in_planes, planes, stride, dropout)


class FixupBasicBlock(Module):
    """Fixup basic block (Zhang et al. 2019), no normalization:
    y = ReLU(scale · conv₂(ReLU(conv₁(x + b1a) + b1b) + b2a) + b2b + S(x + b1a)), with
    learnable scalar biases (init 0) and multiplier (init 1); S = identity, or option A
    when the shape changes. ``fixup_init`` initializes it (conv2 = 0, conv1 rescaled).

    Paper: Zhang, Dauphin & Ma 2019, "Fixup Initialization: Residual Learning Without
    Normalization".
    """

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        from minigrad.backends import current
        xp = current().xp
        self.stride, self.planes = stride, planes
        self.conv1, self.conv2 = _conv3x3(in_planes, planes, stride), _conv3x3(planes, planes)
        for name in ("bias1a", "bias1b", "bias2a", "bias2b"):
            setattr(self, name, Parameter(xp.zeros(1, dtype="float32")))
        self.scale = Parameter(xp.ones(1, dtype="float32"))

    def fixup_layers(self):
        return [self.conv1, self.conv2]

    def forward(self, x):
        xa = x + self.bias1a
        out = _relu(self.conv1(xa) + self.bias1b)
        out = self.conv2(out + self.bias2a) * self.scale + self.bias2b
        sc = (shortcut_option_a(xa, self.planes, self.stride)
              if self.stride != 1 or x.shape[1] != self.planes else xa)
        return _relu(out + sc)


# ------------------------------------------------------------------ registry
def _wide_fixed(*args, **kwargs):
    from minigrad.layers.stochastic import HostGenerator
    return wide_residual_block(*args, generator=HostGenerator(23), **kwargs)


def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    g = lambda r, c: 1 + 0.2 * n(r, c)  # noqa: E731

    def basic(r):
        return [Case(n(r, 2, 2, 3, 3), 0.5 * n(r, 2, 2, 3, 3), g(r, 2), n(r, 2),
                     0.5 * n(r, 2, 2, 3, 3), g(r, 2), n(r, 2)),
                Case(n(r, 2, 2, 4, 4), 0.5 * n(r, 3, 2, 3, 3), g(r, 3), n(r, 3),
                     0.5 * n(r, 3, 3, 3, 3), g(r, 3), n(r, 3), n(r, 3, 2, 1, 1), g(r, 3),
                     n(r, 3), stride=2),
                Case(n(r, 2, 2, 4, 4), 0.5 * n(r, 4, 2, 3, 3), g(r, 4), n(r, 4),
                     0.5 * n(r, 4, 4, 3, 3), g(r, 4), n(r, 4), stride=2)]

    def preact(r, extra=None):
        extra = extra or {}
        return [Case(n(r, 2, 2, 3, 3), g(r, 2), n(r, 2), 0.5 * n(r, 2, 2, 3, 3), g(r, 2),
                     n(r, 2), 0.5 * n(r, 2, 2, 3, 3), **extra),
                Case(n(r, 2, 2, 4, 4), g(r, 2), n(r, 2), 0.5 * n(r, 3, 2, 3, 3), g(r, 3),
                     n(r, 3), 0.5 * n(r, 3, 3, 3, 3), n(r, 3, 2, 1, 1), stride=2,
                     **extra)]

    register(residual_block, kind="layer", catalog_id="B011", module=BasicBlock,
             papers=[_RESNET, "Benign Overfitting in Deep Neural Networks under Lazy Training",
                     "Generalization of Scaled Deep ResNets in the Mean-Field Regime",
                     "Photo-Realistic Single Image Super-Resolution Using a Generative "
                     "Adversarial Network", "LSNet: See Large, Focus Small"],
             inputs=basic)
    register(preact_residual_block, kind="layer", catalog_id="B012", module=PreActBlock,
             papers=["Identity Mappings in Deep Residual Networks"], inputs=preact)
    register(wide_residual_block, kind="layer", catalog_id="B013", module=WideBasic,
             papers=["Wide Residual Networks"],
             inputs=lambda r: preact(r, {"dropout_p": 0.3}), checked_as=_wide_fixed)


_register_all()
