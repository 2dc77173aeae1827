"""The row machinery the softmax-based losses of ``noisy_labels`` and
``classification_variants`` share: logits (N, C, d1, ...) become rows (M, C), a loss is a
row function ``rows(xp, zr, a, t, *params) -> (ℓ (M,), G_a = ∂ℓ/∂a or None, G_z = ∂ℓ/∂z or
None)`` of the raw logits zr, the log-softmax a = log p and the target rows t, and

    ∂ℓ/∂z_j = G_a,j − p_j·Σ_k G_a,k + G_z,j          (∂a_k/∂z_j = δ_kj − p_j).

The backward recomputes a from the saved logits with ``ctx.xp``, so the same code runs on
tensors under create_graph=True (``differentiable_backward``)."""
from minigrad.layers.losses._common import (batched_logits, class_rows, class_targets,
                                            class_unrows, const, log_softmax_array, xp_of)
from minigrad.ops._checks import check_floating
from minigrad.tensor import Tensor

# ------------------------------------------------------------------ shared machinery
def softmax_rows_forward(ctx, rows, z, t, keep, params, reduction):
    """The forward shared by the row losses: log-softmax rows a of the logits z (N, C, ...),
    the row loss of ``rows``, ignored rows set to 0, then the reduction ('mean' over the
    kept rows, 0 when none is kept)."""
    xp = ctx.xp
    zr = class_rows(xp, z)
    a = log_softmax_array(xp, zr, -1)
    loss, _, _ = rows(xp, zr, a, t, *params)
    if keep is not None:
        loss = xp.where(keep, loss, 0)
    count = int(keep.sum()) if keep is not None else loss.shape[0]
    ctx.save_for_backward(z, t)
    ctx.keep, ctx.params, ctx.reduction, ctx.count = keep, params, reduction, count
    if reduction == "none":
        return loss.reshape((z.shape[0],) + tuple(z.shape[2:]))
    total = loss.sum()
    return total / max(count, 1) if reduction == "mean" else total


def softmax_rows_backward(ctx, rows, gy):
    """∂L/∂z = g·(G_a − p·ΣG_a) + g·G_z per row, g the reduction's weight of the row; all
    recomputed from the saved logits with ``ctx.xp``, so it also runs on tensors
    (create_graph=True) and records its own graph."""
    xp = ctx.xp
    z, t = ctx.saved_tensors
    zr = class_rows(xp, z)
    a = log_softmax_array(xp, zr, -1)
    _, ga, gz = rows(xp, zr, a, t, *ctx.params)
    m = a.shape[0]
    if ctx.reduction == "none":
        g = gy.reshape(-1)
    elif ctx.reduction == "mean":
        g = xp.broadcast_to(gy / max(ctx.count, 1), (m,))
    else:
        g = xp.broadcast_to(gy, (m,))
    if ctx.keep is not None:
        g = xp.where(ctx.keep, g, 0)
    dz = 0
    if ga is not None:
        dz = ga - xp.exp(a) * ga.sum(axis=1, keepdims=True)
    if gz is not None:
        dz = dz + gz
    return class_unrows(xp, g[:, None] * dz, z.shape), None


def softmax_targets(op, input, target, ignore_index=-100, soft=True):
    """(logits (N, C, ...), target rows t (M, C) as a constant tensor, keep mask (M,) or None,
    unbatched flag). Integer targets are class indices (``ignore_index`` entries are
    dropped); floating targets of the logits' shape are probabilities (when ``soft``)."""
    check_floating(op, input=input)
    input, target, unbatched = batched_logits(op, input, target)
    n_classes = input.shape[1]
    if n_classes < 2:
        raise ValueError(f"{op}: needs at least 2 classes, got logits of shape "
                         f"{tuple(input.shape)}")
    if isinstance(target, Tensor) and target.requires_grad:
        raise ValueError(f"{op}: the target (shape {tuple(target.shape)}) requires a gradient, "
                         f"which this loss does not give; pass target.detach()")
    t = target.data if isinstance(target, Tensor) else const(target, input).data
    xp = xp_of(input)
    if t.dtype.kind == "f":
        if not soft:
            raise TypeError(f"{op}: target of dtype {t.dtype} and shape {tuple(t.shape)}: this "
                            f"loss takes integer class indices of shape "
                            f"{(input.shape[0],) + tuple(input.shape[2:])} with values in "
                            f"[0, {n_classes}) (no probability targets)")
        if tuple(t.shape) != tuple(input.shape):
            raise ValueError(f"{op}: floating-point target of shape {tuple(t.shape)} (dtype "
                             f"{t.dtype}) for logits of shape {tuple(input.shape)}: probability "
                             f"targets need the logits' shape; class indices need an integer "
                             f"dtype and shape {(input.shape[0],) + tuple(input.shape[2:])}")
        rows = class_rows(xp, t.astype(input.dtype, copy=False))
        return input, Tensor._wrap(xp.ascontiguousarray(rows)), None, unbatched
    y = class_targets(op, input, t, ignore_index).reshape(-1)
    keep = y != ignore_index
    onehot = (xp.where(keep, y, -1)[:, None] == xp.arange(n_classes)[None, :])
    keep = None if bool(keep.all()) else keep
    return input, Tensor._wrap(onehot.astype(input.dtype)), keep, unbatched


def finish(out, unbatched, reduction):
    """A batch of one made from unbatched logits (C,) gives back a 0-d loss for 'none'."""
    return out.reshape(()) if unbatched and reduction == "none" else out
