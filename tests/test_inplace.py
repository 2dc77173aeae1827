"""In-place changes the tape must see: one version counter per memory (a tensor, its views,
its detached aliases and its base share it), checked for every saved array, inputs and
outputs alike. Each case either raises the in-place error or gives the right gradient."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigrad as mg
from minigrad.gradcheck import gradcheck

MODIFIED = "modified in place"


def test_a_saved_output_changed_in_place_is_caught(backend):
    x = mg.tensor(np.arange(4.0), requires_grad=True)
    for op in (mg.exp, mg.sigmoid, mg.tanh, lambda t: mg.functional.softmax(t, -1)):
        y = op(x)
        with mg.no_grad():
            y.mul_(2)
        with pytest.raises(RuntimeError, match=MODIFIED):
            y.sum().backward()


def test_a_detached_alias_shares_the_version_counter(backend):
    w = mg.tensor(np.ones(3), requires_grad=True)
    loss = (w * w).sum()
    w.detach().mul_(10)
    with pytest.raises(RuntimeError, match="Mul.backward needs a tensor of shape \\(3,\\)"):
        loss.backward()


def test_a_saved_view_sees_its_base_change(backend):
    big = mg.tensor(np.arange(6.0))
    view = big[0:3]
    a = mg.tensor(np.ones(3), requires_grad=True)
    loss = (a * view).sum()
    big.add_(1)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_a_base_sees_its_view_change(backend):
    q = mg.tensor(np.arange(6.0), requires_grad=True)
    loss = (q * q).sum()
    with mg.no_grad():
        q.reshape(2, 3)[0].add_(1)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_a_reshaped_view_of_a_leaf_changed_under_no_grad_is_caught(backend):
    q = mg.tensor(np.arange(6.0), requires_grad=True)
    loss = (q.reshape(2, 3) ** 2).sum()
    with mg.no_grad():
        q.add_(1)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_a_copy_is_independent_and_its_gradient_is_right(backend):
    c = mg.tensor(np.arange(6.0))
    copy = c * 1.0
    p = mg.tensor(np.ones(6), requires_grad=True)
    loss = (p * copy).sum()
    c.add_(100)
    loss.backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.arange(6.0))


def test_a_parameter_wrapping_a_tensor_shares_its_counter(backend):
    t = mg.tensor(np.ones(3))
    p = mg.nn.Parameter(t)
    x = mg.tensor(np.ones(3), requires_grad=True)
    loss = (x * p).sum()
    t.add_(1)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_changes_after_backward_do_not_matter(backend):
    x = mg.tensor(np.arange(3.0), requires_grad=True)
    y = x.exp()
    y.sum().backward()
    with mg.no_grad():
        y.mul_(2)
    np.testing.assert_allclose(x.grad.numpy(), np.exp(np.arange(3.0)))


# ------------------------------------------------------------------ property test
_UNARY = {"exp": lambda t: (t * 0.3).exp(), "tanh": mg.tanh, "sigmoid": mg.sigmoid,
          "square": lambda t: t * t, "softmax": lambda t: mg.functional.softmax(t, -1),
          "reshape": lambda t: t.reshape(2, 3).reshape(6), "slice": lambda t: t[1:] * 2.0,
          "sum_keep": lambda t: t - t.sum() / 6.0}


@settings(max_examples=80, deadline=None)
@given(ops=st.lists(st.sampled_from(sorted(_UNARY)), min_size=1, max_size=4),
       edit_at=st.integers(0, 4), how=st.sampled_from(["tensor", "detached", "view", "reshaped"]))
def test_random_graphs_with_in_place_edits_raise_or_are_right(ops, edit_at, how):
    """A chain of registered ops; after the forward, one in-place edit of the input or of an
    intermediate (through the tensor, a detached alias, a slice or a reshaped view). Then
    backward either raises the in-place error, or gives the gradient of the function as it
    was computed, checked against central finite differences."""
    x0 = np.linspace(-1.0, 1.0, 6)

    def f(x):
        hs = [x]
        for name in ops:
            hs.append(_UNARY[name](hs[-1]))
            if hs[-1].shape == (5,):
                hs[-1] = mg.concatenate([hs[-1], hs[-1][:1]])
        return (hs[-1] * hs[-1]).sum(), hs

    reference = gradcheck(lambda t: f(t)[0], [mg.tensor(x0, requires_grad=True)])
    assert reference.ok
    x = mg.tensor(x0, requires_grad=True)
    loss, hs = f(x)
    target = hs[min(edit_at, len(hs) - 1)]
    with mg.no_grad():
        alias = {"tensor": lambda t: t, "detached": lambda t: t.detach(),
                 "view": lambda t: t[1:4], "reshaped": lambda t: t.reshape(2, 3)}[how](target)
        alias.mul_(1.5)
    try:
        loss.backward()
    except RuntimeError as err:
        assert MODIFIED in str(err)
        return
    expected = mg.tensor(x0, requires_grad=True)
    f(expected)[0].backward()
    np.testing.assert_allclose(x.grad.numpy(), expected.grad.numpy(), rtol=1e-12, atol=1e-12)
