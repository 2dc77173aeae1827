"""Online / block-wise first-order methods: optimistic online mirror descent (Euclidean) and
greedy block coordinate descent (Gauss–Southwell rules)."""
import math

from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array, to_numpy
from minigrad.optim.optimizer import Optimizer, _evaluate
from minigrad.registry import register


def _sq_norm(arrays):
    """Σ‖a‖² over arrays, as a Python float summed in float64 (host)."""
    return sum(float((to_numpy(a).astype("float64") ** 2).sum()) for a in arrays)


class OptimisticOMD(Optimizer):
    """Optimistic online mirror descent with the Euclidean regularizer (optimistic gradient).

    Paper: Chen, Zhang, Tu, Zhao & Zhang 2024, "Optimistic Online Mirror Descent for Bridging
    Stochastic and Adversarial Online Convex Optimization" (ICML 2023 / JMLR 2024).

    ``OptimisticOMD(params, lr=1e-2, adaptive=False, delta=1.0, radius=None)``. Per round t,
    with ψ = ½‖·‖² (Bregman divergence ½‖x − y‖²), X the ball ‖x‖ ≤ R over all parameters
    together (``radius=R``; ℝ^d when None) and Π_X the Euclidean projection onto it::

        x_t     = Π_X(x̂_t − η_t·M_t)             the point played (the parameters)
        g_t     = ∇f_t(x_t)                       observed (``.grad`` at step t)
        x̂_{t+1} = Π_X(x̂_t − η_t·g_t)              the secondary iterate
        M_{t+1} = g_t                             hint: the last gradient

    starting from x̂_1 = x_1 (the initial parameters) and M_1 = 0. Unconstrained with a fixed
    η this is x_{t+1} = x_t − η·(2g_t − g_{t−1}) (the optimistic gradient / past extra-
    gradient step). η_t = ``lr`` when ``adaptive=False``; with ``adaptive=True``
    η_t = lr/√(δ + Σ_{s<t}‖g_s − M_s‖²) (``lr`` plays the diameter D, δ = ``delta``): the
    gradient-variation tuning of the catalog row; the paper's theorems may also cap η_t by
    a smoothness constant (not added here). One ``step()`` = observe g_t, then move to
    x_{t+1}: x̂ and M are kept per parameter, η's accumulator and t for the optimizer.
    """

    def __init__(self, params, lr=1e-2, adaptive=False, delta=1.0, radius=None):
        if not lr > 0:
            raise ValueError(f"OptimisticOMD: lr must be > 0, got {lr}")
        if not delta > 0:
            raise ValueError(f"OptimisticOMD: delta must be > 0, got {delta}")
        if radius is not None and not radius > 0:
            raise ValueError(f"OptimisticOMD: radius must be None or > 0, got {radius}")
        super().__init__(params, dict(lr=lr))
        self.adaptive, self.delta, self.radius = adaptive, delta, radius
        self.variation = 0.0     # Σ_{s<t} ‖g_s − M_s‖²
        self.t = 1

    def _eta(self):
        scale = 1.0 / math.sqrt(self.delta + self.variation) if self.adaptive else 1.0
        return [group["lr"] * scale for group in self.param_groups]

    def _projection_scale(self, arrays):
        """The factor Π_X multiplies ``arrays`` (all parameters together) by (X a ball)."""
        if self.radius is None:
            return 1.0
        norm = math.sqrt(_sq_norm(arrays))
        return self.radius / norm if norm > self.radius else 1.0

    def _step(self, closure=None):
        loss = _evaluate(closure)
        pairs = self._params_with_grad()
        if not pairs:
            return loss
        index = {id(g): i for i, g in enumerate(self.param_groups)}
        eta_t = self._eta()
        with no_grad():
            hats, hints = [], []
            for group, p in pairs:
                state = self.state.setdefault(p, {})
                if "x_hat" not in state:                  # x̂_1 = x_1, M_1 = 0
                    state["x_hat"] = p.data.copy()
                    state["hint"] = backend_of_array(p.data).xp.zeros_like(p.data)
                hats.append(state["x_hat"])
                hints.append(state["hint"])
            grads = [p.grad.data for _, p in pairs]
            self.variation += _sq_norm([g - m for g, m in zip(grads, hints)])
            for (group, p), x_hat, g in zip(pairs, hats, grads):
                x_hat -= eta_t[index[id(group)]] * g
            scale = self._projection_scale(hats)
            if scale != 1.0:
                for x_hat in hats:
                    x_hat *= scale
            for (group, p), hint, g in zip(pairs, hints, grads):
                hint[...] = g
            self.t += 1
            eta_next = self._eta()
            played = [x_hat - eta_next[index[id(group)]] * hint
                      for (group, p), x_hat, hint in zip(pairs, hats, hints)]
            scale = self._projection_scale(played)
            for (_, p), x in zip(pairs, played):
                p.data[...] = x * scale if scale != 1.0 else x
                p._version += 1
        return loss

    def state_dict(self):
        state = super().state_dict()
        state["online"] = dict(t=self.t, variation=self.variation, adaptive=self.adaptive,
                               delta=self.delta, radius=self.radius)
        return state

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for key, value in state_dict.get("online", {}).items():
            setattr(self, key, value)


