"""Behaviour of the layer modules beyond what the registry harness checks (gradients and
forwards of every registered op are in tests/test_registry.py): initialization, train/eval,
masks, pitfalls named in the catalog rows."""
import math

import numpy
import pytest

import minigrad as mg
from minigrad import F, nn
from minigrad.gradcheck import gradcheck
from minigrad import HostGenerator


def _f64(*shape, seed=0, requires_grad=True):
    return mg.tensor(numpy.random.default_rng(seed).standard_normal(shape), dtype="float64",
                     requires_grad=requires_grad)


# ---------------------------------------------------------------- B001 Linear
def test_linear_init_matches_pytorch_bounds():
    mg.manual_seed(0)
    layer = nn.Linear(400, 300)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    bound = 1 / math.sqrt(400)                        # kaiming_uniform(a=√5) = U(±1/√fan_in)
    assert w.shape == (300, 400) and w.dtype == numpy.float32
    assert abs(w).max() <= bound and abs(w).max() > 0.99 * bound
    assert abs(w.var() - bound ** 2 / 3) < 0.02 * bound ** 2
    assert abs(b).max() <= bound
    assert nn.Linear(3, 2, bias=False).bias is None


def test_linear_batched_over_leading_axes(backend):
    layer = nn.Linear(4, 3)
    x = mg.randn(2, 5, 4)
    y = layer(x)
    assert y.shape == (2, 5, 3)
    ref = x.numpy() @ layer.weight.numpy().T + layer.bias.numpy()
    numpy.testing.assert_allclose(y.numpy(), ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 5, 3\)"):
        layer(mg.randn(2, 5, 3))


def test_bilinear_gradcheck():
    x1, x2, w, b = _f64(3, 2, seed=1), _f64(3, 4, seed=2), _f64(5, 2, 4, seed=3), _f64(5, seed=4)
    y = F.bilinear(x1, x2, w, b)
    ref = numpy.einsum("ni,oij,nj->no", x1.numpy(), w.numpy(), x2.numpy()) + b.numpy()
    numpy.testing.assert_allclose(y.numpy(), ref)
    gradcheck(F.bilinear, [x1, x2, w, b])
    assert nn.Bilinear(2, 4, 5)(mg.randn(3, 2), mg.randn(3, 4)).shape == (3, 5)


# ---------------------------------------------------------------- B006 / B007
def test_dropout_train_eval_and_scaling(backend):
    drop = nn.Dropout(0.25)
    x = mg.ones(20000)
    y = drop(x).numpy()
    numpy.testing.assert_allclose(numpy.unique(y), [0.0, 1 / 0.75], rtol=1e-6)
    assert abs((y == 0).mean() - 0.25) < 0.02
    drop.eval()
    assert drop(x) is x
    assert (nn.Dropout(1.0)(x).numpy() == 0).all()
    with pytest.raises(ValueError):
        nn.Dropout(1.5)


def test_drop_path_is_per_sample(backend):
    mg.manual_seed(3)
    x = mg.ones(400, 3, 2)
    y = F.drop_path(x, 0.3, training=True).numpy()
    per_sample = y.reshape(400, -1)
    assert (per_sample == per_sample[:, :1]).all()   # one decision per sample
    numpy.testing.assert_allclose(numpy.unique(per_sample), [0.0, 1 / 0.7], rtol=1e-6)
    assert abs((per_sample[:, 0] == 0).mean() - 0.3) < 0.08
    assert F.drop_path(x, 0.3, training=False) is x
    m = nn.DropPath(0.3)
    m.eval()
    assert m(x) is x
    numpy.testing.assert_array_equal(F.drop_path(x, 1.0, training=True).numpy(), 0)


def test_drop_path_in_a_residual_gradient():
    x = _f64(4, 3, seed=2)
    w = _f64(3, 3, seed=3)
    gen_seed = 1

    def block(x_, w_):                               # y = x + DropPath(F(x))
        return x_ + F.drop_path(F.tanh(F.linear(x_, w_)), 0.5, True, generator=HostGenerator(gen_seed))
    gradcheck(block, [x, w])
    keep = numpy.random.default_rng(gen_seed).random(4) >= 0.5
    w.zero_grad()
    block(x, w).sum().backward()
    assert (w.grad is not None) and keep.any()


