"""Normalizations beyond the registry harness: BatchNorm's running statistics and modes
against a hand-written NumPy loop, zero-variance inputs, batch sizes of one, instance
norm, inference folding, and the weight / spectral norm reparameterizations."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import F, nn
from minigrad.gradcheck import gradcheck
from minigrad.layers import normalization as N


def t64(a, grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ------------------------------------------------------------------ BatchNorm
def numpy_batch_norm_run(batches, momentum, eps=1e-5):
    """Train-mode outputs and running statistics after each batch, by explicit loops."""
    C = batches[0].shape[1]
    rm, rv = np.zeros(C), np.ones(C)
    outputs = []
    for k, x in enumerate(batches, start=1):
        x3 = x.reshape(x.shape[0], C, -1)
        y = np.empty_like(x3)
        for c in range(C):
            values = x3[:, c, :].ravel()
            n = values.size
            mu = sum(values) / n
            var = sum((v - mu) ** 2 for v in values) / n
            y[:, c, :] = (x3[:, c, :] - mu) / math.sqrt(var + eps)
            m = 1.0 / k if momentum is None else momentum
            rm[c] = (1 - m) * rm[c] + m * mu
            rv[c] = (1 - m) * rv[c] + m * var * n / (n - 1)
        outputs.append(y.reshape(x.shape))
    return outputs, rm, rv


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("cls,shape", [(nn.BatchNorm2d, (4, 3, 2, 3)), (nn.BatchNorm1d, (5, 3)),
                                       (nn.BatchNorm1d, (4, 3, 6))])
def test_batch_norm_running_statistics_follow_a_numpy_loop(backend, cls, shape, momentum):
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal(shape) * (k + 1) + k for k in range(4)]
    bn = cls(3, momentum=momentum)
    for m in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
        m.data = m.data.astype(np.float64)
    expected, rm, rv = numpy_batch_norm_run(batches, momentum)
    for x, want in zip(batches, expected):
        np.testing.assert_allclose(bn(t64(x)).numpy(), want, rtol=1e-10, atol=1e-12)
    assert bn.num_batches_tracked.item() == 4
    np.testing.assert_allclose(bn.running_mean.numpy(), rm, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), rv, rtol=1e-12)
    # evaluation mode: a fixed affine map with the running statistics, no update
    bn.eval()
    x = rng.standard_normal(shape)
    shape_c = (1, 3) + (1,) * (len(shape) - 2)
    want = (x - rm.reshape(shape_c)) / np.sqrt(rv.reshape(shape_c) + 1e-5)
    np.testing.assert_allclose(bn(t64(x)).numpy(), want, rtol=1e-10)
    np.testing.assert_allclose(bn.running_mean.numpy(), rm, rtol=1e-12)
    assert bn.num_batches_tracked.item() == 4


def test_batch_norm_float32_module_keeps_float32(backend):
    bn = nn.BatchNorm2d(3)
    x = mg.randn(4, 3, 5, 5, requires_grad=True)
    y = bn(x)
    assert y.dtype == np.float32 and bn.running_mean.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32 and bn.weight.grad.dtype == np.float32
    np.testing.assert_allclose(y.numpy().mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.numpy().std(axis=(0, 2, 3)), 1, atol=1e-3)


def test_batch_norm_eval_mode_gradient_and_train_mode_gradient(backend):
    rng = np.random.default_rng(1)
    x = t64(rng.standard_normal((4, 3, 2)))
    w, b = t64(rng.uniform(0.5, 2, 3)), t64(rng.standard_normal(3))
    rm, rv = t64(rng.standard_normal(3), False), t64(rng.uniform(0.5, 2, 3), False)
    gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False), [x, w, b])
    gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=True), [x, w, b])
    # the train-mode forward moved the running statistics, outside the tape
    assert not np.allclose(rm.numpy(), rng.standard_normal(3))


def test_batch_norm_options(backend):
    x = mg.randn(6, 4)
    bn = nn.BatchNorm1d(4, affine=False, track_running_stats=False)
    assert list(bn.parameters()) == [] and bn.running_mean is None
    bn.eval()   # no running statistics: evaluation still normalizes with the batch
    np.testing.assert_allclose(bn(x).numpy().mean(axis=0), 0, atol=1e-6)
    assert set(dict(nn.BatchNorm2d(2).state_dict())) == {
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"}
    assert "BatchNorm2d(2, eps=1e-05" in repr(nn.BatchNorm2d(2))


def test_batch_norm_frozen_parameters_still_pass_gradient_to_the_input(backend):
    bn = nn.BatchNorm1d(3).requires_grad_(False)
    x = mg.randn(5, 3, requires_grad=True)
    (bn(x) * mg.randn(5, 3)).sum().backward()
    assert bn.weight.grad is None and bn.bias.grad is None
    assert x.grad is not None and np.abs(x.grad.numpy()).sum() > 0


def test_batch_norm_one_value_per_channel_is_a_clear_error(backend):
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"batch_norm: expected more than 1 value per channel "
                                         r"when training, got an input of shape \(1, 3\)"):
        bn(mg.randn(1, 3))
    with pytest.raises(ValueError, match=r"\(1, 3, 1\)"):
        F.batch_norm(mg.randn(1, 3, 1), None, None, training=True)
    bn(mg.randn(4, 3))
    bn.eval()
    assert bn(mg.randn(1, 3)).shape == (1, 3)          # evaluation mode is fine
    nn.BatchNorm1d(3)(mg.randn(1, 3, 2))              # two values per channel are fine


def test_batch_norm_shape_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected an input of shape \(N, C, H, W\)"):
        nn.BatchNorm2d(3)(mg.randn(2, 3, 4))
    with pytest.raises(ValueError, match="BatchNorm1d\\(3\\).*has 4 channels"):
        nn.BatchNorm1d(3)(mg.randn(2, 4))
    with pytest.raises(ValueError, match="batch_norm: weight of shape \\(2,\\)"):
        F.batch_norm(mg.randn(2, 3), None, None, mg.ones(2), training=True)
    with pytest.raises(ValueError, match="needs running_mean"):
        F.batch_norm(mg.randn(2, 3), None, None)


# ------------------------------------------------------------------ inference folding
class TinyLinear(nn.Module):
    def __init__(self, i, o, rng):
        super().__init__()
        self.weight = nn.Parameter(rng.standard_normal((o, i)))
        self.bias = nn.Parameter(rng.standard_normal(o))

    def forward(self, x):
        return x @ self.weight.T + self.bias


class TinyConv1x1(nn.Module):
    def __init__(self, i, o, rng, bias=True):
        super().__init__()
        self.weight = nn.Parameter(rng.standard_normal((o, i, 1, 1)))
        self.bias = nn.Parameter(rng.standard_normal(o)) if bias else None

    def forward(self, x):
        y = F.einsum("oi,nihw->nohw", self.weight.reshape(self.weight.shape[:2]), x)
        return y if self.bias is None else y + self.bias.reshape(1, -1, 1, 1)


def _trained_bn(bn, make_input, steps=3):
    for _ in range(steps):
        bn(make_input())
    bn.weight.data[...] = np.random.default_rng(9).uniform(0.5, 2, bn.num_features)
    bn.bias.data[...] = np.random.default_rng(10).standard_normal(bn.num_features)
    return bn.eval()


@pytest.mark.parametrize("bias", [True, False])
def test_fuse_conv_bn_eval_matches_the_unfused_pair(bias):
    rng = np.random.default_rng(2)
    conv = TinyConv1x1(3, 4, rng, bias).eval()
    bn = _trained_bn(nn.BatchNorm2d(4), lambda: conv(mg.tensor(rng.standard_normal((2, 3, 3, 3)))))
    fused = N.fuse_conv_bn_eval(conv, bn)
    x = mg.tensor(rng.standard_normal((2, 3, 3, 3)))
    np.testing.assert_allclose(fused(x).numpy(), bn(conv(x)).numpy(), rtol=1e-5, atol=1e-5)
    assert conv.weight is not fused.weight                   # the original is untouched
    with pytest.raises(ValueError, match="eval mode"):
        N.fuse_conv_bn_eval(conv.train(), bn)


def test_fuse_linear_bn_eval_matches_the_unfused_pair():
    rng = np.random.default_rng(3)
    lin = TinyLinear(5, 4, rng).eval()
    bn = _trained_bn(nn.BatchNorm1d(4), lambda: lin(mg.tensor(rng.standard_normal((8, 5)))))
    fused = N.fuse_linear_bn_eval(lin, bn)
    x = mg.tensor(rng.standard_normal((6, 5)))
    np.testing.assert_allclose(fused(x).numpy(), bn(lin(x)).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["Linear", "Conv2d"])
def test_fuse_with_the_library_layers(name):
    layer_cls = getattr(nn, name, None)
    if layer_cls is None:
        pytest.skip(f"minigrad.layers.{name} does not exist yet")
    rng = np.random.default_rng(4)
    if name == "Linear":
        layer, bn, shape = layer_cls(5, 4), nn.BatchNorm1d(4), (8, 5)
    else:
        layer, bn, shape = layer_cls(3, 4, 3, padding=1), nn.BatchNorm2d(4), (2, 3, 5, 5)
    layer.eval()
    bn = _trained_bn(bn, lambda: layer(mg.tensor(rng.standard_normal(shape).astype(np.float32))))
    x = mg.tensor(rng.standard_normal(shape).astype(np.float32))
    fused = N.fuse_conv_bn_eval(layer, bn)
    np.testing.assert_allclose(fused(x).numpy(), bn(layer(x)).numpy(), rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------ zero variance, batch of one
CONSTANT = np.full((2, 4, 3), 7.0)


@pytest.mark.parametrize("name,fn", [
    ("batch_norm", lambda x: F.batch_norm(x, None, None, training=True)),
    ("layer_norm", lambda x: F.layer_norm(x, (4, 3))),
    ("rms_norm", lambda x: F.rms_norm(x * 0, 3)),
    ("group_norm", lambda x: F.group_norm(x, 2)),
    ("instance_norm", lambda x: F.instance_norm(x)),
    ("l2_normalize", lambda x: F.l2_normalize(x * 0)),
    ("weight_norm", lambda x: F.weight_norm(x * 0, mg.ones(2, dtype="float64"))),
    ("spectral_norm", lambda x: F.spectral_norm(x.reshape(8, 3), mg.ones(8, dtype="float64"))),
])
def test_constant_input_stays_finite(backend, name, fn):
    x = t64(CONSTANT)
    y = fn(x)
    assert np.isfinite(y.numpy()).all(), name
    (y * mg.tensor(np.random.default_rng(5).standard_normal(y.shape))).sum().backward()
    assert np.isfinite(x.grad.numpy()).all(), name


def test_constant_input_normalizes_to_zero(backend):
    x = t64(CONSTANT)
    for y in (F.batch_norm(x, None, None, training=True), F.layer_norm(x, 3), F.group_norm(x, 4),
              F.instance_norm(x)):
        np.testing.assert_allclose(y.numpy(), 0.0, atol=1e-12)


def test_batch_of_one_where_the_math_allows(backend):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((1, 4, 3, 2))
    ln = nn.LayerNorm((4, 3, 2))
    y = ln(mg.tensor(x.astype(np.float32))).numpy()
    np.testing.assert_allclose(y, (x - x.mean()) / np.sqrt(x.var() + 1e-5), rtol=1e-5, atol=1e-5)
    gn = nn.GroupNorm(2, 4)
    y = gn(mg.tensor(x.astype(np.float32))).numpy()
    for g in range(2):
        blk = x[0, 2 * g:2 * g + 2]
        np.testing.assert_allclose(y[0, 2 * g:2 * g + 2], (blk - blk.mean()) / np.sqrt(blk.var() + 1e-5),
                                   rtol=1e-5, atol=1e-5)
    gradcheck(lambda x: F.group_norm(x, 2), [t64(x)])
    gradcheck(lambda x: F.layer_norm(x, (3, 2)), [t64(x)])


# ------------------------------------------------------------------ LayerNorm / RMSNorm
def test_layer_norm_errors_name_the_op_and_the_shapes():
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(5,\) does not match the "
                                         r"last axes of an input of shape \(2, 3, 4\)"):
        F.layer_norm(mg.randn(2, 3, 4), (5,))
    with pytest.raises(ValueError, match=r"layer_norm: weight of shape \(3,\)"):
        F.layer_norm(mg.randn(2, 4), 4, mg.ones(3))


def test_layer_norm_module(backend):
    ln = nn.LayerNorm([3, 4])
    assert ln.weight.shape == (3, 4) and np.all(ln.weight.numpy() == 1) and np.all(ln.bias.numpy() == 0)
    assert nn.LayerNorm(4, bias=False).bias is None
    assert list(nn.LayerNorm(4, elementwise_affine=False).parameters()) == []
    x = mg.randn(2, 3, 4, requires_grad=True)
    ln(x).sum().backward()
    assert ln.weight.grad.shape == (3, 4)
    rng = np.random.default_rng(7)
    gradcheck(lambda x, b: F.layer_norm(x, 4, None, b), [t64(rng.standard_normal((3, 4))),
                                                          t64(rng.standard_normal(4))])


def test_rms_norm_defaults_and_partial(backend):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 8))
    eps32 = float(np.finfo(np.float32).eps)
    y = nn.RMSNorm(8)(mg.tensor(x.astype(np.float32))).numpy()
    np.testing.assert_allclose(y, x / np.sqrt((x ** 2).mean(1, keepdims=True) + eps32), rtol=1e-5)
    y = F.rms_norm(t64(x), 8, p=0.25).numpy()
    np.testing.assert_allclose(y, x / np.sqrt((x[:, :2] ** 2).mean(1, keepdims=True)
                                              + np.finfo(np.float64).eps), rtol=1e-12)
    gradcheck(lambda x, w: F.rms_norm(x, 8, w, p=0.3), [t64(x), t64(rng.uniform(0.5, 2, 8))])
    with pytest.raises(ValueError, match="partial fraction"):
        F.rms_norm(t64(x), 8, p=1.5)


# ------------------------------------------------------------------ GroupNorm / InstanceNorm
def test_group_norm_special_cases(backend):
    rng = np.random.default_rng(9)
    x = t64(rng.standard_normal((2, 4, 3, 3)), grad=False)
    np.testing.assert_allclose(F.group_norm(x, 1).numpy(), F.layer_norm(x, (4, 3, 3)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(F.group_norm(x, 4).numpy(), F.instance_norm(x).numpy(), rtol=1e-12)
    np.testing.assert_allclose(nn.InstanceNorm2d(4)(x).numpy(), F.group_norm(x, 4).numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"group_norm: 4 channels \(input of shape \(2, 4, 3, 3\)\) "
                                         r"do not split into 3 groups"):
        F.group_norm(x, 3)
    with pytest.raises(ValueError, match="single value"):
        F.group_norm(t64(np.ones((2, 4)), False), 4)
    with pytest.raises(ValueError, match="instance_norm: expected more than 1 spatial element"):
        nn.InstanceNorm1d(4)(t64(np.ones((2, 4, 1)), False))


def test_instance_norm_running_statistics(backend):
    rng = np.random.default_rng(10)
    inorm = nn.InstanceNorm1d(3, affine=True, track_running_stats=True, momentum=0.5)
    for p in (inorm.running_mean, inorm.running_var, inorm.weight, inorm.bias):
        p.data = p.data.astype(np.float64)
    rm, rv = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = rng.standard_normal((4, 3, 5)) * 2 + 1
        inorm(t64(x))
        rm = 0.5 * rm + 0.5 * x.mean(axis=2).mean(axis=0)
        rv = 0.5 * rv + 0.5 * x.var(axis=2, ddof=1).mean(axis=0)
    np.testing.assert_allclose(inorm.running_mean.numpy(), rm, rtol=1e-12)
    np.testing.assert_allclose(inorm.running_var.numpy(), rv, rtol=1e-12)
    inorm.eval()
    x = rng.standard_normal((2, 3, 5))
    np.testing.assert_allclose(inorm(t64(x)).numpy(),
                               (x - rm[:, None]) / np.sqrt(rv[:, None] + 1e-5), rtol=1e-12)


# ------------------------------------------------------------------ weight normalization
class TinyWeighted(nn.Module):
    """y = x Wᵀ + b: the smallest module with a ``weight`` Parameter."""

    def __init__(self, i, o):
        super().__init__()
        rng = np.random.default_rng(11)
        self.weight = nn.Parameter(rng.standard_normal((o, i)))
        self.bias = nn.Parameter(np.zeros(o))

    def forward(self, x):
        return x @ self.weight.T + self.bias


def test_apply_weight_norm_reparameterizes_the_weight(backend):
    m = TinyWeighted(4, 3)
    w0 = m.weight.numpy().copy()
    N.apply_weight_norm(m)
    assert set(dict(m.named_parameters())) == {"bias", "weight_g", "weight_v"}
    assert m.weight_g.shape == (3, 1)
    np.testing.assert_allclose(m.weight.numpy(), w0, rtol=1e-12)   # same function at start
    x = t64(np.random.default_rng(12).standard_normal((5, 4)), grad=False)
    np.testing.assert_allclose(m(x).numpy(), x.numpy() @ w0.T, rtol=1e-12)
    with mg.no_grad():
        m.weight_g.data *= 2
    m(x).sum().backward()     # the hook recomputes the weight from g and v
    np.testing.assert_allclose(m(x).numpy(), 2 * x.numpy() @ w0.T, rtol=1e-12)
    v = m.weight_v.numpy()
    # the direction gradient has no radial component: v·dv = 0 for every unit
    np.testing.assert_allclose((v * m.weight_v.grad.numpy()).sum(axis=1), 0, atol=1e-10)
    N.remove_weight_norm(m)
    assert set(dict(m.named_parameters())) == {"bias", "weight"}
    np.testing.assert_allclose(m.weight.numpy(), 2 * w0, rtol=1e-12)
    m(x)


def test_weight_norm_module_gradients_are_those_of_the_functional(backend):
    m = N.apply_weight_norm(TinyWeighted(3, 2))
    x = t64(np.random.default_rng(13).standard_normal((4, 3)), grad=False)
    gy = mg.tensor(np.random.default_rng(14).standard_normal((4, 2)))
    (m(x) * gy).sum().backward()
    g, v = t64(m.weight_g.numpy()), t64(m.weight_v.numpy())
    gradcheck(lambda g, v: x @ F.weight_norm(v, g).T, [g, v])
    ((x @ F.weight_norm(v, g).T) * gy).sum().backward()
    np.testing.assert_allclose(m.weight_g.grad.numpy(), g.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(m.weight_v.grad.numpy(), v.grad.numpy(), rtol=1e-12)


def test_weight_norm_data_dependent_init(backend):
    rng = np.random.default_rng(14)
    m = N.apply_weight_norm(TinyWeighted(6, 4))
    x = t64(rng.standard_normal((64, 6)) * 3 + 1, grad=False)
    N.init_weight_norm_from_data_(m, x)
    y = m(x).numpy()
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(y.std(axis=0), 1, rtol=1e-10)


def test_weight_norm_on_the_library_linear():
    if not hasattr(nn, "Linear"):
        pytest.skip("minigrad.layers.Linear does not exist yet")
    lin = nn.Linear(4, 3)
    w0 = lin.weight.numpy().copy()
    N.apply_weight_norm(lin)
    x = mg.randn(2, 4)
    np.testing.assert_allclose(lin(x).numpy(), x.numpy() @ w0.T + lin.bias.numpy(), rtol=1e-5, atol=1e-6)
    lin(x).sum().backward()
    assert lin.weight_g.grad is not None and lin.weight_v.grad is not None


def test_weight_norm_functional_axes(backend):
    rng = np.random.default_rng(15)
    v = rng.standard_normal((3, 2, 2))
    w = F.weight_norm(t64(v), t64([1.0, 2.0, 3.0])).numpy()
    np.testing.assert_allclose(np.sqrt((w ** 2).sum(axis=(1, 2))), [1.0, 2.0, 3.0], rtol=1e-12)
    w = F.weight_norm(t64(v), t64([2.0]), axis=None).numpy()
    assert abs(np.sqrt((w ** 2).sum()) - 2.0) < 1e-12
    with pytest.raises(ValueError, match="weight_norm: g of shape"):
        F.weight_norm(t64(v), t64([1.0, 2.0]))


# ------------------------------------------------------------------ spectral normalization
def test_spectral_norm_converges_to_unit_spectral_norm(backend):
    m = TinyWeighted(5, 4)
    w0 = m.weight.numpy().copy()
    N.apply_spectral_norm(m, n_power_iterations=5)
    assert set(dict(m.named_parameters())) == {"bias", "weight_orig"}
    assert {"weight_u", "weight_v"} <= set(m.state_dict())
    x = t64(np.ones((2, 5)), grad=False)
    first = np.linalg.svd(m.weight.numpy(), compute_uv=False)[0]
    for _ in range(60):      # one forward = 5 power-iteration steps (training mode)
        m(x)
    sigma = np.linalg.svd(w0, compute_uv=False)[0]
    np.testing.assert_allclose(np.linalg.svd(m.weight.numpy(), compute_uv=False)[0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(m.weight.numpy(), w0 / sigma, rtol=1e-6)
    assert abs(first - 1) < 0.1       # 15 iterations at apply time already get close
    u = m.weight_u.numpy().copy()
    m.eval()
    m(x)
    np.testing.assert_array_equal(m.weight_u.numpy(), u)    # no power iteration in eval mode
    N.remove_spectral_norm(m)
    assert set(dict(m.named_parameters())) == {"bias", "weight"}


def test_spectral_norm_of_a_conv_kernel(backend):
    rng = np.random.default_rng(16)
    w = rng.standard_normal((4, 2, 3, 3))
    u = t64(rng.standard_normal(4), False)
    for _ in range(20):
        y = F.spectral_norm(t64(w), u, n_power_iterations=5)
    np.testing.assert_allclose(np.linalg.svd(y.numpy().reshape(4, -1), compute_uv=False)[0], 1.0,
                               rtol=1e-8)


def test_spectral_norm_backward_holds_u_v_constant_and_is_exact_at_convergence(backend):
    """With converged u, v the documented backward (u, v constants) equals the finite-
    difference derivative of the true W/σ_max(W), computed with NumPy's SVD."""
    rng = np.random.default_rng(17)
    w = rng.standard_normal((4, 3))
    U, S, Vt = np.linalg.svd(w)
    u, v = t64(U[:, 0], False), t64(Vt[0], False)
    W = t64(w)
    gy = rng.standard_normal(w.shape)
    (F.spectral_norm(W, u, v, n_power_iterations=0) * mg.tensor(gy)).sum().backward()
    numeric = np.zeros_like(w)
    h = 1e-6
    for idx in np.ndindex(*w.shape):
        wp, wm = w.copy(), w.copy()
        wp[idx] += h
        wm[idx] -= h
        fp = (wp / np.linalg.svd(wp, compute_uv=False)[0] * gy).sum()
        fm = (wm / np.linalg.svd(wm, compute_uv=False)[0] * gy).sum()
        numeric[idx] = (fp - fm) / (2 * h)
    np.testing.assert_allclose(W.grad.numpy(), numeric, rtol=1e-6, atol=1e-8)
    # and the rule itself: dW = (dW_SN − ⟨dW_SN, W_SN⟩ u vᵀ)/σ
    y = w / S[0]
    np.testing.assert_allclose(W.grad.numpy(), (gy - (gy * y).sum() * np.outer(U[:, 0], Vt[0])) / S[0],
                               rtol=1e-10)


