"""The Poincaré ball 𝔻ⁿ_c = {x : c‖x‖² < 1} (curvature −c), on the last axis of tensors.

Every function is a composition of registered differentiable ops (elementwise, reductions,
``where``), so its gradient comes from theirs; none is an op of its own. Formulas follow
the official Poincaré ResNet code (maxvanspengler/poincare-resnet,
``models/manifolds/math/diffgeom.py`` and ``midpoint.py``; the same in the hypll library,
``hypll/manifolds/poincare_ball/math/diffgeom.py``), i.e. Ganea, Bécigneul & Hofmann 2018,
"Hyperbolic Neural Networks", and Ungar's gyrovector calculus:

    λ_x = 2/(1 − c‖x‖²)                                        conformal factor
    x ⊕ y = ((1 + 2c⟨x,y⟩ + c‖y‖²)x + (1 − c‖x‖²)y)/(1 + 2c⟨x,y⟩ + c²‖x‖²‖y‖²)
    exp_x(v) = x ⊕ tanh(√c λ_x‖v‖/2) v/(√c‖v‖),  exp_0(v) = tanh(√c‖v‖) v/(√c‖v‖)
    log_x(y) = 2/(√c λ_x) artanh(√c‖u‖) u/‖u‖, u = (−x) ⊕ y;  log_0(y) = artanh(√c‖y‖) y/(√c‖y‖)
    d(x, y) = (2/√c) artanh(√c‖(−x) ⊕ y‖)
    gyr[u,v]w = w + 2(a u + b v)/d   (a, b, d below),   P_{x→y}(v) = gyr[y, −x] v · λ_x/λ_y
    midpoint: m = ½ ⊗ (Σ λ_i x_i / Σ (λ_i − 1)) = μ/(1 + √(1 − c‖μ‖²))

Numerics as the official code: denominators clamped at 1e-15, norms clamped at 1e-15, and
``project`` (after every exp map) pulls points back to ‖x‖ ≤ (1 − ε)/√c with ε = 1e-5 in
float64 and 4e-3 in float32; artanh's argument is clamped below 1 − 1e-7 (1 − 1e-6 in
float32), where the official code relies on the projection alone.
"""
from minigrad.ops.elementwise import where

__all__ = ["conformal_factor", "mobius_add", "mobius_scalar_mul", "project", "expmap0",
           "logmap0", "expmap", "logmap", "dist", "gyration", "transp", "midpoint", "artanh"]


def _f32(x):
    return "float32" in str(x.dtype)


def _sq(x, keepdims=True):
    return (x * x).sum(axis=-1, keepdims=keepdims)


def _norm(x):
    return _sq(x).clamp_min(1e-30).sqrt().clamp_min(1e-15)


def artanh(z, x_like=None):
    """artanh z = ½(log1p(z) − log1p(−z)), z clamped to [0, 1 − δ] (δ = 1e-7; 1e-6 float32)."""
    top = 1 - (1e-6 if _f32(z) else 1e-7)
    z = z.clamp(0.0, top) if hasattr(z, "clamp") else z.clip(0.0, top)
    return 0.5 * (z.log1p() - (-z).log1p())


def conformal_factor(x, c=1.0):
    """λ_x = 2/(1 − c‖x‖²) (keeps the last axis, size 1)."""
    return 2 / (1 - c * _sq(x)).clamp_min(1e-15)


def mobius_add(x, y, c=1.0):
    """x ⊕_c y (Möbius addition; broadcasting)."""
    x2, y2, xy = _sq(x), _sq(y), (x * y).sum(axis=-1, keepdims=True)
    num = (1 + 2 * c * xy + c * y2) * x + (1 - c * x2) * y
    return num / (1 + 2 * c * xy + c * c * x2 * y2).clamp_min(1e-15)


def mobius_scalar_mul(r, x, c=1.0):
    """r ⊗_c x = tanh(r artanh(√c‖x‖)) x/(√c‖x‖)."""
    n = _norm(x) * c ** 0.5
    return (r * artanh(n)).tanh() * x / n


