"""Weight-space merging of models that share an architecture: uniform and greedy model soups,
linear interpolation (WiSE-FT), task arithmetic, Fisher-weighted merging and sparse model
soups (iterative magnitude pruning + averaging of same-mask models).

Every function takes models as ``Module`` objects or state dicts (``{name: Tensor or array}``,
as ``module.state_dict()`` returns) and returns a NEW ordered state dict of fresh tensors (no
aliasing of any input), ready for ``model.load_state_dict``. The inputs must have the same
keys, shapes, dtypes and backend: a mismatch raises an error naming the key and both shapes.
Floating entries are merged in their own dtype on their own backend; non-floating entries
(integer counters such as ``num_batches_tracked``) are copied from the first state dict.
Nothing here is differentiated: the arithmetic runs on the raw arrays.
"""
from collections import OrderedDict

from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array
from minigrad.layers.module import Module
from minigrad.registry import register
from minigrad.tensor import Tensor


# ------------------------------------------------------------------ state-dict plumbing
def _arrays(obj, op, where):
    """``obj`` (a Module or a state dict of tensors/arrays) as an ordered {name: array}."""
    if isinstance(obj, Module):
        obj = obj.state_dict()
    if not hasattr(obj, "items"):
        raise TypeError(f"{op}: {where} must be a Module or a state dict, got {type(obj).__name__}")
    return OrderedDict((k, v.data if isinstance(v, Tensor) else v) for k, v in obj.items())


def _floating(a):
    return a.dtype.kind == "f"


def _check_same(ref, other, op, where, ref_name="the first state dict"):
    missing = [k for k in ref if k not in other]
    extra = [k for k in other if k not in ref]
    if missing or extra:
        raise KeyError(f"{op}: {where} does not match {ref_name}: missing keys {missing}, "
                       f"unexpected keys {extra}")
    for k, a in ref.items():
        b = other[k]
        if tuple(a.shape) != tuple(b.shape):
            raise ValueError(f"{op}: {k!r} has shape {tuple(b.shape)} in {where} but "
                             f"{tuple(a.shape)} in {ref_name}")
        if a.dtype != b.dtype:
            raise TypeError(f"{op}: {k!r} has dtype {b.dtype} in {where} but {a.dtype} in "
                            f"{ref_name}")
        if backend_of_array(a) is not backend_of_array(b):
            raise TypeError(f"{op}: {k!r} is on backend {backend_of_array(b).name} in {where} "
                            f"but {backend_of_array(a).name} in {ref_name}")


def _states(models, op):
    models = list(models)
    if not models:
        raise ValueError(f"{op}: needs at least one model")
    states = [_arrays(m, op, f"model {i}") for i, m in enumerate(models)]
    for i, s in enumerate(states[1:], 1):
        _check_same(states[0], s, op, f"model {i}")
    return states


def _weights(weights, n, op, name="weights"):
    if weights is None:
        return [1.0 / n] * n
    weights = [float(w) for w in weights]
    if len(weights) != n:
        raise ValueError(f"{op}: {len(weights)} {name} for {n} models")
    return weights


def _combine(states, weights, keys=None):
    """Σ_i w_i·θ_i for every floating entry (in ``keys``, if given; the first state's value
    elsewhere), accumulated in order in the entries' dtype."""
    out = OrderedDict()
    with no_grad():
        for k, a in states[0].items():
            if _floating(a) and (keys is None or k in keys):
                acc = a * a.dtype.type(weights[0])
                for s, w in zip(states[1:], weights[1:]):
                    acc = acc + s[k] * a.dtype.type(w)
                out[k] = Tensor._wrap(acc.astype(a.dtype, copy=False))
            else:
                out[k] = Tensor._wrap(a.copy())
    return out


