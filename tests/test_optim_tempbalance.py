"""O049 tempbalance_farms (minigrad.optim.tempbalance): the Hill estimate on synthetic
power-law spectra, the FARMS sliding-window ESD and the layer-wise learning rates against a
naive NumPy transcription of RpM-Kinshuk/TempBalance (tempbalance.py + sampling.py), the
optimizer groups (BatchNorm following its convolution), both backends and bad options."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.layers.module import Module

TESTED = {"tempbalance_farms"}


def np_hill(eigs, xmin_pos=2):
    lam = np.sort(eigs)
    i = int(len(lam) // xmin_pos)
    n = len(lam) - i
    return 1 + n / np.sum(np.log(lam[i:] / lam[i]))


def np_farms_eigs(W, r=100, q=2.0, s=10):
    rows, cols = W.shape
    c = int(r * q)
    out = []
    for i in range(max(1, (rows - r) // s + 1)):
        for j in range(max(1, (cols - c) // s + 1)):
            out.append(np.linalg.svd(W[i * s:i * s + r, j * s:j * s + c], compute_uv=False) ** 2)
    return np.sort(np.concatenate(out))


def test_O049_hill_estimate_on_a_power_law_spectrum():
    rng = np.random.default_rng(0)
    for a in (2.0, 3.5, 5.0):
        # density ∝ λ^(−a) on [1, ∞): inverse-CDF sampling
        lam = (1 - rng.random(40000)) ** (-1 / (a - 1))
        got = optim.hill_alpha(mg.tensor(lam).data)
        assert abs(got - a) < 0.06 * a
        assert got == pytest.approx(np_hill(lam), rel=1e-12)
    small = np.array([4.0, 1.0, 3.0, 2.0, 8.0])
    # sorted 1,2,3,4,8; i = 2, tail 3,4,8: α = 1 + 3/(ln 1 + ln 4/3 + ln 8/3)
    expected = 1 + 3 / (np.log(4 / 3) + np.log(8 / 3))
    assert optim.hill_alpha(mg.tensor(small).data) == pytest.approx(expected, rel=1e-14)
    assert optim.hill_alpha(mg.tensor(np.ones(6)).data) == float("inf")
    with pytest.raises(ValueError, match="hill_alpha"):
        optim.hill_alpha(mg.tensor(np.ones(1)).data)


def mlp(dtype="float64"):
    mg.manual_seed(0)
    return nn.Sequential(nn.Linear(20, 130, dtype=dtype), nn.ReLU(),
                         nn.Linear(130, 110, dtype=dtype), nn.ReLU(),
                         nn.Linear(110, 140, dtype=dtype), nn.ReLU(),
                         nn.Linear(140, 10, dtype=dtype))


def reference_lrs(model, lr, farms=True, drop_ends=True, eigs_thresh=50, s1=0.5, s2=1.5,
                  r=100, q=2.0, s=10):
    stats = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear):
            W = m.weight.numpy()
            eigs = (np_farms_eigs(W, r, q, s) if farms
                    else np.sort(np.linalg.svd(W, compute_uv=False) ** 2))
            stats.append((name, np_hill(eigs), len(eigs)))
    if drop_ends:
        stats = stats[1:-1]
    stats = [s for s in stats if s[2] >= eigs_thresh]
    a = [s[1] for s in stats]
    lo, hi = min(a), max(a)
    return {name: lr * (s1 + (s2 - s1) * (al - lo) / (hi - lo)) for name, al, _ in stats}


@pytest.mark.parametrize("cfg", [dict(), dict(remove_first_layer=False, remove_last_layer=False,
                                              eigs_thresh=5, lr_min_ratio=0.2, lr_max_ratio=3.0,
                                              num_row_samples=30, q_ratio=1.5, step_size=7),
                                 dict(farms=False, remove_first_layer=False,
                                      remove_last_layer=False, eigs_thresh=5)])
def test_O049_layer_lrs_against_reference(cfg):
    model = mlp()
    tb = optim.TempBalance(model, **cfg)
    got = tb.layer_lrs(0.1)
    ref = reference_lrs(model, 0.1, farms=cfg.get("farms", True),
                        drop_ends=cfg.get("remove_first_layer", True),
                        eigs_thresh=cfg.get("eigs_thresh", 50), s1=cfg.get("lr_min_ratio", 0.5),
                        s2=cfg.get("lr_max_ratio", 1.5), r=cfg.get("num_row_samples", 100),
                        q=cfg.get("q_ratio", 1.5 if "q_ratio" in cfg else 2.0),
                        s=cfg.get("step_size", 10))
    assert set(got) == set(ref)
    for k in ref:
        assert got[k] == pytest.approx(ref[k], rel=1e-10, abs=1e-14)
    stats = {s["name"]: s for s in tb.esd()}
    if cfg == {}:
        # (110, 130): 2 × 1 windows of 100 × 130 (cut at the edge) → 200 eigenvalues;
        # (140, 110): 5 × 1 windows → 500
        assert stats["2"]["eigs_num"] == 200 and stats["4"]["eigs_num"] == 500
    if "num_row_samples" in cfg:
        # (110, 130) with 30 × 45 windows, stride 7: 12 × 13 windows of 30 eigenvalues
        assert stats["2"]["eigs_num"] == 12 * 13 * 30


class ConvNet(Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 12, 3)
        self.bn2 = nn.BatchNorm2d(12)
        self.conv3 = nn.Conv2d(12, 16, 3)
        self.bn3 = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        h = self.bn1(self.conv1(x)).relu()
        h = self.bn2(self.conv2(h)).relu()
        h = self.bn3(self.conv3(h)).relu()
        return self.fc(h.mean(axis=(2, 3)))


@pytest.mark.parametrize("batchnorm_type", ["name", "order"])
def test_O049_param_groups_and_step(batchnorm_type):
    mg.manual_seed(1)
    model = ConvNet()
    tb = optim.TempBalance(model, eigs_thresh=1, batchnorm_type=batchnorm_type)
    groups = tb.build_param_groups(0.1)
    lrs = tb.layer_lrs(0.1)
    assert set(lrs) == {"conv2", "conv3"}          # conv1 (first) and fc (last) dropped
    owners = [g["tempbalance"] for g in groups]
    assert owners == ["conv2", "conv2", "conv3", "conv3", None]
    for g in groups[:-1]:
        assert g["lr"] == lrs[g["tempbalance"]]
    assert groups[-1]["lr"] == 0.1
    n_params = sum(len(g["params"]) for g in groups)
    assert n_params == len(list(model.parameters()))
    # conv α: the reshaped kernel (out, in·k·k) — scaling by √conv_norm leaves α unchanged
    W = model.conv2.weight.numpy().reshape(12, -1)
    alpha = {s["name"]: s["alpha"] for s in tb.esd()}
    assert alpha["conv2"] == pytest.approx(np_hill(np_farms_eigs(W * np.sqrt(0.5))), rel=1e-6)
    opt = optim.SGD(groups, lr=0.1, momentum=0.9)
    scale = mg.tensor(np.linspace(0.1, 3, 16).reshape(16, 1, 1, 1)).to(model.conv3.weight.dtype)
    model.conv3.weight.data[...] *= scale.data
    new = tb.step(opt, 0.05)
    for g in opt.param_groups:
        assert g["lr"] == (0.05 if g["tempbalance"] is None else new[g["tempbalance"]])
    assert sorted(new.values()) == pytest.approx([0.025, 0.075])


def test_O049_backends_float32(backend):
    model = mlp("float32")
    tb = optim.TempBalance(model)
    lrs = tb.layer_lrs(0.1)
    assert len(lrs) == 2 and all(np.isfinite(v) for v in lrs.values())
    ref = reference_lrs(model, 0.1)
    for k in ref:
        assert lrs[k] == pytest.approx(ref[k], rel=1e-4)


def test_O049_bad_options():
    model = mlp()
    with pytest.raises(ValueError, match="TempBalance"):
        optim.TempBalance(model, lr_min_ratio=2.0, lr_max_ratio=1.0)
    with pytest.raises(ValueError, match="TempBalance"):
        optim.TempBalance(model, num_row_samples=0)
    with pytest.raises(ValueError, match="TempBalance"):
        optim.TempBalance(model, xmin_pos=1)
    with pytest.raises(ValueError, match="TempBalance"):
        optim.TempBalance(model, batchnorm_type="nearest")
