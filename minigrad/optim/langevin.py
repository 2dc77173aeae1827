"""Stochastic-gradient MCMC samplers written as optimizers: SGLD and SGHMC.

They are not loss minimizers: with the gradient of a potential Ũ(θ) (the negative log
posterior, up to a constant) they draw θ approximately from p(θ) ∝ exp(−Ũ(θ)/T).

The noise comes from a NumPy generator held by the sampler (``generator=``: ``None`` for one
seeded from minigrad's generator, so ``minigrad.manual_seed`` makes runs reproducible, an int
seed, a ``minigrad.Generator`` or a ``numpy.random.Generator``). It draws on the host in
float64 and the draws are copied to the parameter's backend and cast to its dtype, so NumPy
and CuPy runs see the same noise, and its state is part of ``state_dict()``: save → load →
continue is bit-identical to an uninterrupted run.
"""
import copy

import numpy

from minigrad.backends import backend_of_array, get_backend
from minigrad.ops.random import plain_generator_state
from minigrad.optim.optimizer import Optimizer
from minigrad.registry import register

_BNN_BO = "A Study of Bayesian Neural Network Surrogates for Bayesian Optimization"
_ROBUST_EBM = ("Shedding More Light on Robust Classifiers under the lens of Energy-based "
               "Models")


def host_generator(generator, owner):
    """The ``numpy.random.Generator`` a sampler draws its noise from (see the module doc)."""
    from minigrad.ops.random import HostGenerator
    if generator is None:
        seed = int(get_backend("numpy").generator().integers(2 ** 63))
        return numpy.random.default_rng(seed)
    if isinstance(generator, bool):
        raise TypeError(f"{owner}: generator must be None, an int seed, a minigrad.Generator "
                        f"or a numpy.random.Generator, got {generator!r}")
    if isinstance(generator, int):
        return numpy.random.default_rng(generator)
    if isinstance(generator, HostGenerator):
        return generator.rng
    if isinstance(generator, numpy.random.Generator):
        return generator
    raise TypeError(f"{owner}: generator must be None, an int seed, a minigrad.Generator or a "
                    f"numpy.random.Generator (the noise is drawn on the host so that its state "
                    f"can be saved), got {type(generator).__name__}")


class _Sampler(Optimizer):
    """An optimizer that draws noise: ``self._rng`` and its state in ``state_dict()``."""

    def __init__(self, params, defaults, generator):
        super().__init__(params, defaults)
        self._rng = host_generator(generator, type(self).__name__)

    def _standard_normal(self, p):
        """ξ ~ N(0, I) of ``p``'s shape, drawn in float64 on the host, as ``p``'s dtype on
        ``p``'s backend."""
        draw = self._rng.standard_normal(p.shape)
        return backend_of_array(p).asarray(draw).astype(p.dtype, copy=False)

    def state_dict(self):
        state = super().state_dict()
        state["generator"] = copy.deepcopy(self._rng.bit_generator.state)
        return state

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        if "generator" in state_dict:
            self._rng.bit_generator.state = plain_generator_state(state_dict["generator"])


def _check_common(name, lr, weight_decay, temperature):
    if not lr > 0:
        raise ValueError(f"{name}: lr (step size) must be > 0, got {lr}")
    if weight_decay < 0:
        raise ValueError(f"{name}: weight_decay (Gaussian prior precision) must be ≥ 0, got "
                         f"{weight_decay}")
    if temperature < 0:
        raise ValueError(f"{name}: temperature must be ≥ 0, got {temperature}")


class SGLD(_Sampler):
    """Stochastic gradient Langevin dynamics (Welling & Teh 2011), parameter or input space.

    Paper: Welling & Teh 2011, "Bayesian Learning via Stochastic Gradient Langevin Dynamics";
    used by Li, Rudner & Wilson 2024, "A Study of Bayesian Neural Network Surrogates for
    Bayesian Optimization" (BNN posterior) and by Mirza, Briglia, Beadini & Masi 2024,
    "Shedding More Light on Robust Classifiers under the lens of Energy-based Models" (input
    space).

    ``SGLD(params, lr=1e-2, weight_decay=0, temperature=1.0, noise_std=None,
    generator=None)``. With g the gradient of the potential Ũ (``loss.backward()`` of
    Ũ(θ) = −log p(θ) − (N/n)·Σ_{i∈batch} log p(x_i | θ)), per parameter, Eq. 4 of Welling & Teh::

        g̃ = g + λθ                       λ = weight_decay: a N(0, 1/λ) prior added to Ũ
        θ ← θ − (η/2)·g̃ + σ·ξ,    ξ ~ N(0, I)
        σ = √(η·T)                       (``noise_std=None``; T = 1 is Eq. 4 exactly)

    η = ``lr`` (Welling & Teh decrease it as a(b + t)^(−γ), γ ∈ (0.5, 1]: use an
    ``lr_scheduler``); T = ``temperature`` samples exp(−Ũ/T) (T < 1: a cold posterior).
    Input space (a robust classifier as an energy model, the model frozen): pass the inputs
    ``x`` (a leaf tensor with ``requires_grad``) as ``params`` and backpropagate the energy
    E(x) = −LSE_c f(x)_c; as in JEM's sampler (wgrathwohl/JEM, ``train_wrn_ebm.py``:
    x ← x + α·∇_x LSE f(x) + σ·ξ with α = 1, σ = 0.01) the noise is tuned apart from the
    step: ``SGLD([x], lr=2*alpha, noise_std=sigma)``. ``noise_std=0`` is gradient descent with
    step η/2. Noise is drawn in the order of the parameters that have a gradient.
    """

    def __init__(self, params, lr=1e-2, weight_decay=0.0, temperature=1.0, noise_std=None,
                 generator=None):
        _check_common("SGLD", lr, weight_decay, temperature)
        if noise_std is not None and noise_std < 0:
            raise ValueError(f"SGLD: noise_std must be ≥ 0 (or None for √(lr·temperature)), "
                             f"got {noise_std}")
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay,
                                      temperature=temperature, noise_std=noise_std), generator)

    def _update(self, p, g, state, group, xp):
        lr, wd = group["lr"], group["weight_decay"]
        sigma = group["noise_std"]
        if sigma is None:
            sigma = (lr * group["temperature"]) ** 0.5
        xi = self._standard_normal(p)
        if wd:
            g = g + wd * p
        p -= (0.5 * lr) * g
        p += sigma * xi


