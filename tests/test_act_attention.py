"""Attention normalizers (catalog A053, A054) and the ``normalizer=`` argument of
scaled_dot_product_attention / multi_head_attention / MultiheadAttention. The registry
harness checks gradients (first and second order) and the oracles; these tests cover
known values, masks and fully masked rows, extreme values, dtypes, errors naming the op,
the attention plumbing and tiny training runs of the learnable parts (ReLA's g and w)."""
import functools

import numpy as np
import pytest

import minigrad as mg
from minigrad import functional as F, nn
from minigrad.backends import to_numpy
from minigrad.layers.attention import multi_head_attention, scaled_dot_product_attention
from tests.oracles import act_attention as oracle


def t(a, grad=False, dtype="float64"):
    return mg.tensor(np.asarray(a, dtype=dtype), requires_grad=grad)


def causal(L):
    return np.tril(np.ones((L, L), dtype=bool))


NORMALIZERS = [
    ("relu_attention", lambda s, m: F.relu_attention(s, m)),
    ("relu_attention_alpha", lambda s, m: F.relu_attention(s, m, alpha=0.5)),
]


# ------------------------------------------------------------------ known values
def test_relu_attention_is_relu_over_sequence_length():
    s = t([[1.0, -2.0, 3.0, 0.5]])
    np.testing.assert_allclose(F.relu_attention(s).numpy(), [[0.25, 0.0, 0.75, 0.125]])
    np.testing.assert_allclose(F.relu_attention(s, alpha=0.5).numpy(),
                               [[0.5, 0.0, 1.5, 0.25]])
    # with a causal mask each query sees i + 1 keys
    s = t(np.full((3, 3), 2.0))
    np.testing.assert_allclose(F.relu_attention(s, causal(3)).numpy(),
                               [[2.0, 0, 0], [1.0, 1.0, 0], [2 / 3, 2 / 3, 2 / 3]])


def test_rela_null_attention_and_gate():
    # every score ≤ 0: the head switches off (exact zero output, no NaN)
    s = t([[-1.0, -0.5, -2.0], [0.5, -1.0, 1.5]], grad=True)
    v = t(np.arange(6.0).reshape(3, 2), grad=True)
    g, w = t([1.0, 2.0], grad=True), t([0.3, -0.4], grad=True)
    out = F.rela_attention(s, v, g, w)
    np.testing.assert_array_equal(out.numpy()[0], 0.0)
    z = np.array([0.5 * 0 + 1.5 * 4, 0.5 * 1 + 1.5 * 5])
    ref = np.array([1.0, 2.0]) * z / np.sqrt((z ** 2).mean() + 1e-8) / (1 + np.exp(-np.array([0.3, -0.4]) * z))
    np.testing.assert_allclose(out.numpy()[1], ref)
    out.sum().backward()
    for x in (s, v, g, w):
        assert np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_array_equal(s.grad.numpy()[0], 0.0)


def test_rela_without_gate_is_rmsnorm_of_relu_attention():
    rng = np.random.default_rng(3)
    s, v = rng.standard_normal((4, 5)), rng.standard_normal((5, 3))
    z = np.maximum(s, 0) @ v
    ref = z / np.sqrt((z ** 2).mean(-1, keepdims=True) + 1e-8)
    np.testing.assert_allclose(F.rela_attention(t(s), t(v)).numpy(), ref, atol=1e-12)


# ------------------------------------------------------------------ masks and edges
@pytest.mark.parametrize("name,fn", NORMALIZERS)
def test_fully_masked_rows_give_zero_and_finite_gradients(name, fn):
    s = t(np.random.default_rng(4).uniform(-1, 1, (2, 3, 4)), grad=True)
    m = np.ones((3, 4), dtype=bool)
    m[1] = False
    m[2, 1] = False
    y = fn(s, m)
    assert not np.isnan(y.numpy()).any()
    np.testing.assert_array_equal(y.numpy()[:, 1], 0.0)
    np.testing.assert_array_equal(y.numpy()[:, 2, 1], 0.0)
    (y * t(np.random.default_rng(5).standard_normal(y.shape))).sum().backward()
    gs = s.grad.numpy()
    assert np.all(np.isfinite(gs))
    np.testing.assert_array_equal(gs[:, 1], 0.0)                  # masked: no gradient
    np.testing.assert_array_equal(gs[:, 2, 1], 0.0)


