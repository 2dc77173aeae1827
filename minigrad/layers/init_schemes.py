"""Initialization schemes for whole networks: Kaiming/Xavier (B016), zero-init of the last
BN γ of residual branches (B017), Fixup with its scalar biases and multipliers (B018),
and LSUV (B019). Each changes parameters in place under ``no_grad``."""
import math

from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array, current
from minigrad.layers import init
from minigrad.layers.linear import Linear, linear
from minigrad.layers.module import Module, Parameter
from minigrad.ops.random import HostGenerator, generator_for as _generator_for
from minigrad.ops.elementwise import maximum, tanh
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["FixupLinearBlock"]

SCHEMES = ("kaiming_uniform", "kaiming_normal", "xavier_uniform", "xavier_normal")


# ------------------------------------------------------------------ B016
def kaiming_xavier_init(tensor, scheme="kaiming_normal", a=0.0, mode="fan_in",
                        nonlinearity="leaky_relu", gain=1.0, generator=None):
    """Fill ``tensor`` in place with one of the variance-preserving schemes and return it.

    Kaiming/He (He et al. 2015): Var = gain²/fan, gain = √(2/(1 + a²)) for (leaky) ReLU with
    slope a; ``fan`` = fan_in (keeps forward variances) or fan_out (keeps backward variances,
    used for ResNet convs); normal N(0, gain²/fan) or uniform U(±gain·√(3/fan)). PyTorch's
    default for Linear/Conv is kaiming_uniform with a = √5.
    Xavier/Glorot (Glorot & Bengio 2010): Var = gain²·2/(fan_in + fan_out); normal, or uniform
    U(±gain·√(6/(fan_in + fan_out))). Fans of a conv weight (out, in/groups, kh, kw):
    fan_in = (in/groups)·kh·kw, fan_out = out·kh·kw. No gradient (an initializer).

    Papers: He, Zhang, Ren & Sun 2015, "Delving Deep into Rectifiers: Surpassing Human-Level
    Performance on ImageNet Classification"; Glorot & Bengio 2010, "Understanding the
    difficulty of training deep feedforward neural networks".
    """
    if scheme not in SCHEMES:
        raise ValueError(f"kaiming_xavier_init: scheme must be one of {SCHEMES}, got {scheme!r}")
    gen = _generator_for(tensor, generator) if generator is not None else None
    if scheme == "kaiming_uniform":
        return init.kaiming_uniform_(tensor, a, mode, nonlinearity, generator=gen)
    if scheme == "kaiming_normal":
        return init.kaiming_normal_(tensor, a, mode, nonlinearity, generator=gen)
    if scheme == "xavier_uniform":
        return init.xavier_uniform_(tensor, gain, generator=gen)
    return init.xavier_normal_(tensor, gain, generator=gen)


def init_weights_(module, scheme="kaiming_normal", zero_bias=True, **kwargs):
    """Apply ``kaiming_xavier_init`` to the ``weight`` (≥ 2 dims) of every sub-module of
    ``module`` (Linear, Conv, ...), and zero their biases (``zero_bias``). Returns ``module``.

    Var(W) = gain²/fan (Kaiming) or gain²·2/(fan_in + fan_out) (Xavier), b = 0; no gradient.
    Papers: He, Zhang, Ren & Sun 2015, "Delving Deep into Rectifiers: Surpassing Human-Level
    Performance on ImageNet Classification"; Glorot & Bengio 2010, "Understanding the
    difficulty of training deep feedforward neural networks".
    """
    for m in module.modules():
        w = m._parameters.get("weight")
        if w is not None and w.ndim >= 2:
            kaiming_xavier_init(w, scheme, **kwargs)
            b = m._parameters.get("bias")
            if zero_bias and b is not None:
                init.zeros_(b)
    return module


