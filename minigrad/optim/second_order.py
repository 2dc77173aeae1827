"""Update rules that use second-order information through double backward: (N)-HARPG's
Hessian-aided recursive momentum (O063) and the gradient-regularized Newton method with
(approximate) Hessians (O065).

Both take the objective first, ``Rule(loss_fn, params, ...)``, and ``step(*inputs)``
evaluates ``loss_fn(*inputs)`` itself (forward only: no ``backward`` inside) at several
points per step, differentiating it twice where the rule needs a Hessian. A plain closure
that already ran ``backward`` has freed its graph, so these rules cannot run from one."""
import math

from minigrad.autograd import enable_grad, grad, no_grad
from minigrad.backends import backend_of_array
from minigrad.func import hessian_vector
from minigrad.optim._global_state import GlobalStateOptimizer
from minigrad.ops.random import plain_generator_state
from minigrad.optim.langevin import host_generator
from minigrad.optim.optimizer import tensor_norm
from minigrad.registry import register
from minigrad.tensor import Tensor


def _scalar_loss(loss_fn, inputs, who):
    with enable_grad():
        loss = loss_fn(*inputs)
    if not isinstance(loss, Tensor) or loss.numel() != 1:
        raise ValueError(f"{who}: loss_fn must return a scalar tensor")
    return loss


def _global_norm(arrays):
    """‖(a_1, …, a_k)‖₂ over all arrays as a Python float (no overflow of a²)."""
    total = 0.0
    for a in arrays:
        total = math.hypot(total, float(tensor_norm(backend_of_array(a).xp, a)))
    return total


