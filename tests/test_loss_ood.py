"""OOD (Outlier Exposure, energy margin, SCONE/WOODS), test-time (CoTTA) and weak
multi-label (EM + APL, ReLabel LabelPooling CE) losses: the issue's shared edges and the
papers' facts. Gradients (first and second order, every backend) and forwards against the
oracles in ``tests/oracles/loss_ood.py`` are checked by ``tests/test_registry.py``."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import functional as F, nn
from minigrad.optim.constrained import AugmentedLagrangian
from tests.oracles import loss_ood as oracle


@pytest.fixture
def r():
    return np.random.default_rng(0)


def t(a, grad=False):
    return mg.tensor(np.asarray(a, dtype=float), requires_grad=grad)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_public_names_resolve():
    for name in ("outlier_exposure_loss", "energy_margin_loss", "scone_woods_loss",
                 "cotta_consistency_loss", "em_single_positive_loss", "labelpool_soft_ce"):
        assert callable(getattr(F, name))
    for name in ("OutlierExposureLoss", "EnergyMarginLoss", "SconeWoodsLoss",
                 "CoTTAConsistencyLoss", "EMSinglePositiveLoss", "LabelPoolSoftCE"):
        assert issubclass(getattr(nn, name), nn.Module)
    assert not hasattr(F, "core_tta_loss")          # L105 left out: its equation was not read


# ------------------------------------------------------------------ Outlier Exposure
def test_oe_outlier_gradient_is_softmax_minus_uniform(r):
    z_in, y, z_out = r.standard_normal((4, 5)), r.integers(0, 5, 4), r.standard_normal((3, 5))
    a, b = t(z_in, True), t(z_out, True)
    F.outlier_exposure_loss(a, y, b, lam=0.5).backward()
    assert np.allclose(b.grad.numpy(), 0.5 * (softmax(z_out) - 1 / 5) / 3)
    onehot = np.eye(5)[y]
    assert np.allclose(a.grad.numpy(), (softmax(z_in) - onehot) / 4)


def test_oe_reductions_soft_targets_and_batch_of_one(r):
    z_in, y, z_out = r.standard_normal((4, 5)), r.integers(0, 5, 4), r.standard_normal((3, 5))
    none = F.outlier_exposure_loss(t(z_in), y, t(z_out), reduction="none").numpy()
    assert none.shape == (7,)
    assert np.isclose(F.outlier_exposure_loss(t(z_in), y, t(z_out), reduction="sum").item(), none.sum())
    mean = F.outlier_exposure_loss(t(z_in), y, t(z_out)).item()
    assert np.isclose(mean, none[:4].mean() + none[4:].mean())
    assert np.isclose(mean, F.outlier_exposure_loss(t(z_in), np.eye(5)[y], t(z_out)).item())
    one = F.outlier_exposure_loss(t(z_in[:1]), y[:1], t(z_out[:1])).item()
    assert np.isclose(one, oracle.outlier_exposure_loss(z_in[:1], y[:1], z_out[:1]))


def test_oe_uniform_outliers_cost_nothing_beyond_ce(r):
    z_in, y = r.standard_normal((3, 4)), r.integers(0, 4, 3)
    flat = np.full((2, 4), 3.7)             # equal logits: the softmax is exactly uniform
    got = F.outlier_exposure_loss(t(z_in), y, t(flat), lam=1.0).item()
    ce = F.cross_entropy(t(z_in), y).item()
    assert np.isclose(got, ce + np.log(4))  # CE to uniform of a uniform softmax is log C (its minimum)


def test_oe_empty_outlier_set_and_empty_inliers(r):
    z_in, y = t(r.standard_normal((3, 4)), True), r.integers(0, 4, 3)
    out = t(np.zeros((0, 4)), True)
    loss = F.outlier_exposure_loss(z_in, y, out)
    loss.backward()
    assert np.isclose(loss.item(), F.cross_entropy(t(z_in.numpy()), y).item())
    assert out.grad.numpy().shape == (0, 4)
    b = t(r.standard_normal((2, 4)), True)
    only = F.outlier_exposure_loss(t(np.zeros((0, 4))), np.zeros(0, dtype=np.int64), b, lam=0.5)
    assert np.isclose(only.item(), oracle.outlier_exposure_loss(np.zeros((0, 4)), np.zeros(0, int),
                                                                b.numpy()))


# ------------------------------------------------------------------ energy margin
def test_energy_hinges_and_gradient(r):
    z_in, z_out = r.standard_normal((3, 4)), r.standard_normal((2, 4)) + 8.0
    a, b = t(z_in, True), t(z_out, True)
    F.energy_margin_loss(a, b).backward()
    lse_in = np.log(np.exp(z_in).sum(1))
    lse_out = np.log(np.exp(z_out).sum(1))
    h_in = np.maximum(-lse_in + 25, 0)
    h_out = np.maximum(-7 + lse_out, 0)
    assert np.allclose(a.grad.numpy(), -0.1 * 2 * h_in[:, None] * softmax(z_in) / 3)
    assert np.allclose(b.grad.numpy(), 0.1 * 2 * h_out[:, None] * softmax(z_out) / 2)
    # inside both margins: no loss, no gradient
    a2, b2 = t(np.full((2, 4), 30.0), True), t(np.full((2, 4), -10.0), True)
    loss = F.energy_margin_loss(a2, b2)
    loss.backward()
    assert loss.item() == 0 and not a2.grad.numpy().any() and not b2.grad.numpy().any()


def test_energy_reductions_and_empty_sets(r):
    z_in, z_out = r.standard_normal((3, 4)), r.standard_normal((2, 4))
    none = F.energy_margin_loss(t(z_in), t(z_out), reduction="none").numpy()
    assert none.shape == (5,)
    assert np.isclose(F.energy_margin_loss(t(z_in), t(z_out), reduction="sum").item(), none.sum())
    assert np.isclose(F.energy_margin_loss(t(z_in), t(z_out)).item(), none[:3].mean() + none[3:].mean())
    empty = F.energy_margin_loss(t(z_in), t(np.zeros((0, 4))))
    assert np.isclose(empty.item(), none[:3].mean())


# ------------------------------------------------------------------ SCONE / WOODS
def _scone_by_parts(z_in, y, z_w, w, b, ce_ref, lam, rho, alpha=0.05, tol=2.0, eta=1.0):
    """The same objective from registered ops and the O073 AugmentedLagrangian."""
    zi, zw = t(z_in), t(z_w)
    s_in = mg.tensor(np.log(np.exp(z_in).sum(1)))
    s_w = mg.tensor(np.log(np.exp(z_w).sum(1)))
    f_in = F.sigmoid(s_in * w + b).mean()
    f_out = F.sigmoid(-((s_w - eta) * w + b)).mean()
    ce = F.cross_entropy(zi, y)
    alm = AugmentedLagrangian(2, penalty_coefficient=list(rho))
    alm.multipliers = list(lam)
    return alm.lagrangian(f_out, [f_in - alpha, ce - tol * ce_ref]).item()


@pytest.mark.parametrize("lam", [(0.3, 0.2), (-4.0, -6.0)])
def test_scone_equals_augmented_lagrangian_of_its_terms(r, lam):
    z_in, y, z_w = r.standard_normal((4, 5)), r.integers(0, 5, 4), r.standard_normal((3, 5))
    got = F.scone_woods_loss(t(z_in), y, t(z_w), 0.6, -0.1, ce_ref=0.5, multipliers=lam,
                             penalties=(1.0, 2.0)).item()
    assert np.isclose(got, _scone_by_parts(z_in, y, z_w, 0.6, -0.1, 0.5, lam, (1.0, 2.0)))


def test_scone_inactive_constraints_give_no_gradient_to_inliers(r):
    z_in, y, z_w = t(r.standard_normal((4, 5)), True), r.integers(0, 5, 4), t(r.standard_normal((3, 5)))
    loss = F.scone_woods_loss(z_in, y, z_w, 0.5, 0.0, ce_ref=10.0, multipliers=(-5.0, -5.0),
                              penalties=(1.0, 1.0))
    loss.backward()
    assert not z_in.grad.numpy().any()      # both ψ on the constant branch −λ²/(2ρ)


def test_scone_module_parameters_learn_and_empty_wild_set(r):
    m = nn.SconeWoodsLoss(ce_ref=0.5, dtype="float64", generator=None)
    assert m.weight.shape == (1, 1) and m.bias.shape == (1,)
    assert {n for n, _ in m.named_parameters()} == {"weight", "bias"}
    z_in, y = t(r.standard_normal((3, 4)), True), r.integers(0, 4, 3)
    m.multipliers = (0.5, 0.5)
    loss = m(z_in, y, t(np.zeros((0, 4))))
    loss.backward()
    assert m.weight.grad is not None and np.isfinite(m.weight.grad.numpy()).all()
    w, b = float(m.weight.numpy().ravel()[0]), float(m.bias.numpy().ravel()[0])
    assert np.isclose(loss.item(), oracle.scone_woods_loss(z_in.numpy(), y, np.zeros((0, 4)), w, b,
                                                           0.5, (0.5, 0.5)))


def test_scone_batch_of_one_and_reduction_errors(r):
    z = t(r.standard_normal((1, 3)), True)
    F.scone_woods_loss(z, np.array([2]), t(r.standard_normal((1, 3))), 0.5, 0.1, 0.3).backward()
    assert np.isfinite(z.grad.numpy()).all()
    with pytest.raises(ValueError, match="scone_woods_loss: reduction"):
        F.scone_woods_loss(z, np.array([2]), t(r.standard_normal((1, 3))), 0.5, 0.1, 0.3,
                           reduction="sum")
    with pytest.raises(ValueError, match="scone_woods_loss: weight"):
        F.scone_woods_loss(z, np.array([2]), t(r.standard_normal((1, 3))), np.ones(2), 0.1, 0.3)


# ------------------------------------------------------------------ CoTTA
def test_cotta_branches_follow_the_anchor_confidence(r):
    z, teacher = r.standard_normal((3, 4)), r.standard_normal((3, 4))
    views = r.standard_normal((5, 3, 4))
    unsure, sure = 0.01 * r.standard_normal((3, 4)), 50 * np.eye(4)[[0, 1, 2]]
    plain = F.cotta_consistency_loss(t(z), teacher).item()
    assert np.isclose(F.cotta_consistency_loss(t(z), teacher, views, sure).item(), plain)
    averaged = F.cotta_consistency_loss(t(z), teacher, views, unsure).item()
    tgt = softmax(views.mean(0))            # logits averaged first, as the official code
    assert np.isclose(averaged, -(tgt * np.log(softmax(z))).sum(1).mean())
    assert np.isclose(F.cotta_pseudo_label(t(z), teacher, views, unsure).numpy(), tgt).all()


def test_cotta_gradient_and_detached_teacher(r):
    z, teacher = r.standard_normal((4, 5)), t(r.standard_normal((4, 5)), True)
    a = t(z, True)
    F.cotta_consistency_loss(a, teacher).backward()
    assert np.allclose(a.grad.numpy(), (softmax(z) - softmax(teacher.numpy())) / 4)
    assert teacher.grad is None or not teacher.grad.numpy().any()


def test_cotta_reductions_batch_of_one_empty(r):
    z, teacher = r.standard_normal((3, 4)), r.standard_normal((3, 4))
    none = F.cotta_consistency_loss(t(z), teacher, reduction="none").numpy()
    assert np.isclose(F.cotta_consistency_loss(t(z), teacher, reduction="sum").item(), none.sum())
    assert np.isclose(nn.CoTTAConsistencyLoss()(t(z), teacher).item(), none.mean())
    assert np.isclose(F.cotta_consistency_loss(t(z[:1]), teacher[:1]).item(), none[0])
    assert F.cotta_consistency_loss(t(np.zeros((0, 4))), np.zeros((0, 4))).item() == 0


# ------------------------------------------------------------------ EM + APL
def test_em_unknown_entries_push_toward_one_half():
    z = t([[3.0, -2.0, 0.5, 0.0]], True)
    F.em_single_positive_loss(z, np.array([[0.0, 0.0, 0.0, 0.0]]), alpha=0.1).backward()
    g = z.grad.numpy()[0]
    assert g[0] > 0 and g[1] < 0 and g[2] > 0 and abs(g[3]) < 1e-12   # descent moves z → 0


def test_em_matches_bce_terms_and_reductions(r):
    z = r.standard_normal((3, 4))
    obs = np.array([[1, 0, -0.2, 0], [0, 1, 0, -1.0], [0, 0, 1, -0.5]])
    none = F.em_single_positive_loss(t(z), obs, reduction="none").numpy()
    assert none.shape == (3, 4)
    p = 1 / (1 + np.exp(-z))
    assert np.isclose(none[0, 0], -np.log(p[0, 0] + 1e-5))
    assert np.isclose(none[1, 3], 0.02 * -np.log(p[1, 3] + 1e-5))         # s = 1: BCE toward 1
    assert np.isclose(none[0, 2], 0.02 * -(0.2 * np.log(p[0, 2] + 1e-5)
                                           + 0.8 * np.log(1 - p[0, 2] + 1e-5)))
    assert np.isclose(F.em_single_positive_loss(t(z), obs).item(), none.sum() / 12)
    assert np.isclose(F.em_single_positive_loss(t(z), obs, reduction="sum").item(), none.sum())
    one = F.em_single_positive_loss(t(z[:1]), obs[:1]).item()
    assert np.isclose(one, oracle.em_single_positive_loss(z[:1], obs[:1]))


def test_em_bad_targets():
    z = t(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="em_single_positive_loss: target entries"):
        F.em_single_positive_loss(z, np.array([[0.5, 0, 1], [0, 0, 1]]))
    with pytest.raises(ValueError, match="em_single_positive_loss: target of shape"):
        F.em_single_positive_loss(z, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="eps"):
        F.em_single_positive_loss(z, np.zeros((2, 3)), eps=0.0)


# ------------------------------------------------------------------ ReLabel LabelPooling
def test_label_pooling_whole_image_is_global_average_pool(r):
    maps = r.random((2, 3, 5, 5))
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    got = F.label_pooling(t(maps), t(boxes)).numpy()
    assert np.allclose(got, softmax(maps.mean(axis=(2, 3))))


def test_labelpool_gradient_is_p_minus_t_and_maps_get_none(r):
    z, maps = r.standard_normal((2, 3)), t(r.random((2, 3, 4, 4)), True)
    boxes = np.array([[0.1, 0.2, 0.6, 0.9], [0.3, 0.0, 0.8, 0.5]])
    a = t(z, True)
    F.labelpool_soft_ce(a, maps, boxes).backward()
    target = F.label_pooling(maps, t(boxes)).numpy()
    assert np.allclose(a.grad.numpy(), (softmax(z) - target) / 2)
    assert maps.grad is None or not maps.grad.numpy().any()
    none = F.labelpool_soft_ce(t(z), maps, boxes, reduction="none").numpy()
    assert np.allclose(none, oracle.labelpool_soft_ce(z, maps.numpy(), boxes, reduction="none"))
    assert F.labelpool_soft_ce(t(np.zeros((0, 3))), np.zeros((0, 3, 4, 4)), np.zeros((0, 4))).item() == 0


def test_labelpool_bad_shapes():
    with pytest.raises(ValueError, match="labelpool_soft_ce: label_maps"):
        F.labelpool_soft_ce(t(np.zeros((2, 3))), np.zeros((2, 4, 4, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="labelpool_soft_ce: boxes"):
        F.labelpool_soft_ce(t(np.zeros((2, 3))), np.zeros((2, 3, 4, 4)), np.zeros((2, 3)))


# ------------------------------------------------------------------ shared edges
def _calls(r, z, z2):
    y = np.array([1, 0, 3])
    obs = np.array([[1, 0, -0.3, 0], [0, 1, 0, 0], [0, 0, 0, 1.0]])
    maps = r.random((3, 4, 3, 3))
    boxes = np.array([[0.0, 0.0, 1.0, 1.0]] * 3)
    return {
        "outlier_exposure_loss": lambda: F.outlier_exposure_loss(z, y, z2),
        "energy_margin_loss": lambda: F.energy_margin_loss(z, z2),
        "scone_woods_loss": lambda: F.scone_woods_loss(z, y, z2, 0.5, 0.1, 0.4, (0.2, 0.3)),
        "cotta_consistency_loss": lambda: F.cotta_consistency_loss(z, z2.numpy()),
        "em_single_positive_loss": lambda: F.em_single_positive_loss(z, obs),
        "labelpool_soft_ce": lambda: F.labelpool_soft_ce(z, maps, boxes),
    }


@pytest.mark.parametrize("name", ["outlier_exposure_loss", "energy_margin_loss", "scone_woods_loss",
                                  "cotta_consistency_loss", "em_single_positive_loss",
                                  "labelpool_soft_ce"])
def test_extreme_logits_give_no_nan(name, r):
    ext = [[1e4, -1e4, 0.0, 3.0], [-1e4, -1e4, 1e4, 1e4], [-1e4, -1e4, -1e4, -1e4]]
    z, z2 = t(ext, True), t(np.array(ext)[::-1].copy(), True)
    loss = _calls(r, z, z2)[name]()
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(z.grad.numpy()).all()
    if z2.grad is not None:
        assert np.isfinite(z2.grad.numpy()).all()


@pytest.mark.parametrize("name", ["outlier_exposure_loss", "energy_margin_loss", "scone_woods_loss",
                                  "cotta_consistency_loss", "em_single_positive_loss",
                                  "labelpool_soft_ce"])
def test_float32_in_float32_out(name, r):
    z = mg.tensor(r.standard_normal((3, 4)).astype("float32"))
    z2 = mg.tensor(r.standard_normal((3, 4)).astype("float32"))
    assert _calls(r, z, z2)[name]().dtype == np.float32


def test_bad_inputs_name_the_loss(r):
    zi = mg.tensor(np.zeros((3, 4), dtype=np.int64))
    zf = t(r.standard_normal((3, 4)))
    with pytest.raises(TypeError, match="outlier_exposure_loss"):
        F.outlier_exposure_loss(zi, np.array([0, 1, 2]), zf)
    with pytest.raises(ValueError, match="outlier_exposure_loss: outlier_input of shape"):
        F.outlier_exposure_loss(zf, np.array([0, 1, 2]), t(np.zeros((2, 5))))
    with pytest.raises(ValueError, match="energy_margin_loss: input must be 2-D"):
        F.energy_margin_loss(t(np.zeros(4)), zf)
    with pytest.raises(TypeError, match="scone_woods_loss"):
        F.scone_woods_loss(zf, np.array([0.0, 1.0, 2.0]), zf, 0.5, 0.1, 0.3)
    with pytest.raises(IndexError, match="scone_woods_loss"):
        F.scone_woods_loss(zf, np.array([0, 1, 7]), zf, 0.5, 0.1, 0.3)
    with pytest.raises(ValueError, match="cotta_consistency_loss: teacher_logits"):
        F.cotta_consistency_loss(zf, np.zeros((3, 5)))
    with pytest.raises(ValueError, match="reduction"):
        F.energy_margin_loss(zf, zf, reduction="batchmean")
