"""Riemannian batch normalizations of manifold-valued features (catalog N054, N055, N053):
``gbw_batch_norm`` / ``GBWBatchNorm`` and ``lie_batch_norm`` / ``LieBatchNorm`` on SPD
matrices, ``poincare_batch_norm`` / ``PoincareBatchNorm`` on the Poincaré ball.

How they are built. Each normalization is a chain of manifold maps (matrix functions,
congruences, Lyapunov solves; Möbius operations), so each is written as a composition of
differentiable ops from ``minigrad.geometry`` and ``minigrad.linalg``, every one of which
has its own hand-derived backward (Daleckii–Krein for the spectral functions, Murray 2016
for Cholesky, the Lyapunov adjoint, the Möbius/exp/log rules). The composition's gradient
is the exact derivative of the forward (checked against float64 finite differences by the
registry harness); there is no single fused ``Function`` for a whole normalization.

Batch statistics. Both official SPD codes compute the Fréchet mean and variance without a
gradient (``detach_stats=True``, the default here, following SPDNetBN); ``detach_stats=False``
differentiates through them too (the finite-difference check uses that form; the detached
form is tested as "the derivative with the statistics held fixed").
"""
import numpy

from minigrad import linalg
from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array
from minigrad.creation import ones, zeros
from minigrad.geometry import poincare, spd
from minigrad.layers.module import Module, Parameter
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["lie_batch_norm", "gbw_batch_norm", "poincare_batch_norm", "LieBatchNorm",
           "GBWBatchNorm", "PoincareBatchNorm"]

LIE_PAPERS = ["A Lie Group Approach to Riemannian Batch Normalization"]
POINCARE_PAPERS = ["Poincaré ResNet"]
GBW_PAPERS = ["Learning to Normalize on the SPD Manifold under Bures-Wasserstein Geometry"]


def _const(like, a):
    return Tensor(backend_of_array(like.data).xp.asarray(a, dtype=like.dtype))


def _check_spd_input(op, x, min_ndim=3):
    check_floating(op, x=x)
    if x.ndim < min_ndim or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{op}: expected a batch of square matrices of shape "
                         f"{'(N, *C, n, n)' if min_ndim == 3 else '(*, n, n)'}, got shape "
                         f"{tuple(x.shape)}")


def _check_shape(op, name, t, shape):
    if t is not None and tuple(t.shape) != tuple(shape):
        raise ValueError(f"{op}: {name} has shape {tuple(t.shape)}, expected {tuple(shape)} "
                         f"for this input")


def _update_running(running, new):
    """running ← new value (already interpolated), in place, outside the tape."""
    with no_grad():
        running.copy_(new.detach())


