"""Keeping a network plastic in continual learning: shrink and perturb, Continual Backprop
(utility-based re-initialization of hidden units) and CoTTA's stochastic restoration of the
source weights. All act on the weights outside the tape, after the optimizer's step.

Randomness comes from ``generator`` (a ``minigrad.Generator``, ``HostGenerator`` or a NumPy /
CuPy ``Generator``) or, when it is None, from the backend's generator seeded by
``minigrad.manual_seed``. The stateful classes save their state with ``state_dict()``; the
state of a given NumPy-drawing generator (``minigrad.Generator``, ``HostGenerator``, NumPy
``Generator``) is saved with it, so that state_dict → ``minigrad.save`` → ``load`` →
``load_state_dict`` continues bit-identically. The backend's global generator is not saved
(save it yourself, or pass a generator).
"""
import math

from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array, to_numpy
from minigrad.layers.init import calculate_gain
from minigrad.ops.random import HostGenerator, generator_on, plain_generator_state
from minigrad.registry import register
from minigrad.tensor import Tensor


# ------------------------------------------------------------------ generator state
def _numpy_rng(generator):
    if isinstance(generator, HostGenerator):
        return generator.rng
    if generator is not None and type(generator).__module__.startswith("numpy"):
        return generator
    return None


def _generator_state(generator):
    rng = _numpy_rng(generator)
    return None if rng is None else rng.bit_generator.state


def _set_generator_state(generator, state):
    rng = _numpy_rng(generator)
    if state is None or rng is None:
        return
    rng.bit_generator.state = plain_generator_state(state)


def _data(t):
    return t.data if isinstance(t, Tensor) else t


# --------------------------------------------------------------------- shrink and perturb
def shrink_perturb(params, shrink, noise_std, generator=None):
    """Shrink and perturb, applied after an optimizer step:

        θ ← (1 − λ)·θ + σ·ε,   ε ∼ N(0, I) drawn afresh for every parameter

    ``params``: an iterable of tensors (``model.parameters()``; in place, dtypes kept);
    ``shrink``: λ ∈ [0, 1]; ``noise_std``: σ ≥ 0; the noise is drawn in float64 from
    ``generator`` (default: the backend's) and cast to each parameter's dtype.

    In the loss-of-plasticity code the shrink is the optimizer's L2 weight decay (SGD
    ``weight_decay``) and the perturbation adds N(0, σ²) noise to every weight and bias after
    each step: lop/algos/bp.py (``perturb``), lop/incremental_cifar (``inject_noise``,
    ``noise_std`` = 1e-5 with weight decay 5e-4); ``shrink_perturb(params, 0.0, σ)`` after such
    a step is that rule, and λ > 0 gives Ash & Adams's one-shot shrink-perturb
    (θ ← (1 − λ)θ + σε). Permuted-MNIST configs: weight decay 1e-4, σ ∈ {1e-4, 1e-5, 1e-6}.
    Paper: Dohare, Hernandez-Garcia, Lan, Rahman, Mahmood & Sutton 2024, "Loss of Plasticity
    in Deep Continual Learning"; Ash & Adams 2020, "On Warm-Starting Neural Network Training".
    """
    if not 0.0 <= shrink <= 1.0:
        raise ValueError(f"shrink_perturb: shrink must be in [0, 1], got {shrink}")
    if not noise_std >= 0.0:
        raise ValueError(f"shrink_perturb: noise_std must be >= 0, got {noise_std}")
    with no_grad():
        for p in params:
            backend = backend_of_array(p.data)
            eps = generator_on(backend, generator).standard_normal(p.shape)
            p.data[...] = (p.data * p.dtype.type(1.0 - shrink)
                           + eps.astype(p.dtype) * p.dtype.type(noise_std))
            p._version += 1


# ---------------------------------------------------------------------- continual backprop
_UTILITIES = ("contribution", "weight", "adaptation", "zero_contribution",
              "adaptable_contribution", "feature_by_input")


