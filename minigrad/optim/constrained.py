"""Constrained learning: the augmented-Lagrangian constraint handling of SCONE/WOODS (O073)
and Feasible Learning's primal–dual per-sample constraints (O074).

Both keep their dual variables (Lagrange multipliers, penalty coefficients) as optimizer
state outside the tape, following the conventions of the Cooper library (constraints written
``c(θ) ≤ 0``; a negative value means satisfied): the multipliers are never autograd
parameters, only constants that weight differentiable constraint values."""
from minigrad.autograd import enable_grad, no_grad
from minigrad.backends import backend_of_array, to_numpy
from minigrad.optim.optimizer import Optimizer
from minigrad.registry import register
from minigrad.tensor import Tensor


def _scalar(value, who):
    """A constraint value as a Python float (a 0-d / 1-element tensor or array, or a number)."""
    if isinstance(value, Tensor):
        value = value.data
    if hasattr(value, "shape"):
        if int(getattr(value, "size", 1)) != 1:
            raise ValueError(f"{who}: a constraint value must be a scalar, got shape "
                             f"{tuple(value.shape)}")
        value = to_numpy(value).reshape(())
    return float(value)


class AugmentedLagrangian:
    """Augmented-Lagrangian handling of inequality constraints c_k(θ) ≤ 0, as in SCONE and
    WOODS (deeplearning-wisc/scone, CIFAR/train.py: the ``scone``/``woods`` branches of
    ``train`` and the multiplier/penalty updates after each epoch).

    Paper: Bai, Canal, Du, Kwon, Nowak & Li 2023, "Feed Two Birds with One Scone: Exploiting
    Wild Data for Both Out-of-Distribution Generalization and Detection" (the constrained
    problem is solved with this augmented Lagrangian; WOODS, Katz-Samuels et al. 2022, "Training
    OOD Detectors in their Natural Habitats", uses the same scheme and code).

    For each constraint k, with multiplier λ_k and penalty coefficient ρ_k, the term added to
    the minibatch objective is (``penalty``)::

        ψ(c; λ, ρ) = λ·c + (ρ/2)·c²       if ρ·c + λ ≥ 0
                   = −λ² / (2ρ)            otherwise

    (continuous with a continuous derivative λ + ρc → 0 at the switch: C¹ in c), and θ is
    trained by any optimizer on objective + Σ_k ψ(c_k). After each epoch (``update``), with
    c_k the constraint evaluated over the whole training set::

        λ_k ← λ_k + η_λ·c_k            if c_k·ρ_k + λ_k ≥ 0
        λ_k ← λ_k − η_λ·λ_k / ρ_k      otherwise
        ρ_k ← ρ_k·mult                 if c_k > tol      (after the λ update, which uses the old ρ)

    The λ step is the reference code's (the gradient of ψ in λ times η_λ), not the textbook
    λ ← max(0, λ + ρc); with η_λ = ρ = 1 the two agree. SCONE's constraints are the in-
    distribution false-alarm rate mean σ(logistic(LSE(z_in))) − α_FA ≤ 0 (α_FA = 0.05) and
    CE − ce_tol·CE_ref ≤ 0 (ce_tol = 2); those values are the caller's, any differentiable
    scalar works.

    Arguments (defaults of SCONE's ``train.py``; Cooper's names in brackets):
        num_constraints=1
        dual_lr=1.0                 η_λ (``--lr_lam``)
        penalty_coefficient=1.0     initial ρ_k, a number or one per constraint
                                    (``--in_constraint_weight``, ``--ce_constraint_weight``)
        penalty_growth_factor=1.5   mult (``--penalty_mult``; Cooper's multiplicative updater)
        violation_tolerance=0.0     tol (``--constraint_tol``)
        init_multiplier=0.0         initial λ_k (SCONE: ``lam = lam2 = 0``)

    ``lagrangian(objective, violations)`` = objective + Σ_k ψ(c_k). Multipliers and penalty
    coefficients are Python floats (``multipliers``, ``penalty_coefficients``); ``state_dict``
    round-trips them exactly through ``minigrad.save``.
    """

    def __init__(self, num_constraints=1, dual_lr=1.0, penalty_coefficient=1.0,
                 penalty_growth_factor=1.5, violation_tolerance=0.0, init_multiplier=0.0):
        if int(num_constraints) != num_constraints or num_constraints < 1:
            raise ValueError(f"AugmentedLagrangian: num_constraints must be a positive integer, "
                             f"got {num_constraints}")
        self.num_constraints = int(num_constraints)
        if not dual_lr > 0:
            raise ValueError(f"AugmentedLagrangian: dual_lr must be > 0, got {dual_lr}")
        if not penalty_growth_factor >= 1:
            raise ValueError(f"AugmentedLagrangian: penalty_growth_factor must be ≥ 1, got "
                             f"{penalty_growth_factor}")
        rho = list(penalty_coefficient) if hasattr(penalty_coefficient, "__len__") else \
            [penalty_coefficient] * self.num_constraints
        if len(rho) != self.num_constraints or not all(r > 0 for r in rho):
            raise ValueError(f"AugmentedLagrangian: penalty_coefficient must be > 0, one number "
                             f"or {self.num_constraints}, got {penalty_coefficient}")
        self.dual_lr = float(dual_lr)
        self.penalty_growth_factor = float(penalty_growth_factor)
        self.violation_tolerance = float(violation_tolerance)
        self.penalty_coefficients = [float(r) for r in rho]
        self.multipliers = [float(init_multiplier)] * self.num_constraints

    def _index(self, index):
        if not 0 <= index < self.num_constraints:
            raise IndexError(f"AugmentedLagrangian: constraint {index} out of range "
                             f"(num_constraints={self.num_constraints})")
        return index

    def penalty(self, violation, index=0):
        """ψ(c) for constraint ``index``: a differentiable scalar tensor (``violation`` is a
        scalar tensor c(θ) with its graph)."""
        lam, rho = self.multipliers[self._index(index)], self.penalty_coefficients[index]
        if not isinstance(violation, Tensor) or violation.numel() != 1:
            raise ValueError("AugmentedLagrangian.penalty: the violation must be a scalar tensor")
        c = _scalar(violation, "AugmentedLagrangian.penalty")
        if rho * c + lam >= 0:
            return violation * lam + (rho / 2) * (violation * violation)
        return violation * 0.0 + (-lam * lam / (2 * rho))

    def lagrangian(self, objective, violations):
        """objective + Σ_k ψ(c_k) (``violations``: one scalar tensor per constraint)."""
        violations = list(violations)
        if len(violations) != self.num_constraints:
            raise ValueError(f"AugmentedLagrangian.lagrangian: {len(violations)} violations for "
                             f"{self.num_constraints} constraints")
        total = objective
        for k, c in enumerate(violations):
            total = total + self.penalty(c, k)
        return total

    def update(self, violations):
        """The end-of-epoch dual step, from each constraint's value over the training set."""
        values = [_scalar(v, "AugmentedLagrangian.update") for v in
                  (violations if isinstance(violations, (list, tuple)) else [violations])]
        if len(values) != self.num_constraints:
            raise ValueError(f"AugmentedLagrangian.update: {len(values)} values for "
                             f"{self.num_constraints} constraints")
        for k, c in enumerate(values):
            lam, rho = self.multipliers[k], self.penalty_coefficients[k]
            if c * rho + lam >= 0:
                self.multipliers[k] = lam + self.dual_lr * c
            else:
                self.multipliers[k] = lam - self.dual_lr * lam / rho
            if c > self.violation_tolerance:
                self.penalty_coefficients[k] = rho * self.penalty_growth_factor

    def state_dict(self):
        return {"multipliers": list(self.multipliers),
                "penalty_coefficients": list(self.penalty_coefficients)}

    def load_state_dict(self, state):
        for name in ("multipliers", "penalty_coefficients"):
            values = [float(v) for v in state[name]]
            if len(values) != self.num_constraints:
                raise ValueError(f"AugmentedLagrangian.load_state_dict: {name} has "
                                 f"{len(values)} entries, expected {self.num_constraints}")
            setattr(self, name, values)


