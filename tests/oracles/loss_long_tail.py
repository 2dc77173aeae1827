"""Forward references for the long-tail, calibration and distributional losses (issue 15:
LDAM, VS, DRW, DB, GOL, MbLS, ACLS, MaxSup, HL-Gauss, spectral risk, EBV): per-row Python
loops over float64 NumPy arrays, written from the papers' equations / official code
without minigrad."""
import math

import numpy as np


def _lse(values):
    m = max(values)
    return m + math.log(math.fsum(math.exp(v - m) for v in values))


def _rows(z):
    z = np.asarray(z, dtype=float)
    return np.moveaxis(z, 1, -1).reshape(-1, z.shape[1])


def _finish(values, reduction, shape, denom=None):
    if reduction == "none":
        return np.asarray(values).reshape(shape)
    total = math.fsum(values)
    if reduction == "sum":
        return total
    d = len(values) if denom is None else denom
    return total / d if d > 0 else 0.0


def _targets(z, target):
    """List of per-row target distributions (one-hot for class indices)."""
    c = z.shape[1]
    t = np.asarray(target)
    if t.dtype.kind == "f":
        return [list(r) for r in _rows(t)]
    return [[1.0 if k == int(y) else 0.0 for k in range(c)] for y in t.ravel()]


# ------------------------------------------------------------------ long tail
def ldam_loss(z, target, class_counts, max_m=0.5, s=30.0, weight=None, reduction="mean"):
    n = np.asarray(class_counts, float)
    m = [nj ** -0.25 for nj in n]
    top = max(m)
    m = [mj * max_m / top for mj in m]
    c = z.shape[1]
    w = [1.0] * c if weight is None else list(weight)
    vals, denom = [], 0.0
    for row, y in zip(_rows(z), np.asarray(target).ravel()):
        zz = [s * (row[k] - (m[y] if k == y else 0.0)) for k in range(c)]
        vals.append(w[y] * (_lse(zz) - zz[y]))
        denom += w[y]
    return _finish(vals, reduction, (z.shape[0],) + z.shape[2:], denom)


def vs_loss(z, target, class_counts, gamma=0.3, tau=1.0, weight=None, reduction="mean"):
    n = np.asarray(class_counts, float)
    c = z.shape[1]
    total = math.fsum(n)
    delta = [(1.0 / nj) ** gamma / min((1.0 / nk) ** gamma for nk in n) for nj in n]
    iota = [tau * math.log(nj / total) for nj in n]
    w = [1.0] * c if weight is None else list(weight)
    vals, denom = [], 0.0
    hard = np.asarray(target).dtype.kind != "f"
    for row, t in zip(_rows(z), _targets(z, target)):
        zz = [row[k] / delta[k] + iota[k] for k in range(c)]
        lse = _lse(zz)
        vals.append(math.fsum(w[k] * t[k] * (lse - zz[k]) for k in range(c)))
        denom += math.fsum(w[k] * t[k] for k in range(c)) if hard else 1.0
    return _finish(vals, reduction, (z.shape[0],) + z.shape[2:], denom)


def drw_reweighting(z, target, class_counts, epoch, drw_epoch=160, beta=0.9999, loss="ce",
                    max_m=0.5, s=30.0, reduction="mean"):
    n = np.asarray(class_counts, float)
    b = beta if epoch >= drw_epoch else 0.0
    raw = [(1 - b) / (1 - b ** nj) for nj in n]
    w = [r / math.fsum(raw) * len(n) for r in raw]
    if loss == "ldam":
        return ldam_loss(z, target, n, max_m, s, w, reduction)
    # weighted CE: Σ w_y·(−log p_y) / Σ w_y
    vals, denom = [], 0.0
    for row, y in zip(_rows(z), np.asarray(target).ravel()):
        vals.append(w[y] * (_lse(list(row)) - row[y]))
        denom += w[y]
    return _finish(vals, reduction, (z.shape[0],) + z.shape[2:], denom)


