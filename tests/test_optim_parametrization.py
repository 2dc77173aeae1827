"""Width/depth parametrizations (minigrad.optim.parametrization) and TrAct
(minigrad.optim.tract).

µP: the per-group lr / weight decay against a hand-written table of microsoft/mup's MuAdam and
MuSGD rules, the init rescaling, and the coordinate check (the change of the outputs after a
few Adam steps stays O(1) across widths under µP and grows under the standard
parametrization). Depth-µP: the branch multiplier and group lrs, and feature updates that stay
depth-invariant on a toy ResNet. Width-robust AdamW: the produced (lr, wd) per group and the
top-singular-value diagnostic. TrAct: the weight gradient against the paper's closed form with
explicit inverses, both forms equal, λ·∇W → GᵀX as λ → ∞, the conv variant against a loop
im2col, float32 on every backend. BigNAS sandwich rule: the accumulated gradient equals the
sum of per-child gradients computed one by one (plus the largest child's weight decay), the
sampler's state round-trips."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim, training
from minigrad.layers.module import Module
from minigrad.optim.tract import tract_weight_grad

TESTED = {"mup", "depth_mup", "width_robust_adamw", "tract", "bignas_sandwich"}


class MLP(Module):
    def __init__(self, width, readout=optim.MuReadout, d_in=8, d_out=4, dtype="float64"):
        super().__init__()
        self.fc1 = nn.Linear(d_in, width, dtype=dtype)
        self.fc2 = nn.Linear(width, width, dtype=dtype)
        self.out = readout(width, d_out, dtype=dtype)
        if dtype == "float64":
            self.double()

    def forward(self, x):
        return self.out(self.fc2(self.fc1(x).relu()).relu())


def lr_wd_by_name(model, groups):
    ids = {id(p): n for n, p in model.named_parameters()}
    return {ids[id(p)]: (g["lr"], g["weight_decay"]) for g in groups for p in g["params"]}


# ------------------------------------------------------------------------------ O046 µP
def test_O046_mup_groups_match_the_mup_table():
    """width 32 from base 8 (delta 16): m = 4. MuAdam: inf×inf lr/m, wd·m; else unchanged.
    MuSGD: one inf dim lr·m, wd/m; inf×inf lr·(m_out/m_in) = lr; fixed unchanged."""
    model = MLP(32)
    mup = optim.MuP(model, MLP(8), delta=MLP(16))
    lr, wd = 0.01, 0.1
    adam = lr_wd_by_name(model, mup.param_groups(lr, "adam", weight_decay=wd))
    expected_adam = {"fc1.weight": (lr, wd), "fc1.bias": (lr, wd), "fc2.weight": (lr / 4, wd * 4),
                     "fc2.bias": (lr, wd), "out.weight": (lr, wd), "out.bias": (lr, wd)}
    sgd = lr_wd_by_name(model, mup.param_groups(lr, "sgd", weight_decay=wd))
    expected_sgd = {"fc1.weight": (lr * 4, wd / 4), "fc1.bias": (lr * 4, wd / 4),
                    "fc2.weight": (lr, wd), "fc2.bias": (lr * 4, wd / 4),
                    "out.weight": (lr * 4, wd / 4), "out.bias": (lr, wd)}
    for got, expected in [(adam, expected_adam), (sgd, expected_sgd)]:
        assert got.keys() == expected.keys()
        for k in expected:
            np.testing.assert_allclose(got[k], expected[k], rtol=1e-15, err_msg=k)
    decoupled = lr_wd_by_name(model, mup.param_groups(lr, "adam", weight_decay=wd,
                                                      decoupled_wd=True))
    assert decoupled["fc2.weight"] == (lr / 4, wd)
    # groups given by the caller keep their own base values
    groups = mup.param_groups(lr, "adam", params=[{"params": [model.fc2.weight], "lr": 1.0},
                                                  {"params": [model.fc1.weight]}])
    assert [g["lr"] for g in groups] == [0.25, lr]


def test_O046_mup_init_rescaling_and_readout_multiplier():
    mg.manual_seed(0)
    model = MLP(32)
    before = {n: p.numpy().copy() for n, p in model.named_parameters()}
    optim.MuP(model, MLP(8))
    after = {n: p.numpy() for n, p in model.named_parameters()}
    factors = {"fc1.weight": 1, "fc1.bias": 1, "fc2.weight": 1, "fc2.bias": 2,
               "out.weight": 2, "out.bias": 2}
    for n, f in factors.items():
        np.testing.assert_allclose(after[n], f * before[n], rtol=1e-15, err_msg=n)
    assert model.out.width_mult == 4
    x = np.random.default_rng(0).standard_normal((3, 32))
    y = model.out(mg.tensor(x)).numpy()
    np.testing.assert_allclose(y, (x / 4) @ after["out.weight"].T + after["out.bias"], rtol=1e-13)
    zero = optim.MuReadout(5, 3, readout_zero_init=True)
    assert not zero.weight.numpy().any() and not zero.bias.numpy().any()


def test_O046_mup_at_base_width_is_the_standard_parametrization():
    mg.manual_seed(0)
    model = MLP(8)
    before = [p.numpy().copy() for p in model.parameters()]
    groups = optim.MuP(model, MLP(8)).param_groups(0.1, "sgd", weight_decay=0.5)
    assert all(g["lr"] == 0.1 and g["weight_decay"] == 0.5 for g in groups)
    for b, p in zip(before, model.parameters()):
        np.testing.assert_array_equal(b, p.numpy())


def _output_change(width, mup, steps=3, lr=1e-2, seed=0):
    mg.manual_seed(seed)
    model = MLP(width, optim.MuReadout if mup else nn.Linear)
    groups = optim.MuP(model, MLP(8)).param_groups(lr) if mup else model.parameters()
    opt = optim.Adam(groups, lr=lr)
    rng = np.random.default_rng(0)
    x, y = mg.tensor(rng.standard_normal((16, 8))), mg.tensor(rng.standard_normal((16, 4)))
    with mg.no_grad():
        y0 = model(x).numpy()
    for _ in range(steps):
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
    with mg.no_grad():
        return float(np.abs(model(x).numpy() - y0).mean())


def test_O046_coordinate_check_outputs_stay_order_one_across_widths():
    widths = [32, 128, 512]
    mup = [np.mean([_output_change(w, True, seed=s) for s in range(3)]) for w in widths]
    sp = [np.mean([_output_change(w, False, seed=s) for s in range(3)]) for w in widths]
    assert max(mup) / min(mup) < 1.5, mup
    assert sp[-1] / sp[0] > 2.5, sp         # standard parametrization: grows with width


def test_O046_mup_optimizer_state_round_trip(tmp_path):
    def build():
        mg.manual_seed(0)
        model = MLP(16)
        mup = optim.MuP(model, MLP(8))
        return model, optim.Adam(mup.param_groups(1e-2, weight_decay=1e-3), lr=1e-2)

    x = mg.tensor(np.random.default_rng(0).standard_normal((4, 8)))

    def steps(model, opt, k):
        for _ in range(k):
            opt.zero_grad()
            (model(x) ** 2).mean().backward()
            opt.step()

    model, opt = build()
    steps(model, opt, 5)
    full = [p.numpy().copy() for p in model.parameters()]
    model, opt = build()
    steps(model, opt, 2)
    mg.save(opt.state_dict(), str(tmp_path / "o.npz"))
    weights = [p.numpy().copy() for p in model.parameters()]
    model2, opt2 = build()
    for p, w in zip(model2.parameters(), weights):
        p.data[...] = w
    opt2.load_state_dict(mg.load(str(tmp_path / "o.npz")))
    steps(model2, opt2, 3)
    for a, b in zip(full, model2.parameters()):
        np.testing.assert_array_equal(a, b.numpy())


def test_O046_mup_float32_groups(backend):
    model = MLP(16, dtype="float32")
    groups = optim.MuP(model, MLP(8, dtype="float32")).param_groups(1e-3)
    opt = optim.Adam(groups)
    x = mg.tensor(np.ones((2, 8), dtype=np.float32))
    (model(x) ** 2).mean().backward()
    opt.step()
    for p in model.parameters():
        assert p.dtype == np.float32 and p.backend == backend and np.isfinite(p.numpy()).all()


def test_O046_mup_bad_options():
    model = MLP(16)
    mup = optim.MuP(model, MLP(8))
    with pytest.raises(ValueError, match="optimizer"):
        mup.param_groups(0.1, "lion")
    with pytest.raises(ValueError, match="lr"):
        mup.param_groups(0.0)
    with pytest.raises(ValueError, match="not a parameter"):
        mup.param_groups(0.1, params=[mg.tensor(np.ones(2), requires_grad=True)])
    with pytest.raises(ValueError, match="missing"):
        optim.MuP(model, {"fc1.weight": (8, 8)})
    with pytest.raises(ValueError, match="axes"):
        optim.MuP(model, dict(MLP(8).named_parameters(), **{"fc1.bias": (1, 8)}))
    with pytest.raises(TypeError, match="Module"):
        optim.MuP([model.fc1.weight], MLP(8))


# ------------------------------------------------------------------------ O047 Depth-µP
class ToyResNet(Module):
    """x_{l+1} = x_l + m·W_l|x_l| (one-layer blocks, absolute-value activation)."""

    def __init__(self, depth, mult, width=64):
        super().__init__()
        self.inp = nn.Linear(8, width, bias=False, dtype="float64")
        self.blocks = []
        for i in range(depth):
            block = nn.Linear(width, width, bias=False, dtype="float64")
            setattr(self, f"block{i}", block)
            self.blocks.append(block)
        self.mult = mult
        self.double()

    def features(self, x):
        h = self.inp(x)
        for block in self.blocks:
            h = h + self.mult * block(h.abs())
        return h


def _feature_change(depth, optimizer, lr, depth_mup=True):
    mg.manual_seed(0)
    dm = optim.DepthMuP(depth)
    model = ToyResNet(depth, dm.branch_multiplier)
    blocks = [b.weight for b in model.blocks]
    groups = (dm.param_groups(lr, blocks, optimizer, params=model.parameters()) if depth_mup
              else model.parameters())
    opt = (optim.Adam if optimizer == "adam" else optim.SGD)(groups, lr=lr)
    x = mg.tensor(np.random.default_rng(0).standard_normal((16, 8)))
    with mg.no_grad():
        f0 = model.features(x).numpy()
    for _ in range(2):
        opt.zero_grad()
        model.features(x).mean().backward()
        opt.step()
    with mg.no_grad():
        return float(np.sqrt(((model.features(x).numpy() - f0) ** 2).mean()))


@pytest.mark.parametrize("optimizer,lr", [("adam", 1e-2), ("sgd", 1.0)])
def test_O047_feature_updates_are_depth_invariant(optimizer, lr):
    changes = [_feature_change(L, optimizer, lr) for L in (4, 16, 64)]
    assert max(changes) / min(changes) < 1.3, changes
    if optimizer == "adam":   # Adam without the 1/√L lr: grows with depth
        plain = [_feature_change(L, "adam", lr, depth_mup=False) for L in (4, 16, 64)]
        assert plain[-1] / plain[0] > 10, plain


def test_O047_multiplier_and_groups():
    dm = optim.DepthMuP(16, a=2.0)
    assert dm.branch_multiplier == 0.5
    a, b, c = (mg.tensor(np.ones(2), requires_grad=True) for _ in range(3))
    groups = dm.param_groups(0.1, [a, b], "adam", params=[a, b, c])
    assert [(g["lr"], len(g["params"])) for g in groups] == [(0.025, 2), (0.1, 1)]
    assert dm.param_groups(0.1, [a], "sgd")[0]["lr"] == 0.1
    based = optim.DepthMuP(16, base_depth=4)
    assert based.branch_multiplier == 0.5
    assert based.param_groups(0.1, [a], "adam")[0]["lr"] == pytest.approx(0.05, rel=1e-15)
    assert optim.DepthMuP(4, base_depth=4).param_groups(0.1, [a], "adam")[0]["lr"] == 0.1
    # combined with width µP: the µP groups' lrs are the base values
    groups = dm.param_groups(0.1, [a], "adam", params=[{"params": [a, c], "lr": 0.4}])
    assert [g["lr"] for g in groups] == [0.1, 0.4]


def test_O047_bad_options():
    with pytest.raises(ValueError, match="num_blocks"):
        optim.DepthMuP(0)
    with pytest.raises(ValueError, match="base_depth"):
        optim.DepthMuP(4, base_depth=0.5)
    with pytest.raises(ValueError, match="optimizer"):
        optim.DepthMuP(4).param_groups(0.1, [], "lamb")
    with pytest.raises(ValueError, match="lr"):
        optim.DepthMuP(4).param_groups(-1, [])


# ------------------------------------------------------------- O048 width-robust AdamW
def test_O048_groups_follow_the_paper_rule():
    """d₀ = 8 → d = 32: matrices lr·d₀/d, wd·√(d/d₀); vectors (and the one-width readout,
    input layer) vector_lr, wd 0."""
    model = MLP(32, readout=nn.Linear)
    got = lr_wd_by_name(model, optim.width_robust_adamw(model, MLP(8, readout=nn.Linear),
                                                        lr=4e-3, weight_decay=0.1,
                                                        vector_lr=1e-3))
    expected = {"fc2.weight": (1e-3, 0.2)}
    for name in ["fc1.weight", "fc1.bias", "fc2.bias", "out.weight", "out.bias"]:
        expected[name] = (1e-3, 0.0)
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-15, err_msg=k)
    same = optim.width_robust_adamw(model, model, lr=4e-3, weight_decay=0.1)
    assert all(g["lr"] == 4e-3 for g in same)


def test_O048_top_singular_value_and_adamw_steps(backend):
    w = np.random.default_rng(0).standard_normal((5, 3))
    assert optim.top_singular_value(mg.tensor(w)) == pytest.approx(
        np.linalg.svd(w, compute_uv=False)[0], rel=1e-12)
    model = MLP(16, readout=nn.Linear, dtype="float32")
    opt = optim.AdamW(optim.width_robust_adamw(model, MLP(8, readout=nn.Linear,
                                                          dtype="float32"), 1e-3, 0.1))
    (model(mg.tensor(np.ones((2, 8), dtype=np.float32))) ** 2).mean().backward()
    opt.step()
    assert all(p.dtype == np.float32 and p.backend == backend for p in model.parameters())
    with pytest.raises(ValueError, match="matrix"):
        optim.top_singular_value(mg.tensor(np.ones(3)))
    with pytest.raises(ValueError, match="weight_decay"):
        optim.width_robust_adamw(model, model, 1e-3, -1.0)


# -------------------------------------------------------------------------- O055 TrAct
def closed_form(x, g, lam):
    """∇W = Gᵀ X (XᵀX/n + λI)⁻¹ with an explicit inverse (the paper's formula)."""
    n, d = x.shape
    return g.T @ x @ np.linalg.inv(x.T @ x / n + lam * np.eye(d))


def woodbury_form(x, g, lam):
    n = x.shape[0]
    a = x @ x.T / n
    inner = np.eye(n) - a @ np.linalg.inv(a / lam + np.eye(n)) / lam
    return g.T @ inner @ x / lam


@pytest.mark.parametrize("n,d,lam", [(9, 4, 0.1), (3, 7, 0.1), (5, 5, 2.0), (2, 6, 1e-3)])
def test_O055_weight_gradient_is_the_closed_form(n, d, lam):
    rng = np.random.default_rng(n + d)
    x, w, b = rng.standard_normal((n, d)), rng.standard_normal((3, d)), rng.standard_normal(3)
    gy = rng.standard_normal((n, 3))
    xt, wt, bt = (mg.tensor(a, requires_grad=True) for a in (x, w, b))
    y = optim.tract_linear(xt, wt, bt, lambda_=lam)
    np.testing.assert_allclose(y.numpy(), x @ w.T + b, rtol=1e-14)
    (y * mg.tensor(gy)).sum().backward()
    np.testing.assert_allclose(wt.grad.numpy(), closed_form(x, gy, lam), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(wt.grad.numpy(), woodbury_form(x, gy, lam), rtol=1e-8, atol=1e-11)
    np.testing.assert_allclose(xt.grad.numpy(), gy @ w, rtol=1e-14)
    np.testing.assert_allclose(bt.grad.numpy(), gy.sum(0), rtol=1e-14)


def test_O055_both_forms_agree_on_raw_arrays():
    rng = np.random.default_rng(0)
    for n, d in [(3, 8), (8, 3)]:
        x, g = rng.standard_normal((n, d)), rng.standard_normal((n, 2))
        np.testing.assert_allclose(tract_weight_grad(x, g, 0.3), closed_form(x, g, 0.3),
                                   rtol=1e-10)
        np.testing.assert_allclose(woodbury_form(x, g, 0.3), closed_form(x, g, 0.3), rtol=1e-10)


def test_O055_large_lambda_recovers_the_true_gradient():
    rng = np.random.default_rng(1)
    for n, d in [(10, 4), (3, 6)]:
        x, g = rng.standard_normal((n, d)), rng.standard_normal((n, 2))
        np.testing.assert_allclose(1e8 * tract_weight_grad(x, g, 1e8), g.T @ x, rtol=1e-6)


def test_O055_batched_leading_axes_and_float32(backend):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    w = rng.standard_normal((5, 4)).astype(np.float32)
    xt, wt = mg.tensor(x, requires_grad=True), mg.tensor(w, requires_grad=True)
    y = optim.tract_linear(xt, wt)
    y.sum().backward()
    assert wt.grad.dtype == np.float32 and wt.grad.backend == backend
    np.testing.assert_allclose(wt.grad.numpy(),
                               closed_form(x.reshape(6, 4).astype(np.float64), np.ones((6, 5)),
                                           0.1), rtol=2e-4, atol=1e-5)


def im2col_loop(x, kh, kw, pad):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - kh + 1, w + 2 * pad - kw + 1
    rows = []
    for i in range(n):
        for r in range(oh):
            for s in range(ow):
                rows.append(xp[i, :, r:r + kh, s:s + kw].reshape(-1))
    return np.array(rows), oh, ow


def test_O055_conv_variant_on_patch_rows():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((4, 3, 3, 3)), \
        rng.standard_normal(4)
    xt, wt, bt = (mg.tensor(a, requires_grad=True) for a in (x, w, b))
    y = optim.tract_conv2d(xt, wt, bt, padding=1, lambda_=0.1)
    ref = mg.functional.conv2d(*(mg.tensor(a, requires_grad=True) for a in (x, w, b)), padding=1)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(y.shape)
    (y * mg.tensor(gy)).sum().backward()
    a, oh, ow = im2col_loop(x, 3, 3, 1)
    g = gy.transpose(0, 2, 3, 1).reshape(-1, 4)
    np.testing.assert_allclose(wt.grad.numpy(), closed_form(a, g, 0.1).reshape(w.shape),
                               rtol=1e-9, atol=1e-12)
    xr = mg.tensor(x, requires_grad=True)
    plain = mg.functional.conv2d(xr, mg.tensor(w), mg.tensor(b), padding=1)
    (plain * mg.tensor(gy)).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), xr.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bt.grad.numpy(), gy.sum((0, 2, 3)), rtol=1e-13)


