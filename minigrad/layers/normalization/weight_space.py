"""Weight-space normalizations that standardize or project a weight per output unit:
Weight Standardization (catalog N036), Scaled Weight Standardization (N037, NF-Nets), the
unit-norm (hyperspherical) weight (N039), and the normalizer-free residual block (N038)
that NF-ResNets build from Scaled WS.

Like ``weight.py``, each op is a function of the stored parameter (``weight_standardization(w)``);
``apply_<op>(module)`` reparameterizes any Module's weight with a forward pre-hook, and
``StdConv2d`` / ``ScaledStdConv2d`` are the convolutions users know from timm.
The output units are on axis 0 (PyTorch's (out, in, *kernel) and (out, in) layouts).
"""
import math

from minigrad.autograd import Function, no_grad
from minigrad.creation import ones
from minigrad.layers.conv import Conv2d
from minigrad.layers.module import Module, Parameter
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register

# Nonlinearity gains γ_act of NF-Nets (deepmind-research/nfnets/base.py, computed there
# empirically as 1/std(act(z)), z ~ N(0, 1)).
NF_GAMMA = {"identity": 1.0, "relu": 1.7139588594436646, "gelu": 1.7015043497085571,
            "silu": 1.7881293296813965, "tanh": 1.5939117670059204}


def _rows(w):
    """The weight as (units, fan_in), the units on axis 0."""
    return w.reshape(w.shape[0], math.prod(w.shape[1:]))


class WeightStandardizationFn(Function):
    """Weight Standardization (Qiao et al. 2019), in the official layer's form
    (joe-siyuan-qiao/WeightStandardization, README ``Conv2d``): per output unit o, with
    n = fan-in, c = W_o − mean(W_o), σ_u = √(Σc²/(n−1)) (unbiased std) and D = σ_u + ε,

        Ŵ_o = c/D.

    Backward (G = dŴ_o): ∂σ_u/∂c = c/((n−1)σ_u) and Σc = 0, so
        dW_o = (G − mean G)/D − c·Σ(G⊙c)/(D²·(n−1)·σ_u).
    For a constant filter (σ_u = 0, c = 0) the second term is 0 (taken as its limit; the
    std itself has no derivative there) and dW_o = (G − mean G)/ε.
    """
    @staticmethod
    def forward(ctx, w, eps):
        xp = ctx.xp
        w2 = _rows(w)
        n = w2.shape[1]
        c = w2 - w2.mean(axis=1, keepdims=True)
        std = xp.sqrt((c * c).sum(axis=1, keepdims=True) / (n - 1))
        ctx.save_for_backward(w)
        ctx.eps = eps
        return (c / (std + eps)).reshape(w.shape)

    @staticmethod
    def backward(ctx, gy):
        w, = ctx.saved_tensors
        xp = ctx.xp
        w2, g = _rows(w), _rows(gy)
        n = w2.shape[1]
        c = w2 - w2.mean(axis=1, keepdims=True)
        std = xp.sqrt((c * c).sum(axis=1, keepdims=True) / (n - 1))
        d = std + ctx.eps
        s = (g * c).sum(axis=1, keepdims=True)
        safe = xp.where(std > 0, std, 1.0)
        dw = (g - g.mean(axis=1, keepdims=True)) / d - c * s / (d * d * (n - 1) * safe)
        return dw.reshape(w.shape), None

    @staticmethod
    def composite(w, eps):
        w2 = _rows(w)
        c = w2 - w2.mean(axis=1, keepdims=True)
        std = ((c * c).sum(axis=1, keepdims=True) / (w2.shape[1] - 1)).sqrt()
        return (c / (std + eps)).reshape(w.shape)


