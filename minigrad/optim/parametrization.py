"""Width- and depth-aware parametrizations: per-parameter-group learning rates (and weight
decays) and init rescalings computed from how each tensor's shape grows with the model's
width (µP, ``MuP``; the AdamW weight-decay rule of ``width_robust_adamw``) or depth
(Depth-µP, ``DepthMuP``). They build the ``param_groups`` list an ordinary optimizer
(``optim.SGD``, ``optim.Adam``, ``optim.AdamW``) takes, so saving and resuming is the
optimizer's own state dict (the groups' lr / weight_decay are in it).

Width bookkeeping follows microsoft/mup (mup/shape.py, mup/infshape.py): a dimension of a
parameter is *infinite* (a width) when it differs between a ``base`` model and a ``delta``
model (or, without ``delta``, between ``base`` and the model itself); its width multiplier
is dim / base_dim. A parameter with two infinite dimensions is *matrix-like* (hidden
weights), one is *vector-like* (input weights, biases, gains, the readout), none is fixed.
"""
import math

from minigrad.autograd import no_grad
from minigrad.layers.conv import _ConvNd
from minigrad.layers.linear import Linear, linear
from minigrad.layers.module import Module
from minigrad.registry import register
from minigrad.tensor import Tensor

_TP5 = "Feature Learning in Infinite-Width Neural Networks"
_TP6 = "Tensor Programs VI: Feature Learning in Infinite-Depth Neural Networks"
_ROBUST = "Robust Layerwise Scaling Rules by Proper Weight Decay Tuning"


# ----------------------------------------------------------------------- width bookkeeping
def _shapes(name, x):
    if isinstance(x, Module):
        return {n: tuple(p.shape) for n, p in x.named_parameters()}
    if isinstance(x, dict):
        return {n: tuple(s.shape) if isinstance(s, Tensor) else tuple(s) for n, s in x.items()}
    raise TypeError(f"{name}: base/delta must be a Module or a dict of parameter shapes, got "
                    f"{type(x).__name__}")


def _infshapes(name, model, base, delta):
    """{parameter name: ((base_dim or None, dim), ...)}: None marks a finite dimension."""
    shapes = _shapes(name, model)
    base_shapes = _shapes(name, base)
    ref = _shapes(name, delta) if delta is not None else shapes
    out = {}
    for n, shape in shapes.items():
        if n not in base_shapes or n not in ref:
            raise ValueError(f"{name}: parameter {n!r} of the model is missing from the "
                             f"base{'/delta' if delta is not None else ''} model")
        b, r = base_shapes[n], ref[n]
        if not len(b) == len(r) == len(shape):
            raise ValueError(f"{name}: parameter {n!r} has shape {shape} in the model, {b} in "
                             f"the base and {r} in the reference: different numbers of axes")
        out[n] = tuple((bd if bd != rd else None, d) for bd, rd, d in zip(b, r, shape))
    return out


def _ninf(infshape):
    return sum(bd is not None for bd, _ in infshape)


def _mult(dim):
    bd, d = dim
    return 1.0 if bd is None else d / bd


def _width_mult(infshape):
    """The multiplier of the last infinite dimension (fan-in of an inf×inf matrix)."""
    for dim in reversed(infshape):
        if dim[0] is not None:
            return _mult(dim)
    return 1.0


class MuReadout(Linear):
    """The µP output layer: ``MuReadout(in_features, out_features, bias=True,
    readout_zero_init=False, output_mult=1.0)``, y = (output_mult · x / m) Wᵀ + b with m the
    width multiplier of its fan-in (set by ``MuP``; 1 until then).

    Paper: Yang, Hu, Babuschkin, Sidor, Liu, Farhi, Ryder, Pachocki, Chen & Gao 2022,
    "Tensor Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer".
    Where it came from: microsoft/mup mup/layer.py ``MuReadout`` (the 1/width output
    multiplier version of µP); ``readout_zero_init`` zero-initializes W and b.
    """

    def __init__(self, in_features, out_features, bias=True, readout_zero_init=False,
                 output_mult=1.0, dtype="float32", generator=None):
        super().__init__(in_features, out_features, bias=bias, dtype=dtype, generator=generator)
        self.readout_zero_init, self.output_mult = readout_zero_init, output_mult
        self.width_mult = 1.0
        if readout_zero_init:
            self.reset_parameters()

    def reset_parameters(self, generator=None):
        if getattr(self, "readout_zero_init", False):
            with no_grad():
                self.weight.data[...] = 0
                if self.bias is not None:
                    self.bias.data[...] = 0
        else:
            super().reset_parameters(generator)

    def forward(self, x):
        return linear(x * (self.output_mult / self.width_mult), self.weight, self.bias)