# --------------------------------------------------------------------------- model soups
def model_soup(state_dicts, weights=None):
    """The uniform model soup: the average of the weights of models fine-tuned from one
    initialization.

        θ_soup = Σ_i w_i·θ_i,   w_i = 1/k by default (k models)

    ``state_dicts`` is a list of Modules or state dicts with the same keys, shapes, dtypes and
    backend; ``weights`` (default uniform) are the mixing weights as given (not renormalized).
    Floating buffers (BatchNorm running statistics) are averaged like the weights, as the
    reference averages every state-dict entry; integer buffers are copied from the first.
    Returns a new state dict. ``greedy_soup`` is the paper's greedy recipe.

    Where it came from: mlfoundations/model-soups main.py (``--uniform-soup``: each state dict
    scaled by 1/k and summed in order, as here).
    Paper: Wortsman, Ilharco, Gadre, Roelofs, Gontijo-Lopes, Morcos, Namkoong, Farhadi, Carmon,
    Kornblith & Schmidt 2022, "Model soups: averaging weights of multiple fine-tuned models
    improves accuracy without increasing inference time".
    """
    states = _states(state_dicts, "model_soup")
    return _combine(states, _weights(weights, len(states), "model_soup"))


def greedy_soup(state_dicts, evaluate, scores=None, accept_ties=False, return_ingredients=False):
    """The greedy model soup: add models to the soup, best first, only while the held-out
    score does not get worse.

        sort the models by held-out score s_i, decreasing (stable: ties keep the given order)
        soup ← {best};  best_score ← its s
        for every next model i:  candidate = mean(soup ∪ {θ_i})
                                 (computed as θ_soup·n/(n+1) + θ_i/(n+1), n = |soup|)
            if evaluate(candidate) > best_score: soup ← soup ∪ {i}, best_score ← that score

    ``evaluate(state_dict) -> float`` (higher is better: held-out accuracy) is called once per
    candidate soup, and once per model when ``scores`` (the individual held-out scores) is None.
    ``accept_ties=True`` accepts a candidate that only equals the best score (``>=``), as the
    paper's Recipe 1 and ZIB-IOL/SMS's GreedySoup do; the default follows the official
    mlfoundations/model-soups main.py, which keeps a model only if the score strictly increases.
    (That script sorts ascending and reverses, which puts models with equal scores in reverse
    order; here they keep the given order.)
    Returns the soup's state dict, or ``(state_dict, ingredients, history)`` with
    ``return_ingredients=True`` (``ingredients``: indices into ``state_dicts`` in the order
    added; ``history``: ``(index, candidate score, accepted)`` for every model tried).

    Paper: Wortsman et al. 2022, "Model soups: averaging weights of multiple fine-tuned models
    improves accuracy without increasing inference time" (Recipe 1, GreedySoup).
    """
    states = _states(state_dicts, "greedy_soup")
    if scores is None:
        scores = [float(evaluate(_combine([s], [1.0]))) for s in states]
    scores = [float(s) for s in scores]
    if len(scores) != len(states):
        raise ValueError(f"greedy_soup: {len(scores)} scores for {len(states)} models")
    order = sorted(range(len(states)), key=lambda i: -scores[i])
    ingredients, best = [order[0]], scores[order[0]]
    soup = _combine([states[order[0]]], [1.0])
    history = [(order[0], best, True)]
    for i in order[1:]:
        n = len(ingredients)
        current = _arrays(soup, "greedy_soup", "the soup")
        candidate = _combine([current, states[i]], [n / (n + 1.0), 1.0 / (n + 1.0)])
        score = float(evaluate(candidate))
        accepted = score >= best if accept_ties else score > best
        history.append((i, score, accepted))
        if accepted:
            ingredients.append(i)
            best, soup = score, candidate
    return (soup, ingredients, history) if return_ingredients else soup


# ------------------------------------------------------------------ interpolation (WiSE-FT)
def weight_interpolation(theta_0, theta_1, alpha=0.5):
    """Linear interpolation of two models' weights (WiSE-FT, and the same operation in BANG,
    RiFT's interpolation and RLHF model averaging).

        θ(α) = (1 − α)·θ₀ + α·θ₁

    ``theta_0``: the zero-shot / pre-trained (or adversarially trained, for RiFT) weights;
    ``theta_1``: the fine-tuned weights; ``alpha`` = 0.5 (WiSE-FT's default ``--alpha``).
    Modules or state dicts with the same keys, shapes, dtypes and backend; returns a new state
    dict. ``interpolation_sweep`` evaluates a list of α.

    Where it came from: mlfoundations/wise-ft src/wise_ft.py (``_merge`` without Fishers; its
    Fisher-weighted variant is ``fisher_merging`` here).
    Paper: Wortsman, Ilharco, Kim, Li, Kornblith, Roelofs, Gontijo-Lopes, Hajishirzi, Farhadi,
    Namkoong & Schmidt 2022, "Robust fine-tuning of zero-shot models"; used in "Spurious
    Feature Diversification Improves Out-of-distribution Generalization", "Improving
    Generalization of Adversarial Training via Robust Critical Fine-Tuning", "Mitigating the
    Alignment Tax of RLHF".
    """
    states = _states([theta_0, theta_1], "weight_interpolation")
    alpha = float(alpha)
    return _combine(states, [1.0 - alpha, alpha])


