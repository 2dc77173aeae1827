"""Helpers shared by the loss families: reductions, label handling, the registered ops
that many losses are built from (log-softmax, softplus, ReLU, L2 normalisation) under
short names, and a fused pairwise squared distance."""
from minigrad.autograd import Function
from minigrad.backends import backend_of_array
from minigrad.backends.kernels.activation_ref import (stable_sigmoid as sigmoid_array,  # noqa: F401
                                                      stable_softplus as softplus_array)
from minigrad.layers.activations.rectifiers import relu  # noqa: F401
from minigrad.layers.activations.smooth import softplus as _softplus
from minigrad.layers.activations.softmax import log_softmax as _log_softmax, softmax as _softmax
from minigrad.layers.module import Module
from minigrad.layers.normalization.vector import l2_normalize
from minigrad.tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(op, reduction, allowed=REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(f"{op}: reduction must be one of {', '.join(repr(r) for r in allowed)}, "
                         f"got {reduction!r}")


def reduce(loss, reduction, op):
    """'mean' / 'sum' over every element, or the unreduced tensor for 'none'."""
    check_reduction(op, reduction)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def reduce_array(xp, loss, reduction):
    """The forward of a reduction inside a fused ``Function`` (a 0-d array for mean/sum)."""
    if reduction == "none":
        return loss
    total = loss.sum()          # a NumPy scalar on the CPU, like the Sum op's output
    count = loss.numel() if hasattr(loss, "numel") else loss.size   # a Tensor or an array
    return total / count if reduction == "mean" else total


def reduction_grad(xp, g, shape, reduction):
    """The gradient of that reduction: gy broadcast back to the unreduced ``shape``."""
    if reduction == "none":
        return g
    n = 1
    for k in shape:
        n *= k
    return xp.broadcast_to(g / n if reduction == "mean" else g, shape)


def zero_loss(like):
    """A 0-d zero that is still connected to ``like`` (so backward reaches it with zeros):
    what a loss returns when a batch has nothing to penalise (no valid pair, say)."""
    return (like * 0.0).sum()


def scalar_param(x, like):
    """A scalar hyperparameter (a float, or a learnable temperature tensor) as a tensor on
    ``like``'s backend and dtype."""
    if not isinstance(x, Tensor):
        return const(xp_of(like).asarray(float(x), dtype=like.dtype), like)
    return x


def xp_of(t):
    return backend_of_array(t.data if isinstance(t, Tensor) else t).xp


def raw(x, like):
    """The backend array of ``x`` (a Tensor, a NumPy/CuPy array or a list) on ``like``'s backend."""
    data = x.data if isinstance(x, Tensor) else x
    return backend_of_array(like.data).asarray(data)


def const(x, like, dtype=None):
    """``x`` as a constant tensor on ``like``'s backend (``dtype`` defaults to like's for floats)."""
    array = raw(x, like)
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    return Tensor._wrap(array)


def int_labels(op, labels, like, n=None, name="labels"):
    """Integer class labels as a backend array, checked: an integer dtype, one dimension,
    ``n`` entries when ``n`` is given."""
    array = raw(labels, like)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must be integer class indices, got dtype {array.dtype} "
                        f"and shape {tuple(array.shape)}")
    if n is not None and tuple(array.shape) != (n,):
        raise ValueError(f"{op}: {name} of shape {tuple(array.shape)} do not match a batch of "
                         f"{n} (expected shape ({n},))")
    return array


def check_same_shape(op, a, b, names=("input", "target")):
    """Raise ValueError unless ``a`` and ``b`` have the same shape. An elementwise loss must
    not broadcast: a prediction (N, 1) against a target (N,) would silently average over
    N² pairs."""
    sa, sb = tuple(a.shape), tuple(b.shape)
    if sa != sb:
        both = _broadcast_shape(sa, sb)
        hint = f" (they would broadcast to {both})" if both is not None else ""
        raise ValueError(f"{op}: {names[0]} of shape {sa} and {names[1]} of shape {sb} must "
                         f"have the same shape{hint}")


def _broadcast_shape(sa, sb):
    """The broadcast of two shapes, or None when they do not broadcast."""
    n = max(len(sa), len(sb))
    sa, sb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    if any(x != y and 1 not in (x, y) for x, y in zip(sa, sb)):
        return None
    return tuple(x if y == 1 else y for x, y in zip(sa, sb))


def check_2d(op, x, name="embeddings"):
    if x.ndim != 2:
        raise ValueError(f"{op}: {name} must be a 2-D (batch, features) tensor, got shape "
                         f"{tuple(x.shape)}")


# ------------------------------------------------------------------ class targets
def class_rows(xp, z):
    """(N, C, d1, ...) → (M, C) with M = N·d1·…: the class axis last, then flattened."""
    return xp.moveaxis(z, 1, -1).reshape(-1, z.shape[1])