class MuP:
    """µP (maximal update parametrization, abc-parametrization with width transfer): the
    per-group learning rates and init rescaling that make a model of width n train like its
    base model of width n₀ (hyperparameters tuned on the base transfer).

    ``MuP(model, base, delta=None, rescale_params=True)`` records every parameter's width
    multipliers (see the module docstring); ``mup.param_groups(lr, optimizer="adam",
    weight_decay=0.0, decoupled_wd=False, params=None)`` returns the groups for
    ``optim.Adam``/``optim.AdamW`` (``optimizer="adam"``) or ``optim.SGD`` (``"sgd"``).
    With m = n/n₀ the multiplier of a parameter (of its fan-in for a matrix):

        Adam-like:  matrix-like (inf×inf):   lr = η/m_in,          wd = λ·m_in
                    vector-like, fixed:       lr = η,               wd = λ
        SGD-like:   matrix-like:              lr = η·m_out/m_in,    wd = λ·m_in/m_out
                    vector-like (one inf):    lr = η·m,             wd = λ/m
                    fixed:                    lr = η,               wd = λ
        (decoupled_wd=True leaves wd = λ: for AdamW-style decay multiplied by lr.)
        init:   hidden weights and biases keep var ∝ 1/fan_in (PyTorch's default); hidden
                biases × √m_in; the readout (``MuReadout``) W, b × √m and its input × 1/m
                (or ``readout_zero_init``); attention logits q·k/d instead of q·k/√d
                (a model-side change: pass ``scale=1/d`` to the attention).

    Paper: Yang & Hu 2021, "Feature Learning in Infinite-Width Neural Networks" (µP, the
    abc-parametrization; Tensor Programs V's table for SGD and Adam, Yang et al. 2022).
    Where it came from: microsoft/mup mup/optim.py (``MuAdam``, ``MuSGD``: the group
    rules above, with their ``decoupled_wd``), mup/shape.py ``set_base_shapes`` (the rescale
    of MuReadout and of Linear/Conv biases when ``rescale_params``), mup/layer.py
    ``MuReadout``. This is the MuReadout form of µP that the code implements (readout
    multiplier 1/m with the readout's LR left as a vector-like parameter's), which the mup
    README states is equivalent to the paper's table (readout init var 1/n², LR η/n for
    SGD). When the model has its base shapes every multiplier is 1: standard PyTorch
    parametrization. ``rescale_params`` is not idempotent (as in mup): call ``MuP`` once.
    """

    def __init__(self, model, base, delta=None, rescale_params=True):
        if not isinstance(model, Module):
            raise TypeError(f"MuP: model must be a Module, got {type(model).__name__}")
        self.model = model
        self.infshapes = _infshapes("MuP", model, base, delta)
        self._names = {id(p): n for n, p in model.named_parameters()}
        prefix_of = {id(m): name for name, m in model.named_modules()}
        for m in model.modules():
            prefix = prefix_of[id(m)] + "." if prefix_of[id(m)] else ""
            if isinstance(m, MuReadout):
                shape = self.infshapes[prefix + "weight"]
                m.width_mult = _width_mult(shape)
                if rescale_params:
                    self._scale(m, math.sqrt(m.width_mult), weight=True)
            elif isinstance(m, (Linear, _ConvNd)) and rescale_params and m.bias is not None:
                self._scale(m, math.sqrt(_mult(self.infshapes[prefix + "weight"][1])), weight=False)

    @staticmethod
    def _scale(module, factor, weight):
        with no_grad():
            for t in ([module.weight] if weight else []) + [module.bias]:
                if t is not None:
                    t.data *= factor
                    t._version += 1

    def infshape(self, p):
        """((base_dim or None, dim), ...) of parameter ``p`` (None: a finite dimension)."""
        if id(p) not in self._names:
            raise ValueError(f"MuP: a tensor of shape {tuple(p.shape)} is not a parameter of "
                             "the model")
        return self.infshapes[self._names[id(p)]]

    def width_mult(self, p):
        return _width_mult(self.infshape(p))

    def param_groups(self, lr, optimizer="adam", weight_decay=0.0, decoupled_wd=False,
                     params=None):
        """Split ``params`` (default: the model's parameters; or a list of groups, whose own
        lr / weight_decay are the base values) into groups with µP-scaled lr and weight_decay."""
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"MuP.param_groups: optimizer must be 'adam' (Adam-like: Adam, "
                             f"AdamW, RMSprop, Adagrad) or 'sgd' (SGD-like), got {optimizer!r}")
        if not lr > 0:
            raise ValueError(f"MuP.param_groups: lr must be > 0, got {lr}")
        groups = self.model.parameters() if params is None else params
        groups = list(groups)
        if groups and not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        out = []
        for group in groups:
            base = {k: v for k, v in group.items() if k != "params"}
            base.setdefault("lr", lr)
            base.setdefault("weight_decay", weight_decay)
            split = {}
            for p in group["params"]:
                shape = self.infshape(p)
                n = _ninf(shape)
                if n > 2:
                    raise NotImplementedError(f"MuP: parameter {self._names[id(p)]!r} has "
                                              f"{n} infinite dimensions (at most 2 supported)")
                if optimizer == "adam":
                    key = ("matrix", _width_mult(shape)) if n == 2 else ("vector", 1.0)
                    lr_factor = 1 / key[1]
                else:
                    if n == 2:
                        key = ("matrix", _mult(shape[1]) / _mult(shape[0]))
                        lr_factor = 1 / key[1]
                    elif n == 1:
                        key = ("vector", _width_mult(shape))
                        lr_factor = key[1]
                    else:
                        key, lr_factor = ("fixed", 1.0), 1.0
                if key not in split:
                    g = dict(base, params=[])
                    g["lr"] = base["lr"] * lr_factor
                    if not decoupled_wd:
                        g["weight_decay"] = base["weight_decay"] / lr_factor
                    split[key] = g
                split[key]["params"].append(p)
            out += list(split.values())
        return out