# ---------------------------------------------------------------- B008 Embedding
def test_embedding_padding_row_zero_and_no_gradient(backend):
    mg.manual_seed(0)
    emb = nn.Embedding(6, 3, padding_idx=2)
    numpy.testing.assert_array_equal(emb.weight.numpy()[2], 0)
    idx = mg.tensor(numpy.array([[2, 1, 1], [0, 2, 5]]))
    out = emb(idx)
    assert out.shape == (2, 3, 3)
    out.sum().backward()
    g = emb.weight.grad.numpy()
    numpy.testing.assert_array_equal(g[2], 0)        # padding row: no gradient
    numpy.testing.assert_array_equal(g[1], 2)        # repeated index: gradients add
    numpy.testing.assert_array_equal(g[3], 0)
    with pytest.raises(IndexError):
        emb(mg.tensor(numpy.array([6])))
    with pytest.raises(TypeError):
        F.embedding(mg.tensor([0.5]), emb.weight)


# ---------------------------------------------------------------- B009 PixelShuffle
def test_pixel_shuffle_inverse_and_shape(backend):
    x = mg.randn(2, 12, 3, 4)
    y = nn.PixelShuffle(2)(x)
    assert y.shape == (2, 3, 6, 8)
    assert y.numpy()[1, 2, 3, 5] == x.numpy()[1, 2 * 4 + 1 * 2 + 1, 1, 2]
    numpy.testing.assert_array_equal(nn.PixelUnshuffle(2)(y).numpy(), x.numpy())
    with pytest.raises(ValueError, match="not divisible"):
        F.pixel_shuffle(mg.randn(1, 6, 2, 2), 2)


# ---------------------------------------------------------------- B010 attention
def test_fully_masked_rows_give_zeros_not_nan(backend):
    q, k, v = _f64(1, 3, 4, seed=1), _f64(1, 5, 4, seed=2), _f64(1, 5, 2, seed=3)
    mask = numpy.ones((3, 5), dtype=bool)
    mask[1] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mg.tensor(mask))
    assert numpy.isfinite(out.numpy()).all()
    numpy.testing.assert_array_equal(out.numpy()[0, 1], 0)
    out.sum().backward()
    for t in (q, k, v):
        assert numpy.isfinite(t.grad.numpy()).all()
    numpy.testing.assert_array_equal(q.grad.numpy()[0, 1], 0)
    add = numpy.zeros((3, 5))
    add[0] = -numpy.inf
    out2 = F.scaled_dot_product_attention(q, k, v, attn_mask=add)
    assert numpy.isfinite(out2.numpy()).all()