# ================================================================== N055 LieBN
class _LieSPD:
    """The three SPD Lie-group geometries of LieBN (Chen et al. 2024, §5 and App. of
    GitZH-Chen/LieBN ``LieBN/Geometry/SPD/SPDMatrices.py``), each pulled back by the power
    deformation X → X^θ:

      metric  deformation φ            group (mean, translation, scaling)           d²(·, E)
      LEM     log X                    (Sym, +): arithmetic mean, X ∓ P, s·X         α‖X‖² + β tr(X)²
      LCM     ⌊L⌋ + log diag L,        (lower-tri, +): arithmetic mean, ∓, s·X      ‖X‖²/θ²
              L = chol(X^θ)
      AIM     X^θ                      Lie-Cholesky: Karcher flow mean,             (α‖log X‖² +
                                       L_P^{∓1} X L_P^{∓ᵀ}, X^s                     β log²det X)/θ²
    """

    def __init__(self, metric, power, alpha, beta, karcher_steps):
        self.metric, self.power = metric, float(power)
        self.alpha, self.beta, self.karcher_steps = float(alpha), float(beta), int(karcher_steps)

    def deform(self, X):
        if self.metric == "LEM":
            return linalg.logm_spd(X)
        Xp = spd.powm(X, self.power)
        if self.metric == "AIM":
            return Xp
        L = linalg.cholesky(Xp)
        n = X.shape[-1]
        eye = _const(X, numpy.eye(n))
        diag = (L * eye).sum(axis=-1)
        return L * _const(X, numpy.tril(numpy.ones((n, n)), -1)) + diag.log().unsqueeze(-1) * eye

    def inv_deform(self, Y):
        if self.metric == "LEM":
            return spd.sym_expm(Y)
        if self.metric == "AIM":
            return spd.powm(Y, 1 / self.power)
        n = Y.shape[-1]
        eye = _const(Y, numpy.eye(n))
        C = Y * _const(Y, numpy.tril(numpy.ones((n, n)), -1)) + \
            (Y * eye).sum(axis=-1).exp().unsqueeze(-1) * eye
        return spd.powm(C @ spd._mT(C), 1 / self.power)

    def mean(self, X):
        M = X.mean(axis=0)
        if self.metric != "AIM":
            return M
        for _ in range(self.karcher_steps):       # Karcher flow, LieBN cal_geom_mean_
            s, si = linalg.sqrtm_spd(M), spd.invsqrtm(M)
            T = linalg.logm_spd(si @ X @ si).mean(axis=0)
            if bool(((T * T).sum(axis=(-2, -1)).sqrt().numpy() <= 0.1).all()):
                break
            M = s @ spd.sym_expm(T) @ s
        return M

    def translate(self, X, P, inverse):
        if self.metric == "AIM":
            return spd.cholesky_congruence(P, X, inverse=inverse)
        return X - P if inverse else X + P

    def dist2_identity(self, X):
        if self.metric == "AIM":
            return spd.ai_dist2_to_identity(X, self.alpha, self.beta) / self.power ** 2
        d = (X * X).sum(axis=(-2, -1))
        if self.metric == "LCM":
            return d / self.power ** 2
        return self.alpha * d + self.beta * spd.trace(X) ** 2 if self.beta else self.alpha * d

    def scale(self, X, factor):
        f = factor.unsqueeze(-1).unsqueeze(-1)
        return spd.powm(X, f) if self.metric == "AIM" else X * f

    def geodesic(self, P, Q, t):
        return spd.ai_geodesic(P, Q, t) if self.metric == "AIM" else (1 - t) * P + t * Q