def _softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _sigmoid(x):
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def distribution_balanced_loss(z, target, class_counts, num_samples, alpha=0.1, beta=10.0,
                               mu=0.3, neg_scale=5.0, init_bias=0.05, gamma=2.0,
                               balance_param=2.0, reduction="mean"):
    z = np.asarray(z, float)
    n_rows, c = z.shape
    t = np.asarray(target)
    y = np.eye(c)[t] if t.ndim == 1 else t.astype(float)
    n = np.asarray(class_counts, float)
    out = np.zeros_like(z)
    for i in range(n_rows):
        repeat = math.fsum(1 / n[j] for j in range(c) if y[i, j] == 1)
        for k in range(c):
            r = (1 / n[k]) / repeat if repeat > 0 else math.inf
            rhat = alpha + (1.0 if r == math.inf else _sigmoid(beta * (r - mu)))
            bias = -math.log(num_samples / n[k] - 1) * init_bias / neg_scale
            if y[i, k] == 1:                   # log(1 + e^{−(z + b)}), p_t = σ(z + b)
                bce = _softplus(-(z[i, k] + bias))
                one_minus_pt = 1 - math.exp(-bce)
                term = rhat * bce
            else:                              # (1/λ) log(1 + e^{λ(z + b)})
                bce = _softplus(neg_scale * (z[i, k] + bias))
                one_minus_pt = 1 - math.exp(-bce)
                term = rhat / neg_scale * bce
            out[i, k] = balance_param * one_minus_pt ** gamma * term
    return _finish(list(out.ravel()), reduction, z.shape)


def gumbel_optimized_loss(z, target, clamp=(-4.0, 10.0), reduction="mean"):
    z = np.asarray(z, float)
    t = np.asarray(target)
    y = np.eye(z.shape[1])[t] if (t.ndim == 1 and z.ndim == 2) else t.astype(float)
    vals = []
    for zz, yy in zip(z.ravel(), y.ravel()):
        if clamp is not None:
            zz = min(max(zz, clamp[0]), clamp[1])
        g = math.exp(-math.exp(-zz))             # Gumbel CDF
        vals.append(-(yy * math.log(g) + (1 - yy) * math.log(1 - g)))
    return _finish(vals, reduction, z.shape)


# ------------------------------------------------------------------ calibration
def _ce(row, t):
    lse = _lse(list(row))
    return math.fsum(t[k] * (lse - row[k]) for k in range(len(row)))


def mbls_loss(z, target, margin=10.0, alpha=0.1, reduction="mean"):
    vals = []
    for row, t in zip(_rows(z), _targets(z, target)):
        top = max(row)
        pen = math.fsum(max(top - v - margin, 0.0) for v in row) / len(row)
        vals.append(_ce(row, t) + alpha * pen)
    return _finish(vals, reduction, (z.shape[0],) + z.shape[2:])


def acls_loss(z, target, alpha=0.1, pos_lambda=1.0, neg_lambda=0.1, margin=10.0, reduction="mean"):
    vals = []
    for row, t in zip(_rows(z), _targets(z, target)):
        top = max(row)
        k = len(row)
        pos = math.fsum(max(top - margin, 0.0) ** 2 for v in row if v == top)
        neg = math.fsum(max(top - v - margin, 0.0) ** 2 for v in row if v != top)
        vals.append(_ce(row, t) + alpha * (pos_lambda * pos + neg_lambda / (k - 1) * neg))
    return _finish(vals, reduction, (z.shape[0],) + z.shape[2:])


def maxsup_loss(z, target, alpha=0.1, reduction="mean"):
    vals = []
    for row, t in zip(_rows(z), _targets(z, target)):
        vals.append(_ce(row, t) + alpha * (max(row) - math.fsum(row) / len(row)))
    return _finish(vals, reduction, (z.shape[0],) + z.shape[2:])


# ------------------------------------------------------------------ distributional
def hl_gauss_loss(z, target, v_min, v_max, sigma=None, mode="gauss", reduction="mean"):
    m = z.shape[1]
    width = (v_max - v_min) / m
    s = 0.75 * width if sigma is None else sigma
    vals = []
    for row, y in zip(np.asarray(z, float), np.asarray(target, float)):
        if mode == "gauss":
            cdf = [0.5 * (1 + math.erf((v_min + i * width - y) / (s * math.sqrt(2))))
                   for i in range(m + 1)]
            p = [(cdf[i + 1] - cdf[i]) / (cdf[-1] - cdf[0]) for i in range(m)]
        else:
            centres = [v_min + (i + 0.5) * width for i in range(m)]
            yc = min(max(y, centres[0]), centres[-1])
            p = [max(0.0, 1 - abs(yc - c) / width) for c in centres]
        vals.append(_ce(row, p))
    return _finish(vals, reduction, (z.shape[0],))