def test_causal_and_block_causal_masks():
    c = F.causal_mask(3, 4).numpy()
    numpy.testing.assert_array_equal(c, numpy.tril(numpy.ones((3, 4), dtype=bool)))
    b = F.block_causal_mask(5, 2).numpy()
    expected = numpy.array([[1, 1, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 0],
                            [1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=bool)
    numpy.testing.assert_array_equal(b, expected)
    numpy.testing.assert_array_equal(F.block_causal_mask(5, [2, 2, 1]).numpy(), expected)
    numpy.testing.assert_array_equal(F.padding_mask([1, 3], 3).numpy(),
                                     [[False, True, True], [False, False, False]])


def test_causal_attention_ignores_the_future():
    q, k, v = _f64(1, 4, 3, seed=1), _f64(1, 4, 3, seed=2), _f64(1, 4, 3, seed=3)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy()
    k2, v2 = k.numpy().copy(), v.numpy().copy()
    k2[0, 3] += 5.0
    v2[0, 3] -= 5.0
    out2 = F.scaled_dot_product_attention(q, mg.tensor(k2), mg.tensor(v2), is_causal=True).numpy()
    numpy.testing.assert_allclose(out[0, :3], out2[0, :3], rtol=1e-12)


def test_multihead_attention_module(backend):
    mg.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2)
    assert [n for n, _ in mha.named_parameters()] == ["in_proj_weight", "in_proj_bias",
                                                       "out_proj.weight", "out_proj.bias"]
    x = mg.randn(5, 3, 8)                              # (L, N, E): batch_first=False
    out, w = mha(x, x, x)
    assert out.shape == (5, 3, 8) and w.shape == (3, 5, 5)
    numpy.testing.assert_allclose(w.numpy().sum(-1), 1, rtol=1e-5)
    pad = numpy.zeros((3, 5), dtype=bool)
    pad[:, 3:] = True
    _, w2 = mha(x, key_padding_mask=mg.tensor(pad))
    assert float(abs(w2.numpy()[..., 3:]).max()) == 0
    bf = nn.MultiheadAttention(8, 2, batch_first=True)
    bf.load_state_dict(mha.state_dict())
    out_bf, _ = bf(mg.transpose(x, 0, 1))
    numpy.testing.assert_allclose(out_bf.numpy(), mg.transpose(out, 0, 1).numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(6, 4)


def test_relative_position_bias_gradient():
    rpb = nn.RelativePositionBias(2, (2, 3))
    assert rpb.table.shape == (2, 6) and rpb().shape == (2, 6, 6)
    assert "index" not in rpb.state_dict()
    rpb.table.data = mg.tensor(numpy.random.default_rng(0).standard_normal((2, 6))).data
    idx = rpb.index.numpy()
    assert idx[0, 5] == 1 * 3 + 2 and idx[4, 0] == 1 * 3 + 1 and (numpy.diag(idx) == 0).all()
    x = _f64(1, 6, 4, seed=1)
    w_in, w_out = _f64(12, 4, seed=2), _f64(4, 4, seed=3)
    gradcheck(lambda table: F.multi_head_attention(x, x, x, 2, w_in, None, w_out,
                                                   attn_bias=table[:, rpb.index.numpy()][None]),
              [mg.tensor(rpb.table.numpy(), requires_grad=True)])
    out = F.multi_head_attention(x, x, x, 2, w_in, None, w_out, attn_bias=rpb()[None])
    out.sum().backward()
    assert rpb.table.grad.shape == (2, 6)


# ---------------------------------------------------------------- B015 LoRA
def test_lora_starts_as_the_base_layer_and_merges(backend):
    mg.manual_seed(0)
    base = nn.Linear(5, 4)
    lora = nn.LoRALinear.from_linear(base, r=2, alpha=4)
    assert lora.scaling == 2.0
    x = mg.randn(3, 5)
    numpy.testing.assert_allclose(lora(x).numpy(), base(x).numpy(), rtol=1e-6)
    assert [n for n, p in lora.named_parameters() if p.requires_grad] == ["lora_A", "lora_B"]
    lora(x).sum().backward()
    assert base.weight.grad is None
    numpy.testing.assert_array_equal(lora.lora_A.grad.numpy(), 0)   # B = 0 ⇒ dA = 0 at init
    assert float(abs(lora.lora_B.grad.numpy()).sum()) > 0
    lora.lora_B.data[...] = numpy.random.default_rng(1).standard_normal((4, 2))
    before = lora(x).numpy()
    w0 = lora.weight.numpy().copy()
    lora.merge()
    numpy.testing.assert_allclose(lora(x).numpy(), before, rtol=1e-5, atol=1e-6)
    lora.unmerge()
    numpy.testing.assert_allclose(lora.weight.numpy(), w0, rtol=1e-6, atol=1e-7)
    fresh = nn.LoRALinear(5, 4, r=3)
    assert fresh.alpha == 3 and fresh.scaling == 1.0 and fresh.lora_A.shape == (3, 5)


# ---------------------------------------------------------------- B020-B022 quantization
def test_ste_sign_value_at_zero_and_rules():
    x = mg.tensor(numpy.array([-2.0, -0.5, 0.0, 0.5, 2.0]), requires_grad=True)
    y = F.ste_sign(x, clip=1.0)
    numpy.testing.assert_array_equal(y.numpy(), [-1, -1, 1, 1, 1])    # sign(0) = +1
    y.sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), [0, 1, 1, 1, 0])
    x.zero_grad()
    F.ste_sign(x).sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), 1)


