"""PyTorch habits in ``minigrad.nn`` (issue 11): nn.utils, nn.init, F.interpolate /
nn.Upsample, F.binary_cross_entropy / nn.BCELoss, the containers, nn.MultiheadAttention and
nn.TransformerEncoderLayer / nn.TransformerEncoder. Expected values are PyTorch's documented
results written out by hand, or an independent NumPy computation of the same equations."""
import math
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import functional as F
from minigrad import nn
from minigrad.gradcheck import gradcheck


def t64(a, requires_grad=False):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


# ================================================================== nn.utils
def test_utils_namespace_reexports_clip_functions():
    from minigrad.optim import clip
    assert nn.utils.clip_grad_norm_ is clip.clip_grad_norm_
    assert nn.utils.clip_grad_value_ is clip.clip_grad_value_
    a, b = t64([3.0, 4.0], True), t64([[12.0]], True)
    (a.sum() * 0).backward()
    a.grad, b.grad = t64([3.0, 4.0]), t64([[12.0]])
    norm = nn.utils.clip_grad_norm_([a, b], max_norm=6.5)
    assert float(norm.numpy()) == pytest.approx(13.0)
    np.testing.assert_allclose(a.grad.numpy(), np.array([3.0, 4.0]) * 6.5 / (13 + 1e-6))
    nn.utils.clip_grad_value_([a, b], 1.0)
    np.testing.assert_allclose(b.grad.numpy(), [[1.0]])


def test_parameters_to_vector_and_back():
    m = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1)).double()
    params = list(m.parameters())
    vec = nn.utils.parameters_to_vector(m.parameters())
    want = np.concatenate([p.numpy().ravel() for p in params])
    assert vec.shape == (3 * 2 + 2 + 2 + 1,)
    np.testing.assert_array_equal(vec.numpy(), want)
    # differentiable: d(Σ c_i v_i)/dp = c reshaped into every parameter
    c = np.arange(vec.shape[0], dtype=np.float64)
    (vec * t64(c)).sum().backward()
    np.testing.assert_array_equal(params[0].grad.numpy(), c[:6].reshape(2, 3))
    np.testing.assert_array_equal(params[3].grad.numpy(), c[10:])
    versions = [p._version for p in params]
    nn.utils.vector_to_parameters(t64(c + 1), m.parameters())
    np.testing.assert_array_equal(params[0].numpy(), (c[:6] + 1).reshape(2, 3))
    np.testing.assert_array_equal(params[2].numpy().ravel(), c[8:10] + 1)
    assert all(p._version > v for p, v in zip(params, versions))
    with pytest.raises(ValueError, match="vec has 5 elements but the parameters hold 11"):
        nn.utils.vector_to_parameters(t64(np.zeros(5)), m.parameters())
    with pytest.raises(TypeError, match="Tensor"):
        nn.utils.vector_to_parameters(np.zeros(11), m.parameters())


# ================================================================== nn.init
def test_calculate_gain_values():
    g = nn.init.calculate_gain
    assert g("linear") == g("conv2d") == g("sigmoid") == g("conv_transpose3d") == 1
    assert g("tanh") == pytest.approx(5 / 3)
    assert g("relu") == pytest.approx(math.sqrt(2))
    assert g("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert g("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert g("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        g("swish")


def test_kaiming_and_xavier_statistics():
    rng = np.random.default_rng(0)
    w = mg.zeros((400, 300, 2))                       # fan_in = 600, fan_out = 800
    nn.init.kaiming_normal_(w, generator=rng)
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 600), rel=0.01)
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", generator=rng)
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 800), rel=0.01)
    nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=rng)      # Linear's default: U(±1/√fan_in)
    bound = 1 / math.sqrt(600)
    assert np.abs(w.numpy()).max() <= bound + 1e-7
    assert np.abs(w.numpy()).max() > 0.99 * bound
    assert w.numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    nn.init.xavier_uniform_(w, gain=2.0, generator=rng)
    bound = 2.0 * math.sqrt(6 / 1400)
    assert bound * 0.99 < np.abs(w.numpy()).max() <= bound + 1e-7
    nn.init.xavier_normal_(w, generator=rng)
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 1400), rel=0.01)
    nn.init.uniform_(w, -3, -1, generator=rng)
    assert w.numpy().min() >= -3 and w.numpy().max() <= -1
    assert w.numpy().mean() == pytest.approx(-2, abs=0.01)
    nn.init.normal_(w, 5.0, 0.5, generator=rng)
    assert w.numpy().mean() == pytest.approx(5.0, abs=0.005)
    assert w.numpy().std() == pytest.approx(0.5, rel=0.01)