def test_O055_wrapper_shares_parameters_and_bad_lambda():
    lin = nn.Linear(4, 3, dtype="float64")
    t = optim.TrAct(lin, l=0.1)
    assert isinstance(t, optim.TrActLinear) and t.weight is lin.weight and t.bias is lin.bias
    conv = nn.Conv2d(2, 3, 3, padding=1)
    tc = optim.TrAct(conv)
    assert isinstance(tc, optim.TrActConv2d) and tc.weight is conv.weight
    x = mg.tensor(np.ones((2, 2, 4, 4), dtype=np.float32))
    np.testing.assert_allclose(tc(x).numpy(), conv(x).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="lambda_"):
        optim.TrAct(lin, l=0.0)
    with pytest.raises(TypeError, match="Linear or a Conv2d"):
        optim.TrAct(nn.ReLU())
    with pytest.raises(ValueError, match="does not match"):
        optim.tract_linear(mg.tensor(np.ones((2, 3))), mg.tensor(np.ones((2, 4))))
    with pytest.raises(ValueError, match="lambda_"):
        optim.tract_linear(mg.tensor(np.ones((2, 3))), mg.tensor(np.ones((2, 3))),
                           lambda_=math.inf)


# ------------------------------------------------------------------ O045 BigNAS sandwich
class ElasticMLP(Module):
    """A weight-shared supernet: a child (w1, w2) uses the first w1 / w2 hidden units."""

    def __init__(self, dtype="float64"):
        super().__init__()
        self.fc1 = nn.Linear(5, 8, dtype=dtype)
        self.fc2 = nn.Linear(8, 6, dtype=dtype)
        self.out = nn.Linear(6, 3, dtype=dtype)
        if dtype == "float64":
            self.double()
        self.regularized = []

    def forward(self, x, config, regularize=False):
        self.regularized.append(regularize)
        w1, w2 = config
        h = mg.functional.linear(x, self.fc1.weight[:w1], self.fc1.bias[:w1]).relu()
        h = mg.functional.linear(h, self.fc2.weight[:w2, :w1], self.fc2.bias[:w2]).relu()
        return mg.functional.linear(h, self.out.weight[:, :w2], self.out.bias)


