"""Learning-rate schedules (PyTorch's ``torch.optim.lr_scheduler`` names and conventions).

A scheduler sets ``group["lr"]`` of every parameter group of its optimizer. It is built after
the optimizer, sets the step-0 learning rate at once, and ``scheduler.step()`` is called after
``optimizer.step()`` (per epoch or per iteration: t counts whatever you step). Every schedule
is a closed form of t and the group's initial learning rate (``group["initial_lr"]``, the
``lr`` it had when the first scheduler was attached), never a recursion on the current lr, so
``step(t)`` may jump, t may be fractional, and an lr changed by hand does not drift into the
schedule.

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = LinearWarmup(opt, warmup_steps=5, after=CosineAnnealingLR(opt, T_max=95))
    for epoch in range(100):
        train_one_epoch(opt)
        sched.step()
"""
import bisect
import math

from minigrad.optim.adam import _LAMB
from minigrad.optim.sgd import _LARGE_BATCH
from minigrad.registry import register


class LRScheduler:
    """Base class: subclasses give ``_lr(t, base_lr)`` (or ``lrs_at(t)`` for all groups)."""

    def __init__(self, optimizer, last_epoch=-1):
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"{type(self).__name__}: resuming at last_epoch={last_epoch} needs "
                               "'initial_lr' in every parameter group (load the optimizer's state "
                               "dict first)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def _lr(self, t, base_lr):
        raise NotImplementedError(f"{type(self).__name__} does not define _lr()")

    def lrs_at(self, t):
        """The learning rate of every group at step ``t`` (the closed form)."""
        return [self._lr(t, base) for base in self.base_lrs]

    def get_lr(self):
        return self.lrs_at(self.last_epoch)

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per group."""
        return list(self._last_lr)

    def step(self, epoch=None):
        """Advance to step ``last_epoch + 1`` (or to ``epoch``, which may be fractional)
        and write the new learning rates into the optimizer."""
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        self._last_lr = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def state_dict(self):
        """Every setting and the step counter (plain numbers and lists), not the optimizer."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Step decay: η_t = η₀·γ^⌊t / step_size⌋ (ResNet, WRN, RiFT two-stage schedules).

    Primitive schedule (no introducing paper).
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def _lr(self, t, base_lr):
        return base_lr * self.gamma ** (t // self.step_size)


class MultiStepLR(LRScheduler):
    """Multi-step decay: η_t = η₀·γ^(number of milestones ≤ t); the step that reaches a
    milestone already uses the new rate (ResNet-CIFAR ×0.1 at 32k and 48k iterations; WRN ×0.2
    at epochs 60, 120, 160).

    Primitive schedule (no introducing paper).
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def _lr(self, t, base_lr):
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, t)


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing (Loshchilov & Hutter, SGDR, without restarts):
    η_t = η_min + (η₀ − η_min)·(1 + cos(πt / T_max))/2.

    The closed form (PyTorch's recursive update drifts when the lr is changed by hand); past
    T_max it continues the cosine, as PyTorch's closed form does.

    Paper: Loshchilov & Hutter 2017, "SGDR: Stochastic Gradient Descent with Warm Restarts".
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def _lr(self, t, base_lr):
        cosine = (1 + math.cos(math.pi * t / self.T_max)) / 2
        return self.eta_min + (base_lr - self.eta_min) * cosine


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR, cosine annealing with warm restarts (Loshchilov & Hutter 2017; with AdamW it is
    AdamWR, "Decoupled Weight Decay Regularization").

        η_t = η_min + (η₀ − η_min)·(1 + cos(π·T_cur / T_i))/2

    T_cur counts the epochs since the last restart and returns to 0 when it reaches T_i, then
    T_i ← T_i·T_mult (T_0 first). Step per batch with ``step(epoch + i / n_batches)``: T_cur is
    then fractional.

    Paper: Loshchilov & Hutter 2017, "SGDR: Stochastic Gradient Descent with Warm Restarts".
    """

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        if T_0 <= 0 or int(T_mult) != T_mult or T_mult < 1:
            raise ValueError(f"CosineAnnealingWarmRestarts: T_0 must be > 0 and T_mult an integer "
                             f"≥ 1, got T_0={T_0}, T_mult={T_mult}")
        self.T_0, self.T_mult, self.eta_min = T_0, int(T_mult), eta_min
        super().__init__(optimizer, last_epoch)

    def cycle_position(self, t):
        """(T_cur, T_i): where epoch ``t`` falls in its cycle, and that cycle's length."""
        if self.T_mult == 1:
            return t % self.T_0, self.T_0
        t_cur, t_i = t, self.T_0
        while t_cur >= t_i:
            t_cur, t_i = t_cur - t_i, t_i * self.T_mult
        return t_cur, t_i

    def _lr(self, t, base_lr):
        t_cur, t_i = self.cycle_position(t)
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


class LinearLR(LRScheduler):
    """Linear ramp of the lr factor (PyTorch's LinearLR): η_t = η₀·(s + (e − s)·min(t, T)/T),
    s = ``start_factor``, e = ``end_factor``, T = ``total_iters``.

    Primitive schedule (no introducing paper).
    """

    def __init__(self, optimizer, start_factor=1 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if total_iters <= 0:
            raise ValueError(f"{type(self).__name__}: total_iters must be > 0, got {total_iters}")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def _lr(self, t, base_lr):
        frac = min(t, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)


class LinearWarmup(LinearLR):
    """Linear warm-up, then hand over to another schedule (LARS: 5 epochs; LAMB/BERT: warm-up
    then linear decay; the Large Batch Reality Check: warm-up then cosine or polynomial decay).

        η_t = η₀·(s + (1 − s)·t / T_w)     for t < T_w      (s = ``start_factor``)
        η_t = after's η at t − T_w          for t ≥ T_w      (η₀ without ``after``)

    Off-by-one convention: the first step (t = 0) uses s·η₀, which is 0 by default (as
    HuggingFace's ``get_linear_schedule_with_warmup``); η₀ is reached at t = T_w.
    ``after`` is a scheduler built on the same optimizer beforehand; this one drives it.

    Paper: Goyal et al. 2017, "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour".
    """

    def __init__(self, optimizer, warmup_steps, start_factor=0.0, after=None, last_epoch=-1):
        if after is not None and after.optimizer is not optimizer:
            raise ValueError("LinearWarmup: `after` must schedule the same optimizer")
        self.after = after
        super().__init__(optimizer, start_factor, 1.0, warmup_steps, last_epoch)

    def lrs_at(self, t):
        if self.after is not None and t >= self.total_iters:
            return self.after.lrs_at(t - self.total_iters)
        return super().lrs_at(t)

    def state_dict(self):
        state = super().state_dict()
        if self.after is not None:
            state["after"] = self.after.state_dict()
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        after = state_dict.pop("after", None)
        super().load_state_dict(state_dict)
        if after is not None:
            self.after.load_state_dict(after)


class PolynomialLR(LRScheduler):
    """Polynomial decay: η_t = (η₀ − η_min)·(1 − min(t, T)/T)^p + η_min (p = 1: linear decay,
    BERT/LAMB after warm-up; p = 2: the LARS ImageNet recipe). PyTorch's PolynomialLR is
    ``eta_min=0``.

    Paper: Chen, Papandreou, Kokkinos, Murphy & Yuille 2018, "DeepLab: Semantic Image
    Segmentation with Deep Convolutional Nets, Atrous Convolution, and Fully Connected CRFs".
    """

    def __init__(self, optimizer, total_iters=5, power=1.0, eta_min=0.0, last_epoch=-1):
        self.total_iters, self.power, self.eta_min = total_iters, power, eta_min
        super().__init__(optimizer, last_epoch)

    def _lr(self, t, base_lr):
        frac = min(t, self.total_iters) / self.total_iters
        return (base_lr - self.eta_min) * (1 - frac) ** self.power + self.eta_min


class ExponentialLR(LRScheduler):
    """Exponential decay with a constant ending (BigNAS: ×0.97 every 2.4 epochs until 5% of η₀).

        η_t = η₀·max(γ^(t/k), f)      smooth;  γ^⌊t/k⌋ with ``staircase=True``

    k = ``decay_steps``, f = ``min_factor`` (the floor; 0.05 for BigNAS). With k = 1 and f = 0
    it is PyTorch's ExponentialLR.

    Primitive schedule (no introducing paper).
    """

    def __init__(self, optimizer, gamma, decay_steps=1, staircase=False, min_factor=0.0,
                 last_epoch=-1):
        self.gamma, self.decay_steps = gamma, decay_steps
        self.staircase, self.min_factor = staircase, min_factor
        super().__init__(optimizer, last_epoch)

    def _lr(self, t, base_lr):
        exponent = t // self.decay_steps if self.staircase else t / self.decay_steps
        return base_lr * max(self.gamma ** exponent, self.min_factor)


class OneCycleLR(LRScheduler):
    """1cycle learning rate with cyclical momentum (Smith 2018, "A disciplined approach to neural
    network hyper-parameters: Part 1"), PyTorch's OneCycleLR. Step it every batch.

    The lr rises from max_lr/div_factor to max_lr over the first ``pct_start`` of the steps,
    then falls to max_lr/(div_factor·final_div_factor); momentum (β₁ for Adam-like optimizers)
    moves the opposite way between max_momentum and base_momentum. With ``three_phase=True``
    the lr falls back to max_lr/div_factor over as many steps as it rose, then anneals to the
    minimum, while momentum stays at max_momentum. Phase boundaries (PyTorch's): the rise ends
    at step pct·T − 1, the fall at T − 1 (three phases: 2·pct·T − 2 and T − 1). The paper's
    schedule is ``anneal_strategy="linear", three_phase=True``; the defaults are PyTorch's
    (cosine, two phases).
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            total_steps = epochs * steps_per_epoch
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        n = len(optimizer.param_groups)
        max_lrs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * n
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        self.max_lrs = max_lrs
        self.initial_lrs = [m / div_factor for m in max_lrs]
        self.min_lrs = [m / div_factor / final_div_factor for m in max_lrs]
        self.cycle_momentum = cycle_momentum
        self.base_momentum, self.max_momentum = base_momentum, max_momentum
        if cycle_momentum and not {"momentum", "betas"} & set(optimizer.defaults):
            raise ValueError("OneCycleLR: cycle_momentum needs an optimizer with a 'momentum' or "
                             "'betas' option")
        self.use_beta1 = "betas" in optimizer.defaults
        rise = float(pct_start * total_steps) - 1
        if three_phase:
            self.phase_ends = [rise, 2 * rise, total_steps - 1]
            self.phase_lrs = [("initial", "max"), ("max", "initial"), ("initial", "min")]
            self.phase_momenta = [("max", "base"), ("base", "max"), ("max", "max")]
        else:
            self.phase_ends = [rise, total_steps - 1]
            self.phase_lrs = [("initial", "max"), ("max", "min")]
            self.phase_momenta = [("max", "base"), ("base", "max")]
        for group, initial in zip(optimizer.param_groups, self.initial_lrs):
            group["initial_lr"] = initial
        super().__init__(optimizer, last_epoch)

    def _phase(self, t):
        """(phase index, fraction of it done) at step ``t``."""
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {t} times, but total_steps is "
                             f"{self.total_steps}")
        start = 0
        for i, end in enumerate(self.phase_ends):
            if t <= end or i == len(self.phase_ends) - 1:
                return i, (t - start) / (end - start)
            start = end

    def _anneal(self, start, end, frac):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2 * (math.cos(math.pi * frac) + 1)
        return start + (end - start) * frac

    def lrs_at(self, t):
        i, frac = self._phase(t)
        a, b = self.phase_lrs[i]
        levels = {"initial": self.initial_lrs, "max": self.max_lrs, "min": self.min_lrs}
        return [self._anneal(levels[a][g], levels[b][g], frac) for g in range(len(self.max_lrs))]

    def momentum_at(self, t):
        i, frac = self._phase(t)
        a, b = self.phase_momenta[i]
        levels = {"max": self.max_momentum, "base": self.base_momentum}
        return self._anneal(levels[a], levels[b], frac)

    def step(self, epoch=None):
        super().step(epoch)
        if self.cycle_momentum:
            m = self.momentum_at(self.last_epoch)
            for group in self.optimizer.param_groups:
                if self.use_beta1:
                    group["betas"] = (m, *group["betas"][1:])
                else:
                    group["momentum"] = m


def lr_batch_scaling(base_lr, batch_size, base_batch_size, rule="linear",
                     critical_batch_size=None):
    """The learning rate for ``batch_size`` from one tuned at ``base_batch_size``.

        η = η_ref·B/B_ref         ``rule="linear"`` (SGD; Goyal et al.)
        η = η_ref·√(B/B_ref)      ``rule="sqrt"`` (Adam and adaptive methods; Hoffer et al.,
                                   "Train longer, generalize better")

    Beyond ``critical_batch_size`` the gain saturates: B is clamped to it. Usually combined
    with ``LinearWarmup``; ``regime_epochs`` gives the matching training length.

    Paper: Goyal et al. 2017, "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour".
    """
    if rule not in ("linear", "sqrt"):
        raise ValueError(f"lr_batch_scaling: rule must be 'linear' or 'sqrt', got {rule!r}")
    b = batch_size if critical_batch_size is None else min(batch_size, critical_batch_size)
    ratio = b / base_batch_size
    return base_lr * (ratio if rule == "linear" else math.sqrt(ratio))


def regime_epochs(base_epochs, batch_size, base_batch_size):
    """Regime adaptation (Hoffer et al. 2017): train B/B_ref times more epochs, so the number
    of parameter updates is the same as with the reference batch size."""
    return base_epochs * batch_size / base_batch_size


def _schedule(cls, name, catalog_id, papers, **kw):
    register(cls, name=name, kind="optimizer", check="state", catalog_id=catalog_id, papers=papers,
             **kw)


_SHARPDARTS = "sharpDARTS: Faster and More Accurate Differentiable Architecture Search"
_REFINEMENT = "When, Why and How Much? Adaptive Learning Rate Scheduling by Refinement"
_STEP_PAPERS = ["When is a Convolutional Filter Easy To Learn?", "Wide Residual Networks",
                "Deep Residual Learning for Image Recognition",
                "Improving Generalization of Adversarial Training via Robust Critical Fine-Tuning"]
_schedule(StepLR, "step_lr", "O016", _STEP_PAPERS)
_schedule(MultiStepLR, "multistep_lr", "O016", _STEP_PAPERS)
_schedule(CosineAnnealingLR, "cosine_lr", "O017", [_SHARPDARTS, _LARGE_BATCH])
_schedule(CosineAnnealingWarmRestarts, "cosine_warm_restarts", "O018",
          ["Decoupled Weight Decay Regularization"])
_schedule(LinearWarmup, "linear_warmup", "O019", [_LAMB, _LARGE_BATCH, _SHARPDARTS, _REFINEMENT])
_schedule(LinearLR, "linear_lr", "O019", [_LAMB, _LARGE_BATCH, _REFINEMENT])
_schedule(PolynomialLR, "polynomial_decay", "O020", [_LAMB, _LARGE_BATCH, _REFINEMENT])
_schedule(ExponentialLR, "exponential_decay", "O021",
          ["BigNAS: Scaling Up Neural Architecture Search with Big Single-Stage Models"])
_schedule(OneCycleLR, "one_cycle", "O022",
          ["A disciplined approach to neural network hyper-parameters: Part 1 -- learning rate, "
           "batch size, momentum, and weight decay"])
_schedule(lr_batch_scaling, "lr_batch_scaling", "O023",
          ["Learning Rates as a Function of Batch Size: A Random Matrix Theory Approach to Neural "
           "Network Training",
           "Train longer, generalize better: closing the generalization gap in large batch "
           "training of neural networks"])
