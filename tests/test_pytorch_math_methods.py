"""Issue 11: the math, comparison, indexing and in-place methods PyTorch users type, the
grad_fn object, grad modes, backward(gradient=, inputs=) and the tensor print. Values are
compared with NumPy or with PyTorch's documented results written out by hand."""
import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad import F


def leaf(values, dtype="float64"):
    return mg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ------------------------------------------------------------------ grad_fn object
def test_grad_fn_is_an_object_with_name_and_next_functions():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    c = mg.tensor([5.0, 6.0], dtype="float64")
    y = a * b
    z = (y + c).sum()
    assert y.grad_fn.name() == "MulBackward"
    assert y.grad_fn == "Mul" and y.grad_fn == "MulBackward" and y.grad_fn != "Add"
    assert y.grad_fn is y.grad_fn                          # one object per recorded op
    (acc_a, ia), (acc_b, ib) = y.grad_fn.next_functions
    assert acc_a.name() == "AccumulateGrad" and acc_a.variable is a and ia == 0
    assert acc_b.variable is b and ib == 0
    add = z.grad_fn.next_functions[0][0]
    assert add.name() == "AddBackward"
    assert add.next_functions[0] == (y.grad_fn, 0)
    assert add.next_functions[1] == (None, 0)              # c needs no gradient
    assert repr(y.grad_fn).startswith("<MulBackward object at 0x")
    assert a.grad_fn is None and (a * 2).detach().grad_fn is None
    with mg.no_grad():
        assert (a * b).grad_fn is None


def test_grad_fn_output_index_of_a_multi_output_op():
    x = leaf([[3.0, 1.0, 2.0]])
    values = mg.sort(x, 1)[0]
    y = values * 1.0
    fn, index = y.grad_fn.next_functions[0]
    assert fn.name() == values.grad_fn.name() and index == 0