def test_trunc_normal_bounds_and_std():
    w = mg.zeros((300, 400), dtype="float64")
    nn.init.trunc_normal_(w, generator=np.random.default_rng(1))
    a = w.numpy()
    assert a.min() >= -2 and a.max() <= 2 and a.min() < -1.99 and a.max() > 1.99
    # the std of N(0, 1) truncated to [-2, 2]: 1 − 2·2·φ(2)/(Φ(2) − Φ(−2))
    phi2 = math.exp(-2) / math.sqrt(2 * math.pi)
    mass = math.erf(2 / math.sqrt(2))
    assert a.std() == pytest.approx(math.sqrt(1 - 4 * phi2 / mass), rel=0.01)
    nn.init.trunc_normal_(w, mean=1.0, std=0.5, a=0.5, b=2.0, generator=np.random.default_rng(2))
    assert w.numpy().min() >= 0.5 and w.numpy().max() <= 2.0


def test_orthogonal_eye_dirac_sparse_constant():
    w = mg.zeros((6, 10))
    nn.init.orthogonal_(w, gain=2.0, generator=np.random.default_rng(3))
    np.testing.assert_allclose(w.numpy() @ w.numpy().T, 4 * np.eye(6), atol=1e-5)
    tall = mg.zeros((10, 2, 3), dtype="float64")
    nn.init.orthogonal_(tall, generator=np.random.default_rng(4))
    flat = tall.numpy().reshape(10, 6)
    np.testing.assert_allclose(flat.T @ flat, np.eye(6), atol=1e-12)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        nn.init.orthogonal_(mg.zeros(4))

    e = mg.zeros((2, 3))
    nn.init.eye_(e)
    np.testing.assert_array_equal(e.numpy(), [[1, 0, 0], [0, 1, 0]])

    d = mg.zeros((4, 2, 3, 3), dtype="float64")
    nn.init.dirac_(d, groups=2)
    x = t64(np.random.default_rng(5).standard_normal((1, 4, 5, 5)))
    y = F.conv2d(x, d, padding=1, groups=2)           # copies the input channels
    np.testing.assert_allclose(y.numpy(), x.numpy())
    d1 = mg.zeros((3, 2, 3))
    nn.init.dirac_(d1)
    assert d1.numpy()[0, 0, 1] == d1.numpy()[1, 1, 1] == 1 and d1.numpy().sum() == 2

    s = mg.zeros((10, 40))
    nn.init.sparse_(s, sparsity=0.25, std=0.1, generator=np.random.default_rng(6))
    zeros_per_column = (s.numpy() == 0).sum(axis=0)
    assert (zeros_per_column == 3).all()               # ⌈0.25 · 10⌉
    assert s.numpy()[s.numpy() != 0].std() == pytest.approx(0.1, rel=0.2)

    c = mg.zeros(3)
    v = c._version
    nn.init.constant_(c, val=0.5)
    assert c.numpy().tolist() == [0.5, 0.5, 0.5] and c._version == v + 1
    nn.init.ones_(c)
    assert c.numpy().tolist() == [1, 1, 1]


