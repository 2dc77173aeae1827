"""Inputs that used to give a wrong number without an error now raise one that names the op,
the shapes and the dtype: shape mismatches that would broadcast in a same-shape loss
(a prediction (N, 1) against a target (N,) averages N² pairs), integer or boolean tensors
given to float-only ops, and embedding / gather / index_select indices that are negative
or past the end (NumPy would wrap them around to the last rows)."""
import inspect
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import F, nn
from minigrad.registry import entries

N = 5

# Losses whose arguments at these two positions must have one shape (no broadcasting).
SAME_SHAPE = {
    "asymmetric_loss": (0, 1), "bce_with_logits": (0, 1), "binary_cross_entropy": (0, 1), "byol_loss": (0, 1),
    "ciou_loss": (0, 1), "clip_loss": (0, 1), "cosine_embedding_loss": (0, 1),
    "denoising_score_matching_loss": (0, 1), "diou_loss": (0, 1), "gaussian_kl_loss": (0, 1),
    "gaussian_nll_loss": (0, 1), "giou_loss": (0, 1), "hinge_loss": (0, 1),
    "huber_loss": (0, 1), "info_nce_loss": (0, 1), "iou_loss": (0, 1), "kd_loss": (0, 1),
    "kl_div_loss": (0, 1), "l1_loss": (0, 1), "log_cosh_loss": (0, 1), "mape_loss": (0, 1),
    "mse_loss": (0, 1), "msle_loss": (0, 1), "poisson_nll_loss": (0, 1),
    "quantile_loss": (0, 1), "rmse_loss": (0, 1), "sigmoid_focal_loss": (0, 1),
    "siglip_loss": (0, 1), "vae_elbo_loss": (0, 1),
    # paper losses: scores and labels / multi-hot targets of one shape, paired embeddings
    "batch_perceptron_loss": (0, 1), "calibrated_uniformity_loss": (0, 1),
    "cosine_contrastive_loss": (0, 1), "cotta_consistency_loss": (0, 1),
    "decoupled_softmax_loss": (0, 1), "distribution_balanced_loss": (0, 1),
    "em_single_positive_loss": (0, 1), "ensloss": (0, 1), "gumbel_optimized_loss": (0, 1),
    "macro_auc_pairwise_loss": (0, 1), "macro_auc_univariate_loss": (0, 1),
    "multivariate_kl_similarity_loss": (0, 1), "neural_ndcg_loss": (0, 1),
    "soft_topk_loss": (0, 1),
}
# Losses with no pair of same-shape tensors: class-index targets (checked against the logits
# by class_targets), a batch of embeddings with labels, or a model and its input.
OTHER_SIGNATURES = {
    "arcface_loss", "center_loss", "circle_loss", "contrastive_pair_loss", "cosface_loss",
    "crammer_singer_hinge_loss", "cross_entropy", "dice_loss", "entropy_loss",
    "gan_hinge_loss", "gan_ns_loss", "l1_penalty", "l2_penalty", "label_smoothing_ce",
    "mixup_loss", "multi_similarity_loss", "pgd_adversarial_loss", "proxy_nca_loss",
    "softmax_focal_loss", "sphereface_loss", "subcenter_arcface_loss", "supcon_loss",
    "temperature_scaling", "trades_loss", "triplet_margin_loss", "tversky_loss", "vat_loss",
    "wgan_loss", "weston_watkins_hinge_loss",
    # paper losses: class-index (or soft) targets checked against the logits, two logit
    # batches of different sizes, per-sample losses, BPR's (N,) positives against (N, K)
    # negatives, capsules (N, C, D), caption/prompt token embeddings
    "acls_loss", "active_passive_loss", "aldr_kl_loss", "bpr_loss", "capsule_margin_loss",
    "comp_sum_loss", "drw_reweighting", "ebv_generation_loss", "ebv_loss",
    "energy_margin_loss", "gce_loss", "hl_gauss_loss", "labelpool_soft_ce", "ldam_loss",
    "ldr_kl_loss", "lmpt_cse_loss", "mae_prob_loss", "maxsup_loss", "mbls_loss",
    "normalized_ce_loss", "normalized_focal_loss", "normalized_gce_loss",
    "outlier_exposure_loss", "poly_loss", "reverse_ce_loss", "scone_woods_loss",
    "spectral_risk_loss", "spherical_z_loss", "squentropy_loss", "vs_loss",
}
# Float-only losses and the position of their logits / predictions in the registry's case.
MODEL_LOSSES = {"pgd_adversarial_loss", "trades_loss", "vat_loss"}
NO_TENSOR_INPUT = {"l1_penalty", "l2_penalty"}     # lists of parameters