# ------------------------------------------------------------------ B017
def zero_init_residual(module):
    """Zero the γ of the last BatchNorm of every residual branch inside ``module`` (every
    sub-module with a ``zero_init_last()`` method: the residual blocks of
    ``minigrad.layers.residual``; for pre-activation blocks, whose branch ends in a conv, that
    conv's weight), so each block starts as its skip path: y = S(x) (+ its final ReLU). Goyal et
    al. 2017; BigNAS; LSNet's ``bn_weight_init=0``. Returns the number of branches zeroed.
    Consequence (expected, tested): at step 0 the branch's earlier parameters get zero
    gradient, because everything upstream of a zero γ is multiplied by it.

    Paper: Goyal et al. 2017, "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour".
    """
    n = 0
    with no_grad():
        for m in module.modules():
            if hasattr(m, "zero_init_last"):
                m.zero_init_last()
                n += 1
    return n


# ------------------------------------------------------------------ B018
def fixup_branch(x, weight1, weight2, bias1a, bias1b, bias2a, bias2b, scale):
    """The Fixup residual unit on features (Zhang et al. 2019), for a branch of two linear
    layers without normalization:

        y = ReLU(x + scale · (W₂ (ReLU(W₁ (x + b1a) + b1b) + b2a)) + b2b)

    where b1a, b1b, b2a, b2b are learnable scalar biases (init 0) and ``scale`` a learnable
    scalar multiplier (init 1). Their gradients are sums of the upstream gradient over all
    the positions they were broadcast to (exact, through the registered ops)."""
    h = maximum(linear(x + bias1a, weight1) + bias1b, 0.0)
    return maximum(x + scale * linear(h + bias2a, weight2) + bias2b, 0.0)


class FixupLinearBlock(Module):
    """``FixupLinearBlock(features, hidden=None)``: a Fixup residual unit on feature vectors
    (see ``fixup_branch``); ``fixup_init`` gives it the Fixup initialization. Convolutional
    Fixup blocks are in ``minigrad.layers.residual`` (``FixupBasicBlock``).

    y = max(0, x + scale·W₂(ReLU(W₁(x + b1a) + b1b) + b2a) + b2b); backward through the
    recorded ops. Paper: Zhang, Dauphin & Ma 2019, "Fixup Initialization: Residual Learning
    Without Normalization".
    """

    def __init__(self, features, hidden=None, dtype="float32", generator=None):
        super().__init__()
        hidden = features if hidden is None else hidden
        self.fc1 = Linear(features, hidden, bias=False, dtype=dtype, generator=generator)
        self.fc2 = Linear(hidden, features, bias=False, dtype=dtype, generator=generator)
        xp = current().xp
        for name in ("bias1a", "bias1b", "bias2a", "bias2b"):
            setattr(self, name, Parameter(xp.zeros(1, dtype=dtype)))
        self.scale = Parameter(xp.ones(1, dtype=dtype))

    def fixup_layers(self):
        return [self.fc1, self.fc2]

    def forward(self, x):
        return fixup_branch(x, self.fc1.weight, self.fc2.weight, self.bias1a, self.bias1b,
                            self.bias2a, self.bias2b, self.scale)


def fixup_init(module, num_branches=None, classifier=None, generator=None):
    """Fixup initialization (Zhang, Dauphin & Ma 2019, "Fixup Initialization: Residual
    Learning Without Normalization"), in place, for a network without normalization:

    - every residual branch (a sub-module with ``fixup_layers()``, m layers each) gets its
      last layer's weight set to 0 and its other layers He-initialized, N(0, 2/fan_out) as in
      the official code, rescaled by L^(-1/(2m-2)) with L the number of branches;
    - the classification layer (``classifier``, default: the last ``Linear`` outside every
      branch) gets weight 0 and bias 0;
    - the scalar biases (init 0) and multipliers (init 1) are reset.
    The init has no gradient; the network starts as its skip paths. Returns ``module``.

        W_branch ← W_He · L^(−1/(2m−2)),   W_last = 0,   W_classifier = 0
    """
    blocks = [m for m in module.modules() if hasattr(m, "fixup_layers")]
    n_branches = len(blocks) if num_branches is None else num_branches
    inside = {id(layer) for b in blocks for layer in b.modules()}
    with no_grad():
        for block in blocks:
            layers = block.fixup_layers()
            depth = len(layers)
            factor = n_branches ** (-1.0 / (2 * depth - 2)) if depth > 1 else 1.0
            for layer in layers[:-1]:
                w = layer.weight
                fan_out = w.shape[0] * math.prod(w.shape[2:])
                gen = _generator_for(w, generator) if generator is not None else None
                init.normal_(w, 0.0, math.sqrt(2.0 / fan_out) * factor, generator=gen)
            init.zeros_(layers[-1].weight)
            for name, p in block._parameters.items():
                if name.startswith("bias"):
                    init.zeros_(p)
                elif name == "scale":
                    init.ones_(p)
        if classifier is None:
            outside = [m for m in module.modules() if isinstance(m, Linear) and id(m) not in inside]
            classifier = outside[-1] if outside else None
        if classifier is not None:
            init.zeros_(classifier.weight)
            if classifier.bias is not None:
                init.zeros_(classifier.bias)
    return module



