"""Variants of batch normalization (catalog N009, N010, N013): Ghost BatchNorm
(``ghost_batch_norm``, ``GhostBatchNorm2d``), α-BN test-time calibration
(``alpha_batch_norm``, ``AlphaBatchNorm2d``) and IBN-Net's instance + batch normalization
(``ibn``, ``IBN``). Batch-Channel Normalization (N012) is in ``batch_channel.py``.

All of them keep BatchNorm's running-statistics contract (``RunningStatsNorm``:
running_mean/running_var/num_batches_tracked buffers, ``momentum=None`` = cumulative
average, train()/eval()). Ghost BN and IBN are literally BatchNorm (and InstanceNorm)
applied to parts of the input, so they are compositions of those registered ops.
"""
import math

from minigrad.autograd import Function
from minigrad.layers.module import Module
from minigrad.layers.normalization._util import as_dtype
from minigrad.layers.normalization.batch import _BatchNorm, _check_channels, _rows, batch_norm
from minigrad.layers.normalization.group import group_norm
from minigrad.ops._checks import check_floating
from minigrad.ops.shape import cat
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["ghost_batch_norm", "alpha_batch_norm", "ibn", "GhostBatchNorm1d",
           "GhostBatchNorm2d", "AlphaBatchNorm2d", "IBN"]


def _check_nchw(op, x, min_ndim=2):
    check_floating(op, x=x)
    if x.ndim < min_ndim:
        raise ValueError(f"{op}: expected an input of shape (N, C{', *' if min_ndim == 2 else ', H, W'}), "
                         f"got shape {tuple(x.shape)}")


# ================================================================== N009 Ghost BatchNorm
def _ghost(x, running_mean, running_var, weight, bias, factors, eps, virtual_batch_size):
    """BatchNorm on consecutive chunks of ``virtual_batch_size`` samples (the last one may
    be shorter), the running statistics moved once per chunk with ``next(factors)``."""
    N = x.shape[0]
    outs = [batch_norm(x[i:i + virtual_batch_size], running_mean, running_var, weight, bias,
                       True, next(factors), eps)
            for i in range(0, N, virtual_batch_size)]
    return outs[0] if len(outs) == 1 else cat(outs, axis=0)


def ghost_batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
                     momentum=0.1, eps=1e-5, virtual_batch_size=128):
    """Ghost Batch Normalization: in training, BatchNorm applied independently to each
    "ghost batch" of ``virtual_batch_size`` consecutive samples; in evaluation, BatchNorm
    with the running statistics (identical to ``batch_norm``).

    For ghost batch l (samples B_l): μ_l = mean_{B_l, *} x, σ²_l = mean_{B_l, *} (x − μ_l)²,
        y = γ·(x − μ_l)/√(σ²_l + ε) + β   for x in B_l,
    and the running statistics move once per ghost batch, in order:
        running_mean ← (1 − m)·running_mean + m·μ_l  (l = 1, 2, ...),
    i.e. μ_run ← (1 − m)^L·μ_run + Σ_l (1 − m)^{L−l}·m·μ_l over the L ghost batches, the
    geometric weighting of the ghost statistics of the paper's Algorithm 1.
    Backward: ``BatchNormFn`` inside each ghost batch (dx = γr·(dy − dβ_l/n − x̂·dγ_l/n),
    help(minigrad.layers.normalization.batch.BatchNormFn)); this op is literally BatchNorm
    on the chunks, so it is that composition (slices, BatchNormFn, concatenation).

    Arguments: ``ghost_batch_norm(x, running_mean, running_var, weight=None, bias=None,
    training=False, momentum=0.1, eps=1e-5, virtual_batch_size=128)`` (the paper's ghost
    batch size is 128). Deviations: a batch not divisible by ``virtual_batch_size`` ends in a
    shorter ghost batch (Keras raises instead); the running variance is BatchNorm's unbiased
    one per ghost batch (the paper's algorithm averages the ghost standard deviations).
    Paper: Hoffer, Hubara & Soudry 2017, "Train longer, generalize better: closing the
    generalization gap in large batch training of neural networks".
    """
    _check_nchw("ghost_batch_norm", x)
    if int(virtual_batch_size) < 1:
        raise ValueError(f"ghost_batch_norm: virtual_batch_size must be >= 1, got {virtual_batch_size}")
    if not training:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    m = float(momentum)
    return _ghost(x, running_mean, running_var, weight, bias, iter(lambda: m, None), eps,
                  int(virtual_batch_size))


