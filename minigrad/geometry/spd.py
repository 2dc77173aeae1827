"""The manifold of symmetric positive-definite (SPD) matrices: the maps the SPD batch
normalizations need (``gbw_batch_norm``, N054; ``lie_batch_norm``, N055).

Every function takes and returns tensors of shape (*, n, n) and is differentiable:

- ``sym_expm`` and ``lyapunov_solve`` are ops with their own ``Function`` and a hand-derived
  backward (below); ``sqrtm_spd``, ``logm_spd``, ``powm_spd``, ``cholesky``,
  ``solve_triangular`` and ``eigh`` are the registered ops of ``minigrad.linalg``
  (Daleckii–Krein / Giles / Murray backwards);
- everything else (matrix power with a tensor exponent, the affine-invariant (AIM)
  log/exp/geodesic, the Cholesky group product, the Bures–Wasserstein (BW) distance,
  log/exp maps, geodesic, barycentre step and the parallel transports to and from I) is a
  composition of those ops and elementwise/matmul primitives, so its gradient comes from
  theirs.

Formulas: AIM and the Lie-Cholesky product follow GitZH-Chen/LieBN
(``LieBN/Geometry/SPD/SPDMatrices.py``); the BW maps follow jjscc/GBWBN
(``GBWBN_SPDNet/spd/functional.py``: LogG, LogG1, ExpG, pal1, pal2, BaryGeom, dist_riemann,
geodesic), i.e. Malagò, Montrucchio & Pistone 2018, "Wasserstein Riemannian geometry of
Gaussian densities", and Bhatia, Jain & Lim 2019, "On the Bures–Wasserstein distance between
positive definite matrices".

Repeated eigenvalues: the BW parallel transports (``bw_transport_from_identity``,
``bw_transport_to_identity``) differentiate through ``eigh``'s eigenvectors, whose
gradient is undefined when two eigenvalues of the base point coincide (GBWBN's official
code initialises its SPD bias with a 1e-7·k jitter on the diagonal for this reason, and so
does ``GBWBatchNorm``).
"""
from minigrad import linalg
from minigrad.backends import backend_of_array
from minigrad.autograd import Function
from minigrad.tensor import Tensor

__all__ = [
    "sym", "trace", "sym_expm", "lyapunov_solve", "powm", "invsqrtm",
    "ai_logmap", "ai_expmap", "ai_geodesic", "ai_dist2_to_identity",
    "cholesky_congruence", "bw_dist2", "bw_logmap", "bw_expmap", "bw_log_identity",
    "bw_exp_identity", "bw_geodesic", "bw_barycenter_step", "bw_transport_to_identity",
    "bw_transport_from_identity",
]


def _mT(x):
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return x.permute(*axes)


def _eye_like(x):
    return Tensor(backend_of_array(x.data).xp.eye(x.shape[-1], dtype=x.dtype))


def sym(X):
    """(X + Xᵀ)/2."""
    return (X + _mT(X)) / 2


def trace(X):
    """tr X over the last two axes (shape (*,))."""
    return (X * _eye_like(X)).sum(axis=(-2, -1))


# ------------------------------------------------------------------ ops with their own Function
def _sym_eigh(xp, A):
    w, V = xp.linalg.eigh((A + A.swapaxes(-1, -2)) / 2)
    return w, V


class SymExpm(Function):
    """exp(S) of a symmetric matrix S = (A + Aᵀ)/2 = V diag(λ) Vᵀ:  Y = V diag(e^λ) Vᵀ.

    Backward (Daleckii–Krein): gA = V (K ∘ (Vᵀ Ḡ V)) Vᵀ with Ḡ = (G + Gᵀ)/2 and
    K_ij = (e^{λ_i} − e^{λ_j})/(λ_i − λ_j), K_ii = e^{λ_i} (and the mean of the two
    derivatives for nearly equal λ: the divided difference's limit); symmetric, so it is also
    the gradient of A. Unlike ``linalg.matrix_exp`` it is defined for symmetric input only,
    is exact at repeated eigenvalues and costs one eigh. Second order: ``composite``."""

    @staticmethod
    def forward(ctx, A):
        xp = ctx.xp
        w, V = _sym_eigh(xp, A)
        ew = xp.exp(w)
        ctx.save_for_backward(w, V, ew)
        return (V * ew[..., None, :]) @ V.swapaxes(-1, -2)

    @staticmethod
    def backward(ctx, G):
        w, V, ew = ctx.saved_tensors
        xp = ctx.xp
        dw = w[..., :, None] - w[..., None, :]
        scale = xp.maximum(xp.abs(w).max(axis=-1), 1.0)[..., None, None]
        near = xp.abs(dw) <= 1e-9 * scale
        # (e^a − e^b)/(a − b) = e^b · expm1(a − b)/(a − b): no cancellation for close a, b
        K = xp.where(near, (ew[..., :, None] + ew[..., None, :]) / 2,
                     ew[..., None, :] * xp.expm1(dw) / xp.where(near, 1, dw))
        Gs = (G + G.swapaxes(-1, -2)) / 2
        Vt = V.swapaxes(-1, -2)
        return V @ (K * (Vt @ Gs @ V)) @ Vt

    @staticmethod
    def composite(A):
        w, V = linalg.eigh(A)
        return (V * w.exp().unsqueeze(-2)) @ _mT(V)


