"""Forward references for the noisy-label losses (HanxunH/Active-Passive-Losses loss.py,
Ma et al. 2020) and the classification variants (PolyLoss, squentropy, Z-loss, comp-sum,
batch perceptron): per-row Python loops over float64 NumPy arrays, probabilities clamped
and targets one-hot encoded the way the papers' code writes them, without minigrad."""
import math

import numpy as np


def _softmax(row):
    m = max(row)
    e = [math.exp(v - m) for v in row]
    s = math.fsum(e)
    return [v / s for v in e]


def _rows(z, target, ignore_index=-100):
    """[(logit row, target distribution or None for an ignored row)] in the flattening order."""
    z = np.asarray(z, dtype=float)
    c = z.shape[1]
    zr = np.moveaxis(z, 1, -1).reshape(-1, c)
    target = np.asarray(target)
    if target.dtype.kind == "f":
        tr = np.moveaxis(target, 1, -1).reshape(-1, c)
        return [(list(r), list(t)) for r, t in zip(zr, tr)]
    out = []
    for r, y in zip(zr, target.ravel()):
        if y == ignore_index:
            out.append((list(r), None))
        else:
            out.append((list(r), [1.0 if k == y else 0.0 for k in range(c)]))
    return out


def _reduce(values, keep, reduction, shape):
    if reduction == "none":
        return np.array(values, dtype=float).reshape(shape)
    total = math.fsum(values)
    if reduction == "sum":
        return total
    n = sum(keep)
    return total / n if n else 0.0


def _row_loss(fn):
    """An oracle from a per-row loss fn(row, t, **kw); ignored rows are 0."""
    def oracle(z, target, ignore_index=-100, reduction="mean", **kw):
        rows = _rows(z, target, ignore_index)
        values = [0.0 if t is None else fn(r, t, **kw) for r, t in rows]
        shape = (z.shape[0],) + tuple(z.shape[2:])
        return _reduce(values, [t is not None for _, t in rows], reduction, shape)
    return oracle


def _clamp(p):
    return [min(max(v, 1e-7), 1.0) for v in p]


def gce(row, t, q=0.7):
    p = _clamp(_softmax(row))
    return math.fsum(tk * (1 - pk ** q) / q for tk, pk in zip(t, p))


def nce(row, t):
    m = max(row)
    lse = m + math.log(math.fsum(math.exp(v - m) for v in row))
    logp = [v - lse for v in row]
    return -math.fsum(tk * lk for tk, lk in zip(t, logp)) / -math.fsum(logp)


def nfl(row, t, gamma=0.5, official_grad=False):
    m = max(row)
    lse = m + math.log(math.fsum(math.exp(v - m) for v in row))
    fl = [-(1 - math.exp(v - lse)) ** gamma * (v - lse) for v in row]
    return math.fsum(tk * f for tk, f in zip(t, fl)) / math.fsum(fl)


def ngce(row, t, q=0.7):
    p = _clamp(_softmax(row))
    num = math.fsum(tk * (1 - pk ** q) for tk, pk in zip(t, p))
    return num / (len(p) - math.fsum(pk ** q for pk in p))


def rce(row, t):
    p = _clamp(_softmax(row))
    return -math.fsum(pk * math.log(min(max(tk, 1e-4), 1.0)) for pk, tk in zip(p, t))


def ce(row, t):
    m = max(row)
    lse = m + math.log(math.fsum(math.exp(v - m) for v in row))
    return -math.fsum(tk * (v - lse) for tk, v in zip(t, row))


def mae(row, t, normalized=False):
    p = _softmax(row)
    value = 0.5 * math.fsum(abs(pk - tk) for pk, tk in zip(p, t))
    return value / (2 * (len(p) - 1)) if normalized else value


