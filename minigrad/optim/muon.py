"""Muon: SGD-momentum whose update for each weight matrix is orthogonalized by a
Newton–Schulz iteration, with AdamW for every parameter that is not a matrix."""
import math

from minigrad.optim.adam import _adam_direction, _check_adam_options
from minigrad.optim.optimizer import Optimizer, tensor_norm
from minigrad.registry import register

_NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def zeropower_via_newtonschulz(G, ns_coefficients=_NS_COEFFICIENTS, ns_steps=5, eps=1e-7,
                               xp=None):
    """An approximate orthogonal polar factor U·Vᵀ of the matrix ``G`` = U·S·Vᵀ (last two axes).

    Paper: Jordan et al. 2024, "Muon: An optimizer for hidden layers in neural networks"
    (blog post; code KellerJordan/Muon).

    The quintic Newton–Schulz iteration of KellerJordan/Muon ``zeropower_via_newtonschulz5``::

        X ← G / (‖G‖_F + eps)                  (spectral norm ≤ 1; Xᵀ first when rows > cols)
        repeat ns_steps times:  A = X·Xᵀ;  X ← a·X + (b·A + c·A²)·X

    Every iterate is U·p(S)·Vᵀ for an odd polynomial p, so the singular vectors are G's; the
    coefficients (a, b, c) = (3.4445, −4.7750, 2.0315) push the singular values quickly toward
    1 but not onto it (by design, see KellerJordan/Muon): after 5 steps a singular value
    σ ≥ 0.02·‖G‖_F lands in about [0.68, 1.13], a smaller one in [0.47, 1.2] or below.
    Runs in G's dtype (the reference runs in bfloat16).
    """
    xp = xp if xp is not None else _xp_of(G)
    a, b, c = ns_coefficients
    tall = G.shape[-2] > G.shape[-1]
    X = xp.swapaxes(G, -1, -2) if tall else G
    X = X / (tensor_norm(xp, X) + eps)
    for _ in range(ns_steps):
        A = X @ xp.swapaxes(X, -1, -2)
        X = a * X + (b * A + c * (A @ A)) @ X
    return xp.swapaxes(X, -1, -2) if tall else X


def _xp_of(array):
    from minigrad.backends import backend_of_array
    return backend_of_array(array).xp