def test_ste_round_levels_and_unbiased_stochastic_rounding():
    x = mg.tensor(numpy.array([0.1, 0.4, -0.7, 1.3]))
    numpy.testing.assert_allclose(F.ste_round(x, bits=2).numpy(), [0, 1 / 3, -2 / 3, 4 / 3])
    numpy.testing.assert_allclose(F.ste_round(x, bits=2, clamp=True).numpy(), [0, 1 / 3, -2 / 3, 1])
    numpy.testing.assert_array_equal(F.ste_round(mg.tensor([0.5, 1.5, 2.5])).numpy(), [0, 2, 2])
    v = mg.full((20000,), 0.3, dtype="float64")
    r = F.ste_round(v, stochastic=True, generator=HostGenerator(0)).numpy()
    assert set(numpy.unique(r)) == {0.0, 1.0} and abs(r.mean() - 0.3) < 0.02


def test_quantization_params_and_fake_quantize():
    scale, zp = F.quantization_params(-1.0, 3.0, bits=8, signed=False)
    assert abs(float(scale) - 4 / 255) < 1e-12 and int(zp) == round(1 / (4 / 255))
    q = F.fake_quantize(mg.tensor(numpy.array([0.0, -1.0, 3.0, 10.0])), float(scale), int(zp), 0, 255)
    numpy.testing.assert_allclose(q.numpy()[:3], [0.0, -1.0, 3.0], atol=float(scale) / 2)
    assert q.numpy()[0] == 0.0                      # zero is exactly representable
    numpy.testing.assert_allclose(q.numpy()[3], q.numpy()[2])     # saturated
    s, z = F.quantization_params(0.5, 2.0, bits=4, signed=True, symmetric=True)
    assert int(z) == 0 and abs(float(s) - 2.0 / 7.5) < 1e-12
    x = mg.tensor(numpy.array([-3.0, -0.1, 0.2, 5.0]), requires_grad=True)
    F.fake_quantize(x, 0.1, 0, -8, 7).sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), [0, 1, 1, 0])  # STE clipped to the range


def test_fake_quantize_module_per_channel():
    fq = nn.FakeQuantize(bits=4, axis=0)
    x = mg.tensor(numpy.array([[0.0, 1.0, -1.0], [0.0, 10.0, -10.0]]))
    y = fq(x).numpy()
    assert fq.scale.shape == (2,)
    assert (abs(y - x.numpy()) <= fq.scale.numpy()[:, None] / 2 + 1e-6).all()
    assert fq.scale.numpy()[0] < fq.scale.numpy()[1]


