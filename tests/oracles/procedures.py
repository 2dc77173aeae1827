"""Forward references for the training procedures (minigrad.training), in plain NumPy loops.

Each replays the procedure's random choices from the same fixed generator as its registered
``checked_as`` wrapper (the draws are part of the procedure's contract: λ, then the
permutation, then the box centre) and computes the result another way: a loop over the
batch, the box pasted element by element, PGD written sample by sample."""
import math

import numpy as np

from minigrad.training.attacks import TINY_ALPHA, TINY_B, TINY_EPS, TINY_W


def _mixup(x):
    rng = np.random.default_rng(0)
    lam = rng.beta(1.0, 1.0)
    perm = rng.permutation(x.shape[0])
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = lam * x[i] + (1 - lam) * x[perm[i]]
    return out


def _cutmix(x):
    rng = np.random.default_rng(1)
    lam = rng.beta(1.0, 1.0)
    perm = rng.permutation(x.shape[0])
    h, w = x.shape[-2:]
    cut_h, cut_w = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
    cy, cx = rng.integers(h), rng.integers(w)
    out = x.copy()
    for i in range(x.shape[0]):
        for r in range(h):
            for c in range(w):
                if cy - cut_h // 2 <= r < cy + cut_h // 2 and cx - cut_w // 2 <= c < cx + cut_w // 2:
                    out[i, ..., r, c] = x[perm[i], ..., r, c]
    return out


def _ce(xi, label):
    z = TINY_W @ xi + TINY_B
    return math.log(sum(math.exp(v) for v in z)) - z[label]


def _ce_grad(xi, label):
    z = TINY_W @ xi + TINY_B
    p = np.exp(z - z.max())
    p /= p.sum()
    p[label] -= 1
    return TINY_W.T @ p


def _pgd_sample(xi, label, steps, norm):
    """One sample's PGD from xi (no random start): the loss is a sum over samples, so each
    sample's gradient is its own."""
    eps, alpha = TINY_EPS[norm], TINY_ALPHA[norm]
    adv = xi.copy()
    for _ in range(steps):
        g = _ce_grad(adv, label)
        if norm == "linf":
            adv = adv + alpha * np.sign(g)
            delta = np.minimum(np.maximum(adv - xi, -eps), eps)
        else:
            adv = adv + alpha * g / (math.sqrt(float(g @ g)) + 1e-12)
            delta = adv - xi
            length = math.sqrt(float(delta @ delta))
            if length > eps:
                delta = delta * (eps / length)
        adv = np.minimum(np.maximum(xi + delta, 0.0), 1.0)
    return adv


def _adversarial_ce(norm):
    def oracle(x, y, steps):
        return np.array([_ce(_pgd_sample(x[i], y[i], steps, norm), y[i]) for i in range(len(y))])
    return oracle


ORACLES = {
    "mixup": _mixup,
    "cutmix": _cutmix,
    "pgd_attack_linf": _adversarial_ce("linf"),
    "pgd_attack_l2": _adversarial_ce("l2"),
}