def interpolation_sweep(theta_0, theta_1, alphas, evaluate):
    """``[(α, evaluate(weight_interpolation(theta_0, theta_1, α))) for α in alphas]``: the
    α sweep of WiSE-FT (``--alpha`` list) and RiFT (pick the α with the best generalization
    whose robust accuracy stays at least the original's, from what ``evaluate`` returns)."""
    return [(float(a), evaluate(weight_interpolation(theta_0, theta_1, a))) for a in alphas]


# ------------------------------------------------------------------------ task arithmetic
def task_vector(pretrained, finetuned):
    """τ = θ_finetuned − θ_pretrained for every floating entry (a new state dict; integer
    entries are dropped)."""
    base, ft = _states([pretrained, finetuned], "task_vector")
    with no_grad():
        return OrderedDict((k, Tensor._wrap(ft[k] - a)) for k, a in base.items() if _floating(a))


def task_arithmetic(pretrained, finetuned, scaling=1.0, keys=None):
    """Task arithmetic / Robust Weight Signatures: add scaled task vectors to a base model.

        τ_i = θ_i − θ₀,   θ = θ₀ + Σ_i c_i·τ_i

    ``pretrained``: θ₀ (for RWS the clean model); ``finetuned``: one model or a list θ_i (for
    RWS the models fine-tuned on corruption k, so τ_k = RWS_k); ``scaling``: c_i, one number
    for all or one per model (default 1.0; RWS scales s_k ∈ [0, 1+]); ``keys``: the entries to
    patch (RWS patches only the shallow layers), default every floating entry; the others keep
    θ₀. Returns a new state dict, computed as θ₀ + Σ_i c_i·(θ_i − θ₀) in the entries' dtype.

    Paper: Cai, Zhang & Wang 2023, "Robust Weight Signatures: Gaining Robustness as Easy
    as Patching Weights?"; task vectors as in Ilharco et al. 2023, "Editing Models with Task
    Arithmetic"; the linear merge baseline of "MAP: Low-compute Model Merging with Amortized
    Pareto Fronts via Quadratic Approximation". RWS's storage projection/quantization of the
    signatures is not part of this function.
    """
    single = isinstance(finetuned, Module) or hasattr(finetuned, "items")
    finetuned = [finetuned] if single else list(finetuned)
    states = _states([pretrained] + finetuned, "task_arithmetic")
    n = len(finetuned)
    coeffs = [float(scaling)] * n if isinstance(scaling, (int, float)) else \
        _weights(scaling, n, "task_arithmetic", "scaling coefficients")
    if keys is not None:
        keys = set(keys)
        unknown = sorted(keys - set(states[0]))
        if unknown:
            raise KeyError(f"task_arithmetic: keys {unknown} are not in the state dicts")
    base = states[0]
    out = OrderedDict()
    with no_grad():
        for k, a in base.items():
            if _floating(a) and (keys is None or k in keys):
                acc = a.copy()
                for s, c in zip(states[1:], coeffs):
                    acc = acc + a.dtype.type(c) * (s[k] - a)
                out[k] = Tensor._wrap(acc.astype(a.dtype, copy=False))
            else:
                out[k] = Tensor._wrap(a.copy())
    return out