def test_init_is_in_place_seeded_and_bumps_the_version():
    p = nn.Parameter(mg.zeros((3, 4)))
    y = (p * p).sum()                                  # saves p for backward
    out = nn.init.kaiming_uniform_(p, generator=np.random.default_rng(7))
    assert out is p and p.requires_grad
    with pytest.raises(RuntimeError):
        y.backward()
    q = mg.zeros((3, 4))
    nn.init.kaiming_uniform_(q, generator=np.random.default_rng(7))
    np.testing.assert_array_equal(p.numpy(), q.numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.init.xavier_uniform_(mg.zeros((3, 4)))
    with pytest.warns(UserWarning, match="zero-element"):
        nn.init.kaiming_normal_(mg.zeros((0, 3)))


# ================================================================== interpolate / Upsample
X22 = [[[[1.0, 2.0], [3.0, 4.0]]]]


def test_interpolate_matches_pytorch_documented_values():
    x = t64(X22)
    # torch.nn.Upsample docs: the same input, scale_factor=2
    np.testing.assert_array_equal(F.interpolate(x, scale_factor=2).numpy()[0, 0],
                                  [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    np.testing.assert_allclose(
        nn.Upsample(scale_factor=2, mode="bilinear")(x).numpy()[0, 0],
        [[1.0, 1.25, 1.75, 2.0], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5],
         [3.0, 3.25, 3.75, 4.0]], rtol=1e-12)
    np.testing.assert_allclose(
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)(x).numpy()[0, 0],
        [[1.0, 4 / 3, 5 / 3, 2.0], [5 / 3, 2.0, 7 / 3, 8 / 3], [7 / 3, 8 / 3, 3.0, 10 / 3],
         [3.0, 10 / 3, 11 / 3, 4.0]], rtol=1e-12)
    np.testing.assert_allclose(nn.UpsamplingBilinear2d(scale_factor=2)(x).numpy()[0, 0, 1],
                               [5 / 3, 2.0, 7 / 3, 8 / 3], rtol=1e-12)
    line = t64([[[1.0, 2.0, 3.0, 4.0]]])
    # nearest: src = min(⌊o · in/out⌋, in − 1)
    assert F.interpolate(line, size=6).numpy().ravel().tolist() == [1, 1, 2, 3, 3, 4]
    assert F.interpolate(line, size=3).numpy().ravel().tolist() == [1, 2, 3]
    # nearest-exact: src = min(⌊(o + ½) · in/out⌋, in − 1)
    assert F.interpolate(line, size=6, mode="nearest-exact").numpy().ravel().tolist() == \
        [1, 2, 2, 3, 4, 4]
    # linear, align_corners=False: src = max(½(o + ½) − ½, 0)
    np.testing.assert_allclose(F.interpolate(line, scale_factor=2, mode="linear").numpy().ravel(),
                               [1.0, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75, 4.0], rtol=1e-12)
    # align_corners=True: src = o · (in − 1)/(out − 1)
    np.testing.assert_allclose(
        F.interpolate(line, size=7, mode="linear", align_corners=True).numpy().ravel(),
        [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0], rtol=1e-12)
    # downsampling linear 4 → 2: src = 2(o + ½) − ½ = 0.5, 2.5
    np.testing.assert_allclose(F.interpolate(line, size=2, mode="linear").numpy().ravel(), [1.5, 3.5])


def test_interpolate_backward_is_the_scatter_add_of_the_weights():
    line = t64([[[1.0, 2.0, 3.0, 4.0]]], requires_grad=True)
    y = F.interpolate(line, scale_factor=2, mode="linear")
    (y * t64(np.arange(1.0, 9.0))).sum().backward()
    # gx[i] = Σ_o w_o,i · gy[o] with the taps (i0, i1, λ) of each output position
    np.testing.assert_allclose(line.grad.numpy().ravel(), [3.25, 7.0, 11.0, 14.75], rtol=1e-12)
    x = t64(X22, requires_grad=True)
    F.interpolate(x, scale_factor=2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((1, 1, 2, 2), 4.0))
    r = np.random.default_rng(8)
    for kw in (dict(size=(5, 3), mode="bilinear"), dict(scale_factor=(1.5, 0.5), mode="nearest"),
               dict(size=(4, 7), mode="bilinear", align_corners=True)):
        gradcheck(lambda a, kw=kw: F.interpolate(a, **kw), [t64(r.standard_normal((2, 2, 3, 4)), True)])


def test_interpolate_errors():
    x = t64(X22)
    with pytest.raises(ValueError, match="exactly one of size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="exactly one of size or scale_factor"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(ValueError, match="'bilinear' needs a 4-D"):
        F.interpolate(t64([[[1.0, 2.0]]]), scale_factor=2, mode="bilinear")
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.interpolate(x, scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match="3-D"):
        F.interpolate(t64([1.0, 2.0]), scale_factor=2)


# ================================================================== binary cross-entropy
def test_binary_cross_entropy_values_clamp_and_gradient():
    p = np.array([[0.1, 0.8, 0.5], [0.99, 0.3, 0.6]])
    tg = np.array([[0.0, 1.0, 0.3], [1.0, 0.0, 1.0]])
    w = np.array([1.0, 2.0, 0.5])
    per = -(tg * np.log(p) + (1 - tg) * np.log(1 - p))
    pt = t64(p, True)
    loss = F.binary_cross_entropy(pt, t64(tg), weight=t64(w))
    assert float(loss.numpy()) == pytest.approx((per * w).mean(), rel=1e-12)
    loss.backward()
    np.testing.assert_allclose(pt.grad.numpy(), w * (p - tg) / (p * (1 - p)) / 6, rtol=1e-12)
    assert float(F.binary_cross_entropy(t64(p), t64(tg), reduction="sum").numpy()) == \
        pytest.approx(per.sum(), rel=1e-12)
    # PyTorch clamps each log at −100: p = 0 with t = 1 costs exactly 100, not inf
    edge = F.binary_cross_entropy(t64([0.0, 1.0, 1.0]), t64([1.0, 1.0, 0.0]), reduction="none")
    np.testing.assert_array_equal(edge.numpy(), [100.0, 0.0, 100.0])
    bce = nn.BCELoss(reduction="none")
    np.testing.assert_allclose(bce(t64(p), t64(tg)).numpy(), per, rtol=1e-12)
    assert nn.BCELoss(reduce=False).reduction == "none"
    assert nn.BCELoss(size_average=False).reduction == "sum"
    logits = np.log(p / (1 - p))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(t64(logits), t64(tg)).numpy(),
                               per.mean(), rtol=1e-10)
    assert isinstance(nn.BCEWithLogitsLoss(), nn.Module)


def test_binary_cross_entropy_errors():
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(t64([0.5, 1.5]), t64([0.0, 1.0]))
    with pytest.raises(ValueError, match="same shape"):
        F.binary_cross_entropy(t64([[0.5], [0.2]]), t64([0.0, 1.0]))
    with pytest.raises(ValueError, match="reduction"):
        F.binary_cross_entropy(t64([0.5]), t64([0.0]), reduction="avg")
    with pytest.raises(ValueError, match="does not broadcast"):
        F.binary_cross_entropy(t64([0.5, 0.5]), t64([0.0, 1.0]), weight=t64([1.0, 2.0, 3.0]))


# ================================================================== containers
def test_module_list_dict_and_parameter_containers():
    layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 3)])
    layers.append(nn.Identity())
    layers.extend([nn.Linear(3, 1)])
    layers.insert(1, nn.Linear(2, 2))
    assert len(layers) == 5 and isinstance(layers[-1], nn.Linear) and layers[-1].out_features == 1
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    assert [type(m).__name__ for m in layers] == ["Linear", "Linear", "Linear", "Identity", "Linear"]
    del layers[3]
    assert list(layers._modules) == ["0", "1", "2", "3"]
    layers += [nn.Identity()]
    assert len(layers) == 5
    with pytest.raises(IndexError, match="out of range"):
        layers[7]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(2, 2)])
            self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 4)})
            self.scales = nn.ParameterList([nn.Parameter(mg.ones(2)), mg.zeros(3)])
            self.extra = nn.ParameterDict({"alpha": nn.Parameter(mg.ones(1))})

    net = Net()
    net.extra["beta"] = mg.zeros((2, 2))
    names = [n for n, _ in net.named_parameters()]
    assert names == ["blocks.0.weight", "blocks.0.bias", "heads.a.weight", "heads.a.bias",
                     "heads.b.weight", "heads.b.bias", "scales.0", "scales.1", "extra.alpha",
                     "extra.beta"]
    assert list(net.state_dict()) == names
    assert isinstance(net.scales[1], nn.Parameter) and net.scales[1].requires_grad
    assert len(net.scales) == 2 and len(net.extra) == 2 and "beta" in net.extra
    assert list(net.heads.keys()) == ["a", "b"] and net.heads.pop("a").out_features == 1
    assert [n for n, _ in net.named_parameters()][2:4] == ["heads.b.weight", "heads.b.bias"]
    del net.extra["alpha"]
    assert list(net.extra.keys()) == ["beta"]
    sd = {k: v.numpy() * 0 + 3 for k, v in net.state_dict().items()}
    net.load_state_dict(sd)
    assert float(net.extra["beta"].numpy()[0, 0]) == 3.0
    with pytest.raises(TypeError, match="Parameter or a Tensor"):
        net.scales.append([1.0, 2.0])
    assert nn.Identity(54, unused=1)(t64([1.0])).numpy().tolist() == [1.0]


