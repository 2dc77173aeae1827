"""Importance sampling of what a training step touches: LISA (a random subset of a network's
layers at a time, for memory-efficient fine-tuning) and PA&DA (supernet paths and training
samples drawn in proportion to their gradient norms)."""
import numpy

from minigrad.backends import get_backend, to_numpy
from minigrad.layers.module import Module
from minigrad.ops.random import generator_on
from minigrad.registry import register
from minigrad.tensor import Tensor
from minigrad.training.plasticity import _generator_state, _set_generator_state


class LISA:
    """LISA: every ``interval_steps`` optimizer steps, freeze all the intermediate layers and
    unfreeze ``n_layers`` of them drawn uniformly at random without replacement; everything
    outside ``layers`` (embedding, head, final norm) stays trainable. The optimizer (AdamW in
    the paper) then trains only the active set.

        for period i = 0, 1, ...:                  (Algorithm 1 of the paper)
            requires_grad ← False for every parameter of every layer in ``layers``
            A_i ← γ indices drawn uniformly from {0, …, N_L − 1} without replacement
            requires_grad ← True for the parameters of layers[j], j ∈ A_i
            run the optimizer for K steps

    Call ``lisa.step()`` once before every training step (forward/backward/optimizer.step):
    it switches the active layers when its step count is a multiple of K, including step 0,
    as LMFlow's ``DynamicLayerActivationCallback.on_step_begin`` does at
    ``global_step % interval_steps == 0``. Freezing also drops a frozen parameter's ``.grad``
    (minigrad optimizers skip parameters with ``requires_grad=False``).

    Optimizer state: LMFlow's current callback only toggles ``requires_grad``, so AdamW keeps
    the moments of frozen layers and resumes them when a layer is drawn again: the default
    here (``reset_state=False``). ``reset_state=True`` (needs ``optimizer``) discards the
    optimizer state of every layer that is frozen at a switch, which is what gives the
    paper's memory saving (state only for the active layers) and what the earlier
    LMFlow ``LISATrainer`` did by re-creating the optimizer each period.

    Arguments (defaults): ``layers`` — a list of Modules (or a ``ModuleList``/``Sequential``):
    the model's intermediate layers (LMFlow: ``model.model.layers``); ``n_layers`` γ = 1
    (``lisa_activated_layers``; the paper uses 1 to 2 for 7B models); ``interval_steps`` K = 20
    (``lisa_interval_steps``, LMFlow examples); ``optimizer`` (None); ``reset_state``;
    ``generator`` (None: minigrad's NumPy-backend generator; draws are ``permutation(N)[:γ]``
    of a NumPy stream; LMFlow uses ``np.random.choice(N, γ, replace=False)``).
    ``state_dict()`` keeps the step count, the active indices and the state of a given NumPy
    generator, so save → load → continue draws the same layers.

    Where it came from: OptimalScale/LMFlow src/lmflow/pipeline/utils/lisa_trainer.py
    (``DynamicLayerActivationCallback``) and scripts/archive/run_finetune_with_lisa.sh.
    Paper: Pan, Liu, Diao, Pi, Zhang, Han & Zhang 2024, "LISA: Layerwise Importance Sampling for
    Memory-Efficient Large Language Model Fine-Tuning" (Algorithm 1).
    """

    def __init__(self, layers, n_layers=1, interval_steps=20, optimizer=None, reset_state=False,
                 generator=None):
        layers = list(layers)
        if not layers or not all(isinstance(m, Module) for m in layers):
            raise TypeError("LISA: layers must be a non-empty list of Modules")
        if isinstance(n_layers, bool) or not isinstance(n_layers, int) or \
                not 1 <= n_layers <= len(layers):
            raise ValueError(f"LISA: n_layers must be an int in [1, {len(layers)}] (the number "
                             f"of layers), got {n_layers!r}")
        if isinstance(interval_steps, bool) or not isinstance(interval_steps, int) or \
                interval_steps < 1:
            raise ValueError(f"LISA: interval_steps must be a positive int, got {interval_steps!r}")
        if reset_state and optimizer is None:
            raise ValueError("LISA: reset_state=True needs the optimizer")
        self.layers, self.n_layers, self.interval_steps = layers, n_layers, interval_steps
        self.optimizer, self.reset_state, self.generator = optimizer, bool(reset_state), generator
        self.global_step = 0
        self.active_layers_indices = []

    def step(self):
        """Before a training step: switch the active layers every ``interval_steps`` steps
        (at 0, K, 2K, ...). Returns the active indices."""
        if self.global_step % self.interval_steps == 0:
            self.switch_active_layers()
        self.global_step += 1
        return list(self.active_layers_indices)

    def switch_active_layers(self):
        """Freeze every layer, draw γ of them and unfreeze those."""
        rng = generator_on(get_backend("numpy"), self.generator)
        order = rng.permutation(len(self.layers))
        chosen = [int(i) for i in order[:self.n_layers]]
        self._apply(chosen)
        return chosen

    def _apply(self, chosen):
        self.active_layers_indices = list(chosen)
        for j, layer in enumerate(self.layers):
            active = j in chosen
            for p in layer.parameters():
                p.requires_grad = active
                if not active:
                    p.grad = None
                    if self.reset_state:
                        self.optimizer.state.pop(p, None)

    def state_dict(self):
        return {"global_step": self.global_step,
                "active_layers_indices": list(self.active_layers_indices),
                "generator": _generator_state(self.generator)}

    def load_state_dict(self, state):
        chosen = [int(i) for i in state["active_layers_indices"]]
        if any(not 0 <= i < len(self.layers) for i in chosen):
            raise ValueError(f"LISA.load_state_dict: active indices {chosen} out of range for "
                             f"{len(self.layers)} layers")
        self.global_step = int(state["global_step"])
        reset, self.reset_state = self.reset_state, False   # the saved optimizer state is kept
        self._apply(chosen)
        self.reset_state = reset
        _set_generator_state(self.generator, state["generator"])


