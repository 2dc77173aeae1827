"""Batch-normalization variants beyond the registry harness (N009–N017): running
statistics against NumPy loops (train/eval, buffers, state_dict, momentum=None), edge
cases (batch of one, zero variance, extreme values) and errors naming the op."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import F, nn


def t64(a, grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def to64(module):
    for t in list(module.parameters()) + list(module.buffers()):
        if t.dtype.kind == "f":
            t.data = t.data.astype(np.float64)
    return module


def bn_loop(x, mean, var, eps=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)


# ------------------------------------------------------------------ N009 Ghost BatchNorm
@pytest.mark.parametrize("momentum", [0.1, None])
def test_ghost_batch_norm_running_statistics_move_once_per_ghost_batch(backend, momentum):
    rng = np.random.default_rng(0)
    gbn = to64(nn.GhostBatchNorm2d(3, virtual_batch_size=2, momentum=momentum))
    rm, rv, k = np.zeros(3), np.ones(3), 0
    for step in range(3):
        x = rng.standard_normal((5, 3, 2, 2)) * (step + 1) + step   # ghost batches 2, 2, 1
        want = np.empty_like(x)
        for s in range(0, 5, 2):
            g = x[s:s + 2]
            mu, var = g.mean(axis=(0, 2, 3)), g.var(axis=(0, 2, 3))
            want[s:s + 2] = bn_loop(g, mu, var)
            k += 1
            m = 1.0 / k if momentum is None else momentum
            n = g.shape[0] * 4
            rm, rv = (1 - m) * rm + m * mu, (1 - m) * rv + m * var * n / (n - 1)
        np.testing.assert_allclose(gbn(t64(x)).numpy(), want, rtol=1e-10, atol=1e-12)
    assert gbn.num_batches_tracked.item() == 9
    np.testing.assert_allclose(gbn.running_mean.numpy(), rm, rtol=1e-12)
    np.testing.assert_allclose(gbn.running_var.numpy(), rv, rtol=1e-12)
    gbn.eval()
    x = rng.standard_normal((4, 3, 2, 2))
    np.testing.assert_allclose(gbn(t64(x)).numpy(), bn_loop(x, rm, rv), rtol=1e-10)
    assert gbn.num_batches_tracked.item() == 9
    assert set(dict(gbn.state_dict())) == {"weight", "bias", "running_mean", "running_var",
                                          "num_batches_tracked"}


def test_ghost_batch_norm_with_one_ghost_batch_is_batch_norm(backend):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 4))
    a, b = nn.GhostBatchNorm1d(4, virtual_batch_size=128), nn.BatchNorm1d(4)
    np.testing.assert_allclose(a(mg.tensor(x)).numpy(), b(mg.tensor(x)).numpy(), rtol=1e-6)
    np.testing.assert_allclose(a.running_var.numpy(), b.running_var.numpy(), rtol=1e-6)


def test_ghost_batch_norm_float32_gradients_and_errors(backend):
    gbn = nn.GhostBatchNorm2d(2, virtual_batch_size=3)
    x = mg.randn(6, 2, 3, 3, requires_grad=True)
    y = gbn(x)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(y.numpy()[:3].mean(axis=(0, 2, 3)), 0, atol=1e-5)
    # a last ghost batch of one sample with one value per channel cannot be normalized
    with pytest.raises(ValueError, match="batch_norm: expected more than 1 value per channel"):
        nn.GhostBatchNorm1d(2, virtual_batch_size=2)(mg.randn(5, 2))
    with pytest.raises(ValueError, match="ghost_batch_norm: virtual_batch_size must be >= 1"):
        F.ghost_batch_norm(mg.randn(4, 2), None, None, training=True, virtual_batch_size=0)
    with pytest.raises(ValueError, match=r"GhostBatchNorm2d: expected an input of shape"):
        gbn(mg.randn(4, 2))
    assert "virtual_batch_size=3" in repr(gbn)


# ------------------------------------------------------------------ N010 α-BN
def test_alpha_batch_norm_interpolates_between_eval_and_train_batch_norm(backend):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 2, 2)) * 2 + 1
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    w, b = rng.uniform(0.5, 2, 3), rng.standard_normal(3)
    args = (t64(rm, False), t64(rv, False), t64(w), t64(b))
    ev = F.batch_norm(t64(x), *args, training=False).numpy()
    tr = F.batch_norm(t64(x), None, None, t64(w), t64(b), training=True).numpy()
    np.testing.assert_allclose(F.alpha_batch_norm(t64(x), *args, alpha=1.0).numpy(), ev, rtol=1e-12)
    np.testing.assert_allclose(F.alpha_batch_norm(t64(x), *args, alpha=0.0).numpy(), tr, rtol=1e-10)
    # α = 0.4: the statistics are mixed, not the outputs
    a = 0.4
    mu = a * rm + (1 - a) * x.mean(axis=(0, 2, 3))
    var = a * rv + (1 - a) * x.var(axis=(0, 2, 3))
    want = bn_loop(x, mu, var) * w.reshape(1, 3, 1, 1) + b.reshape(1, 3, 1, 1)
    np.testing.assert_allclose(F.alpha_batch_norm(t64(x), *args, alpha=a).numpy(), want, rtol=1e-10)
    np.testing.assert_allclose(args[0].numpy(), rm)      # source statistics are not moved


def test_alpha_batch_norm_module_trains_as_batch_norm_and_calibrates_in_eval(backend):
    rng = np.random.default_rng(3)
    bn, abn = to64(nn.BatchNorm2d(3)), to64(nn.AlphaBatchNorm2d(3, alpha=0.7))
    for _ in range(3):
        x = rng.standard_normal((4, 3, 2, 2))
        np.testing.assert_allclose(abn(t64(x)).numpy(), bn(t64(x)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(abn.running_var.numpy(), bn.running_var.numpy(), rtol=1e-12)
    abn.eval()
    converted = nn.AlphaBatchNorm2d.from_batch_norm(bn.eval(), 0.7)
    x = rng.standard_normal((1, 3, 3, 3)) * 5 + 3        # a shifted test batch of one
    y = abn(t64(x)).numpy()
    assert np.isfinite(y).all()
    np.testing.assert_allclose(converted(t64(x)).numpy(), y, rtol=1e-6)
    np.testing.assert_allclose(
        y, F.alpha_batch_norm(t64(x), abn.running_mean, abn.running_var, abn.weight, abn.bias,
                              alpha=0.7).numpy())
    assert abn.num_batches_tracked.item() == 3
    assert "alpha=0.7" in repr(abn)


def test_alpha_batch_norm_errors():
    x = mg.randn(2, 3, 2, 2)
    with pytest.raises(ValueError, match="alpha_batch_norm: give alpha"):
        F.alpha_batch_norm(x, mg.zeros(3), mg.ones(3))
    with pytest.raises(ValueError, match=r"alpha_batch_norm: alpha must be in \[0, 1\]"):
        F.alpha_batch_norm(x, mg.zeros(3), mg.ones(3), alpha=1.5)
    with pytest.raises(ValueError, match="alpha_batch_norm: needs the source"):
        F.alpha_batch_norm(x, None, None, alpha=0.5)
    with pytest.raises(ValueError, match="batch_norm: running_mean of shape"):
        F.alpha_batch_norm(x, mg.zeros(2), mg.ones(3), alpha=0.5)
    with pytest.raises(ValueError, match="AlphaBatchNorm2d: alpha"):
        nn.AlphaBatchNorm2d(3, alpha=-0.1)


# ------------------------------------------------------------------ N012 BCN / EstBN
def test_batch_channel_norm_estbn_updates_before_normalizing(backend):
    rng = np.random.default_rng(4)
    bcn = to64(nn.BatchChannelNorm2d(4, num_groups=2, estbn_moving_speed=0.3))
    bcn.bn.estbn_moving_speed.data[...] = 0.3     # the float32 buffer rounded 0.3
    rm, rv = np.zeros(4), np.ones(4)
    for step in range(3):
        x = rng.standard_normal((2, 4, 2, 2)) * (step + 1) + step
        mu = x.mean(axis=(0, 2, 3))
        var_old_mean = ((x - rm.reshape(1, 4, 1, 1)) ** 2).mean(axis=(0, 2, 3))
        rm, rv = 0.7 * rm + 0.3 * mu, 0.7 * rv + 0.3 * var_old_mean
        z = bn_loop(x, rm, rv).reshape(2, 2, -1)
        want = ((z - z.mean(axis=2, keepdims=True))
                / np.sqrt(z.var(axis=2, keepdims=True) + 1e-5)).reshape(x.shape)
        np.testing.assert_allclose(bcn(t64(x)).numpy(), want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(bcn.bn.running_mean.numpy(), rm, rtol=1e-12)
    np.testing.assert_allclose(bcn.bn.running_var.numpy(), rv, rtol=1e-12)
    bcn.eval()
    x = rng.standard_normal((1, 4, 2, 2))
    bcn(t64(x))
    np.testing.assert_allclose(bcn.bn.running_mean.numpy(), rm, rtol=1e-12)   # eval: no update
    assert set(dict(bcn.state_dict())) == {"weight", "bias", "bn.weight", "bn.bias",
                                          "bn.running_mean", "bn.running_var",
                                          "bn.estbn_moving_speed"}
    assert tuple(bcn.weight.shape) == (1, 2, 1)


def test_batch_channel_norm_gradient_treats_estimated_statistics_as_constants(backend):
    rng = np.random.default_rng(5)
    x = t64(rng.standard_normal((3, 4, 2)))
    rm, rv = t64(np.zeros(4), False), t64(np.ones(4), False)
    y = F.batch_channel_norm(x, 2, rm, rv, training=True, moving_speed=1.0)
    gy = rng.standard_normal(y.shape)
    (y * t64(gy, False)).sum().backward()
    # the same forward with the (now updated) statistics given as constants: same gradient
    x2 = t64(x.numpy())
    y2 = F.batch_channel_norm(x2, 2, rm, rv, training=False)
    (y2 * t64(gy, False)).sum().backward()
    np.testing.assert_allclose(y.numpy(), y2.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-12)


def test_batch_channel_norm_large_batch_form_and_edges(backend):
    rng = np.random.default_rng(6)
    bcn = to64(nn.BatchChannelNorm2d(4, num_groups=2, estimate=False))
    x = rng.standard_normal((3, 4, 2, 2))
    z = bn_loop(x, x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))).reshape(3, 2, -1)
    want = ((z - z.mean(axis=2, keepdims=True)) / np.sqrt(z.var(axis=2, keepdims=True) + 1e-5))
    np.testing.assert_allclose(bcn(t64(x)).numpy(), want.reshape(x.shape), rtol=1e-9, atol=1e-12)
    assert "bn.running_var" in dict(bcn.state_dict())
    # a constant input: zero variance everywhere, finite zeros (ε inside the square roots)
    est = nn.BatchChannelNorm2d(4, num_groups=2, estbn_moving_speed=0.5)
    y = est(mg.ones(1, 4, 2, 2) * 3)
    assert np.isfinite(y.numpy()).all() and np.abs(y.numpy()).max() < 1e-3
    # extreme values (squares still within float32) stay finite
    y = est(mg.tensor(np.array([1e15, -1e15] * 8, dtype=np.float32).reshape(1, 4, 2, 2)))
    assert np.isfinite(y.numpy()).all()


def test_batch_channel_norm_errors():
    with pytest.raises(ValueError, match="batch_channel_norm: 6 channels .* do not split into 4"):
        F.batch_channel_norm(mg.randn(2, 6, 2), 4, mg.zeros(6), mg.ones(6))
    with pytest.raises(ValueError, match="batch_channel_norm: weight of shape \\(3,\\) is not one value per group"):
        F.batch_channel_norm(mg.randn(2, 4, 2), 2, mg.zeros(4), mg.ones(4), weight=mg.ones(3))
    with pytest.raises(ValueError, match="batch_channel_norm: give both"):
        F.batch_channel_norm(mg.randn(2, 4, 2), 2, mg.zeros(4), None)
    with pytest.raises(ValueError, match="batch_channel_norm: evaluation without estimated"):
        F.batch_channel_norm(mg.randn(2, 4, 2), 2, None, None, training=False)
    with pytest.raises(ValueError, match="BatchChannelNorm2d: 6 channels do not split"):
        nn.BatchChannelNorm2d(6, num_groups=4)
    with pytest.raises(ValueError, match="single value"):
        F.batch_channel_norm(mg.randn(2, 4), 4, mg.zeros(4), mg.ones(4))


# ------------------------------------------------------------------ N013 IBN
def test_ibn_a_is_instance_norm_and_batch_norm_side_by_side(backend):
    rng = np.random.default_rng(7)
    block = to64(nn.IBN(6))
    assert block.half == 3 and block.IN.affine and block.IN.running_mean is None
    x = rng.standard_normal((2, 6, 3, 3)) + 2
    y = block(t64(x)).numpy()
    inst = x[:, :3]
    want_in = ((inst - inst.mean(axis=(2, 3), keepdims=True))
               / np.sqrt(inst.var(axis=(2, 3), keepdims=True) + 1e-5))
    b = x[:, 3:]
    np.testing.assert_allclose(y[:, :3], want_in, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y[:, 3:], bn_loop(b, b.mean(axis=(0, 2, 3)), b.var(axis=(0, 2, 3))),
                               rtol=1e-10, atol=1e-12)
    n = 2 * 9
    np.testing.assert_allclose(block.BN.running_var.numpy(),
                               0.9 + 0.1 * b.var(axis=(0, 2, 3)) * n / (n - 1), rtol=1e-12)
    assert {"IN.weight", "IN.bias", "BN.weight", "BN.running_mean", "BN.num_batches_tracked"} \
        <= set(dict(block.state_dict()))
    block.eval()
    rm, rv = block.BN.running_mean.numpy(), block.BN.running_var.numpy()
    x1 = rng.standard_normal((1, 6, 3, 3))         # a batch of one in eval
    np.testing.assert_allclose(block(t64(x1)).numpy()[:, 3:], bn_loop(x1[:, 3:], rm, rv), rtol=1e-10)
    np.testing.assert_allclose(
        block(t64(x1)).numpy(),
        F.ibn(t64(x1), block.BN.running_mean, block.BN.running_var, block.IN.weight,
              block.IN.bias, block.BN.weight, block.BN.bias).numpy())


def test_ibn_b_and_errors(backend):
    x = mg.randn(2, 4, 3, 3)
    b = nn.IBN(4, ratio=1.0)
    assert b.BN is None
    np.testing.assert_allclose(b(x).numpy(), nn.InstanceNorm2d(4, affine=True)(x).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="ibn: ratio 0.1 of 4 channels"):
        F.ibn(x, None, None, ratio=0.1)
    with pytest.raises(ValueError, match=r"ibn: running_mean of shape \(4,\) should have 2 entries"):
        F.ibn(x, mg.zeros(4), mg.ones(4))
    with pytest.raises(ValueError, match="ibn: instance normalization needs more than 1 spatial"):
        F.ibn(mg.randn(2, 4, 1, 1), None, None, training=True)
    with pytest.raises(ValueError, match=r"IBN\(4\): expected an input of shape"):
        b(mg.randn(2, 3, 3, 3))


# ------------------------------------------------------------------ N017 L1 normalization
@pytest.mark.parametrize("momentum", [0.1, None])
def test_l1_batch_norm_running_statistics_follow_a_numpy_loop(backend, momentum):
    rng = np.random.default_rng(8)
    k = math.sqrt(math.pi / 2)
    bn = to64(nn.L1BatchNorm2d(3, momentum=momentum))
    rm, rd = np.zeros(3), bn.running_dev.numpy().copy()
    np.testing.assert_allclose(rd, 1 / k, rtol=1e-7)
    for step in range(1, 4):
        x = rng.standard_normal((4, 3, 2, 2)) * step + step
        mu = x.mean(axis=(0, 2, 3))
        d = np.abs(x - mu.reshape(1, 3, 1, 1)).mean(axis=(0, 2, 3))
        want = (x - mu.reshape(1, 3, 1, 1)) / (k * d.reshape(1, 3, 1, 1) + 1e-5)
        np.testing.assert_allclose(bn(t64(x)).numpy(), want, rtol=1e-10, atol=1e-12)
        m = 1.0 / step if momentum is None else momentum
        rm, rd = (1 - m) * rm + m * mu, (1 - m) * rd + m * d
    np.testing.assert_allclose(bn.running_mean.numpy(), rm, rtol=1e-12)
    np.testing.assert_allclose(bn.running_dev.numpy(), rd, rtol=1e-12)
    bn.eval()
    x = rng.standard_normal((1, 3, 2, 2))
    want = (x - rm.reshape(1, 3, 1, 1)) / (k * rd.reshape(1, 3, 1, 1) + 1e-5)
    np.testing.assert_allclose(bn(t64(x)).numpy(), want, rtol=1e-10)
    assert set(dict(bn.state_dict())) == {"weight", "bias", "running_mean", "running_dev",
                                         "num_batches_tracked"}
    bn.reset_running_stats()
    np.testing.assert_allclose(bn.running_dev.numpy(), 1 / k, rtol=1e-7)


def test_l1_norm_is_close_to_l2_norm_for_gaussian_activations(backend):
    x = mg.tensor(np.random.default_rng(9).standard_normal((4000, 2)))
    y1 = nn.L1BatchNorm1d(2)(x).numpy()
    y2 = nn.BatchNorm1d(2)(x).numpy()
    assert np.abs(y1 - y2).max() < 0.05


def test_l1_layer_norm_edges_and_errors(backend):
    ln = to64(nn.L1LayerNorm(4))
    x = np.array([[1.0, 2.0, 3.0, 6.0], [5.0, 5.0, 5.0, 5.0], [1e200, -1e200, 1e200, -1e200]])
    y = ln(t64(x)).numpy()
    row = x[0] - x[0].mean()
    np.testing.assert_allclose(y[0], row / (math.sqrt(math.pi / 2) * np.abs(row).mean() + 1e-5))
    np.testing.assert_array_equal(y[1], 0.0)                 # zero deviation: 0, not NaN
    assert np.isfinite(y).all()
    # the layer form has no running statistics; mismatched shapes name the op
    with pytest.raises(ValueError, match="l1_deviation_norm: normalized_shape \\(3,\\) does not match"):
        F.l1_deviation_norm(mg.randn(2, 4), normalized_shape=3)
    with pytest.raises(ValueError, match="l1_deviation_norm: the layer form"):
        F.l1_deviation_norm(mg.randn(2, 4), mg.zeros(4), mg.ones(4), normalized_shape=4)
    with pytest.raises(ValueError, match="l1_deviation_norm: expected more than 1 value per channel"):
        F.l1_deviation_norm(mg.randn(1, 3), training=True)
    with pytest.raises(ValueError, match="l1_deviation_norm: evaluation mode"):
        F.l1_deviation_norm(mg.randn(2, 3))
    with pytest.raises(ValueError, match=r"L1BatchNorm2d\(3\).*has 2 channels"):
        nn.L1BatchNorm2d(3)(mg.randn(2, 2, 2, 2))
    f = nn.L1BatchNorm2d(2)
    x32 = mg.randn(3, 2, 2, 2, requires_grad=True)
    out = f(x32)
    out.sum().backward()
    assert out.dtype == np.float32 and x32.grad.dtype == np.float32


# ------------------------------------------------------------------ N014 / N015 Region Norm
def test_region_norm_b_equals_the_codes_fill_and_batch_norm_trick(backend):
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3, 4, 4)) * 3 + 1
    mask = np.zeros((2, 1, 4, 4), dtype=bool)
    mask[0, 0, 1:3, 1:4] = True
    mask[1, 0, 2:, :2] = True
    y = F.region_norm_b(t64(x), mg.tensor(mask)).numpy()
    # geekyutao/RN: region = x·m; μ = Σ/S; BN(region + (1 − m)·μ) · √(S/n), both regions summed
    n, want = 2 * 16, np.zeros_like(x)
    for m in (mask.astype(float), 1 - mask.astype(float)):
        S = max(m.sum(), 1.0)
        mu = (x * m).sum(axis=(0, 2, 3)) / S
        filled = x * m + (1 - m) * mu.reshape(1, 3, 1, 1)
        bn = F.batch_norm(t64(filled, False), None, None, training=True).numpy()
        want += bn * np.sqrt(S / n)
    np.testing.assert_allclose(y, want, rtol=1e-9, atol=1e-12)
    # an all-ones mask is BatchNorm; an empty region contributes zeros, never NaN
    ones = np.ones((2, 1, 4, 4), dtype=bool)
    np.testing.assert_allclose(F.region_norm_b(t64(x), mg.tensor(ones)).numpy(),
                               F.batch_norm(t64(x), None, None, training=True).numpy(), rtol=1e-10)
    xg = t64(x)
    out = F.region_norm_b(xg, mg.tensor(~ones))
    out.sum().backward()
    assert np.isfinite(out.numpy()).all() and np.isfinite(xg.grad.numpy()).all()


def test_region_norm_b_module_affine_resize_and_errors(backend):
    rng = np.random.default_rng(11)
    rn = to64(nn.RegionNormB2d(2))
    assert set(dict(rn.state_dict())) == {"foreground_gamma", "foreground_beta",
                                         "background_gamma", "background_beta"}
    rn.foreground_gamma.data[...] = [1.0, 2.0]
    rn.background_beta.data[...] = [0.5, -0.5]
    x = rng.standard_normal((1, 2, 2, 2))
    big = np.array([[[[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]]], dtype=bool)
    small = np.array([[[[1, 0], [0, 0]]]], dtype=bool)           # nearest-resized big mask
    y = rn(t64(x), mg.tensor(big)).numpy()
    base = F.region_norm_b(t64(x), mg.tensor(small)).numpy()
    gain = np.where(small, 1 + np.array([1.0, 2.0]).reshape(1, 2, 1, 1), 1.0)
    np.testing.assert_allclose(y, base * gain + np.array([0.5, -0.5]).reshape(1, 2, 1, 1), rtol=1e-12)
    with pytest.raises(ValueError, match="region_norm_b: the mask must be binary"):
        F.region_norm_b(mg.randn(1, 2, 2, 2), mg.tensor(np.full((1, 1, 2, 2), 0.5)))
    with pytest.raises(ValueError, match=r"region_norm_b: mask of shape \(1, 3, 2, 2\)"):
        F.region_norm_b(mg.randn(1, 2, 2, 2), mg.tensor(np.ones((1, 3, 2, 2), dtype=bool)))
    with pytest.raises(ValueError, match="region_norm_b: expected an input of shape"):
        F.region_norm_b(mg.randn(2, 2), mg.tensor(np.ones((2, 1, 1, 1), dtype=bool)))


def test_region_norm_l_mask_is_detached_and_the_module_names_the_codes_convs(backend):
    rng = np.random.default_rng(12)
    rl = to64(nn.RegionNormL2d(3, threshold=0.5, kernel_size=3))
    assert set(dict(rl.state_dict())) == {"sa.conv1.weight", "sa.gamma_conv.weight",
                                         "sa.gamma_conv.bias", "sa.beta_conv.weight",
                                         "sa.beta_conv.bias"}
    # with zero affine convs, the importance map only chooses the regions: no gradient to it
    for p in (rl.sa.gamma_conv.weight, rl.sa.gamma_conv.bias, rl.sa.beta_conv.weight,
              rl.sa.beta_conv.bias):
        p.data[...] = 0.0
    x = t64(rng.standard_normal((2, 3, 4, 4)))
    y = rl(x)
    (y * t64(rng.standard_normal(y.shape), False)).sum().backward()
    np.testing.assert_array_equal(rl.sa.conv1.weight.grad.numpy(), 0.0)
    assert np.abs(rl.sa.gamma_conv.weight.grad.numpy()).sum() > 0
    # with γ = β = 0 the output is the region normalization with the thresholded map
    from tests.oracles.norm_batch_variants import region_norm_l as oracle
    want = oracle(x.numpy(), rl.sa.conv1.weight.numpy(), np.zeros((1, 1, 3, 3)), np.zeros(1),
                  np.zeros((1, 1, 3, 3)), np.zeros(1), threshold=0.5)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="RegionNormL2d: kernel_size must be 3 or 7"):
        nn.RegionNormL2d(3, kernel_size=5)
    with pytest.raises(ValueError, match=r"region_norm_l: weight should have shape \(1, 2, 3, 3\)"):
        F.region_norm_l(mg.randn(1, 2, 3, 3), mg.randn(1, 3, 3, 3), mg.randn(1, 1, 3, 3),
                        mg.randn(1), mg.randn(1, 1, 3, 3), mg.randn(1))
    y32 = nn.RegionNormL2d(2)(mg.randn(2, 2, 5, 5))
    assert y32.dtype == np.float32 and np.isfinite(y32.numpy()).all()


def test_batch_channel_norm_module_gradients_have_the_parameter_shapes(backend):
    bcn = nn.BatchChannelNorm2d(4, num_groups=2, estbn_moving_speed=0.1)
    (bcn(mg.randn(2, 4, 3, 3)) * mg.randn(2, 4, 3, 3)).sum().backward()
    assert tuple(bcn.weight.grad.shape) == (1, 2, 1) and tuple(bcn.bias.grad.shape) == (1, 2, 1)
    assert tuple(bcn.bn.weight.grad.shape) == (4,)


# ------------------------------------------------------------------ N011 AdaB²N
def test_adab2n_with_balanced_tasks_is_batch_norm_up_to_the_bias_correction(backend):
    rng = np.random.default_rng(13)
    ada, bn = to64(nn.AdaB2N2d(3, num_tasks=3)), to64(nn.BatchNorm2d(3))
    ada.end_task()
    ada.end_task()                                    # current task 2
    ada.set_tasks(mg.tensor(np.array([0, 1, 2, 0, 1, 2])))
    x = rng.standard_normal((6, 3, 2, 2))
    np.testing.assert_allclose(ada(t64(x)).numpy(), bn(t64(x)).numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ada.running_mean.numpy(), bn.running_mean.numpy(), rtol=1e-12)
    var = x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(ada.running_var.numpy(), 0.9 + 0.1 * var, rtol=1e-12)  # biased
    assert {"task_weight", "cur_tasks", "running_mean", "num_batches_tracked"} \
        <= set(dict(ada.state_dict()))


@pytest.mark.parametrize("kappa", [0.0, 0.5, 1.0])
def test_adab2n_running_statistics_use_the_adapted_momentum(backend, kappa):
    rng = np.random.default_rng(14)
    ada = to64(nn.AdaB2N2d(2, num_tasks=2, momentum=0.2, kappa=kappa))
    ada.end_task()
    phi = np.array([0.3, -0.2])
    ada.task_weight.data[...] = phi
    task = np.array([0, 0, 1, 1, 1])
    ada.set_tasks(mg.tensor(task))
    rm, rv, eta = np.zeros(2), np.ones(2), None
    for k in range(1, 5):
        x = rng.standard_normal((5, 2, 2, 2)) + k
        y = ada(t64(x))
        if kappa == 0.0:
            eta = 1.0 / k
        elif kappa == 1.0:
            eta = 0.2
        else:
            eta = 0.2 ** kappa if eta is None else eta / (eta + 0.8 ** kappa)
        conc = np.exp(phi) + np.array([2, 3])
        w = (conc / conc.sum())[task] / np.array([2, 3])[task]
        mu = (w[:, None] * x.mean(axis=(2, 3))).sum(axis=0)
        var = (w[:, None] * ((x - mu.reshape(1, 2, 1, 1)) ** 2).mean(axis=(2, 3))).sum(axis=0)
        rm, rv = rm + eta * (mu - rm), (1 - eta) * rv + eta * var
        np.testing.assert_allclose(y.numpy(), bn_loop(x, mu, var), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ada.loss.item(), np.mean((mu - rm) ** 2) + np.mean((var - rv) ** 2),
                                   rtol=1e-10)
    np.testing.assert_allclose(ada.running_mean.numpy(), rm, rtol=1e-12)
    np.testing.assert_allclose(ada.running_var.numpy(), rv, rtol=1e-12)
    ada.eval()
    x = rng.standard_normal((1, 2, 2, 2))
    np.testing.assert_allclose(ada(t64(x)).numpy(), bn_loop(x, rm, rv), rtol=1e-10)


def test_adab2n_regularizer_reaches_the_task_logits(backend):
    """L_reg compares μ, σ² with the running statistics AFTER this batch's update, those
    detached (as the code): its gradient is that of a loss with fixed targets."""
    from minigrad.gradcheck import gradcheck
    from minigrad.layers.normalization.adab2n import _checked
    rng = np.random.default_rng(15)
    x = rng.standard_normal((5, 2, 2, 2))
    task = mg.tensor(np.array([0, 1, 1, 2, 2]))
    rm, rv = t64(rng.standard_normal(2), False), t64(rng.uniform(0.5, 2, 2), False)
    phi, xt = t64(rng.standard_normal(3) * 0.3), t64(x)
    y, reg = F.adab2n(xt, rm, rv, None, None, phi, task, current_task=2, training=True,
                      eta=0.3, return_reg_loss=True)
    (reg + (y * y * y).mean()).backward()
    RM, RV = rm.numpy().copy(), rv.numpy().copy()          # the updated statistics

    def fixed(x, phi):
        y, mu, var = _checked(x, None, None, phi, task, current_task=2)
        dm, dv = mu - t64(RM, False), var - t64(RV, False)
        return (dm * dm).mean() + (dv * dv).mean() + (y * y * y).mean()
    np.testing.assert_allclose(fixed(t64(x), t64(phi.numpy())).item(),
                               reg.item() + (y.numpy() ** 3).mean(), rtol=1e-12)
    gradcheck(fixed, [t64(x), t64(phi.numpy())])
    x2, phi2 = t64(x), t64(phi.numpy())
    fixed(x2, phi2).backward()
    np.testing.assert_allclose(xt.grad.numpy(), x2.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(phi.grad.numpy(), phi2.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert np.abs(phi.grad.numpy()).min() > 0


def test_adab2n_errors_and_conversion(backend):
    x = mg.randn(4, 2, 2, 2)
    phi = mg.zeros(3)
    with pytest.raises(ValueError, match=r"adab2n: task indices must be in \[0, 1\]"):
        F.adab2n(x, None, None, task_logits=phi, task=mg.tensor(np.array([0, 1, 2, 0])),
                 current_task=1, training=True)
    with pytest.raises(ValueError, match="adab2n: task_logits must hold at least"):
        F.adab2n(x, None, None, task_logits=mg.zeros(1), task=mg.tensor(np.array([0, 1, 1, 0])),
                 current_task=1, training=True)
    with pytest.raises(ValueError, match="adab2n: task must be an integer tensor"):
        F.adab2n(x, None, None, task_logits=phi, task=mg.zeros(4), current_task=1, training=True)
    with pytest.raises(ValueError, match="adab2n: the regularization loss exists in training only"):
        F.adab2n(x, mg.zeros(2), mg.ones(2), return_reg_loss=True)
    with pytest.raises(ValueError, match="AdaB2N2d: kappa must be in"):
        nn.AdaB2N2d(2, 3, kappa=2.0)
    bn = nn.BatchNorm2d(2)
    bn(mg.randn(4, 2, 2, 2))
    ada = nn.AdaB2N2d.from_batch_norm(bn, num_tasks=3, kappa=0.5)
    np.testing.assert_array_equal(ada.running_var.numpy(), bn.running_var.numpy())
    ada.set_tasks(None)                            # no task information: plain statistics
    y = ada(x)
    assert y.dtype == np.float32 and np.isfinite(ada.loss.item())


# ------------------------------------------------------------------ N016 MPBN
def test_mpbn_lif_running_statistics_move_at_every_time_step(backend):
    rng = np.random.default_rng(16)
    layer = to64(nn.MPBNLIF2d(2, momentum=0.2))
    x = rng.standard_normal((3, 4, 2, 2, 2)) + 0.5
    spikes = layer(t64(x)).numpy()
    rm, rv, u, o = np.zeros(2), np.ones(2), np.zeros(x.shape[1:]), np.zeros(x.shape[1:])
    for t in range(3):
        u = 0.25 * u * (1 - o) + x[t]
        mu, var = u.mean(axis=(0, 2, 3)), u.var(axis=(0, 2, 3))
        o = (bn_loop(u, mu, var) > 0.5).astype(float)
        np.testing.assert_array_equal(spikes[t], o)
        rm, rv = 0.8 * rm + 0.2 * mu, 0.8 * rv + 0.2 * var * 16 / 15
    np.testing.assert_allclose(layer.running_mean.numpy(), rm, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var.numpy(), rv, rtol=1e-12)
    assert layer.num_batches_tracked.item() == 3
    assert 0 < spikes.mean() < 1


def test_mpbn_folded_threshold_equals_the_unfolded_eval_forward(backend):
    from minigrad.layers.normalization import fold_mpbn_threshold
    rng = np.random.default_rng(17)
    layer = to64(nn.MPBNLIF2d(3))
    layer(t64(rng.standard_normal((2, 4, 3, 2, 2)), False))
    layer.weight.data[...] = [0.5, 1.0, 2.0]
    layer.bias.data[...] = [0.1, -0.3, 0.2]
    layer.eval()
    x = rng.standard_normal((4, 2, 3, 2, 2))
    spikes = layer(t64(x)).numpy()
    from minigrad.backends import to_numpy
    vth = to_numpy(fold_mpbn_threshold(layer)).reshape(1, 3, 1, 1)
    u, o = np.zeros(x.shape[1:]), np.zeros(x.shape[1:])
    for t in range(4):                                   # plain LIF with the folded threshold
        u = 0.25 * u * (1 - o) + x[t]
        o = (u > vth).astype(float)
        np.testing.assert_array_equal(spikes[t], o)
    layer.weight.data[0] = -1.0
    with pytest.raises(ValueError, match="fold_mpbn_threshold: needs a positive"):
        fold_mpbn_threshold(layer)


def test_spike_surrogate_and_bptt(backend):
    from minigrad.layers.normalization.spiking import SpikeFn
    v = t64(np.array([-0.2, 0.1, 0.5, 0.7, 1.3]))
    o = SpikeFn.apply(v, 3.0)
    np.testing.assert_array_equal(o.numpy(), [0, 0, 0, 1, 1])
    o.sum().backward()
    k = 3.0
    want = np.where((v.numpy() > 0) & (v.numpy() < 1),
                    k * (1 - np.tanh(k * (v.numpy() - 0.5)) ** 2) / (2 * np.tanh(k / 2)), 0.0)
    np.testing.assert_allclose(v.grad.numpy(), want, rtol=1e-12)
    # the gradient of the last spikes reaches the first input currents through u_t
    x = mg.tensor(np.full((3, 2, 4), 0.4), requires_grad=True)
    out = nn.LIF()(x)
    out[2].sum().backward()
    assert np.abs(x.grad.numpy()[0]).sum() > 0
    np.testing.assert_array_equal(out.numpy()[0], 0.0)      # 0.4 is below the 0.5 threshold


def test_mpbn_errors_and_float32(backend):
    with pytest.raises(ValueError, match=r"MPBNLIF2d\(2\): expected input currents of shape"):
        nn.MPBNLIF2d(2)(mg.randn(4, 2, 3, 3))
    with pytest.raises(ValueError, match="mp_batch_norm: v_threshold must be positive"):
        F.mp_batch_norm(mg.randn(2, 3, 2), None, None, training=True, v_threshold=0.0)
    with pytest.raises(ValueError, match="mp_batch_norm: expected input currents"):
        F.mp_batch_norm(mg.randn(3, 2), None, None, training=True)
    layer = nn.MPBNLIF2d(2)
    x = mg.randn(2, 3, 2, 2, 2, requires_grad=True)
    y = layer(x)
    (y * mg.randn(*y.shape)).sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert np.isfinite(x.grad.numpy()).all()
