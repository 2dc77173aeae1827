"""MAP: amortized Pareto fronts of task-arithmetic merge coefficients, found on quadratic
surrogates of each task's metric instead of on the merged models themselves.

Everything after the evaluations is small host arithmetic on the (coefficients, metrics)
table, in float64 NumPy: the surrogates are functions of T numbers, not of the weights.
"""
import numpy

from minigrad.ops.random import generator_on
from minigrad.backends import get_backend
from minigrad.registry import register
from minigrad.training.merging import task_arithmetic

_LINKS = {"identity": lambda z: z,
          "sigmoid": lambda z: 1.0 / (1.0 + numpy.exp(-numpy.clip(z, -500, 500))),
          "softplus": lambda z: numpy.logaddexp(0.0, z)}
_METRIC_LINK = {"accuracy": "sigmoid", "loss": "softplus"}


def quadratic_features(coefficients):
    """The design matrix of a full quadratic in c ∈ R^T, one row per coefficient vector:
    [c_1², …, c_T², c_i·c_j (i < j, row-major), c_1, …, c_T, 1] ((T+1)(T+2)/2 columns, the
    order of MAP's ``quadratic_model``)."""
    C = numpy.asarray(coefficients, dtype=numpy.float64)
    if C.ndim != 2:
        raise ValueError(f"quadratic_features: coefficients must be (n, T), got shape {C.shape}")
    T = C.shape[1]
    cols = [C[:, i] ** 2 for i in range(T)]
    cols += [C[:, i] * C[:, j] for i in range(T) for j in range(i + 1, T)]
    cols += [C[:, i] for i in range(T)] + [numpy.ones(len(C))]
    return numpy.stack(cols, axis=1)


def fit_quadratic_surrogate(coefficients, metric, link="identity"):
    """Least-squares parameters p of M̂(c) = link(Φ(c)·p), Φ = ``quadratic_features``.
    link 'identity': the linear least-squares solution (``numpy.linalg.lstsq``); 'sigmoid'
    (accuracies) or 'softplus' (losses): nonlinear least squares by
    ``scipy.optimize.curve_fit`` from p = 1, as MAP's ``fit_quadratic_from_json``."""
    Phi = quadratic_features(coefficients)
    y = numpy.asarray(metric, dtype=numpy.float64).reshape(-1)
    if len(y) != len(Phi):
        raise ValueError(f"fit_quadratic_surrogate: {len(y)} metric values for {len(Phi)} "
                         "coefficient vectors")
    if link not in _LINKS:
        raise ValueError(f"fit_quadratic_surrogate: link must be one of {sorted(_LINKS)}, got {link!r}")
    if len(y) < Phi.shape[1]:
        raise ValueError(f"fit_quadratic_surrogate: the quadratic has {Phi.shape[1]} "
                         f"parameters; got only {len(y)} evaluations")
    if link == "identity":
        return numpy.linalg.lstsq(Phi, y, rcond=None)[0]
    from scipy.optimize import curve_fit
    f = _LINKS[link]
    params, _ = curve_fit(lambda X, *p: f(X @ numpy.asarray(p)), Phi, y,
                          p0=numpy.ones(Phi.shape[1]))
    return params


def surrogate_predict(params, coefficients, link="identity"):
    """M̂(c) = link(Φ(c)·p) for every row of ``coefficients``."""
    return _LINKS[link](quadratic_features(coefficients) @ numpy.asarray(params, dtype=numpy.float64))


def pareto_front(values, higher_is_better=True):
    """Indices of the non-dominated rows of ``values`` (n points × T objectives), in the
    given order: row a dominates b when it is at least as good in every objective and
    strictly better in one; duplicates of a non-dominated row are all kept."""
    V = numpy.asarray(values, dtype=numpy.float64)
    if V.ndim != 2:
        raise ValueError(f"pareto_front: values must be (n, T), got shape {V.shape}")
    if not higher_is_better:
        V = -V
    keep = []
    for i in range(len(V)):
        dominated = numpy.all(V >= V[i], axis=1) & numpy.any(V > V[i], axis=1)
        if not dominated.any():
            keep.append(i)
    return numpy.asarray(keep, dtype=numpy.int64)


