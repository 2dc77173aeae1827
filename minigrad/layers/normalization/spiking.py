"""Membrane-Potential Batch Normalization for spiking neurons (catalog N016):
``mp_batch_norm``, ``MPBNLIF2d``, ``fold_mpbn_threshold``; with the LIF neuron it sits in
(``LIF``) and its spike function with a surrogate gradient (``SpikeFn``).
Formulas from yfguo91/MPBN models/spike_layer.py (mem_update, spike_activation, LIFAct).
"""
import math

from minigrad.autograd import Function
from minigrad.layers.module import Module
from minigrad.layers.normalization.batch import _BatchNorm, batch_norm
from minigrad.ops._checks import check_floating
from minigrad.ops.shape import stack
from minigrad.registry import Case, register

__all__ = ["mp_batch_norm", "MPBNLIF2d", "LIF"]


class SpikeFn(Function):
    """Spike of a normalized membrane potential, with the MPBN code's tanh surrogate.

    Forward: o = 1[v > 1/2] (v = û/V_th; the code fires at half the threshold V_th = 1).
    Backward (custom, not the derivative of the step, which is 0 almost everywhere): the
    gradient of the surrogate s(v) = (tanh(k(clip(v, 0, 1) − 1/2)) + tanh(k/2))/(2·tanh(k/2)),
        dv = dy·k·(1 − tanh²(k(v − 1/2)))/(2·tanh(k/2)) for 0 < v < 1, else 0  (k = ``temp``).
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, v, temp):
        ctx.save_for_backward(v)
        ctx.temp = temp
        return (v > 0.5).astype(v.dtype)

    @staticmethod
    def backward(ctx, gy):
        v, = ctx.saved_tensors
        xp, k = ctx.xp, ctx.temp
        t = xp.tanh((v - 0.5) * k)
        inside = xp.logical_and(v > 0, v < 1)
        return xp.where(inside, gy * (1 - t * t) * (k / (2 * math.tanh(k / 2))), 0 * gy), None


def _lif_steps(x, norm, tau, v_threshold, temp, detach_reset, return_membrane):
    """Run the LIF neuron over x[0..T−1]: u_t = τ·u_{t−1}(1 − o_{t−1}) + x_t, û_t = norm(u_t),
    o_t = SpikeFn(û_t/V_th); returns the spikes (or the û_t) stacked on axis 0."""
    u, outs = None, []
    for t in range(x.shape[0]):
        u = x[t] if u is None else u * tau + x[t]
        uh = norm(u)
        o = SpikeFn.apply(uh / v_threshold, float(temp))
        outs.append(uh if return_membrane else o)
        u = u * (1 - (o.detach() if detach_reset else o))
    return stack(outs, axis=0)


def mp_batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
                  momentum=0.1, eps=1e-5, tau=0.25, v_threshold=1.0, temp=3.0,
                  detach_reset=False, return_membrane=False):
    """LIF spiking neuron with Membrane-Potential Batch Normalization: the BatchNorm sits on
    the membrane potential, just before the firing threshold, at every time step.

    For input currents x (T, N, C, *) (e.g. conv outputs), t = 1..T:
        u_t = τ·u_{t−1}·(1 − o_{t−1}) + x_t   (u_0 = 0, hard reset),
        û_t = γ·(u_t − μ_t)/√(σ²_t + ε) + β   (BatchNorm per channel over (N, *): batch
              statistics in training, one set of running statistics moved at every step;
              running statistics in evaluation),
        o_t = 1[û_t/V_th > 1/2];  returns o (T, N, C, *), or û with ``return_membrane``.
    Backward: exact BatchNorm (``BatchNormFn``) and BPTT through u_t; the spike uses the
    code's tanh surrogate (custom: ``SpikeFn``, help(minigrad.layers.normalization.spiking.SpikeFn));
    ``detach_reset`` stops the gradient through the reset factor (1 − o).
    Evaluation folds into the threshold: o_t = 1[u_t > V̂], V̂ = (V_th/2 − β)·√(σ² + ε)/γ + μ
    for γ > 0 (``fold_mpbn_threshold``).

    Arguments: ``mp_batch_norm(x, running_mean, running_var, weight=None, bias=None,
    training=False, momentum=0.1, eps=1e-5, tau=0.25, v_threshold=1.0, temp=3.0,
    detach_reset=False, return_membrane=False)`` (τ = 0.25, V_th = 1, k = 3 as the code).
    Deviation from the paper's H(û − V_th), following the code (yfguo91/MPBN
    models/spike_layer.py): the spike fires at û/V_th > 1/2.
    Paper: Guo, Zhang, Chen et al. 2023, "Membrane Potential Batch
    Normalization for Spiking Neural Networks".
    """
    op = "mp_batch_norm"
    check_floating(op, x=x)
    if x.ndim < 3:
        raise ValueError(f"{op}: expected input currents of shape (T, N, C, *), got shape "
                         f"{tuple(x.shape)}")
    if v_threshold <= 0:
        raise ValueError(f"{op}: v_threshold must be positive, got {v_threshold}")

    def norm(u):
        return batch_norm(u, running_mean, running_var, weight, bias, training, momentum, eps)
    return _lif_steps(x, norm, float(tau), float(v_threshold), temp, detach_reset,
                      return_membrane)


class LIF(Module):
    """Leaky integrate-and-fire neuron with hard reset over input currents (T, N, *):
    u_t = τ·u_{t−1}·(1 − o_{t−1}) + x_t,  o_t = 1[u_t/V_th > 1/2] (the MPBN code's firing rule,
    tanh surrogate gradient ``SpikeFn``). ``LIF(tau=0.25, v_threshold=1.0, temp=3.0,
    detach_reset=False)``; returns the spikes (T, N, *).
    Paper: Guo, Zhang, Chen et al. 2023, "Membrane Potential Batch
    Normalization for Spiking Neural Networks".
    """

    def __init__(self, tau=0.25, v_threshold=1.0, temp=3.0, detach_reset=False):
        super().__init__()
        self.tau, self.v_threshold, self.temp, self.detach_reset = tau, v_threshold, temp, detach_reset

    def forward(self, x):
        return _lif_steps(x, lambda u: u, self.tau, self.v_threshold, self.temp,
                          self.detach_reset, False)

    def extra_repr(self):
        return f"tau={self.tau}, v_threshold={self.v_threshold}, temp={self.temp}"


class MPBNLIF2d(_BatchNorm):
    """LIF neuron with Membrane-Potential BatchNorm on (T, N, C, H, W) input currents.

    u_t = τ·u_{t−1}(1 − o_{t−1}) + x_t,  o_t = 1[BN(u_t)/V_th > 1/2]; BatchNorm2d's
    parameters and running statistics (moved at every time step in training).
    ``MPBNLIF2d(num_features, tau=0.25, v_threshold=1.0, temp=3.0, eps=1e-5, momentum=0.1,
    affine=True, detach_reset=False)``. Backward: ``BatchNormFn`` + ``SpikeFn`` through time
    (see ``F.mp_batch_norm``).
    Paper: Guo, Zhang, Chen et al. 2023, "Membrane Potential Batch
    Normalization for Spiking Neural Networks".
    """
    _expected_ndim = (5,)
    _layout = "(T, N, C, H, W)"

    def __init__(self, num_features, tau=0.25, v_threshold=1.0, temp=3.0, eps=1e-5,
                 momentum=0.1, affine=True, detach_reset=False):
        super().__init__(num_features, eps, momentum, affine, True)
        self.tau, self.v_threshold, self.temp, self.detach_reset = tau, v_threshold, temp, detach_reset

    def _check_input(self, x):
        name = type(self).__name__
        if x.ndim != 5 or x.shape[2] != self.num_features:
            raise ValueError(f"{name}({self.num_features}): expected input currents of shape "
                             f"(T, N, {self.num_features}, H, W), got shape {tuple(x.shape)}")

    def forward(self, x):
        self._check_input(x)

        def norm(u):
            factor = self._running_average_factor()
            return batch_norm(u, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training, factor, self.eps)
        return _lif_steps(x, norm, self.tau, self.v_threshold, self.temp, self.detach_reset,
                          False)

    def extra_repr(self):
        return super().extra_repr() + f", tau={self.tau}, v_threshold={self.v_threshold}"


def fold_mpbn_threshold(module):
    """The per-channel firing threshold V̂ on the raw membrane potential that an
    evaluation-mode ``MPBNLIF2d`` is equivalent to: BN(u)/V_th > 1/2  ⇔  u > V̂ with
        V̂ = (V_th/2 − β)·√(running_var + ε)/γ + running_mean   (γ > 0 required).
    Returns a NumPy/CuPy array (C,)."""
    from minigrad.backends import backend_of_array
    rm, rv = module.running_mean.data, module.running_var.data
    xp = backend_of_array(rm).xp
    g = module.weight.data if module.weight is not None else xp.ones_like(rm)
    b = module.bias.data if module.bias is not None else xp.zeros_like(rm)
    if bool((g <= 0).any().item()):
        raise ValueError("fold_mpbn_threshold: needs a positive BatchNorm weight γ (the "
                         "inequality flips where γ < 0 and vanishes where γ = 0)")
    return (module.v_threshold / 2 - b) * xp.sqrt(rv + module.eps) / g + rm


# ------------------------------------------------------------------ registry
def _spike_rule(arrays, kwargs, gy):
    """The documented BPTT gradient with the tanh surrogate (NumPy, training mode, no
    running statistics): returns d/dx, d/dγ, d/dβ."""
    import numpy as np
    x, w, b = arrays[0], arrays[3], arrays[4]
    tau, V, k, eps = (kwargs.get("tau", 0.25), kwargs.get("v_threshold", 1.0),
                      kwargs.get("temp", 3.0), 1e-5)
    detach = kwargs.get("detach_reset", False)
    T, N, C = x.shape[:3]
    axes = (0,) + tuple(range(2, x.ndim - 1))
    shape = (1, C) + (1,) * (x.ndim - 3)
    w, b = w.reshape(shape), b.reshape(shape)
    us, xhats, rstds, os, vs = [], [], [], [], []
    m = np.zeros(x.shape[1:])
    for t in range(T):
        u = tau * m + x[t] if t else x[t]
        mu, var = u.mean(axis=axes, keepdims=True), u.var(axis=axes, keepdims=True)
        r = 1 / np.sqrt(var + eps)
        xh = (u - mu) * r
        v = (w * xh + b) / V
        o = (v > 0.5).astype(float)
        us.append(u), xhats.append(xh), rstds.append(r), os.append(o), vs.append(v)
        m = u * (1 - o)
    dx, dw, db = np.zeros_like(x), np.zeros(shape), np.zeros(shape)
    dm = np.zeros(x.shape[1:])
    for t in reversed(range(T)):
        go = gy[t] + (0 if detach else dm * (-us[t]))
        th = np.tanh(k * (vs[t] - 0.5))
        sur = np.where((vs[t] > 0) & (vs[t] < 1), k * (1 - th * th) / (2 * np.tanh(k / 2)), 0.0)
        duh = go * sur / V
        dw += (duh * xhats[t]).sum(axis=axes, keepdims=True)
        db += duh.sum(axis=axes, keepdims=True)
        g = duh * w
        du = rstds[t] * (g - g.mean(axis=axes, keepdims=True)
                         - xhats[t] * (g * xhats[t]).mean(axis=axes, keepdims=True))
        du = du + dm * (1 - os[t])
        dx[t] = du
        dm = tau * du
    return [dx, dw.reshape(C), db.reshape(C)]


def _register():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    pos = lambda r, *s: r.uniform(0.5, 2.0, s)  # noqa: E731
    register(mp_batch_norm, kind="normalization", catalog_id="N016", module=MPBNLIF2d,
             check="fd+custom", backward_rule=_spike_rule,
             papers=["Membrane Potential Batch Normalization for Spiking Neural Networks"],
             inputs=lambda r: [
                 # the normalized membrane potentials with the reset detached: exact BN
                 # backward through time (the spikes are locally constant)
                 Case(n(r, 3, 4, 2, 3), None, None, pos(r, 2), n(r, 2), training=True,
                      detach_reset=True, return_membrane=True),
                 Case(n(r, 1, 3, 2, 2, 2), None, None, pos(r, 2), n(r, 2), training=True,
                      return_membrane=True),
                 Case(n(r, 2, 3, 2, 2), n(r, 2), pos(r, 2), pos(r, 2), n(r, 2), training=False,
                      detach_reset=True, return_membrane=True, wrt=(0, 3, 4)),
                 # the spikes: surrogate gradient through time (custom rule)
                 Case(n(r, 3, 4, 2, 3), None, None, pos(r, 2), n(r, 2) * 0.3 + 0.4,
                      training=True, custom=True),
                 Case(n(r, 3, 4, 2, 2, 2), None, None, pos(r, 2), n(r, 2) * 0.3 + 0.4,
                      training=True, detach_reset=True, custom=True),
             ])


_register()
