"""Riemannian SGD on the Grassmann manifold (O090 grassmann_rsgd, innerlee/GCR): trajectories
against an independent float64 transcription (Edelman, Arias & Smith's geodesic written from
the SVD of the step −η'ξ itself, re-orthonormalization by a Cholesky QR), orthonormality
after every step, save → load → continue, float32 on every backend, bad options."""
import numpy as np
import pytest

from minigrad import optim
from minigrad.layers.module import Parameter
from minigrad.tensor import Tensor
from tests.optim_checks import check_float32, check_save_resume, check_trajectory
from tests.test_optimizers import RefSGD, initial_values, make_params, run_optimizer

TESTED = {"grassmann_rsgd"}


def cholesky_qr(Y):
    """Q of Y = QR with R's diagonal > 0, as Y·R⁻¹ with RᵀR = YᵀY."""
    L = np.linalg.cholesky(Y.T @ Y)
    return np.linalg.solve(L, Y.T).T


def geodesic(S, H):
    """Edelman, Arias & Smith 1998, Theorem 2.3: Y(1) = [SV  U]·[cos Σ; sin Σ]·Vᵀ for the
    tangent H = UΣVᵀ at S."""
    U, s, Vt = np.linalg.svd(H, full_matrices=False)
    return np.hstack([S @ Vt.T, U]) @ np.vstack([np.diag(np.cos(s)), np.diag(np.sin(s))]) @ Vt


