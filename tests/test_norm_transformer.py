"""Transformer normalizations beyond the registry harness (which gradchecks them and compares
their forwards with tests/oracles/norm_transformer.py): initializations from the papers,
the properties each paper states, edge cases (zero rows, batch of one, extreme values,
fully masked queries), errors that name the op, dtypes, and the Modules."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import F, nn
from minigrad.gradcheck import gradcheck, gradgradcheck
from minigrad.layers import normalization as N


def t64(a, grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def finite(t):
    return bool(np.isfinite(t.numpy()).all())


# ------------------------------------------------------------------ ScaleNorm
def test_scale_norm_init_and_row_length():
    m = nn.ScaleNorm(16)
    assert m.scale.item() == pytest.approx(4.0)                 # g₀ = √d
    y = m(mg.randn(3, 5, 16)).numpy()
    np.testing.assert_allclose(np.linalg.norm(y, axis=-1), 4.0, rtol=1e-5)


def test_fixnorm_has_no_parameter_and_fixed_length():
    m = nn.ScaleNorm(8, scale=2.0, learnable=False)
    assert list(m.parameters()) == []
    np.testing.assert_allclose(np.linalg.norm(m(mg.randn(4, 8)).numpy(), axis=-1), 2.0, rtol=1e-5)


def test_scale_norm_zero_row_is_finite():
    x = t64(np.zeros((2, 4)))
    g = t64(2.0)
    y = F.scale_norm(x, g)
    y.sum().backward()
    assert finite(y) and finite(x.grad) and finite(g.grad)
    assert gradcheck(F.scale_norm, [t64(np.zeros((1, 3)) + 1e-7), t64(1.5)])


def test_scale_norm_extreme_values():
    x = mg.tensor(np.array([[3e30, -4e30], [1e-30, 0.0]], dtype=np.float32), requires_grad=True)
    y = F.scale_norm(x, 1.0)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), [[0.6, -0.8], [1e-30 / 1e-5, 0.0]], rtol=1e-6)
    assert finite(x.grad)


def test_scale_norm_errors_and_dtype():
    with pytest.raises(ValueError, match="ScaleNorm"):
        nn.ScaleNorm(4)(mg.randn(2, 5))
    assert F.scale_norm(mg.randn(2, 3), 1.0).dtype == np.float32


# ------------------------------------------------------------------ RescaleNorm
def test_rescale_norm_init_follows_dehazeformer():
    mg.manual_seed(0)
    m = nn.RescaleNorm(64)
    np.testing.assert_array_equal(m.meta1_bias.numpy(), 1.0)
    np.testing.assert_array_equal(m.meta2_bias.numpy(), 0.0)
    assert 0.01 < m.meta1_weight.numpy().std() < 0.03
    # timm's trunc_normal_(std=.02) truncates at ±2 absolute: in effect a plain N(0, 0.02²)
    assert 0.01 < m.meta2_weight.numpy().std() < 0.03
    out, rs, rb = m(mg.randn(2, 64, 3, 3))
    assert out.shape == (2, 64, 3, 3) and rs.shape == (2, 64, 1, 1) and rb.shape == (2, 64, 1, 1)


def test_rescale_norm_restores_statistics():
    """With W1 = 1, B1 = 0, W2 = 1, B2 = 0, γ = 1, β = 0, out·rescale + rebias ≈ x."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 4)) * 3 + 2
    one, zero = t64(np.ones(3)), t64(np.zeros(3))
    out, rs, rb = F.rescale_norm(t64(x), one, zero, one, zero, one, zero, eps=1e-12)
    np.testing.assert_allclose((out * rs + rb).numpy(), x, atol=1e-9)


def test_rescale_norm_detach_cuts_statistics_path():
    rng = np.random.default_rng(1)
    x = t64(rng.standard_normal((2, 3, 2, 2)))
    p = [t64(rng.standard_normal(3)) for _ in range(6)]
    _, rs, rb = F.rescale_norm(x, *p, detach_grad=True)
    (rs.sum() + rb.sum()).backward()
    assert x.grad is None or np.all(x.grad.numpy() == 0)
    assert p[2].grad is not None and p[4].grad is not None     # W1, W2 still learn
    x2 = t64(x.numpy())
    _, rs, rb = F.rescale_norm(x2, *[t64(q.numpy()) for q in p])
    (rs.sum() + rb.sum()).backward()
    assert np.abs(x2.grad.numpy()).max() > 1e-6


