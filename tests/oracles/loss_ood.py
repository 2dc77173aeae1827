"""Forward references for the OOD, test-time and weak multi-label losses (issue 15: OE,
energy margin, SCONE/WOODS, CoTTA, EM + APL, ReLabel soft CE): per-row Python loops over
float64 NumPy arrays, transcribed from the official code's equations without minigrad."""
import math

import numpy as np


def _lse(values):
    m = max(values)
    return m + math.log(math.fsum(math.exp(v - m) for v in values))


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _mean(values):
    return math.fsum(values) / len(values) if values else 0.0


def _ce_rows(z, target):
    z = np.asarray(z, float)
    t = np.asarray(target)
    out = []
    for i, row in enumerate(z):
        if t.dtype.kind == "f":
            out.append(math.fsum(-t[i, k] * (row[k] - _lse(row)) for k in range(len(row))))
        else:
            out.append(_lse(row) - row[int(t[i])])
    return out


def outlier_exposure_loss(z_in, target, z_out, lam=0.5, reduction="mean"):
    ce = _ce_rows(z_in, target)
    oe = [lam * (_lse(row) - math.fsum(row) / len(row)) for row in np.asarray(z_out, float)]
    if reduction == "none":
        return np.array(ce + oe)
    if reduction == "sum":
        return math.fsum(ce) + math.fsum(oe)
    return _mean(ce) + _mean(oe)


def energy_margin_loss(z_in, z_out, m_in=-25.0, m_out=-7.0, weight=0.1, reduction="mean"):
    a = [weight * max(-_lse(row) - m_in, 0.0) ** 2 for row in np.asarray(z_in, float)]
    b = [weight * max(m_out + _lse(row), 0.0) ** 2 for row in np.asarray(z_out, float)]
    if reduction == "none":
        return np.array(a + b)
    if reduction == "sum":
        return math.fsum(a) + math.fsum(b)
    return _mean(a) + _mean(b)


def _psi(c, lam, rho):
    return lam * c + rho / 2 * c * c if rho * c + lam >= 0 else -lam * lam / (2 * rho)


def scone_woods_loss(z_in, target, z_wild, weight, bias, ce_ref, multipliers=(0.0, 0.0),
                     penalties=(1.0, 1.0), false_alarm_cutoff=0.05, ce_tol=2.0, eta=1.0,
                     out_weight=1.0, reduction="mean"):
    w, b = float(np.ravel(weight)[0]), float(np.ravel(bias)[0])
    f_in = _mean([_sigmoid(w * _lse(row) + b) for row in np.asarray(z_in, float)])
    f_out = _mean([_sigmoid(-(w * (_lse(row) - eta) + b)) for row in np.asarray(z_wild, float)])
    ce = _mean(_ce_rows(z_in, target))
    return (_psi(ce - ce_tol * ce_ref, multipliers[1], penalties[1]) + out_weight * f_out
            + _psi(f_in - false_alarm_cutoff, multipliers[0], penalties[0]))


def _softmax_row(row):
    l = _lse(row)
    return [math.exp(v - l) for v in row]


def cotta_consistency_loss(z, teacher, aug=None, anchor=None, ap=0.92, reduction="mean"):
    z, teacher = np.asarray(z, float), np.asarray(teacher, float)
    use_views = aug is not None and (anchor is None or _mean(
        [max(_softmax_row(row)) for row in np.asarray(anchor, float)]) < ap)
    losses = []
    for b, row in enumerate(z):
        if use_views:
            views = np.asarray(aug, float)[:, b, :]
            t_logits = [math.fsum(views[:, c]) / views.shape[0] for c in range(len(row))]
        else:
            t_logits = list(teacher[b])
        t = _softmax_row(t_logits)
        losses.append(math.fsum(-t[c] * (row[c] - _lse(row)) for c in range(len(row))))
    if reduction == "none":
        return np.array(losses)
    return math.fsum(losses) if reduction == "sum" else _mean(losses)


def _finish(values, reduction, shape):
    if reduction == "none":
        return np.asarray(values).reshape(shape)
    return math.fsum(values) if reduction == "sum" else _mean(values)


def em_single_positive_loss(z, target, alpha=0.2, beta=0.02, eps=1e-5, reduction="mean"):
    vals = []
    for zi, oi in zip(np.asarray(z, float).ravel(), np.asarray(target, float).ravel()):
        p = _sigmoid(zi)
        neg_log_p, neg_log_q = -math.log(p + eps), -math.log(1.0 - p + eps)
        if oi == 1:
            vals.append(neg_log_p)
        elif oi == 0:
            vals.append(-alpha * (p * neg_log_p + (1 - p) * neg_log_q))
        else:
            s = -oi
            vals.append(beta * (s * neg_log_p + (1 - s) * neg_log_q))
    return _finish(vals, reduction, np.shape(z))


def _tent_sample(m, y, x):
    """Bilinear interpolation as a sum of tent weights over every pixel (torchvision's
    clamping: outside [−1, size] → 0, negatives → 0, past the last pixel → the last)."""
    c, h, w = m.shape
    if y < -1 or y > h or x < -1 or x > w:
        return np.zeros(c)
    y = min(max(y, 0.0), h - 1.0)
    x = min(max(x, 0.0), w - 1.0)
    out = np.zeros(c)
    for i in range(h):
        for j in range(w):
            k = max(0.0, 1 - abs(y - i)) * max(0.0, 1 - abs(x - j))
            if k:
                out += k * m[:, i, j]
    return out


def labelpool_soft_ce(z, label_maps, boxes, reduction="mean"):
    z, maps = np.asarray(z, float), np.asarray(label_maps, float)
    vals = []
    for row, m, (x1, y1, x2, y2) in zip(z, maps, np.asarray(boxes, float)):
        _, h, w = m.shape
        x0, y0 = x1 * w - 0.5, y1 * h - 0.5
        bw, bh = max(x2 * w - 0.5 - x0, 1.0), max(y2 * h - 0.5 - y0, 1.0)
        gw, gh = math.ceil(bw), math.ceil(bh)
        pts = [_tent_sample(m, y0 + (a + 0.5) * bh / gh, x0 + (b + 0.5) * bw / gw)
               for a in range(gh) for b in range(gw)]
        pooled = [math.fsum(pt[k] for pt in pts) / len(pts) for k in range(m.shape[0])]
        t = _softmax_row(pooled)
        vals.append(math.fsum(-t[k] * (row[k] - _lse(row)) for k in range(len(row))))
    return _finish(vals, reduction, (len(vals),))


ORACLES = {f.__name__: f for f in (outlier_exposure_loss, energy_margin_loss, scone_woods_loss,
                                   cotta_consistency_loss, em_single_positive_loss,
                                   labelpool_soft_ce)}
