"""Ranger21: AdamW with adaptive gradient clipping, gradient centralization and normalization,
positive–negative momentum, stable weight decay, norm loss, a softplus denominator, its own
warm-up / warm-down schedule and Lookahead, in one optimizer."""
import math

from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array
from minigrad.optim._global_state import GlobalStateOptimizer
from minigrad.optim.adam import _check_adam_options
from minigrad.optim.optimizer import _evaluate, power_of_two_scale
from minigrad.registry import register


def _unit_axes(ndim):
    """The axes of pytorch_optimizer's ``unit_norm``: all (a scalar) for ndim ≤ 1, axis 1 for
    2-D and 3-D tensors, every axis but 0 for 4-D and more."""
    if ndim <= 1:
        return None
    if ndim in (2, 3):
        return (1,)
    return tuple(range(1, ndim))


def unit_norm(xp, x):
    """The L2 norm of ``x`` per output unit (``_unit_axes``; kept dims for ndim ≥ 2), with no
    overflow of x² (x is divided by a power of two near its largest entry first)."""
    axes = _unit_axes(x.ndim)
    keep = axes is not None
    amax = xp.abs(x).max(axis=axes, keepdims=keep) if x.size else xp.zeros((), x.dtype)
    s = power_of_two_scale(xp, amax)
    y = x / s
    return s * xp.sqrt((y * y).sum(axis=axes, keepdims=keep))


def _centralize(xp, g):
    if g.ndim > 1:
        g = g - g.mean(axis=tuple(range(1, g.ndim)), keepdims=True)
    return g


def _normalize(xp, g):
    """g / (std(g) + 1e-8) (unbiased std, over the whole tensor) when g has more than 2 entries."""
    if g.size <= 2:
        return g
    s = power_of_two_scale(xp, xp.abs(g).max())
    y = g / s
    c = y - y.mean()
    std = s * xp.sqrt((c * c).sum() / (g.size - 1))
    return g / (std + 1e-8)


def _softplus(xp, x, beta, threshold=20.0):
    """torch.nn.functional.softplus: log(1 + exp(βx))/β, and x itself where βx > threshold."""
    bx = beta * x
    return xp.where(bx > threshold, x, xp.log1p(xp.exp(xp.minimum(bx, threshold))) / beta)