class ContinualBackprop:
    """Continual Backprop: generate-and-test on the hidden units of a stack of Linear layers.
    Call ``cbp.step(features)`` after every optimizer step with the batch's hidden activations.

    For hidden layer l (the outputs of ``layers[l]``, inputs of ``layers[l + 1]``), every step:

        a ← a + 1
        f̄ ← η·f̄ + (1 − η)·mean_batch(h)              (mean activation)
        u ← η·u + (1 − η)·y,  y = mean_k|W_{l+1}[k, i]|·mean_batch|h_i|   ('contribution')
        û = u / (1 − η^a)                              (bias-corrected utility)
        n_e = #{i : a_i > m};  r = ρ·n_e               (units to replace this step)
        accumulate: c ← c + r, replace ⌊c⌋, c ← c − ⌊c⌋
        otherwise:  replace ⌊r⌋, or 1 with probability r when r < 1
        replaced = the eligible units with the lowest û (ties: lowest index first)
        u_i, f̄_i ← 0;  W_l[i, :] ∼ U(−b, b);  bias_l[i] ← 0;  W_{l+1}[:, i] ← 0;  a_i ← 0

    with b = gain·√(3/fan_in) ('kaiming'), √(1/fan_in) ('default'), gain·√(6/(fan_in +
    fan_out)) ('xavier') or √(3/fan_in) ('lecun'; forced for selu). All layers' units are
    chosen first, from the weights after the optimizer step, then replaced. The optimizer's
    state entries shaped like a touched parameter (Adam's ``exp_avg``/``rms``, a momentum
    buffer) are zeroed at the replaced rows/columns.

    Arguments (defaults): ``layers`` — the Linear layers, input to output (L + 1 of them for L
    hidden layers); ``optimizer`` (None); ``replacement_rate`` ρ = 1e-4; ``decay_rate`` η =
    0.99; ``maturity_threshold`` m = 100; ``util_type`` 'contribution' (also 'weight',
    'adaptation', 'zero_contribution', 'adaptable_contribution', 'feature_by_input', the
    reference's others); ``init`` 'kaiming'; ``activation`` 'relu' (swish and elu use relu's
    gain, as the reference); ``accumulate`` False; ``next_bias_correction`` False;
    ``generator`` None.

    Where it came from: shibhansh/loss-of-plasticity lop/algos/cbp.py and lop/algos/gnt.py
    (GnT: ``update_utility``, ``test_features``, ``gen_new_features``,
    ``update_optim_params``). Deviations, said plainly: (1) gnt.py zeroes f̄ of the chosen
    units before it adds their mean contribution W_{l+1}[:, i]·f̄_i/(1 − η^a_i) to the next
    layer's bias, so that correction is always zero there (and the Nature paper's Algorithm 1
    has none); the default reproduces this, ``next_bias_correction=True`` adds the
    contribution computed before the reset (the arXiv v1-v3 rule). (2) AdamGnT keeps a step
    count per element and resets it; minigrad's Adam has one step count per tensor, which is
    left alone (only the moments are zeroed). (3) gnt.py resets optimizer state only for Adam;
    here every same-shaped state array is reset (SGD momentum too). (4) The Nature paper's
    Eq. 1 sums |w| over the outgoing weights and ranks by the plain u; gnt.py averages them (a
    constant factor per layer, so the same ranking) and ranks by the bias-corrected û, which
    is followed here. ρ = 1e-4 and η = 0.99
    are GnT's defaults, m = 100 cbp.py's and the paper's.
    Paper: Dohare, Hernandez-Garcia, Lan, Rahman, Mahmood & Sutton 2024, "Loss of Plasticity
    in Deep Continual Learning".
    """

    def __init__(self, layers, optimizer=None, replacement_rate=1e-4, decay_rate=0.99,
                 maturity_threshold=100, util_type="contribution", init="kaiming",
                 activation="relu", accumulate=False, next_bias_correction=False,
                 generator=None):
        self.layers = list(layers)
        if len(self.layers) < 2:
            raise ValueError("ContinualBackprop: needs at least two layers (one hidden layer)")
        for i, (a, b) in enumerate(zip(self.layers[:-1], self.layers[1:])):
            if a.weight.ndim != 2 or b.weight.ndim != 2 or a.weight.shape[0] != b.weight.shape[1]:
                raise ValueError(f"ContinualBackprop: layer {i} has weight shape "
                                 f"{tuple(a.weight.shape)} and layer {i + 1} "
                                 f"{tuple(b.weight.shape)}; the out_features of one must be "
                                 "the in_features of the next")
            if a.bias is None:
                raise ValueError(f"ContinualBackprop: layer {i} needs a bias")
        if not 0.0 <= replacement_rate <= 1.0:
            raise ValueError(f"ContinualBackprop: replacement_rate must be in [0, 1], got "
                             f"{replacement_rate}")
        if not 0.0 <= decay_rate < 1.0:
            raise ValueError(f"ContinualBackprop: decay_rate must be in [0, 1), got {decay_rate}")
        if maturity_threshold < 0:
            raise ValueError(f"ContinualBackprop: maturity_threshold must be >= 0, got "
                             f"{maturity_threshold}")
        if util_type not in _UTILITIES:
            raise ValueError(f"ContinualBackprop: util_type must be one of {_UTILITIES}, got "
                             f"{util_type!r}")
        if init not in ("kaiming", "default", "xavier", "lecun"):
            raise ValueError(f"ContinualBackprop: init must be 'kaiming', 'default', 'xavier' "
                             f"or 'lecun', got {init!r}")
        self.optimizer = optimizer
        self.replacement_rate, self.decay_rate = replacement_rate, decay_rate
        self.maturity_threshold, self.util_type = maturity_threshold, util_type
        self.accumulate, self.next_bias_correction = accumulate, next_bias_correction
        self.generator = generator
        if activation == "selu":
            init = "lecun"
        gain = calculate_gain("relu" if activation in ("swish", "elu") else activation)
        self.bounds = []
        for layer in self.layers[:-1]:
            fan_out, fan_in = layer.weight.shape
            self.bounds.append({"default": math.sqrt(1 / fan_in),
                                "xavier": gain * math.sqrt(6 / (fan_in + fan_out)),
                                "lecun": math.sqrt(3 / fan_in),
                                "kaiming": gain * math.sqrt(3 / fan_in)}[init])
        w = self.layers[0].weight.data
        xp = backend_of_array(w).xp
        sizes = [layer.weight.shape[0] for layer in self.layers[:-1]]
        self.util = [xp.zeros(n, dtype=w.dtype) for n in sizes]
        self.bias_corrected_util = [xp.zeros(n, dtype=w.dtype) for n in sizes]
        self.mean_feature_act = [xp.zeros(n, dtype=w.dtype) for n in sizes]
        self.ages = [xp.zeros(n, dtype="int64") for n in sizes]
        self.accumulated = [0.0 for _ in sizes]

    def _gen(self, array):
        return generator_on(backend_of_array(array), self.generator)

    def _new_util(self, l, h, bc_act):
        xp = backend_of_array(h).xp
        out_mag = xp.abs(self.layers[l + 1].weight.data).mean(axis=0)
        in_mag = xp.abs(self.layers[l].weight.data).mean(axis=1)
        kind = self.util_type
        if kind == "weight":
            return out_mag
        if kind == "contribution":
            return out_mag * xp.abs(h).mean(axis=0)
        if kind == "adaptation":
            return 1 / in_mag
        centered = xp.abs(h - bc_act).mean(axis=0)
        if kind == "zero_contribution":
            return out_mag * centered
        if kind == "adaptable_contribution":
            return out_mag * centered / in_mag
        return centered / in_mag

    def select(self, features):
        """The test half of a step: update ages and utilities and choose the units to replace
        in every hidden layer (a list of index arrays). ``step`` calls it."""
        features = [_data(f) for f in features]
        if len(features) != len(self.util):
            raise ValueError(f"ContinualBackprop: {len(features)} feature arrays for "
                             f"{len(self.util)} hidden layers")
        chosen = []
        eta = self.decay_rate
        for l, h in enumerate(features):
            n = self.util[l].shape[0]
            if h.ndim != 2 or h.shape[1] != n:
                raise ValueError(f"ContinualBackprop: the features of hidden layer {l} have shape "
                                 f"{tuple(h.shape)}, expected (batch, {n})")
            backend = backend_of_array(self.util[l])
            xp = backend.xp
            dt = self.util[l].dtype
            h = backend.asarray(h).astype(dt, copy=False)
            empty = xp.zeros(0, dtype="int64")
            if self.replacement_rate == 0:
                chosen.append(empty)
                continue
            self.ages[l] += 1
            self.util[l] *= dt.type(eta)
            bc = (1 - eta ** self.ages[l].astype("float64")).astype(dt)
            self.mean_feature_act[l] = (self.mean_feature_act[l] * dt.type(eta)
                                        + dt.type(1 - eta) * h.mean(axis=0))
            bc_act = self.mean_feature_act[l] / bc
            self.util[l] = self.util[l] + dt.type(1 - eta) * self._new_util(l, h, bc_act)
            self.bias_corrected_util[l] = self.util[l] / bc
            eligible = xp.nonzero(self.ages[l] > self.maturity_threshold)[0]
            if eligible.size == 0:
                chosen.append(empty)
                continue
            r = self.replacement_rate * int(eligible.size)
            self.accumulated[l] += r
            if self.accumulate:
                count = int(self.accumulated[l])
                self.accumulated[l] -= count
            else:
                if r < 1 and float(to_numpy(self._gen(h).random((1,)))[0]) <= r:
                    r = 1
                count = int(r)
            if count == 0:
                chosen.append(empty)
                continue
            order = xp.argsort(self.bias_corrected_util[l][eligible], kind="stable")
            pick = eligible[order[:count]]
            chosen.append(pick)
        return chosen

    def step(self, features):
        """One generate-and-test step: ``features`` are the hidden activations of the batch
        just trained on (a list, one (batch, n_l) tensor per hidden layer). Returns the
        replaced unit indices per hidden layer."""
        chosen = self.select(features)
        eta = self.decay_rate
        with no_grad():
            for l, pick in enumerate(chosen):
                if pick.size == 0:
                    continue
                cur, nxt = self.layers[l], self.layers[l + 1]
                w = cur.weight.data
                dt = w.dtype
                b = self.bounds[l]
                draw = self._gen(w).random((int(pick.size), w.shape[1]))
                if self.next_bias_correction and nxt.bias is not None:
                    age = self.ages[l][pick].astype("float64")
                    mean = self.mean_feature_act[l][pick] / (1 - eta ** age).astype(dt)
                    nxt.bias.data += (nxt.weight.data[:, pick] * mean).sum(axis=1)
                self.util[l][pick] = 0
                self.mean_feature_act[l][pick] = 0
                w[pick, :] = (draw * (2 * b) - b).astype(dt)
                cur.bias.data[pick] = 0
                nxt.weight.data[:, pick] = 0
                self.ages[l][pick] = 0
                for p in (cur.weight, cur.bias, nxt.weight, nxt.bias):
                    if p is not None:
                        p._version += 1
                self._reset_optimizer(cur.weight, (pick, slice(None)))
                self._reset_optimizer(cur.bias, (pick,))
                self._reset_optimizer(nxt.weight, (slice(None), pick))
        return chosen

    def _reset_optimizer(self, p, index):
        if self.optimizer is None:
            return
        state = self.optimizer.state.get(p)
        if not state:
            return
        for value in state.values():
            if hasattr(value, "shape") and tuple(value.shape) == tuple(p.shape):
                value[index] = 0

    def state_dict(self):
        return {"util": [Tensor._wrap(a.copy()) for a in self.util],
                "bias_corrected_util": [Tensor._wrap(a.copy()) for a in self.bias_corrected_util],
                "mean_feature_act": [Tensor._wrap(a.copy()) for a in self.mean_feature_act],
                "ages": [Tensor._wrap(a.copy()) for a in self.ages],
                "accumulated": list(self.accumulated),
                "generator": _generator_state(self.generator)}

    def load_state_dict(self, state):
        for name in ("util", "bias_corrected_util", "mean_feature_act", "ages"):
            own = getattr(self, name)
            saved = state[name]
            if len(saved) != len(own):
                raise ValueError(f"ContinualBackprop.load_state_dict: {name} has {len(saved)} "
                                 f"layers, expected {len(own)}")
            for l, (a, s) in enumerate(zip(own, saved)):
                s = _data(s)
                if tuple(s.shape) != tuple(a.shape):
                    raise ValueError(f"ContinualBackprop.load_state_dict: {name}[{l}] has shape "
                                     f"{tuple(s.shape)}, expected {tuple(a.shape)}")
                a[...] = backend_of_array(a).asarray(to_numpy(s)).astype(a.dtype)
        self.accumulated = [float(c) for c in state["accumulated"]]
        _set_generator_state(self.generator, state.get("generator"))


