"""L2 normalization of feature vectors and class-weight rows (catalog N007): the cosine
classifier of margin-softmax losses, contrastive embeddings, cosine similarity.

``l2_normalize`` is the differentiable op; ``l2_normalize_`` is SphereFace2's variant, a
projection of a weight back onto the unit sphere in place, outside autograd (call it
after each optimizer step).
"""
from minigrad.autograd import Function, no_grad
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register


class L2NormalizeFn(Function):
    """x̂ = x/max(‖x‖, ε) along ``axis`` (ε = 1e-12, PyTorch's F.normalize).

    Backward: ∂x̂_i/∂x_j = (δ_ij − x̂_i x̂_j)/‖x‖, so dx = (dx̂ − x̂(x̂·dx̂))/‖x‖ when
    ‖x‖ > ε; in the clamped branch x̂ = x/ε and dx = dx̂/ε. The gradient grows like
    1/‖x‖: keep inputs away from 0.
    """
    @staticmethod
    def forward(ctx, x, axis, eps):
        xp = ctx.xp
        raw = xp.sqrt((x * x).sum(axis=axis, keepdims=True))
        clamped = raw <= eps
        d = xp.maximum(raw, eps)
        y = x / d
        ctx.save_for_backward(y, d, clamped)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, gy):
        y, d, clamped = ctx.saved_tensors
        s = (gy * y).sum(axis=ctx.axis, keepdims=True)
        return (gy - y * s * ~clamped) / d, None, None

    @staticmethod
    def composite(x, axis, eps):
        return x / (x * x).sum(axis=axis, keepdims=True).sqrt().maximum(eps)



def l2_normalize(x, axis=-1, eps=1e-12, dim=None):
    """x/max(‖x‖₂, eps) along ``axis`` (PyTorch: ``dim``).

    y = x/max(‖x‖₂, ε),  dx = (dy − y·⟨dy, y⟩)/‖x‖ where ‖x‖ > ε, else dy/ε.
    Backward: ``L2NormalizeFn`` (help(minigrad.layers.normalization.vector.L2NormalizeFn)).
    ``l2_normalize(x, axis=-1, eps=1e-12, dim=None)``. Primitive (no paper).
    """
    check_floating("l2_normalize", x=x)
    axis = dim if dim is not None else axis
    return L2NormalizeFn.apply(x, axis % x.ndim, float(eps))


def normalize(x, p=2.0, dim=1, eps=1e-12):
    """PyTorch's ``F.normalize`` (default ``dim=1``); only ``p=2`` (``l2_normalize``).

    y = x/max(‖x‖₂, eps) along ``dim``; backward ``L2NormalizeFn``. Other ``p`` raise.
    """
    if p != 2:
        raise NotImplementedError(f"normalize: only p=2 is implemented (got p={p}); "
                                  "use l2_normalize")
    return l2_normalize(x, dim, eps)


def l2_normalize_(tensor, axis=-1, eps=1e-12):
    """Project ``tensor`` (a weight: rows of class vectors with ``axis=-1``) onto the unit
    sphere in place, without recording anything (SphereFace2's per-step renormalization).
    Returns ``tensor``.

    w ← w/max(‖w‖₂, eps) along ``axis`` (no gradient: outside the tape).
    """
    from minigrad.backends import backend_of_array
    with no_grad():
        data = tensor.data
        norm = backend_of_array(data).xp.sqrt((data * data).sum(axis=axis, keepdims=True))
        data /= backend_of_array(data).xp.maximum(norm, eps)
        tensor._version += 1
    return tensor


register(l2_normalize, kind="normalization", catalog_id="N007",
         papers=["ArcFace: Additive Angular Margin Loss for Deep Face Recognition",
                 "AdaFace: Quality Adaptive Margin for Face Recognition",
                 "SphereFace2: Binary Classification is All You Need for Deep Face Recognition",
                 "Hyperspherical embedding for novel class classification",
                 "Supervised Contrastive Learning",
                 "Coarse-to-Fine: Learning Compact Discriminative Representation for Single-Stage "
                 "Image Retrieval",
                 "Killing Two Birds with One Stone:Efficient and Robust Training of Face "
                 "Recognition CNNs by Partial FC",
                 "Investigating the Benefits of Projection Head for Representation Learning"],
         inputs=lambda r: [Case(r.standard_normal((3, 4))), Case(r.standard_normal((4, 3)), axis=0),
                           Case(r.standard_normal((2, 3, 2)), dim=1)])