class ScaledWeightStandardizationFn(Function):
    """Scaled Weight Standardization (Brock et al. 2021a/b), in the NF-Nets code's form
    (deepmind-research/nfnets/base.py ``WSConv2D``): per output unit i with fan-in n,
    c = W_i − μ_i, var_i = mean(c²) (biased), s_i = 1/√max(n·var_i, ε),

        Ŵ_i = g_i·γ·c·s_i        (ε = 1e-4 in the paper's code; γ the nonlinearity gain).

    Backward, with k_i = g_i·γ and G = dŴ_i: n·var_i = Σc², so ∂s_i/∂c = −s_i³·c, and Σc = 0:
        dW_i = k_i·s_i·(G − mean G) − s_i³·c·Σ(k_i·G⊙c),
        dg_i = γ·s_i·Σ(G⊙c).
    Where n·var_i < ε (a dead filter) s_i is the constant 1/√ε and the second term is 0.
    """
    @staticmethod
    def forward(ctx, w, gain, gamma, eps):
        xp = ctx.xp
        w2 = _rows(w)
        c = w2 - w2.mean(axis=1, keepdims=True)
        t = (c * c).sum(axis=1, keepdims=True)
        s = 1 / xp.sqrt(xp.maximum(t, eps))
        k = gamma if gain is None else gamma * gain.reshape(-1, 1).astype(w.dtype, copy=False)
        ctx.save_for_backward(w, gain)
        ctx.gamma, ctx.eps = gamma, eps
        return (k * c * s).reshape(w.shape)

    @staticmethod
    def backward(ctx, gy):
        w, gain = ctx.saved_tensors
        xp = ctx.xp
        w2, g = _rows(w), _rows(gy)
        c = w2 - w2.mean(axis=1, keepdims=True)
        t = (c * c).sum(axis=1, keepdims=True)
        s = 1 / xp.sqrt(xp.maximum(t, ctx.eps))
        live = t >= ctx.eps
        k = ctx.gamma if gain is None else ctx.gamma * gain.reshape(-1, 1)
        gc = (g * c).sum(axis=1, keepdims=True)
        dw = dg = None
        if ctx.needs_input_grad[0]:
            dw = (k * s * (g - g.mean(axis=1, keepdims=True))
                  - xp.where(live, s * s * s, 0.0) * c * (k * gc)).reshape(w.shape)
        if gain is not None and ctx.needs_input_grad[1]:
            dg = (ctx.gamma * s * gc).reshape(gain.shape)
        return dw, dg, None, None

    @staticmethod
    def composite(w, gain, gamma, eps):
        w2 = _rows(w)
        c = w2 - w2.mean(axis=1, keepdims=True)
        s = (c * c).sum(axis=1, keepdims=True).maximum(eps).rsqrt()
        y = c * s * gamma
        if gain is not None:
            y = y * gain.reshape(w.shape[0], 1)
        return y.reshape(w.shape)


class UnitNormWeightFn(Function):
    """Hyperspherical weight: each output unit's weight on the unit sphere, ŵ_i = v_i/‖v_i‖
    (weight normalization with the gain fixed to 1).

    Backward, with ∂‖v‖/∂v = ŵ: dv_i = (dŵ_i − ŵ_i·(ŵ_i·dŵ_i))/‖v_i‖ (the radial part
    removed). ‖v_i‖ is clamped below at ε; in the clamped branch ŵ = v/ε and dv = dŵ/ε.
    """
    @staticmethod
    def forward(ctx, v, eps):
        xp = ctx.xp
        v2 = _rows(v)
        raw = xp.sqrt((v2 * v2).sum(axis=1, keepdims=True))
        norm = xp.maximum(raw, eps)
        y = v2 / norm
        ctx.save_for_backward(y, norm, raw >= eps)
        return y.reshape(v.shape)

    @staticmethod
    def backward(ctx, gy):
        y, norm, live = ctx.saved_tensors
        g = _rows(gy)
        radial = y * (g * y).sum(axis=1, keepdims=True)
        return ((g - radial * live) / norm).reshape(gy.shape), None

    @staticmethod
    def composite(v, eps):
        v2 = _rows(v)
        return (v2 / (v2 * v2).sum(axis=1, keepdims=True).sqrt().maximum(eps)).reshape(v.shape)


# ------------------------------------------------------------------ functional
def _check_weight(op, w, minimum=1):
    check_floating(op, weight=w)
    if w.ndim < 2 or math.prod(w.shape[1:]) < minimum:
        raise ValueError(f"{op}: expected a weight of shape (out, in, *kernel) with at least "
                         f"{minimum} fan-in value(s) per output unit, got shape {tuple(w.shape)}")


def weight_standardization(weight, eps=1e-5):
    """Standardize each output unit's weight (Ŵ_o = (W_o − mean W_o)/(std W_o + ε)), the
    std unbiased and ε added to it, as in the official layer.

    Ŵ_o = (W_o − μ_o)/(σ_o + ε) over the fan-in axes of W (units on axis 0);
    dW_o = (G − mean G)/D − c·Σ(G⊙c)/(D²(n−1)σ_o). Backward: ``WeightStandardizationFn``
    (help(minigrad.layers.normalization.weight_space.WeightStandardizationFn)).
    ``weight_standardization(weight, eps=1e-5)``. timm's ``StdConv2d`` puts ε inside the
    square root of the biased variance instead; this follows the paper's code.
    Paper: Qiao, Wang, Liu, Shen & Yuille 2019, "Micro-Batch Training with Batch-Channel
    Normalization and Weight Standardization".
    """
    _check_weight("weight_standardization", weight, minimum=2)
    return WeightStandardizationFn.apply(weight, float(eps))


