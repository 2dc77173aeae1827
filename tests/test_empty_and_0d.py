"""Inputs PyTorch accepts: empty batches (N = 0), 0-d tensors, zero-size layers and float16,
forward and backward, on every backend (the Numba and CuPy kernels included)."""
import warnings

import numpy as np
import pytest

import minigrad
from minigrad import F, nn


def _forward_backward(module, x):
    x = minigrad.tensor(x, requires_grad=True)
    y = module(x)
    (y * 1.0).sum().backward()
    return y, x.grad


EMPTY = {
    "conv1d": (lambda: nn.Conv1d(3, 4, 3, padding=1), (0, 3, 8), (0, 4, 8)),
    "conv2d": (lambda: nn.Conv2d(3, 4, 3, stride=2), (0, 3, 9, 9), (0, 4, 4, 4)),
    "conv2d_pointwise": (lambda: nn.Conv2d(3, 4, 1), (0, 3, 5, 5), (0, 4, 5, 5)),
    "conv_transpose2d": (lambda: nn.ConvTranspose2d(3, 4, 2, stride=2), (0, 3, 4, 4), (0, 4, 8, 8)),
    "max_pool1d": (lambda: nn.MaxPool1d(2), (0, 3, 8), (0, 3, 4)),
    "max_pool2d": (lambda: nn.MaxPool2d(2), (0, 3, 8, 8), (0, 3, 4, 4)),
    "max_pool2d_padded": (lambda: nn.MaxPool2d(3, stride=2, padding=1), (0, 3, 8, 8), (0, 3, 4, 4)),
    "avg_pool1d": (lambda: nn.AvgPool1d(2), (0, 3, 8), (0, 3, 4)),
    "avg_pool2d": (lambda: nn.AvgPool2d(2), (0, 3, 8, 8), (0, 3, 4, 4)),
    "adaptive_avg_pool2d": (lambda: nn.AdaptiveAvgPool2d(3), (0, 3, 8, 8), (0, 3, 3, 3)),
    "adaptive_max_pool2d": (lambda: nn.AdaptiveMaxPool2d(2), (0, 3, 8, 8), (0, 3, 2, 2)),
    "adaptive_max_pool2d_uneven": (lambda: nn.AdaptiveMaxPool2d(3), (0, 3, 8, 8), (0, 3, 3, 3)),
    "batch_norm2d_eval": (lambda: nn.BatchNorm2d(3).eval(), (0, 3, 4, 4), (0, 3, 4, 4)),
    "batch_norm1d_eval": (lambda: nn.BatchNorm1d(3).eval(), (0, 3), (0, 3)),
    "group_norm": (lambda: nn.GroupNorm(3, 6), (0, 6, 4, 4), (0, 6, 4, 4)),
    "instance_norm2d": (lambda: nn.InstanceNorm2d(3, track_running_stats=True), (0, 3, 4, 4),
                        (0, 3, 4, 4)),
    "layer_norm": (lambda: nn.LayerNorm(4), (0, 4), (0, 4)),
    "rms_norm": (lambda: nn.RMSNorm(4), (0, 5, 4), (0, 5, 4)),
    "linear": (lambda: nn.Linear(4, 5), (0, 4), (0, 5)),
    "linear_3d": (lambda: nn.Linear(4, 5), (2, 0, 4), (2, 0, 5)),
    "softmax": (lambda: (lambda x: F.softmax(x, dim=-1)), (0, 7), (0, 7)),
    "log_softmax_empty_row": (lambda: (lambda x: F.log_softmax(x, dim=-1)), (3, 0), (3, 0)),
}


@pytest.mark.parametrize("name", EMPTY)
def test_empty_batch_forward_and_backward(name, backend):
    make, in_shape, out_shape = EMPTY[name]
    module = make()
    y, gx = _forward_backward(module, np.zeros(in_shape, dtype=np.float32))
    assert y.shape == out_shape and y.dtype == np.float32
    assert gx.shape == in_shape and gx.dtype == np.float32
    for p in getattr(module, "parameters", lambda: [])():
        if p.grad is not None:                       # a sum over no samples: zero
            np.testing.assert_array_equal(p.grad.numpy(), np.zeros(p.shape))


def test_empty_batch_leaves_instance_norm_running_stats_alone(backend):
    norm = nn.InstanceNorm2d(3, track_running_stats=True)
    norm(minigrad.tensor(np.zeros((0, 3, 4, 4), dtype=np.float32)))
    np.testing.assert_array_equal(norm.running_mean.numpy(), np.zeros(3))
    np.testing.assert_array_equal(norm.running_var.numpy(), np.ones(3))


@pytest.mark.parametrize("shape", [(0, 3, 4, 4), (1, 3, 1, 1), (1, 3)])
def test_batch_norm_training_needs_more_than_one_value_per_channel(shape, backend):
    norm = nn.BatchNorm2d(3) if len(shape) == 4 else nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value per channel when training"):
        norm(minigrad.tensor(np.zeros(shape, dtype=np.float32)))


@pytest.mark.parametrize("reduction, expected", [("sum", 0.0), ("mean", 0.0)])
def test_cross_entropy_of_an_empty_batch(reduction, expected, backend):
    # 'mean' over no targets is 0 with a zero gradient (documented; PyTorch gives NaN)
    x = minigrad.tensor(np.zeros((0, 5), dtype=np.float32), requires_grad=True)
    loss = F.cross_entropy(x, minigrad.tensor(np.zeros(0, dtype=np.int64)), reduction=reduction)
    loss.backward()
    assert loss.shape == () and float(loss.numpy()) == expected
    assert x.grad.shape == (0, 5)
    none = F.cross_entropy(x, minigrad.tensor(np.zeros(0, dtype=np.int64)), reduction="none")
    assert none.shape == (0,)