def test_grad_fn_lets_a_user_walk_the_whole_graph():
    w = leaf(np.ones((3, 2)))
    x = mg.tensor(np.ones((4, 3)))
    loss = mg.tanh(x @ w).sum()
    names, stack, seen = [], [loss.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        names.append(fn.name())
        stack.extend(f for f, _ in fn.next_functions)
    assert names == ["SumBackward", "TanhBackward", "MatMulBackward", "AccumulateGrad"]


# ------------------------------------------------------------------ grad modes
def test_set_grad_enabled_as_function_context_manager_and_decorator():
    x = leaf([1.0])
    try:
        mg.set_grad_enabled(False)
        assert not mg.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        mg.set_grad_enabled(True)
    assert mg.is_grad_enabled()
    with mg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with mg.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()

    @mg.set_grad_enabled(False)
    def f():
        return x * 2
    assert mg.is_grad_enabled()            # decorating does not switch the mode
    assert not f().requires_grad and mg.is_grad_enabled()
    with pytest.raises(TypeError, match="mode must be a bool"):
        mg.set_grad_enabled("no")


def test_inference_mode_is_no_grad():
    x = leaf([1.0])
    with mg.inference_mode():
        y = x * 2
        assert not mg.is_grad_enabled()
    with mg.inference_mode(False):
        assert (x * 2).requires_grad
    assert not y.requires_grad and mg.is_grad_enabled()

    @mg.inference_mode()
    def f():
        return x * 3

    @mg.inference_mode
    def g():
        return x * 3
    assert not f().requires_grad and not g().requires_grad and mg.is_grad_enabled()


def test_grad_mode_is_per_thread():
    seen = []
    with mg.set_grad_enabled(False):
        t = threading.Thread(target=lambda: seen.append(mg.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


# ------------------------------------------------------------------ backward arguments
def test_backward_gradient_keyword_and_old_name():
    x = leaf([1.0, 2.0])
    (x * x).backward(gradient=mg.tensor([1.0, 10.0], dtype="float64"))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 40.0])
    x.grad = None
    (x * x).backward(grad=mg.tensor([1.0, 1.0], dtype="float64"))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    with pytest.raises(TypeError, match="not both"):
        (x * x).backward(gradient=mg.ones(2), grad=mg.ones(2))


def test_backward_inputs_accumulates_only_there():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    h = a * b
    h.retain_grad()
    y = (h * h).sum()
    y.backward(inputs=[a], retain_graph=True)
    np.testing.assert_allclose(a.grad.numpy(), 2 * (a.numpy() * b.numpy()) * b.numpy())
    assert b.grad is None
    y.backward(inputs=a)                   # a single tensor, accumulating
    np.testing.assert_allclose(a.grad.numpy(), 4 * (a.numpy() * b.numpy()) * b.numpy())
    z = (a * b).sum()
    z.backward(inputs=[b], create_graph=True)
    np.testing.assert_allclose(b.grad.numpy(), a.numpy())
    assert b.grad.requires_grad


# ------------------------------------------------------------------ repr
def _repr(t):
    """repr(t) with the device suffix checked and removed (a CuPy-backend run prints it)."""
    text = repr(t)
    if t.backend != "numpy":
        assert "device='cuda:0'" in text
        text = text.replace(", device='cuda:0'", "")
    return text


def test_repr_matches_pytorch():
    assert _repr(mg.tensor([[1.0, 2.0]], requires_grad=True)) == "tensor([[1., 2.]], requires_grad=True)"
    assert _repr(mg.tensor([1, 2])) == "tensor([1, 2])"
    assert _repr(mg.tensor(3.5)) == "tensor(3.5000)"
    assert _repr(mg.tensor([1.0, 2.0], dtype="float64")) == "tensor([1., 2.], dtype=float64)"
    assert _repr(mg.tensor([1, 2], dtype="int32")) == "tensor([1, 2], dtype=int32)"
    assert _repr(mg.tensor([True, False])) == "tensor([ True, False])"
    assert _repr(mg.tensor([1.5, -2.25])) == "tensor([ 1.5000, -2.2500])"
    assert _repr(mg.tensor([1e-5, 1.0])) == "tensor([1.0000e-05, 1.0000e+00])"
    assert _repr(mg.tensor([])) == "tensor([])"
    assert _repr(mg.zeros((0, 3))) == "tensor([], size=(0, 3))"
    assert _repr(mg.tensor([float("nan"), 1.5])) == "tensor([   nan, 1.5000])"
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert _repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward>)"
    assert _repr(mg.tensor([[1.0, 2.0], [3.0, 4.0]])) == "tensor([[1., 2.],\n        [3., 4.]])"
    big = _repr(mg.arange(2000))
    assert big.startswith("tensor([   0,    1,    2,  ..., 1997, 1998, 1999")


# ------------------------------------------------------------------ comparisons
def test_comparisons_functions_and_methods():
    a = mg.tensor([1.0, 2.0, 3.0])
    b = mg.tensor([3.0, 2.0, 1.0])
    for name, op in [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less),
                     ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal)]:
        want = op(a.numpy(), b.numpy())
        np.testing.assert_array_equal(getattr(mg, name)(a, b).numpy(), want)
        np.testing.assert_array_equal(getattr(a, name)(b).numpy(), want)
        assert getattr(a, name)(2.0).dtype == bool
    np.testing.assert_array_equal(mg.greater(a, b).numpy(), [False, False, True])
    np.testing.assert_array_equal(mg.less(a, 2).numpy(), [True, False, False])
    assert mg.equal(a, mg.tensor([1.0, 2.0, 3.0])) is True
    assert mg.equal(a, b) is False and mg.equal(a, mg.tensor([1.0, 2.0])) is False
    assert not mg.eq(leaf([1.0]), 1.0).requires_grad
    with pytest.raises(ValueError, match="eq: shapes"):
        mg.eq(mg.ones(3), mg.ones(2))


