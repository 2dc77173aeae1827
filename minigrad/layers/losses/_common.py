"""Helpers shared by the loss families: reductions, label handling, and the few small
fused ``Function``s that many losses are built from (log-softmax, softplus, ReLU,
L2 normalisation, pairwise squared distances). They are private: the public forms of
softmax-like activations live with the activations."""
from minigrad.autograd import Function
from minigrad.backends import backend_of_array
from minigrad.layers.module import Module
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
    return total / loss.size if reduction == "mean" else total


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
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{op}: {names[0]} of shape {tuple(a.shape)} and {names[1]} of shape "
                         f"{tuple(b.shape)} must have the same shape")


def check_2d(op, x, name="embeddings"):
    if x.ndim != 2:
        raise ValueError(f"{op}: {name} must be a 2-D (batch, features) tensor, got shape "
                         f"{tuple(x.shape)}")


# ------------------------------------------------------------------ small fused Functions
def log_softmax_array(xp, z, axis=-1):
    """log softmax(z) = z − LSE(z), with the max subtracted first (stable for any finite z)."""
    m = z.max(axis=axis, keepdims=True)
    shifted = z - m
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class LogSoftmax(Function):
    """y = z − LSE(z) along ``axis``;  dz = gy − softmax(z)·Σ gy  (softmax = e^y)."""
    @staticmethod
    def forward(ctx, z, axis):
        y = log_softmax_array(ctx.xp, z, axis)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy - ctx.xp.exp(y) * gy.sum(axis=ctx.axis, keepdims=True)


def log_softmax(z, axis=-1):
    return LogSoftmax.apply(z, axis)


def softmax(z, axis=-1):
    from minigrad.ops.elementwise import exp
    return exp(log_softmax(z, axis))


def softplus_array(xp, x):
    """log(1 + eˣ) = max(x, 0) + log1p(e^(−|x|)): no overflow for any x."""
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


def sigmoid_array(xp, x):
    return 0.5 * (1 + xp.tanh(0.5 * x))


class Softplus(Function):
    """y = log(1 + eˣ) (stable form);  dy/dx = σ(x)."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return softplus_array(ctx.xp, x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * sigmoid_array(ctx.xp, x)


def softplus(x):
    return Softplus.apply(x)


class Relu(Function):
    """y = max(x, 0) = [x]₊;  dy/dx = 1[x > 0] (0 at the kink)."""
    @staticmethod
    def forward(ctx, x):
        positive = x > 0
        ctx.save_for_backward(positive)
        return ctx.xp.where(positive, x, 0).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, gy):
        positive, = ctx.saved_tensors
        return gy * positive


def relu(x):
    return Relu.apply(x)


class Normalize(Function):
    """x̂ = x / max(‖x‖, eps) along ``axis`` (PyTorch's ``F.normalize``).

    Where ‖x‖ > eps:  dx = (g − x̂·⟨x̂, g⟩)/‖x‖, the projection of g onto the tangent
    space of the sphere, from d(x/r) = dx/r − x·dr/r² and dr = ⟨x̂, dx⟩.
    Where ‖x‖ ≤ eps the denominator is the constant eps: dx = g/eps."""
    @staticmethod
    def forward(ctx, x, axis, eps):
        xp = ctx.xp
        norm = xp.sqrt((x * x).sum(axis=axis, keepdims=True))
        clipped = norm <= eps
        denom = xp.where(clipped, xp.asarray(eps, dtype=x.dtype), norm)
        y = x / denom
        ctx.save_for_backward(y, denom, clipped)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, g):
        y, denom, clipped = ctx.saved_tensors
        radial = y * (y * g).sum(axis=ctx.axis, keepdims=True)
        return (g - ctx.xp.where(clipped, 0, radial)) / denom


def normalize(x, axis=-1, eps=1e-12):
    return Normalize.apply(x, axis, eps)


class PairwiseSquaredDistance(Function):
    """D_ij = ‖x_i − x_j‖² for the rows of x (N, d), from ‖x_i‖² + ‖x_j‖² − 2⟨x_i, x_j⟩
    (clamped at 0 against round-off, exact zeros on the diagonal).

    dD_ij/dx_i = 2(x_i − x_j), dD_ij/dx_j = −2(x_i − x_j), so with S = G + Gᵀ:
    dx_i = 2 Σ_j S_ij (x_i − x_j) = 2 (rowsum(S)_i x_i − (S x)_i)."""
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