def lie_batch_norm(x, running_mean=None, running_var=None, weight=None, shift=None,
                   training=False, momentum=0.1, eps=1e-5, metric="AIM", power=1.0,
                   alpha=1.0, beta=0.0, karcher_steps=1, detach_stats=True):
    """LieBN: batch normalization of SPD matrices x (N, *C, n, n) on a Lie group.

    Y_i = φ⁻¹( B ⊙ ( (M⁻¹ ⊙ φ(X_i)) ^[s/√(v + ε)] ) ),  φ the θ-power deformation of the metric,
    M = Fréchet mean of φ(X_i) over the batch (axis 0), v = mean_i d²(M⁻¹ ⊙ φ(X_i), E),
    B = φ(weight), ⊙ the group product and ^[t] the group scaling (LEM: φ = log, ⊙ = +,
    scaling = multiplication; LCM: φ = log-Cholesky of X^θ, ⊙ = +; AIM: φ = X^θ,
    P ⊙ X = L_P X L_Pᵀ with L_P = chol P, X^[t] = X^t, M by ``karcher_steps`` Karcher-flow
    steps from the arithmetic mean, stopped early when the tangent mean's norm ≤ 0.1).
    Training updates running_mean ← geodesic(running_mean, M, momentum) (in the deformed
    space) and running_var ← (1 − m)·running_var + m·v in place; evaluation uses them.

    Backward: a composition of ops with hand-derived backwards (``linalg.cholesky``,
    ``linalg.solve_triangular``, ``linalg.logm_spd``/``powm_spd``/``sqrtm_spd``,
    ``geometry.spd.SymExpm`` (help(minigrad.geometry.spd.SymExpm))); with
    ``detach_stats=True`` (default, as the official code) M and v carry no gradient.
    Arguments: running_mean (*C, n, n), running_var (*C,) (both or neither; evaluation needs
    them), weight (*C, n, n) SPD bias (identity if None), shift (*C,) the dispersion s
    (1 if None), ``metric`` in {"AIM", "LEM", "LCM"}, ``power`` θ ≠ 0 (AIM, LCM), ``alpha`` > 0
    and ``beta`` > −α/n (AIM, LEM: the O(n)-invariant inner product), ``karcher_steps`` (AIM).
    Deviations: the SPD bias is a plain tensor here (the official code updates it with
    geoopt's Riemannian optimizer; ``LieBatchNorm`` parameterizes it as exp of a symmetric
    matrix). The variance is measured after centering (d²(·, E), the official choice).
    Paper: Chen, Song, Liu & Sebe 2024, "A Lie Group Approach to Riemannian Batch
    Normalization" (formulas from GitZH-Chen/LieBN, LieBN/LieBNSPD.py).
    """
    op = "lie_batch_norm"
    _check_spd_input(op, x)
    if metric not in ("AIM", "LEM", "LCM"):
        raise ValueError(f"{op}: metric must be 'AIM', 'LEM' or 'LCM', got {metric!r}")
    if power == 0:
        raise ValueError(f"{op}: power must be nonzero")
    if metric == "LEM" and power != 1:
        raise ValueError(f"{op}: the LEM metric has no power deformation (power=1), got {power}")
    n = x.shape[-1]
    if alpha <= 0 or beta <= -alpha / n:
        raise ValueError(f"{op}: need alpha > 0 and beta > -alpha/n, got alpha={alpha}, beta={beta}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: give both running_mean and running_var, or neither")
    if not training and running_mean is None:
        raise ValueError(f"{op}: evaluation mode (training=False) needs running_mean and running_var")
    chan = tuple(x.shape[1:-2])
    _check_shape(op, "running_mean", running_mean, chan + (n, n))
    _check_shape(op, "running_var", running_var, chan)
    _check_shape(op, "weight", weight, chan + (n, n))
    _check_shape(op, "shift", shift, chan)
    g = _LieSPD(metric, power, alpha, beta, karcher_steps)
    Xd = g.deform(x)
    if training:
        src = Xd.detach() if detach_stats else Xd
        M = g.mean(src)
        Xc = g.translate(Xd, M.detach() if detach_stats else M, inverse=True)
        var = g.dist2_identity(Xc.detach() if detach_stats else Xc).mean(axis=0)
        if running_mean is not None:
            _update_running(running_mean, g.geodesic(running_mean, M.detach(), momentum))
            _update_running(running_var, (1 - momentum) * running_var + momentum * var.detach())
    else:
        Xc = g.translate(Xd, running_mean, inverse=True)
        var = running_var
    factor = (var + eps).rsqrt() if shift is None else shift * (var + eps).rsqrt()
    Y = g.scale(Xc, factor)
    if weight is not None:
        Y = g.translate(Y, g.deform(weight), inverse=False)   # weight = I: the identity map
    return g.inv_deform(Y)