def test_isclose_allclose_isnan_isinf_isfinite_nonzero():
    a = mg.tensor([1.0, float("nan"), float("inf"), -float("inf"), 0.0])
    np.testing.assert_array_equal(mg.isnan(a).numpy(), [False, True, False, False, False])
    np.testing.assert_array_equal(a.isinf().numpy(), [False, False, True, True, False])
    np.testing.assert_array_equal(mg.isfinite(a).numpy(), [True, False, False, False, True])
    x = mg.tensor([1.0, 2.0])
    y = mg.tensor([1.0 + 1e-6, 2.1])
    np.testing.assert_array_equal(mg.isclose(x, y).numpy(), [True, False])
    assert mg.allclose(x, mg.tensor([1.0, 2.0 + 1e-6])) and not x.allclose(y)
    assert mg.allclose(x, y, atol=0.2)
    n = mg.tensor([[0, 1], [2, 0]])
    np.testing.assert_array_equal(mg.nonzero(n).numpy(), [[0, 1], [1, 0]])
    assert mg.nonzero(n).dtype == np.int64
    rows, cols = n.nonzero(as_tuple=True)
    np.testing.assert_array_equal(rows.numpy(), [0, 1])
    np.testing.assert_array_equal(cols.numpy(), [1, 0])


# ------------------------------------------------------------------ floor_divide, remainder
def test_floor_divide_rounds_down_and_keeps_integers():
    a = mg.tensor([7, -7, 7, -7])
    b = mg.tensor([2, 2, -2, -2])
    q = a // b
    np.testing.assert_array_equal(q.numpy(), [3, -4, -4, 3])     # Python's //
    assert q.dtype == np.int64
    f = mg.tensor([7.5, -7.5]) // 2
    np.testing.assert_array_equal(f.numpy(), [3.0, -4.0])
    assert f.dtype == np.float32
    np.testing.assert_array_equal((7 // mg.tensor([2, -2])).numpy(), [3, -4])
    x = leaf([3.5])
    assert not mg.floor_divide(x, 2).requires_grad
    with pytest.raises(ZeroDivisionError, match="floor_divide"):
        mg.tensor([1]) // 0


def test_remainder_follows_python_sign_and_differentiates():
    a = np.array([7.0, -7.0, 7.0, -7.0])
    b = np.array([2.0, 2.0, -2.0, -2.0])
    np.testing.assert_array_equal((mg.tensor(a) % mg.tensor(b)).numpy(), [1.0, 1.0, -1.0, -1.0])
    np.testing.assert_array_equal(mg.fmod(mg.tensor(a), mg.tensor(b)).numpy(), [1.0, -1.0, 1.0, -1.0])
    np.testing.assert_array_equal((mg.tensor([7, -7]) % 3).numpy(), [1, 2])
    x, y = leaf([5.5, -1.25]), leaf([2.0, 1.0])
    mg.remainder(x, y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])
    np.testing.assert_allclose(y.grad.numpy(), -np.floor(np.array([5.5, -1.25]) / [2.0, 1.0]))
    np.testing.assert_array_equal((10.0 % mg.tensor([3.0])).numpy(), [1.0])


def test_rounding_family_has_zero_gradient():
    v = [-1.5, -0.5, 0.4, 2.5, 2.6]
    x = leaf(v)
    for fn, want in [(mg.floor, np.floor(v)), (mg.ceil, np.ceil(v)), (mg.round, np.round(v)),
                     (mg.trunc, np.trunc(v)), (mg.sign, np.sign(v))]:
        y = fn(x)
        np.testing.assert_array_equal(y.numpy(), want)
        x.grad = None
        y.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros(5))
    np.testing.assert_allclose(mg.round(mg.tensor([1.2345]), decimals=2).numpy(), [1.23])
    assert mg.floor(mg.tensor([1, 2])).dtype == np.int64


def test_square_reciprocal_logs_exp2_clamp_min_max():
    v = np.array([0.5, 2.0, 4.0])
    x = leaf(v)
    np.testing.assert_allclose(mg.square(x).numpy(), v ** 2)
    np.testing.assert_allclose(x.reciprocal().numpy(), 1 / v)
    np.testing.assert_allclose(mg.log2(x).numpy(), np.log2(v))
    np.testing.assert_allclose(mg.log10(x).numpy(), np.log10(v))
    np.testing.assert_allclose(mg.exp2(x).numpy(), np.exp2(v))
    (mg.log2(x) + mg.exp2(x) + mg.square(x)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 / (v * np.log(2)) + np.exp2(v) * np.log(2) + 2 * v)
    np.testing.assert_allclose(mg.reciprocal(mg.tensor([2, 4])).numpy(), [0.5, 0.25])
    y = leaf([-1.0, 0.5, 3.0])
    np.testing.assert_array_equal(mg.clamp_min(y, 0.0).numpy(), [0.0, 0.5, 3.0])
    np.testing.assert_array_equal(y.clamp_max(1.0).numpy(), [-1.0, 0.5, 1.0])
    y.clamp_min(0.0).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [0.0, 1.0, 1.0])


