"""Gradient clipping (O011–O013) against NumPy transcriptions of the formulas."""
import math

import numpy as np
import pytest

from minigrad import optim, registry
from minigrad.layers.module import Parameter
from minigrad.tensor import Tensor

CLIP_NAMES = ("clip_grad_norm", "clip_grad_value", "adaptive_grad_clip")


def params_with_grads(shapes, scale=1.0, seed=0, dtype="float64"):
    rng = np.random.default_rng(seed)
    params, grads = [], []
    for s in shapes:
        p = Parameter(Tensor(rng.standard_normal(s).astype(dtype)))
        g = (scale * rng.standard_normal(s)).astype(dtype)
        p.grad = Tensor(g.copy())
        params.append(p)
        grads.append(g)
    return params, grads


SHAPES = [(), (4,), (3, 5), (2, 3, 2, 2)]


@pytest.mark.parametrize("max_norm, scale", [(1.0, 3.0), (100.0, 1.0), (0.5, 0.01)])
def test_clip_grad_norm_matches_formula(max_norm, scale, backend):
    params, grads = params_with_grads(SHAPES, scale)
    total = math.sqrt(sum(float((g ** 2).sum()) for g in grads))
    returned = optim.clip_grad_norm_(params, max_norm)
    assert returned.item() == pytest.approx(total, rel=1e-13)
    factor = min(1.0, max_norm / (total + 1e-6))
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.numpy(), g * factor, rtol=1e-13)
    if factor < 1:
        clipped = math.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in params))
        assert clipped == pytest.approx(max_norm, rel=1e-5)


@pytest.mark.parametrize("norm_type", [1.0, 3.0, math.inf])
def test_clip_grad_norm_other_orders(norm_type):
    params, grads = params_with_grads(SHAPES, 2.0)
    flat = np.concatenate([g.ravel() for g in grads])
    total = np.abs(flat).max() if math.isinf(norm_type) else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    returned = optim.clip_grad_norm_(params, 0.7, norm_type=norm_type)
    assert returned.item() == pytest.approx(total, rel=1e-12)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.numpy(), g * 0.7 / (total + 1e-6), rtol=1e-12)


def test_clip_grad_norm_edge_cases():
    params, grads = params_with_grads([(3,), (2,)])
    params[1].grad = None
    total = optim.clip_grad_norm_(params[0], 0.1)  # one tensor, not a list
    assert total.item() == pytest.approx(float(np.linalg.norm(grads[0])))
    assert params[1].grad is None
    assert optim.clip_grad_norm_([params[1]], 1.0).item() == 0.0
    params[0].grad = Tensor(np.array([1.0, np.inf, 0.0]))
    with pytest.raises(RuntimeError, match="non-finite"):
        optim.clip_grad_norm_(params[:1], 1.0, error_if_nonfinite=True)
    zero, _ = params_with_grads([(3,)], scale=0.0)
    optim.clip_grad_norm_(zero, 1.0)
    np.testing.assert_array_equal(zero[0].grad.numpy(), np.zeros(3))


def test_clip_grad_norm_keeps_float32(backend):
    params, grads = params_with_grads(SHAPES, 5.0, dtype="float32")
    optim.clip_grad_norm_(params, 1.0)
    assert all(p.grad.dtype == np.float32 for p in params)


def test_clip_grad_value_matches_np_clip(backend):
    params, grads = params_with_grads(SHAPES, 2.0)
    optim.clip_grad_value_(params, 0.8)
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad.numpy(), np.clip(g, -0.8, 0.8))
    assert max(float(np.abs(p.grad.numpy()).max()) for p in params) == 0.8


def _agc_reference(w, g, clip_factor, eps):
    """Brock et al. 2021, eq. (3), one unit (row of the fan-in view) at a time."""
    if w.ndim <= 1:
        rows_w, rows_g = [w.ravel()], [g.ravel()]
    else:
        rows_w, rows_g = list(w.reshape(w.shape[0], -1)), list(g.reshape(g.shape[0], -1))
    out = []
    for wi, gi in zip(rows_w, rows_g):
        w_norm = max(math.sqrt(float(wi @ wi)), eps)
        g_norm = math.sqrt(float(gi @ gi))
        out.append(gi * (clip_factor * w_norm / g_norm) if g_norm / w_norm > clip_factor else gi)
    return np.stack(out).reshape(g.shape)


@pytest.mark.parametrize("clip_factor", [0.01, 0.5, 10.0])
def test_adaptive_grad_clip_matches_unitwise_formula(clip_factor, backend):
    params, grads = params_with_grads(SHAPES)
    params[2].data[1] = 0.0  # a dead unit: ε keeps it trainable
    expected = [_agc_reference(p.numpy(), g, clip_factor, 1e-3) for p, g in zip(params, grads)]
    optim.adaptive_grad_clip_(params, clip_factor=clip_factor)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.grad.numpy(), e, rtol=1e-12, atol=1e-15)
    if clip_factor == 0.01:
        w, g = params[2].numpy(), params[2].grad.numpy()
        ratios = np.linalg.norm(g, axis=1) / np.maximum(np.linalg.norm(w, axis=1), 1e-3)
        np.testing.assert_allclose(ratios, 0.01, rtol=1e-9)


def test_clipping_is_registered():
    for name, fn in zip(CLIP_NAMES, (optim.clip_grad_norm_, optim.clip_grad_value_,
                                     optim.adaptive_grad_clip_)):
        entry = registry.get(name, kind="optimizer")
        assert entry.fn is fn and entry.check == "state" and entry.catalog_id
