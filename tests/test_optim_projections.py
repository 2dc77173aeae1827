"""Post-step projections (minigrad.optim.projections): hypersphere renormalization (nGPT,
SphereFace2) and non-negativity clipping (LPN, Weight Aligning), attached to SGD as post-step
hooks, step by step against a plain-NumPy loop (SGD step, then the projection row by row /
entry by entry), plus save → load → continue equality, float32 on every backend, zero rows,
NaN, hook removal and bad options."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad.layers.module import Parameter
from minigrad.tensor import Tensor
from tests.optim_checks import check_float32, check_save_resume, check_trajectory

TESTED = {"hypersphere_renorm", "nonneg_weight_clip"}


# ----------------------------------------------------------------- references (NumPy loops)
class RefProjectedSGD:
    """Plain SGD with momentum (PyTorch's pseudo-code), then a projection of each tensor."""

    def __init__(self, project, lr=0.1, momentum=0.0):
        self.project, self.lr, self.mu, self.b, self.t = project, lr, momentum, {}, 0

    def __call__(self, thetas, grads):
        self.t += 1
        out = []
        for k, (th, g) in enumerate(zip(thetas, grads)):
            if self.mu:
                self.b[k] = g if self.t == 1 else self.mu * self.b[k] + g
                g = self.b[k]
            out.append(self.project(th - self.lr * g))
        return out


def unit_rows(a, axis=-1, eps=1e-12):
    """Each vector along ``axis`` divided by max(its norm, eps), one vector at a time."""
    a = np.array(a, dtype=np.float64)
    if a.ndim == 0:
        return a / max(abs(float(a)), eps)
    moved = np.moveaxis(a, axis, -1)
    flat = moved.reshape(-1, moved.shape[-1]).copy()
    for i in range(flat.shape[0]):
        norm = np.sqrt(sum(v * v for v in flat[i]))
        flat[i] = flat[i] / max(norm, eps)
    return np.moveaxis(flat.reshape(moved.shape), -1, axis)


def clip_loop(a):
    a = np.array(a, dtype=np.float64)
    flat = a.reshape(-1).copy()
    for i in range(flat.size):
        if flat[i] < 0:
            flat[i] = 0.0
    return flat.reshape(a.shape)


def renormed_sgd(params, lr=0.1, momentum=0.0, dim=-1, eps=1e-12):
    opt = optim.SGD(params, lr=lr, momentum=momentum)
    pairs = [(p, None if p.ndim == 0 else dim) for p in params]
    optim.HypersphereRenorm(pairs, eps=eps).attach(opt)
    return opt


def clipped_sgd(params, lr=0.1, momentum=0.0):
    opt = optim.SGD(params, lr=lr, momentum=momentum)
    optim.NonNegativeClip(params).attach(opt)
    return opt


RENORM_CFGS = [dict(lr=0.1), dict(lr=0.05, momentum=0.9, dim=0)]
CLIP_CFGS = [dict(lr=0.1), dict(lr=0.3, momentum=0.9)]


def renorm_ref(lr=0.1, momentum=0.0, dim=-1, eps=1e-12):
    return RefProjectedSGD(lambda a: unit_rows(a, dim, eps), lr, momentum)


# ------------------------------------------------------------------------------ O057
@pytest.mark.parametrize("cfg", RENORM_CFGS)
def test_O057_hypersphere_renorm_trajectory(cfg):
    check_trajectory(renormed_sgd, renorm_ref(**cfg), cfg)


def test_O057_unit_norms_after_every_step():
    params = [Parameter(Tensor(np.random.default_rng(1).standard_normal((6, 4))))]
    opt = renormed_sgd(params, lr=0.5, dim=1)
    for _ in range(4):
        params[0].grad = Tensor(np.random.default_rng(2).standard_normal((6, 4)))
        opt.step()
        np.testing.assert_allclose(np.linalg.norm(params[0].numpy(), axis=1), 1.0, rtol=1e-15)


def test_O057_ngpt_dims_per_tensor():
    """nGPT: (·, n_embd) matrices along dim 1, (n_embd, ·) along dim 0."""
    rng = np.random.default_rng(3)
    a, b = (Parameter(Tensor(rng.standard_normal(s))) for s in [(5, 3), (3, 5)])
    optim.HypersphereRenorm([(a, 1), (b, 0)])()
    np.testing.assert_allclose(np.linalg.norm(a.numpy(), axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(b.numpy(), axis=0), 1.0, rtol=1e-15)


def test_O057_save_resume(tmp_path):
    check_save_resume(renormed_sgd, dict(lr=0.05, momentum=0.9), tmp_path)


def test_O057_float32(backend):
    check_float32(renormed_sgd, renorm_ref(lr=0.1), dict(lr=0.1), backend)


def test_O057_zero_row_stays_zero_and_huge_rows_normalize(backend):
    w = Parameter(Tensor(np.array([[0.0, 0.0, 0.0], [3e38, 3e38, 0.0], [1e-30, 0, 0]],
                                  dtype=np.float32)))
    optim.HypersphereRenorm([w])()
    got = w.numpy()
    assert np.isfinite(got).all() and w.dtype == np.float32
    np.testing.assert_array_equal(got[0], 0.0)
    np.testing.assert_allclose(got[1], [2 ** -0.5, 2 ** -0.5, 0.0], rtol=1e-6)
    np.testing.assert_allclose(got[2], [1e-18, 0.0, 0.0], rtol=1e-6)   # ‖a‖ < eps: a / eps


def test_O057_eps_zero_is_ngpt_justnorm_nan_on_zero_rows():
    w = Parameter(Tensor(np.zeros((2, 3))))
    optim.HypersphereRenorm([w], eps=0.0)()
    assert np.isnan(w.numpy()).all()


def test_O057_hook_removal_and_bad_options():
    p = Parameter(Tensor(np.full((2, 2), 3.0)))
    opt = optim.SGD([p], lr=0.0)
    handle = optim.HypersphereRenorm([p]).attach(opt)
    p.grad = Tensor(np.zeros((2, 2)))
    opt.step()
    np.testing.assert_allclose(p.numpy(), np.full((2, 2), 2 ** -0.5))
    handle.remove()
    p.data[...] = 3.0
    opt.step()
    np.testing.assert_array_equal(p.numpy(), 3.0)
    with pytest.raises(ValueError, match="eps"):
        optim.HypersphereRenorm([p], eps=-1)
    with pytest.raises(ValueError, match="out of range"):
        optim.HypersphereRenorm([(p, 2)])
    with pytest.raises(TypeError, match="single tensor"):
        optim.HypersphereRenorm(p)
    with pytest.raises(ValueError, match="empty"):
        optim.HypersphereRenorm([])
    with pytest.raises(TypeError, match="floating"):
        optim.HypersphereRenorm([mg.tensor(np.ones(3, dtype=np.int64))])


# ------------------------------------------------------------------------------ O058
@pytest.mark.parametrize("cfg", CLIP_CFGS)
def test_O058_nonneg_clip_trajectory(cfg):
    check_trajectory(clipped_sgd, RefProjectedSGD(clip_loop, **cfg), cfg)


def test_O058_save_resume(tmp_path):
    check_save_resume(clipped_sgd, dict(lr=0.3, momentum=0.9), tmp_path)


def test_O058_float32(backend):
    check_float32(clipped_sgd, RefProjectedSGD(clip_loop, lr=0.1), dict(lr=0.1), backend)


def test_O058_no_negatives_positives_untouched_nan_kept(backend):
    values = np.array([-1.5, 0.0, 2.25, -0.0, 1e-300, -1e300, np.nan])
    w = Parameter(Tensor(values.copy()))
    optim.NonNegativeClip([w])()
    got = w.numpy()
    assert (got[~np.isnan(got)] >= 0).all()
    np.testing.assert_array_equal(got[[2, 4]], values[[2, 4]])
    np.testing.assert_array_equal(got[[0, 5]], 0.0)
    assert np.isnan(got[6])


def test_O058_bad_options():
    with pytest.raises(TypeError, match="single tensor"):
        optim.NonNegativeClip(Parameter(Tensor(np.ones(2))))
    with pytest.raises(ValueError, match="empty"):
        optim.NonNegativeClip([])
