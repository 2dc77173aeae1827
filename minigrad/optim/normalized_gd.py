"""Gradient methods with normalized steps from the theory papers: Normalized LR+GD (logistic
regression with a loss-adaptive step), β-normalized GD with SPIDER variance reduction, and
normalized momentum with implicit gradient transport (N-PG-IGT).

All three normalize by the norm of the whole update direction over every parameter (the
papers' x ∈ ℝ^d is the full parameter vector), so ``_step`` is written over all parameters
at once instead of per parameter."""
import functools

from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array, to_numpy
from minigrad.optim.optimizer import Optimizer, _evaluate
from minigrad.registry import register
from minigrad.tensor import Tensor


def _scaled_norm(xp, arrays):
    """(n, s): s a power of two near the largest |a| over all arrays and n = ‖(a_1, ..., a_k)‖/s
    (‖·‖ over all of them), so that neither a² nor ‖a‖ overflows (‖a‖ itself may exceed the
    dtype's range: 3e38 in float32). a/‖a‖^β = c·(a/s) with c = s^(1−β)/n^β (see _coefficient)."""
    amax = functools.reduce(xp.maximum, [xp.abs(a).max() if a.size else xp.zeros((), a.dtype)
                                         for a in arrays])
    # 2^(e−1) with amax = f·2^e, ½ ≤ f < 1: representable even for amax near the dtype's max
    # (optimizer.power_of_two_scale's 2^e is inf there), and a/s stays within [−2, 2]
    _, e = xp.frexp(amax)
    ok = (amax > 0) & xp.isfinite(amax)
    s = xp.where(ok, xp.ldexp(xp.ones_like(amax), xp.where(ok, e - 1, 0)), xp.ones_like(amax))
    return functools.reduce(xp.hypot, [xp.sqrt(((a / s) * (a / s)).sum()) for a in arrays]), s


def _coefficient(xp, n, s, beta):
    """c = s^(1−β)/n^β, 0 where n = 0 (a zero direction takes no step)."""
    ok = n > 0
    return xp.where(ok, s ** (1.0 - beta) / xp.where(ok, n, 1) ** beta, 0)


def _params_xp(pairs):
    return backend_of_array(pairs[0][1].data).xp


class NormalizedLRGD(Optimizer):
    """Normalized LR+GD: gradient descent on the logistic loss with the step scaled by the
    inverse mean misclassification weight (Tyurin 2024, Section 6).

    Paper: Tyurin 2024, "From Logistic Regression to the Perceptron Algorithm: Exploring
    Gradient Descent with Large Step Sizes" (arXiv 2412.08424).

    ``NormalizedLRGD(params, lr=1.0)``; ``step(closure)``. For f(θ) = (1/n)·Σ_i ℓ_i(θ),
    ℓ_i = log(1 + exp(−y_i·a_iᵀθ)), the paper's method (Normalized LR+GD)::

        β_t = ( (1/n)·Σ_i (1 + exp(y_i·a_iᵀθ_t))⁻¹ )⁻¹
        θ_{t+1} = θ_t − γ·β_t·∇f(θ_t)

    Since (1 + exp(m))⁻¹ = 1 − exp(−ℓ(m)) for the logistic loss ℓ(m) = log(1 + e^(−m)), the
    optimizer needs only the per-sample losses: the closure zeroes the gradients, computes
    ℓ (shape (n,), e.g. ``F.softplus(-y * (X @ w))`` or
    ``F.binary_cross_entropy_with_logits(z, t, reduction='none')``), backpropagates its
    mean, and returns ℓ; then β = 1/mean(−expm1(−ℓ)) (no cancellation for small ℓ) and every
    parameter takes θ ← θ − γ·β·g. ``step`` returns the closure's value. The paper states
    the method for a linear model; the same β is computed for any model whose closure
    returns per-sample logistic losses (its Section 8 discusses that extension). A closure
    that returns a scalar (the batch mean f only) is treated as one sample, β = 1/(1 − e^(−f)):
    not the paper's β for n > 1 (used only by the optimizer comparison, which sees mean
    losses). γ → ∞ reproduces the normalized batch perceptron θ ← θ + (1/|S_t|)Σ_{i∈S_t} y_i·a_i
    (S_t the misclassified samples; the paper's motivation). When every weight
    (1 + e^m)⁻¹ underflows to 0 the gradient is 0 too and the step is skipped (no 0·∞).
    ``lr`` is γ (the paper's Table 1 uses γ from 0.1 to 100; 1 by default). The catalog
    row's draft normalization γ/f(θ_t) is not the paper's: β_t above is (Section 6).
    """

    def __init__(self, params, lr=1.0):
        if not lr > 0:
            raise ValueError(f"NormalizedLRGD: lr (γ) must be > 0, got {lr}")
        super().__init__(params, dict(lr=lr))
        self.last_beta = None

    def _step(self, closure=None):
        if closure is None:
            raise ValueError("NormalizedLRGD.step needs a closure that backpropagates the mean "
                             "logistic loss and returns the per-sample losses (shape (n,))")
        losses = _evaluate(closure)
        pairs = self._params_with_grad()
        if not pairs:
            return losses
        xp = _params_xp(pairs)
        ell = xp.asarray(losses.data if isinstance(losses, Tensor) else losses)
        if ell.ndim > 1:
            raise ValueError(f"NormalizedLRGD: the closure must return the per-sample losses "
                             f"as a 1-D tensor (or a scalar), got shape {tuple(ell.shape)}")
        weight = float(to_numpy(-xp.expm1(-ell)).astype("float64").mean())
        if weight == 0:  # every weight underflowed: so did the gradient
            return losses
        beta = 1.0 / weight
        with no_grad():
            for group, p in pairs:
                p.data -= (group["lr"] * beta) * p.grad.data
                p._version += 1
        self.last_beta = beta
        return losses