@pytest.mark.parametrize("name,fn", NORMALIZERS)
def test_batch_of_one_single_key_and_mask_as_tensor(name, fn):
    s = t([[[0.7]]])
    y = fn(s, None)
    assert y.shape == (1, 1, 1) and np.isfinite(y.numpy()).all()
    m = mg.tensor(np.array([[True, False]]))
    y = fn(t([[0.4, 0.9]]), m)
    assert y.numpy()[0, 1] == 0.0


@pytest.mark.parametrize("name,fn", NORMALIZERS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extreme_scores_stay_finite_and_keep_dtype(name, fn, dtype):
    s = t([[1e4, -1e4, 3.0, 0.0], [-1e4, -1e4, -1e4, 1e-3]], grad=True, dtype=dtype)
    y = fn(s, None)
    assert y.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(y.numpy()))
    y.sum().backward()
    assert s.grad.dtype == np.dtype(dtype) and np.all(np.isfinite(s.grad.numpy()))


def test_rela_zero_scores_zero_variance_is_finite():
    s = t(np.zeros((3, 4)), grad=True)
    v = t(np.ones((4, 2)), grad=True)
    out = F.rela_attention(s, v, gate=t([0.5, 0.5]))
    np.testing.assert_array_equal(out.numpy(), 0.0)
    out.sum().backward()
    assert np.all(np.isfinite(s.grad.numpy())) and np.all(np.isfinite(v.grad.numpy()))


# ------------------------------------------------------------------ errors
def test_errors_name_the_op():
    s = t(np.ones((2, 3)))
    with pytest.raises(TypeError, match="relu_attention"):
        F.relu_attention(mg.tensor(np.ones((2, 3), dtype=np.int64)))
    with pytest.raises(TypeError, match="relu_attention: allowed must be a boolean"):
        F.relu_attention(s, np.ones((2, 3)))
    with pytest.raises(ValueError, match="relu_attention: allowed of shape"):
        F.relu_attention(s, np.ones((4, 4), dtype=bool))
    with pytest.raises(ValueError, match="rela_attention: value of shape"):
        F.rela_attention(s, t(np.ones((4, 2))))
    with pytest.raises(ValueError, match="rela_attention: eps must be positive"):
        F.rela_attention(s, t(np.ones((3, 2))), eps=0.0)
    with pytest.raises(ValueError, match="rela_attention: weight of shape"):
        F.rela_attention(s, t(np.ones((3, 2))), t(np.ones(3)))
    q = t(np.ones((1, 2, 4)))
    with pytest.raises(ValueError, match="unknown attention normalizer 'relu'"):
        scaled_dot_product_attention(q, q, q, normalizer="relu")
    with pytest.raises(ValueError, match="returned weights of shape"):
        scaled_dot_product_attention(q, q, q, normalizer=lambda s, m: s[..., :1])


# ------------------------------------------------------------------ normalizer= plumbing
def _qkv(rng, *shape_q, S=5, dv=3, dtype="float64"):
    L, E = shape_q[-2:]
    batch = shape_q[:-2]
    return (t(rng.standard_normal(shape_q), True, dtype),
            t(rng.standard_normal(batch + (S, E)), True, dtype),
            t(rng.standard_normal(batch + (S, dv)), True, dtype))


