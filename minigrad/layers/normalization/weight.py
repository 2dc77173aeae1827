"""Weight reparameterizations: weight normalization (catalog N005) and spectral
normalization (N006).

The ops are functions of the parameters (``weight_norm(v, g)``, ``spectral_norm(weight,
u, v)``); ``apply_weight_norm(module)`` / ``apply_spectral_norm(module)`` reparameterize
any Module's weight with a forward pre-hook that recomputes it before every forward
(``remove_weight_norm`` / ``remove_spectral_norm`` bake it back into a plain Parameter).
"""
import math

from minigrad.autograd import Function, no_grad
from minigrad.backends import backend_of_array
from minigrad.layers.module import Parameter
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor


def _other_axes(ndim, axis):
    return tuple(a for a in range(ndim) if axis is None or a != axis)


class WeightNormFn(Function):
    """Weight Normalization (Salimans & Kingma 2016): w = g·v/‖v‖ per output unit
    (‖v‖ over every axis but ``axis``; over all of v for ``axis=None``).

    Backward, with v̂ = v/‖v‖ and ∂‖v‖/∂v = v̂:
        dg = Σ dw·v̂  (per unit),
        dv = (g/‖v‖)·(dw − v̂·(v̂·dw))  (the radial component removed: w is invariant
        to the scale of v). ‖v‖ is clamped below at ε; in the clamped branch w = g·v/ε and
        dv = g·dw/ε.
    """
    @staticmethod
    def forward(ctx, v, g, axis, eps):
        xp = ctx.xp
        axes = _other_axes(v.ndim, axis)
        raw = xp.sqrt((v * v).sum(axis=axes, keepdims=True))
        clamped = raw < eps
        norm = xp.maximum(raw, eps)
        gb = g.reshape(norm.shape)
        ctx.save_for_backward(v, gb, norm, clamped)
        ctx.axes, ctx.g_shape = axes, g.shape
        return gb * v / norm

    @staticmethod
    def backward(ctx, gw):
        v, gb, norm, clamped = ctx.saved_tensors
        vhat = v / norm
        s = (gw * vhat).sum(axis=ctx.axes, keepdims=True)
        dv = gb / norm * (gw - vhat * s * ~clamped) if ctx.needs_input_grad[0] else None
        dg = s.reshape(ctx.g_shape) if ctx.needs_input_grad[1] else None
        return dv, dg, None, None

    @staticmethod
    def composite(v, g, axis, eps):
        axes = _other_axes(v.ndim, axis)
        norm = (v * v).sum(axis=axes, keepdims=True).sqrt().maximum(eps)
        return g.reshape(norm.shape) * v / norm



class SpectralNormFn(Function):
    """Spectral Normalization (Miyato et al. 2018): W_SN = W/σ, σ = uᵀ W_mat v, with W_mat
    the weight reshaped to (out, −1) (output units on ``axis``) and u, v the power-iteration
    vectors, which are constants here (PyTorch does the same).

    Backward with u, v fixed: ∂σ/∂W = u vᵀ, so
        dW = dW_SN/σ − (Σ dW_SN⊙W/σ²)·u vᵀ = (dW_SN − ⟨dW_SN, W_SN⟩·u vᵀ)/σ.
    When u, v are the converged top singular vectors this is also the exact derivative
    of W/σ_max(W) (the derivative of σ_max is u vᵀ). |σ| < ε is replaced by ε, like the
    norms of ``weight_norm``: an all-zero weight gives W_SN = 0 and dW = dW_SN/ε, not 0/0.
    """
    @staticmethod
    def forward(ctx, w, u, v, axis, eps):
        xp = ctx.xp
        wm = xp.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
        sigma = u @ (wm @ v)
        clamped = bool(xp.abs(sigma) < eps)
        if clamped:
            sigma = xp.asarray(eps, dtype=w.dtype)
        y = w / sigma
        ctx.save_for_backward(y, u, v, sigma)
        ctx.axis, ctx.clamped = axis, clamped
        return y

    @staticmethod
    def backward(ctx, gy):
        y, u, v, sigma = ctx.saved_tensors
        if ctx.clamped:
            return gy / sigma, None, None, None, None
        xp = ctx.xp
        inner = (gy * y).sum()
        moved = tuple(y.shape[ctx.axis:ctx.axis + 1]) + tuple(
            n for i, n in enumerate(y.shape) if i != ctx.axis)
        uv = xp.moveaxis(xp.outer(u, v).reshape(moved), 0, ctx.axis)
        return (gy - inner * uv) / sigma, None, None, None, None

    @staticmethod
    def composite(w, u, v, axis, eps):
        order = (axis,) + tuple(i for i in range(w.ndim) if i != axis)
        wm = w.permute(*order).reshape(w.shape[axis], -1)
        sigma = (Tensor(u) @ (wm @ Tensor(v))).maximum(eps)   # u, v: constants, as above
        return w / sigma



