"""Train one small CNN on the scikit-learn digits with every normalization minigrad
implements (same seed, same budget) and compare final loss, test accuracy and time.

    python examples/compare_normalizations.py            # table on stdout, plot in examples/out/
    python examples/compare_normalizations.py --quick    # a few steps each

The list comes from minigrad's registry (every op of kind "normalization"), so a new
normalization is compared as soon as it is registered and given a recipe below. The measured
table of a full run is in examples/README.md.
"""
import argparse
import os


import minigrad as mg
from minigrad import nn, registry
from minigrad.gradcheck import unavailable
from minigrad.layers import normalization as norms

from common import Timer, accuracy, report, train


class ChannelsLast(nn.Module):
    """Apply a normalization over the channel axis of an NCHW map (as ConvNeXt does)."""

    def __init__(self, norm):
        super().__init__()
        self.norm = norm

    def forward(self, x):
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class CosineClassifier(nn.Module):
    """Logits s · cos(feature, class weight): both L2-normalized (NormFace / cosine classifier)."""

    def __init__(self, features, classes, scale=16.0):
        super().__init__()
        self.weight = nn.Parameter(mg.randn(classes, features) * 0.1)
        self.scale = scale

    def forward(self, h):
        return self.scale * (mg.functional.l2_normalize(h) @ mg.functional.l2_normalize(self.weight).T)


class PreNormBlock(nn.Module):
    """x + conv(relu(norm(x))): the normalization placed before the residual branch (Pre-LN)."""

    def __init__(self, channels):
        super().__init__()
        self.body = nn.NormResidual(nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1)),
                                    nn.GroupNorm(1, channels), placement="pre")

    def forward(self, x):
        return self.body(x)


class WithoutLogDet(nn.Module):
    """A flow layer (returning (y, logdet)) used as a plain normalization: keep y."""

    def __init__(self, flow):
        super().__init__()
        self.flow = flow

    def forward(self, x):
        return self.flow(x)[0]


class MessageResidual(nn.Module):
    """x + MsgNorm(x, conv(relu(x))): the residual branch is a "message" rescaled to the norm
    of x over the channels at each pixel (DeeperGCN's h + s·‖h‖·m/‖m‖ on a grid)."""

    def __init__(self, channels):
        super().__init__()
        self.message = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1))
        self.norm = nn.MessageNorm(learn_scale=True, dim=1)

    def forward(self, x):
        return x + self.norm(x, self.message(x))


class RandomHoleRegionNorm(nn.Module):
    """RN-B with an inpainting-style mask: one random rectangle (the "hole") per sample,
    redrawn every batch from a seeded generator; the features are region-normalized inside
    and outside it."""

    def __init__(self, channels, seed=0):
        super().__init__()
        self.norm = nn.RegionNormB2d(channels)
        self.rng = __import__("numpy").random.default_rng(seed)

    def forward(self, x):
        N, _, H, W = x.shape
        mask = __import__("numpy").zeros((N, 1, H, W), dtype=bool)
        for i in range(N):
            top, left = self.rng.integers(0, H // 2 + 1), self.rng.integers(0, W // 2 + 1)
            mask[i, 0, top:top + H // 2, left:left + W // 2] = True
        return self.norm(x, mg.tensor(mask))


class RateCodedSpiking(nn.Module):
    """conv → MPBN → LIF as a spiking layer of the static CNN: the conv output is the input
    current at each of ``steps`` time steps (direct encoding), the layer returns the firing
    rate (mean spike count over the steps)."""

    def __init__(self, channels, steps=4):
        super().__init__()
        self.neuron, self.steps = nn.MPBNLIF2d(channels), steps

    def forward(self, x):
        return self.neuron(mg.stack([x] * self.steps, axis=0)).mean(axis=0)


class ShuffledStyleAdaIN(nn.Module):
    """AdaIN whose style input is the batch itself, shuffled: each sample takes the
    per-channel statistics of another one (a style-mixing augmentation); identity at eval."""

    def __init__(self, channels, seed=0):
        super().__init__()
        self.adain = nn.AdaIN()
        self.rng = __import__("numpy").random.default_rng(seed)

    def forward(self, x):
        return self.adain(x, x[self.rng.permutation(x.shape[0])]) if self.training else x


def cnn(norm=None, weight_reparam=None, head=None, residual=False, width=16, activation=True):
    """conv-norm-ReLU ×2 (8×8), max-pool, conv-norm-ReLU (4×4), global average, classifier.
    ``activation=False`` drops the ReLUs: for normalization-activation layers (EvoNorm)."""
    norm = norm or (lambda c: nn.Identity())
    act = nn.ReLU if activation else nn.Identity
    convs = [nn.Conv2d(1, width, 3, padding=1), nn.Conv2d(width, width, 3, padding=1),
             nn.Conv2d(width, 2 * width, 3, padding=1)]
    if weight_reparam is not None:
        for conv in convs:
            weight_reparam(conv)
    layers = [convs[0], norm(width), act(), convs[1], norm(width), act(), nn.MaxPool2d(2),
              convs[2], norm(2 * width), act()]
    if residual:   # True: the Pre-LN block; a callable: a residual block factory of the channels
        layers.append(residual(2 * width) if callable(residual) else PreNormBlock(2 * width))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), head(2 * width) if head else nn.Linear(2 * width, 10)]
    return nn.Sequential(*layers)