def map_merging(pretrained, finetuned, evaluate, num_samples=20, bounds=(0.0, 1.0),
                metric="accuracy", link=None, higher_is_better=None, num_candidates=10000,
                generator=None, samples=None):
    """MAP: the Pareto front of merge coefficients c for task arithmetic
    θ(c) = θ₀ + Σ_i c_i·τ_i, τ_i = θ_i − θ₀, from a few evaluations and quadratic surrogates:

        1. draw n coefficient vectors c^(k) ~ U(bounds)^T (or take ``samples``)
        2. evaluate the merged models: M_t(c^(k)) = evaluate(θ(c^(k)))[t], t = 1..T
        3. fit per task M̂_t(c) = link(Φ(c)·p_t), Φ the full quadratic in c (least squares)
        4. the Pareto set of c over (M̂_1, …, M̂_T), searched on ``num_candidates`` random
           coefficient vectors in the same box (plus the samples)

    Arguments (defaults): ``pretrained`` θ₀ and ``finetuned`` [θ_1, …, θ_T] (Modules or
    state dicts); ``evaluate(state_dict) -> T numbers`` (one metric per task);
    ``num_samples`` n = 20 (needs ≥ (T+1)(T+2)/2); ``bounds`` = (0, 1); ``metric``
    'accuracy' (sigmoid link, higher is better) or 'loss' (softplus link, lower is better),
    overridden by ``link`` ('identity', 'sigmoid', 'softplus') and ``higher_is_better``;
    ``generator`` for the draws (default minigrad's NumPy-backend generator).

    Returns a dict: ``samples`` (n × T), ``metrics`` (n × T measured), ``params`` (T
    surrogate parameter vectors), ``link``, ``pareto_coefficients`` (m × T) and
    ``pareto_metrics`` (m × T surrogate values), and ``merge(c)`` — a function giving the
    merged state dict θ(c) for a chosen point. Nothing here is stateful.

    Where it came from: the MAP paper's Algorithm 1 and its official code (MAP.py:
    ``quadratic_model``'s feature order, ``fit_quadratic_from_json`` = ``curve_fit`` from
    ones, ``choose_activation``: sigmoid for accuracy, softplus for loss). Deviation: the
    code searches the surrogates' Pareto front with DEAP's NSGA-III (population 100, 150
    generations, box [−3, 3]); here it is the exact non-dominated subset of a dense random
    candidate set in ``bounds`` (the same front, approximated without a genetic search and
    without extrapolating the surrogates outside the sampled box). The paper's nested and
    Bayesian sampling variants are not included.
    Paper: Li, Zhang, Bu, Wang, He, Fu, Wu, Bian, Chen & Bengio 2024, "MAP: Low-compute Model Merging with Amortized
    Pareto Fronts via Quadratic Approximation".
    """
    finetuned = list(finetuned) if isinstance(finetuned, (list, tuple)) else [finetuned]
    T = len(finetuned)
    low, high = (float(b) for b in bounds)
    if not low < high:
        raise ValueError(f"map_merging: bounds must be (low, high) with low < high, got {bounds}")
    if metric not in _METRIC_LINK and link is None:
        raise ValueError(f"map_merging: metric must be 'accuracy' or 'loss' (or give link), got {metric!r}")
    link = _METRIC_LINK.get(metric) if link is None else link
    if link not in _LINKS:
        raise ValueError(f"map_merging: link must be one of {sorted(_LINKS)}, got {link!r}")
    if higher_is_better is None:
        higher_is_better = metric != "loss"
    needed = (T + 1) * (T + 2) // 2
    rng = generator_on(get_backend("numpy"), generator)
    if samples is None:
        if num_samples < needed:
            raise ValueError(f"map_merging: {T} tasks need num_samples >= {needed} (the "
                             f"quadratic's parameters), got {num_samples}")
        samples = numpy.asarray(rng.uniform(low, high, (num_samples, T)), dtype=numpy.float64)
    else:
        samples = numpy.asarray(samples, dtype=numpy.float64)
        if samples.ndim != 2 or samples.shape[1] != T:
            raise ValueError(f"map_merging: samples must be (n, {T}), got shape {samples.shape}")

    def merge(c):
        return task_arithmetic(pretrained, finetuned, scaling=[float(v) for v in c])

    metrics = []
    for c in samples:
        m = numpy.asarray(evaluate(merge(c)), dtype=numpy.float64).reshape(-1)
        if m.shape != (T,):
            raise ValueError(f"map_merging: evaluate must return {T} numbers (one per task), "
                             f"got {m.shape[0]}")
        metrics.append(m)
    metrics = numpy.stack(metrics)
    params = [fit_quadratic_surrogate(samples, metrics[:, t], link) for t in range(T)]
    cand = numpy.asarray(rng.uniform(low, high, (int(num_candidates), T)), dtype=numpy.float64)
    cand = numpy.concatenate([samples, cand])
    pred = numpy.stack([surrogate_predict(p, cand, link) for p in params], axis=1)
    front = pareto_front(pred, higher_is_better)
    return {"samples": samples, "metrics": metrics, "params": params, "link": link,
            "pareto_coefficients": cand[front], "pareto_metrics": pred[front], "merge": merge}


register(map_merging, name="map_merging", kind="optimizer", check="state", catalog_id="O080",
         papers=["MAP: Low-compute Model Merging with Amortized Pareto Fronts via Quadratic "
                 "Approximation"])
