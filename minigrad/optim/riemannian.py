"""Riemannian SGD on the Grassmann manifold (Grassmann class representation), with ordinary SGD
for every other parameter."""
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.sgd import heavy_ball
from minigrad.registry import register


class GrassmannRSGD(Optimizer):
    """Riemannian SGD with momentum for class subspaces on the Grassmann manifold (GCR).

    Paper: Wang, Li & Zhang 2023, "Get the Best of Both Worlds: Improving Accuracy and
    Transferability by Grassmann Class Representation". Transcribed from the official code,
    innerlee/GCR ``gcr/rsgd.py`` (``RSGD``, ``_single_tensor_sgd``); the head it trains is
    ``gcr/grassmann_head.py`` (logit_c = γ·‖S_cᵀx/‖x‖‖, γ = 25).

    ``GrassmannRSGD(params, lr=0.1, momentum=0.9, dampening=0, weight_decay=1e-4,
    reorth_step=5, lr_factor=1.0, geometry=None)`` (the ImageNet recipe of the GCR configs;
    PyTorch's ``SGD`` argument names). A parameter group with ``geometry=k`` (an int) or
    ``geometry=[k_1, ..., k_C]`` holds stacked class subspaces: a weight W of shape
    (Σ_c k_c, d) (a ``Linear(d, Σ k_c, bias=False)`` head, GCR's ``fc.weight``) whose rows
    k_1 + ... + k_{c−1} .. + k_c are S_cᵀ, S_c ∈ ℝ^{d×k_c} with S_cᵀS_c = I. For those,
    with the Euclidean gradient G = ∂L/∂S_c and η' = η·lr_factor::

        b ← G (first step);   b ← μ·b + (1 − dampening)·G        (buffer of Euclidean gradients)
        ξ = (I − S·Sᵀ)·b                                          Riemannian gradient of b at S
        ξ = U·Σ·Vᵀ                                                thin SVD
        S ← S·V·cos(η'Σ)·Vᵀ − U·sin(η'Σ)·Vᵀ                      geodesic from S along −ξ, time η'
        S ← Q,  S = Q·R  (QR, R's diagonal made ≥ 0)              at steps 1, 1 + r, 1 + 2r, ...

    (r = ``reorth_step``). The QR is needed: once SᵀS drifts from I by rounding, U is no
    longer orthogonal to S and the sine term amplifies the drift (about ×2 per step in the
    tests). No weight decay on the subspaces. Every other group (``geometry=None``) takes
    PyTorch's SGD step: g ← g + λθ; b ← μb + (1 − dampening)g (b = g first); θ ← θ − η·b.

    As in the code, the buffer accumulates Euclidean gradients and is projected onto the
    tangent space at the current S when it is used (the catalog row's M ← μ·(I − SSᵀ)M + G̃,
    which re-projects the stored buffer at every step, is a different sequence once S
    moves). Differences from the code: the re-orthonormalization counter is per parameter
    (the code's ``OPT_ITER`` is one global counter over every subspace weight and step: the
    same schedule when there is one such weight); ``lr_factor`` scales the step for unequal
    k_c too (the code applies it only when all k_c are equal); Q's column signs are fixed
    (R's diagonal ≥ 0) so that NumPy and CuPy agree (the subspace, and GCR's logits ‖Sᵀx‖,
    do not depend on them). ``nesterov`` and ``maximize``
    are not offered (the code asserts ``not nesterov``).
    """

    def __init__(self, params, lr=0.1, momentum=0.9, dampening=0.0, weight_decay=1e-4,
                 reorth_step=5, lr_factor=1.0, geometry=None):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"GrassmannRSGD: lr, momentum and weight_decay must be ≥ 0, got "
                             f"lr={lr}, momentum={momentum}, weight_decay={weight_decay}")
        if isinstance(reorth_step, bool) or not isinstance(reorth_step, int) or reorth_step < 1:
            raise ValueError(f"GrassmannRSGD: reorth_step must be an int ≥ 1, got {reorth_step!r}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, lr_factor=lr_factor,
                                      geometry=geometry))
        self.reorth_step = reorth_step

    def add_param_group(self, group):
        """As ``Optimizer.add_param_group``; a group with ``geometry`` is checked to hold
        weights whose rows split into the given subspace dimensions."""
        super().add_param_group(group)
        for p in group["params"]:
            _subspace_dims(group["geometry"], tuple(p.shape))

    def _update(self, p, g, state, group, xp):
        dims = _subspace_dims(group["geometry"], p.shape)
        if dims is None and group["weight_decay"]:
            g = g + group["weight_decay"] * p
        mu = group["momentum"]
        if mu:
            g = heavy_ball(state, g, mu, group["dampening"], xp)
        if dims is None:
            p -= group["lr"] * g
            return
        step = state["step"] = state.get("step", 0) + 1
        t = group["lr"] * group["lr_factor"]
        reorth = (step - 1) % self.reorth_step == 0
        if len(set(dims)) == 1:          # all classes alike: one batched SVD / QR
            k, d = dims[0], p.shape[1]
            S = p.reshape(-1, k, d).transpose(0, 2, 1)
            D = g.reshape(-1, k, d).transpose(0, 2, 1)
            p[...] = _geodesic_step(xp, S, D, t, reorth).transpose(0, 2, 1).reshape(p.shape)
            return
        start = 0
        for k in dims:
            rows = slice(start, start + k)
            p[rows] = _geodesic_step(xp, p[rows].T, g[rows].T, t, reorth).T
            start += k

    def state_dict(self):
        state = super().state_dict()
        state["reorth_step"] = self.reorth_step
        return state

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self.reorth_step = state_dict.get("reorth_step", self.reorth_step)