class LieBatchNorm(Module):
    """LieBN on SPD matrices (N, *C, n, n) with per-channel statistics over axis 0.

    Y_i = φ⁻¹(B ⊙ (M⁻¹ ⊙ φ(X_i))^[s/√(v + ε)]) (see ``F.lie_batch_norm``).

    ``LieBatchNorm(n, channels=(), metric="AIM", power=1.0, alpha=1.0, beta=0.0,
    karcher_steps=1, momentum=0.1, eps=1e-5, detach_stats=True)``: parameters ``weight_log``
    (*C, n, n) symmetric, the SPD bias being exp(weight_log) (init I), and ``shift`` (*C,)
    (init 1); buffers ``running_mean`` (*C, n, n, init I, as the official code for every
    metric), ``running_var`` (*C,) (init 1) and ``num_batches_tracked``. ``momentum=None``
    gives the cumulative average (factor 1/num_batches_tracked).
    Backward: see ``F.lie_batch_norm``. Paper: Chen, Song, Liu & Sebe 2024, "A Lie Group
    Approach to Riemannian Batch Normalization".
    """

    def __init__(self, n, channels=(), metric="AIM", power=1.0, alpha=1.0, beta=0.0,
                 karcher_steps=1, momentum=0.1, eps=1e-5, detach_stats=True):
        super().__init__()
        channels = (channels,) if isinstance(channels, int) else tuple(channels)
        self.n, self.channels, self.metric, self.power = n, channels, metric, power
        self.alpha, self.beta, self.karcher_steps = alpha, beta, karcher_steps
        self.momentum, self.eps, self.detach_stats = momentum, eps, detach_stats
        self.weight_log = Parameter(zeros(*channels, n, n))
        self.shift = Parameter(ones(*channels) if channels else ones(()))
        self.register_buffer("running_mean", Tensor(numpy.broadcast_to(
            numpy.eye(n, dtype=numpy.float32), channels + (n, n)).copy()))
        self.register_buffer("running_var", ones(*channels) if channels else ones(()))
        self.register_buffer("num_batches_tracked", Tensor(0))

    @property
    def weight(self):
        return spd.sym_expm(spd.sym(self.weight_log))

    def forward(self, x):
        if self.training:
            self.num_batches_tracked.add_(1)
        m = self.momentum
        if m is None:
            m = 1.0 / max(float(self.num_batches_tracked.item()), 1.0)
        return lie_batch_norm(x, self.running_mean, self.running_var, self.weight, self.shift,
                              self.training, m, self.eps, self.metric, self.power, self.alpha,
                              self.beta, self.karcher_steps, self.detach_stats)

    def extra_repr(self):
        return (f"{self.n}, channels={self.channels}, metric={self.metric!r}, power={self.power}, "
                f"momentum={self.momentum}, eps={self.eps}")


