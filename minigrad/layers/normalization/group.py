"""Group normalization and instance normalization (catalog N004; InstanceNorm is
GroupNorm with one channel per group): ``group_norm``, ``instance_norm``, ``GroupNorm``,
``InstanceNorm1d``, ``InstanceNorm2d``.

A group is normalized exactly like a LayerNorm row, so the statistics and the input
gradient come from the LayerNorm kernels on the (N·G, C/G·spatial) view; only the
per-channel affine map is applied here.
"""
import math

from minigrad.ops._checks import check_floating
from minigrad.autograd import Function, no_grad
from minigrad.creation import ones, zeros
from minigrad.layers.module import Module, Parameter
from minigrad.layers.normalization._util import RunningStatsNorm, as_dtype, standardize
from minigrad.layers.normalization.batch import batch_norm
from minigrad.registry import Case, register


class GroupNormFn(Function):
    """Group Normalization (Wu & He 2018); Instance Normalization (Ulyanov et al. 2016)
    is the case G = C.

    Forward: view x (N, C, *) as (N, G, C/G·*); per (n, g): μ, σ² (biased) over the group,
    x̂ = (x − μ)/√(σ² + ε); then the per-channel affine y = γ_c x̂ + β_c.

    Backward: inside each (n, g) block, the LayerNorm backward with ĝ = dy·γ_c:
        dx = r·(ĝ − mean_group ĝ − x̂·mean_group(ĝ x̂)),  r = 1/√(σ² + ε);
        dγ_c = Σ_{N, *} dy·x̂,  dβ_c = Σ_{N, *} dy.
    """
    @staticmethod
    def forward(ctx, x, weight, bias, groups, eps):
        N, C = x.shape[:2]
        xhat, mean, rstd = ctx.backend.kernels("norm").layer_norm_forward(
            _groups(x, groups), None, None, eps)
        y = xhat.reshape(N, C, math.prod(x.shape[2:]))
        if weight is not None:
            y = y * as_dtype(weight, x.dtype)[:, None]
        if bias is not None:
            y = y + as_dtype(bias, x.dtype)[:, None]
        ctx.save_for_backward(x, weight, mean, rstd)
        ctx.groups = groups
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        x, weight, mean, rstd = ctx.saved_tensors
        needs = ctx.needs_input_grad
        N, C = x.shape[:2]
        gy3 = gy.reshape(N, C, math.prod(x.shape[2:]))
        g = gy3 if weight is None else gy3 * as_dtype(weight, x.dtype)[:, None]
        x2 = _groups(x, ctx.groups)
        dx = None
        if needs[0]:
            dx, _, _ = ctx.backend.kernels("norm").layer_norm_backward(
                g.reshape(x2.shape), x2, mean, rstd, None, need_affine_grads=False)
            dx = dx.reshape(x.shape)
        dw = db = None
        if needs[1]:
            xhat = ((x2 - mean[:, None]) * rstd[:, None]).reshape(gy3.shape)
            dw = (gy3 * xhat).sum(axis=(0, 2))
        if needs[2]:
            db = gy3.sum(axis=(0, 2))
        return dx, dw, db, None, None

    @staticmethod
    def composite(x, weight, bias, groups, eps):
        N, C = x.shape[:2]
        y = standardize(_groups(x, groups), (1,), eps).reshape(N, C, math.prod(x.shape[2:]))
        if weight is not None:
            y = y * as_dtype(weight, x.dtype).reshape(C, 1)
        if bias is not None:
            y = y + as_dtype(bias, x.dtype).reshape(C, 1)
        return y.reshape(x.shape)