# ------------------------------------------------------------------ B019
def lsuv_init(model, x, tol_var=0.1, max_iter=10, orthonormal=True, layers=None, generator=None):
    """Layer-sequential unit-variance initialization (Mishkin & Matas 2016, "All you need is
    a good init"), in place: (1) every weight layer (``layers``, default: each sub-module
    with a ``weight`` of ≥ 2 dims, in order) gets an orthonormal init; (2) layer by layer,
    forward the batch ``x``, read the layer's output B (a forward hook) and rescale
    W ← W / √Var(B) until |Var(B) - 1| < ``tol_var`` or ``max_iter`` passes.
    Returns the variance trajectory: one list of the variances seen per layer."""
    if layers is None:
        layers = [m for m in model.modules()
                  if m._parameters.get("weight") is not None and m._parameters["weight"].ndim >= 2]
    history = []
    with no_grad():
        if orthonormal:
            for layer in layers:
                gen = _generator_for(layer.weight, generator) if generator is not None else None
                init.orthogonal_(layer.weight, generator=gen)
        for layer in layers:
            seen = {}
            handle = layer.register_forward_hook(lambda m, i, o: seen.__setitem__("out", o))
            trajectory = []
            try:
                for _ in range(max_iter):
                    model(x)
                    var = float(seen["out"].data.var())
                    trajectory.append(var)
                    if abs(var - 1.0) < tol_var:
                        break
                    layer.weight.data /= math.sqrt(var)
                    layer.weight._version += 1
            finally:
                handle.remove()
            history.append(trajectory)
    return history


# ------------------------------------------------------------------ registry
def _fresh(w):
    return Tensor._wrap(backend_of_array(w.data).xp.zeros(w.shape, dtype=w.dtype))


def _init_fixed(w, scheme="kaiming_normal", **kwargs):
    """The init drawn from ``numpy.random.default_rng(13)`` into a fresh tensor shaped like w."""
    return kaiming_xavier_init(_fresh(w), scheme, generator=HostGenerator(13), **kwargs)


def _no_gradient(arrays, kwargs, gy):
    """An initializer has no gradient with respect to anything."""
    import numpy
    return [numpy.zeros(a.shape) for a in arrays if hasattr(a, "shape") and a.dtype.kind == "f"]


def _fixup_checked(x, bias1a, bias1b, bias2a, bias2b, scale, initialized=False):
    """A FixupLinearBlock with fixed weights; ``initialized`` applies ``fixup_init`` first
    (its branch then contributes 0, so y = ReLU(x + b2b) and only x, b2b get gradient)."""
    block = FixupLinearBlock(4, 5, dtype="float64", generator=HostGenerator(17))
    block.to(x.backend)
    if initialized:
        fixup_init(block, num_branches=4, generator=HostGenerator(17))
    return fixup_branch(x, block.fc1.weight.detach(), block.fc2.weight.detach(),
                        bias1a, bias1b, bias2a, bias2b, scale)