# ================================================================== N054 GBWBN
def gbw_batch_norm(x, running_mean=None, running_var=None, weight=None, metric_weight=None,
                   shift=None, training=False, momentum=0.1, eps=1e-5, power=1.0,
                   detach_stats=True):
    """GBWBN: batch normalization of SPD matrices x (*, n, n) under the generalized
    Bures–Wasserstein (GBW) metric with SPD parameter M, deformed by the power θ.

    P_i = M^{-1/2} X_i^θ M^{-1/2} (GBW(M) is BW after this congruence),
    G = one BW barycentre step from the arithmetic mean G₀:
        G = G₀^{-1/2} (mean_i (G₀^{1/2} P_i G₀^{1/2})^{1/2})² G₀^{-1/2},
    v = mean_i d²_BW(P_i, I)/θ²,  d²_BW(P, I) = tr P + n − 2 tr P^{1/2},
    Q_i = Exp_I(Γ_{G→I} Log_G P_i)                      (centre: transport to I)
    R_i = Exp_I(s/√(v + ε) · Log_I Q_i)                  (scale at I)
    Y_i = (M^{1/2} Exp_B(Γ_{I→B} Log_I R_i) M^{1/2})^{1/θ},  B = M^{-1/2} weight^θ M^{-1/2},
    with the BW maps of ``minigrad.geometry.spd`` (Log_I P = 2P^{1/2} − 2I,
    Exp_I V = I + V + V²/4, Γ by the √(2/(λ_i+λ_j)) spectral weights of the base point,
    Exp_B V = B + V + L B L with B L + L B = V). Statistics pool every leading axis (the
    official code flattens batch and channels). Training updates running_mean ← BW
    geodesic(running_mean, G, momentum) and running_var ← (1 − m)·running_var + m·v in place.

    Backward: a composition of ops with hand-derived backwards (``linalg.sqrtm_spd``,
    ``powm_spd``, ``eigh``, ``geometry.spd.LyapunovSolve``
    (help(minigrad.geometry.spd.LyapunovSolve))); with ``detach_stats=True`` (default, as the
    official code, which computes G and v under no_grad) they carry no gradient.
    Arguments: running_mean (n, n), running_var () (both or neither; evaluation needs them),
    weight (n, n) SPD bias (I if None), metric_weight M (n, n) SPD (I if None), shift () the
    dispersion s (1 if None), power θ ≠ 0.
    Deviations, following the official code where it departs from the catalog row's sketch:
    one barycentre step (not iterated to convergence); the variance is the dispersion of the
    P_i around I, not around G (official ``cal_var``); SPD parameters are plain tensors here
    (``GBWBatchNorm`` parameterizes them as exp of symmetric matrices instead of the
    official Riemannian optimizer). The transports need distinct eigenvalues of G and B.
    Paper: Wang, Jin, Chen, Luo & Wu 2025, "Learning to Normalize on the SPD Manifold under
    Bures-Wasserstein Geometry" (formulas from jjscc/GBWBN, GBWBN_SPDNet/spd/nn.py and
    spd/functional.py).
    """
    op = "gbw_batch_norm"
    _check_spd_input(op, x, min_ndim=3)
    if power == 0:
        raise ValueError(f"{op}: power must be nonzero")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: give both running_mean and running_var, or neither")
    if not training and running_mean is None:
        raise ValueError(f"{op}: evaluation mode (training=False) needs running_mean and running_var")
    n = x.shape[-1]
    for name, t in (("running_mean", running_mean), ("weight", weight), ("metric_weight", metric_weight)):
        _check_shape(op, name, t, (n, n))
    _check_shape(op, "running_var", running_var, ())
    _check_shape(op, "shift", shift, ())
    lead = tuple(x.shape[:-2])
    P = spd.powm(x.reshape(-1, n, n), power)
    if metric_weight is not None:
        mi = spd.invsqrtm(metric_weight)
        P = mi @ P @ mi
    if training:
        src = P.detach() if detach_stats else P
        G = spd.bw_barycenter_step(src, src.mean(axis=0))
        var = (spd.trace(src) + n - 2 * spd.trace(linalg.sqrtm_spd(src))).mean() / power ** 2
        if running_mean is not None:
            _update_running(running_mean, spd.bw_geodesic(running_mean, G.detach(), momentum))
            _update_running(running_var, (1 - momentum) * running_var + momentum * var.detach())
    else:
        G, var = running_mean, running_var
    Q = spd.bw_exp_identity(spd.bw_transport_to_identity(G, spd.bw_logmap(G, P)))
    factor = (var + eps).rsqrt() if shift is None else shift * (var + eps).rsqrt()
    R = spd.bw_exp_identity(factor * spd.bw_log_identity(Q))
    V = spd.bw_log_identity(R)
    if weight is None:
        Y = spd.bw_exp_identity(V)
    else:
        B = spd.powm(weight, power)
        if metric_weight is not None:
            B = mi @ B @ mi
        Y = spd.bw_expmap(B, spd.bw_transport_from_identity(B, V))
    if metric_weight is not None:
        ms = linalg.sqrtm_spd(metric_weight)
        Y = ms @ Y @ ms
    return spd.powm(Y, 1 / power).reshape(*lead, n, n)


