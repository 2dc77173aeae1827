"""BigNAS's training step for a weight-shared supernet: the sandwich rule with in-place
distillation, regularization on the largest child only, gradients of all children summed
into one optimizer step."""
import inspect

import numpy as np

from minigrad.autograd import no_grad
from minigrad.backends import to_numpy
from minigrad.functional import cross_entropy
from minigrad.layers.module import Module
from minigrad.ops.random import plain_generator_state
from minigrad.registry import register

_BIGNAS = "BigNAS: Scaling Up Neural Architecture Search with Big Single-Stage Models"


def _log_softmax(z):
    m = z.max(axis=-1, keepdims=True).detach()
    s = z - m
    return s - s.exp().sum(axis=-1, keepdims=True).log()


def _default_decay_params(supernet):
    """Every weight with 2+ axes: no decay on biases nor on normalization γ, β (AttentiveNAS's
    ``weight_decay_bn_bias: 0``)."""
    return [p for p in supernet.parameters() if p.ndim >= 2]


class SandwichRule:
    """One BigNAS training step on a weight-shared supernet (``step(x, target)``):

        children: the largest a_max, N random a_1..a_N, the smallest a_min (in this order)
        z_max = f(x; a_max)                              (dropout on: ``regularize=True``)
        L_max = CE(z_max, y) + (λ/2)·Σ_θ∈decay ‖θ‖²       (weight decay on the largest only)
        p = softmax(z_max / T), detached                 (in-place distillation target)
        L_a = −(1/B)·Σ_b Σ_c p_bc · log softmax(f(x; a)/T)_bc   for a ∈ {a_1..a_N, a_min}
        ∇ = ∇L_max + Σ_a ∇L_a  (accumulated by separate backward passes), one optimizer step

    Children share the supernet's weights as leading slices (first c channels, centre k×k
    of the largest kernel, first d blocks): the supernet does the slicing, and a slice's
    backward scatters its gradient into the full tensor, so the accumulated gradient of a
    weight is the sum over the children that used it.

    ``SandwichRule(supernet, optimizer, sample_config, largest, smallest, num_random=2,
    weight_decay=1e-5, decay_params=None, temperature=1.0, seed=0)``: ``supernet(x, config)``
    returns logits (it may take ``regularize=``, True only for the largest child: turn
    dropout on there); ``sample_config(rng)`` draws a random child from a NumPy Generator;
    ``decay_params`` defaults to every weight with 2+ axes (biases and normalization γ, β
    undecayed, as AttentiveNAS's ``weight_decay_bn_bias: 0``); the explicit
    L2 term replaces the optimizer's own weight decay, which should be 0. ``step`` returns the
    losses ``{"largest": …, "smallest": …, "random": [...]}`` as floats.

    Paper: Yu, Jin, Liu, Bender, Kindermans, Tan, Huang, Song, Pang & Le 2020, "BigNAS:
    Scaling Up Neural Architecture Search with Big Single-Stage Models" (Sec. 3.1: sandwich
    rule with N = 2 random children, in-place distillation from the largest child's soft
    predictions, weight decay 1e-5 and dropout on the largest child only); the sandwich rule
    and in-place distillation come from Yu & Huang 2019 (US-Nets), T = 1. References read:
    facebookresearch/AttentiveNAS train_attentive_nas.py and utils/loss_ops.py (the largest
    subnet first, with dropout, on the labels; ``num_arch_training - 2`` random subnets, then
    the smallest last, each on ``KLLossSoft`` against the largest's detached logits; one
    ``optimizer.step()``; weight decay 1e-5 on weights only). The zero-initialized last BN
    γ per residual block and the exponential-decay schedule are the model's and the
    schedule's business.
    """

    def __init__(self, supernet, optimizer, sample_config, largest, smallest, num_random=2,
                 weight_decay=1e-5, decay_params=None, temperature=1.0, seed=0):
        if not isinstance(supernet, Module):
            raise TypeError(f"SandwichRule: supernet must be a Module, got "
                            f"{type(supernet).__name__}")
        if not callable(sample_config):
            raise TypeError("SandwichRule: sample_config must be a callable rng -> config")
        if not (isinstance(num_random, int) and num_random >= 0):
            raise ValueError(f"SandwichRule: num_random must be an int >= 0, got {num_random!r}")
        if not weight_decay >= 0:
            raise ValueError(f"SandwichRule: weight_decay must be >= 0, got {weight_decay}")
        if not temperature > 0:
            raise ValueError(f"SandwichRule: temperature must be > 0, got {temperature}")
        self.supernet, self.optimizer, self.sample_config = supernet, optimizer, sample_config
        self.largest, self.smallest, self.num_random = largest, smallest, num_random
        self.weight_decay, self.temperature = weight_decay, temperature
        self.decay_params = (_default_decay_params(supernet) if decay_params is None
                             else list(decay_params))
        self.rng = np.random.default_rng(seed)
        try:
            self._takes_regularize = "regularize" in inspect.signature(supernet.forward).parameters
        except (TypeError, ValueError):
            self._takes_regularize = False

    def _forward(self, x, config, regularize):
        if self._takes_regularize:
            return self.supernet(x, config, regularize=regularize)
        return self.supernet(x, config)

    def children(self):
        """The configurations of the next step: largest, N random ones, smallest."""
        return ([self.largest] + [self.sample_config(self.rng) for _ in range(self.num_random)]
                + [self.smallest])

    def step(self, x, target):
        self.optimizer.zero_grad()
        configs = self.children()
        logits = self._forward(x, configs[0], True)
        loss = cross_entropy(logits, target)
        if self.weight_decay and self.decay_params:
            l2 = sum((p * p).sum() for p in self.decay_params)
            total = loss + (self.weight_decay / 2) * l2
        else:
            total = loss
        total.backward()
        losses = {"largest": float(to_numpy(loss.data)), "random": []}
        with no_grad():
            teacher = (logits / self.temperature).detach()
            teacher = _log_softmax(teacher).exp().detach()
        for i, config in enumerate(configs[1:]):
            student = self._forward(x, config, False) / self.temperature
            child_loss = -(teacher * _log_softmax(student)).sum(axis=-1).mean()
            child_loss.backward()
            value = float(to_numpy(child_loss.data))
            if i == len(configs) - 2:
                losses["smallest"] = value
            else:
                losses["random"].append(value)
        self.optimizer.step()
        return losses

    def state_dict(self):
        """The sampler's generator state (the optimizer saves its own)."""
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state):
        self.rng.bit_generator.state = plain_generator_state(state["rng"])


register(SandwichRule, name="bignas_sandwich", kind="optimizer", check="state",
         catalog_id="O045", papers=[_BIGNAS])
