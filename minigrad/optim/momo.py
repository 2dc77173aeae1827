"""MoMo: model-based momentum methods whose step size comes from a truncated model of the loss
(Polyak-type adaptive learning rates), in the SGD-momentum (``Momo``) and Adam (``MomoAdam``)
forms. Both need the loss value at every step."""
import math

from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array
from minigrad.optim._global_state import GlobalStateOptimizer
from minigrad.optim.adam import _check_adam_options
from minigrad.optim.optimizer import _evaluate
from minigrad.registry import register

_MOMO = "MoMo: Momentum Models for Adaptive Learning Rates"


def _loss_value(closure, loss, name):
    if (closure is None) == (loss is None):
        raise ValueError(f"{name}.step needs the loss value: pass either a closure (zero_grad, "
                         "forward, backward, return the loss) or loss=<the loss tensor or "
                         "number> after backward, not both")
    if closure is not None:
        loss = _evaluate(closure)
    value = loss.item() if hasattr(loss, "item") else loss
    return loss, float(value)


def _dot(a, b):
    """⟨a, b⟩ as a Python float (the step size is a scalar computed on the host, as in the
    reference's ``.item()``)."""
    return float((a * b).sum())


class _MomoBase(GlobalStateOptimizer):
    def step(self, closure=None, loss=None):
        """One step. MoMo needs the loss f(x_k) of the batch whose gradient is in ``.grad``:
        ``step(closure)`` (the closure zeroes the gradients, runs forward and backward, returns
        the loss) or ``step(loss=loss)`` after ``loss.backward()``, as fabian-sp/MoMo."""
        return self._run_with_hooks(self._step, closure, loss)

    def _lower_bound_step(self, group, loss_avg, dot, gamma, norm, rho):
        """τ for one group (updating the online lower bound with ``use_fstar``)."""
        gs, lr, lam = self.global_state, group["lr"], group["weight_decay"]
        if self.use_fstar:
            cap = (1 + lr * lam) * loss_avg + dot - (1 + lr * lam) * gamma
            if cap < (1 + lr * lam) * rho * gs["lb"]:
                gs["lb"] = max(cap / (2 * (1 + lr * lam) * rho), self.lb)
        nom = (1 + lr * lam) * (loss_avg - rho * gs["lb"]) + dot - (1 + lr * lam) * gamma
        t1 = max(nom, 0.0) / norm if norm > 0 else 0.0   # d = 0: no move whatever τ is
        tau = min(lr / rho, t1)
        if self.use_fstar:
            h = loss_avg + dot - gamma
            gs["lb"] = max((h - 0.5 * tau * norm) / rho, self.lb)
        return tau