class RefGrassmannRSGD:
    """innerlee/GCR gcr/rsgd.py: Euclidean momentum buffer (torch SGD); for subspace weights
    ξ = (I − SSᵀ)b, S ← geodesic(S, −η'ξ), QR every reorth_step-th step from the first;
    other weights: torch SGD with coupled weight decay."""

    def __init__(self, lr=0.1, momentum=0.9, dampening=0.0, weight_decay=1e-4, reorth_step=5,
                 lr_factor=1.0, geometry=None):
        self.sgd = RefSGD(lr, momentum, dampening, 0.0)
        self.lr, self.mu, self.damp, self.factor = lr, momentum, dampening, lr_factor
        self.wd, self.reorth, self.geometry = weight_decay, reorth_step, geometry
        self.b, self.t = {}, 0

    def dims(self, shape):
        g = self.geometry
        return [g] * (shape[0] // g) if isinstance(g, int) else list(g)

    def __call__(self, thetas, grads):
        self.t += 1
        if self.geometry is None:
            return self.sgd(thetas, [g + self.wd * th for th, g in zip(thetas, grads)])
        out = []
        for k, (W, g) in enumerate(zip(thetas, grads)):
            if self.mu:
                self.b[k] = g if self.t == 1 else self.mu * self.b[k] + (1 - self.damp) * g
                g = self.b[k]
            new, start = np.empty_like(W), 0
            for kc in self.dims(W.shape):
                S, D = W[start:start + kc].T, g[start:start + kc].T
                xi = (np.eye(S.shape[0]) - S @ S.T) @ D
                S = geodesic(S, -self.lr * self.factor * xi)
                if (self.t - 1) % self.reorth == 0:
                    S = cholesky_qr(S)
                new[start:start + kc] = S.T
                start += kc
            out.append(new)
        return out


def stacked_subspaces(shapes_dims, seed=0):
    """Weights whose row blocks (k_c rows each) are orthonormal frames, rows = Sᵀ."""
    rng = np.random.default_rng(seed)
    out = []
    for shape, dims in shapes_dims:
        blocks = [np.linalg.qr(rng.standard_normal((shape[1], k)))[0].T for k in dims]
        out.append(np.vstack(blocks))
    return out


GRASS_INITS = stacked_subspaces([((4, 5), [2, 2]), ((2, 6), [2]), ((6, 3), [2, 2, 2])])
CFGS = [dict(geometry=2),
        dict(geometry=2, lr=0.05, momentum=0.5, dampening=0.1, reorth_step=2, lr_factor=2.0),
        dict(geometry=2, lr=0.3, momentum=0.0, reorth_step=1000)]


@pytest.mark.parametrize("cfg", CFGS)
def test_grassmann_trajectory(cfg):
    check_trajectory(optim.GrassmannRSGD, RefGrassmannRSGD(**cfg), cfg, steps=12,
                     inits=GRASS_INITS, rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("cfg", [dict(), dict(lr=0.05, momentum=0.5, dampening=0.2,
                                              weight_decay=1e-2)])
def test_euclidean_groups_are_torch_sgd(cfg):
    check_trajectory(optim.GrassmannRSGD, RefGrassmannRSGD(**cfg), cfg)


def test_unequal_subspace_dims_and_mixed_groups():
    W0 = stacked_subspaces([((6, 4), [1, 2, 3])])[0]
    b0 = np.linspace(-1, 1, 5)
    W, b = Parameter(Tensor(W0.copy())), Parameter(Tensor(b0.copy()))
    opt = optim.GrassmannRSGD([{"params": [W], "geometry": [1, 2, 3]}, {"params": [b]}],
                              lr=0.1, momentum=0.9, weight_decay=1e-2, reorth_step=3)
    ref_w = RefGrassmannRSGD(lr=0.1, momentum=0.9, reorth_step=3, geometry=[1, 2, 3])
    ref_b = RefGrassmannRSGD(lr=0.1, momentum=0.9, weight_decay=1e-2)
    w, bb = W0.copy(), b0.copy()
    for t in range(1, 9):
        gw = 0.5 * w + np.sin(1.3 * t + np.arange(w.size).reshape(w.shape))
        gb = 0.5 * bb + np.cos(t + np.arange(5))
        W.grad, b.grad = Tensor(gw), Tensor(gb)
        opt.step()
        w, = ref_w([w], [gw])
        bb, = ref_b([bb], [gb])
        np.testing.assert_allclose(W.numpy(), w, rtol=1e-10, atol=1e-11)
        np.testing.assert_allclose(b.numpy(), bb, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("reorth_step, steps", [(5, 40), (10 ** 6, 10)])
def test_subspaces_stay_orthonormal(reorth_step, steps):
    """SᵀS = I to 1e-12 after every step. Without the periodic QR the rounding error of
    SᵀS roughly doubles every step here (when SᵀS ≠ I, U from the SVD of ξ is no longer
    orthogonal to S and the sine term feeds the error back): hence the code's QR every 5
    steps."""
    params = make_params(GRASS_INITS)
    opt = optim.GrassmannRSGD(params, geometry=2, lr=0.2, reorth_step=reorth_step)
    for trajectory in run_optimizer(opt, params, steps=steps):
        for W in trajectory:
            for c in range(W.shape[0] // 2):
                S = W[2 * c:2 * c + 2].T
                np.testing.assert_allclose(S.T @ S, np.eye(2), atol=1e-12)


def test_tangent_gradient_gives_no_step_and_no_weight_decay():
    """A gradient inside the subspace (G = S·A) has no tangent part: S does not move, and no
    weight decay touches it."""
    W0 = stacked_subspaces([((2, 4), [2])])[0]
    W = Parameter(Tensor(W0.copy()))
    opt = optim.GrassmannRSGD([W], geometry=2, weight_decay=0.5, reorth_step=10)
    W.grad = Tensor((W0.T @ np.array([[1.0, 2.0], [0.5, -1.0]])).T)
    opt.step()
    np.testing.assert_allclose(W.numpy(), W0, atol=1e-14)
    W.grad = Tensor(np.zeros_like(W0))
    opt.step()
    assert np.all(np.isfinite(W.numpy()))


def test_huge_gradient_keeps_the_frame_orthonormal():
    W0 = stacked_subspaces([((2, 4), [2])])[0]
    W = Parameter(Tensor(W0.astype(np.float32)))
    opt = optim.GrassmannRSGD([W], geometry=2, momentum=0.0)
    W.grad = Tensor(np.full((2, 4), 1e30, dtype=np.float32) * np.array([1, -1, 2, 0.5],
                                                                      dtype=np.float32))
    opt.step()
    S = W.numpy().astype(np.float64).T
    assert W.dtype == np.float32 and np.all(np.isfinite(S))
    np.testing.assert_allclose(S.T @ S, np.eye(2), atol=1e-5)


def test_grassmann_save_resume(tmp_path):
    check_save_resume(optim.GrassmannRSGD, CFGS[1], tmp_path, inits=GRASS_INITS)


def test_grassmann_float32(backend):
    check_float32(optim.GrassmannRSGD, RefGrassmannRSGD(**CFGS[1]), CFGS[1], backend,
                  inits=GRASS_INITS)


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=-1.0), "lr"), (dict(momentum=-0.1), "momentum"), (dict(reorth_step=0), "reorth_step"),
    (dict(geometry=3), "does not divide"), (dict(geometry=[2, 1]), "sum to"),
])
def test_grassmann_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=f"GrassmannRSGD.*{match}"):
        optim.GrassmannRSGD(make_params(GRASS_INITS[:1]), **kwargs)


def test_subspace_larger_than_the_space_and_non_matrix_raise():
    with pytest.raises(ValueError, match="does not fit"):
        optim.GrassmannRSGD(make_params([np.zeros((4, 3))]), geometry=4)
    with pytest.raises(ValueError, match="2-D"):
        optim.GrassmannRSGD(make_params(initial_values()[1:2]), geometry=1)