class Muon(Optimizer):
    """Muon, MomentUm Orthogonalized by Newton–Schulz (Keller Jordan et al. 2024).

    Paper: Tian 2025, "Provable Scaling Laws of Feature Emergence from Learning Dynamics of
    Grokking" (the catalog row's paper) analyses Muon; the rule itself is Jordan et al.'s
    2024 blog post "Muon: An optimizer for hidden layers in neural networks" and
    KellerJordan/Muon ``muon.py`` (``muon_update``, ``SingleDeviceMuonWithAuxAdam``), with
    torch.optim.Muon's argument names::

        Muon(params, lr=0.02, weight_decay=0, momentum=0.95, nesterov=True,
             ns_coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7, ns_steps=5,
             adjust_lr_fn=None, adamw_lr=3e-4, adamw_betas=(0.9, 0.95), adamw_eps=1e-10,
             adamw_wd=0)

    For a weight matrix W (m×n; a tensor with more axes is viewed as shape[0] × the rest,
    as the reference does for convolution filters), gradient G, buffer B (zeros at first)::

        B ← μ·B + (1 − μ)·G
        U = (1 − μ)·G + μ·B        (nesterov=True; B itself when nesterov=False)
        O = NS(U)                  (``zeropower_via_newtonschulz``: ≈ the polar factor of U)
        W ← W·(1 − η·λ)            (decoupled weight decay with the unadjusted η)
        W ← W − η·s·O,   s = √max(1, m/n)    (adjust_lr_fn=None or "original")
                         s = 0.2·√max(m, n)  (adjust_lr_fn="match_rms_adamw", Moonlight)

    The older form B ← μB + G, U = G + μB (the catalog row's) is the same U times 1/(1 − μ),
    which the normalization inside NS removes (up to ``eps``).

    Muon is meant for hidden weight matrices only. Parameters are routed by the group option
    ``use_muon``: a group that sets it is taken as it is (True: every parameter must have
    ≥ 2 axes; False: AdamW with the group's ``lr``, ``betas``, ``eps``, ``weight_decay``,
    filled from ``adamw_lr``, ``adamw_betas``, ``adamw_eps``, ``adamw_wd``); a group that
    does not is split in two, its ≥ 2-axis parameters to Muon (with the group's own options)
    and the others (biases, gains, scalars) to AdamW (with the ``adamw_*`` options), as in
    KellerJordan's ``MuonWithAuxAdam`` recipe. Embeddings and the
    output layer are matrices but the reference puts them in AdamW: give them a group with
    ``use_muon=False``. The AdamW part is ``m̂/(√v̂ + ε)`` with decoupled decay, exactly
    ``AdamW``. Defaults are KellerJordan's (torch.optim.Muon's are lr=1e-3, weight_decay=0.1;
    it has no AdamW part and takes only 2-D parameters). Deviations: NS runs in the
    parameter's dtype (float32/float64), not bfloat16; the tall-matrix scale uses the
    flattened m×n shape (KellerJordan's uses the last two axes of a 4-D filter).
    """

    def __init__(self, params, lr=0.02, weight_decay=0, momentum=0.95, nesterov=True,
                 ns_coefficients=_NS_COEFFICIENTS, eps=1e-7, ns_steps=5, adjust_lr_fn=None,
                 adamw_lr=3e-4, adamw_betas=(0.9, 0.95), adamw_eps=1e-10, adamw_wd=0):
        if lr < 0 or weight_decay < 0 or eps < 0:
            raise ValueError(f"Muon: lr, weight_decay and eps must be ≥ 0, got lr={lr}, "
                             f"weight_decay={weight_decay}, eps={eps}")
        if not 0 <= momentum < 1:
            raise ValueError(f"Muon: momentum must be in [0, 1), got {momentum}")
        if int(ns_steps) != ns_steps or ns_steps < 1:
            raise ValueError(f"Muon: ns_steps must be a positive integer, got {ns_steps}")
        if len(tuple(ns_coefficients)) != 3:
            raise ValueError(f"Muon: ns_coefficients must be three numbers (a, b, c), got "
                             f"{ns_coefficients}")
        if adjust_lr_fn not in (None, "original", "match_rms_adamw"):
            raise ValueError(f"Muon: adjust_lr_fn must be None, 'original' or "
                             f"'match_rms_adamw', got {adjust_lr_fn!r}")
        _check_adam_options("Muon (its AdamW part)", adamw_lr, adamw_betas, adamw_eps,
                            adamw_wd)
        self._adamw_defaults = dict(lr=adamw_lr, betas=tuple(adamw_betas), eps=adamw_eps,
                                    weight_decay=adamw_wd, amsgrad=False)
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                                      nesterov=nesterov, ns_coefficients=tuple(ns_coefficients),
                                      eps=eps, ns_steps=int(ns_steps),
                                      adjust_lr_fn=adjust_lr_fn))

    def add_param_group(self, group):
        """Add a group; one without ``use_muon`` is split into its matrices (Muon) and the
        rest (AdamW), each part kept only where it has parameters."""
        if "use_muon" in group:
            params = group.get("params")
            params = [params] if hasattr(params, "ndim") else list(params or ())
            group["params"] = params
            if group["use_muon"]:
                low = [tuple(p.shape) for p in params if p.ndim < 2]
                if low:
                    raise ValueError(f"Muon: a use_muon=True group holds parameters with fewer "
                                     f"than 2 axes (shapes {low}); give them use_muon=False")
            else:
                for name, value in self._adamw_defaults.items():
                    group.setdefault(name, value)
            super().add_param_group(group)
            return
        params = group.get("params")
        params = [params] if hasattr(params, "ndim") else list(params or ())
        options = {k: v for k, v in group.items() if k != "params"}
        matrices = [p for p in params if p.ndim >= 2]
        others = [p for p in params if p.ndim < 2]
        if matrices or not others:
            self.add_param_group(dict(options, params=matrices, use_muon=True))
        if others:
            self.add_param_group(dict(params=others, use_muon=False))

    def _update(self, p, g, state, group, xp):
        if not group["use_muon"]:
            if group["weight_decay"]:
                p *= 1 - group["lr"] * group["weight_decay"]
            p -= group["lr"] * _adam_direction(g, state, group, xp)
            return
        mu = group["momentum"]
        if not state:
            state["momentum_buffer"] = xp.zeros_like(g)
        buf = state["momentum_buffer"]
        buf *= mu
        buf += (1 - mu) * g
        update = (1 - mu) * g + mu * buf if group["nesterov"] else buf
        rows, cols = p.shape[0], math.prod(p.shape[1:])
        ortho = zeropower_via_newtonschulz(update.reshape(rows, cols), group["ns_coefficients"],
                                           group["ns_steps"], group["eps"], xp)
        if group["adjust_lr_fn"] == "match_rms_adamw":
            scale = 0.2 * math.sqrt(max(rows, cols))
        else:
            scale = math.sqrt(max(1.0, rows / cols))
        if group["weight_decay"]:
            p *= 1 - group["lr"] * group["weight_decay"]
        p -= (group["lr"] * scale) * ortho.reshape(p.shape)


register(Muon, name="muon", kind="optimizer", check="state", catalog_id="O039",
         papers=["Provable Scaling Laws of Feature Emergence from Learning Dynamics of Grokking"])