def scaled_weight_standardization(weight, gain=None, gamma=1.0, eps=1e-4):
    """Scaled Weight Standardization (NF-Nets): Ŵ_i = g_i·γ·(W_i − μ_i)/√max(N·var_i, ε),
    N the fan-in, var biased, per output unit (axis 0).

    Ŵ_i = g_i·γ·(W_i − μ_i)/(σ_i·√N); dW_i = k·s·(G − mean G) − s³·c·Σ(k·G⊙c), k = g_i·γ,
    s = 1/(σ_i√N); dg_i = γ·s·Σ(G⊙c). Backward: ``ScaledWeightStandardizationFn``
    (help(minigrad.layers.normalization.weight_space.ScaledWeightStandardizationFn)).
    ``scaled_weight_standardization(weight, gain=None, gamma=1.0, eps=1e-4)``: ``gain``
    one learnable value per output unit (None: 1), ``gamma`` the nonlinearity gain
    (``NF_GAMMA['relu']`` ≈ 1.7139; the NF-Nets code applies it in the activation and keeps
    γ = 1 here, timm's ``ScaledStdConv2d`` folds it into the weight), ε the clamp of the
    NF-Nets code (timm: ε inside the square root, 1e-6).
    Paper: Brock, De & Smith 2021, "Characterizing signal propagation to close the
    performance gap in unnormalized ResNets"; Brock, De, Smith & Simonyan 2021,
    "High-Performance Large-Scale Image Recognition Without Normalization".
    """
    _check_weight("scaled_weight_standardization", weight)
    check_floating("scaled_weight_standardization", gain=gain)
    if gain is not None and gain.numel() != weight.shape[0]:
        raise ValueError(f"scaled_weight_standardization: gain of shape {tuple(gain.shape)} "
                         f"needs {weight.shape[0]} values, one per output unit of a weight of "
                         f"shape {tuple(weight.shape)}")
    return ScaledWeightStandardizationFn.apply(weight, gain, float(gamma), float(eps))


def unit_norm_weight(weight, eps=1e-12):
    """Project each output unit's weight onto the unit sphere: ŵ_i = v_i/max(‖v_i‖, ε).

    ŵ_i = v_i/‖v_i‖ (units on axis 0); dv_i = (dŵ_i − ŵ_i(ŵ_i·dŵ_i))/‖v_i‖. Backward:
    ``UnitNormWeightFn`` (help(minigrad.layers.normalization.weight_space.UnitNormWeightFn)).
    ``unit_norm_weight(weight, eps=1e-12)``: ``weight_norm`` with the gain fixed to 1 (the
    hard constraint; the soft Norm-Loss penalty is a loss).
    Paper: Georgiou et al. 2021, "Preprint: Norm Loss: An efficient yet effective
    regularization method for deep neural networks"; used by "Pruning On-the-Fly: A
    Recoverable Pruning Method without Fine-tuning".
    """
    _check_weight("unit_norm_weight", weight)
    return UnitNormWeightFn.apply(weight, float(eps))


# ------------------------------------------------------------------ module utilities
class _ReparamHook:
    """Recompute ``module.<name>`` = fn(module.<name>_orig, *extra parameters) before
    each forward."""

    def __init__(self, name, fn, extras, kwargs):
        self.name, self.fn, self.extras, self.kwargs = name, fn, extras, kwargs

    def compute(self, module):
        extra = [getattr(module, f"{self.name}_{e}") for e in self.extras]
        return self.fn(getattr(module, self.name + "_orig"), *extra, **self.kwargs)

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute(module))


def _apply(op, module, name, fn, extras=None, kwargs=None):
    hooks = module.__dict__.setdefault("_reparameterizations", {})
    if name in hooks:
        raise RuntimeError(f"{op}: {name!r} of {type(module).__name__} is already "
                           "reparameterized")
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"{op}: {type(module).__name__} has no parameter {name!r}")
    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    for extra, value in (extras or {}).items():
        module.register_parameter(f"{name}_{extra}", Parameter(value))
    hook = _ReparamHook(name, fn, tuple(extras or ()), kwargs or {})
    setattr(module, name, hook.compute(module))
    hooks[name] = (op, module.register_forward_pre_hook(hook), hook)
    return module