class NHARPG(GlobalStateOptimizer):
    """(N)-HARPG: normalized Hessian-aided recursive (policy) gradient, descent form.

    Paper: Fatkhullin, Barakat, Kireeva & He 2023, "Stochastic Policy Gradient Methods:
    Improved Sample Complexity for Fisher-non-degenerate Policies" ((N)-HARPG algorithm).
    With t counted from 0, θ_{−1} = θ_0, d_{−1} = 0 and norms over all parameters::

        γ_t = γ_0·(2/(t + 2))^a,   η_t = η_0·(2/(t + 2))^b
        q_t ~ U(0, 1);  θ̂_t = q_t·θ_t + (1 − q_t)·θ_{t−1}
        v_t = ∇²f(θ̂_t)·(θ_t − θ_{t−1})                  Hessian-vector product at θ̂_t
        d_t = (1 − η_t)·(d_{t−1} + v_t) + η_t·∇f(θ_t)    recursive momentum
        θ_{t+1} = θ_t − γ_t·d_t/‖d_t‖                    (normalized; ``normalized=False``:
                                                           θ_t − γ_t·d_t, HARPG)

    The random point θ̂_t makes v_t an unbiased estimate of ∇f(θ_t) − ∇f(θ_{t−1}) (the
    integral of the Hessian along the segment), so d_t tracks the gradient like STORM
    without a second gradient at the old point. Policy-gradient ascent on J is descent on
    f = −J. ``NHARPG(loss_fn, params, lr=0.1, eta0=1.0, lr_decay=1.0, eta_decay=1.0,
    normalized=True, generator=None)``: γ_0 = ``lr``, η_0 = ``eta0``, a = ``lr_decay``,
    b = ``eta_decay``; the defaults give the schedule of the paper's (N)-HARPG analysis,
    η_t = 2/(t + 2) and γ_t = γ_0·2/(t + 2) (t from 0 here, so η_0 = 1 makes d_0 = ∇f(θ_0)).

    ``step(*inputs)`` calls ``loss_fn(*inputs)`` twice (forward only): at θ_t for the
    gradient and at θ̂_t for the Hessian-vector product (double backward, the Hessian is
    never formed); in RL each call samples its own trajectories, as the algorithm samples
    τ_t and τ̂_t independently. It returns the loss at θ_t. At t = 0 the direction
    θ_0 − θ_{−1} is zero: v_0 = 0 and no q is drawn. d = 0 gives no step.
    q_t comes from a host NumPy generator (``generator``: None for one seeded from
    minigrad's generator, an int seed, a ``minigrad.Generator`` or a NumPy ``Generator``),
    saved with the state. Reconstructed from the row's description of the algorithm box;
    only the paper's abstract was available offline, so the step-size exponents are options.
    """

    def __init__(self, loss_fn, params, lr=0.1, eta0=1.0, lr_decay=1.0, eta_decay=1.0,
                 normalized=True, generator=None):
        if not callable(loss_fn):
            raise TypeError("NHARPG: loss_fn must be a callable returning a scalar loss")
        if not lr > 0:
            raise ValueError(f"NHARPG: lr (γ_0) must be > 0, got {lr}")
        if not 0 < eta0 <= 1:
            raise ValueError(f"NHARPG: eta0 must be in (0, 1], got {eta0}")
        if lr_decay < 0 or eta_decay < 0:
            raise ValueError(f"NHARPG: lr_decay and eta_decay must be ≥ 0, got "
                             f"lr_decay={lr_decay}, eta_decay={eta_decay}")
        super().__init__(params, dict(lr=lr, eta0=eta0, lr_decay=lr_decay,
                                      eta_decay=eta_decay, normalized=bool(normalized)))
        self.loss_fn = loss_fn
        self._rng = host_generator(generator, "NHARPG")

    def _initial_global_state(self):
        return {"t": 0}

    def _step(self, *inputs):
        t = self.global_state["t"]
        pairs = [(group, p) for group in self.param_groups for p in group["params"]
                 if p.requires_grad]
        params = [p for _, p in pairs]
        loss = _scalar_loss(self.loss_fn, inputs, "NHARPG")
        gs = grad(loss, params, allow_unused=True)
        gs = [backend_of_array(p.data).xp.zeros_like(p.data) if g is None else g.data
              for p, g in zip(params, gs)]
        for p in params:
            state = self.state.setdefault(p, {})
            if "prev" not in state:
                state["prev"] = p.data.copy()
                state["d"] = backend_of_array(p.data).xp.zeros_like(p.data)
        vs = None
        if t > 0:
            q = float(self._rng.random())
            current = [p.data.copy() for p in params]
            us = [c - self.state[p]["prev"] for p, c in zip(params, current)]
            with no_grad():
                for p, c in zip(params, current):
                    p.data[...] = q * c + (1.0 - q) * self.state[p]["prev"]
                    p._version += 1
            try:
                loss_hat = _scalar_loss(self.loss_fn, inputs, "NHARPG")
                vs = [h.data for h in hessian_vector(loss_hat, params, us)]
            finally:
                with no_grad():
                    for p, c in zip(params, current):
                        p.data[...] = c
                        p._version += 1
        with no_grad():
            ds = []
            for k, ((group, p), g) in enumerate(zip(pairs, gs)):
                eta = group["eta0"] * (2.0 / (t + 2)) ** group["eta_decay"]
                state = self.state[p]
                d = state["d"]
                if vs is not None:
                    d += vs[k]
                d *= 1.0 - eta
                d += eta * g
                ds.append(d)
            norm = _global_norm(ds)
            for (group, p), d in zip(pairs, ds):
                gamma = group["lr"] * (2.0 / (t + 2)) ** group["lr_decay"]
                self.state[p]["prev"][...] = p.data
                if group["normalized"]:
                    if norm > 0:
                        p.data -= (gamma / norm) * d
                else:
                    p.data -= gamma * d
                p._version += 1
        self.global_state["t"] = t + 1
        return loss.detach()

    def step(self, *inputs):
        """One (N)-HARPG step: ``loss_fn(*inputs)`` at θ_t and at θ̂_t."""
        return self._run_with_hooks(self._step, *inputs)

    def state_dict(self):
        state = super().state_dict()
        state["generator"] = plain_generator_state(dict(self._rng.bit_generator.state))
        return state

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        if "generator" in state_dict:
            self._rng.bit_generator.state = plain_generator_state(state_dict["generator"])