class FeasibleLearning:
    """Feasible Learning: every training example's loss is a constraint ℓ_i(θ) ≤ ε, solved by
    stochastic alternating dual–primal updates on the Lagrangian.

    Paper: Ramirez, Hounie, Elenter, Gallego-Posada, Hashemizadeh, Ribeiro & Lacoste-Julien
    2025, "Feasible Learning" (the stochastic primal–dual algorithm). The official code
    (juan43ramirez/feasible-learning, ``src/cmps/feasibility.py`` ``FeasibilityProblem``,
    ``configs/task.py``) uses Cooper's Lagrangian formulation with an ``IndexedMultiplier``
    (one λ_i per example, init 0, kept ≥ 0), the ``AlternatingDualPrimalOptimizer`` and the
    ``nuPI`` dual optimizer with its default gains (κ_p = 0, κ_i = 1), which is plain
    projected gradient ascent (an earlier config: dual SGD, lr 1e-2); this class is that
    loop. Per minibatch B of example ids::

        ℓ_i = ℓ_i(θ)                                      i ∈ B  (one forward)
        λ_i ← max(0, λ_i + η_λ·(ℓ_i − ε))                 dual step first, batch entries only
        θ   ← primal step on ∇_θ Σ_{i∈B} λ_i·(ℓ_i(θ) − ε)  (λ constant: a per-sample reweighting)

    The Lagrangian sums over the batch (Cooper's ⟨λ, g⟩), it does not average. There is no
    objective term: FL's objective is the constant 0. The dual step comes first, so even from
    λ = 0 an example whose loss exceeds ε already weighs η_λ·(ℓ_i − ε) in the first primal step.

    Resilient FL (``alpha`` given): slacks u_i ≥ 0 with cost (α/2)‖u‖² relax the constraints
    to ℓ_i ≤ ε + u_i; minimizing the Lagrangian over u gives u_i = λ_i/α, so the dual step
    becomes λ_i ← max(0, λ_i + η_λ·(ℓ_i − ε − λ_i/α)) and the primal step is unchanged
    (derived from the relaxed Lagrangian; the code's ``scripts/rfl_ablation`` runs RFL as a
    dual weight decay of 1/α, the same update).

    ``FeasibleLearning(primal_optimizer, num_samples, epsilon=0.0, dual_lr=1e-2, alpha=None,
    init_multiplier=0.0)`` wraps any minigrad optimizer of the model's parameters (like
    Cooper's constrained optimizers). ``step(closure, indices)``: ``closure()`` runs the
    forward and returns the per-sample losses (a 1-D tensor, unreduced, one per id in
    ``indices``; no backward — ``step`` builds the Lagrangian and runs backward itself), and
    ``step`` returns them.
    ``multipliers`` holds λ (one per training example, in the first parameter's dtype and
    backend). It is not an ``Optimizer`` over ``params``: it needs per-sample losses and
    example ids, which a plain mean-loss closure does not give.
    """

    def __init__(self, primal_optimizer, num_samples, epsilon=0.0, dual_lr=1e-2, alpha=None,
                 init_multiplier=0.0):
        if not isinstance(primal_optimizer, Optimizer):
            raise TypeError(f"FeasibleLearning: primal_optimizer must be a minigrad Optimizer, "
                            f"got {type(primal_optimizer).__name__}")
        if int(num_samples) != num_samples or num_samples < 1:
            raise ValueError(f"FeasibleLearning: num_samples must be a positive integer, got "
                             f"{num_samples}")
        if not dual_lr > 0:
            raise ValueError(f"FeasibleLearning: dual_lr must be > 0, got {dual_lr}")
        if alpha is not None and not alpha > 0:
            raise ValueError(f"FeasibleLearning: alpha (resilient relaxation cost) must be > 0 "
                             f"or None, got {alpha}")
        if not init_multiplier >= 0:
            raise ValueError(f"FeasibleLearning: init_multiplier must be ≥ 0, got "
                             f"{init_multiplier}")
        self.primal_optimizer = primal_optimizer
        self.num_samples = int(num_samples)
        self.epsilon = float(epsilon)
        self.dual_lr = float(dual_lr)
        self.alpha = None if alpha is None else float(alpha)
        p = primal_optimizer.param_groups[0]["params"][0].data
        xp = backend_of_array(p).xp
        self.multipliers = xp.full((self.num_samples,), float(init_multiplier), dtype=p.dtype)

    def _ids(self, indices, n):
        xp = backend_of_array(self.multipliers).xp
        ids = indices.data if isinstance(indices, Tensor) else indices
        ids = to_numpy(ids if hasattr(ids, "shape") else xp.asarray(ids)).reshape(-1)
        if ids.dtype.kind not in "iu":
            raise TypeError(f"FeasibleLearning.step: indices must be integers, got {ids.dtype}")
        if ids.size != n:
            raise ValueError(f"FeasibleLearning.step: {ids.size} indices for {n} per-sample "
                             "losses")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_samples):
            raise IndexError(f"FeasibleLearning.step: indices must lie in [0, "
                             f"{self.num_samples}), got [{ids.min()}, {ids.max()}]")
        if len(set(ids.tolist())) != ids.size:
            raise ValueError("FeasibleLearning.step: repeated example ids in one batch")
        return xp.asarray(ids)

    def step(self, closure, indices):
        """One dual step on the batch's multipliers, then one primal step."""
        self.primal_optimizer.zero_grad()
        with enable_grad():
            losses = closure()
        if not isinstance(losses, Tensor) or losses.ndim != 1:
            raise ValueError("FeasibleLearning.step: the closure must return the per-sample "
                             "losses as a 1-D tensor (reduction='none')")
        ids = self._ids(indices, losses.shape[0])
        with no_grad():
            lam = self.multipliers[ids]
            grad = losses.data.astype(lam.dtype) - self.epsilon
            if self.alpha is not None:
                grad = grad - lam / self.alpha
            xp = backend_of_array(lam).xp
            self.multipliers[ids] = xp.maximum(lam + self.dual_lr * grad, 0)
            weights = Tensor._wrap(self.multipliers[ids].astype(losses.data.dtype))
        with enable_grad():
            lagrangian = (weights * (losses - self.epsilon)).sum()
            lagrangian.backward()
        self.primal_optimizer.step()
        return losses

    def state_dict(self):
        return {"multipliers": Tensor._wrap(self.multipliers.copy()),
                "primal_optimizer": self.primal_optimizer.state_dict()}

    def load_state_dict(self, state):
        saved = state["multipliers"]
        saved = saved.data if isinstance(saved, Tensor) else saved
        if tuple(saved.shape) != (self.num_samples,):
            raise ValueError(f"FeasibleLearning.load_state_dict: multipliers of shape "
                             f"{tuple(saved.shape)}, expected ({self.num_samples},)")
        self.multipliers[...] = backend_of_array(self.multipliers).asarray(
            to_numpy(saved)).astype(self.multipliers.dtype)
        self.primal_optimizer.load_state_dict(state["primal_optimizer"])


register(AugmentedLagrangian, name="augmented_lagrangian", kind="optimizer", check="state",
         catalog_id="O073",
         papers=["Feed Two Birds with One Scone: Exploiting Wild Data for Both "
                 "Out-of-Distribution Generalization and Detection"])
register(FeasibleLearning, name="feasible_learning", kind="optimizer", check="state",
         catalog_id="O074", papers=["Feasible Learning"])