class BetaNormalizedGD(Optimizer):
    """β-normalized gradient descent, optionally on a SPIDER estimator, for α-symmetric
    generalized-smooth nonconvex objectives.

    Paper: Chen, Zhou, Liang & Lu 2023, "Generalized-Smooth Nonconvex Optimization is As
    Efficient As Smooth Nonconvex Optimization" (β-GD and SPIDER; only its abstract could be
    read here). The step follows the same group's experiment code (ynyang94/Gensmooth-IAN-SGD,
    ``Phase_retrieval/phase_retrival.py``: ``normalize_power`` = β, ``epoch_vt`` = q).

    ``BetaNormalizedGD(params, lr=0.1, beta=1.0, spider_period=None)``. With ‖·‖ the norm
    over all parameters together::

        v_t = ∇f(x_t)                                          spider_period=None (β-GD)
        v_t = ∇f_{S₀}(x_t)                                     SPIDER, t mod q = 0 (large batch S₀)
        v_t = v_{t−1} + ∇f_{S₁}(x_t) − ∇f_{S₁}(x_{t−1})        SPIDER, otherwise (one batch S₁)
        x_{t+1} = x_t − γ·v_t/‖v_t‖^β

    γ = ``lr``, β = ``beta`` ∈ [α, 1] for an α-symmetric objective (β = 1: normalized GD,
    valid for every α; the phase-retrieval experiments use α = β = 2/3), q = ``spider_period``
    (t counts from 0, so the first step refreshes). v = 0 gives no step (0/0 read as 0).
    β-GD uses the gradients already in ``.grad`` (``step()``, or ``step(closure)``). SPIDER
    needs ``step(closure)``: the closure zeroes the gradients, evaluates the loss on one
    mini-batch, backpropagates and returns the loss; on a refresh step it is called once
    (give it the large batch S₀ then: ``opt.refresh_due`` says whether the next step
    refreshes), otherwise twice, at x_t and at x_{t−1} (parameters swapped in and back), and
    must use the same mini-batch S₁ both times. The code's clipping variants
    (``clip_constant``, ``grad_max``) belong to other methods and are not offered.
    """

    def __init__(self, params, lr=0.1, beta=1.0, spider_period=None):
        if not lr > 0:
            raise ValueError(f"BetaNormalizedGD: lr (γ) must be > 0, got {lr}")
        if not 0 <= beta <= 1:
            raise ValueError(f"BetaNormalizedGD: beta (normalization power) must be in [0, 1], "
                             f"got {beta}")
        if spider_period is not None and (isinstance(spider_period, bool)
                                          or not isinstance(spider_period, int)
                                          or spider_period < 1):
            raise ValueError(f"BetaNormalizedGD: spider_period must be None or an int ≥ 1, got "
                             f"{spider_period!r}")
        super().__init__(params, dict(lr=lr, beta=beta))
        self.spider_period = spider_period
        self.t = 0

    @property
    def refresh_due(self):
        """Whether the next SPIDER step takes a fresh (large-batch) gradient."""
        return self.spider_period is not None and self.t % self.spider_period == 0

    def _step(self, closure=None):
        spider = self.spider_period is not None
        if spider and closure is None:
            raise ValueError("BetaNormalizedGD.step needs a closure with spider_period set "
                             "(the gradient is re-evaluated at the previous iterate)")
        refresh = self.refresh_due
        loss = _evaluate(closure)
        pairs = self._params_with_grad()
        if not pairs:
            return loss
        with no_grad():
            grads = [p.grad.data.copy() for _, p in pairs]
        if spider and not refresh:
            old = self._grads_at(pairs, "prev", closure)
            with no_grad():
                directions = [self.state[p]["v"] + g - g_old
                              for (_, p), g, g_old in zip(pairs, grads, old)]
        else:
            directions = grads
        xp = _params_xp(pairs)
        with no_grad():
            n, s = _scaled_norm(xp, directions)
            for (group, p), v in zip(pairs, directions):
                c = _coefficient(xp, n, s, group["beta"])
                state = self.state.setdefault(p, {})
                if spider:
                    state["v"] = xp.array(v)
                    state["prev"] = p.data.copy()
                p.data -= (group["lr"] * c).astype(p.dtype) * (v / s).astype(p.dtype)
                p._version += 1
        self.t += 1
        return loss

    def _grads_at(self, pairs, key, closure):
        """Gradients at the points stored under ``state[key]`` (parameters swapped in, the
        closure called, parameters and gradients put back)."""
        with no_grad():
            now = [(p.data.copy(), p.grad.data.copy()) for _, p in pairs]
            for _, p in pairs:
                p.data[...] = self.state[p][key]
                p._version += 1
        _evaluate(closure)
        with no_grad():
            out = []
            for (_, p), (theta, grad) in zip(pairs, now):
                if p.grad is None:
                    raise ValueError(f"{type(self).__name__}: the closure left a parameter "
                                     "without a gradient")
                out.append(p.grad.data.copy())
                p.data[...] = theta
                p.grad = Tensor._wrap(grad)
                p._version += 1
        return out

    def state_dict(self):
        state = super().state_dict()
        state["t"], state["spider_period"] = self.t, self.spider_period
        return state

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self.t = state_dict.get("t", 0)
        self.spider_period = state_dict.get("spider_period", self.spider_period)


