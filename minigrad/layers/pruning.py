"""Magnitude pruning masks, global or per layer, for iterative prune-retrain (catalog B025)."""
from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["MagnitudePruner"]  # Modules; functions: minigrad.functional


def _count(amount, n):
    if isinstance(amount, int) and not isinstance(amount, bool):
        if not 0 <= amount <= n:
            raise ValueError(f"magnitude_prune_mask: cannot prune {amount} of {n} weights")
        return amount
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"magnitude_prune_mask: amount must be a fraction in [0, 1] or a count, "
                         f"got {amount}")
    return int(round(amount * n))


def _keep_mask(xp, magnitudes, k):
    """Mask (same shape) that is 0 at the k smallest magnitudes, 1 elsewhere (ties broken by
    position, so exactly k entries are pruned, like ``torch.nn.utils.prune``)."""
    flat = magnitudes.reshape(-1)
    mask = xp.ones(flat.shape, dtype=bool)
    if k:
        mask[xp.argsort(flat, kind="stable")[:k]] = False
    return mask.reshape(magnitudes.shape)


def magnitude_prune_mask(weights, amount, scope="global"):
    """Masks M = 1[|W| above the pruning threshold] that remove the fraction (float) or number
    (int) ``amount`` of smallest-magnitude weights, over all tensors together
    (``scope='global'``, "class-blinded") or in each tensor separately (``'layer'``,
    "class-uniform"). ``weights``: a tensor, a list of tensors or a dict name → tensor; the
    masks come back in the same structure, as constant tensors of the weights' dtype.

    The mask is a constant: W_eff = W ⊙ M has dW = dW_eff ⊙ M, and the threshold choice is
    not differentiated. Already-pruned weights (0) are the smallest, so iterating with a
    growing ``amount`` keeps earlier masks (iterative pruning); re-apply the masks after every
    optimizer step (``apply_masks_``) so pruned weights stay exactly 0.

    Paper: Han, Pool, Tran & Dally 2015, "Learning both Weights and Connections for Efficient
    Neural Networks".
    """
    if scope not in ("global", "layer"):
        raise ValueError(f"magnitude_prune_mask: scope must be 'global' or 'layer', got {scope!r}")
    single = isinstance(weights, Tensor)
    keys = list(weights) if isinstance(weights, dict) else None
    tensors = [weights] if single else (list(weights.values()) if keys is not None else list(weights))
    if not tensors:
        return weights
    xp = backend_of_array(tensors[0].data).xp
    if scope == "layer":
        masks = [_keep_mask(xp, xp.abs(t.data), _count(amount, t.numel())) for t in tensors]
    else:
        flat = xp.concatenate([xp.abs(t.data).reshape(-1).astype("float64") for t in tensors])
        keep = _keep_mask(xp, flat, _count(amount, flat.size))
        masks, start = [], 0
        for t in tensors:
            masks.append(keep[start:start + t.numel()].reshape(t.shape))
            start += t.numel()
    masks = [Tensor._wrap(m.astype(t.dtype)) for m, t in zip(masks, tensors)]
    if single:
        return masks[0]
    return dict(zip(keys, masks)) if keys is not None else masks


def _prunable(module, names):
    return {f"{mod_name}.{n}" if mod_name else n: getattr(m, n)
            for mod_name, m in module.named_modules()
            for n in names if isinstance(getattr(m, n, None), Tensor) and getattr(m, n).ndim > 1}


def apply_masks_(params, masks):
    """W ← W ⊙ M in place (under no_grad) for matching entries of two dicts name → tensor."""
    with no_grad():
        for name, m in masks.items():
            p = params[name]
            p.data *= m.data
            p._version += 1


def magnitude_prune_(module, amount, scope="global", names=("weight",)):
    """Prune ``module``'s weight matrices/kernels (attributes in ``names`` with ≥ 2 dims) in
    place; returns the masks (dict dotted name → mask) to re-apply after each step."""
    params = _prunable(module, names)
    masks = magnitude_prune_mask(params, amount, scope)
    apply_masks_(params, masks)
    return masks


class MagnitudePruner:
    """Iterative magnitude pruning: ``pruner = MagnitudePruner(model, scope='global')``;
    ``pruner.prune(0.5)`` computes and applies masks, ``pruner.apply()`` after every
    ``optimizer.step()`` keeps pruned weights at 0; a later ``prune(0.75)`` tightens the
    masks (pruned weights stay pruned); ``pruner.sparsity()`` is the pruned fraction.

    W ← W ⊙ M, M = 1[|W| above the threshold] (see ``F.magnitude_prune_mask``).
    Paper: Han, Pool, Tran & Dally 2015, "Learning both Weights and Connections for Efficient
    Neural Networks".
    """

    def __init__(self, module, scope="global", names=("weight",)):
        self.module, self.scope, self.names = module, scope, names
        self.masks = {}

    def prune(self, amount):
        self.masks = magnitude_prune_(self.module, amount, self.scope, self.names)
        return self.masks

    def apply(self):
        apply_masks_(_prunable(self.module, self.names), self.masks)

    def sparsity(self):
        total = sum(m.numel() for m in self.masks.values())
        kept = sum(float(m.data.sum()) for m in self.masks.values())
        return 1.0 - kept / total if total else 0.0


def _pruned(*weights, amount, scope="global"):
    """What the checks differentiate: W ⊙ M for each weight (M a constant of W)."""
    masks = magnitude_prune_mask(list(weights), amount, scope)
    out = [w * m for w, m in zip(weights, masks)]
    return out[0] if len(out) == 1 else tuple(out)


def _distinct_magnitudes(r, *shape):
    n = 1
    for s in shape:
        n *= s
    return (r.choice([-1.0, 1.0], n) * (r.permutation(n) + 1) * 0.1
            + r.uniform(-0.02, 0.02, n)).reshape(shape)


register(magnitude_prune_mask, kind="layer", catalog_id="B025",
         papers=["Experiments on Properties of Hidden Structures of Sparse Neural Networks",
                 "Generalization Bounds for Magnitude-Based Pruning via Sparse Matrix Sketching",
                 "AP: Selective Activation for De-sparsifying Pruned Neural Networks",
                 "Sparse Model Soups: A Recipe for Improved Pruning via Model Averaging",
                 "Efficient Joint Optimization of Layer-Adaptive Weight Pruning in Deep Neural Networks"],
         inputs=lambda r: [Case(_distinct_magnitudes(r, 4, 5), amount=0.5),
                           Case(_distinct_magnitudes(r, 3, 4), _distinct_magnitudes(r, 2, 6), amount=0.3),
                           Case(_distinct_magnitudes(r, 3, 4), 3 * _distinct_magnitudes(r, 2, 6),
                                amount=0.4, scope="layer")],
         checked_as=_pruned)