class _GhostBatchNorm(_BatchNorm):
    """BatchNorm whose training statistics come from ghost batches; each ghost batch
    counts as one batch in ``num_batches_tracked`` (so ``momentum=None`` averages the
    ghost statistics cumulatively)."""

    def __init__(self, num_features, virtual_batch_size=128, eps=1e-5, momentum=0.1,
                 affine=True, track_running_stats=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        self.virtual_batch_size = int(virtual_batch_size)

    def forward(self, x):
        self._check_input(x)
        if not self.training and self.running_mean is not None:
            return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              False, 0.0, self.eps)
        track = self.training and self.track_running_stats
        factors = iter(self._running_average_factor, None)
        return _ghost(x, self.running_mean if track else None,
                      self.running_var if track else None, self.weight, self.bias, factors,
                      self.eps, self.virtual_batch_size)

    def extra_repr(self):
        return super().extra_repr() + f", virtual_batch_size={self.virtual_batch_size}"


class GhostBatchNorm1d(_GhostBatchNorm):
    """Ghost Batch Normalization of (N, C) or (N, C, L) inputs.

    y = γ·(x − μ_l)/√(σ²_l + ε) + β with the statistics of the ghost batch l that holds x
    (training), running statistics in eval. ``GhostBatchNorm1d(num_features,
    virtual_batch_size=128, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True)``.
    Backward: ``BatchNormFn`` per ghost batch (see ``F.ghost_batch_norm``).
    Paper: Hoffer, Hubara & Soudry 2017, "Train longer, generalize better: closing the
    generalization gap in large batch training of neural networks".
    """
    _expected_ndim = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class GhostBatchNorm2d(_GhostBatchNorm):
    """Ghost Batch Normalization of (N, C, H, W) inputs.

    y = γ·(x − μ_l)/√(σ²_l + ε) + β with the statistics of the ghost batch l that holds x
    (training), running statistics in eval. ``GhostBatchNorm2d(num_features,
    virtual_batch_size=128, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True)``.
    Backward: ``BatchNormFn`` per ghost batch (see ``F.ghost_batch_norm``).
    Paper: Hoffer, Hubara & Soudry 2017, "Train longer, generalize better: closing the
    generalization gap in large batch training of neural networks".
    """
    _expected_ndim = (4,)
    _layout = "(N, C, H, W)"


