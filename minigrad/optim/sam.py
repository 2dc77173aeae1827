"""SAM: sharpness-aware minimization, a two-pass wrapper around any base optimizer."""
import functools

from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array
from minigrad.optim.optimizer import Optimizer, _evaluate, tensor_norm
from minigrad.optim.sgd import SGD
from minigrad.registry import register


class SAM(Optimizer):
    """Sharpness-Aware Minimization (Foret et al. 2021), first-order form.

    Paper: Foret, Kleiner, Mobahi & Neyshabur 2021, "Sharpness-Aware Minimization for
    Efficiently Improving Generalization".

    ``SAM(params, base_optimizer=SGD, rho=0.05, **base_options)``; each step takes two
    forward/backward passes::

        g = ∇L(θ)                                  pass 1
        e = ρ·g / (‖g‖₂ + 1e-12)                    ‖g‖ over all parameters together
        g_SAM = ∇L(θ + e)                          pass 2 (e is a constant: no gradient through it)
        θ ← base step from θ with g_SAM

    ``step(closure)`` runs both passes: the closure zeroes the gradients, runs forward and
    backward and returns the loss (the first pass's loss is returned). Unlike davda54/sam,
    whose ``step`` expects the first backward done already, the closure is called twice;
    a gradient left over from a backward before ``step`` does not change e (only its direction
    counts). ``first_step()`` / ``second_step()`` are the two halves for a hand-written loop.
    ρ is a group option (0.05 typical; 0.5 to 0.8 for the long-tailed recipes of "Escaping
    Saddle Points for Effective Generalization on Class-Imbalanced Data", changed per stage by
    writing ``group["rho"]``). The base optimizer shares these parameter groups, so
    schedulers act on both. BatchNorm running statistics are updated in both passes unless
    the closure prevents it. m-sharpness (a separate e per sub-batch) is not implemented.
    """

    def __init__(self, params, base_optimizer=SGD, rho=0.05, **kwargs):
        if rho < 0:
            raise ValueError(f"SAM: rho must be ≥ 0, got {rho}")
        super().__init__(params, dict(rho=rho, **kwargs))
        self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
        self.param_groups = self.base_optimizer.param_groups

    def first_step(self, zero_grad=False):
        """Move every parameter to θ + e (keeping θ in the state)."""
        pairs = self._params_with_grad()
        if pairs:
            xp = backend_of_array(pairs[0][1].data).xp
            norm = functools.reduce(xp.hypot, [tensor_norm(xp, p.grad.data) for _, p in pairs])
            with no_grad():
                for group, p in pairs:
                    self.state.setdefault(p, {})["old_p"] = p.data.copy()
                    p.data += (group["rho"] / (norm + 1e-12)) * p.grad.data
                    p._version += 1
        if zero_grad:
            self.zero_grad()

    def second_step(self, zero_grad=False):
        """Return every parameter to θ and take the base optimizer's step with the
        gradient computed at θ + e."""
        with no_grad():
            for p, state in self.state.items():
                if "old_p" in state:
                    p.data[...] = state.pop("old_p")
                    p._version += 1
        self.base_optimizer.step()
        if zero_grad:
            self.zero_grad()

    def _step(self, closure=None):
        if closure is None:
            raise ValueError("SAM.step needs a closure (zero_grad, forward, backward, return "
                             "the loss): the loss is evaluated twice per step")
        loss = _evaluate(closure)
        self.first_step(zero_grad=True)
        _evaluate(closure)
        self.second_step()
        return loss

    def state_dict(self):
        state = super().state_dict()
        state["base_optimizer"] = self.base_optimizer.state_dict()
        return state

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self.base_optimizer.load_state_dict(state_dict["base_optimizer"])


register(SAM, name="sam", kind="optimizer", check="state", catalog_id="O014",
         papers=["Sharpness-Aware Minimization for Efficiently Improving Generalization",
                 "Escaping Saddle Points for Effective Generalization on Class-Imbalanced Data",
                 "Sharpness Minimization Algorithms Do Not Only Minimize Sharpness To Achieve "
                 "Better Generalization"])