def sample_child(rng):
    return int(rng.integers(2, 9)), int(rng.integers(2, 7))


def np_child(params, x, config):
    """Forward of a child in plain NumPy (for the hand computation)."""
    w1, w2 = config
    h = np.maximum(x @ params["fc1.weight"][:w1].T + params["fc1.bias"][:w1], 0)
    h = np.maximum(h @ params["fc2.weight"][:w2, :w1].T + params["fc2.bias"][:w2], 0)
    return h @ params["out.weight"][:, :w2].T + params["out.bias"]


def test_O045_accumulated_gradient_is_the_sum_of_per_child_gradients():
    mg.manual_seed(0)
    net = ElasticMLP()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 5)), np.array([0, 2, 1, 2])
    start = {n: p.numpy().copy() for n, p in net.named_parameters()}
    lr, wd = 0.5, 1e-2
    rule = training.SandwichRule(net, optim.SGD(net.parameters(), lr=lr), sample_child,
                                 largest=(8, 6), smallest=(2, 2), weight_decay=wd, seed=3)
    losses = rule.step(mg.tensor(x), mg.tensor(y))
    configs = [(8, 6)] + [sample_child(r) for r in [np.random.default_rng(3)] for _ in range(2)] \
        + [(2, 2)]
    assert net.regularized == [True, False, False, False]

    # hand computation: each child's gradient by its own backward on fresh tensors, summed
    total = {n: np.zeros_like(v) for n, v in start.items()}
    z_max = np_child(start, x, configs[0])
    e = np.exp(z_max - z_max.max(1, keepdims=True))
    teacher = e / e.sum(1, keepdims=True)
    for i, config in enumerate(configs):
        fresh = ElasticMLP()
        for n, p in fresh.named_parameters():
            p.data[...] = start[n]
        z = fresh(mg.tensor(x), config)
        if i == 0:
            loss = mg.functional.cross_entropy(z, mg.tensor(y))
        else:
            loss = -(mg.tensor(teacher) * mg.functional.log_softmax(z, dim=-1)).sum(axis=-1).mean()
            if i == len(configs) - 1:
                np.testing.assert_allclose(losses["smallest"], float(loss.numpy()), rtol=1e-12)
            else:
                np.testing.assert_allclose(losses["random"][i - 1], float(loss.numpy()),
                                           rtol=1e-12)
        loss.backward()
        for n, p in fresh.named_parameters():
            total[n] += p.grad.numpy()
    for n in ("fc1.weight", "fc2.weight", "out.weight"):     # weight decay: largest only, once
        total[n] += wd * start[n]
    for n, p in net.named_parameters():
        np.testing.assert_allclose(p.numpy(), start[n] - lr * total[n], rtol=1e-12, atol=1e-14,
                                   err_msg=n)
    np.testing.assert_allclose(losses["largest"], float(mg.functional.cross_entropy(
        mg.tensor(z_max), mg.tensor(y)).numpy()), rtol=1e-12)


