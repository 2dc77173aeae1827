"""Ranking, multi-label, retrieval and recommendation losses (issue 15, L092–L101): BPR,
SimpleX CCL, CM³ calibrated uniformity, Macro-AUC surrogates, capsule margin loss, DEXML
decoupled softmax and soft top-k, NeuralNDCG, MRL. The shared harness (tests/test_registry.py)
gradchecks (first and second order) every registered case and compares forwards with
tests/oracles/loss_ranking.py; this file covers the edges: extreme scores, empty positive
sets, batch of one, reductions, bad inputs, dtypes, Modules, identities with other losses."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import F, nn
from minigrad.gradcheck import gradcheck


def t64(a, grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def finite_loss_and_grad(fn, *arrays, **kw):
    ts = [t64(a) for a in arrays]
    out = fn(*ts, **kw)
    out.sum().backward()
    assert np.all(np.isfinite(out.numpy())), out
    for t in ts:
        assert np.all(np.isfinite(t.grad.numpy()))
    return out, ts


RNG = np.random.default_rng(0)
Y = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [1, 1, 0, 1]])

# name -> (make args from a score scale, keyword arguments)
SCORE_LOSSES = {
    "macro_auc_pairwise_loss": {"loss": "logistic"},
    "macro_auc_univariate_loss": {"loss": "logistic"},
    "decoupled_softmax_loss": {},
    "soft_topk_loss": {"k": 2},
}


# ------------------------------------------------------------------ extreme scores
@pytest.mark.parametrize("name", SCORE_LOSSES)
def test_extreme_scores_stay_finite(name):
    z = np.array([[1e4, -1e4, 3.0, 0.0], [-1e4, 1e4, 1e4, -1e4], [0.5, -1e4, 1e4, 2.0]])
    finite_loss_and_grad(getattr(F, name), z, target=Y, **SCORE_LOSSES[name])


@pytest.mark.parametrize("loss", ["square", "hinge", "logistic"])
def test_macro_auc_extreme_all_surrogates(loss):
    z = np.array([[1e4, -1e4], [-1e4, 1e4], [0.0, 1.0]])
    y = np.array([[1, 0], [0, 1], [0, 1]])
    for fn in (F.macro_auc_pairwise_loss, F.macro_auc_univariate_loss):
        finite_loss_and_grad(fn, z, target=y, loss=loss)


def test_bpr_extreme_and_values():
    out, (p, n) = finite_loss_and_grad(F.bpr_loss, [1e4, -1e4, 0.0], [-1e4, 1e4, 0.0],
                                       reduction="none")
    np.testing.assert_allclose(out.numpy(), [0.0, 2e4, math.log(2)])
    np.testing.assert_allclose(p.grad.numpy(), [0.0, -1.0, -0.5])
    np.testing.assert_allclose(n.grad.numpy(), [0.0, 1.0, 0.5])


def test_ccl_zero_and_huge_vectors():
    u = np.array([[0.0, 0.0, 0.0], [1e4, -1e4, 3.0]])
    p = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    n = np.array([[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [[1e4, 1e4, 0.0], [-1e4, 1e4, 1.0]]])
    finite_loss_and_grad(F.cosine_contrastive_loss, u, p, n, margin=0.2)


def test_capsule_zero_and_huge_capsules():
    v = np.zeros((2, 3, 4))
    v[1, 2] = 1e4
    finite_loss_and_grad(F.capsule_margin_loss, v, target=np.array([0, 2]))


def test_neural_ndcg_extreme_and_ties():
    s = np.array([[1e4, -1e4, 0.0, 3.0], [1.0, 1.0, 1.0, 1.0]])
    y = np.array([[2, 0, 1, 0], [1, 0, 2, 0]])
    finite_loss_and_grad(F.neural_ndcg_loss, s, target=y)


def test_mrl_extreme_means():
    finite_loss_and_grad(F.multivariate_kl_similarity_loss, [[1e4, -1e4]], [[1.0, 2.0]],
                         [[-1e4, 1e4], [0.0, 0.0]], [[0.5, 1.0], [1e-3, 1e3]],
                         target=np.array([0]))


def test_calibrated_uniformity_far_points():
    u = np.array([[1e2, 0.0], [-1e2, 0.0], [0.0, 1.0]])
    finite_loss_and_grad(F.calibrated_uniformity_loss, u, u[::-1].copy(), u * 3, RNG.standard_normal((3, 4)))


# ------------------------------------------------------------------ empty sets, batch of one
def test_decoupled_softmax_empty_positive_and_negative_sets():
    z = t64(RNG.standard_normal((3, 4)))
    y = np.array([[0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 0, 1]])
    out = F.decoupled_softmax_loss(z, y, temperature=1.0, reduction="none")
    out.sum().backward()
    np.testing.assert_allclose(out.numpy()[:2], [0.0, 0.0])
    assert np.all(z.grad.numpy()[:2] == 0)
    mean = F.decoupled_softmax_loss(t64(z.numpy()), y, temperature=1.0)
    np.testing.assert_allclose(mean.item(), out.numpy().sum() / 3)   # DEXML: / batch size


def test_decoupled_softmax_single_positive_is_cross_entropy():
    z = RNG.standard_normal((4, 5))
    y = RNG.integers(0, 5, 4)
    onehot = np.eye(5)[y]
    got = F.decoupled_softmax_loss(t64(z), onehot, temperature=1.0).item()
    np.testing.assert_allclose(got, F.cross_entropy(t64(z), y).item(), rtol=1e-12)


def test_soft_topk_empty_positives_and_membership_sums_to_k():
    z = t64(RNG.standard_normal((2, 6)))
    y = np.array([[0] * 6, [1, 0, 0, 1, 0, 0]])
    out = F.soft_topk_loss(z, y, k=3, temperature=1.0, reduction="none")
    out.sum().backward()
    assert out.numpy()[0] == 0 and np.all(z.grad.numpy()[0] == 0)
    # all labels positive except one, k = L − 1: ℓ ≥ 0 and finite
    out = F.soft_topk_loss(t64(z.numpy()), np.array([[1, 1, 1, 1, 1, 0]] * 2), k=5, temperature=1.0)
    assert np.isfinite(out.item()) and out.item() >= 0


def test_macro_auc_skips_labels_without_both_classes():
    z = RNG.standard_normal((3, 3))
    y = np.array([[1, 1, 0], [0, 1, 0], [1, 1, 0]])        # labels 1 and 2 are one-class
    for fn in (F.macro_auc_pairwise_loss, F.macro_auc_univariate_loss):
        t = t64(z)
        per = fn(t, y, reduction="none")
        assert per.shape == (3,) and per.numpy()[1] == 0 and per.numpy()[2] == 0
        mean = fn(t, y)
        np.testing.assert_allclose(mean.item(), per.numpy()[0])   # divided by 1 valid label
        mean.backward()
        assert np.all(t.grad.numpy()[:, 1:] == 0)
        nothing = t64(z)
        out = fn(nothing, np.ones((3, 3)))
        out.backward()
        assert out.item() == 0 and np.all(nothing.grad.numpy() == 0)


def test_macro_auc_pairwise_square_identity():
    """With the square surrogate, the pairwise loss is mean over pairs of (1 − f_i + f_j)²."""
    z = RNG.standard_normal((5, 1))
    y = np.array([[1], [0], [1], [0], [0]])
    pos, neg = z[y[:, 0] == 1, 0], z[y[:, 0] == 0, 0]
    expect = np.mean((1 - pos[:, None] + neg[None, :]) ** 2)
    np.testing.assert_allclose(F.macro_auc_pairwise_loss(t64(z), y).item(), expect, rtol=1e-12)


def test_batch_of_one():
    z = RNG.standard_normal((1, 4))
    y = np.array([[1, 0, 1, 0]])
    for name, kw in SCORE_LOSSES.items():
        out = getattr(F, name)(t64(z), y, **kw)
        assert np.isfinite(out.item())
    assert np.isfinite(F.bpr_loss(t64([0.3]), t64([[0.1, 2.0]])).item())
    assert np.isfinite(F.cosine_contrastive_loss(t64(z), t64(z), t64(z[:, None])).item())
    assert np.isfinite(F.capsule_margin_loss(t64(z[:, :, None]), np.array([1])).item())
    assert np.isfinite(F.neural_ndcg_loss(t64(z), np.array([[2, 0, 1, 0]])).item())
    assert np.isfinite(F.multivariate_kl_similarity_loss(t64(z), t64(np.ones((1, 4))), t64(z),
                                                         t64(np.ones((1, 4))), [0]).item())
    # CM³ with B = 1: no pair, only the alignment term (the official mean over no pair is NaN)
    u, p = RNG.standard_normal((1, 3)), RNG.standard_normal((1, 3))
    out = F.calibrated_uniformity_loss(t64(u), t64(p), t64(u), t64(np.ones((1, 2))))
    np.testing.assert_allclose(out.item(), np.sum((u - p) ** 2))


# ------------------------------------------------------------------ values against the papers
def test_neural_ndcg_low_temperature_approaches_true_ndcg():
    s = np.array([[3.0, 1.0, 2.0, 0.0]])
    y = np.array([[2, 0, 1, 1]])
    loss = F.neural_ndcg_loss(t64(s), y, temperature=1e-3).item()
    gains = 2.0 ** y[0] - 1
    order = np.argsort(-s[0])
    dcg = np.sum(gains[order] / np.log2(np.arange(4) + 2))
    idcg = np.sum(np.sort(gains)[::-1] / np.log2(np.arange(4) + 2))
    np.testing.assert_allclose(-loss, dcg / idcg, rtol=1e-6)
    # a list without relevant items does not count in the mean
    both = F.neural_ndcg_loss(t64(np.vstack([s, s])), np.vstack([y, np.zeros((1, 4))]),
                              temperature=1e-3).item()
    np.testing.assert_allclose(both, loss, rtol=1e-12)
    assert F.neural_ndcg_loss(t64(s), np.zeros((1, 4))).item() == 0


def test_neural_ndcg_k_truncation_gradcheck():
    s = RNG.standard_normal((2, 5))
    y = RNG.integers(0, 3, (2, 5))
    assert gradcheck(lambda x: F.neural_ndcg_loss(x, y, k=2, temperature=0.7), [t64(s)])


def test_soft_topk_gradient_matches_finite_differences_at_the_paper_defaults():
    s = 0.05 * RNG.standard_normal((3, 8))
    y = RNG.integers(0, 2, (3, 8))
    y[:, 0] = 1
    assert gradcheck(lambda x: F.soft_topk_loss(x, y), [t64(s)])


def test_capsule_index_and_multihot_targets_agree_and_weights():
    v = RNG.standard_normal((3, 4, 2)) * 0.5
    idx = np.array([1, 3, 0])
    a = F.capsule_margin_loss(t64(v), idx).item()
    b = F.capsule_margin_loss(t64(v), np.eye(4)[idx]).item()
    np.testing.assert_allclose(a, b, rtol=1e-12)
    w = np.array([1.0, 2.0, 0.5, 1.0])
    per_w = F.capsule_margin_loss(t64(v), idx, weight=w, reduction="sum").item()
    assert per_w != pytest.approx(F.capsule_margin_loss(t64(v), idx, reduction="sum").item())
    hier = nn.CapsuleMarginLoss()([t64(v), t64(v[:, :2])], [idx, np.array([0, 1, 1])])
    expect = a + F.capsule_margin_loss(t64(v[:, :2]), np.array([0, 1, 1])).item()
    np.testing.assert_allclose(hier.item(), expect, rtol=1e-12)


def test_ccl_negative_weight_rule():
    u, p, n = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3)), RNG.standard_normal((2, 4, 3))
    s = F.cosine_contrastive_loss(t64(u), t64(p), t64(n), margin=-1.0).item()
    w = F.cosine_contrastive_loss(t64(u), t64(p), t64(n), margin=-1.0, negative_weight=4).item()
    np.testing.assert_allclose(s, w, rtol=1e-12)             # w = K is the sum rule


def test_calibrated_uniformity_features_constant_or_learned():
    u, p, n = (RNG.standard_normal((4, 3)) for _ in range(3))
    f = RNG.standard_normal((4, 5))
    ft = t64(f)
    F.calibrated_uniformity_loss(t64(u), t64(p), t64(n), ft, min_sim=-1.0).backward()
    assert np.any(ft.grad.numpy() != 0)
    out = F.calibrated_uniformity_loss(t64(u), t64(p), t64(n), t64(f, grad=False))
    assert np.isfinite(out.item())


def test_mrl_equal_gaussians_score_zero():
    mu = RNG.standard_normal((2, 3))
    var = 0.5 + RNG.random((2, 3))
    out = F.multivariate_kl_similarity_loss(t64(mu), t64(var), t64(mu), t64(var), [0, 1],
                                            reduction="none").numpy()
    # KL(q‖q) = 0 for the positive, so ℓ = log(1 + Σ_{j≠i} e^{−KL}) > 0
    kl01 = 0.5 * np.sum(np.log(var[1] / var[0]) + (var[0] + (mu[0] - mu[1]) ** 2) / var[1] - 1)
    np.testing.assert_allclose(out[0], np.log1p(np.exp(-kl01)), rtol=1e-12)


# ------------------------------------------------------------------ bad inputs, dtypes, Modules
@pytest.mark.parametrize("name", SCORE_LOSSES)
def test_bad_inputs_name_the_op(name):
    fn = getattr(F, name)
    with pytest.raises(ValueError, match=name):
        fn(t64(np.zeros((3, 4))), np.zeros((3, 5)), **SCORE_LOSSES[name])
    with pytest.raises(ValueError, match=name):
        fn(t64(np.zeros((3, 4))), np.full((3, 4), 0.5), **SCORE_LOSSES[name])
    with pytest.raises(TypeError, match=name):
        fn(mg.tensor(np.zeros((3, 4), dtype=np.int64)), Y, **SCORE_LOSSES[name])
    with pytest.raises(ValueError, match="reduction"):
        fn(t64(np.zeros((3, 4))), Y, reduction="avg", **SCORE_LOSSES[name])


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="bpr_loss"):
        F.bpr_loss(t64(np.zeros(3)), t64(np.zeros(4)))
    with pytest.raises(ValueError, match="cosine_contrastive_loss"):
        F.cosine_contrastive_loss(t64(np.zeros((2, 3))), t64(np.zeros((2, 3))), t64(np.zeros((2, 3))))
    with pytest.raises(TypeError, match="capsule_margin_loss"):
        F.capsule_margin_loss(t64(np.zeros((2, 3, 4))), np.array([0.0, 1.0]))
    with pytest.raises(IndexError, match="capsule_margin_loss"):
        F.capsule_margin_loss(t64(np.zeros((2, 3, 4))), np.array([0, 3]))
    with pytest.raises(ValueError, match="capsule_margin_loss"):
        F.capsule_margin_loss(t64(np.zeros((2, 3))), np.array([0, 1]))
    with pytest.raises(ValueError, match="soft_topk_loss"):
        F.soft_topk_loss(t64(np.zeros((2, 4))), np.zeros((2, 4)), k=4)
    with pytest.raises(ValueError, match="macro_auc_pairwise_loss"):
        F.macro_auc_pairwise_loss(t64(np.zeros((2, 4))), np.zeros((2, 4)), loss="exp")
    with pytest.raises(ValueError, match="neural_ndcg_loss"):
        F.neural_ndcg_loss(t64(np.zeros((2, 4))), -np.ones((2, 4)))
    with pytest.raises(ValueError, match="multivariate_kl_similarity_loss"):
        F.multivariate_kl_similarity_loss(t64(np.zeros((2, 3))), t64(-np.ones((2, 3))),
                                          t64(np.zeros((2, 3))), t64(np.ones((2, 3))), [0, 1])
    with pytest.raises(IndexError, match="multivariate_kl_similarity_loss"):
        F.multivariate_kl_similarity_loss(t64(np.zeros((2, 3))), t64(np.ones((2, 3))),
                                          t64(np.zeros((2, 3))), t64(np.ones((2, 3))), [0, 2])
    with pytest.raises(ValueError, match="calibrated_uniformity_loss"):
        F.calibrated_uniformity_loss(t64(np.zeros((2, 3))), t64(np.zeros((2, 3))),
                                     t64(np.zeros((2, 3))), t64(np.zeros((3, 2))))


def test_float32_and_modules_match_functionals():
    z = RNG.standard_normal((3, 4)).astype(np.float32)
    cases = [(nn.MacroAUCPairwiseLoss(), F.macro_auc_pairwise_loss),
             (nn.MacroAUCUnivariateLoss("hinge"), lambda a, b: F.macro_auc_univariate_loss(a, b, "hinge")),
             (nn.DecoupledSoftmaxLoss(temperature=0.5), lambda a, b: F.decoupled_softmax_loss(a, b, 0.5)),
             (nn.SoftTopKLoss(k=2), lambda a, b: F.soft_topk_loss(a, b, k=2)),
             (nn.NeuralNDCGLoss(), F.neural_ndcg_loss)]
    for module, fn in cases:
        out = module(mg.tensor(z), Y)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.item(), fn(mg.tensor(z), Y).item())
    assert nn.BPRLoss()(mg.tensor(z[:, 0]), mg.tensor(z[:, 1])).dtype == np.float32
    assert nn.CosineContrastiveLoss(margin=0.5)(mg.tensor(z), mg.tensor(z),
                                                mg.tensor(z[:, None])).dtype == np.float32
    assert nn.CapsuleMarginLoss()(mg.tensor(z[:, :, None]), [0, 1, 2]).dtype == np.float32
    assert nn.CalibratedUniformityLoss()(mg.tensor(z), mg.tensor(z), mg.tensor(z),
                                         mg.tensor(z)).dtype == np.float32
    assert nn.MultivariateKLSimilarityLoss()(mg.tensor(z), mg.tensor(z * z + 1), mg.tensor(z),
                                             mg.tensor(z * z + 1), [0, 1, 2]).dtype == np.float32


def test_bpr_trains_a_tiny_mf_model():
    """A few SGD steps of matrix factorisation with BPR rank positives above negatives."""
    rng = np.random.default_rng(1)
    users = mg.tensor(rng.standard_normal((4, 3)) * 0.1, requires_grad=True)
    items = mg.tensor(rng.standard_normal((6, 3)) * 0.1, requires_grad=True)
    pos, neg = np.array([0, 1, 2, 3]), np.array([4, 5, 4, 5])
    opt = mg.optim.SGD([users, items], lr=0.5)
    first = None
    for _ in range(50):
        opt.zero_grad()
        s = users @ items.T
        rows = mg.tensor(np.arange(4))
        loss = F.bpr_loss(s[np.arange(4), pos], s[np.arange(4), neg])
        first = loss.item() if first is None else first
        loss.backward()
        opt.step()
    assert loss.item() < first * 0.5
    del rows
