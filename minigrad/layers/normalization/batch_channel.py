"""Batch-Channel Normalization with estimated BN statistics (catalog N012):
``batch_channel_norm``, ``BatchChannelNorm2d``. A per-channel normalization with
statistics estimated across batches (EstBN) followed by a per-sample group normalization,
for micro-batch training (with Weight Standardization). Formulas from
joe-siyuan-qiao/Batch-Channel-Normalization (README: BCNorm, EstBN).
"""
import math

from minigrad.autograd import Function, no_grad
from minigrad.creation import ones, zeros
from minigrad.layers.module import Module, Parameter
from minigrad.layers.normalization._util import as_dtype, standardize
from minigrad.layers.normalization.batch import _check_channels, batch_norm
from minigrad.layers.normalization.batch_variants import _check_nchw
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["batch_channel_norm", "BatchChannelNorm2d"]


class BatchChannelNormFn(Function):
    """Batch-Channel Normalization (Qiao et al. 2020), the micro-batch form with EstBN.

    Forward, with the estimated statistics μ̂_c, σ̂²_c CONSTANT here (updated beforehand,
    under no-grad, by ``batch_channel_norm``):
        z = γ_c·(x − μ̂_c)/√(σ̂²_c + 1e-5) + β_c        (EstBN; 1e-5 fixed as in the code),
        per sample n and group g of C/G channels (all spatial positions):
        ẑ = (z − mean_g z)/√(var_g z + ε),  y = w_g·ẑ + b_g  (a per-GROUP affine).
    Without estimated statistics (``mean is None``) z = x (the large-batch form, where the
    first stage is an ordinary BatchNorm applied before this op).

    Backward: the group stage is LayerNorm inside each (n, g) block with ĝ = dy·w_g:
        dz = r·(ĝ − mean_g ĝ − ẑ·mean_g(ĝ ẑ)),  r = 1/√(var_g z + ε),
        dw_g = Σ_{n, block} dy·ẑ,  db_g = Σ_{n, block} dy;
    the EstBN stage is a per-channel affine map (its statistics are constants, the paper's
    stop-gradient): dx = dz·γ_c·a_c with a_c = 1/√(σ̂²_c + 1e-5),
        dγ_c = Σ_{N, *} dz·(x − μ̂_c)·a_c,  dβ_c = Σ_{N, *} dz.
    """
    @staticmethod
    def forward(ctx, x, mean, var, bn_weight, bn_bias, weight, bias, groups, eps):
        xp = ctx.xp
        N, C = x.shape[:2]
        L = math.prod(x.shape[2:])
        x3 = x.reshape(N, C, L)
        if mean is not None:
            a = 1 / xp.sqrt(var.astype(x.dtype, copy=False) + 1e-5)
            xt = (x3 - mean.astype(x.dtype, copy=False)[:, None]) * a[:, None]
            z = xt if bn_weight is None else xt * as_dtype(bn_weight, x.dtype)[:, None]
            if bn_bias is not None:
                z = z + as_dtype(bn_bias, x.dtype)[:, None]
        else:
            a = None
            z = x3
        z2 = z.reshape(N, groups, (C // groups) * L)
        m = z2.mean(axis=2, keepdims=True)
        zc = z2 - m
        r = 1 / xp.sqrt((zc * zc).mean(axis=2, keepdims=True) + eps)
        zhat = zc * r
        y = zhat
        if weight is not None:
            y = y * as_dtype(weight, x.dtype).reshape(1, groups, 1)
        if bias is not None:
            y = y + as_dtype(bias, x.dtype).reshape(1, groups, 1)
        ctx.save_for_backward(x, mean, a, bn_weight, weight, zhat, r)
        ctx.groups = groups
        ctx.bias_shape = None if bias is None else bias.shape
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        x, mean, a, bn_weight, weight, zhat, r = ctx.saved_tensors
        G = ctx.groups
        N, C = x.shape[:2]
        L = math.prod(x.shape[2:])
        needs = ctx.needs_input_grad
        gy2 = gy.reshape(N, G, (C // G) * L)
        g = gy2 if weight is None else gy2 * as_dtype(weight, x.dtype).reshape(1, G, 1)
        dz = r * (g - g.mean(axis=2, keepdims=True)
                  - zhat * (g * zhat).mean(axis=2, keepdims=True))
        dw = (gy2 * zhat).sum(axis=(0, 2)).reshape(weight.shape) if needs[5] else None
        db = gy2.sum(axis=(0, 2)).reshape(ctx.bias_shape) if needs[6] else None
        dz3 = dz.reshape(N, C, L)
        dbw = dbb = None
        if mean is None:
            dx = dz3
        else:
            x3 = x.reshape(N, C, L)
            dx = dz3 * a[:, None]
            if bn_weight is not None:
                dx = dx * as_dtype(bn_weight, x.dtype)[:, None]
            if needs[3]:
                dbw = (dz3 * ((x3 - mean.astype(x.dtype, copy=False)[:, None]) * a[:, None])).sum(axis=(0, 2))
            if needs[4]:
                dbb = dz3.sum(axis=(0, 2))
        return dx.reshape(x.shape), None, None, dbw, dbb, dw, db, None, None

    @staticmethod
    def composite(x, mean, var, bn_weight, bn_bias, weight, bias, groups, eps):
        N, C = x.shape[:2]
        L = math.prod(x.shape[2:])
        z = x.reshape(N, C, L)
        if mean is not None:
            m, v = (as_dtype(Tensor(s.data if isinstance(s, Tensor) else s), x.dtype).reshape(1, C, 1)
                    for s in (mean, var))
            z = (z - m) / (v + 1e-5).sqrt()
            if bn_weight is not None:
                z = z * as_dtype(bn_weight, x.dtype).reshape(1, C, 1)
            if bn_bias is not None:
                z = z + as_dtype(bn_bias, x.dtype).reshape(1, C, 1)
        y = standardize(z.reshape(N, groups, (C // groups) * L), (2,), eps)
        if weight is not None:
            y = y * as_dtype(weight, x.dtype).reshape(1, groups, 1)
        if bias is not None:
            y = y + as_dtype(bias, x.dtype).reshape(1, groups, 1)
        return y.reshape(x.shape)


def _check_group_param(x, groups, name, t):
    if t is not None and tuple(t.shape) not in ((groups,), (1, groups, 1)):
        raise ValueError(f"batch_channel_norm: {name} of shape {tuple(t.shape)} is not one value "
                         f"per group ({groups} groups)")


def batch_channel_norm(x, num_groups, running_mean, running_var, bn_weight=None, bn_bias=None,
                       weight=None, bias=None, training=False, moving_speed=0.0, eps=1e-5):
    """Batch-Channel Normalization with estimated BN statistics (micro-batch BCN):
    y = GroupNorm_G(EstBN(x)) with a per-group affine map.

    EstBN, training (statistics moved BEFORE they are used, under no-grad, r = moving_speed):
        μ̂ ← (1 − r)·μ̂ + r·mean_{N,*} x,  σ̂² ← (1 − r)·σ̂² + r·mean_{N,*} (x − μ̂_old)²;
    then (train and eval) z = γ_c·(x − μ̂)/√(σ̂² + 1e-5) + β_c, and per sample and group g:
        y = w_g·(z − mean_g z)/√(var_g z + ε) + b_g.
    Backward: exact GroupNorm backward; through EstBN the statistics are constants (the
    paper's stop-gradient): dx = dz·γ_c/√(σ̂²_c + 1e-5). Derivation in ``BatchChannelNormFn``
    (help(minigrad.layers.normalization.batch_channel.BatchChannelNormFn)).
    With ``running_mean=running_var=None`` the first stage is an ordinary ``batch_norm``
    (the paper's large-batch BCN; ``bn_weight``/``bn_bias`` its affine, ``moving_speed`` its
    momentum).

    Arguments: ``batch_channel_norm(x, num_groups, running_mean, running_var, bn_weight=None,
    bn_bias=None, weight=None, bias=None, training=False, moving_speed=0.0, eps=1e-5)``;
    ``weight``/``bias`` hold one value per group. ``moving_speed`` is the code's
    ``estbn_moving_speed`` buffer (0 in the code until the training schedule sets it).
    Formula: joe-siyuan-qiao/Batch-Channel-Normalization README (BCNorm, EstBN).
    Paper: Qiao, Wang, Liu, Shen & Yuille 2020, "Micro-Batch Training with Batch-Channel
    Normalization and Weight Standardization".
    """
    _check_nchw("batch_channel_norm", x)
    N, C = x.shape[:2]
    G = int(num_groups)
    if G <= 0 or C % G:
        raise ValueError(f"batch_channel_norm: {C} channels (input of shape {tuple(x.shape)}) "
                         f"do not split into {num_groups} groups")
    if math.prod(x.shape[1:]) // G <= 1:
        raise ValueError(f"batch_channel_norm: each group of an input of shape {tuple(x.shape)} "
                         "holds a single value, whose normalized value is always 0")
    for name, t in (("bn_weight", bn_weight), ("bn_bias", bn_bias)):
        _check_channels(x, name, t)
    _check_group_param(x, G, "weight", weight)
    _check_group_param(x, G, "bias", bias)
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_channel_norm: give both running_mean and running_var, or neither")
    if running_mean is None:          # large-batch BCN: an ordinary BatchNorm first
        z = batch_norm(x, None, None, bn_weight, bn_bias, True, 0.1, 1e-5) if training else None
        if z is None:
            raise ValueError("batch_channel_norm: evaluation without estimated statistics has "
                             "no statistics to use; give running_mean and running_var")
        return BatchChannelNormFn.apply(z, None, None, None, None, weight, bias, G, float(eps))
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        _check_channels(x, name, t)
    r = float(moving_speed)
    if training and r != 0.0 and N > 0:
        with no_grad():
            x3 = x.data.reshape(N, C, math.prod(x.shape[2:]))
            mu = x3.mean(axis=(0, 2))
            xc = x3 - running_mean.data.astype(x.dtype, copy=False)[:, None]
            var = (xc * xc).mean(axis=(0, 2))
            for buf, stat in ((running_mean, mu), (running_var, var)):
                buf.data *= 1 - r
                buf.data += (r * stat).astype(buf.dtype, copy=False)
                buf._version += 1
    return BatchChannelNormFn.apply(x, running_mean.data.copy(), running_var.data.copy(),
                                    bn_weight, bn_bias, weight, bias, G, float(eps))


class BatchChannelNorm2d(Module):
    """Batch-Channel Normalization: EstBN (estimated BN statistics, per-channel affine)
    followed by a group normalization with a per-group affine map.

    y = w_g·GN_G(γ_c·(x − μ̂_c)/√(σ̂²_c + 1e-5) + β_c) + b_g.
    ``BatchChannelNorm2d(num_channels, num_groups=32, eps=1e-5, estimate=True,
    estbn_moving_speed=0.0)``: ``estimate=False`` uses an ordinary BatchNorm2d first (the
    large-batch form). Parameters as in the code: ``bn.weight``, ``bn.bias`` (C),
    ``weight``, ``bias`` (1, G, 1); buffers ``bn.running_mean``, ``bn.running_var``,
    ``bn.estbn_moving_speed`` (the training schedule sets it; the code initialises it to 0).
    Backward: ``BatchChannelNormFn`` (see ``F.batch_channel_norm``).
    Paper: Qiao, Wang, Liu, Shen & Yuille 2020, "Micro-Batch Training with Batch-Channel
    Normalization and Weight Standardization".
    """

    def __init__(self, num_channels, num_groups=32, eps=1e-5, estimate=True,
                 estbn_moving_speed=0.0):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"BatchChannelNorm2d: {num_channels} channels do not split into "
                             f"{num_groups} groups")
        self.num_channels, self.num_groups, self.eps, self.estimate = (
            num_channels, num_groups, eps, estimate)
        self.weight = Parameter(ones(1, num_groups, 1))
        self.bias = Parameter(zeros(1, num_groups, 1))
        if estimate:
            self.bn = _EstBN(num_channels, estbn_moving_speed)
        else:
            from minigrad.layers.normalization.batch import BatchNorm2d
            self.bn = BatchNorm2d(num_channels)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.num_channels:
            raise ValueError(f"BatchChannelNorm2d({self.num_channels}): expected an input of "
                             f"shape (N, {self.num_channels}, H, W), got {tuple(x.shape)}")
        if self.estimate:
            return batch_channel_norm(x, self.num_groups, self.bn.running_mean,
                                      self.bn.running_var, self.bn.weight, self.bn.bias,
                                      self.weight, self.bias, self.training,
                                      float(self.bn.estbn_moving_speed.item()), self.eps)
        z = self.bn(x)
        return BatchChannelNormFn.apply(z, None, None, None, None, self.weight, self.bias,
                                        self.num_groups, float(self.eps))

    def extra_repr(self):
        return (f"{self.num_channels}, num_groups={self.num_groups}, eps={self.eps}, "
                f"estimate={self.estimate}")


class _EstBN(Module):
    """EstBN's parameters and buffers (the computation is in ``batch_channel_norm``)."""

    def __init__(self, num_features, moving_speed):
        super().__init__()
        self.weight = Parameter(ones(num_features))
        self.bias = Parameter(zeros(num_features))
        self.register_buffer("running_mean", zeros(num_features))
        self.register_buffer("running_var", ones(num_features))
        self.register_buffer("estbn_moving_speed", zeros(1) + float(moving_speed))


# ------------------------------------------------------------------ registry
def _register():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    pos = lambda r, *s: r.uniform(0.5, 2.0, s)  # noqa: E731
    register(batch_channel_norm, kind="normalization", catalog_id="N012",
             module=BatchChannelNorm2d, check="fd+custom", backward_rule=_bcn_rule,
             papers=["Micro-Batch Training with Batch-Channel Normalization and Weight "
                     "Standardization"],
             inputs=lambda r: [
                 # training with moving_speed 0 / eval: the statistics are constants, exact fd
                 Case(n(r, 2, 4, 3), 2, n(r, 4), pos(r, 4), pos(r, 4), n(r, 4), pos(r, 2),
                      n(r, 2), training=True, wrt=(0, 3, 4, 5, 6)),
                 Case(n(r, 2, 4, 2, 2), 4, n(r, 4), pos(r, 4), pos(r, 4), n(r, 4), pos(r, 4),
                      n(r, 4), training=False, wrt=(0, 3, 4, 5, 6)),
                 Case(n(r, 1, 4, 3), 2, n(r, 4), pos(r, 4), training=True,
                      wrt=(0,)),                                    # batch of one
                 # large-batch form: an ordinary BatchNorm first (exact fd)
                 Case(n(r, 3, 4, 2), 2, None, None, pos(r, 4), n(r, 4), pos(r, 2), n(r, 2),
                      training=True),
                 # statistics estimated from this batch, then held constant: the custom rule
                 Case(n(r, 3, 4, 2), 2, n(r, 4), pos(r, 4), pos(r, 4), n(r, 4), pos(r, 2),
                      n(r, 2), training=True, moving_speed=0.5, wrt=(0, 3, 4, 5, 6),
                      custom=True),
             ])


def _bcn_rule(arrays, kwargs, gy):
    """The documented gradient of BCN with EstBN statistics held constant (NumPy)."""
    import numpy as np
    x, G, rm, rv, bw, bb, w, b = arrays[:8]     # rm, rv: after this batch's update
    N, C = x.shape[:2]
    x3 = x.reshape(N, C, -1)
    a = 1 / np.sqrt(rv + 1e-5)
    xt = (x3 - rm[:, None]) * a[:, None]
    z = xt * bw[:, None] + bb[:, None]
    z2 = z.reshape(N, G, -1)
    zc = z2 - z2.mean(axis=2, keepdims=True)
    r = 1 / np.sqrt((zc ** 2).mean(axis=2, keepdims=True) + 1e-5)
    zhat = zc * r
    gy2 = gy.reshape(N, G, -1)
    g = gy2 * w[:, None]
    dz = r * (g - g.mean(axis=2, keepdims=True) - zhat * (g * zhat).mean(axis=2, keepdims=True))
    dz3 = dz.reshape(N, C, -1)
    return [(dz3 * bw[:, None] * a[:, None]).reshape(x.shape), (dz3 * xt).sum(axis=(0, 2)),
            dz3.sum(axis=(0, 2)), (gy2 * zhat).sum(axis=(0, 2)), gy2.sum(axis=(0, 2))]


_register()
