"""Feature / logit normalizations (N045–N050) and flow / compression normalizations (N051,
N052) beyond the shared registry checks: running statistics, data-dependent init, fitted
buffers, edge cases and errors."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad import functional as F
from minigrad.layers.normalization.feature import hadamard_matrix, phi_s_fit


def t64(a, grad=False):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def test_public_names_resolve():
    for name in ("feature_norm", "logit_clip", "z_normalize", "adaface_norm_stat", "msg_norm",
                 "phi_s", "gdn", "act_norm"):
        assert callable(getattr(F, name))
    for name in ("FeatureNorm", "LogitClip", "ZNormalize", "AdaFaceNormStat", "MessageNorm",
                 "PHIS", "GDN", "IGDN", "ActNorm"):
        assert isinstance(getattr(nn, name), type)


# ------------------------------------------------------------------ N045 feature_norm
def test_feature_norm_is_the_paper_code_fn():
    z = np.random.default_rng(0).standard_normal((4, 9))
    y = F.feature_norm(t64(z)).numpy()
    np.testing.assert_allclose(y, z / np.linalg.norm(z, axis=1, keepdims=True) * 3.0)
    np.testing.assert_allclose((y ** 2).mean(axis=1), 1.0)          # mean square 1
    y1 = nn.FeatureNorm(variance_scale=False)(t64(z)).numpy()
    np.testing.assert_allclose(np.linalg.norm(y1, axis=1), 1.0)


def test_feature_norm_zero_vector_and_batch_of_one():
    x = t64(np.zeros((1, 5)), grad=True)
    y = F.feature_norm(x)
    y.sum().backward()
    assert np.all(y.numpy() == 0) and np.all(np.isfinite(x.grad.numpy()))
    x32 = mg.randn(2, 4)
    assert F.feature_norm(x32).dtype == x32.dtype
    with pytest.raises(ValueError, match="feature_norm"):
        F.feature_norm(mg.randn(2, 3), dim=2)


# ------------------------------------------------------------------ N046 logit_clip
def test_logit_clip_bounds_the_norm_and_keeps_small_logits():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((6, 10)) * np.array([[0.1], [0.2], [0.3], [3], [5], [10]])
    tau = 0.5
    y = F.logit_clip(t64(z), tau=tau).numpy()
    norms = np.linalg.norm(z, axis=1)
    outside = norms + 1e-7 > 1 / tau
    assert outside.tolist() == [False] * 3 + [True] * 3
    np.testing.assert_allclose(np.linalg.norm(y[outside], axis=1), 1 / tau, rtol=1e-6)
    np.testing.assert_array_equal(y[~outside], z[~outside])
    small = t64(z * 0.01, grad=True)
    F.logit_clip(small, tau=0.5).sum().backward()
    np.testing.assert_allclose(small.grad.numpy(), 1.0)           # identity inside the ball


def test_logit_clip_extreme_and_zero_logits():
    z = mg.tensor([[1e30, -1e30, 0.0], [0.0, 0.0, 0.0], [1e-30, 0.0, 0.0]], dtype=mg.float32)
    y = F.logit_clip(z, tau=1.0).numpy()
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y[0], [1 / math.sqrt(2), -1 / math.sqrt(2), 0.0], rtol=1e-6)
    np.testing.assert_array_equal(y[1:], z.numpy()[1:])
    x = t64([[1e200, 3e200]], grad=True)
    F.logit_clip(x, tau=2.0).sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


def test_logit_clip_p_norm_and_errors():
    z = np.array([[3.0, -4.0, 1.0]])
    y = F.logit_clip(t64(z), tau=1.0, p=1.0).numpy()
    np.testing.assert_allclose(np.abs(y).sum(), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="logit_clip"):
        F.logit_clip(t64(z), tau=0.0)
    with pytest.raises(ValueError, match="logit_clip"):
        F.logit_clip(t64(z), p=0.5)
    assert "tau=2.0" in repr(nn.LogitClip(tau=2.0))


# ------------------------------------------------------------------ N047 z_normalize
def test_z_normalize_is_shift_and_scale_invariant():
    z = np.random.default_rng(2).standard_normal((3, 7))
    y = F.z_normalize(t64(z), eps=0.0).numpy()
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=1), 1)
    np.testing.assert_allclose(F.z_normalize(t64(5 * z + 3), eps=0.0).numpy(), y, atol=1e-12)


def test_z_normalize_constant_logits_and_dtype():
    x = t64(np.full((2, 4), 3.0), grad=True)
    y = F.z_normalize(x)
    (y * t64(np.arange(8.0).reshape(2, 4))).sum().backward()
    assert np.all(y.numpy() == 0) and np.all(np.isfinite(x.grad.numpy()))
    x32 = mg.randn(2, 5)
    assert nn.ZNormalize()(x32).dtype == x32.dtype
    with pytest.raises(ValueError, match="z_normalize"):
        F.z_normalize(mg.tensor(1.0))


# ------------------------------------------------------------------ N048 adaface_norm_stat
def test_adaface_stat_matches_head_py_steps():
    rng = np.random.default_rng(3)
    layer = nn.AdaFaceNormStat()
    assert layer.running_mean.item() == 20.0 and layer.running_std.item() == 100.0
    norms = rng.uniform(10, 40, (8, 1))
    out = layer(t64(norms)).numpy()
    mu = 0.01 * norms.mean() + 0.99 * 20.0
    sd = 0.01 * norms.std(ddof=1) + 0.99 * 100.0
    np.testing.assert_allclose(layer.running_mean.numpy(), [mu], rtol=1e-6)
    np.testing.assert_allclose(layer.running_std.numpy(), [sd], rtol=1e-6)
    np.testing.assert_allclose(out, np.clip((norms - mu) / (sd + 1e-3) * 0.333, -1, 1), rtol=1e-6)
    assert int(layer.num_batches_tracked.item()) == 1


def test_adaface_stat_eval_state_dict_and_cumulative_average():
    rng = np.random.default_rng(4)
    layer = nn.AdaFaceNormStat(momentum=None)
    batches = [rng.uniform(5, 50, 6) for _ in range(3)]
    for b in batches:
        layer(t64(b))
    # momentum=None: factor 1/k, the first batch replaces the initial value
    np.testing.assert_allclose(layer.running_mean.numpy(), [np.mean([b.mean() for b in batches])],
                               rtol=1e-6)
    np.testing.assert_allclose(layer.running_std.numpy(),
                               [np.mean([b.std(ddof=1) for b in batches])], rtol=1e-6)
    state = {k: v.numpy().copy() for k, v in layer.state_dict().items()}
    assert set(state) == {"running_mean", "running_std", "num_batches_tracked"}
    layer.eval()
    one = layer(t64([12.0])).numpy()                  # eval: batch of one is fine, no update
    np.testing.assert_allclose(layer.running_mean.numpy(), state["running_mean"])
    fresh = nn.AdaFaceNormStat()
    fresh.load_state_dict(layer.state_dict())
    fresh.eval()
    np.testing.assert_allclose(fresh(t64([12.0])).numpy(), one)
    layer.train()
    with pytest.raises(ValueError, match="adaface_norm_stat"):
        layer(t64([12.0]))
    with pytest.raises(ValueError, match="adaface_norm_stat"):
        layer(t64(np.ones((3, 2))))


def test_adaface_stat_modulates_margins():
    """AdaFace (Eq. 10-12): g_angle = −m·ẑ, g_add = m·ẑ + m with m = 0.4. The statistic only
    modulates the margins: no gradient reaches the features through it."""
    rng = np.random.default_rng(5)
    f = t64(rng.standard_normal((6, 8)) * rng.uniform(0.5, 4, (6, 1)), grad=True)
    norms = (f * f).sum(axis=1, keepdims=True).sqrt()
    layer = nn.AdaFaceNormStat(momentum=1.0)          # this batch's statistics only
    zhat = layer(norms)
    g_angle, g_add = -0.4 * zhat, 0.4 * zhat + 0.4
    (g_angle.sum() + g_add.sum()).backward()
    np.testing.assert_array_equal(f.grad.numpy(), 0.0)
    order = np.argsort(norms.numpy().ravel())
    assert np.all(np.diff(zhat.numpy().ravel()[order]) >= 0)     # larger norm, larger ẑ
    assert np.all(np.abs(zhat.numpy()) <= 1)


# ------------------------------------------------------------------ N049 msg_norm
def test_msg_norm_rescales_message_to_feature_norm():
    rng = np.random.default_rng(6)
    x, m = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    layer = nn.MessageNorm(learn_scale=True)
    assert layer.scale.requires_grad and not nn.MessageNorm().scale.requires_grad
    y = layer(t64(x), t64(m)).numpy()
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), np.linalg.norm(x, axis=1))
    np.testing.assert_allclose(y / np.linalg.norm(y, axis=1, keepdims=True),
                               m / np.linalg.norm(m, axis=1, keepdims=True))


def test_msg_norm_zero_message_and_errors():
    x = t64(np.ones((2, 3)), grad=True)
    m = t64(np.zeros((2, 3)), grad=True)
    s = t64([1.0], grad=True)
    y = F.msg_norm(x, m, s)
    y.sum().backward()
    assert np.all(y.numpy() == 0)
    assert all(np.all(np.isfinite(t.grad.numpy())) for t in (x, m, s))
    with pytest.raises(ValueError, match="msg_norm"):
        F.msg_norm(t64(np.ones((2, 3))), t64(np.ones((2, 4))), s)
    with pytest.raises(ValueError, match="msg_norm"):
        F.msg_norm(t64(np.ones((2, 3))), t64(np.ones((2, 3))), t64([1.0, 2.0]))


# ------------------------------------------------------------------ N050 phi_s
@pytest.mark.parametrize("n", [1, 2, 4, 8, 12, 20, 24, 36, 40, 44, 60, 72, 768, 1152])
def test_hadamard_matrix_is_orthogonal_with_equal_magnitudes(n):
    H = hadamard_matrix(n)
    np.testing.assert_allclose(H @ H.T, np.eye(n), atol=1e-12)
    np.testing.assert_allclose(np.abs(H), 1 / math.sqrt(n))


def test_hadamard_order_without_construction_raises():
    with pytest.raises(ValueError, match="phi_s"):
        hadamard_matrix(6)
    with pytest.raises(ValueError, match="phi_s"):
        nn.PHIS(10)


def test_phi_s_standardizes_isotropically_and_inverts():
    rng = np.random.default_rng(7)
    C = 8
    A = rng.standard_normal((C, C)) * np.array([5, 3, 1, 1, 0.5, 0.2, 0.1, 0.1])
    teacher = rng.standard_normal((4000, C)) @ A + rng.standard_normal(C) * 4
    layer = nn.PHIS(C)
    with pytest.raises(RuntimeError, match="fit_"):
        layer(t64(teacher))
    layer.fit_(t64(teacher))
    y = layer(t64(teacher)).numpy()
    cov = np.cov(y.T)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-3)
    np.testing.assert_allclose(np.diag(cov), 1.0, rtol=1e-3)       # isotropic: every dim 1
    # α = sqrt(tr Σ / C) from the unbiased covariance, as RADIO's get_phi_s_matrix
    alpha = math.sqrt(np.trace(np.cov(teacher.T)) / C)
    np.testing.assert_allclose(np.trace(cov), np.trace(np.cov(teacher.T)) / alpha ** 2, rtol=1e-3)
    back = layer.inverse(t64(y)).numpy()
    np.testing.assert_allclose(back, teacher, rtol=1e-3, atol=1e-3)
    fresh = nn.PHIS(C)
    fresh.load_state_dict(layer.state_dict())
    np.testing.assert_allclose(fresh(t64(teacher[:3])).numpy(), y[:3], rtol=1e-5, atol=1e-5)


def test_phi_s_fixed_statistics_get_no_gradient():
    rng = np.random.default_rng(8)
    mean, whiten = phi_s_fit(t64(rng.standard_normal((50, 4))))
    mean.requires_grad_(True)
    whiten.requires_grad_(True)
    x = t64(rng.standard_normal((3, 4)), grad=True)
    F.phi_s(x, mean, whiten).sum().backward()
    assert mean.grad is None and whiten.grad is None
    np.testing.assert_allclose(x.grad.numpy(), np.ones((3, 4)) @ whiten.numpy())
    with pytest.raises(ValueError, match="phi_s"):
        F.phi_s(t64(np.ones((3, 5))), mean, whiten)
    with pytest.raises(ValueError, match="phi_s"):
        phi_s_fit(t64(np.ones((1, 4))))


def test_phi_s_distillation_targets():
    """A student regresses PHI-S-standardized targets of a teacher whose feature dims have
    very different scales (the paper's setting): MSE falls, and the student's prediction
    mapped back with the inverse approximates the teacher's raw features."""
    rng = np.random.default_rng(9)
    C, D = 4, 6
    W_t = rng.standard_normal((D, C)) * np.array([20.0, 1.0, 0.1, 0.05])
    inputs = rng.standard_normal((256, D))
    teacher = inputs @ W_t + 3.0
    phis = nn.PHIS(C).fit_(t64(teacher))
    targets = phis(t64(teacher)).detach()
    mg.manual_seed(0)
    student = nn.Linear(D, C)
    opt = mg.optim.Adam(student.parameters(), lr=0.05)
    x = mg.tensor(inputs, dtype=mg.float32)
    losses = []
    for _ in range(150):
        opt.zero_grad()
        loss = ((student(x).astype(mg.float64) - targets) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.01 * losses[0]
    raw = phis.inverse(student(x).astype(mg.float64)).numpy()
    rel = np.abs(raw - teacher).mean() / np.abs(teacher - teacher.mean(0)).mean()
    assert rel < 0.1


# ------------------------------------------------------------------ N051 gdn
def test_gdn_module_init_and_inverse():
    layer = nn.GDN(3)
    x = mg.randn(2, 3, 4, 4)
    y = layer(x)
    expected = x.numpy() / np.sqrt(1.0 + 0.1 * x.numpy() ** 2)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5)
    assert y.dtype == x.dtype
    igdn = nn.IGDN(3)
    np.testing.assert_allclose(igdn(x).numpy(), x.numpy() * np.sqrt(1.0 + 0.1 * x.numpy() ** 2),
                               rtol=1e-5)
    assert "inverse=True" in repr(igdn)
    with pytest.raises(ValueError, match="GDN"):
        layer(mg.randn(2, 4, 3, 3))


def test_gdn_lower_bound_lets_parameters_come_back():
    layer = nn.GDN(2)
    with mg.no_grad():
        layer.beta.fill_(-1.0)              # below the bound: β = β_min
    x = mg.tensor(np.array([[[[1.0]], [[2.0]]]]), dtype=mg.float32)
    layer(x).sum().backward()               # larger β lowers y: dL/dβ < 0, so it passes
    assert np.all(layer.beta.grad.numpy() < 0)
    layer.zero_grad()
    (-layer(x)).sum().backward()            # the other sign would push β further down: blocked
    np.testing.assert_array_equal(layer.beta.grad.numpy(), 0.0)


def test_gdn_zero_input_and_errors():
    x = t64(np.zeros((1, 2, 3)), grad=True)
    y = F.gdn(x, t64([1.0, 1.0]), t64(np.eye(2) * 0.1))
    y.sum().backward()
    assert np.all(y.numpy() == 0) and np.all(np.isfinite(x.grad.numpy()))
    with pytest.raises(ValueError, match="gdn"):
        F.gdn(t64(np.ones((2, 3))), t64([1.0, 1.0]), t64(np.eye(3)))
    with pytest.raises(ValueError, match="gdn"):
        F.gdn(t64(np.ones(3)), t64([1.0]), t64(np.eye(1)))


# ------------------------------------------------------------------ N052 act_norm
def test_act_norm_data_dependent_init_on_first_batch_only():
    rng = np.random.default_rng(10)
    layer = nn.ActNorm(3)
    assert int(layer.initialized.item()) == 0
    x = t64(rng.standard_normal((8, 3, 4, 4)) * np.array([1, 5, 0.1])[:, None, None] + 2)
    y, logdet = layer(x)
    yn = y.numpy()
    np.testing.assert_allclose(yn.mean(axis=(0, 2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(yn.var(axis=(0, 2, 3)), 1, rtol=1e-4)
    assert int(layer.initialized.item()) == 1 and logdet.shape == (8,)
    np.testing.assert_allclose(logdet.numpy(), 16 * layer.log_scale.numpy().sum(), rtol=1e-6)
    before = layer.bias.numpy().copy()
    layer(x * 3)                              # second batch: no re-initialization
    np.testing.assert_array_equal(layer.bias.numpy(), before)
    fresh = nn.ActNorm(3)
    fresh.load_state_dict(layer.state_dict())
    assert int(fresh.initialized.item()) == 1
    fresh(x * 3)
    np.testing.assert_array_equal(fresh.bias.numpy(), before)
    evaluated = nn.ActNorm(3).eval()          # eval before any training batch: no init
    evaluated(x)
    assert int(evaluated.initialized.item()) == 0


def test_act_norm_inverse_and_log_determinant():
    rng = np.random.default_rng(11)
    b, ls = rng.standard_normal(2), rng.standard_normal(2) * 0.3
    x = rng.standard_normal((1, 2, 3))
    y, logdet = F.act_norm(t64(x), t64(b), t64(ls))
    layer = nn.ActNorm(2).eval()
    with mg.no_grad():
        layer.bias.copy_(mg.tensor(b, dtype=layer.bias.dtype))
        layer.log_scale.copy_(mg.tensor(ls, dtype=layer.log_scale.dtype))
    back, inv_logdet = layer.inverse(y)
    np.testing.assert_allclose(back.numpy(), x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(inv_logdet.numpy(), -logdet.numpy(), rtol=1e-5)
    # log|det J| of the map, by finite differences of the flattened sample
    h, flat = 1e-6, x.ravel()
    J = np.empty((flat.size, flat.size))
    for k in range(flat.size):
        e = np.zeros_like(flat)
        e[k] = h
        up = F.act_norm(t64((flat + e).reshape(x.shape)), t64(b), t64(ls))[0].numpy().ravel()
        dn = F.act_norm(t64((flat - e).reshape(x.shape)), t64(b), t64(ls))[0].numpy().ravel()
        J[:, k] = (up - dn) / (2 * h)
    np.testing.assert_allclose(logdet.numpy()[0], np.linalg.slogdet(J)[1], rtol=1e-6)


def test_act_norm_batch_of_one_constant_channel_and_errors():
    layer = nn.ActNorm(2)
    y, _ = layer(mg.ones(1, 2, 2, 2))            # zero variance: log s = −log ε, finite
    assert np.all(np.isfinite(y.numpy())) and np.all(y.numpy() == 0)
    with pytest.raises(ValueError, match="ActNorm"):
        layer(mg.ones(1, 3, 2, 2))
    with pytest.raises(ValueError, match="act_norm"):
        F.act_norm(mg.ones(2, 3), mg.zeros(2), mg.zeros(3))


def test_gdn_second_derivatives():
    """The harness gradgradchecks ``fd`` rows only; GDN (``fd+custom``) is checked here."""
    from minigrad.gradcheck import gradgradcheck
    r = np.random.default_rng(12)
    x, b, g = (t64(a, grad=True) for a in (r.standard_normal((2, 3, 2)), r.uniform(0.5, 1.5, 3),
                                            r.uniform(0.05, 0.5, (3, 3))))
    for kwargs in ({}, {"inverse": True}, {"alpha": 1.5, "epsilon": 0.7}):
        gradgradcheck(lambda x, b, g: F.gdn(x, b, g, **kwargs), [x, b, g], {}, atol=1e-5)
