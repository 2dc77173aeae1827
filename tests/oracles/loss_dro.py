"""Forward references for the distributionally robust / ensemble losses of issue 15 (LDR-KL,
ALDR-KL, EnsLoss): per-row Python loops over float64 NumPy arrays, written from the papers'
variational forms and the official repositories without minigrad."""
import math

import numpy as np


def _rows(z):
    z = np.asarray(z, dtype=float)
    return np.moveaxis(z, 1, -1).reshape(-1, z.shape[1])


def _targets(z, target):
    c = z.shape[1]
    t = np.asarray(target)
    if t.dtype.kind == "f":
        return [list(r) for r in _rows(t)]
    return [[1.0 if k == int(y) else (math.nan if int(y) == -100 else 0.0) for k in range(c)]
            for y in t.ravel()]


def _normalized(row, mode):
    """The official code's prediction normalisation (Optimization-AI/ICML2023_LDR loss.py)."""
    if mode is None:
        return list(row)
    if mode == "softplus":
        v = [x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x)) for x in row]
    else:
        v = list(row)
    n = max(math.fsum(abs(x) for x in v) / len(v), 1e-12)
    return [x / n for x in v]


def _ldr_value(u, t, margin, lam):
    """max_p Σ_k p_k d_k − λ·KL(p ‖ 1/C), evaluated at its maximiser p* ∝ exp(d/λ) (the
    paper's variational form, not the log-sum-exp closed form)."""
    c = len(u)
    uy = math.fsum(tk * uk for tk, uk in zip(t, u))
    d = [margin * (1 - t[k]) + u[k] - uy for k in range(c)]
    top = max(d)
    e = [math.exp((dk - top) / lam) for dk in d]
    s = math.fsum(e)
    p = [ek / s for ek in e]
    kl = math.fsum(pk * math.log(c * pk) for pk in p if pk > 0)
    return math.fsum(pk * dk for pk, dk in zip(p, d)) - lam * kl


def _finish(values, keep, reduction, shape):
    if reduction == "none":
        return np.asarray(values).reshape(shape)
    total = math.fsum(v for v, k in zip(values, keep) if k)
    if reduction == "sum":
        return total
    n = sum(keep)
    return total / n if n else 0.0


def ldr_kl_loss(z, target, margin=0.1, lambd=10.0, logit_norm="softplus", ignore_index=-100,
                reduction="mean"):
    z = np.asarray(z, dtype=float)
    vals, keep = [], []
    for row, t in zip(_rows(z), _targets(z, target)):
        if any(math.isnan(x) for x in t):
            vals.append(0.0)
            keep.append(False)
            continue
        vals.append(_ldr_value(_normalized(row, logit_norm), t, margin, lambd))
        keep.append(True)
    shape = (z.shape[0],) + z.shape[2:]
    return _finish(vals, keep, reduction, shape)


def aldr_kl_loss(z, target, lambdas, lambda_ref=10.0, alpha=2.0, margin=0.1, logit_norm="l1",
                 ignore_index=-100, reduction="mean"):
    z = np.asarray(z, dtype=float)
    lam = np.asarray(lambdas, dtype=float).ravel()
    c = z.shape[1]
    vals, keep = [], []
    for i, (row, t) in enumerate(zip(_rows(z), _targets(z, target))):
        if any(math.isnan(x) for x in t):
            vals.append(0.0)
            keep.append(False)
            continue
        reg = alpha * math.log(c) / (2 * lambda_ref) * (lam[i] - lambda_ref) ** 2
        vals.append(_ldr_value(_normalized(row, logit_norm), t, margin, lam[i]) - reg)
        keep.append(True)
    shape = (z.shape[0],) + z.shape[2:]
    return _finish(vals, keep, reduction, shape)


def ensloss(f, target, noise=None, lam=0.0, generator=None, reduction="mean"):
    """statmlben/ensLoss losses.py ensLoss.forward, as a loop: the k-th smallest margin gets
    the k-th smallest of the floored −BoxCox⁻¹ draws; margins > 1 divide theirs; −1e-6."""
    f = np.asarray(f, dtype=float)
    y = 2.0 * np.asarray(target, dtype=float) - 1.0
    t = (f * y).ravel()
    eps = np.asarray(noise, dtype=float).ravel()
    if lam == 0:
        draws = sorted(-math.exp(e) for e in eps)
    else:
        draws = sorted(-max(1 + lam * e, 0.0) ** (1 / lam) for e in eps)
    draws = [max(d, -1.0) for d in draws]
    order = sorted(range(t.size), key=lambda i: (t[i], i))
    vals = [0.0] * t.size
    for rank, i in enumerate(order):
        g = draws[rank] / (t[i] if t[i] > 1 else 1.0) - 1e-6
        vals[i] = g * t[i]
    if reduction == "none":
        return np.asarray(vals).reshape(f.shape)
    total = math.fsum(vals)
    return total / t.size if reduction == "mean" else total


def lmpt_cse_loss(captions, prompts, target, class_counts=None, margin=0.2, gamma=2.0,
                  reduction="mean"):
    """LMPT lmpt/csel.py + train.py as loops: x = 1 − cos per token, hinge on y·Σ_t x."""
    a, b = np.asarray(captions, float), np.asarray(prompts, float)
    t = np.asarray(target, float)
    n, c = a.shape[0], b.shape[0]
    if class_counts is None:
        m, w = [margin] * c, [1.0] * c
    else:
        cnt = np.asarray(class_counts, float).ravel()
        m = [margin / cnt[j] ** 0.25 for j in range(c)]
        z = math.fsum(cnt[j] ** -gamma for j in range(c))
        w = [cnt[j] ** -gamma / z for j in range(c)]
    vals = np.zeros((n, c))
    for i in range(n):
        for j in range(c):
            y = 2 * t[i, j] - 1
            dist = 0.0
            for k in range(a.shape[1]):
                u, v = a[i, k], b[j, k]
                cos = float(u @ v) / (max(np.linalg.norm(u), 1e-8) * max(np.linalg.norm(v), 1e-8))
                dist += 1 - cos
            vals[i, j] = w[j] * max(0.0, m[j] - y * dist)
    if reduction == "none":
        return vals
    total = math.fsum(vals.ravel())
    return total / vals.size if reduction == "mean" else total


ORACLES = {f.__name__: f for f in (ldr_kl_loss, aldr_kl_loss, ensloss, lmpt_cse_loss)}