# ------------------------------------------------------------------ zero-size layers
ZERO_SIZE = {
    "linear_in0": (lambda: nn.Linear(0, 3), (2, 0), (2, 3)),
    "linear_out0": (lambda: nn.Linear(4, 0), (2, 4), (2, 0)),
    "conv2d_in0": (lambda: nn.Conv2d(0, 4, 3), (2, 0, 5, 5), (2, 4, 3, 3)),
    "conv2d_out0": (lambda: nn.Conv2d(3, 0, 3), (2, 3, 5, 5), (2, 0, 3, 3)),
    "conv1d_in0": (lambda: nn.Conv1d(0, 4, 3), (2, 0, 5), (2, 4, 3)),
    "bilinear_in0": (lambda: nn.Bilinear(0, 2, 3), None, (2, 3)),
}


@pytest.mark.parametrize("name", ZERO_SIZE)
def test_zero_size_layers_are_created_and_run(name, backend):
    make, in_shape, out_shape = ZERO_SIZE[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = make()
    assert any("zero-element" in str(w.message) for w in caught) or name == "bilinear_in0"
    if name == "bilinear_in0":
        x1 = minigrad.tensor(np.zeros((2, 0), dtype=np.float32), requires_grad=True)
        y = layer(x1, minigrad.tensor(np.ones((2, 2), dtype=np.float32)))
        y.sum().backward()
        assert x1.grad.shape == (2, 0)
    else:
        y, gx = _forward_backward(layer, np.ones(in_shape, dtype=np.float32))
        assert gx.shape == in_shape
    assert y.shape == out_shape
    # no input feature contributes: the output is the bias, which is U(±0) = 0 (PyTorch's init)
    np.testing.assert_array_equal(y.numpy(), np.zeros(out_shape))
    if layer.bias is not None and layer.bias.numel():
        np.testing.assert_array_equal(layer.bias.grad.numpy(), np.full(layer.bias.shape,
                                                                        y.numel() / max(y.shape[1], 1)))


# ------------------------------------------------------------------ 0-d tensors
@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_of_a_0d_tensor(dim, backend):
    x = minigrad.tensor(np.float32(2.5), requires_grad=True)
    s = F.softmax(x, dim=dim)
    assert s.shape == () and float(s.numpy()) == 1.0
    s.backward()
    assert x.grad.shape == () and float(x.grad.numpy()) == 0.0
    x.grad = None
    ls = F.log_softmax(x, dim=dim)
    assert ls.shape == () and float(ls.numpy()) == 0.0
    ls.backward()
    assert float(x.grad.numpy()) == 0.0          # d/dx (x − x) = 0
    with pytest.raises(ValueError):
        F.softmax(x, dim=1)


ACTIVATIONS = ["relu", "gelu", "silu", "mish", "sigmoid", "tanh", "elu", "leaky_relu", "softplus",
               "hardswish", "selu", "softsign"]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_keep_the_0d_shape(name, backend):
    f = getattr(F, name)
    x = minigrad.tensor(np.float64(0.7), requires_grad=True)
    y = f(x)
    y.backward()
    assert y.shape == () and x.grad.shape == ()
    y1 = f(minigrad.tensor(np.array([0.7])))      # the same value as a 1-element tensor
    np.testing.assert_allclose(y.numpy(), y1.numpy()[0], rtol=1e-12)


# ------------------------------------------------------------------ float16
HALF = {
    "conv2d": lambda: nn.Conv2d(3, 4, 3, padding=1),
    "conv1d": lambda: nn.Conv1d(3, 4, 3),
    "max_pool2d": lambda: nn.MaxPool2d(2),
    "avg_pool2d": lambda: nn.AvgPool2d(2),
    "batch_norm2d": lambda: nn.BatchNorm2d(3),
    "group_norm": lambda: nn.GroupNorm(3, 3),
    "layer_norm": lambda: nn.LayerNorm(6),
    "rms_norm": lambda: nn.RMSNorm(6),
    "softmax": lambda: (lambda x: F.softmax(x, dim=-1)),
    "log_softmax": lambda: (lambda x: F.log_softmax(x, dim=-1)),
    "gelu": lambda: F.gelu,
    "gelu_tanh": lambda: (lambda x: F.gelu(x, approximate="tanh")),
    "silu": lambda: F.silu,
    "mish": lambda: F.mish,
    "relu": lambda: F.relu,
    "getitem": lambda: (lambda x: x[np.array([0, 0, 1])]),
}


@pytest.mark.parametrize("name", HALF)
def test_float16_runs_end_to_end_like_float32(name, backend):
    """Kernels run float16 through float32 and give float16 back (never a Numba typing error)."""
    shape = (2, 3, 6) if name in ("conv1d", "layer_norm", "rms_norm", "group_norm") else (2, 3, 6, 6)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float16)
    module = HALF[name]()
    results = []
    for dtype in (np.float16, np.float32):
        if hasattr(module, "parameters"):
            for p in module.parameters():
                p.data = p.data.astype(dtype)
        y, gx = _forward_backward(module, x.astype(dtype))
        assert y.dtype == dtype and gx.dtype == dtype, (y.dtype, gx.dtype)
        results.append((y.numpy().astype(np.float32), gx.numpy().astype(np.float32)))
    (y16, g16), (y32, g32) = results
    np.testing.assert_allclose(y16, y32, rtol=1e-2, atol=2e-2)
    np.testing.assert_allclose(g16, g32, rtol=1e-2, atol=5e-2)
