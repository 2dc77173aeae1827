"""Hamiltonian Monte Carlo (leapfrog integration + Metropolis–Hastings correction) as an
optimizer whose every ``step(closure)`` is one HMC transition, and the leapfrog integrator."""
import math

from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array
from minigrad.optim.langevin import _BNN_BO, _Sampler
from minigrad.optim.optimizer import _evaluate
from minigrad.registry import register
from minigrad.tensor import Tensor


class HMC(_Sampler):
    """Hamiltonian Monte Carlo: one leapfrog trajectory and a Metropolis–Hastings test per step.

    Paper: Neal 2011, "MCMC using Hamiltonian dynamics" (Duane, Kennedy, Pendleton & Roweth
    1987); as run in Li, Rudner & Wilson 2024, "A Study of Bayesian Neural Network Surrogates
    for Bayesian Optimization" (yucenli/bnn-bo, ``models/hmc_utils.py``: ``hmc_update``,
    ``leapfrog``, ``get_accept_prob``).

    ``HMC(params, lr=1e-2, num_leapfrog=10, path_length=None, max_leapfrog=200,
    inv_mass=1.0, temperature=1.0, mh_correction=True, generator=None)``; ``step(closure)``
    where the closure zeroes the gradients, evaluates the potential U(θ) (the negative log
    posterior, full batch), backpropagates it and returns it. Target p(θ) ∝ exp(−U(θ)/T),
    mass matrix M = I/m (m = ``inv_mass``), ε = ``lr``::

        r ~ N(0, M)                                   fresh momentum, every step
        repeat L times (leapfrog):
            r ← r − (ε/2)·∇U(θ)/T
            θ ← θ + ε·M⁻¹r
            r ← r − (ε/2)·∇U(θ)/T                    (∇U at the new θ: one closure call)
        H(θ, r) = U(θ)/T + ½·rᵀM⁻¹r
        accept (θ′, r′) if u < min(1, exp(H(θ, r) − H(θ′, r′))),  u ~ U(0, 1);  else keep θ

    L = ``num_leapfrog``, or min(``max_leapfrog``, ⌈path_length/ε⌉) when ``path_length`` is
    given (bnn-bo's rule, cap 200). Each step calls the closure L + 1 times (once at the
    start: bnn-bo reuses the last accepted gradient instead, the same chain when the closure
    is deterministic); it returns the loss at the start of the transition. After a rejection
    the parameters and their gradients are put back. ``mh_correction=False`` accepts every
    proposal (bnn-bo's ``do_mh_correction``). Draw order: one N(0, I) array per parameter
    (parameters with a gradient, group order), then u. Deviations from bnn-bo: r ~ N(0, M)
    (bnn-bo draws N(0, I) whatever its diagonal mass, the same thing for M = I); bnn-bo's
    dual-averaging step-size adaptation during burn-in is left to the caller (write
    ``group["lr"]``). ``accept_prob`` / ``accepted`` / ``num_accepted`` / ``num_steps`` record
    the chain's acceptance (saved in the state dict).
    """

    def __init__(self, params, lr=1e-2, num_leapfrog=10, path_length=None, max_leapfrog=200,
                 inv_mass=1.0, temperature=1.0, mh_correction=True, generator=None):
        if not lr > 0:
            raise ValueError(f"HMC: lr (leapfrog step size) must be > 0, got {lr}")
        for name, value in (("num_leapfrog", num_leapfrog), ("max_leapfrog", max_leapfrog)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"HMC: {name} must be an int ≥ 1, got {value!r}")
        if path_length is not None and not path_length > 0:
            raise ValueError(f"HMC: path_length must be None or > 0, got {path_length}")
        if not inv_mass > 0:
            raise ValueError(f"HMC: inv_mass must be > 0, got {inv_mass}")
        if not temperature > 0:
            raise ValueError(f"HMC: temperature must be > 0, got {temperature}")
        super().__init__(params, dict(lr=lr, inv_mass=inv_mass), generator)
        self.num_leapfrog, self.path_length = num_leapfrog, path_length
        self.max_leapfrog = max_leapfrog
        self.temperature, self.mh_correction = temperature, mh_correction
        self.accept_prob, self.accepted, self.num_accepted, self.num_steps = None, None, 0, 0

    def leapfrog_steps(self):
        """L for the next transition (from ``path_length`` and the first group's lr if given)."""
        if self.path_length is None:
            return self.num_leapfrog
        return min(self.max_leapfrog, math.ceil(self.path_length / self.param_groups[0]["lr"]))

    def _step(self, closure=None):
        if closure is None:
            raise ValueError("HMC.step needs a closure (zero_grad, forward of the potential U, "
                             "backward, return U): each transition evaluates U L + 1 times")
        loss = _evaluate(closure)
        u0 = _scalar(loss)
        pairs = self._params_with_grad()
        if not pairs:
            return loss
        temp = self.temperature
        with no_grad():
            start = [(p.data.copy(), p.grad.data.copy()) for _, p in pairs]
            r0 = [self._standard_normal(p.data) * (1.0 / group["inv_mass"]) ** 0.5
                  for group, p in pairs]
            r = [x.copy() for x in r0]
        u1 = _leapfrog(pairs, r, closure, self.leapfrog_steps(), temp)
        with no_grad():
            log_ratio = (u0 - u1) / temp + (_kinetic(pairs, r0) - _kinetic(pairs, r))
            # min(1, exp(ΔH)) without overflow; a NaN energy rejects
            accept_prob = 1.0 if log_ratio >= 0 else (math.exp(log_ratio) if log_ratio == log_ratio
                                                      else 0.0)
            accepted = True
            if self.mh_correction:
                accepted = bool(self._rng.random() < accept_prob)
            if not accepted:
                for (_, p), (theta, grad) in zip(pairs, start):
                    p.data[...] = theta
                    p.grad = Tensor._wrap(grad)
                    p._version += 1
        self.accept_prob, self.accepted = accept_prob, accepted
        self.num_steps += 1
        self.num_accepted += int(accepted)
        return loss

    def state_dict(self):
        state = super().state_dict()
        state["hmc"] = dict(num_leapfrog=self.num_leapfrog, path_length=self.path_length,
                            max_leapfrog=self.max_leapfrog, temperature=self.temperature,
                            mh_correction=self.mh_correction, accept_prob=self.accept_prob,
                            accepted=self.accepted, num_accepted=self.num_accepted,
                            num_steps=self.num_steps)
        return state

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for key, value in state_dict.get("hmc", {}).items():
            setattr(self, key, value)


