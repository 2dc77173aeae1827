"""Knowledge-distillation training rules: DOT, SGD with separate momenta for the task-loss and
the distillation-loss gradients."""
from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array
from minigrad.optim.optimizer import Optimizer, _evaluate
from minigrad.registry import register


class DistillationOrientedTrainer(Optimizer):
    """DOT: SGD with one momentum buffer for the task-loss gradient and another, larger one
    for the distillation-loss gradient.

    Each iteration: ``loss_kd.backward(retain_graph=True); opt.step_kd(); opt.zero_grad();
    loss_task.backward(); opt.step(); opt.zero_grad()``. ``step_kd`` only records the KD
    gradients g_KD; ``step`` takes the task gradients g_CE and moves the parameters:

        μ̄ = (μ_task + μ_kd)/2
        task branch (params with g_CE):   d = g_CE + λθ
            b_CE ← d                                  (first time)
            b_CE ← μ_task·b_CE + (1 − τ)·d            (param also has g_KD this step)
            b_CE ← μ̄·b_CE + (1 − τ)·d                (no g_KD this step)
            θ ← θ − η·b_CE
        KD branch (params with g_KD):
            b_KD ← g_KD                               (first time: no weight decay)
            b_KD ← μ_kd·b_KD + (1 − τ)·g_KD           (param also has g_CE: λθ is on the CE branch)
            b_KD ← μ̄·b_KD + (1 − τ)·(g_KD + λθ)      (no g_CE this step)
            θ ← θ − η·b_KD                            (θ after the task-branch move)

    Defaults: μ_task = ``momentum`` = 0.9 − Δ = 0.825, μ_kd = ``momentum_kd`` = 0.9 + Δ =
    0.975 with the paper's Δ = 0.075 (mdistiller's trainer builds them as SOLVER.MOMENTUM ∓
    SOLVER.DOT.DELTA); ``lr`` η (required; CIFAR-100 configs 0.05), ``weight_decay`` λ = 0
    (configs 5e-4), ``dampening`` τ = 0. Where it came from: megvii-research/mdistiller
    mdistiller/engine/dot.py (``DistillationOrientedTrainer``, ``dot``) and engine/trainer.py
    (``DOT``); the averaged momentum for parameters with only one of the two gradients and the
    first-step rules follow that code. With ``step`` alone (no KD gradient) DOT is SGD with
    momentum μ̄ (0.9 by default). The KD gradients recorded by ``step_kd`` are copied (so
    ``zero_grad(set_to_none=False)`` is safe) and are not part of the state dict: save
    between iterations. Unlike the reference, several parameter groups are allowed.

    Paper: Zhao, Cui, Song & Liang 2023, "DOT: A Distillation-Oriented Trainer".
    """

    def __init__(self, params, lr, momentum=0.825, momentum_kd=0.975, dampening=0.0,
                 weight_decay=0.0):
        name = "DistillationOrientedTrainer"
        if not lr >= 0.0:
            raise ValueError(f"{name}: invalid learning rate {lr}")
        if not momentum >= 0.0:
            raise ValueError(f"{name}: invalid momentum {momentum}")
        if not momentum_kd >= 0.0:
            raise ValueError(f"{name}: invalid momentum_kd {momentum_kd}")
        if not weight_decay >= 0.0:
            raise ValueError(f"{name}: invalid weight_decay {weight_decay}")
        if not 0.0 <= dampening <= 1.0:
            raise ValueError(f"{name}: dampening must be in [0, 1], got {dampening}")
        super().__init__(params, dict(lr=lr, momentum=momentum, momentum_kd=momentum_kd,
                                      dampening=dampening, weight_decay=weight_decay))
        self._kd_grads = {}

    def step_kd(self, closure=None):
        """Record the current gradients as the distillation gradients g_KD (no move)."""
        loss = _evaluate(closure)
        self._kd_grads = {id(p): p.grad.data.copy() for _, p in self._params_with_grad()}
        return loss

    def _step(self, closure=None):
        loss = _evaluate(closure)
        kd = self._kd_grads
        with no_grad():
            task = {id(p) for _, p in self._params_with_grad()}
            for group in self.param_groups:
                lr, wd, tau = group["lr"], group["weight_decay"], group["dampening"]
                mu, mu_kd = group["momentum"], group["momentum_kd"]
                mid = (mu + mu_kd) / 2.0
                for p in group["params"]:
                    if id(p) not in task:
                        continue
                    dt, xp = p.data.dtype.type, backend_of_array(p.data).xp
                    state = self.state.setdefault(p, {})
                    d = p.grad.data
                    if wd != 0:
                        d = d + dt(wd) * p.data
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        state["momentum_buffer"] = buf = xp.array(d, dtype=p.data.dtype, copy=True)
                    else:
                        buf *= dt(mu if id(p) in kd else mid)
                        buf += dt(1.0 - tau) * d
                    p.data -= dt(lr) * buf
                    p._version += 1
                for p in group["params"]:
                    if id(p) not in kd:
                        continue
                    dt, xp = p.data.dtype.type, backend_of_array(p.data).xp
                    state = self.state.setdefault(p, {})
                    g = kd[id(p)]
                    buf = state.get("momentum_kd_buffer")
                    if buf is None:
                        state["momentum_kd_buffer"] = buf = xp.array(g, dtype=p.data.dtype, copy=True)
                    elif id(p) in task:
                        buf *= dt(mu_kd)
                        buf += dt(1.0 - tau) * g
                    else:
                        if wd != 0:
                            g = g + dt(wd) * p.data
                        buf *= dt(mid)
                        buf += dt(1.0 - tau) * g
                    p.data -= dt(lr) * buf
                    p._version += 1
        self._kd_grads = {}
        return loss


register(DistillationOrientedTrainer, name="dot_distillation_trainer", kind="optimizer",
         check="state", catalog_id="O072", papers=["DOT: A Distillation-Oriented Trainer"])
