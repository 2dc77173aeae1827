"""Update rules of single papers built on SGD, Adam or AdaGrad: SGDW (decoupled weight decay
for SGD), diffGrad (friction on the Adam step), SWATS (Adam that switches to SGD) and
AdaGrad-Norm (one scalar adaptive step size for the whole model).

Second moments are kept as their square roots (√v, updated with ``hypot``), as everywhere in
``minigrad.optim``: a huge but finite gradient still takes the step of the rule."""
import math

from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array, to_numpy
from minigrad.optim.adam import _adam_moments
from minigrad.optim.optimizer import Optimizer, _evaluate, tensor_norm
from minigrad.optim.sgd import heavy_ball
from minigrad.registry import register


def _check_options(name, lr=0.0, betas=(0.0, 0.0), eps=0.0, weight_decay=0.0, **others):
    """Raise a ValueError naming the optimizer for a negative lr/eps/weight decay, betas
    outside [0, 1), or any other named option that is negative."""
    for key, value in dict(lr=lr, eps=eps, weight_decay=weight_decay, **others).items():
        if not value >= 0:
            raise ValueError(f"{name}: {key} must be ≥ 0, got {value}")
    if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
        raise ValueError(f"{name}: betas must be two numbers in [0, 1), got {betas}")


class SGDW(Optimizer):
    """SGDW: SGD with momentum and decoupled weight decay (Loshchilov & Hutter 2019, Algorithm 1).

    Paper: Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization". Arguments:
    ``SGDW(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False)``.

    Per parameter, with step size η (``lr``), momentum μ, dampening d, decay λ::

        b ← g                      at the first step;   b ← μb + (1 − d)g   afterwards
        θ ← θ − η·b − η·λ·θ        (Nesterov: θ ← θ − η·(g + μb) − η·λ·θ)

    The decay is not added to g (so it never enters the momentum buffer): that is what sets
    SGDW apart from ``torch.optim.SGD(weight_decay=λ)``, which it equals only for μ = 0 (after
    no rescaling at all then). Conventions, as ``AdamW`` here: the paper writes
    m ← μm + η_t·α·g and θ ← θ − m − η_t·λ·θ with α the base step and η_t the schedule
    multiplier; here η = α·η_t sits outside the buffer (PyTorch's SGD form, identical while the
    learning rate is constant) and the decay is scaled by the whole η (the paper's λ is
    ``weight_decay * lr / η_t``). Normalized weight decay: ``normalized_weight_decay``; SGDWR is
    SGDW with ``lr_scheduler.CosineAnnealingWarmRestarts``.

    Reference packages: ``pytorch_optimizer.SGDW`` starts its momentum buffer at a copy of θ and
    ``torch_optimizer.SGDW`` subtracts the constant η·λ instead of η·λ·θ; both agree with this
    rule for momentum = 0, weight_decay = 0 (resp. momentum = 0) only, so the tests follow the
    paper's algorithm box written out by hand.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        _check_options("SGDW", lr=lr, weight_decay=weight_decay, momentum=momentum)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGDW: Nesterov momentum needs momentum > 0 and dampening = 0, got "
                             f"momentum={momentum}, dampening={dampening}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _update(self, p, g, state, group, xp):
        mu, lr = group["momentum"], group["lr"]
        if mu:
            buf = heavy_ball(state, g, mu, group["dampening"], xp)
            g = g + mu * buf if group["nesterov"] else buf
        if group["weight_decay"]:
            p *= 1 - lr * group["weight_decay"]
        p -= lr * g


class DiffGrad(Optimizer):
    """diffGrad: Adam with a friction coefficient from the change of the gradient (Dubey et al.
    2020).

    Paper: Dubey, Chakraborty, Roy, Mukherjee, Singh & Chaudhuri 2020, "diffGrad: An
    Optimization Method for Convolutional Neural Networks". Arguments:
    ``DiffGrad(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)``.

    Per parameter, step t from 1, g_prev the previous step's gradient (0 at t = 1)::

        g ← g + λθ                                        (coupled L2, off by default)
        m ← β₁m + (1 − β₁)g;   v ← β₂v + (1 − β₂)g²
        ξ = 1 / (1 + exp(−|g_prev − g|))                  (elementwise, in [½, 1))
        θ ← θ − η·(√(1 − β₂ᵗ) / (1 − β₁ᵗ)) · ξ⊙m / (√v + ε)

    Transcribed from the authors' code shivram1987/diffGrad ``diffGrad_v2.py`` (the version
    that keeps a copy of the previous gradient; ``diffGrad.py`` kept an alias of it, which
    the authors mark as a bug): ε is added to the raw √v, the bias corrections go into the
    step size. ``torch_optimizer.DiffGrad`` takes the same steps; ``pytorch_optimizer.DiffGrad``
    (its non-rectified path) leaves ξ out of the step and is not followed.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        _check_options("DiffGrad", lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay))

    def _update(self, p, g, state, group, xp):
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        if not state:
            state["previous_grad"] = xp.zeros_like(g)
        t, m, r = _adam_moments(g, state, group["betas"], xp)
        prev = state["previous_grad"]
        friction = 1 / (1 + xp.exp(-xp.abs(prev - g)))
        prev[...] = g
        beta1, beta2 = group["betas"]
        step = group["lr"] * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        p -= step * (friction * m) / (r + group["eps"])