class GBWBatchNorm(Module):
    """GBWBN on SPD matrices (*, n, n): statistics over every leading axis.

    ``GBWBatchNorm(n, power=1.0, momentum=0.1, eps=1e-5, learn_metric=True,
    detach_stats=True)``: parameters ``weight_log`` (n, n) (the SPD bias exp(weight_log),
    initialised to I + diag(1, …, n)·1e-7 as the official code, so that its eigenvalues are
    distinct), ``metric_log`` (n, n) (M = exp(metric_log), init I; absent unless
    ``learn_metric``) and ``shift`` () (init 1); buffers ``running_mean`` (n, n, init I),
    ``running_var`` () (init 1), ``num_batches_tracked``; ``momentum=None`` gives the
    cumulative average. Backward: see ``F.gbw_batch_norm``. Paper: Wang, Jin, Chen, Luo & Wu
    2025, "Learning to Normalize on the SPD Manifold under Bures-Wasserstein Geometry".
    """

    def __init__(self, n, power=1.0, momentum=0.1, eps=1e-5, learn_metric=True,
                 detach_stats=True):
        super().__init__()
        self.n, self.power, self.momentum, self.eps = n, power, momentum, eps
        self.learn_metric, self.detach_stats = learn_metric, detach_stats
        self.weight_log = Parameter(Tensor(numpy.diag(numpy.log1p(
            numpy.arange(1, n + 1) * 1e-7)).astype(numpy.float32)))
        if learn_metric:
            self.metric_log = Parameter(zeros(n, n))
        else:
            self.register_parameter("metric_log", None)
        self.shift = Parameter(ones(()))
        self.register_buffer("running_mean", Tensor(numpy.eye(n, dtype=numpy.float32)))
        self.register_buffer("running_var", ones(()))
        self.register_buffer("num_batches_tracked", Tensor(0))

    def forward(self, x):
        if self.training:
            self.num_batches_tracked.add_(1)
        m = self.momentum
        if m is None:
            m = 1.0 / max(float(self.num_batches_tracked.item()), 1.0)
        M = None if self.metric_log is None else spd.sym_expm(spd.sym(self.metric_log))
        return gbw_batch_norm(x, self.running_mean, self.running_var,
                              spd.sym_expm(spd.sym(self.weight_log)), M, self.shift,
                              self.training, m, self.eps, self.power, self.detach_stats)

    def extra_repr(self):
        return f"{self.n}, power={self.power}, momentum={self.momentum}, eps={self.eps}"