def test_sequential_indexing_and_slicing():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(seq[-1], nn.Linear) and seq[-1].out_features == 1
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    seq[1] = nn.Identity()
    assert isinstance(seq[1], nn.Identity) and list(seq._modules) == ["0", "1", "2"]
    seq.insert(1, nn.ReLU())
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Identity", "Linear"]
    del seq[1]
    assert len(seq) == 3


# ================================================================== attention
def _np_mha(q_in, k_in, v_in, m, attn_mask=None, key_padding_mask=None, causal=False):
    """Batch-first NumPy multi-head attention with the module's weights; returns the
    output and the per-head weights (N, heads, L, S)."""
    E, H = m.embed_dim, m.num_heads
    d = E // H
    p = {k: v.numpy() for k, v in m.named_parameters()}
    if "in_proj_weight" in p:
        wq, wk, wv = np.split(p["in_proj_weight"], 3)
    else:
        wq, wk, wv = p["q_proj_weight"], p["k_proj_weight"], p["v_proj_weight"]
    bq, bk, bv = np.split(p.get("in_proj_bias", np.zeros(3 * E)), 3)
    q, k, v = q_in @ wq.T + bq, k_in @ wk.T + bk, v_in @ wv.T + bv
    N, L, S = q.shape[0], q.shape[1], k.shape[1]
    extra_mask = np.zeros((N, L, 0), dtype=bool)
    if "bias_k" in p:
        k = np.concatenate([k, np.broadcast_to(p["bias_k"], (N, 1, E))], 1)
        v = np.concatenate([v, np.broadcast_to(p["bias_v"], (N, 1, E))], 1)
        extra_mask = np.zeros((N, L, 1), dtype=bool)
    out = np.zeros((N, L, E))
    weights = np.zeros((N, H, L, k.shape[1]))
    for n in range(N):
        for h in range(H):
            sl = slice(h * d, (h + 1) * d)
            scores = q[n, :, sl] @ k[n, :, sl].T / math.sqrt(d)
            blocked = np.zeros((L, S), dtype=bool)
            if attn_mask is not None:
                blocked |= attn_mask
            if key_padding_mask is not None:
                blocked |= key_padding_mask[n][None, :]
            if causal:
                blocked |= np.triu(np.ones((L, S), dtype=bool), 1)
            blocked = np.concatenate([blocked, extra_mask[n]], 1)
            scores = np.where(blocked, -np.inf, scores)
            e = np.exp(scores - scores.max(1, keepdims=True))
            a = e / e.sum(1, keepdims=True)
            weights[n, h] = a
            out[n, :, sl] = a @ v[n, :, sl]
    return out @ p["out_proj.weight"].T + p.get("out_proj.bias", 0.0), weights


