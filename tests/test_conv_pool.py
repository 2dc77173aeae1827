"""Convolution and pooling beyond the registry harness: the Modules, 'same' and causal
padding, error messages, conv_transpose2d as the adjoint of conv2d, and a whole
Conv2d module against finite differences."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import F, nn
from minigrad.gradcheck import gradcheck
from tests.oracles.conv_pool import adaptive_max_pool, conv


def t64(a, requires_grad=False):
    return mg.tensor(np.asarray(a, dtype="float64"), requires_grad=requires_grad)


# ------------------------------------------------------------------ modules
@pytest.mark.parametrize("kwargs, out_shape", [
    (dict(kernel_size=3), (2, 8, 6, 7)),
    (dict(kernel_size=3, padding=1), (2, 8, 8, 9)),
    (dict(kernel_size=(3, 2), stride=2, padding=(1, 0)), (2, 8, 4, 4)),
    (dict(kernel_size=3, padding="same", dilation=2), (2, 8, 8, 9)),
    (dict(kernel_size=4, padding="same"), (2, 8, 8, 9)),
    (dict(kernel_size=3, groups=4, padding="valid"), (2, 8, 6, 7)),
])
def test_conv2d_module_shapes(backend, kwargs, out_shape):
    m = nn.Conv2d(4, 8, **kwargs)
    y = m(mg.randn(2, 4, 8, 9))
    assert y.shape == out_shape and y.dtype == np.float32
    groups = kwargs.get("groups", 1)
    assert m.weight.shape == (8, 4 // groups) + m.kernel_size and m.bias.shape == (8,)


def test_conv_modules_initialise_like_pytorch(backend):
    """kaiming_uniform(a=√5) on the weight and U(±1/√fan_in) on the bias: both within ±1/√fan_in."""
    m = nn.Conv2d(6, 16, 5, groups=2)
    fan_in = 3 * 5 * 5
    bound = 1 / math.sqrt(fan_in)
    for p in (m.weight, m.bias):
        a = p.numpy()
        assert np.abs(a).max() <= bound and np.abs(a).max() > 0.8 * bound
    assert nn.Conv1d(3, 4, 3, bias=False).bias is None
    assert [n for n, _ in nn.Conv1d(3, 4, 3).named_parameters()] == ["weight", "bias"]
    t = nn.ConvTranspose2d(4, 6, 3, groups=2)
    assert t.weight.shape == (4, 3, 3, 3)
    assert np.abs(t.weight.numpy()).max() <= 1 / math.sqrt(3 * 9)


def test_conv1d_module_and_causal_padding(backend):
    m = nn.Conv1d(3, 5, 3, padding="causal", dilation=2)
    x = mg.randn(2, 3, 10)
    y = m(x)
    assert y.shape == (2, 5, 10)
    x2 = x.numpy().copy()
    x2[:, :, 6:] += 1.0                 # change the future only
    y2 = m(mg.tensor(x2))
    np.testing.assert_allclose(y2.numpy()[:, :, :6], y.numpy()[:, :, :6])
    assert not np.allclose(y2.numpy()[:, :, 6:], y.numpy()[:, :, 6:])


@pytest.mark.parametrize("k, d", [(1, 1), (2, 1), (3, 1), (4, 2), (5, 3)])
def test_same_padding_keeps_the_length_and_puts_the_odd_zero_after(k, d, rng):
    x, w = rng.standard_normal((1, 2, 9)), rng.standard_normal((3, 2, k))
    y = F.conv1d(t64(x), t64(w), padding="same", dilation=d)
    assert y.shape == (1, 3, 9)
    total = d * (k - 1)
    padded = np.pad(x, ((0, 0), (0, 0), (total // 2, total - total // 2)))
    np.testing.assert_allclose(y.numpy(), conv(padded, w, dilation=d), atol=1e-12)


def test_conv_transpose2d_module_upsamples(backend):
    m = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)
    assert m(mg.randn(2, 4, 5, 6)).shape == (2, 2, 10, 12)


def test_pool_modules(backend, rng):
    x = mg.tensor(rng.standard_normal((2, 3, 7, 6)).astype("float32"))
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 3, 3)
    assert nn.MaxPool2d(3, stride=2, padding=1)(x).shape == (2, 3, 4, 3)
    assert nn.MaxPool2d(2, ceil_mode=True)(x).shape == (2, 3, 4, 3)
    assert nn.AvgPool2d(3, 1, 1)(x).shape == (2, 3, 7, 6)
    assert nn.AdaptiveAvgPool2d((3, None))(x).shape == (2, 3, 3, 6)
    assert nn.AdaptiveMaxPool2d(4)(x).shape == (2, 3, 4, 4)
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d(1)(x).numpy(),
                               x.numpy().mean(axis=(2, 3), keepdims=True), rtol=1e-6)
    np.testing.assert_array_equal(F.global_max_pool2d(x).numpy(),
                                  x.numpy().max(axis=(2, 3), keepdims=True))
    s = mg.tensor(rng.standard_normal((2, 3, 9)).astype("float32"))
    assert nn.MaxPool1d(3)(s).shape == (2, 3, 3)
    assert nn.AvgPool1d(2, ceil_mode=True)(s).shape == (2, 3, 5)
    assert nn.AdaptiveAvgPool1d(4)(s).shape == (2, 3, 4)
    assert nn.AdaptiveMaxPool1d(2)(s).shape == (2, 3, 2)


def test_adaptive_max_pool_with_uneven_bins(rng):
    x = rng.permutation(5 * 7 * 6).reshape(1, 6, 5, 7) + 0.1 * rng.random((1, 6, 5, 7))
    xt = t64(x, requires_grad=True)
    y = F.adaptive_max_pool2d(xt, (3, 4))
    np.testing.assert_array_equal(y.numpy(), adaptive_max_pool(x, (3, 4)))
    gradcheck(lambda a: F.adaptive_max_pool2d(a, (3, 4)), [xt])
    gradcheck(lambda a: F.adaptive_max_pool1d(a, 3), [t64(x[:, :, 0], requires_grad=True)])


def test_max_pool_sends_the_gradient_of_overlapping_windows_to_one_element():
    x = t64(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    F.max_pool2d(x, 3, stride=1).sum().backward()
    expected = np.zeros((4, 4))
    expected[2:, 2:] = 1              # each of the four windows picks its own corner
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expected)
    x.grad = None
    F.max_pool2d(x, 3, stride=1, padding=1).sum().backward()
    assert x.grad.numpy()[0, 0, 3, 3] == 4     # four windows share the global maximum


def test_float32_stays_float32(backend):
    x = mg.randn(2, 3, 6, 6, requires_grad=True)
    m = nn.Conv2d(3, 4, 3, padding=1)
    y = F.avg_pool2d(F.max_pool2d(m(x), 2), 1)
    z = F.conv1d(m(x).reshape(2, 4, 36), mg.randn(2, 4, 3), padding=1)
    z = F.adaptive_avg_pool2d(z.reshape(2, 2, 6, 6), 3)
    assert y.dtype == z.dtype == np.float32
    (y.sum() + z.sum()).backward()
    assert x.grad.dtype == m.weight.grad.dtype == m.bias.grad.dtype == np.float32


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("call, message", [
    (lambda: F.conv2d(mg.randn(1, 3, 5, 5), mg.randn(4, 2, 3, 3)),
     "conv2d: x of shape (1, 3, 5, 5) has 3 channels, but weight of shape (4, 2, 3, 3)"),
    (lambda: F.conv2d(mg.randn(1, 4, 5, 5), mg.randn(3, 2, 3, 3), groups=2),
     "conv2d: groups=2 must divide both the 4 input channels"),
    (lambda: F.conv2d(mg.randn(1, 3, 2, 2), mg.randn(4, 3, 3, 3)),
     "conv2d: kernel (3, 3) (dilation (1, 1)) is larger than the padded input: x of shape (1, 3, 2, 2)"),
    (lambda: F.conv2d(mg.randn(3, 5, 5), mg.randn(4, 3, 3, 3)),
     "conv2d: expected x of shape (N, C, H, W), got shape (3, 5, 5)"),
    (lambda: F.conv2d(mg.randn(1, 3, 5, 5), mg.randn(4, 3, 3, 3), mg.randn(3)),
     "conv2d: bias of shape (3,) for 4 output channels"),
    (lambda: F.conv1d(mg.randn(1, 3, 8), mg.randn(4, 3, 3), stride=2, padding="same"),
     "conv1d: padding='same' needs stride 1"),
    (lambda: F.conv2d(mg.randn(1, 3, 5, 5), mg.randn(4, 3, 3, 3), padding="causal"),
     "conv2d: padding must be an int, a tuple, 'valid', 'same', got 'causal'"),
    (lambda: F.conv_transpose2d(mg.randn(1, 3, 5, 5), mg.randn(4, 2, 3, 3)),
     "conv_transpose2d: x of shape (1, 3, 5, 5) has 3 channels, but weight of shape (4, 2, 3, 3)"),
    (lambda: F.conv_transpose2d(mg.randn(1, 3, 5, 5), mg.randn(3, 2, 3, 3), output_padding=1),
     "conv_transpose2d: output_padding (1, 1) must be smaller than the stride"),
    (lambda: F.max_pool2d(mg.randn(1, 3, 5, 5), 3, padding=2),
     "max_pool2d: padding (2, 2) must be at most half of the (dilated) kernel (3, 3)"),
    (lambda: F.avg_pool1d(mg.randn(1, 3, 2), 3),
     "avg_pool1d: kernel (3,) (dilation (1,)) is larger than the padded input: x of shape (1, 3, 2)"),
    (lambda: F.max_pool1d(mg.randn(1, 3, 4, 4), 2),
     "max_pool1d: expected x of shape (N, C, L), got shape (1, 3, 4, 4)"),
    (lambda: F.adaptive_avg_pool2d(mg.randn(1, 3, 4, 4), (2, 0)),
     "adaptive_avg_pool2d: output_size must be positive ints"),
    (lambda: nn.Conv2d(4, 6, 3, groups=4), "Conv2d: groups=4 must divide in_channels=4 and out_channels=6"),
])
def test_errors_name_the_op_and_the_shapes(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert message in str(err.value)


# ------------------------------------------------------------------ adjointness
@pytest.mark.parametrize("stride, padding, dilation, groups", [
    (1, 0, 1, 1), (2, 1, 1, 1), ((2, 3), (1, 2), 1, 1), (1, 1, 2, 1), (2, 0, 1, 2), (3, 1, (2, 1), 3),
])
def test_conv_transpose2d_is_the_adjoint_of_conv2d(backend, stride, padding, dilation, groups, rng):
    """<conv2d(x, W), y> = <x, conv_transpose2d(y, W)>, with output_padding chosen so that
    the transposed convolution gives back x's size."""
    c, o, size = 3 * groups, 2 * groups, (9, 8)
    w = rng.standard_normal((o, c // groups, 3, 2))
    x = rng.standard_normal((2, c) + size)
    y_shape = F.conv2d(t64(x), t64(w), stride=stride, padding=padding, dilation=dilation,
                       groups=groups).shape
    y = rng.standard_normal(y_shape)
    s, p, d = (v if isinstance(v, tuple) else (v, v) for v in (stride, padding, dilation))
    out_pad = tuple(n - ((m - 1) * st - 2 * pp + dd * (k - 1) + 1)
                    for n, m, st, pp, dd, k in zip(size, y_shape[2:], s, p, d, w.shape[2:]))
    lhs = (F.conv2d(t64(x), t64(w), stride=stride, padding=padding, dilation=dilation,
                    groups=groups).numpy() * y).sum()
    back = F.conv_transpose2d(t64(y), t64(w), stride=stride, padding=padding,
                              output_padding=out_pad, groups=groups, dilation=dilation)
    assert back.shape == x.shape
    assert np.isclose(lhs, (x * back.numpy()).sum(), rtol=1e-12)


# ------------------------------------------------------------------ a whole module vs finite differences
def test_conv2d_module_gradient_matches_finite_differences(backend, rng):
    m = nn.Conv2d(2, 3, 3, stride=2, padding=1, groups=1, dtype="float64")
    x = t64(rng.standard_normal((2, 2, 5, 4)), requires_grad=True)
    assert gradcheck(lambda x, w, b: m(x), [x, m.weight, m.bias]).ok


def test_depthwise_conv_module_gradient_matches_finite_differences(backend, rng):
    m = nn.Conv1d(3, 6, 3, padding="same", groups=3, dtype="float64")
    x = t64(rng.standard_normal((2, 3, 7)), requires_grad=True)
    assert gradcheck(lambda x, w, b: m(x), [x, m.weight, m.bias]).ok


def test_conv2d_with_only_some_inputs_requiring_grad(rng):
    x = t64(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
    w = t64(rng.standard_normal((3, 2, 3, 3)))
    F.conv2d(x, w, padding=1).sum().backward()
    assert x.grad.shape == x.shape and w.grad is None
    x2 = t64(rng.standard_normal((1, 2, 5, 5)))
    w2 = t64(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    F.conv2d(x2, w2, padding=1).sum().backward()
    assert w2.grad.shape == w2.shape and x2.grad is None


@pytest.mark.skipif(mg.current_backend().name != "numpy",
                    reason="the CuPy backend unfolds the whole batch at once (no blocks)")
def test_blocked_convolutions_share_a_scratch_buffer_without_mixing_columns(monkeypatch):
    """Columns unfolded in blocks go through one scratch buffer per thread, reused by every
    convolution: two convolutions recorded before one backward must give the same values
    and gradients as with the whole batch unfolded at once (their own buffers)."""
    from minigrad.backends import get_backend
    kernels = get_backend("numpy").kernels("conv")
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((8, 16, 32, 32))           # float64 columns: 9.4 MB, 3 blocks
    w_np = [rng.standard_normal((16, 16, 3, 3)) * 0.1 for _ in range(2)]

    def run():
        x = mg.tensor(x_np, requires_grad=True)
        ws = [mg.tensor(w, requires_grad=True) for w in w_np]
        y = F.conv2d(F.conv2d(x, ws[0], padding=1).relu(), ws[1], padding=1)
        z = F.conv2d(x, ws[1], padding=1)                 # a third use of the buffer
        (y * y).sum().add((z * y).sum()).backward()
        return [y.numpy(), x.grad.numpy()] + [w.grad.numpy() for w in ws]

    from minigrad.ops.conv import _scratch
    _scratch.arrays.clear()
    blocked = run()
    assert _scratch.arrays, "the columns were not unfolded in blocks"
    monkeypatch.setattr(kernels, "BATCH_BLOCK_BYTES", None)
    whole = run()
    for a, b in zip(blocked, whole):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