def _spectrum(n, spectrum, level):
    if not isinstance(spectrum, str):
        return list(np.asarray(spectrum, float))
    if spectrum == "superquantile":       # CVaR at quantile q: the top (1 − q)n, with a fractional atom
        q = 0.5 if level is None else level
        out = []
        for i in range(n):                 # σ_i = ∫ over [i/n, (i+1)/n] of 1[u ≥ q]/(1 − q)
            lo, hi = i / n, (i + 1) / n
            out.append(max(0.0, hi - max(lo, q)) / (1 - q))
        return out
    if spectrum == "extremile":            # σ_i = F((i+1)/n) − F(i/n), F(u) = u^r
        r = 2.0 if level is None else level
        return [((i + 1) / n) ** r - (i / n) ** r for i in range(n)]
    if spectrum == "esrm":                 # F(u) = (e^{ρu} − 1)/(e^ρ − 1)
        rho = 1.0 if level is None else level
        return [(math.exp(rho * (i + 1) / n) - math.exp(rho * i / n)) / (math.exp(rho) - 1)
                for i in range(n)]
    return [1.0 / n] * n


def spectral_risk_loss(losses, spectrum="superquantile", level=None, shift_cost=1.0):
    """max over the permutahedron, solved as a projection: q* = Π_{P(σ)}(1/n + ℓ/c) for the
    l2 penalty, computed here by brute force over all vertices' convex hull is too costly,
    so by the dual: q* maximizes ⟨q, ℓ⟩ − (c/2)‖q − 1/n‖², i.e. q* is the Euclidean
    projection of 1/n + ℓ/c onto P(σ) — done by sorting and a naive isotonic fit that
    recomputes every block mean from scratch."""
    ell = np.asarray(losses, float)
    n = len(ell)
    sigma = _spectrum(n, spectrum, level)
    order = sorted(range(n), key=lambda i: ell[i])
    ls = [ell[i] for i in order]
    c = n * shift_cost
    if c < 1e-16:
        return math.fsum(s * v for s, v in zip(sigma, ls))
    target = [v / c + 1 / n - s for v, s in zip(ls, sigma)]
    blocks = [[i] for i in range(n)]      # naive PAV: merge any adjacent violating pair, repeat
    changed = True
    while changed:
        changed = False
        for b in range(len(blocks) - 1):
            ma = sum(target[i] for i in blocks[b]) / len(blocks[b])
            mb = sum(target[i] for i in blocks[b + 1]) / len(blocks[b + 1])
            if ma >= mb:
                blocks[b] = blocks[b] + blocks.pop(b + 1)
                changed = True
                break
    fit = [0.0] * n
    for blk in blocks:
        mean = sum(target[i] for i in blk) / len(blk)
        for i in blk:
            fit[i] = mean
    q = [v / c - f + 1 / n for v, f in zip(ls, fit)]
    return math.fsum(qi * v for qi, v in zip(q, ls)) - c / 2 * math.fsum((qi - 1 / n) ** 2 for qi in q)


def ebv_loss(x, target, basis, tau=0.07, eps=1e-12, reduction="mean"):
    x = np.asarray(x, float)
    w = np.asarray(basis, float)
    w = [row / math.sqrt(math.fsum(v * v for v in row)) for row in w]
    t_rows = _targets(np.zeros((x.shape[0], len(w))), target)
    vals = []
    for xi, t in zip(x, t_rows):
        nx = math.sqrt(math.fsum(v * v for v in xi))
        cos = [math.fsum(a * b for a, b in zip(xi, wc)) / max(nx, eps) for wc in w]
        vals.append(_ce([cc / tau for cc in cos], t))
    return _finish(vals, reduction, (x.shape[0],))


def ebv_generation_loss(vectors, threshold=0.002, normalize=True, reduction="sum"):
    w = np.asarray(vectors, float)
    n = w.shape[0]
    if normalize:
        w = np.array([row / math.sqrt(math.fsum(v * v for v in row)) for row in w])
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                out[i, j] = max(abs(math.fsum(a * b for a, b in zip(w[i], w[j]))) - threshold, 0.0)
    if reduction == "mean":
        return math.fsum(out.ravel()) / (n * (n - 1))
    return _finish(list(out.ravel()), reduction, (n, n))


ORACLES = {f.__name__: f for f in (ldam_loss, vs_loss, drw_reweighting, distribution_balanced_loss,
                                   gumbel_optimized_loss, mbls_loss, acls_loss, maxsup_loss,
                                   hl_gauss_loss, spectral_risk_loss, ebv_loss, ebv_generation_loss)}