class Ranger21(GlobalStateOptimizer):
    """Ranger21 (Wright & Demeure 2021), in pytorch_optimizer's form.

    Paper: Wright & Demeure 2021, "Ranger21: a synergistic deep learning optimizer". Rule,
    argument names and defaults from kozistr/pytorch_optimizer ``optimizer/ranger21.py``
    (which follows lessw2020/Ranger21)::

        Ranger21(params, num_iterations, lr=1e-3, betas=(0.9, 0.999), use_softplus=True,
                 beta_softplus=50.0, disable_lr_scheduler=False, num_warm_up_iterations=None,
                 num_warm_down_iterations=None, warm_down_min_lr=3e-5, agc_clipping_value=1e-2,
                 agc_eps=1e-3, centralize_gradients=True, normalize_gradients=True,
                 lookahead_merge_time=5, lookahead_blending_alpha=0.5, weight_decay=1e-4,
                 norm_loss_factor=1e-4, eps=1e-8)

    Step t (one counter for the optimizer). ‖·‖_u is the norm per output unit (over axis 1 for
    2-D and 3-D tensors, all axes but 0 for more, the whole tensor for ≤ 1 axis). First, for
    every parameter::

        g ← g·min(1, c·max(‖θ‖_u, ε_agc)/max(‖g‖_u, 1e-6))          (AGC, c = agc_clipping_value)
        g ← g − mean over all axes but 0                              (centralization, ndim > 1)
        g ← g/(std(g) + 1e-8)                                         (normalization, > 2 entries)
        v ← β₂v + (1 − β₂)g²

    then, with N the number of entries of all parameters, S = 1 + Σ_all v/(1 − β₂ᵗ) and
    η_t the scheduled lr::

        θ ← θ·(1 − η_t·λ/√(S/N))                                      (stable weight decay)
        θ ← θ·(1 − η_t·2κ·(1 − 1/(‖θ‖_u + ε)))                        (norm loss, κ = norm_loss_factor)
        D = softplus_β(√v/√(1 − β₂ᵗ) + ε)                            (β = beta_softplus)
        g ← centralize and normalize g once more
        m_cur ← β₁²·m_cur + (1 − β₁²)·g    (m_cur, m_other: the two buffers, swapped every step)
        θ ← θ − η_t/(1 − β₁ᵗ) · (2·m_cur − m_other)/√((1 + β₂)² + β₂²) / D
        every k = lookahead_merge_time steps: θ ← α·θ + (1 − α)·θ_slow;  θ_slow ← θ

    Schedule (unless ``disable_lr_scheduler``): linear warm-up η_t = η·min(1, t/W) for t ≤ W,
    W = ⌈2/(1 − β₂)⌉, or ⌊0.22·num_iterations⌋ when that W exceeds 45 % of training; from
    t ≥ T_d = num_iterations − D_w (D_w = num_iterations − ⌊0.72·num_iterations⌋) the lr is
    η_t = max(η − (η − η_min)·min((t + 1 − T_d)/(D_w + 1), 1), η_min) with η the group's lr
    and η_min = ``warm_down_min_lr`` (pytorch_optimizer warms down from the constructor's lr:
    the same unless a group sets its own lr or the lr is changed after construction).

    Where pytorch_optimizer and the paper differ this class follows pytorch_optimizer (so its
    trajectories agree) and says so: the positive–negative momentum uses the coefficients
    (2, −1) and the normalizer √((1 + β₂)² + β₂²) (lessw2020/Ranger21 computes 1 + True = 2
    from a boolean flag; the paper's β₀ = 0.9 is pytorch_optimizer's ``beta0`` argument,
    which it never reads, so it is left out here); the AMSGrad maximum of the paper is a
    no-op in both codes (``torch.max(max_v, v, out=v)`` writes into v, and max_v stays 0), so
    the plain v is used; S starts at 1 (0 in lessw2020/Ranger21); the gradient is centralized
    and normalized twice; 3-D tensors take their unit norm over axis 1 only. The decoupled
    weight decay only (pytorch_optimizer's ``weight_decouple=False`` does nothing there) and
    no MADGRAD core. The gradient arrays are not changed (the reference rewrites ``p.grad``).
    """

    def __init__(self, params, num_iterations, lr=1e-3, betas=(0.9, 0.999), use_softplus=True,
                 beta_softplus=50.0, disable_lr_scheduler=False, num_warm_up_iterations=None,
                 num_warm_down_iterations=None, warm_down_min_lr=3e-5, agc_clipping_value=1e-2,
                 agc_eps=1e-3, centralize_gradients=True, normalize_gradients=True,
                 lookahead_merge_time=5, lookahead_blending_alpha=0.5, weight_decay=1e-4,
                 norm_loss_factor=1e-4, eps=1e-8):
        _check_adam_options("Ranger21", lr, betas, eps, weight_decay)
        if int(num_iterations) != num_iterations or num_iterations < 1:
            raise ValueError(f"Ranger21: num_iterations (the length of training, for its "
                             f"schedule) must be a positive integer, got {num_iterations}")
        for name, value in (("warm_down_min_lr", warm_down_min_lr),
                            ("agc_clipping_value", agc_clipping_value), ("agc_eps", agc_eps),
                            ("norm_loss_factor", norm_loss_factor),
                            ("beta_softplus", beta_softplus)):
            if value < 0:
                raise ValueError(f"Ranger21: {name} must be ≥ 0, got {value}")
        if int(lookahead_merge_time) != lookahead_merge_time or lookahead_merge_time < 1:
            raise ValueError(f"Ranger21: lookahead_merge_time must be a positive integer, got "
                             f"{lookahead_merge_time}")
        if not 0 <= lookahead_blending_alpha <= 1:
            raise ValueError(f"Ranger21: lookahead_blending_alpha must be in [0, 1], got "
                             f"{lookahead_blending_alpha}")
        if use_softplus and beta_softplus == 0:
            raise ValueError("Ranger21: beta_softplus must be > 0 with use_softplus=True")
        self.num_iterations = int(num_iterations)
        self.use_softplus, self.beta_softplus = bool(use_softplus), float(beta_softplus)
        self.disable_lr_scheduler = bool(disable_lr_scheduler)
        self.min_lr = warm_down_min_lr
        self.agc_clipping_value, self.agc_eps = agc_clipping_value, agc_eps
        self.centralize_gradients = bool(centralize_gradients)
        self.normalize_gradients = bool(normalize_gradients)
        self.lookahead_merge_time = int(lookahead_merge_time)
        self.lookahead_blending_alpha = lookahead_blending_alpha
        self.norm_loss_factor = norm_loss_factor
        if num_warm_up_iterations is None:
            w = math.ceil(2.0 / (1.0 - betas[1]))
            num_warm_up_iterations = (int(0.22 * num_iterations) if w / num_iterations > 0.45
                                      else w)
        if num_warm_down_iterations is None:
            num_warm_down_iterations = num_iterations - int(0.72 * num_iterations)
        self.num_warm_up_iterations = int(num_warm_up_iterations)
        self.num_warm_down_iterations = int(num_warm_down_iterations)
        self.start_warm_down = self.num_iterations - self.num_warm_down_iterations
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay))

    def _initial_global_state(self):
        return {"step": 0, "lookahead_step": 0}

    def scheduled_lr(self, lr, t):
        """The learning rate of step t for a group lr ``lr`` (warm-up, then warm-down)."""
        group_lr = lr
        if self.disable_lr_scheduler:
            return lr
        if t <= self.num_warm_up_iterations:
            lr = lr * min(1.0, t / self.num_warm_up_iterations)
        if t >= self.start_warm_down:
            pct = min(max(t + 1 - self.start_warm_down, 1) / (self.num_warm_down_iterations + 1),
                      1.0)
            lr = max(group_lr - (group_lr - self.min_lr) * pct, self.min_lr)
        return lr

    def _prepare(self, xp, g):
        if self.centralize_gradients:
            g = _centralize(xp, g)
        if self.normalize_gradients:
            g = _normalize(xp, g)
        return g

    def _step(self, closure=None):
        loss = _evaluate(closure)
        gs = self.global_state
        gs["step"] += 1
        t = gs["step"]
        pairs = self._params_with_grad()
        if not pairs:
            return loss
        size, total, grads = 0, 1.0, {}
        for group, p in pairs:
            x, state = p.data, self.state.setdefault(p, {})
            xp = backend_of_array(x).xp
            beta2 = group["betas"][1]
            if not state:
                state["grad_ma"] = xp.zeros_like(x)
                state["neg_grad_ma"] = xp.zeros_like(x)
                state["variance_ma"] = xp.zeros_like(x)
                state["lookahead_params"] = x.copy()
            g = p.grad.data
            max_norm = xp.maximum(unit_norm(xp, x), self.agc_eps) * self.agc_clipping_value
            g_norm = xp.maximum(unit_norm(xp, g), 1e-6)
            g = xp.where(g_norm > max_norm, g * (max_norm / g_norm), g)
            g = self._prepare(xp, g)
            grads[id(p)] = g
            v = state["variance_ma"]
            v *= beta2
            v += (1 - beta2) * (g * g)
            size += x.size
            total += float((v / (1 - beta2 ** t)).sum())
        variance_normalized = math.sqrt(total / size)
        with no_grad():
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                lr = self.scheduled_lr(group["lr"], t)
                noise_norm = math.sqrt((1 + beta2) ** 2 + beta2 ** 2)
                step_size = lr / (1 - beta1 ** t)
                for gr, p in pairs:
                    if gr is not group:
                        continue
                    x, state = p.data, self.state[p]
                    xp = backend_of_array(x).xp
                    if group["weight_decay"]:
                        x *= 1 - group["weight_decay"] * lr / variance_normalized
                    correction = (2 * self.norm_loss_factor) * (
                        1 - 1 / (unit_norm(xp, x) + group["eps"]))
                    x *= 1 - lr * correction
                    cur, other = ((state["grad_ma"], state["neg_grad_ma"]) if t % 2 == 1
                                  else (state["neg_grad_ma"], state["grad_ma"]))
                    denom = (xp.sqrt(state["variance_ma"]) / math.sqrt(1 - beta2 ** t)
                             + group["eps"])
                    if self.use_softplus:
                        denom = _softplus(xp, denom, self.beta_softplus)
                    g = self._prepare(xp, grads[id(p)])
                    cur *= beta1 ** 2
                    cur += (1 - beta1 ** 2) * g
                    x -= step_size * ((2 * cur - other) / noise_norm / denom)
                    p._version += 1
            gs["lookahead_step"] += 1
            if gs["lookahead_step"] >= self.lookahead_merge_time:
                gs["lookahead_step"] = 0
                alpha = self.lookahead_blending_alpha
                for _, p in pairs:
                    slow = self.state[p]["lookahead_params"]
                    p.data *= alpha
                    p.data += (1 - alpha) * slow
                    slow[...] = p.data
        return loss


register(Ranger21, name="ranger21", kind="optimizer", check="state", catalog_id="O036",
         papers=["Ranger21: a synergistic deep learning optimizer"])
