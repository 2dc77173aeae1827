"""Composite ops at their singular points: a zero vector under a norm or a normalisation,
a zero-variance slice under a standard deviation, cosines of ±1 under an angle, degenerate
boxes under an IoU. Each must give a finite value and finite gradients, equal to PyTorch's
where PyTorch is finite (√'s gradient is taken as 0 at 0, F.normalize divides by
max(‖x‖, eps)); one NaN there used to poison every gradient of the batch."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import F
from minigrad.layers.losses._common import norm


def t(a, grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def numeric_grad(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        g[i] = (f(up) - f(down)) / (2 * h)
    return g


# ------------------------------------------------------------------ std
@pytest.mark.parametrize("axis, ddof", [(1, 0), (None, 0), (0, 1)])
def test_std_of_a_constant_has_zero_gradient(axis, ddof):
    x = t(np.full((3, 4), 2.5))
    y = F.std(x, axis=axis, ddof=ddof)
    assert np.all(y.numpy() == 0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))


def test_std_over_a_singleton_axis_has_zero_gradient():
    x = t(np.random.default_rng(0).standard_normal((3, 1)))
    x.std(axis=1, correction=0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 1)))


def test_std_gradient_elsewhere_is_unchanged_when_one_row_is_constant():
    data = np.random.default_rng(1).standard_normal((3, 4))
    data[1] = 0.7
    x = t(data)
    F.std(x, axis=1, correction=0).sum().backward()   # numeric_grad below: NumPy's ddof=0
    expected = numeric_grad(lambda a: a.std(axis=1).sum(), data)
    expected[1] = 0.0                     # the true subgradient there; FD straddles the kink
    np.testing.assert_allclose(x.grad.numpy(), expected, atol=1e-6)


# ------------------------------------------------------------------ norms
def test_norm_helper_has_gradient_x_hat_and_zero_at_zero():
    data = np.array([[3.0, 4.0], [0.0, 0.0]])
    x = t(data)
    n = norm(x, axis=1)
    np.testing.assert_allclose(n.numpy(), [5.0, 0.0])
    n.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.6, 0.8], [0.0, 0.0]])


def test_l2_normalize_at_zero_matches_pytorchs_clamped_branch():
    x = t(np.zeros((1, 3)))
    y = F.l2_normalize(x)
    np.testing.assert_array_equal(y.numpy(), np.zeros((1, 3)))
    (y * t([[1.0, 2.0, 3.0]], False)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.array([[1.0, 2.0, 3.0]]) / 1e-12)


def test_sphereface_with_an_all_zero_embedding_leaves_the_rest_of_the_batch_intact():
    rng = np.random.default_rng(0)
    emb, w = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    y = np.array([0, 3, 1, 2])
    emb[2] = 0.0
    full_e, full_w = t(emb), t(w)
    per = F.sphereface_loss(full_e, full_w, y, reduction="none")
    assert per.numpy()[2] == pytest.approx(math.log(5))   # every logit of that row is 0
    per.sum().backward()
    keep = [0, 1, 3]
    part_e, part_w = t(emb[keep]), t(w)
    F.sphereface_loss(part_e, part_w, y[keep], reduction="sum").backward()
    np.testing.assert_allclose(per.numpy()[keep],
                               F.sphereface_loss(t(emb[keep]), t(w), y[keep],
                                                 reduction="none").numpy())
    np.testing.assert_allclose(full_e.grad.numpy()[keep], part_e.grad.numpy(), atol=1e-12)
    # The zero row: softmax of all-zero logits is uniform; the other classes' logits x·ŵ_j
    # pass (1/C)·ŵ_j, the target's ‖x‖·ψ(θ) passes 0 (‖x‖'s gradient at 0, as in PyTorch).
    w_hat = w / np.linalg.norm(w, axis=1, keepdims=True)
    others = [j for j in range(5) if j != y[2]]
    np.testing.assert_allclose(full_e.grad.numpy()[2], w_hat[others].sum(axis=0) / 5, atol=1e-12)
    np.testing.assert_allclose(full_w.grad.numpy(), part_w.grad.numpy(), atol=1e-12)


def test_triplet_distance_of_identical_points_has_pytorchs_zero_gradient():
    x = np.random.default_rng(0).standard_normal((2, 3))
    a, p, n = t(x), t(x), t(x + 1.0)
    loss = F.triplet_margin_loss(a, p, n, margin=5.0, eps=0.0)
    assert loss.item() == pytest.approx(5.0 - math.sqrt(3.0))
    loss.backward()
    np.testing.assert_allclose(p.grad.numpy(), np.zeros((2, 3)))       # ∂d(a, p) at a = p
    np.testing.assert_allclose(n.grad.numpy(), np.full((2, 3), -1 / math.sqrt(3) / 2))


def test_spectral_norm_of_a_zero_weight_is_zero_with_the_clamped_gradient():
    w = t(np.zeros((3, 4)))
    u = mg.tensor(np.ones(3) / math.sqrt(3))
    out = F.spectral_norm(w, u)
    np.testing.assert_array_equal(out.numpy(), np.zeros((3, 4)))
    out.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.full((3, 4), 1 / 1e-12))


def test_ciou_of_point_boxes_is_finite_where_torchvision_gives_nan():
    b = np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 2.0, 0.0]])
    x, g = t(b), t(b)
    loss = F.ciou_loss(x, g, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [1.0, 1.0])    # IoU 0, centres equal, angles equal
    loss.sum().backward()
    assert np.isfinite(x.grad.numpy()).all() and np.isfinite(g.grad.numpy()).all()


# ------------------------------------------------------------------ every op at its singular input
R = np.random.default_rng(0)
X = R.standard_normal((3, 4))
XZ = X.copy()
XZ[1] = 0.0
W = R.standard_normal((3, 4))
WZ = W.copy()
WZ[2] = 0.0
LABELS = np.array([0, 1, 0])
PAIRS = np.array([0, 0, 1, 1])
BOXES = np.array([[0.0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 2, 2]])
ONE_BOX = np.array([[0.0, 0, 1, 1]] * 3)
ZERO4 = np.vstack([XZ, np.zeros((1, 4))])
SAME = np.vstack([X[:1], X[:1], X[1:2], X[1:2]])

SINGULAR = {
    "std constant": (lambda a: F.std(a, axis=1), [np.ones((3, 4))]),
    "std singleton axis": (lambda a: F.std(a, axis=1, ddof=0), [X[:, :1]]),
    "l2_normalize zero row": (lambda a: F.l2_normalize(a), [XZ]),
    "normalize zero row": (lambda a: F.normalize(a), [XZ]),
    "arcface zero embedding": (lambda a, w: F.arcface_loss(a, w, LABELS), [XZ, W]),
    "arcface zero class row": (lambda a, w: F.arcface_loss(a, w, LABELS), [X, WZ]),
    "arcface cos = 1": (lambda a, w: F.arcface_loss(a, w, LABELS), [W[LABELS], W]),
    "arcface cos = -1": (lambda a, w: F.arcface_loss(a, w, LABELS), [-W[LABELS], W]),
    "subcenter arcface zero": (lambda a, w: F.subcenter_arcface_loss(a, w, LABELS, k=1), [XZ, W]),
    "cosface zero embedding": (lambda a, w: F.cosface_loss(a, w, LABELS), [XZ, W]),
    "cosface cos = 1": (lambda a, w: F.cosface_loss(a, w, LABELS), [W[LABELS], W]),
    "sphereface zero embedding": (lambda a, w: F.sphereface_loss(a, w, LABELS), [XZ, W]),
    "sphereface zero class row": (lambda a, w: F.sphereface_loss(a, w, LABELS), [X, WZ]),
    "sphereface cos = 1": (lambda a, w: F.sphereface_loss(a, w, LABELS), [W[LABELS], W]),
    "sphereface cos = -1": (lambda a, w: F.sphereface_loss(a, w, LABELS), [-W[LABELS], W]),
    "cosine_embedding zero": (lambda a, b: F.cosine_embedding_loss(a, b, np.array([1, -1, 1])),
                              [XZ, X]),
    "cosine_embedding equal": (lambda a, b: F.cosine_embedding_loss(a, b, np.array([1, -1, 1])),
                               [X, X]),
    "byol zero": (F.byol_loss, [XZ, X]),
    "info_nce zero": (F.info_nce_loss, [XZ, X]),
    "info_nce zero negatives": (F.info_nce_loss, [XZ, X, np.zeros((2, 4))]),
    "clip zero": (lambda a, b: F.clip_loss(a, b, 2.0), [XZ, X]),
    "siglip zero": (lambda a, b: F.siglip_loss(a, b, 1.0, -1.0), [XZ, X]),
    "supcon zero": (lambda a: F.supcon_loss(a.reshape(3, 1, 4), np.array([0, 0, 1])), [XZ]),
    "circle zero": (lambda a: F.circle_loss(a, PAIRS, gamma=16.0), [ZERO4]),
    "multi_similarity zero": (lambda a: F.multi_similarity_loss(a, PAIRS), [ZERO4]),
    "proxy_nca zero": (lambda a, p: F.proxy_nca_loss(a, LABELS, p), [XZ, WZ]),
    "contrastive_pair duplicates": (lambda a: F.contrastive_pair_loss(a, PAIRS), [SAME]),
    "triplet mined duplicates": (lambda a: F.triplet_margin_loss(a, PAIRS), [SAME]),
    "triplet a = p = n": (F.triplet_margin_loss, [X, X, X]),
    "triplet a = p = n, eps 0": (lambda a, p, n: F.triplet_margin_loss(a, p, n, eps=0.0),
                                 [X, X, X]),
    "triplet p = 1": (lambda a, p, n: F.triplet_margin_loss(a, p, n, p=1), [X, X, X]),
    "iou degenerate": (F.iou_loss, [BOXES, BOXES]),
    "giou degenerate": (F.giou_loss, [BOXES, BOXES]),
    "diou degenerate": (F.diou_loss, [BOXES, BOXES]),
    "ciou degenerate": (F.ciou_loss, [BOXES, BOXES]),
    "ciou point vs box": (F.ciou_loss, [BOXES, ONE_BOX]),
    "ciou paper gradient": (lambda a, b: F.ciou_loss(a, b, paper_gradient=True), [BOXES, ONE_BOX]),
    "rmse zero residual": (F.rmse_loss, [X, X]),
    "rmse relative, zero predictions": (lambda a, b: F.rmse_loss(a, b, normalization="relative"),
                                        [np.zeros((3, 4)), X]),
    "rmsle zero residual": (lambda a, b: F.msle_loss(a, b, root=True), [abs(X), abs(X)]),
    "weight_norm zero unit": (F.weight_norm, [WZ, np.ones(3)]),
    "weight_norm zero tensor": (lambda v, g: F.weight_norm(v, g, axis=None),
                                [np.zeros((3, 4)), np.ones(())]),
    "spectral_norm zero": (lambda w: F.spectral_norm(w, mg.tensor(np.ones(3) / 3 ** 0.5)),
                           [np.zeros((3, 4))]),
    "gaussian_nll zero var": (F.gaussian_nll_loss, [X, X, np.zeros((3, 4))]),
    "mape zero target": (F.mape_loss, [X, np.zeros((3, 4))]),
    "kl_div zero target": (F.kl_div, [X, np.zeros((3, 4))]),
}


@pytest.mark.parametrize("name", sorted(SINGULAR))
def test_singular_input_gives_finite_value_and_gradients(name):
    fn, arrays = SINGULAR[name]
    inputs = [t(a) for a in arrays]
    out = fn(*inputs)
    assert np.isfinite(out.numpy()).all(), f"{name}: forward {out.numpy()}"
    out.sum().backward()
    for k, x in enumerate(inputs):
        if x.grad is not None:                        # a detached target gets none
            assert np.isfinite(x.grad.numpy()).all(), f"{name}: gradient {k} {x.grad.numpy()}"
    assert inputs[0].grad is not None