# ------------------------------------------------------------------ functional
def weight_norm(v, g, axis=0, eps=1e-12, dim=None):
    """w = g·v/‖v‖, the norm over every axis of v but ``axis`` (PyTorch: ``dim``; None:
    one norm for the whole tensor). ``g`` holds one value per unit: shape (v.shape[axis],)
    or v's rank with ones elsewhere (a scalar for ``axis=None``).

    dg = Σ dw·v/‖v‖,  dv = (g/‖v‖)(dw − (w·dw summed per unit)·v/(g‖v‖)).
    Backward: ``WeightNormFn`` (help(minigrad.layers.normalization.weight.WeightNormFn)).
    ``weight_norm(v, g, axis=0, eps=1e-12, dim=None)``; PyTorch has only the module
    parametrization (here ``apply_weight_norm``).
    Paper: Salimans & Kingma 2016, "Weight Normalization: A Simple Reparameterization to
    Accelerate Training of Deep Neural Networks".
    """
    check_floating("weight_norm", v=v, g=g)
    if dim is not None:
        axis = dim
    if axis is not None:
        axis %= v.ndim
    units = 1 if axis is None else v.shape[axis]
    if g.numel() != units:
        raise ValueError(f"weight_norm: g of shape {tuple(g.shape)} needs {units} values, one "
                         f"per unit along axis {axis} of v of shape {tuple(v.shape)}")
    return WeightNormFn.apply(v, g, axis, float(eps))


def _normalize(xp, a, eps):
    return a / max(float(xp.sqrt((a * a).sum())), eps)


def _power_iteration(wm, u, v, n, eps):
    """n steps of v = Wᵀu/‖Wᵀu‖, u = Wv/‖Wv‖ on raw arrays (in place)."""
    xp = backend_of_array(wm).xp
    for _ in range(n):
        v[...] = _normalize(xp, wm.T @ u, eps)
        u[...] = _normalize(xp, wm @ v, eps)


def spectral_norm(weight, u, v=None, n_power_iterations=1, eps=1e-12, axis=0, dim=None):
    """W/σ(W) with σ estimated by power iteration: ``n_power_iterations`` steps update the
    persistent vectors ``u`` (weight.shape[axis],) and ``v`` (the other axes' size) in place
    (outside the tape, like PyTorch's training mode; 0 steps reuse them, as in evaluation),
    then σ = uᵀ W v with u, v held constant for the backward. ``v=None`` derives
    v = Wᵀu/‖Wᵀu‖ from ``u`` without storing it.

    Backward (u, v constant): dW = (dŴ − ⟨dŴ, Ŵ⟩·u vᵀ)/σ; ``SpectralNormFn``
    (help(minigrad.layers.normalization.weight.SpectralNormFn)).
    ``spectral_norm(weight, u, v=None, n_power_iterations=1, eps=1e-12, axis=0, dim=None)``.
    Paper: Miyato, Kataoka, Koyama & Yoshida 2018, "Spectral Normalization for Generative
    Adversarial Networks".
    """
    check_floating("spectral_norm", weight=weight)
    if dim is not None:
        axis = dim
    axis %= weight.ndim
    out = weight.shape[axis]
    cols = weight.numel() // out
    if u.shape != (out,) or (v is not None and v.shape != (cols,)):
        raise ValueError(f"spectral_norm: a weight of shape {tuple(weight.shape)} (units on axis "
                         f"{axis}) needs u of shape ({out},) and v of shape ({cols},), got "
                         f"{tuple(u.shape)} and {None if v is None else tuple(v.shape)}")
    xp = backend_of_array(weight.data).xp
    wm = xp.moveaxis(weight.data, axis, 0).reshape(out, cols)
    dtype = weight.dtype
    ua = u.data if u.dtype == dtype else u.data.astype(dtype)
    va = (xp.empty(cols, dtype) if v is None else
          v.data if v.dtype == dtype else v.data.astype(dtype))
    if n_power_iterations > 0:
        if v is None:
            va[...] = _normalize(xp, wm.T @ ua, eps)
        _power_iteration(wm, ua, va, n_power_iterations, eps)
        with no_grad():
            u.data[...] = ua
            u._version += 1
            if v is not None:
                v.data[...] = va
                v._version += 1
    elif v is None:
        va = _normalize(xp, wm.T @ ua, eps)
    return SpectralNormFn.apply(weight, ua.copy(), va.copy(), axis, float(eps))