def test_default_normalizer_is_the_softmax_path():
    q, k, v = _qkv(np.random.default_rng(7), 2, 3, 4)
    np.testing.assert_array_equal(scaled_dot_product_attention(q, k, v).numpy(),
                                  scaled_dot_product_attention(q, k, v,
                                                               normalizer="softmax").numpy())


@pytest.mark.parametrize("name", ["relu_attention"])
def test_named_normalizer_equals_weights_times_values(name):
    rng = np.random.default_rng(8)
    q, k, v = _qkv(rng, 2, 4, 4, S=4)
    out = scaled_dot_product_attention(q, k, v, is_causal=True, normalizer=name).numpy()
    s = q.numpy() @ np.swapaxes(k.numpy(), -1, -2) / 2.0
    w = getattr(oracle, name)(s, causal(4))
    np.testing.assert_allclose(out, w @ v.numpy(), atol=1e-12)


def test_callable_normalizer_gets_the_mask_and_masked_weights_are_forced_to_zero():
    rng = np.random.default_rng(9)
    q, k, v = _qkv(rng, 1, 3, 4, S=4)
    seen = {}

    def leaky(scores, allowed):
        seen["allowed"] = to_numpy(allowed)
        seen["masked_scores"] = scores.numpy()[~seen["allowed"]]
        return scores.exp()                       # ignores the mask on purpose

    m = np.ones((3, 4), dtype=bool)
    m[0, 2:] = False
    bias = np.zeros((3, 4))
    bias[2, 0] = -np.inf                          # an additive -inf masks too
    out = scaled_dot_product_attention(q, k, v, attn_mask=mg.tensor(m), normalizer=leaky)
    expected_allowed = m.copy()
    expected_allowed[2, 0] = False
    out2 = scaled_dot_product_attention(q, k, v, attn_mask=t(bias), normalizer=leaky)
    np.testing.assert_array_equal(seen["allowed"][0], np.isfinite(bias))
    np.testing.assert_array_equal(seen["masked_scores"], 0.0)    # no -inf reaches it
    s = q.numpy() @ np.swapaxes(k.numpy(), -1, -2) / 2.0
    w = np.where(m, np.exp(s), 0.0)
    np.testing.assert_allclose(out.numpy(), w @ v.numpy(), atol=1e-12)
    w2 = np.where(np.isfinite(bias), np.exp(s), 0.0)
    np.testing.assert_allclose(out2.numpy(), w2 @ v.numpy(), atol=1e-12)


@pytest.mark.parametrize("name", ["relu_attention"])
def test_sdpa_fully_masked_query_gives_zero_output_and_finite_grads(name):
    rng = np.random.default_rng(10)
    q, k, v = _qkv(rng, 2, 3, 4, S=4)
    m = np.ones((3, 4), dtype=bool)
    m[1] = False
    out = scaled_dot_product_attention(q, k, v, attn_mask=mg.tensor(m), normalizer=name)
    np.testing.assert_array_equal(out.numpy()[:, 1], 0.0)
    out.sum().backward()
    for x in (q, k, v):
        assert np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_array_equal(q.grad.numpy()[:, 1], 0.0)


def test_sdpa_with_normalizer_passes_gradcheck():
    rng = np.random.default_rng(11)
    q, k, v = _qkv(rng, 1, 3, 4, S=4)
    fn = functools.partial(scaled_dot_product_attention, is_causal=True,
                           normalizer="relu_attention")
    assert mg.gradcheck(fn, [q, k, v])
    fn = functools.partial(scaled_dot_product_attention,
                           normalizer=functools.partial(F.relu_attention, alpha=0.5))
    assert mg.gradcheck(fn, [q, k, v])