def _geodesic_step(xp, S, D, t, reorth):
    """S (…, d, k) orthonormal, D the (momentum) Euclidean gradient: S moved along the
    geodesic in the direction −(I − SSᵀ)D for time t, re-orthonormalized if ``reorth``."""
    xi = D - S @ (S.swapaxes(-1, -2) @ D)
    U, sigma, Vt = xp.linalg.svd(xi, full_matrices=False)
    V = Vt.swapaxes(-1, -2)
    cos = xp.cos(t * sigma)[..., None, :]
    sin = xp.sin(t * sigma)[..., None, :]
    new = ((S @ V) * cos - U * sin) @ Vt
    if reorth:
        Q, R = xp.linalg.qr(new)
        diag = xp.diagonal(R, axis1=-2, axis2=-1)
        new = Q * xp.where(diag < 0, -1.0, 1.0).astype(Q.dtype)[..., None, :]
    return new


def _subspace_dims(geometry, shape):
    """The subspace dimensions of a stacked weight of ``shape`` (None: Euclidean)."""
    if geometry is None:
        return None
    if len(shape) != 2:
        raise ValueError(f"GrassmannRSGD: a parameter with geometry={geometry!r} must be a 2-D "
                         f"weight (Σ k_c, d), got shape {shape}")
    rows, d = shape
    if isinstance(geometry, int) and not isinstance(geometry, bool):
        if geometry < 1 or rows % geometry:
            raise ValueError(f"GrassmannRSGD: geometry={geometry} does not divide the {rows} "
                             f"rows of a weight of shape {shape}")
        dims = (geometry,) * (rows // geometry)
    else:
        dims = tuple(int(k) for k in geometry)
        if any(k < 1 for k in dims) or sum(dims) != rows:
            raise ValueError(f"GrassmannRSGD: geometry {list(dims)} must be positive and sum to "
                             f"the {rows} rows of a weight of shape {shape}")
    if max(dims) > d:
        raise ValueError(f"GrassmannRSGD: a {max(dims)}-dimensional subspace does not fit in "
                         f"ℝ^{d} (weight of shape {shape})")
    return dims


register(GrassmannRSGD, name="grassmann_rsgd", kind="optimizer", check="state",
         catalog_id="O090",
         papers=["Get the Best of Both Worlds: Improving Accuracy and Transferability by "
                 "Grassmann Class Representation"])