# ------------------------------------------------------------------ module utilities
class _WeightNormHook:
    def __init__(self, name, axis):
        self.name, self.axis = name, axis

    def compute(self, module):
        return weight_norm(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"),
                           self.axis)

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute(module))


def apply_weight_norm(module, name="weight", dim=0):
    """Reparameterize ``module.<name>`` as g·v/‖v‖ (Salimans & Kingma 2016): the Parameter
    is replaced by ``<name>_g`` (the norms, shaped to broadcast) and ``<name>_v`` (the
    direction), and a forward pre-hook recomputes ``module.<name>`` before each forward.
    ``dim`` is the axis of the output units (None: one norm for the whole weight).
    Returns ``module``."""
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"apply_weight_norm: {type(module).__name__} has no parameter {name!r}")
    hooks = module.__dict__.setdefault("_reparameterizations", {})
    if name in hooks:
        raise RuntimeError(f"apply_weight_norm: {name!r} of {type(module).__name__} is already "
                           "reparameterized")
    xp = backend_of_array(weight.data).xp
    axis = None if dim is None else dim % weight.ndim
    axes = _other_axes(weight.ndim, axis)
    g = xp.sqrt((weight.data * weight.data).sum(axis=axes, keepdims=axis is not None))
    delattr(module, name)
    module.register_parameter(name + "_g", Parameter(g))
    module.register_parameter(name + "_v", Parameter(weight.data.copy()))
    hook = _WeightNormHook(name, axis)
    setattr(module, name, hook.compute(module))
    hooks[name] = ("weight_norm", module.register_forward_pre_hook(hook), hook)
    return module


def remove_weight_norm(module, name="weight"):
    """Undo ``apply_weight_norm``: ``module.<name>`` becomes a plain Parameter again,
    with the current value of g·v/‖v‖."""
    return _remove(module, name, "weight_norm", (name + "_g", name + "_v"), ())


def init_weight_norm_from_data_(module, x, name="weight", out_axis=None):
    """Data-dependent initialization of a weight-normalized ``module`` (Salimans &
    Kingma 2016, §3): on a first minibatch ``x``, with t = (v·x)/‖v‖ the pre-activation of
    each unit (the module's output with g = 1, bias = 0), set g ← 1/std(t) and
    bias ← −mean(t)/std(t), so each unit's pre-activation has mean 0 and variance 1 on
    that batch. ``out_axis`` is the output axis of the units (default: axis 1 if its size
    matches the number of units, else the last). Returns ``module``."""
    g = getattr(module, name + "_g")
    bias = module._parameters.get("bias")
    xp = backend_of_array(g.data).xp
    units = g.numel()
    with no_grad():
        g.data[...] = 1
        if bias is not None:
            bias.data[...] = 0
        t = module(x).data
        axis = out_axis
        if axis is None:
            axis = 1 if t.ndim > 1 and t.shape[1] == units else t.ndim - 1
        axis %= t.ndim
        stat_axes = tuple(a for a in range(t.ndim) if a != axis)
        mean, std = t.mean(axis=stat_axes), t.std(axis=stat_axes)
        std = xp.maximum(std, 1e-12)
        g.data[...] = (1 / std).reshape(g.shape).astype(g.dtype)
        g._version += 1
        if bias is not None:
            bias.data[...] = (-mean / std).reshape(bias.shape).astype(bias.dtype)
            bias._version += 1
        setattr(module, name, module.__dict__["_reparameterizations"][name][2].compute(module))
    return module


class _SpectralNormHook:
    def __init__(self, name, n_power_iterations, eps, axis):
        self.name, self.n, self.eps, self.axis = name, n_power_iterations, eps, axis

    def compute(self, module, n):
        return spectral_norm(getattr(module, self.name + "_orig"), getattr(module, self.name + "_u"),
                             getattr(module, self.name + "_v"), n, self.eps, self.axis)

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute(module, self.n if module.training else 0))