def sym_expm(S):
    """exp(S) of a symmetric matrix (its symmetric part), via eigh; Daleckii–Krein backward
    (``SymExpm``)."""
    _check_square("sym_expm", S)
    return SymExpm.apply(S)


class LyapunovSolve(Function):
    """L solving the Lyapunov equation X L + L X = V for SPD X = U diag(λ) Uᵀ, symmetric V:
    L = U ((Uᵀ V U) ∘ C) Uᵀ with C_ij = 1/(λ_i + λ_j).

    Backward: differentiate X L + L X = V: X dL + dL X = dV − (dX L + L dX). With Y the
    solution of X Y + Y X = G (the solution map T is self-adjoint: C is symmetric),
    ⟨G, dL⟩ = ⟨Y, dV − dX L − L dX⟩, so gV = Y and gX = sym(−(Y Lᵀ + Lᵀ Y)) (X enters
    through its symmetric part). No eigenvector derivative appears, so repeated eigenvalues of X are harmless
    (as in GBWBN's ``Lyapunov_eig_solver``). Second order: ``composite``."""

    @staticmethod
    def forward(ctx, X, V):
        xp = ctx.xp
        w, U = _sym_eigh(xp, X)
        C = 1 / (w[..., :, None] + w[..., None, :])
        Ut = U.swapaxes(-1, -2)
        L = U @ (C * (Ut @ V @ U)) @ Ut
        ctx.save_for_backward(U, C, L)
        return L

    @staticmethod
    def backward(ctx, G):
        U, C, L = ctx.saved_tensors
        Ut = U.swapaxes(-1, -2)
        Y = U @ (C * (Ut @ G @ U)) @ Ut
        Lt = L.swapaxes(-1, -2)
        gX = -(Y @ Lt + Lt @ Y)
        return (gX + gX.swapaxes(-1, -2)) / 2, Y

    @staticmethod
    def composite(X, V):
        w, U = linalg.eigh(X)
        C = 1 / (w.unsqueeze(-1) + w.unsqueeze(-2))
        return U @ (C * (_mT(U) @ V @ U)) @ _mT(U)


def lyapunov_solve(X, V):
    """L with X L + L X = V (X SPD, V symmetric), via eigh of X (``LyapunovSolve``)."""
    _check_square("lyapunov_solve", X)
    return LyapunovSolve.apply(X, V)


def _check_square(op, X):
    if X.ndim < 2 or X.shape[-1] != X.shape[-2]:
        raise ValueError(f"{op}: expected square matrices of shape (*, n, n), got shape "
                         f"{tuple(X.shape)}")


# ------------------------------------------------------------------ compositions
def powm(X, p):
    """X^p of an SPD matrix: ``powm_spd`` for a number p, exp(p · log X) for a tensor p
    (broadcast against the batch: shape (*, 1, 1)), so that p gets a gradient too."""
    if isinstance(p, Tensor):
        return sym_expm(p * linalg.logm_spd(X))
    p = float(p)
    if p == 1.0:
        return X
    if p == 2.0:
        return X @ X
    return linalg.powm_spd(X, p)


def invsqrtm(X):
    """X^{-1/2}."""
    return linalg.powm_spd(X, -0.5)


def ai_logmap(P, Q):
    """AIM logarithm Log_P(Q) = P^{1/2} log(P^{-1/2} Q P^{-1/2}) P^{1/2}."""
    s, si = linalg.sqrtm_spd(P), invsqrtm(P)
    return s @ linalg.logm_spd(si @ Q @ si) @ s


def ai_expmap(P, V):
    """AIM exponential Exp_P(V) = P^{1/2} exp(P^{-1/2} V P^{-1/2}) P^{1/2}."""
    s, si = linalg.sqrtm_spd(P), invsqrtm(P)
    return s @ sym_expm(si @ V @ si) @ s


def ai_geodesic(P, Q, t):
    """AIM geodesic P #_t Q = P^{1/2} (P^{-1/2} Q P^{-1/2})^t P^{1/2}."""
    s, si = linalg.sqrtm_spd(P), invsqrtm(P)
    return s @ powm(si @ Q @ si, t) @ s