def test_quantize_grad():
    x = mg.tensor(numpy.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = F.quantize_grad(x, bits=2)                  # grid {-2, -1, 0, 1}·s with s = max|g|
    numpy.testing.assert_array_equal(y.numpy(), x.numpy())
    y.backward(mg.tensor([0.2, -0.55, 1.0]))
    numpy.testing.assert_allclose(x.grad.numpy(), [0.0, -1.0, 1.0])


# ---------------------------------------------------------------- B023 / B024
def test_gumbel_softmax_hard_is_one_hot_with_soft_gradient(backend):
    logits = _f64(4, 5, seed=1)
    y = F.gumbel_softmax(logits, tau=0.5, hard=True, generator=HostGenerator(2))
    numpy.testing.assert_array_equal(y.numpy().sum(-1), 1)
    assert set(numpy.unique(y.numpy())) == {0.0, 1.0}
    soft = F.gumbel_softmax(logits, tau=0.5, generator=HostGenerator(2))
    numpy.testing.assert_array_equal(y.numpy().argmax(-1), soft.numpy().argmax(-1))
    gy = numpy.random.default_rng(3).standard_normal((4, 5))
    y.backward(mg.tensor(gy, dtype="float64"))
    g_hard = logits.grad.numpy().copy()
    logits.zero_grad()
    soft.backward(mg.tensor(gy, dtype="float64"))
    numpy.testing.assert_allclose(g_hard, logits.grad.numpy(), rtol=1e-12)


def test_gumbel_samples_follow_the_softmax():
    probs = numpy.array([0.1, 0.6, 0.3])
    logits = mg.tensor(numpy.log(numpy.tile(probs, (20000, 1))))
    y = F.gumbel_softmax(logits, hard=True, generator=HostGenerator(0)).numpy()
    numpy.testing.assert_allclose(y.mean(0), probs, atol=0.015)
    u = F.gumbel_softmax(mg.tensor(numpy.full((2, 3), -1e4)), generator=HostGenerator(1)).numpy()
    assert numpy.isfinite(u).all()


def test_straight_through_categorical():
    probs = numpy.array([0.2, 0.5, 0.3])
    logits = mg.tensor(numpy.log(numpy.tile(probs, (20000, 1))), requires_grad=True)
    y = F.straight_through_categorical(logits, generator=HostGenerator(0))
    numpy.testing.assert_allclose(y.numpy().mean(0), probs, atol=0.015)
    numpy.testing.assert_array_equal(y.numpy().sum(-1), 1)
    m = nn.GumbelSoftmax(tau=1.0, hard=True)
    m.eval()
    numpy.testing.assert_array_equal(m(mg.tensor([[0.0, 2.0, 1.0]])).numpy(), [[0, 1, 0]])


# ---------------------------------------------------------------- B025 pruning
def test_magnitude_prune_global_vs_layer():
    a = mg.tensor(numpy.array([[0.1, -5.0], [0.2, 4.0]]))
    b = mg.tensor(numpy.array([1.0, -2.0, 3.0, 0.05]))
    glob = F.magnitude_prune_mask([a, b], 0.5)
    numpy.testing.assert_array_equal(glob[0].numpy(), [[0, 1], [0, 1]])
    numpy.testing.assert_array_equal(glob[1].numpy(), [0, 1, 1, 0])
    per = F.magnitude_prune_mask({"a": a, "b": b}, 0.25, scope="layer")
    numpy.testing.assert_array_equal(per["a"].numpy(), [[0, 1], [1, 1]])
    numpy.testing.assert_array_equal(per["b"].numpy(), [1, 1, 1, 0])
    assert float(F.magnitude_prune_mask(a, 3).numpy().sum()) == 1
    with pytest.raises(ValueError):
        F.magnitude_prune_mask(a, 1.5)


def test_iterative_pruning_keeps_masks_after_steps():
    mg.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 4))
    pruner = nn.MagnitudePruner(net)
    pruner.prune(0.5)
    assert abs(pruner.sparsity() - 0.5) < 1e-9
    first = {k: m.numpy().copy() for k, m in pruner.masks.items()}
    with mg.no_grad():                                 # an "optimizer step" that revives weights
        for p in net.parameters():
            p.data += 0.01
    pruner.apply()
    for k, m in pruner.masks.items():
        layer = net[int(k.split(".")[0])]
        assert (layer.weight.numpy()[m.numpy() == 0] == 0).all()
    pruner.prune(0.75)                                 # tighter: the earlier pruned stay pruned
    for k, m in pruner.masks.items():
        assert (m.numpy() <= first[k]).all()
    assert abs(pruner.sparsity() - 0.75) < 1e-9


# ---------------------------------------------------------------- B016-B019 inits
@pytest.mark.parametrize("scheme,kw,var", [
    ("kaiming_normal", {"nonlinearity": "relu"}, lambda fi, fo: 2 / fi),
    ("kaiming_uniform", {"a": 0.5, "mode": "fan_out"}, lambda fi, fo: 2 / (1.25 * fo)),
    ("xavier_normal", {"gain": 2.0}, lambda fi, fo: 4 * 2 / (fi + fo)),
    ("xavier_uniform", {}, lambda fi, fo: 2 / (fi + fo)),
])
def test_init_schemes_variance(scheme, kw, var):
    w = mg.zeros(64, 32, 3, 3)
    F.kaiming_xavier_init(w, scheme, generator=HostGenerator(0), **kw)
    fan_in, fan_out = 32 * 9, 64 * 9
    assert abs(float(w.numpy().mean())) < 0.01 * math.sqrt(var(fan_in, fan_out)) * 10
    assert abs(w.numpy().var() / var(fan_in, fan_out) - 1) < 0.03


def test_init_weights_applies_to_every_layer():
    net = nn.Sequential(nn.Linear(100, 200), nn.Linear(200, 50))
    F.init_weights_(net, "kaiming_normal", mode="fan_out", nonlinearity="relu")
    for layer in net:
        assert abs(layer.weight.numpy().var() * layer.out_features / 2 - 1) < 0.1
        numpy.testing.assert_array_equal(layer.bias.numpy(), 0)