class SGHMC(_Sampler):
    """Stochastic gradient Hamiltonian Monte Carlo (Chen, Fox & Guestrin 2014), momentum form.

    Paper: Chen, Fox & Guestrin 2014, "Stochastic Gradient Hamiltonian Monte Carlo"; used by
    Li, Rudner & Wilson 2024, "A Study of Bayesian Neural Network Surrogates for Bayesian
    Optimization".

    ``SGHMC(params, lr=1e-3, alpha=0.01, beta_hat=0.0, weight_decay=0, temperature=1.0,
    resample_every=None, generator=None)``. Eq. 15 of Chen et al. (the reparametrization
    v = εM⁻¹r, η = ε²M⁻¹, α = εM⁻¹C, β̂ = εM⁻¹B̂ of their Algorithm 2), per parameter, with g
    the gradient of the potential Ũ (as in ``SGLD``)::

        g̃ = g + λθ                                  λ = weight_decay (Gaussian prior)
        v ← (1 − α)·v − η·g̃ + √(2(α − β̂)·η·T)·ξ,    ξ ~ N(0, I)
        θ ← θ + v

    η = ``lr`` (learning rate), α = ``alpha`` (friction, 1 − momentum; α = 0.01 in the
    paper's experiments), β̂ = ``beta_hat`` (estimate of the gradient-noise variance, 0 by
    default as in the paper's experiments; needs α ≥ β̂), T = ``temperature`` (T = 1: the
    paper). v starts at 0; ``resample_every=m`` redraws v ~ N(0, η·T) (the optional momentum
    resampling r ~ N(0, M) of Algorithm 2) before steps 1, m + 1, 2m + 1, ... The BNN-BO
    study runs pybnn's adaptive SGHMC (Springenberg et al. 2016, a preconditioned variant
    with burn-in adaptation): that variant is not this class.
    """

    def __init__(self, params, lr=1e-3, alpha=0.01, beta_hat=0.0, weight_decay=0.0,
                 temperature=1.0, resample_every=None, generator=None):
        _check_common("SGHMC", lr, weight_decay, temperature)
        if not 0 < alpha <= 1:
            raise ValueError(f"SGHMC: alpha (friction) must be in (0, 1], got {alpha}")
        if not 0 <= beta_hat <= alpha:
            raise ValueError(f"SGHMC: beta_hat must satisfy 0 ≤ beta_hat ≤ alpha (the injected "
                             f"noise variance 2(α − β̂)η is ≥ 0), got beta_hat={beta_hat}, "
                             f"alpha={alpha}")
        if resample_every is not None and (isinstance(resample_every, bool)
                                           or not isinstance(resample_every, int)
                                           or resample_every < 1):
            raise ValueError(f"SGHMC: resample_every must be None or an int ≥ 1, got "
                             f"{resample_every!r}")
        super().__init__(params, dict(lr=lr, alpha=alpha, beta_hat=beta_hat,
                                      weight_decay=weight_decay, temperature=temperature,
                                      resample_every=resample_every), generator)

    def _update(self, p, g, state, group, xp):
        lr, alpha, temp = group["lr"], group["alpha"], group["temperature"]
        step = state["step"] = state.get("step", 0) + 1
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = xp.zeros_like(p)
        every = group["resample_every"]
        if every is not None and (step - 1) % every == 0:
            buf[...] = (lr * temp) ** 0.5 * self._standard_normal(p)
        xi = self._standard_normal(p)
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        buf *= 1.0 - alpha
        buf -= lr * g
        buf += (2.0 * (alpha - group["beta_hat"]) * lr * temp) ** 0.5 * xi
        p += buf


register(SGLD, name="sgld", kind="optimizer", check="state", catalog_id="O091",
         papers=[_BNN_BO, _ROBUST_EBM])
register(SGHMC, name="sghmc", kind="optimizer", check="state", catalog_id="O092",
         papers=[_BNN_BO])