# ================================================================== N053 Poincaré midpoint BN
def poincare_batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                        training=False, momentum=0.1, eps=1e-6, c=1.0):
    """Poincaré midpoint batch normalization of points x (*, D) on the ball 𝔻ᴰ_c (every
    leading axis is the batch, as the official layer flattens (N, H, W)).

    m = gyro-midpoint of the x_i (training) or running_mean (evaluation),
    σ² = mean_i d_c(x_i, m)²,  β = exp_0(bias),
    y_i = exp_β( √(γ/(σ² + ε)) · P_{m→β}(log_m x_i) ),
    with the maps of ``minigrad.geometry.poincare`` (exp projected back inside the ball).
    Training updates running_mean ← exp_{r}(momentum · log_{r}(m)) (a geodesic step from
    the running mean r towards m) and running_var ← (1 − momentum)·running_var + momentum·σ²
    in place (Lou et al. 2020, Alg. 2).

    Backward: a composition of registered elementwise/reduction ops (every Möbius, exp, log,
    transport and midpoint formula is differentiated through; the statistics are not
    detached, as in the official code); see ``minigrad.geometry.poincare``.
    Arguments: running_mean (D,) a point of the ball, running_var () (both or neither;
    evaluation needs them), weight γ () (1 if None), bias (D,) a tangent vector at 0 (0 if
    None), ``eps`` = 1e-6 and ``c`` = 1.0 (curvature −c) as the official code.
    Deviations: the scale is √(γ/(σ² + ε)) (γ inside the root), as the official code
    (models/nn/modules/batchnorm.py), not γ/√(σ² + ε) as in Lou et al.; the official layer keeps
    running buffers but never updates them (evaluation uses batch statistics); here they
    follow Lou et al.'s geodesic running average and evaluation uses them. ``PoincareBatchNorm``
    with ``tangent=True`` adds the official layer's exp_0 on input and log_0 on output.
    Paper: van Spengler, Berkhout & Mettes 2023, "Poincaré ResNet" (formulas from
    maxvanspengler/poincare-resnet, models/nn/modules/batchnorm.py and
    models/manifolds/math/midpoint.py).
    """
    op = "poincare_batch_norm"
    check_floating(op, x=x)
    if x.ndim < 2:
        raise ValueError(f"{op}: expected points of shape (N, D) or (*, D), got shape {tuple(x.shape)}")
    if c <= 0:
        raise ValueError(f"{op}: the curvature parameter c must be positive, got {c}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: give both running_mean and running_var, or neither")
    if not training and running_mean is None:
        raise ValueError(f"{op}: evaluation mode (training=False) needs running_mean and running_var")
    D = x.shape[-1]
    for name, t, shape in (("running_mean", running_mean, (D,)), ("running_var", running_var, ()),
                           ("weight", weight, ()), ("bias", bias, (D,))):
        _check_shape(op, name, t, shape)
    xa = x.data
    if bool(((xa * xa).sum(axis=-1) * c >= 1).any()):
        raise ValueError(f"{op}: the input has points outside the Poincaré ball of curvature "
                         f"-{c} (c·‖x‖² ≥ 1); map them in with geometry.poincare.expmap0")
    lead = tuple(x.shape[:-1])
    xs = x.reshape(-1, D)
    if training:
        m = poincare.midpoint(xs, c, axis=0)
        var = (poincare.dist(xs, m, c) ** 2).mean()
        if running_mean is not None:
            r = running_mean.reshape(1, D)
            step = poincare.expmap(r, momentum * poincare.logmap(r, m.detach(), c), c)
            _update_running(running_mean, step.reshape(D))
            _update_running(running_var, (1 - momentum) * running_var + momentum * var.detach())
    else:
        m, var = running_mean.reshape(1, D), running_var
    beta = poincare.expmap0(bias.reshape(1, D), c) if bias is not None else None
    if beta is None:
        v = poincare.transp(m, m * 0, poincare.logmap(m, xs, c), c)
    else:
        v = poincare.transp(m, beta, poincare.logmap(m, xs, c), c)
    scale = (var + eps).reciprocal() if weight is None else weight / (var + eps)
    v = scale.sqrt() * v
    y = poincare.expmap0(v, c) if beta is None else poincare.expmap(beta, v, c)
    return y.reshape(*lead, D)


class PoincareBatchNorm(Module):
    """Poincaré midpoint batch normalization of points (N, D) or (*, D) on the ball.

    y_i = exp_β(√(γ/(σ² + ε)) · P_{m→β}(log_m x_i)), m the gyro-midpoint, β = exp_0(bias).

    ``PoincareBatchNorm(num_features, c=1.0, momentum=0.1, eps=1e-6, tangent=False)``:
    parameters ``bias`` (D,) (tangent vector at 0, init 0; the centre is exp_0(bias)) and
    ``weight`` () (γ, init 1), as the official layer's ``mean`` and ``var``; buffers
    ``running_mean`` (D,) (init 0, the origin), ``running_var`` () (init 1),
    ``num_batches_tracked``; ``momentum=None`` gives the cumulative average. With
    ``tangent=True`` the input is a tangent vector at 0 (mapped in by exp_0) and the output
    is mapped back by log_0, as the official Poincaré ResNet layer does.
    Backward: see ``F.poincare_batch_norm``. Paper: van Spengler, Berkhout & Mettes 2023,
    "Poincaré ResNet".
    """

    def __init__(self, num_features, c=1.0, momentum=0.1, eps=1e-6, tangent=False):
        super().__init__()
        self.num_features, self.c, self.momentum, self.eps = num_features, c, momentum, eps
        self.tangent = tangent
        self.bias = Parameter(zeros(num_features))
        self.weight = Parameter(ones(()))
        self.register_buffer("running_mean", zeros(num_features))
        self.register_buffer("running_var", ones(()))
        self.register_buffer("num_batches_tracked", Tensor(0))

    def forward(self, x):
        if x.ndim < 2 or x.shape[-1] != self.num_features:
            raise ValueError(f"PoincareBatchNorm({self.num_features}): expected points of shape "
                             f"(*, {self.num_features}), got shape {tuple(x.shape)}")
        if self.training:
            self.num_batches_tracked.add_(1)
        m = self.momentum
        if m is None:
            m = 1.0 / max(float(self.num_batches_tracked.item()), 1.0)
        if self.tangent:
            x = poincare.expmap0(x, self.c)
        y = poincare_batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                self.training, m, self.eps, self.c)
        return poincare.logmap0(y, self.c) if self.tangent else y

    def extra_repr(self):
        return (f"{self.num_features}, c={self.c}, momentum={self.momentum}, eps={self.eps}, "
                f"tangent={self.tangent}")


