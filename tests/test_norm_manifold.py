"""Riemannian batch normalizations (N053 poincare_batch_norm, N054 gbw_batch_norm, N055
lie_batch_norm): what the normalization achieves, running statistics (train/eval, buffers,
state_dict, momentum=None), the detached-statistics gradient, edge cases, errors, dtypes.
The registry harness gradchecks the full (non-detached) forms and compares with the oracles
in tests/oracles/norm_manifold.py."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
from minigrad import nn
from minigrad.geometry import poincare as P
from minigrad.geometry import spd


def _spd(r, *shape, spread=1.0):
    n = shape[-1]
    A = r.standard_normal(shape) * spread
    return A @ A.swapaxes(-1, -2) / n + 0.5 * np.eye(n)


def _ball(r, *shape, radius=0.6):
    x = r.standard_normal(shape)
    return x / np.linalg.norm(x, axis=-1, keepdims=True) * r.uniform(0.05, radius, shape[:-1] + (1,))


def t(a, grad=False):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _logm(A):
    w, V = np.linalg.eigh(A)
    return (V * np.log(w)[..., None, :]) @ V.swapaxes(-1, -2)


# ------------------------------------------------------------------ what the normalization does
@pytest.mark.parametrize("metric", ["LEM", "LCM"])
def test_lie_bn_pullback_metrics_standardize_in_the_codomain(metric):
    """LEM (log) and LCM (log-Cholesky) are Euclidean in the deformed space: there the output
    has batch mean φ(weight) and mean squared distance s²·v/(v + ε) ≈ s²."""
    r = np.random.default_rng(0)
    x, w = _spd(r, 16, 3, 3, spread=2), _spd(r, 3, 3)
    y = F.lie_batch_norm(t(x), None, None, t(w), t(1.7), training=True, metric=metric).numpy()
    if metric == "LEM":
        phi = _logm(y)
        target = _logm(w)
    else:
        L = np.linalg.cholesky(y)
        phi = np.tril(L, -1) + np.log(np.diagonal(L, axis1=-2, axis2=-1))[..., None] * np.eye(3)
        Lw = np.linalg.cholesky(w)
        target = np.tril(Lw, -1) + np.diag(np.log(np.diag(Lw)))
    np.testing.assert_allclose(phi.mean(0), target, atol=1e-10)
    assert ((phi - target) ** 2).sum((1, 2)).mean() == pytest.approx(1.7 ** 2, rel=1e-4)


def test_lie_bn_aim_with_converged_karcher_mean_centres_at_the_bias():
    r = np.random.default_rng(1)
    x = _spd(r, 12, 3, 3)
    y = F.lie_batch_norm(t(x), None, None, None, t(0.5), training=True, metric="AIM",
                         karcher_steps=50).numpy()
    # centred and scaled around I: the Karcher mean of the output is ~I (tangent mean ~0),
    # and the mean squared AIM distance to I is s² · v/(v + ε)
    logs = _logm(y)
    assert np.abs(logs.mean(0)).max() < 0.1 * 0.5
    assert (logs ** 2).sum((1, 2)).mean() == pytest.approx(0.25, rel=1e-3)


def test_gbw_bn_commuting_inputs_reduce_to_scalar_formula():
    """For diagonal inputs every BW map acts on the diagonal entries: centre λ ↦ λ/g (in the
    square-root coordinates √λ ↦ √λ·(1/√g)), scale the BW log 2(√q − 1) by s/√(v + ε)."""
    r = np.random.default_rng(2)
    d = r.uniform(0.5, 3, (6, 3))
    x = np.stack([np.diag(v) for v in d])
    y = F.gbw_batch_norm(t(x), None, None, None, None, t(1.3), training=True).numpy()
    g = np.sqrt(d).mean(0) ** 2                                   # BW barycentre (one step is exact)
    v = (d.sum(1) + 3 - 2 * np.sqrt(d).sum(1)).mean()             # dispersion around I
    # Log_G P = 2(√(gP)) − 2g, transported to I: ×√(2/2g) = 1/√g; Exp_I V = (1 + V/2)²
    q = (1 + (2 * np.sqrt(g * d) - 2 * g) / np.sqrt(g) / 2) ** 2
    f = 1.3 / np.sqrt(v + 1e-5)
    out = (1 + f * (2 * np.sqrt(q) - 2) / 2) ** 2
    np.testing.assert_allclose(np.diagonal(y, axis1=-2, axis2=-1), out, rtol=1e-10)
    np.testing.assert_allclose(y - np.stack([np.diag(o) for o in out]), 0, atol=1e-12)


def test_poincare_bn_centres_at_the_bias_with_unit_dispersion():
    r = np.random.default_rng(3)
    x = _ball(r, 32, 4)
    bias = r.normal(0, 0.3, 4)
    y = F.poincare_batch_norm(t(x), None, None, t(2.0), t(bias), training=True)
    beta = P.expmap0(t(bias[None])).numpy()
    # the midpoint of the output is the centre β, and the dispersion is γ·σ²/(σ² + ε) ≈ γ
    var = (P.dist(y, t(beta)).numpy() ** 2).mean()
    assert var == pytest.approx(2.0, rel=1e-4)
    m = P.midpoint(y).numpy()
    assert P.dist(t(m), t(beta)).item() < 0.15 * np.sqrt(2.0)


# ------------------------------------------------------------------ running statistics
CASES = {
    "lie_aim": (lambda r: _spd(r, 8, 3, 3), lambda: nn.LieBatchNorm(3, metric="AIM")),
    "lie_lem_channels": (lambda r: _spd(r, 8, 2, 3, 3), lambda: nn.LieBatchNorm(3, channels=2, metric="LEM")),
    "lie_lcm": (lambda r: _spd(r, 8, 3, 3), lambda: nn.LieBatchNorm(3, metric="LCM", power=0.5)),
    "gbw": (lambda r: _spd(r, 8, 3, 3), lambda: nn.GBWBatchNorm(3, power=0.5)),
    "poincare": (lambda r: _ball(r, 8, 3), lambda: nn.PoincareBatchNorm(3)),
}


@pytest.mark.parametrize("case", CASES)
def test_momentum_one_makes_eval_equal_train(case):
    make_x, make_m = CASES[case]
    x = t(make_x(np.random.default_rng(4)))
    m = make_m().double()
    m.momentum = 1.0
    y_train = m(x).numpy()
    m.eval()
    before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    y_eval = m(x).numpy()
    np.testing.assert_allclose(y_eval, y_train, atol=1e-8)
    for k, v in m.state_dict().items():            # eval leaves the buffers alone
        np.testing.assert_array_equal(v.numpy(), before[k])


@pytest.mark.parametrize("case", CASES)
def test_buffers_state_dict_and_cumulative_average(case):
    make_x, make_m = CASES[case]
    r = np.random.default_rng(5)
    m = make_m().double()
    sd = m.state_dict()
    assert {"running_mean", "running_var", "num_batches_tracked"} <= set(sd)
    m.momentum = None
    x1, x2 = t(make_x(r)), t(make_x(r))
    m(x1)
    v1 = m.running_var.numpy().copy()
    m(x2)
    # the variance of the second batch alone (momentum 1 on a fresh module)
    m2 = make_m().double()
    m2.momentum = 1.0
    m2(x2)
    np.testing.assert_allclose(m.running_var.numpy(), (v1 + m2.running_var.numpy()) / 2, rtol=1e-10)
    assert int(m.num_batches_tracked.item()) == 2
    m3 = make_m().double()
    m3.load_state_dict(m.state_dict())
    m.eval(), m3.eval()
    np.testing.assert_allclose(m3(x1).numpy(), m(x1).numpy(), atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_module_parameters_receive_gradients(case):
    make_x, make_m = CASES[case]
    m = make_m().double()
    x = t(make_x(np.random.default_rng(6)), True)
    (m(x) ** 2).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    for name, p in m.named_parameters():
        assert p.grad is not None and np.isfinite(p.grad.numpy()).all(), name


# ------------------------------------------------------------------ detached statistics
@pytest.mark.parametrize("fn, kwargs", [
    (F.lie_batch_norm, dict(metric="AIM")), (F.lie_batch_norm, dict(metric="LEM")),
    (F.gbw_batch_norm, dict())])
def test_detached_statistics_gradient_is_the_fixed_statistics_derivative(fn, kwargs):
    """detach_stats=True (the default, as the official codes): the gradient is that of the
    evaluation-mode map whose running statistics are the batch statistics, held fixed."""
    r = np.random.default_rng(7)
    x = _spd(r, 5, 3, 3)
    gbw = fn is F.gbw_batch_norm
    rm = t(np.eye(3))
    rv = t(1.0)
    extra = (None,) if gbw else ()
    w, s = t(_spd(r, 3, 3)), t(1.2)
    # batch statistics into the buffers (momentum 1)
    fn(t(x), rm, rv, w, *extra, s, training=True, momentum=1.0, **kwargs)
    G = np.random.default_rng(8).standard_normal(x.shape)
    xt = t(x, True)
    (fn(xt, None, None, w, *extra, s, training=True, **kwargs) * t(G)).sum().backward()

    def frozen(a):
        return fn(a, rm, rv, w, *extra, s, training=False, **kwargs)
    xe = t(x, True)
    (frozen(xe) * t(G)).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), xe.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert mg.gradcheck(frozen, [t(x, True)]).ok
    # and differs from the full derivative
    xf = t(x, True)
    (fn(xf, None, None, w, *extra, s, training=True, detach_stats=False, **kwargs) * t(G)).sum().backward()
    assert np.abs(xf.grad.numpy() - xt.grad.numpy()).max() > 1e-6


# ------------------------------------------------------------------ edge cases
@pytest.mark.parametrize("case", CASES)
def test_batch_of_one_and_identical_inputs_stay_finite(case):
    make_x, make_m = CASES[case]
    x0 = make_x(np.random.default_rng(9))[:1]
    for x in (x0, np.repeat(x0, 4, axis=0)):
        m = make_m().double()
        xt = t(x, True)
        y = m(xt)
        assert np.isfinite(y.numpy()).all()
        y.sum().backward()
        assert np.isfinite(xt.grad.numpy()).all()


def test_extreme_inputs_stay_finite():
    r = np.random.default_rng(10)
    Q, _ = np.linalg.qr(r.standard_normal((3, 3)))
    ill = np.stack([(Q * np.array([1e-4, 1.0, 1e2]) * s) @ Q.T for s in (0.5, 1.0, 2.0, 4.0)])
    for metric in ("AIM", "LEM", "LCM"):
        assert np.isfinite(F.lie_batch_norm(t(ill), training=True, metric=metric).numpy()).all()
    assert np.isfinite(F.gbw_batch_norm(t(ill), training=True).numpy()).all()
    near = _ball(r, 6, 3, radius=0.99999)
    near = near / np.linalg.norm(near, axis=-1, keepdims=True) * (1 - 1e-6)
    xt = t(near, True)
    y = F.poincare_batch_norm(xt, training=True)
    assert np.isfinite(y.numpy()).all() and (np.linalg.norm(y.numpy(), axis=-1) < 1).all()
    y.sum().backward()
    assert np.isfinite(xt.grad.numpy()).all()


def test_float32_keeps_dtype():
    r = np.random.default_rng(11)
    x = mg.tensor(_spd(r, 6, 3, 3).astype(np.float32))
    assert F.lie_batch_norm(x, training=True).dtype == mg.float32
    assert F.gbw_batch_norm(x, training=True).dtype == mg.float32
    b = mg.tensor(_ball(r, 6, 3).astype(np.float32))
    y = nn.PoincareBatchNorm(3)(b)
    assert y.dtype == mg.float32 and np.isfinite(y.numpy()).all()
    y = nn.LieBatchNorm(3)(x)
    assert y.dtype == mg.float32


# ------------------------------------------------------------------ errors
def test_bad_inputs_name_the_op():
    r = np.random.default_rng(12)
    x = t(_spd(r, 4, 3, 3))
    with pytest.raises(ValueError, match="lie_batch_norm.*metric"):
        F.lie_batch_norm(x, training=True, metric="BW")
    with pytest.raises(ValueError, match="lie_batch_norm.*power"):
        F.lie_batch_norm(x, training=True, metric="LEM", power=0.5)
    with pytest.raises(ValueError, match="lie_batch_norm.*square"):
        F.lie_batch_norm(t(np.ones((4, 3, 2))), training=True)
    with pytest.raises(ValueError, match="lie_batch_norm.*evaluation"):
        F.lie_batch_norm(x, training=False)
    with pytest.raises(ValueError, match="lie_batch_norm: weight"):
        F.lie_batch_norm(x, weight=t(np.eye(2)), training=True)
    with pytest.raises(ValueError, match="gbw_batch_norm.*square"):
        F.gbw_batch_norm(t(np.ones((3, 3))), training=True)
    with pytest.raises(ValueError, match="gbw_batch_norm.*both"):
        F.gbw_batch_norm(x, running_mean=t(np.eye(3)), training=True)
    with pytest.raises(ValueError, match="poincare_batch_norm.*outside"):
        F.poincare_batch_norm(t(np.array([[0.8, 0.8], [0.1, 0.0]])), training=True)
    with pytest.raises(ValueError, match="poincare_batch_norm: bias"):
        F.poincare_batch_norm(t(_ball(r, 4, 3)), bias=t(np.zeros(2)), training=True)
    with pytest.raises(ValueError, match="PoincareBatchNorm"):
        nn.PoincareBatchNorm(3)(t(_ball(r, 4, 2)))
    with pytest.raises(ValueError, match="not positive-definite"):
        F.lie_batch_norm(t(-_spd(r, 4, 3, 3)), training=True)


def test_public_names_resolve():
    assert F.poincare_batch_norm and F.gbw_batch_norm and F.lie_batch_norm
    assert nn.PoincareBatchNorm and nn.GBWBatchNorm and nn.LieBatchNorm
    assert mg.geometry.spd.bw_dist2 and mg.geometry.poincare.midpoint and spd.sym_expm
