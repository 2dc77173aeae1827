"""Forward references for the ranking, multi-label and recommendation losses (BPR, SimpleX
CCL, Macro-AUC surrogates, DEXML decoupled softmax, capsule margin loss, NeuralNDCG): naive
Python loops over float64 NumPy arrays, written from the papers' formulas and the authors'
code (allegro/allRank, nilesh2797/DEXML, reczoo/RecBox), without minigrad."""
import math

import numpy as np


def _reduce(values, reduction):
    values = np.asarray(values, dtype=float)
    if reduction == "mean":
        return math.fsum(values.ravel()) / values.size
    if reduction == "sum":
        return math.fsum(values.ravel())
    return values


def _log1pexp(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def bpr(pos, neg, reduction="mean"):
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    out = np.zeros(neg.shape)
    for idx in np.ndindex(neg.shape):
        u = pos[idx[0]] - neg[idx]
        out[idx] = -math.log(1 / (1 + math.exp(-u))) if u > -30 else -u
    return _reduce(out, reduction)


def _cos(a, b, eps=1e-8):
    return float(np.dot(a, b)) / (max(math.sqrt(float(np.dot(a, a))), eps)
                                  * max(math.sqrt(float(np.dot(b, b))), eps))


def ccl(user, pos, neg, margin=0.0, negative_weight=None, eps=1e-8, reduction="mean"):
    out = []
    for i in range(len(user)):
        pos_loss = max(0.0, 1 - _cos(user[i], pos[i], eps))
        hinge = [max(0.0, _cos(user[i], v, eps) - margin) for v in neg[i]]
        neg_loss = math.fsum(hinge) if not negative_weight else \
            math.fsum(hinge) / len(hinge) * negative_weight
        out.append(pos_loss + neg_loss)
    return _reduce(out, reduction)


def calibrated_uniformity(user, pos, neg, feat, gamma=0.5, t=2.0, min_sim=0.0, max_sim=1.0,
                          eps=1e-12):
    """enoche/CM3 cm3.py calculate_loss, pair by pair (itertools-style a < b loops)."""
    b = len(user)
    align = math.fsum(float(np.sum((user[i] - pos[i]) ** 2)) for i in range(b)) / b
    if b < 2:
        return align
    pairs = [(i, j) for i in range(b) for j in range(i + 1, b)]
    uu = [math.exp(-t * float(np.sum((user[i] - user[j]) ** 2))) for i, j in pairs]
    cal = []
    for i, j in pairs:
        c = float(np.dot(feat[i], feat[j])) / (max(np.linalg.norm(feat[i]), eps)
                                               * max(np.linalg.norm(feat[j]), eps))
        sim = min(max(c, min_sim), max_sim)
        cal.append(math.exp(-t * (float(np.sum((neg[i] - neg[j]) ** 2)) - 2 + 2 * sim)))
    return align + gamma * (math.log(math.fsum(uu) / len(pairs))
                            + math.log(math.fsum(cal) / len(pairs))) / 2


def multivariate_kl(mu, var, nu, rho, target, reduction="mean"):
    """KL(N(μ, σ²) ‖ N(ν, ρ²)) per dimension as log(ρ/σ) + (σ² + (μ − ν)²)/(2ρ²) − ½."""
    out = []
    for i in range(len(mu)):
        scores = []
        for j in range(len(nu)):
            kl = math.fsum(0.5 * math.log(rho[j, k] / var[i, k])
                           + (var[i, k] + (mu[i, k] - nu[j, k]) ** 2) / (2 * rho[j, k]) - 0.5
                           for k in range(mu.shape[1]))
            scores.append(-kl)
        m = max(scores)
        lse = m + math.log(math.fsum(math.exp(v - m) for v in scores))
        out.append(lse - scores[int(target[i])])
    return _reduce(out, reduction)


def _ell(kind, t):
    if kind == "square":
        return (1 - t) ** 2
    if kind == "hinge":
        return max(0.0, 1 - t)
    return _log1pexp(-t)


def _macro(per_label, valid, reduction):
    if reduction == "none":
        return np.array(per_label)
    total = math.fsum(per_label)
    return total if reduction == "sum" else total / max(sum(valid), 1)


def macro_auc_pairwise(f, y, loss="square", reduction="mean"):
    f, y = np.asarray(f, float), np.asarray(y)
    per, valid = [], []
    for k in range(f.shape[1]):
        P = [i for i in range(f.shape[0]) if y[i, k] == 1]
        N = [j for j in range(f.shape[0]) if y[j, k] == 0]
        ok = bool(P) and bool(N)
        valid.append(ok)
        per.append(math.fsum(_ell(loss, f[i, k] - f[j, k]) for i in P for j in N) / (len(P) * len(N))
                   if ok else 0.0)
    return _macro(per, valid, reduction)


def macro_auc_univariate(f, y, loss="square", reduction="mean"):
    f, y = np.asarray(f, float), np.asarray(y)
    per, valid = [], []
    for k in range(f.shape[1]):
        P = [f[i, k] for i in range(f.shape[0]) if y[i, k] == 1]
        N = [f[j, k] for j in range(f.shape[0]) if y[j, k] == 0]
        ok = bool(P) and bool(N)
        valid.append(ok)
        per.append(math.fsum(_ell(loss, v) for v in P) / len(P)
                   + math.fsum(_ell(loss, -v) for v in N) / len(N) if ok else 0.0)
    return _macro(per, valid, reduction)


def decoupled_softmax(s, y, temperature=0.05, reduction="mean"):
    s, y = np.asarray(s, float) / temperature, np.asarray(y)
    out = []
    for i in range(s.shape[0]):
        negs = [s[i, n] for n in range(s.shape[1]) if y[i, n] == 0]
        poss = [s[i, p] for p in range(s.shape[1]) if y[i, p] == 1]
        terms = []
        for sp in poss:
            vals = [sp] + negs
            m = max(vals)
            terms.append(sp - (m + math.log(math.fsum(math.exp(v - m) for v in vals))))
        out.append(-math.fsum(terms) / len(poss) if poss else 0.0)
    return _reduce(out, reduction)


def soft_topk(s, y, k=5, alpha=2.0, temperature=0.05, n_iter=32, reduction="mean"):
    """t solved to machine precision by a 200-step bisection on Σσ(α(z + t)) = k."""
    s, y = np.asarray(s, float) / temperature, np.asarray(y)
    ks = np.broadcast_to(np.asarray(k), (s.shape[0],))
    out = []
    for i, row in enumerate(s):
        sig = lambda t: math.fsum(1 / (1 + math.exp(-alpha * (v + t))) for v in row)  # noqa: E731
        lo, hi = -max(row) - 50 / alpha, -min(row) + 50 / alpha
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if sig(mid) < ks[i] else (lo, mid)
        t = (lo + hi) / 2
        logs = [-_log1pexp(-alpha * (row[j] + t)) for j in range(len(row)) if y[i, j] == 1]
        out.append(-math.fsum(logs) / len(logs) if logs else 0.0)
    return _reduce(out, reduction)


def capsule_margin(v, target, m_pos=0.9, m_neg=0.1, lamb=0.5, weight=None, eps=1e-8,
                   reduction="mean"):
    v, target = np.asarray(v, float), np.asarray(target)
    n, c = v.shape[:2]
    out = []
    for i in range(n):
        total = []
        for k in range(c):
            t = (1.0 if target[i] == k else 0.0) if target.ndim == 1 else float(target[i, k])
            length = math.sqrt(math.fsum(x * x for x in v[i, k]) + eps)
            term = t * max(0.0, m_pos - length) ** 2 + lamb * (1 - t) * max(0.0, length - m_neg) ** 2
            total.append(term * (1.0 if weight is None else weight[k]))
        out.append(math.fsum(total))
    return _reduce(out, reduction)


def neural_ndcg(s, y, temperature=1.0, powered_relevancies=True, k=None, max_iter=50, tol=1e-6):
    """NeuralSort row by row (Grover et al.: row r picks the r-th largest), allRank's Sinkhorn."""
    s, y = np.asarray(s, float), np.asarray(y, float)
    b, n = s.shape
    k = n if k is None else k
    ndcgs, count = [], 0
    for row in range(b):
        P = np.zeros((n, n))
        for r in range(1, n + 1):
            logits = [((n + 1 - 2 * r) * s[row, j] - sum(abs(s[row, j] - s[row, l]) for l in range(n)))
                      / temperature for j in range(n)]
            m = max(logits)
            e = [math.exp(v - m) for v in logits]
            P[r - 1] = np.array(e) / math.fsum(e)
        for _ in range(max_iter):
            P = P / np.maximum(P.sum(axis=0, keepdims=True), 1e-10)
            P = P / np.maximum(P.sum(axis=1, keepdims=True), 1e-10)
            if np.abs(P.sum(axis=1) - 1).max() < tol and np.abs(P.sum(axis=0) - 1).max() < tol:
                break
        g = 2 ** y[row] - 1 if powered_relevancies else y[row]
        approx = [math.fsum(P[i, j] * g[j] for j in range(n)) for i in range(n)]
        dcg = math.fsum(approx[i] / math.log2(i + 2) for i in range(min(k, n)))
        ideal = sorted(g, reverse=True)
        idcg = math.fsum(ideal[i] / math.log2(i + 2) for i in range(min(k, n)))
        if idcg > 0:
            count += 1
            ndcgs.append(dcg / (idcg + 1e-10))
    return -math.fsum(ndcgs) / count if count else 0.0


ORACLES = {
    "bpr_loss": bpr,
    "cosine_contrastive_loss": ccl,
    "macro_auc_pairwise_loss": macro_auc_pairwise,
    "macro_auc_univariate_loss": macro_auc_univariate,
    "decoupled_softmax_loss": decoupled_softmax,
    "capsule_margin_loss": capsule_margin,
    "soft_topk_loss": soft_topk,
    "neural_ndcg_loss": neural_ndcg,
    "calibrated_uniformity_loss": calibrated_uniformity,
    "multivariate_kl_similarity_loss": multivariate_kl,
}
