"""Normalizations whose statistics are streams carried across training steps, with the
papers' approximate backward passes: PowerNorm (catalog N020), Unified Normalization
(N021) and Online Normalization (N022): ``power_norm``, ``unified_norm``, ``online_norm``,
``PowerNorm``, ``UnifiedNorm``, ``OnlineNorm1d``, ``OnlineNorm2d``.

What is held constant. In training each forward reads and moves buffers (running
statistics), and each backward reads and moves buffers (gradient statistics) in place,
outside the tape: they are state, never differentiated. Their backward passes are NOT the
derivative of the forward (the papers replace the gradient through the batch statistics
with a running estimate of it): those parts are ``custom`` and tested against a replay of
the official rule. Evaluation mode is a per-channel affine map with the exact derivative.

PowerNorm and Unified Normalization are transformer norms: they take channels-last
inputs (..., C) (tokens = every leading axis: (T, B, C) or (B, N, C)), with an optional
boolean ``pad_mask`` of shape (...) (True = padding token, left out of the statistics).
Online Normalization takes channels-first inputs (N, C) or (N, C, *spatial).
"""
import math

from minigrad.autograd import Function, no_grad
from minigrad.creation import ones, zeros
from minigrad.layers.module import Module, Parameter
from minigrad.layers.normalization._util import as_dtype
from minigrad.layers.normalization.layer import rms_norm
from minigrad.ops._checks import check_floating
from minigrad.ops.elementwise import clip
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["power_norm", "unified_norm", "online_norm", "PowerNorm", "UnifiedNorm",
           "OnlineNorm1d", "OnlineNorm2d"]


def _tokens_mean_sq(xp, x2d, mask):
    """Per-channel mean of x² over the tokens that are not padding."""
    if mask is None:
        return (x2d * x2d).mean(axis=0)
    keep = ~mask.reshape(-1)
    return (x2d[keep] * x2d[keep]).mean(axis=0)


def _affine(z, weight, bias, dtype):
    y = z if weight is None else z * as_dtype(weight, dtype)
    return y if bias is None else y + as_dtype(bias, dtype)


def _write(buf, value):
    """Overwrite a buffer in place, in its own dtype."""
    buf[...] = value.astype(buf.dtype, copy=False)


# ------------------------------------------------------------------ PowerNorm (N020)
class PowerNormFn(Function):
    """The PN core of PowerNorm (Shen, Yao, Gholami, Mahoney & Keutzer 2020, Algorithm 1;
    sIncerass/powernorm fairseq/modules/norms/mask_powernorm.py, PowerFunction), on rows
    x (M tokens, C) already group-scaled.

    Forward, training at iteration t (1-based, counted by the caller):
        q_B = mean over non-padding tokens of x²  (quadratic mean, no centering),
        z = x/√(q_B + ε) while t ≤ warmup_iters, else z = x/√(ψ² + ε) (ψ² before this step),
        then (in place, outside the tape) ψ² ← ψ²·(t − 1)/t + q_B/t when t < warmup_iters,
        and always after it ψ² ← α_f·ψ² + (1 − α_f)·q_B (the official code applies both
        during warmup: a cumulative average then one moving-average step);
        y = γ·z + β.
    Evaluation: z = x/√(ψ² + ε), y = γ·z + β.

    Backward, training (custom: NOT the derivative; the statistics are constants, and the
    gradient through them is replaced by a running estimate ν, buffer ``ema_gz``):
        g = dy·γ,  ĝ = g − (1 − α_b)·ν·z,  then ν ← ν + mean_tokens(ĝ·z) (in place; the mean
        runs over every token, padding included, as the official code),
        dx = ĝ/√(q_B + ε)  (the CURRENT batch's q_B even after warmup, as the official code;
        Algorithm 1 of the paper divides by ψ_{t−1}: we follow the code),
        dγ = Σ_tokens dy·z,  dβ = Σ_tokens dy.
    With Γ = mean z², Λ = mean g·z this is ν ← ν·(1 − (1 − α_b)Γ) + Λ; the paper's
    ν_B = ν_{B−1}(1 − (1 − α)Γ_B) + (1 − α)Λ_B with ĝ = g − ν·z is the same rule for
    ν_paper = (1 − α_b)·ν (the code stores ν/(1 − α), we store what the code stores).
    Backward, evaluation (exact): dx = dy·γ/√(ψ² + ε), dγ, dβ as above.
    """
    @staticmethod
    def forward(ctx, x, weight, bias, running_phi, ema_gz, mask, training, current_iter,
                warmup_iters, alpha_fwd, alpha_bkw, eps):
        xp = ctx.xp
        phi = running_phi.astype(x.dtype, copy=False)
        if training:
            q = _tokens_mean_sq(xp, x, mask)
            z = x / xp.sqrt((q if current_iter <= warmup_iters else phi) + eps)
            new = phi
            if current_iter < warmup_iters:
                new = new * (current_iter - 1) / current_iter + q / current_iter
            _write(running_phi, alpha_fwd * new + (1 - alpha_fwd) * q)
            scale = xp.sqrt(q + eps)
        else:
            scale = xp.sqrt(phi + eps)
            z = x / scale
        ctx.save_for_backward(z, scale, weight)
        ctx.training, ctx.ema_gz, ctx.alpha_bkw = training, ema_gz, alpha_bkw
        return _affine(z, weight, bias, x.dtype)

    @staticmethod
    def backward(ctx, gy):
        z, scale, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        g = gy if weight is None else gy * as_dtype(weight, gy.dtype)
        if ctx.training:
            ema = ctx.ema_gz.astype(gy.dtype, copy=False)
            g = g - (1 - ctx.alpha_bkw) * ema * z
            _write(ctx.ema_gz, ema + (g * z).mean(axis=0))
        dx = g / scale
        dw = (gy * z).sum(axis=0) if needs[1] else None
        db = gy.sum(axis=0) if needs[2] else None
        return (dx, dw, db) + (None,) * 9