class NPGIGT(Optimizer):
    """N-PG-IGT: normalized (policy) gradient with implicit gradient transport, descent form.

    Paper: Fatkhullin, Barakat, Kireeva & He 2023, "Stochastic Policy Gradient Methods:
    Improved Sample Complexity for Fisher-non-degenerate Policies" (N-PG-IGT).

    ``NPGIGT(params, lr=0.1, eta0=1.0, lr_decay=1.0, eta_decay=0.8)``; ``step(closure)``.
    With t counted from 0, θ_{−1} = θ_0, d_{−1} = 0 and norms over all parameters::

        γ_t = γ_0·(2/(t + 2))^a,   η_t = η_0·(2/(t + 2))^b
        θ̃_t = θ_t + ((1 − η_t)/η_t)·(θ_t − θ_{t−1})           extrapolated point
        d_t = (1 − η_t)·d_{t−1} + η_t·ĝ(θ̃_t)                   gradient estimate at θ̃_t
        θ_{t+1} = θ_t − γ_t·d_t/‖d_t‖

    γ_0 = ``lr``, η_0 = ``eta0``, a = ``lr_decay``, b = ``eta_decay`` (a = 1, b = 4/5 as
    in the NIGT experiment code with garage, ``NIGTOptimizer``: γ_t = γ_0·2/(t + 2),
    η_t = η_0·(2/(t + 2))^(4/5)); policy-gradient ascent on J is descent on −J. The closure
    zeroes the gradients, evaluates the loss (for RL: samples the trajectories with the
    policy it is called at) and backpropagates: ``step`` moves the parameters to θ̃_t, calls
    it there, and moves them back before the update; it returns the closure's loss (at θ̃_t).
    η_t = 1 (the first step with η_0 = 1) makes θ̃_t = θ_t and d_t = ĝ(θ_t). d = 0: no step.
    That code extrapolates with the previous step's η_{t−1}; the extrapolation here uses η_t,
    the weight of the same step's average, as the catalog row writes it and as implicit
    gradient transport does (Arnold et al. 2019), so that the transported gradient is
    unbiased for quadratics. The paper's algorithm box could not be read here (only its
    abstract): the update is the catalog row's, the default decay exponents the code's.
    """

    def __init__(self, params, lr=0.1, eta0=1.0, lr_decay=1.0, eta_decay=0.8):
        if not lr > 0:
            raise ValueError(f"NPGIGT: lr (γ_0) must be > 0, got {lr}")
        if not 0 < eta0 <= 1:
            raise ValueError(f"NPGIGT: eta0 must be in (0, 1], got {eta0}")
        if lr_decay < 0 or eta_decay < 0:
            raise ValueError(f"NPGIGT: lr_decay and eta_decay must be ≥ 0, got "
                             f"lr_decay={lr_decay}, eta_decay={eta_decay}")
        super().__init__(params, dict(lr=lr, eta0=eta0, lr_decay=lr_decay, eta_decay=eta_decay))
        self.t = 0

    def _step(self, closure=None):
        if closure is None:
            raise ValueError("NPGIGT.step needs a closure: the gradient is evaluated at the "
                             "extrapolated point θ̃_t, not at θ_t")
        t = self.t
        params = [(group, p) for group in self.param_groups for p in group["params"]
                  if p.requires_grad]
        with no_grad():
            current = [p.data.copy() for _, p in params]
            for group, p in params:
                eta = group["eta0"] * (2.0 / (t + 2)) ** group["eta_decay"]
                prev = self.state.get(p, {}).get("prev")
                if prev is not None:
                    p.data += ((1.0 - eta) / eta) * (p.data - prev)
                    p._version += 1
        try:
            loss = _evaluate(closure)
        finally:
            with no_grad():
                for (_, p), theta in zip(params, current):
                    p.data[...] = theta
                    p._version += 1
        pairs = self._params_with_grad()
        if not pairs:
            return loss
        xp = _params_xp(pairs)
        with no_grad():
            directions = []
            for group, p in pairs:
                state = self.state.setdefault(p, {})
                eta = group["eta0"] * (2.0 / (t + 2)) ** group["eta_decay"]
                d = state.get("d")
                if d is None:
                    d = state["d"] = xp.zeros_like(p.data)
                d *= 1.0 - eta
                d += eta * p.grad.data
                directions.append(d)
            n, s = _scaled_norm(xp, directions)
            c = _coefficient(xp, n, s, 1.0)
            for (group, p), d in zip(pairs, directions):
                gamma = group["lr"] * (2.0 / (t + 2)) ** group["lr_decay"]
                self.state[p]["prev"] = p.data.copy()
                p.data -= (gamma * c).astype(p.dtype) * (d / s).astype(p.dtype)
                p._version += 1
        self.t += 1
        return loss

    def state_dict(self):
        state = super().state_dict()
        state["t"] = self.t
        return state

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self.t = state_dict.get("t", 0)


register(NormalizedLRGD, name="normalized_lr_gd", kind="optimizer", check="state",
         catalog_id="O060",
         papers=["From Logistic Regression to the Perceptron Algorithm: Exploring Gradient "
                 "Descent with Large Step Sizes"])
register(BetaNormalizedGD, name="beta_normalized_gd", kind="optimizer", check="state",
         catalog_id="O061",
         papers=["Generalized-Smooth Nonconvex Optimization is As Efficient As Smooth Nonconvex "
                 "Optimization"])
register(NPGIGT, name="npg_igt", kind="optimizer", check="state", catalog_id="O062",
         papers=["Stochastic Policy Gradient Methods: Improved Sample Complexity for "
                 "Fisher-non-degenerate Policies"])
