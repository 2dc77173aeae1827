"""minigrad's losses against PyTorch's, value for value and for the fused cross-entropy's
gradient (float64). PyTorch is what minigrad is measured against, so this lives beside the
benchmarks, not in the test suite (which must not need PyTorch):

    pip install torch && python -m pytest benchmarks/test_agreement_with_pytorch.py
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import functional as F


def t(a, grad=False):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


@pytest.fixture
def r():
    return np.random.default_rng(3)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_against_pytorch(r):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    T = lambda a: torch.tensor(np.asarray(a))  # noqa: E731
    z, y, w = r.standard_normal((6, 4)), r.integers(0, 4, 6), r.random(4) + 0.5
    y2 = y.copy()
    y[2] = -100
    for red in ("mean", "sum", "none"):
        for ls in (0.0, 0.15):
            np.testing.assert_allclose(
                F.cross_entropy(t(z), y, weight=w, reduction=red, label_smoothing=ls).numpy(),
                tf.cross_entropy(T(z), T(y), weight=T(w), reduction=red, label_smoothing=ls).numpy(),
                rtol=1e-10)
    soft = r.random((6, 4))
    soft /= soft.sum(1, keepdims=True)
    np.testing.assert_allclose(F.cross_entropy(t(z), soft, weight=w, label_smoothing=0.1).numpy(),
                               tf.cross_entropy(T(z), T(soft), weight=T(w), label_smoothing=0.1).numpy())
    a, b = r.standard_normal((4, 3)), r.standard_normal((4, 3))
    tgt = r.random((4, 3))
    checks = [
        (F.bce_with_logits(t(a), tgt, pos_weight=np.array([1, 2, 3.0]), weight=np.full((4, 3), 0.7)),
         tf.binary_cross_entropy_with_logits(T(a), T(tgt), pos_weight=T([1, 2, 3.0]), weight=T(np.full((4, 3), 0.7)))),
        (F.kl_div_loss(t(a), tgt, reduction="batchmean"), tf.kl_div(T(a), T(tgt), reduction="batchmean")),
        (F.kl_div_loss(t(a), b, log_target=True), tf.kl_div(T(a), T(b), log_target=True)),
        (F.huber_loss(t(a), b, delta=0.7), tf.huber_loss(T(a), T(b), delta=0.7)),
        (F.smooth_l1_loss(t(a), b, beta=0.4), tf.smooth_l1_loss(T(a), T(b), beta=0.4)),
        (F.poisson_nll_loss(t(a), np.abs(b) * 3, full=True), tf.poisson_nll_loss(T(a), T(np.abs(b) * 3), full=True)),
        (F.poisson_nll_loss(t(np.abs(a)), np.abs(b), log_input=False),
         tf.poisson_nll_loss(T(np.abs(a)), T(np.abs(b)), log_input=False)),
        (F.gaussian_nll_loss(t(a), b, tgt[:, 0], full=True),
         tf.gaussian_nll_loss(T(a), T(b), T(tgt[:, 0]), full=True)),
        (F.cosine_embedding_loss(t(a), b, np.array([1, -1, 1, -1]), margin=0.2),
         tf.cosine_embedding_loss(T(a), T(b), T([1, -1, 1, -1]), margin=0.2)),
        (F.weston_watkins_hinge_loss(t(z), y2, p=2, weight=w, divide_by_classes=True),
         tf.multi_margin_loss(T(z), T(y2), p=2, weight=T(w))),
        (F.triplet_margin_loss(t(a), b, tgt, margin=0.5, swap=True),
         tf.triplet_margin_loss(T(a), T(b), T(tgt), margin=0.5, swap=True)),
        (F.triplet_margin_loss(t(a), b, tgt, p=1), tf.triplet_margin_loss(T(a), T(b), T(tgt), p=1)),
        (F.nll_loss(t(a), np.array([0, 2, -100, 1])), tf.nll_loss(T(a), T([0, 2, -100, 1]))),
    ]
    for got, want in checks:
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-9, atol=1e-12)
    # gradients of the fused cross-entropy, hard and soft
    zt = T(z).requires_grad_()
    tf.cross_entropy(zt, T(y), weight=T(w), label_smoothing=0.1).backward()
    zm = t(z, True)
    F.cross_entropy(zm, y, weight=w, label_smoothing=0.1).backward()
    np.testing.assert_allclose(zm.grad.numpy(), zt.grad.numpy(), rtol=1e-9, atol=1e-12)
