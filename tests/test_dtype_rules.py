"""PyTorch's type promotion (``minigrad.dtypes``): a float32 tensor stays float32 with
Python and NumPy scalars, integer tensors and 0-d float64 tensors; integer division and
float math on integers give the default float dtype; matrix products refuse mixed dtypes."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.dtypes import promote_types, result_type

F32, F64, I64 = np.dtype("float32"), np.dtype("float64"), np.dtype("int64")


def f32(*shape):
    return mg.randn(*shape)


@pytest.mark.parametrize("expr,expected", [
    (lambda x: x / np.sqrt(np.float64(4.0)), F32),         # a NumPy scalar is weak
    (lambda x: x + mg.arange(3), F32),                     # float32 with int64 → float32
    (lambda x: x * mg.tensor(2.0, dtype="float64"), F32),  # a 0-d float64 tensor is weak
    (lambda x: x * 2.0, F32),
    (lambda x: 2 ** x, F32),
    (lambda x: x + np.float32(1), F32),
    (lambda x: x * mg.randn(3, dtype="float64"), F64),     # dimensioned float64 wins
    (lambda x: mg.arange(3) / 2, F32),                     # true division of integers
    (lambda x: mg.arange(3) / mg.arange(1, 4), F32),
    (lambda x: mg.arange(3) + 0.5, F32),                   # int tensor + Python float
    (lambda x: mg.arange(3) * 2, I64),
    (lambda x: mg.arange(3).exp(), F32),                   # float math on integers
    (lambda x: mg.sqrt(mg.arange(3)), F32),
    (lambda x: mg.where(x > 0, x, 0.0), F32),
    (lambda x: mg.where(x > 0, x, np.float64(1.0)), F32),
    (lambda x: x + [1.0, 2.0, 3.0], F32),                  # a list is made like tensor()
    (lambda x: (mg.tensor([True, False, True]) + 1), I64),
])
def test_promotion_follows_pytorch(backend, expr, expected):
    assert expr(f32(3)).dtype == expected


def test_result_type_table():
    assert promote_types("float32", "int64") == F32
    assert promote_types("int8", "uint8") == np.dtype("int16")
    assert promote_types("float16", "float32") == F32
    a32, a64 = np.zeros(3, "float32"), np.zeros(3, "float64")
    assert result_type(a32, np.zeros((), "float64")) == F32
    assert result_type(np.zeros(3, "int32"), 1.5) == F32
    assert result_type(np.zeros(3, "int32"), 7) == np.dtype("int32")
    assert result_type(np.zeros((), "int32"), np.zeros((), "float64")) == F64
    assert result_type(a32, a64) == F64


def test_gradients_come_back_in_each_input_dtype(backend):
    x = mg.randn(3, requires_grad=True)
    w = mg.tensor(np.ones(3), requires_grad=True)            # float64
    (x * w).sum().backward()
    assert x.grad.dtype == F32 and w.grad.dtype == F64


@pytest.mark.parametrize("op", [
    lambda a, b: a @ b, lambda a, b: mg.functional.linear(a, b),
    lambda a, b: mg.functional.einsum("ij,kj->ik", a, b)])
def test_matrix_products_refuse_mixed_dtypes(backend, op):
    with pytest.raises(TypeError, match="float32 \\(2, 3\\), float64 \\(3, 3\\)"):
        op(mg.randn(2, 3), mg.randn(3, 3, dtype="float64"))


def test_conv_refuses_float64_input_with_float32_weights(backend):
    conv = mg.nn.Conv2d(1, 2, 3)
    with pytest.raises(TypeError, match="conv2d: expected operands of one dtype"):
        conv(mg.randn(1, 1, 5, 5, dtype="float64"))
    assert conv.double()(mg.randn(1, 1, 5, 5, dtype="float64")).dtype == F64


def test_float_only_ops_refuse_integers(backend):
    with pytest.raises(TypeError, match="softmax: x must be a floating-point tensor, got dtype int64"):
        mg.functional.softmax(mg.arange(3))
    with pytest.raises(TypeError, match="cross_entropy"):
        mg.functional.cross_entropy(mg.tensor([[1, 2, 3]]), mg.tensor([0]))


# ------------------------------------------------------------- tensor() copies
def test_tensor_copies_and_from_numpy_shares(backend):
    a = np.arange(3.0)
    t, s = mg.tensor(a), mg.as_tensor(a)
    p = mg.nn.Parameter(a)
    a[0] = 100.0
    assert t.numpy()[0] == 0.0 and p.numpy()[0] == 0.0
    if backend == "numpy":                                   # host memory can be shared
        assert s.numpy()[0] == 100.0 and mg.from_numpy(a).numpy()[0] == 100.0


def test_tensor_of_a_tensor_is_a_detached_copy(backend):
    x = mg.randn(3, requires_grad=True)
    y = mg.tensor(x)
    assert not y.requires_grad
    with mg.no_grad():
        x.add_(1)
    assert not np.allclose(x.numpy(), y.numpy())


def test_tensor_of_0d_tensors_and_numpy_asarray(backend):
    t = mg.tensor([mg.tensor(1.5), mg.tensor(2.0)])
    assert t.dtype == F32 and t.shape == (2,) and t.backend == backend
    np.testing.assert_array_equal(np.asarray(t), [1.5, 2.0])
    assert np.asarray(mg.tensor([1, 2]), dtype=np.float64).dtype == F64