def test_rescale_norm_second_order_and_constant_input():
    rng = np.random.default_rng(2)
    args = [t64(rng.standard_normal((2, 2, 3)))] + [t64(rng.uniform(0.5, 2, 2)) for _ in range(6)]
    assert gradgradcheck(N.transformer_norms._rescale_block, args)
    x = t64(np.full((1, 2, 3), 5.0))                          # zero variance, batch of one
    out, rs, rb = F.rescale_norm(x, *args[1:])
    (out.sum() + rs.sum()).backward()
    assert finite(out) and finite(x.grad)


def test_rescale_norm_errors():
    with pytest.raises(ValueError, match="rescale_norm"):
        F.rescale_norm(mg.randn(2, 3, 4), *[mg.ones(4)] * 6)
    with pytest.raises(ValueError, match="rescale_norm"):
        F.rescale_norm(mg.randn(3), *[mg.ones(3)] * 6)


# ------------------------------------------------------------------ DyT
def test_dyt_init_and_extreme_values():
    m = nn.DyT(4)
    assert m.alpha.item() == 0.5
    x = mg.tensor(np.array([[1e30, -1e30, 0.0, 3.0]], dtype=np.float32), requires_grad=True)
    y = m(x)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy()[0, :3], [1.0, -1.0, 0.0])
    assert finite(x.grad) and finite(m.alpha.grad)


def test_dyt_channels_first_matches_channels_last():
    x = mg.randn(2, 3, 4, 4)
    a, w, b = mg.tensor(0.7), mg.randn(3), mg.randn(3)
    first = F.dyt(x, a, w, b, channels_last=False)
    last = F.dyt(x.permute(0, 2, 3, 1), a, w, b).permute(0, 3, 1, 2)
    np.testing.assert_allclose(first.numpy(), last.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="dyt"):
        F.dyt(x, a, mg.ones(4), channels_last=False)