class Momo(_MomoBase):
    """MoMo, the SGD-with-momentum version (Schaipp, Ohana, Eickenberg, Defazio & Gower 2024).

    Paper: Schaipp et al. 2024, "MoMo: Momentum Models for Adaptive Learning Rates"
    (Algorithm 1; the rule and argument names of fabian-sp/MoMo ``momo/momo.py``)::

        Momo(params, lr=1.0, weight_decay=0, beta=0.9, lb=0, bias_correction=False,
             use_fstar=False);   step(closure) or step(loss=loss)

    With the loss f_k and gradient g_k at x_k (sums over all parameters together)::

        d_k = β·d_{k−1} + (1 − β)·g_k;   f̄_k = β·f̄_{k−1} + (1 − β)·f_k
        γ_k = β·γ_{k−1} + (1 − β)·⟨g_k, x_k⟩
        h_k = (1 + ηλ)·(f̄_k − ρ_k·f_*) + ⟨d_k, x_k⟩ − (1 + ηλ)·γ_k
        τ_k = min(η/ρ_k, (h_k)₊/‖d_k‖²)
        x_{k+1} = (x_k − τ_k·d_k)/(1 + ηλ)

    η = ``lr`` (the paper's α, default 1), f_* = ``lb`` (a lower bound of the loss, 0 for
    non-negative losses). Without bias correction (the default) d, f̄, γ start at g_1, f_1,
    ⟨g_1, x_1⟩ and ρ_k = 1; with ``bias_correction=True`` they start at 0 and
    ρ_k = 1 − βᵏ. ``use_fstar=True`` estimates f_* online (MoMo*): before the step, if
    (1 + ηλ)f̄ + ⟨d, x⟩ − (1 + ηλ)γ < (1 + ηλ)ρ·f_*, then f_* ← that value/(2(1 + ηλ)ρ);
    after it f_* ← (f̄ + ⟨d, x⟩ − γ − ½τ‖d‖²)/ρ; both kept ≥ ``lb``. Where d = 0 the step is
    0 (the reference divides 0 by 0). The moving averages and f_* are optimizer-wide (saved
    in ``state_dict()["global_state"]``); f̄ and ρ count optimizer steps, ⟨g, x⟩ and d are per
    parameter (a parameter without a gradient at a step is left out of the sums).
    """

    def __init__(self, params, lr=1.0, weight_decay=0, beta=0.9, lb=0, bias_correction=False,
                 use_fstar=False):
        if lr < 0 or weight_decay < 0:
            raise ValueError(f"Momo: lr and weight_decay must be ≥ 0, got lr={lr}, "
                             f"weight_decay={weight_decay}")
        if not 0 <= beta < 1:
            raise ValueError(f"Momo: beta must be in [0, 1), got {beta}")
        self.beta, self.lb = beta, float(lb)
        self.bias_correction, self.use_fstar = bool(bias_correction), bool(use_fstar)
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay))

    def _initial_global_state(self):
        return {"step": 0, "loss_avg": 0.0, "lb": self.lb}

    def _step(self, closure=None, loss=None):
        loss, f = _loss_value(closure, loss, "Momo")
        gs, beta = self.global_state, self.beta
        gs["step"] += 1
        if gs["step"] == 1 and not self.bias_correction:
            gs["loss_avg"] = f
        gs["loss_avg"] = beta * gs["loss_avg"] + (1 - beta) * f
        rho = 1 - beta ** gs["step"] if self.bias_correction else 1.0
        pairs = self._params_with_grad()
        dot = gamma = norm = 0.0
        for _, p in pairs:
            x, g, state = p.data, p.grad.data, self.state.setdefault(p, {})
            xp = backend_of_array(x).xp
            gx = _dot(x, g)
            if not state:
                start = not self.bias_correction
                state["grad_avg"] = g.copy() if start else xp.zeros_like(g)
                state["grad_dot_w"] = gx if start else 0.0
            d = state["grad_avg"]
            d *= beta
            d += (1 - beta) * g
            state["grad_dot_w"] = beta * state["grad_dot_w"] + (1 - beta) * gx
            dot += _dot(x, d)
            gamma += state["grad_dot_w"]
            norm += _dot(d, d)
        with no_grad():
            for group in self.param_groups:
                tau = self._lower_bound_step(group, gs["loss_avg"], dot, gamma, norm, rho)
                shrink = 1 + group["lr"] * group["weight_decay"]
                for gr, p in pairs:
                    if gr is not group:
                        continue
                    p.data -= tau * self.state[p]["grad_avg"]
                    if group["weight_decay"]:
                        p.data /= shrink
                    p._version += 1
        return loss