def shape_text(shape):
    return re.escape(str(tuple(shape)))


def first_case(name, kind="loss"):
    entry, = entries(kind=kind, names=[name])
    return entry, entry.cases(np.random.default_rng(0))[0]


def tensorize(a):
    if isinstance(a, np.ndarray):
        return mg.tensor(a, requires_grad=a.dtype.kind == "f")
    return a


def plain_kwargs(case, fn=None):
    """The case's keyword arguments without the arrays only the checked wrappers take; arrays
    that ``fn`` itself takes (class counts, per-sample temperatures, a basis, noise draws)
    stay, as the constant tensors the registry passes."""
    takes = inspect.signature(fn).parameters if fn is not None else {}
    return {k: (mg.tensor(v) if isinstance(v, np.ndarray) else v)
            for k, v in case.kwargs.items() if not isinstance(v, np.ndarray) or k in takes}


# ------------------------------------------------------------------ shape mismatches
def test_every_registered_loss_is_classified():
    names = {e.name for e in entries(kind="loss")}
    assert names == set(SAME_SHAPE) | OTHER_SIGNATURES, (
        "classify each new loss in SAME_SHAPE or OTHER_SIGNATURES")
    assert not set(SAME_SHAPE) & OTHER_SIGNATURES


@pytest.mark.parametrize("name", sorted(SAME_SHAPE))
def test_same_shape_loss_refuses_a_broadcasting_target(name):
    entry, case = first_case(name)
    i, j = SAME_SHAPE[name]
    rng = np.random.default_rng(1)
    args = [tensorize(a) for a in case.args]
    args[i] = mg.tensor(rng.uniform(0.5, 1.5, (N, 1)), requires_grad=True)
    args[j] = mg.tensor(rng.uniform(0.5, 1.5, (N,)))
    with pytest.raises(ValueError) as err:
        entry.fn(*args, **plain_kwargs(case, entry.fn))
    message = str(err.value)
    assert message.startswith(f"{name}:"), message
    assert f"{(N, 1)}" in message and f"{(N,)}" in message, message


@pytest.mark.parametrize("loss", [F.mse_loss, F.l1_loss, F.huber_loss, F.smooth_l1_loss])
def test_regression_loss_message_names_the_broadcast(loss):
    with pytest.raises(ValueError, match=rf"{loss.__name__}: input of shape \(4, 1\) and target "
                                         rf"of shape \(4,\) must have the same shape \(they "
                                         rf"would broadcast to \(4, 4\)\)"):
        loss(mg.tensor(np.zeros((4, 1))), mg.tensor(np.zeros(4)))


def test_same_shape_losses_still_accept_numpy_and_list_targets():
    x = mg.tensor(np.array([[1.0], [2.0]]), requires_grad=True)
    assert float(F.mse_loss(x, np.array([[1.0], [4.0]])).item()) == pytest.approx(2.0)
    with pytest.raises(ValueError, match=r"mse_loss: input of shape \(2, 1\) and target of "
                                         r"shape \(2,\)"):
        F.mse_loss(x, [1.0, 4.0])