# ------------------------------------------------------------------------ Fisher merging
def diagonal_fisher(model, x, variant="exact", y=None, generator=None, method="auto"):
    """The diagonal Fisher information of a classifier's parameters on inputs ``x``:

        exact:     F = (1/N) Σ_n Σ_c p_θ(c∣x_n)·(∇_θ log p_θ(c∣x_n))²
        sample:    F = (1/N) Σ_n (∇_θ log p_θ(ŷ_n∣x_n))²,  ŷ_n ∼ p_θ(·∣x_n)
        empirical: F = (1/N) Σ_n (∇_θ log p_θ(y_n∣x_n))²,  y_n the given labels ``y``

    ``model(x)`` returns logits (N, C). The per-example gradients come from
    ``minigrad.func.per_sample_grads`` (one batched backward per class for Linear/Conv models,
    else a loop of batches of one), squared and summed outside the tape. Run the model in the
    mode you want the Fisher of (mmatena/model_merging uses inference mode, ``model.eval()``).
    Returns ``{parameter name: Tensor}`` (parameters that require grad), in their dtype.

    Where it came from: mmatena/model_merging model_merging/fisher.py (the exact expectation
    over the model's own labels, ``expectation_wrt_logits=True``, is the default there too).
    Paper: Matena & Raffel 2022, "Merging Models with Fisher-Weighted Averaging".
    """
    from minigrad.func import per_sample_grads
    from minigrad.layers.losses.classification import cross_entropy
    from minigrad.ops.random import generator_on

    if variant not in ("exact", "sample", "empirical"):
        raise ValueError(f"diagonal_fisher: variant must be 'exact', 'sample' or 'empirical', "
                         f"got {variant!r}")
    xt = x if isinstance(x, Tensor) else Tensor(x)
    with no_grad():
        logits = model(xt).data
    if logits.ndim != 2:
        raise ValueError(f"diagonal_fisher: the model must return logits of shape (N, C), got "
                         f"{tuple(logits.shape)}")
    backend = backend_of_array(logits)
    xp = backend.xp
    n, classes = logits.shape
    z = logits - logits.max(axis=1, keepdims=True)
    probs = xp.exp(z)
    probs /= probs.sum(axis=1, keepdims=True)

    def loss_fn(out, target):
        return cross_entropy(out, target, reduction="none")

    def squared(labels, weight=None):
        target = Tensor._wrap(backend.asarray(labels).astype("int64"))
        grads = per_sample_grads(model, loss_fn, xt, target, method=method)
        out = {}
        for name, g in grads.items():
            sq = g.data * g.data
            if weight is not None:
                sq = sq * weight.reshape((n,) + (1,) * (sq.ndim - 1)).astype(sq.dtype)
            out[name] = sq.sum(axis=0)
        return out

    if variant == "exact":
        total = None
        for c in range(classes):
            part = squared(xp.full((n,), c), probs[:, c])
            total = part if total is None else {k: total[k] + v for k, v in part.items()}
    elif variant == "sample":
        u = generator_on(backend, generator).random((n, 1))
        cdf = xp.cumsum(probs, axis=1)
        labels = xp.minimum((cdf < u.astype(cdf.dtype)).sum(axis=1), classes - 1)
        total = squared(labels)
    else:
        if y is None:
            raise ValueError("diagonal_fisher: the 'empirical' variant needs the labels y")
        labels = y.data if isinstance(y, Tensor) else y
        if tuple(labels.shape) != (n,):
            raise ValueError(f"diagonal_fisher: y has shape {tuple(labels.shape)}, expected "
                             f"({n},)")
        total = squared(labels)
    params = dict(model.named_parameters())
    return OrderedDict((k, Tensor._wrap((v / n).astype(params[k].dtype, copy=False)))
                       for k, v in total.items())