# ================================================================== N010 α-BN
class AlphaBatchNormFn(Function):
    """α-BN (You, Li & Zhao 2021): BatchNorm with statistics mixed from the source
    (running) statistics μ_s, σ²_s (constants) and the current batch's μ_t, σ²_t.

    Forward, per channel c over S = (N, *spatial), n = |S|:
        μ_t = mean_S x,  σ²_t = mean_S (x − μ_t)²  (biased),
        μ̂ = α·μ_s + (1 − α)·μ_t,  σ̂² = α·σ²_s + (1 − α)·σ²_t,
        s = √(σ̂² + ε),  x̂ = (x − μ̂)/s,  y = γ·x̂ + β.

    Backward, ĝ = dy·γ, means over S: ∂μ̂/∂x_i = (1 − α)/n,
    ∂s/∂x_i = (1 − α)(x_i − μ_t)/(n·s) (∂σ²_t/∂x_i = 2(x_i − μ_t)/n, the mean term cancels), so
        ∂x̂_j/∂x_i = (δ_ij − (1 − α)/n)/s − x̂_j·(1 − α)(x_i − μ_t)/(n·s²) and
        dx = (1/s)·(ĝ − (1 − α)·mean ĝ − (1 − α)·((x − μ_t)/s)·mean(ĝ x̂));
        dγ = Σ_S dy·x̂,  dβ = Σ_S dy.   α = 1 is BatchNorm's evaluation mode, α = 0 its
    training mode (test-time normalization).
    """
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, alpha, eps):
        xp = ctx.xp
        x3 = _rows(x)
        mu_t = x3.mean(axis=(0, 2))
        xc = x3 - mu_t[:, None]
        var_t = (xc * xc).mean(axis=(0, 2))
        mu = alpha * running_mean.astype(x.dtype, copy=False) + (1 - alpha) * mu_t
        var = alpha * running_var.astype(x.dtype, copy=False) + (1 - alpha) * var_t
        rstd = 1 / xp.sqrt(var + eps)
        xhat = (x3 - mu[:, None]) * rstd[:, None]
        y = xhat
        if weight is not None:
            y = y * as_dtype(weight, x.dtype)[:, None]
        if bias is not None:
            y = y + as_dtype(bias, x.dtype)[:, None]
        ctx.save_for_backward(x, weight, mu, mu_t, rstd)
        ctx.alpha = alpha
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        x, weight, mu, mu_t, rstd = ctx.saved_tensors
        a1 = 1 - ctx.alpha
        x3, gy3 = _rows(x), _rows(gy)
        xhat = (x3 - mu[:, None]) * rstd[:, None]
        g = gy3 if weight is None else gy3 * as_dtype(weight, x.dtype)[:, None]
        mean_g = g.mean(axis=(0, 2), keepdims=True)
        mean_gx = (g * xhat).mean(axis=(0, 2), keepdims=True)
        r = rstd[:, None]
        dx = r * (g - a1 * mean_g - a1 * ((x3 - mu_t[:, None]) * r) * mean_gx)
        needs = ctx.needs_input_grad
        dw = (gy3 * xhat).sum(axis=(0, 2)) if needs[1] else None
        db = gy3.sum(axis=(0, 2)) if needs[2] else None
        return dx.reshape(x.shape), dw, db, None, None, None, None

    @staticmethod
    def composite(x, weight, bias, running_mean, running_var, alpha, eps):
        C = x.shape[1]
        x3 = _rows(x)
        mu_t = x3.mean(axis=(0, 2), keepdims=True)
        xc = x3 - mu_t
        var_t = (xc * xc).mean(axis=(0, 2), keepdims=True)
        rm, rv = (as_dtype(Tensor(s if not isinstance(s, Tensor) else s.data), x.dtype).reshape(1, C, 1)
                  for s in (running_mean, running_var))
        mu = rm * alpha + mu_t * (1 - alpha)
        var = rv * alpha + var_t * (1 - alpha)
        y = (x3 - mu) / (var + eps).sqrt()
        if weight is not None:
            y = y * as_dtype(weight, x.dtype).reshape(1, C, 1)
        if bias is not None:
            y = y + as_dtype(bias, x.dtype).reshape(1, C, 1)
        return y.reshape(x.shape)