def reverse_ce_loss(z, target, variant="rce", alpha=0.1, beta=1.0, ignore_index=-100,
                    reduction="mean"):
    k = z.shape[1]
    r = _row_loss(rce)(z, target, ignore_index, reduction)
    if variant == "nrce":
        return r * (k - 1) / 4
    if variant == "sce":
        return alpha * _row_loss(ce)(z, target, ignore_index, reduction) + beta * r
    return r


def active_passive_loss(z, target, active="nce", passive="rce", alpha=1.0, beta=1.0, gamma=0.5,
                        q=0.7, ignore_index=-100, reduction="mean"):
    first = {"nce": (nce, {}), "nfl": (nfl, {"gamma": gamma}), "ngce": (ngce, {"q": q}),
             "mae": (mae, {})}[active]
    second = {"rce": rce, "mae": mae}[passive]
    a = _row_loss(first[0])(z, target, ignore_index, reduction, **first[1])
    b = _row_loss(second)(z, target, ignore_index, reduction)
    return alpha * np.asarray(a) + beta * np.asarray(b)


# ------------------------------------------------------------------ classification variants
def _logp(row):
    m = max(row)
    lse = m + math.log(math.fsum(math.exp(v - m) for v in row))
    return [v - lse for v in row]


def poly_loss(z, target, epsilon=1.0, gamma=0.0, label_smoothing=0.0, ignore_index=-100,
              reduction="mean"):
    eps = list(epsilon) if hasattr(epsilon, "__len__") else [epsilon]

    def row_loss(row, t):
        c = len(row)
        t = [(1 - label_smoothing) * tk + label_smoothing / c for tk in t]
        logp = _logp(row)
        p = [math.exp(v) for v in logp]
        pt = math.fsum(tk * pk for tk, pk in zip(t, p))
        base = -math.fsum(tk * (1 - pk) ** gamma * lk for tk, pk, lk in zip(t, p, logp))
        return base + math.fsum(e * (1 - pt) ** (j + gamma) for j, e in enumerate(eps, 1))
    return _row_loss(row_loss)(z, target, ignore_index, reduction)


def squentropy(row, t):
    y = t.index(1.0)
    c = len(row)
    return -_logp(row)[y] + math.fsum(row[j] ** 2 for j in range(c) if j != y) / (c - 1)


def z_loss(row, t, a, b, eps=1e-12):
    y = t.index(1.0)
    c = len(row)
    mu = math.fsum(row) / c
    sd = math.sqrt(math.fsum((v - mu) ** 2 for v in row) / c + eps)
    x = a * (b - (row[y] - mu) / sd)
    return (max(x, 0) + math.log1p(math.exp(-abs(x)))) / a


def comp_sum(row, t, tau):
    y = t.index(1.0)
    # the paper's form: Φ_τ(u), u = Σ_{j≠y} exp(z_j − z_y)
    u = math.fsum(math.exp(v - row[y]) for j, v in enumerate(row) if j != y)
    if tau == 1:
        return math.log1p(u)
    return ((1 + u) ** (1 - tau) - 1) / (1 - tau)


def batch_perceptron_loss(f, y, reduction="mean"):
    out = np.array([max(0.0, -float(yy) * ff) for ff, yy in zip(np.ravel(f), np.ravel(y))])
    if reduction == "none":
        return out.reshape(np.shape(f))
    return math.fsum(out) / out.size if reduction == "mean" else math.fsum(out)


ORACLES = {
    "gce_loss": _row_loss(gce),
    "normalized_ce_loss": _row_loss(nce),
    "normalized_focal_loss": _row_loss(nfl),
    "normalized_gce_loss": _row_loss(ngce),
    "reverse_ce_loss": reverse_ce_loss,
    "mae_prob_loss": _row_loss(mae),
    "active_passive_loss": active_passive_loss,
    "poly_loss": poly_loss,
    "squentropy_loss": _row_loss(squentropy),
    "spherical_z_loss": _row_loss(z_loss),
    "comp_sum_loss": _row_loss(comp_sum),
    "batch_perceptron_loss": batch_perceptron_loss,
}