def test_triplet_margin_loss_explicit_triplets_must_share_a_shape():
    a = mg.tensor(np.ones((N, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"triplet_margin_loss: anchor of shape \(5, 3\) and "
                                         r"negative of shape \(1, 3\)"):
        F.triplet_margin_loss(a, np.zeros((N, 3)), np.zeros((1, 3)))


def test_bpr_loss_broadcasts_positives_over_their_negatives_only():
    """BPR pairs s⁺ (N,) with s⁻ (N,) or K negatives per row (N, K); a column of positives
    (N, 1) against (N,) negatives would compare every pair, and is refused."""
    pos = mg.tensor(np.ones((N, 1)), requires_grad=True)
    with pytest.raises(ValueError, match=r"bpr_loss: pos_score must be \(N,\) and neg_score "
                                         r"\(N,\) or \(N, K\), got shapes \(5, 1\) and \(5,\)"):
        F.bpr_loss(pos, mg.tensor(np.zeros(N)))
    with pytest.raises(ValueError, match=r"got shapes \(5,\) and \(4, 3\)"):
        F.bpr_loss(pos.reshape(N), mg.tensor(np.zeros((4, 3))))


def test_cosine_embedding_loss_needs_one_label_per_pair():
    x = mg.tensor(np.ones((N, 3)))
    with pytest.raises(ValueError, match=r"cosine_embedding_loss: target of shape \(5, 1\)"):
        F.cosine_embedding_loss(x, x, np.ones((N, 1), dtype=np.int64))


def test_gaussian_nll_loss_keeps_pytorchs_documented_broadcasts():
    """PyTorch lets var drop the last axis (or make it 1) and the target have axes of size 1;
    those still work, and give the same value as the explicitly broadcast call."""
    rng = np.random.default_rng(0)
    mu, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    var = rng.uniform(0.5, 2.0, 4)
    full = F.gaussian_nll_loss(mg.tensor(mu), mg.tensor(y),
                               mg.tensor(np.repeat(var[:, None], 3, axis=1))).item()
    assert F.gaussian_nll_loss(mg.tensor(mu), mg.tensor(y), mg.tensor(var)).item() == \
        pytest.approx(full)
    assert F.gaussian_nll_loss(mg.tensor(mu), mg.tensor(y), mg.tensor(var[:, None])).item() == \
        pytest.approx(full)
    shared = F.gaussian_nll_loss(mg.tensor(mu), mg.tensor(y[:1]), 1.5).item()
    assert shared == pytest.approx(
        F.gaussian_nll_loss(mg.tensor(mu), mg.tensor(np.repeat(y[:1], 4, 0)), 1.5).item())
    with pytest.raises(ValueError, match=r"gaussian_nll_loss: input of shape \(4, 1\) and target "
                                         r"of shape \(4,\)"):
        F.gaussian_nll_loss(mg.tensor(mu[:, :1]), mg.tensor(y[:, 0]), mg.tensor(var))


def test_quantile_loss_multi_quantile_target_shapes():
    x = mg.tensor(np.zeros((4, 3)))
    for y in (np.zeros(4), np.zeros((4, 1))):
        F.quantile_loss(x, y, quantiles=(0.1, 0.5, 0.9))
    with pytest.raises(ValueError, match=r"quantile_loss: target of shape \(3,\)"):
        F.quantile_loss(x, np.zeros(3), quantiles=(0.1, 0.5, 0.9))


# ------------------------------------------------------------------ integer inputs
def float_position(entry, case):
    """Position of the first floating-point array argument (the logits / predictions)."""
    return next(k for k, a in enumerate(case.args)
                if isinstance(a, np.ndarray) and a.dtype.kind == "f")


def int_like(a):
    return np.round(a * 3).astype(np.int64)


@pytest.mark.parametrize("name", sorted(set(SAME_SHAPE) | OTHER_SIGNATURES
                                        - MODEL_LOSSES - NO_TENSOR_INPUT))
def test_loss_refuses_integer_predictions(name):
    entry, case = first_case(name)
    k = float_position(entry, case)
    args = [tensorize(a) for a in case.args]
    bad = int_like(case.args[k])
    args[k] = mg.tensor(bad)
    with pytest.raises(TypeError) as err:
        entry.fn(*args, **plain_kwargs(case, entry.fn))
    message = str(err.value)
    assert message.startswith(f"{name}:") and "int64" in message, message
    assert str(tuple(bad.shape)) in message, message


def test_cross_entropy_on_int64_logits_raises_instead_of_returning_zero():
    logits = mg.tensor(np.array([[3, 1, 0], [0, 5, 1]], dtype=np.int64))
    with pytest.raises(TypeError, match=r"cross_entropy: input must be a floating-point tensor, "
                                        r"got dtype int64 and shape \(2, 3\)"):
        F.cross_entropy(logits, np.array([0, 1]))


@pytest.mark.parametrize("name", ["pgd_adversarial_loss", "trades_loss", "vat_loss"])
def test_adversarial_losses_refuse_integer_images(name):
    model = nn.Linear(4, 3)
    x = mg.tensor(np.zeros((2, 4), dtype=np.uint8))
    args = (model, x) if name == "vat_loss" else (model, x, np.array([0, 1]))
    with pytest.raises(TypeError, match=rf"{name}: x must be a floating-point tensor, got dtype "
                                        rf"uint8 and shape \(2, 4\)"):
        getattr(F, name)(*args)


def own_float_ops(kind):
    """Registered ops of ``kind`` that live in files this check covers (softmax-like ops and
    the elementwise sigmoid/tanh check their own inputs)."""
    skip = ("softmax", "elementwise", "batch", "group", "layer", "residual")
    return sorted(e.name for e in entries(kind=kind) if e.fn.__module__.split(".")[-1] not in skip)


@pytest.mark.parametrize("name", own_float_ops("activation") + own_float_ops("normalization"))
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_float_only_op_refuses_integer_and_bool_tensors(name, dtype):
    kind = "activation" if name in own_float_ops("activation") else "normalization"
    entry, case = first_case(name, kind)
    args = [tensorize(a) for a in case.args]
    bad = (case.args[0] > 0) if dtype == "bool" else int_like(case.args[0]).astype(dtype)
    args[0] = mg.tensor(bad)
    with pytest.raises(TypeError) as err:
        entry.fn(*args, **plain_kwargs(case))
    message = str(err.value)
    assert message.startswith(f"{name}:") and f"dtype {dtype}" in message, message
    assert str(tuple(bad.shape)) in message, message


def test_activation_modules_check_too():
    with pytest.raises(TypeError, match=r"gelu: x must be a floating-point tensor, got dtype "
                                        r"int64 and shape \(3,\)"):
        nn.GELU()(mg.tensor(np.array([1, 2, 3])))


def test_float_tensors_of_every_width_pass():
    for dtype in ("float16", "float32", "float64"):
        y = F.relu(mg.tensor(np.array([-1.0, 2.0], dtype=dtype)))
        assert y.dtype == np.dtype(dtype)
        assert y.numpy().tolist() == [0.0, 2.0]


# ------------------------------------------------------------------ indices
@pytest.mark.parametrize("bad", [-1, -10, 10, 11])
def test_embedding_refuses_negative_and_past_the_end_indices(bad):
    weight = mg.tensor(np.arange(20.0).reshape(10, 2), requires_grad=True)
    idx = np.array([[0, 3], [bad, 9]])
    with pytest.raises(IndexError, match=rf"embedding: index out of range in self: index {bad} "
                                         rf"for the table \(num_embeddings\) of size 10"):
        F.embedding(idx, weight)


def test_embedding_module_refuses_negative_indices_and_keeps_valid_ones():
    emb = nn.Embedding(4, 2, padding_idx=-1)
    assert emb.padding_idx == 3          # PyTorch's negative padding_idx still counts back
    with pytest.raises(IndexError, match=r"embedding: index out of range in self: index -1"):
        emb(mg.tensor(np.array([0, -1])))
    out = emb(mg.tensor(np.array([0, 3])))
    np.testing.assert_array_equal(out.numpy(), emb.weight.numpy()[[0, 3]])


@pytest.mark.parametrize("bad", [-1, 4])
def test_index_select_refuses_out_of_range_indices(bad):
    x = mg.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    with pytest.raises(IndexError, match=rf"index_select: index out of range in self: index "
                                         rf"{bad} for dimension 1 of size 4"):
        F.index_select(x, 1, np.array([0, bad]))
    assert F.index_select(x, 1, np.array([3, 0])).numpy().tolist() == [[3, 0], [7, 4], [11, 8]]


@pytest.mark.parametrize("bad", [-1, 3])
def test_gather_refuses_out_of_range_indices(bad):
    x = mg.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    with pytest.raises(IndexError, match=rf"take_along_axis: index out of range in self: index "
                                         rf"{bad} for dimension 1 of size 3"):
        F.take_along_axis(x, np.array([[0], [1], [bad], [2]]), 1)
    with pytest.raises(IndexError, match="dimension 0 of size 4"):
        F.gather(x, np.array([[4, 0, 0]]), 0)
