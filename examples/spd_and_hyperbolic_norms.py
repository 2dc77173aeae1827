"""Riemannian batch normalizations at work on two small digits tasks.

1. SPD: each 8×8 digit becomes a region-covariance descriptor (Tuzel et al. 2006): the
   6×6 covariance, over the 64 pixels, of (x, y, I, ∂I/∂x, ∂I/∂y, |∇I|), plus 1e-3·I. A tiny
   SPDNet (Huang & Van Gool 2017) classifies it: BiMap (Wᵀ X W, 6 → 4) → ReEig (eigenvalues
   clamped at 1e-4) → [no BN | GBWBN | LieBN-AIM | LieBN-LEM] → LogEig → Linear → 10 classes.
2. Hyperbolic: an MLP 64 → 16 whose hidden features are mapped onto the Poincaré ball and
   normalized there (the Poincaré ResNet layer: exp_0 → midpoint BN → log_0) → ReLU →
   Linear → 10, against the same MLP without it.

    python examples/spd_and_hyperbolic_norms.py            # two tables on stdout, plots in examples/out/
    python examples/spd_and_hyperbolic_norms.py --quick    # a few steps each

Everything runs in float64 (the eigendecompositions of nearly singular matrices want it).
"""
import argparse
import os

import numpy as np

import minigrad as mg
from minigrad import linalg, nn

from common import Timer, accuracy, report, train


def covariance_descriptors(x):
    """(n, 64) digit images → (n, 6, 6) SPD region-covariance matrices."""
    img = x.reshape(-1, 8, 8)
    gy, gx = np.gradient(img, axis=(1, 2))
    yy, xx = np.meshgrid(np.arange(8) / 7, np.arange(8) / 7, indexing="ij")
    feats = np.stack([np.broadcast_to(xx, img.shape), np.broadcast_to(yy, img.shape), img, gx, gy,
                      np.hypot(gx, gy)], axis=-1).reshape(len(x), 64, 6)
    centred = feats - feats.mean(axis=1, keepdims=True)
    cov = centred.transpose(0, 2, 1) @ centred / 63
    return cov + 1e-3 * np.eye(6)


class BiMap(nn.Module):
    """X → Wᵀ X W with W (n_in, n_out), initialised semi-orthogonal (SPDNet's BiMap; W is a
    plain parameter here, not kept on the Stiefel manifold)."""

    def __init__(self, n_in, n_out, rng):
        super().__init__()
        q, _ = np.linalg.qr(rng.standard_normal((n_in, n_out)))
        self.weight = nn.Parameter(mg.tensor(q))

    def forward(self, X):
        return self.weight.T @ X @ self.weight


class ReEig(nn.Module):
    """X = V diag(λ) Vᵀ → V diag(max(λ, ε)) Vᵀ (SPDNet's eigenvalue rectification)."""

    def __init__(self, eps=1e-4):
        super().__init__()
        self.eps = eps

    def forward(self, X):
        w, V = linalg.eigh(X)
        return (V * w.clamp_min(self.eps).unsqueeze(-2)) @ V.permute(0, 2, 1)


class LogEigHead(nn.Module):
    """log X, its upper triangle flattened, then a linear classifier."""

    def __init__(self, n, classes):
        super().__init__()
        self.rows, self.cols = np.triu_indices(n)
        self.fc = nn.Linear(len(self.rows), classes)

    def forward(self, X):
        L = linalg.logm_spd(X)
        return self.fc(L.reshape(L.shape[0], -1)[:, self.rows * L.shape[-1] + self.cols])


def spdnet(norm, rng):
    layers = [BiMap(6, 4, rng), ReEig()]
    if norm is not None:
        layers.append(norm)
    layers.append(LogEigHead(4, 10))
    return nn.Sequential(*layers)


SPD_NORMS = {
    "none": lambda: None,
    "gbw_batch_norm": lambda: nn.GBWBatchNorm(4),
    "lie_batch_norm (AIM)": lambda: nn.LieBatchNorm(4, metric="AIM"),
    "lie_batch_norm (LEM)": lambda: nn.LieBatchNorm(4, metric="LEM"),
}


def hyperbolic_mlp(use_bn):
    layers = [nn.Linear(64, 16)]
    if use_bn:
        layers.append(nn.PoincareBatchNorm(16, tangent=True))
    layers += [nn.ReLU(), nn.Linear(16, 10)]
    return nn.Sequential(*layers)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "out"))
    ap.add_argument("--quick", action="store_true", help="5 steps each (used by the tests)")
    args = ap.parse_args(argv)
    steps = 5 if args.quick else args.steps
    x, y, x_test, y_test = mg.data.load_digits(seed=args.seed)
    x, x_test = x.astype(np.float64), x_test.astype(np.float64)

    c_train, c_test = covariance_descriptors(x), covariance_descriptors(x_test)
    results = {}
    for name, make in SPD_NORMS.items():
        mg.manual_seed(args.seed)
        model = spdnet(make(), np.random.default_rng(args.seed)).double()
        optimizer = mg.optim.Adam(model.parameters(), lr=5e-3)
        with Timer() as t:
            losses = train(model, optimizer, c_train, y, steps, batch_size=64, seed=args.seed, desc=name)
        results[name] = dict(losses=losses, acc=accuracy(model, c_test, y_test), seconds=t.seconds)
    report(results, f"SPDNet on digits covariance descriptors (6×6 → 4×4), {steps} Adam steps, "
                    f"batch 64, seed {args.seed}", "SPD normalization", args.out,
           "spd_norms.png")

    results = {}
    for name, use_bn in (("none", False), ("poincare_batch_norm", True)):
        mg.manual_seed(args.seed)
        model = hyperbolic_mlp(use_bn).double()
        optimizer = mg.optim.Adam(model.parameters(), lr=2e-3)
        with Timer() as t:
            losses = train(model, optimizer, x, y, steps, batch_size=64, seed=args.seed, desc=name)
        results[name] = dict(losses=losses, acc=accuracy(model, x_test, y_test), seconds=t.seconds)
    report(results, f"MLP 64→16→10 on digits, hidden layer normalized on the Poincaré ball, "
                    f"{steps} Adam steps, batch 64, seed {args.seed}", "hyperbolic normalization",
           args.out, "hyperbolic_norms.png")


if __name__ == "__main__":
    main()