def fisher_merging(state_dicts, fishers, coefficients=None, fisher_floor=1e-6,
                   favor_target_model=True, normalize_fishers=True):
    """Fisher-weighted averaging of models with diagonal Fishers F_i (``diagonal_fisher``):

        c_i ← λ_i / ‖F_i‖          (normalize_fishers; ‖F_i‖ = √(Σ over all entries of F_i²))
        F̃_i = max(F_i, floor)     (only for the target model i = 0 if favor_target_model)
        θ* = Σ_i c_i·F̃_i⊙θ_i / Σ_i c_i·F̃_i

    ``state_dicts``: the models (the first is the "target" whose Fisher is floored);
    ``fishers``: one ``{name: Fisher}`` per model; ``coefficients``: λ_i (default 1/M);
    ``fisher_floor`` = 1e-6, ``favor_target_model`` = True, ``normalize_fishers`` = True are the
    reference's defaults. Floating entries without a Fisher in every model (buffers) are
    averaged with the coefficients λ_i / Σλ (no Fisher weighting); an entry with a Fisher in
    only some models raises. Where every F̃_i of an element is 0 (only possible when the target
    is not floored or λ_0 = 0) the result is 0/0 = NaN, as the formula says.

    Where it came from: mmatena/model_merging model_merging/merging.py (``_merge_with_coeffs``,
    ``_l2_norm_of_fisher``).
    Paper: Matena & Raffel 2022, "Merging Models with Fisher-Weighted Averaging".
    """
    op = "fisher_merging"
    states = _states(state_dicts, op)
    m = len(states)
    fishers = list(fishers)
    if len(fishers) != m:
        raise ValueError(f"{op}: {len(fishers)} Fishers for {m} models")
    lam = _weights(coefficients, m, op, "coefficients")
    fish = [_arrays(f, op, f"Fisher {i}") for i, f in enumerate(fishers)]
    for i, f in enumerate(fish):
        for k, a in f.items():
            if k not in states[0]:
                raise KeyError(f"{op}: Fisher {i} has key {k!r}, which is not in the models")
            if tuple(a.shape) != tuple(states[0][k].shape):
                raise ValueError(f"{op}: the Fisher of {k!r} has shape {tuple(a.shape)} in "
                                 f"Fisher {i} but the weight has shape "
                                 f"{tuple(states[0][k].shape)}")
    keys = set(fish[0])
    for i, f in enumerate(fish[1:], 1):
        if set(f) != keys:
            raise KeyError(f"{op}: Fisher {i} covers keys {sorted(set(f) ^ keys)} that Fisher 0 "
                           "does not (or the reverse); every model needs the same Fisher keys")
    coeffs = list(lam)
    if normalize_fishers:
        for i, f in enumerate(fish):
            norm = sum(float((a.astype("float64") ** 2).sum()) for a in f.values()) ** 0.5
            coeffs[i] = lam[i] / norm
    out = OrderedDict()
    with no_grad():
        for k, a in states[0].items():
            if not _floating(a):
                out[k] = Tensor._wrap(a.copy())
                continue
            if k not in keys:
                total = sum(lam)
                acc = None
                for s, w in zip(states, lam):
                    term = s[k] * a.dtype.type(w / total)
                    acc = term if acc is None else acc + term
                out[k] = Tensor._wrap(acc.astype(a.dtype, copy=False))
                continue
            xp = backend_of_array(a).xp
            num = den = None
            for i, (s, f, c) in enumerate(zip(states, fish, coeffs)):
                diag = backend_of_array(a).asarray(f[k]).astype(a.dtype, copy=False)
                if not favor_target_model or i == 0:
                    diag = xp.maximum(diag, a.dtype.type(fisher_floor))
                w = a.dtype.type(c) * diag
                num = w * s[k] if num is None else num + w * s[k]
                den = w if den is None else den + w
            with _quiet(xp):
                out[k] = Tensor._wrap((num / den).astype(a.dtype, copy=False))
    return out


class _quiet:
    """Silence NumPy's 0/0 warning where the docstring says NaN is the answer."""

    def __init__(self, xp):
        self.xp = xp

    def __enter__(self):
        self.old = self.xp.seterr(invalid="ignore", divide="ignore") \
            if hasattr(self.xp, "seterr") else None

    def __exit__(self, *exc):
        if self.old is not None:
            self.xp.seterr(**self.old)


# ------------------------------------------------------------------------ sparse model soups
def prunable_weights(model):
    """The entries Sparse Model Soups prunes: the ``weight`` of every submodule that has one,
    except batch normalization layers (ZIB-IOL/SMS strategies/strategies.py,
    ``parameters_to_prune``), as state-dict names."""
    names = []
    for prefix, m in model.named_modules():
        w = m._parameters.get("weight")
        if w is not None and "BatchNorm" not in type(m).__name__:
            names.append(f"{prefix}.weight" if prefix else "weight")
    return names