def _fixup_rule(arrays, kwargs, gy):
    import numpy
    x, b1a, b1b, b2a, b2b, scale = arrays
    live = (x + b2b) > 0
    g = gy * live
    zero = numpy.zeros(1)
    return [g, zero, zero, zero, numpy.array([g.sum()]), zero]


class _Tanh(Module):
    def forward(self, x):
        return tanh(x)


def _lsuv_checked(x, b1, b2):
    """LSUV on Linear(4, 6) → tanh → Linear(6, 3) with biases b1, b2 and orthonormal draws
    from ``numpy.random.default_rng(19)``; returns the network's output after the init."""
    from minigrad.layers.module import Sequential
    with no_grad():
        with_backend = x.backend
        net = Sequential(Linear(4, 6, dtype="float64"), _Tanh(), Linear(6, 3, dtype="float64"))
        net.to(with_backend)
        net[0].bias.data[...] = b1.data
        net[2].bias.data[...] = b2.data
        lsuv_init(net, x, generator=HostGenerator(19))
        return net(x.detach())


def _zero_init_checked(x):
    """A BasicBlock (float64, training mode) after ``zero_init_residual``: it must compute
    ReLU(x + 0), whatever its other weights, and pass the gradient dy ⊙ 1[x > 0] to x."""
    from minigrad.layers.residual import BasicBlock
    block = BasicBlock(x.shape[1], x.shape[1])
    with no_grad():
        for t in list(block.parameters()) + list(block.buffers()):
            if t.dtype.kind == "f":
                t.data = t.data.astype("float64")
    block.to(x.backend)
    assert zero_init_residual(block) == 1
    return block(x)


def _zero_init_rule(arrays, kwargs, gy):
    return [gy * (arrays[0] > 0)]


def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    register(zero_init_residual, kind="layer", catalog_id="B017", check="custom",
             papers=["BigNAS: Scaling Up Neural Architecture Search with Big Single-Stage Models",
                     "LSNet: See Large, Focus Small"],
             inputs=lambda r: [Case(r.choice([-1.0, 1.0], (2, 3, 3, 3)) * r.uniform(0.1, 2, (2, 3, 3, 3)))],
             checked_as=_zero_init_checked, backward_rule=_zero_init_rule)
    scalars = lambda r: [0.3 * n(r, 1) for _ in range(4)] + [1 + 0.3 * n(r, 1)]  # noqa: E731
    register(kaiming_xavier_init, kind="layer", catalog_id="B016", check="custom",
             papers=["Delving Deep into Rectifiers: Surpassing Human-Level Performance on "
                     "ImageNet Classification",
                     "Spectral Bottleneck in Deep Neural Networks: Noise is All You Need"],
             inputs=lambda r: [Case(n(r, 5, 4)), Case(n(r, 6, 2, 3, 3), "kaiming_uniform", a=0.2,
                                                       mode="fan_out"),
                               Case(n(r, 3, 7), "xavier_uniform", gain=2.0),
                               Case(n(r, 4, 3, 2), "xavier_normal"),
                               Case(n(r, 4, 5), "kaiming_normal", nonlinearity="relu",
                                    mode="fan_out")],
             checked_as=_init_fixed, backward_rule=_no_gradient)
    register(fixup_init, kind="layer", catalog_id="B018", check="fd+custom", module=FixupLinearBlock,
             papers=["Fixup Initialization: Residual Learning Without Normalization"],
             inputs=lambda r: [Case(n(r, 3, 4), *scalars(r)),
                               Case(n(r, 3, 4), *[0.0 * n(r, 1) for _ in range(4)], 1 + 0 * n(r, 1),
                                    initialized=True, custom=True)],
             checked_as=_fixup_checked, backward_rule=_fixup_rule)
    register(lsuv_init, kind="layer", catalog_id="B019", check="custom",
             papers=["All you need is a good init"],
             inputs=lambda r: [Case(2 * n(r, 16, 4), 0.1 * n(r, 6), 0.1 * n(r, 3))],
             checked_as=_lsuv_checked, backward_rule=_no_gradient)


_register_all()