def test_clamp_with_tensor_bounds():
    x = leaf([-2.0, 0.5, 3.0])
    lo = leaf([-1.0, -1.0, -1.0])
    hi = leaf([1.0, 1.0, 2.0])
    y = mg.clamp(x, min=lo, max=hi)
    np.testing.assert_array_equal(y.numpy(), [-1.0, 0.5, 2.0])
    (y * mg.tensor([1.0, 2.0, 3.0], dtype="float64")).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 2.0, 0.0])
    np.testing.assert_array_equal(lo.grad.numpy(), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(hi.grad.numpy(), [0.0, 0.0, 3.0])


def test_activation_methods_route_to_functional():
    v = np.array([[-1.0, 0.5, 2.0], [0.0, 1.0, -3.0]])
    x = mg.tensor(v)
    e = np.exp(v - v.max(axis=1, keepdims=True))
    np.testing.assert_allclose(x.softmax(1).numpy(), e / e.sum(axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(x.softmax(dim=0).numpy().sum(axis=0), [1, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(x.log_softmax(1).numpy(),
                               np.log(e / e.sum(axis=1, keepdims=True)), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(x.relu().numpy(), np.maximum(v, 0))
    np.testing.assert_allclose(x.sigmoid().numpy(), 1 / (1 + np.exp(-v)), rtol=1e-6)
    np.testing.assert_allclose(x.tanh().numpy(), np.tanh(v), rtol=1e-6)
    np.testing.assert_allclose(x.gelu().numpy(), F.gelu(x).numpy())


# ------------------------------------------------------------------ matrix products, distances
def test_mm_bmm_t_outer():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(mg.mm(mg.tensor(a), mg.tensor(b)).numpy(), a @ b, rtol=1e-6)
    np.testing.assert_allclose(mg.tensor(a).mm(mg.tensor(b)).numpy(), a @ b, rtol=1e-6)
    with pytest.raises(ValueError, match="mm: both operands must be 2-D"):
        mg.mm(mg.tensor(a), mg.tensor(rng.standard_normal(3)))
    with pytest.raises(ValueError, match=r"mm: shapes \(2, 3\) and \(2, 3\)"):
        mg.mm(mg.tensor(a), mg.tensor(a))
    A, B = rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 3, 4))
    np.testing.assert_allclose(mg.bmm(mg.tensor(A), mg.tensor(B)).numpy(), A @ B, rtol=1e-6)
    with pytest.raises(ValueError, match="bmm: shapes"):
        mg.bmm(mg.tensor(A), mg.tensor(B[:1]))
    with pytest.raises(ValueError, match="bmm: both operands must be 3-D"):
        mg.bmm(mg.tensor(a), mg.tensor(b))
    np.testing.assert_array_equal(mg.tensor(a).t().numpy(), a.T)
    np.testing.assert_array_equal(mg.t(mg.tensor([1.0, 2.0])).numpy(), [1.0, 2.0])
    with pytest.raises(ValueError, match="t: expects a tensor with at most 2 dimensions"):
        mg.tensor(A).t()
    u, v = leaf([1.0, 2.0]), leaf([3.0, 4.0, 5.0])
    o = mg.outer(u, v)
    np.testing.assert_array_equal(o.numpy(), np.outer([1, 2], [3, 4, 5]))
    o.sum().backward()
    np.testing.assert_array_equal(u.grad.numpy(), [12.0, 12.0])
    np.testing.assert_array_equal(v.grad.numpy(), [3.0, 3.0, 3.0])


def test_dist_values_and_zero_distance_gradient():
    a, b = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -1.0])
    d = a - b
    for p, want in [(2, np.sqrt((d ** 2).sum())), (1, np.abs(d).sum()),
                    (3, (np.abs(d) ** 3).sum() ** (1 / 3)), (float("inf"), np.abs(d).max()),
                    (0, 4.0)]:
        np.testing.assert_allclose(mg.dist(mg.tensor(a), mg.tensor(b), p=p).numpy(), want)
    x, y = leaf([1.0, 2.0]), leaf([1.0, 2.0])
    mg.dist(x, y).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])     # PyTorch: 0 at zero distance
    x, y = leaf([3.0, 0.0]), leaf([0.0, 4.0])
    x.dist(y).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.6, -0.8])
    np.testing.assert_allclose(y.grad.numpy(), [-0.6, 0.8])