def _draw(rng, prob, size):
    """Indices drawn with replacement with probabilities ``prob`` by the inverse CDF, as
    ``numpy.random.Generator.choice(len(prob), size, p=prob)`` does (same stream, same draws)."""
    cdf = numpy.cumsum(prob)
    cdf /= cdf[-1]
    u = to_numpy(rng.random(size))
    return cdf.searchsorted(u, side="right")


def _host(x):
    return to_numpy(x.data if isinstance(x, Tensor) else x)


class PADASampler:
    """PA&DA: sample the supernet's paths and the training data in proportion to their
    gradient norms, mixed with the uniform distribution by a weight τ that grows from 0 to 1
    over the epochs (τ_e = e/E for epoch e of E).

    Paths (``num_edges`` edges, each choosing one of ``num_ops`` candidate operations):

        every step:  arch ~ ∏_edges Categorical(q)                (``sample_path``)
                     after backward: s_o = Σ ‖∇W‖ over the parameters of the op-o modules on
                     the sampled path, divided by how many edges chose o; where s_o ≠ 0:
                     n_o ← (n_o + s_o)/2                          (``record_path``; n_o = 0
                                                                   at the start of each epoch)
        end of epoch e:  q ← τ_e·n/Σn + (1 − τ_e)·uniform

    Data (N training samples):

        every step:  per-sample gradient-norm proxy h_i = ‖softmax(z_i) − onehot(y_i)‖₂
                     (the norm of the cross-entropy gradient at the logits;
                     ``logit_grad_norms``); where h̄_i ≠ 0: h̄_i ← (h̄_i + h_i)/2, else h̄_i ← h_i
                     (``record_samples``; h̄ = 0 at the start of each epoch)
        end of epoch e:  p ← τ_e·h̄/Σh̄ + (1 − τ_e)/N;  the next epoch's N indices are drawn
                     from p with replacement                      (``end_epoch``)

    Where it came from: ShunLu91/PA-DA nasbench201/train_panda_201.py
    (``path_importance_sampling``, ``operatio_gradient_norm_prob``,
    ``sample_prob_with_grads_norm``, the end of ``train``; ``args.tau = args.path_tau =
    epoch/epochs``). The official code trains on the plain mean loss of the drawn samples (no
    1/(N·p_i) correction); ``importance_weights(indices)`` gives those unbiasing weights
    1/(N·p_i) for a loss that wants them (the paper's variance-reduction derivation), unused
    by default. Where Σn or Σh̄ is 0 (no parametrized op drawn, no sample recorded) the
    reference divides 0 by 0; here that part of the mixture is uniform instead.
    Draws use ``generator`` (default: minigrad's NumPy-backend generator) by the inverse
    CDF, as ``numpy.random.Generator.choice`` does. ``state_dict()`` keeps q, p, the epoch's
    running norms and a given NumPy generator's state.

    ``PADASampler(num_samples, num_ops=5, num_edges=6, epochs=250, generator=None)``
    (NAS-Bench-201: 5 ops, 6 edges, 250 epochs). Per epoch e: ``begin_epoch(e)``; per step
    ``arch = s.sample_path()``, forward, ``s.record_samples(indices,
    s.logit_grad_norms(logits, targets))``, backward, optimizer step,
    ``s.record_path(arch, {op: Σ‖∇W‖ of that op's modules})``; then ``order =
    s.end_epoch()`` (the training indices of the next epoch).

    Paper: Lu, Hu, Yang et al. 2023, "PA&DA: Jointly Sampling PAth and DAta for
    Consistent NAS".
    """

    def __init__(self, num_samples, num_ops=5, num_edges=6, epochs=250, generator=None):
        for name, v in (("num_samples", num_samples), ("num_ops", num_ops),
                        ("num_edges", num_edges), ("epochs", epochs)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"PADASampler: {name} must be a positive int, got {v!r}")
        self.num_samples, self.num_ops, self.num_edges, self.epochs = (num_samples, num_ops,
                                                                      num_edges, epochs)
        self.generator = generator
        self.path_prob = numpy.full(num_ops, 1.0 / num_ops)
        self.data_prob = numpy.full(num_samples, 1.0 / num_samples)
        self.epoch = 0
        self._reset_epoch()

    def _reset_epoch(self):
        self.path_grad_norm = numpy.zeros(self.num_ops)
        self.sample_grad_norm = numpy.zeros(self.num_samples)

    @property
    def tau(self):
        return self.epoch / self.epochs

    def _rng(self):
        return generator_on(get_backend("numpy"), self.generator)

    def begin_epoch(self, epoch):
        """Start epoch ``epoch`` (from 0): τ = epoch/epochs, running norms zeroed."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"PADASampler.begin_epoch: epoch must be an int >= 0, got {epoch!r}")
        self.epoch = epoch
        self._reset_epoch()

    def sample_path(self):
        """One op index per edge, drawn from q."""
        return [int(i) for i in _draw(self._rng(), self.path_prob, self.num_edges)]

    @staticmethod
    def logit_grad_norms(logits, targets):
        """h_i = ‖softmax(z_i) − onehot(y_i)‖₂ for a batch of logits (N, C) and labels (N,)."""
        z = numpy.asarray(_host(logits), dtype=numpy.float64)
        y = numpy.asarray(_host(targets)).astype(numpy.int64)
        if z.ndim != 2 or y.shape != (z.shape[0],):
            raise ValueError(f"PADASampler.logit_grad_norms: logits (N, C) and targets (N,), "
                             f"got {z.shape} and {y.shape}")
        e = numpy.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        p[numpy.arange(len(y)), y] -= 1.0
        return numpy.sqrt((p * p).sum(axis=1))

    def record_samples(self, indices, grad_norms):
        """Fold this step's per-sample norms into h̄ (indices into the dataset)."""
        idx = numpy.asarray(_host(indices)).astype(numpy.int64).reshape(-1)
        h = numpy.asarray(_host(grad_norms), dtype=numpy.float64).reshape(-1)
        if idx.shape != h.shape:
            raise ValueError(f"PADASampler.record_samples: {idx.size} indices for {h.size} norms")
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_samples):
            raise ValueError(f"PADASampler.record_samples: indices must be in [0, {self.num_samples})")
        for i, v in zip(idx, h):
            old = self.sample_grad_norm[i]
            self.sample_grad_norm[i] = (old + v) / 2.0 if old != 0 else v

    def record_path(self, arch, op_grad_norms):
        """Fold this step's per-op gradient norms (``{op: Σ‖∇W‖}`` over the modules of op on
        the sampled path ``arch``) into n."""
        arch = list(arch)
        if len(arch) != self.num_edges or any(not 0 <= int(o) < self.num_ops for o in arch):
            raise ValueError(f"PADASampler.record_path: arch must list {self.num_edges} op "
                             f"indices in [0, {self.num_ops}), got {arch}")
        for op, total in op_grad_norms.items():
            total = float(total)
            count = arch.count(op)
            if total != 0.0:
                if count == 0:
                    raise ValueError(f"PADASampler.record_path: op {op} has a gradient norm "
                                     f"but is not on the path {arch}")
                self.path_grad_norm[op] = (self.path_grad_norm[op] + total / count) / 2.0

    def end_epoch(self):
        """Update q and p with this epoch's τ and return the next epoch's N training indices
        (drawn from p with replacement)."""
        tau = self.tau
        self.path_prob = self._mix(self.path_grad_norm, tau)
        self.data_prob = self._mix(self.sample_grad_norm, tau)
        return _draw(self._rng(), self.data_prob, self.num_samples)

    @staticmethod
    def _mix(norms, tau):
        uniform = numpy.full(len(norms), 1.0 / len(norms))
        total = norms.sum()
        part = norms / total if total > 0 else uniform
        return part * tau + uniform * (1.0 - tau)

    def importance_weights(self, indices):
        """1/(N·p_i) for the given sample indices (an unbiased importance-sampled loss)."""
        idx = numpy.asarray(_host(indices)).astype(numpy.int64)
        return 1.0 / (self.num_samples * self.data_prob[idx])

    def state_dict(self):
        return {"epoch": self.epoch, "path_prob": [float(v) for v in self.path_prob],
                "path_grad_norm": [float(v) for v in self.path_grad_norm],
                "data_prob": Tensor._wrap(self.data_prob.copy()),
                "sample_grad_norm": Tensor._wrap(self.sample_grad_norm.copy()),
                "generator": _generator_state(self.generator)}

    def load_state_dict(self, state):
        data_prob = numpy.asarray(_host(state["data_prob"]), dtype=numpy.float64)
        if data_prob.shape != (self.num_samples,) or len(state["path_prob"]) != self.num_ops:
            raise ValueError("PADASampler.load_state_dict: the state was saved for another "
                             "number of samples or ops")
        self.epoch = int(state["epoch"])
        self.path_prob = numpy.asarray(state["path_prob"], dtype=numpy.float64)
        self.path_grad_norm = numpy.asarray(state["path_grad_norm"], dtype=numpy.float64)
        self.data_prob = data_prob.copy()
        self.sample_grad_norm = numpy.asarray(_host(state["sample_grad_norm"]),
                                              dtype=numpy.float64).copy()
        _set_generator_state(self.generator, state["generator"])


register(LISA, name="lisa", kind="optimizer", check="state", catalog_id="O087",
         papers=["LISA: Layerwise Importance Sampling for Memory-Efficient Large Language "
                 "Model Fine-Tuning"])
register(PADASampler, name="pada_sampling", kind="optimizer", check="state", catalog_id="O088",
         papers=["PA&DA: Jointly Sampling PAth and DAta for Consistent NAS"])