def magnitude_prune_masks(model, amount, masks=None, keys=None, selector="global"):
    """One magnitude-pruning step: remove the fraction ``amount`` of the still-unpruned
    entries with the smallest absolute value.

        k = round(amount·n_alive);  mask ← 0 at the k alive entries of smallest |θ|
        (selector='global': one ranking over all pruned tensors; 'uniform': per tensor)

    This is ``torch.nn.utils.prune.global_unstructured`` / ``l1_unstructured`` applied on top of
    an existing mask (only alive entries are ranked; the amount is a fraction of them), as
    ZIB-IOL/SMS's ``pruning_step``. Ties in |θ| are broken by position (first pruned first).
    ``model``: a Module or state dict; ``masks``: the current masks ({name: bool array}, None =
    nothing pruned yet); ``keys``: the tensors to prune (default ``prunable_weights(model)``;
    required for a state dict). Returns the new masks (bool arrays on the weights' backend).
    """
    op = "magnitude_prune_masks"
    if selector not in ("global", "uniform"):
        raise ValueError(f"{op}: selector must be 'global' or 'uniform', got {selector!r}")
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"{op}: amount must be in [0, 1], got {amount}")
    if keys is None:
        if not isinstance(model, Module):
            raise ValueError(f"{op}: give the keys to prune with a state dict")
        keys = prunable_weights(model)
    state = _arrays(model, op, "the model")
    for k in keys:
        if k not in state:
            raise KeyError(f"{op}: {k!r} is not in the model's state dict")
    masks = {} if masks is None else dict(masks)
    alive = {}
    for k in keys:
        a = state[k]
        xp = backend_of_array(a).xp
        m = masks.get(k)
        m = xp.ones(a.shape, dtype=bool) if m is None else \
            backend_of_array(a).asarray(m.data if isinstance(m, Tensor) else m).astype(bool)
        if tuple(m.shape) != tuple(a.shape):
            raise ValueError(f"{op}: the mask of {k!r} has shape {tuple(m.shape)} but the weight "
                             f"has shape {tuple(a.shape)}")
        alive[k] = m
    groups = [list(keys)] if selector == "global" else [[k] for k in keys]
    for group in groups:
        xp = backend_of_array(state[group[0]]).xp
        scores = xp.concatenate([xp.abs(state[k].astype("float64")).ravel() for k in group])
        live = xp.concatenate([alive[k].ravel() for k in group])
        index = xp.nonzero(live)[0]
        count = int(round(amount * int(index.size)))
        flat = live.copy()
        if count:
            order = xp.argsort(scores[index], kind="stable")
            flat[index[order[:count]]] = False
        start = 0
        for k in group:
            size = state[k].size
            alive[k] = flat[start:start + size].reshape(state[k].shape)
            start += size
    return alive


def apply_masks(model, masks):
    """θ ← θ⊙M in place for every masked parameter of ``model`` (a Module or state dict of
    tensors): call it after every optimizer step to keep pruned weights at zero."""
    state = model.state_dict() if isinstance(model, Module) else model
    with no_grad():
        for k, m in masks.items():
            t = state[k]
            mask = backend_of_array(t.data).asarray(m.data if isinstance(m, Tensor) else m)
            if tuple(mask.shape) != tuple(t.shape):
                raise ValueError(f"apply_masks: the mask of {k!r} has shape {tuple(mask.shape)} "
                                 f"but the tensor has shape {tuple(t.shape)}")
            t.data *= mask.astype(t.dtype)
            t._version += 1