# ------------------------------------------------------------------ ELN / DyISRU
def test_eln_is_exact_rmsnorm_for_the_matching_beta():
    """Paper: with β = Σ_{k≠i} x_k², √C·x_i/√(β + x_i²) is RMSNorm's i-th output."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(8)
    rms = x / np.sqrt(np.mean(x * x))
    for i in range(8):
        beta = np.sum(x * x) - x[i] ** 2
        y = F.elementwise_layer_norm(t64(x), t64(beta)).numpy()
        assert y[i] == pytest.approx(rms[i], rel=1e-12)


def test_eln_saturates_and_rejects_bad_beta():
    m = nn.ElementwiseLayerNorm(16)
    assert m.beta.item() == 16.0
    y = m(mg.tensor(np.array([[1e30] + [0.0] * 15], dtype=np.float32))).numpy()
    assert y[0, 0] == pytest.approx(4.0) and np.isfinite(y).all()     # ±√C
    with pytest.raises(ValueError, match="elementwise_layer_norm"):
        F.elementwise_layer_norm(mg.randn(2, 3), mg.tensor(0.0))
    with pytest.raises(ValueError, match="elementwise_layer_norm"):
        F.elementwise_layer_norm(mg.randn(2, 3), mg.tensor(1.0), mg.ones(4))


# ------------------------------------------------------------------ QK-Norm
def test_qk_norm_init_and_module():
    assert N.qk_norm_init(10) == pytest.approx(math.log2(90))
    m = nn.QKNormAttention(16, 4, seq_len=10)
    assert m.g.item() == pytest.approx(math.log2(90), rel=1e-6)
    x = mg.randn(2, 10, 16, requires_grad=True)
    m(x).sum().backward()
    assert x.grad.shape == (2, 10, 16) and m.g.grad is not None
    with pytest.raises(ValueError, match="QKNormAttention"):
        nn.QKNormAttention(16, 4)


def test_qk_norm_equals_sdpa_on_unit_vectors():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 5, 4)) for _ in range(3))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    k /= np.linalg.norm(k, axis=-1, keepdims=True)
    got = F.qk_norm(t64(q), t64(k), t64(v), 3.0, is_causal=True).numpy()
    ref = F.scaled_dot_product_attention(t64(q), t64(k), t64(v), is_causal=True, scale=3.0).numpy()
    np.testing.assert_allclose(got, ref, atol=1e-12)


def test_qk_norm_masked_row_and_zero_query():
    rng = np.random.default_rng(1)
    q = rng.standard_normal((3, 4))
    q[1] = 0.0                                                     # a zero query
    q, k, v, g = t64(q), t64(rng.standard_normal((3, 4))), t64(rng.standard_normal((3, 2))), t64(2.0)
    mask = np.ones((3, 3), dtype=bool)
    mask[2] = False                                                # query 2 attends nothing
    out = F.qk_norm(q, k, v, g, attn_mask=mask)
    out.sum().backward()
    assert finite(out) and finite(q.grad) and finite(k.grad) and finite(g.grad)
    np.testing.assert_array_equal(out.numpy()[2], 0.0)
    with pytest.raises(ValueError, match="qk_norm"):
        F.qk_norm(q, k, v, g, attn_mask=np.ones((3, 3)))
    with pytest.raises(ValueError, match="qk_norm"):
        F.qk_norm(q, t64(np.ones((3, 5))), v, g)


# ------------------------------------------------------------------ DeepNorm
def test_deep_norm_constants():
    a, b = N.deep_norm_constants(6)
    assert (a, b) == pytest.approx((12 ** 0.25, 48 ** -0.25))
    a, b = N.deep_norm_constants(6, 6, "encoder")
    assert (a, b) == pytest.approx((0.81 * (6 ** 5) ** (1 / 16), 0.87 * (6 ** 5) ** (-1 / 16)))
    a, b = N.deep_norm_constants(6, 6, "decoder")
    assert (a, b) == pytest.approx((18 ** 0.25, 72 ** -0.25))
    with pytest.raises(ValueError, match="deep_norm_constants"):
        N.deep_norm_constants(6, 6, "middle")


def test_deep_norm_init_gains():
    mg.manual_seed(0)
    q, v, ffn = nn.Linear(256, 256), nn.Linear(256, 256), nn.Linear(256, 512)
    N.deep_norm_init_(q_proj=[q.weight], v_proj=[v.weight], ffn=[ffn.weight], beta=0.25)
    assert q.weight.numpy().std() == pytest.approx(math.sqrt(2 / 512), rel=0.02)
    assert v.weight.numpy().std() == pytest.approx(0.25 * math.sqrt(2 / 512), rel=0.02)
    assert ffn.weight.numpy().std() == pytest.approx(0.25 * math.sqrt(2 / 768), rel=0.02)


def test_deep_norm_is_layer_norm_of_upweighted_residual():
    x, g = mg.randn(2, 3, 8), mg.randn(2, 3, 8)
    m = nn.DeepNorm(8, alpha=2.5)
    np.testing.assert_allclose(m(x, g).numpy(), F.layer_norm(x * 2.5 + g, (8,)).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="deep_norm"):
        F.deep_norm(x, mg.randn(2, 3, 7), 2.0, 8)


# ------------------------------------------------------------------ NormFormer
def test_normformer_layer_trains_every_parameter():
    mg.manual_seed(0)
    m = nn.NormFormerLayer(8, 2, 16, scale_resid=True)
    np.testing.assert_array_equal(m.head_scale.numpy(), 1.0)
    x = mg.randn(1, 4, 8)                                         # batch of one
    m(x).square().sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and finite(p.grad), name
    with pytest.raises(ValueError, match="normformer_block"):
        F.normformer_block(x, m._qkv, m.out_proj, m.fc1, m.fc2,
                           (m.attn_norm, m.attn_out_norm, m.ffn_norm, m.ffn_mid_norm),
                           mg.ones(3), 2)


def test_normformer_head_scale_zero_silences_attention():
    mg.manual_seed(1)
    m = nn.NormFormerLayer(8, 2, 16)
    x = mg.randn(2, 3, 8)
    with mg.no_grad():
        m.head_scale.zero_()
        ffn_only = m.fc2(m.ffn_mid_norm(F.gelu(m.fc1(m.ffn_norm(x + m.attn_out_norm(m.out_proj.bias
                                                                                     + 0 * x))))))
    # with γ_h = 0 the attention branch is LN₂(b_O): the same for every token
    out = m(x) - x
    np.testing.assert_allclose(out.numpy(), (m.attn_out_norm(m.out_proj.bias + 0 * x)
                                             + ffn_only).numpy(), atol=1e-5)


# ------------------------------------------------------------------ Peri-LN
def test_peri_ln_each_update_has_unit_rms():
    """Peri-LN: every sub-layer adds an LN output (γ = 1, β = 0): unit RMS per token, so
    the residual stream grows additively, never through the sub-layer's own scale."""
    mg.manual_seed(0)
    lin = nn.Linear(16, 16)
    with mg.no_grad():
        lin.weight.mul_(100.0)
    block = nn.PeriLNResidual(lin, nn.LayerNorm(16), nn.LayerNorm(16))
    x = mg.randn(4, 16)
    delta = (block(x) - x).numpy()
    np.testing.assert_allclose(np.sqrt((delta ** 2).mean(axis=-1)), 1.0, rtol=1e-3)


