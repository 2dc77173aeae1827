"""Noisy-label losses (GCE, NCE, NFL, NGCE, RCE/NRCE/SCE, MAE/NMAE, APL; Ma et al. 2020 and
the official HanxunH/Active-Passive-Losses code) and the classification variants (PolyLoss,
squentropy, Z-loss, comp-sum, batch perceptron). The shared harness (tests/test_registry.py)
gradchecks every registered case and compares forwards with tests/oracles/loss_noisy_labels.py;
this file covers the edges: ignore_index, soft targets, batch of one, extreme logits, bad
inputs, dtypes, the identities between the losses, and a tiny training run per family."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import F, nn, optim
from minigrad.gradcheck import gradcheck, gradgradcheck

INDEX_LOSSES = {          # name -> keyword arguments of a representative call
    "gce_loss": {}, "normalized_ce_loss": {}, "normalized_focal_loss": {},
    "normalized_gce_loss": {}, "reverse_ce_loss": {}, "mae_prob_loss": {},
    "active_passive_loss": {}, "poly_loss": {"epsilon": 2.0}, "squentropy_loss": {},
    "spherical_z_loss": {"a": 1.0, "b": 2.0}, "comp_sum_loss": {"tau": 1.5},
}
SOFT_LOSSES = ["gce_loss", "normalized_ce_loss", "normalized_focal_loss", "normalized_gce_loss",
               "reverse_ce_loss", "mae_prob_loss", "active_passive_loss", "poly_loss"]


def t64(a, grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def loss_of(name, z, y, **kw):
    return getattr(F, name)(z, y, **{**INDEX_LOSSES[name], **kw})


def log_softmax(z):
    s = z - z.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


# ------------------------------------------------------------------ shared edges
@pytest.mark.parametrize("name", INDEX_LOSSES)
def test_ignore_index_drops_rows(name):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((6, 4))
    y = rng.integers(0, 4, 6)
    y_ign = y.copy()
    y_ign[[1, 4]] = -100
    keep = y_ign != -100
    full = t64(z)
    loss = loss_of(name, full, y_ign)
    loss.backward()
    ref = loss_of(name, t64(z[keep]), y[keep])
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-12)
    assert np.all(full.grad.numpy()[~keep] == 0)
    none = loss_of(name, t64(z), y_ign, reduction="none").numpy()
    assert np.all(none[~keep] == 0) and none.shape == (6,)
    # every target ignored: 0 and zero gradients (PyTorch's CE gives NaN there)
    allz = t64(z)
    out = loss_of(name, allz, np.full(6, -100))
    out.backward()
    assert out.item() == 0 and np.all(allz.grad.numpy() == 0)
    # a custom ignore_index
    y7 = np.where(keep, y, 7)
    np.testing.assert_allclose(loss_of(name, t64(z), y7, ignore_index=7).item(), ref.item(),
                               rtol=1e-12)


@pytest.mark.parametrize("name", SOFT_LOSSES)
def test_one_hot_soft_targets_equal_class_indices(name):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((5, 3))
    y = np.array([0, 1, 2, 2, 0])          # class 1 appears once; batches may miss classes
    hard = loss_of(name, t64(z), y).item()
    soft = loss_of(name, t64(z), np.eye(3)[y]).item()
    np.testing.assert_allclose(soft, hard, rtol=1e-12)


@pytest.mark.parametrize("name", INDEX_LOSSES)
def test_batch_of_one_and_unbatched(name):
    rng = np.random.default_rng(2)
    z = rng.standard_normal(5)
    one = loss_of(name, t64(z[None]), np.array([3]))
    unb = loss_of(name, t64(z), np.array(3))
    np.testing.assert_allclose(unb.item(), one.item(), rtol=1e-12)
    assert loss_of(name, t64(z), np.array(3), reduction="none").shape == ()
    gradcheck(lambda a: loss_of(name, a, np.array([3])), [t64(z[None])])


@pytest.mark.parametrize("name", INDEX_LOSSES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_are_finite(name, dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [0.0, 0.0, 1e4], [3.0, -1e4, 1e4]],
                 dtype=dtype)
    y = np.array([0, 0, 1, 2])
    if name == "comp_sum_loss":          # τ < 1 overflows for wrong predictions (documented)
        kw = {"tau": 1.5}
    else:
        kw = {}
    x = mg.tensor(z, requires_grad=True)
    out = loss_of(name, x, y, **kw)
    out.backward()
    assert out.dtype == dtype and x.grad.dtype == dtype
    assert np.isfinite(out.item()), name
    assert np.all(np.isfinite(x.grad.numpy())), name


@pytest.mark.parametrize("name", INDEX_LOSSES)
def test_float32_in_float32_out(name):
    rng = np.random.default_rng(3)
    z = rng.standard_normal((4, 3)).astype(np.float32)
    out = loss_of(name, mg.tensor(z), np.array([0, 1, 2, 1]), reduction="none")
    assert out.dtype == np.float32 and out.shape == (4,)
    ref = loss_of(name, t64(z.astype(np.float64)), np.array([0, 1, 2, 1]), reduction="none")
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name", INDEX_LOSSES)
def test_bad_inputs_name_the_op(name):
    z = t64(np.zeros((3, 4)))
    with pytest.raises(TypeError, match=name):
        loss_of(name, mg.tensor(np.zeros((3, 4), dtype=np.int64)), np.array([0, 1, 2]))
    with pytest.raises(IndexError, match=name):
        loss_of(name, z, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=name):
        loss_of(name, z, np.array([0, 1]))
    with pytest.raises(ValueError, match=name):
        loss_of(name, t64(np.zeros((3, 1))), np.array([0, 0, 0]))
    with pytest.raises(ValueError, match="reduction"):
        loss_of(name, z, np.array([0, 1, 2]), reduction="avg")
    if name in SOFT_LOSSES:
        with pytest.raises(ValueError, match=name):
            loss_of(name, z, np.full((3, 3), 1 / 3))
    else:
        with pytest.raises(TypeError, match=name):
            loss_of(name, z, np.full((3, 4), 0.25))


@pytest.mark.parametrize("name", INDEX_LOSSES)
def test_spatial_logits_match_flattened_rows(name):
    rng = np.random.default_rng(4)
    z = rng.standard_normal((2, 3, 2, 2))
    y = rng.integers(0, 3, (2, 2, 2))
    rows = np.moveaxis(z, 1, -1).reshape(-1, 3)
    out = loss_of(name, t64(z), y, reduction="none")
    assert out.shape == (2, 2, 2)
    np.testing.assert_allclose(out.numpy().ravel(),
                               loss_of(name, t64(rows), y.ravel(), reduction="none").numpy(),
                               rtol=1e-12)


# ------------------------------------------------------------------ identities
def test_gce_limits_and_comp_sum():
    rng = np.random.default_rng(5)
    z, y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    p_y = np.exp(log_softmax(z))[np.arange(6), y]
    np.testing.assert_allclose(F.gce_loss(t64(z), y, q=1.0).item(), np.mean(1 - p_y))
    # GCE (q) = comp-sum with τ = 1 + q (no clamp active at these logits)
    for q in (0.3, 0.7, 1.0):
        np.testing.assert_allclose(F.gce_loss(t64(z), y, q=q).item(),
                                   F.comp_sum_loss(t64(z), y, tau=1 + q).item(), rtol=1e-12)
    np.testing.assert_allclose(F.comp_sum_loss(t64(z), y, tau=1.0).item(),
                               F.cross_entropy(t64(z), y).item(), rtol=1e-12)
    np.testing.assert_allclose(F.comp_sum_loss(t64(z), y, tau=2.0).item(),
                               F.mae_prob_loss(t64(z), y).item(), rtol=1e-12)
    # τ = 0: the sum-exponential loss u = Σ_{j≠y} exp(z_j − z_y)
    u = np.exp(z - z[np.arange(6), y][:, None]).sum(axis=1) - 1
    np.testing.assert_allclose(F.comp_sum_loss(t64(z), y, tau=0.0).item(), u.mean(), rtol=1e-12)


def test_gce_gradient_is_damped_ce_gradient():
    rng = np.random.default_rng(6)
    z, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    x = t64(z)
    F.gce_loss(x, y, q=0.7, reduction="sum").backward()
    p = np.exp(log_softmax(z))
    onehot = np.eye(4)[y]
    expected = -(p[np.arange(5), y] ** 0.7)[:, None] * (onehot - p)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10)


def test_normalized_losses_are_in_unit_interval_and_sum_to_one_over_labels():
    rng = np.random.default_rng(7)
    z = 3 * rng.standard_normal((4, 5))
    for name, kw in [("normalized_ce_loss", {}), ("normalized_focal_loss", {"gamma": 0.5}),
                     ("normalized_gce_loss", {"q": 0.7})]:
        total = sum(getattr(F, name)(t64(z), np.full(4, k), reduction="none", **kw).numpy()
                    for k in range(5))
        np.testing.assert_allclose(total, np.ones(4), rtol=1e-12)   # Σ_j L(f, j)/Σ_j L(f, j)


def test_rce_nrce_sce_and_mae_match_the_official_formulas():
    rng = np.random.default_rng(8)
    z, y = rng.standard_normal((6, 10)), rng.integers(0, 10, 6)
    p = np.clip(np.exp(log_softmax(z)), 1e-7, 1)
    a = math.log(1e-4)
    rce = -a * (p.sum(axis=1) - p[np.arange(6), y])
    np.testing.assert_allclose(F.reverse_ce_loss(t64(z), y).item(), rce.mean(), rtol=1e-12)
    np.testing.assert_allclose(F.reverse_ce_loss(t64(z), y, variant="nrce").item(),
                               rce.mean() * 9 / 4, rtol=1e-12)
    ce = F.cross_entropy(t64(z), y).item()
    np.testing.assert_allclose(F.reverse_ce_loss(t64(z), y, variant="sce", alpha=6.0,
                                                 beta=0.1).item(), 6 * ce + 0.1 * rce.mean(),
                               rtol=1e-12)
    p_y = np.exp(log_softmax(z))[np.arange(6), y]
    np.testing.assert_allclose(F.mae_prob_loss(t64(z), y).item(), np.mean(1 - p_y), rtol=1e-12)
    np.testing.assert_allclose(F.mae_prob_loss(t64(z), y, normalized=True).item(),
                               np.mean(1 - p_y) / 18, rtol=1e-12)
    with pytest.raises(ValueError, match="variant"):
        F.reverse_ce_loss(t64(z), y, variant="rcex")


def test_apl_is_the_sum_of_its_rows():
    rng = np.random.default_rng(9)
    z, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    for active, passive, fn in [("nce", "rce", F.normalized_ce_loss),
                                ("nfl", "mae", F.normalized_focal_loss),
                                ("ngce", "rce", F.normalized_gce_loss),
                                ("mae", "rce", F.mae_prob_loss)]:
        got = F.active_passive_loss(t64(z), y, active, passive, alpha=10.0, beta=0.1).item()
        second = F.reverse_ce_loss if passive == "rce" else F.mae_prob_loss
        np.testing.assert_allclose(got, 10 * fn(t64(z), y).item() + 0.1 * second(t64(z), y).item(),
                                   rtol=1e-12)
    with pytest.raises(ValueError, match="active_passive_loss"):
        F.active_passive_loss(t64(z), y, "mae", "mae")


def test_nfl_official_gradient_detaches_normalizer_and_weight():
    rng = np.random.default_rng(10)
    z, y = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    a = t64(z)
    b = t64(z)
    F.normalized_focal_loss(a, y, gamma=0.5).backward()
    F.normalized_focal_loss(b, y, gamma=0.5, official_grad=True).backward()
    assert not np.allclose(a.grad.numpy(), b.grad.numpy())     # the rule is not the derivative
    logp = log_softmax(z)
    p = np.exp(logp)
    d = (-(1 - p) ** 0.5 * logp).sum(axis=1)
    w = -(1 - p[np.arange(4), y]) ** 0.5 / d / 4
    expected = w[:, None] * (np.eye(3)[y] - p)
    np.testing.assert_allclose(b.grad.numpy(), expected, rtol=1e-10)
    # forward is the same in both modes
    np.testing.assert_allclose(F.normalized_focal_loss(t64(z), y, official_grad=True).item(),
                               F.normalized_focal_loss(t64(z), y).item())


def test_second_derivatives_of_nfl_both_modes():
    rng = np.random.default_rng(11)
    z, y = rng.standard_normal((3, 4)), rng.integers(0, 4, 3)
    gradgradcheck(lambda x: F.normalized_focal_loss(x, y, gamma=0.5), [t64(z)])
    gradgradcheck(lambda x: F.normalized_focal_loss(x, y, gamma=2.0, reduction="sum"), [t64(z)])


def test_poly_loss_reduces_to_ce_and_focal():
    rng = np.random.default_rng(12)
    z, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    np.testing.assert_allclose(F.poly_loss(t64(z), y, epsilon=0.0).item(),
                               F.cross_entropy(t64(z), y).item(), rtol=1e-12)
    np.testing.assert_allclose(F.poly_loss(t64(z), y, epsilon=0.0, label_smoothing=0.1).item(),
                               F.cross_entropy(t64(z), y, label_smoothing=0.1).item(), rtol=1e-12)
    np.testing.assert_allclose(F.poly_loss(t64(z), y, epsilon=0.0, gamma=2.0).item(),
                               F.softmax_focal_loss(t64(z), y, gamma=2.0).item(), rtol=1e-12)
    p_y = np.exp(log_softmax(z))[np.arange(5), y]
    np.testing.assert_allclose(F.poly_loss(t64(z), y, epsilon=2.0).item(),
                               F.cross_entropy(t64(z), y).item() + 2 * np.mean(1 - p_y),
                               rtol=1e-12)
    # Poly-N: CE + Σ_j ε_j (1 − p_t)^j
    eps = (1.0, -0.5, 0.25)
    extra = sum(e * np.mean((1 - p_y) ** j) for j, e in enumerate(eps, 1))
    np.testing.assert_allclose(F.poly_loss(t64(z), y, epsilon=eps).item(),
                               F.cross_entropy(t64(z), y).item() + extra, rtol=1e-12)
    # the Poly-1 extra gradient: −ε·p_t·(onehot − p) per row
    a, b = t64(z), t64(z)
    F.poly_loss(a, y, epsilon=2.0, reduction="sum").backward()
    F.cross_entropy(b, y, reduction="sum").backward()
    p = np.exp(log_softmax(z))
    np.testing.assert_allclose(a.grad.numpy() - b.grad.numpy(),
                               -2 * p_y[:, None] * (np.eye(4)[y] - p), rtol=1e-9, atol=1e-12)


def test_squentropy_gradient_closed_form():
    rng = np.random.default_rng(13)
    z, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    x = t64(z)
    F.squentropy_loss(x, y, reduction="sum").backward()
    p = np.exp(log_softmax(z))
    onehot = np.eye(4)[y]
    np.testing.assert_allclose(x.grad.numpy(), p - onehot + 2 * z * (1 - onehot) / 3, rtol=1e-10)


def test_z_loss_is_shift_and_scale_invariant():
    rng = np.random.default_rng(14)
    z, y = rng.standard_normal((5, 6)), rng.integers(0, 6, 5)
    base = F.spherical_z_loss(t64(z), y, a=1.0, b=2.0, eps=0.0).item()
    moved = F.spherical_z_loss(t64(3.5 * z - 7.0), y, a=1.0, b=2.0, eps=0.0).item()
    np.testing.assert_allclose(moved, base, rtol=1e-12)
    # a constant row (std 0) stays finite thanks to eps
    x = t64(np.ones((2, 4)))
    out = F.spherical_z_loss(x, np.array([0, 1]), a=1.0, b=1.0)
    out.backward()
    assert np.isfinite(out.item()) and np.all(np.isfinite(x.grad.numpy()))
    with pytest.raises(ValueError, match="spherical_z_loss"):
        F.spherical_z_loss(t64(z), y, a=0.0, b=1.0)


def test_batch_perceptron_subgradient_and_update():
    rng = np.random.default_rng(15)
    a = rng.standard_normal((8, 3))
    w = rng.standard_normal(3)
    y = rng.integers(0, 2, 8) * 2 - 1
    wt = t64(w)
    loss = F.batch_perceptron_loss(mg.tensor(a) @ wt, y)
    loss.backward()
    margins = y * (a @ w)
    np.testing.assert_allclose(loss.item(), np.mean(np.maximum(0, -margins)))
    step = 0.5
    perceptron = w + step / 8 * (y[margins <= 0][:, None] * a[margins <= 0]).sum(axis=0)
    np.testing.assert_allclose(w - step * wt.grad.numpy(), perceptron, rtol=1e-12)
    # the boundary y·f = 0 takes the perceptron's subgradient −y (ReLU's convention gives 0)
    f = t64(np.array([0.0, 0.0, 1.0]))
    F.batch_perceptron_loss(f, np.array([1, -1, 1]), reduction="sum").backward()
    np.testing.assert_array_equal(f.grad.numpy(), [-1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="batch_perceptron_loss"):
        F.batch_perceptron_loss(t64(np.zeros(3)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="batch_perceptron_loss"):
        F.batch_perceptron_loss(t64(np.zeros(3)), np.array([1, 1]))
    with pytest.raises(TypeError, match="batch_perceptron_loss"):
        F.batch_perceptron_loss(mg.tensor(np.zeros(3, dtype=np.int64)), np.array([1, 1, 1]))


@pytest.mark.parametrize("module, fn, kw", [
    (nn.GCELoss, F.gce_loss, {"q": 0.5}),
    (nn.NormalizedCELoss, F.normalized_ce_loss, {}),
    (nn.NormalizedFocalLoss, F.normalized_focal_loss, {"gamma": 1.0}),
    (nn.NormalizedGCELoss, F.normalized_gce_loss, {"q": 0.1}),
    (nn.ReverseCELoss, F.reverse_ce_loss, {"variant": "sce", "alpha": 0.1, "beta": 1.0}),
    (nn.MAEProbLoss, F.mae_prob_loss, {"normalized": True}),
    (nn.ActivePassiveLoss, F.active_passive_loss, {"active": "nfl", "passive": "rce"}),
    (nn.PolyLoss, F.poly_loss, {"epsilon": 2.0, "gamma": 1.0}),
    (nn.SquentropyLoss, F.squentropy_loss, {}),
    (nn.SphericalZLoss, F.spherical_z_loss, {"a": 0.5, "b": 3.0}),
    (nn.CompSumLoss, F.comp_sum_loss, {"tau": 0.5}),
])
def test_modules_match_functionals(module, fn, kw):
    rng = np.random.default_rng(16)
    z, y = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    for reduction in ("mean", "sum", "none"):
        np.testing.assert_allclose(module(**kw, reduction=reduction)(t64(z), y).numpy(),
                                   fn(t64(z), y, **kw, reduction=reduction).numpy())
    assert "reduction" in repr(module(**kw))


# ------------------------------------------------------------------ tiny training runs
def _blobs(rng, n=240, noise=0.0):
    centres = np.array([[2.0, 0.0], [-1.0, 1.8], [-1.0, -1.8]])
    y = rng.integers(0, 3, n)
    x = centres[y] + 0.5 * rng.standard_normal((n, 2))
    noisy = y.copy()
    flip = rng.random(n) < noise
    noisy[flip] = rng.integers(0, 3, flip.sum())
    return x, y, noisy


def _train(loss_fn, x, y_train, steps=150, lr=0.1):
    mg.manual_seed(0)
    net = nn.Linear(2, 3)
    opt = optim.Adam(net.parameters(), lr=lr)
    xt = mg.tensor(x.astype(np.float32))
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(net(xt), y_train)
        loss.backward()
        opt.step()
    return net


@pytest.mark.parametrize("loss_fn", [
    lambda z, y: F.active_passive_loss(z, y),                        # NCE + RCE
    lambda z, y: F.active_passive_loss(z, y, "nfl", "mae"),
    lambda z, y: F.gce_loss(z, y),
    lambda z, y: F.reverse_ce_loss(z, y, variant="sce"),
])
def test_noisy_label_losses_train_through_label_noise(loss_fn):
    rng = np.random.default_rng(17)
    x, y_clean, y_noisy = _blobs(rng, noise=0.4)
    net = _train(loss_fn, x, y_noisy)
    with mg.no_grad():
        pred = net(mg.tensor(x.astype(np.float32))).numpy().argmax(axis=1)
    assert (pred == y_clean).mean() > 0.9


@pytest.mark.parametrize("loss_fn", [
    lambda z, y: F.poly_loss(z, y, epsilon=2.0),
    lambda z, y: F.squentropy_loss(z, y),
    lambda z, y: F.spherical_z_loss(z, y, a=1.0, b=2.0),
    lambda z, y: F.comp_sum_loss(z, y, tau=0.5),
])
def test_classification_variants_train(loss_fn):
    rng = np.random.default_rng(18)
    x, y, _ = _blobs(rng)
    net = _train(loss_fn, x, y)
    with mg.no_grad():
        pred = net(mg.tensor(x.astype(np.float32))).numpy().argmax(axis=1)
    assert (pred == y).mean() > 0.95


def test_batch_perceptron_separates_linearly_separable_data():
    rng = np.random.default_rng(19)
    a = rng.standard_normal((60, 2))
    y = np.where(a @ np.array([1.0, -2.0]) > 0, 1, -1)
    w = mg.tensor(np.zeros(2), requires_grad=True)
    w.data[:] = [0.1, 0.1]
    opt = optim.SGD([w], lr=1.0)
    for _ in range(200):
        opt.zero_grad()
        F.batch_perceptron_loss(mg.tensor(a) @ w, y).backward()
        opt.step()
    assert np.all(y * (a @ w.numpy()) > 0)