class MomoAdam(_MomoBase):
    """MoMo-Adam: MoMo preconditioned by Adam's second moment (Schaipp et al. 2024).

    Paper: Schaipp et al. 2024, "MoMo: Momentum Models for Adaptive Learning Rates"
    (Algorithm 2; rule and argument names of fabian-sp/MoMo ``momo/momo_adam.py``)::

        MomoAdam(params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, lb=0,
                 divide=True, use_fstar=False);   step(closure) or step(loss=loss)

    With k the step count (all moving averages start at 0)::

        d_k = β₁d_{k−1} + (1 − β₁)g_k;  v_k = β₂v_{k−1} + (1 − β₂)g_k²
        f̄_k = β₁f̄_{k−1} + (1 − β₁)f_k;  γ_k = β₁γ_{k−1} + (1 − β₁)⟨g_k, x_k⟩
        D_k = ε + √(v_k/(1 − β₂ᵏ));   ρ_k = 1 − β₁ᵏ
        h_k = (1 + ηλ)(f̄_k − ρ_k·f_*) + ⟨d_k, x_k⟩ − (1 + ηλ)γ_k
        τ_k = min(η/ρ_k, (h_k)₊ / Σ d_k²/D_k)
        x_{k+1} = (x_k − τ_k·d_k/D_k)/(1 + ηλ)            (divide=True, the proximal form)
        x_{k+1} = x_k(1 − ηλ) − τ_k·d_k/D_k               (divide=False, AdamW's form)

    ``use_fstar`` as in ``Momo`` (with ρ_k = 1 − β₁ᵏ). f̄ uses the last group's β₁, as the
    reference does. The reference bias-corrects v with each parameter's own step count when
    it forms ‖d‖²_{D⁻¹} and with the optimizer's when it steps; here both use the parameter's
    (the same whenever every parameter has a gradient at every step). Where d = 0 the step
    is 0 (the reference divides 0 by 0).
    """

    def __init__(self, params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, lb=0,
                 divide=True, use_fstar=False):
        _check_adam_options("MomoAdam", lr, betas, eps, weight_decay)
        self.lb, self.divide, self.use_fstar = float(lb), bool(divide), bool(use_fstar)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay))

    def _initial_global_state(self):
        return {"step": 0, "loss_avg": 0.0, "lb": self.lb}

    def _step(self, closure=None, loss=None):
        loss, f = _loss_value(closure, loss, "MomoAdam")
        gs = self.global_state
        gs["step"] += 1
        pairs = self._params_with_grad()
        dot = gamma = norm = 0.0
        for group, p in pairs:
            x, g, state = p.data, p.grad.data, self.state.setdefault(p, {})
            xp = backend_of_array(x).xp
            beta1, beta2 = group["betas"]
            if not state:
                state["step"] = 0
                state["grad_avg"] = xp.zeros_like(g)
                state["rms"] = xp.zeros_like(g)              # √v
                state["grad_dot_w"] = 0.0
            state["step"] += 1
            d, r = state["grad_avg"], state["rms"]
            d *= beta1
            d += (1 - beta1) * g
            xp.hypot(math.sqrt(beta2) * r, math.sqrt(1 - beta2) * g, out=r)
            state["grad_dot_w"] = beta1 * state["grad_dot_w"] + (1 - beta1) * _dot(x, g)
            D = r / math.sqrt(1 - beta2 ** state["step"]) + group["eps"]
            dot += _dot(x, d)
            gamma += state["grad_dot_w"]
            norm += float((d * (d / D)).sum())
        beta1 = self.param_groups[-1]["betas"][0]
        gs["loss_avg"] = (1 - beta1) * f + beta1 * gs["loss_avg"]
        with no_grad():
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                rho = 1 - beta1 ** gs["step"]
                tau = self._lower_bound_step(group, gs["loss_avg"], dot, gamma, norm, rho)
                lr, lam = group["lr"], group["weight_decay"]
                for gr, p in pairs:
                    if gr is not group:
                        continue
                    state = self.state[p]
                    D = state["rms"] / math.sqrt(1 - beta2 ** state["step"]) + group["eps"]
                    if lam and not self.divide:
                        p.data *= 1 - lam * lr
                    p.data -= tau * (state["grad_avg"] / D)
                    if lam and self.divide:
                        p.data /= 1 + lam * lr
                    p._version += 1
        return loss


register(Momo, name="momo", kind="optimizer", check="state", catalog_id="O037", papers=[_MOMO])
register(MomoAdam, name="momo_adam", kind="optimizer", check="state", catalog_id="O038",
         papers=[_MOMO])