def _randomize(module, seed):
    rng = np.random.default_rng(seed)
    for prm in module.parameters():
        prm.data[...] = rng.standard_normal(prm.shape) * 0.5


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_matches_numpy_with_masks(batch_first):
    mg.manual_seed(0)
    m = nn.MultiheadAttention(8, 2, batch_first=batch_first, dtype="float64")
    _randomize(m, 1)
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((3, n, 8)) for n in (4, 5, 5))   # batch-first here
    attn_mask = rng.standard_normal((4, 5)) > 0.8
    attn_mask[:, 0] = False
    pad = np.zeros((3, 5), dtype=bool)
    pad[1, 3:] = True
    arrange = (lambda a: a) if batch_first else (lambda a: a.transpose(1, 0, 2))
    out, w = m(t64(arrange(q)), t64(arrange(k)), t64(arrange(v)), key_padding_mask=mg.tensor(pad),
               attn_mask=mg.tensor(attn_mask), average_attn_weights=False)
    want, want_w = _np_mha(q, k, v, m, attn_mask, pad)
    np.testing.assert_allclose(out.numpy(), arrange(want), rtol=1e-10, atol=1e-12)
    assert w.shape == (3, 2, 4, 5)
    np.testing.assert_allclose(w.numpy(), want_w, rtol=1e-10, atol=1e-12)
    _, w_avg = m(t64(arrange(q)), t64(arrange(k)), t64(arrange(v)), key_padding_mask=mg.tensor(pad),
                 attn_mask=mg.tensor(attn_mask))
    np.testing.assert_allclose(w_avg.numpy(), want_w.mean(1), rtol=1e-10, atol=1e-12)
    out_nw, none = m(t64(arrange(q)), t64(arrange(k)), t64(arrange(v)), need_weights=False,
                     is_causal=True)
    assert none is None
    want_c, _ = _np_mha(q, k, v, m, causal=True)
    np.testing.assert_allclose(out_nw.numpy(), arrange(want_c), rtol=1e-10, atol=1e-12)