def project(x, c=1.0, eps=None):
    """x pulled back inside the ball: ‖x‖ ≤ (1 − ε)/√c."""
    if eps is None:
        eps = 4e-3 if _f32(x) else 1e-5
    maxnorm = (1 - eps) / c ** 0.5
    n = _norm(x)
    return where(n > maxnorm, x / n * maxnorm, x)


def expmap0(v, c=1.0):
    """exp_0(v) = tanh(√c‖v‖) v/(√c‖v‖), projected."""
    n = _norm(v) * c ** 0.5
    return project(n.tanh() * v / n, c)


def logmap0(y, c=1.0):
    """log_0(y) = artanh(√c‖y‖) y/(√c‖y‖)."""
    n = _norm(y) * c ** 0.5
    return artanh(n) * y / n


def expmap(x, v, c=1.0):
    """exp_x(v) = x ⊕ tanh(√c λ_x‖v‖/2) v/(√c‖v‖), projected."""
    vn = _norm(v)
    sc = c ** 0.5
    second = (sc * conformal_factor(x, c) * vn / 2).tanh() * v / (sc * vn)
    return project(mobius_add(x, second, c), c)


def logmap(x, y, c=1.0):
    """log_x(y) = 2/(√c λ_x) artanh(√c‖u‖) u/‖u‖, u = (−x) ⊕ y."""
    u = mobius_add(-x, y, c)
    un = _norm(u)
    sc = c ** 0.5
    return 2 / (sc * conformal_factor(x, c)) * artanh(sc * un) * u / un


def dist(x, y, c=1.0):
    """d_c(x, y) = (2/√c) artanh(√c‖(−x) ⊕ y‖) (the last axis reduced)."""
    u = mobius_add(-x, y, c)
    sc = c ** 0.5
    return (2 / sc) * artanh(sc * _norm(u)).squeeze(-1)


def gyration(u, v, w, c=1.0):
    """gyr[u, v]w = w + 2(a u + b v)/d with a = −c²⟨u,w⟩‖v‖² + c⟨v,w⟩ + 2c²⟨u,v⟩⟨v,w⟩,
    b = −c²⟨v,w⟩‖u‖² − c⟨u,w⟩, d = 1 + 2c⟨u,v⟩ + c²‖u‖²‖v‖²."""
    u2, v2 = _sq(u), _sq(v)
    uv, uw, vw = [(p * q).sum(axis=-1, keepdims=True) for p, q in ((u, v), (u, w), (v, w))]
    a = -c * c * uw * v2 + c * vw + 2 * c * c * uv * vw
    b = -c * c * vw * u2 - c * uw
    d = 1 + 2 * c * uv + c * c * u2 * v2
    return w + 2 * (a * u + b * v) / d.clamp_min(1e-15)


def transp(x, y, v, c=1.0):
    """Parallel transport of v from T_x to T_y: gyr[y, −x] v · λ_x/λ_y."""
    return gyration(y, -x, v, c) * conformal_factor(x, c) / conformal_factor(y, c)


def midpoint(x, c=1.0, axis=0):
    """Gyro/Einstein midpoint of the points along ``axis`` (keepdims):
    μ = Σ γ²_i x_i/(Σ γ²_i − N/2), γ²_i = 1/(1 − c‖x_i‖²) (= λ_i/2), m = μ/(1 + √(1 − c‖μ‖²))
    (= ½ ⊗ μ; official ``poincare_midpoint``)."""
    g2 = 1 / (1 - c * _sq(x)).clamp_min(1e-15)
    mu = (g2 * x).sum(axis=axis, keepdims=True) / (g2.sum(axis=axis, keepdims=True) - x.shape[axis] / 2)
    gm = 1 / (1 - c * _sq(mu)).clamp_min(1e-15).sqrt()
    return gm / (1 + gm) * mu
