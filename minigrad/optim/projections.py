"""Post-step projections: after every optimizer step the constrained weights are put back
on their constraint set, outside autodiff (no gradient flows through the projection).

Both classes are used the same way::

    proj = HypersphereRenorm([(emb.weight, 1), (proj.weight, 0)])   # or NonNegativeClip([...])
    proj()                                   # project once (e.g. right after initialization)
    handle = proj.attach(optimizer)          # and after every optimizer.step() from now on
    handle.remove()                          # stop

``attach`` registers the projection as the optimizer's post-step hook
(``Optimizer.register_step_post_hook``), so ``step(closure)`` callers need nothing else.
Neither keeps state beyond its configuration, so an optimizer's state dict round-trip is
unaffected (the projected weights are the model's own).
"""
from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array
from minigrad.registry import register
from minigrad.tensor import Tensor

_NGPT = "nGPT: Normalized Transformer with Representation Learning on the Hypersphere"
_SPHEREFACE2 = "SphereFace2: Binary Classification is All You Need for Deep Face Recognition"
_LPN = "What's in a Prior? Learned Proximal Networks for Inverse Problems"
_WA = "Maintaining Discrimination and Fairness in Class Incremental Learning"


def _tensors_with_dims(name, params, default_dim):
    """[(tensor, dim)] from tensors or (tensor, dim) pairs, checked."""
    if isinstance(params, Tensor):
        raise TypeError(f"{name}: params must be an iterable of tensors (or (tensor, dim) "
                        f"pairs), got a single tensor of shape {tuple(params.shape)}; wrap it "
                        "in a list")
    out = []
    for item in params:
        t, dim = item if isinstance(item, tuple) else (item, default_dim)
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: expected tensors, got {type(t).__name__}")
        if t.dtype.kind != "f":
            raise TypeError(f"{name}: can only project floating tensors, got {t.dtype}")
        if dim is not None:
            if t.ndim == 0:
                raise ValueError(f"{name}: a 0-d tensor has no dimension {dim} to normalize "
                                 "along (pass dim=None for the whole tensor)")
            if not -t.ndim <= dim < t.ndim:
                raise ValueError(f"{name}: dim {dim} is out of range for a tensor of shape "
                                 f"{tuple(t.shape)}")
        out.append((t, dim))
    if not out:
        raise ValueError(f"{name} got an empty parameter list")
    return out


class _PostStepProjection:
    def __call__(self, optimizer=None, args=None, kwargs=None):
        """Project every constrained tensor in place (the signature of a post-step hook)."""
        with no_grad():
            for t, dim in self.params:
                self._project(t.data, dim, backend_of_array(t.data).xp)
                t._version += 1

    def attach(self, optimizer):
        """Run this projection after every ``optimizer.step()``; returns the hook's handle."""
        return optimizer.register_step_post_hook(self)