# -------------------------------------------------------------------------- Depth-µP
class DepthMuP:
    """Depth-µP: the residual-branch multiplier and the per-group learning rates that make
    feature updates of a residual network independent of its depth L.

        x_{l+1} = x_l + (a/√L) · f_l(x_l),   l = 1..L          (``branch_multiplier``)
        lr of the blocks' parameters:  SGD η,   Adam-like η/√L  (times base_depth^½ below)
        parameters outside the blocks (embedding, readout): lr η, unchanged with depth

    ``DepthMuP(num_blocks, a=1.0, base_depth=None)``; ``branch_multiplier`` is a/√L, and
    ``param_groups(lr, block_params, optimizer="adam", params=None)`` scales the lr of every
    parameter in ``block_params`` (``params``: all parameters or groups, e.g. from
    ``MuP.param_groups`` to combine with width µP). With ``base_depth = L₀`` the multiplier
    and the Adam lr are normalized to the base: a·√(L₀/L) and η·√(L₀/L), so a model of depth
    L₀ is unchanged (hyperparameters tuned on it transfer); without it the paper's absolute
    a/√L and η/√L.

    Paper: Yang, Yu, Zhu & Hayou 2023, "Tensor Programs VI: Feature Learning in
    Infinite-Depth Neural Networks" (Depth-µP: block multiplier a·L^(−α), lr η·L^(−γ) with
    α = ½ and γ = 0 for SGD, γ = ½ for Adam-like optimizers; one-layer blocks, where the
    paper proves transfer; it recommends the absolute-value activation inside the blocks).
    No official code: reconstructed from the paper's Depth-µP definition. The weight
    initialization (var ∝ 1/fan_in) is unchanged with depth.
    """

    def __init__(self, num_blocks, a=1.0, base_depth=None):
        if not (isinstance(num_blocks, int) and num_blocks >= 1):
            raise ValueError(f"DepthMuP: num_blocks must be an int >= 1, got {num_blocks!r}")
        if base_depth is not None and not (isinstance(base_depth, int) and base_depth >= 1):
            raise ValueError(f"DepthMuP: base_depth must be an int >= 1, got {base_depth!r}")
        self.num_blocks, self.a, self.base_depth = num_blocks, a, base_depth

    @property
    def depth_factor(self):
        """L^(−½), or (L₀/L)^½ with a base depth."""
        return math.sqrt((self.base_depth or 1) / self.num_blocks)

    @property
    def branch_multiplier(self):
        return self.a * self.depth_factor

    def param_groups(self, lr, block_params, optimizer="adam", params=None):
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"DepthMuP.param_groups: optimizer must be 'adam' or 'sgd', got "
                             f"{optimizer!r}")
        if not lr > 0:
            raise ValueError(f"DepthMuP.param_groups: lr must be > 0, got {lr}")
        block_params = list(block_params)
        blocks = {id(p) for p in block_params}
        groups = block_params if params is None else list(params)
        if groups and not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        factor = self.depth_factor if optimizer == "adam" else 1.0
        out = []
        for group in groups:
            base = {k: v for k, v in group.items() if k != "params"}
            base.setdefault("lr", lr)
            inside = [p for p in group["params"] if id(p) in blocks]
            outside = [p for p in group["params"] if id(p) not in blocks]
            if inside:
                out.append(dict(base, params=inside, lr=base["lr"] * factor))
            if outside:
                out.append(dict(base, params=outside))
        return out