def sparse_model_soup(state_dicts, masks, weights=None, evaluate=None, scores=None):
    """The soup of a Sparse Model Soups phase: models retrained from one pruned model with
    the same mask M (different data orders, seeds or weight decay) are averaged, and the
    average keeps exactly M's zeros.

        θ_soup = Σ_i w_i·(θ_i⊙M)    (uniform w_i = 1/m; or the greedy soup, ``evaluate``)

    ``masks``: ``{name: bool array}`` (``magnitude_prune_masks``), the same for every model;
    ``weights``: mixing weights (default uniform, as SMS's UniformEnsembling); with
    ``evaluate(state_dict) -> score`` the ingredients are chosen greedily as SMS's GreedySoup
    (best first, a model kept when the soup's held-out score is ≥ the best so far; ``scores``:
    the individual scores if known). Recalibrate BatchNorm statistics on the soup afterwards,
    as SMS does (``recalibrate_bn``). Returns a new state dict.

    One phase of the recipe (``sparse_model_soup_phases`` runs them all): prune the current
    model by global magnitude to the phase's sparsity (a fraction 1 − (1 − s)^(1/P) of the
    remaining weights per phase, goal sparsity s over P phases), retrain m copies with the
    mask, average them → the next phase's starting point.

    Where it came from: ZIB-IOL/SMS strategies/ensembleStrategies.py (``average_models``,
    ``UniformEnsembling``, ``GreedySoup``) and strategies/strategies.py (``IMP``).
    Paper: Zimmer, Spiegel & Pokutta 2024, "Sparse Model Soups: A Recipe for Improved Pruning
    via Model Averaging".
    """
    op = "sparse_model_soup"
    states = _states(state_dicts, op)
    for k, m in masks.items():
        if k not in states[0]:
            raise KeyError(f"{op}: mask key {k!r} is not in the state dicts")
        if tuple(m.shape) != tuple(states[0][k].shape):
            raise ValueError(f"{op}: the mask of {k!r} has shape {tuple(m.shape)} but the weight "
                             f"has shape {tuple(states[0][k].shape)}")
    masked = []
    for s in states:
        s = OrderedDict(s)
        for k, m in masks.items():
            a = s[k]
            mask = backend_of_array(a).asarray(m.data if isinstance(m, Tensor) else m)
            s[k] = a * mask.astype(a.dtype)
        masked.append(s)
    if evaluate is not None:
        if weights is not None:
            raise ValueError(f"{op}: give weights (a fixed soup) or evaluate (a greedy soup), "
                             "not both")
        return greedy_soup(masked, evaluate, scores=scores, accept_ties=True)
    return _combine(masked, _weights(weights, len(masked), op))


def sparse_model_soup_phases(model, retrain, num_models=3, phases=3, sparsity=0.9,
                             selector="global", evaluate=None):
    """The whole Sparse Model Soups recipe (IMP with a soup per phase) on ``model`` (changed
    in place and returned with the final masks):

        for phase p = 1..P:  M ← magnitude_prune_masks(model, 1 − (1 − s)^(1/P), M)
                             θ ← θ⊙M;  θ_j ← retrain(copy of model, M, p, j) for j < m
                             model ← sparse_model_soup([θ_j], M)

    ``retrain(model, masks, phase, j)`` trains the copy (keeping θ⊙M after every step, e.g.
    with ``apply_masks``) and returns it or its state dict; ``evaluate`` makes the soups
    greedy. Defaults: m = 3 models, P = 3 phases, goal sparsity s = 0.9.
    Paper: Zimmer, Spiegel & Pokutta 2024, "Sparse Model Soups: A Recipe for Improved Pruning
    via Model Averaging".
    """
    import copy
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparse_model_soup_phases: sparsity must be in [0, 1), got {sparsity}")
    amount = 1.0 - (1.0 - sparsity) ** (1.0 / phases)
    masks = None
    for p in range(1, phases + 1):
        masks = magnitude_prune_masks(model, amount, masks, selector=selector)
        apply_masks(model, masks)
        trained = [retrain(copy.deepcopy(model), masks, p, j) for j in range(num_models)]
        model.load_state_dict(sparse_model_soup(trained, masks, evaluate=evaluate))
    return model, masks


register(model_soup, name="model_soup", kind="optimizer", check="state", catalog_id="O075",
         papers=["Model soups: averaging weights of multiple fine-tuned models improves accuracy "
                 "without increasing inference time"])
register(weight_interpolation, name="weight_interpolation", kind="optimizer", check="state",
         catalog_id="O076",
         papers=["Spurious Feature Diversification Improves Out-of-distribution Generalization",
                 "Improving Generalization of Adversarial Training via Robust Critical "
                 "Fine-Tuning",
                 "Mitigating the Alignment Tax of RLHF"])
register(task_arithmetic, name="task_arithmetic", kind="optimizer", check="state",
         catalog_id="O079",
         papers=["Robust Weight Signatures: Gaining Robustness as Easy as Patching Weights?",
                 "MAP: Low-compute Model Merging with Amortized Pareto Fronts via Quadratic "
                 "Approximation"])
register(fisher_merging, name="fisher_merging", kind="optimizer", check="state",
         catalog_id="O078", papers=["Merging Models with Fisher-Weighted Averaging"])
register(sparse_model_soup, name="sparse_model_soup", kind="optimizer", check="state",
         catalog_id="O081",
         papers=["Sparse Model Soups: A Recipe for Improved Pruning via Model Averaging"])