def test_fixup_init_scaling_rule():
    mg.manual_seed(0)
    blocks = [nn.FixupLinearBlock(64, 128) for _ in range(16)]
    net = nn.Sequential(*blocks, nn.Linear(64, 10))
    F.fixup_init(net)
    for b in blocks:
        numpy.testing.assert_array_equal(b.fc2.weight.numpy(), 0)
        expected = 2 / 128 * 16 ** -1.0             # (√(2/fan_out) · L^(-1/(2m-2)))², m = 2
        assert abs(b.fc1.weight.numpy().var() / expected - 1) < 0.05
        assert b.scale.item() == 1.0 and b.bias2b.item() == 0.0
    numpy.testing.assert_array_equal(net[-1].weight.numpy(), 0)
    numpy.testing.assert_array_equal(net[-1].bias.numpy(), 0)
    x = mg.randn(8, 64)
    y = net[:-1](x).numpy()
    numpy.testing.assert_allclose(y, numpy.maximum(x.numpy(), 0), rtol=1e-6)   # identity-like
    net(x).sum().backward()                          # every scalar gets a gradient path
    assert blocks[0].bias2b.grad is not None


def test_lsuv_trajectory_reaches_unit_variance():
    mg.manual_seed(0)
    net = nn.Sequential(nn.Linear(20, 50), nn.Linear(50, 30), nn.Linear(30, 10))
    x = mg.randn(256, 20) * 3.0
    history = F.lsuv_init(net, x, tol_var=0.05, generator=HostGenerator(1))
    assert len(history) == 3
    for layer, traj in zip(net, history):
        assert abs(traj[-1] - 1) < 0.05 or len(traj) == 10
        w = layer.weight.numpy()
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        off = gram - numpy.diag(numpy.diag(gram))
        assert abs(off).max() < 1e-4 * abs(numpy.diag(gram)).max()   # still orthogonal
    outs = []
    h = x
    for layer in net:
        h = layer(h)
        outs.append(float(h.numpy().var()))
    assert all(abs(v - 1) < 0.05 for v in outs)


# ---------------------------------------------------------------- B011-B014, B017, B018 blocks
def _double(module):
    with mg.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            if t.dtype.kind == "f":
                t.data = t.data.astype("float64")
    return module


def test_basic_block_module_matches_functional(backend):
    mg.manual_seed(0)
    block = _double(nn.BasicBlock(3, 5, stride=2))
    names = list(block.state_dict())
    assert "downsample.0.weight" in names and "downsample.1.running_mean" in names
    x = _f64(2, 3, 6, 6, seed=1)
    y = block(x)
    assert y.shape == (2, 5, 3, 3)
    ref = F.residual_block(x, block.conv1.weight, block.bn1.weight, block.bn1.bias,
                           block.conv2.weight, block.bn2.weight, block.bn2.bias,
                           block.downsample[0].weight, block.downsample[1].weight,
                           block.downsample[1].bias, stride=2)
    numpy.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-10, atol=1e-12)
    y.sum().backward()
    assert block.conv1.weight.grad is not None and x.grad is not None
    block.eval()                                     # running statistics in eval mode
    assert block(x).shape == (2, 5, 3, 3)
    a = nn.BasicBlock(3, 6, stride=2, shortcut="A")
    assert a.downsample is None and a(mg.randn(2, 3, 4, 4)).shape == (2, 6, 2, 2)


def test_bottleneck_and_srresnet_shapes():
    assert nn.Bottleneck(8, 4, stride=2)(mg.randn(2, 8, 6, 6)).shape == (2, 16, 3, 3)
    assert nn.Bottleneck(16, 4)(mg.randn(2, 16, 3, 3)).shape == (2, 16, 3, 3)
    sr = nn.SRResNetBlock(6)
    x = mg.randn(2, 6, 5, 5)
    assert sr(x).shape == (2, 6, 5, 5)


