"""The engine itself: tape, broadcasting, modes, in-place safety, hooks, dtypes, errors."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import Function, gradcheck
from minigrad.gradcheck import GradcheckError, check_backward_rule


def leaf(array, dtype="float64"):
    return mg.tensor(np.asarray(array, dtype=dtype), requires_grad=True)


# ------------------------------------------------------------------ broadcasting
@pytest.mark.parametrize("shape_a, shape_b", [((3, 1), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 3)),
                                              ((1, 1), (5, 2))])
def test_broadcast_gradients_are_summed_back_to_each_input(backend, shape_a, shape_b, rng):
    a = leaf(rng.standard_normal(shape_a))
    b = leaf(rng.standard_normal(shape_b))
    out = a * b + a
    weight = rng.standard_normal(out.shape)
    (out * mg.tensor(weight)).sum().backward()
    bb = np.broadcast_to(b.numpy(), out.shape)
    expected_a = (weight * (bb + 1)).reshape((-1,) + shape_a).sum(0) if shape_a == () else None
    full_a = weight * (bb + 1)
    full_b = weight * np.broadcast_to(a.numpy(), out.shape)
    assert a.grad.shape == shape_a and b.grad.shape == shape_b
    np.testing.assert_allclose(a.grad.numpy(), _sum_to(full_a, shape_a))
    np.testing.assert_allclose(b.grad.numpy(), _sum_to(full_b, shape_b))
    if expected_a is not None:
        np.testing.assert_allclose(a.grad.numpy(), expected_a)


def _sum_to(g, shape):
    while g.ndim > len(shape):
        g = g.sum(0)
    for i, n in enumerate(shape):
        if n == 1:
            g = g.sum(i, keepdims=True)
    return g


def test_scalar_operands_keep_float32():
    x = mg.tensor([1.0, 2.0])
    assert x.dtype == np.float32
    for y in (x * 2.5, 2.5 - x, x / 3, x ** 2, 1.0 + x):
        assert y.dtype == np.float32


# ------------------------------------------------------------------ the tape
def test_backward_frees_the_graph_and_a_second_backward_says_so():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * x.numpy())


def test_fan_out_accumulates_gradients_from_every_use():
    x = leaf([3.0])
    y = x * x + x.exp() + x
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 3.0 + np.exp(3.0) + 1)


def test_a_leaf_used_twice_in_one_op_gets_both_gradients():
    x = leaf([1.5, -2.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())


def test_gradients_of_two_leaves_are_independent_arrays():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()
    a.grad.data *= 10
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])


def test_backward_of_a_non_scalar_needs_a_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="non-scalar.*shape \\(2,\\)"):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 20.0])


def test_backward_without_any_input_requiring_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (mg.tensor([1.0]) * 2).sum().backward()


def test_grad_returns_gradients_without_touching_dot_grad():
    x = leaf([1.0, 2.0])
    y = (x ** 3).sum()
    g, = mg.grad(y, [x])
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    assert x.grad is None


def test_long_chains_do_not_hit_the_recursion_limit():
    x = leaf([1.0])
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 5000])


# ------------------------------------------------------------------ modes
def test_no_grad_records_nothing_and_restores_the_mode():
    x = leaf([1.0])
    with mg.no_grad():
        y = x * 2
        with mg.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn == "Mul"
    assert mg.is_grad_enabled()


def test_no_grad_works_as_a_decorator():
    @mg.no_grad()
    def double(t):
        return t * 2
    assert not double(leaf([1.0])).requires_grad
    assert mg.is_grad_enabled()


def test_detach_cuts_the_tape():
    x = leaf([2.0])
    y = x * x.detach()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0])


# ------------------------------------------------------------------ in-place safety
def test_changing_a_saved_tensor_in_place_before_backward_is_an_error():
    x = leaf([1.0, 2.0])
    w = mg.tensor(np.array([3.0, 4.0]))
    y = (x * w).sum()
    w.add_(1.0)
    with pytest.raises(RuntimeError, match="Mul.backward needs a tensor of shape \\(2,\\).*modified in place"):
        y.backward()


def test_in_place_change_of_a_leaf_that_requires_grad_is_refused_outside_no_grad():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="in-place change of a leaf tensor that requires grad"):
        x.add_(1.0)
    with mg.no_grad():
        x.add_(1.0)
        x[0] = 5.0
    np.testing.assert_allclose(x.numpy(), [5.0])
    assert x._version == 2


def test_in_place_change_of_an_unsaved_tensor_is_fine():
    x = leaf([1.0, 2.0])
    b = mg.tensor(np.array([1.0, 1.0]))
    y = (x + b).sum()  # Add saves nothing
    b.mul_(3.0)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


# ------------------------------------------------------------------ hooks
def test_tensor_hooks_see_and_can_replace_gradients():
    x = leaf([1.0, 2.0])
    seen = []
    h = x.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = x * 3
    y.register_hook(lambda g: g * 2)  # doubles what flows back through y
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [6.0, 6.0])
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])
    h.remove()
    x.grad = None
    (x * 1).sum().backward()
    assert len(seen) == 1


def test_retain_grad_keeps_the_gradient_of_an_intermediate():
    x = leaf([1.0, 2.0])
    h = (x * x).retain_grad()
    (h * 3).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [3.0, 3.0])


# ------------------------------------------------------------------ dtypes and values
def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        mg.tensor([1, 2], requires_grad=True)


def test_comparisons_and_argmax_are_not_differentiable():
    x = leaf([1.0, 3.0, 2.0])
    assert not (x > 1.5).requires_grad and (x > 1.5).dtype == bool
    assert mg.argmax(x).item() == 1 and not mg.argmax(x).requires_grad
    oh = mg.one_hot(mg.tensor([0, 2]), 3)
    np.testing.assert_array_equal(oh.numpy(), [[1, 0, 0], [0, 0, 1]])


def test_cast_passes_gradients_back_in_the_input_dtype():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * 2).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_item_numpy_and_properties():
    x = mg.tensor([[1.0, 2.0, 3.0]])
    assert x.shape == (1, 3) and x.ndim == 2 and x.numel() == 3 and x.dtype == np.float32
    assert x.sum().item() == 6.0
    with pytest.raises(ValueError, match="item\\(\\) needs a tensor with one element"):
        x.item()


@pytest.mark.parametrize("index", [1, (slice(None), 0), (None, Ellipsis), np.array([0, 0, 1]),
                                   np.array([[True, False, True], [False, True, True]])])
def test_getitem_gradients(index):
    x = leaf(np.arange(6.0).reshape(2, 3))
    x[index].sum().backward()
    expected = np.zeros((2, 3))
    np.add.at(expected, index, 1.0)
    np.testing.assert_allclose(x.grad.numpy(), expected)


# ------------------------------------------------------------------ clear errors
def test_shape_errors_name_the_op_and_the_shapes():
    with pytest.raises(ValueError, match="matmul: shapes \\(2, 3\\) and \\(4, 5\\)"):
        mg.tensor(np.ones((2, 3))) @ mg.tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match="reshape: cannot reshape a tensor of shape \\(2, 3\\)"):
        mg.tensor(np.ones((2, 3))).reshape(4, 2)
    with pytest.raises(ValueError, match="concatenate: shapes \\(2, 3\\) and \\(2, 4\\)"):
        mg.cat([mg.tensor(np.ones((2, 3))), mg.tensor(np.ones((2, 4)))])
    with pytest.raises(ValueError, match="masked_fill: mask of shape \\(3,\\) does not broadcast"):
        mg.masked_fill(mg.tensor(np.ones((2, 4))), np.array([True, False, True]), 0.0)
    with pytest.raises(ValueError, match="one_hot: indices must lie in \\[0, 3\\)"):
        mg.one_hot(mg.tensor([0, 3]), 3)
    with pytest.raises(TypeError, match="take_along_axis: indices must be an integer array"):
        mg.take_along_axis(mg.tensor(np.ones((2, 3))), np.zeros((2, 1)), 1)


def test_unknown_backend_lists_the_valid_ones():
    with pytest.raises(mg.BackendError, match="unknown backend 'tpu'; valid backends are: numpy, cupy"):
        mg.set_backend("tpu")


def test_debug_mode_names_the_op_where_a_nan_appears():
    x = leaf([1.0, -1.0])
    with pytest.warns(RuntimeWarning), mg.set_debug():
        with pytest.raises(FloatingPointError, match="debug mode: Log produced NaN in its output"):
            mg.log(x)
    with mg.set_debug():
        y = mg.sqrt(mg.tensor(np.array([0.0, 1.0]), requires_grad=True))
        with pytest.warns(RuntimeWarning), pytest.raises(FloatingPointError, match="Sqrt.backward produced inf"):
            y.sum().backward()
    mg.log(mg.tensor([1.0]))  # debug mode is off again


# ------------------------------------------------------------------ the checker itself
class _WrongSquare(Function):
    """A deliberately wrong backward (3x instead of 2x), to prove gradcheck catches it."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return 3 * x * gy