class RegularizedNewton(GlobalStateOptimizer):
    """Gradient-regularized Newton method with (approximate) Hessians and adaptive search.

    Paper: Semenov, Jaggi & Doikov 2025, "Gradient-Normalized Smoothness for Optimization
    with Approximate Hessians" (Algorithm 1). Transcribed from the paper's code
    (``grad_norm_smooth``, "Algorithm 1 from the paper"), with x all parameters flattened
    and B = I::

        g_k = ∇f(x_k),  H_k = ∇²f(x_k)  (or an approximation: Fisher, Gauss–Newton)
        repeat (at most ``max_search`` = 40 times):
            λ_k = ‖g_k‖ / (γ_k + ε)
            Δ = −(H_k + λ_k·I)⁻¹ g_k                       (Cholesky solve)
            if f(x_k) − f(x_k + Δ) ≥ ‖∇f(x_k + Δ)‖² / (8λ_k):
                γ_k ← max(2γ_k, γ_min);  accept
            else: γ_k ← γ_k / 2
        x_{k+1} = x_k + Δ                                  (the last Δ if the search ran out)

    γ_k estimates the gradient-normalized smoothness (the radius where the quadratic model
    is good relative to ‖g‖); λ = ‖g‖/γ is the regularization ("√(M‖g‖)" of the gradient-
    regularized Newton of Mishchenko / Doikov is the special case γ = √(‖g‖/M)).
    ``RegularizedNewton(loss_fn, params, gamma_0=1.0, adaptive_search=True, eps=1e-8,
    gamma_min=1e-9, max_search=40, hessian_fn=None)`` (the code's defaults).
    ``step(*inputs)``: ``loss_fn(*inputs)`` (forward only) is evaluated at x_k and at every
    trial point; H_k is the exact Hessian, one double-backward row per parameter entry (for
    small models: logistic / softmax regression), or ``hessian_fn(params)`` returning the
    d×d matrix (an approximate Hessian, in the order of the flattened parameters).
    The code carries f and ∇f of the accepted point into the next iteration; here they are
    recomputed at x_k each step (the same numbers on fixed inputs, correct when the inputs
    change). Deviation: where H_k + λI is not positive definite the code stops the search
    (keeping an earlier Δ); here that trial counts as failed (γ halved, λ larger). ‖g‖ = 0:
    no step. State: γ_k (``global_state["gamma"]``).
    """

    def __init__(self, loss_fn, params, gamma_0=1.0, adaptive_search=True, eps=1e-8,
                 gamma_min=1e-9, max_search=40, hessian_fn=None):
        if not callable(loss_fn):
            raise TypeError("RegularizedNewton: loss_fn must be a callable returning a scalar "
                            "loss")
        if not gamma_0 > 0:
            raise ValueError(f"RegularizedNewton: gamma_0 must be > 0, got {gamma_0}")
        if not eps >= 0 or not gamma_min >= 0:
            raise ValueError(f"RegularizedNewton: eps and gamma_min must be ≥ 0, got eps={eps}, "
                             f"gamma_min={gamma_min}")
        if int(max_search) != max_search or max_search < 1:
            raise ValueError(f"RegularizedNewton: max_search must be a positive integer, got "
                             f"{max_search}")
        if hessian_fn is not None and not callable(hessian_fn):
            raise TypeError("RegularizedNewton: hessian_fn must be None or a callable")
        self.gamma_0 = float(gamma_0)
        super().__init__(params, dict(adaptive_search=bool(adaptive_search), eps=float(eps),
                                      gamma_min=float(gamma_min), max_search=int(max_search)))
        if len(self.param_groups) != 1:
            raise ValueError("RegularizedNewton: one parameter group only (one Newton system)")
        self.loss_fn = loss_fn
        self.hessian_fn = hessian_fn

    def _initial_global_state(self):
        return {"gamma": self.gamma_0}

    def _params_list(self):
        return [p for p in self.param_groups[0]["params"] if p.requires_grad]

    def _flat(self, arrays, xp):
        return xp.concatenate([a.reshape(-1) for a in arrays])

    def _set(self, params, flat):
        offset = 0
        with no_grad():
            for p in params:
                n = p.data.size
                p.data[...] = flat[offset:offset + n].reshape(p.data.shape)
                p._version += 1
                offset += n

    def _value_and_grad(self, params, inputs, create_graph=False):
        loss = _scalar_loss(self.loss_fn, inputs, "RegularizedNewton")
        with enable_grad():
            gs = grad(loss, params, create_graph=create_graph, allow_unused=True)
        return loss, gs

    def _hessian(self, params, loss_grads, xp, dtype):
        d = sum(p.data.size for p in params)
        rows = []
        sizes = [p.data.size for p in params]
        live = [(k, g) for k, g in enumerate(loss_grads) if g is not None and g.requires_grad]
        for j in range(d):
            if not live:
                rows.append(xp.zeros(d, dtype))
                continue
            onehot = xp.zeros(d, dtype)
            onehot[j] = 1
            pieces, offset = [], 0
            for size, p in zip(sizes, params):
                pieces.append(onehot[offset:offset + size].reshape(p.data.shape))
                offset += size
            with enable_grad():
                hs = grad([g for _, g in live], params,
                          grad_outputs=[Tensor._wrap(pieces[k]) for k, _ in live],
                          retain_graph=True, allow_unused=True)
            rows.append(self._flat([xp.zeros_like(p.data) if h is None else h.data
                                    for p, h in zip(params, hs)], xp))
        H = xp.stack(rows)
        return (H + H.T) / 2

    def _solve(self, xp, A, b):
        try:
            L = xp.linalg.cholesky(A)
        except Exception as error:         # numpy LinAlgError: not positive definite
            if type(error).__name__ != "LinAlgError":
                raise
            return None
        if not bool(xp.isfinite(L).all()):  # cupy returns NaN instead of raising
            return None
        y = xp.linalg.solve(L, b)
        return xp.linalg.solve(L.T, y)

    def _step(self, *inputs):
        group = self.param_groups[0]
        params = self._params_list()
        xp = backend_of_array(params[0].data).xp
        dtype = params[0].data.dtype
        exact = self.hessian_fn is None
        loss, gs = self._value_and_grad(params, inputs, create_graph=exact)
        g = self._flat([xp.zeros_like(p.data) if gi is None else gi.data
                        for p, gi in zip(params, gs)], xp)
        g_norm = float(tensor_norm(xp, g))
        if g_norm == 0:
            return loss.detach()
        if exact:
            H = self._hessian(params, gs, xp, dtype)
        else:
            H = xp.asarray(self.hessian_fn(params), dtype=dtype)
            if H.shape != (g.size, g.size):
                raise ValueError(f"RegularizedNewton: hessian_fn returned shape {H.shape}, "
                                 f"expected {(g.size, g.size)}")
        f_k = float(loss.item())
        x_k = self._flat([p.data for p in params], xp).copy()
        eye = xp.eye(g.size, dtype=dtype)
        gamma = self.global_state["gamma"]
        delta = None
        for i in range(group["max_search"] + 1):
            if i == group["max_search"]:
                break
            lam = g_norm / (gamma + group["eps"])
            trial = self._solve(xp, H + lam * eye, -g)
            if trial is None:
                gamma *= 0.5
                continue
            delta = trial
            self._set(params, x_k + delta)
            loss_new, gs_new = self._value_and_grad(params, inputs)
            self._set(params, x_k)
            if not group["adaptive_search"]:
                break
            g_new = self._flat([xp.zeros_like(p.data) if gi is None else gi.data
                                for p, gi in zip(params, gs_new)], xp)
            g_new_sq = float(tensor_norm(xp, g_new)) ** 2
            if f_k - float(loss_new.item()) >= g_new_sq / (8 * lam):
                gamma = max(gamma * 2.0, group["gamma_min"])
                break
            gamma *= 0.5
        self.global_state["gamma"] = gamma
        if delta is not None:
            self._set(params, x_k + delta)
        return loss.detach()

    def step(self, *inputs):
        """One regularized Newton step on ``loss_fn(*inputs)``."""
        return self._run_with_hooks(self._step, *inputs)


register(NHARPG, name="nharpg", kind="optimizer", check="state", catalog_id="O063",
         papers=["Stochastic Policy Gradient Methods: Improved Sample Complexity for "
                 "Fisher-non-degenerate Policies"])
register(RegularizedNewton, name="regularized_newton", kind="optimizer", check="state",
         catalog_id="O065",
         papers=["Gradient-Normalized Smoothness for Optimization with Approximate Hessians"])
