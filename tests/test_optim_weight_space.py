"""Weight-space procedures (minigrad.training.merging, minigrad.training.plasticity) against
hand computations in plain NumPy: soups, interpolation, task arithmetic, Fisher merging,
sparse model soups, shrink and perturb, Continual Backprop (against a naive transcription of
shibhansh/loss-of-plasticity lop/algos/gnt.py) and CoTTA's stochastic restoration, plus
state round-trips through minigrad.save/load for the stateful ones."""
import copy

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim, training
from minigrad.backends import to_numpy
from minigrad.layers.module import Module

TESTED = {"model_soup", "weight_interpolation", "task_arithmetic", "fisher_merging",
          "sparse_model_soup", "shrink_perturb", "continual_backprop", "cotta_restoration"}


class Net(Module):
    def __init__(self, dtype="float64", sizes=(3, 4, 2), bn=False):
        super().__init__()
        self.fc1 = nn.Linear(sizes[0], sizes[1], dtype=dtype)
        self.bn = nn.BatchNorm1d(sizes[1]) if bn else None
        self.fc2 = nn.Linear(sizes[1], sizes[2], dtype=dtype)
        if dtype == "float64":
            self.double()

    def forward(self, x):
        h = self.fc1(x)
        if self.bn is not None:
            h = self.bn(h)
        return self.fc2(h.relu())


def nets(k, dtype="float64", bn=False, seed=0):
    mg.manual_seed(seed)
    out = []
    for i in range(k):
        net = Net(dtype, bn=bn)
        if bn:   # distinct running statistics per model
            net.bn.running_mean.data[...] += i
            net.bn.num_batches_tracked.data[...] = 10 + i
        out.append(net)
    return out


def host(sd):
    return {k: to_numpy(v.data) for k, v in sd.items()}