# How each registered normalization is placed in the CNN.
RECIPES = {
    "batch_norm": lambda: cnn(norm=nn.BatchNorm2d),
    "group_norm": lambda: cnn(norm=lambda c: nn.GroupNorm(4, c)),
    "instance_norm": lambda: cnn(norm=lambda c: nn.InstanceNorm2d(c, affine=True)),
    "layer_norm": lambda: cnn(norm=lambda c: ChannelsLast(nn.LayerNorm(c))),
    "rms_norm": lambda: cnn(norm=lambda c: ChannelsLast(nn.RMSNorm(c))),
    "weight_norm": lambda: cnn(weight_reparam=norms.apply_weight_norm),
    "spectral_norm": lambda: cnn(weight_reparam=norms.apply_spectral_norm),
    "l2_normalize": lambda: cnn(norm=nn.BatchNorm2d, head=lambda f: CosineClassifier(f, 10)),
    "norm_residual": lambda: cnn(norm=nn.BatchNorm2d, residual=True),
    "scale_norm": lambda: cnn(norm=lambda c: ChannelsLast(nn.ScaleNorm(c))),
    "dyt": lambda: cnn(norm=lambda c: nn.DyT(c, channels_last=False)),
    "elementwise_layer_norm": lambda: cnn(norm=lambda c: ChannelsLast(nn.ElementwiseLayerNorm(c))),
    "feature_norm": lambda: cnn(head=lambda f: nn.Sequential(nn.FeatureNorm(), nn.Linear(f, 10))),
    "logit_clip": lambda: cnn(head=lambda f: nn.Sequential(nn.Linear(f, 10), nn.LogitClip(tau=0.2))),
    "z_normalize": lambda: cnn(head=lambda f: nn.Sequential(nn.Linear(f, 10), nn.ZNormalize())),
    "msg_norm": lambda: cnn(norm=MessageResidual),
    "gdn": lambda: cnn(norm=nn.GDN),
    "act_norm": lambda: cnn(norm=lambda c: WithoutLogDet(nn.ActNorm(c))),
    # ghost batches of 16 inside each batch of 64
    "ghost_batch_norm": lambda: cnn(norm=lambda c: nn.GhostBatchNorm2d(c, virtual_batch_size=16)),
    # trained as BatchNorm, evaluated with the test batch's statistics mixed in (α = 0.9)
    "alpha_batch_norm": lambda: cnn(norm=lambda c: nn.AlphaBatchNorm2d(c, alpha=0.9)),
    "batch_channel_norm": lambda: cnn(norm=lambda c: nn.BatchChannelNorm2d(c, 4, estbn_moving_speed=0.1)),
    # IBN-a in the early layers (16 channels), plain BN in the last, as the paper places it
    "ibn": lambda: cnn(norm=lambda c: nn.IBN(c) if c == 16 else nn.BatchNorm2d(c)),
    "l1_deviation_norm": lambda: cnn(norm=nn.L1BatchNorm2d),
    # RN-B: a random half-size rectangle per sample, redrawn each batch; RN-L: its own mask
    "region_norm_b": lambda: cnn(norm=RandomHoleRegionNorm),
    "region_norm_l": lambda: cnn(norm=nn.RegionNormL2d),
    # one task (no replay): the balanced statistics are the batch's; the κ = 0.5 running
    # momentum is what differs from BatchNorm here
    "adab2n": lambda: cnn(norm=lambda c: nn.AdaB2N2d(c, num_tasks=1, kappa=0.5)),
    # conv → MPBN → LIF spikes over 4 time steps, firing rates in place of the ReLUs
    "mp_batch_norm": lambda: cnn(norm=RateCodedSpiking, activation=False),
    # normalization-activation layers: EvoNorm replaces norm + ReLU (no ReLU after it)
    "evonorm_b0": lambda: cnn(norm=nn.EvoNorm2dB0, activation=False),
    "evonorm_s0": lambda: cnn(norm=lambda c: nn.EvoNorm2dS0(c, groups=4), activation=False),
    # streaming per-sample statistics, clamping to ±5, the paper's control-process backward
    "online_norm": lambda: cnn(norm=nn.OnlineNorm2d),
    # MS-LayerNorm over the channels without gain/bias (the conv after the ReLU cannot absorb them)
    "ms_norm": lambda: cnn(norm=lambda c: ChannelsLast(nn.MSLayerNorm(c))),
    # style: AdaIN with the batch's own statistics shuffled (train only); DAC's PCNorm for BN
    "adain": lambda: cnn(norm=ShuffledStyleAdaIN),
    "pc_norm": lambda: cnn(norm=nn.PCNorm2d),
    # weight space: WS paired with GroupNorm (as the paper), Scaled WS and the NF block without
    # any activation normalization (γ_ReLU folded into the weights), unit-norm and StatsQ-clipped
    # filters with BN, AnalogVNN's L2NormM between layers (identity backward), a GradNormLoRP
    # head (frozen random W₀: no pretrained model here, so only I, J, M learn)
    "weight_standardization": lambda: cnn(norm=lambda c: nn.GroupNorm(4, c),
                                          weight_reparam=norms.apply_weight_standardization),
    "scaled_weight_standardization": lambda: cnn(weight_reparam=lambda m: norms.apply_scaled_weight_standardization(m, gamma=norms.NF_GAMMA["relu"])),
    "nf_residual": lambda: cnn(weight_reparam=lambda m: norms.apply_scaled_weight_standardization(m, gamma=norms.NF_GAMMA["relu"]),
                               residual=lambda c: nn.NFResidual(nn.Sequential(nn.ReLU(), nn.ScaledStdConv2d(c, c, 3, padding=1, gamma=norms.NF_GAMMA["relu"])), alpha=0.2, beta=1.0)),
    "unit_norm_weight": lambda: cnn(norm=nn.BatchNorm2d, weight_reparam=norms.apply_unit_norm_weight),
    "statsq_weight_scale": lambda: cnn(norm=nn.BatchNorm2d, weight_reparam=norms.apply_statsq_weight_scale),
    "analog_lp_norm": lambda: cnn(norm=lambda c: nn.L2NormM()),
    "gradnormlorp_weight": lambda: cnn(norm=nn.BatchNorm2d, head=lambda f: nn.GradNormLoRPLinear(f, 10, rank=4)),
}