def alpha_batch_norm(x, running_mean, running_var, weight=None, bias=None, alpha=None, eps=1e-5):
    """α-BN: test-time batch-statistics calibration. Normalizes x (N, C, *) per channel with
    a mix of the stored source statistics and the current (test) batch statistics.

    μ̂ = α·μ_s + (1 − α)·μ_t,  σ̂² = α·σ²_s + (1 − α)·σ²_t,  y = γ·(x − μ̂)/√(σ̂² + ε) + β,
    μ_s, σ²_s = ``running_mean``, ``running_var`` (constants, not updated); μ_t, σ²_t = the
    batch mean and biased variance over (N, *spatial). α = 1 is BatchNorm's evaluation mode,
    α = 0 test-time normalization. Backward: dx = (1/s)·(ĝ − (1 − α)·mean ĝ −
    (1 − α)·((x − μ_t)/s)·mean(ĝ x̂)), s = √(σ̂² + ε), ĝ = dy·γ; derivation in
    ``AlphaBatchNormFn`` (help(minigrad.layers.normalization.batch_variants.AlphaBatchNormFn)).

    Arguments: ``alpha_batch_norm(x, running_mean, running_var, weight=None, bias=None,
    alpha, eps=1e-5)``; ``alpha`` in [0, 1] must be given (the paper tunes it per task; no
    default is taken from it here). Note the convention: α weights the SOURCE statistics
    (test-time-adaptation codebases' "AlphaBatchNorm" weights the batch statistics).
    Formula: reconstructed (no official code exists; the paper's text was not reachable
    here): the mixing of source and batch statistics its abstract describes, as the
    catalog row N010 writes it.
    Paper: You, Li & Zhao 2021, "Test-time Batch Statistics Calibration for Covariate Shift".
    """
    _check_nchw("alpha_batch_norm", x)
    if alpha is None:
        raise ValueError("alpha_batch_norm: give alpha, the weight of the source statistics, in [0, 1]")
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha_batch_norm: alpha must be in [0, 1], got {alpha}")
    if running_mean is None or running_var is None:
        raise ValueError("alpha_batch_norm: needs the source running_mean and running_var")
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_channels(x, name, t)
    if x.shape[0] * math.prod(x.shape[2:]) < 1:
        raise ValueError(f"alpha_batch_norm: an empty input of shape {tuple(x.shape)} has no "
                         "batch statistics")
    rm = running_mean.data if isinstance(running_mean, Tensor) else running_mean
    rv = running_var.data if isinstance(running_var, Tensor) else running_var
    return AlphaBatchNormFn.apply(x, weight, bias, rm, rv, alpha, float(eps))


class AlphaBatchNorm2d(_BatchNorm):
    """A BatchNorm2d whose evaluation mode is α-BN: trained (train mode) exactly as
    BatchNorm2d, which collects the source running statistics; at test time (eval mode)
    each batch is normalized with μ̂ = α·μ_s + (1 − α)·μ_t, σ̂² = α·σ²_s + (1 − α)·σ²_t.

    ``AlphaBatchNorm2d(num_features, alpha, eps=1e-5, momentum=0.1, affine=True)``;
    ``AlphaBatchNorm2d.from_batch_norm(bn, alpha)`` converts a trained BatchNorm2d.
    Backward: ``BatchNormFn`` in train mode, ``AlphaBatchNormFn`` in eval mode (see
    ``F.alpha_batch_norm``).
    Paper: You, Li & Zhao 2021, "Test-time Batch Statistics Calibration for Covariate Shift".
    """
    _expected_ndim = (4,)
    _layout = "(N, C, H, W)"

    def __init__(self, num_features, alpha, eps=1e-5, momentum=0.1, affine=True):
        super().__init__(num_features, eps, momentum, affine, True)
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"AlphaBatchNorm2d: alpha must be in [0, 1], got {alpha}")
        self.alpha = float(alpha)

    @classmethod
    def from_batch_norm(cls, bn, alpha):
        new = cls(bn.num_features, alpha, bn.eps, bn.momentum, bn.affine)
        new.load_state_dict(bn.state_dict())
        return new.train(bn.training)

    def forward(self, x):
        if self.training:
            return super().forward(x)
        self._check_input(x)
        return alpha_batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                self.alpha, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, alpha={self.alpha}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