class HypersphereRenorm(_PostStepProjection):
    """Renormalize weight vectors to unit L2 norm after every optimizer step (projection onto
    the unit hypersphere, not differentiated).

        W[..., i, ...] ← W[..., i, ...] / max(‖W[..., i, ...]‖₂, eps)   (norm taken along ``dim``)

    Paper: Loshchilov, Hsieh, Sun & Ginsburg 2024, "nGPT: Normalized Transformer with
    Representation Learning on the Hypersphere" (Sec. 2.6: weights are normalized after each
    training step; no weight decay, no LR warm-up); Wen, Liu, Weller, Raj & Singh 2022,
    "SphereFace2: Binary Classification is All You Need for Deep Face Recognition".

    Where it came from: NVIDIA/ngpt train.py ``normalize_matrices()``, called once after
    initialization and after every ``optimizer.step()``: each matrix is normalized along its
    embedding dimension: dim 1 for the token embedding, the LM head and the query/key/value
    and MLP input projections (shape (·, n_embd)), dim 0 for the attention and MLP output
    projections (shape (n_embd, ·)); the norm is computed in float32 and cast back.
    ydwen/opensphere opensphere/module/head/sphereface2.py re-normalizes the class-weight
    matrix (shape (num_classes, feat_dim)) along its last dim with ``F.normalize`` in place
    under no-grad at every forward.

    Arguments: ``params`` — tensors, or ``(tensor, dim)`` pairs for per-tensor dims; ``dim``
    (default -1, the last axis: a row of an (out, in) weight or an embedding row) — the axis
    the norm runs along, ``None`` for the whole tensor; ``eps`` (default 1e-12, as
    ``F.normalize`` in the SphereFace2 code) — a zero vector stays zero instead of becoming
    NaN (nGPT's ``justnorm`` has no guard; eps = 0 reproduces it, NaN included).

    Deviation: computed in the tensor's own dtype (float16 promoted to float32, as nGPT
    does), each vector first divided by its largest |entry| so that neither a² nor ‖a‖
    overflows (a float32 row near 3e38 still normalizes).
    """

    def __init__(self, params, dim=-1, eps=1e-12):
        if not eps >= 0:
            raise ValueError(f"HypersphereRenorm: eps must be >= 0, got {eps}")
        self.params = _tensors_with_dims("HypersphereRenorm", params, dim)
        self.eps = eps

    def _project(self, w, dim, xp):
        a = w.astype(xp.float32) if w.dtype == xp.float16 else w
        # b = a / max|a| per vector, so b / ‖b‖ = a / ‖a‖ with no overflow of a² or of ‖a‖
        amax = xp.abs(a).max(axis=dim, keepdims=True)
        scale = xp.where((amax > 0) & xp.isfinite(amax), amax, xp.ones_like(amax))
        b = a / scale
        nb = xp.sqrt((b * b).sum(axis=dim, keepdims=True))
        with _ignore_division(xp):
            unit = b / nb
            if self.eps > 0:   # ‖a‖ < eps: a / eps (F.normalize); a zero vector stays zero
                unit = xp.where(scale * nb >= self.eps, unit, a / self.eps)
        w[...] = unit.astype(w.dtype)


class NonNegativeClip(_PostStepProjection):
    """Clip weights to be non-negative after every optimizer step (Euclidean projection onto
    the non-negative orthant, not differentiated):

        W ← max(W, 0)

    Paper: Fang, Buchanan & Sulam 2024, "What's in a Prior? Learned Proximal Networks for
    Inverse Problems" — the weights on the z-path of the input-convex network are kept
    non-negative so that ψ stays convex and f = ∇ψ a proximal operator
    (ZhenghanFang/learned-proximal-networks lpn/train.py calls ``model.wclip()`` right after
    ``optimizer.step()``; lpn/networks/lpn_128.py ``wclip`` clamps the z-path weights
    ``lin[1:]`` to ≥ 0 in place under no-grad); Zhao, Xiao, Gan, Zhang & Xia 2020,
    "Maintaining Discrimination and Fairness in Class Incremental Learning" (Weight
    Aligning: the FC classifier weights are clipped to be non-negative after each
    optimization step; from the paper's description, its code not read here).

    Arguments: ``params`` — the constrained tensors. Positive entries are untouched (bit
    for bit), negative ones become 0, NaN stays NaN (no silent repair of a diverged run).
    """

    def __init__(self, params):
        self.params = _tensors_with_dims("NonNegativeClip", params, None)

    def _project(self, w, dim, xp):
        xp.copyto(w, 0, where=w < 0)


class _ignore_division:
    """Silence NumPy's warnings from the branch ``where`` discards (a / eps of a huge row) and
    from 0/0 → NaN where eps = 0 was asked for."""

    def __init__(self, xp):
        self.np = xp if hasattr(xp, "errstate") else None

    def __enter__(self):
        if self.np is not None:
            self._state = self.np.errstate(invalid="ignore", divide="ignore", over="ignore")
            self._state.__enter__()

    def __exit__(self, *exc):
        if self.np is not None:
            self._state.__exit__(*exc)


register(HypersphereRenorm, name="hypersphere_renorm", kind="optimizer", check="state",
         catalog_id="O057", papers=[_NGPT, _SPHEREFACE2])
register(NonNegativeClip, name="nonneg_weight_clip", kind="optimizer", check="state",
         catalog_id="O058", papers=[_LPN, _WA])
