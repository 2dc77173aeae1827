"""Helpers shared by the normalization families."""
from minigrad.autograd import no_grad
from minigrad.creation import ones, zeros
from minigrad.layers.module import Module, Parameter
from minigrad.tensor import Tensor


def standardize(x, axes, eps):
    """(x − mean)/√(var + ε) over ``axes`` (biased variance), from primitives: the composite
    form of the fused normalizations, differentiated under ``create_graph=True``."""
    centered = x - x.mean(axis=axes, keepdims=True)
    return centered / ((centered * centered).mean(axis=axes, keepdims=True) + eps).sqrt()


def as_dtype(a, dtype):
    """An optional parameter array in the input's dtype (the kernels want one dtype)."""
    return None if a is None else a.astype(dtype, copy=False)


class RunningStatsNorm(Module):
    """Shared by BatchNorm and InstanceNorm: learnable γ (init 1) and β (init 0) when
    ``affine``; running_mean (init 0), running_var (init 1) and num_batches_tracked buffers
    when ``track_running_stats``. ``momentum=None`` gives the cumulative moving average
    (factor 1/num_batches_tracked). Subclasses set ``_expected_ndim`` (the allowed ranks)
    and ``_layout`` (the shape, for errors) and define ``forward``."""

    _expected_ndim = ()
    _layout = ""

    def __init__(self, num_features, eps, momentum, affine, track_running_stats):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(ones(num_features))
            self.bias = Parameter(zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features))
            self.register_buffer("running_var", ones(num_features))
            self.register_buffer("num_batches_tracked", Tensor(0))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self):
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def _check_input(self, x):
        name = type(self).__name__
        if x.ndim not in self._expected_ndim:
            raise ValueError(f"{name}: expected an input of shape {self._layout}, got shape "
                             f"{tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{name}({self.num_features}): an input of shape {tuple(x.shape)} "
                             f"has {x.shape[1]} channels on axis 1")

    def _running_average_factor(self):
        """Count a training batch (when tracking) and return the factor of the running
        update: ``momentum``, or 1/num_batches_tracked for ``momentum=None``."""
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
        if self.momentum is not None:
            return self.momentum
        if self.track_running_stats:
            return 1.0 / max(float(self.num_batches_tracked.item()), 1.0)
        return 0.0

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")