def _scalar(loss):
    if loss is None:
        raise ValueError("HMC: the closure must return the potential U(θ) (a scalar)")
    return float(loss.item() if hasattr(loss, "item") else loss)


def _kinetic(pairs, momenta):
    """½·Σ rᵀM⁻¹r over every parameter (a Python float, summed in float64)."""
    total = 0.0
    for (group, p), r in zip(pairs, momenta):
        r64 = backend_of_array(r).to_numpy(r).astype("float64")
        total += 0.5 * group["inv_mass"] * float((r64 * r64).sum())
    return total


def _leapfrog(pairs, momenta, closure, num_steps, temperature):
    """``num_steps`` leapfrog steps from the current parameters (whose ``.grad`` holds ∇U
    there); the list ``momenta`` gets the final momenta; returns U at the end point."""
    u = None
    for _ in range(num_steps):
        with no_grad():
            for i, (group, p) in enumerate(pairs):
                # momenta[i] is rebound, not changed in place: a 0-d draw may be a NumPy scalar
                momenta[i] = momenta[i] - (0.5 * group["lr"] / temperature) * p.grad.data
                p.data += (group["lr"] * group["inv_mass"]) * momenta[i]
                p._version += 1
        u = _scalar(_evaluate(closure))
        with no_grad():
            for i, (group, p) in enumerate(pairs):
                if p.grad is None:
                    raise ValueError("HMC: the closure left a parameter without a gradient")
                momenta[i] = momenta[i] - (0.5 * group["lr"] / temperature) * p.grad.data
    return u


def leapfrog(params, momenta, closure, step_size, num_steps, inv_mass=1.0, temperature=1.0):
    """Leapfrog integration of Hamilton's equations for H = U(θ)/T + ½·m·|r|² (Neal 2011,
    Eq. 5.18–5.20), the integrator of ``HMC``; volume-preserving and reversible (negating r
    at the end and integrating again returns to the start).

    Paper: Neal 2011, "MCMC using Hamiltonian dynamics".

    Per step: r ← r − (ε/2)·∇U(θ)/T;  θ ← θ + ε·m·r;  r ← r − (ε/2)·∇U(θ)/T. ``params``
    must hold ∇U in ``.grad`` (call the closure first); the parameters are changed in place
    and the list ``momenta`` (arrays, one per parameter, moved to the parameters' backend)
    receives the final momenta;
    returns U at the end point.
    """
    group = dict(lr=step_size, inv_mass=inv_mass)
    pairs = [(group, p) for p in params]
    if len(momenta) != len(pairs):
        raise ValueError(f"leapfrog: {len(pairs)} parameters but {len(momenta)} momenta")
    for i, (p, r) in enumerate(zip(params, momenta)):
        momenta[i] = r = backend_of_array(p.data).asarray(r)  # host arrays are copied over
        if tuple(r.shape) != tuple(p.shape):
            raise ValueError(f"leapfrog: momentum of shape {tuple(r.shape)} for a parameter of "
                             f"shape {tuple(p.shape)}")
        if p.grad is None:
            raise ValueError("leapfrog: call the closure first (every parameter needs ∇U in .grad)")
    return _leapfrog(pairs, momenta, closure, num_steps, temperature)


register(HMC, name="hmc", kind="optimizer", check="state", catalog_id="O093", papers=[_BNN_BO])