def _groups(a, groups):
    """(N, C, *) as (N·G, C/G·*), sizes spelled out (an empty batch has no −1 to infer)."""
    return a.reshape(a.shape[0] * groups, math.prod(a.shape[1:]) // groups)


def _check_affine(op, x, name, t):
    if t is not None and tuple(t.shape) != (x.shape[1],):
        raise ValueError(f"{op}: {name} of shape {tuple(t.shape)} does not match the "
                         f"{x.shape[1]} channels of an input of shape {tuple(x.shape)}")


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize x (N, C, *) over each group of C/num_groups channels (and all spatial
    positions) per sample, then apply the per-channel ``weight`` and ``bias``.

    Per (n, g): μ, σ² over the group, y = γ_c·(x − μ)/√(σ² + ε) + β_c;
    dx = r·(ĝ − mean ĝ − x̂·mean(ĝ x̂)) per group, ĝ = dy·γ_c. ``group_norm(x, num_groups,
    weight=None, bias=None, eps=1e-5)``. Backward: ``GroupNormFn``
    (help(minigrad.layers.normalization.group.GroupNormFn)).
    Paper: Wu & He 2018, "Group Normalization".
    """
    check_floating("group_norm", x=x)
    if x.ndim < 2:
        raise ValueError(f"group_norm: expected an input of shape (N, C, *), got {tuple(x.shape)}")
    C = x.shape[1]
    if num_groups <= 0 or C % num_groups:
        raise ValueError(f"group_norm: {C} channels (input of shape {tuple(x.shape)}) do not "
                         f"split into {num_groups} groups")
    if math.prod(x.shape[1:]) // num_groups <= 1:
        raise ValueError(f"group_norm: each of the {num_groups} groups of an input of shape "
                         f"{tuple(x.shape)} holds a single value, whose normalized value is "
                         "always 0; use more channels per group or spatial positions")
    _check_affine("group_norm", x, "weight", weight)
    _check_affine("group_norm", x, "bias", bias)
    return GroupNormFn.apply(x, weight, bias, int(num_groups), float(eps))


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Instance normalization of x (N, C, *): each channel of each sample normalized over
    its spatial positions (``group_norm`` with one channel per group). PyTorch's signature:
    with ``use_input_stats`` and running statistics given, these move towards the batch
    average of the instance statistics (unbiased variance); with ``use_input_stats=False``
    the running statistics are used, as in BatchNorm's evaluation mode.

    Per (n, c): y = γ_c·(x − μ_nc)/√(σ²_nc + ε) + β_c over the spatial axes; backward:
    ``GroupNormFn`` with G = C (help(minigrad.layers.normalization.group.GroupNormFn)).
    Paper: Ulyanov, Vedaldi & Lempitsky 2016, "Instance Normalization: The Missing Ingredient
    for Fast Stylization".
    """
    check_floating("instance_norm", x=x)
    if x.ndim < 3:
        raise ValueError(f"instance_norm: expected an input of shape (N, C, *spatial), "
                         f"got shape {tuple(x.shape)}")
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    N, C = x.shape[:2]
    L = math.prod(x.shape[2:])
    if L <= 1:
        raise ValueError(f"instance_norm: expected more than 1 spatial element per channel, "
                         f"got an input of shape {tuple(x.shape)}")
    if running_mean is not None and N > 0:      # an empty batch leaves the statistics as they are
        with no_grad():
            x3 = x.data.reshape(N, C, L)
            mean = x3.mean(axis=2)
            var = ((x3 - mean[:, :, None]) ** 2).sum(axis=2) / (L - 1)
            for buf, stat in ((running_mean, mean), (running_var, var)):
                buf.data *= 1 - momentum
                buf.data += (momentum * stat.mean(axis=0)).astype(buf.dtype, copy=False)
                buf._version += 1
    return group_norm(x, C, weight, bias, eps)


# ------------------------------------------------------------------ modules
class GroupNorm(Module):
    """Group normalization with ``num_groups`` groups over ``num_channels`` channels and
    a learnable per-channel γ (init 1), β (init 0) when ``affine`` (Wu & He use G = 32).

    y = γ_c·(x − μ_ng)/√(σ²_ng + ε) + β_c; ``GroupNorm(num_groups, num_channels, eps=1e-5,
    affine=True)``. Backward: ``GroupNormFn`` (see ``F.group_norm``).
    Paper: Wu & He 2018, "Group Normalization".
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: {num_channels} channels do not split into "
                             f"{num_groups} groups")
        self.num_groups, self.num_channels, self.eps, self.affine = (
            num_groups, num_channels, eps, affine)
        if affine:
            self.weight = Parameter(ones(num_channels))
            self.bias = Parameter(zeros(num_channels))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(RunningStatsNorm):
    """Shared by InstanceNorm1d/2d. PyTorch's defaults: no affine map, no running
    statistics (IBN-Net uses ``affine=True``); with ``track_running_stats`` the eval
    mode normalizes with the running statistics (a per-channel affine map, as BN eval)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)

    def forward(self, x):
        self._check_input(x)
        use_input_stats = self.training or not self.track_running_stats
        factor = self._running_average_factor()
        return instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                             use_input_stats, factor, self.eps)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) inputs.

    y = γ_c·(x − μ_nc)/√(σ²_nc + ε) + β_c over L; PyTorch's defaults (``affine=False``,
    ``track_running_stats=False``). Backward: ``GroupNormFn`` (see ``F.instance_norm``).
    Paper: Ulyanov, Vedaldi & Lempitsky 2016, "Instance Normalization: The Missing Ingredient
    for Fast Stylization".
    """
    _expected_ndim = (3,)
    _layout = "(N, C, L)"


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) inputs.

    y = γ_c·(x − μ_nc)/√(σ²_nc + ε) + β_c over H, W; PyTorch's defaults (``affine=False``,
    ``track_running_stats=False``). Backward: ``GroupNormFn`` (see ``F.instance_norm``).
    Paper: Ulyanov, Vedaldi & Lempitsky 2016, "Instance Normalization: The Missing Ingredient
    for Fast Stylization".
    """
    _expected_ndim = (4,)
    _layout = "(N, C, H, W)"


# ------------------------------------------------------------------ registry
def _register():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    pos = lambda r, *s: r.uniform(0.5, 2.0, s)  # noqa: E731
    register(group_norm, kind="normalization", catalog_id="N004", module=GroupNorm,
             papers=["Benchmarking the Robustness of Instance Segmentation Models",
                     "Micro-Batch Training with Batch-Channel Normalization and Weight Standardization",
                     "LSNet: See Large, Focus Small",
                     "Two at Once: Enhancing Learning and Generalization Capacities via IBN-Net"],
             inputs=lambda r: [Case(n(r, 2, 4, 3), 2, pos(r, 4), n(r, 4)),
                               Case(n(r, 2, 6, 2, 2), 3),
                               Case(n(r, 2, 3, 4), 3, pos(r, 3), n(r, 3)),   # instance norm
                               Case(n(r, 1, 4, 3), 1, pos(r, 4), n(r, 4))])  # batch of one


_register()
