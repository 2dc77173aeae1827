"""Loss-specific behaviour the shared harness does not cover: reductions, cross-entropy's
errors and edge cases, batches without a valid pair or triplet, Module ↔ functional
agreement, the ECE metric, temperature fitting, the documented non-gradient rules
(center updates, SphereFace's λ schedule, sub-center cleaning), the adversarial losses on a
real Module, and (where PyTorch is installed) agreement with PyTorch's losses.
Gradients and forwards of every case are checked by tests/test_registry.py."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import F, nn
from minigrad.registry import entries


def t(a, grad=False):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def finite_grad(x):
    assert x.grad is not None
    g = x.grad.numpy()
    assert np.isfinite(g).all()
    return g


@pytest.fixture
def r():
    return np.random.default_rng(3)


# ------------------------------------------------------------------ registry coverage
def test_every_core_loss_row_is_registered():
    import json
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[2] / "shared" / "catalog" / "losses.json"
    if not path.exists():
        pytest.skip("the catalog (../shared/catalog) is not next to the repository")
    rows = json.loads(path.read_text())
    core = {row["id"]: row for row in rows if row["priority"] == "core"}
    registered = {e.catalog_id: e for e in entries(kind="loss")}
    for cid, row in core.items():
        assert cid in registered, f"{cid} ({row['api']}) is not registered"
        entry = registered[cid]
        assert entry.name == row["api"]
        assert set(row["papers"]) <= set(entry.papers), f"{cid}: papers differ"
        assert entry.module is not None, f"{cid}: no Module"


def test_functional_and_module_names_are_exported():
    from minigrad.layers import losses
    for name in losses.__all__:
        holder = F if name[0].islower() else nn
        assert getattr(holder, name) is getattr(losses, name), name


# ------------------------------------------------------------------ reductions
REDUCIBLE = [
    ("cross_entropy", lambda r: (t(r.standard_normal((5, 4)), True), r.integers(0, 4, 5)), {}),
    ("bce_with_logits", lambda r: (t(r.standard_normal((4, 3)), True), r.random((4, 3))), {}),
    ("softmax_focal_loss", lambda r: (t(r.standard_normal((5, 4)), True), r.integers(0, 4, 5)), {}),
    ("kl_div_loss", lambda r: (t(r.standard_normal((3, 4)), True), r.random((3, 4))), {}),
    ("hinge_loss", lambda r: (t(r.standard_normal(6), True), r.choice([-1, 1], 6)), {}),
    ("crammer_singer_hinge_loss", lambda r: (t(r.standard_normal((5, 3)), True), r.integers(0, 3, 5)), {}),
    ("weston_watkins_hinge_loss", lambda r: (t(r.standard_normal((5, 3)), True), r.integers(0, 3, 5)), {}),
    ("entropy_loss", lambda r: (t(r.standard_normal((4, 3)), True),), {}),
    ("asymmetric_loss", lambda r: (t(r.standard_normal((4, 3)), True), r.integers(0, 2, (4, 3))), {}),
    ("mse_loss", lambda r: (t(r.standard_normal((3, 4)), True), r.standard_normal((3, 4))), {}),
    ("l1_loss", lambda r: (t(r.standard_normal((3, 4)), True), r.standard_normal((3, 4))), {}),
    ("huber_loss", lambda r: (t(r.standard_normal((3, 4)), True), r.standard_normal((3, 4))), {}),
    ("log_cosh_loss", lambda r: (t(r.standard_normal((3, 4)), True), r.standard_normal((3, 4))), {}),
    ("quantile_loss", lambda r: (t(r.standard_normal((3, 4)), True), r.standard_normal((3, 4))), {}),
    ("contrastive_pair_loss", lambda r: (t(r.standard_normal((5, 3)), True), np.array([0, 0, 1, 1, 2])), {}),
    ("triplet_margin_loss", lambda r: (t(r.standard_normal((6, 3)), True), np.array([0, 0, 1, 1, 2, 2])),
     {"margin": 0.5}),
    ("info_nce_loss", lambda r: (t(r.standard_normal((3, 4)), True), t(r.standard_normal((3, 4)))), {}),
    ("gaussian_kl_loss", lambda r: (t(r.standard_normal((3, 2)), True), t(r.standard_normal((3, 2)))), {}),
    ("dice_loss", lambda r: (t(r.standard_normal((2, 3, 4)), True), r.integers(0, 3, (2, 4))), {}),
    ("iou_loss", lambda r: (t([[0, 0, 2, 2.], [1, 1, 3, 4.]], True), t([[0.5, 0.2, 2, 3.], [1, 0, 2, 2.]])), {}),
]


@pytest.mark.parametrize("name,make,kw", REDUCIBLE, ids=[c[0] for c in REDUCIBLE])
def test_reductions_agree(name, make, kw, r):
    fn = getattr(F, name)
    args = make(r)
    none = fn(*args, reduction="none", **kw).numpy()
    total = fn(*args, reduction="sum", **kw).item()
    mean = fn(*args, reduction="mean", **kw).item()
    assert np.isclose(total, none.sum())
    assert np.isclose(mean, none.mean())
    with pytest.raises(ValueError, match=name):
        fn(*args, reduction="average", **kw)


def test_weighted_cross_entropy_mean_divides_by_the_summed_weights(r):
    z, y, w = r.standard_normal((6, 3)), r.integers(0, 3, 6), np.array([0.5, 2.0, 1.0])
    none = F.cross_entropy(t(z), y, weight=w, reduction="none").numpy()
    mean = F.cross_entropy(t(z), y, weight=w).item()
    assert np.isclose(mean, none.sum() / w[y].sum())


# ------------------------------------------------------------------ cross-entropy errors
def test_cross_entropy_float_class_indices_is_a_clear_error(r):
    with pytest.raises(TypeError) as err:
        F.cross_entropy(t(r.standard_normal((4, 3))), np.array([0.0, 1.0, 2.0, 1.0]))
    msg = str(err.value)
    assert "cross_entropy" in msg and "float64" in msg and "(4, 3)" in msg and "[0, 3)" in msg


def test_cross_entropy_integer_probabilities_is_a_clear_error(r):
    with pytest.raises(TypeError) as err:
        F.cross_entropy(t(r.standard_normal((4, 3))), np.ones((4, 3), dtype=np.int64))
    msg = str(err.value)
    assert "cross_entropy" in msg and "int64" in msg and "(4, 3)" in msg and "(4,)" in msg


def test_cross_entropy_out_of_range_names_the_valid_range(r):
    for bad in (3, -1, -7):
        with pytest.raises(IndexError) as err:
            F.cross_entropy(t(r.standard_normal((4, 3))), np.array([0, 1, bad, 2]))
        msg = str(err.value)
        assert "cross_entropy" in msg and f"value {bad}" in msg and "[0, 3)" in msg


def test_cross_entropy_shape_mismatch(r):
    with pytest.raises(ValueError) as err:
        F.cross_entropy(t(r.standard_normal((4, 3))), np.array([0, 1, 2]))
    msg = str(err.value)
    assert "cross_entropy" in msg and "(3,)" in msg and "(4, 3)" in msg and "(4,)" in msg
    with pytest.raises(ValueError, match=r"cross_entropy: floating-point target of shape \(4, 2\)"):
        F.cross_entropy(t(r.standard_normal((4, 3))), r.random((4, 2)))
    with pytest.raises(ValueError, match="weight of shape"):
        F.cross_entropy(t(r.standard_normal((4, 3))), np.array([0, 1, 2, 0]), weight=np.ones(4))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(t(r.standard_normal((4, 3))), np.array([0, 1, 2, 0]), label_smoothing=1.5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_is_stable_for_huge_logits(dtype):
    z = mg.tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0], [5e3, 5e3, -1e4]], dtype=dtype),
                  requires_grad=True)
    loss = F.cross_entropy(z, np.array([1, 0, 2]), label_smoothing=0.1)
    loss.backward()
    assert loss.dtype == dtype and z.grad.dtype == dtype
    assert np.isfinite(loss.item())
    g = finite_grad(z)
    assert np.allclose(g.sum(axis=1), 0, atol=1e-6)         # softmax − target rows sum to 0
    plain = F.cross_entropy(mg.tensor(np.array([[1e4, -1e4]], dtype=dtype)), np.array([1]))
    assert np.isclose(plain.item(), 2e4, rtol=1e-6)


def test_cross_entropy_all_ignored_batch_returns_zero_without_nan(r):
    z = t(r.standard_normal((3, 4)), True)
    loss = F.cross_entropy(z, np.array([-100, -100, -100]))
    loss.backward()
    assert loss.item() == 0.0                               # PyTorch returns NaN here
    assert (finite_grad(z) == 0).all()
    z2 = t(r.standard_normal((3, 4)), True)
    F.cross_entropy(z2, np.array([5, 5, 5]), ignore_index=5, weight=np.ones(4),
                    label_smoothing=0.2).backward()
    assert (finite_grad(z2) == 0).all()


def test_cross_entropy_ignored_rows_get_no_gradient(r):
    z = t(r.standard_normal((4, 3)), True)
    F.cross_entropy(z, np.array([0, -100, 2, -100]), label_smoothing=0.1).backward()
    g = finite_grad(z)
    assert (g[[1, 3]] == 0).all() and (g[[0, 2]] != 0).any()


def test_cross_entropy_unbatched_and_spatial(r):
    z = r.standard_normal(4)
    assert np.isclose(F.cross_entropy(t(z), np.array(2)).item(),
                      F.cross_entropy(t(z[None]), np.array([2])).item())
    assert F.cross_entropy(t(z), np.array(2), reduction="none").shape == ()
    zs = r.standard_normal((2, 4, 3, 2))
    ys = r.integers(0, 4, (2, 3, 2))
    per = F.cross_entropy(t(zs), ys, reduction="none")
    assert per.shape == (2, 3, 2)
    flat = F.cross_entropy(t(np.moveaxis(zs, 1, -1).reshape(-1, 4)), ys.reshape(-1), reduction="none")
    assert np.allclose(per.numpy().ravel(), flat.numpy())


def test_nll_loss_matches_cross_entropy_on_log_softmax(r):
    z, y = r.standard_normal((5, 4)), np.array([0, 3, -100, 1, 2])
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    w = r.random(4) + 0.5
    assert np.isclose(F.nll_loss(t(logp), y, weight=w).item(), F.cross_entropy(t(z), y, weight=w).item())
    assert np.isclose(F.nll_loss(t(logp), np.full(5, -100)).item(), 0.0)


# ------------------------------------------------------------------ no valid pair / triplet
def _no_pair_cases():
    same = np.zeros(4, dtype=np.int64)
    distinct = np.arange(4)
    return [
        ("circle_loss", distinct, {}), ("circle_loss", same, {}),
        ("triplet_margin_loss", distinct, {"mining": "all"}),
        ("triplet_margin_loss", same, {"mining": "batch_hard"}),
        ("triplet_margin_loss", distinct, {"mining": "semi_hard"}),
        ("multi_similarity_loss", distinct, {}), ("multi_similarity_loss", same, {}),
        ("multi_similarity_loss", same, {"margin": None}),
    ]


@pytest.mark.parametrize("name,labels,kw", _no_pair_cases(),
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(_no_pair_cases())])
def test_metric_losses_without_a_valid_pair_give_zero_and_zero_gradients(name, labels, kw, r):
    for reduction in ("mean", "sum"):
        x = t(r.standard_normal((4, 3)), True)
        loss = getattr(F, name)(x, labels, reduction=reduction, **kw)
        loss.backward()
        assert loss.item() == 0.0
        assert (finite_grad(x) == 0).all()
    none = getattr(F, name)(t(r.standard_normal((4, 3))), labels, reduction="none", **kw)
    assert (none.numpy() == 0).all()


def test_contrastive_pair_loss_on_a_single_sample(r):
    x = t(r.standard_normal((1, 3)), True)
    loss = F.contrastive_pair_loss(x, np.array([0]))
    loss.backward()
    assert loss.item() == 0.0 and (finite_grad(x) == 0).all()
    assert F.contrastive_pair_loss(x, np.array([0]), reduction="none").shape == (0,)


def test_supcon_anchors_without_positives_contribute_zero(r):
    x = t(r.standard_normal((4, 1, 3)), True)
    loss = F.supcon_loss(x, np.arange(4))
    loss.backward()
    assert loss.item() == 0.0 and (finite_grad(x) == 0).all()


def test_metric_losses_mix_positive_and_negative_pairs(r):
    """With positives and negatives both present every loss is positive and moves x."""
    labels = np.array([0, 0, 1, 1, 2, 2])
    for name, kw in [("circle_loss", {"gamma": 16.0}), ("contrastive_pair_loss", {}),
                     ("triplet_margin_loss", {"margin": 2.0}), ("multi_similarity_loss", {"margin": None})]:
        x = t(r.standard_normal((6, 3)), True)
        loss = getattr(F, name)(x, labels, **kw)
        loss.backward()
        assert loss.item() > 0 and np.abs(finite_grad(x)).sum() > 0, name


def test_batch_hard_picks_the_hardest_pairs():
    x = np.array([[0.0, 0], [1, 0], [3, 0], [0, 0.5], [0, 2]])
    y = np.array([0, 0, 0, 1, 1])
    per = F.triplet_margin_loss(t(x), y, margin=0.1, mining="batch_hard", squared=True,
                                reduction="none").numpy()
    # anchor 0: farthest positive 2 (9), nearest negative 3 (0.25) → 9 − 0.25 + 0.1
    assert np.isclose(per[0], 8.85)


# ------------------------------------------------------------------ Module ↔ functional
def _module_pairs(r):
    z, y = t(r.standard_normal((5, 4))), r.integers(0, 4, 5)
    emb, lab = t(r.standard_normal((6, 3))), np.array([0, 0, 1, 1, 2, 0])
    a, b = t(r.standard_normal((4, 3))), t(r.standard_normal((4, 3)))
    c1, c2 = t(r.standard_normal((4, 3))), t(r.standard_normal((4, 3)))
    x, tgt = t(r.standard_normal((3, 4))), t(r.standard_normal((3, 4)))
    w = r.random(4) + 0.5
    boxes1 = t([[0, 0, 2, 2.], [1, 1, 3, 4.]])
    boxes2 = t([[0.5, 0.2, 2, 3.], [1, 0, 2, 2.]])
    seg, seg_y = t(r.standard_normal((2, 3, 4))), r.integers(0, 3, (2, 4))
    p, p_tgt = t(r.uniform(0.05, 0.95, (3, 4))), t(r.random((3, 4)))
    pairs = [
        (nn.BCELoss(), (p, p_tgt), lambda: F.binary_cross_entropy(p, p_tgt)),
        (nn.CrossEntropyLoss(weight=w, label_smoothing=0.1), (z, y),
         lambda: F.cross_entropy(z, y, weight=w, label_smoothing=0.1)),
        (nn.NLLLoss(ignore_index=1), (z, y), lambda: F.nll_loss(z, y, ignore_index=1)),
        (nn.BCEWithLogitsLoss(pos_weight=np.full(3, 2.0)), (a, (b.numpy() > 0).astype(float)),
         lambda: F.bce_with_logits(a, (b.numpy() > 0).astype(float), pos_weight=np.full(3, 2.0))),
        (nn.LabelSmoothingCrossEntropy(0.2), (z, y), lambda: F.label_smoothing_ce(z, y, 0.2)),
        (nn.SigmoidFocalLoss(gamma=1.5), (a, (b.numpy() > 0)),
         lambda: F.sigmoid_focal_loss(a, (b.numpy() > 0), gamma=1.5, reduction="mean")),
        (nn.SoftmaxFocalLoss(gamma=1.0), (z, y), lambda: F.softmax_focal_loss(z, y, gamma=1.0)),
        (nn.KLDivLoss(reduction="batchmean"), (a, b.exp()),
         lambda: F.kl_div_loss(a, b.exp(), reduction="batchmean")),
        (nn.HingeLoss(power=2), (a, np.sign(b.numpy())), lambda: F.hinge_loss(a, np.sign(b.numpy()), power=2)),
        (nn.CrammerSingerHingeLoss(), (z, y), lambda: F.crammer_singer_hinge_loss(z, y)),
        (nn.WestonWatkinsHingeLoss(p=2), (z, y), lambda: F.weston_watkins_hinge_loss(z, y, p=2)),
        (nn.MixupLoss(), (z, y, y[::-1].copy(), 0.3), lambda: F.mixup_loss(z, y, y[::-1].copy(), 0.3)),
        (nn.EntropyLoss("sigmoid"), (z,), lambda: F.entropy_loss(z, "sigmoid")),
        (nn.AsymmetricLoss(), (a, (b.numpy() > 0)), lambda: F.asymmetric_loss(a, (b.numpy() > 0))),
        (nn.CircleLoss(gamma=32.0), (emb, lab), lambda: F.circle_loss(emb, lab, gamma=32.0)),
        (nn.ContrastivePairLoss(margin=2.0), (emb, lab), lambda: F.contrastive_pair_loss(emb, lab, 2.0)),
        (nn.TripletMarginLoss(margin=0.3, mining="semi_hard"), (emb, lab),
         lambda: F.triplet_margin_loss(emb, lab, margin=0.3, mining="semi_hard")),
        (nn.TripletMarginLoss(swap=True), (a, b, c1),
         lambda: F.triplet_margin_loss(a, b, c1, swap=True)),
        (nn.MultiSimilarityLoss(), (emb, lab), lambda: F.multi_similarity_loss(emb, lab)),
        (nn.InfoNCELoss(temperature=0.2), (a, b), lambda: F.info_nce_loss(a, b, temperature=0.2)),
        (nn.SupConLoss(), (emb.reshape(3, 2, 3), lab[:3]), lambda: F.supcon_loss(emb.reshape(3, 2, 3), lab[:3])),
        (nn.KDLoss(), (z, z * 2, y), lambda: F.kd_loss(z, z * 2, y)),
        (nn.MSELoss(), (x, tgt), lambda: F.mse_loss(x, tgt)),
        (nn.L1Loss(reduction="sum"), (x, tgt), lambda: F.l1_loss(x, tgt, "sum")),
        (nn.HuberLoss(delta=0.5), (x, tgt), lambda: F.huber_loss(x, tgt, delta=0.5)),
        (nn.SmoothL1Loss(beta=0.5), (x, tgt), lambda: F.smooth_l1_loss(x, tgt, beta=0.5)),
        (nn.LogCoshLoss(), (x, tgt), lambda: F.log_cosh_loss(x, tgt)),
        (nn.QuantileLoss(quantiles=0.8), (x, tgt), lambda: F.quantile_loss(x, tgt, 0.8)),
        (nn.PoissonNLLLoss(), (x, tgt.abs()), lambda: F.poisson_nll_loss(x, tgt.abs())),
        (nn.GaussianNLLLoss(), (x, tgt, tgt.abs()), lambda: F.gaussian_nll_loss(x, tgt, tgt.abs())),
        (nn.CosineEmbeddingLoss(margin=0.1), (a, b, np.array([1, -1, 1, -1])),
         lambda: F.cosine_embedding_loss(a, b, np.array([1, -1, 1, -1]), 0.1)),
        (nn.RMSELoss(), (x, tgt), lambda: F.rmse_loss(x, tgt)),
        (nn.MAPELoss(), (x, tgt), lambda: F.mape_loss(x, tgt)),
        (nn.MSLELoss(root=True), (x.abs(), tgt.abs()), lambda: F.msle_loss(x.abs(), tgt.abs(), root=True)),
        (nn.IoULoss(), (boxes1, boxes2), lambda: F.iou_loss(boxes1, boxes2, "mean")),
        (nn.GIoULoss(), (boxes1, boxes2), lambda: F.giou_loss(boxes1, boxes2, "mean")),
        (nn.DIoULoss(), (boxes1, boxes2), lambda: F.diou_loss(boxes1, boxes2, "mean")),
        (nn.CIoULoss(), (boxes1, boxes2), lambda: F.ciou_loss(boxes1, boxes2, "mean")),
        (nn.DiceLoss(), (seg, seg_y), lambda: F.dice_loss(seg, seg_y)),
        (nn.TverskyLoss(gamma=0.75), (seg, seg_y), lambda: F.tversky_loss(seg, seg_y, gamma=0.75)),
        (nn.GaussianKLLoss(), (a, b), lambda: F.gaussian_kl_loss(a, b)),
        (nn.VAELoss(beta=0.5), (x, (tgt.numpy() > 0).astype(float), a[:3], b[:3]),
         lambda: F.vae_elbo_loss(x, (tgt.numpy() > 0).astype(float), a[:3], b[:3], beta=0.5)),
        (nn.DenoisingScoreMatchingLoss(), (x, tgt), lambda: F.denoising_score_matching_loss(x, tgt)),
        (nn.GANNonSaturatingLoss(), (x, tgt), lambda: F.gan_ns_loss(x, tgt)),
        (nn.GANHingeLoss(mode="generator"), (None, tgt), lambda: F.gan_hinge_loss(None, tgt, "generator")),
        (nn.WGANLoss(), (x, tgt), lambda: F.wgan_loss(x, tgt)),
        (nn.L2Penalty(lam=0.1), ([x, a.sum(axis=0)],), lambda: F.l2_penalty([x], lam=0.1)),
        (nn.L1Penalty(lam=0.1, skip_1d=False), ([x, a.sum(axis=0)],),
         lambda: F.l1_penalty([x, a.sum(axis=0)], lam=0.1)),
    ]
    arc = nn.ArcFaceLoss(4, 3, s=8.0).double()       # float64 weights for float64 inputs
    sub = nn.SubCenterArcFaceLoss(4, 3, k=2, s=8.0).double()
    cos = nn.CosFaceLoss(4, 3).double()
    sphere = nn.SphereFaceLoss(4, 3).eval().double()
    proxy = nn.ProxyNCALoss(3, 3).double()
    center = nn.CenterLoss(3, 3).double()
    clip, sig = nn.ClipLoss().double(), nn.SigLipLoss().double()
    pairs += [
        (arc, (emb, lab), lambda: F.arcface_loss(emb, arc.weight, lab, s=8.0)),
        (sub, (emb, lab), lambda: F.subcenter_arcface_loss(emb, sub.weight, lab, k=2, s=8.0)),
        (cos, (emb, lab), lambda: F.cosface_loss(emb, cos.weight, lab)),
        (sphere, (emb, lab), lambda: F.sphereface_loss(emb, sphere.weight, lab, lamb=sphere.lamb)),
        (proxy, (emb, lab), lambda: F.proxy_nca_loss(emb, lab, proxy.proxies)),
        (center, (emb, lab), lambda: F.center_loss(emb, lab, center.centers)),
        (clip, (a, b), lambda: F.clip_loss(a, b, clip.logit_scale)),
        (sig, (a, b), lambda: F.siglip_loss(a, b, sig.logit_scale, sig.logit_bias)),
        (nn.BYOLLoss(), (a, b, c1, c2), lambda: F.byol_loss(a, c2) + F.byol_loss(b, c1)),
    ]
    return pairs


def _paper_module_pairs(r):
    """The paper losses' Modules (noisy labels, long tail, calibration, OOD, multi-label,
    ranking, retrieval, recommendation, ...), each with non-default options."""
    z, y = t(r.standard_normal((5, 4))), r.integers(0, 4, 5)
    soft = r.dirichlet(np.ones(4), 5)
    counts, w = np.array([120.0, 40.0, 9.0, 3.0]), r.random(4) + 0.5
    s, sign = t(r.standard_normal(6)), np.array([1, -1, -1, 1, 1, -1])
    a = t(r.standard_normal((4, 3)))
    ml = r.integers(0, 2, (4, 3))
    ml[0], ml[1] = 1, 0                          # every label has a positive and a negative
    value = r.uniform(-1.0, 1.0, 5)              # scalar regression targets (HL-Gauss)
    pairs = [
        (nn.GCELoss(q=0.4), (z, y), lambda: F.gce_loss(z, y, q=0.4)),
        (nn.NormalizedCELoss(ignore_index=1), (z, y), lambda: F.normalized_ce_loss(z, y, ignore_index=1)),
        (nn.NormalizedFocalLoss(gamma=1.0, official_grad=True), (z, soft),
         lambda: F.normalized_focal_loss(z, soft, gamma=1.0, official_grad=True)),
        (nn.NormalizedGCELoss(q=0.3, reduction="sum"), (z, y),
         lambda: F.normalized_gce_loss(z, y, q=0.3, reduction="sum")),
        (nn.ReverseCELoss("sce", alpha=0.5, beta=0.7), (z, y),
         lambda: F.reverse_ce_loss(z, y, "sce", alpha=0.5, beta=0.7)),
        (nn.MAEProbLoss(normalized=True), (z, y), lambda: F.mae_prob_loss(z, y, normalized=True)),
        (nn.ActivePassiveLoss("nfl", "mae", alpha=10.0, beta=0.5, gamma=1.0), (z, y),
         lambda: F.active_passive_loss(z, y, "nfl", "mae", alpha=10.0, beta=0.5, gamma=1.0)),
        (nn.PolyLoss(epsilon=(1.0, 0.5), gamma=1.0, label_smoothing=0.1), (z, y),
         lambda: F.poly_loss(z, y, epsilon=(1.0, 0.5), gamma=1.0, label_smoothing=0.1)),
        (nn.SquentropyLoss(reduction="none"), (z, y), lambda: F.squentropy_loss(z, y, reduction="none")),
        (nn.SphericalZLoss(a=0.5, b=2.0), (z, y), lambda: F.spherical_z_loss(z, y, a=0.5, b=2.0)),
        (nn.CompSumLoss(tau=0.5), (z, y), lambda: F.comp_sum_loss(z, y, tau=0.5)),
        (nn.BatchPerceptronLoss(reduction="sum"), (s, sign),
         lambda: F.batch_perceptron_loss(s, sign, reduction="sum")),
        # long tail (class counts n_j), calibration, distributional
        (nn.LDAMLoss(counts, max_m=0.3, weight=w, s=10.0), (z, y),
         lambda: F.ldam_loss(z, y, counts, max_m=0.3, s=10.0, weight=w)),
        (nn.VSLoss(counts, gamma=0.5, tau=0.7, weight=w), (z, soft),
         lambda: F.vs_loss(z, soft, counts, gamma=0.5, tau=0.7, weight=w)),
        (nn.DistributionBalancedLoss(counts[:3], 200, neg_scale=3.0, gamma=1.0), (a, ml),
         lambda: F.distribution_balanced_loss(a, ml, counts[:3], 200, neg_scale=3.0, gamma=1.0)),
        (nn.GumbelOptimizedLoss(clamp=(-3.0, 8.0)), (a, ml),
         lambda: F.gumbel_optimized_loss(a, ml, clamp=(-3.0, 8.0))),
        (nn.MbLSLoss(margin=1.5, alpha=0.3), (z * 3, y), lambda: F.mbls_loss(z * 3, y, 1.5, 0.3)),
        (nn.ACLSLoss(alpha=0.3, pos_lambda=0.5, neg_lambda=0.2, margin=1.0), (z * 3, soft),
         lambda: F.acls_loss(z * 3, soft, 0.3, 0.5, 0.2, 1.0)),
        (nn.HLGaussLoss(-1.0, 1.0, 4, sigma=0.3), (z, value), lambda: F.hl_gauss_loss(z, value, -1.0, 1.0, 0.3)),
        (nn.HLGaussLoss(-1.0, 1.0, 4, mode="two_hot"), (z, value),
         lambda: F.hl_gauss_loss(z, value, -1.0, 1.0, mode="two_hot")),
    ]
    drw = nn.DRWLoss(counts, drw_epoch=2, beta=0.99, loss="ldam", s=5.0)
    drw.set_epoch(3)
    maxsup = nn.MaxSupLoss(alpha=0.1, end_alpha=0.3, epochs=10)
    maxsup.set_epoch(5)                                    # α ramps to 0.2
    pairs += [
        (drw, (z, y), lambda: F.drw_reweighting(z, y, counts, 3, drw_epoch=2, beta=0.99, loss="ldam", s=5.0)),
        (maxsup, (z, y), lambda: F.maxsup_loss(z, y, alpha=0.2)),
    ]
    # distributional, distributionally robust
    emb, lab = t(r.standard_normal((6, 3))), np.array([0, 0, 1, 1, 2, 0])
    basis, per_sample = r.standard_normal((4, 3)), t(r.permutation(np.linspace(0.1, 2.0, 6)))
    aldr = nn.ALDRKLLoss(10, lambda_ref=2.0, alpha=3.0, margin=0.2, logit_norm="softplus").double()
    idx = np.array([7, 2, 0, 9, 4])
    ens = nn.EnsLoss(lam=0.5)       # draws φ' from the backend's generator: both calls are
    ens.register_forward_pre_hook(lambda module, inputs: mg.manual_seed(11))    # run right after one seed
    pairs += [
        (nn.SpectralRiskLoss("extremile", level=3.0, shift_cost=0.1), (per_sample,),
         lambda: F.spectral_risk_loss(per_sample, "extremile", 3.0, 0.1)),
        (nn.EBVLoss(basis, tau=0.2), (emb, lab), lambda: F.ebv_loss(emb, lab, basis, tau=0.2)),
        (nn.EBVGenerationLoss(threshold=0.05, normalize=False, reduction="mean"), (emb,),
         lambda: F.ebv_generation_loss(emb, 0.05, normalize=False, reduction="mean")),
        (nn.LDRKLLoss(margin=0.5, lambd=2.0, logit_norm="l1"), (z, y),
         lambda: F.ldr_kl_loss(z, y, margin=0.5, lambd=2.0, logit_norm="l1")),
        (aldr, (z, y, idx),                    # the call first updates λ[idx] (the official step)
         lambda: F.aldr_kl_loss(z, y, aldr.lambdas.numpy()[idx], 2.0, 3.0, 0.2, "softplus")),
        (ens, (s, (sign > 0).astype(float)),
         lambda: (mg.manual_seed(11), F.ensloss(s, (sign > 0).astype(float), lam=0.5))[1]),
    ]
    # margin, OOD, test-time adaptation, weak multi-label supervision
    cap, prompt = t(r.standard_normal((4, 2, 3))), t(r.standard_normal((3, 2, 3)))
    outliers, wild = t(r.standard_normal((3, 4))), t(r.standard_normal((6, 4)))
    teacher, views = t(r.standard_normal((5, 4))), t(r.standard_normal((3, 5, 4)))
    anchor = t(0.1 * r.standard_normal((5, 4)))     # an unconfident source model: views averaged
    observed = np.where(ml == 1, 1.0, -0.3 * r.integers(0, 2, (4, 3)))   # 1 / 0 / −s
    maps, boxes = r.random((5, 4, 6, 6)), np.tile([[0.1, 0.2, 0.6, 0.9]], (5, 1))
    scone = nn.SconeWoodsLoss(0.8, false_alarm_cutoff=0.1, ce_tol=1.5, eta=0.5, out_weight=2.0,
                              dtype="float64")
    scone.multipliers, scone.penalties = (0.3, 0.2), (1.0, 1.5)
    pairs += [
        (nn.LMPTCSELoss(class_counts=counts[:3], margin=0.5, gamma=1.0), (cap, prompt, ml),
         lambda: F.lmpt_cse_loss(cap, prompt, ml, counts[:3], margin=0.5, gamma=1.0)),
        (nn.OutlierExposureLoss(lam=0.7, reduction="none"), (z, y, outliers),
         lambda: F.outlier_exposure_loss(z, y, outliers, 0.7, "none")),
        (nn.EnergyMarginLoss(m_in=-10.0, m_out=-3.0, weight=0.3), (z * 5, outliers),
         lambda: F.energy_margin_loss(z * 5, outliers, -10.0, -3.0, 0.3)),
        (scone, (z, y, wild), lambda: F.scone_woods_loss(
            z, y, wild, scone.weight, scone.bias, 0.8, (0.3, 0.2), (1.0, 1.5), 0.1, 1.5, 0.5, 2.0)),
        (nn.CoTTAConsistencyLoss(ap=0.5), (z, teacher, views, anchor),
         lambda: F.cotta_consistency_loss(z, teacher, views, anchor, ap=0.5)),
        (nn.EMSinglePositiveLoss(alpha=0.1, beta=0.9), (a, observed),
         lambda: F.em_single_positive_loss(a, observed, alpha=0.1, beta=0.9)),
        (nn.LabelPoolSoftCE(reduction="sum"), (z, maps, boxes),
         lambda: F.labelpool_soft_ce(z, maps, boxes, reduction="sum")),
    ]
    # multi-label, ranking, recommendation, retrieval
    caps, caps2 = t(0.4 * r.standard_normal((5, 4, 2))), t(0.4 * r.standard_normal((4, 3, 2)))
    scores, rel = t(r.standard_normal((2, 5))), r.integers(0, 3, (2, 5))
    user, pos_item = t(r.standard_normal((4, 3))), t(r.standard_normal((4, 3)))
    neg_items, feats = t(r.standard_normal((4, 5, 3))), t(r.standard_normal((4, 6)))
    qv, dm, dv = t(r.uniform(0.5, 1.5, (4, 3))), t(r.standard_normal((6, 3))), t(r.uniform(0.5, 1.5, (6, 3)))
    pairs += [
        (nn.MacroAUCPairwiseLoss(loss="hinge"), (a, ml), lambda: F.macro_auc_pairwise_loss(a, ml, "hinge")),
        (nn.MacroAUCUnivariateLoss(loss="logistic", reduction="sum"), (a, ml),
         lambda: F.macro_auc_univariate_loss(a, ml, "logistic", "sum")),
        (nn.CapsuleMarginLoss(m_pos=0.8, m_neg=0.2, lamb=1.0, weight=w), (caps, y),
         lambda: F.capsule_margin_loss(caps, y, 0.8, 0.2, 1.0, weight=w)),
        (nn.CapsuleMarginLoss(level_weights=[0.5, 2.0]), ([caps, caps2], [y, ml]),   # two levels
         lambda: 0.5 * F.capsule_margin_loss(caps, y) + 2.0 * F.capsule_margin_loss(caps2, ml)),
        (nn.NeuralNDCGLoss(temperature=0.5, powered_relevancies=False, k=3, max_iter=10), (scores, rel),
         lambda: F.neural_ndcg_loss(scores, rel, 0.5, False, k=3, max_iter=10)),
        (nn.BPRLoss(reduction="sum"), (user[:, 0], a), lambda: F.bpr_loss(user[:, 0], a, "sum")),
        (nn.CosineContrastiveLoss(margin=0.2, negative_weight=2.0), (user, pos_item, neg_items),
         lambda: F.cosine_contrastive_loss(user, pos_item, neg_items, 0.2, 2.0)),
        (nn.CalibratedUniformityLoss(gamma=0.9, t=1.0, min_sim=-0.3, max_sim=0.8),
         (user, pos_item, a, feats),
         lambda: F.calibrated_uniformity_loss(user, pos_item, a, feats, 0.9, 1.0, -0.3, 0.8)),
        (nn.DecoupledSoftmaxLoss(temperature=0.5), (a, ml), lambda: F.decoupled_softmax_loss(a, ml, 0.5)),
        (nn.SoftTopKLoss(k=2, alpha=1.0, temperature=0.5, n_iter=20), (a, ml),
         lambda: F.soft_topk_loss(a, ml, k=2, alpha=1.0, temperature=0.5, n_iter=20)),
        (nn.MultivariateKLSimilarityLoss(reduction="none"), (user, qv, dm, dv, y[:4]),
         lambda: F.multivariate_kl_similarity_loss(user, qv, dm, dv, y[:4], "none")),
    ]
    return pairs


def test_modules_agree_with_their_functionals(r):
    for module, args, functional in _module_pairs(r) + _paper_module_pairs(r):
        got = module(*args)
        want = functional()
        assert np.allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-6), type(module).__name__


def test_every_registered_loss_module_is_covered(r):
    covered = {type(m) for m, _, _ in _module_pairs(r) + _paper_module_pairs(r)}
    adversarial = {nn.PGDAdversarialLoss, nn.TRADESLoss, nn.VATLoss, nn.TemperatureScaling}
    for e in entries(kind="loss"):
        assert e.module in covered | adversarial, e.name


def test_modules_hold_learnable_class_weights():
    arc = nn.ArcFaceLoss(10, 8)
    assert arc.weight.shape == (10, 8) and arc.weight.requires_grad
    assert [n for n, _ in arc.named_parameters()] == ["weight"]
    assert abs(float(arc.weight.numpy().std()) - 0.01) < 0.005        # N(0, 0.01²) init
    assert (arc.s, arc.m, arc.easy_margin) == (64.0, 0.5, False)
    assert nn.SubCenterArcFaceLoss(10, 8).weight.shape == (30, 8)
    cos = nn.CosFaceLoss(10, 8)
    assert (cos.s, cos.m) == (64.0, 0.35)
    sphere = nn.SphereFaceLoss(10, 8)
    assert np.allclose(np.linalg.norm(sphere.weight.numpy(), axis=1), 1, atol=1e-5)
    assert sphere.m == 4


# ------------------------------------------------------------------ calibration
def test_expected_calibration_error_on_a_hand_made_example():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.45, 0.55]])
    labels = np.array([0, 1, 1, 0])
    # bins of width 0.5: (0.5, 1] holds all four (conf 0.9, 0.8, 0.7, 0.55; correct 1, 0, 1, 0)
    assert np.isclose(F.expected_calibration_error(probs, labels, n_bins=2),
                      abs(0.5 - (0.9 + 0.8 + 0.7 + 0.55) / 4))
    # 10 bins: (0.8, 0.9] {0.9 ✓}, (0.7, 0.8] {0.8 ✗}, (0.6, 0.7] {0.7 ✓}, (0.5, 0.6] {0.55 ✗}
    expected = (abs(1 - 0.9) + abs(0 - 0.8) + abs(1 - 0.7) + abs(0 - 0.55)) / 4
    assert np.isclose(F.expected_calibration_error(probs, labels, n_bins=10), expected)
    assert F.expected_calibration_error(mg.tensor(np.eye(3)), np.arange(3)) == 0.0


def test_temperature_scaling_fit_finds_the_nll_minimum(r):
    z = 3 * r.standard_normal((400, 5))
    probs = np.exp(z / 2.5) / np.exp(z / 2.5).sum(axis=1, keepdims=True)
    y = np.array([r.choice(5, p=p) for p in probs])
    ts = nn.TemperatureScaling()
    temp = ts.fit(mg.tensor(z), y)
    assert 1.8 < temp < 3.5                                  # near the generating T = 2.5
    ts.zero_grad()
    ts.loss(mg.tensor(z), y).backward()
    assert abs(ts.log_temperature.grad.item()) < 1e-5          # a stationary point
    assert np.allclose(ts(mg.tensor(z)).numpy(), z / temp, rtol=1e-5)
    before = F.expected_calibration_error(np.exp(z) / np.exp(z).sum(1, keepdims=True), y)
    after_logits = z / temp
    after = F.expected_calibration_error(np.exp(after_logits) / np.exp(after_logits).sum(1, keepdims=True), y)
    assert after < before


def test_two_stage_label_smoothing_switches_off():
    loss = nn.LabelSmoothingCrossEntropy(0.1, two_stage_epoch=3)
    loss.set_epoch(2)
    assert loss.current_smoothing == 0.1
    loss.set_epoch(3)
    assert loss.current_smoothing == 0.0


# ------------------------------------------------------------------ documented rules
def test_center_loss_paper_update(r):
    x = r.standard_normal((5, 2))
    y = np.array([0, 1, 0, 0, 2])
    crit = nn.CenterLoss(4, 2, alpha=0.5)
    c0 = crit.centers.numpy().copy()
    (F.cross_entropy(t(r.standard_normal((5, 4))), y) + 0.003 * crit(t(x), y)).backward()
    crit.step_centers()
    expected = c0.copy()
    for j in range(4):
        members = y == j
        expected[j] -= 0.5 * (c0[j] - x[members]).sum(axis=0) / (1 + members.sum())
    assert np.allclose(crit.centers.numpy(), expected, atol=1e-6)     # class 3 has no member: unchanged
    assert crit.centers.grad is None


def test_sphereface_lambda_schedule():
    crit = nn.SphereFaceLoss(3, 2).double()
    emb = t([[1.0, 0.2], [0.3, -1.0]])
    crit(emb, np.array([0, 1]))
    assert crit.iteration == 1 and np.isclose(crit.lamb, 1000 / 1.12)
    crit.iteration = 10 ** 6
    assert crit.lamb == 5.0
    crit.eval()
    crit(emb, np.array([0, 1]))
    assert crit.iteration == 10 ** 6


def test_sphereface_psi_is_monotone_and_continuous():
    """The target logit ‖x‖ψ(θ) decreases with θ across the piece boundaries kπ/4: with the
    other class orthogonal to the plane of x its logit stays 0, so CE grows with θ."""
    w = t([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    values = []
    for theta in np.linspace(0.01, math.pi - 0.01, 300):
        x = t([[math.cos(theta), math.sin(theta), 0.0]])
        ce = F.sphereface_loss(x, w, np.array([0]), reduction="none").item()
        values.append(ce)
    assert np.all(np.diff(values) > -1e-9)                   # CE grows as the target angle grows


def test_subcenter_cleaning(r):
    crit = nn.SubCenterArcFaceLoss(3, 4, k=3).double()
    emb = r.standard_normal((12, 4))
    y = np.repeat(np.arange(3), 4)
    mask = crit.clean_mask(t(emb), y, max_angle=75.0)
    assert mask.shape == (12,) and mask.dtype == bool
    dominant = crit.dominant_subcenters(t(emb), y)
    kept = crit.weight.numpy()[np.arange(3) * 3 + dominant.numpy()]
    crit.drop_non_dominant(t(emb), y)
    assert crit.k == 1 and np.allclose(crit.weight.numpy(), kept)
    assert np.isfinite(crit(t(emb), y).item())


def test_arcface_margin_branches():
    """cos(θ + m) above the threshold, cosθ − m·sin(π − m) below it, none for easy_margin θ > π/2."""
    w = t([[1.0, 0.0], [0.0, 1.0]])
    for theta, easy, expected in [(0.3, False, math.cos(0.8)), (2.9, False, math.cos(2.9) - 0.5 * math.sin(math.pi - 0.5)),
                                  (2.0, True, math.cos(2.0)), (0.3, True, math.cos(0.8))]:
        x = t([[math.cos(theta), math.sin(theta)]])
        loss = F.arcface_loss(x, w, np.array([0]), s=1.0, easy_margin=easy).item()
        other = math.cos(math.pi / 2 - theta)
        want = -expected + math.log(math.exp(expected) + math.exp(other))
        assert np.isclose(loss, want), (theta, easy)


# ------------------------------------------------------------------ adversarial losses
class _TinyNet(mg.Module):
    def __init__(self, r):
        super().__init__()
        self.weight = mg.Parameter(r.standard_normal((3, 4)))
        self.bias = mg.Parameter(np.zeros(3))

    def forward(self, x):
        return x @ self.weight.T + self.bias


@pytest.mark.parametrize("name", ["pgd_adversarial_loss", "trades_loss", "vat_loss"])
def test_adversarial_losses_train_a_module(name, r):
    net = _TinyNet(r)
    x = t(r.uniform(0.2, 0.8, (5, 4)))
    y = r.integers(0, 3, 5)
    args = (net, x) if name == "vat_loss" else (net, x, y)
    kwargs = {"eps": 0.5} if name == "vat_loss" else {"eps": 0.1, "alpha": 0.03, "steps": 3}
    loss = getattr(F, name)(*args, **kwargs)
    assert net.weight.grad is None and net.training           # the attack left no gradient behind
    loss.backward()
    assert np.isfinite(loss.item()) and np.abs(finite_grad(net.weight)).sum() > 0
    assert x.grad is None


def test_pgd_adversarial_example_stays_in_the_ball(r):
    net = _TinyNet(r)
    x = t(r.uniform(0.2, 0.8, (5, 4)))
    y = r.integers(0, 3, 5)
    from minigrad.layers.losses.adversarial import _attack
    adv = _attack("pgd_linf", net, x, y, 0.05, 0.02, 5, True, (0.0, 1.0), np.random.default_rng(0))
    assert np.abs(adv.numpy() - x.numpy()).max() <= 0.05 + 1e-12
    clean = F.cross_entropy(net(x), y).item()
    assert F.pgd_adversarial_loss(net, x, y, eps=0.05, alpha=0.02, steps=5).item() > clean
    fgsm = F.pgd_adversarial_loss(net, x, y, eps=0.05, attack="fgsm")
    assert fgsm.item() > clean


def test_vat_adversarial_direction_increases_the_kl(r):
    net = _TinyNet(r)
    x = t(r.uniform(0.2, 0.8, (6, 4)))
    # a few power iterations from a seeded start reach the dominant direction, which beats
    # any random direction of the same length (one iteration only approximates it)
    lds = F.vat_loss(net, x, eps=0.05, power_iterations=3, generator=mg.HostGenerator(0),
                     reduction="none").numpy()
    random_dir = r.standard_normal((6, 4))
    random_dir *= 0.05 / np.linalg.norm(random_dir, axis=1, keepdims=True)
    rand = F.vat_loss(net, x, eps=0.05, r_adv=random_dir, reduction="none").numpy()
    assert (lds >= rand - 1e-9).all()


# ------------------------------------------------------------------ misc. behaviour
def test_losses_keep_float32(r):
    z = mg.tensor(r.standard_normal((4, 3)).astype("float32"), requires_grad=True)
    for loss in (F.cross_entropy(z, np.array([0, 1, 2, 0])), F.bce_with_logits(z, np.ones((4, 3))),
                 F.mse_loss(z, np.zeros((4, 3))), F.huber_loss(z, np.zeros((4, 3))),
                 F.kl_div_loss(z, np.full((4, 3), 1 / 3))):
        assert loss.dtype == np.float32
    F.cross_entropy(z, np.array([0, 1, 2, 0])).backward()
    assert z.grad.dtype == np.float32


def test_gaussian_nll_rejects_negative_variance(r):
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(t(r.standard_normal(3)), t(np.zeros(3)), t([1.0, -1.0, 1.0]))


def test_penalty_modules_skip_biases(r):
    net = _TinyNet(r)
    l2 = nn.L2Penalty(lam=2.0)(net).item()
    assert np.isclose(l2, (net.weight.numpy() ** 2).sum())
    prox = t(np.array([0.5, -0.05, 0.2, -1.0]))
    F.soft_threshold_(prox, 0.1)
    assert np.allclose(prox.numpy(), [0.4, 0.0, 0.1, -0.9])


def test_wgan_weight_clipping(r):
    net = _TinyNet(r)
    F.clip_weights_(net, 0.01)
    assert np.abs(net.weight.numpy()).max() <= 0.01


def test_reparameterize_is_differentiable(r):
    mu, logvar = t(r.standard_normal((3, 2)), True), t(r.standard_normal((3, 2)), True)
    z = F.reparameterize(mu, logvar, generator=np.random.default_rng(0))
    eps = np.random.default_rng(0).standard_normal((3, 2))
    assert np.allclose(z.numpy(), mu.numpy() + np.exp(0.5 * logvar.numpy()) * eps)
    z.sum().backward()
    assert np.allclose(mu.grad.numpy(), 1) and np.allclose(logvar.grad.numpy(), 0.5 * np.exp(0.5 * logvar.numpy()) * eps)


def test_noisy_sample_and_score_parameterisation_agree(r):
    x0, eps = t(r.standard_normal((3, 2))), r.standard_normal((3, 2))
    sigma, alpha = np.array([0.5, 0.8, 0.3]), np.array([0.9, 0.6, 0.95])
    xt = F.noisy_sample(x0, eps, alpha, sigma)
    assert np.allclose(xt.numpy(), alpha[:, None] * x0.numpy() + sigma[:, None] * eps)
    eps_hat = r.standard_normal((3, 2))
    score = -eps_hat / sigma[:, None]                         # ε̂ = −σ·s
    assert np.isclose(F.denoising_score_matching_loss(t(eps_hat), eps).item(),
                      F.denoising_score_matching_loss(t(score), eps, sigma, "score").item())