def ai_dist2_to_identity(P, alpha=1.0, beta=0.0):
    """(O(n)-invariant) squared AIM distance to I: α‖log P‖²_F + β (log det P)²."""
    Lg = linalg.logm_spd(P)
    d = alpha * (Lg * Lg).sum(axis=(-2, -1))
    if beta:
        d = d + beta * trace(Lg) ** 2
    return d


def cholesky_congruence(P, X, inverse=False):
    """The Lie-Cholesky group action of P on X (LieBN's ``LieCholesky_prod``, left):
    L X Lᵀ with L = chol(P), or L⁻¹ X L⁻ᵀ for ``inverse``."""
    L = linalg.cholesky(P)
    if not inverse:
        return L @ X @ _mT(L)
    Y = linalg.solve_triangular(L, X, upper=False)           # L⁻¹ X
    return _mT(linalg.solve_triangular(L, _mT(Y), upper=False))  # (L⁻¹ (L⁻¹X)ᵀ)ᵀ = L⁻¹ X L⁻ᵀ


def bw_dist2(P, Q):
    """Squared Bures–Wasserstein distance tr P + tr Q − 2 tr (Q^{1/2} P Q^{1/2})^{1/2}
    (GBWBN's ``dist_riemann``: the congruence is by the second argument's square root)."""
    s = linalg.sqrtm_spd(Q)
    return trace(P) + trace(Q) - 2 * trace(linalg.sqrtm_spd(s @ P @ s))


def bw_logmap(X, P):
    """BW logarithm at X of P: X^{1/2}(X^{1/2} P X^{1/2})^{1/2} X^{-1/2} + (·)ᵀ − 2X
    (= (XP)^{1/2} + (PX)^{1/2} − 2X; GBWBN ``LogG``)."""
    s, si = linalg.sqrtm_spd(X), invsqrtm(X)
    C = s @ linalg.sqrtm_spd(s @ P @ s) @ si
    return C + _mT(C) - 2 * X


def bw_expmap(X, V):
    """BW exponential at X of a symmetric V: X + V + L_X[V] X L_X[V], L_X[V] the solution
    of X L + L X = V (GBWBN ``ExpG``)."""
    L = lyapunov_solve(X, V)
    return X + V + L @ X @ L


def bw_log_identity(P):
    """BW logarithm at I: 2 P^{1/2} − 2 I (GBWBN ``LogG1``)."""
    return 2 * linalg.sqrtm_spd(P) - 2 * _eye_like(P)


def bw_exp_identity(V):
    """BW exponential at I: I + V + V²/4 = (I + V/2)² (GBWBN ``scale1``/``pal1``)."""
    return _eye_like(V) + V + (V @ V) / 4


def bw_geodesic(A, B, t):
    """BW geodesic at t: (1 − t)² A + t² B + t(1 − t)((AB)^{1/2} + (BA)^{1/2}), with
    (AB)^{1/2} = A^{1/2}(A^{1/2} B A^{1/2})^{1/2} A^{-1/2} (GBWBN ``geodesic``)."""
    s, si = linalg.sqrtm_spd(A), invsqrtm(A)
    C = s @ linalg.sqrtm_spd(s @ B @ s) @ si
    return (1 - t) ** 2 * A + t ** 2 * B + t * (1 - t) * (C + _mT(C))


def bw_barycenter_step(X, G, axis=0):
    """One fixed-point step of the BW barycentre (Álvarez-Esteban et al. 2016) from G:
    G⁺ = G^{-1/2} (mean_i (G^{1/2} X_i G^{1/2})^{1/2})² G^{-1/2} (GBWBN ``BaryGeom``,
    which takes one step from the arithmetic mean)."""
    s, si = linalg.sqrtm_spd(G), invsqrtm(G)
    H = linalg.sqrtm_spd(s @ X @ s).mean(axis=axis)
    return si @ (H @ H) @ si


def _spectral_weights(B, f):
    w, U = linalg.eigh(B)
    K = f(w.unsqueeze(-1) + w.unsqueeze(-2))
    return U, K


def bw_transport_to_identity(B, V):
    """BW parallel transport of a tangent V at B to I (GBWBN ``pal1`` before its exp):
    U (√(2/(λ_i + λ_j)) ∘ (Uᵀ V U)) Uᵀ, B = U diag(λ) Uᵀ."""
    U, K = _spectral_weights(B, lambda s: (2 / s).sqrt())
    return U @ (K * (_mT(U) @ V @ U)) @ _mT(U)


def bw_transport_from_identity(B, V):
    """BW parallel transport of a tangent V at I to B (GBWBN ``pal2``):
    U (√((λ_i + λ_j)/2) ∘ (Uᵀ V U)) Uᵀ."""
    U, K = _spectral_weights(B, lambda s: (s / 2).sqrt())
    return U @ (K * (_mT(U) @ V @ U)) @ _mT(U)