class GreedyBCD(Optimizer):
    """Block coordinate descent with greedy Gauss–Southwell block selection (GS, GSL).

    Paper: Nutini, Laradji & Schmidt 2022, "Let's Make Block Coordinate Descent Converge
    Faster: Faster Greedy Rules, Message-Passing, Active-Set Complexity, and Superlinear
    Convergence". Transcribed from the official code, IssamLaradji/BlockCoordinateDescent
    (``src/selection_rules/FB_selection_rules.py``, fixed blocks: ``GS``, ``GSL``;
    ``src/update_rules/update_rules.py``: ``Lb``).

    ``GreedyBCD(params, rule="gsl", lipschitz=1.0, blocks="groups", norm=1)``. Blocks are
    the parameter groups (``blocks="groups"``: all parameters of a group form one block) or
    the single parameter tensors (``blocks="params"``); block b has the Lipschitz constant
    L_b of ∇_b f (``lipschitz``, a group option). Each step updates one block::

        GS:   b = argmax_b ‖∇_b f(x)‖                 (ties: the lowest index)
        GSL:  b = argmax_b ‖∇_b f(x)‖/√L_b            (= argmax ‖∇_b f‖²/L_b for the 2-norm)
        x_b ← x_b − (1/L_b)·∇_b f(x)                  the other blocks do not move

    ``norm=1`` scores a block by Σ|∇_b f| as the official code does; ``norm=2`` by the
    Euclidean norm. The paper's other options (GSD/GSQ rules, variable blocks, matrix/Newton
    updates by message passing, proximal GS-q/GS-r rules) are not implemented. Blocks without
    a gradient are not candidates. ``selected`` is the index of the last block updated.
    """

    RULES = ("gs", "gsl")

    def __init__(self, params, rule="gsl", lipschitz=1.0, blocks="groups", norm=1):
        if rule not in self.RULES:
            raise ValueError(f"GreedyBCD: rule must be one of {self.RULES}, got {rule!r}")
        if blocks not in ("groups", "params"):
            raise ValueError(f"GreedyBCD: blocks must be 'groups' or 'params', got {blocks!r}")
        if norm not in (1, 2):
            raise ValueError(f"GreedyBCD: norm must be 1 or 2, got {norm!r}")
        if not lipschitz > 0:
            raise ValueError(f"GreedyBCD: lipschitz (L_b) must be > 0, got {lipschitz}")
        super().__init__(params, dict(lipschitz=lipschitz))
        for group in self.param_groups:
            if not group["lipschitz"] > 0:
                raise ValueError(f"GreedyBCD: lipschitz (L_b) must be > 0, got "
                                 f"{group['lipschitz']}")
        self.rule, self.blocks, self.norm = rule, blocks, norm
        self.selected = None

    def _block_list(self):
        """[(L_b, [parameters])] in order."""
        if self.blocks == "groups":
            return [(g["lipschitz"], list(g["params"])) for g in self.param_groups]
        return [(g["lipschitz"], [p]) for g in self.param_groups for p in g["params"]]

    def _score(self, params, lipschitz):
        total = 0.0
        for p in params:
            g = to_numpy(p.grad.data).astype("float64")
            total += float(abs(g).sum()) if self.norm == 1 else float((g * g).sum())
        score = total if self.norm == 1 else math.sqrt(total)
        return score / math.sqrt(lipschitz) if self.rule == "gsl" else score

    def _step(self, closure=None):
        loss = _evaluate(closure)
        best, best_score = None, -1.0
        blocks = self._block_list()
        for i, (lipschitz, params) in enumerate(blocks):
            params = [p for p in params if p.grad is not None and p.requires_grad]
            if not params:
                continue
            score = self._score(params, lipschitz)
            if score > best_score:   # strict: the lowest index wins a tie
                best, best_score = i, score
        if best is None:
            return loss
        lipschitz, params = blocks[best]
        with no_grad():
            for p in params:
                if p.grad is not None and p.requires_grad:
                    p.data -= (1.0 / lipschitz) * p.grad.data
                    p._version += 1
        self.selected = best
        return loss

    def state_dict(self):
        state = super().state_dict()
        state["bcd"] = dict(rule=self.rule, blocks=self.blocks, norm=self.norm,
                            selected=self.selected)
        return state

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for key, value in state_dict.get("bcd", {}).items():
            setattr(self, key, value)


register(OptimisticOMD, name="optimistic_omd", kind="optimizer", check="state",
         catalog_id="O064",
         papers=["Optimistic Online Mirror Descent for Bridging Stochastic and Adversarial "
                 "Online Convex Optimization"])
register(GreedyBCD, name="greedy_bcd", kind="optimizer", check="state", catalog_id="O066",
         papers=["Let's Make Block Coordinate Descent Converge Faster: Faster Greedy Rules, "
                 "Message-Passing, Active-Set Complexity, and Superlinear Convergence"])