def test_multihead_attention_kdim_vdim_bias_kv_and_unbatched():
    mg.manual_seed(3)
    m = nn.MultiheadAttention(4, 2, kdim=3, vdim=5, add_bias_kv=True, batch_first=True,
                              dtype="float64")
    names = [n for n, _ in m.named_parameters()]
    assert names == ["q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias",
                     "bias_k", "bias_v", "out_proj.weight", "out_proj.bias"]
    assert m.in_proj_weight is None and m.k_proj_weight.shape == (4, 3)
    _randomize(m, 4)
    rng = np.random.default_rng(5)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 6, 5))
    out, w = m(t64(q), t64(k), t64(v), average_attn_weights=False)
    want, want_w = _np_mha(q, k, v, m)
    assert w.shape == (2, 2, 3, 7)                      # one appended bias key
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), want_w, rtol=1e-10, atol=1e-12)
    # unbatched (L, E)
    out1, w1 = m(t64(q[0]), t64(k[0]), t64(v[0]))
    np.testing.assert_allclose(out1.numpy(), want[0], rtol=1e-10, atol=1e-12)
    assert w1.shape == (3, 7)
    # add_zero_attn: one zero key and value per head, always allowed
    z = nn.MultiheadAttention(4, 1, add_zero_attn=True, batch_first=True, dtype="float64")
    _randomize(z, 6)
    _, wz = z(t64(q))
    p = {n: t.numpy() for n, t in z.named_parameters()}
    wq, wk, _ = np.split(p["in_proj_weight"], 3)
    bq, bk, _ = np.split(p["in_proj_bias"], 3)
    scores = (q[0] @ wq.T + bq) @ np.concatenate([(q[0] @ wk.T + bk), np.zeros((1, 4))]).T / 2
    e = np.exp(scores - scores.max(1, keepdims=True))
    np.testing.assert_allclose(wz.numpy()[0], e / e.sum(1, keepdims=True), rtol=1e-10)


def test_multihead_attention_gradcheck():
    mg.manual_seed(7)
    m = nn.MultiheadAttention(4, 2, batch_first=True, dtype="float64")
    x = t64(np.random.default_rng(8).standard_normal((2, 3, 4)), True)
    gradcheck(lambda a, w: m(a, need_weights=False)[0] * 1.0 + 0 * w.sum(), [x, m.in_proj_weight])