def test_O045_sampler_state_round_trip(tmp_path):
    net = ElasticMLP()
    rule = training.SandwichRule(net, optim.SGD(net.parameters(), lr=0.1), sample_child,
                                 (8, 6), (2, 2), seed=7)
    rule.children()
    mg.save(rule.state_dict(), str(tmp_path / "s.npz"))
    expected = rule.children()
    other = training.SandwichRule(net, optim.SGD(net.parameters(), lr=0.1), sample_child,
                                  (8, 6), (2, 2), seed=99)
    other.load_state_dict(mg.load(str(tmp_path / "s.npz")))
    assert other.children() == expected


def test_O045_float32_and_bad_options(backend):
    net = ElasticMLP(dtype="float32")
    rule = training.SandwichRule(net, optim.SGD(net.parameters(), lr=0.1), sample_child,
                                 (8, 6), (2, 2))
    x = mg.tensor(np.ones((3, 5), dtype=np.float32))
    out = rule.step(x, mg.tensor(np.array([0, 1, 2])))
    assert len(out["random"]) == 2
    assert all(p.dtype == np.float32 and p.backend == backend and np.isfinite(p.numpy()).all()
               for p in net.parameters())
    sgd = optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="num_random"):
        training.SandwichRule(net, sgd, sample_child, (8, 6), (2, 2), num_random=-1)
    with pytest.raises(ValueError, match="weight_decay"):
        training.SandwichRule(net, sgd, sample_child, (8, 6), (2, 2), weight_decay=-1)
    with pytest.raises(ValueError, match="temperature"):
        training.SandwichRule(net, sgd, sample_child, (8, 6), (2, 2), temperature=0)
    with pytest.raises(TypeError, match="Module"):
        training.SandwichRule(lambda x, c: x, sgd, sample_child, (8, 6), (2, 2))
