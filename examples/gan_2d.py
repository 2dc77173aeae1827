"""Train a small GAN on 2-D data (eight Gaussians on a circle) with a gradient penalty:
WGAN-GP (Gulrajani et al. 2017) or the non-saturating loss with R1 (Mescheder et al. 2018).

Both penalties differentiate the critic's input gradient with respect to its weights,
so every critic step runs a double backward (``create_graph=True``). The script reports
how many of the eight modes the generator covers and the fraction of its samples that
land near one (within 3σ of a centre), then saves a scatter plot of real and generated
points. Measured on a 2-core CPU with seed 0: WGAN-GP covers 8/8 modes with 33% of its
samples within 3σ of one (46 s); NS + R1 covers 8/8 with 40% (13 s).

    python examples/gan_2d.py                      # WGAN-GP, 2000 generator steps
    python examples/gan_2d.py --loss ns-r1         # non-saturating GAN + R1
    python examples/gan_2d.py --quick              # a few steps, to check that everything runs
"""
import argparse
import os

import numpy as np
from tqdm import tqdm

import minigrad as mg
from minigrad import functional as F, nn

MODES, RADIUS, SIGMA = 8, 2.0, 0.05
CENTRES = RADIUS * np.stack([np.cos(2 * np.pi * np.arange(MODES) / MODES),
                             np.sin(2 * np.pi * np.arange(MODES) / MODES)], axis=1)


def real_batch(rng, n):
    return CENTRES[rng.integers(0, MODES, n)] + SIGMA * rng.standard_normal((n, 2))


def mlp(n_in, n_out, width=128):
    return nn.Sequential(nn.Linear(n_in, width), nn.LeakyReLU(0.2), nn.Linear(width, width),
                         nn.LeakyReLU(0.2), nn.Linear(width, n_out))


def coverage(samples):
    """(modes hit by at least 1% of the samples, fraction of samples within 3σ of a centre)."""
    distance = np.linalg.norm(samples[:, None, :] - CENTRES[None], axis=2)
    nearest, close = distance.argmin(axis=1), distance.min(axis=1) < 3 * SIGMA
    hits = np.bincount(nearest[close], minlength=MODES)
    return int((hits >= 0.01 * len(samples)).sum()), float(close.mean())


def train(loss, steps, batch, seed):
    mg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    gen, critic = mlp(2, 2), mlp(2, 1)
    betas = (0.5, 0.9) if loss == "wgan-gp" else (0.0, 0.99)
    lr = 5e-4 if loss == "wgan-gp" else 2e-4
    g_opt = mg.optim.Adam(gen.parameters(), lr=lr, betas=betas)
    d_opt = mg.optim.Adam(critic.parameters(), lr=lr, betas=betas)
    critic_steps = 5 if loss == "wgan-gp" else 1
    bar = tqdm(range(steps), desc=f"GAN 2-D ({loss})")
    for step in bar:
        for _ in range(critic_steps):
            real = mg.tensor(real_batch(rng, batch), dtype="float32")
            with mg.no_grad():
                fake = gen(mg.randn(batch, 2))
            if loss == "wgan-gp":
                d_loss = (F.wgan_loss(critic(real), critic(fake))
                          + F.gradient_penalty(critic, real, fake, lam=10.0))
            else:
                d_loss = (F.gan_ns_loss(critic(real), critic(fake))
                          + F.r1_penalty(critic, real, gamma=1.0))
            d_opt.zero_grad()
            d_loss.backward()
            d_opt.step()
        fake_logits = critic(gen(mg.randn(batch, 2)))
        g_loss = (F.wgan_loss(None, fake_logits, mode="generator") if loss == "wgan-gp"
                  else F.gan_ns_loss(None, fake_logits, mode="generator"))
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        if step % 50 == 0:
            bar.set_postfix(d=f"{d_loss.item():.3f}", g=f"{g_loss.item():.3f}")
    with mg.no_grad():
        return gen(mg.randn(2000, 2)).numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loss", choices=["wgan-gp", "ns-r1"], default="wgan-gp")
    ap.add_argument("--steps", type=int, default=2000, help="generator steps")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "out"))
    ap.add_argument("--quick", action="store_true", help="a few steps only (used by the tests)")
    args = ap.parse_args()
    steps = 5 if args.quick else args.steps
    samples = train(args.loss, steps, 64 if args.quick else args.batch, args.seed)
    modes, near = coverage(samples)
    print(f"{args.loss}: {steps} generator steps; {modes}/{MODES} modes covered, "
          f"{100 * near:.1f}% of samples within 3σ of a mode")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    os.makedirs(args.out, exist_ok=True)
    real = real_batch(np.random.default_rng(1), 2000)
    plt.figure(figsize=(4, 4))
    plt.scatter(real[:, 0], real[:, 1], s=2, alpha=0.3, label="data")
    plt.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.3, label="generator")
    plt.legend(loc="upper right")
    plt.title(f"{args.loss}: {modes}/{MODES} modes")
    path = os.path.join(args.out, f"gan_2d_{args.loss}.png")
    plt.savefig(path, dpi=100, bbox_inches="tight")
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