def test_cdist_batched_values_and_zero_distance_gradient():
    rng = np.random.default_rng(1)
    x1, x2 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    want = np.sqrt(((x1[:, :, None, :] - x2[:, None, :, :]) ** 2).sum(-1))
    np.testing.assert_allclose(mg.cdist(mg.tensor(x1), mg.tensor(x2)).numpy(), want, rtol=1e-5)
    want1 = np.abs(x1[0][:, None] - x2[0][None]).sum(-1)
    np.testing.assert_allclose(mg.cdist(mg.tensor(x1[0]), mg.tensor(x2[0]), p=1).numpy(), want1,
                               rtol=1e-5)
    a = leaf([[0.0, 0.0], [3.0, 4.0]])
    b = leaf([[0.0, 0.0]])
    mg.cdist(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [[0.0, 0.0], [0.6, 0.8]])
    np.testing.assert_allclose(b.grad.numpy(), [[-0.6, -0.8]])
    with pytest.raises(ValueError, match="cdist"):
        mg.cdist(mg.ones((3, 2)), mg.ones((3, 4)))


# ------------------------------------------------------------------ repeat, tile, repeat_interleave
def test_repeat_tile_repeat_interleave():
    v = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = leaf(v)
    np.testing.assert_array_equal(x.repeat(2, 3).numpy(), np.tile(v, (2, 3)))
    np.testing.assert_array_equal(x.repeat(2, 1, 1).numpy(), np.tile(v, (2, 1, 1)))
    with pytest.raises(ValueError, match="repeat: give at least 2 sizes"):
        x.repeat(2)
    np.testing.assert_array_equal(mg.tile(x, (3,)).numpy(), np.tile(v, (1, 3)))
    np.testing.assert_array_equal(x.tile((2, 1)).numpy(), np.tile(v, (2, 1)))
    x.repeat(2, 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 2), 6.0))
    np.testing.assert_array_equal(mg.repeat_interleave(mg.tensor([1, 2, 3]), 2).numpy(),
                                  [1, 1, 2, 2, 3, 3])
    np.testing.assert_array_equal(mg.repeat_interleave(x, 2).numpy(), np.repeat(v.ravel(), 2))
    y = leaf(v)
    r = y.repeat_interleave(mg.tensor([1, 2]), dim=0)
    np.testing.assert_array_equal(r.numpy(), [[1.0, 2.0], [3.0, 4.0], [3.0, 4.0]])
    r.sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [[1.0, 1.0], [2.0, 2.0]])


# ------------------------------------------------------------------ gather, one_hot, scatter, index_add
def test_gather_takes_pytorch_argument_order():
    v = np.array([[1.0, 2.0], [3.0, 4.0]])
    idx = mg.tensor([[0, 0], [1, 0]])
    want = [[1.0, 1.0], [4.0, 3.0]]                       # PyTorch docs' torch.gather example
    np.testing.assert_array_equal(F.gather(mg.tensor(v), 1, idx).numpy(), want)
    np.testing.assert_array_equal(mg.tensor(v).gather(1, idx).numpy(), want)
    np.testing.assert_array_equal(F.gather(mg.tensor(v), idx, 1).numpy(), want)  # old order
    np.testing.assert_array_equal(F.gather(mg.tensor(v), np.int64(1), idx).numpy(), want)
    np.testing.assert_array_equal(F.take_along_axis(mg.tensor(v), idx, 1).numpy(), want)
    # an index smaller than input outside dim reads the leading part (PyTorch), no broadcast
    x = leaf(np.arange(12.0).reshape(3, 4))
    g = x.gather(1, mg.tensor([[3, 0]]))
    np.testing.assert_array_equal(g.numpy(), [[3.0, 0.0]])
    g.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
    with pytest.raises(ValueError, match="gather: index of shape"):
        x.gather(1, mg.tensor([[0], [0], [0], [0]]))