def test_spectral_norm_training_step_updates_u_outside_the_tape(backend):
    rng = np.random.default_rng(18)
    W = t64(rng.standard_normal((3, 4)))
    u = t64(rng.standard_normal(3), False)
    u0 = u.numpy().copy()
    y = F.spectral_norm(W, u)
    assert not np.allclose(u.numpy(), u0) and abs(np.linalg.norm(u.numpy()) - 1) < 1e-12
    F.spectral_norm(W, u)            # a second step before backward does not break the first
    y.sum().backward()
    assert W.grad is not None


# ------------------------------------------------------------------ L2 normalize, residual
def test_l2_normalize_variants(backend):
    rng = np.random.default_rng(19)
    x = rng.standard_normal((3, 4))
    y = F.l2_normalize(t64(x)).numpy()
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(F.normalize(t64(x)).numpy(), x / np.linalg.norm(x, axis=1, keepdims=True),
                               rtol=1e-12)
    np.testing.assert_allclose(F.normalize(t64(x.T), dim=0).numpy(), y.T, rtol=1e-12)
    w = mg.tensor(x.copy())
    F.l2_normalize_(w)
    np.testing.assert_allclose(w.numpy(), y, rtol=1e-12)
    with pytest.raises(NotImplementedError):
        F.normalize(t64(x), p=1)


def test_norm_residual_placements(backend):
    rng = np.random.default_rng(20)
    x = mg.tensor(rng.standard_normal((2, 3, 4)).astype(np.float32), requires_grad=True)
    norm = nn.LayerNorm(4)
    sub = nn.GELU()
    pre = nn.NormResidual(sub, norm, "pre")
    post = nn.NormResidual(sub, norm, "post")
    np.testing.assert_allclose(pre(x).numpy(), (x + sub(norm(x))).numpy())
    np.testing.assert_allclose(post(x).numpy(), norm(x + sub(x)).numpy())
    assert [n for n, _ in pre.named_parameters()] == ["norm.weight", "norm.bias"]
    post(x).sum().backward()
    assert x.grad is not None
    with pytest.raises(ValueError, match="placement"):
        F.norm_residual(x, sub, norm, "peri")