# ================================================================== transformer encoder
def _np_layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def _np_encoder_layer(x, layer, attn_mask=None, pad=None, norm_first=False, act=None):
    """Batch-first NumPy transcription of PyTorch's TransformerEncoderLayer.forward (eval)."""
    p = {k: v.numpy() for k, v in layer.named_parameters()}
    act = act or (lambda a: np.maximum(a, 0))

    def sa(h):
        return _np_mha(h, h, h, layer.self_attn, attn_mask, pad)[0]

    def ff(h):
        return act(h @ p["linear1.weight"].T + p["linear1.bias"]) @ p["linear2.weight"].T + p["linear2.bias"]

    def n1(h):
        return _np_layer_norm(h, p["norm1.weight"], p["norm1.bias"], 1e-5)

    def n2(h):
        return _np_layer_norm(h, p["norm2.weight"], p["norm2.bias"], 1e-5)

    if norm_first:
        x = x + sa(n1(x))
        return x + ff(n2(x))
    x = n1(x + sa(x))
    return n2(x + ff(x))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_encoder_layer_matches_numpy(norm_first, batch_first):
    mg.manual_seed(9)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=batch_first,
                                       norm_first=norm_first, dtype="float64")
    assert [n for n, _ in layer.named_parameters()] == [
        "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
        "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight",
        "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"]
    assert layer.dropout.p == layer.dropout1.p == layer.dropout2.p == 0.1
    _randomize(layer, 10)
    layer.eval()
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 5, 8))
    mask = np.triu(np.ones((5, 5), dtype=bool), 1)
    pad = np.zeros((2, 5), dtype=bool)
    pad[0, 4] = True
    arrange = (lambda a: a) if batch_first else (lambda a: a.transpose(1, 0, 2))
    got = layer(t64(arrange(x)), src_mask=mg.tensor(mask), src_key_padding_mask=mg.tensor(pad))
    want = _np_encoder_layer(x, layer, mask, pad, norm_first)
    np.testing.assert_allclose(got.numpy(), arrange(want), rtol=1e-9, atol=1e-11)
    causal = layer(t64(arrange(x)), is_causal=True)
    np.testing.assert_allclose(causal.numpy(), arrange(_np_encoder_layer(x, layer, mask, None, norm_first)),
                               rtol=1e-9, atol=1e-11)


def test_transformer_encoder_stack_gelu_and_gradients():
    mg.manual_seed(12)
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0, activation="gelu",
                                       batch_first=True, dtype="float64")
    _randomize(layer, 13)
    enc = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(4).double())
    sd = enc.state_dict()
    assert "layers.1.self_attn.in_proj_weight" in sd and "norm.weight" in sd
    np.testing.assert_array_equal(sd["layers.0.linear1.weight"].numpy(), sd["layers.1.linear1.weight"].numpy())
    assert sd["layers.0.linear1.weight"] is not sd["layers.1.linear1.weight"]
    _randomize(enc.layers[1], 14)
    from scipy.special import erf
    gelu = lambda a: 0.5 * a * (1 + erf(a / math.sqrt(2)))  # noqa: E731
    x = np.random.default_rng(15).standard_normal((2, 3, 4))
    h = _np_encoder_layer(x, enc.layers[0], act=gelu)
    h = _np_encoder_layer(h, enc.layers[1], act=gelu)
    want = _np_layer_norm(h, 1.0, 0.0, 1e-5)
    np.testing.assert_allclose(enc(t64(x)).numpy(), want, rtol=1e-9, atol=1e-11)
    xt = t64(x, requires_grad=True)
    gradcheck(lambda a: enc(a), [xt])
    custom = nn.TransformerEncoderLayer(4, 1, 8, activation=mg.tanh, batch_first=True)
    assert custom.activation is mg.tanh
    with pytest.raises(ValueError, match="'relu' or 'gelu'"):
        nn.TransformerEncoderLayer(4, 1, activation="swish")
