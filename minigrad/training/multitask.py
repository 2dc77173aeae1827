"""Training with several losses at once: GradNorm's adaptive multitask loss weights. (DOT,
the distillation trainer with separate momenta for the task and distillation gradients, is
an update rule: ``minigrad.optim.DistillationOrientedTrainer``.)
"""
import math

from minigrad.autograd import grad
from minigrad.backends import backend_of_array
from minigrad.optim.optimizer import tensor_norm
from minigrad.registry import register
from minigrad.tensor import Tensor

_UPDATES = ("adam_reset", "sgd")


def _float(x, what):
    if isinstance(x, Tensor):
        if x.numel() != 1:
            raise ValueError(f"GradNorm: {what} must be scalars, got a tensor of shape "
                             f"{tuple(x.shape)}")
        return float(x.item())
    return float(x)


class GradNorm:
    """GradNorm: loss weights w_i(t) that balance the gradient magnitudes of T tasks.

    The network is trained on Σ_i w_i(t)·L_i(t); after each step the weights move to make
    every task's gradient norm at the shared layer W proportional to its relative inverse
    training rate:

        G_i = ‖∇_W (w_i·L_i)‖₂ = |w_i|·‖∇_W L_i‖₂,    Ḡ = mean_i G_i
        L̃_i = L_i(t) / L_i(0),   r_i = L̃_i / mean_j L̃_j
        L_grad = Σ_i |G_i − sg(Ḡ·r_i^α)|                      (sg: the target is a constant)
        g_i = ∂L_grad/∂w_i = sign(G_i − Ḡ·r_i^α)·sign(w_i)·‖∇_W L_i‖₂   (analytic: no
                                                               double backward needed)
        w_i ← w_i − lr·g_i                     (update='sgd': Algorithm 1 of the paper)
        w_i ← w_i − lr·g_i/(|g_i| + eps)       (update='adam_reset': the reference)
        w ← T·w / Σ_i w_i                                     (renormalize: Σ_i w_i = T)

    with w_i(0) = 1 and L_i(0) the losses of the first call. The reference
    (LucasBoTang/GradNorm gradnorm.py) updates the weights with ``torch.optim.Adam`` that it
    creates afresh after every renormalization, so every update is Adam's first step,
    lr·m̂/(√v̂ + eps) = lr·g/(|g| + eps) (β's cancel): that is the default here.
    The reference differentiates ``gradnorm_loss`` through the network as well (its graph
    was built with ``create_graph=True``), which adds ∇_θ L_grad to the network's gradient;
    Algorithm 1 of the paper updates the network with ∇ Σ w_i L_i only, as this class
    assumes (it never touches the network's gradients). It takes the norm over all of
    ``shared_params`` (the reference: the first parameter of the given layer, its weight;
    pass only the weight to match).

    Use, each iteration (as the reference orders it):

        losses = [loss_a, loss_b]                  # scalar tensors, one per task
        total = gn.weighted_loss(losses)           # Σ w_i L_i with the current weights
        gn.step(losses, [model.shared.weight])     # ‖∇_W L_i‖ (graph kept), new weights
        total.backward(); optimizer.step(); optimizer.zero_grad()

    ``gn.update(loss_values, grad_norms)`` is the same weight update from numbers you
    computed yourself (``step`` calls it).

    Arguments (defaults): ``num_tasks`` T; ``alpha`` α = 1.5 (the paper's NYUv2 value; its
    toy example and the reference's sample use 0.12: a task-dependent asymmetry);
    ``lr`` = 1e-4 (reference sample ``lr2``); ``update`` 'adam_reset' or 'sgd'; ``eps`` =
    1e-8 (torch Adam's). State (weights, L(0), step count) round-trips through
    ``state_dict``/``load_state_dict`` and ``minigrad.save``.

    Paper: Chen, Badrinarayanan, Lee & Rabinovich 2018, "GradNorm: Gradient Normalization for
    Adaptive Loss Balancing in Deep Multitask Networks" (Eq. 1-2, Algorithm 1).
    """

    def __init__(self, num_tasks, alpha=1.5, lr=1e-4, update="adam_reset", eps=1e-8):
        if isinstance(num_tasks, bool) or not isinstance(num_tasks, int) or num_tasks < 1:
            raise ValueError(f"GradNorm: num_tasks must be a positive int, got {num_tasks!r}")
        if not alpha >= 0.0:
            raise ValueError(f"GradNorm: alpha must be >= 0, got {alpha}")
        if not lr >= 0.0:
            raise ValueError(f"GradNorm: lr must be >= 0, got {lr}")
        if update not in _UPDATES:
            raise ValueError(f"GradNorm: update must be one of {_UPDATES}, got {update!r}")
        if not eps > 0.0:
            raise ValueError(f"GradNorm: eps must be > 0, got {eps}")
        self.num_tasks, self.alpha, self.lr = num_tasks, float(alpha), float(lr)
        self.update_rule, self.eps = update, float(eps)
        self.weights = [1.0] * num_tasks
        self.initial_losses = None
        self.steps = 0

    def weighted_loss(self, losses):
        """Σ_i w_i·L_i with the current weights (a Tensor when the losses are tensors)."""
        losses = list(losses)
        self._check_count(losses, "losses")
        total = None
        for w, loss in zip(self.weights, losses):
            term = loss * w
            total = term if total is None else total + term
        return total

    def step(self, losses, shared_params):
        """Compute ‖∇_W L_i‖ for every task loss (a scalar Tensor) with respect to
        ``shared_params`` (the graph is retained for the network's backward) and update the
        weights. Returns the new weights."""
        losses = list(losses)
        self._check_count(losses, "losses")
        shared = [shared_params] if isinstance(shared_params, Tensor) else list(shared_params)
        if not shared:
            raise ValueError("GradNorm.step: shared_params is empty")
        norms = []
        for loss in losses:
            grads = grad(loss, shared, retain_graph=True, allow_unused=True)
            sq = 0.0
            for g in grads:
                if g is not None:
                    n = float(tensor_norm(backend_of_array(g.data).xp, g.data.astype("float64")))
                    sq += n * n
            norms.append(math.sqrt(sq))
        return self.update([_float(l, "losses") for l in losses], norms)

    def update(self, loss_values, grad_norms):
        """The weight update from the task losses L_i(t) and the unweighted gradient norms
        ‖∇_W L_i‖ (numbers). Returns the new weights (a list of floats)."""
        loss_values = [_float(v, "losses") for v in loss_values]
        grad_norms = [_float(v, "gradient norms") for v in grad_norms]
        self._check_count(loss_values, "losses")
        self._check_count(grad_norms, "gradient norms")
        if self.initial_losses is None:
            if any(not l > 0.0 for l in loss_values):
                raise ValueError(f"GradNorm: the first losses L_i(0) must be > 0 (they divide "
                                 f"later losses), got {loss_values}")
            self.initial_losses = list(loss_values)
        T = self.num_tasks
        G = [abs(w) * n for w, n in zip(self.weights, grad_norms)]
        G_mean = sum(G) / T
        ratios = [l / l0 for l, l0 in zip(loss_values, self.initial_losses)]
        r_mean = sum(ratios) / T
        r = [q / r_mean if r_mean > 0 else 1.0 for q in ratios]
        target = [G_mean * ri ** self.alpha for ri in r]
        g = [_sign(Gi - ci) * _sign(w) * n
             for Gi, ci, w, n in zip(G, target, self.weights, grad_norms)]
        if self.update_rule == "sgd":
            new = [w - self.lr * gi for w, gi in zip(self.weights, g)]
        else:
            new = [w - self.lr * gi / (abs(gi) + self.eps) for w, gi in zip(self.weights, g)]
        total = sum(new)
        if not total > 0.0:
            raise FloatingPointError(f"GradNorm: the weights' sum became {total} (lr too "
                                     f"large?); cannot renormalize {new}")
        self.weights = [w / total * T for w in new]
        self.steps += 1
        return list(self.weights)

    def _check_count(self, values, what):
        if len(values) != self.num_tasks:
            raise ValueError(f"GradNorm: got {len(values)} {what} for {self.num_tasks} tasks")

    def state_dict(self):
        return {"weights": list(self.weights), "steps": self.steps,
                "initial_losses": None if self.initial_losses is None else list(self.initial_losses)}

    def load_state_dict(self, state):
        weights = [float(w) for w in state["weights"]]
        self._check_count(weights, "saved weights")
        self.weights = weights
        init = state["initial_losses"]
        self.initial_losses = None if init is None else [float(v) for v in init]
        self.steps = int(state["steps"])


def _sign(x):
    return (x > 0) - (x < 0)


register(GradNorm, name="gradnorm", kind="optimizer", check="state", catalog_id="O071",
         papers=["GradNorm: Gradient Normalization for Adaptive Loss Balancing in Deep "
                 "Multitask Networks"])