def test_one_hot_is_int64_and_infers_num_classes():
    oh = F.one_hot(mg.tensor([0, 2, 1]))
    assert oh.dtype == np.int64
    np.testing.assert_array_equal(oh.numpy(), np.eye(3, dtype=np.int64)[[0, 2, 1]])
    assert F.one_hot(mg.tensor([1]), num_classes=4).shape == (1, 4)
    assert F.one_hot(mg.tensor([1]), 4, dtype="float32").dtype == np.float32


def test_index_add_values_and_gradients():
    x = leaf(np.zeros((5, 3)))
    t = leaf(np.arange(9.0).reshape(3, 3))
    y = mg.index_add(x, 0, mg.tensor([0, 4, 2]), t)          # the PyTorch docs' example
    np.testing.assert_array_equal(y.numpy(), [[0, 1, 2], [0, 0, 0], [6, 7, 8], [0, 0, 0], [3, 4, 5]])
    y2 = x.index_add(0, mg.tensor([1, 1, 1]), t, alpha=2.0)   # repeated indices add up
    np.testing.assert_array_equal(y2.numpy()[1], 2 * np.arange(9.0).reshape(3, 3).sum(0))
    g = np.arange(15.0).reshape(5, 3)
    (y * mg.tensor(g)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), g)
    np.testing.assert_array_equal(t.grad.numpy(), g[[0, 4, 2]])
    with pytest.raises(ValueError, match="index_add: source of shape"):
        mg.index_add(x, 0, mg.tensor([0, 1]), t)
    with pytest.raises(IndexError, match="index_add: index out of range"):
        mg.index_add(x, 0, mg.tensor([0, 1, 5]), t)


def test_scatter_and_scatter_add_values_and_gradients():
    src = leaf(np.arange(1.0, 11.0).reshape(2, 5))
    index = mg.tensor([[0, 1, 2, 0]])
    x = leaf(np.zeros((3, 5)))
    y = mg.scatter(x, 0, index, src)                      # the PyTorch docs' example
    np.testing.assert_array_equal(y.numpy(), [[1, 0, 0, 4, 0], [0, 2, 0, 0, 0], [0, 0, 3, 0, 0]])
    g = np.arange(15.0).reshape(3, 5)
    (y * mg.tensor(g)).sum().backward()
    written = np.zeros((3, 5), bool)
    written[[0, 1, 2, 0], [0, 1, 2, 3]] = True
    np.testing.assert_array_equal(x.grad.numpy(), np.where(written, 0.0, g))
    np.testing.assert_array_equal(src.grad.numpy(), [[0, 6, 12, 3, 0], [0, 0, 0, 0, 0]])
    filled = mg.tensor(np.zeros((2, 4))).scatter(1, mg.tensor([[2], [3]]), value=1.23)
    np.testing.assert_allclose(filled.numpy(), [[0, 0, 1.23, 0], [0, 0, 0, 1.23]])
    with pytest.raises(ValueError, match="scatter: .*more than once"):
        mg.scatter(x, 0, mg.tensor([[0, 0]]).reshape(2, 1), src)
    s = leaf(np.ones((2, 5)))
    base = leaf(np.zeros((3, 5)))
    z = mg.scatter_add(base, 0, mg.tensor([[0, 1, 2, 0, 0], [2, 0, 0, 1, 2]]), s)
    np.testing.assert_array_equal(z.numpy(), [[1, 1, 1, 1, 1], [0, 1, 0, 1, 0], [1, 0, 1, 0, 1]])
    (z * mg.tensor(g)).sum().backward()
    np.testing.assert_array_equal(base.grad.numpy(), g)
    np.testing.assert_array_equal(s.grad.numpy(), [[0, 6, 12, 3, 4], [10, 1, 2, 8, 14]])


