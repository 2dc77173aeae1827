"""EvoNorm-B0/S0 (N018, N019), PowerNorm (N020), Unified Normalization (N021), Online
Normalization (N022) and MS-LayerNorm/MS-RMSNorm (N023): running statistics, the papers'
approximate backward rules replayed over several training steps against step-by-step
NumPy transcriptions of the official code, edge cases and errors. The registry harness
(tests/test_registry.py) does the finite-difference / rule checks and the forward oracles."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
from minigrad import nn
from minigrad.gradcheck import GradcheckError, gradcheck


def t64(a, grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def grads(module, x, gy):
    """Forward, backward with upstream gy; returns (y, dx, {param name: grad})."""
    xt = t64(x)
    y = module(xt)
    (y * mg.tensor(gy)).sum().backward()
    return y.numpy(), xt.grad.numpy(), {k: p.grad.numpy() for k, p in module.named_parameters()}


# ====================================================================== EvoNorm-B0
def b0_reference(x, running_var, v, w, b, training, momentum=0.1, eps=1e-5):
    """timm.layers.evo_norm.EvoNorm2dB0.forward, transcribed."""
    if training:
        var = x.var(axis=(0, 2, 3))
        n = x.size / x.shape[1]
        running_var = running_var * (1 - momentum) + var * momentum * n / (n - 1)
    else:
        var = running_var
    left = np.sqrt(var + eps)[None, :, None, None]
    right = x * v[None, :, None, None] + np.sqrt(x.var(axis=(2, 3), keepdims=True) + eps)
    y = x / np.maximum(left, right)
    return y * w[None, :, None, None] + b[None, :, None, None], running_var


def test_evonorm_b0_running_var_train_eval_and_state_dict():
    rng = np.random.default_rng(0)
    m = nn.EvoNorm2dB0(3).double()
    with mg.no_grad():
        m.v.copy_(mg.tensor(rng.uniform(0.5, 1.5, 3)))
        m.weight.copy_(mg.tensor(rng.uniform(0.5, 1.5, 3)))
        m.bias.copy_(mg.tensor(rng.standard_normal(3)))
    rv = np.ones(3)
    for _ in range(3):
        x = rng.standard_normal((4, 3, 3, 3)) * 2 + 1
        y = m(t64(x, False)).numpy()
        ref, rv = b0_reference(x, rv, m.v.numpy(), m.weight.numpy(), m.bias.numpy(), True)
        np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(m.running_var.numpy(), rv, rtol=1e-10)
    assert int(m.num_batches_tracked.item()) == 3
    m.eval()
    x = rng.standard_normal((2, 3, 3, 3))
    ref, _ = b0_reference(x, rv, m.v.numpy(), m.weight.numpy(), m.bias.numpy(), False)
    np.testing.assert_allclose(m(t64(x, False)).numpy(), ref, rtol=1e-10, atol=1e-12)
    # eval is per sample: a sample's output does not depend on the rest of the batch
    np.testing.assert_allclose(m(t64(x[:1], False)).numpy(), ref[:1], rtol=1e-10, atol=1e-12)
    assert int(m.num_batches_tracked.item()) == 3
    sd = m.state_dict()
    assert set(sd) == {"weight", "bias", "v", "running_var", "num_batches_tracked"}
    m2 = nn.EvoNorm2dB0(3).double()
    m2.load_state_dict(sd)
    m2.eval()
    np.testing.assert_allclose(m2(t64(x, False)).numpy(), ref, rtol=1e-10, atol=1e-12)


def test_evonorm_b0_momentum_none_is_cumulative_average():
    rng = np.random.default_rng(1)
    m = nn.EvoNorm2dB0(2, momentum=None).double()
    xs = [rng.standard_normal((3, 2, 2, 2)) * (k + 1) for k in range(3)]
    for x in xs:
        m(t64(x, False))
    n = 3 * 4
    expected = np.mean([x.var(axis=(0, 2, 3)) * n / (n - 1) for x in xs], axis=0)
    np.testing.assert_allclose(m.running_var.numpy(), expected, rtol=1e-10)


def test_evonorm_b0_batch_of_one_zero_variance_and_extremes():
    m = nn.EvoNorm2dB0(2)
    y = m(mg.tensor(np.random.default_rng(2).standard_normal((1, 2, 3, 3)).astype(np.float32)))
    assert y.dtype == mg.float32 and np.isfinite(y.numpy()).all()
    x = t64(np.full((2, 2, 3, 3), 3.0))            # zero batch and instance variance
    y = F.evonorm_b0(x, None, training=True)
    y.sum().backward()
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()
    x = t64(np.random.default_rng(3).standard_normal((2, 2, 3, 3)) * 1e6)
    y = F.evonorm_b0(x, None, training=True)
    y.sum().backward()
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()


def test_evonorm_b0_errors():
    x = mg.randn(2, 3, 4, 4)
    with pytest.raises(ValueError, match="evonorm_b0: evaluation mode"):
        F.evonorm_b0(x, None, training=False)
    with pytest.raises(ValueError, match="evonorm_b0: v of shape"):
        F.evonorm_b0(x, None, v=mg.ones(2), training=True)
    with pytest.raises(ValueError, match="evonorm_b0: the instance variance"):
        F.evonorm_b0(mg.randn(2, 3, 1, 1), None, training=True)
    with pytest.raises(ValueError, match="evonorm_b0: expected an input"):
        F.evonorm_b0(mg.randn(2, 3), None, training=True)
    with pytest.raises(ValueError, match=r"EvoNorm2dB0\(4\)"):
        nn.EvoNorm2dB0(4)(x)


# ====================================================================== EvoNorm-S0
def test_evonorm_s0_matches_timm_transcription_and_is_batch_independent():
    rng = np.random.default_rng(4)
    m = nn.EvoNorm2dS0(8, groups=2).double()
    with mg.no_grad():
        m.v.copy_(mg.tensor(rng.uniform(0.5, 1.5, 8)))
    x = rng.standard_normal((3, 8, 2, 3))
    y = m(t64(x, False)).numpy()
    xg = x.reshape(3, 2, 4, 2, 3)
    std = np.sqrt(xg.var(axis=(2, 3, 4), keepdims=True) + 1e-5)
    std = np.broadcast_to(std, xg.shape).reshape(x.shape)
    v = m.v.numpy()[None, :, None, None]
    np.testing.assert_allclose(y, x / (1 + np.exp(-v * x)) / std, rtol=1e-10)
    np.testing.assert_allclose(m(t64(x[1:2], False)).numpy(), y[1:2], rtol=1e-12)
    m.eval()
    np.testing.assert_allclose(m(t64(x, False)).numpy(), y, rtol=1e-12)
    assert set(m.state_dict()) == {"weight", "bias", "v"}
    assert nn.EvoNorm2dS0(8, group_size=4).groups == 2


def test_evonorm_s0_edges_and_errors():
    x = t64(np.zeros((1, 4, 2, 2)))
    y = F.evonorm_s0(x, 2)
    y.sum().backward()
    assert np.isfinite(x.grad.numpy()).all() and not y.numpy().any()
    x32 = mg.tensor(np.random.default_rng(5).standard_normal((2, 4, 3, 3)).astype(np.float32) * 1e4)
    y = F.evonorm_s0(x32, 2)
    assert y.dtype == mg.float32 and np.isfinite(y.numpy()).all()
    with pytest.raises(ValueError, match="evonorm_s0: 4 channels"):
        F.evonorm_s0(mg.randn(2, 4, 3, 3), 3)
    with pytest.raises(ValueError, match="evonorm_s0: each of the 4 groups"):
        F.evonorm_s0(mg.randn(2, 4, 1, 1), 4)
    with pytest.raises(ValueError, match="EvoNorm2dS0"):
        nn.EvoNorm2dS0(6, groups=4)


def test_evonorm_second_derivatives():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 4, 2, 2))
    w, v = rng.uniform(0.5, 1.5, 4), rng.uniform(0.5, 1.5, 4)
    from minigrad.gradcheck import gradgradcheck
    gradgradcheck(lambda a, b: F.evonorm_s0(a, 2, b, None, t64(v, False)), [t64(x), t64(w)])


# ====================================================================== PowerNorm
class PowerNormReference:
    """sIncerass/powernorm MaskPowerNorm + PowerFunction (training), one step at a time."""

    def __init__(self, C, warmup, afwd=0.9, abkw=0.9, eps=1e-5, groups=1):
        self.phi, self.ema = np.ones(C), np.zeros(C)
        self.it, self.warmup, self.afwd, self.abkw = 0, warmup, afwd, abkw
        self.eps, self.G = eps, groups

    def step(self, x, w, b, gy, pad=None):
        T, B, C = x.shape
        self.it += 1
        xs = x.reshape(T, B, self.G, C // self.G)
        rs = np.sqrt((xs ** 2).mean(axis=3, keepdims=True) + self.eps)
        xt = (xs / rs).reshape(T, B, C)
        real = xt.reshape(-1, C) if pad is None else xt[~pad]
        var = (real ** 2).mean(axis=0)
        z = xt / np.sqrt((var if self.it <= self.warmup else self.phi) + self.eps)
        if self.it < self.warmup:
            self.phi = self.phi * (self.it - 1) / self.it + var / self.it
        self.phi = self.afwd * self.phi + (1 - self.afwd) * var
        y = w * z + b
        g = gy * w
        approx = g - (1 - self.abkw) * self.ema * z
        self.ema = self.ema + (approx * z).reshape(-1, C).mean(axis=0)
        dxt = (approx / np.sqrt(var + self.eps)).reshape(xs.shape)
        o = xs / rs
        dx = ((dxt - o * (dxt * o).mean(axis=3, keepdims=True)) / rs).reshape(x.shape)
        return y, dx, (gy * z).reshape(-1, C).sum(axis=0), gy.reshape(-1, C).sum(axis=0)


@pytest.mark.parametrize("groups,pad", [(1, False), (2, True)])
def test_power_norm_replays_official_rule_across_warmup(groups, pad):
    rng = np.random.default_rng(7)
    T, B, C = 3, 2, 4
    m = nn.PowerNorm(C, warmup_iters=3, group_num=groups).double()
    ref = PowerNormReference(C, 3, groups=groups)
    for step in range(6):                    # warmup, its last step, then running statistics
        x = rng.standard_normal((T, B, C)) * (1 + step)
        gy = rng.standard_normal((T, B, C))
        mask = (rng.uniform(size=(T, B)) < 0.3) if pad else None
        if mask is not None:
            mask[0, 0] = False
        xt = t64(x)
        y = m(xt, pad_mask=mask)
        (y * mg.tensor(gy)).sum().backward()
        ry, rdx, rdw, rdb = ref.step(x, m.weight.numpy(), m.bias.numpy(), gy, mask)
        np.testing.assert_allclose(y.numpy(), ry, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(xt.grad.numpy(), rdx, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(m.weight.grad.numpy(), rdw, rtol=1e-9)
        np.testing.assert_allclose(m.bias.grad.numpy(), rdb, rtol=1e-9)
        np.testing.assert_allclose(m.running_phi.numpy(), ref.phi, rtol=1e-10)
        np.testing.assert_allclose(m.ema_gz.numpy(), ref.ema, rtol=1e-9, atol=1e-12)
        m.zero_grad()
    assert int(m.iters.item()) == 6
    m.eval()
    x = rng.standard_normal((T, B, C))
    xs = x.reshape(T, B, groups, -1)
    xt = (xs / np.sqrt((xs ** 2).mean(axis=3, keepdims=True) + 1e-5)).reshape(x.shape)
    np.testing.assert_allclose(m(t64(x, False)).numpy(), xt / np.sqrt(ref.phi + 1e-5), rtol=1e-10)
    assert int(m.iters.item()) == 6
    sd = m.state_dict()
    assert {"running_phi", "ema_gz", "iters"} <= set(sd)


def test_power_norm_ema_gz_is_the_papers_nu_over_one_minus_alpha():
    """Paper: ν_B = ν_{B−1}(1 − (1 − α)Γ_B) + (1 − α)Λ_B, Γ = mean z², Λ = mean g·z;
    the code (and minigrad) store ν/(1 − α)."""
    rng = np.random.default_rng(14)
    a = 0.9
    x = t64(rng.standard_normal((5, 3)))
    ema0 = rng.standard_normal(3) * 0.1
    ema = mg.tensor(ema0.copy())
    y = F.power_norm(x, mg.ones(3).double(), ema, training=True, current_iter=1, alpha_bkw=a)
    gy = rng.standard_normal((5, 3))
    (y * mg.tensor(gy)).sum().backward()
    xt = x.numpy() / np.sqrt((x.numpy() ** 2).mean(axis=1, keepdims=True) + 1e-5)
    z = xt / np.sqrt((xt ** 2).mean(axis=0) + 1e-5)
    gamma, lam = (z ** 2).mean(axis=0), (gy * z).mean(axis=0)
    nu_paper = (1 - a) * ema0 * (1 - (1 - a) * gamma) + (1 - a) * lam
    np.testing.assert_allclose((1 - a) * ema.numpy(), nu_paper, rtol=1e-10)


def test_power_norm_training_backward_is_not_the_exact_gradient():
    """The approximate backward is a documented rule, not the derivative: with ν = 0 at
    the first step it still drops the terms through q_B, so it differs from finite
    differences."""
    rng = np.random.default_rng(8)
    x = t64(rng.standard_normal((4, 3)))
    phi, ema = mg.ones(3).double(), mg.zeros(3).double()
    y = F.power_norm(x, phi, ema, training=True, current_iter=1)
    y.sum().backward()
    approx = x.grad.numpy()
    with pytest.raises(GradcheckError):
        gradcheck(lambda a: F.power_norm(a, mg.ones(3).double(), mg.zeros(3).double(),
                                         training=True, current_iter=1), [x])
    assert np.isfinite(approx).all()


def test_power_norm_edges_and_errors():
    x = mg.zeros(3, 2, 4)                        # all-zero tokens: finite (ε)
    y = F.power_norm(x, mg.ones(4), mg.zeros(4), training=True, current_iter=1)
    assert np.isfinite(y.numpy()).all()
    with pytest.raises(ValueError, match="power_norm: training needs the ema_gz"):
        F.power_norm(mg.randn(3, 4), mg.ones(4), None, training=True)
    with pytest.raises(ValueError, match="power_norm: 4 channels"):
        F.power_norm(mg.randn(3, 4), mg.ones(4), group_num=3)
    with pytest.raises(ValueError, match="power_norm: pad_mask"):
        F.power_norm(mg.randn(3, 2, 4), mg.ones(4), mg.zeros(4), training=True,
                     pad_mask=np.zeros((2, 3), bool))
    with pytest.raises(ValueError, match="power_norm: every token is padding"):
        F.power_norm(mg.randn(3, 2, 4), mg.ones(4), mg.zeros(4), training=True,
                     pad_mask=np.ones((3, 2), bool))
    with pytest.raises(ValueError, match="power_norm: running_phi of shape"):
        F.power_norm(mg.randn(3, 4), mg.ones(3))


# ====================================================================== Unified Norm
class UnifiedNormReference:
    """hikvision-research UN1d + UN2dFunction (training), one step at a time."""

    def __init__(self, C, window, warmup, filtration, eps=1e-5, m=0.9):
        self.rv, self.ema = np.ones(C), np.zeros(C)
        self.bx, self.bg = np.zeros((window, C)), np.zeros((window, C))
        self.it, self.warmup, self.filt = 0, warmup, filtration
        self.eps, self.m, self.skips = eps, m, 0

    def step(self, x, w, b, gy):
        C = x.shape[-1]
        self.it += 1
        t, wf = self.it, len(self.bx)
        x2d, g2d = x.reshape(-1, C), gy.reshape(-1, C)
        q = (x2d ** 2).mean(axis=0)
        skip = wf <= 1
        recorded = np.var(np.sqrt(self.bx), ddof=1)
        self.bx[t % wf] = q
        if t >= self.warmup and self.filt:
            am, gm = self.bx.mean(axis=0), np.exp(np.log(self.bx).mean(axis=0))
            if ((am - gm) > recorded * wf).any():
                self.bx[t % wf] = self.rv
                skip = True
                self.skips += 1
        var = q if (t <= wf or t < self.warmup or skip) else np.exp(np.log(self.bx).mean(axis=0))
        r = np.sqrt(var + self.eps) / np.sqrt(self.rv + self.eps)
        r = np.ones(C) if (t <= max(1000, self.warmup) or skip) else np.clip(r, 0.2, 5)
        z = x2d / np.sqrt(var + self.eps)
        self.rv = self.m * self.rv + (1 - self.m) * var
        y = w * z + b
        g = g2d * w * r
        gz = (g * z).mean(axis=0)
        self.bg[t % len(self.bg)] = self.ema if skip else gz
        mean_gz = gz if (t <= len(self.bg) or t < self.warmup or skip) else self.bg.mean(axis=0)
        self.ema = self.ema * self.m + (1 - self.m) * mean_gz
        approx = g - (mean_gz if skip else self.ema) * z
        dx = approx / np.sqrt(var + self.eps)
        return (y.reshape(x.shape), dx.reshape(x.shape), (g2d * r * z).sum(axis=0),
                g2d.sum(axis=0))


@pytest.mark.parametrize("start,filtration", [(0, False), (998, False), (998, True)])
def test_unified_norm_replays_official_rule(start, filtration):
    """From the start (window filling, warmup) and past iteration 1000 (geometric mean,
    gradient compensation r, outlier filtration)."""
    rng = np.random.default_rng(9)
    C = 3
    m = nn.UnifiedNorm(C, window_size=3, warmup_iters=2, outlier_filtration=filtration).double()
    ref = UnifiedNormReference(C, 3, 2, filtration)
    with mg.no_grad():
        m.iters.fill_(start)
    ref.it = start
    if start:                                 # a long run has a full window behind it
        window = rng.uniform(0.5, 2.0, (3, C))
        with mg.no_grad():
            m.buffer_x2.copy_(mg.tensor(window))
        ref.bx = window.copy()
    for step in range(8):
        scale = 8.0 if step == 5 else 1.0 + 0.1 * step          # one outlier batch
        x = rng.standard_normal((2, 3, C)) * scale
        gy = rng.standard_normal((2, 3, C))
        xt = t64(x)
        y = m(xt)
        (y * mg.tensor(gy)).sum().backward()
        ry, rdx, rdw, rdb = ref.step(x, m.weight.numpy(), m.bias.numpy(), gy)
        np.testing.assert_allclose(y.numpy(), ry, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(xt.grad.numpy(), rdx, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(m.weight.grad.numpy(), rdw, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(m.bias.grad.numpy(), rdb, rtol=1e-9)
        np.testing.assert_allclose(m.running_var.numpy(), ref.rv, rtol=1e-10)
        np.testing.assert_allclose(m.ema_gz.numpy(), ref.ema, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(m.buffer_x2.numpy(), ref.bx, rtol=1e-10)
        np.testing.assert_allclose(m.buffer_gz.numpy(), ref.bg, rtol=1e-9, atol=1e-12)
        m.zero_grad()
    assert int(m.skip_counter.item()) == ref.skips
    if filtration:
        assert ref.skips >= 1
    m.eval()
    x = rng.standard_normal((2, 3, C))
    np.testing.assert_allclose(m(t64(x, False)).numpy(), x / np.sqrt(ref.rv + 1e-5), rtol=1e-10)


def test_unified_norm_state_dict_and_errors():
    m = nn.UnifiedNorm(4, window_size=(3, 2))
    assert tuple(m.buffer_x2.shape) == (3, 4) and tuple(m.buffer_gz.shape) == (2, 4)
    names = {"running_var", "ema_gz", "buffer_x2", "buffer_gz", "iters", "skip_counter"}
    assert names <= set(m.state_dict())
    m(mg.randn(2, 3, 4))
    m2 = nn.UnifiedNorm(4, window_size=(3, 2))
    m2.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(m2.buffer_x2.numpy(), m.buffer_x2.numpy())
    with pytest.raises(ValueError, match="unified_norm: training needs the ema_gz"):
        F.unified_norm(mg.randn(3, 4), mg.ones(4), training=True)
    with pytest.raises(ValueError, match="unified_norm: buffer_x2 must have shape"):
        F.unified_norm(mg.randn(3, 4), mg.ones(4), mg.zeros(4), mg.zeros(3, 5), mg.zeros(3, 4),
                       training=True)
    y = F.unified_norm(mg.zeros(3, 4), mg.ones(4), mg.zeros(4), mg.zeros(2, 4), mg.zeros(2, 4),
                       training=True)
    assert np.isfinite(y.numpy()).all()


# ====================================================================== Online Norm
class OnlineNormReference:
    """Cerebras online-norm/numpy_on OnlineNorm2d: Norm2d, WeightScale, AddBias, ECM."""

    def __init__(self, C, afwd=0.999, abkw=0.99, eps=1e-5, ecm="ac", clamp=5.0, ls_eps=1e-5):
        self.m, self.var, self.u, self.v = np.zeros(C), np.ones(C), np.zeros(C), np.zeros(C)
        self.afwd, self.abkw, self.eps = afwd, abkw, eps
        self.ecm, self.clamp, self.ls_eps = ecm, clamp, ls_eps

    def step(self, x, w, b, gy):
        N, C = x.shape[:2]
        x3, g3 = x.reshape(N, C, -1), gy.reshape(N, C, -1)
        mu, var = x3.mean(axis=2), x3.var(axis=2)
        center, scale = np.empty((N, C)), np.empty((N, C))
        for i in range(N):
            center[i], scale[i] = self.m.copy(), np.sqrt(self.var + self.eps)
            self.var = (self.afwd * self.var + (1 - self.afwd) * var[i]
                        + self.afwd * (1 - self.afwd) * (mu[i] - self.m) ** 2)
            self.m = self.m + (1 - self.afwd) * (mu[i] - self.m)
        out = (x3 - center[:, :, None]) / scale[:, :, None]
        a = out * w[None, :, None] + b[None, :, None]
        if self.ecm == "ac":
            y = np.clip(a, -self.clamp, self.clamp)
            ga = np.where(np.abs(y) == self.clamp, 0.0, g3)
        else:
            s = np.sqrt((a ** 2).reshape(N, -1).mean(axis=1) + self.ls_eps)[:, None, None]
            y = a / s
            ga = (g3 - (g3 * y).reshape(N, -1).mean(axis=1)[:, None, None] * y) / s
        dw, db = (ga * out).sum(axis=(0, 2)), ga.sum(axis=(0, 2))
        go = ga * w[None, :, None]
        dx = np.empty_like(go)
        for i in range(N):
            grad = go[i] - (1 - self.abkw) * self.v[:, None] * out[i]
            self.v = self.v + (grad * out[i]).mean(axis=1)
            grad = grad / scale[i][:, None]
            dx[i] = grad - (1 - self.abkw) * self.u[:, None]
            self.u = self.u + dx[i].mean(axis=1)
        return y.reshape(x.shape), dx.reshape(x.shape), dw, db


@pytest.mark.parametrize("shape,ecm,cls", [((4, 3, 2, 3), "ac", nn.OnlineNorm2d),
                                           ((5, 3), "ls", nn.OnlineNorm1d),
                                           ((4, 2, 5), "ac", nn.OnlineNorm1d)])
def test_online_norm_replays_cerebras_reference(shape, ecm, cls):
    rng = np.random.default_rng(10)
    C = shape[1]
    # α_f = 0.5 moves the statistics fast enough that clamping and the streams matter
    m = cls(C, alpha_fwd=0.5, alpha_bkw=0.9, ecm=ecm, clamp_val=1.5).double()
    ref = OnlineNormReference(C, 0.5, 0.9, ecm=ecm, clamp=1.5)
    with mg.no_grad():
        m.weight.copy_(mg.tensor(rng.uniform(0.5, 1.5, C)))
        m.bias.copy_(mg.tensor(rng.standard_normal(C) * 0.2))
    for step in range(3):                    # the streams carry over between batches
        x = rng.standard_normal(shape) * 2 + 0.5
        gy = rng.standard_normal(shape)
        xt = t64(x)
        y = m(xt)
        (y * mg.tensor(gy)).sum().backward()
        ry, rdx, rdw, rdb = ref.step(x, m.weight.numpy(), m.bias.numpy(), gy)
        np.testing.assert_allclose(y.numpy(), ry, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(xt.grad.numpy(), rdx, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(m.weight.grad.numpy(), rdw, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(m.bias.grad.numpy(), rdb, rtol=1e-9, atol=1e-12)
        for name, val in (("running_mean", ref.m), ("running_var", ref.var), ("u", ref.u),
                          ("v", ref.v)):
            np.testing.assert_allclose(getattr(m, name).numpy(), val, rtol=1e-9, atol=1e-12)
        m.zero_grad()
    m.eval()
    x = rng.standard_normal(shape)
    y = m(t64(x, False)).numpy()
    sh = (1, C) + (1,) * (len(shape) - 2)
    a = ((x - ref.m.reshape(sh)) / np.sqrt(ref.var.reshape(sh) + 1e-5)
         * m.weight.numpy().reshape(sh) + m.bias.numpy().reshape(sh))
    if ecm == "ac":
        a = np.clip(a, -1.5, 1.5)
    else:
        rms = np.sqrt((a ** 2).reshape(len(x), -1).mean(axis=1) + 1e-5)
        a = a / rms.reshape((-1,) + (1,) * (len(shape) - 1))
    np.testing.assert_allclose(y, a, rtol=1e-10, atol=1e-12)
    sd = m.state_dict()
    assert {"running_mean", "running_var", "u", "v", "weight", "bias"} <= set(sd)
    m2 = cls(C, alpha_fwd=0.5, alpha_bkw=0.9, ecm=ecm, clamp_val=1.5).double()
    m2.load_state_dict(sd)
    m2.eval()
    np.testing.assert_allclose(m2(t64(x, False)).numpy(), y, rtol=1e-12)


def test_online_norm_batch_of_one_sample_independence_and_errors():
    rng = np.random.default_rng(11)
    m = nn.OnlineNorm2d(2)
    y = m(mg.tensor(rng.standard_normal((1, 2, 3, 3)).astype(np.float32)))
    assert y.dtype == mg.float32 and np.isfinite(y.numpy()).all()
    # sample t is normalized by statistics of samples before it only
    x = rng.standard_normal((4, 2, 3))
    a = F.online_norm(t64(x, False), mg.zeros(2).double(), mg.ones(2).double(), mg.zeros(2),
                      mg.zeros(2), training=True, ecm=None).numpy()
    x2 = x.copy()
    x2[3] += 100.0
    b = F.online_norm(t64(x2, False), mg.zeros(2).double(), mg.ones(2).double(), mg.zeros(2),
                      mg.zeros(2), training=True, ecm=None).numpy()
    np.testing.assert_allclose(a[:3], b[:3], rtol=1e-12)
    z = F.online_norm(t64(np.zeros((3, 2, 2))), mg.zeros(2).double(), mg.zeros(2).double(),
                      mg.zeros(2), mg.zeros(2), training=True, ecm="ls")
    assert np.isfinite(z.numpy()).all()
    with pytest.raises(ValueError, match="online_norm: training needs the u and v"):
        F.online_norm(mg.randn(3, 2), mg.zeros(2), mg.ones(2), training=True)
    with pytest.raises(ValueError, match="online_norm: ecm must be"):
        F.online_norm(mg.randn(3, 2), mg.zeros(2), mg.ones(2), ecm="bn")
    with pytest.raises(ValueError, match="online_norm: running_mean of shape"):
        F.online_norm(mg.randn(3, 2), mg.zeros(3), mg.ones(2))
    with pytest.raises(ValueError, match=r"OnlineNorm2d\(2\)"):
        nn.OnlineNorm2d(2)(mg.randn(3, 2))


# ====================================================================== MS-LayerNorm / MS-RMSNorm
@pytest.mark.parametrize("base", ["layer", "rms"])
def test_ms_norm_saves_output_not_input_and_matches_layer_rms_norm(base):
    rng = np.random.default_rng(12)
    x = t64(rng.standard_normal((3, 4, 5)))
    y = F.ms_norm(x, 5, base=base)
    node = y._node
    saved = node.ctx.saved_tensors
    assert saved[0] is y.data or np.shares_memory(saved[0], y.data)
    assert not any(np.shares_memory(s, x.data) for s in saved)
    assert saved[1].size == 12                    # one number per row
    x2 = t64(x.numpy())
    ref = F.layer_norm(x2, 5) if base == "layer" else F.rms_norm(x2, 5, eps=1e-5)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(y.shape)
    (y * mg.tensor(gy)).sum().backward()
    (ref * mg.tensor(gy)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_ms_norm_merged_affine_equals_layernorm_then_linear():
    rng = np.random.default_rng(13)
    ln, lin = nn.LayerNorm(6).double(), nn.Linear(6, 3).double()
    with mg.no_grad():
        ln.weight.copy_(mg.tensor(rng.uniform(0.5, 1.5, 6)))
        ln.bias.copy_(mg.tensor(rng.standard_normal(6)))
    x = t64(rng.standard_normal((4, 6)), False)
    expected = lin(ln(x)).numpy()
    from minigrad.layers.normalization import merge_norm_affine_into_linear
    merge_norm_affine_into_linear(lin, ln.weight, ln.bias)
    np.testing.assert_allclose(lin(nn.MSLayerNorm(6)(x)).numpy(), expected, rtol=1e-10)


def test_ms_norm_edges_and_errors():
    x = t64(np.full((2, 4), 7.0))
    y = F.ms_norm(x, 4)
    y.sum().backward()
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()
    y32 = nn.MSRMSNorm(4)(mg.tensor(np.full((2, 4), 1e18, dtype=np.float32)))
    assert y32.dtype == mg.float32
    np.testing.assert_allclose(y32.numpy(), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="ms_norm: base must be"):
        F.ms_norm(mg.randn(2, 4), 4, base="batch")
    with pytest.raises(ValueError, match=r"ms_norm: normalized_shape \(5,\)"):
        F.ms_norm(mg.randn(2, 4), 5)