def apply_weight_standardization(module, name="weight", eps=1e-5):
    """Reparameterize ``module.<name>`` with Weight Standardization: the Parameter becomes
    ``<name>_orig`` and a forward pre-hook recomputes ``module.<name>`` =
    ``weight_standardization(<name>_orig, eps)`` before each forward. Returns ``module``."""
    return _apply("apply_weight_standardization", module, name, weight_standardization,
                  kwargs={"eps": eps})


def apply_scaled_weight_standardization(module, name="weight", gamma=1.0, eps=1e-4):
    """Reparameterize ``module.<name>`` with Scaled WS (NF-Nets): the Parameter becomes
    ``<name>_orig``, a learnable per-unit gain ``<name>_gain`` (init 1) is added, and a
    forward pre-hook recomputes ``module.<name>`` before each forward. Returns ``module``."""
    w = module._parameters.get(name)
    extras = None if w is None else {"gain": ones(w.shape[0], dtype=w.dtype).data}
    return _apply("apply_scaled_weight_standardization", module, name,
                  scaled_weight_standardization, extras, {"gamma": gamma, "eps": eps})


def apply_unit_norm_weight(module, name="weight", eps=1e-12):
    """Constrain each output unit of ``module.<name>`` to the unit sphere: the Parameter
    becomes ``<name>_orig`` (the direction) and a forward pre-hook recomputes
    ``module.<name>`` = ``unit_norm_weight(<name>_orig)``. Returns ``module``."""
    return _apply("apply_unit_norm_weight", module, name, unit_norm_weight, kwargs={"eps": eps})


class StdConv2d(Conv2d):
    """Conv2d with Weight Standardization: the stored ``weight`` is standardized per output
    channel on every forward (timm's name; the official layer's unbiased std + ε).

    Ŵ_o = (W_o − μ_o)/(σ_o + ε); ``StdConv2d(in_channels, out_channels, kernel_size,
    stride=1, padding=0, dilation=1, groups=1, bias=True, eps=1e-5)``. Backward:
    ``WeightStandardizationFn`` (see ``F.weight_standardization``). Pair it with GroupNorm.
    Paper: Qiao et al. 2019, "Micro-Batch Training with Batch-Channel Normalization and
    Weight Standardization".
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, eps=1e-5, **kwargs):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, **kwargs)
        self.eps = eps

    def forward(self, x):
        from minigrad.ops.conv import conv2d
        return conv2d(x, weight_standardization(self.weight, self.eps), self.bias, self.stride,
                      self.padding, self.dilation, self.groups)


class ScaledStdConv2d(Conv2d):
    """Conv2d with Scaled Weight Standardization and a learnable per-channel ``gain``
    (init 1), as in NF-Nets (timm's name).

    Ŵ_i = g_i·γ·(W_i − μ_i)/√max(N·var_i, ε); ``ScaledStdConv2d(in_channels, out_channels,
    kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True, gamma=1.0,
    eps=1e-4)``. Backward: ``ScaledWeightStandardizationFn`` (see
    ``F.scaled_weight_standardization``).
    Paper: Brock, De, Smith & Simonyan 2021, "High-Performance Large-Scale Image
    Recognition Without Normalization".
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, gamma=1.0, eps=1e-4, **kwargs):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, **kwargs)
        self.gamma, self.eps = gamma, eps
        self.gain = Parameter(ones(out_channels, dtype=self.weight.dtype).data)

    def forward(self, x):
        from minigrad.ops.conv import conv2d
        w = scaled_weight_standardization(self.weight, self.gain, self.gamma, self.eps)
        return conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


# ------------------------------------------------------------------ NF residual block
def nf_residual(x, branch, alpha=0.2, beta=1.0, shortcut=None, skip_gain=None):
    """Normalizer-free residual block: h' = h + α·f(h/β), or, at a transition block,
    h' = shortcut(h/β) + α·f(h/β).

    y = x + α·f(x/β); built from registered ops (division, the branch's own ops, the add),
    so the backward is the tape's: dx = dy + (1/β)·J_fᵀ(α·dy). ``nf_residual(x, branch,
    alpha=0.2, beta=1.0, shortcut=None, skip_gain=None)``: ``beta`` the expected std of x
    (``nf_expected_stds``), ``skip_gain`` NFNet's SkipInit scalar (init 0) multiplying the
    branch output. The branch starts with the (γ-scaled) activation; its convolutions use
    Scaled WS.
    Paper: Brock, De & Smith 2021, "Characterizing signal propagation to close the
    performance gap in unnormalized ResNets".
    """
    check_floating("nf_residual", x=x)
    if beta <= 0:
        raise ValueError(f"nf_residual: beta (the expected std of the input) must be > 0, "
                         f"got {beta}")
    h = x / beta
    out = branch(h)
    if skip_gain is not None:
        out = out * skip_gain
    return (x if shortcut is None else shortcut(h)) + alpha * out