def class_unrows(xp, g, shape):
    """The inverse of ``class_rows``: (M, C) back to (N, C, d1, ...)."""
    moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return xp.moveaxis(g.reshape(moved), -1, 1)


def class_targets(op, input, target, ignore_index=None):
    """Check integer class targets against logits (N, C, d1, ...): dtype, shape and range."""
    n_classes = input.shape[1]
    expected = (input.shape[0],) + tuple(input.shape[2:])
    y = const(target, input).data
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: class-index targets must have an integer dtype, got {y.dtype} with shape "
            f"{tuple(y.shape)} for logits of shape {tuple(input.shape)}; pass integer labels "
            f"of shape {expected} with values in [0, {n_classes})"
            + (", or probability targets (floating point) of the logits' shape"
               if op == "cross_entropy" else ""))
    if tuple(y.shape) != expected:
        raise ValueError(f"{op}: target of shape {tuple(y.shape)} does not match logits of "
                         f"shape {tuple(input.shape)}: class-index targets need shape {expected} "
                         f"(the logits without their class axis 1)")
    keep = y != ignore_index if ignore_index is not None else None
    bad = (y < 0) | (y >= n_classes)
    if keep is not None:
        bad &= keep
    if y.size and bool(bad.any()):
        first = int(xp_of(y).argmax(bad.reshape(-1)))
        value = int(y.reshape(-1)[first])
        extra = f" (or ignore_index={ignore_index})" if ignore_index is not None else ""
        raise IndexError(f"{op}: target value {value} at flat position {first} is out of range "
                         f"for {n_classes} classes: valid class indices are [0, {n_classes})"
                         + extra)
    return y


def batched_logits(op, input, target):
    """Unbatched logits (C,) with a scalar (or (C,) soft) target become a batch of one."""
    if input.ndim == 0:
        raise ValueError(f"{op}: logits must have a class axis, got a 0-d tensor")
    if input.ndim == 1:
        t = target if isinstance(target, Tensor) else const(target, input)
        return input.reshape(1, input.shape[0]), t.reshape((1,) + tuple(t.shape)), True
    return input, target, False


# ------------------------------------------------------------------ small fused Functions
def log_softmax_array(xp, z, axis=-1):
    """log softmax(z) = z − LSE(z), with the max subtracted first (stable for any finite z)."""
    m = z.max(axis=axis, keepdims=True)
    shifted = z - m
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def log_softmax(z, axis=-1):
    return _log_softmax(z, axis)


def softmax(z, axis=-1):
    return _softmax(z, axis)


def softplus(x):
    """log(1 + eˣ) exactly for every x (``F.softplus`` without its linear cut-off at 20)."""
    return _softplus(x, threshold=float("inf"))


def normalize(x, axis=-1, eps=1e-12):
    """x/max(‖x‖₂, eps) along ``axis`` (``F.l2_normalize``)."""
    return l2_normalize(x, axis, eps)


def norm(x, axis=-1, keepdims=False):
    """‖x‖₂ along ``axis`` as x·x̂: the same value, gradient x̂, and gradient 0 at x = 0
    (PyTorch's norm backward) where √(Σx²) would give 0/0."""
    return (x * normalize(x, axis)).sum(axis=axis, keepdims=keepdims)


class PairwiseSquaredDistance(Function):
    """D_ij = ‖x_i − x_j‖² for the rows of x (N, d), from ‖x_i‖² + ‖x_j‖² − 2⟨x_i, x_j⟩
    (clamped at 0 against round-off, exact zeros on the diagonal).

    dD_ij/dx_i = 2(x_i − x_j), dD_ij/dx_j = −2(x_i − x_j), so with S = G + Gᵀ:
    dx_i = 2 Σ_j S_ij (x_i − x_j) = 2 (rowsum(S)_i x_i − (S x)_i)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        sq = (x * x).sum(axis=1)
        d = sq[:, None] + sq[None, :] - 2 * (x @ x.T)
        d = xp.maximum(d, 0)
        n = x.shape[0]
        d[xp.arange(n), xp.arange(n)] = 0
        ctx.save_for_backward(x)
        return d

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        s = g + g.T
        return 2 * (s.sum(axis=1)[:, None] * x - s @ x)


def pairwise_sq_distances(x):
    return PairwiseSquaredDistance.apply(x)


def same_label_masks(xp, labels):
    """(positives, negatives) boolean (N, N) masks: same label without the diagonal, other label."""
    same = labels[:, None] == labels[None, :]
    eye = xp.eye(labels.shape[0], dtype=bool)
    return same & ~eye, ~same


class LossModule(Module):
    """Base of the loss Modules: hyperparameters as attributes, ``reduction`` among them."""

    def __init__(self, reduction="mean"):
        super().__init__()
        check_reduction(type(self).__name__, reduction, REDUCTIONS + ("batchmean",))
        self.reduction = reduction

    def extra_repr(self):
        return ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()
                         if not k.startswith("_") and k != "training"
                         and isinstance(v, (int, float, str, bool, tuple, type(None))))
