"""Forward references for the losses: per-sample (and per-pair, per-triplet) Python loops
over NumPy float64 arrays, written from the papers' formulas without minigrad."""
import itertools
import math

import numpy as np


def _reduce(values, reduction, shape=None):
    values = np.asarray(values, dtype=float)
    if shape is not None:
        values = values.reshape(shape)
    if reduction == "mean":
        return math.fsum(values.ravel()) / values.size
    if reduction == "sum":
        return math.fsum(values.ravel())
    return values


def _logsumexp(values):
    values = list(values)
    m = max(values)
    return m + math.log(math.fsum(math.exp(v - m) for v in values))


def _log_softmax(row):
    lse = _logsumexp(row)
    return [v - lse for v in row]


def _rows(z):
    """(N, C, d...) → list of (row, index) pairs in the order of the target's flattening."""
    moved = np.moveaxis(np.asarray(z, dtype=float), 1, -1)
    return moved.reshape(-1, z.shape[1])


def _sigmoid(x):
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def _softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


# ------------------------------------------------------------------ classification
def cross_entropy(z, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    n_classes = z.shape[1]
    w = np.ones(n_classes) if weight is None else np.asarray(weight, dtype=float)
    rows = _rows(z)
    eps = label_smoothing
    losses, denom = [], 0.0
    if np.asarray(target).dtype.kind == "f":
        trows = _rows(target)
        for row, t in zip(rows, trows):
            logp = _log_softmax(row)
            losses.append(-sum(w[c] * ((1 - eps) * t[c] + eps / n_classes) * logp[c]
                               for c in range(n_classes)))
        denom = len(losses)
    else:
        for row, y in zip(rows, np.asarray(target).ravel()):
            if y == ignore_index:
                losses.append(0.0)
                continue
            logp = _log_softmax(row)
            nll = -w[y] * logp[y]
            smooth = -sum(w[c] * logp[c] for c in range(n_classes))
            losses.append((1 - eps) * nll + eps / n_classes * smooth)
            denom += w[y]
    shape = (z.shape[0],) + z.shape[2:]
    if reduction == "none":
        return np.asarray(losses).reshape(shape)
    if reduction == "sum":
        return math.fsum(losses)
    return math.fsum(losses) / denom if denom > 0 else 0.0


def bce_with_logits(z, t, weight=None, reduction="mean", pos_weight=None):
    out = np.empty(z.shape)
    pw = np.broadcast_to(np.ones(1) if pos_weight is None else pos_weight, z.shape)
    w = np.broadcast_to(np.ones(1) if weight is None else weight, z.shape)
    for idx in np.ndindex(z.shape):
        s = _sigmoid(z[idx])
        out[idx] = -w[idx] * (pw[idx] * t[idx] * math.log(s) + (1 - t[idx]) * math.log(1 - s))
    return _reduce(out, reduction)


def binary_cross_entropy(p, t, weight=None, reduction="mean"):
    out = np.empty(p.shape)
    w = np.broadcast_to(np.ones(1) if weight is None else weight, p.shape)
    for idx in np.ndindex(p.shape):
        log_p = max(math.log(p[idx]), -100.0) if p[idx] > 0 else -100.0
        log_q = max(math.log(1 - p[idx]), -100.0) if p[idx] < 1 else -100.0
        out[idx] = -w[idx] * (t[idx] * log_p + (1 - t[idx]) * log_q)
    return _reduce(out, reduction)


def label_smoothing_ce(z, y, smoothing=0.1, reduction="mean"):
    k = z.shape[1]
    losses = []
    for row, label in zip(z, y):
        logp = _log_softmax(row)
        q = [(1 - smoothing) * (c == label) + smoothing / k for c in range(k)]
        losses.append(-sum(qc * lp for qc, lp in zip(q, logp)))
    return _reduce(losses, reduction)


def sigmoid_focal_loss(z, t, alpha=0.25, gamma=2.0, reduction="none"):
    out = np.empty(z.shape)
    for idx in np.ndindex(z.shape):
        p, y = _sigmoid(z[idx]), float(t[idx])
        ce = -(y * math.log(p) + (1 - y) * math.log(1 - p))
        p_t = p * y + (1 - p) * (1 - y)
        a_t = alpha * y + (1 - alpha) * (1 - y) if alpha >= 0 else 1.0
        out[idx] = a_t * ce * (1 - p_t) ** gamma
    return _reduce(out, reduction)


def softmax_focal_loss(z, y, gamma=2.0, alpha=None, reduction="mean"):
    losses = []
    for row, label in zip(_rows(z), np.asarray(y).ravel()):
        logp = _log_softmax(row)[label]
        a = 1.0 if alpha is None else alpha[label]
        losses.append(-a * (1 - math.exp(logp)) ** gamma * logp)
    return _reduce(losses, reduction, (z.shape[0],) + z.shape[2:] if reduction == "none" else None)


def kl_div_loss(logq, t, reduction="mean", log_target=False):
    out = np.empty(logq.shape)
    for idx in np.ndindex(logq.shape):
        if log_target:
            out[idx] = math.exp(t[idx]) * (t[idx] - logq[idx])
        else:
            out[idx] = 0.0 if t[idx] == 0 else t[idx] * (math.log(t[idx]) - logq[idx])
    if reduction == "batchmean":
        return math.fsum(out.ravel()) / logq.shape[0]
    return _reduce(out, reduction)


def hinge_loss(f, y, margin=1.0, power=1, reduction="mean"):
    out = np.array([max(0.0, margin - yy * ff) ** power for ff, yy in zip(f.ravel(), y.ravel())])
    return _reduce(out.reshape(f.shape), reduction)


def crammer_singer_hinge_loss(z, y, margin=1.0, reduction="mean"):
    losses = []
    for row, label in zip(z, y):
        rival = max(v for j, v in enumerate(row) if j != label)
        losses.append(max(0.0, margin + rival - row[label]))
    return _reduce(losses, reduction)


def weston_watkins_hinge_loss(z, y, margin=1.0, p=1, weight=None, divide_by_classes=False,
                              reduction="mean"):
    losses = []
    for row, label in zip(z, y):
        w = 1.0 if weight is None else weight[label]
        total = sum(w * max(0.0, margin + row[j] - row[label]) ** p
                    for j in range(len(row)) if j != label)
        losses.append(total / len(row) if divide_by_classes else total)
    return _reduce(losses, reduction)


def temperature_scaling(z, y, temperature, reduction="mean"):
    t = float(np.asarray(temperature).ravel()[0])
    return cross_entropy(z / t, y, reduction=reduction)


def mixup_loss(z, ya, yb, lam, reduction="mean", label_smoothing=0.0):
    a = cross_entropy(z, ya, reduction=reduction, label_smoothing=label_smoothing)
    b = cross_entropy(z, yb, reduction=reduction, label_smoothing=label_smoothing)
    return lam * np.asarray(a) + (1 - lam) * np.asarray(b)


def entropy_loss(z, activation="softmax", reduction="mean"):
    rows = _rows(z)
    out = []
    for row in rows:
        if activation == "softmax":
            logp = _log_softmax(row)
            out.append(-sum(math.exp(lp) * lp for lp in logp))
        else:
            h = 0.0
            for v in row:
                p = _sigmoid(v)
                h -= p * math.log(p) + (1 - p) * math.log(1 - p)
            out.append(h)
    return _reduce(out, reduction, (z.shape[0],) + z.shape[2:])


def asymmetric_loss(z, y, gamma_neg=4.0, gamma_pos=0.0, clip=0.05, eps=1e-8, detach_focal=False,
                    reduction="sum"):
    out = np.empty(z.shape)
    for idx in np.ndindex(z.shape):
        p = _sigmoid(z[idx])
        if y[idx]:
            out[idx] = -(1 - p) ** gamma_pos * math.log(max(p, eps))
        else:
            xs_neg = min(1 - p + clip, 1.0)           # the official code's shifted 1 − p
            out[idx] = -(1 - xs_neg) ** gamma_neg * math.log(max(xs_neg, eps))
    return _reduce(out, reduction)


ORACLES = {
    "cross_entropy": cross_entropy, "bce_with_logits": bce_with_logits,
    "binary_cross_entropy": binary_cross_entropy,
    "label_smoothing_ce": label_smoothing_ce, "sigmoid_focal_loss": sigmoid_focal_loss,
    "softmax_focal_loss": softmax_focal_loss, "kl_div_loss": kl_div_loss,
    "hinge_loss": hinge_loss, "crammer_singer_hinge_loss": crammer_singer_hinge_loss,
    "weston_watkins_hinge_loss": weston_watkins_hinge_loss,
    "temperature_scaling": temperature_scaling, "mixup_loss": mixup_loss,
    "entropy_loss": entropy_loss, "asymmetric_loss": asymmetric_loss,
}


# ------------------------------------------------------------------ margin (face) losses
def _unit(v):
    norm = math.sqrt(math.fsum(x * x for x in v))
    return [x / max(norm, 1e-12) for x in v]


def _dot(a, b):
    return math.fsum(x * y for x, y in zip(a, b))


def _ce_rows(logit_rows, labels, reduction):
    losses = [-_log_softmax(row)[y] for row, y in zip(logit_rows, labels)]
    return _reduce(losses, reduction)


def _arc_target(c, s, m, easy_margin):
    theta = math.acos(max(-1.0, min(1.0, c)))
    if easy_margin:
        return s * (math.cos(theta + m) if c > 0 else c)
    if c > math.cos(math.pi - m):
        return s * math.cos(theta + m)
    return s * (c - math.sin(math.pi - m) * m)


def arcface_loss(x, w, y, s=64.0, m=0.5, easy_margin=False, reduction="mean", k=1):
    rows = []
    for xi, yi in zip(x, y):
        xn = _unit(xi)
        cos = [max(_dot(xn, _unit(w[j * k + q])) for q in range(k)) for j in range(len(w) // k)]
        row = [s * c for c in cos]
        row[yi] = _arc_target(cos[yi], s, m, easy_margin)
        rows.append(row)
    return _ce_rows(rows, y, reduction)


def subcenter_arcface_loss(x, w, y, k=3, s=64.0, m=0.5, easy_margin=False, reduction="mean"):
    return arcface_loss(x, w, y, s, m, easy_margin, reduction, k=k)


def cosface_loss(x, w, y, s=64.0, m=0.35, reduction="mean"):
    rows = []
    for xi, yi in zip(x, y):
        cos = [_dot(_unit(xi), _unit(wj)) for wj in w]
        rows.append([s * (c - m * (j == yi)) for j, c in enumerate(cos)])
    return _ce_rows(rows, y, reduction)


def sphereface_loss(x, w, y, m=4, lamb=0.0, reduction="mean"):
    rows = []
    for xi, yi in zip(x, y):
        norm = math.sqrt(_dot(xi, xi))
        cos = [_dot(xi, _unit(wj)) / norm for wj in w]
        theta = math.acos(cos[yi])
        k = math.floor(m * theta / math.pi)
        psi = (-1) ** k * math.cos(m * theta) - 2 * k
        row = [norm * c for c in cos]
        row[yi] = norm * (lamb * cos[yi] + psi) / (1 + lamb)
        rows.append(row)
    return _ce_rows(rows, y, reduction)


ORACLES.update({"arcface_loss": arcface_loss, "subcenter_arcface_loss": subcenter_arcface_loss,
                "cosface_loss": cosface_loss, "sphereface_loss": sphereface_loss})


# ------------------------------------------------------------------ metric learning
def _sqdist(a, b):
    return math.fsum((x - y) ** 2 for x, y in zip(a, b))


def center_loss(x, y, c, reduction="mean", center_update="gradient"):
    return _reduce([0.5 * _sqdist(xi, c[yi]) for xi, yi in zip(x, y)], reduction)


def circle_loss(x, y, m=0.25, gamma=256.0, reduction="mean", reference=None):
    ref = x if reference is None else reference
    n = len(x)
    unit = [_unit(v) for v in x]
    unit_ref = [_unit(v) for v in ref]
    losses, count = [], 0
    for i in range(n):
        lp, ln = [], []
        for j in range(n):
            if j == i:
                continue
            s, s_ref = _dot(unit[i], unit[j]), _dot(unit_ref[i], unit_ref[j])
            if y[j] == y[i]:
                lp.append(-gamma * max(1 + m - s_ref, 0.0) * (s - (1 - m)))
            else:
                ln.append(gamma * max(s_ref + m, 0.0) * (s - m))
        if lp and ln:
            losses.append(_softplus(_logsumexp(lp) + _logsumexp(ln)))
            count += 1
        else:
            losses.append(0.0)
    if reduction == "none":
        return np.asarray(losses)
    total = math.fsum(losses)
    return total / count if reduction == "mean" and count else (0.0 if reduction == "mean" else total)


def contrastive_pair_loss(x, y, margin=1.0, eps=1e-12, reduction="mean"):
    losses = []
    for i, j in itertools.combinations(range(len(x)), 2):
        sq = _sqdist(x[i], x[j])
        losses.append(sq if y[i] == y[j] else max(0.0, margin - math.sqrt(sq + eps)) ** 2)
    return _reduce(losses, reduction)


def triplet_margin_loss(anchor, positive, negative=None, margin=1.0, p=2, eps=1e-6, swap=False,
                        reduction="mean", mining="all", squared=False):
    if negative is not None:
        def dist(a, b):
            return math.fsum(abs(u - v + eps) ** p for u, v in zip(a, b)) ** (1 / p)
        losses = []
        for a, pp, nn in zip(anchor, positive, negative):
            d_an = dist(a, nn)
            if swap:
                d_an = min(d_an, dist(pp, nn))
            losses.append(max(0.0, margin + dist(a, pp) - d_an))
        return _reduce(losses, reduction)
    x, y = anchor, positive
    n = len(x)

    def d(i, j):
        sq = _sqdist(x[i], x[j])
        return sq if squared else math.sqrt(sq + eps)

    triplets = []
    for a in range(n):
        positives = [q for q in range(n) if q != a and y[q] == y[a]]
        negatives = [q for q in range(n) if y[q] != y[a]]
        if not positives or not negatives:
            continue
        if mining == "all":
            triplets += [(a, q, r) for q in positives for r in negatives]
        elif mining == "batch_hard":
            triplets.append((a, max(positives, key=lambda q: d(a, q)),
                             min(negatives, key=lambda r: d(a, r))))
        else:
            for q in positives:
                farther = [r for r in negatives if d(a, r) > d(a, q)]
                r = min(farther, key=lambda r: d(a, r)) if farther else \
                    max(negatives, key=lambda r: d(a, r))
                triplets.append((a, q, r))
    losses = [max(0.0, d(a, q) - d(a, r) + margin) for a, q, r in triplets]
    if not losses:
        return np.zeros(0) if reduction == "none" else 0.0
    return _reduce(losses, reduction)


def proxy_nca_loss(x, y, proxies, softmax_scale=1.0, reduction="mean"):
    losses = []
    for xi, yi in zip(x, y):
        d = [_sqdist(_unit(xi), _unit(pz)) for pz in proxies]
        others = [-softmax_scale * d[z] for z in range(len(proxies)) if z != yi]
        losses.append(softmax_scale * d[yi] + _logsumexp(others))
    return _reduce(losses, reduction)


def multi_similarity_loss(x, y, alpha=2.0, beta=50.0, base=0.5, margin=0.1, reduction="mean"):
    n = len(x)
    unit = [_unit(v) for v in x]
    losses = []
    for i in range(n):
        sims = {j: _dot(unit[i], unit[j]) for j in range(n) if j != i}
        pos = [s for j, s in sims.items() if y[j] == y[i]]
        neg = [s for j, s in sims.items() if y[j] != y[i]]
        if margin is not None and pos and neg:
            pos, neg = [s for s in pos if s - margin < max(neg)], [s for s in neg if s + margin > min(pos)]
        if not pos or not neg:
            losses.append(0.0)
            continue
        losses.append(math.log(1 + math.fsum(math.exp(-alpha * (s - base)) for s in pos)) / alpha
                      + math.log(1 + math.fsum(math.exp(beta * (s - base)) for s in neg)) / beta)
    if reduction == "none":
        return np.asarray(losses)
    return math.fsum(losses) / (n if reduction == "mean" else 1)


ORACLES.update({"center_loss": center_loss, "circle_loss": circle_loss,
                "contrastive_pair_loss": contrastive_pair_loss,
                "triplet_margin_loss": triplet_margin_loss, "proxy_nca_loss": proxy_nca_loss,
                "multi_similarity_loss": multi_similarity_loss})


# ------------------------------------------------------------------ contrastive / SSL
def info_nce_loss(q, k, negatives=None, temperature=0.5, reduction="mean", top_k=None,
                  normalize_inputs=True):
    prep = _unit if normalize_inputs else list
    losses = []
    if negatives is None:
        z = [prep(v) for v in q] + [prep(v) for v in k]
        n = len(q)
        for i in range(2 * n):
            partner = (i + n) % (2 * n)
            negs = sorted((_dot(z[i], z[j]) / temperature for j in range(2 * n)
                           if j not in (i, partner)), reverse=True)
            if top_k is not None:
                negs = negs[:top_k]
            pos = _dot(z[i], z[partner]) / temperature
            losses.append(_logsumexp([pos] + negs) - pos)
        return _reduce(losses, reduction)
    for i in range(len(q)):
        qi, ki = prep(q[i]), prep(k[i])
        bank = negatives if negatives.ndim == 2 else negatives[i]
        negs = sorted((_dot(qi, prep(v)) / temperature for v in bank), reverse=True)
        if top_k is not None:
            negs = negs[:top_k]
        pos = _dot(qi, ki) / temperature
        losses.append(_logsumexp([pos] + negs) - pos)
    return _reduce(losses, reduction)


def clip_loss(img, txt, logit_scale, reduction="mean", max_logit_scale=100.0, normalize_inputs=True):
    scale = min(math.exp(float(logit_scale)), max_logit_scale)
    a = [_unit(v) for v in img] if normalize_inputs else img
    b = [_unit(v) for v in txt] if normalize_inputs else txt
    n = len(a)
    logits = [[scale * _dot(a[i], b[j]) for j in range(n)] for i in range(n)]
    losses = [0.5 * (-_log_softmax(logits[i])[i] - _log_softmax([logits[j][i] for j in range(n)])[i])
              for i in range(n)]
    return _reduce(losses, reduction)


def supcon_loss(features, labels=None, temperature=0.07, base_temperature=0.07,
                contrast_mode="all", reduction="mean", normalize_inputs=True):
    if features.ndim == 2:
        features = features[:, None, :]
    b, views, _ = features.shape
    y = list(range(b)) if labels is None else list(labels)
    samples = [(v * b + i, y[i], _unit(features[i, v]) if normalize_inputs else features[i, v])
               for v in range(views) for i in range(b)]
    anchors = samples if contrast_mode == "all" else samples[:b]
    losses = []
    for idx, label, za in anchors:
        others = [(label2, _dot(za, zc) / temperature) for idx2, label2, zc in samples if idx2 != idx]
        lse = _logsumexp(s for _, s in others)
        logs = [s - lse for label2, s in others if label2 == label]
        losses.append(-(temperature / base_temperature) * (math.fsum(logs) / len(logs) if logs else 0.0))
    return _reduce(losses, reduction)


def siglip_loss(img, txt, logit_scale, logit_bias, reduction="mean", normalize_inputs=True):
    t, bias = math.exp(float(logit_scale)), float(logit_bias)
    a = [_unit(v) for v in img] if normalize_inputs else img
    b = [_unit(v) for v in txt] if normalize_inputs else txt
    n = len(a)
    out = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            sign = 1.0 if i == j else -1.0
            out[i, j] = -math.log(_sigmoid(sign * (t * _dot(a[i], b[j]) + bias)))
    if reduction == "mean":
        return math.fsum(out.ravel()) / n
    return _reduce(out, reduction)


def byol_loss(q, z, reduction="mean"):
    return _reduce([_sqdist(_unit(a), _unit(b)) for a, b in zip(q, z)], reduction)


ORACLES.update({"info_nce_loss": info_nce_loss, "clip_loss": clip_loss, "supcon_loss": supcon_loss,
                "siglip_loss": siglip_loss, "byol_loss": byol_loss})


# ------------------------------------------------------------------ distillation
def kd_loss(zs, zt, y=None, temperature=4.0, alpha=0.9, reduction="mean"):
    t = temperature
    losses = []
    for i in range(len(zs)):
        ls = _log_softmax([v / t for v in zs[i]])
        lt = _log_softmax([v / t for v in zt[i]])
        kl = math.fsum(math.exp(b) * (b - a) for a, b in zip(ls, lt))
        if y is None:
            losses.append(t * t * kl)
        else:
            losses.append(alpha * t * t * kl - (1 - alpha) * _log_softmax(zs[i])[y[i]])
    return _reduce(losses, reduction)


ORACLES.update({"kd_loss": kd_loss})


# ------------------------------------------------------------------ regression
def _pointwise(fn, x, y, reduction):
    x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
    out = np.empty(x.shape)
    for idx in np.ndindex(x.shape):
        out[idx] = fn(x[idx], y[idx])
    return _reduce(out, reduction)


def _huber(r, delta):
    return 0.5 * r * r if abs(r) <= delta else delta * (abs(r) - 0.5 * delta)


def quantile_loss(x, y, quantiles=0.5, reduction="mean"):
    if isinstance(quantiles, (int, float)):
        return _pointwise(lambda a, b: max(quantiles * (b - a), (quantiles - 1) * (b - a)), x, y, reduction)
    out = np.empty(x.shape)
    for idx in np.ndindex(x.shape):
        q, r = quantiles[idx[-1]], y[idx[:-1]] - x[idx]
        out[idx] = max(q * r, (q - 1) * r)
    return _reduce(out, reduction)


def poisson_nll_loss(x, y, log_input=True, full=False, eps=1e-8, reduction="mean"):
    def one(a, b):
        v = math.exp(a) - b * a if log_input else a - b * math.log(a + eps)
        if full and b > 1:
            v += b * math.log(b) - b + 0.5 * math.log(2 * math.pi * b)
        return v
    return _pointwise(one, x, y, reduction)


def gaussian_nll_loss(x, y, var, full=False, eps=1e-6, reduction="mean"):
    var = np.asarray(var, float)
    if var.shape != x.shape and var.shape == x.shape[:-1]:
        var = var[..., None]
    var = np.broadcast_to(var, x.shape)
    out = np.empty(x.shape)
    for idx in np.ndindex(x.shape):
        v = max(var[idx], eps)
        out[idx] = 0.5 * (math.log(v) + (x[idx] - y[idx]) ** 2 / v) + (0.5 * math.log(2 * math.pi) if full else 0)
    return _reduce(out, reduction)


def cosine_embedding_loss(x1, x2, y, margin=0.0, reduction="mean"):
    losses = []
    for a, b, t in zip(x1, x2, y):
        cos = _dot(a, b) / math.sqrt((_dot(a, a) + 1e-12) * (_dot(b, b) + 1e-12))
        losses.append(1 - cos if t == 1 else max(0.0, cos - margin))
    return _reduce(losses, reduction)


def rmse_loss(x, y, eps=1e-12, normalization=None):
    sq = [(b - a) ** 2 for a, b in zip(x.ravel(), y.ravel())]
    if normalization == "relative":
        return math.sqrt(math.fsum(sq) / math.fsum(a * a for a in x.ravel()) + eps)
    rmse = math.sqrt(math.fsum(sq) / len(sq) + eps)
    if normalization == "mean":
        return rmse / (math.fsum(y.ravel()) / y.size)
    if normalization == "range":
        return rmse / (y.max() - y.min())
    return rmse


def msle_loss(x, y, eps=1e-7, root=False, reduction="mean"):
    def one(a, b):
        return (math.log(1 + max(b, -1 + eps)) - math.log(1 + max(a, -1 + eps))) ** 2
    out = _pointwise(one, x, y, reduction)
    return math.sqrt(out + eps * eps) if root else out


ORACLES.update({
    "mse_loss": lambda x, y, reduction="mean": _pointwise(lambda a, b: (a - b) ** 2, x, y, reduction),
    "l1_loss": lambda x, y, reduction="mean": _pointwise(lambda a, b: abs(a - b), x, y, reduction),
    "huber_loss": lambda x, y, reduction="mean", delta=1.0: _pointwise(
        lambda a, b: _huber(a - b, delta), x, y, reduction),
    "log_cosh_loss": lambda x, y, reduction="mean": _pointwise(
        lambda a, b: math.log(math.cosh(a - b)), x, y, reduction),
    "quantile_loss": quantile_loss, "poisson_nll_loss": poisson_nll_loss,
    "gaussian_nll_loss": gaussian_nll_loss, "cosine_embedding_loss": cosine_embedding_loss,
    "rmse_loss": rmse_loss,
    "mape_loss": lambda x, y, eps=1e-7, reduction="mean": _pointwise(
        lambda a, b: 100 * abs(b - a) / max(abs(b), eps), x, y, reduction),
    "msle_loss": msle_loss,
})


# ------------------------------------------------------------------ boxes
def _box_terms(a, b, eps):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    cw = max(a[2], b[2]) - min(a[0], b[0])
    ch = max(a[3], b[3]) - min(a[1], b[1])
    rho2 = ((a[0] + a[2]) / 2 - (b[0] + b[2]) / 2) ** 2 + ((a[1] + a[3]) / 2 - (b[1] + b[3]) / 2) ** 2
    return inter / (union + eps), union, cw * ch, cw * cw + ch * ch + eps, rho2


def _box_loss(kind):
    def loss(b1, b2, reduction="none", eps=1e-7, paper_gradient=False, reference1=None, reference2=None):
        out = np.empty(b1.shape[:-1])
        for idx in np.ndindex(out.shape):
            a, b = b1[idx], b2[idx]
            iou, union, area_c, diag, rho2 = _box_terms(a, b, eps)
            if kind == "iou":
                out[idx] = 1 - iou
            elif kind == "giou":
                out[idx] = 1 - iou + (area_c - union) / (area_c + eps)
            else:
                out[idx] = 1 - iou + rho2 / diag
                if kind == "ciou":
                    v = 4 / math.pi ** 2 * (math.atan((b[2] - b[0]) / (b[3] - b[1]))
                                            - math.atan((a[2] - a[0]) / (a[3] - a[1]))) ** 2
                    out[idx] += v / (1 - iou + v + eps) * v
        return _reduce(out, reduction)
    return loss


ORACLES.update({"iou_loss": _box_loss("iou"), "giou_loss": _box_loss("giou"),
                "diou_loss": _box_loss("diou"), "ciou_loss": _box_loss("ciou")})


# ------------------------------------------------------------------ segmentation
def _seg_probs(z, target, activation):
    z = np.asarray(z, float)
    if activation == "softmax":
        p = np.empty(z.shape)
        for idx in np.ndindex((z.shape[0],) + z.shape[2:]):
            sl = (idx[0], slice(None)) + idx[1:]
            p[sl] = np.exp(_log_softmax(z[sl]))
    elif activation == "sigmoid":
        p = np.vectorize(_sigmoid)(z)
    else:
        p = z
    target = np.asarray(target)
    if target.shape == z.shape:
        g = target.astype(float)
    else:
        g = np.zeros(z.shape)
        for idx in np.ndindex(target.shape):
            g[(idx[0], target[idx]) + idx[1:]] = 1.0
    return p, g


def _per_class_sums(p, g, batch_dice):
    """{(sample or None, class): (Σpg, Σp, Σg)} by explicit loops."""
    sums = {}
    for idx in np.ndindex(p.shape):
        key = (None if batch_dice else idx[0], idx[1])
        s = sums.setdefault(key, [0.0, 0.0, 0.0])
        s[0] += p[idx] * g[idx]
        s[1] += p[idx]
        s[2] += g[idx]
    return sums


def _seg_reduce(per_class, n, c, weight, batch_dice, reduction):
    w = np.ones(c) if weight is None else weight
    samples = [None] if batch_dice else range(n)
    per = [1 - sum(w[k] * per_class[(s, k)] for k in range(c)) / c for s in samples]
    if batch_dice:
        return per[0] if reduction != "none" else np.asarray(per[0])
    return _reduce(per, reduction)


def dice_loss(z, target, activation="softmax", smooth=1e-5, weight=None, batch_dice=False,
              reduction="mean"):
    p, g = _seg_probs(z, target, activation)
    dice = {k: (2 * s[0] + smooth) / max(s[1] + s[2] + smooth, 1e-8)
            for k, s in _per_class_sums(p, g, batch_dice).items()}
    return _seg_reduce(dice, z.shape[0], z.shape[1], weight, batch_dice, reduction)


def tversky_loss(z, target, alpha=0.3, beta=0.7, gamma=1.0, activation="softmax", smooth=1e-5,
                 weight=None, batch_dice=False, reduction="mean"):
    p, g = _seg_probs(z, target, activation)
    score = {}
    for k, (tp, ps, gs) in _per_class_sums(p, g, batch_dice).items():
        fp, fn = ps - tp, gs - tp
        ti = (tp + smooth) / (tp + alpha * fp + beta * fn + smooth)
        score[k] = 1 - (1 - ti) ** gamma            # _seg_reduce computes 1 − mean(score)
    return _seg_reduce(score, z.shape[0], z.shape[1], weight, batch_dice, reduction)


ORACLES.update({"dice_loss": dice_loss, "tversky_loss": tversky_loss})


# ------------------------------------------------------------------ generative
def _rows_of(x):
    x = np.asarray(x, float)
    return x.reshape(x.shape[0], -1) if x.ndim > 1 else x.reshape(-1, 1)


def gaussian_kl_loss(mu, logvar, mu2=None, logvar2=None, reduction="mean"):
    m1, l1 = _rows_of(mu), _rows_of(logvar)
    m2 = np.zeros_like(m1) if mu2 is None else _rows_of(mu2)
    l2 = np.zeros_like(l1) if logvar2 is None else _rows_of(logvar2)
    per = [0.5 * math.fsum(l2[i, k] - l1[i, k] + (math.exp(l1[i, k]) + (m1[i, k] - m2[i, k]) ** 2)
                           / math.exp(l2[i, k]) - 1 for k in range(m1.shape[1]))
           for i in range(m1.shape[0])]
    return _reduce(per, reduction)


def vae_elbo_loss(recon, x, mu, logvar, likelihood="bernoulli", sigma_x=1.0, beta=1.0,
                  reduction="mean"):
    r, t = _rows_of(recon), _rows_of(x)
    kl = gaussian_kl_loss(mu, logvar, reduction="none")
    per = []
    for i in range(r.shape[0]):
        if likelihood == "bernoulli":
            rec = math.fsum(-(b * math.log(_sigmoid(a)) + (1 - b) * math.log(1 - _sigmoid(a)))
                            for a, b in zip(r[i], t[i]))
        else:
            rec = math.fsum((b - a) ** 2 for a, b in zip(r[i], t[i])) / (2 * sigma_x ** 2)
        per.append(rec + beta * kl[i])
    return _reduce(per, reduction)


def denoising_score_matching_loss(pred, noise, sigma=None, parameterization="epsilon",
                                  reduction="mean"):
    out = np.empty(pred.shape)
    for idx in np.ndindex(pred.shape):
        if parameterization == "epsilon":
            out[idx] = (pred[idx] - noise[idx]) ** 2
        else:
            s = sigma[idx[0]]
            out[idx] = s * s * (pred[idx] + noise[idx] / s) ** 2
    return _reduce(out, reduction)


def _gan_oracle(d_real, d_fake, g_fake):
    def loss(real, fake, mode="discriminator", reduction="mean"):
        if mode == "generator":
            return _reduce([g_fake(f) for f in fake.ravel()], reduction, fake.shape)
        r = np.array([d_real(v) for v in real.ravel()]).reshape(real.shape)
        f = np.array([d_fake(v) for v in fake.ravel()]).reshape(fake.shape)
        if reduction == "none":
            return r, f
        return _reduce(r, reduction) + _reduce(f, reduction)
    return loss


ORACLES.update({
    "gaussian_kl_loss": gaussian_kl_loss, "vae_elbo_loss": vae_elbo_loss,
    "denoising_score_matching_loss": denoising_score_matching_loss,
    "gan_ns_loss": _gan_oracle(lambda r: -math.log(_sigmoid(r)), lambda f: -math.log(1 - _sigmoid(f)),
                               lambda f: -math.log(_sigmoid(f))),
    "gan_hinge_loss": _gan_oracle(lambda r: max(0.0, 1 - r), lambda f: max(0.0, 1 + f), lambda f: -f),
    "wgan_loss": _gan_oracle(lambda r: -r, lambda f: f, lambda f: -f),
})


# ------------------------------------------------------------------ penalties
def _flat_params(params):
    arrays = params if isinstance(params, list) else [params]
    return [v for a in arrays for v in np.asarray(a, float).ravel()]


ORACLES.update({
    "l2_penalty": lambda params, lam=1.0: lam / 2 * math.fsum(v * v for v in _flat_params(params)),
    "l1_penalty": lambda params, lam=1.0: lam * math.fsum(abs(v) for v in _flat_params(params)),
})


# ------------------------------------------------------------------ adversarial
# NumPy transcriptions of the attacks on the linear model z = x·Wᵀ + b, with the checks'
# fixed generator (default_rng(7)) and the reference weights building the perturbation.
def _softmax_rows(z):
    return np.array([[math.exp(v) for v in _log_softmax(row)] for row in z])


def _ce_per_row(z, y):
    return [-_log_softmax(row)[t] for row, t in zip(z, y)]


def _kl_rows(z_p, z_q):
    """KL(softmax(z_p) ‖ softmax(z_q)) per row."""
    out = []
    for a, b in zip(z_p, z_q):
        lp, lq = _log_softmax(a), _log_softmax(b)
        out.append(math.fsum(math.exp(u) * (u - v) for u, v in zip(lp, lq)))
    return out


def _norm_rows(a):
    return np.sqrt((a.reshape(len(a), -1) ** 2).sum(axis=1)).reshape((-1,) + (1,) * (a.ndim - 1))


def _pgd_numpy(w, b, x0, grad_fn, eps, alpha, steps, start, norm):
    x = np.clip(x0 + start, 0, 1)
    for _ in range(steps):
        g = grad_fn(x)
        if norm == "linf":
            delta = np.clip(x + alpha * np.sign(g) - x0, -eps, eps)
        else:
            delta = x + alpha * g / (_norm_rows(g) + 1e-12) - x0
            delta = delta * np.minimum(1, eps / np.maximum(_norm_rows(delta), 1e-12))
        x = np.clip(x0 + delta, 0, 1)
    return x


def _onehot(y, c):
    out = np.zeros((len(y), c))
    out[np.arange(len(y)), y] = 1
    return out


def pgd_adversarial_loss(w, b, x, y, reference_weight=None, reference_bias=None, eps=8 / 255,
                         alpha=None, steps=10, attack="pgd_linf", random_start=None,
                         clean_weight=0.0, reduction="mean"):
    rng = np.random.default_rng(7)
    rw, rb = reference_weight, reference_bias
    fgsm = attack == "fgsm"
    alpha = (eps if fgsm else 2 / 255) if alpha is None else alpha
    random_start = (not fgsm) if random_start is None else random_start
    norm = "l2" if attack == "pgd_l2" else "linf"
    start = np.zeros(x.shape)
    if random_start and norm == "linf":
        start = eps * (2 * rng.random(x.shape) - 1)
    elif random_start:
        u = rng.standard_normal(x.shape)
        r = rng.random((x.shape[0], 1))
        start = eps * r * u / np.maximum(_norm_rows(u), 1e-12)
    grad_fn = lambda xa: (_softmax_rows(xa @ rw.T + rb) - _onehot(y, len(rb))) @ rw  # noqa: E731
    x_adv = _pgd_numpy(rw, rb, x, grad_fn, eps, alpha, 1 if fgsm else steps, start, norm)
    per = np.asarray(_ce_per_row(x_adv @ w.T + b, y)) + clean_weight * np.asarray(_ce_per_row(x @ w.T + b, y))
    return _reduce(per, reduction)


def trades_loss(w, b, x, y, reference_weight=None, reference_bias=None, beta=6.0, eps=0.031,
                alpha=0.007, steps=10, random_start=0.001, reduction="mean"):
    rng = np.random.default_rng(7)
    rw, rb = reference_weight, reference_bias
    p_clean = _softmax_rows(x @ rw.T + rb)
    grad_fn = lambda xa: (_softmax_rows(xa @ rw.T + rb) - p_clean) @ rw  # noqa: E731
    x_adv = _pgd_numpy(rw, rb, x, grad_fn, eps, alpha, steps,
                       random_start * rng.standard_normal(x.shape), "linf")
    z_nat, z_adv = x @ w.T + b, x_adv @ w.T + b
    per = np.asarray(_ce_per_row(z_nat, y)) + beta * np.asarray(_kl_rows(z_nat, z_adv))
    return _reduce(per, reduction)


def vat_loss(w, b, x, reference_weight=None, reference_bias=None, eps=8.0, xi=1e-6,
             power_iterations=1, reduction="mean"):
    rng = np.random.default_rng(7)
    rw, rb = reference_weight, reference_bias
    z_clean = x @ rw.T + rb
    p_clean = _softmax_rows(z_clean)
    d = rng.standard_normal(x.shape)
    d = d / np.maximum(_norm_rows(d), 1e-12)
    for _ in range(power_iterations):
        g = (_softmax_rows((x + xi * d) @ rw.T + rb) - p_clean) @ rw
        d = g / np.maximum(_norm_rows(g), 1e-12)
    per = _kl_rows(z_clean, (x + eps * d) @ w.T + b)
    return _reduce(per, reduction)


ORACLES.update({"pgd_adversarial_loss": pgd_adversarial_loss, "trades_loss": trades_loss,
                "vat_loss": vat_loss})