def test_preact_and_wide_blocks(backend):
    mg.manual_seed(0)
    block = _double(nn.PreActBlock(2, 4, stride=2))
    x = _f64(2, 2, 4, 4, seed=3)
    ref = F.preact_residual_block(x, block.bn1.weight, block.bn1.bias, block.conv1.weight,
                                  block.bn2.weight, block.bn2.bias, block.conv2.weight,
                                  block.shortcut.weight, stride=2)
    numpy.testing.assert_allclose(block(x).numpy(), ref.numpy(), rtol=1e-10, atol=1e-12)
    wide = nn.WideBasic(4, 4, dropout=0.3)
    assert isinstance(wide.dropout, nn.Dropout) and wide.dropout.p == 0.3
    h = mg.randn(2, 4, 3, 3)
    wide.eval()
    numpy.testing.assert_array_equal(wide(h).numpy(), wide(h).numpy())
    with pytest.raises(ValueError, match="shortcut_weight"):
        F.preact_residual_block(x, block.bn1.weight, block.bn1.bias, block.conv1.weight,
                                block.bn2.weight, block.bn2.bias, block.conv2.weight, stride=2)


def test_preact_identity_path_passes_the_gradient_unchanged():
    """With the branch switched off (conv2 = 0), dy reaches x exactly (no activation after +)."""
    block = _double(nn.PreActBlock(3, 3))
    F.zero_init_residual(block)
    x = _f64(2, 3, 4, 4, seed=2)
    gy = numpy.random.default_rng(0).standard_normal((2, 3, 4, 4))
    block(x).backward(mg.tensor(gy, dtype="float64"))
    numpy.testing.assert_allclose(x.grad.numpy(), gy, rtol=1e-12)


def test_zero_init_residual_makes_blocks_identity_and_freezes_branch_grads_at_step_0():
    mg.manual_seed(0)
    net = nn.Sequential(nn.BasicBlock(3, 3), nn.Bottleneck(3, 2), nn.BasicBlock(8, 8))
    net = _double(net)
    assert F.zero_init_residual(net) == 3
    assert (net[0].bn2.weight.numpy() == 0).all() and (net[1].bn3.weight.numpy() == 0).all()
    x = _f64(2, 3, 4, 4, seed=5)
    y = net[0](x)
    numpy.testing.assert_allclose(y.numpy(), numpy.maximum(x.numpy(), 0))
    net[0](x).sum().backward()
    block = net[0]
    # everything upstream of the zero γ gets zero gradient at step 0 (expected)
    for p in (block.conv1.weight, block.bn1.weight, block.bn1.bias, block.conv2.weight):
        assert float(abs(p.grad.numpy()).max()) == 0.0
    assert float(abs(block.bn2.weight.grad.numpy()).max()) > 0   # γ itself does move


def test_fixup_basic_block_starts_as_identity():
    mg.manual_seed(0)
    net = nn.Sequential(*[nn.FixupBasicBlock(4, 4) for _ in range(3)], nn.FixupBasicBlock(4, 8, 2))
    F.fixup_init(net)
    for b in net:
        assert (b.conv2.weight.numpy() == 0).all()
    expected_var = 2 / (4 * 9) / 4                     # 2/fan_out · L^(-1), L = 4, m = 2
    assert abs(net[0].conv1.weight.numpy().var() / expected_var - 1) < 0.5
    x = mg.randn(2, 4, 4, 4)
    out = net(x).numpy()
    ref = numpy.maximum(x.numpy(), 0)[:, :, ::2, ::2]
    numpy.testing.assert_allclose(out[:, 2:6], ref, rtol=1e-6)
    assert (out[:, :2] == 0).all() and (out[:, 6:] == 0).all()


def test_squeeze_excite_module(backend):
    mg.manual_seed(0)
    se = _double(nn.SqueezeExcite(8, rd_ratio=0.25))
    assert se.conv_reduce.weight.shape == (2, 8, 1, 1) and se.conv_expand.bias.shape == (8,)
    x = _f64(2, 8, 3, 3, seed=1)
    y = se(x)
    ref = F.squeeze_excite(x, se.conv_reduce.weight, se.conv_reduce.bias, se.conv_expand.weight,
                           se.conv_expand.bias)
    numpy.testing.assert_allclose(y.numpy(), ref.numpy())
    gate = y.numpy() / x.numpy()
    assert (gate > 0).all() and (gate < 1).all()
    numpy.testing.assert_allclose(gate, gate[:, :, :1, :1] * numpy.ones((1, 1, 3, 3)), rtol=1e-9)
    nf = nn.SqueezeExcite(8, gate_scale=2.0)
    assert (nf(x.detach().float()).numpy() / x.numpy() < 2).all()