# ================================================================== N013 IBN-a / IBN-b
def ibn(x, running_mean, running_var, in_weight=None, in_bias=None, bn_weight=None,
        bn_bias=None, training=False, momentum=0.1, eps=1e-5, ratio=0.5):
    """IBN-Net's instance-batch normalization (IBN-a): the first ⌊ratio·C⌋ channels are
    instance-normalized (affine, no running statistics), the rest batch-normalized
    (running statistics, train/eval), and the two parts concatenated again.

    y[:, :h] = γ^IN·(x − μ_nc)/√(σ²_nc + ε) + β^IN  (over H, W per sample and channel),
    y[:, h:] = γ^BN·(x − μ_c)/√(σ²_c + ε) + β^BN    (over N, H, W; running stats in eval),
    h = ⌊ratio·C⌋ (ratio = 0.5 in the paper). IBN-b is ``ratio=1`` placed after a residual
    addition (all channels instance-normalized). Backward: the split and concatenation only
    route gradients; each part has its own op's backward (``GroupNormFn`` with G = h,
    ``BatchNormFn``), so this is the composition of those registered rows.
    ``running_mean``/``running_var`` have C − h entries.

    Arguments: ``ibn(x, running_mean, running_var, in_weight=None, in_bias=None,
    bn_weight=None, bn_bias=None, training=False, momentum=0.1, eps=1e-5, ratio=0.5)``.
    Formula: XingangPan/IBN-Net ibnnet/modules.py (class IBN).
    Paper: Pan, Luo, Shi & Tang 2018, "Two at Once: Enhancing Learning and Generalization
    Capacities via IBN-Net".
    """
    _check_nchw("ibn", x, 3)
    if x.ndim != 4:
        raise ValueError(f"ibn: expected an input of shape (N, C, H, W), got {tuple(x.shape)}")
    C = x.shape[1]
    h = int(C * ratio)
    if not 0.0 < ratio <= 1.0 or h < 1:
        raise ValueError(f"ibn: ratio {ratio} of {C} channels gives no instance-normalized channel")
    for name, t, n in (("in_weight", in_weight, h), ("in_bias", in_bias, h),
                       ("bn_weight", bn_weight, C - h), ("bn_bias", bn_bias, C - h),
                       ("running_mean", running_mean, C - h), ("running_var", running_var, C - h)):
        if t is not None and tuple(t.shape) != (n,):
            raise ValueError(f"ibn: {name} of shape {tuple(t.shape)} should have {n} entries "
                             f"(input of shape {tuple(x.shape)}, ratio {ratio})")
    if math.prod(x.shape[2:]) <= 1:
        raise ValueError(f"ibn: instance normalization needs more than 1 spatial position, got "
                         f"an input of shape {tuple(x.shape)}")
    y_in = group_norm(x[:, :h] if h < C else x, h, in_weight, in_bias, eps)
    if h == C:
        return y_in
    y_bn = batch_norm(x[:, h:], running_mean, running_var, bn_weight, bn_bias, training,
                      momentum, eps)
    return cat([y_in, y_bn], axis=1)