# Registered normalizations that do not act on a CNN's activations are compared in the
# example named here instead (a transformer on a sequence task, SPD or hyperbolic inputs...).
ELSEWHERE = {
    "qk_norm": "examples/compare_transformer_norms.py",
    "rescale_norm": "examples/compare_transformer_norms.py",
    "deep_norm": "examples/compare_transformer_norms.py",
    "normformer_block": "examples/compare_transformer_norms.py",
    "peri_ln_residual": "examples/compare_transformer_norms.py",
    "ngpt_normalize": "examples/compare_transformer_norms.py",
    # transformer batch-statistic norms (PowerNorm, Unified Normalization) on token sequences
    "power_norm": "examples/compare_transformer_norms.py",
    "unified_norm": "examples/compare_transformer_norms.py",
    # a margin modulator of the AdaFace loss, and a fixed transform of distillation targets
    "adaface_norm_stat": "tests/test_norm_feature_flows.py::test_adaface_stat_modulates_margins",
    "phi_s": "tests/test_norm_feature_flows.py::test_phi_s_distillation_targets",
    # Riemannian batch norms of SPD matrices and of points on the Poincaré ball
    "gbw_batch_norm": "examples/spd_and_hyperbolic_norms.py",
    "lie_batch_norm": "examples/spd_and_hyperbolic_norms.py",
    "poincare_batch_norm": "examples/spd_and_hyperbolic_norms.py",
    # FIN needs a continuous target position φ per sample, which the digits do not have
    "functional_instance_norm": "tests/test_norm_style_weight.py::test_fin_learns_a_continuous_translation",
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "out"))
    ap.add_argument("--quick", action="store_true", help="5 steps each (used by the tests)")
    args = ap.parse_args(argv)
    steps = 5 if args.quick else args.steps

    registered = [e.name for e in registry.entries(kind="normalization")]
    missing = [n for n in registered if n not in RECIPES and n not in ELSEWHERE]
    if missing:
        raise SystemExit(f"no recipe for registered normalization(s) {missing}: add one to "
                         "RECIPES (or name the example that compares it in ELSEWHERE)")
    registered = [n for n in registered if n in RECIPES]
    x, y, x_test, y_test = mg.data.load_digits(seed=args.seed, image_shape=True)
    results = {}
    backend = mg.current_backend().name
    for name in ["none"] + registered:
        reason = None if name == "none" else unavailable(registry.get(name), backend)
        if reason:                      # e.g. an FFT norm on the CPU stand-in for CuPy
            print(f"{name}: skipped: {reason}")
            continue
        mg.manual_seed(args.seed)
        model = cnn() if name == "none" else RECIPES[name]()
        optimizer = mg.optim.Adam(model.parameters(), lr=2e-3)
        with Timer() as t:
            losses = train(model, optimizer, x, y, steps, batch_size=64, seed=args.seed, desc=name)
        results[name] = dict(losses=losses, acc=accuracy(model, x_test, y_test), seconds=t.seconds)

    report(results, f"digits CNN, {steps} Adam steps, batch 64, seed {args.seed}, "
                    f"backend {mg.current_backend().name}", "normalization", args.out,
           "compare_normalizations.png")

if __name__ == "__main__":
    main()
