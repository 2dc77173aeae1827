"""Exponential moving average of parameters: target, teacher and mean-teacher networks."""
import copy
import math

from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array
from minigrad.layers.module import Module
from minigrad.registry import register
from minigrad.tensor import Tensor


class EMA:
    """Exponential moving average of a model's weights (Polyak averaging with a constant rate).

    Paper: Polyak & Juditsky 1992, "Acceleration of Stochastic Approximation by Averaging";
    the constant-rate (exponential) form as a mean teacher: Tarvainen & Valpola 2017, "Mean
    teachers are better role models: Weight-averaged consistency targets improve
    semi-supervised deep learning results".

    ``EMA(model, decay=0.999)`` keeps an averaged copy; call ``ema.update()`` after every
    optimizer step::

        θ̄ ← τ·θ̄ + (1 − τ)·θ

    ``model`` is a ``Module`` (then ``ema.module`` is a frozen deep copy holding the averages,
    to run as the teacher/target network; its float buffers, such as BatchNorm's running
    statistics, are averaged too unless ``ema_buffers=False``, which copies them; integer
    buffers are always copied) or an iterable of tensors (``ema.shadow`` then holds the
    averages). ``decay`` is τ, or a function of the update count k (from 1) returning τ, e.g.
    BYOL's ``byol_decay(k, K)``. ``warmup=True`` uses τ_k = min(τ, 1 − (1 + (k − 1)/γ)^(−p))
    (timm's ModelEmaV3 warm-up, γ = ``warmup_gamma``, p = ``warmup_power``), so the first update
    copies the weights and early averages forget the random initialization quickly.
    Typical τ: MoCo 0.999, CoTTA mean teacher 0.999, timm 0.9998, BYOL 0.996 → 1.
    """

    def __init__(self, model, decay=0.999, warmup=False, warmup_gamma=1.0, warmup_power=2 / 3,
                 ema_buffers=True):
        self.decay, self.warmup = decay, warmup
        self.warmup_gamma, self.warmup_power = warmup_gamma, warmup_power
        self.ema_buffers = ema_buffers
        self.num_updates = 0
        self.source = model
        if isinstance(model, Module):
            self.module = copy.deepcopy(model).requires_grad_(False)
            self.module.zero_grad()
            self.shadow = list(self.module.state_dict().values())
            names = dict(model.named_parameters())
            self._averaged = [ema_buffers or name in names for name in self.module.state_dict()]
        else:
            self.module = None
            self.source = list(model)
            self.shadow = [Tensor._wrap(t.data.copy()) for t in self.source]
            self._averaged = [True] * len(self.shadow)

    def _sources(self):
        if isinstance(self.source, Module):
            return list(self.source.state_dict().values())
        return self.source

    def get_decay(self, k):
        """τ at update ``k`` (k = 1 for the first update)."""
        decay = self.decay(k) if callable(self.decay) else self.decay
        if self.warmup:
            decay = min(decay, 1 - (1 + (k - 1) / self.warmup_gamma) ** -self.warmup_power)
        return decay

    def update(self):
        """Move the averages towards the model's current weights."""
        self.num_updates += 1
        tau = self.get_decay(self.num_updates)
        with no_grad():
            for avg, src, averaged in zip(self.shadow, self._sources(), self._averaged):
                if averaged and avg.dtype.kind == "f":
                    avg.data *= tau
                    avg.data += (1 - tau) * src.data
                else:
                    avg.data[...] = src.data
                avg._version += 1

    def copy_to(self, target=None):
        """Write the averages into ``target`` (a Module or tensors; default: the source)."""
        target = self.source if target is None else target
        dest = list(target.state_dict().values()) if isinstance(target, Module) else list(target)
        with no_grad():
            for d, avg in zip(dest, self.shadow):
                d.data[...] = avg.data
                d._version += 1

    def state_dict(self):
        return {"num_updates": self.num_updates,
                "shadow": [Tensor._wrap(t.data.copy()) for t in self.shadow]}

    def load_state_dict(self, state):
        self.num_updates = int(state["num_updates"])
        for avg, saved in zip(self.shadow, state["shadow"]):
            array = saved.data if isinstance(saved, Tensor) else saved
            avg.data[...] = backend_of_array(avg.data).asarray(array)


def byol_decay(k, total_steps, base=0.996):
    """BYOL's target decay τ_k = 1 − (1 − τ_base)·(cos(πk/K) + 1)/2, rising from τ_base to 1.

    ``byol_decay(k, total_steps, base=0.996)``; pass as ``EMA(model, decay=lambda k:
    byol_decay(k, K))``. Paper: Grill et al. 2020, "Bootstrap your own latent: A new approach
    to self-supervised Learning".
    """
    return 1 - (1 - base) * (math.cos(math.pi * k / total_steps) + 1) / 2


register(EMA, name="ema", kind="optimizer", check="state", catalog_id="O015",
         papers=["Self-Labeling Refinement for Robust Representation Learning with Bootstrap "
                 "Your Own Latent",
                 "Cyclic-Bootstrap Labeling for Weakly Supervised Object Detection",
                 "Sy-CON: Symmetric Contrastive Loss for Continual Self-Supervised Representation "
                 "Learning",
                 "Continual Test-Time Domain Adaptation",
                 "BossNAS: Exploring Hybrid CNN-transformers with Block-wisely Self-supervised "
                 "Neural Architecture Search"])
