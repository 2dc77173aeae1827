"""Adaptive (per-layer-group) model averaging between a pre-RLHF and a post-RLHF model: the
averaging ratio of each group of layers is learned, their mean held fixed."""
import math
from collections import OrderedDict

from minigrad import functional as F
from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array
from minigrad.func import functional_call
from minigrad.layers.module import Module, Parameter
from minigrad.registry import register
from minigrad.tensor import Tensor
from minigrad.training.merging import _check_same, _floating, _states

_UNGROUPED = ("average", "pre", "rlhf")


class AdaptiveModelAveraging:
    """Adaptive Model Averaging (AMA, the paper's Heterogeneous Model Averaging): the layers
    are split into K groups; group k is averaged with its own ratio α_k, and the ratios are
    learned by gradient descent on the alignment objective while their mean stays ᾱ.

        s_k = σ(a_k) + ε                          (a_k: learned logits, a_k⁰ = logit(ᾱ))
        α_k = ᾱ·K·s_k / Σ_j s_j                   ⇒ (1/K)·Σ_k α_k = ᾱ exactly
        θ_p(α) = α_k·θ_p^pre + (1 − α_k)·θ_p^RLHF   for every entry p of group k
        objective(a) = L_align(θ(α)) + λ·Σ_k w_k·|α_k − ᾱ|
        ∂L/∂α_k = Σ_{p∈k} ⟨∂L/∂θ_p, θ_p^pre − θ_p^RLHF⟩   (chained through the softmax-like map)

    α is the weight of the PRE-RLHF model (α = 0: the RLHF model; α = 1: the model before
    RLHF), as in the official code and its README ("α·θ0 + (1 − α)·θ1"). L_align is the
    alignment objective evaluated through the averaged weights: the official run minimises the
    language-model loss on the RAFT samples collected from the RLHF policy (high-reward
    responses), i.e. it maximises reward by imitation; any differentiable loss of the averaged
    model works here (``forward`` runs the model on θ(α), gradients reach only the logits a).

    Defaults follow avalonstrel/Mitigating-the-Alignment-Tax-of-RLHF,
    scripts/mask_post/run_mask_finetune_raft.sh and src/lmflow/pipeline/utils/mask_trainer.py
    (``MaskNormalizedSigmoidLinear``, ``MaskTrainer.compute_loss``): ``init_val`` ᾱ = 0.2,
    ``epsilon`` ε = 0.2, ``reg_alpha`` λ = 1e-4, the logits optimised with the Trainer's AdamW
    at lr 2e-5 (make it with ``minigrad.optim.AdamW(ama.parameters(), lr=2e-5)``); the 3-block
    split (``mask_level=block3``) puts layers 0–7 / 8–15 / 16–25 of OpenLLaMA-3B (0–10 / 11–20 /
    21+ of 32-layer models) in the three groups. The official penalty sums |α − ᾱ| over every
    Linear module, i.e. group k is weighted by its number of Linear modules, times the layer
    weight 25/(|layer − 13| + 1) in its "weighted" variant (``sum_reg_type=0.2``); here that is
    ``reg_weights`` (one w_k per group, default 1 each: pass the module counts / layer weights
    to reproduce either variant). Entries in no group (the official code keeps ``lm_head`` at
    the fixed ratio ᾱ) use ᾱ with ``ungrouped="average"`` (default), or are taken from
    θ^pre (``"pre"``; the official merge script copies every non-Linear entry, embeddings and
    norms, from the pre-RLHF model) or from θ^RLHF (``"rlhf"``). Non-floating entries are
    copied from θ^pre.

    ``AdaptiveModelAveraging(model, theta_pre, theta_rlhf, groups, init_val=0.2,
    epsilon=0.2, reg_alpha=1e-4, reg_weights=None, ungrouped="average")``:
    ``model``: a Module of the architecture (its own weights are not used); ``theta_pre``,
    ``theta_rlhf``: Modules or state dicts with ``model``'s keys; ``groups``: K ≥ 1 disjoint,
    non-empty lists of state-dict keys. Methods: ``ratios()`` (α, a (K,) tensor on the tape),
    ``merged_parameters()`` (θ(α) as {name: tensor}, differentiable in the logits),
    ``forward(*args)`` / ``__call__`` (the model on θ(α)), ``penalty()`` (λ·Σ w_k|α_k − ᾱ|),
    ``merged_state_dict()`` (the averaged model, a new state dict for ``load_state_dict``),
    ``parameters()``, ``state_dict()`` / ``load_state_dict()`` (the logits).

    Paper: Lin, Lin, Xiong, Diao, Liu, Zhang, Pan, Wang, Hu, Zhang, Dong, Pi, Zhao, Jiang,
    Ji, Yao & Zhang 2024, "Mitigating the Alignment Tax of RLHF" (Heterogeneous / Adaptive
    Model Averaging: max over α_1..α_K of the reward s.t. (1/K)·Σα_k = ᾱ; the paper's text was
    not available here, the rule is read from the official code named above).
    """

    def __init__(self, model, theta_pre, theta_rlhf, groups, init_val=0.2, epsilon=0.2,
                 reg_alpha=1e-4, reg_weights=None, ungrouped="average"):
        op = "AdaptiveModelAveraging"
        if not isinstance(model, Module):
            raise TypeError(f"{op}: model must be a Module, got {type(model).__name__}")
        if not 0.0 < float(init_val) < 1.0:
            raise ValueError(f"{op}: init_val must be in (0, 1), got {init_val}")
        if not float(epsilon) >= 0.0:
            raise ValueError(f"{op}: epsilon must be >= 0, got {epsilon}")
        if not float(reg_alpha) >= 0.0:
            raise ValueError(f"{op}: reg_alpha must be >= 0, got {reg_alpha}")
        if ungrouped not in _UNGROUPED:
            raise ValueError(f"{op}: ungrouped must be one of {_UNGROUPED}, got {ungrouped!r}")
        pre, rlhf = _states([theta_pre, theta_rlhf], op)
        _check_same(pre, OrderedDict((k, v.data) for k, v in model.state_dict().items()),
                    op, "model", "theta_pre")
        groups = [list(g) for g in groups]
        if not groups:
            raise ValueError(f"{op}: needs at least one group of keys")
        owner = {}
        for k, g in enumerate(groups):
            if not g:
                raise ValueError(f"{op}: group {k} is empty")
            for name in g:
                if name not in pre:
                    raise KeyError(f"{op}: group {k} names {name!r}, which is not a state-dict "
                                   "key")
                if not _floating(pre[name]):
                    raise TypeError(f"{op}: group {k} names {name!r}, which is not floating")
                if name in owner:
                    raise ValueError(f"{op}: {name!r} is in groups {owner[name]} and {k}")
                owner[name] = k
        if reg_weights is None:
            reg_weights = [1.0] * len(groups)
        reg_weights = [float(w) for w in reg_weights]
        if len(reg_weights) != len(groups) or any(not w >= 0.0 for w in reg_weights):
            raise ValueError(f"{op}: reg_weights must be {len(groups)} numbers >= 0, got "
                             f"{reg_weights}")
        self.model, self.groups, self.owner = model, groups, owner
        self.pre, self.rlhf = pre, rlhf
        self.init_val, self.epsilon = float(init_val), float(epsilon)
        self.reg_alpha, self.reg_weights, self.ungrouped = float(reg_alpha), reg_weights, ungrouped
        first = pre[groups[0][0]]
        xp = backend_of_array(first).xp
        a0 = math.log(self.init_val / (1.0 - self.init_val))
        self.logits = Parameter(Tensor._wrap(xp.full(len(groups), a0, dtype=first.dtype)))

    # -------------------------------------------------------------------- the ratios
    def ratios(self):
        """α_k = ᾱ·K·(σ(a_k) + ε) / Σ_j (σ(a_j) + ε): a (K,) tensor on the tape."""
        s = F.sigmoid(self.logits) + self.epsilon
        return s * (self.init_val * len(self.groups)) / s.sum()

    def _fixed_ratio(self):
        return {"average": self.init_val, "pre": 1.0, "rlhf": 0.0}[self.ungrouped]

    def merged_parameters(self):
        """{name: α_k·θ^pre + (1 − α_k)·θ^RLHF} for every floating entry (the ungrouped ones at
        their fixed ratio), differentiable in the logits."""
        alpha = self.ratios()
        fixed = self._fixed_ratio()
        out = OrderedDict()
        for name, a in self.pre.items():
            if not _floating(a):
                continue
            b = self.rlhf[name]
            if name in self.owner:
                r = alpha[self.owner[name]]
                out[name] = r * Tensor._wrap(a - b) + Tensor._wrap(b)
            else:
                out[name] = Tensor._wrap((a * a.dtype.type(fixed) + b * a.dtype.type(1.0 - fixed))
                                         .astype(a.dtype, copy=False))
        return out

    def forward(self, *args, **kwargs):
        """The model run on the averaged weights θ(α)."""
        return functional_call(self.model, self.merged_parameters(), args, kwargs)

    __call__ = forward

    def penalty(self):
        """λ·Σ_k w_k·|α_k − ᾱ| (a scalar tensor; add it to the alignment loss)."""
        alpha = self.ratios()
        w = Tensor._wrap(backend_of_array(self.logits.data).xp.asarray(
            self.reg_weights, dtype=self.logits.data.dtype))
        return ((alpha - self.init_val).abs() * w).sum() * self.reg_alpha

    def merged_state_dict(self):
        """The averaged model at the current ratios: a new state dict of fresh tensors."""
        with no_grad():
            alpha = [float(v) for v in backend_of_array(self.logits.data).to_numpy(
                self.ratios().data)]
        fixed = self._fixed_ratio()
        out = OrderedDict()
        for name, a in self.pre.items():
            if _floating(a):
                r = alpha[self.owner[name]] if name in self.owner else fixed
                b = self.rlhf[name]
                out[name] = Tensor._wrap((a * a.dtype.type(r) + b * a.dtype.type(1.0 - r))
                                         .astype(a.dtype, copy=False))
            else:
                out[name] = Tensor._wrap(a.copy())
        return out

    # ------------------------------------------------------------------------ state
    def parameters(self):
        return [self.logits]

    def state_dict(self):
        return {"logits": self.logits.data.copy()}

    def load_state_dict(self, state):
        logits = state["logits"]
        logits = logits.data if isinstance(logits, Tensor) else logits
        if tuple(logits.shape) != tuple(self.logits.shape):
            raise ValueError(f"AdaptiveModelAveraging.load_state_dict: logits of shape "
                             f"{tuple(logits.shape)}, expected {tuple(self.logits.shape)}")
        self.logits.data[...] = backend_of_array(self.logits.data).asarray(logits)


register(AdaptiveModelAveraging, name="adaptive_model_averaging", kind="optimizer",
         check="state", catalog_id="O077", papers=["Mitigating the Alignment Tax of RLHF"])
