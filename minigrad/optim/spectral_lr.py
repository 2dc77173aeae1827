"""Hessian spectra from Hessian-vector products: stochastic Lanczos quadrature (SLQ).

This module holds the spectral machinery that the spectrum-based learning-rate / momentum
learner of Granziol, Zohren & Roberts (catalog row O044, ``rmt_lanczos_lr``) is built on.
The learner itself is NOT here: the paper's exact map from the estimated spectrum and the
batch size to (learning rate, momentum) could not be read from any stored copy of the paper
or code, so no optimizer is registered under that row's name. What is here is tested against
exact Hessian eigenvalues (tests/test_optim_heavy.py).
"""
import math

import numpy as np  # host-side only: the small m×m tridiagonal matrix, never parameter data

from minigrad.autograd import enable_grad
from minigrad.backends import backend_of_array
from minigrad.func import hessian_vector
from minigrad.ops.random import generator_on


def hessian_vector_product(loss_fn, params):
    """``v ↦ H·v`` for the Hessian H of the scalar ``loss_fn()`` with respect to ``params``
    (a list of tensors), on lists of raw arrays shaped like the parameters: the gradient of
    ⟨∇L, v⟩ (two backward passes, the first recorded); H is never formed. The loss is
    re-evaluated on every call (pass a closure over one fixed mini-batch for the batch
    Hessian)."""
    params = list(params)

    def hv(vs):
        with enable_grad():
            return [h.data for h in hessian_vector(loss_fn(), params, vs)]
    return hv


def _dot(xs, ys):
    return sum(float((x * y).sum().item()) for x, y in zip(xs, ys))


def stochastic_lanczos_quadrature(hvp, shapes_like, num_steps=20, num_probes=1,
                                  generator=None):
    """Stochastic Lanczos quadrature of the spectral density of a symmetric operator H given
    by its products ``hvp(v)`` (lists of arrays shaped like ``shapes_like``, a list of arrays).

    For each of ``num_probes`` runs: a Rademacher probe v₁ (entries ±1, scaled to ‖v₁‖ = 1)
    starts m = ``num_steps`` Lanczos steps with full re-orthogonalization,
        w = H·v_j − β_{j−1}·v_{j−1};  α_j = ⟨w, v_j⟩;  w ← w − α_j·v_j;
        w ← w − Σ_{i≤j} ⟨w, v_i⟩·v_i;  β_j = ‖w‖;  v_{j+1} = w/β_j,
    giving the tridiagonal T (diagonal α, off-diagonal β) = Q·diag(θ)·Qᵀ. The Gauss quadrature
    of the density is the nodes θ_i with weights τ_i = Q[0, i]²: Σ_i τ_i·δ(λ − θ_i), averaged
    over the probes (Ghorbani, Krishnan & Xiao 2019, Algorithm 1; PyHessian's ``density``;
    Granziol et al. use the same estimator). The iteration stops early when β_j ≈ 0 (an
    invariant subspace: the quadrature is then exact).

    Returns ``(nodes, weights)``: lists (one per probe) of host NumPy arrays; each weights
    array sums to 1. The extreme nodes estimate the extreme eigenvalues λ_min, λ_max.
    Randomness: ``generator`` (a NumPy/CuPy Generator or minigrad HostGenerator), default
    minigrad's generator for the parameters' backend.
    """
    if int(num_steps) < 1 or int(num_probes) < 1:
        raise ValueError(f"stochastic_lanczos_quadrature: num_steps and num_probes must be >= 1, "
                         f"got {num_steps}, {num_probes}")
    shapes_like = list(shapes_like)
    backend = backend_of_array(shapes_like[0])
    rng = generator_on(backend, generator)
    dim = sum(int(a.size) for a in shapes_like)
    m = min(int(num_steps), dim)
    all_nodes, all_weights = [], []
    for _ in range(int(num_probes)):
        v = [(rng.random(a.shape) < 0.5).astype(a.dtype) * 2 - 1 for a in shapes_like]
        scale = 1.0 / math.sqrt(_dot(v, v))
        v = [x * x.dtype.type(scale) for x in v]
        basis, alphas, betas = [v], [], []
        prev, beta = None, 0.0
        for j in range(m):
            w = hvp(basis[-1])
            if prev is not None:
                w = [a - a.dtype.type(beta) * b for a, b in zip(w, prev)]
            alpha = _dot(w, basis[-1])
            alphas.append(alpha)
            w = [a - a.dtype.type(alpha) * b for a, b in zip(w, basis[-1])]
            for q in basis:                       # full re-orthogonalization
                c = _dot(w, q)
                w = [a - a.dtype.type(c) * b for a, b in zip(w, q)]
            beta = math.sqrt(max(_dot(w, w), 0.0))
            if j == m - 1 or beta < 1e-10 * max(1.0, abs(alpha)):
                break
            betas.append(beta)
            prev = basis[-1]
            basis.append([a * a.dtype.type(1.0 / beta) for a in w])
        k = len(alphas)
        T = np.diag(np.asarray(alphas, dtype=np.float64))
        if k > 1:
            off = np.asarray(betas[:k - 1], dtype=np.float64)
            T += np.diag(off, 1) + np.diag(off, -1)
        theta, Q = np.linalg.eigh(T)
        all_nodes.append(theta)
        all_weights.append(Q[0, :] ** 2)
    return all_nodes, all_weights


def spectral_density(nodes, weights, grid, sigma_squared=1e-5):
    """The smoothed SLQ density on ``grid`` (host array): the probe average of
    Σ_i τ_i·N(λ; θ_i, σ²) (PyHessian's ``density_generate`` smoothing, σ² = 1e-5)."""
    grid = np.asarray(grid, dtype=np.float64)
    out = np.zeros_like(grid)
    for theta, tau in zip(nodes, weights):
        d = grid[:, None] - np.asarray(theta)[None, :]
        out += (np.exp(-d ** 2 / (2 * sigma_squared)) / math.sqrt(2 * math.pi * sigma_squared)
                * np.asarray(tau)[None, :]).sum(1)
    return out / len(nodes)
