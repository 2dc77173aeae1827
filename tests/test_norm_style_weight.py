"""Style and weight-space normalizations (N033–N040, N043, N044) beyond the registry
harness: PCNorm's BatchNorm-style running statistics, the module utilities and layers,
the documented (non-derivative) backward rules of StatsQ and AnalogVNN, edge cases
(batch of one, zero variance, zero weights, extreme values) and bad-input errors."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import F, nn
from minigrad.gradcheck import fft_unavailable, gradcheck
from minigrad.layers import normalization as N
from tests.oracles import norm_style_weight as oracle


def t64(a, grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def needs_fft():
    reason = fft_unavailable(mg.current_backend().name)
    if reason:
        pytest.skip(reason)


def test_public_names_resolve():
    for name in ("adain", "functional_instance_norm", "pc_norm", "weight_standardization",
                 "scaled_weight_standardization", "unit_norm_weight", "nf_residual",
                 "statsq_weight_scale", "analog_lp_norm", "gradnormlorp_weight"):
        assert callable(getattr(F, name))
    for name in ("AdaIN", "FunctionalInstanceNorm2d", "PCNorm2d", "CCNorm2d", "SCNorm2d",
                 "StdConv2d", "ScaledStdConv2d", "NFResidual", "LPNorm", "L1Norm", "L2NormW",
                 "L1NormM", "GradNormLoRPLinear"):
        assert isinstance(getattr(nn, name), type)


# ------------------------------------------------------------------ AdaIN
def test_adain_moves_the_statistics_to_the_style():
    rng = np.random.default_rng(0)
    x, s = rng.standard_normal((2, 3, 5, 4)), 3 * rng.standard_normal((2, 3, 6, 6)) + 2
    y = F.adain(t64(x, False), t64(s, False)).numpy()
    y3, s3 = y.reshape(2, 3, -1), s.reshape(2, 3, -1)
    np.testing.assert_allclose(y3.mean(axis=2), s3.mean(axis=2), atol=1e-12)
    vx, vs = x.reshape(2, 3, -1).var(axis=2, ddof=1), s3.var(axis=2, ddof=1)
    np.testing.assert_allclose(y3.std(axis=2, ddof=1),
                               np.sqrt(vs + 1e-5) * np.sqrt(vx / (vx + 1e-5)), rtol=1e-10)
    assert nn.AdaIN()(t64(x, False), t64(s, False)).shape == x.shape


def test_adain_constant_content_and_style_give_no_nan():
    x, s = np.full((1, 2, 3, 3), 4.0), np.full((1, 2, 2, 2), -1.0)
    xt, st = t64(x), t64(s)
    y = F.adain(xt, st)
    np.testing.assert_allclose(y.numpy(), -1.0)
    y.sum().backward()
    assert np.isfinite(xt.grad.numpy()).all() and np.isfinite(st.grad.numpy()).all()


def test_adain_float32_and_errors():
    x = mg.randn(2, 3, 4, 4)
    assert F.adain(x, mg.randn(1, 3, 2, 2)).dtype == np.float32
    with pytest.raises(ValueError, match="adain"):
        F.adain(x, mg.randn(2, 4, 4, 4))
    with pytest.raises(ValueError, match="adain"):
        F.adain(mg.randn(2, 3, 1), mg.randn(2, 3, 1))
    with pytest.raises(TypeError, match="adain"):
        F.adain(mg.tensor(np.ones((1, 1, 2, 2), dtype=np.int64)), x[:1, :1])


# ------------------------------------------------------------------ FIN
def test_fin_layer_is_instance_norm_at_init_and_errors():
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 4))
    layer = nn.FunctionalInstanceNorm2d(3)
    phi = np.array([0.3, 2.0])
    y = layer(t64(x, False), t64(np.cos(phi), False), t64(np.sin(phi), False)).numpy()
    np.testing.assert_allclose(y, F.instance_norm(t64(x, False)).numpy(), atol=1e-12)
    assert set(dict(layer.named_parameters())) == {"a_gamma", "b_gamma", "a_beta", "b_beta"}
    with pytest.raises(ValueError, match="functional_instance_norm"):
        layer(t64(x, False), t64(np.cos(phi[:1]), False), t64(np.sin(phi[:1]), False))


def test_fin_gradients_reach_phi_and_parameters():
    rng = np.random.default_rng(2)
    args = [t64(rng.standard_normal((2, 2, 3, 3))), t64(rng.standard_normal(2)),
            t64(rng.standard_normal(2)), t64(rng.standard_normal(2)),
            t64(rng.uniform(0.5, 2, 2)), t64(rng.standard_normal(2)), t64(rng.standard_normal(2))]
    assert gradcheck(F.functional_instance_norm, args)


def test_fin_learns_a_continuous_translation():
    """CoMoGAN's use in miniature: a FIN layer learns a translation that varies continuously
    with φ (here a cyclic contrast/brightness change of the instance-normalized input,
    target = x̂·(1 + 0.5 cos φ) + 0.5 sin φ) from random φ, and generalizes to unseen φ."""
    rng = np.random.default_rng(14)
    layer = nn.FunctionalInstanceNorm2d(2)
    opt = mg.optim.Adam(layer.parameters(), lr=0.05)

    def batch(k):
        x = rng.standard_normal((k, 2, 4, 4)) * 3 + 1
        phi = rng.uniform(0, 2 * np.pi, k)
        xhat = F.instance_norm(mg.tensor(x)).numpy()
        target = xhat * (1 + 0.5 * np.cos(phi))[:, None, None, None] \
            + 0.5 * np.sin(phi)[:, None, None, None]
        return [mg.tensor(a) for a in (x, np.cos(phi), np.sin(phi), target)]

    def loss(x, c, s, target):
        return ((layer(x, c, s) - target) ** 2).mean()
    first = float(loss(*batch(16)).item())
    for _ in range(300):
        opt.zero_grad()
        loss(*batch(16)).backward()
        opt.step()
    with mg.no_grad():
        held_out = float(loss(*batch(64)).item())
    assert held_out < 1e-3 < first
    np.testing.assert_allclose(layer.a_gamma.numpy(), 0.5, atol=0.05)
    np.testing.assert_allclose(layer.a_beta.numpy(), 0.5, atol=0.05)


# ------------------------------------------------------------------ PCNorm / CCNorm / SCNorm
def test_pcnorm_running_statistics_follow_batchnorm(backend):
    needs_fft()
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((3, 2, 4, 4)) * (k + 1) + k for k in range(3)]
    for momentum in (0.1, None):
        pc, bn = nn.PCNorm2d(2, momentum=momentum), nn.BatchNorm2d(2, momentum=momentum)
        for b in batches:
            pc(mg.tensor(b))
            bn(mg.tensor(b))
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            np.testing.assert_allclose(getattr(pc, name).numpy(), getattr(bn, name).numpy(),
                                       rtol=1e-5)
        assert set(dict(pc.state_dict())) == set(dict(bn.state_dict()))
    pc.eval()
    x = batches[0][:1]
    expected = oracle.pc_norm(x, pc.running_mean.numpy(), pc.running_var.numpy(),
                              pc.weight.numpy(), pc.bias.numpy(), False)
    np.testing.assert_allclose(pc(mg.tensor(x)).numpy(), expected, rtol=1e-4, atol=1e-5)
    before = pc.running_mean.numpy().copy()
    pc(mg.tensor(x))
    np.testing.assert_array_equal(pc.running_mean.numpy(), before)       # eval: frozen


def test_pcnorm_state_dict_round_trip():
    needs_fft()
    x = mg.randn(2, 2, 3, 3)
    a = nn.CCNorm2d(2)
    a(x)
    b = nn.CCNorm2d(2)
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    np.testing.assert_allclose(a(x).numpy(), b(x).numpy())
    assert "lam_logits" in dict(a.state_dict())


def test_pc_modes_and_layers_match_the_code_forward():
    needs_fft()
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 4, 5))
    sc = nn.SCNorm2d(3)
    np.testing.assert_allclose(sc(t64(x, False)).numpy(),
                               oracle.pc_norm(x, mode="sc", lam=0.5, training=True), atol=1e-10)
    cc = nn.CCNorm2d(3)
    np.testing.assert_allclose(cc(t64(x, False)).numpy(),
                               oracle.pc_norm(x, mode="cc", lam=0.5, training=True,
                                              weight=np.ones(3), bias=np.zeros(3)), atol=1e-10)


def test_pcnorm_keeps_the_phase_and_takes_the_normalized_amplitude():
    needs_fft()
    x = np.random.default_rng(5).standard_normal((2, 1, 4, 4)) * 5 + 3
    y = F.pc_norm(t64(x, False), training=True).numpy()
    n = (x - x.mean()) / np.sqrt(x.var() + 1e-5)
    Y, X, Nf = (np.fft.fft2(a) for a in (y, x, n))
    np.testing.assert_allclose(np.abs(Y), np.abs(Nf), atol=1e-9)
    mask = np.abs(X) > 1e-6
    np.testing.assert_allclose(np.angle(Y[mask] / X[mask]), 0, atol=1e-8)


def test_pcnorm_batch_of_one_constant_and_extreme_inputs():
    needs_fft()
    for x in (np.zeros((1, 2, 3, 3)), np.full((2, 2, 3, 3), 7.0),
              np.random.default_rng(6).standard_normal((1, 2, 3, 3)) * 1e6):
        for mode, lam in (("pc", None), ("cc", 0.5), ("sc", 0.5)):
            xt = t64(x)
            y = F.pc_norm(xt, training=True, mode=mode, lam=lam)
            y.sum().backward()
            assert np.isfinite(y.numpy()).all() and np.isfinite(xt.grad.numpy()).all()


def test_pc_norm_errors():
    x = mg.randn(2, 2, 3, 3)
    with pytest.raises(ValueError, match="pc_norm"):
        F.pc_norm(x, mode="xx")
    with pytest.raises(ValueError, match="pc_norm"):
        F.pc_norm(x, mode="cc", training=True)
    with pytest.raises(ValueError, match="pc_norm"):
        F.pc_norm(mg.randn(2, 3, 4), training=True)


# ------------------------------------------------------------------ Weight Standardization
def test_weight_standardization_matches_the_official_layer_statistics():
    w = np.random.default_rng(7).standard_normal((4, 3, 3, 3))
    y = F.weight_standardization(t64(w, False)).numpy().reshape(4, -1)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    std = w.reshape(4, -1).std(axis=1, ddof=1)
    np.testing.assert_allclose(y.std(axis=1, ddof=1), std / (std + 1e-5), rtol=1e-12)


def test_weight_standardization_constant_filter_and_single_fan_in():
    w = t64(np.stack([np.full((2, 2), 3.0), np.arange(4.0).reshape(2, 2)]))
    y = F.weight_standardization(w)
    np.testing.assert_allclose(y.numpy()[0], 0)
    (y * t64(np.arange(8.0).reshape(2, 2, 2), False)).sum().backward()
    g = w.grad.numpy()[0].ravel()
    np.testing.assert_allclose(g, (np.arange(4.0) - 1.5) / 1e-5)   # (G − mean G)/ε
    with pytest.raises(ValueError, match="weight_standardization"):
        F.weight_standardization(mg.randn(3, 1))


def test_std_conv_and_apply_weight_standardization_agree():
    mg.manual_seed(0)
    conv = nn.StdConv2d(2, 3, 3, padding=1)
    x = mg.randn(1, 2, 5, 5)
    expected = F.conv2d(x, F.weight_standardization(conv.weight), conv.bias, padding=1)
    np.testing.assert_allclose(conv(x).numpy(), expected.numpy(), rtol=1e-6)
    plain = nn.Conv2d(2, 3, 3, padding=1)
    with mg.no_grad():
        plain.weight.copy_(conv.weight)
        plain.bias.copy_(conv.bias)
    N.apply_weight_standardization(plain)
    np.testing.assert_allclose(plain(x).numpy(), expected.numpy(), rtol=1e-6)
    assert set(dict(plain.state_dict())) == {"weight_orig", "bias"}
    plain(x).sum().backward()
    assert plain.weight_orig.grad is not None
    with pytest.raises(RuntimeError, match="already"):
        N.apply_weight_standardization(plain)


# ------------------------------------------------------------------ Scaled WS / NF
def test_scaled_ws_variance_preserving_scale():
    w = np.random.default_rng(8).standard_normal((5, 4, 3, 3))
    y = F.scaled_weight_standardization(t64(w, False)).numpy().reshape(5, -1)
    np.testing.assert_allclose((y ** 2).sum(axis=1), 1.0, rtol=1e-12)   # N·var(Ŵ) = 1
    conv = nn.ScaledStdConv2d(4, 5, 3, gamma=N.NF_GAMMA["relu"])
    assert tuple(conv.gain.shape) == (5,)
    np.testing.assert_allclose(
        conv.weight.numpy() * 0 + F.scaled_weight_standardization(
            conv.weight, conv.gain, N.NF_GAMMA["relu"]).numpy(),
        oracle.scaled_weight_standardization(conv.weight.numpy().astype(np.float64),
                                             conv.gain.numpy(), N.NF_GAMMA["relu"]), rtol=1e-5)


def test_scaled_ws_dead_filter_is_finite_and_errors():
    w = t64(np.zeros((2, 3)))
    g = t64(np.ones(2))
    y = F.scaled_weight_standardization(w, g)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), 0)
    assert np.isfinite(w.grad.numpy()).all()
    with pytest.raises(ValueError, match="scaled_weight_standardization"):
        F.scaled_weight_standardization(mg.randn(3, 4), mg.ones(2))


def test_apply_scaled_ws_adds_a_gain():
    lin = nn.Linear(4, 3)
    N.apply_scaled_weight_standardization(lin, gamma=2.0)
    assert set(dict(lin.named_parameters())) == {"weight_orig", "weight_gain", "bias"}
    out = lin(mg.randn(2, 4))
    out.sum().backward()
    assert lin.weight_gain.grad is not None


def test_nf_expected_stds_follow_the_nfnet_recursion():
    alpha = 0.2
    stds = N.nf_expected_stds([1, 3], alpha)
    assert stds[0] == [1.0]
    assert stds[1][0] == 1.0
    np.testing.assert_allclose(stds[1][1:], [math.sqrt(1 + alpha ** 2), math.sqrt(1 + 2 * alpha ** 2)])


def test_nf_residual_block_and_skipinit():
    x = mg.randn(4, 3)
    branch = nn.Linear(3, 3)
    block = nn.NFResidual(branch, alpha=0.2, beta=2.0, skipinit=True)
    np.testing.assert_allclose(block(x).numpy(), x.numpy())          # SkipInit gain 0
    with mg.no_grad():
        block.skip_gain.fill_(1.0)
    np.testing.assert_allclose(block(x).numpy(), (x + 0.2 * branch(x / 2.0)).numpy(), rtol=1e-6)
    shortcut = nn.Linear(3, 3)
    t = nn.NFResidual(branch, beta=2.0, shortcut=shortcut)
    np.testing.assert_allclose(t(x).numpy(), (shortcut(x / 2.0) + 0.2 * branch(x / 2.0)).numpy(),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="nf_residual"):
        F.nf_residual(x, branch, beta=0.0)


# ------------------------------------------------------------------ unit-norm weight
def test_unit_norm_weight_rows_and_zero_row():
    w = t64(np.vstack([np.zeros((1, 4)), np.random.default_rng(9).standard_normal((2, 4))]))
    y = F.unit_norm_weight(w)
    np.testing.assert_allclose(np.linalg.norm(y.numpy()[1:], axis=1), 1.0)
    np.testing.assert_allclose(y.numpy()[0], 0)
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy()[0], 1e12)                 # dŵ/ε in the clamp
    lin = N.apply_unit_norm_weight(nn.Linear(4, 3))
    np.testing.assert_allclose(np.linalg.norm(lin.weight.numpy(), axis=1), 1.0, rtol=1e-6)


# ------------------------------------------------------------------ StatsQ
def test_statsq_documented_rule_and_clamp():
    w = np.array([[0.1, -0.2, 3.0, -0.05], [1.0, 1.0, 1.0, -1.0]])
    wt = t64(w)
    y = F.statsq_weight_scale(wt)
    s = 2 * np.abs(w).mean(axis=1, keepdims=True)
    np.testing.assert_allclose(y.numpy(), np.clip(w / s, -1, 1 - 1e-6))
    gy = np.arange(8.0).reshape(2, 4) + 1
    y.backward(t64(gy, False))
    u = w / s
    np.testing.assert_allclose(wt.grad.numpy(), gy * ((u > -1) & (u < 1 - 1e-6)) / s)
    # the rule is not the derivative: s(W) depends on W, the rule holds it constant
    assert wt.grad.numpy()[0, 0] == pytest.approx(gy[0, 0] / s[0, 0])


def test_statsq_zero_row_and_float32():
    y = F.statsq_weight_scale(mg.zeros(2, 3))
    np.testing.assert_array_equal(y.numpy(), 0)
    assert y.dtype == np.float32
    lin = N.apply_statsq_weight_scale(nn.Linear(5, 3))
    w = lin.weight_orig.numpy()
    s = 2 * np.abs(w).mean(axis=1, keepdims=True)
    np.testing.assert_allclose(lin.weight.numpy(), np.clip(w, -s, s * (1 - 1e-6)), rtol=1e-6)
    with pytest.raises(ValueError, match="statsq_weight_scale"):
        F.statsq_weight_scale(mg.randn(4))


# ------------------------------------------------------------------ AnalogVNN
def test_analog_identity_backward_and_variants():
    x = np.random.default_rng(10).standard_normal((3, 2, 2))
    xt = t64(x)
    y = nn.L2Norm()(xt)
    np.testing.assert_allclose(np.linalg.norm(y.numpy().reshape(3, -1), axis=1), 1.0)
    gy = np.random.default_rng(11).standard_normal(x.shape)
    y.backward(t64(gy, False))
    np.testing.assert_allclose(xt.grad.numpy(), gy)               # BackwardIdentity
    np.testing.assert_allclose(np.abs(nn.L1NormW()(t64(x, False)).numpy()).sum(), 1.0)
    np.testing.assert_allclose(np.abs(nn.L1NormM()(t64(x, False)).numpy()).max(), 1.0)


def test_analog_exact_backward_matches_fd_and_clamp():
    x = t64(np.random.default_rng(12).standard_normal((2, 5)))
    assert gradcheck(lambda a: F.analog_lp_norm(a, p=3, backward="exact"), [x])
    tiny = t64(np.full((1, 3), 1e-6))
    y = F.analog_lp_norm(tiny, backward="exact")
    np.testing.assert_allclose(y.numpy(), 1e-2)                     # x/1e-4
    y.sum().backward()
    np.testing.assert_allclose(tiny.grad.numpy(), 1e4)
    z = F.analog_lp_norm(t64(np.zeros((2, 2))), make_max_1=True)
    np.testing.assert_array_equal(z.numpy(), 0)
    with pytest.raises(ValueError, match="analog_lp_norm"):
        F.analog_lp_norm(x, backward="straight")
    with pytest.raises(ValueError, match="analog_lp_norm"):
        F.analog_lp_norm(x, p=0.5)


# ------------------------------------------------------------------ GradNormLoRP
def test_gradnormlorp_linear_starts_at_the_pretrained_weight():
    base = nn.Linear(4, 3)
    layer = nn.GradNormLoRPLinear.from_linear(base, rank=2)
    x = mg.randn(5, 4)
    np.testing.assert_allclose(layer(x).numpy(), base(x).numpy(), rtol=1e-5, atol=1e-6)
    layer(x).sum().backward()
    assert layer.j_factor.grad is not None and layer.magnitude.grad is not None
    assert "w0" in dict(layer.state_dict()) and "w0" not in dict(layer.named_parameters())
    with pytest.raises(ValueError, match="gradnormlorp_weight"):
        F.gradnormlorp_weight(mg.randn(4, 3), mg.randn(4, 2), mg.randn(3, 3), mg.ones(3))


def test_gradnormlorp_frozen_base_gets_no_gradient():
    w0 = t64(np.random.default_rng(13).standard_normal((4, 3)))
    i, j, m = t64(np.ones((4, 1))), t64(np.ones((1, 3))), t64(np.ones(3))
    F.gradnormlorp_weight(w0, i, j, m).sum().backward()
    assert w0.grad is None and i.grad is not None
