"""AGVM: per-module-group learning-rate modulation from the gradient variance between two
halves of the batch, wrapped around any optimizer (large-batch dense prediction)."""
import math

from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array
from minigrad.optim.clip import clip_grad_norm_
from minigrad.optim.optimizer import _evaluate, power_of_two_scale
from minigrad.registry import register
from minigrad.tensor import Tensor


class AGVM:
    """Adaptive Gradient Variance Modulator (Xue et al. 2022) around an optimizer whose
    parameter groups are the network's module groups (group 0: the backbone).

    Paper: Xue, Zhang et al. 2022, "Large-batch Optimization for Dense Visual Predictions".
    Rule and defaults from Sense-X/AGVM ``agvm/optim/agvm_optimizer_hook.py``
    (``AgvmOptimizerHook``)::

        agvm = AGVM(optimizer, lr_update_interval=5, lr_update_start_iter=500,
                    lr_update_stop_iter=-1, momentum=0.97, use_adam=False, static_lr=False,
                    grad_clip=None, grad_clip_iter_range=None)
        loss = agvm.step(closure)      # closure(part): part None (whole batch), 0 or 1 (halves)

    Iteration i = 0, 1, ... (one per ``step``), μ_j = 1 at first for every group j. At a
    modulation iteration (not ``static_lr``, start ≤ i ≤ stop, i % τ == 0) the closure is
    called on each half of the batch, giving g^A, g^B (each the mean over its half), and::

        Φ_j = 1 − cos(g_j^A, g_j^B)               (g_j: group j's gradients, flattened together;
                                                   with use_adam, each g/(√(β₂v + (1 − β₂)g²) + ε)
                                                   with the optimizer's second moment v)
        μ_j^new = √clip((Φ_0 + 1e-6)/(Φ_j + 1e-6), 0.5, 10)
        μ_j ← m·μ_j + (1 − m)·μ_j^new             (m = ``momentum``)
        g = (g^A + g^B)/2                          (the whole batch's mean gradient)

    otherwise the closure is called once on the whole batch. Then the gradients are clipped by
    their global norm (``grad_clip=dict(max_norm=..., norm_type=2)``, within
    ``grad_clip_iter_range`` = (low, high) if given), and for start ≤ i ≤ stop (not
    ``static_lr``) the optimizer steps with lr_j·μ_j (each group's lr is put back afterwards:
    the reference divides it back, here the saved value is restored exactly); outside that
    range with the plain lr. ``lr_update_stop_iter`` ≤ start means no stop.

    Differences from the reference, which splits the batch across the data-parallel ranks (the
    two halves are the two halves of the ranks): here the closure computes each half in turn
    on one device. Its cosine is x·y/(max(‖x‖, 1e-8)·max(‖y‖, 1e-8)) as torch's; a group with
    no gradient has Φ = 1. ``use_adam`` reads the optimizer's ``rms`` state (√v of ``Adam``
    and its family; 0 before the first step). ``state_dict()`` holds the optimizer's state,
    μ and i (``load_state_dict`` restores them).
    """

    def __init__(self, optimizer, lr_update_interval=5, lr_update_start_iter=500,
                 lr_update_stop_iter=-1, momentum=0.97, use_adam=False, static_lr=False,
                 grad_clip=None, grad_clip_iter_range=None):
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"AGVM wraps an optimizer (its parameter groups are the module "
                            f"groups), got {type(optimizer).__name__}")
        if int(lr_update_interval) != lr_update_interval or lr_update_interval < 1:
            raise ValueError(f"AGVM: lr_update_interval must be a positive integer, got "
                             f"{lr_update_interval}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"AGVM: momentum must be in [0, 1], got {momentum}")
        if grad_clip is not None and "max_norm" not in grad_clip:
            raise ValueError(f"AGVM: grad_clip is None or a dict with max_norm (and norm_type), "
                             f"got {grad_clip}")
        if grad_clip_iter_range is not None and (len(grad_clip_iter_range) != 2
                                                 or grad_clip_iter_range[0] >= grad_clip_iter_range[1]):
            raise ValueError(f"AGVM: grad_clip_iter_range must be (low, high) with low < high, "
                             f"got {grad_clip_iter_range}")
        self.optimizer = optimizer
        self.lr_update_interval = int(lr_update_interval)
        self.lr_update_start_iter = lr_update_start_iter
        self.lr_update_stop_iter = (lr_update_stop_iter if lr_update_stop_iter > lr_update_start_iter
                                    else math.inf)
        self.momentum, self.use_adam, self.static_lr = momentum, bool(use_adam), bool(static_lr)
        self.grad_clip, self.grad_clip_iter_range = grad_clip, grad_clip_iter_range
        self.scale_factors = [1.0] * len(optimizer.param_groups)
        self.iter = 0

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    def zero_grad(self, set_to_none=True):
        self.optimizer.zero_grad(set_to_none)

    def _in_range(self):
        return (not self.static_lr
                and self.lr_update_start_iter <= self.iter <= self.lr_update_stop_iter)

    def _group_vector_parts(self, group):
        """(xp, [flattened, possibly Adam-preconditioned gradients]) of one group."""
        parts = []
        for p in group["params"]:
            if p.grad is None:
                continue
            g = p.grad.data
            xp = backend_of_array(g).xp
            if self.use_adam:
                beta2 = group["betas"][1]
                rms = self.optimizer.state.get(p, {}).get("rms")
                rms = xp.zeros_like(g) if rms is None else rms
                g = g / (xp.hypot(math.sqrt(beta2) * rms, math.sqrt(1 - beta2) * g)
                         + group["eps"])
            parts.append(g.reshape(-1))
        return parts

    def _snapshot(self):
        grads = {}
        for group in self.param_groups:
            for p in group["params"]:
                grads[id(p)] = None if p.grad is None else p.grad.data.copy()
        return grads

    def _modulate(self, closure):
        loss_a = _evaluate(lambda: closure(0))
        half_a = [self._group_vector_parts(group) for group in self.param_groups]
        grads_a = self._snapshot()
        loss_b = _evaluate(lambda: closure(1))
        half_b = [self._group_vector_parts(group) for group in self.param_groups]
        phis = [1.0 - _cosine(a, b) for a, b in zip(half_a, half_b)]
        new = [math.sqrt(min(max((phis[0] + 1e-6) / (phi + 1e-6), 0.5), 10.0)) for phi in phis]
        m = self.momentum
        self.scale_factors = [m * old + (1 - m) * n for old, n in zip(self.scale_factors, new)]
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    a = grads_a[id(p)]
                    if a is None and p.grad is None:
                        continue
                    b = p.grad.data if p.grad is not None else 0 * a
                    a = 0 * b if a is None else a
                    p.grad = Tensor._wrap((a + b) / 2)
        return _mean_loss(loss_a, loss_b)

    def step(self, closure):
        """One iteration: the gradients (two half-batch passes at a modulation iteration, one
        whole-batch pass otherwise), clipping, then the optimizer's step with modulated lr.
        Returns the loss (the mean of the halves' losses at a modulation iteration)."""
        if closure is None:
            raise ValueError("AGVM.step needs a closure(part) (part None: the whole batch; 0 or "
                             "1: that half of the batch) that zeroes the gradients, runs forward "
                             "and backward and returns the loss")
        if self._in_range() and self.iter % self.lr_update_interval == 0:
            loss = self._modulate(closure)
        else:
            loss = _evaluate(lambda: closure(None))
        if self.grad_clip is not None:
            low, high = self.grad_clip_iter_range or (-math.inf, math.inf)
            if low <= self.iter <= high:
                params = [p for group in self.param_groups for p in group["params"]
                          if p.requires_grad and p.grad is not None]
                if params:
                    clip_grad_norm_(params, **self.grad_clip)
        if self._in_range():
            saved = [group["lr"] for group in self.param_groups]
            for group, scale in zip(self.param_groups, self.scale_factors):
                group["lr"] = group["lr"] * scale
            try:
                self.optimizer.step()
            finally:
                for group, lr in zip(self.param_groups, saved):
                    group["lr"] = lr
        else:
            self.optimizer.step()
        self.iter += 1
        return loss

    def state_dict(self):
        return {"optimizer": self.optimizer.state_dict(),
                "scale_factors": list(self.scale_factors), "iter": self.iter}

    def load_state_dict(self, state_dict):
        factors = list(state_dict["scale_factors"])
        if len(factors) != len(self.param_groups):
            raise ValueError(f"AGVM.load_state_dict: {len(factors)} scale factors for "
                             f"{len(self.param_groups)} parameter groups")
        self.optimizer.load_state_dict(state_dict["optimizer"])
        self.scale_factors = [float(f) for f in factors]
        self.iter = int(state_dict["iter"])


def _cosine(a_parts, b_parts):
    """cos(a, b) of two vectors given as lists of 1-D arrays (0 for an empty group)."""
    if not a_parts:
        return 0.0
    xp = backend_of_array(a_parts[0]).xp
    a, b = xp.concatenate(a_parts), xp.concatenate(b_parts)
    sa = power_of_two_scale(xp, xp.abs(a).max())
    sb = power_of_two_scale(xp, xp.abs(b).max())
    a, b = a / sa, b / sb                     # the cosine is scale-free; no overflow of a·a
    na, nb = float(xp.sqrt((a * a).sum())), float(xp.sqrt((b * b).sum()))
    eps_a, eps_b = 1e-8 / float(sa), 1e-8 / float(sb)
    return float((a * b).sum()) / (max(na, eps_a) * max(nb, eps_b))


def _mean_loss(a, b):
    if a is None or b is None:
        return a if b is None else b
    with no_grad():
        return (a + b) / 2


register(AGVM, name="agvm", kind="optimizer", check="state", catalog_id="O041",
         papers=["Large-batch Optimization for Dense Visual Predictions"])