def power_norm(x, running_phi, ema_gz=None, weight=None, bias=None, training=False,
               current_iter=1, warmup_iters=10000, alpha_fwd=0.9, alpha_bkw=0.9, eps=1e-5,
               group_num=1, pad_mask=None):
    """PowerNorm of channels-last x (..., C) (tokens = every leading axis, e.g. (T, B, C)):
    GroupScaling, then a per-channel division by a running quadratic mean, with the
    paper's approximate backward.

        x̃ = x/√(mean_group(x²) + ε)  per token (GroupScaling, ``group_num`` groups of channels),
        z = x̃/√(q_B + ε) (t ≤ warmup_iters) or x̃/√(ψ² + ε) (after),  y = γ·z + β,
    q_B = per-channel mean of x̃² over the non-padding tokens of the batch, ψ² = ``running_phi``
    (moved in place in training; used alone in evaluation).
    Backward: GroupScaling exactly (it is ``rms_norm`` over each group, without weight, a
    registered op); the PN core by the approximate rule of ``PowerNormFn``
    (help(minigrad.layers.normalization.running.PowerNormFn)): ĝ = dy·γ − (1 − α_b)·ν·z,
    dx̃ = ĝ/√(q_B + ε), ν ← ν + mean(ĝ·z) (``ema_gz``, moved in place in backward).
    Arguments: ``power_norm(x, running_phi, ema_gz=None, weight=None, bias=None,
    training=False, current_iter=1, warmup_iters=10000, alpha_fwd=0.9, alpha_bkw=0.9,
    eps=1e-5, group_num=1, pad_mask=None)``; ``current_iter`` is the 1-based training step
    (the Module counts it), ``pad_mask`` a boolean array of shape x.shape[:-1] (the official
    code takes (B, T) for a (T, B, C) input). The GroupScaling ε is the same ``eps``.
    Paper: Shen, Yao, Gholami, Mahoney & Keutzer 2020, "PowerNorm: Rethinking Batch
    Normalization in Transformers".
    """
    check_floating("power_norm", x=x)
    C = _check_channels_last("power_norm", x, running_phi=running_phi, ema_gz=ema_gz,
                             weight=weight, bias=bias)
    if group_num <= 0 or C % group_num:
        raise ValueError(f"power_norm: {C} channels (input of shape {tuple(x.shape)}) do not "
                         f"split into {group_num} groups")
    mask = _check_mask("power_norm", x, pad_mask, training)
    if training and ema_gz is None:
        raise ValueError("power_norm: training needs the ema_gz buffer (the running "
                         "gradient statistic of the approximate backward)")
    if training and int(current_iter) < 1:
        raise ValueError(f"power_norm: current_iter counts training steps from 1, got "
                         f"{current_iter}")
    lead = x.shape[:-1]
    xg = rms_norm(x.reshape(*lead, group_num, C // group_num), C // group_num, eps=eps)
    y = PowerNormFn.apply(xg.reshape(math.prod(lead), C), weight, bias, running_phi, ema_gz,
                          mask, bool(training), int(current_iter), int(warmup_iters),
                          float(alpha_fwd), float(alpha_bkw), float(eps))
    if training:
        running_phi._version += 1
    return y.reshape(x.shape)


# ------------------------------------------------------------------ Unified Norm (N021)
class UnifiedNormFn(Function):
    """Unified Normalization (Yang, Zhang, Lan, Yang, Li, Tan, Xiao & Pu 2022;
    hikvision-research/Unified-Normalization image_classification/models/
    unified_normalization/unified_normalization.py, UN2dFunction), on rows x (M tokens, C),
    at training iteration t (1-based).

    Forward, training, with windows W_x (w_f rows, ``buffer_x2``) and W_g (w_b rows,
    ``buffer_gz``) indexed cyclically by t:
        q = mean over non-padding tokens of x²  (no centering);
        ρ = unbiased variance of √W_x over ALL its entries (one number; read before the
            window is written: the official code, where the paper's Eq. has a per-channel
            variance);  W_x[t mod w_f] ← q;
        outlier filtration (optional, t ≥ warmup): if any channel has
            mean(W_x) − exp(mean(log W_x)) > w_f·ρ, skip: W_x[t mod w_f] ← running_var;
        skip is also set when w_f = 1;
        σ² = q if t ≤ w_f, t < warmup_iters or skip; else the geometric mean
            exp(mean_window(log W_x)) (fluctuation smoothing);
        r = √(σ² + ε)/√(running_var + ε) clamped to [1/5, 5] (r = 1 while
            t ≤ max(1000, warmup_iters) or on skip): the gradient compensation factor;
        z = x/√(σ² + ε), y = γ·z + β;  running_var ← m·running_var + (1 − m)·σ².
    Evaluation: z = x/√(running_var + ε), y = γ·z + β.

    Backward, training (custom, NOT the derivative: the statistics are constants, the
    gradient through them is replaced by a smoothed estimate):
        g = dy·γ·r;  gz = mean_tokens(g·z) (every token);
        W_g[t mod w_b] ← ema_gz on skip, else gz;
        ψ̄ = gz if t ≤ w_b, t < warmup_iters or skip, else mean_window(W_g);
        ema_gz ← m·ema_gz + (1 − m)·ψ̄;
        ĝ = g − ψ̄·z on skip, else g − ema_gz·z (the updated ema_gz);
        dx = ĝ/√(σ² + ε),  dγ = Σ_tokens dy·r·z,  dβ = Σ_tokens dy.
    Backward, evaluation (exact): dx = dy·γ/√(running_var + ε).
    """
    @staticmethod
    def forward(ctx, x, weight, bias, running_var, ema_gz, buffer_x2, buffer_gz, skip_counter,
                mask, training, t, warmup_iters, outlier_filtration, eps, momentum):
        xp = ctx.xp
        rv = running_var.astype(x.dtype, copy=False)
        if not training:
            scale = xp.sqrt(rv + eps)
            z = x / scale
            ctx.save_for_backward(z, scale, weight, None)
            ctx.training = False
            return _affine(z, weight, bias, x.dtype)
        wf = buffer_x2.shape[0]
        q = _tokens_mean_sq(xp, x, mask)
        skip = wf <= 1
        window = buffer_x2.astype(x.dtype, copy=False)
        roots = xp.sqrt(window)
        rho = ((roots - roots.mean()) ** 2).sum() / max(roots.size - 1, 1)
        _write(buffer_x2[t % wf], q)
        window = buffer_x2.astype(x.dtype, copy=False)
        if t >= warmup_iters and outlier_filtration:
            am = window.mean(axis=0)
            gm = xp.exp(xp.log(window).mean(axis=0))
            if bool(((am - gm) > rho * wf).any()):
                _write(buffer_x2[t % wf], rv)
                window = buffer_x2.astype(x.dtype, copy=False)
                skip = True
                if skip_counter is not None:
                    skip_counter += 1
        if t <= wf or t < warmup_iters or skip:
            var = q
        else:
            var = xp.exp(xp.log(window).mean(axis=0))
        if t <= max(1000, warmup_iters) or skip:
            r = xp.ones_like(var)
        else:
            r = xp.clip(xp.sqrt(var + eps) / xp.sqrt(rv + eps), 1 / 5, 5)
        scale = xp.sqrt(var + eps)
        z = x / scale
        _write(running_var, momentum * rv + (1 - momentum) * var)
        ctx.save_for_backward(z, scale, weight, r)
        ctx.training, ctx.skip, ctx.t, ctx.warmup = True, skip, t, warmup_iters
        ctx.ema_gz, ctx.buffer_gz, ctx.momentum = ema_gz, buffer_gz, momentum
        return _affine(z, weight, bias, x.dtype)

    @staticmethod
    def backward(ctx, gy):
        z, scale, weight, r = ctx.saved_tensors
        needs = ctx.needs_input_grad
        g = gy if weight is None else gy * as_dtype(weight, gy.dtype)
        zr = z
        if ctx.training:
            g = g * r
            zr = z * r
            wb, t, m = ctx.buffer_gz.shape[0], ctx.t, ctx.momentum
            ema = ctx.ema_gz.astype(gy.dtype, copy=False)
            gz = (g * z).mean(axis=0)
            _write(ctx.buffer_gz[t % wb], ema if ctx.skip else gz)
            if t <= wb or t < ctx.warmup or ctx.skip:
                mean_gz = gz
            else:
                mean_gz = ctx.buffer_gz.astype(gy.dtype, copy=False).mean(axis=0)
            ema = m * ema + (1 - m) * mean_gz
            _write(ctx.ema_gz, ema)
            g = g - (mean_gz if ctx.skip else ema) * z
        dx = g / scale
        dw = (gy * zr).sum(axis=0) if needs[1] else None
        db = gy.sum(axis=0) if needs[2] else None
        return (dx, dw, db) + (None,) * 12


def unified_norm(x, running_var, ema_gz=None, buffer_x2=None, buffer_gz=None, weight=None,
                 bias=None, training=False, current_iter=1, warmup_iters=4000,
                 outlier_filtration=False, eps=1e-5, momentum=0.9, pad_mask=None,
                 skip_counter=None):
    """Unified Normalization of channels-last x (..., C) (tokens = every leading axis,
    e.g. (B, N, C)): a per-channel division by a smoothed quadratic mean, foldable into the
    next linear layer at inference, with the paper's approximate backward.

        σ² = geometric mean of the last w_f per-channel means of x² (after warmup; the
             current one before),  z = x/√(σ² + ε),  y = γ·z + β,
        running_var ← m·running_var + (1 − m)·σ²  (evaluation: σ² = running_var).
    Backward: the custom rule of ``UnifiedNormFn``
    (help(minigrad.layers.normalization.running.UnifiedNormFn)): dx = (g − ψ·z)/√(σ² + ε),
    g = dy·γ·r, ψ a moving average of windowed means of mean(g·z), r the clamped ratio
    √(σ² + ε)/√(running_var + ε) (gradient compensation).
    Buffers (moved in place in training): ``running_var`` (C,), ``ema_gz`` (C,),
    ``buffer_x2`` (w_f, C) and ``buffer_gz`` (w_b, C) windows (w_f = w_b = 4 by default),
    ``skip_counter`` (optional, counts outlier skips).
    Arguments: ``unified_norm(x, running_var, ema_gz=None, buffer_x2=None, buffer_gz=None,
    weight=None, bias=None, training=False, current_iter=1, warmup_iters=4000,
    outlier_filtration=False, eps=1e-5, momentum=0.9, pad_mask=None, skip_counter=None)``;
    ``momentum`` weighs the OLD value (UN's convention, not BatchNorm's).
    Paper: Yang, Zhang, Lan, Yang, Li, Tan, Xiao & Pu 2022, "Unified Normalization for
    Accelerating and Stabilizing Transformers".
    """
    check_floating("unified_norm", x=x)
    C = _check_channels_last("unified_norm", x, running_var=running_var, ema_gz=ema_gz,
                             weight=weight, bias=bias)
    mask = _check_mask("unified_norm", x, pad_mask, training)
    if training:
        for name, buf in (("ema_gz", ema_gz), ("buffer_x2", buffer_x2), ("buffer_gz", buffer_gz)):
            if buf is None:
                raise ValueError(f"unified_norm: training needs the {name} buffer")
        for name, buf in (("buffer_x2", buffer_x2), ("buffer_gz", buffer_gz)):
            if buf.ndim != 2 or buf.shape[1] != C or buf.shape[0] < 1:
                raise ValueError(f"unified_norm: {name} must have shape (window, {C}), got "
                                 f"{tuple(buf.shape)}")
        if int(current_iter) < 1:
            raise ValueError(f"unified_norm: current_iter counts training steps from 1, got "
                             f"{current_iter}")
    lead = x.shape[:-1]
    y = UnifiedNormFn.apply(x.reshape(math.prod(lead), C), weight, bias, running_var, ema_gz,
                            buffer_x2, buffer_gz, skip_counter, mask, bool(training),
                            int(current_iter), int(warmup_iters), bool(outlier_filtration),
                            float(eps), float(momentum))
    if training:
        for buf in (running_var, buffer_x2):
            buf._version += 1
    return y.reshape(x.shape)


# ------------------------------------------------------------------ Online Norm (N022)
class OnlineNormFn(Function):
    """The normalizer of Online Normalization (Chiley, Sharapov, Kosson, Koster, Reece,
    Samaniego de la Fuente, Subbiah & James 2019: the forward statistics and the backward
    control process, as the official reference Cerebras/online-normalization
    online-norm/numpy_on/online_norm_2d.py, norm_forward / norm_backward, writes them), on
    x (N, C, L): samples are processed one after another, per channel.

    Forward, training, for t = 1..N with the per-sample spatial statistics
    μ_t = mean_L x_t, s²_t = mean_L (x_t − μ_t)² (s² = 0 for L = 1):
        y_t = (x_t − μ)/√(σ² + ε)   (the statistics BEFORE sample t),
        σ² ← α_f·σ² + (1 − α_f)·s²_t + α_f(1 − α_f)·(μ_t − μ)²,
        μ ← μ + (1 − α_f)·(μ_t − μ)       (buffers running_mean, running_var, in place).
    Evaluation: y = (x − μ)/√(σ² + ε) with the stored μ, σ².

    Backward, training (custom: the paper's control process, NOT the derivative of the
    forward, whose statistics depend on earlier samples only): for t = 1..N, with buffers
    u, v (per channel, moved in place):
        g' = dy_t − (1 − α_b)·v·y_t,   v ← v + mean_L(g'·y_t),
        dx_t = g'/√(σ²_{t−1} + ε) − (1 − α_b)·u,   u ← u + mean_L(dx_t).
    (the first line removes the component of the gradient along y, the third its mean,
    each estimated by a running sum). Backward, evaluation (exact): dx = dy/√(σ² + ε).
    """
    @staticmethod
    def forward(ctx, x, running_mean, running_var, u, v, training, alpha_fwd, alpha_bkw, eps):
        xp = ctx.xp
        N, C = x.shape[:2]
        x3 = x.reshape(N, C, -1)
        m = running_mean.astype(x.dtype)          # copies: the stream runs in x's dtype
        s = running_var.astype(x.dtype)
        if training:
            mu = x3.mean(axis=2)
            var = ((x3 - mu[:, :, None]) ** 2).mean(axis=2)
            center = xp.empty((N, C), dtype=x.dtype)
            scale = xp.empty((N, C), dtype=x.dtype)
            for t in range(N):
                center[t] = m
                scale[t] = xp.sqrt(s + eps)
                s = (alpha_fwd * s + (1 - alpha_fwd) * var[t]
                     + alpha_fwd * (1 - alpha_fwd) * (mu[t] - m) ** 2)
                m = m + (1 - alpha_fwd) * (mu[t] - m)
            _write(running_mean, m)
            _write(running_var, s)
            y = (x3 - center[:, :, None]) / scale[:, :, None]
            scale = scale[:, :, None]
        else:
            scale = xp.sqrt(s + eps)[None, :, None]
            y = (x3 - m[None, :, None]) / scale
        ctx.save_for_backward(y, scale)
        ctx.training, ctx.u, ctx.v, ctx.alpha_bkw = training, u, v, alpha_bkw
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        y, scale = ctx.saved_tensors
        gy3 = gy.reshape(y.shape)
        if not ctx.training:
            return (gy3 / scale).reshape(gy.shape), None, None, None, None, None, None, None, None
        a = 1 - ctx.alpha_bkw
        u = ctx.u.astype(gy.dtype)
        v = ctx.v.astype(gy.dtype)
        dx = xp.empty_like(gy3)
        for t in range(gy3.shape[0]):
            g = gy3[t] - a * v[:, None] * y[t]
            v = v + (g * y[t]).mean(axis=1)
            dx[t] = g / scale[t] - a * u[:, None]
            u = u + dx[t].mean(axis=1)
        _write(ctx.u, u)
        _write(ctx.v, v)
        return dx.reshape(gy.shape), None, None, None, None, None, None, None, None


def online_norm(x, running_mean, running_var, u=None, v=None, weight=None, bias=None,
                training=False, alpha_fwd=0.999, alpha_bkw=0.99, eps=1e-5, ecm="ac",
                clamp_value=5.0, ls_eps=1e-5):
    """Online Normalization of x (N, C) or (N, C, *spatial): each sample normalized per
    channel by running statistics of the samples before it (no batch dependence), with the
    paper's control-process backward; then the affine map and an error-compensation step.

        y_t = (x_t − μ_{t−1})/√(σ²_{t−1} + ε),
        σ²_t = α_f·σ²_{t−1} + (1 − α_f)·s²(x_t) + α_f(1 − α_f)·(μ(x_t) − μ_{t−1})²,
        μ_t = α_f·μ_{t−1} + (1 − α_f)·μ(x_t)   (μ, s² of x_t over its spatial axes),
        out = ECM(γ·y + β),  ECM = clip(·, −5, 5) ("ac", activation clamping), or
        ·/√(mean_{C,*}(·²) + ε_ls) per sample ("ls", layer scaling), or none.
    The paper's error compensation is layer scaling; activation clamping is the later
    default of the official code (Cerebras, "Error Compensation Mechanism in Online
    Normalization"), followed here.
    ``running_mean``/``running_var`` (μ, σ²; init 0 and 1) move in place in training and
    are used alone in evaluation; ``u``, ``v`` (init 0) move in place in backward.
    Backward: the normalizer by the paper's rule in ``OnlineNormFn``
    (help(minigrad.layers.normalization.running.OnlineNormFn)); the affine map, clamping
    (zero gradient where the output hit ±clamp_value) and layer scaling (``rms_norm``, a
    registered op) exactly.
    Arguments: ``online_norm(x, running_mean, running_var, u=None, v=None, weight=None,
    bias=None, training=False, alpha_fwd=0.999, alpha_bkw=0.99, eps=1e-5, ecm="ac",
    clamp_value=5.0, ls_eps=1e-5)``; ``ecm`` is "ac", "ls" or None.
    Paper: Chiley et al. 2019, "Online Normalization for Training Neural Networks".
    """
    check_floating("online_norm", x=x)
    if x.ndim < 2:
        raise ValueError(f"online_norm: expected an input of shape (N, C) or (N, C, *), got "
                         f"shape {tuple(x.shape)}")
    C = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("u", u),
                    ("v", v), ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (C,):
            raise ValueError(f"online_norm: {name} of shape {tuple(t.shape)} does not match "
                             f"the {C} channels of an input of shape {tuple(x.shape)}")
    if running_mean is None or running_var is None:
        raise ValueError("online_norm: running_mean and running_var are required (the "
                         "streaming statistics are the method)")
    if training and (u is None or v is None):
        raise ValueError("online_norm: training needs the u and v buffers of the backward "
                         "control process")
    if ecm not in ("ac", "ls", None, "none"):
        raise ValueError(f"online_norm: ecm must be 'ac', 'ls' or None, got {ecm!r}")
    y = OnlineNormFn.apply(x, running_mean, running_var, u, v, bool(training),
                           float(alpha_fwd), float(alpha_bkw), float(eps))
    if training:
        running_mean._version += 1
        running_var._version += 1
    shape = (1, C) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    if ecm == "ac":
        y = clip(y, -float(clamp_value), float(clamp_value))
    elif ecm == "ls":
        F = math.prod(x.shape[1:])
        y = rms_norm(y.reshape(x.shape[0], F), F, eps=float(ls_eps)).reshape(x.shape)
    return y


# ------------------------------------------------------------------ checks
def _check_channels_last(op, x, **params):
    if x.ndim < 1:
        raise ValueError(f"{op}: expected a channels-last input (..., C), got a 0-d tensor")
    C = x.shape[-1]
    for name, t in params.items():
        if t is not None and tuple(t.shape) != (C,):
            raise ValueError(f"{op}: {name} of shape {tuple(t.shape)} does not match the {C} "
                             f"channels (last axis) of an input of shape {tuple(x.shape)}")
    if math.prod(x.shape[:-1]) < 1:
        raise ValueError(f"{op}: an input of shape {tuple(x.shape)} has no tokens")
    return C


def _check_mask(op, x, pad_mask, training):
    if pad_mask is None:
        return None
    if isinstance(pad_mask, Tensor):
        m = pad_mask.data
    else:                                    # host arrays and lists go to x's device
        from minigrad.backends import backend_of_array
        m = backend_of_array(x.data).asarray(pad_mask)
    if tuple(m.shape) != tuple(x.shape[:-1]) or m.dtype != bool:
        raise ValueError(f"{op}: pad_mask must be a boolean array of shape "
                         f"{tuple(x.shape[:-1])} (True = padding), got {m.dtype} "
                         f"{tuple(m.shape)}")
    if training and bool(m.all()):
        raise ValueError(f"{op}: every token is padding; the statistics need at least one")
    return m


# ------------------------------------------------------------------ modules
class PowerNorm(Module):
    """PowerNorm over channels-last (..., C) inputs (a transformer's (T, B, C) or (B, T, C)).

    x̃ = GroupScaling(x), z = x̃/√(q_B + ε) during warmup, x̃/√(ψ² + ε) after (ψ²: running
    quadratic mean, used alone in eval), y = γ·z + β; approximate backward (``F.power_norm``).
    ``PowerNorm(num_features, eps=1e-5, alpha_fwd=0.9, alpha_bkw=0.9, affine=True,
    warmup_iters=10000, group_num=1)`` (the official MaskPowerNorm's defaults); buffers
    running_phi (init 1), ema_gz (init 0), iters (training steps). ``forward(x,
    pad_mask=None)``. The running statistic is PowerNorm's own (no ``momentum=None``).
    Paper: Shen, Yao, Gholami, Mahoney & Keutzer 2020, "PowerNorm: Rethinking Batch
    Normalization in Transformers".
    """

    def __init__(self, num_features, eps=1e-5, alpha_fwd=0.9, alpha_bkw=0.9, affine=True,
                 warmup_iters=10000, group_num=1):
        super().__init__()
        self.num_features, self.eps, self.affine = num_features, eps, affine
        self.alpha_fwd, self.alpha_bkw = alpha_fwd, alpha_bkw
        self.warmup_iters, self.group_num = warmup_iters, group_num
        _affine_params(self, num_features, affine)
        self.register_buffer("running_phi", ones(num_features))
        self.register_buffer("ema_gz", zeros(num_features))
        self.register_buffer("iters", Tensor(0))

    def forward(self, x, pad_mask=None):
        if self.training:
            self.iters.add_(1)
        return power_norm(x, self.running_phi, self.ema_gz, self.weight, self.bias,
                          self.training, int(self.iters.item()) if self.training else 1,
                          self.warmup_iters, self.alpha_fwd, self.alpha_bkw, self.eps,
                          self.group_num, pad_mask)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, alpha_fwd={self.alpha_fwd}, "
                f"alpha_bkw={self.alpha_bkw}, warmup_iters={self.warmup_iters}, "
                f"group_num={self.group_num}")


class UnifiedNorm(Module):
    """Unified Normalization (UN1d of the official code) over channels-last (..., C) inputs.

    z = x/√(σ² + ε), σ² the geometric mean of a window of per-channel quadratic means
    (after warmup), y = γ·z + β; running_var used alone in eval; approximate backward
    (``F.unified_norm``). ``UnifiedNorm(num_features, window_size=4, warmup_iters=4000,
    outlier_filtration=False, eps=1e-5, momentum=0.9)``; ``window_size`` an int or a pair
    (forward window, backward window); the paper suggests ``outlier_filtration=True`` for
    vision. Buffers: running_var (init 1), ema_gz (0), buffer_x2, buffer_gz (0), iters,
    skip_counter. ``forward(x, pad_mask=None)``.
    Paper: Yang, Zhang, Lan, Yang, Li, Tan, Xiao & Pu 2022, "Unified Normalization for
    Accelerating and Stabilizing Transformers".
    """

    def __init__(self, num_features, window_size=4, warmup_iters=4000, outlier_filtration=False,
                 eps=1e-5, momentum=0.9):
        super().__init__()
        wf, wb = (window_size, window_size) if isinstance(window_size, int) else tuple(window_size)
        self.num_features, self.window_size = num_features, (wf, wb)
        self.warmup_iters, self.outlier_filtration = warmup_iters, outlier_filtration
        self.eps, self.momentum = eps, momentum
        _affine_params(self, num_features, True)
        self.register_buffer("running_var", ones(num_features))
        self.register_buffer("ema_gz", zeros(num_features))
        self.register_buffer("buffer_x2", zeros(wf, num_features))
        self.register_buffer("buffer_gz", zeros(wb, num_features))
        self.register_buffer("iters", Tensor(0))
        self.register_buffer("skip_counter", Tensor(0))

    def forward(self, x, pad_mask=None):
        if self.training:
            self.iters.add_(1)
        return unified_norm(x, self.running_var, self.ema_gz, self.buffer_x2, self.buffer_gz,
                            self.weight, self.bias, self.training,
                            int(self.iters.item()) if self.training else 1, self.warmup_iters,
                            self.outlier_filtration, self.eps, self.momentum, pad_mask,
                            self.skip_counter)

    def extra_repr(self):
        return (f"{self.num_features}, window_size={self.window_size}, "
                f"warmup_iters={self.warmup_iters}, outlier_filtration={self.outlier_filtration}, "
                f"eps={self.eps}, momentum={self.momentum}")


class _OnlineNorm(Module):
    _expected_ndim = ()
    _layout = ""

    def __init__(self, num_features, alpha_fwd=0.999, alpha_bkw=0.99, eps=1e-5, affine=True,
                 ecm="ac", ls_eps=1e-5, clamp_val=5.0):
        super().__init__()
        self.num_features, self.alpha_fwd, self.alpha_bkw = num_features, alpha_fwd, alpha_bkw
        self.eps, self.affine, self.ecm, self.ls_eps, self.clamp_val = (
            eps, affine, ecm, ls_eps, clamp_val)
        _affine_params(self, num_features, affine)
        self.register_buffer("running_mean", zeros(num_features))
        self.register_buffer("running_var", ones(num_features))
        self.register_buffer("u", zeros(num_features))
        self.register_buffer("v", zeros(num_features))

    def reset_running_stats(self):
        with no_grad():
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.u.zero_()
            self.v.zero_()

    def forward(self, x):
        name = type(self).__name__
        if x.ndim not in self._expected_ndim or x.shape[1] != self.num_features:
            raise ValueError(f"{name}({self.num_features}): expected an input of shape "
                             f"{self._layout} with {self.num_features} channels, got shape "
                             f"{tuple(x.shape)}")
        return online_norm(x, self.running_mean, self.running_var, self.u, self.v, self.weight,
                           self.bias, self.training, self.alpha_fwd, self.alpha_bkw, self.eps,
                           self.ecm, self.clamp_val, self.ls_eps)

    def extra_repr(self):
        return (f"{self.num_features}, alpha_fwd={self.alpha_fwd}, alpha_bkw={self.alpha_bkw}, "
                f"eps={self.eps}, affine={self.affine}, ecm={self.ecm!r}")


class OnlineNorm1d(_OnlineNorm):
    """Online Normalization of (N, C) or (N, C, L) inputs, per channel, sample after sample.

    y_t = (x_t − μ_{t−1})/√(σ²_{t−1} + ε), then γ·y + β and clamping to ±5 ("ac") or layer
    scaling ("ls"); control-process backward (``F.online_norm``).
    ``OnlineNorm1d(num_features, alpha_fwd=0.999, alpha_bkw=0.99, eps=1e-5, affine=True,
    ecm="ac", ls_eps=1e-5, clamp_val=5.0)`` (the official defaults); buffers running_mean
    (init 0), running_var (init 1), u, v (init 0). The decay factors are the paper's, so there
    is no ``momentum`` (nor BatchNorm's ``momentum=None``).
    Paper: Chiley et al. 2019, "Online Normalization for Training Neural Networks".
    """
    _expected_ndim = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class OnlineNorm2d(_OnlineNorm):
    """Online Normalization of (N, C, H, W) inputs: per channel, sample after sample, with
    each sample's spatial mean and variance feeding the streaming statistics.

    y_t = (x_t − μ_{t−1})/√(σ²_{t−1} + ε), then γ·y + β and clamping ("ac") or layer scaling
    ("ls"); arguments as ``OnlineNorm1d``. Backward: ``F.online_norm``.
    Paper: Chiley et al. 2019, "Online Normalization for Training Neural Networks".
    """
    _expected_ndim = (4,)
    _layout = "(N, C, H, W)"


def _affine_params(module, num_features, affine):
    if affine:
        module.weight = Parameter(ones(num_features))
        module.bias = Parameter(zeros(num_features))
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


# ------------------------------------------------------------------ registry
# The checks call these wrappers: the state buffers arrive as keyword arrays and are copied
# before each call, so every finite-difference evaluation and the replay of the documented
# rule start from the same state. The rules below replay the official reference code
# step by step on NumPy arrays (registry code, not op code).
def _state(kwargs, names):
    return {k: (kwargs[k].clone() if kwargs.get(k) is not None else None) for k in names}


def _power_norm_checked(x, weight=None, bias=None, **kwargs):
    """``power_norm`` with fresh copies of its buffers (for the checks)."""
    st = _state(kwargs, ("running_phi", "ema_gz"))
    rest = {k: v for k, v in kwargs.items() if k not in st}
    return power_norm(x, st["running_phi"], st["ema_gz"], weight, bias, **rest)


def _unified_norm_checked(x, weight=None, bias=None, **kwargs):
    """``unified_norm`` with fresh copies of its buffers (for the checks)."""
    names = ("running_var", "ema_gz", "buffer_x2", "buffer_gz")
    st = _state(kwargs, names)
    rest = {k: v for k, v in kwargs.items() if k not in st}
    return unified_norm(x, st["running_var"], st["ema_gz"], st["buffer_x2"], st["buffer_gz"],
                        weight, bias, **rest)


def _online_norm_checked(x, weight=None, bias=None, **kwargs):
    """``online_norm`` with fresh copies of its buffers (for the checks)."""
    st = _state(kwargs, ("running_mean", "running_var", "u", "v"))
    rest = {k: v for k, v in kwargs.items() if k not in st}
    return online_norm(x, st["running_mean"], st["running_var"], st["u"], st["v"], weight, bias,
                       **rest)


def _np(a):
    import numpy
    return None if a is None else numpy.array(a.numpy() if isinstance(a, Tensor) else a)


def _present(arrays, grads):
    return [g for a, g in zip(arrays, grads) if a is not None]


def _power_norm_rule(arrays, kwargs, gy):
    import numpy as np
    x, w, b = (list(arrays) + [None, None])[:3]
    C = x.shape[-1]
    G = kwargs.get("group_num", 1)
    eps = kwargs.get("eps", 1e-5)
    ab = kwargs.get("alpha_bkw", 0.9)
    t, warm = kwargs.get("current_iter", 1), kwargs.get("warmup_iters", 10000)
    phi, ema = _np(kwargs["running_phi"]), _np(kwargs["ema_gz"])
    mask = _np(kwargs.get("pad_mask"))
    xs = x.reshape(-1, G, C // G)
    rs = np.sqrt((xs ** 2).mean(axis=2, keepdims=True) + eps)           # GroupScaling1D
    xt = (xs / rs).reshape(-1, C)
    keep = np.ones(len(xt), bool) if mask is None else ~mask.reshape(-1)
    q = (xt[keep] ** 2).mean(axis=0)
    z = xt / np.sqrt((q if t <= warm else phi) + eps)
    g2 = gy.reshape(-1, C)
    g = g2 * (1.0 if w is None else w)
    approx = g - (1 - ab) * ema * z                                       # PowerFunction.backward
    dxt = (approx / np.sqrt(q + eps)).reshape(xs.shape)
    o = xs / rs
    dx = (dxt - o * (dxt * o).mean(axis=2, keepdims=True)) / rs           # exact GroupScaling
    return _present([x, w, b], [dx.reshape(x.shape), (g2 * z).sum(axis=0), g2.sum(axis=0)])


def _unified_norm_rule(arrays, kwargs, gy):
    import numpy as np
    x, w, b = (list(arrays) + [None, None])[:3]
    C = x.shape[-1]
    eps, m = kwargs.get("eps", 1e-5), kwargs.get("momentum", 0.9)
    rv = _np(kwargs["running_var"])
    x2 = x.reshape(-1, C)
    g2 = gy.reshape(-1, C)
    g = g2 * (1.0 if w is None else w)
    if not kwargs.get("training", False):
        z = x2 / np.sqrt(rv + eps)
        return _present([x, w, b], [(g / np.sqrt(rv + eps)).reshape(x.shape),
                                    (g2 * z).sum(axis=0), g2.sum(axis=0)])
    t, warm = kwargs.get("current_iter", 1), kwargs.get("warmup_iters", 4000)
    bx, bg, ema = _np(kwargs["buffer_x2"]), _np(kwargs["buffer_gz"]), _np(kwargs["ema_gz"])
    mask = _np(kwargs.get("pad_mask"))
    wf, wb = len(bx), len(bg)
    keep = np.ones(len(x2), bool) if mask is None else ~mask.reshape(-1)
    q = (x2[keep] ** 2).mean(axis=0)
    skip = wf <= 1
    recorded = np.var(np.sqrt(bx), ddof=1)
    bx[t % wf] = q
    if t >= warm and kwargs.get("outlier_filtration", False):
        if ((bx.mean(axis=0) - np.exp(np.log(bx).mean(axis=0))) > recorded * wf).any():
            bx[t % wf] = rv
            skip = True
    var = q if (t <= wf or t < warm or skip) else np.exp(np.log(bx).mean(axis=0))
    r = np.sqrt(var + eps) / np.sqrt(rv + eps)
    r = np.ones_like(r) if (t <= max(1000, warm) or skip) else np.clip(r, 0.2, 5.0)
    z = x2 / np.sqrt(var + eps)
    gr = g * r
    gz = (gr * z).mean(axis=0)
    bg[t % wb] = ema if skip else gz
    mean_gz = gz if (t <= wb or t < warm or skip) else bg.mean(axis=0)
    ema = ema * m + (1 - m) * mean_gz
    approx = gr - (mean_gz if skip else ema) * z
    return _present([x, w, b], [(approx / np.sqrt(var + eps)).reshape(x.shape),
                                (g2 * r * z).sum(axis=0), g2.sum(axis=0)])


def _online_norm_rule(arrays, kwargs, gy):
    """Cerebras numpy_on norm_forward / norm_backward, then the affine map and the ECM."""
    import numpy as np
    x, w, b = (list(arrays) + [None, None])[:3]
    N, C = x.shape[:2]
    afwd, abkw = kwargs.get("alpha_fwd", 0.999), kwargs.get("alpha_bkw", 0.99)
    eps = kwargs.get("eps", 1e-5)
    mstream, varstream = _np(kwargs["running_mean"]), _np(kwargs["running_var"])
    ustream, vstream = _np(kwargs["u"]), _np(kwargs["v"])
    x3 = x.reshape(N, C, -1)
    mu = x3.mean(axis=2)
    var = ((x3 - mu[:, :, None]) ** 2).mean(axis=2)
    center, scale = np.empty((N, C)), np.empty((N, C))
    for i in range(N):
        center[i], scale[i] = mstream, np.sqrt(varstream + eps)
        varstream = (afwd * varstream + (1 - afwd) * var[i]
                     + afwd * (1 - afwd) * (mu[i] - mstream) ** 2)
        mstream = mstream + (1 - afwd) * (mu[i] - mstream)
    out = (x3 - center[:, :, None]) / scale[:, :, None]
    ww = np.ones(C) if w is None else w
    a = out * ww[None, :, None] + (0.0 if b is None else b[None, :, None])
    ga = gy.reshape(N, C, -1)
    ecm = kwargs.get("ecm", "ac")
    if ecm == "ac":
        c = kwargs.get("clamp_value", 5.0)
        ga = np.where(np.abs(a) < c, ga, 0.0)
    elif ecm == "ls":
        s = np.sqrt((a ** 2).reshape(N, -1).mean(axis=1) + kwargs.get("ls_eps", 1e-5))
        o = a / s[:, None, None]
        proj = (ga * o).reshape(N, -1).mean(axis=1)[:, None, None] * o
        ga = (ga - proj) / s[:, None, None]
    dw, db = (ga * out).sum(axis=(0, 2)), ga.sum(axis=(0, 2))
    g_out = ga * ww[None, :, None]
    grad_in = np.empty_like(g_out)
    for i in range(N):
        grad = g_out[i] - (1 - abkw) * vstream[:, None] * out[i]
        vstream = vstream + (grad * out[i]).mean(axis=1)
        grad = grad / scale[i][:, None]
        grad_in[i] = grad - (1 - abkw) * ustream[:, None]
        ustream = ustream + grad_in[i].mean(axis=1)
    return _present([x, w, b], [grad_in.reshape(x.shape), dw, db])


def _mask(r, shape):
    """A random padding mask with at least one real token."""
    m = r.uniform(size=shape) < 0.3
    m.reshape(-1)[0] = False
    return m


def _register():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    pos = lambda r, *s: r.uniform(0.5, 2.0, s)  # noqa: E731

    def pn(r, C):
        return dict(running_phi=pos(r, C), ema_gz=n(r, C) * 0.1)

    register(power_norm, kind="normalization", catalog_id="N020", module=PowerNorm,
             papers=["PowerNorm: Rethinking Batch Normalization in Transformers"],
             check="fd+custom", backward_rule=_power_norm_rule, checked_as=_power_norm_checked,
             inputs=lambda r: [
                 # evaluation: GroupScaling then a fixed per-channel map, exact (fd)
                 Case(n(r, 3, 2, 4), pos(r, 4), n(r, 4), group_num=2, **pn(r, 4)),
                 Case(n(r, 2, 3), **pn(r, 3)),
                 # training, during and after warmup: the documented approximate rule
                 Case(n(r, 3, 2, 4), pos(r, 4), n(r, 4), training=True, current_iter=3,
                      warmup_iters=10, group_num=2, custom=True, **pn(r, 4)),
                 Case(n(r, 4, 2, 3), pos(r, 3), n(r, 3), training=True, current_iter=12,
                      warmup_iters=10, custom=True, **pn(r, 3)),
                 Case(n(r, 3, 2, 4), pos(r, 4), n(r, 4), training=True, current_iter=12,
                      warmup_iters=10, pad_mask=_mask(r, (3, 2)), custom=True, **pn(r, 4)),
             ])

    def un(r, C, w=4):
        return dict(running_var=pos(r, C), ema_gz=n(r, C) * 0.1, buffer_x2=pos(r, w, C),
                    buffer_gz=n(r, w, C) * 0.1)

    register(unified_norm, kind="normalization", catalog_id="N021", module=UnifiedNorm,
             papers=["Unified Normalization for Accelerating and Stabilizing Transformers"],
             check="custom", backward_rule=_unified_norm_rule, checked_as=_unified_norm_checked,
             inputs=lambda r: [
                 Case(n(r, 2, 3, 4), pos(r, 4), n(r, 4), **un(r, 4)),
                 Case(n(r, 2, 3, 4), pos(r, 4), n(r, 4), training=True, current_iter=2,
                      warmup_iters=10, **un(r, 4)),
                 Case(n(r, 2, 3, 4), pos(r, 4), n(r, 4), training=True, current_iter=30,
                      warmup_iters=10, **un(r, 4)),
                 Case(n(r, 3, 2, 3), pos(r, 3), n(r, 3), training=True, current_iter=1503,
                      warmup_iters=10, **un(r, 3)),
                 Case(n(r, 3, 2, 3) * 4, pos(r, 3), n(r, 3), training=True, current_iter=1503,
                      warmup_iters=10, outlier_filtration=True, **un(r, 3)),
                 Case(n(r, 3, 2, 3), pos(r, 3), n(r, 3), training=True, current_iter=1503,
                      warmup_iters=10, pad_mask=_mask(r, (3, 2)), **un(r, 3)),
             ])

    def on(r, C):
        return dict(running_mean=n(r, C) * 0.3, running_var=pos(r, C), u=n(r, C) * 0.1,
                    v=n(r, C) * 0.1)

    register(online_norm, kind="normalization", catalog_id="N022", module=OnlineNorm2d,
             papers=["Online Normalization for Training Neural Networks"],
             check="fd+custom", backward_rule=_online_norm_rule, checked_as=_online_norm_checked,
             inputs=lambda r: [
                 # evaluation (exact): affine, clamping, layer scaling
                 Case(n(r, 3, 2, 2, 2), pos(r, 2), n(r, 2), **on(r, 2)),
                 Case(n(r, 4, 3) * 3, pos(r, 3), n(r, 3), clamp_value=2.5, **on(r, 3)),
                 Case(n(r, 3, 2, 4), pos(r, 2), n(r, 2), ecm="ls", **on(r, 2)),
                 # training: the paper's control-process backward (custom)
                 Case(n(r, 4, 2, 2, 3), pos(r, 2), n(r, 2), training=True, custom=True,
                      **on(r, 2)),
                 Case(n(r, 5, 3), pos(r, 3), n(r, 3), training=True, ecm="ls", custom=True,
                      **on(r, 3)),
                 Case(n(r, 4, 3, 3) * 4, pos(r, 3), n(r, 3), training=True, clamp_value=1.0,
                      custom=True, **on(r, 3)),
             ])


_register()