class SWATS(Optimizer):
    """SWATS: Adam until a projected SGD step size settles, then SGD with momentum (Keskar &
    Socher 2017, Algorithm 1).

    Paper: Keskar & Socher 2017, "Improving Generalization Performance by Switching from Adam
    to SGD". Arguments: ``SWATS(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-9,
    weight_decay=0, switch_eps=1e-9)``.

    Per parameter tensor, step k from 1, while the group's ``phase`` is ``"adam"``::

        g ← g + λθ                                          (coupled L2, off by default)
        m ← β₁m + (1 − β₁)g;   a ← β₂a + (1 − β₂)g²
        p_k = −η·(√(1 − β₂ᵏ) / (1 − β₁ᵏ)) · m / (√a + ε);   θ ← θ + p_k
        if p_kᵀg ≠ 0:
            γ_k = p_kᵀp_k / (−p_kᵀg)                        (SGD step along g that projects to p_k)
            λ_k = β₂λ_{k−1} + (1 − β₂)γ_k;   Λ = λ_k / (1 − β₂ᵏ)
            switch when k > 1, Λ > 0 and |Λ − γ_k| < switch_eps

    then, in phase ``"sgd"`` (v starts at 0 at the switch)::

        v ← β₁v + g;   θ ← θ − (1 − β₁)·Λ·v

    The paper's defaults: η = 1e-3, β = (0.9, 0.999), ε = 1e-9 (used for both the
    denominator and the switch test; here ``eps`` and ``switch_eps``). The estimate is kept
    per parameter tensor and the switch is per parameter group (as in the paper's per-layer
    use and in ``torch_optimizer.SWATS`` / ``pytorch_optimizer.SWATS``): the first tensor of a
    group that meets the test switches the whole group, whose ``lr`` becomes Λ and whose
    ``phase`` becomes ``"sgd"`` for good. Differences from those packages, on purpose: the
    switch takes effect from the next step (they let the tensors after the trigger in the same
    step take an SGD step already), the test is the paper's absolute |Λ − γ| < ε (they use
    ``allclose`` with rtol 1e-6, atol 1e-8) and ε defaults to the paper's 1e-9 (1e-6 and
    1e-3 there). Checked against both with the same ε: the Adam phase and Λ equal theirs to
    rounding, and the SGD phase equals ``pytorch_optimizer.SWATS`` (``torch_optimizer.SWATS``
    multiplies its momentum buffer by 1 − β₁ in place at every SGD step, which the paper's
    box does not).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-9, weight_decay=0,
                 switch_eps=1e-9):
        _check_options("SWATS", lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                       switch_eps=switch_eps)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, switch_eps=switch_eps,
                                      phase="adam"))

    def _step(self, closure=None):
        self._switches = {}                         # id(group) -> Λ of the first trigger
        loss = super()._step(closure)
        for group in self.param_groups:
            if id(group) in self._switches:
                group["phase"], group["lr"] = "sgd", self._switches[id(group)]
        return loss

    def _update(self, p, g, state, group, xp):
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        beta1, beta2 = group["betas"]
        if group["phase"] == "sgd":
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = xp.zeros_like(g)
            buf *= beta1
            buf += g
            p -= ((1 - beta1) * group["lr"]) * buf
            return
        if not state:
            state["exp_avg2"] = xp.zeros((), dtype=g.dtype)
        k, m, r = _adam_moments(g, state, group["betas"], xp)
        c2 = 1 - beta2 ** k
        step = -(group["lr"] * math.sqrt(c2) / (1 - beta1 ** k)) * m / (r + group["eps"])
        p += step
        pg = float(to_numpy((step * g).sum()))
        if pg == 0:
            return
        gamma = float(to_numpy((step * step).sum())) / -pg
        lam = state["exp_avg2"]
        lam *= beta2
        lam += (1 - beta2) * gamma
        big_lambda = float(to_numpy(lam)) / c2
        if k > 1 and big_lambda > 0 and abs(big_lambda - gamma) < group["switch_eps"]:
            self._switches.setdefault(id(group), big_lambda)


class AdaGradNorm(Optimizer):
    """AdaGrad-Norm: one scalar adaptive step size for all parameters (Ward, Wu & Bottou 2019;
    the adaptive gradient method of AdAdaGrad, Lau, Liu & Kolar 2024).

    Paper: Lau, Liu & Kolar 2024, "AdAdaGrad: Adaptive Batch Size Schemes for Adaptive
    Gradient Methods" (AdaGrad-Norm as defined there, after Ward, Wu & Bottou 2019, "AdaGrad
    stepsizes: sharp convergence over nonconvex landscapes"). Arguments:
    ``AdaGradNorm(params, lr=1.0, initial_accumulator_value=1e-2, eps=1e-10)``.

    At step k, with g_k the gradient of *all* parameters (every group) as one vector::

        b_k² = b_{k−1}² + ‖g_k‖²          (b₀² = initial_accumulator_value)
        θ ← θ − η·g_k / (b_k + ε)          (η = each group's lr)

    The current gradient is already in b_k (Ward, Wu & Bottou's AdaGrad-Norm, and the catalog
    row; the AdAdaGrad text itself could not be consulted here). The rule has no ε (b₀ > 0 keeps the
    division finite); ε = 1e-10 is the one of the authors' repository (timlautk/AdAdaGrad),
    and so are the defaults lr = 1 and b₀² = 1e-2 (its ``adagradnorm.py`` adapts per output
    row, not the paper's scalar, and is not followed). b_k itself (not b_k²) is kept, updated
    with ``hypot`` (‖g‖² never formed, so no overflow), as a float in every group's ``"b"``
    (all equal), so it travels with ``state_dict``. With b₀ = ε = 0 a first all-zero gradient
    leaves θ unchanged (the step would be 0/0). Paired with the norm test ``adadagrad_norm_test``.
    """

    def __init__(self, params, lr=1.0, initial_accumulator_value=1e-2, eps=1e-10):
        _check_options("AdaGradNorm", lr=lr, eps=eps,
                       initial_accumulator_value=initial_accumulator_value)
        super().__init__(params, dict(lr=lr, initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, b=math.sqrt(initial_accumulator_value)))

    def _step(self, closure=None):
        loss = _evaluate(closure)
        with no_grad():
            items = self._params_with_grad()
            if not items:
                return loss
            norms = {}                                 # array module -> per-tensor ‖g‖ (float64)
            for _, p in items:
                xp = backend_of_array(p.data).xp
                norms.setdefault(xp, []).append(tensor_norm(xp, p.grad.data).astype(xp.float64))
            b = self.param_groups[0]["b"]
            for xp, parts in norms.items():            # one host transfer per backend
                b = math.hypot(b, float(to_numpy(tensor_norm(xp, xp.stack(parts)))))
            for group in self.param_groups:
                group["b"] = b
            for group, p in items:
                if b + group["eps"] == 0:              # every gradient so far is exactly 0
                    continue
                p.data -= (group["lr"] / (b + group["eps"])) * p.grad.data
                p._version += 1
        return loss


_DECOUPLED = "Decoupled Weight Decay Regularization"
_DIFFGRAD = "diffGrad: An Optimization Method for Convolutional Neural Networks"
_SWATS = "Improving Generalization Performance by Switching from Adam to SGD"
_ADADAGRAD = "AdAdaGrad: Adaptive Batch Size Schemes for Adaptive Gradient Methods"
register(SGDW, name="sgdw", kind="optimizer", check="state", catalog_id="O025",
         papers=[_DECOUPLED])
register(DiffGrad, name="diffgrad", kind="optimizer", check="state", catalog_id="O029",
         papers=[_DIFFGRAD])
register(SWATS, name="swats", kind="optimizer", check="state", catalog_id="O032",
         papers=[_SWATS])
register(AdaGradNorm, name="adagrad_norm", kind="optimizer", check="state", catalog_id="O026",
         papers=[_ADADAGRAD])