# --------------------------------------------------------------------------- model soups
def test_O075_uniform_soup_is_the_mean_computed_by_hand(backend):
    models = nets(3, "float32", bn=True)
    soup = training.model_soup(models)
    hs = [host(m.state_dict()) for m in models]
    for k, v in soup.items():
        assert v.backend == backend and v.dtype == hs[0][k].dtype, k
        if hs[0][k].dtype.kind == "f":
            np.testing.assert_allclose(v.numpy(), (hs[0][k] + hs[1][k] + hs[2][k]) / 3,
                                       rtol=1e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(v.numpy(), hs[0][k])      # counters from the first
    # fresh tensors: changing the soup leaves the models alone
    soup["fc1.weight"].data[...] = 0
    assert np.abs(models[0].fc1.weight.numpy()).sum() > 0
    weighted = training.model_soup([m.state_dict() for m in models], weights=[0.5, 0.25, 0.25])
    np.testing.assert_allclose(weighted["fc2.bias"].numpy(),
                               0.5 * hs[0]["fc2.bias"] + 0.25 * (hs[1]["fc2.bias"]
                                                                 + hs[2]["fc2.bias"]), rtol=1e-6)


def test_O075_mismatched_state_dicts_raise_naming_keys_and_shapes():
    a, b = nets(2)
    sd = dict(b.state_dict())
    del sd["fc2.bias"]
    sd["extra"] = mg.tensor(np.zeros(2))
    with pytest.raises(KeyError, match=r"missing keys \['fc2.bias'\], unexpected keys \['extra'\]"):
        training.model_soup([a, sd])
    other = Net(sizes=(3, 5, 2))
    with pytest.raises(ValueError, match=r"'fc1.weight' has shape \(5, 3\) in model 1 but \(4, 3\)"):
        training.model_soup([a, other])
    with pytest.raises(TypeError, match="dtype float32"):
        training.model_soup([a, Net("float32")])
    with pytest.raises(ValueError, match="2 weights for 3 models"):
        training.model_soup([a, b, a], weights=[0.5, 0.5])
    with pytest.raises(TypeError, match="Module or a state dict"):
        training.model_soup([a, 3])


def scalar_models(values):
    return [{"w": mg.tensor(np.array([v], dtype=np.float64))} for v in values]


def test_O075_greedy_soup_selection_on_a_constructed_case():
    # the held-out score of a soup is −|w − 1|: models at 3.0 (would hurt), 0.95, 1.1, 0.88;
    # the given individual scores put 1.1 first.
    models = scalar_models([3.0, 0.95, 1.1, 0.88])
    scores = [-2.0, -0.05, -0.1 + 0.2, -0.1]      # best first: model 2, then 1, 3, 0
    calls = []

    def evaluate(sd):
        w = float(sd["w"].numpy()[0])
        calls.append(w)
        return -abs(w - 1.0)

    soup, ingredients, history = training.greedy_soup(models, evaluate, scores=scores,
                                                      return_ingredients=True)
    # by hand: start {1.1} (score 0.1 given); +0.95 → mean 1.025, score −0.025 < 0.1: rejected
    # (the given score of the first ingredient is the bar, as in the reference);
    # +0.88 → 0.99, score −0.01 < 0.1 rejected; +3.0 → 2.05 rejected.
    assert ingredients == [2] and [h[0] for h in history] == [2, 1, 3, 0]
    np.testing.assert_allclose(calls, [1.025, 0.99, 2.05])
    # with the scores measured by evaluate itself
    soup, ingredients, history = training.greedy_soup(models, evaluate, return_ingredients=True)
    # individual: 3.0 → −2, 0.95 → −0.05, 1.1 → −0.1, 0.88 → −0.12: order 1, 2, 3, 0
    # {0.95}: −0.05; +1.1 → 1.025 (−0.025) accept; +0.88 → (0.95+1.1+0.88)/3 = 0.97667
    # (−0.02333) accept; +3.0 → 1.4825 reject
    assert ingredients == [1, 2, 3]
    np.testing.assert_allclose(soup["w"].numpy(), [(0.95 + 1.1 + 0.88) / 3], rtol=1e-15)
    assert [h[2] for h in history] == [True, True, True, False]


def test_O075_greedy_soup_ties_follow_the_reference_or_the_paper():
    models = scalar_models([1.0, 1.0, 5.0])

    def evaluate(sd):
        return 0.0 if abs(float(sd["w"].numpy()[0]) - 1.0) < 1e-12 else -1.0

    _, strict, _ = training.greedy_soup(models, evaluate, scores=[0.0, 0.0, -1.0],
                                        return_ingredients=True)
    _, ties, _ = training.greedy_soup(models, evaluate, scores=[0.0, 0.0, -1.0],
                                      accept_ties=True, return_ingredients=True)
    assert strict == [0] and ties == [0, 1]


# ---------------------------------------------------------------------- interpolation
def test_O076_weight_interpolation_against_the_formula(backend):
    a, b = nets(2, "float32", bn=True)
    ha, hb = host(a.state_dict()), host(b.state_dict())
    for alpha in (0.0, 0.5, 0.3, 1.0):
        mixed = training.weight_interpolation(a, b, alpha)
        for k, v in mixed.items():
            assert v.dtype == ha[k].dtype and v.backend == backend
            expected = (1 - alpha) * ha[k] + alpha * hb[k] if ha[k].dtype.kind == "f" else ha[k]
            np.testing.assert_allclose(v.numpy(), expected, rtol=1e-6, atol=1e-7)
    sweep = training.interpolation_sweep(a, b, [0.0, 0.5, 1.0],
                                         lambda sd: float(sd["fc2.bias"].numpy()[0]))
    assert [s[0] for s in sweep] == [0.0, 0.5, 1.0]
    np.testing.assert_allclose([s[1] for s in sweep],
                               [ha["fc2.bias"][0], (ha["fc2.bias"][0] + hb["fc2.bias"][0]) / 2,
                                hb["fc2.bias"][0]], rtol=1e-6)
    with pytest.raises(ValueError, match="'fc2.weight' has shape"):
        training.weight_interpolation(a, Net("float32", sizes=(3, 4, 3), bn=True))


# ----------------------------------------------------------------------- task arithmetic
def test_O079_task_arithmetic_against_the_hand_sum(backend):
    base, t1, t2 = nets(3)
    h0, h1, h2 = host(base.state_dict()), host(t1.state_dict()), host(t2.state_dict())
    merged = training.task_arithmetic(base, [t1, t2], scaling=[0.7, -0.2])
    for k, v in merged.items():
        np.testing.assert_allclose(v.numpy(), h0[k] + 0.7 * (h1[k] - h0[k]) - 0.2 * (h2[k] - h0[k]),
                                   rtol=1e-13, atol=1e-14)
    # a single model and one scale; RWS-style patch of the first layer only
    patched = training.task_arithmetic(base, t1, scaling=0.5, keys=["fc1.weight", "fc1.bias"])
    np.testing.assert_allclose(patched["fc1.weight"].numpy(),
                               h0["fc1.weight"] + 0.5 * (h1["fc1.weight"] - h0["fc1.weight"]))
    np.testing.assert_array_equal(patched["fc2.weight"].numpy(), h0["fc2.weight"])
    tau = training.task_vector(base, t1)
    np.testing.assert_allclose(tau["fc2.bias"].numpy(), h1["fc2.bias"] - h0["fc2.bias"])
    with pytest.raises(KeyError, match="nope"):
        training.task_arithmetic(base, t1, keys=["nope"])
    with pytest.raises(ValueError, match="1 scaling coefficients for 2 models"):
        training.task_arithmetic(base, [t1, t2], scaling=[1.0])


# ------------------------------------------------------------------------ Fisher merging
def softmax_np(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def fisher_of_linear(W, b, x, labels=None, probs_weighted=True):
    """Diagonal Fisher of a softmax-linear classifier, example by example, class by class:
    ∇_W log p(c|x) = (e_c − p) xᵀ, ∇_b log p(c|x) = e_c − p."""
    p = softmax_np(x @ W.T + b)
    FW, Fb = np.zeros_like(W), np.zeros_like(b)
    for n in range(x.shape[0]):
        classes = range(W.shape[0]) if labels is None else [labels[n]]
        for c in classes:
            e = np.zeros(W.shape[0])
            e[c] = 1.0
            gb = e - p[n]
            gW = np.outer(gb, x[n])
            weight = p[n, c] if labels is None else 1.0
            FW += weight * gW ** 2
            Fb += weight * gb ** 2
    return FW / x.shape[0], Fb / x.shape[0]


def test_O078_diagonal_fisher_against_the_closed_form(backend):
    mg.manual_seed(1)
    model = nn.Linear(4, 3, dtype="float64")
    r = np.random.default_rng(2)
    x = r.standard_normal((6, 4))
    W, b = model.weight.numpy(), model.bias.numpy()
    exact = training.diagonal_fisher(model, mg.tensor(x))
    FW, Fb = fisher_of_linear(W, b, x)
    np.testing.assert_allclose(exact["weight"].numpy(), FW, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(exact["bias"].numpy(), Fb, rtol=1e-10, atol=1e-14)
    assert exact["weight"].backend == backend
    y = np.array([0, 2, 1, 1, 0, 2])
    emp = training.diagonal_fisher(model, mg.tensor(x), variant="empirical", y=mg.tensor(y))
    FW, Fb = fisher_of_linear(W, b, x, labels=y)
    np.testing.assert_allclose(emp["weight"].numpy(), FW, rtol=1e-10, atol=1e-14)
    # sampled labels: inverse-CDF draws from the same NumPy stream
    sampled = training.diagonal_fisher(model, mg.tensor(x), variant="sample",
                                       generator=mg.HostGenerator(5))
    u = np.random.default_rng(5).random((6, 1))
    labels = np.minimum((np.cumsum(softmax_np(x @ W.T + b), axis=1) < u).sum(axis=1), 2)
    FW, Fb = fisher_of_linear(W, b, x, labels=labels)
    np.testing.assert_allclose(sampled["bias"].numpy(), Fb, rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="needs the labels"):
        training.diagonal_fisher(model, mg.tensor(x), variant="empirical")


def test_O078_diagonal_fisher_of_an_mlp_loop_equals_vectorized():
    model = nets(1)[0]
    x = mg.tensor(np.random.default_rng(0).standard_normal((5, 3)))
    fast = training.diagonal_fisher(model, x)
    slow = training.diagonal_fisher(model, x, method="loop")
    for k in fast:
        np.testing.assert_allclose(fast[k].numpy(), slow[k].numpy(), rtol=1e-10, atol=1e-15)


def test_O078_merging_two_classifiers_with_their_own_fishers(backend):
    mg.manual_seed(2)
    a, b = nn.Linear(4, 3, dtype="float64"), nn.Linear(4, 3, dtype="float64")
    x = np.random.default_rng(3).standard_normal((7, 4))
    fa, fb = (training.diagonal_fisher(m, mg.tensor(x)) for m in (a, b))
    merged = training.fisher_merging([a, b], [fa, fb], normalize_fishers=False)
    (FWa, Fba), (FWb, Fbb) = (fisher_of_linear(m.weight.numpy(), m.bias.numpy(), x)
                              for m in (a, b))
    FWa = np.maximum(FWa, 1e-6)
    np.testing.assert_allclose(merged["weight"].numpy(),
                               (FWa * a.weight.numpy() + FWb * b.weight.numpy()) / (FWa + FWb),
                               rtol=1e-10)
    a32 = nn.Linear(4, 3)
    f32 = training.diagonal_fisher(a32, mg.tensor(x.astype(np.float32)))
    assert f32["weight"].dtype == np.float32 and f32["weight"].backend == backend


def test_O078_fisher_merging_against_the_reference_formula(backend):
    models = nets(3, bn=True)
    hs = [host(m.state_dict()) for m in models]
    r = np.random.default_rng(4)
    keys = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    fishers = [{k: r.random(hs[0][k].shape) ** 3 for k in keys} for _ in models]
    fishers[0]["fc2.bias"][0] = 0.0          # floored for the target model
    fishers[1]["fc2.bias"][0] = 0.0          # not floored for a donor (favor_target_model)
    lam = [0.5, 0.3, 0.2]
    merged = training.fisher_merging(models, [{k: mg.tensor(v) for k, v in f.items()}
                                              for f in fishers], coefficients=lam)
    norms = [np.sqrt(sum((f[k] ** 2).sum() for k in keys)) for f in fishers]
    for k in keys:
        num = den = 0.0
        for i in range(3):
            diag = np.maximum(fishers[i][k], 1e-6) if i == 0 else fishers[i][k]
            c = lam[i] / norms[i]
            num, den = num + c * diag * hs[i][k], den + c * diag
        np.testing.assert_allclose(merged[k].numpy(), num / den, rtol=1e-12)
    # buffers without a Fisher: the coefficient-weighted average; counters copied
    np.testing.assert_allclose(merged["bn.running_mean"].numpy(),
                               sum(l * h["bn.running_mean"] for l, h in zip(lam, hs)), rtol=1e-12)
    assert int(merged["bn.num_batches_tracked"].numpy()) == 10
    # plain options: every Fisher floored, no normalization, uniform coefficients
    plain = training.fisher_merging(models, fishers, favor_target_model=False,
                                    normalize_fishers=False, fisher_floor=1e-3)
    for k in keys:
        d = [np.maximum(f[k], 1e-3) for f in fishers]
        np.testing.assert_allclose(plain[k].numpy(),
                                   sum(di * h[k] for di, h in zip(d, hs)) / sum(d), rtol=1e-12)
    # all-equal Fishers: plain averaging
    ones = [{k: np.ones(hs[0][k].shape) for k in keys} for _ in models]
    avg = training.fisher_merging(models, ones, normalize_fishers=False)
    np.testing.assert_allclose(avg["fc1.weight"].numpy(),
                               sum(h["fc1.weight"] for h in hs) / 3, rtol=1e-12)
    bad = [dict(f) for f in fishers]
    bad[1] = dict(bad[1], **{"fc1.bias": np.ones(5)})
    with pytest.raises(ValueError, match=r"'fc1.bias' has shape \(5,\) in Fisher 1"):
        training.fisher_merging(models, bad)
    with pytest.raises(ValueError, match="2 Fishers for 3 models"):
        training.fisher_merging(models, fishers[:2])


# --------------------------------------------------------------------- sparse model soups
def naive_global_prune(arrays, amount, masks):
    """Rank every alive entry of every tensor by |w| (position breaks ties), drop the
    round(amount·alive) smallest."""
    entries = []
    for ti, (a, m) in enumerate(zip(arrays, masks)):
        for j in range(a.size):
            if m.ravel()[j]:
                entries.append((abs(a.ravel()[j]), ti, j))
    count = int(round(amount * len(entries)))
    out = [m.copy() for m in masks]
    for _, ti, j in sorted(entries, key=lambda e: e[0])[:count]:
        out[ti].ravel()[j] = False
    return out


def test_O081_global_magnitude_masks_against_a_naive_ranking(backend):
    model = nets(1, bn=True)[0]
    keys = training.prunable_weights(model)
    assert keys == ["fc1.weight", "fc2.weight"]               # BatchNorm's weight is not pruned
    arrays = [model.state_dict()[k].numpy() for k in keys]
    masks = training.magnitude_prune_masks(model, 0.5)
    expected = naive_global_prune(arrays, 0.5, [np.ones(a.shape, bool) for a in arrays])
    for k, e in zip(keys, expected):
        np.testing.assert_array_equal(to_numpy(masks[k]), e)
    # second phase: the amount is a fraction of the entries still alive
    masks2 = training.magnitude_prune_masks(model, 0.5, masks)
    expected2 = naive_global_prune(arrays, 0.5, expected)
    for k, e in zip(keys, expected2):
        np.testing.assert_array_equal(to_numpy(masks2[k]), e)
    assert sum(int(e.sum()) for e in expected2) == 20 - 10 - 5
    uniform = training.magnitude_prune_masks(model, 0.25, selector="uniform")
    for k, a in zip(keys, arrays):
        e = naive_global_prune([a], 0.25, [np.ones(a.shape, bool)])[0]
        np.testing.assert_array_equal(to_numpy(uniform[k]), e)


def test_O081_sparse_soup_keeps_exactly_the_masks_zeros(backend):
    base = nets(1, "float32")[0]
    masks = training.magnitude_prune_masks(base, 0.6)
    r = np.random.default_rng(0)
    states = []
    for i in range(3):
        m = copy.deepcopy(base)
        for p in m.parameters():     # retrained copies differ, pruned entries drifted too
            p.data += mg.tensor(r.standard_normal(p.shape).astype(np.float32)).data
        states.append(m.state_dict())
    soup = training.sparse_model_soup(states, masks)
    for k, v in soup.items():
        hs = [to_numpy(s[k].data) for s in states]
        m = to_numpy(masks[k]) if k in masks else np.ones(hs[0].shape, bool)
        assert v.dtype == np.float32 and v.backend == backend
        np.testing.assert_allclose(v.numpy(), sum(h * m for h in hs) / 3, rtol=1e-6, atol=1e-7)
        if k in masks:
            assert np.all(v.numpy()[~m] == 0) and np.all(v.numpy()[m] != 0)
    greedy = training.sparse_model_soup(states, masks, evaluate=lambda sd: 0.0,
                                        scores=[0.0, 0.0, 0.0])
    # every candidate ties: SMS's GreedySoup (≥) keeps them all
    np.testing.assert_allclose(greedy["fc1.weight"].numpy(), soup["fc1.weight"].numpy(),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="mask of 'fc1.weight' has shape"):
        training.sparse_model_soup(states, {"fc1.weight": np.ones((2, 2), bool)})


def test_O081_the_phases_reach_the_goal_sparsity_and_soup_every_phase():
    model = nets(1)[0]
    seen = []

    def retrain(m, masks, phase, j):
        for k, t in m.state_dict().items():
            t.data += 0.1 * (j + 1) * phase
        training.apply_masks(m, masks)
        seen.append((phase, j))
        return m

    model, masks = training.sparse_model_soup_phases(model, retrain, num_models=2, phases=2,
                                                     sparsity=0.75)
    assert seen == [(1, 0), (1, 1), (2, 0), (2, 1)]
    alive = sum(int(to_numpy(m).sum()) for m in masks.values())
    # 20 prunable weights, 1 − √0.25 = 0.5 of the alive ones per phase: 20 → 10 → 5
    assert alive == 5
    for k, m in masks.items():
        assert np.all(model.state_dict()[k].numpy()[~to_numpy(m)] == 0)


# ---------------------------------------------------------------------- shrink and perturb
def test_O085_shrink_perturb_against_the_formula(backend):
    model = nets(1, "float32")[0]
    before = [p.numpy().copy() for p in model.parameters()]
    training.shrink_perturb(model.parameters(), shrink=0.1, noise_std=0.01,
                            generator=mg.HostGenerator(3))
    rng = np.random.default_rng(3)
    for p, b in zip(model.parameters(), before):
        assert p.dtype == np.float32 and p.backend == backend
        expected = 0.9 * b + 0.01 * rng.standard_normal(b.shape).astype(np.float32)
        np.testing.assert_allclose(p.numpy(), expected, rtol=1e-6, atol=1e-7)
    same = [p.numpy().copy() for p in model.parameters()]
    training.shrink_perturb(model.parameters(), 0.0, 0.0)
    for p, s in zip(model.parameters(), same):
        np.testing.assert_array_equal(p.numpy(), s)
    with pytest.raises(ValueError, match="shrink must be in"):
        training.shrink_perturb(model.parameters(), 1.5, 0.1)
    with pytest.raises(ValueError, match="noise_std must be"):
        training.shrink_perturb(model.parameters(), 0.1, -1.0)


# ---------------------------------------------------------------------- continual backprop
class RefGnT:
    """lop/algos/gnt.py (GnT, util_type 'contribution'), transcribed unit by unit in float64."""

    def __init__(self, Ws, bs, rho, eta, m, bounds, accumulate, bias_correction, seed):
        self.Ws, self.bs = Ws, bs
        self.rho, self.eta, self.m, self.bounds = rho, eta, m, bounds
        self.accumulate, self.bias_correction = accumulate, bias_correction
        self.rng = np.random.default_rng(seed)
        sizes = [W.shape[0] for W in Ws[:-1]]
        self.u = [np.zeros(n) for n in sizes]
        self.bcu = [np.zeros(n) for n in sizes]
        self.f = [np.zeros(n) for n in sizes]
        self.age = [np.zeros(n, int) for n in sizes]
        self.acc = [0.0 for _ in sizes]

    def step(self, features):
        picks = []
        for l, h in enumerate(features):
            n = len(self.u[l])
            W_next = self.Ws[l + 1]
            for i in range(n):
                self.age[l][i] += 1
                bc = 1 - self.eta ** self.age[l][i]
                self.u[l][i] *= self.eta
                self.f[l][i] = self.eta * self.f[l][i] + (1 - self.eta) * np.mean(h[:, i])
                out_mag = np.mean([abs(W_next[k, i]) for k in range(W_next.shape[0])])
                y = out_mag * np.mean(np.abs(h[:, i]))
                self.u[l][i] += (1 - self.eta) * y
                self.bcu[l][i] = self.u[l][i] / bc
            eligible = [i for i in range(n) if self.age[l][i] > self.m]
            if not eligible:
                picks.append([])
                continue
            r = self.rho * len(eligible)
            self.acc[l] += r
            if self.accumulate:
                count = int(self.acc[l])
                self.acc[l] -= count
            else:
                if r < 1 and self.rng.random((1,))[0] <= r:
                    r = 1
                count = int(r)
            ranked = sorted(eligible, key=lambda i: (self.bcu[l][i], i))
            picks.append(ranked[:count])
        for l, pick in enumerate(picks):
            if not pick:
                continue
            W, Wn = self.Ws[l], self.Ws[l + 1]
            draw = self.rng.random((len(pick), W.shape[1]))
            for row, i in enumerate(pick):
                if self.bias_correction:
                    mean = self.f[l][i] / (1 - self.eta ** self.age[l][i])
                    self.bs[l + 1] += Wn[:, i] * mean
                self.u[l][i] = 0.0
                self.f[l][i] = 0.0
                W[i, :] = draw[row] * 2 * self.bounds[l] - self.bounds[l]
                self.bs[l][i] = 0.0
                Wn[:, i] = 0.0
                self.age[l][i] = 0
        return picks


def cbp_net(dtype="float64"):
    mg.manual_seed(0)
    return [nn.Linear(3, 6, dtype=dtype), nn.Linear(6, 5, dtype=dtype), nn.Linear(5, 2, dtype=dtype)]


def feature_log(steps):
    r = np.random.default_rng(11)
    return [[np.maximum(r.standard_normal((4, 6)), 0), np.maximum(r.standard_normal((4, 5)), 0)]
            for _ in range(steps)]


def drift(layers, t):
    """A stand-in for the optimizer's step, the same on both sides."""
    for k, layer in enumerate(layers):
        for p in (layer.weight, layer.bias):
            idx = np.arange(p.numel()).reshape(p.shape)
            p.data[...] = p.data * 0.97 + mg.tensor(0.05 * np.sin(t + idx + k)).data.astype(p.dtype)


@pytest.mark.parametrize("cfg", [dict(replacement_rate=0.2, accumulate=True),
                                 dict(replacement_rate=0.1, accumulate=False),
                                 dict(replacement_rate=0.5, accumulate=False,
                                      next_bias_correction=True, decay_rate=0.9)])
def test_O084_continual_backprop_replaces_the_units_a_naive_loop_replaces(backend, cfg):
    layers = cbp_net()
    cbp = training.ContinualBackprop(layers, maturity_threshold=2, generator=mg.HostGenerator(7),
                                     **dict(dict(decay_rate=0.99), **cfg))
    ref = RefGnT([l.weight.numpy().copy() for l in layers], [l.bias.numpy().copy() for l in layers],
                 cfg["replacement_rate"], cfg.get("decay_rate", 0.99), 2, cbp.bounds,
                 cfg["accumulate"], cfg.get("next_bias_correction", False), 7)
    assert np.isclose(cbp.bounds[0], np.sqrt(2) * np.sqrt(3 / 3))      # kaiming, relu gain
    replaced = 0
    for t, feats in enumerate(feature_log(12)):
        drift(layers, t)
        for k, layer in enumerate(layers):
            ref.Ws[k][...] = layer.weight.numpy()
            ref.bs[k][...] = layer.bias.numpy()
        got = cbp.step([mg.tensor(f) for f in feats])
        want = ref.step(feats)
        assert [sorted(to_numpy(g).tolist()) for g in got] == [sorted(w) for w in want], t
        replaced += sum(len(w) for w in want)
        for k, layer in enumerate(layers):
            np.testing.assert_allclose(layer.weight.numpy(), ref.Ws[k], rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(layer.bias.numpy(), ref.bs[k], rtol=1e-12, atol=1e-14)
        for l in range(2):
            np.testing.assert_allclose(to_numpy(cbp.util[l]), ref.u[l], rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(to_numpy(cbp.bias_corrected_util[l]), ref.bcu[l],
                                       rtol=1e-12, atol=1e-15)
            np.testing.assert_array_equal(to_numpy(cbp.ages[l]), ref.age[l])
    assert replaced >= 3


def test_O084_continual_backprop_resets_the_optimizer_state_and_keeps_float32(backend):
    layers = cbp_net("float32")
    params = [p for l in layers for p in l.parameters()]
    opt = optim.Adam(params, lr=1e-2)
    cbp = training.ContinualBackprop(layers, optimizer=opt, replacement_rate=0.3,
                                     maturity_threshold=1, accumulate=True)
    r = np.random.default_rng(0)
    x = mg.tensor(r.standard_normal((8, 3)).astype(np.float32))
    chosen = None
    for _ in range(4):
        h1 = layers[0](x).relu()
        h2 = layers[1](h1).relu()
        loss = (layers[2](h2) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        chosen = cbp.step([h1.detach(), h2.detach()])
        if any(c.size for c in chosen):
            break
    l = next(i for i, c in enumerate(chosen) if c.size)
    pick = to_numpy(chosen[l])
    for key in ("exp_avg", "rms"):
        assert np.all(to_numpy(opt.state[layers[l].weight][key])[pick, :] == 0)
        assert np.all(to_numpy(opt.state[layers[l].bias][key])[pick] == 0)
        assert np.all(to_numpy(opt.state[layers[l + 1].weight][key])[:, pick] == 0)
    # outgoing weights are zero, except in rows of the next layer's own replaced units
    # (re-drawn after, as in gnt.py)
    rows = np.setdiff1d(np.arange(layers[l + 1].weight.shape[0]),
                        to_numpy(chosen[l + 1]) if l + 1 < len(chosen) else [])
    assert np.all(layers[l + 1].weight.numpy()[rows][:, pick] == 0)
    for layer in layers:
        assert layer.weight.dtype == np.float32 and layer.weight.backend == backend
    assert all(u.dtype == np.float32 for u in cbp.util)


def _cbp_run(layers, cbp, feats, start):
    for t, f in enumerate(feats, start):
        drift(layers, t)
        cbp.step([mg.tensor(a) for a in f])
    return [l.weight.numpy().copy() for l in layers] + [l.bias.numpy().copy() for l in layers]


def test_O084_state_round_trip_continues_identically(tmp_path):
    feats = feature_log(10)
    cfg = dict(replacement_rate=0.1, maturity_threshold=2, accumulate=False)
    layers = cbp_net()
    full = _cbp_run(layers, training.ContinualBackprop(layers, generator=mg.Generator().manual_seed(3),
                                                       **cfg), feats, 0)
    layers = cbp_net()
    cbp = training.ContinualBackprop(layers, generator=mg.Generator().manual_seed(3), **cfg)
    _cbp_run(layers, cbp, feats[:4], 0)
    mg.save({"cbp": cbp.state_dict(), "model": [l.state_dict() for l in layers]},
            str(tmp_path / "cbp.npz"))
    saved = mg.load(str(tmp_path / "cbp.npz"))
    fresh = cbp_net()
    for l, sd in zip(fresh, saved["model"]):
        l.load_state_dict(sd)
    resumed = training.ContinualBackprop(fresh, generator=mg.Generator().manual_seed(99), **cfg)
    resumed.load_state_dict(saved["cbp"])
    rest = _cbp_run(fresh, resumed, feats[4:], 4)
    for a, b in zip(rest, full):
        np.testing.assert_array_equal(a, b)


def test_O084_bad_options_and_inputs_raise():
    layers = cbp_net()
    with pytest.raises(ValueError, match="out_features of one must be the in_features"):
        training.ContinualBackprop([layers[0], layers[2]])
    with pytest.raises(ValueError, match="util_type"):
        training.ContinualBackprop(layers, util_type="magic")
    with pytest.raises(ValueError, match="decay_rate"):
        training.ContinualBackprop(layers, decay_rate=1.0)
    cbp = training.ContinualBackprop(layers)
    with pytest.raises(ValueError, match=r"hidden layer 1 have shape \(4, 3\), expected \(batch, 5\)"):
        cbp.step([mg.tensor(np.ones((4, 6))), mg.tensor(np.ones((4, 3)))])
    with pytest.raises(ValueError, match="1 feature arrays for 2 hidden layers"):
        cbp.step([mg.tensor(np.ones((4, 6)))])


# ------------------------------------------------------------------------ CoTTA restoration
def test_O083_restoration_against_the_formula(backend):
    model = nets(1, "float32", bn=True)[0]
    source = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    rest = training.CoTTARestoration(model, restore_prob=0.3, generator=mg.HostGenerator(1))
    assert list(rest.params) == ["fc1.weight", "fc1.bias", "bn.weight", "bn.bias",
                                 "fc2.weight", "fc2.bias"]
    for p in model.parameters():
        p.data += 1.0                                  # the adaptation moved every weight
    moved = {k: p.numpy().copy() for k, p in rest.params.items()}
    rest.restore()
    rng = np.random.default_rng(1)
    for k, p in rest.params.items():
        m = rng.random(p.shape) < 0.3
        np.testing.assert_array_equal(p.numpy(), np.where(m, source[k], moved[k]))
        assert p.dtype == np.float32 and p.backend == backend
    np.testing.assert_array_equal(model.bn.running_mean.numpy(), source["bn.running_mean"])
    rest.reset()
    for k, p in rest.params.items():
        np.testing.assert_array_equal(p.numpy(), source[k])
    with pytest.raises(ValueError, match="restore_prob"):
        training.CoTTARestoration(model, restore_prob=2.0)


def test_O083_state_round_trip_continues_identically(tmp_path):
    def adapt(model, t):
        for k, p in enumerate(model.parameters()):
            p.data += 0.1 * np.sin(t + k)

    model = nets(1)[0]
    rest = training.CoTTARestoration(model, generator=mg.HostGenerator(4), restore_prob=0.2)
    for t in range(6):
        adapt(model, t)
        rest.restore()
    full = [p.numpy().copy() for p in model.parameters()]

    model = nets(1)[0]
    rest = training.CoTTARestoration(model, generator=mg.HostGenerator(4), restore_prob=0.2)
    for t in range(2):
        adapt(model, t)
        rest.restore()
    mg.save({"cotta": rest.state_dict(), "model": model.state_dict()}, str(tmp_path / "c.npz"))
    saved = mg.load(str(tmp_path / "c.npz"))
    fresh = nets(1, seed=5)[0]                 # other weights: all comes from the checkpoint
    fresh.load_state_dict(saved["model"])
    resumed = training.CoTTARestoration(fresh, generator=mg.HostGenerator(0), restore_prob=0.2)
    resumed.load_state_dict(saved["cotta"])
    for t in range(2, 6):
        adapt(fresh, t)
        resumed.restore()
    for p, e in zip(fresh.parameters(), full):
        np.testing.assert_array_equal(p.numpy(), e)