# ------------------------------------------------------------ width-robust AdamW rule
def width_robust_adamw(model, base, lr, weight_decay, vector_lr=None, delta=None):
    """Parameter groups for ``optim.AdamW`` that transfer both lr and weight decay from a
    proxy width d₀ (``base``) to the model's width d:

        matrix-like (two width dims):  η₂ = η₂⁰ · d₀/d       (µP)
                                       λ₂ = λ₂⁰ · √(d/d₀)
        vector-like and fixed (gains, biases, embeddings' one width dim):
                                       η₁ = η₁⁰ (``vector_lr``, default ``lr``),  λ₁ = 0

    with λ AdamW's decoupled coefficient (PyTorch convention: θ ← θ − η(update + λθ)) and
    d/d₀ the width multiplier of a matrix's fan-in. Why √: the top singular value of each
    steady-state matrix scales as √(η/λ)·d^0.75; with η ∝ 1/d it stays width-invariant only
    if λ ∝ √d. Diagnostic: compare ``top_singular_value`` of matching matrices between proxy
    and target.

    Paper: Fan, Liu, Zhao, Yuan & Gu 2025, "Robust Layerwise Scaling Rules by Proper Weight
    Decay Tuning" (abstract and Table 2). Deviation from the catalog row, which wrote
    λ₂ = λ₂⁰·(d/d₀): the paper's rule is λ₂ ∝ √d, followed here. Width bookkeeping (which
    dimensions are widths) as microsoft/mup's base/delta shapes (see ``MuP``).
    """
    if not lr > 0:
        raise ValueError(f"width_robust_adamw: lr must be > 0, got {lr}")
    if not weight_decay >= 0:
        raise ValueError(f"width_robust_adamw: weight_decay must be >= 0, got {weight_decay}")
    vector_lr = lr if vector_lr is None else vector_lr
    infshapes = _infshapes("width_robust_adamw", model, base, delta)
    groups = {}
    for name, p in model.named_parameters():
        shape = infshapes[name]
        n = _ninf(shape)
        if n > 2:
            raise NotImplementedError(f"width_robust_adamw: parameter {name!r} has {n} "
                                      "infinite dimensions (at most 2 supported)")
        if n == 2:
            m = _width_mult(shape)
            key = ("matrix", m)
            spec = dict(lr=lr / m, weight_decay=weight_decay * math.sqrt(m))
        else:
            key, spec = ("vector",), dict(lr=vector_lr, weight_decay=0.0)
        groups.setdefault(key, dict(spec, params=[]))["params"].append(p)
    return list(groups.values())


def top_singular_value(w, iters=None):
    """The largest singular value of a matrix tensor (a 2-D view: out × everything else),
    by SVD: σ₁(W) = max over unit v of ‖W v‖, the diagnostic of ``width_robust_adamw``
    (matched between proxy and target widths). Paper: Fan, Liu, Zhao, Yuan & Gu 2025,
    "Robust Layerwise Scaling Rules by Proper Weight Decay Tuning"."""
    from minigrad.backends import backend_of_array
    a = w.data if isinstance(w, Tensor) else w
    if a.ndim < 2:
        raise ValueError(f"top_singular_value: need a matrix, got shape {tuple(a.shape)}")
    xp = backend_of_array(a).xp
    return float(xp.linalg.svd(a.reshape(a.shape[0], -1), compute_uv=False)[0])


register(MuP, name="mup", kind="optimizer", check="state", catalog_id="O046", papers=[_TP5])
register(DepthMuP, name="depth_mup", kind="optimizer", check="state", catalog_id="O047",
         papers=[_TP6])
register(width_robust_adamw, name="width_robust_adamw", kind="optimizer", check="state",
         catalog_id="O048", papers=[_ROBUST])