# ================================================================== registration
def _spd(r, *shape, spread=1.0):
    n = shape[-1]
    A = r.standard_normal(shape) * spread
    return A @ A.swapaxes(-1, -2) / n + numpy.eye(n) * 0.5


def _register():
    reg = dict(kind="normalization", check="fd")
    register(lie_batch_norm, catalog_id="N055", module=LieBatchNorm, papers=LIE_PAPERS, **reg,
             inputs=lambda r: [
                 Case(_spd(r, 4, 3, 3), None, None, _spd(r, 3, 3), numpy.array(1.3),
                      training=True, detach_stats=False, metric="AIM", wrt=(0, 3, 4)),
                 Case(_spd(r, 4, 3, 3), None, None, _spd(r, 3, 3), numpy.array(0.8),
                      training=True, detach_stats=False, metric="AIM", power=0.5,
                      karcher_steps=2, beta=0.1, wrt=(0, 3, 4)),
                 Case(_spd(r, 3, 2, 3, 3), None, None, _spd(r, 2, 3, 3), r.uniform(0.5, 2, 2),
                      training=True, detach_stats=False, metric="LEM", beta=0.2, wrt=(0, 3, 4)),
                 Case(_spd(r, 4, 3, 3), None, None, _spd(r, 3, 3), numpy.array(1.1),
                      training=True, detach_stats=False, metric="LCM", power=0.5, wrt=(0, 3, 4)),
                 Case(_spd(r, 3, 3, 3), _spd(r, 3, 3), numpy.array(0.7), _spd(r, 3, 3),
                      numpy.array(1.2), training=False, metric="AIM", wrt=(0, 3, 4)),
             ])
    register(gbw_batch_norm, catalog_id="N054", module=GBWBatchNorm, papers=GBW_PAPERS, **reg,
             inputs=lambda r: [
                 Case(_spd(r, 4, 3, 3), None, None, _spd(r, 3, 3), _spd(r, 3, 3),
                      numpy.array(1.3), training=True, detach_stats=False, wrt=(0, 3, 4, 5)),
                 Case(_spd(r, 2, 2, 3, 3), None, None, _spd(r, 3, 3), None, numpy.array(0.9),
                      training=True, detach_stats=False, power=0.5, wrt=(0, 3, 5)),
                 Case(_spd(r, 3, 3, 3), _spd(r, 3, 3), numpy.array(0.7), _spd(r, 3, 3),
                      _spd(r, 3, 3), numpy.array(1.2), training=False, wrt=(0, 3, 4, 5)),
             ])

    ball = lambda r, *s: r.uniform(-0.4, 0.4, s)  # noqa: E731
    register(poincare_batch_norm, catalog_id="N053", module=PoincareBatchNorm,
             papers=POINCARE_PAPERS, **reg,
             inputs=lambda r: [
                 Case(ball(r, 5, 3), None, None, numpy.array(1.3), r.normal(0, 0.3, 3),
                      training=True, wrt=(0, 3, 4)),
                 Case(ball(r, 2, 3, 2), None, None, None, None, training=True, c=0.7),
                 Case(ball(r, 4, 3), ball(r, 3), numpy.array(0.6), numpy.array(0.8),
                      r.normal(0, 0.3, 3), training=False, wrt=(0, 3, 4)),
             ])


_register()