# ------------------------------------------------------------------- CoTTA restoration
class CoTTARestoration:
    """CoTTA's stochastic restoration: after each adaptation step, every element of every
    restored weight goes back to its source (pre-adaptation) value with probability p.

        M ∼ Bernoulli(p) elementwise,   θ ← M⊙θ_source + (1 − M)⊙θ

    ``CoTTARestoration(model, restore_prob=0.01, generator=None)`` copies the source values
    of the parameters CoTTA restores (every module's own ``weight`` and ``bias`` that require
    grad) when it is made; ``restore()`` (call it after ``optimizer.step()`` and the teacher's
    EMA update) draws M with u < p, u ∼ U[0, 1) per element in float64, module by module in
    ``named_modules`` order. ``reset()`` writes the source weights back (CoTTA's episodic reset).
    The rest of CoTTA is elsewhere: the mean teacher is ``minigrad.optim.EMA(model, 0.999)``,
    the student optimizer ``Adam(lr=1e-3)``.

    Where it came from: qinenergy/cotta cifar/cotta.py (``forward_and_adapt``, "Stochastic
    restore": mask = rand < rst, p.data = source·mask + p·(1 − mask); rst = 0.01 in the
    configs). ``where`` replaces the arithmetic blend (equal for finite weights).
    Paper: Wang, Fink, Van Gool & Dai 2022, "Continual Test-Time Domain Adaptation".
    """

    def __init__(self, model, restore_prob=0.01, generator=None):
        if not 0.0 <= restore_prob <= 1.0:
            raise ValueError(f"CoTTARestoration: restore_prob must be in [0, 1], got "
                             f"{restore_prob}")
        self.restore_prob, self.generator = restore_prob, generator
        self.params = {}
        for prefix, m in model.named_modules():
            for attr, p in m._parameters.items():
                if attr in ("weight", "bias") and p is not None and p.requires_grad:
                    self.params[f"{prefix}.{attr}" if prefix else attr] = p
        self.source = {k: p.data.copy() for k, p in self.params.items()}

    def restore(self):
        """θ ← M⊙θ_source + (1 − M)⊙θ for every restored parameter (in place)."""
        with no_grad():
            for k, p in self.params.items():
                backend = backend_of_array(p.data)
                u = generator_on(backend, self.generator).random(p.shape)
                mask = u < self.restore_prob
                p.data[...] = backend.xp.where(mask, self.source[k], p.data)
                p._version += 1

    def reset(self):
        """Write the source weights back into the model."""
        with no_grad():
            for k, p in self.params.items():
                p.data[...] = self.source[k]
                p._version += 1

    def state_dict(self):
        return {"source": {k: Tensor._wrap(a.copy()) for k, a in self.source.items()},
                "generator": _generator_state(self.generator)}

    def load_state_dict(self, state):
        source = state["source"]
        missing = [k for k in self.source if k not in source]
        extra = [k for k in source if k not in self.source]
        if missing or extra:
            raise KeyError(f"CoTTARestoration.load_state_dict: missing keys {missing}, "
                           f"unexpected keys {extra}")
        for k, a in self.source.items():
            s = _data(source[k])
            if tuple(s.shape) != tuple(a.shape):
                raise ValueError(f"CoTTARestoration.load_state_dict: {k!r} has shape "
                                 f"{tuple(s.shape)} in the state but {tuple(a.shape)} here")
            a[...] = backend_of_array(a).asarray(to_numpy(s)).astype(a.dtype)
        _set_generator_state(self.generator, state.get("generator"))


register(shrink_perturb, name="shrink_perturb", kind="optimizer", check="state",
         catalog_id="O085", papers=["Loss of Plasticity in Deep Continual Learning"])
register(ContinualBackprop, name="continual_backprop", kind="optimizer", check="state",
         catalog_id="O084", papers=["Loss of Plasticity in Deep Continual Learning"])
register(CoTTARestoration, name="cotta_restoration", kind="optimizer", check="state",
         catalog_id="O083", papers=["Continual Test-Time Domain Adaptation"])