@pytest.mark.parametrize("n", [3, 200, 2000])  # full Jacobian, VJP, random directions
def test_gradcheck_catches_a_wrong_backward_in_every_mode(n, rng):
    x = leaf(rng.uniform(0.5, 1.0, n))
    with pytest.raises(GradcheckError, match="analytic .* numeric"):
        gradcheck(_WrongSquare.apply, [x])
    assert gradcheck(lambda t: t * t, [x]).ok


def test_gradcheck_reports_the_worst_element():
    x = leaf([1.0, 2.0])
    result = gradcheck(_WrongSquare.apply, [x], raise_on_fail=False)
    assert not result.ok and result.mode == "jacobian"
    assert result.worst.index == (1, 1) and result.worst.analytic == pytest.approx(6.0)
    assert result.worst.numeric == pytest.approx(4.0)


def test_gradcheck_refuses_float32():
    with pytest.raises(TypeError, match="gradcheck needs float64"):
        gradcheck(lambda t: t * 2, [mg.tensor([1.0], requires_grad=True)])


def test_custom_backward_rules_are_checked_against_the_given_rule():
    x = leaf([0.5, -2.0])
    assert check_backward_rule(_WrongSquare.apply, [x], lambda a, kw, gy: [3 * a[0] * gy]) == 0.0
    with pytest.raises(GradcheckError, match="differs from the documented rule"):
        check_backward_rule(_WrongSquare.apply, [x], lambda a, kw, gy: [2 * a[0] * gy])


def test_dropout_is_reproducible_with_manual_seed():
    x = mg.ones(100)
    mg.manual_seed(3)
    a = mg.dropout(x, 0.5).numpy()
    mg.manual_seed(3)
    b = mg.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) == {0.0, 2.0}
    np.testing.assert_array_equal(mg.dropout(x, 0.5, training=False).numpy(), x.numpy())


def test_full_reductions_give_arrays_that_mix_with_tensors():
    x = leaf([1.0, 2.0])
    y = x + x.sum()  # NumPy returns a scalar for a full reduction; the engine keeps an array
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_logsumexp_of_a_row_of_minus_infinity_has_a_zero_gradient():
    x = leaf([[-np.inf, -np.inf], [0.0, 1.0]])
    y = mg.logsumexp(x, axis=1)
    assert y.numpy()[0] == -np.inf
    y[1].backward()
    assert np.isfinite(x.grad.numpy()).all()
    x2 = leaf([[-np.inf, -np.inf]])
    x2.logsumexp(axis=1).sum().backward()
    np.testing.assert_array_equal(x2.grad.numpy(), [[0.0, 0.0]])