class IBN(Module):
    """IBN-a block of IBN-Net: InstanceNorm2d(affine) on the first ⌊ratio·planes⌋ channels,
    BatchNorm2d on the rest, concatenated.

    y = cat(IN(x[:, :h]), BN(x[:, h:])), h = ⌊ratio·planes⌋. ``IBN(planes, ratio=0.5,
    eps=1e-5, momentum=0.1)``; submodules ``IN`` and ``BN`` as in the official code (its
    state_dict keys). IBN-b is ``nn.InstanceNorm2d(C, affine=True)`` after the residual
    addition (or ``IBN(C, ratio=1.0)``). Backward: ``GroupNormFn`` and ``BatchNormFn`` on
    their parts (see ``F.ibn``).
    Paper: Pan, Luo, Shi & Tang 2018, "Two at Once: Enhancing Learning and Generalization
    Capacities via IBN-Net".
    """

    def __init__(self, planes, ratio=0.5, eps=1e-5, momentum=0.1):
        super().__init__()
        from minigrad.layers.normalization.batch import BatchNorm2d
        from minigrad.layers.normalization.group import InstanceNorm2d
        self.planes, self.ratio = planes, ratio
        self.half = int(planes * ratio)
        if self.half < 1:
            raise ValueError(f"IBN: ratio {ratio} of {planes} channels gives no instance-normalized channel")
        self.IN = InstanceNorm2d(self.half, eps=eps, affine=True)
        self.BN = BatchNorm2d(planes - self.half, eps=eps, momentum=momentum) \
            if self.half < planes else None

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.planes:
            raise ValueError(f"IBN({self.planes}): expected an input of shape "
                             f"(N, {self.planes}, H, W), got {tuple(x.shape)}")
        if self.BN is None:
            return self.IN(x)
        return cat([self.IN(x[:, :self.half]), self.BN(x[:, self.half:])], axis=1)

    def extra_repr(self):
        return f"{self.planes}, ratio={self.ratio}"


# ------------------------------------------------------------------ registry
def _register():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    pos = lambda r, *s: r.uniform(0.5, 2.0, s)  # noqa: E731
    register(ghost_batch_norm, kind="normalization", catalog_id="N009", module=GhostBatchNorm2d,
             papers=["Train longer, generalize better: closing the generalization gap in large "
                     "batch training of neural networks"],
             inputs=lambda r: [
                 Case(n(r, 6, 3), None, None, pos(r, 3), n(r, 3), training=True,
                      virtual_batch_size=3),
                 Case(n(r, 5, 2, 3), None, None, pos(r, 2), n(r, 2), training=True,
                      virtual_batch_size=2),                       # a short last ghost batch
                 Case(n(r, 4, 2, 2, 2), None, None, training=True, virtual_batch_size=4),
                 Case(n(r, 4, 2, 3), n(r, 2), pos(r, 2), pos(r, 2), n(r, 2), training=False,
                      virtual_batch_size=2, wrt=(0, 3, 4)),
             ])
    register(alpha_batch_norm, kind="normalization", catalog_id="N010", module=AlphaBatchNorm2d,
             papers=["Test-time Batch Statistics Calibration for Covariate Shift"],
             inputs=lambda r: [
                 Case(n(r, 3, 2, 4), n(r, 2), pos(r, 2), pos(r, 2), n(r, 2), alpha=0.6,
                      wrt=(0, 3, 4)),
                 Case(n(r, 4, 3), n(r, 3), pos(r, 3), alpha=0.0, wrt=(0,)),
                 Case(n(r, 2, 2, 2, 2), n(r, 2), pos(r, 2), pos(r, 2), n(r, 2), alpha=1.0,
                      wrt=(0, 3, 4)),
                 Case(n(r, 1, 3, 2, 2), n(r, 3), pos(r, 3), alpha=0.3, wrt=(0,)),  # batch of one
             ])
    register(ibn, kind="normalization", catalog_id="N013", module=IBN,
             papers=["Two at Once: Enhancing Learning and Generalization Capacities via IBN-Net"],
             inputs=lambda r: [
                 Case(n(r, 3, 4, 2, 2), None, None, pos(r, 2), n(r, 2), pos(r, 2), n(r, 2),
                      training=True),
                 Case(n(r, 2, 5, 2, 3), None, None, pos(r, 2), n(r, 2), pos(r, 3), n(r, 3),
                      training=True, ratio=0.5),                    # ⌊2.5⌋ = 2 IN channels
                 Case(n(r, 2, 4, 2, 2), n(r, 2), pos(r, 2), pos(r, 2), n(r, 2), pos(r, 2),
                      n(r, 2), training=False, wrt=(0, 3, 4, 5, 6)),
                 Case(n(r, 2, 3, 2, 2), None, None, pos(r, 3), n(r, 3), ratio=1.0),  # IBN-b
             ])


_register()