def nf_expected_stds(depths, alpha=0.2):
    """β of every block of an NF-ResNet whose stages have ``depths`` blocks, following the
    NF-Nets code: the expected variance starts at 1 in each stage (its first block is a
    transition, whose shortcut sees the normalized input) and grows by α² per block:
    β = √Var(h_i), Var(h_{i+1}) = Var(h_i) + α². Returns a list of lists (one per stage)."""
    stds = []
    for depth in depths:
        var, stage = 1.0, []
        for i in range(depth):
            stage.append(math.sqrt(var))
            var = (1.0 if i == 0 else var) + alpha ** 2
        stds.append(stage)
    return stds


class NFResidual(Module):
    """A normalizer-free residual block around ``branch`` (NF-ResNet / NFNet):
    h' = h + α·f(h/β) (or ``shortcut(h/β) + α·f(h/β)`` at a transition), optionally with
    a learnable SkipInit gain (init 0) at the end of the branch (NFNet).

    y = x + α·f(x/β); ``NFResidual(branch, alpha=0.2, beta=1.0, shortcut=None,
    skipinit=False)``; see ``F.nf_residual``.
    Paper: Brock, De & Smith 2021, "Characterizing signal propagation to close the
    performance gap in unnormalized ResNets".
    """

    def __init__(self, branch, alpha=0.2, beta=1.0, shortcut=None, skipinit=False):
        super().__init__()
        self.branch, self.shortcut, self.alpha, self.beta = branch, shortcut, alpha, beta
        if skipinit:
            self.skip_gain = Parameter(ones(1).data * 0)
        else:
            self.register_parameter("skip_gain", None)

    def forward(self, x):
        return nf_residual(x, self.branch, self.alpha, self.beta, self.shortcut, self.skip_gain)

    def extra_repr(self):
        return f"alpha={self.alpha}, beta={self.beta}"


__all__ = ["weight_standardization", "scaled_weight_standardization", "unit_norm_weight",
           "nf_residual", "StdConv2d", "ScaledStdConv2d", "NFResidual"]


# ------------------------------------------------------------------ registry
def _nf_checked(x, w, alpha=0.2, beta=1.0):
    """The block the checks differentiate: branch tanh(h·W)."""
    from minigrad.ops.elementwise import tanh
    return nf_residual(x, lambda h: tanh(h @ w), alpha, beta)


def _register():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    pos = lambda r, *s: r.uniform(0.5, 2.0, s)  # noqa: E731
    register(weight_standardization, kind="normalization", catalog_id="N036", module=StdConv2d,
             papers=["Micro-Batch Training with Batch-Channel Normalization and Weight "
                     "Standardization"],
             inputs=lambda r: [Case(n(r, 3, 2, 2, 2)), Case(n(r, 4, 5)),
                               Case(n(r, 2, 3), eps=0.1)])
    register(scaled_weight_standardization, kind="normalization", catalog_id="N037",
             module=ScaledStdConv2d,
             papers=["Characterizing signal propagation to close the performance gap in "
                     "unnormalized ResNets",
                     "High-Performance Large-Scale Image Recognition Without Normalization",
                     "FedWon: Triumphing Multi-domain Federated Learning Without Normalization"],
             inputs=lambda r: [Case(n(r, 3, 2, 2, 2), pos(r, 3)),
                               Case(n(r, 4, 5), pos(r, 4), gamma=NF_GAMMA["relu"]),
                               Case(n(r, 2, 3) * 1e-3, pos(r, 2)),      # clamped: n·var < 1e-4
                               Case(n(r, 3, 4))])
    register(unit_norm_weight, kind="normalization", catalog_id="N039",
             papers=["Pruning On-the-Fly: A Recoverable Pruning Method without Fine-tuning",
                     "Preprint: Norm Loss: An efficient yet effective regularization method for "
                     "deep neural networks"],
             inputs=lambda r: [Case(n(r, 3, 4)), Case(n(r, 3, 2, 2, 2))])
    register(nf_residual, kind="normalization", catalog_id="N038", module=NFResidual,
             papers=["Characterizing signal propagation to close the performance gap in "
                     "unnormalized ResNets",
                     "High-Performance Large-Scale Image Recognition Without Normalization"],
             checked_as=_nf_checked,
             inputs=lambda r: [Case(n(r, 3, 4), n(r, 4, 4) / 2),
                               Case(n(r, 2, 4), n(r, 4, 4) / 2, alpha=0.2, beta=1.1)])


_register()