def apply_spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=0):
    """Reparameterize ``module.<name>`` as W/σ(W) (Miyato et al. 2018): the Parameter
    becomes ``<name>_orig``, the power-iteration vectors the buffers ``<name>_u`` and
    ``<name>_v`` (random unit vectors refined by 15 iterations here, as PyTorch does), and a
    forward pre-hook recomputes ``module.<name>`` before each forward, with
    ``n_power_iterations`` steps in training mode and none in eval mode. ``dim`` is the
    axis of the output units (1 for transposed convolutions). Returns ``module``."""
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"apply_spectral_norm: {type(module).__name__} has no parameter {name!r}")
    hooks = module.__dict__.setdefault("_reparameterizations", {})
    if name in hooks:
        raise RuntimeError(f"apply_spectral_norm: {name!r} of {type(module).__name__} is "
                           "already reparameterized")
    b = backend_of_array(weight.data)
    axis = dim % weight.ndim
    out = weight.shape[axis]
    cols = weight.numel() // out
    wm = b.xp.moveaxis(weight.data, axis, 0).reshape(out, cols)
    u = _normalize(b.xp, b.generator().standard_normal(out).astype(weight.dtype), eps)
    v = _normalize(b.xp, b.generator().standard_normal(cols).astype(weight.dtype), eps)
    _power_iteration(wm, u, v, 15, eps)
    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    module.register_buffer(name + "_u", Tensor._wrap(u))
    module.register_buffer(name + "_v", Tensor._wrap(v))
    hook = _SpectralNormHook(name, n_power_iterations, eps, axis)
    setattr(module, name, hook.compute(module, 0))
    hooks[name] = ("spectral_norm", module.register_forward_pre_hook(hook), hook)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo ``apply_spectral_norm``: ``module.<name>`` becomes a plain Parameter holding
    W/σ with the current u, v."""
    return _remove(module, name, "spectral_norm", (name + "_orig",), (name + "_u", name + "_v"))


def _remove(module, name, kind, params, buffers):
    hooks = module.__dict__.get("_reparameterizations", {})
    if hooks.get(name, (None,))[0] != kind:
        raise ValueError(f"remove_{kind}: {name!r} of {type(module).__name__} has no {kind}")
    _, handle, hook = hooks.pop(name)
    handle.remove()
    with no_grad():
        value = hook.compute(module, 0) if kind == "spectral_norm" else hook.compute(module)
    for p in params:
        delattr(module, p)
    for b in buffers:
        delattr(module, b)
        module.__dict__.get("_buffer_names", set()).discard(b)
    setattr(module, name, Parameter(value.data))
    return module


# ------------------------------------------------------------------ registry
def _unit(r, n):
    a = r.standard_normal(n)
    return a / math.sqrt((a * a).sum())


def _register():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    pos = lambda r, *s: r.uniform(0.5, 2.0, s)  # noqa: E731
    register(weight_norm, kind="normalization", catalog_id="N005",
             papers=["Weight Normalization: A Simple Reparameterization to Accelerate Training "
                     "of Deep Neural Networks",
                     "AdamP: Slowing Down the Slowdown for Momentum Optimizers on Scale-invariant "
                     "Weights",
                     "Gradient Weight-normalized Low-rank Projection for Efficient LLM Training"],
             inputs=lambda r: [Case(n(r, 3, 4), pos(r, 3, 1)),
                               Case(n(r, 3, 2, 2, 2), pos(r, 3)),
                               Case(n(r, 4, 3), pos(r, 3), axis=1),
                               Case(n(r, 3, 4), pos(r, 1), axis=None)])
    register(spectral_norm, kind="normalization", catalog_id="N006",
             papers=["Spectral Normalization for Generative Adversarial Networks"],
             inputs=lambda r: [Case(n(r, 4, 3), _unit(r, 4), _unit(r, 3), n_power_iterations=0,
                                    wrt=(0,)),
                               Case(n(r, 3, 2, 2, 2), _unit(r, 3), _unit(r, 8),
                                    n_power_iterations=0, wrt=(0,)),
                               Case(n(r, 2, 5), _unit(r, 5), _unit(r, 2), n_power_iterations=0,
                                    axis=1, wrt=(0,))])


_register()