def test_index_fill_and_masked_select():
    x = leaf(np.arange(6.0).reshape(2, 3))
    y = mg.index_fill(x, 1, mg.tensor([0, 2]), -1.0)
    np.testing.assert_array_equal(y.numpy(), [[-1, 1, -1], [-1, 4, -1]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [0, 1, 0]])
    m = mg.tensor([True, False, True])
    np.testing.assert_array_equal(mg.masked_select(x, m).numpy(), [0, 2, 3, 5])
    np.testing.assert_array_equal(x.masked_select(x > 2).numpy(), [3, 4, 5])


# ------------------------------------------------------------------ in-place methods
def test_inplace_math_methods_bump_the_version_and_match_out_of_place():
    v = np.array([0.5, 1.0, 2.0])
    for name, want in [("exp_", np.exp(v)), ("sqrt_", np.sqrt(v)), ("neg_", -v),
                       ("abs_", np.abs(v)), ("tanh_", np.tanh(v)), ("sigmoid_", 1 / (1 + np.exp(-v))),
                       ("relu_", np.maximum(v, 0)), ("log_", np.log(v)), ("floor_", np.floor(v)),
                       ("square_", v ** 2), ("reciprocal_", 1 / v)]:
        t = mg.tensor(v.copy())
        before = t._version
        out = getattr(t, name)()
        assert out is t and t._version == before + 1, name
        np.testing.assert_allclose(t.numpy(), want, rtol=1e-6, err_msg=name)
    t = mg.tensor(v.copy())
    t.clamp_(0.8, 1.5)
    np.testing.assert_array_equal(t.numpy(), [0.8, 1.0, 1.5])
    t.fill_(2.0).mul_(3.0).add_(1.0).sub_(2.0).div_(5.0)
    np.testing.assert_allclose(t.numpy(), [1.0, 1.0, 1.0])
    t.zero_()
    np.testing.assert_array_equal(t.numpy(), [0.0, 0.0, 0.0])
    t.copy_(mg.tensor([4.0, 5.0, 6.0]))
    t.masked_fill_(mg.tensor([True, False, False]), -1.0)
    np.testing.assert_array_equal(t.numpy(), [-1.0, 5.0, 6.0])
    i = mg.tensor([7, 8])
    with pytest.raises(TypeError, match="exp_: the result of dtype float32"):
        i.exp_()


def test_inplace_follows_the_existing_rule_on_tensors_that_require_grad():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="exp_: in-place change of a leaf tensor that requires grad"):
        x.exp_()
    with pytest.raises(RuntimeError, match="relu_: in-place change of a tensor in the graph"):
        (x * 2).relu_()
    with mg.no_grad():
        x.exp_()
    np.testing.assert_allclose(x.numpy(), np.exp([1.0, 2.0]))
    y = leaf([1.0, 2.0])
    z = y.exp()
    w = z.detach()
    w.mul_(2.0)                      # changes z's saved output: backward must refuse it
    with pytest.raises(RuntimeError, match="modified in place"):
        z.sum().backward()


def test_inplace_index_methods():
    x = mg.tensor(np.zeros((3, 2)))
    x.index_add_(0, mg.tensor([0, 0, 2]), mg.tensor(np.ones((3, 2))))
    np.testing.assert_array_equal(x.numpy(), [[2, 2], [0, 0], [1, 1]])
    x.scatter_(1, mg.tensor([[1], [0], [1]]), mg.tensor(np.full((3, 1), 9.0)))
    np.testing.assert_array_equal(x.numpy(), [[2, 9], [9, 0], [1, 9]])
    x.scatter_add_(0, mg.tensor([[1, 1]]), mg.tensor([[1.0, 1.0]], dtype="float64"))
    np.testing.assert_array_equal(x.numpy(), [[2, 9], [10, 1], [1, 9]])
    x.index_fill_(0, mg.tensor([1]), 0.0)
    np.testing.assert_array_equal(x.numpy(), [[2, 9], [0, 0], [1, 9]])
    assert x._version == 4


def test_sub_inplace_takes_alpha_and_ops_keep_dtype():
    t = mg.tensor([5.0, 5.0])
    t.sub_(mg.tensor([1.0, 2.0]), alpha=2)
    np.testing.assert_array_equal(t.numpy(), [3.0, 1.0])
    assert (mg.tensor([1.0]) % 2).dtype == np.float32
    assert (mg.tensor([3]) % mg.tensor([2])).dtype == np.int64