def test_peri_ln_variance_grows_slower_than_pre_ln():
    mg.manual_seed(0)
    d, depth = 16, 12

    def stack(peri):
        layers = []
        for _ in range(depth):
            f = nn.Linear(d, d)
            with mg.no_grad():
                f.weight.mul_(3.0)
            layers.append(nn.PeriLNResidual(f, nn.LayerNorm(d), nn.LayerNorm(d)) if peri
                          else nn.NormResidual(f, nn.LayerNorm(d), "pre"))
        return nn.Sequential(*layers)

    x = mg.randn(8, d)
    mg.manual_seed(1)
    peri = stack(True)(x).numpy().var()
    mg.manual_seed(1)
    pre = stack(False)(x).numpy().var()
    assert peri < pre and peri < 2 * depth


# ------------------------------------------------------------------ nGPT
def test_ngpt_residual_stays_on_sphere_and_interpolates():
    mg.manual_seed(0)
    m = nn.NGPTResidual(nn.Linear(8, 8), 8)
    np.testing.assert_allclose(m.alpha.numpy(), 1 / math.sqrt(8))
    np.testing.assert_allclose((m.alpha * (m.alpha_init / m.alpha_scale)).numpy(), 0.05, rtol=1e-6)
    h = F.ngpt_normalize(mg.randn(3, 8))
    np.testing.assert_allclose(np.linalg.norm(m(h).numpy(), axis=-1), 1.0, rtol=1e-5)
    u = mg.randn(3, 8)
    np.testing.assert_allclose(N.ngpt_residual(h, u, mg.zeros(8)).numpy(), h.numpy(), atol=1e-6)
    np.testing.assert_allclose(N.ngpt_residual(h, u, mg.ones(8)).numpy(),
                               F.ngpt_normalize(u).numpy(), atol=1e-6)


def test_ngpt_post_step_projection():
    w = mg.randn(5, 8) * 3
    r = mg.randn(8, 6) * 3
    N.ngpt_normalize_([(w, 1), (r, 0)])
    np.testing.assert_allclose(np.linalg.norm(w.numpy(), axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(r.numpy(), axis=0), 1.0, rtol=1e-5)


def test_ngpt_normalize_zero_vector_and_dtype():
    x = t64(np.zeros((2, 3)))
    y = F.ngpt_normalize(x)
    y.sum().backward()
    assert finite(y) and finite(x.grad)
    assert F.ngpt_normalize(mg.randn(2, 3)).dtype == np.float32


@pytest.mark.parametrize("op, args", [
    ("scale_norm", lambda x: (x, 2.0)),
    ("dyt", lambda x: (x, mg.tensor(0.5))),
    ("elementwise_layer_norm", lambda x: (x, mg.tensor(4.0))),
    ("ngpt_normalize", lambda x: (x,)),
    ("deep_norm", lambda x: (x, x, 2.0, 4)),
])
def test_float32_in_float32_out(op, args):
    x = mg.randn(2, 4)
    assert getattr(F, op)(*args(x)).dtype == np.float32