def test_multi_head_attention_normalizer_matches_per_head_computation():
    rng = np.random.default_rng(12)
    n, L, e, h = 2, 4, 6, 2
    x = t(rng.standard_normal((n, L, e)))
    w_in, b_in = t(rng.standard_normal((3 * e, e)) * 0.4), t(rng.standard_normal(3 * e))
    w_out = t(rng.standard_normal((e, e)))
    out = multi_head_attention(x, x, x, h, w_in, b_in, w_out, None, is_causal=True,
                               normalizer="relu_attention").numpy()
    X = x.numpy()
    Q, K, V = (X @ w_in.numpy()[i * e:(i + 1) * e].T + b_in.numpy()[i * e:(i + 1) * e]
               for i in range(3))
    d = e // h
    heads = []
    for j in range(h):
        sl = slice(j * d, (j + 1) * d)
        s = Q[..., sl] @ np.swapaxes(K[..., sl], -1, -2) / np.sqrt(d)
        heads.append(oracle.relu_attention(s, causal(L)) @ V[..., sl])
    np.testing.assert_allclose(out, np.concatenate(heads, -1) @ w_out.numpy().T, atol=1e-12)


# ------------------------------------------------------------------ modules and training
def test_modules_match_functions_and_register_parameters():
    rng = np.random.default_rng(13)
    s = t(rng.standard_normal((2, 2, 3, 3)))
    assert np.allclose(nn.ReLUAttention(0.5)(s).numpy(), F.relu_attention(s, alpha=0.5).numpy())
    r = nn.ReLA(4, generator=mg.Generator().manual_seed(0))
    assert sorted(name for name, _ in r.named_parameters()) == ["gate", "weight"]
    assert np.all(np.abs(r.gate.numpy()) <= np.sqrt(3 / 4))
    assert nn.ReLA(4, gated=False).gate is None
    assert "head_dim=4" in repr(r)


def _train(module, params, steps=60, lr=0.05):
    """Fit the attention outputs of fixed random scores/values to a target: the loss of the
    learnable normalizer parameters must go down."""
    rng = np.random.default_rng(14)
    s = t(rng.standard_normal((2, 2, 5, 5)), dtype="float32")
    v = t(rng.standard_normal((2, 2, 5, 4)), dtype="float32")
    target = t(rng.standard_normal((2, 2, 5, 4)) * 0.5, dtype="float32")
    opt = mg.optim.Adam(params, lr=lr)
    losses = []
    for _ in range(steps):
        out = module(s, v)
        loss = ((out - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    return losses


def test_rela_gain_and_gate_train():
    rela = nn.ReLA(4, generator=mg.Generator().manual_seed(1))
    losses = _train(lambda s, v: rela(s, v, causal(5)), rela.parameters())
    assert losses[-1] < 0.8 * losses[0]


def test_multihead_attention_with_module_normalizer_trains():
    rng = np.random.default_rng(15)
    mha = nn.MultiheadAttention(8, 2, batch_first=True, normalizer=nn.ReLUAttention(0.5),
                                generator=mg.Generator().manual_seed(2))
    assert isinstance(mha.normalizer, nn.ReLUAttention)
    x = t(rng.standard_normal((4, 5, 8)), dtype="float32")
    y = t(rng.standard_normal((4, 5, 8)) * 0.3, dtype="float32")
    opt = mg.optim.Adam(mha.parameters(), lr=0.02)
    first = None
    for _ in range(40):
        out, _ = mha(x, is_causal=True)
        loss = ((out - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else float(loss.item())
    assert float(loss.item()) < 0.7 * first


@pytest.mark.parametrize("name", ["relu_attention"])
def test_normalizers_on_every_backend(backend, name):
    rng = np.random.default_rng(16)
    q, k, v = (mg.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True) for _ in range(3))
    out = scaled_dot_product_attention(q, k, v, is_causal=True, normalizer=name)
    out.sum().backward()
    s = q.numpy() @ np.swapaxes(k.numpy(), -1, -2) / 2.0
    np.testing.assert_allclose(out.numpy(), getattr(oracle, name)(s, causal(3)) @ v.numpy(),
                               atol=1e-10)
    assert np.all(np.isfinite(q.grad.numpy()))
